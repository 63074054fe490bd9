/*
 * page_release.c — see page_release.h.
 */
#include "central/page_release.h"

#include "allocator/config.h"
#include "central/os_memory.h"
#include "pagemap/pagemap.h"

size_t pages_release(uintptr_t first, size_t count)
{
    bool now_zero = pagoda_config.release_advice == RELEASE_DONTNEED;
    size_t released = 0, run;
    uintptr_t page = first, end = first + count;
    while (pagemap_next_dirty_run(&page, end, &run)) {
        if (os_release(page_address(page), run << PAGE_SHIFT, now_zero) == 0) {
            if (now_zero)
                pagemap_mark_clean(page, run);
            released += run;
        }
        page += run;
    }
    return released;
}
