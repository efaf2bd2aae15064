#!/usr/bin/env bash
# Docs equal behaviour: every example of every `trm ... --help` footer and every trm command of README.md's code
# blocks runs as written and exits as this table says.
# Usage (from the source root, as ctest runs it): bash tests/e2e_docs.sh path/to/trm
#
# - The examples are read from the binary's help and from README.md, not copied here: an example added to either
#   without an entry in EXPECT fails ("add it to the table"), and so does an entry that no document shows any more.
# - Each page (one help page, or README.md) runs in its own temporary directory that looks like the source root of
#   a fresh clone: one symlink per top-level entry, build/trm -> the binary under test. Its examples run there in
#   order, so what they write (out.txt, sub.json, -o mazes.csv) lands in the temporary directory and never in the
#   checkout, and README's commands see what the ones before them wrote (hard.txt), as a reader typing them would.
# - `trm ...` in help footers and README blocks runs as build/trm; `$ ` prompts and `# comments` are stripped; a line
#   ending in `\` continues on the next.
# - Examples that inherently need the user's data get it from SETUP (same words, file made first); long ones get
#   the limiting flags of LIMITS (a flag the example already has gets the new value, others are appended).
set -uo pipefail

TRM=$(realpath "${1:?usage: e2e_docs.sh path/to/trm}")
SRC=$PWD
[[ -f $SRC/README.md && -d $SRC/examples ]] || { echo "FAIL: run from the source root" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git_before=$(git status --porcelain 2>/dev/null)
failures=0
checks=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { checks=$((checks + 1)); }

# ---- the table: exit code per example ------------------------------------------------------------------------
# 0: every answer verified (or nothing to verify); 3: the example's answer legitimately does not verify (why, beside).
declare -A EXPECT LIMITS SETUP
E() { EXPECT[$1]=$2; }

# trm solve --help
E 'trm solve examples/sudoku_easy.txt' 0
E 'trm solve sudoku --quiet < in.txt > out.txt' 0
E 'trm solve maze examples/maze_small.txt --format json' 0
E 'trm solve arc datasets/arc/arc-agi_training_challenges.json.gz --task 6150a2bd --solutions datasets/arc/arc-agi_training_solutions.json.gz --submission sub.json' 3
#   3: the shipped ARC model knows the task (training set) but answers its held-out test input wrong (models/README.md)
E 'trm solve sudoku examples/sudoku_grid.txt --trace steps --halt never --html trace.html' 0
E 'trm solve sudoku hardest.txt --views 32' 0
# trm eval sudoku|maze|arc --help (eval reports accuracy; it exits 0 whatever the answers)
E 'trm eval sudoku --data examples/sudoku_extreme.csv' 0
E 'trm eval sudoku --generate easy --count 500 --seed 7 --format json' 0
E 'trm eval maze --data mazes.csv --limit 1000' 0
E 'trm eval maze --generate --count 200 --size 9 --min-path 13' 0
E 'trm eval arc --challenges datasets/arc/arc-agi_evaluation_challenges.json.gz --solutions datasets/arc/arc-agi_evaluation_solutions.json.gz --num-aug 8' 0
# trm generate sudoku|maze --help
E 'trm generate sudoku --count 500 --difficulty medium --seed 7 --format csv -o medium.csv' 0
E 'trm generate maze --count 100 --size 9 --min-path 13 --seed 1 --format csv -o mazes.csv' 0
E 'trm generate maze --count 2 --size 30 --min-path 110 --answers -o maze-hard.txt' 0
# trm train --help (the second continues the first)
E 'trm train sudoku --mix easy:1,medium:1 --steps 20000 --time-limit 110 -o my-sudoku.safetensors' 0
E 'trm train sudoku -o my-sudoku.safetensors --resume' 0
# trm bench, import, info, debug --help
E 'trm bench --train --only shipped' 0
E 'trm bench --solver datasets/sudoku/forum_hardest_1106.txt' 0
E 'trm import tests/data/official-trm/arc_att/step_100 --domain arc -o arc.safetensors' 0
E 'trm import checkpoints/run/step_52080 --identifiers data/arc/identifiers.json --domain arc -o arc-run.safetensors' 0
E 'trm info models/sudoku.safetensors --tensors' 0
E 'trm debug forward tests/data/official-trm/sudoku_mlp/step_100 --inputs tests/data/official-trm/sudoku_mlp/forward.safetensors --steps 4 -o ours.safetensors' 0
E 'trm debug train-step tests/data/official-trm/sudoku_mlp/step_100 --batch tests/data/official-trm/sudoku_mlp/train_step.safetensors -o grads.safetensors' 0
# README.md
E 'echo "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79" | build/trm solve' 0
E 'build/trm generate sudoku --difficulty hard --count 4 --seed 1 | tail -1 | build/trm solve sudoku --trace steps --color never' 0
E 'build/trm solve examples/sudoku_easy.txt' 0
E 'build/trm solve sudoku --quiet < in.txt > out.txt' 0
E 'build/trm solve maze examples/maze_small.txt --format json' 0
E 'build/trm solve arc examples/arc_6150a2bd.json --submission sub.json' 3
#   3: named arc_6150a2bd, the task is unseen: adapted at test time, still not solved (models/README.md)
E 'build/trm generate sudoku --count 100 --difficulty hard --seed 7 > hard.txt' 0
E 'build/trm eval sudoku --data hard.txt' 0
E 'build/trm train sudoku --mix easy:1,medium:1 --steps 12000 --time-limit 110 -o my.safetensors' 0
E 'trm eval sudoku --generate easy --count 1000 --halt verified --threads 1' 0
E 'trm eval sudoku --data datasets/sudoku/top1465_17clue.txt --halt verified --threads 1' 0
E 'trm eval sudoku --data datasets/sudoku/forum_hardest_1106.txt --halt verified --threads 1' 0
E 'trm eval maze --generate --count 200 --size 9 --min-path 13 --halt verified --views 8 --threads 1' 0

# ---- user data: made in the page's directory before the example runs (same words) ---------------------------
# in.txt: "your puzzles"; the bundled easy pair stands in for them.
SETUP['trm solve sudoku --quiet < in.txt > out.txt']='cp examples/sudoku_easy.txt in.txt'
SETUP['build/trm solve sudoku --quiet < in.txt > out.txt']='cp examples/sudoku_easy.txt in.txt'
# hardest.txt: "your hardest puzzles"; three 17-clue puzzles of top1465 that the model answers wrong as given and
# right through views 2, 2 and 3 (measured 2026-12-05), so the re-solving runs.
SETUP['trm solve sudoku hardest.txt --views 32']='grep -v "^#" datasets/sudoku/top1465_17clue.txt | sed -n 7,9p > hardest.txt'
# mazes.csv: what `trm generate maze ... --format csv -o mazes.csv` (that page's example) writes.
SETUP['trm eval maze --data mazes.csv --limit 1000']='build/trm generate maze --count 20 --size 9 --min-path 13 --seed 1 --format csv -o mazes.csv'
# an official training run's folder: step_N with all_config.yaml and dataset.json beside it, and the official
# builder's identifiers.json (index = puzzle identifier, "<blank>" first); the ARC fixture has 5 identifiers.
SETUP['trm import checkpoints/run/step_52080 --identifiers data/arc/identifiers.json --domain arc -o arc-run.safetensors']='
    mkdir -p checkpoints/run data/arc &&
    cp tests/data/official-trm/arc_att/step_100 checkpoints/run/step_52080 &&
    cp tests/data/official-trm/arc_att/all_config.yaml tests/data/official-trm/arc_att/dataset.json checkpoints/run/ &&
    echo "[\"<blank>\", \"007bbfb7\", \"00d62c1b\", \"017c7c7b\", \"025d127b\"]" > data/arc/identifiers.json'

# ---- limits: long examples cut down to seconds (the same code paths, fewer puzzles, steps or seconds) ---------
LIMITS['trm eval sudoku --generate easy --count 500 --seed 7 --format json']='--count 20'
LIMITS['trm eval maze --data mazes.csv --limit 1000']='--limit 20'
LIMITS['trm eval maze --generate --count 200 --size 9 --min-path 13']='--count 20'
LIMITS['trm eval arc --challenges datasets/arc/arc-agi_evaluation_challenges.json.gz --solutions datasets/arc/arc-agi_evaluation_solutions.json.gz --num-aug 8']='--limit 1'
LIMITS['trm generate sudoku --count 500 --difficulty medium --seed 7 --format csv -o medium.csv']='--count 20'
LIMITS['trm train sudoku --mix easy:1,medium:1 --steps 20000 --time-limit 110 -o my-sudoku.safetensors']='--steps 2 --batch 8 --eval-count 8'
LIMITS['trm train sudoku -o my-sudoku.safetensors --resume']='--steps 4 --eval-count 8'  # the batch is the state's
LIMITS['trm bench --train --only shipped']='--seconds 0.05'
LIMITS['trm bench --solver datasets/sudoku/forum_hardest_1106.txt']='--seconds 0.05'
LIMITS['build/trm solve arc examples/arc_6150a2bd.json --submission sub.json']='--adapt-steps 2'  # 100: ~1 min
LIMITS['build/trm eval sudoku --data hard.txt']='--limit 10'
LIMITS['build/trm train sudoku --mix easy:1,medium:1 --steps 12000 --time-limit 110 -o my.safetensors']='--steps 2 --batch 8 --eval-count 8'
LIMITS['trm eval sudoku --generate easy --count 1000 --halt verified --threads 1']='--count 20'
LIMITS['trm eval sudoku --data datasets/sudoku/top1465_17clue.txt --halt verified --threads 1']='--limit 3'
LIMITS['trm eval sudoku --data datasets/sudoku/forum_hardest_1106.txt --halt verified --threads 1']='--limit 1'
LIMITS['trm eval maze --generate --count 200 --size 9 --min-path 13 --halt verified --views 8 --threads 1']='--count 20'

# ---- reading the examples -------------------------------------------------------------------------------------
# help_pages: "" (trm itself) and every subcommand path, found in the SUBCOMMANDS lists of the help itself.
help_pages() {
    local path=$1
    echo "$path"
    # shellcheck disable=SC2086
    "$TRM" $path --help 2>/dev/null | awk 'tolower($0) ~ /^subcommands:/ { on = 1; next } on && /^  [a-z]/ { print $1; next } on && !/^ / { on = 0 }' |
        while read -r sub; do help_pages "${path:+$path }$sub"; done
}
# footer_examples: the `trm ...` lines of a help text ("Example: trm", "Examples:" then "  trm"), joined over
# trailing backslashes, without the description after three spaces.
footer_examples() {
    sed -E 's/^Examples?: *//' | awk '
        { s = $0; sub(/^ +/, "", s) }
        cont { line = line " " s }
        !cont { line = s }
        /\\$/ { sub(/ *\\$/, "", line); cont = 1; next }
        { cont = 0; if (line ~ /^trm /) { sub(/   .*/, "", line); print line } }' |
        sed -E 's/  +/ /g'
}
# readme_commands: inside ``` blocks (not ```json), the lines that run trm: `build/trm ...`, `$ build/trm ...`,
# `trm ...` and pipelines into build/trm; `# comments` cut.
readme_commands() {
    awk '/^```/ { if (fence) fence = plain = 0; else { fence = 1; plain = $0 == "```" }; next } fence && plain' README.md |
        sed -E 's/^\$ //; s/[[:space:]]+#[[:space:]].*$//' |
        grep -E '^(build/)?trm |\| build/trm ' || true
}

# apply_limits CMD LIMITS: each "--flag value" of LIMITS replaces the value of CMD's --flag, or is appended.
apply_limits() {
    local cmd=$1 f v
    local -a lim
    read -ra lim <<<"$2"
    for ((i = 0; i < ${#lim[@]}; i += 2)); do
        f=${lim[i]} v=${lim[i + 1]}
        if [[ " $cmd " == *" $f "* ]]; then cmd=$(sed -E "s/ $f [^ ]+/ $f $v/" <<<"$cmd"); else cmd+=" $f $v"; fi
    done
    echo "$cmd"
}

# mirror DIR: DIR looks like the source root of a fresh clone (no build outputs but build/trm).
mirror() {
    mkdir -p "$1/build"
    local e
    for e in "$SRC"/* "$SRC"/.[!.]*; do
        [[ -e $e ]] || continue
        case ${e##*/} in build | build-* | .git) continue ;; esac
        ln -s "$e" "$1/${e##*/}"
    done
    ln -s "$TRM" "$1/build/trm"
}

declare -A SEEN
n_run=0
run_example() {  # run_example PAGE_DIR CMD
    local dir=$1 doc=$2
    SEEN[$doc]=1
    if [[ -z ${EXPECT[$doc]+x} ]]; then
        fail "documented example not in tests/e2e_docs.sh's table (add it, with its exit code): $doc"
        return
    fi
    local cmd want=${EXPECT[$doc]} rc=0 t0 t1 log=$tmp/log.$((n_run += 1))
    cmd=$(apply_limits "$doc" "${LIMITS[$doc]:-}")
    [[ $cmd == trm\ * ]] && cmd="build/trm ${cmd#trm }"
    if [[ -n ${SETUP[$doc]:-} ]] && ! (cd "$dir" && eval "${SETUP[$doc]}") >"$log" 2>&1; then
        fail "setup of '$doc' failed: $(tail -3 "$log")"
        return
    fi
    t0=$(date +%s%N)
    (cd "$dir" && timeout 300 bash -c "$cmd" </dev/null >"$log" 2>&1) || rc=$?
    t1=$(( ($(date +%s%N) - t0) / 1000000 ))
    printf '%4d.%01ds  exit %d  %s\n' $((t1 / 1000)) $((t1 % 1000 / 100)) "$rc" "$cmd"
    if [[ $rc -ne $want ]]; then
        fail "'$cmd' exited $rc, the docs' example should exit $want; its output ends:"
        tail -5 "$log" | sed 's/^/    /' >&2
    else
        ok
    fi
}

# ---- help pages -----------------------------------------------------------------------------------------------
mapfile -t pages < <(help_pages "")
[[ ${#pages[@]} -ge 16 ]] && ok || fail "found only ${#pages[@]} help pages: ${pages[*]}"
for page in "${pages[@]}"; do
    # shellcheck disable=SC2086
    "$TRM" $page --help >"$tmp/help" 2>&1 || { fail "trm $page --help exited non-zero"; continue; }
    # exit 3 ("some answer did not verify") exists only where an answer decides the exit code: trm solve.
    # The command list (trm itself) names it as solve's.
    case $page in
        solve) grep -q '3 some answer did not verify' "$tmp/help" && ok || fail "trm solve --help lacks exit code 3" ;;
        "") ;;
        *) grep -q 'did not verify' "$tmp/help" && fail "trm $page --help lists exit 3, which it never returns" || ok ;;
    esac
    mapfile -t examples < <(footer_examples <"$tmp/help")
    [[ ${#examples[@]} -eq 0 ]] && continue
    dir=$tmp/page.${page// /_}
    mirror "$dir"
    echo "== trm $page --help"
    for ex in "${examples[@]}"; do run_example "$dir" "$ex"; done
done

# trm mcp --help shows a client configuration instead of a command line: the server it names answers.
# Allow-listed: /path/to/models stands for the user's models folder (models/ of this tree).
"$TRM" mcp --help >"$tmp/help"
python3 - "$tmp/help" "$TRM" <<'PY' && ok || fail "trm mcp --help's configuration does not start a working server"
import json, re, subprocess, sys
text = open(sys.argv[1]).read()
conf = json.loads(re.search(r'^\s*(\{"mcpServers".*\})\s*$', text, re.M).group(1))
server = conf["mcpServers"]["trm"]
assert server["command"] == "trm", server
args = [a.replace("/path/to/models", "models") for a in server["args"]]
req = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
       "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e2e_docs", "version": "1"}}}
out = subprocess.run([sys.argv[2]] + args, input=json.dumps(req) + "\n", capture_output=True, text=True, timeout=60)
assert out.returncode == 0, out
assert json.loads(out.stdout.splitlines()[0])["result"]["serverInfo"]["name"] == "trm", out.stdout
PY

# ---- README.md ------------------------------------------------------------------------------------------------
mapfile -t readme < <(readme_commands)
[[ ${#readme[@]} -ge 10 ]] && ok || fail "found only ${#readme[@]} trm commands in README.md"
mirror "$tmp/readme"
echo "== README.md"
for ex in "${readme[@]}"; do run_example "$tmp/readme" "$ex"; done

# ---- the table has no entry that no document shows -------------------------------------------------------------
for doc in "${!EXPECT[@]}"; do
    [[ -n ${SEEN[$doc]:-} ]] || fail "tests/e2e_docs.sh lists an example no help page or README block shows: $doc"
done

# ---- usage errors exit 2, as the footers say ------------------------------------------------------------------
"$TRM" eval sudoku >/dev/null 2>"$tmp/err"; rc=$?
[[ $rc -eq 2 ]] && grep -q -- '--data' "$tmp/err" && ok || fail "trm eval sudoku without data: exit $rc, $(cat "$tmp/err")"
"$TRM" eval maze >/dev/null 2>"$tmp/err"; rc=$?
[[ $rc -eq 2 ]] && ok || fail "trm eval maze without data: exit $rc, $(cat "$tmp/err")"

# nothing was written into the checkout
[[ $(git status --porcelain 2>/dev/null) == "$git_before" ]] && ok ||
    fail "the examples changed the checkout: $(diff <(echo "$git_before") <(git status --porcelain))"

if [[ $failures -gt 0 ]]; then
    echo "e2e_docs: $failures of $((checks + failures)) checks FAILED" >&2
    exit 1
fi
echo "e2e_docs: all $checks checks passed (${n_run} documented commands run)"
