/*
 * cache_thrash — active false sharing probe (after Hoard's cache-thrash): every
 * thread repeatedly allocates a small object (--size, default 8 B), writes each of
 * its bytes many times and frees it. An allocator that hands neighbouring objects
 * of one cache line to different threads makes those writes bounce the line between
 * cores. Fixed work: --iterations objects per thread (default 1000), each written
 * --repetitions / threads times (default 400K in total, quick 40K), so the total
 * number of writes is the same at every thread count.
 *
 * Checks: after its writes every byte of every object holds the expected count.
 */
#include "workload.h"

#include <stdio.h>
#include <stdlib.h>

struct worker {
    uint64_t iterations;
    uint64_t repetitions;
    uint64_t size;
};

static void *run_worker(void *arg)
{
    const struct worker *self = arg;
    for (uint64_t i = 0; i < self->iterations; i++) {
        unsigned char *object = malloc(self->size);
        if (object == NULL)
            wl_fail("malloc(%llu) returned NULL", (unsigned long long)self->size);
        wl_hammer(object, self->size, self->repetitions);
        free(object);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    uint64_t threads_requested = 1, iterations = 1000, size = 8;
    bool quick = wl_quick_requested(argc, argv);
    uint64_t repetitions = quick ? 40000 : 400000;
    const struct wl_option options[] = {
        { "threads", WL_COUNT, &threads_requested },
        { "quick", WL_FLAG, &quick },
        { "iterations", WL_COUNT, &iterations },
        { "repetitions", WL_COUNT, &repetitions },
        { "size", WL_COUNT, &size },
    };
    wl_parse_options(argc, argv, options, sizeof options / sizeof options[0]);
    unsigned threads = wl_thread_count(threads_requested);

    struct worker work = { iterations, repetitions / threads, size };
    if (work.repetitions == 0)
        work.repetitions = 1;
    struct worker *workers = malloc(threads * sizeof *workers);
    if (workers == NULL)
        wl_fail("cannot allocate the worker array");
    for (unsigned i = 0; i < threads; i++)
        workers[i] = work;

    static struct wl_threads pool;
    double start = wl_seconds();
    wl_threads_start(&pool, threads, run_worker, workers, sizeof *workers);
    wl_threads_join(&pool);
    double elapsed = wl_seconds() - start;
    free(workers);

    printf("CHECK OK cache_thrash: %u threads x %llu objects of %llu B, %llu writes each, "
           "in %.2f s\n", threads, (unsigned long long)work.iterations,
           (unsigned long long)size, (unsigned long long)work.repetitions, elapsed);
    return 0;
}
