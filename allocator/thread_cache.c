/*
 * thread_cache.c — creation, slow paths, limits and exit of thread caches
 * (thread_cache.h).
 *
 * Two static caches stand in for a real one; both have every list empty and limited
 * to zero objects, so every operation on them reaches the slow path here:
 *   - uncreated_cache: the thread has no cache yet; its first miss creates one;
 *   - bypass_cache:    operations go straight to the central lists, one object at a
 *                      time. Used while a cache is being created (pthread_setspecific
 *                      may allocate) and after the thread's cache has been returned
 *                      at exit (later destructors may still free).
 *
 * Budgets: a thread's lists may together hold at most pagoda_config.thread_cache_bytes
 * (their max_length * size), and all threads together
 * pagoda_config.total_thread_cache_bytes; a list simply stops growing at either limit.
 *
 * Idle memory (pagoda_config.release_delay_ms):
 *   - scavenge: once per delay, a thread's slow path halves every list that has had no
 *     slow path of its own since the last scavenge (it has objects to spare), giving
 *     the objects and their budget back;
 *   - drain: a release pass asks a thread whose cache has seen no slow path for a whole
 *     delay to empty it, by setting drain_requested and lowering every max_length to
 *     zero. The thread's next free then misses into the slow path, which drains the
 *     cache. The hit path pays nothing for this.
 */
#include "allocator/thread_cache.h"

#include "allocator/clock.h"
#include "allocator/config.h"
#include "allocator/debug.h"
#include "allocator/init.h"
#include "allocator/lock.h"
#include "allocator/log.h"
#include "allocator/release.h"
#include "central/central_list.h"
#include "central/metadata.h"

#include <errno.h>
#include <pthread.h>

static struct thread_cache uncreated_cache;
static struct thread_cache bypass_cache;

__thread struct thread_cache *thread_cache_current = &uncreated_cache;

static pagoda_lock registry_lock = PAGODA_LOCK_INIT;
static struct thread_cache *live_caches;       /* doubly linked through next/prev */
static struct thread_cache *recycled_caches;   /* singly linked through next */
static size_t total_capacity_bytes;            /* sum of capacity_bytes of live caches */
static pthread_key_t exit_key;

/* ---- budgets --------------------------------------------------------------------- */

/* max_length is written by other threads too (a drain request lowers it to zero), so
 * every access is atomic. cache->capacity_bytes records what this cache has added to
 * total_capacity_bytes; the two always change together. */
static uint32_t list_limit(const struct free_list *list)
{
    return __atomic_load_n(&list->max_length, __ATOMIC_RELAXED);
}

static void set_list_limit(struct free_list *list, uint32_t max_length)
{
    __atomic_store_n(&list->max_length, max_length, __ATOMIC_RELAXED);
}

/* Raises list's max_length by `more` objects if both budgets allow it. */
static bool grow_list_limit(struct thread_cache *cache, unsigned size_class, uint32_t more)
{
    const struct size_class_info *info = &size_class_table[size_class];
    struct free_list *list = &cache->lists[size_class];
    uint32_t limit = list_limit(list);
    if (limit + more > info->cache_limit)
        more = info->cache_limit - limit;
    if (!more)
        return false;
    size_t bytes = (size_t)more * info->size;
    if (cache->capacity_bytes + bytes > pagoda_config.thread_cache_bytes)
        return false;
    size_t total = __atomic_add_fetch(&total_capacity_bytes, bytes, __ATOMIC_RELAXED);
    if (total > pagoda_config.total_thread_cache_bytes) {
        __atomic_sub_fetch(&total_capacity_bytes, bytes, __ATOMIC_RELAXED);
        return false;
    }
    cache->capacity_bytes += bytes;
    set_list_limit(list, limit + more);
    return true;
}

/* ---- moving objects to the central tier ---------------------------------------------- */

void thread_cache_report_double_free(void *object)
{
    pagoda_fatal("free(): double free of %p", object);
}

/* Detaches the first `count` objects of list (count <= length) as a chain. A chain
 * shorter than the list's length means a freed object was written to, or freed twice
 * in a way the hit path cannot see. */
static void *list_pop_chain(struct free_list *list, unsigned size_class, unsigned count)
{
    void *head = list->head;
    void *last = head;
    for (unsigned i = 1; i < count; i++) {
        last = *(void **)last;
        if (unlikely(!last))
            pagoda_fatal("free(): corrupted free list of size class %u near %p "
                         "(double free, or a write after free)", size_class, head);
    }
    list->head = *(void **)last;
    *(void **)last = NULL;
    list->length -= count;
    return head;
}

/* Returns the first `count` objects of a list to the central list, in whole batches
 * where it can. */
static void list_release(struct free_list *list, unsigned size_class, unsigned count)
{
    unsigned batch = size_class_table[size_class].batch;
    while (count) {
        unsigned chain = count < batch ? count : batch;
        central_insert_batch(size_class, list_pop_chain(list, size_class, chain), chain);
        count -= chain;
    }
}

static void list_drain(struct free_list *list, unsigned size_class)
{
    list_release(list, size_class, list->length);
}

static void cache_drain(struct thread_cache *cache)
{
    for (unsigned c = 1; c <= size_class_count; c++)
        list_drain(&cache->lists[c], c);
}

/* Lowers a list's limit to `max_length` objects, giving back the budget and the
 * objects above it. */
static void list_shrink(struct thread_cache *cache, unsigned size_class, uint32_t max_length)
{
    struct free_list *list = &cache->lists[size_class];
    uint32_t current = list_limit(list);
    if (max_length < current) {
        size_t bytes = (size_t)(current - max_length) * size_class_table[size_class].size;
        if (bytes > cache->capacity_bytes)
            bytes = cache->capacity_bytes;
        cache->capacity_bytes -= bytes;
        __atomic_sub_fetch(&total_capacity_bytes, bytes, __ATOMIC_RELAXED);
    }
    set_list_limit(list, max_length);
    if (list->length > max_length)
        list_release(list, size_class, list->length - max_length);
}

/* Returns every object and the whole budget of a cache. */
static void cache_empty(struct thread_cache *cache)
{
    __atomic_sub_fetch(&total_capacity_bytes, cache->capacity_bytes, __ATOMIC_RELAXED);
    cache->capacity_bytes = 0;
    for (unsigned c = 1; c <= size_class_count; c++) {
        set_list_limit(&cache->lists[c], 0);
        list_drain(&cache->lists[c], c);
    }
}

/* Halves the lists that had no slow path since the last scavenge. */
static void cache_scavenge(struct thread_cache *cache)
{
    for (unsigned c = 1; c <= size_class_count; c++) {
        if (!cache->missed_since_scavenge[c] && list_limit(&cache->lists[c]))
            list_shrink(cache, c, list_limit(&cache->lists[c]) / 2);
        cache->missed_since_scavenge[c] = 0;
    }
}

/* Bookkeeping at the start of every slow path of a real cache: honour a drain request,
 * scavenge once per release delay. */
static void cache_slow_path_begin(struct thread_cache *cache, unsigned size_class)
{
    uint64_t now = clock_ms();
    __atomic_store_n(&cache->last_slow_path_ms, now, __ATOMIC_RELAXED);    /* read by release passes */
    cache->missed_since_scavenge[size_class] = 1;
    if (__atomic_load_n(&cache->drain_requested, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&cache->drain_requested, 0, __ATOMIC_RELAXED);
        cache_empty(cache);
        cache->last_scavenge_ms = now;
    } else if (now - cache->last_scavenge_ms >= pagoda_config.release_delay_ms) {
        cache_scavenge(cache);
        cache->last_scavenge_ms = now;
    }
}

/* ---- creation and exit --------------------------------------------------------------- */

/* Runs at thread exit (pthread key destructor): everything cached goes back to the
 * central lists and the structure is kept for the next thread. */
static void thread_cache_on_exit(void *arg)
{
    struct thread_cache *cache = arg;
    thread_cache_current = &bypass_cache;
    cache_empty(cache);
    lock_acquire(&registry_lock);
    if (cache->prev)
        cache->prev->next = cache->next;
    else
        live_caches = cache->next;
    if (cache->next)
        cache->next->prev = cache->prev;
    cache->next = recycled_caches;
    cache->prev = NULL;
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
    thread_cache_current = &bypass_cache;     /* allocations made while creating bypass */
    lock_acquire(&registry_lock);
    struct thread_cache *cache = recycled_caches;
    if (cache)
        recycled_caches = cache->next;
    lock_release(&registry_lock);
    if (!cache && !(cache = metadata_alloc(sizeof *cache))) {
        thread_cache_current = &uncreated_cache;
        return NULL;
    }
    cache->last_scavenge_ms = clock_ms();
    __atomic_store_n(&cache->last_slow_path_ms, cache->last_scavenge_ms, __ATOMIC_RELAXED);
    cache->drain_requested = 0;
    lock_acquire(&registry_lock);
    cache->prev = NULL;
    cache->next = live_caches;
    if (live_caches)
        live_caches->prev = cache;
    live_caches = cache;
    lock_release(&registry_lock);
    pthread_setspecific(exit_key, cache);
    thread_cache_current = cache;
    return cache;
}

/* The cache to use in a slow path, or NULL when operations must bypass caching. */
static struct thread_cache *cache_for_slow_path(void)
{
    struct thread_cache *cache = thread_cache_current;
    if (cache == &uncreated_cache)
        return cache_create();
    if (cache == &bypass_cache)
        return NULL;
    return cache;
}

/* ---- slow paths ------------------------------------------------------------------------ */

NOINLINE void *thread_cache_alloc_miss(unsigned size_class)
{
    if (unlikely(pagoda_debug.enabled))
        return debug_alloc_small(size_class);
    struct thread_cache *cache = cache_for_slow_path();
    void *head;
    if (!cache) {
        if (!central_remove_batch(size_class, 1, &head)) {
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
    struct free_list *list = &cache->lists[size_class];
    uint32_t limit = list_limit(list);
    grow_list_limit(cache, size_class, limit < info->line_objects ? info->line_objects - limit
                                       : limit < info->batch ? 1 : info->batch);
    unsigned want = list_limit(list) < info->batch ? list_limit(list) : info->batch;
    if (want == 0)
        want = 1;
    unsigned got = central_remove_batch(size_class, want, &head);
    if (!got) {
        errno = ENOMEM;
        return NULL;
    }
    list->head = *(void **)head;
    list->length = got - 1;
    release_tick();
    return head;
}

NOINLINE void thread_cache_free_overflow(void *object, unsigned size_class)
{
    if (unlikely(pagoda_debug.enabled)) {
        debug_free_small(object, size_class);
        return;
    }
    struct thread_cache *cache = cache_for_slow_path();
    if (!cache) {
        *(void **)object = NULL;
        central_insert_batch(size_class, object, 1);
        return;
    }
    cache_slow_path_begin(cache, size_class);
    const struct size_class_info *info = &size_class_table[size_class];
    struct free_list *list = &cache->lists[size_class];
    *(void **)object = list->head;
    list->head = object;
    list->length++;
    if (list_limit(list) < info->batch)
        grow_list_limit(cache, size_class, 1);
    if (list->length > list_limit(list))
        list_release(list, size_class, list->length < info->batch ? list->length : info->batch);
    release_tick();
}

/* ---- whole-cache operations ---------------------------------------------------------- */

void thread_cache_flush_current(void)
{
    struct thread_cache *cache = thread_cache_current;
    if (cache != &uncreated_cache && cache != &bypass_cache)
        cache_drain(cache);
}

void thread_cache_request_idle_drains(uint64_t idle_before_ms)
{
    lock_acquire(&registry_lock);
    for (struct thread_cache *cache = live_caches; cache; cache = cache->next) {
        if (__atomic_load_n(&cache->last_slow_path_ms, __ATOMIC_RELAXED) > idle_before_ms ||
            __atomic_load_n(&cache->drain_requested, __ATOMIC_RELAXED))
            continue;
        __atomic_store_n(&cache->drain_requested, 1, __ATOMIC_RELEASE);
        for (unsigned c = 1; c <= size_class_count; c++)
            set_list_limit(&cache->lists[c], 0);
    }
    lock_release(&registry_lock);
}

void thread_cache_count_cached(size_t counts[SIZE_CLASS_MAX_COUNT + 1])
{
    lock_acquire(&registry_lock);
    for (struct thread_cache *cache = live_caches; cache; cache = cache->next)
        for (unsigned c = 1; c <= size_class_count; c++)
            counts[c] += __atomic_load_n(&cache->lists[c].length, __ATOMIC_RELAXED);
    lock_release(&registry_lock);
}

void thread_cache_lock_for_fork(void)
{
    lock_acquire(&registry_lock);
}

void thread_cache_unlock_after_fork(int in_child)
{
    if (in_child)
        lock_reset(&registry_lock);
    else
        lock_release(&registry_lock);
}
