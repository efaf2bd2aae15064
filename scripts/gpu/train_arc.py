"""Train an ARC TRM on a GPU from data exported by `trm train arc ... --export-data FILE` (the same builder, seed,
augmented copies and identifiers as `trm train arc`, so the model's puzzle embeddings line up with trm's task names).
The architecture is the one in the export's config; training is the official recipe (trm_torch.py). Writes trm's
native format (EMA weights, identifiers and token map in the config).

  python3 scripts/gpu/train_arc.py --data arc-data.safetensors --steps 3000 -o arc.safetensors
--minutes M fixes the step count after timing steps 20-60, as train_sudoku.py does.
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_loop import add_run_args, setup, train  # noqa: E402
from trm_torch import IGNORE, load_safetensors  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="trm train arc --export-data output")
    add_run_args(ap, lr=7e-4, warmup=200, eval_every=90)
    args = ap.parse_args()
    dev, gen = setup(args)
    t0 = time.time()
    tensors, meta = load_safetensors(args.data)
    c = json.loads(meta["trm_config"])
    X = tensors["train.inputs"].to(dev)
    Y = tensors["train.labels"].long().to(dev)
    Y = torch.where(Y == 0, IGNORE, Y)  # dataset label 0 = not scored (the official collate)
    I = tensors["train.puzzle_identifiers"].to(dev)
    val = None
    if "test.inputs" in tensors:  # held-out: the evaluation tasks' test pairs that have solutions
        TY = tensors["test.labels"].long()
        keep = (TY != 0).any(-1)
        val = (tensors["test.inputs"][keep].to(dev), torch.where(TY[keep] == 0, IGNORE, TY[keep]).to(dev),
               tensors["test.puzzle_identifiers"][keep].to(dev))
    print(f"data: {X.shape[0]} training examples, {0 if val is None else val[0].shape[0]} held-out test pairs, "
          f"{c['num_puzzle_identifiers']} identifiers, device {dev}", flush=True)

    def draw(batch):  # uniform over the examples, as trm's ArcSource
        idx = torch.randint(X.shape[0], (batch,), generator=gen, device=dev)
        return {"inputs": X[idx], "labels": Y[idx], "ids": I[idx]}

    train(args, c, dev, draw, val, "scripts/gpu/train_arc.py", t0, log_every=100)


if __name__ == "__main__":
    main()
