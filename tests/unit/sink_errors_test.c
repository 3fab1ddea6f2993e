/* sink_errors_test.c - the channel of a sink's errors port (graph/run.h,
 * sl/connector.h) between two threads, as the concurrency suite runs it
 * under ThreadSanitizer: a writer (the kafka sink's side: takes batches
 * with sl_sink_errors_batch(), never waiting inside it, fills them with
 * numbered events, pushes them, and watches sl_sink_errors_written()) and a
 * reader (sink_runner.c's side: pops, checks each event's number and bytes,
 * publishes the count with a release add, returns the batch to the pool,
 * and sleeps on its doorbell when the ring is empty).
 *   1. 20000 events arrive in order, intact; written only grows and ends
 *      at the number pushed; the writer never had more batches out than
 *      the pool holds (it got NULL and retried instead of blocking);
 *   2. a reader that fails sets failed, which the writer sees. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/backoff.h"
#include "core/doorbell.h"
#include "core/pool.h"
#include "core/ring.h"
#include "graph/run.h"

static int test_failures;

#include "test.h"

#define EVENTS 20000u
/* the reader's longest sleep: long, so that a push that rang no bell
 * stalls the test into its timeout */
#define READER_WAIT_NS 30000000000u
#define EVENT_BYTES 64u

struct reader {
    struct sl_sink_errors *errors;
    uint64_t expected;          /* next event number */
    uint32_t bad;
    uint64_t fail_after;        /* 0: never */
    _Atomic bool stop;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    while (!atomic_load_explicit(&r->stop, memory_order_acquire)) {
        void *item;
        if (sl_ring_pop(r->errors->ring, &item) != 0) {
            sl_doorbell_idle(r->errors->reader_bell, READER_WAIT_NS);
            continue;
        }
        sl_doorbell_busy(r->errors->reader_bell);
        struct sl_batch *batch = item;
        uint32_t n = sl_batch_entry_count(batch), events = 0;
        for (uint32_t i = 0; i < n; i++) {
            struct sl_batch_entry *entry = sl_batch_entry_at(batch, i);
            if (entry->kind != SL_ENTRY_EVENT)
                continue;
            const uint8_t *data = sl_batch_event_data(batch, entry);
            uint64_t number;
            memcpy(&number, data, sizeof(number));
            r->bad += number != r->expected || data[EVENT_BYTES - 1] != (uint8_t)number;
            r->expected++;
            events++;
        }
        if (r->fail_after && r->expected >= r->fail_after)
            atomic_store_explicit(&r->errors->failed, true, memory_order_release);
        else
            atomic_fetch_add_explicit(&r->errors->written, events, memory_order_release);
        sl_pool_return(batch, 0);
    }
    return NULL;
}

/* Pushes `count` numbered events; returns the last written count seen. */
static uint64_t write_events(struct sl_sink_errors *errors, uint32_t count, bool *failed,
                             uint32_t *regressions)
{
    struct sl_backoff backoff = {0};
    uint64_t last = 0;
    uint8_t event[EVENT_BYTES];
    struct sl_batch *batch = NULL;
    for (uint64_t i = 0; i < count && !*failed;) {
        if (!batch && !(batch = sl_sink_errors_batch(errors))) {
            uint64_t w = sl_sink_errors_written(errors, failed);
            *regressions += w < last;
            last = w;
            sl_backoff_nap(&backoff);
            continue;
        }
        memcpy(event, &i, sizeof(i));
        memset(event + sizeof(i), (uint8_t)i, EVENT_BYTES - sizeof(i));
        if (sl_batch_append(batch, event, EVENT_BYTES, 0, i) != 0) {
            sl_sink_errors_push(errors, batch); /* full: event i goes into the next */
            batch = NULL;
            continue;
        }
        if (++i % 97 == 0) { /* a short batch now and then */
            sl_sink_errors_push(errors, batch);
            batch = NULL;
        }
    }
    if (batch && sl_batch_event_count(batch))
        sl_sink_errors_push(errors, batch);
    else if (batch)
        sl_pool_put(errors->pool, batch);
    for (int spins = 0; spins < 200000 && !*failed; spins++) {
        uint64_t w = sl_sink_errors_written(errors, failed);
        *regressions += w < last;
        last = w;
        if (w == errors->pushed)
            break;
        sl_backoff_nap(&backoff);
    }
    return last;
}

static void run_case(uint64_t fail_after)
{
    static struct sl_doorbell bell;
    bell = (struct sl_doorbell){0};
    struct sl_sink_errors errors = {
        .limits = {.events_max = 64, .arena_bytes_max = 64 * 1024}, .reader_bell = &bell};
    SL_ASSERT(sl_ring_create(SL_SINK_ERRORS_BATCHES, &errors.ring) == 0);
    struct sl_pool_config config = {.batches = SL_SINK_ERRORS_BATCHES, .returners = 1,
                                    .limits = errors.limits};
    SL_ASSERT(sl_pool_create(&config, &errors.pool) == 0);
    struct reader r = {.errors = &errors, .fail_after = fail_after};
    pthread_t thread;
    SL_ASSERT(pthread_create(&thread, NULL, reader_main, &r) == 0);
    bool failed = false;
    uint32_t regressions = 0;
    uint64_t written = write_events(&errors, EVENTS, &failed, &regressions);
    atomic_store_explicit(&r.stop, true, memory_order_release);
    sl_doorbell_ring(&bell);
    pthread_join(thread, NULL);
    CHECK_MSG(regressions == 0, "written went back %u times", regressions);
    if (fail_after) {
        CHECK_MSG(failed, "the writer did not see the reader fail");
    } else {
        CHECK_MSG(!failed && written == EVENTS && errors.pushed == EVENTS,
                  "written %llu, pushed %llu of %u", (unsigned long long)written,
                  (unsigned long long)errors.pushed, EVENTS);
        CHECK_MSG(r.bad == 0 && r.expected == EVENTS, "%u events out of order or damaged, "
                  "%llu read", r.bad, (unsigned long long)r.expected);
    }
    sl_pool_destroy(errors.pool);
    sl_ring_destroy(errors.ring);
}

int main(void)
{
    run_case(0);
    run_case(5000);
    return test_exit("sink_errors_test");
}
