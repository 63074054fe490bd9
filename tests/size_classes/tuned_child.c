/*
 * tuned_child.c — the program test_size_classes runs under each tuning. It checks,
 * against whatever table pagoda started with, what any table must guarantee:
 *   - malloc_usable_size(malloc(n)) >= n for every n up to the largest small size + 1,
 *     and never decreases as n grows;
 *   - every block is 8-byte aligned, 16-byte aligned from 16 bytes up, and aligned
 *     to its size when it is a power-of-two class of at most 4 KiB;
 *   - n = largest small size + 1 is a large object (a whole number of pages);
 *   - contents survive malloc/realloc/free churn in several threads at once.
 * Then it prints "classes: s1,s2,…" (the distinct usable sizes up to the largest
 * small size, i.e. the active classes) on stdout. A failed check prints "FAIL: …"
 * and exits 1.
 *
 *   tuned_child LARGEST_SMALL_SIZE
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/support/pattern.h"

#define PAGE 4096
#define ALIGN_PROBES 4           /* blocks checked per request size */
#define CHURN_THREADS 4
#define CHURN_SLOTS 512
#define CHURN_OPS 20000

static size_t largest_small;

static void fail(const char *what, size_t n, size_t value)
{
    printf("FAIL: %s (n = %zu, value = %zu)\n", what, n, value);
    fflush(stdout);
    _exit(1);
}

static int is_power_of_two(size_t x)
{
    return x && !(x & (x - 1));
}

static void check_alignment(size_t n, void *p, size_t usable)
{
    uintptr_t address = (uintptr_t)p;
    if (address % 8)
        fail("block not 8-byte aligned", n, address);
    if (n >= 16 && address % 16)
        fail("block of 16 bytes or more not 16-byte aligned", n, address);
    if (usable == n && is_power_of_two(n) && n <= PAGE && address % n)
        fail("power-of-two class not aligned to its size", n, address);
}

/* Scans every request size; prints the classes seen. */
static void scan_sizes(void)
{
    size_t previous = 0;
    printf("classes: ");
    for (size_t n = 1; n <= largest_small + 1; n++) {
        void *blocks[ALIGN_PROBES];
        size_t usable = 0;
        for (int i = 0; i < ALIGN_PROBES; i++) {
            blocks[i] = malloc(n);
            if (!blocks[i])
                fail("malloc returned NULL", n, 0);
            usable = malloc_usable_size(blocks[i]);
            if (usable < n)
                fail("usable size below the request", n, usable);
            if (usable < previous)
                fail("usable size decreased", n, usable);
            check_alignment(n, blocks[i], usable);
            ((char *)blocks[i])[usable - 1] = 1;
        }
        for (int i = 0; i < ALIGN_PROBES; i++)
            free(blocks[i]);
        if (n > largest_small && usable % PAGE)
            fail("request above the largest small size is not a whole number of pages", n, usable);
        if (n <= largest_small && usable != previous)
            printf("%s%zu", previous ? "," : "", usable);
        previous = usable;
    }
    printf("\n");
}

static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* Mostly small sizes, a quarter up to the largest small size, a few large ones. */
static size_t random_size(uint64_t *state)
{
    uint64_t r = next_random(state);
    switch (r % 20) {
    case 0: return largest_small + 1 + r / 20 % largest_small;
    case 1: case 2: case 3: case 4: case 5: return 1 + r / 20 % largest_small;
    default: return 1 + r / 20 % 512;
    }
}

struct slot {
    char *block;
    size_t size;
    uint64_t seed;
};

static void check_slot(const struct slot *s)
{
    size_t at = pattern_mismatch(s->block, s->size, s->seed);
    if (at != s->size)
        fail("block contents changed", s->size, at);
}

/* Random malloc, realloc (prefix kept) and free over a set of slots. */
static void *churn(void *arg)
{
    uint64_t state = 0x9e3779b97f4a7c15u * ((uintptr_t)arg + 1);
    struct slot slots[CHURN_SLOTS] = { { NULL, 0, 0 } };
    for (int op = 0; op < CHURN_OPS; op++) {
        struct slot *s = &slots[next_random(&state) % CHURN_SLOTS];
        size_t size = random_size(&state);
        if (!s->block) {
            s->block = malloc(size);
            if (!s->block)
                fail("malloc returned NULL", size, 0);
        } else if (op % 3) {
            check_slot(s);
            char *moved = realloc(s->block, size);
            if (!moved)
                fail("realloc returned NULL", size, 0);
            s->block = moved;
            s->size = s->size < size ? s->size : size;
            check_slot(s);
        } else {
            check_slot(s);
            free(s->block);
            s->block = NULL;
            continue;
        }
        s->size = size;
        s->seed = next_random(&state);
        pattern_fill(s->block, size, s->seed);
    }
    for (int i = 0; i < CHURN_SLOTS; i++) {
        if (slots[i].block) {
            check_slot(&slots[i]);
            free(slots[i].block);
        }
    }
    return NULL;
}

static void churn_in_threads(void)
{
    pthread_t threads[CHURN_THREADS];
    for (uintptr_t i = 0; i < CHURN_THREADS; i++)
        if (pthread_create(&threads[i], NULL, churn, (void *)i))
            fail("pthread_create failed", i, 0);
    for (int i = 0; i < CHURN_THREADS; i++)
        pthread_join(threads[i], NULL);
}

int main(int argc, char **argv)
{
    char *end;
    if (argc != 2 || (largest_small = strtoul(argv[1], &end, 10)) == 0 || *end) {
        fprintf(stderr, "usage: tuned_child LARGEST_SMALL_SIZE\n");
        return 2;
    }
    alarm(60);   /* a hang ends the run instead of the test suite */
    scan_sizes();
    churn_in_threads();
    return 0;
}
