/* options.c - see options.h. */
#include "graph/options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *sl_opt_type_name(enum sl_opt_type type)
{
    static const char *const names[] = {
        [SL_OPT_STRING] = "string",     [SL_OPT_INT] = "integer",
        [SL_OPT_BOOL] = "bool",         [SL_OPT_ENUM] = "one of",
        [SL_OPT_SIZE] = "size",         [SL_OPT_DURATION] = "duration",
        [SL_OPT_EXPR] = "expression",   [SL_OPT_ADDRESS] = "host:port",
        [SL_OPT_PATH] = "path",         [SL_OPT_MAP] = "map",
        [SL_OPT_LIST] = "list",
    };
    return type <= SL_OPT_LIST ? names[type] : "?";
}

int sl_opt_parse_int(const char *text, long long *value)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end)
        return -EINVAL;
    *value = v;
    return 0;
}

int sl_opt_parse_bool(const char *text, bool *value)
{
    if (strcmp(text, "true") == 0) {
        *value = true;
        return 0;
    }
    if (strcmp(text, "false") == 0) {
        *value = false;
        return 0;
    }
    return -EINVAL;
}

/* number followed by one of suffixes[i] meaning multipliers[i] */
static int parse_scaled(const char *text, const char *const *suffixes,
                        const uint64_t *multipliers, uint64_t *out)
{
    char *end;
    errno = 0;
    if (text[0] == '-')
        return -EINVAL;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text)
        return -EINVAL;
    for (int i = 0; suffixes[i]; i++) {
        if (strcmp(end, suffixes[i]) == 0) {
            if (multipliers[i] && v > UINT64_MAX / multipliers[i])
                return -ERANGE;
            *out = v * multipliers[i];
            return 0;
        }
    }
    return -EINVAL;
}

int sl_opt_parse_size(const char *text, uint64_t *bytes)
{
    static const char *const suffixes[] = {"", "B", "KiB", "MiB", "GiB", "KB", "MB", "GB", NULL};
    static const uint64_t multipliers[] = {1, 1, 1ull << 10, 1ull << 20, 1ull << 30,
                                           1000, 1000000, 1000000000};
    return parse_scaled(text, suffixes, multipliers, bytes);
}

int sl_opt_parse_duration(const char *text, uint64_t *us)
{
    static const char *const suffixes[] = {"us", "ms", "s", "m", "h", NULL};
    static const uint64_t multipliers[] = {1, 1000, 1000000, 60000000, 3600000000ull};
    return parse_scaled(text, suffixes, multipliers, us);
}

int sl_opt_parse_address(const char *text, char *host, uint32_t host_len, uint16_t *port)
{
    const char *colon = strrchr(text, ':');
    if (!colon || (size_t)(colon - text) >= host_len)
        return -EINVAL;
    long long p;
    if (sl_opt_parse_int(colon + 1, &p) || p < 0 || p > 65535)
        return -EINVAL;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = 0;
    *port = (uint16_t)p;
    return 0;
}

const struct sl_option *sl_opt_find(const struct sl_option *table, const char *key)
{
    for (; table && table->key; table++)
        if (strcmp(table->key, key) == 0)
            return table;
    return NULL;
}

static bool in_choices(const char *choices, const char *value)
{
    size_t n = strlen(value);
    for (const char *p = choices; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && memcmp(p, value, n) == 0)
            return true;
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

static int check_scalar(const struct sl_option *option, const struct sl_conf *conf,
                        struct sl_diags *diags)
{
    const char *v = conf->value;
    long long i;
    bool b;
    uint64_t u;
    char host[256];
    uint16_t port;
    switch (option->type) {
    case SL_OPT_INT:
        if (sl_opt_parse_int(v, &i) == 0)
            return 0;
        sl_diag_add(diags, conf->line, conf->col, NULL, "%s: '%s' is not an integer", option->key, v);
        return -EINVAL;
    case SL_OPT_BOOL:
        if (sl_opt_parse_bool(v, &b) == 0)
            return 0;
        sl_diag_add(diags, conf->line, conf->col, "write true or false",
                    "%s: '%s' is not a bool", option->key, v);
        return -EINVAL;
    case SL_OPT_ENUM:
        if (in_choices(option->choices, v))
            return 0;
        sl_diag_add(diags, conf->line, conf->col, NULL, "%s: '%s' is not one of %s", option->key,
                    v, option->choices);
        return -EINVAL;
    case SL_OPT_SIZE:
        if (sl_opt_parse_size(v, &u) == 0)
            return 0;
        sl_diag_add(diags, conf->line, conf->col, "e.g. 4096, 64KiB, 16MiB",
                    "%s: '%s' is not a size", option->key, v);
        return -EINVAL;
    case SL_OPT_DURATION:
        if (sl_opt_parse_duration(v, &u) == 0)
            return 0;
        sl_diag_add(diags, conf->line, conf->col, "e.g. 100us, 250ms, 5s, 1m",
                    "%s: '%s' is not a duration", option->key, v);
        return -EINVAL;
    case SL_OPT_ADDRESS:
        if (sl_opt_parse_address(v, host, sizeof(host), &port) == 0)
            return 0;
        sl_diag_add(diags, conf->line, conf->col, "e.g. 127.0.0.1:7000",
                    "%s: '%s' is not host:port", option->key, v);
        return -EINVAL;
    default:
        return 0;
    }
}

int sl_opt_check(const struct sl_option *option, const struct sl_conf *conf,
                 struct sl_diags *diags)
{
    if (option->type == SL_OPT_MAP) {
        if (conf->kind != SL_CONF_MAP) {
            sl_diag_add(diags, conf->line, conf->col, "write name: value pairs, one per line",
                        "%s: expected a mapping", option->key);
            return -EINVAL;
        }
        for (const struct sl_conf *c = conf->child; c; c = c->next) {
            if (c->kind != SL_CONF_SCALAR) {
                sl_diag_add(diags, c->line, c->col, NULL, "%s.%s: expected a single value",
                            option->key, c->key);
                return -EINVAL;
            }
        }
        return 0;
    }
    if (option->type == SL_OPT_LIST) {
        if (conf->kind == SL_CONF_SCALAR)
            return 0; /* one item */
        if (conf->kind == SL_CONF_SEQ) {
            for (const struct sl_conf *c = conf->child; c; c = c->next) {
                if (c->kind != SL_CONF_SCALAR) {
                    sl_diag_add(diags, c->line, c->col, NULL, "%s: expected plain items",
                                option->key);
                    return -EINVAL;
                }
            }
            return 0;
        }
        sl_diag_add(diags, conf->line, conf->col, NULL, "%s: expected a list", option->key);
        return -EINVAL;
    }
    if (conf->kind != SL_CONF_SCALAR) {
        sl_diag_add(diags, conf->line, conf->col, NULL, "%s: expected a single value (%s)",
                    option->key, sl_opt_type_name(option->type));
        return -EINVAL;
    }
    return check_scalar(option, conf, diags);
}
