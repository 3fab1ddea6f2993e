/* envelope.c - see envelope.h. */
#include "graph/envelope.h"

#include "core/assert.h"

static uint16_t voff_of(const struct sl_fb_object *object, const char *name)
{
    const struct sl_fb_field *field = sl_fb_object_field(object, name, strlen(name));
    SL_ASSERT(field); /* schemas/event.fbs is compiled in */
    return field->offset;
}

void sl_envelope_init(struct sl_envelope *env, const struct sl_fb_schemas *schemas)
{
    const struct sl_fb_object *event = schemas->envelope;
    env->schemas = schemas;
    env->id = voff_of(event, "id");
    env->type = voff_of(event, "type");
    env->version = voff_of(event, "version");
    env->key = voff_of(event, "key");
    env->ts = voff_of(event, "ts");
    env->correlation_id = voff_of(event, "correlation_id");
    env->causation_id = voff_of(event, "causation_id");
    env->headers = voff_of(event, "headers");
    env->payload = voff_of(event, "payload");
    const struct sl_fb_field *headers = sl_fb_object_field(event, "headers", 7);
    const struct sl_fb_object *header = sl_fb_schema_object(event->schema, headers->type.index);
    env->header_key = voff_of(header, "key");
    env->header_value = voff_of(header, "value");
}

void sl_envelope_event(const struct sl_envelope *env, const uint8_t *buf, uint32_t len,
                       uint32_t source_id, uint64_t position, struct sl_event *ev)
{
    ev->buf = buf;
    ev->len = len;
    ev->source_id = source_id;
    ev->position = position;
    ev->envelope = sl_fb_root(buf + 4);
    ev->payload = NULL;
    ev->payload_object = NULL;
    const uint8_t *payload = sl_fb_field_ptr(ev->envelope, env->payload);
    if (!payload)
        return;
    payload = sl_fb_deref(payload);
    if (sl_fb_vec_len(payload) == 0)
        return;
    uint32_t type_len;
    const char *type = sl_envelope_string(ev, env->type, &type_len);
    ev->payload_object = type ? sl_fb_schemas_event_object(env->schemas, type, type_len) : NULL;
    if (ev->payload_object) /* verified: a known type's payload is a buffer of its table */
        ev->payload = sl_fb_root(sl_fb_vec_data(payload));
}

const char *sl_envelope_string(const struct sl_event *ev, uint16_t voff, uint32_t *len)
{
    const uint8_t *p = sl_fb_field_ptr(ev->envelope, voff);
    if (!p) {
        *len = 0;
        return NULL;
    }
    p = sl_fb_deref(p);
    *len = sl_fb_u32(p);
    return (const char *)p + 4;
}

static sl_fb_ref copy_string(struct sl_fbb *b, const struct sl_event *ev, uint16_t voff)
{
    uint32_t len;
    const char *s = sl_envelope_string(ev, voff, &len);
    return s ? sl_fbb_string(b, s, len) : 0;
}

/* The event's headers, then the added ones, as a vector of Header tables (0
 * when there are none). */
static sl_fb_ref copy_headers(const struct sl_envelope *env, struct sl_fbb *b,
                              const struct sl_event *ev, const struct sl_envelope_change *change)
{
    const char *const *keys = change->header_keys, *const *values = change->header_values;
    const uint32_t *key_lens = change->header_key_lens, *value_lens = change->header_value_lens;
    uint32_t count = change->header_count;
    SL_ASSERT(count <= 256);
    sl_fb_ref refs[256];
    uint32_t n = 0;
    const uint8_t *p = sl_fb_field_ptr(ev->envelope, env->headers);
    const uint8_t *vec = p ? sl_fb_deref(p) : NULL;
    uint32_t own = vec ? sl_fb_vec_len(vec) : 0;
    for (uint32_t i = 0; i < own && n < 256 - count; i++) {
        const uint8_t *header = sl_fb_deref(sl_fb_vec_data(vec) + 4 * i);
        struct sl_event h = {.envelope = header};
        sl_fb_ref key = copy_string(b, &h, env->header_key);
        sl_fb_ref value = copy_string(b, &h, env->header_value);
        sl_fbb_table_start(b);
        sl_fbb_add_ref(b, env->header_key, key);
        if (value)
            sl_fbb_add_ref(b, env->header_value, value);
        refs[n++] = sl_fbb_table_end(b);
    }
    for (uint32_t i = 0; i < count; i++) {
        sl_fb_ref key = sl_fbb_string(b, keys[i], key_lens ? key_lens[i] : strlen(keys[i]));
        sl_fb_ref value = 0;
        if (values[i])
            value = sl_fbb_string(b, values[i], value_lens ? value_lens[i] : strlen(values[i]));
        sl_fbb_table_start(b);
        sl_fbb_add_ref(b, env->header_key, key);
        if (value)
            sl_fbb_add_ref(b, env->header_value, value);
        refs[n++] = sl_fbb_table_end(b);
    }
    return n ? sl_fbb_vector_refs(b, refs, n) : 0;
}

const uint8_t *sl_envelope_copy(const struct sl_envelope *env, struct sl_fbb *b,
                                const struct sl_event *ev, const struct sl_envelope_change *change,
                                size_t *len)
{
    sl_fbb_reset(b);
    sl_fb_ref payload = 0;
    if (change->payload) {
        uint32_t align = change->payload_align > 8 ? change->payload_align : 8;
        payload = sl_fbb_vector(b, change->payload, change->payload_len, 1, align);
    } else {
        const uint8_t *p = sl_fb_field_ptr(ev->envelope, env->payload);
        if (p) {
            const uint8_t *vec = sl_fb_deref(p);
            payload = sl_fbb_vector(b, sl_fb_vec_data(vec), sl_fb_vec_len(vec), 1, 8);
        }
    }
    sl_fb_ref headers = copy_headers(env, b, ev, change);
    sl_fb_ref id = copy_string(b, ev, env->id);
    sl_fb_ref type = change->type ? sl_fbb_string(b, change->type, change->type_len)
                                  : copy_string(b, ev, env->type);
    sl_fb_ref key = change->key ? sl_fbb_string(b, change->key, change->key_len)
                                : copy_string(b, ev, env->key);
    sl_fb_ref correlation = copy_string(b, ev, env->correlation_id);
    sl_fb_ref causation = copy_string(b, ev, env->causation_id);
    sl_fbb_table_start(b);
    const uint8_t *ts = change->ts ? (const uint8_t *)change->ts
                                   : sl_fb_field_ptr(ev->envelope, env->ts);
    if (ts)
        sl_fbb_add_scalar(b, env->ts, ts, 8, NULL, true);
    if (payload)
        sl_fbb_add_ref(b, env->payload, payload);
    if (headers)
        sl_fbb_add_ref(b, env->headers, headers);
    if (id)
        sl_fbb_add_ref(b, env->id, id);
    if (type)
        sl_fbb_add_ref(b, env->type, type);
    if (key)
        sl_fbb_add_ref(b, env->key, key);
    if (correlation)
        sl_fbb_add_ref(b, env->correlation_id, correlation);
    if (causation)
        sl_fbb_add_ref(b, env->causation_id, causation);
    const uint8_t *version = sl_fb_field_ptr(ev->envelope, env->version);
    if (version && !change->type)
        sl_fbb_add_scalar(b, env->version, version, 2, NULL, true);
    return sl_fbb_finish(b, sl_fbb_table_end(b), true, len);
}
