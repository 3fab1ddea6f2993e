/*
 * run.h - a job running: source threads, `workers` copies of the operator
 * graph (one thread each), one thread per sink, and the rings between them.
 *
 *   source thread --ring per worker--> worker w --ring per sink--> sink thread
 *        ^ batches return to the source's pool      ^ batches return to w's pool
 *
 * Sharding: a source puts each event in the batch of the worker that owns
 * the event's key group (sl_key_group_worker(murmur2(key) % key_groups)), so
 * per-key order holds through the graph. A worker processes one input batch
 * at a time through the whole graph (operators chained by direct calls),
 * copies what reaches each sink into that sink's batch, and hands those on
 * when the input batch is done ("a round"). Pass-through: when a source's
 * events all go to one sink unchanged (sl_worker_input.pass_sink), the
 * input batch itself is that sink's batch and goes back to the source's
 * pool from the sink, without a copy.
 *
 * Drain: a source ends its stream with SL_CTRL_END_OF_STREAM to every
 * worker; a worker that has it from every source sends it to every sink; a
 * sink that has it from every worker closes. So every event taken in is
 * written before the process exits.
 *
 * Acks (tcp sources with `ack: true`, docs/tcp-ack.md): the source stamps
 * each batch to worker w with a tag that grows per (source, worker) and
 * records which ack-mode connection's events went into it (source_ack.h).
 * A worker tags each sink batch with its round number (round << 1 | 1 for a
 * round's last batch to that sink); a sink, once write() returned,
 * publishes per worker the last round whose batches to it are all written.
 * From those the worker knows which rounds are fully handled, and in round
 * order publishes per source input the tag of the last such batch
 * (done_tags); the source turns them into per-connection counts for the io
 * thread to send.
 *
 * Waiting: a worker or sink thread whose rings are all empty sleeps on its
 * doorbell (core/doorbell.h) for at most run->doorbell_wait_ns. Whoever
 * pushes to its rings or publishes what it waits for rings it: a source
 * after a push to worker w, a worker after a push to a sink, a sink after
 * publishing written[w] when worker w has acked inputs (it may hand acks
 * on) and after pushing to its errors port (the reading sink). A healthy
 * sink with completed() (kafka) never sleeps on its bell: it waits in its
 * client, and so sees its errors port's written count and the exactly-once
 * handshake without a ring. Sources and backpressure waits (a pool or ring
 * full) nap instead (sl_backoff).
 *
 * Memory, fixed at start: per source, its pool (batches x arena), and for
 * tcp and file the io thread's pool of as many; per worker, its sink pool
 * (sink_batches x arena), port buffers (sizeof(struct sl_event) x events per
 * batch x fan-in), an output arena (out_arena_bytes); rings
 * (sl_run_batch_memory, docs/memory.md).
 */
#ifndef SL_GRAPH_RUN_H
#define SL_GRAPH_RUN_H

#include <pthread.h>
#include <semaphore.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/batch.h"
#include "core/doorbell.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/ring.h"
#include "graph/envelope.h"
#include "graph/job.h"

#define SL_RUN_SOURCES_MAX 32u
/* entry->source_id bit of an event bound for its source's errors port */
#define SL_RUN_ERROR_EVENT 0x80000000u
#define SL_RUN_ERROR_RING 1024u /* ingestion error events in flight per source */
#define SL_RUN_SINKS_MAX 64u
#define SL_RUN_ROUNDS_PENDING 256u /* per worker: rounds of acked inputs awaiting their sinks */
#define SL_RUN_ACK_RECORDS 65536u  /* per ack source: (connection, worker batch) records */
#define SL_RUN_NO_PASS UINT32_MAX  /* sl_worker_input.pass_sink: no sink takes the batches */

struct sl_run_config {
    uint32_t batch_events;      /* events per batch */
    uint32_t batch_bytes;       /* arena bytes per batch */
    uint32_t source_batches;    /* batches in each source's pool */
    uint32_t sink_batches;      /* batches in each worker's sink pool */
    uint32_t ring_capacity;     /* batches per ring, a power of two */
    uint32_t out_arena_bytes;   /* per worker: events operators make in one round */
};

/* Per node and worker; written by the worker (relaxed: counters only),
 * read by the status line and the summary. */
struct sl_node_counters {
    _Atomic uint64_t in;
    _Atomic uint64_t out;
    _Atomic uint64_t errors;
};

/* Events emitted to one output port during a round. */
struct sl_port_buf {
    struct sl_event *events;
    uint32_t count, cap;
};

struct sl_run;
struct sl_worker;
struct sl_source_acks;

/* The emit context of sl/operator.h: which worker and node is emitting. */
struct sl_op_out {
    struct sl_worker *worker;
    uint32_t node;
};

struct sl_worker_input {
    struct sl_ring *ring;       /* from the source; this worker is the consumer */
    uint32_t node;              /* the source node */
    uint32_t returner;          /* index for sl_pool_return() into the source's pool */
    uint32_t source;            /* index in run->sources */
    /* The sink node that takes every event of this source and nothing else
     * (its one input is the source's out port, which no other node reads),
     * or SL_RUN_NO_PASS. A batch of events only, none bound for the errors
     * port, goes to that sink itself instead of a copy ("pass-through"),
     * and the sink returns it to the source's pool. */
    uint32_t pass_sink;
    bool acked;                 /* the source tracks acks: report finished rounds */
    bool eos;                   /* end of stream seen */
};

/* A finished round of an acked input whose sink batches may be unwritten. */
struct sl_round_pending {
    uint64_t round;
    uint64_t tag;               /* the input batch's tag */
    uint32_t input;             /* index in worker->inputs */
};

struct sl_worker {
    struct sl_run *run;
    uint32_t id;
    pthread_t thread;
    struct sl_worker_input inputs[SL_RUN_SOURCES_MAX];
    uint32_t input_count;
    void *states[SL_JOB_NODES_MAX];             /* operator instances */
    struct sl_port_buf *ports[SL_JOB_NODES_MAX]; /* per node: one per port */
    struct sl_event *gather[SL_JOB_NODES_MAX];  /* per node: its inputs of a round */
    uint32_t caps[SL_JOB_NODES_MAX];            /* events per port of a node per round */
    struct sl_op_out outs[SL_JOB_NODES_MAX];
    uint8_t *arena;                             /* events made this round (8-aligned) */
    uint32_t arena_used, arena_cap;
    struct sl_fbb builder;                      /* error envelopes */
    struct sl_pool *sink_pool;                  /* owned: created on this thread */
    struct sl_batch *sink_open[SL_JOB_NODES_MAX];
    struct sl_ring *sink_rings[SL_JOB_NODES_MAX]; /* to sink node n; this worker produces */
    struct sl_doorbell *sink_bells[SL_JOB_NODES_MAX]; /* sink node n's thread's */
    struct sl_doorbell bell;                    /* this thread sleeps on it (see Waiting) */
    bool acked_inputs;                          /* some input is acked: sinks ring on written */
    struct sl_node_counters counters[SL_JOB_NODES_MAX];
    _Atomic bool ready;                         /* pool created: sinks may return to it */
    uint64_t round;                             /* rounds run (the current one's number) */
    uint64_t sink_round[SL_JOB_NODES_MAX];      /* per sink node: last round that pushed to it */
    struct sl_round_pending pending[SL_RUN_ROUNDS_PENDING]; /* FIFO, oldest at pending_head */
    uint32_t pending_head, pending_count;
    bool acks_cut; /* the run failed with the FIFO full: no later round is ever acked */
};

/* A sink's errors port read by another sink (sl/connector.h): batches of
 * dead letters go from the writing sink's thread (the pool's owner) to the
 * reading sink's thread (its only returner) through ring, which has a slot
 * for every batch of the pool, so a push never fails. The last batch holds
 * an end-of-stream record, pushed by the writing sink's runner after its
 * close(). */
#define SL_SINK_ERRORS_BATCHES 8u
struct sl_sink_errors {
    struct sl_ring *ring;
    struct sl_doorbell *reader_bell; /* the reading sink's */
    struct sl_pool *pool;       /* created on the writing sink's thread */
    struct sl_batch_limits limits;
    /* events of the port written by the reading sink: release store there
     * after write(), acquire load by the writing sink */
    _Atomic uint64_t written;
    _Atomic bool failed;        /* the reading sink failed (release / acquire) */
    uint64_t pushed;            /* writing sink's thread only */
};

struct sl_sink_runner {
    struct sl_run *run;
    uint32_t node;
    uint32_t index;             /* returner index into every worker's sink pool */
    struct sl_sink_errors *errors_out; /* this sink's errors port, when a sink reads it */
    struct sl_sink_errors *errors_in;  /* the errors port this sink reads, or NULL */
    pthread_t thread;
    void *state;
    /* events write() took (with completed(): once confirmed): the status
     * line's and the summary's out; relaxed: statistics */
    _Atomic uint64_t written_events;
    /* of those, the ones dead-lettered (the type's dead_lettered()): the
     * summary's errors; relaxed: statistics */
    _Atomic uint64_t dead_events;
    /* per worker: every batch of rounds up to this one is written; release
     * store by this sink after write(), acquire load by that worker */
    _Atomic uint64_t written[SL_JOB_WORKERS_MAX];
    struct sl_doorbell bell;    /* this thread sleeps on it (see Waiting) */
};

/* Per worker, for one source: every batch to that worker with a tag up to
 * this one is fully handled. Own cache line: each is written by one worker
 * (release, after the sinks' written loads) and read by the source (acquire). */
struct sl_done_tag {
    alignas(64) _Atomic uint64_t tag;
};

struct sl_source_runner {
    struct sl_run *run;
    uint32_t node;
    uint32_t index;
    pthread_t thread;
    void *impl;                 /* the source's own runtime (ingest, generator) */
    uint32_t pools;             /* batch pools: 2 with an io thread (ingest), else 1 */
    struct sl_ring *rings[SL_JOB_WORKERS_MAX]; /* to each worker */
    struct sl_doorbell *bells[SL_JOB_WORKERS_MAX]; /* each worker's */
    struct sl_pool *pool;       /* batches to the workers; owned by this thread */
    char host[256];             /* tcp: the listen host (outlives the ingest) */
    struct sl_ring *errors;     /* io thread -> this thread: error events (malloc'd frames) */
    struct sl_fbb error_builder; /* io thread only */
    struct sl_log_limit error_log; /* io thread only */
    _Atomic uint64_t errors_dropped; /* error events that found the ring full (logged) */
    _Atomic uint64_t events;
    _Atomic bool stop;
    uint64_t tag_next[SL_JOB_WORKERS_MAX]; /* the last tag given to a batch to each worker */
    struct sl_done_tag done[SL_JOB_WORKERS_MAX];
    struct sl_source_acks *acks; /* tcp with ack: true; NULL otherwise */
    bool acks_cut;              /* shard thread: the run failed with no record free */
    int (*run_fn)(struct sl_source_runner *source);
    void (*stop_fn)(struct sl_source_runner *source);
    void (*destroy_fn)(struct sl_source_runner *source);
};

struct sl_run {
    struct sl_job *job;
    struct sl_run_config config;
    struct sl_envelope envelope;
    struct sl_worker workers[SL_JOB_WORKERS_MAX];
    struct sl_source_runner sources[SL_RUN_SOURCES_MAX];
    uint32_t source_count;
    struct sl_sink_runner sinks[SL_RUN_SINKS_MAX];
    uint32_t sink_count;
    _Atomic int failed;         /* first runtime error (-errno), 0 if none */
    _Atomic bool stopping;
    _Atomic uint32_t sinks_done; /* sink threads that have closed */
    sem_t sink_closed;          /* posted by each sink thread after sinks_done++ */
    struct sl_txn txn;          /* exactly_once: source <-> sink handshake (sl/connector.h) */
    /* longest doorbell sleep of a worker or sink (see Waiting):
     * SL_DOORBELL_WAIT_NS, or SLUICE_DOORBELL_WAIT_MS from the environment;
     * the tests set it to 30 s, so that a push or publish that rings no
     * bell shows (sl_run_woke_late) */
    uint64_t doorbell_wait_ns;
    bool doorbell_strict;       /* the wait came from the environment: see sl_run_woke_late */
};

void sl_run_config_default(struct sl_run_config *config);

/* Returner indices (core/pool.h) into a source's pools, its own and its io
 * thread's alike: 0 is the source thread (the io thread's consumer), then
 * worker w, then sink k (batches passed through). */
static inline uint32_t sl_run_source_returners(const struct sl_run *run)
{
    return 1 + run->job->workers + run->sink_count;
}

static inline uint32_t sl_run_returner_worker(uint32_t w)
{
    return 1 + w;
}

static inline uint32_t sl_run_returner_sink(const struct sl_run *run, uint32_t k)
{
    return 1 + run->job->workers + k;
}

/* The sink node that takes source node src's batches themselves
 * (pass-through): the only reader of src's out port, reading nothing else,
 * fed by the workers (not one that discards). Else SL_RUN_NO_PASS. */
uint32_t sl_run_pass_sink(const struct sl_job *job, uint32_t src);

/* Builds the run: rings, sources (listeners bound), per-worker graph
 * instances. Returns 0 or -errno with err. */
int sl_run_create(struct sl_run *run, struct sl_job *job, const struct sl_run_config *config,
                  char *err, size_t err_len);
/* Bytes the run's batches may take at most, whatever the load: every
 * source's pools, every worker's sink pool and output arena, every errors
 * port's pool (docs/memory.md). A connector's own buffers come on top. */
uint64_t sl_run_batch_memory(const struct sl_run *run);
/* Waits up to timeout_ms for every sink thread to close; true when all have. */
bool sl_run_wait_sinks(struct sl_run *run, uint32_t timeout_ms);
/* Starts every thread, each named by sl_run_name_thread(). */
int sl_run_start(struct sl_run *run, char *err, size_t err_len);
/* Names a runtime thread "<role>:<what>", cut to the kernel's 15 bytes. */
void sl_run_name_thread(pthread_t thread, const char *role, const char *what);
/* Asks sources to end their streams (drain). Async-signal-safe. */
void sl_run_stop(struct sl_run *run);
/* Waits for every thread; returns run->failed. */
int sl_run_join(struct sl_run *run);
void sl_run_destroy(struct sl_run *run);

/* A worker or sink thread found work (a batch, or acks to hand on) right
 * after a sleep on its bell that lasted the whole wait: the hand-off rang
 * no bell. With the wait from the environment (the tests' 30 s) that is a
 * bug made visible, and the process aborts so that the test fails; with
 * the default wait it costs 10 ms and is not reported. */
void sl_run_woke_late(const struct sl_run *run, const char *thread);

/* A node's counts: in and out summed over workers (an errors port read by
 * a sink counts in its in); a sink's out is what it wrote (sink runner's
 * written_events, less what it dead-lettered, which counts in its errors)
 * unless it discards. */
void sl_run_node_counts(const struct sl_run *run, uint32_t node, uint64_t *in, uint64_t *out,
                        uint64_t *errors);
/* Marks the run failed with rc (first one wins) and stops it. */
void sl_run_fail(struct sl_run *run, int rc);
/* Whether the run has failed; relaxed: callers only stop waiting on it, no
 * data is read through it. */
static inline bool sl_run_failed(const struct sl_run *run)
{
    return atomic_load_explicit(&run->failed, memory_order_relaxed) != 0;
}

/* Thread bodies (worker.c, sink_runner.c). */
void *sl_worker_main(void *arg);
void *sl_sink_main(void *arg);
/* Worker set-up on the control thread: graph instances and buffers. */
int sl_worker_init(struct sl_worker *worker, struct sl_run *run, uint32_t id, char *err,
                   size_t err_len);
void sl_worker_fini(struct sl_worker *worker);

/* Source runtimes (source_runner.c): fills the runner's hooks. */
int sl_source_runner_init(struct sl_source_runner *source, char *err, size_t err_len);

#endif
