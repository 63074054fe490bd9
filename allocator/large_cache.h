/*
 * large_cache.h — a few freed large objects kept by each thread, so that a program
 * that frees and allocates large blocks of the same size again and again (buffers,
 * I/O blocks, per-request arenas) reuses them without the page-heap lock, without
 * splitting and coalescing spans, and without touching the pagemap.
 *
 * A thread's large cache holds at most LARGE_CACHE_SLOTS spans and at most
 * PAGODA_THREAD_CACHE_BYTES of them (on top of its small lists). Like a list's
 * capacity, the cache reserves its bytes from the process-wide
 * PAGODA_TOTAL_THREAD_CACHE_BYTES as it grows and keeps the reservation until it is
 * emptied, so that taking and putting back a span touches no shared counter.
 * A request takes a cached span of exactly its page count or up to an eighth more;
 * when nothing cached fits, the cache is emptied into the page heap (what it holds is
 * the wrong size for what the thread does now, and the page heap can merge it with its
 * neighbours). Spans in a cache stay "large, in use" in the page heap's eyes. The
 * owning thread alone touches its cache; it is emptied at thread exit, by a drain
 * request, and at a scavenge that finds no put since the last one. Every
 * LARGE_CACHE_TICK_PERIOD-th put (and the first) gives the release passes their tick,
 * as slow paths do: a thread that only reuses cached blocks still lets idle memory
 * elsewhere go back, without a clock read per call.
 */
#ifndef PAGODA_LARGE_CACHE_H
#define PAGODA_LARGE_CACHE_H

#include "allocator/calloc_habit.h"
#include "allocator/common.h"
#include "allocator/release.h"
#include "central/span.h"

#include <stdbool.h>

#define LARGE_CACHE_SLOTS 8

/* A cached span, by its start and length: a take returns the start without reading
 * the span, and a put stores the address free was given. Neither puts a load of the
 * span (or of the pagemap, for a put) between one call's result and the next call's:
 * a malloc/free pair of 64 KiB took 5.6 ns holding span pointers, 4.4-4.5 ns so
 * (Intel Xeon). */
struct large_cache_slot {
    void *start;
    size_t pages;
};

struct large_cache {
    struct large_cache_slot slots[LARGE_CACHE_SLOTS];   /* oldest first */
    unsigned count;
    /* Requests and spans of at most this many bytes try the cache on the hit paths
     * (large_malloc, large_free): PAGODA_THREAD_CACHE_BYTES in a real cache outside
     * the debug mode, 0 in the static caches, whose calls so fall through to the slow
     * paths. One compare stands for "has a real cache, not debugging, and fits". */
    size_t hit_limit;
    int puts_to_tick;        /* puts left before the next release tick, counting down
                                (a read-modify-write and a sign test on the hit path);
                                0 in a new cache, so that its first put ticks */
    unsigned ticks;          /* given so far: with puts_to_tick, the count of puts */
    unsigned puts_at_scavenge;
    /* The bytes of the cached spans but the newest (0 with fewer than two): a put
     * into an empty cache and the take that empties it again, the cycle of a program
     * that frees and allocates one block over and over, neither read nor write it.
     * With a running total of all the cached bytes each of them read the other's
     * store. That and the count of puts below (which counted up, and was tested
     * modulo the period) took a 64 KiB pair 3.98 ns in paired runs of
     * large_malloc/65536, against 3.76 ns now (Intel Xeon). */
    size_t older_bytes;
    size_t reserved;         /* of the process-wide budget; >= the cached bytes */
    struct calloc_habit calloc_habit;    /* how calloc clears the spans it reuses */
};

/* The slow half of put, below; it is given a block not in the cache. */
void large_cache_put_slow(struct large_cache *cache, void *start, size_t pages);
/* Stops the process: the block at start was freed twice. It never returns, but is
 * declared as if it could, so that large_cache_put's call to it is a jump and free's
 * large path needs no stack frame (a call to a noreturn function is a call, made with
 * the stack aligned). */
void large_cache_report_double_free(const void *start) __attribute__((cold));

/* &cache->slots[index] in a register, so that a put's stores and the next take's loads
 * name the slot the same simple way: on Intel cores a scaled-index operand delays
 * forwarding the store to the load (thread_cache_head_slot, thread_cache.h). A large
 * object's malloc/free pair: 6.9-7.0 -> 6.4-6.5 ns on an Intel Xeon. */
static ALWAYS_INLINE struct large_cache_slot *large_cache_slot(struct large_cache *cache, unsigned index)
{
    struct large_cache_slot *slot = &cache->slots[index];
    __asm__("" : "+r"(slot));
    return slot;
}

#define LARGE_CACHE_TICK_PERIOD 64

/* Gives the release passes their tick and starts the next period (large_cache.c). */
void large_cache_tick(struct large_cache *cache);

/* Every LARGE_CACHE_TICK_PERIOD-th put (and the first) gives the release passes their
 * tick; the count also tells large_cache_scavenge the cache was used. Takes are not
 * counted: each taken span was put first, and a cache only taken from empties
 * itself. */
static inline void large_cache_count_operation(struct large_cache *cache)
{
    if (unlikely(--cache->puts_to_tick < 0))
        large_cache_tick(cache);
}

/* The bytes of cached slot `index`. */
static inline size_t large_cache_slot_bytes(struct large_cache *cache, unsigned index)
{
    return large_cache_slot(cache, index)->pages << PAGE_SHIFT;
}

/* The start of the newest cached span when it fits a request of `pages` pages, or
 * NULL: a program that frees and allocates one block over and over finds it there,
 * and pays neither a scan nor a shift of the others. */
static inline void *large_cache_take_newest(struct large_cache *cache, size_t pages)
{
    unsigned count = cache->count;
    if (likely(count)) {
        struct large_cache_slot *newest = large_cache_slot(cache, count - 1);
        if (likely(large_block_fits(newest->pages, pages))) {
            cache->count = count - 1;
            if (unlikely(count > 1))        /* the next newest leaves older_bytes */
                cache->older_bytes -= large_cache_slot_bytes(cache, count - 2);
            return newest->start;
        }
    }
    return NULL;
}

/* A cached span that fits a request of `pages` pages, or NULL: the newest, else the
 * others, newest first. */
struct span *large_cache_take(struct large_cache *cache, size_t pages);

/* The longest cached span of at least `pages` pages, or NULL: for an object that is to
 * grow (its memory is resident, and it has room). */
struct span *large_cache_take_longest(struct large_cache *cache, size_t pages);

/* Keeps a freed large span, given by its start and length, or gives it to the page
 * heap when it does not fit the budgets. Older spans may go back to the page heap to
 * make room. Inline when a slot is free and the bytes are within what the cache has
 * already reserved of the process-wide budget (reserved never exceeds the thread's
 * budget). The double-free scan is laid out apart, so that a put into an empty cache
 * (a program that frees and allocates one block over and over) runs straight
 * through. */
static inline void large_cache_put(struct large_cache *cache, void *start, size_t pages)
{
    unsigned count = cache->count;
    size_t older_bytes = 0;             /* as they will be: the newest joins them */
    if (unlikely(count)) {
        for (unsigned i = 0; i < count; i++) {
            if (unlikely(cache->slots[i].start == start)) {
                large_cache_report_double_free(start);
                return;
            }
        }
        older_bytes = cache->older_bytes + large_cache_slot_bytes(cache, count - 1);
    }
    if (unlikely(count == LARGE_CACHE_SLOTS || older_bytes + (pages << PAGE_SHIFT) > cache->reserved)) {
        large_cache_put_slow(cache, start, pages);
        return;
    }
    struct large_cache_slot *slot = large_cache_slot(cache, count);
    slot->start = start;
    slot->pages = pages;
    cache->count = count + 1;
    if (unlikely(count))
        cache->older_bytes = older_bytes;
    large_cache_count_operation(cache);
}

/* The bytes of all the cached spans: exact in the owning thread, approximate from
 * another (statistics) while the owner runs. */
size_t large_cache_bytes(const struct large_cache *cache);

/* Returns every cached span to the page heap, keeping the cache's reservation of the
 * process-wide budget. */
void large_cache_evict_all(struct large_cache *cache);

/* Returns every cached span to the page heap and the reservation to the budget. */
void large_cache_empty(struct large_cache *cache);

/* Empties the cache unless it was used since the previous call. */
void large_cache_scavenge(struct large_cache *cache);

#endif /* PAGODA_LARGE_CACHE_H */
