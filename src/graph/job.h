/* job.h - a job file compiled into a checked graph: sources, operators and
 * sinks as nodes, edges from `input:` (node or node.port), every setting
 * checked against its type's options table, every expression compiled
 * against the schemas. Validation collects every error with its file
 * position (sl_diags) instead of stopping at the first. Control plane. */
#ifndef SL_GRAPH_JOB_H
#define SL_GRAPH_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "fb/fb.h"
#include "graph/conf.h"
#include "graph/diag.h"
#include "sl/connector.h"
#include "sl/operator.h"

#define SL_JOB_NODES_MAX 256u
#define SL_JOB_INPUTS_MAX 64u
#define SL_JOB_WORKERS_MAX 64u
#define SL_JOB_NODE_NAME_MAX 128u /* bytes; names go into error headers */
#define SL_KEY_GROUPS_DEFAULT 128u

/* The runtime's batch sizes (`runtime:` in a job file). The defaults of
 * batch_events and batch_bytes are also their largest values. */
#define SL_RUNTIME_BATCH_EVENTS_MAX 1024u
#define SL_RUNTIME_BATCH_BYTES_MAX (4u << 20)
#define SL_RUNTIME_BATCHES_DEFAULT 64u
#define SL_RUNTIME_BATCHES_MAX 4096u
/* Bytes of every batch kept for the headers an errors port adds (node name,
 * reason, topic: at most SL_JOB_NODE_NAME_MAX + 512 + 249 and their keys):
 * an event is at most batch_bytes minus this, so its dead letter still fits
 * a batch. */
#define SL_RUNTIME_EVENT_HEADROOM_BYTES 4096u

/* The largest event (size prefix included) a batch of batch_bytes takes. */
static inline uint32_t sl_runtime_event_bytes_max(uint32_t batch_bytes)
{
    return batch_bytes - SL_RUNTIME_EVENT_HEADROOM_BYTES;
}

struct sl_job_runtime {
    uint32_t batch_events; /* events per batch */
    uint32_t batch_bytes;  /* event bytes per batch */
    uint32_t batches;      /* batches in each source's pool and each worker's sink pool */
};

enum sl_node_kind { SL_NODE_SOURCE, SL_NODE_OPERATOR, SL_NODE_SINK };

struct sl_job_input {
    uint32_t node;           /* index in job->nodes */
    uint32_t port;           /* output port of that node */
    uint32_t line, col;
};

struct sl_job_node {
    char *name;              /* the stable id: metrics and state are keyed by it */
    enum sl_node_kind kind;
    const char *type_name;
    const struct sl_operator_type *op;   /* operators */
    const struct sl_source_type *source; /* sources */
    const struct sl_sink_type *sink;     /* sinks */
    const struct sl_option *options;
    struct sl_conf *conf;    /* the node's mapping in the job file */
    struct sl_job_input inputs[SL_JOB_INPUTS_MAX];
    uint32_t input_count;
    char *ports[SL_PORTS_MAX]; /* [0] "out", [1] "errors", then declared ones */
    uint32_t port_count;
    bool port_read[SL_PORTS_MAX]; /* some node takes this port as input */
    void *plan;              /* what compile() made */
};

struct sl_job {
    char *name;
    struct sl_conf *root;
    struct sl_fb_schemas schemas;
    uint32_t workers;
    uint32_t key_groups;
    bool exactly_once;       /* Kafka transactions: one kafka source, one kafka sink */
    struct sl_job_runtime runtime;
    struct sl_job_node nodes[SL_JOB_NODES_MAX];
    uint32_t node_count;
    uint32_t order[SL_JOB_NODES_MAX]; /* topological: every node after its inputs */
};

/* Loads, applies --set overrides (sets[0..set_count)), checks and compiles.
 * Returns 0, or -EINVAL with every problem in diags. On failure the job is
 * released already. */
int sl_job_load(struct sl_job *job, const char *path, const char *const *sets,
                unsigned set_count, struct sl_diags *diags);
/* The same from a job file's text (tests, fuzzing). */
int sl_job_parse(struct sl_job *job, const char *text, size_t len, struct sl_diags *diags);
/* The top-level settings of a job file (ends with a row whose key is NULL). */
const struct sl_option *sl_job_options(void);
/* The settings of its `runtime:` map (ends with a row whose key is NULL). */
const struct sl_option *sl_job_runtime_options(void);
void sl_job_free(struct sl_job *job);

/* Registries (graph/registry.c): NULL when no type has that name. */
const struct sl_operator_type *sl_registry_operator(const char *name);
const struct sl_source_type *sl_registry_source(const char *name);
const struct sl_sink_type *sl_registry_sink(const char *name);
/* NULL-terminated names of a kind, in registry order. */
const char *const *sl_registry_list(enum sl_node_kind kind);
/* Comma-separated names of a kind, for hints. */
const char *sl_registry_names(enum sl_node_kind kind);

#endif
