/* SPDX-License-Identifier: MIT */
/* TCP connections of the network process: a stream of frames each way. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"
#include "iomt_err.h"
#include "lib/rt_log.h"
#include "metrics.h"
#include "net.h"

static void set_events(struct kdc_net *n, struct conn *c)
{
	uint32_t ev = 0;
	struct epoll_event e;

	if (c->dead)
		return;
	/* Read while there is room and the stream is sound; write while
	 * something waits. */
	if (!c->closing && !c->eof && !n->stopping && c->rx_len < CONN_RX)
		ev |= EPOLLIN;
	if (c->tx_len > c->tx_off)
		ev |= EPOLLOUT;
	if (ev == c->events)
		return;
	e = (struct epoll_event){ .events = ev, .data.ptr = c };
	if (epoll_ctl(n->ep, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->events = ev;
}

static void conn_free(struct kdc_net *n, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		n->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

void kdc_conn_close(struct kdc_net *n, struct conn *c, struct rt_metric *why, const char *msg)
{
	if (c->dead)
		return;
	if (msg)
		rt_dbg("tcp %u: closed: %s", c->peer.port, msg);
	rt_metric_inc(why);
	epoll_ctl(n->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->dead = 1;
	n->nconns--;
	rt_metric_set(&kdc_metrics.conns, (uint64_t)n->nconns);
	/* Replies still owed by a batch are dropped when they arrive. */
	if (!c->inflight)
		conn_free(n, c);
}

void kdc_conn_accept(struct kdc_net *n)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct epoll_event e;
		struct conn *c;
		int one = 1, fd = accept4(n->tcp, (struct sockaddr *)&ss, &sl,
					   SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		if (n->nconns >= n->cfg->max_conns || !(c = calloc(1, sizeof(*c)))) {
			rt_metric_inc(&kdc_metrics.conns_refused);
			close(fd);
			continue;
		}
		/* Replies are small and latency matters: no Nagle delay. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		c->last_ms = kdc_now_ms();
		kdc_peer_of(&ss, KDC_TCP, &c->peer);
		c->events = EPOLLIN;
		e = (struct epoll_event){ .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(n->ep, EPOLL_CTL_ADD, fd, &e) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = n->conns;
		if (n->conns)
			n->conns->prev = c;
		n->conns = c;
		n->nconns++;
		rt_metric_inc(&kdc_metrics.conns_accepted);
		rt_metric_set(&kdc_metrics.conns, (uint64_t)n->nconns);
	}
}

static void queue(struct conn *c, uint8_t type, const uint8_t *p, size_t len)
{
	if (c->tx_len + IOMT_WIRE_HDR_LEN + len > CONN_TX)
		return;         /* cannot happen: space is reserved per request */
	iomt_wire_put_hdr(c->tx + c->tx_len, type, len);
	memcpy(c->tx + c->tx_len + IOMT_WIRE_HDR_LEN, p, len);
	c->tx_len += IOMT_WIRE_HDR_LEN + len;
}

void kdc_conn_reply(struct kdc_net *n, struct conn *c, uint8_t type, const uint8_t *p,
		    size_t len)
{
	c->inflight--;
	if (!c->dead)
		queue(c, type, p, len);
	else if (!c->inflight)
		conn_free(n, c);
}

/* A complete frame (or a corrupt one) waits in rx. */
static int rx_ready(const struct conn *c)
{
	const uint8_t *payload;
	uint8_t type;
	size_t plen, flen;

	return c->rx_len && iomt_wire_next(c->rx, c->rx_len, &type, &payload, &plen, &flen) !=
				    IOMT_EPARTIAL;
}

/* Nothing more will come in and everything owed went out. */
static int finished(const struct conn *c)
{
	return (c->closing || (c->eof && !rx_ready(c))) && !c->inflight &&
	       c->tx_off == c->tx_len;
}

int kdc_conn_flush(struct kdc_net *n, struct conn *c)
{
	while (!c->dead && c->tx_len > c->tx_off) {
		ssize_t w = send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			break;
		if (w <= 0) {
			kdc_conn_close(n, c, &kdc_metrics.closed_error, "write failed");
			return 0;
		}
		c->tx_off += (size_t)w;
	}
	if (c->dead)
		return 0;
	if (c->tx_off == c->tx_len) {
		c->tx_off = c->tx_len = 0;
		/* A corrupt or finished stream is closed once its last answer is out. */
		if (finished(c)) {
			kdc_conn_close(n, c, c->closing ? &kdc_metrics.closed_corrupt
							: &kdc_metrics.closed_peer,
				       c->closing ? "corrupt stream" : "peer done");
			return 0;
		}
	} else if (c->tx_off > CONN_TX / 2) {
		memmove(c->tx, c->tx + c->tx_off, c->tx_len - c->tx_off);
		c->tx_len -= c->tx_off;
		c->tx_off = 0;
	}
	set_events(n, c);
	return 1;
}

/* Room for the reply to one more request, beyond those already owed. */
static int reply_fits(const struct conn *c)
{
	return c->tx_len + (size_t)(c->inflight + 1) * REPLY_FRAME_MAX <= CONN_TX;
}

static void add_item(struct kdc_net *n, struct conn *c, uint8_t local, const uint8_t ref[8],
		     uint8_t type, const uint8_t *payload, size_t plen)
{
	struct item *it;
	struct kdc_ipc_req *q = kdc_batch_add(n, local, ref, KDC_TCP, &it);

	it->conn = c;
	c->inflight++;
	if (!q)
		return;
	q->type = type;
	q->len = (uint16_t)plen;
	memcpy(q->payload, payload, plen);
	q->peer = c->peer;
}

/* Complete frames of c into the batch, while it and c's output have room. */
static void extract(struct kdc_net *n, struct conn *c)
{
	static const uint8_t zero[8];
	size_t off = 0;

	while (!c->closing && !kdc_batch_full(n) && reply_fits(c)) {
		const uint8_t *p = c->rx + off, *payload;
		size_t avail = c->rx_len - off, plen, flen;
		uint8_t type, ref[8];
		int r;

		/* No KDC request is longer: do not wait for what such a header
		 * announces, the stream is not ours. */
		if (avail >= IOMT_WIRE_HDR_LEN && iomt_load_be16(p + 2) > KDC_REQ_MAX)
			r = IOMT_ESIZE;
		else
			r = iomt_wire_next(p, avail, &type, &payload, &plen, &flen);
		if (r == IOMT_EPARTIAL)
			break;
		if (r) {
			rt_metric_inc(&kdc_metrics.req_malformed);
			add_item(n, c, IOMT_KDC_ERR_MALFORMED, zero, 0, NULL, 0);
			c->closing = 1;
			off = c->rx_len;
			break;
		}
		add_item(n, c, kdc_frame_check(type, plen, payload, ref), ref, type, payload, plen);
		off += flen;
	}
	if (off) {
		memmove(c->rx, c->rx + off, c->rx_len - off);
		c->rx_len -= off;
	}
}

/* 1 while c is open; 0 once closed (and maybe freed: do not touch it). */
static int conn_read(struct kdc_net *n, struct conn *c)
{
	while (c->rx_len < CONN_RX) {
		ssize_t r = recv(c->fd, c->rx + c->rx_len, CONN_RX - c->rx_len, MSG_DONTWAIT);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			break;
		if (r < 0) {
			kdc_conn_close(n, c, &kdc_metrics.closed_error, "read failed");
			return 0;
		}
		if (r == 0) {
			/* A half-close still gets the answers to what came before. */
			c->eof = 1;
			break;
		}
		c->rx_len += (size_t)r;
		c->last_ms = kdc_now_ms();
		extract(n, c);
		if (kdc_batch_full(n))
			break;
	}
	extract(n, c);
	if (finished(c)) {
		kdc_conn_close(n, c, &kdc_metrics.closed_peer, "peer closed");
		return 0;
	}
	set_events(n, c);
	return 1;
}

void kdc_conn_event(struct kdc_net *n, struct conn *c, uint32_t events)
{
	if (c->dead)
		return;
	/* Both directions gone (reset, or shut down both ways): nothing can be
	 * answered. */
	if (events & (EPOLLHUP | EPOLLERR) && !(events & EPOLLIN)) {
		kdc_conn_close(n, c, &kdc_metrics.closed_error, "connection reset");
		return;
	}
	if ((events & EPOLLIN) && !conn_read(n, c))
		return;
	if (events & EPOLLOUT) {
		if (!kdc_conn_flush(n, c))
			return;
		if (!n->stopping) {
			extract(n, c);
			set_events(n, c);
		}
	}
}

void kdc_conn_pump(struct kdc_net *n)
{
	for (struct conn *c = n->conns; c && !kdc_batch_full(n); c = c->next)
		if (!c->dead && c->rx_len >= IOMT_WIRE_HDR_LEN) {
			extract(n, c);
			set_events(n, c);
		}
}

void kdc_conn_expire(struct kdc_net *n, int64_t now)
{
	static int64_t next;

	if (now < next)
		return;
	next = now + 1000;
	for (struct conn *c = n->conns, *nx; c; c = nx) {
		nx = c->next;
		if (!c->dead && !c->inflight && now - c->last_ms > (int64_t)n->cfg->tcp_idle_timeout)
			kdc_conn_close(n, c, &kdc_metrics.closed_idle, "idle");
	}
}

/* Complete requests left unread when the stop came: BUSY, so the client
 * retries elsewhere or later instead of waiting for a timeout. */
static void refuse_rest(struct kdc_net *n, struct conn *c)
{
	uint64_t now = 0;
	size_t off = 0;

	while (!c->closing && reply_fits(c)) {
		const uint8_t *payload;
		uint8_t type, ref[8], err[IOMT_KDC_ERR_LEN];
		size_t plen, flen;

		if (iomt_wire_next(c->rx + off, c->rx_len - off, &type, &payload, &plen, &flen))
			break;
		if (kdc_frame_check(type, plen, payload, ref))
			memset(ref, 0, sizeof(ref));
		if (!now) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
		}
		iomt_kdc_err_build(IOMT_KDC_ERR_BUSY, ref, now, err);
		kdc_conn_reply(n, c, IOMT_MSG_KDC_ERR, err, sizeof(err));
		rt_metric_inc(&kdc_metrics.net_denied_busy);
		off += flen;
	}
	c->rx_len = 0;
}

void kdc_conn_drain_all(struct kdc_net *n, int64_t deadline)
{
	for (struct conn *c = n->conns; c; c = c->next)
		if (!c->dead && !c->inflight)
			refuse_rest(n, c);
	for (;;) {
		int pending = 0;

		for (struct conn *c = n->conns, *nx; c; c = nx) {
			nx = c->next;
			if (kdc_conn_flush(n, c))
				pending |= c->tx_len > c->tx_off;
		}
		if (!pending || kdc_now_ms() >= deadline)
			break;
		usleep(1000);
	}
	while (n->conns) {
		struct conn *c = n->conns;

		c->inflight = 0;
		if (c->dead)
			conn_free(n, c);
		else
			kdc_conn_close(n, c, &kdc_metrics.closed_peer, NULL);
	}
}
