/*
 * os_memory.h — with os_release.h, the only place pagoda talks to the kernel about
 * memory. Every other file gets address space from here, never from mmap directly (and
 * never from libc's malloc).
 */
#ifndef PAGODA_OS_MEMORY_H
#define PAGODA_OS_MEMORY_H

#include <stdbool.h>
#include <stddef.h>

/* Maps size bytes of zeroed, read-write, private memory aligned to alignment (a power
 * of two, at least the page size). Returns NULL when the kernel refuses. */
void *os_map_aligned(size_t size, size_t alignment);

/* The static, page-aligned, zeroed region `first` of `size` bytes the first time
 * (*first_taken then set), else os_map_aligned(size, PAGE_SIZE). The caller's lock
 * guards *first_taken. Where a process's first structure of a kind lives in the
 * library's .lbss (allocator/common.h, LARGE_STATIC), start-up saves a system call. */
void *os_map_first_static(void *first, bool *first_taken, size_t size);

/* Unmaps a range obtained from os_map_aligned. */
void os_unmap(void *p, size_t size);

/* Makes [p, p+size) accessible (read-write) or not (any access faults). */
void os_protect(void *p, size_t size, bool accessible);

/* Writes zeros over [p, p+size), whose length and start are page multiples, at a cost
 * in proportion to its resident pages rather than its length: resident pages are
 * cleared with memset, the others are dropped with MADV_DONTNEED (which also covers
 * pages that are swapped out and so look non-resident). Returns true when a probe
 * found the range mostly absent and it was dropped whole. */
bool os_zero_pages(void *p, size_t size);

/* Writes zeros over [p, p+size) (page multiples) by dropping its pages with one
 * MADV_DONTNEED (by memset if the kernel refuses): one system call, whose cost grows
 * with the resident pages it finds, but each page the program touches afterwards
 * costs a page fault. */
void os_drop_pages(void *p, size_t size);

/* How many of the `pages` pages from p are resident (all of them when the kernel
 * cannot tell). A system call per 4096 pages. */
size_t os_resident_pages(void *p, size_t pages);

#endif /* PAGODA_OS_MEMORY_H */
