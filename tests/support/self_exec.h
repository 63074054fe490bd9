/*
 * self_exec.h — runs the test binary itself again, in a named scenario and with chosen
 * PAGODA_* variables, and reports how it ended, what it wrote and when it ended.
 * Exec (not just fork) matters: pagoda reads its variables once, at start-up, so only
 * a fresh process sees new ones.
 *
 * A binary that uses this starts its main() with child_scenario_of(): when it returns
 * a name, the binary runs that scenario instead of its tests. A scenario reports
 * numbers to the test as "key=value" lines on stdout (see scenario_value).
 */
#ifndef TESTS_SUPPORT_SELF_EXEC_H
#define TESTS_SUPPORT_SELF_EXEC_H

#include <stddef.h>
#include <sys/types.h>

#define SCENARIO_OUTPUT_MAX 4096

struct scenario_result {
    int status;                             /* as filled in by waitpid() */
    double ended_at;                        /* CLOCK_MONOTONIC seconds when it was reaped */
    char stdout_text[SCENARIO_OUTPUT_MAX];  /* NUL-terminated, truncated if longer */
    char stderr_text[SCENARIO_OUTPUT_MAX];
};

/* A scenario started and not yet finished. */
struct scenario_run {
    pid_t pid;
    int stdout_fd, stderr_fd;
    double deadline;                        /* CLOCK_MONOTONIC seconds */
};

/* Starts /proc/self/exe --child-scenario=<scenario> with this process's environment
 * minus every PAGODA_* variable, plus the "NAME=value" strings of env (NULL-terminated;
 * env may be NULL). Several runs may be under way at once. */
void start_scenario(const char *scenario, const char *const *env, int timeout_seconds,
                    struct scenario_run *run);

/* Waits for a started run to end and fills *result; a child still running
 * timeout_seconds after its start is killed with SIGKILL. */
void finish_scenario(struct scenario_run *run, struct scenario_result *result);

/* start_scenario then finish_scenario. */
void run_scenario(const char *scenario, const char *const *env, int timeout_seconds,
                  struct scenario_result *result);

/* The scenario name when argv asks for one (--child-scenario=NAME), else NULL. */
const char *child_scenario_of(int argc, char **argv);

/* The value of the first "key=value" line of text, or -1 when there is none. */
long long scenario_value(const char *text, const char *key);

#endif /* TESTS_SUPPORT_SELF_EXEC_H */
