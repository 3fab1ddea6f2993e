/* registry.c - every source, operator and sink type, by name: plain arrays
 * of the registration structs that operators/ and connectors/ export (the
 * list is the build's: see operators/meson.build, connectors/meson.build). */
#include <stdio.h>
#include <string.h>

#include "graph/job.h"

extern const struct sl_source_type sl_source_tcp, sl_source_file, sl_source_gen;
extern const struct sl_operator_type sl_op_filter, sl_op_route, sl_op_project;
extern const struct sl_sink_type sl_sink_tcp, sl_sink_file, sl_sink_stdout, sl_sink_null;
extern const struct sl_sink_type sl_sink_kafka;
extern const struct sl_source_type sl_source_kafka;

static const struct sl_source_type *const sources[] = {
    &sl_source_tcp,
    &sl_source_file,
    &sl_source_gen,
    &sl_source_kafka,
};

static const struct sl_operator_type *const operators[] = {
    &sl_op_filter,
    &sl_op_route,
    &sl_op_project,
};

static const struct sl_sink_type *const sinks[] = {
    &sl_sink_file,
    &sl_sink_tcp,
    &sl_sink_stdout,
    &sl_sink_null,
    &sl_sink_kafka,
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const struct sl_operator_type *sl_registry_operator(const char *name)
{
    for (size_t i = 0; i < COUNT(operators); i++)
        if (strcmp(operators[i]->name, name) == 0)
            return operators[i];
    return NULL;
}

const struct sl_source_type *sl_registry_source(const char *name)
{
    for (size_t i = 0; i < COUNT(sources); i++)
        if (strcmp(sources[i]->name, name) == 0)
            return sources[i];
    return NULL;
}

const struct sl_sink_type *sl_registry_sink(const char *name)
{
    for (size_t i = 0; i < COUNT(sinks); i++)
        if (strcmp(sinks[i]->name, name) == 0)
            return sinks[i];
    return NULL;
}

const char *sl_registry_names(enum sl_node_kind kind)
{
    static char text[3][256];
    char *out = text[kind];
    size_t n = (size_t)snprintf(out, sizeof(text[0]), "known types: ");
    for (size_t i = 0; kind == SL_NODE_SOURCE && i < COUNT(sources); i++)
        n += (size_t)snprintf(out + n, sizeof(text[0]) - n, "%s%s", i ? ", " : "", sources[i]->name);
    for (size_t i = 0; kind == SL_NODE_OPERATOR && i < COUNT(operators); i++)
        n += (size_t)snprintf(out + n, sizeof(text[0]) - n, "%s%s", i ? ", " : "",
                              operators[i]->name);
    for (size_t i = 0; kind == SL_NODE_SINK && i < COUNT(sinks); i++)
        n += (size_t)snprintf(out + n, sizeof(text[0]) - n, "%s%s", i ? ", " : "", sinks[i]->name);
    return out;
}

const char *const *sl_registry_list(enum sl_node_kind kind)
{
    static const char *names[3][COUNT(sources) + COUNT(operators) + COUNT(sinks) + 1];
    size_t n = 0;
    for (size_t i = 0; kind == SL_NODE_SOURCE && i < COUNT(sources); i++)
        names[kind][n++] = sources[i]->name;
    for (size_t i = 0; kind == SL_NODE_OPERATOR && i < COUNT(operators); i++)
        names[kind][n++] = operators[i]->name;
    for (size_t i = 0; kind == SL_NODE_SINK && i < COUNT(sinks); i++)
        names[kind][n++] = sinks[i]->name;
    names[kind][n] = NULL;
    return names[kind];
}
