/*
 * config.c — PAGODA_* variables: parsing, validation, defaults (see config.h and
 * docs/tuning.md).
 */
#include "allocator/config.h"

#include "allocator/log.h"
#include "central/central_list.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct pagoda_config pagoda_config;

#define DEFAULT_THREAD_CACHE_BYTES ((size_t)3 << 20)
#define DEFAULT_TOTAL_THREAD_CACHE_BYTES ((size_t)8 << 20)
/* Memory unused this long goes back to the OS. Long enough that a program cycling
 * through its working set does not pay for madvise and page faults each time, short
 * enough that a program past its peak shrinks within seconds. */
#define DEFAULT_RELEASE_DELAY_MS 1000

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

/* Reads text as a boolean into *value; false when it is none. */
static bool parse_bool(const char *text, bool *value)
{
    static const char *const truthy[] = { "1", "true", "yes", "on" };
    static const char *const falsy[] = { "0", "false", "no", "off" };
    for (size_t i = 0; i < sizeof truthy / sizeof truthy[0]; i++) {
        if (strcasecmp(text, truthy[i]) == 0 || strcasecmp(text, falsy[i]) == 0) {
            *value = strcasecmp(text, truthy[i]) == 0;
            return true;
        }
    }
    return false;
}

bool config_bool(const char *name, bool fallback)
{
    const char *text = getenv(name);
    bool value;
    if (!text)
        return fallback;
    if (parse_bool(text, &value))
        return value;
    pagoda_log("%s=\"%s\" is not a boolean (1/0, true/false, yes/no, on/off); using %d",
               name, text, (int)fallback);
    return fallback;
}

/* Reads text as decimal digits only, into *value; false when it is not that, or when
 * it is above max (checked digit by digit, so it cannot overflow while max is below
 * UINT64_MAX / 10). */
static bool parse_whole_number(const char *text, uint64_t max, uint64_t *value)
{
    uint64_t number = 0;
    const char *p = text;
    for (; *p >= '0' && *p <= '9' && number <= max; p++)
        number = number * 10 + (uint64_t)(*p - '0');
    if (p == text || *p || number > max)
        return false;
    *value = number;
    return true;
}

uint64_t config_milliseconds(const char *name, uint64_t fallback, uint64_t min, uint64_t max)
{
    const char *text = getenv(name);
    if (!text)
        return fallback;
    if (strcasecmp(text, "never") == 0)
        return UINT64_MAX;
    uint64_t value;
    if (!parse_whole_number(text, max, &value) || value < min) {
        pagoda_log("%s=\"%s\" is not a number of milliseconds in [%lu, %lu] or \"never\"; "
                   "using %lu", name, text, (unsigned long)min, (unsigned long)max,
                   (unsigned long)fallback);
        return fallback;
    }
    return value;
}

unsigned config_count(const char *name, unsigned fallback, unsigned min, unsigned max)
{
    const char *text = getenv(name);
    if (!text)
        return fallback;
    uint64_t value;
    if (!parse_whole_number(text, max, &value) || value < min) {
        pagoda_log("%s=\"%s\" is not a whole number in [%u, %u]; using the default", name, text, min, max);
        return fallback;
    }
    return (unsigned)value;
}

static enum background_thread config_background_thread(const char *name)
{
    const char *text = getenv(name);
    bool value;
    if (!text || strcasecmp(text, "auto") == 0)
        return BACKGROUND_AUTO;
    if (parse_bool(text, &value))
        return value ? BACKGROUND_AT_START : BACKGROUND_NEVER;
    pagoda_log("%s=\"%s\" is not a boolean (1/0, true/false, yes/no, on/off) or \"auto\"; "
               "using auto", name, text);
    return BACKGROUND_AUTO;
}

static enum release_advice config_release_advice(const char *name)
{
    const char *text = getenv(name);
    if (!text || strcasecmp(text, "dontneed") == 0)
        return RELEASE_DONTNEED;
    if (strcasecmp(text, "free") == 0)
        return RELEASE_FREE;
    pagoda_log("%s=\"%s\" is neither \"dontneed\" nor \"free\"; using dontneed", name, text);
    return RELEASE_DONTNEED;
}

void config_load(void)
{
    pagoda_config.thread_cache_bytes =
        config_bytes("PAGODA_THREAD_CACHE_BYTES", DEFAULT_THREAD_CACHE_BYTES, 64 << 10, (size_t)1 << 30);
    pagoda_config.total_thread_cache_bytes =
        config_bytes("PAGODA_TOTAL_THREAD_CACHE_BYTES", DEFAULT_TOTAL_THREAD_CACHE_BYTES, 64 << 10,
                     (size_t)16 << 30);
    pagoda_config.release_delay_ms =
        config_milliseconds("PAGODA_RELEASE_DELAY_MS", DEFAULT_RELEASE_DELAY_MS, 0, 24 * 3600 * 1000);
    pagoda_config.background_thread = config_background_thread("PAGODA_BACKGROUND_THREAD");
    pagoda_config.memory_limit = config_bytes("PAGODA_MEMORY_LIMIT", 0, 0, SIZE_MAX);
    pagoda_config.release_advice = config_release_advice("PAGODA_MADVISE");
    pagoda_config.central_shards = config_count("PAGODA_CENTRAL_SHARDS", 0, 1, CENTRAL_MAX_SHARDS);
}
