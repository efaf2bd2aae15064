"""Checks that a model written by train_sudoku.py or train_arc.py computes the same in trm as in trm_torch.py: runs
`trm debug forward` on a few inputs and compares logits, q_halt and z_H at every ACT step.
  python3 scripts/gpu/check_export.py MODEL.safetensors VAL.csv|ARC-DATA.safetensors|MAZES.txt|random:N [build/trm]"""
import json
import os
import struct
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from trm_torch import ACT, Inner, load_safetensors  # noqa: E402
from train_sudoku import read_csv  # noqa: E402

model_path, val = sys.argv[1], sys.argv[2]
trm = sys.argv[3] if len(sys.argv) > 3 else "build/trm"
weights, meta = load_safetensors(model_path)
c = json.loads(meta["trm_config"])
model = Inner(c)
model.load_state_dict({k.removeprefix("inner."): v for k, v in weights.items()})
if val.endswith(".safetensors"):  # ARC: the first rows of a `trm train arc --export-data` file
    data, _ = load_safetensors(val)
    inputs, ids = data["train.inputs"][:8].int(), data["train.puzzle_identifiers"][:8].int()
elif val.endswith(".txt"):  # mazes (`trm generate maze` text), top-left in the model's grid, padded with walls
    side = int(c["seq_len"] ** 0.5)
    tok = {"#": 1, ".": 2, " ": 2, "S": 3, "G": 4}
    rows = []
    for block in open(val).read().split("\n\n")[:8]:
        grid = torch.ones(side, side, dtype=torch.int32)
        for r, line in enumerate(block.strip("\n").split("\n")):
            grid[r, :len(line)] = torch.tensor([tok[ch] for ch in line], dtype=torch.int32)
        rows.append(grid.flatten())
    inputs = torch.stack(rows)
    ids = torch.zeros(inputs.shape[0], dtype=torch.int32)
elif val.startswith("random:"):  # any model: N random puzzles of valid tokens (e.g. a maze network)
    g = torch.Generator().manual_seed(1)
    inputs = torch.randint(1, c["vocab_size"], (int(val[7:]), c["seq_len"]), generator=g).int()
    ids = torch.zeros(inputs.shape[0], dtype=torch.int32)
else:  # Sudoku: validation CSV
    q, _ = read_csv(val)
    inputs = (q[:8].long() + 1).int()
    ids = torch.zeros(inputs.shape[0], dtype=torch.int32)
steps = min(4, c["halt_max_steps"])
with tempfile.TemporaryDirectory() as tmp:
    in_path = os.path.join(tmp, "in.safetensors")  # int32 tensors: header written here
    blobs = [inputs.numpy().tobytes(), ids.numpy().tobytes()]
    header = {"inputs": {"dtype": "I32", "shape": list(inputs.shape), "data_offsets": [0, len(blobs[0])]},
              "puzzle_identifiers": {"dtype": "I32", "shape": [inputs.shape[0]],
                                     "data_offsets": [len(blobs[0]), len(blobs[0]) + len(blobs[1])]}}
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(in_path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + blobs[0] + blobs[1])
    out = os.path.join(tmp, "out.safetensors")
    subprocess.run([trm, "debug", "forward", model_path, "--inputs", in_path, "--steps", str(steps),
                    "-o", out], check=True)
    ref, _ = load_safetensors(out)


def run(dtype):  # ACT steps of trm_torch in this dtype: logits, q_halt, z_H per step
    m = Inner(c).to(dtype)
    m.load_state_dict({k.removeprefix("inner."): v.to(dtype) for k, v in weights.items()})
    act = ACT(m, inputs.shape[0], m.rows, c["hidden_size"], "cpu")
    act.z_H, act.z_L = act.z_H.to(dtype), act.z_L.to(dtype)
    out = []
    with torch.no_grad():
        for _ in range(steps):
            logits, q_halt, _ = act.step({"inputs": inputs, "ids": ids}, training=False)
            out.append({"logits": logits.double(), "q_halt_logits": q_halt.double(), "z_H": act.z_H.double()})
    return out


# A recursion amplifies rounding differences step by step (an untrained model is close to chaotic), so trm's float32
# result must lie within twice the float32-vs-float64 spread of the torch model, plus 5e-5. One step's spread is one
# sample of that noise (on 30x30 mazes it fell from 2.4e-4 at step 2 to 1.8e-4 at step 4 while trm's distance rose
# to 4.8e-4, all float32 rounding), so the bound is the largest spread up to that step: an envelope that only grows.
f32, f64 = run(torch.float32), run(torch.float64)
failed = []
envelope = {}
for s in range(steps):
    for name in ("logits", "q_halt_logits", "z_H"):
        d = (f32[s][name] - ref[f"step{s + 1}.{name}"]).abs().max().item()
        d64 = (f64[s][name] - ref[f"step{s + 1}.{name}"]).abs().max().item()
        spread = (f32[s][name] - f64[s][name]).abs().max().item()
        envelope[name] = max(envelope.get(name, 0.0), spread)
        ok = d <= 2 * envelope[name] + 5e-5
        print(f"step{s + 1}.{name:14s} trm vs torch {d:.2e}  (torch f32 vs f64 {spread:.2e}, trm vs f64 {d64:.2e}) {'ok' if ok else 'FAIL'}")
        if not ok:
            failed.append(f"step{s + 1}.{name}")
sys.exit(f"export check FAILED: {', '.join(failed)}" if failed else 0)
