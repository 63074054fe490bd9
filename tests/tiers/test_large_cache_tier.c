/*
 * test_large_cache_tier.c — freed large objects kept for reuse: the per-thread caches
 * (allocator/large_cache.h) and the process's spare block (central/large_spare.h),
 * driven through pagoda_malloc / pagoda_free in the calling thread and observed
 * through thread_cache_count_cached, large_spare_bytes and the page heap's statistics.
 *
 * Invariants checked, large caches: a freed large block comes back for a request of
 * its page count or up to an eighth fewer pages, and not for others; a request that
 * fits nothing cached empties the cache into the page heap; calloc of a cached block
 * (whose pages the program wrote) reads zero; the cache never holds more than
 * LARGE_CACHE_SLOTS blocks nor more than PAGODA_THREAD_CACHE_BYTES, also after takes
 * and puts amid other cached blocks, and blocks larger than that neither enter it nor
 * empty it; a thread's blocks go back to the page heap
 * when it exits; statistics count cached blocks as thread-cached, not in use.
 *
 * The spare: a freed block longer than PAGODA_THREAD_CACHE_BYTES becomes the spare and
 * comes back for a request of its page count or up to an eighth fewer pages; a request
 * it does not fit sends it to the page heap; a newer spare sends the older one there;
 * a release pass keeps a spare used since the previous pass and gives back one that
 * was not, a trim gives it back at once; the page heap takes it back before it grows;
 * statistics count it as free, not in use; calloc of the spare reads zero.
 *
 * Each test sets PAGODA_RELEASE_DELAY_MS=never, so no scavenge, drain or release pass
 * runs unasked, and PAGODA_THREAD_CACHE_BYTES=4M.
 */
#include "tests/tiers/tier_suite.h"

#include "allocator/init.h"
#include "allocator/thread_cache.h"
#include "central/large_spare.h"
#include "central/page_heap.h"
#include "pagoda.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)

/* The budgets are set rather than left at their defaults, which the tests' sizes are
 * chosen around: 4 MiB per thread, and room for it in the total. */
static void setup(void)
{
    setenv("PAGODA_RELEASE_DELAY_MS", "never", 1);
    setenv("PAGODA_THREAD_CACHE_BYTES", "4M", 1);
    setenv("PAGODA_TOTAL_THREAD_CACHE_BYTES", "8M", 1);
    pagoda_initialize();
}

static size_t cached_bytes(void)
{
    size_t counts[SIZE_CLASS_MAX_COUNT + 1] = { 0 }, large_bytes = 0;
    thread_cache_count_cached(counts, &large_bytes);
    return large_bytes;
}

static size_t large_in_use_bytes(void)
{
    struct page_heap_stats stats;
    page_heap_get_stats(&stats);
    return stats.large_in_use_bytes;
}

START_TEST(test_a_freed_block_comes_back_for_the_same_pages)
{
    char *p = pagoda_malloc(64 * KiB);
    pagoda_free(p);
    ck_assert_uint_eq(cached_bytes(), 64 * KiB);
    ck_assert_ptr_eq(pagoda_malloc(64 * KiB), p);
    ck_assert_uint_eq(cached_bytes(), 0);
    pagoda_free(p);
    /* 15 pages: an eighth of 15 is 1, and the block has 16. */
    ck_assert_ptr_eq(pagoda_malloc(60 * KiB), p);
    ck_assert_uint_eq(pagoda_malloc_usable_size(p), 64 * KiB);
    pagoda_free(p);
}
END_TEST

START_TEST(test_a_request_that_fits_nothing_empties_the_cache)
{
    char *a = pagoda_malloc(64 * KiB), *b = pagoda_malloc(80 * KiB);
    pagoda_free(a);
    pagoda_free(b);
    ck_assert_uint_eq(cached_bytes(), 144 * KiB);
    size_t in_use = large_in_use_bytes();
    void *other = pagoda_malloc(40 * KiB);       /* 10 pages: neither fits */
    ck_assert_uint_eq(cached_bytes(), 0);
    /* Back in the page heap, the two blocks merged: the new one is cut from them. */
    ck_assert_ptr_eq(other, a);
    /* Both blocks went back to the page heap; only the new one is in use. */
    ck_assert_uint_eq(large_in_use_bytes(), in_use - 144 * KiB + 40 * KiB);
    pagoda_free(other);
}
END_TEST

/* A block kept in the thread's large cache (256 KiB) or as the spare (8 MiB, above
 * PAGODA_THREAD_CACHE_BYTES): the program wrote it, calloc clears it. */
static const size_t kept_sizes[] = { 256 * KiB, 8 * MiB };
#define KEPT_SIZES ((int)(sizeof kept_sizes / sizeof kept_sizes[0]))

START_TEST(test_calloc_of_a_written_kept_block_reads_zero)
{
    size_t size = kept_sizes[_i];
    unsigned char *p = pagoda_malloc(size);
    memset(p, 0xab, size);
    pagoda_free(p);
    unsigned char *q = pagoda_calloc(1, size);
    ck_assert_ptr_eq(q, p);
    for (size_t i = 0; i < size; i++)
        if (q[i])
            ck_abort_msg("byte %zu of a calloc'd %zu-byte kept block reads %#x", i, size, q[i]);
    pagoda_free(q);
}
END_TEST

START_TEST(test_the_cache_keeps_at_most_its_slots)
{
    void *blocks[LARGE_CACHE_SLOTS + 3];
    enum { COUNT = sizeof blocks / sizeof blocks[0] };
    for (int i = 0; i < COUNT; i++)
        blocks[i] = pagoda_malloc(64 * KiB);
    for (int i = 0; i < COUNT; i++)
        pagoda_free(blocks[i]);
    ck_assert_uint_eq(cached_bytes(), LARGE_CACHE_SLOTS * 64 * KiB);
    /* The newest are kept: the last freed comes back first. */
    ck_assert_ptr_eq(pagoda_malloc(64 * KiB), blocks[COUNT - 1]);
}
END_TEST

START_TEST(test_the_cache_keeps_at_most_its_bytes)
{
    void *blocks[3];
    for (int i = 0; i < 3; i++)
        blocks[i] = pagoda_malloc(2 * MiB);
    for (int i = 0; i < 3; i++)
        pagoda_free(blocks[i]);
    ck_assert_uint_eq(cached_bytes(), 4 * MiB);      /* PAGODA_THREAD_CACHE_BYTES */
    void *big = pagoda_malloc(8 * MiB);              /* above the budget: not asked */
    ck_assert_uint_eq(cached_bytes(), 4 * MiB);
    pagoda_free(big);                                /* above the budget: not kept */
    ck_assert_uint_eq(cached_bytes(), 4 * MiB);
    pagoda_free(pagoda_malloc(1 * MiB));             /* fits nothing: empties the cache */
    ck_assert_uint_eq(cached_bytes(), 1 * MiB);
}
END_TEST

/* Takes of the newest block while others are cached, and puts into a cache that holds
 * others, keep its byte count right (the hit paths keep it as the bytes of all but
 * the newest block): blocks put back up to the budget are kept, newest first out,
 * and one more block makes the oldest go. */
START_TEST(test_takes_and_puts_amid_other_blocks_keep_the_budget)
{
    const size_t sizes[4] = { 3 * MiB / 2, 1 * MiB, MiB / 2, 1 * MiB };   /* 4 MiB in all */
    void *blocks[4];
    for (int i = 0; i < 4; i++)
        blocks[i] = pagoda_malloc(sizes[i]);
    void *extra = pagoda_malloc(1 * MiB);
    for (int i = 0; i < 4; i++)
        pagoda_free(blocks[i]);
    ck_assert_uint_eq(cached_bytes(), 4 * MiB);      /* PAGODA_THREAD_CACHE_BYTES */
    ck_assert_ptr_eq(pagoda_malloc(sizes[3]), blocks[3]);
    ck_assert_ptr_eq(pagoda_malloc(sizes[2]), blocks[2]);
    ck_assert_uint_eq(cached_bytes(), sizes[0] + sizes[1]);
    pagoda_free(blocks[3]);
    pagoda_free(blocks[2]);                          /* exactly the budget again: kept */
    ck_assert_uint_eq(cached_bytes(), 4 * MiB);
    pagoda_free(extra);                              /* over it: the oldest goes */
    ck_assert_uint_eq(cached_bytes(), 4 * MiB - sizes[0] + 1 * MiB);
    ck_assert_ptr_eq(pagoda_malloc(1 * MiB), extra);
    ck_assert_ptr_eq(pagoda_malloc(sizes[3]), blocks[3]);
    ck_assert_ptr_eq(pagoda_malloc(sizes[2]), blocks[2]);
    ck_assert_ptr_eq(pagoda_malloc(sizes[1]), blocks[1]);
    ck_assert_uint_eq(cached_bytes(), 0);
}
END_TEST

static void *use_a_block_then_exit(void *unused)
{
    (void)unused;
    pagoda_free(pagoda_malloc(1 * MiB));
    ck_assert_uint_eq(cached_bytes(), 1 * MiB);
    return NULL;
}

START_TEST(test_a_thread_exit_returns_its_blocks)
{
    size_t in_use = large_in_use_bytes();
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, use_a_block_then_exit, NULL), 0);
    ck_assert_int_eq(pthread_join(thread, NULL), 0);
    ck_assert_uint_eq(cached_bytes(), 0);
    ck_assert_uint_eq(large_in_use_bytes(), in_use);
}
END_TEST

START_TEST(test_statistics_count_kept_blocks_as_free)
{
    size_t size = kept_sizes[_i];
    void *kept = pagoda_malloc(size / 2), *freed = pagoda_malloc(size);
    pagoda_free(freed);
    struct pagoda_stats stats = PAGODA_STATS_INIT;
    ck_assert_int_eq(pagoda_stats_get(&stats), 0);
    ck_assert_uint_eq(stats.large_thread_cache_bytes, size);
    ck_assert_uint_eq(stats.large_in_use_bytes, size / 2);
    ck_assert_uint_ge(stats.thread_cache_bytes, size);
    pagoda_free(kept);
}
END_TEST

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

Suite *tier_suite(void)
{
    Suite *suite = suite_create("large blocks kept for reuse");
    TCase *cache = tcase_create("large cache");
    tcase_add_checked_fixture(cache, setup, NULL);
    tcase_add_test(cache, test_a_freed_block_comes_back_for_the_same_pages);
    tcase_add_test(cache, test_a_request_that_fits_nothing_empties_the_cache);
    tcase_add_loop_test(cache, test_calloc_of_a_written_kept_block_reads_zero, 0, KEPT_SIZES);
    tcase_add_test(cache, test_the_cache_keeps_at_most_its_slots);
    tcase_add_test(cache, test_the_cache_keeps_at_most_its_bytes);
    tcase_add_test(cache, test_takes_and_puts_amid_other_blocks_keep_the_budget);
    tcase_add_test(cache, test_a_thread_exit_returns_its_blocks);
    tcase_add_loop_test(cache, test_statistics_count_kept_blocks_as_free, 0, KEPT_SIZES);
    suite_add_tcase(suite, cache);
    TCase *spare = tcase_create("large spare");
    tcase_add_checked_fixture(spare, setup, NULL);
    tcase_add_test(spare, test_a_block_beyond_the_thread_budget_becomes_the_spare);
    tcase_add_test(spare, test_a_request_the_spare_does_not_fit_frees_it);
    tcase_add_test(spare, test_a_newer_spare_sends_the_older_to_the_page_heap);
    tcase_add_test(spare, test_release_passes_give_back_an_unused_spare);
    tcase_add_test(spare, test_the_page_heap_takes_the_spare_back_before_growing);
    suite_add_tcase(suite, spare);
    return suite;
}
