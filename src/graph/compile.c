/* compile.c - the sl_op_* functions operators and connectors call from
 * compile(): typed access to their node's settings (defaults from the
 * options table), expressions compiled against the job's schemas with
 * errors at their file positions, and output port declarations. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "expr/expr.h"
#include "graph/compile_int.h"
#include "graph/options.h"

const struct sl_fb_schemas *sl_op_schemas(const struct sl_op_compile *c) { return &c->job->schemas; }

const char *sl_op_node_name(const struct sl_op_compile *c) { return c->node->name; }

static struct sl_conf *setting(struct sl_op_compile *c, const char *key)
{
    return sl_conf_get(c->node->conf, key);
}

const char *sl_op_string(struct sl_op_compile *c, const char *key)
{
    struct sl_conf *conf = setting(c, key);
    if (conf && conf->kind == SL_CONF_SCALAR)
        return conf->value;
    const struct sl_option *o = sl_opt_find(c->node->options, key);
    SL_ASSERT(o); /* an operator reads only the settings it declares */
    return o->default_value;
}

long long sl_op_int(struct sl_op_compile *c, const char *key)
{
    const char *text = sl_op_string(c, key);
    long long v = 0;
    const struct sl_option *o = sl_opt_find(c->node->options, key);
    if (o->type == SL_OPT_SIZE || o->type == SL_OPT_DURATION) {
        uint64_t u = 0;
        if (text)
            (o->type == SL_OPT_SIZE ? sl_opt_parse_size : sl_opt_parse_duration)(text, &u);
        return (long long)u;
    }
    if (text)
        sl_opt_parse_int(text, &v); /* checked by sl_opt_check already */
    return v;
}

bool sl_op_bool(struct sl_op_compile *c, const char *key)
{
    const char *text = sl_op_string(c, key);
    bool v = false;
    if (text)
        sl_opt_parse_bool(text, &v);
    return v;
}

static struct sl_conf *map_entry(struct sl_op_compile *c, const char *key, uint32_t i)
{
    struct sl_conf *map = setting(c, key);
    struct sl_conf *e = map && map->kind == SL_CONF_MAP ? map->child : NULL;
    while (e && i--)
        e = e->next;
    return e;
}

uint32_t sl_op_map_count(struct sl_op_compile *c, const char *key)
{
    struct sl_conf *map = setting(c, key);
    return map && map->kind == SL_CONF_MAP ? sl_conf_count(map) : 0;
}

const char *sl_op_map_name(struct sl_op_compile *c, const char *key, uint32_t i)
{
    struct sl_conf *e = map_entry(c, key, i);
    return e ? e->key : NULL;
}

const char *sl_op_map_value(struct sl_op_compile *c, const char *key, uint32_t i)
{
    struct sl_conf *e = map_entry(c, key, i);
    return e && e->kind == SL_CONF_SCALAR ? e->value : NULL;
}

uint32_t sl_op_list_count(struct sl_op_compile *c, const char *key)
{
    struct sl_conf *list = setting(c, key);
    if (!list)
        return 0;
    return list->kind == SL_CONF_SCALAR ? 1 : list->kind == SL_CONF_SEQ ? sl_conf_count(list) : 0;
}

const char *sl_op_list_item(struct sl_op_compile *c, const char *key, uint32_t i)
{
    struct sl_conf *list = setting(c, key);
    if (list && list->kind == SL_CONF_SCALAR)
        return i == 0 ? list->value : NULL;
    struct sl_conf *e = list && list->kind == SL_CONF_SEQ ? list->child : NULL;
    while (e && i--)
        e = e->next;
    return e && e->kind == SL_CONF_SCALAR ? e->value : NULL;
}

static struct sl_conf *find_value(struct sl_op_compile *c, const char *key, const char *entry)
{
    struct sl_conf *conf = setting(c, key);
    if (conf && entry)
        conf = sl_conf_get(conf, entry);
    return conf;
}

void sl_op_error(struct sl_op_compile *c, const char *key, const char *entry, const char *hint,
                 const char *fmt, ...)
{
    struct sl_conf *conf = key ? find_value(c, key, entry) : NULL;
    uint32_t line = conf ? conf->line : c->node->conf->key_line;
    uint32_t col = conf ? conf->col : c->node->conf->key_col;
    char *message;
    va_list ap;
    va_start(ap, fmt);
    SL_ASSERT(vasprintf(&message, fmt, ap) >= 0);
    va_end(ap);
    sl_diag_add(c->diags, line, col, hint, "%s: %s", c->node->name, message);
    free(message);
    c->failed = true;
}

struct sl_expr *sl_op_expr(struct sl_op_compile *c, const char *key, const char *entry)
{
    struct sl_conf *conf = find_value(c, key, entry);
    if (!conf || conf->kind != SL_CONF_SCALAR) {
        sl_op_error(c, key, entry, NULL, "missing expression '%s'", entry ? entry : key);
        return NULL;
    }
    struct sl_expr_diag diags[16];
    size_t count = 0;
    struct sl_expr *expr = NULL;
    if (sl_expr_compile(conf->value, strlen(conf->value), &c->job->schemas, &expr, diags, 16,
                        &count) == 0)
        return expr;
    for (size_t i = 0; i < count; i++) {
        /* a one-line plain scalar maps column for column; quotes add one */
        uint32_t line = conf->line + diags[i].line - 1;
        uint32_t col = diags[i].line == 1 ? conf->col + diags[i].col - 1 + conf->quoted
                                          : diags[i].col;
        sl_diag_add(c->diags, line, col, diags[i].hint[0] ? diags[i].hint : NULL, "%s: %s",
                    c->node->name, diags[i].message);
    }
    if (count == 0)
        sl_op_error(c, key, entry, NULL, "expression does not compile");
    c->failed = true;
    return NULL;
}

int sl_op_add_port(struct sl_op_compile *c, const char *name)
{
    struct sl_job_node *node = c->node;
    for (uint32_t p = 0; p < node->port_count; p++) {
        if (strcmp(node->ports[p], name) == 0) {
            sl_op_error(c, NULL, NULL, NULL, "port '%s' declared twice", name);
            return -1;
        }
    }
    if (node->port_count == SL_PORTS_MAX) {
        sl_op_error(c, NULL, NULL, NULL, "more than %u ports", SL_PORTS_MAX);
        return -1;
    }
    node->ports[node->port_count] = strdup(name);
    return (int)node->port_count++;
}
