/*
 * pagemap.h — the radix tree that maps every 4 KiB page of the 48-bit address space
 * to the span that owns it and, for small-object spans, to its size class.
 *
 *   address: | 16 unused | 18 root index | 18 leaf index | 12 page offset |
 *
 * The root is a static array of 2^18 leaf pointers (2 MiB of zero-filled memory, of
 * which only the touched entries become resident). A leaf covers 1 GiB of address
 * space: a span pointer per page, plus one "dirty" bit per page. The size-class bytes
 * that free() reads live in the class map (class_map.h), a tree of their own shaped for
 * that hit path; pagemap_ensure and the setters keep the two in step. Leaves are
 * mapped lazily, when the page heap first takes memory in their range, and never
 * freed, so a leaf pointer once published stays valid forever.
 *
 * Invariants (maintained by the page heap, under its lock):
 *   - a span covering pages [p, q] has span[p] == span[q] == that span; a span of
 *     small objects has span[x] == it for every x in [p, q];
 *   - class[x] (the class map's byte) != 0 exactly when page x lies in an in-use span
 *     of small objects of class class[x]; this is what free() reads, without a lock;
 *   - for a free page, dirty bit x is clear only when page x is known to read as zero
 *     (never handed out since it came from mmap, or released with MADV_DONTNEED since);
 *     in-use spans of small objects have all their bits set when cut, and their free
 *     pages are cleared again when released. The bits change with atomic operations
 *     because neighbouring spans share bitmap words.
 * Entries for pages not covered by the invariants are stale and may point at span
 * structures since recycled: readers that follow a span pointer check the span's
 * start and state before trusting it.
 */
#ifndef PAGODA_PAGEMAP_H
#define PAGODA_PAGEMAP_H

#include "allocator/common.h"
#include "pagemap/class_map.h"

#include <stdbool.h>

#define PAGEMAP_LEAF_BITS 18
#define PAGEMAP_ROOT_BITS (48 - PAGE_SHIFT - PAGEMAP_LEAF_BITS)
#define PAGEMAP_LEAF_PAGES ((uintptr_t)1 << PAGEMAP_LEAF_BITS)
#define PAGEMAP_ROOT_SIZE ((uintptr_t)1 << PAGEMAP_ROOT_BITS)

struct span;

struct pagemap_leaf {
    struct span *span[PAGEMAP_LEAF_PAGES];
    uint64_t dirty[PAGEMAP_LEAF_PAGES / 64];
};

extern struct pagemap_leaf *pagemap_root[PAGEMAP_ROOT_SIZE] HIDDEN;

static ALWAYS_INLINE struct pagemap_leaf *pagemap_leaf_of_page(uintptr_t page)
{
    uintptr_t root_index = page >> PAGEMAP_LEAF_BITS;
    if (unlikely(root_index >= PAGEMAP_ROOT_SIZE))
        return NULL;
    return __atomic_load_n(&pagemap_root[root_index], __ATOMIC_ACQUIRE);
}

/* The size class of the small object at p, or 0 when p is not inside an in-use span of
 * small objects (a large object, a pointer pagoda never handed out, or NULL). Lock
 * free; the class bytes live in the class map (class_map.h). */
static ALWAYS_INLINE unsigned pagemap_size_class(const void *p)
{
    return class_map_at(page_of(p));
}

/* The span recorded for page, or NULL. Lock free; see the staleness note above. */
static inline struct span *pagemap_span(uintptr_t page)
{
    struct pagemap_leaf *leaf = pagemap_leaf_of_page(page);
    if (!leaf)
        return NULL;
    return __atomic_load_n(&leaf->span[page & (PAGEMAP_LEAF_PAGES - 1)], __ATOMIC_ACQUIRE);
}

/* pagemap_span for a page that lies in the heap, as one with a non-zero class byte
 * does (class_map.h): its leaf exists, so there is neither a bound nor a leaf test. */
static ALWAYS_INLINE struct span *pagemap_heap_span(uintptr_t page)
{
    struct pagemap_leaf *leaf = __atomic_load_n(&pagemap_root[page >> PAGEMAP_LEAF_BITS], __ATOMIC_ACQUIRE);
    return __atomic_load_n(&leaf->span[page & (PAGEMAP_LEAF_PAGES - 1)], __ATOMIC_ACQUIRE);
}

/* Makes sure leaves exist for pages [first, first + count). Returns false when the OS
 * refuses memory for a leaf. Callers hold the page-heap lock. */
bool pagemap_ensure(uintptr_t first, size_t count);

/* Setters: the pages' leaves must exist (pagemap_ensure). */
void pagemap_set_span(uintptr_t page, struct span *span);
void pagemap_set_span_range(uintptr_t first, size_t count, struct span *span);
void pagemap_set_size_class_range(uintptr_t first, size_t count, unsigned size_class);

/* Dirty bits over [first, first + count). */
void pagemap_mark_dirty(uintptr_t first, size_t count);
void pagemap_mark_clean(uintptr_t first, size_t count);
/* Finds the first run of dirty pages at or after *first within [*first, end); on
 * success sets *first to its start, *count to its length and returns true. */
bool pagemap_next_dirty_run(uintptr_t *first, uintptr_t end, size_t *count);
/* The number of dirty pages in [first, first + count). */
size_t pagemap_count_dirty(uintptr_t first, size_t count);

/* Bytes mapped for leaves so far, the class map's included, and how many of them are
 * resident now (mincore: a system call per pagemap leaf, four per class-map leaf). */
size_t pagemap_mapped_bytes(void);
size_t pagemap_resident_bytes(void);

#endif /* PAGODA_PAGEMAP_H */
