/* kafka_txn.c - both sides of the exactly-once handshake (kafka_txn.h).
 *
 * States of txn->state and who moves them:
 *   IDLE -> REQUESTED           source (release: offsets, group_metadata)
 *   REQUESTED -> COMMITTED |    sink (release: reason), after the open
 *     ABORTED | FAILED          transaction ended and the next one began
 *   COMMITTED | ABORTED -> IDLE source, once it read the answer
 *   any -> FAILED               sink, when it cannot go on (stays FAILED)
 * A transactional API call that fails retriably is tried again (at most
 * KTXN_RETRIES tries; still failing, it counts as the error it gave); one
 * that requires an abort aborts; a fatal one
 * (fenced by a newer producer with the same transactional.id) fails the
 * sink. */
#include "kafka_txn.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "core/log.h"

#define KTXN_RETRIES 3
#define KTXN_WAIT_NS 200000 /* one nap of the waiting source */

int sl_kafka_txn_init(rd_kafka_t *rk, int timeout_ms, char *err, size_t err_len)
{
    rd_kafka_error_t *error = rd_kafka_init_transactions(rk, timeout_ms);
    if (!error)
        error = rd_kafka_begin_transaction(rk);
    if (!error)
        return 0;
    snprintf(err, err_len, "transactions: %s", rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
    return -EIO;
}

/* FAILED has a reason buffer of its own: the sink may fail at any time
 * (sl_kafka_txn_fail), also while the source still reads an ABORTED answer's
 * reason, which the sink writes only while a request is open. */
static void answer(struct sl_txn *txn, enum sl_txn_state state, const char *reason)
{
    if (state == SL_TXN_FAILED)
        snprintf(txn->fail_reason, sizeof(txn->fail_reason), "%s", reason ? reason : "");
    else
        snprintf(txn->reason, sizeof(txn->reason), "%s", reason ? reason : "");
    /* release: publishes the reason; pairs with the acquire load in sl_kafka_txn_request() */
    atomic_store_explicit(&txn->state, state, memory_order_release);
}

void sl_kafka_txn_fail(struct sl_txn *txn, const char *reason)
{
    if (txn && atomic_load_explicit(&txn->state, memory_order_relaxed) != SL_TXN_FAILED)
        answer(txn, SL_TXN_FAILED, reason);
}

enum txn_call { TXN_SEND_OFFSETS, TXN_COMMIT, TXN_ABORT };

/* One transactional call, tried again while it fails retriably, at most
 * KTXN_RETRIES tries in all. Returns NULL, or the error of the last try
 * (a retriable one too, when every try failed). */
static rd_kafka_error_t *call_retried(rd_kafka_t *rk, enum txn_call call, struct sl_txn *txn,
                                      int timeout_ms)
{
    for (int i = 1;; i++) {
        rd_kafka_error_t *error =
            call == TXN_SEND_OFFSETS
                ? rd_kafka_send_offsets_to_transaction(rk, txn->offsets, txn->group_metadata,
                                                       timeout_ms)
            : call == TXN_COMMIT ? rd_kafka_commit_transaction(rk, timeout_ms)
                                 : rd_kafka_abort_transaction(rk, timeout_ms);
        if (!error || !rd_kafka_error_is_retriable(error) || i == KTXN_RETRIES)
            return error;
        sl_log(SL_LOG_WARN, "kafka transaction: %s (retried)", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
}

/* Aborts the open transaction and begins the next. Returns NULL or the
 * error that ended it. */
static rd_kafka_error_t *abort_and_begin(rd_kafka_t *rk, struct sl_txn *txn, int timeout_ms)
{
    rd_kafka_error_t *error = call_retried(rk, TXN_ABORT, txn, timeout_ms);
    return error ? error : rd_kafka_begin_transaction(rk);
}

/* send_offsets (when there are any) + commit. Returns NULL or the error
 * that ended it. */
static rd_kafka_error_t *commit(rd_kafka_t *rk, struct sl_txn *txn, int timeout_ms)
{
    rd_kafka_topic_partition_list_t *offsets = txn->offsets;
    rd_kafka_error_t *error = NULL;
    if (offsets && offsets->cnt)
        error = call_retried(rk, TXN_SEND_OFFSETS, txn, timeout_ms);
    return error ? error : call_retried(rk, TXN_COMMIT, txn, timeout_ms);
}

int sl_kafka_txn_serve(rd_kafka_t *rk, struct sl_txn *txn, const char *doomed, int timeout_ms,
                       enum sl_txn_state *answered, char *err, size_t err_len)
{
    *answered = SL_TXN_IDLE;
    /* acquire: pairs with the release in sl_kafka_txn_request(): offsets are readable */
    if (atomic_load_explicit(&txn->state, memory_order_acquire) != SL_TXN_REQUESTED)
        return 0;
    char why[256];
    rd_kafka_error_t *error = NULL;
    if (doomed) {
        snprintf(why, sizeof(why), "%s", doomed);
    } else {
        error = commit(rk, txn, timeout_ms);
        if (!error)
            error = rd_kafka_begin_transaction(rk);
        if (!error) {
            *answered = SL_TXN_COMMITTED;
            answer(txn, SL_TXN_COMMITTED, NULL);
            return 0;
        }
        if (!rd_kafka_error_txn_requires_abort(error))
            goto fatal;
        snprintf(why, sizeof(why), "%s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
    error = abort_and_begin(rk, txn, timeout_ms);
    if (!error) {
        *answered = SL_TXN_ABORTED;
        answer(txn, SL_TXN_ABORTED, why);
        return 0;
    }
fatal:
    snprintf(err, err_len, "transaction: %s", rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
    *answered = SL_TXN_FAILED;
    answer(txn, SL_TXN_FAILED, err);
    return -EIO;
}

enum sl_txn_state sl_kafka_txn_request(struct sl_txn *txn,
                                       rd_kafka_topic_partition_list_t *offsets,
                                       rd_kafka_consumer_group_metadata_t *cgmd)
{
    int expected = SL_TXN_IDLE;
    txn->offsets = offsets;
    txn->group_metadata = cgmd;
    /* release: publishes offsets and group_metadata; pairs with the acquire
     * load in sl_kafka_txn_serve(). Fails only when the sink already FAILED. */
    if (!atomic_compare_exchange_strong_explicit(&txn->state, &expected, SL_TXN_REQUESTED,
                                                 memory_order_release, memory_order_acquire))
        return SL_TXN_FAILED;
    const struct timespec nap = {0, KTXN_WAIT_NS};
    for (;;) {
        /* acquire: pairs with the release store in answer(): reason is readable */
        int state = atomic_load_explicit(&txn->state, memory_order_acquire);
        if (state == SL_TXN_FAILED)
            return SL_TXN_FAILED;
        if (state != SL_TXN_REQUESTED) {
            /* a CAS, not a store: the sink may turn FAILED meanwhile, and
             * that must stay; relaxed: nothing is published with IDLE */
            int answered = state;
            atomic_compare_exchange_strong_explicit(&txn->state, &answered, SL_TXN_IDLE,
                                                    memory_order_relaxed, memory_order_relaxed);
            return (enum sl_txn_state)state;
        }
        nanosleep(&nap, NULL);
    }
}
