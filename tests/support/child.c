/*
 * child.c — forked-child runner with stderr capture and a deadlock timeout (see
 * child.h).
 */
#define _GNU_SOURCE
#include "tests/support/child.h"
#include "tests/support/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void fail_setup(const char *what)
{
    perror(what);
    abort();
}

void run_in_child(void (*body)(void *arg), void *arg, int timeout_seconds,
                  struct child_result *result)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        fail_setup("pipe2");
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        fail_setup("fork");
    if (pid == 0) {
        struct rlimit no_core = { 0, 0 };
        setrlimit(RLIMIT_CORE, &no_core);
        dup2(fds[1], STDERR_FILENO);
        body(arg);
        _exit(0);
    }
    close(fds[1]);

    size_t len = 0;
    double deadline = monotonic_seconds() + timeout_seconds;
    int killed = 0;
    for (;;) {
        int left_ms = (int)((deadline - monotonic_seconds()) * 1000);
        if (left_ms <= 0) {
            kill(pid, SIGKILL);
            killed = 1;
            break;
        }
        struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
        int ready = poll(&pfd, 1, left_ms);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            continue;
        char chunk[512];
        ssize_t n = read(fds[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;  /* every copy of the write end is closed: the child is gone */
        size_t keep = (size_t)n;
        if (keep > CHILD_STDERR_MAX - 1 - len)
            keep = CHILD_STDERR_MAX - 1 - len;
        memcpy(result->stderr_text + len, chunk, keep);
        len += keep;
    }
    result->stderr_text[len] = '\0';
    close(fds[0]);

    /* The pipe closes when the child dies, but a grandchild could keep it open:
     * wait for the child itself within what is left of the deadline. */
    while (!killed) {
        pid_t done = waitpid(pid, &result->status, WNOHANG);
        if (done == pid)
            return;
        if (monotonic_seconds() >= deadline) {
            kill(pid, SIGKILL);
            break;
        }
        usleep(1000);
    }
    while (waitpid(pid, &result->status, 0) < 0 && errno == EINTR)
        ;
}

const char *describe_status(int status, char *buf, size_t size)
{
    if (WIFEXITED(status))
        snprintf(buf, size, "exited with %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, size, "status 0x%x", status);
    return buf;
}
