/* kafka_conf.c - see kafka_conf.h. */
#include "kafka_conf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "core/hugepage_arena.h"

bool sl_kafka_settings_add(struct sl_kafka_settings *settings, const char *name,
                           const char *value)
{
    if (settings->count == SL_KAFKA_SETTINGS_MAX)
        return false;
    settings->names[settings->count] = strdup(name);
    settings->values[settings->count] = strdup(value);
    SL_ASSERT(settings->names[settings->count] && settings->values[settings->count]);
    settings->count++;
    return true;
}

void sl_kafka_settings_free(struct sl_kafka_settings *settings)
{
    for (uint32_t i = 0; i < settings->count; i++) {
        free(settings->names[i]);
        free(settings->values[i]);
    }
    settings->count = 0;
}

int sl_kafka_settings_check(struct sl_kafka_settings *settings, struct sl_op_compile *c)
{
    uint32_t ours = settings->count;
    uint32_t n = sl_op_map_count(c, "kafka");
    for (uint32_t i = 0; i < n; i++) {
        const char *value = sl_op_map_value(c, "kafka", i);
        if (!sl_kafka_settings_add(settings, sl_op_map_name(c, "kafka", i), value ? value : "")) {
            sl_op_error(c, "kafka", NULL, NULL, "more than %u librdkafka settings",
                        SL_KAFKA_SETTINGS_MAX - ours);
            return -EINVAL;
        }
    }
    char errstr[512];
    int rc = 0;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    for (uint32_t i = 0; i < settings->count; i++) {
        if (rd_kafka_conf_set(conf, settings->names[i], settings->values[i], errstr,
                              sizeof(errstr)) == RD_KAFKA_CONF_OK)
            continue;
        if (i >= ours)
            sl_op_error(c, "kafka", settings->names[i], "see librdkafka's CONFIGURATION.md",
                        "%s", errstr);
        else
            sl_op_error(c, NULL, NULL, NULL, "librdkafka refuses %s=%s: %s", settings->names[i],
                        settings->values[i], errstr);
        rc = -EINVAL;
    }
    rd_kafka_conf_destroy(conf);
    return rc;
}

rd_kafka_conf_t *sl_kafka_settings_conf(const struct sl_kafka_settings *settings,
                                        const char *bootstrap, char *errstr, size_t len)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (bootstrap &&
        rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, len) != RD_KAFKA_CONF_OK)
        goto fail;
    for (uint32_t i = 0; i < settings->count; i++)
        if (rd_kafka_conf_set(conf, settings->names[i], settings->values[i], errstr, len) !=
            RD_KAFKA_CONF_OK)
            goto fail;
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

int64_t sl_kafka_conf_int(const rd_kafka_conf_t *conf, const char *name, int64_t fallback)
{
    char text[32];
    size_t len = sizeof(text);
    if (rd_kafka_conf_get(conf, name, text, &len) != RD_KAFKA_CONF_OK)
        return fallback;
    return strtoll(text, NULL, 10);
}

/* on_thread_start interceptor: every thread of the client */
static rd_kafka_resp_err_t thread_start(rd_kafka_t *rk, rd_kafka_thread_type_t type,
                                        const char *name, void *opaque)
{
    (void)rk, (void)type, (void)name, (void)opaque;
    (void)sl_hugepage_arena_enter(); /* refused: the thread keeps its arena */
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* on_new interceptor: adds thread_start to the new client */
static rd_kafka_resp_err_t client_new(rd_kafka_t *rk, const rd_kafka_conf_t *conf, void *opaque,
                                      char *errstr, size_t errstr_size)
{
    (void)conf, (void)opaque, (void)errstr, (void)errstr_size;
    return rd_kafka_interceptor_add_on_thread_start(rk, "sluice.hugepage_arena", thread_start,
                                                    NULL);
}

rd_kafka_t *sl_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, char *errstr,
                         size_t len)
{
    bool intercepted = sl_hugepage_arena_available() &&
                       rd_kafka_conf_interceptor_add_on_new(conf, "sluice.hugepage_arena",
                                                            client_new, NULL) ==
                           RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, len);
    /* When rd_kafka_new() fails, librdkafka 2.0.2 has already freed conf's
     * interceptors (through its shallow copy of conf; librdkafka issue
     * #4142, fixed upstream long after 2.0.2): destroying conf would free
     * them twice. Such a conf is left allocated, once, on a failing start.
     * Builds without jemalloc (the sanitizers') add no interceptor and
     * destroy it. */
    if (!rk && !intercepted)
        rd_kafka_conf_destroy(conf);
    return rk;
}
