/*
 * thread_cache.h — the front end: per-thread free lists, one per size class.
 *
 * The hit path is in this header, inline: pop or push one object on the calling
 * thread's list for the class — thread-local memory only, no lock, no atomic, no call.
 * The thread's cache is reached through one initial-exec TLS pointer, which is never
 * NULL: before a thread's first allocation it points at a static cache whose lists
 * are all empty and limited to zero objects, so the first malloc and the first free
 * both miss into the slow path, which creates the real cache. That keeps a "not yet
 * created" test off the hit path.
 *
 * Invariant per list: length == number of objects chained from head. The owner keeps
 * length <= max_length, growing max_length only in the slow path ("slow start") up to
 * the class's cache_limit and within the thread's and the process's cache budgets. A
 * drain request from a release pass may set max_length to 0 from another thread; the
 * owner's next slow path then empties the list.
 */
#ifndef PAGODA_THREAD_CACHE_H
#define PAGODA_THREAD_CACHE_H

#include "allocator/size_classes.h"

struct free_list {
    void *head;
    uint32_t length;
    uint32_t max_length;
};

struct thread_cache {
    struct free_list lists[SIZE_CLASS_MAX_COUNT + 1];    /* indexed by class id */
    /* Below: touched only by slow paths. */
    size_t capacity_bytes;             /* sum of max_length * size over the lists */
    uint64_t last_slow_path_ms;        /* clock_ms of this cache's latest slow path */
    uint64_t last_scavenge_ms;         /* clock_ms of its latest scavenge */
    int drain_requested;               /* set by a release pass: empty the whole cache */
    struct thread_cache *next;         /* on the registry: live caches, or recycled ones */
    struct thread_cache *prev;
    uint8_t missed_since_scavenge[SIZE_CLASS_MAX_COUNT + 1];  /* per class: a slow path ran */
};

extern __thread struct thread_cache *thread_cache_current __attribute__((tls_model("initial-exec")));

/* Slow paths, in thread_cache.c. */
void *thread_cache_alloc_miss(unsigned size_class);
void thread_cache_free_overflow(void *object, unsigned size_class);

/* malloc's hit path: an object of size_class from this thread's list, or the miss. */
static ALWAYS_INLINE void *thread_cache_alloc(unsigned size_class)
{
    struct free_list *list = &thread_cache_current->lists[size_class];
    void *object = list->head;
    if (unlikely(!object))
        return thread_cache_alloc_miss(size_class);
    list->head = *(void **)object;
    list->length--;
    return object;
}

void thread_cache_report_double_free(void *object) __attribute__((noreturn, cold));

/* free's hit path: the object goes on this thread's list unless the list is full.
 * (max_length is read atomically because a release pass may lower it to zero from
 * another thread, to send an idle thread's next free into the slow path.)
 * Freeing the object that heads the list again — the common double free — would
 * make the list loop on itself; comparing with the head, already loaded, catches it
 * for one compare and branch. */
static ALWAYS_INLINE void thread_cache_free(void *object, unsigned size_class)
{
    struct free_list *list = &thread_cache_current->lists[size_class];
    void *head = list->head;
    if (unlikely(object == head))
        thread_cache_report_double_free(object);
    if (unlikely(list->length >= __atomic_load_n(&list->max_length, __ATOMIC_RELAXED))) {
        thread_cache_free_overflow(object, size_class);
        return;
    }
    *(void **)object = head;
    list->head = object;
    list->length++;
}

/* Sets up the thread-exit hook; called once during initialisation. */
void thread_cache_init(void);

/* Empties the calling thread's cache into the central lists. */
void thread_cache_flush_current(void);

/* Asks every thread whose cache has seen no slow path since idle_before_ms to empty it
 * at its next free or allocation miss (release pass). */
void thread_cache_request_idle_drains(uint64_t idle_before_ms);

/* Sums, over all live thread caches, the objects cached per class into counts
 * (indexed by class id); approximate while other threads run. */
void thread_cache_count_cached(size_t counts[SIZE_CLASS_MAX_COUNT + 1]);

void thread_cache_lock_for_fork(void);
void thread_cache_unlock_after_fork(int in_child);

#endif /* PAGODA_THREAD_CACHE_H */
