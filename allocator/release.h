/*
 * release.h — giving idle memory back to the OS, paced by PAGODA_RELEASE_DELAY_MS.
 *
 * Memory counts as idle when nothing has used it for a whole delay: a free span of the
 * page heap, the wholly free pages of a partly used small-object span, a transfer
 * cache no thread has taken from, a thread cache whose thread has not needed the
 * central tier. A release pass, at most every quarter delay, gives back what has been
 * idle that long. Passes run from allocation slow paths (release_tick) and from a
 * background thread, so that a program that stops reaching slow paths shrinks too.
 * PAGODA_BACKGROUND_THREAD=auto (the default) starts the thread at the first tick that
 * finds the heap's mapped address space at 64 MiB or more, 1 at the first tick, 0
 * never (release.c). The thread sleeps for good once nothing is left to release, until
 * a tick wakes it.
 */
#ifndef PAGODA_RELEASE_H
#define PAGODA_RELEASE_H

#include <stddef.h>

/* Runs a release pass if one is due, and wakes the background thread if it sleeps.
 * Called from slow paths, holding no lock; a slow path that frees memory must call it
 * after the free, or a sleeping background thread would not know of that memory. */
void release_tick(void);

/* Returns everything free to the OS now, idle or not; the result is in bytes. */
size_t release_everything(void);

/* fork(): the child has no background thread; a tick starts one by the same rule. */
void release_after_fork_in_child(void);

#endif /* PAGODA_RELEASE_H */
