/* stdio.c - the stdout sink: events as JSON lines (or fb frames) on the
 * process's standard output. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/assert.h"
#include "core/batch.h"
#include "sink_format.h"
#include "sl/connector.h"

/* ---- stdout sink ----
 * Each batch is encoded and written to file descriptor 1 with write(2),
 * retried on EINTR and short writes; a non-blocking stdout (inherited from
 * a parent) is waited on with poll(). A closed reader is an error (EPIPE:
 * `sluice run` ignores SIGPIPE, so the error reaches the sink). */

static const struct sl_option stdout_sink_options[] = {
    {"format", SL_OPT_ENUM, "jsonl", false, "fb|jsonl",
     "jsonl: one JSON object per line; fb: size-prefixed FlatBuffers frames"},
    {NULL, 0, NULL, false, NULL, NULL},
};

#define STDOUT_FD 1

/* One stdout sink instance; owned and touched by its sink thread only. */
struct stdout_sink {
    struct sl_sink_encoder enc;
};

int sl_stdout_sink_plan_new(const char *format, struct sl_stdout_sink_plan **plan, char *err,
                            size_t err_len)
{
    enum sl_sink_format fmt;
    if (sl_sink_format_parse(format, &fmt)) {
        snprintf(err, err_len, "unknown format '%s' (fb or jsonl)", format ? format : "");
        return -EINVAL;
    }
    struct sl_stdout_sink_plan *stdout_plan = calloc(1, sizeof(*stdout_plan));
    SL_ASSERT(stdout_plan);
    stdout_plan->format = fmt;
    *plan = stdout_plan;
    return 0;
}

static void stdout_sink_plan_free(void *plan)
{
    free(plan);
}

static int stdout_sink_compile(struct sl_op_compile *c, void **plan)
{
    char err[256];
    struct sl_stdout_sink_plan *stdout_plan;
    if (sl_stdout_sink_plan_new(sl_op_string(c, "format"), &stdout_plan, err, sizeof(err))) {
        sl_op_error(c, "format", NULL, "use fb or jsonl", "%s", err);
        return -EINVAL;
    }
    *plan = stdout_plan;
    return 0;
}

static int stdout_sink_open(const struct sl_sink_args *args, void **state, char *err,
                            size_t err_len)
{
    const struct sl_stdout_sink_plan *plan = args->plan;
    struct stdout_sink *sink = calloc(1, sizeof(*sink));
    SL_ASSERT(sink);
    sl_sink_encoder_init(&sink->enc, plan->format, args->schemas, args->node_name);
    *state = sink;
    return 0;
}

/* Waits until fd 1 takes bytes again (non-blocking stdout). */
static int stdout_wait_writable(void)
{
    struct pollfd pfd = {.fd = STDOUT_FD, .events = POLLOUT};
    while (poll(&pfd, 1, -1) < 0) {
        if (errno != EINTR)
            return -errno;
    }
    return 0;
}

static int stdout_sink_write(void *state, struct sl_batch *batch, char *err, size_t err_len)
{
    struct stdout_sink *sink = state;
    if (sl_batch_event_count(batch) == 0)
        return 0;
    sl_sink_encode(&sink->enc, batch);
    const uint8_t *buf = sink->enc.out;
    size_t len = sink->enc.out_len;
    while (len > 0) {
        ssize_t n = write(STDOUT_FD, buf, len);
        int rc = n < 0 ? -errno : n == 0 ? -EIO : 0;
        if (rc == -EAGAIN)
            rc = stdout_wait_writable();
        if (rc == -EINTR)
            continue;
        if (rc < 0) {
            snprintf(err, err_len, "stdout: write: %s", strerror(-rc));
            return rc;
        }
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        }
    }
    return 0;
}

static int stdout_sink_close(void *state, char *err, size_t err_len)
{
    struct stdout_sink *sink = state;
    sl_sink_encoder_fini(&sink->enc);
    free(sink);
    return 0;
}

const struct sl_sink_type sl_sink_stdout = {
    .name = "stdout",
    .summary = "write events to standard output",
    .options = stdout_sink_options,
    .compile = stdout_sink_compile,
    .plan_free = stdout_sink_plan_free,
    .open = stdout_sink_open,
    .write = stdout_sink_write,
    .close = stdout_sink_close,
};
