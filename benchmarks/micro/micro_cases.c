/*
 * micro_cases.c — the list of every microbenchmark case, in report order.
 */
#include <stddef.h>

#include "micro_case.h"

extern const struct micro_case case_malloc_free, case_batch_free_lifo,
    case_batch_free_random, case_realloc_double, case_realloc_add64,
    case_realloc_add4096, case_calloc, case_memalign64, case_memalign4096,
    case_large_malloc, case_cross_thread_free;

const struct micro_case *const micro_cases[] = {
    &case_malloc_free,
    &case_batch_free_lifo,
    &case_batch_free_random,
    &case_realloc_double,
    &case_realloc_add64,
    &case_realloc_add4096,
    &case_calloc,
    &case_memalign64,
    &case_memalign4096,
    &case_large_malloc,
    &case_cross_thread_free,
    NULL,
};

long one_item(long param, long arg)
{
    (void)param;
    (void)arg;
    return 1;
}
