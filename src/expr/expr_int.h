/*
 * expr_int.h - internals of the expression compiler and evaluator.
 *
 * Pipeline: lexer.c (tokens) -> parser.c (syntax tree in xc.nodes) ->
 * check.c (types; rewrites nodes in place into their evaluable forms) with
 * path.c (field paths -> read steps, per payload table) and glob.c (pattern
 * tokens) -> compile.c (copies every array into one block: struct sl_expr)
 * -> eval.c (walks the tree).
 *
 * Everything refers to everything else by index, so the arrays can be
 * copied into the final block unchanged.
 */
#ifndef SL_EXPR_INT_H
#define SL_EXPR_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "expr/expr.h"
#include "fb/fb.h"

/* Value types: the public ones, plus internal ones only has()/len() take. */
enum xt {
    XT_ABSENT = 0,  /* a runtime value: absent; a static type: error seen */
    XT_BOOL = SL_EXPR_BOOL,
    XT_INT = SL_EXPR_INT,
    XT_FLOAT = SL_EXPR_FLOAT,
    XT_STRING = SL_EXPR_STRING,
    XT_VECTOR,      /* value: i = element count */
    XT_OBJECT,      /* a table or struct; value: present or not */
};

enum xtok_kind {
    T_EOF, T_ERROR, T_IDENT, T_INT, T_FLOAT, T_STRING, T_TRUE, T_FALSE, T_IN,
    T_LPAREN, T_RPAREN, T_LBRACK, T_RBRACK, T_COMMA, T_DOT,
    T_NOT, T_AND, T_OR, T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE,
    T_PLUS, T_MINUS, T_STAR, T_SLASH, T_PERCENT, T_TILDE,
};

struct xtok {
    uint8_t kind;     /* enum xtok_kind */
    uint32_t off;     /* byte offset in the text */
    uint32_t len;     /* bytes of text */
    uint64_t u;       /* T_INT: magnitude (up to 2^63, for a negated literal) */
    double f;         /* T_FLOAT */
    uint32_t str_off; /* T_STRING: decoded bytes in xc.pool */
    uint32_t str_len;
};

enum xnode_kind {
    /* parser output */
    N_CONST,    /* type + v */
    N_FIELD,    /* v.r: segments in xc.segs */
    N_INDEX,    /* a[b]: a an N_FIELD, b the index expression */
    N_CALL,     /* op: enum xfunc; v.r: argument nodes in xc.args */
    N_LIST,     /* v.r: item nodes in xc.args */
    N_NOT, N_NEG,                 /* a */
    N_AND, N_OR,                  /* n-ary: v.r in xc.args */
    N_CMP, N_ARITH,               /* op: enum xtok_kind; a, b; mode */
    N_IN,       /* a in b (an N_LIST); check: v.r = items, converted to mode */
    N_GLOB,     /* a ~ b (a string constant); check: v.r = tokens in xc.globs */
    /* check output */
    N_PATH,     /* v.u = index in xc.paths */
    N_HEADER,   /* v.s = header name in xc.pool */
    N_FUNC,     /* op: enum xfunc; a, b */
};

enum xfunc { F_NONE, F_STARTS_WITH, F_ENDS_WITH, F_CONTAINS, F_HAS, F_LEN };

struct xrange {
    uint32_t first, count;
};

struct xnode {
    uint8_t kind;     /* enum xnode_kind */
    uint8_t op;       /* operator token or function */
    uint8_t type;     /* enum xt: result type (after check) */
    uint8_t mode;     /* enum xt: operand type of CMP / ARITH / IN */
    uint8_t height;   /* 1 + tallest child */
    uint32_t off;     /* where it starts in the text (diagnostics) */
    uint32_t op_off;  /* operator position for binary nodes */
    uint32_t a, b;    /* children */
    const struct sl_fb_enum *enum_def; /* int paths read from an enum field */
    union {
        bool b;
        int64_t i;
        double f;
        uint32_t u;
        struct xrange r;
        struct xrange s;  /* string bytes in pool */
    } v;
};

/* A path segment: a name in the expression text. */
struct xseg {
    uint32_t off, len;
};

/* One read of a compiled path; a path is a run of steps ending in a leaf. */
enum xstep_op {
    S_TABLE,      /* table field -> that table (absent when unset) */
    S_TSTRUCT,    /* table field -> its inline struct (absent when unset) */
    S_SSTRUCT,    /* struct field -> nested struct at off */
    L_TSCALAR,    /* leaf: scalar in a table: default or (optional) absent when unset */
    L_SSCALAR,    /* leaf: scalar in a struct */
    L_TSTRING,    /* leaf: string in a table */
    L_TVECTOR,    /* leaf: vector in a table (its length) */
    L_TPRESENT,   /* leaf: table or struct in a table (present or not) */
    L_SPRESENT,   /* leaf: struct in a struct (always present) */
};

struct xstep {
    uint8_t op;       /* enum xstep_op */
    uint8_t base;     /* enum sl_fb_base of a scalar leaf */
    bool optional;    /* L_TSCALAR: unset reads as absent, not the default */
    uint16_t off;     /* vtable offset (T*) or byte offset in the struct (S*) */
    int64_t def_i;    /* L_TSCALAR default (integers, bools) */
    double def_f;     /* L_TSCALAR default (floats) */
};

enum xroot { R_ENVELOPE, R_PAYLOAD };

/* A resolved path: from the envelope, one run of steps; from the payload,
 * one run per event type (xc.slots[first + type index]). */
struct xpath {
    uint8_t root;     /* enum xroot */
    uint8_t type;     /* enum xt of the leaf */
    struct xrange steps;  /* R_ENVELOPE: run in xc.steps; R_PAYLOAD: first slot */
};

/* glob pattern token; literal bytes in pool */
enum xglob_kind { G_LIT, G_ONE, G_STAR };
struct xglob {
    uint8_t kind;
    uint32_t off, len;
};

/* Grows *arr (of elem-byte items, *cap of them) to hold need; aborts on OOM. */
void *sl_expr_grow(void *arr, uint32_t *cap, size_t elem, uint32_t need);

/* Compiler state (control plane, one compile call). */
struct xc {
    const char *src;
    uint32_t len;
    const struct sl_fb_schemas *schemas;
    struct sl_expr_diag *diags;
    size_t diag_max, diag_count;
    uint32_t errors;        /* reported, including those past diag_max */
    bool syntax_failed;     /* parsing stopped */
    /* lexer */
    uint32_t pos;
    struct xtok tok;        /* current token */
    uint32_t depth;         /* parser recursion */
    /* arrays (by index) */
    struct xnode *nodes;   uint32_t node_count, node_cap;
    uint32_t *args;        uint32_t arg_count, arg_cap;
    struct xseg *segs;     uint32_t seg_count, seg_cap;
    struct xstep *steps;   uint32_t step_count, step_cap;
    struct xpath *paths;   uint32_t path_count, path_cap;
    struct xrange *slots;  uint32_t slot_count, slot_cap;
    struct xglob *globs;   uint32_t glob_count, glob_cap;
    char *pool;            uint32_t pool_len, pool_cap;
    /* envelope layout */
    uint16_t voff_type, voff_payload, voff_headers;
    uint16_t voff_header_key, voff_header_value;
};

/* The compiled expression: one block; arrays follow the header. */
struct sl_expr {
    const struct sl_fb_schemas *schemas;
    uint32_t root;          /* node index */
    uint8_t type;           /* enum sl_expr_type */
    bool uses_payload;
    uint16_t voff_type, voff_payload, voff_headers;
    uint16_t voff_header_key, voff_header_value;
    /* relaxed: a hint only (index into the immutable schemas->types, or
     * UINT32_MAX); any value read is valid, so no ordering is needed */
    _Atomic uint32_t last_type;
    const struct xnode *nodes;
    const uint32_t *args;
    const struct xstep *steps;
    const struct xpath *paths;
    const struct xrange *slots;
    const struct xglob *globs;
    const char *pool;
};

/* diagnostics (compile.c): at byte offset off; hint may be NULL */
void sl_expr_error(struct xc *c, uint32_t off, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
uint32_t sl_expr_pool_add(struct xc *c, const void *bytes, uint32_t len);
const char *sl_expr_xt_name(uint8_t type);

/* lexer.c: reads the next token into c->tok (T_ERROR: reported) */
void sl_expr_lex(struct xc *c);
/* parser.c: builds the tree; returns the root node or UINT32_MAX (reported) */
uint32_t sl_expr_parse(struct xc *c);
/* check.c: types the tree rooted at node, rewriting nodes; returns its type */
uint8_t sl_expr_check(struct xc *c, uint32_t node);
/* path.c: resolves an N_FIELD node into an N_PATH (or reports) */
void sl_expr_resolve_path(struct xc *c, struct xnode *node);
/* glob.c: compiles the pattern at pool offset pat (len bytes) into tokens */
struct xrange sl_expr_glob_compile(struct xc *c, uint32_t pat, uint32_t len);
bool sl_expr_glob_match(const struct xglob *tokens, uint32_t count, const char *pool,
                        const char *s, uint32_t n);

#endif
