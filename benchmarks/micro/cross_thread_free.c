/*
 * cross_thread_free.c — objects allocated by one thread and freed by another.
 *
 * The benchmark thread (producer) allocates objects in batches of BATCH and hands
 * each full batch to a consumer thread through a single-producer single-consumer
 * ring; the consumer frees them. An iteration is one object; the time stops only
 * once the consumer has freed everything, so the rate is objects/s end to end.
 * The consumer is started and joined inside run(), so no thread spins between runs.
 */
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "check.h"
#include "escape.h"
#include "micro_case.h"

#define BATCH 64
#define SLOTS 64

struct slot {
    alignas(64) atomic_int full;
    int count; /* 0 tells the consumer to stop */
    void *ptrs[BATCH];
};

struct ring {
    struct slot slots[SLOTS];
};

/* Spins a little, then yields: the machine may have fewer idle cores than threads. */
static void wait_until(atomic_int *flag, int value)
{
    for (int spins = 0; atomic_load_explicit(flag, memory_order_acquire) != value; spins++)
        if (spins > 100)
            sched_yield();
}

static void *consume(void *arg)
{
    struct ring *r = arg;
    for (unsigned i = 0;; i = (i + 1) % SLOTS) {
        struct slot *s = &r->slots[i];
        wait_until(&s->full, 1);
        int count = s->count;
        for (int k = 0; k < count; k++)
            free(s->ptrs[k]);
        atomic_store_explicit(&s->full, 0, memory_order_release);
        if (count == 0)
            return NULL;
    }
}

static void *setup(long param, long size)
{
    (void)param;
    (void)size;
    struct ring *r;
    micro_check(posix_memalign((void **)&r, 64, sizeof *r) == 0, "setup allocation");
    for (int i = 0; i < SLOTS; i++)
        atomic_init(&r->slots[i].full, 0);
    return r;
}

static void run(void *ctx, long param, long size, uint64_t iterations)
{
    struct ring *r = ctx;
    pthread_t consumer;
    (void)param;
    micro_check(pthread_create(&consumer, NULL, consume, r) == 0, "pthread_create");

    unsigned i = 0;
    uint64_t left = iterations;
    for (;; i = (i + 1) % SLOTS) {
        struct slot *s = &r->slots[i];
        wait_until(&s->full, 0);
        int count = left < BATCH ? (int)left : BATCH;
        for (int k = 0; k < count; k++) {
            char *p = malloc((size_t)size);
            escape(p);
            p[0] = 1;
            s->ptrs[k] = p;
        }
        s->count = count;
        left -= (uint64_t)count;
        atomic_store_explicit(&s->full, 1, memory_order_release);
        if (count == 0)
            break;
    }
    micro_check(pthread_join(consumer, NULL) == 0, "pthread_join");
}

static void teardown(void *ctx)
{
    free(ctx);
}

static const long sizes[] = {64, 1024, 0};
static const long quick_sizes[] = {64, 0};

const struct micro_case case_cross_thread_free = {
    .name = "cross_thread_free",
    .args = sizes,
    .quick_args = quick_sizes,
    .setup = setup,
    .run = run,
    .teardown = teardown,
    .items_per_iteration = one_item,
    .ranked_by_throughput = 1,
};
