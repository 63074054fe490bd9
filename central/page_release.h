/*
 * page_release.h — giving pages back to the OS, the one way both the page heap (free
 * spans) and the central lists (free pages of partly used spans) do it. A release pass
 * queues ranges, whose dirty runs (by the pagemap's dirty bits) go to the kernel in
 * batches (os_release.h); the runs the kernel took with MADV_DONTNEED are marked clean,
 * since they read as zero now, while with MADV_FREE the kernel may keep their data
 * until it needs the memory, so they stay dirty. The advice is PAGODA_MADVISE's.
 *
 * The pass must hold the lock that keeps the queued pages free from page_release_begin
 * to page_release_finish: the pages are only given back, and marked clean, at a flush.
 */
#ifndef PAGODA_PAGE_RELEASE_H
#define PAGODA_PAGE_RELEASE_H

#include "central/os_release.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct page_release_batch {
    struct os_release_batch queued;
    size_t released;           /* pages the kernel has taken since begin */
};

/* Whether released pages read as zero afterwards (MADV_DONTNEED), so that they are
 * clean; with MADV_FREE they stay dirty. */
bool page_release_zeroes(void);

void page_release_begin(struct page_release_batch *batch);

/* Queues the dirty runs of [first, first + count), pages that must hold nothing anyone
 * needs; a full batch is given back at once. */
void page_release_queue(struct page_release_batch *batch, uintptr_t first, size_t count);

/* Gives back what is still queued; returns the pages the kernel took since begin. */
size_t page_release_finish(struct page_release_batch *batch);

#endif /* PAGODA_PAGE_RELEASE_H */
