/*
 * check.h — the self-checks of the microbenchmarks.
 *
 * A case that sees wrong results (misaligned memory, lost realloc contents, a
 * non-zero calloc byte) must not be reported as a time: it prints what failed and
 * exits non-zero, which the runner reports as a failure of that allocator.
 */
#ifndef MICRO_CHECK_H
#define MICRO_CHECK_H

#include <stdio.h>
#include <stdlib.h>

/* Exits with status 1 and the message when ok is false. */
#define micro_check(ok, what)                                                        \
    do {                                                                             \
        if (__builtin_expect(!(ok), 0)) {                                            \
            fprintf(stderr, "micro: self-check failed in %s: %s\n", __func__, what); \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

#endif /* MICRO_CHECK_H */
