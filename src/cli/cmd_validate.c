/* cmd_validate.c - `sluice validate JOB`: loads and checks a job file
 * without running it; prints every problem as file:line:col with a hint. */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "graph/job.h"

static void validate_usage(FILE *f)
{
    fputs("usage: sluice validate JOB.yaml [--set path.to.key=value]...\n\n"
          "Checks a job file: keys and settings against each type's options, node and port\n"
          "names, cycles, outputs nothing reads, and expressions against the schemas.\n"
          "Prints every error as FILE:LINE:COL with a hint. Exit: 0 valid, 2 invalid.\n", f);
}

int sl_cli_job_args(const char *cmd, int argc, char **argv, const char **path,
                    const char **sets, unsigned *set_count)
{
    static const struct option longopts[] = {
        {"set", required_argument, NULL, 's'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    *set_count = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'h')
            return -1;
        if (c != 's' || *set_count == SL_CLI_SETS_MAX) {
            fprintf(stderr, "sluice %s: bad option (at most %u --set)\n", cmd, SL_CLI_SETS_MAX);
            return -2;
        }
        sets[(*set_count)++] = optarg;
    }
    if (argc - optind != 1) {
        fprintf(stderr, "sluice %s: expected one job file\n", cmd);
        return -2;
    }
    *path = argv[optind];
    return 0;
}

int sl_cmd_validate(int argc, char **argv)
{
    const char *path, *sets[SL_CLI_SETS_MAX];
    unsigned set_count;
    int rc = sl_cli_job_args("validate", argc, argv, &path, sets, &set_count);
    if (rc) {
        validate_usage(rc == -1 ? stdout : stderr);
        return rc == -1 ? SL_EXIT_OK : SL_EXIT_USAGE;
    }
    struct sl_diags diags;
    sl_diags_init(&diags, path);
    struct sl_job job;
    if (sl_job_load(&job, path, sets, set_count, &diags)) {
        sl_diags_print(&diags, stderr);
        fprintf(stderr, "%s: %zu error%s\n", path, diags.count, diags.count == 1 ? "" : "s");
        sl_diags_fini(&diags);
        return SL_EXIT_USAGE;
    }
    printf("%s: job '%s' is valid: %u nodes, %u worker%s, %u key groups\n", path, job.name,
           job.node_count, job.workers, job.workers == 1 ? "" : "s", job.key_groups);
    sl_job_free(&job);
    sl_diags_fini(&diags);
    return SL_EXIT_OK;
}
