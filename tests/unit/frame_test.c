/*
 * frame_test.c - the `fb` frame reader: every frame split at every byte
 * boundary, many frames per chunk, byte-at-a-time feeding, backpressure
 * (-EAGAIN and re-feed), zero-length and oversize prefixes, truncated
 * streams, the partial-buffer bound, and the 8-byte alignment of every
 * frame handed out. Exit 0 pass, 1 fail.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/frame.h"

static int failures;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                              \
        }                                                                            \
    } while (0)

#define FRAMES_MAX 64
#define ARENA_BYTES (1u << 16)

/* A batch arena stand-in: frames placed at 8-aligned offsets; room can be
 * limited to force backpressure. */
struct arena {
    alignas(8) uint8_t bytes[ARENA_BYTES];
    size_t used;
    size_t room;              /* reserve() fails beyond this */
    uint8_t *dst[FRAMES_MAX]; /* committed frames */
    size_t size[FRAMES_MAX];
    uint64_t offset[FRAMES_MAX];
    size_t count;
    int commit_rc;            /* returned by commit() */
    bool misaligned;          /* some commit saw an address off 8 */
};

static uint8_t *arena_reserve(void *ctx, size_t size)
{
    struct arena *arena = ctx;
    size_t at = (arena->used + 7) & ~(size_t)7;
    if (at + size > arena->room || arena->count == FRAMES_MAX)
        return NULL;
    arena->used = at + size;
    return arena->bytes + at;
}

static int arena_commit(void *ctx, uint8_t *dst, size_t size, uint64_t offset)
{
    struct arena *arena = ctx;
    if (((uintptr_t)dst & 7) != 0)
        arena->misaligned = true;
    arena->dst[arena->count] = dst;
    arena->size[arena->count] = size;
    arena->offset[arena->count] = offset;
    arena->count++;
    return arena->commit_rc;
}

static void arena_init(struct arena *arena, size_t room)
{
    memset(arena, 0, sizeof(*arena));
    arena->room = room;
}

static struct sl_frame_sink arena_sink(struct arena *arena)
{
    return (struct sl_frame_sink){.reserve = arena_reserve, .commit = arena_commit, .ctx = arena};
}

/* The stream under test: frames of these body lengths, each body a pattern
 * of its index, so misplaced bytes show. */
static const uint32_t body_lens[] = {1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 100, 255, 256, 1000, 2, 1};
#define NFRAMES (sizeof(body_lens) / sizeof(body_lens[0]))

struct stream {
    uint8_t bytes[8192];
    size_t len;
    uint64_t offset[NFRAMES];
};

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void stream_build(struct stream *stream)
{
    stream->len = 0;
    for (size_t i = 0; i < NFRAMES; i++) {
        stream->offset[i] = stream->len;
        put_le32(stream->bytes + stream->len, body_lens[i]);
        stream->len += 4;
        for (uint32_t j = 0; j < body_lens[i]; j++)
            stream->bytes[stream->len++] = (uint8_t)(i * 31 + j * 7 + 1);
    }
}

/* Every committed frame matches the stream, in order, aligned. */
static void check_frames(const struct arena *arena, const struct stream *stream, size_t expect)
{
    CHECK(arena->count == expect);
    CHECK(!arena->misaligned);
    for (size_t i = 0; i < arena->count && i < expect; i++) {
        CHECK(((uintptr_t)arena->dst[i] & 7) == 0);
        CHECK(arena->size[i] == 4 + (size_t)body_lens[i]);
        CHECK(arena->offset[i] == stream->offset[i]);
        CHECK(memcmp(arena->dst[i], stream->bytes + stream->offset[i], arena->size[i]) == 0);
    }
}

/* Copies the frames committed to arena since the last call into all. */
static void collect(struct arena *arena, size_t *collected, struct arena *all)
{
    for (size_t i = *collected; i < arena->count; i++) {
        all->dst[all->count] = all->bytes + all->used;
        memcpy(all->bytes + all->used, arena->dst[i], arena->size[i]);
        all->used += (arena->size[i] + 7) & ~(size_t)7;
        all->size[all->count] = arena->size[i];
        all->offset[all->count] = arena->offset[i];
        all->misaligned |= ((uintptr_t)arena->dst[i] & 7) != 0;
        all->count++;
    }
    *collected = arena->count;
}

/* Feeds data in chunks of the given sizes (cycled). The arena keeps filling
 * across feeds; on -EAGAIN the consumer "drains" it (resets it) and the
 * unconsumed tail is fed again, as the io loop does. Frames land in all. */
static int feed_chunks(struct sl_frame_reader *reader, const uint8_t *data, size_t len,
                       const size_t *sizes, size_t nsizes, struct arena *arena,
                       struct arena *all)
{
    struct sl_frame_sink sink = arena_sink(arena);
    size_t pos = 0, collected = 0;
    for (size_t k = 0; pos < len; k++) {
        size_t n = sizes[k % nsizes];
        if (n > len - pos)
            n = len - pos;
        size_t off = 0;
        for (int spins = 0;; spins++) {
            size_t consumed = 0;
            int rc = sl_frame_reader_feed(reader, data + pos + off, n - off, &sink, &consumed);
            off += consumed;
            collect(arena, &collected, all);
            if (rc != -EAGAIN && rc != 0)
                return rc;
            if (rc == 0 || spins > 4)
                break;
            arena_init(arena, arena->room);
            collected = 0;
        }
        pos += n;
    }
    return 0;
}

static void test_every_split(void)
{
    static struct stream stream;
    static struct arena arena, all;
    stream_build(&stream);
    for (size_t s = 0; s <= stream.len; s++) {
        struct sl_frame_reader reader;
        sl_frame_reader_init(&reader, 4096);
        arena_init(&arena, ARENA_BYTES);
        arena_init(&all, ARENA_BYTES);
        size_t sizes[] = {s, stream.len - s};
        CHECK(feed_chunks(&reader, stream.bytes, stream.len, sizes, 2, &arena, &all) == 0);
        CHECK(sl_frame_reader_finish(&reader) == 0);
        check_frames(&all, &stream, NFRAMES);
        CHECK(reader.offset == stream.len);
        CHECK(reader.frames == NFRAMES);
        CHECK(reader.buf_cap <= 4 + 4096);
        sl_frame_reader_fini(&reader);
    }
}

/* Three-way splits isolate each frame: the cut points are every byte of
 * frame i, the second cut the end of frame i, so frame i arrives in two
 * pieces exactly at every boundary (including inside the prefix). */
static void test_each_frame_split(void)
{
    static struct stream stream;
    static struct arena arena, all;
    stream_build(&stream);
    for (size_t i = 0; i < NFRAMES; i++) {
        size_t start = stream.offset[i], end = start + 4 + body_lens[i];
        for (size_t cut = start + 1; cut < end; cut++) {
            struct sl_frame_reader reader;
            sl_frame_reader_init(&reader, 1000);
            arena_init(&arena, ARENA_BYTES);
            arena_init(&all, ARENA_BYTES);
            size_t sizes[] = {cut, end - cut, stream.len - end};
            CHECK(feed_chunks(&reader, stream.bytes, stream.len, sizes, 3, &arena, &all) == 0);
            CHECK(sl_frame_reader_finish(&reader) == 0);
            check_frames(&all, &stream, NFRAMES);
            sl_frame_reader_fini(&reader);
        }
    }
}

static void test_small_chunks(void)
{
    static struct stream stream;
    static struct arena arena, all;
    stream_build(&stream);
    for (size_t n = 1; n <= 19; n++) {
        struct sl_frame_reader reader;
        sl_frame_reader_init(&reader, 1000);
        arena_init(&arena, ARENA_BYTES);
        arena_init(&all, ARENA_BYTES);
        size_t sizes[] = {n, n + 3, 1};
        CHECK(feed_chunks(&reader, stream.bytes, stream.len, sizes, 3, &arena, &all) == 0);
        CHECK(sl_frame_reader_finish(&reader) == 0);
        check_frames(&all, &stream, NFRAMES);
        sl_frame_reader_fini(&reader);
    }
}

/* One chunk holding every frame: all committed in one feed, the partial
 * buffer never allocated (whole frames are copied once, chunk -> arena). */
static void test_one_chunk(void)
{
    static struct stream stream;
    static struct arena arena;
    stream_build(&stream);
    struct sl_frame_reader reader;
    sl_frame_reader_init(&reader, 1000);
    arena_init(&arena, ARENA_BYTES);
    struct sl_frame_sink sink = arena_sink(&arena);
    size_t consumed = 0;
    CHECK(sl_frame_reader_feed(&reader, stream.bytes, stream.len, &sink, &consumed) == 0);
    CHECK(consumed == stream.len);
    check_frames(&arena, &stream, NFRAMES);
    CHECK(reader.buf == NULL);
    CHECK(!sl_frame_reader_is_partial(&reader));
    CHECK(sl_frame_reader_finish(&reader) == 0);
    sl_frame_reader_fini(&reader);
}

/* Backpressure: an arena with room for about one frame at a time; every
 * split point; each frame still arrives exactly once, in order. */
static void test_backpressure(void)
{
    static struct stream stream;
    static struct arena arena, all;
    stream_build(&stream);
    for (size_t s = 0; s <= stream.len; s += 3) {
        struct sl_frame_reader reader;
        sl_frame_reader_init(&reader, 1000);
        arena_init(&arena, 1008);
        arena_init(&all, ARENA_BYTES);
        size_t sizes[] = {s, stream.len - s};
        CHECK(feed_chunks(&reader, stream.bytes, stream.len, sizes, 2, &arena, &all) == 0);
        CHECK(sl_frame_reader_finish(&reader) == 0);
        check_frames(&all, &stream, NFRAMES);
        sl_frame_reader_fini(&reader);
    }
    /* No room at all: nothing consumed, state unchanged. */
    struct sl_frame_reader reader;
    sl_frame_reader_init(&reader, 1000);
    arena_init(&arena, 0);
    struct sl_frame_sink sink = arena_sink(&arena);
    size_t consumed = 99;
    CHECK(sl_frame_reader_feed(&reader, stream.bytes, stream.len, &sink, &consumed) == -EAGAIN);
    CHECK(consumed == 0);
    CHECK(reader.offset == 0 && !sl_frame_reader_is_partial(&reader));
    /* Refused, then re-fed in smaller pieces than before. */
    arena_init(&arena, ARENA_BYTES);
    CHECK(sl_frame_reader_feed(&reader, stream.bytes, 2, &sink, &consumed) == 0);
    CHECK(consumed == 2 && arena.count == 0);
    CHECK(sl_frame_reader_feed(&reader, stream.bytes + 2, stream.len - 2, &sink, &consumed) == 0);
    check_frames(&arena, &stream, NFRAMES);
    sl_frame_reader_fini(&reader);
}

/* A bad prefix after good frames, split at every byte: the good frames
 * arrive, the error names the bad prefix's offset, later feeds fail. */
static void check_bad_prefix(uint32_t bad_len, uint32_t max, enum sl_frame_error want)
{
    static struct stream stream;
    static struct arena arena, all;
    stream_build(&stream);
    size_t good = 5;
    size_t bad_at = stream.offset[good];
    uint8_t data[8192];
    memcpy(data, stream.bytes, bad_at);
    put_le32(data + bad_at, bad_len);
    memset(data + bad_at + 4, 0xab, 16);
    size_t len = bad_at + 20;
    for (size_t s = 0; s <= len; s++) {
        struct sl_frame_reader reader;
        sl_frame_reader_init(&reader, max);
        arena_init(&arena, ARENA_BYTES);
        arena_init(&all, ARENA_BYTES);
        size_t sizes[] = {s, len - s};
        CHECK(feed_chunks(&reader, data, len, sizes, 2, &arena, &all) == -EBADMSG);
        check_frames(&all, &stream, good);
        CHECK(reader.error == want);
        CHECK(reader.error_offset == bad_at);
        CHECK(reader.error_length == bad_len);
        char text[128], expect[32];
        sl_frame_reader_describe(&reader, text, sizeof(text));
        snprintf(expect, sizeof(expect), "offset %zu:", bad_at);
        CHECK(strncmp(text, expect, strlen(expect)) == 0);
        arena_init(&arena, ARENA_BYTES);
        struct sl_frame_sink sink = arena_sink(&arena);
        size_t consumed = 7;
        CHECK(sl_frame_reader_feed(&reader, stream.bytes, 8, &sink, &consumed) == -EBADMSG);
        CHECK(consumed == 0 && arena.count == 0);
        CHECK(sl_frame_reader_finish(&reader) == -EBADMSG);
        sl_frame_reader_fini(&reader);
    }
}

static void test_bad_prefixes(void)
{
    check_bad_prefix(0, 1000, SL_FRAME_ZERO_LENGTH);
    check_bad_prefix(1001, 1000, SL_FRAME_OVERSIZE);
    check_bad_prefix(0xffffffffu, 1000, SL_FRAME_OVERSIZE);
    check_bad_prefix(0x80000000u, SL_FRAME_BYTES_MAX, SL_FRAME_OVERSIZE);
}

/* The maximum itself is accepted; the partial buffer never exceeds 4 + max. */
static void test_limit_exact(void)
{
    static uint8_t data[4 + 3000];
    static struct arena arena, all;
    put_le32(data, 3000);
    for (size_t i = 0; i < 3000; i++)
        data[4 + i] = (uint8_t)(i * 13);
    for (size_t s = 1; s < sizeof(data); s += 97) {
        struct sl_frame_reader reader;
        sl_frame_reader_init(&reader, 3000);
        arena_init(&arena, ARENA_BYTES);
        arena_init(&all, ARENA_BYTES);
        size_t sizes[] = {s, 1, sizeof(data)};
        CHECK(feed_chunks(&reader, data, sizeof(data), sizes, 3, &arena, &all) == 0);
        CHECK(all.count == 1 && all.size[0] == sizeof(data));
        CHECK(all.count == 1 && memcmp(all.dst[0], data, sizeof(data)) == 0);
        CHECK(reader.buf_cap <= 4 + 3000);
        CHECK(sl_frame_reader_finish(&reader) == 0);
        sl_frame_reader_fini(&reader);
    }
}

/* A prefix announcing a huge frame allocates only as its bytes arrive. */
static void test_lazy_growth(void)
{
    static struct arena arena;
    uint8_t prefix[4 + 100];
    put_le32(prefix, 1u << 30);
    memset(prefix + 4, 0x5a, 100);
    struct sl_frame_reader reader;
    sl_frame_reader_init(&reader, SL_FRAME_BYTES_MAX);
    arena_init(&arena, ARENA_BYTES);
    struct sl_frame_sink sink = arena_sink(&arena);
    size_t consumed = 0;
    CHECK(sl_frame_reader_feed(&reader, prefix, 4, &sink, &consumed) == 0 && consumed == 4);
    CHECK(reader.buf == NULL);
    for (int i = 0; i < 40; i++)
        CHECK(sl_frame_reader_feed(&reader, prefix + 4, 100, &sink, &consumed) == 0);
    CHECK(reader.have == 4 + 4000 && reader.need == 4 + (1u << 30));
    CHECK(reader.buf_cap >= 4004 && reader.buf_cap <= 2 * 4004);
    CHECK(memcmp(reader.buf, prefix, 4) == 0 && reader.buf[4003] == 0x5a);
    CHECK(arena.count == 0);
    CHECK(sl_frame_reader_finish(&reader) == -EBADMSG && reader.error == SL_FRAME_TRUNCATED);
    CHECK(reader.error_offset == 0 && reader.error_length == 1u << 30);
    sl_frame_reader_fini(&reader);
}

/* A stream cut inside a frame (prefix or body) is reported at finish with
 * that frame's offset; frames before the cut were delivered. */
static void test_truncated(void)
{
    static struct stream stream;
    static struct arena arena, all;
    stream_build(&stream);
    for (size_t cut = 1; cut < stream.len; cut++) {
        size_t whole = 0;
        while (whole < NFRAMES && stream.offset[whole] + 4 + body_lens[whole] <= cut)
            whole++;
        bool boundary = whole == NFRAMES || stream.offset[whole] == cut;
        struct sl_frame_reader reader;
        sl_frame_reader_init(&reader, 1000);
        arena_init(&arena, ARENA_BYTES);
        arena_init(&all, ARENA_BYTES);
        size_t sizes[] = {cut / 2 + 1, 5};
        CHECK(feed_chunks(&reader, stream.bytes, cut, sizes, 2, &arena, &all) == 0);
        check_frames(&all, &stream, whole);
        if (boundary) {
            CHECK(sl_frame_reader_finish(&reader) == 0);
        } else {
            CHECK(sl_frame_reader_is_partial(&reader));
            CHECK(sl_frame_reader_finish(&reader) == -EBADMSG);
            CHECK(reader.error == SL_FRAME_TRUNCATED);
            CHECK(reader.error_offset == stream.offset[whole]);
            char text[128], expect[32];
            sl_frame_reader_describe(&reader, text, sizeof(text));
            snprintf(expect, sizeof(expect), "offset %zu:", (size_t)stream.offset[whole]);
            CHECK(strncmp(text, expect, strlen(expect)) == 0);
        }
        sl_frame_reader_fini(&reader);
    }
}

/* commit() failing aborts feed with its code; the frame counts as consumed. */
static void test_commit_error(void)
{
    static struct stream stream;
    static struct arena arena;
    stream_build(&stream);
    struct sl_frame_reader reader;
    sl_frame_reader_init(&reader, 1000);
    arena_init(&arena, ARENA_BYTES);
    arena.commit_rc = -ECANCELED;
    struct sl_frame_sink sink = arena_sink(&arena);
    size_t consumed = 0;
    CHECK(sl_frame_reader_feed(&reader, stream.bytes, stream.len, &sink, &consumed) == -ECANCELED);
    CHECK(arena.count == 1);
    CHECK(consumed == 4 + body_lens[0]);
    CHECK(reader.offset == consumed);
    sl_frame_reader_fini(&reader);
}

int main(void)
{
    test_every_split();
    test_each_frame_split();
    test_small_chunks();
    test_one_chunk();
    test_backpressure();
    test_bad_prefixes();
    test_limit_exact();
    test_lazy_growth();
    test_truncated();
    test_commit_error();
    if (failures != 0) {
        fprintf(stderr, "frame_test: %d checks failed\n", failures);
        return 1;
    }
    printf("frame_test: ok\n");
    return 0;
}
