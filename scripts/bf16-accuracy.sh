#!/usr/bin/env bash
# bf16 against fp32 on the shipped models' held-out sets (issue 18: "accuracy is unchanged"): the same `trm eval`
# runs with --precision fp32 and --precision bf16, one table of accuracies with 95% intervals.
# Usage: scripts/bf16-accuracy.sh [build/trm] [COUNT]   (COUNT generated puzzles per Sudoku/maze set, default 500)
set -euo pipefail
trm=${1:-build/trm}; count=${2:-500}
cd "$(dirname "$0")/.."
row() {  # label, key of the accuracy, key of its interval, trm eval arguments
  local label=$1 key=$2 ci=$3; shift 3
  local out=()
  for p in fp32 bf16; do
    out+=("$("$trm" eval "$@" --precision "$p" --threads 1 --format json | python3 -c "
import json, sys; d = json.load(sys.stdin); lo, hi = d['$ci'] if '$ci' else (None, None)
print(f\"{100 * d['$key']:.1f}\" + (f' ({100 * lo:.1f}-{100 * hi:.1f})' if lo is not None else ''))")")
  done
  printf '| %s | %s | %s |\n' "$label" "${out[0]}" "${out[1]}"
}
echo "| held-out set | fp32 | bf16 |"
echo "|---|---|---|"
for d in easy medium hard; do
  row "Sudoku $d x$count (\`trm eval sudoku --generate $d --count $count\`)" exact_accuracy exact_ci95 sudoku --generate "$d" --count "$count"
done
row "Sudoku hard x$count, one view (\`--views 1\`: the model alone)" exact_accuracy exact_ci95 sudoku --generate hard --count "$count" --views 1
row "mazes 9x9 x$count (\`trm eval maze --generate --count $count\`)" optimal_rate optimal_ci95 maze --generate --count "$count"
row "ARC-AGI-1 evaluation, tasks fitting 10x10, pass@2" pass_at_2 "" arc \
  --challenges datasets/arc/arc-agi_evaluation_challenges.json.gz --solutions datasets/arc/arc-agi_evaluation_solutions.json.gz
