/*
 * source_runner.c - the thread of one source node (see run.h): it shards
 * events by key group into one batch per worker and hands them on.
 *
 *   tcp, file: an io thread (io/ingest.h) verifies or transcodes what it
 *              receives into batches; this thread takes them and shards
 *              each event (one copy) to the worker owning its key group,
 *              or, with one worker and no acks, hands the batch on whole.
 *   gen:       this thread makes the events (gen/orders_gen.h) and shards.
 *
 * Batches to workers come from this thread's pool (returners: run.h);
 * open batches are handed on when full and after each ingest batch (or
 * every gen slice), so a quiet source adds no latency. End of stream goes
 * to every worker last.
 *
 * Every batch to worker w gets the next tag of (this source, w); with
 * `ack: true` a tcp source records per ack-mode connection which tagged
 * batches hold its events and turns the workers' done tags into the counts
 * the io thread sends (source_ack.h, docs/tcp-ack.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/assert.h"
#include "core/backoff.h"
#include "core/hash.h"
#include "core/log.h"
#include "gen/orders_gen.h"
#include "graph/options.h"
#include "graph/run.h"
#include "graph/source_ack.h"
#include "io/ingest.h"

#define GEN_SLICE_EVENTS 256u

struct shard {
    struct sl_batch *open[SL_JOB_WORKERS_MAX];
};

static void nap(void)
{
    struct timespec ts = {0, 50000};
    nanosleep(&ts, NULL);
}

/* Backpressure waits (the workers are behind) nap 50 us, then 1 ms once
 * they have lasted ~10 ms (sl_backoff): a long stall costs little CPU. */
static struct sl_batch *shard_batch(struct sl_source_runner *source, uint32_t w)
{
    struct sl_batch *batch;
    struct sl_backoff backoff = {0};
    while (sl_pool_get(source->pool, &batch) == -EAGAIN)
        sl_backoff_nap(&backoff);
    batch->tag = ++source->tag_next[w];
    return batch;
}

static void shard_push(struct sl_source_runner *source, uint32_t w, struct sl_batch *batch)
{
    struct sl_backoff backoff = {0};
    while (sl_ring_push(source->rings[w], batch) == -EAGAIN)
        sl_backoff_nap(&backoff);
    sl_doorbell_ring(source->bells[w]);
}

/* The worker of the event whose envelope table is root. */
static uint32_t event_worker(const struct sl_run *run, const uint8_t *root)
{
    if (run->job->workers == 1)
        return 0;
    const uint8_t *key = sl_fb_field_ptr(root, run->envelope.key);
    uint32_t len = 0;
    const uint8_t *bytes = (const uint8_t *)"";
    if (key) {
        key = sl_fb_deref(key);
        len = sl_fb_u32(key);
        bytes = key + 4;
    }
    uint32_t group = sl_key_group(bytes, len, run->job->key_groups);
    return sl_key_group_worker(group, run->job->key_groups, run->job->workers);
}

/* Room for len bytes in the open batch of the worker that owns the key of
 * the envelope table root (a full batch is handed on first); *w is that
 * worker. The caller writes the bytes and commits. */
static uint8_t *shard_reserve(struct sl_source_runner *source, struct shard *shard,
                              const uint8_t *root, uint32_t len, uint32_t *w)
{
    *w = event_worker(source->run, root);
    if (!shard->open[*w])
        shard->open[*w] = shard_batch(source, *w);
    uint8_t *dst = sl_batch_reserve(shard->open[*w], len);
    if (dst)
        return dst;
    shard_push(source, *w, shard->open[*w]);
    shard->open[*w] = shard_batch(source, *w);
    dst = sl_batch_reserve(shard->open[*w], len);
    /* events are at most sl_runtime_event_bytes_max() (emit_oversized, check_runtime) */
    SL_ASSERT(dst);
    return dst;
}

/* Returns the worker the event went to (its batch is shard->open[w]). */
static uint32_t shard_event(struct sl_source_runner *source, struct shard *shard,
                            const uint8_t *buf, uint32_t len, uint32_t source_id,
                            uint64_t position)
{
    uint32_t w;
    memcpy(shard_reserve(source, shard, sl_fb_root(buf + 4), len, &w), buf, len);
    sl_batch_commit(shard->open[w], len, source_id, position);
    return w;
}

static void shard_flush(struct sl_source_runner *source, struct shard *shard)
{
    for (uint32_t w = 0; w < source->run->job->workers; w++) {
        if (shard->open[w]) {
            shard_push(source, w, shard->open[w]);
            shard->open[w] = NULL;
        }
    }
}

static void shard_end(struct sl_source_runner *source, struct shard *shard)
{
    shard_flush(source, shard);
    for (uint32_t w = 0; w < source->run->job->workers; w++) {
        struct sl_batch *batch = shard_batch(source, w);
        SL_ASSERT(sl_batch_add_control(batch, SL_CTRL_END_OF_STREAM, source->node, 0) == 0);
        shard_push(source, w, batch);
    }
}

static void pool_create(struct sl_source_runner *source)
{
    struct sl_run *run = source->run;
    struct sl_pool_config config = {
        .batches = run->config.source_batches,
        .returners = sl_run_source_returners(run), /* 0, the source thread, unused */
        .limits = {.events_max = run->config.batch_events,
                   .arena_bytes_max = run->config.batch_bytes},
    };
    SL_ASSERT(sl_pool_create(&config, &source->pool) == 0);
}

/* ---- tcp and file: ingest on an io thread, sharding here ---- */

static void *ingest_thread(void *arg)
{
    struct sl_ingest *ingest = arg;
    if (sl_ingest_run(ingest))
        sl_log(SL_LOG_ERROR, "ingest ended with an error");
    return NULL;
}

/* ---- ingestion errors -> the source's errors port ---- */

/* A sluice.ingest_error event (size-prefixed, no payload) whose headers are
 * keys[i]: values[i], built in source->error_builder; valid until its next use. */
static const uint8_t *error_event(struct sl_source_runner *source, const char *const *keys,
                                  const char *const *values, uint32_t count, size_t *len)
{
    const struct sl_envelope *env = &source->run->envelope;
    struct sl_fbb *b = &source->error_builder;
    sl_fb_ref refs[8];
    SL_ASSERT(count <= 8);
    sl_fbb_reset(b);
    sl_fb_ref type = sl_fbb_string(b, "sluice.ingest_error", 19);
    for (uint32_t i = 0; i < count; i++) {
        sl_fb_ref key = sl_fbb_string(b, keys[i], strlen(keys[i]));
        sl_fb_ref value = sl_fbb_string(b, values[i], strlen(values[i]));
        sl_fbb_table_start(b);
        sl_fbb_add_ref(b, env->header_key, key);
        sl_fbb_add_ref(b, env->header_value, value);
        refs[i] = sl_fbb_table_end(b);
    }
    sl_fb_ref headers = sl_fbb_vector_refs(b, refs, count);
    sl_fbb_table_start(b);
    sl_fbb_add_ref(b, env->type, type);
    sl_fbb_add_ref(b, env->headers, headers);
    return sl_fbb_finish(b, sl_fbb_table_end(b), true, len);
}

/* io thread: the rejected input as an event of type sluice.ingest_error with
 * the reason and position in headers, handed to the shard thread. */
static void on_ingest_error(void *ctx, const struct sl_ingest_error *error)
{
    struct sl_source_runner *source = ctx;
    struct sl_run *run = source->run;
    char reason[512], offset[24], seq[24], conn[16];
    sl_ingest_error_format(error, reason, sizeof(reason));
    snprintf(offset, sizeof(offset), "%llu", (unsigned long long)error->offset);
    snprintf(seq, sizeof(seq), "%llu", (unsigned long long)error->seq);
    snprintf(conn, sizeof(conn), "%u", error->conn_id);
    const char *keys[] = {"sluice.error.node", "sluice.error.reason", "sluice.error.peer",
                          "sluice.error.connection", "sluice.error.offset", "sluice.error.seq"};
    const char *values[] = {run->job->nodes[source->node].name, reason,
                            error->peer ? error->peer : "", conn, offset, seq};
    size_t len;
    const uint8_t *frame = error_event(source, keys, values, 6, &len);
    /* bounded: at most SL_RUN_ERROR_RING frames of about 1 KiB in flight */
    uint8_t *copy = aligned_alloc(8, (len + 7) & ~(size_t)7);
    if (copy) {
        memcpy(copy, frame, len);
        if (sl_ring_push(source->errors, copy) == 0)
            return;
        free(copy);
    }
    atomic_fetch_add_explicit(&source->errors_dropped, 1, memory_order_relaxed);
    sl_ingest_error_log(&source->error_log, error);
}

/* shard thread: error events into the workers' batches. */
static void drain_errors(struct sl_source_runner *source, struct shard *shard)
{
    void *item;
    while (sl_ring_pop(source->errors, &item) == 0) {
        uint8_t *frame = item;
        shard_event(source, shard, frame, 4 + sl_fb_u32(frame),
                    source->node | SL_RUN_ERROR_EVENT, 0);
        free(frame);
    }
}

/* ---- acks ---- */

static void acks_advance(struct sl_source_runner *source, bool force)
{
    uint64_t done[SL_JOB_WORKERS_MAX];
    for (uint32_t w = 0; w < source->run->job->workers; w++)
        /* acquire: pairs with the worker's release store in ack_advance() */
        done[w] = atomic_load_explicit(&source->done[w].tag, memory_order_acquire);
    sl_source_acks_advance(source->acks, done, force);
}

/* Records an ack-mode connection's event that just went to worker w. A
 * full record pool: hand on the open batches and wait for completions.
 * Once the run has failed, done tags may never move again (a failed sink
 * publishes nothing more), so a full pool stops noting for good
 * (acks_cut): no connection's seen_end moves past an event left out, and
 * acks stay a prefix of what was written. */
static void acks_note(struct sl_source_runner *source, struct shard *shard, uint32_t w,
                      const struct sl_batch_entry *entry)
{
    uint64_t tag = shard->open[w]->tag;
    while (!source->acks_cut &&
           sl_source_acks_note(source->acks, entry->source_id, entry->position, w, tag) ==
               -EAGAIN) {
        if (sl_run_failed(source->run)) {
            source->acks_cut = true;
            return;
        }
        shard_flush(source, shard);
        acks_advance(source, true);
        nap();
    }
}

/* Whether an ingest batch goes to the worker as it is: one worker (no
 * sharding), no ack records to note, and events only (not the end of
 * stream, which every worker gets from shard_end()). */
static bool ingest_batch_whole(const struct sl_source_runner *source, struct sl_batch *batch)
{
    return source->run->job->workers == 1 && !source->acks && sl_batch_events_only(batch);
}

/* One ingest batch: its events sharded, their ack records noted; or, when
 * it can go whole, handed to the worker itself, without a copy, to come
 * back from the worker or a sink (returners, run.h). */
static bool ingest_batch(struct sl_source_runner *source, struct shard *shard,
                         struct sl_batch *batch)
{
    bool end = false;
    uint64_t events = 0;
    if (ingest_batch_whole(source, batch)) {
        shard_flush(source, shard); /* error events taken before it go first */
        events = sl_batch_event_count(batch);
        batch->tag = ++source->tag_next[0];
        shard_push(source, 0, batch);
        /* relaxed: statistics */
        atomic_fetch_add_explicit(&source->events, events, memory_order_relaxed);
        return false;
    }
    if (source->acks)
        sl_source_acks_announced(source->acks); /* every connection of this batch is known */
    for (uint32_t i = 0; i < sl_batch_entry_count(batch); i++) {
        struct sl_batch_entry *entry = sl_batch_entry_at(batch, i);
        if (entry->kind == SL_CTRL_END_OF_STREAM)
            end = true;
        if (entry->kind != SL_ENTRY_EVENT)
            continue;
        uint32_t w = shard_event(source, shard, sl_batch_event_data(batch, entry), entry->len,
                                 entry->source_id, entry->position);
        if (source->acks)
            acks_note(source, shard, w, entry);
        events++;
    }
    shard_flush(source, shard);
    /* relaxed: statistics */
    atomic_fetch_add_explicit(&source->events, events, memory_order_relaxed);
    sl_pool_return(batch, 0);
    return end;
}

static int ingest_run(struct sl_source_runner *source)
{
    struct sl_ingest *ingest = source->impl;
    pool_create(source);
    struct shard shard = {{NULL}};
    pthread_t io;
    if (pthread_create(&io, NULL, ingest_thread, ingest)) {
        sl_log(SL_LOG_ERROR, "source %s: cannot start its io thread",
               source->run->job->nodes[source->node].name);
        sl_run_fail(source->run, -EAGAIN);
        shard_end(source, &shard); /* the workers wait for every source's end */
        return -EAGAIN;
    }
    sl_run_name_thread(io, "io", source->run->job->nodes[source->node].name);
    struct sl_ring *in = sl_ingest_ring(ingest, 0);
    struct sl_backoff backoff = {0};
    for (bool end = false; !end;) {
        void *item;
        drain_errors(source, &shard);
        if (source->acks)
            acks_advance(source, false);
        if (sl_ring_pop(in, &item) != 0) {
            shard_flush(source, &shard);
            if (source->acks)
                sl_source_acks_announced(source->acks); /* ends of idle connections */
            sl_backoff_nap(&backoff);
            continue;
        }
        sl_backoff_reset(&backoff);
        end = ingest_batch(source, &shard, item);
    }
    pthread_join(io, NULL);
    drain_errors(source, &shard); /* what the io thread reported last */
    shard_end(source, &shard);
    return 0;
}

static void ingest_stop(struct sl_source_runner *source) { sl_ingest_stop(source->impl); }

static void ingest_destroy(struct sl_source_runner *source)
{
    sl_source_acks_destroy(source->acks);
    sl_ingest_destroy(source->impl);
    void *item;
    while (sl_ring_pop(source->errors, &item) == 0)
        free(item);
    sl_ring_destroy(source->errors);
    sl_fbb_fini(&source->error_builder);
}

static int ingest_init(struct sl_source_runner *source, char *err, size_t err_len)
{
    struct sl_run *run = source->run;
    struct sl_job_node *node = &run->job->nodes[source->node];
    struct sl_ingest_config config;
    sl_ingest_config_default(&config);
    config.schemas = &run->job->schemas;
    config.source_id = source->node;
    config.consumers = 1;
    config.events_max = run->config.batch_events;
    config.arena_bytes_max = run->config.batch_bytes;
    config.batches = run->config.source_batches;
    struct sl_conf *framing = sl_conf_get(node->conf, "framing");
    config.framing = framing && strcmp(framing->value, "jsonl") == 0 ? SL_INGEST_JSONL : SL_INGEST_FB;
    struct sl_conf *max_frame = sl_conf_get(node->conf, "max_frame");
    uint64_t bytes = 1u << 20;
    if (max_frame)
        sl_opt_parse_size(max_frame->value, &bytes);
    /* job.c (check_runtime) has rejected a larger one */
    SL_ASSERT(bytes + 4 <= sl_runtime_event_bytes_max(config.arena_bytes_max));
    config.frame_bytes_max = (uint32_t)bytes;
    if (sl_ring_create(SL_RUN_ERROR_RING, &source->errors)) {
        snprintf(err, err_len, "%s: cannot create its error ring", node->name);
        return -ENOMEM;
    }
    sl_fbb_init(&source->error_builder, 2048);
    config.on_error = on_ingest_error;
    config.on_error_ctx = source;
    if (strcmp(node->type_name, "tcp") == 0) {
        config.source = SL_INGEST_TCP;
        uint16_t port;
        sl_opt_parse_address(sl_conf_get(node->conf, "listen")->value, source->host,
                             sizeof(source->host), &port);
        config.listen_host = source->host[0] ? source->host : "0.0.0.0";
        config.listen_port = port;
        struct sl_conf *connections = sl_conf_get(node->conf, "max_connections");
        long long v;
        if (connections && sl_opt_parse_int(connections->value, &v) == 0 && v > 0)
            config.connections_max = (uint32_t)v;
        struct sl_conf *ack = sl_conf_get(node->conf, "ack");
        if (ack)
            sl_opt_parse_bool(ack->value, &config.ack);
        struct sl_conf *drain = sl_conf_get(node->conf, "drain_timeout");
        uint64_t drain_us;
        if (drain && sl_opt_parse_duration(drain->value, &drain_us) == 0)
            config.drain_timeout_ms = (uint32_t)(drain_us / 1000 < UINT32_MAX ? drain_us / 1000
                                                                              : UINT32_MAX);
    } else {
        config.source = SL_INGEST_FILE;
        config.path = sl_conf_get(node->conf, "path")->value;
        struct sl_conf *follow = sl_conf_get(node->conf, "follow");
        config.follow = follow && strcmp(follow->value, "true") == 0;
    }
    if (run->job->workers == 1 && !config.ack) /* batches may be handed on whole */
        config.returners = sl_run_source_returners(run) - 1;
    struct sl_ingest *ingest;
    int rc = sl_ingest_create(&config, &ingest, err, err_len);
    if (rc)
        return rc;
    source->impl = ingest;
    source->pools = 2; /* the io thread's and the sharding one */
    source->destroy_fn = ingest_destroy;
    if (config.ack && sl_source_acks_create(sl_ingest_ack_ring(ingest), config.connections_max,
                                            SL_RUN_ACK_RECORDS, &source->acks)) {
        snprintf(err, err_len, "%s: cannot allocate its ack state", node->name);
        return -ENOMEM;
    }
    source->run_fn = ingest_run;
    source->stop_fn = ingest_stop;
    source->destroy_fn = ingest_destroy;
    if (config.source == SL_INGEST_TCP)
        sl_log(SL_LOG_INFO, "source %s: listening on %s:%u", node->name, config.listen_host,
               sl_ingest_port(ingest));
    return 0;
}

/* ---- gen ---- */

struct gen_source {
    struct sl_gen *gen;
    uint64_t count;  /* 0: until stopped */
    uint64_t rate;   /* events per second; 0: unlimited */
};

static uint64_t now_us(void) { return sl_now_ns() / 1000; }

static int gen_run(struct sl_source_runner *source)
{
    struct gen_source *g = source->impl;
    pool_create(source);
    struct shard shard = {{NULL}};
    uint64_t made = 0, start = now_us();
    /* acquire: pairs with the release store in gen_stop() */
    while ((g->count == 0 || made < g->count) &&
           !atomic_load_explicit(&source->stop, memory_order_acquire)) {
        uint64_t slice = GEN_SLICE_EVENTS;
        if (g->count && g->count - made < slice)
            slice = g->count - made;
        if (g->rate) {
            uint64_t allowed = (now_us() - start) * g->rate / 1000000;
            if (allowed <= made) {
                nap();
                continue;
            }
            if (allowed - made < slice)
                slice = allowed - made;
        }
        for (uint64_t i = 0; i < slice; i++) {
            struct sl_gen_event ev;
            sl_gen_next(g->gen, &ev);
            shard_event(source, &shard, ev.frame, (uint32_t)ev.frame_len, source->node, made + i);
        }
        made += slice;
        shard_flush(source, &shard);
        atomic_fetch_add_explicit(&source->events, slice, memory_order_relaxed);
    }
    shard_end(source, &shard);
    return 0;
}

static void gen_stop(struct sl_source_runner *source)
{
    /* release: pairs with the acquire load in gen_run() */
    atomic_store_explicit(&source->stop, true, memory_order_release);
}

static void gen_destroy(struct sl_source_runner *source)
{
    struct gen_source *g = source->impl;
    sl_gen_destroy(g->gen);
    free(g);
}

static long long setting_int(struct sl_job_node *node, const char *key, long long dflt)
{
    struct sl_conf *c = sl_conf_get(node->conf, key);
    long long v = dflt;
    if (c)
        sl_opt_parse_int(c->value, &v);
    return v;
}

static int gen_init(struct sl_source_runner *source, char *err, size_t err_len)
{
    struct sl_job_node *node = &source->run->job->nodes[source->node];
    struct gen_source *g = calloc(1, sizeof(*g));
    SL_ASSERT(g);
    struct sl_gen_opts opts = {
        .seed = (uint64_t)setting_int(node, "seed", 1),
        .keys = (uint32_t)setting_int(node, "keys", 1000),
        .start_us = SL_GEN_START_US_DEFAULT,
    };
    g->count = (uint64_t)setting_int(node, "count", 0);
    g->rate = (uint64_t)setting_int(node, "rate", 0);
    int rc = sl_gen_create(&g->gen, &source->run->job->schemas, &opts, err, err_len);
    if (rc) {
        free(g);
        return rc;
    }
    source->impl = g;
    source->run_fn = gen_run;
    source->stop_fn = gen_stop;
    source->destroy_fn = gen_destroy;
    return 0;
}

/* ---- sources with their own runtime (sl/connector.h) ---- */

struct sl_source_emit {
    struct sl_source_runner *source;
    struct shard shard;
    uint64_t events;
};

/* Reports where an emitted event went: worker w and the tag of its open
 * batch (either pointer may be NULL). */
static void emit_report(const struct sl_source_emit *emit, uint32_t w, uint32_t *worker,
                        uint64_t *tag)
{
    if (worker)
        *worker = w;
    if (tag)
        *tag = emit->shard.open[w]->tag;
}

/* An event of len bytes over sl_runtime_event_bytes_max() goes to the errors port
 * instead, with the reason. The kafka source checks sizes itself (its reason
 * names topic and partition) and gets here only when its mapping added the
 * key or headers past the limit. Returns whether it did. */
static bool emit_oversized(struct sl_source_emit *emit, uint32_t len, uint64_t position,
                           uint32_t *worker, uint64_t *tag)
{
    uint32_t max = sl_runtime_event_bytes_max(emit->source->run->config.batch_bytes);
    if (len <= max)
        return false;
    char reason[160];
    sl_source_too_big_reason(reason, sizeof(reason), len, max);
    sl_source_emit_error(emit, reason, position, worker, tag);
    return true;
}

void sl_source_too_big_reason(char *reason, size_t reason_len, uint64_t len, uint32_t max)
{
    snprintf(reason, reason_len,
             "event of %llu bytes is larger than a batch takes (%u: runtime batch_bytes less the "
             "room kept for error headers)",
             (unsigned long long)len, max);
}

void sl_source_emit(struct sl_source_emit *emit, const uint8_t *buf, uint32_t len,
                    uint64_t position, uint32_t *worker, uint64_t *tag)
{
    struct sl_source_runner *source = emit->source;
    if (emit_oversized(emit, len, position, worker, tag))
        return;
    emit_report(emit, shard_event(source, &emit->shard, buf, len, source->node, position), worker,
                tag);
    /* relaxed: statistics */
    atomic_fetch_add_explicit(&source->events, 1, memory_order_relaxed);
}

void sl_source_emit_raw(struct sl_source_emit *emit, const uint8_t *raw, uint32_t len,
                        uint64_t position, uint32_t *worker, uint64_t *tag)
{
    struct sl_source_runner *source = emit->source;
    uint32_t w;
    if (emit_oversized(emit, len + 8, position, worker, tag))
        return;
    sl_fb_raw_to_prefixed(shard_reserve(source, &emit->shard, sl_fb_root(raw), len + 8, &w), raw,
                          len);
    sl_batch_commit(emit->shard.open[w], len + 8, source->node, position);
    emit_report(emit, w, worker, tag);
    /* relaxed: statistics */
    atomic_fetch_add_explicit(&source->events, 1, memory_order_relaxed);
}

void sl_source_emit_error(struct sl_source_emit *emit, const char *reason, uint64_t position,
                          uint32_t *worker, uint64_t *tag)
{
    struct sl_source_runner *source = emit->source;
    struct sl_run *run = source->run;
    char offset[24];
    snprintf(offset, sizeof(offset), "%llu", (unsigned long long)position);
    const char *keys[] = {"sluice.error.node", "sluice.error.reason", "sluice.error.offset"};
    const char *values[] = {run->job->nodes[source->node].name, reason, offset};
    size_t len;
    const uint8_t *frame = error_event(source, keys, values, 3, &len);
    emit_report(emit, shard_event(source, &emit->shard, frame, (uint32_t)len,
                                  source->node | SL_RUN_ERROR_EVENT, position),
                worker, tag);
}

void sl_source_flush(struct sl_source_emit *emit) { shard_flush(emit->source, &emit->shard); }

uint64_t sl_source_done_tag(struct sl_source_emit *emit, uint32_t worker)
{
    /* acquire: pairs with the worker's release store of its done tag */
    return atomic_load_explicit(&emit->source->done[worker].tag, memory_order_acquire);
}

static int typed_run(struct sl_source_runner *source)
{
    const struct sl_source_type *type = source->run->job->nodes[source->node].source;
    pool_create(source);
    struct sl_source_emit emit = {.source = source};
    int rc = type->run(source->impl, &emit);
    shard_end(source, &emit.shard);
    return rc;
}

static void typed_stop(struct sl_source_runner *source)
{
    source->run->job->nodes[source->node].source->stop(source->impl);
}

static void typed_destroy(struct sl_source_runner *source)
{
    const struct sl_source_type *type = source->run->job->nodes[source->node].source;
    if (source->impl)
        type->close(source->impl);
    sl_fbb_fini(&source->error_builder);
}

static int typed_init(struct sl_source_runner *source, char *err, size_t err_len)
{
    struct sl_job_node *node = &source->run->job->nodes[source->node];
    struct sl_source_args args = {.plan = node->plan, .schemas = &source->run->job->schemas,
                                  .node_name = node->name, .workers = source->run->job->workers,
                                  .event_bytes_max = sl_runtime_event_bytes_max(
                                      source->run->config.batch_bytes),
                                  .txn = source->run->job->exactly_once ? &source->run->txn
                                                                         : NULL};
    sl_fbb_init(&source->error_builder, 2048);
    int rc = node->source->open(&args, &source->impl, err, err_len);
    if (rc) {
        source->impl = NULL;
        sl_fbb_fini(&source->error_builder);
        return rc;
    }
    source->run_fn = typed_run;
    source->stop_fn = typed_stop;
    source->destroy_fn = typed_destroy;
    return 0;
}

int sl_source_runner_init(struct sl_source_runner *source, char *err, size_t err_len)
{
    const struct sl_job_node *node = &source->run->job->nodes[source->node];
    source->pools = 1; /* ingest_init makes it 2 */
    if (node->source->run)
        return typed_init(source, err, err_len);
    if (strcmp(node->type_name, "gen") == 0)
        return gen_init(source, err, err_len);
    return ingest_init(source, err, err_len);
}
