/* batch.h - the unit that crosses threads: an arena of event bytes plus an
 * index of entries, each an event or a control record, in stream order.
 *
 * Arena format: events are placed back to back, each starting at an offset
 * that is a multiple of SL_BATCH_ALIGN (8) from the arena's start, and the
 * arena itself starts on a cache line, so every event starts on an 8-byte
 * address (a FlatBuffer cut from a stream can be read in place; see
 * DESIGN.md on alignment). Between events lie at most 7 padding bytes of
 * unspecified content.
 *
 *   arena:  | ev0 ..... |pad| ev1 .. |pad| ev2 ...... |      unused      |
 *           0           8k           8m               arena_used   arena_bytes_max
 *   index:  [ev0][ev1][WATERMARK][ev2][END_OF_STREAM]     (entries_used = 5)
 *
 * Filling (one thread): reserve room for an event with sl_batch_reserve(),
 * copy or receive the bytes into it, then sl_batch_commit() the length
 * actually used with the event's source position; a reservation that is not
 * committed is abandoned by the next reserve or by a reset. Control records
 * go in with sl_batch_add_control(), in order with the events.
 *
 * Limits: at most events_max events and arena_bytes_max arena bytes (both
 * fixed at init), plus at most SL_BATCH_CONTROLS_MAX control records, so a
 * batch full of events still has room to carry end-of-stream or a barrier.
 *
 * Threading: a batch belongs to one thread at a time; ownership moves with
 * the batch pointer through a ring (whose release/acquire pair makes the
 * contents visible to the next owner). Nothing here allocates except
 * sl_batch_init(); all data-path operations are O(1).
 */
#ifndef SL_CORE_BATCH_H
#define SL_CORE_BATCH_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/assert.h"

#define SL_BATCH_ALIGN 8u                          /* bytes; every event offset is a multiple */
#define SL_BATCH_CONTROLS_MAX 16u                  /* control records per batch, beyond events */
#define SL_BATCH_EVENTS_MAX (UINT32_C(1) << 20)    /* largest events_max accepted by init */
#define SL_BATCH_ARENA_BYTES_MAX (UINT32_C(1) << 30) /* largest arena accepted by init */
#define SL_KEY_GROUP_NONE UINT32_MAX               /* key_group of an entry not yet assigned */

/* What an entry is. Control records carry no bytes in the arena. */
enum sl_entry_kind {
    SL_ENTRY_EVENT = 0,        /* offset/len name the event's bytes in the arena */
    SL_CTRL_END_OF_STREAM = 1, /* the source named by source_id has no more events: drain */
    SL_CTRL_WATERMARK = 2,     /* value = event time, µs: no older events follow from source */
    SL_CTRL_CHECKPOINT = 3,    /* value = checkpoint id: barrier, snapshot state when it passes */
};

/* One index entry, 32 bytes. Written by the thread filling the batch;
 * key_group may be rewritten by whichever thread owns the batch later. */
struct sl_batch_entry {
    uint32_t kind;      /* enum sl_entry_kind */
    uint32_t key_group; /* key group / hash slot the graph fills; SL_KEY_GROUP_NONE until then */
    uint32_t offset;    /* event: byte offset in the arena, a multiple of 8; control: 0 */
    uint32_t len;       /* event: length in bytes; control: 0 */
    uint32_t source_id; /* the source the event or control record came from */
    uint32_t pad;       /* zero */
    union {
        uint64_t position;      /* event: source position (Kafka offset, file offset, TCP seq) */
        uint64_t watermark_us;  /* SL_CTRL_WATERMARK: event time, µs since the epoch */
        uint64_t checkpoint_id; /* SL_CTRL_CHECKPOINT */
        uint64_t value;         /* any control record (0 for SL_CTRL_END_OF_STREAM) */
    };
};

static_assert(sizeof(struct sl_batch_entry) == 32, "entry layout");

/* Sizes of a batch, fixed when it is initialised (for pooled batches: when
 * the pool is created). */
struct sl_batch_limits {
    uint32_t events_max;      /* events per batch, 1..SL_BATCH_EVENTS_MAX */
    uint32_t arena_bytes_max; /* arena bytes, 1..SL_BATCH_ARENA_BYTES_MAX; rounded up to 8 */
};

struct sl_pool;

/* A batch; owned by one thread at a time (see the file comment). */
struct sl_batch {
    uint8_t *arena;                 /* arena_bytes_max bytes, cache-line aligned */
    struct sl_batch_entry *entries; /* events_max + SL_BATCH_CONTROLS_MAX entries */
    struct sl_pool *pool;           /* home pool; NULL for a batch not from a pool */
    uint32_t events_max;            /* limit on events */
    uint32_t arena_bytes_max;       /* limit on arena bytes, a multiple of 8 */
    uint32_t entries_used;          /* entries[0..entries_used) are valid, in stream order */
    uint32_t events_used;           /* events among them */
    uint32_t controls_used;         /* control records among them */
    uint32_t arena_used;            /* bytes: end of the last committed event */
    uint32_t reserve_offset;        /* bytes: start of the open reservation */
    uint32_t reserve_len;           /* bytes: size of the open reservation */
    bool reserve_open;              /* a reservation awaits sl_batch_commit() */
    uint32_t populated;             /* arena bytes mapped by sl_batch_populate(); reset keeps it */
    uint64_t tag;                   /* the filling thread's own mark (e.g. the worker round
                                       a sink batch belongs to); reset does not touch it */
};

/* Allocate the arena and index of batch for limits. Returns 0, -EINVAL for
 * limits out of range, -ENOMEM (nothing left allocated). Start-up only. */
int sl_batch_init(struct sl_batch *batch, const struct sl_batch_limits *limits);

/* Free what sl_batch_init() allocated. Safe on a zeroed or finished batch. */
void sl_batch_fini(struct sl_batch *batch);

/* Empty the batch (entries, arena and any open reservation); O(1). */
static inline void sl_batch_reset(struct sl_batch *batch)
{
    batch->entries_used = 0;
    batch->events_used = 0;
    batch->controls_used = 0;
    batch->arena_used = 0;
    batch->reserve_open = false;
}

/* Maps the arena's pages up to at least end bytes, a chunk at a time
 * (MADV_POPULATE_WRITE), before they are first written: one call instead
 * of a page fault per 4 KiB page. The pages stay: batches live as long as
 * their pool. Without the call (Linux < 5.14) the pages fault in as usual. */
void sl_batch_populate(struct sl_batch *batch, uint32_t end);

/* Reserve len bytes for the next event at the next 8-aligned arena offset
 * and return where to write them (8-byte aligned), or NULL when the batch
 * already holds events_max events or len bytes do not fit in what is left
 * (send this batch, take another). A len above arena_bytes_max never fits:
 * callers cap frame sizes below it. Replaces any open reservation. */
static inline void *sl_batch_reserve(struct sl_batch *batch, uint32_t len)
{
    /* arena_used <= arena_bytes_max, a multiple of 8 below 2^30: no overflow */
    uint32_t offset = (batch->arena_used + SL_BATCH_ALIGN - 1) & ~(SL_BATCH_ALIGN - 1);
    if (batch->events_used == batch->events_max || len > batch->arena_bytes_max - offset) {
        batch->reserve_open = false;
        return NULL;
    }
    if (offset + len > batch->populated)
        sl_batch_populate(batch, offset + len);
    batch->reserve_offset = offset;
    batch->reserve_len = len;
    batch->reserve_open = true;
    return batch->arena + offset;
}

/* Append the reserved event, keeping its first len bytes (len may be less
 * than reserved), with the position it came from. Closes the reservation.
 * Calling it without an open reservation, or with more than was reserved,
 * is a programmer error (asserts). */
static inline void sl_batch_commit(struct sl_batch *batch, uint32_t len, uint32_t source_id,
                                   uint64_t position)
{
    SL_ASSERT(batch->reserve_open && len <= batch->reserve_len);
    struct sl_batch_entry *entry = &batch->entries[batch->entries_used++];
    *entry = (struct sl_batch_entry){
        .kind = SL_ENTRY_EVENT,
        .key_group = SL_KEY_GROUP_NONE,
        .offset = batch->reserve_offset,
        .len = len,
        .source_id = source_id,
        .position = position,
    };
    batch->arena_used = batch->reserve_offset + len;
    batch->events_used++;
    batch->reserve_open = false;
}

/* Append a control record of kind (an SL_CTRL_* value) from source_id after
 * everything committed so far; value is the watermark (µs) or checkpoint id,
 * 0 for end-of-stream. Returns 0, or -ENOSPC when the batch already holds
 * SL_BATCH_CONTROLS_MAX control records. An open reservation stays open and,
 * if committed, lands after this record. */
static inline int sl_batch_add_control(struct sl_batch *batch, enum sl_entry_kind kind,
                                       uint32_t source_id, uint64_t value)
{
    SL_ASSERT(kind == SL_CTRL_END_OF_STREAM || kind == SL_CTRL_WATERMARK ||
              kind == SL_CTRL_CHECKPOINT);
    if (batch->controls_used == SL_BATCH_CONTROLS_MAX)
        return -ENOSPC;
    batch->entries[batch->entries_used++] = (struct sl_batch_entry){
        .kind = kind,
        .key_group = SL_KEY_GROUP_NONE,
        .source_id = source_id,
        .value = value,
    };
    batch->controls_used++;
    return 0;
}

/* Copy len bytes in as one event: reserve + memcpy + commit. Returns 0, or
 * -ENOSPC when it does not fit (the batch is unchanged). */
int sl_batch_append(struct sl_batch *batch, const void *bytes, uint32_t len, uint32_t source_id,
                    uint64_t position);

static inline uint32_t sl_batch_entry_count(const struct sl_batch *batch)
{
    return batch->entries_used;
}

/* Whether the batch holds events and no control record. */
static inline bool sl_batch_events_only(const struct sl_batch *batch)
{
    return batch->events_used > 0 && batch->controls_used == 0;
}

static inline uint32_t sl_batch_event_count(const struct sl_batch *batch)
{
    return batch->events_used;
}

static inline bool sl_batch_is_empty(const struct sl_batch *batch)
{
    return batch->entries_used == 0;
}

/* The i-th entry in stream order, i < sl_batch_entry_count(). */
static inline struct sl_batch_entry *sl_batch_entry_at(struct sl_batch *batch, uint32_t i)
{
    SL_DASSERT(i < batch->entries_used);
    return &batch->entries[i];
}

/* The bytes of an event entry (8-byte aligned; entry->len of them). */
static inline uint8_t *sl_batch_event_data(struct sl_batch *batch,
                                           const struct sl_batch_entry *entry)
{
    SL_DASSERT(entry->kind == SL_ENTRY_EVENT);
    return batch->arena + entry->offset;
}

#endif
