/* kafka_source.c - the kafka source: a librdkafka KafkaConsumer in a consumer
 * group (topics or a regex) whose offsets are committed only when every event
 * before them is fully handled (written by every sink it reached).
 *
 * Message mapping (docs/kafka.md, "Kafka source"):
 *   value      raw: an unprefixed sluice.Event FlatBuffer (`flatc -b`, the kafka
 *              sink's raw format), verified where librdkafka holds it,
 *              payload included; json: one JSON object transcoded through
 *              the schema. A value that fails goes to the node's errors port
 *              with the reason and its offset.
 *   key, ts,   the envelope's own fields win; Kafka's fill what is missing:
 *   headers    the message key becomes the key when the envelope has none,
 *              the message timestamp (ms -> µs) the ts when it has none, and
 *              each Kafka header whose name the envelope does not carry is
 *              appended after the envelope's headers (at most
 *              KSRC_HEADERS_MAX; none with `headers: false`, which leaves
 *              them unparsed). Bytes are copied as they are. An event that
 *              already has all of them (what the kafka sink writes) is
 *              copied once, from librdkafka's buffer into the worker's batch
 *              in the size-prefixed form (sl_source_emit_raw); one that
 *              lacks some is rebuilt and the rebuilt one copied.
 *
 * Messages are taken from librdkafka up to KSRC_BATCH at a time
 * (rd_kafka_consume_batch_queue on the consumer queue, which also runs the
 * rebalance callback; a message of a partition revoked meanwhile finds no
 * partition here and is dropped, as librdkafka drops the outdated ones it
 * still holds). Messages taken but not handed on when the loop ends inside a
 * batch are sought back to (unread()), so a later loop of the same run reads
 * them. Assignment is eager only (range, roundrobin): a cooperative strategy
 * set through the kafka map is refused at compile (librdkafka 2.0.2 crashes
 * and fails commits with it, and its batch call skips the messages it purges
 * at an incremental rebalance; fixed in 2.1 and 2.2).
 *
 * Positions and commits: every message handed on (event or dead letter)
 * leaves a record (offset, worker, batch tag) in its partition's FIFO;
 * consecutive messages that went into the same batch share one record. A
 * record is done when sl_source_done_tag(worker) reached its tag; the
 * committable offset of a partition is the one after the last record that is
 * done with every earlier record done too. Every commit_interval the
 * partitions whose committable offset moved are committed (async); on
 * revoke, at stop, the open batches are handed on, the revoked (or all)
 * partitions' records are waited for (at most drain_timeout) and what is
 * done is committed synchronously. So a commit never covers an event that a
 * sink has not written: at-least-once; after a crash the events after the
 * last commit come again.
 *
 * Exactly-once (`exactly_once: true` on the job; kafka_txn.h): the source
 * commits no offsets itself. At each commit point (every commit_interval,
 * on revoke, at the end) it hands on its open batches, waits until every
 * record of every partition is done (the kafka sink has every event of
 * them delivered inside its open transaction), and asks the sink to commit
 * that transaction together with the done offsets (send_offsets_to_
 * transaction with this consumer's group metadata). No message is taken
 * while it waits, so a transaction holds the outputs of exactly the input
 * its offsets cover. An aborted transaction rewinds every partition to its
 * last committed offset (or to the first offset read in this session) and
 * the input is read again; a failed one ends the run (exit 1).
 *
 * Backpressure: a FIFO that reaches KSRC_PAUSE_RECORDS pauses its partition
 * (rd_kafka_pause_partitions: librdkafka stops fetching it and drops what it
 * had prefetched, to fetch again from the next offset on resume); it is
 * resumed when the FIFO is down to KSRC_RESUME_RECORDS. A message that still
 * finds its FIFO full waits for completions. sl_source_emit() itself waits
 * while the workers are behind.
 *
 * Order: one partition's messages come from this one thread in offset order,
 * and a key maps to one worker, so per-key order within a partition holds.
 *
 * Threading: open() runs on the control thread, run() and close() on the
 * source runner's thread (close after run returned); librdkafka calls the
 * rebalance, commit and error callbacks inside rd_kafka_consume_batch_queue(),
 * rd_kafka_consumer_poll() or rd_kafka_consumer_close() on that thread, so
 * the state needs no locks; stop() may run on any thread and only sets the
 * atomic stop flag. */
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/assert.h"
#include "core/hugepage_arena.h"
#include "core/log.h"
#include "fb/fb.h"
#include "graph/envelope.h"
#include "kafka_conf.h"
#include "kafka_txn.h"
#include "mock_cluster.h"
#include "topic_pattern.h"
#include "sl/connector.h"

#define KSRC_LOOKUP_MS 10000         /* assign: start offsets lookups */
#define KSRC_RECORDS 4096u           /* per partition: (offset, worker, tag) records */
#define KSRC_PAUSE_RECORDS 3840u     /* FIFO fill that pauses the partition */
#define KSRC_RESUME_RECORDS 2048u    /* ... and that resumes it */
#define KSRC_POLL_MS 50              /* longest wait in rd_kafka_consumer_poll() */
#define KSRC_PAUSED_POLL_MS 5        /* ... while some partition waits to resume */
#define KSRC_WAIT_NS 200000          /* one nap while waiting for completions */
#define KSRC_KICK_US 50000           /* fetch_kick() on empty polls: one per 50 ms */
#define KSRC_KICK_MAX_US 1000000     /* longest interval of kicks at one offset */
#define KSRC_BATCH 256u              /* messages taken from librdkafka per call */
#define KSRC_QUEUE_LOOK 256u         /* queue_watch() every this many messages */
#define KSRC_QUEUE_LOW 2048u         /* ... restarts fetchers at this queue length */
#define KSRC_HEADERS_MAX 64u         /* Kafka headers mapped into one envelope */
#define KSRC_PREFETCH_KB "8192"      /* queued.max.messages.kbytes unless set */
#define KSRC_TOPICS_MAX 64u
#define KSRC_BOOTSTRAP_BYTES 1024
#define KSRC_REASON_BYTES 768
#define KSRC_EMBEDDED_PARTITIONS 4   /* topics created on the embedded cluster */

static const struct sl_option kafka_source_options[] = {
    {"brokers", SL_OPT_STRING, NULL, true, NULL,
     "bootstrap servers \"host:port,host:port\", or \"embedded\": the in-process development "
     "cluster (librdkafka's mock; missing topics are created with 4 partitions)"},
    {"topics", SL_OPT_LIST, NULL, false, NULL,
     "topics to consume (give this or pattern)"},
    {"pattern", SL_OPT_STRING, NULL, false, NULL,
     "regular expression of the topics to consume, POSIX extended as librdkafka subscribes "
     "(a leading ^ is added when missing; checked at validate; its intervals {n,m} may "
     "repeat at most 1000 times in all); topics created later join at the next metadata "
     "refresh"},
    {"group", SL_OPT_STRING, NULL, true, NULL,
     "consumer group id: processes of one job with the same group share the partitions"},
    {"format", SL_OPT_ENUM, "raw", false, "raw|json",
     "message value: raw: a sluice.Event as an unprefixed FlatBuffer (flatc -b, the kafka "
     "sink's raw); json: one JSON object through the schema"},
    {"assignment", SL_OPT_ENUM, "range", false, "range|roundrobin",
     "partition assignment strategy (eager); cooperative-sticky is not offered: librdkafka "
     "2.0.2 has known crashes and failed commits with it on close and rebalance (fixed in 2.2)"},
    {"start", SL_OPT_ENUM, "earliest", false, "earliest|latest",
     "where a partition without a committed offset starts (auto.offset.reset)"},
    {"commit_interval", SL_OPT_DURATION, "1s", false, NULL,
     "how often the offsets of fully handled events are committed"},
    {"drain_timeout", SL_OPT_DURATION, "10s", false, NULL,
     "on revoke and at stop: how long to wait for in-flight events before committing what "
     "is done"},
    {"count", SL_OPT_INT, "0", false, NULL,
     "end the stream after this many messages (a batch run); 0: no limit"},
    {"until_end", SL_OPT_BOOL, "false", false, NULL,
     "end the stream once every assigned partition has been read to its end (a batch run); "
     "otherwise consume until stopped"},
    {"headers", SL_OPT_BOOL, "true", false, NULL,
     "map each message's Kafka headers into the envelope; false leaves them unread, saving "
     "librdkafka's per-message header parse (docs/kafka.md, Benchmarks): for raw values that carry their headers in the envelope "
     "already (what the kafka sink writes) or jobs that need none"},
    {"max_message", SL_OPT_SIZE, "1MiB", false, NULL,
     "largest value taken; larger ones go to the errors port"},
    {"kafka", SL_OPT_MAP, NULL, false, NULL,
     "librdkafka consumer settings passed through verbatim (security.protocol, sasl.*, "
     "ssl.*, session.timeout.ms, ...); applied last, so they win over the settings above and "
     "over sluice's own default queued.max.messages.kbytes: 8192 (the prefetch bound)"},
    {NULL, 0, NULL, false, NULL, NULL},
};

/* What compile() makes; read-only afterwards. */
struct ksrc_plan {
    bool embedded;                     /* brokers: embedded */
    bool json;                         /* format: json */
    char *topics[KSRC_TOPICS_MAX];     /* owned: subscription (one regex with pattern) */
    uint32_t topic_count;
    bool pattern;
    uint64_t commit_interval_us;
    uint64_t drain_timeout_us;
    uint64_t message_bytes_max;
    bool until_end;                    /* stop at the end of every assigned partition */
    bool map_headers;                  /* headers: Kafka headers fill the envelope's */
    uint64_t count;                    /* stop after this many messages; 0: no limit */
    struct sl_kafka_settings settings; /* librdkafka settings, applied in order */
};

/* One message or a run of messages that went into the same batch. */
struct ksrc_record {
    int64_t offset;                    /* the last message's offset */
    uint64_t tag;                      /* its batch's tag */
    uint32_t worker;                   /* that batch's worker */
};

/* An assigned partition; source thread only. */
struct ksrc_partition {
    char *topic;                       /* owned */
    int32_t partition;
    struct ksrc_record *records;       /* FIFO of KSRC_RECORDS, oldest at head */
    uint32_t head, count;
    int64_t done_next;                 /* offset after the last done message; -1 none */
    int64_t committed;                 /* last offset committed; -1 none */
    int64_t first_offset;              /* first offset read since assigned; -1 none */
    int64_t next_offset;               /* after the last offset read; -1 none */
    int64_t kicked_offset;             /* next_offset at its last fetch_kick(); -1 none */
    uint64_t kick_after_us;            /* ... no new kick there before this (now_us) */
    uint64_t kick_delay_us;            /* ... which doubles per kick at one offset */
    uint64_t uncommitted;              /* exactly_once: messages read since the last commit */
    bool paused;
    bool at_end;                       /* until_end: read to its end, nothing newer yet */
};

/* One source instance; see the file comment for threads. */
struct kafka_source {
    const struct ksrc_plan *plan;
    const char *node_name;
    uint32_t event_bytes_max;          /* largest event the runtime's batches take */
    rd_kafka_t *rk;
    bool embedded_held;                /* holds a reference on the embedded cluster */
    _Atomic bool stop;
    struct sl_source_emit *emit;       /* while run() runs; NULL otherwise */
    struct ksrc_partition *parts;      /* assigned partitions */
    uint32_t part_count, part_cap, last_hit;
    uint32_t paused_count;
    bool unflushed;                    /* emitted since the last sl_source_flush() */
    bool recommit;                     /* an async commit failed: commit everything again */
    bool fatal;                        /* librdkafka reported a fatal error */
    int64_t reset_offset;              /* auto.offset.reset as a logical offset */
    rd_kafka_queue_t *queue;           /* the consumer queue (for its length) */
    uint64_t queued_min;               /* queued.min.messages */
    uint64_t queued_max_bytes;         /* queued.max.messages.kbytes, in bytes */
    bool queue_was_full;               /* seen near the fill that stops fetching */
    uint64_t value_bytes;              /* of the messages consumed */
    struct sl_envelope env;
    struct sl_fb_verify_opts verify_opts;
    struct sl_fb_json json;            /* format json */
    struct sl_fbb builder;             /* envelopes completed with Kafka's key/ts/headers */
    char reason[KSRC_REASON_BYTES];
    uint64_t consumed, rejected;
    uint64_t commits, commit_failures; /* commit requests made; those that failed */
    struct sl_txn *txn;                /* exactly_once: the sink handshake; NULL otherwise */
    uint64_t txn_aborts;               /* exactly_once: transactions aborted (rewound) */
    uint64_t kicked_us;                /* last fetch_kick() that looked (now_us) */
    uint64_t kicks;                    /* partitions whose fetcher was restarted */
    struct sl_log_limit log_limit;
};

static uint64_t now_us(void) { return sl_now_ns() / 1000; }

static bool stopping(struct kafka_source *src)
{
    /* acquire: pairs with the release store in kafka_source_stop() */
    return atomic_load_explicit(&src->stop, memory_order_acquire);
}

static void nap(void)
{
    struct timespec ts = {0, KSRC_WAIT_NS};
    nanosleep(&ts, NULL);
}

/* ---- compile ---- */

static void kafka_source_plan_free(void *plan)
{
    struct ksrc_plan *kplan = plan;
    if (!kplan)
        return;
    for (uint32_t i = 0; i < kplan->topic_count; i++)
        free(kplan->topics[i]);
    sl_kafka_settings_free(&kplan->settings);
    free(kplan);
}

/* Our settings, then the kafka map, each checked by librdkafka itself so that
 * a bad name or value is reported at its place. Returns 0 or -EINVAL. */
static int plan_conf(struct sl_op_compile *c, struct ksrc_plan *plan, const char *brokers)
{
    if (!plan->embedded)
        sl_kafka_settings_add(&plan->settings, "bootstrap.servers", brokers);
    sl_kafka_settings_add(&plan->settings, "group.id", sl_op_string(c, "group"));
    sl_kafka_settings_add(&plan->settings, "enable.auto.commit", "false");
    sl_kafka_settings_add(&plan->settings, "enable.auto.offset.store", "false");
    sl_kafka_settings_add(&plan->settings, "partition.assignment.strategy",
                          sl_op_string(c, "assignment"));
    sl_kafka_settings_add(&plan->settings, "auto.offset.reset", sl_op_string(c, "start"));
    /* librdkafka prefetches up to 64 MiB into the consumer queue by default;
     * KSRC_PREFETCH_KB bounds it lower (docs/kafka.md, "Prefetch") */
    sl_kafka_settings_add(&plan->settings, "queued.max.messages.kbytes", KSRC_PREFETCH_KB);
    if (sl_op_bool(c, "until_end"))
        sl_kafka_settings_add(&plan->settings, "enable.partition.eof", "true");
    int rc = sl_kafka_settings_check(&plan->settings, c);
    for (uint32_t i = 0; i < sl_op_map_count(c, "kafka"); i++) {
        const char *value = sl_op_map_value(c, "kafka", i);
        if (strcmp(sl_op_map_name(c, "kafka", i), "partition.assignment.strategy") == 0 &&
            value && strstr(value, "cooperative")) {
            sl_op_error(c, "kafka", "partition.assignment.strategy", "use assignment: range or "
                        "roundrobin", "cooperative-sticky is not offered: librdkafka 2.0.2 "
                        "crashes and fails commits with it on close and rebalance");
            rc = -EINVAL;
        }
    }
    return rc;
}

/* topics / pattern. Returns 0 or -EINVAL (reported). */
static int plan_topics(struct sl_op_compile *c, struct ksrc_plan *plan)
{
    const char *pattern = sl_op_string(c, "pattern");
    uint32_t n = sl_op_list_count(c, "topics");
    if ((n > 0) == (pattern != NULL)) {
        sl_op_error(c, pattern ? "pattern" : NULL, NULL,
                    "give `topics: [a, b]` or `pattern: \"^orders\\\\..*\"`",
                    pattern ? "topics and pattern are both set" : "no topics or pattern");
        return -EINVAL;
    }
    if (pattern) {
        if (pattern[0] == '\0' || (pattern[0] == '^' && pattern[1] == '\0')) {
            sl_op_error(c, "pattern", NULL, NULL, "empty pattern");
            return -EINVAL;
        }
        if (pattern[0] == '^')
            plan->topics[0] = strdup(pattern);
        else
            SL_ASSERT(asprintf(&plan->topics[0], "^%s", pattern) >= 0);
        SL_ASSERT(plan->topics[0]);
        plan->topic_count = 1;
        plan->pattern = true;
        char why[160];
        if (topic_pattern_check(plan->topics[0], why, sizeof(why))) {
            sl_op_error(c, "pattern", NULL,
                        "a POSIX extended regular expression, as librdkafka takes",
                        "bad regular expression %s: %s", plan->topics[0], why);
            return -EINVAL;
        }
        return 0;
    }
    if (n > KSRC_TOPICS_MAX) {
        sl_op_error(c, "topics", NULL, "use pattern", "more than %u topics", KSRC_TOPICS_MAX);
        return -EINVAL;
    }
    for (uint32_t i = 0; i < n; i++) {
        const char *topic = sl_op_list_item(c, "topics", i);
        if (!topic || topic[0] == '\0' || topic[0] == '^' || strlen(topic) > 249) {
            sl_op_error(c, "topics", NULL, "a regex goes in `pattern`",
                        "topic %u: a topic name has 1 to 249 characters and no leading ^", i + 1);
            return -EINVAL;
        }
        plan->topics[plan->topic_count] = strdup(topic);
        SL_ASSERT(plan->topics[plan->topic_count]);
        plan->topic_count++;
    }
    return 0;
}

static int kafka_source_compile(struct sl_op_compile *c, void **plan)
{
    struct ksrc_plan *kplan = calloc(1, sizeof(*kplan));
    SL_ASSERT(kplan);
    const char *brokers = sl_op_string(c, "brokers");
    const char *group = sl_op_string(c, "group");
    int rc = -EINVAL;
    if (!brokers || brokers[0] == '\0') {
        sl_op_error(c, "brokers", NULL, "e.g. broker1:9092,broker2:9092 or embedded",
                    "no brokers");
        goto fail;
    }
    if (!group || group[0] == '\0') {
        sl_op_error(c, "group", NULL, NULL, "empty consumer group id");
        goto fail;
    }
    rc = 0;
    kplan->embedded = strcmp(brokers, "embedded") == 0;
    kplan->json = strcmp(sl_op_string(c, "format"), "json") == 0;
    kplan->commit_interval_us = (uint64_t)sl_op_int(c, "commit_interval");
    kplan->drain_timeout_us = (uint64_t)sl_op_int(c, "drain_timeout");
    kplan->message_bytes_max = (uint64_t)sl_op_int(c, "max_message");
    kplan->until_end = sl_op_bool(c, "until_end");
    kplan->map_headers = sl_op_bool(c, "headers");
    long long count = sl_op_int(c, "count");
    if (count < 0) {
        sl_op_error(c, "count", NULL, NULL, "must not be negative");
        rc = -EINVAL;
    }
    kplan->count = count > 0 ? (uint64_t)count : 0;
    if (kplan->message_bytes_max < 8 || kplan->message_bytes_max > (3u << 20)) {
        sl_op_error(c, "max_message", NULL, "the batch arena holds 4 MiB",
                    "must be between 8 bytes and 3MiB");
        rc = -EINVAL;
    }
    if (kplan->commit_interval_us < 1000) {
        sl_op_error(c, "commit_interval", NULL, NULL, "must be at least 1ms");
        rc = -EINVAL;
    }
    /* each step reports its own errors; run all so that one pass shows them all */
    rc = plan_topics(c, kplan) ? -EINVAL : rc;
    rc = plan_conf(c, kplan, brokers) ? -EINVAL : rc;
    if (rc)
        goto fail;
    *plan = kplan;
    return 0;
fail:
    kafka_source_plan_free(kplan);
    return -EINVAL;
}

/* ---- partitions and their record FIFOs ---- */

static struct ksrc_partition *part_find(struct kafka_source *src, const char *topic,
                                        int32_t partition)
{
    if (src->last_hit < src->part_count) {
        struct ksrc_partition *part = &src->parts[src->last_hit];
        if (part->partition == partition && strcmp(part->topic, topic) == 0)
            return part;
    }
    for (uint32_t i = 0; i < src->part_count; i++) {
        struct ksrc_partition *part = &src->parts[i];
        if (part->partition == partition && strcmp(part->topic, topic) == 0) {
            src->last_hit = i;
            return part;
        }
    }
    return NULL;
}

static void part_add(struct kafka_source *src, const char *topic, int32_t partition)
{
    if (part_find(src, topic, partition))
        return;
    if (src->part_count == src->part_cap) {
        src->part_cap = src->part_cap ? 2 * src->part_cap : 16;
        src->parts = realloc(src->parts, src->part_cap * sizeof(*src->parts));
        SL_ASSERT(src->parts);
    }
    struct ksrc_partition *part = &src->parts[src->part_count++];
    *part = (struct ksrc_partition){.topic = strdup(topic), .partition = partition,
                                    .records = malloc(KSRC_RECORDS * sizeof(struct ksrc_record)),
                                    .done_next = -1, .committed = -1, .first_offset = -1,
                                    .next_offset = -1, .kicked_offset = -1};
    SL_ASSERT(part->topic && part->records);
}

static void part_pause(struct kafka_source *src, struct ksrc_partition *part, bool pause)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, part->topic, part->partition);
    rd_kafka_resp_err_t err = pause ? rd_kafka_pause_partitions(src->rk, list)
                                    : rd_kafka_resume_partitions(src->rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (err) {
        sl_log_limited(&src->log_limit, SL_LOG_WARN, "%s: cannot %s %s[%" PRId32 "]: %s",
                       src->node_name, pause ? "pause" : "resume", part->topic, part->partition,
                       rd_kafka_err2str(err));
        return;
    }
    part->paused = pause;
    src->paused_count += pause ? 1 : (uint32_t)-1;
}

static void part_remove(struct kafka_source *src, const char *topic, int32_t partition)
{
    struct ksrc_partition *part = part_find(src, topic, partition);
    if (!part)
        return;
    /* librdkafka keeps an application's pause across unassign and assign: a
     * partition given back paused would never be fetched again */
    if (part->paused)
        part_pause(src, part, false);
    if (part->paused)
        src->paused_count--; /* the resume failed: forgotten with the partition */
    free(part->topic);
    free(part->records);
    *part = src->parts[--src->part_count];
    src->last_hit = 0;
}

/* Notes that offset went into (worker, tag); merges with the newest record
 * when that is the same batch. The caller made room. */
static void part_note(struct ksrc_partition *part, int64_t offset, uint32_t worker, uint64_t tag)
{
    if (part->count > 0) {
        struct ksrc_record *last = &part->records[(part->head + part->count - 1) % KSRC_RECORDS];
        if (last->worker == worker && last->tag == tag) {
            last->offset = offset;
            return;
        }
    }
    SL_ASSERT(part->count < KSRC_RECORDS);
    part->records[(part->head + part->count) % KSRC_RECORDS] =
        (struct ksrc_record){.offset = offset, .tag = tag, .worker = worker};
    part->count++;
}

/* Pops the records that are done, oldest first, stopping at the first one
 * that is not. O(records popped). */
static void part_advance(struct kafka_source *src, struct ksrc_partition *part)
{
    while (part->count > 0) {
        struct ksrc_record *rec = &part->records[part->head];
        if (rec->tag > sl_source_done_tag(src->emit, rec->worker))
            break;
        part->done_next = rec->offset + 1;
        part->head = (part->head + 1) % KSRC_RECORDS;
        part->count--;
    }
}

/* Advances every partition's FIFO and resumes those with room again. */
static void parts_advance(struct kafka_source *src)
{
    for (uint32_t i = 0; i < src->part_count; i++) {
        struct ksrc_partition *part = &src->parts[i];
        part_advance(src, part);
        if (part->paused && part->count <= KSRC_RESUME_RECORDS)
            part_pause(src, part, false);
    }
}

/* ---- commits ---- */

/* Commits the done offsets of the partitions in `only` (all when NULL) that
 * moved since their last commit (every one when force). Returns the number
 * of partitions in the commit. */
static int commit_done(struct kafka_source *src, const rd_kafka_topic_partition_list_t *only,
                       bool async, bool force)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(16);
    for (uint32_t i = 0; i < src->part_count; i++) {
        struct ksrc_partition *part = &src->parts[i];
        if (only && !rd_kafka_topic_partition_list_find(only, part->topic, part->partition))
            continue;
        if (part->done_next < 0 || (!force && part->done_next <= part->committed))
            continue;
        rd_kafka_topic_partition_list_add(list, part->topic, part->partition)->offset =
            part->done_next;
        part->committed = part->done_next;
    }
    int n = list->cnt;
    if (n > 0) {
        src->commits++;
        rd_kafka_resp_err_t err = rd_kafka_commit(src->rk, list, async);
        if (!async && err) {
            src->commit_failures++;
            src->recommit = true; /* part->committed ran ahead: commit everything again */
            sl_log(SL_LOG_WARN, "%s: offset commit failed: %s", src->node_name,
                   rd_kafka_err2str(err));
        }
    }
    rd_kafka_topic_partition_list_destroy(list);
    return n;
}

static void on_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    (void)rk;
    (void)offsets;
    struct kafka_source *src = opaque;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET)
        return;
    src->commit_failures++;
    src->recommit = true;
    sl_log_limited(&src->log_limit, SL_LOG_WARN, "%s: offset commit failed: %s (retried)",
                   src->node_name, rd_kafka_err2str(err));
}

/* Hands on the open batches and waits, at most drain_timeout, until the
 * records of the partitions in `only` (all when NULL) are done. Returns the
 * records still not done (logged). */
static uint64_t drain(struct kafka_source *src, const rd_kafka_topic_partition_list_t *only)
{
    sl_source_flush(src->emit);
    src->unflushed = false;
    uint64_t deadline = now_us() + src->plan->drain_timeout_us;
    uint64_t left;
    do {
        left = 0;
        for (uint32_t i = 0; i < src->part_count; i++) {
            struct ksrc_partition *part = &src->parts[i];
            if (only && !rd_kafka_topic_partition_list_find(only, part->topic, part->partition))
                continue;
            part_advance(src, part);
            left += part->count;
        }
        if (left)
            nap();
    } while (left && now_us() < deadline);
    if (left)
        sl_log(SL_LOG_WARN, "%s: %" PRIu64 " records still in flight after drain_timeout; "
               "their events will be read again", src->node_name, left);
    return left;
}

/* Hands on the open batches, waits for the records of the partitions in
 * `only` (all when NULL) and commits what is done synchronously. */
static void drain_and_commit(struct kafka_source *src, const rd_kafka_topic_partition_list_t *only)
{
    if (!src->emit)
        return; /* run() has ended; it committed at its end */
    drain(src, only);
    commit_done(src, only, false, src->recommit);
}

/* ---- exactly_once ---- */

/* The done offsets that moved since their last commit, or NULL for none. */
static rd_kafka_topic_partition_list_t *txn_offsets(struct kafka_source *src)
{
    rd_kafka_topic_partition_list_t *list = NULL;
    for (uint32_t i = 0; i < src->part_count; i++) {
        struct ksrc_partition *part = &src->parts[i];
        if (part->done_next < 0 || part->done_next <= part->committed)
            continue;
        if (!list)
            list = rd_kafka_topic_partition_list_new((int)src->part_count);
        rd_kafka_topic_partition_list_add(list, part->topic, part->partition)->offset =
            part->done_next;
    }
    return list;
}

/* After an abort: the input read since the last commit is read again, so it
 * is not counted as consumed (a batch run's count holds distinct messages). */
static void txn_uncount(struct kafka_source *src)
{
    for (uint32_t i = 0; i < src->part_count; i++) {
        src->consumed -= src->parts[i].uncommitted;
        src->parts[i].uncommitted = 0;
    }
}

/* After an abort: every partition back to its last committed offset (or
 * the first one read), so that the aborted input is read again. */
static void txn_rewind(struct kafka_source *src)
{
    txn_uncount(src);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(16);
    for (uint32_t i = 0; i < src->part_count; i++) {
        struct ksrc_partition *part = &src->parts[i];
        int64_t to = part->committed >= 0 ? part->committed : part->first_offset;
        part->at_end = false;
        if (to < 0 || part->done_next <= to)
            continue;
        part->done_next = part->committed;
        part->next_offset = to;
        rd_kafka_topic_partition_list_add(list, part->topic, part->partition)->offset = to;
    }
    if (list->cnt) {
        rd_kafka_error_t *error = rd_kafka_seek_partitions(src->rk, list, 10000);
        for (int i = 0; !error && i < list->cnt; i++)
            if (list->elems[i].err)
                error = rd_kafka_error_new(list->elems[i].err, "%s[%" PRId32 "]",
                                           list->elems[i].topic, list->elems[i].partition);
        if (error) {
            /* the input cannot be read again: ending the run keeps the
             * offsets where they are, so the next run reads it */
            sl_log(SL_LOG_ERROR, "%s: rewind after an aborted transaction: %s", src->node_name,
                   rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
            src->fatal = true;
        }
    }
    rd_kafka_topic_partition_list_destroy(list);
}

/* exactly_once: whether a message was read since the last commit (the open
 * transaction holds its outputs, or will). */
static bool txn_open_input(const struct kafka_source *src)
{
    for (uint32_t i = 0; i < src->part_count; i++)
        if (src->parts[i].uncommitted)
            return true;
    return false;
}

/* A commit point: drains, then asks the sink to commit its transaction with
 * the done offsets. Returns SL_TXN_COMMITTED (also when there was nothing
 * to commit, or when the drain timed out mid-run: at the next point),
 * SL_TXN_ABORTED (rewound, unless `revoking`: the partitions go) or
 * SL_TXN_FAILED (src->fatal set). A drain that timed out at the end
 * (`final`) fails without src->fatal: nothing is committed, the sink aborts
 * the open transaction at close and the next run reads that input; on
 * revoke it sets src->fatal: the open transaction holds outputs of
 * partitions about to go, which must not commit with a later one. */
static enum sl_txn_state txn_commit(struct kafka_source *src, bool final, bool revoking)
{
    if (drain(src, NULL)) {
        if (revoking)
            src->fatal = true;
        return final || revoking ? SL_TXN_FAILED : SL_TXN_COMMITTED;
    }
    rd_kafka_topic_partition_list_t *offsets = txn_offsets(src);
    if (!offsets)
        return SL_TXN_COMMITTED;
    rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata(src->rk);
    /* the sink answers every request: its calls are bounded by its timeouts */
    enum sl_txn_state state = sl_kafka_txn_request(src->txn, offsets, cgmd);
    rd_kafka_consumer_group_metadata_destroy(cgmd);
    src->commits++;
    if (state == SL_TXN_COMMITTED) {
        for (int i = 0; i < offsets->cnt; i++) {
            struct ksrc_partition *part =
                part_find(src, offsets->elems[i].topic, offsets->elems[i].partition);
            part->committed = offsets->elems[i].offset;
        }
        for (uint32_t i = 0; i < src->part_count; i++)
            src->parts[i].uncommitted = 0;
    } else if (state == SL_TXN_ABORTED) {
        src->txn_aborts++;
        sl_log(SL_LOG_WARN, "%s: transaction aborted (%s); input read again from the last "
               "commit", src->node_name, src->txn->reason);
        if (!revoking) {
            txn_rewind(src);
        } else {
            txn_uncount(src); /* the next owner reads the aborted input again */
        }
    } else {
        src->commit_failures++;
        sl_log(SL_LOG_ERROR, "%s: transaction failed: %s", src->node_name,
               src->txn->fail_reason);
        src->fatal = true;
    }
    rd_kafka_topic_partition_list_destroy(offsets);
    return state;
}

/* ---- rebalance and errors ---- */

static void log_partitions(struct kafka_source *src, const char *what,
                           const rd_kafka_topic_partition_list_t *list)
{
    char text[512];
    size_t used = 0;
    text[0] = '\0';
    for (int i = 0; i < list->cnt && used < sizeof(text) - 1; i++) {
        int n = snprintf(text + used, sizeof(text) - used, "%s%s[%" PRId32 "]", i ? " " : "",
                         list->elems[i].topic, list->elems[i].partition);
        used += n > 0 ? (size_t)n : 0;
    }
    sl_log(SL_LOG_INFO, "%s: %s %d partitions: %s", src->node_name, what, list->cnt, text);
}

/* Gives each assigned partition its start as a concrete offset: the
 * group's committed offset, or where the group has none, the offset
 * auto.offset.reset names (earliest / latest) looked up with ListOffsets.
 * librdkafka 2.0.2 left to itself finds "no committed offset" and then waits
 * a fixed 100 ms before it asks for the reset offset (rd_kafka_offset_reset's
 * backoff), and a logical start offset given here waits 500 ms when the
 * partition's leader is not joined yet; these two lookups cost what its own
 * would. A partition whose lookup failed keeps INVALID: librdkafka's own
 * path, with its retries. */
static void assign_offsets(struct kafka_source *src, rd_kafka_topic_partition_list_t *partitions)
{
    if (src->reset_offset == RD_KAFKA_OFFSET_INVALID)
        return; /* auto.offset.reset=error: librdkafka reports it */
    rd_kafka_topic_partition_list_t *committed = rd_kafka_topic_partition_list_copy(partitions);
    rd_kafka_topic_partition_list_t *fresh = rd_kafka_topic_partition_list_new(partitions->cnt);
    rd_kafka_resp_err_t err = rd_kafka_committed(src->rk, committed, KSRC_LOOKUP_MS);
    for (int i = 0; !err && i < committed->cnt; i++) {
        const rd_kafka_topic_partition_t *c = &committed->elems[i];
        if (c->err == RD_KAFKA_RESP_ERR_NO_ERROR && c->offset >= 0)
            partitions->elems[i].offset = c->offset;
        else if (c->err == RD_KAFKA_RESP_ERR_NO_ERROR)
            /* ListOffsets' timestamps -2 and -1 ask for the earliest and latest */
            rd_kafka_topic_partition_list_add(fresh, c->topic, c->partition)->offset =
                src->reset_offset;
    }
    if (!err && fresh->cnt > 0)
        err = rd_kafka_offsets_for_times(src->rk, fresh, KSRC_LOOKUP_MS);
    for (int i = 0; !err && i < fresh->cnt; i++) {
        const rd_kafka_topic_partition_t *f = &fresh->elems[i];
        if (f->err == RD_KAFKA_RESP_ERR_NO_ERROR && f->offset >= 0)
            rd_kafka_topic_partition_list_find(partitions, f->topic, f->partition)->offset =
                f->offset;
    }
    if (err)
        sl_log(SL_LOG_WARN, "%s: start offsets: %s (librdkafka looks them up)", src->node_name,
               rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(fresh);
    rd_kafka_topic_partition_list_destroy(committed);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *partitions, void *opaque)
{
    struct kafka_source *src = opaque;
    rd_kafka_resp_err_t rc;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        log_partitions(src, "assigned", partitions);
        assign_offsets(src, partitions);
        for (int i = 0; i < partitions->cnt; i++)
            part_add(src, partitions->elems[i].topic, partitions->elems[i].partition);
        rc = rd_kafka_assign(rk, partitions);
    } else {
        /* revoked (or lost): hand over what is done before giving them up */
        log_partitions(src, "revoked", partitions);
        bool lost = err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS || rd_kafka_assignment_lost(rk);
        if (src->txn && src->emit && lost && txn_open_input(src)) {
            /* the open transaction holds outputs of input that the next
             * owner reads again: it must never commit (the sink aborts it
             * at close); this run ends */
            sl_log(SL_LOG_ERROR, "%s: partitions lost (session timed out?) with a transaction "
                   "open: ending the run, the next one reads that input again", src->node_name);
            src->fatal = true;
        } else if (!lost) {
            if (src->txn && src->emit)
                txn_commit(src, false, true); /* a transaction spans every partition */
            else
                drain_and_commit(src, partitions);
        }
        for (int i = 0; i < partitions->cnt; i++)
            part_remove(src, partitions->elems[i].topic, partitions->elems[i].partition);
        rc = rd_kafka_assign(rk, NULL);
    }
    if (rc)
        sl_log(SL_LOG_WARN, "%s: rebalance: %s", src->node_name, rd_kafka_err2str(rc));
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct kafka_source *src = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[256];
        rd_kafka_fatal_error(rk, why, sizeof(why));
        sl_log(SL_LOG_ERROR, "%s: fatal consumer error: %s", src->node_name, why);
        src->fatal = true;
        return;
    }
    sl_log_limited(&src->log_limit, SL_LOG_WARN, "%s: %s: %s", src->node_name,
                   rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

/* ---- messages ---- */

/* Whether an event of len bytes (size-prefixed) is more than a batch of the
 * runtime takes; then the reason says so. */
static bool too_big(struct kafka_source *src, size_t len)
{
    if (len <= src->event_bytes_max)
        return false;
    sl_source_too_big_reason(src->reason, sizeof(src->reason), len, src->event_bytes_max);
    return true;
}

/* The message value as a verified event, or NULL with src->reason: raw, the
 * value itself, an unprefixed buffer verified where it lies (*raw true);
 * json, a size-prefixed buffer transcoded through the schema. */
static const uint8_t *decode_value(struct kafka_source *src, const rd_kafka_message_t *msg,
                                   size_t *len, bool *raw)
{
    char err[512];
    *raw = !src->plan->json;
    if (!msg->payload) {
        snprintf(src->reason, sizeof(src->reason), "null value (tombstone)");
        return NULL;
    }
    if (msg->len > src->plan->message_bytes_max) {
        snprintf(src->reason, sizeof(src->reason), "value of %zu bytes exceeds max_message (%" PRIu64 ")",
                 msg->len, src->plan->message_bytes_max);
        return NULL;
    }
    if (src->plan->json) {
        const uint8_t *out;
        if (sl_fb_json_to_fb(&src->json, src->env.schemas->envelope, msg->payload, msg->len,
                             true, &out, len, err, sizeof(err))) {
            snprintf(src->reason, sizeof(src->reason), "json: %s", err);
            return NULL;
        }
        return too_big(src, *len) ? NULL : out;
    }
    if (msg->len < 8) {
        snprintf(src->reason, sizeof(src->reason), "value of %zu bytes is no FlatBuffer",
                 msg->len);
        return NULL;
    }
    if (too_big(src, msg->len + 8)) /* + 8: the size-prefixed form in a batch */
        return NULL;
    /* alignment is checked relative to the buffer's start and every read goes
     * through memcpy, so the value may lie at any address */
    if (sl_fb_verify(msg->payload, msg->len, false, src->env.schemas->envelope,
                     &src->verify_opts, err, sizeof(err))) {
        snprintf(src->reason, sizeof(src->reason), "verify: %s", err);
        return NULL;
    }
    *len = msg->len;
    return msg->payload;
}

static bool envelope_has_header(const struct sl_envelope *env, const struct sl_event *ev,
                                const char *name)
{
    const uint8_t *p = sl_fb_field_ptr(ev->envelope, env->headers);
    if (!p)
        return false;
    const uint8_t *vec = sl_fb_deref(p);
    size_t name_len = strlen(name);
    for (uint32_t i = 0; i < sl_fb_vec_len(vec); i++) {
        struct sl_event header = {.envelope = sl_fb_deref(sl_fb_vec_data(vec) + 4 * i)};
        uint32_t len;
        const char *key = sl_envelope_string(&header, env->header_key, &len);
        if (key && len == name_len && memcmp(key, name, len) == 0)
            return true;
    }
    return false;
}

/* Fills what the envelope lacks from the message: key, ts, headers (see
 * the file comment). Returns frame itself (unprefixed when *raw) when
 * nothing is missing, else the rebuilt size-prefixed event in src->builder
 * (*raw false). */
static const uint8_t *map_message(struct kafka_source *src, const rd_kafka_message_t *msg,
                                  const uint8_t *frame, size_t *len, bool *raw)
{
    const char *keys[KSRC_HEADERS_MAX], *values[KSRC_HEADERS_MAX];
    uint32_t key_lens[KSRC_HEADERS_MAX], value_lens[KSRC_HEADERS_MAX];
    struct sl_event ev = {.envelope = sl_fb_root(*raw ? frame : frame + 4)};
    struct sl_envelope_change change = {.header_keys = keys, .header_values = values,
                                        .header_key_lens = key_lens,
                                        .header_value_lens = value_lens};
    if (msg->key && !sl_fb_field_ptr(ev.envelope, src->env.key)) {
        change.key = msg->key;
        change.key_len = (uint32_t)msg->key_len;
    }
    /* a producer sets any CreateTime: one beyond int64 µs is not mapped */
    int64_t ts_ms = rd_kafka_message_timestamp(msg, NULL), ts_us = 0;
    if (ts_ms >= 0 && ts_ms <= INT64_MAX / 1000 && !sl_fb_field_ptr(ev.envelope, src->env.ts)) {
        ts_us = ts_ms * 1000;
        change.ts = &ts_us;
    }
    rd_kafka_headers_t *headers;
    if (src->plan->map_headers &&
        rd_kafka_message_headers(msg, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char *name;
        const void *value;
        size_t size;
        for (size_t i = 0; change.header_count < KSRC_HEADERS_MAX &&
                           rd_kafka_header_get_all(headers, i, &name, &value, &size) == 0;
             i++) {
            if (envelope_has_header(&src->env, &ev, name))
                continue;
            keys[change.header_count] = name;
            key_lens[change.header_count] = (uint32_t)strlen(name);
            values[change.header_count] = value;
            value_lens[change.header_count] = (uint32_t)size;
            change.header_count++;
        }
    }
    if (!change.key && !change.ts && change.header_count == 0)
        return frame;
    *raw = false;
    return sl_envelope_copy(&src->env, &src->builder, &ev, &change, len);
}

/* Makes room in part's FIFO: hands on the open batches and waits for the
 * workers. Returns false when the source is stopped meanwhile. */
static bool part_room(struct kafka_source *src, struct ksrc_partition *part)
{
    if (part->count < KSRC_RECORDS)
        return true;
    sl_source_flush(src->emit);
    src->unflushed = false;
    while (part->count == KSRC_RECORDS) {
        if (stopping(src))
            return false;
        nap();
        part_advance(src, part);
    }
    return true;
}

/* until_end: whether every assigned partition is at its end. */
static bool all_at_end(const struct kafka_source *src)
{
    if (src->part_count == 0)
        return false; /* nothing assigned yet */
    for (uint32_t i = 0; i < src->part_count; i++)
        if (!src->parts[i].at_end)
            return false;
    return true;
}

static void consume_error(struct kafka_source *src, const rd_kafka_message_t *msg)
{
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        struct ksrc_partition *part =
            msg->rkt ? part_find(src, rd_kafka_topic_name(msg->rkt), msg->partition) : NULL;
        if (part)
            part->at_end = true;
        return;
    }
    sl_log_limited(&src->log_limit, SL_LOG_WARN, "%s: consume: %s%s%s", src->node_name,
                   msg->rkt ? rd_kafka_topic_name(msg->rkt) : "", msg->rkt ? ": " : "",
                   rd_kafka_message_errstr(msg));
}

/* One message: decoded, completed and handed on, or sent to the errors port;
 * either way its (offset, worker, tag) is recorded. Returns false when the
 * source stopped before it could be handed on (it is read again later). */
static bool consume(struct kafka_source *src, const rd_kafka_message_t *msg)
{
    if (msg->err) {
        consume_error(src, msg);
        return true;
    }
    const char *topic = rd_kafka_topic_name(msg->rkt);
    struct ksrc_partition *part = part_find(src, topic, msg->partition);
    if (!part)
        return true; /* prefetched before its partition was revoked */
    part->at_end = false;
    if (!part_room(src, part))
        return false;
    if (part->first_offset < 0)
        part->first_offset = msg->offset;
    part->uncommitted++;
    size_t len;
    uint32_t worker;
    uint64_t tag;
    bool raw;
    const uint8_t *frame = decode_value(src, msg, &len, &raw);
    if (frame) {
        frame = map_message(src, msg, frame, &len, &raw);
        if (raw)
            sl_source_emit_raw(src->emit, frame, (uint32_t)len, (uint64_t)msg->offset, &worker,
                               &tag);
        else
            sl_source_emit(src->emit, frame, (uint32_t)len, (uint64_t)msg->offset, &worker,
                           &tag);
    } else {
        char reason[KSRC_REASON_BYTES + 300];
        snprintf(reason, sizeof(reason), "%s[%" PRId32 "] offset %" PRId64 ": %s", topic,
                 msg->partition, msg->offset, src->reason);
        sl_source_emit_error(src->emit, reason, (uint64_t)msg->offset, &worker, &tag);
        src->rejected++;
    }
    src->consumed++;
    src->value_bytes += msg->len;
    src->unflushed = true;
    part_note(part, msg->offset, worker, tag);
    part->next_offset = msg->offset + 1;
    if (!part->paused && part->count >= KSRC_PAUSE_RECORDS)
        part_pause(src, part, true);
    return true;
}

/* ---- run / stop ---- */

/* librdkafka 2.0.2 backs a partition's fetcher off for a fixed second once
 * the consumer queue held queued.min.messages (or queued.max.messages.kbytes)
 * at a fetch decision (2.2 makes that fetch.queue.backoff.ms): a consumer
 * that fell that far behind then idles for the rest of the second. Called
 * when a poll that waited found nothing: a partition that is behind its
 * high watermark (as the last fetch response told it) is sought to the next
 * offset to read, which starts a new fetch version and so clears the
 * backoff. Nothing is lost or read twice: nothing past that offset was
 * handed on, and what was fetched beyond it is dropped (rd_kafka_seek_
 * partitions bumps the partition's version before it returns, and older
 * messages still queued are discarded) and fetched again. Kicks of a
 * partition that stays at one offset come at doubling intervals, up to
 * KSRC_KICK_MAX_US: the gap to its high watermark may hold no message at all
 * (a transaction's commit or abort markers, which are never handed on). */
static void fetch_kick(struct kafka_source *src)
{
    rd_kafka_topic_partition_list_t *list = NULL;
    uint64_t now = now_us();
    for (uint32_t i = 0; i < src->part_count; i++) {
        struct ksrc_partition *part = &src->parts[i];
        int64_t low, high;
        bool again = part->kicked_offset == part->next_offset;
        if (part->paused || part->next_offset < 0 || (again && now < part->kick_after_us) ||
            rd_kafka_get_watermark_offsets(src->rk, part->topic, part->partition, &low,
                                           &high) != RD_KAFKA_RESP_ERR_NO_ERROR ||
            high <= part->next_offset)
            continue;
        part->kick_delay_us = again ? part->kick_delay_us * 2 : KSRC_KICK_US;
        if (part->kick_delay_us > KSRC_KICK_MAX_US)
            part->kick_delay_us = KSRC_KICK_MAX_US;
        part->kick_after_us = now + part->kick_delay_us;
        part->kicked_offset = part->next_offset;
        if (!list)
            list = rd_kafka_topic_partition_list_new((int)src->part_count);
        rd_kafka_topic_partition_list_add(list, part->topic, part->partition)->offset =
            part->next_offset;
    }
    if (!list)
        return;
    src->kicks += (uint64_t)list->cnt;
    rd_kafka_error_t *error = rd_kafka_seek_partitions(src->rk, list, 0); /* 0: async */
    if (error) {
        sl_log_limited(&src->log_limit, SL_LOG_WARN, "%s: restarting a fetch: %s",
                       src->node_name, rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
    rd_kafka_topic_partition_list_destroy(list);
}

/* Looked at every KSRC_QUEUE_LOOK messages: once the consumer queue came
 * near the fill at which librdkafka stops fetching (the message count, or
 * the bytes at the mean value size so far), the fetchers are restarted when
 * the queue is down to KSRC_QUEUE_LOW (a quarter of that fill when it is
 * smaller: large values), while the rest is consumed, instead of after the
 * queue ran dry and a poll waited. A needless restart costs the refetch of
 * what is still queued then. */
static void queue_watch(struct kafka_source *src)
{
    uint64_t len = rd_kafka_queue_length(src->queue);
    uint64_t mean = src->consumed ? src->value_bytes / src->consumed + 1 : 1;
    uint64_t full = src->queued_max_bytes / mean;
    if (src->queued_min < full)
        full = src->queued_min;
    uint64_t low = full / 4 < KSRC_QUEUE_LOW ? full / 4 : KSRC_QUEUE_LOW;
    if (len * 8 >= full * 7) {
        src->queue_was_full = true;
    } else if (src->queue_was_full && len <= low) {
        src->queue_was_full = false;
        fetch_kick(src);
    }
}

/* A batch run (count, until_end) has everything it wanted. */
static bool batch_run_done(struct kafka_source *src)
{
    if ((src->plan->until_end && all_at_end(src)) ||
        (src->plan->count && src->consumed >= src->plan->count)) {
        sl_log(SL_LOG_INFO, "%s: end of input after %" PRIu64 " messages", src->node_name,
               src->consumed);
        return true;
    }
    return false;
}

/* msgs[0..n) were taken from librdkafka but not handed on (the loop ended
 * inside a batch): librdkafka's position is past them, so each of their
 * assigned partitions is sought back to its first one (messages of one
 * partition come in offset order). A later consume_loop of this run
 * (exactly-once, after an aborted final transaction) reads them again. */
static void unread(struct kafka_source *src, rd_kafka_message_t **msgs, size_t n)
{
    rd_kafka_topic_partition_list_t *list = NULL;
    for (size_t i = 0; i < n; i++) {
        const rd_kafka_message_t *msg = msgs[i];
        if (msg->err || !msg->rkt)
            continue;
        const char *topic = rd_kafka_topic_name(msg->rkt);
        if (!part_find(src, topic, msg->partition))
            continue;
        if (!list)
            list = rd_kafka_topic_partition_list_new((int)n);
        if (!rd_kafka_topic_partition_list_find(list, topic, msg->partition))
            rd_kafka_topic_partition_list_add(list, topic, msg->partition)->offset = msg->offset;
    }
    if (!list)
        return;
    rd_kafka_error_t *error = rd_kafka_seek_partitions(src->rk, list, 0); /* 0: async */
    if (error) {
        sl_log_limited(&src->log_limit, SL_LOG_WARN, "%s: seeking back: %s", src->node_name,
                       rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
    rd_kafka_topic_partition_list_destroy(list);
}

/* Up to KSRC_BATCH messages into msgs: what the consumer queue holds now,
 * else (nothing new, all handed on) the first one that arrives within a
 * poll's wait. librdkafka's batch call given a timeout waits until the
 * batch is full, so a slow input would wait the whole timeout with
 * messages in hand; the single poll returns at the first. Rebalance, commit
 * and error callbacks run inside either call. */
static size_t take_batch(struct kafka_source *src, rd_kafka_message_t **msgs)
{
    ssize_t n = rd_kafka_consume_batch_queue(src->queue, 0, msgs, KSRC_BATCH);
    if (n > 0)
        return (size_t)n;
    if (src->unflushed) {
        sl_source_flush(src->emit); /* the input went idle: no batch waits for more */
        src->unflushed = false;
        parts_advance(src);
        return 0;
    }
    msgs[0] = rd_kafka_consumer_poll(src->rk, src->paused_count ? KSRC_PAUSED_POLL_MS
                                                                : KSRC_POLL_MS);
    if (msgs[0])
        return 1;
    parts_advance(src);
    if (now_us() - src->kicked_us >= KSRC_KICK_US) {
        src->kicked_us = now_us();
        fetch_kick(src);
    }
    return 0;
}

/* Consumes until stopped, fatal, or the end of a batch run (count,
 * until_end), committing every commit_interval. */
static void consume_loop(struct kafka_source *src)
{
    rd_kafka_message_t *msgs[KSRC_BATCH];
    uint64_t next_commit = now_us() + src->plan->commit_interval_us;
    uint64_t watched = src->consumed;
    bool more = true;
    while (more && !stopping(src) && !src->fatal) {
        size_t n = take_batch(src, msgs), handed = 0;
        /* consume() false: stopped before msgs[handed] could be handed on */
        while (more && handed < n && (more = consume(src, msgs[handed]))) {
            handed++;
            more = !batch_run_done(src);
        }
        if (handed < n)
            unread(src, msgs + handed, n - handed);
        for (size_t i = 0; i < n; i++)
            rd_kafka_message_destroy(msgs[i]);
        if (src->consumed - watched >= KSRC_QUEUE_LOOK) {
            watched = src->consumed;
            queue_watch(src);
        }
        if (now_us() >= next_commit) {
            parts_advance(src);
            if (src->txn)
                txn_commit(src, false, false);
            else
                commit_done(src, NULL, true, src->recommit);
            src->recommit = false;
            next_commit = now_us() + src->plan->commit_interval_us;
        }
    }
}

static int kafka_source_run(void *state, struct sl_source_emit *emit)
{
    struct kafka_source *src = state;
    src->emit = emit;
    /* this thread takes the messages librdkafka made: core/hugepage_arena.h */
    (void)sl_hugepage_arena_enter();
    for (;;) {
        consume_loop(src);
        if (!src->txn) {
            drain_and_commit(src, NULL);
            break;
        }
        if (src->fatal)
            break;
        /* an end of input whose last transaction aborted reads it again */
        if (txn_commit(src, true, false) != SL_TXN_ABORTED || stopping(src) || src->fatal)
            break;
    }
    src->emit = NULL;
    return src->fatal ? -EIO : 0;
}

static void kafka_source_stop(void *state)
{
    struct kafka_source *src = state;
    /* release: pairs with the acquire load in stopping() */
    atomic_store_explicit(&src->stop, true, memory_order_release);
}

/* ---- open / close ---- */

static rd_kafka_conf_t *source_conf(struct kafka_source *src, const char *bootstrap, char *err,
                                    size_t err_len)
{
    char errstr[512];
    rd_kafka_conf_t *conf = sl_kafka_settings_conf(&src->plan->settings, bootstrap, errstr,
                                                   sizeof(errstr));
    if (!conf) {
        snprintf(err, err_len, "kafka source %s: %s", src->node_name, errstr);
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, src);
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_offset_commit_cb(conf, on_commit);
    rd_kafka_conf_set_error_cb(conf, on_error);
    return conf;
}

static void kafka_source_free(struct kafka_source *src)
{
    for (uint32_t i = 0; i < src->part_count; i++) {
        free(src->parts[i].topic);
        free(src->parts[i].records);
    }
    free(src->parts);
    sl_fb_json_fini(&src->json);
    sl_fbb_fini(&src->builder);
    if (src->embedded_held)
        sl_kafka_embedded_release();
    free(src);
}

/* brokers: embedded: takes a reference on the process's cluster and creates
 * the topics (the mock creates none for a consumer). */
static int embedded_start(struct kafka_source *src, char *bootstrap, size_t len, char *err,
                          size_t err_len)
{
    char errstr[512];
    if (sl_kafka_embedded_acquire(bootstrap, len, errstr, sizeof(errstr))) {
        snprintf(err, err_len, "kafka source %s: embedded cluster: %s", src->node_name, errstr);
        return -EINVAL;
    }
    src->embedded_held = true;
    for (uint32_t i = 0; !src->plan->pattern && i < src->plan->topic_count; i++) {
        if (sl_kafka_embedded_topic(src->plan->topics[i], KSRC_EMBEDDED_PARTITIONS, errstr,
                                    sizeof(errstr))) {
            snprintf(err, err_len, "kafka source %s: topic %s: %s", src->node_name,
                     src->plan->topics[i], errstr);
            return -EINVAL;
        }
    }
    return 0;
}

static int subscribe(struct kafka_source *src, char *err, size_t err_len)
{
    rd_kafka_topic_partition_list_t *list =
        rd_kafka_topic_partition_list_new((int)src->plan->topic_count);
    for (uint32_t i = 0; i < src->plan->topic_count; i++)
        rd_kafka_topic_partition_list_add(list, src->plan->topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t rc = rd_kafka_subscribe(src->rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (rc) {
        snprintf(err, err_len, "kafka source %s: subscribe: %s", src->node_name,
                 rd_kafka_err2str(rc));
        return -EINVAL;
    }
    return 0;
}

/* auto.offset.reset as librdkafka resolved it (the `start` option or the
 * kafka map) as a logical offset; INVALID for "error". */
static int64_t reset_offset(rd_kafka_t *rk)
{
    char value[32];
    size_t len = sizeof(value);
    if (rd_kafka_conf_get(rd_kafka_conf(rk), "auto.offset.reset", value, &len) !=
        RD_KAFKA_CONF_OK)
        return RD_KAFKA_OFFSET_INVALID;
    if (!strcmp(value, "smallest") || !strcmp(value, "earliest") || !strcmp(value, "beginning"))
        return RD_KAFKA_OFFSET_BEGINNING;
    if (!strcmp(value, "largest") || !strcmp(value, "latest") || !strcmp(value, "end"))
        return RD_KAFKA_OFFSET_END;
    return RD_KAFKA_OFFSET_INVALID;
}

static int kafka_source_open(const struct sl_source_args *args, void **state, char *err,
                             size_t err_len)
{
    char bootstrap[KSRC_BOOTSTRAP_BYTES], errstr[512];
    struct kafka_source *src = calloc(1, sizeof(*src));
    SL_ASSERT(src);
    src->plan = args->plan;
    src->node_name = args->node_name ? args->node_name : "kafka";
    src->event_bytes_max = args->event_bytes_max;
    src->txn = args->txn;
    sl_envelope_init(&src->env, args->schemas);
    src->verify_opts = (struct sl_fb_verify_opts){.depth_max = SL_FB_DEPTH_MAX,
                                                  .tables_max = SL_FB_TABLES_MAX,
                                                  .check_nested = true, .schemas = args->schemas};
    sl_fb_json_init(&src->json, args->schemas);
    sl_fbb_init(&src->builder, 4096);
    if (src->plan->embedded && embedded_start(src, bootstrap, sizeof(bootstrap), err, err_len))
        goto fail;
    rd_kafka_conf_t *conf = source_conf(src, src->embedded_held ? bootstrap : NULL, err, err_len);
    if (!conf)
        goto fail;
    src->rk = sl_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!src->rk) {
        snprintf(err, err_len, "kafka source %s: %s", src->node_name, errstr);
        goto fail;
    }
    src->reset_offset = reset_offset(src->rk);
    /* fallbacks: both settings always exist */
    src->queued_min = (uint64_t)sl_kafka_conf_int(rd_kafka_conf(src->rk),
                                                  "queued.min.messages", 100000);
    src->queued_max_bytes = (uint64_t)sl_kafka_conf_int(rd_kafka_conf(src->rk),
                                                        "queued.max.messages.kbytes", 65536) *
                            1024;
    src->queue = rd_kafka_queue_get_consumer(src->rk);
    rd_kafka_poll_set_consumer(src->rk);
    if (subscribe(src, err, err_len))
        goto fail;
    *state = src;
    return 0;
fail:
    if (src->queue)
        rd_kafka_queue_destroy(src->queue);
    if (src->rk)
        rd_kafka_destroy(src->rk);
    kafka_source_free(src);
    return -EINVAL;
}

/* run() committed what was done; leaving the group now lets the other
 * members take the partitions over at once. */
static void kafka_source_close(void *state)
{
    struct kafka_source *src = state;
    rd_kafka_resp_err_t err = rd_kafka_consumer_close(src->rk);
    if (err)
        sl_log(SL_LOG_WARN, "%s: consumer close: %s", src->node_name, rd_kafka_err2str(err));
    sl_log(SL_LOG_INFO,
           "%s: %" PRIu64 " messages consumed, %" PRIu64 " rejected, %" PRIu64
           " commits, %" PRIu64 " failed, %" PRIu64 " transactions aborted, %" PRIu64
           " fetches restarted",
           src->node_name, src->consumed, src->rejected, src->commits, src->commit_failures,
           src->txn_aborts, src->kicks);
    rd_kafka_queue_destroy(src->queue);
    rd_kafka_destroy(src->rk);
    kafka_source_free(src);
}

const struct sl_source_type sl_source_kafka = {
    .name = "kafka",
    .summary = "consume events from Kafka topics in a consumer group (offsets committed once "
               "handled)",
    .options = kafka_source_options,
    .compile = kafka_source_compile,
    .plan_free = kafka_source_plan_free,
    .open = kafka_source_open,
    .run = kafka_source_run,
    .stop = kafka_source_stop,
    .close = kafka_source_close,
};
