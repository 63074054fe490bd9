/*
 * malloc_path.h — the allocation hit path shared by the entry points.
 *
 * malloc compares the size with a constant, the largest small limit any tuning can
 * set, and takes the class from the lookup table, which holds 0 for every size above
 * the active table's largest class (and everywhere before start-up). Class 0 has no
 * list, so such a request finds its list empty, and the fast-path limit then sends it
 * to the large objects' path (large.h). Nothing before that compare reads a variable
 * limit: start-up, the debug mode and tuning all act through the table and the lists.
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

/* Requests above every small size. */
void *malloc_slow_path(size_t size);

/* free() of NULL or of an invalid pointer (class byte 0). */
void free_slow_path(void *p);

/* The hit path proper: the class from the table and an object from this thread's
 * list (thread_cache.h describes the lists).
 *
 * When the list is empty: below the fast-path limit (set at the end of start-up, 0 in
 * the debug mode) the size has a class, and its list's slow path refills it.
 * Everything else is a large request, or a small one before start-up or in the debug
 * mode, which large_malloc_miss tells apart. That part is laid out after the hit
 * path's return with the large objects' hit path inline, large requests falling
 * through: a 64 KiB malloc then runs with one taken branch besides its return, where
 * a jump to a separate function cost it two more (docs/benchmarks.md has the
 * timings). Every way out is a tail call, so neither path sets up a stack frame. */
static ALWAYS_INLINE void *malloc_inline(size_t size)
{
    if (unlikely(size > SIZE_CLASS_MAX_SMALL_LIMIT))
        return malloc_slow_path(size);
    unsigned size_class = size_class_of(size);
    void *object = thread_cache_pop(size_class);
    if (likely(object))
        return object;
    if (unlikely(size < malloc_fast_limit()))
        return thread_cache_alloc_miss(size_class);
    return large_malloc(size);
}

#endif /* PAGODA_MALLOC_PATH_H */
