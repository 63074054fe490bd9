/*
 * pagemap.c — leaf creation and the setters of the radix pagemap (see pagemap.h for
 * the layout and the invariants). Lookups are inline in the header.
 */
#include "pagemap/pagemap.h"

#include "central/os_memory.h"

struct pagemap_leaf *pagemap_root[PAGEMAP_ROOT_SIZE];
static size_t leaf_bytes_mapped;

bool pagemap_ensure(uintptr_t first, size_t count)
{
    uintptr_t last = first + count - 1;
    if ((last >> PAGEMAP_LEAF_BITS) >= PAGEMAP_ROOT_SIZE)
        return false;
    for (uintptr_t index = first >> PAGEMAP_LEAF_BITS; index <= last >> PAGEMAP_LEAF_BITS; index++) {
        if (pagemap_root[index])
            continue;
        size_t bytes = (sizeof(struct pagemap_leaf) + PAGE_MASK) & ~PAGE_MASK;
        struct pagemap_leaf *leaf = os_map_aligned(bytes, PAGE_SIZE);
        if (!leaf)
            return false;
        __atomic_add_fetch(&leaf_bytes_mapped, bytes, __ATOMIC_RELAXED);
        __atomic_store_n(&pagemap_root[index], leaf, __ATOMIC_RELEASE);
    }
    return true;
}

static struct pagemap_leaf *leaf_for(uintptr_t page)
{
    return pagemap_root[page >> PAGEMAP_LEAF_BITS];
}

static uintptr_t leaf_index(uintptr_t page)
{
    return page & (PAGEMAP_LEAF_PAGES - 1);
}

void pagemap_set_span(uintptr_t page, struct span *span)
{
    __atomic_store_n(&leaf_for(page)->span[leaf_index(page)], span, __ATOMIC_RELEASE);
}

void pagemap_set_span_range(uintptr_t first, size_t count, struct span *span)
{
    for (uintptr_t page = first; page < first + count; page++)
        pagemap_set_span(page, span);
}

void pagemap_set_size_class_range(uintptr_t first, size_t count, unsigned size_class)
{
    for (uintptr_t page = first; page < first + count; page++)
        __atomic_store_n(&leaf_for(page)->size_class[leaf_index(page)], (uint8_t)size_class,
                         __ATOMIC_RELEASE);
}

/* Applies set (or clear) to the dirty bits of [first, first + count), a word at a time.
 * A word wholly inside the range belongs to pages of the caller's span alone, so a
 * store (relaxed atomic, no read-modify-write) does; a word at either end is shared
 * with neighbours and changes with an atomic read-modify-write. */
static void change_dirty(uintptr_t first, size_t count, bool set)
{
    uintptr_t page = first, end = first + count;
    while (page < end) {
        uintptr_t index = leaf_index(page);
        unsigned bit = index & 63;
        size_t in_word = 64 - bit;
        if (in_word > end - page)
            in_word = end - page;
        uint64_t *word = &leaf_for(page)->dirty[index >> 6];
        if (in_word == 64) {
            __atomic_store_n(word, set ? ~(uint64_t)0 : 0, __ATOMIC_RELAXED);
        } else {
            uint64_t mask = (((uint64_t)1 << in_word) - 1) << bit;
            if (set)
                __atomic_fetch_or(word, mask, __ATOMIC_RELAXED);
            else
                __atomic_fetch_and(word, ~mask, __ATOMIC_RELAXED);
        }
        page += in_word;
    }
}

void pagemap_mark_dirty(uintptr_t first, size_t count)
{
    change_dirty(first, count, true);
}

void pagemap_mark_clean(uintptr_t first, size_t count)
{
    change_dirty(first, count, false);
}

/* The dirty bits of the word holding page, shifted so that bit 0 is page's own bit. */
static uint64_t dirty_bits_from(uintptr_t page)
{
    uintptr_t index = leaf_index(page);
    uint64_t word = __atomic_load_n(&leaf_for(page)->dirty[index >> 6], __ATOMIC_RELAXED);
    return word >> (index & 63);
}

bool pagemap_next_dirty_run(uintptr_t *first, uintptr_t end, size_t *count)
{
    uintptr_t page = *first;
    /* Skip clean pages a word at a time. */
    while (page < end) {
        uint64_t bits = dirty_bits_from(page);
        if (bits) {
            page += (uintptr_t)__builtin_ctzll(bits);
            break;
        }
        page += 64 - (leaf_index(page) & 63);
    }
    if (page >= end)
        return false;
    uintptr_t run_end = page;
    while (run_end < end) {
        uint64_t clean = ~dirty_bits_from(run_end);
        unsigned left_in_word = 64 - (leaf_index(run_end) & 63);
        if (left_in_word < 64)
            clean &= ((uint64_t)1 << left_in_word) - 1;
        if (clean) {
            run_end += (uintptr_t)__builtin_ctzll(clean);
            break;
        }
        run_end += left_in_word;
    }
    if (run_end > end)
        run_end = end;
    *first = page;
    *count = run_end - page;
    return true;
}

size_t pagemap_count_dirty(uintptr_t first, size_t count)
{
    size_t dirty = 0, run;
    uintptr_t page = first, end = first + count;
    while (pagemap_next_dirty_run(&page, end, &run)) {
        dirty += run;
        page += run;
    }
    return dirty;
}

size_t pagemap_mapped_bytes(void)
{
    return __atomic_load_n(&leaf_bytes_mapped, __ATOMIC_RELAXED);
}
