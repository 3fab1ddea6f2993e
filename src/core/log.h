/* log.h - leveled logging to stderr, with a rate-limited variant for the
 * data path (bad input is reported, but never floods the log). */
#ifndef SL_CORE_LOG_H
#define SL_CORE_LOG_H

#include <stdint.h>

enum sl_log_level { SL_LOG_ERROR, SL_LOG_WARN, SL_LOG_INFO, SL_LOG_DEBUG };

void sl_log_set_level(enum sl_log_level level);
void sl_log(enum sl_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Rate limit state: at most burst lines per second; owned by one thread. */
struct sl_log_limit {
    uint64_t window_start_ms;
    uint32_t lines;       /* printed in this window */
    uint64_t suppressed;  /* dropped since the last printed line */
};

void sl_log_limited(struct sl_log_limit *limit, enum sl_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Monotonic clock. */
uint64_t sl_now_ns(void);

#endif
