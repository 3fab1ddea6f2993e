/* hugepage_arena.h - moves the calling thread's allocations to a jemalloc
 * arena backed by transparent huge pages where the kernel gives them
 * (MADV_HUGEPAGE; /sys/kernel/mm/transparent_hugepage/enabled "madvise" or
 * "always").
 *
 * Why: a thread that allocates per message (librdkafka's producer: a record
 * and headers for each, a request buffer per message set) touches as many
 * fresh pages as it keeps messages in flight, and a page fault is dear (on
 * a virtual machine, several microseconds); with 2 MiB pages the kernel
 * takes one fault where it took 512. The cost: the arena's memory is
 * resident in 2 MiB steps, so it may hold up to a few MiB more than the
 * allocations need.
 *
 * The arena is made once, on first use, and shared by every thread that
 * enters it: everything such a thread allocates comes from it. jemalloc's
 * thread caches keep small allocations off the arena's locks; larger ones
 * (over 32 KiB: message-set buffers, fetch responses) take them. Memory
 * freed by any thread goes back to the arena it came from (once the
 * freeing thread's cache flushes). The arena's own metadata is on huge
 * pages too (a 2 MiB page from the start). Where the kernel's khugepaged
 * may collapse pages (max_ptes_none), memory jemalloc has purged inside a
 * huge page can become resident again, and with defrag "madvise" a fault
 * may wait for the kernel to compact memory.
 */
#ifndef SL_CORE_HUGEPAGE_ARENA_H
#define SL_CORE_HUGEPAGE_ARENA_H

#include <stdbool.h>

/* Any thread, any time: whether the arena exists (made on the first call):
 * the binary's allocator is jemalloc and it made the arena. */
bool sl_hugepage_arena_available(void);

/* Any thread, any time. Returns 0 (the thread's allocations come from the
 * arena from now on), -ENOTSUP when the binary's allocator is not jemalloc,
 * -EIO when jemalloc refused; the thread's allocations are unchanged then. */
int sl_hugepage_arena_enter(void);

#endif
