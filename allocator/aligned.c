/*
 * aligned.c — posix_memalign, aligned_alloc, memalign, valloc and pvalloc.
 *
 * Up to the page size, an alignment is met by a size class whose size is a multiple
 * of it: spans start on page boundaries and objects sit at multiples of their size,
 * so every object of such a class is aligned (aligned_alloc(4096, 4096) costs 4 KiB,
 * not 8). Larger alignments take a page-heap span whose first page is aligned, the
 * pages cut off before and after it going straight back to the free lists.
 */
#include "allocator/init.h"
#include "allocator/large.h"
#include "allocator/malloc_path.h"

#include <errno.h>
#include <stdbool.h>

#include "pagoda.h"

#define MIN_ALIGNMENT 16      /* what malloc already guarantees for sizes >= 16 */

static bool is_power_of_two(size_t x)
{
    return x && !(x & (x - 1));
}

/* The size class that meets alignment (a power of two above MIN_ALIGNMENT) for size,
 * among those below small_limit, or 0 when none does. */
static unsigned aligned_class(size_t alignment, size_t size, size_t small_limit)
{
    size_t wanted = size < alignment ? alignment : size;
    if (alignment > PAGE_SIZE || wanted >= small_limit)
        return 0;
    return size_class_aligned_to(size_class_of(wanted), alignment);
}

/* alignment: a power of two. */
static void *aligned_allocate(size_t alignment, size_t size)
{
    if (alignment <= MIN_ALIGNMENT)
        return malloc_inline(size < alignment ? alignment : size);
    pagoda_ensure_initialized();
    unsigned c = aligned_class(alignment, size, size_class_small_limit);
    if (c)
        return thread_cache_alloc(c);
    return large_alloc(size < size_class_small_limit ? size_class_small_limit : size, alignment, false);
}

EXPORT int pagoda_posix_memalign(void **out, size_t alignment, size_t size)
{
    if (!is_power_of_two(alignment) || alignment % sizeof(void *))
        return EINVAL;
    /* The hit path first: a cached object of a class that meets the alignment needs
     * no errno to be saved (posix_memalign must leave errno alone; only slow paths
     * can set it). The fast-path limit, published with the tables, is 0 before
     * start-up and in the debug mode. */
    if (alignment > MIN_ALIGNMENT) {
        unsigned c = aligned_class(alignment, size, malloc_fast_limit());
        void *p = c ? thread_cache_pop(c) : NULL;
        if (likely(p)) {
            *out = p;
            return 0;
        }
    }
    int saved_errno = errno;
    void *p = aligned_allocate(alignment, size);
    errno = saved_errno;
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

EXPORT void *pagoda_aligned_alloc(size_t alignment, size_t size)
{
    if (!is_power_of_two(alignment)) {
        errno = EINVAL;
        return NULL;
    }
    return aligned_allocate(alignment, size);
}

EXPORT void *pagoda_memalign(size_t alignment, size_t size)
{
    /* glibc rounds an alignment that is not a power of two up to one. */
    if (alignment > ((size_t)1 << (sizeof(size_t) * 8 - 1))) {
        errno = EINVAL;
        return NULL;
    }
    size_t rounded = 1;
    while (rounded < alignment)
        rounded <<= 1;
    return aligned_allocate(rounded, size);
}

EXPORT void *pagoda_valloc(size_t size)
{
    return aligned_allocate(PAGE_SIZE, size);
}

EXPORT void *pagoda_pvalloc(size_t size)
{
    if (size > MAX_REQUEST_SIZE) {
        errno = ENOMEM;
        return NULL;
    }
    size_t rounded = size ? (size + PAGE_MASK) & ~PAGE_MASK : PAGE_SIZE;
    return aligned_allocate(PAGE_SIZE, rounded);
}

int posix_memalign(void **, size_t, size_t) ALIAS_OF(pagoda_posix_memalign);
int __posix_memalign(void **, size_t, size_t) ALIAS_OF(pagoda_posix_memalign);
void *aligned_alloc(size_t, size_t) ALIAS_OF(pagoda_aligned_alloc);
void *memalign(size_t, size_t) ALIAS_OF(pagoda_memalign);
void *__libc_memalign(size_t, size_t) ALIAS_OF(pagoda_memalign);
void *valloc(size_t) ALIAS_OF(pagoda_valloc);
void *__libc_valloc(size_t) ALIAS_OF(pagoda_valloc);
void *pvalloc(size_t) ALIAS_OF(pagoda_pvalloc);
void *__libc_pvalloc(size_t) ALIAS_OF(pagoda_pvalloc);
