/* kafka_txn.h - exactly-once for the kafka connectors: both sides of the
 * sl_txn handshake (sl/connector.h). The sink's side drives a
 * transactional producer (init, commit with the source's offsets, abort);
 * the source's side posts a commit request and waits for the answer.
 * Each side is called from its own thread only. */
#ifndef SL_CONNECTORS_KAFKA_TXN_H
#define SL_CONNECTORS_KAFKA_TXN_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "sl/connector.h"

/* Sink: init_transactions (fences any older producer with the same
 * transactional.id) and begins the first transaction. Returns 0 or -EIO
 * with err. */
int sl_kafka_txn_init(rd_kafka_t *rk, int timeout_ms, char *err, size_t err_len);

/* Sink: when a request is open, ends the open transaction -- aborted when
 * doomed is not NULL (why: a message could not be queued in it), else
 * committed with the request's offsets (commit_transaction flushes what is
 * queued), or aborted when that fails with an error that requires an abort
 * (a delivery in it failed) -- begins the next one and answers; *answer is
 * what it answered (SL_TXN_IDLE: no request was open). Returns 0, or -EIO
 * with err when the producer cannot go on (fenced, fatal): answered FAILED. */
int sl_kafka_txn_serve(rd_kafka_t *rk, struct sl_txn *txn, const char *doomed, int timeout_ms,
                       enum sl_txn_state *answer, char *err, size_t err_len);

/* Sink: it failed (reason); every request from now on is answered FAILED. */
void sl_kafka_txn_fail(struct sl_txn *txn, const char *reason);

/* Source: asks the sink to commit its transaction with offsets for the
 * consumer group of cgmd and waits for the answer: SL_TXN_COMMITTED,
 * SL_TXN_ABORTED (why in txn->reason) or SL_TXN_FAILED (txn->fail_reason).
 * The sink answers every request (its librdkafka calls are bounded by
 * timeouts) and turns FAILED when it stops, so the wait ends. The caller keeps offsets and
 * cgmd and frees them afterwards. */
enum sl_txn_state sl_kafka_txn_request(struct sl_txn *txn,
                                       rd_kafka_topic_partition_list_t *offsets,
                                       rd_kafka_consumer_group_metadata_t *cgmd);

#endif
