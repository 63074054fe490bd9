/*
 * test_api.c — black-box conformance of the public allocation API with glibc's
 * semantics: alignment, usable size, the aligned allocators and their argument
 * checks, realloc and calloc contracts, overflow and out-of-memory errors, errno
 * handling, the legacy and sized frees, and the pagoda_ names. The binary links
 * libpagoda.so, so every standard call below (and Check itself) runs on pagoda; the
 * first test proves that.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pagoda.h"
#include "tests/support/pattern.h"
#include "tests/support/rss.h"

/* Not declared by glibc 2.36's headers; libpagoda.so defines them. */
void free_sized(void *ptr, size_t size);
void free_aligned_sized(void *ptr, size_t alignment, size_t size);
void cfree(void *ptr);

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)
#define PAGE ((size_t)4096)

/* Growth of the resident set allowed in the "memory is really released" tests. Each
 * such test cycles through at least 500 MiB of touched memory, so an allocator that
 * did not release (or reuse) it would grow by far more than this. */
#define RELEASE_RSS_BOUND (64 * MiB)

/* Hides a value from the optimiser, so size checks happen at run time and gcc does
 * not warn about deliberately absurd sizes. */
static size_t opaque(size_t value)
{
    volatile size_t v = value;
    return v;
}

static int is_aligned(const void *p, size_t alignment)
{
    return ((uintptr_t)p & (alignment - 1)) == 0;
}

/* Every size 0..4 KiB, then a sample up to 64 KiB: a prime stride plus each power of
 * two and its neighbours. Returns the count written into sizes. */
static size_t sizes_up_to_64k(size_t *sizes, size_t capacity)
{
    size_t n = 0;
    for (size_t s = 0; s <= 4 * KiB; s++)
        sizes[n++] = s;
    for (size_t s = 4 * KiB + 1; s <= 64 * KiB; s += 37)
        sizes[n++] = s;
    for (size_t p = 8 * KiB; p <= 64 * KiB; p *= 2) {
        sizes[n++] = p - 1;
        sizes[n++] = p;
        if (p < 64 * KiB)
            sizes[n++] = p + 1;
    }
    ck_assert_uint_le(n, capacity);
    return n;
}

#define SIZE_LIST_CAPACITY 8192

/* ---- the library is really in use ---- */

static void assert_defined_in_libpagoda(const char *name)
{
    void *address = dlsym(RTLD_DEFAULT, name);
    ck_assert_msg(address != NULL, "%s is not defined in the process", name);
    Dl_info info;
    ck_assert_msg(dladdr(address, &info) != 0 && info.dli_fname != NULL,
                  "dladdr found no object for %s", name);
    const char *base = strrchr(info.dli_fname, '/');
    base = base ? base + 1 : info.dli_fname;
    ck_assert_msg(strcmp(base, "libpagoda.so") == 0,
                  "%s resolves into %s, not libpagoda.so", name, info.dli_fname);
}

START_TEST(test_standard_names_resolve_into_libpagoda)
{
    static const char *const names[] = {
        "malloc", "free", "calloc", "realloc", "reallocarray", "posix_memalign",
        "aligned_alloc", "memalign", "valloc", "pvalloc", "malloc_usable_size",
        "free_sized", "free_aligned_sized", "cfree", "malloc_trim", "mallopt",
        "pagoda_malloc", "pagoda_free",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        assert_defined_in_libpagoda(names[i]);
}
END_TEST

/* ---- malloc: alignment, usable size, malloc(0), free(NULL), errno ---- */

START_TEST(test_malloc_alignment_for_every_size)
{
    static size_t sizes[SIZE_LIST_CAPACITY];
    size_t count = sizes_up_to_64k(sizes, SIZE_LIST_CAPACITY);
    for (size_t i = 0; i < count; i++) {
        size_t size = sizes[i];
        size_t alignment = size < 16 ? 8 : 16;
        unsigned char *p = malloc(size);
        if (p == NULL)
            ck_abort_msg("malloc(%zu) returned NULL", size);
        if (!is_aligned(p, alignment))
            ck_abort_msg("malloc(%zu) = %p is not %zu-aligned", size, (void *)p, alignment);
        memset(p, 0xa5, size);
        free(p);
    }
}
END_TEST

START_TEST(test_usable_size_covers_request_and_is_writable)
{
    static size_t sizes[SIZE_LIST_CAPACITY];
    size_t count = sizes_up_to_64k(sizes, SIZE_LIST_CAPACITY);
    for (size_t i = 0; i < count; i++) {
        size_t size = sizes[i];
        unsigned char *p = malloc(size);
        if (p == NULL)
            ck_abort_msg("malloc(%zu) returned NULL", size);
        size_t usable = malloc_usable_size(p);
        if (usable < size)
            ck_abort_msg("malloc_usable_size(malloc(%zu)) = %zu", size, usable);
        pattern_fill(p, usable, size);
        if (pattern_mismatch(p, usable, size) != usable)
            ck_abort_msg("usable bytes of malloc(%zu) do not hold what was written", size);
        free(p);
    }
}
END_TEST

static int compare_pointers(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
    return (x > y) - (x < y);
}

START_TEST(test_malloc_zero_returns_unique_freeable_pointers)
{
    enum { COUNT = 1000 };
    static void *blocks[COUNT];
    for (int i = 0; i < COUNT; i++) {
        blocks[i] = malloc(opaque(0));
        if (blocks[i] == NULL)
            ck_abort_msg("malloc(0) number %d returned NULL", i);
    }
    qsort(blocks, COUNT, sizeof blocks[0], compare_pointers);
    for (int i = 1; i < COUNT; i++)
        if (blocks[i] == blocks[i - 1])
            ck_abort_msg("malloc(0) returned %p twice", blocks[i]);
    for (int i = 0; i < COUNT; i++)
        free(blocks[i]);
}
END_TEST

START_TEST(test_free_null_is_a_noop)
{
    errno = 77;
    free(NULL);
    ck_assert_int_eq(errno, 77);
    void *p = malloc(32);
    ck_assert_ptr_nonnull(p);
    free(p);
}
END_TEST

START_TEST(test_free_preserves_errno)
{
    static const size_t sizes[] = { 1, 16, 100, 4 * KiB, 32 * KiB, 32 * KiB + 1,
                                    64 * KiB, 1 * MiB, 16 * MiB };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = malloc(sizes[i]);
        ck_assert_ptr_nonnull(p);
        memset(p, 1, sizes[i]);
        errno = 1234;
        free(p);
        ck_assert_msg(errno == 1234, "free of a %zu-byte block changed errno to %d",
                      sizes[i], errno);
    }
}
END_TEST

/* ---- aligned allocation ---- */

static const size_t aligned_request_sizes[] = { 1, 24, 1000, 5000, 40 * KiB, 3 * MiB };
#define ALIGNED_REQUEST_COUNT (sizeof aligned_request_sizes / sizeof aligned_request_sizes[0])

typedef void *(*aligned_allocator)(size_t alignment, size_t size);

static void *via_posix_memalign(size_t alignment, size_t size)
{
    void *p = NULL;
    int rc = posix_memalign(&p, alignment, size);
    ck_assert_msg(rc == 0, "posix_memalign(%zu, %zu) failed with %d", alignment, size, rc);
    return p;
}

/* For every power-of-two alignment 8 B..2 MiB, allocates one block of each request
 * size, all live at once; checks alignment and that they hold distinct data. */
static void check_every_power_of_two(const char *name, aligned_allocator allocate)
{
    for (size_t alignment = 8; alignment <= 2 * MiB; alignment *= 2) {
        void *blocks[ALIGNED_REQUEST_COUNT];
        for (size_t i = 0; i < ALIGNED_REQUEST_COUNT; i++) {
            size_t size = aligned_request_sizes[i];
            blocks[i] = allocate(alignment, size);
            ck_assert_msg(blocks[i] != NULL, "%s(%zu, %zu) returned NULL", name, alignment, size);
            ck_assert_msg(is_aligned(blocks[i], alignment), "%s(%zu, %zu) = %p is misaligned",
                          name, alignment, size, blocks[i]);
            pattern_fill(blocks[i], size, alignment + i);
        }
        for (size_t i = 0; i < ALIGNED_REQUEST_COUNT; i++) {
            size_t size = aligned_request_sizes[i];
            ck_assert_msg(pattern_mismatch(blocks[i], size, alignment + i) == size,
                          "%s(%zu, %zu) block was overwritten", name, alignment, size);
            free(blocks[i]);
        }
    }
}

START_TEST(test_posix_memalign_every_power_of_two)
{
    check_every_power_of_two("posix_memalign", via_posix_memalign);
}
END_TEST

START_TEST(test_aligned_alloc_every_power_of_two)
{
    check_every_power_of_two("aligned_alloc", aligned_alloc);
}
END_TEST

START_TEST(test_memalign_every_power_of_two)
{
    check_every_power_of_two("memalign", memalign);
}
END_TEST

START_TEST(test_posix_memalign_huge_alignments)
{
    static const size_t alignments[] = { 64 * MiB, 1 * GiB };
    static const size_t sizes[] = { 100, 3 * MiB };
    for (size_t a = 0; a < 2; a++) {
        for (size_t s = 0; s < 2; s++) {
            void *p = via_posix_memalign(alignments[a], sizes[s]);
            ck_assert_msg(is_aligned(p, alignments[a]), "posix_memalign(%zu, %zu) = %p",
                          alignments[a], sizes[s], p);
            memset(p, 0x5a, sizes[s]);
            free(p);
        }
    }
}
END_TEST

START_TEST(test_posix_memalign_rejects_bad_alignment)
{
    static const size_t bad[] = { 0, 3, 24, sizeof(void *) / 2 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *sentinel = (void *)0x5eed;
        void *out = sentinel;
        int rc = posix_memalign(&out, opaque(bad[i]), 64);
        ck_assert_msg(rc == EINVAL, "posix_memalign alignment %zu returned %d", bad[i], rc);
        ck_assert_msg(out == sentinel, "posix_memalign alignment %zu wrote *out", bad[i]);
    }
}
END_TEST

START_TEST(test_aligned_alloc_rejects_non_power_of_two)
{
    static const size_t bad[] = { 3, 24, 48, 12288 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        void *p = aligned_alloc(opaque(bad[i]), 96);
        ck_assert_msg(p == NULL, "aligned_alloc(%zu, 96) returned %p", bad[i], p);
        ck_assert_msg(errno == EINVAL, "aligned_alloc(%zu, 96) set errno %d", bad[i], errno);
    }
}
END_TEST

START_TEST(test_valloc_is_page_aligned)
{
    static const size_t sizes[] = { 1, 100, PAGE - 1, PAGE, PAGE + 1, 40 * KiB, 1 * MiB };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = valloc(sizes[i]);
        ck_assert_ptr_nonnull(p);
        ck_assert_msg(is_aligned(p, PAGE), "valloc(%zu) = %p", sizes[i], p);
        memset(p, 7, sizes[i]);
        free(p);
    }
}
END_TEST

START_TEST(test_pvalloc_rounds_usable_size_up_to_a_page)
{
    static const size_t sizes[] = { 1, 100, PAGE - 1, PAGE, PAGE + 1, 40 * KiB + 5, 1 * MiB + 1 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t rounded = (sizes[i] + PAGE - 1) / PAGE * PAGE;
        void *p = pvalloc(sizes[i]);
        ck_assert_ptr_nonnull(p);
        ck_assert_msg(is_aligned(p, PAGE), "pvalloc(%zu) = %p", sizes[i], p);
        size_t usable = malloc_usable_size(p);
        ck_assert_msg(usable >= rounded, "pvalloc(%zu): usable %zu < %zu", sizes[i], usable, rounded);
        memset(p, 7, rounded);
        free(p);
    }
}
END_TEST

/* ---- realloc ---- */

START_TEST(test_realloc_null_behaves_as_malloc)
{
    static const size_t sizes[] = { 0, 1, 17, 1000, 32 * KiB, 100 * KiB, 4 * MiB };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = realloc(NULL, sizes[i]);
        ck_assert_msg(p != NULL, "realloc(NULL, %zu) returned NULL", sizes[i]);
        ck_assert_uint_ge(malloc_usable_size(p), sizes[i]);
        ck_assert(is_aligned(p, sizes[i] < 16 ? 8 : 16));
        memset(p, 3, sizes[i]);
        free(p);
    }
}
END_TEST

START_TEST(test_realloc_to_zero_frees_and_returns_null)
{
    size_t before = resident_bytes();
    for (int i = 0; i < 2000; i++) {
        void *p = malloc(256 * KiB);
        if (p == NULL)
            ck_abort_msg("malloc(256 KiB) returned NULL");
        memset(p, 1, 256 * KiB);
        void *q = realloc(p, opaque(0));
        if (q != NULL)
            ck_abort_msg("realloc(p, 0) returned %p", q);
    }
    size_t growth = resident_bytes() - before;
    ck_assert_msg(growth < RELEASE_RSS_BOUND, "realloc(p, 0) leaked: RSS grew %zu bytes", growth);
}
END_TEST

/* Resizes one block through sizes[0..count), checking that the common prefix
 * survives every step. */
static void check_realloc_chain(const size_t *sizes, size_t count)
{
    uint64_t seed = 1;
    unsigned char *p = malloc(sizes[0]);
    ck_assert_ptr_nonnull(p);
    pattern_fill(p, sizes[0], seed);
    for (size_t i = 1; i < count; i++) {
        size_t kept = sizes[i] < sizes[i - 1] ? sizes[i] : sizes[i - 1];
        p = realloc(p, sizes[i]);
        ck_assert_msg(p != NULL, "realloc %zu -> %zu returned NULL", sizes[i - 1], sizes[i]);
        size_t bad = pattern_mismatch(p, kept, seed);
        ck_assert_msg(bad == kept, "realloc %zu -> %zu lost byte %zu", sizes[i - 1], sizes[i], bad);
        pattern_fill(p, sizes[i], ++seed);
    }
    free(p);
}

START_TEST(test_realloc_keeps_contents_growing_through_classes)
{
    static size_t sizes[128];
    size_t count = 0;
    for (size_t s = 1; s <= 8 * MiB; s = s * 5 / 4 + 1)
        sizes[count++] = s;
    check_realloc_chain(sizes, count);
}
END_TEST

START_TEST(test_realloc_keeps_contents_shrinking_through_classes)
{
    static size_t sizes[128];
    size_t count = 0;
    for (size_t s = 8 * MiB; s >= 1; s = s * 4 / 5)
        sizes[count++] = s;
    check_realloc_chain(sizes, count);
}
END_TEST

START_TEST(test_realloc_small_to_large)
{
    static const size_t sizes[] = { 100, 1 * MiB };
    check_realloc_chain(sizes, 2);
}
END_TEST

START_TEST(test_realloc_large_to_small)
{
    static const size_t sizes[] = { 1 * MiB, 100 };
    check_realloc_chain(sizes, 2);
}
END_TEST

START_TEST(test_realloc_large_to_larger)
{
    static const size_t sizes[] = { 1 * MiB, 4 * MiB, 4 * MiB + 12345, 64 * MiB };
    check_realloc_chain(sizes, 4);
}
END_TEST

/* A resize that stays within the block's size class (up to the largest small
 * class, 32 KiB) must not move the block. */
START_TEST(test_realloc_within_class_stays_in_place)
{
    for (size_t size = 1; size <= 32 * KiB; size = size * 9 / 8 + 1) {
        unsigned char *p = malloc(size);
        ck_assert_ptr_nonnull(p);
        size_t usable = malloc_usable_size(p);
        pattern_fill(p, size, size);
        unsigned char *same = realloc(p, size);
        ck_assert_msg(same == p, "realloc(p, %zu) of a %zu-byte block moved it", size, size);
        unsigned char *grown = realloc(p, usable);
        ck_assert_msg(grown == p, "realloc to the usable size %zu of a %zu-byte block moved it",
                      usable, size);
        ck_assert_uint_eq(pattern_mismatch(p, size, size), size);
        free(p);
    }
}
END_TEST

/* Growing a little at a time copies only every few calls: a move by less than a
 * quarter leaves room for a quarter more. */
START_TEST(test_realloc_growing_a_little_gets_headroom)
{
    unsigned char *p = malloc(1000);
    ck_assert_ptr_nonnull(p);
    size_t usable = malloc_usable_size(p);
    p = realloc(p, usable + 8);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_ge(malloc_usable_size(p), usable + usable / 4);
    free(p);
}
END_TEST

/* A small block grown past 4 KiB becomes a large one (whole pages, page-aligned) with
 * free pages after it, and keeps growing without moving; shrinking keeps its pages until it needs less than half.
 * (Not in the debug mode, where a guard page follows every large block.) */
START_TEST(test_realloc_grown_block_grows_and_shrinks_in_place)
{
    if (getenv("PAGODA_DEBUG"))
        return;
    static const size_t sizes[] = { 3 * KiB, 5 * KiB, 12 * KiB, 20 * KiB, 64 * KiB, 200 * KiB, 1 * MiB };
    unsigned char *p = malloc(sizes[0]);
    ck_assert_ptr_nonnull(p);
    pattern_fill(p, sizes[0], 7);
    p = realloc(p, sizes[1]);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq((uintptr_t)p % 4096, 0);
    unsigned char *first = p;
    for (size_t i = 2; i < sizeof sizes / sizeof sizes[0]; i++) {
        p = realloc(p, sizes[i]);
        ck_assert_msg(p == first, "realloc to %zu moved the grown block", sizes[i]);
    }
    ck_assert_uint_eq(pattern_mismatch(p, sizes[0], 7), sizes[0]);
    size_t usable = malloc_usable_size(p);
    ck_assert_ptr_eq(realloc(p, usable / 2 + 4096), p);
    ck_assert_uint_eq(malloc_usable_size(p), usable);
    ck_assert_ptr_eq(realloc(p, usable / 4), p);
    ck_assert_uint_eq(malloc_usable_size(p), usable / 4);
    free(p);
}
END_TEST

START_TEST(test_realloc_huge_fails_and_keeps_block)
{
    unsigned char *p = malloc(200);
    ck_assert_ptr_nonnull(p);
    pattern_fill(p, 200, 9);
    errno = 0;
    void *q = realloc(p, opaque(SIZE_MAX));
    ck_assert_ptr_null(q);
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_uint_eq(pattern_mismatch(p, 200, 9), 200);
    free(p);
}
END_TEST

/* ---- calloc and reallocarray ---- */

static void assert_all_zero(const unsigned char *p, size_t size, const char *what)
{
    size_t i = 0;
    while (i < size && p[i] == 0)
        i++;
    if (i < size)
        ck_abort_msg("%s of %zu bytes: byte %zu is 0x%02x", what, size, i, p[i]);
}

static const size_t calloc_sizes[] = {
    1, 8, 15, 16, 48, 100, 256, 1000, 1024, 3000, 4096, 5000, 10000, 32 * KiB,
    64 * KiB, 64 * KiB + 1, 100 * KiB, 256 * KiB, 1 * MiB, 1 * MiB + 100, 3 * MiB, 8 * MiB,
};
#define CALLOC_SIZE_COUNT (sizeof calloc_sizes / sizeof calloc_sizes[0])

START_TEST(test_calloc_zeroes_fresh_memory)
{
    for (size_t i = 0; i < CALLOC_SIZE_COUNT; i++) {
        unsigned char *p = calloc(1, calloc_sizes[i]);
        ck_assert_ptr_nonnull(p);
        assert_all_zero(p, calloc_sizes[i], "fresh calloc");
        free(p);
        p = calloc(calloc_sizes[i], 1);
        ck_assert_ptr_nonnull(p);
        assert_all_zero(p, calloc_sizes[i], "fresh calloc (count form)");
        free(p);
    }
}
END_TEST

START_TEST(test_calloc_zeroes_reused_memory)
{
    enum { BLOCKS = 8 };
    for (size_t i = 0; i < CALLOC_SIZE_COUNT; i++) {
        size_t size = calloc_sizes[i];
        unsigned char *blocks[BLOCKS];
        for (int b = 0; b < BLOCKS; b++) {
            blocks[b] = malloc(size);
            ck_assert_ptr_nonnull(blocks[b]);
            memset(blocks[b], 0xff, malloc_usable_size(blocks[b]));
        }
        for (int b = 0; b < BLOCKS; b++)
            free(blocks[b]);
        for (int b = 0; b < BLOCKS; b++) {
            blocks[b] = calloc(1, size);
            ck_assert_ptr_nonnull(blocks[b]);
            assert_all_zero(blocks[b], size, "calloc after free");
        }
        for (int b = 0; b < BLOCKS; b++)
            free(blocks[b]);
    }
}
END_TEST

/* A block longer than a thread cache keeps (the spare) that the program touched
 * little is dropped on reuse, and for a few reuses after that without asking the
 * kernel which pages are resident first: whatever the program wrote in between, in
 * full, must still read as zero at the next calloc. */
START_TEST(test_calloc_zeroes_a_spare_written_after_sparse_use)
{
    size_t size = 8 * MiB;
    for (int round = 0; round < 12; round++) {
        unsigned char *p = calloc(1, size);
        ck_assert_ptr_nonnull(p);
        if (round % 4 == 3) {
            assert_all_zero(p, size, "calloc of a block written in full before");
        } else {
            ck_assert_uint_eq(p[0], 0);
            ck_assert_uint_eq(p[size - 1], 0);
        }
        if (round % 4 == 2)
            memset(p, 0xff, size);
        else
            p[0] = 1;
        free(p);
    }
}
END_TEST

static const size_t overflowing_products[][2] = {
    { SIZE_MAX / 2 + 1, 2 },
    { 2, SIZE_MAX / 2 + 1 },
    { SIZE_MAX, SIZE_MAX },
    { (size_t)1 << 32, (size_t)1 << 32 },
    { SIZE_MAX / 3 + 1, 3 },
};
#define OVERFLOW_COUNT (sizeof overflowing_products / sizeof overflowing_products[0])

START_TEST(test_calloc_overflow_fails_with_enomem)
{
    for (size_t i = 0; i < OVERFLOW_COUNT; i++) {
        size_t count = opaque(overflowing_products[i][0]), size = opaque(overflowing_products[i][1]);
        errno = 0;
        void *p = calloc(count, size);
        ck_assert_msg(p == NULL, "calloc(%zu, %zu) returned %p", count, size, p);
        ck_assert_msg(errno == ENOMEM, "calloc(%zu, %zu) set errno %d", count, size, errno);
    }
}
END_TEST

START_TEST(test_reallocarray_overflow_fails_with_enomem_and_keeps_block)
{
    unsigned char *p = malloc(64);
    ck_assert_ptr_nonnull(p);
    pattern_fill(p, 64, 5);
    for (size_t i = 0; i < OVERFLOW_COUNT; i++) {
        size_t count = opaque(overflowing_products[i][0]), size = opaque(overflowing_products[i][1]);
        errno = 0;
        ck_assert_ptr_null(reallocarray(NULL, count, size));
        ck_assert_int_eq(errno, ENOMEM);
        errno = 0;
        ck_assert_ptr_null(reallocarray(p, count, size));
        ck_assert_int_eq(errno, ENOMEM);
        ck_assert_uint_eq(pattern_mismatch(p, 64, 5), 64);
    }
    free(p);
}
END_TEST

START_TEST(test_reallocarray_resizes_like_realloc)
{
    unsigned char *p = reallocarray(NULL, 10, 8);
    ck_assert_ptr_nonnull(p);
    pattern_fill(p, 80, 6);
    p = reallocarray(p, 1000, 1000);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_ge(malloc_usable_size(p), 1000000);
    ck_assert_uint_eq(pattern_mismatch(p, 80, 6), 80);
    free(p);
}
END_TEST

/* ---- impossible sizes ---- */

START_TEST(test_malloc_huge_fails_with_enomem)
{
    static const size_t huge[] = { SIZE_MAX, (size_t)PTRDIFF_MAX + 1, SIZE_MAX - PAGE,
                                   (size_t)PTRDIFF_MAX - PAGE };
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        errno = 0;
        void *p = malloc(opaque(huge[i]));
        ck_assert_msg(p == NULL, "malloc(%zu) returned %p", huge[i], p);
        ck_assert_msg(errno == ENOMEM, "malloc(%zu) set errno %d", huge[i], errno);
    }
}
END_TEST

START_TEST(test_aligned_huge_fails_with_enomem)
{
    size_t huge = opaque(SIZE_MAX - PAGE);
    void *out = NULL;
    ck_assert_int_eq(posix_memalign(&out, 64, huge), ENOMEM);
    errno = 0;
    ck_assert_ptr_null(aligned_alloc(64, huge));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(memalign(4096, huge));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(valloc(huge));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(pvalloc(huge));
    ck_assert_int_eq(errno, ENOMEM);
}
END_TEST

/* ---- sized and legacy frees release memory ---- */

/* Runs cycle() rounds times and checks that the resident set did not grow past
 * RELEASE_RSS_BOUND: each cycle allocates and frees touched memory. */
static void assert_cycles_release_memory(void (*cycle)(void), int rounds, const char *what)
{
    cycle();  /* first use may set up metadata and caches */
    size_t before = resident_bytes();
    for (int i = 0; i < rounds; i++)
        cycle();
    size_t after = resident_bytes();
    size_t growth = after > before ? after - before : 0;
    ck_assert_msg(growth < RELEASE_RSS_BOUND, "%s does not release memory: RSS grew %zu bytes",
                  what, growth);
}

enum { SMALL_BATCH = 20000, SMALL_BATCH_SIZE = 100 };
static void *small_batch[SMALL_BATCH];

/* Allocates one touched 1 MiB block and SMALL_BATCH touched small blocks with
 * allocate(alignment, size), then hands each to release(p, alignment, size). */
static void allocate_and_release(void *(*allocate)(size_t, size_t), size_t large_alignment,
                                 size_t small_alignment,
                                 void (*release)(void *, size_t, size_t))
{
    void *large = allocate(large_alignment, 1 * MiB);
    if (large == NULL)
        ck_abort_msg("1 MiB allocation failed");
    memset(large, 1, 1 * MiB);
    release(large, large_alignment, 1 * MiB);
    for (int i = 0; i < SMALL_BATCH; i++) {
        small_batch[i] = allocate(small_alignment, SMALL_BATCH_SIZE);
        if (small_batch[i] == NULL)
            ck_abort_msg("%d-byte allocation failed", SMALL_BATCH_SIZE);
        memset(small_batch[i], 2, SMALL_BATCH_SIZE);
    }
    for (int i = 0; i < SMALL_BATCH; i++)
        release(small_batch[i], small_alignment, SMALL_BATCH_SIZE);
}

static void *malloc_ignoring_alignment(size_t alignment, size_t size)
{
    (void)alignment;
    return malloc(size);
}

static void release_free_sized(void *p, size_t alignment, size_t size)
{
    (void)alignment;
    free_sized(p, size);
}

static void release_cfree(void *p, size_t alignment, size_t size)
{
    (void)alignment;
    (void)size;
    cfree(p);
}

static void cycle_free_sized(void)
{
    allocate_and_release(malloc_ignoring_alignment, 0, 0, release_free_sized);
}

static void cycle_free_aligned_sized(void)
{
    allocate_and_release(aligned_alloc, 64 * KiB, 32, free_aligned_sized);
}

static void cycle_cfree(void)
{
    allocate_and_release(malloc_ignoring_alignment, 0, 0, release_cfree);
}

/* 500 rounds of 1 MiB + 2 MB of small blocks: about 1.5 GB if nothing were freed. */
START_TEST(test_free_sized_releases_memory)
{
    assert_cycles_release_memory(cycle_free_sized, 500, "free_sized");
}
END_TEST

START_TEST(test_free_aligned_sized_releases_memory)
{
    assert_cycles_release_memory(cycle_free_aligned_sized, 500, "free_aligned_sized");
}
END_TEST

START_TEST(test_cfree_releases_memory)
{
    assert_cycles_release_memory(cycle_cfree, 500, "cfree");
}
END_TEST

/* ---- malloc_trim and mallopt ---- */

START_TEST(test_malloc_trim_returns_0_or_1)
{
    void *blocks[64];
    for (int i = 0; i < 64; i++) {
        blocks[i] = malloc(i % 2 ? 100 : 300 * KiB);
        ck_assert_ptr_nonnull(blocks[i]);
        memset(blocks[i], 1, i % 2 ? 100 : 300 * KiB);
    }
    for (int i = 0; i < 64; i++)
        free(blocks[i]);
    int first = malloc_trim(0), second = malloc_trim(1 * MiB);
    ck_assert_msg(first == 0 || first == 1, "malloc_trim(0) returned %d", first);
    ck_assert_msg(second == 0 || second == 1, "malloc_trim(1 MiB) returned %d", second);
    void *p = malloc(300 * KiB);
    ck_assert_ptr_nonnull(p);
    memset(p, 1, 300 * KiB);
    free(p);
}
END_TEST

/* glibc's mallopt returns 1 when it accepts a parameter and 0 otherwise. pagoda
 * takes its tuning from PAGODA_* environment variables and accepts and ignores every
 * mallopt parameter, returning 1; either answer is conforming. What matters is that
 * the call returns and allocation still works. */
START_TEST(test_mallopt_returns_0_or_1_and_allocation_still_works)
{
    static const int params[][2] = {
        { M_TRIM_THRESHOLD, 128 * 1024 }, { M_MMAP_THRESHOLD, 256 * 1024 },
        { M_ARENA_MAX, 2 }, { M_PERTURB, 0 }, { 12345, 1 },
    };
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
        int rc = mallopt(params[i][0], params[i][1]);
        ck_assert_msg(rc == 0 || rc == 1, "mallopt(%d, %d) returned %d",
                      params[i][0], params[i][1], rc);
    }
    void *p = malloc(1000);
    ck_assert_ptr_nonnull(p);
    free(p);
}
END_TEST

/* ---- the pagoda_ names are the same allocator ---- */

START_TEST(test_pagoda_malloc_block_freed_by_free)
{
    for (size_t size = 1; size <= 4 * MiB; size *= 3) {
        unsigned char *p = pagoda_malloc(size);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq(malloc_usable_size(p), pagoda_malloc_usable_size(p));
        memset(p, 9, size);
        free(p);
    }
}
END_TEST

START_TEST(test_malloc_block_freed_by_pagoda_free)
{
    for (size_t size = 1; size <= 4 * MiB; size *= 3) {
        unsigned char *p = malloc(size);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq(pagoda_malloc_usable_size(p), malloc_usable_size(p));
        memset(p, 9, size);
        pagoda_free(p);
    }
}
END_TEST

START_TEST(test_pagoda_names_follow_standard_semantics)
{
    unsigned char *z = pagoda_calloc(100, 10);
    ck_assert_ptr_nonnull(z);
    assert_all_zero(z, 1000, "pagoda_calloc");
    pattern_fill(z, 1000, 11);
    z = pagoda_realloc(z, 100 * KiB);
    ck_assert_ptr_nonnull(z);
    ck_assert_uint_eq(pattern_mismatch(z, 1000, 11), 1000);
    z = pagoda_reallocarray(z, 3, 1000);
    ck_assert_ptr_nonnull(z);
    ck_assert_uint_eq(pattern_mismatch(z, 1000, 11), 1000);
    pagoda_free_sized(z, 3000);

    void *out = NULL;
    ck_assert_int_eq(pagoda_posix_memalign(&out, 4096, 10), 0);
    ck_assert(is_aligned(out, 4096));
    free(out);
    ck_assert_int_eq(pagoda_posix_memalign(&out, 24, 10), EINVAL);

    void *a = pagoda_aligned_alloc(256, 512);
    ck_assert(a != NULL && is_aligned(a, 256));
    pagoda_free_aligned_sized(a, 256, 512);
    a = pagoda_memalign(1024, 10);
    ck_assert(a != NULL && is_aligned(a, 1024));
    pagoda_cfree(a);
    a = pagoda_valloc(10);
    ck_assert(a != NULL && is_aligned(a, PAGE));
    pagoda_free(a);
    a = pagoda_pvalloc(10);
    ck_assert(a != NULL && is_aligned(a, PAGE));
    ck_assert_uint_ge(pagoda_malloc_usable_size(a), PAGE);
    pagoda_free(a);

    errno = 0;
    ck_assert_ptr_null(pagoda_malloc(opaque(SIZE_MAX)));
    ck_assert_int_eq(errno, ENOMEM);
    int trim = pagoda_malloc_trim(0);
    ck_assert(trim == 0 || trim == 1);
    int opt = pagoda_mallopt(M_TRIM_THRESHOLD, 1 * MiB);
    ck_assert(opt == 0 || opt == 1);
}
END_TEST

static Suite *api_suite(void)
{
    Suite *s = suite_create("api");

    TCase *linkage = tcase_create("linkage");
    tcase_add_test(linkage, test_standard_names_resolve_into_libpagoda);
    suite_add_tcase(s, linkage);

    TCase *basics = tcase_create("malloc_free");
    tcase_add_test(basics, test_malloc_alignment_for_every_size);
    tcase_add_test(basics, test_usable_size_covers_request_and_is_writable);
    tcase_add_test(basics, test_malloc_zero_returns_unique_freeable_pointers);
    tcase_add_test(basics, test_free_null_is_a_noop);
    tcase_add_test(basics, test_free_preserves_errno);
    tcase_add_test(basics, test_malloc_huge_fails_with_enomem);
    suite_add_tcase(s, basics);

    TCase *aligned = tcase_create("aligned");
    tcase_set_timeout(aligned, 30);
    tcase_add_test(aligned, test_posix_memalign_every_power_of_two);
    tcase_add_test(aligned, test_aligned_alloc_every_power_of_two);
    tcase_add_test(aligned, test_memalign_every_power_of_two);
    tcase_add_test(aligned, test_posix_memalign_huge_alignments);
    tcase_add_test(aligned, test_posix_memalign_rejects_bad_alignment);
    tcase_add_test(aligned, test_aligned_alloc_rejects_non_power_of_two);
    tcase_add_test(aligned, test_valloc_is_page_aligned);
    tcase_add_test(aligned, test_pvalloc_rounds_usable_size_up_to_a_page);
    tcase_add_test(aligned, test_aligned_huge_fails_with_enomem);
    suite_add_tcase(s, aligned);

    TCase *resize = tcase_create("realloc");
    tcase_set_timeout(resize, 30);
    tcase_add_test(resize, test_realloc_null_behaves_as_malloc);
    tcase_add_test(resize, test_realloc_to_zero_frees_and_returns_null);
    tcase_add_test(resize, test_realloc_keeps_contents_growing_through_classes);
    tcase_add_test(resize, test_realloc_keeps_contents_shrinking_through_classes);
    tcase_add_test(resize, test_realloc_small_to_large);
    tcase_add_test(resize, test_realloc_large_to_small);
    tcase_add_test(resize, test_realloc_large_to_larger);
    tcase_add_test(resize, test_realloc_within_class_stays_in_place);
    tcase_add_test(resize, test_realloc_growing_a_little_gets_headroom);
    tcase_add_test(resize, test_realloc_grown_block_grows_and_shrinks_in_place);
    tcase_add_test(resize, test_realloc_huge_fails_and_keeps_block);
    suite_add_tcase(s, resize);

    TCase *zeroed = tcase_create("calloc");
    tcase_set_timeout(zeroed, 30);
    tcase_add_test(zeroed, test_calloc_zeroes_fresh_memory);
    tcase_add_test(zeroed, test_calloc_zeroes_reused_memory);
    tcase_add_test(zeroed, test_calloc_zeroes_a_spare_written_after_sparse_use);
    tcase_add_test(zeroed, test_calloc_overflow_fails_with_enomem);
    tcase_add_test(zeroed, test_reallocarray_overflow_fails_with_enomem_and_keeps_block);
    tcase_add_test(zeroed, test_reallocarray_resizes_like_realloc);
    suite_add_tcase(s, zeroed);

    TCase *frees = tcase_create("sized_and_legacy");
    tcase_set_timeout(frees, 30);
    tcase_add_test(frees, test_free_sized_releases_memory);
    tcase_add_test(frees, test_free_aligned_sized_releases_memory);
    tcase_add_test(frees, test_cfree_releases_memory);
    tcase_add_test(frees, test_malloc_trim_returns_0_or_1);
    tcase_add_test(frees, test_mallopt_returns_0_or_1_and_allocation_still_works);
    suite_add_tcase(s, frees);

    TCase *prefixed = tcase_create("pagoda_names");
    tcase_add_test(prefixed, test_pagoda_malloc_block_freed_by_free);
    tcase_add_test(prefixed, test_malloc_block_freed_by_pagoda_free);
    tcase_add_test(prefixed, test_pagoda_names_follow_standard_semantics);
    suite_add_tcase(s, prefixed);

    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(api_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
