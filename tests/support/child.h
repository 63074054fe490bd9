/*
 * child.h — runs a function in a forked child process and reports how the child
 * ended and what it wrote to stderr, so tests can check that misuse aborts with the
 * right message without killing the test process.
 */
#ifndef TESTS_SUPPORT_CHILD_H
#define TESTS_SUPPORT_CHILD_H

#include <stddef.h>

#define CHILD_STDERR_MAX 4096

struct child_result {
    int status;                        /* as filled in by waitpid() */
    char stderr_text[CHILD_STDERR_MAX]; /* NUL-terminated, truncated if longer */
};

/* Forks; the child (with core dumps disabled, since it may be meant to abort) runs
 * body(arg) and then _exit(0)s. The parent collects the child's stderr and exit
 * status into *result. A child still running after timeout_seconds is killed with
 * SIGKILL (so a deadlock shows up as that signal). */
void run_in_child(void (*body)(void *arg), void *arg, int timeout_seconds,
                  struct child_result *result);

/* Describes a waitpid() status as "exited with N" or "killed by signal N (name)". */
const char *describe_status(int status, char *buf, size_t size);

#endif /* TESTS_SUPPORT_CHILD_H */
