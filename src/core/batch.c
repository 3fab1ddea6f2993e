/* batch.c - allocation of a batch's arena and index; the data path (reserve,
 * commit, control records) is static inline in batch.h. */
#include "core/batch.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif
#define BATCH_POPULATE_CHUNK (128u << 10)

/* cleared once the kernel refuses MADV_POPULATE_WRITE; relaxed: a hint */
static atomic_bool populate_works = true;

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

void sl_batch_populate(struct sl_batch *batch, uint32_t end)
{
    uint32_t from = batch->populated;
    uint64_t chunk = BATCH_POPULATE_CHUNK;
    uint64_t to = ((uint64_t)end + chunk - 1) & ~(chunk - 1);
    if (to > batch->arena_bytes_max)
        to = batch->arena_bytes_max;
    batch->populated = (uint32_t)to;
    if (!atomic_load_explicit(&populate_works, memory_order_relaxed))
        return;
    /* the pages of [from, to) that lie wholly inside the arena (a page it
     * shares with other memory is left to fault in); the page holding from
     * is one the previous call left out, or already mapped */
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t base = ((uintptr_t)batch->arena + page - 1) & ~(page - 1);
    uintptr_t start = ((uintptr_t)batch->arena + from) & ~(page - 1);
    uintptr_t stop = ((uintptr_t)batch->arena + to) & ~(page - 1);
    if (start < base)
        start = base;
    int saved = errno; /* reserve leaves errno alone */
    if (stop > start && madvise((void *)start, stop - start, MADV_POPULATE_WRITE) != 0 &&
        errno == EINVAL)
        atomic_store_explicit(&populate_works, false, memory_order_relaxed);
    errno = saved;
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
