/*
 * test_size_classes.c — start-up tuning of the size-class table (PAGODA_SIZE_CLASSES,
 * PAGODA_SIZE_CLASS_WASTE, PAGODA_MAX_SMALL_SIZE, PAGODA_SHOW_SIZE_CLASSES), black
 * box: each case runs tuned_child (next to this binary) in a fresh process under one
 * setting.
 *
 *   tuned tables  the table printed with PAGODA_SHOW_SIZE_CLASSES=1 is the one the
 *                 generator (linked here from allocator/size_class_gen.c) builds for
 *                 the setting, row for row, waste figures included; the classes the
 *                 child observes through malloc_usable_size are exactly its sizes; and
 *                 the child's own checks pass (usable size, monotonic, alignment,
 *                 contents under multi-threaded churn).
 *   malformed     every kind of bad value prints the expected number of lines, each
 *                 naming its variable and what is wrong, and the child then runs,
 *                 checks passing, on the default table.
 */
#define _GNU_SOURCE
#include <check.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "allocator/size_class_gen.h"
#include "allocator/size_class_table.h"
#include "tests/size_classes/run_tuned.h"

#define PAGE 4096
#define SHOW "PAGODA_SHOW_SIZE_CLASSES=1"
#define SIZES_PREFIX "PAGODA_SIZE_CLASSES="

static char child_path[4096];

/* ---- expected tables ---------------------------------------------------------------- */

struct table {
    struct size_class classes[SIZE_CLASS_MAX_COUNT];
    int count;
};

/* How a tuning case's table is computed from its settings. */
enum source { FROM_DEFAULT, FROM_LIST, FROM_PARAMS };

struct tuned_case {
    const char *name;
    enum source source;
    const char *sizes;          /* FROM_LIST: the list, also PAGODA_SIZE_CLASSES */
    double waste_percent;       /* FROM_PARAMS (0: default) */
    size_t max_small;           /* FROM_PARAMS (0: default) */
    const char *env[4];         /* beyond SHOW */
};

/* Parses a list the way the tests write it: comma-separated decimal numbers, each
 * with an optional K suffix, spaces allowed after commas. */
static int parse_list(const char *text, uint32_t *sizes)
{
    int count = 0;
    for (const char *p = text; *p;) {
        char *end;
        unsigned long value = strtoul(p, &end, 10);
        if (*end == 'K') {
            value *= 1024;
            end++;
        }
        sizes[count++] = (uint32_t)value;
        p = *end == ',' ? end + 1 : end;
        while (*p == ' ')
            p++;
    }
    return count;
}

static void expected_table(const struct tuned_case *c, struct table *t)
{
    struct size_class_params params;
    size_class_default_params(&params);
    const char *why = NULL;
    if (c->source == FROM_DEFAULT) {
        t->count = SIZE_CLASS_DEFAULT_COUNT;
        memcpy(t->classes, size_class_default_table, sizeof size_class_default_table);
        return;
    }
    if (c->waste_percent)
        params.max_waste = c->waste_percent / 100.0;
    if (c->source == FROM_LIST) {
        uint32_t sizes[SIZE_CLASS_MAX_COUNT];
        params.max_small_size = SIZE_CLASS_MAX_SMALL_LIMIT;
        int count = parse_list(c->sizes, sizes);
        t->count = size_class_from_sizes(&params, sizes, count, t->classes,
                                         SIZE_CLASS_MAX_COUNT, &why);
    } else {
        if (c->max_small)
            params.max_small_size = c->max_small;
        t->count = size_class_generate(&params, t->classes, SIZE_CLASS_MAX_COUNT, &why);
    }
    ck_assert_msg(t->count > 0, "%s: the generator rejects the case: %s", c->name, why);
}

/* ---- running the child and reading what it says ------------------------------------- */

static void run_child(const char *const env[], size_t largest_small, struct tuned_run *run)
{
    char largest[32];
    snprintf(largest, sizeof largest, "%zu", largest_small);
    char *argv[] = { child_path, largest, NULL };
    run_tuned(argv, env, run);
    ck_assert_msg(WIFEXITED(run->status) && WEXITSTATUS(run->status) == 0,
                  "child status %#x\nstdout:\n%s\nstderr:\n%s", run->status,
                  run->stdout_text, run->stderr_text);
    ck_assert_msg(!strstr(run->stdout_text, "FAIL"), "child failed:\n%s", run->stdout_text);
}

/* The line after line in text, or NULL after the last one. */
static const char *next_line(const char *line)
{
    const char *newline = strchr(line, '\n');
    return newline && newline[1] ? newline + 1 : NULL;
}

/* The table rows printed by PAGODA_SHOW_SIZE_CLASSES, checked against expected,
 * waste columns included. */
static void check_printed_table(const char *stderr_text, const struct table *expected)
{
    int row = 0;
    for (const char *line = stderr_text; line; line = next_line(line)) {
        unsigned id, size, pages, objects, internal_whole, internal_cents, tail_whole, tail_cents;
        if (sscanf(line, "pagoda: %u %u %u %u %u.%u%% %u.%u%%", &id, &size, &pages, &objects,
                   &internal_whole, &internal_cents, &tail_whole, &tail_cents) != 8)
            continue;
        ck_assert_msg(row < expected->count, "more rows printed than the %d expected", expected->count);
        const struct size_class *c = &expected->classes[row];
        uint32_t prev = row > 0 ? expected->classes[row - 1].size : 0;
        uint64_t span = (uint64_t)c->pages * PAGE;
        unsigned internal = (unsigned)(((uint64_t)(c->size - prev - 1) * 10000 + c->size / 2) / c->size);
        unsigned tail = (unsigned)((span % c->size * 10000 + span / 2) / span);
        ck_assert_msg(id == (unsigned)row + 1 && size == c->size && pages == c->pages &&
                      objects == c->objects,
                      "row %d printed as %u %u %u %u, expected %d %u %u %u", row + 1, id, size,
                      pages, objects, row + 1, c->size, c->pages, c->objects);
        ck_assert_msg(internal_whole * 100 + internal_cents == internal &&
                      tail_whole * 100 + tail_cents == tail,
                      "row %d waste printed as %u.%02u%% %u.%02u%%", row + 1, internal_whole,
                      internal_cents, tail_whole, tail_cents);
        row++;
    }
    ck_assert_msg(row == expected->count, "%d rows printed, expected %d:\n%s", row,
                  expected->count, stderr_text);
}

/* The child's "classes:" line must list exactly the expected sizes. */
static void check_observed_classes(const char *stdout_text, const struct table *expected)
{
    char want[SIZE_CLASS_MAX_COUNT * 8] = "classes: ";
    for (int i = 0; i < expected->count; i++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%u", i ? "," : "",
                 expected->classes[i].size);
    strcat(want, "\n");
    ck_assert_msg(strstr(stdout_text, want), "observed\n%s\nexpected\n%s", stdout_text, want);
}

/* ---- tuned tables ------------------------------------------------------------------- */

/* Filled by main: SIZES_PREFIX and every 16 bytes to 2 KiB, every 128 to 16 KiB. */
static char fine_list[2048];

static const struct tuned_case tuned_cases[] = {
    { "default", FROM_DEFAULT, NULL, 0, 0, { NULL } },
    { "few coarse classes", FROM_LIST, "16,64,256,1024,4096,32768", 0, 0,
      { "PAGODA_SIZE_CLASSES=16,64,256,1024,4096,32768", NULL } },
    { "many fine classes", FROM_LIST, fine_list + sizeof SIZES_PREFIX - 1, 0, 0,
      { fine_list, NULL } },
    { "powers of two to 256 KiB, with a matching max", FROM_LIST,
      "8,16,32,64,128,256,512,1024,2048,4096,8192,16384,32768,65536,131072,262144", 0, 0,
      { "PAGODA_SIZE_CLASSES=8,16,32,64,128,256,512,1024,2048,4096,8192,16384,32768,"
        "65536,131072,262144", "PAGODA_MAX_SMALL_SIZE=256K", NULL } },
    { "suffixes, spaces and a waste bound for the spans", FROM_LIST,
      "16, 48, 1K, 4K, 12K", 2.5, 0,
      { "PAGODA_SIZE_CLASSES=16, 48, 1K, 4K, 12K", "PAGODA_SIZE_CLASS_WASTE=2.5", NULL } },
    { "largest small size below 1 KiB", FROM_LIST, "8,16,32,64,128,256", 0, 0,
      { "PAGODA_SIZE_CLASSES=8,16,32,64,128,256", NULL } },
    { "max small size 256 KiB", FROM_PARAMS, NULL, 0, 256 * 1024,
      { "PAGODA_MAX_SMALL_SIZE=256K", NULL } },
    { "max small size 1 KiB", FROM_PARAMS, NULL, 0, 1024,
      { "PAGODA_MAX_SMALL_SIZE=1024", NULL } },
    { "waste 25 %", FROM_PARAMS, NULL, 25, 0, { "PAGODA_SIZE_CLASS_WASTE=25", NULL } },
    { "waste 6.25 %", FROM_PARAMS, NULL, 6.25, 0, { "PAGODA_SIZE_CLASS_WASTE=6.25%", NULL } },
    { "waste 20 % up to 128 KiB", FROM_PARAMS, NULL, 20, 128 * 1024,
      { "PAGODA_SIZE_CLASS_WASTE=20", "PAGODA_MAX_SMALL_SIZE=128K", NULL } },
};

START_TEST(test_tuned_table)
{
    const struct tuned_case *c = &tuned_cases[_i];
    struct table expected;
    expected_table(c, &expected);
    const char *env[6] = { SHOW };
    for (int i = 0; c->env[i]; i++)
        env[i + 1] = c->env[i];
    struct tuned_run run;
    run_child(env, expected.classes[expected.count - 1].size, &run);
    ck_assert_msg(!strstr(run.stderr_text, "default size classes"),
                  "%s: the setting was rejected:\n%s", c->name, run.stderr_text);
    check_printed_table(run.stderr_text, &expected);
    check_observed_classes(run.stdout_text, &expected);
}
END_TEST

/* ---- malformed settings ------------------------------------------------------------- */

static char too_many_sizes[4096];   /* filled by main: 255 sizes */

struct malformed_case {
    const char *env[3];
    const char *reason;          /* appears in the (first) message line */
    int lines;                   /* message lines expected; 0 means 1 */
};

static const struct malformed_case malformed_cases[] = {
    { { "PAGODA_SIZE_CLASSES=64,32" }, "strictly increasing (32 after 64)", 0 },
    { { "PAGODA_SIZE_CLASSES=16,32,32,48" }, "strictly increasing (32 after 32)", 0 },
    { { "PAGODA_SIZE_CLASSES=4,16" }, "size 4 below 8", 0 },
    { { "PAGODA_SIZE_CLASSES=0,16" }, "size 0 below 8", 0 },
    { { "PAGODA_SIZE_CLASSES=16,512K" }, "entry 2 (512K) is above 262144", 0 },
    { { "PAGODA_SIZE_CLASSES=16,2048", "PAGODA_MAX_SMALL_SIZE=1024" },
      "ends at 2048, not at PAGODA_MAX_SMALL_SIZE=1024", 0 },
    { { "PAGODA_SIZE_CLASSES=16,1024", "PAGODA_MAX_SMALL_SIZE=2048" },
      "ends at 1024, not at PAGODA_MAX_SMALL_SIZE=2048", 0 },
    { { "PAGODA_SIZE_CLASSES=12,16" }, "size 12 is not a multiple of 8", 0 },
    { { "PAGODA_SIZE_CLASSES=16,40" }, "size 40 is not a multiple of 16", 0 },
    { { "PAGODA_SIZE_CLASSES=16,1100" }, "size 1100 is not a multiple of 16", 0 },
    { { too_many_sizes }, "more than 254 sizes", 0 },
    { { "PAGODA_SIZE_CLASSES=16,abc" }, "entry 2 (\"abc\") is not a size", 0 },
    { { "PAGODA_SIZE_CLASSES=16,-32" }, "entry 2 (\"-32\") is not a size", 0 },
    { { "PAGODA_SIZE_CLASSES=16;32" }, "entry 1 (\"16;32\") is not a size", 0 },
    { { "PAGODA_SIZE_CLASSES=16,99999999999999999999999" }, "is not a size", 0 },
    { { "PAGODA_SIZE_CLASSES=16,,32" }, "entry 2 is empty", 0 },
    { { "PAGODA_SIZE_CLASSES=16,32," }, "entry 3 is empty", 0 },
    { { "PAGODA_SIZE_CLASSES=" }, "PAGODA_SIZE_CLASSES is empty", 0 },
    { { "PAGODA_SIZE_CLASS_WASTE=abc" }, "is not a percentage", 0 },
    { { "PAGODA_SIZE_CLASS_WASTE=12.5.1" }, "is not a percentage", 0 },
    { { "PAGODA_SIZE_CLASS_WASTE=-5" }, "is not a percentage", 0 },
    { { "PAGODA_SIZE_CLASS_WASTE=0" }, "=0 is outside (0, 50]", 0 },
    { { "PAGODA_SIZE_CLASS_WASTE=75" }, "=75 is outside (0, 50]", 0 },
    { { "PAGODA_SIZE_CLASS_WASTE=1" }, "=1: too many classes", 0 },
    { { "PAGODA_SIZE_CLASS_WASTE=2", "PAGODA_MAX_SMALL_SIZE=256K" },
      "=2 with PAGODA_MAX_SMALL_SIZE=262144: too many classes", 0 },
    { { "PAGODA_MAX_SMALL_SIZE=300K" }, "=300K is outside [1024, 262144]", 0 },
    { { "PAGODA_MAX_SMALL_SIZE=512" }, "=512 is outside [1024, 262144]", 0 },
    { { "PAGODA_MAX_SMALL_SIZE=2008" }, "=2008 is not a multiple of 16", 0 },
    { { "PAGODA_MAX_SMALL_SIZE=12X" }, "is not a size", 0 },
    /* Nothing half-applies: a valid list is dropped when another variable is bad. */
    { { "PAGODA_SIZE_CLASSES=16,64,1024", "PAGODA_SIZE_CLASS_WASTE=lots" },
      "PAGODA_SIZE_CLASS_WASTE=\"lots\" is not a percentage", 0 },
    { { "PAGODA_SIZE_CLASS_WASTE=lots", "PAGODA_MAX_SMALL_SIZE=1x" }, "is not a", 2 },
    { { "PAGODA_SHOW_SIZE_CLASSES=maybe" }, "is not a boolean", 0 },
};

/* The case's message lines: as many as expected, the reason in one of them, and each
 * starting with "pagoda: " and the name of one of the case's variables. */
static void check_message_lines(const struct malformed_case *c, const char *stderr_text)
{
    int expected_lines = c->lines ? c->lines : 1;
    int lines = 0;
    for (const char *p = stderr_text; (p = strchr(p, '\n')); p++)
        lines++;
    ck_assert_msg(lines == expected_lines, "%d lines, expected %d:\n%s", lines,
                  expected_lines, stderr_text);
    ck_assert_msg(strstr(stderr_text, c->reason), "no \"%s\" in:\n%s", c->reason, stderr_text);
    for (const char *line = stderr_text; line; line = next_line(line)) {
        ck_assert_msg(strncmp(line, "pagoda: PAGODA_", 15) == 0,
                      "line does not start by naming a variable:\n%s", stderr_text);
        size_t length = strcspn(line, "\n");
        const char *names_variable = NULL;
        for (int i = 0; c->env[i] && !names_variable; i++) {
            size_t name_length = strcspn(c->env[i], "=");
            if (strncmp(line + 8, c->env[i], name_length) == 0)
                names_variable = c->env[i];
        }
        ck_assert_msg(names_variable, "line names none of the settings:\n%.*s", (int)length, line);
    }
}

START_TEST(test_malformed_setting)
{
    const struct malformed_case *c = &malformed_cases[_i];
    const struct tuned_case default_case = { "default", FROM_DEFAULT, NULL, 0, 0, { NULL } };
    struct table expected;
    expected_table(&default_case, &expected);
    struct tuned_run run;
    run_child(c->env, expected.classes[expected.count - 1].size, &run);
    check_message_lines(c, run.stderr_text);
    check_observed_classes(run.stdout_text, &expected);
    ck_assert_msg(strstr(run.stdout_text, "classes: 8,16,32,48,"),
                  "malloc_usable_size(17) is not 32:\n%s", run.stdout_text);
}
END_TEST

/* ---- main --------------------------------------------------------------------------- */

static void build_lists(void)
{
    strcpy(fine_list, SIZES_PREFIX);
    for (unsigned size = 16; size <= 16384; size += size < 2048 ? 16 : 128)
        snprintf(fine_list + strlen(fine_list), sizeof fine_list - strlen(fine_list),
                 "%s%u", size > 16 ? "," : "", size);
    strcpy(too_many_sizes, SIZES_PREFIX);
    for (unsigned i = 1; i <= SIZE_CLASS_MAX_COUNT + 1; i++)
        snprintf(too_many_sizes + strlen(too_many_sizes),
                 sizeof too_many_sizes - strlen(too_many_sizes), "%s%u", i > 1 ? "," : "",
                 i * 16);
}

int main(int argc, char **argv)
{
    (void)argc;
    char self[sizeof child_path];
    snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(child_path, sizeof child_path, "%s/tuned_child", dirname(self));
    build_lists();

    Suite *suite = suite_create("size_classes");
    TCase *tuned = tcase_create("tuned tables");
    tcase_add_loop_test(tuned, test_tuned_table, 0, sizeof tuned_cases / sizeof tuned_cases[0]);
    suite_add_tcase(suite, tuned);
    TCase *malformed = tcase_create("malformed settings");
    tcase_add_loop_test(malformed, test_malformed_setting, 0,
                        sizeof malformed_cases / sizeof malformed_cases[0]);
    suite_add_tcase(suite, malformed);

    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
