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
#include <stdint.h>
#include <stdio.h>

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

/* ---- Statistics (docs/observability.md) -------------------------------------------
 *
 * A snapshot of where pagoda's memory is. Every figure is exact when no other thread
 * is allocating; while others are, each tier is read at a slightly different moment
 * and other threads' caches are read without their cooperation, so the figures are
 * approximate by the objects moving during the call. Taking a snapshot locks each
 * tier briefly, one lock at a time, and allocates nothing: it is cheap enough to call
 * every second from a monitoring thread.
 *
 * Growth: set `size` to sizeof(struct pagoda_stats) before the call (PAGODA_STATS_INIT
 * does). The library fills min(size, its own size) bytes and sets `size` to what it
 * filled and `version` to its PAGODA_STATS_VERSION. New fields are only ever appended
 * at the end, so a program built against an older header keeps working. */

#define PAGODA_STATS_VERSION 4
#define PAGODA_STATS_MAX_CLASSES 256

struct pagoda_size_class_stats {
    uint64_t object_size;               /* bytes per object of this class */
    uint64_t span_pages;                /* 4 KiB pages per span */
    uint64_t objects_per_span;
    uint64_t spans;                     /* spans of this class in use */
    uint64_t objects_in_use;            /* held by the program */
    uint64_t objects_in_thread_caches;  /* free, in the thread caches of all threads */
    uint64_t objects_in_transfer_cache; /* free, in the central transfer cache */
    uint64_t objects_free_in_spans;     /* free, in the spans of the central list */
};

struct pagoda_stats {
    uint32_t size;                      /* in: bytes the caller provides; out: filled */
    uint32_t version;                   /* out: PAGODA_STATS_VERSION of the library */
    /* Bytes. in_use + thread_cache + central + span_waste + page_heap_free +
     * page_heap_released == mapped - metadata when no other thread allocates. */
    uint64_t in_use_bytes;              /* held by the program: small + large */
    uint64_t small_in_use_bytes;        /* objects of size classes, at the class size */
    uint64_t large_in_use_bytes;        /* large objects, in whole pages */
    uint64_t thread_cache_bytes;        /* free objects in thread caches, small and large */
    uint64_t central_bytes;             /* free objects in transfer caches and spans */
    uint64_t span_waste_bytes;          /* tails of small-object spans that fit no object */
    uint64_t page_heap_free_bytes;      /* free pages that may be resident */
    uint64_t page_heap_released_bytes;  /* free pages known not to be resident */
    uint64_t metadata_bytes;            /* span structures, thread caches, pagemap leaves:
                                           address space (metadata_resident_bytes) */
    uint64_t mapped_bytes;              /* address space mapped from the OS */
    uint64_t released_total_bytes;      /* given back to the OS since start, all told */
    uint64_t size_class_count;          /* entries used in size_classes */
    struct pagoda_size_class_stats size_classes[PAGODA_STATS_MAX_CLASSES]; /* [i]: class i + 1 */
    /* Since version 2. */
    uint64_t large_thread_cache_bytes;  /* of thread_cache_bytes: freed large objects kept
                                           for reuse, the process's spare block included
                                           (the rest is the classes' objects) */
    /* Since version 3. */
    uint64_t central_shards;            /* shards of the central lists threads are spread
                                           over: 1 until their locks were found contended
                                           (PAGODA_CENTRAL_SHARDS) */
    /* Since version 4. */
    uint64_t metadata_resident_bytes;   /* of metadata_bytes: resident now (mincore) */
};

#define PAGODA_STATS_INIT { .size = sizeof(struct pagoda_stats) }

/* Fills *stats. Returns 0, or -1 with errno EINVAL when stats is NULL or stats->size
 * is smaller than the size and version fields. */
int pagoda_stats_get(struct pagoda_stats *stats);

/* Writes a snapshot to fd: format "text" (or NULL), a readable report with a table of
 * the size classes in use, or "json", one object with stable keys. Returns 0, or -1
 * with errno set (EINVAL for an unknown format, or write's error). Allocates nothing.
 * PAGODA_STATS=1 (or text, json, text:<path>, json:<path>) writes this report to
 * stderr or to <path> when the process exits. */
int pagoda_stats_print(int fd, const char *format);

/* glibc's introspection, answered from the same snapshot (docs/observability.md):
 * malloc_stats, mallinfo (fields clamped to INT_MAX), mallinfo2, malloc_info. The
 * structures are <malloc.h>'s. */
struct mallinfo;
struct mallinfo2;
void             pagoda_malloc_stats(void);
struct mallinfo  pagoda_mallinfo(void);
struct mallinfo2 pagoda_mallinfo2(void);
int              pagoda_malloc_info(int options, FILE *stream);

#ifdef __cplusplus
}
#endif

#endif /* PAGODA_H */
