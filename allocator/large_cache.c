/*
 * large_cache.c — per-thread caches of freed large spans (large_cache.h).
 */
#include "allocator/large_cache.h"

#include "allocator/config.h"
#include "allocator/log.h"
#include "allocator/release.h"
#include "allocator/thread_cache.h"
#include "central/page_heap.h"

static size_t span_bytes(const struct span *span)
{
    return span->pages << PAGE_SHIFT;
}

/* Takes slot i out of the cache, keeping the others in age order. */
static struct span *remove_slot(struct large_cache *cache, unsigned i)
{
    struct span *span = cache->spans[i];
    for (unsigned j = i + 1; j < cache->count; j++)
        cache->spans[j - 1] = cache->spans[j];
    cache->count--;
    cache->bytes -= span_bytes(span);
    return span;
}

static void evict_oldest(struct large_cache *cache)
{
    page_heap_free(remove_slot(cache, 0));
}

/* The newest span did not fit: the others, newest first (warmest in the CPU cache). */
struct span *large_cache_take_other(struct large_cache *cache, size_t pages)
{
    unsigned count = cache->count;
    for (unsigned i = count > 1 ? count - 1 : 0; i-- > 0;) {
        if (large_block_fits(cache->spans[i]->pages, pages))
            return remove_slot(cache, i);
    }
    if (cache->count) {
        large_cache_empty(cache);
        release_tick();
    }
    return NULL;
}

struct span *large_cache_take_longest(struct large_cache *cache, size_t pages)
{
    unsigned longest = LARGE_CACHE_SLOTS;
    for (unsigned i = 0; i < cache->count; i++)
        if (cache->spans[i]->pages >= pages &&
            (longest == LARGE_CACHE_SLOTS || cache->spans[i]->pages > cache->spans[longest]->pages))
            longest = i;
    if (longest == LARGE_CACHE_SLOTS)
        return NULL;
    return remove_slot(cache, longest);
}

void large_cache_report_double_free(const struct span *span)
{
    pagoda_fatal("free(): double free of %p (a large object already freed)", span_start(span));
}

/* Evicts older spans until `bytes` more fit the cache's slots and the thread's budget,
 * and reserves what is missing of the process-wide one; false when the span cannot
 * fit. */
static bool make_room(struct large_cache *cache, size_t bytes)
{
    if (bytes > pagoda_config.thread_cache_bytes)
        return false;
    bool evicted = false;
    while (cache->count && (cache->count == LARGE_CACHE_SLOTS ||
                            cache->bytes + bytes > pagoda_config.thread_cache_bytes)) {
        evict_oldest(cache);
        evicted = true;
    }
    if (evicted)
        release_tick();             /* for the evicted spans (release.c) */
    size_t needed = cache->bytes + bytes;
    if (needed > cache->reserved) {
        if (!thread_cache_budget_take(needed - cache->reserved))
            return false;
        cache->reserved = needed;
    }
    return true;
}

void large_cache_put_slow(struct large_cache *cache, struct span *span)
{
    size_t bytes = span_bytes(span);
    if (!make_room(cache, bytes)) {
        page_heap_free(span);
        release_tick();
        return;
    }
    cache->spans[cache->count++] = span;
    cache->bytes += bytes;
    large_cache_count_operation(cache);
}

void large_cache_evict_all(struct large_cache *cache)
{
    while (cache->count)
        evict_oldest(cache);
}

void large_cache_empty(struct large_cache *cache)
{
    large_cache_evict_all(cache);
    thread_cache_budget_return_held(&cache->reserved);
}

void large_cache_scavenge(struct large_cache *cache)
{
    if (cache->operations == cache->operations_at_scavenge)
        large_cache_empty(cache);
    cache->operations_at_scavenge = cache->operations;
}
