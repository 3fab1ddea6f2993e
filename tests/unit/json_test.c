/* json_test.c - JSON <-> FlatBuffers through the schema: round trips, exact
 * numbers at every width's limits, floats, unicode, enum names and bit
 * flags, defaults and force_defaults, and errors with their columns. */
#include <stdlib.h>
#include <string.h>

#include "fb/fb.h"

static int test_failures;
#include "test.h"

static struct sl_fb_schemas schemas;
static struct sl_fb_json json;

/* Encodes in, verifies the buffer, decodes it; compares with want (NULL: in). */
static void roundtrip(const char *type, const char *in, const char *want)
{
    const struct sl_fb_object *object = sl_fb_schemas_find_object(&schemas, type);
    CHECK(object != NULL);
    const uint8_t *buf;
    size_t len;
    char err[256] = "";
    int rc = sl_fb_json_to_fb(&json, object, in, strlen(in), false, &buf, &len, err, sizeof(err));
    CHECK_MSG(rc == 0, "%s: %s", in, err);
    if (rc)
        return;
    /* copy out: the verifier and decoder must not depend on builder memory */
    uint8_t *copy = aligned_alloc(8, (len + 7) & ~(size_t)7);
    memcpy(copy, buf, len);
    struct sl_fb_verify_opts opts = {.check_nested = true, .schemas = &schemas};
    rc = sl_fb_verify(copy, len, false, object, &opts, err, sizeof(err));
    CHECK_MSG(rc == 0, "verify %s: %s", in, err);
    const char *out;
    size_t out_len;
    if (!rc) {
        rc = sl_fb_to_json(&json, object, copy, len, &out, &out_len, err, sizeof(err));
        CHECK_MSG(rc == 0, "decode %s: %s", in, err);
        want = want ? want : in;
        CHECK_MSG(!rc && out_len == strlen(want) && memcmp(out, want, out_len) == 0,
                  "\n  in:   %s\n  want: %s\n  got:  %.*s", in, want, (int)out_len, out);
    }
    free(copy);
}

static void rejects(const char *type, const char *in, const char *want_err)
{
    const struct sl_fb_object *object = sl_fb_schemas_find_object(&schemas, type);
    const uint8_t *buf;
    size_t len;
    char err[256] = "";
    int rc = sl_fb_json_to_fb(&json, object, in, strlen(in), false, &buf, &len, err, sizeof(err));
    CHECK_MSG(rc != 0 && strcmp(err, want_err) == 0, "%s\n  want error: %s\n  got (%d):   %s", in,
              want_err, rc, err);
}

static void test_integers(void)
{
    roundtrip("Scalars", "{\"i8\":-128,\"u8\":255,\"i16\":-32768,\"u16\":65535,"
                         "\"i32\":-2147483648,\"u32\":4294967295,\"i64\":-9223372036854775808,"
                         "\"u64\":18446744073709551615}", NULL);
    roundtrip("Scalars", "{\"i8\":127,\"i16\":32767,\"i32\":2147483647,\"i64\":9223372036854775807}",
              NULL);
    rejects("Scalars", "{\"i8\":128}", "col 7: 128 is out of range for byte");
    rejects("Scalars", "{\"u8\":-1}", "col 7: -1 is out of range for ubyte");
    rejects("Scalars", "{\"i64\":9223372036854775808}",
            "col 8: 9223372036854775808 is out of range for long");
    rejects("Scalars", "{\"u64\":18446744073709551616}",
            "col 8: integer out of range: 18446744073709551616");
    rejects("Scalars", "{\"i32\":1.5}", "col 8: expected an integer, got 1.5");
    rejects("Scalars", "{\"b\":2}", "col 6: 2 is out of range for bool");
    roundtrip("Scalars", "{\"b\":true}", NULL);
    roundtrip("Scalars", "{\"b\":1}", "{\"b\":true}");
}

static void test_floats(void)
{
    roundtrip("Scalars", "{\"f32\":0.1,\"f64\":0.1}", NULL);
    roundtrip("Scalars", "{\"f32\":3.4028235e+38,\"f64\":1.7976931348623157e+308}", NULL);
    roundtrip("Scalars", "{\"f64\":5e-324}", "{\"f64\":4.94065645841247e-324}");
    roundtrip("Scalars", "{\"f64\":-0}", NULL);
    roundtrip("Scalars", "{\"f64\":1e-30}", NULL);
    roundtrip("Scalars", "{\"f64\":123456789012345680}", "{\"f64\":1.2345678901234568e+17}");
    roundtrip("Scalars", "{\"f32\":\"nan\",\"f64\":\"-inf\"}", NULL);
    rejects("Scalars", "{\"f32\":1e39}", "col 8: 1e39 is out of range for float");
    rejects("Scalars", "{\"f64\":01}", "col 8: leading zero in number");
    rejects("Scalars", "{\"f64\":1.}", "col 10: digit expected after decimal point");
}

static void test_enums_and_defaults(void)
{
    roundtrip("Scalars", "{\"color\":\"red\"}", NULL);
    roundtrip("Scalars", "{\"color\":-1}", "{\"color\":\"red\"}");
    roundtrip("Scalars", "{\"color\":\"blue\"}", "{}"); /* the default: not written */
    roundtrip("Scalars", "{\"color\":3}", "{\"color\":3}"); /* no name: its number */
    roundtrip("Scalars", "{\"perm\":\"read exec\"}", NULL);
    roundtrip("Scalars", "{\"perm\":3}", "{\"perm\":\"read write\"}");
    roundtrip("Scalars", "{\"answer\":42,\"maybe\":0}", "{\"maybe\":0}"); /* optional: kept */
    roundtrip("Scalars", "{\"s\":null,\"maybe\":null}", "{}");
    rejects("Scalars", "{\"color\":\"mauve\"}",
            "col 11: \"mauve\" is not a value of enum sluice.test.Color");
    rejects("Scalars", "{\"color\":\"red blue\"}", "col 11: enum sluice.test.Color takes one name");
    json.force_defaults = true;
    roundtrip("Scalars", "{\"color\":\"blue\",\"answer\":42}", "{\"color\":\"blue\",\"answer\":42}");
    json.force_defaults = false;
}

static void test_strings(void)
{
    roundtrip("Scalars", "{\"s\":\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\\\ \\/ \\b\\f\\n\\r\\t \\u0001\"}",
              "{\"s\":\"café 😀 \\\"q\\\" \\\\ / \\b\\f\\n\\r\\t \\u0001\"}");
    roundtrip("Scalars", "{\"s\":\"nul\\u0000inside\"}", NULL);
    roundtrip("Scalars", "{\"s\":\"\"}", NULL);
    rejects("Scalars", "{\"s\":\"\xff\"}", "col 7: invalid UTF-8 in string");
    rejects("Scalars", "{\"s\":\"\xc0\x80\"}", "col 7: invalid UTF-8 in string"); /* overlong */
    rejects("Scalars", "{\"s\":\"\\ud800\"}", "col 7: high surrogate not followed by a low surrogate");
    rejects("Scalars", "{\"s\":\"\\udc00\"}", "col 7: lone low surrogate in \\u escape");
    rejects("Scalars", "{\"s\":\"a\nb\"}", "col 8: control character in string (escape it)");
    rejects("Scalars", "{\"s\":\"abc", "col 6: unterminated string");
}

static void test_structure_errors(void)
{
    rejects("Scalars", "{\"nope\":1}", "col 3: unknown field \"nope\" in table sluice.test.Scalars");
    rejects("Scalars", "{\"i8\":1,\"i8\":2}", "col 10: duplicate field \"i8\"");
    rejects("Scalars", "{\"i8\":1,}", "col 9: expected a string key");
    rejects("Scalars", "[1]", "col 1: expected an object for table sluice.test.Scalars");
    rejects("Scalars", "{} x", "col 4: unexpected characters after the JSON value");
    rejects("Scalars", "", "col 1: unexpected end of input (expected a JSON value)");
    rejects("OrderPlaced", "{\"amount\":1}",
            "col 1: sluice.orders.OrderPlaced: missing required field \"order_id\"");
    rejects("Event", "{\"type\":\"no.such\",\"payload\":{}}",
            "col 10: unknown event type \"no.such\" (no loaded schema declares it)");
    rejects("Event", "{\"payload\":{\"order_id\":\"o\"}}",
            "col 12: payload given as an object needs a \"type\" string");
    rejects("Event", "{\"type\":\"order.placed\",\"payload\":{\"order_id\":\"o\",\"region\":\"mars\"}}",
            "col 60: \"mars\" is not a value of enum sluice.orders.Region");
    char deep[400] = "";
    for (int i = 0; i < 130; i++)
        strcat(deep, "[");
    rejects("Scalars", deep, "col 129: nesting too deep");
}

static void test_envelope(void)
{
    /* the payload in the envelope, a struct, vectors of tables and strings */
    roundtrip("Event", "{\"id\":\"e1\",\"type\":\"payment.charge\",\"key\":\"c-1\",\"ts\":-5,"
                       "\"headers\":[{\"key\":\"a\",\"value\":\"b\"},{\"key\":\"c\"}],"
                       "\"payload\":{\"order_id\":\"o-1\",\"total\":{\"units\":-100,"
                       "\"currency\":\"GBP\"},\"attempt\":3}}", NULL);
    roundtrip("Event", "{\"type\":\"order.placed\",\"payload\":{\"order_id\":\"o\",\"items\":"
                       "[{\"sku\":\"a\"},{\"sku\":\"b\",\"quantity\":7}],\"tags\":[\"x\",\"\"]}}",
              NULL);
    roundtrip("Event", "{\"type\":\"order.placed\",\"payload\":[]}", NULL);
    /* a payload given as bytes must be a valid buffer of its type's table */
    rejects("Event", "{\"type\":\"order.placed\",\"payload\":[1,0,0,0]}",
            "col 34: payload bytes are not a valid sluice.orders.OrderPlaced buffer: offset 1: "
            "table not 4-aligned");
    rejects("Event", "{\"type\":\"payment.charge\",\"payload\":{\"order_id\":\"o\",\"total\":"
                     "{\"units\":1}}}", "col 60: struct sluice.orders.Money needs all of its 2 fields");
}

/* Identical tables share one vtable; the buffer stays verifiable. */
static void test_builder_dedupe(void)
{
    const struct sl_fb_object *object = sl_fb_schemas_find_object(&schemas, "OrderPlaced");
    const char *one = "{\"order_id\":\"o\",\"items\":[{\"sku\":\"a\",\"quantity\":2}]}";
    const char *many = "{\"order_id\":\"o\",\"items\":[{\"sku\":\"a\",\"quantity\":2},"
                       "{\"sku\":\"b\",\"quantity\":3},{\"sku\":\"c\",\"quantity\":4}]}";
    const uint8_t *buf;
    size_t len1, len3;
    char err[256];
    CHECK(sl_fb_json_to_fb(&json, object, one, strlen(one), false, &buf, &len1, err, 256) == 0);
    CHECK(sl_fb_json_to_fb(&json, object, many, strlen(many), false, &buf, &len3, err, 256) == 0);
    /* each extra item: table (4 soffset + 4 sku + 4 quantity) + string (8) + offset (4); no vtable */
    CHECK_MSG(len3 - len1 == 2 * 24, "one item %zu bytes, three %zu", len1, len3);
    /* size-prefixed: prefix equals the rest, and the total is 8-aligned */
    CHECK(sl_fb_json_to_fb(&json, object, many, strlen(many), true, &buf, &len3, err, 256) == 0);
    CHECK(sl_fb_u32(buf) == len3 - 4);
}

/* fb <-> raw conversions keep every 8-byte field aligned and the content. */
static void test_framing_conversions(void)
{
    const char *in = "{\"id\":\"e\",\"type\":\"payment.charge\",\"ts\":7,\"payload\":"
                     "{\"order_id\":\"o\",\"total\":{\"units\":5,\"currency\":\"USD\"}}}";
    const struct sl_fb_object *event = schemas.envelope;
    struct sl_fb_verify_opts opts = {.check_nested = true, .schemas = &schemas};
    const uint8_t *buf;
    size_t len;
    char err[256];
    CHECK(sl_fb_json_to_fb(&json, event, in, strlen(in), true, &buf, &len, err, 256) == 0);
    uint8_t *prefixed = aligned_alloc(8, 4096), *raw = aligned_alloc(8, 4096);
    uint8_t *again = aligned_alloc(8, 4096);
    memcpy(prefixed, buf, len);
    /* the naive way, dropping the prefix, breaks the alignment of ts */
    memcpy(raw, prefixed + 4, len - 4);
    CHECK(sl_fb_verify(raw, len - 4, false, event, &opts, err, 256) != 0);
    size_t raw_len = sl_fb_prefixed_to_raw(raw, prefixed, len);
    CHECK_MSG(sl_fb_verify(raw, raw_len, false, event, &opts, err, 256) == 0, "%s", err);
    /* in place (the kafka sink's values): the same bytes */
    memcpy(again, prefixed, len);
    CHECK(sl_fb_prefixed_to_raw(again, again, len) == raw_len);
    CHECK(memcmp(again, raw, raw_len) == 0);
    size_t again_len = sl_fb_raw_to_prefixed(again, raw, raw_len);
    CHECK(again_len == raw_len + 8 && sl_fb_u32(again) == again_len - 4);
    CHECK_MSG(sl_fb_verify(again, again_len, true, event, &opts, err, 256) == 0, "%s", err);
    /* a raw value at any address (the kafka source verifies librdkafka's
     * buffer in place): alignment is relative to the start, reads memcpy */
    uint8_t *shifted = aligned_alloc(8, 4096), *moved = aligned_alloc(8, 4096);
    for (size_t shift = 1; shift < 8; shift++) {
        memcpy(shifted + shift, raw, raw_len);
        CHECK_MSG(sl_fb_verify(shifted + shift, raw_len, false, event, &opts, err, 256) == 0,
                  "shift %zu: %s", shift, err);
        CHECK(sl_fb_raw_to_prefixed(moved, shifted + shift, raw_len) == again_len);
        CHECK(memcmp(moved, again, again_len) == 0);
    }
    /* ... and a misaligned field stays an error there */
    memcpy(shifted + 3, prefixed + 4, len - 4);
    CHECK(sl_fb_verify(shifted + 3, len - 4, false, event, &opts, err, 256) != 0);
    free(shifted);
    free(moved);
    const char *out;
    size_t out_len;
    CHECK(sl_fb_to_json(&json, event, raw, raw_len, &out, &out_len, err, 256) == 0);
    CHECK(out_len == strlen(in) && memcmp(out, in, out_len) == 0);
    CHECK(sl_fb_to_json(&json, event, again + 4, again_len - 4, &out, &out_len, err, 256) == 0);
    CHECK(out_len == strlen(in) && memcmp(out, in, out_len) == 0);
    free(prefixed);
    free(raw);
    free(again);
}

int main(int argc, char **argv)
{
    char err[256];
    if (argc < 2) {
        fprintf(stderr, "usage: json_test JSON_SCALARS.bfbs\n");
        return 1;
    }
    if (sl_fb_schemas_init(&schemas, err, sizeof(err)) ||
        sl_fb_schemas_add_embedded(&schemas, err, sizeof(err)) ||
        sl_fb_schemas_add(&schemas, argv[1], err, sizeof(err))) {
        fprintf(stderr, "schemas: %s\n", err);
        return 1;
    }
    sl_fb_json_init(&json, &schemas);
    test_integers();
    test_floats();
    test_enums_and_defaults();
    test_strings();
    test_structure_errors();
    test_envelope();
    test_builder_dedupe();
    test_framing_conversions();
    sl_fb_json_fini(&json);
    sl_fb_schemas_fini(&schemas);
    return test_exit("json_test");
}
