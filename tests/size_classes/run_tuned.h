/*
 * run_tuned.h — runs a program in a fresh process under chosen PAGODA_* settings and
 * collects its exit status, stdout and stderr. A fresh process (exec, not just fork)
 * is the only way to test start-up tuning: pagoda reads its variables once.
 */
#ifndef TESTS_SIZE_CLASSES_RUN_TUNED_H
#define TESTS_SIZE_CLASSES_RUN_TUNED_H

#define TUNED_OUTPUT_MAX (64 * 1024)

struct tuned_run {
    int status;                          /* as filled in by waitpid() */
    char stdout_text[TUNED_OUTPUT_MAX];  /* NUL-terminated, truncated if longer */
    char stderr_text[TUNED_OUTPUT_MAX];
};

/* Runs argv[0] (a path) with argv, in this process's environment minus every PAGODA_*
 * variable plus the "NAME=value" strings of env (NULL-terminated). Aborts the caller
 * if the process cannot be started. */
void run_tuned(char *const argv[], const char *const env[], struct tuned_run *run);

#endif /* TESTS_SIZE_CLASSES_RUN_TUNED_H */
