/*
 * thread_cache.h — the front end: per-thread free lists, one per size class.
 *
 * The hit path is in this header, inline: pop or push one object on the calling
 * thread's list for the class — thread-local memory only, no lock, no atomic
 * read-modify-write, no call. The thread's cache is reached through one initial-exec
 * TLS pointer, which is never NULL: before a thread's first allocation it points at a
 * static cache whose lists are all empty and have no room, so the first malloc and the
 * first free both miss into the slow path, which creates the real cache. That keeps a
 * "not yet created" test off the hit path.
 *
 * Layout for the hit path: the list heads are an array of pointers and the rooms an
 * array of 32-bit counts 8 bytes apart, both indexed by class id, so that room[c] lies
 * a constant distance after head[c]. The hit path computes &head[c] once, into a
 * register, and reaches both through it: head[c] at (reg), room[c] at disp(reg). On
 * Intel cores this is twice as fast as scaled-index operands (head[c] at
 * (cache,c,8)): a load that reads what the last call stored is forwarded without
 * delay only when both name the address the same simple way, from the same base
 * register value, and a malloc/free pair passes the head and the room from call to
 * call (malloc_free/64 on an Intel Xeon: 2.1–2.2 against 5.3–5.5 ns a pair, for the
 * same 42 instructions; docs/benchmarks.md). room[c] is how many more objects list c
 * may take: max_length[c] - its length. malloc pops and adds one to room; free takes
 * one from room first, in one read-modify-write instruction, and pushes if the result
 * is not negative.
 *
 * Static caches: malloc misses on their empty heads before touching room, so it never
 * writes them. free does take one from their room (0) before it finds no room there;
 * several threads may do so at once, and the slow path stores 0 back. Every value
 * ever stored in a static cache's room is 0 or below, so free never pushes onto one.
 * That is what lets a release pass send an idle thread into the slow path from another
 * thread: it points the thread's TLS pointer at the static draining cache
 * (thread_cache.c).
 *
 * Invariants for a real cache, outside free's hit path: room[c] + (objects chained
 * from head[c]) == max_length[c] <= the class's cache_limit; class 0 (not a small
 * object) has no head and no room, so a free that finds class 0 in the pagemap lands
 * in the slow path, and neither has SIZE_CLASS_LARGE_HEAD (only its room exists), so
 * a free of a large object lands in the large objects' path. Only the owning thread
 * writes a real cache's lists.
 */
#ifndef PAGODA_THREAD_CACHE_H
#define PAGODA_THREAD_CACHE_H

#include "allocator/large_cache.h"
#include "allocator/size_classes.h"

/* A list's room, 8 bytes apart from the next one's like the heads (the layout note
 * at the top of this file says why). */
struct room_slot {
    int32_t count;
    uint32_t unused;
};

struct thread_cache {
    /* The hit paths' part, large objects' and then small objects'. */
    struct large_cache large;          /* freed large spans (large_cache.h) */
    struct thread_cache **owner_slot;  /* the owning thread's thread_cache_current; NULL in
                                          the static caches, which every slow path tests */
    void *head[SIZE_CLASS_MAX_COUNT + 1];          /* indexed by class id */
    struct room_slot room[SIZE_CLASS_LARGE_HEAD + 1];  /* and by a large object's class byte */
    /* Below: touched only by slow paths of real caches. A static cache is page-aligned
     * and everything above but the last rooms lies within its first page, so a thread's
     * first calls, which touch only that part of a static cache, fault in one page of
     * it (two when the first is a large object's free: its room is the last). */
    uint32_t max_length[SIZE_CLASS_MAX_COUNT + 1];
    uint8_t missed_since_scavenge[SIZE_CLASS_MAX_COUNT + 1];  /* per class: a slow path ran */
    uint8_t class_use[SIZE_CLASS_MAX_COUNT + 1];   /* per class: enum class_use (thread_cache.c) */
    struct span *own_span[SIZE_CLASS_MAX_COUNT + 1];  /* per class: the span it owns, or NULL
                                                         (central_remove_batch) */
    size_t capacity_bytes;             /* sum of max_length * size over the lists */
    unsigned shard;                    /* its central shard (central_list.h): written by its
                                          thread under the registry lock */
    bool spread;                       /* placed in the emptiest shard: at creation
                                          (on trial, below) or once the central lists
                                          were contended; a cache in shard 0 without it
                                          moves there at contention */
    bool spread_on_trial;              /* given a shard of its own at creation, until
                                          cache_end_trial (thread_cache.c) */
    uint16_t batches_returned;         /* batches handed back to the central lists, */
    uint16_t remote_batches_returned;  /* and those of them of other shards' spans */
    uint64_t last_slow_path_ms;        /* clock_ms of this cache's latest slow path */
    uint64_t last_scavenge_ms;         /* clock_ms of its latest scavenge */
    struct thread_cache *next;         /* on the registry: live caches, or recycled ones */
    struct thread_cache *prev;
};

/* Read by its own thread (and written by a release pass, see above) with relaxed
 * atomics, which are plain moves. */
extern __thread struct thread_cache *thread_cache_current __attribute__((tls_model("initial-exec")));

static ALWAYS_INLINE struct thread_cache *thread_cache_of_this_thread(void)
{
    return __atomic_load_n(&thread_cache_current, __ATOMIC_RELAXED);
}

/* &cache->head[size_class], in a register the compiler may not fold back into a
 * scaled-index operand (the layout note above says why). On x86-64 it is spelt as
 * the one `lea` it is: left to itself, GCC splits it into two instructions. The lea
 * writes %rcx: left to choose, GCC 12 put the slot in %rax, where malloc returns
 * its object, and then needed one more move for the return (43 and 45 instructions
 * a pair instead of 42 and 44; tools/fastpath-callgrind). */
static ALWAYS_INLINE void **thread_cache_head_slot(struct thread_cache *cache, size_t size_class)
{
    void **slot;
#if defined(__x86_64__)
    __asm__("lea %c2(%1,%3,8), %0"
            : "=c"(slot)
            : "r"(cache), "i"(offsetof(struct thread_cache, head)), "r"(size_class));
#else
    slot = &cache->head[size_class];
    __asm__("" : "+r"(slot));
#endif
    return slot;
}

/* The room of the list whose head is at slot: a constant distance after it. */
#define ROOM_DISTANCE (offsetof(struct thread_cache, room) - offsetof(struct thread_cache, head))
_Static_assert(sizeof(struct room_slot) == sizeof(void *), "rooms are as far apart as heads");

static ALWAYS_INLINE struct room_slot *room_of_head_slot(void **slot)
{
    return (struct room_slot *)((char *)slot + ROOM_DISTANCE);
}

/* malloc's slow path, in thread_cache.c. */
void *thread_cache_alloc_miss(size_t size_class);

/* Pops an object off this thread's list for size_class; NULL when the list is empty
 * (the caller then takes its slow path). */
static ALWAYS_INLINE void *thread_cache_pop(size_t size_class)
{
    void **head = thread_cache_head_slot(thread_cache_of_this_thread(), size_class);
    void *object = *head;
    if (likely(object)) {
        *head = *(void **)object;
        room_of_head_slot(head)->count++;
    }
    return object;
}

/* The hit path of an allocation of a known small class (malloc's is in malloc_path.h). */
static ALWAYS_INLINE void *thread_cache_alloc(size_t size_class)
{
    void *object = thread_cache_pop(size_class);
    if (unlikely(!object))
        return thread_cache_alloc_miss(size_class);
    return object;
}

void thread_cache_report_double_free(void *object) __attribute__((noreturn, cold));

/* Takes one from the room of cache's list size_class and tells whether there was none
 * to take. A plain decrement, so that it compiles to one read-modify-write
 * instruction: on a static cache several threads may run it at once, which is
 * harmless there (see above). Under ThreadSanitizer it is spelt with relaxed atomics,
 * which are the same machine operations, so that the sanitizer checks everything
 * else. */
static ALWAYS_INLINE bool thread_cache_room_take(void **head)
{
    struct room_slot *room = room_of_head_slot(head);
#if defined(__SANITIZE_THREAD__)
    int32_t left = __atomic_load_n(&room->count, __ATOMIC_RELAXED) - 1;
    __atomic_store_n(&room->count, left, __ATOMIC_RELAXED);
    return left < 0;
#else
    return --room->count < 0;
#endif
}

/* The slow path of a free that found no room: in thread_cache.c. `cache` is the cache
 * whose room the hit path took one from, and `head_slot` the list's head slot there,
 * through which thread_cache_free_overflow gives the room back. Each is the register
 * the hit path used, so that the next call's loads name each address as its stores
 * did (thread_cache_head_slot); a large object's free and malloc depend on it. */
void thread_cache_free_overflow(void *object, size_t size_class, struct thread_cache *cache, void **head_slot);

/* free's hit path: the object goes on this thread's list if the list has room.
 * Freeing the object that heads the list again — the common double free — would
 * make the list loop on itself; comparing with the head catches it for one compare
 * and branch. The room test comes first: list 0 (not a small object) has none, and
 * its head is NULL, so free(NULL) must not reach the compare. */
static ALWAYS_INLINE void thread_cache_free(void *object, size_t size_class)
{
    struct thread_cache *cache = thread_cache_of_this_thread();
    void **slot = thread_cache_head_slot(cache, size_class);
    if (unlikely(thread_cache_room_take(slot))) {
        thread_cache_free_overflow(object, size_class, cache, slot);
        return;
    }
    void *head = *slot;
    if (unlikely(object == head))
        thread_cache_report_double_free(object);
    *(void **)object = head;
    *slot = object;
}

struct thread_cache *thread_cache_for_slow_path_static(struct thread_cache *cache);

/* The calling thread's own cache, for a slow path: created on first use, emptied
 * first if a drain was requested; NULL while operations must bypass caching. Only a
 * real cache records its owner's TLS slot, so one test tells it from the statics. */
static inline struct thread_cache *thread_cache_for_slow_path(void)
{
    struct thread_cache *cache = thread_cache_of_this_thread();
    if (likely(cache->owner_slot))
        return cache;
    return thread_cache_for_slow_path_static(cache);
}

/* The process-wide budget of all caches (PAGODA_TOTAL_THREAD_CACHE_BYTES): take
 * `bytes` of it (false when that would pass the limit), or give them back. */
bool thread_cache_budget_take(size_t bytes);
void thread_cache_budget_return(size_t bytes);

/* Gives back all of *held, a cache's record of budget it took, clearing the record
 * first: a fork in between can leave the child's total too high, but never has the
 * bytes returned twice (the child returns what the records of other threads' caches
 * still hold). */
void thread_cache_budget_return_held(size_t *held);

/* The bytes of the process-wide budget taken now, by all caches together. */
size_t thread_cache_budget_in_use(void);

/* Sets up the thread-exit hook; called once during initialisation. */
void thread_cache_init(void);

/* Empties the calling thread's cache into the central lists. */
void thread_cache_flush_current(void);

/* Asks every thread whose cache has seen no slow path since idle_before_ms to empty it
 * at its next free or allocation miss, and gives up the spans it owns at once
 * (release pass). */
void thread_cache_request_idle_drains(uint64_t idle_before_ms);

/* Sums, over all live thread caches, the objects cached per class into counts
 * (indexed by class id) and the bytes of freed large objects they keep into
 * *large_bytes, in one pass; approximate while other threads run. */
void thread_cache_count_cached(size_t counts[SIZE_CLASS_MAX_COUNT + 1], size_t *large_bytes);

/* The objects on the calling thread's list for size_class, and the list's limit. */
uint32_t thread_cache_own_length(unsigned size_class);
uint32_t thread_cache_own_limit(unsigned size_class);

void thread_cache_lock_for_fork(void);
void thread_cache_unlock_after_fork(int in_child);
/* In a fork child, after the locks (if the fork took them): drops the caches of the
 * threads that did not come along. */
void thread_cache_after_fork_in_child(void);

#endif /* PAGODA_THREAD_CACHE_H */
