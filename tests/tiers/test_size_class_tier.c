/*
 * test_size_class_tier.c — the size-class tier alone (allocator/size_classes.h): the
 * installed default table and tables made by size_class_generate under several
 * parameter sets, each installed with size_classes_init.
 *
 * Invariants checked, for every table: the size → class lookup is monotonic and gives
 * the smallest class that fits; sizes are 8-aligned, 16-aligned from 16 bytes, and
 * every power of two up to a page is a class; internal waste stays within the bound
 * except where alignment forces the step; a span holds as many objects as fit, with
 * tail waste within the bound, and spans lengthened (up to 8 pages) for a shorter
 * tail; size_class_object_index(offset) == offset / size for every offset of every
 * span.
 */
#include "tests/tiers/tier_suite.h"

#include "allocator/init.h"
#include "allocator/size_class_table.h"
#include "allocator/size_classes.h"

#include <stdbool.h>
#include <stdlib.h>

/* Index 0 is the table pagoda installs by default; the rest are generated with these
 * parameters (4 KiB pages). */
struct table_params {
    size_t max_small_size;
    double max_waste;
};

static const struct table_params generated_tables[] = {
    { 0, 0 },                       /* unused: index 0 is the installed default */
    { 32 * 1024, 0.125 },
    { 1024, 0.5 },
    { 12 * 1024, 0.2 },
    { 16 * 1024, 0.25 },
    { 64 * 1024, 0.0625 },
    { 256 * 1024, 0.125 },
};
#define TABLE_COUNT ((int)(sizeof generated_tables / sizeof generated_tables[0]))

/* Installs table `which` as the active table; returns its waste bound. */
static double install_table(int which)
{
    struct size_class_params params;
    size_class_default_params(&params);
    if (which == 0) {
        unsetenv("PAGODA_SIZE_CLASSES");
        unsetenv("PAGODA_SIZE_CLASS_WASTE");
        unsetenv("PAGODA_MAX_SMALL_SIZE");
        pagoda_initialize();
        return params.max_waste;
    }
    params.max_small_size = generated_tables[which].max_small_size;
    params.max_waste = generated_tables[which].max_waste;
    struct size_class table[SIZE_CLASS_MAX_COUNT];
    const char *why = NULL;
    int count = size_class_generate(&params, table, SIZE_CLASS_MAX_COUNT, &why);
    ck_assert_msg(count > 0, "table %d not generated: %s", which, why);
    size_classes_init(table, count);
    ck_assert_uint_eq(size_class_table[count].size, params.max_small_size);
    return params.max_waste;
}

static uint32_t class_size(unsigned size_class)
{
    return size_class_table[size_class].size;
}

START_TEST(test_lookup_is_monotonic_in_size)
{
    install_table(_i);
    for (size_t n = 1; n < size_class_small_limit; n++)
        if (size_class_of(n) < size_class_of(n - 1))
            ck_abort_msg("table %d: size %zu has class %u, below size %zu's %u",
                         _i, n, size_class_of(n), n - 1, size_class_of(n - 1));
}
END_TEST

START_TEST(test_lookup_gives_the_smallest_fitting_class)
{
    install_table(_i);
    for (size_t n = 1; n < size_class_small_limit; n++) {
        unsigned c = size_class_of(n);
        if (c < 1 || c > size_class_count)
            ck_abort_msg("table %d: size %zu -> class %u", _i, n, c);
        if (class_size(c) < n)
            ck_abort_msg("table %d: size %zu in class %u of %u bytes", _i, n, c, class_size(c));
        if (c > 1 && class_size(c - 1) >= n)
            ck_abort_msg("table %d: size %zu in class %u, but class %u (%u bytes) fits",
                         _i, n, c, c - 1, class_size(c - 1));
    }
}
END_TEST

START_TEST(test_small_limit_is_one_past_the_last_class)
{
    install_table(_i);
    ck_assert_uint_eq(size_class_small_limit, (size_t)class_size(size_class_count) + 1);
    ck_assert_uint_eq(size_class_of(size_class_small_limit - 1), size_class_count);
    /* Above the largest class, up to the largest limit any tuning allows: class 0. */
    for (size_t n = size_class_small_limit; n <= SIZE_CLASS_MAX_SMALL_LIMIT; n += 8)
        ck_assert_uint_eq(size_class_of(n), 0);
}
END_TEST

START_TEST(test_sizes_increase_and_obey_alignment)
{
    install_table(_i);
    for (unsigned c = 1; c <= size_class_count; c++) {
        uint32_t size = class_size(c);
        ck_assert_msg(size % 8 == 0, "table %d: class %u size %u", _i, c, size);
        ck_assert_msg(size < 16 || size % 16 == 0, "table %d: class %u size %u", _i, c, size);
        ck_assert_msg(c == 1 || size > class_size(c - 1), "table %d: class %u size %u", _i, c, size);
    }
}
END_TEST

START_TEST(test_every_power_of_two_up_to_a_page_is_a_class)
{
    install_table(_i);
    for (size_t p = 8; p <= PAGE_SIZE && p < size_class_small_limit; p *= 2)
        ck_assert_msg(class_size(size_class_of(p)) == p,
                      "table %d: %zu bytes fall in a class of %u", _i, p, class_size(size_class_of(p)));
}
END_TEST

START_TEST(test_internal_waste_is_bounded_unless_alignment_forces_the_step)
{
    double max_waste = install_table(_i);
    for (unsigned c = 1; c <= size_class_count; c++) {
        uint32_t size = class_size(c);
        uint32_t prev = c > 1 ? class_size(c - 1) : 0;
        uint32_t smallest_step = prev < 16 ? 8 : 16;
        bool forced = size - prev == smallest_step;
        ck_assert_msg(forced || (double)(size - prev - 1) <= max_waste * size,
                      "table %d: class %u (%u after %u) wastes %.3f", _i, c, size, prev,
                      (double)(size - prev - 1) / size);
    }
}
END_TEST

START_TEST(test_span_holds_all_objects_that_fit_with_bounded_tail)
{
    double max_waste = install_table(_i);
    for (unsigned c = 1; c <= size_class_count; c++) {
        const struct size_class_info *info = &size_class_table[c];
        size_t span_bytes = (size_t)info->pages << PAGE_SHIFT;
        size_t tail = span_bytes - (size_t)info->objects * info->size;
        ck_assert_msg(info->objects >= 1 && info->objects <= SIZE_CLASS_MAX_OBJECTS,
                      "table %d: class %u has %u objects", _i, c, info->objects);
        ck_assert_msg((size_t)info->objects * info->size <= span_bytes,
                      "table %d: class %u: %u x %u bytes in %u pages", _i, c,
                      info->objects, info->size, info->pages);
        ck_assert_msg(tail < info->size, "table %d: class %u leaves room for another object", _i, c);
        ck_assert_msg((double)tail <= max_waste * (double)span_bytes,
                      "table %d: class %u tail %zu of %zu bytes", _i, c, tail, span_bytes);
    }
}
END_TEST

/* Tail fraction of a span of `pages` pages for objects of `size` bytes. */
static double tail_fraction(size_t pages, size_t size)
{
    size_t span = pages << PAGE_SHIFT;
    return (double)(span % size) / (double)span;
}

/* Spans are lengthened for short tails (size_class_gen.c): where a span of at most 8
 * pages leaves a tail within a quarter of the bound, a class has the shortest such;
 * elsewhere no span of at most 8 pages within the bound leaves a smaller tail. */
START_TEST(test_span_is_lengthened_for_a_short_tail)
{
    double max_waste = install_table(_i);
    for (unsigned c = 1; c <= size_class_count; c++) {
        const struct size_class_info *info = &size_class_table[c];
        size_t shortest_quarter = 0;
        for (size_t pages = 1; pages <= 8 && !shortest_quarter; pages++)
            if ((pages << PAGE_SHIFT) >= info->size &&
                (pages << PAGE_SHIFT) / info->size <= SIZE_CLASS_MAX_OBJECTS &&
                tail_fraction(pages, info->size) <= max_waste / 4)
                shortest_quarter = pages;
        if (shortest_quarter) {
            ck_assert_msg(info->pages == shortest_quarter,
                          "table %d: class %u (%u bytes) has %u pages, not %zu", _i, c,
                          info->size, info->pages, shortest_quarter);
            continue;
        }
        for (size_t pages = 1; pages <= 8; pages++)
            if ((pages << PAGE_SHIFT) >= info->size &&
                (pages << PAGE_SHIFT) / info->size <= SIZE_CLASS_MAX_OBJECTS &&
                tail_fraction(pages, info->size) <= max_waste)
                ck_assert_msg(tail_fraction(info->pages, info->size) <= tail_fraction(pages, info->size),
                              "table %d: class %u (%u bytes): %zu pages leave a smaller tail than %u",
                              _i, c, info->size, pages, info->pages);
    }
}
END_TEST

START_TEST(test_object_index_is_offset_divided_by_size)
{
    install_table(_i);
    for (unsigned c = 1; c <= size_class_count; c++) {
        const struct size_class_info *info = &size_class_table[c];
        size_t span_bytes = (size_t)info->pages << PAGE_SHIFT;
        for (size_t offset = 0; offset < span_bytes; offset++)
            if (size_class_object_index(info, offset) != offset / info->size)
                ck_abort_msg("table %d: class %u (size %u): index of offset %zu is %u, not %zu",
                             _i, c, info->size, offset, size_class_object_index(info, offset),
                             offset / info->size);
    }
}
END_TEST

START_TEST(test_installed_default_is_the_generated_default)
{
    install_table(0);
    struct size_class_params params;
    size_class_default_params(&params);
    struct size_class generated[SIZE_CLASS_MAX_COUNT];
    const char *why = NULL;
    int count = size_class_generate(&params, generated, SIZE_CLASS_MAX_COUNT, &why);
    ck_assert_int_eq(count, SIZE_CLASS_DEFAULT_COUNT);
    ck_assert_uint_eq(size_class_count, SIZE_CLASS_DEFAULT_COUNT);
    for (int i = 0; i < count; i++) {
        const struct size_class_info *installed = &size_class_table[i + 1];
        ck_assert_uint_eq(generated[i].size, size_class_default_table[i].size);
        ck_assert_uint_eq(generated[i].pages, size_class_default_table[i].pages);
        ck_assert_uint_eq(generated[i].objects, size_class_default_table[i].objects);
        ck_assert_uint_eq(installed->size, generated[i].size);
        ck_assert_uint_eq(installed->pages, generated[i].pages);
        ck_assert_uint_eq(installed->objects, generated[i].objects);
    }
}
END_TEST

Suite *tier_suite(void)
{
    Suite *suite = suite_create("size classes");
    TCase *tables = tcase_create("every table");
    tcase_add_loop_test(tables, test_lookup_is_monotonic_in_size, 0, TABLE_COUNT);
    tcase_add_loop_test(tables, test_lookup_gives_the_smallest_fitting_class, 0, TABLE_COUNT);
    tcase_add_loop_test(tables, test_small_limit_is_one_past_the_last_class, 0, TABLE_COUNT);
    tcase_add_loop_test(tables, test_sizes_increase_and_obey_alignment, 0, TABLE_COUNT);
    tcase_add_loop_test(tables, test_every_power_of_two_up_to_a_page_is_a_class, 0, TABLE_COUNT);
    tcase_add_loop_test(tables, test_internal_waste_is_bounded_unless_alignment_forces_the_step,
                        0, TABLE_COUNT);
    tcase_add_loop_test(tables, test_span_holds_all_objects_that_fit_with_bounded_tail, 0, TABLE_COUNT);
    tcase_add_loop_test(tables, test_span_is_lengthened_for_a_short_tail, 0, TABLE_COUNT);
    tcase_add_loop_test(tables, test_object_index_is_offset_divided_by_size, 0, TABLE_COUNT);
    suite_add_tcase(suite, tables);
    TCase *defaults = tcase_create("default table");
    tcase_add_test(defaults, test_installed_default_is_the_generated_default);
    suite_add_tcase(suite, defaults);
    return suite;
}
