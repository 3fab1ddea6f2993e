/* file_source.c - the file source of the io loop: large sequential reads
 * through io_uring, one in flight at a time, into one read buffer whose
 * bytes are framed into batches; optional follow mode polls for growth
 * with an io_uring timeout at EOF.
 *
 * Backpressure: the next read is issued only once every byte of the last one
 * was taken; when the batches are full the file simply is not read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "io/ingest_int.h"

int sl_file_open(struct sl_ingest *ingest, char *err, size_t err_len)
{
    int fd = open(ingest->config.path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int rc = -errno;
        snprintf(err, err_len, "ingest: open %s: %s", ingest->config.path, strerror(errno));
        return rc;
    }
    ingest->file.fd = fd;
    return 0;
}

static void sl_file_arm_read(struct sl_ingest *ingest)
{
    struct sl_file *file = &ingest->file;
    struct io_uring_sqe *sqe = sl_ingest_sqe(ingest, SL_OP_READ, 0, 0);
    io_uring_prep_read(sqe, file->fd, file->buf, ingest->config.read_bytes, file->read_offset);
    file->read_armed = true;
}

static void sl_file_arm_timer(struct sl_ingest *ingest)
{
    struct sl_file *file = &ingest->file;
    struct io_uring_sqe *sqe = sl_ingest_sqe(ingest, SL_OP_TIMEOUT, 0, 0);
    io_uring_prep_timeout(sqe, &file->interval, 0, 0);
    file->timer_armed = true;
}

int sl_file_start(struct sl_ingest *ingest)
{
    struct sl_file *file = &ingest->file;
    void *buf = NULL;
    if (posix_memalign(&buf, 4096, ingest->config.read_bytes) != 0)
        return -ENOMEM;
    file->buf = buf;
    uint32_t ms = ingest->config.follow_interval_ms;
    file->interval = (struct __kernel_timespec){.tv_sec = ms / 1000,
                                                .tv_nsec = (long long)(ms % 1000) * 1000000};
    sl_stream_init(ingest, &file->stream, 0, ingest->config.path);
    sl_log(SL_LOG_INFO, "ingest: file %s: io_uring reads of %u bytes%s", ingest->config.path,
           ingest->config.read_bytes, ingest->config.follow ? ", following growth" : "");
    sl_file_arm_read(ingest);
    return 0;
}

/* Feeds what the last read left, then reads on (unless stopping, done or
 * out of room). */
static void sl_file_service(struct sl_ingest *ingest)
{
    struct sl_file *file = &ingest->file;
    if (file->buf_len != 0) {
        size_t consumed;
        int rc = sl_stream_feed(&file->stream, file->buf + file->buf_off, file->buf_len, &consumed);
        file->buf_off += (uint32_t)consumed;
        file->buf_len -= (uint32_t)consumed;
        if (rc == -EAGAIN) {
            if (!file->waiting)
                ingest->stats.pauses++;
            file->waiting = true;
            return;
        }
        if (rc < 0) {
            file->sync_lost = true; /* reported by the stream */
            file->done = true;
            file->buf_len = 0;
            return;
        }
    }
    if (!file->read_armed && !file->timer_armed && !file->done && !ingest->stopping)
        sl_file_arm_read(ingest);
}

static void sl_file_read_done(struct sl_ingest *ingest, int res)
{
    struct sl_file *file = &ingest->file;
    file->read_armed = false;
    if (res > 0) {
        ingest->stats.bytes += (uint64_t)res;
        file->read_offset += (uint64_t)res;
        file->buf_off = 0;
        file->buf_len = (uint32_t)res;
        sl_file_service(ingest);
    } else if (res == 0) {
        if (!ingest->config.follow)
            file->done = true;
        else if (!ingest->stopping)
            sl_file_arm_timer(ingest);
    } else if (res != -ECANCELED) {
        struct sl_ingest_error error = {
            .kind = SL_INGEST_ERR_IO, .source_id = ingest->config.source_id,
            .peer = ingest->config.path, .offset = file->read_offset, .seq = file->stream.seq,
            .sync_lost = true, .reason = strerror(-res)};
        sl_ingest_report(ingest, &error);
        file->done = true;
    }
}

void sl_file_complete(struct sl_ingest *ingest, uint32_t op, int res)
{
    struct sl_file *file = &ingest->file;
    if (op == SL_OP_READ) {
        sl_file_read_done(ingest, res);
        return;
    }
    file->timer_armed = false;
    if (!ingest->stopping && !file->waiting)
        sl_file_service(ingest);
}

void sl_file_resume(struct sl_ingest *ingest)
{
    struct sl_file *file = &ingest->file;
    if (!file->waiting)
        return;
    file->waiting = false;
    sl_file_service(ingest);
}

void sl_file_stop(struct sl_ingest *ingest)
{
    struct sl_file *file = &ingest->file;
    if (file->read_armed)
        sl_ingest_cancel(ingest, sl_uring_tag(SL_OP_READ, 0, 0));
    if (file->timer_armed)
        sl_ingest_cancel(ingest, sl_uring_tag(SL_OP_TIMEOUT, 0, 0));
}

void sl_file_drain(struct sl_ingest *ingest)
{
    struct sl_file *file = &ingest->file;
    bool sync_lost = file->sync_lost;
    while (!sync_lost && file->buf_len != 0) {
        file->waiting = false;
        sl_file_service(ingest);
        if (file->waiting)
            sl_ingest_wait_room(ingest);
    }
    while (sl_stream_finish(&file->stream, sync_lost) == -EAGAIN)
        sl_ingest_wait_room(ingest);
}

void sl_file_fini(struct sl_ingest *ingest)
{
    struct sl_file *file = &ingest->file;
    if (file->buf != NULL) {
        sl_stream_fini(&file->stream);
        free(file->buf);
    }
    if (file->fd >= 0)
        close(file->fd);
}
