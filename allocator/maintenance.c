/*
 * maintenance.c — the glibc calls that tune or trim rather than allocate:
 * malloc_trim, mallopt, and pagoda_release_free_memory.
 */
#include "allocator/thread_cache.h"
#include "central/page_heap.h"

#include "pagoda.h"

EXPORT size_t pagoda_release_free_memory(void)
{
    return page_heap_release_all();
}

/* Empties the calling thread's cache, then returns every free page to the OS.
 * Returns 1 when memory was released, as glibc does. */
EXPORT int pagoda_malloc_trim(size_t pad)
{
    (void)pad;
    thread_cache_flush_current();
    return pagoda_release_free_memory() > 0;
}

/* glibc's tuning parameters (M_MMAP_THRESHOLD, M_ARENA_MAX, …) do not apply to
 * pagoda's design; every call is accepted and ignored. Use the PAGODA_* variables. */
EXPORT int pagoda_mallopt(int param, int value)
{
    (void)param;
    (void)value;
    return 1;
}

int malloc_trim(size_t) ALIAS_OF(pagoda_malloc_trim);
int mallopt(int, int) ALIAS_OF(pagoda_mallopt);
