/* project.c - builds a new payload of a target table from expressions over
 * each event (select, rename and compute fields) and emits it in a copy of
 * the event's envelope (id, key, ts, correlation and causation ids, headers
 * kept) whose type is the target's event type. A value that does not fit
 * its field, or a required field whose expression is absent, sends the
 * event to "errors"; an absent optional field is left out. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr/expr.h"
#include "fb/fb.h"
#include "sl/operator.h"

#define PROJECT_FIELDS_MAX 256u

struct project_field {
    const struct sl_fb_field *field;
    const struct sl_fb_enum *enum_type;  /* enum-typed targets */
    struct sl_expr *expr;
    char reason[96];                     /* "field amount: out of range" etc. */
};

struct project_plan {
    const struct sl_fb_object *target;
    const char *type;                    /* event type of the output */
    struct project_field fields[PROJECT_FIELDS_MAX];
    uint32_t count;
};

struct project_state {
    const struct project_plan *plan;
    struct sl_fbb builder;
    sl_fb_ref refs[PROJECT_FIELDS_MAX];
};

static const struct sl_option project_options[] = {
    {"target", SL_OPT_STRING, NULL, true, NULL, "table of the payload to build (e.g. OrderSummary)"},
    {"fields", SL_OPT_MAP, NULL, true, NULL,
     "target field: expression, for each field to set (scalars, enums, strings)"},
    {"event_type", SL_OPT_STRING, NULL, false, NULL,
     "event type of the output; default: the target table's (event: \"...\")"},
    {NULL, 0, NULL, false, NULL, NULL},
};

static void project_plan_free(void *arg)
{
    struct project_plan *plan = arg;
    for (uint32_t i = 0; i < plan->count; i++)
        sl_expr_destroy(plan->fields[i].expr);
    free(plan);
}

/* Whether an expression of type t can set field. */
static bool assignable(const struct sl_fb_field *field, const struct sl_fb_enum *e,
                       enum sl_expr_type t)
{
    unsigned base = field->type.base;
    if (base == SL_FB_STRING)
        return t == SL_EXPR_STRING;
    if (base == SL_FB_BOOL)
        return t == SL_EXPR_BOOL;
    if (sl_fb_base_is_float(base))
        return t == SL_EXPR_INT || t == SL_EXPR_FLOAT;
    if (e)
        return t == SL_EXPR_INT || t == SL_EXPR_STRING;
    return t == SL_EXPR_INT;
}

static void compile_field(struct sl_op_compile *c, struct project_plan *plan, const char *name)
{
    const struct sl_fb_field *field = sl_fb_object_field(plan->target, name, strlen(name));
    if (!field || field->deprecated) {
        sl_op_error(c, "fields", name, "see `sluice schema TABLE` for its fields",
                    "%s has no field '%s'", plan->target->name, name);
        return;
    }
    unsigned base = field->type.base;
    if (base != SL_FB_STRING && !(sl_fb_base_is_scalar(base) && base != SL_FB_UTYPE)) {
        sl_op_error(c, "fields", name, "project sets scalars, enums and strings",
                    "%s.%s is a %s and cannot be built from an expression", plan->target->name,
                    name, sl_fb_base_name(base));
        return;
    }
    struct project_field *pf = &plan->fields[plan->count];
    pf->field = field;
    pf->enum_type = sl_fb_schema_enum(plan->target->schema, field->type.index);
    pf->expr = sl_op_expr(c, "fields", name);
    if (!pf->expr)
        return;
    enum sl_expr_type t = sl_expr_result_type(pf->expr);
    if (!assignable(field, pf->enum_type, t)) {
        sl_op_error(c, "fields", name, NULL, "%s.%s is %s; the expression is %s",
                    plan->target->name, name, sl_fb_base_name(base), sl_expr_type_name(t));
        sl_expr_destroy(pf->expr);
        return;
    }
    snprintf(pf->reason, sizeof(pf->reason), "field %s: value does not fit %s", name,
             pf->enum_type ? pf->enum_type->short_name : sl_fb_base_name(base));
    plan->count++;
}

static int project_compile(struct sl_op_compile *c, void **out)
{
    struct project_plan *plan = calloc(1, sizeof(*plan));
    if (!plan)
        return -1;
    *out = plan;
    const char *target = sl_op_string(c, "target");
    plan->target = target ? sl_fb_schemas_find_object(sl_op_schemas(c), target) : NULL;
    if (!plan->target || plan->target->is_struct) {
        sl_op_error(c, "target", NULL, "name a table of the job's schemas (sluice schema)",
                    "no table '%s' (or the short name is ambiguous)", target ? target : "");
        return 0;
    }
    plan->type = sl_op_string(c, "event_type");
    if (!plan->type)
        plan->type = plan->target->event_type;
    if (!plan->type)
        sl_op_error(c, "target", NULL, "set event_type: or mark the table (event: \"...\")",
                    "%s has no event type", plan->target->name);
    uint32_t n = sl_op_map_count(c, "fields");
    for (uint32_t i = 0; i < n && plan->count < PROJECT_FIELDS_MAX; i++)
        compile_field(c, plan, sl_op_map_name(c, "fields", i));
    for (uint32_t i = 0; i < plan->target->field_count; i++) {
        const struct sl_fb_field *field = &plan->target->fields[i];
        bool set = false;
        for (uint32_t k = 0; k < plan->count; k++)
            set |= plan->fields[k].field == field;
        if (field->required && !set)
            sl_op_error(c, "fields", NULL, "add it under fields:",
                        "%s requires field '%s', which fields: does not set", plan->target->name,
                        field->name);
    }
    return 0;
}

static int project_create(const void *plan, void **out)
{
    struct project_state *state = calloc(1, sizeof(*state));
    if (!state)
        return -1;
    state->plan = plan;
    sl_fbb_init(&state->builder, 4096);
    *out = state;
    return 0;
}

static void project_destroy(void *arg)
{
    struct project_state *state = arg;
    sl_fbb_fini(&state->builder);
    free(state);
}

/* value as the field's little-endian bytes; false when it does not fit */
static bool encode_scalar(const struct project_field *pf, const struct sl_expr_value *v,
                          uint8_t out[8])
{
    unsigned base = pf->field->type.base;
    if (base == SL_FB_FLOAT || base == SL_FB_DOUBLE) {
        double d = v->type == SL_EXPR_INT ? (double)v->i : v->f;
        float f = (float)d;
        memcpy(out, base == SL_FB_FLOAT ? (void *)&f : (void *)&d, base == SL_FB_FLOAT ? 4 : 8);
        return true;
    }
    int64_t i;
    if (v->type == SL_EXPR_BOOL) {
        i = v->b;
    } else if (v->type == SL_EXPR_STRING) {
        const struct sl_fb_enum_val *val = sl_fb_enum_by_name(pf->enum_type, v->s.ptr, v->s.len);
        if (!val)
            return false;
        i = val->value;
    } else {
        i = v->i;
    }
    static const int64_t lo[] = {[SL_FB_BOOL] = 0, [SL_FB_BYTE] = INT8_MIN, [SL_FB_UBYTE] = 0,
                                 [SL_FB_SHORT] = INT16_MIN, [SL_FB_USHORT] = 0,
                                 [SL_FB_INT] = INT32_MIN, [SL_FB_UINT] = 0,
                                 [SL_FB_LONG] = INT64_MIN, [SL_FB_ULONG] = 0};
    static const int64_t hi[] = {[SL_FB_BOOL] = 1, [SL_FB_BYTE] = INT8_MAX,
                                 [SL_FB_UBYTE] = UINT8_MAX, [SL_FB_SHORT] = INT16_MAX,
                                 [SL_FB_USHORT] = UINT16_MAX, [SL_FB_INT] = INT32_MAX,
                                 [SL_FB_UINT] = UINT32_MAX, [SL_FB_LONG] = INT64_MAX,
                                 [SL_FB_ULONG] = INT64_MAX};
    if (i < lo[base] || i > hi[base])
        return false;
    memcpy(out, &i, 8); /* little-endian: the low bytes are the value */
    return true;
}

static void default_bytes(const struct sl_fb_field *field, uint8_t out[8])
{
    memset(out, 0, 8);
    if (field->type.base == SL_FB_FLOAT) {
        float f = (float)field->default_real;
        memcpy(out, &f, 4);
    } else if (field->type.base == SL_FB_DOUBLE) {
        memcpy(out, &field->default_real, 8);
    } else {
        memcpy(out, &field->default_integer, 8);
    }
}

/* Builds the payload for ev; NULL with *reason when it cannot. */
static const uint8_t *build_payload(struct project_state *state, const struct sl_event *ev,
                                    size_t *len, const char **reason)
{
    const struct project_plan *plan = state->plan;
    struct sl_fbb *b = &state->builder;
    struct sl_expr_value values[PROJECT_FIELDS_MAX];
    sl_fbb_reset(b);
    for (uint32_t i = 0; i < plan->count; i++) {
        const struct project_field *pf = &plan->fields[i];
        sl_expr_eval_event(pf->expr, ev, &values[i]);
        if (values[i].absent && pf->field->required) {
            *reason = "a required field's expression is absent";
            return NULL;
        }
        state->refs[i] = 0;
        if (!values[i].absent && pf->field->type.base == SL_FB_STRING)
            state->refs[i] = sl_fbb_string(b, values[i].s.ptr, values[i].s.len);
    }
    sl_fbb_table_start(b);
    for (uint32_t i = 0; i < plan->count; i++) {
        const struct project_field *pf = &plan->fields[i];
        if (values[i].absent)
            continue;
        if (pf->field->type.base == SL_FB_STRING) {
            sl_fbb_add_ref(b, pf->field->offset, state->refs[i]);
            continue;
        }
        uint8_t v[8], d[8];
        if (!encode_scalar(pf, &values[i], v)) {
            b->in_table = false;
            *reason = pf->reason;
            return NULL;
        }
        default_bytes(pf->field, d);
        sl_fbb_add_scalar(b, pf->field->offset, v, sl_fb_base_size(pf->field->type.base), d,
                          pf->field->optional);
    }
    return sl_fbb_finish(b, sl_fbb_table_end(b), false, len);
}

static void project_process(void *arg, const struct sl_event *events, uint32_t count,
                            struct sl_op_out *out)
{
    struct project_state *state = arg;
    const struct project_plan *plan = state->plan;
    uint32_t type_len = (uint32_t)strlen(plan->type);
    for (uint32_t i = 0; i < count; i++) {
        size_t len;
        const char *reason = NULL;
        const uint8_t *payload = build_payload(state, &events[i], &len, &reason);
        if (!payload) {
            sl_emit_error(out, &events[i], reason);
            continue;
        }
        int rc = sl_emit_payload(out, SL_PORT_OUT, &events[i], plan->type, type_len, payload,
                                 (uint32_t)len, (uint32_t)state->builder.minalign);
        if (rc)
            sl_emit_error(out, &events[i],
                          rc == -E2BIG ? "output larger than a batch takes (runtime batch_bytes)"
                                       : "output arena full");
    }
}

const struct sl_operator_type sl_op_project = {
    .name = "project",
    .summary = "build a new payload of a target table from expressions",
    .options = project_options,
    .compile = project_compile,
    .create = project_create,
    .process = project_process,
    .destroy = project_destroy,
    .plan_free = project_plan_free,
};
