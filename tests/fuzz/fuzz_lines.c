/*
 * fuzz_lines.c - libFuzzer target for the `jsonl` line splitter
 * (src/io/lines.c).
 *
 * Input layout:
 *   byte 0     line_bytes_max selector (see line_max_of)
 *   byte 1     refuse every (b % 4 + 1)-th offered line with -EAGAIN (b % 4
 *              == 0: never), to exercise backpressure and re-feeding
 *   bytes 2..5 chunk sizes, cycled: n + 1 bytes each (0xff: the rest)
 *   bytes 6..  the byte stream
 * Oracle: a one-shot split of the whole stream (split at "\n", drop one
 * "\r" before it, skip empty lines, report lines over the maximum at their
 * first byte). The incremental splitter must produce the same events in the
 * same order, whatever the chunking, and keep its buffer within max + 1.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "io/lines.h"

#define HEADER_BYTES 6

/* One thing the splitter reports: a line, or an overlong line. */
struct event {
    bool overlong;
    size_t offset;
    size_t len;    /* lines: content length */
};

struct run {
    const char *stream;
    uint32_t max;
    const struct event *expect;
    size_t expect_count;
    size_t seen;
    unsigned refuse_every;
    unsigned offers;
};

static uint32_t line_max_of(uint8_t b)
{
    if (b == 0xff)
        return SL_LINES_BYTES_MAX;
    if (b & 0x80)
        return (uint32_t)b * 32;        /* 4096..8160 */
    return (uint32_t)b + 1;             /* 1..128 */
}

/* One-shot reference split; returns the number of events written to ev. */
static size_t expect_split(struct event *ev, const char *s, size_t len, uint32_t max)
{
    size_t count = 0, pos = 0;
    while (pos < len) {
        const char *nl = memchr(s + pos, '\n', len - pos);
        size_t end = nl != NULL ? (size_t)(nl - s) : len;
        size_t content = end - pos;
        if (content > 0 && s[end - 1] == '\r')
            content--;
        if (content > max)
            ev[count++] = (struct event){.overlong = true, .offset = pos};
        else if (content > 0)
            ev[count++] = (struct event){.offset = pos, .len = content};
        pos = end + 1;
    }
    return count;
}

static int run_line(void *ctx, const char *line, size_t len, uint64_t offset)
{
    struct run *run = ctx;
    run->offers++;
    if (run->refuse_every != 0 && run->offers % run->refuse_every == 0)
        return -EAGAIN;
    FUZZ_CHECK(run->seen < run->expect_count);
    const struct event *ev = &run->expect[run->seen];
    FUZZ_CHECK(!ev->overlong);
    FUZZ_CHECK(offset == ev->offset && len == ev->len);
    FUZZ_CHECK(len >= 1 && len <= run->max);
    FUZZ_CHECK(memcmp(line, run->stream + offset, len) == 0);
    run->seen++;
    return 0;
}

static void run_overlong(void *ctx, uint64_t offset, uint64_t len_seen)
{
    struct run *run = ctx;
    FUZZ_CHECK(run->seen < run->expect_count);
    const struct event *ev = &run->expect[run->seen];
    FUZZ_CHECK(ev->overlong && offset == ev->offset);
    FUZZ_CHECK(len_seen > run->max);
    run->seen++;
}

/* Feeds one chunk, re-feeding the refused tail (the next offer is taken). */
static void feed_chunk(struct sl_lines *lines, const struct sl_lines_sink *sink, const char *chunk,
                       size_t n)
{
    size_t off = 0;
    for (int spins = 0;; spins++) {
        size_t consumed = SIZE_MAX;
        int rc = sl_lines_feed(lines, chunk + off, n - off, sink, &consumed);
        FUZZ_CHECK(consumed <= n - off);
        off += consumed;
        if (rc == 0) {
            FUZZ_CHECK(off == n);
            return;
        }
        FUZZ_CHECK(rc == -EAGAIN && (size_t)spins <= n);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER_BYTES)
        return 0;
    uint32_t max = line_max_of(data[0]);
    const char *stream = (const char *)data + HEADER_BYTES;
    size_t len = size - HEADER_BYTES;
    struct event *expect = malloc((len + 1) * sizeof(*expect));
    struct run run = {.stream = stream, .max = max, .expect = expect};
    run.expect_count = expect_split(expect, stream, len, max);
    run.refuse_every = data[1] % 4 == 0 ? 0 : data[1] % 4 + 1;
    struct sl_lines_sink sink = {.line = run_line, .overlong = run_overlong, .ctx = &run};

    struct sl_lines lines;
    sl_lines_init(&lines, max);
    size_t pos = 0;
    for (size_t k = 0; pos < len; k++) {
        uint8_t b = data[2 + k % 4];
        size_t n = b == 0xff ? len - pos : (size_t)b + 1;
        if (n > len - pos)
            n = len - pos;
        feed_chunk(&lines, &sink, stream + pos, n);
        FUZZ_CHECK(lines.buf_cap <= (size_t)max + 1);
        pos += n;
    }
    int rc = sl_lines_finish(&lines, &sink);
    if (rc == -EAGAIN)
        rc = sl_lines_finish(&lines, &sink);
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(run.seen == run.expect_count);
    FUZZ_CHECK(lines.offset == len);
    FUZZ_CHECK(lines.lines + lines.overlong == run.expect_count);
    FUZZ_CHECK(sl_lines_finish(&lines, &sink) == 0 && run.seen == run.expect_count);
    sl_lines_fini(&lines);
    free(expect);
    return 0;
}
