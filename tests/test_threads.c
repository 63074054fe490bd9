/*
 * test_threads.c — multithreaded behaviour: a timed stress in which 8 threads
 * allocate random sizes and free a quarter of their objects through other threads,
 * with every byte of every object checked before it is freed; thread churn (1,000
 * short-lived threads) with a bound on resident memory afterwards; and threads that
 * exit having allocated nothing or having only freed.
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/support/clock.h"
#include "tests/support/pattern.h"
#include "tests/support/rss.h"

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)

struct object {
    unsigned char *ptr;
    size_t size;
    uint64_t id;
};

/* ---- failure recording: Check's assertions are for the main thread only ---- */

static atomic_int failures;
static char first_failure[256];

static void record_failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void record_failure(const char *fmt, ...)
{
    if (atomic_fetch_add(&failures, 1) != 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(first_failure, sizeof first_failure, fmt, ap);
    va_end(ap);
}

static void reset_failures(void)
{
    atomic_store(&failures, 0);
    first_failure[0] = '\0';
}

static void assert_no_failures(void)
{
    int count = atomic_load(&failures);
    ck_assert_msg(count == 0, "%d corrupted objects; first: %s", count, first_failure);
}

/* ---- objects: allocate with a pattern, check it, free ---- */

static uint64_t seed_of(const struct object *o)
{
    return o->id ^ (uint64_t)(uintptr_t)o->ptr;
}

static int allocate_object(struct object *o, size_t size, uint64_t id)
{
    o->ptr = malloc(size);
    o->size = size;
    o->id = id;
    if (o->ptr == NULL)
        return 0;
    pattern_fill(o->ptr, size, seed_of(o));
    return 1;
}

static void check_and_free(struct object *o, const char *who)
{
    size_t bad = pattern_mismatch(o->ptr, o->size, seed_of(o));
    if (bad != o->size)
        record_failure("%s: object id %llu at %p, %zu bytes: byte %zu is wrong", who,
                       (unsigned long long)o->id, (void *)o->ptr, o->size, bad);
    free(o->ptr);
    o->ptr = NULL;
}

static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* Mostly small: 80 % up to 256 B, 15 % up to 32 KiB, 4 % up to 256 KiB, 1 % up to
 * 1 MiB. */
static size_t random_size(uint64_t *state)
{
    uint64_t r = next_random(state);
    unsigned bucket = r % 100;
    size_t limit = bucket < 80 ? 256 : bucket < 95 ? 32 * KiB : bucket < 99 ? 256 * KiB : 1 * MiB;
    return 1 + (size_t)((r >> 8) % limit);
}

/* ---- the stress: 8 threads, cross-thread frees through a shared queue ---- */

#define STRESS_THREADS 8
#define STRESS_SECONDS 3.0
#define STRESS_SLOTS 1024
#define QUEUE_CAPACITY 4096

static struct {
    pthread_mutex_t lock;
    struct object items[QUEUE_CAPACITY];
    size_t head, count;
} handoff = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int handoff_push(const struct object *o)
{
    pthread_mutex_lock(&handoff.lock);
    int pushed = handoff.count < QUEUE_CAPACITY;
    if (pushed) {
        handoff.items[(handoff.head + handoff.count) % QUEUE_CAPACITY] = *o;
        handoff.count++;
    }
    pthread_mutex_unlock(&handoff.lock);
    return pushed;
}

static int handoff_pop(struct object *o)
{
    pthread_mutex_lock(&handoff.lock);
    int popped = handoff.count > 0;
    if (popped) {
        *o = handoff.items[handoff.head];
        handoff.head = (handoff.head + 1) % QUEUE_CAPACITY;
        handoff.count--;
    }
    pthread_mutex_unlock(&handoff.lock);
    return popped;
}

struct stress_stats {
    uint64_t allocations, remote_frees, null_returns;
};

struct stress_thread {
    pthread_t thread;
    unsigned index;
    double deadline;
    struct stress_stats stats;
    struct object slots[STRESS_SLOTS];
};

static void *stress_body(void *arg)
{
    struct stress_thread *self = arg;
    uint64_t rng = 0x2545f4914f6cdd1dULL * (self->index + 1);
    uint64_t next_id = (uint64_t)self->index << 48;
    struct stress_stats *st = &self->stats;

    while (monotonic_seconds() < self->deadline) {
        for (int step = 0; step < 256; step++) {
            struct object *slot = &self->slots[next_random(&rng) % STRESS_SLOTS];
            if (slot->ptr == NULL) {
                if (allocate_object(slot, random_size(&rng), next_id++))
                    st->allocations++;
                else
                    st->null_returns++;
            } else if (next_random(&rng) % 4 == 0 && handoff_push(slot)) {
                slot->ptr = NULL;   /* another thread frees it */
            } else {
                check_and_free(slot, "freed by its own thread");
            }
            struct object remote;
            if (next_random(&rng) % 4 == 0 && handoff_pop(&remote)) {
                check_and_free(&remote, "freed by another thread");
                st->remote_frees++;
            }
        }
    }
    for (int i = 0; i < STRESS_SLOTS; i++)
        if (self->slots[i].ptr != NULL)
            check_and_free(&self->slots[i], "freed by its own thread at the end");
    return NULL;
}

START_TEST(test_stress_with_cross_thread_frees_keeps_every_object_intact)
{
    reset_failures();
    static struct stress_thread threads[STRESS_THREADS];
    double deadline = monotonic_seconds() + STRESS_SECONDS;
    for (unsigned i = 0; i < STRESS_THREADS; i++) {
        threads[i] = (struct stress_thread){ .index = i, .deadline = deadline };
        ck_assert_int_eq(pthread_create(&threads[i].thread, NULL, stress_body, &threads[i]), 0);
    }
    struct stress_stats total = { 0 };
    for (unsigned i = 0; i < STRESS_THREADS; i++) {
        pthread_join(threads[i].thread, NULL);
        total.allocations += threads[i].stats.allocations;
        total.remote_frees += threads[i].stats.remote_frees;
        total.null_returns += threads[i].stats.null_returns;
    }
    struct object left;
    while (handoff_pop(&left))
        check_and_free(&left, "freed by the main thread after the stress");

    assert_no_failures();
    ck_assert_msg(total.null_returns == 0, "malloc returned NULL %llu times",
                  (unsigned long long)total.null_returns);
    /* A floor that proves the stress ran, not a speed bar: the rate is bound by
     * filling and checking the large objects (~130,000 allocations on 2 cores, on
     * glibc and pagoda alike) and drops when the machine is busy. */
    ck_assert_msg(total.allocations > 10000, "only %llu allocations in %.0f s",
                  (unsigned long long)total.allocations, STRESS_SECONDS);
    ck_assert_msg(total.remote_frees > 1000, "only %llu cross-thread frees",
                  (unsigned long long)total.remote_frees);
}
END_TEST

/* ---- thread churn ---- */

#define CHURN_THREADS 1000
#define CHURN_WAVE 8
#define WORKER_OBJECTS 300
#define WORKER_LEFT_BEHIND 50
#define HANDED_TO_FREER 200

/* Each worker touches about 300 objects averaging ~1.3 KiB (≈ 400 KiB) and frees
 * most of them in its own thread, so they sit in its thread cache when it exits. 750
 * workers would leave ≈ 290 MiB behind if the caches of exited threads were not
 * given back; an allocator that reclaims them stays within a few MiB. 64 MiB leaves
 * room for per-thread metadata and glibc's cached thread stacks. */
#define CHURN_RSS_BOUND (64 * MiB)

enum churn_role { ROLE_WORKER, ROLE_FREE_ONLY, ROLE_IDLE };

struct churn_thread {
    pthread_t thread;
    enum churn_role role;
    uint64_t id_base;
    struct object objects[WORKER_OBJECTS];   /* worker: left behind; freer: handed in */
    int count;
};

/* Mostly small: 90 % up to 1 KiB, the rest up to 16 KiB. */
static size_t churn_size(uint64_t *rng)
{
    uint64_t r = next_random(rng);
    return 1 + (size_t)((r >> 8) % (r % 10 ? 1 * KiB : 16 * KiB));
}

static void *churn_body(void *arg)
{
    struct churn_thread *self = arg;
    if (self->role == ROLE_FREE_ONLY) {
        for (int i = 0; i < self->count; i++)
            check_and_free(&self->objects[i], "handed to a free-only thread");
        self->count = 0;
    } else if (self->role == ROLE_WORKER) {
        uint64_t rng = self->id_base | 1;
        for (int i = 0; i < WORKER_OBJECTS; i++)
            if (!allocate_object(&self->objects[i], churn_size(&rng), self->id_base + i))
                record_failure("malloc(%zu) returned NULL", self->objects[i].size);
        for (int i = WORKER_LEFT_BEHIND; i < WORKER_OBJECTS; i++)
            if (self->objects[i].ptr != NULL)
                check_and_free(&self->objects[i], "freed by the allocating worker");
        self->count = WORKER_LEFT_BEHIND;
    }
    return NULL;
}

/* Runs one wave: 6 workers, 1 thread that only frees what the main thread hands it,
 * 1 thread that does nothing; then the main thread frees what the workers left. */
static void run_churn_wave(struct churn_thread *wave, uint64_t wave_number)
{
    uint64_t rng = wave_number * 0x9e3779b97f4a7c15u + 7;
    for (int t = 0; t < CHURN_WAVE; t++) {
        struct churn_thread *ct = &wave[t];
        ct->role = t == CHURN_WAVE - 1 ? ROLE_IDLE : t == CHURN_WAVE - 2 ? ROLE_FREE_ONLY
                                                                          : ROLE_WORKER;
        ct->id_base = (wave_number << 20) | ((uint64_t)t << 12);
        ct->count = 0;
        if (ct->role == ROLE_FREE_ONLY) {
            for (int i = 0; i < HANDED_TO_FREER; i++)
                if (allocate_object(&ct->objects[i], churn_size(&rng), ct->id_base + i))
                    ct->count++;
        }
        ck_assert_int_eq(pthread_create(&ct->thread, NULL, churn_body, ct), 0);
    }
    for (int t = 0; t < CHURN_WAVE; t++) {
        pthread_join(wave[t].thread, NULL);
        for (int i = 0; i < wave[t].count; i++)
            if (wave[t].objects[i].ptr != NULL)
                check_and_free(&wave[t].objects[i], "left behind for the main thread");
    }
}

START_TEST(test_thread_churn_keeps_resident_memory_bounded)
{
    static struct churn_thread wave[CHURN_WAVE];
    reset_failures();
    run_churn_wave(wave, 0);   /* warm-up: first-use metadata is not growth */
    size_t before = resident_bytes();
    for (uint64_t w = 1; w <= CHURN_THREADS / CHURN_WAVE; w++)
        run_churn_wave(wave, w);
    size_t after = resident_bytes();
    assert_no_failures();
    size_t growth = after > before ? after - before : 0;
    ck_assert_msg(growth < CHURN_RSS_BOUND, "RSS grew by %zu KiB over %d threads",
                  growth / KiB, CHURN_THREADS);
}
END_TEST

/* ---- threads that exit with nothing, or after only freeing ---- */

static void *do_nothing(void *arg)
{
    return arg;
}

START_TEST(test_threads_that_never_allocate_exit_cleanly)
{
    for (int i = 0; i < 200; i++) {
        pthread_t t;
        ck_assert_int_eq(pthread_create(&t, NULL, do_nothing, NULL), 0);
        ck_assert_int_eq(pthread_join(t, NULL), 0);
    }
    void *p = malloc(100);
    ck_assert_ptr_nonnull(p);
    free(p);
}
END_TEST

static void *free_handed_objects(void *arg)
{
    struct churn_thread *self = arg;
    for (int i = 0; i < self->count; i++)
        check_and_free(&self->objects[i], "freed by a thread that only frees");
    return NULL;
}

START_TEST(test_threads_that_only_free_exit_cleanly)
{
    static struct churn_thread freer;
    reset_failures();
    uint64_t rng = 99;
    for (int round = 0; round < 100; round++) {
        freer.count = 0;
        for (int i = 0; i < HANDED_TO_FREER; i++)
            if (allocate_object(&freer.objects[i], round % 10 ? churn_size(&rng) : 300 * KiB,
                                (uint64_t)round << 16 | (uint64_t)i))
                freer.count++;
        ck_assert_int_eq(freer.count, HANDED_TO_FREER);
        ck_assert_int_eq(pthread_create(&freer.thread, NULL, free_handed_objects, &freer), 0);
        ck_assert_int_eq(pthread_join(freer.thread, NULL), 0);
    }
    assert_no_failures();
}
END_TEST

static Suite *threads_suite(void)
{
    Suite *s = suite_create("threads");

    TCase *stress = tcase_create("stress");
    tcase_set_timeout(stress, 60);
    tcase_add_test(stress, test_stress_with_cross_thread_frees_keeps_every_object_intact);
    suite_add_tcase(s, stress);

    TCase *churn = tcase_create("churn");
    tcase_set_timeout(churn, 60);
    tcase_add_test(churn, test_thread_churn_keeps_resident_memory_bounded);
    tcase_add_test(churn, test_threads_that_never_allocate_exit_cleanly);
    tcase_add_test(churn, test_threads_that_only_free_exit_cleanly);
    suite_add_tcase(s, churn);

    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(threads_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
