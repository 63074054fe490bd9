/*
 * clustered_strings — the workload of docs/size-classes.md: a store of text records
 * whose allocation sizes cluster in a narrow band (by default 513..528 bytes with the
 * NUL, like log lines or rows of one schema), the case where the size-class table
 * decides how much memory is wasted.
 *
 *   clustered_strings [--records N] [--min BYTES] [--max BYTES] [--replacements M]
 *
 * Builds N records (default 500000) of uniformly random sizes in [min, max], then
 * replaces M random records (default 2000000) by new ones (free, then malloc), checking
 * each record's text before it goes. It links no allocator: run it with
 * LD_PRELOAD=build/libpagoda.so. Prints one line:
 *   records=N seconds=T peak_rss_kib=K checksum=C
 * seconds covers building and replacing; peak_rss_kib is VmHWM from /proc/self/status.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIN_SIZE 32   /* room for a 20-digit key, a colon, a letter and the NUL */

struct options {
    size_t records;
    size_t min_size;
    size_t max_size;
    size_t replacements;
};

static void die(const char *message)
{
    fprintf(stderr, "clustered_strings: %s\n", message);
    exit(2);
}

static size_t parse_count(const char *text)
{
    char *end;
    unsigned long long value = strtoull(text, &end, 10);
    if (end == text || *end || text[0] == '-')
        die("options take a decimal count");
    return (size_t)value;
}

static struct options parse_options(int argc, char **argv)
{
    struct options o = { 500000, 513, 528, 2000000 };
    for (int i = 1; i + 1 < argc; i += 2) {
        size_t value = parse_count(argv[i + 1]);
        if (strcmp(argv[i], "--records") == 0)
            o.records = value;
        else if (strcmp(argv[i], "--min") == 0)
            o.min_size = value;
        else if (strcmp(argv[i], "--max") == 0)
            o.max_size = value;
        else if (strcmp(argv[i], "--replacements") == 0)
            o.replacements = value;
        else
            die("unknown option (use --records, --min, --max, --replacements)");
    }
    if (argc % 2 == 0)
        die("an option lacks its value");
    if (o.records == 0 || o.min_size < MIN_SIZE || o.max_size < o.min_size)
        die("need records > 0 and 32 <= min <= max");
    return o;
}

static char letter_of(uint64_t key)
{
    return (char)('a' + key % 26);
}

static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* Record text: its key in decimal, a colon, then the key's letter up to size - 1
 * characters, and a NUL. Sizes of at least MIN_SIZE leave room for the key. */
static char *make_record(uint64_t key, size_t size)
{
    char *record = malloc(size);
    if (!record)
        die("out of memory");
    size_t at = (size_t)snprintf(record, size, "%llu:", (unsigned long long)key);
    memset(record + at, letter_of(key), size - 1 - at);
    record[size - 1] = '\0';
    return record;
}

static uint64_t record_key(const char *record)
{
    return strtoull(record, NULL, 10);
}

/* The last character must still be its key's letter. */
static void check_record(const char *record)
{
    size_t last = strlen(record) - 1;
    if (record[last] != letter_of(record_key(record)))
        die("a record's text changed");
}

static long peak_rss_kib(void)
{
    FILE *status = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (status && fgets(line, sizeof line, status))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    if (status)
        fclose(status);
    return kib;
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
    struct options o = parse_options(argc, argv);
    uint64_t state = 0x2545f4914f6cdd1du;
    size_t band = o.max_size - o.min_size + 1;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);

    char **records = malloc(o.records * sizeof *records);
    if (!records)
        die("out of memory");
    uint64_t next_key = 0;
    for (size_t i = 0; i < o.records; i++)
        records[i] = make_record(next_key++, o.min_size + next_random(&state) % band);
    for (size_t r = 0; r < o.replacements; r++) {
        size_t i = next_random(&state) % o.records;
        check_record(records[i]);
        free(records[i]);
        records[i] = make_record(next_key++, o.min_size + next_random(&state) % band);
    }
    double seconds = seconds_since(&start);

    uint64_t checksum = 0;
    for (size_t i = 0; i < o.records; i++) {
        check_record(records[i]);
        checksum = checksum * 31 + record_key(records[i]) + strlen(records[i]);
        free(records[i]);
    }
    free(records);
    printf("records=%zu seconds=%.3f peak_rss_kib=%ld checksum=%llu\n", o.records, seconds,
           peak_rss_kib(), (unsigned long long)checksum);
    return 0;
}
