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

/* Shorter blocks are cleared by os_zero_pages as always: memset of 256 KiB costs
 * about what one madvise and one fault do. */
#define HABIT_MIN_PAGES 64
#define DROP_PROBE_PERIOD 8
#define TRIAL_FIRST_INTERVAL 256
#define TRIAL_MAX_INTERVAL (1u << 16)
#define TRIAL_TAIL_FRACTION 16

/* Whether so few of `pages` pages are resident that dropping them was cheaper than a
 * memset would have been (a fault costs about as much as clearing 60 pages): at most a
 * 64th of them, and one more, for a program that looks at a block's last byte. */
static bool barely_touched(size_t resident, size_t pages)
{
    return resident <= pages / 64 + 1;
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
