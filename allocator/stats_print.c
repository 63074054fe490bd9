/*
 * stats_print.c — pagoda_stats_print: the statistics snapshot as a readable text
 * report or as one JSON object (docs/observability.md shows both).
 *
 * Nothing here allocates: the snapshot lives on the stack, numbers are formatted with
 * pagoda_format, and output goes through a stack buffer to write(2).
 */
#include "allocator/stats.h"

#include "allocator/common.h"
#include "allocator/log.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

struct report {
    int fd;
    int error;          /* errno of the first failed write; later output is dropped */
    size_t length;
    char buffer[4096];
};

static void report_flush(struct report *r)
{
    const char *p = r->buffer;
    while (r->length && !r->error) {
        ssize_t n = write(r->fd, p, r->length);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r->error = n < 0 ? errno : EIO;
            break;
        }
        p += n;
        r->length -= (size_t)n;
    }
    r->length = 0;
}

static void report_text(struct report *r, const char *text)
{
    for (; *text; text++) {
        if (r->length == sizeof r->buffer)
            report_flush(r);
        r->buffer[r->length++] = *text;
    }
}

static void report_spaces(struct report *r, int count)
{
    while (count-- > 0)
        report_text(r, " ");
}

/* text right-aligned in a column of `width` characters. */
static void report_right(struct report *r, const char *text, int width)
{
    report_spaces(r, width - (int)strlen(text));
    report_text(r, text);
}

static void report_number(struct report *r, uint64_t value, int width)
{
    char digits[24];
    pagoda_format(digits, sizeof digits, "%lu", (unsigned long)value);
    report_right(r, digits, width);
}

/* ---- text ------------------------------------------------------------------------ */

/* "512 B", "1.5 KiB", "12.0 MiB", "3.2 GiB": truncated to one decimal. */
static void format_human(char *out, int size, uint64_t bytes)
{
    static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
    if (bytes < 1024) {
        pagoda_format(out, size, "%lu B", (unsigned long)bytes);
        return;
    }
    unsigned u = 0;
    uint64_t unit = 1024;
    while (u + 1 < sizeof units / sizeof units[0] && bytes >= unit * 1024) {
        unit *= 1024;
        u++;
    }
    pagoda_format(out, size, "%lu.%lu %s", (unsigned long)(bytes / unit),
                  (unsigned long)(bytes % unit * 10 / unit), units[u]);
}

/* A label, padded to the figures' column, and the figure in 14 columns. */
static void text_labelled_number(struct report *r, const char *label, uint64_t value)
{
    report_text(r, label);
    report_spaces(r, 36 - (int)strlen(label));
    report_number(r, value, 14);
}

static void text_figure(struct report *r, const char *label, uint64_t bytes)
{
    char human[32];
    format_human(human, sizeof human, bytes);
    text_labelled_number(r, label, bytes);
    report_text(r, " B  ");
    report_right(r, human, 10);
    report_text(r, "\n");
}

static void text_class_row(struct report *r, unsigned id, const struct pagoda_size_class_stats *c)
{
    report_number(r, id, 5);
    report_number(r, c->object_size, 8);
    report_number(r, c->span_pages, 6);
    report_number(r, c->spans, 9);
    report_number(r, c->objects_in_use, 11);
    report_number(r, c->objects_in_thread_caches, 9);
    report_number(r, c->objects_in_transfer_cache, 10);
    report_number(r, c->objects_free_in_spans, 11);
    report_number(r, c->objects_in_use * c->object_size, 15);
    report_text(r, "\n");
}

static void write_text(struct report *r, const struct pagoda_stats *s)
{
    char line[128];
    pagoda_format(line, sizeof line, "pagoda %d.%d.%d statistics, process %d\n", PAGODA_VERSION_MAJOR,
                  PAGODA_VERSION_MINOR, PAGODA_VERSION_PATCH, (int)getpid());
    report_text(r, line);
    report_text(r, "(approximate while other threads allocate: their caches are read on the fly)\n\n");
    text_figure(r, "in use by the program", s->in_use_bytes);
    text_figure(r, "  small objects", s->small_in_use_bytes);
    text_figure(r, "  large objects", s->large_in_use_bytes);
    text_figure(r, "free in thread caches", s->thread_cache_bytes);
    text_figure(r, "  large objects kept", s->large_thread_cache_bytes);
    text_figure(r, "free in central lists", s->central_bytes);
    text_figure(r, "span tail waste", s->span_waste_bytes);
    text_figure(r, "page heap free, resident", s->page_heap_free_bytes);
    text_figure(r, "page heap free, released", s->page_heap_released_bytes);
    text_figure(r, "metadata, address space", s->metadata_bytes);
    text_figure(r, "  resident", s->metadata_resident_bytes);
    text_figure(r, "mapped from the OS", s->mapped_bytes);
    text_figure(r, "released to the OS since start", s->released_total_bytes);
    text_labelled_number(r, "central list shards in use", s->central_shards);
    report_text(r, "\n");
    report_text(r, "\nsize classes holding spans (counts are objects):\n"
                   "class    size pages    spans     in use   thread  transfer  span free   in use bytes\n");
    for (unsigned i = 0; i < s->size_class_count; i++)
        if (s->size_classes[i].spans)
            text_class_row(r, i + 1, &s->size_classes[i]);
}

/* ---- JSON ------------------------------------------------------------------------ */

static void json_member(struct report *r, const char *indent, const char *key, uint64_t value,
                        const char *separator)
{
    char text[96];
    pagoda_format(text, sizeof text, "%s\"%s\": %lu%s", indent, key, (unsigned long)value, separator);
    report_text(r, text);
}

static void json_class(struct report *r, unsigned id, const struct pagoda_size_class_stats *c, bool last)
{
    report_text(r, "    {");
    json_member(r, "", "class", id, ", ");
    json_member(r, "", "object_size", c->object_size, ", ");
    json_member(r, "", "span_pages", c->span_pages, ", ");
    json_member(r, "", "objects_per_span", c->objects_per_span, ", ");
    json_member(r, "", "spans", c->spans, ", ");
    json_member(r, "", "objects_in_use", c->objects_in_use, ", ");
    json_member(r, "", "objects_in_thread_caches", c->objects_in_thread_caches, ", ");
    json_member(r, "", "objects_in_transfer_cache", c->objects_in_transfer_cache, ", ");
    json_member(r, "", "objects_free_in_spans", c->objects_free_in_spans, "");
    report_text(r, last ? "}\n" : "},\n");
}

static void write_json(struct report *r, const struct pagoda_stats *s)
{
    static const char *const in = "  ", *const next = ",\n";
    report_text(r, "{\n");
    json_member(r, in, "version", s->version, next);
    json_member(r, in, "pid", (uint64_t)getpid(), next);
    json_member(r, in, "in_use_bytes", s->in_use_bytes, next);
    json_member(r, in, "small_in_use_bytes", s->small_in_use_bytes, next);
    json_member(r, in, "large_in_use_bytes", s->large_in_use_bytes, next);
    json_member(r, in, "thread_cache_bytes", s->thread_cache_bytes, next);
    json_member(r, in, "large_thread_cache_bytes", s->large_thread_cache_bytes, next);
    json_member(r, in, "central_bytes", s->central_bytes, next);
    json_member(r, in, "span_waste_bytes", s->span_waste_bytes, next);
    json_member(r, in, "page_heap_free_bytes", s->page_heap_free_bytes, next);
    json_member(r, in, "page_heap_released_bytes", s->page_heap_released_bytes, next);
    json_member(r, in, "metadata_bytes", s->metadata_bytes, next);
    json_member(r, in, "metadata_resident_bytes", s->metadata_resident_bytes, next);
    json_member(r, in, "mapped_bytes", s->mapped_bytes, next);
    json_member(r, in, "released_total_bytes", s->released_total_bytes, next);
    json_member(r, in, "central_shards", s->central_shards, next);
    json_member(r, in, "size_class_count", s->size_class_count, next);
    report_text(r, "  \"size_classes\": [\n");
    for (unsigned i = 0; i < s->size_class_count; i++)
        json_class(r, i + 1, &s->size_classes[i], i + 1 == s->size_class_count);
    report_text(r, "  ]\n}\n");
}

/* ---- entry point ----------------------------------------------------------------- */

EXPORT int pagoda_stats_print(int fd, const char *format)
{
    bool json = format && strcmp(format, "json") == 0;
    if (format && !json && strcmp(format, "text") != 0) {
        errno = EINVAL;
        return -1;
    }
    struct pagoda_stats stats;
    stats_collect(&stats);
    stats_measure_resident_metadata(&stats);
    struct report report = { .fd = fd };
    if (json)
        write_json(&report, &stats);
    else
        write_text(&report, &stats);
    report_flush(&report);
    if (report.error) {
        errno = report.error;
        return -1;
    }
    return 0;
}
