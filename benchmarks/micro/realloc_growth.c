/*
 * realloc_growth.c — a buffer grown by realloc from 16 bytes up to a limit, then freed.
 *
 * Growth either doubles (param 0) or adds a fixed step (param = step in bytes), the
 * two ways programs grow strings and arrays. Contents must survive each move: the
 * first byte and the last byte of the previous size are checked after every call.
 */
#include <stdlib.h>

#include "check.h"
#include "escape.h"
#include "micro_case.h"

#define FIRST_SIZE 16

static size_t grown(size_t size, long step)
{
    return step == 0 ? size * 2 : size + (size_t)step;
}

static void run(void *ctx, long step, long limit, uint64_t iterations)
{
    (void)ctx;
    for (uint64_t it = 0; it < iterations; it++) {
        size_t size = FIRST_SIZE;
        unsigned char *p = malloc(size);
        micro_check(p != NULL, "malloc returned NULL");
        p[0] = 0xa5;
        p[size - 1] = (unsigned char)size;
        while (size < (size_t)limit) {
            size_t old = size;
            size = grown(size, step);
            if (size > (size_t)limit)
                size = (size_t)limit;
            p = realloc(p, size);
            escape(p);
            micro_check(p != NULL && p[0] == 0xa5 && p[old - 1] == (unsigned char)old,
                        "contents lost by realloc");
            p[size - 1] = (unsigned char)size;
        }
        free(p);
    }
}

/* Each iteration makes one realloc call per growth step. */
static long realloc_calls(long step, long limit)
{
    long calls = 0;
    for (size_t size = FIRST_SIZE; size < (size_t)limit; size = grown(size, step))
        calls++;
    return calls;
}

static const long to_1mib[] = {1 << 20, 0};
static const long to_16kib[] = {16 << 10, 0};

const struct micro_case case_realloc_double = {
    .name = "realloc_double",
    .args = to_1mib,
    .quick_args = to_1mib,
    .param = 0,
    .run = run,
    .items_per_iteration = realloc_calls,
};

const struct micro_case case_realloc_add64 = {
    .name = "realloc_add64",
    .args = to_16kib,
    .quick_args = to_16kib,
    .param = 64,
    .run = run,
    .items_per_iteration = realloc_calls,
};

const struct micro_case case_realloc_add4096 = {
    .name = "realloc_add4096",
    .args = to_1mib,
    .quick_args = to_1mib,
    .param = 4096,
    .run = run,
    .items_per_iteration = realloc_calls,
};
