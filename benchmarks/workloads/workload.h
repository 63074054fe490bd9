/*
 * workload.h — what every workload program shares: option parsing, a monotonic
 * clock, a small RNG, starting and joining worker threads, and the self-check
 * failure exit. Programs use only the standard malloc API so that they run under
 * any allocator (LD_PRELOAD).
 *
 * Output contract with the benchmark runner: optional `METRIC <name> <value>`
 * lines, then a final `CHECK OK <summary>` line and exit 0; on a failed
 * self-check `CHECK FAILED <what>` on stderr and exit 1; bad usage exits 2.
 */
#ifndef PAGODA_WORKLOAD_H
#define PAGODA_WORKLOAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdnoreturn.h>

#define WL_MAX_THREADS 1024

enum wl_option_kind {
    WL_FLAG,    /* bool, takes no argument */
    WL_COUNT,   /* uint64_t > 0, accepts a binary K/M/G suffix (1K = 1024) */
    WL_SECONDS, /* double > 0 */
    WL_TEXT,    /* const char * */
};

struct wl_option {
    const char *name; /* without the leading "--" */
    enum wl_option_kind kind;
    void *value;      /* where the parsed value goes; left alone if not given */
};

/* Whether --quick is among the arguments; programs call this first so that
 * --quick picks the defaults and explicit options still override them. */
bool wl_quick_requested(int argc, char **argv);

/* Parses "--name value" / "--name" arguments into the options' values;
 * prints a usage line and exits 2 on anything unknown or malformed. */
void wl_parse_options(int argc, char **argv, const struct wl_option *options, size_t count);

/* Rejects a --threads value outside 1..WL_MAX_THREADS (exit 2). */
unsigned wl_thread_count(uint64_t requested);

/* Seconds on the monotonic clock. */
double wl_seconds(void);

/* Reports a failed self-check ("CHECK FAILED <what>" on stderr) and exits 1. */
noreturn void wl_fail(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* The false-sharing probes' work on one object: zeroes it, increments every byte
 * `repetitions` times, then checks every byte (wl_fail otherwise). */
void wl_hammer(volatile unsigned char *object, uint64_t size, uint64_t repetitions);

/* splitmix64: fast, good enough for choosing sizes and slots. */
struct wl_rng {
    uint64_t state;
};

static inline struct wl_rng wl_rng_seeded(uint64_t seed)
{
    return (struct wl_rng){ .state = seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull };
}

static inline uint64_t wl_rng_next(struct wl_rng *rng)
{
    uint64_t z = (rng->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, bound), bound > 0. */
static inline uint64_t wl_rng_below(struct wl_rng *rng, uint64_t bound)
{
    return (uint64_t)(((unsigned __int128)wl_rng_next(rng) * bound) >> 64);
}

/* Uniform in [low, high]. */
static inline uint64_t wl_rng_between(struct wl_rng *rng, uint64_t low, uint64_t high)
{
    return low + wl_rng_below(rng, high - low + 1);
}

/* Worker threads: thread i runs body((char *)args + i * arg_size). */
struct wl_threads {
    unsigned count;
    pthread_t ids[WL_MAX_THREADS];
};

void wl_threads_start(struct wl_threads *threads, unsigned count, void *(*body)(void *),
                      void *args, size_t arg_size);
void wl_threads_join(struct wl_threads *threads);

#endif
