/* filter.c - passes the events for which `where` is true to "out".
 * An event for which `where` reads an absent field is dropped like a false
 * one, or sent to "errors" with on_absent: error. */
#include <stdlib.h>
#include <string.h>

#include "expr/expr.h"
#include "sl/operator.h"

struct filter_plan {
    struct sl_expr *where;
    bool absent_to_errors;
};

static const struct sl_option filter_options[] = {
    {"where", SL_OPT_EXPR, NULL, true, NULL, "events for which this is true pass"},
    {"on_absent", SL_OPT_ENUM, "drop", false, "drop|error",
     "an event whose `where` reads an absent field: drop it, or send it to errors"},
    {NULL, 0, NULL, false, NULL, NULL},
};

static void filter_plan_free(void *arg)
{
    struct filter_plan *plan = arg;
    sl_expr_destroy(plan->where);
    free(plan);
}

static int filter_compile(struct sl_op_compile *c, void **out)
{
    struct filter_plan *plan = calloc(1, sizeof(*plan));
    if (!plan)
        return -1;
    *out = plan;
    plan->where = sl_op_expr(c, "where", NULL);
    plan->absent_to_errors = strcmp(sl_op_string(c, "on_absent"), "error") == 0;
    if (plan->where && sl_expr_result_type(plan->where) != SL_EXPR_BOOL)
        sl_op_error(c, "where", NULL, "compare or combine values into true/false",
                    "where must be a bool expression, not %s",
                    sl_expr_type_name(sl_expr_result_type(plan->where)));
    return 0;
}

static int filter_create(const void *plan, void **state)
{
    *state = (void *)plan; /* stateless: the plan is all it needs */
    return 0;
}

static void filter_process(void *state, const struct sl_event *events, uint32_t count,
                           struct sl_op_out *out)
{
    const struct filter_plan *plan = state;
    for (uint32_t i = 0; i < count; i++) {
        int r = sl_expr_eval_event_bool(plan->where, &events[i]);
        if (r == 1)
            sl_emit(out, SL_PORT_OUT, &events[i]);
        else if (r == SL_EXPR_ABSENT && plan->absent_to_errors)
            sl_emit_error(out, &events[i], "where: reads an absent field");
    }
}

const struct sl_operator_type sl_op_filter = {
    .name = "filter",
    .summary = "pass the events for which an expression is true",
    .options = filter_options,
    .compile = filter_compile,
    .create = filter_create,
    .process = filter_process,
    .plan_free = filter_plan_free,
};
