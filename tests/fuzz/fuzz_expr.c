/*
 * fuzz_expr.c - libFuzzer target for the expression compiler and evaluator
 * (src/expr).
 *
 * The input is expression text, compiled against every embedded schema.
 * A failed compile must return -EINVAL with at least one diagnostic, each
 * at a line:col inside the text, ordered by position, with a non-empty
 * message; the same text must fail again when no diagnostics are kept. A
 * successful compile is evaluated over fixed events (two payload types,
 * a third without the common fields, an unknown type, a bare envelope)
 * through both entry points, which must agree; a present value must have
 * the expression's static type, and a string must lie inside the event or
 * the expression's constants (never NULL with a length).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "expr/expr.h"
#include "fuzz_fb.h"
#include "sl/event.h"

#define EVENTS 5

static struct fuzz_fb fb;
static struct sl_event events[EVENTS];

static const char *const event_json[EVENTS] = {
    ("{\"id\":\"e1\",\"type\":\"order.placed\",\"version\":2,\"key\":\"k1\",\"ts\":17,"
     "\"headers\":[{\"key\":\"trace\",\"value\":\"t\"},{\"key\":\"empty\"}],"
     "\"payload\":{\"order_id\":\"o1\",\"region\":\"us\",\"amount\":1999,\"currency\":\"USD\","
     "\"items\":[{\"sku\":\"s\"}],\"shipping\":{\"city\":\"Paris\"},\"priority\":true,"
     "\"tags\":[\"a\"]}}"),
    "{\"type\":\"order.paid\",\"key\":\"k2\",\"payload\":{\"order_id\":\"o2\",\"amount\":-5}}",
    ("{\"type\":\"payment.charge\",\"payload\":{\"order_id\":\"o3\",\"total\":{\"units\":9,"
     "\"currency\":\"GBP\"}}}"),
    "{\"type\":\"no.such.type\",\"key\":\"k4\"}",
    "{}",
};

/* Builds, copies (8-aligned, owned for the process's life) and verifies one
 * event, and locates its tables as a worker would. */
static void make_event(struct sl_fb_json *json, const char *text, struct sl_event *ev)
{
    const uint8_t *out;
    size_t len;
    char err[256] = "";
    FUZZ_CHECK(sl_fb_json_to_fb(json, fb.envelope, text, strlen(text), false, &out, &len, err,
                                sizeof(err)) == 0);
    uint8_t *buf = aligned_alloc(8, (len + 7) & ~(size_t)7);
    FUZZ_CHECK(buf != NULL);
    memcpy(buf, out, len);
    FUZZ_CHECK(sl_fb_verify(buf, len, false, fb.envelope, &fb.opts, err, sizeof(err)) == 0);
    const uint8_t *env = sl_fb_root(buf);
    *ev = (struct sl_event){.buf = buf, .len = (uint32_t)len, .envelope = env};
    const struct sl_fb_field *type = sl_fb_object_field(fb.envelope, "type", 4);
    const struct sl_fb_field *payload = sl_fb_object_field(fb.envelope, "payload", 7);
    const uint8_t *t = sl_fb_field_ptr(env, type->offset);
    const uint8_t *p = sl_fb_field_ptr(env, payload->offset);
    if (t && p && sl_fb_vec_len(sl_fb_deref(p)) > 0) {
        const uint8_t *s = sl_fb_deref(t);
        ev->payload_object = sl_fb_schemas_event_object(
            &fb.schemas, (const char *)sl_fb_vec_data(s), sl_fb_vec_len(s));
        if (ev->payload_object)
            ev->payload = sl_fb_root(sl_fb_vec_data(sl_fb_deref(p)));
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_fb_init(&fb);
    struct sl_fb_json json;
    sl_fb_json_init(&json, &fb.schemas);
    for (int i = 0; i < EVENTS; i++)
        make_event(&json, event_json[i], &events[i]);
    sl_fb_json_fini(&json);
    return 0;
}

static void check_diags(const uint8_t *data, size_t size, const struct sl_expr_diag *diags,
                        size_t count)
{
    uint32_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    FUZZ_CHECK(count >= 1);
    for (size_t i = 0; i < count; i++) {
        const struct sl_expr_diag *d = &diags[i];
        FUZZ_CHECK(d->line >= 1 && d->line <= lines && d->col >= 1 && d->col <= size + 1);
        FUZZ_CHECK(memchr(d->message, '\0', sizeof(d->message)) && d->message[0] != '\0');
        FUZZ_CHECK(memchr(d->hint, '\0', sizeof(d->hint)) != NULL);
        if (i > 0)
            FUZZ_CHECK(d[-1].line < d->line || (d[-1].line == d->line && d[-1].col <= d->col));
    }
}

static void check_value(const struct sl_expr *expr, const struct sl_event *ev, int rc,
                        const struct sl_expr_value *v)
{
    FUZZ_CHECK(rc == 0 || rc == SL_EXPR_ABSENT);
    FUZZ_CHECK(v->absent == (rc == SL_EXPR_ABSENT));
    FUZZ_CHECK(v->type == sl_expr_result_type(expr));
    if (rc != 0 || v->type != SL_EXPR_STRING || v->s.len == 0)
        return;
    FUZZ_CHECK(v->s.ptr != NULL);
    const char *lo = (const char *)ev->buf, *hi = lo + ev->len;
    if (v->s.ptr >= lo && v->s.ptr < hi)
        FUZZ_CHECK(v->s.len <= (size_t)(hi - v->s.ptr));
    else
        FUZZ_CHECK(v->s.len <= SL_EXPR_LEN_MAX);  /* a constant: no longer than the text */
}

static void evaluate(const struct sl_expr *expr)
{
    for (int i = 0; i < EVENTS; i++) {
        const struct sl_event *ev = &events[i];
        struct sl_expr_value a, b;
        int ra = sl_expr_eval(expr, ev->buf, &a);
        int rb = sl_expr_eval_event(expr, ev, &b);
        check_value(expr, ev, ra, &a);
        check_value(expr, ev, rb, &b);
        FUZZ_CHECK(ra == rb && a.type == b.type);
        if (ra == 0 && a.type == SL_EXPR_STRING)
            FUZZ_CHECK(a.s.ptr == b.s.ptr && a.s.len == b.s.len);
        else if (ra == 0 && a.type == SL_EXPR_BOOL)
            FUZZ_CHECK(a.b == b.b);
        else if (ra == 0)
            FUZZ_CHECK(memcmp(&a.i, &b.i, sizeof(a.i)) == 0);
        if (a.type == SL_EXPR_BOOL) {
            int want = ra ? SL_EXPR_ABSENT : a.b;
            FUZZ_CHECK(sl_expr_eval_bool(expr, ev->buf) == want);
            FUZZ_CHECK(sl_expr_eval_event_bool(expr, ev) == want);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sl_expr *expr = NULL;
    struct sl_expr_diag diags[8];
    size_t count = 99;
    int rc = sl_expr_compile((const char *)data, size, &fb.schemas, &expr, diags, 8, &count);
    if (rc != 0) {
        FUZZ_CHECK(rc == -EINVAL && expr == NULL && count <= 8);
        check_diags(data, size, diags, count);
        FUZZ_CHECK(sl_expr_compile((const char *)data, size, &fb.schemas, &expr, NULL, 0,
                                   &count) == -EINVAL);
        FUZZ_CHECK(expr == NULL && count == 0);
        return 0;
    }
    FUZZ_CHECK(expr != NULL && count == 0);
    enum sl_expr_type type = sl_expr_result_type(expr);
    FUZZ_CHECK(type >= SL_EXPR_BOOL && type <= SL_EXPR_STRING);
    evaluate(expr);
    sl_expr_destroy(expr);
    return 0;
}
