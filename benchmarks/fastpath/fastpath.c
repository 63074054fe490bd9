/*
 * fastpath.c — the allocation hit path, isolated for instruction counting.
 *
 * Each case warms the allocator up, then runs its loop inside a noinline function
 * named measured_loop_<case>; tools/fastpath-callgrind runs this program under
 * callgrind with --toggle-collect=measured_loop_* at two iteration counts and divides
 * the difference by the iteration count, which cancels every fixed cost. The figure
 * includes the loop's own few instructions (counter or ring index, the two calls),
 * which the tool reports apart. The ring cases take ITERATIONS in whole rounds of
 * the ring: use a multiple of its length (100).
 *
 *   fastpath ITERATIONS [CASE...]   run the given cases (all when none is given)
 *   fastpath --list                 print the case names, one a line
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RING_LENGTH 100
#define WARMUP_ITERATIONS 10000

/* Makes the compiler assume p is used, so that malloc/free pairs are not elided. */
static inline void escape(void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}

/* Back to back: every object is freed right after it is allocated. */
static inline __attribute__((always_inline)) void pair_loop(size_t size, long iterations)
{
    for (long i = iterations; i > 0; i--) {
        void *p = malloc(size);
        escape(p);
        free(p);
    }
}

/* The ring: each slot holds a live object and the size its next object gets (used by
 * the mixed case; one array, so that the loop walks a single pointer). */
struct ring_slot {
    void *object;
    size_t size;
};
static struct ring_slot ring[RING_LENGTH];

/* A ring of live objects: each step frees the oldest object and allocates anew in its
 * slot. A round walks the whole ring, so the loop runs iterations / RING_LENGTH rounds
 * (iterations should be a multiple of RING_LENGTH). */
static inline __attribute__((always_inline)) void ring_loop(size_t size, long iterations)
{
    for (long round = iterations / RING_LENGTH; round > 0; round--)
        for (struct ring_slot *slot = ring; slot < ring + RING_LENGTH; slot++) {
            free(slot->object);
            slot->object = malloc(size);
        }
}

/* The ring again, with the size cycling through several size classes: slot i always
 * gets mixed_sizes[i % MIXED_COUNT]. */
static const size_t mixed_sizes[] = { 16, 64, 256, 1024, 4096 };
#define MIXED_COUNT (sizeof mixed_sizes / sizeof mixed_sizes[0])

static inline __attribute__((always_inline)) void ring_mixed_loop(long iterations)
{
    for (long round = iterations / RING_LENGTH; round > 0; round--)
        for (struct ring_slot *slot = ring; slot < ring + RING_LENGTH; slot++) {
            free(slot->object);
            slot->object = malloc(slot->size);
        }
}

#define MEASURED __attribute__((noinline)) void

MEASURED measured_loop_pair_64(long n) { pair_loop(64, n); }
MEASURED measured_loop_pair_4096(long n) { pair_loop(4096, n); }
MEASURED measured_loop_pair_32768(long n) { pair_loop(32768, n); }
MEASURED measured_loop_ring_64(long n) { ring_loop(64, n); }
MEASURED measured_loop_ring_4096(long n) { ring_loop(4096, n); }
MEASURED measured_loop_ring_32768(long n) { ring_loop(32768, n); }
MEASURED measured_loop_ring_mixed(long n) { ring_mixed_loop(n); }

/* Warm-ups run the same loops outside the measured functions. */
static void warm_pair_64(void) { pair_loop(64, WARMUP_ITERATIONS); }
static void warm_pair_4096(void) { pair_loop(4096, WARMUP_ITERATIONS); }
static void warm_pair_32768(void) { pair_loop(32768, WARMUP_ITERATIONS); }
static void warm_ring_64(void) { ring_loop(64, WARMUP_ITERATIONS); }
static void warm_ring_4096(void) { ring_loop(4096, WARMUP_ITERATIONS); }
static void warm_ring_32768(void) { ring_loop(32768, WARMUP_ITERATIONS); }
static void warm_ring_mixed(void) { ring_mixed_loop(WARMUP_ITERATIONS); }

struct fastpath_case {
    const char *name;
    int uses_ring;
    void (*warm_up)(void);
    void (*measured)(long iterations);
};

static const struct fastpath_case cases[] = {
    { "pair-64", 0, warm_pair_64, measured_loop_pair_64 },
    { "pair-4096", 0, warm_pair_4096, measured_loop_pair_4096 },
    { "pair-32768", 0, warm_pair_32768, measured_loop_pair_32768 },
    { "ring-64", 1, warm_ring_64, measured_loop_ring_64 },
    { "ring-4096", 1, warm_ring_4096, measured_loop_ring_4096 },
    { "ring-32768", 1, warm_ring_32768, measured_loop_ring_32768 },
    { "ring-mixed", 1, warm_ring_mixed, measured_loop_ring_mixed },
};
#define CASE_COUNT (sizeof cases / sizeof cases[0])

static void release_ring(void)
{
    for (unsigned i = 0; i < RING_LENGTH; i++) {
        free(ring[i].object);
        ring[i].object = NULL;
    }
}

static void run_case(const struct fastpath_case *c, long iterations)
{
    c->warm_up();
    c->measured(iterations);
    if (c->uses_ring)
        release_ring();
}

static const struct fastpath_case *find_case(const char *name)
{
    for (size_t i = 0; i < CASE_COUNT; i++)
        if (strcmp(cases[i].name, name) == 0)
            return &cases[i];
    return NULL;
}

static int usage(void)
{
    fprintf(stderr, "usage: fastpath ITERATIONS [CASE...] | fastpath --list\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < CASE_COUNT; i++)
            puts(cases[i].name);
        return 0;
    }
    if (argc < 2)
        return usage();
    char *end;
    long iterations = strtol(argv[1], &end, 10);
    if (*end != '\0' || iterations < 0)
        return usage();
    for (unsigned i = 0; i < RING_LENGTH; i++)
        ring[i].size = mixed_sizes[i % MIXED_COUNT];

    for (int i = 2; i < argc; i++)
        if (!find_case(argv[i])) {
            fprintf(stderr, "fastpath: unknown case '%s' (see --list)\n", argv[i]);
            return 2;
        }
    if (argc == 2)
        for (size_t i = 0; i < CASE_COUNT; i++)
            run_case(&cases[i], iterations);
    else
        for (int i = 2; i < argc; i++)
            run_case(find_case(argv[i]), iterations);
    return 0;
}
