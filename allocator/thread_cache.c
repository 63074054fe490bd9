/*
 * thread_cache.c — creation, slow paths, limits and exit of thread caches
 * (thread_cache.h).
 *
 * Three static caches stand in for a real one; all have every list empty and without
 * room, so every operation on them reaches the slow path here (free's hit path takes
 * one from their room first, which the slow path puts back: thread_cache.h):
 *   - uncreated_cache: the thread has no cache yet; its first miss creates one;
 *   - bypass_cache:    operations go straight to the central lists, one object at a
 *                      time. Used while a cache is being created (pthread_setspecific
 *                      may allocate) and after the thread's cache has been returned
 *                      at exit (later destructors may still free);
 *   - draining_cache:  a release pass asked the thread to empty its cache; the next
 *                      slow path does so and points the thread back at its own cache.
 *
 * Budgets: a thread's lists may together hold at most pagoda_config.thread_cache_bytes
 * (their max_length * size), and all threads together
 * pagoda_config.total_thread_cache_bytes; a list simply stops growing at either limit.
 *
 * Idle memory (pagoda_config.release_delay_ms):
 *   - scavenge: once per delay (or RELEASE_MIN_INTERVAL_MS, if longer), a thread's
 *     slow path halves every list that has had no slow path of its own since the last
 *     scavenge (it has objects to spare), giving the objects and their budget back,
 *     and gives up the list's owned span;
 *   - drain: a release pass finds threads whose cache has seen no slow path for a
 *     whole delay and stores &draining_cache into their TLS pointer (whose address
 *     each cache records). The thread's next malloc or free then misses into the slow
 *     path, which empties the cache. The hit path pays nothing for this. Only caches
 *     on the live registry are ever pointed at, under registry_lock; a thread leaves
 *     the registry before its TLS goes away, and a fork child drops the caches of the
 *     threads that did not come with it (their TLS slots may be reused by new threads).
 */
#include "allocator/thread_cache.h"

#include "allocator/clock.h"
#include "allocator/config.h"
#include "allocator/debug.h"
#include "allocator/init.h"
#include "allocator/large.h"
#include "allocator/lock.h"
#include "allocator/log.h"
#include "allocator/malloc_path.h"
#include "allocator/release.h"
#include "central/central_list.h"
#include "central/metadata.h"
#include "pagemap/pagemap.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#define STATIC_CACHE __attribute__((aligned(PAGE_SIZE))) LARGE_STATIC
static struct thread_cache uncreated_cache STATIC_CACHE;
static struct thread_cache bypass_cache STATIC_CACHE;
static struct thread_cache draining_cache STATIC_CACHE;
_Static_assert(offsetof(struct thread_cache, owner_slot) + sizeof(void *) <= PAGE_SIZE,
               "what the static caches' paths read lies in their first page");

__thread struct thread_cache *thread_cache_current = &uncreated_cache;

/* What a thread has done with a class so far, for its first free and first miss. */
enum class_use {
    CLASS_UNUSED = 0,
    CLASS_FREED_ONCE,       /* its first free went back to the central list */
    CLASS_ALLOCATED,        /* it has had a miss: its first batch came */
};

static pagoda_lock registry_lock FORK_LOCK = PAGODA_LOCK_INIT;
static struct thread_cache *live_caches;       /* doubly linked through next/prev */
static struct thread_cache *exiting_caches;    /* off the registry, returning their
                                                  contents at exit; doubly linked */
static struct thread_cache *recycled_caches;   /* singly linked through next */
static size_t total_capacity_bytes;    /* capacity_bytes and large-cache reservations of
                                          all live and exiting caches */
static unsigned shard_members[CENTRAL_MAX_SHARDS];  /* live caches per central shard */
static pthread_key_t exit_key;

/* ---- budgets --------------------------------------------------------------------- */

/* cache->capacity_bytes records what this cache has added to total_capacity_bytes;
 * the two always change together. */

static uint32_t list_length(const struct thread_cache *cache, unsigned size_class)
{
    return cache->max_length[size_class] - (uint32_t)cache->room[size_class].count;
}

bool thread_cache_budget_take(size_t bytes)
{
    size_t total = __atomic_add_fetch(&total_capacity_bytes, bytes, __ATOMIC_RELAXED);
    if (total > pagoda_config.total_thread_cache_bytes) {
        __atomic_sub_fetch(&total_capacity_bytes, bytes, __ATOMIC_RELAXED);
        return false;
    }
    return true;
}

void thread_cache_budget_return(size_t bytes)
{
    __atomic_sub_fetch(&total_capacity_bytes, bytes, __ATOMIC_RELAXED);
}

void thread_cache_budget_return_held(size_t *held)
{
    size_t bytes = *held;
    *held = 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);    /* keep the order for a fork in between */
    thread_cache_budget_return(bytes);
}

size_t thread_cache_budget_in_use(void)
{
    return __atomic_load_n(&total_capacity_bytes, __ATOMIC_RELAXED);
}

/* Raises list's max_length (and room) by `more` objects if both budgets allow it. */
static bool grow_list_limit(struct thread_cache *cache, unsigned size_class, uint32_t more)
{
    const struct size_class_info *info = &size_class_table[size_class];
    uint32_t limit = cache->max_length[size_class];
    if (limit + more > info->cache_limit)
        more = info->cache_limit - limit;
    if (!more)
        return false;
    size_t bytes = (size_t)more * info->size;
    if (cache->capacity_bytes + bytes > pagoda_config.thread_cache_bytes || !thread_cache_budget_take(bytes))
        return false;
    cache->capacity_bytes += bytes;
    cache->max_length[size_class] = limit + more;
    cache->room[size_class].count += more;
    return true;
}

/* ---- moving objects to the central tier ---------------------------------------------- */

void thread_cache_report_double_free(void *object)
{
    pagoda_fatal("free(): double free of %p", object);
}

/* Detaches the first `count` objects of a list (count <= its length) as a chain. A
 * chain shorter than the list's length means a freed object was written to, or freed
 * twice in a way the hit path cannot see. */
static void *list_pop_chain(struct thread_cache *cache, unsigned size_class, unsigned count)
{
    void *head = cache->head[size_class];
    void *last = head;
    for (unsigned i = 1; i < count; i++) {
        last = *(void **)last;
        if (unlikely(!last))
            pagoda_fatal("free(): corrupted free list of size class %u near %p "
                         "(double free, or a write after free)", size_class, head);
    }
    cache->head[size_class] = *(void **)last;
    *(void **)last = NULL;
    cache->room[size_class].count += count;
    return head;
}

/* Returns the first `count` objects of a list to the central list, in whole batches
 * where it can: as arrays of addresses when the thread does not allocate objects of
 * the class, which so go to another thread (central_list.c says why). */
static void list_release(struct thread_cache *cache, unsigned size_class, unsigned count)
{
    unsigned batch = size_class_table[size_class].batch;
    bool as_array = cache->class_use[size_class] != CLASS_ALLOCATED;
    while (count) {
        unsigned chain = count < batch ? count : batch;
        unsigned shard = central_insert_batch(size_class, list_pop_chain(cache, size_class, chain), chain, cache->shard,
                                              as_array);
        cache->batches_returned++;
        cache->remote_batches_returned += shard != cache->shard;
        count -= chain;
    }
}

/* Gives up every span the cache owns (central_give_up_span: safe while its thread
 * runs). */
static void give_up_owned_spans(struct thread_cache *cache)
{
    for (unsigned c = 1; c <= size_class_count; c++)
        central_give_up_span(cache->shard, c, &cache->own_span[c]);
}

/* Returns every listed object, and gives up the spans the cache owns. */
static void cache_drain(struct thread_cache *cache)
{
    for (unsigned c = 1; c <= size_class_count; c++)
        list_release(cache, c, list_length(cache, c));
    give_up_owned_spans(cache);
}

/* Lowers a list's limit to `max_length` objects, giving back the budget and the
 * objects above it. */
static void list_shrink(struct thread_cache *cache, unsigned size_class, uint32_t max_length)
{
    uint32_t current = cache->max_length[size_class];
    if (max_length >= current)
        return;
    size_t bytes = (size_t)(current - max_length) * size_class_table[size_class].size;
    if (bytes > cache->capacity_bytes)
        bytes = cache->capacity_bytes;
    cache->capacity_bytes -= bytes;
    thread_cache_budget_return(bytes);
    uint32_t length = list_length(cache, size_class);
    if (length > max_length) {
        list_release(cache, size_class, length - max_length);
        length = max_length;
    }
    cache->max_length[size_class] = max_length;
    cache->room[size_class].count = max_length - length;
}

/* Gives back a cache's whole budget, the large cache's reservation included, leaving
 * every list without room. Its lists must be empty, or abandoned (fork child). */
static void cache_return_budget(struct thread_cache *cache)
{
    for (unsigned c = 1; c <= size_class_count; c++)
        cache->max_length[c] = cache->room[c].count = 0;
    thread_cache_budget_return_held(&cache->capacity_bytes);
    thread_cache_budget_return_held(&cache->large.reserved);
}

/* Returns every object, large ones included, and the whole budget of a cache. */
static void cache_empty(struct thread_cache *cache)
{
    cache_drain(cache);
    large_cache_evict_all(&cache->large);
    cache_return_budget(cache);
}

/* Halves the lists that had no slow path since the last scavenge, giving up their
 * owned spans, and empties an unused large cache. */
static void cache_scavenge(struct thread_cache *cache)
{
    large_cache_scavenge(&cache->large);
    for (unsigned c = 1; c <= size_class_count; c++) {
        if (!cache->missed_since_scavenge[c]) {
            if (cache->max_length[c])
                list_shrink(cache, c, cache->max_length[c] / 2);
            central_give_up_span(cache->shard, c, &cache->own_span[c]);
        }
        cache->missed_since_scavenge[c] = 0;
    }
}

/* Tells the central lists which shards have threads on them. Under registry_lock,
 * after shard_members changed. */
static void shard_members_changed(void)
{
    uint64_t inhabited = 0;
    unsigned shards = central_shard_count();
    for (unsigned shard = 0; shard < shards; shard++)
        inhabited |= (uint64_t)(shard_members[shard] > 0) << shard;
    central_set_inhabited_shards(inhabited ? inhabited : 1);
}

/* The shard with the fewest live caches, the lowest such, among the first `shards`. */
static unsigned emptiest_shard(unsigned shards)
{
    unsigned shard = 0;
    for (unsigned other = 1; other < shards; other++)
        if (shard_members[other] < shard_members[shard])
            shard = other;
    return shard;
}

static void shard_enter(struct thread_cache *cache, unsigned shard)
{
    shard_members[shard]++;
    cache->shard = shard;
    shard_members_changed();
}

/* Gives a new cache its central shard (docs/tuning.md, "Central shards"):
 *   - the process's first thread takes shard 0;
 *   - a later one takes the shard with the fewest live caches (the lowest such), on
 *     trial: threads that share a shard's lists and spans get each other's freed
 *     objects back, and the cache lines of those objects, of the spans' bitmaps and of
 *     the lists then move between their cores at every batch, even when no thread
 *     waits for a lock (`hashtable` at 2 threads, each on its own objects: 14 % less
 *     time on shards of their own from the start; moving them after their first 64
 *     batches gained almost nothing, their first objects being shared by then). The
 *     trial ends in cache_end_trial;
 *   - once the lists have been found contended, every thread takes the emptiest shard
 *     for good, and the first moves there too (cache_spread).
 * Spreading off (PAGODA_CENTRAL_SHARDS=1), there is one shard. Under registry_lock. */
static void shard_join(struct thread_cache *cache)
{
    bool others = live_caches != NULL;    /* cache_create links this one after */
    bool contended = central_contended();
    unsigned shards = central_shards_open(others || contended);
    cache->spread_on_trial = others && !contended && shards > 1;
    cache->spread = contended || cache->spread_on_trial;
    cache->batches_returned = cache->remote_batches_returned = 0;
    shard_enter(cache, others || contended ? emptiest_shard(shards) : 0);
}

/* Moves a cache to the emptiest shard, or to shard 0; the spans it owns go back
 * first, as they belong to its old shard. */
static void cache_move(struct thread_cache *cache, bool to_emptiest)
{
    give_up_owned_spans(cache);
    lock_acquire(&registry_lock);
    shard_members[cache->shard]--;
    shard_enter(cache, to_emptiest ? emptiest_shard(central_shards_open(true)) : 0);
    lock_release(&registry_lock);
}

/* Once the central lists are found contended, a cache on shard 0 moves to the
 * emptiest shard for good (the first thread's, and those whose trial sent them back). */
static NOINLINE void cache_spread(struct thread_cache *cache)
{
    cache->spread = true;
    cache_move(cache, true);
}

/* Batches a cache on trial hands back before the trial ends. */
#define TRIAL_BATCHES 32

/* Ends the trial of a cache that joined a shard of its own at its creation: when more
 * than half of the batches it handed back belong to other shards, its thread frees
 * other threads' objects (`larson`: every thread frees objects any thread made), so
 * its own shard would only keep free objects apart from the threads that reuse them
 * (`larson` at 2 threads: peak RSS 9.2 MiB spread, 6.7 MiB on one shard), and it goes
 * back to shard 0. A thread that only takes (a producer) keeps its shard: its
 * consumers' frees come back to it through its shard's transfer cache. */
static NOINLINE void cache_end_trial(struct thread_cache *cache)
{
    cache->spread_on_trial = false;
    if (cache->remote_batches_returned * 2 > cache->batches_returned) {
        cache->spread = false;          /* contention may spread it again */
        cache_move(cache, false);
    }
}

static uint64_t scavenge_interval_ms(void)
{
    uint64_t delay = pagoda_config.release_delay_ms;
    return delay < RELEASE_MIN_INTERVAL_MS ? RELEASE_MIN_INTERVAL_MS : delay;
}

/* Bookkeeping at the start of every slow path of a real cache: end its trial in a
 * shard of its own once it has handed back enough batches, move it out of shard 0
 * once the central lists are found contended, and scavenge once per release delay
 * (RELEASE_MIN_INTERVAL_MS at least). */
static void cache_slow_path_begin(struct thread_cache *cache, unsigned size_class)
{
    if (unlikely(cache->spread_on_trial) && cache->batches_returned >= TRIAL_BATCHES)
        cache_end_trial(cache);
    if (unlikely(!cache->spread) && central_contended())
        cache_spread(cache);
    uint64_t now = clock_ms();
    __atomic_store_n(&cache->last_slow_path_ms, now, __ATOMIC_RELAXED);    /* read by release passes */
    cache->missed_since_scavenge[size_class] = 1;
    if (now - cache->last_scavenge_ms >= scavenge_interval_ms()) {
        cache_scavenge(cache);
        cache->last_scavenge_ms = now;
    }
}

/* ---- creation and exit --------------------------------------------------------------- */

static void set_current(struct thread_cache *cache)
{
    __atomic_store_n(&thread_cache_current, cache, __ATOMIC_RELAXED);
}

static void cache_list_push(struct thread_cache **list, struct thread_cache *cache)
{
    cache->prev = NULL;
    cache->next = *list;
    if (*list)
        (*list)->prev = cache;
    *list = cache;
}

static void cache_list_unlink(struct thread_cache **list, struct thread_cache *cache)
{
    if (cache->prev)
        cache->prev->next = cache->next;
    else
        *list = cache->next;
    if (cache->next)
        cache->next->prev = cache->prev;
    cache->next = cache->prev = NULL;
}

/* Runs at thread exit (pthread key destructor). The cache leaves the live registry
 * (so no release pass writes this thread's TLS any more) for the exiting list, gives
 * its objects back to the central lists, then its budget, and is kept for the next
 * thread. The budget changes only under registry_lock, which fork holds, so that a
 * fork child finds every exiting cache's budget either all there or all returned
 * (drop_other_threads_caches). */
static void thread_cache_on_exit(void *arg)
{
    struct thread_cache *cache = arg;
    lock_acquire(&registry_lock);
    cache_list_unlink(&live_caches, cache);
    shard_members[cache->shard]--;
    shard_members_changed();
    cache_list_push(&exiting_caches, cache);
    lock_release(&registry_lock);
    set_current(&bypass_cache);
    cache_drain(cache);
    large_cache_evict_all(&cache->large);
    release_tick();                 /* what the cache held is free memory now (release.c) */
    lock_acquire(&registry_lock);
    cache_return_budget(cache);
    cache_list_unlink(&exiting_caches, cache);
    cache->next = recycled_caches;
    recycled_caches = cache;
    lock_release(&registry_lock);
}

void thread_cache_init(void)
{
    pthread_key_create(&exit_key, thread_cache_on_exit);
}

/* Gives the calling thread a cache; returns NULL when no memory can be had. */
static struct thread_cache *cache_create(void)
{
    pagoda_ensure_initialized();
    set_current(&bypass_cache);     /* allocations made while creating bypass */
    lock_acquire(&registry_lock);
    struct thread_cache *cache = recycled_caches;
    if (cache)
        recycled_caches = cache->next;
    lock_release(&registry_lock);
    if (!cache && !(cache = metadata_alloc(sizeof *cache))) {
        set_current(&uncreated_cache);
        return NULL;
    }
    cache->last_scavenge_ms = clock_ms();
    __atomic_store_n(&cache->last_slow_path_ms, cache->last_scavenge_ms, __ATOMIC_RELAXED);
    memset(cache->class_use, CLASS_UNUSED, sizeof cache->class_use);
    cache->large.calloc_habit = (struct calloc_habit){ 0 };    /* a recycled cache's is its last owner's */
    cache->large.hit_limit = pagoda_debug.enabled ? 0 : pagoda_config.thread_cache_bytes;
    cache->large.puts_to_tick = 0;                      /* the first put ticks */
    cache->large.ticks = cache->large.puts_at_scavenge = 0;
    cache->owner_slot = &thread_cache_current;
    pthread_setspecific(exit_key, cache);
    lock_acquire(&registry_lock);
    shard_join(cache);
    cache_list_push(&live_caches, cache);
    lock_release(&registry_lock);
    set_current(cache);
    return cache;
}

/* The three static caches have no owner_slot; thread_cache_for_slow_path (inline)
 * comes here for them. */
struct thread_cache *thread_cache_for_slow_path_static(struct thread_cache *cache)
{
    if (cache == &uncreated_cache)
        return cache_create();
    if (cache == &bypass_cache)
        return NULL;
    if (cache == &draining_cache) {
        cache = pthread_getspecific(exit_key);
        if (!cache) {                  /* the exit hook has already returned it */
            set_current(&bypass_cache);
            return NULL;
        }
        set_current(cache);
        cache_empty(cache);
        release_tick();
        cache->last_scavenge_ms = clock_ms();
    }
    return cache;
}

/* ---- slow paths ------------------------------------------------------------------------ */

NOINLINE void *thread_cache_alloc_miss(size_t size_class)
{
    if (unlikely(pagoda_debug.enabled))
        return debug_alloc_small(size_class);
    struct thread_cache *cache = thread_cache_for_slow_path();
    void *head;
    if (!cache) {
        if (!central_remove_batch(0, size_class, 1, &head, NULL)) {
            errno = ENOMEM;
            return NULL;
        }
        return head;
    }
    cache_slow_path_begin(cache, size_class);
    /* Slow start: a list's limit grows by one per miss up to a batch, then by a batch.
     * It starts at a cache line's worth of objects, so that threads starting together
     * are not handed neighbours in one cache line (which they would then write
     * alternately: false sharing). */
    const struct size_class_info *info = &size_class_table[size_class];
    uint32_t limit = cache->max_length[size_class];
    grow_list_limit(cache, size_class, limit < info->line_objects ? info->line_objects - limit
                                       : limit < info->batch ? 1 : info->batch);
    limit = cache->max_length[size_class];
    unsigned want = limit < info->batch ? limit : info->batch;
    if (want == 0)
        want = 1;
    unsigned got = cache->class_use[size_class] == CLASS_ALLOCATED
                       ? central_remove_batch(cache->shard, size_class, want, &head, &cache->own_span[size_class])
                       : central_remove_first_batch(cache->shard, size_class, want, &head);
    cache->class_use[size_class] = CLASS_ALLOCATED;
    if (!got) {
        release_tick();           /* the scavenge above may have freed memory */
        errno = ENOMEM;
        return NULL;
    }
    /* The list was empty (room == max_length); it now holds got - 1 objects. */
    cache->head[size_class] = *(void **)head;
    cache->room[size_class].count -= got - 1;
    release_tick();
    return head;
}

/* A small object whose list had no room (or whose thread has no cache of its own). */
static NOINLINE void list_overflow(void *object, size_t size_class)
{
    if (unlikely(pagoda_debug.enabled)) {
        debug_free_small(object, size_class);
        release_tick();
        return;
    }
    struct thread_cache *cache = thread_cache_for_slow_path();
    if (!cache) {
        *(void **)object = NULL;
        central_insert_batch(size_class, object, 1, 0, false);   /* bypassing: any shard */
        release_note_free();
        return;
    }
    if (unlikely(object == cache->head[size_class]))
        thread_cache_report_double_free(object);
    cache_slow_path_begin(cache, size_class);
    const struct size_class_info *info = &size_class_table[size_class];
    if (cache->max_length[size_class] < info->batch)
        grow_list_limit(cache, size_class, 1);
    if (cache->class_use[size_class] == CLASS_UNUSED) {
        /* The first object a thread frees in a class it has not allocated from goes
         * back (a thread starting with a free of an object handed to it would
         * otherwise reuse that object, in a cache line its maker's neighbours share:
         * false sharing). Its first miss takes a line of its own instead. */
        cache->class_use[size_class] = CLASS_FREED_ONCE;
        *(void **)object = NULL;
        central_insert_batch(size_class, object, 1, cache->shard, false);
        release_tick();
        return;
    }
    if (cache->room[size_class].count == 0) {           /* still full: a batch goes back first */
        uint32_t length = list_length(cache, size_class);
        list_release(cache, size_class, length < info->batch ? length : info->batch);
    }
    if (cache->room[size_class].count == 0) {           /* a list with no limit at all */
        *(void **)object = NULL;
        central_insert_batch(size_class, object, 1, cache->shard, false);
    } else {
        cache->room[size_class].count--;
        *(void **)object = cache->head[size_class];
        cache->head[size_class] = object;
    }
    release_tick();
}

/* First gives back the one the hit path took from hit_cache's room: a real cache's
 * room is its owner's alone and goes up by one; a static cache's may be taken from
 * by several threads at once and goes back to 0, as the room of class bytes 0 and
 * SIZE_CLASS_LARGE_HEAD always does (no cache ever has room there). A large object
 * falls through to its path, inline (large.h): its free then runs with one taken
 * branch besides the jump here and its return. Every other way on is a tail call,
 * so that no path sets up a frame here. */
HOT_PATH NOINLINE void thread_cache_free_overflow(void *object, size_t size_class, struct thread_cache *hit_cache,
                                                  void **head_slot)
{
    /* The room is written through the slot, as the hit path reads it, and the large
     * cache through hit_cache, as malloc reads it (thread_cache_head_slot). */
    struct room_slot *room = room_of_head_slot(head_slot);
    if (likely(size_class == SIZE_CLASS_LARGE_HEAD)) {
        __atomic_store_n(&room->count, 0, __ATOMIC_RELAXED);
        free_large_object(object, hit_cache);
        return;
    }
    if (size_class == 0) {          /* NULL, or not an object (see pagoda_free) */
        __atomic_store_n(&room->count, 0, __ATOMIC_RELAXED);
        free_slow_path(object);
        return;
    }
    if (hit_cache->owner_slot)
        room->count++;
    else
        __atomic_store_n(&room->count, 0, __ATOMIC_RELAXED);
    list_overflow(object, size_class);
}

/* ---- whole-cache operations ---------------------------------------------------------- */

void thread_cache_flush_current(void)
{
    struct thread_cache *cache = thread_cache_of_this_thread();
    if (cache->owner_slot) {        /* a real cache, not one of the statics */
        cache_drain(cache);
        large_cache_empty(&cache->large);
    }
}

void thread_cache_request_idle_drains(uint64_t idle_before_ms)
{
    lock_acquire(&registry_lock);
    for (struct thread_cache *cache = live_caches; cache; cache = cache->next) {
        if (__atomic_load_n(&cache->last_slow_path_ms, __ATOMIC_RELAXED) > idle_before_ms ||
            __atomic_load_n(cache->owner_slot, __ATOMIC_RELAXED) != cache)
            continue;
        __atomic_store_n(cache->owner_slot, &draining_cache, __ATOMIC_RELAXED);
        /* Its lists wait for the thread's next call; the spans it owns go back now,
         * for other threads and for release. */
        give_up_owned_spans(cache);
    }
    lock_release(&registry_lock);
}

void thread_cache_count_cached(size_t counts[SIZE_CLASS_MAX_COUNT + 1], size_t *large_bytes)
{
    lock_acquire(&registry_lock);
    for (struct thread_cache *cache = live_caches; cache; cache = cache->next) {
        for (unsigned c = 1; c <= size_class_count; c++) {
            uint32_t max_length = __atomic_load_n(&cache->max_length[c], __ATOMIC_RELAXED);
            int32_t room = __atomic_load_n(&cache->room[c].count, __ATOMIC_RELAXED);
            counts[c] += room >= 0 && (uint32_t)room <= max_length ? max_length - (uint32_t)room : 0;
        }
        *large_bytes += large_cache_bytes(&cache->large);
    }
    lock_release(&registry_lock);
}

uint32_t thread_cache_own_length(unsigned size_class)
{
    const struct thread_cache *cache = thread_cache_of_this_thread();
    return list_length(cache, size_class);
}

uint32_t thread_cache_own_limit(unsigned size_class)
{
    return thread_cache_of_this_thread()->max_length[size_class];
}

void thread_cache_lock_for_fork(void)
{
    lock_acquire(&registry_lock);
}

/* In the child, only the forking thread exists. The other threads' caches leave the
 * registry, so that no release pass writes through their TLS slots, which new threads
 * may reuse, and so do the caches of threads that were exiting. Their objects are
 * abandoned, not drained: a thread may have been in the middle of a hit path when the
 * process forked, leaving its list half updated. Their budget is given back, and the
 * spans they own, whose slots change only under the central lists' locks (which fork
 * held), go back to their classes. `own` is the forking thread's cache, or NULL. */
static void drop_other_threads_caches(struct thread_cache *own)
{
    for (struct thread_cache *cache = live_caches, *next; cache; cache = next) {
        next = cache->next;
        if (cache == own)
            continue;
        cache_list_unlink(&live_caches, cache);
        shard_members[cache->shard]--;
        cache_return_budget(cache);
        give_up_owned_spans(cache);
    }
    for (struct thread_cache *cache; (cache = exiting_caches);) {
        cache_list_unlink(&exiting_caches, cache);
        cache_return_budget(cache);
        give_up_owned_spans(cache);
    }
    shard_members_changed();
}

void thread_cache_unlock_after_fork(int in_child)
{
    if (in_child)
        lock_reset(&registry_lock);
    else
        lock_release(&registry_lock);
}

/* Writes only what changes: each page written is copied from the parent's. */
void thread_cache_after_fork_in_child(void)
{
    /* The forking thread's own cache, even while its TLS pointer is at a static. */
    struct thread_cache *own = pthread_getspecific(exit_key);
    drop_other_threads_caches(own);
    /* The child's release passes (and its background thread) start afresh: its next
     * large-cache put gives a tick. */
    if (own && (own->large.puts_to_tick || own->large.ticks || own->large.puts_at_scavenge)) {
        own->large.puts_to_tick = 0;
        own->large.ticks = own->large.puts_at_scavenge = 0;
    }
}
