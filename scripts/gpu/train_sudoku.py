"""Train a Sudoku TRM on a GPU (issue 8: "If device shows that your task has a GPU, you may use it to train larger
models from a script kept in the repo that writes our native format"). The CPU recipe (scripts/train-models.sh) stays
the reproducible default; models/README.md records which shipped model came from which recipe.

Data: CSV files from `trm generate sudoku --format csv` (seeds disjoint from the held-out seeds of `trm eval`), drawn
uniformly with the official Sudoku augmentation applied on the device per draw (digit relabelling, transposition,
band/stack and row/column-within-band permutations). Training is the official recipe (trm_torch.py): deep supervision
with the ACT carry, stable-max CE + 0.5 halting BCE, Adam-atan2, sign-SGD puzzle embedding, EMA, cosine schedule.

  python3 scripts/gpu/train_sudoku.py --data a.csv,b.csv --val v.csv --hidden 128 --steps 12000 -o out.safetensors

--minutes M instead of --steps fixes the step count after timing the first 30 steps (the log prints it, so the run
can be repeated with --steps). Weights (the EMA copy) are written atomically every --save-every seconds and at the end.
"""
import argparse
import gzip
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from trm_torch import ACT, Inner, Trainer, act_loss, save_safetensors  # noqa: E402

TOKENS = ["<pad>", "."] + [str(d) for d in range(1, 10)]


def read_csv(paths):
    """Comma-separated list of `trm generate sudoku --format csv` files (optionally gzipped) -> question, answer
    [N, 81] uint8 digits (0 = blank)."""
    qs, ans = [], []
    for path in paths.split(","):
        with (gzip.open(path, "rt") if path.endswith(".gz") else open(path)) as f:
            for i, line in enumerate(f):
                parts = line.strip().split(",")
                if i == 0 and parts[1] == "question":
                    continue
                if len(parts) < 3 or len(parts[1]) != 81 or len(parts[2]) != 81:
                    sys.exit(f"{path}:{i + 1}: expected source,question,answer with 81-character grids")
                qs.append(parts[1])
                ans.append(parts[2])
    q = np.frombuffer("".join(qs).replace(".", "0").encode(), dtype=np.uint8) - ord("0")
    a = np.frombuffer("".join(ans).encode(), dtype=np.uint8) - ord("0")
    if q.max() > 9 or a.min() < 1 or a.max() > 9:
        sys.exit(f"{paths}: grids must hold digits 1-9 and '.'")
    return torch.from_numpy(q.reshape(-1, 81).copy()), torch.from_numpy(a.reshape(-1, 81).copy())


def perm_rows(b, gen, device):  # [b, 9]: a random band order, and a random row order within each band
    bands = torch.argsort(torch.rand(b, 3, generator=gen, device=device), dim=1)
    within = torch.argsort(torch.rand(b, 3, 3, generator=gen, device=device), dim=2)
    return (bands.unsqueeze(2) * 3 + within).reshape(b, 9)


def augment(q, a, gen):
    """The official Sudoku augmentation, per row of the batch: q, a [b, 81] digits (0 = blank)."""
    b, dev = q.shape[0], q.device
    digits = torch.argsort(torch.rand(b, 9, generator=gen, device=dev), dim=1) + 1
    mapping = torch.cat([torch.zeros(b, 1, dtype=torch.long, device=dev), digits], dim=1)
    rows, cols = perm_rows(b, gen, dev), perm_rows(b, gen, dev)
    idx = rows.unsqueeze(2) * 9 + cols.unsqueeze(1)  # [b, 9, 9]
    flip = torch.rand(b, generator=gen, device=dev) < 0.5
    idx = torch.where(flip.view(b, 1, 1), idx.transpose(1, 2), idx).reshape(b, 81)
    q = mapping.gather(1, q.long().gather(1, idx))
    a = mapping.gather(1, a.long().gather(1, idx))
    return q, a


@torch.no_grad()
def evaluate(model, c, q, a, batch):
    """Exact accuracy with all steps, and at the step where q_halt first exceeds 0 (the last step if never)."""
    model.eval()
    n, all_ok, halt_ok, steps_used = q.shape[0], 0, 0, 0
    for s in range(0, n, batch):
        inputs, labels = (q[s:s + batch].long() + 1), (a[s:s + batch].long() + 1)
        b = inputs.shape[0]
        act = ACT(model, b, model.rows, c["hidden_size"], inputs.device)
        done = torch.zeros(b, dtype=torch.bool, device=inputs.device)
        ok_at_halt = torch.zeros(b, dtype=torch.bool, device=inputs.device)
        used = torch.zeros(b, dtype=torch.long, device=inputs.device)
        data = {"inputs": inputs, "ids": torch.zeros(b, dtype=torch.int32, device=inputs.device)}
        for step in range(c["halt_max_steps"]):
            logits, q_halt, _ = act.step(data, training=False)
            ok = (logits.argmax(-1) == labels).all(-1)
            stop = ~done & ((q_halt > 0) | (step == c["halt_max_steps"] - 1))
            ok_at_halt |= stop & ok
            used += stop * (step + 1)
            done |= stop
        all_ok += ok.sum().item()
        halt_ok += ok_at_halt.sum().item()
        steps_used += used.sum().item()
    model.train()
    return all_ok / n, halt_ok / n, steps_used / n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--val", required=True)
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--H-cycles", type=int, default=3)
    ap.add_argument("--L-cycles", type=int, default=6)
    ap.add_argument("--L-layers", type=int, default=2)
    ap.add_argument("--halt-max-steps", type=int, default=16)
    ap.add_argument("--batch", type=int, default=768)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--puzzle-emb-lr", type=float, default=1e-2)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--puzzle-emb-weight-decay", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--min-ratio", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--minutes", type=float, default=0)
    ap.add_argument("--save-every", type=float, default=60, help="seconds")
    ap.add_argument("--eval-every", type=float, default=120, help="seconds")
    ap.add_argument("--bf16", type=int, default=1)
    ap.add_argument("--compile", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if (args.steps > 0) == (args.minutes > 0):
        sys.exit("give exactly one of --steps and --minutes")

    dev = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(args.seed)
    gen = torch.Generator(device=dev)
    gen.manual_seed(args.seed)
    torch.backends.cuda.matmul.allow_tf32 = True
    t0 = time.time()
    Q, A = read_csv(args.data)
    VQ, VA = read_csv(args.val)
    Q, A, VQ, VA = Q.to(dev), A.to(dev), VQ.to(dev), VA.to(dev)
    print(f"data: {Q.shape[0]} training puzzles, {VQ.shape[0]} validation ({time.time() - t0:.1f} s), device {dev}",
          flush=True)

    c = dict(H_cycles=args.H_cycles, H_layers=0, L_cycles=args.L_cycles, L_layers=args.L_layers, domain="sudoku",
             expansion=4.0, forward_dtype="bfloat16" if args.bf16 else "float32", halt_exploration_prob=0.1,
             halt_max_steps=args.halt_max_steps, hidden_size=args.hidden, identifiers=[], mlp_t=True,
             no_ACT_continue=True, num_heads=max(1, args.hidden // 64), num_puzzle_identifiers=1, pos_encodings="none",
             puzzle_emb_len=0, puzzle_emb_ndim=args.hidden, rms_norm_eps=1e-5, rope_theta=10000.0, seq_len=81,
             token_map=TOKENS, vocab_size=len(TOKENS))
    model = Inner(c).to(dev)
    print(f"model: hidden {args.hidden}, H{args.H_cycles} L{args.L_cycles}, {args.L_layers} layers, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters", flush=True)
    use_bf16 = bool(args.bf16) and dev == "cuda"
    autocast = torch.autocast(device_type=dev, dtype=torch.bfloat16, enabled=use_bf16)
    if args.compile and dev == "cuda":  # compile each block's forward (state_dict keys stay the official ones)
        layers = list(model.L_level.layers)
        try:
            torch._dynamo.config.suppress_errors = True
            for layer in layers:
                layer.forward = torch.compile(layer.forward)
            x = torch.randn(args.batch, model.rows, args.hidden, device=dev, requires_grad=True)
            with autocast:
                layers[0](x).float().sum().backward()
                with torch.no_grad():
                    layers[0](x)
            model.zero_grad(set_to_none=True)
            print(f"torch.compile: blocks compiled ({time.time() - t0:.0f} s)", flush=True)
        except Exception as e:  # an old torch or no compiler: run eager
            for layer in layers:
                layer.__dict__.pop("forward", None)
            model.zero_grad(set_to_none=True)
            print(f"torch.compile unavailable ({type(e).__name__}: {e}); eager", flush=True)
    ev_model = Inner(c).to(dev)  # evaluation copy (uncompiled) that takes the EMA weights

    recipe = {k: v for k, v in vars(args).items() if k not in ("out", "save_every", "eval_every", "compile")}
    state = {"step": 0}

    def save(trainer):
        sd = {"inner." + k: v for k, v in trainer.ema_state().items()}
        options = dict(recipe, trainer="scripts/gpu/train_sudoku.py", steps=state["step"])
        meta = {"format": "trm/1", "trm_config": json.dumps(dict(c, forward_dtype="float32")),
                "training_data": json.dumps([{"from_step": 0, "options": options}])}
        tmp = args.out + ".tmp"
        save_safetensors(tmp, sd, meta)
        os.replace(tmp, args.out)

    act = ACT(model, args.batch, model.rows, args.hidden, dev)
    total = args.steps if args.steps else 10 ** 9
    trainer = Trainer(model, args.lr, args.weight_decay, args.puzzle_emb_lr, args.puzzle_emb_weight_decay,
                      args.warmup, total, args.min_ratio)
    t_start = time.time()
    last_save = last_eval = t_start
    run_loss = run_acc = 0.0
    run_n = 0
    t_mark = None
    step = 0
    while step < total:
        idx = torch.randint(Q.shape[0], (args.batch,), generator=gen, device=dev)
        q, a = augment(Q[idx], A[idx], gen)
        batch = {"inputs": (q + 1).int(), "labels": (a + 1).long(), "ids": torch.zeros_like(idx, dtype=torch.int32)}
        with autocast:
            logits, q_halt, _ = act.step(batch, training=True)
        loss, lm_loss, _, seq_ok = act_loss(logits.float(), q_halt, act.data["labels"])
        (loss / args.batch).backward()
        trainer.step(step)
        step += 1
        state["step"] = step
        with torch.no_grad():  # accumulated on the device: no synchronisation per step
            halted = act.halted
            run_loss = run_loss + lm_loss.detach() / args.batch
            run_acc = run_acc + (seq_ok & halted).sum() / halted.sum().clamp_min(1)
            run_n += 1
        if args.minutes and step in (20, 60):  # time steps 20-60 (after compilation), then fix the step count
            if dev == "cuda":
                torch.cuda.synchronize()
            if step == 20:
                t_mark = time.time()
            else:
                per_step = (time.time() - t_mark) / 40
                left = args.minutes * 60 - (time.time() - t0) - 30  # 30 s for the final evaluation and save
                total = 60 + int(left / per_step * 0.95)
                trainer.total = total
                print(f"timing: {per_step * 1000:.1f} ms per step -> --steps {total}", flush=True)
        now = time.time()
        if step % 200 == 0:
            lr = args.lr * trainer.schedule(step)
            print(f"step {step}/{total} lm_loss {float(run_loss) / run_n:.4f} exact(halted) {float(run_acc) / run_n:.3f} "
                  f"lr {lr:.2e} {step * args.batch / (now - t_start):.0f} ex-steps/s {now - t0:.0f} s", flush=True)
            run_loss = run_acc = 0.0
            run_n = 0
        if now - last_eval > args.eval_every:
            ev_model.load_state_dict(trainer.ema_state())
            all_ok, halt_ok, used = evaluate(ev_model, c, VQ, VA, 1024)
            print(f"eval step {step}: exact all steps {all_ok:.4f}, at model halt {halt_ok:.4f} ({used:.2f} steps)",
                  flush=True)
            last_eval = time.time()
        if now - last_save > args.save_every:
            save(trainer)
            last_save = time.time()
    save(trainer)
    ev_model.load_state_dict(trainer.ema_state())
    all_ok, halt_ok, used = evaluate(ev_model, c, VQ, VA, 1024)
    print(f"final step {step}: exact all steps {all_ok:.4f}, at model halt {halt_ok:.4f} ({used:.2f} steps); "
          f"{time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
