/*
 * hashtable — an application-shaped workload: each thread owns a chained hash table
 * with malloc'd string keys (8..64 characters) and small malloc'd value structs, and
 * runs a random mix of lookups, inserts, updates (the value is replaced) and deletes
 * over a universe of 16K keys. The mix alternates between growing phases (mostly
 * inserts) and shrinking phases (mostly deletes), so the bucket array is regularly
 * doubled and halved with realloc and rehashed in place. Fixed work: --ops in total
 * (default 8M, quick 512K), split over the threads.
 *
 * Checks: every lookup against a model of what the table should hold (absent keys
 * are not found, present ones carry the right key and value version); at the end
 * the entry count matches the model and every entry sits in its right bucket.
 */
#include "workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    KEY_UNIVERSE = 16 << 10,
    PHASE_OPS = 2 * KEY_UNIVERSE,
    MIN_KEY_LENGTH = 8,
    MAX_KEY_LENGTH = 64,
    MIN_BUCKETS = 16,
};

struct value {
    uint32_t key_id;
    uint32_t version;
    uint64_t payload;
};

struct entry {
    struct entry *next;
    uint64_t hash;
    char *key;
    struct value *value;
};

struct table {
    struct entry **buckets;
    size_t bucket_count; /* a power of two */
    size_t count;
};

struct worker {
    unsigned index;
    uint64_t ops;
    uint64_t resizes;
    size_t final_count;
};

static void *checked_malloc(size_t size)
{
    void *p = malloc(size);
    if (p == NULL)
        wl_fail("malloc(%zu) returned NULL", size);
    return p;
}

/* Key `id` as a string: its number in hex (lowest digit first) and a dash, then
 * characters derived from it up to a length of 8..64 that also depends on it.
 * Returns the length. */
static size_t make_key(uint32_t id, char key[MAX_KEY_LENGTH + 1])
{
    static const char hex[] = "0123456789abcdef";
    static const char alphabet[32] = "abcdefghijklmnopqrstuvwxyz012345";
    struct wl_rng rng = wl_rng_seeded(id);
    size_t length = wl_rng_between(&rng, MIN_KEY_LENGTH, MAX_KEY_LENGTH);
    size_t at = 0;
    for (uint32_t rest = id; at == 0 || rest != 0; rest /= 16)
        key[at++] = hex[rest % 16];
    key[at++] = '-';
    for (uint64_t bits = 0; at < length; at++, bits >>= 8) {
        if (bits == 0) /* the top bit keeps bits non-zero for eight characters */
            bits = wl_rng_next(&rng) | 1ull << 63;
        key[at] = alphabet[bits % sizeof alphabet];
    }
    key[length] = '\0';
    return length;
}

/* Eight bytes at a time, each step a multiply and a xor-shift. */
static uint64_t hash_key(const char *key, size_t length)
{
    uint64_t hash = length * 0x9e3779b97f4a7c15ull, word;
    for (size_t i = 0; i < length; i += sizeof word) {
        word = 0;
        memcpy(&word, key + i, length - i < sizeof word ? length - i : sizeof word);
        hash = (hash ^ word) * 0xbf58476d1ce4e5b9ull;
        hash ^= hash >> 31;
    }
    return hash;
}

static struct entry **find_link(struct table *table, const char *key, uint64_t hash)
{
    struct entry **link = &table->buckets[hash & (table->bucket_count - 1)];
    while (*link != NULL && ((*link)->hash != hash || strcmp((*link)->key, key) != 0))
        link = &(*link)->next;
    return link;
}

static void resize(struct table *table, size_t new_count)
{
    size_t old_count = table->bucket_count;
    if (new_count > old_count) {
        table->buckets = realloc(table->buckets, new_count * sizeof *table->buckets);
        if (table->buckets == NULL)
            wl_fail("cannot grow the bucket array to %zu", new_count);
        memset(table->buckets + old_count, 0, (new_count - old_count) * sizeof *table->buckets);
        /* Split each old bucket into itself and its new twin. */
        for (size_t b = 0; b < old_count; b++) {
            struct entry **link = &table->buckets[b];
            struct entry **twin_tail = &table->buckets[b + old_count];
            while (*link != NULL) {
                struct entry *e = *link;
                if ((e->hash & (new_count - 1)) == b) {
                    link = &e->next;
                } else {
                    *link = e->next;
                    e->next = NULL;
                    *twin_tail = e;
                    twin_tail = &e->next;
                }
            }
        }
    } else {
        /* Append each upper bucket to its lower twin, then give the upper half back. */
        for (size_t b = new_count; b < old_count; b++) {
            struct entry **tail = &table->buckets[b - new_count];
            while (*tail != NULL)
                tail = &(*tail)->next;
            *tail = table->buckets[b];
        }
        struct entry **smaller = realloc(table->buckets, new_count * sizeof *table->buckets);
        if (smaller == NULL)
            wl_fail("realloc could not shrink the bucket array to %zu", new_count);
        table->buckets = smaller;
    }
    table->bucket_count = new_count;
}

static struct value *new_value(uint32_t id, uint32_t version)
{
    struct value *value = checked_malloc(sizeof *value);
    *value = (struct value){ id, version, (uint64_t)id * version };
    return value;
}

static void check_entry(const struct entry *e, uint32_t id, uint32_t version)
{
    const struct value *v = e->value;
    if (v->key_id != id || v->version != version || v->payload != (uint64_t)id * version)
        wl_fail("key %x: found value (key %x, version %u), expected version %u", id, v->key_id,
                v->version, version);
}

static void run_table(struct worker *self)
{
    struct wl_rng rng = wl_rng_seeded(self->index + 1);
    struct table table = { calloc(MIN_BUCKETS, sizeof(struct entry *)), MIN_BUCKETS, 0 };
    uint32_t *model = calloc(KEY_UNIVERSE, sizeof *model); /* version; 0 = absent */
    if (table.buckets == NULL || model == NULL)
        wl_fail("cannot allocate the table and its model");
    size_t model_count = 0;
    uint64_t resizes = 0;
    char key[MAX_KEY_LENGTH + 1];
    for (uint64_t op = 0; op < self->ops; op++) {
        bool growing = op / PHASE_OPS % 2 == 0;
        uint32_t id = (uint32_t)wl_rng_below(&rng, KEY_UNIVERSE);
        size_t length = make_key(id, key);
        uint64_t hash = hash_key(key, length);
        struct entry **link = find_link(&table, key, hash);
        if ((*link != NULL) != (model[id] != 0))
            wl_fail("key %x is %s the table but should%s be", id, *link ? "in" : "not in",
                    *link ? " not" : "");
        if (*link != NULL)
            check_entry(*link, id, model[id]);
        uint64_t dice = wl_rng_below(&rng, 10);
        if (dice < 3)
            continue; /* a lookup, done above */
        if (dice < (growing ? 9u : 4u)) {
            /* Insert, or update by replacing the value. */
            if (*link != NULL) {
                free((*link)->value);
                (*link)->value = new_value(id, ++model[id]);
                continue;
            }
            struct entry *e = checked_malloc(sizeof *e);
            e->key = checked_malloc(length + 1);
            memcpy(e->key, key, length + 1);
            e->hash = hash;
            e->value = new_value(id, model[id] = 1);
            e->next = NULL;
            *link = e;
            model_count++;
            if (++table.count > table.bucket_count) {
                resize(&table, table.bucket_count * 2);
                resizes++;
            }
        } else if (*link != NULL) {
            struct entry *e = *link;
            *link = e->next;
            free(e->value);
            free(e->key);
            free(e);
            model[id] = 0;
            model_count--;
            if (--table.count < table.bucket_count / 8 && table.bucket_count > MIN_BUCKETS) {
                resize(&table, table.bucket_count / 2);
                resizes++;
            }
        }
    }

    if (table.count != model_count)
        wl_fail("the table holds %zu entries, the model %zu", table.count, model_count);
    size_t seen = 0;
    for (size_t b = 0; b < table.bucket_count; b++) {
        for (struct entry *e = table.buckets[b], *next; e != NULL; e = next, seen++) {
            next = e->next;
            uint32_t id = e->value->key_id;
            size_t length = id < KEY_UNIVERSE ? make_key(id, key) : 0;
            if (length == 0 || strcmp(key, e->key) != 0 || (e->hash & (table.bucket_count - 1)) != b
                || e->hash != hash_key(key, length))
                wl_fail("entry \"%.64s\" in bucket %zu is corrupt or misplaced", e->key, b);
            check_entry(e, id, model[id]);
            free(e->value);
            free(e->key);
            free(e);
        }
    }
    if (seen != model_count)
        wl_fail("walking the table found %zu entries, the model has %zu", seen, model_count);
    free(table.buckets);
    free(model);
    self->resizes = resizes;
    self->final_count = model_count;
}

static void *run_worker(void *arg)
{
    run_table(arg);
    return NULL;
}

int main(int argc, char **argv)
{
    uint64_t threads_requested = 1;
    bool quick = wl_quick_requested(argc, argv);
    uint64_t total_ops = quick ? 512 << 10 : 8 << 20;
    const struct wl_option options[] = {
        { "threads", WL_COUNT, &threads_requested },
        { "quick", WL_FLAG, &quick },
        { "ops", WL_COUNT, &total_ops },
    };
    wl_parse_options(argc, argv, options, sizeof options / sizeof options[0]);
    unsigned threads = wl_thread_count(threads_requested);

    struct worker *workers = calloc(threads, sizeof *workers);
    if (workers == NULL)
        wl_fail("cannot allocate the worker array");
    for (unsigned i = 0; i < threads; i++)
        workers[i] = (struct worker){ .index = i, .ops = total_ops / threads };

    static struct wl_threads pool;
    double start = wl_seconds();
    wl_threads_start(&pool, threads, run_worker, workers, sizeof *workers);
    wl_threads_join(&pool);
    double elapsed = wl_seconds() - start;

    uint64_t resizes = 0;
    size_t final_entries = 0;
    for (unsigned i = 0; i < threads; i++) {
        resizes += workers[i].resizes;
        final_entries += workers[i].final_count;
    }
    free(workers);
    printf("CHECK OK hashtable: %u tables, %llu operations, %llu resizes, %zu entries at the "
           "end, in %.2f s\n", threads, (unsigned long long)(total_ops / threads * threads),
           (unsigned long long)resizes, final_entries, elapsed);
    return 0;
}
