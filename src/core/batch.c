/* batch.c - allocation of a batch's arena and index; the data path (reserve,
 * commit, control records) is static inline in batch.h. */
#include "core/batch.h"

#include <stdlib.h>
#include <string.h>

static bool batch_limits_valid(const struct sl_batch_limits *limits)
{
    return limits->events_max >= 1 && limits->events_max <= SL_BATCH_EVENTS_MAX &&
           limits->arena_bytes_max >= 1 && limits->arena_bytes_max <= SL_BATCH_ARENA_BYTES_MAX;
}

int sl_batch_init(struct sl_batch *batch, const struct sl_batch_limits *limits)
{
    memset(batch, 0, sizeof(*batch));
    if (!batch_limits_valid(limits))
        return -EINVAL;
    uint32_t arena_bytes = (limits->arena_bytes_max + SL_BATCH_ALIGN - 1) & ~(SL_BATCH_ALIGN - 1);
    /* aligned_alloc wants a size that is a multiple of the alignment */
    size_t alloc_bytes = ((size_t)arena_bytes + SL_CACHE_LINE - 1) & ~(size_t)(SL_CACHE_LINE - 1);
    size_t entries = (size_t)limits->events_max + SL_BATCH_CONTROLS_MAX;
    batch->arena = aligned_alloc(SL_CACHE_LINE, alloc_bytes);
    batch->entries = calloc(entries, sizeof(*batch->entries));
    if (batch->arena == NULL || batch->entries == NULL)
        goto fail;
    batch->events_max = limits->events_max;
    batch->arena_bytes_max = arena_bytes;
    return 0;
fail:
    sl_batch_fini(batch);
    return -ENOMEM;
}

void sl_batch_fini(struct sl_batch *batch)
{
    free(batch->arena);
    free(batch->entries);
    memset(batch, 0, sizeof(*batch));
}

int sl_batch_append(struct sl_batch *batch, const void *bytes, uint32_t len, uint32_t source_id,
                    uint64_t position)
{
    void *dst = sl_batch_reserve(batch, len);
    if (dst == NULL)
        return -ENOSPC;
    if (len > 0) /* bytes may be NULL for an empty event */
        memcpy(dst, bytes, len);
    sl_batch_commit(batch, len, source_id, position);
    return 0;
}
