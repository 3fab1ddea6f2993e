/*
 * source_ack.c - ack tracking of a tcp source (see source_ack.h): records
 * of which worker batch holds which events of each ack-mode connection,
 * advanced over the workers' done tags into the cumulative counts the io
 * thread sends. No allocation after create; note() is O(1) (one map probe,
 * cached for runs of one connection), advance() O(open connections +
 * records completed).
 */
#include "graph/source_ack.h"

#include <errno.h>
#include <stdlib.h>

#include "core/assert.h"
#include "core/log.h"

#define ACK_NONE UINT32_MAX
#define ACK_ADVANCE_NS 1000000u /* counts are recomputed at most this often unless forced */

struct ack_record {
    uint32_t next;      /* next record of the same connection, or ACK_NONE */
    uint32_t worker;
    uint64_t tag;       /* the worker batch's tag */
    uint64_t seq_end;   /* 1 + seq of the connection's last event in that batch */
};

/* One connection slot as this thread sees it. */
struct ack_conn {
    struct sl_ingest_ack *cell;
    bool open;          /* announced and not yet released */
    bool closing;       /* its end is announced: total and good_end are valid */
    uint32_t head, tail; /* its records, oldest first */
    uint32_t open_pos;  /* index in open_slots */
    uint64_t seen_end;  /* 1 + seq of its last event recorded */
    uint64_t handled;   /* the count last published */
    uint64_t total, good_end;
};

struct sl_source_acks {
    struct sl_ring *ring;
    struct ack_conn *conns;     /* connections_max, by slot */
    uint32_t *open_slots;       /* slots of open connections */
    uint32_t open_count;
    uint32_t *map;              /* conn id -> slot + 1 (0: empty), linear probing */
    uint32_t *map_ids;
    uint32_t map_mask;
    struct ack_record *records;
    uint32_t free_head;         /* free records, linked by next */
    uint32_t cache_id, cache_slot; /* the last connection looked up */
    uint64_t next_advance_ns;
};

int sl_source_acks_create(struct sl_ring *ring, uint32_t connections_max, uint32_t records_max,
                          struct sl_source_acks **acks_out)
{
    struct sl_source_acks *acks = calloc(1, sizeof(*acks));
    SL_ASSERT(acks && records_max > 0);
    uint32_t map_size = 1;
    while (map_size < 2 * connections_max)
        map_size <<= 1;
    acks->ring = ring;
    acks->conns = calloc(connections_max, sizeof(*acks->conns));
    acks->open_slots = calloc(connections_max, sizeof(uint32_t));
    acks->map = calloc(map_size, sizeof(uint32_t));
    acks->map_ids = calloc(map_size, sizeof(uint32_t));
    acks->records = calloc(records_max, sizeof(*acks->records));
    if (!acks->conns || !acks->open_slots || !acks->map || !acks->map_ids || !acks->records) {
        sl_source_acks_destroy(acks);
        return -ENOMEM;
    }
    acks->map_mask = map_size - 1;
    for (uint32_t i = 0; i < records_max; i++)
        acks->records[i].next = i + 1 < records_max ? i + 1 : ACK_NONE;
    acks->cache_slot = ACK_NONE;
    *acks_out = acks;
    return 0;
}

void sl_source_acks_destroy(struct sl_source_acks *acks)
{
    if (!acks)
        return;
    free(acks->conns);
    free(acks->open_slots);
    free(acks->map);
    free(acks->map_ids);
    free(acks->records);
    free(acks);
}

/* ---- conn id -> slot ---- */

static uint32_t map_home(const struct sl_source_acks *acks, uint32_t id)
{
    return (id * 2654435761u) & acks->map_mask;
}

static void map_insert(struct sl_source_acks *acks, uint32_t id, uint32_t slot)
{
    uint32_t i = map_home(acks, id);
    while (acks->map[i]) /* never full: twice the connections */
        i = (i + 1) & acks->map_mask;
    acks->map[i] = slot + 1;
    acks->map_ids[i] = id;
}

static uint32_t map_find(const struct sl_source_acks *acks, uint32_t id)
{
    for (uint32_t i = map_home(acks, id); acks->map[i]; i = (i + 1) & acks->map_mask)
        if (acks->map_ids[i] == id)
            return acks->map[i] - 1;
    return ACK_NONE;
}

/* Removes id, shifting later entries of its probe run back (no tombstones). */
static void map_remove(struct sl_source_acks *acks, uint32_t id)
{
    uint32_t i = map_home(acks, id);
    while (acks->map_ids[i] != id || !acks->map[i])
        i = (i + 1) & acks->map_mask;
    acks->map[i] = 0;
    for (uint32_t j = (i + 1) & acks->map_mask; acks->map[j]; j = (j + 1) & acks->map_mask) {
        uint32_t home = map_home(acks, acks->map_ids[j]);
        /* entry j may move to the hole i unless its home lies in (i, j] */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays)
            continue;
        acks->map[i] = acks->map[j];
        acks->map_ids[i] = acks->map_ids[j];
        acks->map[j] = 0;
        i = j;
    }
}

/* ---- announcements ---- */

static void conn_open(struct sl_source_acks *acks, struct sl_ingest_ack *cell)
{
    struct ack_conn *conn = &acks->conns[cell->slot];
    *conn = (struct ack_conn){.cell = cell, .open = true, .head = ACK_NONE, .tail = ACK_NONE,
                              .open_pos = acks->open_count};
    acks->open_slots[acks->open_count++] = cell->slot;
    map_insert(acks, cell->conn_id, cell->slot);
}

static void conn_release(struct sl_source_acks *acks, struct ack_conn *conn)
{
    uint32_t slot = conn->cell->slot;
    SL_ASSERT(conn->head == ACK_NONE);
    map_remove(acks, conn->cell->conn_id);
    if (acks->cache_slot == slot)
        acks->cache_slot = ACK_NONE;
    uint32_t last = acks->open_slots[--acks->open_count];
    acks->open_slots[conn->open_pos] = last;
    acks->conns[last].open_pos = conn->open_pos;
    conn->open = false;
    /* release: the io thread reads handled after its acquire load of
     * released and may then reuse the cell for another connection */
    atomic_store_explicit(&conn->cell->released, true, memory_order_release);
}

void sl_source_acks_announced(struct sl_source_acks *acks)
{
    void *item;
    while (sl_ring_pop(acks->ring, &item) == 0) {
        struct sl_ingest_ack *cell = item;
        struct ack_conn *conn = &acks->conns[cell->slot];
        if (!conn->open) {
            conn_open(acks, cell);
            continue;
        }
        conn->closing = true;
        conn->total = cell->total;
        conn->good_end = cell->good_end;
    }
}

/* ---- records ---- */

int sl_source_acks_note(struct sl_source_acks *acks, uint32_t conn_id, uint64_t seq,
                        uint32_t worker, uint64_t tag)
{
    if (acks->open_count == 0)
        return 0;
    uint32_t slot = acks->cache_slot;
    if (slot == ACK_NONE || acks->cache_id != conn_id) {
        slot = map_find(acks, conn_id);
        if (slot == ACK_NONE)
            return 0; /* not in ack mode */
        acks->cache_id = conn_id;
        acks->cache_slot = slot;
    }
    struct ack_conn *conn = &acks->conns[slot];
    struct ack_record *tail = conn->tail == ACK_NONE ? NULL : &acks->records[conn->tail];
    if (tail && tail->worker == worker && tail->tag == tag) {
        tail->seq_end = seq + 1;
        conn->seen_end = seq + 1;
        return 0;
    }
    if (acks->free_head == ACK_NONE)
        return -EAGAIN;
    uint32_t index = acks->free_head;
    struct ack_record *record = &acks->records[index];
    acks->free_head = record->next;
    *record = (struct ack_record){.next = ACK_NONE, .worker = worker, .tag = tag,
                                  .seq_end = seq + 1};
    if (tail)
        tail->next = index;
    else
        conn->head = index;
    conn->tail = index;
    conn->seen_end = seq + 1;
    return 0;
}

/* Pops the connection's completed records; returns its handled count. */
static uint64_t conn_advance(struct sl_source_acks *acks, struct ack_conn *conn,
                             const uint64_t *done)
{
    uint64_t handled = conn->handled;
    while (conn->head != ACK_NONE) {
        struct ack_record *record = &acks->records[conn->head];
        if (record->tag > done[record->worker])
            break;
        handled = record->seq_end;
        uint32_t next = record->next;
        record->next = acks->free_head;
        acks->free_head = conn->head;
        conn->head = next;
    }
    if (conn->head == ACK_NONE)
        conn->tail = ACK_NONE;
    if (!conn->closing)
        return handled;
    if (conn->head == ACK_NONE && conn->seen_end >= conn->good_end)
        return conn->total; /* every event seen and handled: the rejected rest too */
    return handled < conn->total ? handled : conn->total;
}

void sl_source_acks_advance(struct sl_source_acks *acks, const uint64_t *done, bool force)
{
    uint64_t now = sl_now_ns();
    if (!force && now < acks->next_advance_ns)
        return;
    acks->next_advance_ns = now + ACK_ADVANCE_NS;
    for (uint32_t i = 0; i < acks->open_count;) {
        struct ack_conn *conn = &acks->conns[acks->open_slots[i]];
        uint64_t handled = conn_advance(acks, conn, done);
        if (handled != conn->handled) {
            conn->handled = handled;
            /* release: the sinks' writes these events needed happened
             * before (acquire chain sink -> worker -> here); pairs with the
             * io thread's acquire load before it sends the count */
            atomic_store_explicit(&conn->cell->handled, handled, memory_order_release);
        }
        if (conn->closing && conn->head == ACK_NONE && handled == conn->total &&
            conn->seen_end >= conn->good_end) {
            conn_release(acks, conn); /* moves the last open slot to i */
            continue;
        }
        i++;
    }
}
