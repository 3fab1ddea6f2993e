/* cmd_graph.c - `sluice graph JOB`: the job's graph as Graphviz DOT,
 * Mermaid, or SVG (through Graphviz's `dot` when it is installed). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "graph/job.h"

static const char *const shapes_dot[] = {"cds", "box", "folder"};

static void print_dot(const struct sl_job *job, FILE *out)
{
    fprintf(out, "digraph \"%s\" {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n", job->name);
    for (uint32_t i = 0; i < job->node_count; i++) {
        const struct sl_job_node *node = &job->nodes[i];
        fprintf(out, "  \"%s\" [shape=%s, label=\"%s\\n(%s)\"];\n", node->name,
                shapes_dot[node->kind], node->name, node->type_name);
    }
    for (uint32_t i = 0; i < job->node_count; i++) {
        const struct sl_job_node *node = &job->nodes[i];
        for (uint32_t e = 0; e < node->input_count; e++) {
            const struct sl_job_node *up = &job->nodes[node->inputs[e].node];
            uint32_t port = node->inputs[e].port;
            fprintf(out, "  \"%s\" -> \"%s\"", up->name, node->name);
            if (port != SL_PORT_OUT)
                fprintf(out, " [label=\"%s\"%s]", up->ports[port],
                        port == SL_PORT_ERRORS ? ", style=dashed, color=red" : "");
            fprintf(out, ";\n");
        }
    }
    fprintf(out, "}\n");
}

static void print_mermaid(const struct sl_job *job, FILE *out)
{
    static const char *const open[] = {"[(", "[", "[/"}, *const close[] = {")]", "]", "/]"};
    fprintf(out, "flowchart LR\n");
    for (uint32_t i = 0; i < job->node_count; i++) {
        const struct sl_job_node *node = &job->nodes[i];
        fprintf(out, "  %s%s\"%s (%s)\"%s\n", node->name, open[node->kind], node->name,
                node->type_name, close[node->kind]);
    }
    for (uint32_t i = 0; i < job->node_count; i++) {
        const struct sl_job_node *node = &job->nodes[i];
        for (uint32_t e = 0; e < node->input_count; e++) {
            const struct sl_job_node *up = &job->nodes[node->inputs[e].node];
            uint32_t port = node->inputs[e].port;
            if (port == SL_PORT_OUT)
                fprintf(out, "  %s --> %s\n", up->name, node->name);
            else
                fprintf(out, "  %s -.%s.-> %s\n", up->name, up->ports[port], node->name);
        }
    }
}

static int print_svg(const struct sl_job *job)
{
    FILE *dot = popen("dot -Tsvg", "w");
    if (!dot)
        return -1;
    print_dot(job, dot);
    int status = pclose(dot);
    return status == 0 ? 0 : -1;
}

int sl_cmd_graph(int argc, char **argv)
{
    const char *format = "dot";
    const char *path, *sets[SL_CLI_SETS_MAX];
    unsigned set_count = 0;
    /* --format is ours; --set and the job path go to sl_cli_job_args */
    int kept = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
            format = argv[++i];
        else if (strncmp(argv[i], "--format=", 9) == 0)
            format = argv[i] + 9;
        else
            argv[kept++] = argv[i];
    }
    int rc = sl_cli_job_args("graph", kept, argv, &path, sets, &set_count);
    if (rc || (strcmp(format, "dot") && strcmp(format, "mermaid") && strcmp(format, "svg"))) {
        fputs("usage: sluice graph JOB.yaml [--format dot|mermaid|svg] [--set k=v]...\n"
              "Prints the job's graph; svg needs Graphviz's dot.\n", rc == -1 ? stdout : stderr);
        return rc == -1 ? SL_EXIT_OK : SL_EXIT_USAGE;
    }
    struct sl_diags diags;
    sl_diags_init(&diags, path);
    struct sl_job job;
    if (sl_job_load(&job, path, sets, set_count, &diags)) {
        sl_diags_print(&diags, stderr);
        sl_diags_fini(&diags);
        return SL_EXIT_USAGE;
    }
    rc = SL_EXIT_OK;
    if (strcmp(format, "mermaid") == 0) {
        print_mermaid(&job, stdout);
    } else if (strcmp(format, "svg") == 0) {
        if (print_svg(&job)) {
            fputs("sluice graph: --format svg needs Graphviz's dot (apt-get install graphviz)\n",
                  stderr);
            rc = SL_EXIT_RUNTIME;
        }
    } else {
        print_dot(&job, stdout);
    }
    sl_job_free(&job);
    sl_diags_fini(&diags);
    return rc;
}
