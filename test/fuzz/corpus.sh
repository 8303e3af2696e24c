#!/bin/sh
# make check: every fuzz target over its corpus in test/fuzz/corpus/<name>. A plain build runs
# each input once; a --enable-fuzzing build runs libFuzzer for a few seconds per target
# (FUZZ_CHECK_TIME, default 3), new inputs going to a scratch directory, and prints the
# executions. Any crash, leak or sanitizer report fails the test.
set -u
builddir=${TPMTOK_BUILDDIR:-.}
srcdir=${TPMTOK_SRCDIR:-.}
targets=${TPMTOK_FUZZ_TARGETS:-}
time=${FUZZ_CHECK_TIME:-3}
[ -n "$targets" ] || { echo "TPMTOK_FUZZ_TARGETS is not set (run through make check)"; exit 99; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/tpmtok-fuzz.XXXXXX") || exit 99
trap 'rm -rf "$scratch"' EXIT
status=0
total=0
for t in $targets; do
    name=${t#test/fuzz/fuzz_}
    corpus=$srcdir/test/fuzz/corpus/$name
    if [ "${TPMTOK_FUZZING:-0}" = 1 ]; then
        mkdir -p "$scratch/$name"
        # Logs go to a file: libFuzzer's -close_fd_mask keeps the module's stderr out of it.
        if "$builddir/$t" -max_total_time="$time" -print_final_stats=1 -timeout=10 \
            -rss_limit_mb=2048 -artifact_prefix="$scratch/$name-" \
            "$scratch/$name" "$corpus" > "$scratch/$name.log" 2>&1; then
            execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$name.log")
            echo "$t: ${execs:-?} executions in ${time} s, no finding"
            total=$((total + ${execs:-0}))
        else
            echo "$t: FAILED"
            cat "$scratch/$name.log"
            ls "$scratch" | grep -- "^$name-" | while read -r f; do
                echo "--- $f (base64)"; base64 "$scratch/$f"; done
            status=1
        fi
    else
        "$builddir/$t" "$corpus" || { echo "$t: FAILED"; status=1; }
    fi
done
[ "${TPMTOK_FUZZING:-0}" = 1 ] && echo "fuzz executions: $total"
exit $status
