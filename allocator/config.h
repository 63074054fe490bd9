/*
 * config.h — reading PAGODA_* environment variables at start-up.
 *
 * Every reader validates its value; a malformed or out-of-range value gets one line on
 * stderr naming the variable and what is wrong, and the default is used instead.
 * Sizes accept K, M and G suffixes (powers of 1024). getenv does not allocate, so this
 * is safe inside the allocator's initialisation.
 */
#ifndef PAGODA_CONFIG_H
#define PAGODA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A byte count in [min, max], or fallback. */
size_t config_bytes(const char *name, size_t fallback, size_t min, size_t max);

/* 0/1, true/false, yes/no, on/off; or fallback. */
bool config_bool(const char *name, bool fallback);

/* Parses a decimal number with an optional K/M/G suffix; false if malformed. */
bool config_parse_size(const char *text, size_t *out);

/* A duration in milliseconds in [min, max], or "never" (UINT64_MAX); or fallback. */
uint64_t config_milliseconds(const char *name, uint64_t fallback, uint64_t min, uint64_t max);

/* A whole number in [min, max]; or fallback. */
unsigned config_count(const char *name, unsigned fallback, unsigned min, unsigned max);

/* How released pages are given back: see os_release.h. */
enum release_advice { RELEASE_DONTNEED, RELEASE_FREE };

/* When the background release thread starts (release.c). */
enum background_thread { BACKGROUND_NEVER, BACKGROUND_AUTO, BACKGROUND_AT_START };

/* Every PAGODA_* setting the allocator uses, read once by config_load(); docs/tuning.md
 * describes each. */
struct pagoda_config {
    size_t thread_cache_bytes;          /* PAGODA_THREAD_CACHE_BYTES */
    size_t total_thread_cache_bytes;    /* PAGODA_TOTAL_THREAD_CACHE_BYTES */
    uint64_t release_delay_ms;          /* PAGODA_RELEASE_DELAY_MS; UINT64_MAX: never */
    enum background_thread background_thread; /* PAGODA_BACKGROUND_THREAD */
    size_t memory_limit;                /* PAGODA_MEMORY_LIMIT; 0: none */
    enum release_advice release_advice; /* PAGODA_MADVISE */
    unsigned central_shards;            /* PAGODA_CENTRAL_SHARDS; 0: 4 per CPU (central_list.c) */
};

extern struct pagoda_config pagoda_config;

void config_load(void);

#endif /* PAGODA_CONFIG_H */
