/*
 * pagoda.h — the public interface of the pagoda memory allocator.
 *
 * pagoda provides the whole libc allocation API (malloc, free, calloc, realloc,
 * posix_memalign, …) under the standard names, so linking with -lpagoda or
 * preloading libpagoda.so replaces the system allocator. Every entry point also
 * exists under a pagoda_ prefix, declared here, so that a program (or a sanitizer
 * build of a test) can call pagoda explicitly without replacing malloc.
 *
 * Semantics are glibc's: see docs/design.md for the few documented differences.
 */
#ifndef PAGODA_H
#define PAGODA_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PAGODA_VERSION_MAJOR 0
#define PAGODA_VERSION_MINOR 1
#define PAGODA_VERSION_PATCH 0

/* The allocation API, with the semantics of the standard function of the same name. */
void  *pagoda_malloc(size_t size);
void   pagoda_free(void *ptr);
void  *pagoda_calloc(size_t count, size_t size);
void  *pagoda_realloc(void *ptr, size_t size);
void  *pagoda_reallocarray(void *ptr, size_t count, size_t size);
int    pagoda_posix_memalign(void **out, size_t alignment, size_t size);
void  *pagoda_aligned_alloc(size_t alignment, size_t size);
void  *pagoda_memalign(size_t alignment, size_t size);
void  *pagoda_valloc(size_t size);
void  *pagoda_pvalloc(size_t size);
size_t pagoda_malloc_usable_size(void *ptr);
void   pagoda_free_sized(void *ptr, size_t size);
void   pagoda_free_aligned_sized(void *ptr, size_t alignment, size_t size);
void   pagoda_cfree(void *ptr);
int    pagoda_malloc_trim(size_t pad);
int    pagoda_mallopt(int param, int value);

/* Returns every free page-heap page to the OS now; the result is the number of
 * bytes released by this call. */
size_t pagoda_release_free_memory(void);

#ifdef __cplusplus
}
#endif

#endif /* PAGODA_H */
