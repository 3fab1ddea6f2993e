/* expr_test.c - the expression language (src/expr): literals and types,
 * precedence, every operator, absent fields and three-valued logic, enum
 * names, globs, header lookup, payload paths across event types, both
 * evaluation entry points, and compile errors with their exact line:col. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "expr/expr.h"
#include "fb/fb.h"
#include "sl/event.h"

static int test_failures;
#include "test.h"

static struct sl_fb_schemas schemas;
static struct sl_fb_json json;

#define ABSENT SL_EXPR_ABSENT

/* A verified event, as the engine holds it. */
struct ev {
    uint8_t *buf;   /* unprefixed, 8-aligned */
    size_t len;
    struct sl_event event;
};

static struct ev E1, E2, E3, E4, E5, E6;

static void make_event(struct ev *ev, const char *text)
{
    const uint8_t *out;
    size_t len;
    char err[256] = "";
    int rc = sl_fb_json_to_fb(&json, schemas.envelope, text, strlen(text), false, &out, &len,
                              err, sizeof(err));
    CHECK_MSG(rc == 0, "%s: %s", text, err);
    if (rc)
        exit(1);
    ev->buf = aligned_alloc(8, (len + 7) & ~(size_t)7);
    memcpy(ev->buf, out, len);
    ev->len = len;
    struct sl_fb_verify_opts opts = {.check_nested = true, .schemas = &schemas};
    rc = sl_fb_verify(ev->buf, len, false, schemas.envelope, &opts, err, sizeof(err));
    CHECK_MSG(rc == 0, "verify %s: %s", text, err);
    /* what a worker locates once per event */
    const uint8_t *env = sl_fb_root(ev->buf);
    ev->event = (struct sl_event){.buf = ev->buf, .len = (uint32_t)len, .envelope = env};
    const struct sl_fb_field *type = sl_fb_object_field(schemas.envelope, "type", 4);
    const struct sl_fb_field *payload = sl_fb_object_field(schemas.envelope, "payload", 7);
    const uint8_t *t = sl_fb_field_ptr(env, type->offset);
    const uint8_t *p = sl_fb_field_ptr(env, payload->offset);
    if (t && p && sl_fb_vec_len(sl_fb_deref(p))) {
        const uint8_t *s = sl_fb_deref(t);
        ev->event.payload_object = sl_fb_schemas_event_object(
            &schemas, (const char *)sl_fb_vec_data(s), sl_fb_vec_len(s));
        if (ev->event.payload_object)
            ev->event.payload = sl_fb_root(sl_fb_vec_data(sl_fb_deref(p)));
    }
}

static struct sl_expr *compile_ok(const char *src)
{
    struct sl_expr *expr = NULL;
    struct sl_expr_diag diags[8];
    size_t count = 0;
    int rc = sl_expr_compile(src, strlen(src), &schemas, &expr, diags, 8, &count);
    CHECK_MSG(rc == 0 && expr, "compile %s: %u:%u: %s", src, count ? diags[0].line : 0,
              count ? diags[0].col : 0, count ? diags[0].message : "?");
    return rc == 0 ? expr : NULL;
}

/* Evaluates through both entry points, which must agree. */
static int eval_both(const struct sl_expr *expr, const struct ev *ev, struct sl_expr_value *v)
{
    struct sl_expr_value w;
    int rc = sl_expr_eval(expr, ev->buf, v);
    int rc2 = sl_expr_eval_event(expr, &ev->event, &w);
    CHECK(rc == rc2 && v->absent == w.absent && v->type == w.type);
    if (rc == 0 && rc2 == 0 && v->type == SL_EXPR_STRING)
        CHECK(v->s.len == w.s.len && v->s.ptr == w.s.ptr);
    else if (rc == 0 && rc2 == 0)
        CHECK(memcmp(&v->i, &w.i, sizeof(v->i)) == 0 || v->b == w.b);
    CHECK(rc == 0 || rc == ABSENT);
    CHECK((rc == ABSENT) == v->absent);
    return rc;
}

/* want: 1, 0 or ABSENT */
static void expect_bool(const char *src, const struct ev *ev, int want)
{
    struct sl_expr *expr = compile_ok(src);
    if (!expr)
        return;
    CHECK_MSG(sl_expr_result_type(expr) == SL_EXPR_BOOL, "%s: not bool", src);
    struct sl_expr_value v;
    eval_both(expr, ev, &v);
    int got = sl_expr_eval_bool(expr, ev->buf);
    CHECK_MSG(got == want, "%s: want %d, got %d", src, want, got);
    CHECK_MSG(sl_expr_eval_event_bool(expr, &ev->event) == want, "%s (sl_event)", src);
    sl_expr_destroy(expr);
}

static void expect_int(const char *src, const struct ev *ev, int64_t want)
{
    struct sl_expr *expr = compile_ok(src);
    if (!expr)
        return;
    struct sl_expr_value v;
    int rc = eval_both(expr, ev, &v);
    CHECK_MSG(rc == 0 && v.type == SL_EXPR_INT && v.i == want, "%s: want %lld, got rc %d %lld",
              src, (long long)want, rc, (long long)v.i);
    sl_expr_destroy(expr);
}

static void expect_float(const char *src, const struct ev *ev, double want)
{
    struct sl_expr *expr = compile_ok(src);
    if (!expr)
        return;
    struct sl_expr_value v;
    int rc = eval_both(expr, ev, &v);
    CHECK_MSG(rc == 0 && v.type == SL_EXPR_FLOAT && v.f == want, "%s: want %g, got %g", src,
              want, v.f);
    sl_expr_destroy(expr);
}

static void expect_string(const char *src, const struct ev *ev, const char *want)
{
    struct sl_expr *expr = compile_ok(src);
    if (!expr)
        return;
    struct sl_expr_value v;
    int rc = eval_both(expr, ev, &v);
    CHECK_MSG(rc == 0 && v.type == SL_EXPR_STRING && v.s.len == strlen(want) &&
                  memcmp(v.s.ptr, want, v.s.len) == 0,
              "%s: want \"%s\", got \"%.*s\"", src, want, (int)v.s.len, v.s.ptr);
    sl_expr_destroy(expr);
}

static void expect_absent(const char *src, const struct ev *ev)
{
    struct sl_expr *expr = compile_ok(src);
    if (!expr)
        return;
    struct sl_expr_value v;
    CHECK_MSG(eval_both(expr, ev, &v) == ABSENT && v.absent, "%s: not absent", src);
    CHECK(v.type == sl_expr_result_type(expr));
    sl_expr_destroy(expr);
}

/* The diagnostics as "L:C: message" lines joined by '\n'. */
static void diag_text(const struct sl_expr_diag *diags, size_t count, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < count && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%u:%u: %s", i ? "\n" : "", diags[i].line,
                              diags[i].col, diags[i].message);
}

/* Compiling src fails with exactly the diagnostics want; hint, if not
 * NULL, is the first one's hint. */
static void expect_errors(const char *src, const char *want, const char *hint)
{
    struct sl_expr *expr = (struct sl_expr *)1;
    struct sl_expr_diag diags[8];
    size_t count = 0;
    int rc = sl_expr_compile(src, strlen(src), &schemas, &expr, diags, 8, &count);
    char got[2048];
    diag_text(diags, count, got, sizeof(got));
    CHECK_MSG(rc == -EINVAL && expr == NULL, "%s: compiled", src);
    CHECK_MSG(strcmp(got, want) == 0, "%s\n  want: %s\n  got:  %s", src, want, got);
    if (hint && count)
        CHECK_MSG(strcmp(diags[0].hint, hint) == 0, "%s\n  want hint: %s\n  got hint:  %s", src,
                  hint, diags[0].hint);
}

static void test_literals_and_types(void)
{
    expect_int("1 + 2 * 3", &E1, 7);
    expect_int("(1 + 2) * 3", &E1, 9);
    expect_int("7 / 2", &E1, 3);
    expect_int("-7 / 2", &E1, -3);
    expect_int("7 % 3", &E1, 1);
    expect_int("-7 % 3", &E1, -1);
    expect_int("0x10 + 0XfF", &E1, 271);
    expect_int("-9223372036854775808", &E1, INT64_MIN);
    expect_int("9223372036854775807 + 1", &E1, INT64_MIN);  /* wraps */
    expect_int("-9223372036854775808 / -1", &E1, INT64_MIN);
    expect_int("-9223372036854775808 % -1", &E1, 0);
    expect_int("-(2 + 3)", &E1, -5);
    expect_int("2 * -3", &E1, -6);
    expect_int("- -4", &E1, 4);
    expect_float("7.0 / 2", &E1, 3.5);
    expect_float("1 + 0.5", &E1, 1.5);
    expect_float("1.5e2 * 2", &E1, 300.0);
    expect_float("7.5 % 2", &E1, 1.5);
    expect_float("-2.5", &E1, -2.5);
    expect_string("\"a\\\"b\\\\c\\n\"", &E1, "a\"b\\c\n");
    expect_string("'single \"quoted\"'", &E1, "single \"quoted\"");
    expect_string("\"\\u00e9\\ud83d\\ude00\"", &E1, "\xc3\xa9\xf0\x9f\x98\x80");
    expect_bool("true", &E1, 1);
    expect_bool("false", &E1, 0);
    expect_bool("1e3 == 1000", &E1, 1);
    expect_bool("2 > 1.5", &E1, 1);
    expect_bool("1 == 1.0", &E1, 1);
    expect_bool("0.1 + 0.2 != 0.3", &E1, 1);
    expect_int("len(\"h\xc3\xa9llo\")", &E1, 6); /* bytes */

    struct sl_expr *expr = compile_ok("payload.amount * 1.0");
    CHECK(expr && sl_expr_result_type(expr) == SL_EXPR_FLOAT && sl_expr_uses_payload(expr));
    sl_expr_destroy(expr);
    expr = compile_ok("key");
    CHECK(expr && sl_expr_result_type(expr) == SL_EXPR_STRING && !sl_expr_uses_payload(expr));
    sl_expr_destroy(expr);
    CHECK(strcmp(sl_expr_type_name(SL_EXPR_FLOAT), "float") == 0);
}

static void test_precedence(void)
{
    expect_int("1 + 2 * 3 - 4 / 2", &E1, 5);
    expect_int("10 - 2 - 3", &E1, 5);      /* left-associative */
    expect_int("100 / 10 / 5", &E1, 2);
    expect_int("2 * 3 % 4", &E1, 2);
    expect_bool("true || false && false", &E1, 1);   /* && binds tighter */
    expect_bool("(true || false) && false", &E1, 0);
    expect_bool("!true || true", &E1, 1);            /* ! above || */
    expect_bool("!false && false", &E1, 0);          /* ! above && */
    expect_bool("!1 == 2", &E1, 1);                  /* ! below comparisons: !(1 == 2) */
    expect_bool("true == !false", &E1, 1);           /* ! as an operand */
    expect_bool("!!true", &E1, 1);
    expect_bool("1 + 1 == 2 && 2 * 2 == 4", &E1, 1);
}

static void test_comparisons(void)
{
    static const struct {
        const char *src;
        int want;
    } cases[] = {
        {"1 == 1", 1}, {"1 != 1", 0}, {"1 < 2", 1}, {"2 <= 2", 1}, {"3 > 2", 1}, {"2 >= 3", 0},
        {"1.5 < 2", 1}, {"2 <= 1.5", 0}, {"-1 > -2", 1},
        {"\"a\" < \"b\"", 1}, {"\"ab\" < \"a\"", 0}, {"\"a\" < \"ab\"", 1},
        {"\"\" == \"\"", 1}, {"\"x\" != \"y\"", 1}, {"\"b\" >= \"b\"", 1},
        {"true == true", 1}, {"true != false", 1},
        {"key == \"k1\"", 1}, {"key > \"k0\"", 1}, {"ts == 1700000000000000", 1},
        {"version >= 2", 1}, {"id == \"e1\"", 1}, {"correlation_id == \"c1\"", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_bool(cases[i].src, &E1, cases[i].want);
}

static void test_in_lists(void)
{
    expect_bool("payload.region in [\"eu\", \"us\"]", &E1, 1);
    expect_bool("payload.region in [\"eu\", \"apac\"]", &E1, 0);
    expect_bool("payload.amount in [1, 1999]", &E1, 1);
    expect_bool("payload.amount in [1.5, 1999]", &E1, 1);   /* float mode */
    expect_bool("1.0 in [2, 1]", &E1, 1);
    expect_bool("key in [\"k0\", \"k1\"]", &E1, 1);
    expect_bool("key in []", &E1, 0);
    expect_bool("true in [false]", &E1, 0);
    expect_bool("-1 in [-1]", &E1, 1);
    expect_bool("!(key in [\"k1\"])", &E1, 0);
    expect_bool("!key in [\"k1\"]", &E1, 0);               /* ! below in */
    expect_bool("payload.coupon in [\"x\"]", &E1, ABSENT);
}

static void test_globs(void)
{
    expect_bool("type ~ \"order.*\"", &E1, 1);
    expect_bool("type ~ \"order.*\"", &E2, 1);
    expect_bool("type ~ \"order.*\"", &E3, 0);
    expect_bool("type ~ \"*.paid\"", &E2, 1);
    expect_bool("type ~ \"*.paid\"", &E1, 0);
    expect_bool("type ~ \"order.?aid\"", &E2, 1);
    expect_bool("type ~ \"o*r*.*d\"", &E1, 1);
    expect_bool("type ~ \"order\"", &E1, 0);
    expect_bool("\"a*b\" ~ \"a\\\\*b\"", &E1, 1);   /* \* is a literal star */
    expect_bool("\"axb\" ~ \"a\\\\*b\"", &E1, 0);
    expect_bool("\"\xc3\xa9\" ~ \"?\"", &E1, 1);      /* ? is one character */
    expect_bool("\"\xe2\x82\xac\" ~ \"*??\"", &E1, 0);
    expect_bool("\"\" ~ \"*\"", &E1, 1);
    expect_bool("\"\" ~ \"\"", &E1, 1);
    expect_bool("\"abc\" ~ \"\"", &E1, 0);
    expect_bool("\"aaaaaaaaaaaaaaaaaaaaaaaab\" ~ \"*a*a*a*a*a*a*c\"", &E1, 0);
    expect_bool("\"mississippi\" ~ \"m*iss*ppi\"", &E1, 1);
    expect_bool("headers[\"none\"] ~ \"*\"", &E1, ABSENT);
}

static void test_functions(void)
{
    expect_bool("starts_with(key, \"k\")", &E1, 1);
    expect_bool("starts_with(\"k\", key)", &E1, 0);
    expect_bool("ends_with(type, \".placed\")", &E1, 1);
    expect_bool("ends_with(type, \".placed\")", &E2, 0);
    expect_bool("contains(payload.shipping.city, \"ar\")", &E1, 1);
    expect_bool("contains(payload.shipping.city, \"x\")", &E1, 0);
    expect_bool("contains(\"abc\", \"\")", &E1, 1);
    expect_bool("starts_with(payload.coupon, \"x\")", &E1, ABSENT);
    expect_int("len(payload.items)", &E1, 2);
    expect_int("len(payload.tags)", &E1, 2);
    expect_int("len(headers)", &E1, 4);
    expect_int("len(key)", &E1, 2);
    expect_absent("len(payload.items)", &E6);
    expect_bool("has(payload.coupon)", &E1, 0);
    expect_bool("has(payload.shipping)", &E1, 1);
    expect_bool("has(payload.shipping)", &E6, 0);
    expect_bool("has(payload.shipping.city)", &E1, 1);
    expect_bool("has(payload.shipping.street)", &E1, 0);
    expect_bool("has(payload.total)", &E3, 1);
    expect_bool("has(payload.total.units)", &E3, 1);
    expect_bool("has(payload.amount)", &E6, 1);    /* a default reads as present */
    expect_bool("has(payload.amount)", &E3, 0);    /* PaymentCharge has no amount */
    expect_bool("has(payload)", &E1, 1);
    expect_bool("has(payload)", &E5, 0);
    expect_bool("has(headers[\"trace\"])", &E1, 1);
    expect_bool("has(headers[\"empty\"])", &E1, 0);
    expect_bool("has(causation_id)", &E1, 0);
}

static void test_headers_and_envelope(void)
{
    expect_string("headers[\"trace\"]", &E1, "t-1");
    expect_string("headers[\"dup\"]", &E1, "first");      /* the first one wins */
    expect_absent("headers[\"none\"]", &E1);
    expect_absent("headers[\"empty\"]", &E1);             /* value unset */
    expect_absent("headers[\"trace\"]", &E2);             /* no headers at all */
    expect_bool("headers[\"trace\"] == \"t-1\" && key == \"k1\"", &E1, 1);
    expect_int("version", &E1, 2);
    expect_int("version", &E2, 1);                        /* the schema default */
    expect_int("ts", &E2, 0);
    expect_string("type", &E3, "payment.charge");
    expect_absent("type", &E5);
    expect_absent("causation_id", &E1);
}

/* The same path through different payload tables, nested tables and structs. */
static void test_payload_paths(void)
{
    expect_bool("payload.amount > 0", &E1, 1);
    expect_bool("payload.amount > 0", &E2, 0);
    expect_bool("payload.amount > 0", &E3, ABSENT);  /* PaymentCharge has no amount */
    expect_bool("payload.amount > 0", &E4, ABSENT);  /* unknown event type */
    expect_bool("payload.amount > 0", &E5, ABSENT);  /* no type, no payload */
    expect_int("payload.amount", &E1, 1999);
    expect_int("payload.amount", &E2, -5);
    expect_int("payload.amount", &E6, 0);            /* default */
    expect_string("payload.order_id", &E1, "o1");
    expect_string("payload.order_id", &E2, "o2");
    expect_string("payload.order_id", &E3, "o3");
    expect_string("payload.shipping.city", &E1, "Paris");
    expect_absent("payload.shipping.city", &E6);     /* table not there */
    expect_absent("payload.shipping.city", &E2);     /* OrderPaid has no shipping */
    expect_int("payload.total.units", &E3, 4200);    /* struct in a table */
    expect_int("payload.attempt", &E3, 3);
    expect_bool("payload.priority", &E1, 1);
    expect_bool("payload.priority == false", &E6, 1);
    /* alternate types through one expression: the type cache must follow */
    struct sl_expr *expr = compile_ok("payload.amount");
    const struct ev *evs[] = {&E1, &E2, &E3, &E1, &E1, &E2, &E4, &E2, &E6};
    const int64_t want[] = {1999, -5, 0, 1999, 1999, -5, 0, -5, 0};
    for (size_t i = 0; expr && i < sizeof(evs) / sizeof(evs[0]); i++) {
        struct sl_expr_value v;
        int rc = eval_both(expr, evs[i], &v);
        bool absent = evs[i] == &E3 || evs[i] == &E4;
        CHECK_MSG(absent ? rc == ABSENT : rc == 0 && v.i == want[i], "event %zu", i);
    }
    sl_expr_destroy(expr);
    /* a string result points into the event */
    expr = compile_ok("payload.shipping.city");
    struct sl_expr_value v;
    if (expr && sl_expr_eval(expr, E1.buf, &v) == 0)
        CHECK(v.s.ptr > (const char *)E1.buf && v.s.ptr + v.s.len <= (const char *)E1.buf + E1.len);
    sl_expr_destroy(expr);
}

static void test_enums(void)
{
    expect_bool("payload.region == \"us\"", &E1, 1);
    expect_bool("\"us\" == payload.region", &E1, 1);
    expect_bool("payload.region == \"eu\"", &E6, 1);     /* default: first value */
    expect_bool("payload.region == 1", &E1, 1);          /* us = 1 */
    expect_bool("payload.region > \"eu\"", &E1, 1);
    expect_bool("payload.currency == \"EUR\"", &E2, 1);
    expect_bool("payload.currency == \"USD\"", &E1, 1);
    expect_bool("payload.total.currency == \"GBP\"", &E3, 1);  /* enum in a struct */
    expect_int("payload.region", &E1, 1);
}

/* Absent operands and three-valued logic; division by zero. */
static void test_absent(void)
{
    const char *A = "payload.coupon == \"x\"";  /* absent on E1 */
    char src[128];
    expect_bool(A, &E1, ABSENT);
    snprintf(src, sizeof(src), "!(%s)", A);
    expect_bool(src, &E1, ABSENT);
    snprintf(src, sizeof(src), "%s || true", A);
    expect_bool(src, &E1, 1);
    snprintf(src, sizeof(src), "true || %s", A);
    expect_bool(src, &E1, 1);
    snprintf(src, sizeof(src), "%s || false", A);
    expect_bool(src, &E1, ABSENT);
    snprintf(src, sizeof(src), "%s && false", A);
    expect_bool(src, &E1, 0);
    snprintf(src, sizeof(src), "false && %s", A);
    expect_bool(src, &E1, 0);
    snprintf(src, sizeof(src), "%s && true", A);
    expect_bool(src, &E1, ABSENT);
    snprintf(src, sizeof(src), "true && %s && true", A);
    expect_bool(src, &E1, ABSENT);
    snprintf(src, sizeof(src), "%s || %s", A, A);
    expect_bool(src, &E1, ABSENT);
    expect_bool("payload.coupon != \"x\"", &E1, ABSENT);
    expect_bool("!has(payload.coupon) || payload.coupon == \"x\"", &E1, 1);
    expect_absent("payload.amount + 1", &E3);
    expect_absent("-payload.amount", &E3);
    expect_absent("1 / 0", &E1);
    expect_absent("5 % 0", &E1);
    expect_absent("1.0 / 0", &E1);
    expect_absent("1.5 % 0.0", &E1);
    expect_absent("payload.amount / (payload.amount - 1999)", &E1);
    expect_bool("payload.amount / 0 > 1 || true", &E1, 1);
    expect_bool("payload.amount / 0 > 1 && true", &E1, ABSENT);
}

static void test_errors(void)
{
    expect_errors("payload.amount == \"x\"", "1:16: cannot compare int with string",
                  "compare numbers with numbers, strings with strings");
    expect_errors("payload.amout > 1", "1:1: unknown field 'payload.amout'",
                  "did you mean 'payload.amount'?");
    expect_errors("payload.shipping.cty == \"x\"", "1:1: unknown field 'payload.shipping.cty'",
                  "did you mean 'payload.shipping.city'?");
    expect_errors("kye == \"x\"", "1:1: unknown field 'kye'", "did you mean 'key'?");
    expect_errors("payload.zzzzzz", "1:1: unknown field 'payload.zzzzzz'", NULL);
    expect_errors("key && true", "1:1: '&&' needs bool operands, found string", NULL);
    expect_errors("true || 1", "1:9: '||' needs bool operands, found int", NULL);
    expect_errors("starts_with(payload.amount, \"x\")",
                  "1:13: starts_with() needs a string, found int", NULL);
    expect_errors("payload.region == \"mars\"", "1:19: unknown Region 'mars'",
                  "Region values: eu, us, apac, latam");
    expect_errors("payload.region in [\"eu\", \"moon\"]", "1:26: unknown Region 'moon'", NULL);
    expect_errors("payload.currency != \"\"", "1:21: unknown Currency ''", NULL);
    expect_errors("payload.region == key", "1:16: cannot compare int with string",
                  "enum names must be string literals");
    expect_errors("1 +", "1:4: expected an operand, found end of expression",
                  "an operand is missing");
    expect_errors("key = \"x\"", "1:5: unexpected '='", "compare with ==");
    expect_errors("key & true", "1:5: unexpected '&'", "logical and is &&");
    expect_errors("(1 + 2", "1:7: expected ')', found end of expression", NULL);
    expect_errors("1 + 2)", "1:6: unexpected ')'", NULL);
    expect_errors("key key", "1:5: unexpected 'key'", NULL);
    expect_errors("1 < 2 < 3", "1:7: comparisons do not chain", NULL);
    expect_errors("foo(1) && true", "1:1: unknown function 'foo'",
                  "functions: starts_with, ends_with, contains, has, len");
    expect_errors("\"abc", "1:1: unterminated string", NULL);
    expect_errors("\"a\\qb\"", "1:3: unknown escape in string", NULL);
    expect_errors("\"\\ud800\"", "1:2: unpaired surrogate in \\u escape", NULL);
    expect_errors("9223372036854775808", "1:1: integer literal out of range", NULL);
    expect_errors("99999999999999999999", "1:1: integer literal out of range", NULL);
    expect_errors("12abc", "1:3: unexpected character after number", NULL);
    expect_errors("", "1:1: empty expression", NULL);
    expect_errors("  \n ", "1:1: empty expression", NULL);
    expect_errors("key == \"a\" &&\n  payload.amount == \"x\"",
                  "2:18: cannot compare int with string", NULL);
    expect_errors("\"\xc3\xa9\" == 1", "1:5: cannot compare string with int", NULL);
    expect_errors("-\"a\"", "1:1: '-' needs a number, found string", NULL);
    expect_errors("!1", "1:1: '!' needs a bool, found int", NULL);
    expect_errors("true < false", "1:6: cannot order bools with '<'", NULL);
    expect_errors("key + 1", "1:5: '+' needs numbers, found string", NULL);
    expect_errors("payload.shipping == 1", "1:1: this is a table, not a value", NULL);
    expect_errors("payload.items", "1:1: an expression must give a bool, int, float or string, "
                  "not a vector", NULL);
    expect_errors("payload.amount.x", "1:1: 'payload.amount.x': 'amount' is int, not a table",
                  NULL);
    expect_errors("type ~ key", "1:8: the pattern after '~' must be a string literal", NULL);
    expect_errors("payload.amount ~ \"1*\"", "1:16: '~' needs a string on its left, found int",
                  NULL);
    expect_errors("headers[key]", "1:9: a header name must be a string literal", NULL);
    expect_errors("key[\"x\"]", "1:4: only headers can be indexed", NULL);
    expect_errors("has(1)", "1:5: has() takes a field path", NULL);
    expect_errors("len(1)", "1:5: len() needs a string or vector, found int", NULL);
    expect_errors("starts_with(key)", "1:1: starts_with() takes 2 arguments, got 1", NULL);
    expect_errors("key in [key]", "1:9: list items must be literals", NULL);
    expect_errors("payload.amount in [\"a\"]",
                  "1:20: list item is string, but the left side is int", NULL);
    expect_errors("key in \"a\"", "1:8: expected '[' after 'in', found '\"a\"'", NULL);
    expect_errors("[1]", "1:1: a list can only follow 'in'", NULL);
    expect_errors("payload.", "1:9: expected a field name after '.', found end of expression",
                  NULL);
    expect_errors("payload", "1:1: an expression must give a bool, int, float or string, "
                  "not a vector", NULL);
    /* every independent mistake, in order of position */
    expect_errors("key + 1 > 0 && payload.nope == 1 && payload.region == \"x\"",
                  "1:5: '+' needs numbers, found string\n"
                  "1:16: unknown field 'payload.nope'\n"
                  "1:55: unknown Region 'x'", NULL);
    expect_errors("foo() || bar(key > 1)",
                  "1:1: unknown function 'foo'\n1:10: unknown function 'bar'\n"
                  "1:18: cannot compare string with int", NULL);
}

static void test_limits(void)
{
    char src[512];
    size_t n = 0;
    for (int i = 0; i < 70; i++)
        src[n++] = '(';
    src[n++] = '1';
    for (int i = 0; i < 70; i++)
        src[n++] = ')';
    src[n] = '\0';
    expect_errors(src, "1:64: expression nested too deeply (more than 64 levels)", NULL);
    memset(src, '!', 100);
    strcpy(src + 100, "true");
    expect_errors(src, "1:64: expression nested too deeply (more than 64 levels)", NULL);
    /* 63 levels are fine */
    n = 0;
    for (int i = 0; i < 62; i++)
        src[n++] = '(';
    src[n++] = '1';
    for (int i = 0; i < 62; i++)
        src[n++] = ')';
    src[n] = '\0';
    expect_int(src, &E1, 1);
    /* long || chains are flat, not deep */
    char *chain = malloc(64000);
    n = 0;
    for (int i = 0; i < 2000; i++)
        n += (size_t)sprintf(chain + n, "%skey == \"%d\"", i ? " || " : "", i);
    expect_bool(chain, &E1, 0);
    free(chain);
    /* too long */
    size_t big = SL_EXPR_LEN_MAX + 10;
    char *text = malloc(big + 1);
    memset(text, ' ', big);
    text[big] = '\0';
    expect_errors(text, "1:1: expression longer than 65536 bytes", NULL);
    free(text);
    /* list bound */
    text = malloc(8 * 1100);
    n = (size_t)sprintf(text, "1 in [");
    for (int i = 0; i < 1100; i++)
        n += (size_t)sprintf(text + n, "%s%d", i ? "," : "", i);
    strcpy(text + n, "]");
    struct sl_expr *expr = NULL;
    struct sl_expr_diag d[2];
    size_t count = 0;
    CHECK(sl_expr_compile(text, strlen(text), &schemas, &expr, d, 2, &count) == -EINVAL);
    CHECK(count == 1 && strcmp(d[0].message, "more than 1024 items") == 0);
    free(text);
    /* at most diag_max diagnostics are stored */
    const char *three = "key + 1 > 0 && payload.nope == 1 && payload.region == \"x\"";
    CHECK(sl_expr_compile(three, strlen(three), &schemas, &expr, d, 2, &count) == -EINVAL);
    CHECK(count == 2 && expr == NULL);
    CHECK(sl_expr_compile(three, strlen(three), &schemas, &expr, NULL, 0, &count) == -EINVAL);
    CHECK(count == 0);
}

/* Payload tables that disagree on a path's type: a schema built by flatc. */
static void test_disagreement(void)
{
    char dir[] = "/tmp/expr_test.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128], cmd[512];
    snprintf(path, sizeof(path), "%s/clash.fbs", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs("namespace clash; attribute \"event\";\n"
          "table A (event: \"t.a\") { amount:long; code:string; }\n"
          "table B (event: \"t.b\") { amount:double; code:string; }\n", f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "flatc -b --schema --bfbs-builtins -o %s %s", dir, path);
    CHECK_MSG(system(cmd) == 0, "%s", cmd);
    struct sl_fb_schemas clash;
    char err[256] = "";
    snprintf(path, sizeof(path), "%s/clash.bfbs", dir);
    int rc = sl_fb_schemas_init(&clash, err, sizeof(err));
    if (rc == 0)
        rc = sl_fb_schemas_add(&clash, path, err, sizeof(err));
    CHECK_MSG(rc == 0, "%s", err);
    if (rc == 0) {
        struct sl_expr *expr = NULL;
        struct sl_expr_diag d[4];
        size_t count = 0;
        const char *src = "payload.amount > 1";
        CHECK(sl_expr_compile(src, strlen(src), &clash, &expr, d, 4, &count) == -EINVAL);
        CHECK_MSG(count == 1 && d[0].line == 1 && d[0].col == 1 &&
                      strcmp(d[0].message, "'payload.amount' is int in A but float in B") == 0,
                  "%s", count ? d[0].message : "");
        src = "payload.code == \"x\"";
        CHECK(sl_expr_compile(src, strlen(src), &clash, &expr, d, 4, &count) == 0);
        sl_expr_destroy(expr);
        sl_fb_schemas_fini(&clash);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    char err[256] = "";
    if (sl_fb_schemas_init(&schemas, err, sizeof(err)) ||
        sl_fb_schemas_add_embedded(&schemas, err, sizeof(err))) {
        fprintf(stderr, "schemas: %s\n", err);
        return 1;
    }
    sl_fb_json_init(&json, &schemas);
    make_event(&E1, "{\"id\":\"e1\",\"type\":\"order.placed\",\"version\":2,\"key\":\"k1\","
                    "\"ts\":1700000000000000,\"correlation_id\":\"c1\",\"headers\":["
                    "{\"key\":\"trace\",\"value\":\"t-1\"},{\"key\":\"empty\"},"
                    "{\"key\":\"dup\",\"value\":\"first\"},"
                    "{\"key\":\"dup\",\"value\":\"second\"}],"
                    "\"payload\":{\"order_id\":\"o1\",\"customer_id\":\"cu1\",\"region\":\"us\","
                    "\"amount\":1999,\"currency\":\"USD\","
                    "\"items\":[{\"sku\":\"s1\",\"quantity\":2,\"unit_price\":500},"
                    "{\"sku\":\"s2\"}],\"shipping\":{\"city\":\"Paris\",\"country\":\"FR\"},"
                    "\"priority\":true,\"tags\":[\"a\",\"b\"]}}");
    make_event(&E2, "{\"type\":\"order.paid\",\"key\":\"k2\",\"payload\":{\"order_id\":\"o2\","
                    "\"amount\":-5,\"currency\":\"EUR\"}}");
    make_event(&E3, "{\"type\":\"payment.charge\",\"key\":\"k3\",\"payload\":{\"order_id\":\"o3\","
                    "\"total\":{\"units\":4200,\"currency\":\"GBP\"},\"attempt\":3}}");
    make_event(&E4, "{\"type\":\"foo.bar\",\"key\":\"k4\"}");
    make_event(&E5, "{\"key\":\"k5\"}");
    make_event(&E6, "{\"type\":\"order.placed\",\"payload\":{\"order_id\":\"o6\"}}");

    test_literals_and_types();
    test_precedence();
    test_comparisons();
    test_in_lists();
    test_globs();
    test_functions();
    test_headers_and_envelope();
    test_payload_paths();
    test_enums();
    test_absent();
    test_errors();
    test_limits();
    test_disagreement();

    struct ev *evs[] = {&E1, &E2, &E3, &E4, &E5, &E6};
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        free(evs[i]->buf);
    sl_fb_json_fini(&json);
    sl_fb_schemas_fini(&schemas);
    return test_exit("expr");
}
