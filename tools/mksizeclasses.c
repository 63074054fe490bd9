/*
 * mksizeclasses.c — prints the size-class table that allocator/size_class_gen.c
 * computes, as a human-readable table (default) or as the C header compiled into the
 * allocator (--header, which `make size-classes` writes to
 * allocator/size_class_table.h).
 *
 *   mksizeclasses [--max-small BYTES] [--waste PERCENT] [--page-size BYTES] [--header]
 *
 * Waste columns: internal is the worst case for one object, (size - prev_size - 1) /
 * size; tail is the unusable end of a span, (pages * page_size) % size over the span.
 * Invalid options or parameters: one line on stderr, exit status 2.
 */
#include "allocator/size_class_gen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct stats {
    double max_internal;   /* over the classes the waste bound applies to */
    double max_forced;     /* over the classes at the smallest aligned step */
    double max_tail;
};

static void usage_error(const char *message, const char *arg)
{
    if (arg)
        fprintf(stderr, "mksizeclasses: %s: %s\n", message, arg);
    else
        fprintf(stderr, "mksizeclasses: %s\n", message);
    exit(2);
}

static size_t parse_bytes(const char *arg)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (errno || end == arg || *end || arg[0] == '-')
        usage_error("not a byte count", arg);
    return (size_t)v;
}

static double parse_percent(const char *arg)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || *end)
        usage_error("not a percentage", arg);
    return v / 100.0;
}

static void parse_args(int argc, char **argv, struct size_class_params *params,
                       int *header)
{
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--header") == 0) {
            *header = 1;
            continue;
        }
        if (strcmp(opt, "--max-small") && strcmp(opt, "--waste") && strcmp(opt, "--page-size"))
            usage_error("unknown option (use --max-small, --waste, --page-size, --header)", opt);
        if (i + 1 == argc)
            usage_error("missing value for", opt);
        const char *value = argv[++i];
        if (strcmp(opt, "--max-small") == 0)
            params->max_small_size = parse_bytes(value);
        else if (strcmp(opt, "--waste") == 0)
            params->max_waste = parse_percent(value);
        else
            params->page_size = parse_bytes(value);
    }
}

/* The smallest size above prev that the alignment rules of size_class_gen.h allow. */
static uint32_t next_aligned(uint32_t prev)
{
    uint32_t next = (prev / 8 + 1) * 8;
    if (next >= 16)
        next = (next + 15) / 16 * 16;
    return next;
}

/* Whether class i exceeds max_waste because the alignment rules allow no finer class
 * between it and its predecessor (the exemption in size_class_gen.h). */
static int waste_forced(const struct size_class *table, int i, double max_waste)
{
    uint32_t prev = i > 0 ? table[i - 1].size : 0;
    return table[i].size == next_aligned(prev) &&
           (double)(table[i].size - prev - 1) > max_waste * table[i].size;
}

static double internal_waste(const struct size_class *table, int i)
{
    uint32_t prev = i > 0 ? table[i - 1].size : 0;
    return (double)(table[i].size - prev - 1) / table[i].size;
}

static double tail_waste(const struct size_class *c, size_t page_size)
{
    size_t span = c->pages * page_size;
    return (double)(span % c->size) / (double)span;
}

static struct stats table_stats(const struct size_class_params *params,
                                const struct size_class *table, int count)
{
    struct stats s = { 0.0, 0.0, 0.0 };
    for (int i = 0; i < count; i++) {
        double internal = internal_waste(table, i);
        double tail = tail_waste(&table[i], params->page_size);
        double *max = waste_forced(table, i, params->max_waste) ? &s.max_forced
                                                                : &s.max_internal;
        if (internal > *max)
            *max = internal;
        if (tail > s.max_tail)
            s.max_tail = tail;
    }
    return s;
}

/* One row per class; prefix starts each line (" * " inside the header comment). A '*'
 * marks internal waste forced by the alignment rules. */
static void print_rows(const char *prefix, const struct size_class_params *params,
                       const struct size_class *table, int count)
{
    printf("%s%5s %7s %6s %8s %10s %7s\n", prefix,
           "class", "size", "pages", "objects", "internal", "tail");
    for (int i = 0; i < count; i++)
        printf("%s%5d %7u %6u %8u %8.2f%%%c %6.2f%%\n", prefix, i + 1, table[i].size,
               table[i].pages, table[i].objects, 100.0 * internal_waste(table, i),
               waste_forced(table, i, params->max_waste) ? '*' : ' ',
               100.0 * tail_waste(&table[i], params->page_size));
}

static void print_params(const struct size_class_params *p)
{
    printf("max small %zu, waste %g %%, page size %zu", p->max_small_size,
           100.0 * p->max_waste, p->page_size);
}

static void print_summary(const struct stats *s)
{
    printf("max internal waste %.2f%% (%.2f%% where the alignment rules force it, marked *), "
           "max tail waste %.2f%%", 100.0 * s->max_internal, 100.0 * s->max_forced,
           100.0 * s->max_tail);
}

static void print_table(const struct size_class_params *params,
                        const struct size_class *table, int count)
{
    struct stats s = table_stats(params, table, count);
    print_rows("", params, table, count);
    printf("%d classes (", count);
    print_params(params);
    printf("): ");
    print_summary(&s);
    printf("\n");
}

static void print_header(const struct size_class_params *params,
                         const struct size_class *table, int count)
{
    struct stats s = table_stats(params, table, count);
    printf("/* Generated by tools/mksizeclasses --header (");
    print_params(params);
    printf("). Do not edit: run `make size-classes`. */\n");
    printf("/*\n"
           " * The allocator's class id for table entry i is i + 1; id 0 means \"not a small\n"
           " * object\". internal: worst-case waste of one object, (size - prev_size - 1) /\n"
           " * size; tail: unusable end of the span, (pages * page_size) %% size over the span.\n"
           " * ");
    print_summary(&s);
    printf(".\n *\n");
    print_rows(" * ", params, table, count);
    printf(" */\n"
           "#ifndef PAGODA_SIZE_CLASS_TABLE_H\n"
           "#define PAGODA_SIZE_CLASS_TABLE_H\n"
           "#include \"allocator/size_class_gen.h\"\n"
           "#define SIZE_CLASS_DEFAULT_COUNT %d\n"
           "static const struct size_class size_class_default_table[SIZE_CLASS_DEFAULT_COUNT] = {\n",
           count);
    for (int i = 0; i < count; i++)
        printf("    { %u, %u, %u },\n", table[i].size, table[i].pages, table[i].objects);
    printf("};\n"
           "#endif\n");
}

int main(int argc, char **argv)
{
    struct size_class_params params;
    struct size_class table[SIZE_CLASS_MAX_COUNT];
    int header = 0;
    const char *why = NULL;

    size_class_default_params(&params);
    parse_args(argc, argv, &params, &header);
    int count = size_class_generate(&params, table, SIZE_CLASS_MAX_COUNT, &why);
    if (count < 0)
        usage_error(why, NULL);
    if (header)
        print_header(&params, table, count);
    else
        print_table(&params, table, count);
    return 0;
}
