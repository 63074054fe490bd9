/*
 * metadata.c — a bump allocator over 1 MiB chunks from the OS (see metadata.h).
 *
 * Invariant: [cursor, limit) is the unused, zeroed tail of the current chunk.
 */
#include "central/metadata.h"

#include "allocator/common.h"
#include "allocator/lock.h"
#include "central/os_memory.h"

#define METADATA_CHUNK_SIZE ((size_t)1 << 20)
#define METADATA_ALIGN 64

static pagoda_lock metadata_lock = PAGODA_LOCK_INIT;
static char *cursor;
static char *limit;
static size_t mapped_bytes;

void *metadata_alloc(size_t size)
{
    size = (size + METADATA_ALIGN - 1) & ~(size_t)(METADATA_ALIGN - 1);
    lock_acquire(&metadata_lock);
    if ((size_t)(limit - cursor) < size) {
        size_t chunk = size > METADATA_CHUNK_SIZE ? (size + PAGE_MASK) & ~PAGE_MASK : METADATA_CHUNK_SIZE;
        char *fresh = os_map_aligned(chunk, PAGE_SIZE);
        if (!fresh) {
            lock_release(&metadata_lock);
            return NULL;
        }
        mapped_bytes += chunk;
        cursor = fresh;
        limit = fresh + chunk;
    }
    void *result = cursor;
    cursor += size;
    lock_release(&metadata_lock);
    return result;
}

size_t metadata_mapped_bytes(void)
{
    return __atomic_load_n(&mapped_bytes, __ATOMIC_RELAXED);
}

void metadata_lock_for_fork(void)
{
    lock_acquire(&metadata_lock);
}

void metadata_unlock_after_fork(int in_child)
{
    if (in_child)
        lock_reset(&metadata_lock);
    else
        lock_release(&metadata_lock);
}
