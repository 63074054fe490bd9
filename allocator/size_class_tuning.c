/*
 * size_class_tuning.c — the table pagoda starts with (size_class_tuning.h): the
 * compiled-in default, or one built from
 *   PAGODA_SIZE_CLASSES      an explicit list of class sizes ("16,32,48,…");
 *   PAGODA_SIZE_CLASS_WASTE  the waste bound in percent ("12.5");
 *   PAGODA_MAX_SMALL_SIZE    the largest small object (bytes, K/M/G suffixes);
 * and printed to stderr when PAGODA_SHOW_SIZE_CLASSES is set. How the variables
 * combine is in docs/size-classes.md.
 *
 * All or nothing: every variable is parsed and checked first, each problem gets one
 * line on stderr naming its variable, and any problem means the default table, whole.
 * This runs during initialisation, so nothing here allocates or uses stdio: the list
 * is parsed into a stack array, the percentage by hand (no strtod), and messages go
 * through pagoda_log.
 */
#include "allocator/size_class_tuning.h"

#include "allocator/common.h"
#include "allocator/config.h"
#include "allocator/log.h"
#include "allocator/size_class_table.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SIZES_VAR      "PAGODA_SIZE_CLASSES"
#define WASTE_VAR      "PAGODA_SIZE_CLASS_WASTE"
#define MAX_SMALL_VAR  "PAGODA_MAX_SMALL_SIZE"
#define SHOW_VAR       "PAGODA_SHOW_SIZE_CLASSES"
#define FALLBACK       "; using the default size classes"

#define MAX_WASTE_PERCENT 50
#define MIN_MAX_SMALL     1024
#define MAX_TOKEN         24      /* longest list entry we try to parse */

/* The three variables once parsed; a variable that is unset is not "given". */
struct tuning {
    struct size_class_params params;
    bool waste_given;
    bool max_small_given;
    const char *waste_text;
    int size_count;                            /* 0: PAGODA_SIZE_CLASSES unset */
    uint32_t sizes[SIZE_CLASS_MAX_COUNT];
};

/* ---- parsing ------------------------------------------------------------------------ */

/* Digits with an optional fraction and an optional '%' ("12.5", "25%"); false if
 * malformed. Fraction digits past the ninth are ignored. */
static bool parse_percent(const char *text, double *percent)
{
    uint64_t whole = 0, fraction = 0, scale = 1;
    int digits = 0;
    const char *p = text;
    for (; *p >= '0' && *p <= '9'; p++, digits++)
        if (whole < 1000000)
            whole = whole * 10 + (uint64_t)(*p - '0');
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
            if (scale < 1000000000) {      /* nine fraction digits at most */
                fraction = fraction * 10 + (uint64_t)(*p - '0');
                scale *= 10;
            }
        }
    }
    if (*p == '%')
        p++;
    if (digits == 0 || *p)
        return false;
    *percent = (double)whole + (double)fraction / (double)scale;
    return true;
}

static bool read_waste(struct tuning *t)
{
    const char *text = getenv(WASTE_VAR);
    if (!text)
        return true;
    double percent;
    if (!parse_percent(text, &percent)) {
        pagoda_log(WASTE_VAR "=\"%s\" is not a percentage (digits with an optional "
                   "fraction, e.g. 12.5)" FALLBACK, text);
        return false;
    }
    if (!(percent > 0.0 && percent <= MAX_WASTE_PERCENT)) {
        pagoda_log(WASTE_VAR "=%s is outside (0, %d]" FALLBACK, text, MAX_WASTE_PERCENT);
        return false;
    }
    t->params.max_waste = percent / 100.0;
    t->waste_given = true;
    t->waste_text = text;
    return true;
}

static bool read_max_small(struct tuning *t)
{
    const char *text = getenv(MAX_SMALL_VAR);
    if (!text)
        return true;
    size_t value;
    if (!config_parse_size(text, &value)) {
        pagoda_log(MAX_SMALL_VAR "=\"%s\" is not a size (digits with an optional K, M or "
                   "G suffix)" FALLBACK, text);
        return false;
    }
    if (value < MIN_MAX_SMALL || value > SIZE_CLASS_MAX_SMALL_LIMIT) {
        pagoda_log(MAX_SMALL_VAR "=%s is outside [%d, %d]" FALLBACK, text,
                   MIN_MAX_SMALL, SIZE_CLASS_MAX_SMALL_LIMIT);
        return false;
    }
    if (value % 16 != 0) {
        pagoda_log(MAX_SMALL_VAR "=%s is not a multiple of 16" FALLBACK, text);
        return false;
    }
    t->params.max_small_size = value;
    t->max_small_given = true;
    return true;
}

/* Copies the entry [start, end) without surrounding spaces into token; false when it
 * does not fit. */
static bool copy_token(const char *start, const char *end, char token[MAX_TOKEN])
{
    while (start < end && *start == ' ')
        start++;
    while (end > start && end[-1] == ' ')
        end--;
    size_t length = (size_t)(end - start);
    size_t shown = length < MAX_TOKEN - 1 ? length : MAX_TOKEN - 1;
    memcpy(token, start, shown);
    token[shown] = '\0';
    return length == shown;
}

/* One entry of the list: a byte count up to the largest small-size limit. */
static bool parse_entry(const char *start, const char *end, int number, uint32_t *size)
{
    char token[MAX_TOKEN];
    bool fits = copy_token(start, end, token);
    size_t value;
    if (!token[0]) {
        pagoda_log(SIZES_VAR ": entry %d is empty" FALLBACK, number);
        return false;
    }
    if (!fits || !config_parse_size(token, &value)) {
        pagoda_log(SIZES_VAR ": entry %d (\"%s%s\") is not a size" FALLBACK, number, token,
                   fits ? "" : "...");
        return false;
    }
    if (value > SIZE_CLASS_MAX_SMALL_LIMIT) {
        pagoda_log(SIZES_VAR ": entry %d (%s) is above %d" FALLBACK, number, token,
                   SIZE_CLASS_MAX_SMALL_LIMIT);
        return false;
    }
    *size = (uint32_t)value;
    return true;
}

static bool read_sizes(struct tuning *t)
{
    const char *text = getenv(SIZES_VAR);
    if (!text)
        return true;
    if (!*text) {
        pagoda_log(SIZES_VAR " is empty" FALLBACK);
        return false;
    }
    int count = 0;
    for (const char *start = text;; count++) {
        const char *end = start;
        while (*end && *end != ',')
            end++;
        if (count == SIZE_CLASS_MAX_COUNT) {
            pagoda_log(SIZES_VAR " has more than %d sizes" FALLBACK, SIZE_CLASS_MAX_COUNT);
            return false;
        }
        if (!parse_entry(start, end, count + 1, &t->sizes[count]))
            return false;
        if (!*end)
            break;
        start = end + 1;
    }
    t->size_count = count + 1;
    return true;
}

/* ---- building the table ------------------------------------------------------------- */

/* The table from an explicit list; -1 after a message when the list is unusable. */
static int table_from_list(struct tuning *t, struct size_class *out, int max_count)
{
    uint32_t last = t->sizes[t->size_count - 1];
    if (t->max_small_given && last != t->params.max_small_size) {
        pagoda_log(SIZES_VAR " ends at %u, not at " MAX_SMALL_VAR "=%zu (its last size is "
                   "the largest small size)" FALLBACK, last, t->params.max_small_size);
        return -1;
    }
    t->params.max_small_size = SIZE_CLASS_MAX_SMALL_LIMIT;   /* bounds each entry */
    const char *why;
    int count = size_class_from_sizes(&t->params, t->sizes, t->size_count, out, max_count, &why);
    if (count < 0)
        pagoda_log(SIZES_VAR ": %s" FALLBACK, why);
    return count;
}

/* The table generated from the waste bound and the largest small size; -1 after a
 * message naming the variables that were set when no table fits. */
static int table_from_params(const struct tuning *t, struct size_class *out, int max_count)
{
    const char *why;
    int count = size_class_generate(&t->params, out, max_count, &why);
    if (count >= 0)
        return count;
    if (t->waste_given && t->max_small_given)
        pagoda_log(WASTE_VAR "=%s with " MAX_SMALL_VAR "=%zu: %s" FALLBACK,
                   t->waste_text, t->params.max_small_size, why);
    else if (t->waste_given)
        pagoda_log(WASTE_VAR "=%s: %s" FALLBACK, t->waste_text, why);
    else
        pagoda_log(MAX_SMALL_VAR "=%zu: %s" FALLBACK, t->params.max_small_size, why);
    return -1;
}

static int default_table(struct size_class *out, int max_count)
{
    int count = SIZE_CLASS_DEFAULT_COUNT < max_count ? SIZE_CLASS_DEFAULT_COUNT : max_count;
    for (int i = 0; i < count; i++)
        out[i] = size_class_default_table[i];
    return count;
}

/* ---- PAGODA_SHOW_SIZE_CLASSES ------------------------------------------------------- */

struct row {
    char text[96];
    int length;
};

/* Appends text to the row, right-aligned in width columns. */
static void put_column(struct row *row, int width, const char *text)
{
    int length = (int)strlen(text);
    int room = (int)sizeof row->text - 1 - row->length;
    for (int pad = width - length; pad > 0 && room > 0; pad--, room--)
        row->text[row->length++] = ' ';
    for (int i = 0; i < length && room > 0; i++, room--)
        row->text[row->length++] = text[i];
    row->text[row->length] = '\0';
}

static void put_number(struct row *row, int width, unsigned value)
{
    char text[16];
    pagoda_format(text, sizeof text, "%u", value);
    put_column(row, width, text);
}

/* Appends part / whole as a percentage with two decimals. */
static void put_percent(struct row *row, int width, uint64_t part, uint64_t whole)
{
    uint64_t hundredths = (part * 10000 + whole / 2) / whole;
    char text[24];
    pagoda_format(text, sizeof text, "%lu.%s%lu%%", (unsigned long)(hundredths / 100),
                  hundredths % 100 < 10 ? "0" : "", (unsigned long)(hundredths % 100));
    put_column(row, width, text);
}

/* One line per class, the columns of tools/mksizeclasses: internal waste is the worst
 * case for one object, tail waste the unusable end of the span. */
static void show_table(const struct size_class *table, int count, const char *source)
{
    pagoda_log("%d size classes (%s), small objects up to %u bytes", count, source,
               table[count - 1].size);
    pagoda_log("class    size  pages  objects  internal    tail");
    for (int i = 0; i < count; i++) {
        const struct size_class *c = &table[i];
        uint32_t prev = i > 0 ? table[i - 1].size : 0;
        uint64_t span = (uint64_t)c->pages * PAGE_SIZE;
        struct row row = { .length = 0 };
        put_number(&row, 5, (unsigned)i + 1);
        put_number(&row, 8, c->size);
        put_number(&row, 7, c->pages);
        put_number(&row, 9, c->objects);
        put_percent(&row, 10, c->size - prev - 1, c->size);
        put_percent(&row, 8, span % c->size, span);
        pagoda_log("%s", row.text);
    }
}

/* ---- selection ---------------------------------------------------------------------- */

int size_class_tuning_select(struct size_class *out, int max_count)
{
    struct tuning t = { .waste_given = false };
    size_class_default_params(&t.params);
    bool parsed = read_sizes(&t);
    parsed = read_waste(&t) && parsed;
    parsed = read_max_small(&t) && parsed;

    int count = -1;
    const char *source = "default table";
    if (parsed && t.size_count > 0) {
        count = table_from_list(&t, out, max_count);
        source = SIZES_VAR;
    } else if (parsed && (t.waste_given || t.max_small_given)) {
        count = table_from_params(&t, out, max_count);
        source = "generated from " WASTE_VAR " and " MAX_SMALL_VAR;
    }
    if (count < 0) {
        count = default_table(out, max_count);
        source = "default table";
    }
    if (config_bool(SHOW_VAR, false))
        show_table(out, count, source);
    return count;
}
