/*
 * stats.h — collecting the statistics snapshot of include/pagoda.h from the tiers'
 * getters. Shared by pagoda_stats_get, the text and JSON reports, and glibc's
 * introspection calls.
 */
#ifndef PAGODA_STATS_H
#define PAGODA_STATS_H

#include "pagoda.h"

/* Fills the whole of *stats (size and version included). Takes the thread-cache
 * registry lock, each central list's lock and the page-heap lock one at a time, never
 * two at once, and allocates nothing, so callers may allocate afterwards. */
void stats_collect(struct pagoda_stats *stats);

/* Fills stats->metadata_resident_bytes, which stats_collect leaves at 0: mincore over
 * every metadata mapping, a system call per chunk and per leaf, so only the callers
 * that report it pay. */
void stats_measure_resident_metadata(struct pagoda_stats *stats);

/* Free objects of one class in all tiers: thread caches, transfer cache, spans. */
static inline uint64_t stats_class_free_objects(const struct pagoda_size_class_stats *c)
{
    return c->objects_in_thread_caches + c->objects_in_transfer_cache + c->objects_free_in_spans;
}

/* Reads PAGODA_STATS (allocator/stats_at_exit.c); called once during initialisation. */
void stats_at_exit_configure(void);

#endif /* PAGODA_STATS_H */
