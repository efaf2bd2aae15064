#!/usr/bin/env bash
# A fresh clone must pass `make test` with nothing beside it: no tracked file (tests, scripts, docs, code) may read
# from the sibling folder the project was developed beside. Fails naming each file and line that does.
# Usage (from the source root, as ctest runs it): bash tests/e2e_self_contained.sh [trm, unused]
set -euo pipefail
sibling='\.\./'"shared"  # spelt in two pieces so that this script does not match itself
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  files=$(git ls-files)
else  # an unpacked archive: every file but build outputs
  files=$(find . -type f -not -path './build*' -not -path './.git/*' -not -path './tests/mcp/node_modules/*')
fi
hits=$(printf '%s\n' "$files" | grep -v '\.safetensors$' | tr '\n' '\0' | xargs -0 grep -nIE "$sibling" -- 2>/dev/null || true)
if [ -n "$hits" ]; then
  echo "FAIL: tracked files refer to a folder outside the checkout:" >&2
  echo "$hits" >&2
  exit 1
fi
# What the tests and documented commands read must be here.
for f in tests/data/official-trm/sudoku_mlp/forward_bf16.safetensors datasets/arc/arc-agi_evaluation_challenges.json.gz \
         datasets/sudoku/top1465.txt; do
  [ -f "$f" ] || { echo "FAIL: $f is missing" >&2; exit 1; }
done
echo "self-contained: $(printf '%s\n' "$files" | wc -l) files checked, none refers outside the checkout"
