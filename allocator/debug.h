/*
 * debug.h — the debug mode (PAGODA_DEBUG=poison,double-free,guard or all), which makes
 * heap bugs stop the program at once with a message naming the pointer.
 *
 * How it costs nothing when off: the hit paths never test for it. Turning it on at
 * start-up sets the malloc fast-path limit to zero and keeps every thread-cache list
 * limited to zero objects, so every small malloc misses and every small free
 * overflows into the slow paths, which call the functions below. In the debug mode
 * every small free therefore reaches its span's free bitmap at once, where a double
 * free is a bit already set and a pointer into an object is an offset that is no
 * multiple of the size; nothing is cached in between.
 *
 *   poison       freed small objects are filled with 0x69 (after Go's gcdead); when
 *                one is handed out again the pattern is verified, and a difference is
 *                a write after free. Spans of small objects stay with their class even
 *                when all their objects are free, so every freed object is checked at
 *                its reuse. New memory (not from calloc) is filled with 0x6b, so reads
 *                of uninitialised memory stand out. Freed large objects are filled with
 *                0x69 too, and their pages are checked when they leave the page heap
 *                again.
 *   double-free  only the routing above: exact double-free and interior-pointer checks.
 *   guard        every large object gets an inaccessible page after its last page, so
 *                an overrun past the page boundary faults at once.
 */
#ifndef PAGODA_DEBUG_H
#define PAGODA_DEBUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEBUG_FREED_BYTE 0x69
#define DEBUG_NEW_BYTE 0x6b

struct debug_options {
    bool enabled;        /* any option: small objects bypass the caches */
    bool poison;
    bool guard;
};

extern struct debug_options pagoda_debug;

/* Reads PAGODA_DEBUG (once, at start-up). */
void debug_load_options(void);

/* With poison: checks that memory leaving the page heap still holds what freeing put
 * there — the freed pattern on every page that was handed out before (dirty), or zeros
 * where the kernel took the page back — so that a write after free to memory the page
 * heap held is caught when the memory is used again. */
struct span;
void debug_verify_free_pages(const struct span *span);

/* The slow paths of a small object in the debug mode. */
void *debug_alloc_small(unsigned size_class);
void debug_free_small(void *object, unsigned size_class);

#endif /* PAGODA_DEBUG_H */
