/* sink_format.h - what the byte-stream sinks (file, stdout, tcp) share:
 * the output format setting and the encoder that turns one batch into the
 * bytes to write, plus the plans their compile() makes (declared here so
 * tests can build a plan without a job file).
 *
 * Output formats:
 *   fb     each event's frame as it sits in the batch: 4-byte little-endian
 *          length, then the buffer (DESIGN.md, "Framings"); frames back to
 *          back, no padding between them.
 *   jsonl  each event as one line of JSON (sl_fb_to_json of the envelope,
 *          payload transcoded through the job's schemas), ended by '\n'.
 *
 * Memory: the encoder's output buffer grows to the largest encoded batch
 * (doubling), then is reused; encoding allocates nothing per event. */
#ifndef SL_CONNECTORS_SINK_FORMAT_H
#define SL_CONNECTORS_SINK_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log.h"
#include "fb/fb.h"

struct sl_batch;

enum sl_sink_format {
    SL_SINK_FORMAT_FB,    /* size-prefixed FlatBuffers frames */
    SL_SINK_FORMAT_JSONL, /* JSON lines */
};

/* "fb" or "jsonl" -> format. Returns 0, or -EINVAL for anything else. */
int sl_sink_format_parse(const char *text, enum sl_sink_format *format);

/* Batch -> bytes. Owned by one sink instance, touched by its thread only. */
struct sl_sink_encoder {
    enum sl_sink_format format;
    const struct sl_fb_schemas *schemas; /* jsonl: the job's schemas (borrowed) */
    const char *node_name;               /* for log lines (borrowed) */
    struct sl_fb_json json;              /* jsonl: transcoder state, reused */
    uint8_t *out;                        /* encoded bytes of the last batch */
    size_t out_len;                      /* bytes: valid in out */
    size_t out_cap;                      /* bytes: allocated for out */
    uint64_t events_skipped;             /* jsonl: events that had no JSON form */
    struct sl_log_limit log_limit;       /* for the skipped-event log line */
};

/* Prepares enc; jsonl needs schemas (with the envelope). Allocates nothing
 * until the first batch. */
void sl_sink_encoder_init(struct sl_sink_encoder *enc, enum sl_sink_format format,
                          const struct sl_fb_schemas *schemas, const char *node_name);
void sl_sink_encoder_fini(struct sl_sink_encoder *enc);

/*
 * Encodes the events of batch (control records are skipped) into
 * enc->out[0..out_len). An event that has no JSON form (a string that is
 * not UTF-8, a payload type no schema knows) is left out, counted in
 * events_skipped and logged with rate limiting: one bad event does not stop
 * the job. O(batch bytes); grows enc->out when the batch needs more room.
 */
void sl_sink_encode(struct sl_sink_encoder *enc, struct sl_batch *batch);

/* ---- plans, made by each sink's compile() (read-only afterwards) ---- */

struct sl_file_sink_plan {
    char *path;                 /* owned */
    enum sl_sink_format format;
    bool fsync;                 /* fsync the file at close */
};

struct sl_stdout_sink_plan {
    enum sl_sink_format format;
};

struct sl_tcp_sink_plan {
    char *address;              /* owned: as written, for messages */
    char *host;                 /* owned: without brackets */
    char *port;                 /* owned */
    enum sl_sink_format format;
};

/* Plan constructors behind compile(); they check the settings' shape
 * (format name, host:port) and, for the file sink, that the directory of
 * path exists. Return 0 and a plan to free with the sink's plan_free, or
 * -EINVAL with the reason in err. */
int sl_file_sink_plan_new(const char *path, const char *format, bool fsync,
                          struct sl_file_sink_plan **plan, char *err, size_t err_len);
int sl_stdout_sink_plan_new(const char *format, struct sl_stdout_sink_plan **plan, char *err,
                            size_t err_len);
int sl_tcp_sink_plan_new(const char *address, const char *format, struct sl_tcp_sink_plan **plan,
                         char *err, size_t err_len);

#endif
