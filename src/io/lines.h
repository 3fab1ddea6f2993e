/*
 * lines.h - incremental splitter for the `jsonl` framing: a byte stream of
 * lines (JSON texts), cut out of chunks as recv()/read() deliver them.
 *
 * Stream format: lines end with "\n"; a "\r" right before the "\n" is
 * dropped too ("\r\n" endings are tolerated); the last line may lack its
 * newline and is handed out by sl_lines_finish(). Empty lines (after dropping
 * "\r") carry no event: they are counted in `blank` and not handed out.
 *
 * Lines are handed out in place: a line that lies wholly in one chunk is a
 * view into that chunk (no copy; the consumer transcodes it into the batch);
 * a line that spans chunks is gathered in the splitter's per-connection
 * buffer and handed out from there. Line views are valid only during the
 * callback.
 *
 * Limits: a line longer than line_bytes_max (without its "\r\n" / "\n") is
 * reported through sink.overlong() with the offset of its first byte, then
 * skipped up to and including the next newline. Lines keep sync, so the
 * connection stays open.
 *
 * Memory bound, per connection: the gathering buffer is allocated when a line
 * first spans two chunks, grows geometrically, and never exceeds
 * line_bytes_max + 1 bytes (room for a trailing "\r" whose "\n" has not
 * arrived yet), plus sizeof(struct sl_lines). Freed by sl_lines_fini().
 *
 * @locality: one splitter per connection, used by one thread.
 */
#ifndef SL_IO_LINES_H
#define SL_IO_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_LINES_BYTES_MAX 0x7ffffffeu

/* Where lines go. Callbacks run on the splitter's thread, inside feed()/finish(). */
struct sl_lines_sink {
    /*
     * One complete line, without its line ending, len >= 1; offset is the
     * stream offset of its first byte. Returns 0 (taken), -EAGAIN (no room
     * now: not taken, feed() stops and offers it again on the next call), or
     * another negative errno that aborts feed() (the line counts as consumed).
     */
    int (*line)(void *ctx, const char *line, size_t len, uint64_t offset);
    /*
     * A line starting at offset is longer than line_bytes_max; len_seen is
     * how many of its bytes had arrived when that became clear (a lower
     * bound of its length). It is skipped through its newline.
     */
    void (*overlong)(void *ctx, uint64_t offset, uint64_t len_seen);
    void *ctx;
};

/* Per-connection state; owned by the connection, touched by its io thread only. */
struct sl_lines {
    char *buf;               /* start of a line that spans chunks; NULL until needed */
    size_t buf_cap;          /* bytes allocated at buf, <= line_bytes_max + 1 */
    size_t held;             /* bytes of the current line held in buf */
    uint32_t line_bytes_max; /* longest line handed out, line ending excluded */
    bool skipping;           /* inside an overlong line: drop bytes through the next "\n" */
    uint64_t offset;         /* stream offset of the next byte fed (bytes consumed so far) */
    uint64_t lines;          /* lines taken by sink.line() */
    uint64_t blank;          /* empty lines skipped */
    uint64_t overlong;       /* lines reported as too long */
};

/* line_bytes_max: 1..SL_LINES_BYTES_MAX. Allocates nothing. */
void sl_lines_init(struct sl_lines *lines, uint32_t line_bytes_max);
void sl_lines_fini(struct sl_lines *lines);

/*
 * Consumes data[0..len): hands every line completed by it to sink and keeps
 * the start of an unfinished one. *consumed is set to the bytes taken.
 * Returns 0 (all taken), -EAGAIN (sink.line() had no room:
 * data[*consumed..len) was not taken; feed it again later), -ENOMEM (the
 * gathering buffer could not grow), or sink.line()'s failure.
 * Cost: O(len) (memchr), plus one copy of the bytes of lines that span chunks.
 */
int sl_lines_feed(struct sl_lines *lines, const char *data, size_t len,
                  const struct sl_lines_sink *sink, size_t *consumed);

/*
 * End of stream: hands out a last line that had no newline. Returns 0,
 * -EAGAIN (not taken: call again when there is room), or sink.line()'s failure.
 */
int sl_lines_finish(struct sl_lines *lines, const struct sl_lines_sink *sink);

#endif
