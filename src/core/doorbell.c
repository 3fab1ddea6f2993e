/* doorbell.c - the futex calls behind doorbell.h. */
#include "core/doorbell.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long futex(_Atomic uint32_t *word, int op, uint32_t value, const struct timespec *timeout)
{
    return syscall(SYS_futex, (uint32_t *)word, op, value, timeout, NULL, 0);
}

void sl_doorbell_wake(struct sl_doorbell *bell)
{
    /* relaxed: the caller's fence ordered its push before this; the owner
     * re-arms (store, fence, pass) before it may sleep again */
    if (atomic_exchange_explicit(&bell->waiting, 0, memory_order_relaxed))
        futex(&bell->waiting, FUTEX_WAKE_PRIVATE, 1, NULL);
}

bool sl_doorbell_sleep(struct sl_doorbell *bell, uint64_t timeout_ns)
{
    struct timespec timeout = {(time_t)(timeout_ns / 1000000000u),
                               (long)(timeout_ns % 1000000000u)};
    /* returns at once (EAGAIN) if a producer cleared waiting already; after
     * EINTR too the owner just polls again */
    bool timed_out = futex(&bell->waiting, FUTEX_WAIT_PRIVATE, 1, &timeout) != 0 &&
                     errno == ETIMEDOUT;
    atomic_store_explicit(&bell->waiting, 0, memory_order_relaxed);
    return timed_out;
}
