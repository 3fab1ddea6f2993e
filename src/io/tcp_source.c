/* tcp_source.c - the TCP source of the io loop: a listener, multishot
 * accept and multishot recv into a provided-buffer ring (the fallback:
 * single-shot accept and recv into per-connection buffers), connection
 * slots, and per-connection backpressure.
 *
 * A connection's received bytes are fed to its framed stream in order. When
 * the stream cannot take them (no batch room), the unconsumed bytes stay
 * where they are (multishot: a FIFO of provided buffer ids, not returned to
 * the kernel; fallback: the connection's own buffer), the connection goes on
 * the wait list and its multishot recv is cancelled (fallback: its recv is
 * simply not re-armed), so the socket's receive buffer fills and TCP flow
 * control stops the client. sl_tcp_resume() services the wait list when
 * room returns. A connection closes after the peer's EOF (once its bytes are
 * consumed), on a recv error, or when its framing loses sync; it is freed
 * only after its recv has completed for the last time.
 *
 * Drain: after a stop request the listener is cancelled but connections
 * keep being read until their EOF (ingest.c cuts them at the drain
 * deadline). Ack mode (docs/tcp-ack.md): the first 8 bytes are compared
 * with the hello before anything reaches the framing; bytes that turn out
 * not to be a hello are fed to it after all. An ack-mode connection is
 * announced to the consumer, gets the consumer's `handled` count sent
 * (non-blocking send() from this thread, coalesced every SL_TCP_ACK_TICK_NS)
 * and, after its EOF, stays open until the consumer releases it and the
 * final count is sent.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "io/ingest_int.h"

#define SL_TCP_BGID 1
#define SL_TCP_BACKLOG 4096
#define SL_SLOT_NONE UINT32_MAX
#define SL_TCP_ACK_TICK_NS 2000000u /* ack sends are coalesced to this period */
#define SL_TCP_FALLBACK_BYTES_MAX 16384u /* fallback recv buffer per connection, at most */

static void sl_tcp_ack_last(struct sl_ingest *ingest, struct sl_conn *conn);

/* The fallback's recv buffer per connection: buf_bytes, at most 16 KiB (one
 * per connection slot, so the few large provided buffers' size would
 * multiply by connections_max). */
static uint32_t sl_tcp_fallback_bytes(const struct sl_ingest_config *c)
{
    return c->buf_bytes < SL_TCP_FALLBACK_BYTES_MAX ? c->buf_bytes : SL_TCP_FALLBACK_BYTES_MAX;
}

uint64_t sl_tcp_memory_bound(const struct sl_ingest_config *c)
{
    uint64_t table = (uint64_t)c->connections_max * (sizeof(struct sl_conn) + sizeof(uint32_t));
    uint64_t bufring = (uint64_t)c->bufring_entries *
                       (c->buf_bytes + sizeof(struct io_uring_buf) + 3 * sizeof(uint32_t));
    uint64_t fallback = (uint64_t)c->connections_max * sl_tcp_fallback_bytes(c);
    return table + (bufring > fallback ? bufring : fallback);
}

int sl_tcp_listen(struct sl_ingest *ingest, char *err, size_t err_len)
{
    const struct sl_ingest_config *c = &ingest->config;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(c->listen_port)};
    if (c->listen_host == NULL || inet_pton(AF_INET, c->listen_host, &addr.sin_addr) != 1) {
        snprintf(err, err_len, "ingest: listen address '%s' is not a numeric IPv4 address",
                 c->listen_host ? c->listen_host : "");
        return -EINVAL;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail_errno;
    ingest->tcp.listen_fd = fd;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    socklen_t len = sizeof(addr);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, SL_TCP_BACKLOG) < 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
        goto fail_errno;
    ingest->tcp.port = ntohs(addr.sin_port);
    return 0;
fail_errno:;
    int rc = -errno;
    snprintf(err, err_len, "ingest: listen on %s:%u: %s", c->listen_host, c->listen_port,
             strerror(errno));
    return rc;
}

static void sl_tcp_arm_accept(struct sl_ingest *ingest)
{
    struct sl_tcp *tcp = &ingest->tcp;
    struct io_uring_sqe *sqe = sl_ingest_sqe(ingest, SL_OP_ACCEPT, 0, 0);
    if (tcp->multishot)
        io_uring_prep_multishot_accept(sqe, tcp->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    else
        io_uring_prep_accept(sqe, tcp->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    tcp->accept_armed = true;
}

/* Chooses the receive path: multishot + buffer ring unless forced off or
 * the kernel cannot (probed), else the fallback. */
static int sl_tcp_choose_path(struct sl_ingest *ingest)
{
    struct sl_tcp *tcp = &ingest->tcp;
    const struct sl_ingest_config *c = &ingest->config;
    const char *why = "forced by configuration";
    if (!c->force_fallback) {
        int rc = sl_bufring_init(&tcp->bufring, &ingest->ring, c->bufring_entries, c->buf_bytes,
                                 SL_TCP_BGID);
        if (rc == -ENOMEM)
            return rc;
        why = "kernel has no provided-buffer rings";
        if (rc == 0) {
            tcp->multishot = sl_uring_probe_multishot_recv(&ingest->ring, &tcp->bufring);
            why = "kernel has no multishot recv";
            if (!tcp->multishot)
                sl_bufring_fini(&tcp->bufring, &ingest->ring);
        }
    }
    if (tcp->multishot) {
        tcp->pend_next = calloc(c->bufring_entries, sizeof(uint32_t));
        tcp->pend_off = calloc(c->bufring_entries, sizeof(uint32_t));
        tcp->pend_len = calloc(c->bufring_entries, sizeof(uint32_t));
        if (!tcp->pend_next || !tcp->pend_off || !tcp->pend_len)
            return -ENOMEM;
        sl_log(SL_LOG_INFO, "ingest: tcp path: multishot accept + multishot recv on a "
                            "provided-buffer ring (%u x %u bytes)", c->bufring_entries, c->buf_bytes);
    } else {
        sl_log(SL_LOG_INFO, "ingest: tcp path: fallback, single-shot accept + recv into "
                            "per-connection buffers (%s)", why);
    }
    ingest->stats.path = tcp->multishot ? SL_INGEST_PATH_MULTISHOT : SL_INGEST_PATH_FALLBACK;
    return 0;
}

int sl_tcp_start(struct sl_ingest *ingest)
{
    struct sl_tcp *tcp = &ingest->tcp;
    uint32_t n = ingest->config.connections_max;
    tcp->conns = calloc(n, sizeof(*tcp->conns));
    tcp->free_slots = calloc(n, sizeof(*tcp->free_slots));
    if (tcp->conns == NULL || tcp->free_slots == NULL)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        tcp->conns[i].fd = -1;
        tcp->free_slots[i] = n - 1 - i;
    }
    tcp->free_count = n;
    tcp->wait_head = tcp->wait_tail = SL_SLOT_NONE;
    int rc = sl_tcp_choose_path(ingest);
    if (rc < 0) {
        sl_log(SL_LOG_ERROR, "ingest: tcp set-up: %s", strerror(-rc));
        return rc;
    }
    sl_tcp_arm_accept(ingest);
    return 0;
}

static void sl_tcp_wait(struct sl_ingest *ingest, struct sl_conn *conn)
{
    struct sl_tcp *tcp = &ingest->tcp;
    if (conn->waiting)
        return;
    uint32_t index = (uint32_t)(conn - tcp->conns);
    conn->waiting = true;
    conn->wait_next = SL_SLOT_NONE;
    if (tcp->wait_tail == SL_SLOT_NONE)
        tcp->wait_head = index;
    else
        tcp->conns[tcp->wait_tail].wait_next = index;
    tcp->wait_tail = index;
}

static void sl_tcp_arm_recv(struct sl_ingest *ingest, struct sl_conn *conn)
{
    struct sl_tcp *tcp = &ingest->tcp;
    uint32_t index = (uint32_t)(conn - tcp->conns);
    struct io_uring_sqe *sqe = sl_ingest_sqe(ingest, SL_OP_RECV, conn->gen, index);
    if (tcp->multishot) {
        io_uring_prep_recv_multishot(sqe, conn->fd, NULL, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = SL_TCP_BGID;
    } else {
        io_uring_prep_recv(sqe, conn->fd, conn->buf, sl_tcp_fallback_bytes(&ingest->config), 0);
    }
    conn->recv_armed = true;
    conn->cancel_sent = false;
}

static bool sl_tcp_accepting(const struct sl_ingest *ingest) { return !ingest->draining; }

static void sl_tcp_cancel_recv(struct sl_ingest *ingest, struct sl_conn *conn)
{
    if (!conn->recv_armed || conn->cancel_sent)
        return;
    uint32_t index = (uint32_t)(conn - ingest->tcp.conns);
    sl_ingest_cancel(ingest, sl_uring_tag(SL_OP_RECV, conn->gen, index));
    conn->cancel_sent = true;
}

/* Frees the slot; its recv must have completed for the last time. */
static void sl_tcp_close(struct sl_ingest *ingest, struct sl_conn *conn)
{
    struct sl_tcp *tcp = &ingest->tcp;
    SL_ASSERT(!conn->recv_armed);
    while (conn->pend_head != SL_BID_NONE) {
        uint32_t bid = conn->pend_head;
        conn->pend_head = tcp->pend_next[bid];
        sl_bufring_recycle(&tcp->bufring, bid);
        tcp->bufs_out--;
    }
    if (conn->hello == SL_HELLO_ACK)
        tcp->ack_conns--;
    sl_stream_fini(&conn->stream);
    close(conn->fd);
    conn->fd = -1;
    conn->in_use = false;
    conn->gen = (conn->gen + 1) & SL_URING_GEN_MASK;
    tcp->free_slots[tcp->free_count++] = (uint32_t)(conn - tcp->conns);
    if (!tcp->accept_armed && sl_tcp_accepting(ingest))
        sl_tcp_arm_accept(ingest);
}

/* The connection's first unconsumed bytes (0: none). */
static size_t sl_tcp_pending(struct sl_ingest *ingest, struct sl_conn *conn, const uint8_t **data)
{
    struct sl_tcp *tcp = &ingest->tcp;
    if (!tcp->multishot) {
        *data = conn->buf + conn->buf_off;
        return conn->buf_len;
    }
    if (conn->pend_head == SL_BID_NONE)
        return 0;
    uint32_t bid = conn->pend_head;
    *data = sl_bufring_buf(&tcp->bufring, bid) + tcp->pend_off[bid];
    return tcp->pend_len[bid];
}

/* Drops the first n of the bytes sl_tcp_pending() returned. */
static void sl_tcp_consume(struct sl_ingest *ingest, struct sl_conn *conn, size_t n)
{
    struct sl_tcp *tcp = &ingest->tcp;
    if (!tcp->multishot) {
        conn->buf_off += (uint32_t)n;
        conn->buf_len -= (uint32_t)n;
        return;
    }
    uint32_t bid = conn->pend_head;
    tcp->pend_off[bid] += (uint32_t)n;
    tcp->pend_len[bid] -= (uint32_t)n;
    if (tcp->pend_len[bid] == 0) {
        conn->pend_head = tcp->pend_next[bid];
        if (conn->pend_head == SL_BID_NONE)
            conn->pend_tail = SL_BID_NONE;
        sl_bufring_recycle(&tcp->bufring, bid);
        tcp->bufs_out--;
    }
}

/* The hello was complete: announce the connection to the consumer, or
 * reject it when the source has no ack mode. */
static void sl_tcp_ack_open(struct sl_ingest *ingest, struct sl_conn *conn)
{
    struct sl_tcp *tcp = &ingest->tcp;
    if (!ingest->config.ack) {
        struct sl_ingest_error error = {
            .kind = SL_INGEST_ERR_IO, .source_id = ingest->config.source_id,
            .conn_id = conn->id, .peer = conn->peer, .seq = conn->stream.seq, .sync_lost = true,
            .reason = "client sent the ack-mode hello but this source does not allow ack mode "
                      "(set ack: true on the tcp source); connection closed"};
        sl_ingest_report(ingest, &error);
        conn->hello = SL_HELLO_NONE;
        conn->hello_fed = conn->hello_len; /* not framing bytes: never fed */
        conn->sync_lost = true;
        return;
    }
    struct sl_ingest_ack *ack = &tcp->acks[conn - tcp->conns];
    ack->conn_id = conn->id;
    ack->total = ack->good_end = 0;
    /* relaxed: published with the ring push below (release) */
    atomic_store_explicit(&ack->handled, 0, memory_order_relaxed);
    atomic_store_explicit(&ack->released, false, memory_order_relaxed);
    /* never full: a slot has at most two announcements queued (see ack_create) */
    SL_ASSERT(sl_ring_push(tcp->ack_ring, ack) == 0);
    conn->hello = SL_HELLO_ACK;
    conn->hello_fed = conn->hello_len; /* the hello is not part of the stream */
    conn->ack_sent = 0;
    conn->ack_off = sizeof(conn->ack_buf);
    conn->ack_dead = conn->ack_final = conn->ack_closing = false;
    tcp->ack_conns++;
}

/* Compares the first bytes with the hello. Returns 0 once decided, -EAGAIN
 * while every byte seen matches and fewer than 8 have arrived. */
static int sl_tcp_hello(struct sl_ingest *ingest, struct sl_conn *conn)
{
    const uint8_t *data;
    size_t len;
    while (conn->hello == SL_HELLO_PENDING && (len = sl_tcp_pending(ingest, conn, &data)) > 0) {
        size_t n = 0;
        while (n < len && conn->hello_len + n < SL_INGEST_ACK_HELLO_BYTES &&
               data[n] == (uint8_t)SL_INGEST_ACK_HELLO[conn->hello_len + n])
            n++;
        conn->hello_len += (uint8_t)n;
        sl_tcp_consume(ingest, conn, n);
        if (conn->hello_len == SL_INGEST_ACK_HELLO_BYTES)
            sl_tcp_ack_open(ingest, conn);
        else if (n < len)
            conn->hello = SL_HELLO_NONE;
    }
    if (conn->hello == SL_HELLO_PENDING && conn->eof)
        conn->hello = SL_HELLO_NONE; /* a stream shorter than a hello */
    return conn->hello == SL_HELLO_PENDING ? -EAGAIN : 0;
}

/* Feeds the connection's unconsumed bytes in order (first the leading bytes
 * that looked like a hello but were not). Returns 0 when all were taken,
 * -EAGAIN (no room), -EBADMSG/-ENOMEM
 * (sync lost). */
static int sl_tcp_feed_pending(struct sl_ingest *ingest, struct sl_conn *conn)
{
    int rc = sl_tcp_hello(ingest, conn);
    if (rc < 0)
        return 0; /* every byte so far is part of a hello: taken, more to come */
    if (conn->sync_lost)
        return 0;
    const uint8_t *data;
    size_t len, consumed;
    while (rc == 0 && conn->hello_fed < conn->hello_len) {
        rc = sl_stream_feed(&conn->stream,
                            (const uint8_t *)SL_INGEST_ACK_HELLO + conn->hello_fed,
                            conn->hello_len - conn->hello_fed, &consumed);
        conn->hello_fed += (uint8_t)consumed;
    }
    while (rc == 0 && (len = sl_tcp_pending(ingest, conn, &data)) > 0) {
        rc = sl_stream_feed(&conn->stream, data, len, &consumed);
        sl_tcp_consume(ingest, conn, consumed);
    }
    return rc;
}

/* Ack mode, end of the connection's stream: announce total and good_end;
 * the connection stays open until the consumer releases it. */
static void sl_tcp_ack_end(struct sl_ingest *ingest, struct sl_conn *conn, uint64_t total)
{
    struct sl_tcp *tcp = &ingest->tcp;
    struct sl_ingest_ack *ack = &tcp->acks[conn - tcp->conns];
    ack->total = total;
    ack->good_end = conn->stream.committed_end;
    SL_ASSERT(sl_ring_push(tcp->ack_ring, ack) == 0);
    conn->ack_closing = true;
}

/* The connection's state machine, run after anything happened to it:
 * consume what is pending, then pause, finish and close, or re-arm. */
static void sl_tcp_service(struct sl_ingest *ingest, struct sl_conn *conn)
{
    if (!conn->in_use)
        return;
    if (!conn->sync_lost) {
        int rc = sl_tcp_feed_pending(ingest, conn);
        if (rc == -EAGAIN) {
            if (!conn->waiting)
                ingest->stats.pauses++;
            sl_tcp_wait(ingest, conn);
            sl_tcp_cancel_recv(ingest, conn);
            return;
        }
        if (rc < 0)
            conn->sync_lost = true;
    }
    if (conn->sync_lost || conn->eof) {
        if (conn->recv_armed) {
            sl_tcp_cancel_recv(ingest, conn);
            return;
        }
        if (conn->ack_closing)
            return; /* waits for its release: sl_tcp_ack_tick() */
        /* cut by the drain deadline, a partial frame is not the client's
         * last frame: the final ack leaves it out so that it is resent */
        uint64_t before = conn->stream.seq;
        if (sl_stream_finish(&conn->stream, conn->sync_lost) == -EAGAIN) {
            sl_tcp_wait(ingest, conn);
            return;
        }
        if (conn->hello == SL_HELLO_ACK) {
            sl_tcp_ack_end(ingest, conn, ingest->stopping && !conn->sync_lost
                                             ? before : conn->stream.seq);
            return;
        }
        sl_tcp_close(ingest, conn);
        return;
    }
    if (!conn->recv_armed && !ingest->stopping)
        sl_tcp_arm_recv(ingest, conn);
}

static void sl_tcp_open(struct sl_ingest *ingest, int fd)
{
    struct sl_tcp *tcp = &ingest->tcp;
    if (tcp->free_count == 0 || !sl_tcp_accepting(ingest)) {
        ingest->stats.connections_rejected++;
        sl_log_limited(&ingest->log_limit, SL_LOG_WARN,
                       "ingest: connection refused: %u connections open (connections_max)",
                       ingest->config.connections_max);
        close(fd);
        return;
    }
    struct sl_conn *conn = &tcp->conns[tcp->free_slots[--tcp->free_count]];
    if (!tcp->multishot && conn->buf == NULL) {
        conn->buf = malloc(sl_tcp_fallback_bytes(&ingest->config));
        if (conn->buf == NULL) {
            tcp->free_count++;
            ingest->stats.connections_rejected++;
            close(fd);
            return;
        }
    }
    conn->fd = fd;
    conn->id = ++tcp->next_id;
    conn->in_use = true;
    conn->recv_armed = conn->cancel_sent = conn->eof = conn->sync_lost = false;
    conn->pend_head = conn->pend_tail = SL_BID_NONE;
    conn->buf_off = conn->buf_len = 0;
    conn->hello = SL_HELLO_PENDING;
    conn->hello_len = conn->hello_fed = 0;
    conn->ack_closing = conn->ack_final = conn->ack_dead = false;
    struct sockaddr_in addr;
    socklen_t len = sizeof(addr);
    char host[INET_ADDRSTRLEN] = "?";
    if (getpeername(fd, (struct sockaddr *)&addr, &len) == 0 && addr.sin_family == AF_INET)
        inet_ntop(AF_INET, &addr.sin_addr, host, sizeof(host));
    snprintf(conn->peer, sizeof(conn->peer), "%s:%u", host, ntohs(addr.sin_port));
    sl_stream_init(ingest, &conn->stream, conn->id, conn->peer);
    ingest->stats.connections++;
    sl_tcp_service(ingest, conn);
}

static void sl_tcp_accepted(struct sl_ingest *ingest, int res, uint32_t flags)
{
    struct sl_tcp *tcp = &ingest->tcp;
    if (!(flags & IORING_CQE_F_MORE))
        tcp->accept_armed = false;
    if (res >= 0)
        sl_tcp_open(ingest, res);
    else if (res != -ECANCELED)
        sl_log_limited(&ingest->log_limit, SL_LOG_WARN, "ingest: accept: %s", strerror(-res));
    /* a single-shot accept is re-armed only while a slot is free (the
     * backlog holds new clients until a close re-arms it); a multishot one
     * stays armed, and clients beyond connections_max are closed, counted */
    if (!tcp->accept_armed && sl_tcp_accepting(ingest) && tcp->free_count > 0)
        sl_tcp_arm_accept(ingest);
}

static void sl_tcp_received(struct sl_ingest *ingest, struct sl_conn *conn, int res,
                            uint32_t flags)
{
    struct sl_tcp *tcp = &ingest->tcp;
    if (!(flags & IORING_CQE_F_MORE)) {
        conn->recv_armed = false;
        conn->cancel_sent = false;
    }
    if (res > 0) {
        ingest->stats.bytes += (uint64_t)res;
        if (tcp->multishot) {
            uint32_t bid = flags >> IORING_CQE_BUFFER_SHIFT;
            tcp->pend_off[bid] = 0;
            tcp->pend_len[bid] = (uint32_t)res;
            tcp->pend_next[bid] = SL_BID_NONE;
            if (conn->pend_tail == SL_BID_NONE)
                conn->pend_head = bid;
            else
                tcp->pend_next[conn->pend_tail] = bid;
            conn->pend_tail = bid;
            tcp->bufs_out++;
        } else {
            conn->buf_off = 0;
            conn->buf_len = (uint32_t)res;
        }
    } else if (res == 0) {
        conn->eof = true;
    } else if (res == -ENOBUFS) {
        /* every provided buffer is in use: re-armed by sl_tcp_resume() */
        sl_tcp_wait(ingest, conn);
        return;
    } else if (res != -ECANCELED) {
        struct sl_ingest_error error = {
            .kind = SL_INGEST_ERR_IO, .source_id = ingest->config.source_id, .conn_id = conn->id,
            .peer = conn->peer, .offset = ingest->config.framing == SL_INGEST_FB
                                              ? conn->stream.frame.offset : conn->stream.lines.offset,
            .seq = conn->stream.seq, .sync_lost = true, .reason = strerror(-res)};
        sl_ingest_report(ingest, &error);
        conn->eof = true;
    }
    if (conn->waiting && !ingest->stopping)
        return; /* behind others on the wait list: keep stream order, resume serves it */
    sl_tcp_service(ingest, conn);
}

void sl_tcp_complete(struct sl_ingest *ingest, uint64_t tag, int res, uint32_t flags)
{
    struct sl_tcp *tcp = &ingest->tcp;
    if (sl_uring_tag_op(tag) == SL_OP_ACCEPT) {
        sl_tcp_accepted(ingest, res, flags);
        return;
    }
    struct sl_conn *conn = &tcp->conns[sl_uring_tag_index(tag)];
    if (!conn->in_use || conn->gen != sl_uring_tag_gen(tag)) {
        if (flags & IORING_CQE_F_BUFFER)
            sl_bufring_recycle(&tcp->bufring, flags >> IORING_CQE_BUFFER_SHIFT);
        return;
    }
    sl_tcp_received(ingest, conn, res, flags);
}

void sl_tcp_resume(struct sl_ingest *ingest)
{
    struct sl_tcp *tcp = &ingest->tcp;
    while (tcp->wait_head != SL_SLOT_NONE && !ingest->blocked) {
        uint32_t index = tcp->wait_head;
        struct sl_conn *conn = &tcp->conns[index];
        tcp->wait_head = conn->wait_next;
        if (tcp->wait_head == SL_SLOT_NONE)
            tcp->wait_tail = SL_SLOT_NONE;
        conn->waiting = false;
        sl_tcp_service(ingest, conn);
    }
}

bool sl_tcp_has_waiters(const struct sl_ingest *ingest)
{
    return ingest->tcp.wait_head != SL_SLOT_NONE;
}

static void sl_tcp_cancel_accept(struct sl_ingest *ingest)
{
    struct sl_tcp *tcp = &ingest->tcp;
    if (!tcp->accept_armed || tcp->accept_cancel_sent)
        return;
    sl_ingest_cancel(ingest, sl_uring_tag(SL_OP_ACCEPT, 0, 0));
    tcp->accept_cancel_sent = true;
}

void sl_tcp_begin_drain(struct sl_ingest *ingest) { sl_tcp_cancel_accept(ingest); }

uint32_t sl_tcp_open_count(const struct sl_ingest *ingest)
{
    return ingest->config.connections_max - ingest->tcp.free_count;
}

void sl_tcp_stop(struct sl_ingest *ingest)
{
    struct sl_tcp *tcp = &ingest->tcp;
    sl_tcp_cancel_accept(ingest);
    for (uint32_t i = 0; i < ingest->config.connections_max; i++)
        if (tcp->conns[i].in_use)
            sl_tcp_cancel_recv(ingest, &tcp->conns[i]);
}

void sl_tcp_drain(struct sl_ingest *ingest)
{
    struct sl_tcp *tcp = &ingest->tcp;
    for (uint32_t i = 0; i < ingest->config.connections_max; i++) {
        struct sl_conn *conn = &tcp->conns[i];
        conn->eof = true;
        while (conn->in_use && !conn->ack_closing) {
            sl_tcp_service(ingest, conn);
            if (conn->in_use && !conn->ack_closing)
                sl_ingest_wait_room(ingest);
        }
        if (conn->in_use) /* ack mode, not released in time: the count so far */
            sl_tcp_ack_last(ingest, conn);
    }
}

/* ---- acks ---- */

int sl_tcp_ack_create(struct sl_ingest *ingest, char *err, size_t err_len)
{
    struct sl_tcp *tcp = &ingest->tcp;
    uint32_t n = ingest->config.connections_max, capacity = 1;
    while (capacity < 2 * n)
        capacity <<= 1; /* a slot's open and end announcements: never full */
    tcp->acks = aligned_alloc(64, ((size_t)n * sizeof(*tcp->acks) + 63) & ~(size_t)63);
    int rc = tcp->acks ? sl_ring_create(capacity, &tcp->ack_ring) : -ENOMEM;
    if (rc < 0) {
        snprintf(err, err_len, "ingest: ack state: %s", strerror(-rc));
        return rc;
    }
    for (uint32_t i = 0; i < n; i++) {
        tcp->acks[i] = (struct sl_ingest_ack){.slot = i};
        atomic_init(&tcp->acks[i].handled, 0);
        atomic_init(&tcp->acks[i].released, false);
    }
    return 0;
}

/* Queues count unless a send is still pending. */
static void sl_tcp_ack_queue(struct sl_conn *conn, uint64_t count)
{
    for (int i = 0; i < 8; i++)
        conn->ack_buf[i] = (uint8_t)(count >> (8 * i));
    conn->ack_sent = count;
    conn->ack_off = 0;
}

/* Sends what is left of the queued count without blocking. */
static void sl_tcp_ack_flush(struct sl_conn *conn)
{
    if (conn->ack_dead || conn->ack_off == sizeof(conn->ack_buf))
        return;
    ssize_t n = send(conn->fd, conn->ack_buf + conn->ack_off, sizeof(conn->ack_buf) - conn->ack_off,
                     MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0)
        conn->ack_off += (uint8_t)n;
    else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        conn->ack_dead = true; /* the client is gone: its events are still handled */
}

/* One connection's ack work: send an advanced count; once released, the
 * final count, then close. */
static void sl_tcp_ack_service(struct sl_ingest *ingest, struct sl_conn *conn)
{
    struct sl_ingest_ack *ack = &ingest->tcp.acks[conn - ingest->tcp.conns];
    /* acquire: pairs with the consumer's release stores; handled covers
     * only events whose sinks' writes returned before it was stored */
    bool released = atomic_load_explicit(&ack->released, memory_order_acquire);
    uint64_t handled = atomic_load_explicit(&ack->handled, memory_order_acquire);
    bool idle = conn->ack_off == sizeof(conn->ack_buf) || conn->ack_dead;
    if (idle && conn->ack_closing && released && !conn->ack_final) {
        sl_tcp_ack_queue(conn, handled); /* the final count, even if sent before */
        conn->ack_final = true;
    } else if (idle && handled != conn->ack_sent && !conn->ack_final) {
        sl_tcp_ack_queue(conn, handled);
    }
    sl_tcp_ack_flush(conn);
    idle = conn->ack_off == sizeof(conn->ack_buf) || conn->ack_dead;
    if (conn->ack_final && idle)
        sl_tcp_close(ingest, conn);
}

uint64_t sl_tcp_ack_tick(struct sl_ingest *ingest)
{
    struct sl_tcp *tcp = &ingest->tcp;
    if (tcp->ack_conns == 0)
        return UINT64_MAX;
    uint64_t now = sl_now_ns();
    if (now < tcp->ack_next_ns)
        return tcp->ack_next_ns - now;
    tcp->ack_next_ns = now + SL_TCP_ACK_TICK_NS;
    for (uint32_t i = 0; i < ingest->config.connections_max && tcp->ack_conns > 0; i++) {
        struct sl_conn *conn = &tcp->conns[i];
        if (conn->in_use && conn->hello == SL_HELLO_ACK)
            sl_tcp_ack_service(ingest, conn);
    }
    return SL_TCP_ACK_TICK_NS;
}

/* The run ends before the connection was released: one last try to send
 * the count reached so far (the client resends the rest), then close. */
static void sl_tcp_ack_last(struct sl_ingest *ingest, struct sl_conn *conn)
{
    sl_tcp_ack_service(ingest, conn);
    if (conn->in_use)
        sl_tcp_close(ingest, conn);
}

void sl_tcp_fini(struct sl_ingest *ingest)
{
    struct sl_tcp *tcp = &ingest->tcp;
    for (uint32_t i = 0; tcp->conns != NULL && i < ingest->config.connections_max; i++) {
        struct sl_conn *conn = &tcp->conns[i];
        if (conn->in_use) {
            sl_stream_fini(&conn->stream);
            close(conn->fd);
        }
        free(conn->buf);
    }
    if (ingest->ring_ready)
        sl_bufring_fini(&tcp->bufring, &ingest->ring);
    free(tcp->conns);
    free(tcp->free_slots);
    free(tcp->pend_next);
    free(tcp->pend_off);
    free(tcp->pend_len);
    free(tcp->acks);
    sl_ring_destroy(tcp->ack_ring);
    if (tcp->listen_fd >= 0)
        close(tcp->listen_fd);
}
