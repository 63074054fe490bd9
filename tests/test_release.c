/*
 * test_release.c — calloc never hands out old data, and idle memory goes back to the
 * OS. calloc is checked on every path that can reuse memory: large blocks of every
 * zeroing strategy, memory given back by a trim, split and coalesced spans, small
 * objects, blocks only partly resident; and whether calloc clears a reused block or
 * drops its pages follows how the program used its earlier blocks. Release is checked
 * through the process's resident set: malloc_trim and pagoda_release_free_memory, free
 * pages of partly used spans, idle release paced by PAGODA_RELEASE_DELAY_MS (with and
 * without the background thread), PAGODA_MEMORY_LIMIT, and the drain of an idle thread
 * cache.
 * Scenarios that need their own PAGODA_* variables run in this binary re-executed.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pagoda.h"
#include "tests/support/child.h"
#include "tests/support/clock.h"
#include "tests/support/pattern.h"
#include "tests/support/rss.h"
#include "tests/support/self_exec.h"

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)
#define PAGE ((size_t)4096)

/* ---- helpers ---- */

/* Offset of the first non-zero byte of p[0..size), or size. */
static size_t first_nonzero(const unsigned char *p, size_t size)
{
    size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        uint64_t word;
        memcpy(&word, p + i, 8);
        if (word)
            break;
    }
    while (i < size && p[i] == 0)
        i++;
    return i;
}

static void assert_all_zero(const unsigned char *p, size_t size, const char *what)
{
    size_t i = first_nonzero(p, size);
    if (i < size)
        ck_abort_msg("%s (%zu bytes at %p): byte %zu is 0x%02x", what, size, (void *)p, i, p[i]);
}

static int overlaps(const void *a, size_t a_size, const void *b, size_t b_size)
{
    uintptr_t a0 = (uintptr_t)a, b0 = (uintptr_t)b;
    return a0 < b0 + b_size && b0 < a0 + a_size;
}

static void *checked_malloc(size_t size)
{
    void *p = malloc(size);
    ck_assert_msg(p != NULL, "malloc(%zu) failed", size);
    return p;
}

static void sleep_ms(unsigned ms)
{
    struct timespec pause = { ms / 1000, (long)(ms % 1000) * 1000000 };
    nanosleep(&pause, NULL);
}

static double as_mib(long long bytes)
{
    return (double)bytes / (double)MiB;
}

/* Reads a /proc file into buf, NUL-terminated, with open/read so that reading does
 * not allocate; false when it cannot. */
static bool read_proc_file(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    return true;
}

/* Threads of this process, from the "Threads:" line of /proc/self/status. */
static int thread_count(void)
{
    char buf[4096];
    if (!read_proc_file("/proc/self/status", buf, sizeof buf))
        return -1;
    const char *line = strstr(buf, "\nThreads:");
    return line ? atoi(line + strlen("\nThreads:")) : -1;
}

/* Context switches of every thread but the calling one, from
 * /proc/self/task/<tid>/status: each wakeup of a sleeping thread is one. -1 when they
 * cannot be read. */
static long long other_threads_switches(void)
{
    char entries[4096];
    int dir = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return -1;
    long n = syscall(SYS_getdents64, dir, entries, sizeof entries);
    close(dir);
    if (n <= 0)
        return -1;
    long long total = 0;
    for (long at = 0; at < n;) {
        const struct dirent64 *entry = (const struct dirent64 *)(entries + at);
        at += entry->d_reclen;
        long tid = atol(entry->d_name);
        if (tid <= 0 || tid == (long)gettid())
            continue;
        char path[64], status[4096];
        snprintf(path, sizeof path, "/proc/self/task/%ld/status", tid);
        if (!read_proc_file(path, status, sizeof status))
            return -1;
        const char *voluntary = strstr(status, "\nvoluntary_ctxt_switches:");
        const char *involuntary = strstr(status, "\nnonvoluntary_ctxt_switches:");
        if (!voluntary || !involuntary)
            return -1;
        total += atoll(voluntary + strlen("\nvoluntary_ctxt_switches:")) +
                 atoll(involuntary + strlen("\nnonvoluntary_ctxt_switches:"));
    }
    return total;
}

/* ---- calloc: large blocks ---- */

/* 40 MiB and 100 MiB are long enough for os_zero_pages to probe residency first. */
static const size_t large_sizes[] = { 64 * KiB, 1 * MiB, 8 * MiB, 40 * MiB, 100 * MiB };
#define LARGE_SIZE_COUNT ((int)(sizeof large_sizes / sizeof large_sizes[0]))

START_TEST(test_calloc_of_fresh_large_block_is_zero)
{
    size_t size = large_sizes[_i];
    unsigned char *p = calloc(1, size);
    ck_assert_ptr_nonnull(p);
    assert_all_zero(p, size, "fresh calloc");
    free(p);
}
END_TEST

/* Writes 0xff over blocks of `size`, frees them, callocs as many back, and checks they
 * are zero and that at least one reuses written memory (else the test proves
 * nothing). */
static void check_calloc_after_written_blocks(size_t size, void (*between)(void), const char *what)
{
    enum { BLOCKS = 2 };
    unsigned char *written[BLOCKS], *zeroed[BLOCKS];
    for (int b = 0; b < BLOCKS; b++) {
        written[b] = checked_malloc(size);
        memset(written[b], 0xff, size);
    }
    for (int b = 0; b < BLOCKS; b++)
        free(written[b]);
    if (between)
        between();
    int reused = 0;
    for (int b = 0; b < BLOCKS; b++) {
        zeroed[b] = calloc(1, size);
        ck_assert_msg(zeroed[b] != NULL, "calloc(1, %zu) failed", size);
        assert_all_zero(zeroed[b], size, what);
        for (int w = 0; w < BLOCKS; w++)
            reused |= overlaps(zeroed[b], size, written[w], size);
    }
    ck_assert_msg(reused, "%s: no calloc of %zu bytes reused the freed blocks", what, size);
    for (int b = 0; b < BLOCKS; b++)
        free(zeroed[b]);
}

START_TEST(test_calloc_of_reused_written_large_block_is_zero)
{
    check_calloc_after_written_blocks(large_sizes[_i], NULL, "calloc after write and free");
}
END_TEST

static void release_with_pagoda_call(void)
{
    pagoda_release_free_memory();
}

static void release_with_malloc_trim(void)
{
    malloc_trim(0);
}

START_TEST(test_calloc_after_release_free_memory_is_zero)
{
    check_calloc_after_written_blocks(large_sizes[_i], release_with_pagoda_call,
                                      "calloc after pagoda_release_free_memory");
}
END_TEST

START_TEST(test_calloc_after_malloc_trim_is_zero)
{
    check_calloc_after_written_blocks(large_sizes[_i], release_with_malloc_trim,
                                      "calloc after malloc_trim");
}
END_TEST

/* A large block carved out of a longer freed one, and small objects whose spans are
 * cut from what is left. (The freed block fits the thread's large cache, which the
 * calloc of a shorter piece empties into the page heap; a longer one would become the
 * process's spare block, which the page heap takes back only before it grows.) */
START_TEST(test_calloc_from_a_split_dirty_span_is_zero)
{
    enum { SMALL_OBJECTS = 2048, SMALL_SIZE = 2048 };
    size_t big = 2 * MiB, piece = 256 * KiB;
    unsigned char *written = checked_malloc(big);
    memset(written, 0xff, big);
    free(written);
    unsigned char *part = calloc(1, piece);
    ck_assert_ptr_nonnull(part);
    assert_all_zero(part, piece, "large calloc split from a dirty span");
    static unsigned char *smalls[SMALL_OBJECTS];
    int small_reused = 0;
    for (int i = 0; i < SMALL_OBJECTS; i++) {
        smalls[i] = calloc(1, SMALL_SIZE);
        ck_assert_ptr_nonnull(smalls[i]);
        assert_all_zero(smalls[i], SMALL_SIZE, "small calloc from a span cut from a dirty span");
        small_reused |= overlaps(smalls[i], SMALL_SIZE, written, big);
    }
    ck_assert_msg(overlaps(part, piece, written, big), "the %zu-byte calloc did not reuse the freed block", piece);
    ck_assert_msg(small_reused, "no small calloc reused the freed block");
    for (int i = 0; i < SMALL_OBJECTS; i++)
        free(smalls[i]);
    free(part);
}
END_TEST

START_TEST(test_calloc_over_coalesced_dirty_spans_is_zero)
{
    size_t half = 1 * MiB;
    unsigned char *first = checked_malloc(half), *second = checked_malloc(half);
    ck_assert_msg(second == first + half, "precondition: the two blocks are not neighbours (%p, %p)",
                  (void *)first, (void *)second);
    memset(first, 0xff, half);
    memset(second, 0xff, half);
    free(first);
    free(second);
    unsigned char *both = calloc(1, 2 * half);
    ck_assert_ptr_nonnull(both);
    assert_all_zero(both, 2 * half, "calloc over two coalesced freed blocks");
    ck_assert_msg(overlaps(both, 2 * half, first, 2 * half),
                  "the calloc did not reuse the coalesced blocks");
    free(both);
}
END_TEST

/* ---- calloc: small objects ---- */

/* Every size class: objects of the class's size are written, freed and calloc'ed
 * back (from the thread cache, so the very same memory). */
START_TEST(test_calloc_of_reused_small_objects_is_zero_in_every_class)
{
    enum { MAX_OBJECTS = 512 };
    static unsigned char *objects[MAX_OBJECTS];
    size_t classes = 0;
    for (size_t request = 1; request <= 32 * KiB; classes++) {
        void *probe = checked_malloc(request);
        size_t size = malloc_usable_size(probe);
        free(probe);
        size_t count = 256 * KiB / size;
        count = count < 32 ? 32 : count > MAX_OBJECTS ? MAX_OBJECTS : count;
        for (size_t i = 0; i < count; i++) {
            objects[i] = checked_malloc(size);
            memset(objects[i], 0xff, size);
        }
        for (size_t i = count; i-- > 0;)
            free(objects[i]);
        for (size_t i = 0; i < count; i++) {
            objects[i] = calloc(1, size);
            ck_assert_ptr_nonnull(objects[i]);
            assert_all_zero(objects[i], size, "small calloc after write and free");
        }
        for (size_t i = 0; i < count; i++)
            free(objects[i]);
        request = size + 1;
    }
    ck_assert_uint_ge(classes, 40);
}
END_TEST

/* ---- calloc: partly resident blocks ---- */

enum residency { EVERY_OTHER_PAGE, FIRST_HALF, ONE_PAGE_IN_37, MIDDLE_HALF, ENDS_ONLY, RESIDENCY_COUNT };
static const char *const residency_names[] = { "every other page", "first half", "one page in 37",
                                               "middle half (ends untouched)",
                                               "first and last 128 KiB only" };

static int page_is_written(enum residency residency, size_t page, size_t pages)
{
    switch (residency) {
    case EVERY_OTHER_PAGE: return page % 2 == 0;
    case FIRST_HALF: return page < pages / 2;
    case ONE_PAGE_IN_37: return page % 37 == 5;
    case MIDDLE_HALF: return page >= pages / 4 && page < pages / 4 * 3;
    case ENDS_ONLY: return page < 32 || page >= pages - 32;
    case RESIDENCY_COUNT: break;
    }
    return 0;
}

#define PARTLY_WRITTEN_SIZE (64 * MiB)

/* Allocates a PARTLY_WRITTEN_SIZE block, writes the pages `residency` names (so only
 * those are resident), frees it and returns where it was. */
static unsigned char *write_pages_and_free(enum residency residency)
{
    size_t pages = PARTLY_WRITTEN_SIZE / PAGE;
    unsigned char *written = checked_malloc(PARTLY_WRITTEN_SIZE);
    for (size_t page = 0; page < pages; page++)
        if (page_is_written(residency, page, pages))
            memset(written + page * PAGE, 0xff, PAGE);
    free(written);
    return written;
}

/* A block with only some pages written is freed and calloc'ed back; every page must
 * read as zero. */
START_TEST(test_calloc_over_partly_resident_block_is_zero)
{
    enum residency residency = (enum residency)_i;
    size_t size = PARTLY_WRITTEN_SIZE, pages = size / PAGE;
    unsigned char *written = write_pages_and_free(residency);
    unsigned char *zeroed = calloc(1, size);
    ck_assert_ptr_nonnull(zeroed);
    ck_assert_msg(zeroed == written, "%s: the calloc did not reuse the freed block",
                  residency_names[residency]);
    for (size_t page = 0; page < pages; page++) {
        size_t i = first_nonzero(zeroed + page * PAGE, PAGE);
        if (i < PAGE)
            ck_abort_msg("%s: byte %zu of page %zu is 0x%02x", residency_names[residency], i,
                         page, zeroed[page * PAGE + i]);
    }
    free(zeroed);
}
END_TEST

/* calloc of a 64 MiB block written only at its ends clears what was written and no
 * more: the block must not become resident in full (each probed window at the ends is
 * resident, the two between are not). */
START_TEST(test_calloc_over_a_block_written_at_its_ends_stays_small)
{
    size_t size = PARTLY_WRITTEN_SIZE;
    unsigned char *written = write_pages_and_free(ENDS_ONLY);
    size_t before = resident_bytes();
    unsigned char *zeroed = calloc(1, size);
    ck_assert_ptr_eq(zeroed, written);
    size_t grown = resident_bytes() - before;
    ck_assert_msg(grown < 8 * MiB, "calloc made %zu KiB resident for 256 KiB of written pages",
                  grown / 1024);
    ck_assert_uint_eq(first_nonzero(zeroed, 32 * PAGE), 32 * PAGE);
    ck_assert_uint_eq(first_nonzero(zeroed + size - 32 * PAGE, 32 * PAGE), 32 * PAGE);
    free(zeroed);
}
END_TEST

/* ---- trim: freed large blocks ---- */

/* Allocates and writes `total` bytes in 1 MiB and 64 KiB blocks (half each), then
 * frees them; returns how many bytes were written. */
static size_t write_and_free_large_blocks(size_t total)
{
    enum { MAX_BLOCKS = 4096 };
    static void *blocks[MAX_BLOCKS];
    size_t count = 0, written = 0;
    for (size_t size = 1 * MiB; written < total / 2; written += size)
        blocks[count++] = checked_malloc(size);
    for (size_t size = 64 * KiB; written < total; written += size)
        blocks[count++] = checked_malloc(size);
    for (size_t i = 0; i < count; i++)
        memset(blocks[i], 0x5a, malloc_usable_size(blocks[i]));
    for (size_t i = 0; i < count; i++)
        free(blocks[i]);
    return written;
}

START_TEST(test_malloc_trim_returns_freed_large_blocks_to_the_os)
{
    size_t freed = write_and_free_large_blocks(256 * MiB);
    size_t before = resident_bytes();
    ck_assert_int_eq(malloc_trim(0), 1);
    size_t after = resident_bytes();
    ck_assert_msg(before > after && before - after >= freed / 4 * 3,
                  "RSS went from %.1f to %.1f MiB after freeing %.1f MiB, expected a drop of at least 75%%",
                  as_mib(before), as_mib(after), as_mib(freed));
}
END_TEST

START_TEST(test_release_free_memory_reports_bytes_then_nothing_more)
{
    size_t freed = write_and_free_large_blocks(64 * MiB);
    size_t first = pagoda_release_free_memory();
    size_t second = pagoda_release_free_memory();
    ck_assert_msg(first >= freed / 4 * 3, "first release reported %zu bytes after freeing %zu",
                  first, freed);
    ck_assert_msg(second <= 256 * KiB, "second release right after reported %zu bytes", second);
}
END_TEST

/* ---- trim: partly used spans ---- */

static int compare_addresses(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
    return x < y ? -1 : x > y;
}

/* Bytes of the pages that only freed objects touch. objects[] is sorted by address;
 * keep[i] says whether objects[i] stays. */
static size_t bytes_of_freed_only_pages(void **objects, const char *keep, size_t count, size_t size)
{
    size_t pages = 0;
    uintptr_t current = UINTPTR_MAX;
    int current_kept = 0;
    for (size_t i = 0; i < count; i++) {
        uintptr_t first = (uintptr_t)objects[i] / PAGE, last = ((uintptr_t)objects[i] + size - 1) / PAGE;
        for (uintptr_t page = first; page <= last; page++) {
            if (page != current) {
                pages += current != UINTPTR_MAX && !current_kept;
                current = page;
                current_kept = 0;
            }
            current_kept |= keep[i];
        }
    }
    pages += current != UINTPTR_MAX && !current_kept;
    return pages * PAGE;
}

/* What trimming a partly freed set of objects did. */
struct partial_trim {
    size_t freeable;        /* bytes of the pages that only freed objects touched */
    size_t rss_before, rss_after;
    size_t kept_damaged;    /* kept objects whose contents changed */
};

/* Fills about `total` bytes with objects of `size` (each holding a pattern), frees
 * those keep_object() rejects, and trims; returns -1 if an allocation failed. */
static int trim_partly_freed_objects(size_t size, size_t total,
                                     int (*keep_object)(void *object, size_t index),
                                     struct partial_trim *out)
{
    size_t count = total / size;
    void **objects = malloc(count * sizeof *objects);
    char *keep = malloc(count);
    if (!objects || !keep)
        return -1;
    for (size_t i = 0; i < count; i++) {
        if (!(objects[i] = malloc(size)))
            return -1;
        pattern_fill(objects[i], size, (uintptr_t)objects[i]);
    }
    qsort(objects, count, sizeof *objects, compare_addresses);
    for (size_t i = 0; i < count; i++)
        keep[i] = (char)keep_object(objects[i], i);
    out->freeable = bytes_of_freed_only_pages(objects, keep, count, size);
    for (size_t i = 0; i < count; i++)
        if (!keep[i])
            free(objects[i]);
    out->rss_before = resident_bytes();
    malloc_trim(0);
    out->rss_after = resident_bytes();
    out->kept_damaged = 0;
    for (size_t i = 0; i < count; i++) {
        if (keep[i]) {
            out->kept_damaged += pattern_mismatch(objects[i], size, (uintptr_t)objects[i]) != size;
            free(objects[i]);
        }
    }
    free(keep);
    free(objects);
    return 0;
}

/* RSS must drop by at least 75% of the freeable pages, which must be at least half of
 * the total (else the test proves little), and kept objects must be intact. */
static void assert_partial_trim(const struct partial_trim *m, size_t size, size_t total)
{
    ck_assert_msg(m->freeable >= total / 2, "precondition: only %.1f of %.1f MiB of pages are freeable",
                  as_mib(m->freeable), as_mib(total));
    ck_assert_msg(m->rss_before > m->rss_after && m->rss_before - m->rss_after >= m->freeable / 4 * 3,
                  "%zu-byte objects: RSS went from %.1f to %.1f MiB; %.1f MiB of pages hold only "
                  "freed objects", size, as_mib(m->rss_before), as_mib(m->rss_after), as_mib(m->freeable));
    ck_assert_msg(m->kept_damaged == 0, "%zu kept objects lost their contents", m->kept_damaged);
}

/* In address order, runs of 16 kept objects (one page of 256 B) every 160. */
static int keep_one_run_in_ten(void *object, size_t index)
{
    (void)object;
    return index % 160 < 16;
}

START_TEST(test_malloc_trim_returns_pages_of_freed_small_object_runs)
{
    struct partial_trim m;
    ck_assert_int_eq(trim_partly_freed_objects(256, 128 * MiB, keep_one_run_in_ten, &m), 0);
    assert_partial_trim(&m, 256, 128 * MiB);
}
END_TEST

/* ---- scenarios run in a re-executed child ---- */

#define IDLE_BLOCKS 200    /* of 1 MiB */

static void report(const char *key, long long value)
{
    printf("%s=%lld\n", key, value);
}

/* Allocates and writes IDLE_BLOCKS MiB, then frees them; *base and *peak get the RSS
 * before and with the blocks in place. Exits with 3 when an allocation fails. */
static void write_then_free_blocks(size_t *base, size_t *peak)
{
    static void *blocks[IDLE_BLOCKS];
    *base = resident_bytes();
    for (int i = 0; i < IDLE_BLOCKS; i++) {
        blocks[i] = malloc(1 * MiB);
        if (!blocks[i])
            exit(3);
        memset(blocks[i], 0x5a, 1 * MiB);
    }
    *peak = resident_bytes();
    for (int i = 0; i < IDLE_BLOCKS; i++)
        free(blocks[i]);
}

/* The same, reporting the RSS as "base" and "peak". */
static void write_then_free_idle_blocks(void)
{
    size_t base, peak;
    write_then_free_blocks(&base, &peak);
    report("base", (long long)base);
    report("peak", (long long)peak);
}

/* Keeps the program busy with small objects for about a second: batches of 64
 * allocations of varied sizes, freed at once, every millisecond. */
static void small_allocations_for_a_second(void)
{
    double end = monotonic_seconds() + 1.0;
    for (unsigned round = 0; monotonic_seconds() < end; round++) {
        void *batch[64];
        for (unsigned k = 0; k < 64; k++) {
            batch[k] = malloc(16 + (k * 97 + round) % 2000);
            if (!batch[k])
                exit(3);
            *(volatile char *)batch[k] = 1;
        }
        for (unsigned k = 0; k < 64; k++)
            free(batch[k]);
        sleep_ms(1);
    }
}

static int scenario_idle_release(void)
{
    write_then_free_idle_blocks();
    small_allocations_for_a_second();
    report("end", (long long)resident_bytes());
    return 0;
}

/* Makes no allocator call after the frees: only a background thread can release. The
 * heap grows once the process is older than the 50 ms that
 * PAGODA_BACKGROUND_THREAD=auto waits for (release.c). */
static int scenario_background_release(void)
{
    int threads_at_start = thread_count();
    free(malloc(100));
    int threads_after_malloc = thread_count();
    sleep_ms(100);
    write_then_free_idle_blocks();
    sleep_ms(1000);
    report("end", (long long)resident_bytes());
    report("threads_at_start", threads_at_start);
    report("threads_after_malloc", threads_after_malloc);
    report("exiting_at_us", (long long)(monotonic_seconds() * 1e6));
    return 0;
}

/* A process that maps a large heap in its first milliseconds, then a larger one later
 * (too large for the spare block the first left, so that its malloc is a slow path
 * that ticks): its thread count after each. */
static int scenario_young_large_heap(void)
{
    free(malloc(100));
    for (int round = 0; round < 2; round++) {
        if (round == 1)
            sleep_ms(100);
        char *block = malloc((round + 1) * 100 * MiB);
        if (!block)
            return 3;
        block[0] = 1;
        free(block);
        report(round == 0 ? "threads_young" : "threads_older", thread_count());
    }
    return 0;
}

/* Frees a first round of blocks and waits until the background thread has released
 * them and, finding nothing more to do, parked; counts its wakeups over half a second
 * of silence. Then frees a second round and again makes no allocator call: only a
 * thread the frees woke can release that round. */
static int scenario_background_parks(void)
{
    free(malloc(100));
    write_then_free_idle_blocks();
    sleep_ms(1000);          /* 10 delays: passes release the round, a last one finds nothing */
    report("end", (long long)resident_bytes());
    long long switches_before = other_threads_switches();
    sleep_ms(500);
    report("parked_switches", other_threads_switches() - switches_before);
    report("switches_readable", switches_before >= 0);
    size_t base, peak;
    write_then_free_blocks(&base, &peak);
    sleep_ms(1000);
    report("second_base", (long long)base);
    report("second_peak", (long long)peak);
    report("second_end", (long long)resident_bytes());
    /* A block longer than a thread's large cache becomes the process's spare when
     * freed; the second such free is not a slow path that ticks (only every 16th is),
     * and must wake the thread all the same. */
    for (int round = 0; round < 2; round++) {
        char *block = malloc(64 * MiB);
        if (!block)
            return 3;
        memset(block, 0x5a, 64 * MiB);
        free(block);
        sleep_ms(1000);
    }
    report("spare_end", (long long)resident_bytes());
    return 0;
}

/* The forked child reports its threads before and after a large malloc (which always
 * reaches the slow path, where the background thread is started). */
static int scenario_background_fork(void)
{
    free(malloc(1 * MiB));
    report("parent_threads", thread_count());
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 3;
    if (pid == 0) {
        int before = thread_count();
        void *p = malloc(1 * MiB);
        if (!p)
            _exit(3);
        memset(p, 1, 1 * MiB);
        free(p);
        report("child_threads_before", before);
        report("child_threads_after", thread_count());
        exit(0);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return 3;
    report("child_status", status);
    return 0;
}

/* Rounds that each leave the heap full of holes. A round allocates and writes
 * LIMIT_ROUND_BYTES in blocks of one size, frees three of every four, then allocates
 * and writes as much again in blocks four times as large, which no hole can take.
 * Without a limit the holes stay resident while the heap grows by the second part
 * (2 rounds' bytes in all); with one, they go back to the OS before it grows (1.25).
 * Reports the highest RSS seen with a round's blocks in place. */
#define LIMIT_ROUND_BYTES (200 * MiB)

static bool allocate_written(void **blocks, size_t count, size_t size)
{
    for (size_t i = 0; i < count; i++) {
        if (!(blocks[i] = malloc(size)))
            return false;
        memset(blocks[i], 0x5a, size);
    }
    return true;
}

static int scenario_memory_limit(void)
{
    static const size_t sizes[] = { 1 * MiB, 3 * MiB, 640 * KiB, 100 * KiB };
    static void *blocks[LIMIT_ROUND_BYTES / (100 * KiB)];
    static void *larger[LIMIT_ROUND_BYTES / (4 * 100 * KiB)];
    size_t base = resident_bytes(), peak = base;
    for (size_t r = 0; r < sizeof sizes / sizeof sizes[0]; r++) {
        size_t count = LIMIT_ROUND_BYTES / sizes[r], larger_count = count / 4;
        if (!allocate_written(blocks, count, sizes[r]))
            return 3;
        for (size_t i = 0; i < count; i++)
            if (i % 4) {
                free(blocks[i]);
                blocks[i] = NULL;
            }
        if (!allocate_written(larger, larger_count, 4 * sizes[r]))
            return 3;
        size_t now = resident_bytes();
        peak = now > peak ? now : peak;
        for (size_t i = 0; i < count; i++)
            free(blocks[i]);
        for (size_t i = 0; i < larger_count; i++)
            free(larger[i]);
    }
    report("base", (long long)base);
    report("peak", (long long)peak);
    return 0;
}

/* ---- scenario: the cache of a thread that stays on its hit path ---- */

static atomic_int cache_filled, pause_requested, parked, stop_worker;

/* Fills the thread's cache with objects of every class, then does one malloc/free
 * pair of 64 B every 20 ms (all hit path), parking when asked. */
static void *fill_cache_then_idle(void *unused)
{
    (void)unused;
    enum { MAX_OBJECTS = 4096 };
    static void *objects[MAX_OBJECTS];
    for (size_t request = 1; request <= 32 * KiB;) {
        void *probe = malloc(request);
        size_t size = malloc_usable_size(probe);
        free(probe);
        size_t count = 512 * KiB / size;
        count = count > MAX_OBJECTS ? MAX_OBJECTS : count;
        for (size_t i = 0; i < count; i++)
            memset(objects[i] = malloc(size), 0x5a, size);
        for (size_t i = 0; i < count; i++)
            free(objects[i]);
        request = size + 1;
    }
    atomic_store(&cache_filled, 1);
    while (!atomic_load(&stop_worker)) {
        if (atomic_load(&pause_requested)) {
            atomic_store(&parked, 1);
            while (atomic_load(&pause_requested))
                sleep_ms(1);
            atomic_store(&parked, 0);
        }
        void *p = malloc(64);
        *(volatile char *)p = 1;
        free(p);
        sleep_ms(20);
    }
    return NULL;
}

/* While the worker idles, the main thread calls the allocator's slow paths for a
 * second (large blocks), then parks the worker, trims, and reports what is still
 * resident compared with before the worker started. */
static int scenario_cache_drain(void)
{
    size_t base = resident_bytes();
    pthread_t worker;
    if (pthread_create(&worker, NULL, fill_cache_then_idle, NULL) != 0)
        return 3;
    while (!atomic_load(&cache_filled))
        sleep_ms(1);
    double end = monotonic_seconds() + 1.0;
    while (monotonic_seconds() < end) {
        free(malloc(48 * KiB));
        sleep_ms(5);
    }
    atomic_store(&pause_requested, 1);
    while (!atomic_load(&parked))
        sleep_ms(1);
    malloc_trim(0);
    size_t after_trim = resident_bytes();
    atomic_store(&pause_requested, 0);
    atomic_store(&stop_worker, 1);
    pthread_join(worker, NULL);
    report("retained", (long long)after_trim - (long long)base);
    return 0;
}

/* ---- scenarios: calloc's habit ---- */

/* calloc_habit.h: a block reused from the thread's large cache is cleared with memset
 * while the program fills its blocks, and dropped (MADV_DONTNEED) once it is seen to
 * touch few of their pages. Which was done shows right after calloc returns: a cleared
 * block is resident throughout, a dropped one hardly at all. Each run has a thread of
 * its own, whose habit starts afresh; it reports how many pages of the block its last
 * calloc returned were resident. No release delay, so that no drain empties a cache
 * mid-run; no transparent huge pages, so that one touched byte is one resident page. */
#define HABIT_BLOCK (1 * MiB)
#define HABIT_BLOCK_PAGES (HABIT_BLOCK / PAGE)

enum block_use { TOUCH_FIRST_BYTE, FILL_BLOCK };

struct habit_run {
    const char *key;
    size_t first_rounds;
    enum block_use first_use;
    size_t second_rounds;
    enum block_use second_use;
};

static const struct habit_run habit_runs[] = {
    { "barely_touched", 20, TOUCH_FIRST_BYTE, 0, TOUCH_FIRST_BYTE },
    /* Past the first trial (at the 256th reuse), which clears a filled block's front
     * and drops its tail. */
    { "filled", 300, FILL_BLOCK, 0, FILL_BLOCK },
    { "filled_after_barely_touched", 20, TOUCH_FIRST_BYTE, 20, FILL_BLOCK },
    { "barely_touched_after_filled", 20, FILL_BLOCK, 600, TOUCH_FIRST_BYTE },
};

static size_t resident_pages_of(const void *p, size_t size)
{
    static unsigned char vec[HABIT_BLOCK_PAGES];
    if (size > HABIT_BLOCK || mincore((void *)p, size, vec) != 0)
        return SIZE_MAX;
    size_t count = 0;
    for (size_t i = 0; i < size / PAGE; i++)
        count += vec[i] & 1;
    return count;
}

/* Exits the scenario with 4 unless the calloc'd block p reads zero: throughout when
 * the program fills it, else at three bytes only (reading a page maps it). */
static void check_calloc_zero(const unsigned char *p, enum block_use use)
{
    size_t bad = use == FILL_BLOCK ? first_nonzero(p, HABIT_BLOCK)
                 : p[0] ? 0 : p[HABIT_BLOCK / 2] ? HABIT_BLOCK / 2 : p[HABIT_BLOCK - 1] ? HABIT_BLOCK - 1
                 : HABIT_BLOCK;
    if (bad < HABIT_BLOCK) {
        fprintf(stderr, "byte %zu of a calloc'd block is %#x\n", bad, p[bad]);
        exit(4);
    }
}

static unsigned char *calloc_block(void)
{
    unsigned char *p = calloc(1, HABIT_BLOCK);
    if (p == NULL)
        exit(3);
    return p;
}

static void calloc_rounds(size_t rounds, enum block_use use)
{
    for (size_t round = 0; round < rounds; round++) {
        unsigned char *p = calloc_block();
        check_calloc_zero(p, use);
        if (use == FILL_BLOCK)
            memset(p, 0x5a, HABIT_BLOCK);
        else
            p[0] = 1;
        free(p);
    }
}

static void *run_habit(void *arg)
{
    const struct habit_run *run = arg;
    calloc_rounds(run->first_rounds, run->first_use);
    calloc_rounds(run->second_rounds, run->second_use);
    unsigned char *p = calloc_block();
    size_t resident = resident_pages_of(p, HABIT_BLOCK);
    check_calloc_zero(p, FILL_BLOCK);
    free(p);
    report(run->key, (long long)resident);
    return NULL;
}

static int scenario_calloc_habit(void)
{
    if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0)
        return 5;
    for (size_t i = 0; i < sizeof habit_runs / sizeof habit_runs[0]; i++) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, run_habit, (void *)&habit_runs[i]) != 0)
            return 3;
        pthread_join(thread, NULL);
    }
    return 0;
}

/* ---- scenarios: trims that need a heap with no history ---- */

/* Objects of 6912 B live in spans of 7 pages; the page-aligned object of each span is
 * its first. Keeping only those leaves every span partly used with 5 free pages. */
#define SPAN_OBJECT_SIZE 6912
#define SPAN_OBJECTS_TOTAL (128 * MiB)

static int keep_span_starts(void *object, size_t index)
{
    (void)index;
    return (uintptr_t)object % PAGE == 0;
}

static int scenario_partly_used_spans(void)
{
    void *probe = malloc(SPAN_OBJECT_SIZE);
    report("class_size", (long long)malloc_usable_size(probe));
    free(probe);
    struct partial_trim m;
    if (trim_partly_freed_objects(SPAN_OBJECT_SIZE, SPAN_OBJECTS_TOTAL, keep_span_starts, &m) != 0)
        return 3;
    report("freeable", (long long)m.freeable);
    report("rss_before", (long long)m.rss_before);
    report("rss_after", (long long)m.rss_after);
    report("kept_damaged", (long long)m.kept_damaged);
    return 0;
}

/* Two neighbouring written blocks; the first is freed and trimmed (its span is now
 * released), then the second is freed (merging with it) and a 64 KiB block is cut
 * from the front of the merged span. The rest of the span still holds the second
 * block's dirty pages, and a trim must give them back. */
static int scenario_split_dirty_span(void)
{
    unsigned char *first = malloc(1 * MiB), *second = malloc(1 * MiB);
    if (!first || !second)
        return 3;
    memset(first, 1, 1 * MiB);
    memset(second, 1, 1 * MiB);
    free(first);
    malloc_trim(0);
    free(second);
    void *head = malloc(64 * KiB);
    if (!head)
        return 3;
    size_t before = resident_bytes();
    malloc_trim(0);
    size_t after = resident_bytes();
    report("neighbours", second == first + 1 * MiB);
    report("head_reuses_first", head == (void *)first);
    report("rss_before", (long long)before);
    report("rss_after", (long long)after);
    free(head);
    return 0;
}

static int run_named_scenario(const char *name)
{
    static const struct {
        const char *name;
        int (*run)(void);
    } scenarios[] = {
        { "idle_release", scenario_idle_release },
        { "background_release", scenario_background_release },
        { "background_fork", scenario_background_fork },
        { "background_parks", scenario_background_parks },
        { "young_large_heap", scenario_young_large_heap },
        { "memory_limit", scenario_memory_limit },
        { "cache_drain", scenario_cache_drain },
        { "partly_used_spans", scenario_partly_used_spans },
        { "split_dirty_span", scenario_split_dirty_span },
        { "calloc_habit", scenario_calloc_habit },
    };
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
        if (strcmp(name, scenarios[i].name) == 0)
            return scenarios[i].run();
    fprintf(stderr, "unknown scenario %s\n", name);
    return 100;
}

/* ---- tests of the scenarios ---- */

/* Every scenario run the tests below look at. They run at the same time, once, in an
 * unchecked fixture (so in the test runner, before the tests fork), which keeps the
 * file fast: each run mostly sleeps. */
enum scenario_case {
    BACKGROUND_ON,      /* first, so that it is reaped as soon as it exits */
    BACKGROUND_AUTO,
    IDLE_DELAY_100,
    IDLE_DELAY_NEVER,
    BACKGROUND_OFF,
    BACKGROUND_FORK,
    BACKGROUND_PARKS,
    BACKGROUND_YOUNG,
    LIMIT_64M,
    LIMIT_NONE,
    DRAIN_DELAY_100,
    DRAIN_DELAY_NEVER,
    CALLOC_HABIT,
    SCENARIO_CASES
};

static const struct {
    const char *scenario;
    const char *env[4];
} scenario_cases[SCENARIO_CASES] = {
    [IDLE_DELAY_100] = { "idle_release", { "PAGODA_RELEASE_DELAY_MS=100" } },
    [IDLE_DELAY_NEVER] = { "idle_release", { "PAGODA_RELEASE_DELAY_MS=never" } },
    [BACKGROUND_ON] = { "background_release",
                        { "PAGODA_BACKGROUND_THREAD=1", "PAGODA_RELEASE_DELAY_MS=100" } },
    [BACKGROUND_OFF] = { "background_release",
                         { "PAGODA_BACKGROUND_THREAD=0", "PAGODA_RELEASE_DELAY_MS=100" } },
    [BACKGROUND_AUTO] = { "background_release",
                          { "PAGODA_BACKGROUND_THREAD=auto", "PAGODA_RELEASE_DELAY_MS=100" } },
    [BACKGROUND_FORK] = { "background_fork",
                          { "PAGODA_BACKGROUND_THREAD=1", "PAGODA_RELEASE_DELAY_MS=100" } },
    [BACKGROUND_PARKS] = { "background_parks",
                           { "PAGODA_BACKGROUND_THREAD=1", "PAGODA_RELEASE_DELAY_MS=100" } },
    [BACKGROUND_YOUNG] = { "young_large_heap",
                           { "PAGODA_BACKGROUND_THREAD=auto", "PAGODA_RELEASE_DELAY_MS=100" } },
    /* No time-based release in either run, so only the limit can make a difference. */
    [LIMIT_64M] = { "memory_limit", { "PAGODA_MEMORY_LIMIT=64M", "PAGODA_RELEASE_DELAY_MS=never" } },
    [LIMIT_NONE] = { "memory_limit", { "PAGODA_RELEASE_DELAY_MS=never" } },
    /* Room for the worker's cache to hold every class's full share. */
    [DRAIN_DELAY_100] = { "cache_drain", { "PAGODA_RELEASE_DELAY_MS=100", "PAGODA_THREAD_CACHE_BYTES=64M",
                                           "PAGODA_TOTAL_THREAD_CACHE_BYTES=64M" } },
    [DRAIN_DELAY_NEVER] = { "cache_drain", { "PAGODA_RELEASE_DELAY_MS=never", "PAGODA_THREAD_CACHE_BYTES=64M",
                                             "PAGODA_TOTAL_THREAD_CACHE_BYTES=64M" } },
    [CALLOC_HABIT] = { "calloc_habit", { "PAGODA_RELEASE_DELAY_MS=never" } },
};

static struct scenario_result scenario_results[SCENARIO_CASES];

static void run_every_scenario(void)
{
    static struct scenario_run runs[SCENARIO_CASES];
    for (int c = 0; c < SCENARIO_CASES; c++)
        start_scenario(scenario_cases[c].scenario, scenario_cases[c].env, 30, &runs[c]);
    for (int c = 0; c < SCENARIO_CASES; c++)
        finish_scenario(&runs[c], &scenario_results[c]);
}

static void assert_scenario_succeeded(const char *scenario, const char *setting,
                                      const struct scenario_result *r)
{
    char status[96];
    ck_assert_msg(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0,
                  "scenario %s (%s): child %s (3: allocation failed); stdout: \"%s\"; stderr: \"%s\"",
                  scenario, setting, describe_status(r->status, status, sizeof status),
                  r->stdout_text, r->stderr_text);
}

/* The result of a fixture scenario that exited 0. */
static const struct scenario_result *scenario_of(enum scenario_case c)
{
    assert_scenario_succeeded(scenario_cases[c].scenario, scenario_cases[c].env[0], &scenario_results[c]);
    return &scenario_results[c];
}

static long long value_of(const struct scenario_result *r, const char *key)
{
    long long value = scenario_value(r->stdout_text, key);
    ck_assert_msg(value >= 0, "the scenario did not report %s; stdout: \"%s\"", key, r->stdout_text);
    return value;
}

START_TEST(test_malloc_trim_returns_free_pages_inside_partly_used_spans)
{
    struct scenario_result r;
    run_scenario("partly_used_spans", NULL, 20, &r);
    assert_scenario_succeeded("partly_used_spans", "defaults", &r);
    ck_assert_msg(value_of(&r, "class_size") == SPAN_OBJECT_SIZE,
                  "precondition: %d B is no longer a size class", SPAN_OBJECT_SIZE);
    struct partial_trim m = {
        .freeable = (size_t)value_of(&r, "freeable"),
        .rss_before = (size_t)value_of(&r, "rss_before"),
        .rss_after = (size_t)value_of(&r, "rss_after"),
        .kept_damaged = (size_t)value_of(&r, "kept_damaged"),
    };
    assert_partial_trim(&m, SPAN_OBJECT_SIZE, SPAN_OBJECTS_TOTAL);
}
END_TEST

START_TEST(test_malloc_trim_releases_the_rest_of_a_split_dirty_span)
{
    struct scenario_result r;
    run_scenario("split_dirty_span", NULL, 20, &r);
    assert_scenario_succeeded("split_dirty_span", "defaults", &r);
    ck_assert_msg(value_of(&r, "neighbours") == 1 && value_of(&r, "head_reuses_first") == 1,
                  "precondition: the blocks were not laid out as the scenario needs: %s", r.stdout_text);
    long long before = value_of(&r, "rss_before"), after = value_of(&r, "rss_after");
    ck_assert_msg(before - after >= (long long)(1 * MiB) / 4 * 3,
                  "RSS went from %.2f to %.2f MiB: the 1 MiB written into the second block stayed "
                  "resident", as_mib(before), as_mib(after));
}
END_TEST

/* RSS growth from base to peak; fails unless the scenario's blocks made it grow. */
static long long checked_growth(const struct scenario_result *r)
{
    long long grown = value_of(r, "peak") - value_of(r, "base");
    ck_assert_msg(grown >= (long long)(IDLE_BLOCKS * MiB) / 4 * 3,
                  "precondition: RSS grew by only %.1f MiB", as_mib(grown));
    return grown;
}

/* Checks that at least three quarters of what the scenario grew by was given back by
 * its end, a second after the frees. */
static void assert_mostly_released(const struct scenario_result *r, const char *how)
{
    long long grown = checked_growth(r);
    long long dropped = value_of(r, "peak") - value_of(r, "end");
    ck_assert_msg(dropped >= grown / 4 * 3,
                  "%s: a second after freeing %.1f MiB, RSS had dropped by only %.1f MiB", how,
                  as_mib(grown), as_mib(dropped));
}

START_TEST(test_idle_memory_is_released_without_a_trim)
{
    assert_mostly_released(scenario_of(IDLE_DELAY_100), "slow paths going on");
}
END_TEST

START_TEST(test_release_delay_never_keeps_freed_memory)
{
    const struct scenario_result *r = scenario_of(IDLE_DELAY_NEVER);
    long long grown = checked_growth(r);
    long long kept = value_of(r, "end") - value_of(r, "base");
    ck_assert_msg(kept >= grown / 10 * 9, "with delay \"never\", RSS kept only %.1f of %.1f MiB",
                  as_mib(kept), as_mib(grown));
}
END_TEST

START_TEST(test_background_thread_releases_while_the_program_sleeps)
{
    assert_mostly_released(scenario_of(BACKGROUND_ON), "background thread, program asleep");
}
END_TEST

START_TEST(test_without_background_thread_a_sleeping_program_keeps_its_memory)
{
    const struct scenario_result *r = scenario_of(BACKGROUND_OFF);
    long long grown = checked_growth(r);
    long long kept = value_of(r, "end") - value_of(r, "base");
    ck_assert_msg(kept >= grown / 10 * 9, "with no background thread, RSS kept only %.1f of %.1f MiB",
                  as_mib(kept), as_mib(grown));
    ck_assert_int_eq(value_of(r, "threads_after_malloc"), 1);
}
END_TEST

START_TEST(test_background_thread_starts_with_the_first_allocation)
{
    const struct scenario_result *r = scenario_of(BACKGROUND_ON);
    long long at_start = value_of(r, "threads_at_start");
    long long after = value_of(r, "threads_after_malloc");
    ck_assert_msg(at_start == 1 && after == 2, "threads: %lld at start, %lld after the first malloc",
                  at_start, after);
}
END_TEST

/* The default: no thread while the heap is small (the first malloc), one once it has
 * grown past 64 MiB (the scenario writes 200 MiB), and so a program that stops calling
 * the allocator after a big free still shrinks. */
START_TEST(test_auto_background_thread_comes_with_a_large_heap)
{
    const struct scenario_result *r = scenario_of(BACKGROUND_AUTO);
    ck_assert_int_eq(value_of(r, "threads_after_malloc"), 1);
    assert_mostly_released(r, "auto background thread, program asleep");
}
END_TEST

/* A process that maps a large heap in its first 50 ms gets no thread yet (it may be
 * about to exit); once older, the next slow path starts it. */
START_TEST(test_auto_background_thread_waits_out_a_young_process)
{
    const struct scenario_result *r = scenario_of(BACKGROUND_YOUNG);
    ck_assert_int_eq(value_of(r, "threads_young"), 1);
    ck_assert_int_eq(value_of(r, "threads_older"), 2);
}
END_TEST

START_TEST(test_background_thread_does_not_delay_exit)
{
    /* From the scenario's last statement to the process being reaped: exit must
     * neither wait for the thread's next pass nor hang on it. */
    const struct scenario_result *r = scenario_of(BACKGROUND_ON);
    double exit_seconds = r->ended_at - (double)value_of(r, "exiting_at_us") / 1e6;
    ck_assert_msg(exit_seconds < 0.5, "exit took %.3f s", exit_seconds);
}
END_TEST

START_TEST(test_forked_child_gets_its_own_background_thread)
{
    const struct scenario_result *r = scenario_of(BACKGROUND_FORK);
    long long status = value_of(r, "child_status");
    char described[96];
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "forked child %s",
                  describe_status((int)status, described, sizeof described));
    ck_assert_int_eq(value_of(r, "parent_threads"), 2);
    ck_assert_int_eq(value_of(r, "child_threads_before"), 1);
    ck_assert_int_eq(value_of(r, "child_threads_after"), 2);
}
END_TEST

/* With the delay at 100 ms, an unparked thread would wake 20 times in the half second
 * the scenario counts. */
START_TEST(test_background_thread_sleeps_once_nothing_is_left_to_release)
{
    const struct scenario_result *r = scenario_of(BACKGROUND_PARKS);
    assert_mostly_released(r, "background thread, before parking");
    ck_assert_msg(value_of(r, "switches_readable") == 1, "/proc/self/task could not be read");
    long long switches = value_of(r, "parked_switches");
    ck_assert_msg(switches <= 1, "the background thread woke %lld times in half a second with nothing "
                  "to release", switches);
}
END_TEST

START_TEST(test_parked_background_thread_wakes_for_a_spare_block)
{
    const struct scenario_result *r = scenario_of(BACKGROUND_PARKS);
    long long kept = value_of(r, "spare_end") - value_of(r, "second_end");
    ck_assert_msg(kept < (long long)(16 * MiB),
                  "a second after a 64 MiB block was freed a second time, RSS was %.1f MiB above "
                  "what it was before", as_mib(kept));
}
END_TEST

START_TEST(test_parked_background_thread_wakes_for_new_frees)
{
    const struct scenario_result *r = scenario_of(BACKGROUND_PARKS);
    long long grown = value_of(r, "second_peak") - value_of(r, "second_base");
    long long dropped = value_of(r, "second_peak") - value_of(r, "second_end");
    ck_assert_msg(grown >= (long long)(IDLE_BLOCKS * MiB) / 4 * 3,
                  "precondition: the second round grew RSS by only %.1f MiB", as_mib(grown));
    ck_assert_msg(dropped >= grown / 4 * 3,
                  "a second after freeing %.1f MiB to a parked background thread, RSS had dropped "
                  "by only %.1f MiB", as_mib(grown), as_mib(dropped));
}
END_TEST

/* With a 64 MiB limit, RSS should stay within a round's peak of live bytes (1.25
 * rounds) plus the limit; without it, the holes stay and the heap grows past them
 * (2 rounds: scenario_memory_limit). */
START_TEST(test_memory_limit_keeps_rss_down_without_failing)
{
    const struct scenario_result *limited = scenario_of(LIMIT_64M), *unlimited = scenario_of(LIMIT_NONE);
    long long limited_growth = value_of(limited, "peak") - value_of(limited, "base");
    long long unlimited_growth = value_of(unlimited, "peak") - value_of(unlimited, "base");
    long long live = LIMIT_ROUND_BYTES / 4 * 5;
    ck_assert_msg(unlimited_growth >= (long long)(LIMIT_ROUND_BYTES / 4 * 7),
                  "precondition: without a limit RSS grew by only %.1f MiB", as_mib(unlimited_growth));
    ck_assert_msg(limited_growth <= live + (long long)(64 * MiB),
                  "with a 64 MiB limit and %.0f MiB live, RSS grew by %.1f MiB (%.1f MiB without a limit)",
                  as_mib(live), as_mib(limited_growth), as_mib(unlimited_growth));
}
END_TEST

START_TEST(test_idle_thread_cache_is_drained)
{
    long long drained = value_of(scenario_of(DRAIN_DELAY_100), "retained");
    long long kept = value_of(scenario_of(DRAIN_DELAY_NEVER), "retained");
    ck_assert_msg(kept >= (long long)(8 * MiB),
                  "precondition: a trim with the worker's cache in place still left only %.1f MiB",
                  as_mib(kept));
    ck_assert_msg(drained <= kept / 4,
                  "after a second idle, %.1f MiB stayed resident (%.1f MiB with no drain)",
                  as_mib(drained), as_mib(kept));
}
END_TEST

/* ---- calloc's habit (scenario calloc_habit) ---- */

static long long habit_resident_pages(const char *run)
{
    return value_of(scenario_of(CALLOC_HABIT), run);
}

START_TEST(test_calloc_drops_blocks_the_program_barely_touches)
{
    long long resident = habit_resident_pages("barely_touched");
    ck_assert_msg(resident <= (long long)(HABIT_BLOCK_PAGES / 64 + 1),
                  "%lld of %zu pages resident: the block was cleared, not dropped", resident,
                  HABIT_BLOCK_PAGES);
}
END_TEST

START_TEST(test_calloc_clears_blocks_the_program_fills)
{
    long long resident = habit_resident_pages("filled");
    ck_assert_msg(resident == (long long)HABIT_BLOCK_PAGES,
                  "%lld of %zu pages resident: the block was dropped, not cleared", resident,
                  HABIT_BLOCK_PAGES);
}
END_TEST

/* Dropping, then the program fills its blocks: a probe within 8 callocs sees it. */
START_TEST(test_calloc_clears_again_once_the_program_fills_its_blocks)
{
    long long resident = habit_resident_pages("filled_after_barely_touched");
    ck_assert_msg(resident == (long long)HABIT_BLOCK_PAGES, "%lld of %zu pages resident: still dropping",
                  resident, HABIT_BLOCK_PAGES);
}
END_TEST

/* Clearing, then the program barely touches its blocks: a trial (at the 256th reuse
 * at first) sees it. */
START_TEST(test_calloc_learns_to_drop_after_the_program_stops_filling)
{
    long long resident = habit_resident_pages("barely_touched_after_filled");
    ck_assert_msg(resident <= (long long)(HABIT_BLOCK_PAGES / 64 + 1),
                  "%lld of %zu pages resident: still clearing", resident, HABIT_BLOCK_PAGES);
}
END_TEST

static Suite *release_suite(void)
{
    Suite *s = suite_create("release");

    TCase *zeros = tcase_create("calloc_zeros");
    tcase_set_timeout(zeros, 30);
    tcase_add_loop_test(zeros, test_calloc_of_fresh_large_block_is_zero, 0, LARGE_SIZE_COUNT);
    tcase_add_loop_test(zeros, test_calloc_of_reused_written_large_block_is_zero, 0, LARGE_SIZE_COUNT);
    tcase_add_loop_test(zeros, test_calloc_after_release_free_memory_is_zero, 0, LARGE_SIZE_COUNT);
    tcase_add_loop_test(zeros, test_calloc_after_malloc_trim_is_zero, 0, LARGE_SIZE_COUNT);
    tcase_add_test(zeros, test_calloc_from_a_split_dirty_span_is_zero);
    tcase_add_test(zeros, test_calloc_over_coalesced_dirty_spans_is_zero);
    tcase_add_test(zeros, test_calloc_of_reused_small_objects_is_zero_in_every_class);
    tcase_add_loop_test(zeros, test_calloc_over_partly_resident_block_is_zero, 0, RESIDENCY_COUNT);
    tcase_add_test(zeros, test_calloc_over_a_block_written_at_its_ends_stays_small);
    suite_add_tcase(s, zeros);



    TCase *trim = tcase_create("trim");
    tcase_set_timeout(trim, 30);
    tcase_add_test(trim, test_malloc_trim_returns_freed_large_blocks_to_the_os);
    tcase_add_test(trim, test_release_free_memory_reports_bytes_then_nothing_more);
    tcase_add_test(trim, test_malloc_trim_returns_pages_of_freed_small_object_runs);
    tcase_add_test(trim, test_malloc_trim_returns_free_pages_inside_partly_used_spans);
    tcase_add_test(trim, test_malloc_trim_releases_the_rest_of_a_split_dirty_span);
    suite_add_tcase(s, trim);

    TCase *idle = tcase_create("with_settings");
    tcase_add_unchecked_fixture(idle, run_every_scenario, NULL);
    tcase_add_test(idle, test_idle_memory_is_released_without_a_trim);
    tcase_add_test(idle, test_release_delay_never_keeps_freed_memory);
    tcase_add_test(idle, test_background_thread_releases_while_the_program_sleeps);
    tcase_add_test(idle, test_without_background_thread_a_sleeping_program_keeps_its_memory);
    tcase_add_test(idle, test_background_thread_starts_with_the_first_allocation);
    tcase_add_test(idle, test_auto_background_thread_comes_with_a_large_heap);
    tcase_add_test(idle, test_auto_background_thread_waits_out_a_young_process);
    tcase_add_test(idle, test_background_thread_does_not_delay_exit);
    tcase_add_test(idle, test_forked_child_gets_its_own_background_thread);
    tcase_add_test(idle, test_background_thread_sleeps_once_nothing_is_left_to_release);
    tcase_add_test(idle, test_parked_background_thread_wakes_for_new_frees);
    tcase_add_test(idle, test_parked_background_thread_wakes_for_a_spare_block);
    tcase_add_test(idle, test_memory_limit_keeps_rss_down_without_failing);
    tcase_add_test(idle, test_idle_thread_cache_is_drained);
    tcase_add_test(idle, test_calloc_drops_blocks_the_program_barely_touches);
    tcase_add_test(idle, test_calloc_clears_blocks_the_program_fills);
    tcase_add_test(idle, test_calloc_clears_again_once_the_program_fills_its_blocks);
    tcase_add_test(idle, test_calloc_learns_to_drop_after_the_program_stops_filling);
    suite_add_tcase(s, idle);

    return s;
}

int main(int argc, char **argv)
{
    const char *scenario = child_scenario_of(argc, argv);
    if (scenario)
        return run_named_scenario(scenario);
    SRunner *runner = srunner_create(release_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
