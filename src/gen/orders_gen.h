/*
 * orders_gen.h - a seeded generator of realistic order-domain events
 * (schemas/orders.fbs) in the sluice.Event envelope, built directly with the
 * FlatBuffers builder: the engine of `sluice gen` and of the gen connector.
 *
 * The generator simulates many orders at once, each living through the saga
 * an orchestrator would drive: order.placed, inventory.reserve/reserved,
 * payment.charge/charged (declines and retries), order.paid,
 * shipment.create/created, order.shipped, and the failure and compensation
 * branches (reserve_failed, charge_failed, create_failed, customer
 * cancellation, refunds, releases, order.cancelled), each with a realistic
 * probability and delay. Events come out in event-time order; every event's
 * correlation_id is its order id and its causation_id the id of the previous
 * event of that order's life.
 *
 * Determinism: the same options give the same events, byte for byte. A type
 * filter only skips events: the filtered stream is a subsequence of the
 * unfiltered one (the simulation draws the same random numbers either way).
 *
 * @locality one generator per thread; it owns its builders and state.
 */
#ifndef SL_GEN_ORDERS_GEN_H
#define SL_GEN_ORDERS_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fb/fb.h"

/* Every event type the generator emits. */
enum sl_gen_type {
    SL_GEN_ORDER_PLACED,
    SL_GEN_ORDER_PAID,
    SL_GEN_ORDER_SHIPPED,
    SL_GEN_ORDER_CANCELLED,
    SL_GEN_INVENTORY_RESERVE,
    SL_GEN_INVENTORY_RESERVED,
    SL_GEN_INVENTORY_RESERVE_FAILED,
    SL_GEN_INVENTORY_RELEASE,
    SL_GEN_INVENTORY_RELEASED,
    SL_GEN_INVENTORY_RELEASE_FAILED,
    SL_GEN_PAYMENT_CHARGE,
    SL_GEN_PAYMENT_CHARGED,
    SL_GEN_PAYMENT_CHARGE_FAILED,
    SL_GEN_PAYMENT_REFUND,
    SL_GEN_PAYMENT_REFUNDED,
    SL_GEN_PAYMENT_REFUND_FAILED,
    SL_GEN_SHIPMENT_CREATE,
    SL_GEN_SHIPMENT_CREATED,
    SL_GEN_SHIPMENT_CREATE_FAILED,
    SL_GEN_SHIPMENT_CANCEL,
    SL_GEN_SHIPMENT_CANCELLED,
    SL_GEN_SHIPMENT_CANCEL_FAILED,
    SL_GEN_TYPE_COUNT
};

#define SL_GEN_ALL_TYPES ((1u << SL_GEN_TYPE_COUNT) - 1)
#define SL_GEN_ID_LEN 26 /* a ULID: 26 Crockford base32 characters */
#define SL_GEN_START_US_DEFAULT 1732262400000000 /* 2024-11-22T08:00:00Z */
#define SL_GEN_IN_FLIGHT_DEFAULT 16384

struct sl_gen_opts {
    uint64_t seed;
    uint32_t keys;            /* distinct customers (event keys), >= 1 */
    int64_t start_us;         /* event time of the first order, µs since the epoch */
    uint32_t type_mask;       /* bit (1 << enum sl_gen_type) per type emitted; 0 = all */
    uint32_t in_flight_max;   /* orders alive at once; 0 = SL_GEN_IN_FLIGHT_DEFAULT */
};

/* One generated event; the bytes stay valid until the next sl_gen_next(). */
struct sl_gen_event {
    const uint8_t *frame;     /* size-prefixed sluice.Event buffer (the `fb` framing) */
    size_t frame_len;         /* including the 4-byte prefix */
    enum sl_gen_type type;
    uint32_t key_index;       /* which of the opts.keys customers: route by this */
    uint64_t seq;             /* 0-based position in the unfiltered stream */
    int64_t ts_us;
};

struct sl_gen;

/* "order.placed" for SL_GEN_ORDER_PLACED. */
const char *sl_gen_type_name(enum sl_gen_type type);
/* The type named by name[0..len), or -1. */
int sl_gen_type_parse(const char *name, size_t len);

/*
 * Creates a generator over schemas, which must hold the envelope and the
 * orders schema and outlive the generator. Field slots and enum values are
 * resolved once here, by name. Returns 0, or -EINVAL with the reason in err
 * (bad options, a schema missing a field the generator writes). Memory: the
 * in-flight order table (~100 bytes per order) plus two builders.
 */
int sl_gen_create(struct sl_gen **gen, const struct sl_fb_schemas *schemas,
                  const struct sl_gen_opts *opts, char *err, size_t err_len);
void sl_gen_destroy(struct sl_gen *gen);

/* Builds the next event that passes the type filter. Allocates nothing once
 * the builders have grown to the largest event. Never fails. */
void sl_gen_next(struct sl_gen *gen, struct sl_gen_event *ev);

#endif
