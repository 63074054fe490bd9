/*
 * large.h — objects above the largest size class: whole page-heap spans, one per
 * object, whose first page is the object's address.
 */
#ifndef PAGODA_LARGE_H
#define PAGODA_LARGE_H

#include "allocator/debug.h"
#include "central/span.h"
#include "pagemap/pagemap.h"

#include <stdbool.h>

/* A large object of at least size bytes, aligned to `alignment` (0 or a power of two;
 * pages are always page-aligned); zeroed when `zero`. NULL + ENOMEM on failure. */
void *large_alloc(size_t size, size_t alignment, bool zero);

/* large_alloc(size, 0, false) for malloc, once pagoda has started: its cache hit
 * path. */
void *large_malloc(size_t size);

/* A large object of at least size bytes placed where it has room to grow in place:
 * for realloc. NULL + ENOMEM on failure. */
void *large_alloc_for_growth(size_t size);

/* The span of the large object starting at p, or NULL when p is not one. */
static inline struct span *large_span_of(const void *p)
{
    if ((uintptr_t)p & PAGE_MASK)
        return NULL;
    struct span *span = pagemap_span(page_of(p));
    if (!span || span->state != SPAN_LARGE || span->first_page != page_of(p))
        return NULL;
    return span;
}

/* Stops the process with a message naming p, which is no object of pagoda's. */
void report_invalid_pointer(const char *function, const void *p) __attribute__((noreturn, cold));

/* The object's usable bytes: the span, less its guard page in the debug mode. */
static inline size_t large_usable_size(const struct span *span)
{
    return (span->pages - pagoda_debug.guard) << PAGE_SHIFT;
}

void large_free(struct span *span);

/* Resizes in place when it can: shrinking always (freeing the tail only when the
 * object needs less than half the block), growing when the following pages are free (with
 * headroom, when they are). Returns false when the object must move. */
bool large_resize_in_place(struct span *span, size_t size);

#endif /* PAGODA_LARGE_H */
