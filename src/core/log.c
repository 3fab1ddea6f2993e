/* log.c - stderr logging; see log.h. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/assert.h"

#define SL_LOG_BURST_PER_S 10

static enum sl_log_level log_level = SL_LOG_INFO; /* set once at start-up */

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void sl_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "sluice: %s:%d: assertion failed: %s\n", file, line, expr);
    abort();
}

void sl_log_set_level(enum sl_log_level level) { log_level = level; }

uint64_t sl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void log_v(enum sl_log_level level, const char *fmt, va_list ap)
{
    char line[1024];
    vsnprintf(line, sizeof(line), fmt, ap);
    fprintf(stderr, "sluice: %s: %s\n", level_names[level], line);
}

void sl_log(enum sl_log_level level, const char *fmt, ...)
{
    if (level > log_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_v(level, fmt, ap);
    va_end(ap);
}

void sl_log_limited(struct sl_log_limit *limit, enum sl_log_level level, const char *fmt, ...)
{
    if (level > log_level)
        return;
    uint64_t now_ms = sl_now_ns() / 1000000u;
    if (now_ms - limit->window_start_ms >= 1000) {
        if (limit->suppressed)
            sl_log(level, "(%llu similar messages suppressed)",
                   (unsigned long long)limit->suppressed);
        limit->window_start_ms = now_ms;
        limit->lines = 0;
        limit->suppressed = 0;
    }
    if (limit->lines >= SL_LOG_BURST_PER_S) {
        limit->suppressed++;
        return;
    }
    limit->lines++;
    va_list ap;
    va_start(ap, fmt);
    log_v(level, fmt, ap);
    va_end(ap);
}
