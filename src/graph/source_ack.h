/* source_ack.h - a tcp source's ack tracking on its source runner thread
 * (docs/tcp-ack.md): which worker batches hold each ack-mode connection's
 * events, and from the workers' completed batch tags, how many of its
 * frames are fully handled.
 *
 * Per ack-mode connection, a FIFO of records (worker w, batch tag t,
 * seq_end): "its events up to seq_end - 1 went into worker w's batch t".
 * Tags per worker only grow, and worker w reports the highest tag of which
 * every batch up to it is fully handled (sinks' writes returned), so the
 * connection's handled count is the seq_end of the last record at the
 * front of its FIFO whose tag is done. Sequence numbers of frames that were
 * rejected (sent to the errors port) fall in the gaps between records and
 * count as handled with the next record; those after the last event count
 * once the connection's end (total, good_end) is known and every event was
 * seen.
 *
 * Memory, fixed at create: a record pool (records_max), per connection slot
 * a little state, and a conn id -> slot map. A full record pool is
 * backpressure: sl_source_acks_note() returns -EAGAIN and the caller hands
 * on its open batches and waits for completions.
 *
 * @locality: the source runner thread only, except the sl_ingest_ack cells
 * (shared with the io thread, see io/ingest.h).
 */
#ifndef SL_GRAPH_SOURCE_ACK_H
#define SL_GRAPH_SOURCE_ACK_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/ring.h"
#include "io/ingest.h"

struct sl_source_acks;

/* ring: sl_ingest_ack_ring(); cells are the structs it carries. Returns 0
 * or -ENOMEM. */
int sl_source_acks_create(struct sl_ring *ring, uint32_t connections_max, uint32_t records_max,
                          struct sl_source_acks **acks_out);
void sl_source_acks_destroy(struct sl_source_acks *acks);

/* Takes the io thread's announcements (connections opened and ended). Call
 * after popping an ingest batch and before looking at its events. */
void sl_source_acks_announced(struct sl_source_acks *acks);

/* The event seq of connection conn_id went into worker's batch tag.
 * Returns 0 (also for connections not in ack mode), or -EAGAIN when the
 * record pool is empty (nothing recorded: hand on open batches, advance,
 * call again). */
int sl_source_acks_note(struct sl_source_acks *acks, uint32_t conn_id, uint64_t seq,
                        uint32_t worker, uint64_t tag);

/* Advances every connection over the workers' done tags (done[w]: every
 * batch to worker w with a tag up to it is handled) and publishes the
 * counts. At most once per millisecond unless force. */
void sl_source_acks_advance(struct sl_source_acks *acks, const uint64_t *done, bool force);

#endif
