/* txn_test.c - the source side of the exactly-once handshake
 * (connectors/kafka/kafka_txn.h) against a stand-in sink thread, as the
 * concurrency suite runs it under ThreadSanitizer:
 *   1. 5000 requests, each publishing its own offsets pointer; the
 *      stand-in answers COMMITTED or ABORTED (with a reason naming the
 *      request) as the real sink does: reads offsets after its acquire
 *      load, writes reason before its release store. Every answer matches
 *      its request; the reason is the one written for it.
 *   2. the sink fails (sl_kafka_txn_fail, the real call) while the source
 *      keeps requesting: no request hangs, and from the first FAILED on
 *      every request is FAILED (the state stays FAILED).
 * The sink's librdkafka calls (sl_kafka_txn_serve) need a cluster: the
 * kafka_eos integration test covers them. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../connectors/kafka/kafka_txn.h"

static int test_failures;

#include "test.h"

#define REQUESTS 5000u

struct stand_in {
    struct sl_txn *txn;
    _Atomic bool stop;
    _Atomic bool fail;          /* phase 2: fail instead of answering */
    uint32_t served;
    uint32_t mismatched;        /* offsets that did not name a request */
};

static void *sink_thread(void *arg)
{
    struct stand_in *sink = arg;
    struct sl_txn *txn = sink->txn;
    while (!atomic_load_explicit(&sink->stop, memory_order_acquire)) {
        if (atomic_load_explicit(&sink->fail, memory_order_acquire)) {
            sl_kafka_txn_fail(txn, "the stand-in sink failed");
            return NULL;
        }
        /* acquire: pairs with the release CAS in sl_kafka_txn_request() */
        if (atomic_load_explicit(&txn->state, memory_order_acquire) != SL_TXN_REQUESTED)
            continue;
        uintptr_t i = (uintptr_t)txn->offsets;
        if (i == 0 || i > REQUESTS || (uintptr_t)txn->group_metadata != i + 1)
            sink->mismatched++;
        bool commit = i % 3 != 0;
        snprintf(txn->reason, sizeof(txn->reason), "request %u", (unsigned)i);
        /* release: publishes reason; pairs with the acquire load in the request */
        atomic_store_explicit(&txn->state, commit ? SL_TXN_COMMITTED : SL_TXN_ABORTED,
                              memory_order_release);
        sink->served++;
    }
    return NULL;
}

static void test_answers(void)
{
    struct sl_txn txn = {.job_name = "txn-test"};
    struct stand_in sink = {.txn = &txn};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, sink_thread, &sink) == 0);
    uint32_t wrong = 0, wrong_reason = 0;
    for (uintptr_t i = 1; i <= REQUESTS; i++) {
        enum sl_txn_state state = sl_kafka_txn_request(
            &txn, (rd_kafka_topic_partition_list_t *)i,
            (rd_kafka_consumer_group_metadata_t *)(i + 1));
        enum sl_txn_state want = i % 3 != 0 ? SL_TXN_COMMITTED : SL_TXN_ABORTED;
        char reason[32];
        snprintf(reason, sizeof(reason), "request %u", (unsigned)i);
        wrong += state != want;
        wrong_reason += strcmp(txn.reason, reason) != 0;
    }
    atomic_store_explicit(&sink.stop, true, memory_order_release);
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK_MSG(wrong == 0, "%u answers did not match their request", wrong);
    CHECK_MSG(wrong_reason == 0, "%u reasons were not the request's", wrong_reason);
    CHECK_MSG(sink.served == REQUESTS, "served %u of %u", sink.served, REQUESTS);
    CHECK_MSG(sink.mismatched == 0, "%u requests seen with foreign offsets", sink.mismatched);
    CHECK(atomic_load(&txn.state) == SL_TXN_IDLE);
}

static void test_fail_is_sticky(void)
{
    struct sl_txn txn = {.job_name = "txn-test"};
    struct stand_in sink = {.txn = &txn};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, sink_thread, &sink) == 0);
    uint32_t answered = 0, failed_then_other = 0;
    bool failed = false;
    for (uintptr_t i = 1; i <= REQUESTS; i++) {
        if (i == REQUESTS / 2)
            atomic_store_explicit(&sink.fail, true, memory_order_release);
        enum sl_txn_state state = sl_kafka_txn_request(
            &txn, (rd_kafka_topic_partition_list_t *)i,
            (rd_kafka_consumer_group_metadata_t *)(i + 1));
        if (state == SL_TXN_FAILED) {
            failed = true;
            continue;
        }
        answered++;
        failed_then_other += failed;
    }
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK_MSG(failed, "no request saw the sink's failure");
    CHECK_MSG(failed_then_other == 0, "%u requests answered after FAILED", failed_then_other);
    CHECK_MSG(answered >= REQUESTS / 2 - 1, "only %u answered before the failure", answered);
    CHECK(atomic_load(&txn.state) == SL_TXN_FAILED);
    CHECK(strstr(txn.fail_reason, "stand-in sink failed") != NULL);
}

int main(void)
{
    test_answers();
    test_fail_is_sticky();
    return test_exit("txn_test");
}
