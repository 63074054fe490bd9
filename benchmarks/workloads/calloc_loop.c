/*
 * calloc_loop — a program that repeatedly needs a large zeroed buffer: calloc(--size,
 * 1) then free, --iters times (default 1 GiB / size, at least 2) on each of
 * --threads threads. With --touch it also writes one byte per 4 KiB page before
 * freeing, as a program that uses the buffer would. Measures what the allocator
 * pays to hand out zeroed memory (fresh mappings, memset, page faults, returning
 * memory to the system). Prints `METRIC us_per_iter` (wall time / iterations).
 * --quick runs a sixteenth of the iterations (at least one), of an explicit --iters
 * too, since the manifest sizes each of its rows with --iters.
 *
 * Checks: on every iteration the first and last byte and 16 random ones are zero;
 * with --touch also the byte of every page that is about to be written.
 */
#include "workload.h"

#include <stdio.h>
#include <stdlib.h>

enum {
    PAGE_SIZE = 4096,
    RANDOM_PROBES = 16,
};

struct worker {
    unsigned index;
    uint64_t size;
    uint64_t iterations;
    bool touch;
};

static void expect_zero(const unsigned char *buffer, uint64_t offset, uint64_t size,
                        uint64_t iteration)
{
    if (buffer[offset] != 0)
        wl_fail("calloc(%llu, 1) on iteration %llu: byte %llu is %#x, not 0",
                (unsigned long long)size, (unsigned long long)iteration,
                (unsigned long long)offset, buffer[offset]);
}

static void *run_worker(void *arg)
{
    const struct worker *self = arg;
    struct wl_rng rng = wl_rng_seeded(self->index + 1);
    for (uint64_t i = 0; i < self->iterations; i++) {
        unsigned char *buffer = calloc(self->size, 1);
        if (buffer == NULL)
            wl_fail("calloc(%llu, 1) returned NULL", (unsigned long long)self->size);
        expect_zero(buffer, 0, self->size, i);
        expect_zero(buffer, self->size - 1, self->size, i);
        for (unsigned k = 0; k < RANDOM_PROBES; k++)
            expect_zero(buffer, wl_rng_below(&rng, self->size), self->size, i);
        if (self->touch) {
            for (uint64_t offset = 0; offset < self->size; offset += PAGE_SIZE) {
                expect_zero(buffer, offset, self->size, i);
                buffer[offset] = 1;
            }
        }
        free(buffer);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    uint64_t threads_requested = 1, size = 1 << 20, iterations = 0;
    bool quick = wl_quick_requested(argc, argv), touch = false;
    const struct wl_option options[] = {
        { "threads", WL_COUNT, &threads_requested },
        { "quick", WL_FLAG, &quick },
        { "size", WL_COUNT, &size },
        { "iters", WL_COUNT, &iterations },
        { "touch", WL_FLAG, &touch },
    };
    wl_parse_options(argc, argv, options, sizeof options / sizeof options[0]);
    unsigned threads = wl_thread_count(threads_requested);
    if (iterations == 0)
        iterations = size < ((uint64_t)1 << 29) ? ((uint64_t)1 << 30) / size : 2;
    if (quick)
        iterations = iterations < 16 ? 1 : iterations / 16;

    struct worker *workers = malloc(threads * sizeof *workers);
    if (workers == NULL)
        wl_fail("cannot allocate the worker array");
    for (unsigned i = 0; i < threads; i++)
        workers[i] = (struct worker){ i, size, iterations, touch };

    static struct wl_threads pool;
    double start = wl_seconds();
    wl_threads_start(&pool, threads, run_worker, workers, sizeof *workers);
    wl_threads_join(&pool);
    double elapsed = wl_seconds() - start;
    free(workers);

    printf("METRIC us_per_iter %.3f\n", elapsed * 1e6 / (double)iterations);
    printf("CHECK OK calloc_loop: %u threads x %llu iterations of calloc(%llu, 1)%s "
           "in %.2f s\n", threads, (unsigned long long)iterations, (unsigned long long)size,
           touch ? " with touch" : "", elapsed);
    return 0;
}
