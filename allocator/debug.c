/*
 * debug.c — the debug mode's checks for small objects, and the reading of
 * PAGODA_DEBUG (see debug.h).
 */
#include "allocator/debug.h"

#include "central/page_heap.h"

#include "allocator/log.h"
#include "allocator/size_classes.h"
#include "central/central_list.h"
#include "pagemap/pagemap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct debug_options pagoda_debug;

/* Matches the comma-separated item [item, end) against a name. */
static bool item_is(const char *item, const char *end, const char *name)
{
    size_t length = strlen(name);
    return (size_t)(end - item) == length && strncasecmp(item, name, length) == 0;
}

void debug_load_options(void)
{
    const char *text = getenv("PAGODA_DEBUG");
    if (!text || !*text)
        return;
    struct debug_options options = { .enabled = true };
    for (const char *item = text; *item;) {
        const char *end = strchr(item, ',');
        if (!end)
            end = item + strlen(item);
        if (item_is(item, end, "poison")) {
            options.poison = true;
        } else if (item_is(item, end, "guard")) {
            options.guard = true;
        } else if (item_is(item, end, "all")) {
            options.poison = options.guard = true;
        } else if (!item_is(item, end, "double-free")) {
            pagoda_log("PAGODA_DEBUG=\"%s\": unknown item (expected poison, double-free, guard "
                       "or all, comma-separated); the debug mode stays off", text);
            return;
        }
        item = *end ? end + 1 : end;
    }
    pagoda_debug = options;
}

/* The first word of an object handed out by the central tier held its link in the
 * batch chain, so the pattern is checked from the second word on. */
static void verify_freed_pattern(const unsigned char *object, unsigned size_class)
{
    size_t size = size_class_table[size_class].size;
    for (size_t i = sizeof(void *); i < size; i++)
        if (object[i] != DEBUG_FREED_BYTE)
            pagoda_fatal("write after free of %p (size %zu, class %u): byte %zu is 0x%x, "
                         "not 0x%x", (const void *)object, size, size_class, i,
                         (unsigned)object[i], (unsigned)DEBUG_FREED_BYTE);
}

static bool page_holds_only(const unsigned char *page, unsigned char byte)
{
    for (size_t i = 0; i < PAGE_SIZE; i++)
        if (page[i] != byte)
            return false;
    return true;
}

void debug_verify_free_pages(const struct span *span)
{
    uintptr_t page = span->first_page;
    size_t run;
    while (page_heap_next_dirty_run(span, &page, &run)) {
        for (uintptr_t p = page; p < page + run; p++) {
            const unsigned char *bytes = page_address(p);
            if (!page_holds_only(bytes, DEBUG_FREED_BYTE) && !page_holds_only(bytes, 0))
                pagoda_fatal("write after free in the freed page at %p (reused now)",
                             (const void *)bytes);
        }
        page += run;
    }
}

void *debug_alloc_small(unsigned size_class)
{
    void *object;
    if (!central_remove_batch(0, size_class, 1, &object, NULL)) {
        errno = ENOMEM;
        return NULL;
    }
    if (pagoda_debug.poison) {
        verify_freed_pattern(object, size_class);
        memset(object, DEBUG_NEW_BYTE, size_class_table[size_class].size);
    }
    return object;
}

void debug_free_small(void *object, unsigned size_class)
{
    central_free_object(size_class, object, pagoda_debug.poison ? DEBUG_FREED_BYTE : -1);
}
