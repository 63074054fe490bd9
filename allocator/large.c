/*
 * large.c — large objects (large.h), and the zeroing rule that is pagoda's first
 * lesson: calloc never writes zeros over memory known to be zero. The page heap says
 * which pages of a span may hold old data (page_heap_next_dirty_run); only those are
 * cleared, and
 * os_zero_pages clears them at a cost in proportion to their resident pages.
 */
#include "allocator/large.h"

#include "allocator/config.h"
#include "allocator/debug.h"
#include "allocator/init.h"
#include "allocator/log.h"
#include "allocator/release.h"
#include "allocator/thread_cache.h"
#include "central/large_spare.h"
#include "central/os_memory.h"
#include "central/page_heap.h"
#include "pagemap/pagemap.h"

#include <errno.h>
#include <string.h>

static void zero_dirty_pages(const struct span *span)
{
    uintptr_t page = span->first_page;
    size_t run;
    while (page_heap_next_dirty_run(span, &page, &run)) {
        os_zero_pages(page_address(page), run << PAGE_SHIFT);
        page += run;
    }
}

/* Whether a span of `pages` pages fits a thread's large cache. A longer one is never
 * asked of it (nothing there could fit, and a request that fits nothing empties the
 * cache); it goes to the process's spare instead, unless freed memory is to go back
 * to the OS at once (PAGODA_RELEASE_DELAY_MS=0), when there is no spare. */
static bool fits_thread_caches(size_t pages)
{
    return (pages << PAGE_SHIFT) <= pagoda_config.thread_cache_bytes;
}

/* A span from the calling thread's large cache, which *cache is then set to, or from
 * the spare for a span too long for that (*cache NULL), or NULL. Not in the debug
 * mode, whose checks live on the page-heap path. */
static struct span *take_cached(size_t pages, size_t alignment, struct thread_cache **cache)
{
    *cache = NULL;
    if (alignment > PAGE_SIZE || pagoda_debug.enabled)
        return NULL;
    if (!fits_thread_caches(pages))
        return pagoda_config.release_delay_ms ? large_spare_take(pages) : NULL;
    *cache = thread_cache_for_slow_path();
    return *cache ? large_cache_take(&(*cache)->large, pages) : NULL;
}

/* The spare is cleared by residency (os_zero_pages), which probes it with mincore
 * first (two system calls for a block barely touched). Once a probe has found it
 * mostly absent and dropped it, the next SPARE_DROP_PROBE_PERIOD - 1 reuses drop it
 * without a probe, as a thread's calloc habit does with its own blocks: a program that
 * callocs huge blocks and touches a few pages of each (sparse tables, buffers sized
 * for the worst case) pays one madvise per calloc. Threads taking spares in turn share
 * the count; a lost update costs or saves one probe. */
#define SPARE_DROP_PROBE_PERIOD 8

static unsigned spare_drops_left;

static void clear_spare(struct span *span)
{
    void *start = span_start(span);
    size_t bytes = span->pages << PAGE_SHIFT;
    unsigned left = __atomic_load_n(&spare_drops_left, __ATOMIC_RELAXED);
    if (left) {
        __atomic_store_n(&spare_drops_left, left - 1, __ATOMIC_RELAXED);
        os_drop_pages(start, bytes);
        return;
    }
    if (os_zero_pages(start, bytes))
        __atomic_store_n(&spare_drops_left, SPARE_DROP_PROBE_PERIOD - 1, __ATOMIC_RELAXED);
}

/* Clears a span take_cached gave, for calloc. Its dirty bits are stale (the program
 * wrote to it): one from a thread's large cache is cleared as the thread's calloc
 * habit says (calloc_habit.h), the spare as above. */
static void clear_reused(struct span *span, struct thread_cache *cache)
{
    if (cache)
        calloc_habit_clear(&cache->large.calloc_habit, span_start(span), span->pages);
    else
        clear_spare(span);
}

NOINLINE void *large_malloc_miss(size_t size)
{
    pagoda_ensure_initialized();
    if (size < size_class_small_limit)
        return thread_cache_alloc_miss(size_class_of(size));
    return large_alloc(size, 0, false);     /* it tries the other cached spans */
}

void *large_alloc(size_t size, size_t alignment, bool zero)
{
    pagoda_ensure_initialized();
    if (unlikely(size > MAX_REQUEST_SIZE || alignment > MAX_REQUEST_SIZE)) {
        errno = ENOMEM;
        return NULL;
    }
    size_t pages = (size ? pages_for(size) : 1) + pagoda_debug.guard;
    struct thread_cache *cache;
    struct span *cached = take_cached(pages, alignment, &cache);
    if (cached) {
        if (zero)
            clear_reused(cached, cache);
        return span_start(cached);
    }
    struct span *span = alignment > PAGE_SIZE ? page_heap_alloc_aligned(pages, alignment >> PAGE_SHIFT)
                                              : page_heap_alloc(pages, 0);
    if (unlikely(!span)) {
        errno = ENOMEM;
        return NULL;
    }
    if (zero)
        zero_dirty_pages(span);
    if (pagoda_debug.guard)
        os_protect(page_address(span_last_page(span)), PAGE_SIZE, false);
    return span_start(span);
}

/* A block freed into the thread's large cache is resident: reused for the growing
 * object and cut to size, its tail going back to the page heap, where it stays free
 * for the object to grow into. Otherwise the front of the longest free span. (Called
 * by realloc, so pagoda has started.) */
void *large_alloc_for_growth(size_t size)
{
    if (pagoda_debug.enabled || size > MAX_REQUEST_SIZE)   /* its checks, or its error */
        return large_alloc(size, 0, false);
    size_t pages = pages_for(size);
    struct thread_cache *cache = thread_cache_for_slow_path();
    struct span *span = cache ? large_cache_take_longest(&cache->large, pages) : NULL;
    if (span) {
        if (span->pages > pages) {
            page_heap_shrink(span, pages);
            release_note_free();
        }
        return span_start(span);
    }
    span = page_heap_alloc_for_growth(pages);
    if (unlikely(!span)) {
        errno = ENOMEM;
        return NULL;
    }
    return span_start(span);
}

void report_invalid_pointer(const char *function, const void *p)
{
    struct span *span = pagemap_span(page_of(p));
    if (span && span->state == SPAN_FREE && page_of(p) >= span->first_page &&
        page_of(p) <= span_last_page(span))
        pagoda_fatal("%s(): double free of %p (its pages are already free)", function, p);
    pagoda_fatal("%s(): invalid pointer %p", function, p);
}

void report_invalid_free(const void *p)
{
    report_invalid_pointer("free", p);
}

/* Everything large_free's hit path leaves: a span over the hit limit, a thread
 * without a real cache yet (or asked to drain it), the debug mode. free() must not
 * change errno: nothing here makes a system call that could, but the debug mode's
 * mprotect (release_tick keeps errno itself). */
NOINLINE void large_free_slow(struct span *span)
{
    if (!pagoda_debug.enabled) {
        if (fits_thread_caches(span->pages)) {
            struct thread_cache *cache = thread_cache_for_slow_path();
            if (cache) {
                large_cache_put(&cache->large, span_start(span), span->pages);
                return;
            }
        } else if (pagoda_config.release_delay_ms) {
            span = large_spare_put(span);       /* the spare it displaces goes on */
            if (!span)
                return;
        }
    }
    if (pagoda_debug.guard) {
        int saved_errno = errno;
        os_protect(page_address(span_last_page(span)), PAGE_SIZE, true);
        errno = saved_errno;
    }
    if (pagoda_debug.poison)
        memset(span_start(span), DEBUG_FREED_BYTE, large_usable_size(span));
    page_heap_free(span);
    release_tick();
}

/* Growth in place takes half as many pages again as the block had, where they are
 * free, so that a block grown a little at a time (a buffer appended to) moves its end
 * only every so often. Shrinking frees the tail only below half the block (the rule
 * small objects follow too), so that the headroom survives the next request, which is
 * about two thirds of the grown block. */
bool large_resize_in_place(struct span *span, size_t size)
{
    if (pagoda_debug.guard)        /* the guard page would end up inside the object */
        return false;
    size_t pages = pages_for(size);
    if (pages <= span->pages) {
        if (pages < span->pages / 2) {
            page_heap_shrink(span, pages);
            release_tick();
        }
        return true;
    }
    size_t with_headroom = span->pages + span->pages / 2;
    if (with_headroom > pages && page_heap_try_extend(span, with_headroom))
        return true;
    return page_heap_try_extend(span, pages);
}
