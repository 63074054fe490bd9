#!/usr/bin/env bash
# test_preload.sh — preload smoke tests: real programs (python3, sort, gcc) run with
# LD_PRELOAD=libpagoda.so must print exactly what they print on glibc's malloc, and
# each run must show that the program's malloc really was pagoda's:
#   python3  looks up the address of malloc in its own process and finds the
#            /proc/self/maps line that contains it;
#   sort, gcc  the dynamic linker's own record (LD_DEBUG=bindings) of which object
#            each program's malloc was bound to.
# Usage: tests/test_preload.sh [path/to/libpagoda.so]   (default: build/libpagoda.so)
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
lib=$(realpath "${1:-$here/../build/libpagoda.so}")
[ -f "$lib" ] || { echo "test_preload: $lib not found" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1: $2"; }

# Succeeds when LD_DEBUG=bindings output in the files $1.* shows the program named $2
# (as run, or by full path) binding malloc to the preloaded library.
malloc_bound_to_pagoda() {
    grep -hE "binding file ([^ ]*/)?$2 \[0\] to $lib \[0\]: normal symbol \`malloc'" "$1".* >/dev/null 2>&1
}

# ---- python3: a memory-heavy workload ----
python_workload='
import ctypes, hashlib
words = ["w%07d-%s" % (i * 7919 % 1000003, "x" * (i % 97)) for i in range(400000)]
table = {w: len(w) * 31 + i for i, w in enumerate(words)}
keys = sorted(table, key=lambda w: (w[::-1], len(w)))
total = sum(table[k] for k in keys)
digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()
print("checksum", total, digest)
libc = ctypes.CDLL(None)
malloc_address = ctypes.cast(libc.malloc, ctypes.c_void_p).value
owner = "unmapped"
with open("/proc/self/maps") as maps:
    for line in maps:
        fields = line.split()
        low, high = (int(x, 16) for x in fields[0].split("-"))
        if low <= malloc_address < high:
            owner = fields[5] if len(fields) > 5 else "anonymous"
print("malloc-from", owner)
'
python3 -c "$python_workload" >"$work/py.glibc" 2>&1
LD_PRELOAD=$lib python3 -c "$python_workload" >"$work/py.pagoda" 2>&1
py_status=$?
if [ $py_status -ne 0 ]; then
    fail "python3 workload" "exited with $py_status: $(tail -3 "$work/py.pagoda")"
elif ! cmp -s <(grep '^checksum' "$work/py.glibc") <(grep '^checksum' "$work/py.pagoda"); then
    fail "python3 workload" "checksum differs: glibc '$(head -1 "$work/py.glibc")', pagoda '$(head -1 "$work/py.pagoda")'"
elif ! grep -qx "malloc-from $lib" "$work/py.pagoda"; then
    fail "python3 workload" "malloc is not pagoda's: $(grep '^malloc-from' "$work/py.pagoda")"
else
    pass "python3 workload (checksum matches glibc, malloc from libpagoda.so)"
fi

# ---- sort: 200,000 lines, several threads ----
awk 'BEGIN { for (i = 1; i <= 200000; i++)
                 printf "%08x %d %s\n", (i * 2654435761) % 4294967296, i, substr("abcdefghijklmnopqrstuvwxyz", 1 + i % 26) }' \
    >"$work/lines"
LC_ALL=C sort --parallel=4 -S 64M "$work/lines" >"$work/sorted.glibc"
LC_ALL=C LD_PRELOAD=$lib LD_DEBUG=bindings LD_DEBUG_OUTPUT="$work/sort.ld" \
    sort --parallel=4 -S 64M "$work/lines" >"$work/sorted.pagoda" 2>"$work/sort.err"
sort_status=$?
if [ $sort_status -ne 0 ]; then
    fail "sort 200k lines" "exited with $sort_status: $(tail -3 "$work/sort.err")"
elif ! cmp -s "$work/sorted.glibc" "$work/sorted.pagoda"; then
    fail "sort 200k lines" "output differs from glibc's ($(cmp "$work/sorted.glibc" "$work/sorted.pagoda" 2>&1))"
elif ! malloc_bound_to_pagoda "$work/sort.ld" sort; then
    fail "sort 200k lines" "sort's malloc was not bound to $lib"
else
    pass "sort 200k lines (identical output, malloc bound to libpagoda.so)"
fi

# ---- gcc: compile and run a small C program ----
cat >"$work/prog.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node { struct node *next; char text[24]; };

int main(void)
{
    struct node *head = NULL;
    for (int i = 0; i < 100000; i++) {
        struct node *n = malloc(sizeof *n);
        if (!n)
            return 1;
        snprintf(n->text, sizeof n->text, "node-%d", i * 37 % 100000);
        n->next = head;
        head = n;
    }
    unsigned long sum = 0;
    while (head) {
        struct node *next = head->next;
        sum = sum * 31 + strlen(head->text) + (unsigned char)head->text[5];
        free(head);
        head = next;
    }
    printf("sum %lu\n", sum);
    return 0;
}
EOF
gcc -O2 -o "$work/prog.glibc" "$work/prog.c" && "$work/prog.glibc" >"$work/prog.out.glibc"
LD_PRELOAD=$lib LD_DEBUG=bindings LD_DEBUG_OUTPUT="$work/gcc.ld" \
    gcc -O2 -o "$work/prog.pagoda" "$work/prog.c" 2>"$work/gcc.err"
gcc_status=$?
if [ $gcc_status -ne 0 ]; then
    fail "gcc compile" "exited with $gcc_status: $(tail -3 "$work/gcc.err")"
elif ! malloc_bound_to_pagoda "$work/gcc.ld" cc1; then
    fail "gcc compile" "cc1's malloc was not bound to $lib"
elif ! malloc_bound_to_pagoda "$work/gcc.ld" gcc; then
    fail "gcc compile" "the gcc driver's malloc was not bound to $lib"
else
    pass "gcc compile (cc1 and the driver ran on libpagoda.so)"
fi
if [ $gcc_status -eq 0 ]; then
    LD_PRELOAD=$lib "$work/prog.pagoda" >"$work/prog.out.pagoda" 2>&1
    prog_status=$?
    if [ $prog_status -ne 0 ]; then
        fail "compiled program" "exited with $prog_status: $(tail -3 "$work/prog.out.pagoda")"
    elif ! cmp -s "$work/prog.out.glibc" "$work/prog.out.pagoda"; then
        fail "compiled program" "printed '$(cat "$work/prog.out.pagoda")', glibc build printed '$(cat "$work/prog.out.glibc")'"
    else
        pass "compiled program (output matches the glibc build)"
    fi
fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
