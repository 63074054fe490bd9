/*
 * test_page_release_tier.c — giving pages back in batches (central/page_release.h,
 * central/os_release.h), on memory the test maps itself.
 *
 * Invariants checked: every dirty run queued is given back (it reads as zero and its
 * dirty bits are clear) and nothing else is (the pages between keep their data and
 * their bits), across batches that fill up and go out in the middle of the queueing,
 * and the count of released pages says so; pages queued clean are left alone; runs
 * that continue one another count once; a range the kernel refuses (unmapped) is
 * reported as not released, stays dirty and is not counted, and the ranges after it
 * in the same batch still go; and
 * all of this holds under a seccomp filter that makes process_madvise fail, where
 * each range goes by madvise, and under one installed after a first batch, which the
 * next release pass looks for before calling process_madvise again.
 */
#include "tests/tiers/tier_suite.h"

#include "central/page_release.h"
#include "pagemap/pagemap.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif

/* Enough one-page runs to fill two batches and start a third. */
#define REGION_PAGES (4 * OS_RELEASE_BATCH_RANGES + 40)
#define FILL 0x5a

static char *map_written_region(size_t pages)
{
    char *region = mmap(NULL, pages << PAGE_SHIFT, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(region, MAP_FAILED);
    memset(region, FILL, pages << PAGE_SHIFT);
    ck_assert(pagemap_ensure(page_of(region), pages));
    pagemap_mark_dirty(page_of(region), pages);
    return region;
}

static bool page_reads(const char *page, int value)
{
    for (size_t i = 0; i < PAGE_SIZE; i++)
        if (page[i] != (char)value)
            return false;
    return true;
}

/* Queues every other page of a written region, one page a run, plus a stretch queued
 * as two runs that continue one another and a page queued while clean; checks what
 * went and what stayed. */
static void check_every_other_page_goes(void)
{
    char *region = map_written_region(REGION_PAGES);
    uintptr_t first = page_of(region);
    size_t stretch = REGION_PAGES - 20;            /* pages [stretch, REGION_PAGES) */
    pagemap_mark_clean(first + 1, 1);              /* page 1: clean, queued anyway */
    struct page_release_batch batch;
    page_release_begin(&batch);
    size_t expected = 0;
    for (size_t page = 0; page < stretch; page += 2) {
        page_release_queue(&batch, first + page, 1);
        expected++;
    }
    page_release_queue(&batch, first + 1, 1);
    page_release_queue(&batch, first + stretch, 10);
    page_release_queue(&batch, first + stretch + 10, 10);
    expected += 20;
    ck_assert_uint_eq(page_release_finish(&batch), expected);
    for (size_t page = 0; page < REGION_PAGES; page++) {
        bool released = page >= stretch || page % 2 == 0;
        bool dirty = !released && page != 1;      /* page 1 stays clean, and keeps its data */
        if (!page_reads(region + (page << PAGE_SHIFT), released ? 0 : FILL))
            ck_abort_msg("page %zu: %s", page, released ? "not zero after release" : "lost its data");
        if (pagemap_count_dirty(first + page, 1) != (dirty ? 1u : 0u))
            ck_abort_msg("page %zu: dirty bit %s", page, dirty ? "cleared" : "still set");
    }
    munmap(region, (size_t)REGION_PAGES << PAGE_SHIFT);
}

START_TEST(test_a_batch_gives_back_every_queued_dirty_run_and_nothing_else)
{
    check_every_other_page_goes();
}
END_TEST

START_TEST(test_a_range_the_kernel_refuses_is_reported_and_the_rest_still_go)
{
    char *region = map_written_region(8);
    munmap(region + 4 * PAGE_SIZE, PAGE_SIZE);     /* range 2 is not mapped */
    struct os_release_batch batch = { .count = 4 };
    for (unsigned i = 0; i < 4; i++)
        batch.ranges[i] = (struct iovec){ region + 2 * i * PAGE_SIZE, PAGE_SIZE };
    bool released[OS_RELEASE_BATCH_RANGES];
    os_release_batch_run(&batch, true, released);
    ck_assert(released[0] && released[1] && !released[2] && released[3]);
    ck_assert(page_reads(region, 0) && page_reads(region + 2 * PAGE_SIZE, 0));
    ck_assert(page_reads(region + 6 * PAGE_SIZE, 0));
    ck_assert(page_reads(region + PAGE_SIZE, FILL) && page_reads(region + 7 * PAGE_SIZE, FILL));
}
END_TEST

START_TEST(test_a_run_the_kernel_refuses_stays_dirty_and_is_not_counted)
{
    char *region = map_written_region(8);
    uintptr_t first = page_of(region);
    munmap(region + 4 * PAGE_SIZE, PAGE_SIZE);
    struct page_release_batch batch;
    page_release_begin(&batch);
    for (unsigned run = 0; run < 4; run++)
        page_release_queue(&batch, first + 2 * run, 1);
    ck_assert_uint_eq(page_release_finish(&batch), 3);
    ck_assert_uint_eq(pagemap_count_dirty(first + 4, 1), 1);
    ck_assert_uint_eq(pagemap_count_dirty(first, 8), 5);    /* pages 1, 3, 4, 5, 7 */
}
END_TEST

/* Installs a seccomp filter that answers process_madvise with `action`: EPERM, as a
 * container's policy does for a system call it does not list, or death, as a
 * stricter sandbox's does. */
static void filter_process_madvise(uint32_t action)
{
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_process_madvise, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, action),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog program = { sizeof filter / sizeof filter[0], filter };
    ck_assert_int_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
    ck_assert_int_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program), 0);
}

START_TEST(test_without_process_madvise_each_range_goes_by_madvise)
{
    filter_process_madvise(SECCOMP_RET_ERRNO | EPERM);
    struct iovec range = { NULL, 0 };
    ck_assert_int_eq(syscall(SYS_process_madvise, -1, &range, 1, MADV_DONTNEED, 0), -1);
    ck_assert_int_eq(errno, EPERM);
    check_every_other_page_goes();
}
END_TEST

/* The process would die of the filter if a batch called process_madvise after it. */
START_TEST(test_a_filter_installed_between_passes_is_seen_before_the_next_batch)
{
    check_every_other_page_goes();
    filter_process_madvise(SECCOMP_RET_KILL_PROCESS);
    os_release_recheck_filters();            /* what the next release pass does first */
    check_every_other_page_goes();
}
END_TEST

Suite *tier_suite(void)
{
    Suite *suite = suite_create("page release");
    TCase *batches = tcase_create("batches");
    tcase_add_test(batches, test_a_batch_gives_back_every_queued_dirty_run_and_nothing_else);
    tcase_add_test(batches, test_a_range_the_kernel_refuses_is_reported_and_the_rest_still_go);
    tcase_add_test(batches, test_a_run_the_kernel_refuses_stays_dirty_and_is_not_counted);
    tcase_add_test(batches, test_without_process_madvise_each_range_goes_by_madvise);
    tcase_add_test(batches, test_a_filter_installed_between_passes_is_seen_before_the_next_batch);
    suite_add_tcase(suite, batches);
    return suite;
}
