/* SPDX-License-Identifier: MIT */
/* The io_uring ingress: multishot recvmsg over a provided buffer ring,
 * batched reaping, SENDMSG SQEs, the epoll set watched by one POLL_ADD. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>

#include "lib/rt_log.h"
#include "metrics.h"
#include "uring.h"

enum {
	UD_RECV = 1,
	UD_POLL,
	UD_CANCEL,
	UD_TX = 16,		/* + the send slot */
	BGID = 7,		/* our provided-buffer group */
	/* One provided buffer: the recvmsg header, the address, the control
	 * data, then the datagram (room for more than GWD_UDP_RX_BUF, so a
	 * longer one shows its real length and is refused as oversized). */
	BUF_LEN = 2048,
	NAME_LEN = sizeof(struct sockaddr_storage),
	CTL_LEN = CMSG_SPACE(sizeof(uint32_t)),
	/* Send slots: enough for every answer one pass can queue (a link's
	 * GWD_LINK_PASSES_MAX reads of a batch of REC_ACKs or M3s each). */
	TX_SLOTS = 8192,
	SQ_ENTRIES = 1024,
	/* A pass that took GATHER_MIN datagrams or more means load: the next
	 * wait lets up to a batch gather for GATHER_US. The gather ends only
	 * when a batch of completions is there, not at the epoll poll's (the
	 * store's REC_ACKs, the TTP's frames), so it delays those: measured
	 * (tests/bench/bench_gwd.sh), 200 us cost a latency-bound relay (64
	 * frames in flight) 0.7x the baseline's rate; none lost about 15% at
	 * 512 in flight on a busy machine (smaller batches, more CPU per
	 * frame); 50 us keeps that and a fourth of the delay. */
	GATHER_MIN = 8,
	GATHER_US = 50,
	RX_FAILS_MAX = 64,	/* receive errors in a row: the ring is broken */
	CQE_BATCH = 64,
};
/* Other descriptors' ops (gwd_uring_fd_*): UD_FD | the caller's tag. */
#define UD_FD GWD_URING_TAG_LIMIT

_Static_assert(sizeof(struct io_uring_recvmsg_out) + NAME_LEN + CTL_LEN + GWD_UDP_RX_BUF <=
	       BUF_LEN, "a provided buffer holds the largest device frame");

struct gwd_uring_tx {
	struct msghdr mh;
	struct iovec iov;
	struct gwd_addr to;
	uint64_t tag;			/* UD_FD | tag: gwd_uring_fd_send's */
	uint8_t buf[GWD_UDP_TX_MAX];
};

/* The ring's own counters (registered on open; the rest are gwd_stats'). */
static struct gwd_uring_stats {
	struct rt_metric on, nobufs, rx_errors, tx_sync, unhandled;
} st = {
	.on = RT_GAUGE("iomt_gwd_ingress_uring", NULL,
		       "1 when the devices' socket runs on io_uring, 0 on recvmmsg (--baseline "
		       "or fallback)"),
	.nobufs = RT_COUNTER("iomt_gwd_uring_rx_nobufs_total", NULL,
			     "Multishot receives ended by an empty buffer ring (datagrams wait in "
			     "the socket; its overflow is udp_kernel_drops)"),
	.rx_errors = RT_COUNTER("iomt_gwd_uring_rx_errors_total", NULL,
				"Receive completions with an error other than ENOBUFS"),
	.tx_sync = RT_COUNTER("iomt_gwd_uring_tx_sync_total", NULL,
			      "Datagrams sent with sendmsg(2) because every send slot was busy"),
	.unhandled = RT_COUNTER("iomt_gwd_uring_rx_unhandled_total", NULL,
				"Datagrams received after the last pass of a stop, not handled"),
};

int gwd_uring_metrics(void)
{
	struct rt_metric *all = (struct rt_metric *)&st;

	for (size_t i = 0; i < sizeof(st) / sizeof(*all); i++) {
		int r = rt_metrics_register(&all[i]);

		if (r && r != -EALREADY)
			return r;
	}
	return 0;
}

static unsigned pow2_at_least(unsigned v)
{
	unsigned p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

/*
 * Setup flags, most wanted first; the kernel refusing one set (older
 * kernel, seccomp, a sandbox) is logged and the next is tried.
 *  - SINGLE_ISSUER: only this thread submits (one ring per worker), so the
 *    kernel skips the submission lock.
 *  - DEFER_TASKRUN (needs SINGLE_ISSUER): completions run only when we
 *    enter the ring to wait, in our own time, in batches: no interrupting
 *    task work in the middle of a role's batch, and each wait reaps what the
 *    whole burst produced.
 *  - COOP_TASKRUN (fallback): no IPI to interrupt us for task work.
 *  - CQSIZE: the CQ holds one completion per provided buffer plus one per
 *    send slot plus the few singletons (poll, cancel, end of a multishot),
 *    twice over, so a burst never overflows it into the kernel's slow
 *    overflow list.
 *  - SUBMIT_ALL: one bad SQE does not hold back the sends queued after it.
 */
static const struct {
	unsigned flags;
	const char *name;
} setups[] = {
	{ IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "SINGLE_ISSUER|DEFER_TASKRUN" },
	{ IORING_SETUP_COOP_TASKRUN, "COOP_TASKRUN" },
	{ 0, "none" },
};

const char *gwd_uring_flags_str(const struct gwd_uring *r, char *buf, size_t len)
{
	for (size_t i = 0; i < sizeof(setups) / sizeof(setups[0]); i++)
		if (setups[i].flags == r->flags) {
			snprintf(buf, len, "%s", setups[i].name);
			return buf;
		}
	snprintf(buf, len, "0x%x", r->flags);
	return buf;
}

static int ring_init(struct gwd_uring *r, unsigned sq, unsigned cq)
{
	int ret = -EINVAL;

	for (size_t i = 0; i < sizeof(setups) / sizeof(setups[0]); i++) {
		struct io_uring_params p = {
			.flags = setups[i].flags | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL,
			.cq_entries = cq,
		};

		ret = io_uring_queue_init_params(sq, &r->ring, &p);
		if (ret == 0) {
			r->flags = setups[i].flags;
			if (!(p.features & IORING_FEAT_EXT_ARG)) {
				/* No wait with a timeout without a timeout SQE: too old. */
				io_uring_queue_exit(&r->ring);
				return -ENOSYS;
			}
			return 0;
		}
		rt_warn("io_uring setup with %s refused: %s%s", setups[i].name, strerror(-ret),
			i + 1 < sizeof(setups) / sizeof(setups[0]) ? "; trying fewer flags" : "");
	}
	return ret;
}

/* Optional, each a saving per operation (so failures only cost that):
 * the socket as fixed file 0 (no file lookup and reference per SQE) and
 * the ring's own fd registered (none per io_uring_enter). */
static void register_fds(struct gwd_uring *r)
{
	int fd = r->udp->fd;

	r->sock = fd;
	if (io_uring_register_files(&r->ring, &fd, 1) == 0) {
		r->sock = 0;
		r->sqe_flags = IOSQE_FIXED_FILE;
	}
	if (io_uring_register_ring_fd(&r->ring) < 0)
		rt_dbg("io_uring: ring fd not registered (kernel before 5.18)");
}

static int bufs_init(struct gwd_uring *r)
{
	struct io_uring_buf_reg reg = { .ring_entries = r->nbufs, .bgid = BGID };
	int ret;

	r->br_len = (size_t)r->nbufs * sizeof(struct io_uring_buf);
	r->br = mmap(NULL, r->br_len, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (r->br == MAP_FAILED) {
		r->br = NULL;
		return -errno;
	}
	r->bufs = aligned_alloc(64, (size_t)r->nbufs * BUF_LEN);
	if (!r->bufs)
		return -ENOMEM;
	reg.ring_addr = (uintptr_t)r->br;
	ret = io_uring_register_buf_ring(&r->ring, &reg, 0);
	if (ret)
		return ret;
	io_uring_buf_ring_init(r->br);
	for (unsigned i = 0; i < r->nbufs; i++)
		io_uring_buf_ring_add(r->br, r->bufs + (size_t)i * BUF_LEN, BUF_LEN, (uint16_t)i,
				      io_uring_buf_ring_mask(r->nbufs), (int)i);
	io_uring_buf_ring_advance(r->br, (int)r->nbufs);
	r->rx_tmpl.msg_namelen = NAME_LEN;
	r->rx_tmpl.msg_controllen = CTL_LEN;
	return 0;
}

static int alloc_arrays(struct gwd_uring *r)
{
	r->data = calloc(r->batch, sizeof(*r->data));
	r->len = calloc(r->batch, sizeof(*r->len));
	r->cut = calloc(r->batch, sizeof(*r->cut));
	r->from = calloc(r->batch, sizeof(*r->from));
	r->held = calloc(r->nbufs, sizeof(*r->held));
	r->tx = calloc(r->tx_cap, sizeof(*r->tx));
	r->tx_free = calloc(r->tx_cap, sizeof(*r->tx_free));
	r->ev_cap = r->batch;
	r->ev = calloc(r->ev_cap, sizeof(*r->ev));
	if (!r->data || !r->len || !r->cut || !r->from || !r->held || !r->tx || !r->tx_free ||
	    !r->ev)
		return -ENOMEM;
	for (unsigned i = 0; i < r->tx_cap; i++)
		r->tx_free[i] = r->tx_cap - 1 - i;
	r->tx_nfree = r->tx_cap;
	return 0;
}

/* An SQE, submitting what is queued when the SQ is full. */
static struct io_uring_sqe *get_sqe(struct gwd_uring *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

	if (!sqe) {
		io_uring_submit(&r->ring);
		sqe = io_uring_get_sqe(&r->ring);
	}
	return sqe;
}

static void arm_recv(struct gwd_uring *r)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	if (!sqe)
		return;	/* retried after the next reap */
	/* MSG_TRUNC: the header's payloadlen is the datagram's real length. */
	io_uring_prep_recvmsg_multishot(sqe, r->sock, &r->rx_tmpl, MSG_TRUNC);
	sqe->flags |= IOSQE_BUFFER_SELECT | r->sqe_flags;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, UD_RECV);
	r->rx_armed = 1;
}

void gwd_uring_poll_epoll(struct gwd_uring *r)
{
	struct io_uring_sqe *sqe;

	if (r->poll_armed || !(sqe = get_sqe(r)))
		return;
	io_uring_prep_poll_add(sqe, r->epfd, POLLIN);
	io_uring_sqe_set_data64(sqe, UD_POLL);
	r->poll_armed = 1;
}

/* A kernel without multishot recvmsg (before 6.0) fails the receive at
 * once; a capable one leaves it pending on an idle socket (a datagram that
 * came already is left for the loop): 0 or the error. */
static int probe_recv(struct gwd_uring *r)
{
	struct io_uring_cqe *cqe;
	int ret = io_uring_get_events(&r->ring);

	if (ret < 0)
		return ret;
	if (io_uring_peek_cqe(&r->ring, &cqe) || io_uring_cqe_get_data64(cqe) != UD_RECV ||
	    cqe->res >= 0 || cqe->res == -ENOBUFS)
		return 0;
	ret = cqe->res;
	io_uring_cqe_seen(&r->ring, cqe);
	return ret;
}

int gwd_uring_open(struct gwd_uring *r, struct gwd_udp *u, int epfd, unsigned nbufs,
		   unsigned batch, char *err, size_t errlen)
{
	unsigned sq, cq;
	int ret;

	memset(r, 0, sizeof(*r));
	r->udp = u;
	r->epfd = epfd;
	r->nbufs = nbufs;
	r->batch = batch;
	r->tx_cap = TX_SLOTS;
	sq = SQ_ENTRIES;	/* a full SQ is submitted on the spot (get_sqe) */
	cq = pow2_at_least(2 * (nbufs + r->tx_cap + 8));
	if (nbufs < 1 || nbufs > 32768 || (nbufs & (nbufs - 1))) {
		snprintf(err, errlen, "uring_buffers: %u is not a power of two in 1..32768", nbufs);
		return -EINVAL;
	}
	ret = gwd_uring_metrics();
	if (!ret)
		ret = alloc_arrays(r);
	if (ret) {
		snprintf(err, errlen, "io_uring: %s", strerror(-ret));
		return ret;
	}
	ret = ring_init(r, sq, cq);
	if (ret) {
		snprintf(err, errlen, "io_uring setup: %s", strerror(-ret));
		return ret;
	}
	r->ring_ok = 1;
	register_fds(r);
	ret = bufs_init(r);
	if (ret) {
		snprintf(err, errlen, "io_uring provided buffers (%u): %s", nbufs, strerror(-ret));
		return ret;
	}
	arm_recv(r);
	gwd_uring_poll_epoll(r);
	ret = io_uring_submit(&r->ring);
	if (ret >= 0)
		ret = probe_recv(r);
	if (ret < 0) {
		snprintf(err, errlen, "io_uring multishot recvmsg: %s", strerror(-ret));
		return ret;
	}
	rt_metric_set(&st.on, 1);
	return 0;
}

void gwd_uring_close(struct gwd_uring *r)
{
	if (r->ring_ok)
		io_uring_queue_exit(&r->ring);	/* also cancels and unregisters */
	if (r->br)
		munmap(r->br, r->br_len);
	free(r->bufs);
	free(r->data);
	free(r->len);
	free(r->cut);
	free(r->from);
	free(r->held);
	free(r->tx);
	free(r->tx_free);
	free(r->ev);
	memset(r, 0, sizeof(*r));
	/* st.on stays: a worker's ring closing at its stop is not the
	 * daemon's ingress leaving io_uring. */
}

int gwd_uring_wait(struct gwd_uring *r, int timeout_ms)
{
	long long ns = timeout_ms < 0 ? -1 : (long long)timeout_ms * 1000000;
	unsigned want = 1;
	struct io_uring_cqe *cqe;
	int ret;

	/* Under load, let a batch gather (at most GATHER_US: the latency it
	 * may add) rather than wake for every datagram. */
	if (r->last_n >= GATHER_MIN && timeout_ms != 0) {
		want = io_uring_cq_ready(&r->ring) + r->batch;
		if (ns < 0 || ns > GATHER_US * 1000LL)
			ns = GATHER_US * 1000LL;
	}
	if (ns < 0) {
		ret = io_uring_submit_and_wait(&r->ring, 1);
	} else {
		struct __kernel_timespec ts = { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };

		ret = io_uring_submit_and_wait_timeout(&r->ring, &cqe, want, &ts, NULL);
	}
	return ret < 0 ? ret : 0;
}

/* ---- completions ---- */

static void tx_done(struct gwd_uring *r, unsigned slot, int res)
{
	if (slot >= r->tx_cap)
		return;
	if (r->tx[slot].tag) {	/* gwd_uring_fd_send's: the caller counts it */
		r->ev[r->nev++] = (struct gwd_uring_ev){ r->tx[slot].tag & ~UD_FD, res, 0 };
		r->tx[slot].tag = 0;
	} else if (res < 0) {
		rt_dbg("send to device: %s", strerror(-res));
		rt_metric_inc(&gwd_stats.udp_send_errors);
	}
	r->tx_free[r->tx_nfree++] = slot;
	r->tx_inflight--;
}

/* The SO_RXQ_OVFL counter in a datagram's control data. */
static void rx_ctl(struct gwd_uring *r, struct io_uring_recvmsg_out *o)
{
	for (struct cmsghdr *c = io_uring_recvmsg_cmsg_firsthdr(o, &r->rx_tmpl); c;
	     c = io_uring_recvmsg_cmsg_nexthdr(o, &r->rx_tmpl, c)) {
		uint32_t total;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL)
			continue;
		memcpy(&total, CMSG_DATA(c), sizeof(total));
		gwd_udp_kernel_drops(r->udp, total);
	}
}

static void rx_done(struct gwd_uring *r, const struct io_uring_cqe *cqe)
{
	struct io_uring_recvmsg_out *o;
	uint8_t *buf;
	unsigned i = r->n;
	uint16_t bid;

	if (!(cqe->flags & IORING_CQE_F_MORE))
		r->rx_armed = 0;	/* re-armed by gwd_uring_recycle */
	if (cqe->res == -ENOBUFS) {
		rt_metric_inc(&st.nobufs);
		rt_dbg("buffer ring empty: receive re-armed after this batch");
		return;
	}
	if (cqe->res == -ECANCELED)
		return;	/* gwd_uring_drain */
	if (cqe->res < 0) {
		rt_metric_inc(&st.rx_errors);
		rt_warn("UDP receive (io_uring): %s", strerror(-cqe->res));
		/* Re-armed once per pass; an error that never clears is fatal
		 * rather than a loop of warnings. */
		if (++r->rx_fails >= RX_FAILS_MAX)
			r->broken = 1;
		return;
	}
	r->rx_fails = 0;
	if (!(cqe->flags & IORING_CQE_F_BUFFER)) {
		rt_metric_inc(&st.rx_errors);
		return;
	}
	bid = (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
	r->held[r->nheld++] = bid;
	buf = r->bufs + (size_t)bid * BUF_LEN;
	o = io_uring_recvmsg_validate(buf, cqe->res, &r->rx_tmpl);
	if (!o) {
		rt_metric_inc(&st.rx_errors);
		return;
	}
	rx_ctl(r, o);
	r->data[i] = io_uring_recvmsg_payload(o, &r->rx_tmpl);
	r->len[i] = o->payloadlen;
	r->cut[i] = (o->flags & MSG_TRUNC) || o->payloadlen > GWD_UDP_RX_BUF;
	r->from[i].len = o->namelen < NAME_LEN ? o->namelen : NAME_LEN;
	memcpy(&r->from[i].ss, io_uring_recvmsg_name(o), r->from[i].len);
	r->n++;
}

unsigned gwd_uring_reap(struct gwd_uring *r)
{
	struct io_uring_cqe *cqe[CQE_BATCH];

	r->n = r->nev = 0;
	r->ev_full = 0;
	for (;;) {
		/* Never take more datagrams than the batch holds, nor more
		 * other completions than ev does (each CQE is at most one). */
		unsigned want = r->batch - r->n < CQE_BATCH ? r->batch - r->n : CQE_BATCH;
		unsigned got;

		if (r->ev_cap - r->nev < want)
			want = r->ev_cap - r->nev;
		r->ev_full = !want && r->nev == r->ev_cap;
		got = want ? io_uring_peek_batch_cqe(&r->ring, cqe, want) : 0;
		for (unsigned k = 0; k < got; k++) {
			uint64_t ud = io_uring_cqe_get_data64(cqe[k]);

			if (ud >= UD_FD)
				r->ev[r->nev++] = (struct gwd_uring_ev){ ud & ~UD_FD, cqe[k]->res,
									 cqe[k]->flags };
			else if (ud >= UD_TX)
				tx_done(r, (unsigned)(ud - UD_TX), cqe[k]->res);
			else if (ud == UD_RECV)
				rx_done(r, cqe[k]);
			else if (ud == UD_POLL)
				r->poll_armed = 0, r->epoll_ready = 1;
		}
		io_uring_cq_advance(&r->ring, got);
		if (got < want || !want)
			return r->n;
	}
}

const uint8_t *gwd_uring_datagram(const struct gwd_uring *r, unsigned i, size_t *len, int *cut)
{
	*len = r->len[i];
	*cut = r->cut[i];
	return r->data[i];
}

const struct gwd_addr *gwd_uring_from(const struct gwd_uring *r, unsigned i)
{
	return &r->from[i];
}

void gwd_uring_recycle(struct gwd_uring *r)
{
	int mask = io_uring_buf_ring_mask(r->nbufs);

	for (unsigned i = 0; i < r->nheld; i++)
		io_uring_buf_ring_add(r->br, r->bufs + (size_t)r->held[i] * BUF_LEN, BUF_LEN,
				      r->held[i], mask, (int)i);
	io_uring_buf_ring_advance(r->br, (int)r->nheld);
	r->nheld = 0;
	r->n = 0;
	if (!r->rx_armed && !r->rx_stop)
		arm_recv(r);
}

void gwd_uring_stop_recv(struct gwd_uring *r)
{
	struct io_uring_sqe *sqe;

	r->rx_stop = 1;
	if (r->rx_armed && (sqe = get_sqe(r))) {
		io_uring_prep_cancel64(sqe, UD_RECV, 0);
		io_uring_sqe_set_data64(sqe, UD_CANCEL);
	}
}

/* ---- sends ---- */

static void tx_prepare(struct gwd_uring_tx *t, const struct gwd_addr *to, uint8_t type,
		       const void *payload, size_t len)
{
	iomt_wire_put_hdr(t->buf, type, len);
	memcpy(t->buf + IOMT_WIRE_HDR_LEN, payload, len);
	t->to = *to;
	t->iov = (struct iovec){ t->buf, IOMT_WIRE_HDR_LEN + len };
	t->mh = (struct msghdr){
		.msg_name = &t->to.ss, .msg_namelen = to->len, .msg_iov = &t->iov, .msg_iovlen = 1,
	};
}

/* Every slot busy: send now (back-pressure on the caller, never a drop). */
static int tx_sync(struct gwd_uring *r, const struct gwd_addr *to, uint8_t type,
		   const void *payload, size_t len)
{
	struct gwd_uring_tx t;

	tx_prepare(&t, to, type, payload, len);
	rt_metric_inc(&st.tx_sync);
	if (sendmsg(r->udp->fd, &t.mh, 0) < 0) {
		rt_dbg("send to device: %s", strerror(errno));
		rt_metric_inc(&gwd_stats.udp_send_errors);
	}
	return 0;
}

int gwd_uring_queue(struct gwd_uring *r, const struct gwd_addr *to, uint8_t type,
		    const void *payload, size_t len)
{
	struct io_uring_sqe *sqe;
	unsigned slot;

	if (IOMT_WIRE_HDR_LEN + len > GWD_UDP_TX_MAX)
		return -EMSGSIZE;
	if (!r->tx_nfree || !(sqe = get_sqe(r)))
		return tx_sync(r, to, type, payload, len);
	slot = r->tx_free[--r->tx_nfree];
	tx_prepare(&r->tx[slot], to, type, payload, len);
	io_uring_prep_sendmsg(sqe, r->sock, &r->tx[slot].mh, 0);
	sqe->flags |= r->sqe_flags;
	io_uring_sqe_set_data64(sqe, UD_TX + slot);
	r->tx_inflight++;
	return 0;
}

int gwd_uring_flush(struct gwd_uring *r)
{
	int ret = io_uring_sq_ready(&r->ring) ? io_uring_submit(&r->ring) : 0;

	return ret < 0 ? ret : 0;
}

void gwd_uring_drain(struct gwd_uring *r, int timeout_ms)
{
	struct timespec t0, t1;
	struct io_uring_sqe *sqe;
	unsigned lost = 0;

	/* Stop receiving: what is still in the socket goes with it, as with
	 * recvmmsg; what the kernel already put in buffers is counted. */
	if (r->rx_armed && (sqe = get_sqe(r))) {
		io_uring_prep_cancel64(sqe, UD_RECV, 0);
		io_uring_sqe_set_data64(sqe, UD_CANCEL);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long ms;

		lost += gwd_uring_reap(r);
		r->nheld = r->n = 0;
		if (!r->tx_inflight && !r->rx_armed)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms >= timeout_ms)
			break;
		gwd_uring_wait(r, (int)(timeout_ms - ms));
	}
	if (lost) {
		rt_metric_add(&st.unhandled, lost);
		rt_info("%u datagram(s) arrived during the last moment of the stop, unanswered",
			lost);
	}
	if (r->tx_inflight)
		rt_warn("%u datagram(s) still being sent at exit", r->tx_inflight);
}

/* ---- other descriptors (uring.h: the BLE listener and channels) ---- */

int gwd_uring_bufs_open(struct gwd_uring *r, struct gwd_uring_bufs *b, uint16_t bgid,
			unsigned n, unsigned len)
{
	struct io_uring_buf_reg reg = { .ring_entries = n, .bgid = bgid };
	int ret;

	memset(b, 0, sizeof(*b));
	if (!n || n > 32768 || (n & (n - 1)) || bgid == BGID)
		return -EINVAL;
	b->n = n;
	b->len = len;
	b->stride = (len + 63) & ~63u;
	b->bgid = bgid;
	b->br_len = (size_t)n * sizeof(struct io_uring_buf);
	b->br = mmap(NULL, b->br_len, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (b->br == MAP_FAILED) {
		b->br = NULL;
		return -errno;
	}
	b->mem = aligned_alloc(64, (size_t)n * b->stride);
	if (!b->mem) {
		gwd_uring_bufs_close(b);
		return -ENOMEM;
	}
	reg.ring_addr = (uintptr_t)b->br;
	ret = io_uring_register_buf_ring(&r->ring, &reg, 0);
	if (ret) {
		gwd_uring_bufs_close(b);
		return ret;
	}
	io_uring_buf_ring_init(b->br);
	for (unsigned i = 0; i < n; i++)
		io_uring_buf_ring_add(b->br, gwd_uring_bufs_at(b, (uint16_t)i), len, (uint16_t)i,
				      io_uring_buf_ring_mask(n), (int)i);
	io_uring_buf_ring_advance(b->br, (int)n);
	return 0;
}

void gwd_uring_bufs_close(struct gwd_uring_bufs *b)
{
	if (b->br)
		munmap(b->br, b->br_len);
	free(b->mem);
	memset(b, 0, sizeof(*b));
}

void gwd_uring_bufs_put(struct gwd_uring_bufs *b, const uint16_t *bid, unsigned n)
{
	int mask = io_uring_buf_ring_mask(b->n);

	for (unsigned i = 0; i < n; i++)
		io_uring_buf_ring_add(b->br, gwd_uring_bufs_at(b, bid[i]), b->len, bid[i], mask,
				      (int)i);
	io_uring_buf_ring_advance(b->br, (int)n);
}

int gwd_uring_fd_accept(struct gwd_uring *r, int fd, uint64_t tag, int multishot)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	if (!sqe)
		return -EBUSY;
	/* No address: with multishot each accept would overwrite it before we
	 * read it; the caller asks getpeername. */
	if (multishot)
		io_uring_prep_multishot_accept(sqe, fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	else
		io_uring_prep_accept(sqe, fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, UD_FD | tag);
	return 0;
}

int gwd_uring_fd_recv(struct gwd_uring *r, int fd, uint64_t tag, const struct gwd_uring_bufs *b,
		      int multishot)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	if (!sqe)
		return -EBUSY;
	/* Length 0: the buffer's (b->len). A longer SDU fills it (cut). */
	if (multishot)
		io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
	else
		io_uring_prep_recv(sqe, fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = b->bgid;
	io_uring_sqe_set_data64(sqe, UD_FD | tag);
	return 0;
}

int gwd_uring_fd_send(struct gwd_uring *r, int fd, uint64_t tag, uint8_t type,
		      const void *payload, size_t len)
{
	static const struct gwd_addr none;
	struct io_uring_sqe *sqe;
	struct gwd_uring_tx *t;
	unsigned slot;

	if (IOMT_WIRE_HDR_LEN + len > GWD_UDP_TX_MAX)
		return -EMSGSIZE;
	if (!r->tx_nfree || !(sqe = get_sqe(r)))
		return -EBUSY;
	slot = r->tx_free[--r->tx_nfree];
	t = &r->tx[slot];
	tx_prepare(t, &none, type, payload, len);
	t->tag = UD_FD | tag;
	/* A connected socket: a plain SEND of the slot's frame. MSG_DONTWAIT:
	 * no room (no credits) fails now with -EAGAIN, as a direct send does,
	 * rather than parking the SQE until the peer reads. */
	io_uring_prep_send(sqe, fd, t->buf, t->iov.iov_len, MSG_DONTWAIT | MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, UD_TX + slot);
	r->tx_inflight++;
	return 0;
}

void gwd_uring_fd_cancel(struct gwd_uring *r, uint64_t tag)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	if (!sqe)
		return;
	io_uring_prep_cancel64(sqe, UD_FD | tag, IORING_ASYNC_CANCEL_ALL);
	io_uring_sqe_set_data64(sqe, UD_CANCEL);
	io_uring_submit(&r->ring);	/* before the caller closes the fd */
}
