/*
 * common.h — constants and compiler helpers shared by every tier.
 *
 * Naming: public entry points are pagoda_* (include/pagoda.h); everything else is
 * internal, hidden from the dynamic symbol table by -fvisibility=hidden, and named by
 * its component (span_*, page_heap_*, central_*, thread_cache_*, pagemap_*).
 */
#ifndef PAGODA_COMMON_H
#define PAGODA_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE  ((size_t)1 << PAGE_SHIFT)          /* the page heap's unit: 4 KiB */
#define PAGE_MASK  (PAGE_SIZE - 1)

/* Heap memory comes from the OS aligned to this size, so that transparent huge pages
 * can back it (see HEAP_GROWTH_MIN in central/page_heap.c for the amounts). */
#define OS_CHUNK_SIZE ((size_t)2 << 20)

/* The largest request pagoda accepts: beyond it a size computation could overflow. */
#define MAX_REQUEST_SIZE ((size_t)PTRDIFF_MAX - (size_t)(64 << 20))

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define ALWAYS_INLINE inline __attribute__((always_inline))
#define NOINLINE      __attribute__((noinline))
#define COLD          __attribute__((cold, noinline))
#define EXPORT        __attribute__((visibility("default")))
/* On a declaration of data defined in the library: lets the compiler address it
 * directly (RIP-relative) instead of assuming it might live in another object. */
#define HIDDEN        __attribute__((visibility("hidden")))
#define CACHE_LINE_SIZE 64
#define CACHE_ALIGNED __attribute__((aligned(CACHE_LINE_SIZE)))
/* The functions a hit path runs through (the entry points, and the large objects' hit
 * paths behind them) share one section, which GNU ld lays out in one piece, each from
 * the start of a cache line: a malloc+free pair then runs from a few whole lines in one
 * page of code instead of from lines spread over the library's text (for a 64 KiB
 * pair, a sixth of its time: docs/benchmarks.md). */
#define HOT_PATH      __attribute__((section(".text.hot"), aligned(CACHE_LINE_SIZE)))
/* The large static arrays (the size-class lookup table, the static thread caches,
 * shard 0's central lists, the pagemap's root, the class map's zero leaf, and the
 * first leaves and metadata chunk) go to GNU ld's large-data section, laid out after
 * .bss. Start-up writes small variables of many files; without arrays between them,
 * they share a few pages instead of taking one each (docs/design.md, "Start-up"). */
#if defined(__GNUC__) && !defined(__clang__)
#define LARGE_STATIC  __attribute__((section(".lbss")))
#else
#define LARGE_STATIC
#endif

/* Makes the declared function another name of `target` (same translation unit): how
 * malloc, free, … become the pagoda_* functions. A build with
 * -DPAGODA_NO_STANDARD_NAMES keeps only the pagoda_* names, so that a sanitizer, which
 * brings its own malloc, can check pagoda's internals through them. */
#ifdef PAGODA_NO_STANDARD_NAMES
#define ALIAS_OF(target) __attribute__((unused))
#else
#define ALIAS_OF(target) __attribute__((alias(#target), visibility("default"), used))
#endif

static inline uintptr_t page_of(const void *p) { return (uintptr_t)p >> PAGE_SHIFT; }
static inline void *page_address(uintptr_t page) { return (void *)(page << PAGE_SHIFT); }
static inline size_t pages_for(size_t bytes) { return (bytes + PAGE_MASK) >> PAGE_SHIFT; }

#endif /* PAGODA_COMMON_H */
