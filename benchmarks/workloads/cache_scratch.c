/*
 * cache_scratch — passive false sharing probe (after Hoard's cache-scratch): the
 * main thread allocates one small object per thread (neighbours, likely sharing a
 * cache line) and hands one to each thread; the thread checks and frees it, then
 * repeatedly allocates a small object of the same size, writes each of its bytes
 * many times and frees it. An allocator that gives a thread back the remote object
 * it just freed makes the threads write into one shared cache line. Fixed work:
 * --iterations objects per thread (default 1000) of --size bytes (default 8), each
 * written --repetitions / threads times (default 400K in total, quick 40K).
 *
 * Checks: each handed-over object still holds what the main thread wrote; after its
 * writes every byte of every object holds the expected count.
 */
#include "workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct worker {
    unsigned char *handed_over;
    unsigned char mark; /* what the main thread wrote into handed_over */
    uint64_t iterations;
    uint64_t repetitions;
    uint64_t size;
};

static void *run_worker(void *arg)
{
    const struct worker *self = arg;
    for (uint64_t k = 0; k < self->size; k++)
        if (self->handed_over[k] != self->mark)
            wl_fail("handed-over object %p changed before its thread freed it",
                    (void *)self->handed_over);
    free(self->handed_over);
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

    uint64_t repetitions_per_thread = repetitions / threads ? repetitions / threads : 1;
    struct worker *workers = malloc(threads * sizeof *workers);
    if (workers == NULL)
        wl_fail("cannot allocate the worker array");
    for (unsigned i = 0; i < threads; i++) {
        workers[i] = (struct worker){
            .handed_over = malloc(size),
            .mark = (unsigned char)(0xa5 ^ i),
            .iterations = iterations,
            .repetitions = repetitions_per_thread,
            .size = size,
        };
        if (workers[i].handed_over == NULL)
            wl_fail("malloc(%llu) returned NULL", (unsigned long long)size);
        memset(workers[i].handed_over, workers[i].mark, size);
    }

    static struct wl_threads pool;
    double start = wl_seconds();
    wl_threads_start(&pool, threads, run_worker, workers, sizeof *workers);
    wl_threads_join(&pool);
    double elapsed = wl_seconds() - start;
    free(workers);

    printf("CHECK OK cache_scratch: %u threads x %llu objects of %llu B, %llu writes each, "
           "in %.2f s\n", threads, (unsigned long long)iterations, (unsigned long long)size,
           (unsigned long long)repetitions_per_thread, elapsed);
    return 0;
}
