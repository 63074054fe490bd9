/*
 * fork_loop.c — fork() in a loop while 4 threads allocate, on libpagoda.so. Every
 * fork lands at a random point of the threads' work, possibly with one of them inside
 * the allocator; pagoda's fork handlers must leave the child an allocator whose locks
 * are free and whose structures are whole. Each child allocates (small, large,
 * aligned, calloc, realloc, from a new thread too), checks, frees and exits 0; a child
 * that hangs is killed at its deadline and fails the test.
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "pagoda.h"
#include "tests/support/child.h"
#include "tests/support/pattern.h"

#define KiB ((size_t)1024)
#define ALLOCATING_THREADS 4
#define FORKS 200
#define CHILD_DEADLINE_SECONDS 20
#define SLOTS 512

static int stop;   /* set atomically when the forks are done */
static unsigned long parent_damaged;   /* updated atomically */

static void *allocate_until_stopped(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15u + 1;
    struct { unsigned char *p; size_t size; uint64_t seed; } slots[SLOTS] = { { 0 } };
    for (uint64_t n = 0; !__atomic_load_n(&stop, __ATOMIC_RELAXED); n++) {
        unsigned i = (unsigned)(n * 7919 % SLOTS);
        if (slots[i].p) {
            if (pattern_mismatch(slots[i].p, slots[i].size, slots[i].seed) != slots[i].size)
                __atomic_add_fetch(&parent_damaged, 1, __ATOMIC_RELAXED);
            pagoda_free(slots[i].p);
        }
        size_t size = n % 50 == 0 ? 64 * KiB + n % (512 * KiB) : 1 + n * 31 % (2 * KiB);
        slots[i].p = pagoda_malloc(size);
        slots[i].size = size;
        slots[i].seed = seed + n;
        if (slots[i].p)
            pattern_fill(slots[i].p, size, slots[i].seed);
        else
            __atomic_add_fetch(&parent_damaged, 1, __ATOMIC_RELAXED);
    }
    for (unsigned i = 0; i < SLOTS; i++)
        pagoda_free(slots[i].p);
    return NULL;
}

static void *allocate_in_child_thread(void *arg)
{
    (void)arg;
    void *p = pagoda_malloc(300);
    if (p)
        memset(p, 1, 300);
    return p;
}

#define CHILD_CHECK(cond, code) do { if (!(cond)) _exit(code); } while (0)

static void child_body(void *arg)
{
    (void)arg;
    unsigned char *small = pagoda_malloc(48), *large = pagoda_malloc(3 * 1024 * KiB);
    CHILD_CHECK(small && large, 10);
    pattern_fill(small, 48, 1);
    pattern_fill(large, 3 * 1024 * KiB, 2);
    unsigned char *zeroed = pagoda_calloc(1000, 10);
    CHILD_CHECK(zeroed && zeroed[0] == 0 && zeroed[9999] == 0, 11);
    void *aligned = pagoda_aligned_alloc(64 * KiB, 100);
    CHILD_CHECK(aligned && ((uintptr_t)aligned & (64 * KiB - 1)) == 0, 12);
    small = pagoda_realloc(small, 5000);
    CHILD_CHECK(small && pattern_mismatch(small, 48, 1) == 48, 13);
    pthread_t thread;
    void *from_thread = NULL;
    CHILD_CHECK(pthread_create(&thread, NULL, allocate_in_child_thread, NULL) == 0, 14);
    pthread_join(thread, &from_thread);
    CHILD_CHECK(from_thread != NULL, 15);
    CHILD_CHECK(pattern_mismatch(large, 3 * 1024 * KiB, 2) == 3 * 1024 * KiB, 16);
    pagoda_free(small);
    pagoda_free(large);
    pagoda_free(zeroed);
    pagoda_free(aligned);
    pagoda_free(from_thread);
    pagoda_release_free_memory();
}

START_TEST(test_children_forked_while_threads_allocate_can_allocate_and_exit_cleanly)
{
    pthread_t threads[ALLOCATING_THREADS];
    for (uintptr_t t = 0; t < ALLOCATING_THREADS; t++)
        ck_assert_int_eq(pthread_create(&threads[t], NULL, allocate_until_stopped, (void *)t), 0);
    static struct child_result result;
    int failures = 0;
    for (int i = 0; i < FORKS; i++) {
        run_in_child(child_body, NULL, CHILD_DEADLINE_SECONDS, &result);
        if (!WIFEXITED(result.status) || WEXITSTATUS(result.status) != 0) {
            char status[96];
            fprintf(stderr, "fork %d: child %s; stderr: %s\n", i,
                    describe_status(result.status, status, sizeof status), result.stderr_text);
            failures++;
        }
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (int t = 0; t < ALLOCATING_THREADS; t++)
        pthread_join(threads[t], NULL);
    printf("fork_loop: %d forks while %d threads allocated, %d children failed\n", FORKS,
           ALLOCATING_THREADS, failures);
    ck_assert_msg(failures == 0, "%d of %d children failed", failures, FORKS);
    ck_assert_msg(parent_damaged == 0, "%lu objects damaged or not allocated in the parent", parent_damaged);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("fork_loop");
    TCase *forks = tcase_create("fork");
    tcase_add_test(forks, test_children_forked_while_threads_allocate_can_allocate_and_exit_cleanly);
    suite_add_tcase(suite, forks);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
