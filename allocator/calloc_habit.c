/*
 * calloc_habit.c — clearing reused large blocks for calloc by memset or by dropping
 * their pages, whichever the program's use of earlier blocks favours (calloc_habit.h).
 *
 * Invariants: `calls` counts up to DROP_PROBE_PERIOD while dropping and up to the
 * trial interval otherwise, and goes back to 0 at every change of mode; a trial is
 * pending (trial_page != 0) only while not dropping.
 */
#include "allocator/calloc_habit.h"

#include "allocator/common.h"
#include "central/os_memory.h"

#include <string.h>
#include <time.h>

/* Shorter blocks are cleared by os_zero_pages as always: memset of 256 KiB costs
 * about what one madvise and one fault do. */
#define HABIT_MIN_PAGES 64
#define DROP_PROBE_PERIOD 8
#define TRIAL_FIRST_INTERVAL 256
#define TRIAL_MAX_INTERVAL (1u << 16)
#define TRIAL_TAIL_FRACTION 16

/* How many pages a memset clears in the time one page fault takes, measured once per
 * process (calloc_habit.h: 11-14 on an Intel Xeon VM, about 60 on an AMD EPYC one);
 * 0 until then. Threads that measure at once store alike. */
static uint32_t fault_cost_pages;

/* The smallest block the habit handles: memset runs about as fast per page on it as on
 * a 1 MiB block (61 ns a page on an Intel Xeon), where 16 pages (in L1 and L2 caches)
 * clear at 42 ns a page. */
#define CALIBRATION_PAGES HABIT_MIN_PAGES
#define CALIBRATION_FAULTS 16
#define CALIBRATION_FALLBACK_COST 64    /* when the scratch pages cannot be mapped */

static uint64_t clock_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* The median of n samples, sorted in place (insertion sort: libc's qsort may allocate). */
static uint64_t median(uint64_t *samples, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        uint64_t value = samples[i];
        size_t j = i;
        for (; j > 0 && samples[j - 1] > value; j--)
            samples[j] = samples[j - 1];
        samples[j] = value;
    }
    return samples[n / 2];
}

/* Times, on CALIBRATION_PAGES scratch pages, the fastest of three memsets of them all
 * (resident), and the median of one write fault on each of CALIBRATION_FAULTS of them
 * after dropping them: the two costs the choice weighs. About 60 us, once, in a
 * process that reuses blocks of at least 256 KiB for calloc. */
static uint32_t measure_fault_cost_pages(void)
{
    size_t bytes = (size_t)CALIBRATION_PAGES << PAGE_SHIFT;
    volatile char *scratch = os_map_aligned(bytes, PAGE_SIZE);
    if (!scratch)
        return CALIBRATION_FALLBACK_COST;
    memset((char *)scratch, 1, bytes);
    uint64_t memset_ns = UINT64_MAX;
    for (int round = 0; round < 3; round++) {
        uint64_t start = clock_ns();
        memset((char *)scratch, 0, bytes);
        __asm__ volatile("" ::: "memory");
        uint64_t took = clock_ns() - start;
        memset_ns = took < memset_ns ? took : memset_ns;
    }
    os_drop_pages((char *)scratch, bytes);
    uint64_t fault_ns[CALIBRATION_FAULTS];
    for (size_t page = 0; page < CALIBRATION_FAULTS; page++) {
        uint64_t start = clock_ns();
        scratch[page << PAGE_SHIFT] = 1;
        fault_ns[page] = clock_ns() - start;
    }
    os_unmap((char *)scratch, bytes);
    uint64_t page_ns = memset_ns / CALIBRATION_PAGES;
    uint64_t cost = median(fault_ns, CALIBRATION_FAULTS) / (page_ns ? page_ns : 1);
    return cost < 1 ? 1 : cost > UINT32_MAX ? UINT32_MAX : (uint32_t)cost;
}

/* Whether so few of `pages` pages are resident that dropping them was cheaper than a
 * memset would have been: each resident page is taken to be one the program touched,
 * which costs a fault after a drop. */
static bool barely_touched(size_t resident, size_t pages)
{
    uint32_t cost = __atomic_load_n(&fault_cost_pages, __ATOMIC_RELAXED);
    if (!cost) {
        cost = measure_fault_cost_pages();
        __atomic_store_n(&fault_cost_pages, cost, __ATOMIC_RELAXED);
    }
    return resident * cost <= pages;
}

static void start_dropping(struct calloc_habit *habit)
{
    habit->dropping = true;
    habit->calls = 0;
    habit->trial_page = 0;
    habit->trial_interval = 0;      /* what made trials rare is out of date */
}

/* The program touched much of what was dropped: back to memset, and the next trial
 * twice as far off as the last. */
static void start_clearing(struct calloc_habit *habit)
{
    uint32_t interval = habit->trial_interval ? habit->trial_interval * 2 : TRIAL_FIRST_INTERVAL * 2;
    habit->trial_interval = interval < TRIAL_MAX_INTERVAL ? interval : TRIAL_MAX_INTERVAL;
    habit->dropping = false;
    habit->calls = 0;
    habit->trial_page = 0;
}

static void clear_while_dropping(struct calloc_habit *habit, char *start, size_t pages)
{
    if (++habit->calls == DROP_PROBE_PERIOD) {
        habit->calls = 0;
        if (!barely_touched(os_resident_pages(start, pages), pages)) {
            start_clearing(habit);
            os_zero_pages(start, pages << PAGE_SHIFT);
            return;
        }
    }
    os_drop_pages(start, pages << PAGE_SHIFT);
}

/* Clears the block but drops its last sixteenth, and remembers the block, so that
 * its next calloc can see whether the program touched that tail. */
static void clear_as_trial(struct calloc_habit *habit, char *start, size_t pages)
{
    size_t kept_bytes = (pages - pages / TRIAL_TAIL_FRACTION) << PAGE_SHIFT;
    os_zero_pages(start, kept_bytes);
    os_drop_pages(start + kept_bytes, (pages << PAGE_SHIFT) - kept_bytes);
    habit->trial_page = page_of(start);
    habit->trial_block_pages = pages;
}

/* Whether the pending trial's block is back with its dropped tail barely touched. */
static bool trial_tail_barely_touched(char *start, size_t pages)
{
    size_t tail_pages = pages / TRIAL_TAIL_FRACTION;
    char *tail = start + ((pages - tail_pages) << PAGE_SHIFT);
    return barely_touched(os_resident_pages(tail, tail_pages), tail_pages);
}

void calloc_habit_clear(struct calloc_habit *habit, void *start, size_t pages)
{
    char *block = start;
    if (pages < HABIT_MIN_PAGES) {
        os_zero_pages(block, pages << PAGE_SHIFT);
        return;
    }
    if (!habit->started) {
        /* The thread's first reused block: resident where the program wrote it (or
         * where an earlier calloc cleared it from the page heap), which mincore reads. */
        habit->started = true;
        if (barely_touched(os_resident_pages(block, pages), pages))
            start_dropping(habit);
    } else if (!habit->dropping && habit->trial_page == page_of(block) &&
               habit->trial_block_pages == pages) {
        if (trial_tail_barely_touched(block, pages))
            start_dropping(habit);
        else
            start_clearing(habit);
    }
    if (habit->dropping) {
        clear_while_dropping(habit, block, pages);
        return;
    }
    uint32_t interval = habit->trial_interval ? habit->trial_interval : TRIAL_FIRST_INTERVAL;
    if (++habit->calls == interval) {
        habit->calls = 0;
        clear_as_trial(habit, block, pages);
        return;
    }
    os_zero_pages(block, pages << PAGE_SHIFT);
}
