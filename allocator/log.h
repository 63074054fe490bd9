/*
 * log.h — messages to stderr without stdio or malloc.
 *
 * The allocator may not call anything that allocates, so it formats into a stack
 * buffer and write(2)s one line at a time. Supported conversions: %s %c %d %u %ld
 * %lu %zu %zx %p %%. Every message starts with "pagoda: " and ends with a newline,
 * which pagoda_log adds.
 */
#ifndef PAGODA_LOG_H
#define PAGODA_LOG_H

/* Writes "pagoda: <formatted>\n" to stderr. */
void pagoda_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Logs the message, then abort()s. For broken invariants and invalid frees. */
void pagoda_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn, cold));

/* Formats into buf (at most size bytes, always NUL-terminated); returns the length. */
int pagoda_format(char *buf, int size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* PAGODA_LOG_H */
