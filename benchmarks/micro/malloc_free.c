/*
 * malloc_free.c — one malloc immediately followed by its free, by size.
 *
 * The allocator's fast path: a thread-cache hit on allocation and on free. The
 * first byte is written so that the object is really handed out, not just counted.
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

static const long sizes[] = {8, 16, 24, 32, 48, 64, 100, 128, 256, 512, 1000, 1024,
                             2048, 3000, 4096, 8192, 16384, 20000, 32768, 0};
static const long quick_sizes[] = {16, 100, 1024, 20000, 0};

const struct micro_case case_malloc_free = {
    .name = "malloc_free",
    .args = sizes,
    .quick_args = quick_sizes,
    .run = run,
    .items_per_iteration = one_item,
};
