/*
 * glibc_introspection.c — glibc's malloc_stats, mallinfo, mallinfo2 and malloc_info,
 * answered from pagoda's statistics snapshot, so that tools and programs that call
 * them keep working. docs/observability.md maps each glibc field to pagoda's figures.
 *
 * The snapshot is collected first, which takes and releases pagoda's locks; only then
 * is anything printed. stdio may allocate (a stream's buffer comes from malloc, which
 * is pagoda), and it does so here with no lock of pagoda's held.
 */
#include "allocator/stats.h"

#include "allocator/common.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>

/* Free memory of the small-object tiers, split as glibc splits its own: the "fast"
 * part (thread caches and transfer caches: objects handed out without touching a span)
 * and the free objects inside spans. */
struct free_objects {
    size_t fast_count, fast_bytes;
    size_t span_count, span_bytes;
};

static void count_free_objects(const struct pagoda_stats *stats, struct free_objects *out)
{
    *out = (struct free_objects) { 0 };
    for (unsigned i = 0; i < stats->size_class_count; i++) {
        const struct pagoda_size_class_stats *c = &stats->size_classes[i];
        size_t fast = c->objects_in_thread_caches + c->objects_in_transfer_cache;
        out->fast_count += fast;
        out->fast_bytes += fast * c->object_size;
        out->span_count += c->objects_free_in_spans;
        out->span_bytes += c->objects_free_in_spans * c->object_size;
    }
}

/* Address space holding objects, free memory and span tails: all but metadata. */
static size_t heap_bytes(const struct pagoda_stats *stats)
{
    return stats->mapped_bytes - stats->metadata_bytes;
}

EXPORT struct mallinfo2 pagoda_mallinfo2(void)
{
    struct pagoda_stats stats;
    stats_collect(&stats);
    struct free_objects free_objects;
    count_free_objects(&stats, &free_objects);
    return (struct mallinfo2) {
        .arena = heap_bytes(&stats),
        .ordblks = free_objects.span_count,
        .smblks = free_objects.fast_count,
        .fsmblks = free_objects.fast_bytes,
        .uordblks = stats.in_use_bytes,
        .fordblks = stats.thread_cache_bytes + stats.central_bytes + stats.span_waste_bytes +
                    stats.page_heap_free_bytes + stats.page_heap_released_bytes,
        .keepcost = stats.page_heap_free_bytes + stats.large_thread_cache_bytes,
    };
}

static int clamp_to_int(size_t value)
{
    return value > INT_MAX ? INT_MAX : (int)value;
}

EXPORT struct mallinfo pagoda_mallinfo(void)
{
    struct mallinfo2 info = pagoda_mallinfo2();
    return (struct mallinfo) {
        .arena = clamp_to_int(info.arena),
        .ordblks = clamp_to_int(info.ordblks),
        .smblks = clamp_to_int(info.smblks),
        .hblks = clamp_to_int(info.hblks),
        .hblkhd = clamp_to_int(info.hblkhd),
        .usmblks = clamp_to_int(info.usmblks),
        .fsmblks = clamp_to_int(info.fsmblks),
        .uordblks = clamp_to_int(info.uordblks),
        .fordblks = clamp_to_int(info.fordblks),
        .keepcost = clamp_to_int(info.keepcost),
    };
}

/* glibc's layout, with pagoda's one heap as "Arena 0" and everything mapped (metadata
 * too) as the total. */
EXPORT void pagoda_malloc_stats(void)
{
    struct pagoda_stats stats;
    stats_collect(&stats);
    fprintf(stderr, "Arena 0:\n"
                    "system bytes     = %10zu\n"
                    "in use bytes     = %10zu\n"
                    "Total (incl. mmap):\n"
                    "system bytes     = %10zu\n"
                    "in use bytes     = %10zu\n"
                    "max mmap regions = %10u\n"
                    "max mmap bytes   = %10lu\n",
            heap_bytes(&stats), (size_t)stats.in_use_bytes,
            (size_t)stats.mapped_bytes, (size_t)stats.in_use_bytes, 0u, 0ul);
}

/* glibc's XML: one <heap>, a <size> element per size class holding free objects,
 * "fast" totals for the thread and transfer caches, "rest" for free objects in spans
 * and the page heap's free pages. Address space is never unmapped, so the current
 * mapping is also the maximum. Options must be 0, as in glibc. */
EXPORT int pagoda_malloc_info(int options, FILE *stream)
{
    if (options != 0 || !stream)
        return EINVAL;
    struct pagoda_stats stats;
    stats_collect(&stats);
    struct free_objects free_objects;
    count_free_objects(&stats, &free_objects);
    size_t rest_bytes = free_objects.span_bytes + stats.page_heap_free_bytes + stats.page_heap_released_bytes;
    size_t mapped = stats.mapped_bytes;

    fputs("<malloc version=\"1\">\n<heap nr=\"0\">\n<sizes>\n", stream);
    uint64_t previous_size = 0;
    for (unsigned i = 0; i < stats.size_class_count; i++) {
        const struct pagoda_size_class_stats *c = &stats.size_classes[i];
        uint64_t count = stats_class_free_objects(c);
        if (count)
            fprintf(stream, "  <size from=\"%zu\" to=\"%zu\" total=\"%zu\" count=\"%zu\"/>\n",
                    (size_t)previous_size + 1, (size_t)c->object_size, (size_t)(count * c->object_size),
                    (size_t)count);
        previous_size = c->object_size;
    }
    fprintf(stream, "</sizes>\n"
                    "<total type=\"fast\" count=\"%zu\" size=\"%zu\"/>\n"
                    "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n"
                    "<system type=\"current\" size=\"%zu\"/>\n"
                    "<system type=\"max\" size=\"%zu\"/>\n"
                    "<aspace type=\"total\" size=\"%zu\"/>\n"
                    "<aspace type=\"mprotect\" size=\"%zu\"/>\n"
                    "</heap>\n",
            free_objects.fast_count, free_objects.fast_bytes, free_objects.span_count, rest_bytes,
            mapped, mapped, mapped, mapped);
    fprintf(stream, "<total type=\"fast\" count=\"%zu\" size=\"%zu\"/>\n"
                    "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n"
                    "<total type=\"mmap\" count=\"0\" size=\"0\"/>\n"
                    "<system type=\"current\" size=\"%zu\"/>\n"
                    "<system type=\"max\" size=\"%zu\"/>\n"
                    "<aspace type=\"total\" size=\"%zu\"/>\n"
                    "<aspace type=\"mprotect\" size=\"%zu\"/>\n"
                    "</malloc>\n",
            free_objects.fast_count, free_objects.fast_bytes, free_objects.span_count, rest_bytes,
            mapped, mapped, mapped, mapped);
    return 0;
}

void malloc_stats(void) ALIAS_OF(pagoda_malloc_stats);
struct mallinfo mallinfo(void) ALIAS_OF(pagoda_mallinfo);
struct mallinfo2 mallinfo2(void) ALIAS_OF(pagoda_mallinfo2);
int malloc_info(int, FILE *) ALIAS_OF(pagoda_malloc_info);
