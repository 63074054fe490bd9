/*
 * malloc_path.h — the allocation hit path shared by the entry points.
 *
 * malloc compares the size with a constant, the largest small limit any tuning can
 * set, and takes the class from the lookup table, which holds 0 for every size above
 * the active table's largest class (and everywhere before start-up). Class 0 has no
 * list, so such a request misses into malloc_miss, which sends it to the large
 * objects' path (large.h). Nothing on the hit path reads a variable limit: start-up,
 * the debug mode and tuning all act through the table and the lists.
 */
#ifndef PAGODA_MALLOC_PATH_H
#define PAGODA_MALLOC_PATH_H

#include "allocator/thread_cache.h"

/* size_class_small_limit once started, unless the debug mode is on; 0 until then.
 * Read with acquire (a plain load on x86), pairing with start-up's release store;
 * calloc uses it to tell requests it clears itself from those the page heap clears. */
extern size_t malloc_fast_path_limit HIDDEN;

static ALWAYS_INLINE size_t malloc_fast_limit(void)
{
    return __atomic_load_n(&malloc_fast_path_limit, __ATOMIC_ACQUIRE);
}

/* Requests above every small size. */
void *malloc_slow_path(size_t size);
/* A request of a small size that found its list empty, or of a size with no class. */
void *malloc_miss(size_t size);

/* free() of what is not a small object: NULL or an invalid pointer (free_slow_path),
 * a large object (free_large_object). */
void free_slow_path(void *p);
void free_large_object(void *p);

/* The hit path proper: the class from the table and an object from this thread's
 * list (thread_cache.h describes the lists). On a miss the size, still in its
 * register, goes to malloc_miss; passing the class would cost a move. */
static ALWAYS_INLINE void *malloc_inline(size_t size)
{
    if (unlikely(size > SIZE_CLASS_MAX_SMALL_LIMIT))
        return malloc_slow_path(size);
    void *object = thread_cache_pop(size_class_of(size));
    if (unlikely(!object))
        return malloc_miss(size);
    return object;
}

#endif /* PAGODA_MALLOC_PATH_H */
