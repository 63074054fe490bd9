/*
 * api_contract.c — the allocation API's contract, called through the pagoda_* names
 * only, so that it can be built with pagoda compiled in under AddressSanitizer +
 * UndefinedBehaviorSanitizer or ThreadSanitizer (the sanitizer keeps malloc): every
 * path through the size classes, the large-object heap, the aligned allocators,
 * realloc, the error returns and cross-thread frees runs with pagoda's internals
 * checked.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pagoda.h"
#include "tests/support/pattern.h"

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)

/* Hides a value from the optimiser, so absurd sizes are checked at run time. */
static size_t opaque(size_t value)
{
    volatile size_t v = value;
    return v;
}

static int is_aligned(const void *p, size_t alignment)
{
    return ((uintptr_t)p & (alignment - 1)) == 0;
}

/* Every size up to 4 KiB, then a prime stride up to 512 KiB (well into large objects). */
static size_t next_size(size_t size)
{
    return size < 4 * KiB ? size + 1 : size + 4099;
}
#define SIZE_LIMIT (512 * KiB)

START_TEST(test_every_size_is_aligned_usable_and_private)
{
    for (size_t size = 0; size <= SIZE_LIMIT; size = next_size(size)) {
        unsigned char *p = pagoda_malloc(size), *q = pagoda_malloc(size);
        ck_assert_msg(p && q, "pagoda_malloc(%zu) returned NULL", size);
        size_t alignment = size < 16 ? 8 : 16;
        ck_assert_msg(is_aligned(p, alignment), "pagoda_malloc(%zu) = %p misaligned", size, (void *)p);
        size_t usable = pagoda_malloc_usable_size(p);
        ck_assert_msg(usable >= size, "usable size %zu < %zu", usable, size);
        pattern_fill(p, usable, size);
        pattern_fill(q, size, ~size);
        ck_assert_msg(pattern_mismatch(p, usable, size) == usable, "slack of a %zu-byte object is shared", size);
        ck_assert_msg(pattern_mismatch(q, size, ~size) == size, "neighbour of a %zu-byte object overwritten", size);
        pagoda_free(p);
        pagoda_free_sized(q, size);
    }
}
END_TEST

START_TEST(test_calloc_zeroes_fresh_and_reused_memory)
{
    for (size_t size = 1; size <= SIZE_LIMIT; size = next_size(size) * 2) {
        for (int round = 0; round < 2; round++) {
            unsigned char *p = pagoda_calloc(1, size);
            ck_assert_ptr_nonnull(p);
            for (size_t i = 0; i < size; i++)
                if (p[i])
                    ck_abort_msg("calloc(1, %zu) byte %zu is %d (round %d)", size, i, p[i], round);
            memset(p, 0xff, size);
            pagoda_free(p);
        }
    }
}
END_TEST

START_TEST(test_realloc_keeps_contents_through_every_tier)
{
    unsigned char *p = pagoda_realloc(NULL, 1);
    ck_assert_ptr_nonnull(p);
    size_t size = 1;
    pattern_fill(p, size, 1);
    for (size_t next = 2; next <= 4 * MiB; next = next * 3 / 2 + 1) {
        p = pagoda_realloc(p, next);
        ck_assert_ptr_nonnull(p);
        ck_assert_msg(pattern_mismatch(p, size, size) == size, "growing %zu -> %zu lost data", size, next);
        size = next;
        pattern_fill(p, size, size);
    }
    while (size > 1) {
        size_t next = size / 3;
        p = pagoda_realloc(p, next ? next : 1);
        next = next ? next : 1;
        ck_assert_ptr_nonnull(p);
        ck_assert_msg(pattern_mismatch(p, next, size) == next, "shrinking %zu -> %zu lost data", size, next);
        size = next;
        pattern_fill(p, size, size);
    }
    ck_assert_ptr_null(pagoda_realloc(p, 0));   /* frees, as glibc does */
}
END_TEST

START_TEST(test_aligned_allocators_honour_every_power_of_two)
{
    for (size_t alignment = sizeof(void *); alignment <= 4 * MiB; alignment *= 2) {
        size_t sizes[] = { 1, alignment / 2 + 1, alignment, alignment + 1, 40 * KiB };
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            void *a = NULL;
            ck_assert_int_eq(pagoda_posix_memalign(&a, alignment, sizes[i]), 0);
            void *b = pagoda_aligned_alloc(alignment, sizes[i]);
            void *c = pagoda_memalign(alignment, sizes[i]);
            ck_assert_msg(a && b && c, "alignment %zu size %zu: NULL", alignment, sizes[i]);
            ck_assert_msg(is_aligned(a, alignment) && is_aligned(b, alignment) && is_aligned(c, alignment),
                          "alignment %zu size %zu: %p %p %p", alignment, sizes[i], a, b, c);
            ck_assert_uint_ge(pagoda_malloc_usable_size(b), sizes[i]);
            memset(a, 1, sizes[i]);
            memset(b, 2, sizes[i]);
            memset(c, 3, sizes[i]);
            pagoda_free(a);
            pagoda_free_aligned_sized(b, alignment, sizes[i]);
            pagoda_cfree(c);
        }
    }
    void *v = pagoda_valloc(100), *pv = pagoda_pvalloc(100);
    ck_assert(v && pv && is_aligned(v, 4096) && is_aligned(pv, 4096));
    ck_assert_uint_ge(pagoda_malloc_usable_size(pv), 4096);
    pagoda_free(v);
    pagoda_free(pv);
}
END_TEST

START_TEST(test_errors_set_errno_and_keep_blocks)
{
    void *out = NULL;
    ck_assert_int_eq(pagoda_posix_memalign(&out, 24, 10), EINVAL);
    errno = 0;
    ck_assert_ptr_null(pagoda_aligned_alloc(opaque(48), 10));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(pagoda_malloc(opaque(SIZE_MAX)));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(pagoda_calloc(opaque(SIZE_MAX / 2), 3));
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_int_eq(pagoda_posix_memalign(&out, 4096, opaque(SIZE_MAX - 4096)), ENOMEM);

    unsigned char *p = pagoda_malloc(100);
    pattern_fill(p, 100, 7);
    errno = 0;
    ck_assert_ptr_null(pagoda_realloc(p, opaque(SIZE_MAX - 100)));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(pagoda_reallocarray(p, opaque(SIZE_MAX / 4), 8));
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_uint_eq(pattern_mismatch(p, 100, 7), 100);
    errno = 1234;
    pagoda_free(p);
    pagoda_free(NULL);
    ck_assert_int_eq(errno, 1234);
}
END_TEST

START_TEST(test_release_and_trim_keep_live_objects)
{
    enum { COUNT = 64 };
    unsigned char *live[COUNT];
    for (int i = 0; i < COUNT; i++) {
        size_t size = (size_t)(i + 1) * 6151;
        void *garbage = pagoda_malloc(size * 3);
        ck_assert_ptr_nonnull(garbage);
        memset(garbage, 0x5a, size * 3);
        live[i] = pagoda_malloc(size);
        ck_assert_ptr_nonnull(live[i]);
        pattern_fill(live[i], size, (uint64_t)i);
        pagoda_free(garbage);
    }
    pagoda_release_free_memory();
    pagoda_malloc_trim(0);
    ck_assert_int_eq(pagoda_mallopt(1, 0) == 0 || pagoda_mallopt(1, 0) == 1, 1);
    for (int i = 0; i < COUNT; i++) {
        size_t size = (size_t)(i + 1) * 6151;
        ck_assert_msg(pattern_mismatch(live[i], size, (uint64_t)i) == size, "object %d damaged by release", i);
        pagoda_free(live[i]);
    }
    unsigned char *again = pagoda_calloc(1, 8 * MiB);
    ck_assert_ptr_nonnull(again);
    ck_assert_int_eq(again[0] | again[8 * MiB - 1], 0);
    pagoda_free(again);
}
END_TEST

/* ---- objects allocated by one thread and freed by another ---- */

#define HANDOFF_OBJECTS 20000

struct handoff {
    unsigned char *objects[HANDOFF_OBJECTS];
};

static size_t handoff_size(int i)
{
    return (size_t)(i * 7919 % 3000) + (i % 97 == 0 ? 100 * KiB : 1);
}

static void *allocate_all(void *arg)
{
    struct handoff *h = arg;
    for (int i = 0; i < HANDOFF_OBJECTS; i++) {
        h->objects[i] = pagoda_malloc(handoff_size(i));
        if (h->objects[i])
            pattern_fill(h->objects[i], handoff_size(i), (uint64_t)i);
    }
    return NULL;
}

static void *free_all(void *arg)
{
    struct handoff *h = arg;
    size_t damaged = 0;
    for (int i = 0; i < HANDOFF_OBJECTS; i++) {
        if (pattern_mismatch(h->objects[i], handoff_size(i), (uint64_t)i) != handoff_size(i))
            damaged++;
        pagoda_free(h->objects[i]);
    }
    return (void *)damaged;
}

START_TEST(test_objects_freed_by_other_threads_stay_intact)
{
    enum { PAIRS = 3, ROUNDS = 4 };
    static struct handoff handoffs[PAIRS];
    for (int round = 0; round < ROUNDS; round++) {
        pthread_t producers[PAIRS], consumers[PAIRS];
        for (int i = 0; i < PAIRS; i++)
            ck_assert_int_eq(pthread_create(&producers[i], NULL, allocate_all, &handoffs[i]), 0);
        for (int i = 0; i < PAIRS; i++) {
            pthread_join(producers[i], NULL);
            for (int j = 0; j < HANDOFF_OBJECTS; j++)
                ck_assert_ptr_nonnull(handoffs[i].objects[j]);
        }
        /* Each consumer frees another producer's objects. */
        for (int i = 0; i < PAIRS; i++)
            ck_assert_int_eq(pthread_create(&consumers[i], NULL, free_all, &handoffs[(i + 1) % PAIRS]), 0);
        for (int i = 0; i < PAIRS; i++) {
            void *damaged;
            pthread_join(consumers[i], &damaged);
            ck_assert_msg(damaged == NULL, "%zu objects damaged in round %d", (size_t)damaged, round);
        }
    }
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("api_contract");
    TCase *api = tcase_create("api");
    tcase_set_timeout(api, 120);
    tcase_add_test(api, test_every_size_is_aligned_usable_and_private);
    tcase_add_test(api, test_calloc_zeroes_fresh_and_reused_memory);
    tcase_add_test(api, test_realloc_keeps_contents_through_every_tier);
    tcase_add_test(api, test_aligned_allocators_honour_every_power_of_two);
    tcase_add_test(api, test_errors_set_errno_and_keep_blocks);
    tcase_add_test(api, test_release_and_trim_keep_live_objects);
    tcase_add_test(api, test_objects_freed_by_other_threads_stay_intact);
    suite_add_tcase(suite, api);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
