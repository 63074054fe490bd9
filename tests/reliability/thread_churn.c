/*
 * thread_churn.c — 10,000 threads created and joined in waves, on libpagoda.so. Each
 * thread allocates objects of mixed sizes, frees most of them itself, frees what the
 * previous wave handed it, and leaves some for the next wave and for the main thread,
 * so caches of exited threads hold memory that pagoda must take back. Every object
 * is checked against its pattern when freed. Afterwards the resident set may exceed
 * what it was after the first wave by at most CHURN_RSS_BOUND.
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "pagoda.h"
#include "tests/support/pattern.h"
#include "tests/support/rss.h"

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)
#define TOTAL_THREADS 10000
#define WAVE 50
#define OBJECTS_PER_THREAD 64
#define HANDED_ON 8             /* per thread, freed by the next wave */

/* Each thread touches about 64 objects of ~2 KiB on average (~130 KiB); 10,000 of
 * them could leave up to 1.3 GiB cached if exited threads' caches were not given back.
 * 32 MiB covers pagoda's global thread-cache budget and what glibc keeps for reused
 * thread stacks and TLS. */
#define CHURN_RSS_BOUND (32 * MiB)

struct object {
    unsigned char *p;
    size_t size;
    uint64_t seed;
};

struct churn_thread {
    pthread_t thread;
    uint64_t id;
    struct object handed_in[HANDED_ON];
    struct object handed_on[HANDED_ON];
    unsigned long damaged;
};

static size_t object_size(uint64_t id, unsigned i)
{
    uint64_t x = (id * 64 + i) * 0x9e3779b97f4a7c15u;
    return 1 + (size_t)((x >> 20) % (x % 16 ? 1 * KiB : 32 * KiB));
}

static int allocate(struct object *o, size_t size, uint64_t seed)
{
    o->p = pagoda_malloc(size);
    o->size = size;
    o->seed = seed;
    if (o->p)
        pattern_fill(o->p, size, seed);
    return o->p != NULL;
}

static unsigned long check_and_free(struct object *o)
{
    if (!o->p)
        return 1;   /* an allocation that failed counts as damage */
    unsigned long bad = pattern_mismatch(o->p, o->size, o->seed) != o->size;
    pagoda_free(o->p);
    o->p = NULL;
    return bad;
}

static void *churn_body(void *arg)
{
    struct churn_thread *self = arg;
    struct object mine[OBJECTS_PER_THREAD];
    for (unsigned i = 0; i < OBJECTS_PER_THREAD; i++)
        allocate(&mine[i], object_size(self->id, i), self->id * 1000 + i);
    for (unsigned i = 0; i < HANDED_ON; i++)
        self->damaged += check_and_free(&self->handed_in[i]);
    for (unsigned i = 0; i < OBJECTS_PER_THREAD; i++) {
        if (i < HANDED_ON)
            self->handed_on[i] = mine[i];
        else
            self->damaged += check_and_free(&mine[i]);
    }
    return NULL;
}

START_TEST(test_ten_thousand_threads_in_waves_keep_objects_and_memory_bounded)
{
    static struct churn_thread waves[2][WAVE];
    size_t rss_after_first_wave = 0;
    unsigned long damaged = 0;
    for (unsigned w = 0; w < TOTAL_THREADS / WAVE; w++) {
        struct churn_thread *wave = waves[w % 2], *previous = waves[(w + 1) % 2];
        for (unsigned t = 0; t < WAVE; t++) {
            wave[t].id = (uint64_t)w * WAVE + t;
            wave[t].damaged = 0;
            for (unsigned i = 0; i < HANDED_ON; i++) {
                if (w == 0)
                    allocate(&wave[t].handed_in[i], 100 + i, ~(uint64_t)i);
                else
                    wave[t].handed_in[i] = previous[(t + 1) % WAVE].handed_on[i];
            }
        }
        for (unsigned t = 0; t < WAVE; t++)
            ck_assert_int_eq(pthread_create(&wave[t].thread, NULL, churn_body, &wave[t]), 0);
        for (unsigned t = 0; t < WAVE; t++) {
            pthread_join(wave[t].thread, NULL);
            damaged += wave[t].damaged;
        }
        if (w == 0)
            rss_after_first_wave = resident_bytes();
    }
    struct churn_thread *last = waves[(TOTAL_THREADS / WAVE - 1) % 2];
    for (unsigned t = 0; t < WAVE; t++)
        for (unsigned i = 0; i < HANDED_ON; i++)
            damaged += check_and_free(&last[t].handed_on[i]);
    ck_assert_msg(damaged == 0, "%lu objects damaged or not allocated", damaged);

    size_t rss = resident_bytes();
    size_t growth = rss > rss_after_first_wave ? rss - rss_after_first_wave : 0;
    printf("thread_churn: %d threads in waves of %d; RSS %zu MiB after the first wave, %zu MiB at the end\n",
           TOTAL_THREADS, WAVE, rss_after_first_wave / MiB, rss / MiB);
    ck_assert_msg(growth <= CHURN_RSS_BOUND, "resident set grew by %zu MiB (bound %zu MiB)",
                  growth / MiB, CHURN_RSS_BOUND / MiB);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("thread_churn");
    TCase *churn = tcase_create("churn");
    tcase_add_test(churn, test_ten_thousand_threads_in_waves_keep_objects_and_memory_bounded);
    suite_add_tcase(suite, churn);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
