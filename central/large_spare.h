/*
 * large_spare.h — the process's spare large block: the latest freed span too long for
 * any thread's large cache (longer than PAGODA_THREAD_CACHE_BYTES), kept in front of
 * the page heap for the next request of its size. A program that allocates and frees
 * one huge buffer over and over (an I/O buffer, a frame, a scratch matrix) then reuses
 * it for an atomic exchange, not the page-heap lock, a split and a coalesce each time.
 *
 * One slot, shared by all threads and changed only by atomic exchange, so whoever takes
 * the span out owns it. A span put there displaces the previous one, which the caller
 * frees to the page heap; a request that the spare does not fit (its page count or up
 * to an eighth more, the large cache's rule) sends it there too. The spare stays "large,
 * in use" for the page heap, like a span in a large cache, but it is never out of the
 * heap's reach: when the heap finds no free span for a request, and when
 * PAGODA_MEMORY_LIMIT asks for pages back, it takes the spare back first (under its
 * lock) and so grows for it, or fails, only when even the spare would not have done.
 * A release pass gives it back to the page heap when it was not used since the
 * previous pass, a trim always. With PAGODA_RELEASE_DELAY_MS=0 there is no spare
 * (large.c). Puts pace release ticks as the large caches' operations do.
 */
#ifndef PAGODA_LARGE_SPARE_H
#define PAGODA_LARGE_SPARE_H

#include "central/span.h"

#include <stdbool.h>
#include <stddef.h>

/* The spare when it fits a request of `pages` pages, else NULL (an unfitting spare
 * goes back to the page heap). */
struct span *large_spare_take(size_t pages);

/* Makes span the spare; returns the span it displaces (NULL when there was none), for
 * the caller to free. Stops the program when span is the spare already: a double free. */
struct span *large_spare_put(struct span *span);

/* Takes the spare out, whatever its size, for the page heap to free under its lock;
 * NULL when there is none. */
struct span *large_spare_detach(void);

/* For a release pass: gives the spare back to the page heap when `everything` is asked
 * or it was not used since the previous call. */
void large_spare_release(bool everything);

/* The spare's bytes, for statistics (approximate while threads put and take); 0 when
 * there is none. */
size_t large_spare_bytes(void);

/* Whether there is a spare now (large_spare_bytes is a copy for statistics, which may
 * lag an exchange). */
bool large_spare_held(void);

/* In a fork child: the next put gives a release tick. */
void large_spare_after_fork_in_child(void);

#endif /* PAGODA_LARGE_SPARE_H */
