/* sl/connector.h - what a source or sink type declares: a name, an options
 * table and a compile callback that checks its settings. Sources and sinks
 * run on their own threads (io_uring loops, Kafka clients); their runtime
 * hooks are added with the runtime that drives them. */
#ifndef SL_CONNECTOR_H
#define SL_CONNECTOR_H

#include "sl/operator.h"

struct sl_source_type {
    const char *name;
    const char *summary;
    const struct sl_option *options;  /* ends with a row whose key is NULL */
    int (*compile)(struct sl_op_compile *c, void **plan);
    void (*plan_free)(void *plan);
};

struct sl_batch;
struct sl_fb_schemas;

/* What a sink's open() gets. */
struct sl_sink_args {
    const void *plan;                     /* what compile() made */
    const struct sl_fb_schemas *schemas;  /* the job's schemas (for jsonl output) */
    const char *node_name;
};

/*
 * A sink runs on a thread of its own (one per sink node):
 *   open(args, &state)  on that thread, before any batch
 *   write(state, batch) for each batch, in arrival order; the batch holds
 *                       event entries (size-prefixed, verified sluice.Event
 *                       buffers at 8-aligned addresses) and control records,
 *                       which write() skips. Returns 0 once the events are
 *                       handed to the destination (file: write completed;
 *                       tcp: sent; stdout: written), which is when they count
 *                       as delivered for acks; -errno with err on failure.
 *   close(state)        flush what is buffered and release; returns 0 or -errno.
 * write() must not allocate per event.
 */
struct sl_sink_type {
    const char *name;
    const char *summary;
    const struct sl_option *options;
    int (*compile)(struct sl_op_compile *c, void **plan);
    void (*plan_free)(void *plan);
    int (*open)(const struct sl_sink_args *args, void **state, char *err, size_t err_len);
    int (*write)(void *state, struct sl_batch *batch, char *err, size_t err_len);
    int (*close)(void *state, char *err, size_t err_len);
};

#endif
