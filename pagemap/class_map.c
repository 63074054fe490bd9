/*
 * class_map.c — the class map's root, its zero leaf, and leaf creation (class_map.h
 * describes the layout).
 */
#include "pagemap/class_map.h"

#include "central/os_memory.h"

/* The leaf of every root entry that has none of its own. It is static and never
 * written, so it costs address space only: reads map the kernel's zero page. */
static uint8_t zero_class_leaf[CLASS_MAP_LEAF_PAGES] LARGE_STATIC;
/* The first leaf of its own: most processes need no other. */
static uint8_t first_leaf[CLASS_MAP_LEAF_PAGES] __attribute__((aligned(PAGE_SIZE))) LARGE_STATIC;
static bool first_leaf_taken;

/* The root is filled at load time with zero_class_leaf's bias for each index; the
 * macros spell out the 1,024 entries. */
#define ZERO_BIAS(index) ((uintptr_t)zero_class_leaf - ((uintptr_t)(index) << CLASS_MAP_LEAF_BITS))
#define ZERO_BIAS_4(i) ZERO_BIAS(i), ZERO_BIAS((i) + 1), ZERO_BIAS((i) + 2), ZERO_BIAS((i) + 3)
#define ZERO_BIAS_16(i) ZERO_BIAS_4(i), ZERO_BIAS_4((i) + 4), ZERO_BIAS_4((i) + 8), ZERO_BIAS_4((i) + 12)
#define ZERO_BIAS_64(i) ZERO_BIAS_16(i), ZERO_BIAS_16((i) + 16), ZERO_BIAS_16((i) + 32), ZERO_BIAS_16((i) + 48)
#define ZERO_BIAS_256(i) ZERO_BIAS_64(i), ZERO_BIAS_64((i) + 64), ZERO_BIAS_64((i) + 128), ZERO_BIAS_64((i) + 192)
#define ZERO_BIAS_1024(i) \
    ZERO_BIAS_256(i), ZERO_BIAS_256((i) + 256), ZERO_BIAS_256((i) + 512), ZERO_BIAS_256((i) + 768)

_Static_assert(CLASS_MAP_ROOT_SIZE == 1024, "the initialiser below spells out 1,024 entries");
uintptr_t class_map_bias[CLASS_MAP_ROOT_SIZE] = { ZERO_BIAS_1024(0) };

static size_t leaf_bytes_mapped;

static uintptr_t bias_of(const uint8_t *leaf, uintptr_t root_index)
{
    return (uintptr_t)leaf - (root_index << CLASS_MAP_LEAF_BITS);
}

static uint8_t *class_byte_of(uintptr_t page)
{
    return (uint8_t *)(class_map_bias[page >> CLASS_MAP_LEAF_BITS] + page);
}

bool class_map_ensure(uintptr_t first, size_t count)
{
    uintptr_t last = first + count - 1;
    for (uintptr_t index = first >> CLASS_MAP_LEAF_BITS; index <= last >> CLASS_MAP_LEAF_BITS; index++) {
        if (class_map_bias[index] != bias_of(zero_class_leaf, index))
            continue;
        uint8_t *leaf = os_map_first_static(first_leaf, &first_leaf_taken, CLASS_MAP_LEAF_PAGES);
        if (!leaf)
            return false;
        __atomic_add_fetch(&leaf_bytes_mapped, CLASS_MAP_LEAF_PAGES, __ATOMIC_RELAXED);
        __atomic_store_n(&class_map_bias[index], bias_of(leaf, index), __ATOMIC_RELEASE);
    }
    return true;
}

void class_map_set_range(uintptr_t first, size_t count, unsigned size_class)
{
    for (uintptr_t page = first; page < first + count; page++)
        __atomic_store_n(class_byte_of(page), (uint8_t)size_class, __ATOMIC_RELEASE);
}

size_t class_map_mapped_bytes(void)
{
    return __atomic_load_n(&leaf_bytes_mapped, __ATOMIC_RELAXED);
}

size_t class_map_resident_bytes(void)
{
    size_t pages = 0;
    for (uintptr_t index = 0; index < CLASS_MAP_ROOT_SIZE; index++) {
        uintptr_t bias = __atomic_load_n(&class_map_bias[index], __ATOMIC_ACQUIRE);
        if (bias != bias_of(zero_class_leaf, index))
            pages += os_resident_pages((void *)(bias + (index << CLASS_MAP_LEAF_BITS)),
                                       CLASS_MAP_LEAF_PAGES >> PAGE_SHIFT);
    }
    return pages << PAGE_SHIFT;
}
