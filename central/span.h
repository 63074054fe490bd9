/*
 * span.h — a span is a run of contiguous pages with one owner at a time:
 *
 *   SPAN_FREE   on one of the page heap's free lists;
 *   SPAN_LARGE  handed to the program as one large object (> the largest size class);
 *   SPAN_SMALL  cut into objects of one size class, owned by that class's central list.
 *
 * A span of small objects tracks which of its objects are free with a bitmap, not with
 * a list threaded through the objects: the free objects' memory is never read or
 * written while they sit in the span, so a central list can return whole pages of a
 * partly used span to the OS, and a double free is seen as a bit already set.
 *
 * Invariant for SPAN_SMALL:  free_count == popcount(free_bits), and the span is on its
 * class's partial list exactly when 0 < free_count and no thread owns it (`owned`,
 * central_list.h). (A span with no free object is on no list; one whose objects all
 * come back goes to the page heap at once, unless a thread owns it.)
 *
 * Which pages may hold old data ("dirty", as opposed to known to read as zero) is
 * told in one of two ways, by `dirt`:
 *   DIRT_PREFIX  the first dirty_prefix pages may be dirty, the rest are zero; the
 *                pagemap's dirty bits for the span are stale and ignored. This covers
 *                the spans a heap mostly holds — wholly dirty (just freed), wholly
 *                clean (fresh from the OS, or released) and a freed block merged with
 *                fresh pages after it — and it survives splitting, so carving,
 *                freeing and coalescing them never touch the bitmap;
 *   DIRT_BITS    the pagemap's dirty bits say it page by page.
 * Free spans use either; a span of small objects always uses the bits (its central
 * list marks and clears them page by page); a large span keeps what it had when it
 * was taken from the page heap, for calloc, and is wholly dirty once freed.
 */
#ifndef PAGODA_SPAN_H
#define PAGODA_SPAN_H

#include "allocator/common.h"
#include "allocator/size_class_gen.h"

#include <stdbool.h>

enum span_dirt {
    DIRT_PREFIX = 0,
    DIRT_BITS,
};

enum span_state {
    SPAN_UNUSED = 0,   /* a recycled structure, describing nothing */
    SPAN_FREE,
    SPAN_LARGE,
    SPAN_SMALL,
};

/* A span of small objects keeps its free bitmap inline when it has at most
 * SPAN_INLINE_BITMAP_WORDS * 64 objects (every default class of 48 B and more); the few
 * classes with more objects per span get a full-size bitmap from the page heap's pool.
 * That keeps the structure, one per span of every kind, at 80 bytes. */
#define SPAN_BITMAP_WORDS (SIZE_CLASS_MAX_OBJECTS / 64)
#define SPAN_INLINE_BITMAP_WORDS 2

struct span {
    uintptr_t first_page;
    size_t pages;
    struct span *next;          /* links on a page-heap free list or a partial list */
    struct span *prev;
    uint8_t state;              /* enum span_state */
    uint8_t size_class;         /* SPAN_SMALL only */
    uint8_t released;           /* SPAN_FREE: its dirty pages were advised away since it was
                                   freed; SPAN_SMALL: its wholly free pages were examined
                                   and released since objects last left or came back */
    uint8_t dirt;               /* enum span_dirt (above) */
    uint8_t owned;              /* SPAN_SMALL: a thread allocates from it alone (central_list.h) */
    uint8_t shard;              /* SPAN_SMALL: the central shard whose list holds it
                                   (central_list.h) */
    uint16_t bitmap_hint;       /* SPAN_SMALL: no free bit lives in a word below this */
    union {
        struct {
            uint32_t object_count;      /* SPAN_SMALL only */
            uint32_t free_count;        /* SPAN_SMALL only: objects free in free_bits */
        };
        uint64_t dirty_prefix;          /* SPAN_FREE, SPAN_LARGE with DIRT_PREFIX */
    };
    uint64_t last_used_ms;      /* SPAN_FREE: when it became free; SPAN_SMALL: when objects
                                   were last taken from it (clock_ms), for release pacing */
    uint64_t *free_bits;        /* SPAN_SMALL: bit i set = object i free; inline_bits, or
                                   a pool block of SPAN_BITMAP_WORDS words */
    uint64_t inline_bits[SPAN_INLINE_BITMAP_WORDS];
};

static inline void *span_start(const struct span *span)
{
    return page_address(span->first_page);
}

static inline uintptr_t span_last_page(const struct span *span)
{
    return span->first_page + span->pages - 1;
}

/* Whether a kept block of `block_pages` pages serves a request of `pages`: at least as
 * long, and longer by at most an eighth (the rule of the thread's large caches and of
 * the spare). One unsigned compare: a shorter block's difference wraps around to a
 * huge number. */
static inline bool large_block_fits(size_t block_pages, size_t pages)
{
    return block_pages - pages <= pages / 8;
}

/* A doubly linked list of spans, with head and tail. */
struct span_list {
    struct span *head;
    struct span *tail;
};

static inline void span_list_push(struct span_list *list, struct span *span)
{
    span->prev = NULL;
    span->next = list->head;
    if (list->head)
        list->head->prev = span;
    else
        list->tail = span;
    list->head = span;
}

static inline void span_list_push_back(struct span_list *list, struct span *span)
{
    span->next = NULL;
    span->prev = list->tail;
    if (list->tail)
        list->tail->next = span;
    else
        list->head = span;
    list->tail = span;
}

static inline void span_list_remove(struct span_list *list, struct span *span)
{
    if (span->prev)
        span->prev->next = span->next;
    else
        list->head = span->next;
    if (span->next)
        span->next->prev = span->prev;
    else
        list->tail = span->prev;
    span->next = span->prev = NULL;
}

#endif /* PAGODA_SPAN_H */
