/*
 * size_class_gen.c — computes size-class tables (the invariants are listed in
 * size_class_gen.h).
 *
 * size_class_generate follows the idea of Go's mksizeclasses: step through candidate
 * sizes with a step that grows with the size (a power of two near max_waste * size,
 * never below the alignment rules' smallest step, never above 256), give each
 * candidate the smallest span whose tail waste is within the bound, and let a
 * candidate with the same pages and objects as the previous class replace it when the
 * internal-waste bound still holds, so that classes are where possible the largest
 * size for that first span layout. Power-of-two sizes up to the page size are never
 * replaced, and since every step is a power of two no candidate sequence skips one.
 *
 * Once the sizes are fixed (here, or by an explicit list), each class's span is
 * lengthened, up to TAIL_SPAN_MAX_PAGES, to the shortest whose tail is within a
 * quarter of the bound, or else to the span of at most that length with the smallest
 * tail, when that beats the span it has (jemalloc sizes its slabs to leave no tail at
 * all). A program that fills its spans would otherwise lose up to the whole bound of
 * their memory to tails; a longer span costs a program that uses few objects of the
 * class little, as pages of fresh memory that it never writes do not become resident.
 *
 * Nothing here allocates or uses stdio; messages for *why are static strings, or for
 * the explicit-list errors that name a size, a static buffer overwritten by the next
 * failing call (tables are built once, at start-up).
 */
#include "allocator/size_class_gen.h"

#include "allocator/log.h"

#define DEFAULT_MAX_SMALL_SIZE (32 * 1024)
#define DEFAULT_MAX_WASTE      0.125
#define DEFAULT_PAGE_SIZE      4096
#define MIN_PAGE_SIZE          4096
#define MAX_STEP               256
#define EXPLICIT_SEARCH_PAGES  64   /* span search limit for an explicit list */
#define TAIL_SPAN_MAX_PAGES    8    /* longest span chosen for a shorter tail */

static char why_buffer[96];

void size_class_default_params(struct size_class_params *params)
{
    params->max_small_size = DEFAULT_MAX_SMALL_SIZE;
    params->max_waste = DEFAULT_MAX_WASTE;
    params->page_size = DEFAULT_PAGE_SIZE;
}

static int is_power_of_two(size_t x)
{
    return x != 0 && (x & (x - 1)) == 0;
}

static size_t power_of_two_floor(size_t x)
{
    size_t p = 1;
    while (p <= x / 2)
        p *= 2;
    return p;
}

static size_t round_up(size_t x, size_t multiple)
{
    return (x + multiple - 1) / multiple * multiple;
}

/* The smallest gap the alignment rules allow above a class of this size. */
static size_t smallest_step(size_t size)
{
    return size < 16 ? 8 : 16;
}

/* The largest page size for which a one-page span of 8-byte objects still fits the
 * object limit. */
static size_t max_page_size(void)
{
    return (size_t)SIZE_CLASS_MAX_OBJECTS * 8;
}

static const char *check_params(const struct size_class_params *params)
{
    if (params->max_small_size % 16 != 0 || params->max_small_size < 1024 ||
        params->max_small_size > SIZE_CLASS_MAX_SMALL_LIMIT)
        return "max small size must be a multiple of 16 between 1024 and 262144";
    if (!(params->max_waste > 0.0 && params->max_waste <= 0.5))
        return "max waste must be above 0 and at most 0.5";
    if (!is_power_of_two(params->page_size) || params->page_size < MIN_PAGE_SIZE ||
        params->page_size > max_page_size())
        return "page size must be a power of two between 4096 and 8192";
    return 0;
}

static void fill_span(struct size_class *c, size_t size, size_t pages, size_t page_size)
{
    c->size = (uint32_t)size;
    c->pages = (uint32_t)pages;
    c->objects = (uint32_t)(pages * page_size / size);
}

static int tail_within(size_t span_bytes, size_t size, double max_waste)
{
    return (double)(span_bytes % size) <= max_waste * (double)span_bytes;
}

/* Gives c the smallest span for size whose tail waste is within the bound; returns 0
 * when the object limit is reached first. */
static int choose_span(struct size_class *c, size_t size,
                       const struct size_class_params *params)
{
    size_t page_size = params->page_size;
    for (size_t pages = round_up(size, page_size) / page_size;; pages++) {
        if (pages * page_size / size > SIZE_CLASS_MAX_OBJECTS)
            return 0;
        if (tail_within(pages * page_size, size, params->max_waste)) {
            fill_span(c, size, pages, page_size);
            return 1;
        }
    }
}

/* Of the spans of first..last pages for objects of `size` bytes, the shortest whose
 * tail is within `bound`, or else the one with the smallest tail fraction (the
 * shortest among equals); a span that would hold more than SIZE_CLASS_MAX_OBJECTS
 * objects ends the search. first when first > last. */
static size_t span_pages_for_tail(size_t size, size_t first, size_t last, double bound,
                                  size_t page_size)
{
    size_t best = first;
    for (size_t pages = first; pages <= last; pages++) {
        size_t span = pages * page_size, best_span = best * page_size;
        if (span / size > SIZE_CLASS_MAX_OBJECTS)
            break;
        if (tail_within(span, size, bound))
            return pages;
        if ((span % size) * best_span < (best_span % size) * span)
            best = pages;
    }
    return best;
}

/* Like choose_span but never fails: searches up to EXPLICIT_SEARCH_PAGES (or the
 * smallest span that holds one object) and falls back to the span with the smallest
 * tail fraction. */
static void choose_span_best_effort(struct size_class *c, size_t size,
                                    const struct size_class_params *params)
{
    size_t page_size = params->page_size;
    size_t first = round_up(size, page_size) / page_size;
    size_t last = first > EXPLICIT_SEARCH_PAGES ? first : EXPLICIT_SEARCH_PAGES;
    fill_span(c, size, span_pages_for_tail(size, first, last, params->max_waste, page_size), page_size);
}

/* Lengthens c's span, up to TAIL_SPAN_MAX_PAGES pages, to the shortest whose tail is
 * within a quarter of the bound, or else to the one with the smallest tail fraction
 * if that is below c's. */
static void lengthen_span_for_tail(struct size_class *c, const struct size_class_params *params)
{
    size_t pages = span_pages_for_tail(c->size, c->pages, TAIL_SPAN_MAX_PAGES, params->max_waste / 4,
                                       params->page_size);
    fill_span(c, c->size, pages, params->page_size);
}

static int internal_within(size_t size, size_t prev_size, double max_waste)
{
    return (double)(size - prev_size - 1) <= max_waste * (double)size;
}

static int effective_max_count(int max_count)
{
    return max_count < SIZE_CLASS_MAX_COUNT ? max_count : SIZE_CLASS_MAX_COUNT;
}

/* The candidate after size: the next multiple of a power-of-two step near
 * max_waste * size, clamped to the alignment rules and to the largest small size. */
static size_t next_candidate(size_t size, const struct size_class_params *params)
{
    size_t step = power_of_two_floor((size_t)(params->max_waste * (double)size));
    if (step < smallest_step(size))
        step = smallest_step(size);
    if (step > MAX_STEP)
        step = MAX_STEP;
    size_t next = round_up(size + 1, step);
    return next < params->max_small_size ? next : params->max_small_size;
}

int size_class_generate(const struct size_class_params *params,
                        struct size_class *out, int max_count, const char **why)
{
    const char *bad = check_params(params);
    if (bad) {
        *why = bad;
        return -1;
    }
    int limit = effective_max_count(max_count);
    int count = 0;
    for (size_t size = 8;; size = next_candidate(size, params)) {
        struct size_class c;
        if (!choose_span(&c, size, params)) {
            *why = "no span keeps tail waste within the bound without too many objects";
            return -1;
        }
        struct size_class *last = count > 0 ? &out[count - 1] : 0;
        size_t before_last = count > 1 ? out[count - 2].size : 0;
        int pinned = last && is_power_of_two(last->size) && last->size <= params->page_size;
        if (last && !pinned && last->pages == c.pages && last->objects == c.objects &&
            internal_within(size, before_last, params->max_waste)) {
            *last = c;
        } else if (count < limit) {
            out[count++] = c;
        } else {
            *why = "too many classes";
            return -1;
        }
        if (size == params->max_small_size)
            break;
    }
    for (int i = 0; i < count; i++)
        lengthen_span_for_tail(&out[i], params);
    return count;
}

/* Returns 0 when size obeys the alignment rules, else formats the reason, naming the
 * rule for the size's range. */
static const char *check_alignment(uint32_t size)
{
    if (size >= 16 && size % 16 != 0)
        pagoda_format(why_buffer, sizeof why_buffer, "size %u is not a multiple of 16", size);
    else if (size % 8 != 0)
        pagoda_format(why_buffer, sizeof why_buffer, "size %u is not a multiple of 8", size);
    else
        return 0;
    return why_buffer;
}

static const char *check_sizes(const struct size_class_params *params,
                               const uint32_t *sizes, int count, int limit)
{
    if (count <= 0)
        return "no sizes given";
    if (count > limit)
        return "too many classes";
    for (int i = 0; i < count; i++) {
        if (sizes[i] < 8) {
            pagoda_format(why_buffer, sizeof why_buffer, "size %u below 8", sizes[i]);
            return why_buffer;
        }
        if (sizes[i] > params->max_small_size) {
            pagoda_format(why_buffer, sizeof why_buffer, "size %u above %zu",
                          sizes[i], params->max_small_size);
            return why_buffer;
        }
        const char *misaligned = check_alignment(sizes[i]);
        if (misaligned)
            return misaligned;
        if (i > 0 && sizes[i] <= sizes[i - 1]) {
            pagoda_format(why_buffer, sizeof why_buffer,
                          "sizes must be strictly increasing (%u after %u)",
                          sizes[i], sizes[i - 1]);
            return why_buffer;
        }
    }
    return 0;
}

int size_class_from_sizes(const struct size_class_params *params,
                          const uint32_t *sizes, int count,
                          struct size_class *out, int max_count, const char **why)
{
    const char *bad = check_params(params);
    if (!bad)
        bad = check_sizes(params, sizes, count, effective_max_count(max_count));
    if (bad) {
        *why = bad;
        return -1;
    }
    for (int i = 0; i < count; i++) {
        choose_span_best_effort(&out[i], sizes[i], params);
        lengthen_span_for_tail(&out[i], params);
    }
    return count;
}
