/*
 * shell.h — helpers for the statistics tests that check output with outside tools
 * (python3's json and xml parsers, jq) and run helper programs under PAGODA_STATS:
 * a scratch directory, shell commands, and reading a whole file.
 */
#ifndef TESTS_STATS_SHELL_H
#define TESTS_STATS_SHELL_H

#include <stddef.h>

/* Creates a fresh directory under $TMPDIR (or /tmp) and returns its path; removed at
 * exit. */
const char *scratch_directory(void);

/* Runs a shell command built from the printf-style format; returns its exit status
 * (127 and up for a signal or a shell failure). */
int shell(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The file's contents, NUL-terminated, truncated to size - 1 bytes. Aborts the test
 * if the file cannot be read. */
void read_file(const char *path, char *out, size_t size);

/* The directory of the running test binary, where the helper programs are built. */
const char *binary_directory(void);

#endif /* TESTS_STATS_SHELL_H */
