/*
 * path.c - resolves field paths (`key`, `payload.shipping.city`,
 * `payload.total.units`) into runs of read steps at fixed vtable and
 * struct offsets.
 *
 * An envelope path resolves once against sluice.Event. A payload path
 * (through the envelope field whose payload table follows from `type`)
 * resolves against every payload table: xc.slots gets one run per event
 * type, empty where that type's table lacks the path (read as absent).
 * It is an error when no table has the path, or when tables disagree on
 * the leaf's type (for ints, on the enum too). Cost: O(path length *
 * event types * log fields), at compile time only.
 */
#include <stdio.h>
#include <string.h>

#include "core/assert.h"
#include "expr/expr_int.h"

enum walk_result { W_OK, W_MISSING, W_NOT_TABLE, W_UNSUPPORTED };

/* The leaf's type: what must agree across payload tables. */
struct leaf {
    uint8_t type;                       /* enum xt */
    const struct sl_fb_enum *enum_def;  /* ints read from an enum field */
};

/* The closest field name to a missing segment, for "did you mean". */
struct suggestion {
    uint32_t seg;          /* index of the segment it replaces */
    uint32_t distance;     /* edit distance; UINT32_MAX: none */
    const char *name;
    uint32_t name_len;
};

/* What went wrong in the walk that got furthest, for the message. */
struct failure {
    uint8_t result;        /* W_NOT_TABLE / W_UNSUPPORTED, or W_MISSING */
    const struct sl_fb_field *field;
    struct suggestion suggestion;
};

struct walk {
    const struct xseg *segs;
    uint32_t count;
    uint32_t seg_base;     /* index of segs[0] in the whole path */
    struct leaf leaf;
    struct xrange steps;
};

/* Edit distance of two short names (insertions, deletions, substitutions
 * and swaps of neighbours, each 1); names over 32 bytes never match. */
static uint32_t edit_distance(const char *a, uint32_t an, const char *b, uint32_t bn)
{
    if (an > 32 || bn > 32)
        return UINT32_MAX;
    uint32_t d[33][33];
    for (uint32_t i = 0; i <= an; i++)
        d[i][0] = i;
    for (uint32_t j = 0; j <= bn; j++)
        d[0][j] = j;
    for (uint32_t i = 1; i <= an; i++) {
        for (uint32_t j = 1; j <= bn; j++) {
            uint32_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[an][bn];
}

static void suggest(struct xc *c, struct failure *f, const struct sl_fb_object *parent,
                    uint32_t seg, const struct xseg *s)
{
    uint32_t limit = s->len / 3 > 1 ? s->len / 3 : 1;
    for (uint32_t i = 0; i < parent->field_count; i++) {
        const struct sl_fb_field *field = &parent->fields[i];
        if (field->deprecated)
            continue;
        uint32_t d = edit_distance(c->src + s->off, s->len, field->name, field->name_len);
        if (d > limit)
            continue;
        struct suggestion *best = &f->suggestion;
        if (best->distance == UINT32_MAX || seg > best->seg ||
            (seg == best->seg && d < best->distance))
            *best = (struct suggestion){seg, d, field->name, field->name_len};
    }
}

static void add_step(struct xc *c, struct xstep step)
{
    c->steps = sl_expr_grow(c->steps, &c->step_cap, sizeof(*c->steps), c->step_count + 1);
    c->steps[c->step_count++] = step;
}

static uint8_t xt_of_base(uint8_t base)
{
    if (base == SL_FB_BOOL)
        return XT_BOOL;
    if (sl_fb_base_is_integer(base))
        return XT_INT;
    if (sl_fb_base_is_float(base))
        return XT_FLOAT;
    if (base == SL_FB_STRING)
        return XT_STRING;
    if (base == SL_FB_VECTOR)
        return XT_VECTOR;
    if (base == SL_FB_OBJ)
        return XT_OBJECT;
    return XT_ABSENT;  /* unions, fixed arrays */
}

/* The leaf step reading field of a table (in_struct false) or struct. */
static void leaf_step(struct xc *c, const struct sl_fb_field *field, bool in_struct,
                      struct leaf *leaf)
{
    uint8_t base = field->type.base;
    leaf->type = xt_of_base(base);
    leaf->enum_def = NULL;
    struct xstep step = {.base = base, .off = field->offset};
    if (leaf->type == XT_BOOL || leaf->type == XT_INT || leaf->type == XT_FLOAT) {
        step.op = in_struct ? L_SSCALAR : L_TSCALAR;
        step.optional = field->optional;
        step.def_i = field->default_integer;
        step.def_f = field->default_real;
        if (leaf->type == XT_INT && field->type.index >= 0)
            leaf->enum_def = sl_fb_schema_enum(field->owner->schema, field->type.index);
    } else if (leaf->type == XT_STRING) {
        step.op = L_TSTRING;
    } else if (leaf->type == XT_VECTOR) {
        step.op = L_TVECTOR;
    } else {
        step.op = in_struct ? L_SPRESENT : L_TPRESENT;
    }
    add_step(c, step);
}

/* Walks w->segs from object; W_OK with the steps in w->steps, or a failure
 * recorded in f (the steps added are dropped). */
static int walk(struct xc *c, const struct sl_fb_object *object, struct walk *w,
                struct failure *f)
{
    uint32_t first = c->step_count;
    bool in_struct = object->is_struct;
    for (uint32_t i = 0; i < w->count; i++) {
        const struct xseg *s = &w->segs[i];
        const struct sl_fb_field *field = sl_fb_object_field(object, c->src + s->off, s->len);
        int result = W_OK;
        if (!field || field->deprecated) {
            if (c->diag_count < c->diag_max)  /* only for a message that is kept */
                suggest(c, f, object, w->seg_base + i, s);
            result = W_MISSING;
        } else if (i + 1 < w->count && field->type.base != SL_FB_OBJ) {
            result = W_NOT_TABLE;
        } else if (i + 1 == w->count && xt_of_base(field->type.base) == XT_ABSENT) {
            result = W_UNSUPPORTED;
        }
        if (result != W_OK) {
            if (result != W_MISSING)
                *f = (struct failure){(uint8_t)result, field, f->suggestion};
            c->step_count = first;
            return result;
        }
        if (i + 1 == w->count) {
            leaf_step(c, field, in_struct, &w->leaf);
            break;
        }
        const struct sl_fb_object *target = sl_fb_schema_object(object->schema,
                                                                field->type.index);
        uint8_t op = in_struct ? S_SSTRUCT : target->is_struct ? S_TSTRUCT : S_TABLE;
        add_step(c, (struct xstep){.op = op, .off = field->offset});
        object = target;
        in_struct = target->is_struct;
    }
    w->steps = (struct xrange){first, c->step_count - first};
    return W_OK;
}

static void leaf_name(const struct leaf *leaf, char *buf, size_t cap)
{
    if (leaf->enum_def)
        snprintf(buf, cap, "enum %s", leaf->enum_def->short_name);
    else
        snprintf(buf, cap, "%s", sl_expr_xt_name(leaf->type));
}

/* Text of the path as written, for messages. */
static int path_text_len(const struct xc *c, const struct xnode *node)
{
    const struct xseg *s = &c->segs[node->v.r.first];
    const struct xseg *last = s + node->v.r.count - 1;
    uint32_t n = last->off + last->len - s->off;
    return (int)(n < 120 ? n : 120);
}

static void report_failure(struct xc *c, const struct xnode *node, const struct failure *f,
                           bool payload)
{
    const char *text = c->src + node->off;
    int n = path_text_len(c, node);
    if (f->result == W_NOT_TABLE) {
        sl_expr_error(c, node->off, "only tables and structs have fields",
                      "'%.*s': '%s' is %s, not a table", n, text, f->field->name,
                      sl_expr_xt_name(xt_of_base(f->field->type.base)));
        return;
    }
    if (f->result == W_UNSUPPORTED) {
        sl_expr_error(c, node->off, "expressions read scalars, strings, vectors and tables",
                      "'%.*s' is of type %s, which expressions cannot read", n, text,
                      sl_fb_base_name(f->field->type.base));
        return;
    }
    char hint[SL_EXPR_DIAG_TEXT];
    const struct suggestion *s = &f->suggestion;
    if (s->distance != UINT32_MAX) {
        const struct xseg *seg = &c->segs[node->v.r.first + s->seg];
        snprintf(hint, sizeof(hint), "did you mean '%.*s%.*s'?", (int)(seg->off - node->off),
                 text, (int)s->name_len, s->name);
    } else if (payload) {
        snprintf(hint, sizeof(hint), "no payload table (of %u event types) has it",
                 c->schemas->type_count);
    } else {
        snprintf(hint, sizeof(hint), "envelope fields: id, type, version, key, ts, "
                 "correlation_id, causation_id, headers, payload.<field>");
    }
    sl_expr_error(c, node->off, hint, "unknown field '%.*s'", n, text);
}

static void make_path(struct xc *c, struct xnode *node, uint8_t root, const struct leaf *leaf,
                      struct xrange steps)
{
    c->paths = sl_expr_grow(c->paths, &c->path_cap, sizeof(*c->paths), c->path_count + 1);
    c->paths[c->path_count] = (struct xpath){root, leaf->type, steps};
    node->kind = N_PATH;
    node->type = leaf->type;
    node->enum_def = leaf->enum_def;
    node->v.u = c->path_count++;
}

/* Two payload tables read the path as different types. */
static void report_disagreement(struct xc *c, const struct xnode *node, const struct leaf *a,
                                uint32_t ta, const struct leaf *b, uint32_t tb)
{
    char an[64], bn[64];
    leaf_name(a, an, sizeof(an));
    leaf_name(b, bn, sizeof(bn));
    const struct sl_fb_event_type *types = c->schemas->types;
    sl_expr_error(c, node->off, "payload tables must agree on a field's type to share a path",
                  "'%.*s' is %s in %s but %s in %s", path_text_len(c, node),
                  c->src + node->off, an, types[ta].object->short_name, bn,
                  types[tb].object->short_name);
}

static void resolve_payload(struct xc *c, struct xnode *node)
{
    const struct sl_fb_schemas *schemas = c->schemas;
    uint32_t first = c->slot_count;
    c->slots = sl_expr_grow(c->slots, &c->slot_cap, sizeof(*c->slots),
                            c->slot_count + schemas->type_count);
    c->slot_count += schemas->type_count;
    struct failure f = {W_MISSING, NULL, {0, UINT32_MAX, NULL, 0}};
    struct leaf leaf = {XT_ABSENT, NULL};
    uint32_t leaf_t = 0;
    for (uint32_t t = 0; t < schemas->type_count; t++) {
        struct walk w = {&c->segs[node->v.r.first + 1], node->v.r.count - 1, 1, {0}, {0, 0}};
        c->slots[first + t] = (struct xrange){0, 0};
        if (walk(c, schemas->types[t].object, &w, &f) != W_OK)
            continue;
        c->slots[first + t] = w.steps;
        if (leaf.type == XT_ABSENT) {
            leaf = w.leaf;
            leaf_t = t;
        } else if (leaf.type != w.leaf.type || leaf.enum_def != w.leaf.enum_def) {
            report_disagreement(c, node, &leaf, leaf_t, &w.leaf, t);
            node->type = XT_ABSENT;
            return;
        }
    }
    if (leaf.type == XT_ABSENT) {
        report_failure(c, node, &f, true);
        node->type = XT_ABSENT;
        return;
    }
    make_path(c, node, R_PAYLOAD, &leaf, (struct xrange){first, schemas->type_count});
}

void sl_expr_resolve_path(struct xc *c, struct xnode *node)
{
    SL_ASSERT(node->kind == N_FIELD);
    const struct sl_fb_object *envelope = c->schemas->envelope;
    const struct xseg *s = &c->segs[node->v.r.first];
    const struct sl_fb_field *field = sl_fb_object_field(envelope, c->src + s->off, s->len);
    if (field && field->nested == SL_FB_NESTED_BY_TYPE && node->v.r.count > 1) {
        resolve_payload(c, node);
        return;
    }
    struct failure f = {W_MISSING, NULL, {0, UINT32_MAX, NULL, 0}};
    struct walk w = {s, node->v.r.count, 0, {0}, {0, 0}};
    if (walk(c, envelope, &w, &f) != W_OK) {
        report_failure(c, node, &f, false);
        node->type = XT_ABSENT;
        return;
    }
    make_path(c, node, R_ENVELOPE, &w.leaf, w.steps);
}
