/*
 * pattern.h — fills a block with bytes derived from a seed and checks them later, to
 * catch blocks that overlap, get corrupted, or lose their contents on realloc.
 */
#ifndef TESTS_SUPPORT_PATTERN_H
#define TESTS_SUPPORT_PATTERN_H

#include <stddef.h>
#include <stdint.h>

/* Writes size bytes of the pattern for seed at p. */
void pattern_fill(void *p, size_t size, uint64_t seed);

/* Returns the offset of the first byte of p[0..size) that differs from the pattern
 * for seed, or size when all match. */
size_t pattern_mismatch(const void *p, size_t size, uint64_t seed);

#endif /* TESTS_SUPPORT_PATTERN_H */
