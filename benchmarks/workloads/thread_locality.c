/*
 * thread_locality — a probe, not a timed workload (it is not in manifest.tsv): where
 * an allocator puts the small objects of threads that allocate side by side. Each
 * thread keeps up to 16K live objects of 16..66 bytes in slots it fills and empties at
 * random, through phases that mostly allocate and phases that mostly free (the shape
 * of `hashtable`). When every thread is done, with all their objects still live, it
 * reports:
 *
 *   METRIC pages_per_thread       distinct 4 KiB pages holding a thread's objects,
 *                                 averaged over the threads (fewer: denser, fewer TLB
 *                                 and cache misses);
 *   METRIC shared_lines_percent   of the 64-byte lines holding live objects, those
 *                                 holding objects of more than one thread (false
 *                                 sharing when the threads write them).
 *
 *   LD_PRELOAD=build/libpagoda.so build/bench/thread_locality --threads 8
 *
 * Checks: every live object still holds its owner's byte pattern at the end.
 */
#include "workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    SLOTS = 16 << 10,
    PHASE_OPS = 2 * SLOTS,
    MIN_SIZE = 16,
    MAX_SIZE = 66,
    PAGE_SHIFT = 12,
    LINE_SHIFT = 6,
};

struct worker {
    unsigned index;
    uint64_t ops;
    unsigned char *objects[SLOTS];
    uint8_t sizes[SLOTS];
};

static pthread_barrier_t all_done, measured;

static unsigned char pattern_of(unsigned index)
{
    return (unsigned char)(0x41 + index);
}

static void *run_worker(void *arg)
{
    struct worker *self = arg;
    struct wl_rng rng = wl_rng_seeded(self->index + 1);
    for (uint64_t op = 0; op < self->ops; op++) {
        bool growing = op / PHASE_OPS % 2 == 0;
        unsigned slot = (unsigned)wl_rng_below(&rng, SLOTS);
        uint64_t dice = wl_rng_below(&rng, 10);
        if (dice < 3)
            continue;
        free(self->objects[slot]);
        self->objects[slot] = NULL;
        if (dice < (growing ? 9u : 4u)) {
            size_t size = wl_rng_between(&rng, MIN_SIZE, MAX_SIZE);
            unsigned char *object = malloc(size);
            if (object == NULL)
                wl_fail("malloc(%zu) returned NULL", size);
            memset(object, pattern_of(self->index), size);
            self->objects[slot] = object;
            self->sizes[slot] = (uint8_t)size;
        }
    }
    pthread_barrier_wait(&all_done);
    pthread_barrier_wait(&measured);
    for (unsigned slot = 0; slot < SLOTS; slot++)
        free(self->objects[slot]);
    return NULL;
}

static int compare_keys(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts keys[0..count) and returns how many distinct values they hold. */
static size_t count_distinct(uint64_t *keys, size_t count)
{
    qsort(keys, count, sizeof *keys, compare_keys);
    size_t distinct = 0;
    for (size_t i = 0; i < count; i++)
        distinct += i == 0 || keys[i] != keys[i - 1];
    return distinct;
}

int main(int argc, char **argv)
{
    uint64_t threads_requested = 2;
    bool quick = wl_quick_requested(argc, argv);
    uint64_t ops = quick ? 256 << 10 : 4 << 20;
    const struct wl_option options[] = {
        { "threads", WL_COUNT, &threads_requested },
        { "quick", WL_FLAG, &quick },
        { "ops", WL_COUNT, &ops },
    };
    wl_parse_options(argc, argv, options, sizeof options / sizeof options[0]);
    unsigned threads = wl_thread_count(threads_requested);
    if (threads > 255)
        wl_fail("at most 255 threads (a line's owners are told apart by a byte)");

    struct worker *workers = calloc(threads, sizeof *workers);
    uint64_t *pages = malloc((size_t)SLOTS * sizeof *pages);
    uint64_t *lines = malloc((size_t)SLOTS * threads * sizeof *lines);
    if (workers == NULL || pages == NULL || lines == NULL)
        wl_fail("cannot allocate the probe's own arrays");
    for (unsigned i = 0; i < threads; i++) {
        workers[i].index = i;
        workers[i].ops = ops;
    }
    pthread_barrier_init(&all_done, NULL, threads + 1);
    pthread_barrier_init(&measured, NULL, threads + 1);
    static struct wl_threads pool;
    wl_threads_start(&pool, threads, run_worker, workers, sizeof *workers);
    pthread_barrier_wait(&all_done);

    /* Each live object's first line and page, tagged with its thread in the low byte
     * of the line key. Objects are at most 66 bytes, so an object can reach into one
     * more line; its first line stands for it. */
    size_t page_sum = 0, live = 0;
    for (unsigned t = 0; t < threads; t++) {
        size_t count = 0;
        for (unsigned slot = 0; slot < SLOTS; slot++) {
            const unsigned char *object = workers[t].objects[slot];
            if (object == NULL)
                continue;
            for (unsigned k = 0; k < workers[t].sizes[slot]; k++)
                if (object[k] != pattern_of(t))
                    wl_fail("thread %u's object %p was overwritten at byte %u", t,
                            (const void *)object, k);
            pages[count++] = (uint64_t)(uintptr_t)object >> PAGE_SHIFT;
            lines[live++] = ((uint64_t)(uintptr_t)object >> LINE_SHIFT) << 8 | t;
        }
        page_sum += count_distinct(pages, count);
    }
    qsort(lines, live, sizeof *lines, compare_keys);
    size_t line_count = 0, shared = 0;
    for (size_t i = 0; i < live;) {
        size_t j = i;
        bool mixed = false;
        for (; j < live && lines[j] >> 8 == lines[i] >> 8; j++)
            mixed |= (lines[j] & 0xff) != (lines[i] & 0xff);
        line_count++;
        shared += mixed;
        i = j;
    }
    pthread_barrier_wait(&measured);
    wl_threads_join(&pool);

    printf("METRIC pages_per_thread %.1f\n", (double)page_sum / threads);
    printf("METRIC shared_lines_percent %.2f\n", line_count ? 100.0 * (double)shared / (double)line_count : 0.0);
    printf("CHECK OK thread_locality: %u threads, %zu live objects in %zu lines, %zu of them "
           "shared\n", threads, live, line_count, shared);
    free(lines);
    free(pages);
    free(workers);
    return 0;
}
