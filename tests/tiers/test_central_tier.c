/*
 * test_central_tier.c — the central free lists alone (central/central_list.h), driven
 * through central_remove_batch / central_insert_batch / central_free_object with no
 * thread cache in the way, for every class of the default table.
 *
 * Invariants checked: a removal returns exactly the count asked for, as a
 * NULL-terminated chain of distinct objects of the class, each at an object boundary
 * of a span of that class and aligned as the class promises; a full batch given back
 * sits in the transfer cache and the next full-batch removal returns that very chain,
 * untouched (linked again in the same order when it was given as an array), while a
 * smaller removal leaves it there; objects given back one by one
 * return to their span, and a span whose objects are all back goes to the page heap;
 * central_get_stats agrees with what was taken and given back; a double free through
 * central_free_object aborts with "double free of". With several shards, a span's
 * objects go back to the shard that cut it however they are chained, and a full
 * batch goes to its first object's shard's transfer cache, and a shard with no
 * partial span takes over the tail of another shard's list, never its last span.
 */
#include "tests/tiers/tier_suite.h"

#include "allocator/config.h"
#include "allocator/init.h"
#include "allocator/size_class_table.h"
#include "allocator/size_classes.h"
#include "central/central_list.h"
#include "central/page_heap.h"
#include "pagemap/pagemap.h"
#include "tests/support/child.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define MAX_TAKEN 4096

static void setup(void)
{
    pagoda_initialize();
    ck_assert_uint_eq(size_class_count, SIZE_CLASS_DEFAULT_COUNT);
}

static const struct size_class_info *info_of(unsigned size_class)
{
    return &size_class_table[size_class];
}

/* Checks that object is the start of an object of size_class inside a span of it, and
 * aligned as the class promises. */
static void check_object(unsigned size_class, void *object)
{
    const struct size_class_info *info = info_of(size_class);
    uintptr_t address = (uintptr_t)object;
    struct span *span = pagemap_span(page_of(object));
    ck_assert_msg(span && span->state == SPAN_SMALL && span->size_class == size_class,
                  "class %u: %p is not in a span of the class", size_class, object);
    size_t offset = address - (uintptr_t)span_start(span);
    ck_assert_msg(offset % info->size == 0 && offset / info->size < info->objects,
                  "class %u: %p is at offset %zu of its span", size_class, object, offset);
    ck_assert_uint_eq(pagemap_size_class(object), size_class);
    if (info->size >= 16)
        ck_assert_msg(address % 16 == 0, "class %u: %p not 16-aligned", size_class, object);
    if ((info->size & (info->size - 1)) == 0 && info->size <= PAGE_SIZE)
        ck_assert_msg(address % info->size == 0, "class %u: %p not aligned to its size",
                      size_class, object);
}

static int compare_pointers(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

static void check_distinct(void **objects, size_t count)
{
    void **sorted = malloc(count * sizeof *sorted);
    memcpy(sorted, objects, count * sizeof *sorted);
    qsort(sorted, count, sizeof *sorted, compare_pointers);
    for (size_t i = 1; i < count; i++)
        ck_assert_msg(sorted[i] != sorted[i - 1], "%p handed out twice", sorted[i]);
    free(sorted);
}

/* Removes up to `want` objects from shard `shard` for the owner of *own (own NULL: no
 * thread cache), checks the chain (its length is the count returned) and appends its
 * objects to taken[]; returns the count. */
static unsigned take_from_shard(unsigned shard, unsigned size_class, unsigned want, struct span **own,
                                void **taken, size_t *taken_count)
{
    void *head = NULL;
    unsigned got = central_remove_batch(shard, size_class, want, &head, own);
    unsigned length = 0;
    for (void *object = head; object; object = *(void **)object, length++) {
        ck_assert_uint_lt(*taken_count, MAX_TAKEN);
        check_object(size_class, object);
        taken[(*taken_count)++] = object;
    }
    ck_assert_uint_eq(length, got);
    return got;
}

static unsigned take_owned(unsigned size_class, unsigned want, struct span **own, void **taken,
                           size_t *taken_count)
{
    return take_from_shard(0, size_class, want, own, taken, taken_count);
}

/* Removes exactly `want` objects, with no thread cache, into taken[]. */
static void take(unsigned size_class, unsigned want, void **taken, size_t *taken_count)
{
    ck_assert_uint_eq(take_owned(size_class, want, NULL, taken, taken_count), want);
}

static struct central_class_stats central_stats(unsigned size_class)
{
    struct central_class_stats stats;
    central_get_stats(size_class, &stats);
    return stats;
}

START_TEST(test_a_full_batch_is_distinct_aligned_objects_of_the_class)
{
    unsigned size_class = (unsigned)_i;
    void *taken[MAX_TAKEN];
    size_t count = 0;
    take(size_class, info_of(size_class)->batch, taken, &count);
    check_distinct(taken, count);
}
END_TEST

START_TEST(test_partial_counts_give_exactly_that_many)
{
    unsigned size_class = (unsigned)_i;
    const struct size_class_info *info = info_of(size_class);
    const unsigned wants[] = { 1, 3, info->batch - 1, info->objects + 1, 2 * info->objects + 3 };
    void *taken[MAX_TAKEN];
    size_t count = 0;
    for (size_t i = 0; i < sizeof wants / sizeof wants[0]; i++)
        take(size_class, wants[i], taken, &count);
    check_distinct(taken, count);
}
END_TEST

/* A full batch given back (as a chain or as an array) waits in the transfer cache and
 * comes back as the same chain, in the same order. */
static void check_a_full_batch_comes_back_as_the_same_chain(unsigned size_class, bool as_array)
{
    unsigned batch = info_of(size_class)->batch;
    void *taken[MAX_TAKEN];
    size_t count = 0;
    take(size_class, batch, taken, &count);
    struct central_class_stats before = central_stats(size_class);
    central_insert_batch(size_class, taken[0], batch, 0, as_array);
    struct central_class_stats held = central_stats(size_class);
    ck_assert_uint_eq(held.in_transfer_cache, batch);
    ck_assert_uint_eq(held.free_in_spans, before.free_in_spans);   /* not back in spans */
    void *head = NULL;
    ck_assert_uint_eq(central_remove_batch(0, size_class, batch, &head, NULL), batch);
    ck_assert_ptr_eq(head, taken[0]);
    unsigned i = 0;
    for (void *object = head; object; object = *(void **)object, i++)
        ck_assert_ptr_eq(object, taken[i]);
    ck_assert_uint_eq(i, batch);
    ck_assert_uint_eq(central_stats(size_class).in_transfer_cache, 0);
}

START_TEST(test_a_full_batch_given_back_comes_back_as_the_same_chain)
{
    check_a_full_batch_comes_back_as_the_same_chain((unsigned)_i, false);
}
END_TEST

START_TEST(test_a_full_batch_given_back_as_an_array_comes_back_as_the_same_chain)
{
    check_a_full_batch_comes_back_as_the_same_chain((unsigned)_i, true);
}
END_TEST

START_TEST(test_a_partial_removal_leaves_the_transfer_cache_alone)
{
    unsigned size_class = (unsigned)_i;
    unsigned batch = info_of(size_class)->batch;
    void *taken[MAX_TAKEN];
    size_t count = 0;
    take(size_class, batch, taken, &count);
    central_insert_batch(size_class, taken[0], batch, 0, false);
    take(size_class, batch - 1, taken, &count);
    ck_assert_uint_eq(central_stats(size_class).in_transfer_cache, batch);
    check_distinct(taken + batch, count - batch);
}
END_TEST

START_TEST(test_a_span_whose_objects_all_come_back_returns_to_the_page_heap)
{
    unsigned size_class = (unsigned)_i;
    const struct size_class_info *info = info_of(size_class);
    void *taken[MAX_TAKEN];
    size_t count = 0;
    take(size_class, info->objects, taken, &count);
    struct span *span = pagemap_span(page_of(taken[0]));
    ck_assert_uint_eq(central_stats(size_class).spans, 1);
    ck_assert_uint_eq(central_stats(size_class).free_in_spans, 0);
    struct page_heap_stats heap_before;
    page_heap_get_stats(&heap_before);
    for (size_t i = 0; i + 1 < count; i++)
        central_free_object(size_class, taken[i], -1);
    ck_assert_uint_eq(span->state, SPAN_SMALL);
    ck_assert_uint_eq(central_stats(size_class).free_in_spans, info->objects - 1);
    central_free_object(size_class, taken[count - 1], -1);
    struct page_heap_stats heap_after;
    page_heap_get_stats(&heap_after);
    ck_assert_uint_eq(heap_after.free_bytes,
                      heap_before.free_bytes + ((size_t)info->pages << PAGE_SHIFT));
    ck_assert_uint_eq(central_stats(size_class).spans, 0);
    ck_assert_uint_eq(central_stats(size_class).free_in_spans, 0);
    ck_assert_uint_eq(pagemap_size_class(taken[0]), 0);
}
END_TEST

/* What the central list should report, from the spans of the objects still taken. */
static void check_stats_match(unsigned size_class, void **taken, size_t count, const bool *out)
{
    const struct size_class_info *info = info_of(size_class);
    struct span *spans[MAX_TAKEN];
    size_t span_count = 0, out_count = 0;
    for (size_t i = 0; i < count; i++) {
        if (!out[i])
            continue;
        out_count++;
        struct span *span = pagemap_span(page_of(taken[i]));
        bool known = false;
        for (size_t s = 0; s < span_count; s++)
            known |= spans[s] == span;
        if (!known)
            spans[span_count++] = span;
    }
    struct central_class_stats stats = central_stats(size_class);
    ck_assert_uint_eq(stats.spans, span_count);
    ck_assert_uint_eq(stats.free_in_spans, span_count * info->objects - out_count);
    ck_assert_uint_eq(stats.in_transfer_cache, 0);
}

START_TEST(test_stats_agree_with_objects_taken_and_given_back)
{
    unsigned size_class = (unsigned)_i;
    const struct size_class_info *info = info_of(size_class);
    void *taken[MAX_TAKEN];
    bool out[MAX_TAKEN] = { false };
    size_t count = 0;
    take(size_class, 2 * info->objects + 1, taken, &count);
    for (size_t i = 0; i < count; i++)
        out[i] = true;
    check_stats_match(size_class, taken, count, out);
    for (size_t i = 0; i < count; i += 2) {      /* every other object, one at a time */
        *(void **)taken[i] = NULL;
        central_insert_batch(size_class, taken[i], 1, 0, false);
        out[i] = false;
        check_stats_match(size_class, taken, count, out);
    }
}
END_TEST

static void free_twice(void *object_and_class)
{
    void **args = object_and_class;
    unsigned size_class = (unsigned)(uintptr_t)args[1];
    central_free_object(size_class, args[0], -1);
    central_free_object(size_class, args[0], -1);
}

static void free_once(void *object_and_class)
{
    void **args = object_and_class;
    central_free_object((unsigned)(uintptr_t)args[1], args[0], -1);
}

/* Takes two objects of class `size_class` (so that giving one back leaves its span in
 * use), runs body on the first in a child and returns that object. */
static void *run_on_object_in_child(unsigned size_class, void (*body)(void *),
                                    struct child_result *result)
{
    void *taken[MAX_TAKEN];
    size_t count = 0;
    take(size_class, 2, taken, &count);
    void *args[2] = { taken[0], (void *)(uintptr_t)size_class };
    run_in_child(body, args, 10, result);
    return taken[0];
}

START_TEST(test_double_free_through_central_free_object_aborts)
{
    struct child_result result;
    void *object = run_on_object_in_child(size_class_of(64), free_twice, &result);
    char expected[64];
    snprintf(expected, sizeof expected, "double free of %p", object);
    ck_assert_msg(WIFSIGNALED(result.status) && WTERMSIG(result.status) == SIGABRT,
                  "child status %#x", result.status);
    ck_assert_msg(strstr(result.stderr_text, expected), "stderr: %s", result.stderr_text);
}
END_TEST

START_TEST(test_a_single_free_through_central_free_object_is_quiet)
{
    struct child_result result;
    run_on_object_in_child(size_class_of(64), free_once, &result);
    ck_assert_msg(WIFEXITED(result.status) && WEXITSTATUS(result.status) == 0,
                  "child status %#x", result.status);
    ck_assert_str_eq(result.stderr_text, "");
}
END_TEST

/* A thread's first batch may take a free cache line from a span a release pass has
 * examined (and marked released). Objects leaving a span make it an ordinary span
 * again, whichever way they leave, so that the next release pass looks at it. */
START_TEST(test_a_first_batch_from_a_released_span_unmarks_it)
{
    unsigned size_class = size_class_of(8);
    void *head = NULL;
    ck_assert_uint_eq(central_remove_batch(0, size_class, 1, &head, NULL), 1);
    struct span *span = pagemap_span(page_of(head));
    bool waiting = false;
    central_release_idle(size_class, UINT64_MAX, &waiting);
    ck_assert(!waiting);
    ck_assert_uint_eq(span->released, 1);
    void *line = NULL;
    unsigned want = info_of(size_class)->line_objects;
    ck_assert_uint_eq(central_remove_first_batch(0, size_class, want, &line), want);
    ck_assert_ptr_eq(pagemap_span(page_of(line)), span);
    ck_assert_uint_eq(span->released, 0);
    ck_assert_uint_eq((uintptr_t)line % CACHE_LINE_SIZE, 0);
}
END_TEST

/* ---- spans owned by a thread ---- */

static bool owns_spans(unsigned size_class)
{
    return info_of(size_class)->size <= OWNED_SPAN_MAX_OBJECT_SIZE;
}

/* Two owners refilling in turn, a partial batch at a time (a full batch could come
 * from the transfer cache), never get objects of one span. */
START_TEST(test_two_owners_refilling_in_turn_never_share_a_span)
{
    unsigned size_class = (unsigned)_i;
    if (!owns_spans(size_class))
        return;
    unsigned want = info_of(size_class)->batch - 1;
    struct span *own[2] = { NULL, NULL };
    static void *taken[2][MAX_TAKEN];
    size_t count[2] = { 0, 0 };
    for (int round = 0; round < 12; round++)
        for (int owner = 0; owner < 2; owner++)
            ck_assert_uint_eq(take_owned(size_class, want, &own[owner], taken[owner], &count[owner]), want);
    for (size_t i = 0; i < count[0]; i++) {
        struct span *span = pagemap_span(page_of(taken[0][i]));
        for (size_t j = 0; j < count[1]; j++)
            ck_assert_msg(pagemap_span(page_of(taken[1][j])) != span,
                          "class %u: objects %p and %p of two owners share a span", size_class,
                          taken[0][i], taken[1][j]);
    }
}
END_TEST

/* Objects given back into an owned span, by any thread, are its owner's again: another
 * owner does not get them, the owner does. */
START_TEST(test_objects_freed_into_an_owned_span_go_back_to_its_owner)
{
    unsigned size_class = size_class_of(64);
    struct span *own = NULL, *other = NULL;
    void *taken[MAX_TAKEN], *others[MAX_TAKEN];
    size_t count = 0, other_count = 0;
    take_owned(size_class, 8, &own, taken, &count);
    struct span *span = own;
    ck_assert_ptr_nonnull(span);
    ck_assert_ptr_eq(pagemap_span(page_of(taken[0])), span);
    for (size_t i = 0; i < count; i++)
        central_free_object(size_class, taken[i], -1);
    take_owned(size_class, 8, &other, others, &other_count);
    for (size_t i = 0; i < other_count; i++)
        ck_assert_ptr_ne(pagemap_span(page_of(others[i])), span);
    size_t again = count;
    take_owned(size_class, 8, &own, taken, &count);
    for (size_t i = again; i < count; i++)
        ck_assert_ptr_eq(pagemap_span(page_of(taken[i])), span);
}
END_TEST

/* An owned span whose objects have all come back stays with its owner (it will use it
 * again); given up, it goes to the page heap. Given up with objects out, it goes back
 * on the partial list, where anyone's refill finds it. */
START_TEST(test_a_given_up_span_goes_to_the_page_heap_or_back_to_everyone)
{
    unsigned size_class = size_class_of(32);
    struct span *own = NULL;
    void *taken[MAX_TAKEN];
    size_t count = 0;
    take_owned(size_class, 4, &own, taken, &count);
    struct span *span = own;
    for (size_t i = 0; i < count; i++)
        central_free_object(size_class, taken[i], -1);
    ck_assert_uint_eq(span->state, SPAN_SMALL);
    ck_assert_uint_eq(pagemap_size_class(taken[0]), size_class);
    central_give_up_span(0, size_class, &own);
    ck_assert_ptr_null(own);
    ck_assert_uint_eq(pagemap_size_class(taken[0]), 0);
    ck_assert_uint_eq(central_stats(size_class).spans, 0);

    own = NULL;
    count = 0;
    take_owned(size_class, 4, &own, taken, &count);
    span = own;
    central_give_up_span(0, size_class, &own);
    void *head = NULL;
    ck_assert_uint_eq(central_remove_batch(0, size_class, 1, &head, NULL), 1);
    ck_assert_ptr_eq(pagemap_span(page_of(head)), span);
}
END_TEST

/* An owner that takes a span's last free object gives the span up: full, it is on no
 * list, and the next refill takes another span. */
START_TEST(test_an_owner_gives_up_a_span_it_has_used_up)
{
    unsigned size_class = size_class_of(64);
    const struct size_class_info *info = info_of(size_class);
    struct span *own = NULL;
    void *taken[MAX_TAKEN];
    size_t count = 0;
    take_owned(size_class, info->objects, &own, taken, &count);
    ck_assert_ptr_null(own);
    take_owned(size_class, 1, &own, taken, &count);
    ck_assert_ptr_nonnull(own);
    ck_assert_ptr_ne(pagemap_span(page_of(taken[count - 1])), pagemap_span(page_of(taken[0])));
}
END_TEST

/* A release pass keeps a transfer cache or a partial span used since its idle time,
 * and says so; once they are idle it releases them and reports nothing waiting. Spans
 * threads own are not its business. */
START_TEST(test_release_reports_what_it_keeps_for_being_recent)
{
    unsigned size_class = size_class_of(64);
    unsigned batch = info_of(size_class)->batch;
    void *taken[MAX_TAKEN];
    size_t count = 0;
    take(size_class, 2 * batch, taken, &count);
    for (size_t i = 0; i + 1 < batch; i++)
        *(void **)taken[i] = taken[i + 1];
    *(void **)taken[batch - 1] = NULL;
    central_insert_batch(size_class, taken[0], batch, 0, false);           /* into the transfer cache */
    ck_assert_uint_eq(central_stats(size_class).in_transfer_cache, batch);
    bool waiting = false;
    central_release_idle(size_class, 0, &waiting);
    ck_assert(waiting);
    waiting = false;
    central_release_idle(size_class, UINT64_MAX, &waiting);
    ck_assert(!waiting);
    ck_assert_uint_eq(central_stats(size_class).in_transfer_cache, 0);

    struct span *own = NULL;
    void *owned[MAX_TAKEN];
    size_t owned_count = 0;
    take_owned(size_class, 4, &own, owned, &owned_count);
    central_free_object(size_class, owned[0], -1);
    waiting = false;
    central_release_idle(size_class, 0, &waiting);
    ck_assert(!waiting);
}
END_TEST

/* Larger classes do not use the slot. */
START_TEST(test_large_classes_leave_the_slot_alone)
{
    unsigned size_class = size_class_of(4096);
    ck_assert(!owns_spans(size_class));
    struct span *own = NULL;
    void *taken[MAX_TAKEN];
    size_t count = 0;
    ck_assert_uint_eq(take_owned(size_class, 1, &own, taken, &count), 1);
    ck_assert_ptr_null(own);
}
END_TEST

/* ---- shards ------------------------------------------------------------------------ */

#define TEST_SHARDS 4

static void open_shards(void)
{
    pagoda_config.central_shards = TEST_SHARDS;
    ck_assert_uint_eq(central_shards_open(false), 1);      /* one until asked to spread */
    ck_assert_uint_eq(central_shards_open(true), TEST_SHARDS);
    ck_assert_uint_eq(central_shards_open(true), TEST_SHARDS);
    central_set_inhabited_shards((1u << TEST_SHARDS) - 1);     /* threads on every shard */
}

static unsigned shard_of(const void *object)
{
    return pagemap_span(page_of(object))->shard;
}

/* Objects of two shards' spans, chained alternately and given back as one chain (not
 * a batch, so past the transfer caches), each go back to their own shard: afterwards
 * each shard hands out objects of its own spans only, among them the ones given back. */
START_TEST(test_a_mixed_chain_goes_back_to_the_shards_that_cut_its_spans)
{
    unsigned size_class = (unsigned)_i;
    const struct size_class_info *info = info_of(size_class);
    open_shards();
    unsigned each = info->objects < 8 ? info->objects : 8;
    void *first[MAX_TAKEN], *second[MAX_TAKEN];
    size_t first_count = 0, second_count = 0;
    take_from_shard(1, size_class, each, NULL, first, &first_count);
    take_from_shard(2, size_class, each, NULL, second, &second_count);
    /* Keeps one object of each shard out, so that their spans stay partial, and gives
     * back pairs of objects, fewer if that would make a whole batch. */
    unsigned pairs = each - 1;
    if (2 * pairs == info->batch)
        pairs--;
    if (!pairs)
        return;
    void *chain = NULL;
    for (size_t i = 1; i <= pairs; i++) {
        ck_assert_uint_eq(shard_of(first[i]), 1);
        ck_assert_uint_eq(shard_of(second[i]), 2);
        *(void **)second[i] = chain;
        *(void **)first[i] = second[i];
        chain = first[i];
    }
    central_insert_batch(size_class, chain, 2 * pairs, 0, false);
    for (unsigned shard = 1; shard <= 2; shard++) {
        void *again[MAX_TAKEN];
        size_t again_count = 0;
        take_from_shard(shard, size_class, pairs, NULL, again, &again_count);
        for (size_t i = 0; i < again_count; i++)
            ck_assert_uint_eq(shard_of(again[i]), shard);
        void *const *given = shard == 1 ? first : second;
        for (size_t i = 1; i <= pairs; i++) {
            bool found = false;
            for (size_t j = 0; j < again_count; j++)
                found |= again[j] == given[i];
            ck_assert_msg(found, "shard %u: %p given back was not handed out again", shard, given[i]);
        }
    }
}
END_TEST

/* A full batch goes to the transfer cache of its first object's shard, while threads
 * are on it: another shard does not get it, its own shard gets the very chain. */
START_TEST(test_a_full_batch_goes_to_its_first_objects_shard)
{
    unsigned size_class = size_class_of(64);
    unsigned batch = info_of(size_class)->batch;
    open_shards();
    void *head = NULL;
    ck_assert_uint_eq(central_remove_batch(3, size_class, batch, &head, NULL), batch);
    central_insert_batch(size_class, head, batch, 0, false);
    ck_assert_uint_eq(central_stats(size_class).in_transfer_cache, batch);
    void *other = NULL;
    ck_assert_uint_eq(central_remove_batch(1, size_class, batch, &other, NULL), batch);
    ck_assert_ptr_ne(other, head);
    void *same = NULL;
    ck_assert_uint_eq(central_remove_batch(3, size_class, batch, &same, NULL), batch);
    ck_assert_ptr_eq(same, head);
    ck_assert_uint_eq(central_stats(size_class).in_transfer_cache, 0);
}
END_TEST

/* A full batch of a shard no thread is on goes to the transfer cache of the freeing
 * thread's shard, which then hands out the very chain. */
START_TEST(test_a_full_batch_of_a_shard_without_threads_goes_to_the_freeing_threads_shard)
{
    unsigned size_class = size_class_of(64);
    unsigned batch = info_of(size_class)->batch;
    open_shards();
    central_set_inhabited_shards(1u << 0 | 1u << 1);
    void *head = NULL;
    ck_assert_uint_eq(central_remove_batch(3, size_class, batch, &head, NULL), batch);
    ck_assert_uint_eq(central_insert_batch(size_class, head, batch, 1, false), 3);
    ck_assert_uint_eq(central_stats(size_class).in_transfer_cache, batch);
    void *same = NULL;
    ck_assert_uint_eq(central_remove_batch(1, size_class, batch, &same, NULL), batch);
    ck_assert_ptr_eq(same, head);
    ck_assert_uint_eq(shard_of(same), 3);          /* its span stays in shard 3 */
}
END_TEST

/* Shard 2 is left with two partial spans: *head, the span it took objects from first,
 * back at the head of its list when objects of it are freed, and *tail behind it. */
static void leave_two_partial_spans(unsigned size_class, struct span **head, struct span **tail)
{
    const struct size_class_info *info = info_of(size_class);
    void *taken[MAX_TAKEN];
    size_t count = 0;
    take_from_shard(2, size_class, info->objects + 1, NULL, taken, &count);
    *head = pagemap_span(page_of(taken[0]));
    *tail = pagemap_span(page_of(taken[info->objects]));
    ck_assert_ptr_ne(*head, *tail);
    central_free_object(size_class, taken[0], -1);      /* partial again: to the head */
    central_free_object(size_class, taken[1], -1);
}

/* A shard with no partial span takes over the tail of another shard's list (the span
 * that shard would allocate from last) instead of cutting a fresh one; the span is
 * then the taker's, objects freed into it included. */
START_TEST(test_an_empty_shard_takes_over_the_tail_of_another_shards_list)
{
    unsigned size_class = size_class_of(256);
    open_shards();
    struct span *head, *tail;
    leave_two_partial_spans(size_class, &head, &tail);
    size_t spans_before = central_stats(size_class).spans;
    void *taken[MAX_TAKEN];
    size_t count = 0;
    take_from_shard(1, size_class, 1, NULL, taken, &count);
    ck_assert_uint_eq(central_stats(size_class).spans, spans_before);      /* none cut */
    struct span *taken_over = pagemap_span(page_of(taken[0]));
    ck_assert_ptr_eq(taken_over, tail);
    ck_assert_uint_eq(taken_over->shard, 1);
    ck_assert_uint_eq(head->shard, 2);
    central_free_object(size_class, taken[0], -1);
    void *again[MAX_TAKEN];
    size_t again_count = 0;
    take_from_shard(1, size_class, 1, NULL, again, &again_count);
    ck_assert_ptr_eq(again[0], taken[0]);
}
END_TEST

/* Shard 2 takes 2 objects of 256 B (its one partial span), then shard 1 takes 1 with
 * threads on shard 2 or not. Returns the span shard 1's object came from; *partial is
 * shard 2's span and *spans_added the spans cut for shard 1's object (0 or 1). */
static struct span *take_after_shard_2(bool shard_2_inhabited, struct span **partial, size_t *spans_added)
{
    unsigned size_class = size_class_of(256);
    open_shards();
    void *taken[MAX_TAKEN];
    size_t count = 0;
    take_from_shard(2, size_class, 2, NULL, taken, &count);
    *partial = pagemap_span(page_of(taken[0]));
    if (!shard_2_inhabited)
        central_set_inhabited_shards(1u << 0 | 1u << 1);        /* shard 2's threads left */
    size_t spans_before = central_stats(size_class).spans;
    take_from_shard(1, size_class, 1, NULL, taken, &count);
    *spans_added = central_stats(size_class).spans - spans_before;
    return pagemap_span(page_of(taken[2]));
}

/* A shard keeps its last partial span: the other shard cuts a fresh one. */
START_TEST(test_a_shards_last_partial_span_is_not_taken_over)
{
    const struct size_class_info *info = info_of(size_class_of(256));
    struct span *partial;
    size_t spans_added;
    ck_assert_ptr_ne(take_after_shard_2(true, &partial, &spans_added), partial);
    ck_assert_uint_eq(spans_added, 1);
    ck_assert_uint_eq(partial->shard, 2);
    ck_assert_uint_eq(central_stats(size_class_of(256)).free_in_spans, 2 * (size_t)info->objects - 3);
}
END_TEST

/* A shard without threads keeps no partial span: another shard takes over its last. */
START_TEST(test_the_last_partial_span_of_a_shard_without_threads_is_taken_over)
{
    const struct size_class_info *info = info_of(size_class_of(256));
    struct span *partial;
    size_t spans_added;
    ck_assert_ptr_eq(take_after_shard_2(false, &partial, &spans_added), partial);
    ck_assert_uint_eq(spans_added, 0);
    ck_assert_uint_eq(partial->shard, 1);
    ck_assert_uint_eq(central_stats(size_class_of(256)).free_in_spans, (size_t)info->objects - 3);
}
END_TEST

/* A release pass empties every shard's idle transfer cache into the spans, whichever
 * shards the batches' objects came from; the spans then go to the page heap. */
START_TEST(test_release_empties_every_shards_transfer_cache)
{
    unsigned size_class = size_class_of(64);
    unsigned batch = info_of(size_class)->batch;
    open_shards();
    void *heads[TEST_SHARDS];
    for (unsigned shard = 0; shard < TEST_SHARDS; shard++)
        ck_assert_uint_eq(central_remove_batch(shard, size_class, batch, &heads[shard], NULL), batch);
    /* Shard 1's batch, its first object swapped with shard 2's, lands in shard 2. */
    void *one = heads[1], *two = heads[2];
    void *one_next = *(void **)one, *two_next = *(void **)two;
    *(void **)two = one_next;
    *(void **)one = two_next;
    heads[1] = two;
    heads[2] = one;
    for (unsigned shard = 0; shard < TEST_SHARDS; shard++)      /* chains and arrays */
        central_insert_batch(size_class, heads[shard], batch, 0, shard % 2 == 1);
    ck_assert_uint_eq(central_stats(size_class).in_transfer_cache, TEST_SHARDS * batch);
    bool waiting = false;
    central_release_idle(size_class, UINT64_MAX, &waiting);
    ck_assert(!waiting);
    struct central_class_stats stats = central_stats(size_class);
    ck_assert_uint_eq(stats.in_transfer_cache, 0);
    ck_assert_uint_eq(stats.spans, 0);
    ck_assert_uint_eq(stats.free_in_spans, 0);
}
END_TEST

Suite *tier_suite(void)
{
    Suite *suite = suite_create("central lists");
    TCase *batches = tcase_create("batches");
    tcase_add_checked_fixture(batches, setup, NULL);
    int end = SIZE_CLASS_DEFAULT_COUNT + 1;
    tcase_add_loop_test(batches, test_a_full_batch_is_distinct_aligned_objects_of_the_class, 1, end);
    tcase_add_loop_test(batches, test_partial_counts_give_exactly_that_many, 1, end);
    tcase_add_loop_test(batches, test_a_full_batch_given_back_comes_back_as_the_same_chain, 1, end);
    tcase_add_loop_test(batches, test_a_full_batch_given_back_as_an_array_comes_back_as_the_same_chain, 1, end);
    tcase_add_loop_test(batches, test_a_partial_removal_leaves_the_transfer_cache_alone, 1, end);
    suite_add_tcase(suite, batches);
    TCase *spans = tcase_create("spans");
    tcase_add_checked_fixture(spans, setup, NULL);
    tcase_add_loop_test(spans, test_a_span_whose_objects_all_come_back_returns_to_the_page_heap, 1, end);
    tcase_add_loop_test(spans, test_stats_agree_with_objects_taken_and_given_back, 1, end);
    tcase_add_test(spans, test_a_first_batch_from_a_released_span_unmarks_it);
    tcase_add_test(spans, test_release_reports_what_it_keeps_for_being_recent);
    suite_add_tcase(suite, spans);
    TCase *owned = tcase_create("owned_spans");
    tcase_add_checked_fixture(owned, setup, NULL);
    tcase_add_loop_test(owned, test_two_owners_refilling_in_turn_never_share_a_span, 1, end);
    tcase_add_test(owned, test_objects_freed_into_an_owned_span_go_back_to_its_owner);
    tcase_add_test(owned, test_a_given_up_span_goes_to_the_page_heap_or_back_to_everyone);
    tcase_add_test(owned, test_an_owner_gives_up_a_span_it_has_used_up);
    tcase_add_test(owned, test_large_classes_leave_the_slot_alone);
    suite_add_tcase(suite, owned);
    TCase *shards = tcase_create("shards");
    tcase_add_checked_fixture(shards, setup, NULL);
    tcase_add_loop_test(shards, test_a_mixed_chain_goes_back_to_the_shards_that_cut_its_spans, 1, end);
    tcase_add_test(shards, test_a_full_batch_goes_to_its_first_objects_shard);
    tcase_add_test(shards, test_a_full_batch_of_a_shard_without_threads_goes_to_the_freeing_threads_shard);
    tcase_add_test(shards, test_release_empties_every_shards_transfer_cache);
    tcase_add_test(shards, test_an_empty_shard_takes_over_the_tail_of_another_shards_list);
    tcase_add_test(shards, test_a_shards_last_partial_span_is_not_taken_over);
    tcase_add_test(shards, test_the_last_partial_span_of_a_shard_without_threads_is_taken_over);
    suite_add_tcase(suite, shards);
    TCase *misuse = tcase_create("misuse");
    tcase_add_checked_fixture(misuse, setup, NULL);
    tcase_add_test(misuse, test_double_free_through_central_free_object_aborts);
    tcase_add_test(misuse, test_a_single_free_through_central_free_object_is_quiet);
    suite_add_tcase(suite, misuse);
    return suite;
}
