/* route.c - sends each event to the port of the first case (mode: first)
 * or of every case (mode: all) whose expression is true, and to "default"
 * when none is. A case that reads an absent field counts as false. */
#include <stdlib.h>
#include <string.h>

#include "expr/expr.h"
#include "sl/operator.h"

#define ROUTE_CASES_MAX 60u /* SL_PORTS_MAX less out, errors, default */

struct route_plan {
    struct sl_expr *cases[ROUTE_CASES_MAX];
    uint32_t ports[ROUTE_CASES_MAX];
    uint32_t count;
    uint32_t default_port;
    bool all;
};

static const struct sl_option route_options[] = {
    {"cases", SL_OPT_MAP, NULL, true, NULL,
     "port: expression, in order; each case becomes the output port NODE.port"},
    {"mode", SL_OPT_ENUM, "first", false, "first|all",
     "first: the first true case only; all: every true case"},
    {NULL, 0, NULL, false, NULL, NULL},
};

static void route_plan_free(void *arg)
{
    struct route_plan *plan = arg;
    for (uint32_t i = 0; i < plan->count; i++)
        sl_expr_destroy(plan->cases[i]);
    free(plan);
}

static int route_compile(struct sl_op_compile *c, void **out)
{
    struct route_plan *plan = calloc(1, sizeof(*plan));
    if (!plan)
        return -1;
    *out = plan;
    plan->all = strcmp(sl_op_string(c, "mode"), "all") == 0;
    uint32_t n = sl_op_map_count(c, "cases");
    if (n > ROUTE_CASES_MAX) {
        sl_op_error(c, "cases", NULL, NULL, "at most %u cases", ROUTE_CASES_MAX);
        return 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        const char *name = sl_op_map_name(c, "cases", i);
        if (strcmp(name, "out") == 0 || strcmp(name, "errors") == 0 ||
            strcmp(name, "default") == 0) {
            sl_op_error(c, "cases", name, "out, errors and default are taken",
                        "case name '%s' is reserved", name);
            continue;
        }
        struct sl_expr *expr = sl_op_expr(c, "cases", name);
        int port = sl_op_add_port(c, name);
        if (!expr || port < 0) {
            sl_expr_destroy(expr);
            continue;
        }
        if (sl_expr_result_type(expr) != SL_EXPR_BOOL)
            sl_op_error(c, "cases", name, "compare or combine values into true/false",
                        "case %s must be a bool expression, not %s", name,
                        sl_expr_type_name(sl_expr_result_type(expr)));
        plan->cases[plan->count] = expr;
        plan->ports[plan->count++] = (uint32_t)port;
    }
    int port = sl_op_add_port(c, "default");
    plan->default_port = port < 0 ? SL_PORT_OUT : (uint32_t)port;
    return 0;
}

static int route_create(const void *plan, void **state)
{
    *state = (void *)plan; /* stateless */
    return 0;
}

static void route_process(void *state, const struct sl_event *events, uint32_t count,
                          struct sl_op_out *out)
{
    const struct route_plan *plan = state;
    for (uint32_t i = 0; i < count; i++) {
        bool matched = false;
        for (uint32_t k = 0; k < plan->count; k++) {
            if (sl_expr_eval_event_bool(plan->cases[k], &events[i]) != 1)
                continue;
            sl_emit(out, plan->ports[k], &events[i]);
            matched = true;
            if (!plan->all)
                break;
        }
        if (!matched)
            sl_emit(out, plan->default_port, &events[i]);
    }
}

const struct sl_operator_type sl_op_route = {
    .name = "route",
    .summary = "send each event to the port of the first (or every) true case",
    .options = route_options,
    .compile = route_compile,
    .create = route_create,
    .process = route_process,
    .plan_free = route_plan_free,
};
