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
 * finds the heap's mapped address space at 64 MiB or more, once the process is 50 ms
 * old; 1 at the first tick, 0 never (release.c). The thread sleeps for good once
 * nothing is left waiting for its delay, until memory is freed again.
 */
#ifndef PAGODA_RELEASE_H
#define PAGODA_RELEASE_H

#include "allocator/common.h"

#include <stdbool.h>
#include <stddef.h>

/* Passes are at least this far apart, and a thread cache scavenges at most this
 * often, however short the delay: with a delay of 0, a scavenge at every slow path
 * would halve a busy thread's lists as fast as they refill. */
#define RELEASE_MIN_INTERVAL_MS 10

/* Runs a release pass if one is due, then notes a free (below). Called from slow
 * paths, holding no lock. */
void release_tick(void);

extern int release_freed_flag HIDDEN;
extern int release_background_parked HIDDEN;
void release_wake_background_thread(void);

/* Tells the background thread, which may be asleep with nothing to release, that
 * memory was freed (to the page heap, a central list or the spare): whatever frees
 * memory calls this, or release_tick, after the free, holding no lock. One load when
 * the flag is already up (release.c explains the pairing). */
static inline void release_note_free(void)
{
    if (__atomic_load_n(&release_freed_flag, __ATOMIC_SEQ_CST))
        return;
    __atomic_exchange_n(&release_freed_flag, 1, __ATOMIC_SEQ_CST);
    if (unlikely(__atomic_load_n(&release_background_parked, __ATOMIC_SEQ_CST)))
        release_wake_background_thread();
}

/* Returns everything free to the OS now, idle or not; the result is in bytes. */
size_t release_everything(void);

/* fork(): the child has no background thread; a tick starts one by the same rule. */
void release_after_fork_in_child(void);

#endif /* PAGODA_RELEASE_H */
