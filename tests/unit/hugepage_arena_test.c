/* hugepage_arena_test.c - a thread that enters the huge-page arena gets its
 * allocations from one arena (not jemalloc's automatic ones), shared with
 * every other thread that enters it, and that memory lies in mappings
 * advised MADV_HUGEPAGE ("hg" in /proc/self/smaps' VmFlags), where a thread
 * that did not enter allocates outside them. Linked with jemalloc; skipped
 * (77) in builds without it (sanitizers). Exit 0 pass, 1 fail. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/hugepage_arena.h"

static int test_failures; /* the threads run one at a time */
#include "test.h"

#ifndef SL_HAVE_JEMALLOC

int main(void)
{
    CHECK(sl_hugepage_arena_enter() == -ENOTSUP);
    if (test_failures)
        return test_exit("hugepage_arena");
    printf("skip: not built with jemalloc\n");
    return 77;
}

#else
#include <jemalloc/jemalloc.h>

#define OBJECTS 40000 /* 40000 x 256 bytes: ~10 MiB, several of the arena's spans */
#define OBJECT_BYTES 256

/* Whether addr lies in a mapping whose VmFlags has "hg" (MADV_HUGEPAGE);
 * a failed check when no mapping holds it. */
static bool advised_hugepage(const void *addr)
{
    FILE *smaps = fopen("/proc/self/smaps", "r");
    if (!smaps) {
        perror("/proc/self/smaps");
        exit(1);
    }
    char line[512];
    bool inside = false, found = false, advised = false;
    uintptr_t at = (uintptr_t)addr;
    while (fgets(line, sizeof(line), smaps)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            inside = at >= lo && at < hi;
            found |= inside;
        } else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
            advised = strstr(line, " hg") != NULL;
            break;
        }
    }
    fclose(smaps);
    CHECK(found);
    return advised;
}

static unsigned thread_arena(void)
{
    unsigned index = 0;
    size_t len = sizeof(index);
    CHECK(mallctl("thread.arena", &index, &len, NULL, 0) == 0);
    return index;
}

static unsigned automatic_arenas(void)
{
    unsigned n = 0;
    size_t len = sizeof(n);
    CHECK(mallctl("opt.narenas", &n, &len, NULL, 0) == 0);
    return n;
}

/* Whether the kernel takes MADV_HUGEPAGE at all (built with THP). */
static bool kernel_has_thp(void)
{
    size_t len = (size_t)4 << 20;
    void *probe = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (probe == MAP_FAILED)
        exit(1);
    bool taken = madvise(probe, len, MADV_HUGEPAGE) == 0;
    munmap(probe, len);
    return taken;
}

/* Whether jemalloc advises all its memory itself (MALLOC_CONF=thp:always). */
static bool jemalloc_thp_always(void)
{
    const char *mode = "";
    size_t len = sizeof(mode);
    return mallctl("opt.thp", &mode, &len, NULL, 0) == 0 && strcmp(mode, "always") == 0;
}

/* Allocates OBJECTS objects in the calling thread, checks the middle one's
 * mapping against want_advised, frees them. */
static void allocations_advised(bool want_advised)
{
    void **objects = malloc(OBJECTS * sizeof(*objects));
    if (!objects)
        exit(1);
    for (int i = 0; i < OBJECTS; i++) {
        objects[i] = malloc(OBJECT_BYTES);
        if (!objects[i])
            exit(1);
        memset(objects[i], i, OBJECT_BYTES);
    }
    CHECK(advised_hugepage(objects[OBJECTS / 2]) == want_advised);
    for (int i = 0; i < OBJECTS; i++)
        free(objects[i]);
    free(objects);
}

static void *entering_thread(void *arg)
{
    CHECK(sl_hugepage_arena_enter() == 0);
    *(unsigned *)arg = thread_arena();
    allocations_advised(true);
    return NULL;
}

static void *plain_thread(void *arg)
{
    *(unsigned *)arg = thread_arena();
    allocations_advised(jemalloc_thp_always());
    return NULL;
}

int main(void)
{
    if (!kernel_has_thp()) {
        printf("skip: the kernel refuses MADV_HUGEPAGE (no transparent huge pages)\n");
        return 77;
    }
    unsigned plain, first, second;
    pthread_t thread;
    void *(*const bodies[])(void *) = {plain_thread, entering_thread, entering_thread};
    unsigned *arenas[] = {&plain, &first, &second};
    for (int i = 0; i < 3; i++) {
        if (pthread_create(&thread, NULL, bodies[i], arenas[i]) != 0 ||
            pthread_join(thread, NULL) != 0)
            exit(1);
    }
    printf("hugepage arena: %u (automatic arenas 0..%u; a plain thread's: %u)\n", first,
           automatic_arenas() - 1, plain);
    CHECK(plain < automatic_arenas());
    CHECK(first >= automatic_arenas()); /* made by arenas.create, not an automatic one */
    CHECK(second == first);             /* one arena, made once */
    return test_exit("hugepage_arena");
}

#endif
