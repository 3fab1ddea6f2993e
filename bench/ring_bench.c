/*
 * ring_bench.c - sluice's SPSC ring (src/core/ring.h) against Concurrency
 * Kit's SPSC ring (ck_ring.h, Debian libck-dev 0.7.1) in the same binary and
 * the same run. Each phase starts a producer and a consumer thread (neither
 * pinned: on a 2-core machine they get a core each when nothing else runs)
 * that pass the items 1..N through a fresh ring of the same slot count; the
 * consumer checks that every item arrives once and in order.
 *
 *   single   one push per item, one pop per item
 *            sl: sl_ring_push / sl_ring_pop
 *            ck: ck_ring_enqueue_spsc / ck_ring_dequeue_spsc
 *   batchB   B items per call (default 32)
 *            sl: sl_ring_push_batch / sl_ring_pop_batch
 *            ck: 0.7.1 has no batch call, so B single calls per round of
 *                the same loop (what a ck user writes)
 *
 * A full or empty ring is retried at once after a cpu pause instruction;
 * both implementations wait the same way. ck_ring keeps one slot free, so
 * with the same slot count it holds capacity - 1 items, sl_ring capacity.
 *
 * Every phase runs --rounds times, rounds interleaved (sl single, ck
 * single, sl batch, ck batch, then again) so that background load hits
 * both sides alike; each row is the round with the median rate.
 *
 * Output, one row per implementation and operation, then the ratios:
 *   impl op items item_bytes seconds Mitems_per_s MB_per_s items_per_cpu_s ratio_sl_ck
 * seconds is wall time from starting the two threads until both joined;
 * items_per_cpu_s divides by the user + system CPU time getrusage() reports
 * for the whole process over that span (both threads, spinning included);
 * MB_per_s counts the items' own bytes (one pointer each); ratio_sl_ck is
 * sl's items/s over ck's for the same op (on sl rows), taken per round (the
 * two phases ran back to back) and the median of those shown, so it need
 * not equal the quotient of the two median rows.
 *
 *   ring_bench [--items N] [--capacity C] [--batch B] [--rounds R]
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <ck_ring.h>

#include "core/ring.h"

#define RB_BATCH_MAX 256u
#define RB_ROUNDS_MAX 15u

/* One phase's state, set up by the main thread; the producer thread reads
 * the ring fields and items, the consumer thread writes consumed and bad;
 * the main thread reads those only after joining both. */
struct rb_phase {
    struct sl_ring *ring;             /* sl impl, else NULL */
    struct ck_ring *ck;               /* ck impl, else NULL */
    struct ck_ring_buffer *ck_slots;  /* ck impl: capacity slots */
    uint64_t items;                   /* items to pass: the values 1..items */
    uint32_t batch;                   /* items per call of the batch ops */
    uint64_t consumed;                /* items the consumer took */
    uint64_t bad;                     /* items that arrived out of order */
};

/* One measured run of a phase. */
struct rb_result {
    double seconds;     /* wall */
    double cpu_seconds; /* user + system, whole process */
};

/* One implementation and operation: its two thread bodies. */
struct rb_case {
    const char *impl;
    const char *op;
    void *(*produce)(void *phase);
    void *(*consume)(void *phase);
};

static inline void rb_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static inline void *rb_item(uint64_t value) { return (void *)(uintptr_t)value; }

/* Consumer side: checks item against the next expected value. */
static inline void rb_check(struct rb_phase *phase, void *item, uint64_t *expected)
{
    phase->bad += (uintptr_t)item != *expected;
    ++*expected;
}

static uint32_t rb_chunk(const struct rb_phase *phase, uint64_t next)
{
    uint64_t left = phase->items - next + 1;
    return left < phase->batch ? (uint32_t)left : phase->batch;
}

/* ---- sl_ring ---- */

static void *rb_sl_single_produce(void *arg)
{
    struct rb_phase *phase = arg;
    for (uint64_t v = 1; v <= phase->items; v++) {
        while (sl_ring_push(phase->ring, rb_item(v)) < 0)
            rb_relax();
    }
    return NULL;
}

static void *rb_sl_single_consume(void *arg)
{
    struct rb_phase *phase = arg;
    uint64_t expected = 1;
    void *item;
    for (uint64_t n = 0; n < phase->items; n++) {
        while (sl_ring_pop(phase->ring, &item) < 0)
            rb_relax();
        rb_check(phase, item, &expected);
    }
    phase->consumed = expected - 1;
    return NULL;
}

static void *rb_sl_batch_produce(void *arg)
{
    struct rb_phase *phase = arg;
    void *items[RB_BATCH_MAX];
    for (uint64_t next = 1; next <= phase->items;) {
        uint32_t want = rb_chunk(phase, next);
        for (uint32_t i = 0; i < want; i++)
            items[i] = rb_item(next + i);
        for (uint32_t done = 0; done < want;) {
            uint32_t pushed = sl_ring_push_batch(phase->ring, items + done, want - done);
            if (pushed == 0)
                rb_relax();
            done += pushed;
        }
        next += want;
    }
    return NULL;
}

static void *rb_sl_batch_consume(void *arg)
{
    struct rb_phase *phase = arg;
    void *items[RB_BATCH_MAX];
    uint64_t expected = 1;
    while (expected <= phase->items) {
        uint32_t popped = sl_ring_pop_batch(phase->ring, items, phase->batch);
        if (popped == 0)
            rb_relax();
        for (uint32_t i = 0; i < popped; i++)
            rb_check(phase, items[i], &expected);
    }
    phase->consumed = expected - 1;
    return NULL;
}

/* ---- ck_ring ---- */

static void *rb_ck_single_produce(void *arg)
{
    struct rb_phase *phase = arg;
    for (uint64_t v = 1; v <= phase->items; v++) {
        while (!ck_ring_enqueue_spsc(phase->ck, phase->ck_slots, rb_item(v)))
            rb_relax();
    }
    return NULL;
}

static void *rb_ck_single_consume(void *arg)
{
    struct rb_phase *phase = arg;
    uint64_t expected = 1;
    void *item;
    for (uint64_t n = 0; n < phase->items; n++) {
        while (!ck_ring_dequeue_spsc(phase->ck, phase->ck_slots, &item))
            rb_relax();
        rb_check(phase, item, &expected);
    }
    phase->consumed = expected - 1;
    return NULL;
}

/* Enqueues items[0..n) one call each until one fails; returns how many went. */
static inline uint32_t rb_ck_enqueue_run(struct rb_phase *phase, void *const *items, uint32_t n)
{
    uint32_t done = 0;
    while (done < n && ck_ring_enqueue_spsc(phase->ck, phase->ck_slots, items[done]))
        done++;
    return done;
}

static void *rb_ck_batch_produce(void *arg)
{
    struct rb_phase *phase = arg;
    void *items[RB_BATCH_MAX];
    for (uint64_t next = 1; next <= phase->items;) {
        uint32_t want = rb_chunk(phase, next);
        for (uint32_t i = 0; i < want; i++)
            items[i] = rb_item(next + i);
        for (uint32_t done = 0; done < want;) {
            uint32_t pushed = rb_ck_enqueue_run(phase, items + done, want - done);
            if (pushed == 0)
                rb_relax();
            done += pushed;
        }
        next += want;
    }
    return NULL;
}

static void *rb_ck_batch_consume(void *arg)
{
    struct rb_phase *phase = arg;
    void *items[RB_BATCH_MAX];
    uint64_t expected = 1;
    while (expected <= phase->items) {
        uint32_t popped = 0;
        while (popped < phase->batch &&
               ck_ring_dequeue_spsc(phase->ck, phase->ck_slots, &items[popped]))
            popped++;
        if (popped == 0)
            rb_relax();
        for (uint32_t i = 0; i < popped; i++)
            rb_check(phase, items[i], &expected);
    }
    phase->consumed = expected - 1;
    return NULL;
}

/* ---- phases ---- */

static double rb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double rb_cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* Makes the ring the case needs. Returns 0, -EINVAL, -ENOMEM. */
static int rb_phase_init(struct rb_phase *phase, const struct rb_case *c, uint32_t capacity)
{
    if (strcmp(c->impl, "sl") == 0)
        return sl_ring_create(capacity, &phase->ring);
    size_t ring_bytes = (sizeof(struct ck_ring) + SL_CACHE_LINE - 1) & ~(size_t)(SL_CACHE_LINE - 1);
    phase->ck = aligned_alloc(SL_CACHE_LINE, ring_bytes);
    phase->ck_slots = aligned_alloc(SL_CACHE_LINE, (size_t)capacity * sizeof(*phase->ck_slots));
    if (phase->ck == NULL || phase->ck_slots == NULL)
        return -ENOMEM;
    memset(phase->ck_slots, 0, (size_t)capacity * sizeof(*phase->ck_slots));
    ck_ring_init(phase->ck, capacity);
    return 0;
}

static void rb_phase_fini(struct rb_phase *phase)
{
    sl_ring_destroy(phase->ring);
    free(phase->ck);
    free(phase->ck_slots);
}

/* Runs one case once. Returns 0, or -EIO if items were lost or reordered,
 * or another negative errno from set-up. */
static int rb_run(const struct rb_case *c, uint64_t items, uint32_t capacity, uint32_t batch,
                  struct rb_result *result)
{
    struct rb_phase phase = {.items = items, .batch = batch};
    pthread_t producer, consumer;
    int rc = rb_phase_init(&phase, c, capacity);
    if (rc < 0)
        goto out;
    double cpu0 = rb_cpu_now(), t0 = rb_now();
    rc = -pthread_create(&consumer, NULL, c->consume, &phase);
    if (rc < 0)
        goto out;
    rc = -pthread_create(&producer, NULL, c->produce, &phase);
    if (rc < 0) {
        fprintf(stderr, "ring_bench: cannot start the producer: %s\n", strerror(-rc));
        exit(1); /* the consumer waits for items forever */
    }
    pthread_join(producer, NULL);
    pthread_join(consumer, NULL);
    result->seconds = rb_now() - t0;
    result->cpu_seconds = rb_cpu_now() - cpu0;
    if (phase.consumed != items || phase.bad != 0) {
        fprintf(stderr, "ring_bench: %s %s: %llu of %llu items, %llu out of order\n", c->impl,
                c->op, (unsigned long long)phase.consumed, (unsigned long long)items,
                (unsigned long long)phase.bad);
        rc = -EIO;
    }
out:
    rb_phase_fini(&phase);
    return rc;
}

static int rb_by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The round with the median wall time. */
static struct rb_result rb_median(const struct rb_result *runs, uint32_t rounds)
{
    double seconds[RB_ROUNDS_MAX];
    for (uint32_t i = 0; i < rounds; i++)
        seconds[i] = runs[i].seconds;
    qsort(seconds, rounds, sizeof(seconds[0]), rb_by_double);
    for (uint32_t i = 0;; i++) {
        if (runs[i].seconds == seconds[rounds / 2])
            return runs[i];
    }
}

/* Median over rounds of sl's rate over ck's, each pair from one round. */
static double rb_median_ratio(const struct rb_result *sl, const struct rb_result *ck,
                              uint32_t rounds)
{
    double ratios[RB_ROUNDS_MAX];
    for (uint32_t i = 0; i < rounds; i++)
        ratios[i] = ck[i].seconds / sl[i].seconds;
    qsort(ratios, rounds, sizeof(ratios[0]), rb_by_double);
    return ratios[rounds / 2];
}

static void rb_print_row(const struct rb_case *c, uint64_t items, const struct rb_result *r,
                         double ratio)
{
    double rate = (double)items / r->seconds;
    printf("%-3s %-8s %10llu %2zu %8.3f %9.2f %9.1f %12.0f ", c->impl, c->op,
           (unsigned long long)items, sizeof(void *), r->seconds, rate / 1e6,
           rate * sizeof(void *) / 1e6, (double)items / r->cpu_seconds);
    if (ratio > 0)
        printf("%6.2f\n", ratio);
    else
        printf("%6s\n", "-");
}

static int rb_usage(void)
{
    fprintf(stderr, "usage: ring_bench [--items N] [--capacity C (power of two)] "
                    "[--batch B (1..%u)] [--rounds R (1..%u)]\n",
            RB_BATCH_MAX, RB_ROUNDS_MAX);
    return 2;
}

static int rb_parse(int argc, char **argv, uint64_t *items, uint32_t *capacity, uint32_t *batch,
                    uint32_t *rounds)
{
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc)
            return -EINVAL;
        unsigned long long v = strtoull(argv[i + 1], NULL, 10);
        if (strcmp(argv[i], "--items") == 0)
            *items = v;
        else if (strcmp(argv[i], "--capacity") == 0 && v <= SL_RING_CAPACITY_MAX)
            *capacity = (uint32_t)v;
        else if (strcmp(argv[i], "--batch") == 0 && v <= RB_BATCH_MAX)
            *batch = (uint32_t)v;
        else if (strcmp(argv[i], "--rounds") == 0 && v <= RB_ROUNDS_MAX)
            *rounds = (uint32_t)v;
        else
            return -EINVAL;
    }
    bool pow2 = *capacity >= 2 && (*capacity & (*capacity - 1)) == 0;
    return *items > 0 && pow2 && *batch > 0 && *rounds > 0 ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
    uint64_t items = 50000000;
    uint32_t capacity = 1024, batch = 32, rounds = 5;
    if (rb_parse(argc, argv, &items, &capacity, &batch, &rounds) < 0)
        return rb_usage();
    char batch_op[16];
    snprintf(batch_op, sizeof(batch_op), "batch%u", batch);
    const struct rb_case cases[] = {
        {"sl", "single", rb_sl_single_produce, rb_sl_single_consume},
        {"ck", "single", rb_ck_single_produce, rb_ck_single_consume},
        {"sl", batch_op, rb_sl_batch_produce, rb_sl_batch_consume},
        {"ck", batch_op, rb_ck_batch_produce, rb_ck_batch_consume},
    };
    enum { CASES = sizeof(cases) / sizeof(cases[0]) };
    struct rb_result results[CASES][RB_ROUNDS_MAX];
    for (uint32_t round = 0; round < rounds; round++) {
        for (size_t i = 0; i < CASES; i++) {
            int rc = rb_run(&cases[i], items, capacity, batch, &results[i][round]);
            if (rc < 0) {
                fprintf(stderr, "ring_bench: %s %s: %s\n", cases[i].impl, cases[i].op,
                        strerror(-rc));
                return 1;
            }
        }
    }
    printf("# ring capacity %u slots (ck_ring holds %u items), %u rounds, median round shown\n",
           capacity, capacity - 1, rounds);
    printf("# impl op items item_bytes seconds Mitems_per_s MB_per_s items_per_cpu_s "
           "ratio_sl_ck\n");
    for (size_t i = 0; i < CASES; i++) {
        struct rb_result median = rb_median(results[i], rounds);
        double ratio = i % 2 == 0 ? rb_median_ratio(results[i], results[i + 1], rounds) : 0;
        rb_print_row(&cases[i], items, &median, ratio);
    }
    printf("# sl %s / ck single, per round, median: %.2f (items/s)\n", batch_op,
           rb_median_ratio(results[2], results[1], rounds));
    return 0;
}
