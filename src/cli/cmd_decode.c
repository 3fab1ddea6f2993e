/* cmd_decode.c - `sluice decode`: FlatBuffers to JSON lines through a
 * schema. Every buffer is verified (nested payloads included) before it is
 * read; a buffer that fails is reported with its byte offset and reason and
 * skipped. A frame length over --max-frame loses framing sync: decoding of
 * that stream stops there. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define DECODE_MAX_FRAME_DEFAULT (16u << 20)

struct decoder {
    struct sl_fb_json json;
    const struct sl_fb_object *object;
    struct sl_fb_verify_opts verify;
    uint8_t *buf;       /* 8-aligned: alignment is checked relative to it */
    size_t cap;
    unsigned long rejected;
    size_t max_frame;
};

static void decode_usage(FILE *f)
{
    fputs("usage: sluice decode [--schema NAME|FILE.bfbs]... [--type TABLE] [--framing fb|raw]\n"
          "                     [--max-frame BYTES] [FILE...]\n\n"
          "Reads FlatBuffers (stdin, or each FILE in turn), writes one JSON line per buffer.\n"
          "  --schema S       embedded schema name (event, orders) or a .bfbs file; repeatable\n"
          "  --type TABLE     root table (default sluice.Event)\n"
          "  --framing fb     a stream of size-prefixed frames (default)\n"
          "  --framing raw    each input is one unprefixed buffer (flatc -b output, a Kafka value)\n"
          "  --max-frame N    largest accepted frame in bytes (default 16 MiB)\n"
          "Every buffer is verified first; a rejected one is reported on stderr with its\n"
          "byte offset and skipped. Exit: 0 ok, 1 some input rejected, 2 usage.\n", f);
}

static void decoder_reserve(struct decoder *d, size_t len)
{
    if (d->cap >= len)
        return;
    size_t cap = (len + 4095) & ~(size_t)4095;
    uint8_t *buf = aligned_alloc(8, cap);
    if (!buf) {
        fputs("sluice decode: out of memory\n", stderr);
        exit(SL_EXIT_RUNTIME);
    }
    if (d->buf)
        memcpy(buf, d->buf, d->cap); /* keeps what decode_raw() read so far */
    free(d->buf);
    d->buf = buf;
    d->cap = cap;
}

/* Verifies and prints d->buf[0..len); where names the input for errors. */
static int decode_one(struct decoder *d, size_t len, bool prefixed, const char *where,
                      unsigned long long offset)
{
    char err[512];
    if (sl_fb_verify(d->buf, len, prefixed, d->object, &d->verify, err, sizeof(err))) {
        fprintf(stderr, "sluice decode: %s: buffer at byte %llu rejected: %s\n", where, offset,
                err);
        d->rejected++;
        return 0;
    }
    const char *out;
    size_t out_len;
    if (sl_fb_to_json(&d->json, d->object, d->buf + (prefixed ? 4 : 0), len - (prefixed ? 4 : 0),
                      &out, &out_len, err, sizeof(err))) {
        fprintf(stderr, "sluice decode: %s: buffer at byte %llu: %s\n", where, offset, err);
        d->rejected++;
        return 0;
    }
    if (fwrite(out, 1, out_len, stdout) != out_len || putchar('\n') == EOF) {
        perror("sluice decode: stdout");
        return -EIO;
    }
    return 0;
}

static int decode_frames(struct decoder *d, FILE *in, const char *where)
{
    unsigned long long offset = 0;
    for (;;) {
        uint8_t prefix[4];
        size_t got = fread(prefix, 1, 4, in);
        if (got == 0)
            return 0;
        if (got < 4) {
            fprintf(stderr, "sluice decode: %s: truncated frame length at byte %llu\n", where,
                    offset);
            d->rejected++;
            return 0;
        }
        uint32_t len = sl_fb_u32(prefix);
        if (len > d->max_frame || len < 4) {
            fprintf(stderr, "sluice decode: %s: frame at byte %llu has length %u (%s); "
                            "framing lost, stopping this input\n", where, offset, len,
                    len < 4 ? "too short for a buffer" : "over --max-frame");
            d->rejected++;
            return 0;
        }
        decoder_reserve(d, (size_t)len + 4);
        memcpy(d->buf, prefix, 4);
        got = fread(d->buf + 4, 1, len, in);
        if (got < len) {
            fprintf(stderr, "sluice decode: %s: frame at byte %llu truncated: %zu of %u bytes\n",
                    where, offset, got, len);
            d->rejected++;
            return 0;
        }
        if (decode_one(d, (size_t)len + 4, true, where, offset))
            return -EIO;
        offset += (unsigned long long)len + 4;
    }
}

static int decode_raw(struct decoder *d, FILE *in, const char *where)
{
    size_t len = 0;
    for (;;) {
        decoder_reserve(d, len + 65536);
        size_t got = fread(d->buf + len, 1, d->cap - len, in);
        len += got;
        if (got == 0)
            break;
        if (len > d->max_frame) {
            fprintf(stderr, "sluice decode: %s: buffer larger than --max-frame\n", where);
            d->rejected++;
            return 0;
        }
    }
    return decode_one(d, len, false, where, 0);
}

static int decode_inputs(struct decoder *d, int argc, char **argv, bool prefixed)
{
    if (argc == 0)
        return prefixed ? decode_frames(d, stdin, "stdin") : decode_raw(d, stdin, "stdin");
    for (int i = 0; i < argc; i++) {
        FILE *in = fopen(argv[i], "rb");
        if (!in) {
            fprintf(stderr, "sluice decode: %s: %s\n", argv[i], strerror(errno));
            d->rejected++;
            continue;
        }
        int rc = prefixed ? decode_frames(d, in, argv[i]) : decode_raw(d, in, argv[i]);
        fclose(in);
        if (rc)
            return rc;
    }
    return 0;
}

int sl_cmd_decode(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"schema", required_argument, NULL, 's'}, {"type", required_argument, NULL, 't'},
        {"framing", required_argument, NULL, 'f'}, {"max-frame", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    struct sl_cli_schema_opts opts = {0};
    bool prefixed = true;
    size_t max_frame = DECODE_MAX_FRAME_DEFAULT;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (opts.schema_arg_count == 16) {
                fputs("sluice decode: at most 16 --schema options\n", stderr);
                return SL_EXIT_USAGE;
            }
            opts.schema_args[opts.schema_arg_count++] = optarg;
            break;
        case 't': opts.type = optarg; break;
        case 'f':
            if (sl_cli_parse_framing("decode", optarg, &prefixed))
                return SL_EXIT_USAGE;
            break;
        case 'm': {
            char *end;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (*end || v < 8 || v > SL_FB_BUFFER_MAX) {
                fprintf(stderr, "sluice decode: --max-frame %s: expected 8..%u bytes\n", optarg,
                        SL_FB_BUFFER_MAX);
                return SL_EXIT_USAGE;
            }
            max_frame = (size_t)v;
            break;
        }
        case 'h': decode_usage(stdout); return SL_EXIT_OK;
        default: decode_usage(stderr); return SL_EXIT_USAGE;
        }
    }
    struct sl_fb_schemas schemas;
    struct decoder d = {.max_frame = max_frame};
    int rc = sl_cli_load_schemas(&schemas, &opts, &d.object);
    if (rc)
        return rc;
    sl_fb_json_init(&d.json, &schemas);
    d.verify = (struct sl_fb_verify_opts){.depth_max = SL_FB_DEPTH_MAX,
                                          .tables_max = SL_FB_TABLES_MAX,
                                          .check_nested = true,
                                          .schemas = &schemas};
    rc = decode_inputs(&d, argc - optind, argv + optind, prefixed);
    if (fflush(stdout))
        rc = -EIO;
    if (d.rejected)
        fprintf(stderr, "sluice decode: %lu inputs rejected\n", d.rejected);
    free(d.buf);
    sl_fb_json_fini(&d.json);
    sl_fb_schemas_fini(&schemas);
    return rc || d.rejected ? SL_EXIT_RUNTIME : SL_EXIT_OK;
}
