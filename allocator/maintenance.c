/*
 * maintenance.c — the glibc calls that tune or trim rather than allocate:
 * malloc_trim, mallopt, and pagoda_release_free_memory.
 */
#include "allocator/common.h"
#include "allocator/release.h"

#include "pagoda.h"

/* Empties the calling thread's cache and the transfer caches, then returns to the OS
 * every page that holds no object: free spans, and free pages of partly used spans. */
EXPORT size_t pagoda_release_free_memory(void)
{
    return release_everything();
}

/* Returns 1 when memory was released, as glibc does. */
EXPORT int pagoda_malloc_trim(size_t pad)
{
    (void)pad;
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
