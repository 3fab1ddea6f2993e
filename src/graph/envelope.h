/* envelope.h - the sluice.Event envelope as the runtime reads and rewrites
 * it: field slots resolved once from the schema, an sl_event located from a
 * verified size-prefixed buffer in O(1) (plus the type -> table lookup), and
 * a copy of an event with extra headers (how rejected events carry their
 * reason to an errors port). */
#ifndef SL_GRAPH_ENVELOPE_H
#define SL_GRAPH_ENVELOPE_H

#include <stdint.h>

#include "fb/fb.h"
#include "sl/event.h"

/* vtable offsets of the envelope's fields, resolved once. */
struct sl_envelope {
    const struct sl_fb_schemas *schemas;
    uint16_t id, type, version, key, ts, correlation_id, causation_id, headers, payload;
    uint16_t header_key, header_value; /* in sluice.Header */
};

void sl_envelope_init(struct sl_envelope *env, const struct sl_fb_schemas *schemas);

/* Fills ev for the verified size-prefixed buffer buf[0..len). */
void sl_envelope_event(const struct sl_envelope *env, const uint8_t *buf, uint32_t len,
                       uint32_t source_id, uint64_t position, struct sl_event *ev);

/* The string field at voff of the envelope, or NULL (len 0) when absent. */
const char *sl_envelope_string(const struct sl_event *ev, uint16_t voff, uint32_t *len);

/* What sl_envelope_copy() changes; NULL / 0 fields keep the event's own. */
struct sl_envelope_change {
    const char *type;              /* new event type */
    uint32_t type_len;
    const uint8_t *payload;        /* new payload buffer (unprefixed), with payload_len */
    uint32_t payload_len;
    uint32_t payload_align;        /* its minimum alignment (>= 8 is used) */
    const char *const *header_keys; /* headers added after the event's own */
    const char *const *header_values; /* an entry may be NULL: a header without a value */
    const uint32_t *header_key_lens;  /* NULL: the added keys and values are C strings */
    const uint32_t *header_value_lens;
    uint32_t header_count;
    const char *key;               /* new key (key_len bytes, any content), or NULL */
    uint32_t key_len;
    const int64_t *ts;             /* new event time (µs), or NULL */
};

/* Rebuilds ev's envelope in b (reset first) with change applied. Returns
 * the size-prefixed buffer (valid until b is used again) and its length. */
const uint8_t *sl_envelope_copy(const struct sl_envelope *env, struct sl_fbb *b,
                                const struct sl_event *ev, const struct sl_envelope_change *change,
                                size_t *len);

#endif
