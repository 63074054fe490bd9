/*
 * page_release.h — giving pages back to the OS, the one way both the page heap (free
 * spans) and the central lists (free pages of partly used spans) do it.
 */
#ifndef PAGODA_PAGE_RELEASE_H
#define PAGODA_PAGE_RELEASE_H

#include <stddef.h>
#include <stdint.h>

/* Releases the dirty pages of [first, first + count), which must hold nothing anyone
 * needs, with the advice of PAGODA_MADVISE. With MADV_DONTNEED the pages read as zero
 * afterwards and become clean; with MADV_FREE the kernel may keep their data until it
 * needs the memory, so they stay dirty. Returns the number of pages advised. */
size_t pages_release(uintptr_t first, size_t count);

#endif /* PAGODA_PAGE_RELEASE_H */
