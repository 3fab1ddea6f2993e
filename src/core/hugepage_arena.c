/* hugepage_arena.c - one jemalloc arena whose memory is advised
 * MADV_HUGEPAGE, for threads whose allocations churn through many pages
 * (the Kafka producer's: a record and headers per message, request
 * buffers). See hugepage_arena.h. */
#include "core/hugepage_arena.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/mman.h>

#ifdef SL_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>

/* weak: binaries link jemalloc, the unit tests' need not (the arena is then
 * not made) */
#pragma weak mallctl

#define HUGEPAGE_BYTES ((size_t)2 << 20)

static pthread_once_t arena_once = PTHREAD_ONCE_INIT;
static extent_hooks_t *default_hooks; /* jemalloc's, read once */
static extent_hooks_t hugepage_hooks; /* the defaults with alloc wrapped */
static unsigned arena_index;
static int arena_error = -ENOTSUP; /* written once under arena_once */

/* jemalloc's own alloc hook, then the advice. With opt.retain (on in
 * Debian's build) jemalloc asks for spans of 2 MiB and more, page-aligned;
 * a new span is asked 2 MiB-aligned here so that the kernel can back it by
 * huge pages (Linux before 6.7 does not align anonymous mappings itself).
 * Called only for the arena made below, after arena_make() wrote
 * default_hooks; jemalloc's hooks ignore their first argument. */
static void *hugepage_alloc(extent_hooks_t *hooks, void *new_addr, size_t size,
                            size_t alignment, bool *zero, bool *commit, unsigned index)
{
    (void)hooks;
    if (!new_addr && size >= HUGEPAGE_BYTES && alignment < HUGEPAGE_BYTES)
        alignment = HUGEPAGE_BYTES; /* stricter than asked: allowed */
    void *addr = default_hooks->alloc(default_hooks, new_addr, size, alignment, zero, commit,
                                      index);
    if (addr)
        (void)madvise(addr, size, MADV_HUGEPAGE); /* a hint: refused, pages stay small */
    return addr;
}

static void arena_make(void)
{
    if (!mallctl)
        return;
    size_t len = sizeof(default_hooks);
    if (mallctl("arena.0.extent_hooks", &default_hooks, &len, NULL, 0) != 0 ||
        !default_hooks || !default_hooks->alloc) {
        arena_error = -EIO;
        return;
    }
    hugepage_hooks = *default_hooks;
    hugepage_hooks.alloc = hugepage_alloc;
    extent_hooks_t *hooks = &hugepage_hooks;
    len = sizeof(arena_index);
    arena_error = mallctl("arenas.create", &arena_index, &len, &hooks, sizeof(hooks)) == 0
                      ? 0
                      : -EIO;
}

bool sl_hugepage_arena_available(void)
{
    pthread_once(&arena_once, arena_make);
    return arena_error == 0;
}

int sl_hugepage_arena_enter(void)
{
    if (!sl_hugepage_arena_available())
        return arena_error;
    unsigned index = arena_index;
    return mallctl("thread.arena", NULL, NULL, &index, sizeof(index)) == 0 ? 0 : -EIO;
}

#else

bool sl_hugepage_arena_available(void)
{
    return false;
}

int sl_hugepage_arena_enter(void)
{
    return -ENOTSUP;
}

#endif
