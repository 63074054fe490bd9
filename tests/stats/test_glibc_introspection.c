/*
 * test_glibc_introspection.c — glibc's malloc_stats, mallinfo, mallinfo2 and
 * malloc_info on pagoda: mallinfo2 tracks allocations byte for byte and its parts
 * add up, mallinfo clamps to INT_MAX, malloc_info writes well-formed XML in glibc's
 * shape (parsed with python3's xml.etree), malloc_stats prints glibc's lines, and the
 * standard names are pagoda's.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pagoda.h"
#include "tests/stats/shell.h"

#define OBJECTS 1000

static struct pagoda_stats snapshot(void)
{
    struct pagoda_stats stats = PAGODA_STATS_INIT;
    ck_assert_int_eq(pagoda_stats_get(&stats), 0);
    return stats;
}

static void assert_parts_add_up(const struct mallinfo2 *info)
{
    ck_assert_uint_eq(info->uordblks + info->fordblks, info->arena);
    ck_assert_uint_le(info->fsmblks, info->fordblks);
    ck_assert_uint_le(info->keepcost, info->fordblks);
    ck_assert_uint_eq(info->usmblks, 0);
}

START_TEST(mallinfo2_tracks_allocations)
{
    static void *objects[OBJECTS];
    struct mallinfo2 before = mallinfo2();
    assert_parts_add_up(&before);

    size_t usable = 0;
    for (unsigned i = 0; i < OBJECTS; i++) {
        objects[i] = malloc(1000 + i % 7);
        usable += malloc_usable_size(objects[i]);
    }
    void *large = malloc(3 << 20);
    usable += malloc_usable_size(large);
    struct mallinfo2 during = mallinfo2();
    assert_parts_add_up(&during);
    ck_assert_uint_eq(during.uordblks - before.uordblks, usable);
    ck_assert_uint_eq(during.uordblks, snapshot().in_use_bytes);

    for (unsigned i = 0; i < OBJECTS; i++)
        free(objects[i]);
    free(large);
    struct mallinfo2 after = mallinfo2();
    assert_parts_add_up(&after);
    ck_assert_uint_eq(after.uordblks, before.uordblks);
    ck_assert_uint_ge(after.keepcost, 3 << 20);    /* the large object's pages, free and resident */
}
END_TEST

START_TEST(mallinfo_is_mallinfo2_clamped)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    struct mallinfo small = mallinfo();
#pragma GCC diagnostic pop
    struct mallinfo2 wide = pagoda_mallinfo2();
    ck_assert_int_eq(small.arena, (int)wide.arena);
    ck_assert_int_eq(small.uordblks, (int)wide.uordblks);
    ck_assert_int_eq(small.fordblks, (int)wide.fordblks);

    /* 3 GiB of address space, never touched, so it costs no memory. */
    void *huge = malloc((size_t)3 << 30);
    if (!huge)
        return;    /* the machine does not overcommit that much: nothing to clamp */
    small = pagoda_mallinfo();
    wide = pagoda_mallinfo2();
    ck_assert_uint_ge(wide.uordblks, (size_t)3 << 30);
    ck_assert_int_eq(small.uordblks, INT_MAX);
    ck_assert_int_eq(small.arena, INT_MAX);
    free(huge);
}
END_TEST

START_TEST(malloc_info_writes_glibc_shaped_xml)
{
    void *held[64];
    for (unsigned i = 0; i < 64; i++)
        held[i] = malloc(100);
    for (unsigned i = 0; i < 64; i += 2)
        free(held[i]);                      /* some free objects for the <sizes> list */

    char path[4096];
    snprintf(path, sizeof path, "%s/info.xml", scratch_directory());
    FILE *file = fopen(path, "w");
    ck_assert_ptr_nonnull(file);
    uint64_t mapped = snapshot().mapped_bytes;
    ck_assert_int_eq(malloc_info(0, file), 0);
    ck_assert_int_eq(malloc_info(1, file), EINVAL);
    fclose(file);

    ck_assert_int_eq(shell("python3 -c '"
                           "import sys, xml.etree.ElementTree as ET\n"
                           "root = ET.parse(sys.argv[1]).getroot()\n"
                           "assert root.tag == \"malloc\" and root.get(\"version\") == \"1\"\n"
                           "heaps = root.findall(\"heap\")\n"
                           "assert len(heaps) == 1 and heaps[0].get(\"nr\") == \"0\"\n"
                           "sizes = heaps[0].findall(\"sizes/size\")\n"
                           "assert sizes and all(int(s.get(\"from\")) <= int(s.get(\"to\")) for s in sizes)\n"
                           "assert sum(int(s.get(\"count\")) for s in sizes) >= 32\n"
                           "types = [t.get(\"type\") for t in root.findall(\"total\")]\n"
                           "assert types == [\"fast\", \"rest\", \"mmap\"], types\n"
                           "current = root.find(\"system[@type=\\\"current\\\"]\").get(\"size\")\n"
                           "assert int(current) == int(sys.argv[2]), current\n"
                           "' '%s' %" PRIu64, path, mapped), 0);
    for (unsigned i = 1; i < 64; i += 2)
        free(held[i]);
}
END_TEST

START_TEST(malloc_stats_prints_glibc_lines)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/malloc_stats.txt", scratch_directory());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    int saved_stderr = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
    struct pagoda_stats stats = snapshot();
    malloc_stats();
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);

    char text[1024];
    read_file(path, text, sizeof text);
    size_t arena_system, arena_in_use, total_system, total_in_use;
    ck_assert_msg(sscanf(text, "Arena 0:\nsystem bytes = %zu\nin use bytes = %zu\n"
                               "Total (incl. mmap):\nsystem bytes = %zu\nin use bytes = %zu\n",
                         &arena_system, &arena_in_use, &total_system, &total_in_use) == 4,
                  "malloc_stats printed:\n%s", text);
    ck_assert_uint_eq(arena_system, stats.mapped_bytes - stats.metadata_bytes);
    ck_assert_uint_eq(total_system, stats.mapped_bytes);
    ck_assert_uint_eq(arena_in_use, stats.in_use_bytes);
    ck_assert_uint_eq(total_in_use, stats.in_use_bytes);
    ck_assert_ptr_nonnull(strstr(text, "max mmap regions = "));
    ck_assert_ptr_nonnull(strstr(text, "max mmap bytes   = "));
}
END_TEST

START_TEST(standard_names_are_pagoda)
{
    ck_assert_ptr_eq((void *)mallinfo2, (void *)pagoda_mallinfo2);
    ck_assert_ptr_eq((void *)malloc_info, (void *)pagoda_malloc_info);
    ck_assert_ptr_eq((void *)malloc_stats, (void *)pagoda_malloc_stats);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("glibc_introspection");
    TCase *calls = tcase_create("calls");
    tcase_add_test(calls, standard_names_are_pagoda);
    tcase_add_test(calls, mallinfo2_tracks_allocations);
    tcase_add_test(calls, mallinfo_is_mallinfo2_clamped);
    tcase_add_test(calls, malloc_info_writes_glibc_shaped_xml);
    tcase_add_test(calls, malloc_stats_prints_glibc_lines);
    suite_add_tcase(suite, calls);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
