/* doorbell_test.c - core/doorbell.h: two threads play ping-pong over two
 * one-slot rings, each sleeping on its own doorbell while its ring is
 * empty, with a timeout of 60 s. A lost wake-up would leave a thread asleep
 * for the whole timeout, which the sleep reports; none may happen in 50000
 * rounds, and the threads must have slept (else the test proves nothing).
 * Run under ThreadSanitizer by the concurrency suite. Exit 0 pass, 1 fail. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "core/doorbell.h"
#include "core/ring.h"

static int test_failures;

#include "test.h"

#define ROUNDS 50000u
#define LOST_NS 60000000000u /* a sleep this long means a lost wake-up */

struct side {
    struct sl_ring *in, *out;           /* pops in, pushes to out */
    struct sl_doorbell bell;            /* sleeps on it; rung by the other side */
    struct sl_doorbell *other;
    uint32_t sleeps, timeouts, bad;
};

/* Waits for the next value on side->in, sleeping on the bell. */
static uintptr_t take(struct side *side)
{
    void *item;
    while (sl_ring_pop(side->in, &item) != 0) {
        if (sl_doorbell_idle(&side->bell, LOST_NS))
            side->timeouts++;
        else if (!side->bell.armed)
            side->sleeps++;
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
        side->bad += v != i;
        give(side, v + ROUNDS);
    }
    return NULL;
}

static void test_ping_pong(void)
{
    static struct side ping, echo;
    CHECK(sl_ring_create(1, &ping.out) == 0);
    CHECK(sl_ring_create(1, &echo.out) == 0);
    ping.in = echo.out;
    echo.in = ping.out;
    ping.other = &echo.bell;
    echo.other = &ping.bell;
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, echo_main, &echo) == 0);
    for (uintptr_t i = 1; i <= ROUNDS; i++) {
        give(&ping, i);
        ping.bad += take(&ping) != i + ROUNDS;
    }
    pthread_join(thread, NULL);
    CHECK_MSG(ping.bad == 0 && echo.bad == 0, "values out of order: %u, %u", ping.bad,
              echo.bad);
    CHECK_MSG(ping.timeouts == 0 && echo.timeouts == 0, "lost wake-ups: %u, %u",
              ping.timeouts, echo.timeouts);
    CHECK_MSG(ping.sleeps + echo.sleeps > 0, "no thread ever slept");
    printf("ping-pong: %u rounds, %u + %u sleeps\n", ROUNDS, ping.sleeps, echo.sleeps);
    sl_ring_destroy(ping.out);
    sl_ring_destroy(echo.out);
}

/* One thread: the first idle arms without sleeping, busy disarms, a ring
 * on an armed bell clears it so the sleep returns at once, and a sleep
 * nobody rings times out. */
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
}

int main(void)
{
    test_states();
    test_ping_pong();
    return test_exit("doorbell_test");
}
