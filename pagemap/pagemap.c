/*
 * pagemap.c — leaf creation and the setters of the radix pagemap (see pagemap.h for
 * the layout and the invariants). Lookups are inline in the header.
 */
#include "pagemap/pagemap.h"

#include "central/os_memory.h"

struct pagemap_leaf *pagemap_root[PAGEMAP_ROOT_SIZE] LARGE_STATIC;
static size_t leaf_bytes_mapped;
/* Every leaf's root index lies in [lowest_leaf, highest_leaf] (when there is one), so
 * that pagemap_resident_bytes reads the root there only. */
static uintptr_t lowest_leaf = PAGEMAP_ROOT_SIZE, highest_leaf;

#define LEAF_BYTES ((sizeof(struct pagemap_leaf) + PAGE_MASK) & ~PAGE_MASK)

/* The first leaf: most processes need no other. */
static struct pagemap_leaf first_leaf __attribute__((aligned(PAGE_SIZE))) LARGE_STATIC;
static bool first_leaf_taken;

bool pagemap_ensure(uintptr_t first, size_t count)
{
    uintptr_t last = first + count - 1;
    if ((last >> PAGEMAP_LEAF_BITS) >= PAGEMAP_ROOT_SIZE)
        return false;
    for (uintptr_t index = first >> PAGEMAP_LEAF_BITS; index <= last >> PAGEMAP_LEAF_BITS; index++) {
        if (pagemap_root[index])
            continue;
        struct pagemap_leaf *leaf = os_map_first_static(&first_leaf, &first_leaf_taken, LEAF_BYTES);
        if (!leaf)
            return false;
        __atomic_add_fetch(&leaf_bytes_mapped, LEAF_BYTES, __ATOMIC_RELAXED);
        __atomic_store_n(&pagemap_root[index], leaf, __ATOMIC_RELEASE);
        if (index < __atomic_load_n(&lowest_leaf, __ATOMIC_RELAXED))
            __atomic_store_n(&lowest_leaf, index, __ATOMIC_RELAXED);
        if (index > __atomic_load_n(&highest_leaf, __ATOMIC_RELAXED))
            __atomic_store_n(&highest_leaf, index, __ATOMIC_RELAXED);
    }
    return class_map_ensure(first, count);
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
    class_map_set_range(first, count, size_class);
}

/* The dirty bitmap of [first, end) is walked one word at a time: `word` points at the
 * word holding `page`, `mask` selects the bits of pages in [page, end) within it, and
 * `next` is the first page of the following word. Words never straddle leaves. */
struct dirty_word {
    uint64_t *word;
    uint64_t mask;
    uintptr_t next;
};

static struct dirty_word dirty_word_at(uintptr_t page, uintptr_t end)
{
    uintptr_t index = leaf_index(page);
    unsigned bit = index & 63;
    uintptr_t next = page - bit + 64;
    uint64_t mask = ~(uint64_t)0 << bit;
    if (end < next)
        mask &= ~(uint64_t)0 >> (64 - (end - (page - bit)));
    return (struct dirty_word){ &leaf_for(page)->dirty[index >> 6], mask, next };
}

/* The page just past the whole words that start at word-aligned `page`: the range's
 * last whole word, or the leaf's, whichever ends first. */
static uintptr_t whole_words_end(uintptr_t page, uintptr_t end)
{
    uintptr_t leaf_end = (page | (PAGEMAP_LEAF_PAGES - 1)) + 1;
    return (end < leaf_end ? end : leaf_end) & ~(uintptr_t)63;
}

/* A word wholly inside the range belongs to pages of the caller's span alone, so a
 * store (relaxed atomic, no read-modify-write) does; a word at either end is shared
 * with neighbours and changes with an atomic read-modify-write. */
static void change_dirty(uintptr_t first, size_t count, bool set)
{
    for (uintptr_t page = first, end = first + count; page < end;) {
        struct dirty_word w = dirty_word_at(page, end);
        if (w.mask != ~(uint64_t)0) {
            if (set)
                __atomic_fetch_or(w.word, w.mask, __ATOMIC_RELAXED);
            else
                __atomic_fetch_and(w.word, ~w.mask, __ATOMIC_RELAXED);
            page = w.next;
            continue;
        }
        uint64_t *word = w.word;
        for (uintptr_t stop = whole_words_end(page, end); page < stop; page += 64)
            __atomic_store_n(word++, set ? ~(uint64_t)0 : 0, __ATOMIC_RELAXED);
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

static uint64_t load_word(const uint64_t *word)
{
    return __atomic_load_n(word, __ATOMIC_RELAXED);
}

bool pagemap_next_dirty_run(uintptr_t *first, uintptr_t end, size_t *count)
{
    uintptr_t page = *first, run_start = end;
    /* Find the first dirty page. */
    while (page < end) {
        struct dirty_word w = dirty_word_at(page, end);
        uint64_t dirty = load_word(w.word) & w.mask;
        if (dirty) {
            run_start = w.next - 64 + (uintptr_t)__builtin_ctzll(dirty);
            break;
        }
        page = w.next;
    }
    if (run_start >= end)
        return false;
    /* Find the first clean page after it. */
    uintptr_t run_end = end;
    for (page = run_start; page < end;) {
        struct dirty_word w = dirty_word_at(page, end);
        uint64_t clean = ~load_word(w.word) & w.mask;
        if (clean) {
            run_end = w.next - 64 + (uintptr_t)__builtin_ctzll(clean);
            break;
        }
        page = w.next;
    }
    *first = run_start;
    *count = run_end - run_start;
    return true;
}

/* Spans are mostly wholly dirty or wholly clean, so whole words are counted without a
 * popcount, which the baseline x86-64 target lacks as an instruction; only the partial
 * words at the ends of a range need one. */
static unsigned count_bits(uint64_t bits)
{
    if (bits == ~(uint64_t)0)
        return 64;
    return bits ? (unsigned)__builtin_popcountll(bits) : 0;
}

size_t pagemap_count_dirty(uintptr_t first, size_t count)
{
    size_t dirty = 0;
    for (uintptr_t page = first, end = first + count; page < end;) {
        struct dirty_word w = dirty_word_at(page, end);
        if (w.mask != ~(uint64_t)0) {
            dirty += count_bits(load_word(w.word) & w.mask);
            page = w.next;
            continue;
        }
        const uint64_t *word = w.word;
        for (uintptr_t stop = whole_words_end(page, end); page < stop; page += 64)
            dirty += count_bits(load_word(word++));
    }
    return dirty;
}

size_t pagemap_mapped_bytes(void)
{
    return __atomic_load_n(&leaf_bytes_mapped, __ATOMIC_RELAXED) + class_map_mapped_bytes();
}

size_t pagemap_resident_bytes(void)
{
    size_t pages = 0;
    uintptr_t highest = __atomic_load_n(&highest_leaf, __ATOMIC_RELAXED);
    for (uintptr_t index = __atomic_load_n(&lowest_leaf, __ATOMIC_RELAXED); index <= highest; index++) {
        struct pagemap_leaf *leaf = __atomic_load_n(&pagemap_root[index], __ATOMIC_ACQUIRE);
        if (leaf)
            pages += os_resident_pages(leaf, LEAF_BYTES >> PAGE_SHIFT);
    }
    return (pages << PAGE_SHIFT) + class_map_resident_bytes();
}
