/*
 * malloc.c — malloc, free, calloc and their variants: the entry points of the hit
 * path. Each standard name (and glibc's internal __libc_* name) is an alias of the
 * pagoda_* function, so that no glibc path can allocate behind pagoda's back.
 *
 * The journey of a request (docs/design.md has the picture):
 *   malloc(n): n < small limit → class = lookup[n] → thread cache list pop (hit path)
 *              → on a miss, a batch from the central list (→ spans → page heap → OS);
 *              n larger → a span of whole pages from the page heap.
 *   free(p):   class = pagemap class byte of p's page (lock free) → thread cache
 *              list push (hit path) → when the list is full, a batch back to the central
 *              list; byte SIZE_CLASS_LARGE_HEAD → a large object's span into the
 *              thread's large cache (or the page heap); byte 0 → NULL, or an invalid
 *              pointer, reported.
 */
#include "allocator/malloc_path.h"

#include "allocator/init.h"
#include "allocator/large.h"
#include "pagemap/pagemap.h"

#include <errno.h>
#include <string.h>

#include "pagoda.h"

size_t malloc_fast_path_limit;

static NOINLINE void *calloc_slow_path(size_t total)
{
    pagoda_ensure_initialized();
    if (total >= size_class_small_limit)
        return large_alloc(total, 0, true);
    void *p = thread_cache_alloc(size_class_of(total));
    if (p)
        memset(p, 0, total);
    return p;
}

HOT_PATH EXPORT void *pagoda_malloc(size_t size)
{
    return malloc_inline(size);
}

/* free() of a pointer whose class byte is 0: NULL, or none of pagoda's objects (a
 * large object's first page has SIZE_CLASS_LARGE_HEAD). */
HOT_PATH NOINLINE void free_slow_path(void *p)
{
    if (p)
        report_invalid_free(p);
}

/* The class byte goes straight to the thread cache, even when it is 0 (no object) or
 * SIZE_CLASS_LARGE_HEAD (a large object): neither ever has room, so they cost no test
 * here and end in thread_cache_free_overflow, which hands the pointer to
 * free_slow_path or free_large_object. */
HOT_PATH EXPORT void pagoda_free(void *p)
{
    thread_cache_free(p, pagemap_size_class(p));
}

/* The size is not used for the class: realloc and aligned allocations leave objects in
 * classes other than their size's (docs/design.md, "free(p) mirrors this"). */
EXPORT void pagoda_free_sized(void *p, size_t size)
{
    (void)size;
    pagoda_free(p);
}

EXPORT void pagoda_free_aligned_sized(void *p, size_t alignment, size_t size)
{
    (void)alignment;
    (void)size;
    pagoda_free(p);
}

EXPORT void pagoda_cfree(void *p)
{
    pagoda_free(p);
}

HOT_PATH EXPORT void *pagoda_calloc(size_t count, size_t size)
{
    size_t total;
    if (unlikely(__builtin_mul_overflow(count, size, &total))) {
        errno = ENOMEM;
        return NULL;
    }
    if (likely(total < malloc_fast_limit())) {
        void *p = thread_cache_alloc(size_class_of(total));
        if (likely(p))
            memset(p, 0, total);
        return p;
    }
    return calloc_slow_path(total);
}

EXPORT size_t pagoda_malloc_usable_size(void *p)
{
    if (!p)
        return 0;
    unsigned size_class = pagemap_size_class(p);
    if (size_class_is_small(size_class))
        return size_class_table[size_class].size;
    struct span *span = large_span_of(p);
    if (!span)
        report_invalid_pointer("malloc_usable_size", p);
    return large_usable_size(span);
}

void *malloc(size_t) ALIAS_OF(pagoda_malloc);
void *__libc_malloc(size_t) ALIAS_OF(pagoda_malloc);
void free(void *) ALIAS_OF(pagoda_free);
void __libc_free(void *) ALIAS_OF(pagoda_free);
void cfree(void *) ALIAS_OF(pagoda_cfree);
void free_sized(void *, size_t) ALIAS_OF(pagoda_free_sized);
void free_aligned_sized(void *, size_t, size_t) ALIAS_OF(pagoda_free_aligned_sized);
void *calloc(size_t, size_t) ALIAS_OF(pagoda_calloc);
void *__libc_calloc(size_t, size_t) ALIAS_OF(pagoda_calloc);
size_t malloc_usable_size(void *) ALIAS_OF(pagoda_malloc_usable_size);
