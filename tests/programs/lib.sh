# lib.sh — shared helpers of the real-program suite (sourced by run-all and each
# program's file). A program's file defines program_NAME, which runs the same job
# once on glibc and once with LD_PRELOAD=$PAGODA_LIB through run_job, compares the
# outputs and calls verdict.
#
# Every job runs with LD_DEBUG=files, so the dynamic linker writes, per process, which
# objects it mapped: a pagoda run must show libpagoda.so in every process it started,
# a glibc run in none (which also proves that the check can tell).

# run_job ALLOCATOR NAME COMMAND... — runs COMMAND with stdout to $WORK/NAME.ALLOCATOR.out
# and stderr to $WORK/NAME.ALLOCATOR.err; ALLOCATOR is glibc or pagoda, and is also in
# the command's environment as PROGRAM_ALLOCATOR (for jobs that need separate files).
# Sets JOB_STATUS and JOB_SECONDS for the caller.
run_job() {
    local allocator=$1 name=$2
    shift 2
    local log=$WORK/ld.$name.$allocator
    rm -f "$log".*
    local preload=
    [ "$allocator" = pagoda ] && preload=$PAGODA_LIB
    local start end
    start=$(date +%s.%N)
    PROGRAM_ALLOCATOR=$allocator LD_PRELOAD=$preload LD_DEBUG=files LD_DEBUG_OUTPUT=$log "$@" \
        >"$WORK/$name.$allocator.out" 2>"$WORK/$name.$allocator.err"
    JOB_STATUS=$?
    end=$(date +%s.%N)
    JOB_SECONDS=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
}

# Succeeds when every process of the last pagoda job NAME mapped libpagoda.so and no
# process of the glibc job did; sets MAPPING_DETAIL.
libpagoda_mapped_everywhere() {
    local name=$1 total=0 mapped=0 f unmapped=""
    for f in "$WORK"/ld.$name.pagoda.*; do
        [ -e "$f" ] || continue
        total=$((total + 1))
        if grep -qF "file=$PAGODA_LIB [0];  generating link map" "$f"; then
            mapped=$((mapped + 1))
        else
            unmapped="; not in: $(grep -m1 -o 'needed by [^ ]*' "$f" || head -c 200 "$f")"
        fi
    done
    local leaked
    leaked=$(grep -l "libpagoda" "$WORK"/ld.$name.glibc.* 2>/dev/null | wc -l)
    MAPPING_DETAIL="libpagoda.so mapped in $mapped of $total processes$unmapped"
    [ "$total" -gt 0 ] && [ "$mapped" -eq "$total" ] && [ "$leaked" -eq 0 ]
}

# Same check for one process still running: its /proc/PID/maps.
libpagoda_mapped_in_pid() {
    grep -q " $PAGODA_LIB\$" "/proc/$1/maps" 2>/dev/null
}

# verdict NAME pass|fail GLIBC_SECONDS PAGODA_SECONDS DETAIL — records one result.
verdict() {
    local ratio
    ratio=$(awk -v g="$3" -v p="$4" 'BEGIN { if (g > 0) printf "%.2f", p / g; else print "-" }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$ratio" "$5" >>"$RESULTS"
    if [ "$2" = pass ]; then
        echo "ok   - $1 (pagoda/glibc time $ratio): $5"
    else
        echo "FAIL - $1: $5"
    fi
}

# compare_and_verdict NAME DETAIL [CHECK] — the usual ending: both jobs exited 0, their
# outputs ($WORK/NAME.*.out) are identical, and CHECK NAME succeeds (by default
# libpagoda_mapped_everywhere; a check sets MAPPING_DETAIL). Uses GLIBC_STATUS,
# PAGODA_STATUS, GLIBC_SECONDS and PAGODA_SECONDS set by the program.
compare_and_verdict() {
    local name=$1 detail=$2 check=${3:-libpagoda_mapped_everywhere}
    if [ "$GLIBC_STATUS" -ne 0 ]; then
        verdict "$name" fail "$GLIBC_SECONDS" "$PAGODA_SECONDS" \
            "the glibc run itself failed ($GLIBC_STATUS): $(tail -c 300 "$WORK/$name.glibc.err")"
    elif [ "$PAGODA_STATUS" -ne 0 ]; then
        verdict "$name" fail "$GLIBC_SECONDS" "$PAGODA_SECONDS" \
            "exited with $PAGODA_STATUS on pagoda: $(tail -c 300 "$WORK/$name.pagoda.err")"
    elif ! cmp -s "$WORK/$name.glibc.out" "$WORK/$name.pagoda.out"; then
        verdict "$name" fail "$GLIBC_SECONDS" "$PAGODA_SECONDS" \
            "output differs from glibc's: $(diff "$WORK/$name.glibc.out" "$WORK/$name.pagoda.out" | head -5 | tr '\n' ' ')"
    elif ! "$check" "$name"; then
        verdict "$name" fail "$GLIBC_SECONDS" "$PAGODA_SECONDS" "$MAPPING_DETAIL"
    else
        verdict "$name" pass "$GLIBC_SECONDS" "$PAGODA_SECONDS" "$detail; $MAPPING_DETAIL"
    fi
}

# run_both NAME COMMAND... — run_job on glibc, then on pagoda; keeps each run's
# status and time in GLIBC_/PAGODA_STATUS and _SECONDS.
run_both() {
    local name=$1
    shift
    run_job glibc "$name" "$@"
    GLIBC_STATUS=$JOB_STATUS GLIBC_SECONDS=$JOB_SECONDS
    run_job pagoda "$name" "$@"
    PAGODA_STATUS=$JOB_STATUS PAGODA_SECONDS=$JOB_SECONDS
}
