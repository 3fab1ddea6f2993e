/* value_arena_test.c - the kafka sink's value arena (connectors/kafka/
 * value_arena.h), driven as the sink drives it: a ring of writes, each
 * filling its run with values of mixed sizes (some over a chunk), released
 * oldest first once "confirmed" while newer writes keep allocating.
 *   1. every value starts VALUE_ALIGN-aligned and keeps its bytes until its
 *      run is released, whatever the later writes allocate;
 *   2. released chunks are reused (spares taken before new ones), at most
 *      VALUE_SPARE_CHUNKS are kept, and oversized chunks are never kept;
 *   3. a zero-length value gets its own aligned address. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../connectors/kafka/value_arena.h"

static int test_failures;

#include "test.h"

#define WRITES 400u
#define IN_FLIGHT 8u          /* unconfirmed writes at a time */
#define VALUES_MAX 300u       /* values of one write */

struct value {
    uint8_t *p;
    size_t len;
    uint8_t fill;
};

struct write {
    struct value_run run;
    struct value values[VALUES_MAX];
    uint32_t count;
};

static size_t value_len(uint32_t w, uint32_t i)
{
    if ((w * 31u + i) % 97u == 0)
        return VALUE_CHUNK_BYTES + 1000u * (i % 5u); /* a chunk of its own */
    return (size_t)((w * 131u + i * 17u) % 5000u);
}

static int intact(const struct write *write)
{
    for (uint32_t i = 0; i < write->count; i++) {
        const struct value *v = &write->values[i];
        for (size_t b = 0; b < v->len; b++)
            if (v->p[b] != (uint8_t)(v->fill + b))
                return 0;
    }
    return 1;
}

int main(void)
{
    struct value_arena arena = {0};
    static struct write ring[IN_FLIGHT];
    uint32_t misaligned = 0, damaged = 0, spare_over = 0;
    for (uint32_t w = 0; w < WRITES; w++) {
        struct write *write = &ring[w % IN_FLIGHT];
        if (w >= IN_FLIGHT) { /* the oldest write is confirmed: check, then release */
            damaged += !intact(write);
            value_release(&arena, &write->run);
            spare_over += arena.spare_count > VALUE_SPARE_CHUNKS;
        }
        CHECK(write->run.head == NULL);
        write->count = 1 + (w * 7u) % VALUES_MAX;
        for (uint32_t i = 0; i < write->count; i++) {
            struct value *v = &write->values[i];
            v->len = value_len(w, i);
            v->fill = (uint8_t)(w * 3u + i);
            v->p = value_alloc(&arena, &write->run, v->len);
            misaligned += ((uintptr_t)v->p % VALUE_ALIGN) != 0;
            for (size_t b = 0; b < v->len; b++)
                v->p[b] = (uint8_t)(v->fill + b);
        }
    }
    CHECK_MSG(misaligned == 0, "%u values not %u-aligned", misaligned, VALUE_ALIGN);
    CHECK_MSG(damaged == 0, "%u writes found a value overwritten before release", damaged);
    CHECK_MSG(spare_over == 0, "more than %u spare chunks kept", VALUE_SPARE_CHUNKS);
    for (uint32_t w = 0; w < IN_FLIGHT; w++) {
        CHECK(intact(&ring[w]));
        value_release(&arena, &ring[w].run);
    }
    CHECK(arena.spare_count == VALUE_SPARE_CHUNKS);

    /* spares first: a write that fits in one chunk takes one spare */
    struct value_run run = {0};
    uint32_t before = arena.spare_count;
    uint8_t *a = value_alloc(&arena, &run, 100);
    CHECK(arena.spare_count == before - 1 && run.held == VALUE_CHUNK_BYTES);
    uint8_t *z1 = value_alloc(&arena, &run, 0), *z2 = value_alloc(&arena, &run, 0);
    CHECK(z1 != z2 && z1 > a && (uintptr_t)z1 % VALUE_ALIGN == 0);
    /* an oversized value's chunk is freed on release, not kept */
    value_alloc(&arena, &run, VALUE_CHUNK_BYTES * 2);
    CHECK(arena.spare_count == before - 1 && run.held == VALUE_CHUNK_BYTES * 3);
    value_release(&arena, &run);
    CHECK(arena.spare_count == before && run.held == 0);
    value_arena_fini(&arena);
    CHECK(arena.spare_count == 0 && arena.spare == NULL);
    return test_exit("value_arena_test");
}
