/* kafka_conf.c - see kafka_conf.h. */
#include "kafka_conf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"

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
