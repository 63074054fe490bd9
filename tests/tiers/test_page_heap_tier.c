/*
 * test_page_heap_tier.c — the page heap alone (central/page_heap.h), driven through
 * its own functions with no central list or thread cache in the way.
 *
 * Invariants checked: an allocated span has the length asked for and the pagemap maps
 * its first and last pages to it (every page, with the class byte, for a small span;
 * class 0 for a large one); in-use spans never overlap; freed neighbours coalesce into
 * one free span; the same pages come back for the same size; an aligned span starts
 * on its alignment and the pieces cut off before and after it are free spans a later
 * allocation gets without the heap growing; try_extend takes exactly the free pages
 * after a span, and shrink frees its tail; the statistics account for every mapped
 * page (free + large + small = mapped, free dirty <= free) after each step, and
 * release_all() leaves no free dirty page, the released pages
 * reading as zero. Dirty pages are told by a prefix where that describes a span (a
 * freed block, fresh pages, the two merged, and the pieces of either when split) and
 * by the pagemap's bits otherwise; either way each page is dirty exactly when it was
 * freed after use and not released since.
 */
#include "tests/tiers/tier_suite.h"

#include "allocator/init.h"
#include "allocator/size_classes.h"
#include "central/page_heap.h"
#include "pagemap/pagemap.h"

#include <string.h>

static struct page_heap_stats stats_now(void)
{
    struct page_heap_stats stats;
    page_heap_get_stats(&stats);
    return stats;
}

static size_t bytes_of(size_t pages)
{
    return pages << PAGE_SHIFT;
}

/* Every mapped page is free, in a large span or in one of small_pages small-span
 * pages; at most all free pages are dirty. */
static void check_accounting(size_t small_pages)
{
    struct page_heap_stats stats = stats_now();
    ck_assert_uint_eq(stats.mapped_bytes,
                      stats.free_bytes + stats.large_in_use_bytes + bytes_of(small_pages));
    ck_assert_uint_le(stats.free_dirty_bytes, stats.free_bytes);
}

static struct span *alloc_large(size_t pages)
{
    struct span *span = page_heap_alloc(pages, 0);
    ck_assert_ptr_nonnull(span);
    ck_assert_uint_eq(span->state, SPAN_LARGE);
    ck_assert_uint_eq(span->pages, pages);
    return span;
}

/* The free span that now holds page, checked to be one. */
static struct span *free_span_at(uintptr_t page)
{
    struct span *span = pagemap_span(page);
    ck_assert_ptr_nonnull(span);
    ck_assert_uint_eq(span->state, SPAN_FREE);
    ck_assert(span->first_page <= page && page <= span_last_page(span));
    ck_assert(pagemap_span(span->first_page) == span && pagemap_span(span_last_page(span)) == span);
    return span;
}

/* The pages of [first, first + count), all inside span, that span calls dirty. */
static size_t dirty_pages_in(const struct span *span, uintptr_t first, size_t count)
{
    size_t dirty = 0, run;
    uintptr_t page = span->first_page;
    while (page_heap_next_dirty_run(span, &page, &run)) {
        uintptr_t low = page > first ? page : first;
        uintptr_t high = page + run < first + count ? page + run : first + count;
        if (high > low)
            dirty += high - low;
        page += run;
    }
    return dirty;
}

static void setup(void)
{
    pagoda_initialize();
}

START_TEST(test_large_spans_of_various_lengths_map_their_first_and_last_pages)
{
    static const size_t lengths[] = { 1, 2, 3, 7, 64, 127, 128, 129, 300, 2049, 5000 };
    enum { COUNT = sizeof lengths / sizeof lengths[0] };
    struct span *spans[COUNT];
    size_t in_use = 0;
    for (int i = 0; i < COUNT; i++) {
        spans[i] = alloc_large(lengths[i]);
        in_use += lengths[i];
        ck_assert_uint_eq(stats_now().large_in_use_bytes, bytes_of(in_use));
        check_accounting(0);
    }
    for (int i = 0; i < COUNT; i++) {
        struct span *span = spans[i];
        ck_assert(pagemap_span(span->first_page) == span);
        ck_assert(pagemap_span(span_last_page(span)) == span);
        ck_assert_uint_eq(pagemap_size_class(span_start(span)), SIZE_CLASS_LARGE_HEAD);
        if (span->pages > 1)
            ck_assert_uint_eq(pagemap_size_class(page_address(span_last_page(span))), 0);
        for (int j = 0; j < i; j++)
            ck_assert_msg(span_last_page(span) < spans[j]->first_page ||
                          span_last_page(spans[j]) < span->first_page,
                          "spans of %zu and %zu pages overlap", lengths[i], lengths[j]);
    }
}
END_TEST

/* free() tells a large object by its first page's class byte (class_map.h): set by
 * every way of handing a large span out, kept while the span shrinks, and cleared
 * when the page heap has the span back. */
START_TEST(test_a_large_span_marks_its_first_page_until_freed)
{
    struct span *spans[] = { alloc_large(5), page_heap_alloc_aligned(3, 16),
                             page_heap_alloc_for_growth(4) };
    for (int i = 0; i < 3; i++) {
        struct span *span = spans[i];
        ck_assert_ptr_nonnull(span);
        uintptr_t first = span->first_page;
        ck_assert_uint_eq(pagemap_size_class(page_address(first)), SIZE_CLASS_LARGE_HEAD);
        for (uintptr_t page = first + 1; page <= span_last_page(span); page++)
            ck_assert_uint_eq(pagemap_size_class(page_address(page)), 0);
        page_heap_shrink(span, 1);
        ck_assert_uint_eq(pagemap_size_class(page_address(first)), SIZE_CLASS_LARGE_HEAD);
        page_heap_free(span);
        ck_assert_uint_eq(pagemap_size_class(page_address(first)), 0);
        check_accounting(0);
    }
}
END_TEST

START_TEST(test_small_spans_map_every_page_with_their_class)
{
    static const size_t lengths[] = { 1, 2, 7, 33 };
    static const unsigned classes[] = { 1, 17, 40, 74 };
    enum { COUNT = sizeof lengths / sizeof lengths[0] };
    struct span *spans[COUNT];
    size_t small_pages = 0;
    for (int i = 0; i < COUNT; i++) {
        spans[i] = page_heap_alloc(lengths[i], classes[i]);
        ck_assert_ptr_nonnull(spans[i]);
        ck_assert_uint_eq(spans[i]->state, SPAN_SMALL);
        ck_assert_uint_eq(spans[i]->size_class, classes[i]);
        ck_assert_uint_eq(spans[i]->pages, lengths[i]);
        small_pages += lengths[i];
        ck_assert_uint_eq(stats_now().large_in_use_bytes, 0);
        check_accounting(small_pages);
    }
    for (int i = 0; i < COUNT; i++)
        for (uintptr_t page = spans[i]->first_page; page <= span_last_page(spans[i]); page++) {
            ck_assert(pagemap_span(page) == spans[i]);
            ck_assert_uint_eq(pagemap_size_class(page_address(page)), classes[i]);
        }
    uintptr_t first = spans[COUNT - 1]->first_page;
    page_heap_free(spans[COUNT - 1]);
    check_accounting(small_pages - lengths[COUNT - 1]);
    for (uintptr_t page = first; page < first + lengths[COUNT - 1]; page++)
        ck_assert_uint_eq(pagemap_size_class(page_address(page)), 0);
}
END_TEST

START_TEST(test_freed_neighbours_coalesce_into_one_span)
{
    struct span *a = alloc_large(3), *b = alloc_large(5);
    alloc_large(2);                      /* keeps b from joining the rest of the heap */
    uintptr_t first = a->first_page;
    ck_assert_uint_eq(b->first_page, first + 3);
    page_heap_free(a);
    ck_assert_uint_eq(free_span_at(first)->pages, 3);
    page_heap_free(b);
    struct span *joined = free_span_at(first);
    ck_assert_uint_eq(joined->first_page, first);
    ck_assert_uint_eq(joined->pages, 8);
    ck_assert(free_span_at(first + 7) == joined);
    check_accounting(0);
}
END_TEST

START_TEST(test_freeing_the_middle_span_joins_both_neighbours)
{
    struct span *a = alloc_large(4), *b = alloc_large(6), *c = alloc_large(9);
    struct span *barrier = alloc_large(1);
    uintptr_t first = a->first_page;
    ck_assert_uint_eq(barrier->first_page, first + 19);
    page_heap_free(a);
    page_heap_free(c);
    page_heap_free(b);
    struct span *joined = free_span_at(first);
    ck_assert_uint_eq(joined->first_page, first);
    ck_assert_uint_eq(joined->pages, 19);
    ck_assert_uint_eq(barrier->state, SPAN_LARGE);
    check_accounting(0);
}
END_TEST

START_TEST(test_a_lone_freed_span_joins_the_free_rest_of_the_heap)
{
    struct span *a = alloc_large(12);
    uintptr_t first = a->first_page;
    page_heap_free(a);
    struct page_heap_stats stats = stats_now();
    ck_assert_uint_eq(stats.free_bytes, stats.mapped_bytes);
    ck_assert_uint_eq(bytes_of(free_span_at(first)->pages), stats.mapped_bytes);
}
END_TEST

START_TEST(test_the_same_pages_come_back_for_the_same_size)
{
    static const size_t lengths[] = { 1, 9, 127, 200 };
    size_t pages = lengths[_i];
    struct span *a = alloc_large(pages);
    alloc_large(1);
    uintptr_t first = a->first_page;
    page_heap_free(a);
    ck_assert_uint_eq(alloc_large(pages)->first_page, first);
    check_accounting(0);
}
END_TEST

/* The free span right before (step -1) or after (step +1) an in-use span, if any:
 * allocating exactly its length must give those very pages, without growing. */
static size_t reclaim_free_neighbour(const struct span *span, int step)
{
    uintptr_t page = step < 0 ? span->first_page - 1 : span_last_page(span) + 1;
    struct span *neighbour = pagemap_span(page);
    if (!neighbour || neighbour->state != SPAN_FREE || neighbour->first_page > page ||
        span_last_page(neighbour) < page)
        return 0;
    uintptr_t first = neighbour->first_page;
    size_t pages = neighbour->pages;
    ck_assert(step < 0 ? first + pages == span->first_page : first == span_last_page(span) + 1);
    size_t mapped = stats_now().mapped_bytes;
    ck_assert_uint_eq(alloc_large(pages)->first_page, first);
    ck_assert_uint_eq(stats_now().mapped_bytes, mapped);
    return pages;
}

START_TEST(test_aligned_spans_start_aligned_and_give_back_the_pieces)
{
    size_t align = (size_t)1 << _i;
    alloc_large(1);                     /* so that the free pages start unaligned */
    struct span *span = page_heap_alloc_aligned(3, align);
    ck_assert_ptr_nonnull(span);
    ck_assert_uint_eq(span->state, SPAN_LARGE);
    ck_assert_uint_eq(span->pages, 3);
    ck_assert_uint_eq(span->first_page % align, 0);
    ck_assert(pagemap_span(span->first_page) == span && pagemap_span(span_last_page(span)) == span);
    ck_assert_uint_eq(stats_now().large_in_use_bytes, bytes_of(4));
    check_accounting(0);
    size_t pieces = reclaim_free_neighbour(span, -1) + reclaim_free_neighbour(span, +1);
    ck_assert_uint_ge(pieces, align - 1);
    check_accounting(0);
}
END_TEST

START_TEST(test_try_extend_takes_the_free_pages_after)
{
    struct span *a = alloc_large(4);
    ck_assert(page_heap_try_extend(a, 10));
    ck_assert_uint_eq(a->pages, 10);
    ck_assert(pagemap_span(a->first_page) == a && pagemap_span(span_last_page(a)) == a);
    ck_assert_uint_eq(free_span_at(span_last_page(a) + 1)->first_page, span_last_page(a) + 1);
    ck_assert_uint_eq(stats_now().large_in_use_bytes, bytes_of(10));
    check_accounting(0);
}
END_TEST

/* A long free span that an extension shortens stays on its list without being taken
 * off and put back: the rest must still be found, at its new length, by the next
 * request that needs all of it, and the heap must not grow for it. */
START_TEST(test_try_extend_leaves_a_long_remainder_findable)
{
    struct span *a = alloc_large(4);
    ck_assert(page_heap_try_extend(a, 10));
    struct span *rest = free_span_at(span_last_page(a) + 1);
    size_t rest_pages = rest->pages, mapped = stats_now().mapped_bytes;
    ck_assert_uint_ge(rest_pages, 128);
    check_accounting(0);
    struct span *b = alloc_large(rest_pages);
    ck_assert_uint_eq(b->first_page, span_last_page(a) + 1);
    ck_assert_uint_eq(stats_now().mapped_bytes, mapped);
    check_accounting(0);
}
END_TEST

START_TEST(test_try_extend_fails_when_the_next_span_is_in_use)
{
    struct span *a = alloc_large(4);
    alloc_large(1);
    struct page_heap_stats before = stats_now();
    ck_assert(!page_heap_try_extend(a, 5));
    ck_assert_uint_eq(a->pages, 4);
    ck_assert(pagemap_span(span_last_page(a)) == a);
    struct page_heap_stats after = stats_now();
    ck_assert_uint_eq(after.free_bytes, before.free_bytes);
    ck_assert_uint_eq(after.large_in_use_bytes, before.large_in_use_bytes);
}
END_TEST

START_TEST(test_try_extend_fails_when_the_free_pages_after_are_too_few)
{
    struct span *a = alloc_large(4), *gap = alloc_large(2), *barrier = alloc_large(1);
    page_heap_free(gap);
    ck_assert(!page_heap_try_extend(a, 7));
    ck_assert_uint_eq(a->pages, 4);
    ck_assert(page_heap_try_extend(a, 6));
    ck_assert_uint_eq(a->pages, 6);
    ck_assert(pagemap_span(barrier->first_page - 1) == a);
    ck_assert_uint_eq(stats_now().large_in_use_bytes, bytes_of(7));
    check_accounting(0);
}
END_TEST

START_TEST(test_shrink_frees_the_tail_as_dirty_pages)
{
    struct span *a = alloc_large(10), *barrier = alloc_large(1);
    ck_assert_uint_eq(stats_now().free_dirty_bytes, 0);
    page_heap_shrink(a, 4);
    ck_assert_uint_eq(a->pages, 4);
    ck_assert(pagemap_span(span_last_page(a)) == a);
    struct span *tail = free_span_at(a->first_page + 4);
    ck_assert_uint_eq(tail->first_page, a->first_page + 4);
    ck_assert_uint_eq(span_last_page(tail), barrier->first_page - 1);
    struct page_heap_stats stats = stats_now();
    ck_assert_uint_eq(stats.large_in_use_bytes, bytes_of(5));
    ck_assert_uint_eq(stats.free_dirty_bytes, bytes_of(6));
    check_accounting(0);
    ck_assert(page_heap_try_extend(a, 10));
    stats = stats_now();
    ck_assert_uint_eq(stats.large_in_use_bytes, bytes_of(11));
    ck_assert_uint_eq(stats.free_dirty_bytes, 0);
    check_accounting(0);
}
END_TEST

/* Extending into part of a free span moves that span's start: the pages taken leave
 * the free and dirty counts, and the rest keeps its own dirty pages. */
START_TEST(test_extending_into_part_of_a_dirty_span_keeps_the_rest_counted)
{
    struct span *a = alloc_large(10), *barrier = alloc_large(1);
    page_heap_shrink(a, 4);
    ck_assert(page_heap_try_extend(a, 7));
    ck_assert_uint_eq(a->pages, 7);
    ck_assert(pagemap_span(span_last_page(a)) == a);
    struct span *rest = free_span_at(a->first_page + 7);
    ck_assert_uint_eq(rest->first_page, a->first_page + 7);
    ck_assert_uint_eq(span_last_page(rest), barrier->first_page - 1);
    ck_assert_uint_eq(dirty_pages_in(rest, rest->first_page, rest->pages), 3);
    struct page_heap_stats stats = stats_now();
    ck_assert_uint_eq(stats.large_in_use_bytes, bytes_of(8));
    ck_assert_uint_eq(stats.free_dirty_bytes, bytes_of(3));
    check_accounting(0);
}
END_TEST

/* The same with a long rest: from 128 pages on it stays on the list of long spans
 * while its start moves, below that it moves to an exact-length list. Either way it
 * keeps its dirty pages and the next request of its length gets it, with no growth. */
static void extend_into_a_dirty_span_leaving(size_t rest_pages)
{
    struct span *a = alloc_large(7 + rest_pages), *barrier = alloc_large(1);
    page_heap_shrink(a, 4);
    ck_assert(page_heap_try_extend(a, 7));
    uintptr_t rest_first = a->first_page + 7;
    struct span *rest = free_span_at(rest_first);
    ck_assert_uint_eq(rest->first_page, rest_first);
    ck_assert_uint_eq(rest->pages, rest_pages);
    ck_assert_uint_eq(span_last_page(rest), barrier->first_page - 1);
    ck_assert_uint_eq(dirty_pages_in(rest, rest_first, rest_pages), rest_pages);
    ck_assert_uint_eq(stats_now().free_dirty_bytes, bytes_of(rest_pages));
    check_accounting(0);
    size_t mapped = stats_now().mapped_bytes;
    ck_assert_uint_eq(alloc_large(rest_pages)->first_page, rest_first);
    ck_assert_uint_eq(stats_now().mapped_bytes, mapped);
    ck_assert_uint_eq(stats_now().free_dirty_bytes, 0);
    check_accounting(0);
}

START_TEST(test_extending_into_a_long_dirty_span_keeps_the_rest_listed)
{
    extend_into_a_dirty_span_leaving(300);
    extend_into_a_dirty_span_leaving(128);
    extend_into_a_dirty_span_leaving(127);
}
END_TEST

START_TEST(test_reused_dirty_pages_leave_the_free_dirty_count)
{
    struct span *a = alloc_large(8);
    alloc_large(1);
    uintptr_t first = a->first_page;
    page_heap_free(a);
    ck_assert_uint_eq(stats_now().free_dirty_bytes, bytes_of(8));
    ck_assert_uint_eq(dirty_pages_in(free_span_at(first), first, 8), 8);
    ck_assert_uint_eq(alloc_large(8)->first_page, first);
    ck_assert_uint_eq(stats_now().free_dirty_bytes, 0);
    check_accounting(0);
}
END_TEST

/* page_heap_release_idle(UINT64_MAX), which must find nothing still waiting. */
static size_t release_all(void)
{
    bool waiting = false;
    size_t released = page_heap_release_idle(UINT64_MAX, &waiting);
    ck_assert(!waiting);
    return released;
}

/* A span freed after the pass's idle time is kept, and reported as waiting, until a
 * later pass finds it idle. */
START_TEST(test_a_span_freed_too_recently_is_kept_and_reported_waiting)
{
    struct span *a = alloc_large(4);
    alloc_large(1);
    page_heap_free(a);
    bool waiting = false;
    ck_assert_uint_eq(page_heap_release_idle(0, &waiting), 0);
    ck_assert(waiting);
    ck_assert_uint_eq(release_all(), bytes_of(4));
    ck_assert_uint_eq(release_all(), 0);
    check_accounting(0);
}
END_TEST

START_TEST(test_release_idle_cleans_every_free_page_and_they_read_zero)
{
    struct span *a = alloc_large(16);
    alloc_large(1);
    unsigned char *bytes = span_start(a);
    uintptr_t first = a->first_page;
    memset(bytes, 0xab, bytes_of(16));
    page_heap_free(a);
    struct page_heap_stats before = stats_now();
    ck_assert_uint_eq(before.free_dirty_bytes, bytes_of(16));
    ck_assert_uint_eq(release_all(), bytes_of(16));
    struct page_heap_stats after = stats_now();
    ck_assert_uint_eq(after.free_dirty_bytes, 0);
    ck_assert_uint_eq(after.free_bytes, before.free_bytes);
    ck_assert_uint_eq(after.released_total_bytes, before.released_total_bytes + bytes_of(16));
    ck_assert_uint_eq(dirty_pages_in(free_span_at(first), first, 16), 0);
    for (size_t i = 0; i < bytes_of(16); i++)
        if (bytes[i])
            ck_abort_msg("byte %zu of a released page reads %#x", i, bytes[i]);
    ck_assert_uint_eq(release_all(), 0);     /* nothing left */
    check_accounting(0);
}
END_TEST

/* On a free list the spans not yet released come before the released ones: a search
 * takes resident pages first, and a release pass, which stops at the first released
 * span, still finds every idle one freed after a release (each new one goes in front
 * of the released, each one it releases behind them). */
START_TEST(test_unreleased_spans_stay_ahead_of_released_ones)
{
    struct span *spans[4];
    for (int i = 0; i < 4; i++) {
        spans[i] = alloc_large(3);
        alloc_large(1);                 /* keeps the freed spans apart */
    }
    uintptr_t first[4];
    for (int i = 0; i < 4; i++)
        first[i] = spans[i]->first_page;
    page_heap_free(spans[0]);
    ck_assert_uint_eq(release_all(), bytes_of(3));
    page_heap_free(spans[1]);
    page_heap_free(spans[2]);
    struct span *taken = page_heap_alloc(3, 0);
    ck_assert_uint_eq(taken->first_page, first[2]);     /* resident, not the released one */
    page_heap_free(taken);
    page_heap_free(spans[3]);
    ck_assert_uint_eq(release_all(), bytes_of(9));      /* all three behind the released one */
    ck_assert_uint_eq(stats_now().free_dirty_bytes, 0);
    ck_assert_uint_eq(release_all(), 0);
    /* A long freed span, then growth: the fresh pages left over from the new mapping
     * go on the list of long spans, released, and must not hide the freed one. */
    struct span *long_span = alloc_large(200);
    alloc_large(1);
    page_heap_free(long_span);
    size_t mapped = stats_now().mapped_bytes;
    struct span *huge = page_heap_alloc(mapped / PAGE_SIZE, 0);
    ck_assert_ptr_nonnull(huge);
    ck_assert_uint_gt(stats_now().mapped_bytes, mapped);
    ck_assert_uint_eq(release_all(), bytes_of(200));
    check_accounting(0);
}
END_TEST

START_TEST(test_a_freed_block_and_fresh_pages_after_it_make_a_dirty_prefix)
{
    struct span *a = alloc_large(8);
    uintptr_t first = a->first_page;
    page_heap_free(a);
    struct span *merged = free_span_at(first);
    ck_assert_uint_eq(merged->dirt, DIRT_PREFIX);
    ck_assert_uint_eq(merged->first_page, first);
    ck_assert_uint_eq(merged->dirty_prefix, 8);
    ck_assert_uint_gt(merged->pages, 8);
    struct span *again = alloc_large(8);           /* the same block, wholly dirty */
    ck_assert_uint_eq(again->first_page, first);
    ck_assert_uint_eq(again->dirt, DIRT_PREFIX);
    ck_assert_uint_eq(again->dirty_prefix, 8);
    struct span *rest = free_span_at(first + 8);   /* the fresh pages, wholly clean */
    ck_assert_uint_eq(rest->dirt, DIRT_PREFIX);
    ck_assert_uint_eq(rest->dirty_prefix, 0);
    ck_assert_uint_eq(stats_now().free_dirty_bytes, 0);
    struct span *part = alloc_large(3);            /* a piece of a clean span is clean */
    ck_assert_uint_eq(dirty_pages_in(part, part->first_page, 3), 0);
    check_accounting(0);
}
END_TEST

START_TEST(test_a_clean_span_before_a_dirty_one_merges_by_the_bits)
{
    struct span *a = alloc_large(4), *b = alloc_large(4);
    alloc_large(1);
    uintptr_t a_first = a->first_page, b_first = b->first_page;
    page_heap_free(a);
    ck_assert_uint_eq(release_all(), bytes_of(4));
    page_heap_free(b);                        /* clean a, then dirty b: no prefix fits */
    struct span *merged = free_span_at(a_first);
    ck_assert_uint_eq(merged->dirt, DIRT_BITS);
    ck_assert_uint_eq(merged->pages, 8);
    ck_assert_uint_eq(dirty_pages_in(merged, a_first, 4), 0);
    ck_assert_uint_eq(dirty_pages_in(merged, b_first, 4), 4);
    ck_assert_uint_eq(stats_now().free_dirty_bytes, bytes_of(4));
    struct span *head = alloc_large(6);       /* two dirty pages go with it */
    ck_assert_uint_eq(head->first_page, a_first);
    ck_assert_uint_eq(dirty_pages_in(head, a_first, 6), 2);
    ck_assert_uint_eq(stats_now().free_dirty_bytes, bytes_of(2));
    ck_assert_uint_eq(release_all(), bytes_of(2));
    struct span *tail = free_span_at(a_first + 6);  /* wholly released: a prefix again */
    ck_assert_uint_eq(tail->dirt, DIRT_PREFIX);
    ck_assert_uint_eq(tail->dirty_prefix, 0);
    check_accounting(0);
}
END_TEST

Suite *tier_suite(void)
{
    Suite *suite = suite_create("page heap");
    TCase *spans = tcase_create("spans");
    tcase_add_checked_fixture(spans, setup, NULL);
    tcase_add_test(spans, test_large_spans_of_various_lengths_map_their_first_and_last_pages);
    tcase_add_test(spans, test_a_large_span_marks_its_first_page_until_freed);
    tcase_add_test(spans, test_small_spans_map_every_page_with_their_class);
    tcase_add_test(spans, test_freed_neighbours_coalesce_into_one_span);
    tcase_add_test(spans, test_freeing_the_middle_span_joins_both_neighbours);
    tcase_add_test(spans, test_a_lone_freed_span_joins_the_free_rest_of_the_heap);
    tcase_add_loop_test(spans, test_the_same_pages_come_back_for_the_same_size, 0, 4);
    tcase_add_loop_test(spans, test_aligned_spans_start_aligned_and_give_back_the_pieces, 1, 19);
    suite_add_tcase(suite, spans);
    TCase *resize = tcase_create("extend and shrink");
    tcase_add_checked_fixture(resize, setup, NULL);
    tcase_add_test(resize, test_try_extend_takes_the_free_pages_after);
    tcase_add_test(resize, test_try_extend_leaves_a_long_remainder_findable);
    tcase_add_test(resize, test_extending_into_a_long_dirty_span_keeps_the_rest_listed);
    tcase_add_test(resize, test_try_extend_fails_when_the_next_span_is_in_use);
    tcase_add_test(resize, test_try_extend_fails_when_the_free_pages_after_are_too_few);
    tcase_add_test(resize, test_shrink_frees_the_tail_as_dirty_pages);
    tcase_add_test(resize, test_extending_into_part_of_a_dirty_span_keeps_the_rest_counted);
    suite_add_tcase(suite, resize);
    TCase *dirty = tcase_create("dirty pages and release");
    tcase_add_checked_fixture(dirty, setup, NULL);
    tcase_add_test(dirty, test_reused_dirty_pages_leave_the_free_dirty_count);
    tcase_add_test(dirty, test_release_idle_cleans_every_free_page_and_they_read_zero);
    tcase_add_test(dirty, test_unreleased_spans_stay_ahead_of_released_ones);
    tcase_add_test(dirty, test_a_span_freed_too_recently_is_kept_and_reported_waiting);
    tcase_add_test(dirty, test_a_freed_block_and_fresh_pages_after_it_make_a_dirty_prefix);
    tcase_add_test(dirty, test_a_clean_span_before_a_dirty_one_merges_by_the_bits);
    suite_add_tcase(suite, dirty);
    return suite;
}
