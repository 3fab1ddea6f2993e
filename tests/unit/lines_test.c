/*
 * lines_test.c - the `jsonl` line splitter: every split point of a stream,
 * every line split at every byte, small chunks, "\r\n" endings, blank
 * lines, the last line without newline, overlong lines (reported once with
 * their offset, skipped, sync kept), backpressure (-EAGAIN and re-feed), a
 * failing consumer, and the gathering-buffer bound. Exit 0 pass, 1 fail.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/lines.h"

static int failures;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                              \
        }                                                                            \
    } while (0)

#define LINES_MAX 64
#define MAX 40 /* line_bytes_max in these tests */

/* What the consumer saw. */
struct seen {
    char text[LINES_MAX][MAX + 8];
    size_t len[LINES_MAX];
    uint64_t offset[LINES_MAX];
    size_t count;
    uint64_t overlong_offset[LINES_MAX];
    size_t overlong_count;
    unsigned refuse_every;  /* refuse (-EAGAIN) every n-th offer; 0 never */
    unsigned offers;
    int fail_rc;            /* returned for taken lines */
};

static int seen_line(void *ctx, const char *line, size_t len, uint64_t offset)
{
    struct seen *seen = ctx;
    seen->offers++;
    if (seen->refuse_every != 0 && seen->offers % seen->refuse_every == 0)
        return -EAGAIN;
    if (seen->count == LINES_MAX || len > MAX || len == 0)
        return -E2BIG;
    memcpy(seen->text[seen->count], line, len);
    seen->len[seen->count] = len;
    seen->offset[seen->count] = offset;
    seen->count++;
    return seen->fail_rc;
}

static void seen_overlong(void *ctx, uint64_t offset, uint64_t len_seen)
{
    struct seen *seen = ctx;
    if (len_seen <= MAX)
        seen->overlong_count += 1000; /* a bogus report shows as a count mismatch */
    if (seen->overlong_count < LINES_MAX)
        seen->overlong_offset[seen->overlong_count] = offset;
    seen->overlong_count++;
}

static struct sl_lines_sink seen_sink(struct seen *seen)
{
    return (struct sl_lines_sink){.line = seen_line, .overlong = seen_overlong, .ctx = seen};
}

/* An expected line: its text and its offset in the stream. */
struct want {
    const char *text;
    uint64_t offset;
};

/* Builds the stream from raw pieces; returns its length. */
static size_t stream_cat(char *out, const char *const *pieces, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(out + len, pieces[i], strlen(pieces[i]));
        len += strlen(pieces[i]);
    }
    return len;
}

static void check_seen(const struct seen *seen, const struct want *want, size_t nwant)
{
    CHECK(seen->count == nwant);
    for (size_t i = 0; i < seen->count && i < nwant; i++) {
        CHECK(seen->len[i] == strlen(want[i].text));
        CHECK(memcmp(seen->text[i], want[i].text, seen->len[i]) == 0);
        CHECK(seen->offset[i] == want[i].offset);
    }
}

/* Feeds data in chunks of the given sizes (cycled), re-feeding the tail
 * after -EAGAIN as the io loop does once there is room; then finishes. */
static int feed_all(struct sl_lines *lines, const char *data, size_t len, const size_t *sizes,
                    size_t nsizes, struct seen *seen)
{
    struct sl_lines_sink sink = seen_sink(seen);
    size_t pos = 0;
    for (size_t k = 0; pos < len; k++) {
        size_t n = sizes[k % nsizes];
        if (n > len - pos)
            n = len - pos;
        size_t off = 0;
        int rc;
        int spins = 0;
        do {
            size_t consumed = 0;
            rc = sl_lines_feed(lines, data + pos + off, n - off, &sink, &consumed);
            off += consumed;
        } while (rc == -EAGAIN && ++spins < 8);
        if (rc != 0)
            return rc;
        CHECK(off == n);
        pos += n;
    }
    int rc;
    int spins = 0;
    do {
        rc = sl_lines_finish(lines, &sink);
    } while (rc == -EAGAIN && ++spins < 8);
    return rc;
}

/* 41 bytes: one over MAX. */
#define LONG41 "0123456789012345678901234567890123456789X"
/* 40 bytes: exactly MAX. */
#define LONG40 "{\"k\":\"01234567890123456789012345678901\"}"

static const char *const pieces[] = {
    "{\"a\":1}\n",          /* 0 */
    "\n",                   /* 8: blank */
    "\r\n",                 /* 9: blank after \r is dropped */
    "{\"b\":2}\r\n",        /* 11 */
    LONG40 "\n",            /* 20 */
    LONG40 "\r\n",          /* 61: 40 + \r\n still fits */
    "x\ry\n",               /* 103: inner \r kept */
    "z",                    /* 107: last line, no newline */
};
static const struct want wants[] = {
    {"{\"a\":1}", 0}, {"{\"b\":2}", 11}, {LONG40, 20}, {LONG40, 61}, {"x\ry", 103}, {"z", 107},
};
#define NWANT (sizeof(wants) / sizeof(wants[0]))

static void test_every_split(void)
{
    char data[512];
    size_t len = stream_cat(data, pieces, sizeof(pieces) / sizeof(pieces[0]));
    CHECK(len == 108);
    for (size_t s = 0; s <= len; s++) {
        static struct seen seen;
        memset(&seen, 0, sizeof(seen));
        struct sl_lines lines;
        sl_lines_init(&lines, MAX);
        size_t sizes[] = {s, len - s};
        CHECK(feed_all(&lines, data, len, sizes, 2, &seen) == 0);
        check_seen(&seen, wants, NWANT);
        CHECK(seen.overlong_count == 0);
        CHECK(lines.blank == 2);
        CHECK(lines.lines == NWANT);
        CHECK(lines.buf_cap <= MAX + 1);
        sl_lines_fini(&lines);
    }
}

static void test_each_line_split(void)
{
    char data[512];
    size_t n = sizeof(pieces) / sizeof(pieces[0]);
    size_t len = stream_cat(data, pieces, n);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        size_t end = start + strlen(pieces[i]);
        for (size_t cut = start + 1; cut < end; cut++) {
            static struct seen seen;
            memset(&seen, 0, sizeof(seen));
            struct sl_lines lines;
            sl_lines_init(&lines, MAX);
            size_t sizes[] = {cut, end - cut, len - end};
            CHECK(feed_all(&lines, data, len, sizes, 3, &seen) == 0);
            check_seen(&seen, wants, NWANT);
            sl_lines_fini(&lines);
        }
        start = end;
    }
}

static void test_small_chunks_and_backpressure(void)
{
    char data[512];
    size_t len = stream_cat(data, pieces, sizeof(pieces) / sizeof(pieces[0]));
    static const unsigned refuse_every[] = {0, 2, 3};
    for (size_t r = 0; r < 3; r++) {
        for (size_t c = 1; c <= 13; c++) {
            static struct seen seen;
            memset(&seen, 0, sizeof(seen));
            seen.refuse_every = refuse_every[r];
            struct sl_lines lines;
            sl_lines_init(&lines, MAX);
            size_t sizes[] = {c, 2 * c + 1};
            CHECK(feed_all(&lines, data, len, sizes, 2, &seen) == 0);
            check_seen(&seen, wants, NWANT);
            CHECK(lines.lines == NWANT);
            sl_lines_fini(&lines);
        }
    }
}

/* Overlong lines, one ending in "\r\n", one ending the stream: each reported
 * once at its offset, skipped; the lines around them arrive. */
static void test_overlong(void)
{
    static const char *const bad[] = {
        "ok1\n",                        /* 0 */
        LONG41 "\n",                    /* 4: overlong */
        "ok2\n",                        /* 46 */
        LONG41 LONG41 LONG41 "\r\n",    /* 50: overlong, much longer */
        LONG40 "\n",                    /* 175: fits */
        "ok3\n",                        /* 216 */
        LONG41 "y",                     /* 220: overlong, no newline at the end */
    };
    static const struct want want[] = {{"ok1", 0}, {"ok2", 46}, {LONG40, 175}, {"ok3", 216}};
    static const uint64_t overlong_at[] = {4, 50, 220};
    char data[512];
    size_t len = stream_cat(data, bad, sizeof(bad) / sizeof(bad[0]));
    CHECK(len == 262);
    for (size_t s = 0; s <= len; s++) {
        for (size_t c = 0; c < 3; c++) {
            static struct seen seen;
            memset(&seen, 0, sizeof(seen));
            struct sl_lines lines;
            sl_lines_init(&lines, MAX);
            size_t sizes[] = {s, c == 0 ? len : c};
            CHECK(feed_all(&lines, data, len, sizes, 2, &seen) == 0);
            check_seen(&seen, want, 4);
            CHECK(seen.overlong_count == 3);
            for (size_t i = 0; i < 3 && i < seen.overlong_count; i++)
                CHECK(seen.overlong_offset[i] == overlong_at[i]);
            CHECK(lines.overlong == 3);
            CHECK(lines.buf_cap <= MAX + 1);
            sl_lines_fini(&lines);
        }
    }
}

/* The last line: "\r" at the very end is dropped; an overlong last line
 * without newline is reported at finish; an empty stream yields nothing. */
static void test_finish_edges(void)
{
    struct {
        const char *data;
        const char *last;
        size_t overlong;
    } cases[] = {
        {"", NULL, 0},
        {"a\n", NULL, 0},
        {"a\nb\r", "b", 0},
        {"\r", NULL, 0},
        {LONG41, NULL, 1},
        {LONG40, LONG40, 0},
        {LONG40 "\r", LONG40, 0},
        {LONG41 "\r", NULL, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = strlen(cases[i].data);
        for (size_t s = 0; s <= len; s++) {
            static struct seen seen;
            memset(&seen, 0, sizeof(seen));
            struct sl_lines lines;
            sl_lines_init(&lines, MAX);
            size_t sizes[] = {s, len - s};
            CHECK(feed_all(&lines, cases[i].data, len, sizes, 2, &seen) == 0);
            size_t firsts = strncmp(cases[i].data, "a\n", 2) == 0 ? 1 : 0;
            CHECK(seen.count == firsts + (cases[i].last != NULL));
            if (cases[i].last != NULL && seen.count == firsts + 1) {
                CHECK(seen.len[firsts] == strlen(cases[i].last));
                CHECK(memcmp(seen.text[firsts], cases[i].last, seen.len[firsts]) == 0);
            }
            CHECK(seen.overlong_count == cases[i].overlong);
            CHECK(sl_lines_finish(&lines, &(struct sl_lines_sink){seen_line, NULL, &seen}) == 0);
            CHECK(seen.count == firsts + (cases[i].last != NULL));
            sl_lines_fini(&lines);
        }
    }
}

/* A consumer failure aborts feed with its code; that line counts as taken. */
static void test_consumer_error(void)
{
    static struct seen seen;
    memset(&seen, 0, sizeof(seen));
    seen.fail_rc = -ECANCELED;
    struct sl_lines lines;
    sl_lines_init(&lines, MAX);
    struct sl_lines_sink sink = seen_sink(&seen);
    size_t consumed = 0;
    CHECK(sl_lines_feed(&lines, "ab\ncd\n", 6, &sink, &consumed) == -ECANCELED);
    CHECK(consumed == 3 && seen.count == 1 && lines.offset == 3);
    sl_lines_fini(&lines);
}

int main(void)
{
    test_every_split();
    test_each_line_split();
    test_small_chunks_and_backpressure();
    test_overlong();
    test_finish_edges();
    test_consumer_error();
    if (failures != 0) {
        fprintf(stderr, "lines_test: %d checks failed\n", failures);
        return 1;
    }
    printf("lines_test: ok\n");
    return 0;
}
