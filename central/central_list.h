/*
 * central_list.h — the middle tier: one central free list per size class, shared by
 * all threads, each behind its own lock.
 *
 * Objects move between thread caches and a central list in batches (a NULL-terminated
 * chain linked through each object's first word). In front of the spans sits a
 * transfer cache: an array of whole batches, so that a batch freed by one thread and
 * wanted by another moves in O(1) under the lock, its objects never touched. Only when
 * the transfer cache is empty (or full) do objects come from (or go back to) their
 * spans, which are cut from the page heap on demand and returned to it when all their
 * objects are free (and no thread owns them: see central_remove_batch).
 */
#ifndef PAGODA_CENTRAL_LIST_H
#define PAGODA_CENTRAL_LIST_H

#include "allocator/common.h"

#include <stdbool.h>

/* Prepares the lists for the installed size-class table. */
void central_init(void);

struct span;

/* Threads own spans (below) only of classes up to this object size: packing a
 * thread's objects matters most where many share a cache line or a page, and an owned
 * span, out of other threads' reach, keeps at most a page or two from them. */
#define OWNED_SPAN_MAX_OBJECT_SIZE 256

/* Takes up to `want` objects of class `size_class`; returns how many (0 when the OS
 * refuses memory) and their chain in *head.
 *
 * A thread cache passes `own`, its slot for the span it owns in this class (NULL in
 * the slot when it owns none), as Go's mcache keeps a span per class. For classes up
 * to OWNED_SPAN_MAX_OBJECT_SIZE, objects then come from that span alone until it has
 * none free, and next from one span the thread takes over. No other thread takes
 * objects from an owned span, so threads refilling at the same time do not split a
 * span's objects between them, and each thread's objects lie packed in fewer pages
 * (build/bench/thread_locality measures it). Frees from any
 * thread go back into an owned span's bitmap, for its owner to reuse. With own NULL
 * (no thread cache), objects come from the partial spans in turn. */
unsigned central_remove_batch(unsigned size_class, unsigned want, void **head, struct span **own);

/* The same, for a thread's first batch of a class: the chain starts with a whole
 * cache line of objects none of which is in use (when the class's objects tile cache
 * lines and a partial span has such a line), so that the object the thread uses first
 * shares no line with objects other threads write. */
unsigned central_remove_first_batch(unsigned size_class, unsigned want, void **head);

/* Gives up the span in a thread's slot *own, if any (its cache is being emptied, the
 * class has gone unused, or a release pass found the thread idle): the slot is
 * cleared and the span goes back on the partial list, or to the page heap when all
 * its objects are free. Safe while the owner runs: the slot changes only under the
 * class's lock. */
void central_give_up_span(unsigned size_class, struct span **own);

/* Gives back `count` objects of class `size_class`, chained from head. A pointer that
 * is not the start of a live object of that class, or that is already free in its
 * span, stops the process with a message naming it. */
void central_insert_batch(unsigned size_class, void *head, unsigned count);

/* Returns idle memory of one class to the OS: a transfer cache unused since
 * idle_before_ms goes back into its spans, and the pages of partly used spans that hold
 * only free objects and were not allocated from since idle_before_ms are released.
 * Returns the bytes released; sets *waiting (and leaves it alone otherwise) when a
 * transfer cache or a partial span was kept for being used since. Spans threads own
 * are left to their owners. */
size_t central_release_idle(unsigned size_class, uint64_t idle_before_ms, bool *waiting);

/* Gives back one object straight to its span, after the checks of
 * central_insert_batch; with fill >= 0, the object is filled with that byte first
 * (under the list's lock, once it is known to be a live object). */
void central_free_object(unsigned size_class, void *object, int fill);

struct central_class_stats {
    size_t spans;                 /* spans of this class held by the central list */
    size_t free_in_spans;         /* objects free inside those spans */
    size_t in_transfer_cache;     /* objects in the transfer cache */
};
void central_get_stats(unsigned size_class, struct central_class_stats *stats);

void central_lock_for_fork(void);
void central_unlock_after_fork(int in_child);

#endif /* PAGODA_CENTRAL_LIST_H */
