/* tsan_c11_threads.c - C11 threads over the POSIX calls ThreadSanitizer
 * intercepts; linked into the sluice binary of -Db_sanitize=thread builds
 * only.
 *
 * librdkafka (Debian's, built with C11 threads) creates its threads with
 * thrd_create() and locks with mtx_lock()/cnd_wait(). glibc implements
 * those by calling its internal pthread functions directly, past TSan's
 * interceptors: TSan never learns of librdkafka's threads (the first
 * calloc() on one of them crashes inside TSan's allocator) nor of its
 * locks. Defined here, in the executable, these win the symbol lookup for
 * librdkafka's calls and go through pthread_create(), pthread_mutex_lock()
 * and friends, which TSan intercepts: its threads are known and its queue
 * hand-offs are happens-before edges, as they are.
 *
 * glibc's mtx_t and cnd_t have the layout of pthread_mutex_t and
 * pthread_cond_t (glibc implements the former with the latter), and thrd_t
 * is a pthread_t. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

_Static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t), "mtx_t is a pthread_mutex_t");
_Static_assert(sizeof(cnd_t) == sizeof(pthread_cond_t), "cnd_t is a pthread_cond_t");
_Static_assert(sizeof(thrd_t) == sizeof(pthread_t), "thrd_t is a pthread_t");

static int thrd_code(int err)
{
    switch (err) {
    case 0:
        return thrd_success;
    case ENOMEM:
        return thrd_nomem;
    case EBUSY:
        return thrd_busy;
    case ETIMEDOUT:
        return thrd_timedout;
    default:
        return thrd_error;
    }
}

struct thrd_start {
    thrd_start_t func;
    void *arg;
};

static void *thrd_trampoline(void *p)
{
    struct thrd_start start = *(struct thrd_start *)p;
    free(p);
    return (void *)(intptr_t)start.func(start.arg);
}

int thrd_create(thrd_t *thr, thrd_start_t func, void *arg)
{
    struct thrd_start *start = malloc(sizeof(*start));
    if (!start)
        return thrd_nomem;
    *start = (struct thrd_start){func, arg};
    int err = pthread_create((pthread_t *)thr, NULL, thrd_trampoline, start);
    if (err)
        free(start);
    return thrd_code(err);
}

int thrd_join(thrd_t thr, int *res)
{
    void *ret;
    int err = pthread_join((pthread_t)thr, &ret);
    if (!err && res)
        *res = (int)(intptr_t)ret;
    return thrd_code(err);
}

int thrd_detach(thrd_t thr) { return thrd_code(pthread_detach((pthread_t)thr)); }

int mtx_init(mtx_t *mtx, int type)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    if (type & mtx_recursive)
        pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    int err = pthread_mutex_init((pthread_mutex_t *)mtx, &attr);
    pthread_mutexattr_destroy(&attr);
    return thrd_code(err);
}

int mtx_lock(mtx_t *mtx) { return thrd_code(pthread_mutex_lock((pthread_mutex_t *)mtx)); }

int mtx_trylock(mtx_t *mtx) { return thrd_code(pthread_mutex_trylock((pthread_mutex_t *)mtx)); }

int mtx_timedlock(mtx_t *restrict mtx, const struct timespec *restrict ts)
{
    return thrd_code(pthread_mutex_timedlock((pthread_mutex_t *)mtx, ts));
}

int mtx_unlock(mtx_t *mtx) { return thrd_code(pthread_mutex_unlock((pthread_mutex_t *)mtx)); }

void mtx_destroy(mtx_t *mtx) { pthread_mutex_destroy((pthread_mutex_t *)mtx); }

int cnd_init(cnd_t *cond) { return thrd_code(pthread_cond_init((pthread_cond_t *)cond, NULL)); }

int cnd_signal(cnd_t *cond) { return thrd_code(pthread_cond_signal((pthread_cond_t *)cond)); }

int cnd_broadcast(cnd_t *cond) { return thrd_code(pthread_cond_broadcast((pthread_cond_t *)cond)); }

int cnd_wait(cnd_t *cond, mtx_t *mtx)
{
    return thrd_code(pthread_cond_wait((pthread_cond_t *)cond, (pthread_mutex_t *)mtx));
}

int cnd_timedwait(cnd_t *restrict cond, mtx_t *restrict mtx, const struct timespec *restrict ts)
{
    return thrd_code(pthread_cond_timedwait((pthread_cond_t *)cond, (pthread_mutex_t *)mtx, ts));
}

void cnd_destroy(cnd_t *cond) { pthread_cond_destroy((pthread_cond_t *)cond); }
