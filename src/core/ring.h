/* ring.h - bounded single-producer/single-consumer ring of pointers.
 *
 * Concurrency limit: exactly one producer thread and one consumer thread per
 * ring at any moment (fan-in = one ring per producer). The producer calls
 * sl_ring_push*() and sl_ring_is_full(); the consumer calls sl_ring_pop*()
 * and sl_ring_is_empty(); sl_ring_count() may be called from any thread.
 *
 * Shape (after Concurrency Kit's ck_ring): head and tail are free-running
 * 32-bit counters, never masked when stored; the slot of counter c is
 * slots[c & mask] and the fill level is the unsigned difference tail - head,
 * correct across counter wrap-around. Because the counters are free-running
 * the whole power-of-two capacity is usable (no sacrificed slot).
 *
 * Layout: the consumer's line holds head plus the consumer's cached copy of
 * tail; the producer's line holds tail plus its cached copy of head; each
 * side keeps its own copy of mask and the slots pointer so that, in the
 * common case, a side touches only its own line and the slots. A side reads
 * the other side's counter only when its cached copy says the ring is
 * full (producer) or empty (consumer).
 *
 * Costs: push/pop are O(1); the batch variants are O(n) copies of pointers
 * with one release store and at most one acquire load per call.
 */
#ifndef SL_CORE_RING_H
#define SL_CORE_RING_H

#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/assert.h"

/* Largest capacity: the fill level tail - head must fit in a uint32_t. */
#define SL_RING_CAPACITY_MAX (UINT32_C(1) << 31)

/* One SPSC ring; created by sl_ring_create(), shared by its two threads.
 * Fields below "consumer" are written only by the consumer thread, fields
 * below "producer" only by the producer thread; mask and slots never change
 * after creation. */
struct sl_ring {
    /* consumer */
    alignas(SL_CACHE_LINE) _Atomic uint32_t head; /* next counter to pop; free-running */
    uint32_t tail_cache; /* consumer's last view of tail; refreshed when it looks empty */
    uint32_t cons_mask;  /* capacity - 1, the consumer's copy */
    void **cons_slots;   /* capacity slots, the consumer's copy of the pointer */

    /* producer */
    alignas(SL_CACHE_LINE) _Atomic uint32_t tail; /* next counter to push; free-running */
    uint32_t head_cache; /* producer's last view of head; refreshed when it looks full */
    uint32_t prod_mask;  /* capacity - 1, the producer's copy */
    void **prod_slots;   /* capacity slots, the producer's copy of the pointer */
    /* the struct's alignment pads the producer's line to its end, so the
     * slots sl_ring_create() places after the struct start on a line of
     * their own */
};

static_assert(offsetof(struct sl_ring, tail) - offsetof(struct sl_ring, head) >= SL_CACHE_LINE,
              "head and tail must sit on separate cache lines");
static_assert(offsetof(struct sl_ring, prod_slots) < offsetof(struct sl_ring, tail) + SL_CACHE_LINE,
              "the producer's fields must share one cache line");
static_assert(offsetof(struct sl_ring, cons_slots) < offsetof(struct sl_ring, head) + SL_CACHE_LINE,
              "the consumer's fields must share one cache line");
static_assert(sizeof(struct sl_ring) % SL_CACHE_LINE == 0 &&
                  sizeof(struct sl_ring) - offsetof(struct sl_ring, tail) >= SL_CACHE_LINE,
              "slots must not share the producer's cache line");

/* Allocate a ring of capacity slots (a power of two, 1..SL_RING_CAPACITY_MAX).
 * Returns 0 and sets *ring_out, -EINVAL for a bad capacity, -ENOMEM. On
 * failure nothing is allocated. Start-up only: this allocates. */
int sl_ring_create(uint32_t capacity, struct sl_ring **ring_out);

/* Free a ring created by sl_ring_create(); neither side may still use it.
 * Pointers still queued are not touched. NULL is accepted. */
void sl_ring_destroy(struct sl_ring *ring);

static inline uint32_t sl_ring_capacity(const struct sl_ring *ring) { return ring->prod_mask + 1; }

/* Producer only. Append item (any pointer, NULL included).
 * Returns 0, or -EAGAIN if the ring is full (nothing changed). */
static inline int sl_ring_push(struct sl_ring *ring, void *item)
{
    /* relaxed: tail is written only by this thread */
    uint32_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
    if (SL_UNLIKELY(tail - ring->head_cache > ring->prod_mask)) {
        /* acquire: pairs with the release store of head in sl_ring_pop*(), so
         * the consumer's reads of the slots it freed happen before we reuse them */
        ring->head_cache = atomic_load_explicit(&ring->head, memory_order_acquire);
        if (tail - ring->head_cache > ring->prod_mask)
            return -EAGAIN;
    }
    ring->prod_slots[tail & ring->prod_mask] = item;
    /* release: publishes the slot written above; pairs with the acquire load
     * of tail in sl_ring_pop*() */
    atomic_store_explicit(&ring->tail, tail + 1, memory_order_release);
    return 0;
}

/* Consumer only. Remove the oldest item into *item.
 * Returns 0, or -EAGAIN if the ring is empty (*item untouched). */
static inline int sl_ring_pop(struct sl_ring *ring, void **item)
{
    /* relaxed: head is written only by this thread */
    uint32_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
    if (SL_UNLIKELY(head == ring->tail_cache)) {
        /* acquire: pairs with the release store of tail in sl_ring_push*(), so
         * the slots it published are visible before we read them */
        ring->tail_cache = atomic_load_explicit(&ring->tail, memory_order_acquire);
        if (head == ring->tail_cache)
            return -EAGAIN;
    }
    *item = ring->cons_slots[head & ring->cons_mask];
    /* release: orders the slot read above before the producer may overwrite
     * it; pairs with the acquire load of head in sl_ring_push*() */
    atomic_store_explicit(&ring->head, head + 1, memory_order_release);
    return 0;
}

/* Copy n pointers between a linear array and the ring's slots starting at
 * counter start, in at most two pieces (the second after the wrap). */
static inline void sl_ring_copy_in(void **slots, uint32_t mask, uint32_t start, void *const *items,
                                   uint32_t n)
{
    uint32_t first = start & mask;
    uint32_t run = mask + 1 - first < n ? mask + 1 - first : n;
    memcpy(&slots[first], items, run * sizeof(*items));
    memcpy(&slots[0], items + run, (n - run) * sizeof(*items));
}

static inline void sl_ring_copy_out(void **items, void *const *slots, uint32_t mask, uint32_t start,
                                    uint32_t n)
{
    uint32_t first = start & mask;
    uint32_t run = mask + 1 - first < n ? mask + 1 - first : n;
    memcpy(items, &slots[first], run * sizeof(*items));
    memcpy(items + run, &slots[0], (n - run) * sizeof(*items));
}

/* Producer only. Append up to n items in order, as many as fit.
 * Returns the number appended (0..n); items[returned..n) were not taken. */
static inline uint32_t sl_ring_push_batch(struct sl_ring *ring, void *const *items, uint32_t n)
{
    /* relaxed: tail is written only by this thread */
    uint32_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
    uint32_t room = ring->prod_mask + 1 - (tail - ring->head_cache);
    if (room < n) {
        /* acquire: pairs with the release store of head in sl_ring_pop*()
         * (the consumer is done reading the slots we are about to reuse) */
        ring->head_cache = atomic_load_explicit(&ring->head, memory_order_acquire);
        room = ring->prod_mask + 1 - (tail - ring->head_cache);
        n = room < n ? room : n;
    }
    if (n == 0)
        return 0;
    sl_ring_copy_in(ring->prod_slots, ring->prod_mask, tail, items, n);
    /* release: publishes the n slots written above; pairs with the acquire
     * load of tail in sl_ring_pop*() */
    atomic_store_explicit(&ring->tail, tail + n, memory_order_release);
    return n;
}

/* Consumer only. Remove up to n of the oldest items, in order, into items.
 * Returns the number removed (0..n). */
static inline uint32_t sl_ring_pop_batch(struct sl_ring *ring, void **items, uint32_t n)
{
    /* relaxed: head is written only by this thread */
    uint32_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
    uint32_t ready = ring->tail_cache - head;
    if (ready < n) {
        /* acquire: pairs with the release store of tail in sl_ring_push*()
         * (the slots it published are visible before we copy them) */
        ring->tail_cache = atomic_load_explicit(&ring->tail, memory_order_acquire);
        ready = ring->tail_cache - head;
        n = ready < n ? ready : n;
    }
    if (n == 0)
        return 0;
    sl_ring_copy_out(items, ring->cons_slots, ring->cons_mask, head, n);
    /* release: orders the slot reads above before the producer may overwrite
     * those slots; pairs with the acquire load of head in sl_ring_push*() */
    atomic_store_explicit(&ring->head, head + n, memory_order_release);
    return n;
}

/* Any thread. A snapshot of the fill level, 0..capacity; exact only when
 * neither side is running, otherwise already stale when it returns. */
static inline uint32_t sl_ring_count(const struct sl_ring *ring)
{
    /* acquire: pairs with the release store of head in sl_ring_pop*(); the
     * consumer had seen a tail >= that head, so the tail load below (ordered
     * after this one) sees one too and the difference cannot go negative */
    uint32_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
    /* relaxed: only a snapshot; ordered after the head load by its acquire */
    uint32_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
    uint32_t count = tail - head;
    return count > ring->prod_mask ? ring->prod_mask + 1 : count;
}

/* Producer only (exact there: only the consumer can change the answer, and
 * only from true to false). Does not refresh the producer's cache. */
static inline bool sl_ring_is_full(const struct sl_ring *ring)
{
    /* relaxed: tail is written only by this (the producer's) thread */
    uint32_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
    /* acquire: pairs with the release store of head in sl_ring_pop*(), like
     * the refresh in sl_ring_push(), so a "not full" answer can be acted on */
    uint32_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
    return tail - head > ring->prod_mask;
}

/* Consumer only (exact there: only the producer can change the answer, and
 * only from true to false). Does not refresh the consumer's cache. */
static inline bool sl_ring_is_empty(const struct sl_ring *ring)
{
    /* relaxed: head is written only by this (the consumer's) thread */
    uint32_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
    /* acquire: pairs with the release store of tail in sl_ring_push*(), like
     * the refresh in sl_ring_pop(), so a "not empty" answer can be acted on */
    uint32_t tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
    return head == tail;
}

#endif
