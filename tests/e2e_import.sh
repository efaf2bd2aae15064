#!/usr/bin/env bash
# Official checkpoints through `trm import`: for each fixture, import step_100 (+ all_config.yaml beside it) to our
# format, run `trm debug forward` and `trm debug train-step` on the imported file, and compare every tensor with the
# official fixture tensors (logits/z within 5e-5 absolute; gradients within 1e-4 of each tensor's max magnitude;
# losses within 1e-5 relative). Also checks `trm info` on both formats.
set -euo pipefail
trm=$1
fix=tests/data/official-trm
[ -d "$fix" ] || { echo "FAIL: $fix missing (run from the source root)"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for v in sudoku_mlp sudoku_att maze_learned arc_att; do
  "$trm" import "$fix/$v/step_100" -o "$tmp/$v.safetensors" 2>/dev/null
  "$trm" info "$fix/$v/step_100" > "$tmp/$v.info1"
  "$trm" info "$tmp/$v.safetensors" > "$tmp/$v.info2"
  grep -q "parameters" "$tmp/$v.info2"
  # fp32: the 5e-5 parity of the official float32 run (bf16 parity is tests/test_parity.cpp's envelope check)
  "$trm" debug forward "$tmp/$v.safetensors" --precision fp32 --inputs "$fix/$v/forward.safetensors" --steps 4 -o "$tmp/$v.fwd" 2>/dev/null
  "$trm" debug train-step "$tmp/$v.safetensors" --precision fp32 --batch "$fix/$v/train_step.safetensors" -o "$tmp/$v.ts" 2>/dev/null
done
python3 - "$tmp" "$fix" <<'PY'
import array, json, struct, sys
tmp, fix = sys.argv[1], sys.argv[2]
def load(p):
    with open(p, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]; h = json.loads(f.read(n)); data = f.read()
    out = {}
    for k, v in h.items():
        if k == '__metadata__': continue
        b, e = v['data_offsets']
        out[k] = array.array({'F32': 'f', 'I32': 'i', 'F64': 'd'}[v['dtype']], data[b:e])
    return out
bad = 0
for v in ['sudoku_mlp', 'sudoku_att', 'maze_learned', 'arc_att']:
    got, ref = load(f'{tmp}/{v}.fwd'), load(f'{fix}/{v}/forward.safetensors')
    n = 0
    for k in got:
        if k not in ref: continue
        n += 1
        d = max(abs(a - b) for a, b in zip(got[k], ref[k]))
        if d > 5e-5: print(f'FAIL {v} {k}: max abs diff {d:.2e}'); bad += 1
    if n < 20: print(f'FAIL {v}: only {n} forward tensors compared'); bad += 1
    got, ref = load(f'{tmp}/{v}.ts'), load(f'{fix}/{v}/train_step.safetensors')
    for k in ('loss', 'lm_loss', 'q_halt_loss'):
        if abs(got[k][0] - ref[k][0]) > 1e-5 * abs(ref[k][0]): print(f'FAIL {v} {k}: {got[k][0]} vs {ref[k][0]}'); bad += 1
    g = [k for k in ref if k.startswith('grad.')]
    for k in g:
        if k not in got: print(f'FAIL {v}: no {k}'); bad += 1; continue
        m = max(abs(x) for x in ref[k]) or 1e-12
        d = max(abs(a - b) for a, b in zip(got[k], ref[k]))
        if d > 1e-4 * m: print(f'FAIL {v} {k}: {d:.2e} vs max {m:.2e}'); bad += 1
    print(f'{v}: {n} forward tensors, {len(g)} gradients compared')
sys.exit(1 if bad else 0)
PY
echo "e2e_import: OK"
