/* SPDX-License-Identifier: MIT */
/* MEC links: accept, buffered non-blocking reads and writes, framing. */
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
#include "iomt_err.h"
#include "lib/rt_log.h"
#include "link.h"
#include "metrics.h"
#include "phase56.h"

static size_t out_free(const struct link *l)
{
	return LINK_OUT_CAP - (l->out_len - l->out_off) - l->reserved;
}

static void link_insert(struct ttp_daemon *d, struct link *l)
{
	l->next = d->links;
	if (d->links)
		d->links->prev = l;
	d->links = l;
	d->nlinks++;
	rt_metric_set(&ttp_metrics.links, (uint64_t)d->nlinks);
}

static void link_new(struct ttp_daemon *d, int fd)
{
	struct link *l = calloc(1, sizeof(*l));
	int one = 1;

	if (!l) {
		rt_warn("MEC link refused: out of memory");
		close(fd);
		return;
	}
	/* Replies are small and latency matters: no Nagle delay. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	l->w = (struct ttp_watch){ .fd = fd, .kind = TTP_W_LINK };
	l->id = ++d->next_conn_id;
	l->state = LINK_OPEN;
	ttp_peer_name(fd, l->peer, sizeof(l->peer));
	if (ttp_watch_add(d, &l->w, EPOLLIN)) {
		close(fd);
		free(l);
		return;
	}
	link_insert(d, l);
	rt_metric_inc(&ttp_metrics.links_accepted);
	rt_info("link %llu: MEC connected from %s", (unsigned long long)l->id, l->peer);
}

void ttp_link_accept(struct ttp_daemon *d)
{
	for (;;) {
		int fd = accept4(d->link_listen.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				rt_warn("accept on the MEC listener: %m");
			return;
		}
		if (d->nlinks >= d->cfg.max_links) {
			rt_metric_inc(&ttp_metrics.links_refused);
			rt_warn("MEC link refused: max_links (%d) reached", d->cfg.max_links);
			close(fd);
			continue;
		}
		link_new(d, fd);
	}
}

void ttp_link_close(struct ttp_daemon *d, struct link *l, struct rt_metric *reason,
		    const char *why)
{
	if (l->state == LINK_DEAD)
		return;
	rt_info("link %llu (%s): closed: %s", (unsigned long long)l->id, l->peer, why);
	ttp_watch_del(d, &l->w);
	close(l->w.fd);
	l->w.fd = -1;
	l->state = LINK_DEAD;
	if (reason)
		rt_metric_inc(reason);
	/* Off the open list, onto the dead one: a batch may still point into
	 * its input buffer until the pass ends. */
	if (l->prev)
		l->prev->next = l->next;
	else
		d->links = l->next;
	if (l->next)
		l->next->prev = l->prev;
	l->prev = NULL;
	l->next = d->dead;
	d->dead = l;
	d->nlinks--;
	rt_metric_set(&ttp_metrics.links, (uint64_t)d->nlinks);
}

void ttp_link_reap(struct ttp_daemon *d)
{
	while (d->dead) {
		struct link *l = d->dead;

		d->dead = l->next;
		free(l);
	}
}

void ttp_link_update(struct ttp_daemon *d, struct link *l)
{
	uint32_t ev = 0;

	if (l->state != LINK_OPEN)
		return;
	/* Read while there is room: after compaction that is in_off + free. */
	if (!d->stopping && l->in_len - l->in_off < LINK_IN_CAP)
		ev |= EPOLLIN;
	if (ttp_link_pending(l))
		ev |= EPOLLOUT;
	ttp_watch_set(d, &l->w, ev);
}

static void link_read(struct ttp_daemon *d, struct link *l)
{
	ssize_t n;

	if (l->in_off) {
		memmove(l->in, l->in + l->in_off, l->in_len - l->in_off);
		l->in_len -= l->in_off;
		l->in_off = 0;
	}
	while (l->in_len < LINK_IN_CAP) {
		n = read(l->w.fd, l->in + l->in_len, LINK_IN_CAP - l->in_len);
		if (n > 0) {
			l->in_len += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n == 0)
			ttp_link_close(d, l, &ttp_metrics.links_closed_peer, "peer closed");
		else
			ttp_link_close(d, l, &ttp_metrics.links_closed_error, strerror(errno));
		return;
	}
	d->more = 1;
}

void ttp_link_flush(struct ttp_daemon *d, struct link *l)
{
	ssize_t n;

	l->touched = 0;
	while (l->state == LINK_OPEN && ttp_link_pending(l)) {
		n = send(l->w.fd, l->out + l->out_off, l->out_len - l->out_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			l->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		ttp_link_close(d, l, &ttp_metrics.links_closed_error,
			       n < 0 ? strerror(errno) : "write returned 0");
		return;
	}
	if (!ttp_link_pending(l))
		l->out_off = l->out_len = 0;
	ttp_link_update(d, l);
}

void ttp_link_event(struct ttp_daemon *d, struct link *l, uint32_t events)
{
	if (l->state != LINK_OPEN)
		return;
	if (events & EPOLLIN)
		link_read(d, l);
	if (l->state == LINK_OPEN && (events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN))
		ttp_link_close(d, l, &ttp_metrics.links_closed_error, "connection reset");
	if (l->state == LINK_OPEN && (events & EPOLLOUT))
		ttp_link_flush(d, l);
	if (l->state == LINK_OPEN)
		ttp_link_update(d, l);
}

void ttp_link_reply(struct link *l, uint8_t type, const uint8_t *payload, size_t len)
{
	size_t flen = IOMT_WIRE_HDR_LEN + len;

	l->reserved = l->reserved >= LINK_REPLY_MAX ? l->reserved - LINK_REPLY_MAX : 0;
	if (l->state != LINK_OPEN)
		return;
	if (l->out_off && l->out_len + flen > LINK_OUT_CAP) {
		memmove(l->out, l->out + l->out_off, l->out_len - l->out_off);
		l->out_len -= l->out_off;
		l->out_off = 0;
	}
	/* Cannot happen: room was reserved when the request was taken. */
	if (l->out_len + flen > LINK_OUT_CAP) {
		rt_err("link %llu: reply dropped: output full", (unsigned long long)l->id);
		return;
	}
	iomt_wire_put_hdr(l->out + l->out_len, type, len);
	memcpy(l->out + l->out_len + IOMT_WIRE_HDR_LEN, payload, len);
	l->out_len += flen;
	l->touched = 1;
}

/* A frame of a known type that has no business on a MEC link. */
static void wrong_type(struct ttp_daemon *d, struct link *l, uint8_t type,
		       const uint8_t *payload, size_t plen)
{
	uint8_t err[IOMT_WIRE_S2_LINK_ERR_LEN] = { 0 };

	if (plen >= IOMT_WIRE_REQ_ID_LEN)
		memcpy(err, payload, IOMT_WIRE_REQ_ID_LEN);
	err[IOMT_WIRE_REQ_ID_LEN] = IOMT_S2_ERR_MALFORMED;
	rt_warn("link %llu (%s): frame type 0x%02x is not for the TTP: MALFORMED",
		(unsigned long long)l->id, l->peer, type);
	l->reserved += LINK_REPLY_MAX;
	ttp_link_reply(l, IOMT_MSG_S2_LINK_ERR, err, sizeof(err));
	ttp_metrics_reply(IOMT_S2_ERR_MALFORMED);
	(void)d;
}

/* A stream that cannot be resynchronised: say why, and close it. */
static void corrupt(struct ttp_daemon *d, struct link *l, const uint8_t *h, int err)
{
	char why[128];

	snprintf(why, sizeof(why),
		 "corrupt stream (%s: version %u, type 0x%02x, length %u)", iomt_strerror(err),
		 h[0], h[1], iomt_load_be16(h + 2));
	rt_warn("link %llu (%s): %s", (unsigned long long)l->id, l->peer, why);
	ttp_link_close(d, l, &ttp_metrics.links_closed_corrupt, why);
}

int ttp_link_ready(const struct link *l)
{
	const uint8_t *payload;
	size_t plen, flen;
	uint8_t type;

	int r;

	if (l->state != LINK_OPEN || out_free(l) < LINK_REPLY_MAX)
		return 0;
	r = iomt_wire_next(l->in + l->in_off, l->in_len - l->in_off, &type, &payload, &plen,
			   &flen);
	if (r == IOMT_EPARTIAL)
		return 0;
	/* A phase-5/6 frame waits for room for its larger reply; a corrupt
	 * stream is ready (to be closed). */
	return r || !ttp_p56_claims(type) || out_free(l) >= P56_LINK_REPLY_MAX;
}

int ttp_link_next_m2(struct ttp_daemon *d, struct link *l, struct ttp_m2_req *req)
{
	const uint8_t *payload, *h;
	size_t plen, flen;
	uint8_t type;
	int r;

	while (l->state == LINK_OPEN && out_free(l) >= LINK_REPLY_MAX) {
		h = l->in + l->in_off;
		/* No MEC frame is this long: do not wait for its payload. */
		if (l->in_len - l->in_off >= IOMT_WIRE_HDR_LEN &&
		    iomt_load_be16(h + 2) > LINK_FRAME_MAX) {
			corrupt(d, l, h, IOMT_ESIZE);
			return 0;
		}
		r = iomt_wire_next(h, l->in_len - l->in_off, &type, &payload, &plen, &flen);
		if (r == IOMT_EPARTIAL)
			return 0;
		if (r) {
			corrupt(d, l, h, r);
			return 0;
		}
		/* Phases 5 and 6: answered at once, when their reply fits. */
		if (ttp_p56_claims(type)) {
			if (out_free(l) < P56_LINK_REPLY_MAX)
				return 0;
			l->in_off += flen;
			ttp_p56_handle(d, l, type, payload, plen);
			continue;
		}
		l->in_off += flen;
		if (type != IOMT_MSG_S2_M2) {
			wrong_type(d, l, type, payload, plen);
			continue;
		}
		l->reserved += LINK_REPLY_MAX;
		*req = (struct ttp_m2_req){ payload, plen };
		return 1;
	}
	return 0;
}
