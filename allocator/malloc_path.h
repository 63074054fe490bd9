/*
 * malloc_path.h — the allocation hit path shared by the entry points: a size below
 * malloc_fast_path_limit takes a class and the thread cache's list; anything else goes
 * to malloc_slow_path: a large request, or any request before start-up or in the debug
 * mode, when the limit is 0.
 */
#ifndef PAGODA_MALLOC_PATH_H
#define PAGODA_MALLOC_PATH_H

#include "allocator/thread_cache.h"

/* size_class_small_limit once started, unless the debug mode is on; 0 until then.
 * Read with acquire (a plain load on x86), pairing with start-up's release store. */
extern size_t malloc_fast_path_limit HIDDEN;

static ALWAYS_INLINE size_t malloc_fast_limit(void)
{
    return __atomic_load_n(&malloc_fast_path_limit, __ATOMIC_ACQUIRE);
}

void *malloc_slow_path(size_t size);

static ALWAYS_INLINE void *malloc_inline(size_t size)
{
    if (likely(size < malloc_fast_limit()))
        return thread_cache_alloc(size_class_of(size));
    return malloc_slow_path(size);
}

#endif /* PAGODA_MALLOC_PATH_H */
