/*
 * sink_runner.c - the thread of one sink node (see run.h): takes batches
 * from every worker's ring for this sink, writes them through the sink
 * type's write(), returns them to the worker's pool, and closes the sink
 * when every worker has sent end of stream. A failed open or write fails
 * the run (exit 1) and stops the sources; the thread keeps draining its
 * rings so that no worker waits forever.
 *
 * A batch from worker w's ring is w's, or, passed through (run.h), a
 * source's: batch_home() returns either to its pool.
 *
 * Acks (run.h): after write() returned for a batch from worker w, the
 * sink publishes written[w] = the last round of w whose batches to this
 * sink are all written. A failed sink publishes nothing more, so nothing it
 * did not write is ever acknowledged. A sink with completed() (kafka)
 * confirms writes later: its batches wait in a FIFO of at most
 * SL_SINK_PENDING_MAX (worker, tag, writes) entries, published in order once
 * completed() covers their write; while the rings are idle the thread
 * serves completed() instead of sleeping on its doorbell. A batch whose
 * write() returned SL_SINK_WRITE_HELD goes back to its worker's pool from
 * that FIFO once confirmed; when the sink fails, abandon() first, then
 * every held batch goes back. (Such a sink never reads an errors port:
 * job.c refuses a sink with completed() there.)
 *
 * Errors ports (run.h, sl/connector.h): a sink whose errors port another
 * sink reads makes the port's batch pool on its thread before open() and,
 * after close() (or a failure), pushes the end-of-stream batch. The reading
 * sink takes the port's batches besides its workers' rings, writes them,
 * and publishes how many of their events are written; its run ends with
 * the workers' and the port's ends of stream.
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "core/backoff.h"
#include "core/log.h"
#include "graph/run.h"

static bool batch_is_end(struct sl_batch *batch)
{
    uint32_t n = sl_batch_entry_count(batch);
    return n && sl_batch_entry_at(batch, n - 1)->kind == SL_CTRL_END_OF_STREAM;
}

/* tag = round << 1 | last batch of that round to this sink (worker.c) */
static void publish_written(struct sl_sink_runner *sink, uint32_t w, uint64_t tag)
{
    uint64_t round = tag >> 1;
    uint64_t written = tag & 1 ? round : round - 1;
    /* release: the write() above happened before; pairs with the acquire
     * load in the worker's ack_advance() */
    atomic_store_explicit(&sink->written[w], written, memory_order_release);
    struct sl_worker *worker = &sink->run->workers[w];
    if (worker->acked_inputs) /* else nothing waits for written (ack_advance) */
        sl_doorbell_ring(&worker->bell);
}

/* Gives batch, from worker w's ring, back to its pool: w's, or one of a
 * source's for a batch passed through (run.h). The worker made its pool
 * before pushing to this sink; the ring's acquire carries its pointer. */
static void batch_home(struct sl_sink_runner *sink, uint32_t w, struct sl_batch *batch)
{
    struct sl_run *run = sink->run;
    bool own = batch->pool == run->workers[w].sink_pool;
    sl_pool_return(batch, own ? sink->index : sl_run_returner_sink(run, sink->index));
}

/* A batch whose ack (or return, when held) waits for its write() to be
 * confirmed. */
struct sink_pending {
    uint64_t tag;
    uint64_t writes;            /* write() calls up to and including this batch's */
    uint32_t worker;
    uint32_t events;
    struct sl_batch *held;      /* SL_SINK_WRITE_HELD: returned once confirmed; else NULL */
};

static void count_written(struct sl_sink_runner *sink, uint32_t events)
{
    /* relaxed: statistics */
    atomic_fetch_add_explicit(&sink->written_events, events, memory_order_relaxed);
}

/* The sink thread's own state. */
struct sink_loop {
    struct sl_sink_runner *sink;
    const struct sl_sink_type *type;
    const char *name;
    bool healthy;
    bool opened;                /* open() succeeded and close() not called: abandon() applies */
    uint64_t writes;            /* write() calls made */
    struct sink_pending pending[SL_SINK_PENDING_MAX]; /* FIFO, oldest at head */
    uint32_t head, count;
};

/* The sink failed: nothing more is acknowledged; a sink that may hold
 * batches is abandoned, then the held ones go back to their pools. */
static void loop_fail(struct sink_loop *loop, const char *err)
{
    sl_log(SL_LOG_ERROR, "sink %s: %s", loop->name, err);
    sl_run_fail(loop->sink->run, -EIO);
    if (loop->healthy && loop->opened && loop->type->abandon)
        loop->type->abandon(loop->sink->state);
    loop->healthy = false;
    for (; loop->count; loop->count--) { /* never acknowledged */
        struct sink_pending *p = &loop->pending[loop->head];
        if (p->held)
            batch_home(loop->sink, p->worker, p->held);
        loop->head = (loop->head + 1) % SL_SINK_PENDING_MAX;
    }
}

/* write() of batch: 0, or 1 when held (SL_SINK_WRITE_HELD), or -1 when the
 * sink failed. */
static int loop_write(struct sink_loop *loop, struct sl_batch *batch)
{
    char err[256] = "";
    loop->writes++;
    int rc = loop->type->write(loop->sink->state, batch, err, sizeof(err));
    if (rc < 0) {
        loop_fail(loop, err);
        return -1;
    }
    SL_ASSERT(rc == 0 || (rc == SL_SINK_WRITE_HELD && loop->type->completed &&
                          loop->type->abandon));
    return rc;
}

/* Serves completed() for at most timeout_ms and publishes the pending
 * batches it confirmed, in order. */
static void loop_confirm(struct sink_loop *loop, int timeout_ms)
{
    char err[256] = "";
    int64_t done = loop->type->completed(loop->sink->state, timeout_ms, err, sizeof(err));
    if (done < 0) {
        loop_fail(loop, err);
        return;
    }
    while (loop->count && loop->pending[loop->head].writes <= (uint64_t)done) {
        struct sink_pending *p = &loop->pending[loop->head];
        if (p->held)
            batch_home(loop->sink, p->worker, p->held);
        publish_written(loop->sink, p->worker, p->tag);
        count_written(loop->sink, p->events);
        loop->head = (loop->head + 1) % SL_SINK_PENDING_MAX;
        loop->count--;
    }
    if (loop->type->dead_lettered)
        atomic_store_explicit(&loop->sink->dead_events,
                              loop->type->dead_lettered(loop->sink->state), memory_order_relaxed);
}

/* A batch of dead letters from the errors port this sink reads: written,
 * then their count published to the writing sink (or the failure). Returns
 * whether it was the port's end of stream. */
static bool loop_errors_batch(struct sink_loop *loop, struct sl_sink_errors *errors,
                              struct sl_batch *batch)
{
    uint32_t events = sl_batch_event_count(batch);
    /* never held: this sink has no completed() (job.c), loop_write() asserts it */
    if (loop->healthy && events)
        (void)loop_write(loop, batch);
    if (loop->healthy) {
        /* release: the write above happened before; pairs with the acquire
         * load in sl_sink_errors_written() */
        atomic_fetch_add_explicit(&errors->written, events, memory_order_release);
        count_written(loop->sink, events);
    } else {
        atomic_store_explicit(&errors->failed, true, memory_order_release);
    }
    bool end = batch_is_end(batch);
    sl_pool_return(batch, 0); /* this thread is the port pool's only returner */
    return end;
}

/* Pushes the end of stream of this sink's errors port: its reader ends once
 * it has every batch of the port. Waits for a free batch (the reader keeps
 * returning them, failed or not). */
static void errors_end(struct sl_sink_errors *errors)
{
    struct sl_batch *batch;
    struct sl_backoff backoff = {0};
    while ((batch = sl_sink_errors_batch(errors)) == NULL)
        sl_backoff_nap(&backoff);
    SL_ASSERT(sl_batch_add_control(batch, SL_CTRL_END_OF_STREAM, 0, 0) == 0);
    sl_sink_errors_push(errors, batch);
}

/* Writes one batch from worker w (if it has events) and publishes its ack,
 * at once or, with completed(), once confirmed; then returns it to the
 * worker's pool, or leaves that to loop_confirm() when held. */
static void loop_batch(struct sink_loop *loop, uint32_t w, struct sl_batch *batch)
{
    struct sl_sink_runner *sink = loop->sink;
    uint32_t events = sl_batch_event_count(batch);
    while (loop->healthy && loop->count == SL_SINK_PENDING_MAX)
        loop_confirm(loop, 10);
    bool held = loop->healthy && events && loop_write(loop, batch) == SL_SINK_WRITE_HELD;
    if (!loop->healthy || !loop->type->completed) {
        if (loop->healthy) {
            publish_written(sink, w, batch->tag);
            count_written(sink, events);
        }
        batch_home(sink, w, batch);
        return;
    }
    loop->pending[(loop->head + loop->count) % SL_SINK_PENDING_MAX] = (struct sink_pending){
        .tag = batch->tag, .writes = loop->writes, .worker = w, .events = events,
        .held = held ? batch : NULL};
    loop->count++;
    if (!held)
        batch_home(sink, w, batch);
}

void *sl_sink_main(void *arg)
{
    struct sl_sink_runner *sink = arg;
    struct sl_run *run = sink->run;
    struct sl_job_node *node = &run->job->nodes[sink->node];
    char err[256] = "";
    struct sl_sink_args args = {.plan = node->plan, .schemas = &run->job->schemas,
                                .node_name = node->name,
                                .txn = run->job->exactly_once ? &run->txn : NULL,
                                .errors = sink->errors_out};
    if (sink->errors_out) { /* this thread owns the port's pool (run.h) */
        struct sl_pool_config config = {.batches = SL_SINK_ERRORS_BATCHES, .returners = 1,
                                        .limits = sink->errors_out->limits};
        SL_ASSERT(sl_pool_create(&config, &sink->errors_out->pool) == 0);
    }
    struct sink_loop loop = {.sink = sink, .type = node->sink, .name = node->name,
                             .healthy = true};
    if (loop.type->open(&args, &sink->state, err, sizeof(err)) != 0)
        loop_fail(&loop, err);
    else
        loop.opened = true;
    uint32_t workers = run->job->workers, open = workers + (sink->errors_in ? 1 : 0);
    bool eos[SL_JOB_WORKERS_MAX] = {false};
    while (open) {
        bool busy = false;
        for (uint32_t w = 0; w < workers; w++) {
            void *item;
            if (eos[w] || sl_ring_pop(run->workers[w].sink_rings[sink->node], &item) != 0)
                continue;
            busy = true;
            struct sl_batch *batch = item;
            if (batch_is_end(batch)) { /* read before loop_batch() gives it back */
                eos[w] = true;
                open--;
            }
            loop_batch(&loop, w, batch);
        }
        void *item;
        if (sink->errors_in && sl_ring_pop(sink->errors_in->ring, &item) == 0) {
            busy = true;
            if (loop_errors_batch(&loop, sink->errors_in, item))
                open--;
        }
        if (busy) {
            if (sl_doorbell_busy(&sink->bell))
                sl_run_woke_late(run, loop.name);
            if (loop.count)
                loop_confirm(&loop, 0);
        } else if (loop.count || (loop.healthy && loop.type->completed)) {
            loop_confirm(&loop, 1); /* waits in the client instead of on the bell */
        } else {
            sl_doorbell_idle(&sink->bell, run->doorbell_wait_ns);
        }
    }
    while (loop.healthy && loop.count)
        loop_confirm(&loop, 100);
    loop.opened = false; /* close() releases the state whatever it returns: no abandon() */
    if (loop.healthy && loop.type->close(sink->state, err, sizeof(err)))
        loop_fail(&loop, err);
    if (sink->errors_out)
        errors_end(sink->errors_out);
    atomic_fetch_add(&run->sinks_done, 1);
    sem_post(&run->sink_closed); /* wakes sl_run_wait_sinks() */
    return NULL;
}
