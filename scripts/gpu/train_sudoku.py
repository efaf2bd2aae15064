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
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_loop import add_run_args, setup, train  # noqa: E402

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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--val", required=True)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--H-cycles", type=int, default=3)
    ap.add_argument("--L-cycles", type=int, default=6)
    ap.add_argument("--L-layers", type=int, default=2)
    ap.add_argument("--halt-max-steps", type=int, default=16)
    add_run_args(ap, lr=1e-3, warmup=300, eval_every=120)
    args = ap.parse_args()
    dev, gen = setup(args)
    t0 = time.time()
    Q, A = read_csv(args.data)
    VQ, VA = read_csv(args.val)
    Q, A = Q.to(dev), A.to(dev)
    print(f"data: {Q.shape[0]} training puzzles, {VQ.shape[0]} validation ({time.time() - t0:.1f} s), device {dev}",
          flush=True)
    val = ((VQ.long() + 1).int().to(dev), (VA.long() + 1).to(dev), torch.zeros(VQ.shape[0], dtype=torch.int32,
                                                                                device=dev))
    c = dict(H_cycles=args.H_cycles, H_layers=0, L_cycles=args.L_cycles, L_layers=args.L_layers, domain="sudoku",
             expansion=4.0, forward_dtype="bfloat16" if args.bf16 else "float32", halt_exploration_prob=0.1,
             halt_max_steps=args.halt_max_steps, hidden_size=args.hidden, identifiers=[], mlp_t=True,
             no_ACT_continue=True, num_heads=max(1, args.hidden // 64), num_puzzle_identifiers=1, pos_encodings="none",
             puzzle_emb_len=0, puzzle_emb_ndim=args.hidden, rms_norm_eps=1e-5, rope_theta=10000.0, seq_len=81,
             token_map=TOKENS, vocab_size=len(TOKENS))

    def draw(batch):  # uniform over the puzzles, each with its own augmentation; tokens = digit + 1
        idx = torch.randint(Q.shape[0], (batch,), generator=gen, device=dev)
        q, a = augment(Q[idx], A[idx], gen)
        return {"inputs": (q + 1).int(), "labels": (a + 1).long(), "ids": torch.zeros_like(idx, dtype=torch.int32)}

    train(args, c, dev, draw, val, "scripts/gpu/train_sudoku.py", t0, log_every=200)

if __name__ == "__main__":
    main()
