/*
 * central_list.c — central free lists and their transfer caches (central_list.h).
 *
 * Invariants, under a list's lock (which also guards the slot of a thread's owned
 * span: it is set and cleared only under it, by its thread or by a release pass
 * draining an idle thread's cache; an unlocked read only skips an empty slot):
 *   - the list's transfer slots [0, transfer_count) each hold a batch of exactly
 *     `batch` objects: as a chain (its head in the list's slot i), or, where bit i
 *     of transfer_arrays is set, as an array of their addresses, which the thread
 *     that gives it reads out of its chain before the lock, and the one that takes it
 *     links into a chain after the lock (transfer_batch_fill, transfer_batch_link);
 *   - a span of this class is on `partial` exactly when 0 < free_count and no thread
 *     owns it; a span whose objects are all free is returned to the page heap at once
 *     unless a thread owns it;
 *   - an owned span has free objects while it is owned, except in the moment between
 *     its owner taking its last and giving it up; the owner's slot is the only
 *     reference to it, and only the owner takes objects from it (frees from any thread
 *     go into its bitmap as into any span's);
 *   - the released spans of `partial` form its tail: allocation takes from the head,
 *     so it prefers spans whose pages are still resident, and a release pass stops at
 *     the first released span it meets;
 *   - span bitmaps record only objects inside the span: objects out in caches, in the
 *     transfer cache or in use by the program are clear bits;
 *   - a span's `shard` is the shard whose list holds it (the one that cut it, or that
 *     took it over: steal_span), and only that list's lock guards the span (its
 *     bitmap, counts and list links, and `shard` itself, which changes only while both
 *     lists' locks are held); objects in a transfer cache may belong to spans of any
 *     shard.
 * A thread waits for at most one list's lock at a time: giving objects back to spans
 * of several shards moves from one lock to the next (lock_for_span), and taking a
 * span over from another shard only tries that shard's lock.
 */
#define _GNU_SOURCE    /* sched_getaffinity, CPU_COUNT */
#include "central/central_list.h"

#include "allocator/clock.h"
#include "allocator/config.h"
#include "allocator/debug.h"
#include "allocator/lock.h"
#include "allocator/log.h"
#include "allocator/size_classes.h"
#include "central/metadata.h"
#include "central/page_heap.h"
#include "central/page_release.h"
#include "central/span.h"
#include "pagemap/pagemap.h"

#include <sched.h>
#include <string.h>

#define TRANSFER_SLOTS 32
/* What a class's transfer caches hold at most, in bytes (transfer_capacity): with
 * threads on one shard, TRANSFER_BYTES in it; with threads on several and the lists
 * uncontended, TRANSFER_BYTES shared among them, SHARD_TRANSFER_BYTES each at least,
 * for a producer and a consumer on shards of their own hand every batch over through
 * the producer's (`xmalloc` at 2 threads: 3 % more time with 64 KiB, 3 % less with
 * 256 KiB, than with 512 KiB on one shard); once the lists are contended, which a
 * process with more threads than CPUs soon is, SHARD_TRANSFER_BYTES each: spread over
 * shards, free objects wait in more places (larson at 8 threads, spread over 8 shards
 * from its start: peak RSS 18.6 MiB with 64 KiB a shard and class, 16.1 MiB with
 * 32 KiB, 14.3 MiB with one batch; 12.3 MiB on one shard). */
#define TRANSFER_BYTES (512 * 1024)
#define SHARD_TRANSFER_BYTES (32 * 1024)

/* All zero is an empty list: start-up writes none of them, and release passes and
 * statistics skip a list that has never held a span (`used`, read without the lock), so
 * a process touches the pages of only the lists it uses (and fork's, which takes all
 * the locks). A list is one cache line; its transfer slots live apart from it
 * (transfer_heads), so that the locks of a shard's lists lie on two pages, not
 * seven: fork takes every one of them, and each page it writes costs the parent and
 * the child a copy-on-write fault after every fork (docs/design.md, "Lock order"). */
struct central_list {
    pagoda_lock lock;
    uint8_t used;                    /* it has held a span; never cleared */
    unsigned transfer_count;
    uint32_t transfer_arrays;        /* bit i: slot i holds an array, not a chain */
    uint64_t transfer_last_used_ms;  /* when a batch last left the transfer cache */
    size_t spans;
    size_t free_in_spans;
    struct span_list partial;
} CACHE_ALIGNED;
_Static_assert(sizeof(struct central_list) == CACHE_LINE_SIZE, "a list is one cache line");

/* A list's transfer cache: TRANSFER_SLOTS batches, each a chain or an array of
 * object addresses. A batch given by a thread that only frees objects of its class (a
 * consumer of another thread's objects) goes in as an array: its links are in lines
 * the consumer wrote last, and a producer popping them one by one would wait for each
 * line before it learnt where the next object is. Linking an array writes every
 * object at once, and the lines come over together. A producer thread allocating
 * 64-byte objects that a consumer thread frees (cross_thread_free/64): 11-13 M
 * objects/s with chains, 42-45 M/s with arrays (jemalloc, whose thread caches never
 * touch the objects, 18.5 M/s). An array costs more where the lines come over anyway:
 * `xmalloc`'s consumer reads every byte of each object before it frees it, and at 2
 * threads the arrays took it from 0.47-0.54 to 0.52-0.55 s (0.07 s more CPU time; 4
 * lines of addresses cross between the cores with every batch). Other batches stay
 * chains, whose memory is the objects' own: arrays for every batch cost
 * batch_free_* 2-7 %.
 *
 * A slot of the list's `transfer_slots` holds a chain's head; an array lies in a
 * region of its own, in which a shard's arrays are laid out slot by slot (slot k of
 * every list of the shard, then slot k + 1), so that the memory a process touches
 * grows with the arrays it holds, not by a page for every list that has held one.
 * Holding chain heads there too, a word of each 256-byte slot, took larson's peak at 2
 * threads from 6.9-7.0 to 7.1-7.3 MiB. */
typedef void *transfer_slots[TRANSFER_SLOTS];
typedef void *transfer_array[SIZE_CLASS_BATCH_MAX];
_Static_assert(TRANSFER_SLOTS <= 32, "transfer_arrays has a bit for each slot");

/* Shard 0's lists are static, and their pages untouched until a class is used; the
 * other shards' lists are set up together when a second thread's cache joins, or the
 * lists are first found contended (central_shards_open).
 * Page-aligned, the lists of the default classes fill two pages, not three. */
static struct central_list shard0_lists[SIZE_CLASS_MAX_COUNT + 1] __attribute__((aligned(PAGE_SIZE))) LARGE_STATIC;
static transfer_slots shard0_transfer[SIZE_CLASS_MAX_COUNT + 1] CACHE_ALIGNED LARGE_STATIC;
static transfer_array shard0_arrays[TRANSFER_SLOTS * (SIZE_CLASS_MAX_COUNT + 1)] CACHE_ALIGNED LARGE_STATIC;
static struct central_list *shard_lists[CENTRAL_MAX_SHARDS] = { shard0_lists };
static transfer_slots *shard_transfer[CENTRAL_MAX_SHARDS] = { shard0_transfer };
static transfer_array *shard_arrays[CENTRAL_MAX_SHARDS] = { shard0_arrays };
/* shard_lists, shard_transfer and shard_arrays [0 .. shards_set_up) exist;
 * stored with release order after them. */
static unsigned shards_set_up = 1;

/* Bit s: shard s has live thread caches (central_set_inhabited_shards). */
static uint64_t inhabited_shards = 1;

void central_set_inhabited_shards(uint64_t shards)
{
    __atomic_store_n(&inhabited_shards, shards, __ATOMIC_RELAXED);
}

static bool shard_inhabited(unsigned shard)
{
    return __atomic_load_n(&inhabited_shards, __ATOMIC_RELAXED) >> shard & 1;
}

/* Shards per CPU by default: more shards than CPUs, as jemalloc has arenas, so that
 * threads outnumbering CPUs (which the scheduler preempts, locks held or not) still
 * find their lists free. */
#define SHARDS_PER_CPU 4

static unsigned configured_shards(void)
{
    if (pagoda_config.central_shards)
        return pagoda_config.central_shards;
    cpu_set_t cpus;
    unsigned count = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? (unsigned)CPU_COUNT(&cpus) : 1;
    count *= SHARDS_PER_CPU;
    return count > CENTRAL_MAX_SHARDS ? CENTRAL_MAX_SHARDS : count;
}

unsigned central_shards_open(bool spread)
{
    unsigned count = __atomic_load_n(&shards_set_up, __ATOMIC_RELAXED);
    if (count > 1 || !spread)
        return count;
    count = configured_shards();
    size_t lists = (size_t)size_class_count + 1;
    size_t arrays = TRANSFER_SLOTS * lists;
    size_t bytes = (count - 1) * (lists * (sizeof(struct central_list) + sizeof(transfer_slots)) +
                                  arrays * sizeof(transfer_array));
    struct central_list *more = count > 1 ? metadata_alloc(bytes) : NULL;
    if (!more)
        return 1;
    transfer_slots *more_slots = (transfer_slots *)(more + (count - 1) * lists);
    transfer_array *more_arrays = (transfer_array *)(more_slots + (count - 1) * lists);
    for (unsigned shard = 1; shard < count; shard++) {
        shard_lists[shard] = more + (shard - 1) * lists;
        shard_transfer[shard] = more_slots + (shard - 1) * lists;
        shard_arrays[shard] = more_arrays + (shard - 1) * arrays;
    }
    __atomic_store_n(&shards_set_up, count, __ATOMIC_RELEASE);
    return count;
}

static struct central_list *list_of(unsigned shard, unsigned size_class)
{
    return &shard_lists[shard][size_class];
}

/* The chain heads of the transfer cache of shard `shard`'s list of size_class. */
static void **transfer_heads(unsigned shard, unsigned size_class)
{
    return shard_transfer[shard][size_class];
}

/* The array of slot `slot` of that transfer cache: shard 0 has a list for every class
 * id, the others for the active table's classes. */
static void **transfer_array_of(unsigned shard, unsigned size_class, unsigned slot)
{
    size_t lists = shard ? (size_t)size_class_count + 1 : SIZE_CLASS_MAX_COUNT + 1;
    return shard_arrays[shard][slot * lists + size_class];
}

/* Reads the `count` objects of a chain into `objects`. */
static void transfer_batch_fill(void **objects, void *chain, unsigned count)
{
    for (unsigned i = 0; i < count; i++, chain = *(void **)chain)
        objects[i] = chain;
}

/* Links the `count` objects (at least 1) of `objects` into a chain, in that order, and
 * returns its head. */
static void *transfer_batch_link(void *const *objects, unsigned count)
{
    for (unsigned i = 0; i + 1 < count; i++)
        *(void **)objects[i] = objects[i + 1];
    *(void **)objects[count - 1] = NULL;
    return objects[0];
}

/* Sleeps counted in the window that started at sleep_window_start_ms; approximate
 * when threads count at once, which is all the decision needs. */
static uint64_t sleep_window_start_ms;
static unsigned sleeps_in_window;
static bool lists_contended;

void central_note_sleep(void)
{
    uint64_t now = clock_ms();
    if (now - __atomic_load_n(&sleep_window_start_ms, __ATOMIC_RELAXED) >= CENTRAL_SPREAD_WINDOW_MS) {
        __atomic_store_n(&sleep_window_start_ms, now, __ATOMIC_RELAXED);
        __atomic_store_n(&sleeps_in_window, 0, __ATOMIC_RELAXED);
    }
    if (__atomic_add_fetch(&sleeps_in_window, 1, __ATOMIC_RELAXED) >= CENTRAL_SPREAD_SLEEPS)
        __atomic_store_n(&lists_contended, true, __ATOMIC_RELAXED);
}

bool central_contended(void)
{
    return __atomic_load_n(&lists_contended, __ATOMIC_RELAXED);
}

/* Whole batches a transfer cache of size_class holds now, 1 .. TRANSFER_SLOTS
 * (TRANSFER_BYTES explains the sizes). Worked out at each insertion from the two
 * inputs, each one atomic word, so that no update can leave it stale; a list over it
 * takes no more until it is below it. */
static unsigned transfer_capacity(unsigned size_class)
{
    size_t bytes = SHARD_TRANSFER_BYTES;
    if (!central_contended()) {
        unsigned busy = (unsigned)__builtin_popcountll(__atomic_load_n(&inhabited_shards, __ATOMIC_RELAXED));
        bytes = busy > 1 ? TRANSFER_BYTES / busy : TRANSFER_BYTES;
        bytes = bytes < SHARD_TRANSFER_BYTES ? SHARD_TRANSFER_BYTES : bytes;
    }
    const struct size_class_info *info = &size_class_table[size_class];
    size_t capacity = bytes / ((size_t)info->batch * info->size);
    return capacity < 1 ? 1 : capacity > TRANSFER_SLOTS ? TRANSFER_SLOTS : (unsigned)capacity;
}

unsigned central_shard_count(void)
{
    return __atomic_load_n(&shards_set_up, __ATOMIC_ACQUIRE);
}

/* Takes a list's lock; every list lock but fork's is taken here, so that its sleeps
 * are counted. */
static void list_lock(struct central_list *list)
{
    if (unlikely(lock_acquire_slept(&list->lock)))
        central_note_sleep();
}

/* The shard of `span`, the pagemap's span for an object (read without its lock: see
 * lock_for_span); `otherwise` for no span of small objects, which the give-back then
 * reports under that shard's lock. */
static unsigned shard_of_span(const struct span *span, unsigned otherwise)
{
    return span && span->state == SPAN_SMALL ? __atomic_load_n(&span->shard, __ATOMIC_RELAXED) : otherwise;
}

/* lock_for_span when the caller holds no lock, or the wrong one. */
static NOINLINE struct central_list *lock_for_span_switch(struct central_list *locked, unsigned *shard,
                                                          unsigned size_class, const struct span *span)
{
    for (;;) {
        unsigned object_shard = shard_of_span(span, *shard);
        if (locked && object_shard == *shard)
            return locked;
        if (locked)
            lock_release(&locked->lock);
        *shard = object_shard;
        locked = list_of(object_shard, size_class);
        list_lock(locked);
    }
}

/* Makes the caller hold the lock of the list (of class size_class) of span's shard,
 * and returns that list. The caller holds the lock of `locked`, the list of shard
 * *shard, or no lock (locked NULL); *shard is updated. A span changes shards only
 * under its old shard's lock, so the shard read before the lock was taken is read
 * again under it until the two agree. Inline for the common case of a chain whose
 * objects all belong to the shard whose lock is held. */
static inline struct central_list *lock_for_span(struct central_list *locked, unsigned *shard, unsigned size_class,
                                                 const struct span *span)
{
    if (likely(locked && shard_of_span(span, *shard) == *shard))
        return locked;
    return lock_for_span_switch(locked, shard, size_class, span);
}

/* ---- spans ---------------------------------------------------------------------------- */

/* Records that list holds spans or batches (or has held), for the release passes and
 * statistics, which skip a list that never has. Under its lock. */
static void list_mark_used(struct central_list *list)
{
    if (!__atomic_load_n(&list->used, __ATOMIC_RELAXED))
        __atomic_store_n(&list->used, 1, __ATOMIC_RELAXED);
}

/* Cuts a fresh span for the list of shard `shard` and class size_class: every object
 * free. */
static struct span *span_cut(struct central_list *list, unsigned shard, unsigned size_class)
{
    const struct size_class_info *info = &size_class_table[size_class];
    struct span *span = page_heap_alloc(info->pages, size_class);
    if (!span)
        return NULL;
    /* Written atomically, as steal_span writes it, for readers without the lock:
     * lock_for_span. */
    __atomic_store_n(&span->shard, (uint8_t)shard, __ATOMIC_RELAXED);
    list_mark_used(list);
    span->object_count = info->objects;
    span->free_count = info->objects;
    span->bitmap_hint = 0;
    span->released = 0;
    span->owned = 0;
    /* Objects will be written: from now on any page may hold data, and the pagemap's
     * bits say which (central release clears them page by page). */
    pagemap_mark_dirty(span->first_page, span->pages);
    span->dirt = DIRT_BITS;
    for (unsigned w = 0; w < (info->objects + 63) / 64; w++) {
        unsigned first = w * 64;
        uint64_t bits = 0;
        if (first < info->objects)
            bits = info->objects - first >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << (info->objects - first)) - 1;
        span->free_bits[w] = bits;
    }
    if (pagoda_debug.poison)       /* every free object of a span carries the pattern */
        memset(span_start(span), DEBUG_FREED_BYTE, span->pages << PAGE_SHIFT);
    list->spans++;
    list->free_in_spans += info->objects;
    span_list_push(&list->partial, span);
    return span;
}

/* Appends object to the chain whose last link is *tail_link. */
static void chain_append(void ***tail_link, void *object)
{
    **tail_link = object;
    *tail_link = (void **)object;
}

/* Before objects leave span (on its class's partial list): its pages may be written
 * again, so a span whose free pages were released (they read as zero) gets its dirty
 * bits back and leaves the released tail of the list for its head. */
static void span_begin_take(struct central_list *list, struct span *span)
{
    span->last_used_ms = clock_ms();
    if (span->released) {
        pagemap_mark_dirty(span->first_page, span->pages);
        span->released = 0;
        if (!span->owned) {
            span_list_remove(&list->partial, span);
            span_list_push(&list->partial, span);
        }
    }
}

/* After `taken` objects left span: the list's count, and a span with no free object
 * leaves the partial list (an owned span is not on it). */
static void span_end_take(struct central_list *list, struct span *span, unsigned taken)
{
    list->free_in_spans -= taken;
    if (!span->free_count && !span->owned)
        span_list_remove(&list->partial, span);
}

/* Moves up to `want` objects from span onto the chain ending at *tail_link, in address
 * order; returns how many. */
static unsigned span_take(struct central_list *list, struct span *span, unsigned want, size_t object_size,
                          void ***tail_link)
{
    char *base = span_start(span);
    span_begin_take(list, span);
    unsigned taken = 0;
    unsigned w = span->bitmap_hint;
    while (taken < want && span->free_count) {
        uint64_t bits = span->free_bits[w];
        if (!bits) {
            w++;
            continue;
        }
        unsigned bit = (unsigned)__builtin_ctzll(bits);
        span->free_bits[w] = bits & (bits - 1);
        span->free_count--;
        chain_append(tail_link, base + (size_t)(w * 64 + bit) * object_size);
        taken++;
    }
    span->bitmap_hint = (uint16_t)w;
    span_end_take(list, span, taken);
    return taken;
}

/* Takes the objects of the first cache line of span whose objects are all free — line
 * objects of object_size, line * object_size == CACHE_LINE_SIZE, so lines start at
 * multiples of line within each bitmap word — onto the chain ending at *tail_link.
 * Returns false, taking nothing, when span has no such line. */
static bool span_take_free_line(struct central_list *list, struct span *span, unsigned line,
                                size_t object_size, void ***tail_link)
{
    uint64_t mask = line == 64 ? ~(uint64_t)0 : ((uint64_t)1 << line) - 1;
    unsigned words = (span->object_count + 63) / 64;
    for (unsigned w = span->bitmap_hint; w < words; w++) {
        uint64_t bits = span->free_bits[w];
        for (unsigned shift = 0; bits && shift < 64; shift += line) {
            if (((bits >> shift) & mask) != mask)
                continue;
            span_begin_take(list, span);
            span->free_bits[w] &= ~(mask << shift);
            span->free_count -= line;
            char *first = (char *)span_start(span) + (size_t)(w * 64 + shift) * object_size;
            for (unsigned i = 0; i < line; i++)
                chain_append(tail_link, first + i * object_size);
            span_end_take(list, span, line);
            return true;
        }
    }
    return false;
}

/* Stops the process; the list's lock is released first, so that a SIGABRT handler
 * that allocates does not deadlock on it. */
static COLD void report_bad_free(struct central_list *list, void *object, const char *why)
{
    lock_release(&list->lock);
    pagoda_fatal("free(): %s %p", why, object);
}

/* Whether a span's objects are all free and it goes to the page heap. With poison it
 * stays with its class, so that a write after free is caught, naming the object, when
 * the object is reused. */
static bool span_leaves_class(const struct span *span)
{
    return span->free_count == span->object_count && !pagoda_debug.poison;
}

/* A span whose objects are all free, on no list, leaves its class for the page heap. */
static void span_return_to_page_heap(struct central_list *list, struct span *span)
{
    list->spans--;
    list->free_in_spans -= span->object_count;
    page_heap_free(span);
}

/* Returns one object to `span`, the pagemap's span for it, filled with `fill` first
 * when fill >= 0; gives the span back to the page heap when it is all free, unless a
 * thread owns it. */
static void span_give_back(struct central_list *list, unsigned size_class, struct span *span, void *object,
                           int fill)
{
    const struct size_class_info *info = &size_class_table[size_class];
    if (unlikely(!span || span->state != SPAN_SMALL || span->size_class != size_class))
        report_bad_free(list, object, "invalid pointer");
    size_t offset = (size_t)((char *)object - (char *)span_start(span));
    uint32_t index = size_class_object_index(info, offset);
    if (unlikely((size_t)index * info->size != offset || index >= span->object_count))
        report_bad_free(list, object, "invalid pointer (not the start of an object)");
    uint64_t bit = (uint64_t)1 << (index % 64);
    if (unlikely(span->free_bits[index / 64] & bit))
        report_bad_free(list, object, "double free of");
    if (fill >= 0)
        memset(object, fill, info->size);
    span->free_bits[index / 64] |= bit;
    if (index / 64 < span->bitmap_hint)
        span->bitmap_hint = (uint16_t)(index / 64);
    span->free_count++;
    list->free_in_spans++;
    if (span->owned)            /* its owner will allocate it again */
        return;
    if (span->free_count == 1) {
        span_list_push(&list->partial, span);
    } else if (span->released) {
        /* Pages may have become free: back among the spans a release pass examines. */
        span->released = 0;
        span_list_remove(&list->partial, span);
        span_list_push(&list->partial, span);
    }
    if (span_leaves_class(span)) {
        span_list_remove(&list->partial, span);
        span_return_to_page_heap(list, span);
    }
}

/* Gives back `count` objects of class size_class chained from head (count == -1u: up
 * to the chain's end), each under the lock of its span's shard. The caller holds the
 * lock of `locked`, a list of that class; the function moves from lock to lock as the
 * objects' shards change and returns the list whose lock it holds at the end. */
static struct central_list *give_back_chain(struct central_list *locked, unsigned shard, unsigned size_class,
                                            void *head, unsigned count)
{
    for (void *object = head; object && count--; ) {
        void *next = *(void **)object;
        struct span *span = pagemap_span(page_of(object));
        locked = lock_for_span(locked, &shard, size_class, span);
        span_give_back(locked, size_class, span, object, -1);
        object = next;
    }
    return locked;
}

/* Takes over a partial span of the class from another shard, for `list` of shard
 * `shard`, whose lock the caller holds: free objects left in the spans of a shard whose
 * threads have exited or gone quiet then serve the threads that allocate, instead of
 * fresh spans. Only from a list with more than one partial span, its tail (the span
 * its threads would allocate from last), so that a shard whose threads are busy keeps
 * the span they use. The other list's lock is only tried, never waited for. Returns
 * the span, now on list's partial list, or NULL. */
static struct span *steal_span(struct central_list *list, unsigned shard, unsigned size_class)
{
    unsigned shards = __atomic_load_n(&shards_set_up, __ATOMIC_ACQUIRE);
    for (unsigned i = 1; i < shards; i++) {
        unsigned other_shard = (shard + i) % shards;
        struct central_list *other = list_of(other_shard, size_class);
        if (!__atomic_load_n(&other->used, __ATOMIC_RELAXED) || !lock_try_acquire(&other->lock))
            continue;
        struct span *span = other->partial.tail;
        /* A shard's last partial span is left to its threads; a shard without threads
         * (those on trial went back to shard 0) keeps none. */
        if (span && (span != other->partial.head || !shard_inhabited(other_shard))) {
            span_list_remove(&other->partial, span);
            other->spans--;
            other->free_in_spans -= span->free_count;
            __atomic_store_n(&span->shard, (uint8_t)shard, __ATOMIC_RELAXED);
        } else {
            span = NULL;
        }
        lock_release(&other->lock);
        if (!span)
            continue;
        list_mark_used(list);
        list->spans++;
        list->free_in_spans += span->free_count;
        if (span->released)          /* the released spans form the tail */
            span_list_push_back(&list->partial, span);
        else
            span_list_push(&list->partial, span);
        return span;
    }
    return NULL;
}

/* A span for `list` (shard `shard`, lock held) when its partial list is empty: one
 * taken over from another shard, or a fresh one; NULL when the OS refuses memory. */
static struct span *span_for_empty_list(struct central_list *list, unsigned shard, unsigned size_class)
{
    struct span *span = steal_span(list, shard, size_class);
    return span ? span : span_cut(list, shard, size_class);
}

/* ---- batches ------------------------------------------------------------------------- */

/* Takes up to want - count more objects from the partial spans (cutting new ones as
 * needed) onto the chain; returns the new count. Under the list's lock. */
static unsigned take_from_spans(struct central_list *list, unsigned shard, unsigned size_class, unsigned want,
                                unsigned count, void ***tail_link)
{
    size_t object_size = size_class_table[size_class].size;
    while (count < want) {
        struct span *span = list->partial.head;
        if (!span && !(span = span_for_empty_list(list, shard, size_class)))
            break;
        count += span_take(list, span, want - count, object_size, tail_link);
    }
    return count;
}

/* The same for a thread that owns spans: from its own span *own first, then from spans
 * it takes over (off the partial list, or cut); a span it uses up is given up, full. */
static unsigned take_from_own_spans(struct central_list *list, unsigned shard, unsigned size_class,
                                    unsigned want, void ***tail_link, struct span **own)
{
    size_t object_size = size_class_table[size_class].size;
    unsigned count = 0;
    while (count < want) {
        struct span *span = *own;
        if (!span) {
            span = list->partial.head;
            if (!span && !(span = span_for_empty_list(list, shard, size_class)))
                break;
            span_list_remove(&list->partial, span);
            span->owned = 1;
            __atomic_store_n(own, span, __ATOMIC_RELAXED);
        }
        count += span_take(list, span, want - count, object_size, tail_link);
        if (!span->free_count) {
            span->owned = 0;
            __atomic_store_n(own, NULL, __ATOMIC_RELAXED);
        }
    }
    return count;
}

/* Takes the newest batch out of the list's transfer cache, under its lock: its chain's
 * head, or, for an array, NULL with the addresses copied to `objects`. */
static void *transfer_take(struct central_list *list, unsigned shard, unsigned size_class, void **objects)
{
    unsigned slot = --list->transfer_count;
    if (!(list->transfer_arrays >> slot & 1))
        return transfer_heads(shard, size_class)[slot];
    list->transfer_arrays &= ~((uint32_t)1 << slot);
    memcpy(objects, transfer_array_of(shard, size_class, slot), size_class_table[size_class].batch * sizeof objects[0]);
    return NULL;
}

unsigned central_remove_batch(unsigned shard, unsigned size_class, unsigned want, void **head,
                              struct span **own)
{
    struct central_list *list = list_of(shard, size_class);
    list_lock(list);
    if (want == size_class_table[size_class].batch && list->transfer_count) {
        void *objects[SIZE_CLASS_BATCH_MAX];
        void *chain = transfer_take(list, shard, size_class, objects);
        list->transfer_last_used_ms = clock_ms();
        lock_release(&list->lock);
        *head = chain ? chain : transfer_batch_link(objects, want);
        return want;
    }
    void *chain = NULL;
    void **tail_link = &chain;
    bool owns = own && size_class_table[size_class].size <= OWNED_SPAN_MAX_OBJECT_SIZE;
    unsigned count = owns ? take_from_own_spans(list, shard, size_class, want, &tail_link, own)
                          : take_from_spans(list, shard, size_class, want, 0, &tail_link);
    *tail_link = NULL;
    lock_release(&list->lock);
    *head = chain;
    return count;
}

/* The partial spans searched for a free line: the few at the head, which allocation
 * is using anyway. */
#define FREE_LINE_SPANS 4

unsigned central_remove_first_batch(unsigned shard, unsigned size_class, unsigned want, void **head)
{
    const struct size_class_info *info = &size_class_table[size_class];
    unsigned line = info->line_objects;
    if (line < 2 || line > want || line * info->size != CACHE_LINE_SIZE)
        return central_remove_batch(shard, size_class, want, head, NULL);
    struct central_list *list = list_of(shard, size_class);
    list_lock(list);
    void *chain = NULL;
    void **tail_link = &chain;
    unsigned count = 0, searched = 0;
    for (struct span *span = list->partial.head; span && searched < FREE_LINE_SPANS;
         span = span->next, searched++) {
        if (span_take_free_line(list, span, line, info->size, &tail_link)) {
            count = line;
            break;
        }
    }
    count = take_from_spans(list, shard, size_class, want, count, &tail_link);
    *tail_link = NULL;
    lock_release(&list->lock);
    *head = chain;
    return count;
}

unsigned central_insert_batch(unsigned size_class, void *head, unsigned count, unsigned own_shard,
                              bool as_array)
{
    unsigned shard = shard_of_span(pagemap_span(page_of(head)), own_shard);
    bool whole = count == size_class_table[size_class].batch;
    unsigned to = whole && !shard_inhabited(shard) ? own_shard : shard;
    struct central_list *list = list_of(to, size_class);
    void *objects[SIZE_CLASS_BATCH_MAX];
    as_array = as_array && whole;
    if (as_array)
        transfer_batch_fill(objects, head, count);
    list_lock(list);
    if (whole && list->transfer_count < transfer_capacity(size_class)) {
        list_mark_used(list);           /* another shard's batch may come to an unused list */
        unsigned slot = list->transfer_count++;
        if (as_array) {
            memcpy(transfer_array_of(to, size_class, slot), objects, count * sizeof objects[0]);
            list->transfer_arrays |= (uint32_t)1 << slot;
        } else {
            transfer_heads(to, size_class)[slot] = head;
        }
        lock_release(&list->lock);
        return shard;
    }
    if (to != shard) {
        lock_release(&list->lock);
        list = list_of(shard, size_class);
        list_lock(list);
    }
    list = give_back_chain(list, shard, size_class, head, count);
    lock_release(&list->lock);
    return shard;
}

void central_give_up_span(unsigned shard, unsigned size_class, struct span **own)
{
    if (!__atomic_load_n(own, __ATOMIC_RELAXED))     /* the common case, without the lock */
        return;
    struct central_list *list = list_of(shard, size_class);
    list_lock(list);
    struct span *span = *own;
    if (!span) {                /* a release pass and the owner both gave it up */
        lock_release(&list->lock);
        return;
    }
    __atomic_store_n(own, NULL, __ATOMIC_RELAXED);
    span->owned = 0;
    if (span_leaves_class(span))
        span_return_to_page_heap(list, span);
    else if (span->free_count)
        span_list_push(&list->partial, span);
    lock_release(&list->lock);
}

void central_free_object(unsigned size_class, void *object, int fill)
{
    unsigned shard = 0;
    struct span *span = pagemap_span(page_of(object));
    struct central_list *list = lock_for_span(NULL, &shard, size_class, span);
    span_give_back(list, size_class, span, object, fill);
    lock_release(&list->lock);
}

/* ---- release of idle memory -------------------------------------------------------- */

/* Spans released per lock hold: the system calls are what takes time, so a pass lets
 * the class's other users in between every so many, giving back what it queued
 * before each hold ends. (Recently used spans at the head are skipped again after
 * each re-hold; they are the few being allocated from.) */
#define RELEASE_SPANS_PER_HOLD 64

/* Whether every object overlapping span page `page` (an index within the span) is
 * free, so that the page holds nothing anyone needs. */
static bool span_page_unused(const struct span *span, const struct size_class_info *info, size_t page)
{
    uint32_t first = size_class_object_index(info, page << PAGE_SHIFT);
    uint32_t last = size_class_object_index(info, ((page + 1) << PAGE_SHIFT) - 1);
    if (last >= span->object_count)
        last = span->object_count - 1;
    for (uint32_t i = first; i <= last && i < span->object_count; i++)
        if (!(span->free_bits[i / 64] & ((uint64_t)1 << (i % 64))))
            return false;
    return true;
}

/* Queues for release the pages of a partly used span that hold only free objects.
 * Free objects store nothing in their memory (the span's bitmap tracks them), so
 * their pages can go without touching any object. */
static void span_release_unused_pages(struct span *span, const struct size_class_info *info,
                                      struct page_release_batch *batch)
{
    for (size_t page = 0; page < span->pages;) {
        size_t end = page;
        while (end < span->pages && span_page_unused(span, info, end))
            end++;
        if (end > page)
            page_release_queue(batch, span->first_page + page, end - page);
        page = end + 1;
    }
    span->released = 1;
}

/* Empties the transfer cache of shard `shard`'s list into the spans. Called with the
 * list's lock held, and returns with it held; the lock goes while objects go back to
 * other shards' spans. */
static void transfer_cache_flush(struct central_list *list, unsigned shard, unsigned size_class)
{
    while (list->transfer_count) {
        void *objects[SIZE_CLASS_BATCH_MAX];
        void *chain = transfer_take(list, shard, size_class, objects);
        if (!chain)
            chain = transfer_batch_link(objects, size_class_table[size_class].batch);
        struct central_list *locked = give_back_chain(list, shard, size_class, chain, -1u);
        if (locked != list) {
            lock_release(&locked->lock);
            list_lock(list);
        }
    }
}

/* central_release_idle for one shard's list. */
static size_t release_idle_in_list(struct central_list *list, unsigned shard, unsigned size_class,
                                   uint64_t idle_before_ms, bool *waiting)
{
    const struct size_class_info *info = &size_class_table[size_class];
    size_t released = 0;
    bool more = true;
    list_lock(list);
    if (list->transfer_count && list->transfer_last_used_ms <= idle_before_ms)
        transfer_cache_flush(list, shard, size_class);
    more = !pagoda_debug.poison;     /* released pages would lose the freed pattern */
    while (more) {
        unsigned examined = 0;
        more = false;
        struct page_release_batch batch;
        page_release_begin(&batch);
        struct span *next;
        for (struct span *span = list->partial.head; span && !span->released; span = next) {
            next = span->next;
            if (span->last_used_ms > idle_before_ms) {
                *waiting = true;
                continue;
            }
            span_release_unused_pages(span, info, &batch);
            span_list_remove(&list->partial, span);
            span_list_push_back(&list->partial, span);
            if (++examined == RELEASE_SPANS_PER_HOLD) {
                more = true;
                break;
            }
        }
        released += page_release_finish(&batch) << PAGE_SHIFT;   /* before the lock goes */
        if (more) {
            lock_release(&list->lock);
            list_lock(list);
        }
    }
    if (list->transfer_count)
        *waiting = true;
    lock_release(&list->lock);
    return released;
}

size_t central_release_idle(unsigned size_class, uint64_t idle_before_ms, bool *waiting)
{
    size_t released = 0;
    unsigned shards = __atomic_load_n(&shards_set_up, __ATOMIC_ACQUIRE);
    for (unsigned shard = 0; shard < shards; shard++) {
        struct central_list *list = list_of(shard, size_class);
        if (__atomic_load_n(&list->used, __ATOMIC_RELAXED))
            released += release_idle_in_list(list, shard, size_class, idle_before_ms, waiting);
    }
    return released;
}

/* ---- statistics and fork ----------------------------------------------------------- */

void central_get_stats(unsigned size_class, struct central_class_stats *stats)
{
    *stats = (struct central_class_stats){ 0 };
    unsigned shards = __atomic_load_n(&shards_set_up, __ATOMIC_ACQUIRE);
    for (unsigned shard = 0; shard < shards; shard++) {
        struct central_list *list = list_of(shard, size_class);
        if (!__atomic_load_n(&list->used, __ATOMIC_RELAXED))
            continue;
        list_lock(list);
        stats->spans += list->spans;
        stats->free_in_spans += list->free_in_spans;
        stats->in_transfer_cache += (size_t)list->transfer_count * size_class_table[size_class].batch;
        lock_release(&list->lock);
    }
}

/* Shards are set up under the thread caches' registry lock, which fork takes first. */
void central_lock_for_fork(void)
{
    for (unsigned shard = 0; shard < shards_set_up; shard++)
        for (unsigned c = 1; c <= size_class_count; c++)
            lock_acquire(&list_of(shard, c)->lock);
}

void central_unlock_after_fork(int in_child)
{
    for (unsigned shard = 0; shard < shards_set_up; shard++) {
        for (unsigned c = 1; c <= size_class_count; c++) {
            if (in_child)
                lock_reset(&list_of(shard, c)->lock);
            else
                lock_release(&list_of(shard, c)->lock);
        }
    }
}
