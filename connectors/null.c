/* null.c - the null sink: drops events (benchmarks, and a deliberate end
 * for ports whose events are not wanted). The runtime counts what reaches
 * it, as for every sink; a batch is delivered as soon as write() sees it. */
#include <stddef.h>

#include "sl/connector.h"

static const struct sl_option null_sink_options[] = {
    {NULL, 0, NULL, false, NULL, NULL},
};

/* No settings, no state: open() leaves *state NULL and write() does nothing. */
static int null_sink_open(const struct sl_sink_args *args, void **state, char *err,
                          size_t err_len)
{
    *state = NULL;
    return 0;
}

static int null_sink_write(void *state, struct sl_batch *batch, char *err, size_t err_len)
{
    return 0;
}

static int null_sink_close(void *state, char *err, size_t err_len)
{
    return 0;
}

const struct sl_sink_type sl_sink_null = {
    .name = "null",
    .summary = "count events and discard them",
    .options = null_sink_options,
    .open = null_sink_open,
    .write = null_sink_write,
    .close = null_sink_close,
    .discards = true,
};
