#!/usr/bin/env bash
# The held-out maze figures of issue 20 (models/README.md, "Mazes at 30x30"): a maze network on generated mazes of
# sides 10, 15, 20 and 30 (shortest path >= 1.5 x side; Maze-Hard's 110 at 30x30), the model alone (--views 1, its
# own halting) and as `trm solve` runs by default (up to 8 views, each stopped at its first draft that verifies: the
# issue's measure). A rope2d network solves each size on a canvas of that size.
# Usage: scripts/eval-maze30.sh [build/trm] [model] [mazes per size, default 200]   (THREADS=N: trm's --threads;
# SIZES="10 12 16": other sides; ALONE=0: only the default solve, not the model alone)
set -euo pipefail
trm=${1:-build/trm}
model=${2:-models/maze.safetensors}
count=${3:-200}
cd "$(dirname "$0")/.."
hows=("model alone" "trm solve default"); [ "${ALONE:-1}" = 0 ] && hows=("trm solve default")
for size in ${SIZES:-10 15 20 30}; do
  path=$((size * 3 / 2)); [ "$size" -ge 30 ] && path=110
  for how in "${hows[@]}"; do
    v=(--views 1); [ "$how" = "trm solve default" ] && v=(--halt verified)
    echo "== $model: ${size}x${size}, shortest path >= $path, $count mazes, $how (${v[*]})"
    "$trm" eval maze --model "$model" --generate --size "$size" --min-path "$path" --count "$count" "${v[@]}" \
      ${THREADS:+--threads "$THREADS"} |
      grep -E 'optimal path|throughput' || true
  done
done
