#!/usr/bin/env bash
# The GPU ARC recipe (models/README.md), run from the repository root:
#   scripts/gpu/arc-gpu-recipe.sh data [build/trm]      # step 1, here: export the training data trm would use
#   scripts/gpu/arc-gpu-recipe.sh train DATA OUTDIR     # step 2, on the GPU machine (python3 with torch 2.x)
# The export holds the demonstrations of the ARC-AGI-1 training and evaluation tasks that fit 10x10 (20 augmented
# copies each, the same builder, seed and identifiers as `trm train arc`) and the evaluation tasks' test pairs, which
# the run only scores (held out). The architecture is fixed at export time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
case ${1:-} in
  data)
    trm=${2:-build/trm}; arc=${ARC_DIR:-datasets/arc}; mkdir -p runs/gpu-arc
    "$trm" train arc --data "$arc/arc-agi_training_challenges.json.gz" --arc-eval "$arc/arc-agi_evaluation_challenges.json.gz" \
      --arc-eval-solutions "$arc/arc-agi_evaluation_solutions.json.gz" --grid 10 --num-aug 20 --hidden 256 --heads 4 \
      --mlp-t false --pos rope --H-cycles 2 --L-cycles 3 --halt-max-steps 8 --puzzle-emb-ndim 256 \
      --export-data runs/gpu-arc/arc-data.safetensors ;;
  train)
    # The shipped run was started with --minutes 3.9, which timed steps 20-60 and fixed 3,800 steps.
    mkdir -p "$3"
    PYTHONUNBUFFERED=1 python3 "$here/train_arc.py" --data "$2" --steps 3800 --lr 7e-4 --batch 768 --seed 1 \
      -o "$3/arc-h256.safetensors" 2>&1 | tee "$3/arc-h256.log" ;;
  *) echo "usage: $0 data [TRM] | train DATA OUTDIR" >&2; exit 2 ;;
esac
