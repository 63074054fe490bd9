/*
 * batch_free.c — allocate N objects, then free all N, in LIFO or in random order.
 *
 * Sizes are drawn uniformly from 16..512 bytes and the random free order is a
 * permutation; both are precomputed with a fixed seed in setup(), outside the
 * timing, so every allocator sees exactly the same sequence of calls.
 */
#include <stdlib.h>

#include "check.h"
#include "escape.h"
#include "micro_case.h"

enum free_order { FREE_LIFO, FREE_RANDOM };

struct batch {
    long n;
    size_t *sizes;
    long *order; /* free order: indices into ptrs */
    void **ptrs;
};

/* xorshift64*: a small deterministic generator, identical on every run. */
static uint64_t next_random(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 2685821657736338717ull;
}

static void *setup(long order, long n)
{
    struct batch *b = malloc(sizeof *b);
    micro_check(b != NULL, "setup allocation");
    b->n = n;
    b->sizes = malloc((size_t)n * sizeof *b->sizes);
    b->order = malloc((size_t)n * sizeof *b->order);
    b->ptrs = malloc((size_t)n * sizeof *b->ptrs);
    micro_check(b->sizes && b->order && b->ptrs, "setup allocation");

    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (long i = 0; i < n; i++) {
        b->sizes[i] = 16 + next_random(&seed) % (512 - 16 + 1);
        b->order[i] = order == FREE_LIFO ? n - 1 - i : i;
    }
    if (order == FREE_RANDOM) {
        for (long i = n - 1; i > 0; i--) { /* Fisher–Yates */
            long j = (long)(next_random(&seed) % (uint64_t)(i + 1));
            long t = b->order[i];
            b->order[i] = b->order[j];
            b->order[j] = t;
        }
    }
    return b;
}

static void run(void *ctx, long param, long n, uint64_t iterations)
{
    struct batch *b = ctx;
    (void)param;
    for (uint64_t it = 0; it < iterations; it++) {
        for (long i = 0; i < n; i++) {
            char *p = malloc(b->sizes[i]);
            escape(p);
            p[0] = 1;
            b->ptrs[i] = p;
        }
        for (long i = 0; i < n; i++)
            free(b->ptrs[b->order[i]]);
    }
}

static void teardown(void *ctx)
{
    struct batch *b = ctx;
    free(b->sizes);
    free(b->order);
    free(b->ptrs);
    free(b);
}

/* Each iteration allocates and frees n objects. */
static long n_items(long param, long n)
{
    (void)param;
    return n;
}

static const long counts[] = {100, 10000, 0};

const struct micro_case case_batch_free_lifo = {
    .name = "batch_free_lifo",
    .args = counts,
    .quick_args = counts,
    .param = FREE_LIFO,
    .setup = setup,
    .run = run,
    .teardown = teardown,
    .items_per_iteration = n_items,
};

const struct micro_case case_batch_free_random = {
    .name = "batch_free_random",
    .args = counts,
    .quick_args = counts,
    .param = FREE_RANDOM,
    .setup = setup,
    .run = run,
    .teardown = teardown,
    .items_per_iteration = n_items,
};
