/*
 * test_stats_output.c — pagoda_stats_print and PAGODA_STATS: the text report, the
 * JSON report (parsed by python3 -m json.tool, its keys checked with jq), argument
 * errors, and the report at exit in each form of the variable, including a malformed
 * value, which must cost one line on stderr and nothing else.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pagoda.h"
#include "tests/stats/shell.h"

#define REPORT_MAX (64 * 1024)
#define REPORT_HEADER "pagoda 0.1.0 statistics, process "

static char text[REPORT_MAX];
static char path[4096];

/* Writes the report in format to a scratch file and returns its path. */
static const char *print_to_file(const char *format)
{
    snprintf(path, sizeof path, "%s/report.%s", scratch_directory(), format);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pagoda_stats_print(fd, format), 0);
    close(fd);
    return path;
}

START_TEST(text_report_has_figures_and_class_table)
{
    void *held[40];
    for (unsigned i = 0; i < 40; i++)
        held[i] = malloc(3000);
    struct pagoda_stats stats = PAGODA_STATS_INIT;
    ck_assert_int_eq(pagoda_stats_get(&stats), 0);
    read_file(print_to_file("text"), text, sizeof text);

    ck_assert_ptr_nonnull(strstr(text, REPORT_HEADER));
    const char *mapped_line = strstr(text, "\nmapped from the OS ");
    ck_assert_msg(mapped_line != NULL, "no \"mapped from the OS\" line in:\n%s", text);
    uint64_t mapped;
    ck_assert_int_eq(sscanf(mapped_line, " mapped from the OS %" SCNu64 " B", &mapped), 1);
    ck_assert_uint_eq(mapped, stats.mapped_bytes);
    /* The 3072-byte class holds at least the 40 objects. */
    const char *row = strstr(text, "\n   42    3072 ");
    ck_assert_msg(row != NULL, "no row for the 3072-byte class in:\n%s", text);
    unsigned long id, size, pages, spans, in_use;
    ck_assert_int_eq(sscanf(row, "%lu %lu %lu %lu %lu", &id, &size, &pages, &spans, &in_use), 5);
    ck_assert_uint_ge(in_use, 40);
    for (unsigned i = 0; i < 40; i++)
        free(held[i]);
}
END_TEST

START_TEST(json_report_parses_with_stable_keys)
{
    struct pagoda_stats stats = PAGODA_STATS_INIT;
    ck_assert_int_eq(pagoda_stats_get(&stats), 0);
    const char *json = print_to_file("json");
    ck_assert_int_eq(shell("python3 -m json.tool '%s' >/dev/null", json), 0);
    ck_assert_int_eq(shell("jq -e '(keys_unsorted | join(\",\")) == \"version,pid,in_use_bytes,"
                           "small_in_use_bytes,large_in_use_bytes,thread_cache_bytes,large_thread_cache_bytes,central_bytes,"
                           "span_waste_bytes,page_heap_free_bytes,page_heap_released_bytes,"
                           "metadata_bytes,metadata_resident_bytes,mapped_bytes,released_total_bytes,central_shards,size_class_count,"
                           "size_classes\"' '%s' >/dev/null", json), 0);
    ck_assert_int_eq(shell("jq -e '[.size_classes[] | keys_unsorted | join(\",\")] | unique == "
                           "[\"class,object_size,span_pages,objects_per_span,spans,objects_in_use,"
                           "objects_in_thread_caches,objects_in_transfer_cache,objects_free_in_spans\"]'"
                           " '%s' >/dev/null", json), 0);
    ck_assert_int_eq(shell("jq -e '.size_classes | length == %" PRIu64 "' '%s' >/dev/null",
                           stats.size_class_count, json), 0);
    ck_assert_int_eq(shell("jq -e '.version == %d and .mapped_bytes == %" PRIu64 " and .pid == %d' "
                           "'%s' >/dev/null", PAGODA_STATS_VERSION, stats.mapped_bytes, (int)getpid(), json), 0);
}
END_TEST

START_TEST(print_rejects_bad_arguments)
{
    errno = 0;
    ck_assert_int_eq(pagoda_stats_print(STDOUT_FILENO, "xml"), -1);
    ck_assert_int_eq(errno, EINVAL);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    close(fds[1]);
    errno = 0;
    ck_assert_int_eq(pagoda_stats_print(fds[1], "json"), -1);
    ck_assert_int_eq(errno, EBADF);
    close(fds[0]);
}
END_TEST

/* ---- PAGODA_STATS at exit ---- */

static char out[REPORT_MAX], err[REPORT_MAX];

/* Runs the exit program with PAGODA_STATS set to value (shell-quoted by the caller if
 * need be); its stdout and stderr land in `out` and `err`. */
static void run_exit_program(const char *value)
{
    const char *dir = scratch_directory();
    int status = shell("PAGODA_STATS=%s '%s/stats_exit_program' >'%s/out' 2>'%s/err'", value,
                       binary_directory(), dir, dir);
    ck_assert_int_eq(status, 0);
    char file[4096];
    snprintf(file, sizeof file, "%s/out", dir);
    read_file(file, out, sizeof out);
    snprintf(file, sizeof file, "%s/err", dir);
    read_file(file, err, sizeof err);
    ck_assert_str_eq(out, "ran normally\n");
}

START_TEST(variable_1_prints_text_report_to_stderr)
{
    run_exit_program("1");
    ck_assert_msg(strncmp(err, REPORT_HEADER, strlen(REPORT_HEADER)) == 0, "stderr:\n%s", err);
    ck_assert_ptr_nonnull(strstr(err, "size classes holding spans"));
    ck_assert_ptr_nonnull(strstr(err, "\n    2      16 "));      /* the 16-byte class row */
    run_exit_program("text");
    ck_assert_msg(strncmp(err, REPORT_HEADER, strlen(REPORT_HEADER)) == 0, "stderr:\n%s", err);
}
END_TEST

START_TEST(variable_json_path_writes_parseable_json)
{
    char json[4096];
    snprintf(json, sizeof json, "%s/exit.json", scratch_directory());
    char value[4200];
    snprintf(value, sizeof value, "'json:%s'", json);
    run_exit_program(value);
    ck_assert_str_eq(err, "");
    ck_assert_int_eq(shell("python3 -m json.tool '%s' >/dev/null", json), 0);
    ck_assert_int_eq(shell("jq -e '.in_use_bytes > 0 and .large_in_use_bytes == 0' '%s' >/dev/null", json), 0);

    run_exit_program("json");
    char err_path[4096];
    snprintf(err_path, sizeof err_path, "%s/err", scratch_directory());
    ck_assert_int_eq(shell("python3 -m json.tool '%s' >/dev/null", err_path), 0);
}
END_TEST

START_TEST(variable_text_path_writes_report_there)
{
    char report[4096];
    snprintf(report, sizeof report, "%s/exit.txt", scratch_directory());
    char value[4200];
    snprintf(value, sizeof value, "'text:%s'", report);
    run_exit_program(value);
    ck_assert_str_eq(err, "");
    read_file(report, text, sizeof text);
    ck_assert_ptr_nonnull(strstr(text, "in use by the program"));
}
END_TEST

START_TEST(variable_malformed_or_off_costs_nothing)
{
    static const char *const malformed[] = { "yes", "json:", "xml:/tmp/x", "2" };
    for (unsigned i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        run_exit_program(malformed[i]);
        char expected[256];
        snprintf(expected, sizeof expected, "pagoda: PAGODA_STATS=\"%s\" is not ", malformed[i]);
        ck_assert_msg(strncmp(err, expected, strlen(expected)) == 0, "stderr: %s", err);
        ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1, "not one line: %s", err);
    }
    run_exit_program("0");
    ck_assert_str_eq(err, "");
    run_exit_program("");
    ck_assert_msg(strstr(err, "pagoda: PAGODA_STATS=\"\" is not ") == err, "stderr: %s", err);
}
END_TEST

START_TEST(variable_with_unwritable_path_says_so)
{
    run_exit_program("json:/nonexistent-directory/x.json");
    ck_assert_str_eq(err, "pagoda: PAGODA_STATS: cannot open /nonexistent-directory/x.json: ENOENT\n");
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("stats_output");
    TCase *print = tcase_create("print");
    tcase_add_test(print, text_report_has_figures_and_class_table);
    tcase_add_test(print, json_report_parses_with_stable_keys);
    tcase_add_test(print, print_rejects_bad_arguments);
    suite_add_tcase(suite, print);
    TCase *at_exit = tcase_create("at_exit");
    tcase_add_test(at_exit, variable_1_prints_text_report_to_stderr);
    tcase_add_test(at_exit, variable_json_path_writes_parseable_json);
    tcase_add_test(at_exit, variable_text_path_writes_report_there);
    tcase_add_test(at_exit, variable_malformed_or_off_costs_nothing);
    tcase_add_test(at_exit, variable_with_unwritable_path_says_so);
    suite_add_tcase(suite, at_exit);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
