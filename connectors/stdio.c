/* stdio.c - the stdout sink: events as JSON lines (or fb frames) on the
 * process's standard output. */
#include "sl/connector.h"

static const struct sl_option stdout_sink_options[] = {
    {"format", SL_OPT_ENUM, "jsonl", false, "fb|jsonl",
     "jsonl: one JSON object per line; fb: size-prefixed FlatBuffers frames"},
    {NULL, 0, NULL, false, NULL, NULL},
};

const struct sl_sink_type sl_sink_stdout = {
    .name = "stdout",
    .summary = "write events to standard output",
    .options = stdout_sink_options,
};
