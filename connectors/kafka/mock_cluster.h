/* mock_cluster.h - a development Kafka cluster: librdkafka's mock cluster
 * (rdkafka_mock.h, librdkafka 2.0.2) on 127.0.0.1, with topics, fault
 * injection through text commands, and the one process-wide "embedded"
 * cluster behind `brokers: embedded` in job files.
 *
 * The mock is a test double of limited fidelity: each partition keeps only
 * its newest ~5 MiB (and at most about 100 k message sets), Fetch ignores the
 * isolation level, EndTxn writes no transaction markers and TxnOffsetCommit
 * discards the offsets. Its fault calls act only inside the process that
 * owns it, hence the command interface (sl_kafka_mock_exec) that `sluice
 * broker` serves on its control channel.
 *
 * Thread-safety: the mock runs its brokers on its own thread; every function
 * here may be called from any thread (librdkafka hands each call to that
 * thread as an operation and waits for it). create/destroy are the caller's
 * to order against the other calls. */
#ifndef SL_KAFKA_MOCK_CLUSTER_H
#define SL_KAFKA_MOCK_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#define SL_KAFKA_MOCK_BROKERS_MAX 32
#define SL_KAFKA_MOCK_PARTITIONS_MAX 10000
#define SL_KAFKA_MOCK_PARTITIONS_DEFAULT 4 /* as the mock's auto-created topics */
#define SL_KAFKA_MOCK_REPLICATION_MAX 3    /* the mock's auto-create default, capped */
#define SL_KAFKA_MOCK_ERRORS_MAX 64        /* errors pushed by one `errors` command */

struct sl_kafka_mock;

/* Starts a cluster of broker_count brokers (ids 1..broker_count), each
 * listening on an ephemeral port of 127.0.0.1. Returns 0 and *mock, or a
 * negative errno with the reason in err (nothing left running). */
int sl_kafka_mock_create(struct sl_kafka_mock **mock, unsigned broker_count, char *err,
                         size_t err_len);

/* Stops the brokers (clients see their connections close) and frees. */
void sl_kafka_mock_destroy(struct sl_kafka_mock *mock);

/* The bootstrap list "127.0.0.1:P1,127.0.0.1:P2,...", valid until destroy. */
const char *sl_kafka_mock_bootstraps(const struct sl_kafka_mock *mock);

unsigned sl_kafka_mock_broker_count(const struct sl_kafka_mock *mock);

/* Creates topic with partitions and replication (0 = min(3, brokers)).
 * An existing topic is an error (-EEXIST); the mock has no topic deletion. */
int sl_kafka_mock_topic_create(struct sl_kafka_mock *mock, const char *topic, int partitions,
                               int replication, char *err, size_t err_len);

/* Parses "NAME[:PARTITIONS[:REPLICATION]]" (the --topic syntax) into name
 * (name_len bytes with its NUL) and the counts (defaults: 4, 0). */
int sl_kafka_mock_topic_parse(const char *spec, char *name, size_t name_len, int *partitions,
                              int *replication, char *err, size_t err_len);

/* Kafka protocol ApiKey of a request name ("Produce", "fetch", or a number
 * 0..67); -EINVAL when unknown. */
int sl_kafka_api_key_parse(const char *name);

/* Error code of a name as rd_kafka_err2name() spells it ("NOT_LEADER_FOR_PARTITION",
 * "_TRANSPORT"), the Kafka protocol's newer spelling where librdkafka keeps
 * an older one ("NOT_LEADER_OR_FOLLOWER"), case-insensitive, or a number.
 * Returns 0 and *code, or -EINVAL. */
int sl_kafka_err_parse(const char *name, int *code);

/* Applies one fault command (one line, no newline needed) and writes the
 * one-line answer ("ok ..." or "error ...") into reply:
 *   broker ID|all down      broker ID|all up       rtt ID|all MS
 *   errors API COUNT ERR... (COUNT requests of API fail, one ERR each;
 *                            the last ERR repeats when fewer are given)
 *   topic NAME PARTITIONS [REPLICATION]
 *   leader TOPIC PARTITION ID (-1: leaderless)
 *   bootstrap               help
 * Returns 0 when applied, a negative errno otherwise (reply says why).
 * `quit` is the control channel's business, not a cluster command. */
int sl_kafka_mock_exec(struct sl_kafka_mock *mock, const char *line, char *reply,
                       size_t reply_len);

/* The embedded cluster (`brokers: embedded`): one per process, created on the
 * first acquire and destroyed by the release that drops the last reference.
 * It has SL_KAFKA_EMBEDDED_BROKERS brokers. The mock creates a topic, with
 * SL_KAFKA_MOCK_PARTITIONS_DEFAULT partitions, when a Metadata request names
 * it and allows auto-creation: librdkafka producers do by default, consumers
 * only with allow.auto.create.topics=true (default false), so a source should
 * create its topics with sl_kafka_embedded_topic() before subscribing, which
 * also sets another partition count.
 * acquire copies the bootstrap list into bootstrap (-ENOSPC if it does not
 * fit, and then no reference is taken). Every successful acquire needs one
 * release, after the caller's clients are destroyed. */
#define SL_KAFKA_EMBEDDED_BROKERS 1u

int sl_kafka_embedded_acquire(char *bootstrap, size_t bootstrap_len, char *err, size_t err_len);
void sl_kafka_embedded_release(void);

/* Creates topic on the embedded cluster (which the caller holds a reference
 * to) with partitions; a topic that already exists keeps its partition count
 * and is not an error. Returns 0, -ENOENT with no cluster, or a negative
 * errno with err filled. */
int sl_kafka_embedded_topic(const char *topic, int partitions, char *err, size_t err_len);

#endif
