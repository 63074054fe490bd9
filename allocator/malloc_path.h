/*
 * malloc_path.h — the allocation hit path shared by the entry points: a size below
 * the small limit takes a class and the thread cache's list; anything else (a large
 * request, or any request before start-up, when the limit is 0) goes to
 * malloc_slow_path.
 */
#ifndef PAGODA_MALLOC_PATH_H
#define PAGODA_MALLOC_PATH_H

#include "allocator/thread_cache.h"

void *malloc_slow_path(size_t size);

static ALWAYS_INLINE void *malloc_inline(size_t size)
{
    if (likely(size < size_class_small_limit))
        return thread_cache_alloc(size_class_of(size));
    return malloc_slow_path(size);
}

#endif /* PAGODA_MALLOC_PATH_H */
