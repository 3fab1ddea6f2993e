/* cli.h - the sluice subcommands: each takes argc/argv after its name and
 * returns the process exit code (SL_EXIT_*). */
#ifndef SL_CLI_H
#define SL_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "fb/fb.h"

enum { SL_EXIT_OK = 0, SL_EXIT_RUNTIME = 1, SL_EXIT_USAGE = 2 };

struct sl_cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

int sl_cmd_encode(int argc, char **argv);
int sl_cmd_decode(int argc, char **argv);
int sl_cmd_schema(int argc, char **argv);
int sl_cmd_validate(int argc, char **argv);
int sl_cmd_graph(int argc, char **argv);
int sl_cmd_help(int argc, char **argv);
int sl_cmd_gen(int argc, char **argv);
int sl_cmd_ingest(int argc, char **argv);
int sl_cmd_run(int argc, char **argv);
int sl_cmd_broker(int argc, char **argv);

#define SL_CLI_SETS_MAX 64u

/* JOB [--set k=v]... of validate/graph/run: 0, -1 for --help, -2 usage. */
int sl_cli_job_args(const char *cmd, int argc, char **argv, const char **path,
                    const char **sets, unsigned *set_count);

/* Options shared by the commands that read and write events through schemas. */
struct sl_cli_schema_opts {
    const char *schema_args[16]; /* --schema NAME|FILE.bfbs, in order */
    unsigned schema_arg_count;
    const char *type;            /* --type TABLE (default sluice.Event) */
};

/* Loads the envelope plus --schema arguments (every embedded schema when
 * none is given) and resolves --type. Prints the error; returns an exit code. */
int sl_cli_load_schemas(struct sl_fb_schemas *schemas, const struct sl_cli_schema_opts *opts,
                        const struct sl_fb_object **object);

/* Parses "fb" / "raw" into *prefixed; prints the error. */
int sl_cli_parse_framing(const char *cmd, const char *value, bool *prefixed);

#endif
