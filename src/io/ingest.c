/* ingest.c - the io thread's loop and the batch side of ingestion: framed
 * streams cut into verified (fb) or transcoded (jsonl) events placed in
 * batches, hand-off through the consumer rings, backpressure, the error
 * path and end of stream. The sources live in tcp_source.c and
 * file_source.c; the contract is in ingest.h, the memory bound in
 * docs/ingestion.md.
 */
#include "io/ingest.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "io/ingest_int.h"

#define SL_INGEST_SQ_ENTRIES 1024u
#define SL_INGEST_CQ_ENTRIES 16384u
#define SL_INGEST_POLL_NS 200000u /* re-check for returned batches while blocked or draining */

void sl_ingest_config_default(struct sl_ingest_config *config)
{
    *config = (struct sl_ingest_config){
        .source = SL_INGEST_TCP,
        .framing = SL_INGEST_FB,
        .source_id = 1,
        .listen_host = "127.0.0.1",
        .connections_max = 4096,
        .drain_timeout_ms = 5000,
        .bufring_entries = 128,
        .buf_bytes = 131072,
        .follow_interval_ms = 100,
        .read_bytes = 1u << 20,
        .frame_bytes_max = 1u << 20,
        .batches = 64,
        .events_max = 1024,
        .arena_bytes_max = 2u << 20,
        .flush_us = 1000,
        .consumers = 1,
        .ring_capacity = 16,
    };
}

static uint64_t sl_ring_bytes(uint32_t capacity)
{
    return sizeof(struct sl_ring) + (uint64_t)capacity * sizeof(void *);
}

uint64_t sl_ingest_memory_bound(const struct sl_ingest_config *config)
{
    const struct sl_ingest_config *c = config;
    uint64_t batch = (uint64_t)c->arena_bytes_max +
                     sizeof(struct sl_batch_entry) * ((uint64_t)c->events_max + SL_BATCH_CONTROLS_MAX) +
                     sizeof(struct sl_batch);
    uint64_t pool = c->batches * batch +
                    (uint64_t)(c->consumers + c->returners) * sl_ring_bytes(c->batches);
    uint64_t rings = (uint64_t)c->consumers * sl_ring_bytes(c->ring_capacity);
    /* one frame (or JSON line) held per stream; the tape, text and builders
     * of the one jsonl transcoder stay below 32 bytes per input byte */
    uint64_t partial = (uint64_t)c->frame_bytes_max + 8;
    uint64_t transcoder = c->framing == SL_INGEST_JSONL ? 32 * (uint64_t)c->frame_bytes_max : 0;
    uint64_t uring = (uint64_t)SL_INGEST_SQ_ENTRIES * 64 + SL_INGEST_CQ_ENTRIES * 16;
    uint64_t source;
    if (c->source == SL_INGEST_TCP)
        source = sl_tcp_memory_bound(c) + (uint64_t)c->connections_max * partial;
    if (c->source == SL_INGEST_TCP && c->ack)
        source += (uint64_t)c->connections_max * sizeof(struct sl_ingest_ack) +
                  sl_ring_bytes(2 * c->connections_max);
    else
        source = (uint64_t)c->read_bytes + partial;
    return pool + rings + transcoder + uring + source;
}

const char *sl_ingest_path_name(enum sl_ingest_path path)
{
    switch (path) {
    case SL_INGEST_PATH_MULTISHOT:
        return "multishot+bufring";
    case SL_INGEST_PATH_FALLBACK:
        return "fallback";
    default:
        return "none";
    }
}

/* ---- errors ---- */

void sl_ingest_report(struct sl_ingest *ingest, const struct sl_ingest_error *error)
{
    ingest->stats.errors[error->kind]++;
    if (ingest->config.on_error != NULL)
        ingest->config.on_error(ingest->config.on_error_ctx, error);
    else
        sl_ingest_error_log(&ingest->log_limit, error);
}

static void sl_stream_report(struct sl_stream *stream, enum sl_ingest_error_kind kind,
                             uint64_t offset, uint64_t length, bool sync_lost, const char *reason,
                             const void *bytes, size_t bytes_len)
{
    struct sl_ingest *ingest = stream->ingest;
    struct sl_ingest_error error = {
        .kind = kind, .source_id = ingest->config.source_id, .conn_id = stream->conn_id,
        .peer = stream->peer, .offset = offset, .seq = stream->seq, .length = length,
        .sync_lost = sync_lost, .reason = reason, .bytes = bytes, .bytes_len = bytes_len,
    };
    sl_ingest_report(ingest, &error);
    stream->seq++;
}

/* ---- batches and hand-off ---- */

static uint32_t sl_ingest_pick_consumer(struct sl_ingest *ingest, const struct sl_batch *batch)
{
    uint32_t n = ingest->config.consumers;
    if (ingest->config.route != NULL) {
        uint32_t c = ingest->config.route(ingest->config.route_ctx, batch, n);
        SL_ASSERT(c < n);
        return c;
    }
    uint32_t c = ingest->next_consumer;
    ingest->next_consumer = c + 1 == n ? 0 : c + 1;
    return c;
}

/* Pushes the held batch if its ring has room. Returns whether none is held. */
static bool sl_ingest_push_held(struct sl_ingest *ingest)
{
    if (ingest->held == NULL)
        return true;
    if (sl_ring_push(ingest->rings[ingest->held_consumer], ingest->held) < 0)
        return false;
    ingest->held = NULL;
    ingest->stats.batches++;
    return true;
}

/* Moves cur towards its consumer: into its ring, or into the held slot when
 * that ring is full. Returns 0, or -EAGAIN when the held slot is taken by a
 * batch that still cannot move (cur stays). */
static int sl_ingest_hand_off(struct sl_ingest *ingest)
{
    if (!sl_ingest_push_held(ingest))
        return -EAGAIN;
    struct sl_batch *batch = ingest->cur;
    ingest->cur = NULL;
    ingest->held = batch;
    ingest->held_consumer = sl_ingest_pick_consumer(ingest, batch);
    sl_ingest_push_held(ingest);
    return 0;
}

/* The 8-aligned destination of a size-byte event in the current batch,
 * moving on to a fresh batch when it is full; NULL when there is no room
 * (backpressure: sets blocked). size <= 4 + frame_bytes_max always fits an
 * empty batch (checked at create). */
static uint8_t *sl_ingest_reserve(struct sl_ingest *ingest, size_t size)
{
    if (ingest->cur != NULL) {
        uint8_t *dst = sl_batch_reserve(ingest->cur, (uint32_t)size);
        if (dst != NULL)
            return dst;
        if (sl_ingest_hand_off(ingest) < 0) {
            ingest->blocked = true;
            return NULL;
        }
    }
    if (sl_pool_get(ingest->pool, &ingest->cur) < 0) {
        ingest->blocked = true;
        return NULL;
    }
    uint8_t *dst = sl_batch_reserve(ingest->cur, (uint32_t)size);
    SL_ASSERT(dst != NULL);
    return dst;
}

static void sl_ingest_commit(struct sl_stream *stream, size_t size, uint64_t offset)
{
    struct sl_ingest *ingest = stream->ingest;
    struct sl_batch *batch = ingest->cur;
    if (sl_batch_is_empty(batch))
        ingest->cur_first_ns = sl_now_ns();
    bool tcp = ingest->config.source == SL_INGEST_TCP;
    sl_batch_commit(batch, (uint32_t)size, tcp ? stream->conn_id : ingest->config.source_id,
                    tcp ? stream->seq : offset);
    stream->seq++;
    stream->committed_end = stream->seq;
    ingest->stats.events++;
}

/* Is there room for an event again? Clears blocked when there is. */
static bool sl_ingest_unblock(struct sl_ingest *ingest)
{
    if (!sl_ingest_push_held(ingest))
        return false;
    if (ingest->cur == NULL && sl_pool_available(ingest->pool) == 0)
        return false;
    ingest->blocked = false;
    return true;
}

static void sl_ingest_sleep_poll(void)
{
    struct timespec ts = {0, SL_INGEST_POLL_NS};
    nanosleep(&ts, NULL);
}

void sl_ingest_wait_room(struct sl_ingest *ingest)
{
    while (!sl_ingest_unblock(ingest))
        sl_ingest_sleep_poll();
}

/* Hands on cur when its first event is flush_us old. Returns ns until the
 * next flush is due, or UINT64_MAX when there is nothing to flush. */
static uint64_t sl_ingest_flush_due(struct sl_ingest *ingest)
{
    sl_ingest_push_held(ingest);
    if (ingest->cur == NULL || sl_batch_is_empty(ingest->cur))
        return UINT64_MAX;
    uint64_t age = sl_now_ns() - ingest->cur_first_ns;
    uint64_t limit = (uint64_t)ingest->config.flush_us * 1000u;
    if (age < limit)
        return limit - age;
    if (sl_ingest_hand_off(ingest) < 0)
        return SL_INGEST_POLL_NS;
    return ingest->held != NULL ? SL_INGEST_POLL_NS : UINT64_MAX;
}

/* Drain: every event taken reaches a ring, then each consumer gets an
 * END_OF_STREAM record. Waits for consumers to return batches. */
static void sl_ingest_end_streams(struct sl_ingest *ingest)
{
    while (ingest->held != NULL || (ingest->cur != NULL && !sl_batch_is_empty(ingest->cur))) {
        if (ingest->held == NULL)
            sl_ingest_hand_off(ingest);
        if (!sl_ingest_push_held(ingest))
            sl_ingest_sleep_poll();
    }
    if (ingest->cur != NULL) {
        sl_pool_put(ingest->pool, ingest->cur);
        ingest->cur = NULL;
    }
    for (uint32_t c = 0; c < ingest->config.consumers; c++) {
        struct sl_batch *batch;
        while (sl_pool_get(ingest->pool, &batch) < 0)
            sl_ingest_sleep_poll();
        SL_ASSERT(sl_batch_add_control(batch, SL_CTRL_END_OF_STREAM, ingest->config.source_id, 0) == 0);
        while (sl_ring_push(ingest->rings[c], batch) < 0)
            sl_ingest_sleep_poll();
        ingest->stats.batches++;
    }
}

/* ---- framed streams ---- */

static uint8_t *sl_stream_frame_reserve(void *ctx, size_t size)
{
    struct sl_stream *stream = ctx;
    return sl_ingest_reserve(stream->ingest, size);
}

/* A whole frame sits at dst in the open reservation: verify it in place and
 * commit it, or report it and leave the reservation to be overwritten. */
static int sl_stream_frame_commit(void *ctx, uint8_t *dst, size_t size, uint64_t offset)
{
    struct sl_stream *stream = ctx;
    struct sl_ingest *ingest = stream->ingest;
    int rc = sl_fb_verify(dst, size, true, ingest->config.schemas->envelope, &ingest->verify_opts,
                          ingest->err, sizeof(ingest->err));
    if (rc < 0) {
        sl_stream_report(stream, SL_INGEST_ERR_VERIFY, offset, size - SL_FRAME_PREFIX_BYTES, false,
                         ingest->err, dst, size);
        return 0;
    }
    sl_ingest_commit(stream, size, offset);
    return 0;
}

static int sl_stream_line(void *ctx, const char *line, size_t len, uint64_t offset)
{
    struct sl_stream *stream = ctx;
    struct sl_ingest *ingest = stream->ingest;
    const uint8_t *out;
    size_t out_len;
    int rc = sl_fb_json_to_fb(&ingest->json, ingest->config.schemas->envelope, line, len, true,
                              &out, &out_len, ingest->err, sizeof(ingest->err));
    if (rc < 0) {
        sl_stream_report(stream, SL_INGEST_ERR_JSON, offset, len, false, ingest->err, line, len);
        return 0;
    }
    if (out_len > SL_FRAME_PREFIX_BYTES + (size_t)ingest->config.frame_bytes_max) {
        snprintf(ingest->err, sizeof(ingest->err),
                 "transcoded event of %zu bytes exceeds the maximum frame of %" PRIu32, out_len,
                 ingest->config.frame_bytes_max);
        sl_stream_report(stream, SL_INGEST_ERR_OVERSIZE, offset, len, false, ingest->err, line, len);
        return 0;
    }
    uint8_t *dst = sl_ingest_reserve(ingest, out_len);
    if (dst == NULL)
        return -EAGAIN;
    memcpy(dst, out, out_len);
    sl_ingest_commit(stream, out_len, offset);
    return 0;
}

static void sl_stream_overlong(void *ctx, uint64_t offset, uint64_t len_seen)
{
    struct sl_stream *stream = ctx;
    char reason[128];
    snprintf(reason, sizeof(reason), "line longer than the maximum of %" PRIu32 " bytes (skipped)",
             stream->ingest->config.frame_bytes_max);
    sl_stream_report(stream, SL_INGEST_ERR_OVERSIZE, offset, len_seen, false, reason, NULL, 0);
}

void sl_stream_init(struct sl_ingest *ingest, struct sl_stream *stream, uint32_t conn_id,
                    const char *peer)
{
    memset(stream, 0, sizeof(*stream));
    stream->ingest = ingest;
    stream->conn_id = conn_id;
    stream->peer = peer;
    if (ingest->config.framing == SL_INGEST_FB)
        sl_frame_reader_init(&stream->frame, ingest->config.frame_bytes_max);
    else
        sl_lines_init(&stream->lines, ingest->config.frame_bytes_max);
}

void sl_stream_fini(struct sl_stream *stream)
{
    if (stream->ingest->config.framing == SL_INGEST_FB)
        sl_frame_reader_fini(&stream->frame);
    else
        sl_lines_fini(&stream->lines);
}

static void sl_stream_report_framing(struct sl_stream *stream, bool sync_lost)
{
    struct sl_frame_reader *reader = &stream->frame;
    enum sl_ingest_error_kind kind = reader->error == SL_FRAME_ZERO_LENGTH ? SL_INGEST_ERR_ZERO_LENGTH
                                     : reader->error == SL_FRAME_OVERSIZE  ? SL_INGEST_ERR_OVERSIZE
                                                                           : SL_INGEST_ERR_TRUNCATED;
    char reason[192];
    sl_frame_reader_describe(reader, reason, sizeof(reason));
    sl_stream_report(stream, kind, reader->error_offset, reader->error_length, sync_lost, reason,
                     NULL, 0);
}

int sl_stream_feed(struct sl_stream *stream, const uint8_t *data, size_t len, size_t *consumed)
{
    struct sl_ingest *ingest = stream->ingest;
    if (ingest->config.framing == SL_INGEST_JSONL) {
        const struct sl_lines_sink sink = {sl_stream_line, sl_stream_overlong, stream};
        return sl_lines_feed(&stream->lines, (const char *)data, len, &sink, consumed);
    }
    const struct sl_frame_sink sink = {sl_stream_frame_reserve, sl_stream_frame_commit, stream};
    int rc = sl_frame_reader_feed(&stream->frame, data, len, &sink, consumed);
    if (rc == -EBADMSG)
        sl_stream_report_framing(stream, true);
    return rc;
}

int sl_stream_finish(struct sl_stream *stream, bool sync_lost)
{
    if (sync_lost)
        return 0;
    if (stream->ingest->config.framing == SL_INGEST_JSONL) {
        const struct sl_lines_sink sink = {sl_stream_line, sl_stream_overlong, stream};
        return sl_lines_finish(&stream->lines, &sink);
    }
    if (sl_frame_reader_finish(&stream->frame) < 0)
        sl_stream_report_framing(stream, false);
    return 0;
}

/* ---- the io_uring loop ---- */

struct io_uring_sqe *sl_ingest_sqe(struct sl_ingest *ingest, uint32_t op, uint32_t gen,
                                   uint32_t index)
{
    struct io_uring_sqe *sqe = sl_uring_sqe(&ingest->ring);
    io_uring_sqe_set_data64(sqe, sl_uring_tag(op, gen, index));
    ingest->inflight++;
    return sqe;
}

void sl_ingest_cancel(struct sl_ingest *ingest, uint64_t tag)
{
    struct io_uring_sqe *sqe = sl_ingest_sqe(ingest, SL_OP_CANCEL, 0, 0);
    io_uring_prep_cancel64(sqe, tag, 0);
}

static void sl_ingest_arm_wake(struct sl_ingest *ingest)
{
    struct io_uring_sqe *sqe = sl_ingest_sqe(ingest, SL_OP_WAKE, 0, 0);
    io_uring_prep_read(sqe, ingest->wake_fd, &ingest->wake_value, sizeof(ingest->wake_value), 0);
}

void sl_ingest_stop(struct sl_ingest *ingest)
{
    /* relaxed: the eventfd write below is what wakes the io thread; it reads
     * the flag after that wake-up, and the flag carries no other data */
    atomic_store_explicit(&ingest->stop_requested, true, memory_order_relaxed);
    uint64_t one = 1;
    ssize_t n = write(ingest->wake_fd, &one, sizeof(one));
    (void)n; /* EAGAIN: the counter is already non-zero, a wake-up is pending */
}

/* Stops taking input: cancels the source's operations; the loop ends once
 * every operation has completed. */
static void sl_ingest_begin_stop(struct sl_ingest *ingest)
{
    if (ingest->stopping)
        return;
    ingest->stopping = true;
    ingest->draining = true;
    if (ingest->config.source == SL_INGEST_TCP)
        sl_tcp_stop(ingest);
    else
        sl_file_stop(ingest);
}

/* A stop request: the file stops at once; TCP stops accepting and keeps
 * reading open connections to EOF, until the drain deadline at most. */
static void sl_ingest_begin_drain(struct sl_ingest *ingest)
{
    if (ingest->draining)
        return;
    ingest->draining = true;
    sl_ingest_cancel(ingest, sl_uring_tag(SL_OP_WAKE, 0, 0));
    if (ingest->config.source != SL_INGEST_TCP) {
        sl_ingest_begin_stop(ingest);
        return;
    }
    ingest->drain_deadline_ns = sl_now_ns() + (uint64_t)ingest->config.drain_timeout_ms * 1000000u;
    sl_tcp_begin_drain(ingest);
}

/* Draining TCP: the hard stop once every connection is closed or the
 * deadline has passed. Returns ns until the deadline (UINT64_MAX: none). */
static uint64_t sl_ingest_drain_due(struct sl_ingest *ingest)
{
    if (!ingest->draining || ingest->stopping)
        return UINT64_MAX;
    uint64_t now = sl_now_ns();
    if (sl_tcp_open_count(ingest) == 0 || now >= ingest->drain_deadline_ns) {
        if (sl_tcp_open_count(ingest) > 0)
            sl_log(SL_LOG_WARN, "ingest: drain timeout: %u connection(s) still open are cut",
                   sl_tcp_open_count(ingest));
        sl_ingest_begin_stop(ingest);
        return UINT64_MAX;
    }
    return ingest->drain_deadline_ns - now;
}

static void sl_ingest_dispatch(struct sl_ingest *ingest, uint64_t tag, int res, uint32_t flags)
{
    uint32_t op = sl_uring_tag_op(tag);
    if (!(flags & IORING_CQE_F_MORE))
        ingest->inflight--;
    switch (op) {
    case SL_OP_WAKE:
        /* relaxed: see sl_ingest_stop() */
        if (atomic_load_explicit(&ingest->stop_requested, memory_order_relaxed))
            sl_ingest_begin_drain(ingest);
        else if (!ingest->draining)
            sl_ingest_arm_wake(ingest);
        break;
    case SL_OP_CANCEL:
        break;
    case SL_OP_ACCEPT:
    case SL_OP_RECV:
        sl_tcp_complete(ingest, tag, res, flags);
        break;
    case SL_OP_READ:
    case SL_OP_TIMEOUT:
        sl_file_complete(ingest, op, res);
        break;
    default:
        SL_ASSERT(!"unknown completion");
    }
}

/* Waits at most timeout_ns (UINT64_MAX: until a completion) and handles
 * every completion that is ready. */
static void sl_ingest_poll(struct sl_ingest *ingest, uint64_t timeout_ns)
{
    struct io_uring_cqe *cqe;
    struct __kernel_timespec ts = {.tv_sec = (long long)(timeout_ns / 1000000000u),
                                   .tv_nsec = (long long)(timeout_ns % 1000000000u)};
    int rc = io_uring_submit_and_wait_timeout(&ingest->ring, &cqe, 1,
                                              timeout_ns == UINT64_MAX ? NULL : &ts, NULL);
    if (rc < 0 && rc != -ETIME && rc != -EINTR)
        sl_log(SL_LOG_ERROR, "ingest: io_uring wait: %s", strerror(-rc));
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ingest->ring, head, cqe)
    {
        sl_ingest_dispatch(ingest, cqe->user_data, cqe->res, cqe->flags);
        seen++;
    }
    io_uring_cq_advance(&ingest->ring, seen);
}

static void sl_ingest_resume(struct sl_ingest *ingest)
{
    if (ingest->config.source == SL_INGEST_TCP)
        sl_tcp_resume(ingest);
    else
        sl_file_resume(ingest);
}

/* Creates the io_uring with the set-up flags that batch best that the kernel
 * accepts: SINGLE_ISSUER + DEFER_TASKRUN (6.1) run the recv task work only
 * when this thread waits for completions, all of it at once; COOP_TASKRUN
 * (5.19) at least never interrupts the thread for it; older kernels reject
 * both (-EINVAL) and get neither. Only the io thread may touch the ring
 * (sl_ingest_release_ring gives it up before sl_ingest_run returns). */
static int sl_ingest_ring_init(struct sl_ingest *ingest)
{
    static const unsigned flags[] = {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
                                     IORING_SETUP_COOP_TASKRUN, 0};
    int rc = -EINVAL;
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]) && rc == -EINVAL; i++) {
        struct io_uring_params params = {.flags = IORING_SETUP_CQSIZE | flags[i],
                                         .cq_entries = SL_INGEST_CQ_ENTRIES};
        rc = io_uring_queue_init_params(SL_INGEST_SQ_ENTRIES, &ingest->ring, &params);
    }
    return rc;
}

/* Unregisters the provided buffers and closes the io_uring from the io
 * thread, the ring's single issuer (another thread's register calls fail
 * with -EEXIST). Nothing may be in flight. */
static void sl_ingest_release_ring(struct sl_ingest *ingest)
{
    if (!ingest->ring_ready)
        return;
    if (ingest->config.source == SL_INGEST_TCP)
        sl_bufring_fini(&ingest->tcp.bufring, &ingest->ring);
    io_uring_queue_exit(&ingest->ring);
    ingest->ring_ready = false;
}

static int sl_ingest_setup(struct sl_ingest *ingest)
{
    struct sl_pool_config pool_config = {
        .batches = ingest->config.batches,
        .returners = ingest->config.consumers + ingest->config.returners,
        .limits = {ingest->config.events_max, ingest->config.arena_bytes_max},
    };
    int rc = sl_pool_create(&pool_config, &ingest->pool);
    if (rc < 0) {
        sl_log(SL_LOG_ERROR, "ingest: batch pool: %s", strerror(-rc));
        return rc;
    }
    rc = sl_ingest_ring_init(ingest);
    if (rc < 0) {
        sl_log(SL_LOG_ERROR, "ingest: io_uring_queue_init: %s", strerror(-rc));
        return rc;
    }
    ingest->ring_ready = true;
    if (!sl_uring_has_basic_ops(&ingest->ring)) {
        sl_log(SL_LOG_ERROR, "ingest: this kernel's io_uring lacks accept/recv/read/cancel/timeout");
        return -ENOSYS;
    }
    rc = ingest->config.source == SL_INGEST_TCP ? sl_tcp_start(ingest) : sl_file_start(ingest);
    if (rc < 0)
        return rc;
    sl_ingest_arm_wake(ingest);
    return 0;
}

int sl_ingest_run(struct sl_ingest *ingest)
{
    int rc = sl_ingest_setup(ingest);
    if (rc < 0) {
        sl_ingest_release_ring(ingest);
        return rc;
    }
    bool tcp = ingest->config.source == SL_INGEST_TCP;
    while (!(ingest->stopping && ingest->inflight == 0)) {
        uint64_t timeout = sl_ingest_flush_due(ingest);
        if (ingest->blocked || ingest->held != NULL)
            timeout = timeout < SL_INGEST_POLL_NS ? timeout : SL_INGEST_POLL_NS;
        if (tcp) {
            uint64_t ack = sl_tcp_ack_tick(ingest);
            uint64_t drain = sl_ingest_drain_due(ingest);
            if (ingest->stopping && ingest->inflight == 0)
                break; /* the drain just ended with nothing in flight */
            timeout = timeout < ack ? timeout : ack;
            timeout = timeout < drain ? timeout : drain;
        }
        sl_ingest_poll(ingest, timeout);
        if (ingest->config.source == SL_INGEST_TCP)
            sl_bufring_publish(&ingest->tcp.bufring);
        if (!ingest->blocked || sl_ingest_unblock(ingest))
            sl_ingest_resume(ingest);
        if (!tcp && ingest->file.done)
            sl_ingest_begin_drain(ingest);
    }
    if (ingest->config.source == SL_INGEST_TCP)
        sl_tcp_drain(ingest);
    else
        sl_file_drain(ingest);
    sl_ingest_end_streams(ingest);
    sl_ingest_release_ring(ingest);
    return 0;
}

/* ---- create / destroy ---- */

static int sl_ingest_check(const struct sl_ingest_config *c, char *err, size_t err_len)
{
    const char *what = NULL;
    if (c->schemas == NULL || c->schemas->envelope == NULL)
        what = "schemas with the sluice.Event envelope are required";
    else if (c->consumers < 1 || c->consumers > SL_INGEST_CONSUMERS_MAX)
        what = "consumers must be 1..64";
    else if (c->returners > SL_POOL_RETURNERS_MAX - c->consumers)
        what = "too many returners";
    else if (c->ring_capacity < 1 || (c->ring_capacity & (c->ring_capacity - 1)) != 0)
        what = "ring_capacity must be a power of two";
    else if (c->frame_bytes_max < 1 || c->frame_bytes_max > SL_LINES_BYTES_MAX ||
             (uint64_t)c->frame_bytes_max + 8 > c->arena_bytes_max)
        what = "frame_bytes_max must be at least 1 and at most arena_bytes_max - 8";
    else if (c->batches < 1 || c->events_max < 1)
        what = "batches and events_max must be at least 1";
    else if (c->source == SL_INGEST_TCP &&
             (c->connections_max < 1 || c->connections_max > SL_INGEST_CONNECTIONS_MAX ||
              c->bufring_entries < 1 || c->bufring_entries > 32768 ||
              (c->bufring_entries & (c->bufring_entries - 1)) != 0 || c->buf_bytes < 64))
        what = "connections_max 1..65536, bufring_entries a power of two <= 32768, "
               "buf_bytes >= 64";
    else if (c->source == SL_INGEST_FILE && (c->path == NULL || c->read_bytes < 4096))
        what = "a file source needs a path and read_bytes >= 4096";
    if (what == NULL)
        return 0;
    snprintf(err, err_len, "ingest: %s", what);
    return -EINVAL;
}

int sl_ingest_create(const struct sl_ingest_config *config, struct sl_ingest **ingest_out,
                     char *err, size_t err_len)
{
    int rc = sl_ingest_check(config, err, err_len);
    if (rc < 0)
        return rc;
    struct sl_ingest *ingest = calloc(1, sizeof(*ingest));
    if (ingest == NULL)
        return -ENOMEM;
    ingest->config = *config;
    ingest->tcp.listen_fd = -1;
    ingest->file.fd = -1;
    ingest->verify_opts = (struct sl_fb_verify_opts){
        .depth_max = SL_FB_DEPTH_MAX, .tables_max = SL_FB_TABLES_MAX, .check_nested = true,
        .schemas = config->schemas};
    sl_fb_json_init(&ingest->json, config->schemas);
    ingest->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ingest->wake_fd < 0) {
        rc = -errno;
        snprintf(err, err_len, "ingest: eventfd: %s", strerror(errno));
        goto fail;
    }
    for (uint32_t c = 0; c < config->consumers; c++) {
        rc = sl_ring_create(config->ring_capacity, &ingest->rings[c]);
        if (rc < 0) {
            snprintf(err, err_len, "ingest: ring: %s", strerror(-rc));
            goto fail;
        }
    }
    rc = config->source == SL_INGEST_TCP ? sl_tcp_listen(ingest, err, err_len)
                                         : sl_file_open(ingest, err, err_len);
    if (rc == 0 && config->source == SL_INGEST_TCP && config->ack)
        rc = sl_tcp_ack_create(ingest, err, err_len);
    if (rc < 0)
        goto fail;
    *ingest_out = ingest;
    return 0;
fail:
    sl_ingest_destroy(ingest);
    return rc;
}

uint16_t sl_ingest_port(const struct sl_ingest *ingest) { return ingest->tcp.port; }

struct sl_ring *sl_ingest_ack_ring(struct sl_ingest *ingest) { return ingest->tcp.ack_ring; }

struct sl_ring *sl_ingest_ring(struct sl_ingest *ingest, uint32_t i)
{
    SL_ASSERT(i < ingest->config.consumers);
    return ingest->rings[i];
}

void sl_ingest_stats(const struct sl_ingest *ingest, struct sl_ingest_stats *stats)
{
    *stats = ingest->stats;
}

void sl_ingest_destroy(struct sl_ingest *ingest)
{
    if (ingest == NULL)
        return;
    if (ingest->config.source == SL_INGEST_TCP)
        sl_tcp_fini(ingest);
    else
        sl_file_fini(ingest);
    if (ingest->ring_ready)
        io_uring_queue_exit(&ingest->ring);
    if (ingest->cur != NULL)
        sl_pool_put(ingest->pool, ingest->cur);
    sl_pool_destroy(ingest->pool);
    for (uint32_t c = 0; c < SL_INGEST_CONSUMERS_MAX; c++)
        sl_ring_destroy(ingest->rings[c]);
    if (ingest->wake_fd >= 0)
        close(ingest->wake_fd);
    sl_fb_json_fini(&ingest->json);
    free(ingest);
}
