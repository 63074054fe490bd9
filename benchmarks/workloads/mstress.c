/*
 * mstress — mixed-size churn with short- and long-lived objects (after the stress
 * test in mimalloc-bench): each thread keeps a ring of short-lived objects (each
 * lives about 64 allocations) and a pool of long-lived ones (random replacement, so a
 * geometric lifetime of ~32K allocations). Sizes are mostly small, geometrically
 * distributed over 8 B..4 KiB, and about one allocation in 1000 is large
 * (64 KiB..4 MiB). About one allocation in 64 goes into a shared transfer array
 * instead, and whatever object it displaces there (allocated by any thread) joins
 * the taker's long-lived pool, to be freed there later. Fixed work: --ops
 * allocations in total (default 24M, quick 1M), split over the threads.
 *
 * Checks: every object is self-describing (size and tag in its first word) and
 * filled with a pattern derived from the tag — every word of small objects, the
 * first word of each 4 KiB page and the last word of large ones — all verified
 * before it is freed.
 */
#include "workload.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    SHORT_LIVED_SLOTS = 64,
    LONG_LIVED_SLOTS = 4096,
    TRANSFER_SLOTS = 1024,
    SMALL_MIN = 8,
    SMALL_MAX = 4096,
    PAGE_WORDS = 4096 / sizeof(uint64_t),
};

#define LARGE_MIN ((uint64_t)64 << 10)
#define LARGE_MAX ((uint64_t)4 << 20)

struct worker {
    unsigned index;
    uint64_t ops;
    uint64_t large_allocations;
    uint64_t transfers;
};

static _Atomic(uint64_t *) transfer[TRANSFER_SLOTS];

static uint64_t random_size(struct wl_rng *rng)
{
    uint64_t r = wl_rng_next(rng);
    if (r % 1000 == 0) {
        uint64_t low = LARGE_MIN << wl_rng_below(rng, 6);
        return wl_rng_between(rng, low, 2 * low);
    }
    /* Size class k with probability 2^-(k+1) (the rest goes to the top class),
     * then uniform within [8 << k, 16 << k). */
    unsigned k = (unsigned)__builtin_ctzll((r >> 16) | (1ull << 8));
    uint64_t high = ((uint64_t)SMALL_MIN << (k + 1)) - 1;
    return wl_rng_between(rng, (uint64_t)SMALL_MIN << k, high < SMALL_MAX ? high : SMALL_MAX);
}

static uint64_t pattern(uint32_t tag, uint64_t word_index)
{
    return tag * 0x9e3779b97f4a7c15ull + word_index;
}

/* The word after i that carries the pattern (words means none is left): every
 * word of small objects; the first word of each page and the last one of large. */
static uint64_t next_patterned(uint64_t words, uint64_t i)
{
    if (words <= SMALL_MAX / sizeof(uint64_t))
        return i + 1;
    uint64_t next_page = (i / PAGE_WORDS + 1) * PAGE_WORDS;
    if (next_page < words - 1)
        return next_page;
    return i < words - 1 ? words - 1 : words;
}

static uint64_t *new_object(struct wl_rng *rng)
{
    uint64_t size = random_size(rng);
    uint64_t *object = malloc(size);
    if (object == NULL)
        wl_fail("malloc(%llu) returned NULL", (unsigned long long)size);
    uint32_t tag = (uint32_t)wl_rng_next(rng);
    uint64_t words = size / sizeof(uint64_t);
    object[0] = size << 32 | tag;
    for (uint64_t i = 1; i < words; i = next_patterned(words, i))
        object[i] = pattern(tag, i);
    return object;
}

static void check_and_free(uint64_t *object)
{
    if (object == NULL)
        return;
    uint64_t size = object[0] >> 32;
    uint32_t tag = (uint32_t)object[0];
    if (size < SMALL_MIN || size > LARGE_MAX)
        wl_fail("object %p has a corrupt header (size %llu)", (void *)object,
                (unsigned long long)size);
    uint64_t words = size / sizeof(uint64_t);
    for (uint64_t i = 1; i < words; i = next_patterned(words, i))
        if (object[i] != pattern(tag, i))
            wl_fail("object %p (%llu bytes): word %llu is damaged", (void *)object,
                    (unsigned long long)size, (unsigned long long)i);
    free(object);
}

static void *run_worker(void *arg)
{
    struct worker *self = arg;
    struct wl_rng rng = wl_rng_seeded(self->index + 1);
    uint64_t *short_lived[SHORT_LIVED_SLOTS] = { 0 };
    uint64_t **long_lived = calloc(LONG_LIVED_SLOTS, sizeof *long_lived);
    if (long_lived == NULL)
        wl_fail("cannot allocate the long-lived pool");
    uint64_t large = 0, transfers = 0;
    for (uint64_t op = 0; op < self->ops; op++) {
        uint64_t *object = new_object(&rng);
        large += object[0] >> 32 > SMALL_MAX;
        uint64_t choice = wl_rng_below(&rng, 64);
        if (choice == 0) {
            /* Publish it; whatever it displaces becomes one of ours. */
            object = atomic_exchange(&transfer[wl_rng_below(&rng, TRANSFER_SLOTS)], object);
            transfers++;
            if (object == NULL)
                continue;
        }
        uint64_t **slot = choice < 8 ? &long_lived[wl_rng_below(&rng, LONG_LIVED_SLOTS)]
                                     : &short_lived[op % SHORT_LIVED_SLOTS];
        check_and_free(*slot);
        *slot = object;
    }
    for (unsigned i = 0; i < SHORT_LIVED_SLOTS; i++)
        check_and_free(short_lived[i]);
    for (unsigned i = 0; i < LONG_LIVED_SLOTS; i++)
        check_and_free(long_lived[i]);
    free(long_lived);
    self->large_allocations = large;
    self->transfers = transfers;
    return NULL;
}

int main(int argc, char **argv)
{
    uint64_t threads_requested = 1;
    bool quick = wl_quick_requested(argc, argv);
    uint64_t total_ops = quick ? 1 << 20 : 24 << 20;
    const struct wl_option options[] = {
        { "threads", WL_COUNT, &threads_requested },
        { "quick", WL_FLAG, &quick },
        { "ops", WL_COUNT, &total_ops },
    };
    wl_parse_options(argc, argv, options, sizeof options / sizeof options[0]);
    unsigned threads = wl_thread_count(threads_requested);

    struct worker *workers = calloc(threads, sizeof *workers);
    if (workers == NULL)
        wl_fail("cannot allocate the worker array");
    for (unsigned i = 0; i < threads; i++)
        workers[i] = (struct worker){ .index = i, .ops = total_ops / threads };

    static struct wl_threads pool;
    double start = wl_seconds();
    wl_threads_start(&pool, threads, run_worker, workers, sizeof *workers);
    wl_threads_join(&pool);
    for (unsigned i = 0; i < TRANSFER_SLOTS; i++)
        check_and_free(atomic_load(&transfer[i]));
    double elapsed = wl_seconds() - start;

    uint64_t large = 0, transfers = 0;
    for (unsigned i = 0; i < threads; i++) {
        large += workers[i].large_allocations;
        transfers += workers[i].transfers;
    }
    free(workers);
    printf("CHECK OK mstress: %u threads, %llu allocations (%llu large, %llu transferred) "
           "in %.2f s\n", threads, (unsigned long long)(total_ops / threads * threads),
           (unsigned long long)large, (unsigned long long)transfers, elapsed);
    return 0;
}
