/* ingest_int.h - internals shared by the ingestion files: the ingest
 * object, framed streams (one per connection or file) and the source
 * hooks the io loop (ingest.c) calls into tcp_source.c and file_source.c.
 *
 * @locality: everything below is touched by the io thread only, except
 * struct sl_ingest's stop flag and wake_fd (any thread, see sl_ingest_stop)
 * and its rings (their consumers).
 */
#ifndef SL_IO_INGEST_INT_H
#define SL_IO_INGEST_INT_H

#include <liburing.h>
#include <stdatomic.h>

#include "core/pool.h"
#include "io/frame.h"
#include "io/ingest.h"
#include "io/lines.h"
#include "io/uring_loop.h"

/* What a completion is for (the op field of its user_data tag). */
enum sl_ingest_op {
    SL_OP_WAKE = 1, /* read on the eventfd sl_ingest_stop() writes */
    SL_OP_ACCEPT,   /* index unused */
    SL_OP_RECV,     /* index = connection slot, gen = its generation */
    SL_OP_CANCEL,   /* completion of a cancel request; nothing to do */
    SL_OP_READ,     /* file read */
    SL_OP_TIMEOUT,  /* file follow poll */
};

/* One framed byte stream: a connection's or the file's framing state. */
struct sl_stream {
    struct sl_ingest *ingest;
    union {
        struct sl_frame_reader frame; /* SL_INGEST_FB */
        struct sl_lines lines;        /* SL_INGEST_JSONL */
    };
    uint32_t conn_id; /* TCP connection id; 0 for the file */
    uint64_t seq;     /* sequence number of the next frame or line */
    uint64_t committed_end; /* 1 + seq of the last event put in a batch, 0 before one */
    const char *peer; /* for error reports */
};

#define SL_BID_NONE UINT32_MAX

/* What a connection's first bytes said (ack-mode hello, docs/tcp-ack.md). */
enum sl_hello {
    SL_HELLO_PENDING = 0, /* fewer than 8 bytes seen, all matching the hello */
    SL_HELLO_NONE,        /* a plain connection */
    SL_HELLO_ACK,         /* ack mode */
};

/* A TCP connection slot. */
struct sl_conn {
    int fd;
    uint32_t id;        /* connection id, 1.. in accept order */
    uint32_t gen;       /* bumped when the slot is freed: stale completions are ignored */
    bool in_use;
    bool recv_armed;    /* a recv (multishot or single-shot) is in flight */
    bool cancel_sent;   /* its cancel is in flight */
    bool eof;           /* peer closed or recv failed: finish after the pending data */
    bool sync_lost;     /* framing error: close without finishing */
    bool waiting;       /* on the wait list */
    uint32_t wait_next; /* next slot on the wait list */
    uint32_t pend_head; /* multishot: first provided buffer not yet consumed, or SL_BID_NONE */
    uint32_t pend_tail;
    uint8_t *buf;       /* fallback: this connection's recv buffer (buf_bytes) */
    uint32_t buf_off;   /* fallback: unconsumed bytes are buf[buf_off..buf_off+buf_len) */
    uint32_t buf_len;
    struct sl_stream stream;
    char peer[48];      /* "ADDR:PORT" */
    /* ack mode */
    uint8_t hello;      /* enum sl_hello */
    uint8_t hello_len;  /* leading bytes matching the hello, taken from the pending data */
    uint8_t hello_fed;  /* of those, fed to the stream after all (not a hello) */
    bool ack_closing;   /* its end was announced: waits for `released`, then closes */
    bool ack_dead;      /* sending an ack failed: no more sends */
    bool ack_final;     /* released: the final count is queued; close once it is sent */
    uint8_t ack_off;    /* bytes of ack_buf sent; 8: nothing pending */
    uint8_t ack_buf[8]; /* the count being sent, little-endian */
    uint64_t ack_sent;  /* the last count queued in ack_buf */
};

struct sl_tcp {
    int listen_fd;
    uint16_t port;
    bool multishot;      /* the path in use */
    bool accept_armed;
    bool accept_cancel_sent;
    struct sl_conn *conns;      /* connections_max slots */
    uint32_t *free_slots;       /* stack of free slot indexes */
    uint32_t free_count;
    uint32_t next_id;
    uint32_t wait_head, wait_tail; /* connections to service when room returns */
    struct sl_bufring bufring;
    uint32_t *pend_next;        /* per buffer id: next pending buffer of the same connection */
    uint32_t *pend_off;         /* per buffer id: first unconsumed byte */
    uint32_t *pend_len;         /* per buffer id: bytes received */
    uint32_t bufs_out;          /* provided buffers held by connections */
    struct sl_ingest_ack *acks; /* config.ack: one per slot, shared with the consumer */
    struct sl_ring *ack_ring;   /* config.ack: announcements to the consumer */
    uint32_t ack_conns;         /* open connections in ack mode */
    uint64_t ack_next_ns;       /* when sl_tcp_ack_tick() next looks at them */
};

struct sl_file {
    int fd;
    uint8_t *buf;        /* read_bytes */
    uint32_t buf_off, buf_len; /* unconsumed bytes of the last read */
    uint64_t read_offset;      /* file offset of the next read */
    bool read_armed, timer_armed;
    bool waiting;        /* stopped for backpressure */
    bool done;           /* EOF without follow, or an error */
    bool sync_lost;      /* framing error: the rest of the file cannot be framed */
    struct __kernel_timespec interval;
    struct sl_stream stream;
};

struct sl_ingest {
    struct sl_ingest_config config;
    struct sl_ring *rings[SL_INGEST_CONSUMERS_MAX];
    struct sl_pool *pool;
    struct io_uring ring;
    bool ring_ready;

    struct sl_batch *cur;    /* batch being filled, or NULL */
    uint64_t cur_first_ns;   /* when cur got its first event */
    struct sl_batch *held;   /* full batch whose ring was full, or NULL */
    uint32_t held_consumer;
    uint32_t next_consumer;  /* round-robin */
    bool blocked;            /* the last reserve found no room */

    int wake_fd;             /* eventfd */
    uint64_t wake_value;     /* read target */
    atomic_bool stop_requested;
    bool draining;           /* stop requested: no new connections, reading to EOF */
    uint64_t drain_deadline_ns; /* draining: when reading stops regardless */
    bool stopping;           /* reading stops: every operation is being cancelled */
    uint32_t inflight;       /* submitted operations whose final completion is pending */

    struct sl_fb_json json;  /* jsonl transcoder */
    struct sl_fb_verify_opts verify_opts;
    char err[256];
    struct sl_log_limit log_limit;
    struct sl_ingest_stats stats;

    struct sl_tcp tcp;
    struct sl_file file;
};

/* ingest.c: streams and batches */
void sl_stream_init(struct sl_ingest *ingest, struct sl_stream *stream, uint32_t conn_id,
                    const char *peer);
void sl_stream_fini(struct sl_stream *stream);
/* Feeds bytes; returns 0, -EAGAIN (no room: data[*consumed..) not taken),
 * -EBADMSG (sync lost; already reported) or -ENOMEM. */
int sl_stream_feed(struct sl_stream *stream, const uint8_t *data, size_t len, size_t *consumed);
/* End of the stream: hands on a last unterminated line, reports a frame cut
 * short. Returns 0 or -EAGAIN (no room; call again). */
int sl_stream_finish(struct sl_stream *stream, bool sync_lost);
void sl_ingest_report(struct sl_ingest *ingest, const struct sl_ingest_error *error);
/* An SQE tagged for op; counts it in flight. */
struct io_uring_sqe *sl_ingest_sqe(struct sl_ingest *ingest, uint32_t op, uint32_t gen,
                                   uint32_t index);
void sl_ingest_cancel(struct sl_ingest *ingest, uint64_t tag);
/* Sleeps briefly until a reserve can succeed again (drain phase only). */
void sl_ingest_wait_room(struct sl_ingest *ingest);

/* tcp_source.c */
int sl_tcp_listen(struct sl_ingest *ingest, char *err, size_t err_len);
int sl_tcp_start(struct sl_ingest *ingest);
void sl_tcp_complete(struct sl_ingest *ingest, uint64_t tag, int res, uint32_t flags);
void sl_tcp_resume(struct sl_ingest *ingest);
bool sl_tcp_has_waiters(const struct sl_ingest *ingest);
void sl_tcp_begin_drain(struct sl_ingest *ingest);
/* Connections open (ack-mode ones waiting for their final ack included). */
uint32_t sl_tcp_open_count(const struct sl_ingest *ingest);
/* Sends due acks and closes released ack-mode connections; returns ns
 * until it wants to run again, UINT64_MAX when no connection is in ack mode. */
uint64_t sl_tcp_ack_tick(struct sl_ingest *ingest);
int sl_tcp_ack_create(struct sl_ingest *ingest, char *err, size_t err_len);
void sl_tcp_stop(struct sl_ingest *ingest);
void sl_tcp_drain(struct sl_ingest *ingest);
void sl_tcp_fini(struct sl_ingest *ingest);
uint64_t sl_tcp_memory_bound(const struct sl_ingest_config *config);

/* file_source.c */
int sl_file_open(struct sl_ingest *ingest, char *err, size_t err_len);
int sl_file_start(struct sl_ingest *ingest);
void sl_file_complete(struct sl_ingest *ingest, uint32_t op, int res);
void sl_file_resume(struct sl_ingest *ingest);
void sl_file_stop(struct sl_ingest *ingest);
void sl_file_drain(struct sl_ingest *ingest);
void sl_file_fini(struct sl_ingest *ingest);

#endif
