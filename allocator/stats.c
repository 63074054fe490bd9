/*
 * stats.c — the statistics snapshot (stats.h, include/pagoda.h).
 *
 * Per size class, objects in use are derived rather than counted, so the hit path
 * pays nothing for them:
 *   in use = spans * objects_per_span - free in spans - in transfer cache - in thread caches.
 * Each tier is read under its own lock, one after another; thread caches are read
 * without their owners (list lengths, atomically), so while other threads allocate an
 * object moving between tiers during the call may be counted twice or not at all. A
 * class whose derived count would go negative that way reports 0 in use.
 */
#include "allocator/stats.h"

#include "allocator/init.h"
#include "allocator/thread_cache.h"
#include "central/central_list.h"
#include "central/large_spare.h"
#include "central/metadata.h"
#include "central/page_heap.h"
#include "pagemap/pagemap.h"

#include <errno.h>
#include <string.h>

_Static_assert(SIZE_CLASS_MAX_COUNT <= PAGODA_STATS_MAX_CLASSES, "every class fits in pagoda_stats");

/* Fills one class's entry; returns the bytes of its spans that fit no object. */
static uint64_t collect_class(unsigned size_class, size_t thread_cached,
                              struct pagoda_size_class_stats *out)
{
    const struct size_class_info *info = &size_class_table[size_class];
    struct central_class_stats central;
    central_get_stats(size_class, &central);
    uint64_t objects = (uint64_t)central.spans * info->objects;
    uint64_t free_objects = (uint64_t)central.free_in_spans + central.in_transfer_cache + thread_cached;
    *out = (struct pagoda_size_class_stats) {
        .object_size = info->size,
        .span_pages = info->pages,
        .objects_per_span = info->objects,
        .spans = central.spans,
        .objects_in_use = objects > free_objects ? objects - free_objects : 0,
        .objects_in_thread_caches = thread_cached,
        .objects_in_transfer_cache = central.in_transfer_cache,
        .objects_free_in_spans = central.free_in_spans,
    };
    uint64_t span_tail = ((uint64_t)info->pages << PAGE_SHIFT) - (uint64_t)info->objects * info->size;
    return central.spans * span_tail;
}

void stats_collect(struct pagoda_stats *stats)
{
    pagoda_ensure_initialized();
    memset(stats, 0, sizeof *stats);
    stats->size = sizeof *stats;
    stats->version = PAGODA_STATS_VERSION;

    size_t thread_cached[SIZE_CLASS_MAX_COUNT + 1] = { 0 };
    size_t large_cached = 0;
    thread_cache_count_cached(thread_cached, &large_cached);
    large_cached += large_spare_bytes();
    stats->size_class_count = size_class_count;
    for (unsigned c = 1; c <= size_class_count; c++) {
        struct pagoda_size_class_stats *entry = &stats->size_classes[c - 1];
        stats->span_waste_bytes += collect_class(c, thread_cached[c], entry);
        stats->small_in_use_bytes += entry->objects_in_use * entry->object_size;
        stats->thread_cache_bytes += entry->objects_in_thread_caches * entry->object_size;
        stats->central_bytes += (entry->objects_in_transfer_cache + entry->objects_free_in_spans) *
                                entry->object_size;
    }

    struct page_heap_stats heap;
    page_heap_get_stats(&heap);
    /* Large objects in thread caches and the spare are in use for the page heap, free
     * for the program. */
    if (large_cached > heap.large_in_use_bytes)
        large_cached = heap.large_in_use_bytes;
    stats->large_in_use_bytes = heap.large_in_use_bytes - large_cached;
    stats->large_thread_cache_bytes = large_cached;
    stats->thread_cache_bytes += large_cached;
    stats->in_use_bytes = stats->small_in_use_bytes + stats->large_in_use_bytes;
    stats->page_heap_free_bytes = heap.free_dirty_bytes;
    stats->page_heap_released_bytes = heap.free_bytes - heap.free_dirty_bytes;
    stats->metadata_bytes = metadata_mapped_bytes() + pagemap_mapped_bytes();
    stats->mapped_bytes = heap.mapped_bytes + stats->metadata_bytes;
    stats->released_total_bytes = heap.released_total_bytes;
    stats->central_shards = central_shard_count();
}

/* Read after metadata_bytes, so that a chunk or leaf mapped in between can make it
 * no larger than that. */
void stats_measure_resident_metadata(struct pagoda_stats *stats)
{
    uint64_t resident = metadata_resident_bytes() + pagemap_resident_bytes();
    stats->metadata_resident_bytes = resident < stats->metadata_bytes ? resident : stats->metadata_bytes;
}

EXPORT int pagoda_stats_get(struct pagoda_stats *stats)
{
    size_t header = offsetof(struct pagoda_stats, in_use_bytes);
    if (!stats || stats->size < header) {
        errno = EINVAL;
        return -1;
    }
    struct pagoda_stats snapshot;
    stats_collect(&snapshot);
    if (stats->size >= offsetof(struct pagoda_stats, metadata_resident_bytes) + sizeof(uint64_t))
        stats_measure_resident_metadata(&snapshot);
    if (stats->size < snapshot.size)
        snapshot.size = stats->size;
    memcpy(stats, &snapshot, snapshot.size);
    return 0;
}
