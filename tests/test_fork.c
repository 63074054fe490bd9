/*
 * test_fork.c — the allocator across process boundaries and lifetimes: fork() while
 * other threads are in the middle of allocating (the child must find the allocator
 * usable, not deadlocked or corrupt), fork() from a process that has only ever had
 * one thread (whose fork takes no lock: init.c), and allocation from a constructor, an
 * atexit handler and a destructor.
 */
#define _GNU_SOURCE
#include <check.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/child.h"
#include "tests/support/pattern.h"
#include "tests/support/self_exec.h"

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)

/* Exit codes of the children: which step failed. */
enum child_exit {
    CHILD_OK = 0,
    CHILD_SMALL_FAILED = 2,
    CHILD_LARGE_FAILED = 3,
    CHILD_THREAD_NOT_STARTED = 4,
    CHILD_THREAD_ALLOCATION_FAILED = 5,
    HANDLER_ALLOCATION_FAILED = 6,
    HANDLER_RAN_AND_ALLOCATED = 42,
};

static const size_t lifetime_sizes[] = { 1, 24, 100, 1000, 4 * KiB, 32 * KiB, 100 * KiB, 2 * MiB };
#define LIFETIME_SIZE_COUNT (sizeof lifetime_sizes / sizeof lifetime_sizes[0])

/* Allocates, fills, checks and frees one block of each size in sizes; returns 1 when
 * every block was allocated and kept its contents. */
static int allocate_fill_check_free(const size_t *sizes, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        unsigned char *p = malloc(sizes[i]);
        if (p == NULL)
            return 0;
        pattern_fill(p, sizes[i], i + 1);
        int intact = pattern_mismatch(p, sizes[i], i + 1) == sizes[i];
        free(p);
        if (!intact)
            return 0;
    }
    return 1;
}

static void assert_child_exited(const struct child_result *r, int expected_code,
                                const char *what)
{
    char status[96];
    ck_assert_msg(WIFEXITED(r->status) && WEXITSTATUS(r->status) == expected_code,
                  "%s: child %s (expected exit %d); stderr: %s", what,
                  describe_status(r->status, status, sizeof status), expected_code,
                  r->stderr_text);
}

/* ---- fork while other threads allocate ---- */

#define BACKGROUND_THREADS 4
#define FORKS 50

static atomic_int stop_background;
static atomic_int background_failures;

static void *allocate_in_loop(void *arg)
{
    uint64_t rng = (uintptr_t)arg * 0x9e3779b97f4a7c15u + 1;
    void *held[64] = { 0 };
    size_t held_size[64] = { 0 };
    while (!atomic_load(&stop_background)) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        unsigned slot = rng % 64;
        if (held[slot] != NULL) {
            if (pattern_mismatch(held[slot], held_size[slot], slot) != held_size[slot])
                atomic_fetch_add(&background_failures, 1);
            free(held[slot]);
            held[slot] = NULL;
        } else {
            held_size[slot] = 1 + (rng >> 20) % (rng % 16 ? 2 * KiB : 512 * KiB);
            held[slot] = malloc(held_size[slot]);
            if (held[slot] == NULL)
                atomic_fetch_add(&background_failures, 1);
            else
                pattern_fill(held[slot], held_size[slot], slot);
        }
    }
    for (unsigned i = 0; i < 64; i++)
        free(held[i]);
    return NULL;
}

static void *allocate_in_child_thread(void *arg)
{
    (void)arg;
    int ok = allocate_fill_check_free(lifetime_sizes, LIFETIME_SIZE_COUNT);
    return ok ? (void *)1 : NULL;
}

static void forked_child_body(void *arg)
{
    (void)arg;
    static const size_t small[] = { 8, 16, 48, 256, 1000, 8 * KiB, 32 * KiB };
    static const size_t large[] = { 32 * KiB + 1, 1 * MiB, 8 * MiB };
    if (!allocate_fill_check_free(small, sizeof small / sizeof small[0]))
        _exit(CHILD_SMALL_FAILED);
    if (!allocate_fill_check_free(large, sizeof large / sizeof large[0]))
        _exit(CHILD_LARGE_FAILED);
    pthread_t thread;
    void *thread_ok = NULL;
    if (pthread_create(&thread, NULL, allocate_in_child_thread, NULL) != 0)
        _exit(CHILD_THREAD_NOT_STARTED);
    pthread_join(thread, &thread_ok);
    if (thread_ok == NULL)
        _exit(CHILD_THREAD_ALLOCATION_FAILED);
}

START_TEST(test_fork_while_threads_allocate_leaves_child_allocator_usable)
{
    pthread_t threads[BACKGROUND_THREADS];
    atomic_store(&stop_background, 0);
    atomic_store(&background_failures, 0);
    for (uintptr_t i = 0; i < BACKGROUND_THREADS; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, allocate_in_loop, (void *)i), 0);

    int bad_children = 0;
    struct child_result first_bad = { 0 };
    for (int i = 0; i < FORKS; i++) {
        struct child_result r;
        usleep(2000);   /* let the background threads get into the allocator */
        run_in_child(forked_child_body, NULL, 10, &r);
        if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != CHILD_OK) {
            if (bad_children++ == 0)
                first_bad = r;
        }
    }

    atomic_store(&stop_background, 1);
    for (int i = 0; i < BACKGROUND_THREADS; i++)
        pthread_join(threads[i], NULL);
    if (bad_children > 0) {
        char status[96];
        ck_abort_msg("%d of %d forked children failed; the first %s (2 small, 3 large, "
                     "4 thread start, 5 thread allocation, SIGKILL = deadlock); stderr: %s",
                     bad_children, FORKS,
                     describe_status(first_bad.status, status, sizeof status),
                     first_bad.stderr_text);
    }
    ck_assert_int_eq(atomic_load(&background_failures), 0);
}
END_TEST

/* ---- fork from a process with one thread ---- */

#define SINGLE_THREADED_FORKS 20

/* The child's side of a round: the round's sizes, then forked_child_body's (more
 * sizes, and a thread). */
static void allocate_in_single_threaded_child(void *sizes)
{
    if (!allocate_fill_check_free(sizes, 4))
        _exit(CHILD_SMALL_FAILED);
    forked_child_body(NULL);
}

/* In a fresh process, which has never had a second thread: forks, and in both the
 * child and the parent goes through every lock fork would take (new classes' central
 * lists, the page heap, new span structures, a new thread's cache), with the parent
 * waiting for each child first. A lock left taken in either would hang it. Reports
 * how many rounds passed in both, and whether glibc counted the process as
 * single-threaded before the first fork (the test's precondition). */
static int scenario_single_threaded_forks(void)
{
    printf("single_threaded=%d\n", __libc_single_threaded ? 1 : 0);
    fflush(stdout);
    int rounds_ok = 0;
    for (int i = 0; i < SINGLE_THREADED_FORKS; i++) {
        /* a size whose class neither process has used yet, and large blocks */
        const size_t sizes[] = { 8 + 8 * (size_t)i, 600 + 40 * (size_t)i, 40 * KiB + 4 * KiB * i, 3 * MiB };
        struct child_result child;          /* a child that hangs is killed after 10 s */
        run_in_child(allocate_in_single_threaded_child, (void *)sizes, 10, &child);
        if (!WIFEXITED(child.status) || WEXITSTATUS(child.status) != CHILD_OK)
            break;
        if (!allocate_fill_check_free(sizes, 4))
            break;
        rounds_ok++;
    }
    printf("rounds_ok=%d\n", rounds_ok);
    return 0;
}

START_TEST(test_fork_from_a_single_threaded_process_leaves_both_sides_usable)
{
    struct scenario_result r;
    run_scenario("single_threaded_forks", NULL, 60, &r);
    char status[96];
    ck_assert_msg(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "scenario %s (SIGKILL = a "
                  "lock left taken); stderr: %s", describe_status(r.status, status, sizeof status),
                  r.stderr_text);
    ck_assert_msg(scenario_value(r.stdout_text, "single_threaded") == 1,
                  "precondition: glibc did not count the fresh process as single-threaded");
    ck_assert_int_eq(scenario_value(r.stdout_text, "rounds_ok"), SINGLE_THREADED_FORKS);
}
END_TEST

/* ---- allocation in a constructor ---- */

static unsigned char *constructor_blocks[LIFETIME_SIZE_COUNT];

__attribute__((constructor)) static void allocate_in_constructor(void)
{
    for (size_t i = 0; i < LIFETIME_SIZE_COUNT; i++) {
        constructor_blocks[i] = malloc(lifetime_sizes[i]);
        if (constructor_blocks[i] != NULL)
            pattern_fill(constructor_blocks[i], lifetime_sizes[i], 1000 + i);
    }
}

START_TEST(test_blocks_allocated_in_a_constructor_are_usable)
{
    for (size_t i = 0; i < LIFETIME_SIZE_COUNT; i++) {
        size_t size = lifetime_sizes[i];
        ck_assert_msg(constructor_blocks[i] != NULL, "malloc(%zu) in a constructor failed", size);
        ck_assert_uint_ge(malloc_usable_size(constructor_blocks[i]), size);
        ck_assert_msg(pattern_mismatch(constructor_blocks[i], size, 1000 + i) == size,
                      "the %zu-byte block from the constructor was overwritten", size);
        free(constructor_blocks[i]);
    }
}
END_TEST

/* ---- allocation in an atexit handler and a destructor ---- */

/* Each handler proves it ran and could allocate by _exit()ing with a distinctive
 * code; any other outcome (a crash, NULL, corruption) shows as a different status. */
static void allocate_then_report(void)
{
    _exit(allocate_fill_check_free(lifetime_sizes, LIFETIME_SIZE_COUNT)
              ? HANDLER_RAN_AND_ALLOCATED : HANDLER_ALLOCATION_FAILED);
}

static void exit_with_atexit_handler(void *arg)
{
    (void)arg;
    atexit(allocate_then_report);
    exit(0);
}

START_TEST(test_allocation_in_an_atexit_handler_works)
{
    struct child_result r;
    run_in_child(exit_with_atexit_handler, NULL, 10, &r);
    assert_child_exited(&r, HANDLER_RAN_AND_ALLOCATED, "atexit handler");
}
END_TEST

static int destructor_armed;

__attribute__((destructor)) static void allocate_in_destructor(void)
{
    if (destructor_armed)
        allocate_then_report();
}

static void exit_with_armed_destructor(void *arg)
{
    (void)arg;
    destructor_armed = 1;
    exit(0);
}

START_TEST(test_allocation_in_a_destructor_works)
{
    struct child_result r;
    run_in_child(exit_with_armed_destructor, NULL, 10, &r);
    assert_child_exited(&r, HANDLER_RAN_AND_ALLOCATED, "destructor");
}
END_TEST

static Suite *fork_suite(void)
{
    Suite *s = suite_create("fork");

    TCase *forking = tcase_create("fork");
    tcase_set_timeout(forking, 120);
    tcase_add_test(forking, test_fork_while_threads_allocate_leaves_child_allocator_usable);
    tcase_add_test(forking, test_fork_from_a_single_threaded_process_leaves_both_sides_usable);
    suite_add_tcase(s, forking);

    TCase *lifetime = tcase_create("lifetime");
    tcase_add_test(lifetime, test_blocks_allocated_in_a_constructor_are_usable);
    tcase_add_test(lifetime, test_allocation_in_an_atexit_handler_works);
    tcase_add_test(lifetime, test_allocation_in_a_destructor_works);
    suite_add_tcase(s, lifetime);

    return s;
}

int main(int argc, char **argv)
{
    const char *scenario = child_scenario_of(argc, argv);
    if (scenario) {
        if (strcmp(scenario, "single_threaded_forks") == 0)
            return scenario_single_threaded_forks();
        return 2;
    }
    SRunner *runner = srunner_create(fork_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
