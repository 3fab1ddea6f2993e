/*
 * compile.c - sl_expr_compile(): runs the lexer, parser and checker over the
 * text, collects diagnostics (line:col counted from the text), and copies
 * the result into one block: struct sl_expr followed by its arrays (nodes,
 * list and call arguments, read steps, paths, per-type slots, glob tokens,
 * constant pool). Control plane only; the block never changes afterwards
 * except for the type-cache word.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "expr/expr_int.h"

void *sl_expr_grow(void *arr, uint32_t *cap, size_t elem, uint32_t need)
{
    if (need <= *cap)
        return arr;
    uint32_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    arr = realloc(arr, (size_t)n * elem);
    SL_ASSERT(arr);
    *cap = n;
    return arr;
}

uint32_t sl_expr_pool_add(struct xc *c, const void *bytes, uint32_t len)
{
    c->pool = sl_expr_grow(c->pool, &c->pool_cap, 1, c->pool_len + len);
    memcpy(c->pool + c->pool_len, bytes, len);
    c->pool_len += len;
    return c->pool_len - len;
}

const char *sl_expr_type_name(enum sl_expr_type type) { return sl_expr_xt_name(type); }

const char *sl_expr_xt_name(uint8_t type)
{
    static const char *const names[] = {"absent", "bool", "int", "float", "string", "vector",
                                        "table"};
    return type < sizeof(names) / sizeof(names[0]) ? names[type] : "?";
}

/* 1-based line and column (in characters) of byte offset off. O(off). */
static void position(const struct xc *c, uint32_t off, uint32_t *line, uint32_t *col)
{
    *line = 1;
    *col = 1;
    for (uint32_t i = 0; i < off && i < c->len; i++) {
        unsigned char ch = (unsigned char)c->src[i];
        if (ch == '\n') {
            (*line)++;
            *col = 1;
        } else if ((ch & 0xc0) != 0x80) {
            (*col)++;
        }
    }
}

void sl_expr_error(struct xc *c, uint32_t off, const char *hint, const char *fmt, ...)
{
    c->errors++;
    if (c->diag_count >= c->diag_max)
        return;
    struct sl_expr_diag *d = &c->diags[c->diag_count++];
    position(c, off, &d->line, &d->col);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->message, sizeof(d->message), fmt, ap);
    va_end(ap);
    snprintf(d->hint, sizeof(d->hint), "%s", hint ? hint : "");
}

/* Insertion sort by position (few diagnostics; stable). */
static void sort_diags(struct sl_expr_diag *diags, size_t count)
{
    for (size_t i = 1; i < count; i++) {
        struct sl_expr_diag d = diags[i];
        size_t j = i;
        while (j > 0 && (diags[j - 1].line > d.line ||
                         (diags[j - 1].line == d.line && diags[j - 1].col > d.col))) {
            diags[j] = diags[j - 1];
            j--;
        }
        diags[j] = d;
    }
}

/* Vtable offsets of the envelope fields evaluation reads directly. */
static void envelope_layout(struct xc *c)
{
    const struct sl_fb_object *env = c->schemas->envelope;
    const struct sl_fb_field *type = sl_fb_object_field(env, "type", 4);
    const struct sl_fb_field *payload = sl_fb_object_field(env, "payload", 7);
    const struct sl_fb_field *headers = sl_fb_object_field(env, "headers", 7);
    SL_ASSERT(type && payload && headers && headers->type.element == SL_FB_OBJ);
    const struct sl_fb_object *header = sl_fb_schema_object(env->schema, headers->type.index);
    const struct sl_fb_field *key = sl_fb_object_field(header, "key", 3);
    const struct sl_fb_field *value = sl_fb_object_field(header, "value", 5);
    SL_ASSERT(key && value);
    c->voff_type = type->offset;
    c->voff_payload = payload->offset;
    c->voff_headers = headers->offset;
    c->voff_header_key = key->offset;
    c->voff_header_value = value->offset;
}

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

/* Copies n bytes from src to *at in block and advances *at (8-aligned). */
static const void *place(uint8_t *block, size_t *at, const void *src, size_t n)
{
    uint8_t *dst = block + *at;
    if (n)
        memcpy(dst, src, n);
    *at += align8(n);
    return dst;
}

static struct sl_expr *build(const struct xc *c, uint32_t root)
{
    size_t sizes[] = {
        (size_t)c->node_count * sizeof(*c->nodes), (size_t)c->arg_count * sizeof(*c->args),
        (size_t)c->step_count * sizeof(*c->steps), (size_t)c->path_count * sizeof(*c->paths),
        (size_t)c->slot_count * sizeof(*c->slots), (size_t)c->glob_count * sizeof(*c->globs),
        c->pool_len,
    };
    size_t total = align8(sizeof(struct sl_expr));
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        total += align8(sizes[i]);
    uint8_t *block = aligned_alloc(8, total);
    SL_ASSERT(block);
    struct sl_expr *e = (struct sl_expr *)block;
    memset(e, 0, sizeof(*e));
    size_t at = align8(sizeof(*e));
    e->nodes = place(block, &at, c->nodes, sizes[0]);
    e->args = place(block, &at, c->args, sizes[1]);
    e->steps = place(block, &at, c->steps, sizes[2]);
    e->paths = place(block, &at, c->paths, sizes[3]);
    e->slots = place(block, &at, c->slots, sizes[4]);
    e->globs = place(block, &at, c->globs, sizes[5]);
    e->pool = place(block, &at, c->pool, sizes[6]);
    SL_ASSERT(at == total);
    e->schemas = c->schemas;
    e->root = root;
    e->type = c->nodes[root].type;
    for (uint32_t i = 0; i < c->path_count; i++)
        e->uses_payload |= c->paths[i].root == R_PAYLOAD;
    e->voff_type = c->voff_type;
    e->voff_payload = c->voff_payload;
    e->voff_headers = c->voff_headers;
    e->voff_header_key = c->voff_header_key;
    e->voff_header_value = c->voff_header_value;
    atomic_init(&e->last_type, UINT32_MAX);
    return e;
}

static void xc_fini(struct xc *c)
{
    free(c->nodes);
    free(c->args);
    free(c->segs);
    free(c->steps);
    free(c->paths);
    free(c->slots);
    free(c->globs);
    free(c->pool);
}

/* Parses and checks; returns the root node, or UINT32_MAX after errors. */
static uint32_t parse_and_check(struct xc *c)
{
    if (c->len > SL_EXPR_LEN_MAX) {
        sl_expr_error(c, 0, "split the condition over several operators",
                      "expression longer than %u bytes", SL_EXPR_LEN_MAX);
        return UINT32_MAX;
    }
    uint32_t root = sl_expr_parse(c);
    if (root == UINT32_MAX)
        return root;
    uint8_t type = sl_expr_check(c, root);
    SL_ASSERT(type != XT_ABSENT || c->errors);  /* a failed node was reported */
    if (type == XT_VECTOR || type == XT_OBJECT)
        sl_expr_error(c, c->nodes[root].off, "use has(...), len(...) or name a field",
                      "an expression must give a bool, int, float or string, not a %s",
                      sl_expr_xt_name(type));
    return c->errors ? UINT32_MAX : root;
}

int sl_expr_compile(const char *src, size_t len, const struct sl_fb_schemas *schemas,
                    struct sl_expr **expr, struct sl_expr_diag *diags, size_t diag_max,
                    size_t *diag_count)
{
    SL_ASSERT(src && schemas && schemas->envelope && expr && (diags || !diag_max));
    *expr = NULL;
    struct xc c = {
        .src = src, .len = len > SL_EXPR_LEN_MAX ? SL_EXPR_LEN_MAX + 1 : (uint32_t)len,
        .schemas = schemas, .diags = diags, .diag_max = diag_max,
    };
    envelope_layout(&c);
    /* never NULL: empty strings point at pool + 0 */
    c.pool = sl_expr_grow(NULL, &c.pool_cap, 1, 64);
    uint32_t root = parse_and_check(&c);
    if (root != UINT32_MAX)
        *expr = build(&c, root);
    xc_fini(&c);
    sort_diags(diags, c.diag_count);
    if (diag_count)
        *diag_count = c.diag_count;
    return *expr ? 0 : -EINVAL;
}

void sl_expr_destroy(struct sl_expr *expr) { free(expr); }

enum sl_expr_type sl_expr_result_type(const struct sl_expr *expr)
{
    return (enum sl_expr_type)expr->type;
}

bool sl_expr_uses_payload(const struct sl_expr *expr) { return expr->uses_payload; }
