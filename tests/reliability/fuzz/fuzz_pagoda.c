/*
 * fuzz_pagoda.c — libFuzzer harness for the pagoda_* API, with pagoda compiled in
 * under ASan+UBSan (the sanitizer keeps malloc).
 *
 * The input is a sequence of operations on 32 slots: malloc, calloc, realloc, free,
 * free_sized, the aligned allocators, usable-size queries, hand-offs to a second
 * thread (which frees, reallocates or allocates), full checks and memory release. A
 * shadow model keeps every live object's size and seed; the object's bytes hold the
 * pattern for its seed and are verified before every free and realloc. Alignment,
 * usable size, calloc's zeroes and the error returns (NULL + ENOMEM or EINVAL) are
 * checked on every call. Any violation aborts, which libFuzzer reports as a crash.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagoda.h"
#include "tests/support/pattern.h"

#define SLOTS 32
#define MiB ((size_t)1 << 20)

struct object {
    unsigned char *p;
    size_t size;
    uint64_t seed;
};

struct input {
    const uint8_t *data;
    size_t left;
};

static struct object slots[SLOTS];
static uint64_t next_seed = 1;
static unsigned long long operations, inputs;

#define FAIL(...) do { fprintf(stderr, "fuzz_pagoda: " __VA_ARGS__); fputc('\n', stderr); abort(); } while (0)

static uint64_t take(struct input *in, unsigned bytes)
{
    uint64_t value = 0;
    for (unsigned i = 0; i < bytes && in->left; i++, in->left--)
        value |= (uint64_t)*in->data++ << (8 * i);
    return value;
}

/* Sizes around the boundaries that matter, chosen by index. */
static const size_t boundary_sizes[] = {
    0, 1, 7, 8, 9, 15, 16, 17, 127, 128, 129, 1023, 1024, 1025, 4095, 4096, 4097,
    32767, 32768, 32769, 65536, 262144, 1048575, 1048576, 2097153, 8388608,
};

/* A request size: mostly small, sometimes large, now and then absurd. */
static size_t take_size(struct input *in)
{
    switch (take(in, 1) % 8) {
    case 0:  return take(in, 1);
    case 1:  return take(in, 2) % 4096;
    case 2:  return take(in, 2);
    case 3:  return take(in, 3) % MiB;
    case 4:  return take(in, 3) % (4 * MiB);
    case 5:  return boundary_sizes[take(in, 1) % (sizeof boundary_sizes / sizeof boundary_sizes[0])];
    case 6:  return SIZE_MAX - take(in, 2) * 4096;          /* must fail: ENOMEM */
    default: return 8 + take(in, 1) % 64;
    }
}

static int absurd(size_t size)
{
    return size > ((size_t)1 << 46);
}

static void fill(struct object *o)
{
    o->seed = next_seed++;
    pattern_fill(o->p, o->size, o->seed);
}

static void verify(const struct object *o, const char *when)
{
    size_t bad = pattern_mismatch(o->p, o->size, o->seed);
    if (bad != o->size)
        FAIL("%s: object %p of %zu bytes differs at offset %zu", when, (void *)o->p, o->size, bad);
}

static void check_new(const void *p, size_t size, size_t alignment, const char *call)
{
    if (((uintptr_t)p & (alignment - 1)) != 0)
        FAIL("%s(%zu) = %p is not %zu-aligned", call, size, p, alignment);
    size_t usable = pagoda_malloc_usable_size((void *)p);
    if (usable < size)
        FAIL("%s(%zu): usable size %zu", call, size, usable);
}

/* An absurd request must fail with ENOMEM; any other must succeed. */
static void check_result(const void *p, size_t size, int error, const char *call)
{
    if (absurd(size)) {
        if (p || error != ENOMEM)
            FAIL("%s(%zu) = %p, errno %d: expected NULL + ENOMEM", call, size, p, error);
    } else if (!p) {
        FAIL("%s(%zu) failed with errno %d", call, size, error);
    }
}

static void release(struct object *o, int sized)
{
    if (!o->p)
        return;
    verify(o, "before free");
    if (sized)
        pagoda_free_sized(o->p, o->size);
    else
        pagoda_free(o->p);
    o->p = NULL;
}

static void store(struct object *slot, void *p, size_t size, size_t alignment, const char *call)
{
    check_new(p, size, alignment, call);
    release(slot, 0);
    *slot = (struct object){ p, size, 0 };
    fill(slot);
}

static size_t default_alignment(size_t size)
{
    return size < 16 ? 8 : 16;
}

static void do_malloc(struct object *slot, size_t size)
{
    errno = 0;
    void *p = pagoda_malloc(size);
    check_result(p, size, errno, "malloc");
    if (p)
        store(slot, p, size, default_alignment(size), "malloc");
}

/* The offset of the first non-zero byte, or size. Left out of coverage tracing, which
 * would otherwise dominate the harness's time. */
__attribute__((no_sanitize("coverage")))
static size_t first_nonzero(const unsigned char *p, size_t size)
{
    for (size_t i = 0; i < size; i++)
        if (p[i])
            return i;
    return size;
}

static void do_calloc(struct object *slot, size_t count, size_t size)
{
    size_t total;
    int overflow = __builtin_mul_overflow(count, size, &total);
    errno = 0;
    unsigned char *p = pagoda_calloc(count, size);
    check_result(p, overflow ? SIZE_MAX : total, errno, "calloc");
    if (!p)
        return;
    size_t nonzero = first_nonzero(p, total);
    if (nonzero != total)
        FAIL("calloc(%zu, %zu) byte %zu is %d", count, size, nonzero, p[nonzero]);
    store(slot, p, total, default_alignment(total), "calloc");
}

static void do_realloc(struct object *slot, size_t size)
{
    if (slot->p)
        verify(slot, "before realloc");
    errno = 0;
    unsigned char *p = pagoda_realloc(slot->p, size);
    int error = errno;
    if (size == 0 && slot->p) {
        if (p)
            FAIL("realloc(p, 0) returned %p instead of freeing", (void *)p);
        slot->p = NULL;
        return;
    }
    check_result(p, size, error, "realloc");
    if (!p) {
        if (slot->p)
            verify(slot, "after a failed realloc");
        return;
    }
    check_new(p, size, default_alignment(size), "realloc");
    if (slot->p) {
        struct object kept = { p, slot->size < size ? slot->size : size, slot->seed };
        verify(&kept, "after realloc");
    }
    *slot = (struct object){ p, size, 0 };
    fill(slot);
}

static void do_aligned(struct object *slot, unsigned kind, unsigned shift, size_t size)
{
    size_t alignment = (size_t)1 << (shift % 24);
    int power_of_two = shift < 24;
    if (!power_of_two)
        alignment *= 3;                      /* not a power of two: must be refused */
    void *p = NULL;
    const char *call;
    int error;
    errno = 0;
    switch (kind % 5) {
    case 0:
        call = "posix_memalign";
        error = pagoda_posix_memalign(&p, alignment, size);
        if (!power_of_two || alignment < sizeof(void *)) {
            if (error != EINVAL || p)
                FAIL("posix_memalign(%zu, %zu) returned %d, not EINVAL", alignment, size, error);
            return;
        }
        if (error && error != ENOMEM)
            FAIL("posix_memalign(%zu, %zu) returned %d", alignment, size, error);
        break;
    case 1:
        call = "aligned_alloc";
        p = pagoda_aligned_alloc(alignment, size);
        error = errno;
        if (!power_of_two) {
            if (p || error != EINVAL)
                FAIL("aligned_alloc(%zu, %zu) = %p, errno %d: expected EINVAL", alignment, size, p, error);
            return;
        }
        break;
    case 2:
        call = "memalign";                   /* rounds the alignment up to a power of two */
        p = pagoda_memalign(alignment, size);
        error = errno;
        for (size_t rounded = 1;; rounded <<= 1)
            if (rounded >= alignment) {
                alignment = rounded;
                break;
            }
        break;
    case 3:
        call = "valloc";
        alignment = 4096;
        p = pagoda_valloc(size);
        error = errno;
        break;
    default:
        call = "pvalloc";
        alignment = 4096;
        p = pagoda_pvalloc(size);
        error = errno;
        break;
    }
    check_result(p, size, error, call);
    if (p)
        store(slot, p, size, alignment < 8 ? 8 : alignment, call);
}

static void do_usable_size(struct object *slot)
{
    if (!slot->p)
        return;
    size_t usable = pagoda_malloc_usable_size(slot->p);
    if (usable < slot->size)
        FAIL("usable size %zu below the %zu bytes asked for", usable, slot->size);
    verify(slot, "before writing the slack");
    slot->size = usable;                     /* the slack is the object's to use */
    fill(slot);
}

/* ---- the second thread: synchronous hand-offs ---- */

/* What the second thread does with the handed object: free it, realloc it, or (for
 * an empty slot) allocate a new one that the main thread frees later. */
enum handoff_job { JOB_NONE, JOB_FREE, JOB_REALLOC, JOB_ALLOCATE };

static struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    enum handoff_job job;
    struct object object;
    size_t size;
} handoff = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, JOB_NONE, { 0 }, 0 };

static void *handoff_thread(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&handoff.lock);
    for (;;) {
        while (handoff.job == JOB_NONE)
            pthread_cond_wait(&handoff.changed, &handoff.lock);
        struct object *o = &handoff.object;
        if (handoff.job == JOB_FREE) {
            release(o, 1);
        } else if (handoff.job == JOB_REALLOC) {
            do_realloc(o, handoff.size);
        } else {
            do_malloc(o, handoff.size);
        }
        handoff.job = JOB_NONE;
        pthread_cond_broadcast(&handoff.changed);
    }
    return NULL;
}

static void run_on_other_thread(enum handoff_job job, struct object *slot, size_t size)
{
    pthread_mutex_lock(&handoff.lock);
    handoff.object = *slot;
    handoff.size = size;
    handoff.job = job;
    pthread_cond_broadcast(&handoff.changed);
    while (handoff.job != JOB_NONE)
        pthread_cond_wait(&handoff.changed, &handoff.lock);
    *slot = handoff.object;
    pthread_mutex_unlock(&handoff.lock);
}

/* ---- the driver ---- */

static void report_totals(void)
{
    fprintf(stderr, "fuzz_pagoda: %llu operations in %llu inputs\n", operations, inputs);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    pthread_t thread;
    if (pthread_create(&thread, NULL, handoff_thread, NULL) != 0)
        abort();
    atexit(report_totals);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = { data, size };
    inputs++;
    while (in.left) {
        unsigned op = (unsigned)take(&in, 1);
        struct object *slot = &slots[take(&in, 1) % SLOTS];
        operations++;
        /* Operands are read in the order written: one statement each. */
        unsigned mode, kind, shift;
        size_t count;
        switch (op % 12) {
        case 0: case 1:
            do_malloc(slot, take_size(&in));
            break;
        case 2:
            mode = (unsigned)take(&in, 1);
            count = mode % 32 ? mode % 8 : SIZE_MAX / 2;      /* now and then: overflow */
            do_calloc(slot, count, take_size(&in));
            break;
        case 3:
            do_realloc(slot, take_size(&in));
            break;
        case 4: case 5:
            release(slot, op % 12 == 5);
            break;
        case 6:
            kind = (unsigned)take(&in, 1);
            shift = (unsigned)take(&in, 1) % 26;
            do_aligned(slot, kind, shift, take_size(&in));
            break;
        case 7:
            do_usable_size(slot);
            break;
        case 8:
            mode = (unsigned)take(&in, 1);
            run_on_other_thread(!slot->p ? JOB_ALLOCATE : mode & 1 ? JOB_FREE : JOB_REALLOC, slot,
                                take_size(&in));
            break;
        case 9:
            for (int i = 0; i < SLOTS; i++)
                if (slots[i].p)
                    verify(&slots[i], "while live");
            break;
        case 10: pagoda_release_free_memory(); break;
        default: pagoda_malloc_trim(take(&in, 2)); break;
        }
    }
    for (int i = 0; i < SLOTS; i++)
        release(&slots[i], i & 1);
    return 0;
}
