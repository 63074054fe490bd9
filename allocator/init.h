/*
 * init.h — lazy, thread-safe start-up. Nothing on a hit path calls this: the first
 * allocation of any thread misses into a slow path, which does.
 */
#ifndef PAGODA_INIT_H
#define PAGODA_INIT_H

#include "allocator/common.h"

extern int pagoda_initialized;

void pagoda_initialize(void);

static inline void pagoda_ensure_initialized(void)
{
    if (unlikely(!__atomic_load_n(&pagoda_initialized, __ATOMIC_ACQUIRE)))
        pagoda_initialize();
}

#endif /* PAGODA_INIT_H */
