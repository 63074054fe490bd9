# python.sh — CPython: a memory-heavy workload (dicts, lists, strings, JSON, sorting),
# and a slice of CPython's own regression tests (package libpython3.11-testsuite).
# Debian's /usr/bin/python3 is used, whatever python3 comes first on PATH.

program_python() {
    local script=$WORK/python-workload.py
    cat >"$script" <<'PY'
import hashlib, json, random
rng = random.Random(20240611)
table = {}
for i in range(600000):
    key = "k%07d-%s" % (rng.randrange(10**7), "x" * (i % 61))
    table[key] = [i, str(i) * (i % 13), {"n": i % 97}]
ordered = sorted(table, key=lambda k: (k[::-1], len(k)))
blob = json.dumps([table[k] for k in ordered[::7]])
decoded = json.loads(blob)
strings = ["".join(chr(97 + (i * j) % 26) for j in range(i % 200)) for i in range(60000)]
strings.sort()
digest = hashlib.sha256(blob.encode() + "\n".join(strings).encode()).hexdigest()
print(len(table), len(decoded), sum(len(s) for s in strings), digest)
PY
    run_both python /usr/bin/python3 "$script"
    compare_and_verdict python "600,000-entry dict, JSON round trip, 60,000 strings sorted"
}

# The tests are chosen for breadth over the object model and C modules that allocate
# heavily; together they take about 20 s on glibc.
PYTHON_TESTS=(test_dict test_list test_set test_bytes test_json test_re test_collections
              test_deque test_heapq test_pickle test_unicode test_sort test_array
              test_itertools test_gc test_weakref test_struct test_long test_hashlib
              test_zlib test_functools test_enum test_dataclasses test_memoryview
              test_exceptions test_copy test_statistics test_fstring)

program_python_tests() {
    run_both python-tests /usr/bin/python3 -m test -j2 "${PYTHON_TESTS[@]}"
    # Timings differ from run to run: compare the verdict lines only.
    local allocator
    for allocator in glibc pagoda; do
        grep -E '^(All [0-9]+ tests OK\.|Tests result: )' "$WORK/python-tests.$allocator.out" \
            >"$WORK/python-tests.$allocator.summary"
        mv "$WORK/python-tests.$allocator.summary" "$WORK/python-tests.$allocator.out"
    done
    compare_and_verdict python-tests "${#PYTHON_TESTS[@]} regression test modules: $(head -1 "$WORK/python-tests.pagoda.out")"
}
