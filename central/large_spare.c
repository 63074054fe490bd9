/*
 * large_spare.c — the process's spare large block (large_spare.h).
 *
 * spare_pages mirrors the spare's length for statistics, written beside each exchange,
 * so that no reader follows the pointer to a span another thread may own by then.
 */
#include "central/large_spare.h"

#include "allocator/common.h"
#include "allocator/log.h"
#include "allocator/release.h"
#include "allocator/single_thread.h"
#include "central/page_heap.h"

#define SPARE_TICK_PERIOD 16

static struct span *spare;
static size_t spare_pages;
static int spare_used;          /* taken or put since the last release pass */
static unsigned spare_puts;     /* paces release ticks; a lost update costs nothing */

/* spare's old value, `span` stored in its place: by atomic exchange, or by a load and
 * a store while the process has one thread (single_thread.h), with no background
 * thread to pair with. */
static struct span *exchange_spare(struct span *span)
{
    if (process_single_threaded()) {
        struct span *old = __atomic_load_n(&spare, __ATOMIC_RELAXED);
        __atomic_store_n(&spare, span, __ATOMIC_RELAXED);
        return old;
    }
    return __atomic_exchange_n(&spare, span, __ATOMIC_SEQ_CST);
}

struct span *large_spare_detach(void)
{
    if (!__atomic_load_n(&spare, __ATOMIC_RELAXED))     /* no exchange for nothing */
        return NULL;
    struct span *span = exchange_spare(NULL);
    if (span)
        __atomic_store_n(&spare_pages, 0, __ATOMIC_RELAXED);
    return span;
}

struct span *large_spare_take(size_t pages)
{
    struct span *span = large_spare_detach();
    if (!span)
        return NULL;
    __atomic_store_n(&spare_used, 1, __ATOMIC_RELAXED);
    if (large_block_fits(span->pages, pages))
        return span;
    page_heap_free(span);
    release_tick();                 /* for the freed spare (release.c) */
    return NULL;
}

struct span *large_spare_put(struct span *span)
{
    size_t pages = span->pages;
    /* Sequentially consistent with threads, as is large_spare_held's load: with
     * release_note_free below, a background pass either sees this spare or is woken
     * for it. */
    struct span *displaced = exchange_spare(span);
    if (unlikely(displaced == span))
        pagoda_fatal("free(): double free of %p (a large object already freed)", span_start(span));
    __atomic_store_n(&spare_pages, pages, __ATOMIC_RELAXED);
    __atomic_store_n(&spare_used, 1, __ATOMIC_RELAXED);
    release_note_free();
    /* Every SPARE_TICK_PERIOD-th put (and the first) gives the release passes their
     * tick, as the large caches do: a program that only cycles its huge buffer still
     * lets idle memory elsewhere go back. */
    unsigned puts = __atomic_load_n(&spare_puts, __ATOMIC_RELAXED);
    __atomic_store_n(&spare_puts, puts + 1, __ATOMIC_RELAXED);
    if (puts % SPARE_TICK_PERIOD == 0)
        release_tick();
    return displaced;
}

void large_spare_release(bool everything)
{
    if (__atomic_exchange_n(&spare_used, 0, __ATOMIC_RELAXED) && !everything)
        return;
    struct span *span = large_spare_detach();
    if (span)
        page_heap_free(span);
}

bool large_spare_held(void)
{
    return __atomic_load_n(&spare, __ATOMIC_SEQ_CST) != NULL;
}

size_t large_spare_bytes(void)
{
    return __atomic_load_n(&spare_pages, __ATOMIC_RELAXED) << PAGE_SHIFT;
}

void large_spare_after_fork_in_child(void)
{
    if (spare_puts)                 /* a write copies the page: only when needed */
        spare_puts = 0;
}
