/*
 * test_config.c — the PAGODA_* variables as a user sets them: a malformed or
 * out-of-range value makes the process print exactly one line on stderr, starting
 * with "pagoda: " and naming the variable, and then run normally; a valid value
 * (suffixes, "never", "free", booleans) prints nothing. Also, PAGODA_MADVISE=free
 * keeps calloc's zeros right after a release. Each case runs in a fresh process
 * (this binary re-executed), since pagoda reads the variables once at start-up.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "pagoda.h"
#include "tests/support/child.h"
#include "tests/support/pattern.h"
#include "tests/support/self_exec.h"

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)

/* ---- scenarios run in the re-executed child ---- */

static const size_t allocate_sizes[] = { 1, 64, 1000, 4 * KiB, 32 * KiB, 100 * KiB, 3 * MiB };
#define ALLOCATE_SIZE_COUNT (sizeof allocate_sizes / sizeof allocate_sizes[0])

/* Allocates, fills, checks and frees a block of every size, twice; exits 1 if any
 * allocation fails or loses its contents. */
static int scenario_allocate(void)
{
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < ALLOCATE_SIZE_COUNT; i++) {
            void *p = malloc(allocate_sizes[i]);
            if (!p)
                return 1;
            pattern_fill(p, allocate_sizes[i], i);
            int intact = pattern_mismatch(p, allocate_sizes[i], i) == allocate_sizes[i];
            free(p);
            if (!intact)
                return 1;
        }
    }
    return 0;
}

static int all_zero(const unsigned char *p, size_t size)
{
    for (size_t i = 0; i < size; i++)
        if (p[i])
            return 0;
    return 1;
}

/* Small objects, large ones, and large ones zeroed through mincore probing. */
static const size_t release_sizes[] = { 64, 1000, 32 * KiB, 100 * KiB, 3 * MiB, 40 * MiB };
#define RELEASE_SIZE_COUNT (sizeof release_sizes / sizeof release_sizes[0])

/* Writes 0xff into a block of every size, frees them, releases the free memory, then
 * callocs each size back; exits 1 if a calloc fails, 2 if one is not all zero. */
static int scenario_calloc_after_release(void)
{
    void *blocks[RELEASE_SIZE_COUNT];
    for (size_t i = 0; i < RELEASE_SIZE_COUNT; i++) {
        if (!(blocks[i] = malloc(release_sizes[i])))
            return 1;
        memset(blocks[i], 0xff, release_sizes[i]);
    }
    for (size_t i = 0; i < RELEASE_SIZE_COUNT; i++)
        free(blocks[i]);
    pagoda_release_free_memory();
    for (size_t i = 0; i < RELEASE_SIZE_COUNT; i++) {
        unsigned char *p = calloc(1, release_sizes[i]);
        if (!p)
            return 1;
        int zero = all_zero(p, release_sizes[i]);
        free(p);
        if (!zero)
            return 2;
    }
    return 0;
}

static int run_named_scenario(const char *name)
{
    if (strcmp(name, "allocate") == 0)
        return scenario_allocate();
    if (strcmp(name, "calloc_after_release") == 0)
        return scenario_calloc_after_release();
    fprintf(stderr, "unknown scenario %s\n", name);
    return 100;
}

/* ---- tests ---- */

struct setting {
    const char *name;
    const char *value;
};

static const struct setting malformed_settings[] = {
    { "PAGODA_THREAD_CACHE_BYTES", "abc" },
    { "PAGODA_THREAD_CACHE_BYTES", "-5" },
    { "PAGODA_THREAD_CACHE_BYTES", "12Q" },
    { "PAGODA_THREAD_CACHE_BYTES", "" },
    { "PAGODA_THREAD_CACHE_BYTES", "99999999999999999999999" },
    { "PAGODA_THREAD_CACHE_BYTES", "1K" },            /* below the 64 KiB minimum */
    { "PAGODA_THREAD_CACHE_BYTES", "2G" },            /* above the 1 GiB maximum */
    { "PAGODA_THREAD_CACHE_BYTES", "0x100000" },
    { "PAGODA_TOTAL_THREAD_CACHE_BYTES", "abc" },
    { "PAGODA_TOTAL_THREAD_CACHE_BYTES", "-5" },
    { "PAGODA_TOTAL_THREAD_CACHE_BYTES", "12Q" },
    { "PAGODA_TOTAL_THREAD_CACHE_BYTES", "" },
    { "PAGODA_TOTAL_THREAD_CACHE_BYTES", "99999999999999999999999" },
    { "PAGODA_TOTAL_THREAD_CACHE_BYTES", "1K" },      /* below the 64 KiB minimum */
    { "PAGODA_TOTAL_THREAD_CACHE_BYTES", "17G" },     /* above the 16 GiB maximum */
    { "PAGODA_RELEASE_DELAY_MS", "abc" },
    { "PAGODA_RELEASE_DELAY_MS", "-5" },
    { "PAGODA_RELEASE_DELAY_MS", "12Q" },
    { "PAGODA_RELEASE_DELAY_MS", "" },
    { "PAGODA_RELEASE_DELAY_MS", "99999999999999999999999" },
    { "PAGODA_RELEASE_DELAY_MS", "86400001" },        /* above one day */
    { "PAGODA_RELEASE_DELAY_MS", "100ms" },
    { "PAGODA_BACKGROUND_THREAD", "abc" },
    { "PAGODA_BACKGROUND_THREAD", "-5" },
    { "PAGODA_BACKGROUND_THREAD", "12Q" },
    { "PAGODA_BACKGROUND_THREAD", "" },
    { "PAGODA_BACKGROUND_THREAD", "99999999999999999999999" },
    { "PAGODA_BACKGROUND_THREAD", "2" },
    { "PAGODA_MEMORY_LIMIT", "abc" },
    { "PAGODA_MEMORY_LIMIT", "-5" },
    { "PAGODA_MEMORY_LIMIT", "12Q" },
    { "PAGODA_MEMORY_LIMIT", "" },
    { "PAGODA_MEMORY_LIMIT", "99999999999999999999999" },
    { "PAGODA_MEMORY_LIMIT", "17179869184G" },        /* 2^64 bytes: overflows */
    { "PAGODA_MEMORY_LIMIT", "64T" },
    { "PAGODA_MADVISE", "abc" },
    { "PAGODA_MADVISE", "-5" },
    { "PAGODA_MADVISE", "12Q" },
    { "PAGODA_MADVISE", "" },
    { "PAGODA_MADVISE", "99999999999999999999999" },
    { "PAGODA_MADVISE", "dontneeds" },
    { "PAGODA_CENTRAL_SHARDS", "abc" },
    { "PAGODA_CENTRAL_SHARDS", "-5" },
    { "PAGODA_CENTRAL_SHARDS", "12Q" },
    { "PAGODA_CENTRAL_SHARDS", "" },
    { "PAGODA_CENTRAL_SHARDS", "99999999999999999999999" },
    { "PAGODA_CENTRAL_SHARDS", "0" },                 /* below the minimum of 1 */
    { "PAGODA_CENTRAL_SHARDS", "65" },                /* above CENTRAL_MAX_SHARDS */
};
#define MALFORMED_COUNT ((int)(sizeof malformed_settings / sizeof malformed_settings[0]))

static const struct setting valid_settings[] = {
    { "PAGODA_THREAD_CACHE_BYTES", "64K" },
    { "PAGODA_THREAD_CACHE_BYTES", "512k" },
    { "PAGODA_THREAD_CACHE_BYTES", "4M" },
    { "PAGODA_THREAD_CACHE_BYTES", "4MiB" },
    { "PAGODA_THREAD_CACHE_BYTES", "1G" },
    { "PAGODA_THREAD_CACHE_BYTES", "1048576" },
    { "PAGODA_TOTAL_THREAD_CACHE_BYTES", "64K" },
    { "PAGODA_TOTAL_THREAD_CACHE_BYTES", "32m" },
    { "PAGODA_TOTAL_THREAD_CACHE_BYTES", "16G" },
    { "PAGODA_RELEASE_DELAY_MS", "0" },
    { "PAGODA_RELEASE_DELAY_MS", "100" },
    { "PAGODA_RELEASE_DELAY_MS", "86400000" },
    { "PAGODA_RELEASE_DELAY_MS", "never" },
    { "PAGODA_RELEASE_DELAY_MS", "NEVER" },
    { "PAGODA_BACKGROUND_THREAD", "1" },
    { "PAGODA_BACKGROUND_THREAD", "0" },
    { "PAGODA_BACKGROUND_THREAD", "yes" },
    { "PAGODA_BACKGROUND_THREAD", "no" },
    { "PAGODA_BACKGROUND_THREAD", "true" },
    { "PAGODA_BACKGROUND_THREAD", "OFF" },
    { "PAGODA_BACKGROUND_THREAD", "auto" },
    { "PAGODA_BACKGROUND_THREAD", "AUTO" },
    { "PAGODA_MEMORY_LIMIT", "0" },
    { "PAGODA_MEMORY_LIMIT", "64M" },
    { "PAGODA_MEMORY_LIMIT", "1g" },
    { "PAGODA_MEMORY_LIMIT", "1099511627776" },
    { "PAGODA_MADVISE", "free" },
    { "PAGODA_MADVISE", "dontneed" },
    { "PAGODA_MADVISE", "FREE" },
    { "PAGODA_CENTRAL_SHARDS", "1" },
    { "PAGODA_CENTRAL_SHARDS", "8" },
    { "PAGODA_CENTRAL_SHARDS", "64" },
};
#define VALID_COUNT ((int)(sizeof valid_settings / sizeof valid_settings[0]))

static void run_allocate_with(const struct setting *setting, struct scenario_result *r)
{
    char assignment[128];
    snprintf(assignment, sizeof assignment, "%s=%s", setting->name, setting->value);
    const char *env[] = { assignment, NULL };
    run_scenario("allocate", env, 10, r);
}

static void assert_exited_zero(const struct scenario_result *r, const struct setting *setting)
{
    char status[96];
    ck_assert_msg(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0,
                  "%s=\"%s\": child %s, expected exit 0; stderr: \"%s\"", setting->name,
                  setting->value, describe_status(r->status, status, sizeof status),
                  r->stderr_text);
}

START_TEST(test_malformed_value_warns_once_naming_the_variable_then_runs)
{
    const struct setting *setting = &malformed_settings[_i];
    struct scenario_result r;
    run_allocate_with(setting, &r);
    assert_exited_zero(&r, setting);
    const char *text = r.stderr_text;
    const char *newline = strchr(text, '\n');
    ck_assert_msg(newline && newline[1] == '\0',
                  "%s=\"%s\": stderr is not exactly one line: \"%s\"", setting->name,
                  setting->value, text);
    ck_assert_msg(strncmp(text, "pagoda: ", 8) == 0,
                  "%s=\"%s\": stderr \"%s\" does not start with \"pagoda: \"", setting->name,
                  setting->value, text);
    ck_assert_msg(strstr(text, setting->name) != NULL,
                  "%s=\"%s\": stderr \"%s\" does not name the variable", setting->name,
                  setting->value, text);
}
END_TEST

START_TEST(test_valid_value_is_silent)
{
    const struct setting *setting = &valid_settings[_i];
    struct scenario_result r;
    run_allocate_with(setting, &r);
    assert_exited_zero(&r, setting);
    ck_assert_msg(r.stderr_text[0] == '\0', "%s=\"%s\": unexpected stderr \"%s\"",
                  setting->name, setting->value, r.stderr_text);
}
END_TEST

START_TEST(test_madvise_free_keeps_calloc_zero_after_release)
{
    const char *env[] = { "PAGODA_MADVISE=free", NULL };
    struct scenario_result r;
    run_scenario("calloc_after_release", env, 20, &r);
    char status[96];
    ck_assert_msg(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0,
                  "child %s (1: calloc failed, 2: calloc returned non-zero bytes); stderr: \"%s\"",
                  describe_status(r.status, status, sizeof status), r.stderr_text);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");

    TCase *parsing = tcase_create("parsing");
    tcase_add_loop_test(parsing, test_malformed_value_warns_once_naming_the_variable_then_runs,
                        0, MALFORMED_COUNT);
    tcase_add_loop_test(parsing, test_valid_value_is_silent, 0, VALID_COUNT);
    suite_add_tcase(s, parsing);

    TCase *advice = tcase_create("madvise");
    tcase_add_test(advice, test_madvise_free_keeps_calloc_zero_after_release);
    suite_add_tcase(s, advice);

    return s;
}

int main(int argc, char **argv)
{
    const char *scenario = child_scenario_of(argc, argv);
    if (scenario)
        return run_named_scenario(scenario);
    SRunner *runner = srunner_create(config_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
