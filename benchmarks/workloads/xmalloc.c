/*
 * xmalloc — producer/consumer where every free is remote (after Lever and Boreham's
 * xmalloc-test): half the threads allocate objects of 16..512 B, fill them and pass
 * them in batches of 64 through a bounded queue (mutex + condition variables) to the
 * other half, which verify and free them. The batch holders travel too: allocated by
 * a producer, freed by a consumer. Fixed work: --objects in total (default 8M,
 * quick 512K). With --threads 1 a single thread alternates the two roles: it fills a
 * batch, then verifies and frees it. With N threads: N/2 producers, the rest consume.
 *
 * Checks: each object's header (size, producer, sequence number) and every byte of
 * its fill pattern; that every produced object is consumed exactly once (count and a
 * checksum over (producer, sequence) pairs match what the producers made).
 */
#include "workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    MIN_SIZE = 16,
    MAX_SIZE = 512,
    BATCH_SIZE = 64,
    QUEUE_CAPACITY = 64,
};

struct object_header {
    uint32_t size;
    uint32_t producer;
    uint64_t sequence;
};

struct batch {
    unsigned count;
    unsigned char *objects[BATCH_SIZE];
};

struct role {
    unsigned index;      /* producer number, or consumer number */
    uint64_t objects;    /* producers: how many objects to make */
    uint64_t next_sequence;
    struct wl_rng rng;
    uint64_t consumed;   /* consumers: objects verified and freed */
    uint64_t checksum;   /* consumers: sum of pair_hash over the objects */
    bool producer;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t not_empty;
    pthread_cond_t not_full;
    struct batch *ring[QUEUE_CAPACITY];
    unsigned head;
    unsigned length;
    unsigned producers_left;
} queue = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .not_empty = PTHREAD_COND_INITIALIZER,
    .not_full = PTHREAD_COND_INITIALIZER,
};

static uint64_t pair_hash(uint32_t producer, uint64_t sequence)
{
    struct wl_rng mix = wl_rng_seeded(((uint64_t)producer << 40) ^ sequence);
    return wl_rng_next(&mix);
}

static unsigned char fill_byte(uint64_t sequence)
{
    return (unsigned char)(sequence * 131 + 7);
}

static struct batch *produce_batch(struct role *self)
{
    struct batch *batch = malloc(sizeof *batch);
    if (batch == NULL)
        wl_fail("malloc(batch) returned NULL");
    uint64_t left = self->objects - self->next_sequence;
    batch->count = left < BATCH_SIZE ? (unsigned)left : BATCH_SIZE;
    for (unsigned i = 0; i < batch->count; i++) {
        struct object_header header = {
            .size = (uint32_t)wl_rng_between(&self->rng, MIN_SIZE, MAX_SIZE),
            .producer = self->index,
            .sequence = self->next_sequence++,
        };
        unsigned char *object = malloc(header.size);
        if (object == NULL)
            wl_fail("malloc(%u) returned NULL", header.size);
        memcpy(object, &header, sizeof header);
        memset(object + sizeof header, fill_byte(header.sequence), header.size - sizeof header);
        batch->objects[i] = object;
    }
    return batch;
}

static void consume_batch(struct role *self, struct batch *batch)
{
    for (unsigned i = 0; i < batch->count; i++) {
        unsigned char *object = batch->objects[i];
        struct object_header header;
        memcpy(&header, object, sizeof header);
        if (header.size < MIN_SIZE || header.size > MAX_SIZE)
            wl_fail("object %p has a corrupt header (size %u)", (void *)object, header.size);
        unsigned char expected = fill_byte(header.sequence);
        uint64_t pattern = expected * 0x0101010101010101ull, differences = 0, word;
        uint32_t k = sizeof header;
        for (; k + sizeof word <= header.size; k += sizeof word) {
            memcpy(&word, object + k, sizeof word);
            differences |= word ^ pattern;
        }
        for (; k < header.size; k++)
            differences |= object[k] ^ expected;
        if (differences != 0)
            wl_fail("object %p (producer %u, sequence %llu, %u bytes): fill pattern damaged",
                    (void *)object, header.producer, (unsigned long long)header.sequence,
                    header.size);
        self->checksum += pair_hash(header.producer, header.sequence);
        free(object);
    }
    self->consumed += batch->count;
    free(batch);
}

static void queue_push(struct batch *batch)
{
    pthread_mutex_lock(&queue.lock);
    while (queue.length == QUEUE_CAPACITY)
        pthread_cond_wait(&queue.not_full, &queue.lock);
    queue.ring[(queue.head + queue.length++) % QUEUE_CAPACITY] = batch;
    pthread_cond_signal(&queue.not_empty);
    pthread_mutex_unlock(&queue.lock);
}

/* The next batch, or NULL once the queue is empty and every producer has finished. */
static struct batch *queue_pop(void)
{
    pthread_mutex_lock(&queue.lock);
    while (queue.length == 0 && queue.producers_left > 0)
        pthread_cond_wait(&queue.not_empty, &queue.lock);
    struct batch *batch = NULL;
    if (queue.length > 0) {
        batch = queue.ring[queue.head];
        queue.head = (queue.head + 1) % QUEUE_CAPACITY;
        queue.length--;
        pthread_cond_signal(&queue.not_full);
    }
    pthread_mutex_unlock(&queue.lock);
    return batch;
}

static void producer_finished(void)
{
    pthread_mutex_lock(&queue.lock);
    if (--queue.producers_left == 0)
        pthread_cond_broadcast(&queue.not_empty);
    pthread_mutex_unlock(&queue.lock);
}

static void *run_role(void *arg)
{
    struct role *self = arg;
    if (self->producer) {
        while (self->next_sequence < self->objects)
            queue_push(produce_batch(self));
        producer_finished();
    } else {
        struct batch *batch;
        while ((batch = queue_pop()) != NULL)
            consume_batch(self, batch);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    uint64_t threads_requested = 1;
    bool quick = wl_quick_requested(argc, argv);
    uint64_t total_objects = quick ? 512 << 10 : 8 << 20;
    const struct wl_option options[] = {
        { "threads", WL_COUNT, &threads_requested },
        { "quick", WL_FLAG, &quick },
        { "objects", WL_COUNT, &total_objects },
    };
    wl_parse_options(argc, argv, options, sizeof options / sizeof options[0]);
    unsigned threads = wl_thread_count(threads_requested);

    unsigned producers = threads == 1 ? 1 : threads / 2;
    unsigned consumers = threads == 1 ? 1 : threads - producers;
    struct role *roles = calloc(producers + consumers, sizeof *roles);
    if (roles == NULL)
        wl_fail("cannot allocate the thread roles");
    uint64_t expected_checksum = 0;
    for (unsigned p = 0; p < producers; p++) {
        roles[p] = (struct role){
            .index = p,
            .objects = total_objects / producers + (p < total_objects % producers),
            .rng = wl_rng_seeded(p + 1),
            .producer = true,
        };
        for (uint64_t s = 0; s < roles[p].objects; s++)
            expected_checksum += pair_hash(p, s);
    }
    for (unsigned c = 0; c < consumers; c++)
        roles[producers + c] = (struct role){ .index = c };
    queue.producers_left = producers;

    double start = wl_seconds();
    if (threads == 1) {
        while (roles[0].next_sequence < roles[0].objects)
            consume_batch(&roles[1], produce_batch(&roles[0]));
    } else {
        static struct wl_threads pool;
        wl_threads_start(&pool, threads, run_role, roles, sizeof *roles);
        wl_threads_join(&pool);
    }
    double elapsed = wl_seconds() - start;

    uint64_t consumed = 0, checksum = 0;
    for (unsigned c = 0; c < consumers; c++) {
        consumed += roles[producers + c].consumed;
        checksum += roles[producers + c].checksum;
    }
    free(roles);
    if (consumed != total_objects)
        wl_fail("%llu objects produced but %llu consumed", (unsigned long long)total_objects,
                (unsigned long long)consumed);
    if (checksum != expected_checksum)
        wl_fail("consumed objects are not the produced ones (checksum mismatch)");

    printf("METRIC objects_per_second %.0f\n", (double)total_objects / elapsed);
    printf("CHECK OK xmalloc: %llu objects from %u producers to %u consumers in %.2f s\n",
           (unsigned long long)total_objects, producers, consumers, elapsed);
    return 0;
}
