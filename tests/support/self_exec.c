/*
 * self_exec.c — re-running the test binary in a scenario with its own environment,
 * capturing stdout and stderr apart, under a deadline (see self_exec.h).
 */
#define _GNU_SOURCE
#include "tests/support/self_exec.h"
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

extern char **environ;

#define SCENARIO_FLAG "--child-scenario="

static void fail_setup(const char *what)
{
    perror(what);
    abort();
}

/* environ without PAGODA_* entries, followed by extra; NULL-terminated. */
static char **scenario_environment(const char *const *extra)
{
    size_t count = 0, extra_count = 0;
    while (environ[count])
        count++;
    while (extra && extra[extra_count])
        extra_count++;
    char **env = calloc(count + extra_count + 1, sizeof *env);
    if (!env)
        fail_setup("calloc");
    size_t n = 0;
    for (size_t i = 0; i < count; i++)
        if (strncmp(environ[i], "PAGODA_", 7) != 0)
            env[n++] = environ[i];
    for (size_t i = 0; i < extra_count; i++)
        env[n++] = (char *)extra[i];
    return env;
}

struct capture {
    int fd;
    char *text;
    size_t len;
};

/* Reads what is available from c->fd; returns 0 at end of file. */
static int capture_some(struct capture *c)
{
    char chunk[512];
    ssize_t n = read(c->fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR)
        return 1;
    if (n <= 0)
        return 0;
    size_t keep = (size_t)n;
    if (keep > SCENARIO_OUTPUT_MAX - 1 - c->len)
        keep = SCENARIO_OUTPUT_MAX - 1 - c->len;
    memcpy(c->text + c->len, chunk, keep);
    c->len += keep;
    return 1;
}

/* Collects both streams until the child closes them or the deadline passes; returns 0
 * when the deadline passed. */
static int capture_until_closed(struct capture streams[2], double deadline)
{
    int open_streams = 2;
    while (open_streams) {
        int left_ms = (int)((deadline - monotonic_seconds()) * 1000);
        if (left_ms <= 0)
            return 0;
        struct pollfd pfds[2];
        for (int i = 0; i < 2; i++)
            pfds[i] = (struct pollfd){ .fd = streams[i].fd, .events = POLLIN };
        if (poll(pfds, 2, left_ms) <= 0)
            continue;
        for (int i = 0; i < 2; i++) {
            if (streams[i].fd >= 0 && (pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
                !capture_some(&streams[i])) {
                close(streams[i].fd);
                streams[i].fd = -1;
                open_streams--;
            }
        }
    }
    return 1;
}

void start_scenario(const char *scenario, const char *const *env, int timeout_seconds,
                    struct scenario_run *run)
{
    char flag[256];
    snprintf(flag, sizeof flag, SCENARIO_FLAG "%s", scenario);
    char *argv[] = { "/proc/self/exe", flag, NULL };
    char **child_env = scenario_environment(env);
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
        fail_setup("pipe2");
    fflush(NULL);
    run->deadline = monotonic_seconds() + timeout_seconds;
    pid_t pid = fork();
    if (pid < 0)
        fail_setup("fork");
    if (pid == 0) {
        struct rlimit no_core = { 0, 0 };
        setrlimit(RLIMIT_CORE, &no_core);
        dup2(out[1], STDOUT_FILENO);
        dup2(err[1], STDERR_FILENO);
        execve(argv[0], argv, child_env);
        _exit(127);
    }
    free(child_env);
    close(out[1]);
    close(err[1]);
    run->pid = pid;
    run->stdout_fd = out[0];
    run->stderr_fd = err[0];
}

void finish_scenario(struct scenario_run *run, struct scenario_result *result)
{
    struct capture streams[2] = { { run->stdout_fd, result->stdout_text, 0 },
                                  { run->stderr_fd, result->stderr_text, 0 } };
    int closed = capture_until_closed(streams, run->deadline);
    for (int i = 0; i < 2; i++) {
        streams[i].text[streams[i].len] = '\0';
        if (streams[i].fd >= 0)
            close(streams[i].fd);
    }
    /* The streams close when the child ends, unless a grandchild keeps them open:
     * wait for the child itself within what is left of the deadline. */
    while (closed) {
        if (waitpid(run->pid, &result->status, WNOHANG) == run->pid) {
            result->ended_at = monotonic_seconds();
            return;
        }
        if (monotonic_seconds() >= run->deadline)
            break;
        usleep(1000);
    }
    kill(run->pid, SIGKILL);
    while (waitpid(run->pid, &result->status, 0) < 0 && errno == EINTR)
        ;
    result->ended_at = monotonic_seconds();
}

void run_scenario(const char *scenario, const char *const *env, int timeout_seconds,
                  struct scenario_result *result)
{
    struct scenario_run run;
    start_scenario(scenario, env, timeout_seconds, &run);
    finish_scenario(&run, result);
}

const char *child_scenario_of(int argc, char **argv)
{
    size_t flag_len = strlen(SCENARIO_FLAG);
    if (argc >= 2 && strncmp(argv[1], SCENARIO_FLAG, flag_len) == 0)
        return argv[1] + flag_len;
    return NULL;
}

long long scenario_value(const char *text, const char *key)
{
    size_t key_len = strlen(key);
    for (const char *line = text; line; ) {
        if (strncmp(line, key, key_len) == 0 && line[key_len] == '=')
            return strtoll(line + key_len + 1, NULL, 10);
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return -1;
}
