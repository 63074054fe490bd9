/*
 * malloc_path.h — the allocation hit path shared by the entry points.
 *
 * malloc first compares the size with the fast-path limit: the largest small size
 * once pagoda has started, 0 before and in the debug mode. A small size takes its
 * class from the lookup table and an object from the thread's list; everything else
 * (large requests, and any request before start-up or while debugging) goes to the
 * large objects' hit path (large.h), whose miss tells them apart. So a large request
 * reads neither the class table nor a list it has no class for.
 */
#ifndef PAGODA_MALLOC_PATH_H
#define PAGODA_MALLOC_PATH_H

#include "allocator/large.h"
#include "allocator/thread_cache.h"

/* size_class_small_limit once started, unless the debug mode is on; 0 until then.
 * Read with acquire (a plain load on x86), pairing with start-up's release store;
 * calloc uses it to tell requests it clears itself from those the page heap clears. */
extern size_t malloc_fast_path_limit HIDDEN;

static ALWAYS_INLINE size_t malloc_fast_limit(void)
{
    return __atomic_load_n(&malloc_fast_path_limit, __ATOMIC_ACQUIRE);
}

/* Whether size < malloc_fast_path_limit: a small request, with pagoda started and not
 * debugging. On x86-64 one compare with the variable in memory, an acquire load as
 * every x86 load is, and a compiler barrier for the reads after it; loading it into a
 * register first, as an atomic load compiles to, costs malloc's hit path two
 * instructions (44 and 46 a pair, over the budget of 45). */
static ALWAYS_INLINE bool malloc_size_is_small(size_t size)
{
#if defined(__x86_64__)
    bool below;
    __asm__("cmp %[limit], %[size]" : "=@ccb"(below) : [limit] "m"(malloc_fast_path_limit), [size] "r"(size) : "memory");
    return below;
#else
    return size < malloc_fast_limit();
#endif
}

/* free() of NULL or of an invalid pointer (class byte 0). */
void free_slow_path(void *p);

/* The hit path proper (thread_cache.h describes the lists). An empty list goes to its
 * slow path, which refills it. The large objects' hit path is inline, laid out after
 * the small one's return, and every way out is a tail call, so neither path sets up a
 * stack frame. Testing the limit first, rather than finding the list of class 0
 * empty, took a 64 KiB malloc/free pair from 4.4-4.5 to 3.9-4.0 ns (Intel Xeon). */
static ALWAYS_INLINE void *malloc_inline(size_t size)
{
    if (likely(malloc_size_is_small(size)))
        return thread_cache_alloc(size_class_of(size));
    return large_malloc(size);
}

#endif /* PAGODA_MALLOC_PATH_H */
