/*
 * large.h — objects above the largest size class: whole page-heap spans, one per
 * object, whose first page is the object's address.
 */
#ifndef PAGODA_LARGE_H
#define PAGODA_LARGE_H

#include "allocator/debug.h"
#include "allocator/thread_cache.h"
#include "central/span.h"
#include "pagemap/pagemap.h"

#include <stdbool.h>

/* A large object of at least size bytes, aligned to `alignment` (0 or a power of two;
 * pages are always page-aligned); zeroed when `zero`. NULL + ENOMEM on failure. */
void *large_alloc(size_t size, size_t alignment, bool zero);

/* What large_malloc's hit path leaves (large.c): it starts pagoda if need be and
 * sends a small size (one before start-up, or any in the debug mode) to its list. */
void *large_malloc_miss(size_t size);

/* malloc of a size malloc's hit path has no list for: the newest span in the thread's
 * large cache when it fits, with nothing to zero, align or guard; the rest is
 * large_malloc_miss's. The hit limit (large_cache.h) is 0 in the static caches, the
 * only ones a thread has before start-up, and also keeps pages_for from overflowing.
 * Inline, so that malloc's miss reaches the cache without one more jump. */
static ALWAYS_INLINE void *large_malloc(size_t size)
{
    struct large_cache *cache = &thread_cache_of_this_thread()->large;
    if (likely(size <= cache->hit_limit)) {
        void *block = large_cache_take_newest(cache, pages_for(size));
        if (likely(block))
            return block;
    }
    return large_malloc_miss(size);
}

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
/* report_invalid_pointer("free", p), declared as if it returned, for the reason
 * large_cache_report_double_free is (large_cache.h). */
void report_invalid_free(const void *p) __attribute__((cold));

/* The object's usable bytes: the span, less its guard page in the debug mode. */
static inline size_t large_usable_size(const struct span *span)
{
    return (span->pages - pagoda_debug.guard) << PAGE_SHIFT;
}

/* Everything free_large_object's hit path leaves (large.c). */
void large_free_slow(struct span *span);

/* free() of a large object, from thread_cache_free_overflow: p's page has the class
 * byte SIZE_CLASS_LARGE_HEAD, so it is the first page of an in-use large span, and
 * only an address inside it but past its start is still to refuse. The hit path puts
 * the span into the large cache of `cache`, the calling thread's cache that free's
 * hit path has already found. Inline, so that free's large path runs in one function
 * without a frame. (errno is left alone, as free must: large_free_slow keeps it.) */
static ALWAYS_INLINE void free_large_object(void *p, struct thread_cache *cache)
{
    if (unlikely((uintptr_t)p & PAGE_MASK)) {
        report_invalid_free(p);
        return;
    }
    struct span *span = pagemap_heap_span(page_of(p));
    if (likely((span->pages << PAGE_SHIFT) <= cache->large.hit_limit))
        large_cache_put(&cache->large, p, span->pages);
    else
        large_free_slow(span);
}

/* Resizes in place when it can: shrinking always (freeing the tail only when the
 * object needs less than half the block), growing when the following pages are free (with
 * headroom, when they are). Returns false when the object must move. */
bool large_resize_in_place(struct span *span, size_t size);

#endif /* PAGODA_LARGE_H */
