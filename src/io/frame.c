/*
 * frame.c - incremental reader for the `fb` framing (see frame.h for the
 * stream format, the placement contract and the memory bound).
 *
 * State between chunks: `have` bytes of the current frame were consumed.
 * While need == 0 the prefix is incomplete and those bytes sit in head[];
 * once the prefix is known (need = 4 + L) and body bytes must be held, all
 * held bytes (prefix included) sit in buf[0..have). A complete frame is
 * never held: its last byte goes straight from the chunk to the destination.
 */
#include "io/frame.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"

#define SL_FRAME_BUF_MIN 256u

void sl_frame_reader_init(struct sl_frame_reader *reader, uint32_t frame_bytes_max)
{
    SL_ASSERT(frame_bytes_max >= 1 && frame_bytes_max <= SL_FRAME_BYTES_MAX);
    memset(reader, 0, sizeof(*reader));
    reader->frame_bytes_max = frame_bytes_max;
}

void sl_frame_reader_fini(struct sl_frame_reader *reader)
{
    free(reader->buf);
    reader->buf = NULL;
    reader->buf_cap = 0;
}

static uint32_t sl_frame_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Checks the length field of the frame whose prefix is at stream offset
 * frame_offset; records the error when it loses sync. */
static int sl_frame_check_length(struct sl_frame_reader *reader, uint32_t length,
                                 uint64_t frame_offset)
{
    if (length != 0 && length <= reader->frame_bytes_max)
        return 0;
    reader->error = length == 0 ? SL_FRAME_ZERO_LENGTH : SL_FRAME_OVERSIZE;
    reader->error_offset = frame_offset;
    reader->error_length = length;
    return -EBADMSG;
}

/* Makes buf hold at least want bytes of the current frame (want <= need),
 * keeping the bytes held so far. Grows with the bytes that actually arrived
 * (doubling), never beyond the frame's size, so a prefix that announces a
 * large frame costs nothing until its bytes come. */
static int sl_frame_buf_grow(struct sl_frame_reader *reader, size_t want)
{
    if (reader->buf_cap >= want)
        return 0;
    SL_DASSERT(want <= reader->need);
    size_t cap = reader->buf_cap * 2 > SL_FRAME_BUF_MIN ? reader->buf_cap * 2 : SL_FRAME_BUF_MIN;
    if (cap > reader->need)
        cap = reader->need;
    if (cap < want)
        cap = want;
    uint8_t *buf = realloc(reader->buf, cap);
    if (buf == NULL)
        return -ENOMEM;
    reader->buf = buf;
    reader->buf_cap = cap;
    return 0;
}

/* Reserves the destination of a need-byte frame, copies the held bytes and
 * the rest from src into it, and commits it. */
static int sl_frame_place(struct sl_frame_reader *reader, const uint8_t *src, uint64_t frame_offset,
                          const struct sl_frame_sink *sink)
{
    size_t need = reader->need;
    uint8_t *dst = sink->reserve(sink->ctx, need);
    if (dst == NULL)
        return -EAGAIN;
    SL_ASSERT(((uintptr_t)dst & (SL_FRAME_ALIGN - 1)) == 0);
    const uint8_t *held = reader->have <= SL_FRAME_PREFIX_BYTES ? reader->head : reader->buf;
    memcpy(dst, held, reader->have);
    memcpy(dst + reader->have, src, need - reader->have);
    reader->have = 0;
    reader->need = 0;
    reader->frames++;
    return sink->commit(sink->ctx, dst, need, frame_offset);
}

/* Continues a frame whose first `have` bytes were consumed earlier. Takes
 * bytes from data[*pos..len); returns 0 (frame done or all bytes held),
 * -EAGAIN, -EBADMSG, -ENOMEM or commit()'s failure. */
static int sl_frame_continue(struct sl_frame_reader *reader, const uint8_t *data, size_t len,
                             size_t *pos, const struct sl_frame_sink *sink)
{
    uint64_t frame_offset = reader->offset + *pos - reader->have;
    if (reader->need == 0) {
        size_t take = SL_FRAME_PREFIX_BYTES - reader->have;
        if (take > len - *pos)
            take = len - *pos;
        memcpy(reader->head + reader->have, data + *pos, take);
        reader->have += (uint32_t)take;
        *pos += take;
        if (reader->have < SL_FRAME_PREFIX_BYTES)
            return 0;
        uint32_t length = sl_frame_le32(reader->head);
        int rc = sl_frame_check_length(reader, length, frame_offset);
        if (rc < 0)
            return rc;
        reader->need = SL_FRAME_PREFIX_BYTES + length;
    }
    size_t rest = reader->need - reader->have;
    size_t avail = len - *pos;
    if (avail >= rest) {
        int rc = sl_frame_place(reader, data + *pos, frame_offset, sink);
        if (rc != -EAGAIN)
            *pos += rest;
        return rc;
    }
    if (avail == 0)
        return 0;
    int rc = sl_frame_buf_grow(reader, reader->have + avail);
    if (rc < 0)
        return rc;
    if (reader->have == SL_FRAME_PREFIX_BYTES)
        memcpy(reader->buf, reader->head, SL_FRAME_PREFIX_BYTES);
    memcpy(reader->buf + reader->have, data + *pos, avail);
    reader->have += (uint32_t)avail;
    *pos = len;
    return 0;
}

/* Starts a frame at data[*pos]: commits it when it lies wholly in the chunk,
 * else holds its beginning. Same returns as sl_frame_continue(). */
static int sl_frame_start(struct sl_frame_reader *reader, const uint8_t *data, size_t len,
                          size_t *pos, const struct sl_frame_sink *sink)
{
    size_t avail = len - *pos;
    if (avail < SL_FRAME_PREFIX_BYTES)
        return sl_frame_continue(reader, data, len, pos, sink);
    uint64_t frame_offset = reader->offset + *pos;
    uint32_t length = sl_frame_le32(data + *pos);
    int rc = sl_frame_check_length(reader, length, frame_offset);
    if (rc < 0)
        return rc;
    size_t need = SL_FRAME_PREFIX_BYTES + (size_t)length;
    if (avail < need)
        return sl_frame_continue(reader, data, len, pos, sink);
    reader->need = (uint32_t)need;
    rc = sl_frame_place(reader, data + *pos, frame_offset, sink);
    if (rc == -EAGAIN) {
        reader->need = 0;
        return rc;
    }
    *pos += need;
    return rc;
}

int sl_frame_reader_feed(struct sl_frame_reader *reader, const uint8_t *data, size_t len,
                         const struct sl_frame_sink *sink, size_t *consumed)
{
    SL_ASSERT(sink != NULL && sink->reserve != NULL && sink->commit != NULL);
    SL_ASSERT(data != NULL || len == 0);
    size_t pos = 0;
    int rc = reader->error != SL_FRAME_OK ? -EBADMSG : 0;
    while (rc == 0 && pos < len) {
        if (reader->have != 0)
            rc = sl_frame_continue(reader, data, len, &pos, sink);
        else
            rc = sl_frame_start(reader, data, len, &pos, sink);
    }
    reader->offset += pos;
    *consumed = pos;
    return rc;
}

int sl_frame_reader_finish(struct sl_frame_reader *reader)
{
    if (reader->error != SL_FRAME_OK)
        return -EBADMSG;
    if (reader->have == 0)
        return 0;
    reader->error = SL_FRAME_TRUNCATED;
    reader->error_offset = reader->offset - reader->have;
    reader->error_length = reader->need != 0 ? reader->need - SL_FRAME_PREFIX_BYTES : reader->have;
    return -EBADMSG;
}

void sl_frame_reader_describe(const struct sl_frame_reader *reader, char *buf, size_t len)
{
    uint64_t off = reader->error_offset;
    uint64_t n = reader->error_length;
    switch (reader->error) {
    case SL_FRAME_OK:
        snprintf(buf, len, "no framing error");
        break;
    case SL_FRAME_ZERO_LENGTH:
        snprintf(buf, len, "offset %" PRIu64 ": zero-length frame (sync lost)", off);
        break;
    case SL_FRAME_OVERSIZE:
        snprintf(buf, len,
                 "offset %" PRIu64 ": frame of %" PRIu64 " bytes exceeds the maximum of %" PRIu32
                 " (sync lost)",
                 off, n, reader->frame_bytes_max);
        break;
    case SL_FRAME_TRUNCATED:
        if (reader->need == 0)
            snprintf(buf, len, "offset %" PRIu64 ": stream ended inside a frame prefix (%" PRIu64
                     " of 4 bytes)", off, n);
        else
            snprintf(buf, len, "offset %" PRIu64 ": stream ended inside a frame of %" PRIu64
                     " bytes (%" PRIu32 " received with the prefix)", off, n, reader->have);
        break;
    }
}
