/*
 * shell.c — scratch directory, shell commands and file reading for the statistics
 * tests (shell.h).
 */
#define _GNU_SOURCE
#include "tests/stats/shell.h"

#include <check.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char scratch[PATH_MAX];
static pid_t scratch_owner;

static void remove_scratch(void)
{
    if (getpid() == scratch_owner)
        shell("rm -rf '%s'", scratch);
}

const char *scratch_directory(void)
{
    if (!scratch[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(scratch, sizeof scratch, "%s/pagoda-stats-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        ck_assert_msg(mkdtemp(scratch) != NULL, "mkdtemp %s failed", scratch);
        scratch_owner = getpid();
        atexit(remove_scratch);
    }
    return scratch;
}

int shell(const char *fmt, ...)
{
    char command[4 * PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(command, sizeof command, fmt, ap);
    va_end(ap);
    fflush(NULL);
    int status = system(command);
    if (status == -1 || !WIFEXITED(status))
        return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return WEXITSTATUS(status);
}

void read_file(const char *path, char *out, size_t size)
{
    FILE *file = fopen(path, "r");
    ck_assert_msg(file != NULL, "cannot open %s", path);
    size_t length = fread(out, 1, size - 1, file);
    out[length] = '\0';
    fclose(file);
}

const char *binary_directory(void)
{
    static char directory[PATH_MAX];
    if (!directory[0]) {
        ssize_t length = readlink("/proc/self/exe", directory, sizeof directory - 1);
        ck_assert_msg(length > 0, "readlink /proc/self/exe failed");
        directory[length] = '\0';
        *strrchr(directory, '/') = '\0';
    }
    return directory;
}
