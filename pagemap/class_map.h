/*
 * class_map.h — the size-class byte of every 4 KiB page, laid out for free()'s hit
 * path: a radix tree of its own beside the span pagemap (pagemap.h), with wider leaves.
 *
 *   address: | 16 unused | 10 root index | 26 leaf index | 12 page offset |
 *
 * A leaf is 64 MiB of class bytes covering 256 GiB of address space; it is mapped
 * lazily and only the parts over the heap's pages become resident (4 KiB of bytes per
 * 16 MiB of heap). The root, class_map_bias, has 1,024 entries and no empty one: each
 * holds its leaf's address minus the leaf's first page number (its "bias"), so that
 * the class byte of page is at (bias + page) with no mask; a root entry without a leaf
 * of its own holds the bias of zero_class_leaf, a leaf that is never written and
 * reads as class 0 everywhere. So the hit path needs neither a mask nor a null test,
 * only the bound test that keeps addresses above 48 bits out of the root. The root is
 * initialised statically (by load-time relocations), so the lookup is valid before
 * start-up, for free(NULL) and for any pointer. Its size is a trade: each entry costs
 * every process a relocation and 8 bytes of .data, read and written at load (a
 * 24-byte record each, or a bit each where the Makefile packs them as RELR), and each
 * leaf costs address space (a process using pagoda maps one leaf, and
 * zero_class_leaf is as large). 4,096 entries of 16 MiB leaves cost about 130 KiB of
 * resident memory per process; 1,024 of 64 MiB about 32 KiB (8 KiB of .data and
 * 168 bytes of records when packed).
 *
 * Invariant (kept by the page heap, under its lock): a page's byte is non-zero exactly
 * when the page lies in an in-use span of small objects, and is then that span's class,
 * or when it is the first page of an in-use large span (one handed out, kept in a
 * thread's large cache or kept as the spare), and is then SIZE_CLASS_LARGE_HEAD.
 */
#ifndef PAGODA_CLASS_MAP_H
#define PAGODA_CLASS_MAP_H

#include "allocator/common.h"

#include <stdbool.h>

#define CLASS_MAP_LEAF_BITS 26
#define CLASS_MAP_ROOT_BITS (48 - PAGE_SHIFT - CLASS_MAP_LEAF_BITS)
#define CLASS_MAP_LEAF_PAGES ((uintptr_t)1 << CLASS_MAP_LEAF_BITS)
#define CLASS_MAP_ROOT_SIZE ((uintptr_t)1 << CLASS_MAP_ROOT_BITS)

extern uintptr_t class_map_bias[CLASS_MAP_ROOT_SIZE] HIDDEN;

/* The size class of page, 0 when it is not in an in-use span of small objects
 * (including every page above 48 bits). Lock free: one root load, one byte load. */
static ALWAYS_INLINE unsigned class_map_at(uintptr_t page)
{
    uintptr_t root_index = page >> CLASS_MAP_LEAF_BITS;
    if (unlikely(root_index >= CLASS_MAP_ROOT_SIZE))
        return 0;
    uintptr_t bias = __atomic_load_n(&class_map_bias[root_index], __ATOMIC_ACQUIRE);
    return __atomic_load_n((const uint8_t *)(bias + page), __ATOMIC_RELAXED);
}

/* Makes sure leaves exist for pages [first, first + count), which lie below 48 bits.
 * Returns false when the OS refuses memory. Callers hold the page-heap lock. */
bool class_map_ensure(uintptr_t first, size_t count);

/* Sets the class byte of pages [first, first + count), whose leaves exist. */
void class_map_set_range(uintptr_t first, size_t count, unsigned size_class);

/* Bytes of the leaves in use so far (the zero leaf not included), and how
 * many of them are resident now: one byte per heap page is ever written, so a leaf
 * is mostly address space. */
size_t class_map_mapped_bytes(void);
size_t class_map_resident_bytes(void);

#endif /* PAGODA_CLASS_MAP_H */
