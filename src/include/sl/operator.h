/* sl/operator.h - what an operator is: a registered type with an options
 * table and callbacks, compiled once per job and instantiated once per
 * worker (DESIGN.md, "Operators").
 *
 * Lifecycle (control plane unless noted):
 *   compile(c, &plan)   read and check the node's settings against the schemas
 *                       (errors as diagnostics with file:line:col), declare
 *                       output ports; the plan is shared, read-only, by workers
 *   create(plan, &state)          one instance per worker
 *   process(state, events, n, out)  data path, on the worker thread: emit
 *                       zero or more events per input to output ports; must not
 *                       allocate per event
 *   destroy(state), plan_free(plan)
 * Every operator has an `errors` port (SL_PORT_ERRORS) for events it rejects,
 * with a reason; the job wires it to a dead-letter sink or it is logged. */
#ifndef SL_OPERATOR_H
#define SL_OPERATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl/event.h"
#include "sl/option.h"

#define SL_PORT_OUT 0u     /* the default output port, "out" */
#define SL_PORT_ERRORS 1u  /* every node's "errors" port */
#define SL_PORTS_MAX 64u

struct sl_op_compile;      /* compile context, see below */
struct sl_op_out;          /* emit context of a process() call */
struct sl_expr;

struct sl_operator_type {
    const char *name;                 /* the `type:` in job files */
    const char *summary;              /* one line for `sluice help` */
    const struct sl_option *options;  /* ends with a row whose key is NULL */
    int (*compile)(struct sl_op_compile *c, void **plan);
    int (*create)(const void *plan, void **state);
    void (*process)(void *state, const struct sl_event *events, uint32_t count,
                    struct sl_op_out *out);
    void (*destroy)(void *state);
    void (*plan_free)(void *plan);
};

/* ---- compile context (implemented by the graph compiler) ---- */

const struct sl_fb_schemas *sl_op_schemas(const struct sl_op_compile *c);
const char *sl_op_node_name(const struct sl_op_compile *c);
/* Setting `key` of the node as text (its default when absent; NULL if none). */
const char *sl_op_string(struct sl_op_compile *c, const char *key);
long long sl_op_int(struct sl_op_compile *c, const char *key);
bool sl_op_bool(struct sl_op_compile *c, const char *key);
/* Compiles the expression in setting `key` (or, for a MAP option, the
 * value of entry `entry`); errors are reported at their file position.
 * Returns NULL on error (already reported). */
struct sl_expr *sl_op_expr(struct sl_op_compile *c, const char *key, const char *entry);
/* Entries of a MAP setting, in file order: name i of count. */
uint32_t sl_op_map_count(struct sl_op_compile *c, const char *key);
const char *sl_op_map_name(struct sl_op_compile *c, const char *key, uint32_t i);
/* Text of entry i of a MAP setting (NULL when there is none). */
const char *sl_op_map_value(struct sl_op_compile *c, const char *key, uint32_t i);
/* Items of a LIST setting (a single value counts as one item): item i of count. */
uint32_t sl_op_list_count(struct sl_op_compile *c, const char *key);
const char *sl_op_list_item(struct sl_op_compile *c, const char *key, uint32_t i);
/* Declares output port `name`; returns its index (>= 2) or -1 (reported). */
int sl_op_add_port(struct sl_op_compile *c, const char *name);
/* Reports a problem at setting `key` (entry may be NULL). */
void sl_op_error(struct sl_op_compile *c, const char *key, const char *entry, const char *hint,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- emit context (implemented by the worker) ---- */

/* Passes ev on, unchanged, to port. O(1), no copy. */
void sl_emit(struct sl_op_out *out, uint32_t port, const struct sl_event *ev);
/* Sends ev to the errors port with a reason (counted per node). */
void sl_emit_error(struct sl_op_out *out, const struct sl_event *ev, const char *reason);
/* Room for a new event of up to len bytes, 8-aligned, valid until
 * process() returns; commit it with sl_emit_new(). NULL when len exceeds
 * the worker's output arena or one batch (runtime batch_bytes); the caller
 * emits an error instead. */
uint8_t *sl_emit_reserve(struct sl_op_out *out, uint32_t len);
/* Emits the reserved bytes (a size-prefixed buffer built there) to port,
 * keeping from's source position. */
void sl_emit_new(struct sl_op_out *out, uint32_t port, const uint8_t *buf, uint32_t len,
                 const struct sl_event *from);

/* Emits a copy of from's envelope (id, key, ts, correlation and causation
 * ids, headers kept) carrying a new type and payload (an unprefixed
 * FlatBuffer of the type's table, minimum alignment align) to port. Returns
 * 0, -E2BIG when the event is more than a batch takes (runtime batch_bytes
 * less the room for error headers) or -ENOSPC when the worker's output
 * arena is full; the caller emits an error instead. */
int sl_emit_payload(struct sl_op_out *out, uint32_t port, const struct sl_event *from,
                    const char *type, uint32_t type_len, const uint8_t *payload,
                    uint32_t payload_len, uint32_t align);

#endif
