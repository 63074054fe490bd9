/*
 * workload.c — the helpers declared in workload.h.
 */
#include "workload.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool wl_quick_requested(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--quick") == 0)
            return true;
    return false;
}

static noreturn void usage(const char *program, const struct wl_option *options, size_t count,
                           const char *problem, const char *argument)
{
    static const char *const placeholder[] = {
        [WL_FLAG] = "", [WL_COUNT] = " N", [WL_SECONDS] = " SECONDS", [WL_TEXT] = " TEXT",
    };
    fprintf(stderr, "%s: %s: %s\nusage: %s", program, problem, argument, program);
    for (size_t i = 0; i < count; i++)
        fprintf(stderr, " [--%s%s]", options[i].name, placeholder[options[i].kind]);
    fputc('\n', stderr);
    exit(2);
}

static bool parse_count(const char *text, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || end == text || text[0] == '-')
        return false;
    unsigned shift = 0;
    switch (*end) {
    case 'K': case 'k': shift = 10; end++; break;
    case 'M': case 'm': shift = 20; end++; break;
    case 'G': case 'g': shift = 30; end++; break;
    }
    if (*end != '\0' || value == 0 || value > (UINT64_MAX >> shift))
        return false;
    *out = (uint64_t)value << shift;
    return true;
}

static bool parse_seconds(const char *text, double *out)
{
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(value > 0))
        return false;
    *out = value;
    return true;
}

void wl_parse_options(int argc, char **argv, const struct wl_option *options, size_t count)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const struct wl_option *option = NULL;
        for (size_t k = 0; k < count && arg[0] == '-' && arg[1] == '-'; k++)
            if (strcmp(arg + 2, options[k].name) == 0)
                option = &options[k];
        if (option == NULL)
            usage(argv[0], options, count, "unknown option", arg);
        if (option->kind == WL_FLAG) {
            *(bool *)option->value = true;
            continue;
        }
        if (++i == argc)
            usage(argv[0], options, count, "missing value for", arg);
        bool ok = true;
        switch (option->kind) {
        case WL_COUNT: ok = parse_count(argv[i], option->value); break;
        case WL_SECONDS: ok = parse_seconds(argv[i], option->value); break;
        case WL_TEXT: *(const char **)option->value = argv[i]; break;
        case WL_FLAG: break;
        }
        if (!ok)
            usage(argv[0], options, count, "bad value", argv[i]);
    }
}

unsigned wl_thread_count(uint64_t requested)
{
    if (requested < 1 || requested > WL_MAX_THREADS) {
        fprintf(stderr, "--threads must be between 1 and %d\n", WL_MAX_THREADS);
        exit(2);
    }
    return (unsigned)requested;
}

double wl_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}

void wl_fail(const char *format, ...)
{
    fflush(stdout);
    char message[512];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    fprintf(stderr, "CHECK FAILED %s\n", message);
    /* Other threads may still be running: leave without running exit handlers. */
    _exit(1);
}

void wl_threads_start(struct wl_threads *threads, unsigned count, void *(*body)(void *),
                      void *args, size_t arg_size)
{
    threads->count = count;
    for (unsigned i = 0; i < count; i++) {
        int error = pthread_create(&threads->ids[i], NULL, body, (char *)args + i * arg_size);
        if (error != 0) {
            fprintf(stderr, "pthread_create: %s\n", strerror(error));
            exit(2);
        }
    }
}

void wl_threads_join(struct wl_threads *threads)
{
    for (unsigned i = 0; i < threads->count; i++)
        pthread_join(threads->ids[i], NULL);
}

void wl_hammer(volatile unsigned char *object, uint64_t size, uint64_t repetitions)
{
    for (uint64_t k = 0; k < size; k++)
        object[k] = 0;
    for (uint64_t r = 0; r < repetitions; r++)
        for (uint64_t k = 0; k < size; k++)
            object[k]++;
    for (uint64_t k = 0; k < size; k++)
        if (object[k] != (unsigned char)repetitions)
            wl_fail("byte %llu of a %llu-byte object is %u after %llu increments",
                    (unsigned long long)k, (unsigned long long)size, object[k],
                    (unsigned long long)repetitions);
}
