# xz.sh — xz with two compression threads (-T2), each with its own large match-finder
# buffers: 16 MiB of generated text compressed, the result decompressed again.
# Multithreaded xz output is deterministic for a given thread count and block size.

program_xz() {
    local dir=$WORK/xz
    mkdir -p "$dir"
    awk 'BEGIN { for (i = 0; i < 450000; i++) printf "%08d %s %d\n", i * 2654435761 % 100000000, substr("lorem ipsum dolor sit amet consectetur", 1 + i % 20), i }' \
        | head -c 16777216 >"$dir/input"
    cat >"$dir/job.sh" <<'JOB'
set -e
xz -T2 --block-size=4MiB -6 -c "$1/input" >"$1/input.$PROGRAM_ALLOCATOR.xz"
sha256sum <"$1/input.$PROGRAM_ALLOCATOR.xz"
xz -T2 -d -c "$1/input.$PROGRAM_ALLOCATOR.xz" | sha256sum
JOB
    run_both xz bash "$dir/job.sh" "$dir"
    compare_and_verdict xz "16 MiB compressed with -T2 and decompressed, outputs byte-identical"
}
