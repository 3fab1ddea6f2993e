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
 * enters it; jemalloc's own caches keep those threads off each other's
 * locks. Memory freed by any thread goes back to the arena it came from.
 */
#ifndef SL_CORE_HUGEPAGE_ARENA_H
#define SL_CORE_HUGEPAGE_ARENA_H

/* Any thread, any time. Returns 0 (the thread's allocations come from the
 * arena from now on), -ENOTSUP when the binary's allocator is not jemalloc,
 * -EIO when jemalloc refused; the thread's allocations are unchanged then. */
int sl_hugepage_arena_enter(void);

#endif
