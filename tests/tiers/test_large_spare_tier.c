/*
 * test_large_spare_tier.c — the process's spare large block (central/large_spare.h),
 * driven through pagoda_malloc / pagoda_free and observed through large_spare_bytes
 * and the page heap's statistics.
 *
 * Invariants checked: a freed block longer than PAGODA_THREAD_CACHE_BYTES becomes the
 * spare and comes back for a request of its page count or up to an eighth fewer pages;
 * a request it does not fit sends it to the page heap; a newer spare sends the older
 * one there; a release pass keeps a spare used since the previous pass and gives back
 * one that was not, a trim gives it back at once; the page heap takes it back before it
 * grows; statistics count it as free, not in use; calloc of the spare (whose pages the
 * program wrote) reads zero.
 *
 * Each test sets PAGODA_RELEASE_DELAY_MS=never, so no release pass runs unasked.
 */
#include "tests/tiers/tier_suite.h"

#include "allocator/init.h"
#include "central/large_spare.h"
#include "central/page_heap.h"
#include "pagoda.h"

#include <stdlib.h>
#include <string.h>

#define MiB ((size_t)1 << 20)

static void setup(void)
{
    setenv("PAGODA_RELEASE_DELAY_MS", "never", 1);
    pagoda_initialize();
    large_spare_release(true);
}

static size_t large_in_use_bytes(void)
{
    struct page_heap_stats stats;
    page_heap_get_stats(&stats);
    return stats.large_in_use_bytes;
}

START_TEST(test_a_block_beyond_the_thread_budget_becomes_the_spare)
{
    char *p = pagoda_malloc(8 * MiB);
    pagoda_free(p);
    ck_assert_uint_eq(large_spare_bytes(), 8 * MiB);
    ck_assert_ptr_eq(pagoda_malloc(8 * MiB), p);
    ck_assert_uint_eq(large_spare_bytes(), 0);
    pagoda_free(p);
    ck_assert_ptr_eq(pagoda_malloc(8 * MiB - 8 * MiB / 9), p);     /* an eighth fewer pages */
    ck_assert_uint_eq(pagoda_malloc_usable_size(p), 8 * MiB);
    pagoda_free(p);
}
END_TEST

START_TEST(test_a_request_the_spare_does_not_fit_frees_it)
{
    char *p = pagoda_malloc(8 * MiB);
    size_t in_use = large_in_use_bytes();
    pagoda_free(p);
    char *q = pagoda_malloc(6 * MiB);                 /* too short for the spare */
    ck_assert_uint_eq(large_spare_bytes(), 0);
    ck_assert_uint_eq(large_in_use_bytes(), in_use - 8 * MiB + 6 * MiB);
    ck_assert_ptr_eq(q, p);                           /* cut from the freed block */
    pagoda_free(q);
}
END_TEST

START_TEST(test_a_newer_spare_sends_the_older_to_the_page_heap)
{
    char *a = pagoda_malloc(8 * MiB), *b = pagoda_malloc(12 * MiB);
    size_t in_use = large_in_use_bytes();
    pagoda_free(a);
    pagoda_free(b);
    ck_assert_uint_eq(large_spare_bytes(), 12 * MiB);
    ck_assert_uint_eq(large_in_use_bytes(), in_use - 8 * MiB);
    ck_assert_ptr_eq(pagoda_malloc(12 * MiB), b);
    pagoda_free(b);
}
END_TEST

START_TEST(test_release_passes_give_back_an_unused_spare)
{
    pagoda_free(pagoda_malloc(8 * MiB));
    size_t in_use = large_in_use_bytes();
    large_spare_release(false);                       /* used since the last pass: kept */
    ck_assert_uint_eq(large_spare_bytes(), 8 * MiB);
    large_spare_release(false);                       /* unused since: given back */
    ck_assert_uint_eq(large_spare_bytes(), 0);
    ck_assert_uint_eq(large_in_use_bytes(), in_use - 8 * MiB);
    pagoda_free(pagoda_malloc(8 * MiB));
    ck_assert_uint_eq(pagoda_release_free_memory() >= 8 * MiB, 1);  /* a trim: at once */
    ck_assert_uint_eq(large_spare_bytes(), 0);
}
END_TEST

/* A request the free lists cannot serve takes the spare back onto them before the
 * heap grows: the spare is gone, and its pages are free pages of the heap again. */
START_TEST(test_the_page_heap_takes_the_spare_back_before_growing)
{
    pagoda_free(pagoda_malloc(8 * MiB));
    ck_assert_uint_eq(large_spare_bytes(), 8 * MiB);
    size_t in_use = large_in_use_bytes();
    struct span *span = page_heap_alloc(3000, 0);     /* about 11.7 MiB: fits nothing */
    ck_assert_ptr_nonnull(span);
    ck_assert_uint_eq(large_spare_bytes(), 0);
    ck_assert_uint_eq(large_in_use_bytes(), in_use - 8 * MiB + 3000 * 4096);
    page_heap_free(span);
}
END_TEST

START_TEST(test_statistics_count_the_spare_as_free)
{
    void *kept = pagoda_malloc(6 * MiB), *freed = pagoda_malloc(8 * MiB);
    pagoda_free(freed);
    struct pagoda_stats stats = PAGODA_STATS_INIT;
    ck_assert_int_eq(pagoda_stats_get(&stats), 0);
    ck_assert_uint_eq(stats.large_thread_cache_bytes, 8 * MiB);
    ck_assert_uint_eq(stats.large_in_use_bytes, 6 * MiB);
    pagoda_free(kept);
}
END_TEST

START_TEST(test_calloc_of_the_written_spare_reads_zero)
{
    unsigned char *p = pagoda_malloc(8 * MiB);
    memset(p, 0xff, 8 * MiB);
    pagoda_free(p);
    unsigned char *zeroed = pagoda_calloc(1, 8 * MiB);
    ck_assert_ptr_eq(zeroed, p);
    for (size_t i = 0; i < 8 * MiB; i += 4096)
        ck_assert_msg(zeroed[i] == 0 && zeroed[i + 4095] == 0, "page at offset %zu not zero", i);
    pagoda_free(zeroed);
}
END_TEST

Suite *tier_suite(void)
{
    Suite *suite = suite_create("large spare");
    TCase *spare = tcase_create("large spare");
    tcase_add_checked_fixture(spare, setup, NULL);
    tcase_add_test(spare, test_a_block_beyond_the_thread_budget_becomes_the_spare);
    tcase_add_test(spare, test_a_request_the_spare_does_not_fit_frees_it);
    tcase_add_test(spare, test_a_newer_spare_sends_the_older_to_the_page_heap);
    tcase_add_test(spare, test_release_passes_give_back_an_unused_spare);
    tcase_add_test(spare, test_the_page_heap_takes_the_spare_back_before_growing);
    tcase_add_test(spare, test_statistics_count_the_spare_as_free);
    tcase_add_test(spare, test_calloc_of_the_written_spare_reads_zero);
    suite_add_tcase(suite, spare);
    return suite;
}
