/*
 * retention — how much memory an allocator keeps after a program frees most of what
 * it built. The worker threads build --bytes of mixed objects between them (default
 * 1 GiB, quick 64 MiB; by count 90.9 % of 16 B..1 KiB, 9 % of 1..9 KiB, 0.1 % of
 * 64..320 KiB; each filled with a mark byte), free a random 90 % of them,
 * then keep a light steady load (a few small malloc/free every 10 ms) for
 * --seconds (default 10, quick 1). Meanwhile the main thread samples the resident
 * set from /proc/self/statm every 100 ms after the big free and prints the samples
 * as `RSS <ms_since_big_free> <bytes>` lines (or, with --csv PATH, writes them to
 * PATH as CSV), then `METRIC rss_after_5s` (the 5 s sample, or the last one in a
 * shorter run), `METRIC rss_after_build` and `METRIC peak_rss` (VmHWM).
 *
 * Checks: the first and last bytes of every object freed in the big free, and every
 * byte of the surviving 10 % and of the steady-load objects, still hold their mark.
 */
#include "workload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
    SAMPLE_INTERVAL_MS = 100,
    LOAD_INTERVAL_MS = 10,
    LOAD_OBJECTS = 8,
    SURVIVORS_PER_MILLE = 100,
};

struct record {
    unsigned char *object;
    uint32_t size;
    unsigned char mark;
};

struct worker {
    unsigned index;
    uint64_t bytes;          /* this thread's share of the build */
    struct record *records;
    size_t count;
    size_t capacity;
};

static pthread_barrier_t phase_barrier; /* the workers and the main thread */
static atomic_bool stop_load;

static uint32_t random_size(struct wl_rng *rng)
{
    uint64_t r = wl_rng_below(rng, 1000);
    if (r == 0)
        return (uint32_t)wl_rng_between(rng, 64 << 10, 320 << 10);
    if (r <= 90)
        return (uint32_t)wl_rng_between(rng, 1 << 10, 9 << 10);
    return (uint32_t)wl_rng_between(rng, 16, 1 << 10);
}

static struct record new_record(struct wl_rng *rng, uint32_t size)
{
    struct record record = { malloc(size), size, (unsigned char)wl_rng_next(rng) };
    if (record.object == NULL)
        wl_fail("malloc(%u) returned NULL", size);
    memset(record.object, record.mark, size);
    return record;
}

/* Checks the first and last byte of the object, or with every_byte all of them. */
static void check_and_free(const struct record *record, bool every_byte)
{
    uint32_t step = every_byte || record->size < 2 ? 1 : record->size - 1;
    for (uint32_t i = 0; i < record->size; i += step)
        if (record->object[i] != record->mark)
            wl_fail("byte %u of object %p (%u bytes) lost its mark", i, (void *)record->object,
                    record->size);
    free(record->object);
}

static void build(struct worker *self, struct wl_rng *rng)
{
    for (uint64_t built = 0; built < self->bytes;) {
        if (self->count == self->capacity) {
            self->capacity = self->capacity ? 2 * self->capacity : 4096;
            self->records = realloc(self->records, self->capacity * sizeof *self->records);
            if (self->records == NULL)
                wl_fail("cannot grow the record array to %zu entries", self->capacity);
        }
        struct record record = new_record(rng, random_size(rng));
        built += record.size;
        self->records[self->count++] = record;
    }
}

/* Frees a random 90 % of the objects, keeping the survivors at the front. */
static void free_most(struct worker *self, struct wl_rng *rng)
{
    size_t kept = 0;
    for (size_t i = 0; i < self->count; i++) {
        if (wl_rng_below(rng, 1000) < SURVIVORS_PER_MILLE)
            self->records[kept++] = self->records[i];
        else
            check_and_free(&self->records[i], false);
    }
    self->count = kept;
}

static void add_ms(struct timespec *time, long ms)
{
    time->tv_nsec += ms * 1000000L;
    time->tv_sec += time->tv_nsec / 1000000000L;
    time->tv_nsec %= 1000000000L;
}

static void steady_load(struct wl_rng *rng)
{
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (!atomic_load(&stop_load)) {
        struct record records[LOAD_OBJECTS];
        for (unsigned i = 0; i < LOAD_OBJECTS; i++)
            records[i] = new_record(rng, (uint32_t)wl_rng_between(rng, 16, 1 << 10));
        for (unsigned i = 0; i < LOAD_OBJECTS; i++)
            check_and_free(&records[i], true);
        add_ms(&next, LOAD_INTERVAL_MS);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            continue;
    }
}

static void *run_worker(void *arg)
{
    struct worker *self = arg;
    struct wl_rng rng = wl_rng_seeded(self->index + 1);
    build(self, &rng);
    pthread_barrier_wait(&phase_barrier);
    free_most(self, &rng);
    pthread_barrier_wait(&phase_barrier);
    steady_load(&rng);
    for (size_t i = 0; i < self->count; i++)
        check_and_free(&self->records[i], true);
    free(self->records);
    return NULL;
}

/* Reads a small /proc file without stdio, so that sampling allocates nothing. */
static void read_proc_file(const char *path, char *text, size_t capacity)
{
    int fd = open(path, O_RDONLY);
    ssize_t length = fd < 0 ? -1 : read(fd, text, capacity - 1);
    if (fd >= 0)
        close(fd);
    if (length <= 0) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    text[length] = '\0';
}

static uint64_t resident_bytes(void)
{
    char text[256];
    unsigned long long pages;
    read_proc_file("/proc/self/statm", text, sizeof text);
    if (sscanf(text, "%*u %llu", &pages) != 1) {
        fprintf(stderr, "cannot parse /proc/self/statm\n");
        exit(2);
    }
    return pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t peak_resident_bytes(void)
{
    char text[4096];
    read_proc_file("/proc/self/status", text, sizeof text);
    const char *field = strstr(text, "VmHWM:");
    if (field == NULL) {
        fprintf(stderr, "no VmHWM in /proc/self/status\n");
        exit(2);
    }
    return strtoull(field + strlen("VmHWM:"), NULL, 10) * 1024;
}

int main(int argc, char **argv)
{
    uint64_t threads_requested = 2;
    bool quick = wl_quick_requested(argc, argv);
    uint64_t total_bytes = quick ? 64 << 20 : 1 << 30;
    double seconds = quick ? 1 : 10;
    const char *csv_path = NULL;
    const struct wl_option options[] = {
        { "threads", WL_COUNT, &threads_requested },
        { "quick", WL_FLAG, &quick },
        { "bytes", WL_COUNT, &total_bytes },
        { "seconds", WL_SECONDS, &seconds },
        { "csv", WL_TEXT, &csv_path },
    };
    wl_parse_options(argc, argv, options, sizeof options / sizeof options[0]);
    unsigned threads = wl_thread_count(threads_requested);
    FILE *csv = stdout;
    if (csv_path != NULL && (csv = fopen(csv_path, "w")) == NULL) {
        perror(csv_path);
        return 2;
    }

    size_t sample_count = (size_t)(seconds * 1000 / SAMPLE_INTERVAL_MS) + 1;
    uint64_t *samples = malloc(sample_count * sizeof *samples);
    struct worker *workers = calloc(threads, sizeof *workers);
    if (samples == NULL || workers == NULL)
        wl_fail("cannot allocate the sample and worker arrays");
    for (unsigned i = 0; i < threads; i++)
        workers[i] = (struct worker){ .index = i, .bytes = total_bytes / threads };
    pthread_barrier_init(&phase_barrier, NULL, threads + 1);

    static struct wl_threads pool;
    wl_threads_start(&pool, threads, run_worker, workers, sizeof *workers);
    pthread_barrier_wait(&phase_barrier);
    uint64_t rss_after_build = resident_bytes();
    pthread_barrier_wait(&phase_barrier);
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (size_t i = 0; i < sample_count; i++) {
        if (i > 0) {
            add_ms(&next, SAMPLE_INTERVAL_MS);
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
                continue;
        }
        samples[i] = resident_bytes();
    }
    atomic_store(&stop_load, true);
    wl_threads_join(&pool);
    /* VmHWM is updated lazily: it may trail a sample taken just before. */
    uint64_t peak = peak_resident_bytes();
    if (peak < rss_after_build)
        peak = rss_after_build;
    for (size_t i = 0; i < sample_count; i++)
        if (peak < samples[i])
            peak = samples[i];

    size_t survivors = 0;
    for (unsigned i = 0; i < threads; i++)
        survivors += workers[i].count;
    if (csv != stdout)
        fprintf(csv, "ms_since_big_free,rss_bytes\n");
    for (size_t i = 0; i < sample_count; i++)
        fprintf(csv, csv == stdout ? "RSS %zu %llu\n" : "%zu,%llu\n", i * SAMPLE_INTERVAL_MS,
                (unsigned long long)samples[i]);
    if (csv != stdout && fclose(csv) != 0) {
        perror(csv_path);
        return 2;
    }
    size_t at_5s = 5000 / SAMPLE_INTERVAL_MS;
    printf("METRIC rss_after_5s %llu\n",
           (unsigned long long)samples[at_5s < sample_count ? at_5s : sample_count - 1]);
    printf("METRIC rss_after_build %llu\n", (unsigned long long)rss_after_build);
    printf("METRIC peak_rss %llu\n", (unsigned long long)peak);
    printf("CHECK OK retention: %u threads built %llu MiB, %zu objects survived, "
           "%zu RSS samples\n", threads, (unsigned long long)(total_bytes >> 20), survivors,
           sample_count);
    pthread_barrier_destroy(&phase_barrier);
    free(workers);
    free(samples);
    return 0;
}
