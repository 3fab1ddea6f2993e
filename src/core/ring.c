/* ring.c - creation and destruction of SPSC rings; the data path is all
 * static inline in ring.h. One allocation holds the ring header (two cache
 * lines) followed by the slots, which start on a cache line of their own. */
#include "core/ring.h"

#include <stdlib.h>

int sl_ring_create(uint32_t capacity, struct sl_ring **ring_out)
{
    if (capacity == 0 || capacity > SL_RING_CAPACITY_MAX || (capacity & (capacity - 1)) != 0)
        return -EINVAL;
    size_t bytes = sizeof(struct sl_ring) + (size_t)capacity * sizeof(void *);
    bytes = (bytes + SL_CACHE_LINE - 1) & ~(size_t)(SL_CACHE_LINE - 1);
    struct sl_ring *ring = aligned_alloc(SL_CACHE_LINE, bytes);
    if (ring == NULL)
        return -ENOMEM;
    memset(ring, 0, sizeof(*ring));
    void **slots = (void **)(ring + 1);
    atomic_init(&ring->head, 0);
    atomic_init(&ring->tail, 0);
    ring->tail_cache = 0;
    ring->head_cache = 0;
    ring->cons_mask = capacity - 1;
    ring->prod_mask = capacity - 1;
    ring->cons_slots = slots;
    ring->prod_slots = slots;
    *ring_out = ring;
    return 0;
}

void sl_ring_destroy(struct sl_ring *ring) { free(ring); }
