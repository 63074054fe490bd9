/*
 * calloc_zero.c — calloc then free, by size.
 *
 * A byte at a position that varies from one iteration to the next must read zero;
 * it is then set to non-zero before the free, so an allocator that hands the same
 * block back without clearing it is caught.
 */
#include <stdlib.h>

#include "check.h"
#include "escape.h"
#include "micro_case.h"

static void run(void *ctx, long param, long size, uint64_t iterations)
{
    (void)ctx;
    (void)param;
    for (uint64_t i = 0; i < iterations; i++) {
        unsigned char *p = calloc(1, (size_t)size);
        escape(p);
        size_t sample = (size_t)((i * 2654435761u) % (uint64_t)size);
        micro_check(p != NULL && p[sample] == 0, "calloc memory is not zero");
        p[sample] = 0xff;
        escape(p);
        free(p);
    }
}

static const long sizes[] = {64, 4096, 64 << 10, 1 << 20, 0};

const struct micro_case case_calloc = {
    .name = "calloc",
    .args = sizes,
    .quick_args = sizes,
    .run = run,
    .items_per_iteration = one_item,
};
