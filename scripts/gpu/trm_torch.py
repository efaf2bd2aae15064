"""The official TRM (TinyRecursiveReasoningModel_ACTV1 + ACTLossHead; mlp_t or attention with RoPE) in PyTorch, for
training larger models on a GPU when one is lent (issue 8). Written from the official semantics that trm's C++ engine follows;
tests: `python3 scripts/gpu/check_parity.py FIXTURE_DIR` matches it against tests/data/official-trm/sudoku_mlp,
sudoku_att and arc_att (forward at every ACT step and every gradient of a training step).

Weights are written in trm's native safetensors format (official key names without the `_orig_mod.model.` prefix,
config JSON in __metadata__), so `trm solve/eval --model` loads them unchanged.
"""
import json
import math
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

IGNORE = -100


def find_multiple(a, b):
    return -(a // -b) * b


def trunc_normal_(t, std):
    # N(0, std) truncated at +-2 sigma, rescaled so the result has std `std` (as the official trunc_normal_init_)
    with torch.no_grad():
        nn.init.trunc_normal_(t, mean=0.0, std=1.0, a=-2.0, b=2.0)
        t.mul_(std / 0.8796256610342398)
    return t


def rms_norm(x, eps):
    dtype = x.dtype
    x = x.float()
    return (x * torch.rsqrt(x.square().mean(-1, keepdim=True) + eps)).to(dtype)


class Linear(nn.Module):
    def __init__(self, n_in, n_out, bias=False):
        super().__init__()
        self.weight = nn.Parameter(trunc_normal_(torch.empty(n_out, n_in), 1.0 / math.sqrt(n_in)))
        self.bias = nn.Parameter(torch.zeros(n_out)) if bias else None

    def forward(self, x):
        return F.linear(x, self.weight.to(x.dtype), None if self.bias is None else self.bias.to(x.dtype))


class SwiGLU(nn.Module):
    def __init__(self, n, expansion):
        super().__init__()
        inter = find_multiple(round(expansion * n * 2 / 3), 256)
        self.gate_up_proj = Linear(n, inter * 2)
        self.down_proj = Linear(inter, n)

    def forward(self, x):
        gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        return self.down_proj(F.silu(gate) * up)


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rope_table(rows, head_dim, theta):  # official RotaryEmbedding: float32 angles t * inv_freq, [rows, head_dim]
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    freqs = torch.outer(torch.arange(rows, dtype=torch.float32), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rope_table_2d(P, side, head_dim, theta):  # trm's rope2d (core/ops.hpp rope_table_2d): [P + side^2, head_dim]
    quarter = head_dim // 4
    inv_freq = 1.0 / (theta ** (torch.arange(0, quarter, dtype=torch.float32) * 2 / (head_dim // 2)))
    t = torch.arange(P + side * side)
    row = torch.where(t < P, -1, (t - P) // side).float()
    col = torch.where(t < P, t - P, (t - P) % side).float()
    freqs = torch.cat((torch.outer(row, inv_freq), torch.outer(col, inv_freq)), dim=-1)  # pairs: rows, then columns
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


class Attention(nn.Module):  # non-causal multi-head attention, RoPE on q and k (rotate-half convention)
    def __init__(self, c):
        super().__init__()
        self.heads, self.hd = c["num_heads"], c["hidden_size"] // c["num_heads"]
        self.qkv_proj = Linear(c["hidden_size"], 3 * c["hidden_size"])
        self.o_proj = Linear(c["hidden_size"], c["hidden_size"])

    def forward(self, h, cos_sin):  # h [B, rows, hidden]
        B, S, D = h.shape
        qkv = self.qkv_proj(h).view(B, S, 3 * self.heads, self.hd)
        q, k, v = qkv[:, :, :self.heads], qkv[:, :, self.heads:2 * self.heads], qkv[:, :, 2 * self.heads:]
        if cos_sin is not None:
            cos, sin = cos_sin[0].unsqueeze(-2), cos_sin[1].unsqueeze(-2)
            dtype = q.dtype
            q, k = q.to(cos.dtype), k.to(cos.dtype)
            q, k = (q * cos + rotate_half(q) * sin).to(dtype), (k * cos + rotate_half(k) * sin).to(dtype)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # [B, heads, rows, hd]
        if hasattr(F, "scaled_dot_product_attention"):
            out = F.scaled_dot_product_attention(q, k, v, is_causal=False)
        else:  # torch 1.x
            out = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.hd), dim=-1) @ v
        return self.o_proj(out.transpose(1, 2).reshape(B, S, D))


class Block(nn.Module):  # post-norm: attention (or the mlp_t MLP over the sequence axis), then the channel MLP
    def __init__(self, c, rows):
        super().__init__()
        self.eps = c["rms_norm_eps"]
        if c["mlp_t"]:
            self.mlp_t = SwiGLU(rows, c["expansion"])
        else:
            self.self_attn = Attention(c)
        self.mlp = SwiGLU(c["hidden_size"], c["expansion"])

    def forward(self, h, cos_sin=None):  # h [B, rows, hidden]
        if hasattr(self, "mlp_t"):
            t = h.transpose(1, 2)
            t = rms_norm(t + self.mlp_t(t), self.eps)  # RMS over the sequence axis, per hidden channel
            h = t.transpose(1, 2)
        else:
            h = rms_norm(h + self.self_attn(h, cos_sin), self.eps)
        return rms_norm(h + self.mlp(h), self.eps)


class ReasoningModule(nn.Module):
    def __init__(self, c, rows):
        super().__init__()
        self.layers = nn.ModuleList([Block(c, rows) for _ in range(c["L_layers"])])

    def forward(self, h, injection, cos_sin=None):
        h = h + injection
        for layer in self.layers:
            h = layer(h, cos_sin)
        return h


class Embedding(nn.Module):
    def __init__(self, n, d, std):
        super().__init__()
        self.embedding_weight = nn.Parameter(trunc_normal_(torch.empty(n, d), std))


class PuzzleEmbedding(nn.Module):  # trained by sign-SGD (see Trainer), zero-initialised as the official
    def __init__(self, n, d):
        super().__init__()
        self.weights = nn.Parameter(torch.zeros(n, d))


class Inner(nn.Module):
    def __init__(self, c):
        super().__init__()
        assert c["pos_encodings"] in ("none", "rope", "rope2d"), "learned position embeddings are not implemented here"
        self.c = c
        d = c["hidden_size"]
        self.P = c["puzzle_emb_len"] or -(c["puzzle_emb_ndim"] // -d)
        self.rows = c["seq_len"] + self.P
        self.embed_scale = math.sqrt(d)
        self.embed_tokens = Embedding(c["vocab_size"], d, 1.0 / self.embed_scale)
        self.lm_head = Linear(d, c["vocab_size"])
        self.q_head = Linear(d, 2, bias=True)
        with torch.no_grad():
            self.q_head.weight.zero_()
            self.q_head.bias.fill_(-5.0)
        if c["puzzle_emb_ndim"] > 0:
            self.puzzle_emb = PuzzleEmbedding(c["num_puzzle_identifiers"], c["puzzle_emb_ndim"])
        self.L_level = ReasoningModule(c, self.rows)
        if c["pos_encodings"] in ("rope", "rope2d"):
            side = math.isqrt(c["seq_len"])
            cos, sin = (rope_table(self.rows, d // c["num_heads"], c["rope_theta"]) if c["pos_encodings"] == "rope" else
                        rope_table_2d(self.P, side, d // c["num_heads"], c["rope_theta"]))
            self.register_buffer("rope_cos", cos, persistent=False)
            self.register_buffer("rope_sin", sin, persistent=False)
        self.register_buffer("H_init", trunc_normal_(torch.empty(d), 1.0))
        self.register_buffer("L_init", trunc_normal_(torch.empty(d), 1.0))

    def input_embeddings(self, inputs, ids):  # [B, seq] -> [B, rows, hidden]
        d = self.c["hidden_size"]
        e = self.embed_tokens.embedding_weight[inputs.long()]
        if self.c["puzzle_emb_ndim"] > 0:
            p = self.puzzle_emb.weights[ids.long()]
            p = F.pad(p, (0, self.P * d - p.shape[-1]))
            e = torch.cat((p.view(-1, self.P, d), e), dim=-2)
        return self.embed_scale * e

    def forward(self, z_H, z_L, inputs, ids):
        x = self.input_embeddings(inputs, ids)
        cs = (self.rope_cos, self.rope_sin) if hasattr(self, "rope_cos") else None
        H, L = self.c["H_cycles"], self.c["L_cycles"]
        with torch.no_grad():  # only the last H cycle carries gradients
            for _ in range(H - 1):
                for _ in range(L):
                    z_L = self.L_level(z_L, z_H + x, cs)
                z_H = self.L_level(z_H, z_L, cs)
        for _ in range(L):
            z_L = self.L_level(z_L, z_H + x, cs)
        z_H = self.L_level(z_H, z_L, cs)
        logits = self.lm_head(z_H)[:, self.P:]
        q = self.q_head(z_H[:, 0]).float()
        return z_H.detach(), z_L.detach(), logits, q[..., 0], q[..., 1]


def log_stablemax(x):
    s = torch.where(x < 0, 1 / (1 - x + 1e-30), x + 1)
    return torch.log(s / s.sum(-1, keepdim=True))


def act_loss(logits, q_halt, labels):
    """Official ACTLossHead with stable-max CE: per-row mean over labelled positions, summed; + 0.5 * halting BCE.
    Returns (loss, lm_loss, q_halt_loss, seq_is_correct)."""
    mask = labels != IGNORE
    counts = mask.sum(-1)
    with torch.no_grad():
        correct = mask & (logits.argmax(-1) == labels)
        seq_ok = correct.sum(-1) == counts
    lp = log_stablemax(logits.double())
    picked = lp.gather(-1, torch.where(mask, labels, 0).long().unsqueeze(-1)).squeeze(-1)
    lm_loss = (-torch.where(mask, picked, 0) / counts.clamp_min(1).unsqueeze(-1)).sum()
    q_loss = F.binary_cross_entropy_with_logits(q_halt, seq_ok.to(q_halt.dtype), reduction="sum")
    return lm_loss + 0.5 * q_loss, lm_loss, q_loss, seq_ok


class ACT:
    """The ACT wrapper's carry: rows that halted are refilled from the next batch and restart from H_init/L_init."""

    def __init__(self, model, batch, rows, d, device):
        self.model = model
        self.z_H = torch.zeros(batch, rows, d, device=device)
        self.z_L = torch.zeros(batch, rows, d, device=device)
        self.steps = torch.zeros(batch, dtype=torch.int32, device=device)
        self.halted = torch.ones(batch, dtype=torch.bool, device=device)
        self.data = None

    def step(self, batch, training):
        m, c = self.model, self.model.c
        h = self.halted.view(-1, 1, 1)
        self.z_H = torch.where(h, m.H_init, self.z_H)
        self.z_L = torch.where(h, m.L_init, self.z_L)
        self.steps = torch.where(self.halted, 0, self.steps)
        if self.data is None:
            self.data = {k: v.clone() for k, v in batch.items()}
        else:
            for k, v in batch.items():
                self.data[k] = torch.where(self.halted.view((-1,) + (1,) * (v.ndim - 1)), v, self.data[k])
        self.z_H, self.z_L, logits, q_halt, q_cont = m(self.z_H, self.z_L, self.data["inputs"], self.data["ids"])
        with torch.no_grad():
            self.steps = self.steps + 1
            halted = self.steps >= c["halt_max_steps"]
            if training and c["halt_max_steps"] > 1:
                halted = halted | (q_halt > 0)
                explore = torch.rand_like(q_halt) < c["halt_exploration_prob"]
                min_steps = explore * torch.randint_like(self.steps, 2, c["halt_max_steps"] + 1)
                halted = halted & (self.steps >= min_steps)
            self.halted = halted
        return logits, q_halt, q_cont


class Trainer:
    """Adam-atan2 (decoupled weight decay; betas 0.9/0.95), sign-SGD on the puzzle embedding rows used, EMA 0.999,
    cosine schedule with linear warm-up and a floor ratio: the official pretrain.py optimisers."""

    def __init__(self, model, lr, wd, emb_lr, emb_wd, warmup, total, min_ratio, ema=0.999):
        self.model, self.lr, self.wd, self.emb_lr, self.emb_wd = model, lr, wd, emb_lr, emb_wd
        self.warmup, self.total, self.min_ratio, self.ema_rate = warmup, total, min_ratio, ema
        self.emb = getattr(model, "puzzle_emb", None)
        self.params = [p for n, p in model.named_parameters() if not n.startswith("puzzle_emb.")]
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0
        # EMA of the trained parameters; buffers (H_init/L_init) and the puzzle embedding (a buffer in the official
        # code, so outside its EMAHelper) are taken live when saving
        self.ema = {n: p.detach().clone() for n, p in model.named_parameters() if not n.startswith("puzzle_emb.")}

    def schedule(self, step):
        if step < self.warmup:
            return step / max(1, self.warmup)
        progress = (step - self.warmup) / max(1, self.total - self.warmup)
        return self.min_ratio + max(0.0, (1 - self.min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress)))

    @torch.no_grad()
    def step(self, step):
        f = self.schedule(step)
        lr, b1, b2 = self.lr * f, 0.9, 0.95
        self.t += 1
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        for p, m, v in zip(self.params, self.m, self.v):
            if p.grad is None:
                continue
            p.mul_(1 - lr * self.wd)
            m.lerp_(p.grad, 1 - b1)
            v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
            p.sub_(torch.atan2(m, v.sqrt() / math.sqrt(c2)) * (lr / c1))
            p.grad = None
        if self.emb is not None and self.emb.weights.grad is not None:
            g, w = self.emb.weights.grad, self.emb.weights
            used = g.abs().sum(-1) > 0  # the rows this batch used (sign-SGD touches only those)
            elr = self.emb_lr * f
            w[used] = w[used] * (1 - elr * self.emb_wd) - elr * torch.sign(g[used])
            w.grad = None
        for n, p in self.model.named_parameters():
            if n in self.ema:
                self.ema[n].lerp_(p, 1 - self.ema_rate)

    def ema_state(self):  # what is written out: the EMA copy
        return {k: self.ema.get(k, v) for k, v in self.model.state_dict().items()}


def save_safetensors(path, tensors, metadata):
    """tensors: name -> float32 CPU tensor. Native trm format: official keys, config JSON in __metadata__."""
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for k in sorted(tensors):
        b = tensors[k].detach().float().cpu().contiguous().numpy().tobytes()
        header[k] = {"dtype": "F32", "shape": list(tensors[k].shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    dt = {"F32": torch.float32, "F64": torch.float64, "I32": torch.int32, "BF16": torch.bfloat16, "I64": torch.int64}
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        out[k] = torch.frombuffer(bytearray(data[a:b]), dtype=dt[v["dtype"]]).reshape(v["shape"]) if b > a else \
            torch.zeros(v["shape"], dtype=dt[v["dtype"]])
    return out, header.get("__metadata__", {})
