#!/usr/bin/env bash
# Measures the shipped models on held-out data (the figures of models/README.md). Usage: scripts/eval-models.sh [build/trm]
set -euo pipefail
trm=${1:-build/trm}
cd "$(dirname "$0")/.."
lists=datasets/sudoku
sudoku_evals() {  # model file; how many puzzles --halt never runs (all 16 steps of a large model take a while)
  local model=$1 never_max=$2
  for set in easy:3000 medium:3000 hard:2000 extreme:500; do
    d=${set%:*} n=${set#*:}
    echo "== $model: sudoku $d ($n generated, held-out seed 1000000007)"
    for halt in model never verified; do
      [ $d = extreme ] && [ $halt != model ] && continue
      count=$n; [ $halt = never ] && [ $count -gt $never_max ] && count=$never_max
      "$trm" eval sudoku --model "$model" --generate $d --count $count --halt $halt --views 1
    done
  done
  for f in top1465 forum_hardest_1106; do
    if [ -f "$lists/$f.txt" ]; then
      echo "== $model: sudoku $f"
      "$trm" eval sudoku --model "$model" --data "$lists/$f.txt" --views 1
    fi
  done
}
sudoku_evals models/sudoku.safetensors 1000
[ -f models/sudoku-cpu.safetensors ] && sudoku_evals models/sudoku-cpu.safetensors 3000
if [ -f models/maze-small.safetensors ]; then
  echo "== maze 9x9 (500 generated, held-out seed)"
  "$trm" eval maze --model models/maze-small.safetensors --generate --count 500 --size 9 --min-path 13 --views 1
  for n in 7 5; do
    echo "== maze ${n}x${n} padded into the 9x9 grid (200 generated, held-out seed)"
    "$trm" eval maze --model models/maze-small.safetensors --generate --count 200 --size $n --min-path $((n * 3 / 2)) --views 1
  done
  echo "== maze: the bundled examples (framed and frameless)"
  "$trm" solve maze examples/maze_small.txt 2>&1 | grep -E "^ +[0-9]+ +examples/" || true
fi
# the any-size maze model at 10/15/20/30 (100 mazes each; ~15 minutes, most of it at 30x30)
if [ -f models/maze.safetensors ]; then scripts/eval-maze30.sh "$trm" models/maze.safetensors 100; fi
arc=${ARC_DIR:-datasets/arc}
arc_evals() {  # model file; ConceptARC tasks adapted at test time (0 = all 39; ~56 s each with the GPU model)
  local model=$1 tta_limit=$2
  echo "== $model: ARC-AGI-1 evaluation tasks that fit the 10x10 canvas (demonstrations trained on, test pairs held out)"
  "$trm" eval arc --model "$model" --challenges "$arc/arc-agi_evaluation_challenges.json.gz" \
    --solutions "$arc/arc-agi_evaluation_solutions.json.gz" --num-aug 20
  echo "== $model: ARC-AGI-1 training tasks that fit (demonstrations trained on, test pairs held out)"
  "$trm" eval arc --model "$model" --challenges "$arc/arc-agi_training_challenges.json.gz" \
    --solutions "$arc/arc-agi_training_solutions.json.gz" --num-aug 20
  echo "== $model: unseen ConceptARC tasks, with test-time adaptation (100 steps; first $tta_limit tasks) and without"
  "$trm" eval arc --model "$model" --challenges "$arc/arc-agi_concept_challenges.json.gz" \
    --solutions "$arc/arc-agi_concept_solutions.json.gz" --num-aug 8 --adapt-steps 100 --limit "$tta_limit"
  "$trm" eval arc --model "$model" --challenges "$arc/arc-agi_concept_challenges.json.gz" \
    --solutions "$arc/arc-agi_concept_solutions.json.gz" --num-aug 8 --adapt-steps 0
}
if [ -d "$arc" ]; then
  [ -f models/arc.safetensors ] && arc_evals models/arc.safetensors 20
  [ -f models/arc-cpu.safetensors ] && arc_evals models/arc-cpu.safetensors 0
fi
