/*
 * os_memory.c — mmap, madvise and mincore behind the small interface in
 * os_memory.h. Nothing here takes a lock or allocates.
 */
#include "central/os_memory.h"

#include "allocator/common.h"

#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#ifdef PAGODA_FAULT_INJECTION
/* Test builds only (-DPAGODA_FAULT_INJECTION): pagoda_fault_fail_maps(after, count)
 * lets the next `after` maps succeed, then fails `count` of them (-1: all), as a
 * kernel out of memory would. */
static long maps_before_failure = -1;
static long maps_to_fail;

EXPORT void pagoda_fault_fail_maps(long after, long count)
{
    __atomic_store_n(&maps_to_fail, count, __ATOMIC_RELAXED);
    __atomic_store_n(&maps_before_failure, after, __ATOMIC_RELEASE);
}

static bool injected_map_failure(void)
{
    long before = __atomic_load_n(&maps_before_failure, __ATOMIC_ACQUIRE);
    if (before < 0)
        return false;
    if (before > 0) {
        __atomic_sub_fetch(&maps_before_failure, 1, __ATOMIC_RELAXED);
        return false;
    }
    long left = __atomic_load_n(&maps_to_fail, __ATOMIC_RELAXED);
    if (left == 0)
        return false;
    if (left > 0)
        __atomic_sub_fetch(&maps_to_fail, 1, __ATOMIC_RELAXED);
    return true;
}
#else
static bool injected_map_failure(void)
{
    return false;
}
#endif

void *os_map_aligned(size_t size, size_t alignment)
{
    if (injected_map_failure())
        return NULL;
    /* Over-map by the alignment, then unmap the misaligned head and the unused tail;
     * mmap's own page alignment needs neither. */
    size_t padded = alignment > PAGE_SIZE ? size + alignment : size;
    if (padded < size)
        return NULL;
    char *raw = mmap(NULL, padded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    uintptr_t start = ((uintptr_t)raw + alignment - 1) & ~(uintptr_t)(alignment - 1);
    size_t head = start - (uintptr_t)raw;
    size_t tail = padded - head - size;
    if (head)
        munmap(raw, head);
    if (tail)
        munmap((char *)start + size, tail);
    return (void *)start;
}

void *os_map_first_static(void *first, bool *first_taken, size_t size)
{
    if (*first_taken)
        return os_map_aligned(size, PAGE_SIZE);
    *first_taken = true;
    return first;
}

void os_unmap(void *p, size_t size)
{
    munmap(p, size);
}

void os_protect(void *p, size_t size, bool accessible)
{
    mprotect(p, size, accessible ? PROT_READ | PROT_WRITE : PROT_NONE);
}

/* mincore reports residency one byte per page; this many pages are examined per call
 * (a stack buffer of as many bytes). */
#define RESIDENCY_BATCH_PAGES 4096

/* Ranges below this are simply memset: up to 2 MiB, a mincore walk and an madvise cost
 * about as much as clearing the pages (about 1 us per call, 13 ns per page walked), so
 * memset is the cheapest exact way and also leaves the pages resident for the program. */
#define ZERO_BY_RESIDENCY_MIN_PAGES 512

/* Ranges at least this long are probed first: up to PROBE_WINDOWS windows of
 * PROBE_PAGES pages, the two at the ends first. When at most an eighth of the probed
 * pages are resident, the whole range is dropped with one MADV_DONTNEED, whose cost is
 * in proportion to the resident pages it finds; when all of them are, the whole range
 * is cleared with one memset; in between, a full mincore walk decides page by page.
 * When the two ends are already mostly not resident, the inner windows are not probed:
 * each probe is a system call (about 1.4 us here), and a buffer that was hardly
 * touched shows it at both ends. A verdict of "resident throughout", which clears the
 * whole range, always rests on all four windows: a block written only near its ends
 * must not be cleared, and so made resident, in full. A full mincore walk costs about
 * 13 ns a page wherever page tables exist (they stay after MADV_DONTNEED): 26 us for
 * 8 MiB, 3.4 ms for 1 GiB. */
#define PROBE_MIN_PAGES 1024
#define PROBE_WINDOWS 4
#define PROBE_PAGES 16

/* A resident run shorter than this is dropped with its neighbours rather than cleared
 * by itself: one madvise call costs about as much as dropping a few pages. */
#define MEMSET_RUN_MIN_PAGES 8

static size_t count_resident(const unsigned char *resident, size_t pages)
{
    size_t count = 0;
    for (size_t i = 0; i < pages; i++)
        count += resident[i] & 1;
    return count;
}

enum residency { MOSTLY_ABSENT, ALL_RESIDENT, MIXED };

static enum residency residency_of(size_t found, size_t probed)
{
    if (found * 8 <= probed)
        return MOSTLY_ABSENT;
    return found == probed ? ALL_RESIDENT : MIXED;
}

/* The residency of the probed windows: MOSTLY_ABSENT from the two end windows alone,
 * anything else from all four. ALL_RESIDENT when mincore fails, which sends the caller
 * to memset. */
static enum residency probe_residency(char *p, size_t pages)
{
    static const unsigned order[PROBE_WINDOWS] = {0, PROBE_WINDOWS - 1, 1, 2};
    unsigned char resident[PROBE_PAGES];
    size_t found = 0, probed = 0;
    for (unsigned i = 0; i < PROBE_WINDOWS; i++) {
        size_t first = (pages - PROBE_PAGES) / (PROBE_WINDOWS - 1) * order[i];
        if (mincore(p + (first << PAGE_SHIFT), PROBE_PAGES << PAGE_SHIFT, resident) != 0)
            return ALL_RESIDENT;
        found += count_resident(resident, PROBE_PAGES);
        probed += PROBE_PAGES;
        if (i == 1 && residency_of(found, probed) == MOSTLY_ABSENT)
            return MOSTLY_ABSENT;
    }
    return residency_of(found, probed);
}

void os_drop_pages(void *p, size_t size)
{
    if (size && madvise(p, size, MADV_DONTNEED) != 0)
        memset(p, 0, size);
}

size_t os_resident_pages(void *p, size_t pages)
{
    unsigned char resident[RESIDENCY_BATCH_PAGES];
    size_t count = 0;
    for (size_t first = 0; first < pages; first += RESIDENCY_BATCH_PAGES) {
        size_t batch = pages - first < RESIDENCY_BATCH_PAGES ? pages - first : RESIDENCY_BATCH_PAGES;
        if (mincore((char *)p + (first << PAGE_SHIFT), batch << PAGE_SHIFT, resident) != 0)
            count += batch;
        else
            count += count_resident(resident, batch);
    }
    return count;
}

/* The end of the run of pages in vec[from, to) whose residency is `resident`: the
 * first index that differs, or to. mincore's bytes are 0 or 1 (bit 0), so eight pages
 * are compared at a time. */
static size_t residency_run_end(const unsigned char *vec, size_t from, size_t to, bool resident)
{
    const uint64_t low_bits = 0x0101010101010101ull, same = resident ? low_bits : 0;
    while (from + 8 <= to) {
        uint64_t eight;
        memcpy(&eight, vec + from, sizeof eight);
        if ((eight & low_bits) != same)
            break;
        from += 8;
    }
    while (from < to && (vec[from] & 1) == resident)
        from++;
    return from;
}

/* Clears [base, base + pages) by residency. Runs of equal residency are gathered
 * across mincore batches, so that a long resident run is cleared by one memset (which
 * for tens of MiB switches to non-temporal stores, about twice as fast as clearing it
 * in cache-sized pieces); everything between long resident runs is dropped with one
 * MADV_DONTNEED per gap. */
static void zero_by_residency(char *base, size_t pages)
{
    unsigned char resident[RESIDENCY_BATCH_PAGES];
    size_t batch_first = 0, batch_pages = 0;
    size_t drop_from = 0;            /* start of the pending gap to drop */
    size_t run_from = 0;             /* start of the current resident run */
    bool in_run = false;
    for (size_t i = 0; i < pages;) {
        if (i == batch_first + batch_pages) {
            batch_first = i;
            batch_pages = pages - i < RESIDENCY_BATCH_PAGES ? pages - i : RESIDENCY_BATCH_PAGES;
            if (mincore(base + (i << PAGE_SHIFT), batch_pages << PAGE_SHIFT, resident) != 0)
                memset(resident, 1, batch_pages);      /* unknown: clear by memset */
        }
        bool is_resident = resident[i - batch_first] & 1;
        size_t end = batch_first + residency_run_end(resident, i - batch_first, batch_pages, is_resident);
        if (is_resident && !in_run) {
            run_from = i;
            in_run = true;
        } else if (!is_resident && in_run) {
            in_run = false;
            if (i - run_from >= MEMSET_RUN_MIN_PAGES) {
                os_drop_pages(base + (drop_from << PAGE_SHIFT), (run_from - drop_from) << PAGE_SHIFT);
                memset(base + (run_from << PAGE_SHIFT), 0, (i - run_from) << PAGE_SHIFT);
                drop_from = i;
            }
        }
        i = end;
    }
    if (in_run && pages - run_from >= MEMSET_RUN_MIN_PAGES) {
        os_drop_pages(base + (drop_from << PAGE_SHIFT), (run_from - drop_from) << PAGE_SHIFT);
        memset(base + (run_from << PAGE_SHIFT), 0, (pages - run_from) << PAGE_SHIFT);
        drop_from = pages;
    }
    os_drop_pages(base + (drop_from << PAGE_SHIFT), (pages - drop_from) << PAGE_SHIFT);
}

bool os_zero_pages(void *p, size_t size)
{
    size_t pages = size >> PAGE_SHIFT;
    if (pages < ZERO_BY_RESIDENCY_MIN_PAGES) {
        memset(p, 0, size);
        return false;
    }
    if (pages >= PROBE_MIN_PAGES) {
        enum residency residency = probe_residency(p, pages);
        if (residency == MOSTLY_ABSENT && madvise(p, size, MADV_DONTNEED) == 0)
            return true;                /* mostly not resident: drop it all */
        if (residency == ALL_RESIDENT) {
            memset(p, 0, size);         /* resident wherever probed: clear it all */
            return false;
        }
    }
    zero_by_residency(p, pages);
    return false;
}
