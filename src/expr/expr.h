/*
 * expr.h - sluice's expression language (docs/expressions.md): a small typed
 * language compiled once against the schemas and evaluated per event with
 * no allocation.
 *
 *   payload.amount > 1000 && payload.region in ["eu", "us"]
 *   type ~ "order.*" && !has(payload.coupon) && headers["trace"] != ""
 *
 * Compilation (control plane) resolves every field path to reads at fixed
 * vtable / struct offsets, per payload table where the path depends on the
 * event's type, checks types, turns enum names into numbers and compiles
 * glob patterns; errors carry the 1-based line:col within the expression
 * text. Evaluation (data path) walks the compiled tree over one verified
 * event, reads only the fields it needs, and allocates nothing.
 *
 * Absent values: a path that is not there (string, table or vector not
 * stored, optional scalar unset, payload empty or of an unknown type, or
 * the event's payload table has no such field) is "absent"; so is a
 * division by zero. Operators on absent operands yield absent, except
 * has() (never absent) and the three-valued `&&`, `||`.
 *
 * @locality: a compiled expression is immutable apart from a one-word
 * type cache (a relaxed atomic), so any number of threads may evaluate it
 * at once. The schemas must outlive it.
 */
#ifndef SL_EXPR_H
#define SL_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sl_fb_schemas;
struct sl_event;
struct sl_expr;

#define SL_EXPR_LEN_MAX 65536u   /* bytes of expression text */
#define SL_EXPR_DEPTH_MAX 64u    /* nesting: parentheses, prefix operators, tree height */
#define SL_EXPR_LIST_MAX 1024u   /* items of an `in` list */
#define SL_EXPR_DIAG_TEXT 192u   /* bytes of a diagnostic's message or hint */

/* sl_expr_eval / sl_expr_eval_bool result for an absent value. */
#define SL_EXPR_ABSENT 2

enum sl_expr_type {
    SL_EXPR_BOOL = 1,
    SL_EXPR_INT,     /* int64_t */
    SL_EXPR_FLOAT,   /* double */
    SL_EXPR_STRING,  /* bytes + length; not NUL-terminated */
};

/* One value. absent: the fields below type carry nothing. */
struct sl_expr_value {
    enum sl_expr_type type;
    bool absent;
    union {
        bool b;
        int64_t i;
        double f;
        struct {
            const char *ptr;  /* into the event or the expression's constants */
            uint32_t len;
        } s;
    };
};

/* A compile error at line:col (1-based; col counts characters) of the text. */
struct sl_expr_diag {
    uint32_t line, col;
    char message[SL_EXPR_DIAG_TEXT];
    char hint[SL_EXPR_DIAG_TEXT];  /* what to do about it, or "" */
};

/*
 * Compiles src[0..len) against schemas (envelope plus every payload table
 * with an event type). On success stores the expression in *expr and
 * returns 0. Otherwise returns -EINVAL, leaves *expr NULL and stores up to
 * diag_max diagnostics, ordered by position, in diags (*diag_count of them):
 * one syntax error at most, then every type and field error found. Allocates
 * the expression in one block; costs O(len * payload tables).
 */
int sl_expr_compile(const char *src, size_t len, const struct sl_fb_schemas *schemas,
                    struct sl_expr **expr, struct sl_expr_diag *diags, size_t diag_max,
                    size_t *diag_count);
void sl_expr_destroy(struct sl_expr *expr);

/* Static type of the expression's value. */
enum sl_expr_type sl_expr_result_type(const struct sl_expr *expr);
/* Whether the expression reads the payload (so the event's type matters). */
bool sl_expr_uses_payload(const struct sl_expr *expr);

/*
 * Evaluates over a verified sluice.Event buffer (unprefixed: event points at
 * the root offset; nested payload verified too). The payload table follows
 * from the event's `type` (the last type seen is cached). Returns 0 with the
 * value in *out, or SL_EXPR_ABSENT with out->absent set. No allocation;
 * O(nodes + path depth); strings and `in` lists cost their length.
 */
int sl_expr_eval(const struct sl_expr *expr, const uint8_t *event, struct sl_expr_value *out);
/* As sl_expr_eval, over an event whose envelope and payload tables the
 * worker has already located (sl/event.h). */
int sl_expr_eval_event(const struct sl_expr *expr, const struct sl_event *ev,
                       struct sl_expr_value *out);

/* For a bool expression (asserted): 1 true, 0 false, SL_EXPR_ABSENT. */
int sl_expr_eval_bool(const struct sl_expr *expr, const uint8_t *event);
int sl_expr_eval_event_bool(const struct sl_expr *expr, const struct sl_event *ev);

/* "bool", "int", "float", "string". */
const char *sl_expr_type_name(enum sl_expr_type type);

#endif
