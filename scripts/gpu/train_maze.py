"""Train a maze TRM on a GPU (issue 20: when a GPU is lent, the 30x30 Maze-Hard model comes first). Writes trm's
native format; `trm solve maze` / `trm eval maze` run the result.

Data: CSV files from `trm generate maze --format csv` (source,question,answer,rating; any side up to the canvas, seeds
disjoint from `trm eval`'s held-out stream), each maze drawn uniformly with one of the 8 dihedral transforms applied
on the device, then padded with walls into the canvas at the top left, as trm's encoder pads a smaller maze. Labels
are the answer on the whole canvas (walls and padding included), as trm's maze source labels them.

The network is given by --init-from (a trm model, e.g. the CPU canvas-growing run's rope2d weights, moved onto this
canvas unchanged: rope2d weights do not depend on the grid) or by the architecture options. Training is the official
recipe (trm_torch.py, train_loop.py).

  python3 scripts/gpu/train_maze.py --data a.csv,b.csv --val v.csv --grid 30 --init-from runs/maze30-g16.safetensors \\
      --minutes 10 -o maze30-gpu.safetensors
"""
import argparse
import gzip
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_loop import add_run_args, setup, train  # noqa: E402
from trm_torch import load_safetensors  # noqa: E402

TOKENS = ["<pad>", "#", " ", "S", "G", "o"]  # puzzles/maze.hpp: 0 pad, 1 wall, 2 open, 3 start, 4 goal, 5 path
WALL = 1


def read_csv(paths, grid):
    """Comma-separated list of maze CSVs (optionally gzipped) -> inputs, labels [N, grid*grid] int (padded with walls
    at the right and bottom), sides [N]."""
    code = torch.full((256,), -1, dtype=torch.long)
    for t, ch in enumerate(TOKENS[1:], start=1):
        code[ord(ch)] = t
    code[ord(".")] = 2
    qs, ans, sides = [], [], []
    for path in paths.split(","):
        with (gzip.open(path, "rt") if path.endswith(".gz") else open(path)) as f:
            for i, line in enumerate(f):
                parts = line.rstrip("\n").split(",")
                if i == 0 and parts[1] == "question":
                    continue
                if len(parts) < 3 or len(parts[1]) != len(parts[2]):
                    sys.exit(f"{path}:{i + 1}: expected source,question,answer with grids of the same size")
                s = math.isqrt(len(parts[1]))
                if s * s != len(parts[1]) or s > grid:
                    sys.exit(f"{path}:{i + 1}: maze of {len(parts[1])} cells is not a square of side <= {grid}")
                qs.append(parts[1])
                ans.append(parts[2])
                sides.append(s)
    n = len(qs)
    X = torch.full((n, grid, grid), WALL, dtype=torch.long)
    Y = torch.full((n, grid, grid), WALL, dtype=torch.long)
    for k, (q, a, s) in enumerate(zip(qs, ans, sides)):
        qt = code[torch.frombuffer(bytearray(q.encode()), dtype=torch.uint8).long()].view(s, s)
        at = code[torch.frombuffer(bytearray(a.encode()), dtype=torch.uint8).long()].view(s, s)
        if (qt < 0).any() or (at < 0).any() or (qt == 5).any():
            sys.exit(f"{paths}: maze {k + 1}: characters other than '#', ' ', '.', 'S', 'G' (and 'o' in answers)")
        X[k, :s, :s], Y[k, :s, :s] = qt, at
    return X.view(n, -1), Y.view(n, -1), torch.tensor(sides)


def dihedral_tables(sides, grid):
    """-> side index [max side + 1], tables [len(sides), 8, grid*grid]: canvas cell -> source cell of the padded
    canvas (grid*grid = a wall), for each side present and each transform (bit 2 transpose, bit 0 flip rows, bit 1
    flip columns)."""
    present = sorted(set(sides.tolist()))
    where = torch.zeros(grid + 1, dtype=torch.long)
    tables = torch.full((len(present), 8, grid, grid), grid * grid, dtype=torch.long)
    for i, s in enumerate(present):
        where[s] = i
        r, c = torch.meshgrid(torch.arange(s), torch.arange(s), indexing="ij")
        for t in range(8):
            sr, sc = (c, r) if t & 4 else (r, c)
            sr = s - 1 - sr if t & 1 else sr
            sc = s - 1 - sc if t & 2 else sc
            tables[i, t, :s, :s] = sr * grid + sc
    return where, tables.view(len(present), 8, grid * grid)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--val", required=True, help="held-out maze CSVs (scored on the canvas, no augmentation)")
    ap.add_argument("--grid", type=int, default=30, help="canvas side")
    ap.add_argument("--init-from", default="", help="start from this trm model's weights (rope2d: any canvas)")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--H-cycles", type=int, default=2)
    ap.add_argument("--L-cycles", type=int, default=3)
    ap.add_argument("--L-layers", type=int, default=2)
    ap.add_argument("--halt-max-steps", type=int, default=8)
    ap.add_argument("--pos", default="rope2d", choices=["rope2d", "rope"])
    ap.add_argument("--rope-theta", type=float, default=16.0)
    add_run_args(ap, lr=3e-4, warmup=100, eval_every=120)
    args = ap.parse_args()
    dev, gen = setup(args)
    t0 = time.time()
    seq = args.grid * args.grid
    init = None
    if args.init_from:
        weights, meta = load_safetensors(args.init_from)
        c = json.loads(meta["trm_config"])
        if c.get("domain") != "maze" or c["vocab_size"] != len(TOKENS):
            sys.exit(f"{args.init_from}: not a maze model (domain {c.get('domain')}, vocab_size {c['vocab_size']})")
        if c["seq_len"] != seq and (c["mlp_t"] or c["pos_encodings"] != "rope2d"):
            sys.exit(f"{args.init_from}: only a rope2d attention network moves to another canvas "
                     f"(this one: pos_encodings {c['pos_encodings']}, mlp_t {c['mlp_t']}, seq_len {c['seq_len']})")
        c = dict(c, seq_len=seq)
        init = {k.removeprefix("inner."): v.float() for k, v in weights.items()}
    else:
        c = dict(H_cycles=args.H_cycles, H_layers=0, L_cycles=args.L_cycles, L_layers=args.L_layers, domain="maze",
                 expansion=4.0, halt_exploration_prob=0.1, halt_max_steps=args.halt_max_steps,
                 hidden_size=args.hidden, identifiers=[], mlp_t=False, no_ACT_continue=True, num_heads=args.heads,
                 num_puzzle_identifiers=1, pos_encodings=args.pos, puzzle_emb_len=0, puzzle_emb_ndim=args.hidden,
                 rms_norm_eps=1e-5, rope_theta=args.rope_theta, seq_len=seq, token_map=TOKENS,
                 vocab_size=len(TOKENS))
    c["forward_dtype"] = "bfloat16" if args.bf16 else "float32"
    X, Y, S = read_csv(args.data, args.grid)
    VX, VY, VS = read_csv(args.val, args.grid)
    where, tables = dihedral_tables(S, args.grid)
    print(f"data: {X.shape[0]} training mazes (sides {S.min().item()}-{S.max().item()}), {VX.shape[0]} held-out "
          f"(sides {VS.min().item()}-{VS.max().item()}) on a {args.grid}x{args.grid} canvas ({time.time() - t0:.1f} s), "
          f"device {dev}", flush=True)
    wall = torch.full((X.shape[0], 1), WALL, dtype=torch.long)
    X, Y = torch.cat((X, wall), 1).to(dev), torch.cat((Y, wall), 1).to(dev)  # index grid*grid reads a wall
    side_of, tables = where[S].to(dev), tables.to(dev)
    val = (VX.int().to(dev), VY.to(dev), torch.zeros(VX.shape[0], dtype=torch.int32, device=dev))

    def draw(batch):  # uniform over the mazes, each under its own dihedral transform
        idx = torch.randint(X.shape[0], (batch,), generator=gen, device=dev)
        t = torch.randint(8, (batch,), generator=gen, device=dev)
        src = tables[side_of[idx], t]  # [batch, grid*grid]
        return {"inputs": X[idx].gather(1, src).int(), "labels": Y[idx].gather(1, src),
                "ids": torch.zeros(batch, dtype=torch.int32, device=dev)}

    train(args, c, dev, draw, val, "scripts/gpu/train_maze.py", t0, log_every=100, init=init,
          init_from=args.init_from)


if __name__ == "__main__":
    main()
