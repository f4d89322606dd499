/* SPDX-License-Identifier: MIT */
/* Gateway connections: accept, buffered non-blocking reads and writes,
 * framing. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bytes.h"
#include "conn.h"
#include "iomt_err.h"
#include "lib/rt_log.h"
#include "metrics.h"

static size_t out_free(const struct conn *c)
{
	return CONN_OUT_CAP - (c->out_len - c->out_off) - c->reserved;
}

static void peer_name(int fd, char *buf, size_t len)
{
	struct rt_endpoint ep = { .len = sizeof(ep.addr) };

	if (getpeername(fd, (struct sockaddr *)&ep.addr, &ep.len) < 0)
		snprintf(buf, len, "?");
	else
		rt_endpoint_str(&ep, buf, len);
}

static void conn_new(struct store_daemon *d, int fd)
{
	struct conn *c = malloc(sizeof(*c));
	int one = 1;

	if (!c) {
		rt_metric_inc(&store_metrics.conns_refused);
		rt_warn("gateway connection refused: out of memory");
		close(fd);
		return;
	}
	/* Only the header: the buffers are written before they are read. */
	memset(c, 0, offsetof(struct conn, out));
	/* ACKs are small and the gateway waits for them: no Nagle delay. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->w = (struct store_watch){ .fd = fd, .kind = STORE_W_CONN };
	c->id = ++d->next_conn_id;
	c->state = CONN_OPEN;
	c->last_ms = store_mono_ms();
	peer_name(fd, c->peer, sizeof(c->peer));
	if (store_watch_add(d, &c->w, EPOLLIN)) {
		close(fd);
		free(c);
		return;
	}
	c->next = d->conns;
	if (d->conns)
		d->conns->prev = c;
	d->conns = c;
	d->nconns++;
	rt_metric_set(&store_metrics.conns, (uint64_t)d->nconns);
	rt_metric_inc(&store_metrics.conns_accepted);
	rt_info("conn %llu: gateway connected from %s", (unsigned long long)c->id, c->peer);
}

void store_conn_accept(struct store_daemon *d)
{
	for (;;) {
		int fd = accept4(d->listen.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				rt_warn("accept: %m");
			return;
		}
		if (d->nconns >= d->cfg.max_conns) {
			rt_metric_inc(&store_metrics.conns_refused);
			rt_warn("gateway connection refused: max_conns (%d) reached",
				d->cfg.max_conns);
			close(fd);
			continue;
		}
		conn_new(d, fd);
	}
}

void store_conn_close(struct store_daemon *d, struct conn *c, struct rt_metric *reason,
		      const char *why)
{
	if (c->state == CONN_DEAD)
		return;
	rt_info("conn %llu (%s): closed: %s", (unsigned long long)c->id, c->peer, why);
	store_watch_del(d, &c->w);
	close(c->w.fd);
	c->w.fd = -1;
	c->state = CONN_DEAD;
	if (reason)
		rt_metric_inc(reason);
	/* Onto the dead list: a group may still point into its input. */
	if (c->prev)
		c->prev->next = c->next;
	else
		d->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = NULL;
	c->next = d->dead;
	d->dead = c;
	d->nconns--;
	rt_metric_set(&store_metrics.conns, (uint64_t)d->nconns);
}

void store_conn_reap(struct store_daemon *d)
{
	while (d->dead) {
		struct conn *c = d->dead;

		d->dead = c->next;
		free(c);
	}
}

void store_conn_update(struct store_daemon *d, struct conn *c)
{
	uint32_t ev = 0;

	if (c->state != CONN_OPEN)
		return;
	if (!d->stopping && !c->eof && c->in_len - c->in_off < CONN_IN_CAP)
		ev |= EPOLLIN;
	if (store_conn_pending(c))
		ev |= EPOLLOUT;
	store_watch_set(d, &c->w, ev);
}

static void conn_read(struct store_daemon *d, struct conn *c)
{
	ssize_t n;

	if (c->in_off) {
		memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->in_off = 0;
	}
	while (c->in_len < CONN_IN_CAP) {
		n = read(c->w.fd, c->in + c->in_len, CONN_IN_CAP - c->in_len);
		if (n > 0) {
			c->in_len += (size_t)n;
			c->last_ms = store_mono_ms();
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		/* A half-close after whole frames: they are still committed
		 * and answered (store_conn_finished closes it after). */
		if (n == 0 && c->in_len > c->in_off) {
			c->eof = 1;
			break;
		}
		if (n == 0)
			store_conn_close(d, c, &store_metrics.closed_peer, "peer closed");
		else
			store_conn_close(d, c, &store_metrics.closed_error, strerror(errno));
		return;
	}
	d->more = 1;
}

void store_conn_flush(struct store_daemon *d, struct conn *c)
{
	ssize_t n;

	c->touched = 0;
	while (c->state == CONN_OPEN && store_conn_pending(c)) {
		n = send(c->w.fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		store_conn_close(d, c, &store_metrics.closed_error,
				 n < 0 ? strerror(errno) : "write returned 0");
		return;
	}
	if (!store_conn_pending(c))
		c->out_off = c->out_len = 0;
	store_conn_update(d, c);
}

void store_conn_event(struct store_daemon *d, struct conn *c, uint32_t events)
{
	if (c->state != CONN_OPEN)
		return;
	if (events & EPOLLIN)
		conn_read(d, c);
	if (c->state == CONN_OPEN && (events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN))
		store_conn_close(d, c, &store_metrics.closed_error, "connection reset");
	if (c->state == CONN_OPEN && (events & EPOLLOUT))
		store_conn_flush(d, c);
	if (c->state == CONN_OPEN)
		store_conn_update(d, c);
}

void store_conn_ack(struct conn *c, const uint8_t batch_id[8], uint8_t status, uint16_t stored,
		    uint16_t duplicates)
{
	c->reserved = c->reserved >= CONN_ACK_FRAME ? c->reserved - CONN_ACK_FRAME : 0;
	store_metrics_ack(status);
	if (c->state != CONN_OPEN)
		return;
	if (c->out_off && c->out_len + CONN_ACK_FRAME > CONN_OUT_CAP) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	/* Cannot happen: room was reserved when the batch was taken. */
	if (c->out_len + CONN_ACK_FRAME > CONN_OUT_CAP) {
		rt_err("conn %llu: ACK not sent: output full", (unsigned long long)c->id);
		return;
	}
	iomt_wire_put_hdr(c->out + c->out_len, IOMT_MSG_REC_ACK, IOMT_REC_ACK_LEN);
	iomt_rec_ack_encode(batch_id, status, stored, duplicates,
			    c->out + c->out_len + IOMT_WIRE_HDR_LEN);
	c->out_len += CONN_ACK_FRAME;
	c->touched = 1;
}

/* A stream that cannot be resynchronised: say why, and close it. */
static void corrupt(struct store_daemon *d, struct conn *c, const uint8_t *h, int err)
{
	char why[128];

	snprintf(why, sizeof(why), "corrupt stream (%s: version %u, type 0x%02x, length %u)",
		 iomt_strerror(err), h[0], h[1], iomt_load_be16(h + 2));
	rt_warn("conn %llu (%s): %s", (unsigned long long)c->id, c->peer, why);
	store_conn_close(d, c, &store_metrics.closed_corrupt, why);
}

int store_conn_next(struct store_daemon *d, struct conn *c, const uint8_t **p, size_t *len)
{
	static const uint8_t zero[8];
	const uint8_t *payload, *h;
	size_t plen, flen;
	uint8_t type;
	int r;

	while (c->state == CONN_OPEN && out_free(c) >= CONN_ACK_FRAME) {
		h = c->in + c->in_off;
		r = iomt_wire_next(h, c->in_len - c->in_off, &type, &payload, &plen, &flen);
		if (r == IOMT_EPARTIAL)
			return 0;
		if (r) {
			corrupt(d, c, h, r);
			return 0;
		}
		c->in_off += flen;
		c->reserved += CONN_ACK_FRAME;
		if (type != IOMT_MSG_REC_PUT) {
			/* A well-framed message that is not for the store. */
			rt_warn("conn %llu (%s): frame type 0x%02x is not REC_PUT: MALFORMED",
				(unsigned long long)c->id, c->peer, type);
			rt_metric_inc(&store_metrics.wrong_type);
			store_conn_ack(c, plen >= 8 ? payload : zero, IOMT_REC_MALFORMED, 0, 0);
			continue;
		}
		*p = payload;
		*len = plen;
		return 1;
	}
	return 0;
}

int64_t store_conn_expire(struct store_daemon *d, int64_t now)
{
	int64_t next = -1, idle = (int64_t)d->cfg.idle_timeout;
	struct conn *c, *n;

	if (!idle)
		return -1;
	for (c = d->conns; c; c = n) {
		n = c->next;
		if (now - c->last_ms >= idle && !store_conn_pending(c) && !c->reserved) {
			store_conn_close(d, c, &store_metrics.closed_idle, "idle");
			continue;
		}
		if (next < 0 || c->last_ms + idle - now < next)
			next = c->last_ms + idle - now;
	}
	return next;
}

int store_conn_finished(struct store_daemon *d, struct conn *c)
{
	const uint8_t *payload;
	size_t plen, flen;
	uint8_t type;

	if (c->state != CONN_OPEN || !c->eof || store_conn_pending(c) || c->reserved)
		return 0;
	if (iomt_wire_next(c->in + c->in_off, c->in_len - c->in_off, &type, &payload, &plen,
			   &flen) != IOMT_EPARTIAL)
		return 0;
	store_conn_close(d, c, &store_metrics.closed_peer,
			 c->in_len > c->in_off ? "peer closed mid-frame" : "peer closed");
	return 1;
}
