/*
 * size_classes.h — the active size-class table and the O(1) size → class lookup.
 *
 * The table is data: size_classes_init() builds everything here at start-up from a
 * list of classes (the generated default, allocator/size_class_table.h, or one tuned
 * through PAGODA_* variables). Class ids run from 1 to size_class_count; 0 means
 * "not a small object".
 *
 * Lookup: one byte load from size_class_lookup at (size + 7) >> 3, exact because
 * every class size is a multiple of 8. One table over the whole small range (32 KiB of
 * bytes for the largest allowed small size, 4 KiB for the default; only the part in
 * use is ever touched) costs the hit path a single shift and load: no second range,
 * no loop, no division.
 */
#ifndef PAGODA_SIZE_CLASSES_H
#define PAGODA_SIZE_CLASSES_H

#include "allocator/common.h"
#include "allocator/size_class_gen.h"

#include <stdbool.h>

#define SIZE_LOOKUP_ENTRIES (SIZE_CLASS_MAX_SMALL_LIMIT / 8 + 1)

/* Alignments from 32 B to the page size, as shifts, for size_class_aligned_to. */
#define ALIGNED_SHIFT_MIN 5
#define ALIGNED_SHIFTS (PAGE_SHIFT - ALIGNED_SHIFT_MIN + 1)

/* What the tiers need to know of a class, all derived at start-up. */
/* The most objects a batch holds (size_classes.c sets each class's batch). */
#define SIZE_CLASS_BATCH_MAX 32

struct size_class_info {
    uint32_t size;            /* object size */
    uint32_t pages;           /* span length */
    uint32_t objects;         /* objects per span */
    uint32_t batch;           /* objects moved between a thread cache and the central list at once */
    uint32_t cache_limit;     /* the most objects one thread cache list may hold */
    uint32_t line_objects;    /* objects that fill a cache line (at least 1, at most batch) */
    uint64_t index_magic;     /* offset * index_magic >> 40 == offset / size within a span */
    uint8_t aligned_class[ALIGNED_SHIFTS];  /* per alignment shift: size_class_aligned_to */
};

extern uint8_t size_class_lookup[SIZE_LOOKUP_ENTRIES] HIDDEN;

extern struct size_class_info size_class_table[SIZE_CLASS_MAX_COUNT + 1] HIDDEN;
extern unsigned size_class_count HIDDEN;
/* One more than the largest small object: requests below it take a size class, the
 * rest go to the page heap. Zero until start-up, so that the very first request of
 * any size takes the slow path, which initialises pagoda. */
extern size_t size_class_small_limit HIDDEN;

static ALWAYS_INLINE size_t size_class_lookup_index(size_t size)
{
    return (size + 7) >> 3;
}

/* The class of a request of `size` bytes (size <= SIZE_CLASS_MAX_SMALL_LIMIT): 0 when
 * the size is above the active table's largest class, or before start-up. The table
 * is read and written with relaxed atomics (plain moves): a thread with no cache yet
 * may read it while start-up fills it in; whatever it reads sends it to a slow path,
 * which waits for start-up and looks again. */
static ALWAYS_INLINE unsigned size_class_of(size_t size)
{
    return __atomic_load_n(&size_class_lookup[size_class_lookup_index(size)], __ATOMIC_RELAXED);
}

/* The first class from size_class on whose size is a multiple of alignment (a power
 * of two from 32 to PAGE_SIZE), so that all its objects are aligned to it; 0 if none. */
static inline unsigned size_class_aligned_to(unsigned size_class, size_t alignment)
{
    return size_class_table[size_class].aligned_class[__builtin_ctzl(alignment) - ALIGNED_SHIFT_MIN];
}

/* Whether a byte from the class map names a size class: neither 0 (no small object)
 * nor SIZE_CLASS_LARGE_HEAD. One unsigned compare. */
static inline bool size_class_is_small(unsigned class_byte)
{
    return class_byte - 1 < SIZE_CLASS_MAX_COUNT;
}

/* The object's index within its span, from its byte offset. */
static inline uint32_t size_class_object_index(const struct size_class_info *info, size_t offset)
{
    return (uint32_t)((offset * info->index_magic) >> 40);
}

/* Installs the table (count classes, sizes increasing); it must satisfy the rules of
 * size_class_gen.h. */
void size_classes_init(const struct size_class *classes, int count);

#endif /* PAGODA_SIZE_CLASSES_H */
