/*
 * stress.c — random allocation traffic from many threads through the pagoda_* API:
 * malloc, calloc, realloc, the aligned allocators, free and free_sized, usable-size
 * queries, and hand-offs of live objects to other threads, which check and free them.
 * Every object carries a pattern derived from its own seed, checked before each
 * realloc and free, so overlapping or corrupted objects are caught.
 *
 * It calls only pagoda_* names, so the same source runs on libpagoda.so and in the
 * sanitizer builds, where the sanitizer owns malloc and pagoda is compiled in.
 *
 * Usage: stress THREADS SECONDS      (exit 0 when every check passed)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pagoda.h"
#include "tests/support/clock.h"
#include "tests/support/pattern.h"

#define MAX_THREADS 64
#define SLOTS_PER_THREAD 2048
#define MAILBOX_CAPACITY 512
#define KiB ((size_t)1024)

struct object {
    unsigned char *p;
    size_t size;
    uint64_t seed;
};

struct mailbox {
    pthread_mutex_t lock;
    struct object items[MAILBOX_CAPACITY];
    size_t count;
};

struct worker {
    pthread_t thread;
    uint64_t rng;
    struct object slots[SLOTS_PER_THREAD];
    struct mailbox mailbox;
    struct object taken[MAILBOX_CAPACITY];   /* what drain_mailbox took out */
    unsigned long long operations, handed_off, remote_frees;
};

static struct worker workers[MAX_THREADS];
static unsigned thread_count;
static double deadline;
static unsigned long long content_errors;   /* updated atomically */

static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

static void report(const char *what, const struct object *o, size_t detail)
{
    __atomic_add_fetch(&content_errors, 1, __ATOMIC_RELAXED);
    fprintf(stderr, "stress: %s: object %p of %zu bytes (seed %llu), offset/value %zu\n",
            what, (void *)o->p, o->size, (unsigned long long)o->seed, detail);
}

static void check_contents(const struct object *o, const char *when)
{
    size_t bad = pattern_mismatch(o->p, o->size, o->seed);
    if (bad != o->size)
        report(when, o, bad);
}

/* 70 % up to 256 B, 23 % up to 4 KiB, 6 % up to 64 KiB, 1 % up to 1 MiB. */
static size_t random_size(uint64_t *rng)
{
    uint64_t r = next_random(rng);
    unsigned bucket = (unsigned)(r % 1000);
    size_t limit = bucket < 700 ? 256 : bucket < 930 ? 4 * KiB : bucket < 990 ? 64 * KiB : 1024 * KiB;
    return (size_t)((r >> 16) % limit) + (bucket & 1);
}

static int is_aligned(const void *p, size_t alignment)
{
    return ((uintptr_t)p & (alignment - 1)) == 0;
}

/* A new object from one of the allocation functions, checked for alignment, usable
 * size and (calloc) zeroed contents, then filled with its pattern. */
static int allocate(struct worker *self, struct object *o)
{
    size_t size = random_size(&self->rng);
    uint64_t r = next_random(&self->rng);
    size_t alignment = size >= 16 ? 16 : 8;
    void *p = NULL;
    switch (r % 8) {
    case 0:
        p = pagoda_calloc(1 + size / 64, size ? 64 : 0);
        size = size ? (1 + size / 64) * 64 : 0;
        if (p)
            for (size_t i = 0; i < size; i++)
                if (((unsigned char *)p)[i] != 0) {
                    struct object bad = { p, size, 0 };
                    report("calloc returned a non-zero byte", &bad, i);
                    break;
                }
        break;
    case 1:
        alignment = (size_t)8 << ((r >> 8) % 14);            /* 8 B .. 64 KiB */
        if (pagoda_posix_memalign(&p, alignment, size) != 0)
            p = NULL;
        break;
    case 2:
        alignment = (size_t)16 << ((r >> 8) % 9);            /* 16 B .. 4 KiB */
        p = pagoda_aligned_alloc(alignment, size);
        break;
    default:
        p = pagoda_malloc(size);
        break;
    }
    if (!p) {
        struct object bad = { NULL, size, 0 };
        report("allocation returned NULL", &bad, (size_t)errno);
        return 0;
    }
    *o = (struct object){ p, size, r };
    if (size && !is_aligned(p, alignment))
        report("misaligned object", o, alignment);
    if (pagoda_malloc_usable_size(p) < size)
        report("usable size below the request", o, pagoda_malloc_usable_size(p));
    pattern_fill(p, size, o->seed);
    return 1;
}

static void release(struct worker *self, struct object *o, const char *when)
{
    check_contents(o, when);
    if (next_random(&self->rng) & 1)
        pagoda_free_sized(o->p, o->size);
    else
        pagoda_free(o->p);
    o->p = NULL;
}

static void resize(struct worker *self, struct object *o)
{
    check_contents(o, "corrupted before realloc");
    size_t new_size = random_size(&self->rng) + 1;
    unsigned char *p = pagoda_realloc(o->p, new_size);
    if (!p) {
        report("realloc returned NULL", o, new_size);
        return;
    }
    struct object kept = { p, o->size < new_size ? o->size : new_size, o->seed };
    check_contents(&kept, "realloc lost contents");
    o->p = p;
    o->size = new_size;
    o->seed = next_random(&self->rng);
    pattern_fill(p, new_size, o->seed);
}

/* Writes over the whole usable size: the slack must belong to this object alone. */
static void use_slack(struct object *o)
{
    size_t usable = pagoda_malloc_usable_size(o->p);
    if (usable < o->size)
        report("usable size shrank", o, usable);
    o->size = usable;
    pattern_fill(o->p, usable, o->seed);
}

static int hand_off(struct worker *self, struct object *o)
{
    struct worker *to = &workers[next_random(&self->rng) % thread_count];
    pthread_mutex_lock(&to->mailbox.lock);
    int sent = to->mailbox.count < MAILBOX_CAPACITY;
    if (sent)
        to->mailbox.items[to->mailbox.count++] = *o;
    pthread_mutex_unlock(&to->mailbox.lock);
    if (sent) {
        o->p = NULL;
        self->handed_off++;
    }
    return sent;
}

/* Objects handed in by other threads: half are freed here, half adopted into a slot. */
static void drain_mailbox(struct worker *self)
{
    struct object *taken = self->taken;
    pthread_mutex_lock(&self->mailbox.lock);
    size_t count = self->mailbox.count;
    memcpy(taken, self->mailbox.items, count * sizeof taken[0]);
    self->mailbox.count = 0;
    pthread_mutex_unlock(&self->mailbox.lock);
    for (size_t i = 0; i < count; i++) {
        struct object *slot = &self->slots[next_random(&self->rng) % SLOTS_PER_THREAD];
        if (slot->p || (next_random(&self->rng) & 1)) {
            release(self, &taken[i], "corrupted when freed by another thread");
            self->remote_frees++;
        } else {
            check_contents(&taken[i], "corrupted when adopted by another thread");
            *slot = taken[i];
        }
    }
}

static void step(struct worker *self)
{
    struct object *o = &self->slots[next_random(&self->rng) % SLOTS_PER_THREAD];
    unsigned op = (unsigned)(next_random(&self->rng) % 100);
    if (!o->p) {
        if (op < 60)
            allocate(self, o);
    } else if (op < 35) {
        release(self, o, "corrupted before free");
    } else if (op < 55) {
        resize(self, o);
    } else if (op < 70) {
        if (!hand_off(self, o))
            release(self, o, "corrupted before free");
    } else if (op < 80) {
        use_slack(o);
    } else {
        check_contents(o, "corrupted while live");
    }
    self->operations++;
}

static void *run_worker(void *arg)
{
    struct worker *self = arg;
    while (monotonic_seconds() < deadline) {
        for (int i = 0; i < 256; i++)
            step(self);
        drain_mailbox(self);
    }
    for (size_t i = 0; i < SLOTS_PER_THREAD; i++)
        if (self->slots[i].p)
            release(self, &self->slots[i], "corrupted at the end");
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3 || atoi(argv[1]) < 1 || atoi(argv[1]) > MAX_THREADS || atof(argv[2]) <= 0) {
        fprintf(stderr, "usage: %s THREADS(1-%d) SECONDS\n", argv[0], MAX_THREADS);
        return 2;
    }
    thread_count = (unsigned)atoi(argv[1]);
    double seconds = atof(argv[2]);
    deadline = monotonic_seconds() + seconds;
    for (unsigned i = 0; i < thread_count; i++) {
        workers[i].rng = 0x9e3779b97f4a7c15u * (i + 1);
        pthread_mutex_init(&workers[i].mailbox.lock, NULL);
    }
    for (unsigned i = 0; i < thread_count; i++)
        if (pthread_create(&workers[i].thread, NULL, run_worker, &workers[i]) != 0) {
            perror("pthread_create");
            return 1;
        }
    unsigned long long operations = 0, handed_off = 0, remote_frees = 0;
    for (unsigned i = 0; i < thread_count; i++) {
        pthread_join(workers[i].thread, NULL);
        operations += workers[i].operations;
        handed_off += workers[i].handed_off;
        remote_frees += workers[i].remote_frees;
    }
    /* What is still in a mailbox is checked and freed by the main thread. */
    for (unsigned i = 0; i < thread_count; i++)
        for (size_t j = 0; j < workers[i].mailbox.count; j++) {
            check_contents(&workers[i].mailbox.items[j], "corrupted in a mailbox");
            pagoda_free(workers[i].mailbox.items[j].p);
            remote_frees++;
        }
    printf("stress: %u threads x %.0f s: %llu operations, %llu hand-offs, %llu cross-thread "
           "frees, %llu errors\n", thread_count, seconds, operations, handed_off, remote_frees,
           content_errors);
    /* A floor that proves the threads really ran and traded objects. */
    if (operations < 1000 * (unsigned long long)thread_count || (thread_count > 1 && remote_frees < 100)) {
        fprintf(stderr, "stress: too little work done\n");
        return 1;
    }
    return content_errors ? 1 : 0;
}
