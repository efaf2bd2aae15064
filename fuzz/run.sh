#!/usr/bin/env bash
# Runs every libFuzzer harness in turn, then merges what it found into the committed corpus:
#
#   fuzz/run.sh [seconds per target, default 600] [target ...]        (from the source root, after building
#                                                                      build-fuzz, see fuzz/CMakeLists.txt)
#
# New inputs are written to $BUILD/fuzz-work/<target>/new, never straight into fuzz/corpus/<target>; the merge
# (-merge=1 -use_counters=0) then copies only the inputs that reach new edges, which keeps the committed corpus
# small (about 1 MB for all targets). Crashes, leaks, timeouts and OOMs are written to
# $BUILD/fuzz-work/<target>/artifacts/ and end the run of that target; the script carries on with the next one
# and exits non-zero at the end. Per target it prints libFuzzer's final stats (executions, exec/s, corpus).
# FUZZ_FLAGS adds libFuzzer flags, e.g. FUZZ_FLAGS="-fork=1 -ignore_crashes=1" to keep fuzzing past a known crash.
set -u
BUILD=${BUILD:-build-fuzz}
SECS=${1:-600}
shift $(($# > 0 ? 1 : 0))
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(sudoku_text maze_text arc_json safetensors torch_checkpoint torch_pickle official_config)
export OPENBLAS_NUM_THREADS=1
status=0
for t in "${TARGETS[@]}"; do
    bin="$BUILD/fuzz/fuzz_$t"
    work="$BUILD/fuzz-work/$t"
    [ -x "$bin" ] || { echo "$bin: not built (cmake --build $BUILD --target fuzz_all)" >&2; exit 2; }
    mkdir -p "$work/new" "$work/artifacts" "fuzz/corpus/$t"
    dict=()
    [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
    echo "== $t: ${SECS}s"
    # shellcheck disable=SC2086
    "$bin" "$work/new" "fuzz/corpus/$t" "${dict[@]}" ${FUZZ_FLAGS:-} -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$work/artifacts/" > "$work/log" 2>&1
    rc=$?
    grep -E '^(stat::|Done|#[0-9]+ +DONE)' "$work/log" | tail -8
    if [ "$rc" -ne 0 ]; then
        status=1
        echo "$t: FOUND A BUG (exit $rc), see $work/log and $work/artifacts/:" >&2
        grep -E 'ERROR|SUMMARY|what\(\)|runtime error' "$work/log" | head -5 >&2
    fi
    "$bin" -merge=1 -use_counters=0 "fuzz/corpus/$t" "$work/new" > "$work/merge.log" 2>&1
    echo "$t: corpus $(ls "fuzz/corpus/$t" | wc -l) files, $(($(cat fuzz/corpus/$t/* | wc -c) / 1024)) KiB after merge"
done
exit $status
