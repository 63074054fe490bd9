/*
 * larson — models a long-running server (after Larson and Krishnan's benchmark):
 * a shared array of live objects is split into one region per thread, and each
 * thread repeatedly replaces a random object of its region with a new one of random
 * size (16 B..1 KiB). Regions rotate between threads every round, so most frees are
 * of objects another thread allocated. Runs for a fixed time (--seconds, default 2,
 * quick 0.2) and reports replacements per second as `METRIC throughput`.
 *
 * Checks: every object's header (size, tag) and its trailer (the inverted tag in
 * the last four bytes) are intact when it is freed.
 */
#include "workload.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    MIN_SIZE = 16,
    MAX_SIZE = 1024,
    SLOTS_PER_REGION = 1024,
    REPLACEMENTS_PER_ROUND = 8 * SLOTS_PER_REGION,
};

struct object_header {
    uint32_t size;
    uint32_t tag;
};

struct worker {
    unsigned index;
    uint64_t replacements;
};

static void **slots;
static unsigned region_count;
static pthread_barrier_t round_barrier;
static atomic_bool stop;
static double deadline;

static void *new_object(struct wl_rng *rng)
{
    struct object_header header = {
        .size = (uint32_t)wl_rng_between(rng, MIN_SIZE, MAX_SIZE),
        .tag = (uint32_t)wl_rng_next(rng),
    };
    unsigned char *object = malloc(header.size);
    if (object == NULL)
        wl_fail("malloc(%u) returned NULL", header.size);
    uint32_t trailer = ~header.tag;
    memcpy(object, &header, sizeof header);
    memcpy(object + header.size - sizeof trailer, &trailer, sizeof trailer);
    return object;
}

static void check_and_free(unsigned char *object)
{
    struct object_header header;
    uint32_t trailer;
    memcpy(&header, object, sizeof header);
    if (header.size < MIN_SIZE || header.size > MAX_SIZE)
        wl_fail("object %p has a corrupt header (size %u)", (void *)object, header.size);
    memcpy(&trailer, object + header.size - sizeof trailer, sizeof trailer);
    if (trailer != ~header.tag)
        wl_fail("object %p of %u bytes has a corrupt trailer", (void *)object, header.size);
    free(object);
}

static void *run_worker(void *arg)
{
    struct worker *self = arg;
    struct wl_rng rng = wl_rng_seeded(self->index + 1);
    uint64_t replacements = 0;
    for (unsigned round = 0;; round++) {
        void **region = slots + (size_t)((self->index + round) % region_count) * SLOTS_PER_REGION;
        for (unsigned i = 0; i < REPLACEMENTS_PER_ROUND; i++) {
            size_t slot = wl_rng_below(&rng, SLOTS_PER_REGION);
            check_and_free(region[slot]);
            region[slot] = new_object(&rng);
        }
        replacements += REPLACEMENTS_PER_ROUND;
        /* Everyone finishes the round before regions move on; one thread decides
         * whether there is another round, the second wait publishes its decision. */
        if (pthread_barrier_wait(&round_barrier) == PTHREAD_BARRIER_SERIAL_THREAD)
            atomic_store(&stop, wl_seconds() >= deadline);
        pthread_barrier_wait(&round_barrier);
        if (atomic_load(&stop))
            break;
    }
    self->replacements = replacements;
    return NULL;
}

int main(int argc, char **argv)
{
    uint64_t threads_requested = 1;
    bool quick = wl_quick_requested(argc, argv);
    double seconds = quick ? 0.2 : 2.0;
    const struct wl_option options[] = {
        { "threads", WL_COUNT, &threads_requested },
        { "quick", WL_FLAG, &quick },
        { "seconds", WL_SECONDS, &seconds },
    };
    wl_parse_options(argc, argv, options, sizeof options / sizeof options[0]);
    unsigned threads = wl_thread_count(threads_requested);

    region_count = threads;
    size_t slot_count = (size_t)threads * SLOTS_PER_REGION;
    slots = malloc(slot_count * sizeof *slots);
    struct worker *workers = calloc(threads, sizeof *workers);
    if (slots == NULL || workers == NULL)
        wl_fail("cannot allocate the slot array");
    struct wl_rng rng = wl_rng_seeded(0);
    for (size_t i = 0; i < slot_count; i++)
        slots[i] = new_object(&rng);
    for (unsigned i = 0; i < threads; i++)
        workers[i].index = i;
    pthread_barrier_init(&round_barrier, NULL, threads);

    static struct wl_threads pool;
    double start = wl_seconds();
    deadline = start + seconds;
    wl_threads_start(&pool, threads, run_worker, workers, sizeof *workers);
    wl_threads_join(&pool);
    double elapsed = wl_seconds() - start;

    uint64_t replacements = 0;
    for (unsigned i = 0; i < threads; i++)
        replacements += workers[i].replacements;
    for (size_t i = 0; i < slot_count; i++)
        check_and_free(slots[i]);
    pthread_barrier_destroy(&round_barrier);
    free(workers);
    free(slots);

    printf("METRIC throughput %.0f\n", (double)replacements / elapsed);
    printf("CHECK OK larson: %llu replacements by %u threads in %.2f s\n",
           (unsigned long long)replacements, threads, elapsed);
    return 0;
}
