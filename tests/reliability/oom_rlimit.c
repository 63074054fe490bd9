/*
 * oom_rlimit.c — pagoda under a real address-space limit (RLIMIT_AS), in a process
 * running on libpagoda.so. Each test runs in its own forked process (Check's default),
 * lowers the limit to what the process already uses plus a little, exhausts it with
 * one kind of request, and proves that allocation then fails with NULL + ENOMEM
 * rather than crashing, that every block already handed out is intact, and that
 * freeing makes allocation succeed again.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "pagoda.h"

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)
#define HEADROOM (256 * MiB)
#define MAX_BLOCKS (4 * 1024 * 1024)

static void *blocks[MAX_BLOCKS];

/* Virtual size of this process now, from /proc/self/statm (first field, pages). */
static size_t virtual_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    ck_assert_ptr_nonnull(f);
    unsigned long pages = 0;
    ck_assert_int_eq(fscanf(f, "%lu", &pages), 1);
    fclose(f);
    return pages * (size_t)sysconf(_SC_PAGESIZE);
}

static void limit_address_space_to_headroom(void)
{
    size_t limit = virtual_bytes() + HEADROOM;
    struct rlimit rl = { limit, limit };
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
}

static void stamp(void *p, size_t size, size_t index)
{
    memcpy(p, &index, sizeof index);
    memcpy((char *)p + size - sizeof index, &index, sizeof index);
}

static int stamped(const void *p, size_t size, size_t index)
{
    size_t head, tail;
    memcpy(&head, p, sizeof head);
    memcpy(&tail, (const char *)p + size - sizeof tail, sizeof tail);
    return head == index && tail == index;
}

/* Allocates size-byte blocks until one fails; returns how many succeeded. The failed
 * call must have set ENOMEM. */
static size_t exhaust(size_t size)
{
    size_t count = 0;
    for (;;) {
        ck_assert_msg(count < MAX_BLOCKS, "no failure after %zu blocks of %zu bytes", count, size);
        errno = 0;
        void *p = pagoda_malloc(size);
        if (!p) {
            ck_assert_msg(errno == ENOMEM, "malloc(%zu) failed with errno %d", size, errno);
            return count;
        }
        stamp(p, size, count);
        blocks[count++] = p;
    }
}

static void check_and_free(size_t count, size_t size, size_t step)
{
    for (size_t i = 0; i < count; i += step) {
        if (!blocks[i])
            continue;
        ck_assert_msg(stamped(blocks[i], size, i), "block %zu of %zu bytes damaged", i, size);
        pagoda_free(blocks[i]);
        blocks[i] = NULL;
    }
}

static void exhaust_free_half_and_refill(size_t size)
{
    limit_address_space_to_headroom();
    size_t count = exhaust(size);
    ck_assert_msg(count * size > HEADROOM / 4, "only %zu blocks of %zu bytes fit under the limit", count, size);

    /* The other entry points fail cleanly too. */
    void *p = &p;
    errno = 0;
    ck_assert_ptr_null(pagoda_calloc(1, 64 * MiB));
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_int_eq(pagoda_posix_memalign(&p, 2 * MiB, 64 * MiB), ENOMEM);
    ck_assert_ptr_eq(p, &p);
    errno = 0;
    ck_assert_ptr_null(pagoda_realloc(blocks[0], 64 * MiB));
    ck_assert_int_eq(errno, ENOMEM);

    check_and_free(count, size, 2);                   /* every other block */
    size_t again = 0;
    for (size_t i = 0; i < count; i += 2) {
        blocks[i] = pagoda_malloc(size);
        if (!blocks[i])
            break;
        stamp(blocks[i], size, i);
        again++;
    }
    ck_assert_msg(again * 2 >= count / 2, "after freeing %zu blocks only %zu could be allocated again",
                  (count + 1) / 2, again);
    check_and_free(count, size, 1);
    void *after = pagoda_malloc(size);
    ck_assert_msg(after != NULL, "malloc(%zu) fails after everything was freed", size);
    pagoda_free(after);
}

START_TEST(test_small_objects_exhaust_the_limit_and_recover)
{
    exhaust_free_half_and_refill(200);
}
END_TEST

START_TEST(test_one_mib_objects_exhaust_the_limit_and_recover)
{
    exhaust_free_half_and_refill(MiB);
}
END_TEST

START_TEST(test_a_request_beyond_the_limit_fails_but_smaller_ones_work)
{
    limit_address_space_to_headroom();
    errno = 0;
    ck_assert_ptr_null(pagoda_malloc(2 * HEADROOM));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(pagoda_aligned_alloc(64 * MiB, 2 * HEADROOM));
    ck_assert_int_eq(errno, ENOMEM);
    void *small = pagoda_malloc(100), *large = pagoda_malloc(HEADROOM / 4);
    ck_assert_ptr_nonnull(small);
    ck_assert_ptr_nonnull(large);
    memset(large, 1, HEADROOM / 4);
    pagoda_free(small);
    pagoda_free(large);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("oom_rlimit");
    TCase *limit = tcase_create("rlimit_as");
    tcase_add_test(limit, test_small_objects_exhaust_the_limit_and_recover);
    tcase_add_test(limit, test_one_mib_objects_exhaust_the_limit_and_recover);
    tcase_add_test(limit, test_a_request_beyond_the_limit_fails_but_smaller_ones_work);
    suite_add_tcase(suite, limit);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
