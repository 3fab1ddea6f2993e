/*
 * job.c - job file -> checked graph (see job.h). Steps, each collecting
 * every error it finds: top-level keys; schemas; nodes and their settings
 * against their type's options table; each node's compile() (expressions,
 * ports); edges from `input:`; then the graph as a whole: cycles, outputs
 * nothing reads, and a topological order for the runtime.
 */
#include "graph/job.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "graph/compile_int.h"
#include "graph/options.h"

static const char *const section_names[] = {"sources", "operators", "sinks"};

static const struct sl_option job_options[] = {
    {"job", SL_OPT_STRING, NULL, true, NULL, "name of the job"},
    {"schemas", SL_OPT_LIST, NULL, false, NULL,
     "schemas to load: embedded names (orders) or .bfbs files; default: every embedded one"},
    {"workers", SL_OPT_INT, "1", false, NULL, "copies of the graph, one thread each"},
    {"key_groups", SL_OPT_INT, "128", false, NULL,
     "key groups keys hash to (murmur2); fixed for the job's life"},
    {"exactly_once", SL_OPT_BOOL, "false", false, NULL,
     "Kafka transactions: the outputs of the job's one kafka sink and the offsets of its one "
     "kafka source commit together (docs/kafka.md); needs exactly those two connectors"},
    {"runtime", SL_OPT_MAP, NULL, false, NULL,
     "batch sizes of the runtime, which bound the job's memory (docs/memory.md; `sluice help "
     "runtime`)"},
    {"sources", SL_OPT_MAP, NULL, true, NULL, "source nodes by name"},
    {"operators", SL_OPT_MAP, NULL, false, NULL, "operator nodes by name"},
    {"sinks", SL_OPT_MAP, NULL, true, NULL, "sink nodes by name"},
    {NULL, 0, NULL, false, NULL, NULL},
};

static const struct sl_option runtime_options[] = {
    {"batch_events", SL_OPT_INT, "1024", false, NULL, "events per batch, 16..1024"},
    {"batch_bytes", SL_OPT_SIZE, "4MiB", false, NULL,
     "event bytes per batch, 64KiB..4MiB; an event over batch_bytes minus 4KiB (kept for error "
     "headers) goes to its source's errors port, and a tcp or file source's max_frame plus its "
     "4-byte prefix must be at most that"},
    {"batches", SL_OPT_INT, "64", false, NULL,
     "batches in each source's pool and in each worker's pool of batches for the sinks, "
     "4..4096, at least the workers and the sinks they feed: with the batch sizes, the bound "
     "on the events a job holds"},
    {NULL, 0, NULL, false, NULL, NULL},
};

const struct sl_option *sl_job_options(void) { return job_options; }
const struct sl_option *sl_job_runtime_options(void) { return runtime_options; }

/* "a, b, c" of an options table's keys, for hints. */
static void option_keys(const struct sl_option *table, const char *extra, char *out, size_t len)
{
    size_t n = (size_t)snprintf(out, len, "%s", extra);
    for (; table && table->key && n < len; table++)
        n += (size_t)snprintf(out + n, len - n, "%s%s", n ? ", " : "", table->key);
}

static int load_top(struct sl_job *job, struct sl_diags *diags)
{
    int rc = 0;
    for (struct sl_conf *c = job->root->child; c; c = c->next) {
        if (sl_opt_find(job_options, c->key))
            continue;
        char hint[256];
        option_keys(job_options, "", hint, sizeof(hint));
        sl_diag_add(diags, c->key_line, c->key_col, hint, "unknown key '%s' at the top level",
                    c->key);
        rc = -EINVAL;
    }
    for (const struct sl_option *o = job_options; o->key; o++) {
        struct sl_conf *c = sl_conf_get(job->root, o->key);
        if (!c && o->required) {
            sl_diag_add(diags, 1, 1, NULL, "missing '%s:' at the top level", o->key);
            rc = -EINVAL;
        } else if (c && o->type != SL_OPT_MAP && sl_opt_check(o, c, diags)) {
            rc = -EINVAL;
        } else if (c && o->type == SL_OPT_MAP && c->kind != SL_CONF_MAP) {
            sl_diag_add(diags, c->line, c->col, "nodes are a mapping of name: {type: ..., ...}",
                        "'%s' must be a mapping", o->key);
            rc = -EINVAL;
        }
    }
    struct sl_conf *name = sl_conf_get(job->root, "job");
    job->name = strdup(name && name->kind == SL_CONF_SCALAR ? name->value : "job");
    long long v;
    struct sl_conf *workers = sl_conf_get(job->root, "workers");
    job->workers = 1;
    if (workers && workers->kind == SL_CONF_SCALAR && sl_opt_parse_int(workers->value, &v) == 0) {
        if (v < 1 || v > SL_JOB_WORKERS_MAX) {
            sl_diag_add(diags, workers->line, workers->col, NULL, "workers must be 1..%u",
                        SL_JOB_WORKERS_MAX);
            rc = -EINVAL;
        }
        job->workers = (uint32_t)v;
    }
    struct sl_conf *groups = sl_conf_get(job->root, "key_groups");
    job->key_groups = SL_KEY_GROUPS_DEFAULT;
    if (groups && groups->kind == SL_CONF_SCALAR && sl_opt_parse_int(groups->value, &v) == 0) {
        if (v < 1 || v > 65536) {
            sl_diag_add(diags, groups->line, groups->col, NULL, "key_groups must be 1..65536");
            rc = -EINVAL;
        }
        job->key_groups = (uint32_t)v;
    }
    struct sl_conf *eo = sl_conf_get(job->root, "exactly_once");
    if (eo && eo->kind == SL_CONF_SCALAR)
        (void)sl_opt_parse_bool(eo->value, &job->exactly_once); /* checked above */
    if (!rc && job->key_groups < job->workers) {
        sl_diag_add(diags, groups ? groups->line : 1, groups ? groups->col : 1, NULL,
                    "key_groups (%u) must be at least workers (%u)", job->key_groups,
                    job->workers);
        rc = -EINVAL;
    }
    return rc;
}

/* One integer setting of runtime: in lo..hi; *out keeps its default when
 * the setting is absent or malformed (sl_opt_check reports that). */
static int runtime_value(struct sl_conf *runtime, const char *key, uint64_t lo,
                         uint64_t hi, uint32_t *out, struct sl_diags *diags)
{
    const struct sl_conf *c = sl_conf_get(runtime, key);
    const struct sl_option *o = sl_opt_find(runtime_options, key);
    long long v;
    uint64_t bytes;
    if (!c || c->kind != SL_CONF_SCALAR)
        return 0;
    if (o->type == SL_OPT_SIZE ? sl_opt_parse_size(c->value, &bytes)
                               : sl_opt_parse_int(c->value, &v))
        return 0;
    uint64_t value = o->type == SL_OPT_SIZE ? bytes : v < 0 ? 0 : (uint64_t)v;
    if (value < lo || value > hi) {
        sl_diag_add(diags, c->line, c->col, o->description, "runtime: %s must be %llu..%llu",
                    key, (unsigned long long)lo, (unsigned long long)hi);
        return -EINVAL;
    }
    *out = (uint32_t)value;
    return 0;
}

static int load_runtime(struct sl_job *job, struct sl_diags *diags)
{
    job->runtime = (struct sl_job_runtime){.batch_events = SL_RUNTIME_BATCH_EVENTS_MAX,
                                           .batch_bytes = SL_RUNTIME_BATCH_BYTES_MAX,
                                           .batches = SL_RUNTIME_BATCHES_DEFAULT};
    struct sl_conf *runtime = sl_conf_get(job->root, "runtime");
    if (!runtime || runtime->kind != SL_CONF_MAP)
        return 0; /* a runtime that is not a mapping is reported by load_top */
    int rc = 0;
    for (struct sl_conf *c = runtime->child; c; c = c->next) {
        const struct sl_option *o = sl_opt_find(runtime_options, c->key);
        if (!o) {
            char hint[128];
            option_keys(runtime_options, "", hint, sizeof(hint));
            sl_diag_add(diags, c->key_line, c->key_col, hint, "unknown setting '%s' in runtime",
                        c->key);
            rc = -EINVAL;
        } else if (sl_opt_check(o, c, diags)) {
            rc = -EINVAL;
        }
    }
    struct sl_job_runtime *r = &job->runtime;
    rc |= runtime_value(runtime, "batch_events", 16, SL_RUNTIME_BATCH_EVENTS_MAX,
                        &r->batch_events, diags);
    rc |= runtime_value(runtime, "batch_bytes", 64u << 10, SL_RUNTIME_BATCH_BYTES_MAX,
                        &r->batch_bytes, diags);
    rc |= runtime_value(runtime, "batches", 4, SL_RUNTIME_BATCHES_MAX, &r->batches, diags);
    return rc ? -EINVAL : 0;
}

/* Whether workers hand the sink batches of their own pool: not a sink that
 * discards (null) or one that reads a sink's errors port (the port's pool). */
static bool sink_fed_by_workers(const struct sl_job *job, const struct sl_job_node *node)
{
    return node->kind == SL_NODE_SINK && node->sink && !node->sink->discards &&
           !(node->input_count == 1 && job->nodes[node->inputs[0].node].kind == SL_NODE_SINK);
}

/* The runtime's batches against the graph. A source keeps an open batch
 * per worker and a worker one per sink it feeds, each partly filled until
 * it is full (then pushed before the next is taken), so a pool of fewer
 * batches than either would wait for itself; a tcp or file source's frame
 * (with its 4-byte prefix) must fit a batch less the headroom for error
 * headers. */
static int check_runtime(struct sl_job *job, struct sl_diags *diags)
{
    const struct sl_job_runtime *r = &job->runtime;
    struct sl_conf *runtime = sl_conf_get(job->root, "runtime");
    uint32_t sinks = 0;
    int rc = 0;
    for (uint32_t i = 0; i < job->node_count; i++)
        sinks += sink_fed_by_workers(job, &job->nodes[i]);
    if (r->batches < job->workers || r->batches < sinks) {
        sl_diag_add(diags, runtime ? runtime->line : 1, runtime ? runtime->col : 1,
                    "a source keeps an open batch per worker, a worker one per sink it feeds",
                    "runtime: batches (%u) must be at least the workers (%u) and the sinks the "
                    "workers feed (%u)",
                    r->batches, job->workers, sinks);
        rc = -EINVAL;
    }
    for (uint32_t i = 0; i < job->node_count; i++) {
        struct sl_job_node *node = &job->nodes[i];
        const struct sl_option *o = sl_opt_find(node->options, "max_frame");
        struct sl_conf *c = sl_conf_get(node->conf, "max_frame");
        uint64_t bytes, room = sl_runtime_event_bytes_max(r->batch_bytes) - 4;
        if (node->kind != SL_NODE_SOURCE || !o || (c && c->kind != SL_CONF_SCALAR) ||
            sl_opt_parse_size(c ? c->value : o->default_value, &bytes))
            continue; /* a malformed max_frame is reported by check_settings */
        if (bytes > room) {
            sl_diag_add(diags, c ? c->line : node->conf->key_line,
                        c ? c->col : node->conf->key_col, "set max_frame, or runtime: batch_bytes",
                        "%s: max_frame (%llu bytes) must be at most the runtime's batch_bytes "
                        "less %u (%u bytes)",
                        node->name, (unsigned long long)bytes,
                        4 + SL_RUNTIME_EVENT_HEADROOM_BYTES, (unsigned)room);
            rc = -EINVAL;
        }
    }
    return rc;
}

static int load_schemas(struct sl_job *job, struct sl_diags *diags)
{
    char err[256];
    SL_ASSERT(sl_fb_schemas_init(&job->schemas, err, sizeof(err)) == 0);
    struct sl_conf *list = sl_conf_get(job->root, "schemas");
    if (!list)
        return sl_fb_schemas_add_embedded(&job->schemas, err, sizeof(err)) ? -EINVAL : 0;
    int rc = 0;
    struct sl_conf *items = list->kind == SL_CONF_SEQ ? list->child : list;
    for (struct sl_conf *c = items; c; c = list->kind == SL_CONF_SEQ ? c->next : NULL) {
        if (c->kind != SL_CONF_SCALAR)
            continue;
        if (sl_fb_schemas_add(&job->schemas, c->value, err, sizeof(err))) {
            sl_diag_add(diags, c->line, c->col,
                        "embedded schemas: event, orders; or a .bfbs from flatc -b --schema",
                        "schema: %s", err);
            rc = -EINVAL;
        }
    }
    return rc;
}

/* The node's settings against its options table (+ type, input). */
static int check_settings(struct sl_job_node *node, struct sl_diags *diags)
{
    int rc = 0;
    for (struct sl_conf *c = node->conf->child; c; c = c->next) {
        if (strcmp(c->key, "type") == 0)
            continue;
        if (strcmp(c->key, "input") == 0 && node->kind != SL_NODE_SOURCE)
            continue;
        const struct sl_option *o = sl_opt_find(node->options, c->key);
        if (!o) {
            char hint[512];
            option_keys(node->options, node->kind == SL_NODE_SOURCE ? "type" : "type, input",
                        hint, sizeof(hint));
            sl_diag_add(diags, c->key_line, c->key_col, hint, "unknown setting '%s' for %s %s",
                        c->key, node->type_name, node->name);
            rc = -EINVAL;
            continue;
        }
        if (sl_opt_check(o, c, diags))
            rc = -EINVAL;
    }
    for (const struct sl_option *o = node->options; o && o->key; o++) {
        if (o->required && !sl_conf_get(node->conf, o->key)) {
            sl_diag_add(diags, node->conf->key_line, node->conf->key_col, o->description,
                        "%s %s: missing required setting '%s'", node->type_name, node->name,
                        o->key);
            rc = -EINVAL;
        }
    }
    if (node->kind != SL_NODE_SOURCE && !sl_conf_get(node->conf, "input")) {
        sl_diag_add(diags, node->conf->key_line, node->conf->key_col,
                    "name the upstream node(s): input: NODE, input: NODE.PORT or a list",
                    "%s has no input", node->name);
        rc = -EINVAL;
    }
    return rc;
}

static int find_type(struct sl_job_node *node, struct sl_diags *diags)
{
    struct sl_conf *type = sl_conf_get(node->conf, "type");
    if (!type || type->kind != SL_CONF_SCALAR) {
        sl_diag_add(diags, node->conf->key_line, node->conf->key_col, sl_registry_names(node->kind),
                    "%s: missing 'type:'", node->name);
        return -EINVAL;
    }
    node->type_name = type->value;
    switch (node->kind) {
    case SL_NODE_SOURCE:
        node->source = sl_registry_source(type->value);
        node->options = node->source ? node->source->options : NULL;
        break;
    case SL_NODE_OPERATOR:
        node->op = sl_registry_operator(type->value);
        node->options = node->op ? node->op->options : NULL;
        break;
    case SL_NODE_SINK:
        node->sink = sl_registry_sink(type->value);
        node->options = node->sink ? node->sink->options : NULL;
        break;
    }
    if (!node->source && !node->op && !node->sink) {
        static const char *const kind_names[] = {"source", "operator", "sink"};
        sl_diag_add(diags, type->line, type->col, sl_registry_names(node->kind),
                    "unknown %s type '%s'", kind_names[node->kind], type->value);
        return -EINVAL;
    }
    return 0;
}

static int load_nodes(struct sl_job *job, struct sl_diags *diags)
{
    int rc = 0;
    for (int kind = SL_NODE_SOURCE; kind <= SL_NODE_SINK; kind++) {
        struct sl_conf *section = sl_conf_get(job->root, section_names[kind]);
        if (!section || section->kind != SL_CONF_MAP)
            continue;
        for (struct sl_conf *c = section->child; c; c = c->next) {
            for (uint32_t i = 0; i < job->node_count; i++) {
                if (strcmp(job->nodes[i].name, c->key) == 0) {
                    sl_diag_add(diags, c->key_line, c->key_col, "node names are unique ids",
                                "node '%s' is already defined", c->key);
                    rc = -EINVAL;
                }
            }
            if (strchr(c->key, '.')) {
                sl_diag_add(diags, c->key_line, c->key_col, NULL,
                            "node name '%s' contains '.', which separates ports", c->key);
                rc = -EINVAL;
            }
            if (strlen(c->key) > SL_JOB_NODE_NAME_MAX) {
                sl_diag_add(diags, c->key_line, c->key_col, NULL,
                            "node name '%.32s...' is longer than %u bytes", c->key,
                            SL_JOB_NODE_NAME_MAX);
                rc = -EINVAL;
            }
            if (c->kind != SL_CONF_MAP) {
                sl_diag_add(diags, c->line, c->col, NULL, "node '%s' must be a mapping", c->key);
                rc = -EINVAL;
                continue;
            }
            if (job->node_count == SL_JOB_NODES_MAX) {
                sl_diag_add(diags, c->key_line, c->key_col, NULL, "more than %u nodes",
                            SL_JOB_NODES_MAX);
                return -EINVAL;
            }
            struct sl_job_node *node = &job->nodes[job->node_count++];
            node->name = strdup(c->key);
            node->kind = (enum sl_node_kind)kind;
            node->conf = c;
            node->ports[node->port_count++] = strdup("out");
            node->ports[node->port_count++] = strdup("errors");
            if (find_type(node, diags) || check_settings(node, diags))
                rc = -EINVAL;
        }
    }
    return rc;
}

static int compile_nodes(struct sl_job *job, struct sl_diags *diags)
{
    int rc = 0;
    for (uint32_t i = 0; i < job->node_count; i++) {
        struct sl_job_node *node = &job->nodes[i];
        if (!node->options && !node->op && !node->source && !node->sink)
            continue; /* unknown type: reported */
        struct sl_op_compile c = {.job = job, .node = node, .diags = diags};
        int (*compile)(struct sl_op_compile *, void **) =
            node->op ? node->op->compile : node->source ? node->source->compile : node->sink->compile;
        if (compile && (compile(&c, &node->plan) || c.failed))
            rc = -EINVAL;
    }
    return rc;
}

static int resolve_input(struct sl_job *job, struct sl_job_node *node, struct sl_conf *item,
                         struct sl_diags *diags)
{
    const char *text = item->value;
    const char *dot = strchr(text, '.');
    size_t name_len = dot ? (size_t)(dot - text) : strlen(text);
    for (uint32_t i = 0; i < job->node_count; i++) {
        struct sl_job_node *up = &job->nodes[i];
        if (strlen(up->name) != name_len || memcmp(up->name, text, name_len) != 0)
            continue;
        const char *port = dot ? dot + 1 : "out";
        if (up->kind == SL_NODE_SINK &&
            !(up->sink && up->sink->errors_port && strcmp(port, "errors") == 0)) {
            sl_diag_add(diags, item->line, item->col,
                        "sinks have no outputs (a kafka sink's errors port feeds one sink: "
                        "input: NODE.errors)",
                        "input '%s' is a sink", text);
            return -EINVAL;
        }
        for (uint32_t p = 0; p < up->port_count; p++) {
            if (strcmp(up->ports[p], port) != 0)
                continue;
            if (node->input_count == SL_JOB_INPUTS_MAX) {
                sl_diag_add(diags, item->line, item->col, NULL, "more than %u inputs",
                            SL_JOB_INPUTS_MAX);
                return -EINVAL;
            }
            node->inputs[node->input_count++] =
                (struct sl_job_input){.node = i, .port = p, .line = item->line, .col = item->col};
            up->port_read[p] = true;
            return 0;
        }
        char hint[512];
        size_t n = 0;
        for (uint32_t p = 0; p < up->port_count && n < sizeof(hint); p++)
            n += (size_t)snprintf(hint + n, sizeof(hint) - n, "%s%s.%s", p ? ", " : "ports: ",
                                  up->name, up->ports[p]);
        sl_diag_add(diags, item->line, item->col, hint, "node '%s' has no port '%s'", up->name,
                    port);
        return -EINVAL;
    }
    sl_diag_add(diags, item->line, item->col, "inputs name a source or operator (NODE or NODE.PORT)",
                "unknown node '%.*s'", (int)name_len, text);
    return -EINVAL;
}

static int resolve_inputs(struct sl_job *job, struct sl_diags *diags)
{
    int rc = 0;
    for (uint32_t i = 0; i < job->node_count; i++) {
        struct sl_job_node *node = &job->nodes[i];
        struct sl_conf *input = sl_conf_get(node->conf, "input");
        if (!input || node->kind == SL_NODE_SOURCE)
            continue;
        if (input->kind == SL_CONF_MAP) {
            sl_diag_add(diags, input->line, input->col, NULL, "input: a node name or a list");
            rc = -EINVAL;
            continue;
        }
        struct sl_conf *items = input->kind == SL_CONF_SEQ ? input->child : input;
        for (struct sl_conf *c = items; c; c = input->kind == SL_CONF_SEQ ? c->next : NULL) {
            if (c->kind != SL_CONF_SCALAR) {
                sl_diag_add(diags, c->line, c->col, "e.g. input: [orders, checked.errors]",
                            "input: each item is a node name (NODE or NODE.PORT)");
                rc = -EINVAL;
            } else if (resolve_input(job, node, c, diags)) {
                rc = -EINVAL;
            }
        }
    }
    return rc;
}

/* Whether node start can reach itself along edges (depth-first, bounded by
 * the node count). */
static bool on_cycle(const struct sl_job *job, uint32_t start)
{
    uint32_t stack[SL_JOB_NODES_MAX], top = 0;
    bool seen[SL_JOB_NODES_MAX] = {false};
    stack[top++] = start;
    while (top) {
        uint32_t up = stack[--top];
        for (uint32_t k = 0; k < job->node_count; k++) {
            for (uint32_t e = 0; e < job->nodes[k].input_count; e++) {
                if (job->nodes[k].inputs[e].node != up)
                    continue;
                if (k == start)
                    return true;
                if (!seen[k]) {
                    seen[k] = true;
                    stack[top++] = k;
                }
            }
        }
    }
    return false;
}

/* Kahn's algorithm; nodes left over sit on a cycle or after one. */
static int order_nodes(struct sl_job *job, struct sl_diags *diags)
{
    uint32_t pending[SL_JOB_NODES_MAX], n = 0;
    bool placed[SL_JOB_NODES_MAX] = {false};
    for (uint32_t i = 0; i < job->node_count; i++)
        pending[i] = job->nodes[i].input_count;
    for (bool progress = true; progress;) {
        progress = false;
        for (uint32_t i = 0; i < job->node_count; i++) {
            if (placed[i] || pending[i])
                continue;
            placed[i] = true;
            progress = true;
            job->order[n++] = i;
            for (uint32_t k = 0; k < job->node_count; k++)
                for (uint32_t e = 0; e < job->nodes[k].input_count; e++)
                    if (job->nodes[k].inputs[e].node == i)
                        pending[k]--;
        }
    }
    if (n == job->node_count)
        return 0;
    for (uint32_t i = 0; i < job->node_count; i++) {
        /* left over: on a cycle, or downstream of one (not reported) */
        if (placed[i] || !on_cycle(job, i))
            continue;
        struct sl_job_node *node = &job->nodes[i];
        sl_diag_add(diags, node->conf->key_line, node->conf->key_col,
                    "a graph cannot feed a node its own output", "node '%s' is on a cycle",
                    node->name);
    }
    return -EINVAL;
}

static int check_outputs_read(struct sl_job *job, struct sl_diags *diags)
{
    int rc = 0;
    for (uint32_t i = 0; i < job->node_count; i++) {
        struct sl_job_node *node = &job->nodes[i];
        if (node->kind == SL_NODE_SINK)
            continue;
        for (uint32_t p = 0; p < node->port_count; p++) {
            if (p == SL_PORT_ERRORS || node->port_read[p])
                continue;
            /* an operator with declared ports need not use "out" */
            if (p == SL_PORT_OUT && node->port_count > 2)
                continue;
            sl_diag_add(diags, node->conf->key_line, node->conf->key_col,
                        "wire it to a node (input: NODE.PORT) or a null sink",
                        "nothing reads %s.%s; its events would be lost", node->name,
                        node->ports[p]);
            rc = -EINVAL;
        }
    }
    return rc;
}

/* exactly_once: a transaction spans one producer and one consumer's offsets,
 * so the job has one kafka source and one kafka sink, nothing else (sources
 * and sinks are required, so each count is then exactly one). */
static int check_exactly_once(struct sl_job *job, struct sl_diags *diags)
{
    if (!job->exactly_once)
        return 0;
    int rc = 0;
    uint32_t sources = 0, sinks = 0;
    for (uint32_t i = 0; i < job->node_count; i++) {
        struct sl_job_node *node = &job->nodes[i];
        if (node->kind == SL_NODE_OPERATOR)
            continue;
        bool kafka = strcmp(node->type_name, "kafka") == 0;
        uint32_t *seen = node->kind == SL_NODE_SOURCE ? &sources : &sinks;
        if (!kafka || ++*seen > 1) {
            bool source = node->kind == SL_NODE_SOURCE;
            sl_diag_add(diags, node->conf->key_line, node->conf->key_col,
                        source ? "one kafka source reads several topics with topics: [..] or "
                                 "pattern"
                               : "one kafka sink writes every topic with topic_expr; dead "
                                 "letters go to its dead_letter_topic",
                        "exactly_once: %s %s: the job may have one kafka source and one kafka "
                        "sink only", source ? "source" : "sink", node->name);
            rc = -EINVAL;
        }
    }
    return rc;
}

/* A sink's errors port (sl/connector.h) is read by one sink, which reads
 * nothing else and confirms on write (it is fed by the other sink's thread,
 * which waits for nothing but that write). (exactly_once allows no sink
 * besides the kafka one: its dead letters stay in the transaction.) */
static int check_sink_errors(struct sl_job *job, struct sl_diags *diags)
{
    int rc = 0;
    for (uint32_t i = 0; i < job->node_count; i++) {
        struct sl_job_node *node = &job->nodes[i];
        for (uint32_t e = 0; e < node->input_count; e++) {
            const struct sl_job_input *in = &node->inputs[e];
            struct sl_job_node *up = &job->nodes[in->node];
            if (up->kind != SL_NODE_SINK)
                continue;
            const char *why = NULL;
            if (node->kind != SL_NODE_SINK)
                why = "only a sink reads a sink's errors port";
            else if (node->input_count != 1)
                why = "a sink that reads an errors port reads nothing else";
            else if (node->sink && node->sink->completed)
                why = "a sink that confirms later (kafka) cannot read an errors port: use the "
                      "kafka sink's dead_letter_topic";
            for (uint32_t j = 0; !why && j < i; j++)
                for (uint32_t f = 0; f < job->nodes[j].input_count; f++)
                    if (job->nodes[j].inputs[f].node == in->node &&
                        job->nodes[j].inputs[f].port == in->port)
                        why = "one sink only reads a sink's errors port";
            if (why) {
                sl_diag_add(diags, in->line, in->col, NULL, "input '%s.errors': %s", up->name,
                            why);
                rc = -EINVAL;
            }
        }
    }
    return rc;
}

static int job_check(struct sl_job *job, int rc, const char *const *sets, unsigned set_count,
                     struct sl_diags *diags);

int sl_job_load(struct sl_job *job, const char *path, const char *const *sets,
                unsigned set_count, struct sl_diags *diags)
{
    memset(job, 0, sizeof(*job));
    /* a tree with only ${NAME} errors is still checked, to report them all */
    int rc = sl_conf_load(path, &job->root, diags);
    return job_check(job, rc, sets, set_count, diags);
}

int sl_job_parse(struct sl_job *job, const char *text, size_t len, struct sl_diags *diags)
{
    memset(job, 0, sizeof(*job));
    int rc = sl_conf_parse(text, len, &job->root, diags);
    return job_check(job, rc, NULL, 0, diags);
}

static int job_check(struct sl_job *job, int rc, const char *const *sets, unsigned set_count,
                     struct sl_diags *diags)
{
    if (!job->root)
        goto fail;
    for (unsigned i = 0; i < set_count; i++)
        rc |= sl_conf_set(job->root, sets[i], diags);
    /* each step reports all it finds; only unloadable schemas stop the rest */
    rc |= load_top(job, diags);
    rc |= load_runtime(job, diags);
    if (load_schemas(job, diags))
        goto fail;
    rc |= load_nodes(job, diags);
    rc |= compile_nodes(job, diags);
    rc |= resolve_inputs(job, diags);
    rc |= order_nodes(job, diags);
    rc |= check_outputs_read(job, diags);
    rc |= check_runtime(job, diags);
    if (!rc)
        rc |= check_exactly_once(job, diags);
    if (!rc)
        rc |= check_sink_errors(job, diags);
    if (rc)
        goto fail;
    return 0;
fail:
    sl_job_free(job);
    return -EINVAL;
}

void sl_job_free(struct sl_job *job)
{
    for (uint32_t i = 0; i < job->node_count; i++) {
        struct sl_job_node *node = &job->nodes[i];
        void (*plan_free)(void *) = node->op       ? node->op->plan_free
                                    : node->source ? node->source->plan_free
                                    : node->sink   ? node->sink->plan_free
                                                   : NULL;
        if (node->plan && plan_free)
            plan_free(node->plan);
        for (uint32_t p = 0; p < node->port_count; p++)
            free(node->ports[p]);
        free(node->name);
    }
    if (job->schemas.count)
        sl_fb_schemas_fini(&job->schemas);
    sl_conf_free(job->root);
    free(job->name);
    memset(job, 0, sizeof(*job));
}
