/* cmd_run.c - `sluice run JOB`: runs a job until its sources end or
 * SIGINT/SIGTERM arrives, then drains (every event taken in reaches the
 * sinks) and exits 0. On a terminal it shows a live status line; it always
 * prints a summary: per node in/out/errors, throughput and events per
 * CPU-second of the process. */
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/assert.h"
#include "core/log.h"
#include "graph/run.h"

static struct sl_run *signal_run; /* the run SIGINT/SIGTERM stop; set once before handlers */

static void on_signal(int sig)
{
    (void)sig;
    sl_run_stop(signal_run); /* async-signal-safe: atomics and the sources' stop hooks */
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static uint64_t source_events(const struct sl_run *run)
{
    uint64_t n = 0;
    for (uint32_t s = 0; s < run->source_count; s++)
        n += atomic_load_explicit(&run->sources[s].events, memory_order_relaxed);
    return n;
}

static void print_status(const struct sl_run *run, double elapsed, uint64_t *last, double *last_t)
{
    uint64_t n = source_events(run);
    double rate = elapsed > *last_t ? (double)(n - *last) / (elapsed - *last_t) : 0;
    fprintf(stderr, "\r\033[K%6.1fs  in %llu ev (%.0f ev/s)", elapsed, (unsigned long long)n, rate);
    for (uint32_t k = 0; k < run->sink_count; k++) {
        uint64_t in, out, errors;
        sl_run_node_counts(run, run->sinks[k].node, &in, &out, &errors);
        fprintf(stderr, "  %s %llu", run->job->nodes[run->sinks[k].node].name,
                (unsigned long long)out);
    }
    fflush(stderr);
    *last = n;
    *last_t = elapsed;
}

static void print_summary(const struct sl_run *run, double elapsed, double cpu)
{
    const struct sl_job *job = run->job;
    fprintf(stderr, "\njob %s: %u worker%s, %.2f s, %.2f CPU-s\n", job->name, job->workers,
            job->workers == 1 ? "" : "s", elapsed, cpu);
    fprintf(stderr, "  %-20s %-9s %12s %12s %10s\n", "node", "type", "in", "out", "errors");
    for (uint32_t k = 0; k < job->node_count; k++) {
        uint32_t i = job->order[k];
        uint64_t in, out, errors;
        sl_run_node_counts(run, i, &in, &out, &errors);
        fprintf(stderr, "  %-20s %-9s %12llu %12llu %10llu\n", job->nodes[i].name,
                job->nodes[i].type_name, (unsigned long long)in, (unsigned long long)out,
                (unsigned long long)errors);
    }
    uint64_t n = source_events(run);
    fprintf(stderr, "  throughput: %.0f events/s, %.0f events per CPU-second\n",
            elapsed > 0 ? n / elapsed : 0, cpu > 0 ? n / cpu : 0);
}

int sl_cmd_run(int argc, char **argv)
{
    const char *path, *sets[SL_CLI_SETS_MAX];
    unsigned set_count;
    int rc = sl_cli_job_args("run", argc, argv, &path, sets, &set_count);
    if (rc) {
        fputs("usage: sluice run JOB.yaml [--set path.to.key=value]...\n\n"
              "Runs the job until its sources end or SIGINT/SIGTERM, then drains: every event\n"
              "taken in reaches the sinks before exit. Exit: 0 ok, 1 runtime failure, 2 invalid "
              "job.\n", rc == -1 ? stdout : stderr);
        return rc == -1 ? SL_EXIT_OK : SL_EXIT_USAGE;
    }
    struct sl_diags diags;
    sl_diags_init(&diags, path);
    static struct sl_job job;
    if (sl_job_load(&job, path, sets, set_count, &diags)) {
        sl_diags_print(&diags, stderr);
        sl_diags_fini(&diags);
        return SL_EXIT_USAGE;
    }
    sl_diags_fini(&diags);
    static struct sl_run run;
    struct sl_run_config config;
    sl_run_config_default(&config);
    config.batch_events = job.runtime.batch_events;
    config.batch_bytes = job.runtime.batch_bytes;
    config.source_batches = config.sink_batches = job.runtime.batches;
    char err[256];
    if (sl_run_create(&run, &job, &config, err, sizeof(err))) {
        fprintf(stderr, "sluice run: %s\n", err);
        sl_run_destroy(&run);
        sl_job_free(&job);
        return SL_EXIT_RUNTIME;
    }
    double bound_mib = (double)sl_run_batch_memory(&run) / (1 << 20);
    double ram_mib = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE) / (1 << 20);
    if (ram_mib > 0 && bound_mib > ram_mib) /* pages are touched only as batches fill */
        sl_log(SL_LOG_WARN, "job %s: its batches could hold %.0f MiB, more than this machine's "
               "%.0f MiB: under a long enough stall it would run out of memory; lower runtime: "
               "batches or batch_bytes (docs/memory.md)", job.name, bound_mib, ram_mib);
    sl_log(SL_LOG_INFO, "job %s: batches hold at most %.1f MiB (runtime: %u batches per pool, "
           "%u events / %u KiB each; docs/memory.md)", job.name, bound_mib, config.source_batches,
           config.batch_events, config.batch_bytes >> 10);
    signal_run = &run;
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    uint64_t start = sl_now_ns();
    double cpu0 = cpu_seconds();
    SL_ASSERT(sl_run_start(&run, err, sizeof(err)) == 0);
    bool tty = isatty(STDERR_FILENO);
    uint64_t last = 0;
    double last_t = 0;
    while (!sl_run_wait_sinks(&run, 100)) {
        double elapsed = (double)(sl_now_ns() - start) / 1e9;
        if (tty && elapsed - last_t >= 0.5)
            print_status(&run, elapsed, &last, &last_t);
    }
    rc = sl_run_join(&run);
    double elapsed = (double)(sl_now_ns() - start) / 1e9;
    print_summary(&run, elapsed, cpu_seconds() - cpu0);
    sl_run_destroy(&run);
    sl_job_free(&job);
    return rc ? SL_EXIT_RUNTIME : SL_EXIT_OK;
}
