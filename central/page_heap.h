/*
 * page_heap.h — the back end: spans of whole 4 KiB pages, carved from memory mapped
 * from the OS, split on allocation and coalesced with free neighbours on free.
 *
 * Free spans of 1..127 pages sit on exact-length lists (a bitmap finds the shortest
 * non-empty list that fits in O(1)); longer ones sit on one list searched best-fit.
 * One lock guards it all; lock order: a central list's lock may be held when this one
 * is taken, never the reverse (docs/design.md).
 */
#ifndef PAGODA_PAGE_HEAP_H
#define PAGODA_PAGE_HEAP_H

#include "central/span.h"

#include <stdbool.h>

/* A span of `pages` pages, in use as a large object (size_class 0) or cut into
 * objects of size_class; the pagemap is updated for it. NULL when the OS refuses
 * memory. */
struct span *page_heap_alloc(size_t pages, unsigned size_class);

/* A large-object span cut from the front of the longest free span, for an object
 * expected to grow in place (page_heap_try_extend): best fit would put it where it
 * has no room. */
struct span *page_heap_alloc_for_growth(size_t pages);

/* A large-object span whose first page is a multiple of align_pages (a power of two). */
struct span *page_heap_alloc_aligned(size_t pages, size_t align_pages);

/* Walks the pages of span that may be dirty (not known to read as zero): for a span
 * just taken from the page heap, or a free one under the page heap's lock. From *page
 * (a page of the span), finds the next dirty run: sets *page to its start, *count to
 * its length and returns true, or returns false when there is none. */
bool page_heap_next_dirty_run(const struct span *span, uintptr_t *page, size_t *count);

/* Takes back an in-use span (large or small); its pages become dirty free pages. */
void page_heap_free(struct span *span);

/* Grows a large span in place to new_pages when the pages after it are free. */
bool page_heap_try_extend(struct span *span, size_t new_pages);

/* Shrinks a large span in place to new_pages (< span->pages), freeing the tail. */
void page_heap_shrink(struct span *span, size_t new_pages);

/* Returns to the OS the dirty pages of every free span that has been free since
 * idle_before_ms (a clock_ms time) or earlier; the result is in bytes. Sets *waiting
 * (and leaves it alone otherwise) when a span not yet released was freed later. */
size_t page_heap_release_idle(uint64_t idle_before_ms, bool *waiting);


struct page_heap_stats {
    size_t mapped_bytes;        /* address space taken from the OS for spans */
    size_t free_bytes;          /* in free spans */
    size_t free_dirty_bytes;    /* of which possibly resident */
    size_t large_in_use_bytes;  /* in SPAN_LARGE spans */
    size_t released_total_bytes;  /* given back to the OS so far, all told */
};
void page_heap_get_stats(struct page_heap_stats *stats);

/* The address space the heap has mapped (it never shrinks), without the lock. */
size_t page_heap_mapped_bytes(void);

void page_heap_lock_for_fork(void);
void page_heap_unlock_after_fork(int in_child);

#endif /* PAGODA_PAGE_HEAP_H */
