/*
 * thread_fail_shim.c - loaded with LD_PRELOAD by run_thread_fail_test.py:
 * pthread_create fails with EAGAIN when called from any thread but the
 * process's first. `sluice run` starts its sink, worker and source threads
 * from the main thread; a tcp or file source starts its io thread from its
 * own thread, so that start is the one that fails.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

typedef int create_fn(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *),
                   void *arg)
{
    if (gettid() != getpid())
        return EAGAIN;
    void *symbol = dlsym(RTLD_NEXT, "pthread_create");
    create_fn *next;
    memcpy(&next, &symbol, sizeof(next)); /* ISO C has no object-to-function cast */
    return next(thread, attr, start, arg);
}
