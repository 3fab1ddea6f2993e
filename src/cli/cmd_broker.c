/* cmd_broker.c - `sluice broker`: a development Kafka cluster (librdkafka's
 * mock cluster, connectors/kafka/mock_cluster.h) on 127.0.0.1 that other
 * processes and kcat can reach, driven by fault commands on a control
 * channel.
 *
 * Start-up order, which scripts can rely on: brokers, then the --topic
 * topics, then the control socket; only then is "bootstrap: LIST" printed on
 * stdout and LIST written to --bootstrap-file (a temporary file renamed into
 * place, so a reader never sees it half-written). Once the file exists, the
 * topics exist and the control socket accepts connections.
 *
 * Control: one command per line, each answered with one line "ok ..." or
 * "error ..." (commands in mock_cluster.h; `quit` stops the broker). With
 * `--control stdin` answers go to stdout, and end of input only stops
 * reading: the broker keeps running until SIGINT/SIGTERM, so it can run in
 * the background with </dev/null. With `--control unix:PATH` up to
 * BROKER_CLIENTS_MAX clients connect at once, each answered on its own
 * connection; stdin is not read. SIGINT/SIGTERM (taken through a signalfd:
 * blocked in every thread, librdkafka's included) or `quit` stop the
 * cluster, remove the bootstrap file and the socket, and exit 0.
 *
 * One thread: poll() over the signalfd, the listening socket and the
 * clients; a reply is a short blocking write. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../connectors/kafka/mock_cluster.h"
#include "cli/cli.h"

#define BROKER_TOPICS_MAX 64u
#define BROKER_CLIENTS_MAX 16u
#define BROKER_LINE_MAX 1024u  /* one command, bytes with its newline */
#define BROKER_REPLY_MAX 2048u
#define BROKER_TOPIC_NAME_MAX 250u

struct broker_topic {
    char name[BROKER_TOPIC_NAME_MAX];
    int partitions;
    int replication; /* 0: min(3, brokers) */
};

struct broker_conf {
    unsigned brokers;
    struct broker_topic topics[BROKER_TOPICS_MAX];
    unsigned topic_count;
    const char *bootstrap_file; /* NULL: none */
    const char *unix_path;      /* NULL: control on stdin */
};

/* One control connection (or stdin/stdout); owned by the broker loop. */
struct broker_client {
    int in_fd, out_fd;          /* -1: slot free */
    char buf[BROKER_LINE_MAX];  /* the current, incomplete line */
    size_t len;                 /* bytes in buf */
    bool discarding;            /* inside a line that overflowed buf */
};

struct broker_run {
    struct broker_conf conf;
    struct sl_kafka_mock *mock;
    int sig_fd;
    int listen_fd;                                    /* -1 with stdin control */
    struct broker_client clients[BROKER_CLIENTS_MAX]; /* [0] is stdin with stdin control */
    bool stop;
    bool file_written, socket_bound;
};

static void broker_usage(FILE *f)
{
    fputs("usage: sluice broker [--brokers N] [--topic NAME[:PARTITIONS[:REPLICATION]]]...\n"
          "                     [--bootstrap-file FILE] [--control stdin|unix:PATH]\n\n"
          "Runs a development Kafka cluster (librdkafka's mock cluster) on 127.0.0.1 with\n"
          "ephemeral ports, prints \"bootstrap: HOST:PORT,...\" on stdout, and serves fault\n"
          "commands on the control channel until SIGINT/SIGTERM or `quit`.\n"
          "  --brokers N          brokers, ids 1..N (default 1, at most 32)\n"
          "  --topic NAME[:P[:R]] create a topic with P partitions (default 4) and\n"
          "                       replication R (default min(3, N)); repeatable. Other topics\n"
          "                       are created on first use with 4 partitions\n"
          "  --bootstrap-file F   also write the bootstrap list to F (atomically, after the\n"
          "                       topics and the control socket are ready; removed at exit)\n"
          "  --control stdin      commands on stdin, answers on stdout (default); end of\n"
          "                       input keeps the broker running (fine with </dev/null)\n"
          "  --control unix:PATH  commands on a unix stream socket at PATH (removed at exit)\n\n"
          "Control commands, one per line, each answered \"ok ...\" or \"error ...\":\n"
          "  broker ID|all down|up            disconnect a broker and refuse connections,\n"
          "                                   or accept them again (leaders do not move)\n"
          "  rtt ID|all MS                    delay the broker's responses by MS ms\n"
          "  errors API COUNT ERR...          the next COUNT requests of API (Produce, Fetch,\n"
          "                                   Metadata, OffsetCommit, JoinGroup, EndTxn, ... or\n"
          "                                   a number) fail with ERR (e.g.\n"
          "                                   NOT_LEADER_OR_FOLLOWER, _TRANSPORT = disconnect);\n"
          "                                   the last ERR repeats when fewer than COUNT\n"
          "  topic NAME PARTITIONS [REPL]     create a topic\n"
          "  leader TOPIC PARTITION ID        move an existing partition's leader (-1: none)\n"
          "  bootstrap | help | quit\n"
          "The mock keeps ~5 MiB per partition, ignores isolation.level in Fetch and writes\n"
          "no transaction markers: see docs/kafka.md.\n"
          "Exit: 0 on SIGINT/SIGTERM or quit, 1 runtime failure, 2 usage.\n", f);
}

/* What the mock would refuse only once started (exit 1): a topic named twice,
 * or replicated on more brokers than there are. */
static int broker_topics_check(const struct broker_conf *conf)
{
    for (unsigned i = 0; i < conf->topic_count; i++) {
        const struct broker_topic *topic = &conf->topics[i];
        if (topic->replication > (int)conf->brokers) {
            fprintf(stderr, "sluice broker: --topic %s: replication %d over %u broker%s\n",
                    topic->name, topic->replication, conf->brokers,
                    conf->brokers == 1 ? "" : "s");
            return SL_EXIT_USAGE;
        }
        for (unsigned j = 0; j < i; j++)
            if (strcmp(conf->topics[j].name, topic->name) == 0) {
                fprintf(stderr, "sluice broker: --topic %s given twice\n", topic->name);
                return SL_EXIT_USAGE;
            }
    }
    return SL_EXIT_OK;
}

static int broker_parse_args(struct broker_conf *conf, int argc, char **argv)
{
    static const struct option opts[] = {
        {"brokers", required_argument, NULL, 'b'}, {"topic", required_argument, NULL, 't'},
        {"bootstrap-file", required_argument, NULL, 'f'},
        {"control", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char err[512];
    int c;
    conf->brokers = 1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (end == optarg || *end || optarg[0] == '-' || v < 1 ||
                v > SL_KAFKA_MOCK_BROKERS_MAX) {
                fprintf(stderr, "sluice broker: --brokers %s: expected 1..%d\n", optarg,
                        SL_KAFKA_MOCK_BROKERS_MAX);
                return SL_EXIT_USAGE;
            }
            conf->brokers = (unsigned)v;
            break;
        }
        case 't': {
            if (conf->topic_count == BROKER_TOPICS_MAX) {
                fprintf(stderr, "sluice broker: more than %u --topic\n", BROKER_TOPICS_MAX);
                return SL_EXIT_USAGE;
            }
            struct broker_topic *topic = &conf->topics[conf->topic_count++];
            if (sl_kafka_mock_topic_parse(optarg, topic->name, sizeof(topic->name),
                                          &topic->partitions, &topic->replication, err,
                                          sizeof(err))) {
                fprintf(stderr, "sluice broker: --topic: %s\n", err);
                return SL_EXIT_USAGE;
            }
            break;
        }
        case 'f':
            conf->bootstrap_file = optarg;
            break;
        case 'c':
            if (strcmp(optarg, "stdin") == 0) {
                conf->unix_path = NULL;
            } else if (strncmp(optarg, "unix:", 5) == 0 && optarg[5] &&
                       strlen(optarg + 5) < sizeof(((struct sockaddr_un *)0)->sun_path)) {
                conf->unix_path = optarg + 5;
            } else {
                fprintf(stderr, "sluice broker: --control %s: expected stdin or unix:PATH "
                                "(PATH under 108 bytes)\n", optarg);
                return SL_EXIT_USAGE;
            }
            break;
        case 'h':
            return -1;
        default:
            broker_usage(stderr);
            return SL_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sluice broker: unexpected argument '%s'\n", argv[optind]);
        return SL_EXIT_USAGE;
    }
    return broker_topics_check(conf);
}

/* ---- start-up ---- */

static int broker_signals(struct broker_run *run)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    /* Blocked before librdkafka starts its threads, which inherit the mask:
     * the signals can only be taken from the signalfd. */
    if (pthread_sigmask(SIG_BLOCK, &set, NULL))
        return -1;
    signal(SIGPIPE, SIG_IGN); /* a client gone mid-reply is an EPIPE, not a death */
    run->sig_fd = signalfd(-1, &set, SFD_CLOEXEC);
    if (run->sig_fd < 0) {
        fprintf(stderr, "sluice broker: signalfd: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

static int broker_listen(struct broker_run *run)
{
    const char *path = run->conf.unix_path;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    struct stat st;
    strcpy(addr.sun_path, path);
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            fprintf(stderr, "sluice broker: --control unix:%s: exists and is not a socket\n",
                    path);
            return -1;
        }
        unlink(path); /* a socket left by a broker that was killed */
    }
    run->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (run->listen_fd < 0 || bind(run->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) ||
        listen(run->listen_fd, (int)BROKER_CLIENTS_MAX)) {
        fprintf(stderr, "sluice broker: --control unix:%s: %s\n", path, strerror(errno));
        return -1;
    }
    run->socket_bound = true;
    return 0;
}

/* Writes the bootstrap list to a temporary file beside the target and
 * renames it into place. */
static int broker_write_file(struct broker_run *run, const char *list)
{
    const char *path = run->conf.bootstrap_file;
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp)) {
        fprintf(stderr, "sluice broker: --bootstrap-file %s: path too long\n", path);
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "sluice broker: %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    int werr = fprintf(f, "%s\n", list) < 0;
    werr |= fclose(f) != 0;
    if (werr || rename(tmp, path)) {
        fprintf(stderr, "sluice broker: --bootstrap-file %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    run->file_written = true;
    return 0;
}

static int broker_start(struct broker_run *run)
{
    char err[512];
    if (sl_kafka_mock_create(&run->mock, run->conf.brokers, err, sizeof(err))) {
        fprintf(stderr, "sluice broker: %s\n", err);
        return -1;
    }
    for (unsigned i = 0; i < run->conf.topic_count; i++) {
        const struct broker_topic *topic = &run->conf.topics[i];
        if (sl_kafka_mock_topic_create(run->mock, topic->name, topic->partitions,
                                       topic->replication, err, sizeof(err))) {
            fprintf(stderr, "sluice broker: --topic: %s\n", err);
            return -1;
        }
    }
    if (run->conf.unix_path && broker_listen(run))
        return -1;
    const char *list = sl_kafka_mock_bootstraps(run->mock);
    if (run->conf.bootstrap_file && broker_write_file(run, list))
        return -1;
    printf("bootstrap: %s\n", list);
    fflush(stdout);
    fprintf(stderr, "sluice broker: %u broker%s, %u topic%s created; control on %s%s\n",
            run->conf.brokers, run->conf.brokers == 1 ? "" : "s", run->conf.topic_count,
            run->conf.topic_count == 1 ? "" : "s", run->conf.unix_path ? "unix:" : "stdin",
            run->conf.unix_path ? run->conf.unix_path : "");
    return 0;
}

/* ---- control channel ---- */

static void broker_client_close(struct broker_client *client)
{
    if (client->in_fd > STDIN_FILENO)
        close(client->in_fd);
    client->in_fd = client->out_fd = -1;
    client->len = 0;
    client->discarding = false;
}

/* Writes one answer line; false when the client is gone. */
static bool broker_reply(struct broker_client *client, const char *reply)
{
    char line[BROKER_REPLY_MAX + 1];
    int n = snprintf(line, sizeof(line), "%s\n", reply);
    size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    line[len - 1] = '\n';
    for (size_t off = 0; off < len;) {
        ssize_t w = write(client->out_fd, line + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        off += (size_t)w;
    }
    return true;
}

static bool broker_command(struct broker_run *run, struct broker_client *client, char *line)
{
    char reply[BROKER_REPLY_MAX];
    const char *word = line + strspn(line, " \t\r");
    if (strncmp(word, "quit", 4) == 0 && word[4 + strspn(word + 4, " \t\r")] == '\0') {
        run->stop = true;
        return broker_reply(client, "ok quit");
    }
    sl_kafka_mock_exec(run->mock, line, reply, sizeof(reply));
    return broker_reply(client, reply);
}

/* Handles the complete lines in the client's buffer; keeps the rest. */
static bool broker_lines(struct broker_run *run, struct broker_client *client)
{
    char *start = client->buf, *end = client->buf + client->len, *nl;
    while (!run->stop && (nl = memchr(start, '\n', (size_t)(end - start)))) {
        *nl = '\0';
        bool skip = client->discarding;
        client->discarding = false;
        if (!skip && !broker_command(run, client, start))
            return false;
        start = nl + 1;
    }
    client->len = (size_t)(end - start);
    memmove(client->buf, start, client->len);
    if (client->len == sizeof(client->buf)) {
        client->len = 0;
        if (!client->discarding && !broker_reply(client, "error line longer than 1024 bytes"))
            return false;
        client->discarding = true;
    }
    return true;
}

static void broker_client_read(struct broker_run *run, struct broker_client *client)
{
    ssize_t n = read(client->in_fd, client->buf + client->len, sizeof(client->buf) - client->len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        if (client->in_fd == STDIN_FILENO)
            fprintf(stderr, "sluice broker: end of stdin; running until SIGINT/SIGTERM\n");
        broker_client_close(client);
        return;
    }
    client->len += (size_t)n;
    if (!broker_lines(run, client))
        broker_client_close(client);
}

static void broker_accept(struct broker_run *run)
{
    int fd = accept4(run->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    for (unsigned i = 0; i < BROKER_CLIENTS_MAX; i++) {
        if (run->clients[i].in_fd < 0) {
            run->clients[i].in_fd = run->clients[i].out_fd = fd;
            return;
        }
    }
    const char busy[] = "error too many control connections\n";
    (void)!write(fd, busy, sizeof(busy) - 1);
    close(fd);
}

/* Polls until a signal or `quit`. */
static int broker_serve(struct broker_run *run)
{
    struct pollfd pfds[BROKER_CLIENTS_MAX + 2];
    struct broker_client *polled[BROKER_CLIENTS_MAX];
    while (!run->stop) {
        nfds_t n = 0, nclients = 0;
        pfds[n++] = (struct pollfd){.fd = run->sig_fd, .events = POLLIN};
        if (run->listen_fd >= 0)
            pfds[n++] = (struct pollfd){.fd = run->listen_fd, .events = POLLIN};
        nfds_t first_client = n;
        for (unsigned i = 0; i < BROKER_CLIENTS_MAX; i++) {
            if (run->clients[i].in_fd < 0)
                continue;
            polled[nclients++] = &run->clients[i];
            pfds[n++] = (struct pollfd){.fd = run->clients[i].in_fd, .events = POLLIN};
        }
        if (poll(pfds, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "sluice broker: poll: %s\n", strerror(errno));
            return -1;
        }
        if (pfds[0].revents) {
            struct signalfd_siginfo info;
            if (read(run->sig_fd, &info, sizeof(info)) == (ssize_t)sizeof(info))
                fprintf(stderr, "sluice broker: %s, stopping\n", strsignal((int)info.ssi_signo));
            return 0;
        }
        for (nfds_t i = 0; i < nclients; i++)
            if (pfds[first_client + i].revents)
                broker_client_read(run, polled[i]);
        if (run->listen_fd >= 0 && pfds[1].revents)
            broker_accept(run);
    }
    return 0;
}

static void broker_stop(struct broker_run *run)
{
    for (unsigned i = 0; i < BROKER_CLIENTS_MAX; i++)
        if (run->clients[i].in_fd >= 0)
            broker_client_close(&run->clients[i]);
    if (run->listen_fd >= 0)
        close(run->listen_fd);
    if (run->socket_bound)
        unlink(run->conf.unix_path);
    if (run->file_written)
        unlink(run->conf.bootstrap_file);
    sl_kafka_mock_destroy(run->mock);
    if (run->sig_fd >= 0)
        close(run->sig_fd);
}

int sl_cmd_broker(int argc, char **argv)
{
    struct broker_run *run = calloc(1, sizeof(*run)); /* ~17 KiB of client buffers */
    if (!run)
        return SL_EXIT_RUNTIME;
    run->sig_fd = run->listen_fd = -1;
    for (unsigned i = 0; i < BROKER_CLIENTS_MAX; i++)
        run->clients[i].in_fd = run->clients[i].out_fd = -1;
    int rc = broker_parse_args(&run->conf, argc, argv);
    if (rc < 0)
        broker_usage(stdout);
    if (rc) {
        free(run);
        return rc < 0 ? SL_EXIT_OK : rc;
    }
    if (!run->conf.unix_path) {
        run->clients[0].in_fd = STDIN_FILENO;
        run->clients[0].out_fd = STDOUT_FILENO;
    }
    rc = SL_EXIT_RUNTIME;
    if (broker_signals(run) == 0 && broker_start(run) == 0 && broker_serve(run) == 0)
        rc = SL_EXIT_OK;
    broker_stop(run);
    free(run);
    return rc;
}
