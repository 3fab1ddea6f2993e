/*
 * parser.c - recursive descent over the tokens into a syntax tree.
 *
 * Precedence, lowest first:
 *   ||            n-ary
 *   &&            n-ary
 *   !             prefix (also allowed as an operand: a == !b)
 *   == != < <= > >= in ~    non-associative (a < b < c is an error)
 *   + -           left
 *   * / %         left
 *   - !           prefix
 *   primary       literal, (expr), f(args), path, path[expr]
 *
 * The first syntax error stops parsing (reported; every parse function then
 * returns NONE). Recursion and tree height are bounded by SL_EXPR_DEPTH_MAX,
 * and chains of || and && are flattened, so the checker and evaluator
 * recurse at most that deep.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "expr/expr_int.h"

#define NONE UINT32_MAX

/* A growing list of node indices, committed into c->args at the end. */
struct xlist {
    uint32_t *items;
    uint32_t count, cap;
};

static void list_push(struct xlist *l, uint32_t node)
{
    l->items = sl_expr_grow(l->items, &l->cap, sizeof(*l->items), l->count + 1);
    l->items[l->count++] = node;
}

static struct xrange list_commit(struct xc *c, struct xlist *l)
{
    struct xrange r = {c->arg_count, l->count};
    c->args = sl_expr_grow(c->args, &c->arg_cap, sizeof(*c->args), c->arg_count + l->count);
    if (l->count)
        memcpy(c->args + c->arg_count, l->items, l->count * sizeof(*l->items));
    c->arg_count += l->count;
    free(l->items);
    return r;
}

static void syntax_error(struct xc *c, uint32_t off, const char *hint, const char *fmt,
                         const char *arg)
{
    if (!c->syntax_failed)
        sl_expr_error(c, off, hint, fmt, arg);
    c->syntax_failed = true;
}

/* Quoted text of the current token for messages ("end of expression" at EOF). */
static const char *tok_text(struct xc *c, char *buf, size_t cap)
{
    if (c->tok.kind == T_EOF)
        return "end of expression";
    uint32_t n = c->tok.len < 24 ? c->tok.len : 24;
    snprintf(buf, cap, "'%.*s%s'", (int)n, c->src + c->tok.off, c->tok.len > n ? "..." : "");
    return buf;
}

static bool failed(const struct xc *c) { return c->syntax_failed; }

static uint32_t new_node(struct xc *c, uint8_t kind, uint32_t off, uint32_t a, uint32_t b)
{
    c->nodes = sl_expr_grow(c->nodes, &c->node_cap, sizeof(*c->nodes), c->node_count + 1);
    struct xnode *n = &c->nodes[c->node_count];
    memset(n, 0, sizeof(*n));
    n->kind = kind;
    n->off = off;
    n->op_off = off;
    n->a = a;
    n->b = b;
    n->height = 1;
    return c->node_count++;
}

/* Raises node's height over child's; false (reported) beyond the bound. */
static bool over(struct xc *c, uint32_t node, uint32_t child)
{
    struct xnode *n = &c->nodes[node];
    uint8_t h = c->nodes[child].height;
    if (h + 1 > n->height)
        n->height = (uint8_t)(h + 1);
    if (n->height > SL_EXPR_DEPTH_MAX) {
        syntax_error(c, n->off, "split it or use `in [...]`",
                     "expression nested too deeply (more than %s levels)", "64");
        return false;
    }
    return true;
}

static uint32_t node_over_range(struct xc *c, uint32_t node)
{
    struct xnode n = c->nodes[node];
    for (uint32_t i = 0; i < n.v.r.count; i++)
        if (!over(c, node, c->args[n.v.r.first + i]))
            return NONE;
    return node;
}

static bool enter(struct xc *c, uint32_t off)
{
    if (++c->depth > SL_EXPR_DEPTH_MAX) {
        syntax_error(c, off, NULL, "expression nested too deeply (more than %s levels)", "64");
        return false;
    }
    return true;
}

static bool expect(struct xc *c, uint8_t kind, const char *what)
{
    if (failed(c))
        return false;
    if (c->tok.kind != kind) {
        char buf[40], msg[64];
        snprintf(msg, sizeof(msg), "expected %s, found %%s", what);
        syntax_error(c, c->tok.off, NULL, msg, tok_text(c, buf, sizeof(buf)));
        return false;
    }
    sl_expr_lex(c);
    return true;
}

static uint32_t parse_or(struct xc *c);
static uint32_t parse_and(struct xc *c);
static uint32_t parse_chain(struct xc *c, uint8_t op, uint8_t kind,
                            uint32_t (*operand)(struct xc *));

static uint32_t binary(struct xc *c, uint8_t kind, uint8_t op, uint32_t op_off, uint32_t l,
                       uint32_t r)
{
    if (l == NONE || r == NONE)
        return NONE;
    uint32_t node = new_node(c, kind, c->nodes[l].off, l, r);
    c->nodes[node].op = op;
    c->nodes[node].op_off = op_off;
    return over(c, node, l) && over(c, node, r) ? node : NONE;
}

/* Comma-separated expressions up to close (the opener already consumed). */
static bool parse_items(struct xc *c, uint8_t close, const char *what, struct xlist *l)
{
    if (c->tok.kind == close) {
        sl_expr_lex(c);
        return true;
    }
    for (;;) {
        if (l->count == SL_EXPR_LIST_MAX) {
            syntax_error(c, c->tok.off, NULL, "more than %s items", "1024");
            return false;
        }
        uint32_t item = parse_or(c);
        if (item == NONE)
            return false;
        list_push(l, item);
        if (c->tok.kind == T_COMMA && !failed(c)) {
            sl_expr_lex(c);
            continue;
        }
        return expect(c, close, what);
    }
}

static uint8_t func_of(const char *name, uint32_t len)
{
    static const struct {
        const char *name;
        uint8_t func;
    } funcs[] = {
        {"starts_with", F_STARTS_WITH}, {"ends_with", F_ENDS_WITH}, {"contains", F_CONTAINS},
        {"has", F_HAS}, {"len", F_LEN},
    };
    for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
        if (strlen(funcs[i].name) == len && memcmp(funcs[i].name, name, len) == 0)
            return funcs[i].func;
    return F_NONE;
}

/* name( args ) with the name at off..off+len and the '(' current. */
static uint32_t parse_call(struct xc *c, uint32_t off, uint32_t len)
{
    uint8_t func = func_of(c->src + off, len);
    if (func == F_NONE) {
        char name[40];
        snprintf(name, sizeof(name), "%.*s", (int)(len < 32 ? len : 32), c->src + off);
        sl_expr_error(c, off, "functions: starts_with, ends_with, contains, has, len",
                      "unknown function '%s'", name);
    }
    sl_expr_lex(c);
    struct xlist l = {0};
    bool ok = enter(c, off) && parse_items(c, T_RPAREN, "')'", &l);
    c->depth--;
    struct xrange r = list_commit(c, &l);
    if (!ok)
        return NONE;
    uint32_t node = new_node(c, N_CALL, off, NONE, NONE);
    c->nodes[node].op = func;
    c->nodes[node].v.r = r;
    return node_over_range(c, node);
}

/* A field path starting with the identifier at off..off+len (consumed). */
static uint32_t parse_path(struct xc *c, uint32_t off, uint32_t len)
{
    uint32_t first = c->seg_count;
    for (;;) {
        c->segs = sl_expr_grow(c->segs, &c->seg_cap, sizeof(*c->segs), c->seg_count + 1);
        c->segs[c->seg_count++] = (struct xseg){off, len};
        if (c->tok.kind != T_DOT)
            break;
        sl_expr_lex(c);
        if (c->tok.kind != T_IDENT) {
            char buf[40];
            syntax_error(c, c->tok.off, NULL, "expected a field name after '.', found %s",
                         tok_text(c, buf, sizeof(buf)));
            return NONE;
        }
        off = c->tok.off;
        len = c->tok.len;
        sl_expr_lex(c);
    }
    uint32_t node = new_node(c, N_FIELD, c->segs[first].off, NONE, NONE);
    c->nodes[node].v.r = (struct xrange){first, c->seg_count - first};
    if (c->tok.kind != T_LBRACK || failed(c))
        return node;
    uint32_t op_off = c->tok.off;
    sl_expr_lex(c);
    uint32_t index = enter(c, op_off) ? parse_or(c) : NONE;
    c->depth--;
    if (index == NONE || !expect(c, T_RBRACK, "']'"))
        return NONE;
    return binary(c, N_INDEX, 0, op_off, node, index);
}

static uint32_t parse_const(struct xc *c, uint8_t type)
{
    uint32_t node = new_node(c, N_CONST, c->tok.off, NONE, NONE);
    struct xnode *n = &c->nodes[node];
    n->type = type;
    if (c->tok.kind == T_INT) {
        if (c->tok.u > (uint64_t)INT64_MAX) {
            syntax_error(c, c->tok.off, "integers are 64-bit signed", "%s",
                         "integer literal out of range");
            return NONE;
        }
        n->v.i = (int64_t)c->tok.u;
    } else if (c->tok.kind == T_FLOAT) {
        n->v.f = c->tok.f;
    } else if (c->tok.kind == T_STRING) {
        n->v.s = (struct xrange){c->tok.str_off, c->tok.str_len};
    } else {
        n->v.b = c->tok.kind == T_TRUE;
    }
    sl_expr_lex(c);
    return node;
}

static uint32_t parse_primary(struct xc *c)
{
    if (failed(c))
        return NONE;
    uint32_t off = c->tok.off;
    switch (c->tok.kind) {
    case T_INT: return parse_const(c, XT_INT);
    case T_FLOAT: return parse_const(c, XT_FLOAT);
    case T_STRING: return parse_const(c, XT_STRING);
    case T_TRUE:
    case T_FALSE: return parse_const(c, XT_BOOL);
    case T_LPAREN: {
        sl_expr_lex(c);
        uint32_t node = enter(c, off) ? parse_chain(c, T_OR, N_OR, parse_and) : NONE;
        c->depth--;
        return node != NONE && expect(c, T_RPAREN, "')'") ? node : NONE;
    }
    case T_IDENT: {
        uint32_t len = c->tok.len;
        sl_expr_lex(c);
        if (c->tok.kind == T_LPAREN)
            return parse_call(c, off, len);
        return parse_path(c, off, len);
    }
    case T_LBRACK:
        syntax_error(c, off, "write x in [a, b]", "%s", "a list can only follow 'in'");
        return NONE;
    default: {
        char buf[40];
        syntax_error(c, off, c->tok.kind == T_EOF ? "an operand is missing" : NULL,
                     "expected an operand, found %s", tok_text(c, buf, sizeof(buf)));
        return NONE;
    }
    }
}

/* -literal folds into the constant (so that -9223372036854775808 fits). */
static uint32_t parse_negative_literal(struct xc *c, uint32_t off)
{
    uint32_t node = new_node(c, N_CONST, off, NONE, NONE);
    struct xnode *n = &c->nodes[node];
    if (c->tok.kind == T_INT) {
        n->type = XT_INT;
        n->v.i = c->tok.u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)c->tok.u;
    } else {
        n->type = XT_FLOAT;
        n->v.f = -c->tok.f;
    }
    sl_expr_lex(c);
    return node;
}

static uint32_t parse_prefix(struct xc *c, uint32_t (*operand)(struct xc *))
{
    uint8_t kind = c->tok.kind == T_NOT ? N_NOT : N_NEG;
    uint32_t off = c->tok.off;
    sl_expr_lex(c);
    if (kind == N_NEG && (c->tok.kind == T_INT || c->tok.kind == T_FLOAT))
        return parse_negative_literal(c, off);
    uint32_t x = enter(c, off) ? operand(c) : NONE;
    c->depth--;
    if (x == NONE)
        return NONE;
    uint32_t node = new_node(c, kind, off, x, NONE);
    return over(c, node, x) ? node : NONE;
}

static uint32_t parse_unary(struct xc *c)
{
    if (!failed(c) && (c->tok.kind == T_MINUS || c->tok.kind == T_NOT))
        return parse_prefix(c, parse_unary);
    return parse_primary(c);
}

static uint32_t parse_mul(struct xc *c)
{
    uint32_t l = parse_unary(c);
    while (l != NONE && !failed(c) &&
           (c->tok.kind == T_STAR || c->tok.kind == T_SLASH || c->tok.kind == T_PERCENT)) {
        uint8_t op = c->tok.kind;
        uint32_t op_off = c->tok.off;
        sl_expr_lex(c);
        l = binary(c, N_ARITH, op, op_off, l, parse_unary(c));
    }
    return l;
}

static uint32_t parse_add(struct xc *c)
{
    uint32_t l = parse_mul(c);
    while (l != NONE && !failed(c) && (c->tok.kind == T_PLUS || c->tok.kind == T_MINUS)) {
        uint8_t op = c->tok.kind;
        uint32_t op_off = c->tok.off;
        sl_expr_lex(c);
        l = binary(c, N_ARITH, op, op_off, l, parse_mul(c));
    }
    return l;
}

static bool is_comparison(uint8_t kind)
{
    return (kind >= T_EQ && kind <= T_GE) || kind == T_IN || kind == T_TILDE;
}

static uint32_t parse_list(struct xc *c)
{
    uint32_t off = c->tok.off;
    if (!expect(c, T_LBRACK, "'[' after 'in'"))
        return NONE;
    struct xlist l = {0};
    bool ok = enter(c, off) && parse_items(c, T_RBRACK, "']'", &l);
    c->depth--;
    struct xrange r = list_commit(c, &l);
    if (!ok)
        return NONE;
    uint32_t node = new_node(c, N_LIST, off, NONE, NONE);
    c->nodes[node].v.r = r;
    return node_over_range(c, node);
}

static uint32_t parse_cmp(struct xc *c)
{
    uint32_t l = parse_add(c);
    if (l == NONE || failed(c) || !is_comparison(c->tok.kind))
        return l;
    uint8_t op = c->tok.kind;
    uint32_t op_off = c->tok.off;
    sl_expr_lex(c);
    uint32_t node;
    if (op == T_IN)
        node = binary(c, N_IN, op, op_off, l, parse_list(c));
    else
        node = binary(c, op == T_TILDE ? N_GLOB : N_CMP, op, op_off, l, parse_add(c));
    if (node != NONE && !failed(c) && is_comparison(c->tok.kind)) {
        syntax_error(c, c->tok.off, "combine comparisons with && (a < b && b < c)", "%s",
                     "comparisons do not chain");
        return NONE;
    }
    return node;
}

static uint32_t parse_not(struct xc *c)
{
    if (!failed(c) && c->tok.kind == T_NOT)
        return parse_prefix(c, parse_not);
    return parse_cmp(c);
}

/* operand (op operand)* flattened into one n-ary node. */
static uint32_t parse_chain(struct xc *c, uint8_t op, uint8_t kind,
                            uint32_t (*operand)(struct xc *))
{
    uint32_t first = operand(c);
    if (first == NONE || failed(c) || c->tok.kind != op)
        return first;
    struct xlist l = {0};
    list_push(&l, first);
    while (!failed(c) && c->tok.kind == op) {
        sl_expr_lex(c);
        uint32_t x = operand(c);
        if (x == NONE)
            break;
        list_push(&l, x);
    }
    bool ok = !failed(c);
    struct xrange r = list_commit(c, &l);
    if (!ok)
        return NONE;
    uint32_t node = new_node(c, kind, c->nodes[first].off, NONE, NONE);
    c->nodes[node].v.r = r;
    return node_over_range(c, node);
}

static uint32_t parse_and(struct xc *c) { return parse_chain(c, T_AND, N_AND, parse_not); }

static uint32_t parse_or(struct xc *c)
{
    uint32_t node = enter(c, c->tok.off) ? parse_chain(c, T_OR, N_OR, parse_and) : NONE;
    c->depth--;
    return node;
}

uint32_t sl_expr_parse(struct xc *c)
{
    sl_expr_lex(c);
    if (c->tok.kind == T_EOF) {
        syntax_error(c, 0, "write a predicate such as payload.amount > 100", "%s",
                     "empty expression");
        return NONE;
    }
    uint32_t root = parse_or(c);
    if (root == NONE || failed(c))
        return NONE;
    if (c->tok.kind != T_EOF) {
        char buf[40];
        syntax_error(c, c->tok.off, "an operator is missing, or a parenthesis is unbalanced",
                     "unexpected %s", tok_text(c, buf, sizeof(buf)));
        return NONE;
    }
    SL_ASSERT(c->depth == 0);
    return root;
}
