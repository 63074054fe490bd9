/*
 * clock.h — a cheap millisecond clock for pacing the release of idle memory. It reads
 * CLOCK_MONOTONIC_COARSE through the vDSO: no system call, a few nanoseconds, and a
 * resolution (a few ms) far finer than the delays it measures.
 */
#ifndef PAGODA_CLOCK_H
#define PAGODA_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

#endif /* PAGODA_CLOCK_H */
