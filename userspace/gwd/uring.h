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
 *    bounded table of send slots; the SQEs of a batch leave in one
 *    io_uring_enter once the batch is handled (as sendmmsg did), UDP sends
 *    complete inline and their slots come back at the next reap. A full table is back-pressure that never drops: the
 *    datagram is sent at once with sendmsg(2) and counted
 *    (iomt_gwd_uring_tx_sync_total).
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

#endif
