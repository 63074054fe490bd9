/*
 * os_release.h — giving pages back to the kernel (the ranges stay mapped), a batch of
 * ranges at a time: with one process_madvise where it can, else one madvise a range.
 *
 * Why batches: the kernel must take a released page out of the TLB of every CPU that
 * runs the process, and it does that with an interrupt to each of them per call. In a
 * multithreaded process that interrupt costs more than the rest of the call (a
 * 16 KiB MADV_DONTNEED took 2.7 us alone and 15 us with another thread running on the
 * other CPU of this 2-CPU virtual machine). A release pass over a fragmented heap
 * gives back tens of thousands of short runs. process_madvise takes up to
 * OS_RELEASE_BATCH_RANGES of them in one call, and this kernel (6.18) flushes the
 * TLBs once for the call: 2.5 us a run in the same test, the other thread running.
 */
#ifndef PAGODA_OS_RELEASE_H
#define PAGODA_OS_RELEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#define OS_RELEASE_BATCH_RANGES 64

/* Page-aligned ranges to give back together; count 0 is empty. */
struct os_release_batch {
    unsigned count;
    struct iovec ranges[OS_RELEASE_BATCH_RANGES];
};

/* Gives back every range of the batch. With now_zero, MADV_DONTNEED: the pages read as
 * zero afterwards. Without, MADV_FREE: the kernel takes them only under memory
 * pressure, and until then they keep their data. released[i] tells whether range i
 * went. One process_madvise on the calling process (Linux 6.15 or later: PIDFD_SELF)
 * when the batch holds more than one range and the process runs under no seccomp
 * filter; one madvise a range otherwise, and for any range the kernel left. A filter
 * may kill a process for a system call it does not list, so whether one is in place
 * is looked up (in /proc/self/status, 11 us) at the first batch after each call of
 * os_release_recheck_filters; once one is seen, every batch goes by madvise. */
void os_release_batch_run(const struct os_release_batch *batch, bool now_zero, bool released[]);

/* Makes the next batch look for a seccomp filter again: at the start of each release
 * pass, so that a filter the program installed since the last pass is seen before
 * the next process_madvise, and in a fork child, which may install its own. */
void os_release_recheck_filters(void);

#endif /* PAGODA_OS_RELEASE_H */
