/*
 * fuzz_frame.c - libFuzzer target for the `fb` frame reader (src/io/frame.c).
 *
 * Input layout:
 *   byte 0     frame_bytes_max selector (see frame_max_of)
 *   byte 1     bit 0: limited arena (backpressure: -EAGAIN, drain, re-feed);
 *              bits 1..7: extra arena room in 8-byte units
 *   bytes 2..5 chunk sizes, cycled: n + 1 bytes each (0xff: the rest)
 *   bytes 6..  the byte stream
 * Oracle: a one-shot parse of the whole stream. The incremental reader must
 * commit exactly the frames it finds (same offsets, sizes, bytes) at 8-aligned
 * addresses, fail with the same error at the same offset, report truncation
 * at end of stream exactly when the stream stops inside a frame, and keep
 * its partial buffer within 4 + frame_bytes_max.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "io/frame.h"

#define HEADER_BYTES 6

/* What a one-shot parse of the stream finds. */
struct expect {
    size_t count;             /* whole frames */
    size_t *offset;           /* [count] */
    size_t *size;             /* [count], prefix included */
    size_t size_max;          /* largest frame */
    enum sl_frame_error error;  /* ZERO_LENGTH / OVERSIZE, TRUNCATED, or OK */
    size_t error_offset;
};

struct run {
    const uint8_t *stream;
    const struct expect *expect;
    uint8_t *arena;
    size_t arena_cap, used, room;
    size_t committed;         /* frames committed so far */
    size_t refusals;          /* reserve() calls refused */
};

static uint32_t frame_max_of(uint8_t b)
{
    if (b == 0xff)
        return SL_FRAME_BYTES_MAX;
    if (b & 0x80)
        return (uint32_t)(b & 0x7f) + 1;  /* 1..127: many oversize frames */
    return (uint32_t)b * 64 + 64;         /* 64..8192 */
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void expect_parse(struct expect *e, const uint8_t *s, size_t len, uint32_t max)
{
    memset(e, 0, sizeof(*e));
    e->offset = malloc((len / 5 + 1) * sizeof(size_t));
    e->size = malloc((len / 5 + 1) * sizeof(size_t));
    size_t pos = 0;
    while (pos < len) {
        if (len - pos < 4) {
            e->error = SL_FRAME_TRUNCATED;
            break;
        }
        uint32_t l = le32(s + pos);
        if (l == 0 || l > max) {
            e->error = l == 0 ? SL_FRAME_ZERO_LENGTH : SL_FRAME_OVERSIZE;
            break;
        }
        if (len - pos - 4 < l) {
            e->error = SL_FRAME_TRUNCATED;
            break;
        }
        e->offset[e->count] = pos;
        e->size[e->count] = 4 + (size_t)l;
        if (e->size[e->count] > e->size_max)
            e->size_max = e->size[e->count];
        e->count++;
        pos += 4 + (size_t)l;
    }
    e->error_offset = pos;
}

static uint8_t *run_reserve(void *ctx, size_t size)
{
    struct run *run = ctx;
    size_t at = (run->used + 7) & ~(size_t)7;
    if (at + size > run->room) {
        run->refusals++;
        return NULL;
    }
    FUZZ_CHECK(at + size <= run->arena_cap);
    run->used = at + size;
    return run->arena + at;
}

static int run_commit(void *ctx, uint8_t *dst, size_t size, uint64_t offset)
{
    struct run *run = ctx;
    const struct expect *e = run->expect;
    FUZZ_CHECK(((uintptr_t)dst & 7) == 0);
    FUZZ_CHECK(run->committed < e->count);
    FUZZ_CHECK(offset == e->offset[run->committed]);
    FUZZ_CHECK(size == e->size[run->committed]);
    FUZZ_CHECK(memcmp(dst, run->stream + offset, size) == 0);
    run->committed++;
    return 0;
}

/* Feeds one chunk; on -EAGAIN drains the arena and feeds the rest again.
 * Returns the reader's final code for this chunk. */
static int feed_chunk(struct sl_frame_reader *reader, struct run *run, const uint8_t *chunk,
                      size_t n)
{
    struct sl_frame_sink sink = {.reserve = run_reserve, .commit = run_commit, .ctx = run};
    size_t off = 0;
    for (;;) {
        size_t consumed = SIZE_MAX;
        int rc = sl_frame_reader_feed(reader, chunk + off, n - off, &sink, &consumed);
        FUZZ_CHECK(consumed <= n - off);
        off += consumed;
        if (rc != -EAGAIN) {
            FUZZ_CHECK(rc != 0 || off == n);
            return rc;
        }
        /* An empty arena with room for the largest frame never refuses. */
        FUZZ_CHECK(run->used != 0);
        run->used = 0;
    }
}

static void check_error(const struct sl_frame_reader *reader, const struct expect *e)
{
    FUZZ_CHECK(reader->error == e->error);
    FUZZ_CHECK(reader->error_offset == e->error_offset);
    char text[160];
    sl_frame_reader_describe(reader, text, sizeof(text));
    FUZZ_CHECK(strncmp(text, "offset ", 7) == 0);
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
    uint32_t max = frame_max_of(data[0]);
    const uint8_t *stream = data + HEADER_BYTES;
    size_t len = size - HEADER_BYTES;
    struct expect e;
    expect_parse(&e, stream, len, max);

    struct run run = {.stream = stream, .expect = &e};
    run.arena_cap = 2 * len + 16;
    run.arena = aligned_alloc(8, (run.arena_cap + 7) & ~(size_t)7);
    run.room = (data[1] & 1) ? e.size_max + 8 * (size_t)(data[1] >> 1) : run.arena_cap;

    struct sl_frame_reader reader;
    sl_frame_reader_init(&reader, max);
    size_t pos = 0;
    int rc = 0;
    for (size_t k = 0; pos < len && rc == 0; k++) {
        uint8_t b = data[2 + k % 4];
        size_t n = b == 0xff ? len - pos : (size_t)b + 1;
        if (n > len - pos)
            n = len - pos;
        rc = feed_chunk(&reader, &run, stream + pos, n);
        FUZZ_CHECK(reader.buf_cap <= 4 + (size_t)max);
        pos += n;
    }
    FUZZ_CHECK(run.committed == e.count);
    FUZZ_CHECK(reader.frames == e.count);
    if (e.error == SL_FRAME_ZERO_LENGTH || e.error == SL_FRAME_OVERSIZE) {
        FUZZ_CHECK(rc == -EBADMSG);
        check_error(&reader, &e);
        size_t consumed;
        struct sl_frame_sink sink = {.reserve = run_reserve, .commit = run_commit, .ctx = &run};
        FUZZ_CHECK(sl_frame_reader_feed(&reader, stream, len, &sink, &consumed) == -EBADMSG);
        FUZZ_CHECK(sl_frame_reader_finish(&reader) == -EBADMSG);
    } else if (e.error == SL_FRAME_TRUNCATED) {
        FUZZ_CHECK(rc == 0 && sl_frame_reader_is_partial(&reader));
        FUZZ_CHECK(sl_frame_reader_finish(&reader) == -EBADMSG);
        check_error(&reader, &e);
    } else {
        FUZZ_CHECK(rc == 0 && !sl_frame_reader_is_partial(&reader));
        FUZZ_CHECK(sl_frame_reader_finish(&reader) == 0);
        FUZZ_CHECK(reader.offset == len);
    }
    sl_frame_reader_fini(&reader);
    free(run.arena);
    free(e.offset);
    free(e.size);
    return 0;
}
