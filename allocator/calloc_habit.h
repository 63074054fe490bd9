/*
 * calloc_habit.h — how a thread's program uses the large blocks it callocs, so that
 * calloc clears a block reused from the thread's large cache (resident where the
 * program used it, and holding its old data) the cheaper of two ways:
 *   - memset: 13-16 us per MiB on the machines measured, and the pages stay resident,
 *     which is right for a program that goes on to write them;
 *   - dropping the pages with one MADV_DONTNEED: a few us for a 1 MiB block, which is
 *     right for a program that touches a few pages of what it callocs. Each page it
 *     does touch costs a fault, though, which costs as much as clearing 11-14 pages
 *     (an Intel Xeon VM: 0.6-0.9 us) or some 60 (an AMD EPYC VM: about 3 us).
 * So the break-even differs from machine to machine by a factor of five, and the
 * habit measures it once per process (calloc_habit.c): the median of 16 page faults
 * against a memset of 64 resident pages. A block counts as barely touched when its
 * resident pages, each a fault after a drop, would have cost no more than clearing
 * the whole block.
 * The first block a thread reuses shows how the program used it: its pages are
 * resident where the program wrote (or read) them, and mincore reads that. Barely
 * touched, and the thread starts by dropping. After a memset, though, a block is
 * resident whatever the program does with it, so the memset mode alone would never
 * learn that the program has come to leave its blocks untouched. Every
 * trial_interval-th call therefore drops only the last sixteenth of the block, and
 * when that block comes back to calloc, mincore tells whether the program touched that
 * tail. Untouched, and the thread drops whole blocks from then on, reading the
 * residency of every DROP_PROBE_PERIOD-th block before it drops it, and goes back to
 * memset when that block is no longer barely touched. Each return
 * to memset doubles the interval to the next trial, so a program that fills its
 * blocks pays for few trials; a switch to dropping resets it.
 *
 * Limits: reading a page counts as touching it (it maps the kernel's zero page, and
 * the fault costs two thirds of a write fault). With transparent huge pages in
 * `always` mode, one touched byte may make 2 MiB resident: the thread then sees its
 * blocks as filled and clears them, as pagoda did before it had a habit.
 *
 * The state belongs to one thread's large cache and only that thread touches it.
 */
#ifndef PAGODA_CALLOC_HABIT_H
#define PAGODA_CALLOC_HABIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct calloc_habit {
    bool started;               /* the first reused block has been looked at */
    bool dropping;              /* blocks are dropped, not cleared by memset */
    uint32_t calls;             /* since the last trial (clearing) or probe (dropping) */
    uint32_t trial_interval;    /* calls between trials; 0: the first interval */
    uintptr_t trial_page;       /* first page of the pending trial's block, or 0 */
    size_t trial_block_pages;   /* that block's length */
};

/* Writes zeros over the `pages` pages at start, a block reused from the calling
 * thread's large cache, the way the thread's habit says. */
void calloc_habit_clear(struct calloc_habit *habit, void *start, size_t pages);

#endif /* PAGODA_CALLOC_HABIT_H */
