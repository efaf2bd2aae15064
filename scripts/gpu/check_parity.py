"""Checks scripts/gpu/trm_torch.py against an official fixture (sudoku_mlp, sudoku_att, arc_att): the ACT forward at
steps 1-4 and the loss and every gradient of one training step. Run before trusting a GPU run:
`python3 scripts/gpu/check_parity.py [FIXTURE_DIR]` (default: sudoku_mlp); exits non-zero and names the tensor when
one is off."""
import os
import sys

import torch
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from trm_torch import ACT, Inner, act_loss, load_safetensors  # noqa: E402

fx = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../tests/data/official-trm/sudoku_mlp")
cfg = yaml.safe_load(open(os.path.join(fx, "all_config.yaml")))["arch"]
ds = yaml.safe_load(open(os.path.join(fx, "dataset.json")))
c = dict(cfg, seq_len=ds["seq_len"], vocab_size=ds["vocab_size"], num_puzzle_identifiers=ds["num_puzzle_identifiers"])
model = Inner(c)
sd = torch.load(os.path.join(fx, "step_100"), map_location="cpu")
sd = {k.removeprefix("_orig_mod.model.inner."): v.float() for k, v in sd.items()}
model.load_state_dict(sd)
failures = []


def check(name, got, want, tol):
    d = (got.double() - want.double()).abs().max().item()
    print(f"{name:48s} max diff {d:.2e} (tol {tol:.0e})")
    if not d <= tol:
        failures.append(name)


fwd, _ = load_safetensors(os.path.join(fx, "forward.safetensors"))
batch = {"inputs": fwd["inputs"], "ids": fwd["puzzle_identifiers"]}
act = ACT(model, batch["inputs"].shape[0], model.rows, c["hidden_size"], "cpu")
with torch.no_grad():
    check("input_embeddings", model.input_embeddings(batch["inputs"], batch["ids"]), fwd["input_embeddings"], 5e-5)
    for s in range(1, 5):
        logits, q_halt, q_cont = act.step(batch, training=False)
        check(f"step{s}.logits", logits, fwd[f"step{s}.logits"], 5e-5)
        check(f"step{s}.q_halt_logits", q_halt, fwd[f"step{s}.q_halt_logits"], 5e-5)
        check(f"step{s}.q_continue_logits", q_cont, fwd[f"step{s}.q_continue_logits"], 5e-5)
        check(f"step{s}.z_H", act.z_H, fwd[f"step{s}.z_H"], 5e-5)
        check(f"step{s}.z_L", act.z_L, fwd[f"step{s}.z_L"], 5e-5)

ts, _ = load_safetensors(os.path.join(fx, "train_step.safetensors"))
model.zero_grad()
act = ACT(model, ts["inputs"].shape[0], model.rows, c["hidden_size"], "cpu")
logits, q_halt, _ = act.step({"inputs": ts["inputs"], "ids": ts["puzzle_identifiers"]}, training=True)
loss, lm_loss, q_loss, _ = act_loss(logits, q_halt, ts["labels"])
loss.backward()
check("loss (relative)", loss / ts["loss"], torch.tensor(1.0), 1e-5)
check("lm_loss (relative)", lm_loss / ts["lm_loss"], torch.tensor(1.0), 1e-5)
check("q_halt_loss (relative)", q_loss / ts["q_halt_loss"], torch.tensor(1.0), 1e-5)
for n, p in model.named_parameters():
    want = ts.get("grad._orig_mod.model.inner." + n)
    if n == "puzzle_emb.weights":  # the fixture holds per-row gradients; scatter-add them by identifier
        want = torch.zeros_like(p).index_add_(0, ts["puzzle_emb.local_ids"].long(), ts["grad.puzzle_emb.local_weights"])
    if want is None:
        failures.append(f"grad.{n} missing from the fixture")
        continue
    check(f"grad.{n} (relative to max)", p.grad / want.abs().max(), want / want.abs().max(), 1e-4)
if failures:
    sys.exit("parity FAILED: " + ", ".join(failures))
print("parity OK")
