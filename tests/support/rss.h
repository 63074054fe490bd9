/*
 * rss.h — the process's resident set size, read from /proc/self/statm, for tests
 * that check memory is really given back.
 */
#ifndef TESTS_SUPPORT_RSS_H
#define TESTS_SUPPORT_RSS_H

#include <stddef.h>

/* Resident bytes of this process now (aborts if /proc/self/statm is unreadable). */
size_t resident_bytes(void);

#endif /* TESTS_SUPPORT_RSS_H */
