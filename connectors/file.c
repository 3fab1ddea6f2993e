/* file.c - the file source (large sequential io_uring reads, optional
 * follow mode) and the file sink (io_uring writes of fb frames or JSON
 * lines). */
#include "sl/connector.h"

static const struct sl_option file_source_options[] = {
    {"path", SL_OPT_PATH, NULL, true, NULL, "file to read"},
    {"framing", SL_OPT_ENUM, "fb", false, "fb|jsonl",
     "fb: size-prefixed FlatBuffers frames; jsonl: JSON lines through the schema"},
    {"follow", SL_OPT_BOOL, "false", false, NULL, "keep reading as the file grows (tail -f)"},
    {"max_frame", SL_OPT_SIZE, "1MiB", false, NULL, "largest frame or line"},
    {NULL, 0, NULL, false, NULL, NULL},
};

const struct sl_source_type sl_source_file = {
    .name = "file",
    .summary = "read events from a file",
    .options = file_source_options,
};

static const struct sl_option file_sink_options[] = {
    {"path", SL_OPT_PATH, NULL, true, NULL, "file to write (created or truncated)"},
    {"format", SL_OPT_ENUM, "fb", false, "fb|jsonl",
     "fb: size-prefixed FlatBuffers frames; jsonl: one JSON object per line"},
    {NULL, 0, NULL, false, NULL, NULL},
};

const struct sl_sink_type sl_sink_file = {
    .name = "file",
    .summary = "write events to a file",
    .options = file_sink_options,
};
