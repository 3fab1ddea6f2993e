/* ingest_error.h - the one path by which ingestion reports bad input.
 *
 * Every rejected frame or line, every framing error and every connection cut
 * inside a frame becomes one struct sl_ingest_error, counted by kind in the
 * ingest's statistics and handed to one callback. The operator graph's
 * `errors` port plugs in as that callback later; until then the default
 * callback, sl_ingest_error_log(), writes a rate-limited log line. Nothing
 * is dropped silently: the counter moves before the callback runs.
 *
 * @locality: errors are raised and reported on the io thread; the callback
 * runs there, inside the io loop, and must not block for long.
 */
#ifndef SL_IO_INGEST_ERROR_H
#define SL_IO_INGEST_ERROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log.h"

enum sl_ingest_error_kind {
    SL_INGEST_ERR_OVERSIZE = 0, /* frame length / line longer than frame_bytes_max */
    SL_INGEST_ERR_ZERO_LENGTH,  /* fb: frame prefix says 0 bytes */
    SL_INGEST_ERR_VERIFY,       /* fb: frame failed sl_fb_verify() against the envelope */
    SL_INGEST_ERR_JSON,         /* jsonl: line is not valid JSON for the envelope */
    SL_INGEST_ERR_TRUNCATED,    /* stream ended (disconnect, EOF, shutdown) inside a frame */
    SL_INGEST_ERR_IO,           /* recv/read failed; the connection or file is closed */
    SL_INGEST_ERR_KINDS
};

/* One report; valid only during the callback (reason and bytes are borrowed). */
struct sl_ingest_error {
    enum sl_ingest_error_kind kind;
    uint32_t source_id;   /* config.source_id of the ingest */
    uint32_t conn_id;     /* TCP: connection id (1, 2, ... per ingest); file: 0 */
    const char *peer;     /* TCP: "127.0.0.1:PORT" of the client; file: the path */
    uint64_t offset;      /* byte offset in the connection's stream / the file of the
                           * frame's prefix or the line's first byte */
    uint64_t seq;         /* per-connection (or per-file) sequence number of the frame or
                           * line: good and bad ones count alike, so a sender can match */
    uint64_t length;      /* the frame's length field, or the line's length (bytes) */
    bool sync_lost;       /* the connection was closed because of this error */
    const char *reason;   /* human-readable, NUL-terminated */
    const uint8_t *bytes; /* the rejected frame/line when it is whole in memory, else NULL */
    size_t bytes_len;
};

typedef void (*sl_ingest_error_fn)(void *ctx, const struct sl_ingest_error *error);

/* Short name of a kind ("oversize", "verify", ...). */
const char *sl_ingest_error_kind_name(enum sl_ingest_error_kind kind);

/* The default callback: ctx is a struct sl_log_limit (owned by the io
 * thread); writes one warn line per error, at most the log's burst per
 * second, with kind, connection, peer, offset, sequence and reason. */
void sl_ingest_error_log(void *ctx, const struct sl_ingest_error *error);

/* Formats error as one line "KIND conn=ID peer=P offset=N seq=N len=N
 * closed=0|1: REASON" into buf (NUL-terminated, truncated to len). */
void sl_ingest_error_format(const struct sl_ingest_error *error, char *buf, size_t len);

#endif
