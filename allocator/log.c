/*
 * log.c — a tiny formatter for the allocator's messages (see log.h). It exists
 * because printf may allocate, and an allocator must not call itself.
 */
#include "allocator/log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct out {
    char *buf;
    int size;
    int len;
};

static void put_char(struct out *o, char c)
{
    if (o->len < o->size - 1)
        o->buf[o->len++] = c;
}

static void put_str(struct out *o, const char *s)
{
    if (!s)
        s = "(null)";
    while (*s)
        put_char(o, *s++);
}

static void put_unsigned(struct out *o, uint64_t v, unsigned base)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (n)
        put_char(o, digits[--n]);
}

static void put_signed(struct out *o, int64_t v)
{
    if (v < 0) {
        put_char(o, '-');
        put_unsigned(o, (uint64_t)0 - (uint64_t)v, 10);
    } else {
        put_unsigned(o, (uint64_t)v, 10);
    }
}

static void format_into(struct out *o, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put_char(o, *fmt);
            continue;
        }
        fmt++;
        int is_long = 0, is_size = 0;
        if (*fmt == 'l') { is_long = 1; fmt++; }
        else if (*fmt == 'z') { is_size = 1; fmt++; }
        switch (*fmt) {
        case 's': put_str(o, va_arg(ap, const char *)); break;
        case 'c': put_char(o, (char)va_arg(ap, int)); break;
        case 'd': put_signed(o, is_long ? va_arg(ap, long) : va_arg(ap, int)); break;
        case 'u':
            put_unsigned(o, is_long ? va_arg(ap, unsigned long)
                          : is_size ? va_arg(ap, size_t) : va_arg(ap, unsigned), 10);
            break;
        case 'x':
            put_unsigned(o, is_long ? va_arg(ap, unsigned long)
                          : is_size ? va_arg(ap, size_t) : va_arg(ap, unsigned), 16);
            break;
        case 'p':
            put_str(o, "0x");
            put_unsigned(o, (uintptr_t)va_arg(ap, void *), 16);
            break;
        case '%': put_char(o, '%'); break;
        case '\0': return;
        default: put_char(o, '%'); put_char(o, *fmt); break;
        }
    }
}

int pagoda_format(char *buf, int size, const char *fmt, ...)
{
    struct out o = { buf, size, 0 };
    va_list ap;
    va_start(ap, fmt);
    format_into(&o, fmt, ap);
    va_end(ap);
    buf[o.len] = '\0';
    return o.len;
}

static void log_line(const char *fmt, va_list ap)
{
    char buf[512];
    struct out o = { buf, (int)sizeof buf - 1, 0 };
    put_str(&o, "pagoda: ");
    format_into(&o, fmt, ap);
    buf[o.len++] = '\n';
    const char *p = buf;
    while (o.len > 0) {
        ssize_t n = write(STDERR_FILENO, p, (size_t)o.len);
        if (n <= 0)
            break;
        p += n;
        o.len -= (int)n;
    }
}

void pagoda_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_line(fmt, ap);
    va_end(ap);
}

void pagoda_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_line(fmt, ap);
    va_end(ap);
    abort();
}
