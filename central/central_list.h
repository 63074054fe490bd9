/*
 * central_list.h — the middle tier: a central free list per size class, each behind
 * its own lock, in shards.
 *
 * Objects move between thread caches and a central list in batches (a NULL-terminated
 * chain linked through each object's first word). In front of the spans sits a
 * transfer cache: an array of whole batches, so that a batch freed by one thread and
 * wanted by another moves in O(1) under the lock, its objects never touched. Only when
 * the transfer cache is empty (or full) do objects come from (or go back to) their
 * spans, which are cut from the page heap on demand and returned to it when all their
 * objects are free (and no thread owns them: see central_remove_batch).
 *
 * Shards: the tier is split into shards, each with a list per class, as jemalloc
 * splits its heap into arenas. The thread caches' registry places the threads
 * (thread_cache.c, shard_join): the first in shard 0, later ones each in the shard
 * with the fewest caches, on trial, so that threads working on their own objects do
 * not hand them to one another through shared lists and spans (cache lines moving
 * between cores at every batch); a thread found freeing mostly other shards' objects
 * goes back to shard 0, where one shard keeps free objects in one place. Once the
 * lists' locks are found contended (central_note_sleep), every thread takes the
 * emptiest shard, so that none waits for another's locks (nor for a holder the
 * scheduler preempted). A span belongs to one shard: its objects go back into its
 * bitmap under that shard's lock from whichever thread frees them, and a freed batch
 * goes to the transfer cache of its first object's shard while threads are on it, so
 * that objects a consumer thread frees travel back to their maker's shard in O(1), and
 * else to the freeing thread's, which reuses it. A shard that needs a span takes a
 * partial one over from another shard before it cuts a fresh one (not a shard's last,
 * unless no thread is on that shard), so that free objects left in the spans of
 * threads that went quiet, or went back to shard 0, are used.
 */
#ifndef PAGODA_CENTRAL_LIST_H
#define PAGODA_CENTRAL_LIST_H

#include "allocator/common.h"

#include <stdbool.h>

/* The most shards a process has (PAGODA_CENTRAL_SHARDS). */
#define CENTRAL_MAX_SHARDS 64

/* How many shards threads may be spread over: 1 at first; at the first call with
 * `spread`, the configured count (4 per CPU by default), whose lists are then set up.
 * Under the thread caches' registry lock. */
unsigned central_shards_open(bool spread);

/* The shards that have threads on them now (bit s for shard s), which decides where
 * freed batches go (central_insert_batch) and sizes the transfer caches. Under the
 * thread caches' registry lock. */
void central_set_inhabited_shards(uint64_t shards);

/* Sleeps for lists' locks within CENTRAL_SPREAD_WINDOW_MS that make the lists
 * contended. */
#define CENTRAL_SPREAD_SLEEPS 16
#define CENTRAL_SPREAD_WINDOW_MS 1000

/* Counts a sleep for a list's lock (each list lock reports its own). */
void central_note_sleep(void);

/* Whether the lists have been found contended: from then on, every thread is spread
 * over the shards, the first one too. Never goes back. */
bool central_contended(void);

/* The shards threads are spread over: 1 until central_shards_open spread them. */
unsigned central_shard_count(void);

struct span;

/* Threads own spans (below) only of classes up to this object size: packing a
 * thread's objects matters most where many share a cache line or a page, and an owned
 * span, out of other threads' reach, keeps at most a page or two from them. */
#define OWNED_SPAN_MAX_OBJECT_SIZE 256

/* Takes up to `want` objects of class `size_class` from shard `shard` (0 for a thread
 * without a cache); returns how many (0 when the OS
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
unsigned central_remove_batch(unsigned shard, unsigned size_class, unsigned want, void **head,
                              struct span **own);

/* The same, for a thread's first batch of a class: the chain starts with a whole
 * cache line of objects none of which is in use (when the class's objects tile cache
 * lines and a partial span has such a line), so that the object the thread uses first
 * shares no line with objects other threads write. */
unsigned central_remove_first_batch(unsigned shard, unsigned size_class, unsigned want, void **head);

/* Gives up the span in the slot *own of a thread of shard `shard`, if any (its cache is being emptied, the
 * class has gone unused, or a release pass found the thread idle): the slot is
 * cleared and the span goes back on the partial list, or to the page heap when all
 * its objects are free. Safe while the owner runs: the slot changes only under the
 * class's lock. */
void central_give_up_span(unsigned shard, unsigned size_class, struct span **own);

/* Gives back `count` objects of class `size_class`, chained from head, by a thread of
 * shard `own_shard`: a whole batch into the transfer cache of its first object's
 * shard while there is room (of own_shard when no thread is left on that one, so that
 * the freeing thread reuses it), as an array of addresses when `as_array` (the
 * freeing thread does not allocate objects of the class: another thread will take
 * them), otherwise each object into its span. A pointer that is not the start of a
 * live object of that class, or that is already free in its span, stops the process
 * with a message naming it. Returns the first object's shard. */
unsigned central_insert_batch(unsigned size_class, void *head, unsigned count, unsigned own_shard,
                              bool as_array);

/* Returns idle memory of one class, in every shard, to the OS: a transfer cache unused since
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

/* Summed over the shards. */
struct central_class_stats {
    size_t spans;                 /* spans of this class held by the central lists */
    size_t free_in_spans;         /* objects free inside those spans */
    size_t in_transfer_cache;     /* objects in the transfer caches */
};
void central_get_stats(unsigned size_class, struct central_class_stats *stats);

void central_lock_for_fork(void);
void central_unlock_after_fork(int in_child);

#endif /* PAGODA_CENTRAL_LIST_H */
