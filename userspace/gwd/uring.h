/* SPDX-License-Identifier: MIT */
/*
 * The io_uring ingress of the devices' UDP socket (the default; --baseline
 * keeps udp.c's recvmmsg/sendmmsg). One ring per worker thread:
 *
 *  - receive: one multishot IORING_OP_RECVMSG on the socket, its datagrams
 *    landing in a provided buffer ring (each buffer: the io_uring_recvmsg_out
 *    header, the sender's address, the SO_RXQ_OVFL control data, then the
 *    datagram). No syscall per datagram, no copy before the role sees it.
 *    Completions are reaped in batches of at most batch_max datagrams; the
 *    buffers go back to the ring once the batch has been handled.
 *  - buffer ring empty: the kernel ends the multishot receive with -ENOBUFS.
 *    The datagrams stay in the socket's receive queue (what overflows it is
 *    counted by SO_RXQ_OVFL, iomt_gwd_udp_kernel_drops_total); the event is
 *    counted (iomt_gwd_uring_rx_nobufs_total) and the receive re-armed after
 *    the buffers of the current batch are back. Nothing is lost silently.
 *  - send: each datagram a role queues becomes one IORING_OP_SENDMSG SQE in a
 *    bounded table of send slots; the SQEs of a pass leave with the loop's
 *    next io_uring_enter, the wait itself (engine.c: one syscall a pass;
 *    between the batches of a burst, gwd_uring_flush), UDP sends
 *    complete inline and their slots come back at the next reap. A full table is back-pressure that never drops: the
 *    datagram is sent at once with sendmsg(2) and counted
 *    (iomt_gwd_uring_tx_sync_total).
 *  - other descriptors (worker 0: the BLE listener and channels, ble.h):
 *    tagged accept/recv/send ops on the same ring (gwd_uring_fd_*, below),
 *    their completions reaped in the same batches as the datagrams.
 *  - everything else (TCP links, signals, metrics) stays on the engine's
 *    epoll set, which the ring watches with one one-shot POLL_ADD on the
 *    epoll fd, re-armed after each look (arming checks readiness, so an
 *    event left ready never waits for a wake-up that does not come).
 *    The hot path never touches epoll; the cold fds keep their code.
 *    Timers are the wait's timeout (io_uring_submit_and_wait_timeout).
 *
 * Single-threaded per ring: SINGLE_ISSUER|DEFER_TASKRUN (see uring.c).
 */
#ifndef IOMT_GWD_URING_H
#define IOMT_GWD_URING_H

#include <liburing.h>
#include <stddef.h>
#include <stdint.h>

#include "role.h"
#include "udp.h"

struct gwd_uring_tx;

struct gwd_uring {
	struct io_uring ring;
	int ring_ok;
	struct gwd_udp *udp;		/* the socket (and its kernel-drop counter) */
	int epfd;
	unsigned flags;			/* the setup flags the kernel took */
	int sock;			/* the socket in SQEs: fixed file 0, or its fd */
	uint8_t sqe_flags;		/* IOSQE_FIXED_FILE when it is */
	/* provided buffers */
	struct io_uring_buf_ring *br;
	size_t br_len;
	uint8_t *bufs;
	unsigned nbufs;
	struct msghdr rx_tmpl;		/* namelen and controllen of each buffer */
	int rx_armed, poll_armed, epoll_ready;
	int rx_stop;			/* gwd_uring_stop_recv: never re-armed */
	unsigned rx_fails;		/* receive errors in a row */
	int broken;			/* they never cleared: stop (uring.c) */
	/* the current batch */
	unsigned batch, n;
	unsigned last_n;		/* datagrams of the last pass (load) */
	const uint8_t **data;
	size_t *len;
	uint8_t *cut;
	struct gwd_addr *from;
	uint16_t *bid;
	unsigned nheld;			/* buffers taken, not yet given back */
	uint16_t *held;
	/* sends */
	struct gwd_uring_tx *tx;
	unsigned tx_cap, tx_nfree, tx_inflight;
	unsigned *tx_free;
	/* other descriptors' completions of the current batch (gwd_uring_fd_*) */
	struct gwd_uring_ev *ev;
	unsigned nev, ev_cap;
	int ev_full;			/* the reap stopped on a full ev: more wait */
};

/* Registers the ingress metrics (iomt_gwd_ingress_uring, ...) on either
 * path: 0 or -errno. */
int gwd_uring_metrics(void);

/* Sets up a ring for the bound socket u and the epoll set epfd: nbufs
 * provided buffers (a power of two), batch datagrams per reap: 0, or -errno
 * with a message in err (the caller falls back to recvmmsg). */
int gwd_uring_open(struct gwd_uring *r, struct gwd_udp *u, int epfd, unsigned nbufs,
		   unsigned batch, char *err, size_t errlen);
void gwd_uring_close(struct gwd_uring *r);
/* "SINGLE_ISSUER|DEFER_TASKRUN", for the start-up line. */
const char *gwd_uring_flags_str(const struct gwd_uring *r, char *buf, size_t len);

/* Submits what is queued (sends, re-arms) and waits up to timeout_ms
 * (-1: no limit) for a completion: 0, or -errno (-EINTR, -ETIME: fine). */
int gwd_uring_wait(struct gwd_uring *r, int timeout_ms);
/* Takes up to batch datagrams from the completions: their number (0 when
 * none is left). Send completions and the epoll wake-up (epoll_ready) are
 * handled on the way. Datagram i stays valid until gwd_uring_recycle. */
unsigned gwd_uring_reap(struct gwd_uring *r);
const uint8_t *gwd_uring_datagram(const struct gwd_uring *r, unsigned i, size_t *len, int *cut);
const struct gwd_addr *gwd_uring_from(const struct gwd_uring *r, unsigned i);
/* The batch has been handled: its buffers go back to the kernel, and a
 * receive that ended is re-armed. */
void gwd_uring_recycle(struct gwd_uring *r);
/* A worker's stop: cancels the multishot receive, which is not re-armed
 * again; its last datagrams still come through gwd_uring_reap (rx_armed
 * clears when the receive has ended). */
void gwd_uring_stop_recv(struct gwd_uring *r);
/* Watches the epoll set (again): its readiness becomes epoll_ready. */
void gwd_uring_poll_epoll(struct gwd_uring *r);

/* Queues one frame as a SENDMSG SQE (submitted by the next wait): 0 or
 * -EMSGSIZE. */
int gwd_uring_queue(struct gwd_uring *r, const struct gwd_addr *to, uint8_t type,
		    const void *payload, size_t len);
/* Submits the queued SQEs now (one io_uring_enter, no wait): the answers
 * of a batch leave as soon as it is handled: 0 or -errno. */
int gwd_uring_flush(struct gwd_uring *r);
/* Before exit: submits the queued sends and waits (at most timeout_ms) for
 * their completions. */
void gwd_uring_drain(struct gwd_uring *r, int timeout_ms);

/*
 * Other descriptors on the same ring (the BLE listener and channels,
 * ble.c): accept, receive and send ops on any fd, each with the caller's
 * tag (below GWD_URING_TAG_LIMIT). Their completions come out of
 * gwd_uring_reap with the datagrams, in the same batches: r->ev[0..nev),
 * valid until the next reap; a full r->ev (ev_cap = the batch) ends the
 * reap as a full batch does (ev_full). Multishot or single-shot is the
 * caller's choice (a kernel may refuse multishot on some sockets: the
 * first completion says -EINVAL). Closing an fd does not end its ops: end
 * a pending one with gwd_uring_fd_cancel first.
 */
#define GWD_URING_TAG_LIMIT (1ULL << 62)

struct gwd_uring_ev {
	uint64_t tag;
	int32_t res;			/* the CQE's: an fd, bytes, or -errno */
	uint32_t flags;			/* IORING_CQE_F_MORE: the op stays armed;
					 * _F_BUFFER: gwd_uring_ev_bid */
};

/* A group of provided buffers of its own (receives on other fds). */
struct gwd_uring_bufs {
	struct io_uring_buf_ring *br;
	size_t br_len;
	uint8_t *mem;
	unsigned n, len, stride;
	uint16_t bgid;
};

/* n buffers (a power of two) of len bytes as group bgid (not the
 * datagrams' group): 0 or -errno. */
int gwd_uring_bufs_open(struct gwd_uring *r, struct gwd_uring_bufs *b, uint16_t bgid,
			unsigned n, unsigned len);
/* After the ring has closed (it unregisters the group). */
void gwd_uring_bufs_close(struct gwd_uring_bufs *b);
static inline uint8_t *gwd_uring_bufs_at(const struct gwd_uring_bufs *b, uint16_t bid)
{
	return b->mem + (size_t)bid * b->stride;
}
/* Gives n buffers back to the kernel. */
void gwd_uring_bufs_put(struct gwd_uring_bufs *b, const uint16_t *bid, unsigned n);
static inline uint16_t gwd_uring_ev_bid(const struct gwd_uring_ev *ev)
{
	return (uint16_t)(ev->flags >> IORING_CQE_BUFFER_SHIFT);
}

/* IORING_OP_ACCEPT on the listening fd (the new fds SOCK_NONBLOCK |
 * SOCK_CLOEXEC; each completion's res). 0, or -EBUSY (no SQE now). */
int gwd_uring_fd_accept(struct gwd_uring *r, int fd, uint64_t tag, int multishot);
/* IORING_OP_RECV on fd into a buffer of b (one SDU or datagram per
 * completion; res 0: the peer closed). 0, or -EBUSY (no SQE now). */
int gwd_uring_fd_recv(struct gwd_uring *r, int fd, uint64_t tag, const struct gwd_uring_bufs *b,
		      int multishot);
/* One frame to the connected fd as a SEND SQE with MSG_DONTWAIT (it
 * fails with -EAGAIN rather than waiting), from a send slot; submitted
 * with the datagrams' (gwd_uring_flush). Its completion is an ev of tag.
 * 0, -EMSGSIZE (above GWD_UDP_TX_MAX) or -EBUSY (no slot or SQE now):
 * then the caller sends it itself, after gwd_uring_flush (order). */
int gwd_uring_fd_send(struct gwd_uring *r, int fd, uint64_t tag, uint8_t type,
		      const void *payload, size_t len);
/* Ends every pending op of tag (their last completions say -ECANCELED). */
void gwd_uring_fd_cancel(struct gwd_uring *r, uint64_t tag);

#endif
