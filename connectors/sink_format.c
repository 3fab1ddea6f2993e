/* sink_format.c - one batch of events to the bytes a byte-stream sink
 * writes: fb frames copied as they are, or JSON lines through the schemas
 * (formats in sink_format.h). */
#include "sink_format.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "core/batch.h"

#define SINK_OUT_BYTES_MIN 4096u /* first allocation of the output buffer */
#define FB_PREFIX_BYTES 4u       /* size prefix of an fb frame */

int sl_sink_format_parse(const char *text, enum sl_sink_format *format)
{
    if (text && strcmp(text, "fb") == 0) {
        *format = SL_SINK_FORMAT_FB;
        return 0;
    }
    if (text && strcmp(text, "jsonl") == 0) {
        *format = SL_SINK_FORMAT_JSONL;
        return 0;
    }
    return -EINVAL;
}

void sl_sink_encoder_init(struct sl_sink_encoder *enc, enum sl_sink_format format,
                          const struct sl_fb_schemas *schemas, const char *node_name)
{
    SL_ASSERT(format == SL_SINK_FORMAT_FB || (schemas && schemas->envelope));
    *enc = (struct sl_sink_encoder){
        .format = format,
        .schemas = schemas,
        .node_name = node_name ? node_name : "sink",
    };
    if (format == SL_SINK_FORMAT_JSONL)
        sl_fb_json_init(&enc->json, schemas);
}

void sl_sink_encoder_fini(struct sl_sink_encoder *enc)
{
    if (enc->format == SL_SINK_FORMAT_JSONL)
        sl_fb_json_fini(&enc->json);
    free(enc->out);
    enc->out = NULL;
    enc->out_len = enc->out_cap = 0;
}

/* Room for n more bytes in enc->out; doubles, so a batch costs O(log) reallocs
 * at most and none once the buffer fits the largest batch. */
static void out_reserve(struct sl_sink_encoder *enc, size_t n)
{
    if (SL_LIKELY(enc->out_cap - enc->out_len >= n))
        return;
    size_t cap = enc->out_cap ? enc->out_cap : SINK_OUT_BYTES_MIN;
    while (cap - enc->out_len < n)
        cap *= 2;
    enc->out = realloc(enc->out, cap);
    SL_ASSERT(enc->out);
    enc->out_cap = cap;
}

static void encode_fb(struct sl_sink_encoder *enc, struct sl_batch *batch)
{
    out_reserve(enc, batch->arena_used); /* frames total at most the arena in use */
    uint32_t count = sl_batch_entry_count(batch);
    for (uint32_t i = 0; i < count; i++) {
        const struct sl_batch_entry *entry = sl_batch_entry_at(batch, i);
        if (entry->kind != SL_ENTRY_EVENT)
            continue;
        memcpy(enc->out + enc->out_len, sl_batch_event_data(batch, entry), entry->len);
        enc->out_len += entry->len;
    }
}

static void skip_event(struct sl_sink_encoder *enc, const struct sl_batch_entry *entry,
                       const char *why)
{
    enc->events_skipped++;
    sl_log_limited(&enc->log_limit, SL_LOG_WARN,
                   "%s: event from source %u at position %llu has no JSON form (%s); "
                   "left out (%llu so far)",
                   enc->node_name, entry->source_id, (unsigned long long)entry->position, why,
                   (unsigned long long)enc->events_skipped);
}

static void encode_jsonl_event(struct sl_sink_encoder *enc, struct sl_batch *batch,
                               const struct sl_batch_entry *entry)
{
    char why[128];
    const char *line;
    size_t line_len;
    if (entry->len < FB_PREFIX_BYTES) {
        skip_event(enc, entry, "shorter than its size prefix");
        return;
    }
    /* the event is verified from its prefix; the root buffer starts after it */
    const uint8_t *buf = sl_batch_event_data(batch, entry) + FB_PREFIX_BYTES;
    if (sl_fb_to_json(&enc->json, enc->schemas->envelope, buf, entry->len - FB_PREFIX_BYTES,
                      &line, &line_len, why, sizeof(why))) {
        skip_event(enc, entry, why);
        return;
    }
    out_reserve(enc, line_len + 1);
    memcpy(enc->out + enc->out_len, line, line_len);
    enc->out[enc->out_len + line_len] = '\n';
    enc->out_len += line_len + 1;
}

void sl_sink_encode(struct sl_sink_encoder *enc, struct sl_batch *batch)
{
    enc->out_len = 0;
    if (enc->format == SL_SINK_FORMAT_FB) {
        encode_fb(enc, batch);
        return;
    }
    uint32_t count = sl_batch_entry_count(batch);
    for (uint32_t i = 0; i < count; i++) {
        const struct sl_batch_entry *entry = sl_batch_entry_at(batch, i);
        if (entry->kind == SL_ENTRY_EVENT)
            encode_jsonl_event(enc, batch, entry);
    }
}
