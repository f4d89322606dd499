/* SPDX-License-Identifier: MIT */
/* The network process: UDP, batching, the keeper channel (see net.h). */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"
#include "iomt_err.h"
#include "lib/rt_daemon.h"
#include "lib/rt_log.h"
#include "metrics.h"
#include "net.h"

enum {
	EVENTS_MAX = 64,
	HEARTBEAT_MS = 1000,
	AS_NONCE_AT = IOMT_KDC_NAME_LEN + 4,
	TGS_NONCE_AT = IOMT_KDC_NAME_LEN,
};

/* epoll data for the fixed sockets; connections point to their struct. */
enum { W_SIGNAL = 1, W_KEEPER, W_UDP, W_TCP, W_METRICS };

static uint8_t watch_tag[W_METRICS + 1];

int64_t kdc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void kdc_peer_of(const struct sockaddr_storage *ss, uint8_t transport, struct kdc_ipc_peer *p)
{
	memset(p, 0, sizeof(*p));
	p->transport = transport;
	p->family = (uint8_t)ss->ss_family;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

		memcpy(p->addr, &a->sin_addr, 4);
		p->port = ntohs(a->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

		memcpy(p->addr, &a->sin6_addr, 16);
		p->port = ntohs(a->sin6_port);
	}
}

uint8_t kdc_frame_check(uint8_t type, size_t plen, const uint8_t *payload, uint8_t ref[8])
{
	memset(ref, 0, 8);
	/* A well-framed reply type or another protocol's message: not for us. */
	if (type == IOMT_MSG_KDC_AS_REQ && plen == IOMT_KDC_AS_REQ_LEN) {
		memcpy(ref, payload + AS_NONCE_AT, 8);
		rt_metric_inc(&kdc_metrics.req_as);
		return 0;
	}
	if (type == IOMT_MSG_KDC_TGS_REQ && plen == IOMT_KDC_TGS_REQ_LEN) {
		memcpy(ref, payload + TGS_NONCE_AT, 8);
		rt_metric_inc(&kdc_metrics.req_tgs);
		return 0;
	}
	rt_metric_inc(&kdc_metrics.req_other);
	return IOMT_KDC_ERR_MALFORMED;
}

/* ---- batches ---- */

int kdc_batch_full(const struct kdc_net *n)
{
	return n->collect->nitems >= (uint32_t)n->cfg->batch_max;
}

struct kdc_ipc_req *kdc_batch_add(struct kdc_net *n, uint8_t local, const uint8_t ref[8],
				  uint8_t transport, struct item **it)
{
	struct batch *b = n->collect;
	struct item *i = &b->items[b->nitems++];
	struct kdc_ipc_req *q;

	i->local = local;
	i->transport = transport;
	i->conn = NULL;
	memcpy(i->ref, ref, 8);
	*it = i;
	if (local) {
		rt_metric_inc(local == IOMT_KDC_ERR_BUSY ? &kdc_metrics.net_denied_busy
							 : &kdc_metrics.net_denied_malformed);
		return NULL;
	}
	q = (struct kdc_ipc_req *)(b->msg + sizeof(struct kdc_ipc_hdr)) + b->nreq++;
	q->zero = 0;
	return q;
}

static void batch_reset(struct batch *b)
{
	b->nitems = b->nreq = 0;
}

/* ---- UDP ---- */

static void udp_queue(struct kdc_net *n, const struct item *it, uint8_t type,
		      const uint8_t *p, size_t len)
{
	uint8_t *f = n->tx_buf[n->ntx];
	struct mmsghdr *m = &n->tx_msg[n->ntx];

	iomt_wire_put_hdr(f, type, len);
	memcpy(f + IOMT_WIRE_HDR_LEN, p, len);
	n->tx_iov[n->ntx] = (struct iovec){ .iov_base = f, .iov_len = IOMT_WIRE_HDR_LEN + len };
	memset(m, 0, sizeof(*m));
	m->msg_hdr.msg_name = (void *)(uintptr_t)&it->addr;
	m->msg_hdr.msg_namelen = it->alen;
	m->msg_hdr.msg_iov = &n->tx_iov[n->ntx];
	m->msg_hdr.msg_iovlen = 1;
	n->ntx++;
}

/* Every queued datagram with as few sendmmsg calls as the kernel allows;
 * what it will not take now is dropped (UDP) and counted. */
static void udp_flush(struct kdc_net *n)
{
	unsigned off = 0;

	while (off < n->ntx) {
		int r = sendmmsg(n->udp, n->tx_msg + off, n->ntx - off, MSG_DONTWAIT);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			/* Skip the one that failed (bad address, full buffer). */
			rt_metric_inc(&kdc_metrics.udp_send_dropped);
			off++;
			continue;
		}
		off += (unsigned)r;
	}
	n->ntx = 0;
}

static void udp_one(struct kdc_net *n, unsigned i)
{
	const struct mmsghdr *m = &n->rx_msg[i];
	const uint8_t *payload = NULL;
	struct kdc_ipc_req *q;
	struct item *it;
	uint8_t type = 0, ref[8] = { 0 }, local;
	size_t plen = 0;

	if (m->msg_hdr.msg_flags & MSG_TRUNC || iomt_wire_parse(n->rx_buf[i], m->msg_len, &type,
								&payload, &plen)) {
		rt_metric_inc(&kdc_metrics.req_malformed);
		/* Never answer with more bytes than came in. */
		if (m->msg_len < IOMT_WIRE_HDR_LEN + IOMT_KDC_ERR_LEN)
			return;
		local = IOMT_KDC_ERR_MALFORMED;
	} else {
		local = kdc_frame_check(type, plen, payload, ref);
	}
	q = kdc_batch_add(n, local, ref, KDC_UDP, &it);
	memcpy(&it->addr, &n->rx_addr[i], m->msg_hdr.msg_namelen);
	it->alen = m->msg_hdr.msg_namelen;
	if (!q)
		return;
	q->type = type;
	q->len = (uint16_t)plen;
	memcpy(q->payload, payload, plen);
	kdc_peer_of(&n->rx_addr[i], KDC_UDP, &q->peer);
}

static void udp_collect(struct kdc_net *n)
{
	while (!kdc_batch_full(n)) {
		unsigned room = (unsigned)n->cfg->batch_max - n->collect->nitems;
		int got;

		for (unsigned i = 0; i < room; i++) {
			n->rx_msg[i].msg_hdr.msg_namelen = sizeof(n->rx_addr[i]);
			n->rx_msg[i].msg_hdr.msg_flags = 0;
		}
		got = recvmmsg(n->udp, n->rx_msg, room, MSG_DONTWAIT, NULL);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return;
		for (int i = 0; i < got; i++)
			udp_one(n, (unsigned)i);
		if ((unsigned)got < room)
			return;
	}
}

/* ---- the keeper channel ---- */

static int ship(struct kdc_net *n, int heartbeat);

static void reply_frame(struct kdc_net *n, const struct item *it, uint8_t type,
			const uint8_t *p, size_t len)
{
	if (it->transport == KDC_UDP) {
		udp_queue(n, it, type, p, len);
		return;
	}
	kdc_conn_reply(n, it->conn, type, p, len);
}

/* Replies in the order of the batch's items; local answers in between. */
static void deliver(struct kdc_net *n, struct batch *b, const struct kdc_ipc_rep *rep)
{
	uint64_t now = unix_ms();
	uint8_t err[IOMT_KDC_ERR_LEN];
	uint32_t j = 0;

	for (uint32_t i = 0; i < b->nitems; i++) {
		const struct item *it = &b->items[i];

		if (it->local) {
			iomt_kdc_err_build(it->local, it->ref, now, err);
			reply_frame(n, it, IOMT_MSG_KDC_ERR, err, sizeof(err));
		} else {
			reply_frame(n, it, rep[j].type, rep[j].payload, rep[j].len);
			j++;
		}
	}
	udp_flush(n);
	for (struct conn *c = n->conns, *next; c; c = next) {
		next = c->next;
		kdc_conn_flush(n, c);
	}
	batch_reset(b);
}

/* The keeper's answer to the batch in flight: 0, or -1 when the keeper is
 * gone or broke the protocol (the daemon must stop). */
static int keeper_reply(struct kdc_net *n)
{
	const struct kdc_ipc_hdr *h = (const struct kdc_ipc_hdr *)n->reply;
	const struct kdc_ipc_stats *st = (const struct kdc_ipc_stats *)(h + 1);
	const struct kdc_ipc_rep *rep = (const struct kdc_ipc_rep *)(st + 1);
	struct batch *b = n->nfly ? n->fly[0] : NULL;
	ssize_t len = recv(n->keeper, n->reply, KDC_IPC_REP_MSG_MAX, MSG_DONTWAIT | MSG_TRUNC);

	if (len < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (len <= 0) {
		rt_err("the keeper is gone: stopping");
		return -1;
	}
	if (!b || (size_t)len > KDC_IPC_REP_MSG_MAX || (size_t)len < sizeof(*h) + sizeof(*st) ||
	    h->magic != KDC_IPC_MAGIC || h->seq != b->seq || h->n != b->nreq ||
	    (size_t)len != sizeof(*h) + sizeof(*st) + (size_t)h->n * sizeof(*rep)) {
		rt_err("unexpected message from the keeper (%zd bytes): stopping", len);
		return -1;
	}
	for (uint32_t i = 0; i < h->n; i++)
		if (rep[i].len > KDC_REP_MAX) {
			rt_err("malformed reply from the keeper: stopping");
			return -1;
		}
	kdc_metrics_keeper(st);
	n->nfly--;
	memmove(n->fly, n->fly + 1, (size_t)n->nfly * sizeof(n->fly[0]));
	deliver(n, b, rep);
	return ship(n, 0);
}

/* Hands the collecting batch to the keeper if it is idle: 0 or -1. A
 * batch of local answers only never leaves this process. */
static int ship(struct kdc_net *n, int heartbeat)
{
	struct batch *b = n->collect;
	struct kdc_ipc_hdr *h = (struct kdc_ipc_hdr *)b->msg;
	size_t len;

	if (n->nfly == KDC_PIPELINE || (!b->nitems && !heartbeat))
		return 0;
	if (b->nitems && !b->nreq) {
		deliver(n, b, NULL);
		return 0;
	}
	b->seq = ++n->seq;
	*h = (struct kdc_ipc_hdr){ .magic = KDC_IPC_MAGIC, .seq = b->seq, .n = b->nreq };
	len = sizeof(*h) + (size_t)b->nreq * sizeof(struct kdc_ipc_req);
	if (send(n->keeper, b->msg, len, MSG_NOSIGNAL) != (ssize_t)len) {
		rt_err("cannot reach the keeper: %m: stopping");
		return -1;
	}
	if (b->nreq) {
		rt_metric_inc(&kdc_metrics.batches);
		rt_metric_add(&kdc_metrics.batch_requests, b->nreq);
		rt_metric_set(&kdc_metrics.batch_last, b->nreq);
	} else {
		rt_metric_inc(&kdc_metrics.heartbeats);
	}
	n->fly[n->nfly++] = b;
	/* The next free buffer: one that is neither at the keeper nor this. */
	for (int i = 0; i <= KDC_PIPELINE; i++) {
		int busy = 0;

		for (int f = 0; f < n->nfly; f++)
			busy |= n->fly[f] == &n->b[i];
		if (!busy) {
			n->collect = &n->b[i];
			break;
		}
	}
	batch_reset(n->collect);
	n->last_ship = kdc_now_ms();
	return 0;
}

/* ---- set-up ---- */

static int alloc_all(struct kdc_net *n)
{
	size_t bm = (size_t)n->cfg->batch_max;

	for (int i = 0; i <= KDC_PIPELINE; i++) {
		n->b[i].items = calloc(bm, sizeof(struct item));
		n->b[i].msg = malloc(sizeof(struct kdc_ipc_hdr) + bm * sizeof(struct kdc_ipc_req));
		if (!n->b[i].items || !n->b[i].msg)
			return -ENOMEM;
	}
	n->collect = &n->b[0];
	n->reply = malloc(KDC_IPC_REP_MSG_MAX);
	n->rx_msg = calloc(bm, sizeof(*n->rx_msg));
	n->tx_msg = calloc(bm, sizeof(*n->tx_msg));
	n->rx_iov = calloc(bm, sizeof(*n->rx_iov));
	n->tx_iov = calloc(bm, sizeof(*n->tx_iov));
	n->rx_buf = calloc(bm, sizeof(*n->rx_buf));
	n->tx_buf = calloc(bm, sizeof(*n->tx_buf));
	n->rx_addr = calloc(bm, sizeof(*n->rx_addr));
	if (!n->reply || !n->rx_msg || !n->tx_msg || !n->rx_iov || !n->tx_iov || !n->rx_buf ||
	    !n->tx_buf || !n->rx_addr)
		return -ENOMEM;
	for (size_t i = 0; i < bm; i++) {
		n->rx_iov[i] = (struct iovec){ .iov_base = n->rx_buf[i], .iov_len = UDP_BUF };
		n->rx_msg[i].msg_hdr.msg_iov = &n->rx_iov[i];
		n->rx_msg[i].msg_hdr.msg_iovlen = 1;
		n->rx_msg[i].msg_hdr.msg_name = &n->rx_addr[i];
	}
	return 0;
}

static void free_all(struct kdc_net *n)
{
	for (int i = 0; i <= KDC_PIPELINE; i++) {
		free(n->b[i].items);
		free(n->b[i].msg);
	}
	free(n->reply);
	free(n->rx_msg);
	free(n->tx_msg);
	free(n->rx_iov);
	free(n->tx_iov);
	free(n->rx_buf);
	free(n->tx_buf);
	free(n->rx_addr);
}

static int watch(struct kdc_net *n, int fd, int tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &watch_tag[tag] };

	if (fd < 0)
		return 0;
	if (epoll_ctl(n->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		rt_err("epoll_ctl: %m");
		return -errno;
	}
	return 0;
}

/* ---- the loop ---- */

static void serve_metrics(struct kdc_net *n)
{
	for (;;) {
		int fd = accept4(n->metrics, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		/* Bounded by RT_METRICS_TIMEOUT_MS; loopback only. */
		rt_metrics_serve(fd);
		close(fd);
	}
}

static void on_signal(struct kdc_net *n)
{
	unsigned ev = rt_daemon_signal_read(n->sfd);

	if (ev & RT_SIG_RELOAD) {
		int r = rt_log_reopen();

		if (r < 0)
			rt_warn("cannot reopen the log file: %s", strerror(-r));
	}
	if (ev & RT_SIG_STOP)
		n->stopping = 1;
}

/* One event; -1 when the daemon must stop at once. */
static int dispatch(struct kdc_net *n, struct epoll_event *ev)
{
	uint8_t *tag = ev->data.ptr;

	if (tag >= watch_tag && tag <= watch_tag + W_METRICS) {
		switch (tag - watch_tag) {
		case W_SIGNAL:
			on_signal(n);
			break;
		case W_KEEPER:
			return keeper_reply(n);
		case W_UDP:
			if (!n->stopping)
				udp_collect(n);
			break;
		case W_TCP:
			if (!n->stopping)
				kdc_conn_accept(n);
			break;
		case W_METRICS:
			serve_metrics(n);
			break;
		}
		return 0;
	}
	kdc_conn_event(n, (struct conn *)tag, ev->events);
	return 0;
}

/* While the collecting batch is full only the keeper and signals matter:
 * reading on would only fill the kernel's queues into ours. */
static int wait_full(struct kdc_net *n)
{
	struct pollfd p[2] = { { .fd = n->keeper, .events = POLLIN },
			       { .fd = n->sfd, .events = POLLIN } };

	if (poll(p, 2, HEARTBEAT_MS) < 0)
		return errno == EINTR ? 0 : -1;
	if (p[1].revents)
		on_signal(n);
	if (p[0].revents)
		return keeper_reply(n);
	return 0;
}

static int pass(struct kdc_net *n)
{
	struct epoll_event ev[EVENTS_MAX];
	int64_t now;
	int k;

	if (kdc_batch_full(n) && n->nfly == KDC_PIPELINE)
		return wait_full(n);
	k = epoll_wait(n->ep, ev, EVENTS_MAX, HEARTBEAT_MS);
	if (k < 0 && errno != EINTR) {
		rt_err("epoll_wait: %m");
		return -1;
	}
	for (int i = 0; i < k; i++)
		if (dispatch(n, &ev[i]))
			return -1;
	if (!n->stopping)
		kdc_conn_pump(n);
	now = kdc_now_ms();
	kdc_conn_expire(n, now);
	return ship(n, !n->nfly && now - n->last_ship >= HEARTBEAT_MS);
}

/* Finish the batch in hand: everything already read is decided and
 * answered; then the connections are drained and closed. */
static int finish(struct kdc_net *n)
{
	int64_t deadline = kdc_now_ms() + (int64_t)n->cfg->stop_timeout;

	if (n->tcp >= 0)
		close(n->tcp);
	n->tcp = -1;
	while ((n->nfly || n->collect->nitems) && kdc_now_ms() < deadline) {
		struct pollfd p = { .fd = n->keeper, .events = POLLIN };

		if (ship(n, 0))
			return 1;
		if (n->nfly && poll(&p, 1, (int)(deadline - kdc_now_ms())) > 0 &&
		    keeper_reply(n))
			return 1;
	}
	kdc_conn_drain_all(n, deadline);
	return n->nfly ? 1 : 0;
}

int kdc_net_run(const struct kdc_cfg *cfg, int keeper, int sfd, int udp, int tcp, int metrics)
{
	static struct kdc_net net;
	struct kdc_net *n = &net;
	int r, rc = 1;

	*n = (struct kdc_net){ .cfg = cfg, .keeper = keeper, .sfd = sfd, .udp = udp, .tcp = tcp,
			       .metrics = metrics, .ep = epoll_create1(EPOLL_CLOEXEC) };
	r = n->ep < 0 ? -errno : alloc_all(n);
	if (!r)
		r = kdc_metrics_register();
	if (!r)
		r = watch(n, sfd, W_SIGNAL);
	if (!r)
		r = watch(n, keeper, W_KEEPER);
	if (!r)
		r = watch(n, udp, W_UDP);
	if (!r)
		r = watch(n, tcp, W_TCP);
	if (!r)
		r = watch(n, metrics, W_METRICS);
	if (r) {
		rt_err("network process set-up failed: %s", strerror(-r));
	} else {
		n->last_ship = kdc_now_ms();
		while (!n->stopping && !(r = pass(n)))
			;
		rc = r ? 1 : finish(n);
	}
	free_all(n);
	if (n->ep >= 0)
		close(n->ep);
	return rc;
}
