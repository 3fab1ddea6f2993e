/* file.c - the file source (large sequential io_uring reads, optional
 * follow mode) and the file sink (io_uring writes of fb frames or JSON
 * lines). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/assert.h"
#include "core/batch.h"
#include "sink_format.h"
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

/* ---- file sink ----
 * Each batch is encoded into the sink's output buffer and written with
 * io_uring at the file's running offset; write() waits for the completion
 * (a short write continues from where it stopped), so a batch counts as
 * delivered when its bytes are in the page cache. fsync: true adds an
 * fsync at close. */

#define FILE_SINK_RING_ENTRIES 4u
#define FILE_SINK_WRITE_BYTES_MAX (UINT32_C(1) << 30) /* bytes per SQE, below Linux's 2 GiB cap */

static const struct sl_option file_sink_options[] = {
    {"path", SL_OPT_PATH, NULL, true, NULL, "file to write (created or truncated)"},
    {"format", SL_OPT_ENUM, "fb", false, "fb|jsonl",
     "fb: size-prefixed FlatBuffers frames; jsonl: one JSON object per line"},
    {"fsync", SL_OPT_BOOL, "false", false, NULL,
     "fsync the file when the sink closes (the output survives a machine crash)"},
    {NULL, 0, NULL, false, NULL, NULL},
};

/* One file sink instance; owned and touched by its sink thread only. */
struct file_sink {
    const struct sl_file_sink_plan *plan;
    int fd;
    struct io_uring ring;
    uint64_t offset;            /* bytes written so far: where the next write goes */
    struct sl_sink_encoder enc;
};

/* 0 when the directory that would hold path exists, else -errno with why. */
static int file_sink_check_dir(const char *path, char *err, size_t err_len)
{
    char *copy = strdup(path);
    SL_ASSERT(copy);
    const char *dir = dirname(copy);
    struct stat st;
    int rc = 0;
    if (stat(dir, &st) != 0) {
        rc = -errno;
        snprintf(err, err_len, "directory '%s' of '%s': %s", dir, path, strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
        rc = -ENOTDIR;
        snprintf(err, err_len, "'%s' (in path '%s') is not a directory", dir, path);
    } else if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        rc = -EISDIR;
        snprintf(err, err_len, "'%s' is a directory, not a file", path);
    }
    free(copy);
    return rc;
}

static void file_sink_plan_free(void *plan)
{
    struct sl_file_sink_plan *file_plan = plan;
    if (!file_plan)
        return;
    free(file_plan->path);
    free(file_plan);
}

int sl_file_sink_plan_new(const char *path, const char *format, bool fsync,
                          struct sl_file_sink_plan **plan, char *err, size_t err_len)
{
    enum sl_sink_format fmt;
    if (sl_sink_format_parse(format, &fmt)) {
        snprintf(err, err_len, "unknown format '%s' (fb or jsonl)", format ? format : "");
        return -EINVAL;
    }
    if (!path || !*path) {
        snprintf(err, err_len, "path is empty");
        return -EINVAL;
    }
    if (file_sink_check_dir(path, err, err_len))
        return -EINVAL;
    struct sl_file_sink_plan *file_plan = calloc(1, sizeof(*file_plan));
    SL_ASSERT(file_plan);
    file_plan->path = strdup(path);
    SL_ASSERT(file_plan->path);
    file_plan->format = fmt;
    file_plan->fsync = fsync;
    *plan = file_plan;
    return 0;
}

static int file_sink_compile(struct sl_op_compile *c, void **plan)
{
    char err[512];
    enum sl_sink_format fmt;
    const char *format = sl_op_string(c, "format");
    if (sl_sink_format_parse(format, &fmt)) {
        sl_op_error(c, "format", NULL, "use fb or jsonl", "unknown format '%s'",
                    format ? format : "");
        return -EINVAL;
    }
    const char *path = sl_op_string(c, "path");
    if (!path)
        return -EINVAL; /* a missing required setting is reported already */
    struct sl_file_sink_plan *file_plan;
    if (sl_file_sink_plan_new(path, format, sl_op_bool(c, "fsync"),
                              &file_plan, err, sizeof(err))) {
        sl_op_error(c, "path", NULL, "create the directory first, or fix the path", "%s", err);
        return -EINVAL;
    }
    *plan = file_plan;
    return 0;
}

/* Submits the one prepared SQE and waits for its completion. Returns 0
 * with the operation's result in *res, or -errno when io_uring itself
 * fails. One operation is in flight at a time, so the CQE is ours. */
static int file_sink_submit_wait(struct file_sink *sink, int *res)
{
    struct io_uring_cqe *cqe = NULL;
    int rc;
    do
        rc = io_uring_submit_and_wait(&sink->ring, 1);
    while (rc == -EINTR);
    if (rc < 0)
        return rc;
    do
        rc = io_uring_wait_cqe(&sink->ring, &cqe);
    while (rc == -EINTR);
    if (rc < 0)
        return rc;
    *res = cqe->res;
    io_uring_cqe_seen(&sink->ring, cqe);
    return 0;
}

/* Writes len bytes of buf at the sink's offset through io_uring, one SQE
 * of at most FILE_SINK_WRITE_BYTES_MAX at a time, until all are written
 * (a short write goes on from where it stopped). Returns 0 or -errno with
 * err. */
static int file_sink_write_all(struct file_sink *sink, const uint8_t *buf, size_t len, char *err,
                               size_t err_len)
{
    while (len > 0) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&sink->ring);
        SL_ASSERT(sqe); /* nothing else in flight: the queue has room */
        unsigned chunk =
            len < FILE_SINK_WRITE_BYTES_MAX ? (unsigned)len : FILE_SINK_WRITE_BYTES_MAX;
        io_uring_prep_write(sqe, sink->fd, buf, chunk, sink->offset);
        int res = 0;
        int rc = file_sink_submit_wait(sink, &res);
        if (rc < 0) {
            snprintf(err, err_len, "%s: io_uring: %s", sink->plan->path, strerror(-rc));
            return rc;
        }
        if (res <= 0) {
            rc = res < 0 ? res : -EIO; /* no progress on a regular file: give up */
            snprintf(err, err_len, "%s: write at offset %llu: %s", sink->plan->path,
                     (unsigned long long)sink->offset, strerror(-rc));
            return rc;
        }
        buf += res;
        len -= (size_t)res;
        sink->offset += (uint64_t)res;
    }
    return 0;
}

static int file_sink_fsync(struct file_sink *sink, char *err, size_t err_len)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&sink->ring);
    SL_ASSERT(sqe);
    io_uring_prep_fsync(sqe, sink->fd, 0);
    int res = 0;
    int rc = file_sink_submit_wait(sink, &res);
    if (rc == 0)
        rc = res;
    if (rc < 0)
        snprintf(err, err_len, "%s: fsync: %s", sink->plan->path, strerror(-rc));
    return rc < 0 ? rc : 0;
}

static int file_sink_open(const struct sl_sink_args *args, void **state, char *err, size_t err_len)
{
    const struct sl_file_sink_plan *plan = args->plan;
    struct file_sink *sink = calloc(1, sizeof(*sink));
    SL_ASSERT(sink);
    sink->plan = plan;
    sink->fd = open(plan->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (sink->fd < 0) {
        int rc = -errno;
        snprintf(err, err_len, "%s: open: %s", plan->path, strerror(errno));
        free(sink);
        return rc;
    }
    int rc = io_uring_queue_init(FILE_SINK_RING_ENTRIES, &sink->ring, 0);
    if (rc < 0) {
        snprintf(err, err_len, "%s: io_uring_queue_init: %s", plan->path, strerror(-rc));
        close(sink->fd);
        free(sink);
        return rc;
    }
    sl_sink_encoder_init(&sink->enc, plan->format, args->schemas, args->node_name);
    *state = sink;
    return 0;
}

static int file_sink_write(void *state, struct sl_batch *batch, char *err, size_t err_len)
{
    struct file_sink *sink = state;
    if (sl_batch_event_count(batch) == 0)
        return 0;
    sl_sink_encode(&sink->enc, batch);
    return file_sink_write_all(sink, sink->enc.out, sink->enc.out_len, err, err_len);
}

/* Every write already completed in write(): close only has the optional
 * fsync and the close(2) error (NFS reports deferred write errors there). */
static int file_sink_close(void *state, char *err, size_t err_len)
{
    struct file_sink *sink = state;
    int rc = sink->plan->fsync ? file_sink_fsync(sink, err, err_len) : 0;
    io_uring_queue_exit(&sink->ring);
    if (close(sink->fd) != 0 && rc == 0) {
        rc = -errno;
        snprintf(err, err_len, "%s: close: %s", sink->plan->path, strerror(errno));
    }
    sl_sink_encoder_fini(&sink->enc);
    free(sink);
    return rc;
}

const struct sl_sink_type sl_sink_file = {
    .name = "file",
    .summary = "write events to a file",
    .options = file_sink_options,
    .compile = file_sink_compile,
    .plan_free = file_sink_plan_free,
    .open = file_sink_open,
    .write = file_sink_write,
    .close = file_sink_close,
};
