# gcc.sh — the GCC driver, cc1, as and ld: pagoda's own sources and a generated
# 20,000-line file compiled at -O2, the generated program linked and run. Object files
# must be byte-identical to the glibc run's, and the program's output too.

program_gcc() {
    local dir=$WORK/gcc
    mkdir -p "$dir"
    awk 'BEGIN {
        print "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>"
        for (f = 0; f < 1000; f++) {
            printf "struct s%d { long a[%d]; char *name; };\n", f, 1 + f % 7
            printf "static long f%d(long x) {\n  struct s%d *s = malloc(sizeof *s);\n", f, f
            printf "  s->name = strdup(\"f%d\");\n  long r = x;\n", f
            printf "  for (int i = 0; i < %d; i++) { s->a[i] = r * %d + i; r ^= s->a[i] >> 3; }\n", 1 + f % 7, f + 3
            printf "  r += (long)strlen(s->name);\n  free(s->name);\n  free(s);\n  return r %% 1000003;\n}\n"
        }
        print "int main(void) {\n  long acc = 1;"
        for (f = 0; f < 1000; f++) printf "  acc = (acc + f%d(acc)) %% 1000000007;\n", f
        print "  printf(\"%ld\\n\", acc);\n  return 0;\n}"
    }' >"$dir/generated.c"
    cat >"$dir/job.sh" <<'JOB'
set -e
repo=$1 out=$2/$PROGRAM_ALLOCATOR generated=$2/generated.c
rm -rf "$out" && mkdir -p "$out"
cd "$repo"
for src in allocator/*.c central/*.c pagemap/*.c; do
    echo "$src"
done | xargs -P 2 -I{} sh -c 'gcc -std=gnu11 -O2 -g0 -Iinclude -I. -fPIC -c {} -o "$0/$(echo {} | tr / _).o"' "$out"
gcc -O2 -g0 -o "$out/generated" "$generated"
cd "$out" && sha256sum *.o && ./generated
JOB
    run_both gcc bash "$dir/job.sh" "$REPO" "$dir"
    compare_and_verdict gcc "$(grep -c '\.o$' "$WORK/gcc.pagoda.out") objects byte-identical, generated program's output matches"
}
