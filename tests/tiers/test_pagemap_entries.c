/*
 * test_pagemap_entries.c — the pagemap's span and size-class entries alone
 * (pagemap/pagemap.h), across the whole 48-bit address space.
 *
 * Invariants checked: what pagemap_set_span / pagemap_set_size_class_range store at a
 * page is what pagemap_span / pagemap_size_class read back, at the first page, the
 * last page of the 47-bit user space and of the 48-bit space, on both sides of leaf
 * boundaries and at random pages, without disturbing neighbours; a page without a
 * leaf, NULL and addresses at or above 2^48 read as class 0 and no span (the class
 * map's zero leaf); leaves of both trees are mapped once each, and never for pages
 * beyond 48 bits.
 *
 * The span pointers are fake (elements of a local array): the pagemap only stores
 * them. Only leaf memory is mapped, so any page number can be used.
 */
#include "tests/tiers/tier_suite.h"

#include "central/span.h"
#include "pagemap/pagemap.h"

#define LAST_PAGE_48 (((uintptr_t)1 << (48 - PAGE_SHIFT)) - 1)
#define LAST_USER_PAGE (((uintptr_t)1 << (47 - PAGE_SHIFT)) - 1)
/* A leaf boundary high in the user address space, far from any heap. */
#define HIGH_BOUNDARY ((uintptr_t)0x700000000000 >> PAGE_SHIFT)
#define RANDOM_PAGES 256

static struct span fake_spans[RANDOM_PAGES];

/* xorshift64: a fixed sequence, so a failure reproduces. */
static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static unsigned class_for(size_t i)
{
    return (unsigned)(i % SIZE_CLASS_MAX_COUNT) + 1;
}

/* Sets every page's span and class, then reads them all back, so that an entry that
 * overwrote another shows up. */
static void check_round_trip(const uintptr_t *pages, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        ck_assert_msg(pagemap_ensure(pages[i], 1), "no leaf for page %#lx", (unsigned long)pages[i]);
        pagemap_set_span(pages[i], &fake_spans[i]);
        pagemap_set_size_class_range(pages[i], 1, class_for(i));
    }
    for (size_t i = 0; i < count; i++) {
        char *start = page_address(pages[i]);
        ck_assert_msg(pagemap_span(pages[i]) == &fake_spans[i], "page %#lx", (unsigned long)pages[i]);
        ck_assert_uint_eq(pagemap_size_class(start), class_for(i));
        ck_assert_uint_eq(pagemap_size_class(start + PAGE_SIZE - 1), class_for(i));
    }
}

START_TEST(test_entries_round_trip_at_the_edges_of_the_address_space)
{
    const uintptr_t pages[] = {
        0, 1, LAST_USER_PAGE, LAST_USER_PAGE + 1, LAST_PAGE_48 - 1, LAST_PAGE_48,
        PAGEMAP_LEAF_PAGES - 1, PAGEMAP_LEAF_PAGES,
        HIGH_BOUNDARY - 1, HIGH_BOUNDARY, HIGH_BOUNDARY + PAGEMAP_LEAF_PAGES - 1,
    };
    check_round_trip(pages, sizeof pages / sizeof pages[0]);
}
END_TEST

START_TEST(test_entries_round_trip_at_random_pages)
{
    uintptr_t pages[RANDOM_PAGES];
    uint64_t state = 0x9e3779b97f4a7c15;
    size_t count = 0;
    while (count < RANDOM_PAGES) {
        uintptr_t page = next_random(&state) & LAST_PAGE_48;
        bool repeated = false;
        for (size_t i = 0; i < count; i++)
            repeated |= pages[i] == page;
        if (!repeated)
            pages[count++] = page;
    }
    check_round_trip(pages, count);
}
END_TEST

START_TEST(test_range_setters_cross_a_leaf_boundary_and_stop_at_its_ends)
{
    uintptr_t first = HIGH_BOUNDARY - 5;
    ck_assert(pagemap_ensure(first - 1, 12));
    pagemap_set_span_range(first, 10, &fake_spans[1]);
    pagemap_set_size_class_range(first, 10, 7);
    for (uintptr_t page = first; page < first + 10; page++) {
        ck_assert(pagemap_span(page) == &fake_spans[1]);
        ck_assert_uint_eq(pagemap_size_class(page_address(page)), 7);
    }
    ck_assert_ptr_null(pagemap_span(first - 1));
    ck_assert_ptr_null(pagemap_span(first + 10));
    ck_assert_uint_eq(pagemap_size_class(page_address(first - 1)), 0);
    ck_assert_uint_eq(pagemap_size_class(page_address(first + 10)), 0);
}
END_TEST

START_TEST(test_pages_without_a_leaf_read_as_nothing)
{
    ck_assert_uint_eq(pagemap_size_class(NULL), 0);
    ck_assert_ptr_null(pagemap_span(0));
    ck_assert_uint_eq(pagemap_size_class(page_address(HIGH_BOUNDARY)), 0);
    ck_assert_ptr_null(pagemap_span(HIGH_BOUNDARY));
    ck_assert(pagemap_ensure(HIGH_BOUNDARY, 1));
    ck_assert_ptr_null(pagemap_span(HIGH_BOUNDARY - 1));     /* the leaf before */
    ck_assert_ptr_null(pagemap_span(HIGH_BOUNDARY + PAGEMAP_LEAF_PAGES));  /* and after */
}
END_TEST

START_TEST(test_null_reads_as_class_zero_with_its_leaf_mapped)
{
    ck_assert(pagemap_ensure(1, 1));
    pagemap_set_span(1, &fake_spans[0]);
    pagemap_set_size_class_range(1, 1, 3);
    ck_assert_uint_eq(pagemap_size_class(NULL), 0);
    ck_assert_ptr_null(pagemap_span(0));
}
END_TEST

START_TEST(test_addresses_beyond_48_bits_read_as_nothing)
{
    ck_assert(pagemap_ensure(LAST_PAGE_48, 1));
    pagemap_set_span(LAST_PAGE_48, &fake_spans[0]);
    pagemap_set_size_class_range(LAST_PAGE_48, 1, 5);
    ck_assert_uint_eq(pagemap_size_class((void *)((uintptr_t)1 << 48)), 0);
    ck_assert_uint_eq(pagemap_size_class((void *)UINTPTR_MAX), 0);
    /* Not cut down to its low 48 bits, which name the page set above. */
    ck_assert_uint_eq(pagemap_size_class((char *)page_address(LAST_PAGE_48) + ((uintptr_t)1 << 48)), 0);
    ck_assert_ptr_null(pagemap_span(LAST_PAGE_48 + 1));
    ck_assert_ptr_null(pagemap_span(UINTPTR_MAX >> PAGE_SHIFT));
}
END_TEST

START_TEST(test_ensure_refuses_pages_beyond_48_bits)
{
    ck_assert(!pagemap_ensure(LAST_PAGE_48 + 1, 1));
    ck_assert(!pagemap_ensure(LAST_PAGE_48, 2));
    ck_assert_uint_eq(pagemap_mapped_bytes(), 0);
    ck_assert(pagemap_ensure(LAST_PAGE_48, 1));
}
END_TEST

/* HIGH_BOUNDARY starts both a span leaf (1 GiB) and a class-map leaf (256 GiB). */
START_TEST(test_ensure_maps_each_leaf_once)
{
    size_t span_leaf_bytes = (sizeof(struct pagemap_leaf) + PAGE_MASK) & ~PAGE_MASK;
    size_t class_leaf_bytes = CLASS_MAP_LEAF_PAGES;
    size_t before = pagemap_mapped_bytes(), classes_before = class_map_mapped_bytes();
    ck_assert(pagemap_ensure(HIGH_BOUNDARY, 1));
    ck_assert_uint_eq(pagemap_mapped_bytes(), before + span_leaf_bytes + class_leaf_bytes);
    ck_assert_uint_eq(class_map_mapped_bytes(), classes_before + class_leaf_bytes);
    ck_assert(pagemap_ensure(HIGH_BOUNDARY + 5, PAGEMAP_LEAF_PAGES - 5));
    ck_assert_uint_eq(pagemap_mapped_bytes(), before + span_leaf_bytes + class_leaf_bytes);
    /* Two new span leaves (either side); one new class leaf, below the boundary. */
    ck_assert(pagemap_ensure(HIGH_BOUNDARY - 1, PAGEMAP_LEAF_PAGES + 2));
    ck_assert_uint_eq(pagemap_mapped_bytes(), before + 3 * span_leaf_bytes + 2 * class_leaf_bytes);
    ck_assert_uint_eq(class_map_mapped_bytes(), classes_before + 2 * class_leaf_bytes);
}
END_TEST

/* A page whose class-map root entry has no leaf of its own reads the zero leaf: 0 at
 * both ends of the 256 GiB it covers, until a leaf is mapped there. */
START_TEST(test_class_map_entries_without_a_leaf_read_the_zero_leaf)
{
    uintptr_t first = HIGH_BOUNDARY + 4 * CLASS_MAP_LEAF_PAGES;
    uintptr_t last = first + CLASS_MAP_LEAF_PAGES - 1;
    ck_assert_uint_eq(class_map_at(first), 0);
    ck_assert_uint_eq(class_map_at(last), 0);
    ck_assert(class_map_ensure(last, 1));
    class_map_set_range(last, 1, 9);
    ck_assert_uint_eq(class_map_at(last), 9);
    ck_assert_uint_eq(class_map_at(first), 0);
    ck_assert_uint_eq(class_map_at(last + 1), 0);     /* the next entry: still the zero leaf */
}
END_TEST

START_TEST(test_a_fresh_leaf_is_empty)
{
    ck_assert(pagemap_ensure(HIGH_BOUNDARY, 1));
    for (uintptr_t page = HIGH_BOUNDARY; page < HIGH_BOUNDARY + PAGEMAP_LEAF_PAGES; page++) {
        if (pagemap_span(page) || pagemap_size_class(page_address(page)))
            ck_abort_msg("page %#lx of a fresh leaf has an entry", (unsigned long)page);
    }
    ck_assert_uint_eq(pagemap_count_dirty(HIGH_BOUNDARY, PAGEMAP_LEAF_PAGES), 0);
}
END_TEST

Suite *tier_suite(void)
{
    Suite *suite = suite_create("pagemap entries");
    TCase *entries = tcase_create("entries");
    tcase_add_test(entries, test_entries_round_trip_at_the_edges_of_the_address_space);
    tcase_add_test(entries, test_entries_round_trip_at_random_pages);
    tcase_add_test(entries, test_range_setters_cross_a_leaf_boundary_and_stop_at_its_ends);
    tcase_add_test(entries, test_pages_without_a_leaf_read_as_nothing);
    tcase_add_test(entries, test_null_reads_as_class_zero_with_its_leaf_mapped);
    tcase_add_test(entries, test_addresses_beyond_48_bits_read_as_nothing);
    suite_add_tcase(suite, entries);
    TCase *leaves = tcase_create("leaves");
    tcase_add_test(leaves, test_ensure_refuses_pages_beyond_48_bits);
    tcase_add_test(leaves, test_ensure_maps_each_leaf_once);
    tcase_add_test(leaves, test_a_fresh_leaf_is_empty);
    tcase_add_test(leaves, test_class_map_entries_without_a_leaf_read_the_zero_leaf);
    suite_add_tcase(suite, leaves);
    return suite;
}
