/*
 * pattern.c — the byte at offset i of a block is a hash of (seed, i / 8) picked
 * apart by i % 8, so any two seeds, and any two offsets, give different bytes with
 * high probability. Filling and checking are word-at-a-time so that tests can
 * afford to check every byte of large blocks.
 */
#include "tests/support/pattern.h"

#include <string.h>

static uint64_t word_for(uint64_t seed, uint64_t index)
{
    uint64_t x = seed * 0x9e3779b97f4a7c15u + index * 0xbf58476d1ce4e5b9u + 1;
    x ^= x >> 31;
    x *= 0x94d049bb133111ebu;
    x ^= x >> 29;
    return x;
}

void pattern_fill(void *p, size_t size, uint64_t seed)
{
    unsigned char *bytes = p;
    size_t words = size / 8;
    for (size_t i = 0; i < words; i++) {
        uint64_t w = word_for(seed, i);
        memcpy(bytes + i * 8, &w, 8);
    }
    uint64_t last = word_for(seed, words);
    memcpy(bytes + words * 8, &last, size % 8);
}

size_t pattern_mismatch(const void *p, size_t size, uint64_t seed)
{
    const unsigned char *bytes = p;
    size_t words = size / 8;
    for (size_t i = 0; i < words; i++) {
        uint64_t w = word_for(seed, i);
        if (memcmp(bytes + i * 8, &w, 8) != 0) {
            for (size_t j = i * 8;; j++)
                if (bytes[j] != ((const unsigned char *)&w)[j - i * 8])
                    return j;
        }
    }
    uint64_t last = word_for(seed, words);
    for (size_t j = words * 8; j < size; j++)
        if (bytes[j] != ((const unsigned char *)&last)[j - words * 8])
            return j;
    return size;
}
