/*
 * test_invalid.c — misuse is caught: freeing a pointer the allocator never returned
 * (a stack address, a separate mmap) prints exactly one line
 * "pagoda: free(): invalid pointer 0x…" and aborts; a double free aborts with a
 * message naming the pointer, immediately for a large object and, for a small one,
 * at the latest when the duplicate reaches the central tier. Each misuse happens in
 * a forked child whose stderr and fate are captured.
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "tests/support/child.h"

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)

static void assert_aborted(const struct child_result *r, const char *what)
{
    char status[96];
    ck_assert_msg(WIFSIGNALED(r->status) && WTERMSIG(r->status) == SIGABRT,
                  "%s: child %s, expected SIGABRT; stderr: \"%s\"", what,
                  describe_status(r->status, status, sizeof status), r->stderr_text);
}

static void assert_invalid_pointer_report(const struct child_result *r, const void *ptr)
{
    char expected[96];
    snprintf(expected, sizeof expected, "pagoda: free(): invalid pointer %p\n", ptr);
    ck_assert_msg(strcmp(r->stderr_text, expected) == 0,
                  "stderr was \"%s\", expected \"%s\"", r->stderr_text, expected);
}

static void assert_message_names_pointer(const struct child_result *r, const void *ptr)
{
    char pointer[32];
    snprintf(pointer, sizeof pointer, "%p", ptr);
    ck_assert_msg(strncmp(r->stderr_text, "pagoda: ", 8) == 0,
                  "stderr \"%s\" does not start with \"pagoda: \"", r->stderr_text);
    ck_assert_msg(strstr(r->stderr_text, pointer) != NULL,
                  "stderr \"%s\" does not name the pointer %s", r->stderr_text, pointer);
}

/* The child inherits the parent's address space, so a pointer computed in the test
 * means the same memory in the child. */
static void free_the_argument(void *ptr)
{
    free(ptr);
}

START_TEST(test_free_of_a_stack_address_aborts_with_invalid_pointer)
{
    long stack_var = 42;
    struct child_result r;
    run_in_child(free_the_argument, &stack_var, 10, &r);
    assert_aborted(&r, "free(&stack_var)");
    assert_invalid_pointer_report(&r, &stack_var);
}
END_TEST

START_TEST(test_free_of_a_foreign_mmap_aborts_with_invalid_pointer)
{
    void *region = mmap(NULL, 64 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(region, MAP_FAILED);
    struct child_result r;
    run_in_child(free_the_argument, region, 10, &r);
    munmap(region, 64 * KiB);
    assert_aborted(&r, "free of a separate mmap");
    assert_invalid_pointer_report(&r, region);
}
END_TEST

/* free() knows a large object by the class byte of its first page: an address inside
 * that page past its start, or inside its last page, is still refused. */
enum { INTERIOR_TEST_SIZE = 256 * 1024 };
static const size_t large_interior_offsets[] = { 16, INTERIOR_TEST_SIZE - 4096 + 16 };

START_TEST(test_free_inside_a_large_object_aborts_with_invalid_pointer)
{
    char *large = malloc(INTERIOR_TEST_SIZE);
    ck_assert_ptr_nonnull(large);
    char *inside = large + large_interior_offsets[_i];
    struct child_result r;
    run_in_child(free_the_argument, inside, 10, &r);
    free(large);
    assert_aborted(&r, "free inside a large object");
    assert_invalid_pointer_report(&r, inside);
}
END_TEST

static void free_twice(void *ptr)
{
    void *volatile p = ptr;   /* keeps gcc from diagnosing the deliberate misuse */
    free(p);
    free(p);
}

/* 1 MiB goes to the thread's large cache when freed; 16 MiB, longer than any thread's
 * cache may hold, becomes the process's spare block. */
static const size_t large_double_free_sizes[] = { 1 * MiB, 16 * MiB };

START_TEST(test_double_free_of_a_large_object_aborts)
{
    size_t size = large_double_free_sizes[_i];
    void *large = malloc(size);
    ck_assert_ptr_nonnull(large);
    memset(large, 1, size);
    struct child_result r;
    run_in_child(free_twice, large, 10, &r);
    free(large);
    assert_aborted(&r, size == 1 * MiB ? "double free of a 1 MiB object" : "double free of a 16 MiB object");
    assert_message_names_pointer(&r, large);
}
END_TEST

/* The 16 MiB object becomes the spare, and the 32 MiB one freed after it displaces it
 * into the page heap, which clears its first page's class byte: the second free of the
 * 16 MiB object then finds neither a cached block nor the spare, but free pages. */
static void free_displaced_spare_twice(void *arg)
{
    void *const *blocks = arg;
    void *volatile first = blocks[0];
    free(first);
    free(blocks[1]);
    free(first);
}

START_TEST(test_double_free_of_a_large_object_back_in_the_page_heap_aborts)
{
    void *blocks[2] = { malloc(16 * MiB), malloc(32 * MiB) };
    ck_assert_ptr_nonnull(blocks[0]);
    ck_assert_ptr_nonnull(blocks[1]);
    struct child_result r;
    run_in_child(free_displaced_spare_twice, blocks, 10, &r);
    free(blocks[0]);
    free(blocks[1]);
    assert_aborted(&r, "double free of a 16 MiB object the page heap took back");
    assert_message_names_pointer(&r, blocks[0]);
}
END_TEST

/* Small frees go to the thread cache unchecked, so the duplicate is found when it
 * reaches the central free lists. Freeing thousands more objects of the same size
 * pushes batches there, and the thread exiting flushes the rest of its cache. */
enum { SMALL_SIZE = 64, SMALL_FOLLOWERS = 8192 };

static void *double_free_then_flush(void *ptr)
{
    static void *followers[SMALL_FOLLOWERS];
    for (int i = 0; i < SMALL_FOLLOWERS; i++)
        followers[i] = malloc(SMALL_SIZE);
    free_twice(ptr);
    for (int i = 0; i < SMALL_FOLLOWERS; i++)
        free(followers[i]);
    return NULL;
}

static void small_double_free_in_a_thread(void *ptr)
{
    pthread_t thread;
    if (pthread_create(&thread, NULL, double_free_then_flush, ptr) == 0)
        pthread_join(thread, NULL);
}

START_TEST(test_double_free_of_a_small_object_aborts_once_flushed)
{
    void *small = malloc(SMALL_SIZE);
    ck_assert_ptr_nonnull(small);
    struct child_result r;
    run_in_child(small_double_free_in_a_thread, small, 10, &r);
    free(small);
    assert_aborted(&r, "double free of a 64-byte object, then 8192 more frees and thread exit");
    assert_message_names_pointer(&r, small);
}
END_TEST

static Suite *invalid_suite(void)
{
    Suite *s = suite_create("invalid");

    TCase *invalid = tcase_create("invalid_pointer");
    tcase_add_test(invalid, test_free_of_a_stack_address_aborts_with_invalid_pointer);
    tcase_add_test(invalid, test_free_of_a_foreign_mmap_aborts_with_invalid_pointer);
    tcase_add_loop_test(invalid, test_free_inside_a_large_object_aborts_with_invalid_pointer, 0,
                        (int)(sizeof large_interior_offsets / sizeof large_interior_offsets[0]));
    suite_add_tcase(s, invalid);

    TCase *twice = tcase_create("double_free");
    tcase_set_timeout(twice, 30);
    tcase_add_loop_test(twice, test_double_free_of_a_large_object_aborts, 0,
                        (int)(sizeof large_double_free_sizes / sizeof large_double_free_sizes[0]));
    tcase_add_test(twice, test_double_free_of_a_large_object_back_in_the_page_heap_aborts);
    tcase_add_test(twice, test_double_free_of_a_small_object_aborts_once_flushed);
    suite_add_tcase(s, twice);

    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(invalid_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
