#!/usr/bin/env bash
# End-to-end tests of `trm solve`, `trm eval` and `trm generate` through the real binary.
# Usage (from the source root, as ctest runs it): bash tests/e2e_cli.sh path/to/trm
# A tiny Sudoku model is trained on the spot (its answers are wrong, which exercises exit code 3); the maze and
# ARC paths use the official-format fixture checkpoints in tests/data/official-trm.
set -euo pipefail

TRM=$(realpath "${1:?usage: e2e_cli.sh path/to/trm}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
FIX=tests/data/official-trm
MAZE_MODEL=$FIX/maze_learned/step_100
ARC_MODEL=$FIX/arc_att/step_100
failures=0
checks=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { checks=$((checks + 1)); }
# expect_rc WANT NAME -- CMD...: runs CMD with stdout/stderr in $tmp/out and $tmp/err, checks the exit code;
# rc_ok=1 when it matched. Always returns 0 so that a failed check does not end the script under set -e.
expect_rc() {
    local want=$1 name=$2; shift 3
    local rc=0
    rc_ok=0
    "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    if [[ $rc -ne $want ]]; then
        fail "$name: exit $rc, expected $want (stderr: $(head -c 300 "$tmp/err"))"
    else
        rc_ok=1
        ok
    fi
}
# expect_error NAME -- CMD...: exit 1, nothing on stdout, stderr = one `error: FILE:LINE: ...` line (+ hint:).
expect_error() {
    local name=$1; shift 2
    expect_rc 1 "$name" -- "$@"
    [[ $rc_ok -eq 1 ]] || return 0
    [[ -s $tmp/out ]] && fail "$name: wrote to stdout on error"
    grep -v '^hint: ' "$tmp/err" >"$tmp/err_lines" || true
    [[ $(wc -l <"$tmp/err_lines") -eq 1 ]] || fail "$name: expected one error line, got: $(cat "$tmp/err")"
    grep -Eq '^error: [^ ]+:[0-9]+(:[0-9]+)?: ' "$tmp/err" || fail "$name: not 'error: FILE:LINE: ...': $(cat "$tmp/err")"
    ok
}
pyjson() { python3 -c "import json,sys
lines=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]
$1" "$tmp/out"; }

# ---- a tiny model ----------------------------------------------------------------------------------------------
M=$tmp/s.safetensors
"$TRM" train sudoku --hidden 16 --heads 2 --H-cycles 1 --L-cycles 1 --halt-max-steps 2 --steps 2 --batch 4 \
    --eval-count 4 --eval-every 0 -o "$M" >/dev/null 2>&1 || { echo "FAIL: could not train the tiny model" >&2; exit 1; }
SUD=examples/sudoku_easy.txt   # two puzzles
# the weights carry the data options they were trained with (provenance for model cards)
python3 - "$M" <<'PY' && ok || fail "trained weights lack their training_data metadata"
import json, struct, sys
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
hist = json.loads(json.loads(b[8:8 + n])['__metadata__']['training_data'])
assert hist[0]['from_step'] == 0 and hist[0]['options']['domain'] == 'sudoku' and hist[0]['options']['mix'] == 'easy', hist
PY
"$TRM" info "$M" | grep -q '^trained on from step 0: mix=easy$' && ok || fail "info does not show the training data"

# a rope2d maze network trained on 7x7 continues on 12x12 (--init-from), and says where it started
tiny2d=(--hidden 16 --heads 2 --H-cycles 1 --L-cycles 1 --halt-max-steps 2 --batch 4 --eval-count 4 --eval-every 0
        --mlp-t false --pos rope2d --rope-theta 16 --puzzle-emb-ndim 16)
"$TRM" train maze --grid 7 "${tiny2d[@]}" --steps 2 -o "$tmp/m7.safetensors" >/dev/null 2>&1 &&
    "$TRM" train maze --grid 12 "${tiny2d[@]}" --steps 2 --init-from "$tmp/m7.safetensors" -o "$tmp/m12.safetensors" >/dev/null 2>&1 &&
    "$TRM" info "$tmp/m12.safetensors" | grep -q "^started    from the weights of $tmp/m7.safetensors$" &&
    "$TRM" info "$tmp/m12.safetensors" | grep -q "pos_encodings rope2d (theta 16)," && ok || fail "train --init-from across grids"
# --steps 0 only moves the network onto the new grid: every tensor byte-identical
"$TRM" train maze --grid 12 "${tiny2d[@]}" --steps 0 --init-from "$tmp/m7.safetensors" -o "$tmp/m12z.safetensors" \
    --state "$tmp/m12z.state" >/dev/null 2>&1 && python3 - "$tmp/m7.safetensors" "$tmp/m12z.safetensors" <<'PY' && ok || fail "--steps 0 --init-from changed the weights"
import json, struct, sys
def tensors(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    h = json.loads(b[8:8 + n])
    return {k: b[8 + n + v['data_offsets'][0]:8 + n + v['data_offsets'][1]] for k, v in h.items() if k != '__metadata__'}
a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
assert a.keys() == b.keys() and all(a[k] == b[k] for k in a), 'tensors differ'
PY
# --keep-every keeps the weights along the way beside -o (m7k-step2, m7k-step4), each a model trm reads
"$TRM" train maze --grid 7 "${tiny2d[@]}" --steps 4 --keep-every 2 -o "$tmp/m7k.safetensors" >/dev/null 2>&1 &&
    "$TRM" info "$tmp/m7k-step2.safetensors" >/dev/null && "$TRM" info "$tmp/m7k-step4.safetensors" >/dev/null &&
    [[ ! -e $tmp/m7k-step1.safetensors && ! -e $tmp/m7k-step3.safetensors ]] &&
    ! cmp -s "$tmp/m7k-step2.safetensors" "$tmp/m7k-step4.safetensors" && ok || fail "train --keep-every"
# solve: the 7x7-canvas network takes 12x12 mazes on a 12x12 canvas, answering as the network moved there by hand
# (exit 3: an untrained network's paths do not verify)
"$TRM" generate maze --size 12 --count 3 --seed 5 -o "$tmp/m12-mazes.txt" >/dev/null 2>&1
"$TRM" solve maze "$tmp/m12-mazes.txt" -m "$tmp/m7.safetensors" -q --views 1 >"$tmp/grown.txt" 2>/dev/null || :
"$TRM" solve maze "$tmp/m12-mazes.txt" -m "$tmp/m12z.safetensors" -q --views 1 >"$tmp/moved.txt" 2>/dev/null || :
[[ -s $tmp/grown.txt ]] && cmp -s "$tmp/grown.txt" "$tmp/moved.txt" && ok || fail "rope2d model on a larger maze"
expect_rc 1 "init-from an mlp_t network on another grid" -- "$TRM" train maze --grid 12 --hidden 16 --heads 2 \
    --H-cycles 1 --L-cycles 1 --halt-max-steps 2 --steps 1 --batch 4 --eval-count 4 --mlp-t true \
    --puzzle-emb-ndim 16 --init-from "$tmp/m7.safetensors" -o "$tmp/m12b.safetensors"
grep -q "pos_encodings rope2d, this run has none" "$tmp/err" && ok || fail "init-from mismatch: $(cat "$tmp/err")"
[[ ! -e $tmp/m12b.safetensors ]] && ok || fail "a refused init-from wrote weights"

# ---- generate: determinism, formats, exit 0 --------------------------------------------------------------------
expect_rc 0 "generate sudoku" -- "$TRM" generate sudoku --count 150 --seed 11; cp "$tmp/out" "$tmp/gen1.txt"
expect_rc 0 "generate sudoku again" -- "$TRM" generate sudoku --count 150 --seed 11
cmp -s "$tmp/out" "$tmp/gen1.txt" && ok || fail "generate sudoku: same seed gave different output"
[[ $(wc -l <"$tmp/gen1.txt") -eq 150 ]] && ok || fail "generate sudoku: expected 150 lines"
grep -Evq '^[1-9.]{81}$' "$tmp/gen1.txt" && fail "generate sudoku: a line is not 81 cells" || ok
expect_rc 0 "generate sudoku seed 12" -- "$TRM" generate sudoku --count 150 --seed 12
cmp -s "$tmp/out" "$tmp/gen1.txt" && fail "generate sudoku: different seeds gave the same output" || ok
expect_rc 0 "generate sudoku csv" -- "$TRM" generate sudoku --count 3 --seed 1 --difficulty medium --format csv
[[ $(head -1 "$tmp/out") == "source,question,answer,rating" && $(wc -l <"$tmp/out") -eq 4 ]] && ok || fail "generate csv"
expect_rc 0 "generate sudoku grid" -- "$TRM" generate sudoku --count 2 --seed 1 --format grid
[[ $(grep -c '|' "$tmp/out") -eq 18 ]] && ok || fail "generate grid: expected 18 grid rows"
expect_rc 0 "generate maze" -- "$TRM" generate maze --count 3 --size 10 --seed 4; cp "$tmp/out" "$tmp/maze1.txt"
expect_rc 0 "generate maze again" -- "$TRM" generate maze --count 3 --size 10 --seed 4
cmp -s "$tmp/out" "$tmp/maze1.txt" && ok || fail "generate maze: same seed gave different output"
expect_rc 0 "generate maze csv" -- "$TRM" generate maze --count 2 --size 30 --min-path 110 --seed 4 --format csv
[[ $(wc -l <"$tmp/out") -eq 3 ]] && ok || fail "generate maze csv: expected header + 2 lines"

# ---- solve Sudoku: stdin and file, quiet, exit 3 ---------------------------------------------------------------
expect_rc 3 "solve file --quiet" -- "$TRM" solve sudoku "$SUD" -m "$M" --quiet; cp "$tmp/out" "$tmp/q_file"
expect_rc 3 "solve stdin --quiet" -- bash -c "'$TRM' solve sudoku -m '$M' --quiet < '$SUD'"
cmp -s "$tmp/out" "$tmp/q_file" && ok || fail "stdin and file input gave different answers"
expect_rc 3 "solve '-' --quiet" -- bash -c "'$TRM' solve sudoku - -m '$M' --quiet < '$SUD'"
cmp -s "$tmp/out" "$tmp/q_file" && ok || fail "'-' and file input gave different answers"
[[ $(wc -l <"$tmp/q_file") -eq 2 ]] && ok || fail "--quiet: expected one line per puzzle"
grep -Evq '^[1-9.]{81}$' "$tmp/q_file" && fail "--quiet: an answer is not an 81-char line" || ok

# many puzzles: batches of 64, input order kept, bounded streaming
expect_rc 3 "solve 150 --quiet" -- "$TRM" solve sudoku "$tmp/gen1.txt" -m "$M" --quiet
[[ $(wc -l <"$tmp/out") -eq 150 ]] && ok || fail "150 puzzles: expected 150 answers"
expect_rc 3 "solve 150 json" -- "$TRM" solve sudoku "$tmp/gen1.txt" -m "$M" --format json --batch 64
pyjson "r=[l for l in lines if l['type']=='result']
assert [l['index'] for l in r]==list(range(150)), 'order'
assert not any(l['type']=='step' for l in lines), 'auto trace must be off for many puzzles'" && ok || fail "150 puzzles json: order or trace"

# auto-detection
expect_rc 3 "detect sudoku" -- "$TRM" solve "$SUD" -m "$M"
grep -qx 'detected: sudoku' "$tmp/err" && ok || fail "detection: no 'detected: sudoku' on stderr"
expect_rc 3 "detect sudoku stdin" -- bash -c "'$TRM' solve -m '$M' --quiet < '$SUD'"
grep -qx 'detected: sudoku' "$tmp/err" && ok || fail "detection on stdin"

# JSON lines: a single puzzle gets its steps
head -2 "$SUD" >"$tmp/one.txt"
expect_rc 3 "solve json single" -- "$TRM" solve sudoku "$tmp/one.txt" -m "$M" --format json
pyjson "s=[l for l in lines if l['type']=='step']; r=[l for l in lines if l['type']=='result']
assert len(r)==1 and len(s)==r[0]['total_steps']>=r[0]['steps']>=1, (len(s), r)
for l in s: assert {'index','view','step','draft','halt_prob','changed','check'}<=set(l) and len(l['draft'])==81
x=r[0]; assert x['domain']=='sudoku' and len(x['answer'])==81 and x['verified'] is False
assert {'index','answer','verified','steps','halt_prob','seconds','views_used','view'}<=set(x)
# the toy model verifies nothing: every view of the default budget ran, in order, each named
assert x['views_used']==x['views_budget']==len(x['views'])==64 and x['view']==1, x
assert [l['view'] for l in s]==sorted(l['view'] for l in s) and s[-1]['view']==64
assert x['views'][0]['name']=='as given' and x['total_steps']==sum(v['steps'] for v in x['views'])
assert 0<=x['halt_prob']<=1" && ok || fail "solve --format json: bad objects"
expect_rc 3 "solve json cycles" -- "$TRM" solve sudoku "$tmp/one.txt" -m "$M" --format json --trace cycles --halt never
pyjson "s=[l for l in lines if l['type']=='step']; r=lines[-1]
assert r['steps']==2 and len(s)>=2, (r['steps'], len(s))" && ok || fail "--trace cycles --halt never"
expect_rc 3 "solve max-steps 1" -- "$TRM" solve sudoku "$tmp/one.txt" -m "$M" --format json --halt never --max-steps 1
pyjson "assert lines[-1]['steps']==1" && ok || fail "--max-steps 1"
expect_rc 3 "solve halt verified" -- "$TRM" solve sudoku "$tmp/one.txt" -m "$M" --format json --halt verified
# a draft that does not verify refines to 16 steps (kVerifiedMinSteps), past the model's 2
pyjson "assert lines[-1]['steps']==16 and lines[-1]['verified'] is False" && ok || fail "--halt verified"

# views: the budget is respected, --views 1 is a plain solve, the text trace names the next view and why
expect_rc 3 "solve views 3" -- "$TRM" solve sudoku "$tmp/one.txt" -m "$M" --format json --views 3
pyjson "r=lines[-1]; s=[l for l in lines if l['type']=='step']
assert r['views_used']==3 and len(r['views'])==3 and {l['view'] for l in s}=={1,2,3}, r" && ok || fail "--views 3"
expect_rc 3 "solve views 1" -- "$TRM" solve sudoku "$tmp/one.txt" -m "$M" --format json --views 1
pyjson "r=lines[-1]; assert r['views_used']==1 and r['total_steps']==r['steps'], r" && ok || fail "--views 1"
expect_rc 3 "solve views trace" -- "$TRM" solve sudoku "$tmp/one.txt" -m "$M" --trace steps --views 2
grep -Eq '^critique: .* -> view 2/2: ' "$tmp/out" && ok || fail "text trace lacks the critique line before view 2"
expect_rc 2 "solve views 0" -- "$TRM" solve sudoku "$tmp/one.txt" -m "$M" --views 0
expect_rc 2 "eval views 0" -- "$TRM" eval sudoku --generate easy --count 2 -m "$M" --views 0
expect_rc 0 "eval views json" -- "$TRM" eval sudoku --generate easy --count 3 -m "$M" --views 4 --format json
pyjson "x=lines[0]; assert x['views']==4 and len(x['accuracy_by_views'])==4 and x['mean_views_used']<=4
assert x['accuracy_by_views']==sorted(x['accuracy_by_views']) and x['accuracy_by_views'][-1]==x['exact_accuracy'], x
assert x['steps_all_views']>=x['steps_first_view']" && ok || fail "eval --views json"

# colour: never ESC when piped or with NO_COLOR; ESC with --color always
expect_rc 3 "solve piped" -- "$TRM" solve sudoku "$tmp/one.txt" -m "$M" --trace steps
grep -q $'\x1b' "$tmp/out" && fail "piped output has ESC bytes" || ok
grep -q 'DRAFT' "$tmp/out" && grep -q 'CRITIQUE' "$tmp/out" && grep -q 'REFINE' "$tmp/out" && ok || fail "trace lacks DRAFT/CRITIQUE/REFINE"
expect_rc 3 "solve color always" -- "$TRM" solve sudoku "$tmp/one.txt" -m "$M" --color always
grep -q $'\x1b\[' "$tmp/out" && ok || fail "--color always: no ESC"
expect_rc 3 "solve NO_COLOR" -- env NO_COLOR=1 "$TRM" solve sudoku "$tmp/one.txt" -m "$M" --color auto
grep -q $'\x1b' "$tmp/out" && fail "NO_COLOR output has ESC bytes" || ok

# --html: self-contained page
expect_rc 3 "solve html" -- "$TRM" solve sudoku "$SUD" -m "$M" --html "$tmp/t.html" --quiet
[[ -s $tmp/t.html ]] && grep -q 'application/json' "$tmp/t.html" && ! grep -Eq '(src|href)="?https?:' "$tmp/t.html" \
    && ok || fail "--html: missing or not self-contained"

# ---- usage errors: exit 2 --------------------------------------------------------------------------------------
expect_rc 2 "unknown option" -- "$TRM" solve --no-such-flag
expect_rc 2 "bad --halt" -- "$TRM" solve sudoku "$SUD" --halt sometimes
expect_rc 2 "bad --trace" -- "$TRM" solve sudoku "$SUD" --trace loud
expect_rc 2 "unknown domain" -- "$TRM" solve chess "$SUD"
expect_rc 2 "too many args" -- "$TRM" solve sudoku "$SUD" extra
expect_rc 2 "generate bad difficulty" -- "$TRM" generate sudoku --difficulty impossible
expect_rc 2 "eval no domain" -- "$TRM" eval

# ---- errors: exit 1, one line naming file and line -------------------------------------------------------------
# expect_skipped NAME -- CMD...: a file with a bad puzzle among good ones: exit 1, the good ones answered on stdout,
# one `error: FILE:LINE: ... (skipped, ...)` line for the bad one on stderr
expect_skipped() {
    local name=$1; shift 2
    expect_rc 1 "$name" -- "$@"
    [[ $rc_ok -eq 1 ]] || return 0
    [[ -s $tmp/out ]] && ok || fail "$name: the other puzzles were not answered"
    [[ $(grep -c '^error: ' "$tmp/err") -eq 1 ]] || fail "$name: expected one error line, got: $(cat "$tmp/err")"
    grep -Eq '^error: [^ ]+:[0-9]+(:[0-9]+)?: .*\(skipped, (puzzle|maze) [0-9]+\)$' "$tmp/err" && ok ||
        fail "$name: not 'error: FILE:LINE: ... (skipped, puzzle N)': $(cat "$tmp/err")"
}
expect_skipped "sudoku 80 cells" -- "$TRM" solve sudoku tests/data/sudoku/bad/count_80.txt -m "$M"
grep -q 'count_80.txt:3: expected 81 cells, found 80' "$tmp/err" && ok || fail "sudoku error text: $(cat "$tmp/err")"
expect_skipped "sudoku bad char" -- "$TRM" solve sudoku tests/data/sudoku/bad/bad_char.txt -m "$M"
expect_skipped "sudoku bad stdin" -- bash -c "'$TRM' solve sudoku -m '$M' < tests/data/sudoku/bad/count_80.txt"
grep -q '^error: stdin:3: ' "$tmp/err" && ok || fail "stdin errors name stdin: $(cat "$tmp/err")"
# the JSON form: an error object in place of the refused puzzle, results for the others
expect_rc 1 "sudoku mixed json" -- "$TRM" solve sudoku tests/data/sudoku/bad/bad_char.txt -m "$M" --format json
pyjson "assert [(l['type'], l.get('index')) for l in lines if l['type'] != 'step'] == [('result', 0), ('error', 1)], lines
e = [l for l in lines if l['type'] == 'error'][0]
assert e['where'].endswith('bad_char.txt:2') and 'unexpected character' in e['message'], e" && ok || fail "mixed json: $(cat "$tmp/out")"
# a clash on line 2 of 3 (the issue's example): puzzles 1 and 3 answered, in order
printf '%s\n' 53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79 \
    55..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79 \
    53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79 > "$tmp/clash2.txt"
expect_skipped "sudoku clash on line 2" -- "$TRM" solve sudoku "$tmp/clash2.txt" -m "$M" -q
[[ $(wc -l < "$tmp/out") -eq 2 ]] && ok || fail "clash on line 2: expected 2 answers, got $(cat "$tmp/out")"

# ---- before solving, the exact checks: no solution, several solutions, no path (then solved, clearly labelled) --
python3 -c "g=list('.'*81); g[0:8]=list('12345678'); g[44]='9'; print(''.join(g))" > "$tmp/nosol.txt"
expect_rc 3 "no-solution sudoku" -- "$TRM" solve sudoku "$tmp/nosol.txt" -m "$M" --color never
grep -q "note: puzzle 1 .*has no solution" "$tmp/err" && ok || fail "no-solution diagnosis: $(cat "$tmp/err")"
grep -q "NO unsolved" "$tmp/out" && ok || fail "no-solution: the model's answer is not shown as unsolved"
python3 -c "print('123456789' + '.' * 72)" > "$tmp/several.txt"
expect_rc 3 "several-solution sudoku" -- "$TRM" solve sudoku "$tmp/several.txt" -m "$M" --format json
pyjson "r = [l for l in lines if l['type'] == 'result'][0]; assert r['diagnosis'] == 'has several solutions', r" && ok ||
    fail "several-solutions diagnosis in JSON: $(tail -1 "$tmp/out")"
printf '#######\n#S#...#\n###.#.#\n#...#G#\n#######\n' > "$tmp/nopath.txt"
expect_rc 3 "maze without a path" -- "$TRM" solve maze "$tmp/nopath.txt"
grep -q "has no path from S to G" "$tmp/err" && ok || fail "no-path diagnosis: $(cat "$tmp/err")"
# a changed given is the first fault named
grep -q "changed given" tests/data/sudoku/verify.txt && ok || fail "verify golden lost its changed-given line"

# ---- --quiet answers in the input's own format, and they read back ---------------------------------------------
expect_rc 0 "quiet grid" -- "$TRM" solve sudoku examples/sudoku_grid.txt -q
[[ $(grep -c '^[1-9]\{9\}$' "$tmp/out") -eq $(( $(grep -c . "$tmp/out") )) ]] && ok || fail "quiet grid: not 9-digit rows: $(cat "$tmp/out")"
cp "$tmp/out" "$tmp/grid_answers.txt"
expect_rc 0 "quiet grid reads back" -- "$TRM" solve sudoku "$tmp/grid_answers.txt" -q
cmp -s "$tmp/out" "$tmp/grid_answers.txt" && ok || fail "quiet grid: answers do not read back as themselves"
expect_rc 3 "quiet csv" -- "$TRM" solve sudoku examples/sudoku_extreme.csv -q --views 1 -m "$M"
head -1 "$tmp/out" | grep -qx 'question,answer' && ok || fail "quiet csv: no header: $(head -2 "$tmp/out")"
grep -q '^unverified: puzzle [0-9]' "$tmp/err" && ok || fail "quiet: unverified answers not named on stderr: $(cat "$tmp/err")"
{ echo source,question; grep -v "^#" examples/sudoku_easy.txt | sed "s/^/easy,/"; } > "$tmp/easy.csv"
expect_rc 0 "quiet csv, verified answers" -- "$TRM" solve sudoku "$tmp/easy.csv" -q
cp "$tmp/out" "$tmp/csv_answers.csv"
expect_rc 0 "quiet csv reads back (its answer column checked)" -- "$TRM" solve sudoku "$tmp/csv_answers.csv" -q
cmp -s "$tmp/out" "$tmp/csv_answers.csv" && ok || fail "quiet csv: answers do not read back as themselves"
expect_rc 0 "quiet line" -- "$TRM" solve sudoku examples/sudoku_easy.txt -q
[[ $(grep -c '^[1-9]\{81\}$' "$tmp/out") -eq 2 ]] && ok || fail "quiet line: $(cat "$tmp/out")"
printf '#####\n#S.G#\n#####\n' > "$tmp/dots.txt"
expect_rc 0 "quiet maze keeps dots" -- "$TRM" solve maze "$tmp/dots.txt" -q
grep -qx '#SoG#' "$tmp/out" && ok || fail "quiet maze: $(cat "$tmp/out")"
printf '#######\n#S....#\n#####G#\n#######\n' > "$tmp/dots2.txt"
expect_rc 0 "quiet maze open cells" -- "$TRM" solve maze "$tmp/dots2.txt" -q --views 1
grep -q ' ' "$tmp/out" && fail "quiet maze: open cells came back as spaces: $(cat "$tmp/out")" || ok

# ---- progress: on a terminal only -----------------------------------------------------------------------------
expect_rc 0 "eval with stderr to a file" -- "$TRM" eval sudoku --generate easy --count 300 --threads 1
grep -q 'ETA' "$tmp/err" && fail "progress written to a file: $(head -c 200 "$tmp/err")" || ok
LC_ALL=C grep -q $'\r' "$tmp/err" && fail "carriage returns in a non-terminal stderr" || ok
if command -v script >/dev/null; then  # util-linux: a pseudo-terminal, as a user at a terminal sees it
    script -qec "'$TRM' eval sudoku --generate easy --count 600 --threads 1 >/dev/null" /dev/null > "$tmp/tty.txt" 2>&1 || true
    grep -q 'evaluating .*puzzles/s' "$tmp/tty.txt" && ok || fail "no progress on a terminal: $(head -c 300 "$tmp/tty.txt")"
fi

# ---- the terminal trace fits 80 columns ------------------------------------------------------------------------
expect_rc 3 "trace at 80 columns" -- env COLUMNS=80 "$TRM" solve sudoku "$tmp/nosol.txt" -m "$M" --trace steps --color never
awk 'length($0) > 80 { bad = 1 } END { exit bad }' "$tmp/out" && ok || fail "trace wider than 80 columns: $(awk 'length($0) > 80' "$tmp/out" | head -3)"
grep -q "threshold ->" "$tmp/out" && ok || fail "the trace does not show the halting threshold"
expect_rc 3 "ASCII under TERM=dumb" -- env TERM=dumb "$TRM" solve sudoku "$tmp/nosol.txt" -m "$M" --trace steps
LC_ALL=C grep -q '[^ -~]' "$tmp/out" && fail "non-ASCII under TERM=dumb: $(LC_ALL=C grep '[^ -~]' "$tmp/out" | head -2)" || ok

# ---- --html and --submission never replace a file without --force, and fail before solving ---------------------
echo keep > "$tmp/page.html"
expect_rc 1 "html refuses an existing file" -- "$TRM" solve sudoku examples/sudoku_easy.txt --html "$tmp/page.html"
[[ $(cat "$tmp/page.html") == keep && ! -s $tmp/out ]] && ok || fail "html: the page was replaced, or solving ran first"
expect_rc 0 "html --force" -- "$TRM" solve sudoku examples/sudoku_easy.txt --html "$tmp/page.html" --force
grep -q "<html" "$tmp/page.html" && ok || fail "html --force: no page written"
expect_rc 1 "html into a missing folder" -- "$TRM" solve sudoku examples/sudoku_easy.txt --html "$tmp/no/such/page.html"
expect_error "maze unknown char" -- "$TRM" solve maze tests/data/maze/bad/unknown_char.txt
expect_error "maze ragged" -- "$TRM" solve maze tests/data/maze/bad/ragged.txt
expect_error "arc bad json" -- "$TRM" solve arc tests/data/arc/bad_syntax.json
expect_rc 1 "arc views" -- "$TRM" solve arc tests/data/arc/tasks_small.json --views 4
grep -q 'views is for Sudoku and mazes' "$tmp/err" && ok || fail "arc --views message: $(cat "$tmp/err")"
expect_rc 1 "missing file" -- "$TRM" solve sudoku "$tmp/nope.txt" -m "$M"
grep -q '^error: .*nope.txt' "$tmp/err" && ok || fail "missing file message"
expect_rc 1 "wrong-domain model" -- "$TRM" solve maze examples/maze_small.txt -m "$M"
grep -q 'not a maze model' "$tmp/err" && grep -q '^hint: ' "$tmp/err" && ok || fail "wrong-domain model message"
expect_rc 1 "missing model" -- "$TRM" solve sudoku "$SUD" -m "$tmp/none.safetensors"
if [[ ! -e models/arc.safetensors && ! -e $(dirname "$TRM")/models/arc.safetensors ]]; then
    expect_rc 1 "no default model" -- "$TRM" solve arc examples/arc_6150a2bd.json
    grep -q '^hint: train one with' "$tmp/err" && ok || fail "no default model: hint missing: $(cat "$tmp/err")"
fi

# ---- eval: exit 0, metrics -------------------------------------------------------------------------------------
expect_rc 0 "eval sudoku generate" -- "$TRM" eval sudoku -m "$M" --generate easy --count 20 --seed 3 --format json
pyjson "x=lines[0]; assert x['n']==20 and 0<=x['exact_ci95'][0]<=x['exact_ci95'][1]<=1 and 'halt_accuracy' in x" \
    && ok || fail "eval sudoku json"
expect_rc 0 "eval sudoku data" -- "$TRM" eval sudoku -m "$M" --data "$SUD"
grep -q 'exact accuracy' "$tmp/out" && grep -q '95% CI' "$tmp/out" && ok || fail "eval sudoku text"
expect_rc 0 "eval sudoku limit" -- "$TRM" eval sudoku -m "$M" --data "$tmp/gen1.txt" --limit 10 --format json
pyjson "assert lines[0]['n']==10" && ok || fail "eval --limit"

# ---- halting threshold: --halt-threshold overrides the model's; a calibrated model carries its own ------------------
expect_rc 0 "eval threshold low" -- "$TRM" eval sudoku -m "$M" --generate easy --count 8 --halt-threshold -50 --format json
pyjson "x=lines[0]; assert x['mean_steps']==1 and x['halt_threshold']==-50, x" && ok || fail "--halt-threshold -50 stops at step 1"
expect_rc 0 "eval threshold high" -- "$TRM" eval sudoku -m "$M" --generate easy --count 8 --halt-threshold 50 --format json
pyjson "x=lines[0]; assert x['mean_steps']==x['max_steps']==2 and x['halt_threshold']==50, x" && ok || fail "--halt-threshold 50 runs every step"
expect_rc 2 "threshold out of range is a usage error" -- "$TRM" eval sudoku -m "$M" --generate easy --count 1 --halt-threshold 1e9
"$TRM" generate sudoku --count 6 --seed 11 --format csv -o "$tmp/val.csv" >/dev/null 2>&1
expect_rc 0 "calibrate" -- python3 scripts/calibrate-halt.py sudoku "$M" "$tmp/val.csv" --trm "$TRM" --max-steps 2 \
    --write "$tmp/cal.safetensors"
grep -q '^chosen: q_halt > ' "$tmp/out" && [[ -f $tmp/cal.safetensors ]] && ok || fail "calibrate: $(cat "$tmp/out")"
python3 - "$tmp/cal.safetensors" "$tmp/cal2.safetensors" <<'PY' && ok || fail "calibrate: write_with_threshold"
import importlib.util, sys
spec = importlib.util.spec_from_file_location("cal", "scripts/calibrate-halt.py")
cal = importlib.util.module_from_spec(spec); spec.loader.exec_module(cal)
cal.write_with_threshold(sys.argv[1], sys.argv[2], -50.0)
PY
expect_rc 0 "info calibrated" -- "$TRM" info "$tmp/cal2.safetensors"
grep -q '^halting    q_halt > -50' "$tmp/out" && ok || fail "info does not show the calibrated threshold: $(cat "$tmp/out")"
expect_rc 0 "eval calibrated" -- "$TRM" eval sudoku -m "$tmp/cal2.safetensors" --generate easy --count 8 --format json
pyjson "x=lines[0]; assert x['mean_steps']==1 and x['halt_threshold']==-50, x" && ok || fail "the model's own threshold is used"

# ---- the shipped maze models: the 9x9 one for what it takes, the any-size one for the rest --------------------
if [[ -f models/maze.safetensors && -f models/maze-small.safetensors ]]; then
    expect_rc 0 "default maze model, small mazes" -- "$TRM" solve maze examples/maze_small.txt --views 1 --format json
    pyjson "r=[l for l in lines if l['type']=='result']; assert len(r)==4
assert all(x['model'].endswith('models/maze-small.safetensors') for x in r), r" && ok || fail "small mazes: maze-small"
    # 12x12: larger than the 9x9 model takes, and quick under the sanitizers (a 30x30 maze takes ~20 s there)
    "$TRM" generate maze --count 1 --size 12 --seed 11 >"$tmp/maze12.txt"
    rc=0; "$TRM" solve maze "$tmp/maze12.txt" --views 1 --format json >"$tmp/out" 2>"$tmp/err" || rc=$?
    [[ $rc -eq 0 || $rc -eq 3 ]] && pyjson "r=[l for l in lines if l['type']=='result']; assert len(r)==1
x=r[0]; assert x['model'].endswith('models/maze.safetensors') and len(x['answer'])==12, x" \
        && ok || fail "12x12 maze: models/maze.safetensors (exit $rc, $(head -c 300 "$tmp/err"))"
    # a larger maze after a batch of small ones moves the rest of the input to the any-size model, saying so
    { cat examples/maze_small.txt; echo; cat "$tmp/maze12.txt"; } >"$tmp/mixed.txt"
    rc=0; "$TRM" solve maze "$tmp/mixed.txt" --views 1 --batch 2 --format json >"$tmp/out" 2>"$tmp/err" || rc=$?
    [[ $rc -eq 0 || $rc -eq 3 ]] && grep -q '^model: .*models/maze.safetensors from maze 5 on' "$tmp/err" &&
        pyjson "r=[l for l in lines if l['type']=='result']; assert [x['model'].split('/')[-1] for x in r]==4*['maze-small.safetensors']+['maze.safetensors'], r" \
        && ok || fail "mixed sizes: model switch (exit $rc, $(head -c 300 "$tmp/err"))"
    # eval picks by the first batch: a larger maze later stops it, with a hint naming the any-size model
    expect_rc 1 "eval mixed sizes" -- "$TRM" eval maze --data "$tmp/mixed.txt" --views 1 --batch 2
    grep -q "mixed.txt:.*: maze is 12x12, larger than the model's 9x9 grid" "$tmp/err" &&
        grep -q '^hint: without --model, .*pass --model .*models/maze.safetensors' "$tmp/err" && ok ||
        fail "eval mixed sizes: error and hint: $(cat "$tmp/err")"
    expect_rc 0 "default maze model, eval" -- "$TRM" eval maze --generate --count 2 --size 12 --views 1 --format json
    pyjson "x=lines[0]; assert x['n']==2 and x['model'].endswith('models/maze.safetensors'), x" && ok || fail "eval picks maze"
fi

# ---- maze and ARC with the fixture checkpoints -----------------------------------------------------------------
if [[ -f $MAZE_MODEL ]]; then
    "$TRM" generate maze --count 1 --size 10 --seed 4 >"$tmp/maze_one.txt"
    expect_rc 3 "solve maze detect" -- "$TRM" solve "$tmp/maze_one.txt" -m "$MAZE_MODEL" --quiet
    grep -qx 'detected: maze' "$tmp/err" && ok || fail "maze detection"
    [[ $(wc -l <"$tmp/out") -eq 11 && -z $(tail -1 "$tmp/out") ]] && ok || fail "maze --quiet: 10 rows + blank line"
    expect_rc 3 "solve maze json" -- "$TRM" solve maze "$tmp/maze1.txt" -m "$MAZE_MODEL" --format json
    pyjson "r=[l for l in lines if l['type']=='result']; assert len(r)==3
for x in r: assert len(x['answer'])==10 and all(len(row)==10 for row in x['answer']) and x['verified'] is False
for x in r: assert x['views_used']==8 and sorted(v['name'] for v in x['views'])==sorted(['as given','rotate left',
    'rotate 180','rotate right','mirror left-right','mirror up-down','transpose','anti-transpose']), x['views']" \
        && ok || fail "maze json"
    expect_rc 0 "eval maze" -- "$TRM" eval maze -m "$MAZE_MODEL" --generate --count 5 --size 10 --format json
    pyjson "x=lines[0]; assert x['n']==5 and 'optimal_ci95' in x and 'valid_rate' in x" && ok || fail "eval maze json"
    # calibration on mazes takes trm's own check as "right": with random weights nothing is right, so every row is 0%
    "$TRM" generate maze --count 3 --size 10 --seed 9001 >"$tmp/maze_val.txt"
    expect_rc 0 "calibrate maze" -- python3 scripts/calibrate-halt.py maze "$MAZE_MODEL" "$tmp/maze_val.txt" --trm "$TRM" \
        --max-steps 2
    grep -q '^3 validation maze puzzles; all 2 steps: 0.00% right' "$tmp/out" && grep -q '^chosen: q_halt > 0 ' "$tmp/out" \
        && ok || fail "calibrate maze: $(cat "$tmp/out")"
else
    echo "note: $MAZE_MODEL not found; maze solve checks skipped" >&2
fi
if [[ -f $ARC_MODEL ]]; then
    expect_rc 3 "solve arc" -- "$TRM" solve arc tests/data/arc/tasks_small.json -m "$ARC_MODEL" --num-aug 1 --adapt-steps 2 \
        --solutions tests/data/arc/solutions_small.json --format json --submission "$tmp/sub.json"
    pyjson "r=[l for l in lines if l['type']=='result']; assert len(r)==3
for x in r: assert x['domain']=='arc' and 1<=len(x['answer'])<=2 and isinstance(x['answer'][0][0][0], int) and 'expected' in x" \
        && ok || fail "arc json"
    python3 -c "import json; d=json.load(open('$tmp/sub.json')); assert set(d)=={'aaaa0001','bbbb0002'} and len(d['bbbb0002'])==2" \
        && ok || fail "arc submission"
    expect_rc 3 "solve arc quiet" -- "$TRM" solve arc tests/data/arc/tasks_small.json -m "$ARC_MODEL" --num-aug 0 --adapt-steps 0 --quiet
    pyjson "assert len(lines)==3 and all('attempt_1' in l and 'attempt_2' in l for l in lines)" && ok || fail "arc --quiet"
    expect_rc 0 "eval arc" -- "$TRM" eval arc -m "$ARC_MODEL" --adapt-steps 2 --challenges tests/data/arc/tasks_small.json \
        --solutions tests/data/arc/solutions_small.json --num-aug 0 --format json
    pyjson "x=lines[0]; assert x['tasks']==2 and 0<=x['pass_at_2']<=1 and len(x['per_task'])==2" && ok || fail "eval arc"
else
    echo "note: $ARC_MODEL not found; ARC solve checks skipped" >&2
fi

# ---- ARC on a small canvas: held-out evaluation in training, tasks larger than the canvas in eval --------------
# a 2x2 canvas keeps aaaa0001 of tasks_small.json (2x2 grids) and skips bbbb0002 (1x3)
cat >"$tmp/arc_eval.json" <<'JSON'
{"eeee0005": {"train": [{"input": [[1, 0]], "output": [[0, 1]]}, {"input": [[2, 0]], "output": [[0, 2]]}],
              "test": [{"input": [[3, 0]]}]}}
JSON
echo '{"eeee0005": [[[0, 3]]]}' >"$tmp/arc_eval_solutions.json"
arc_tiny=(--data tests/data/arc/tasks_small.json --arc-eval "$tmp/arc_eval.json" --grid 2 --num-aug 2
          --puzzle-emb-ndim 16 --hidden 16 --heads 2 --H-cycles 1 --L-cycles 1 --halt-max-steps 2 --steps 2 --batch 4
          --eval-every 1 --eval-count 8 --threads 1)
expect_rc 0 "train arc without eval solutions" -- "$TRM" train arc "${arc_tiny[@]}" -o "$tmp/arc2a.safetensors" \
    --log "$tmp/arc2a.jsonl"
cp "$tmp/out" "$tmp/arc2a.log"
cp "$tmp/arc2a.jsonl" "$tmp/out"
pyjson "assert not any('eval' in x for x in lines)" && ! grep -q 'eval exact' "$tmp/arc2a.log" && ok ||
    fail "ARC training without solutions must skip the held-out evaluation (all labels are pad)"
expect_rc 0 "train arc with eval solutions" -- "$TRM" train arc "${arc_tiny[@]}" -o "$tmp/arc2b.safetensors" \
    --log "$tmp/arc2b.jsonl" --arc-eval-solutions "$tmp/arc_eval_solutions.json"
cp "$tmp/arc2b.jsonl" "$tmp/out"
pyjson "e=[x['eval'] for x in lines if 'eval' in x]; assert e and all(v['n']==3 for v in e), e" && ok ||
    fail "ARC held-out evaluation: one test pair x 3 copies expected"
expect_rc 0 "eval arc small canvas" -- "$TRM" eval arc -m "$tmp/arc2b.safetensors" --adapt-steps 0 --num-aug 0 \
    --challenges tests/data/arc/tasks_small.json --solutions tests/data/arc/solutions_small.json --format json
pyjson "x=lines[0]; assert x['canvas']==2 and x['tasks']==1 and x['tasks_larger_than_canvas']==1 \
    and [t['task'] for t in x['per_task']]==['aaaa0001'], x" && ok || fail "eval arc: tasks larger than the canvas"
# --export-data writes what that training drew from: the same identifiers as the trained model, the test pair x 3
expect_rc 0 "export arc data" -- "$TRM" train arc "${arc_tiny[@]}" --arc-eval-solutions "$tmp/arc_eval_solutions.json" \
    --export-data "$tmp/arc_data.safetensors"
python3 - "$tmp/arc_data.safetensors" "$tmp/arc2b.safetensors" <<'PY' && ok || fail "export arc data: contents"
import json, struct, sys
def header(p):
    b = open(p, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; return json.loads(b[8:8 + n])
d, m = header(sys.argv[1]), header(sys.argv[2])
cd, cm = (json.loads(h['__metadata__']['trm_config']) for h in (d, m))
assert cd['identifiers'] == cm['identifiers'] and len(cd['identifiers']) > 1, (cd['identifiers'], cm['identifiers'])
n = d['train.inputs']['shape'][0]
assert n > 0 and d['train.inputs']['shape'] == d['train.labels']['shape'] == [n, 4], d
assert d['train.puzzle_identifiers']['shape'] == [n] and d['test.inputs']['shape'] == [3, 4], d
PY
expect_rc 1 "export is ARC only" -- "$TRM" train sudoku --export-data "$tmp/x.safetensors"

# ---- outputs are never destroyed: a new run refuses an existing weights file unless --force --------------------
tiny_train=(--hidden 16 --heads 2 --H-cycles 1 --L-cycles 1 --halt-max-steps 2 --steps 1 --batch 4 --eval-count 2 --eval-every 0)
echo "precious" > "$tmp/kept.safetensors"
expect_rc 1 "train refuses an existing -o" -- "$TRM" train sudoku "${tiny_train[@]}" -o "$tmp/kept.safetensors"
grep -q "already exists" "$tmp/err" || fail "train -o existing: no 'already exists' in: $(cat "$tmp/err")"
[[ $(cat "$tmp/kept.safetensors") == precious ]] && ok || fail "train -o existing: the file was changed"
[[ -e $tmp/kept.safetensors.state ]] && fail "train -o existing: a state file was written" || ok
expect_rc 1 "train into a missing folder fails before training" -- "$TRM" train sudoku "${tiny_train[@]}" -o "$tmp/nope/m.safetensors"
grep -q "does not exist" "$tmp/err" || fail "train into a missing folder: $(cat "$tmp/err")"
expect_rc 0 "train --force replaces it" -- "$TRM" train sudoku "${tiny_train[@]}" -o "$tmp/kept.safetensors" --force
[[ $(head -c 8 "$tmp/kept.safetensors") != precious ]] && ok || fail "train --force: the file was not replaced"
# usage: bare trm lists the commands, a typo gets a suggestion, --threads must be positive (all exit 2)
expect_rc 2 "bare trm" -- "$TRM"
grep -q "solve" "$tmp/err" || fail "bare trm does not list the commands"
expect_rc 2 "mistyped command" -- "$TRM" solv
grep -q "did you mean 'solve'" "$tmp/err" || fail "trm solv: no suggestion in: $(cat "$tmp/err")"
expect_rc 2 "--threads 0" -- "$TRM" solve --threads 0 examples/sudoku_easy.txt

# ---- bench: the shipped model's rows, inference and training, each with a throughput and a share of the peak ---
for mode in "" "--train"; do
    # shellcheck disable=SC2086
    expect_rc 0 "bench $mode" -- "$TRM" bench $mode --only shipped --seconds 0.05
    rows=$(grep -c '^sudoku-mlp-128 (shipped' "$tmp/out" || true)
    want=2; [[ $mode == --train ]] && want=1  # training has no batch-1 row
    [[ $rows -eq $want ]] && ok || fail "bench $mode: $rows rows, expected $want: $(cat "$tmp/out")"
    awk '/^sudoku-mlp-128 \(shipped/ { if (!($(NF-2) > 0 && $NF + 0 > 0)) bad = 1 } END { exit bad }' "$tmp/out" \
        && ok || fail "bench $mode: a row without GFLOP/s or %peak: $(cat "$tmp/out")"
done

# ---- help with worked examples ---------------------------------------------------------------------------------
for cmd in "solve" "eval sudoku" "eval maze" "eval arc" "generate sudoku" "generate maze"; do
    # shellcheck disable=SC2086
    expect_rc 0 "help $cmd" -- "$TRM" $cmd --help
    grep -q 'Example' "$tmp/out" && ok || fail "$cmd --help has no example"
done

if [[ $failures -gt 0 ]]; then
    echo "e2e_cli: $failures of $((checks + failures)) checks FAILED" >&2
    exit 1
fi
echo "e2e_cli: all $checks checks passed"
