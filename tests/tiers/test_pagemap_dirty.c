/*
 * test_pagemap_dirty.c — the pagemap's per-page dirty bits alone (pagemap/pagemap.h):
 * pagemap_mark_dirty, pagemap_mark_clean, pagemap_count_dirty and
 * pagemap_next_dirty_run.
 *
 * Invariants checked: the bits behave exactly like a plain bool per page (a model
 * check of 20,000 random operations over a range that straddles a leaf boundary and
 * starts and ends mid-word); a run is the longest stretch of dirty pages from the
 * first dirty one, cut at the end of the search and not at word or leaf boundaries;
 * marking never touches a page outside its range; empty searches find nothing.
 *
 * The pages are high user addresses pagoda's heap never uses; only leaf memory is
 * mapped for them (pagemap_ensure), never the pages themselves.
 */
#include "tests/tiers/tier_suite.h"

#include "pagemap/pagemap.h"

#include <stdbool.h>

/* A leaf boundary (so also a bitmap-word boundary) high in the user address space. */
#define LEAF_BOUNDARY ((uintptr_t)0x700000000000 >> PAGE_SHIFT)
/* The model's range: about a thousand pages either side of the boundary, starting and
 * ending inside bitmap words; one guard word either side is never marked. */
#define MODEL_FIRST (LEAF_BOUNDARY - 997)
#define MODEL_PAGES 2000
#define MODEL_END (MODEL_FIRST + MODEL_PAGES)
#define GUARD_FIRST (MODEL_FIRST - 64)
#define GUARD_END (MODEL_END + 64)
#define MODEL_OPERATIONS 20000
/* A page in the middle of a bitmap word, well inside one leaf. */
#define MID_WORD_PAGE (LEAF_BOUNDARY + 1000 * 64 + 29)
#define WORD_BOUNDARY (LEAF_BOUNDARY + 1000 * 64)

static void ensure_test_leaves(void)
{
    ck_assert(pagemap_ensure(GUARD_FIRST, GUARD_END - GUARD_FIRST));
    ck_assert(pagemap_ensure(WORD_BOUNDARY - 128, 256));
}

/* ---- the model check ------------------------------------------------------------- */

static bool model[MODEL_PAGES];

static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* A random sub-range of the model: short ones (within a word or two) half the time. */
static void random_range(uint64_t *state, uintptr_t *first, size_t *count)
{
    size_t start = next_random(state) % MODEL_PAGES;
    size_t room = MODEL_PAGES - start;
    size_t longest = next_random(state) % 2 ? (room < 130 ? room : 130) : room;
    *first = MODEL_FIRST + start;
    *count = next_random(state) % (longest + 1);
}

static void model_set(uintptr_t first, size_t count, bool dirty)
{
    for (size_t i = 0; i < count; i++)
        model[first - MODEL_FIRST + i] = dirty;
}

static size_t model_count(uintptr_t first, size_t count)
{
    size_t dirty = 0;
    for (size_t i = 0; i < count; i++)
        dirty += model[first - MODEL_FIRST + i];
    return dirty;
}

static void check_next_run_against_model(uintptr_t first, uintptr_t end, int operation)
{
    uintptr_t run_start = first;
    while (run_start < end && !model[run_start - MODEL_FIRST])
        run_start++;
    uintptr_t run_end = run_start;
    while (run_end < end && model[run_end - MODEL_FIRST])
        run_end++;
    uintptr_t found = first;
    size_t length = 0;
    bool any = pagemap_next_dirty_run(&found, end, &length);
    if (any != (run_start < end))
        ck_abort_msg("operation %d: search [%#lx, %#lx) found %s run, the model %s", operation,
                     (unsigned long)first, (unsigned long)end, any ? "a" : "no",
                     run_start < end ? "has one" : "none");
    if (any && (found != run_start || length != run_end - run_start))
        ck_abort_msg("operation %d: search [%#lx, %#lx) found %zu pages at %#lx, the model "
                     "%zu at %#lx", operation, (unsigned long)first, (unsigned long)end,
                     length, (unsigned long)found, (size_t)(run_end - run_start),
                     (unsigned long)run_start);
}

static void check_every_page_against_model(int operation)
{
    for (uintptr_t page = MODEL_FIRST; page < MODEL_END; page++)
        if (pagemap_count_dirty(page, 1) != model[page - MODEL_FIRST])
            ck_abort_msg("operation %d: page %#lx is %s, the model says %s", operation,
                         (unsigned long)page, model[page - MODEL_FIRST] ? "clean" : "dirty",
                         model[page - MODEL_FIRST] ? "dirty" : "clean");
}

START_TEST(test_dirty_bits_match_a_bool_array_model)
{
    ensure_test_leaves();
    uint64_t state = 0x2545f4914f6cdd1d;
    for (int operation = 0; operation < MODEL_OPERATIONS; operation++) {
        uintptr_t first;
        size_t count;
        random_range(&state, &first, &count);
        switch (next_random(&state) % 4) {
        case 0:
            pagemap_mark_dirty(first, count);
            model_set(first, count, true);
            break;
        case 1:
            pagemap_mark_clean(first, count);
            model_set(first, count, false);
            break;
        case 2:
            if (pagemap_count_dirty(first, count) != model_count(first, count))
                ck_abort_msg("operation %d: %zu dirty pages in [%#lx, +%zu), the model has %zu",
                             operation, pagemap_count_dirty(first, count), (unsigned long)first,
                             count, model_count(first, count));
            break;
        default:
            check_next_run_against_model(first, first + count, operation);
            break;
        }
        if (operation % 500 == 499)
            check_every_page_against_model(operation);
    }
    ck_assert_uint_eq(pagemap_count_dirty(GUARD_FIRST, MODEL_FIRST - GUARD_FIRST), 0);
    ck_assert_uint_eq(pagemap_count_dirty(MODEL_END, GUARD_END - MODEL_END), 0);
}
END_TEST

/* ---- edge cases -------------------------------------------------------------------- */

/* The run found searching [first, end): its start, and its length in *count. */
static uintptr_t run_from(uintptr_t first, uintptr_t end, size_t *count)
{
    ck_assert_msg(pagemap_next_dirty_run(&first, end, count), "no run found");
    return first;
}

START_TEST(test_a_single_dirty_page_is_a_run_of_one)
{
    ensure_test_leaves();
    pagemap_mark_dirty(MID_WORD_PAGE, 1);
    size_t count;
    ck_assert_uint_eq(run_from(WORD_BOUNDARY - 128, WORD_BOUNDARY + 128, &count), MID_WORD_PAGE);
    ck_assert_uint_eq(count, 1);
    ck_assert_uint_eq(pagemap_count_dirty(WORD_BOUNDARY - 128, 256), 1);
}
END_TEST

START_TEST(test_a_run_ends_exactly_at_a_word_boundary)
{
    ensure_test_leaves();
    pagemap_mark_dirty(WORD_BOUNDARY - 5, 5);
    size_t count;
    ck_assert_uint_eq(run_from(WORD_BOUNDARY - 128, WORD_BOUNDARY + 128, &count), WORD_BOUNDARY - 5);
    ck_assert_uint_eq(count, 5);
}
END_TEST

START_TEST(test_a_run_starts_exactly_at_a_word_boundary)
{
    ensure_test_leaves();
    pagemap_mark_dirty(WORD_BOUNDARY, 3);
    size_t count;
    ck_assert_uint_eq(run_from(WORD_BOUNDARY - 128, WORD_BOUNDARY + 128, &count), WORD_BOUNDARY);
    ck_assert_uint_eq(count, 3);
}
END_TEST

START_TEST(test_a_run_ends_exactly_at_a_leaf_boundary)
{
    ensure_test_leaves();
    pagemap_mark_dirty(LEAF_BOUNDARY - 7, 7);
    size_t count;
    ck_assert_uint_eq(run_from(GUARD_FIRST, GUARD_END, &count), LEAF_BOUNDARY - 7);
    ck_assert_uint_eq(count, 7);
    ck_assert_uint_eq(pagemap_count_dirty(LEAF_BOUNDARY, GUARD_END - LEAF_BOUNDARY), 0);
}
END_TEST

START_TEST(test_a_run_across_a_leaf_boundary_is_one_run)
{
    ensure_test_leaves();
    pagemap_mark_dirty(LEAF_BOUNDARY - 70, 140);
    size_t count;
    ck_assert_uint_eq(run_from(GUARD_FIRST, GUARD_END, &count), LEAF_BOUNDARY - 70);
    ck_assert_uint_eq(count, 140);
    ck_assert_uint_eq(pagemap_count_dirty(GUARD_FIRST, GUARD_END - GUARD_FIRST), 140);
}
END_TEST

START_TEST(test_a_run_is_cut_at_the_end_of_the_search)
{
    ensure_test_leaves();
    pagemap_mark_dirty(LEAF_BOUNDARY - 100, 200);
    size_t count;
    ck_assert_uint_eq(run_from(LEAF_BOUNDARY - 90, LEAF_BOUNDARY + 3, &count), LEAF_BOUNDARY - 90);
    ck_assert_uint_eq(count, 93);
}
END_TEST

START_TEST(test_whole_words_change_without_touching_neighbours)
{
    ensure_test_leaves();
    pagemap_mark_dirty(WORD_BOUNDARY - 64, 128);
    ck_assert_uint_eq(pagemap_count_dirty(WORD_BOUNDARY - 128, 256), 128);
    pagemap_mark_clean(WORD_BOUNDARY, 64);
    ck_assert_uint_eq(pagemap_count_dirty(WORD_BOUNDARY - 64, 64), 64);
    ck_assert_uint_eq(pagemap_count_dirty(WORD_BOUNDARY, 128), 0);
    ck_assert_uint_eq(pagemap_count_dirty(WORD_BOUNDARY - 128, 64), 0);
}
END_TEST

START_TEST(test_searches_with_no_dirty_page_find_nothing)
{
    ensure_test_leaves();
    uintptr_t first = GUARD_FIRST;
    size_t count;
    ck_assert(!pagemap_next_dirty_run(&first, GUARD_END, &count));
    pagemap_mark_dirty(MID_WORD_PAGE, 1);
    first = WORD_BOUNDARY;
    ck_assert(!pagemap_next_dirty_run(&first, MID_WORD_PAGE, &count));      /* just before it */
    first = MID_WORD_PAGE + 1;
    ck_assert(!pagemap_next_dirty_run(&first, WORD_BOUNDARY + 128, &count)); /* just after */
    first = MID_WORD_PAGE;
    ck_assert(!pagemap_next_dirty_run(&first, MID_WORD_PAGE, &count));      /* empty search */
    ck_assert_uint_eq(pagemap_count_dirty(MID_WORD_PAGE, 0), 0);
}
END_TEST

START_TEST(test_empty_marks_change_nothing)
{
    ensure_test_leaves();
    pagemap_mark_dirty(MID_WORD_PAGE, 0);
    ck_assert_uint_eq(pagemap_count_dirty(WORD_BOUNDARY - 128, 256), 0);
    pagemap_mark_dirty(MID_WORD_PAGE, 1);
    pagemap_mark_clean(MID_WORD_PAGE, 0);
    ck_assert_uint_eq(pagemap_count_dirty(WORD_BOUNDARY - 128, 256), 1);
}
END_TEST

Suite *tier_suite(void)
{
    Suite *suite = suite_create("pagemap dirty bits");
    TCase *model_check = tcase_create("model check");
    tcase_add_test(model_check, test_dirty_bits_match_a_bool_array_model);
    suite_add_tcase(suite, model_check);
    TCase *edges = tcase_create("edge cases");
    tcase_add_test(edges, test_a_single_dirty_page_is_a_run_of_one);
    tcase_add_test(edges, test_a_run_ends_exactly_at_a_word_boundary);
    tcase_add_test(edges, test_a_run_starts_exactly_at_a_word_boundary);
    tcase_add_test(edges, test_a_run_ends_exactly_at_a_leaf_boundary);
    tcase_add_test(edges, test_a_run_across_a_leaf_boundary_is_one_run);
    tcase_add_test(edges, test_a_run_is_cut_at_the_end_of_the_search);
    tcase_add_test(edges, test_whole_words_change_without_touching_neighbours);
    tcase_add_test(edges, test_searches_with_no_dirty_page_find_nothing);
    tcase_add_test(edges, test_empty_marks_change_nothing);
    suite_add_tcase(suite, edges);
    return suite;
}
