#!/usr/bin/env python3
"""Writes expected_<variant>.txt for the official-TRM fixtures' step_100 checkpoints, read with Python's own pickle
(restricted to the torch globals, see torch_stub.py), so tests/test_torch_checkpoint.cpp checks trm's C++ reader
against an independent implementation.

  usage: python3 tests/data/torch/make_expected.py [fixtures_dir]   (default tests/data/official-trm)

Line format, one tensor per line, sorted by name (values as float64, summed in row-major order):
  <name> <dtype> <shape e.g. [11,64]> <numel> <sum> <wsum = sum_i ((i % 7) + 1) * v_i> <v0> <v1> <v2>
The first-three list is shorter for tensors with fewer elements.
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_stub  # noqa: E402

VARIANTS = ["sudoku_mlp", "sudoku_att", "maze_learned", "arc_att"]


def describe(data):
    prefix, state, zf = torch_stub.load_checkpoint(data)
    lines = []
    for name in sorted(state):
        t = state[name]
        t = t.data if isinstance(t, torch_stub.Parameter) else t
        vals = [float(v) for v in t.values(zf.read(prefix + "data/" + t.storage.key))]
        s = ws = 0.0
        for i, v in enumerate(vals):
            s += v
            ws += ((i % 7) + 1) * v
        shape = "[" + ",".join(str(d) for d in t.size) + "]"
        first = " ".join(repr(v) for v in vals[:3])
        lines.append(f"{name} {t.storage.dtype} {shape} {len(vals)} {s!r} {ws!r} {first}".rstrip())
    return "\n".join(lines) + "\n"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "../official-trm")
    for v in VARIANTS:
        with open(os.path.join(root, v, "step_100"), "rb") as f:
            text = describe(f.read())
        with open(os.path.join(here, f"expected_{v}.txt"), "w") as f:
            f.write(text)
        print(f"expected_{v}.txt: {text.count(chr(10))} tensors")


if __name__ == "__main__":
    main()
