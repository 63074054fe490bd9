/*
 * config.c — PAGODA_* variables: parsing, validation, defaults (see config.h and
 * docs/tuning.md).
 */
#include "allocator/config.h"

#include "allocator/log.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct pagoda_config pagoda_config;

#define DEFAULT_THREAD_CACHE_BYTES ((size_t)4 << 20)
#define DEFAULT_TOTAL_THREAD_CACHE_BYTES ((size_t)32 << 20)

bool config_parse_size(const char *text, size_t *out)
{
    if (!*text)
        return false;
    size_t value = 0;
    const char *p = text;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (value > (SIZE_MAX - 9) / 10)
            return false;
        value = value * 10 + (size_t)(*p - '0');
    }
    if (p == text)
        return false;
    unsigned shift = 0;
    switch (*p) {
    case 'k': case 'K': shift = 10; p++; break;
    case 'm': case 'M': shift = 20; p++; break;
    case 'g': case 'G': shift = 30; p++; break;
    default: break;
    }
    if (*p == 'i' && shift)
        p++;                       /* accept KiB-style "Ki", "Mi", "Gi" */
    if (*p == 'B' || *p == 'b')
        p++;
    if (*p)
        return false;
    if (shift && value > (SIZE_MAX >> shift))
        return false;
    *out = value << shift;
    return true;
}

size_t config_bytes(const char *name, size_t fallback, size_t min, size_t max)
{
    const char *text = getenv(name);
    if (!text)
        return fallback;
    size_t value;
    if (!config_parse_size(text, &value)) {
        pagoda_log("%s=\"%s\" is not a size (digits with an optional K, M or G suffix); using %zu",
                   name, text, fallback);
        return fallback;
    }
    if (value < min || value > max) {
        pagoda_log("%s=%s is outside [%zu, %zu]; using %zu", name, text, min, max, fallback);
        return fallback;
    }
    return value;
}

bool config_bool(const char *name, bool fallback)
{
    const char *text = getenv(name);
    if (!text)
        return fallback;
    static const char *const truthy[] = { "1", "true", "yes", "on" };
    static const char *const falsy[] = { "0", "false", "no", "off" };
    for (size_t i = 0; i < sizeof truthy / sizeof truthy[0]; i++) {
        if (strcasecmp(text, truthy[i]) == 0)
            return true;
        if (strcasecmp(text, falsy[i]) == 0)
            return false;
    }
    pagoda_log("%s=\"%s\" is not a boolean (1/0, true/false, yes/no, on/off); using %d",
               name, text, (int)fallback);
    return fallback;
}

void config_load(void)
{
    pagoda_config.thread_cache_bytes =
        config_bytes("PAGODA_THREAD_CACHE_BYTES", DEFAULT_THREAD_CACHE_BYTES, 64 << 10, (size_t)1 << 30);
    pagoda_config.total_thread_cache_bytes =
        config_bytes("PAGODA_TOTAL_THREAD_CACHE_BYTES", DEFAULT_TOTAL_THREAD_CACHE_BYTES, 64 << 10,
                     (size_t)16 << 30);
}
