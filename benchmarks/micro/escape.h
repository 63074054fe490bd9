/*
 * escape.h — keeps the compiler from optimising benchmark work away.
 *
 * The C equivalents of benchmark::DoNotOptimize and benchmark::ClobberMemory: gcc
 * removes a malloc/free pair whose pointer is never used, so every pointer a case
 * allocates goes through escape().
 */
#ifndef MICRO_ESCAPE_H
#define MICRO_ESCAPE_H

/* Makes p observable: the compiler must assume it is read and its memory used. */
static inline void escape(const void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}

/* Makes every pending store observable. */
static inline void clobber(void)
{
    __asm__ volatile("" : : : "memory");
}

#endif /* MICRO_ESCAPE_H */
