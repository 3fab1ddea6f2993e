/* doorbell_test.c - core/doorbell.h, with a sleep timeout of 5 s: a lost
 * wake-up leaves a thread asleep for the whole timeout, which the sleep
 * reports; none may happen.
 *   1. the states of one bell: arming, disarming, a ring before the sleep,
 *      a sleep nobody rings;
 *   2. two threads play ping-pong over two one-slot rings (50000 rounds),
 *      each sleeping on its own bell while its ring is empty; they must
 *      have gone to the futex (else the test proves nothing);
 *   3. three producers push to rings of their own and ring one consumer's
 *      bell (as sources ring a worker's): one producer's ring may clear the
 *      bell another then finds cleared; every value arrives, in order.
 * The concurrency suite runs it under ThreadSanitizer, which sees neither
 * the futex nor the fences: there it checks the rings' data only.
 * Exit 0 pass, 1 fail. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "core/doorbell.h"
#include "core/ring.h"

static int test_failures;

#include "test.h"

#define ROUNDS 50000u
#define LOST_NS 5000000000u /* a sleep this long means a lost wake-up */
#define PRODUCERS 3u
#define PRODUCED 100000u    /* values per producer */

struct side {
    struct sl_ring *in, *out;           /* pops in, pushes to out */
    struct sl_doorbell bell;            /* sleeps on it; rung by the other side */
    struct sl_doorbell *other;
    uint32_t sleeps, timeouts, bad;
    _Atomic bool *lost;                 /* set by either side at a timeout: both stop */
};

/* Waits for the next value on side->in, sleeping on the bell; 0 once a
 * wake-up was lost (on either side). */
static uintptr_t take(struct side *side)
{
    void *item;
    while (sl_ring_pop(side->in, &item) != 0) {
        if (atomic_load(side->lost))
            return 0;
        if (sl_doorbell_idle(&side->bell, LOST_NS)) {
            side->timeouts++;
            atomic_store(side->lost, true);
            sl_doorbell_ring(side->other); /* the other side may wait for us */
        } else if (!side->bell.armed) {
            side->sleeps++; /* went to the futex (it may have returned at once) */
        }
    }
    sl_doorbell_busy(&side->bell);
    return (uintptr_t)item;
}

static void give(struct side *side, uintptr_t value)
{
    CHECK(sl_ring_push(side->out, (void *)value) == 0);
    sl_doorbell_ring(side->other);
}

static void *echo_main(void *arg)
{
    struct side *side = arg;
    for (uintptr_t i = 1; i <= ROUNDS; i++) {
        uintptr_t v = take(side);
        if (!v)
            break;
        side->bad += v != i;
        give(side, v + ROUNDS);
    }
    return NULL;
}

static void test_ping_pong(void)
{
    static struct side ping, echo;
    static _Atomic bool lost;
    ping.lost = echo.lost = &lost;
    CHECK(sl_ring_create(1, &ping.out) == 0);
    CHECK(sl_ring_create(1, &echo.out) == 0);
    ping.in = echo.out;
    echo.in = ping.out;
    ping.other = &echo.bell;
    echo.other = &ping.bell;
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, echo_main, &echo) == 0);
    for (uintptr_t i = 1; i <= ROUNDS && !atomic_load(&lost); i++) {
        give(&ping, i);
        uintptr_t v = take(&ping);
        ping.bad += v && v != i + ROUNDS;
    }
    pthread_join(thread, NULL);
    CHECK_MSG(ping.bad == 0 && echo.bad == 0, "values out of order: %u, %u", ping.bad,
              echo.bad);
    CHECK_MSG(ping.timeouts == 0 && echo.timeouts == 0, "lost wake-ups: %u, %u",
              ping.timeouts, echo.timeouts);
    CHECK_MSG(ping.sleeps + echo.sleeps > 0, "no thread ever went to sleep");
    printf("ping-pong: %u rounds, %u + %u futex waits\n", ROUNDS, ping.sleeps, echo.sleeps);
    sl_ring_destroy(ping.out);
    sl_ring_destroy(echo.out);
}

struct fan_in {
    struct sl_ring *rings[PRODUCERS];
    struct sl_doorbell bell;            /* the consumer's */
    uint32_t index;                     /* next producer to start */
    pthread_mutex_t lock;
};

static void *producer_main(void *arg)
{
    struct fan_in *f = arg;
    pthread_mutex_lock(&f->lock);
    struct sl_ring *ring = f->rings[f->index++];
    pthread_mutex_unlock(&f->lock);
    for (uintptr_t v = 1; v <= PRODUCED; v++) {
        while (sl_ring_push(ring, (void *)v) != 0)
            sched_yield(); /* full: the consumer is behind */
        sl_doorbell_ring(&f->bell);
    }
    return NULL;
}

static void test_fan_in(void)
{
    static struct fan_in f = {.lock = PTHREAD_MUTEX_INITIALIZER};
    pthread_t threads[PRODUCERS];
    uintptr_t next[PRODUCERS];
    for (uint32_t p = 0; p < PRODUCERS; p++) {
        CHECK(sl_ring_create(4, &f.rings[p]) == 0);
        next[p] = 1;
    }
    for (uint32_t p = 0; p < PRODUCERS; p++)
        CHECK(pthread_create(&threads[p], NULL, producer_main, &f) == 0);
    uint64_t received = 0;
    uint32_t bad = 0, timeouts = 0, sleeps = 0;
    while (received < (uint64_t)PRODUCERS * PRODUCED && timeouts == 0) {
        bool busy = false;
        for (uint32_t p = 0; p < PRODUCERS; p++) {
            void *item;
            while (sl_ring_pop(f.rings[p], &item) == 0) {
                bad += (uintptr_t)item != next[p]++;
                received++;
                busy = true;
            }
        }
        if (busy) {
            sl_doorbell_busy(&f.bell);
        } else if (sl_doorbell_idle(&f.bell, LOST_NS)) {
            timeouts++;
        } else if (!f.bell.armed) {
            sleeps++;
        }
    }
    for (uint32_t p = 0; p < PRODUCERS; p++)
        pthread_join(threads[p], NULL);
    CHECK_MSG(timeouts == 0, "a wake-up was lost after %llu values",
              (unsigned long long)received);
    CHECK_MSG(bad == 0, "%u values out of order", bad);
    CHECK(received == (uint64_t)PRODUCERS * PRODUCED);
    printf("fan-in: %u producers x %u values, %u futex waits\n", PRODUCERS, PRODUCED, sleeps);
    for (uint32_t p = 0; p < PRODUCERS; p++)
        sl_ring_destroy(f.rings[p]);
}

/* One thread: the first idle arms without sleeping, busy disarms, a ring
 * on an armed bell clears it so the sleep returns at once, a sleep nobody
 * rings times out, and busy says so when work follows such a sleep at once
 * (not after a pass that found nothing). */
static void test_states(void)
{
    static struct sl_doorbell bell;
    CHECK(!sl_doorbell_idle(&bell, LOST_NS) && bell.armed && atomic_load(&bell.waiting) == 1);
    sl_doorbell_busy(&bell);
    CHECK(!bell.armed && atomic_load(&bell.waiting) == 0);
    CHECK(!sl_doorbell_idle(&bell, LOST_NS));
    sl_doorbell_ring(&bell);
    CHECK(atomic_load(&bell.waiting) == 0);
    CHECK(!sl_doorbell_idle(&bell, LOST_NS) && !bell.armed); /* rung: no sleep */
    CHECK(!sl_doorbell_idle(&bell, 1000000));                 /* arms */
    CHECK(sl_doorbell_idle(&bell, 1000000));                  /* 1 ms, nobody rings */
    CHECK(!bell.armed && atomic_load(&bell.waiting) == 0);
    CHECK(sl_doorbell_busy(&bell));  /* work right after that sleep: nobody rang for it */
    CHECK(!sl_doorbell_busy(&bell));
    CHECK(!sl_doorbell_idle(&bell, 1000000)); /* arms */
    CHECK(sl_doorbell_idle(&bell, 1000000));
    CHECK(!sl_doorbell_idle(&bell, 1000000)); /* a pass since found nothing: work may come */
    CHECK(!sl_doorbell_busy(&bell));
}

int main(void)
{
    test_states();
    test_ping_pong();
    test_fan_in();
    return test_exit("doorbell_test");
}
