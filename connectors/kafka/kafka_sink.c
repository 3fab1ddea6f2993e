/* kafka_sink.c - the kafka sink: an idempotent librdkafka producer (acks=all)
 * that writes each event as one Kafka message. write() queues a batch's
 * messages and returns; completed() (sl/connector.h) serves the delivery
 * reports and confirms a write once every message of it (and every dead
 * letter it caused) has been delivered, so acks and Kafka source offsets
 * advance only over delivered events. The messages in flight are bounded by
 * their bytes (`unconfirmed_bytes`): the keys and the headers' names and
 * values of the messages not yet confirmed, KAFKA_MSG_OVERHEAD_BYTES each,
 * and their values' bytes. write() first serves delivery reports until
 * they are under the bound, so a batch adds at most one batch more. So the
 * depth in flight follows the delivery latency, as librdkafka's queue does
 * for a client that produces without waiting; the runner's
 * SL_SINK_PENDING_MAX writes and (raw values) the worker's batch pool are
 * further bounds.
 *
 * Message mapping:
 *   value      raw: the event as an unprefixed FlatBuffer (the `raw` framing,
 *              converted in place with sl_fb_prefixed_to_raw so that
 *              alignment holds; `flatc -b`, `sluice decode --framing raw`
 *              read it);
 *              json: the event as one JSON object (sl_fb_to_json)
 *   key        the `key` expression's value (string, or int as decimal text),
 *              else the envelope key; absent: a null key (random partition)
 *   partition  murmur2 of the key, as Kafka's Java client (murmur2_random)
 *   timestamp  envelope ts, µs -> ms (none: the produce time)
 *   headers    the envelope headers, in order
 *
 * Delivery: a raw value is converted in the batch itself and produced
 * without RD_KAFKA_MSG_F_COPY: librdkafka reads it in place until its
 * delivery report, so write() returns SL_SINK_WRITE_HELD and the runner
 * keeps the batch until the write is confirmed (sl/connector.h); abandon()
 * purges and destroys the producer when the run gives up on the sink. JSON
 * values, and every value under exactly_once (whose writes are confirmed
 * before their delivery reports, and whose batches must not wait for a
 * commit that needs the worker's next ones), are produced with COPY from a
 * reusable staging buffer. A full local queue is backpressure (poll,
 * retry). A message
 * that finally fails (after librdkafka's retries, message.timeout.ms) or that
 * cannot be produced at all (over message.max.bytes, no JSON form, no topic)
 * is produced to the dead-letter topic with the headers sluice.error.reason
 * and sluice.error.topic; a message over message.max.bytes keeps only its key
 * there (this producer cannot send its value or headers anywhere) and says
 * its size in sluice.error.value_bytes and the event's id in
 * sluice.error.event_id. When a dead letter fails
 * too, write() fails: nothing is dropped silently.
 *
 * Errors port: when the job reads this node's errors port (`input:
 * k.errors` on a sink; sl/connector.h), dead letters go there instead of
 * to the dead-letter topic: each is the whole event (never cut, whatever
 * its size) with the headers sluice.error.node, sluice.error.reason and
 * sluice.error.topic. A write with dead letters is confirmed once the
 * reading sink has written them; letters wait in order while the port's
 * batches are all in flight.
 *
 * Exactly-once (`exactly_once: true` on the job; kafka_txn.h): the producer
 * is transactional (transactional.id: the `transactional_id` setting, by
 * default "<job>.<node>"); a transaction is open from open() on. A write
 * counts as confirmed once its messages are queued in the transaction; the
 * transaction itself is the confirmation: the source's commit request ends
 * it in completed() with commit_transaction (which flushes; the source's
 * offsets go in with send_offsets_to_transaction), or with an abort when a
 * delivery in it failed (librdkafka then requires one), and the source
 * reads that input again. So a failed delivery is never dead-lettered
 * inside a transaction; what fails before producing (too large, no topic,
 * no JSON form) still goes to the dead-letter topic, inside the
 * transaction.
 *
 * Threading: one instance per sink node, touched only by its sink thread;
 * librdkafka's callbacks run inside rd_kafka_poll()/rd_kafka_flush() on
 * that same thread, so the counters below need no atomics. */
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/assert.h"
#include "core/batch.h"
#include "core/hugepage_arena.h"
#include "core/log.h"
#include "expr/expr.h"
#include "fb/fb.h"
#include "graph/envelope.h"
#include "kafka_conf.h"
#include "kafka_txn.h"
#include "mock_cluster.h"
#include "sl/connector.h"

#define KAFKA_WAIT_MARGIN_MS 10000   /* beyond message.timeout.ms for a delivery report */
#define KAFKA_QUEUE_FULL_POLL_MS 10  /* one wait while the local queue is full */
#define KAFKA_TOPIC_BYTES_MAX 249    /* Kafka's limit on a topic name */
#define KAFKA_BOOTSTRAP_BYTES 1024   /* embedded cluster's bootstrap list */
#define KAFKA_REASON_BYTES 512       /* text of a dead letter's reason */
#define KAFKA_CLOSE_TIMEOUT_MS 30000 /* close(): flush bound */
#define KAFKA_FIXED_VUS 8            /* produceva entries of one event */
/* What one message costs besides its value, key and header bytes, counted
 * against unconfirmed_bytes: librdkafka's records of it and of its headers. */
#define KAFKA_MSG_OVERHEAD_BYTES 256u
#define KAFKA_UNCONFIRMED_MIN (1u << 20)
#define KAFKA_UNCONFIRMED_MAX (1u << 30) /* librdkafka's queue.buffering.max.kbytes: 1 GiB */
#define KAFKA_METADATA_TIMEOUT_MS 5000 /* open(): the fixed topic's metadata */

/* msg_opaque of each message: (write seq << 2) | kind, kind telling what a
 * failed delivery report means. */
#define KAFKA_MSG_EVENT 1u       /* an event: dead-letter it */
#define KAFKA_MSG_DEAD_LETTER 2u /* a dead letter: the sink fails */
#define KAFKA_MSG_OPAQUE(seq, kind) ((void *)(uintptr_t)((seq) << 2 | (kind)))

static const struct sl_option kafka_sink_options[] = {
    {"brokers", SL_OPT_STRING, NULL, true, NULL,
     "bootstrap servers \"host:port,host:port\", or \"embedded\": the in-process development "
     "cluster (librdkafka's mock; topics auto-created with 4 partitions)"},
    {"topic", SL_OPT_STRING, NULL, false, NULL,
     "topic every event goes to (give this or topic_expr)"},
    {"topic_expr", SL_OPT_EXPR, NULL, false, NULL,
     "expression giving each event's topic, a string (give this or topic); an event without "
     "one goes to dead_letter_topic, or to the errors port when a sink reads it; with neither "
     "the run fails at that event (exit 1, its input not committed)"},
    {"key", SL_OPT_EXPR, NULL, false, NULL,
     "expression giving the message key (string, or int as decimal text); default: the "
     "envelope key; absent: a null key"},
    {"format", SL_OPT_ENUM, "raw", false, "raw|json",
     "message value: raw: the event as an unprefixed FlatBuffer (flatc -b reads it); json: the "
     "event as one JSON object"},
    {"partitioner", SL_OPT_ENUM, "murmur2", false,
     "murmur2|consistent_random|fnv1a_random|random",
     "murmur2: partition (murmur2(key) & 0x7fffffff) % partitions, as Kafka's Java client "
     "(librdkafka murmur2_random; keyless messages go to a random partition)"},
    {"linger", SL_OPT_DURATION, "5ms", false, NULL,
     "how long the producer waits to fill a message set (linger.ms)"},
    {"batch_bytes", SL_OPT_SIZE, "1000000", false, NULL,
     "largest message set sent to one partition (batch.size)"},
    {"compression", SL_OPT_ENUM, "none", false, "none|gzip|snappy|lz4|zstd",
     "compression of message sets (compression.codec)"},
    {"max_in_flight", SL_OPT_INT, "5", false, NULL,
     "produce requests in flight per broker connection, 1..5 "
     "(max.in.flight.requests.per.connection; the idempotent producer keeps order up to 5)"},
    {"unconfirmed_bytes", SL_OPT_SIZE, "128MiB", false, NULL,
     "bound on the messages produced and not yet confirmed: their values, keys, header "
     "bytes and 256 bytes each; a write waits for delivery reports while they are over it "
     "(the sink's memory bound, docs/memory.md; raw values stay in their batches, which "
     "the worker's batch pool bounds too), 1MiB..1GiB"},
    {"delivery_timeout", SL_OPT_DURATION, "120s", false, NULL,
     "how long a message is retried before it counts as failed and is dead-lettered "
     "(message.timeout.ms)"},
    {"dead_letter_topic", SL_OPT_STRING, NULL, false, NULL,
     "topic for messages that cannot be delivered, with headers sluice.error.reason and "
     "sluice.error.topic; default: <topic>.dlq (with topic_expr: the message's topic + .dlq). "
     "Unused when a sink reads this node's errors port (input: NODE.errors): the whole events "
     "go there, with sluice.error.node/reason/topic headers"},
    {"transactional_id", SL_OPT_STRING, NULL, false, NULL,
     "exactly_once: the producer's transactional.id, stable across restarts and distinct per "
     "process of a scaled-out job (e.g. orders-${INSTANCE}); default: <job>.<node>"},
    {"kafka", SL_OPT_MAP, NULL, false, NULL,
     "librdkafka settings passed through verbatim (security.protocol, sasl.*, ssl.*, ...); "
     "applied last, so they win over the settings above"},
    {NULL, 0, NULL, false, NULL, NULL},
};

/* What compile() makes; read-only afterwards, shared with the sink thread. */
struct kafka_sink_plan {
    char *brokers;               /* owned: bootstrap list, or "embedded" */
    bool embedded;               /* brokers: embedded */
    char *topic;                 /* owned: the fixed topic, or NULL with topic_expr */
    struct sl_expr *topic_expr;  /* owned, or NULL */
    struct sl_expr *key_expr;    /* owned, or NULL: the envelope key */
    bool json;                   /* format: json */
    char *dead_letter_topic;     /* owned, or NULL: <message topic>.dlq */
    char *transactional_id;      /* owned, or NULL: <job>.<node> */
    uint64_t unconfirmed_max;    /* unconfirmed_bytes */
    struct sl_kafka_settings settings; /* librdkafka settings, applied in order */
};

/* A message to produce to the dead-letter topic; owned copies, made on the
 * failure path only. */
struct kafka_letter {
    char *topic;                 /* the topic the message was for ("" when none) */
    char *dead_letter_topic;     /* where it goes */
    void *key;                   /* or NULL */
    size_t key_len;
    void *value;                 /* or NULL when left out */
    size_t value_len;
    size_t value_bytes;          /* the original value's size */
    rd_kafka_headers_t *headers; /* the message's own headers, or NULL */
    char *event_id;              /* the event's id when value and headers are left out */
    int64_t ts_ms;               /* 0: produce time */
    uint64_t seq;                /* the write it belongs to */
    bool value_json;             /* errors port: value is the event as JSON, else raw */
    char reason[KAFKA_REASON_BYTES];
};

/* One write() whose messages await their delivery reports. */
struct kafka_write {
    uint32_t outstanding;        /* messages and dead letters without a report */
    uint32_t dead;               /* its events dead-lettered so far */
    int64_t started_ms;          /* CLOCK_MONOTONIC */
    uint64_t bytes;              /* at-least-once: what it counts in unconfirmed */
};

/* One sink instance; owned and touched by its sink thread only. */
struct kafka_sink {
    const struct kafka_sink_plan *plan;
    const struct sl_fb_schemas *schemas;
    const char *node_name;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;       /* the fixed topic, known from open() on; or NULL */
    bool embedded_held;          /* holds a reference on the embedded cluster */
    int64_t wait_ms;             /* bound on one batch's delivery: timeout + margin */
    int64_t deadline_ms;         /* of the current write() (CLOCK_MONOTONIC) */
    uint16_t voff_id, voff_key, voff_ts, voff_headers, voff_header_key, voff_header_value;
    bool in_place;               /* raw values produced from the batch, no COPY */
    uint8_t *staged;             /* the current event in the raw framing */
    size_t staged_len;           /* bytes */
    uint8_t *staging;            /* !in_place: the staged event; dead letters' events */
    size_t staging_cap;          /* bytes */
    struct sl_fb_json json;      /* format json: transcoder, reused */
    char key_text[24];           /* an int key as decimal text */
    char topic_text[KAFKA_TOPIC_BYTES_MAX + 1]; /* topic_expr's value, NUL-terminated */
    struct kafka_write writes[SL_SINK_PENDING_MAX]; /* write seq s at s % SL_SINK_PENDING_MAX */
    uint64_t write_seq;          /* write() calls so far (the current one's seq) */
    uint64_t confirmed;          /* writes confirmed in full, counted from the first */
    /* bytes of the messages in flight (unconfirmed_bytes): at-least-once, those
     * of unconfirmed writes; exactly_once, those without a delivery report */
    uint64_t unconfirmed;
    struct kafka_letter *letters; /* awaiting their produce to the dead-letter topic */
    uint32_t letter_count, letter_cap;
    char fatal[KAFKA_REASON_BYTES]; /* why the sink cannot go on ("" while healthy) */
    struct sl_txn *txn;          /* exactly_once: the source handshake; NULL otherwise */
    char doomed[KAFKA_REASON_BYTES]; /* txn: why the open transaction must abort ("": none) */
    uint64_t txn_commits, txn_aborts;
    uint64_t bound_waits;        /* writes that waited for unconfirmed_bytes */
    uint64_t delivered;          /* events delivered to their topic */
    uint64_t dead_lettered;      /* dead letters delivered */
    uint64_t dead_confirmed;     /* of those, the ones of confirmed writes */
    struct sl_log_limit log_limit;
    /* errors port (NULL: dead letters go to the dead-letter topic) */
    struct sl_sink_errors *errors;
    struct sl_envelope env;      /* dead letters: the event with error headers added */
    struct sl_fbb letter_builder;
    struct sl_batch *errors_batch; /* being filled, or NULL */
    uint64_t *forwarded;         /* FIFO of the write seq of each letter pushed */
    uint32_t forwarded_head, forwarded_count, forwarded_cap;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- compile ---- */

static void kafka_sink_plan_free(void *plan)
{
    struct kafka_sink_plan *kplan = plan;
    if (!kplan)
        return;
    free(kplan->brokers);
    free(kplan->topic);
    sl_expr_destroy(kplan->topic_expr);
    sl_expr_destroy(kplan->key_expr);
    free(kplan->dead_letter_topic);
    free(kplan->transactional_id);
    sl_kafka_settings_free(&kplan->settings);
    free(kplan);
}

/* Our settings as librdkafka properties (the kafka map comes after them). */
static void plan_conf_ours(struct sl_op_compile *c, struct kafka_sink_plan *plan)
{
    char text[64];
    const char *partitioner = sl_op_string(c, "partitioner");
    sl_kafka_settings_add(&plan->settings, "enable.idempotence", "true");
    sl_kafka_settings_add(&plan->settings, "acks", "all");
    sl_kafka_settings_add(&plan->settings, "partitioner",
                  strcmp(partitioner, "murmur2") == 0 ? "murmur2_random" : partitioner);
    snprintf(text, sizeof(text), "%.3f", (double)sl_op_int(c, "linger") / 1000.0);
    sl_kafka_settings_add(&plan->settings, "linger.ms", text);
    snprintf(text, sizeof(text), "%lld", sl_op_int(c, "batch_bytes"));
    sl_kafka_settings_add(&plan->settings, "batch.size", text);
    sl_kafka_settings_add(&plan->settings, "compression.codec", sl_op_string(c, "compression"));
    snprintf(text, sizeof(text), "%lld", sl_op_int(c, "max_in_flight"));
    sl_kafka_settings_add(&plan->settings, "max.in.flight.requests.per.connection", text);
    snprintf(text, sizeof(text), "%lld", sl_op_int(c, "delivery_timeout") / 1000);
    sl_kafka_settings_add(&plan->settings, "message.timeout.ms", text);
    /* unconfirmed_bytes bounds the queue, not librdkafka's default of 100000 messages */
    sl_kafka_settings_add(&plan->settings, "queue.buffering.max.messages", "10000000");
}

/* Checks every setting against librdkafka itself (so a misspelt kafka.*
 * name or a bad value is reported at its place in the job file) and keeps
 * them in the plan. Returns 0 or -EINVAL (reported). */
static int plan_conf(struct sl_op_compile *c, struct kafka_sink_plan *plan)
{
    plan_conf_ours(c, plan);
    return sl_kafka_settings_check(&plan->settings, c);
}

/* topic / topic_expr / dead_letter_topic. Returns 0 or -EINVAL (reported). */
static int plan_topics(struct sl_op_compile *c, struct kafka_sink_plan *plan)
{
    const char *topic = sl_op_string(c, "topic");
    const char *topic_expr = sl_op_string(c, "topic_expr");
    const char *dead_letter = sl_op_string(c, "dead_letter_topic");
    if ((topic != NULL) == (topic_expr != NULL)) {
        sl_op_error(c, topic ? "topic" : NULL, NULL,
                    "give `topic: NAME` or `topic_expr: EXPRESSION`",
                    topic ? "topic and topic_expr are both set" : "no topic or topic_expr");
        return -EINVAL;
    }
    if (topic && (topic[0] == '\0' || strlen(topic) > KAFKA_TOPIC_BYTES_MAX)) {
        sl_op_error(c, "topic", NULL, NULL, "a topic name has 1 to %d characters",
                    KAFKA_TOPIC_BYTES_MAX);
        return -EINVAL;
    }
    if (topic_expr) {
        plan->topic_expr = sl_op_expr(c, "topic_expr", NULL);
        if (!plan->topic_expr)
            return -EINVAL;
        if (sl_expr_result_type(plan->topic_expr) != SL_EXPR_STRING) {
            sl_op_error(c, "topic_expr", NULL, NULL, "gives %s, not a string",
                        sl_expr_type_name(sl_expr_result_type(plan->topic_expr)));
            return -EINVAL;
        }
    } else {
        plan->topic = strdup(topic);
        SL_ASSERT(plan->topic);
    }
    if (dead_letter && dead_letter[0] == '\0') {
        sl_op_error(c, "dead_letter_topic", NULL, NULL, "empty topic name");
        return -EINVAL;
    }
    if (dead_letter || topic) {
        if (dead_letter)
            plan->dead_letter_topic = strdup(dead_letter);
        else
            SL_ASSERT(asprintf(&plan->dead_letter_topic, "%s.dlq", topic) >= 0);
        SL_ASSERT(plan->dead_letter_topic);
    }
    return 0;
}

static int plan_key(struct sl_op_compile *c, struct kafka_sink_plan *plan)
{
    if (!sl_op_string(c, "key"))
        return 0;
    plan->key_expr = sl_op_expr(c, "key", NULL);
    if (!plan->key_expr)
        return -EINVAL;
    enum sl_expr_type type = sl_expr_result_type(plan->key_expr);
    if (type != SL_EXPR_STRING && type != SL_EXPR_INT) {
        sl_op_error(c, "key", NULL, "a key is a string or an int", "gives %s",
                    sl_expr_type_name(type));
        return -EINVAL;
    }
    return 0;
}

static int kafka_sink_compile(struct sl_op_compile *c, void **plan)
{
    struct kafka_sink_plan *kplan = calloc(1, sizeof(*kplan));
    SL_ASSERT(kplan);
    const char *brokers = sl_op_string(c, "brokers");
    int rc = -EINVAL;
    if (!brokers || brokers[0] == '\0') {
        sl_op_error(c, "brokers", NULL, "e.g. broker1:9092,broker2:9092 or embedded",
                    "no brokers");
        goto fail;
    }
    kplan->brokers = strdup(brokers);
    SL_ASSERT(kplan->brokers);
    kplan->embedded = strcmp(brokers, "embedded") == 0;
    kplan->json = strcmp(sl_op_string(c, "format"), "json") == 0;
    long long unconfirmed = sl_op_int(c, "unconfirmed_bytes");
    long long in_flight = sl_op_int(c, "max_in_flight");
    if (in_flight < 1 || in_flight > 5) {
        sl_op_error(c, "max_in_flight", NULL, "the idempotent producer keeps order up to 5",
                    "max_in_flight %lld is not within 1..5", in_flight);
        goto fail;
    }
    if (unconfirmed < KAFKA_UNCONFIRMED_MIN || unconfirmed > KAFKA_UNCONFIRMED_MAX) {
        sl_op_error(c, "unconfirmed_bytes", NULL, NULL,
                    "unconfirmed_bytes %lld is not within 1MiB..1GiB", unconfirmed);
        goto fail;
    }
    kplan->unconfirmed_max = (uint64_t)unconfirmed;
    const char *txn_id = sl_op_string(c, "transactional_id");
    if (txn_id && txn_id[0] == '\0') {
        sl_op_error(c, "transactional_id", NULL, NULL, "empty transactional id");
        rc = -EINVAL;
        goto fail;
    }
    if (txn_id) {
        kplan->transactional_id = strdup(txn_id);
        SL_ASSERT(kplan->transactional_id);
    }
    /* each step reports its own errors; run all so that one pass shows them all */
    rc = plan_topics(c, kplan);
    rc = plan_key(c, kplan) ? -EINVAL : rc;
    if (!kplan->embedded)
        sl_kafka_settings_add(&kplan->settings, "bootstrap.servers", brokers);
    rc = plan_conf(c, kplan) ? -EINVAL : rc;
    if (rc)
        goto fail;
    *plan = kplan;
    return 0;
fail:
    kafka_sink_plan_free(kplan);
    return rc;
}

/* ---- delivery reports and dead letters ---- */

static void letter_free(struct kafka_letter *letter)
{
    free(letter->topic);
    free(letter->dead_letter_topic);
    free(letter->key);
    free(letter->value);
    free(letter->event_id);
    if (letter->headers)
        rd_kafka_headers_destroy(letter->headers);
}

static void *copy_bytes(const void *bytes, size_t len)
{
    if (!bytes)
        return NULL;
    void *copy = malloc(len ? len : 1);
    SL_ASSERT(copy);
    memcpy(copy, bytes, len);
    return copy;
}

/* Queues a message for the dead-letter topic (copies everything given) and
 * returns it. Without a dead-letter topic for it, the sink fails instead
 * (NULL). */
static struct kafka_letter *letter_add(struct kafka_sink *sink, uint64_t seq, const char *topic,
                       const void *key, size_t key_len, const void *value, size_t value_len,
                       bool keep_value, const rd_kafka_headers_t *headers, int64_t ts_ms,
                       const char *reason)
{
    const char *dead_letter = sink->plan->dead_letter_topic;
    if (!sink->errors && !dead_letter && topic[0] == '\0') {
        snprintf(sink->fatal, sizeof(sink->fatal),
                 "an event has no topic (%s) and no dead_letter_topic is set", reason);
        return NULL;
    }
    if (sink->letter_count == sink->letter_cap) {
        sink->letter_cap = sink->letter_cap ? 2 * sink->letter_cap : 16;
        sink->letters = realloc(sink->letters, sink->letter_cap * sizeof(*sink->letters));
        SL_ASSERT(sink->letters);
    }
    struct kafka_letter *letter = &sink->letters[sink->letter_count++];
    *letter = (struct kafka_letter){
        .topic = strdup(topic),
        .key = copy_bytes(key, key_len),
        .key_len = key_len,
        .value = keep_value ? copy_bytes(value, value_len) : NULL,
        .value_len = keep_value ? value_len : 0,
        .value_bytes = value_len,
        .headers = headers ? rd_kafka_headers_copy(headers) : NULL,
        .ts_ms = ts_ms,
        .seq = seq,
    };
    if (sink->errors) { /* outstanding until the reading sink wrote it */
        sink->writes[seq % SL_SINK_PENDING_MAX].outstanding++;
        letter->dead_letter_topic = strdup("");
    } else if (dead_letter) {
        letter->dead_letter_topic = strdup(dead_letter);
    } else {
        SL_ASSERT(asprintf(&letter->dead_letter_topic, "%s.dlq", topic) >= 0);
    }
    SL_ASSERT(letter->topic && letter->dead_letter_topic);
    snprintf(letter->reason, sizeof(letter->reason), "%s", reason);
    return letter;
}

/* The bytes of headers' names and values (librdkafka holds a copy of each). */
static size_t headers_bytes(const rd_kafka_headers_t *headers)
{
    const char *name;
    const void *value;
    size_t size, bytes = 0;
    for (size_t i = 0; headers && rd_kafka_header_get_all(headers, i, &name, &value, &size) == 0;
         i++)
        bytes += strlen(name) + size;
    return bytes;
}

/* What a message counts in unconfirmed: value_len, key_len, header_len. */
static uint64_t message_cost(size_t value_len, size_t key_len, size_t header_len)
{
    return (uint64_t)value_len + key_len + header_len + KAFKA_MSG_OVERHEAD_BYTES;
}

/* A dead letter of write seq is delivered (or written by the sink reading
 * the errors port). A transaction's writes are confirmed once queued. */
static void dead_settled(struct kafka_sink *sink, uint64_t seq)
{
    sink->dead_lettered++;
    if (sink->txn)
        sink->dead_confirmed++;
    else
        sink->writes[seq % SL_SINK_PENDING_MAX].dead++;
}

/* dr_msg_cb: runs inside rd_kafka_poll()/rd_kafka_flush() on the sink thread. */
static void kafka_sink_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    struct kafka_sink *sink = opaque;
    if (sink->txn) {
        /* reported, or purged: each message produced has one report; a
         * producer's message gives back the headers it was produced with */
        rd_kafka_headers_t *headers = NULL;
        if (rd_kafka_message_headers(msg, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR)
            headers = NULL;
        uint64_t cost = message_cost(msg->len, msg->key_len, headers_bytes(headers));
        SL_ASSERT(sink->unconfirmed >= cost);
        sink->unconfirmed -= cost;
        /* the transaction's commit reports a failure (and aborts) */
        if (!msg->err && ((uintptr_t)msg->_private & 3u) == KAFKA_MSG_DEAD_LETTER)
            dead_settled(sink, (uintptr_t)msg->_private >> 2);
        else if (!msg->err)
            sink->delivered++;
        else if (msg->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE &&
                 msg->err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) /* purged: by an abort */
            sl_log_limited(&sink->log_limit, SL_LOG_WARN, "%s: delivery in a transaction "
                           "failed: %s", sink->node_name, rd_kafka_err2str(msg->err));
        return;
    }
    uint64_t seq = (uintptr_t)msg->_private >> 2;
    struct kafka_write *write = &sink->writes[seq % SL_SINK_PENDING_MAX];
    SL_ASSERT(write->outstanding > 0);
    write->outstanding--;
    bool dead_letter = ((uintptr_t)msg->_private & 3u) == KAFKA_MSG_DEAD_LETTER;
    if (!msg->err) {
        if (dead_letter)
            dead_settled(sink, seq);
        else
            sink->delivered++;
        return;
    }
    const char *topic = rd_kafka_topic_name(msg->rkt);
    if (dead_letter) {
        snprintf(sink->fatal, sizeof(sink->fatal), "dead letter to topic %s failed: %s", topic,
                 rd_kafka_err2str(msg->err));
        return;
    }
    rd_kafka_headers_t *headers = NULL;
    if (sink->errors || rd_kafka_message_headers(msg, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR)
        headers = NULL; /* errors port: the event carries its own */
    rd_kafka_timestamp_type_t ts_type;
    int64_t ts_ms = rd_kafka_message_timestamp(msg, &ts_type);
    struct kafka_letter *letter =
        letter_add(sink, seq, topic, msg->key, msg->key_len, msg->payload, msg->len, true,
                   headers, ts_ms > 0 ? ts_ms : 0, rd_kafka_err2str(msg->err));
    if (letter)
        letter->value_json = sink->plan->json;
}

/* error_cb: a fatal error (idempotence broken) stops the sink; others are
 * transient (librdkafka retries) and only logged. */
static void kafka_sink_on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct kafka_sink *sink = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char fatal[KAFKA_REASON_BYTES - 64];
        rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
        snprintf(sink->fatal, sizeof(sink->fatal), "producer fatal error: %s", fatal);
        return;
    }
    sl_log_limited(&sink->log_limit, SL_LOG_WARN, "%s: kafka: %s: %s", sink->node_name,
                   rd_kafka_err2name(err), reason);
}

/* Produces vus[0..count) (a message whose value counts value_len bytes,
 * 0 for an in-place one, whose key has key_len, with headers, the ones in
 * vus or NULL) for write seq; a full
 * local queue is waited out (poll, retry) until the write's deadline.
 * Returns RD_KAFKA_RESP_ERR_NO_ERROR (counted as outstanding and in
 * unconfirmed) or the produce error. */
static rd_kafka_resp_err_t produce_vus(struct kafka_sink *sink, uint64_t seq,
                                       const rd_kafka_vu_t *vus, size_t count, size_t value_len,
                                       size_t key_len, const rd_kafka_headers_t *headers)
{
    size_t header_len = headers_bytes(headers);
    for (;;) {
        rd_kafka_error_t *error = rd_kafka_produceva(sink->rk, vus, count);
        if (!error) {
            uint64_t cost = message_cost(value_len, key_len, header_len);
            sink->unconfirmed += cost;
            if (!sink->txn) { /* a transaction confirms its writes as a whole */
                struct kafka_write *write = &sink->writes[seq % SL_SINK_PENDING_MAX];
                write->outstanding++;
                write->bytes += cost;
            }
            return RD_KAFKA_RESP_ERR_NO_ERROR;
        }
        rd_kafka_resp_err_t code = rd_kafka_error_code(error);
        rd_kafka_error_destroy(error);
        if (code != RD_KAFKA_RESP_ERR__QUEUE_FULL || now_ms() >= sink->deadline_ms)
            return code;
        rd_kafka_poll(sink->rk, KAFKA_QUEUE_FULL_POLL_MS);
    }
}

/* Produces one dead letter. Returns 0, or -EIO with err. */
static int letter_produce(struct kafka_sink *sink, struct kafka_letter *letter, char *err,
                          size_t err_len)
{
    char size_text[24];
    rd_kafka_headers_t *headers = letter->headers ? letter->headers : rd_kafka_headers_new(3);
    letter->headers = NULL;
    rd_kafka_header_add(headers, "sluice.error.reason", -1, letter->reason, -1);
    rd_kafka_header_add(headers, "sluice.error.topic", -1, letter->topic, -1);
    if (!letter->value && letter->value_bytes) {
        snprintf(size_text, sizeof(size_text), "%zu", letter->value_bytes);
        rd_kafka_header_add(headers, "sluice.error.value_bytes", -1, size_text, -1);
    }
    if (letter->event_id)
        rd_kafka_header_add(headers, "sluice.error.event_id", -1, letter->event_id, -1);
    rd_kafka_vu_t vus[] = {
        {.vtype = RD_KAFKA_VTYPE_TOPIC, .u.cstr = letter->dead_letter_topic},
        {.vtype = RD_KAFKA_VTYPE_KEY, .u.mem = {letter->key, letter->key_len}},
        {.vtype = RD_KAFKA_VTYPE_VALUE, .u.mem = {letter->value, letter->value_len}},
        {.vtype = RD_KAFKA_VTYPE_MSGFLAGS, .u.i = RD_KAFKA_MSG_F_COPY},
        {.vtype = RD_KAFKA_VTYPE_OPAQUE,
         .u.ptr = KAFKA_MSG_OPAQUE(letter->seq, KAFKA_MSG_DEAD_LETTER)},
        {.vtype = RD_KAFKA_VTYPE_TIMESTAMP, .u.i64 = letter->ts_ms},
        {.vtype = RD_KAFKA_VTYPE_HEADERS, .u.headers = headers},
    };
    rd_kafka_resp_err_t code = produce_vus(sink, letter->seq, vus, sizeof(vus) / sizeof(vus[0]),
                                           letter->value_len, letter->key_len, headers);
    if (code == RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0; /* librdkafka owns headers now */
    rd_kafka_headers_destroy(headers);
    snprintf(err, err_len, "kafka sink %s: dead letter to topic %s (for %s: %s) failed: %s",
             sink->node_name, letter->dead_letter_topic, letter->topic, letter->reason,
             rd_kafka_err2str(code));
    return -EIO;
}

static int letters_forward(struct kafka_sink *sink, char *err, size_t err_len);

/* Produces every queued letter to its dead-letter topic (also those that
 * failing deliveries queue meanwhile); each extends the deadline by a
 * delivery timeout. Returns 0 or -EIO with err. */
static int letters_to_topics(struct kafka_sink *sink, char *err, size_t err_len)
{
    int rc = 0;
    while (sink->letter_count) {
        /* taken out first: a full queue polls, and a failed delivery then
         * queues a new letter (realloc) */
        struct kafka_letter *letters = sink->letters;
        uint32_t count = sink->letter_count;
        sink->letters = NULL;
        sink->letter_count = sink->letter_cap = 0;
        for (uint32_t i = 0; i < count; i++) {
            struct kafka_letter *letter = &letters[i];
            sl_log_limited(&sink->log_limit, SL_LOG_WARN, "%s: message for topic %s "
                           "dead-lettered to %s: %s", sink->node_name, letter->topic,
                           letter->dead_letter_topic, letter->reason);
            sink->deadline_ms = now_ms() + sink->wait_ms;
            if (rc == 0)
                rc = letter_produce(sink, letter, err, err_len);
            letter_free(letter);
        }
        free(letters);
    }
    return rc;
}

/* The queued letters to the errors port when a sink reads it, else to their
 * dead-letter topics. Returns 0 or -EIO with err. */
static int letters_produce(struct kafka_sink *sink, char *err, size_t err_len)
{
    int rc = sink->errors ? letters_forward(sink, err, err_len)
                          : letters_to_topics(sink, err, err_len);
    if (rc) /* exactly_once: a source waiting on the transaction hears of it */
        sl_kafka_txn_fail(sink->txn, err);
    return rc;
}

/* staging with room for len bytes; it grows (doubling) to the largest need
 * and is reused. SL_BATCH_ALIGN-aligned: a raw buffer's alignment is from
 * its start. */
static uint8_t *staging_reserve(struct kafka_sink *sink, size_t len)
{
    if (len > sink->staging_cap) {
        size_t cap = sink->staging_cap ? sink->staging_cap : 4096;
        while (cap < len)
            cap *= 2;
        free(sink->staging);
        sink->staging = aligned_alloc(SL_BATCH_ALIGN, cap);
        SL_ASSERT(sink->staging);
        sink->staging_cap = cap;
    }
    return sink->staging;
}

/* ---- the errors port ---- */

/* The letter's event (size-prefixed) with the error headers added, in
 * letter_builder; NULL with err when its value is no event. */
static const uint8_t *letter_event(struct kafka_sink *sink, const struct kafka_letter *letter,
                                   size_t *len, char *err, size_t err_len)
{
    const uint8_t *frame;
    if (letter->value_json) {
        if (sl_fb_json_to_fb(&sink->json, sink->schemas->envelope, letter->value,
                             letter->value_len, true, &frame, len, err, err_len))
            return NULL;
    } else {
        if (letter->value_len < 8) {
            snprintf(err, err_len, "value of %zu bytes is no event", letter->value_len);
            return NULL;
        }
        /* staging is free here: letters are forwarded after a write's events */
        uint8_t *prefixed = staging_reserve(sink, letter->value_len + 8);
        *len = sl_fb_raw_to_prefixed(prefixed, letter->value, letter->value_len);
        frame = prefixed;
    }
    struct sl_event ev;
    sl_envelope_event(&sink->env, frame, (uint32_t)*len, 0, 0, &ev);
    const char *keys[] = {"sluice.error.node", "sluice.error.reason", "sluice.error.topic"};
    /* at most KAFKA_TOPIC_BYTES_MAX: a fixed topic and topic_expr's values are checked */
    const char *values[] = {sink->node_name, letter->reason, letter->topic};
    struct sl_envelope_change change = {.header_keys = keys, .header_values = values,
                                        .header_count = 3};
    return sl_envelope_copy(&sink->env, &sink->letter_builder, &ev, &change, len);
}

static void errors_push(struct kafka_sink *sink)
{
    if (sink->errors_batch && sl_batch_event_count(sink->errors_batch) > 0) {
        sl_sink_errors_push(sink->errors, sink->errors_batch);
        sink->errors_batch = NULL;
    }
}

/* Records that a letter of write seq was pushed (FIFO, in push order). */
static void forwarded_add(struct kafka_sink *sink, uint64_t seq)
{
    if (sink->forwarded_count == sink->forwarded_cap) {
        uint32_t cap = sink->forwarded_cap ? 2 * sink->forwarded_cap : 64;
        uint64_t *fifo = malloc(cap * sizeof(*fifo));
        SL_ASSERT(fifo);
        for (uint32_t i = 0; i < sink->forwarded_count; i++)
            fifo[i] = sink->forwarded[(sink->forwarded_head + i) % sink->forwarded_cap];
        free(sink->forwarded);
        sink->forwarded = fifo;
        sink->forwarded_head = 0;
        sink->forwarded_cap = cap;
    }
    sink->forwarded[(sink->forwarded_head + sink->forwarded_count++) % sink->forwarded_cap] = seq;
}

/* Pushes the queued letters, in order, as far as the port's batches allow
 * (the rest wait for the next call). Returns 0 or -EIO with err. */
static int letters_forward(struct kafka_sink *sink, char *err, size_t err_len)
{
    uint32_t done = 0;
    int rc = 0;
    for (; done < sink->letter_count; done++) {
        struct kafka_letter *letter = &sink->letters[done];
        char why[KAFKA_REASON_BYTES];
        size_t len;
        const uint8_t *frame = letter_event(sink, letter, &len, why, sizeof(why));
        if (!frame) {
            snprintf(err, err_len, "kafka sink %s: dead letter for topic %s: %s",
                     sink->node_name, letter->topic, why);
            rc = -EIO;
            break;
        }
        if (!sink->errors_batch && !(sink->errors_batch = sl_sink_errors_batch(sink->errors)))
            break;
        /* events leave SL_RUNTIME_EVENT_HEADROOM_BYTES for the error headers
         * (node name, reason and topic are bounded), so a letter fits an empty
         * batch; one that does not fails the sink */
        bool fits = sl_batch_append(sink->errors_batch, frame, (uint32_t)len, 0, 0) == 0;
        if (!fits && sl_batch_event_count(sink->errors_batch) > 0) {
            errors_push(sink);
            if (!(sink->errors_batch = sl_sink_errors_batch(sink->errors)))
                break;
            fits = sl_batch_append(sink->errors_batch, frame, (uint32_t)len, 0, 0) == 0;
        }
        if (!fits) {
            snprintf(err, err_len, "kafka sink %s: dead letter of %zu bytes for topic %.64s "
                     "fits no batch of the errors port", sink->node_name, len, letter->topic);
            rc = -EIO;
            break;
        }
        forwarded_add(sink, letter->seq);
        sl_log_limited(&sink->log_limit, SL_LOG_WARN, "%s: event%s%s sent to its errors "
                       "port: %s", sink->node_name, letter->topic[0] ? " for topic " : "",
                       letter->topic, letter->reason);
        letter_free(letter);
    }
    if (done > 0 && done < sink->letter_count)
        memmove(sink->letters, sink->letters + done,
                (sink->letter_count - done) * sizeof(*sink->letters));
    sink->letter_count -= done;
    errors_push(sink);
    return rc;
}

/* Counts the letters the reading sink has written as delivered. */
static void errors_advance(struct kafka_sink *sink)
{
    bool failed;
    uint64_t written = sl_sink_errors_written(sink->errors, &failed);
    while (sink->forwarded_count > 0 && sink->dead_lettered < written) {
        uint64_t seq = sink->forwarded[sink->forwarded_head];
        sink->forwarded_head = (sink->forwarded_head + 1) % sink->forwarded_cap;
        sink->forwarded_count--;
        sink->writes[seq % SL_SINK_PENDING_MAX].outstanding--;
        dead_settled(sink, seq);
    }
    if (failed && !sink->fatal[0])
        snprintf(sink->fatal, sizeof(sink->fatal), "the sink reading its errors port failed");
}

/* The sink's fatal state as write()'s or completed()'s error. */
static int sink_fatal(struct kafka_sink *sink, char *err, size_t err_len)
{
    snprintf(err, err_len, "kafka sink %s: %s", sink->node_name, sink->fatal);
    sl_kafka_txn_fail(sink->txn, err);
    return -EIO;
}

/* exactly_once: answers the source's commit request, if one is open.
 * Returns 0 or -EIO with err (the producer cannot go on). */
static int txn_serve(struct kafka_sink *sink, char *err, size_t err_len)
{
    enum sl_txn_state answer;
    int rc = sl_kafka_txn_serve(sink->rk, sink->txn, sink->doomed[0] ? sink->doomed : NULL,
                                (int)sink->wait_ms, &answer, sink->fatal, sizeof(sink->fatal));
    if (rc)
        return sink_fatal(sink, err, err_len);
    if (answer != SL_TXN_IDLE)
        sink->doomed[0] = '\0';
    sink->txn_commits += answer == SL_TXN_COMMITTED;
    sink->txn_aborts += answer == SL_TXN_ABORTED;
    return 0;
}

/* -ETIMEDOUT with err: what still has no delivery report after wait_ms. */
static int undelivered(struct kafka_sink *sink, const char *what, char *err, size_t err_len)
{
    snprintf(err, err_len, "kafka sink %s: %s without a delivery report after %" PRId64 " ms",
             sink->node_name, what, sink->wait_ms);
    sl_kafka_txn_fail(sink->txn, err);
    return -ETIMEDOUT;
}

/* Serves delivery reports for at most timeout_ms, produces the dead letters
 * they call for, and confirms the writes that have every message delivered.
 * Returns 0, -EIO when the sink failed, or -ETIMEDOUT when the oldest
 * unconfirmed write is past message.timeout.ms plus a margin (with err). */
static int sink_serve(struct kafka_sink *sink, int timeout_ms, char *err, size_t err_len)
{
    rd_kafka_poll(sink->rk, timeout_ms);
    int rc = letters_produce(sink, err, err_len);
    if (rc)
        return rc;
    if (sink->errors)
        errors_advance(sink);
    if (sink->fatal[0])
        return sink_fatal(sink, err, err_len);
    while (sink->confirmed < sink->write_seq &&
           sink->writes[(sink->confirmed + 1) % SL_SINK_PENDING_MAX].outstanding == 0) {
        sink->confirmed++; /* every message reported: librdkafka holds no value of it */
        struct kafka_write *write = &sink->writes[sink->confirmed % SL_SINK_PENDING_MAX];
        sink->unconfirmed -= write->bytes;
        write->bytes = 0;
        sink->dead_confirmed += write->dead;
        write->dead = 0;
    }
    if (sink->confirmed < sink->write_seq) {
        const struct kafka_write *oldest =
            &sink->writes[(sink->confirmed + 1) % SL_SINK_PENDING_MAX];
        if (now_ms() - oldest->started_ms > sink->wait_ms) {
            char what[48];
            snprintf(what, sizeof(what), "%" PRIu32 " messages", oldest->outstanding);
            return undelivered(sink, what, err, err_len);
        }
    }
    return 0;
}

/* completed() of sl/connector.h: sink_serve(), then (exactly_once) the
 * source's commit request; returns how many writes are confirmed. */
static int64_t kafka_sink_completed(void *state, int timeout_ms, char *err, size_t err_len)
{
    struct kafka_sink *sink = state;
    int rc = sink_serve(sink, timeout_ms, err, err_len);
    if (rc)
        return rc;
    if (sink->txn) {
        rc = txn_serve(sink, err, err_len);
        if (rc)
            return rc;
        sink->confirmed = sink->write_seq; /* queued in the transaction */
    }
    return (int64_t)sink->confirmed;
}

/* Before a write: serves delivery reports while the messages in flight are
 * over unconfirmed_bytes, for at most a delivery bound (wait_ms). Every
 * message produced gets its report, a doomed transaction's too (librdkafka
 * purges its queue at an abortable error). Returns 0 or -errno with err. */
static int unconfirmed_wait(struct kafka_sink *sink, char *err, size_t err_len)
{
    if (sink->unconfirmed <= sink->plan->unconfirmed_max)
        return 0;
    sink->bound_waits++;
    int64_t deadline = now_ms() + sink->wait_ms;
    while (sink->unconfirmed > sink->plan->unconfirmed_max) {
        int rc = sink_serve(sink, KAFKA_QUEUE_FULL_POLL_MS, err, err_len);
        if (rc)
            return rc;
        if (now_ms() >= deadline) {
            char what[48];
            snprintf(what, sizeof(what), "%" PRIu64 " bytes of messages", sink->unconfirmed);
            return undelivered(sink, what, err, err_len);
        }
    }
    return 0;
}

/* dead_lettered() of sl/connector.h */
static uint64_t kafka_sink_dead_lettered(void *state)
{
    return ((const struct kafka_sink *)state)->dead_confirmed;
}

/* ---- producing events ---- */

/* A string field of table at voff: pointer to its bytes (NUL-terminated in
 * the buffer) and length; NULL when absent. */
static const char *fb_string(const uint8_t *table, uint16_t voff, size_t *len)
{
    const uint8_t *p = sl_fb_field_ptr(table, voff);
    if (!p) {
        *len = 0;
        return NULL;
    }
    const uint8_t *s = sl_fb_deref(p);
    *len = sl_fb_vec_len(s);
    return (const char *)sl_fb_vec_data(s);
}

/* The envelope headers of the event at root as a new header list, or NULL
 * when it has none. They go to produceva() as RD_KAFKA_VTYPE_HEADERS (which
 * owns them once it succeeds, never when it fails), not as single
 * RD_KAFKA_VTYPE_HEADER entries: librdkafka 2.0.2 frees the list it builds
 * from those twice when the partitioner refuses a message (a topic known to
 * be unauthorized, for one). One allocation per event with headers, as
 * librdkafka would make for the single entries. */
static rd_kafka_headers_t *event_headers(struct kafka_sink *sink, const uint8_t *root)
{
    const uint8_t *p = sl_fb_field_ptr(root, sink->voff_headers);
    if (!p)
        return NULL;
    const uint8_t *vec = sl_fb_deref(p);
    uint32_t count = sl_fb_vec_len(vec);
    if (count == 0)
        return NULL;
    rd_kafka_headers_t *headers = rd_kafka_headers_new(count);
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *header = sl_fb_deref(sl_fb_vec_data(vec) + 4 * (size_t)i);
        size_t key_len, value_len;
        const char *key = fb_string(header, sink->voff_header_key, &key_len);
        const char *value = fb_string(header, sink->voff_header_value, &value_len);
        if (key) /* required by the schema; verified events have it */
            rd_kafka_header_add(headers, key, (ssize_t)key_len, value,
                                value ? (ssize_t)value_len : -1);
    }
    return headers;
}

/* The message key of the event at root: the key expression's value or the
 * envelope key. NULL (len 0) for none. */
static const void *event_key(struct kafka_sink *sink, const uint8_t *root, size_t *len)
{
    if (!sink->plan->key_expr)
        return fb_string(root, sink->voff_key, len);
    struct sl_expr_value value;
    *len = 0;
    if (sl_expr_eval(sink->plan->key_expr, sink->staged, &value) != 0)
        return NULL;
    if (value.type == SL_EXPR_INT) {
        *len = (size_t)snprintf(sink->key_text, sizeof(sink->key_text), "%" PRId64, value.i);
        return sink->key_text;
    }
    *len = value.s.len;
    return value.s.ptr;
}

/* The topic of the event: the fixed topic or topic_expr's value copied into
 * topic_text. NULL with why set when topic_expr gives none usable. */
static const char *event_topic(struct kafka_sink *sink, const char **why)
{
    if (sink->plan->topic)
        return sink->plan->topic;
    struct sl_expr_value value;
    if (sl_expr_eval(sink->plan->topic_expr, sink->staged, &value) != 0) {
        *why = "topic_expr is absent for this event";
        return NULL;
    }
    if (value.s.len == 0 || value.s.len > KAFKA_TOPIC_BYTES_MAX) {
        *why = "topic_expr gives an empty name or one over 249 characters";
        return NULL;
    }
    memcpy(sink->topic_text, value.s.ptr, value.s.len);
    sink->topic_text[value.s.len] = '\0';
    return sink->topic_text;
}

/* The event (size-prefixed, len bytes) in the raw framing at sink->staged:
 * converted in the batch itself (in_place; the runner keeps the batch
 * until the write is confirmed), else copied into staging, which grows
 * (doubling) to the largest event and is reused. */
static void stage_event(struct kafka_sink *sink, uint8_t *frame, size_t len)
{
    sink->staged = sink->in_place ? frame : staging_reserve(sink, len);
    sink->staged_len = sl_fb_prefixed_to_raw(sink->staged, frame, len);
}

/* Dead-letters the staged event without producing it (why it cannot be). */
static void event_dead_letter(struct kafka_sink *sink, const char *topic, const void *key,
                              size_t key_len, const void *value, size_t value_len,
                              bool keep_value, const char *reason)
{
    const uint8_t *root = sl_fb_root(sink->staged);
    if (sink->errors) { /* the whole event goes to the errors port, whatever its size */
        value = sink->staged;
        value_len = sink->staged_len;
        keep_value = true;
    }
    rd_kafka_headers_t *headers = keep_value && !sink->errors ? event_headers(sink, root) : NULL;
    const uint8_t *ts = sl_fb_field_ptr(root, sink->voff_ts);
    int64_t ts_ms = ts ? (int64_t)sl_fb_u64(ts) / 1000 : 0;
    struct kafka_letter *letter = letter_add(sink, sink->write_seq, topic, key, key_len, value,
                                             value_len, keep_value, headers, ts_ms, reason);
    if (headers)
        rd_kafka_headers_destroy(headers);
    size_t id_len;
    const char *id = fb_string(root, sink->voff_id, &id_len);
    if (letter && !keep_value && id) {
        letter->event_id = strndup(id, id_len);
        SL_ASSERT(letter->event_id);
    }
}

/* The value of the staged event in the sink's format; NULL with why set
 * when the event has no JSON form. */
static const void *event_value(struct kafka_sink *sink, size_t raw_len, size_t *len, char *why,
                               size_t why_len)
{
    if (!sink->plan->json) {
        *len = raw_len;
        return sink->staged;
    }
    const char *out;
    if (sl_fb_to_json(&sink->json, sink->schemas->envelope, sink->staged, raw_len, &out, len,
                      why, why_len))
        return NULL;
    return out;
}

/* Produces the event at frame[0..len) (a verified, size-prefixed event).
 * Events that cannot be produced are queued as dead letters. */
static void produce_event(struct kafka_sink *sink, uint8_t *frame, size_t len)
{
    char why[KAFKA_REASON_BYTES];
    const char *reason = NULL;
    size_t key_len, value_len;
    SL_ASSERT(len >= 8);
    stage_event(sink, frame, len);
    const uint8_t *root = sl_fb_root(sink->staged);
    const void *key = event_key(sink, root, &key_len);
    const char *topic = event_topic(sink, &reason);
    if (!topic) {
        event_dead_letter(sink, "", key, key_len, sink->staged, len, true, reason);
        return;
    }
    const void *value = event_value(sink, len, &value_len, why, sizeof(why));
    if (!value) {
        event_dead_letter(sink, topic, key, key_len, sink->staged, len, true, why);
        return;
    }
    const uint8_t *ts = sl_fb_field_ptr(root, sink->voff_ts);
    rd_kafka_vu_t vus[KAFKA_FIXED_VUS];
    /* the fixed topic's handle spares produceva() a topic lookup under librdkafka's
     * write lock per message */
    vus[0] = sink->rkt && topic == sink->plan->topic
                 ? (rd_kafka_vu_t){.vtype = RD_KAFKA_VTYPE_RKT, .u.rkt = sink->rkt}
                 : (rd_kafka_vu_t){.vtype = RD_KAFKA_VTYPE_TOPIC, .u.cstr = topic};
    vus[1] = (rd_kafka_vu_t){.vtype = RD_KAFKA_VTYPE_KEY, .u.mem = {(void *)key, key_len}};
    vus[2] = (rd_kafka_vu_t){.vtype = RD_KAFKA_VTYPE_VALUE,
                             .u.mem = {(void *)value, value_len}};
    /* in_place: value is in the batch, held until the write is confirmed */
    vus[3] = (rd_kafka_vu_t){.vtype = RD_KAFKA_VTYPE_MSGFLAGS,
                             .u.i = sink->in_place ? 0 : RD_KAFKA_MSG_F_COPY};
    vus[4] = (rd_kafka_vu_t){.vtype = RD_KAFKA_VTYPE_OPAQUE,
                             .u.ptr = KAFKA_MSG_OPAQUE(sink->write_seq, KAFKA_MSG_EVENT)};
    vus[5] = (rd_kafka_vu_t){.vtype = RD_KAFKA_VTYPE_TIMESTAMP,
                             .u.i64 = ts ? (int64_t)sl_fb_u64(ts) / 1000 : 0};
    size_t n = 6;
    rd_kafka_headers_t *headers = event_headers(sink, root);
    if (headers)
        vus[n++] = (rd_kafka_vu_t){.vtype = RD_KAFKA_VTYPE_HEADERS, .u.headers = headers};
    rd_kafka_resp_err_t code =
        produce_vus(sink, sink->write_seq, vus, n, value_len, key_len, headers);
    if (code == RD_KAFKA_RESP_ERR_NO_ERROR)
        return; /* librdkafka owns headers now */
    if (headers)
        rd_kafka_headers_destroy(headers);
    if (code == RD_KAFKA_RESP_ERR__FATAL) {
        kafka_sink_on_error(sink->rk, code, "produce", sink);
        return;
    }
    snprintf(why, sizeof(why), "%s (value %zu bytes, key %zu bytes)", rd_kafka_err2str(code),
             value_len, key_len);
    if (sink->txn && code != RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
        /* not in the transaction, and not known bad: the transaction aborts
         * and the event is read again */
        if (!sink->doomed[0])
            snprintf(sink->doomed, sizeof(sink->doomed), "produce: %.400s", why);
        return;
    }
    /* too large for message.max.bytes: the dead letter cannot carry the value (nor the
     * headers, which may be what is large) either */
    event_dead_letter(sink, topic, key, key_len, value, value_len,
                      code != RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, why);
}

static int kafka_sink_write(void *state, struct sl_batch *batch, char *err, size_t err_len)
{
    struct kafka_sink *sink = state;
    int rc = unconfirmed_wait(sink, err, err_len);
    if (rc)
        return rc;
    int64_t now = now_ms();
    sink->deadline_ms = now + sink->wait_ms;
    struct kafka_write *write = &sink->writes[++sink->write_seq % SL_SINK_PENDING_MAX];
    /* the runner keeps at most SL_SINK_PENDING_MAX writes unconfirmed */
    SL_ASSERT(write->outstanding == 0 && write->bytes == 0);
    write->started_ms = now;
    uint32_t count = sl_batch_entry_count(batch);
    for (uint32_t i = 0; i < count && !sink->fatal[0]; i++) {
        const struct sl_batch_entry *entry = sl_batch_entry_at(batch, i);
        if (entry->kind == SL_ENTRY_EVENT)
            produce_event(sink, sl_batch_event_data(batch, entry), entry->len);
    }
    rc = letters_produce(sink, err, err_len);
    if (rc)
        return rc;
    if (sink->fatal[0])
        return sink_fatal(sink, err, err_len);
    /* in_place: librdkafka may read the batch until the write is confirmed
     * (held, whether or not any of its events was produced: one rule) */
    return sink->in_place ? SL_SINK_WRITE_HELD : 0;
}

/* ---- open / close ---- */

static uint16_t envelope_voff(const struct sl_fb_object *object, const char *name)
{
    const struct sl_fb_field *field = sl_fb_object_field(object, name, strlen(name));
    SL_ASSERT(field); /* schemas/event.fbs is compiled in */
    return field->offset;
}

static void resolve_envelope(struct kafka_sink *sink)
{
    const struct sl_fb_object *event = sink->schemas->envelope;
    sink->voff_id = envelope_voff(event, "id");
    sink->voff_key = envelope_voff(event, "key");
    sink->voff_ts = envelope_voff(event, "ts");
    sink->voff_headers = envelope_voff(event, "headers");
    const struct sl_fb_field *headers = sl_fb_object_field(event, "headers", 7);
    const struct sl_fb_object *header = sl_fb_schema_object(event->schema, headers->type.index);
    sink->voff_header_key = envelope_voff(header, "key");
    sink->voff_header_value = envelope_voff(header, "value");
}

/* Builds the producer's configuration: the plan's settings in order (the
 * kafka map last), the bootstrap list of the embedded cluster, callbacks.
 * Returns the conf, or NULL with err. */
static rd_kafka_conf_t *kafka_sink_conf(struct kafka_sink *sink, const char *bootstrap,
                                        char *err, size_t err_len)
{
    char errstr[512];
    rd_kafka_conf_t *conf = sl_kafka_settings_conf(&sink->plan->settings, bootstrap, errstr,
                                                   sizeof(errstr));
    if (!conf) {
        snprintf(err, err_len, "kafka sink %s: %s", sink->node_name, errstr);
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, sink);
    rd_kafka_conf_set_dr_msg_cb(conf, kafka_sink_on_delivery);
    rd_kafka_conf_set_error_cb(conf, kafka_sink_on_error);
    return conf;
}

/* The delivery bound of one batch: message.timeout.ms as finally set
 * (the kafka map may override delivery_timeout) plus a margin. */
static int64_t conf_wait_ms(const rd_kafka_conf_t *conf)
{
    return sl_kafka_conf_int(conf, "message.timeout.ms", 300000 /* librdkafka's default */) +
           KAFKA_WAIT_MARGIN_MS;
}

/* exactly_once: the transactional.id (unless the kafka map set one) and a
 * transaction timeout no shorter than message.timeout.ms, as librdkafka
 * requires. Returns 0 or -EINVAL with err. */
static int txn_conf(struct kafka_sink *sink, rd_kafka_conf_t *conf, char *err, size_t err_len)
{
    char id[512], text[32], errstr[512];
    if (rd_kafka_conf_get(conf, "transactional.id", id, &(size_t){sizeof(id)}) !=
            RD_KAFKA_CONF_OK || id[0] == '\0') {
        if (sink->plan->transactional_id)
            snprintf(id, sizeof(id), "%s", sink->plan->transactional_id);
        else
            snprintf(id, sizeof(id), "%s.%s", sink->txn->job_name, sink->node_name);
        if (rd_kafka_conf_set(conf, "transactional.id", id, errstr, sizeof(errstr)))
            goto fail;
    }
    long long message_ms = sink->wait_ms - KAFKA_WAIT_MARGIN_MS;
    if (sl_kafka_conf_int(conf, "transaction.timeout.ms", message_ms) < message_ms) {
        snprintf(text, sizeof(text), "%lld", message_ms);
        if (rd_kafka_conf_set(conf, "transaction.timeout.ms", text, errstr, sizeof(errstr)))
            goto fail;
    }
    return 0;
fail:
    snprintf(err, err_len, "kafka sink %s: %s", sink->node_name, errstr);
    return -EINVAL;
}

/* Looks the fixed topic up now. librdkafka 2.0.2 asks for the metadata of a
 * topic first named by produce() only at its next 1 s topic scan when its
 * connection is already up, so the first messages would wait up to a
 * second (a failure here is only logged: produce() retries as usual). */
static void topic_prefetch(struct kafka_sink *sink)
{
    if (!sink->plan->topic)
        return;
    sink->rkt = rd_kafka_topic_new(sink->rk, sink->plan->topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err =
        sink->rkt ? rd_kafka_metadata(sink->rk, 0, sink->rkt, &md, KAFKA_METADATA_TIMEOUT_MS)
                  : rd_kafka_last_error();
    if (md)
        rd_kafka_metadata_destroy(md);
    if (err)
        sl_log(SL_LOG_WARN, "%s: metadata of topic %s: %s", sink->node_name, sink->plan->topic,
               rd_kafka_err2str(err));
}

/* Destroys the producer (its threads joined; before the embedded cluster
 * it may use is released) and frees the sink. */
static void kafka_sink_free(struct kafka_sink *sink)
{
    if (sink->rkt)
        rd_kafka_topic_destroy(sink->rkt);
    if (sink->rk)
        rd_kafka_destroy(sink->rk);
    for (uint32_t i = 0; i < sink->letter_count; i++)
        letter_free(&sink->letters[i]);
    free(sink->letters);
    if (sink->plan->json)
        sl_fb_json_fini(&sink->json);
    free(sink->staging);
    if (sink->errors) {
        sl_fbb_fini(&sink->letter_builder);
        free(sink->forwarded);
    }
    if (sink->embedded_held)
        sl_kafka_embedded_release();
    free(sink);
}

static int kafka_sink_open(const struct sl_sink_args *args, void **state, char *err,
                           size_t err_len)
{
    char bootstrap[KAFKA_BOOTSTRAP_BYTES];
    char errstr[512];
    (void)sl_hugepage_arena_enter(); /* this thread produces: core/hugepage_arena.h */
    struct kafka_sink *sink = calloc(1, sizeof(*sink));
    SL_ASSERT(sink);
    sink->plan = args->plan;
    sink->schemas = args->schemas;
    sink->node_name = args->node_name ? args->node_name : "kafka";
    sink->txn = args->txn;
    sink->in_place = !sink->plan->json && !sink->txn;
    sink->errors = args->errors;
    if (sink->errors) {
        sl_envelope_init(&sink->env, sink->schemas);
        sl_fbb_init(&sink->letter_builder, 4096);
    }
    resolve_envelope(sink);
    if (sink->plan->json)
        sl_fb_json_init(&sink->json, sink->schemas);
    if (sink->plan->embedded) {
        if (sl_kafka_embedded_acquire(bootstrap, sizeof(bootstrap), errstr, sizeof(errstr))) {
            snprintf(err, err_len, "kafka sink %s: embedded cluster: %s", sink->node_name,
                     errstr);
            goto fail;
        }
        sink->embedded_held = true;
    }
    rd_kafka_conf_t *conf =
        kafka_sink_conf(sink, sink->embedded_held ? bootstrap : NULL, err, err_len);
    if (!conf)
        goto fail;
    sink->wait_ms = conf_wait_ms(conf);
    if (sink->txn && txn_conf(sink, conf, err, err_len)) {
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    sink->rk = sl_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!sink->rk) {
        snprintf(err, err_len, "kafka sink %s: %s", sink->node_name, errstr);
        goto fail;
    }
    topic_prefetch(sink);
    if (sink->txn && sl_kafka_txn_init(sink->rk, (int)sink->wait_ms, errstr, sizeof(errstr))) {
        snprintf(err, err_len, "kafka sink %s: %s", sink->node_name, errstr);
        goto fail;
    }
    *state = sink;
    return 0;
fail:
    sl_kafka_txn_fail(args->txn, err);
    kafka_sink_free(sink);
    return -EINVAL;
}

/* close(): the letters that deliveries failing in the last flush made, sent
 * to the errors port and written. Returns 0 or -errno with err. */
static int errors_drain(struct kafka_sink *sink, char *err, size_t err_len)
{
    int64_t deadline = now_ms() + KAFKA_CLOSE_TIMEOUT_MS;
    while (sink->letter_count > 0 || sink->forwarded_count > 0) {
        int rc = letters_forward(sink, err, err_len);
        if (rc)
            return rc;
        errors_advance(sink);
        if (sink->fatal[0])
            return sink_fatal(sink, err, err_len);
        if (now_ms() > deadline) {
            snprintf(err, err_len, "kafka sink %s: %u dead letters not written by its errors "
                     "port's sink after %d ms", sink->node_name,
                     sink->letter_count + sink->forwarded_count, KAFKA_CLOSE_TIMEOUT_MS);
            return -ETIMEDOUT;
        }
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    return 0;
}

/* The runner saw every write confirmed (a failed sink is abandoned
 * instead); the flush covers what the last writes' dead letters queued. */
static int kafka_sink_close(void *state, char *err, size_t err_len)
{
    struct kafka_sink *sink = state;
    int rc = 0;
    if (sink->txn && !sink->fatal[0]) {
        /* the source's last request committed all it handed on: what is
         * open now is empty, or was left by a source that could not finish
         * (its input is read again) */
        rd_kafka_error_t *error = rd_kafka_abort_transaction(sink->rk, KAFKA_CLOSE_TIMEOUT_MS);
        if (error) {
            snprintf(err, err_len, "kafka sink %s: abort of the last transaction: %s",
                     sink->node_name, rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
            rc = -EIO;
        }
        sl_log(SL_LOG_INFO, "%s: %" PRIu64 " transactions committed, %" PRIu64 " aborted",
               sink->node_name, sink->txn_commits, sink->txn_aborts);
    }
    sl_kafka_txn_fail(sink->txn, "the kafka sink closed");
    rd_kafka_flush(sink->rk, KAFKA_CLOSE_TIMEOUT_MS);
    int left = rd_kafka_outq_len(sink->rk);
    if (left > 0) {
        snprintf(err, err_len, "kafka sink %s: %d messages still queued after %d ms at close",
                 sink->node_name, left, KAFKA_CLOSE_TIMEOUT_MS);
        rc = -ETIMEDOUT;
    }
    if (sink->errors && rc == 0)
        rc = errors_drain(sink, err, err_len);
    sl_log(SL_LOG_INFO, "%s: %" PRIu64 " messages delivered, %" PRIu64 " dead-lettered, %" PRIu64
           " writes waited for unconfirmed_bytes", sink->node_name, sink->delivered,
           sink->dead_lettered, sink->bound_waits);
    kafka_sink_free(sink);
    return rc;
}

/* abandon() of sl/connector.h: the run gave up on the sink. Queued and
 * in-flight messages are purged and the producer is destroyed (its threads
 * joined), so librdkafka reads no held batch any more; nothing is flushed,
 * dead-lettered or committed. */
static void kafka_sink_abandon(void *state)
{
    struct kafka_sink *sink = state;
    sl_kafka_txn_fail(sink->txn, "the kafka sink failed");
    rd_kafka_purge(sink->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    kafka_sink_free(sink);
}

const struct sl_sink_type sl_sink_kafka = {
    .name = "kafka",
    .summary = "produce events to a Kafka topic (idempotent producer, delivery-checked)",
    .options = kafka_sink_options,
    .compile = kafka_sink_compile,
    .plan_free = kafka_sink_plan_free,
    .open = kafka_sink_open,
    .write = kafka_sink_write,
    .close = kafka_sink_close,
    .completed = kafka_sink_completed,
    .dead_lettered = kafka_sink_dead_lettered,
    .abandon = kafka_sink_abandon,
    .errors_port = true,
};
