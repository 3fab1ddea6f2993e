/* tcp.c - the tcp source (listen; io_uring multishot accept + recv on a
 * provided-buffer ring; optional cumulative acks to clients) and the tcp
 * sink (a client connection to host:port). */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/assert.h"
#include "core/batch.h"
#include "sink_format.h"
#include "sl/connector.h"

static const struct sl_option tcp_source_options[] = {
    {"listen", SL_OPT_ADDRESS, NULL, true, NULL, "address to listen on, e.g. 127.0.0.1:7000"},
    {"framing", SL_OPT_ENUM, "fb", false, "fb|jsonl",
     "fb: size-prefixed FlatBuffers frames; jsonl: JSON lines through the schema"},
    {"max_frame", SL_OPT_SIZE, "1MiB", false, NULL,
     "largest frame or line; a longer frame closes the connection (framing lost)"},
    {"max_connections", SL_OPT_INT, "4096", false, NULL, "connections served at once"},
    {"ack", SL_OPT_BOOL, "false", false, NULL,
     "allow ack mode: a client that opens with the hello gets cumulative counts of its events "
     "fully handled (docs/tcp-ack.md); without it such a client is refused"},
    {"drain_timeout", SL_OPT_DURATION, "5s", false, NULL,
     "on stop, how long open connections are still read until their EOF"},
    {NULL, 0, NULL, false, NULL, NULL},
};

const struct sl_source_type sl_source_tcp = {
    .name = "tcp",
    .summary = "listen for events on a TCP port",
    .options = tcp_source_options,
};

/* ---- tcp sink ----
 * A client connection to `connect`, opened at open() (blocking, on the
 * sink thread); each batch is encoded and sent whole with send(2) before
 * write() returns, Nagle left on so large batches go out in full segments.
 * The connection is not re-established: a failed send fails the sink, with
 * the address in the message. */

static const struct sl_option tcp_sink_options[] = {
    {"connect", SL_OPT_ADDRESS, NULL, true, NULL, "address to send events to"},
    {"framing", SL_OPT_ENUM, "fb", false, "fb|jsonl",
     "fb: size-prefixed frames; jsonl: JSON lines"},
    {NULL, 0, NULL, false, NULL, NULL},
};

/* One tcp sink instance; owned and touched by its sink thread only. */
struct tcp_sink {
    const struct sl_tcp_sink_plan *plan;
    int fd;
    struct sl_sink_encoder enc;
};

static void tcp_sink_plan_free(void *plan)
{
    struct sl_tcp_sink_plan *tcp_plan = plan;
    if (!tcp_plan)
        return;
    free(tcp_plan->address);
    free(tcp_plan->host);
    free(tcp_plan->port);
    free(tcp_plan);
}

/* Splits "host:port" or "[v6addr]:port" into host and port (both
 * non-empty). Returns 0, or -EINVAL. */
static int tcp_split_address(const char *address, char **host, char **port)
{
    const char *colon;
    const char *host_start = address;
    size_t host_len;
    if (address[0] == '[') {
        const char *close = strchr(address, ']');
        if (!close || close[1] != ':')
            return -EINVAL;
        host_start = address + 1;
        host_len = (size_t)(close - host_start);
        colon = close + 1;
    } else {
        colon = strrchr(address, ':');
        if (!colon)
            return -EINVAL;
        host_len = (size_t)(colon - address);
    }
    if (host_len == 0 || colon[1] == '\0')
        return -EINVAL;
    *host = strndup(host_start, host_len);
    *port = strdup(colon + 1);
    SL_ASSERT(*host && *port);
    return 0;
}

int sl_tcp_sink_plan_new(const char *address, const char *format, struct sl_tcp_sink_plan **plan,
                         char *err, size_t err_len)
{
    enum sl_sink_format fmt;
    if (sl_sink_format_parse(format, &fmt)) {
        snprintf(err, err_len, "unknown framing '%s' (fb or jsonl)", format ? format : "");
        return -EINVAL;
    }
    struct sl_tcp_sink_plan *tcp_plan = calloc(1, sizeof(*tcp_plan));
    SL_ASSERT(tcp_plan);
    if (!address || tcp_split_address(address, &tcp_plan->host, &tcp_plan->port)) {
        snprintf(err, err_len, "address '%s' is not host:port", address ? address : "");
        free(tcp_plan);
        return -EINVAL;
    }
    tcp_plan->address = strdup(address);
    SL_ASSERT(tcp_plan->address);
    tcp_plan->format = fmt;
    *plan = tcp_plan;
    return 0;
}

static int tcp_sink_compile(struct sl_op_compile *c, void **plan)
{
    char err[256];
    enum sl_sink_format fmt;
    const char *framing = sl_op_string(c, "framing");
    if (sl_sink_format_parse(framing, &fmt)) {
        sl_op_error(c, "framing", NULL, "use fb or jsonl", "unknown framing '%s'",
                    framing ? framing : "");
        return -EINVAL;
    }
    struct sl_tcp_sink_plan *tcp_plan;
    if (sl_tcp_sink_plan_new(sl_op_string(c, "connect"), framing, &tcp_plan, err, sizeof(err))) {
        sl_op_error(c, "connect", NULL, "write it as host:port or [ipv6]:port", "%s", err);
        return -EINVAL;
    }
    *plan = tcp_plan;
    return 0;
}

/* Connects to the first address of host:port that accepts. Returns the
 * socket, or -errno with err naming the address. */
static int tcp_sink_connect(const struct sl_tcp_sink_plan *plan, char *err, size_t err_len)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *list = NULL;
    int gai = getaddrinfo(plan->host, plan->port, &hints, &list);
    if (gai != 0) {
        snprintf(err, err_len, "tcp sink: resolve %s: %s", plan->address, gai_strerror(gai));
        return -EHOSTUNREACH;
    }
    int rc = -EADDRNOTAVAIL;
    for (struct addrinfo *ai = list; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            rc = -errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            freeaddrinfo(list);
            return fd;
        }
        rc = -errno;
        close(fd);
    }
    freeaddrinfo(list);
    snprintf(err, err_len, "tcp sink: connect to %s: %s", plan->address, strerror(-rc));
    return rc;
}

static int tcp_sink_open(const struct sl_sink_args *args, void **state, char *err, size_t err_len)
{
    const struct sl_tcp_sink_plan *plan = args->plan;
    int fd = tcp_sink_connect(plan, err, err_len);
    if (fd < 0)
        return fd;
    struct tcp_sink *sink = calloc(1, sizeof(*sink));
    SL_ASSERT(sink);
    sink->plan = plan;
    sink->fd = fd;
    sl_sink_encoder_init(&sink->enc, plan->format, args->schemas, args->node_name);
    *state = sink;
    return 0;
}

static int tcp_sink_write(void *state, struct sl_batch *batch, char *err, size_t err_len)
{
    struct tcp_sink *sink = state;
    if (sl_batch_event_count(batch) == 0)
        return 0;
    sl_sink_encode(&sink->enc, batch);
    const uint8_t *buf = sink->enc.out;
    size_t len = sink->enc.out_len;
    while (len > 0) {
        /* MSG_NOSIGNAL: a closed peer is an EPIPE return, not a signal */
        ssize_t n = send(sink->fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int rc = n < 0 ? -errno : -EIO;
            snprintf(err, err_len, "tcp sink: send to %s: %s", sink->plan->address,
                     strerror(-rc));
            return rc;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Everything was sent in write(); shutting down the sending side first
 * gives the peer an orderly end of stream after the last byte. */
static int tcp_sink_close(void *state, char *err, size_t err_len)
{
    struct tcp_sink *sink = state;
    int rc = 0;
    if (shutdown(sink->fd, SHUT_WR) != 0 && errno != ENOTCONN) {
        rc = -errno;
        snprintf(err, err_len, "tcp sink: shutdown of %s: %s", sink->plan->address,
                 strerror(errno));
    }
    close(sink->fd);
    sl_sink_encoder_fini(&sink->enc);
    free(sink);
    return rc;
}

const struct sl_sink_type sl_sink_tcp = {
    .name = "tcp",
    .summary = "send events to a TCP server",
    .options = tcp_sink_options,
    .compile = tcp_sink_compile,
    .plan_free = tcp_sink_plan_free,
    .open = tcp_sink_open,
    .write = tcp_sink_write,
    .close = tcp_sink_close,
};
