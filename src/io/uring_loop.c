/* uring_loop.c - liburing helpers: SQE acquisition, a hand-registered
 * provided-buffer ring and feature probes; see uring_loop.h. */
#include "io/uring_loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/assert.h"

#define SL_PROBE_TAG UINT64_C(0xfeedf00d)
#define SL_PROBE_CANCEL_TAG UINT64_C(0xfeedf00e)

struct io_uring_sqe *sl_uring_sqe(struct io_uring *ring)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (sqe != NULL)
        return sqe;
    io_uring_submit(ring);
    sqe = io_uring_get_sqe(ring);
    SL_ASSERT(sqe != NULL);
    return sqe;
}

int sl_bufring_init(struct sl_bufring *bufring, struct io_uring *ring, uint32_t entries,
                    uint32_t buf_bytes, uint16_t bgid)
{
    SL_ASSERT(entries >= 1 && entries <= 32768 && (entries & (entries - 1)) == 0);
    memset(bufring, 0, sizeof(*bufring));
    size_t ring_bytes = (size_t)entries * sizeof(struct io_uring_buf);
    void *br = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (br == MAP_FAILED)
        return -ENOMEM;
    void *bufs = NULL;
    if (posix_memalign(&bufs, 4096, (size_t)entries * buf_bytes) != 0) {
        munmap(br, ring_bytes);
        return -ENOMEM;
    }
    struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)br,
                                   .ring_entries = entries, .bgid = bgid};
    int rc = io_uring_register_buf_ring(ring, &reg, 0);
    if (rc < 0) {
        free(bufs);
        munmap(br, ring_bytes);
        return rc;
    }
    *bufring = (struct sl_bufring){.br = br, .bufs = bufs, .entries = entries,
                                   .buf_bytes = buf_bytes, .bgid = bgid, .registered = true};
    io_uring_buf_ring_init(br);
    for (uint32_t bid = 0; bid < entries; bid++)
        sl_bufring_recycle(bufring, bid);
    sl_bufring_publish(bufring);
    return 0;
}

void sl_bufring_fini(struct sl_bufring *bufring, struct io_uring *ring)
{
    if (!bufring->registered)
        return;
    io_uring_unregister_buf_ring(ring, bufring->bgid);
    munmap(bufring->br, (size_t)bufring->entries * sizeof(struct io_uring_buf));
    free(bufring->bufs);
    memset(bufring, 0, sizeof(*bufring));
}

bool sl_uring_has_basic_ops(struct io_uring *ring)
{
    struct io_uring_probe *probe = io_uring_get_probe_ring(ring);
    if (probe == NULL)
        return false;
    static const int ops[] = {IORING_OP_ACCEPT, IORING_OP_RECV, IORING_OP_READ,
                              IORING_OP_ASYNC_CANCEL, IORING_OP_TIMEOUT};
    bool ok = true;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        ok = ok && io_uring_opcode_supported(probe, ops[i]);
    io_uring_free_probe(probe);
    return ok;
}

/* Reaps completions of the probe until its recv has ended (cancelling it
 * after the first data); recycles any buffer it used. Returns whether the
 * first data completion had IORING_CQE_F_MORE. */
static bool sl_uring_probe_reap(struct io_uring *ring, struct sl_bufring *bufring)
{
    bool more = false, saw_data = false, recv_done = false;
    bool cancel_sent = false, cancel_pending = false;
    while (!recv_done || cancel_pending) {
        struct io_uring_cqe *cqe;
        if (io_uring_wait_cqe(ring, &cqe) < 0)
            break;
        uint64_t tag = cqe->user_data;
        uint32_t flags = cqe->flags;
        int res = cqe->res;
        io_uring_cqe_seen(ring, cqe);
        if (tag == SL_PROBE_CANCEL_TAG) {
            cancel_pending = false;
            continue;
        }
        if (flags & IORING_CQE_F_BUFFER)
            sl_bufring_recycle(bufring, flags >> IORING_CQE_BUFFER_SHIFT);
        if (!saw_data && res == 1) {
            saw_data = true;
            more = (flags & IORING_CQE_F_MORE) != 0;
        }
        if (!(flags & IORING_CQE_F_MORE)) {
            recv_done = true;
        } else if (!cancel_sent) {
            struct io_uring_sqe *sqe = sl_uring_sqe(ring);
            io_uring_prep_cancel64(sqe, SL_PROBE_TAG, 0);
            io_uring_sqe_set_data64(sqe, SL_PROBE_CANCEL_TAG);
            io_uring_submit(ring);
            cancel_sent = cancel_pending = true;
        }
    }
    sl_bufring_publish(bufring);
    return saw_data && more;
}

bool sl_uring_probe_multishot_recv(struct io_uring *ring, struct sl_bufring *bufring)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return false;
    struct io_uring_sqe *sqe = sl_uring_sqe(ring);
    io_uring_prep_recv_multishot(sqe, sv[0], NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = bufring->bgid;
    io_uring_sqe_set_data64(sqe, SL_PROBE_TAG);
    bool ok = false;
    if (io_uring_submit(ring) == 1 && write(sv[1], "p", 1) == 1)
        ok = sl_uring_probe_reap(ring, bufring);
    close(sv[1]);
    close(sv[0]);
    return ok;
}
