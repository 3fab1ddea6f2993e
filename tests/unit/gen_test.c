/* gen_test.c - the order event generator (src/gen/orders_gen.h): the same
 * seed gives the same bytes and another seed other bytes; every buffer
 * passes the verifier with its nested payload; ids are ULIDs, unique, their
 * time matching ts; event time never goes backwards; each order's life
 * starts with order.placed and chains causation ids; keys stay within
 * --keys; order.placed amounts are the sum of their items; a type filter
 * yields exactly the matching subsequence; the JSON line of an event
 * encodes back to the same event; bad options and missing schemas fail. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fb/fb.h"
#include "gen/orders_gen.h"

static int test_failures;
#include "test.h"

#define EVENTS 200000u

static struct sl_fb_schemas schemas;

/* Envelope and OrderPlaced field offsets, resolved by name. */
static struct {
    uint16_t id, type, key, ts, correlation_id, causation_id, payload;
    uint16_t customer_id, amount, items, sku, quantity, unit_price;
    const struct sl_fb_field *quantity_field;
} voff;

static uint16_t field_voff(const struct sl_fb_object *object, const char *name)
{
    const struct sl_fb_field *f = sl_fb_object_field(object, name, strlen(name));
    CHECK_MSG(f != NULL, "%s.%s", object->name, name);
    return f ? f->offset : 0;
}

static void resolve_voffs(void)
{
    const struct sl_fb_object *env = schemas.envelope;
    voff.id = field_voff(env, "id");
    voff.type = field_voff(env, "type");
    voff.key = field_voff(env, "key");
    voff.ts = field_voff(env, "ts");
    voff.correlation_id = field_voff(env, "correlation_id");
    voff.causation_id = field_voff(env, "causation_id");
    voff.payload = field_voff(env, "payload");
    const struct sl_fb_object *placed = sl_fb_schemas_event_object(&schemas, "order.placed", 12);
    const struct sl_fb_object *item = sl_fb_schemas_find_object(&schemas, "sluice.orders.LineItem");
    CHECK(placed && item);
    voff.customer_id = field_voff(placed, "customer_id");
    voff.amount = field_voff(placed, "amount");
    voff.items = field_voff(placed, "items");
    voff.sku = field_voff(item, "sku");
    voff.quantity = field_voff(item, "quantity");
    voff.unit_price = field_voff(item, "unit_price");
    voff.quantity_field = sl_fb_object_field(item, "quantity", 8);
}

/* A string field as (pointer, length); length 0 and NULL when absent. */
static const char *str_field(const uint8_t *table, uint16_t vo, size_t *len)
{
    const uint8_t *p = sl_fb_field_ptr(table, vo);
    if (!p) {
        *len = 0;
        return NULL;
    }
    const uint8_t *s = sl_fb_deref(p);
    *len = sl_fb_u32(s);
    return (const char *)s + 4;
}

static int64_t i64_field(const uint8_t *table, uint16_t vo, int64_t def)
{
    const uint8_t *p = sl_fb_field_ptr(table, vo);
    return p ? (int64_t)sl_fb_u64(p) : def;
}

/* The envelope table of a size-prefixed frame. */
static const uint8_t *frame_root(const uint8_t *frame) { return sl_fb_root(frame + 4); }

static struct sl_gen *gen_new(uint64_t seed, uint32_t keys, uint32_t mask)
{
    struct sl_gen *gen = NULL;
    char err[256] = "";
    struct sl_gen_opts opts = {.seed = seed, .keys = keys, .start_us = SL_GEN_START_US_DEFAULT,
                               .type_mask = mask};
    int rc = sl_gen_create(&gen, &schemas, &opts, err, sizeof(err));
    CHECK_MSG(rc == 0, "%s", err);
    return rc ? NULL : gen;
}

/* FNV-1a over every frame of n events: a fingerprint of the stream. */
static uint64_t stream_hash(uint64_t seed, uint32_t keys, uint32_t n)
{
    struct sl_gen *gen = gen_new(seed, keys, 0);
    if (!gen)
        return 0;
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint32_t i = 0; i < n; i++) {
        struct sl_gen_event ev;
        sl_gen_next(gen, &ev);
        for (size_t k = 0; k < ev.frame_len; k++)
            h = (h ^ ev.frame[k]) * 0x100000001b3ull;
    }
    sl_gen_destroy(gen);
    return h;
}

static void test_determinism(void)
{
    struct sl_gen *a = gen_new(42, 100, 0), *b = gen_new(42, 100, 0);
    if (!a || !b)
        return;
    uint32_t differ = 0;
    for (uint32_t i = 0; i < 20000; i++) {
        struct sl_gen_event ea, eb;
        sl_gen_next(a, &ea);
        sl_gen_next(b, &eb);
        differ += ea.frame_len != eb.frame_len || memcmp(ea.frame, eb.frame, ea.frame_len) != 0 ||
                  ea.seq != i || eb.seq != i;
    }
    CHECK_MSG(differ == 0, "%u of 20000 events differ between two runs of seed 42", differ);
    sl_gen_destroy(a);
    sl_gen_destroy(b);
    CHECK(stream_hash(7, 1000, 5000) == stream_hash(7, 1000, 5000));
    CHECK(stream_hash(7, 1000, 5000) != stream_hash(8, 1000, 5000));
    CHECK(stream_hash(7, 1000, 5000) != stream_hash(7, 999, 5000));
}

/* Per-order state for the life checks, by order number (from the id). */
struct life {
    char last_id[SL_GEN_ID_LEN];
    bool seen, ended;
};

static bool is_ulid(const char *id, size_t len, int64_t ts_us)
{
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    if (len != SL_GEN_ID_LEN)
        return false;
    uint64_t ms = 0;
    for (size_t i = 0; i < len; i++) {
        const char *c = memchr(alphabet, id[i], 32);
        if (!c)
            return false;
        if (i < 10)
            ms = ms * 32 + (uint64_t)(c - alphabet);
    }
    return ms == (uint64_t)ts_us / 1000;
}

/* "order-TAG-<n>" -> n, or 0. */
static uint64_t order_number(const char *s, size_t len)
{
    if (len < 12 || memcmp(s, "order-", 6) != 0 || s[10] != '-')
        return 0;
    uint64_t n = 0;
    for (size_t i = 11; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        n = n * 10 + (uint64_t)(s[i] - '0');
    }
    return n;
}

/* The causation chain of one event against its order's life so far. */
static void check_life(struct life *lives, size_t lives_len, const uint8_t *root,
                       enum sl_gen_type type, uint32_t *bad)
{
    size_t corr_len, cause_len, id_len;
    const char *corr = str_field(root, voff.correlation_id, &corr_len);
    const char *cause = str_field(root, voff.causation_id, &cause_len);
    const char *id = str_field(root, voff.id, &id_len);
    uint64_t n = corr ? order_number(corr, corr_len) : 0;
    if (n == 0 || n >= lives_len) {
        (*bad)++;
        return;
    }
    struct life *life = &lives[n];
    if (!life->seen) {
        *bad += type != SL_GEN_ORDER_PLACED || cause != NULL;
        life->seen = true;
    } else {
        *bad += life->ended || type == SL_GEN_ORDER_PLACED || cause_len != SL_GEN_ID_LEN ||
                memcmp(cause, life->last_id, SL_GEN_ID_LEN) != 0;
    }
    life->ended = type == SL_GEN_ORDER_SHIPPED || type == SL_GEN_ORDER_CANCELLED;
    memcpy(life->last_id, id, SL_GEN_ID_LEN);
}

/* order.placed: amount is the sum of quantity * unit_price; customer = key. */
static bool placed_consistent(const uint8_t *root)
{
    const uint8_t *vec = sl_fb_field_ptr(root, voff.payload);
    const uint8_t *payload = sl_fb_root(sl_fb_vec_data(sl_fb_deref(vec)));
    const uint8_t *items = sl_fb_deref(sl_fb_field_ptr(payload, voff.items));
    int64_t sum = 0;
    for (uint32_t i = 0; i < sl_fb_vec_len(items); i++) {
        const uint8_t *item = sl_fb_deref(sl_fb_vec_data(items) + 4 * i);
        const uint8_t *q = sl_fb_field_ptr(item, voff.quantity);
        uint32_t quantity = q ? sl_fb_u32(q) : (uint32_t)voff.quantity_field->default_integer;
        sum += quantity * i64_field(item, voff.unit_price, 0);
    }
    size_t key_len, cust_len;
    const char *key = str_field(root, voff.key, &key_len);
    const char *cust = str_field(payload, voff.customer_id, &cust_len);
    return sl_fb_vec_len(items) >= 1 && sl_fb_vec_len(items) <= 5 &&
           sum == i64_field(payload, voff.amount, 0) && key && cust && key_len == cust_len &&
           memcmp(key, cust, key_len) == 0;
}

/* Position of the payload's bytes relative to the frame's start. */
static size_t payload_offset(const uint8_t *frame)
{
    const uint8_t *vec = sl_fb_deref(sl_fb_field_ptr(frame_root(frame), voff.payload));
    return (size_t)(sl_fb_vec_data(vec) - frame);
}

struct stream_stats {
    uint32_t unverified, misaligned, bad_ids, backwards, bad_lives, bad_placed;
    uint32_t type_counts[SL_GEN_TYPE_COUNT];
};

static void check_event(const struct sl_gen_event *ev, struct life *lives, size_t lives_len,
                        int64_t *last_ts, struct stream_stats *st)
{
    struct sl_fb_verify_opts opts = {.check_nested = true, .schemas = &schemas};
    char err[256];
    if (sl_fb_verify(ev->frame, ev->frame_len, true, schemas.envelope, &opts, err,
                     sizeof(err))) {
        if (st->unverified++ == 0)
            fprintf(stderr, "event %llu: %s\n", (unsigned long long)ev->seq, err);
        return;
    }
    st->misaligned += payload_offset(ev->frame) % 8 != 0;
    const uint8_t *root = frame_root(ev->frame);
    size_t len, type_len;
    const char *id = str_field(root, voff.id, &len);
    int64_t ts = i64_field(root, voff.ts, 0);
    st->bad_ids += !id || !is_ulid(id, len, ts) || ts != ev->ts_us;
    st->backwards += ts < *last_ts;
    *last_ts = ts;
    const char *type = str_field(root, voff.type, &type_len);
    st->bad_lives += !type || sl_gen_type_parse(type, type_len) != (int)ev->type;
    check_life(lives, lives_len, root, ev->type, &st->bad_lives);
    if (ev->type == SL_GEN_ORDER_PLACED)
        st->bad_placed += !placed_consistent(root);
    st->type_counts[ev->type]++;
}

static void test_stream(void)
{
    struct sl_gen *gen = gen_new(1, 1000, 0);
    if (!gen)
        return;
    size_t lives_len = EVENTS + 1; /* at most one order per event */
    struct life *lives = calloc(lives_len, sizeof(*lives));
    struct stream_stats st = {0};
    int64_t last_ts = 0;
    for (uint32_t i = 0; i < EVENTS; i++) {
        struct sl_gen_event ev;
        sl_gen_next(gen, &ev);
        check_event(&ev, lives, lives_len, &last_ts, &st);
    }
    CHECK_MSG(st.unverified == 0, "%u buffers fail verification", st.unverified);
    CHECK_MSG(st.misaligned == 0, "%u payloads not 8-aligned in their frame", st.misaligned);
    CHECK_MSG(st.bad_ids == 0, "%u ids are not ULIDs of their ts", st.bad_ids);
    CHECK_MSG(st.backwards == 0, "event time went backwards %u times", st.backwards);
    CHECK_MSG(st.bad_lives == 0, "%u events break their order's causation chain", st.bad_lives);
    CHECK_MSG(st.bad_placed == 0, "%u order.placed events with a wrong amount or customer",
              st.bad_placed);
    for (int t = 0; t < SL_GEN_TYPE_COUNT; t++)
        CHECK_MSG(st.type_counts[t] > 0, "no %s in %u events", sl_gen_type_name(t), EVENTS);
    /* realistic proportions: most orders pay and ship */
    CHECK(st.type_counts[SL_GEN_ORDER_PAID] > st.type_counts[SL_GEN_ORDER_PLACED] * 8 / 10);
    CHECK(st.type_counts[SL_GEN_ORDER_CANCELLED] < st.type_counts[SL_GEN_ORDER_PLACED] / 5);
    free(lives);
    sl_gen_destroy(gen);
}

/* Unique ids: sort 50000 of them and look for neighbours that are equal. */
static int id_cmp(const void *a, const void *b) { return memcmp(a, b, SL_GEN_ID_LEN); }

static void test_unique_ids(void)
{
    struct sl_gen *gen = gen_new(3, 10, 0);
    if (!gen)
        return;
    enum { N = 50000 };
    char (*ids)[SL_GEN_ID_LEN] = malloc(N * sizeof(*ids));
    for (int i = 0; i < N; i++) {
        struct sl_gen_event ev;
        sl_gen_next(gen, &ev);
        size_t len;
        const char *id = str_field(frame_root(ev.frame), voff.id, &len);
        memcpy(ids[i], id, SL_GEN_ID_LEN);
    }
    qsort(ids, N, sizeof(*ids), id_cmp);
    int dups = 0;
    for (int i = 1; i < N; i++)
        dups += memcmp(ids[i - 1], ids[i], SL_GEN_ID_LEN) == 0;
    CHECK_MSG(dups == 0, "%d duplicate ids", dups);
    free(ids);
    sl_gen_destroy(gen);
}

static void test_keys(uint32_t keys, uint32_t events)
{
    struct sl_gen *gen = gen_new(5, keys, 0);
    if (!gen)
        return;
    bool *seen = calloc(keys, 1);
    uint32_t distinct = 0, bad = 0;
    for (uint32_t i = 0; i < events; i++) {
        struct sl_gen_event ev;
        sl_gen_next(gen, &ev);
        size_t len;
        const char *key = str_field(frame_root(ev.frame), voff.key, &len);
        char want[32];
        int n = snprintf(want, sizeof(want), "customer-%u", ev.key_index + 1);
        bad += ev.key_index >= keys || !key || len != (size_t)n || memcmp(key, want, len) != 0;
        if (ev.key_index < keys && !seen[ev.key_index]) {
            seen[ev.key_index] = true;
            distinct++;
        }
    }
    CHECK_MSG(bad == 0, "keys=%u: %u events with a key outside customer-1..%u or not their "
                        "key_index", keys, bad, keys);
    CHECK_MSG(distinct == keys, "keys=%u: %u distinct keys in %u events", keys, distinct,
              events);
    free(seen);
    sl_gen_destroy(gen);
}

/* A filtered stream is the unfiltered one with the other types left out. */
static void test_filter(void)
{
    uint32_t mask = 1u << SL_GEN_PAYMENT_CHARGE | 1u << SL_GEN_PAYMENT_CHARGE_FAILED |
                    1u << SL_GEN_ORDER_CANCELLED;
    struct sl_gen *all = gen_new(9, 50, 0), *some = gen_new(9, 50, mask);
    if (!all || !some)
        return;
    uint32_t matched = 0, wrong = 0;
    uint8_t *want = malloc(1 << 16);
    for (uint32_t i = 0; i < 5000; i++) {
        struct sl_gen_event ev;
        sl_gen_next(some, &ev);
        wrong += !(mask & (1u << ev.type));
        memcpy(want, ev.frame, ev.frame_len);
        struct sl_gen_event full;
        do
            sl_gen_next(all, &full);
        while (!(mask & (1u << full.type)));
        matched += full.seq == ev.seq && full.frame_len == ev.frame_len &&
                   memcmp(full.frame, want, ev.frame_len) == 0;
    }
    CHECK_MSG(wrong == 0, "%u events of unselected types", wrong);
    CHECK_MSG(matched == 5000, "%u of 5000 filtered events match the full stream", matched);
    free(want);
    sl_gen_destroy(all);
    sl_gen_destroy(some);
}

/* JSON line -> FlatBuffer -> JSON line gives the same line. */
static void test_json_roundtrip(void)
{
    struct sl_gen *gen = gen_new(11, 100, 0);
    if (!gen)
        return;
    struct sl_fb_json enc, dec;
    sl_fb_json_init(&enc, &schemas);
    sl_fb_json_init(&dec, &schemas);
    struct sl_fb_verify_opts opts = {.check_nested = true, .schemas = &schemas};
    uint32_t mismatched = 0;
    char *line = malloc(1 << 16);
    for (uint32_t i = 0; i < 20000; i++) {
        struct sl_gen_event ev;
        sl_gen_next(gen, &ev);
        const char *out;
        size_t out_len, len = 0;
        char err[256] = "";
        int rc = sl_fb_to_json(&dec, schemas.envelope, ev.frame + 4, ev.frame_len - 4, &out,
                               &out_len, err, sizeof(err));
        memcpy(line, out, out_len);
        const uint8_t *buf;
        if (!rc)
            rc = sl_fb_json_to_fb(&enc, schemas.envelope, line, out_len, true, &buf, &len, err,
                                  sizeof(err));
        uint8_t *copy = NULL;
        if (!rc) {
            copy = aligned_alloc(8, (len + 7) & ~(size_t)7);
            memcpy(copy, buf, len);
            rc = sl_fb_verify(copy, len, true, schemas.envelope, &opts, err, sizeof(err));
        }
        if (!rc)
            rc = sl_fb_to_json(&dec, schemas.envelope, copy + 4, len - 4, &out, &len, err,
                               sizeof(err));
        if (rc || len != out_len || memcmp(out, line, len) != 0) {
            if (mismatched++ == 0)
                fprintf(stderr, "event %u: %s\n  first:  %.*s\n  second: %.*s\n", i, err,
                        (int)out_len, line, (int)len, rc ? "" : out);
        }
        free(copy);
    }
    CHECK_MSG(mismatched == 0, "%u of 20000 JSON lines do not round-trip", mismatched);
    free(line);
    sl_fb_json_fini(&enc);
    sl_fb_json_fini(&dec);
    sl_gen_destroy(gen);
}

static void test_errors(void)
{
    struct sl_gen *gen = NULL;
    char err[256] = "";
    struct sl_gen_opts opts = {.seed = 1, .keys = 0};
    CHECK(sl_gen_create(&gen, &schemas, &opts, err, sizeof(err)) == -EINVAL && !gen);
    CHECK(strstr(err, "keys") != NULL);
    opts = (struct sl_gen_opts){.seed = 1, .keys = 1, .type_mask = 1u << SL_GEN_TYPE_COUNT};
    CHECK(sl_gen_create(&gen, &schemas, &opts, err, sizeof(err)) == -EINVAL && !gen);
    /* the envelope alone: no table declares the order event types */
    struct sl_fb_schemas bare;
    CHECK(sl_fb_schemas_init(&bare, err, sizeof(err)) == 0);
    opts = (struct sl_gen_opts){.seed = 1, .keys = 1};
    CHECK(sl_gen_create(&gen, &bare, &opts, err, sizeof(err)) == -EINVAL && !gen);
    CHECK_MSG(strstr(err, "order.placed") != NULL, "%s", err);
    sl_fb_schemas_fini(&bare);
    CHECK(sl_gen_type_parse("payment.charge_failed", 21) == SL_GEN_PAYMENT_CHARGE_FAILED);
    CHECK(sl_gen_type_parse("payment.charge", 14) == SL_GEN_PAYMENT_CHARGE);
    CHECK(sl_gen_type_parse("payment.charg", 13) == -1);
}

int main(void)
{
    char err[256];
    if (sl_fb_schemas_init(&schemas, err, sizeof(err)) ||
        sl_fb_schemas_add(&schemas, "orders", err, sizeof(err))) {
        fprintf(stderr, "gen_test: schemas: %s\n", err);
        return 1;
    }
    resolve_voffs();
    test_determinism();
    test_stream();
    test_unique_ids();
    test_keys(1, 1000);
    test_keys(7, 5000);
    test_keys(1000, 150000); /* ~16000 orders: every key drawn at least once */
    test_filter();
    test_json_roundtrip();
    test_errors();
    sl_fb_schemas_fini(&schemas);
    return test_exit("gen_test");
}
