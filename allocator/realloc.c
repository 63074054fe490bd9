/*
 * realloc.c — realloc and reallocarray, with glibc's semantics: realloc(NULL, n) is
 * malloc(n); realloc(p, 0) frees p and returns NULL; on failure p is untouched.
 * Objects stay in place when they can: a small object whose new size still maps to its
 * class, or fits it and uses at least half of it, a large object that shrinks, or that
 * grows into free pages right after it (large.c). A small object that grows to
 * REALLOC_LARGE_FROM bytes or more moves to a large block even while a class would
 * still fit: an object grown by realloc tends to grow again, and a large block can
 * grow in place where a small object always moves and is copied. For the same reason
 * an object that grows by less than a quarter moves to room for a quarter more (as
 * gperftools' tcmalloc does), so that growing a little at a time copies it only
 * every few calls.
 */
#include "allocator/large.h"
#include "allocator/malloc_path.h"
#include "pagemap/pagemap.h"

#include <errno.h>
#include <string.h>

#include "pagoda.h"

#define REALLOC_LARGE_FROM (4 * 1024)

static void *move_object(void *p, size_t old_size, size_t size)
{
    size_t room = size;
    if (size > old_size && size - old_size < old_size / 4)
        room = old_size + old_size / 4;
    void *fresh = room > old_size && room >= REALLOC_LARGE_FROM ? large_alloc_for_growth(room)
                                                                : malloc_inline(room);
    if (!fresh)
        return NULL;
    memcpy(fresh, p, old_size < size ? old_size : size);
    pagoda_free(p);
    return fresh;
}

HOT_PATH EXPORT void *pagoda_realloc(void *p, size_t size)
{
    if (!p)
        return malloc_inline(size);
    if (size == 0) {
        pagoda_free(p);
        return NULL;
    }
    unsigned size_class = pagemap_size_class(p);
    if (size_class_is_small(size_class)) {
        size_t usable = size_class_table[size_class].size;
        if (size <= usable && (size >= usable / 2 || size_class_of(size) == size_class))
            return p;
        return move_object(p, usable, size);
    }
    struct span *span = large_span_of(p);
    if (!span)
        report_invalid_pointer("realloc", p);
    size_t usable = large_usable_size(span);
    /* It fits, and fills at least half: nothing to do, but in the guard mode, where a
     * smaller object moves to have its guard page right after it. */
    if (size <= usable && size >= usable / 2 && !pagoda_debug.guard)
        return p;
    /* A large object stays one unless it shrinks to a small size. */
    bool stays_large = size >= size_class_small_limit || size >= usable / 2;
    if (stays_large && size <= MAX_REQUEST_SIZE && large_resize_in_place(span, size))
        return p;
    return move_object(p, usable, size);
}

EXPORT void *pagoda_reallocarray(void *p, size_t count, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return pagoda_realloc(p, total);
}

void *realloc(void *, size_t) ALIAS_OF(pagoda_realloc);
void *__libc_realloc(void *, size_t) ALIAS_OF(pagoda_realloc);
void *reallocarray(void *, size_t, size_t) ALIAS_OF(pagoda_reallocarray);
