/*
 * large_alloc.c — malloc then free of large blocks, 64 KiB to 16 MiB.
 *
 * Only the first byte is written: this measures what the allocator itself does for
 * a large block (page-heap search, mmap/munmap, bookkeeping) plus at most one page
 * fault, not the cost of faulting in every page, which is the same for everyone.
 */
#include <stdlib.h>

#include "escape.h"
#include "micro_case.h"

static void run(void *ctx, long param, long size, uint64_t iterations)
{
    (void)ctx;
    (void)param;
    for (uint64_t i = 0; i < iterations; i++) {
        char *p = malloc((size_t)size);
        escape(p);
        p[0] = 1;
        free(p);
    }
}

static const long sizes[] = {64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 0};
static const long quick_sizes[] = {64 << 10, 1 << 20, 16 << 20, 0};

const struct micro_case case_large_malloc = {
    .name = "large_malloc",
    .args = sizes,
    .quick_args = quick_sizes,
    .run = run,
    .items_per_iteration = one_item,
};
