/*
 * run_tuned.c — fork + exec with a chosen environment, output captured in temporary
 * files (run_tuned.h). Files rather than pipes: the parent reads after waitpid, so a
 * child writing a lot to both streams can never block on a full pipe.
 */
#define _GNU_SOURCE
#include "tests/size_classes/run_tuned.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void read_all(FILE *file, char *text, size_t size)
{
    rewind(file);
    size_t length = fread(text, 1, size - 1, file);
    text[length] = '\0';
    fclose(file);
}

/* In the child: drops inherited PAGODA_* variables, adds env, execs. */
static void exec_tuned(char *const argv[], const char *const env[], FILE *out, FILE *err)
{
    for (char **var = environ; *var;) {
        if (strncmp(*var, "PAGODA_", 7) == 0) {
            char name[256];
            size_t length = strcspn(*var, "=");
            snprintf(name, sizeof name, "%.*s", (int)length, *var);
            unsetenv(name);
        } else {
            var++;
        }
    }
    for (int i = 0; env[i]; i++)
        putenv((char *)env[i]);
    dup2(fileno(out), STDOUT_FILENO);
    dup2(fileno(err), STDERR_FILENO);
    execv(argv[0], argv);
    perror(argv[0]);
    _exit(127);
}

void run_tuned(char *const argv[], const char *const env[], struct tuned_run *run)
{
    FILE *out = tmpfile();
    FILE *err = tmpfile();
    if (!out || !err) {
        perror("run_tuned: tmpfile");
        abort();
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("run_tuned: fork");
        abort();
    }
    if (pid == 0)
        exec_tuned(argv, env, out, err);
    while (waitpid(pid, &run->status, 0) < 0) {
        if (errno != EINTR) {
            perror("run_tuned: waitpid");
            abort();
        }
    }
    read_all(out, run->stdout_text, sizeof run->stdout_text);
    read_all(err, run->stderr_text, sizeof run->stderr_text);
}
