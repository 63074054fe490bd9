/*
 * lock.c — the contended half of the futex lock (see lock.h).
 */
#include "allocator/lock.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SPIN_ATTEMPTS 64

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

bool lock_acquire_contended(pagoda_lock *lock)
{
    for (int i = 0; i < SPIN_ATTEMPTS; i++) {
        cpu_relax();
        if (__atomic_load_n(&lock->state, __ATOMIC_RELAXED) == 0 && lock_try_acquire(lock))
            return false;
    }
    /* Announce a waiter (state 2) and sleep until the lock is seen free. The futex
     * call fails with EAGAIN or EINTR whenever the word changed first; errno is put
     * back, since free() must not change it. */
    int saved_errno = errno;
    bool slept = false;
    while (__atomic_exchange_n(&lock->state, 2, __ATOMIC_ACQUIRE) != 0) {
        syscall(SYS_futex, &lock->state, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
        slept = true;
    }
    errno = saved_errno;
    return slept;
}

void lock_wake_waiter(pagoda_lock *lock)
{
    syscall(SYS_futex, &lock->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
