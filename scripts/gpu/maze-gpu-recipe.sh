#!/usr/bin/env bash
# The GPU maze recipe (issue 20: a lent GPU goes first to the 30x30 maze model; models/README.md "Mazes at 30x30").
# Run from the repository root:
#   scripts/gpu/maze-gpu-recipe.sh data [build/trm]           # step 1, here: generated mazes, ~5 MB gzipped
#   scripts/gpu/maze-gpu-recipe.sh train DATA OUTDIR [MIN]    # step 2, on the GPU machine (python3 with torch)
#   scripts/gpu/maze-gpu-recipe.sh check OUTDIR [build/trm]   # step 3, here: trm computes what torch computed
# then `scripts/eval-maze30.sh build/trm OUTDIR/maze30-gpu.safetensors` for the held-out figures.
# The run continues the CPU canvas-growing run (a rope2d network; INIT, default its best committed weights) on the
# 30x30 canvas with mazes of every side from 10 to 30 (Maze-Hard's shortest path >= 110 at 30, >= 1.5 x side below),
# each drawn under a random dihedral transform. Training seeds 3e9 + side x 1e7 and validation seeds 4e9 + side x 1e7
# are disjoint from `trm eval`'s held-out stream (1000000007 on). Written and checked on a CPU (torch 1.13, a few
# steps); STEPS=N and BATCH=N replace --minutes and the batch for such a check, PYTHON=... the interpreter.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
init=${INIT:-models/train-state/maze30-step20000.safetensors}
case ${1:-} in
  data)
    trm=${2:-build/trm}; out=runs/gpu-maze/data; mkdir -p "$out"
    gen() {  # side count seed-base file
      local path=$(($1 * 3 / 2)); [ "$1" -ge 30 ] && path=110
      "$trm" generate maze --size "$1" --min-path "$path" --count "$2" --seed $(($3 + $1 * 10000000)) --format csv -o - |
        gzip -n > "$out/$4.csv.gz"
    }
    for s in $(seq 10 29); do gen "$s" 1500 3000000000 "train$s"; done
    gen 30 20000 3000000000 train30
    for s in 10 15 20 30; do gen "$s" 128 4000000000 "val$s"; done
    ls -la "$out" ;;
  train)
    data=$2 out=$3; mkdir -p "$out"
    train=$(ls "$data"/train*.csv.gz | paste -sd,)
    val=$(ls "$data"/val*.csv.gz | paste -sd,)
    how=(--minutes "${4:-8}"); [ -n "${STEPS:-}" ] && how=(--steps "$STEPS")
    PYTHONUNBUFFERED=1 "${PYTHON:-python3}" "$here/train_maze.py" --data "$train" --val "$val" --grid 30 --init-from "$init" \
      --batch "${BATCH:-256}" --lr 3e-4 --warmup 100 --seed 1 "${how[@]}" -o "$out/maze30-gpu.safetensors" 2>&1 |
      tee "$out/maze30-gpu.log" ;;
  check)
    trm=${3:-build/trm}
    "$trm" generate maze --size 30 --min-path 110 --count 4 --seed 77 -o "$2/check-mazes.txt"
    "${PYTHON:-python3}" "$here/check_export.py" "$2/maze30-gpu.safetensors" "$2/check-mazes.txt" "$trm" ;;
  *) echo "usage: $0 data [TRM] | train DATA OUTDIR [MINUTES] | check OUTDIR [TRM]" >&2; exit 2 ;;
esac
