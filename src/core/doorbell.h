/* doorbell.h - how a thread that consumes rings sleeps until a producer
 * has pushed to one of them, instead of polling with naps.
 *
 * The owner (the consumer of the rings) polls its rings in passes. After a
 * pass that found nothing it calls sl_doorbell_idle(): the first call arms
 * the bell and returns, so the owner makes one more pass; the next one
 * sleeps until a producer rings or the timeout passes (the runtime's
 * threads: SL_DOORBELL_WAIT_NS unless the environment says otherwise, see
 * graph/run.h). After a pass that found work it calls sl_doorbell_busy(),
 * which says whether that work came right after a sleep that ended by its
 * timeout: then nobody rang for it. A producer calls sl_doorbell_ring() after each push (and after each
 * state change the owner waits for): a fence and a load while the bell is
 * not armed, a futex wake when it is.
 *
 * No wake-up is lost (Dekker's pattern). The owner sleeps only after it
 * stored 1 to waiting, issued a seq_cst fence and made a whole pass over
 * its rings, with no store to waiting in between (sl_doorbell_idle arms,
 * the caller polls, the next idle sleeps). A producer stores (its push),
 * issues a seq_cst fence, then loads waiting. By the fences, either the
 * owner's pass saw the push, or the producer's load sees that 1 or a later
 * value; a later 0 comes from another producer's exchange (which wakes the
 * owner) or from the owner itself before a fresh arming. The futex wait
 * expects 1, so it returns at once if waiting was cleared before it; the
 * exchange makes one wake per arming at most. The timeout bounds the
 * latency of a change that rings no bell.
 *
 * waiting is shared; armed and late are the owner's alone (their own
 * cache line). */
#ifndef SL_CORE_DOORBELL_H
#define SL_CORE_DOORBELL_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/assert.h"

#define SL_DOORBELL_WAIT_NS 10000000u /* longest sleep: 10 ms */

struct sl_doorbell {
    alignas(SL_CACHE_LINE) _Atomic uint32_t waiting; /* 1: armed (the owner may sleep) */
    alignas(SL_CACHE_LINE) bool armed;               /* owner: waiting was set by the last idle */
    bool late; /* owner: the last sleep ended by its timeout, and no pass found work since */
};

/* Clears waiting and wakes the owner if it was set (the slow half of
 * sl_doorbell_ring()). */
void sl_doorbell_wake(struct sl_doorbell *bell);

/* Owner: sleeps while waiting is 1, at most timeout_ns; true when the
 * whole timeout passed without a ring. */
bool sl_doorbell_sleep(struct sl_doorbell *bell, uint64_t timeout_ns);

/* Producer, after a push to one of the owner's rings. */
static inline void sl_doorbell_ring(struct sl_doorbell *bell)
{
    /* seq_cst: the push before it is ordered before the load of waiting;
     * pairs with the fence in sl_doorbell_idle() */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&bell->waiting, memory_order_relaxed))
        sl_doorbell_wake(bell);
}

/* Owner: the last pass found nothing. Arms the bell (the caller polls once
 * more) or, when armed, sleeps at most timeout_ns. True when it slept the
 * whole timeout without a ring. */
static inline bool sl_doorbell_idle(struct sl_doorbell *bell, uint64_t timeout_ns)
{
    if (!bell->armed) {
        atomic_store_explicit(&bell->waiting, 1, memory_order_relaxed);
        /* seq_cst: the store of waiting is ordered before the next pass's
         * loads of the rings; pairs with the fence in sl_doorbell_ring() */
        atomic_thread_fence(memory_order_seq_cst);
        bell->armed = true;
        bell->late = false; /* the pass since the last sleep found nothing */
        return false;
    }
    bell->armed = false;
    bell->late = sl_doorbell_sleep(bell, timeout_ns);
    return bell->late;
}

/* Owner: the last pass found work. True when that work came right after a
 * sleep that ended by its timeout (no producer rang for it). */
static inline bool sl_doorbell_busy(struct sl_doorbell *bell)
{
    bool late = bell->late;
    bell->late = false;
    if (bell->armed) {
        atomic_store_explicit(&bell->waiting, 0, memory_order_relaxed);
        bell->armed = false;
    }
    return late;
}

#endif
