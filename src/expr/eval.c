/*
 * eval.c - evaluates a compiled expression over one verified event.
 *
 * The tree is walked recursively (height <= SL_EXPR_DEPTH_MAX). Field reads
 * follow the compiled steps: O(1) per step through vtables, no lookups by
 * name. The payload table is located on the first payload read only: the
 * event's `type` string is compared with the last type this expression saw
 * (a relaxed atomic hint), else found by binary search over the schemas'
 * event types. Nothing is allocated; strings point into the event or into
 * the expression's constant pool.
 *
 * Absent values (type XT_ABSENT) propagate through every operator except
 * has() and the three-valued && and || (absent && false = false,
 * absent || true = true). Integer arithmetic wraps (two's complement);
 * x / 0 and x % 0 are absent, for ints and floats alike.
 */
#include <math.h>
#include <string.h>

#include "core/assert.h"
#include "expr/expr_int.h"
#include "sl/event.h"

#define NONE UINT32_MAX

struct xval {
    uint8_t type;  /* enum xt; XT_ABSENT: absent */
    union {
        bool b;
        int64_t i;
        double f;
        struct {
            const char *p;
            uint32_t n;
        } s;
    };
};

/* One evaluation: the event's tables, the payload located lazily. */
struct xctx {
    const struct sl_expr *e;
    const uint8_t *env;                  /* envelope root table */
    const uint8_t *payload;              /* payload root table, or NULL */
    const struct sl_fb_object *object;   /* sl_event: the payload's table */
    uint32_t type_index;                 /* in schemas->types, or NONE */
    bool resolved;
    bool from_event;                     /* payload/object given by an sl_event */
};

static void eval(struct xctx *x, uint32_t node, struct xval *out);

/* ---- locating the payload table ---- */

static uint32_t type_search(const struct sl_fb_schemas *schemas, const char *type, uint32_t len)
{
    uint32_t lo = 0, hi = schemas->type_count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const struct sl_fb_event_type *t = &schemas->types[mid];
        uint32_t n = t->type_len < len ? t->type_len : len;
        int cmp = memcmp(t->type, type, n);
        if (cmp == 0)
            cmp = (t->type_len > len) - (t->type_len < len);
        if (cmp == 0)
            return mid;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NONE;
}

/* Index of the event type named by the envelope's `type`, or NONE. */
static uint32_t type_of_envelope(const struct sl_expr *e, const uint8_t *env)
{
    const uint8_t *field = sl_fb_field_ptr(env, e->voff_type);
    if (!field)
        return NONE;
    const uint8_t *str = sl_fb_deref(field);
    uint32_t len = sl_fb_vec_len(str);
    const char *type = (const char *)sl_fb_vec_data(str);
    const struct sl_fb_schemas *schemas = e->schemas;
    /* relaxed: see struct sl_expr; the index is checked before use */
    uint32_t hint = atomic_load_explicit(&((struct sl_expr *)e)->last_type, memory_order_relaxed);
    if (hint < schemas->type_count && schemas->types[hint].type_len == len &&
        memcmp(schemas->types[hint].type, type, len) == 0)
        return hint;
    uint32_t index = type_search(schemas, type, len);
    if (index != NONE)
        atomic_store_explicit(&((struct sl_expr *)e)->last_type, index, memory_order_relaxed);
    return index;
}

/* Index of an event type whose table is object (sl_event callers). */
static uint32_t type_of_object(const struct sl_expr *e, const struct sl_fb_object *object)
{
    const struct sl_fb_schemas *schemas = e->schemas;
    /* relaxed: see struct sl_expr; the index is checked before use */
    uint32_t hint = atomic_load_explicit(&((struct sl_expr *)e)->last_type, memory_order_relaxed);
    if (hint < schemas->type_count && schemas->types[hint].object == object)
        return hint;
    for (uint32_t t = 0; t < schemas->type_count; t++) {
        if (schemas->types[t].object == object) {
            atomic_store_explicit(&((struct sl_expr *)e)->last_type, t, memory_order_relaxed);
            return t;
        }
    }
    return NONE;
}

static void resolve_payload(struct xctx *x)
{
    x->resolved = true;
    if (x->from_event) {
        x->type_index = x->payload && x->object ? type_of_object(x->e, x->object) : NONE;
        return;
    }
    x->type_index = type_of_envelope(x->e, x->env);
    if (x->type_index == NONE)
        return;
    const uint8_t *field = sl_fb_field_ptr(x->env, x->e->voff_payload);
    const uint8_t *vec = field ? sl_fb_deref(field) : NULL;
    if (vec && sl_fb_vec_len(vec) > 0)
        x->payload = sl_fb_root(sl_fb_vec_data(vec));
    else
        x->type_index = NONE;
}

/* ---- reading fields ---- */

static void read_scalar(const uint8_t *p, uint8_t base, struct xval *out)
{
    out->type = XT_INT;
    switch (base) {
    case SL_FB_BOOL: out->type = XT_BOOL; out->b = sl_fb_u8(p) != 0; break;
    case SL_FB_BYTE: out->i = (int8_t)sl_fb_u8(p); break;
    case SL_FB_UTYPE:
    case SL_FB_UBYTE: out->i = sl_fb_u8(p); break;
    case SL_FB_SHORT: out->i = (int16_t)sl_fb_u16(p); break;
    case SL_FB_USHORT: out->i = sl_fb_u16(p); break;
    case SL_FB_INT: out->i = sl_fb_i32(p); break;
    case SL_FB_UINT: out->i = sl_fb_u32(p); break;
    case SL_FB_LONG: out->i = (int64_t)sl_fb_u64(p); break;
    case SL_FB_ULONG: {
        uint64_t u = sl_fb_u64(p);  /* saturates: ints are signed 64-bit */
        out->i = u > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)u;
        break;
    }
    case SL_FB_FLOAT: {
        float f;
        memcpy(&f, p, 4);
        out->type = XT_FLOAT;
        out->f = f;
        break;
    }
    case SL_FB_DOUBLE: out->type = XT_FLOAT; memcpy(&out->f, p, 8); break;
    default: SL_ASSERT(!"scalar base the compiler does not emit");
    }
}

static void read_default(const struct xstep *st, struct xval *out)
{
    if (st->base == SL_FB_BOOL) {
        out->type = XT_BOOL;
        out->b = st->def_i != 0;
    } else if (sl_fb_base_is_float(st->base)) {
        out->type = XT_FLOAT;
        out->f = st->def_f;
    } else {
        out->type = XT_INT;
        out->i = st->def_i;
    }
}

/* The leaf step st in table/struct t. */
static void read_leaf(const uint8_t *t, const struct xstep *st, struct xval *out)
{
    if (st->op == L_SSCALAR) {
        read_scalar(t + st->off, st->base, out);
        return;
    }
    if (st->op == L_SPRESENT) {
        out->type = XT_OBJECT;
        out->b = true;
        return;
    }
    const uint8_t *p = sl_fb_field_ptr(t, st->off);
    if (!p) {
        if (st->op == L_TSCALAR && !st->optional)
            read_default(st, out);
        else
            out->type = XT_ABSENT;
        return;
    }
    switch (st->op) {
    case L_TSCALAR: read_scalar(p, st->base, out); break;
    case L_TSTRING:
        p = sl_fb_deref(p);
        out->type = XT_STRING;
        out->s.p = (const char *)sl_fb_vec_data(p);
        out->s.n = sl_fb_vec_len(p);
        break;
    case L_TVECTOR:
        out->type = XT_VECTOR;
        out->i = sl_fb_vec_len(sl_fb_deref(p));
        break;
    default:
        out->type = XT_OBJECT;
        out->b = true;
        break;
    }
}

static void run_steps(const uint8_t *t, const struct xstep *st, uint32_t count, struct xval *out)
{
    SL_DASSERT(count > 0);
    for (; count > 1; count--, st++) {
        if (st->op == S_SSTRUCT) {
            t += st->off;
            continue;
        }
        const uint8_t *p = sl_fb_field_ptr(t, st->off);
        if (!p) {
            out->type = XT_ABSENT;
            return;
        }
        t = st->op == S_TABLE ? sl_fb_deref(p) : p;
    }
    read_leaf(t, st, out);
}

static void read_path(struct xctx *x, const struct xpath *path, struct xval *out)
{
    const struct sl_expr *e = x->e;
    if (path->root == R_ENVELOPE) {
        run_steps(x->env, e->steps + path->steps.first, path->steps.count, out);
        return;
    }
    if (!x->resolved)
        resolve_payload(x);
    if (x->type_index == NONE) {
        out->type = XT_ABSENT;
        return;
    }
    struct xrange slot = e->slots[path->steps.first + x->type_index];
    if (slot.count == 0) {
        out->type = XT_ABSENT;
        return;
    }
    run_steps(x->payload, e->steps + slot.first, slot.count, out);
}

/* headers["name"]: the value of the first header whose key is name. O(headers). */
static void read_header(struct xctx *x, const struct xnode *n, struct xval *out)
{
    const struct sl_expr *e = x->e;
    out->type = XT_ABSENT;
    const uint8_t *p = sl_fb_field_ptr(x->env, e->voff_headers);
    if (!p)
        return;
    const uint8_t *vec = sl_fb_deref(p);
    const char *name = e->pool + n->v.s.first;
    uint32_t count = sl_fb_vec_len(vec);
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *header = sl_fb_deref(sl_fb_vec_data(vec) + 4 * (size_t)i);
        const uint8_t *key = sl_fb_field_ptr(header, e->voff_header_key);
        if (!key)
            continue;
        key = sl_fb_deref(key);
        if (sl_fb_vec_len(key) != n->v.s.count || memcmp(sl_fb_vec_data(key), name, n->v.s.count))
            continue;
        const uint8_t *value = sl_fb_field_ptr(header, e->voff_header_value);
        if (value) {
            value = sl_fb_deref(value);
            out->type = XT_STRING;
            out->s.p = (const char *)sl_fb_vec_data(value);
            out->s.n = sl_fb_vec_len(value);
        }
        return;
    }
}

/* ---- operators ---- */

static double num(const struct xval *v) { return v->type == XT_INT ? (double)v->i : v->f; }

static int str_cmp(const struct xval *a, const struct xval *b)
{
    uint32_t n = a->s.n < b->s.n ? a->s.n : b->s.n;
    int c = n ? memcmp(a->s.p, b->s.p, n) : 0;
    return c ? c : (a->s.n > b->s.n) - (a->s.n < b->s.n);
}

/* Three-way comparison of two present values in mode. */
static int compare(uint8_t mode, const struct xval *a, const struct xval *b, bool *unordered)
{
    *unordered = false;
    switch (mode) {
    case XT_INT: return (a->i > b->i) - (a->i < b->i);
    case XT_STRING: return str_cmp(a, b);
    case XT_BOOL: return a->b != b->b;
    default: {
        double x = num(a), y = num(b);
        *unordered = isnan(x) || isnan(y);
        return (x > y) - (x < y);
    }
    }
}

static bool cmp_result(uint8_t op, int c, bool unordered)
{
    if (unordered)
        return op == T_NE;  /* NaN: only != holds */
    switch (op) {
    case T_EQ: return c == 0;
    case T_NE: return c != 0;
    case T_LT: return c < 0;
    case T_LE: return c <= 0;
    case T_GT: return c > 0;
    default: return c >= 0;
    }
}

static void eval_cmp(struct xctx *x, const struct xnode *n, struct xval *out)
{
    struct xval a, b;
    eval(x, n->a, &a);
    if (a.type == XT_ABSENT) {
        out->type = XT_ABSENT;
        return;
    }
    eval(x, n->b, &b);
    if (b.type == XT_ABSENT) {
        out->type = XT_ABSENT;
        return;
    }
    bool unordered;
    int c = compare(n->mode, &a, &b, &unordered);
    out->type = XT_BOOL;
    out->b = cmp_result(n->op, c, unordered);
}

static void arith_int(uint8_t op, int64_t a, int64_t b, struct xval *out)
{
    out->type = XT_INT;
    switch (op) {
    case T_PLUS: out->i = (int64_t)((uint64_t)a + (uint64_t)b); return;
    case T_MINUS: out->i = (int64_t)((uint64_t)a - (uint64_t)b); return;
    case T_STAR: out->i = (int64_t)((uint64_t)a * (uint64_t)b); return;
    default: break;
    }
    if (b == 0) {
        out->type = XT_ABSENT;
        return;
    }
    if (b == -1) {  /* INT64_MIN / -1 overflows: wrap like the others */
        out->i = op == T_SLASH ? (int64_t)(0 - (uint64_t)a) : 0;
        return;
    }
    out->i = op == T_SLASH ? a / b : a % b;
}

static void arith_float(uint8_t op, double a, double b, struct xval *out)
{
    out->type = XT_FLOAT;
    switch (op) {
    case T_PLUS: out->f = a + b; return;
    case T_MINUS: out->f = a - b; return;
    case T_STAR: out->f = a * b; return;
    default: break;
    }
    if (b == 0.0) {
        out->type = XT_ABSENT;
        return;
    }
    out->f = op == T_SLASH ? a / b : fmod(a, b);
}

static void eval_arith(struct xctx *x, const struct xnode *n, struct xval *out)
{
    struct xval a, b;
    eval(x, n->a, &a);
    if (a.type != XT_ABSENT)
        eval(x, n->b, &b);
    if (a.type == XT_ABSENT || b.type == XT_ABSENT) {
        out->type = XT_ABSENT;
        return;
    }
    if (n->mode == XT_INT)
        arith_int(n->op, a.i, b.i, out);
    else
        arith_float(n->op, num(&a), num(&b), out);
}

/* n-ary && (is_and) or ||, three-valued, stopping at the deciding operand. */
static void eval_logic(struct xctx *x, const struct xnode *n, bool is_and,
                       struct xval *out)
{
    bool absent = false;
    for (uint32_t i = 0; i < n->v.r.count; i++) {
        struct xval v;
        eval(x, x->e->args[n->v.r.first + i], &v);
        if (v.type == XT_ABSENT) {
            absent = true;
        } else if (v.b != is_and) {
            out->type = XT_BOOL;
            out->b = !is_and;
            return;
        }
    }
    out->type = absent ? XT_ABSENT : XT_BOOL;
    out->b = is_and;
}

static void eval_in(struct xctx *x, const struct xnode *n, struct xval *out)
{
    struct xval a;
    eval(x, n->a, &a);
    if (a.type == XT_ABSENT) {
        out->type = XT_ABSENT;
        return;
    }
    if (n->mode == XT_FLOAT && a.type == XT_INT) {
        a.f = (double)a.i;
        a.type = XT_FLOAT;
    }
    out->type = XT_BOOL;
    out->b = false;
    for (uint32_t i = 0; i < n->v.r.count && !out->b; i++) {
        const struct xnode *item = &x->e->nodes[x->e->args[n->v.r.first + i]];
        struct xval v = {.type = item->type};
        if (item->type == XT_STRING) {
            v.s.p = x->e->pool + item->v.s.first;
            v.s.n = item->v.s.count;
        } else {
            v.i = item->v.i;  /* the union's widest member carries every scalar */
        }
        bool unordered;
        out->b = compare(n->mode, &a, &v, &unordered) == 0 && !unordered;
    }
}

static bool str_test(uint8_t func, const struct xval *s, const struct xval *p)
{
    if (p->s.n > s->s.n)
        return false;
    switch (func) {
    case F_STARTS_WITH: return memcmp(s->s.p, p->s.p, p->s.n) == 0;
    case F_ENDS_WITH: return memcmp(s->s.p + s->s.n - p->s.n, p->s.p, p->s.n) == 0;
    default: return p->s.n == 0 || memmem(s->s.p, s->s.n, p->s.p, p->s.n) != NULL;
    }
}

static void eval_func(struct xctx *x, const struct xnode *n, struct xval *out)
{
    struct xval a, b;
    eval(x, n->a, &a);
    if (n->op == F_HAS) {
        out->type = XT_BOOL;
        out->b = a.type != XT_ABSENT;
        return;
    }
    if (a.type == XT_ABSENT) {
        out->type = XT_ABSENT;
        return;
    }
    if (n->op == F_LEN) {
        out->type = XT_INT;
        out->i = a.type == XT_STRING ? a.s.n : a.i;
        return;
    }
    eval(x, n->b, &b);
    if (b.type == XT_ABSENT) {
        out->type = XT_ABSENT;
        return;
    }
    out->type = XT_BOOL;
    out->b = str_test(n->op, &a, &b);
}

static void eval_unary(struct xctx *x, const struct xnode *n, struct xval *out)
{
    eval(x, n->a, out);
    if (out->type == XT_ABSENT)
        return;
    if (n->kind == N_NOT)
        out->b = !out->b;
    else if (out->type == XT_INT)
        out->i = (int64_t)(0 - (uint64_t)out->i);
    else
        out->f = -out->f;
}

static void eval(struct xctx *x, uint32_t node, struct xval *out)
{
    const struct sl_expr *e = x->e;
    const struct xnode *n = &e->nodes[node];
    switch (n->kind) {
    case N_CONST:
        out->type = n->type;
        if (n->type == XT_STRING) {
            out->s.p = e->pool + n->v.s.first;
            out->s.n = n->v.s.count;
        } else {
            out->i = n->v.i;  /* the union's widest member carries every scalar */
        }
        return;
    case N_PATH: read_path(x, &e->paths[n->v.u], out); return;
    case N_HEADER: read_header(x, n, out); return;
    case N_NOT:
    case N_NEG: eval_unary(x, n, out); return;
    case N_AND: eval_logic(x, n, true, out); return;
    case N_OR: eval_logic(x, n, false, out); return;
    case N_CMP: eval_cmp(x, n, out); return;
    case N_ARITH: eval_arith(x, n, out); return;
    case N_IN: eval_in(x, n, out); return;
    case N_FUNC: eval_func(x, n, out); return;
    case N_GLOB:
        eval(x, n->a, out);
        if (out->type != XT_ABSENT) {
            bool match = sl_expr_glob_match(e->globs + n->v.r.first, n->v.r.count, e->pool,
                                            out->s.p, out->s.n);
            out->type = XT_BOOL;
            out->b = match;
        }
        return;
    default: SL_ASSERT(!"node kind the checker does not leave");
    }
}

/* ---- entry points ---- */

static int finish(const struct sl_expr *e, const struct xval *v, struct sl_expr_value *out)
{
    memset(out, 0, sizeof(*out));
    out->type = (enum sl_expr_type)e->type;
    if (v->type == XT_ABSENT) {
        out->absent = true;
        return SL_EXPR_ABSENT;
    }
    SL_DASSERT(v->type == e->type);
    if (v->type == XT_STRING) {
        out->s.ptr = v->s.p;
        out->s.len = v->s.n;
    } else if (v->type == XT_BOOL) {
        out->b = v->b;
    } else {
        out->i = v->i;  /* int, or the double's bytes */
    }
    return 0;
}

int sl_expr_eval(const struct sl_expr *e, const uint8_t *event, struct sl_expr_value *out)
{
    struct xctx x = {.e = e, .env = sl_fb_root(event), .type_index = NONE};
    struct xval v;
    eval(&x, e->root, &v);
    return finish(e, &v, out);
}

int sl_expr_eval_event(const struct sl_expr *e, const struct sl_event *ev,
                       struct sl_expr_value *out)
{
    struct xctx x = {.e = e, .env = ev->envelope, .payload = ev->payload,
                     .object = ev->payload_object, .type_index = NONE, .from_event = true};
    struct xval v;
    eval(&x, e->root, &v);
    return finish(e, &v, out);
}

int sl_expr_eval_bool(const struct sl_expr *e, const uint8_t *event)
{
    SL_ASSERT(e->type == SL_EXPR_BOOL);
    struct sl_expr_value v;
    return sl_expr_eval(e, event, &v) ? SL_EXPR_ABSENT : v.b;
}

int sl_expr_eval_event_bool(const struct sl_expr *e, const struct sl_event *ev)
{
    SL_ASSERT(e->type == SL_EXPR_BOOL);
    struct sl_expr_value v;
    return sl_expr_eval_event(e, ev, &v) ? SL_EXPR_ABSENT : v.b;
}
