/*
 * page_release.c — see page_release.h.
 */
#include "central/page_release.h"

#include "allocator/common.h"
#include "allocator/config.h"
#include "pagemap/pagemap.h"

bool page_release_zeroes(void)
{
    return pagoda_config.release_advice == RELEASE_DONTNEED;
}

/* Gives the queued runs back and marks clean those that now read as zero. */
static void flush(struct page_release_batch *batch)
{
    struct os_release_batch *queued = &batch->queued;
    bool released[OS_RELEASE_BATCH_RANGES];
    bool now_zero = page_release_zeroes();
    os_release_batch_run(queued, now_zero, released);
    for (unsigned i = 0; i < queued->count; i++) {
        if (!released[i])
            continue;
        size_t pages = queued->ranges[i].iov_len >> PAGE_SHIFT;
        if (now_zero)
            pagemap_mark_clean(page_of(queued->ranges[i].iov_base), pages);
        batch->released += pages;
    }
    queued->count = 0;
}

void page_release_begin(struct page_release_batch *batch)
{
    batch->queued.count = 0;
    batch->released = 0;
}

/* Adds a run, extending the last one when it continues it. */
static void queue_run(struct page_release_batch *batch, uintptr_t first, size_t pages)
{
    struct os_release_batch *queued = &batch->queued;
    if (queued->count) {
        struct iovec *last = &queued->ranges[queued->count - 1];
        if ((char *)last->iov_base + last->iov_len == page_address(first)) {
            last->iov_len += pages << PAGE_SHIFT;
            return;
        }
    }
    if (queued->count == OS_RELEASE_BATCH_RANGES)
        flush(batch);
    queued->ranges[queued->count++] = (struct iovec){ page_address(first), pages << PAGE_SHIFT };
}

void page_release_queue(struct page_release_batch *batch, uintptr_t first, size_t count)
{
    uintptr_t page = first, end = first + count;
    size_t run;
    while (pagemap_next_dirty_run(&page, end, &run)) {
        queue_run(batch, page, run);
        page += run;
    }
}

size_t page_release_finish(struct page_release_batch *batch)
{
    if (batch->queued.count)
        flush(batch);
    return batch->released;
}
