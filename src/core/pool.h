/* pool.h - a fixed set of batches, allocated once, handed out and taken
 * back without allocating.
 *
 * Threading contract:
 *   - One owner thread (the one that fills batches, e.g. an io thread)
 *     creates the pool, and is the only thread that calls sl_pool_get(),
 *     sl_pool_put() and sl_pool_destroy(). Creating it on the owner thread
 *     also puts the batches in that thread's jemalloc arena when jemalloc is
 *     the allocator.
 *   - Up to `returners` other threads (e.g. workers or sinks done with a
 *     batch) give batches back with sl_pool_return(batch, returner), each
 *     through its own SPSC ring: returner index r is used by one thread at
 *     a time, and that thread is the ring's producer; the owner is the
 *     consumer of every return ring. The ring's release/acquire pair hands
 *     the batch's contents over, so the owner may refill it at once.
 *   - Every return ring has room for all the pool's batches, so a return
 *     never fails and never waits.
 *   - sl_pool_destroy() needs every thread to be done with every batch; it
 *     frees the batches wherever they are.
 *
 * Backpressure: when every batch is out, sl_pool_get() fails with -EAGAIN
 * and the pool never grows; the caller stops taking input until batches
 * come back. Memory is bounded by batches x (arena_bytes_max + 32 x
 * (events_max + SL_BATCH_CONTROLS_MAX)) plus the rings.
 */
#ifndef SL_CORE_POOL_H
#define SL_CORE_POOL_H

#include <stdint.h>

#include "core/batch.h"

#define SL_POOL_BATCHES_MAX (UINT32_C(1) << 20) /* batches per pool */
#define SL_POOL_RETURNERS_MAX 256u              /* return rings per pool */

struct sl_pool_config {
    uint32_t batches;              /* batches preallocated, 1..SL_POOL_BATCHES_MAX */
    uint32_t returners;            /* threads besides the owner that return batches */
    struct sl_batch_limits limits; /* size of every batch */
};

struct sl_pool;

/* Allocate the pool and all its batches. Returns 0 and sets *pool_out,
 * -EINVAL for a bad config, -ENOMEM (nothing left allocated). Owner thread,
 * start-up only. */
int sl_pool_create(const struct sl_pool_config *config, struct sl_pool **pool_out);

/* Free the pool and every batch it made; see the contract above. NULL is
 * accepted. Owner thread. */
void sl_pool_destroy(struct sl_pool *pool);

/* Owner thread. Take an empty batch (reset, batch->pool == pool): first
 * collects the batches waiting in one return ring, in turn (in all of them
 * when none is at home), then hands out the one that came home last (its
 * pages are mapped and warm; batches a light load never needs are never
 * touched). Returns 0 and sets *batch_out, or -EAGAIN when every batch is
 * out. */
int sl_pool_get(struct sl_pool *pool, struct sl_batch **batch_out);

/* Owner thread. Give back a batch of this pool that never left the owner
 * thread (or came back to it by other means). */
void sl_pool_put(struct sl_pool *pool, struct sl_batch *batch);

/* Returner thread number returner (< config.returners). Send batch back to
 * its home pool; never fails, never blocks, allocates nothing. */
void sl_pool_return(struct sl_batch *batch, uint32_t returner);

/* Owner thread. Batches at home plus those already in the return rings: a
 * snapshot, since returners may add more at any time. */
uint32_t sl_pool_available(const struct sl_pool *pool);

/* Number of batches the pool owns in all (config.batches). */
uint32_t sl_pool_size(const struct sl_pool *pool);

#endif
