#!/usr/bin/env python3
"""Writes the seed files of fuzz/corpus/<target>/seed_* (standard library only, no torch):

  sudoku_text, maze_text, arc_json   copies of the small golden / error files of tests/data and examples/
  arc_json                           also challenges '\\0' solutions pairs (the harness splits at the first NUL)
  safetensors                        a tiny native model (trm_config matching the tensors), F32 and BF16, and the
                                     same without MLP weights (expansion 0.05: SwiGLU inner 0, ~1.6 KB)
  torch_checkpoint                   the tiny model as an official torch.save zip (torch 1.x / 2.x layouts, the
                                     config of fuzz_entry.hpp kFuzzAllConfig) + tests/data/torch/{tiny*,hostile/*}.pt
  torch_pickle                       the tiny model's data.pkl with float32 storages (protocols 2 and 4), as
                                     fuzz_entry.hpp tiny_model_storages() zips it + tests/data/torch/*.pkl
  official_config                    the fixtures' all_config.yaml, alone and with '\\0' dataset.json

Fuzzing adds its own files (content-hash names) beside the seeds; rerunning this script only rewrites seed_*.
  usage: python3 fuzz/make_seeds.py [fixtures_dir]   (from the source root; default tests/data/official-trm)
"""
import collections
import json
import os
import shutil
import struct
import sys

sys.dont_write_bytecode = True
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "data", "torch"))
import make_hostile as mh  # noqa: E402
import torch_stub as ts  # noqa: E402

CORPUS = os.path.join(ROOT, "fuzz", "corpus")
MAX_SEED_BYTES = 64 * 1024

# The tiny model of fuzz_entry.hpp (kFuzzAllConfig + kFuzzDatasetJson): D 8, 2 heads, expansion 1 (SwiGLU inner
# 256), one attention layer, learned positions, puzzle embedding 8 x 1 row, seq_len 4, vocab 3, 2 identifiers.
TINY_CONFIG = {
    "hidden_size": 8, "expansion": 1.0, "num_heads": 2, "L_layers": 1, "H_layers": 0, "H_cycles": 1,
    "L_cycles": 1, "halt_max_steps": 2, "halt_exploration_prob": 0.1, "puzzle_emb_ndim": 8, "puzzle_emb_len": 1,
    "mlp_t": False, "pos_encodings": "learned", "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
    "no_ACT_continue": True, "forward_dtype": "float32", "seq_len": 4, "vocab_size": 3,
    "num_puzzle_identifiers": 2, "domain": "", "token_map": [], "identifiers": [],
}
D, L, V, N, I = 8, 5, 3, 2, 256  # L = seq_len + puzzle_emb_len


def tiny_tensors(inner):
    """(name, shape) in the official state_dict order (core/weights.cpp Layout)."""
    return [
        ("inner.H_init", (D,)), ("inner.L_init", (D,)), ("inner.embed_tokens.embedding_weight", (V, D)),
        ("inner.lm_head.weight", (V, D)), ("inner.q_head.weight", (2, D)), ("inner.q_head.bias", (2,)),
        ("inner.puzzle_emb.weights", (N, D)), ("inner.embed_pos.embedding_weight", (L, D)),
        ("inner.L_level.layers.0.self_attn.qkv_proj.weight", (3 * D, D)),
        ("inner.L_level.layers.0.self_attn.o_proj.weight", (D, D)),
        ("inner.L_level.layers.0.mlp.gate_up_proj.weight", (2 * inner, D)),
        ("inner.L_level.layers.0.mlp.down_proj.weight", (D, inner)),
    ]


TINY_TENSORS = tiny_tensors(I)
# The same with expansion 0.05: SwiGLU inner round(0.05 * 8 * 2 / 3) = 0, so the MLP tensors are empty and the
# whole file is ~1.6 KB (F32). Small seeds keep the fuzzed variants that reach model loading small.
NOFFN_CONFIG = dict(TINY_CONFIG, expansion=0.05)
NOFFN_TENSORS = tiny_tensors(0)


def numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def values(k, n):
    return [((i * 7 + k * 3) % 17 - 8) / 64.0 for i in range(n)]  # exact in F32, BF16 and F16


def write(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    with open(os.path.join(CORPUS, target, "seed_" + name), "wb") as f:
        f.write(data)


def copy_small(target, paths):
    for p in paths:
        if os.path.isfile(p) and os.path.getsize(p) <= MAX_SEED_BYTES:
            rel = os.path.relpath(p, ROOT).replace("/", "_")
            with open(p, "rb") as f:
                write(target, rel, f.read())


def listdir(d, exts):
    d = os.path.join(ROOT, d)
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(exts))


def safetensors(dtype, config=TINY_CONFIG, tensors=TINY_TENSORS):
    header = {"__metadata__": {"format": "trm/1", "trm_config": json.dumps(config)}}
    data, offset = b"", 0
    for k, (name, shape) in enumerate(tensors):
        vals = values(k, numel(shape))
        raw = struct.pack("<%df" % len(vals), *vals) if dtype == "F32" else \
            struct.pack("<%dH" % len(vals), *(mh.bf16_bits(v) for v in vals))
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        data += raw
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (len(h) + 8) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + data


def torch_zip(layout):
    raw, sd = {}, collections.OrderedDict()
    for k, (name, shape) in enumerate(TINY_TENSORS):
        vals = values(k, numel(shape))
        key = str(k)
        if k % 2:
            stype, raw[key] = "HalfStorage", struct.pack("<%de" % len(vals), *vals)
        else:
            stype, raw[key] = "FloatStorage", struct.pack("<%df" % len(vals), *vals)
        st = ts.Storage(ts.storage_type(stype), key, "cpu", len(vals))
        stride = tuple(numel(shape[i + 1:]) for i in range(len(shape)))
        sd["_orig_mod.model." + name] = ts.Tensor(st, 0, shape, stride)
    if layout == 1:
        recs = mh.torch1_records("step_1/", ts.dumps_state_dict(sd, 2), raw)
    else:
        recs = mh.torch2_records("archive/", ts.dumps_state_dict(sd, 4), raw)
    path = os.path.join(CORPUS, "torch_checkpoint", "seed_tiny_model_torch%d.pt" % layout)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mh.write_zip(path, recs)


def tiny_pickle(protocol):
    sd = collections.OrderedDict()
    for k, (name, shape) in enumerate(TINY_TENSORS):
        st = ts.Storage(ts.storage_type("FloatStorage"), str(k), "cpu", numel(shape))
        stride = tuple(numel(shape[i + 1:]) for i in range(len(shape)))
        sd["_orig_mod.model." + name] = ts.Tensor(st, 0, shape, stride)
    return ts.dumps_state_dict(sd, protocol)


def main():
    fixtures = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "data", "official-trm")
    copy_small("sudoku_text", listdir("tests/data/sudoku", (".txt", ".csv")) +
               listdir("tests/data/sudoku/bad", (".txt", ".csv")) + listdir("examples", (".txt", ".csv")))
    copy_small("maze_text", listdir("tests/data/maze", (".txt", ".csv")) +
               listdir("tests/data/maze/bad", (".txt", ".csv")) +
               [os.path.join(ROOT, "examples", f) for f in ("maze_small.txt", "maze_30x30.txt")])
    copy_small("arc_json", listdir("tests/data/arc", (".json",)) + listdir("examples", (".json",)))
    arc = os.path.join(ROOT, "tests", "data", "arc")
    with open(os.path.join(arc, "tasks_small.json"), "rb") as t:
        tasks = t.read()
    for sol in ("solutions_small.json", "solutions_short.json"):
        with open(os.path.join(arc, sol), "rb") as s:
            write("arc_json", "tasks_small+" + sol, tasks + b"\0" + s.read())
    write("safetensors", "tiny_model_f32.safetensors", safetensors("F32"))
    write("safetensors", "tiny_model_bf16.safetensors", safetensors("BF16"))
    write("safetensors", "noffn_model_f32.safetensors", safetensors("F32", NOFFN_CONFIG, NOFFN_TENSORS))
    write("safetensors", "noffn_model_bf16.safetensors", safetensors("BF16", NOFFN_CONFIG, NOFFN_TENSORS))
    torch_zip(1)
    torch_zip(2)
    copy_small("torch_checkpoint", listdir("tests/data/torch", (".pt",)) + listdir("tests/data/torch/hostile", (".pt",)))
    write("torch_pickle", "tiny_model_p2.pkl", tiny_pickle(2))
    write("torch_pickle", "tiny_model_p4.pkl", tiny_pickle(4))
    copy_small("torch_pickle", listdir("tests/data/torch", (".pkl",)))
    for name in sorted(os.listdir(fixtures)):
        d = os.path.join(fixtures, name)
        if not os.path.isfile(os.path.join(d, "all_config.yaml")):
            continue
        with open(os.path.join(d, "all_config.yaml"), "rb") as f:
            yaml = f.read()
        write("official_config", name + "_all_config.yaml", yaml)
        if os.path.isfile(os.path.join(d, "dataset.json")):
            with open(os.path.join(d, "dataset.json"), "rb") as f:
                write("official_config", name + "_with_dataset", yaml + b"\0" + f.read())


if __name__ == "__main__":
    main()
