/*
 * size_classes.c — builds the lookup table and per-class parameters (size_classes.h)
 * from a list of classes.
 */
#include "allocator/size_classes.h"

uint8_t size_class_lookup[SIZE_LOOKUP_ENTRIES] LARGE_STATIC;
/* Page-aligned, so that the 74 default classes (3 KiB) take one page. */
struct size_class_info size_class_table[SIZE_CLASS_MAX_COUNT + 1] __attribute__((aligned(PAGE_SIZE))) LARGE_STATIC;
unsigned size_class_count;
size_t size_class_small_limit;

/* A batch moves about this many bytes, within [BATCH_MIN, SIZE_CLASS_BATCH_MAX]
 * objects. */
#define BATCH_BYTES (64 * 1024)
#define BATCH_MIN 2
/* A thread cache list holds about this many bytes at most, within
 * [batch, CACHE_LIMIT_MAX] objects; the per-thread byte budget bounds the sum. */
#define CACHE_LIST_BYTES (256 * 1024)
#define CACHE_LIMIT_MAX 8192

static uint32_t clamp_u32(uint64_t v, uint32_t lo, uint32_t hi)
{
    return v < lo ? lo : v > hi ? hi : (uint32_t)v;
}

void size_classes_init(const struct size_class *classes, int count)
{
    size_class_count = (unsigned)count;
    for (int i = 0; i < count; i++) {
        struct size_class_info *info = &size_class_table[i + 1];
        info->size = classes[i].size;
        info->pages = classes[i].pages;
        info->objects = classes[i].objects;
        info->batch = clamp_u32(BATCH_BYTES / info->size, BATCH_MIN, SIZE_CLASS_BATCH_MAX);
        info->cache_limit = clamp_u32(CACHE_LIST_BYTES / info->size, info->batch, CACHE_LIMIT_MAX);
        info->line_objects = clamp_u32((CACHE_LINE_SIZE + info->size - 1) / info->size, 1, info->batch);
        /* ceil(2^40 / size): exact for offset * size < 2^40, i.e. spans under 1 TiB / size. */
        info->index_magic = (((uint64_t)1 << 40) + info->size - 1) / info->size;
    }
    /* Entry i serves sizes up to 8 * i, so it holds the smallest class of at least
     * 8 * i bytes: each class fills the entries from just past the class before it up
     * to its own size (class sizes are multiples of 8). */
    size_t index = 0;
    for (int c = 1; c <= count; c++) {
        size_t last = size_class_lookup_index(classes[c - 1].size);
        for (; index <= last; index++)
            __atomic_store_n(&size_class_lookup[index], (uint8_t)c, __ATOMIC_RELAXED);
    }
    size_t last_index = index - 1;
    /* Above the largest class: 0, "not small" (the hit path relies on it). The table
     * starts zeroed, so only what an earlier table set needs clearing. */
    static size_t previous_last_index;
    for (size_t index = last_index + 1; index <= previous_last_index; index++)
        __atomic_store_n(&size_class_lookup[index], 0, __ATOMIC_RELAXED);
    previous_last_index = last_index;
    for (int c = count; c >= 1; c--)
        for (unsigned k = 0; k < ALIGNED_SHIFTS; k++) {
            size_t alignment = (size_t)1 << (k + ALIGNED_SHIFT_MIN);
            size_class_table[c].aligned_class[k] = size_class_table[c].size % alignment == 0 ? (uint8_t)c
                                                 : c < count ? size_class_table[c + 1].aligned_class[k] : 0;
        }
    size_class_small_limit = (size_t)classes[count - 1].size + 1;
}
