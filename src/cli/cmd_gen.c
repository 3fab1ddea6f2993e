/* cmd_gen.c - `sluice gen`: the load generator. Writes seeded, realistic
 * order-domain events (src/gen/orders_gen.h) as `fb` frames or JSON lines to
 * a file, stdout, or N TCP connections (an event goes to connection
 * key % N, so each key's events keep their order on one connection).
 *
 * Events are appended to a buffer per output and written with one large
 * write()/send() when the buffer fills (or, under --rate, after every paced
 * chunk). --rate is a token bucket refilled from the monotonic clock: the
 * loop takes chunks of about 5 ms worth of events and sleeps only when the
 * bucket is empty, never per event. A progress line (events/s, MB/s) is
 * redrawn twice a second when stderr is a terminal; a summary (events and
 * bytes written, per type and per connection) always ends the run on
 * stderr, and --summary-json writes the same as JSON for tests.
 * MB is 10^6 bytes. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/log.h"
#include "gen/orders_gen.h"

#define GEN_COUNT_DEFAULT 1000000u
#define GEN_KEYS_DEFAULT 1000u
#define GEN_CONNECTIONS_MAX 1024u
#define GEN_FILE_BUF_BYTES (1u << 20)
#define GEN_SOCKET_BUF_BYTES (256u << 10)
#define GEN_CHUNK_EVENTS 1024u      /* events between clock checks when unpaced */
#define GEN_PROGRESS_NS 500000000ull
#define GEN_SLEEP_NS_MAX 100000000ull /* a paced wait re-checks stop and progress */

/* Set by SIGINT/SIGTERM; relaxed: a flag polled between chunks, it orders
 * nothing else (the handler touches no other state). */
static atomic_bool gen_stop;

struct gen_conf {
    struct sl_gen_opts gen;
    uint64_t count;           /* events to write; 0 = until interrupted */
    double rate;              /* events/s; 0 = unlimited */
    bool jsonl;
    bool check;               /* verify every built buffer */
    const char *connect;      /* HOST:PORT, or NULL */
    unsigned connections;
    const char *out_path;     /* NULL or "-": stdout */
    const char *summary_path;
};

/* One output: a descriptor and its write buffer. */
struct gen_sink {
    int fd;
    bool is_socket;
    uint8_t *buf;
    size_t len, cap;
    uint64_t events, bytes;     /* appended */
    uint64_t events_out, bytes_out; /* fully written (flushed) */
};

struct gen_run {
    struct gen_conf conf;
    struct sl_fb_schemas schemas;
    struct sl_gen *gen;
    struct sl_fb_json json;
    struct sl_fb_verify_opts verify;
    struct gen_sink *sinks;
    unsigned sink_count;
    uint64_t events, bytes;
    uint64_t type_events[SL_GEN_TYPE_COUNT], type_bytes[SL_GEN_TYPE_COUNT];
    uint64_t start_ns, end_ns;
    bool tty, progress_shown;
    uint64_t progress_ns, progress_events, progress_bytes;
    double tokens, burst, chunk_min; /* token bucket, in events */
    uint64_t bucket_ns;
    char error[512];                 /* the runtime failure, if any */
};

static void gen_usage(FILE *f)
{
    fputs("usage: sluice gen [--seed N] [--count N] [--rate EV_PER_S] [--keys N]\n"
          "                  [--framing fb|jsonl] [--connect HOST:PORT] [--connections N]\n"
          "                  [--out FILE|-] [--types TYPE,...] [--start-us US|now]\n"
          "                  [--summary-json FILE] [--check]\n\n"
          "Generates realistic order events (schemas/orders.fbs) in the sluice.Event envelope:\n"
          "each order lives through placement, inventory, payment and shipment steps with\n"
          "their failures and compensations. The same seed gives the same events, byte for byte.\n"
          "  --seed N           random seed (default 1)\n"
          "  --count N          events to write (default 1000000; 0 = until interrupted)\n"
          "  --rate R           events per second (default 0 = as fast as possible)\n"
          "  --keys N           distinct customers, the events' keys (default 1000)\n"
          "  --framing F        fb: size-prefixed FlatBuffers (default); jsonl: JSON lines\n"
          "  --connect H:P      send to a TCP address instead of a file\n"
          "  --connections N    TCP connections (default 1); key k goes to connection k % N\n"
          "  --out FILE|-       write to FILE or stdout (default stdout)\n"
          "  --types T,...      emit only these event types (a subsequence of the full stream)\n"
          "  --start-us US|now  event time of the first order (default 1732262400000000)\n"
          "  --summary-json F   also write the end summary as JSON to F\n"
          "  --check            verify every generated buffer (nested payload included)\n"
          "A progress line is shown when stderr is a terminal; the summary (events, bytes,\n"
          "events/s, MB/s with MB = 10^6 bytes, per type) always ends the run on stderr.\n"
          "SIGINT/SIGTERM stop the run cleanly (summary printed, exit 0).\n"
          "Exit: 0 ok, 1 runtime failure (connect, write, --check), 2 usage.\n", f);
}

/* ---- option parsing ---- */

static int parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
        fprintf(stderr, "sluice gen: --%s %s: expected an integer in %llu..%llu\n", opt, s,
                (unsigned long long)min, (unsigned long long)max);
        return SL_EXIT_USAGE;
    }
    *out = v;
    return SL_EXIT_OK;
}

static int parse_rate(const char *s, double *rate)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || v < 0 || v > 1e9) {
        fprintf(stderr, "sluice gen: --rate %s: expected events per second, 0..1e9\n", s);
        return SL_EXIT_USAGE;
    }
    *rate = v;
    return SL_EXIT_OK;
}

static int parse_types(const char *s, uint32_t *mask)
{
    *mask = 0;
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        int t = sl_gen_type_parse(s, len);
        if (t < 0) {
            fprintf(stderr, "sluice gen: --types: unknown event type '%.*s'; known:", (int)len, s);
            for (int i = 0; i < SL_GEN_TYPE_COUNT; i++)
                fprintf(stderr, " %s", sl_gen_type_name(i));
            fputc('\n', stderr);
            return SL_EXIT_USAGE;
        }
        *mask |= 1u << t;
        s += len + (comma != NULL);
    }
    if (!*mask) {
        fputs("sluice gen: --types: no event type given\n", stderr);
        return SL_EXIT_USAGE;
    }
    return SL_EXIT_OK;
}

static int parse_start(const char *s, int64_t *start_us)
{
    if (strcmp(s, "now") == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        *start_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
        return SL_EXIT_OK;
    }
    uint64_t v = 0;
    int rc = parse_u64("start-us", s, 0, (uint64_t)1 << 52, &v);
    *start_us = (int64_t)v;
    return rc;
}

static int parse_framing(const char *s, bool *jsonl)
{
    if (strcmp(s, "fb") == 0 || strcmp(s, "jsonl") == 0) {
        *jsonl = s[0] == 'j';
        return SL_EXIT_OK;
    }
    fprintf(stderr, "sluice gen: unknown framing '%s' (expected fb or jsonl)\n", s);
    return SL_EXIT_USAGE;
}

static int parse_option(struct gen_conf *conf, int c, const char *arg)
{
    uint64_t v = 0;
    int rc = SL_EXIT_OK;
    switch (c) {
    case 's': rc = parse_u64("seed", arg, 0, UINT64_MAX, &conf->gen.seed); break;
    case 'n': rc = parse_u64("count", arg, 0, UINT64_MAX, &conf->count); break;
    case 'r': rc = parse_rate(arg, &conf->rate); break;
    case 'k':
        rc = parse_u64("keys", arg, 1, UINT32_MAX, &v);
        conf->gen.keys = (uint32_t)v;
        break;
    case 'f': rc = parse_framing(arg, &conf->jsonl); break;
    case 'c': conf->connect = arg; break;
    case 'C':
        rc = parse_u64("connections", arg, 1, GEN_CONNECTIONS_MAX, &v);
        conf->connections = (unsigned)v;
        break;
    case 'o': conf->out_path = arg; break;
    case 't': rc = parse_types(arg, &conf->gen.type_mask); break;
    case 'T': rc = parse_start(arg, &conf->gen.start_us); break;
    case 'j': conf->summary_path = arg; break;
    case 'x': conf->check = true; break;
    default: gen_usage(stderr); return SL_EXIT_USAGE;
    }
    return rc;
}

/* Parses argv into conf; returns an exit code, or -1 to go on. */
static int parse_args(int argc, char **argv, struct gen_conf *conf)
{
    static const struct option longopts[] = {
        {"seed", required_argument, NULL, 's'},      {"count", required_argument, NULL, 'n'},
        {"rate", required_argument, NULL, 'r'},      {"keys", required_argument, NULL, 'k'},
        {"framing", required_argument, NULL, 'f'},   {"connect", required_argument, NULL, 'c'},
        {"connections", required_argument, NULL, 'C'}, {"out", required_argument, NULL, 'o'},
        {"types", required_argument, NULL, 't'},     {"start-us", required_argument, NULL, 'T'},
        {"summary-json", required_argument, NULL, 'j'}, {"check", no_argument, NULL, 'x'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    *conf = (struct gen_conf){.gen = {.seed = 1, .keys = GEN_KEYS_DEFAULT,
                                      .start_us = SL_GEN_START_US_DEFAULT},
                              .count = GEN_COUNT_DEFAULT, .connections = 1};
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'h') {
            gen_usage(stdout);
            return SL_EXIT_OK;
        }
        int rc = parse_option(conf, c, optarg);
        if (rc)
            return rc;
    }
    if (optind < argc) {
        fprintf(stderr, "sluice gen: unexpected argument '%s'\n", argv[optind]);
        return SL_EXIT_USAGE;
    }
    if (conf->connect && conf->out_path) {
        fputs("sluice gen: --connect and --out exclude each other\n", stderr);
        return SL_EXIT_USAGE;
    }
    if (!conf->connect && conf->connections != 1) {
        fputs("sluice gen: --connections needs --connect\n", stderr);
        return SL_EXIT_USAGE;
    }
    return -1;
}

/* ---- outputs ---- */

static void *gen_calloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p) {
        fputs("sluice gen: out of memory\n", stderr);
        exit(SL_EXIT_RUNTIME);
    }
    return p;
}

static void sink_init(struct gen_sink *sink, int fd, bool is_socket, size_t cap)
{
    *sink = (struct gen_sink){.fd = fd, .is_socket = is_socket, .cap = cap};
    sink->buf = gen_calloc(1, cap);
}

/* Writes the whole buffer (one large write per call in the common case). */
static int sink_flush(struct gen_sink *sink)
{
    size_t off = 0;
    while (off < sink->len) {
        ssize_t n = sink->is_socket
                        ? send(sink->fd, sink->buf + off, sink->len - off, MSG_NOSIGNAL)
                        : write(sink->fd, sink->buf + off, sink->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        off += (size_t)n;
    }
    sink->len = 0;
    sink->events_out = sink->events;
    sink->bytes_out = sink->bytes;
    return 0;
}

/* Appends one event (data, then '\n' when newline) to the sink's buffer. */
static int sink_append(struct gen_sink *sink, const void *data, size_t len, bool newline)
{
    size_t need = len + newline;
    if (sink->cap - sink->len < need) {
        int rc = sink_flush(sink);
        if (rc)
            return rc;
        if (need > sink->cap) {
            size_t cap = need * 2;
            uint8_t *buf = realloc(sink->buf, cap);
            if (!buf)
                return -ENOMEM;
            sink->buf = buf;
            sink->cap = cap;
        }
    }
    memcpy(sink->buf + sink->len, data, len);
    sink->len += len;
    if (newline)
        sink->buf[sink->len++] = '\n';
    sink->events++;
    sink->bytes += need;
    return 0;
}

static int run_fail(struct gen_run *run, const char *what, int rc)
{
    snprintf(run->error, sizeof(run->error), "%s: %s", what, strerror(-rc));
    return rc;
}

static int run_flush_all(struct gen_run *run)
{
    for (unsigned i = 0; i < run->sink_count; i++) {
        int rc = sink_flush(&run->sinks[i]);
        if (rc) {
            char what[64];
            if (run->conf.connect)
                snprintf(what, sizeof(what), "connection %u", i);
            else
                snprintf(what, sizeof(what), "output");
            return run_fail(run, what, rc);
        }
    }
    return 0;
}

/* Splits HOST:PORT (HOST may be [v6]) into host and port. */
static int split_address(const char *addr, char *host, size_t host_len, const char **port)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr || !colon[1])
        return -EINVAL;
    const char *h = addr;
    size_t n = (size_t)(colon - addr);
    if (h[0] == '[' && n >= 2 && h[n - 1] == ']') {
        h++;
        n -= 2;
    }
    if (n >= host_len)
        return -EINVAL;
    memcpy(host, h, n);
    host[n] = 0;
    *port = colon + 1;
    return 0;
}

static int connect_one(const struct addrinfo *ai, int *fd_out)
{
    int err = -ECONNREFUSED;
    for (; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = -errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            int one = 1; /* we batch ourselves; small paced writes must not wait */
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            *fd_out = fd;
            return 0;
        }
        err = -errno;
        close(fd);
    }
    return err;
}

static int open_sockets(struct gen_run *run)
{
    char host[256];
    const char *port;
    if (split_address(run->conf.connect, host, sizeof(host), &port)) {
        fprintf(stderr, "sluice gen: --connect %s: expected HOST:PORT\n", run->conf.connect);
        return SL_EXIT_USAGE;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai;
    int grc = getaddrinfo(host, port, &hints, &ai);
    if (grc) {
        fprintf(stderr, "sluice gen: --connect %s: %s\n", run->conf.connect, gai_strerror(grc));
        return SL_EXIT_RUNTIME;
    }
    run->sinks = gen_calloc(run->conf.connections, sizeof(*run->sinks));
    int rc = 0;
    for (unsigned i = 0; i < run->conf.connections && !rc; i++) {
        int fd = -1;
        rc = connect_one(ai, &fd);
        if (rc)
            fprintf(stderr, "sluice gen: connect %s (connection %u of %u): %s\n",
                    run->conf.connect, i + 1, run->conf.connections, strerror(-rc));
        else
            sink_init(&run->sinks[run->sink_count++], fd, true, GEN_SOCKET_BUF_BYTES);
    }
    freeaddrinfo(ai);
    return rc ? SL_EXIT_RUNTIME : SL_EXIT_OK;
}

static int open_output(struct gen_run *run)
{
    int fd = STDOUT_FILENO;
    const char *path = run->conf.out_path;
    if (path && strcmp(path, "-") != 0) {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            fprintf(stderr, "sluice gen: --out %s: %s\n", path, strerror(errno));
            return SL_EXIT_RUNTIME;
        }
    } else if (!path && !run->conf.jsonl && isatty(STDOUT_FILENO)) {
        fputs("sluice gen: not writing binary frames to a terminal; "
              "use --out FILE, a pipe, or --framing jsonl\n", stderr);
        return SL_EXIT_USAGE;
    }
    run->sinks = gen_calloc(1, sizeof(*run->sinks));
    sink_init(&run->sinks[0], fd, false, GEN_FILE_BUF_BYTES);
    run->sink_count = 1;
    return SL_EXIT_OK;
}

static void close_outputs(struct gen_run *run)
{
    for (unsigned i = 0; i < run->sink_count; i++) {
        struct gen_sink *sink = &run->sinks[i];
        if (sink->is_socket || sink->fd != STDOUT_FILENO)
            close(sink->fd);
        free(sink->buf);
    }
    free(run->sinks);
    run->sinks = NULL;
    run->sink_count = 0;
}

/* ---- the loop ---- */

static int run_emit(struct gen_run *run)
{
    struct sl_gen_event ev;
    sl_gen_next(run->gen, &ev);
    char err[256];
    if (run->conf.check &&
        sl_fb_verify(ev.frame, ev.frame_len, true, run->schemas.envelope, &run->verify, err,
                     sizeof(err))) {
        snprintf(run->error, sizeof(run->error),
                 "--check: event %llu (%s) fails verification: %s", (unsigned long long)ev.seq,
                 sl_gen_type_name(ev.type), err);
        return -EINVAL;
    }
    const void *data = ev.frame;
    size_t len = ev.frame_len;
    if (run->conf.jsonl) {
        const char *out;
        if (sl_fb_to_json(&run->json, run->schemas.envelope, ev.frame + 4, ev.frame_len - 4,
                          &out, &len, err, sizeof(err))) {
            snprintf(run->error, sizeof(run->error), "event %llu to JSON: %s",
                     (unsigned long long)ev.seq, err);
            return -EINVAL;
        }
        data = out;
    }
    struct gen_sink *sink = &run->sinks[ev.key_index % run->sink_count];
    int rc = sink_append(sink, data, len, run->conf.jsonl);
    if (rc)
        return run_fail(run, run->conf.connect ? "send" : "write", rc);
    len += run->conf.jsonl;
    run->events++;
    run->bytes += len;
    run->type_events[ev.type]++;
    run->type_bytes[ev.type] += len;
    return 0;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                          .tv_nsec = (long)(ns % 1000000000u)};
    nanosleep(&ts, NULL); /* EINTR: the caller re-checks the clock and the stop flag */
}

static void bucket_init(struct gen_run *run)
{
    double rate = run->conf.rate;
    run->burst = fmax(1.0, rate / 50);                   /* 20 ms worth */
    run->chunk_min = fmax(1.0, fmin(run->burst, rate / 200)); /* send about every 5 ms */
    run->tokens = run->chunk_min;
    run->bucket_ns = sl_now_ns();
}

/* Takes up to want tokens, waiting (outputs flushed) until chunk_min are
 * there. Returns how many were taken (0 when stopped or on error). */
static uint64_t bucket_take(struct gen_run *run, uint64_t want, int *rc)
{
    for (;;) {
        uint64_t now = sl_now_ns();
        run->tokens = fmin(run->burst,
                           run->tokens + (double)(now - run->bucket_ns) * run->conf.rate / 1e9);
        run->bucket_ns = now;
        if (run->tokens >= run->chunk_min || run->tokens >= (double)want) {
            uint64_t n = (uint64_t)run->tokens;
            n = n < want ? n : want;
            run->tokens -= (double)n;
            return n;
        }
        if (atomic_load_explicit(&gen_stop, memory_order_relaxed))
            return 0;
        *rc = run_flush_all(run);
        if (*rc)
            return 0;
        double wait_ns = (run->chunk_min - run->tokens) / run->conf.rate * 1e9;
        sleep_ns(wait_ns > GEN_SLEEP_NS_MAX ? GEN_SLEEP_NS_MAX : (uint64_t)wait_ns + 1);
    }
}

static void progress_tick(struct gen_run *run, bool force)
{
    uint64_t now = sl_now_ns();
    if (!run->tty || (!force && now - run->progress_ns < GEN_PROGRESS_NS))
        return;
    double s = (double)(now - run->progress_ns) / 1e9;
    fprintf(stderr, "\rsluice gen: %llu events  %.0f events/s  %.1f MB/s   ",
            (unsigned long long)run->events, (double)(run->events - run->progress_events) / s,
            (double)(run->bytes - run->progress_bytes) / s / 1e6);
    run->progress_shown = true;
    run->progress_ns = now;
    run->progress_events = run->events;
    run->progress_bytes = run->bytes;
}

static int run_loop(struct gen_run *run)
{
    const struct gen_conf *conf = &run->conf;
    int rc = 0;
    if (conf->rate > 0)
        bucket_init(run);
    run->start_ns = run->progress_ns = sl_now_ns();
    while (!atomic_load_explicit(&gen_stop, memory_order_relaxed) &&
           (conf->count == 0 || run->events < conf->count)) {
        uint64_t n = GEN_CHUNK_EVENTS;
        if (conf->count && conf->count - run->events < n)
            n = conf->count - run->events;
        if (conf->rate > 0)
            n = bucket_take(run, n, &rc);
        for (uint64_t i = 0; i < n && !rc; i++)
            rc = run_emit(run);
        if (!rc && conf->rate > 0)
            rc = run_flush_all(run); /* paced events leave now, not when a buffer fills */
        if (rc)
            break;
        progress_tick(run, false);
    }
    if (!rc)
        rc = run_flush_all(run);
    for (unsigned i = 0; !rc && i < run->sink_count; i++)
        if (run->sinks[i].is_socket)
            shutdown(run->sinks[i].fd, SHUT_WR); /* the receiver sees a clean end of stream */
    run->end_ns = sl_now_ns();
    progress_tick(run, true);
    if (run->progress_shown)
        fputc('\n', stderr);
    return rc;
}

/* ---- summary ---- */

static void run_totals(const struct gen_run *run, uint64_t *events, uint64_t *bytes)
{
    *events = *bytes = 0;
    for (unsigned i = 0; i < run->sink_count; i++) {
        *events += run->sinks[i].events_out;
        *bytes += run->sinks[i].bytes_out;
    }
}

static void summary_text(const struct gen_run *run, double elapsed_s)
{
    uint64_t events, bytes;
    run_totals(run, &events, &bytes);
    fprintf(stderr, "sluice gen: %llu events, %llu bytes written in %.3f s: %.0f events/s, "
                    "%.1f MB/s (framing %s, seed %llu, %u keys%s)\n",
            (unsigned long long)events, (unsigned long long)bytes, elapsed_s,
            (double)events / elapsed_s, (double)bytes / elapsed_s / 1e6,
            run->conf.jsonl ? "jsonl" : "fb", (unsigned long long)run->conf.gen.seed,
            run->conf.gen.keys,
            atomic_load_explicit(&gen_stop, memory_order_relaxed) ? ", interrupted" : "");
    for (int t = 0; t < SL_GEN_TYPE_COUNT; t++)
        if (run->type_events[t])
            fprintf(stderr, "  %-26s %12llu events %14llu bytes\n", sl_gen_type_name(t),
                    (unsigned long long)run->type_events[t],
                    (unsigned long long)run->type_bytes[t]);
    for (unsigned i = 0; run->conf.connect && i < run->sink_count; i++)
        fprintf(stderr, "  connection %-15u %12llu events %14llu bytes\n", i,
                (unsigned long long)run->sinks[i].events_out,
                (unsigned long long)run->sinks[i].bytes_out);
    if (run->error[0])
        fprintf(stderr, "sluice gen: %s\n", run->error);
}

/* Writes s as a JSON string (the error text may hold any byte). */
static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void summary_json_body(const struct gen_run *run, FILE *f, double elapsed_s)
{
    uint64_t events, bytes;
    run_totals(run, &events, &bytes);
    fprintf(f, "{\"events\":%llu,\"bytes\":%llu,\"elapsed_s\":%.6f,\"events_per_s\":%.1f,"
               "\"mb_per_s\":%.3f,\"framing\":\"%s\",\"seed\":%llu,\"keys\":%u,"
               "\"interrupted\":%s,\"types\":{",
            (unsigned long long)events, (unsigned long long)bytes, elapsed_s,
            (double)events / elapsed_s, (double)bytes / elapsed_s / 1e6,
            run->conf.jsonl ? "jsonl" : "fb", (unsigned long long)run->conf.gen.seed,
            run->conf.gen.keys,
            atomic_load_explicit(&gen_stop, memory_order_relaxed) ? "true" : "false");
    bool first = true;
    for (int t = 0; t < SL_GEN_TYPE_COUNT; t++) {
        if (!run->type_events[t])
            continue;
        fprintf(f, "%s\"%s\":{\"events\":%llu,\"bytes\":%llu}", first ? "" : ",",
                sl_gen_type_name(t), (unsigned long long)run->type_events[t],
                (unsigned long long)run->type_bytes[t]);
        first = false;
    }
    fputs("},\"connections\":[", f);
    for (unsigned i = 0; run->conf.connect && i < run->sink_count; i++)
        fprintf(f, "%s{\"events\":%llu,\"bytes\":%llu}", i ? "," : "",
                (unsigned long long)run->sinks[i].events_out,
                (unsigned long long)run->sinks[i].bytes_out);
    fputs("],\"error\":", f);
    if (run->error[0])
        json_string(f, run->error);
    else
        fputs("null", f);
    fputs("}\n", f);
}

static int summary_json(const struct gen_run *run, double elapsed_s)
{
    FILE *f = fopen(run->conf.summary_path, "w");
    if (!f) {
        fprintf(stderr, "sluice gen: --summary-json %s: %s\n", run->conf.summary_path,
                strerror(errno));
        return -errno;
    }
    summary_json_body(run, f, elapsed_s);
    if (fclose(f)) {
        fprintf(stderr, "sluice gen: --summary-json %s: %s\n", run->conf.summary_path,
                strerror(errno));
        return -EIO;
    }
    return 0;
}

/* ---- the command ---- */

static void on_stop_signal(int sig)
{
    (void)sig;
    atomic_store_explicit(&gen_stop, true, memory_order_relaxed);
}

static void install_signals(void)
{
    struct sigaction sa = {.sa_handler = on_stop_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a closed pipe or socket is an EPIPE write error */
}

static int run_setup(struct gen_run *run)
{
    char err[256];
    int rc = sl_fb_schemas_init(&run->schemas, err, sizeof(err));
    if (!rc)
        rc = sl_fb_schemas_add_embedded(&run->schemas, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "sluice gen: schema: %s\n", err);
        return SL_EXIT_RUNTIME;
    }
    if (sl_gen_create(&run->gen, &run->schemas, &run->conf.gen, err, sizeof(err))) {
        fprintf(stderr, "sluice gen: %s\n", err);
        return SL_EXIT_RUNTIME;
    }
    sl_fb_json_init(&run->json, &run->schemas);
    run->verify = (struct sl_fb_verify_opts){.depth_max = SL_FB_DEPTH_MAX,
                                             .tables_max = SL_FB_TABLES_MAX,
                                             .check_nested = true,
                                             .schemas = &run->schemas};
    run->tty = isatty(STDERR_FILENO);
    return run->conf.connect ? open_sockets(run) : open_output(run);
}

int sl_cmd_gen(int argc, char **argv)
{
    static struct gen_run run; /* large (per-type counters, schemas); one per process */
    memset(&run, 0, sizeof(run));
    int rc = parse_args(argc, argv, &run.conf);
    if (rc >= 0)
        return rc;
    rc = run_setup(&run);
    if (rc == SL_EXIT_OK) {
        install_signals();
        rc = run_loop(&run) ? SL_EXIT_RUNTIME : SL_EXIT_OK;
        double elapsed_s = (double)(run.end_ns - run.start_ns) / 1e9;
        if (elapsed_s <= 0)
            elapsed_s = 1e-9;
        summary_text(&run, elapsed_s);
        if (run.conf.summary_path && summary_json(&run, elapsed_s))
            rc = SL_EXIT_RUNTIME;
    }
    close_outputs(&run);
    if (run.gen) {
        sl_gen_destroy(run.gen);
        sl_fb_json_fini(&run.json);
    }
    if (run.schemas.envelope)
        sl_fb_schemas_fini(&run.schemas);
    return rc;
}
