/* pass_through_test.c - which sink, if any, takes a source's batches
 * themselves (sl_run_pass_sink, run.h) for graphs of every shape: only the
 * sole reader of the source's out port, when it is a sink reading nothing
 * else that does not discard. */
#include <stdio.h>
#include <string.h>

#include "graph/diag.h"
#include "graph/job.h"
#include "graph/run.h"

static int test_failures;
#include "test.h"

#define HEAD "job: t\nschemas: [orders]\nsources:\n  g: {type: gen, count: 1}\n" \
             "  h: {type: gen, count: 1}\n"

static uint32_t node_index(const struct sl_job *job, const char *name)
{
    for (uint32_t i = 0; i < job->node_count; i++)
        if (strcmp(job->nodes[i].name, name) == 0)
            return i;
    return SL_RUN_NO_PASS;
}

/* The job text's pass-through sink of source g by name, or "-" for none. */
static void check(const char *text, const char *expected)
{
    struct sl_job job;
    struct sl_diags diags;
    sl_diags_init(&diags, "job");
    int rc = sl_job_parse(&job, text, strlen(text), &diags);
    CHECK_MSG(rc == 0, "job does not parse:\n%s", text);
    if (rc) {
        sl_diags_print(&diags, stderr); /* a failed parse released the job */
        sl_diags_fini(&diags);
        return;
    }
    uint32_t sink = sl_run_pass_sink(&job, node_index(&job, "g"));
    const char *got = sink == SL_RUN_NO_PASS ? "-" : job.nodes[sink].name;
    CHECK_MSG(strcmp(got, expected) == 0, "pass sink %s, expected %s, of\n%s", got, expected,
              text);
    sl_job_free(&job);
    sl_diags_fini(&diags);
}

int main(void)
{
    /* the one reader, a sink: passes, whatever reads the errors port */
    check(HEAD "sinks:\n  s: {type: stdout, input: g}\n  t: {type: stdout, input: h}\n", "s");
    check(HEAD "sinks:\n  s: {type: stdout, input: g}\n  e: {type: stdout, input: g.errors}\n"
               "  t: {type: stdout, input: h}\n",
          "s");
    /* two readers of the out port */
    check(HEAD "sinks:\n  s: {type: stdout, input: g}\n  s2: {type: stdout, input: g}\n"
               "  t: {type: stdout, input: h}\n",
          "-");
    check(HEAD "operators:\n  f: {type: filter, input: g, where: 'type != \"x\"'}\n"
               "sinks:\n  s: {type: stdout, input: g}\n  s2: {type: stdout, input: f}\n"
               "  t: {type: stdout, input: h}\n",
          "-");
    /* the reader is an operator */
    check(HEAD "operators:\n  f: {type: filter, input: g, where: 'type != \"x\"'}\n"
               "sinks:\n  s: {type: stdout, input: f}\n  t: {type: stdout, input: h}\n",
          "-");
    /* the sink reads another source too */
    check(HEAD "sinks:\n  s: {type: stdout, input: [g, h]}\n", "-");
    /* the sink discards */
    check(HEAD "sinks:\n  s: {type: \"null\", input: g}\n  t: {type: stdout, input: h}\n", "-");
    return test_exit("pass_through");
}
