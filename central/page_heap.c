/*
 * page_heap.c — page-level allocation (see page_heap.h).
 *
 * Invariants, under heap_lock:
 *   - every SPAN_FREE span is on exactly one free list: exact_free[pages] when
 *     pages < EXACT_LISTS, large_free otherwise; bit n of exact_nonempty is set
 *     exactly when exact_free[n] is non-empty;
 *   - on every free list the spans not yet released come first and the released ones
 *     after them, so that a release pass stops at the first released span instead of
 *     walking every free span of the heap each time (a heap left fragmented by a big
 *     free may hold hundreds of thousands), and a search takes resident pages first;
 *   - no two free spans are adjacent (free coalesces eagerly);
 *   - the pagemap invariants of pagemap.h hold for every span.
 * Zero knowledge is kept per page, so splitting and coalescing never lose it: by a
 * span's dirty prefix where that describes it, else by the pagemap's dirty bits
 * (span.h, "dirt"). Coalescing two spans whose prefixes do not line up (a clean span
 * before a dirty one, say) writes their bits once and the result uses the bits; a
 * span that is released wholly becomes a clean prefix span again.
 */
#include "central/page_heap.h"

#include "allocator/clock.h"
#include "allocator/config.h"
#include "allocator/debug.h"
#include "allocator/lock.h"
#include "allocator/size_classes.h"
#include "central/large_spare.h"
#include "central/metadata.h"
#include "central/os_memory.h"
#include "central/page_release.h"
#include "pagemap/pagemap.h"

#define EXACT_LISTS 128
/* The heap grows by at least this much at a time, to amortise mmap calls; growth for a
 * request larger than this maps this much more than the request, as slack. Without the
 * slack, the first small span cut after a huge block is freed would come out of that
 * block (the only free span), and the next request of the same huge size would no
 * longer fit: the heap would grow by the whole size again while the old block sat idle. */
#define HEAP_GROWTH_MIN ((size_t)8 << 20)

static pagoda_lock heap_lock FORK_LOCK = PAGODA_LOCK_INIT;
static struct span_list exact_free[EXACT_LISTS] LARGE_STATIC;
static uint64_t exact_nonempty[EXACT_LISTS / 64];
static struct span_list large_free;
static struct span_list unused_spans;     /* recycled span structures */
static uintptr_t heap_first_page;         /* every chunk's pages lie in [first, end) */
static uintptr_t heap_end_page;
static uint64_t *bitmap_pool;             /* free full-size bitmaps, linked by word 0 */
static size_t mapped_pages;           /* changed under heap_lock; read without it too */
static size_t free_pages;
static size_t free_dirty_pages;       /* free pages whose dirty bit is set */
static size_t large_in_use_pages;
static size_t released_total_pages;   /* ever given back to the OS, for statistics */

/* ---- span structures ---------------------------------------------------------- */

static struct span *span_new(void)
{
    struct span *span = unused_spans.head;
    if (span)
        span_list_remove(&unused_spans, span);
    else
        span = metadata_alloc(sizeof *span);
    return span;
}

static void span_recycle(struct span *span)
{
    span->state = SPAN_UNUSED;
    span_list_push(&unused_spans, span);
}

/* A free bitmap for a span of `objects` small objects: the span's inline words, or a
 * full-size block from the pool. NULL when no memory can be had. */
static uint64_t *bitmap_for(struct span *span, uint32_t objects)
{
    if (objects <= SPAN_INLINE_BITMAP_WORDS * 64)
        return span->inline_bits;
    uint64_t *bits = bitmap_pool;
    if (bits)
        bitmap_pool = (uint64_t *)bits[0];
    else
        bits = metadata_alloc(SPAN_BITMAP_WORDS * sizeof(uint64_t));
    return bits;
}

static void bitmap_recycle(struct span *span)
{
    if (span->free_bits != span->inline_bits) {
        span->free_bits[0] = (uint64_t)bitmap_pool;
        bitmap_pool = span->free_bits;
    }
    span->free_bits = NULL;
}

/* ---- free lists --------------------------------------------------------------- */

static struct span_list *free_list_of(size_t pages)
{
    return pages < EXACT_LISTS ? &exact_free[pages] : &large_free;
}

/* A released span goes after the others, an unreleased one before them. */
static void free_list_insert(struct span *span)
{
    span->state = SPAN_FREE;
    free_pages += span->pages;
    struct span_list *list = free_list_of(span->pages);
    if (span->released)
        span_list_push_back(list, span);
    else
        span_list_push(list, span);
    if (span->pages < EXACT_LISTS)
        exact_nonempty[span->pages / 64] |= (uint64_t)1 << (span->pages % 64);
}

static void free_list_remove(struct span *span)
{
    free_pages -= span->pages;
    struct span_list *list = free_list_of(span->pages);
    span_list_remove(list, span);
    if (span->pages < EXACT_LISTS && !list->head)
        exact_nonempty[span->pages / 64] &= ~((uint64_t)1 << (span->pages % 64));
}

/* The shortest free span of at least `pages` pages, or NULL. Among long ones of equal
 * length, the one at the highest address: the kernel hands out mappings from the top
 * down, so that is the memory the heap mapped first, which has most likely been
 * written and is resident. Taking the newest (lowest) instead made mstress's heap
 * touch fresh pages while resident free ones of the same length sat idle (peak RSS
 * 41.7 MiB against 37.7 MiB). */
static struct span *free_list_find(size_t pages)
{
    for (size_t n = pages; n < EXACT_LISTS; ) {
        uint64_t bits = exact_nonempty[n / 64] >> (n % 64);
        if (bits)
            return exact_free[n + (size_t)__builtin_ctzll(bits)].head;
        n = (n / 64 + 1) * 64;
    }
    struct span *best = NULL;
    for (struct span *span = large_free.head; span; span = span->next) {
        if (span->pages < pages)
            continue;
        if (!best || span->pages < best->pages ||
            (span->pages == best->pages && span->first_page > best->first_page))
            best = span;
    }
    return best;
}

/* ---- dirty pages --------------------------------------------------------------------- */

static void set_wholly_dirty(struct span *span)
{
    span->dirt = DIRT_PREFIX;
    span->dirty_prefix = span->pages;
}

static void set_wholly_clean(struct span *span)
{
    span->dirt = DIRT_PREFIX;
    span->dirty_prefix = 0;
}

/* Writes a prefix span's dirt into the pagemap's bits and switches it to them. */
static void materialize_dirt(struct span *span)
{
    if (span->dirt == DIRT_BITS)
        return;
    pagemap_mark_dirty(span->first_page, span->dirty_prefix);
    pagemap_mark_clean(span->first_page + span->dirty_prefix, span->pages - span->dirty_prefix);
    span->dirt = DIRT_BITS;
}

/* Sets `into` (front or back) to describe the dirt of front followed by back, before
 * their pages are added up: still a prefix when front is wholly dirty or back wholly
 * clean, the bits otherwise. */
static void merge_dirt(struct span *into, struct span *front, struct span *back)
{
    if (front->dirt == DIRT_PREFIX && back->dirt == DIRT_PREFIX) {
        if (front->dirty_prefix == front->pages) {
            into->dirty_prefix = front->pages + back->dirty_prefix;
            into->dirt = DIRT_PREFIX;
            return;
        }
        if (back->dirty_prefix == 0) {
            into->dirty_prefix = front->dirty_prefix;
            into->dirt = DIRT_PREFIX;
            return;
        }
    }
    materialize_dirt(front);
    materialize_dirt(back);
    into->dirt = DIRT_BITS;
}

static size_t dirty_page_count(const struct span *span)
{
    if (span->dirt == DIRT_PREFIX)
        return span->dirty_prefix;
    return pagemap_count_dirty(span->first_page, span->pages);
}

bool page_heap_next_dirty_run(const struct span *span, uintptr_t *page, size_t *count)
{
    uintptr_t end = span->first_page + span->pages;
    if (span->dirt == DIRT_BITS)
        return pagemap_next_dirty_run(page, end, count);
    uintptr_t dirty_end = span->first_page + span->dirty_prefix;
    if (*page >= dirty_end)
        return false;
    *count = dirty_end - *page;
    return true;
}

/* ---- splitting and coalescing ----------------------------------------------------- */

/* Cuts span (removed from every list) after its first keep_pages pages and returns the
 * tail as a new span, not yet on any list, or NULL when no structure can be had (span
 * is then unchanged). */
static struct span *split_tail(struct span *span, size_t keep_pages)
{
    struct span *tail = span_new();
    if (!tail)
        return NULL;
    tail->state = span->state;
    tail->released = span->released;
    tail->last_used_ms = span->last_used_ms;
    tail->first_page = span->first_page + keep_pages;
    tail->pages = span->pages - keep_pages;
    tail->dirt = span->dirt;
    if (span->dirt == DIRT_PREFIX) {      /* a prefix splits into two prefixes */
        tail->dirty_prefix = span->dirty_prefix > keep_pages ? span->dirty_prefix - keep_pages : 0;
        if (span->dirty_prefix > keep_pages)
            span->dirty_prefix = keep_pages;
    }
    span->pages = keep_pages;
    pagemap_set_span(tail->first_page, tail);
    pagemap_set_span(span_last_page(tail), tail);
    pagemap_set_span(span_last_page(span), span);
    return tail;
}

/* The merged span is as idle as its most recently used part, and released only if
 * every part was. */
static void absorb_neighbour(struct span *span, struct span *neighbour)
{
    if (neighbour->last_used_ms > span->last_used_ms)
        span->last_used_ms = neighbour->last_used_ms;
    span->released = span->released && neighbour->released;
    span_recycle(neighbour);
}

/* The free span that ends just before span, or NULL. A page outside the heap's range
 * is not looked up: its pagemap entry was never written, and reading it would fault in
 * a page of zeros (twice for the first chunk). */
static struct span *free_span_before(const struct span *span)
{
    if (span->first_page <= heap_first_page)
        return NULL;
    struct span *prev = pagemap_span(span->first_page - 1);
    if (prev && prev->state == SPAN_FREE && prev->first_page + prev->pages == span->first_page)
        return prev;
    return NULL;
}

/* The free span that starts just after span, or NULL; likewise. */
static struct span *free_span_after(const struct span *span)
{
    uintptr_t next_page = span->first_page + span->pages;
    if (next_page >= heap_end_page)
        return NULL;
    struct span *next = pagemap_span(next_page);
    if (next && next->state == SPAN_FREE && next->first_page == next_page)
        return next;
    return NULL;
}

/* Merges span with the free spans on either side, then puts it on its free list. */
static void insert_coalesced(struct span *span)
{
    struct span *prev = free_span_before(span);
    if (prev) {
        free_list_remove(prev);
        merge_dirt(span, prev, span);
        span->first_page = prev->first_page;
        span->pages += prev->pages;
        absorb_neighbour(span, prev);
    }
    struct span *next = free_span_after(span);
    if (next) {
        free_list_remove(next);
        merge_dirt(span, span, next);
        span->pages += next->pages;
        absorb_neighbour(span, next);
    }
    pagemap_set_span(span->first_page, span);
    pagemap_set_span(span_last_page(span), span);
    free_list_insert(span);
}

/* Takes `pages` off the front of free span (on a list): the span returned is off every
 * list, exactly `pages` long and marked SPAN_LARGE (taken) so that putting pieces next
 * to it back on the free lists never merges them into it; publish() gives it its final
 * state. The rest goes back to the free lists. */
static struct span *carve(struct span *span, size_t pages)
{
    free_list_remove(span);
    span->state = SPAN_LARGE;
    if (span->pages > pages) {
        struct span *tail = split_tail(span, pages);
        if (!tail) {
            free_list_insert(span);
            return NULL;
        }
        free_list_insert(tail);
    }
    return span;
}

/* Puts an in-use span (small or large) back on the free lists, freed at `now`.
 * Under heap_lock. */
static void free_in_use_span(struct span *span, uint64_t now)
{
    span->last_used_ms = now;
    span->released = 0;
    if (span->state == SPAN_SMALL) {
        pagemap_set_size_class_range(span->first_page, span->pages, 0);
        bitmap_recycle(span);
    } else {
        large_in_use_pages -= span->pages;
        pagemap_set_size_class_range(span->first_page, 1, 0);
    }
    set_wholly_dirty(span);           /* the program may have written any page of it */
    free_dirty_pages += span->pages;
    insert_coalesced(span);
}

/* Takes the process's spare large block back onto the free lists (large_spare.h);
 * false when there was none. Under heap_lock. */
static bool reclaim_spare(void)
{
    struct span *span = large_spare_detach();
    if (!span)
        return false;
    free_in_use_span(span, clock_ms());
    return true;
}

/* ---- growth ------------------------------------------------------------------------ */

/* Maps at least `pages` more pages from the OS onto the free lists. */
static bool grow(size_t pages)
{
    size_t bytes = (pages << PAGE_SHIFT);
    bytes = (bytes + OS_CHUNK_SIZE - 1) & ~(OS_CHUNK_SIZE - 1);
    bytes = bytes < HEAP_GROWTH_MIN ? HEAP_GROWTH_MIN : bytes + HEAP_GROWTH_MIN;
    void *memory = os_map_aligned(bytes, OS_CHUNK_SIZE);
    if (!memory && bytes > (pages << PAGE_SHIFT)) {
        bytes = pages << PAGE_SHIFT;          /* near a limit: ask for just enough */
        memory = os_map_aligned(bytes, PAGE_SIZE);
    }
    if (!memory)
        return false;
    struct span *span = span_new();
    if (!span || !pagemap_ensure(page_of(memory), bytes >> PAGE_SHIFT)) {
        if (span)
            span_recycle(span);
        os_unmap(memory, bytes);
        return false;
    }
    span->first_page = page_of(memory);
    span->pages = bytes >> PAGE_SHIFT;
    span->last_used_ms = clock_ms();
    span->released = 1;               /* fresh pages are not resident */
    set_wholly_clean(span);
    __atomic_store_n(&mapped_pages, mapped_pages + span->pages, __ATOMIC_RELAXED);
    if (!heap_end_page || span->first_page < heap_first_page)
        heap_first_page = span->first_page;
    if (span->first_page + span->pages > heap_end_page)
        heap_end_page = span->first_page + span->pages;
    insert_coalesced(span);
    return true;
}

static size_t release_free_spans(uint64_t idle_before_ms, bool *waiting);

/* PAGODA_MEMORY_LIMIT: when handing out `pages` more could take the heap's resident
 * estimate (pages in use, and free pages that may be resident) past the limit, every
 * dirty free page goes back to the OS first. The limit is soft: no allocation fails
 * for it. */
static void enforce_memory_limit(size_t pages)
{
    size_t limit_pages = pagoda_config.memory_limit >> PAGE_SHIFT;
    if (!limit_pages || mapped_pages - free_pages + free_dirty_pages + pages <= limit_pages)
        return;
    reclaim_spare();
    bool waiting;
    if (free_dirty_pages)
        release_free_spans(UINT64_MAX, &waiting);
}

/* A free span of at least `pages` pages chosen by find: from the free lists, else
 * with the spare large block back on them, else after growing the heap once. */
static struct span *find_or_grow(size_t pages, struct span *(*find)(size_t pages))
{
    enforce_memory_limit(pages);
    struct span *span = find(pages);
    if (!span && reclaim_spare())
        span = find(pages);
    if (!span && grow(pages))
        span = find(pages);
    return span;
}

/* ---- in-use spans ------------------------------------------------------------------ */

/* Hands the span out: its pages leave the free pages (and their dirty count). */
static void publish(struct span *span, unsigned size_class)
{
    free_dirty_pages -= dirty_page_count(span);
    if (pagoda_debug.poison)
        debug_verify_free_pages(span);
    if (size_class) {
        span->state = SPAN_SMALL;
        span->size_class = (uint8_t)size_class;
        pagemap_set_span_range(span->first_page, span->pages, span);
        pagemap_set_size_class_range(span->first_page, span->pages, size_class);
    } else {
        span->state = SPAN_LARGE;
        span->size_class = 0;
        large_in_use_pages += span->pages;
        pagemap_set_size_class_range(span->first_page, 1, SIZE_CLASS_LARGE_HEAD);
    }
}

struct span *page_heap_alloc(size_t pages, unsigned size_class)
{
    lock_acquire(&heap_lock);
    struct span *span = find_or_grow(pages, free_list_find);
    if (span)
        span = carve(span, pages);
    if (span && size_class) {
        span->free_bits = bitmap_for(span, size_class_table[size_class].objects);
        if (!span->free_bits) {
            insert_coalesced(span);
            span = NULL;
        }
    }
    if (span)
        publish(span, size_class);
    lock_release(&heap_lock);
    return span;
}

/* The longest free span of at least `pages` pages, or NULL (only long spans are
 * looked at: a short one leaves little room to grow anyway). */
static struct span *longest_free_span(size_t pages)
{
    struct span *longest = NULL;
    for (struct span *span = large_free.head; span; span = span->next)
        if (span->pages >= pages && (!longest || span->pages > longest->pages))
            longest = span;
    return longest;
}

struct span *page_heap_alloc_for_growth(size_t pages)
{
    lock_acquire(&heap_lock);
    struct span *span = find_or_grow(pages, longest_free_span);
    if (!span)                    /* the OS refused more: any span that fits */
        span = free_list_find(pages);
    if (span)
        span = carve(span, pages);
    if (span)
        publish(span, 0);
    lock_release(&heap_lock);
    return span;
}

struct span *page_heap_alloc_aligned(size_t pages, size_t align_pages)
{
    if (align_pages <= 1)
        return page_heap_alloc(pages, 0);
    size_t padded = pages + align_pages - 1;
    if (padded < pages)
        return NULL;
    lock_acquire(&heap_lock);
    struct span *span = find_or_grow(padded, free_list_find);
    if (span)
        span = carve(span, padded);
    if (span) {
        size_t head = ((span->first_page + align_pages - 1) & ~(uintptr_t)(align_pages - 1)) - span->first_page;
        if (head) {
            struct span *aligned = split_tail(span, head);
            if (!aligned) {
                insert_coalesced(span);
                span = NULL;
            } else {
                insert_coalesced(span);
                span = aligned;
            }
        }
        if (span && span->pages > pages) {
            struct span *tail = split_tail(span, pages);
            if (tail)
                insert_coalesced(tail);
        }
        if (span)
            publish(span, 0);
    }
    lock_release(&heap_lock);
    return span;
}

void page_heap_free(struct span *span)
{
    uint64_t now = clock_ms();        /* read before the lock, not under it */
    lock_acquire(&heap_lock);
    free_in_use_span(span, now);
    lock_release(&heap_lock);
}

/* Moves the first `pages` pages of free span next (longer than that) to in-use span
 * before it. next's start moves instead of a piece being split off: no span structure
 * changes hands, and only the two pagemap entries at the new boundary change. A next
 * still long enough for the list of long spans stays where it is on it (its place
 * there depends only on its released flag, which this leaves as it is), which spares
 * a growing object's extensions a removal and an insertion. */
static void take_front_pages(struct span *span, struct span *next, size_t pages)
{
    bool stays_listed = next->pages - pages >= EXACT_LISTS;
    if (stays_listed)
        free_pages -= pages;
    else
        free_list_remove(next);
    size_t dirty;
    if (next->dirt == DIRT_PREFIX) {
        dirty = next->dirty_prefix < pages ? next->dirty_prefix : pages;
        next->dirty_prefix -= dirty;
    } else {
        dirty = pagemap_count_dirty(next->first_page, pages);
    }
    free_dirty_pages -= dirty;
    next->first_page += pages;
    next->pages -= pages;
    if (!stays_listed)
        free_list_insert(next);
    pagemap_set_span(next->first_page, next);
    span->pages += pages;
    pagemap_set_span(span_last_page(span), span);
}

bool page_heap_try_extend(struct span *span, size_t new_pages)
{
    size_t needed = new_pages - span->pages;
    bool extended = false;
    lock_acquire(&heap_lock);
    struct span *next = free_span_after(span);
    if (next && next->pages >= needed) {
        if (next->pages > needed) {
            take_front_pages(span, next, needed);
        } else {
            free_list_remove(next);
            free_dirty_pages -= dirty_page_count(next);
            span->pages += next->pages;
            span_recycle(next);
            pagemap_set_span(span_last_page(span), span);
        }
        large_in_use_pages += needed;
        extended = true;
    }
    lock_release(&heap_lock);
    return extended;
}

void page_heap_shrink(struct span *span, size_t new_pages)
{
    lock_acquire(&heap_lock);
    struct span *tail = split_tail(span, new_pages);
    if (tail)
        free_in_use_span(tail, clock_ms());
    lock_release(&heap_lock);
}

/* ---- release to the OS --------------------------------------------------------------- */

/* The free spans a release pass has queued the pages of (page_release.h), to be
 * settled once those pages are gone. The pass holds heap_lock from the first queued
 * span to the last settled one. */
#define RELEASE_PENDING_SPANS 64

struct span_release {
    struct page_release_batch pages;
    struct span *pending[RELEASE_PENDING_SPANS];
    unsigned count;
    size_t released;              /* pages the pass has given back */
};

/* Gives back what is queued, and settles the pending spans: under MADV_DONTNEED, a
 * span whose pages all read as zero now becomes a clean prefix span again. */
static void settle_spans(struct span_release *release)
{
    size_t released = page_release_finish(&release->pages);
    bool now_zero = page_release_zeroes();
    for (unsigned i = 0; now_zero && i < release->count; i++) {
        struct span *span = release->pending[i];
        uintptr_t page = span->first_page;
        size_t run;
        if (!pagemap_next_dirty_run(&page, page + span->pages, &run))
            set_wholly_clean(span);
    }
    if (now_zero)
        free_dirty_pages -= released;
    released_total_pages += released;
    release->released += released;
    release->count = 0;
    page_release_begin(&release->pages);
}

/* Queues the dirty pages of a free span and marks it released. Its dirt goes into the
 * pagemap's bits first, which the release reads and clears. Under MADV_FREE the pages
 * stay dirty (page_release.h), and only the `released` flag keeps later passes from
 * advising them again. */
static void queue_span(struct span_release *release, struct span *span)
{
    span->released = 1;
    if (span->dirt == DIRT_PREFIX && !span->dirty_prefix)
        return;
    if (release->count == RELEASE_PENDING_SPANS)
        settle_spans(release);
    materialize_dirt(span);
    page_release_queue(&release->pages, span->first_page, span->pages);
    release->pending[release->count++] = span;
}

/* Walks the list's unreleased spans (its front); each one it releases moves behind
 * the released ones. */
static void release_list(struct span_list *list, uint64_t idle_before_ms, bool *waiting,
                         struct span_release *release)
{
    for (struct span *span = list->head, *next; span && !span->released; span = next) {
        next = span->next;
        if (span->last_used_ms <= idle_before_ms) {
            queue_span(release, span);
            span_list_remove(list, span);
            span_list_push_back(list, span);
        } else {
            *waiting = true;
        }
    }
}

/* Releases every free span unused since idle_before_ms; returns pages, and sets
 * *waiting if a span was kept for being used since. Under heap_lock. */
static size_t release_free_spans(uint64_t idle_before_ms, bool *waiting)
{
    struct span_release release = { .count = 0, .released = 0 };
    page_release_begin(&release.pages);
    for (size_t n = 1; n < EXACT_LISTS; n++)
        release_list(&exact_free[n], idle_before_ms, waiting, &release);
    release_list(&large_free, idle_before_ms, waiting, &release);
    settle_spans(&release);
    return release.released;
}

size_t page_heap_release_idle(uint64_t idle_before_ms, bool *waiting)
{
    lock_acquire(&heap_lock);
    size_t released = free_dirty_pages ? release_free_spans(idle_before_ms, waiting) : 0;
    lock_release(&heap_lock);
    return released << PAGE_SHIFT;
}

/* ---- statistics and fork ----------------------------------------------------------- */

size_t page_heap_mapped_bytes(void)
{
    return __atomic_load_n(&mapped_pages, __ATOMIC_RELAXED) << PAGE_SHIFT;
}

void page_heap_get_stats(struct page_heap_stats *stats)
{
    lock_acquire(&heap_lock);
    stats->mapped_bytes = mapped_pages << PAGE_SHIFT;
    stats->free_bytes = free_pages << PAGE_SHIFT;
    stats->free_dirty_bytes = free_dirty_pages << PAGE_SHIFT;
    stats->large_in_use_bytes = large_in_use_pages << PAGE_SHIFT;
    stats->released_total_bytes = released_total_pages << PAGE_SHIFT;
    lock_release(&heap_lock);
}

void page_heap_lock_for_fork(void)
{
    lock_acquire(&heap_lock);
}

void page_heap_unlock_after_fork(int in_child)
{
    if (in_child)
        lock_reset(&heap_lock);
    else
        lock_release(&heap_lock);
}
