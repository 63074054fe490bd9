/*
 * micro_case.h — the interface between the C benchmark bodies and the C++ file that
 * registers them with Google Benchmark.
 *
 * A case is a family of benchmarks named "<name>/<arg>", one per argument (a size,
 * an object count…). run() performs `iterations` iterations back to back and is the
 * only timed part; setup() and teardown() run outside the timing.
 */
#ifndef MICRO_CASE_H
#define MICRO_CASE_H

#include <stdint.h>

struct micro_case {
    const char *name;
    const long *args;       /* the full argument list, terminated by 0 */
    const long *quick_args; /* the --quick subset, terminated by 0 */
    long param;             /* fixed per case: alignment, free order, growth step */

    /* Optional: prepares what run() needs (precomputed orders…); may return NULL. */
    void *(*setup)(long param, long arg);
    void (*run)(void *ctx, long param, long arg, uint64_t iterations);
    /* Optional: releases what setup() returned. */
    void (*teardown)(void *ctx);

    /* Allocator calls (or objects) per iteration, for Google Benchmark's items/s. */
    long (*items_per_iteration)(long param, long arg);
    /* Non-zero when the case is ranked by its "throughput" counter (objects/s). */
    int ranked_by_throughput;
};

/* Every case, terminated by NULL (micro_cases.c). */
extern const struct micro_case *const micro_cases[];

/* Path of the shared object that malloc resolves to in this process (malloc_provider.c). */
const char *malloc_provider(void);

/* Items per iteration for cases doing one allocation per iteration. */
long one_item(long param, long arg);

#endif /* MICRO_CASE_H */
