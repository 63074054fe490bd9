/*
 * address_space.c — 20 GiB of address space in blocks of 1 MiB to 1 GiB, on
 * libpagoda.so, touching only the first and last page of each block, then freed; twice,
 * so the second round reuses what the first gave back. No request may fail, the touched
 * bytes must survive, and the resident set may grow by at most ADDRESS_SPACE_RSS_BOUND:
 * pagoda must not touch (or zero) pages the program never did.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagoda.h"
#include "tests/support/pattern.h"
#include "tests/support/rss.h"

#define MiB ((size_t)1 << 20)
#define GiB ((size_t)1 << 30)
#define TOTAL (20 * GiB)
#define MAX_BLOCKS 4096
#define ROUNDS 2
#define PAGE ((size_t)4096)

/* The program touches 2 pages per block (under 1 MiB in all); pagoda adds its pagemap
 * entries for the blocks' pages. 96 MiB is far below the gigabytes an allocator that
 * touched or zeroed whole blocks would make resident. */
#define ADDRESS_SPACE_RSS_BOUND (96 * MiB)

struct block {
    unsigned char *p;
    size_t size;
};

static struct block blocks[MAX_BLOCKS];

/* Log-uniform between 1 MiB and 1 GiB, deterministic. */
static size_t block_size(uint64_t *rng)
{
    *rng = *rng * 6364136223846793005u + 1442695040888963407u;
    unsigned shift = (unsigned)((*rng >> 33) % 10);          /* base: 1 MiB .. 512 MiB */
    size_t base = MiB << shift;
    return base + (size_t)((*rng >> 13) % base) / PAGE * PAGE;
}

static void touch_ends(const struct block *b, uint64_t seed)
{
    pattern_fill(b->p, 64, seed);
    pattern_fill(b->p + b->size - 64, 64, ~seed);
}

static int ends_intact(const struct block *b, uint64_t seed)
{
    return pattern_mismatch(b->p, 64, seed) == 64 && pattern_mismatch(b->p + b->size - 64, 64, ~seed) == 64;
}

START_TEST(test_twenty_gib_of_address_space_in_large_blocks)
{
    size_t rss_before = resident_bytes();
    size_t peak_growth = 0;
    uint64_t rng = 12345;
    unsigned count = 0;
    for (int round = 0; round < ROUNDS; round++) {
        size_t total = 0;
        for (count = 0; total < TOTAL; count++) {
            ck_assert_uint_lt(count, MAX_BLOCKS);
            size_t size = block_size(&rng);
            if (size > TOTAL - total)
                size = TOTAL - total < MiB ? MiB : TOTAL - total;
            blocks[count].size = size;
            blocks[count].p = count % 5 == 0 ? pagoda_calloc(1, size) : pagoda_malloc(size);
            ck_assert_msg(blocks[count].p != NULL, "round %d: block %u of %zu MiB failed after %zu MiB",
                          round, count, size / MiB, total / MiB);
            if (count % 5 == 0)
                ck_assert_msg(blocks[count].p[size / 2] == 0, "calloc'ed block not zero");
            touch_ends(&blocks[count], count);
            total += size;
        }
        size_t growth = resident_bytes() - rss_before;
        if (growth > peak_growth)
            peak_growth = growth;
        for (unsigned i = 0; i < count; i++) {
            ck_assert_msg(ends_intact(&blocks[i], i), "round %d: block %u damaged", round, i);
            pagoda_free(blocks[i].p);
        }
    }
    size_t end_growth = resident_bytes() - rss_before;
    printf("address_space: %d rounds of 20 GiB in %u blocks; resident growth %zu MiB at the peak, "
           "%zu MiB after freeing\n", ROUNDS, count, peak_growth / MiB, end_growth / MiB);
    ck_assert_msg(peak_growth <= ADDRESS_SPACE_RSS_BOUND, "resident set grew by %zu MiB (bound %zu MiB)",
                  peak_growth / MiB, ADDRESS_SPACE_RSS_BOUND / MiB);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("address_space");
    TCase *large = tcase_create("large");
    tcase_add_test(large, test_twenty_gib_of_address_space_in_large_blocks);
    suite_add_tcase(suite, large);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
