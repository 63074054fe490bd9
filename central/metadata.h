/*
 * metadata.h — memory for the allocator's own structures (spans, thread caches),
 * carved from mmap'ed chunks and never returned. Callers keep free lists of the
 * structures they recycle; this arena only grows.
 */
#ifndef PAGODA_METADATA_H
#define PAGODA_METADATA_H

#include <stddef.h>

/* Returns size bytes of zeroed memory aligned to 64 bytes, or NULL when the OS
 * refuses. Thread-safe. */
void *metadata_alloc(size_t size);

/* Bytes obtained from the OS for metadata so far. */
size_t metadata_mapped_bytes(void);

/* Bytes of that resident now (mincore): a system call per chunk (1 MiB, or one
 * larger structure). */
size_t metadata_resident_bytes(void);

/* fork() support: the arena's lock, taken in the fixed order of docs/design.md. */
void metadata_lock_for_fork(void);
void metadata_unlock_after_fork(int in_child);

#endif /* PAGODA_METADATA_H */
