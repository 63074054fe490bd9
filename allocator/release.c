/*
 * release.c — release passes and the background thread (release.h).
 *
 * Pacing: next_pass_ms is claimed with a compare-and-swap, so one thread runs each
 * pass while the others go on. A pass walks the page heap's free spans (advising only
 * those not yet released) and, per class, the partial spans up to the first released
 * one (released spans form the tail of the list).
 *
 * The background thread sleeps for good once nothing is left for it to do, and a tick
 * wakes it. Memory only becomes free on a slow path, and every slow path that frees
 * memory ticks (at or after the free), so memory freed before the latest tick is idle
 * one delay after it. Freed memory can move on once more at a pass (a flushed transfer
 * cache fills spans, which may then be wholly free and go to the page heap), each move
 * starting its delay afresh: after PARK_AFTER_DELAYS delays without a tick, every
 * pass has run that could release anything, and the thread parks. Parking and waking
 * pair like Dekker's protocol: the thread announces itself parked, then reads
 * last_tick_ms; a tick writes last_tick_ms, then reads the announcement; both with
 * sequentially consistent atomics, so at least one of the two sees the other.
 */
#include "allocator/release.h"

#include "allocator/clock.h"
#include "allocator/config.h"
#include "allocator/size_classes.h"
#include "allocator/thread_cache.h"
#include "central/central_list.h"
#include "central/large_spare.h"
#include "central/page_heap.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Passes are at least this far apart, however short the delay. */
#define MIN_PASS_INTERVAL_MS 10

/* PAGODA_BACKGROUND_THREAD=auto starts the thread at the first tick that finds the
 * heap's mapped address space this large. Passes run from slow paths, and a program
 * that goes on with a light load after a big free may reach none for many seconds
 * (its thread caches serve everything), keeping all it freed; with the thread it
 * shrinks one delay after the free. A small heap has little to lose and never gets a
 * thread, nor does a process whose delay is 0 (the thread would wake 100 times a
 * second). */
#define AUTO_BACKGROUND_HEAP_BYTES ((size_t)64 << 20)

/* The thread's stack: a pass needs little, and the default (8 MiB of address space)
 * would count against RLIMIT_AS. */
#define BACKGROUND_STACK_BYTES ((size_t)64 << 10)

/* How many delays without a tick make the background thread park (see above): a
 * transfer cache's objects reach the page heap in at most three moves. */
#define PARK_AFTER_DELAYS 4

static uint64_t next_pass_ms;
static int background_thread_started;   /* once tried: a failed start is not retried */
static uint64_t last_tick_ms;           /* clock_ms of the latest tick */
static int background_parked;           /* futex word: 1 while the thread waits for a tick */

/* Everything unused since idle_before_ms goes back; returns bytes. */
static size_t release_pass(uint64_t idle_before_ms)
{
    size_t released = 0;
    large_spare_release(idle_before_ms == UINT64_MAX);
    thread_cache_request_idle_drains(idle_before_ms);
    for (unsigned c = 1; c <= size_class_count; c++)
        released += central_release_idle(c, idle_before_ms);
    return released + page_heap_release_idle(idle_before_ms);
}

static uint64_t pass_interval_ms(void)
{
    uint64_t interval = pagoda_config.release_delay_ms / 4;
    return interval < MIN_PASS_INTERVAL_MS ? MIN_PASS_INTERVAL_MS : interval;
}

/* Runs a pass if one is due and no other thread has claimed it. */
static void release_if_due(uint64_t now)
{
    uint64_t due = __atomic_load_n(&next_pass_ms, __ATOMIC_RELAXED);
    if (now < due)
        return;
    if (!__atomic_compare_exchange_n(&next_pass_ms, &due, now + pass_interval_ms(), 0,
                                     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        return;
    release_pass(now > pagoda_config.release_delay_ms ? now - pagoda_config.release_delay_ms : 0);
}

/* A tick that read the clock after `now` did is recent too. */
static bool ticked_lately(uint64_t now)
{
    uint64_t last = __atomic_load_n(&last_tick_ms, __ATOMIC_SEQ_CST);
    return last >= now || now - last < PARK_AFTER_DELAYS * pagoda_config.release_delay_ms;
}

/* Waits for a tick, unless one came in while the thread was deciding to. FUTEX_WAIT
 * returns at once if the word is no longer 1. */
static void park_background_thread(void)
{
    __atomic_store_n(&background_parked, 1, __ATOMIC_SEQ_CST);
    if (ticked_lately(clock_ms())) {
        __atomic_store_n(&background_parked, 0, __ATOMIC_RELAXED);
        return;
    }
    while (__atomic_load_n(&background_parked, __ATOMIC_ACQUIRE))
        syscall(SYS_futex, &background_parked, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0);
}

static void wake_background_thread(void)
{
    if (__atomic_exchange_n(&background_parked, 0, __ATOMIC_ACQ_REL))
        syscall(SYS_futex, &background_parked, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *background_thread_main(void *unused)
{
    (void)unused;
    for (;;) {
        uint64_t interval = pass_interval_ms();
        struct timespec pause = { (time_t)(interval / 1000), (long)(interval % 1000) * 1000000 };
        nanosleep(&pause, NULL);
        uint64_t now = clock_ms();
        release_if_due(now);
        if (!ticked_lately(now))
            park_background_thread();
    }
    return NULL;
}

/* Starts the detached background thread, with every signal blocked so that it never
 * takes a signal meant for the program. It never keeps the process from exiting. */
static void start_background_thread(void)
{
    if (__atomic_exchange_n(&background_thread_started, 1, __ATOMIC_ACQ_REL))
        return;
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attributes, BACKGROUND_STACK_BYTES);
    pthread_t thread;
    pthread_create(&thread, &attributes, background_thread_main, NULL);
    pthread_attr_destroy(&attributes);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
}

static bool background_thread_wanted(void)
{
    if (pagoda_config.background_thread == BACKGROUND_AT_START)
        return true;
    return pagoda_config.background_thread == BACKGROUND_AUTO && pagoda_config.release_delay_ms &&
           page_heap_mapped_bytes() >= AUTO_BACKGROUND_HEAP_BYTES;
}

void release_tick(void)
{
    if (pagoda_config.release_delay_ms == UINT64_MAX)
        return;
    int saved_errno = errno;      /* free() must not change it; madvise and futex may */
    uint64_t now = clock_ms();
    /* The clock is coarse (clock.h): the store, a full barrier, comes a few hundred
     * times a second at most, however many threads tick. */
    if (__atomic_load_n(&last_tick_ms, __ATOMIC_RELAXED) != now) {
        __atomic_exchange_n(&last_tick_ms, now, __ATOMIC_SEQ_CST);
        if (unlikely(__atomic_load_n(&background_parked, __ATOMIC_SEQ_CST)))
            wake_background_thread();
    }
    if (unlikely(!__atomic_load_n(&background_thread_started, __ATOMIC_RELAXED)) && background_thread_wanted())
        start_background_thread();
    release_if_due(now);
    errno = saved_errno;
}

size_t release_everything(void)
{
    thread_cache_flush_current();
    return release_pass(UINT64_MAX);
}

void release_after_fork_in_child(void)
{
    background_thread_started = 0;
    background_parked = 0;
}
