/*
 * sink_runner.c - the thread of one sink node (see run.h): takes batches
 * from every worker's ring for this sink, writes them through the sink
 * type's write(), returns them to the worker's pool, and closes the sink
 * when every worker has sent end of stream. A failed open or write fails
 * the run (exit 1) and stops the sources; the thread keeps draining its
 * rings so that no worker waits forever.
 *
 * Acks (run.h): after write() returned for a batch from worker w, the
 * sink publishes written[w] = the last round of w whose batches to this
 * sink are all written. A failed sink publishes nothing more, so nothing it
 * did not write is ever acknowledged.
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
}

void *sl_sink_main(void *arg)
{
    struct sl_sink_runner *sink = arg;
    struct sl_run *run = sink->run;
    struct sl_job_node *node = &run->job->nodes[sink->node];
    const struct sl_sink_type *type = node->sink;
    char err[256] = "";
    struct sl_sink_args args = {.plan = node->plan, .schemas = &run->job->schemas,
                                .node_name = node->name};
    bool healthy = type->open(&args, &sink->state, err, sizeof(err)) == 0;
    if (!healthy) {
        sl_log(SL_LOG_ERROR, "sink %s: %s", node->name, err);
        sl_run_fail(run, -EIO);
    }
    uint32_t workers = run->job->workers, open = workers;
    bool eos[SL_JOB_WORKERS_MAX] = {false};
    struct sl_backoff backoff = {0};
    while (open) {
        bool busy = false;
        for (uint32_t w = 0; w < workers; w++) {
            void *item;
            if (eos[w] || sl_ring_pop(run->workers[w].sink_rings[sink->node], &item) != 0)
                continue;
            busy = true;
            struct sl_batch *batch = item;
            uint32_t events = sl_batch_event_count(batch);
            if (healthy && events && type->write(sink->state, batch, err, sizeof(err))) {
                sl_log(SL_LOG_ERROR, "sink %s: %s", node->name, err);
                sl_run_fail(run, -EIO);
                healthy = false;
            }
            /* relaxed: statistics */
            atomic_fetch_add_explicit(&sink->events, events, memory_order_relaxed);
            atomic_fetch_add_explicit(&sink->batches, 1, memory_order_relaxed);
            if (healthy)
                publish_written(sink, w, batch->tag);
            if (batch_is_end(batch)) {
                eos[w] = true;
                open--;
            }
            sl_pool_return(batch, sink->index);
        }
        if (busy)
            sl_backoff_reset(&backoff);
        else
            sl_backoff_nap(&backoff);
    }
    if (healthy && type->close(sink->state, err, sizeof(err))) {
        sl_log(SL_LOG_ERROR, "sink %s: %s", node->name, err);
        sl_run_fail(run, -EIO);
    }
    atomic_fetch_add(&run->sinks_done, 1);
    return NULL;
}
