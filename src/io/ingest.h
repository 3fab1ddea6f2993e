/* ingest.h - io_uring ingestion: one io thread takes bytes from a TCP
 * listener or a file, cuts them into events (`fb` or `jsonl` framing),
 * places them in batches and hands the batches to N consumer threads through
 * SPSC rings, with backpressure and bounded memory.
 *
 * What goes into a batch (the contract consumers rely on):
 *   - Each SL_ENTRY_EVENT entry is one complete size-prefixed FlatBuffer,
 *     [u32 little-endian L][L bytes], prefix included (entry->len = 4 + L),
 *     whose root is the envelope table sluice.Event. It starts at an
 *     8-aligned arena offset, so it can be read in place.
 *   - Every event has been checked: `fb` frames passed
 *     sl_fb_verify(prefixed = true, envelope, check_nested = true) at the
 *     boundary; `jsonl` lines were transcoded through the schemas by
 *     sl_fb_json_to_fb(size_prefixed = true), which only builds valid
 *     buffers (payloads included). Rejected input never enters a batch: it
 *     goes to the error path (ingest_error.h).
 *   - Source position: TCP events carry entry->source_id = the connection
 *     id (1, 2, ... in accept order) and entry->position = the frame's or
 *     line's per-connection sequence number (0-based; rejected frames use
 *     numbers too, so gaps mark them). File events carry source_id =
 *     config.source_id and position = the file byte offset of the frame's
 *     prefix or the line's first byte.
 *   - Within a connection (or the file) events arrive in stream order;
 *     batches are filled with events of every connection in arrival order.
 *   - End of stream (file EOF without follow, or sl_ingest_stop()) reaches
 *     every consumer as one SL_CTRL_END_OF_STREAM control record with
 *     source_id = config.source_id, after all of that consumer's events;
 *     nothing follows it.
 *
 * Stop (TCP): sl_ingest_stop() stops accepting connections but keeps
 * reading every open one until the peer's EOF (half-close or close) or
 * until config.drain_timeout_ms has passed; then every complete frame is
 * delivered, a frame cut short is reported as truncated, and the stream
 * ends. So a client that wrote and half-closed before the stop loses
 * nothing, even if its bytes were still in the socket buffer.
 *
 * Ack mode (TCP, config.ack; wire format in docs/tcp-ack.md): a client that
 * opens with SL_INGEST_ACK_HELLO gets cumulative acks. Its frames after the
 * hello are numbered from 0 as usual. The io thread announces the
 * connection to the consumer on sl_ingest_ack_ring() with its
 * struct sl_ingest_ack before any of its events enters a batch, and
 * announces its end (total, good_end) there before its last events are
 * handed on; the consumer publishes `handled` as frames get fully handled
 * and sets `released` when it is done with the connection; the io thread
 * sends `handled` to the client (coalesced) and, once released, the final
 * value, then closes. On a source without ack the hello closes the
 * connection with an error report.
 *
 * Consumers: consumer i pops batches from sl_ingest_ring(ingest, i) and,
 * done with one, gives it back with sl_pool_return(batch, i), or hands it
 * on to a thread that gives it back as returner consumers + j
 * (config.returners). Batches are
 * dealt round-robin, or by config.route when set (the hook the graph uses
 * to shard by key group).
 *
 * Backpressure: when the next batch cannot be handed on (the ring to its
 * consumer is full) and the pool has no free batch, the io thread stops
 * taking data: it cancels the connection's multishot recv (fallback: does
 * not re-arm its single-shot recv) so TCP flow control slows the client,
 * and stops reading the file; it resumes when a batch comes back. Memory is
 * bounded by sl_ingest_memory_bound() (docs/ingestion.md) whatever the load.
 *
 * Lifecycle: sl_ingest_create() (binds the listener, so the port is known),
 * start consumers, sl_ingest_run() on the io thread (returns after end of
 * stream was handed to every consumer), join consumers, sl_ingest_destroy().
 */
#ifndef SL_IO_INGEST_H
#define SL_IO_INGEST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/batch.h"
#include "core/ring.h"
#include "fb/fb.h"
#include "io/ingest_error.h"

#define SL_INGEST_CONSUMERS_MAX 64u
#define SL_INGEST_CONNECTIONS_MAX 65536u
#define SL_INGEST_ACK_HELLO "SLACK\0\0\1" /* a client's first 8 bytes: ack mode, version 1 */
#define SL_INGEST_ACK_HELLO_BYTES 8u

enum sl_ingest_source { SL_INGEST_TCP, SL_INGEST_FILE };
enum sl_ingest_framing { SL_INGEST_FB, SL_INGEST_JSONL };

/* Which receive path the TCP source runs. */
enum sl_ingest_path {
    SL_INGEST_PATH_NONE,      /* not started (or a file source) */
    SL_INGEST_PATH_MULTISHOT, /* multishot accept + multishot recv on a provided-buffer ring */
    SL_INGEST_PATH_FALLBACK,  /* single-shot accept + single-shot recv into per-connection buffers */
};

/* Picks the consumer (0..consumers-1) for a full batch; NULL: round-robin. */
typedef uint32_t (*sl_ingest_route_fn)(void *ctx, const struct sl_batch *batch,
                                       uint32_t consumers);

struct sl_ingest_config {
    enum sl_ingest_source source;
    enum sl_ingest_framing framing;
    uint32_t source_id;            /* names this source in control records and errors */
    const struct sl_fb_schemas *schemas; /* envelope + payload schemas; outlive the ingest */

    /* TCP */
    const char *listen_host;       /* numeric IPv4 address, e.g. "127.0.0.1" */
    uint16_t listen_port;          /* 0: ephemeral (see sl_ingest_port()) */
    uint32_t connections_max;      /* open connections; more are closed at accept (counted) */
    uint32_t bufring_entries;      /* provided buffers, a power of two <= 32768 */
    uint32_t buf_bytes;            /* bytes per provided buffer; fallback recv buffer <= 16 KiB */
    bool force_fallback;           /* use single-shot accept/recv even when multishot works */
    bool ack;                      /* clients may ask for ack mode (docs/tcp-ack.md) */
    uint32_t drain_timeout_ms;     /* after a stop: read open connections this long at most */

    /* file */
    const char *path;
    bool follow;                   /* at EOF poll for growth instead of ending */
    uint32_t follow_interval_ms;   /* growth poll period */
    uint32_t read_bytes;           /* bytes per read */

    /* framing and batches */
    uint32_t frame_bytes_max;      /* largest frame length L / JSON line; <= arena_bytes_max - 8 */
    uint32_t batches;              /* batches in the pool */
    uint32_t events_max;           /* events per batch */
    uint32_t arena_bytes_max;      /* arena bytes per batch */
    uint32_t flush_us;             /* a partly filled batch is handed on at most this long
                                    * after its first event */

    /* consumers */
    uint32_t consumers;            /* 1..SL_INGEST_CONSUMERS_MAX */
    /* other threads a consumer hands batches on to, which give them back
     * themselves with sl_pool_return(batch, consumers + i), i < returners
     * (a run's workers and sinks, run.h); 0 by default */
    uint32_t returners;
    uint32_t ring_capacity;        /* batches per consumer ring, a power of two */
    sl_ingest_route_fn route;      /* NULL: round-robin */
    void *route_ctx;

    /* errors: NULL -> sl_ingest_error_log with a rate limit */
    sl_ingest_error_fn on_error;
    void *on_error_ctx;
};

/* Counters; written by the io thread, read with sl_ingest_stats(). */
struct sl_ingest_stats {
    uint64_t events;              /* events placed in batches */
    uint64_t bytes;               /* bytes received / read (framing included) */
    uint64_t batches;             /* batches handed to consumers (control-only ones included) */
    uint64_t errors[SL_INGEST_ERR_KINDS];
    uint64_t connections;         /* accepted */
    uint64_t connections_rejected; /* closed at accept: connections_max reached */
    uint64_t pauses;              /* times a connection or the file stopped for backpressure */
    uint64_t blank_lines;         /* jsonl: empty lines skipped */
    enum sl_ingest_path path;
};

struct sl_ingest;

/* One ack-mode connection as the io thread and the consumer share it (one
 * per connection slot). The io thread writes conn_id before announcing the
 * connection and total/good_end before announcing its end, each published
 * by the release of the ring push; it writes them again for a new
 * connection on the slot only after it has seen `released`. */
struct sl_ingest_ack {
    uint32_t slot;                /* the connection slot; fixed */
    uint32_t conn_id;             /* entry->source_id of its events */
    uint64_t total;               /* at its end: frames to acknowledge (seq numbers used) */
    uint64_t good_end;            /* at its end: 1 + seq of its last event put in a batch, or 0 */
    /* consumer -> io thread: frames 0..handled-1 fully handled; release
     * store by the consumer, acquire load by the io thread before send() */
    _Atomic uint64_t handled;
    /* consumer -> io thread: done with the connection (handled == total,
     * the consumer never touches the cell again); release/acquire pair */
    _Atomic bool released;
};

/* Fills config with defaults (TCP on 127.0.0.1:0, fb, 1 consumer, 1 MiB
 * frames, 64 batches of 1024 events / 2 MiB, 1 ms flush, 1024 provided
 * buffers of 16 KiB, 4096 connections, no ack, 5 s drain, 1 MiB file
 * reads, 100 ms follow). */
void sl_ingest_config_default(struct sl_ingest_config *config);

/* Upper bound in bytes of the memory the ingestion data path allocates for
 * config (pool, rings, buffers, per-connection state, transcoder); the
 * formula is in docs/ingestion.md. */
uint64_t sl_ingest_memory_bound(const struct sl_ingest_config *config);

/* Checks config, creates the consumer rings and binds/listens (TCP) or opens
 * the file. Returns 0, or a negative errno with a message in err. */
int sl_ingest_create(const struct sl_ingest_config *config, struct sl_ingest **ingest_out,
                     char *err, size_t err_len);

/* The io thread's loop: creates the pool and the io_uring, runs until end of
 * stream (file EOF without follow, or sl_ingest_stop()), flushes every
 * event taken, hands one SL_CTRL_END_OF_STREAM to each consumer and
 * returns. Needs the consumers running (it waits for returned batches).
 * Returns 0 or a negative errno (set-up failure, message logged). Call once. */
int sl_ingest_run(struct sl_ingest *ingest);

/* Any thread, also async-signal-safe: asks the io thread to drain and end. */
void sl_ingest_stop(struct sl_ingest *ingest);

/* The bound port (TCP); valid after sl_ingest_create(). */
uint16_t sl_ingest_port(const struct sl_ingest *ingest);

/* With config.ack: the ring of ack-mode announcements (struct sl_ingest_ack
 * pointers; a slot's first item announces a connection, its next the end of
 * it, alternating). Consumer 0 is its only popper; it never fills. NULL
 * without config.ack. */
struct sl_ring *sl_ingest_ack_ring(struct sl_ingest *ingest);

/* Consumer i's ring (i < config.consumers); consumer i is its only popper. */
struct sl_ring *sl_ingest_ring(struct sl_ingest *ingest, uint32_t i);

/* Copies the counters. Only after sl_ingest_run() returned (the io thread
 * writes them without synchronisation while it runs). */
void sl_ingest_stats(const struct sl_ingest *ingest, struct sl_ingest_stats *stats);

const char *sl_ingest_path_name(enum sl_ingest_path path);

/* Frees everything; consumers must be done (joined) and run() returned. */
void sl_ingest_destroy(struct sl_ingest *ingest);

#endif
