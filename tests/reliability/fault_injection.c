/*
 * fault_injection.c — pagoda when the OS refuses memory. Built with
 * -DPAGODA_FAULT_INJECTION, whose pagoda_fault_fail_maps(after, count) lets `after`
 * maps succeed and then fails `count` of them (-1: all), and with pagoda compiled in
 * under ASan+UBSan (pagoda_* names only, the sanitizer keeps malloc).
 *
 * Every scenario runs in a forked child with a deadline, starting from an untouched
 * allocator, and proves:
 *   - each API returns NULL with errno ENOMEM (posix_memalign: returns ENOMEM), and a
 *     failed realloc leaves the old block intact;
 *   - no lock stays held: after the failures the same thread and a new thread allocate
 *     again (a held lock would hang the child until its deadline kills it);
 *   - no metadata is corrupted: every live object keeps its pattern, and a second,
 *     fault-free round of the workload succeeds in full once maps work again.
 * The sweep fails the Nth map (once, and every map from the Nth on) for every N the
 * workload reaches.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pagoda.h"
#include "tests/support/child.h"
#include "tests/support/pattern.h"

void pagoda_fault_fail_maps(long after, long count);

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)
#define CHILD_DEADLINE_SECONDS 60

/* Counters the children add to, in memory shared with the parent. */
struct fault_totals {
    long injected_runs;      /* children in which an injected failure was observed */
    long null_returns;       /* NULL + ENOMEM returns observed */
};
static struct fault_totals *totals;

static void setup_totals(void)
{
    totals = mmap(NULL, sizeof *totals, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(totals, MAP_FAILED);
}

#define CHILD_FAIL(...) do { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); _exit(1); } while (0)

static void run_child_and_expect_success(void (*body)(void *), void *arg, const char *what)
{
    static struct child_result result;
    run_in_child(body, arg, CHILD_DEADLINE_SECONDS, &result);
    char status[96];
    ck_assert_msg(WIFEXITED(result.status) && WEXITSTATUS(result.status) == 0,
                  "%s: child %s; stderr: %s", what, describe_status(result.status, status, sizeof status),
                  result.stderr_text);
}

/* ---- every entry point, with every map failing ---- */

enum api_call {
    CALL_MALLOC, CALL_CALLOC, CALL_REALLOC_NEW, CALL_REALLOC_GROW, CALL_REALLOCARRAY,
    CALL_POSIX_MEMALIGN, CALL_ALIGNED_ALLOC, CALL_MEMALIGN, CALL_VALLOC, CALL_PVALLOC,
    CALL_COUNT
};
static const char *const call_names[CALL_COUNT] = {
    "malloc", "calloc", "realloc(NULL)", "realloc(grow)", "reallocarray",
    "posix_memalign", "aligned_alloc", "memalign", "valloc", "pvalloc",
};

/* Calls one entry point; returns the new block or NULL with errno set. For the
 * realloc calls, *old is the block to resize (kept by a failure). */
static void *call_api(enum api_call call, size_t size, void *old)
{
    void *p = NULL;
    int error;
    switch (call) {
    case CALL_MALLOC:         return pagoda_malloc(size);
    case CALL_CALLOC:         return pagoda_calloc(size / 16, 16);
    case CALL_REALLOC_NEW:    return pagoda_realloc(NULL, size);
    case CALL_REALLOC_GROW:   return pagoda_realloc(old, size);
    case CALL_REALLOCARRAY:   return pagoda_reallocarray(old, size / 8, 8);
    case CALL_POSIX_MEMALIGN:
        error = pagoda_posix_memalign(&p, 256, size);
        if (error) {
            errno = error;
            if (p)
                CHILD_FAIL("posix_memalign failed with %d but wrote %p", error, p);
        }
        return error ? NULL : p;
    case CALL_ALIGNED_ALLOC:  return pagoda_aligned_alloc(2 * MiB, size);
    case CALL_MEMALIGN:       return pagoda_memalign(64 * KiB, size);
    case CALL_VALLOC:         return pagoda_valloc(size);
    case CALL_PVALLOC:        return pagoda_pvalloc(size);
    case CALL_COUNT:          break;
    }
    return NULL;
}

struct api_case {
    enum api_call call;
    size_t size;
    int warm;          /* 1: the allocator has been used before maps fail */
};

static void *allocate_in_new_thread(void *arg)
{
    return pagoda_malloc((size_t)(uintptr_t)arg);
}

/* The failed call must be NULL + ENOMEM, leave the old block intact, and leave
 * pagoda usable from this thread and a new one once maps work again. */
static void api_case_body(void *arg)
{
    const struct api_case *c = arg;
    const char *name = call_names[c->call];
    unsigned char *old = NULL;
    if (c->warm || c->call == CALL_REALLOC_GROW || c->call == CALL_REALLOCARRAY) {
        void *warm_up = pagoda_malloc(100 * KiB);
        old = pagoda_malloc(300);
        if (!warm_up || !old)
            CHILD_FAIL("warm-up allocation failed before any fault");
        pattern_fill(old, 300, 42);
        pagoda_free(warm_up);
    }
    pagoda_fault_fail_maps(0, -1);
    errno = 0;
    void *p = call_api(c->call, c->size, old);
    int error = errno;
    if (p)
        CHILD_FAIL("%s(%zu) succeeded with every map failing", name, c->size);
    if (error != ENOMEM)
        CHILD_FAIL("%s(%zu) failed with errno %d, not ENOMEM", name, c->size, error);
    if (old && pattern_mismatch(old, 300, 42) != 300)
        CHILD_FAIL("%s(%zu) damaged the block it failed to resize", name, c->size);
    __atomic_add_fetch(&totals->null_returns, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&totals->injected_runs, 1, __ATOMIC_RELAXED);

    pagoda_fault_fail_maps(-1, 0);
    p = call_api(c->call, c->size, old);
    if (!p)
        CHILD_FAIL("%s(%zu) still fails once maps work again (errno %d)", name, c->size, errno);
    if (old && (c->call == CALL_REALLOC_GROW || c->call == CALL_REALLOCARRAY)) {
        if (pattern_mismatch(p, 300, 42) != 300)
            CHILD_FAIL("%s(%zu) lost the old contents", name, c->size);
        old = NULL;
    }
    memset(p, 0x3c, c->size);
    pagoda_free(p);
    pagoda_free(old);
    pthread_t thread;
    void *from_thread = NULL;
    if (pthread_create(&thread, NULL, allocate_in_new_thread, (void *)(uintptr_t)(c->size)) != 0 ||
        pthread_join(thread, &from_thread) != 0 || !from_thread)
        CHILD_FAIL("a new thread could not allocate after %s failed", name);
    pagoda_free(from_thread);
}

/* Growing an existing block needs a fresh map only when the new size is large: a
 * small one fits in the pages the old block's allocation already mapped. */
static int needs_a_map(enum api_call call, size_t size)
{
    return size >= MiB || (call != CALL_REALLOC_GROW && call != CALL_REALLOCARRAY);
}

static void run_api_cases(size_t size, int warm)
{
    setup_totals();
    long expected = 0;
    for (int call = 0; call < CALL_COUNT; call++) {
        if (!needs_a_map((enum api_call)call, size))
            continue;
        expected++;
        struct api_case c = { (enum api_call)call, size, warm };
        char what[96];
        snprintf(what, sizeof what, "%s(%zu), %s allocator", call_names[call], size, warm ? "warm" : "untouched");
        run_child_and_expect_success(api_case_body, &c, what);
    }
    ck_assert_int_eq(totals->null_returns, expected);
}

START_TEST(test_small_requests_on_an_untouched_allocator_fail_with_enomem)
{
    run_api_cases(200, 0);
}
END_TEST

START_TEST(test_large_requests_on_an_untouched_allocator_fail_with_enomem)
{
    run_api_cases(48 * MiB, 0);
}
END_TEST

START_TEST(test_large_requests_on_a_warm_allocator_fail_with_enomem)
{
    run_api_cases(48 * MiB, 1);
}
END_TEST

/* ---- a small workload run with the Nth map failing ---- */

#define WORKLOAD_SLOTS 240
#define WORKLOAD_THREADS 2

struct workload {
    unsigned char *p[WORKLOAD_SLOTS];
    size_t size[WORKLOAD_SLOTS];
    long nulls;
};

/* Sizes over every tier: small classes, large spans, and a few that need a new chunk. */
static size_t workload_size(unsigned i)
{
    switch (i % 6) {
    case 0:  return 1 + i % 200;
    case 1:  return 1 + i * 37 % 4000;
    case 2:  return 4000 + i * 101 % 28000;
    case 3:  return 40 * KiB + i * 997 % (200 * KiB);
    case 4:  return i % 40 == 4 ? 9 * MiB + i * KiB : 64 + i % 900;
    default: return 1 + i % 32;
    }
}

/* One round: allocate through several entry points, resize some, free a third. A NULL
 * must come with ENOMEM; when fault_free is set, no NULL is allowed at all. */
static void run_workload(struct workload *w, uint64_t seed, int fault_free)
{
    for (unsigned i = 0; i < WORKLOAD_SLOTS; i++) {
        size_t size = workload_size(i);
        errno = 0;
        void *p = i % 5 == 0 ? pagoda_calloc(1, size)
                : i % 7 == 0 ? pagoda_aligned_alloc(4096, size)
                : pagoda_malloc(size);
        if (!p) {
            if (errno != ENOMEM)
                CHILD_FAIL("allocation of %zu failed with errno %d", size, errno);
            if (fault_free)
                CHILD_FAIL("allocation of %zu failed with maps working", size);
            w->nulls++;
            continue;
        }
        if (w->p[i]) {
            if (pattern_mismatch(w->p[i], w->size[i], seed ^ i) != w->size[i])
                CHILD_FAIL("slot %u (%zu bytes) corrupted", i, w->size[i]);
            pagoda_free(w->p[i]);
        }
        w->p[i] = p;
        w->size[i] = size;
        pattern_fill(p, size, seed ^ i);
        if (i % 4 == 1) {
            size_t bigger = size * 3 + 100;
            errno = 0;
            unsigned char *q = pagoda_realloc(p, bigger);
            if (!q) {
                if (errno != ENOMEM || fault_free)
                    CHILD_FAIL("realloc to %zu failed with errno %d", bigger, errno);
                w->nulls++;
                if (pattern_mismatch(p, size, seed ^ i) != size)
                    CHILD_FAIL("failed realloc damaged its block");
            } else {
                if (pattern_mismatch(q, size, seed ^ i) != size)
                    CHILD_FAIL("realloc to %zu lost contents", bigger);
                w->p[i] = q;
                w->size[i] = bigger;
                pattern_fill(q, bigger, seed ^ i);
            }
        }
        if (i % 3 == 2) {
            pagoda_free(w->p[i - 1]);
            w->p[i - 1] = NULL;
        }
    }
}

static void check_and_free_workload(struct workload *w, uint64_t seed)
{
    for (unsigned i = 0; i < WORKLOAD_SLOTS; i++)
        if (w->p[i]) {
            if (pattern_mismatch(w->p[i], w->size[i], seed ^ i) != w->size[i])
                CHILD_FAIL("slot %u (%zu bytes) corrupted at the end", i, w->size[i]);
            pagoda_free(w->p[i]);
            w->p[i] = NULL;
        }
}

struct workload_thread {
    struct workload w;
    uint64_t seed;
    int fault_free;
};

static void *workload_thread_body(void *arg)
{
    struct workload_thread *t = arg;
    run_workload(&t->w, t->seed, t->fault_free);
    return NULL;
}

/* Runs the workload on the main thread and WORKLOAD_THREADS new ones; returns the
 * number of NULL returns seen. Objects of the threads are freed by the main thread. */
static long run_threaded_workload(uint64_t seed, int fault_free)
{
    static struct workload_thread threads[WORKLOAD_THREADS + 1];
    memset(threads, 0, sizeof threads);
    pthread_t ids[WORKLOAD_THREADS];
    for (int t = 0; t <= WORKLOAD_THREADS; t++)
        threads[t] = (struct workload_thread){ .seed = seed + (uint64_t)t * 1000003, .fault_free = fault_free };
    for (int t = 0; t < WORKLOAD_THREADS; t++)
        if (pthread_create(&ids[t], NULL, workload_thread_body, &threads[t + 1]) != 0)
            CHILD_FAIL("pthread_create failed");
    run_workload(&threads[0].w, threads[0].seed, fault_free);
    long nulls = threads[0].w.nulls;
    for (int t = 0; t < WORKLOAD_THREADS; t++) {
        pthread_join(ids[t], NULL);
        nulls += threads[t + 1].w.nulls;
    }
    for (int t = 0; t <= WORKLOAD_THREADS; t++)
        check_and_free_workload(&threads[t].w, threads[t].seed);
    return nulls;
}

struct sweep_case {
    long after;
    long count;
};

static void sweep_body(void *arg)
{
    const struct sweep_case *c = arg;
    pagoda_fault_fail_maps(c->after, c->count);
    long nulls = run_threaded_workload(1, 0);
    pagoda_fault_fail_maps(-1, 0);
    if (nulls) {
        __atomic_add_fetch(&totals->injected_runs, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&totals->null_returns, nulls, __ATOMIC_RELAXED);
    }
    /* Memory is available again: a full round must now succeed everywhere. */
    pagoda_release_free_memory();
    run_threaded_workload(2, 1);
}

/* The sweep ends at the first N whose "every map from N on fails" run saw no NULL:
 * the workload never needs more than N maps. */
#define SWEEP_MAX 200

START_TEST(test_failing_the_nth_map_at_every_point_of_a_workload)
{
    setup_totals();
    long reached = -1;
    for (long n = 0; n < SWEEP_MAX && reached < 0; n++) {
        long before = totals->injected_runs;
        struct sweep_case every_from_n = { n, -1 }, only_n = { n, 1 };
        char what[64];
        snprintf(what, sizeof what, "every map from #%ld failing", n);
        run_child_and_expect_success(sweep_body, &every_from_n, what);
        if (totals->injected_runs == before)
            reached = n;
        snprintf(what, sizeof what, "only map #%ld failing", n);
        run_child_and_expect_success(sweep_body, &only_n, what);
    }
    ck_assert_msg(reached > 3, "the workload needed only %ld maps: the sweep proves little", reached);
    printf("fault_injection: sweep over %ld map positions x 2 modes, %ld runs saw injected failures, "
           "%ld NULL+ENOMEM returns\n", reached + 1, totals->injected_runs, totals->null_returns);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("fault_injection");
    TCase *api = tcase_create("api");
    tcase_set_timeout(api, 300);
    tcase_add_test(api, test_small_requests_on_an_untouched_allocator_fail_with_enomem);
    tcase_add_test(api, test_large_requests_on_an_untouched_allocator_fail_with_enomem);
    tcase_add_test(api, test_large_requests_on_a_warm_allocator_fail_with_enomem);
    suite_add_tcase(suite, api);
    TCase *sweep = tcase_create("sweep");
    tcase_set_timeout(sweep, 600);
    tcase_add_test(sweep, test_failing_the_nth_map_at_every_point_of_a_workload);
    suite_add_tcase(suite, sweep);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
