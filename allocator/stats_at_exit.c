/*
 * stats_at_exit.c — PAGODA_STATS: a statistics report when the process exits.
 *
 *   PAGODA_STATS=1 or text      the text report on stderr
 *   PAGODA_STATS=json           the JSON report on stderr
 *   PAGODA_STATS=text:<path>    the report written to <path> (created or truncated)
 *   PAGODA_STATS=json:<path>
 *   PAGODA_STATS=0 or unset     nothing
 *
 * The variable is read once, at start-up, with the other PAGODA_* variables (a call
 * from initialisation, not a constructor, so that a static link pulls this file in).
 * The report is written by a destructor, which runs at exit() (after the atexit
 * handlers) and at dlclose; atexit itself is avoided because it may allocate. Files are written with
 * open/write/close, never stdio. A malformed value gets one line on stderr and the
 * report stays off.
 */
#define _GNU_SOURCE
#include "allocator/common.h"
#include "allocator/log.h"
#include "allocator/stats.h"

#include "pagoda.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *exit_format;    /* "text" or "json"; NULL: no report */
static const char *exit_path;      /* NULL: stderr */

/* Splits "<format>[:<path>]"; false when the format is unknown or the path empty. */
static bool parse_report_spec(const char *text)
{
    static const char *const formats[] = { "text", "json" };
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        size_t length = strlen(formats[i]);
        if (strncmp(text, formats[i], length) != 0)
            continue;
        if (text[length] == '\0') {
            exit_format = formats[i];
            return true;
        }
        if (text[length] == ':' && text[length + 1] != '\0') {
            exit_format = formats[i];
            exit_path = text + length + 1;
            return true;
        }
    }
    return false;
}

void stats_at_exit_configure(void)
{
    const char *text = getenv("PAGODA_STATS");
    if (!text || strcmp(text, "0") == 0)
        return;
    if (strcmp(text, "1") == 0) {
        exit_format = "text";
        return;
    }
    if (!parse_report_spec(text))
        pagoda_log("PAGODA_STATS=\"%s\" is not 0, 1, text, json, text:<path> or json:<path>; "
                   "no report at exit", text);
}

__attribute__((destructor)) static void write_report_at_exit(void)
{
    if (!exit_format)
        return;
    int fd = STDERR_FILENO;
    if (exit_path) {
        fd = open(exit_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            pagoda_log("PAGODA_STATS: cannot open %s: %s", exit_path, strerrorname_np(errno));
            return;
        }
    }
    if (pagoda_stats_print(fd, exit_format) != 0)
        pagoda_log("PAGODA_STATS: writing the report failed: %s", strerrorname_np(errno));
    if (exit_path)
        close(fd);
}
