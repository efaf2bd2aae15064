#!/usr/bin/env bash
# `make demo`: solve a bundled Sudoku with the shipped model, showing every draft-critique-refine step.
set -euo pipefail
trm=${1:-build/trm}
cd "$(dirname "$0")/.."
if [ -f models/sudoku.safetensors ]; then
  "$trm" info models/sudoku.safetensors
  echo
  head -n 3 examples/sudoku_easy.txt | grep -v '^#' | head -n 1 | "$trm" solve sudoku --trace steps || true
else
  echo "no shipped model yet: models/sudoku.safetensors (train one with: make models)"
fi
