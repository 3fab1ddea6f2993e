/*
 * run.c - builds, starts, stops and joins a running job (see run.h).
 * Start order: sinks, workers, sources (so that nothing is sent to a thread
 * that is not there); a stop only reaches the sources, and the drain
 * (end of stream) travels downstream from them.
 */
#include "graph/run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/assert.h"
#include "core/log.h"

void sl_run_config_default(struct sl_run_config *config)
{
    *config = (struct sl_run_config){
        .batch_events = SL_RUNTIME_BATCH_EVENTS_MAX,
        .batch_bytes = SL_RUNTIME_BATCH_BYTES_MAX,
        .source_batches = SL_RUNTIME_BATCHES_DEFAULT,
        .sink_batches = SL_RUNTIME_BATCHES_DEFAULT,
        .ring_capacity = 32,
        .out_arena_bytes = 8u << 20,
    };
}

void sl_run_fail(struct sl_run *run, int rc)
{
    int expected = 0;
    atomic_compare_exchange_strong(&run->failed, &expected, rc);
    sl_run_stop(run);
}

void sl_run_stop(struct sl_run *run)
{
    if (atomic_exchange(&run->stopping, true))
        return;
    for (uint32_t s = 0; s < run->source_count; s++)
        if (run->sources[s].stop_fn)
            run->sources[s].stop_fn(&run->sources[s]);
}

uint32_t sl_run_pass_sink(const struct sl_job *job, uint32_t src)
{
    uint32_t reader = SL_RUN_NO_PASS, readers = 0;
    for (uint32_t i = 0; i < job->node_count; i++) {
        for (uint32_t e = 0; e < job->nodes[i].input_count; e++) {
            const struct sl_job_input *in = &job->nodes[i].inputs[e];
            if (in->node == src && in->port == SL_PORT_OUT) {
                reader = i;
                readers++;
            }
        }
    }
    if (readers != 1)
        return SL_RUN_NO_PASS;
    const struct sl_job_node *node = &job->nodes[reader];
    bool passes = node->kind == SL_NODE_SINK && node->input_count == 1 && !node->sink->discards;
    return passes ? reader : SL_RUN_NO_PASS;
}

static int create_rings(struct sl_run *run, char *err, size_t err_len)
{
    struct sl_job *job = run->job;
    for (uint32_t s = 0; s < run->source_count; s++) {
        for (uint32_t w = 0; w < job->workers; w++) {
            struct sl_ring *ring;
            if (sl_ring_create(run->config.ring_capacity, &ring)) {
                snprintf(err, err_len, "cannot create rings");
                return -ENOMEM;
            }
            run->sources[s].rings[w] = ring;
            struct sl_worker *worker = &run->workers[w];
            run->sources[s].bells[w] = &worker->bell;
            worker->inputs[worker->input_count++] = (struct sl_worker_input){
                .ring = ring, .node = run->sources[s].node, .source = s,
                .returner = sl_run_returner_worker(w),
                .pass_sink = sl_run_pass_sink(job, run->sources[s].node)};
        }
    }
    for (uint32_t k = 0; k < run->sink_count; k++) {
        uint32_t node = run->sinks[k].node;
        for (uint32_t w = 0; w < job->workers; w++) {
            if (sl_ring_create(run->config.ring_capacity, &run->workers[w].sink_rings[node])) {
                snprintf(err, err_len, "cannot create rings");
                return -ENOMEM;
            }
            run->workers[w].sink_bells[node] = &run->sinks[k].bell;
        }
    }
    return 0;
}

/* The channel of each sink's errors port that another sink reads (job.c
 * lets one sink read it, with no other input). Its pool is made on the
 * writing sink's thread (sink_runner.c). */
static int create_errors_ports(struct sl_run *run, char *err, size_t err_len)
{
    const struct sl_job *job = run->job;
    for (uint32_t k = 0; k < run->sink_count; k++) {
        struct sl_sink_runner *reader = &run->sinks[k];
        const struct sl_job_node *node = &job->nodes[reader->node];
        if (node->input_count != 1 || job->nodes[node->inputs[0].node].kind != SL_NODE_SINK)
            continue;
        struct sl_sink_runner *writer = NULL;
        for (uint32_t j = 0; j < run->sink_count; j++)
            if (run->sinks[j].node == node->inputs[0].node)
                writer = &run->sinks[j];
        SL_ASSERT(writer && node->inputs[0].port == SL_PORT_ERRORS);
        struct sl_sink_errors *errors = calloc(1, sizeof(*errors));
        SL_ASSERT(errors);
        errors->limits = (struct sl_batch_limits){.events_max = run->config.batch_events,
                                                  .arena_bytes_max = run->config.batch_bytes};
        writer->errors_out = reader->errors_in = errors;
        errors->reader_bell = &reader->bell;
        if (sl_ring_create(SL_SINK_ERRORS_BATCHES, &errors->ring)) {
            snprintf(err, err_len, "out of memory for the errors port of %s",
                     job->nodes[writer->node].name);
            return -ENOMEM;
        }
    }
    return 0;
}

struct sl_batch *sl_sink_errors_batch(struct sl_sink_errors *errors)
{
    struct sl_batch *batch;
    return sl_pool_get(errors->pool, &batch) == 0 ? batch : NULL;
}

void sl_sink_errors_push(struct sl_sink_errors *errors, struct sl_batch *batch)
{
    errors->pushed += sl_batch_event_count(batch);
    /* the ring has a slot for every batch of the pool */
    SL_ASSERT(sl_ring_push(errors->ring, batch) == 0);
    sl_doorbell_ring(errors->reader_bell);
}

uint64_t sl_sink_errors_written(struct sl_sink_errors *errors, bool *failed)
{
    /* acquire: pair with the reading sink's release stores (sink_runner.c) */
    *failed = atomic_load_explicit(&errors->failed, memory_order_acquire);
    return atomic_load_explicit(&errors->written, memory_order_acquire);
}

/* Bytes one batch of the config may take (pool.h): arena and entries. */
static uint64_t batch_memory(const struct sl_run_config *c)
{
    return (uint64_t)c->batch_bytes +
           sizeof(struct sl_batch_entry) * ((uint64_t)c->batch_events + SL_BATCH_CONTROLS_MAX) +
           sizeof(struct sl_batch);
}

uint64_t sl_run_batch_memory(const struct sl_run *run)
{
    const struct sl_run_config *c = &run->config;
    uint64_t batch = batch_memory(c), ports = 0, source_pools = 0;
    for (uint32_t k = 0; k < run->sink_count; k++)
        ports += run->sinks[k].errors_in != NULL;
    for (uint32_t s = 0; s < run->source_count; s++)
        source_pools += run->sources[s].pools;
    return source_pools * c->source_batches * batch +
           run->job->workers * (c->sink_batches * batch + c->out_arena_bytes) +
           ports * SL_SINK_ERRORS_BATCHES * batch;
}

/* SL_DOORBELL_WAIT_NS, or SLUICE_DOORBELL_WAIT_MS (1 ms .. 1 h) when set
 * (*strict then). */
static uint64_t doorbell_wait_ns(bool *strict)
{
    const char *text = getenv("SLUICE_DOORBELL_WAIT_MS");
    char *end;
    unsigned long long ms = text ? strtoull(text, &end, 10) : 0;
    *strict = false;
    if (!text || end == text || *end || ms < 1 || ms > 3600000) {
        if (text)
            sl_log(SL_LOG_WARN, "SLUICE_DOORBELL_WAIT_MS=%s ignored (1 .. 3600000)", text);
        return SL_DOORBELL_WAIT_NS;
    }
    *strict = true;
    return ms * 1000000u;
}

void sl_run_woke_late(const struct sl_run *run, const char *thread)
{
    if (!run->doorbell_strict)
        return;
    sl_log(SL_LOG_ERROR, "%s: woke after its whole %llu ms wait to find work waiting: a "
           "hand-off rang no doorbell", thread,
           (unsigned long long)(run->doorbell_wait_ns / 1000000u));
    sl_assert_fail("every hand-off to a sleeping thread rings its doorbell", __FILE__, __LINE__);
}

int sl_run_create(struct sl_run *run, struct sl_job *job, const struct sl_run_config *config,
                  char *err, size_t err_len)
{
    memset(run, 0, sizeof(*run));
    SL_ASSERT(sem_init(&run->sink_closed, 0, 0) == 0);
    run->job = job;
    run->txn.job_name = job->name;
    run->config = *config;
    run->doorbell_wait_ns = doorbell_wait_ns(&run->doorbell_strict);
    sl_envelope_init(&run->envelope, &job->schemas);
    for (uint32_t i = 0; i < job->node_count; i++) {
        struct sl_job_node *node = &job->nodes[i];
        if (node->kind == SL_NODE_SOURCE) {
            if (run->source_count == SL_RUN_SOURCES_MAX) {
                snprintf(err, err_len, "more than %u sources", SL_RUN_SOURCES_MAX);
                return -EINVAL;
            }
            struct sl_source_runner *source = &run->sources[run->source_count];
            *source = (struct sl_source_runner){.run = run, .node = i, .index = run->source_count};
            run->source_count++;
        } else if (node->kind == SL_NODE_SINK) {
            if (run->sink_count == SL_RUN_SINKS_MAX) {
                snprintf(err, err_len, "more than %u sinks", SL_RUN_SINKS_MAX);
                return -EINVAL;
            }
            run->sinks[run->sink_count] =
                (struct sl_sink_runner){.run = run, .node = i, .index = run->sink_count};
            run->sink_count++;
        }
    }
    int rc = create_rings(run, err, err_len);
    if (!rc)
        rc = create_errors_ports(run, err, err_len);
    for (uint32_t w = 0; !rc && w < job->workers; w++)
        rc = sl_worker_init(&run->workers[w], run, w, err, err_len);
    for (uint32_t s = 0; !rc && s < run->source_count; s++)
        rc = sl_source_runner_init(&run->sources[s], err, err_len);
    for (uint32_t w = 0; !rc && w < job->workers; w++) {
        struct sl_worker *worker = &run->workers[w];
        for (uint32_t i = 0; i < worker->input_count; i++)
        {
            /* done tags are published for tcp ack mode and for sources with
             * their own runtime (they commit positions, e.g. Kafka offsets) */
            const struct sl_source_runner *source = &run->sources[worker->inputs[i].source];
            worker->inputs[i].acked =
                source->acks != NULL || job->nodes[source->node].source->run != NULL;
            worker->acked_inputs |= worker->inputs[i].acked;
        }
    }
    return rc;
}

static void *source_main(void *arg)
{
    struct sl_source_runner *source = arg;
    int rc = source->run_fn(source);
    if (rc)
        sl_run_fail(source->run, rc);
    return NULL;
}

/* Names a runtime thread "<role>:<node or worker>" (15 bytes at most, the
 * kernel's limit), as top -H, perf and /proc/PID/task/TID/comm show it. */
void sl_run_name_thread(pthread_t thread, const char *role, const char *what)
{
    char name[16];
    snprintf(name, sizeof(name), "%s:%s", role, what);
    pthread_setname_np(thread, name); /* a name is cosmetic: failure is ignored */
}

int sl_run_start(struct sl_run *run, char *err, size_t err_len)
{
    char index[12];
    for (uint32_t k = 0; k < run->sink_count; k++) {
        if (pthread_create(&run->sinks[k].thread, NULL, sl_sink_main, &run->sinks[k]))
            goto fail;
        sl_run_name_thread(run->sinks[k].thread, "sink",
                           run->job->nodes[run->sinks[k].node].name);
    }
    for (uint32_t w = 0; w < run->job->workers; w++) {
        if (pthread_create(&run->workers[w].thread, NULL, sl_worker_main, &run->workers[w]))
            goto fail;
        snprintf(index, sizeof(index), "%u", w);
        sl_run_name_thread(run->workers[w].thread, "worker", index);
    }
    for (uint32_t s = 0; s < run->source_count; s++) {
        if (pthread_create(&run->sources[s].thread, NULL, source_main, &run->sources[s]))
            goto fail;
        sl_run_name_thread(run->sources[s].thread, "src",
                           run->job->nodes[run->sources[s].node].name);
    }
    return 0;
fail:
    /* threads are never cancelled: a job that cannot start its threads aborts */
    snprintf(err, err_len, "cannot start threads");
    SL_ASSERT(!"thread creation failed after some threads started");
    return -EAGAIN;
}

bool sl_run_wait_sinks(struct sl_run *run, uint32_t timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline); /* sem_timedwait's clock */
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    while (atomic_load(&run->sinks_done) < run->sink_count) {
        if (sem_timedwait(&run->sink_closed, &deadline) != 0 && errno == ETIMEDOUT)
            break; /* EINTR (a signal): wait on */
    }
    return atomic_load(&run->sinks_done) == run->sink_count;
}

int sl_run_join(struct sl_run *run)
{
    for (uint32_t s = 0; s < run->source_count; s++)
        pthread_join(run->sources[s].thread, NULL);
    for (uint32_t w = 0; w < run->job->workers; w++)
        pthread_join(run->workers[w].thread, NULL);
    for (uint32_t k = 0; k < run->sink_count; k++)
        pthread_join(run->sinks[k].thread, NULL);
    return atomic_load(&run->failed);
}

void sl_run_destroy(struct sl_run *run)
{
    for (uint32_t k = 0; k < run->sink_count; k++) {
        struct sl_sink_errors *errors = run->sinks[k].errors_out;
        if (!errors)
            continue;
        sl_pool_destroy(errors->pool); /* every thread is done: no batch is in use */
        if (errors->ring)
            sl_ring_destroy(errors->ring);
        free(errors);
    }
    sem_destroy(&run->sink_closed);
    for (uint32_t s = 0; s < run->source_count; s++) {
        struct sl_source_runner *source = &run->sources[s];
        if (source->destroy_fn)
            source->destroy_fn(source);
        /* every batch came home: at home or in a return ring (run.h: returners) */
        SL_DASSERT(!source->pool || sl_pool_available(source->pool) == sl_pool_size(source->pool));
        sl_pool_destroy(source->pool);
        for (uint32_t w = 0; w < run->job->workers; w++)
            if (source->rings[w])
                sl_ring_destroy(source->rings[w]);
    }
    for (uint32_t w = 0; w < run->job->workers; w++) {
        for (uint32_t k = 0; k < run->sink_count; k++)
            if (run->workers[w].sink_rings[run->sinks[k].node])
                sl_ring_destroy(run->workers[w].sink_rings[run->sinks[k].node]);
        SL_DASSERT(!run->workers[w].sink_pool || /* every batch came home */
                   sl_pool_available(run->workers[w].sink_pool) ==
                       sl_pool_size(run->workers[w].sink_pool));
        sl_worker_fini(&run->workers[w]);
    }
}

void sl_run_node_counts(const struct sl_run *run, uint32_t node, uint64_t *in, uint64_t *out,
                        uint64_t *errors)
{
    *in = *out = *errors = 0;
    for (uint32_t w = 0; w < run->job->workers; w++) {
        const struct sl_node_counters *c = &run->workers[w].counters[node];
        /* relaxed: statistics */
        *in += atomic_load_explicit(&c->in, memory_order_relaxed);
        *out += atomic_load_explicit(&c->out, memory_order_relaxed);
        *errors += atomic_load_explicit(&c->errors, memory_order_relaxed);
    }
    for (uint32_t k = 0; k < run->sink_count; k++) {
        const struct sl_sink_runner *sink = &run->sinks[k];
        if (sink->node != node)
            continue;
        uint64_t port = 0;
        if (sink->errors_in) /* fed by another sink's errors port, not by the workers */
            port = atomic_load_explicit(&sink->errors_in->written, memory_order_relaxed);
        *in += port;
        /* out: what the sink wrote (a failed sink stops counting); a sink
         * that discards gets no copies and writes what it is handed */
        if (run->job->nodes[node].sink->discards) {
            *out += port;
        } else {
            uint64_t written = atomic_load_explicit(&sink->written_events, memory_order_relaxed);
            uint64_t dead = atomic_load_explicit(&sink->dead_events, memory_order_relaxed);
            if (dead > written) /* loaded apart: the live status line may see that */
                dead = written;
            *out = written - dead;
            *errors += dead;
        }
    }
}
