/* options.h - parsing and checking setting values by option type (sizes
 * like 64KiB, durations like 250ms, host:port addresses). */
#ifndef SL_GRAPH_OPTIONS_H
#define SL_GRAPH_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "graph/conf.h"
#include "graph/diag.h"
#include "sl/option.h"

int sl_opt_parse_int(const char *text, long long *value);
int sl_opt_parse_bool(const char *text, bool *value);
/* Bytes; suffixes B, KiB, MiB, GiB (and KB, MB, GB as powers of 1000). */
int sl_opt_parse_size(const char *text, uint64_t *bytes);
/* Microseconds; suffixes us, ms, s, m, h. */
int sl_opt_parse_duration(const char *text, uint64_t *us);
/* "host:port" with port 0..65535; host may be empty (all addresses). */
int sl_opt_parse_address(const char *text, char *host, uint32_t host_len, uint16_t *port);

/* Checks conf against option: shape (scalar / map / list) and value. Adds a
 * diag and returns -EINVAL when it does not fit. */
int sl_opt_check(const struct sl_option *option, const struct sl_conf *conf,
                 struct sl_diags *diags);

/* Row of table for key, or NULL. */
const struct sl_option *sl_opt_find(const struct sl_option *table, const char *key);

#endif
