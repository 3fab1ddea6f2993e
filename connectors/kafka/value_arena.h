/* value_arena.h - message values of the kafka sink that librdkafka reads in
 * place. A value produced without RD_KAFKA_MSG_F_COPY must stay put until
 * its delivery report; each write() keeps its values in a run of chunks
 * that is given back only once every message of that write is reported.
 *
 * Memory: the bytes of the runs not yet released (values of unconfirmed
 * writes, each rounded up to VALUE_ALIGN, in chunks of VALUE_CHUNK_BYTES or
 * one chunk per larger value), plus at most VALUE_SPARE_CHUNKS spare
 * chunks kept for reuse. With COPY, librdkafka's own queue would hold the
 * same bytes.
 *
 * Single-threaded: the sink thread only. */
#ifndef SLUICE_KAFKA_VALUE_ARENA_H
#define SLUICE_KAFKA_VALUE_ARENA_H

#include <stddef.h>
#include <stdint.h>

#define VALUE_ALIGN 8u               /* every value starts at a multiple (SL_BATCH_ALIGN) */
#define VALUE_CHUNK_BYTES (256u << 10)
#define VALUE_SPARE_CHUNKS 16u

struct value_chunk;

/* The chunks of one write, newest first. Zero-initialised: empty. */
struct value_run {
    struct value_chunk *head;
    size_t held;                     /* bytes of data its chunks hold room for */
};

/* Spare chunks. Zero-initialised: none. */
struct value_arena {
    struct value_chunk *spare;
    uint32_t spare_count;
};

/* len bytes at a VALUE_ALIGN-aligned address in run; they stay until the
 * run is released. Never fails (aborts when memory is out). */
uint8_t *value_alloc(struct value_arena *arena, struct value_run *run, size_t len);

/* Gives run's chunks back: up to VALUE_SPARE_CHUNKS are kept, the rest freed. */
void value_release(struct value_arena *arena, struct value_run *run);

/* Frees the spare chunks (release every run first). */
void value_arena_fini(struct value_arena *arena);

#endif
