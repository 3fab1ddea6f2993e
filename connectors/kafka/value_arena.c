/* value_arena.c - see value_arena.h. */
#include "value_arena.h"

#include <stdalign.h>
#include <stdlib.h>

#include "core/assert.h"

struct value_chunk {
    struct value_chunk *next;
    size_t cap, used;                /* bytes of data */
    alignas(VALUE_ALIGN) uint8_t data[];
};

static size_t round_up(size_t len) { return (len + VALUE_ALIGN - 1) & ~(size_t)(VALUE_ALIGN - 1); }

static struct value_chunk *chunk_take(struct value_arena *arena, size_t len)
{
    if (len <= VALUE_CHUNK_BYTES && arena->spare) {
        struct value_chunk *chunk = arena->spare;
        arena->spare = chunk->next;
        arena->spare_count--;
        chunk->used = 0;
        return chunk;
    }
    size_t cap = len > VALUE_CHUNK_BYTES ? len : VALUE_CHUNK_BYTES;
    struct value_chunk *chunk = malloc(sizeof(*chunk) + cap);
    SL_ASSERT(chunk);
    chunk->cap = cap;
    chunk->used = 0;
    return chunk;
}

uint8_t *value_alloc(struct value_arena *arena, struct value_run *run, size_t len)
{
    size_t need = round_up(len ? len : 1);
    struct value_chunk *chunk = run->head;
    if (!chunk || chunk->cap - chunk->used < need) {
        chunk = chunk_take(arena, need);
        chunk->next = run->head;
        run->head = chunk;
        run->held += chunk->cap;
    }
    uint8_t *p = chunk->data + chunk->used;
    chunk->used += need;
    return p;
}

void value_release(struct value_arena *arena, struct value_run *run)
{
    run->held = 0;
    while (run->head) {
        struct value_chunk *chunk = run->head;
        run->head = chunk->next;
        if (chunk->cap == VALUE_CHUNK_BYTES && arena->spare_count < VALUE_SPARE_CHUNKS) {
            chunk->next = arena->spare;
            arena->spare = chunk;
            arena->spare_count++;
        } else {
            free(chunk);
        }
    }
}

void value_arena_fini(struct value_arena *arena)
{
    struct value_run all = {.head = arena->spare};
    arena->spare = NULL;
    arena->spare_count = 0;
    while (all.head) {
        struct value_chunk *chunk = all.head;
        all.head = chunk->next;
        free(chunk);
    }
}
