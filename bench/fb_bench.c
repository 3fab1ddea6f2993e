/*
 * fb_bench.c - sluice's side of the FlatBuffers benchmark: five operations
 * on one order event (bench/data/order_event.json: an Event envelope with
 * an OrderPlaced payload, 3 line items, a shipping address, tags), each run
 * for a fixed time and reported as one row. fb_bench_cpp.cc does the same
 * with the C++ FlatBuffers library; bench/run puts them side by side.
 *
 *   build        Event + nested OrderPlaced with sl_fbb_* from in-memory
 *                values (read out of the JSON once, before timing); field
 *                slots resolved by name from the schema at start
 *   verify       sl_fb_verify of the envelope with the payload verified
 *                against the table its type names; limits depth 64,
 *                1,000,000 tables (the C++ library's defaults)
 *   verify_read  verify, then read type, key and payload.amount through
 *                slots resolved once (payload.amount per event type,
 *                cached for the last type seen)
 *   json_to_fb   sl_fb_json_to_fb of the event's JSON text
 *   fb_to_json   sl_fb_to_json of the built buffer
 *
 * Output, one row per operation (the format bench/run parses):
 *   impl op event_bytes events_per_s MB_per_s ns_per_event checksum
 * event_bytes is the FlatBuffer's size, except for json_to_fb where it is
 * the JSON text's; checksum is a per-event value computed from what each
 * iteration read or produced (summed over all iterations, then divided by
 * their count) so that no iteration can be optimised away; verify_read's
 * checksum is computed as fb_bench_cpp computes it and must match it.
 *
 *   fb_bench [--seconds S] [--data FILE.json]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fb/fb.h"

#ifndef SL_BENCH_DATA
#define SL_BENCH_DATA "bench/data/order_event.json"
#endif

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "scalars are pushed to the builder in host order");

#define BENCH_ITEMS_MAX 8
#define BENCH_HEADERS_MAX 8
#define BENCH_TAGS_MAX 8

struct bench_str {
    const char *s; /* points into bench.values_buf */
    size_t len;
};

/* The event as plain values: what an application holds before it builds. */
struct bench_values {
    struct bench_str id, type, key, correlation_id, causation_id;
    int64_t version, ts;
    struct bench_str header_key[BENCH_HEADERS_MAX], header_value[BENCH_HEADERS_MAX];
    uint32_t header_count;
    struct bench_str order_id, customer_id, coupon;
    int64_t region, channel, currency, amount, priority;
    struct bench_str sku[BENCH_ITEMS_MAX];
    int64_t quantity[BENCH_ITEMS_MAX], unit_price[BENCH_ITEMS_MAX];
    uint32_t item_count;
    struct bench_str ship_name, ship_street, ship_city, ship_postal_code, ship_country;
    struct bench_str tags[BENCH_TAGS_MAX];
    uint32_t tag_count;
};

/* Field slots, resolved by name once (the field carries voff and default). */
struct bench_fields {
    const struct sl_fb_field *id, *type, *version, *key, *ts, *correlation_id, *causation_id,
        *headers, *payload;
    const struct sl_fb_field *header_key, *header_value;
    const struct sl_fb_field *order_id, *customer_id, *region, *channel, *amount, *currency,
        *items, *shipping, *coupon, *priority, *tags;
    const struct sl_fb_field *sku, *quantity, *unit_price;
    const struct sl_fb_field *name, *street, *city, *postal_code, *country;
};

/* payload.amount resolved for the last event type seen. */
struct bench_path_cache {
    const char *type; /* the type string it was resolved for (in the buffer read) */
    uint32_t type_len;
    const struct sl_fb_field *amount;
};

/* Everything one run owns; single-threaded. */
struct bench {
    struct sl_fb_schemas schemas;
    const struct sl_fb_object *envelope;
    struct bench_fields fields;
    struct sl_fbb outer, inner;
    struct sl_fb_json json;
    struct sl_fb_verify_opts verify_opts;
    struct bench_path_cache cache;
    char *json_text;
    size_t json_len;
    uint8_t *values_buf; /* 8-aligned copy of the JSON-made buffer values point into */
    struct bench_values values;
    uint8_t *event;      /* 8-aligned copy of the built event */
    size_t event_len;
};

struct bench_result {
    uint64_t iterations;
    double seconds;
    uint64_t checksum_sum;
};

typedef uint64_t (*bench_op_fn)(struct bench *bench);

/* ---- set-up ---- */

static const struct sl_fb_field *bench_field(const struct sl_fb_schemas *schemas,
                                             const char *object_name, const char *field_name)
{
    const struct sl_fb_object *object = sl_fb_schemas_find_object(schemas, object_name);
    const struct sl_fb_field *field =
        object ? sl_fb_object_field(object, field_name, strlen(field_name)) : NULL;
    if (!field) {
        fprintf(stderr, "fb_bench: schema has no %s.%s\n", object_name, field_name);
        exit(1);
    }
    return field;
}

static void bench_fields_resolve(struct bench_fields *f, const struct sl_fb_schemas *schemas)
{
    const char *ev = "sluice.Event", *hd = "sluice.Header", *op = "sluice.orders.OrderPlaced";
    const char *li = "sluice.orders.LineItem", *ad = "sluice.orders.Address";
    f->id = bench_field(schemas, ev, "id");
    f->type = bench_field(schemas, ev, "type");
    f->version = bench_field(schemas, ev, "version");
    f->key = bench_field(schemas, ev, "key");
    f->ts = bench_field(schemas, ev, "ts");
    f->correlation_id = bench_field(schemas, ev, "correlation_id");
    f->causation_id = bench_field(schemas, ev, "causation_id");
    f->headers = bench_field(schemas, ev, "headers");
    f->payload = bench_field(schemas, ev, "payload");
    f->header_key = bench_field(schemas, hd, "key");
    f->header_value = bench_field(schemas, hd, "value");
    f->order_id = bench_field(schemas, op, "order_id");
    f->customer_id = bench_field(schemas, op, "customer_id");
    f->region = bench_field(schemas, op, "region");
    f->channel = bench_field(schemas, op, "channel");
    f->amount = bench_field(schemas, op, "amount");
    f->currency = bench_field(schemas, op, "currency");
    f->items = bench_field(schemas, op, "items");
    f->shipping = bench_field(schemas, op, "shipping");
    f->coupon = bench_field(schemas, op, "coupon");
    f->priority = bench_field(schemas, op, "priority");
    f->tags = bench_field(schemas, op, "tags");
    f->sku = bench_field(schemas, li, "sku");
    f->quantity = bench_field(schemas, li, "quantity");
    f->unit_price = bench_field(schemas, li, "unit_price");
    f->name = bench_field(schemas, ad, "name");
    f->street = bench_field(schemas, ad, "street");
    f->city = bench_field(schemas, ad, "city");
    f->postal_code = bench_field(schemas, ad, "postal_code");
    f->country = bench_field(schemas, ad, "country");
}

/* Reads a whole file into a NUL-terminated heap string; trailing newlines dropped. */
static int bench_read_text(const char *path, char **out, size_t *out_len)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return -errno;
    size_t cap = 4096, len = 0, got;
    char *text = malloc(cap), *grown;
    while (text && (got = fread(text + len, 1, cap - len - 1, file)) > 0) {
        len += got;
        if (cap - len - 1 > 0)
            continue;
        grown = realloc(text, cap * 2);
        if (!grown)
            free(text);
        text = grown;
        cap *= 2;
    }
    int rc = !text ? -ENOMEM : ferror(file) ? -EIO : 0;
    fclose(file);
    if (rc) {
        free(text);
        return rc;
    }
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    text[len] = '\0';
    *out = text;
    *out_len = len;
    return 0;
}

static uint8_t *bench_aligned_copy(const uint8_t *buf, size_t len)
{
    uint8_t *copy = aligned_alloc(8, (len + 7) & ~(size_t)7);
    if (!copy) {
        fprintf(stderr, "fb_bench: out of memory\n");
        exit(1);
    }
    memcpy(copy, buf, len);
    return copy;
}

/* ---- reading through slots (buffers here are verified) ---- */

static struct bench_str bench_read_str(const uint8_t *table, const struct sl_fb_field *field)
{
    const uint8_t *p = sl_fb_field_ptr(table, field->offset);
    if (!p)
        return (struct bench_str){"", 0};
    const uint8_t *s = sl_fb_deref(p);
    return (struct bench_str){(const char *)s + 4, sl_fb_u32(s)};
}

static int64_t bench_read_int(const uint8_t *table, const struct sl_fb_field *field)
{
    const uint8_t *p = sl_fb_field_ptr(table, field->offset);
    if (!p)
        return field->default_integer;
    switch (sl_fb_base_size(field->type.base)) {
    case 1: return sl_fb_u8(p);
    case 2: return sl_fb_u16(p);
    case 4: return sl_fb_u32(p);
    default: return (int64_t)sl_fb_u64(p);
    }
}

/* The vector a field points to (count in *count), or NULL when absent. */
static const uint8_t *bench_read_vec(const uint8_t *table, const struct sl_fb_field *field,
                                     uint32_t *count)
{
    const uint8_t *p = sl_fb_field_ptr(table, field->offset);
    const uint8_t *vec = p ? sl_fb_deref(p) : NULL;
    *count = vec ? sl_fb_vec_len(vec) : 0;
    return vec ? sl_fb_vec_data(vec) : NULL;
}

static void bench_values_order(struct bench_values *v, const struct bench_fields *f,
                               const uint8_t *order)
{
    uint32_t count;
    v->order_id = bench_read_str(order, f->order_id);
    v->customer_id = bench_read_str(order, f->customer_id);
    v->coupon = bench_read_str(order, f->coupon);
    v->region = bench_read_int(order, f->region);
    v->channel = bench_read_int(order, f->channel);
    v->currency = bench_read_int(order, f->currency);
    v->amount = bench_read_int(order, f->amount);
    v->priority = bench_read_int(order, f->priority);
    const uint8_t *items = bench_read_vec(order, f->items, &count);
    v->item_count = count < BENCH_ITEMS_MAX ? count : BENCH_ITEMS_MAX;
    for (uint32_t i = 0; i < v->item_count; i++) {
        const uint8_t *item = sl_fb_deref(items + 4 * i);
        v->sku[i] = bench_read_str(item, f->sku);
        v->quantity[i] = bench_read_int(item, f->quantity);
        v->unit_price[i] = bench_read_int(item, f->unit_price);
    }
    const uint8_t *ship = sl_fb_field_ptr(order, f->shipping->offset);
    if (ship) {
        ship = sl_fb_deref(ship);
        v->ship_name = bench_read_str(ship, f->name);
        v->ship_street = bench_read_str(ship, f->street);
        v->ship_city = bench_read_str(ship, f->city);
        v->ship_postal_code = bench_read_str(ship, f->postal_code);
        v->ship_country = bench_read_str(ship, f->country);
    }
    const uint8_t *tags = bench_read_vec(order, f->tags, &count);
    v->tag_count = count < BENCH_TAGS_MAX ? count : BENCH_TAGS_MAX;
    for (uint32_t i = 0; i < v->tag_count; i++) {
        const uint8_t *s = sl_fb_deref(tags + 4 * i);
        v->tags[i] = (struct bench_str){(const char *)s + 4, sl_fb_u32(s)};
    }
}

/* Fills v from a verified event buffer (strings point into it). */
static void bench_values_read(struct bench_values *v, const struct bench_fields *f,
                              const uint8_t *buf)
{
    uint32_t count;
    const uint8_t *event = sl_fb_root(buf);
    memset(v, 0, sizeof(*v));
    v->id = bench_read_str(event, f->id);
    v->type = bench_read_str(event, f->type);
    v->key = bench_read_str(event, f->key);
    v->correlation_id = bench_read_str(event, f->correlation_id);
    v->causation_id = bench_read_str(event, f->causation_id);
    v->version = bench_read_int(event, f->version);
    v->ts = bench_read_int(event, f->ts);
    const uint8_t *headers = bench_read_vec(event, f->headers, &count);
    v->header_count = count < BENCH_HEADERS_MAX ? count : BENCH_HEADERS_MAX;
    for (uint32_t i = 0; i < v->header_count; i++) {
        const uint8_t *header = sl_fb_deref(headers + 4 * i);
        v->header_key[i] = bench_read_str(header, f->header_key);
        v->header_value[i] = bench_read_str(header, f->header_value);
    }
    const uint8_t *payload = bench_read_vec(event, f->payload, &count);
    bench_values_order(v, f, sl_fb_root(payload));
}

/* ---- the operations ---- */

static sl_fb_ref bench_string(struct sl_fbb *b, struct bench_str s)
{
    return sl_fbb_string(b, s.s, s.len);
}

/* Adds an integer field of the field's own width unless it equals the default. */
static void bench_add_int(struct sl_fbb *b, const struct sl_fb_field *field, int64_t value)
{
    sl_fbb_add_scalar(b, field->offset, &value, sl_fb_base_size(field->type.base),
                      &field->default_integer, false);
}

static sl_fb_ref bench_build_address(struct sl_fbb *b, const struct bench_fields *f,
                                     const struct bench_values *v)
{
    sl_fb_ref name = bench_string(b, v->ship_name), street = bench_string(b, v->ship_street);
    sl_fb_ref city = bench_string(b, v->ship_city);
    sl_fb_ref postal_code = bench_string(b, v->ship_postal_code);
    sl_fb_ref country = bench_string(b, v->ship_country);
    sl_fbb_table_start(b);
    sl_fbb_add_ref(b, f->name->offset, name);
    sl_fbb_add_ref(b, f->street->offset, street);
    sl_fbb_add_ref(b, f->city->offset, city);
    sl_fbb_add_ref(b, f->postal_code->offset, postal_code);
    sl_fbb_add_ref(b, f->country->offset, country);
    return sl_fbb_table_end(b);
}

/* Builds the OrderPlaced payload into b (finished, unprefixed); returns its bytes. */
static const uint8_t *bench_build_order(struct sl_fbb *b, const struct bench_fields *f,
                                        const struct bench_values *v, size_t *len)
{
    sl_fb_ref refs[BENCH_ITEMS_MAX > BENCH_TAGS_MAX ? BENCH_ITEMS_MAX : BENCH_TAGS_MAX];
    for (uint32_t i = 0; i < v->item_count; i++) {
        sl_fb_ref sku = bench_string(b, v->sku[i]);
        sl_fbb_table_start(b);
        bench_add_int(b, f->unit_price, v->unit_price[i]);
        sl_fbb_add_ref(b, f->sku->offset, sku);
        bench_add_int(b, f->quantity, v->quantity[i]);
        refs[i] = sl_fbb_table_end(b);
    }
    sl_fb_ref items = sl_fbb_vector_refs(b, refs, v->item_count);
    sl_fb_ref shipping = bench_build_address(b, f, v);
    for (uint32_t i = 0; i < v->tag_count; i++)
        refs[i] = bench_string(b, v->tags[i]);
    sl_fb_ref tags = sl_fbb_vector_refs(b, refs, v->tag_count);
    sl_fb_ref order_id = bench_string(b, v->order_id);
    sl_fb_ref customer_id = bench_string(b, v->customer_id);
    sl_fb_ref coupon = bench_string(b, v->coupon);
    sl_fbb_table_start(b);
    bench_add_int(b, f->amount, v->amount); /* widest first: no padding inside the table */
    sl_fbb_add_ref(b, f->tags->offset, tags);
    sl_fbb_add_ref(b, f->coupon->offset, coupon);
    sl_fbb_add_ref(b, f->shipping->offset, shipping);
    sl_fbb_add_ref(b, f->items->offset, items);
    sl_fbb_add_ref(b, f->customer_id->offset, customer_id);
    sl_fbb_add_ref(b, f->order_id->offset, order_id);
    bench_add_int(b, f->priority, v->priority);
    bench_add_int(b, f->currency, v->currency);
    bench_add_int(b, f->channel, v->channel);
    bench_add_int(b, f->region, v->region);
    return sl_fbb_finish(b, sl_fbb_table_end(b), false, len);
}

/* Builds the whole event; the payload keeps its own minimum alignment. */
static const uint8_t *bench_build_event(struct bench *bench, size_t *len)
{
    const struct bench_fields *f = &bench->fields;
    const struct bench_values *v = &bench->values;
    struct sl_fbb *b = &bench->outer;
    size_t payload_len;
    sl_fbb_reset(&bench->inner);
    sl_fbb_reset(b);
    const uint8_t *payload_bytes = bench_build_order(&bench->inner, f, v, &payload_len);
    sl_fb_ref refs[BENCH_HEADERS_MAX];
    for (uint32_t i = 0; i < v->header_count; i++) {
        sl_fb_ref key = bench_string(b, v->header_key[i]);
        sl_fb_ref value = bench_string(b, v->header_value[i]);
        sl_fbb_table_start(b);
        sl_fbb_add_ref(b, f->header_key->offset, key);
        sl_fbb_add_ref(b, f->header_value->offset, value);
        refs[i] = sl_fbb_table_end(b);
    }
    sl_fb_ref headers = sl_fbb_vector_refs(b, refs, v->header_count);
    sl_fb_ref payload = sl_fbb_vector(b, payload_bytes, payload_len, 1, bench->inner.minalign);
    sl_fb_ref id = bench_string(b, v->id), type = bench_string(b, v->type);
    sl_fb_ref key = bench_string(b, v->key);
    sl_fb_ref correlation_id = bench_string(b, v->correlation_id);
    sl_fb_ref causation_id = bench_string(b, v->causation_id);
    sl_fbb_table_start(b);
    bench_add_int(b, f->ts, v->ts);
    sl_fbb_add_ref(b, f->payload->offset, payload);
    sl_fbb_add_ref(b, f->headers->offset, headers);
    sl_fbb_add_ref(b, f->causation_id->offset, causation_id);
    sl_fbb_add_ref(b, f->correlation_id->offset, correlation_id);
    sl_fbb_add_ref(b, f->key->offset, key);
    sl_fbb_add_ref(b, f->type->offset, type);
    sl_fbb_add_ref(b, f->id->offset, id);
    bench_add_int(b, f->version, v->version);
    return sl_fbb_finish(b, sl_fbb_table_end(b), false, len);
}

static uint64_t bench_op_build(struct bench *bench)
{
    size_t len;
    bench_build_event(bench, &len);
    return bench->outer.failed ? 0 : len;
}

static bool bench_verify(struct bench *bench, const uint8_t *buf, size_t len)
{
    char err[128];
    return sl_fb_verify(buf, len, false, bench->envelope, &bench->verify_opts, err,
                        sizeof(err)) == 0;
}

static uint64_t bench_op_verify(struct bench *bench)
{
    return bench_verify(bench, bench->event, bench->event_len);
}

static uint64_t bench_fnv1a(const char *s, size_t len)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

/* payload.amount for the payload table of type: one lookup per new type. */
static const struct sl_fb_field *bench_amount_slot(struct bench *bench, struct bench_str type)
{
    struct bench_path_cache *cache = &bench->cache;
    if (cache->amount && cache->type_len == type.len && memcmp(cache->type, type.s, type.len) == 0)
        return cache->amount;
    const struct sl_fb_object *object =
        sl_fb_schemas_event_object(&bench->schemas, type.s, type.len);
    cache->type = type.s;
    cache->type_len = (uint32_t)type.len;
    cache->amount = object ? sl_fb_object_field(object, "amount", 6) : NULL;
    return cache->amount;
}

/* Verifies, then reads type, key and payload.amount: a 32-bit fold of
 * their hashes plus the amount, 0 when invalid (as fb_bench_cpp). */
static uint64_t bench_op_verify_read(struct bench *bench)
{
    const uint8_t *buf = bench->event;
    if (!bench_verify(bench, buf, bench->event_len))
        return 0;
    const uint8_t *event = sl_fb_root(buf);
    struct bench_str type = bench_read_str(event, bench->fields.type);
    struct bench_str key = bench_read_str(event, bench->fields.key);
    const struct sl_fb_field *amount_field = bench_amount_slot(bench, type);
    int64_t amount = 0;
    const uint8_t *p = sl_fb_field_ptr(event, bench->fields.payload->offset);
    if (amount_field && p) {
        const uint8_t *payload_root = sl_fb_root(sl_fb_vec_data(sl_fb_deref(p)));
        amount = bench_read_int(payload_root, amount_field);
    }
    uint64_t h = bench_fnv1a(type.s, type.len) ^ bench_fnv1a(key.s, key.len);
    return ((h >> 32) ^ (h & 0xffffffffu)) + (uint64_t)amount;
}

static uint64_t bench_op_json_to_fb(struct bench *bench)
{
    const uint8_t *out;
    size_t out_len;
    char err[128];
    int rc = sl_fb_json_to_fb(&bench->json, bench->envelope, bench->json_text, bench->json_len,
                              false, &out, &out_len, err, sizeof(err));
    return rc == 0 ? out_len : 0;
}

static uint64_t bench_op_fb_to_json(struct bench *bench)
{
    const char *out;
    size_t out_len;
    char err[128];
    int rc = sl_fb_to_json(&bench->json, bench->envelope, bench->event, bench->event_len, &out,
                           &out_len, err, sizeof(err));
    return rc == 0 ? out_len : 0;
}

/* ---- timing ---- */

static double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs op in chunks until at least `seconds` have passed, after a warm-up chunk. */
static struct bench_result bench_run_timed(struct bench *bench, bench_op_fn op, double seconds)
{
    enum { CHUNK = 256 };
    for (int i = 0; i < CHUNK; i++)
        (void)op(bench); /* warm-up: caches, branch predictors, builder capacity */
    struct bench_result r = {0};
    double start = bench_now_s();
    do {
        for (int i = 0; i < CHUNK; i++)
            r.checksum_sum += op(bench);
        r.iterations += CHUNK;
        r.seconds = bench_now_s() - start;
    } while (r.seconds < seconds);
    return r;
}

static void bench_print_row(const char *op, size_t event_bytes, struct bench_result r)
{
    double eps = (double)r.iterations / r.seconds;
    printf("c %s %zu %.0f %.1f %.1f %llu\n", op, event_bytes, eps, eps * (double)event_bytes / 1e6,
           1e9 / eps, (unsigned long long)(r.checksum_sum / r.iterations));
}

/* ---- main ---- */

/* Loads schemas and data, reads the values, builds and checks the event. */
static int bench_init(struct bench *bench, const char *data_path)
{
    char err[256];
    const uint8_t *buf;
    size_t len;
    memset(bench, 0, sizeof(*bench));
    if (sl_fb_schemas_init(&bench->schemas, err, sizeof(err)) < 0 ||
        sl_fb_schemas_add_embedded(&bench->schemas, err, sizeof(err)) < 0) {
        fprintf(stderr, "fb_bench: schemas: %s\n", err);
        return -EINVAL;
    }
    bench->envelope = bench->schemas.envelope;
    bench_fields_resolve(&bench->fields, &bench->schemas);
    bench->verify_opts = (struct sl_fb_verify_opts){.depth_max = SL_FB_DEPTH_MAX,
                                                    .tables_max = SL_FB_TABLES_MAX,
                                                    .check_nested = true,
                                                    .schemas = &bench->schemas};
    sl_fbb_init(&bench->outer, 1024);
    sl_fbb_init(&bench->inner, 1024);
    sl_fb_json_init(&bench->json, &bench->schemas);
    int rc = bench_read_text(data_path, &bench->json_text, &bench->json_len);
    if (rc < 0) {
        fprintf(stderr, "fb_bench: %s: %s\n", data_path, strerror(-rc));
        return rc;
    }
    if (sl_fb_json_to_fb(&bench->json, bench->envelope, bench->json_text, bench->json_len, false,
                         &buf, &len, err, sizeof(err)) < 0) {
        fprintf(stderr, "fb_bench: %s: %s\n", data_path, err);
        return -EINVAL;
    }
    bench->values_buf = bench_aligned_copy(buf, len);
    if (!bench_verify(bench, bench->values_buf, len)) {
        fprintf(stderr, "fb_bench: the event made from %s does not verify\n", data_path);
        return -EINVAL;
    }
    bench_values_read(&bench->values, &bench->fields, bench->values_buf);
    buf = bench_build_event(bench, &bench->event_len);
    bench->event = bench_aligned_copy(buf, bench->event_len);
    if (bench->outer.failed || !bench_verify(bench, bench->event, bench->event_len)) {
        fprintf(stderr, "fb_bench: the built event does not verify\n");
        return -EINVAL;
    }
    return 0;
}

static void bench_fini(struct bench *bench)
{
    free(bench->event);
    free(bench->values_buf);
    free(bench->json_text);
    sl_fb_json_fini(&bench->json);
    sl_fbb_fini(&bench->inner);
    sl_fbb_fini(&bench->outer);
    sl_fb_schemas_fini(&bench->schemas);
}

static int bench_usage(void)
{
    fprintf(stderr, "usage: fb_bench [--seconds S] [--data FILE.json]\n");
    return 2;
}

int main(int argc, char **argv)
{
    double seconds = 1.0;
    const char *data_path = SL_BENCH_DATA;
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc)
            return bench_usage();
        if (strcmp(argv[i], "--seconds") == 0)
            seconds = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--data") == 0)
            data_path = argv[i + 1];
        else
            return bench_usage();
    }
    if (!(seconds > 0.0))
        return bench_usage();
    static struct bench bench; /* large (two builders): not on the stack */
    if (bench_init(&bench, data_path) < 0)
        return 1; /* partly set up; the process ends here */
    printf("# impl op event_bytes events_per_s MB_per_s ns_per_event checksum\n");
    size_t fb_len = bench.event_len;
    bench_print_row("build", fb_len, bench_run_timed(&bench, bench_op_build, seconds));
    bench_print_row("verify", fb_len, bench_run_timed(&bench, bench_op_verify, seconds));
    bench_print_row("verify_read", fb_len, bench_run_timed(&bench, bench_op_verify_read, seconds));
    bench_print_row("json_to_fb", bench.json_len,
                    bench_run_timed(&bench, bench_op_json_to_fb, seconds));
    bench_print_row("fb_to_json", fb_len, bench_run_timed(&bench, bench_op_fb_to_json, seconds));
    bench_fini(&bench);
    return 0;
}
