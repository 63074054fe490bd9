/*
 * size_class_gen.h — computes a size-class table from parameters or from a list of
 * sizes. One implementation serves both tools/mksizeclasses (which writes the
 * compiled-in default table, allocator/size_class_table.h) and start-up tuning
 * (PAGODA_SIZE_CLASSES, PAGODA_SIZE_CLASS_WASTE, PAGODA_MAX_SMALL_SIZE), so the two
 * can never disagree.
 *
 * Every table produced here satisfies, for each class c (sizes strictly increasing):
 *   - size % 8 == 0, and size % 16 == 0 when size >= 16 (objects of 16 bytes and more
 *     are 16-byte aligned; the lookup in size_classes.c indexes by 8 bytes);
 *   - internal waste: (size - prev_size - 1) / size <= max_waste (prev_size of the
 *     first class is 0), except where size is the smallest size above prev_size that
 *     the alignment rules allow, so no finer class exists: the 8-byte class, and
 *     with 16-byte steps every class below about 15 / max_waste bytes (16..112 at
 *     12.5 %);
 *   - tail waste: (pages * page_size) % size <= max_waste * pages * page_size (for an
 *     explicit list, only where some span up to 64 pages meets it); and where a span
 *     of at most 8 pages keeps it within max_waste / 4, the span is the shortest such
 *     (size_class_gen.c says why);
 *   - objects = pages * page_size / size, 1 <= objects <= SIZE_CLASS_MAX_OBJECTS;
 *   - the last class's size equals max_small_size.
 * A generated table has a class for every power-of-two size up to the page size;
 * those objects are aligned to their size, because spans start on page boundaries
 * and objects sit at multiples of the size.
 *
 * Nothing here allocates: callers pass the output array.
 */
#ifndef PAGODA_SIZE_CLASS_GEN_H
#define PAGODA_SIZE_CLASS_GEN_H

#include <stddef.h>
#include <stdint.h>

#define SIZE_CLASS_MAX_COUNT   254      /* class ids are one byte; 0 means "not small" */
/* The one byte value that is no class: the class map's byte for the first page of a
 * large object (class_map.h), which sends free() to the large objects' path. */
#define SIZE_CLASS_LARGE_HEAD  255
#define SIZE_CLASS_MAX_OBJECTS 1024     /* bounds the per-span free bitmap */
#define SIZE_CLASS_MAX_SMALL_LIMIT (256 * 1024)

struct size_class {
    uint32_t size;      /* object size in bytes */
    uint32_t pages;     /* span length in pages */
    uint32_t objects;   /* objects per span = pages * page_size / size */
};

struct size_class_params {
    size_t max_small_size;   /* largest small object, default 32 KiB, at most 256 KiB */
    double max_waste;        /* bound on internal and tail waste, default 0.125 */
    size_t page_size;        /* 4096 */
};

/* The defaults: 32 KiB, 12.5 %, 4 KiB pages. */
void size_class_default_params(struct size_class_params *params);

/* Generates the table for params into out[0..max_count). Returns the number of
 * classes, or -1 with *why set to a static message when the parameters are invalid
 * (max_small_size a multiple of 16 in [1024, SIZE_CLASS_MAX_SMALL_LIMIT], max_waste
 * in (0, 0.5], page_size a power of two in [4096, 8 * SIZE_CLASS_MAX_OBJECTS]) or the
 * table would not fit in max_count (at most SIZE_CLASS_MAX_COUNT) classes. */
int size_class_generate(const struct size_class_params *params,
                        struct size_class *out, int max_count, const char **why);

/* Builds a table from an explicit list of object sizes (the PAGODA_SIZE_CLASSES form),
 * choosing for each size the smallest span that keeps tail waste within
 * params->max_waste, then lengthening it as size_class_generate does (up to 8 pages,
 * for a tail within a quarter of the bound, or a smaller one). Returns the number of
 * classes, or -1 with *why set when the list is unsorted, has duplicates, has a size
 * below 8 or above params->max_small_size, is misaligned (rules above), or has too
 * many entries; messages naming a size live in a static buffer that the next failing
 * call overwrites. Internal waste is not bounded for an explicit list: the user chose
 * it. When no span up to 64 pages (or one object) meets the tail-waste bound, the span
 * with the smallest tail fraction is taken. The last size becomes the largest small
 * size. */
int size_class_from_sizes(const struct size_class_params *params,
                          const uint32_t *sizes, int count,
                          struct size_class *out, int max_count, const char **why);

#endif /* PAGODA_SIZE_CLASS_GEN_H */
