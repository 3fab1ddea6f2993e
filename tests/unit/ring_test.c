/* ring_test.c - single-threaded semantics of the SPSC ring: creation
 * limits, empty and full, FIFO order across slot wrap-around and across the
 * 2^32 wrap of the free-running counters, single and batch operations, and
 * the count snapshot. Exit 0 pass, 1 fail. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/ring.h"

#define CHECK(cond)                                                                \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                               \
        }                                                                          \
    } while (0)

#define ITEM(n) ((void *)(uintptr_t)(n))

static struct sl_ring *ring_new(uint32_t capacity)
{
    struct sl_ring *ring = NULL;
    CHECK(sl_ring_create(capacity, &ring) == 0);
    CHECK(ring != NULL);
    CHECK(sl_ring_capacity(ring) == capacity);
    return ring;
}

/* Move both counters (and both caches) of an empty ring to start, so a test
 * can cross the 2^32 wrap without 4 billion operations. Test-only: reaches
 * into the ring while no other thread uses it. */
static void ring_set_empty_at(struct sl_ring *ring, uint32_t start)
{
    CHECK(sl_ring_is_empty(ring));
    atomic_store(&ring->head, start);
    atomic_store(&ring->tail, start);
    ring->head_cache = start;
    ring->tail_cache = start;
}

static void test_create_limits(void)
{
    struct sl_ring *ring = NULL;
    CHECK(sl_ring_create(0, &ring) == -EINVAL);
    CHECK(sl_ring_create(3, &ring) == -EINVAL);
    CHECK(sl_ring_create(100, &ring) == -EINVAL);
    CHECK(sl_ring_create(SL_RING_CAPACITY_MAX + 1, &ring) == -EINVAL);
    CHECK(sl_ring_create(UINT32_MAX, &ring) == -EINVAL);
    CHECK(ring == NULL);
    for (uint32_t capacity = 1; capacity <= 4096; capacity <<= 1) {
        ring = ring_new(capacity);
        /* slots start on their own cache line, after the producer's */
        CHECK((uintptr_t)ring % SL_CACHE_LINE == 0);
        CHECK((uintptr_t)ring->prod_slots == (uintptr_t)ring + sizeof(*ring));
        CHECK(ring->prod_slots == ring->cons_slots);
        sl_ring_destroy(ring);
    }
    sl_ring_destroy(NULL);
}

static void test_empty_and_full(uint32_t capacity)
{
    struct sl_ring *ring = ring_new(capacity);
    void *item = ITEM(0xdead);
    CHECK(sl_ring_is_empty(ring) && !sl_ring_is_full(ring) && sl_ring_count(ring) == 0);
    CHECK(sl_ring_pop(ring, &item) == -EAGAIN);
    CHECK(item == ITEM(0xdead)); /* untouched on failure */
    for (uint32_t i = 0; i < capacity; i++) {
        CHECK(!sl_ring_is_full(ring));
        CHECK(sl_ring_push(ring, ITEM(i + 1)) == 0);
        CHECK(sl_ring_count(ring) == i + 1);
        CHECK(!sl_ring_is_empty(ring));
    }
    /* the whole power-of-two capacity is usable */
    CHECK(sl_ring_is_full(ring));
    CHECK(sl_ring_push(ring, ITEM(999)) == -EAGAIN);
    CHECK(sl_ring_push_batch(ring, (void *[]){ITEM(1)}, 1) == 0);
    CHECK(sl_ring_count(ring) == capacity);
    for (uint32_t i = 0; i < capacity; i++) {
        CHECK(sl_ring_pop(ring, &item) == 0);
        CHECK(item == ITEM(i + 1));
    }
    CHECK(sl_ring_is_empty(ring) && sl_ring_pop(ring, &item) == -EAGAIN);
    CHECK(sl_ring_pop_batch(ring, &item, 1) == 0);
    sl_ring_destroy(ring);
}

/* A lag between producer and consumer that varies from 0 to capacity, for
 * many laps of the slots. */
static void test_fifo_wrap(void)
{
    const uint32_t capacity = 8;
    struct sl_ring *ring = ring_new(capacity);
    uint64_t pushed = 0, popped = 0;
    for (uint32_t round = 0; round < 5000; round++) {
        uint32_t lag = round % (capacity + 1);
        while (sl_ring_count(ring) < lag)
            CHECK(sl_ring_push(ring, ITEM(++pushed)) == 0);
        uint32_t take = (round * 7) % (lag + 1);
        for (uint32_t i = 0; i < take; i++) {
            void *item;
            CHECK(sl_ring_pop(ring, &item) == 0);
            CHECK(item == ITEM(++popped));
        }
    }
    CHECK(pushed > 4 * capacity);
    CHECK(sl_ring_count(ring) == pushed - popped);
    sl_ring_destroy(ring);
}

/* Counters cross 2^32 with the ring in every fill state. */
static void test_counter_wrap(void)
{
    const uint32_t capacity = 16;
    for (uint32_t before = 0; before <= 2 * capacity; before++) {
        struct sl_ring *ring = ring_new(capacity);
        ring_set_empty_at(ring, UINT32_MAX - before);
        uint32_t next_in = 1, next_out = 1;
        for (uint32_t step = 0; step < 4 * capacity; step++) {
            while (sl_ring_push(ring, ITEM(next_in)) == 0)
                next_in++;
            CHECK(sl_ring_is_full(ring) && sl_ring_count(ring) == capacity);
            /* pop a varying number so the full point moves across the wrap */
            uint32_t take = 1 + (step + before) % capacity;
            for (uint32_t i = 0; i < take; i++) {
                void *item;
                CHECK(sl_ring_pop(ring, &item) == 0);
                CHECK(item == ITEM(next_out));
                next_out++;
            }
            CHECK(sl_ring_count(ring) == capacity - take);
        }
        void *item;
        while (sl_ring_pop(ring, &item) == 0)
            CHECK(item == ITEM(next_out++));
        CHECK(next_out == next_in && sl_ring_is_empty(ring));
        /* the counters really did wrap */
        CHECK(atomic_load(&ring->head) < UINT32_MAX - 2 * capacity);
        sl_ring_destroy(ring);
    }
}

/* Batch push/pop: partial pushes at full, partial pops at empty, copies that
 * split at the end of the slot array, n == 0. */
static void test_batch(void)
{
    const uint32_t capacity = 8;
    void *in[20], *out[20];
    for (uint32_t i = 0; i < 20; i++)
        in[i] = ITEM(100 + i);
    for (uint32_t start = 0; start < 2 * capacity; start++) {
        struct sl_ring *ring = ring_new(capacity);
        /* advance the counters to start, so copies split at every point */
        for (uint32_t i = 0; i < start; i++) {
            void *item;
            CHECK(sl_ring_push(ring, ITEM(i)) == 0 && sl_ring_pop(ring, &item) == 0);
        }
        CHECK(sl_ring_push_batch(ring, in, 0) == 0);
        CHECK(sl_ring_push_batch(ring, in, 5) == 5);
        CHECK(sl_ring_push_batch(ring, in + 5, 20) == capacity - 5); /* partial */
        CHECK(sl_ring_is_full(ring));
        CHECK(sl_ring_push_batch(ring, in, 3) == 0);
        CHECK(sl_ring_pop_batch(ring, out, 0) == 0);
        CHECK(sl_ring_pop_batch(ring, out, 3) == 3);
        CHECK(sl_ring_push_batch(ring, in + capacity, 20) == 3);
        CHECK(sl_ring_pop_batch(ring, out + 3, 20) == capacity); /* partial */
        for (uint32_t i = 0; i < capacity + 3; i++)
            CHECK(out[i] == in[i]);
        CHECK(sl_ring_pop_batch(ring, out, 20) == 0);
        /* single and batch interleave in one order */
        CHECK(sl_ring_push(ring, ITEM(1)) == 0);
        CHECK(sl_ring_push_batch(ring, (void *[]){ITEM(2), ITEM(3)}, 2) == 2);
        CHECK(sl_ring_push(ring, ITEM(4)) == 0);
        void *item;
        CHECK(sl_ring_pop_batch(ring, out, 2) == 2 && out[0] == ITEM(1) && out[1] == ITEM(2));
        CHECK(sl_ring_pop(ring, &item) == 0 && item == ITEM(3));
        CHECK(sl_ring_pop_batch(ring, out, 9) == 1 && out[0] == ITEM(4));
        sl_ring_destroy(ring);
    }
}

static void test_capacity_one_and_null(void)
{
    struct sl_ring *ring = ring_new(1);
    void *item = ITEM(7);
    for (int i = 0; i < 10; i++) {
        CHECK(sl_ring_push(ring, NULL) == 0); /* NULL is an ordinary item */
        CHECK(sl_ring_push(ring, ITEM(1)) == -EAGAIN);
        CHECK(sl_ring_pop(ring, &item) == 0 && item == NULL);
        CHECK(sl_ring_pop(ring, &item) == -EAGAIN);
    }
    sl_ring_destroy(ring);
}

int main(void)
{
    test_create_limits();
    for (uint32_t capacity = 1; capacity <= 256; capacity <<= 1)
        test_empty_and_full(capacity);
    test_fifo_wrap();
    test_counter_wrap();
    test_batch();
    test_capacity_one_and_null();
    return 0;
}
