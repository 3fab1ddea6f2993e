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

struct sl_sink_type {
    const char *name;
    const char *summary;
    const struct sl_option *options;
    int (*compile)(struct sl_op_compile *c, void **plan);
    void (*plan_free)(void *plan);
};

#endif
