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
 * request, and at a scavenge that finds it unused since the last one. Every
 * RELEASE_TICK_PERIOD-th operation (and the first) gives the release passes their
 * tick, as slow paths do: a thread that only reuses cached blocks still lets idle
 * memory elsewhere go back, without a clock read per call.
 */
#ifndef PAGODA_LARGE_CACHE_H
#define PAGODA_LARGE_CACHE_H

#include "central/span.h"

#include <stdbool.h>

#define LARGE_CACHE_SLOTS 8

struct large_cache {
    struct span *spans[LARGE_CACHE_SLOTS];   /* oldest first */
    unsigned count;
    bool used_since_scavenge;
    unsigned operations;     /* takes and puts, to pace release ticks */
    size_t bytes;            /* in the cached spans */
    size_t reserved;         /* of the process-wide budget; >= bytes */
};

/* A cached span that fits a request of `pages` pages, or NULL. */
struct span *large_cache_take(struct large_cache *cache, size_t pages);

/* The longest cached span of at least `pages` pages, or NULL: for an object that is to
 * grow (its memory is resident, and it has room). */
struct span *large_cache_take_longest(struct large_cache *cache, size_t pages);

/* Keeps a freed large span; false when it does not fit the budgets (the caller then
 * frees it to the page heap). Older spans may go back to the page heap to make room. */
bool large_cache_put(struct large_cache *cache, struct span *span);

/* Returns every cached span to the page heap. */
void large_cache_empty(struct large_cache *cache);

/* Empties the cache unless it was used since the previous call. */
void large_cache_scavenge(struct large_cache *cache);

#endif /* PAGODA_LARGE_CACHE_H */
