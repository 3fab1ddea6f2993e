/* cmd_ingest.c - `sluice ingest`: ingestion alone, for measuring and
 * testing it before the operator graph exists. A TCP listener or a file
 * feeds the io_uring ingest layer (src/io/ingest.h); N consumer threads
 * count what arrives (optionally slowed down per batch) and give the
 * batches back. At the end a summary goes to stdout, one "key: value" per
 * line: events, bytes, batches, errors by kind, the receive path, the
 * memory bound of the configuration and the peak RSS (VmHWM).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/pool.h"
#include "io/ingest.h"

struct ingest_cli;

/* One counting consumer thread. */
struct ingest_consumer {
    struct ingest_cli *cli;
    uint32_t index;
    pthread_t thread;
    uint64_t events;  /* counted by this thread; read after join */
    uint64_t bytes;
    uint64_t batches;
    uint64_t misaligned; /* events not on an 8-byte address (must stay 0) */
};

struct ingest_cli {
    struct sl_ingest *ingest;
    uint64_t expect;            /* stop after this many events (0: no limit) */
    uint64_t expect_errors;     /* ... and this many bad-input reports */
    _Atomic uint64_t reported;  /* bad-input reports so far */
    uint32_t delay_us;          /* per batch */
    _Atomic uint64_t consumed;  /* events counted by all consumers */
    FILE *errors;               /* --errors file, or NULL */
    struct sl_log_limit log_limit; /* without --errors; io thread */
    struct ingest_consumer consumers[SL_INGEST_CONSUMERS_MAX];
};

static struct sl_ingest *signal_ingest; /* for the signal handler only */

static void ingest_on_signal(int sig)
{
    (void)sig;
    if (signal_ingest != NULL)
        sl_ingest_stop(signal_ingest);
}

static void ingest_usage(FILE *f)
{
    fputs("usage: sluice ingest (--listen HOST:PORT | --file PATH [--follow]) [--framing fb|jsonl]\n"
          "                     [--consumers N] [--consumer-delay-us N] [--max-frame N]\n"
          "                     [--port-file F] [--force-fallback] [--expect N] [--expect-errors N]\n"
          "                     [--errors F] [--schema S]... [--batches N] [--batch-events N]\n"
          "                     [--batch-bytes N] [--ring N] [--bufs N] [--buf-bytes N]\n"
          "                     [--max-connections N]\n\n"
          "Runs ingestion alone: a TCP listener or a file into counting consumer threads.\n"
          "  --listen H:P          listen on numeric IPv4 H, port P (0: ephemeral)\n"
          "  --file PATH           read a file; ends at EOF unless --follow\n"
          "  --follow              at EOF poll for growth (every 100 ms) until stopped\n"
          "  --framing fb|jsonl    size-prefixed FlatBuffers (default) or JSON lines\n"
          "  --consumers N         consumer threads (default 1)\n"
          "  --consumer-delay-us N each consumer sleeps N us per batch (to test backpressure)\n"
          "  --max-frame N         largest frame / JSON line in bytes (default 1048576)\n"
          "  --port-file F         write the bound port to F once listening\n"
          "  --force-fallback      single-shot accept/recv instead of multishot + buffer ring\n"
          "  --expect N            stop (draining) after N events were consumed\n"
          "  --expect-errors N     with --expect: also wait for N bad-input reports\n"
          "  --errors F            write every bad-input report to F, one line each\n"
          "  --schema S            schemas for verification/transcoding (default: all embedded)\n"
          "  --batches, --batch-events, --batch-bytes, --ring, --bufs, --buf-bytes,\n"
          "  --max-connections     pool size, batch limits, ring capacity, provided buffers,\n"
          "                        their size, open connections (memory bound: see\n"
          "                        docs/ingestion.md; printed as memory_bound_bytes)\n"
          "Stops on --expect, on EOF of a file without --follow, or on SIGINT/SIGTERM (events\n"
          "taken are flushed to the consumers first). Bad input is counted and reported,\n"
          "never fatal. Exit: 0 ok, 1 runtime failure, 2 usage.\n", f);
}

/* Stops ingestion once --expect events and --expect-errors reports were
 * seen (any thread; stopping twice is harmless). */
static void ingest_check_expect(struct ingest_cli *cli)
{
    if (cli->expect == 0 && cli->expect_errors == 0)
        return;
    /* relaxed: counters; sl_ingest_stop() carries no data */
    if (atomic_load_explicit(&cli->consumed, memory_order_relaxed) >= cli->expect &&
        atomic_load_explicit(&cli->reported, memory_order_relaxed) >= cli->expect_errors)
        sl_ingest_stop(cli->ingest);
}

static void *ingest_consume(void *arg)
{
    struct ingest_consumer *consumer = arg;
    struct ingest_cli *cli = consumer->cli;
    struct sl_ring *ring = sl_ingest_ring(cli->ingest, consumer->index);
    bool done = false;
    while (!done) {
        void *item;
        if (sl_ring_pop(ring, &item) < 0) {
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL);
            continue;
        }
        struct sl_batch *batch = item;
        uint32_t events = 0;
        for (uint32_t i = 0; i < sl_batch_entry_count(batch); i++) {
            struct sl_batch_entry *entry = sl_batch_entry_at(batch, i);
            if (entry->kind == SL_CTRL_END_OF_STREAM) {
                done = true;
                continue;
            }
            if (entry->kind != SL_ENTRY_EVENT)
                continue;
            events++;
            consumer->bytes += entry->len;
            if ((uintptr_t)sl_batch_event_data(batch, entry) % 8 != 0)
                consumer->misaligned++;
        }
        consumer->events += events;
        consumer->batches++;
        if (cli->delay_us) {
            struct timespec ts = {cli->delay_us / 1000000, (long)(cli->delay_us % 1000000) * 1000};
            nanosleep(&ts, NULL);
        }
        sl_pool_return(batch, consumer->index);
        /* relaxed: a counter; the stop request it may trigger carries no data */
        atomic_fetch_add_explicit(&cli->consumed, events, memory_order_relaxed);
        ingest_check_expect(cli);
    }
    return NULL;
}

/* The error callback (io thread): every report to --errors (or the
 * rate-limited log), counted for --expect-errors. */
static void ingest_on_error(void *ctx, const struct sl_ingest_error *error)
{
    struct ingest_cli *cli = ctx;
    if (cli->errors != NULL) {
        char line[512];
        sl_ingest_error_format(error, line, sizeof(line));
        fprintf(cli->errors, "%s\n", line);
    } else {
        sl_ingest_error_log(&cli->log_limit, error);
    }
    /* relaxed: a counter, see ingest_check_expect() */
    atomic_fetch_add_explicit(&cli->reported, 1, memory_order_relaxed);
    ingest_check_expect(cli);
}

static uint64_t ingest_peak_rss(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return 0;
    char line[256];
    uint64_t kib = 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmHWM: %" SCNu64 " kB", &kib) == 1)
            break;
    fclose(f);
    return kib * 1024;
}

static void ingest_summary(struct ingest_cli *cli, const struct sl_ingest_config *config)
{
    struct sl_ingest_stats stats;
    sl_ingest_stats(cli->ingest, &stats);
    uint64_t events = 0, bytes = 0, batches = 0, misaligned = 0;
    for (uint32_t i = 0; i < config->consumers; i++) {
        events += cli->consumers[i].events;
        bytes += cli->consumers[i].bytes;
        batches += cli->consumers[i].batches;
        misaligned += cli->consumers[i].misaligned;
    }
    uint64_t errors = 0;
    for (unsigned k = 0; k < SL_INGEST_ERR_KINDS; k++)
        errors += stats.errors[k];
    printf("path: %s\n", config->source == SL_INGEST_TCP ? sl_ingest_path_name(stats.path) : "file");
    printf("events: %" PRIu64 "\n", stats.events);
    printf("events_consumed: %" PRIu64 "\n", events);
    printf("event_bytes_consumed: %" PRIu64 "\n", bytes);
    printf("misaligned: %" PRIu64 "\n", misaligned);
    printf("bytes: %" PRIu64 "\n", stats.bytes);
    printf("batches: %" PRIu64 "\n", stats.batches);
    printf("batches_consumed: %" PRIu64 "\n", batches);
    printf("errors: %" PRIu64 "\n", errors);
    for (unsigned k = 0; k < SL_INGEST_ERR_KINDS; k++)
        printf("errors_%s: %" PRIu64 "\n", sl_ingest_error_kind_name(k), stats.errors[k]);
    printf("connections: %" PRIu64 "\n", stats.connections);
    printf("connections_rejected: %" PRIu64 "\n", stats.connections_rejected);
    printf("pauses: %" PRIu64 "\n", stats.pauses);
    printf("memory_bound_bytes: %" PRIu64 "\n", sl_ingest_memory_bound(config));
    printf("peak_rss_bytes: %" PRIu64 "\n", ingest_peak_rss());
    fflush(stdout);
}

static int ingest_parse_u32(const char *opt, const char *value, uint32_t min, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(value, &end, 10);
    if (errno || *end || end == value || v < min || v > UINT32_MAX) {
        fprintf(stderr, "sluice ingest: %s '%s': expected an integer >= %u\n", opt, value, min);
        return SL_EXIT_USAGE;
    }
    *out = (uint32_t)v;
    return SL_EXIT_OK;
}

static int ingest_parse_listen(const char *value, struct sl_ingest_config *config, char *host,
                               size_t host_len)
{
    const char *colon = strrchr(value, ':');
    uint32_t port;
    if (colon == NULL || (size_t)(colon - value) >= host_len ||
        ingest_parse_u32("--listen port", colon + 1, 0, &port) || port > 65535) {
        fprintf(stderr, "sluice ingest: --listen '%s': expected HOST:PORT\n", value);
        return SL_EXIT_USAGE;
    }
    memcpy(host, value, (size_t)(colon - value));
    host[colon - value] = '\0';
    config->source = SL_INGEST_TCP;
    config->listen_host = host;
    config->listen_port = (uint16_t)port;
    return SL_EXIT_OK;
}

struct ingest_args {
    struct sl_ingest_config config;
    struct sl_cli_schema_opts schema_opts;
    char host[64];
    bool have_source;
    const char *port_file;
    const char *errors_path;
    uint64_t expect;
    uint64_t expect_errors;
    uint32_t delay_us;
};

enum { OPT_LISTEN = 256, OPT_FILE, OPT_FOLLOW, OPT_FRAMING, OPT_CONSUMERS, OPT_DELAY,
       OPT_MAX_FRAME, OPT_PORT_FILE, OPT_FALLBACK, OPT_EXPECT, OPT_ERRORS, OPT_SCHEMA,
       OPT_BATCHES, OPT_BATCH_EVENTS, OPT_BATCH_BYTES, OPT_RING, OPT_BUFS, OPT_BUF_BYTES,
       OPT_MAX_CONNS, OPT_EXPECT_ERRORS, OPT_HELP };

static const struct option ingest_options[] = {
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"file", required_argument, NULL, OPT_FILE},
    {"follow", no_argument, NULL, OPT_FOLLOW},
    {"framing", required_argument, NULL, OPT_FRAMING},
    {"consumers", required_argument, NULL, OPT_CONSUMERS},
    {"consumer-delay-us", required_argument, NULL, OPT_DELAY},
    {"max-frame", required_argument, NULL, OPT_MAX_FRAME},
    {"port-file", required_argument, NULL, OPT_PORT_FILE},
    {"force-fallback", no_argument, NULL, OPT_FALLBACK},
    {"expect", required_argument, NULL, OPT_EXPECT},
    {"errors", required_argument, NULL, OPT_ERRORS},
    {"expect-errors", required_argument, NULL, OPT_EXPECT_ERRORS},
    {"schema", required_argument, NULL, OPT_SCHEMA},
    {"batches", required_argument, NULL, OPT_BATCHES},
    {"batch-events", required_argument, NULL, OPT_BATCH_EVENTS},
    {"batch-bytes", required_argument, NULL, OPT_BATCH_BYTES},
    {"ring", required_argument, NULL, OPT_RING},
    {"bufs", required_argument, NULL, OPT_BUFS},
    {"buf-bytes", required_argument, NULL, OPT_BUF_BYTES},
    {"max-connections", required_argument, NULL, OPT_MAX_CONNS},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* Options that take a number: where it goes and its minimum. */
static int ingest_parse_number(int opt, struct ingest_args *args)
{
    struct sl_ingest_config *c = &args->config;
    switch (opt) {
    case OPT_CONSUMERS: return ingest_parse_u32("--consumers", optarg, 1, &c->consumers);
    case OPT_DELAY: return ingest_parse_u32("--consumer-delay-us", optarg, 0, &args->delay_us);
    case OPT_MAX_FRAME: return ingest_parse_u32("--max-frame", optarg, 1, &c->frame_bytes_max);
    case OPT_BATCHES: return ingest_parse_u32("--batches", optarg, 1, &c->batches);
    case OPT_BATCH_EVENTS: return ingest_parse_u32("--batch-events", optarg, 1, &c->events_max);
    case OPT_BATCH_BYTES: return ingest_parse_u32("--batch-bytes", optarg, 64, &c->arena_bytes_max);
    case OPT_RING: return ingest_parse_u32("--ring", optarg, 1, &c->ring_capacity);
    case OPT_BUFS: return ingest_parse_u32("--bufs", optarg, 1, &c->bufring_entries);
    case OPT_BUF_BYTES: return ingest_parse_u32("--buf-bytes", optarg, 64, &c->buf_bytes);
    case OPT_MAX_CONNS: return ingest_parse_u32("--max-connections", optarg, 1, &c->connections_max);
    default: return -1;
    }
}

/* Parses argv into args. Returns SL_EXIT_OK, SL_EXIT_USAGE, or -1 for --help. */
static int ingest_parse(int argc, char **argv, struct ingest_args *args)
{
    int opt, rc = SL_EXIT_OK;
    uint32_t expect = 0;
    optind = 1;
    while (rc == SL_EXIT_OK && (opt = getopt_long(argc, argv, "", ingest_options, NULL)) != -1) {
        rc = ingest_parse_number(opt, args);
        if (rc >= 0)
            continue;
        rc = SL_EXIT_OK;
        switch (opt) {
        case OPT_LISTEN:
            rc = ingest_parse_listen(optarg, &args->config, args->host, sizeof(args->host));
            args->have_source = true;
            break;
        case OPT_FILE:
            args->config.source = SL_INGEST_FILE;
            args->config.path = optarg;
            args->have_source = true;
            break;
        case OPT_FOLLOW: args->config.follow = true; break;
        case OPT_FRAMING:
            if (strcmp(optarg, "fb") == 0 || strcmp(optarg, "jsonl") == 0) {
                args->config.framing = optarg[0] == 'f' ? SL_INGEST_FB : SL_INGEST_JSONL;
            } else {
                fprintf(stderr, "sluice ingest: unknown framing '%s' (expected fb or jsonl)\n", optarg);
                rc = SL_EXIT_USAGE;
            }
            break;
        case OPT_PORT_FILE: args->port_file = optarg; break;
        case OPT_FALLBACK: args->config.force_fallback = true; break;
        case OPT_EXPECT:
            rc = ingest_parse_u32("--expect", optarg, 1, &expect);
            args->expect = expect;
            break;
        case OPT_EXPECT_ERRORS:
            rc = ingest_parse_u32("--expect-errors", optarg, 1, &expect);
            args->expect_errors = expect;
            break;
        case OPT_ERRORS: args->errors_path = optarg; break;
        case OPT_SCHEMA:
            if (args->schema_opts.schema_arg_count == 16) {
                fprintf(stderr, "sluice ingest: at most 16 --schema options\n");
                rc = SL_EXIT_USAGE;
                break;
            }
            args->schema_opts.schema_args[args->schema_opts.schema_arg_count++] = optarg;
            break;
        case OPT_HELP: return -1;
        default: rc = SL_EXIT_USAGE; break;
        }
    }
    if (rc == SL_EXIT_OK && (optind != argc || !args->have_source)) {
        fprintf(stderr, "sluice ingest: give one source, --listen HOST:PORT or --file PATH "
                        "(see sluice ingest --help)\n");
        rc = SL_EXIT_USAGE;
    }
    return rc;
}

static int ingest_write_port(const char *path, uint16_t port)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "sluice ingest: --port-file %s: %s\n", path, strerror(errno));
        return SL_EXIT_RUNTIME;
    }
    return SL_EXIT_OK;
}

static int ingest_execute(struct ingest_cli *cli, struct ingest_args *args)
{
    const struct sl_ingest_config *config = &args->config;
    if (args->port_file && config->source == SL_INGEST_TCP &&
        ingest_write_port(args->port_file, sl_ingest_port(cli->ingest)) != SL_EXIT_OK)
        return SL_EXIT_RUNTIME;
    if (config->source == SL_INGEST_TCP)
        fprintf(stderr, "sluice ingest: listening on %s:%u\n", config->listen_host,
                sl_ingest_port(cli->ingest));
    uint32_t started = 0;
    for (; started < config->consumers; started++) {
        struct ingest_consumer *consumer = &cli->consumers[started];
        consumer->cli = cli;
        consumer->index = started;
        if (pthread_create(&consumer->thread, NULL, ingest_consume, consumer) != 0)
            break;
    }
    int rc = started == config->consumers ? SL_EXIT_OK : SL_EXIT_RUNTIME;
    if (rc != SL_EXIT_OK)
        sl_ingest_stop(cli->ingest); /* run() still drains and ends the started consumers */
    signal_ingest = cli->ingest;
    struct sigaction sa = {.sa_handler = ingest_on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (started == config->consumers && sl_ingest_run(cli->ingest) < 0)
        rc = SL_EXIT_RUNTIME;
    for (uint32_t i = 0; i < started; i++)
        pthread_join(cli->consumers[i].thread, NULL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal_ingest = NULL;
    if (cli->errors)
        fflush(cli->errors);
    if (rc == SL_EXIT_OK)
        ingest_summary(cli, config);
    return rc;
}

int sl_cmd_ingest(int argc, char **argv)
{
    static struct ingest_args args;
    static struct ingest_cli cli;
    memset(&args, 0, sizeof(args));
    memset(&cli, 0, sizeof(cli));
    sl_ingest_config_default(&args.config);
    int rc = ingest_parse(argc, argv, &args);
    if (rc < 0) {
        ingest_usage(stdout);
        return SL_EXIT_OK;
    }
    if (rc != SL_EXIT_OK)
        return rc;
    struct sl_fb_schemas schemas;
    const struct sl_fb_object *object;
    rc = sl_cli_load_schemas(&schemas, &args.schema_opts, &object);
    if (rc != SL_EXIT_OK)
        return rc;
    args.config.schemas = &schemas;
    cli.expect = args.expect;
    cli.delay_us = args.delay_us;
    cli.expect_errors = args.expect_errors;
    if (args.errors_path) {
        cli.errors = fopen(args.errors_path, "w");
        if (cli.errors == NULL) {
            fprintf(stderr, "sluice ingest: --errors %s: %s\n", args.errors_path, strerror(errno));
            sl_fb_schemas_fini(&schemas);
            return SL_EXIT_RUNTIME;
        }
        setvbuf(cli.errors, NULL, _IOLBF, 0);
    }
    args.config.on_error = ingest_on_error;
    args.config.on_error_ctx = &cli;
    char err[256];
    int ing = sl_ingest_create(&args.config, &cli.ingest, err, sizeof(err));
    if (ing < 0) {
        fprintf(stderr, "sluice %s\n", err);
        rc = ing == -EINVAL ? SL_EXIT_USAGE : SL_EXIT_RUNTIME;
    } else {
        rc = ingest_execute(&cli, &args);
        sl_ingest_destroy(cli.ingest);
    }
    if (cli.errors)
        fclose(cli.errors);
    sl_fb_schemas_fini(&schemas);
    return rc;
}
