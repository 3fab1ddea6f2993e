/* null.c - the null sink: counts events and drops them (benchmarks, and a
 * deliberate end for ports whose events are not wanted). */
#include "sl/connector.h"

static const struct sl_option null_sink_options[] = {
    {NULL, 0, NULL, false, NULL, NULL},
};

const struct sl_sink_type sl_sink_null = {
    .name = "null",
    .summary = "count events and discard them",
    .options = null_sink_options,
};
