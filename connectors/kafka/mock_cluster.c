/* mock_cluster.c - librdkafka's mock cluster as sluice's development broker:
 * creation on 127.0.0.1, topics, the text fault commands of `sluice broker`'s
 * control channel, and the process-wide embedded cluster (mock_cluster.h).
 *
 * The mock is created the explicit way of rdkafka_mock.h: a producer handle
 * with no bootstrap servers (it never connects anywhere; it only hosts the
 * mock's bookkeeping) and rd_kafka_mock_cluster_new() on it, rather than
 * `test.mock.num.brokers`, which would also redirect that handle's own
 * traffic into the mock. The mock thread binds one listener per broker on
 * 127.0.0.1 with an ephemeral port. */
#include "mock_cluster.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/assert.h"
#include "core/log.h"
#include "kafka_conf.h"

#define MOCK_LINE_MAX 1024u   /* one control command, bytes */
#define MOCK_TOKENS_MAX (SL_KAFKA_MOCK_ERRORS_MAX + 4)
#define MOCK_LOOKUP_MS 5000   /* leader: the topic lookup's bound */

/* One cluster; owned by whoever created it (the broker command, or the
 * embedded singleton below). Immutable after create except through librdkafka. */
struct sl_kafka_mock {
    rd_kafka_t *rk;                    /* hosts the mock; never produces */
    rd_kafka_mock_cluster_t *mcluster; /* the brokers, on librdkafka's mock thread */
    unsigned broker_count;             /* ids 1..broker_count */
};

static void mock_errf(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void mock_errf(char *err, size_t err_len, const char *fmt, ...)
{
    if (!err || !err_len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

int sl_kafka_mock_create(struct sl_kafka_mock **mock, unsigned broker_count, char *err,
                         size_t err_len)
{
    if (broker_count < 1 || broker_count > SL_KAFKA_MOCK_BROKERS_MAX) {
        mock_errf(err, err_len, "broker count %u: expected 1..%u", broker_count,
                  SL_KAFKA_MOCK_BROKERS_MAX);
        return -EINVAL;
    }
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* Warnings and errors only: the mock's info lines are per connection. */
    if (rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        mock_errf(err, err_len, "mock cluster: %s", errstr);
        return -EINVAL;
    }
    /* the mock's thread copies every message set it is sent into its log */
    rd_kafka_t *rk = sl_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        mock_errf(err, err_len, "mock cluster: rd_kafka_new: %s", errstr);
        return -ENOMEM;
    }
    rd_kafka_mock_cluster_t *mcluster = rd_kafka_mock_cluster_new(rk, (int)broker_count);
    if (!mcluster) {
        rd_kafka_destroy(rk);
        mock_errf(err, err_len, "mock cluster: cannot start %u brokers on 127.0.0.1 "
                                "(out of ports or file descriptors?)", broker_count);
        return -EADDRNOTAVAIL;
    }
    struct sl_kafka_mock *m = calloc(1, sizeof(*m));
    SL_ASSERT(m);
    m->rk = rk;
    m->mcluster = mcluster;
    m->broker_count = broker_count;
    *mock = m;
    return 0;
}

void sl_kafka_mock_destroy(struct sl_kafka_mock *mock)
{
    if (!mock)
        return;
    /* The cluster first: it was created on rk and uses rk's bookkeeping. */
    rd_kafka_mock_cluster_destroy(mock->mcluster);
    rd_kafka_destroy(mock->rk);
    free(mock);
}

const char *sl_kafka_mock_bootstraps(const struct sl_kafka_mock *mock)
{
    return rd_kafka_mock_cluster_bootstraps(mock->mcluster);
}

unsigned sl_kafka_mock_broker_count(const struct sl_kafka_mock *mock)
{
    return mock->broker_count;
}

/* ---- parsing helpers ---- */

static int mock_parse_int(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

int sl_kafka_mock_topic_create(struct sl_kafka_mock *mock, const char *topic, int partitions,
                               int replication, char *err, size_t err_len)
{
    if (!topic[0] || strlen(topic) > 249) {
        mock_errf(err, err_len, "topic name must be 1..249 characters");
        return -EINVAL;
    }
    if (partitions < 1 || partitions > SL_KAFKA_MOCK_PARTITIONS_MAX) {
        mock_errf(err, err_len, "topic %s: %d partitions: expected 1..%d", topic, partitions,
                  SL_KAFKA_MOCK_PARTITIONS_MAX);
        return -EINVAL;
    }
    if (replication == 0) {
        replication = (int)mock->broker_count;
        if (replication > SL_KAFKA_MOCK_REPLICATION_MAX)
            replication = SL_KAFKA_MOCK_REPLICATION_MAX;
    }
    if (replication < 1 || replication > (int)mock->broker_count) {
        mock_errf(err, err_len, "topic %s: replication %d: expected 1..%u (the broker count)",
                  topic, replication, mock->broker_count);
        return -EINVAL;
    }
    rd_kafka_resp_err_t rerr =
        rd_kafka_mock_topic_create(mock->mcluster, topic, partitions, replication);
    if (rerr == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        mock_errf(err, err_len, "topic %s already exists", topic);
        return -EEXIST;
    }
    if (rerr) {
        mock_errf(err, err_len, "topic %s: %s", topic, rd_kafka_err2str(rerr));
        return -EINVAL;
    }
    return 0;
}

int sl_kafka_mock_topic_parse(const char *spec, char *name, size_t name_len, int *partitions,
                              int *replication, char *err, size_t err_len)
{
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    if (len == 0 || len >= name_len) {
        mock_errf(err, err_len, "topic '%s': expected NAME[:PARTITIONS[:REPLICATION]] "
                                "with a name of 1..%zu characters", spec, name_len - 1);
        return -EINVAL;
    }
    memcpy(name, spec, len);
    name[len] = '\0';
    *partitions = SL_KAFKA_MOCK_PARTITIONS_DEFAULT;
    *replication = 0;
    if (!colon)
        return 0;
    char counts[32];
    if (strlen(colon + 1) >= sizeof(counts))
        goto bad;
    strcpy(counts, colon + 1);
    char *second = strchr(counts, ':');
    if (second)
        *second++ = '\0';
    long v;
    if (mock_parse_int(counts, 1, SL_KAFKA_MOCK_PARTITIONS_MAX, &v))
        goto bad;
    *partitions = (int)v;
    if (second) {
        if (mock_parse_int(second, 1, SL_KAFKA_MOCK_BROKERS_MAX, &v))
            goto bad;
        *replication = (int)v;
    }
    return 0;
bad:
    mock_errf(err, err_len, "topic '%s': expected NAME[:PARTITIONS[:REPLICATION]] with "
                            "PARTITIONS 1..%d and REPLICATION 1..%d", spec,
              SL_KAFKA_MOCK_PARTITIONS_MAX, SL_KAFKA_MOCK_BROKERS_MAX);
    return -EINVAL;
}

/* Kafka protocol request types, by the names of the Kafka protocol guide. */
static const struct {
    const char *name;
    int key;
} mock_api_keys[] = {
    {"Produce", 0},          {"Fetch", 1},           {"ListOffsets", 2},
    {"Metadata", 3},         {"OffsetCommit", 8},    {"OffsetFetch", 9},
    {"FindCoordinator", 10}, {"JoinGroup", 11},      {"Heartbeat", 12},
    {"LeaveGroup", 13},      {"SyncGroup", 14},      {"DescribeGroups", 15},
    {"ListGroups", 16},      {"SaslHandshake", 17},  {"ApiVersions", 18},
    {"CreateTopics", 19},    {"DeleteTopics", 20},   {"DeleteRecords", 21},
    {"InitProducerId", 22},  {"OffsetForLeaderEpoch", 23},
    {"AddPartitionsToTxn", 24}, {"AddOffsetsToTxn", 25}, {"EndTxn", 26},
    {"WriteTxnMarkers", 27}, {"TxnOffsetCommit", 28},
};

int sl_kafka_api_key_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(mock_api_keys) / sizeof(mock_api_keys[0]); i++)
        if (strcasecmp(name, mock_api_keys[i].name) == 0)
            return mock_api_keys[i].key;
    long v;
    if (mock_parse_int(name, 0, 67, &v) == 0)
        return (int)v;
    return -EINVAL;
}

/* Kafka's current names for codes librdkafka 2.0.2 still spells the old way. */
static const struct {
    const char *name;
    int code;
} mock_err_aliases[] = {
    {"UNKNOWN_SERVER_ERROR", RD_KAFKA_RESP_ERR_UNKNOWN},
    {"CORRUPT_MESSAGE", RD_KAFKA_RESP_ERR_INVALID_MSG},
    {"UNKNOWN_TOPIC_OR_PARTITION", RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART},
    {"INVALID_FETCH_SIZE", RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE},
    {"NOT_LEADER_OR_FOLLOWER", RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION},
    {"MESSAGE_TOO_LARGE", RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE},
    {"STALE_CONTROLLER_EPOCH", RD_KAFKA_RESP_ERR_STALE_CTRL_EPOCH},
};

int sl_kafka_err_parse(const char *name, int *code)
{
    if (strncasecmp(name, "RD_KAFKA_RESP_ERR_", 18) == 0)
        name += 18;
    for (size_t i = 0; i < sizeof(mock_err_aliases) / sizeof(mock_err_aliases[0]); i++) {
        if (strcasecmp(name, mock_err_aliases[i].name) == 0) {
            *code = mock_err_aliases[i].code;
            return 0;
        }
    }
    const struct rd_kafka_err_desc *descs;
    size_t count;
    rd_kafka_get_err_descs(&descs, &count);
    for (size_t i = 0; i < count; i++) {
        if (descs[i].name && strcasecmp(name, descs[i].name) == 0) {
            *code = descs[i].code;
            return 0;
        }
    }
    long v;
    if (mock_parse_int(name, -200, 200, &v) == 0 && v != 0) {
        *code = (int)v;
        return 0;
    }
    return -EINVAL;
}

/* ---- fault commands ---- */

/* "all" -> -1, else 1..broker_count. */
static int mock_parse_broker(const struct sl_kafka_mock *mock, const char *s, int32_t *id)
{
    long v;
    if (strcasecmp(s, "all") == 0) {
        *id = -1;
        return 0;
    }
    if (mock_parse_int(s, 1, mock->broker_count, &v))
        return -EINVAL;
    *id = (int32_t)v;
    return 0;
}

static int mock_reply(char *reply, size_t reply_len, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int mock_reply(char *reply, size_t reply_len, int rc, const char *fmt, ...)
{
    const char *prefix = rc ? "error " : "ok ";
    size_t n = strlen(prefix);
    if (reply_len <= n)
        return rc;
    memcpy(reply, prefix, n + 1);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reply + n, reply_len - n, fmt, ap);
    va_end(ap);
    return rc;
}

static int mock_exec_broker(struct sl_kafka_mock *mock, char **tok, int ntok, char *reply,
                            size_t reply_len)
{
    int32_t id;
    if (ntok != 3 || mock_parse_broker(mock, tok[1], &id))
        return mock_reply(reply, reply_len, -EINVAL,
                          "usage: broker ID|all down|up (ID 1..%u)", mock->broker_count);
    rd_kafka_resp_err_t rerr;
    if (strcasecmp(tok[2], "down") == 0)
        rerr = rd_kafka_mock_broker_set_down(mock->mcluster, id);
    else if (strcasecmp(tok[2], "up") == 0)
        rerr = rd_kafka_mock_broker_set_up(mock->mcluster, id);
    else
        return mock_reply(reply, reply_len, -EINVAL, "usage: broker ID|all down|up");
    if (rerr)
        return mock_reply(reply, reply_len, -EIO, "broker %s %s: %s", tok[1], tok[2],
                          rd_kafka_err2str(rerr));
    return mock_reply(reply, reply_len, 0, "broker %s %s", tok[1], tok[2]);
}

static int mock_exec_rtt(struct sl_kafka_mock *mock, char **tok, int ntok, char *reply,
                         size_t reply_len)
{
    int32_t id;
    long ms;
    if (ntok != 3 || mock_parse_broker(mock, tok[1], &id) ||
        mock_parse_int(tok[2], 0, 600000, &ms))
        return mock_reply(reply, reply_len, -EINVAL,
                          "usage: rtt ID|all MS (ID 1..%u, MS 0..600000)", mock->broker_count);
    rd_kafka_resp_err_t rerr = rd_kafka_mock_broker_set_rtt(mock->mcluster, id, (int)ms);
    if (rerr)
        return mock_reply(reply, reply_len, -EIO, "rtt: %s", rd_kafka_err2str(rerr));
    return mock_reply(reply, reply_len, 0, "rtt %s %ld ms", tok[1], ms);
}

static int mock_exec_errors(struct sl_kafka_mock *mock, char **tok, int ntok, char *reply,
                            size_t reply_len)
{
    long count;
    int api = ntok >= 4 ? sl_kafka_api_key_parse(tok[1]) : -EINVAL;
    if (api < 0 || mock_parse_int(tok[2], 1, SL_KAFKA_MOCK_ERRORS_MAX, &count) ||
        ntok - 3 > count)
        return mock_reply(reply, reply_len, -EINVAL,
                          "usage: errors API COUNT ERR... (COUNT 1..%u, at most COUNT "
                          "errors, the last one repeats; API e.g. Produce, Fetch)",
                          SL_KAFKA_MOCK_ERRORS_MAX);
    rd_kafka_resp_err_t errs[SL_KAFKA_MOCK_ERRORS_MAX];
    for (int i = 0; i < count; i++) {
        int t = 3 + (i < ntok - 3 ? i : ntok - 4);
        int code;
        if (sl_kafka_err_parse(tok[t], &code))
            return mock_reply(reply, reply_len, -EINVAL,
                              "unknown error '%s' (names as rd_kafka_err2name() spells them, "
                              "e.g. NOT_LEADER_FOR_PARTITION, _TRANSPORT, or a number)", tok[t]);
        errs[i] = (rd_kafka_resp_err_t)code;
    }
    rd_kafka_mock_push_request_errors_array(mock->mcluster, (int16_t)api, (size_t)count, errs);
    return mock_reply(reply, reply_len, 0, "errors %s (ApiKey %d): next %ld requests fail",
                      tok[1], api, count);
}

static int mock_exec_topic(struct sl_kafka_mock *mock, char **tok, int ntok, char *reply,
                           size_t reply_len)
{
    long partitions, replication = 0;
    if (ntok < 3 || ntok > 4 || mock_parse_int(tok[2], 1, SL_KAFKA_MOCK_PARTITIONS_MAX,
                                               &partitions) ||
        (ntok == 4 && mock_parse_int(tok[3], 1, SL_KAFKA_MOCK_BROKERS_MAX, &replication)))
        return mock_reply(reply, reply_len, -EINVAL,
                          "usage: topic NAME PARTITIONS [REPLICATION]");
    char err[256];
    int rc = sl_kafka_mock_topic_create(mock, tok[1], (int)partitions, (int)replication, err,
                                        sizeof(err));
    if (rc)
        return mock_reply(reply, reply_len, rc, "%s", err);
    return mock_reply(reply, reply_len, 0, "topic %s %ld partitions", tok[1], partitions);
}

/* Whether topic exists with more than partition partitions: 1 yes, 0 no,
 * -1 the lookup failed (err). The mock creates a topic that a leader move
 * names, so this asks first, through a client made for the one request (all
 * topics: the mock creates none for that) that leaves no connection behind
 * to take injected errors later. */
static int mock_partition_exists(struct sl_kafka_mock *mock, const char *topic,
                                 long partition, char *err, size_t err_len)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", sl_kafka_mock_bootstraps(mock), errstr,
                          sizeof(errstr)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "log_level", "2", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        mock_errf(err, err_len, "%s", errstr);
        return -1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        mock_errf(err, err_len, "%s", errstr);
        return -1;
    }
    const struct rd_kafka_metadata *md;
    rd_kafka_resp_err_t rerr = rd_kafka_metadata(rk, 1, NULL, &md, MOCK_LOOKUP_MS);
    int found = -1;
    if (rerr) {
        mock_errf(err, err_len, "cannot look topic %s up: %s", topic, rd_kafka_err2str(rerr));
    } else {
        found = 0;
        for (int i = 0; i < md->topic_cnt; i++)
            if (strcmp(md->topics[i].topic, topic) == 0)
                found = partition < md->topics[i].partition_cnt;
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_destroy(rk);
    return found;
}

static int mock_exec_leader(struct sl_kafka_mock *mock, char **tok, int ntok, char *reply,
                            size_t reply_len)
{
    long partition, id;
    if (ntok != 4 || mock_parse_int(tok[2], 0, SL_KAFKA_MOCK_PARTITIONS_MAX - 1, &partition) ||
        mock_parse_int(tok[3], -1, mock->broker_count, &id) || id == 0)
        return mock_reply(reply, reply_len, -EINVAL,
                          "usage: leader TOPIC PARTITION ID (ID 1..%u, or -1: no leader)",
                          mock->broker_count);
    char err[256];
    int exists = mock_partition_exists(mock, tok[1], partition, err, sizeof(err));
    if (exists < 0)
        return mock_reply(reply, reply_len, -EIO, "leader: %s", err);
    if (!exists)
        return mock_reply(reply, reply_len, -ENOENT, "leader: topic %s has no partition %ld "
                          "(create topics with `topic` or --topic)", tok[1], partition);
    rd_kafka_resp_err_t rerr = rd_kafka_mock_partition_set_leader(mock->mcluster, tok[1],
                                                                  (int32_t)partition, (int32_t)id);
    if (rerr)
        return mock_reply(reply, reply_len, -EIO, "leader: %s", rd_kafka_err2str(rerr));
    return mock_reply(reply, reply_len, 0, "leader %s %ld %ld", tok[1], partition, id);
}

static const char mock_help[] =
    "commands: broker ID|all down|up; rtt ID|all MS; errors API COUNT ERR...; "
    "topic NAME PARTITIONS [REPLICATION]; leader TOPIC PARTITION ID; bootstrap; help; quit";

int sl_kafka_mock_exec(struct sl_kafka_mock *mock, const char *line, char *reply,
                       size_t reply_len)
{
    char buf[MOCK_LINE_MAX];
    if (strlen(line) >= sizeof(buf))
        return mock_reply(reply, reply_len, -E2BIG, "line longer than %u bytes", MOCK_LINE_MAX);
    strcpy(buf, line);
    char *tok[MOCK_TOKENS_MAX], *save = NULL;
    int ntok = 0;
    for (char *t = strtok_r(buf, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
        if (ntok == MOCK_TOKENS_MAX)
            return mock_reply(reply, reply_len, -E2BIG, "more than %d words", MOCK_TOKENS_MAX);
        tok[ntok++] = t;
    }
    if (ntok == 0)
        return mock_reply(reply, reply_len, -EINVAL, "empty command; %s", mock_help);
    if (strcasecmp(tok[0], "broker") == 0)
        return mock_exec_broker(mock, tok, ntok, reply, reply_len);
    if (strcasecmp(tok[0], "rtt") == 0)
        return mock_exec_rtt(mock, tok, ntok, reply, reply_len);
    if (strcasecmp(tok[0], "errors") == 0)
        return mock_exec_errors(mock, tok, ntok, reply, reply_len);
    if (strcasecmp(tok[0], "topic") == 0)
        return mock_exec_topic(mock, tok, ntok, reply, reply_len);
    if (strcasecmp(tok[0], "leader") == 0)
        return mock_exec_leader(mock, tok, ntok, reply, reply_len);
    if (strcasecmp(tok[0], "bootstrap") == 0 && ntok == 1)
        return mock_reply(reply, reply_len, 0, "%s", sl_kafka_mock_bootstraps(mock));
    if (strcasecmp(tok[0], "help") == 0 && ntok == 1)
        return mock_reply(reply, reply_len, 0, "%s", mock_help);
    return mock_reply(reply, reply_len, -EINVAL, "unknown command '%s'; %s", tok[0], mock_help);
}

/* ---- the embedded cluster ---- */

/* The one process-wide object of the Kafka connectors (every other piece of
 * state lives in an instance): the cluster behind `brokers: embedded`, shared
 * by all Kafka sources and sinks of the process so that they see the same
 * topics. lock guards mock and refs; it is held across create and destroy so
 * that an acquire never sees a half-built or half-destroyed cluster. */
static struct {
    pthread_mutex_t lock;
    struct sl_kafka_mock *mock; /* NULL while refs == 0 */
    unsigned refs;              /* successful acquires not yet released */
} embedded = {.lock = PTHREAD_MUTEX_INITIALIZER};

int sl_kafka_embedded_acquire(char *bootstrap, size_t bootstrap_len, char *err, size_t err_len)
{
    int rc = 0;
    pthread_mutex_lock(&embedded.lock);
    if (!embedded.mock) {
        SL_ASSERT(embedded.refs == 0);
        rc = sl_kafka_mock_create(&embedded.mock, SL_KAFKA_EMBEDDED_BROKERS, err, err_len);
        if (rc)
            goto out;
    }
    const char *list = sl_kafka_mock_bootstraps(embedded.mock);
    if (strlen(list) >= bootstrap_len) {
        mock_errf(err, err_len, "embedded broker: bootstrap list '%s' exceeds %zu bytes", list,
                  bootstrap_len);
        rc = -ENOSPC;
        if (embedded.refs == 0) {
            sl_kafka_mock_destroy(embedded.mock);
            embedded.mock = NULL;
        }
        goto out;
    }
    strcpy(bootstrap, list);
    if (embedded.refs++ == 0)
        sl_log(SL_LOG_INFO, "embedded Kafka cluster on %s (reachable while the job runs)", list);
out:
    pthread_mutex_unlock(&embedded.lock);
    return rc;
}

void sl_kafka_embedded_release(void)
{
    pthread_mutex_lock(&embedded.lock);
    SL_ASSERT(embedded.refs > 0 && embedded.mock);
    if (--embedded.refs == 0) {
        sl_kafka_mock_destroy(embedded.mock);
        embedded.mock = NULL;
    }
    pthread_mutex_unlock(&embedded.lock);
}

int sl_kafka_embedded_topic(const char *topic, int partitions, char *err, size_t err_len)
{
    int rc;
    pthread_mutex_lock(&embedded.lock);
    if (!embedded.mock) {
        mock_errf(err, err_len, "embedded broker: not running (no acquire held)");
        rc = -ENOENT;
    } else {
        rc = sl_kafka_mock_topic_create(embedded.mock, topic, partitions, 0, err, err_len);
        if (rc == -EEXIST)
            rc = 0;
    }
    pthread_mutex_unlock(&embedded.lock);
    return rc;
}
