/*
 * single_thread.h — whether the process has one thread only, in which case a lock or
 * a shared word needs no atomic read-modify-write.
 *
 * glibc (2.32 and later) keeps __libc_single_threaded true until the process creates
 * its first thread: pthread_create clears it before the new thread exists. While it
 * reads true, the reading thread is the only one, and stays so until it creates a
 * thread itself. A lock can then be taken and given back, and a shared word swapped,
 * with plain stores, as glibc's own malloc does in a process without threads. An
 * uncontended locked instruction costs about 20 cycles; a single-threaded program's
 * page-heap operation used to pay two for its lock, a reused huge block two for the
 * spare's exchanges.
 *
 * What it asks of pagoda: no thread is created between a check and the plain accesses
 * it allows (a read-modify-write made of a load and a store). A lock is different: its
 * states are the same in both modes, so one taken with a plain store before the first
 * thread appears keeps that thread out, and its atomic release wakes it. If glibc ever
 * set the flag true again after threads exited, a lock taken atomically would be given
 * back with a plain store while no other thread exists, which is sound too. Threads
 * made by a raw clone() with shared memory are unknown to glibc, which relies on the
 * same flag for itself. Where the symbol is absent (another C library, a static link
 * without it), every path stays atomic.
 */
#ifndef PAGODA_SINGLE_THREAD_H
#define PAGODA_SINGLE_THREAD_H

#include "allocator/common.h"

#include <stdbool.h>

extern char __libc_single_threaded __attribute__((weak));

static ALWAYS_INLINE bool process_single_threaded(void)
{
    return &__libc_single_threaded && __libc_single_threaded;
}

#endif /* PAGODA_SINGLE_THREAD_H */
