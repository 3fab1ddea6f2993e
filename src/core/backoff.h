/* backoff.h - how a polling thread waits when its rings are empty: short
 * naps while work is likely to come back soon, longer ones once it has been
 * idle a while, so an idle process costs little CPU and a busy one reacts
 * within ~50 us. Owned by one thread. */
#ifndef SL_CORE_BACKOFF_H
#define SL_CORE_BACKOFF_H

#include <stdint.h>
#include <time.h>

#define SL_BACKOFF_SHORT_NS 50000u    /* first naps: 50 us */
#define SL_BACKOFF_LONG_NS 1000000u   /* after SL_BACKOFF_SHORT_MAX idle naps: 1 ms */
#define SL_BACKOFF_SHORT_MAX 200u     /* ~10 ms of short naps */

struct sl_backoff {
    uint32_t idle; /* naps since the last work */
};

/* Nothing to do: sleep a little (longer the longer it has been idle). */
static inline void sl_backoff_nap(struct sl_backoff *backoff)
{
    struct timespec ts = {0, backoff->idle < SL_BACKOFF_SHORT_MAX ? SL_BACKOFF_SHORT_NS
                                                                  : SL_BACKOFF_LONG_NS};
    if (backoff->idle < UINT32_MAX)
        backoff->idle++;
    nanosleep(&ts, NULL);
}

/* Work came: the next wait starts short again. */
static inline void sl_backoff_reset(struct sl_backoff *backoff) { backoff->idle = 0; }

#endif
