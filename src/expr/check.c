/*
 * check.c - the type checker: types every node bottom-up, resolves field
 * paths (path.c), turns enum names compared with enum fields into their
 * numbers, converts `in` lists to one operand type, compiles glob patterns
 * (glob.c), and rewrites parser nodes into their evaluable forms.
 *
 * Types: bool, int (64-bit), float (double), string; int and float mix in
 * arithmetic and comparisons (the int is converted). A node whose subtree
 * already failed has type XT_ABSENT and reports nothing more, so each
 * mistake is reported once and every independent mistake is reported.
 */
#include <stdio.h>
#include <string.h>

#include "core/assert.h"
#include "expr/expr_int.h"

#define ERR XT_ABSENT
#define NONE UINT32_MAX

static bool is_num(uint8_t t) { return t == XT_INT || t == XT_FLOAT; }

static const char *op_text(uint8_t op)
{
    switch (op) {
    case T_EQ: return "==";
    case T_NE: return "!=";
    case T_LT: return "<";
    case T_LE: return "<=";
    case T_GT: return ">";
    case T_GE: return ">=";
    case T_PLUS: return "+";
    case T_MINUS: return "-";
    case T_STAR: return "*";
    case T_SLASH: return "/";
    case T_PERCENT: return "%";
    case T_AND: return "&&";
    case T_OR: return "||";
    default: return "?";
    }
}

/* Tables and vectors are only for has() / len(). */
static bool reject_container(struct xc *c, const struct xnode *n)
{
    if (n->type != XT_VECTOR && n->type != XT_OBJECT)
        return false;
    sl_expr_error(c, n->off, n->type == XT_VECTOR ? "use len(...) or has(...)"
                                                  : "use has(...) or name one of its fields",
                  "this is a %s, not a value", sl_expr_xt_name(n->type));
    return true;
}

/* Enum value names for a hint: "Region values: eu, us, apac, latam". */
static void enum_hint(const struct sl_fb_enum *e, char *hint, size_t cap)
{
    size_t n = (size_t)snprintf(hint, cap, "%s values:", e->short_name);
    for (uint32_t i = 0; i < e->val_count && n < cap; i++)
        n += (size_t)snprintf(hint + n, cap - n, "%s %s", i ? "," : "", e->vals[i].name);
    if (n >= cap && cap > 4)
        memcpy(hint + cap - 4, "...", 4);
}

/* A string constant compared with an enum field becomes the value's number. */
static bool enum_const(struct xc *c, struct xnode *k, const struct sl_fb_enum *e)
{
    const struct sl_fb_enum_val *val = sl_fb_enum_by_name(e, c->pool + k->v.s.first,
                                                          k->v.s.count);
    if (!val) {
        char hint[SL_EXPR_DIAG_TEXT];
        enum_hint(e, hint, sizeof(hint));
        sl_expr_error(c, k->off, hint, "unknown %s '%.*s'", e->short_name,
                      (int)(k->v.s.count < 64 ? k->v.s.count : 64), c->pool + k->v.s.first);
        return false;
    }
    k->type = XT_INT;
    k->v.i = val->value;
    return true;
}

/* If one side is an enum field and the other a string constant, converts
 * the constant. Returns false when that failed (reported). */
static bool enum_sides(struct xc *c, struct xnode *a, struct xnode *b)
{
    if (a->enum_def && b->kind == N_CONST && b->type == XT_STRING)
        return enum_const(c, b, a->enum_def);
    if (b->enum_def && a->kind == N_CONST && a->type == XT_STRING)
        return enum_const(c, a, b->enum_def);
    return true;
}

static uint8_t check_cmp(struct xc *c, struct xnode *n)
{
    struct xnode *a = &c->nodes[n->a], *b = &c->nodes[n->b];
    uint8_t lt = sl_expr_check(c, n->a), rt = sl_expr_check(c, n->b);
    if (lt == ERR || rt == ERR || reject_container(c, a) || reject_container(c, b) ||
        !enum_sides(c, a, b))
        return ERR;
    lt = a->type;
    rt = b->type;
    bool ordering = n->op != T_EQ && n->op != T_NE;
    if (is_num(lt) && is_num(rt)) {
        n->mode = lt == XT_FLOAT || rt == XT_FLOAT ? XT_FLOAT : XT_INT;
    } else if (lt == rt && (lt == XT_STRING || (lt == XT_BOOL && !ordering))) {
        n->mode = lt;
    } else if (lt == rt) {
        sl_expr_error(c, n->op_off, "bools compare only with == and !=",
                      "cannot order bools with '%s'", op_text(n->op));
        return ERR;
    } else {
        const char *hint = (a->enum_def || b->enum_def) && (lt == XT_STRING || rt == XT_STRING)
                               ? "enum names must be string literals"
                               : "compare numbers with numbers, strings with strings";
        sl_expr_error(c, n->op_off, hint, "cannot compare %s with %s", sl_expr_xt_name(lt),
                      sl_expr_xt_name(rt));
        return ERR;
    }
    return XT_BOOL;
}

static uint8_t check_arith(struct xc *c, struct xnode *n)
{
    uint8_t lt = sl_expr_check(c, n->a), rt = sl_expr_check(c, n->b);
    if (lt == ERR || rt == ERR)
        return ERR;
    if (!is_num(lt) || !is_num(rt)) {
        sl_expr_error(c, n->op_off, "arithmetic works on int and float",
                      "'%s' needs numbers, found %s", op_text(n->op),
                      sl_expr_xt_name(is_num(lt) ? rt : lt));
        return ERR;
    }
    n->mode = lt == XT_FLOAT || rt == XT_FLOAT ? XT_FLOAT : XT_INT;
    return n->mode;
}

static uint8_t check_logic(struct xc *c, struct xnode *n)
{
    uint8_t type = XT_BOOL;
    for (uint32_t i = 0; i < n->v.r.count; i++) {
        uint32_t arg = c->args[n->v.r.first + i];
        uint8_t t = sl_expr_check(c, arg);
        if (t != ERR && t != XT_BOOL) {
            sl_expr_error(c, c->nodes[arg].off, "compare it to get a bool, e.g. x != \"\"",
                          "'%s' needs bool operands, found %s",
                          n->kind == N_AND ? "&&" : "||", sl_expr_xt_name(t));
            t = ERR;
        }
        if (t == ERR)
            type = ERR;
    }
    return type;
}

static uint8_t check_prefix(struct xc *c, struct xnode *n)
{
    uint8_t t = sl_expr_check(c, n->a);
    if (t == ERR)
        return ERR;
    bool ok = n->kind == N_NOT ? t == XT_BOOL : is_num(t);
    if (!ok) {
        sl_expr_error(c, n->off, n->kind == N_NOT ? "'!' negates a bool" : "'-' negates a number",
                      "'%s' needs a %s, found %s", n->kind == N_NOT ? "!" : "-",
                      n->kind == N_NOT ? "bool" : "number", sl_expr_xt_name(t));
        return ERR;
    }
    return t;
}

/* One `in` list item against the operand type lt; converted in place. */
static bool check_item(struct xc *c, const struct xnode *lhs, struct xnode *item, uint8_t mode)
{
    if (item->kind != N_CONST) {
        sl_expr_check(c, (uint32_t)(item - c->nodes));
        sl_expr_error(c, item->off, "write the values out: x in [1, 2, 3]",
                      "list items must be literals");
        return false;
    }
    if (lhs->enum_def && item->type == XT_STRING)
        return enum_const(c, item, lhs->enum_def);
    bool ok = is_num(mode) ? is_num(item->type) : item->type == mode;
    if (!ok) {
        sl_expr_error(c, item->off, "every item must have the type of the left side",
                      "list item is %s, but the left side is %s", sl_expr_xt_name(item->type),
                      sl_expr_xt_name(lhs->type));
        return false;
    }
    if (mode == XT_FLOAT && item->type == XT_INT) {
        item->type = XT_FLOAT;
        item->v.f = (double)item->v.i;
    }
    return true;
}

static uint8_t check_in(struct xc *c, struct xnode *n)
{
    uint8_t lt = sl_expr_check(c, n->a);
    const struct xnode *lhs = &c->nodes[n->a];
    if (lt == ERR || reject_container(c, lhs))
        return ERR;
    struct xrange items = c->nodes[n->b].v.r;
    uint8_t mode = lt;
    for (uint32_t i = 0; i < items.count && lt == XT_INT; i++) {
        const struct xnode *item = &c->nodes[c->args[items.first + i]];
        if (item->kind == N_CONST && item->type == XT_FLOAT)
            mode = XT_FLOAT;
    }
    bool ok = true;
    for (uint32_t i = 0; i < items.count; i++)
        ok &= check_item(c, lhs, &c->nodes[c->args[items.first + i]], mode);
    n->mode = mode;
    n->v.r = items;
    return ok ? XT_BOOL : ERR;
}

static uint8_t check_glob(struct xc *c, struct xnode *n)
{
    uint8_t lt = sl_expr_check(c, n->a);
    struct xnode *pat = &c->nodes[n->b];
    if (pat->kind != N_CONST || pat->type != XT_STRING) {
        sl_expr_check(c, n->b);
        sl_expr_error(c, pat->off, "write the pattern in quotes: type ~ \"order.*\"",
                      "the pattern after '~' must be a string literal");
        return ERR;
    }
    if (lt == ERR)
        return ERR;
    if (lt != XT_STRING) {
        sl_expr_error(c, n->op_off, "glob patterns match strings",
                      "'~' needs a string on its left, found %s", sl_expr_xt_name(lt));
        return ERR;
    }
    n->v.r = sl_expr_glob_compile(c, pat->v.s.first, pat->v.s.count);
    return XT_BOOL;
}

/* headers["name"]: the value of the first header with that key. */
static uint8_t check_index(struct xc *c, struct xnode *n)
{
    const struct xnode *base = &c->nodes[n->a];
    const struct xnode *index = &c->nodes[n->b];
    const struct xseg *s = &c->segs[base->v.r.first];
    const struct sl_fb_field *field = sl_fb_object_field(c->schemas->envelope, c->src + s->off,
                                                         s->len);
    if (base->v.r.count != 1 || !field || field->offset != c->voff_headers) {
        sl_expr_error(c, n->op_off, "headers[\"name\"] is the only lookup by name",
                      "only headers can be indexed");
        return ERR;
    }
    if (index->kind != N_CONST || index->type != XT_STRING) {
        sl_expr_check(c, n->b);
        sl_expr_error(c, index->off, "write headers[\"trace-id\"]",
                      "a header name must be a string literal");
        return ERR;
    }
    n->kind = N_HEADER;
    n->v.s = index->v.s;
    return XT_STRING;
}

static const char *func_name(uint8_t func)
{
    static const char *const names[] = {"?", "starts_with", "ends_with", "contains", "has",
                                        "len"};
    return names[func];
}

/* Argument i of a call must have type want (XT_ABSENT: string or vector). */
static bool check_arg(struct xc *c, const struct xnode *n, uint32_t arg, uint8_t want)
{
    uint8_t t = c->nodes[arg].type;
    if (t == ERR)
        return false;
    bool ok = want == ERR ? t == XT_STRING || t == XT_VECTOR : t == want;
    if (!ok)
        sl_expr_error(c, c->nodes[arg].off, NULL, "%s() needs a %s, found %s",
                      func_name(n->op), want == ERR ? "string or vector" : sl_expr_xt_name(want),
                      sl_expr_xt_name(t));
    return ok;
}

static uint8_t check_call(struct xc *c, struct xnode *n)
{
    struct xrange r = n->v.r;
    for (uint32_t i = 0; i < r.count; i++)
        sl_expr_check(c, c->args[r.first + i]);
    if (n->op == F_NONE)
        return ERR;  /* reported by the parser */
    uint32_t want = n->op <= F_CONTAINS ? 2 : 1;
    if (r.count != want) {
        sl_expr_error(c, n->off, want == 2 ? "e.g. starts_with(type, \"order.\")" : NULL,
                      "%s() takes %u argument%s, got %u", func_name(n->op), want,
                      want == 2 ? "s" : "", r.count);
        return ERR;
    }
    uint32_t a = c->args[r.first], b = want == 2 ? c->args[r.first + 1] : NONE;
    bool ok;
    if (n->op == F_HAS) {
        uint8_t kind = c->nodes[a].kind;
        ok = kind == N_PATH || kind == N_HEADER;
        if (!ok && c->nodes[a].type != ERR)
            sl_expr_error(c, c->nodes[a].off, "e.g. has(payload.coupon)",
                          "has() takes a field path");
    } else if (n->op == F_LEN) {
        ok = check_arg(c, n, a, ERR);
    } else {
        ok = check_arg(c, n, a, XT_STRING);
        ok &= check_arg(c, n, b, XT_STRING);
    }
    n->kind = N_FUNC;
    n->a = a;
    n->b = b;
    return !ok ? ERR : n->op == F_LEN ? XT_INT : XT_BOOL;
}

static uint8_t check_node(struct xc *c, struct xnode *n)
{
    switch (n->kind) {
    case N_CONST: return n->type;
    case N_FIELD: sl_expr_resolve_path(c, n); return n->type;
    case N_INDEX: return check_index(c, n);
    case N_CALL: return check_call(c, n);
    case N_NOT:
    case N_NEG: return check_prefix(c, n);
    case N_AND:
    case N_OR: return check_logic(c, n);
    case N_CMP: return check_cmp(c, n);
    case N_ARITH: return check_arith(c, n);
    case N_IN: return check_in(c, n);
    case N_GLOB: return check_glob(c, n);
    default: break;
    }
    SL_ASSERT(!"node kind the parser does not make");
    return ERR;
}

uint8_t sl_expr_check(struct xc *c, uint32_t node)
{
    struct xnode *n = &c->nodes[node];
    uint8_t type = check_node(c, n);
    n->type = type;
    return type;
}
