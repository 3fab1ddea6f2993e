/* main.c - the sluice command line: dispatches to one file per subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/log.h"

static const struct sl_cli_command commands[] = {
    {"run", "run a job: sources -> operator graph -> sinks, until end or SIGTERM", sl_cmd_run},
    {"encode", "JSON lines -> FlatBuffers frames through a schema", sl_cmd_encode},
    {"decode", "FlatBuffers frames -> JSON lines through a schema", sl_cmd_decode},
    {"schema", "list the schemas' tables, fields, enums and event types", sl_cmd_schema},
    {"validate", "check a job file: every error with file:line:col", sl_cmd_validate},
    {"graph", "print a job's graph as Graphviz DOT, Mermaid or SVG", sl_cmd_graph},
    {"help", "settings of a source, operator or sink type (help TYPE) or of the job file "
             "(help job, help runtime)", sl_cmd_help},
    {"gen", "generate realistic order events to a file, stdout or TCP (load generator)", sl_cmd_gen},
    {"ingest", "run ingestion alone: tcp or file source into counting consumers", sl_cmd_ingest},
    {"broker", "a development Kafka cluster (librdkafka mock), fault injection", sl_cmd_broker},
};

static void usage(FILE *f)
{
    fprintf(f, "sluice %s - a streaming event processor (FlatBuffers events, io_uring, Kafka)\n\n"
               "usage: sluice COMMAND [OPTIONS]   (sluice COMMAND --help for its options)\n\n"
               "commands:\n", SL_VERSION);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nexit codes: 0 ok, 1 runtime failure (bad input, I/O), 2 usage error\n"
               "not yet available: sluice bench (benchmarks run through bench/), stateful\n"
               "operators (aggregate, saga) and checkpoints (see README)\n");
}

int sl_cli_parse_framing(const char *cmd, const char *value, bool *prefixed)
{
    if (strcmp(value, "fb") == 0) {
        *prefixed = true;
        return SL_EXIT_OK;
    }
    if (strcmp(value, "raw") == 0) {
        *prefixed = false;
        return SL_EXIT_OK;
    }
    fprintf(stderr, "sluice %s: unknown framing '%s' (expected fb or raw)\n", cmd, value);
    return SL_EXIT_USAGE;
}

int sl_cli_load_schemas(struct sl_fb_schemas *schemas, const struct sl_cli_schema_opts *opts,
                        const struct sl_fb_object **object)
{
    char err[256];
    int rc = sl_fb_schemas_init(schemas, err, sizeof(err));
    for (unsigned i = 0; !rc && i < opts->schema_arg_count; i++)
        rc = sl_fb_schemas_add(schemas, opts->schema_args[i], err, sizeof(err));
    if (!rc && opts->schema_arg_count == 0)
        rc = sl_fb_schemas_add_embedded(schemas, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "sluice: schema: %s\n", err);
        return SL_EXIT_USAGE;
    }
    const char *type = opts->type ? opts->type : "sluice.Event";
    *object = sl_fb_schemas_find_object(schemas, type);
    if (!*object) {
        fprintf(stderr, "sluice: --type %s: no such table in the loaded schemas "
                        "(or the short name is ambiguous; see 'sluice schema')\n", type);
        return SL_EXIT_USAGE;
    }
    if ((*object)->is_struct) {
        fprintf(stderr, "sluice: --type %s is a struct; a buffer's root is a table\n", type);
        return SL_EXIT_USAGE;
    }
    return SL_EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return SL_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
        (strcmp(cmd, "help") == 0 && argc == 2)) {
        usage(stdout);
        return SL_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("sluice %s\n", SL_VERSION);
        return SL_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "sluice: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return SL_EXIT_USAGE;
}
