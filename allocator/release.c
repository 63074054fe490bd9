/*
 * release.c — release passes and the background thread (release.h).
 *
 * Pacing: next_pass_ms is claimed with a compare-and-swap, so one thread runs each
 * pass while the others go on. A pass walks the page heap's free spans (advising only
 * those not yet released) and, per class, the partial spans up to the first released
 * one (released spans form the tail of the list).
 *
 * The background thread sleeps for good once a pass of its own has found nothing left
 * waiting for its delay (no free span, partial span, transfer cache or spare still too
 * recent to release), and no memory was freed meanwhile. Whatever frees memory notes it
 * afterwards (release_note_free), which wakes the thread if it sleeps. Parking and
 * noting pair like Dekker's protocol: the thread announces itself parked, then reads
 * release_freed_flag; a free sets the flag, then reads the announcement; both with
 * sequentially consistent atomics, so at least one of the two sees the other. The
 * flag is cleared before each of the thread's passes: a free the pass may have missed
 * sets it again, and keeps the thread awake for another round.
 */
#include "allocator/release.h"

#include "allocator/clock.h"
#include "allocator/config.h"
#include "allocator/size_classes.h"
#include "allocator/thread_cache.h"
#include "central/central_list.h"
#include "central/large_spare.h"
#include "central/os_release.h"
#include "central/page_heap.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

/* PAGODA_BACKGROUND_THREAD=auto starts the thread at the first tick that finds the
 * heap's mapped address space this large, AUTO_BACKGROUND_MIN_AGE_MS or more after the
 * process's first tick. Passes run from slow paths, and a program that goes on with a
 * light load after a big free may reach none for many seconds (its thread caches
 * serve everything), keeping all it freed; with the thread it shrinks one delay after
 * the free. A small heap has little to lose and never gets a thread, nor does a
 * process whose delay is 0 (the thread would wake 100 times a second).
 *
 * The age keeps the thread from short-lived processes (a tool that maps a large heap
 * and exits within milliseconds), which would pay for it (0.2 ms of a 3 ms process
 * here: creating it, and taking it down at exit) and exit before anything could wait
 * out a delay. Its price: a program that frees a large heap within that age and then
 * reaches no slow path keeps the memory until its next tick. */
#define AUTO_BACKGROUND_HEAP_BYTES ((size_t)64 << 20)
#define AUTO_BACKGROUND_MIN_AGE_MS 50

/* The thread's stack: a pass needs little, and the default (8 MiB of address space)
 * would count against RLIMIT_AS. */
#define BACKGROUND_STACK_BYTES ((size_t)64 << 10)

static uint64_t next_pass_ms;
static uint64_t first_tick_ms;          /* 0 before the first tick */
static int background_thread_started;   /* once tried: a failed start is not retried */
int release_freed_flag;                 /* memory was freed since the thread's last pass */
int release_background_parked;          /* futex word: 1 while the thread sleeps for good */

/* Everything unused since idle_before_ms goes back; returns bytes. *waiting is set
 * when something was kept for being used since. (A thread cache asked to drain is not
 * waiting on passes: its thread empties it, and that frees memory.) */
static size_t release_pass(uint64_t idle_before_ms, bool *waiting)
{
    size_t released = 0;
    os_release_recheck_filters();
    large_spare_release(idle_before_ms == UINT64_MAX);
    *waiting = large_spare_held();
    thread_cache_request_idle_drains(idle_before_ms);
    for (unsigned c = 1; c <= size_class_count; c++)
        released += central_release_idle(c, idle_before_ms, waiting);
    return released + page_heap_release_idle(idle_before_ms, waiting);
}

static uint64_t pass_interval_ms(void)
{
    uint64_t interval = pagoda_config.release_delay_ms / 4;
    return interval < RELEASE_MIN_INTERVAL_MS ? RELEASE_MIN_INTERVAL_MS : interval;
}

/* Runs a pass if one is due and no other thread has claimed it; returns whether it
 * ran one, and then sets *waiting as release_pass does. */
static bool release_if_due(uint64_t now, bool *waiting)
{
    uint64_t due = __atomic_load_n(&next_pass_ms, __ATOMIC_RELAXED);
    if (now < due)
        return false;
    bool first = due == 0;     /* the process's first tick: nothing can be idle yet */
    if (!__atomic_compare_exchange_n(&next_pass_ms, &due, now + pass_interval_ms(), 0,
                                     __ATOMIC_RELAXED, __ATOMIC_RELAXED) || first)
        return false;
    release_pass(now > pagoda_config.release_delay_ms ? now - pagoda_config.release_delay_ms : 0, waiting);
    return true;
}

/* Sleeps until memory is freed, unless some was while the thread was deciding to.
 * FUTEX_WAIT returns at once if the word is no longer 1. */
static void park_background_thread(void)
{
    __atomic_store_n(&release_background_parked, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&release_freed_flag, __ATOMIC_SEQ_CST)) {
        __atomic_store_n(&release_background_parked, 0, __ATOMIC_RELAXED);
        return;
    }
    while (__atomic_load_n(&release_background_parked, __ATOMIC_ACQUIRE))
        syscall(SYS_futex, &release_background_parked, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0);
}

void release_wake_background_thread(void)
{
    int saved_errno = errno;
    if (__atomic_exchange_n(&release_background_parked, 0, __ATOMIC_ACQ_REL))
        syscall(SYS_futex, &release_background_parked, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    errno = saved_errno;
}

static void *background_thread_main(void *unused)
{
    (void)unused;
    for (;;) {
        uint64_t interval = pass_interval_ms();
        struct timespec pause = { (time_t)(interval / 1000), (long)(interval % 1000) * 1000000 };
        nanosleep(&pause, NULL);
        __atomic_store_n(&release_freed_flag, 0, __ATOMIC_SEQ_CST);
        bool waiting;
        if (release_if_due(clock_ms(), &waiting) && !waiting)
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

static bool background_thread_wanted(uint64_t now)
{
    if (pagoda_config.background_thread == BACKGROUND_AT_START)
        return true;
    return pagoda_config.background_thread == BACKGROUND_AUTO && pagoda_config.release_delay_ms &&
           page_heap_mapped_bytes() >= AUTO_BACKGROUND_HEAP_BYTES &&
           now >= __atomic_load_n(&first_tick_ms, __ATOMIC_RELAXED) + AUTO_BACKGROUND_MIN_AGE_MS;
}

void release_tick(void)
{
    if (pagoda_config.release_delay_ms == UINT64_MAX)
        return;
    int saved_errno = errno;      /* free() must not change it; madvise may */
    uint64_t now = clock_ms();
    if (unlikely(!__atomic_load_n(&first_tick_ms, __ATOMIC_RELAXED)))   /* racing ticks store alike */
        __atomic_store_n(&first_tick_ms, now, __ATOMIC_RELAXED);
    if (unlikely(!__atomic_load_n(&background_thread_started, __ATOMIC_RELAXED)) && background_thread_wanted(now))
        start_background_thread();
    bool waiting;
    release_if_due(now, &waiting);
    /* For the caller's free, and for what the pass itself may have freed (a spare or a
     * transfer cache into the page heap) while the background thread's pass looked. */
    release_note_free();
    errno = saved_errno;
}

size_t release_everything(void)
{
    thread_cache_flush_current();
    bool waiting;
    return release_pass(UINT64_MAX, &waiting);
}

void release_after_fork_in_child(void)
{
    /* Written only when set, so that a child without them copies no page for them. */
    if (background_thread_started)
        background_thread_started = 0;
    if (release_background_parked)
        release_background_parked = 0;
}
