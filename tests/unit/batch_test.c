/* batch_test.c - batches and pools: every event offset 8-aligned, bytes and
 * positions kept, control records in order with events, event/byte/control
 * limits, reservations (partial commit, abandon), pool exhaustion -> -EAGAIN,
 * the owner put path and the return path through the rings, single-threaded
 * and with a real returner thread; arenas mapped ahead (populate). Exit 0
 * pass, 1 fail. */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/batch.h"
#include "core/pool.h"
#include "core/ring.h"

#define CHECK(cond)                                                                \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                               \
        }                                                                          \
    } while (0)

static void batch_new(struct sl_batch *batch, uint32_t events_max, uint32_t arena_bytes_max)
{
    struct sl_batch_limits limits = {.events_max = events_max, .arena_bytes_max = arena_bytes_max};
    CHECK(sl_batch_init(batch, &limits) == 0);
}

/* Byte j of the event with sequence seq. */
static uint8_t pattern(uint32_t seq, uint32_t j) { return (uint8_t)(seq * 31 + j * 7 + 1); }

static void test_init_limits(void)
{
    struct sl_batch batch;
    struct sl_batch_limits bad[] = {
        {.events_max = 0, .arena_bytes_max = 64},
        {.events_max = 1, .arena_bytes_max = 0},
        {.events_max = SL_BATCH_EVENTS_MAX + 1, .arena_bytes_max = 64},
        {.events_max = 1, .arena_bytes_max = SL_BATCH_ARENA_BYTES_MAX + 1},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(sl_batch_init(&batch, &bad[i]) == -EINVAL);
        sl_batch_fini(&batch); /* safe after a failed init */
    }
    batch_new(&batch, 4, 13);
    CHECK(batch.arena_bytes_max == 16); /* rounded up to 8 */
    CHECK((uintptr_t)batch.arena % SL_CACHE_LINE == 0);
    CHECK(sl_batch_is_empty(&batch) && batch.pool == NULL);
    sl_batch_fini(&batch);
    sl_batch_fini(&batch);
}

/* Events of every length 0..40 in a row: each at an 8-aligned offset and
 * address, right after the previous one, bytes and metadata intact. */
static void test_alignment_and_contents(void)
{
    struct sl_batch batch;
    batch_new(&batch, 100, 4096);
    uint8_t frame[64];
    for (uint32_t len = 0; len <= 40; len++) {
        for (uint32_t j = 0; j < len; j++)
            frame[j] = pattern(len, j);
        CHECK(sl_batch_append(&batch, frame, len, len % 3, 1000 + len) == 0);
    }
    CHECK(sl_batch_entry_count(&batch) == 41 && sl_batch_event_count(&batch) == 41);
    uint32_t end = 0;
    for (uint32_t i = 0; i < sl_batch_entry_count(&batch); i++) {
        struct sl_batch_entry *entry = sl_batch_entry_at(&batch, i);
        uint8_t *data = sl_batch_event_data(&batch, entry);
        CHECK(entry->kind == SL_ENTRY_EVENT);
        CHECK(entry->offset % 8 == 0 && (uintptr_t)data % 8 == 0);
        CHECK(entry->offset == ((end + 7) & ~7u)); /* no more padding than needed */
        CHECK(entry->len == i && entry->source_id == i % 3 && entry->position == 1000 + i);
        CHECK(entry->key_group == SL_KEY_GROUP_NONE);
        for (uint32_t j = 0; j < entry->len; j++)
            CHECK(data[j] == pattern(i, j));
        end = entry->offset + entry->len;
    }
    CHECK(batch.arena_used == end);
    /* the graph fills key groups in place */
    sl_batch_entry_at(&batch, 3)->key_group = 17;
    CHECK(sl_batch_entry_at(&batch, 3)->key_group == 17);
    sl_batch_fini(&batch);
}

/* Reserve the maximum, commit less; abandon a reservation by reserving
 * again or by reset. */
static void test_reserve_commit(void)
{
    struct sl_batch batch;
    batch_new(&batch, 8, 256);
    uint8_t *p = sl_batch_reserve(&batch, 100);
    CHECK(p == batch.arena);
    memcpy(p, "hello", 5);
    sl_batch_commit(&batch, 5, 1, 42);
    CHECK(batch.arena_used == 5);
    /* abandoned: the second reservation starts where the first did */
    uint8_t *q = sl_batch_reserve(&batch, 50);
    CHECK(q == batch.arena + 8);
    uint8_t *r = sl_batch_reserve(&batch, 20);
    CHECK(r == q);
    memcpy(r, "world!", 6);
    sl_batch_commit(&batch, 6, 1, 43);
    CHECK(sl_batch_event_count(&batch) == 2);
    CHECK(memcmp(sl_batch_event_data(&batch, sl_batch_entry_at(&batch, 0)), "hello", 5) == 0);
    CHECK(memcmp(sl_batch_event_data(&batch, sl_batch_entry_at(&batch, 1)), "world!", 6) == 0);
    CHECK(sl_batch_entry_at(&batch, 1)->offset == 8 && sl_batch_entry_at(&batch, 1)->len == 6);
    /* a failed reserve closes the open reservation too */
    CHECK(sl_batch_reserve(&batch, 8) != NULL);
    CHECK(sl_batch_reserve(&batch, 1000) == NULL && !batch.reserve_open);
    CHECK(sl_batch_reserve(&batch, 8) != NULL);
    sl_batch_reset(&batch);
    CHECK(!batch.reserve_open && sl_batch_is_empty(&batch) && batch.arena_used == 0);
    CHECK(sl_batch_reserve(&batch, 8) == batch.arena);
    sl_batch_fini(&batch);
}

/* Control records sit between the events exactly where they were added. */
static void test_control_order(void)
{
    struct sl_batch batch;
    batch_new(&batch, 16, 1024);
    const uint32_t kinds[] = {SL_ENTRY_EVENT,     SL_CTRL_WATERMARK, SL_ENTRY_EVENT,
                              SL_ENTRY_EVENT,     SL_CTRL_CHECKPOINT, SL_CTRL_WATERMARK,
                              SL_ENTRY_EVENT,     SL_CTRL_END_OF_STREAM};
    const uint32_t n = sizeof(kinds) / sizeof(kinds[0]);
    for (uint32_t i = 0; i < n; i++) {
        if (kinds[i] == SL_ENTRY_EVENT) {
            CHECK(sl_batch_append(&batch, &i, sizeof(i), 9, i) == 0);
        } else {
            uint64_t value = kinds[i] == SL_CTRL_END_OF_STREAM ? 0 : 1700000000000000ull + i;
            CHECK(sl_batch_add_control(&batch, kinds[i], 9, value) == 0);
        }
    }
    CHECK(sl_batch_entry_count(&batch) == n && sl_batch_event_count(&batch) == 4);
    for (uint32_t i = 0; i < n; i++) {
        struct sl_batch_entry *entry = sl_batch_entry_at(&batch, i);
        CHECK(entry->kind == kinds[i] && entry->source_id == 9);
        if (kinds[i] == SL_ENTRY_EVENT) {
            uint32_t v;
            memcpy(&v, sl_batch_event_data(&batch, entry), sizeof(v));
            CHECK(v == i && entry->position == i);
        } else if (kinds[i] == SL_CTRL_WATERMARK) {
            CHECK(entry->watermark_us == 1700000000000000ull + i && entry->len == 0);
        } else if (kinds[i] == SL_CTRL_CHECKPOINT) {
            CHECK(entry->checkpoint_id == 1700000000000000ull + i);
        } else {
            CHECK(entry->value == 0);
        }
    }
    /* a control record added while a reservation is open precedes the event */
    CHECK(sl_batch_reserve(&batch, 4) != NULL);
    CHECK(sl_batch_add_control(&batch, SL_CTRL_CHECKPOINT, 9, 77) == 0);
    sl_batch_commit(&batch, 4, 9, 99);
    CHECK(sl_batch_entry_at(&batch, n)->kind == SL_CTRL_CHECKPOINT);
    CHECK(sl_batch_entry_at(&batch, n + 1)->kind == SL_ENTRY_EVENT);
    sl_batch_fini(&batch);
}

static void test_event_and_control_limits(void)
{
    struct sl_batch batch;
    batch_new(&batch, 5, 4096);
    for (uint32_t i = 0; i < 5; i++)
        CHECK(sl_batch_append(&batch, "x", 1, 0, i) == 0);
    CHECK(sl_batch_reserve(&batch, 1) == NULL);
    CHECK(sl_batch_append(&batch, "x", 1, 0, 5) == -ENOSPC);
    CHECK(sl_batch_event_count(&batch) == 5);
    /* a batch full of events still takes control records, up to their limit */
    for (uint32_t i = 0; i < SL_BATCH_CONTROLS_MAX; i++)
        CHECK(sl_batch_add_control(&batch, SL_CTRL_WATERMARK, 0, i) == 0);
    CHECK(sl_batch_add_control(&batch, SL_CTRL_END_OF_STREAM, 0, 0) == -ENOSPC);
    CHECK(sl_batch_entry_count(&batch) == 5 + SL_BATCH_CONTROLS_MAX);
    sl_batch_reset(&batch);
    CHECK(sl_batch_add_control(&batch, SL_CTRL_END_OF_STREAM, 0, 0) == 0);
    sl_batch_fini(&batch);
}

static void test_arena_limit(void)
{
    struct sl_batch batch;
    batch_new(&batch, 1000, 64);
    CHECK(sl_batch_reserve(&batch, 65) == NULL); /* never fits */
    CHECK(sl_batch_reserve(&batch, 64) != NULL); /* exactly fits */
    for (uint32_t i = 0; i < 8; i++)
        CHECK(sl_batch_append(&batch, "12345678", 8, 0, i) == 0);
    CHECK(batch.arena_used == 64);
    CHECK(sl_batch_append(&batch, "", 0, 0, 8) == 0); /* empty event at the end */
    CHECK(sl_batch_append(&batch, "1", 1, 0, 9) == -ENOSPC);
    sl_batch_reset(&batch);
    /* padding counts: 7 odd-sized events of 1 byte use offsets 0,8,..,48 */
    for (uint32_t i = 0; i < 7; i++)
        CHECK(sl_batch_append(&batch, "z", 1, 0, i) == 0);
    CHECK(sl_batch_append(&batch, "12345678", 8, 0, 7) == 0); /* at 56..64 */
    CHECK(sl_batch_append(&batch, "z", 1, 0, 8) == -ENOSPC);
    CHECK(sl_batch_event_count(&batch) == 8);
    sl_batch_fini(&batch);
}

static struct sl_pool *pool_new(uint32_t batches, uint32_t returners)
{
    struct sl_pool_config config = {
        .batches = batches,
        .returners = returners,
        .limits = {.events_max = 32, .arena_bytes_max = 1024},
    };
    struct sl_pool *pool = NULL;
    CHECK(sl_pool_create(&config, &pool) == 0 && pool != NULL);
    CHECK(sl_pool_size(pool) == batches && sl_pool_available(pool) == batches);
    return pool;
}

static void test_pool_config(void)
{
    struct sl_pool *pool = NULL;
    struct sl_pool_config bad[] = {
        {.batches = 0, .returners = 1, .limits = {.events_max = 1, .arena_bytes_max = 8}},
        {.batches = SL_POOL_BATCHES_MAX + 1, .limits = {.events_max = 1, .arena_bytes_max = 8}},
        {.batches = 1, .returners = SL_POOL_RETURNERS_MAX + 1,
         .limits = {.events_max = 1, .arena_bytes_max = 8}},
        {.batches = 1, .returners = 1, .limits = {.events_max = 0, .arena_bytes_max = 8}},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(sl_pool_create(&bad[i], &pool) == -EINVAL);
    CHECK(pool == NULL);
    sl_pool_destroy(NULL);
}

/* Exhaustion is -EAGAIN and stays so; batches are distinct, come back
 * through put and through each return ring, and come out reset. */
static void test_pool_exhaustion_and_return(void)
{
    enum { N = 6 };
    struct sl_pool *pool = pool_new(N, 2);
    struct sl_batch *out[N];
    for (uint32_t i = 0; i < N; i++) {
        CHECK(sl_pool_get(pool, &out[i]) == 0);
        CHECK(out[i]->pool == pool && sl_batch_is_empty(out[i]));
        CHECK(out[i]->events_max == 32 && out[i]->arena_bytes_max == 1024);
        for (uint32_t j = 0; j < i; j++)
            CHECK(out[i] != out[j]);
        CHECK(sl_batch_append(out[i], "abc", 3, 0, i) == 0);
    }
    struct sl_batch *batch = NULL;
    for (int k = 0; k < 3; k++)
        CHECK(sl_pool_get(pool, &batch) == -EAGAIN && batch == NULL);
    CHECK(sl_pool_available(pool) == 0);
    /* owner put, then returns through ring 0 and ring 1 */
    sl_pool_put(pool, out[0]);
    sl_pool_return(out[1], 0);
    sl_pool_return(out[2], 1);
    sl_pool_return(out[3], 1);
    CHECK(sl_pool_available(pool) == 4);
    struct sl_batch *again[4];
    for (uint32_t i = 0; i < 4; i++) {
        CHECK(sl_pool_get(pool, &again[i]) == 0);
        CHECK(sl_batch_is_empty(again[i]) && again[i]->arena_used == 0);
    }
    CHECK(sl_pool_get(pool, &batch) == -EAGAIN);
    /* the same four came back, no others */
    for (uint32_t i = 0; i < 4; i++) {
        int found = 0;
        for (uint32_t j = 0; j < 4; j++)
            found += again[i] == out[j];
        CHECK(found == 1);
    }
    for (uint32_t i = 0; i < 4; i++)
        sl_pool_return(again[i], i % 2);
    sl_pool_return(out[4], 0);
    sl_pool_return(out[5], 1);
    CHECK(sl_pool_available(pool) == N);
    sl_pool_destroy(pool);
}

/* A returned batch is handed out next, before the batches that stayed at
 * home: the pool reuses the batch last used (warm, already mapped) and never
 * touches the ones a light load does not need. */
static void test_pool_reuses_returned_first(void)
{
    struct sl_pool *pool = pool_new(4, 1);
    struct sl_batch *first, *batch;
    CHECK(sl_pool_get(pool, &first) == 0);
    for (int k = 0; k < 5; k++) {
        sl_pool_return(first, 0);
        CHECK(sl_pool_get(pool, &batch) == 0 && batch == first);
    }
    sl_pool_put(pool, first);
    CHECK(sl_pool_available(pool) == 4);
    sl_pool_destroy(pool);
}

/* A pool with no returners is usable by its owner alone. */
static void test_pool_owner_only(void)
{
    struct sl_pool *pool = pool_new(1, 0);
    struct sl_batch *batch, *other;
    for (int k = 0; k < 3; k++) {
        CHECK(sl_pool_get(pool, &batch) == 0);
        CHECK(sl_pool_get(pool, &other) == -EAGAIN);
        sl_pool_put(pool, batch);
    }
    sl_pool_destroy(pool);
}

/* Owner fills batches and sends them to a worker through a ring; the worker
 * checks them and returns them through the pool's return ring. A pool much
 * smaller than the traffic forces every batch round the loop many times. */
enum { THREADED_BATCHES = 200000, THREADED_EVENTS = 4 };

struct threaded {
    struct sl_ring *to_worker; /* producer: owner, consumer: worker */
    int failed;                /* written by the worker, read after join */
};

static void *worker_main(void *arg)
{
    struct threaded *threaded = arg;
    for (uint32_t seq = 0; seq < THREADED_BATCHES;) {
        void *item;
        if (sl_ring_pop(threaded->to_worker, &item) < 0) {
            sched_yield();
            continue;
        }
        struct sl_batch *batch = item;
        int ok = sl_batch_event_count(batch) == THREADED_EVENTS;
        for (uint32_t i = 0; ok && i < THREADED_EVENTS; i++) {
            struct sl_batch_entry *entry = sl_batch_entry_at(batch, i);
            uint64_t v;
            memcpy(&v, sl_batch_event_data(batch, entry), sizeof(v));
            ok = v == (uint64_t)seq * THREADED_EVENTS + i && entry->position == v;
        }
        if (!ok)
            threaded->failed = 1;
        sl_pool_return(batch, 0);
        seq++;
    }
    return NULL;
}

static void test_pool_threaded(void)
{
    struct threaded threaded = {.failed = 0};
    CHECK(sl_ring_create(4, &threaded.to_worker) == 0);
    struct sl_pool *pool = pool_new(3, 1);
    pthread_t worker;
    CHECK(pthread_create(&worker, NULL, worker_main, &threaded) == 0);
    uint64_t eagain = 0;
    for (uint32_t seq = 0; seq < THREADED_BATCHES;) {
        struct sl_batch *batch;
        if (sl_pool_get(pool, &batch) == -EAGAIN) {
            eagain++;
            sched_yield();
            continue;
        }
        for (uint64_t i = 0; i < THREADED_EVENTS; i++) {
            uint64_t v = (uint64_t)seq * THREADED_EVENTS + i;
            CHECK(sl_batch_append(batch, &v, sizeof(v), 0, v) == 0);
        }
        /* the ring (4) holds more than the pool (3): the push cannot fail */
        CHECK(sl_ring_push(threaded.to_worker, batch) == 0);
        seq++;
    }
    CHECK(pthread_join(worker, NULL) == 0);
    CHECK(!threaded.failed);
    CHECK(sl_pool_available(pool) == 3);
    printf("threaded pool: %u batches through 3, %llu empty gets\n", THREADED_BATCHES,
           (unsigned long long)eagain);
    sl_pool_destroy(pool);
    sl_ring_destroy(threaded.to_worker);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Whether this kernel has MADV_POPULATE_WRITE (Linux 5.14). */
static bool populate_supported(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    bool ok = madvise(p, page, MADV_POPULATE_WRITE) == 0;
    munmap(p, page);
    return ok;
}

/* Pages of [from, to) of the arena that are resident (mincore). */
static size_t resident_pages(const struct sl_batch *batch, size_t from, size_t to)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)batch->arena + from + page - 1) & ~(uintptr_t)(page - 1);
    uintptr_t stop = ((uintptr_t)batch->arena + to) & ~(uintptr_t)(page - 1);
    unsigned char vec[1024];
    size_t n = (stop - start) / page, resident = 0;
    CHECK(n <= sizeof(vec) && mincore((void *)start, stop - start, vec) == 0);
    for (size_t i = 0; i < n; i++)
        resident += vec[i] & 1;
    return resident;
}

/* Reservations map the arena ahead in 128 KiB steps, never past its end,
 * and a reset keeps what is mapped; the pages are resident before the
 * first write (where the kernel has MADV_POPULATE_WRITE). */
static void test_populate(void)
{
    struct sl_batch batch;
    batch_new(&batch, 1024, 1u << 20);
    CHECK(batch.populated == 0);
    CHECK(sl_batch_reserve(&batch, 100) != NULL);
    CHECK(batch.populated == 128u << 10);
    sl_batch_commit(&batch, 100, 1, 0);
    for (int i = 0; i < 3; i++) { /* to 300 KiB and a bit */
        CHECK(sl_batch_reserve(&batch, 100u << 10) != NULL);
        sl_batch_commit(&batch, 100u << 10, 1, 0);
    }
    CHECK(batch.arena_used == 104 + 3 * (100u << 10));
    CHECK(batch.populated == 384u << 10);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t untouched = resident_pages(&batch, 304u << 10, 384u << 10);
    size_t expected = (size_t)(80u << 10) / page - 1; /* less one: the arena may start mid-page */
    printf("populate: %zu of %zu pages past the last write resident\n", untouched, expected + 1);
    if (populate_supported())
        CHECK(untouched >= expected);
    sl_batch_reset(&batch);
    CHECK(batch.populated == 384u << 10);
    CHECK(sl_batch_reserve(&batch, 1000) != NULL && batch.populated == 384u << 10);
    CHECK(sl_batch_reserve(&batch, (1u << 20) - 8) != NULL);
    CHECK(batch.populated == batch.arena_bytes_max);
    sl_batch_fini(&batch);

    batch_new(&batch, 16, 1000); /* smaller than a step: up to its end */
    CHECK(sl_batch_reserve(&batch, 10) != NULL && batch.populated == batch.arena_bytes_max);
    sl_batch_fini(&batch);
}

int main(void)
{
    test_populate();
    test_init_limits();
    test_alignment_and_contents();
    test_reserve_commit();
    test_control_order();
    test_event_and_control_limits();
    test_arena_limit();
    test_pool_config();
    test_pool_exhaustion_and_return();
    test_pool_reuses_returned_first();
    test_pool_owner_only();
    test_pool_threaded();
    return 0;
}
