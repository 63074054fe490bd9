/*
 * test_debug.c — the debug mode (PAGODA_DEBUG) catches each kind of planted heap bug:
 * every scenario runs in a fresh process with the detector switched on and must end
 * the way the detector promises (abort with a message naming the pointer, or a fault
 * on the guard page); the same scenario without the detector must not be caught, which
 * shows the catch is the detector's doing.
 */
#include <check.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/support/self_exec.h"

#define SCENARIO_TIMEOUT 20

/* ---- scenarios (run in the child) -------------------------------------------- */

static void print_pointer(const void *p)
{
    printf("pointer=%llu\n", (unsigned long long)(uintptr_t)p);
    fflush(stdout);
}

/* A write into a freed small object whose neighbours stay live, then reuse. */
static void write_after_free_small(void)
{
    char *keep[64];
    for (int i = 0; i < 64; i++)
        keep[i] = malloc(48);
    char *victim = keep[10];
    print_pointer(victim);
    free(victim);
    victim[20] = 'x';
    for (int i = 0; i < 4096; i++)
        free(malloc(48));
}

/* A write into a small object freed with the rest of its span, then reuse. */
static void write_after_free_whole_span(void)
{
    char *victim = malloc(48);
    print_pointer(victim);
    free(victim);
    victim[20] = 'x';
    for (int i = 0; i < 4096; i++)
        free(malloc(48));
}

/* A write into a freed large object, then reuse of its pages. */
static void write_after_free_large(void)
{
    char *victim = malloc(1 << 20);
    print_pointer(victim);
    free(victim);
    victim[5000] = 'x';
    free(malloc(1 << 20));
}

/* free(p); free(q); free(p): p is no longer the head of any list. */
static void double_free_small(void)
{
    void *objects[64];
    for (int i = 0; i < 64; i++)
        objects[i] = malloc(100);
    print_pointer(objects[5]);
    free(objects[5]);
    free(objects[7]);
    free(objects[5]);
}

static void free_inside_object(void)
{
    char *p = malloc(100);
    print_pointer(p + 16);
    free(p + 16);
}

/* A write one page past the end of a large object. */
static void overrun_large(void)
{
    char *p = malloc(100000);
    size_t usable = malloc_usable_size(p);
    print_pointer(p + usable);
    p[usable] = 1;
}

/* A large object shrunk by realloc to a size it would hold in place (more than half
 * of it) has its guard page right after the pages the new size needs. Without the
 * detector the write lands inside the block, which keeps its length. */
static void overrun_after_realloc_shrink(void)
{
    size_t size = 600000, end_of_pages = (size + 4095) & ~(size_t)4095;
    char *p = malloc(1 << 20);
    p = realloc(p, size);
    print_pointer(p + end_of_pages);
    p[end_of_pages] = 1;
}

/* New memory carries the "uninitialised" pattern; calloc memory is zero. */
static void fresh_memory_patterns(void)
{
    unsigned char *fresh = malloc(64);
    unsigned char *zeroed = calloc(64, 1);
    printf("fresh=%u\nzeroed=%u\n", fresh[10], zeroed[10]);
}

static const struct {
    const char *name;
    void (*run)(void);
} scenarios[] = {
    { "write_after_free_small", write_after_free_small },
    { "write_after_free_whole_span", write_after_free_whole_span },
    { "write_after_free_large", write_after_free_large },
    { "double_free_small", double_free_small },
    { "free_inside_object", free_inside_object },
    { "overrun_large", overrun_large },
    { "overrun_after_realloc_shrink", overrun_after_realloc_shrink },
    { "fresh_memory_patterns", fresh_memory_patterns },
};

/* ---- checks (in the test) ------------------------------------------------------- */

static void run_with_debug(const char *scenario, const char *debug, struct scenario_result *result)
{
    if (!debug) {
        run_scenario(scenario, NULL, SCENARIO_TIMEOUT, result);
        return;
    }
    char setting[64];
    snprintf(setting, sizeof setting, "PAGODA_DEBUG=%s", debug);
    const char *env[] = { setting, NULL };
    run_scenario(scenario, env, SCENARIO_TIMEOUT, result);
}

/* The scenario aborts under `debug` with a message that contains `words` and names
 * the pointer it printed. */
static void expect_caught(const char *scenario, const char *debug, const char *words)
{
    static struct scenario_result result;
    run_with_debug(scenario, debug, &result);
    ck_assert_msg(WIFSIGNALED(result.status) && WTERMSIG(result.status) == SIGABRT,
                  "%s under PAGODA_DEBUG=%s: expected SIGABRT, status %d, stderr: %s",
                  scenario, debug, result.status, result.stderr_text);
    ck_assert_msg(strstr(result.stderr_text, "pagoda: ") && strstr(result.stderr_text, words),
                  "%s: stderr lacks \"%s\": %s", scenario, words, result.stderr_text);
    long long pointer = scenario_value(result.stdout_text, "pointer");
    char hex[32];
    snprintf(hex, sizeof hex, "0x%llx", pointer);
    if (strcmp(words, "write after free in the freed page") != 0)
        ck_assert_msg(strstr(result.stderr_text, hex), "%s: stderr does not name %s: %s",
                      scenario, hex, result.stderr_text);
}

static void expect_not_caught(const char *scenario)
{
    static struct scenario_result result;
    run_with_debug(scenario, NULL, &result);
    ck_assert_msg(WIFEXITED(result.status) && WEXITSTATUS(result.status) == 0,
                  "%s without PAGODA_DEBUG: expected a normal exit, status %d, stderr: %s",
                  scenario, result.status, result.stderr_text);
}

START_TEST(test_poison_catches_write_after_free_of_small_object)
{
    expect_caught("write_after_free_small", "poison", "write after free of");
    expect_not_caught("write_after_free_small");
}
END_TEST

START_TEST(test_poison_catches_write_after_free_in_returned_span)
{
    expect_caught("write_after_free_whole_span", "poison", "write after free");
    expect_not_caught("write_after_free_whole_span");
}
END_TEST

START_TEST(test_poison_catches_write_after_free_of_large_object)
{
    expect_caught("write_after_free_large", "poison", "write after free in the freed page");
    expect_not_caught("write_after_free_large");
}
END_TEST

START_TEST(test_double_free_mode_catches_a_late_double_free)
{
    expect_caught("double_free_small", "double-free", "double free of");
    expect_not_caught("double_free_small");
}
END_TEST

START_TEST(test_free_inside_an_object_is_caught)
{
    expect_caught("free_inside_object", "double-free", "not the start of an object");
}
END_TEST

/* The scenario faults on the guard page with the guard mode on, and runs to its end
 * without it. */
static void expect_guard_fault(const char *scenario)
{
    static struct scenario_result result;
    run_with_debug(scenario, "guard", &result);
    ck_assert_msg(WIFSIGNALED(result.status) && WTERMSIG(result.status) == SIGSEGV,
                  "%s: expected SIGSEGV on the guard page, status %d", scenario, result.status);
    expect_not_caught(scenario);
}

START_TEST(test_guard_page_faults_on_overrun)
{
    expect_guard_fault("overrun_large");
}
END_TEST

START_TEST(test_guard_page_follows_an_object_realloc_shrank)
{
    expect_guard_fault("overrun_after_realloc_shrink");
}
END_TEST

START_TEST(test_poison_marks_fresh_memory_and_calloc_stays_zero)
{
    static struct scenario_result result;
    run_with_debug("fresh_memory_patterns", "poison", &result);
    ck_assert_int_eq(scenario_value(result.stdout_text, "fresh"), 0x6b);
    ck_assert_int_eq(scenario_value(result.stdout_text, "zeroed"), 0);
}
END_TEST

START_TEST(test_malformed_value_is_reported_and_mode_stays_off)
{
    static struct scenario_result result;
    run_with_debug("double_free_small", "poison,bogus", &result);
    ck_assert_msg(strstr(result.stderr_text, "PAGODA_DEBUG"), "no message: %s", result.stderr_text);
    ck_assert_msg(WIFEXITED(result.status) && WEXITSTATUS(result.status) == 0,
                  "the mode should stay off, status %d", result.status);
}
END_TEST

int main(int argc, char **argv)
{
    const char *scenario = child_scenario_of(argc, argv);
    if (scenario) {
        for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
            if (strcmp(scenario, scenarios[i].name) == 0) {
                scenarios[i].run();
                return 0;
            }
        }
        fprintf(stderr, "unknown scenario %s\n", scenario);
        return 2;
    }
    Suite *suite = suite_create("debug mode");
    TCase *tc = tcase_create("detectors");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_poison_catches_write_after_free_of_small_object);
    tcase_add_test(tc, test_poison_catches_write_after_free_in_returned_span);
    tcase_add_test(tc, test_poison_catches_write_after_free_of_large_object);
    tcase_add_test(tc, test_double_free_mode_catches_a_late_double_free);
    tcase_add_test(tc, test_free_inside_an_object_is_caught);
    tcase_add_test(tc, test_guard_page_faults_on_overrun);
    tcase_add_test(tc, test_guard_page_follows_an_object_realloc_shrank);
    tcase_add_test(tc, test_poison_marks_fresh_memory_and_calloc_stays_zero);
    tcase_add_test(tc, test_malformed_value_is_reported_and_mode_stays_off);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
