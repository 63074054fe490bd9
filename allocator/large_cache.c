/*
 * large_cache.c — per-thread caches of freed large spans (large_cache.h).
 */
#include "allocator/large_cache.h"

#include "allocator/config.h"
#include "allocator/log.h"
#include "allocator/release.h"
#include "allocator/thread_cache.h"
#include "central/page_heap.h"
#include "pagemap/pagemap.h"

/* The span of a cached block: it is in the heap, in use, and starts there. */
static struct span *span_of_block(const void *start)
{
    return pagemap_heap_span(page_of(start));
}

/* The bytes of the first `slots` cached spans. Relaxed atomic loads (plain moves), so
 * that statistics can read another thread's cache too. */
static size_t slots_bytes(const struct large_cache *cache, unsigned slots)
{
    size_t bytes = 0;
    for (unsigned i = 0; i < slots && i < LARGE_CACHE_SLOTS; i++)
        bytes += __atomic_load_n(&cache->slots[i].pages, __ATOMIC_RELAXED) << PAGE_SHIFT;
    return bytes;
}

size_t large_cache_bytes(const struct large_cache *cache)
{
    return slots_bytes(cache, __atomic_load_n(&cache->count, __ATOMIC_RELAXED));
}

/* older_bytes from the slots, after a slow path changed them. */
static void recount_older_bytes(struct large_cache *cache)
{
    cache->older_bytes = cache->count ? slots_bytes(cache, cache->count - 1) : 0;
}

/* Takes slot i out of the cache, keeping the others in age order. */
static struct span *remove_slot(struct large_cache *cache, unsigned i)
{
    struct large_cache_slot taken = cache->slots[i];
    for (unsigned j = i + 1; j < cache->count; j++)
        cache->slots[j - 1] = cache->slots[j];
    cache->count--;
    recount_older_bytes(cache);
    return span_of_block(taken.start);
}

static void evict_oldest(struct large_cache *cache)
{
    page_heap_free(remove_slot(cache, 0));
}

/* The newest span did not fit: the others, newest first (warmest in the CPU cache). */
static struct span *take_other(struct large_cache *cache, size_t pages)
{
    unsigned count = cache->count;
    for (unsigned i = count > 1 ? count - 1 : 0; i-- > 0;) {
        if (large_block_fits(cache->slots[i].pages, pages))
            return remove_slot(cache, i);
    }
    if (cache->count) {
        large_cache_empty(cache);
        release_tick();
    }
    return NULL;
}

struct span *large_cache_take(struct large_cache *cache, size_t pages)
{
    void *newest = large_cache_take_newest(cache, pages);
    return newest ? span_of_block(newest) : take_other(cache, pages);
}

struct span *large_cache_take_longest(struct large_cache *cache, size_t pages)
{
    unsigned longest = LARGE_CACHE_SLOTS;
    for (unsigned i = 0; i < cache->count; i++)
        if (cache->slots[i].pages >= pages &&
            (longest == LARGE_CACHE_SLOTS || cache->slots[i].pages > cache->slots[longest].pages))
            longest = i;
    if (longest == LARGE_CACHE_SLOTS)
        return NULL;
    return remove_slot(cache, longest);
}

void large_cache_report_double_free(const void *start)
{
    pagoda_fatal("free(): double free of %p (a large object already freed)", start);
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
                            large_cache_bytes(cache) + bytes > pagoda_config.thread_cache_bytes)) {
        evict_oldest(cache);
        evicted = true;
    }
    if (evicted)
        release_tick();             /* for the evicted spans (release.c) */
    size_t needed = large_cache_bytes(cache) + bytes;
    if (needed > cache->reserved) {
        if (!thread_cache_budget_take(needed - cache->reserved))
            return false;
        cache->reserved = needed;
    }
    return true;
}

void large_cache_put_slow(struct large_cache *cache, void *start, size_t pages)
{
    size_t bytes = pages << PAGE_SHIFT;
    if (!make_room(cache, bytes)) {
        page_heap_free(span_of_block(start));
        release_tick();
        return;
    }
    cache->slots[cache->count++] = (struct large_cache_slot){ start, pages };
    recount_older_bytes(cache);
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

void large_cache_tick(struct large_cache *cache)
{
    cache->puts_to_tick = LARGE_CACHE_TICK_PERIOD - 1;
    cache->ticks++;
    release_tick();
}

/* The puts the cache has had: at a tick puts_to_tick goes up by the period as ticks
 * goes up by one, so the count stays, and every put adds one. */
static unsigned puts_so_far(const struct large_cache *cache)
{
    return cache->ticks * LARGE_CACHE_TICK_PERIOD - (unsigned)cache->puts_to_tick;
}

void large_cache_scavenge(struct large_cache *cache)
{
    unsigned puts = puts_so_far(cache);
    if (puts == cache->puts_at_scavenge)
        large_cache_empty(cache);
    cache->puts_at_scavenge = puts;
}
