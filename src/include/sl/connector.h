/* sl/connector.h - what a source or sink type declares: a name, an options
 * table, a compile callback that checks its settings, and the runtime hooks
 * its thread calls. Sources and sinks run on their own threads (io_uring
 * loops, Kafka clients). */
#ifndef SL_CONNECTOR_H
#define SL_CONNECTOR_H

#include <stdatomic.h>

#include "sl/operator.h"

struct sl_fb_schemas;
struct sl_source_emit; /* the runner's side of a running source, see below */

/*
 * Exactly-once (`exactly_once: true`, docs/kafka.md): the handshake between
 * the job's one kafka source and its one transactional kafka sink, owned by
 * the run and handed to both in their open() args (NULL otherwise).
 *
 * At each commit point the source stops taking input, waits until every
 * event it handed on is written by the sink (its done tags), then publishes
 * a request: positions (librdkafka offsets and consumer group metadata,
 * opaque here) and state SL_TXN_REQUESTED. The sink thread, in
 * completed(), commits its open transaction with those offsets (or aborts
 * it when a delivery in it failed), begins the next one and answers
 * SL_TXN_COMMITTED or SL_TXN_ABORTED; SL_TXN_FAILED when it cannot go on
 * (fenced, fatal). So a transaction holds the outputs of exactly the input
 * its offsets cover.
 */
enum sl_txn_state {
    SL_TXN_IDLE = 0,      /* no request open */
    SL_TXN_REQUESTED = 1, /* source -> sink: commit with offsets / metadata */
    SL_TXN_COMMITTED = 2, /* sink -> source: outputs and offsets committed */
    SL_TXN_ABORTED = 3,   /* sink -> source: aborted (reason); rewind to the last commit */
    SL_TXN_FAILED = 4,    /* sink -> source: the sink cannot go on (reason) */
};

struct sl_txn {
    /* release store by the side that hands the request over, acquire load
     * by the other: publishes offsets/group_metadata (to the sink) and
     * reason (to the source) */
    _Atomic int state;
    const char *job_name;           /* for the default transactional.id */
    void *offsets;                  /* rd_kafka_topic_partition_list_t *, the source's */
    void *group_metadata;           /* rd_kafka_consumer_group_metadata_t *, the source's */
    char reason[256];               /* ABORTED: why; written only while REQUESTED */
    char fail_reason[256];          /* FAILED: why; written once, before FAILED */
};

/* What a source's open() gets. */
struct sl_source_args {
    const void *plan;                     /* what compile() made */
    const struct sl_fb_schemas *schemas;  /* envelope + payload schemas (verify, transcode) */
    const char *node_name;
    uint32_t workers;                     /* the job's worker count */
    uint32_t event_bytes_max;             /* largest event a batch takes (size prefix in) */
    struct sl_txn *txn;                   /* exactly_once: the sink handshake; else NULL */
};

/*
 * A source with its own runtime (kafka) runs on the source runner's thread:
 *   open(args, &state)  on that thread
 *   run(state, emit)    produce events with sl_source_emit() until the input
 *                       ends or stop() was called, then return 0 (or -errno:
 *                       the run fails); the runner then sends end of stream
 *   stop(state)         any thread, async-signal-safe: make run() return soon
 *   close(state)        after run() returned
 * (tcp, file and gen are driven by the runner itself and leave these NULL.)
 */
struct sl_source_type {
    const char *name;
    const char *summary;
    const struct sl_option *options;  /* ends with a row whose key is NULL */
    int (*compile)(struct sl_op_compile *c, void **plan);
    void (*plan_free)(void *plan);
    int (*open)(const struct sl_source_args *args, void **state, char *err, size_t err_len);
    int (*run)(void *state, struct sl_source_emit *emit);
    void (*stop)(void *state);
    void (*close)(void *state);
};

/* ---- what a running source calls (source runner thread only) ---- */

/* Hands on one verified, size-prefixed sluice.Event buffer (buf at any
 * address; it is copied) to the worker that owns its key's key group, with
 * its source position (e.g. a Kafka offset). Reports that worker and the tag
 * of the batch it went into. May wait (backpressure) for the workers. */
void sl_source_emit(struct sl_source_emit *emit, const uint8_t *buf, uint32_t len,
                    uint64_t position, uint32_t *worker, uint64_t *tag);
/* As sl_source_emit() for a verified unprefixed (raw, `flatc -b`) buffer,
 * raw[0..len) at any address: it is written into the batch in the
 * size-prefixed form (len + 8 bytes, sl_fb_raw_to_prefixed), so a source
 * that verified the bytes where they lie copies them once. */
void sl_source_emit_raw(struct sl_source_emit *emit, const uint8_t *raw, uint32_t len,
                        uint64_t position, uint32_t *worker, uint64_t *tag);
/* The reason an event of len bytes (size prefix in) is refused when it is
 * over max, the largest event a batch takes (sl_source_args.event_bytes_max);
 * at most 160 bytes with the NUL. */
void sl_source_too_big_reason(char *reason, size_t reason_len, uint64_t len, uint32_t max);
/* Sends rejected input to the source node's errors port: an event of type
 * sluice.ingest_error carrying reason and position in its headers. Reports
 * the worker and batch tag as sl_source_emit() does (either may be NULL),
 * so that a source can wait for its dead letters before committing. */
void sl_source_emit_error(struct sl_source_emit *emit, const char *reason, uint64_t position,
                          uint32_t *worker, uint64_t *tag);
/* Hands on every partly filled batch now (call when the input goes idle). */
void sl_source_flush(struct sl_source_emit *emit);
/* Every batch to worker with a tag up to the returned one is fully handled:
 * its events were written by every sink they reached. */
uint64_t sl_source_done_tag(struct sl_source_emit *emit, uint32_t worker);

struct sl_batch;

/*
 * A sink's errors port, when the job reads it (`input: k.errors` on another
 * sink; only for sink types with errors_port): the runtime's channel from
 * this sink's thread to the thread of the one sink that reads the port.
 * Used on the sink's own thread only; nothing here blocks:
 *   sl_sink_errors_batch()   an empty batch to fill with dead-letter events
 *                            (size-prefixed sluice.Event frames), or NULL
 *                            while every batch of the port is in flight
 *                            (try again later: completed() is called on);
 *   sl_sink_errors_push()    hands a filled batch over;
 *   sl_sink_errors_written() how many events pushed so far the reading sink
 *                            has written (only grows); *failed is set once
 *                            that sink failed (nothing more gets written).
 * The sink confirms a write only once its dead letters are written.
 */
struct sl_sink_errors;
struct sl_batch *sl_sink_errors_batch(struct sl_sink_errors *errors);
void sl_sink_errors_push(struct sl_sink_errors *errors, struct sl_batch *batch);
uint64_t sl_sink_errors_written(struct sl_sink_errors *errors, bool *failed);

/* What a sink's open() gets. */
struct sl_sink_args {
    const void *plan;                     /* what compile() made */
    const struct sl_fb_schemas *schemas;  /* the job's schemas (for jsonl output) */
    const char *node_name;
    struct sl_txn *txn;                   /* exactly_once: the source handshake; else NULL */
    struct sl_sink_errors *errors;        /* the errors port when the job reads it; else NULL */
};

/*
 * A sink runs on a thread of its own (one per sink node):
 *   open(args, &state)  on that thread, before any batch
 *   write(state, batch) for each batch, in arrival order; the batch holds
 *                       event entries (size-prefixed, verified sluice.Event
 *                       buffers at 8-aligned addresses) and control records,
 *                       which write() skips. Returns 0 once the events are
 *                       handed to the destination (file: write completed;
 *                       tcp: sent; stdout: written), which is when they count
 *                       as delivered for acks; -errno with err on failure.
 *   close(state)        flush what is buffered and release; returns 0 or -errno.
 * write() must not allocate per event.
 *
 * A sink whose destination confirms later (kafka: delivery reports) sets
 * completed(); then write() returns once the batch's events are queued to
 * its client (keeping no pointer into the batch unless it holds the batch,
 * below; it may first wait for confirmations, up to its delivery bound, to
 * keep within its memory bound) and
 *   completed(state, timeout_ms)  serves the client for at most timeout_ms
 *                       and returns how many write() calls, counted from the
 *                       first, are confirmed in full (it only grows), or
 *                       -errno with err: the sink failed.
 * The runner acknowledges a batch only once its write is confirmed and keeps
 * at most SL_SINK_PENDING_MAX writes unconfirmed; it calls completed() while
 * its rings are idle too (a transactional sink serves sl_txn requests there).
 * Such a sink may keep the batch for its client to read in place: write()
 * then returns SL_SINK_WRITE_HELD instead of 0 and may have rewritten the
 * events' bytes in place (the batch is the sink's alone until returned);
 * the runner returns the batch to its pool only once completed() covers
 * that write (a worker's pool is the bound on what is held: its batches
 * wait, backpressure; such a sink reads no errors port). A sink that
 * holds batches sets
 *   abandon(state)      called instead of close() when the run gives up on
 *                       the sink (a write or completed() failed): releases
 *                       it without flushing; once it returns, its client
 *                       reads no batch any more (the runner then returns
 *                       them) and nothing else is called on state.
 * Such a sink may also set
 *   dead_lettered(state)  how many events of the writes confirmed so far
 *                       went to a dead-letter topic or the errors port
 *                       instead of their destination (only grows); the
 *                       runner calls it on the sink's thread after
 *                       completed(), and the run summary counts them in the
 *                       node's errors, not its out.
 */
/* A loose bound: a sink bounds what it holds itself (kafka: unconfirmed_bytes).
 * 1024 writes of 256-event batches are 262,144 messages: at 1 M messages/s it
 * binds only when confirmations take longer than 0.26 s. */
#define SL_SINK_PENDING_MAX 1024u
#define SL_SINK_WRITE_HELD 1 /* write(): the client reads the batch until confirmed */
struct sl_sink_type {
    const char *name;
    const char *summary;
    const struct sl_option *options;
    int (*compile)(struct sl_op_compile *c, void **plan);
    void (*plan_free)(void *plan);
    int (*open)(const struct sl_sink_args *args, void **state, char *err, size_t err_len);
    int (*write)(void *state, struct sl_batch *batch, char *err, size_t err_len);
    int (*close)(void *state, char *err, size_t err_len);
    int64_t (*completed)(void *state, int timeout_ms, char *err, size_t err_len);
    uint64_t (*dead_lettered)(void *state);
    void (*abandon)(void *state);
    bool discards;  /* write() ignores events (null): the runtime passes none */
    bool errors_port; /* has an errors port another sink may read (args->errors) */
};

#endif
