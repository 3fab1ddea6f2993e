/*
 * frame.h - incremental reader for the `fb` framing: a byte stream of
 * size-prefixed FlatBuffers, cut out of chunks as recv()/read() deliver them.
 *
 * Stream format (DESIGN.md, "Framings"):
 *   offset 0   u32 little-endian  length L (bytes after the prefix), 1..frame_bytes_max
 *   offset 4   L bytes            the FlatBuffer; then the next frame's prefix
 *
 * A frame is handed out from its prefix, as [u32 L][L bytes], which is what
 * sl_fb_verify(..., prefixed = true, ...) expects. Chunks may split a frame at
 * any byte, including inside the prefix.
 *
 * Placement: the caller supplies the destination of every frame through
 * sl_frame_sink.reserve(), which returns an 8-aligned address (for example
 * the next 8-aligned offset of a batch arena). The reader copies each frame
 * byte into that destination exactly once:
 *   - a frame that lies wholly inside one chunk is copied from the chunk;
 *   - a frame that spans chunks keeps its first part in the reader's
 *     per-connection buffer until its last byte arrives; then the held part
 *     and the rest from the current chunk are copied into the destination.
 * So bytes reach the batch once; only the head of a split frame is also
 * copied into the per-connection buffer (plus, while that buffer grows, the
 * amortized O(1) per byte of realloc()).
 *
 * Memory bound, per connection: sizeof(struct sl_frame_reader) plus the
 * partial-frame buffer. That buffer is allocated when a frame first spans
 * two chunks and grows (doubling, from 256 bytes) with the bytes actually
 * held, capped at the current frame's size: it is never larger than
 * max(256, twice the most bytes it has held) nor than 4 + frame_bytes_max
 * (the bound to plan with). A prefix that
 * announces a large frame allocates nothing until its bytes arrive. The
 * buffer is kept (not shrunk) for the connection's life and freed by
 * sl_frame_reader_fini().
 *
 * Errors: a length of 0 or above frame_bytes_max loses sync; the stream
 * offset of the bad prefix is recorded and every later feed fails, so the
 * caller closes that connection. A stream that ends inside a frame is
 * reported by sl_frame_reader_finish() with the offset of that frame.
 *
 * @locality: a reader belongs to one connection and is used by one thread.
 */
#ifndef SL_IO_FRAME_H
#define SL_IO_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_FRAME_PREFIX_BYTES 4u
#define SL_FRAME_ALIGN 8u
#define SL_FRAME_BYTES_MAX 0x7fffffffu /* largest FlatBuffer (FLATBUFFERS_MAX_BUFFER_SIZE) */

/* Where frames go. Callbacks run on the reader's thread, inside feed(). */
struct sl_frame_sink {
    /*
     * Returns an SL_FRAME_ALIGN-aligned destination for size bytes (prefix
     * included), or NULL when there is no room now (backpressure): the frame
     * is not taken and feed() returns -EAGAIN.
     */
    uint8_t *(*reserve)(void *ctx, size_t size);
    /*
     * The frame [prefix | buffer] now sits at dst (the address reserve()
     * returned); offset is the stream offset of its prefix. Returns 0, or a
     * negative errno that aborts feed() and is returned from it.
     */
    int (*commit)(void *ctx, uint8_t *dst, size_t size, uint64_t offset);
    void *ctx;
};

enum sl_frame_error {
    SL_FRAME_OK,
    SL_FRAME_ZERO_LENGTH, /* prefix says 0 bytes */
    SL_FRAME_OVERSIZE,    /* prefix says more than frame_bytes_max */
    SL_FRAME_TRUNCATED,   /* stream ended inside a frame */
};

/* Per-connection state; owned by the connection, touched by its io thread only. */
struct sl_frame_reader {
    uint8_t *buf;            /* head of a frame that spans chunks; NULL until needed */
    size_t buf_cap;          /* bytes allocated at buf */
    uint32_t frame_bytes_max; /* largest accepted length L (bytes after the prefix) */
    uint8_t head[SL_FRAME_PREFIX_BYTES]; /* prefix bytes seen so far when it is split */
    uint32_t have;           /* bytes of the current frame held (head or buf), prefix included */
    uint32_t need;           /* 4 + L once the prefix is complete, else 0 */
    uint64_t offset;         /* stream offset of the next byte fed (bytes consumed so far) */
    uint64_t frames;         /* frames committed */
    enum sl_frame_error error; /* set once sync is lost or the stream was truncated */
    uint64_t error_offset;   /* stream offset of the bad or truncated frame's prefix */
    uint64_t error_length;   /* its length field; truncated in the prefix: prefix bytes held */
};

/* frame_bytes_max: 1..SL_FRAME_BYTES_MAX. Allocates nothing. */
void sl_frame_reader_init(struct sl_frame_reader *reader, uint32_t frame_bytes_max);
void sl_frame_reader_fini(struct sl_frame_reader *reader);

/*
 * Consumes data[0..len): commits every frame completed by it through sink
 * and keeps the tail of an unfinished frame. *consumed is set to the bytes
 * taken. Returns:
 *   0         all len bytes taken;
 *   -EAGAIN   reserve() had no room: data[*consumed..len) was not taken;
 *             feed it again when there is room;
 *   -EBADMSG  framing error (see error, error_offset): sync is lost, close
 *             the connection; data before the bad prefix was consumed;
 *   -ENOMEM   the partial-frame buffer could not grow;
 *   any negative value commit() returned.
 * Cost: O(len) plus one memcpy per frame byte into the destination.
 */
int sl_frame_reader_feed(struct sl_frame_reader *reader, const uint8_t *data, size_t len,
                         const struct sl_frame_sink *sink, size_t *consumed);

/*
 * End of stream. Returns 0 when the stream ended on a frame boundary, else
 * -EBADMSG with error = SL_FRAME_TRUNCATED (or the earlier framing error).
 */
int sl_frame_reader_finish(struct sl_frame_reader *reader);

/* Is a frame partly received? */
static inline bool sl_frame_reader_is_partial(const struct sl_frame_reader *reader)
{
    return reader->have != 0;
}

/* Writes "offset N: reason" for the recorded error into buf (NUL-terminated). */
void sl_frame_reader_describe(const struct sl_frame_reader *reader, char *buf, size_t len);

#endif
