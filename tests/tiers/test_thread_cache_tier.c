/*
 * test_thread_cache_tier.c — the thread caches (allocator/thread_cache.h), driven
 * through pagoda_malloc / pagoda_free in threads and observed through the calling
 * thread's lists, thread_cache_count_cached and central_get_stats.
 *
 * Invariants checked: a list's limit grows by slow start (one object per miss up to a
 * batch, then a batch per miss) and never passes the class's cache_limit, and a list
 * never holds more than its limit; a thread never caches more bytes than
 * PAGODA_THREAD_CACHE_BYTES; at thread exit everything the thread cached goes back to
 * the central lists, also for a thread that only freed objects handed to it. "Back"
 * is checked exactly: with no object in use, every object of every central span is
 * free in its span, in the transfer cache or in a live thread cache; also when the
 * threads' caches belong to different central shards. The first thread's cache takes
 * shard 0 and later ones shards of their own, on trial: a thread that mostly frees
 * objects of other shards goes back to shard 0, one that frees its own keeps its
 * shard. Once the central lists are found contended, threads alive at once are spread
 * evenly over the shards, and a cache in shard 0 moves at its next slow path. A fork child
 * holds the budget of its own cache alone, also when threads were exiting at the fork.
 * Under PAGODA_RELEASE_DELAY_MS=0, a thread's slow paths scavenge its lists at most
 * once per RELEASE_MIN_INTERVAL_MS.
 *
 * Each other test sets PAGODA_RELEASE_DELAY_MS=never before start-up, so no scavenge
 * or drain request changes a list's limit while it is watched.
 */
#include "tests/tiers/tier_suite.h"

#include "allocator/init.h"
#include "allocator/release.h"
#include "allocator/thread_cache.h"
#include "central/central_list.h"
#include "pagoda.h"
#include "tests/support/clock.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void start_pagoda(const char *thread_cache_bytes)
{
    setenv("PAGODA_RELEASE_DELAY_MS", "never", 1);
    if (thread_cache_bytes)
        setenv("PAGODA_THREAD_CACHE_BYTES", thread_cache_bytes, 1);
    pagoda_initialize();
}

static void run_thread(void *(*body)(void *), void *arg)
{
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, body, arg), 0);
    ck_assert_int_eq(pthread_join(thread, NULL), 0);
}


/* ---- slow start and the class limit ---------------------------------------------- */

static const size_t slow_start_sizes[] = { 8, 64, 1000, 4096, 32768 };

/* Allocates objects of one class until the list's limit reaches the class's
 * cache_limit and then for a few more misses, checking each step of the limit (it
 * starts at line_objects, so that threads do not share cache lines); then
 * frees them all, checking the list never holds more than its limit. The thread's
 * 4 MiB budget never binds here: a class's limit is about 256 KiB of objects. */
static void *watch_slow_start(void *size_arg)
{
    unsigned size_class = size_class_of(*(const size_t *)size_arg);
    const struct size_class_info *info = &size_class_table[size_class];
    size_t capacity = 4 * (size_t)info->cache_limit + 64, count = 0, at_limit = 0;
    void **objects = malloc(capacity * sizeof *objects);
    uint32_t limit = 0;
    while (limit < info->cache_limit || at_limit < 4 * info->batch) {
        if (count == capacity)
            ck_abort_msg("class %u: limit stuck at %u after %zu objects", size_class, limit, count);
        objects[count++] = pagoda_malloc(info->size);
        at_limit += limit == info->cache_limit;
        uint32_t now = thread_cache_own_limit(size_class);
        if (now == limit)
            continue;
        /* Slow start: from a cache line's worth of objects, +1 per miss up to a batch,
         * then +batch. */
        uint32_t expected = limit < info->line_objects ? info->line_objects
                          : limit < info->batch ? limit + 1 : limit + info->batch;
        if (expected > info->cache_limit)
            expected = info->cache_limit;
        if (now != expected)
            ck_abort_msg("class %u: limit went from %u to %u, not %u", size_class, limit, now, expected);
        limit = now;
    }
    for (size_t i = 0; i < count; i++) {
        pagoda_free(objects[i]);
        uint32_t length = thread_cache_own_length(size_class), limit = thread_cache_own_limit(size_class);
        if (length > limit || limit > info->cache_limit)
            ck_abort_msg("class %u: %u objects cached, limit %u, class limit %u", size_class,
                         length, limit, info->cache_limit);
    }
    /* An overflowing list sends one batch back: the list stays within a batch of full. */
    ck_assert_uint_gt(thread_cache_own_length(size_class) + info->batch, info->cache_limit);
    free(objects);
    return NULL;
}

START_TEST(test_a_list_grows_by_slow_start_up_to_the_class_limit)
{
    start_pagoda(NULL);
    run_thread(watch_slow_start, (void *)&slow_start_sizes[_i]);
}
END_TEST

/* ---- the thread's byte budget -------------------------------------------------- */

/* Bytes the calling thread's lists hold. */
static size_t own_cached_bytes(void)
{
    size_t bytes = 0;
    for (unsigned c = 1; c <= size_class_count; c++)
        bytes += (size_t)thread_cache_own_length(c) * size_class_table[c].size;
    return bytes;
}

/* The budget a thread runs under, and the most bytes it cached at once. */
struct budget_run {
    size_t budget;
    size_t peak;
};

/* For every class of 1 KiB and more, allocates a full list's worth and frees it all,
 * wanting far more cache than any budget tested; checks the budget after every free
 * and records the most bytes cached at once. */
static void *fill_every_large_class(void *run_arg)
{
    struct budget_run *run = run_arg;
    run->peak = 0;
    for (unsigned c = size_class_of(1024); c <= size_class_count; c++) {
        const struct size_class_info *info = &size_class_table[c];
        void **objects = malloc(info->cache_limit * sizeof *objects);
        for (uint32_t i = 0; i < info->cache_limit; i++)
            objects[i] = pagoda_malloc(info->size);
        for (uint32_t i = 0; i < info->cache_limit; i++) {
            pagoda_free(objects[i]);
            size_t cached = own_cached_bytes();
            if (cached > run->budget || thread_cache_current->capacity_bytes > run->budget)
                ck_abort_msg("%zu bytes cached, room for %zu, budget %zu", cached,
                             thread_cache_current->capacity_bytes, run->budget);
            if (cached > run->peak)
                run->peak = cached;
        }
        free(objects);
    }
    return NULL;
}

static const struct {
    const char *text;
    size_t bytes;
} budgets[] = { { "64K", 64 << 10 }, { "256K", 256 << 10 }, { "1M", 1 << 20 } };

START_TEST(test_a_threads_cached_bytes_stay_within_its_budget)
{
    start_pagoda(budgets[_i].text);
    struct budget_run run = { .budget = budgets[_i].bytes };
    run_thread(fill_every_large_class, &run);
    ck_assert_uint_gt(run.peak, 0);
}
END_TEST

START_TEST(test_the_budget_is_what_holds_the_cache_back)
{
    start_pagoda("4M");
    struct budget_run run = { .budget = 4 << 20 };
    run_thread(fill_every_large_class, &run);
    ck_assert_uint_gt(run.peak, 1 << 20);     /* more than the largest budget above */
}
END_TEST

/* ---- thread exit -------------------------------------------------------------------- */

/* With no object in use: every object of every span the central lists hold is free in
 * its span, in the transfer cache, or counted in cached[] (the live thread caches). */
static void check_every_object_free_or_cached(const size_t cached[SIZE_CLASS_MAX_COUNT + 1])
{
    for (unsigned c = 1; c <= size_class_count; c++) {
        struct central_class_stats stats;
        central_get_stats(c, &stats);
        ck_assert_msg(stats.free_in_spans + stats.in_transfer_cache + cached[c] ==
                      stats.spans * size_class_table[c].objects,
                      "class %u: %zu free in spans + %zu in transfer + %zu cached != %zu spans x %u",
                      c, stats.free_in_spans, stats.in_transfer_cache, cached[c], stats.spans,
                      size_class_table[c].objects);
    }
}

static size_t total_of(const size_t counts[SIZE_CLASS_MAX_COUNT + 1])
{
    size_t total = 0;
    for (unsigned c = 1; c <= size_class_count; c++)
        total += counts[c];
    return total;
}

/* A thread that, having cached objects, reports its lists' lengths and waits at the
 * barrier until the test has looked, then exits. */
struct parked_thread {
    pthread_t thread;
    pthread_barrier_t looked;
    size_t lengths[SIZE_CLASS_MAX_COUNT + 1];
    void **handed;           /* objects given to the thread to free */
    size_t handed_count;
};

static void report_and_wait(struct parked_thread *parked)
{
    for (unsigned c = 1; c <= size_class_count; c++)
        parked->lengths[c] = thread_cache_own_length(c);
    pthread_barrier_wait(&parked->looked);      /* the lengths are ready */
    pthread_barrier_wait(&parked->looked);      /* the test has looked */
}

static const size_t exit_test_sizes[] = { 16, 100, 1000, 5000, 20000 };
#define OBJECTS_PER_SIZE 200

static void *cache_objects_then_park(void *arg)
{
    void *objects[OBJECTS_PER_SIZE];
    for (size_t s = 0; s < sizeof exit_test_sizes / sizeof exit_test_sizes[0]; s++) {
        for (int i = 0; i < OBJECTS_PER_SIZE; i++)
            objects[i] = pagoda_malloc(exit_test_sizes[s]);
        for (int i = 0; i < OBJECTS_PER_SIZE; i++)
            pagoda_free(objects[i]);
    }
    report_and_wait(arg);
    return NULL;
}

static void *free_handed_objects_then_park(void *arg)
{
    struct parked_thread *parked = arg;
    for (size_t i = 0; i < parked->handed_count; i++)
        pagoda_free(parked->handed[i]);
    report_and_wait(parked);
    return NULL;
}

/* Runs body in a thread; while it is parked, checks that its lists are what
 * thread_cache_count_cached sees and that they hold something; after it exits,
 * checks that nothing is cached and every object is back in the central tier. */
static void check_exit_returns_cache(struct parked_thread *parked, void *(*body)(void *))
{
    ck_assert_int_eq(pthread_barrier_init(&parked->looked, NULL, 2), 0);
    ck_assert_int_eq(pthread_create(&parked->thread, NULL, body, parked), 0);
    pthread_barrier_wait(&parked->looked);
    size_t counts[SIZE_CLASS_MAX_COUNT + 1] = { 0 };
    size_t large_bytes = 0;
    thread_cache_count_cached(counts, &large_bytes);
    for (unsigned c = 1; c <= size_class_count; c++)
        ck_assert_uint_eq(counts[c], parked->lengths[c]);
    ck_assert_uint_gt(total_of(counts), 0);
    check_every_object_free_or_cached(counts);
    pthread_barrier_wait(&parked->looked);
    ck_assert_int_eq(pthread_join(parked->thread, NULL), 0);
    size_t after[SIZE_CLASS_MAX_COUNT + 1] = { 0 };
    size_t large_after = 0;
    thread_cache_count_cached(after, &large_after);
    ck_assert_uint_eq(total_of(after), 0);
    check_every_object_free_or_cached(after);
    pthread_barrier_destroy(&parked->looked);
}

START_TEST(test_thread_exit_returns_everything_cached)
{
    start_pagoda(NULL);
    struct parked_thread parked = { .handed_count = 0 };
    check_exit_returns_cache(&parked, cache_objects_then_park);
}
END_TEST

static void *allocate_objects_to_hand_over(void *parked_arg)
{
    struct parked_thread *parked = parked_arg;
    for (size_t i = 0; i < parked->handed_count; i++)
        parked->handed[i] = pagoda_malloc(i % 2 ? 48 : 3000);
    return NULL;
}

START_TEST(test_a_thread_that_only_frees_returns_its_cache_at_exit)
{
    start_pagoda(NULL);
    void *handed[300];
    struct parked_thread parked = { .handed = handed, .handed_count = 300 };
    run_thread(allocate_objects_to_hand_over, &parked);   /* its cache goes back at its exit */
    check_exit_returns_cache(&parked, free_handed_objects_then_park);
}
END_TEST

/* The shards pagoda_stats_get reports threads spread over. */
static uint64_t stats_central_shards(void)
{
    struct pagoda_stats stats = PAGODA_STATS_INIT;
    ck_assert_int_eq(pagoda_stats_get(&stats), 0);
    return stats.central_shards;
}

/* Counts as many sleeps on the central lists' locks as make them contended. */
static void make_central_lists_contended(void)
{
    for (int i = 0; i < CENTRAL_SPREAD_SLEEPS; i++)
        central_note_sleep();
    ck_assert(central_contended());
}

/* The same two checks with the main thread's cache created first: the workers' caches
 * then belong to another central shard than the main thread's, and the objects handed
 * over come from spans of a shard their freeing thread is not in. */
START_TEST(test_threads_of_other_shards_return_their_caches_at_exit)
{
    setenv("PAGODA_CENTRAL_SHARDS", "4", 1);
    start_pagoda(NULL);
    make_central_lists_contended();
    pagoda_free(pagoda_malloc(64));
    thread_cache_flush_current();       /* the checks count every live cache's objects */
    struct parked_thread parked = { .handed_count = 0 };
    check_exit_returns_cache(&parked, cache_objects_then_park);
    void *handed[300];
    parked = (struct parked_thread){ .handed = handed, .handed_count = 300 };
    run_thread(allocate_objects_to_hand_over, &parked);
    check_exit_returns_cache(&parked, free_handed_objects_then_park);
}
END_TEST

/* ---- central shards ------------------------------------------------------------------ */

#define SPREAD_THREADS 5

struct shard_probe {
    pthread_barrier_t *all_started;
    unsigned shard;
};

/* Creates the thread's cache, records its shard, and waits until every probe has. */
static void *record_shard(void *arg)
{
    struct shard_probe *probe = arg;
    pagoda_free(pagoda_malloc(64));
    probe->shard = thread_cache_of_this_thread()->shard;
    pthread_barrier_wait(probe->all_started);
    return NULL;
}

/* Runs `count` threads alive at once; counts how many landed in each shard. */
static void run_probes(unsigned count, unsigned members[CENTRAL_MAX_SHARDS])
{
    pthread_barrier_t all_started;
    pthread_t threads[SPREAD_THREADS];
    struct shard_probe probes[SPREAD_THREADS];
    ck_assert_int_eq(pthread_barrier_init(&all_started, NULL, count), 0);
    for (unsigned i = 0; i < count; i++) {
        probes[i] = (struct shard_probe){ .all_started = &all_started };
        ck_assert_int_eq(pthread_create(&threads[i], NULL, record_shard, &probes[i]), 0);
    }
    for (unsigned i = 0; i < count; i++) {
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
        ck_assert_uint_lt(probes[i].shard, CENTRAL_MAX_SHARDS);
        members[probes[i].shard]++;
    }
    pthread_barrier_destroy(&all_started);
}

static const struct {
    const char *shards;
    unsigned count;
} spreads[] = { { "4", 4 }, { "2", 2 }, { "1", 1 }, { "64", 64 } };

/* The first thread's cache takes shard 0, and the process keeps one shard while it
 * is alone; threads made later, with no contention, take the emptiest shards, on
 * trial. */
START_TEST(test_the_first_thread_takes_shard_0_and_later_ones_shards_of_their_own)
{
    setenv("PAGODA_CENTRAL_SHARDS", "4", 1);
    start_pagoda(NULL);
    pagoda_free(pagoda_malloc(64));
    ck_assert_uint_eq(thread_cache_of_this_thread()->shard, 0);
    ck_assert(!thread_cache_of_this_thread()->spread_on_trial);
    ck_assert_uint_eq(stats_central_shards(), 1);
    unsigned members[CENTRAL_MAX_SHARDS] = { 1 };           /* the main thread's */
    run_probes(SPREAD_THREADS, members);
    ck_assert(!central_contended());
    ck_assert_uint_eq(stats_central_shards(), 4);
    for (unsigned shard = 0; shard < CENTRAL_MAX_SHARDS; shard++)
        ck_assert_uint_eq(members[shard], shard < 4 ? 2 - (shard > 1) : 0);   /* 2 2 1 1 */
    ck_assert_uint_eq(thread_cache_of_this_thread()->shard, 0);
}
END_TEST

/* Objects of 64 B whose frees hand back enough batches to end any trial
 * (TRIAL_BATCHES in thread_cache.c): more than a list of the class may hold. */
#define TRIAL_OBJECTS (4 * 64 * 32)

struct trial_probe {
    void **handed;                /* objects the main thread made, to free; or NULL */
    pthread_barrier_t *step;      /* when set: wait twice before the last slow path */
    unsigned shard_at_start, shard_after_trial, shard_at_end;
    bool on_trial_at_start, on_trial_after;
};

/* Frees TRIAL_OBJECTS objects of 64 B, the main thread's when handed some, else its
 * own, then takes a slow path of another class, which ends its trial. */
static void *free_then_end_trial(void *arg)
{
    struct trial_probe *probe = arg;
    pagoda_free(pagoda_malloc(100));
    probe->shard_at_start = thread_cache_of_this_thread()->shard;
    probe->on_trial_at_start = thread_cache_of_this_thread()->spread_on_trial;
    static void *own[TRIAL_OBJECTS];
    void **objects = probe->handed ? probe->handed : own;
    if (!probe->handed)
        for (size_t i = 0; i < TRIAL_OBJECTS; i++)
            ck_assert_ptr_nonnull(own[i] = pagoda_malloc(64));
    for (size_t i = 0; i < TRIAL_OBJECTS; i++)
        pagoda_free(objects[i]);
    pagoda_free(pagoda_malloc(3000));
    probe->shard_after_trial = thread_cache_of_this_thread()->shard;
    probe->on_trial_after = thread_cache_of_this_thread()->spread_on_trial;
    if (probe->step) {
        pthread_barrier_wait(probe->step);
        pthread_barrier_wait(probe->step);
    }
    pagoda_free(pagoda_malloc(5000));
    probe->shard_at_end = thread_cache_of_this_thread()->shard;
    return NULL;
}

/* A thread that frees objects of its own keeps the shard it was given. */
START_TEST(test_a_thread_that_frees_its_own_objects_keeps_its_shard)
{
    setenv("PAGODA_CENTRAL_SHARDS", "4", 1);
    start_pagoda(NULL);
    pagoda_free(pagoda_malloc(64));
    struct trial_probe probe = { .handed = NULL };
    run_thread(free_then_end_trial, &probe);
    ck_assert(probe.on_trial_at_start);
    ck_assert_uint_eq(probe.shard_at_start, 1);
    ck_assert(!probe.on_trial_after);
    ck_assert_uint_eq(probe.shard_after_trial, 1);
}
END_TEST

/* A thread that frees the main thread's objects (of shard 0) goes back to shard 0 when
 * its trial ends; once the lists are found contended, its next slow path takes it to
 * the emptiest shard, the main thread's cache keeping it from shard 0. */
START_TEST(test_a_thread_that_frees_other_threads_objects_goes_back_to_shard_0)
{
    setenv("PAGODA_CENTRAL_SHARDS", "4", 1);
    start_pagoda(NULL);
    static void *handed[TRIAL_OBJECTS];
    for (size_t i = 0; i < TRIAL_OBJECTS; i++)
        ck_assert_ptr_nonnull(handed[i] = pagoda_malloc(64));
    pthread_barrier_t step;
    ck_assert_int_eq(pthread_barrier_init(&step, NULL, 2), 0);
    struct trial_probe probe = { .handed = handed, .step = &step };
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, free_then_end_trial, &probe), 0);
    pthread_barrier_wait(&step);
    make_central_lists_contended();
    pthread_barrier_wait(&step);
    ck_assert_int_eq(pthread_join(thread, NULL), 0);
    pthread_barrier_destroy(&step);
    ck_assert(probe.on_trial_at_start);
    ck_assert_uint_eq(probe.shard_at_start, 1);
    ck_assert(!probe.on_trial_after);
    ck_assert_uint_eq(probe.shard_after_trial, 0);
    ck_assert_uint_eq(probe.shard_at_end, 1);
}
END_TEST

/* Once the lists are contended, with the main thread's cache in shard 0, threads alive
 * at once take the emptiest shards: no shard has two caches more than another. After
 * they exit, the next thread takes the lowest shard that is emptiest again. */
START_TEST(test_threads_alive_at_once_are_spread_evenly_over_the_shards)
{
    setenv("PAGODA_CENTRAL_SHARDS", spreads[_i].shards, 1);
    unsigned shards = spreads[_i].count;
    start_pagoda(NULL);
    pagoda_free(pagoda_malloc(64));
    make_central_lists_contended();
    pagoda_free(pagoda_malloc(3000));             /* a slow path: the main thread's cache moves */
    ck_assert_uint_eq(thread_cache_of_this_thread()->shard, 0);
    unsigned members[CENTRAL_MAX_SHARDS] = { 1 };           /* the main thread's */
    run_probes(SPREAD_THREADS, members);
    unsigned fewest = members[0], most = members[0];
    for (unsigned shard = 0; shard < CENTRAL_MAX_SHARDS; shard++) {
        if (shard >= shards) {
            ck_assert_uint_eq(members[shard], 0);
            continue;
        }
        fewest = members[shard] < fewest ? members[shard] : fewest;
        most = members[shard] > most ? members[shard] : most;
    }
    ck_assert_msg(most - fewest <= 1, "%u shards: %u to %u caches in one", shards, fewest, most);
    ck_assert_uint_eq(stats_central_shards(), shards);
    unsigned after[CENTRAL_MAX_SHARDS] = { 0 };
    run_probes(1, after);
    ck_assert_uint_eq(after[shards > 1 ? 1 : 0], 1);
}
END_TEST

static const size_t churn_sizes[] = { 8, 48, 256, 1000, 4096, 20000 };
#define CHURN_SIZES (sizeof churn_sizes / sizeof churn_sizes[0])

/* Fills the calling thread's cache: 4,096 objects of the churn sizes and a large
 * block, all freed. */
static void *cache_objects_of_every_churn_size(void *unused)
{
    (void)unused;
    enum { COUNT = 4096 };
    void *objects[COUNT];
    for (int i = 0; i < COUNT; i++)
        objects[i] = pagoda_malloc(churn_sizes[(unsigned)i % CHURN_SIZES]);
    void *large = pagoda_malloc(256 << 10);
    for (int i = 0; i < COUNT; i++)
        pagoda_free(objects[i]);
    pagoda_free(large);
    return NULL;
}

/* Allocates and frees objects of every churn size until *stop is set. */
static void *churn_until_stopped(void *stop)
{
    void *objects[64];
    for (unsigned round = 0; !__atomic_load_n((int *)stop, __ATOMIC_RELAXED); round++) {
        for (int i = 0; i < 64; i++)
            objects[i] = pagoda_malloc(churn_sizes[(round + (unsigned)i) % CHURN_SIZES]);
        for (int i = 0; i < 64; i++)
            pagoda_free(objects[i]);
    }
    return NULL;
}

/* Starts `count` threads running body(&stop), forks `attempts` times meanwhile, then
 * stops and joins them. Each child exits with what `child` returns, which must be 0;
 * it calls nothing of Check's, whose lock another thread may have held at the fork. */
static void fork_while_threads_run(void *(*body)(void *), unsigned count, int (*child)(void), int attempts)
{
    int stop = 0;
    pthread_t threads[4];
    ck_assert_uint_le(count, 4);
    for (unsigned i = 0; i < count; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, body, &stop), 0);
    for (int attempt = 0; attempt < attempts; attempt++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(child());
        ck_assert_int_ne(pid, -1);
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: status %d", attempt, status);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < count; i++)
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
}

/* Allocates and frees 100 objects of every class; 0, or 1 when an allocation fails, 2
 * when the process is not spread over 4 shards. */
static int allocate_in_every_class(void)
{
    for (unsigned c = 1; c <= size_class_count; c++) {
        void *objects[100];
        for (int i = 0; i < 100; i++)
            if (!(objects[i] = pagoda_malloc(size_class_table[c].size)))
                return 1;
        for (int i = 0; i < 100; i++)
            pagoda_free(objects[i]);
    }
    return stats_central_shards() == 4 ? 0 : 2;
}

/* A child forked while threads spread over shards churn every class: fork takes and
 * resets every shard's locks, so the child allocates and frees in every class, and
 * the other threads' shards give their objects to it as usual. */
START_TEST(test_a_fork_child_of_a_spread_process_allocates_in_every_class)
{
    setenv("PAGODA_CENTRAL_SHARDS", "4", 1);
    start_pagoda(NULL);
    make_central_lists_contended();
    pagoda_free(pagoda_malloc(64));
    fork_while_threads_run(churn_until_stopped, 3, allocate_in_every_class, 20);
}
END_TEST

/* ---- fork while threads exit ---------------------------------------------------------- */

/* Starts short-lived threads, one after another, until *stop is set. Each fills its
 * cache (small objects of every churn size and a large block) before it exits, so that
 * its exit has much to give back. */
static void *start_caching_threads_until_stopped(void *stop)
{
    while (!__atomic_load_n((int *)stop, __ATOMIC_RELAXED))
        run_thread(cache_objects_of_every_churn_size, NULL);
    return NULL;
}

/* A fork child is left with the forking thread's cache alone: the budget in use is
 * that cache's, also when a thread of the parent was in the middle of its exit, its
 * cache off the registry but its budget not yet returned (here about 1 MiB: 0.75 MiB
 * of lists and the 256 KiB block). It may be a little more: each of the two live
 * threads may have been between taking budget and recording it in its cache, for one
 * list's growth or one large block (256 KiB at most). It is never less: no cache's
 * budget is returned twice. */
#define IN_FLIGHT_BUDGET_SLACK (2 * (256 << 10))

/* 0 when the budget in use is as above, 3 when below, 4 when above the slack. */
static int check_budget_is_own(void)
{
    const struct thread_cache *own = thread_cache_current;
    size_t in_use = thread_cache_budget_in_use(), own_budget = own->capacity_bytes + own->large.reserved;
    return in_use < own_budget ? 3 : in_use - own_budget > IN_FLIGHT_BUDGET_SLACK ? 4 : 0;
}

START_TEST(test_a_fork_child_holds_the_budget_of_its_own_cache_alone)
{
    start_pagoda(NULL);
    pagoda_free(pagoda_malloc(64));
    fork_while_threads_run(start_caching_threads_until_stopped, 2, check_budget_is_own, 200);
}
END_TEST

/* ---- false sharing at a thread's start ---------------------------------------------- */

struct handoff {
    void *handed;       /* allocated by the main thread, freed by the worker */
    void *got;          /* the worker's first allocation of the same size */
};

static void *free_handed_then_allocate(void *arg)
{
    struct handoff *handoff = arg;
    pagoda_free(handoff->handed);
    handoff->got = pagoda_malloc(8);
    return NULL;
}

/* Hoard's cache-scratch pattern: a thread frees an object its maker handed it, then
 * allocates the same size. It must not get that object back (its cache line holds the
 * maker's other objects), nor any object in a line an object in use shares. */
START_TEST(test_a_thread_does_not_reuse_an_object_handed_to_it)
{
    start_pagoda(NULL);
    enum { COUNT = 8 };
    void *objects[COUNT];
    for (int i = 0; i < COUNT; i++)
        objects[i] = pagoda_malloc(8);
    struct handoff handoff = { .handed = objects[1] };
    run_thread(free_handed_then_allocate, &handoff);
    ck_assert_ptr_ne(handoff.got, objects[1]);
    uintptr_t line = (uintptr_t)handoff.got / 64;
    for (int i = 0; i < COUNT; i++)
        if (i != 1 && (uintptr_t)objects[i] / 64 == line)
            ck_abort_msg("the thread's object %p shares a cache line with object %d (%p)",
                         handoff.got, i, objects[i]);
}
END_TEST

/* ---- owned spans of an idle thread --------------------------------------------------- */

struct idle_owner {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int stage;                  /* 1: the worker owns a span; 2: it may go on */
    struct thread_cache *cache;
    struct span *span;
    void *objects[64];
};

/* Allocates enough 64-byte objects to own a span, publishes its cache and span, waits
 * to be let go, then allocates again (its next slow path empties the drained cache). */
static void *own_a_span_then_wait(void *arg)
{
    struct idle_owner *owner = arg;
    unsigned size_class = size_class_of(64);
    for (int i = 0; i < 64; i++)
        owner->objects[i] = pagoda_malloc(64);
    pthread_mutex_lock(&owner->lock);
    owner->cache = thread_cache_of_this_thread();
    owner->span = owner->cache->own_span[size_class];
    owner->stage = 1;
    pthread_cond_broadcast(&owner->changed);
    while (owner->stage != 2)
        pthread_cond_wait(&owner->changed, &owner->lock);
    pthread_mutex_unlock(&owner->lock);
    for (int i = 0; i < 64; i++)
        pagoda_free(owner->objects[i]);
    pagoda_free(pagoda_malloc(64));
    return NULL;
}

/* A release pass that finds a thread idle gives up the spans it owns at once, while
 * the thread's lists wait for its next call. */
START_TEST(test_an_idle_threads_owned_spans_go_back_at_the_drain_request)
{
    start_pagoda(NULL);
    struct idle_owner owner = { .lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER };
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, own_a_span_then_wait, &owner), 0);
    pthread_mutex_lock(&owner.lock);
    while (owner.stage != 1)
        pthread_cond_wait(&owner.changed, &owner.lock);
    pthread_mutex_unlock(&owner.lock);
    ck_assert_ptr_nonnull(owner.span);
    ck_assert_uint_eq(owner.span->owned, 1);
    thread_cache_request_idle_drains(UINT64_MAX);
    ck_assert_ptr_null(owner.cache->own_span[size_class_of(64)]);
    ck_assert_uint_eq(owner.span->owned, 0);
    pthread_mutex_lock(&owner.lock);
    owner.stage = 2;
    pthread_cond_broadcast(&owner.changed);
    pthread_mutex_unlock(&owner.lock);
    ck_assert_int_eq(pthread_join(thread, NULL), 0);
}
END_TEST

/* ---- scavenging under a delay of 0 ------------------------------------------------ */

/* Grows the 64-byte list's limit, then makes slow paths in the 1000-byte class and
 * counts how often the 64-byte limit drops: each drop is a scavenge halving that
 * list, which had no slow path of its own meanwhile. Returns the drops and sets the
 * milliseconds the slow paths took. */
static unsigned count_halvings(uint64_t *elapsed_ms)
{
    unsigned watched = size_class_of(64), other = size_class_of(1000);
    enum { GROW = 2000, OTHER = 400 };
    static void *objects[GROW > OTHER ? GROW : OTHER];
    for (int i = 0; i < GROW; i++)
        objects[i] = pagoda_malloc(64);
    for (int i = 0; i < GROW; i++)
        pagoda_free(objects[i]);
    uint32_t limit = thread_cache_own_limit(watched);
    ck_assert_uint_gt(limit, 64);
    unsigned drops = 0;
    double start = monotonic_seconds();
    for (int i = 0; i < OTHER && limit; i++) {
        objects[i] = pagoda_malloc(1000);
        uint32_t now = thread_cache_own_limit(watched);
        drops += now < limit;
        limit = now;
    }
    *elapsed_ms = (uint64_t)((monotonic_seconds() - start) * 1000);
    ck_assert_uint_gt(thread_cache_own_limit(other), 1);    /* the 1000-byte list missed */
    for (int i = 0; i < OTHER; i++)
        pagoda_free(objects[i]);
    return drops;
}

static void *watch_scavenges(void *unused)
{
    (void)unused;
    uint64_t elapsed_ms;
    unsigned drops = count_halvings(&elapsed_ms);
    /* One scavenge may fall due at the first slow path; then one per interval. */
    uint64_t allowed = 1 + elapsed_ms / RELEASE_MIN_INTERVAL_MS;
    if (drops > allowed)
        ck_abort_msg("the 64-byte list was halved %u times in %llu ms of other slow paths "
                     "(at most %llu allowed)", drops, (unsigned long long)elapsed_ms,
                     (unsigned long long)allowed);
    return NULL;
}

/* With a delay of 0, a scavenge at every slow path halved a busy thread's lists as
 * fast as they refilled (a program of 8 threads ran 6-8 times slower). */
START_TEST(test_a_delay_of_0_scavenges_once_per_interval_not_at_every_slow_path)
{
    setenv("PAGODA_RELEASE_DELAY_MS", "0", 1);
    setenv("PAGODA_BACKGROUND_THREAD", "0", 1);
    pagoda_initialize();
    run_thread(watch_scavenges, NULL);
}
END_TEST

Suite *tier_suite(void)
{
    Suite *suite = suite_create("thread caches");
    TCase *limits = tcase_create("limits");
    tcase_add_loop_test(limits, test_a_list_grows_by_slow_start_up_to_the_class_limit, 0,
                        sizeof slow_start_sizes / sizeof slow_start_sizes[0]);
    tcase_add_loop_test(limits, test_a_threads_cached_bytes_stay_within_its_budget, 0,
                        sizeof budgets / sizeof budgets[0]);
    tcase_add_test(limits, test_the_budget_is_what_holds_the_cache_back);
    suite_add_tcase(suite, limits);
    TCase *owned = tcase_create("owned spans");
    tcase_add_test(owned, test_an_idle_threads_owned_spans_go_back_at_the_drain_request);
    suite_add_tcase(suite, owned);
    TCase *scavenge = tcase_create("scavenge");
    tcase_add_test(scavenge, test_a_delay_of_0_scavenges_once_per_interval_not_at_every_slow_path);
    suite_add_tcase(suite, scavenge);
    TCase *sharing = tcase_create("false sharing");
    tcase_add_test(sharing, test_a_thread_does_not_reuse_an_object_handed_to_it);
    suite_add_tcase(suite, sharing);
    TCase *exits = tcase_create("thread exit");
    tcase_add_test(exits, test_thread_exit_returns_everything_cached);
    tcase_add_test(exits, test_a_thread_that_only_frees_returns_its_cache_at_exit);
    tcase_add_test(exits, test_threads_of_other_shards_return_their_caches_at_exit);
    suite_add_tcase(suite, exits);
    TCase *forks = tcase_create("fork");
    tcase_add_test(forks, test_a_fork_child_holds_the_budget_of_its_own_cache_alone);
    suite_add_tcase(suite, forks);
    TCase *spread = tcase_create("shards");
    tcase_add_test(spread, test_the_first_thread_takes_shard_0_and_later_ones_shards_of_their_own);
    tcase_add_test(spread, test_a_thread_that_frees_its_own_objects_keeps_its_shard);
    tcase_add_test(spread, test_a_thread_that_frees_other_threads_objects_goes_back_to_shard_0);
    tcase_add_test(spread, test_a_fork_child_of_a_spread_process_allocates_in_every_class);
    tcase_add_loop_test(spread, test_threads_alive_at_once_are_spread_evenly_over_the_shards, 0,
                        sizeof spreads / sizeof spreads[0]);
    suite_add_tcase(suite, spread);
    return suite;
}
