/*
 * aligned_alloc.c — posix_memalign then free, at 64-byte and at 4 KiB alignment.
 *
 * Every returned pointer is checked to be aligned as requested.
 */
#include <stdlib.h>

#include "check.h"
#include "escape.h"
#include "micro_case.h"

static void run(void *ctx, long alignment, long size, uint64_t iterations)
{
    (void)ctx;
    for (uint64_t i = 0; i < iterations; i++) {
        char *p = NULL;
        int err = posix_memalign((void **)&p, (size_t)alignment, (size_t)size);
        micro_check(err == 0 && ((uintptr_t)p & (uintptr_t)(alignment - 1)) == 0,
                    "posix_memalign result is not aligned");
        escape(p);
        p[0] = 1;
        free(p);
    }
}

static const long sizes[] = {64, 1000, 4096, 0};
static const long quick_sizes[] = {64, 4096, 0};

const struct micro_case case_memalign64 = {
    .name = "posix_memalign_64",
    .args = sizes,
    .quick_args = quick_sizes,
    .param = 64,
    .run = run,
    .items_per_iteration = one_item,
};

const struct micro_case case_memalign4096 = {
    .name = "posix_memalign_4096",
    .args = sizes,
    .quick_args = quick_sizes,
    .param = 4096,
    .run = run,
    .items_per_iteration = one_item,
};
