/*
 * metadata.c — a bump allocator over 1 MiB chunks from the OS (see metadata.h); the
 * first chunk is static.
 *
 * Invariants: [cursor, limit) is the unused, zeroed tail of the current chunk. Every
 * chunk starts with its header, and `chunks` lists them all, newest first; a header is
 * written before the chunk is published and never changes, so the list is walked
 * without the lock.
 */
#include "central/metadata.h"

#include "allocator/common.h"
#include "allocator/lock.h"
#include "central/os_memory.h"

#define METADATA_CHUNK_SIZE ((size_t)1 << 20)
#define METADATA_ALIGN 64

/* The first METADATA_ALIGN bytes of each chunk. */
struct metadata_chunk {
    struct metadata_chunk *next;    /* the chunk mapped before */
    size_t bytes;                   /* header included */
};

_Static_assert(sizeof(struct metadata_chunk) <= METADATA_ALIGN, "the header fits its slot");

static pagoda_lock metadata_lock FORK_LOCK = PAGODA_LOCK_INIT;
static char first_chunk[METADATA_CHUNK_SIZE] __attribute__((aligned(PAGE_SIZE))) LARGE_STATIC;
static bool first_chunk_taken;
static char *cursor;
static char *limit;
static size_t mapped_bytes;
static struct metadata_chunk *chunks;

void *metadata_alloc(size_t size)
{
    size = (size + METADATA_ALIGN - 1) & ~(size_t)(METADATA_ALIGN - 1);
    lock_acquire(&metadata_lock);
    if ((size_t)(limit - cursor) < size) {
        size_t needed = size + METADATA_ALIGN;        /* the header */
        size_t bytes = needed > METADATA_CHUNK_SIZE ? (needed + PAGE_MASK) & ~PAGE_MASK : METADATA_CHUNK_SIZE;
        struct metadata_chunk *chunk = bytes == METADATA_CHUNK_SIZE
            ? os_map_first_static(first_chunk, &first_chunk_taken, bytes)
            : os_map_aligned(bytes, PAGE_SIZE);
        if (!chunk) {
            lock_release(&metadata_lock);
            return NULL;
        }
        *chunk = (struct metadata_chunk){ .next = chunks, .bytes = bytes };
        __atomic_store_n(&chunks, chunk, __ATOMIC_RELEASE);
        __atomic_store_n(&mapped_bytes, mapped_bytes + bytes, __ATOMIC_RELAXED);
        cursor = (char *)chunk + METADATA_ALIGN;
        limit = (char *)chunk + bytes;
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

size_t metadata_resident_bytes(void)
{
    size_t pages = 0;
    for (struct metadata_chunk *chunk = __atomic_load_n(&chunks, __ATOMIC_ACQUIRE); chunk; chunk = chunk->next)
        pages += os_resident_pages(chunk, chunk->bytes >> PAGE_SHIFT);
    return pages << PAGE_SHIFT;
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
