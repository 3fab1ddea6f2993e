/*
 * lines.c - incremental splitter for the `jsonl` framing (see lines.h for
 * the line rules, the hand-out contract and the memory bound).
 *
 * State between chunks: either `held` bytes of the current line sit in buf
 * (held may be 0: at a line boundary), or `skipping` is set and bytes are
 * dropped through the next newline. A held line never exceeds
 * line_bytes_max + 1 bytes; past that it is overlong whatever follows.
 */
#include "io/lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"

#define SL_LINES_BUF_MIN 256u

void sl_lines_init(struct sl_lines *lines, uint32_t line_bytes_max)
{
    SL_ASSERT(line_bytes_max >= 1 && line_bytes_max <= SL_LINES_BYTES_MAX);
    memset(lines, 0, sizeof(*lines));
    lines->line_bytes_max = line_bytes_max;
}

void sl_lines_fini(struct sl_lines *lines)
{
    free(lines->buf);
    lines->buf = NULL;
    lines->buf_cap = 0;
    lines->held = 0;
}

/* Makes buf hold at least need bytes (need <= line_bytes_max + 1), keeping
 * the held bytes. Grows geometrically within the bound. */
static int sl_lines_buf_reserve(struct sl_lines *lines, size_t need)
{
    if (lines->buf_cap >= need)
        return 0;
    size_t limit = (size_t)lines->line_bytes_max + 1;
    SL_DASSERT(need <= limit);
    size_t cap = lines->buf_cap * 2 > SL_LINES_BUF_MIN ? lines->buf_cap * 2 : SL_LINES_BUF_MIN;
    if (cap > limit)
        cap = limit;
    if (cap < need)
        cap = need;
    char *buf = realloc(lines->buf, cap);
    if (buf == NULL)
        return -ENOMEM;
    lines->buf = buf;
    lines->buf_cap = cap;
    return 0;
}

static void sl_lines_report_overlong(struct sl_lines *lines, const struct sl_lines_sink *sink,
                                     uint64_t offset, uint64_t len_seen)
{
    lines->overlong++;
    if (sink->overlong != NULL)
        sink->overlong(sink->ctx, offset, len_seen);
}

/* Hands out one complete line (line ending already removed); empty lines
 * are counted and skipped. Returns sink.line()'s result. */
static int sl_lines_emit(struct sl_lines *lines, const struct sl_lines_sink *sink, const char *line,
                         size_t len, uint64_t offset)
{
    if (len == 0) {
        lines->blank++;
        return 0;
    }
    int rc = sink->line(sink->ctx, line, len, offset);
    if (rc != -EAGAIN)
        lines->lines++;
    return rc;
}

/* No newline in data[pos..len): hold those bytes, or start skipping when
 * the line can no longer fit. */
static int sl_lines_hold(struct sl_lines *lines, const struct sl_lines_sink *sink,
                         const char *data, size_t pos, size_t len, uint64_t line_offset)
{
    size_t add = len - pos;
    if (add > (size_t)lines->line_bytes_max + 1 - lines->held) {
        sl_lines_report_overlong(lines, sink, line_offset, (uint64_t)lines->held + add);
        lines->held = 0;
        lines->skipping = true;
        return 0;
    }
    int rc = sl_lines_buf_reserve(lines, lines->held + add);
    if (rc < 0)
        return rc;
    memcpy(lines->buf + lines->held, data + pos, add);
    lines->held += add;
    return 0;
}

/* The current line ends at data[end] == '\n'; its first `held` bytes are
 * in buf, the rest in data[pos..end). Hands it out or reports it overlong. */
static int sl_lines_complete(struct sl_lines *lines, const struct sl_lines_sink *sink,
                             const char *data, size_t pos, size_t end, uint64_t line_offset)
{
    size_t add = end - pos;
    size_t total = lines->held + add;
    char last = add > 0 ? data[end - 1] : lines->held > 0 ? lines->buf[lines->held - 1] : '\n';
    bool cr = last == '\r';
    size_t content = total - (cr ? 1 : 0);
    if (content > lines->line_bytes_max) {
        sl_lines_report_overlong(lines, sink, line_offset, content);
        lines->held = 0;
        return 0;
    }
    if (lines->held == 0)
        return sl_lines_emit(lines, sink, data + pos, content, line_offset);
    int rc = sl_lines_buf_reserve(lines, total);
    if (rc < 0)
        return rc;
    memcpy(lines->buf + lines->held, data + pos, add);
    rc = sl_lines_emit(lines, sink, lines->buf, content, line_offset);
    if (rc != -EAGAIN)
        lines->held = 0;
    return rc;
}

int sl_lines_feed(struct sl_lines *lines, const char *data, size_t len,
                  const struct sl_lines_sink *sink, size_t *consumed)
{
    SL_ASSERT(sink != NULL && sink->line != NULL);
    SL_ASSERT(data != NULL || len == 0);
    size_t pos = 0;
    int rc = 0;
    while (rc == 0 && pos < len) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl != NULL ? (size_t)(nl - data) : len;
        uint64_t line_offset = lines->offset + pos - lines->held;
        if (lines->skipping) {
            lines->skipping = nl == NULL;
        } else if (nl == NULL) {
            rc = sl_lines_hold(lines, sink, data, pos, len, line_offset);
        } else {
            rc = sl_lines_complete(lines, sink, data, pos, end, line_offset);
            if (rc == -EAGAIN)
                break;
        }
        if (rc == -ENOMEM)
            break;
        pos = nl != NULL ? end + 1 : len;
    }
    lines->offset += pos;
    *consumed = pos;
    return rc;
}

int sl_lines_finish(struct sl_lines *lines, const struct sl_lines_sink *sink)
{
    SL_ASSERT(sink != NULL && sink->line != NULL);
    if (lines->skipping) {
        lines->skipping = false;
        return 0;
    }
    if (lines->held == 0)
        return 0;
    size_t content = lines->held;
    if (content > 0 && lines->buf[content - 1] == '\r')
        content--;
    uint64_t line_offset = lines->offset - lines->held;
    if (content > lines->line_bytes_max) {
        sl_lines_report_overlong(lines, sink, line_offset, content);
        lines->held = 0;
        return 0;
    }
    int rc = sl_lines_emit(lines, sink, lines->buf, content, line_offset);
    if (rc != -EAGAIN)
        lines->held = 0;
    return rc;
}
