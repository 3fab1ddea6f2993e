/* cmd_encode.c - `sluice encode`: JSON lines on stdin to FlatBuffers on
 * stdout, through a schema. A bad line is reported with line:col and the
 * reason, skipped, and makes the exit code 1; good lines still come out. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static void encode_usage(FILE *f)
{
    fputs("usage: sluice encode [--schema NAME|FILE.bfbs]... [--type TABLE] [--framing fb|raw]\n"
          "                     [--force-defaults]\n\n"
          "Reads JSON lines on stdin, writes FlatBuffers on stdout.\n"
          "  --schema S        embedded schema name (event, orders) or a .bfbs file\n"
          "                    (flatc -b --schema); repeatable; default: every embedded one\n"
          "  --type TABLE      root table, full or short name (default sluice.Event)\n"
          "  --framing fb      size-prefixed frames: 4-byte little-endian length + buffer\n"
          "                    (default)\n"
          "  --framing raw     one unprefixed buffer, as flatc -b writes (one record only)\n"
          "  --force-defaults  write scalar fields even when equal to their default\n"
          "JSON: strict; enums by name or number; unions as \"x_type\" + \"x\"; the envelope's\n"
          "payload as the object of the table its \"type\" names, or as a byte array.\n"
          "Exit: 0 ok, 1 some line was rejected (reported on stderr), 2 usage.\n", f);
}

static int encode_stream(struct sl_fb_json *json, const struct sl_fb_object *object,
                         bool prefixed)
{
    char *line = NULL;
    size_t line_cap = 0;
    unsigned long line_no = 0, records = 0, rejected = 0;
    ssize_t n;
    while ((n = getline(&line, &line_cap, stdin)) >= 0) {
        line_no++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        size_t skip = 0;
        while (skip < (size_t)n && (line[skip] == ' ' || line[skip] == '\t'))
            skip++;
        if (skip == (size_t)n)
            continue;
        if (!prefixed && records == 1) {
            fprintf(stderr, "sluice encode: stdin:%lu: --framing raw holds one buffer; "
                            "a second record was given (use --framing fb for a stream)\n",
                    line_no);
            rejected++;
            break;
        }
        const uint8_t *buf;
        size_t len;
        char err[512];
        if (sl_fb_json_to_fb(json, object, line, (size_t)n, prefixed, &buf, &len, err,
                             sizeof(err))) {
            bool has_col = strncmp(err, "col ", 4) == 0;
            fprintf(stderr, "sluice encode: stdin:%lu:%s%s\n", line_no, has_col ? "" : " ",
                    has_col ? err + 4 : err);
            rejected++;
            continue;
        }
        if (fwrite(buf, 1, len, stdout) != len) {
            perror("sluice encode: stdout");
            free(line);
            return SL_EXIT_RUNTIME;
        }
        records++;
    }
    free(line);
    if (fflush(stdout)) {
        perror("sluice encode: stdout");
        return SL_EXIT_RUNTIME;
    }
    if (rejected)
        fprintf(stderr, "sluice encode: %lu records written, %lu rejected\n", records, rejected);
    return rejected ? SL_EXIT_RUNTIME : SL_EXIT_OK;
}

int sl_cmd_encode(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"schema", required_argument, NULL, 's'}, {"type", required_argument, NULL, 't'},
        {"framing", required_argument, NULL, 'f'}, {"force-defaults", no_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    struct sl_cli_schema_opts opts = {0};
    bool prefixed = true, force_defaults = false;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (opts.schema_arg_count == 16) {
                fputs("sluice encode: at most 16 --schema options\n", stderr);
                return SL_EXIT_USAGE;
            }
            opts.schema_args[opts.schema_arg_count++] = optarg;
            break;
        case 't': opts.type = optarg; break;
        case 'f':
            if (sl_cli_parse_framing("encode", optarg, &prefixed))
                return SL_EXIT_USAGE;
            break;
        case 'd': force_defaults = true; break;
        case 'h': encode_usage(stdout); return SL_EXIT_OK;
        default: encode_usage(stderr); return SL_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "sluice encode: unexpected argument '%s' (input is stdin)\n", argv[optind]);
        return SL_EXIT_USAGE;
    }
    struct sl_fb_schemas schemas;
    const struct sl_fb_object *object;
    int rc = sl_cli_load_schemas(&schemas, &opts, &object);
    if (rc)
        return rc;
    struct sl_fb_json json;
    sl_fb_json_init(&json, &schemas);
    json.force_defaults = force_defaults;
    rc = encode_stream(&json, object, prefixed);
    sl_fb_json_fini(&json);
    sl_fb_schemas_fini(&schemas);
    return rc;
}
