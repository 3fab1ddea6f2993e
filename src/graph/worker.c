/*
 * worker.c - one copy of the operator graph on its own thread (see run.h).
 *
 * A round: pop one batch from a source ring; its events become the source
 * node's "out" port; every other node, in topological order, takes the
 * events emitted to the ports it reads (in input order) and emits into its
 * own ports; what reaches a sink is copied into that sink's batch; at the
 * end of the round the sink batches go to the sink threads and the input
 * batch goes back to its source's pool; or, when the input's events all go
 * to one sink unchanged, the input batch itself goes to that sink
 * (pass-through, run.h). Nothing is allocated per event:
 * port buffers are sized at start (a node emits at most once per port per
 * input event), events operators make live in the worker's arena for the
 * round.
 *
 * Acks (run.h): sink batches carry the round number in their tag; a round
 * of an acked input waits in a FIFO until every sink has written its
 * batches, then its input batch's tag is published to the source
 * (done tags, in round order).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/assert.h"
#include "core/backoff.h"
#include "core/log.h"
#include "graph/run.h"

#define WORKER_IDLE_SLEEP_NS 50000

static void relaxed_add(_Atomic uint64_t *counter, uint64_t n)
{
    /* relaxed: a statistic; readers need no ordering with the data path */
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static void idle_sleep(void)
{
    struct timespec ts = {0, WORKER_IDLE_SLEEP_NS};
    nanosleep(&ts, NULL);
}

/* ---- emit API of sl/operator.h ---- */

void sl_emit(struct sl_op_out *out, uint32_t port, const struct sl_event *ev)
{
    struct sl_port_buf *pb = &out->worker->ports[out->node][port];
    /* an operator emits at most once per port per input: cap is enough */
    SL_ASSERT(pb->count < pb->cap);
    pb->events[pb->count++] = *ev;
}

/* Whether an event of len bytes is more than one sink batch takes (with
 * the room kept for error headers). */
static bool event_too_big(const struct sl_worker *worker, uint32_t len)
{
    return len > sl_runtime_event_bytes_max(worker->run->config.batch_bytes);
}

/* Room for len bytes in the output arena, or NULL. */
static uint8_t *arena_reserve(struct sl_worker *worker, uint32_t len)
{
    uint32_t offset = (worker->arena_used + 7) & ~7u;
    if (len > worker->arena_cap || offset > worker->arena_cap - len)
        return NULL;
    return worker->arena + offset;
}

uint8_t *sl_emit_reserve(struct sl_op_out *out, uint32_t len)
{
    return event_too_big(out->worker, len) ? NULL : arena_reserve(out->worker, len);
}

void sl_emit_new(struct sl_op_out *out, uint32_t port, const uint8_t *buf, uint32_t len,
                 const struct sl_event *from)
{
    struct sl_worker *worker = out->worker;
    SL_ASSERT(buf >= worker->arena && buf + len <= worker->arena + worker->arena_cap);
    worker->arena_used = (uint32_t)(buf - worker->arena) + len;
    struct sl_event ev;
    sl_envelope_event(&worker->run->envelope, buf, len, from->source_id, from->position, &ev);
    sl_emit(out, port, &ev);
}

void sl_emit_error(struct sl_op_out *out, const struct sl_event *ev, const char *reason)
{
    struct sl_worker *worker = out->worker;
    struct sl_job_node *node = &worker->run->job->nodes[out->node];
    const char *keys[] = {"sluice.error.node", "sluice.error.reason"};
    const char *values[] = {node->name, reason};
    size_t len;
    struct sl_envelope_change change = {.header_keys = keys, .header_values = values,
                                        .header_count = 2};
    const uint8_t *buf = sl_envelope_copy(&worker->run->envelope, &worker->builder, ev, &change,
                                          &len);
    /* the error headers may use the batch's headroom: the copy fits a batch */
    uint8_t *dst = len <= worker->run->config.batch_bytes ? arena_reserve(worker, (uint32_t)len)
                                                         : NULL;
    relaxed_add(&worker->counters[out->node].errors, 1);
    if (!dst) { /* no room (arena full, or the copy is over a batch): the original goes,
                 * without its reason */
        sl_emit(out, SL_PORT_ERRORS, ev);
        return;
    }
    memcpy(dst, buf, len);
    sl_emit_new(out, SL_PORT_ERRORS, dst, (uint32_t)len, ev);
}

int sl_emit_payload(struct sl_op_out *out, uint32_t port, const struct sl_event *from,
                    const char *type, uint32_t type_len, const uint8_t *payload,
                    uint32_t payload_len, uint32_t align)
{
    struct sl_worker *worker = out->worker;
    struct sl_envelope_change change = {.type = type, .type_len = type_len, .payload = payload,
                                        .payload_len = payload_len, .payload_align = align};
    size_t len;
    const uint8_t *buf = sl_envelope_copy(&worker->run->envelope, &worker->builder, from, &change,
                                          &len);
    if (event_too_big(worker, (uint32_t)len))
        return -E2BIG;
    uint8_t *dst = arena_reserve(worker, (uint32_t)len);
    if (!dst)
        return -ENOSPC;
    memcpy(dst, buf, len);
    sl_emit_new(out, port, dst, (uint32_t)len, from);
    return 0;
}

/* ---- set-up ---- */

static uint32_t node_fan_in(const struct sl_worker *worker, const struct sl_job_node *node)
{
    uint32_t n = 0;
    for (uint32_t e = 0; e < node->input_count; e++)
        n += worker->caps[node->inputs[e].node];
    return n;
}

int sl_worker_init(struct sl_worker *worker, struct sl_run *run, uint32_t id, char *err,
                   size_t err_len)
{
    struct sl_job *job = run->job;
    worker->run = run;
    worker->id = id;
    worker->arena_cap = run->config.out_arena_bytes;
    worker->arena = aligned_alloc(64, worker->arena_cap);
    SL_ASSERT(worker->arena);
    sl_fbb_init(&worker->builder, 4096);
    for (uint32_t k = 0; k < job->node_count; k++) {
        uint32_t i = job->order[k];
        struct sl_job_node *node = &job->nodes[i];
        worker->caps[i] = node->kind == SL_NODE_SOURCE ? run->config.batch_events
                                                       : node_fan_in(worker, node);
        worker->ports[i] = calloc(node->port_count, sizeof(struct sl_port_buf));
        SL_ASSERT(worker->ports[i]);
        for (uint32_t p = 0; p < node->port_count; p++) {
            worker->ports[i][p].cap = worker->caps[i];
            worker->ports[i][p].events = malloc((worker->caps[i] + 1) * sizeof(struct sl_event));
            SL_ASSERT(worker->ports[i][p].events);
        }
        worker->gather[i] = malloc((worker->caps[i] + 1) * sizeof(struct sl_event));
        SL_ASSERT(worker->gather[i]);
        worker->outs[i] = (struct sl_op_out){.worker = worker, .node = i};
        if (node->kind == SL_NODE_OPERATOR && node->op->create) {
            int rc = node->op->create(node->plan, &worker->states[i]);
            if (rc) {
                snprintf(err, err_len, "%s: cannot create its instance (%s)", node->name,
                         strerror(-rc));
                return rc;
            }
        }
    }
    return 0;
}

void sl_worker_fini(struct sl_worker *worker)
{
    struct sl_job *job = worker->run ? worker->run->job : NULL;
    for (uint32_t i = 0; job && i < job->node_count; i++) {
        struct sl_job_node *node = &job->nodes[i];
        if (worker->states[i] && node->op->destroy)
            node->op->destroy(worker->states[i]);
        for (uint32_t p = 0; worker->ports[i] && p < node->port_count; p++)
            free(worker->ports[i][p].events);
        free(worker->ports[i]);
        free(worker->gather[i]);
    }
    sl_pool_destroy(worker->sink_pool);
    sl_fbb_fini(&worker->builder);
    free(worker->arena);
}

/* ---- the data path ---- */

/* A free sink batch, waiting for the sinks to return one if all are out. */
static struct sl_batch *sink_batch_get(struct sl_worker *worker)
{
    struct sl_batch *batch;
    struct sl_backoff backoff = {0}; /* backpressure: the sinks are behind */
    while (sl_pool_get(worker->sink_pool, &batch) == -EAGAIN)
        sl_backoff_nap(&backoff);
    return batch;
}

/* last: the round's last batch to this sink (see run.h on tags) */
static void sink_push(struct sl_worker *worker, uint32_t node, struct sl_batch *batch, bool last)
{
    batch->tag = worker->round << 1 | (last ? 1u : 0u);
    worker->sink_round[node] = worker->round;
    struct sl_backoff backoff = {0};
    while (sl_ring_push(worker->sink_rings[node], batch) == -EAGAIN)
        sl_backoff_nap(&backoff);
    sl_doorbell_ring(worker->sink_bells[node]);
}

static void sink_append(struct sl_worker *worker, uint32_t node, const struct sl_event *ev)
{
    struct sl_batch *batch = worker->sink_open[node];
    if (!batch)
        batch = worker->sink_open[node] = sink_batch_get(worker);
    if (sl_batch_append(batch, ev->buf, ev->len, ev->source_id, ev->position) == 0)
        return;
    sink_push(worker, node, batch, false);
    batch = worker->sink_open[node] = sink_batch_get(worker);
    /* events are at most a batch less the headroom (sources: emit_oversized,
     * check_runtime; operators: sl_emit_reserve) */
    SL_ASSERT(sl_batch_append(batch, ev->buf, ev->len, ev->source_id, ev->position) == 0);
}

/* Events on the ports node reads, in input order, into worker->gather[node]. */
static uint32_t gather_inputs(struct sl_worker *worker, const struct sl_job_node *node,
                              uint32_t index)
{
    uint32_t n = 0;
    struct sl_event *dst = worker->gather[index];
    for (uint32_t e = 0; e < node->input_count; e++) {
        const struct sl_port_buf *pb = &worker->ports[node->inputs[e].node][node->inputs[e].port];
        memcpy(dst + n, pb->events, pb->count * sizeof(*dst));
        n += pb->count;
    }
    return n;
}

static void run_node(struct sl_worker *worker, uint32_t index)
{
    struct sl_job_node *node = &worker->run->job->nodes[index];
    uint32_t n = gather_inputs(worker, node, index);
    if (n == 0)
        return;
    relaxed_add(&worker->counters[index].in, n);
    if (node->kind == SL_NODE_SINK) {
        /* a sink that discards (null) gets no copies, only end of stream */
        for (uint32_t i = 0; i < n && !node->sink->discards; i++)
            sink_append(worker, index, &worker->gather[index][i]);
        relaxed_add(&worker->counters[index].out, n);
        return;
    }
    node->op->process(worker->states[index], worker->gather[index], n, &worker->outs[index]);
    uint64_t out = 0;
    for (uint32_t p = 0; p < node->port_count; p++)
        if (p != SL_PORT_ERRORS)
            out += worker->ports[index][p].count;
    relaxed_add(&worker->counters[index].out, out);
}

/* The batch's events on the source node's out port; returns true at EOS. */
static bool load_source(struct sl_worker *worker, struct sl_batch *batch, uint32_t node)
{
    struct sl_port_buf *pb = &worker->ports[node][SL_PORT_OUT];
    bool eos = false;
    for (uint32_t i = 0; i < sl_batch_entry_count(batch); i++) {
        struct sl_batch_entry *entry = sl_batch_entry_at(batch, i);
        if (entry->kind == SL_CTRL_END_OF_STREAM) {
            eos = true;
            continue;
        }
        if (entry->kind != SL_ENTRY_EVENT)
            continue; /* watermarks and barriers: not yet used by any operator */
        struct sl_port_buf *to = entry->source_id & SL_RUN_ERROR_EVENT
                                     ? &worker->ports[node][SL_PORT_ERRORS]
                                     : pb;
        if (to->count == to->cap)
            continue; /* cannot happen: a source batch holds at most cap events */
        sl_envelope_event(&worker->run->envelope, sl_batch_event_data(batch, entry), entry->len,
                          entry->source_id & ~SL_RUN_ERROR_EVENT, entry->position,
                          &to->events[to->count++]);
    }
    relaxed_add(&worker->counters[node].out, pb->count);
    relaxed_add(&worker->counters[node].errors, worker->ports[node][SL_PORT_ERRORS].count);
    return eos;
}

static void round_reset(struct sl_worker *worker)
{
    struct sl_job *job = worker->run->job;
    for (uint32_t i = 0; i < job->node_count; i++)
        for (uint32_t p = 0; p < job->nodes[i].port_count; p++)
            worker->ports[i][p].count = 0;
    worker->arena_used = 0;
}

/* ---- acks ---- */

/* Publishes the tags of the rounds whose sink batches are all written. */
static void ack_advance(struct sl_worker *worker)
{
    if (worker->pending_count == 0)
        return;
    struct sl_run *run = worker->run;
    uint64_t frontier = worker->round;
    for (uint32_t k = 0; k < run->sink_count; k++) {
        /* acquire: pairs with the sink's release store after write() */
        uint64_t written = atomic_load_explicit(&run->sinks[k].written[worker->id],
                                                memory_order_acquire);
        if (written < worker->sink_round[run->sinks[k].node] && written < frontier)
            frontier = written; /* batches of later rounds to this sink are unwritten */
    }
    while (worker->pending_count > 0) {
        struct sl_round_pending *p = &worker->pending[worker->pending_head];
        if (p->round > frontier)
            break;
        struct sl_source_runner *source = &run->sources[worker->inputs[p->input].source];
        /* release: pairs with the source's acquire load; carries the
         * sinks' writes (acquired above) along */
        atomic_store_explicit(&source->done[worker->id].tag, p->tag, memory_order_release);
        worker->pending_head = (worker->pending_head + 1) % SL_RUN_ROUNDS_PENDING;
        worker->pending_count--;
    }
}

/* Queues the finished round of an acked input (waits while the FIFO is
 * full: the sinks are behind). A failed sink publishes no more written
 * rounds, so once the run has failed (by a sink, or by anything else: the
 * run ends either way) a full FIFO is not waited for: the worker stops
 * queuing rounds for good (acks_cut) and goes on to its end of stream. The
 * rounds already queued may still be acked; acks stay a prefix, since they
 * are older than every round left out and no later round is queued. */
static void ack_round(struct sl_worker *worker, uint32_t input, uint64_t tag)
{
    while (!worker->acks_cut && worker->pending_count == SL_RUN_ROUNDS_PENDING) {
        ack_advance(worker);
        if (worker->pending_count < SL_RUN_ROUNDS_PENDING)
            break;
        if (sl_run_failed(worker->run))
            worker->acks_cut = true;
        else
            idle_sleep();
    }
    if (worker->acks_cut)
        return;
    uint32_t i = (worker->pending_head + worker->pending_count) % SL_RUN_ROUNDS_PENDING;
    worker->pending[i] = (struct sl_round_pending){.round = worker->round, .tag = tag,
                                                   .input = input};
    worker->pending_count++;
    ack_advance(worker);
}

/* Whether batch holds events only, none bound for the errors port: as it
 * is, it is what its source's out port carries this round. */
static bool batch_passes(struct sl_batch *batch)
{
    if (!sl_batch_events_only(batch))
        return false; /* empty, or a control record (end of stream, watermark) */
    for (uint32_t i = 0; i < sl_batch_entry_count(batch); i++)
        if (sl_batch_entry_at(batch, i)->source_id & SL_RUN_ERROR_EVENT)
            return false;
    return true;
}

/* A round whose input goes to one sink unchanged (run.h: pass-through):
 * the input batch is that sink's batch, and the sink returns it to the
 * source's pool. */
static void pass_round(struct sl_worker *worker, struct sl_worker_input *input,
                       struct sl_batch *batch)
{
    uint64_t n = sl_batch_event_count(batch), tag = batch->tag;
    worker->round++;
    relaxed_add(&worker->counters[input->node].out, n);
    relaxed_add(&worker->counters[input->pass_sink].in, n);
    relaxed_add(&worker->counters[input->pass_sink].out, n);
    sink_push(worker, input->pass_sink, batch, true); /* no batch of this sink is open */
    if (input->acked)
        ack_round(worker, (uint32_t)(input - worker->inputs), tag);
}

/* One input batch through the graph; returns true at end of stream. */
static bool run_round(struct sl_worker *worker, struct sl_worker_input *input,
                      struct sl_batch *batch)
{
    struct sl_job *job = worker->run->job;
    if (input->pass_sink != SL_RUN_NO_PASS && batch_passes(batch)) {
        pass_round(worker, input, batch);
        return false;
    }
    worker->round++;
    round_reset(worker);
    bool eos = load_source(worker, batch, input->node);
    for (uint32_t k = 0; k < job->node_count; k++) {
        uint32_t i = job->order[k];
        if (job->nodes[i].kind != SL_NODE_SOURCE)
            run_node(worker, i);
    }
    for (uint32_t i = 0; i < job->node_count; i++) {
        if (worker->sink_open[i]) {
            sink_push(worker, i, worker->sink_open[i], true);
            worker->sink_open[i] = NULL;
        }
    }
    uint64_t tag = batch->tag;
    /* the sinks hold copies: the input batch can go home now */
    sl_pool_return(batch, input->returner);
    if (input->acked)
        ack_round(worker, (uint32_t)(input - worker->inputs), tag);
    return eos;
}

static void send_end_of_stream(struct sl_worker *worker)
{
    struct sl_job *job = worker->run->job;
    for (uint32_t i = 0; i < job->node_count; i++) {
        if (job->nodes[i].kind != SL_NODE_SINK)
            continue;
        struct sl_batch *batch = sink_batch_get(worker);
        SL_ASSERT(sl_batch_add_control(batch, SL_CTRL_END_OF_STREAM, worker->id, 0) == 0);
        sink_push(worker, i, batch, true);
    }
}

void *sl_worker_main(void *arg)
{
    struct sl_worker *worker = arg;
    struct sl_run *run = worker->run;
    struct sl_pool_config pool_config = {
        .batches = run->config.sink_batches,
        .returners = run->sink_count ? run->sink_count : 1,
        .limits = {.events_max = run->config.batch_events,
                   .arena_bytes_max = run->config.batch_bytes},
    };
    SL_ASSERT(sl_pool_create(&pool_config, &worker->sink_pool) == 0);
    /* release: the pool exists before any sink may return a batch to it */
    atomic_store_explicit(&worker->ready, true, memory_order_release);
    uint32_t open = worker->input_count;
    while (open) {
        bool busy = false;
        for (uint32_t i = 0; i < worker->input_count; i++) {
            struct sl_worker_input *input = &worker->inputs[i];
            void *item;
            if (input->eos || sl_ring_pop(input->ring, &item) != 0)
                continue;
            busy = true;
            if (run_round(worker, input, item)) {
                input->eos = true;
                open--;
            }
        }
        if (!busy) { /* sinks may have written since: acks handed on are work too */
            uint32_t pending = worker->pending_count;
            ack_advance(worker);
            busy = worker->pending_count < pending;
        }
        if (!busy)
            sl_doorbell_idle(&worker->bell, run->doorbell_wait_ns);
        else if (sl_doorbell_busy(&worker->bell))
            sl_run_woke_late(run, "worker");
    }
    send_end_of_stream(worker);
    return NULL;
}
