#!/usr/bin/env python3
"""Calibrates the halting threshold of a Sudoku or maze model on validation puzzles and writes it into the model.

The halting head is trained with BCE, so sigmoid(q_halt) estimates P(draft is right); the official rule halts at
q_halt > 0 (P > 0.5), which accepts drafts that are wrong a few percent of the time. This script runs `trm solve`
on validation puzzles for --max-steps steps, records q_halt and whether each step's draft is right, and picks the
integer logit t in 0..10 with the best validation accuracy (stop at the first step with q_halt > t, else at the last
step; the smallest such t, or the smallest within --tolerance points of the best). Large t means running every
step, so the chosen threshold never does worse than that on validation data; it can do better where later steps
undo right drafts (mazes).
It prints the whole table and, with --write, copies the model with `halt_threshold` = t in its config (tensors
unchanged; `trm info` shows it; `--halt-threshold` overrides it).

Validation data must come from seeds that neither training nor `trm eval` uses:
  sudoku  CSV files from `trm generate sudoku --format csv` (optionally gzipped); right = the draft is the answer
  maze    text files from `trm generate maze`; right = the draft is a shortest path (trm's own check)

  scripts/calibrate-halt.py sudoku|maze MODEL VAL[,VAL2 ...] [--trm build/trm] [--write OUT.safetensors]
Plain Python 3, no third-party modules.
"""
import argparse
import gzip
import json
import math
import os
import struct
import subprocess
import sys
import tempfile


def read_val(path):
    puzzles = []
    with (gzip.open(path, "rt") if path.endswith(".gz") else open(path)) as f:
        for i, line in enumerate(f):
            parts = line.strip().split(",")
            if i == 0 and len(parts) > 1 and parts[1] == "question":
                continue
            if len(parts) < 3 or len(parts[1]) != 81 or len(parts[2]) != 81:
                sys.exit(f"{path}:{i + 1}: expected source,question,answer with 81-character grids")
            puzzles.append((parts[1], parts[2]))
    return puzzles


def run_steps(trm, domain, model, path, answers, max_steps):
    """trm solve on a file -> per puzzle, a list over steps of (q_halt logit, draft is right). answers: the expected
    drafts by index, or None to take trm's own check (`verified`) as right."""
    out = subprocess.run([trm, "solve", domain, path, "-m", model, "--format", "json", "--trace", "steps",
                          "--halt", "never", "--max-steps", str(max_steps), "--views", "1"], capture_output=True, text=True)
    if out.returncode not in (0, 3):  # 3: some answers did not verify
        sys.exit(f"trm solve failed ({out.returncode}): {out.stderr.strip()}")
    rows = {}
    for line in out.stdout.splitlines():
        r = json.loads(line)
        if r.get("type") != "step":
            continue
        p = min(max(r["halt_prob"], 1e-12), 1 - 1e-12)
        right = r["draft"] == answers[r["index"]] if answers is not None else bool(r["verified"])
        rows.setdefault(r["index"], []).append((math.log(p / (1 - p)), right))
    if not rows:
        sys.exit(f"{path}: no puzzles")
    return [rows[i] for i in sorted(rows)]


def run_file(trm, domain, model, path, max_steps):
    if domain == "maze":
        return run_steps(trm, domain, model, path, None, max_steps)
    puzzles = read_val(path)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("".join(q + "\n" for q, _ in puzzles))
        tmp = f.name
    try:
        return run_steps(trm, domain, model, tmp, [a for _, a in puzzles], max_steps)
    finally:
        os.unlink(tmp)


def stop_at(steps, t):  # (right, steps used) when stopping at the first q_halt > t, else at the last step
    for k, (q, ok) in enumerate(steps):
        if q > t or k == len(steps) - 1:
            return ok, k + 1


def write_with_threshold(src, dst, t):
    with open(src, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    cfg = json.loads(header["__metadata__"]["trm_config"])
    cfg["halt_threshold"] = t
    header["__metadata__"]["trm_config"] = json.dumps(cfg, separators=(",", ":"), sort_keys=True)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = dst + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)
    os.replace(tmp, dst)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("domain", choices=["sudoku", "maze"])
    ap.add_argument("model")
    ap.add_argument("val", help="comma-separated validation files")
    ap.add_argument("--trm", default="build/trm")
    ap.add_argument("--max-steps", type=int, default=6)
    ap.add_argument("--tolerance", type=float, default=0.0, help="accept this many points below the best accuracy for a smaller threshold")
    ap.add_argument("--write", help="write the model with the chosen threshold here")
    args = ap.parse_args()

    sets = {os.path.basename(p): run_file(args.trm, args.domain, args.model, p, args.max_steps)
            for p in args.val.split(",")}
    pooled = [s for rows in sets.values() for s in rows]
    every = 100 * sum(rows[-1][1] for rows in pooled) / len(pooled)
    print(f"{len(pooled)} validation {args.domain} puzzles; all {args.max_steps} steps: {every:.2f}% right")
    print("threshold  " + "  ".join(f"{name:>22s}" for name in sets) + "  pooled")
    table = []
    for t in range(0, 11):
        cells, right = [], 0
        for rows in sets.values():
            res = [stop_at(s, t) for s in rows]
            acc = 100 * sum(ok for ok, _ in res) / len(res)
            cells.append(f"{acc:6.2f}% {sum(k for _, k in res) / len(res):5.2f} steps")
            right += sum(ok for ok, _ in res)
        table.append((t, cells, 100 * right / len(pooled)))
    best = max(acc for _, _, acc in table)
    chosen = next(t for t, _, acc in table if acc >= best - args.tolerance)
    for t, cells, acc in table:
        mark = "  <- chosen" if t == chosen else ""
        print(f"q_halt > {t:<2d} " + "  ".join(f"{c:>22s}" for c in cells) + f"  {acc:6.2f}%{mark}")
    print(f"chosen: q_halt > {chosen} (sigmoid {1 / (1 + math.exp(-chosen)):.4f})")
    if args.write:
        write_with_threshold(args.model, args.write, float(chosen))
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
