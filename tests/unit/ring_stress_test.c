/* ring_stress_test.c - two threads move COUNT sequence numbers through one
 * small SPSC ring, each side mixing single and batch operations of varied
 * sizes (some larger than the ring, so batches are often partial); the
 * consumer checks that it receives exactly 1, 2, ..., COUNT in order, so
 * nothing is lost, duplicated or reordered. The counters lap the slots
 * COUNT / CAPACITY times. Meant to run under ThreadSanitizer too.
 *
 * usage: ring_stress_test [COUNT [CAPACITY]]   (defaults 100000000, 64)
 * Exit 0 pass, 1 fail. */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/ring.h"

#define BATCH_MAX 128u /* largest batch either side asks for; twice the default ring */

struct side_stats {
    uint64_t singles;  /* single operations that moved an item */
    uint64_t batches;  /* batch operations that moved at least one item */
    uint64_t partials; /* batch operations that moved fewer than asked */
    uint64_t misses;   /* operations that found the ring full (producer) or empty (consumer) */
};

struct stress {
    struct sl_ring *ring;
    uint64_t count;              /* items to move */
    struct side_stats producer;  /* written by the producer thread, read after join */
    struct side_stats consumer;  /* written by the consumer thread, read after join */
    uint64_t received;           /* items the consumer checked; read after join */
};

/* xorshift64: cheap per-thread randomness for operation choice and size. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

/* Spin, yielding now and then: the two threads may share one core. */
static void backoff(struct side_stats *stats)
{
    if (++stats->misses % 32 == 0)
        sched_yield();
}

static uint32_t batch_size(uint64_t r, uint64_t left)
{
    uint32_t n = 1 + (uint32_t)((r >> 8) % BATCH_MAX);
    return n < left ? n : (uint32_t)left;
}

static void *producer_main(void *arg)
{
    struct stress *stress = arg;
    struct side_stats *stats = &stress->producer;
    uint64_t state = 0x9e3779b97f4a7c15u, next = 1;
    void *items[BATCH_MAX];
    while (next <= stress->count) {
        uint64_t r = next_random(&state);
        if (r & 1) {
            if (sl_ring_push(stress->ring, (void *)(uintptr_t)next) == 0) {
                stats->singles++;
                next++;
            } else {
                backoff(stats);
            }
            continue;
        }
        uint32_t n = batch_size(r, stress->count - next + 1);
        for (uint32_t i = 0; i < n; i++)
            items[i] = (void *)(uintptr_t)(next + i);
        uint32_t pushed = sl_ring_push_batch(stress->ring, items, n);
        next += pushed;
        stats->batches += pushed > 0;
        stats->partials += pushed > 0 && pushed < n;
        if (pushed == 0)
            backoff(stats);
    }
    return NULL;
}

/* Check one received item; the first mismatch fails the whole test. */
static void expect(struct stress *stress, void *item)
{
    uint64_t want = ++stress->received;
    if ((uintptr_t)item != want) {
        fprintf(stderr, "ring_stress: item %" PRIu64 ": got %" PRIuPTR "\n", want, (uintptr_t)item);
        exit(1);
    }
}

static void *consumer_main(void *arg)
{
    struct stress *stress = arg;
    struct side_stats *stats = &stress->consumer;
    uint64_t state = 0x2545f4914f6cdd1du;
    void *items[BATCH_MAX];
    while (stress->received < stress->count) {
        uint64_t r = next_random(&state);
        if (r & 1) {
            void *item;
            if (sl_ring_pop(stress->ring, &item) == 0) {
                stats->singles++;
                expect(stress, item);
            } else {
                backoff(stats);
            }
            continue;
        }
        /* ask for up to BATCH_MAX even near the end: must get only what exists */
        uint32_t n = batch_size(r, BATCH_MAX);
        uint32_t popped = sl_ring_pop_batch(stress->ring, items, n);
        for (uint32_t i = 0; i < popped; i++)
            expect(stress, items[i]);
        stats->batches += popped > 0;
        stats->partials += popped > 0 && popped < n;
        if (popped == 0)
            backoff(stats);
    }
    return NULL;
}

static int parse_u64(const char *text, uint64_t *value)
{
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (*text == '\0' || *end != '\0')
        return -EINVAL;
    *value = v;
    return 0;
}

static void print_side(const char *name, const struct side_stats *stats)
{
    printf("  %s: %" PRIu64 " single ops, %" PRIu64 " batch ops (%" PRIu64 " partial), %" PRIu64
           " full/empty misses\n",
           name, stats->singles, stats->batches, stats->partials, stats->misses);
}

int main(int argc, char **argv)
{
    uint64_t count = 100000000, capacity = 64;
    if (argc > 3 || (argc > 1 && parse_u64(argv[1], &count) < 0) ||
        (argc > 2 && parse_u64(argv[2], &capacity) < 0) || count == 0 || capacity > UINT32_MAX) {
        fprintf(stderr, "usage: %s [COUNT [CAPACITY]]\n", argv[0]);
        return 1;
    }
    struct stress stress = {.count = count};
    if (sl_ring_create((uint32_t)capacity, &stress.ring) < 0) {
        fprintf(stderr, "ring_stress: capacity %" PRIu64 " is not a power of two\n", capacity);
        return 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_t producer, consumer;
    if (pthread_create(&consumer, NULL, consumer_main, &stress) != 0 ||
        pthread_create(&producer, NULL, producer_main, &stress) != 0) {
        fprintf(stderr, "ring_stress: pthread_create failed\n");
        return 1;
    }
    pthread_join(producer, NULL);
    pthread_join(consumer, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    /* everything sent arrived and nothing more is left over */
    int ok = stress.received == count && sl_ring_is_empty(stress.ring) &&
             stress.producer.batches > 0 && stress.consumer.batches > 0 &&
             stress.producer.singles > 0 && stress.consumer.singles > 0;
    printf("ring_stress: %s: %" PRIu64 " items through a %" PRIu64 "-slot ring (%" PRIu64
           " laps) in %.2f s, %.1f M items/s\n",
           ok ? "ok" : "FAILED", stress.received, capacity, count / capacity, s,
           (double)count / s / 1e6);
    print_side("producer", &stress.producer);
    print_side("consumer", &stress.consumer);
    sl_ring_destroy(stress.ring);
    return ok ? 0 : 1;
}
