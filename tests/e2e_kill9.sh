#!/usr/bin/env bash
# Crash-safe training: a tiny `trm train sudoku` run is killed with SIGKILL at random moments and resumed with
# --resume each time; every resume must load the state, and the final weights and state must be byte-identical
# to an uninterrupted run with the same seed. Run by ctest from the source root:
#
#   bash tests/e2e_kill9.sh path/to/trm [kills]       (kills: at most this many SIGKILLs, default 5; fewer land
#                                                      when a resumed run reaches the end first)
#
# The delays come from a fixed seed (KILL9_SEED, default 9), so a failure can be rerun; they are printed.
set -u
TRM=${1:?usage: e2e_kill9.sh path/to/trm [kills]}
KILLS=${2:-5}
RANDOM=${KILL9_SEED:-9}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# Tiny model and run: --save-every 1 writes the state (tmp + fsync + rename) after every step, so kills land
# before, during and after writes.
ARGS=(train sudoku --hidden 16 --heads 2 --H-cycles 1 --L-cycles 1 --halt-max-steps 2 --puzzle-emb-ndim 16
      --batch 8 --steps 60 --save-every 1 --eval-every 0 --eval-count 4 --seed 5 --threads 1 --report-every 1000)

start=$(date +%s.%N)
"$TRM" "${ARGS[@]}" -o "$tmp/ref.safetensors" > "$tmp/ref.log" 2>&1 || { cat "$tmp/ref.log"; fail "reference run"; }
ref_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
echo "uninterrupted run: ${ref_s}s"
# kill delays are drawn in [0.05 s, 0.05 s + ref_s / 4): each run resumes from the last state saved before it
max_ms=$(awk -v s="$ref_s" 'BEGIN { printf "%d", s * 250 }')
[ "$max_ms" -ge 20 ] || max_ms=20

out="$tmp/a.safetensors"
state="$out.state"
landed=0
runs=0
while :; do
    runs=$((runs + 1))
    [ "$runs" -le $((KILLS * 4 + 10)) ] || fail "no progress after $runs runs"
    resume=()
    [ -f "$state" ] && resume=(--resume)
    "$TRM" "${ARGS[@]}" -o "$out" "${resume[@]}" > "$tmp/run$runs.log" 2>&1 &
    pid=$!
    if [ "$landed" -lt "$KILLS" ]; then
        ms=$((50 + RANDOM % max_ms))
        sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
        kill -9 "$pid" 2> /dev/null
    fi
    wait "$pid" 2> /dev/null  # (no "Killed" job notice)
    rc=$?
    if [ "$rc" -eq 137 ]; then
        landed=$((landed + 1))
        echo "run $runs ${resume[*]}: killed after ${ms}ms (state: $([ -f "$state" ] && echo present || echo none))"
        continue
    fi
    [ "$rc" -eq 0 ] || { cat "$tmp/run$runs.log"; fail "run $runs ${resume[*]} exited $rc (the state must always load)"; }
    echo "run $runs ${resume[*]}: finished"
    break
done
[ "$landed" -ge 1 ] || fail "no kill landed before the run finished (the run is too fast for this test)"

cmp "$tmp/ref.safetensors" "$out" || fail "weights after $landed kills differ from the uninterrupted run"
cmp "$tmp/ref.safetensors.state" "$state" || fail "training state after $landed kills differs from the uninterrupted run"
leftover=$(find "$tmp" -name '*.tmp.*' | wc -l)
# the last (finished) run's saves remove the temporaries that earlier, killed writers left behind
[ "$leftover" -eq 0 ] || { find "$tmp" -name '*.tmp.*'; fail "$leftover stale .tmp.<pid> files left after the run finished"; }
echo "PASS: $landed kills, $runs runs, weights and state identical, no stale temporaries"
