/*
 * os_memory.c — mmap, madvise and mincore behind the small interface in
 * os_memory.h. Nothing here takes a lock or allocates.
 */
#include "central/os_memory.h"

#include "allocator/common.h"

#include <string.h>
#include <sys/mman.h>

void *os_map_aligned(size_t size, size_t alignment)
{
    /* Over-map by the alignment, then unmap the misaligned head and the unused tail. */
    size_t padded = size + alignment;
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

void os_unmap(void *p, size_t size)
{
    munmap(p, size);
}

int os_release(void *p, size_t size)
{
    return madvise(p, size, MADV_DONTNEED);
}

/* mincore reports residency one byte per page; this many pages are examined per call. */
#define RESIDENCY_BATCH_PAGES 4096

/* Smaller ranges are simply memset: a mincore call costs about as much as clearing
 * a few pages. */
#define ZERO_BY_RESIDENCY_MIN_PAGES 64

void os_zero_pages(void *p, size_t size)
{
    size_t pages = size >> PAGE_SHIFT;
    if (pages < ZERO_BY_RESIDENCY_MIN_PAGES) {
        memset(p, 0, size);
        return;
    }
    unsigned char resident[RESIDENCY_BATCH_PAGES];
    char *base = p;
    for (size_t done = 0; done < pages;) {
        size_t batch = pages - done < RESIDENCY_BATCH_PAGES ? pages - done : RESIDENCY_BATCH_PAGES;
        char *chunk = base + (done << PAGE_SHIFT);
        if (mincore(chunk, batch << PAGE_SHIFT, resident) != 0) {
            memset(chunk, 0, batch << PAGE_SHIFT);
            done += batch;
            continue;
        }
        /* Walk runs of equal residency: memset resident runs, drop the others. */
        for (size_t i = 0; i < batch;) {
            int is_resident = resident[i] & 1;
            size_t j = i + 1;
            while (j < batch && (resident[j] & 1) == is_resident)
                j++;
            char *run = chunk + (i << PAGE_SHIFT);
            size_t run_bytes = (j - i) << PAGE_SHIFT;
            if (is_resident || madvise(run, run_bytes, MADV_DONTNEED) != 0)
                memset(run, 0, run_bytes);
            i = j;
        }
        done += batch;
    }
}
