/*
 * lock.h — the allocator's mutex: a futex-based lock (three states, after Drepper's
 * "Futexes Are Tricky"), so that pagoda needs no pthread function that might
 * allocate and can be statically initialised to zero.
 *
 *   state 0: unlocked; 1: locked, no waiter; 2: locked, maybe waiters.
 *
 * Uncontended acquire and release are one atomic instruction each, and a plain store
 * each while the process has one thread (single_thread.h). Under contention a thread
 * spins briefly (the holder usually leaves within a few hundred cycles: lock hold
 * times are O(1) or O(batch)), then sleeps in the kernel.
 */
#ifndef PAGODA_LOCK_H
#define PAGODA_LOCK_H

#include "allocator/common.h"
#include "allocator/single_thread.h"

#include <stdbool.h>

typedef struct {
    int state;
} pagoda_lock;

#define PAGODA_LOCK_INIT { 0 }

/* For the process-wide locks that fork's handlers take (docs/design.md, "Lock
 * order"): they are gathered in a section of their own, one cache line each, so that
 * they share a page. The handlers write every lock they take, and each page they
 * write is copied after the fork, in the parent and in the child. */
#define FORK_LOCK __attribute__((section("pagoda_fork_locks"), aligned(CACHE_LINE_SIZE)))

/* Waits for the lock; returns whether the thread had to sleep for it. */
bool lock_acquire_contended(pagoda_lock *lock);
void lock_wake_waiter(pagoda_lock *lock);

/* Takes the lock if it is free at once (state 0 to 1); never waits. */
static inline bool lock_try_acquire(pagoda_lock *lock)
{
    if (process_single_threaded()) {
        if (__atomic_load_n(&lock->state, __ATOMIC_RELAXED))
            return false;
        __atomic_store_n(&lock->state, 1, __ATOMIC_RELAXED);
        return true;
    }
    int expected = 0;
    return __atomic_compare_exchange_n(&lock->state, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/* Takes the lock, telling whether the thread had to sleep in the kernel for it. */
static inline bool lock_acquire_slept(pagoda_lock *lock)
{
    if (likely(lock_try_acquire(lock)))
        return false;
    return lock_acquire_contended(lock);
}

static inline void lock_acquire(pagoda_lock *lock)
{
    (void)lock_acquire_slept(lock);
}

static inline void lock_release(pagoda_lock *lock)
{
    if (process_single_threaded()) {       /* no other thread: no waiter to wake */
        __atomic_store_n(&lock->state, 0, __ATOMIC_RELAXED);
        return;
    }
    if (unlikely(__atomic_exchange_n(&lock->state, 0, __ATOMIC_RELEASE) == 2))
        lock_wake_waiter(lock);
}

/* Only for the child after fork(): the parent's holders do not exist there. */
static inline void lock_reset(pagoda_lock *lock)
{
    __atomic_store_n(&lock->state, 0, __ATOMIC_RELAXED);
}

#endif /* PAGODA_LOCK_H */
