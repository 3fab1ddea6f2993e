/* pool.c - batch pools: an owner-private stack of free batches, refilled in
 * bulk from one SPSC return ring per returning thread; see pool.h for the
 * threading contract. */
#include "core/pool.h"

#include <stdlib.h>

#include "core/ring.h"

/* Created and used by its owner thread; only the return rings are shared. */
struct sl_pool {
    struct sl_batch *batches; /* all batches_count batches, one array */
    void **free;              /* stack of struct sl_batch * at home; owner only */
    uint32_t free_count;      /* entries used in free; owner only */
    uint32_t batches_count;   /* batches owned in all */
    uint32_t returners;       /* return rings */
    uint32_t next_return;     /* the ring sl_pool_get() looks at next; owner only */
    struct sl_ring *returns[]; /* returns[r]: producer = returner r, consumer = owner */
};

static uint32_t round_up_pow2(uint32_t n)
{
    uint32_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

static bool pool_config_valid(const struct sl_pool_config *config)
{
    return config->batches >= 1 && config->batches <= SL_POOL_BATCHES_MAX &&
           config->returners <= SL_POOL_RETURNERS_MAX;
}

/* Allocate the batches and put them all on the free stack. */
static int pool_fill(struct sl_pool *pool, const struct sl_batch_limits *limits)
{
    for (uint32_t i = 0; i < pool->batches_count; i++) {
        int rc = sl_batch_init(&pool->batches[i], limits);
        if (rc < 0)
            return rc;
        pool->batches[i].pool = pool;
        pool->free[pool->free_count++] = &pool->batches[i];
    }
    return 0;
}

int sl_pool_create(const struct sl_pool_config *config, struct sl_pool **pool_out)
{
    if (!pool_config_valid(config))
        return -EINVAL;
    int rc = -ENOMEM;
    struct sl_pool *pool = calloc(1, sizeof(*pool) + config->returners * sizeof(pool->returns[0]));
    if (pool == NULL)
        return -ENOMEM;
    pool->batches_count = config->batches;
    pool->returners = config->returners;
    pool->batches = calloc(config->batches, sizeof(*pool->batches));
    pool->free = calloc(config->batches, sizeof(*pool->free));
    if (pool->batches == NULL || pool->free == NULL)
        goto fail;
    /* each ring holds every batch, so a return can never find it full */
    uint32_t ring_capacity = round_up_pow2(config->batches);
    for (uint32_t r = 0; r < config->returners; r++) {
        rc = sl_ring_create(ring_capacity, &pool->returns[r]);
        if (rc < 0)
            goto fail;
    }
    rc = pool_fill(pool, &config->limits);
    if (rc < 0)
        goto fail;
    *pool_out = pool;
    return 0;
fail:
    sl_pool_destroy(pool);
    return rc;
}

void sl_pool_destroy(struct sl_pool *pool)
{
    if (pool == NULL)
        return;
    for (uint32_t r = 0; r < pool->returners; r++)
        sl_ring_destroy(pool->returns[r]);
    /* calloc'd, so batches never initialised are zero and fini is a no-op */
    for (uint32_t i = 0; pool->batches != NULL && i < pool->batches_count; i++)
        sl_batch_fini(&pool->batches[i]);
    free(pool->batches);
    free(pool->free);
    free(pool);
}

/* Moves the batches waiting in return ring r onto the free stack. Cost: an
 * acquire load of the ring's tail (a cache line the returner writes) and a
 * copy of the pointers. */
static void pool_collect_ring(struct sl_pool *pool, uint32_t r)
{
    uint32_t room = pool->batches_count - pool->free_count;
    void **top = &pool->free[pool->free_count];
    pool->free_count += sl_ring_pop_batch(pool->returns[r], top, room);
}

static void pool_collect(struct sl_pool *pool)
{
    for (uint32_t r = 0; r < pool->returners; r++)
        pool_collect_ring(pool, r);
}

/* Before every take one return ring, in turn, is collected (all of them
 * when none is at home), its batches pushed on top of the free stack: the
 * batch handed out is mostly one just used, its arena still mapped and
 * warm, and batches a light load does not need stay untouched. */
int sl_pool_get(struct sl_pool *pool, struct sl_batch **batch_out)
{
    if (pool->returners) {
        pool_collect_ring(pool, pool->next_return);
        pool->next_return = (pool->next_return + 1) % pool->returners;
    }
    if (pool->free_count == 0)
        pool_collect(pool);
    if (pool->free_count == 0)
        return -EAGAIN;
    struct sl_batch *batch = pool->free[--pool->free_count];
    sl_batch_reset(batch);
    *batch_out = batch;
    return 0;
}

void sl_pool_put(struct sl_pool *pool, struct sl_batch *batch)
{
    SL_ASSERT(batch->pool == pool);
    /* more than batches_count would mean a batch was put back twice */
    SL_ASSERT(pool->free_count < pool->batches_count);
    pool->free[pool->free_count++] = batch;
}

void sl_pool_return(struct sl_batch *batch, uint32_t returner)
{
    struct sl_pool *pool = batch->pool;
    SL_ASSERT(pool != NULL && returner < pool->returners);
    int rc = sl_ring_push(pool->returns[returner], batch);
    /* the ring holds every batch the pool has: full means a double return */
    SL_ASSERT(rc == 0);
}

uint32_t sl_pool_available(const struct sl_pool *pool)
{
    uint32_t available = pool->free_count;
    for (uint32_t r = 0; r < pool->returners; r++)
        available += sl_ring_count(pool->returns[r]);
    return available;
}

uint32_t sl_pool_size(const struct sl_pool *pool) { return pool->batches_count; }
