/* kafka_conf.h - the librdkafka settings of a Kafka connector: its own
 * settings first, then the node's `kafka:` map (applied last, so it wins),
 * each checked by librdkafka itself at compile time so that a misspelt name
 * or a bad value is reported at its place in the job file. Control plane. */
#ifndef SL_CONNECTORS_KAFKA_CONF_H
#define SL_CONNECTORS_KAFKA_CONF_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl/operator.h"

#define SL_KAFKA_SETTINGS_MAX 64u /* the connector's own plus the kafka map */

struct sl_kafka_settings {
    uint32_t count;                        /* names[0..count) apply in order */
    char *names[SL_KAFKA_SETTINGS_MAX];    /* owned */
    char *values[SL_KAFKA_SETTINGS_MAX];   /* owned */
};

/* Appends one setting; false when the table is full. */
bool sl_kafka_settings_add(struct sl_kafka_settings *settings, const char *name,
                           const char *value);
void sl_kafka_settings_free(struct sl_kafka_settings *settings);

/* Appends the node's `kafka:` map after what is there and checks every
 * setting with librdkafka, reporting problems through c. Returns 0 or
 * -EINVAL (reported). */
int sl_kafka_settings_check(struct sl_kafka_settings *settings, struct sl_op_compile *c);

/* A new conf with bootstrap.servers (when bootstrap is not NULL) and every
 * setting, or NULL with librdkafka's reason in errstr. */
rd_kafka_conf_t *sl_kafka_settings_conf(const struct sl_kafka_settings *settings,
                                        const char *bootstrap, char *errstr, size_t len);

/* A numeric setting of conf as librdkafka resolved it (default or set), or
 * fallback when conf has no such setting. */
int64_t sl_kafka_conf_int(const rd_kafka_conf_t *conf, const char *name, int64_t fallback);

/* rd_kafka_new() whose client runs its threads' allocations from the
 * huge-page arena (core/hugepage_arena.h, when it is available), as the
 * connector's own thread does after sl_hugepage_arena_enter(): a client
 * allocates per message. Takes conf in every case (rd_kafka_new() takes
 * it only when it succeeds); NULL with librdkafka's reason in errstr. */
rd_kafka_t *sl_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, char *errstr,
                         size_t len);

#endif
