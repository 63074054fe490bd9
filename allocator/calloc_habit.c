/*
 * calloc_habit.c — clearing reused large blocks for calloc by memset or by dropping
 * their pages, whichever the program's use of earlier blocks favours (calloc_habit.h).
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

/* The program filled what was dropped: back to memset, and trials twice as rare. */
static void prefer_memset(struct calloc_habit *habit)
{
    uint32_t interval = habit->trial_interval ? habit->trial_interval * 2 : TRIAL_FIRST_INTERVAL * 2;
    habit->trial_interval = interval < TRIAL_MAX_INTERVAL ? interval : TRIAL_MAX_INTERVAL;
    habit->dropping = false;
    habit->calls = 0;
}

static void clear_while_dropping(struct calloc_habit *habit, char *start, size_t pages)
{
    if (++habit->calls >= DROP_PROBE_PERIOD) {
        habit->calls = 0;
        if (!barely_touched(os_resident_pages(start, pages), pages)) {
            prefer_memset(habit);
            os_zero_pages(start, pages << PAGE_SHIFT);
            return;
        }
    }
    os_drop_pages(start, pages << PAGE_SHIFT);
}

/* Whether this is the thread's first reused block and the program touched little of
 * it: the pages of a block are resident where the program wrote them (or where an
 * earlier calloc cleared them with memset), so the first one shows how the program
 * uses its blocks, for the price of one mincore per thread. */
static bool first_block_barely_touched(struct calloc_habit *habit, char *start, size_t pages)
{
    if (habit->started)
        return false;
    habit->started = true;
    return barely_touched(os_resident_pages(start, pages), pages);
}

/* Whether start is the block of the pending trial, back with its tail untouched; the
 * trial is over either way. */
static bool trial_succeeded(struct calloc_habit *habit, char *start, size_t pages)
{
    if (habit->trial_page != page_of(start) || habit->trial_block_pages != pages)
        return false;
    habit->trial_page = 0;
    size_t tail_pages = pages / TRIAL_TAIL_FRACTION;
    char *tail = start + ((pages - tail_pages) << PAGE_SHIFT);
    if (barely_touched(os_resident_pages(tail, tail_pages), tail_pages))
        return true;
    prefer_memset(habit);
    return false;
}

void calloc_habit_clear(struct calloc_habit *habit, void *start, size_t pages)
{
    char *block = start;
    if (pages < HABIT_MIN_PAGES) {
        os_zero_pages(block, pages << PAGE_SHIFT);
        return;
    }
    if (habit->dropping) {
        clear_while_dropping(habit, block, pages);
        return;
    }
    if (first_block_barely_touched(habit, block, pages) || trial_succeeded(habit, block, pages)) {
        habit->dropping = true;
        habit->calls = 0;
        os_drop_pages(block, pages << PAGE_SHIFT);
        return;
    }
    uint32_t interval = habit->trial_interval ? habit->trial_interval : TRIAL_FIRST_INTERVAL;
    if (++habit->calls < interval) {
        os_zero_pages(block, pages << PAGE_SHIFT);
        return;
    }
    /* A trial: the block's last sixteenth is dropped rather than cleared. */
    habit->calls = 0;
    size_t kept_bytes = (pages - pages / TRIAL_TAIL_FRACTION) << PAGE_SHIFT;
    os_zero_pages(block, kept_bytes);
    os_drop_pages(block + kept_bytes, (pages << PAGE_SHIFT) - kept_bytes);
    habit->trial_page = page_of(block);
    habit->trial_block_pages = pages;
}
