/* uring_loop.h - small helpers over liburing for the io threads: user_data
 * tags, SQE acquisition that never fails, a provided-buffer ring registered
 * by hand (liburing 2.3 has no io_uring_setup_buf_ring) and feature probes.
 *
 * user_data layout (64 bits): op (8) | generation (24) | index (32). The
 * generation lets a completion that arrives for a recycled connection slot
 * be recognised as stale.
 *
 * @locality: everything here is used by the one thread that owns the ring.
 */
#ifndef SL_IO_URING_LOOP_H
#define SL_IO_URING_LOOP_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

#define SL_URING_GEN_MASK 0xffffffu

static inline uint64_t sl_uring_tag(uint32_t op, uint32_t gen, uint32_t index)
{
    return (uint64_t)(op & 0xffu) << 56 | (uint64_t)(gen & SL_URING_GEN_MASK) << 32 | index;
}

static inline uint32_t sl_uring_tag_op(uint64_t tag) { return (uint32_t)(tag >> 56); }
static inline uint32_t sl_uring_tag_gen(uint64_t tag) { return (uint32_t)(tag >> 32) & SL_URING_GEN_MASK; }
static inline uint32_t sl_uring_tag_index(uint64_t tag) { return (uint32_t)tag; }

/* A free SQE; when the submission queue is full, submits it first (which
 * always frees every slot), so it never returns NULL. */
struct io_uring_sqe *sl_uring_sqe(struct io_uring *ring);

/* A provided-buffer ring: entries buffers of buf_bytes each in one
 * allocation, registered as buffer group bgid. */
struct sl_bufring {
    struct io_uring_buf_ring *br; /* the shared ring of buffer descriptors (page aligned) */
    uint8_t *bufs;                /* entries * buf_bytes bytes */
    uint32_t entries;             /* a power of two */
    uint32_t buf_bytes;
    uint16_t bgid;
    uint32_t added;               /* buffers added since the last advance */
    bool registered;
};

/* Allocates and registers; every buffer starts in the ring. Returns 0,
 * -EINVAL/-ENOSYS/-EOPNOTSUPP when the kernel has no buffer rings (5.19+),
 * -ENOMEM. On failure nothing is left allocated or registered. */
int sl_bufring_init(struct sl_bufring *bufring, struct io_uring *ring, uint32_t entries,
                    uint32_t buf_bytes, uint16_t bgid);
void sl_bufring_fini(struct sl_bufring *bufring, struct io_uring *ring);

static inline uint8_t *sl_bufring_buf(const struct sl_bufring *bufring, uint32_t bid)
{
    return bufring->bufs + (uint64_t)bid * bufring->buf_bytes;
}

/* Gives buffer bid back to the kernel; visible after sl_bufring_publish(). */
static inline void sl_bufring_recycle(struct sl_bufring *bufring, uint32_t bid)
{
    io_uring_buf_ring_add(bufring->br, sl_bufring_buf(bufring, bid), bufring->buf_bytes,
                          (uint16_t)bid, io_uring_buf_ring_mask(bufring->entries),
                          (int)bufring->added);
    bufring->added++;
}

/* Publishes the recycled buffers (one release store of the ring tail). */
static inline void sl_bufring_publish(struct sl_bufring *bufring)
{
    if (bufring->added) {
        io_uring_buf_ring_advance(bufring->br, (int)bufring->added);
        bufring->added = 0;
    }
}

/* Does the kernel support the ops a file or fallback TCP source needs
 * (ACCEPT, RECV, READ, ASYNC_CANCEL, TIMEOUT)? */
bool sl_uring_has_basic_ops(struct io_uring *ring);

/* Functional probe of multishot recv with buffer selection from bufring
 * (Linux 6.0): over a socketpair, one byte must arrive in a provided buffer
 * with IORING_CQE_F_MORE set. Multishot accept (5.19) is older than both
 * this and buffer rings, so a pass implies it. Leaves the ring idle and
 * every buffer back in bufring. Returns true when multishot recv works. */
bool sl_uring_probe_multishot_recv(struct io_uring *ring, struct sl_bufring *bufring);

#endif
