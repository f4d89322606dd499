/* SPDX-License-Identifier: MIT */
/* A TCP link to a peer daemon: connect with back-off, framed reads, queued writes. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iomt_err.h"
#include "lib/rt_log.h"
#include "link.h"

int gwd_link_init(struct gwd_link *l, const struct gwd_link_cfg *c, int epfd, uint64_t tag)
{
	memset(l, 0, sizeof(*l));
	l->c = *c;
	l->epfd = epfd;
	l->fd = -1;
	l->tag = tag;
	l->backoff_ms = GWD_LINK_BACKOFF_MIN_MS;
	l->rx = malloc(GWD_LINK_RX_CAP);
	l->tx = malloc(c->tx_cap);
	return l->rx && l->tx ? 0 : -ENOMEM;
}

void gwd_link_fini(struct gwd_link *l)
{
	struct gwd_link_stats *st = l->c.stats;

	if (l->fd >= 0)
		close(l->fd);
	free(l->rx);
	free(l->tx);
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	rt_metric_set(&st->up, 0);
}

int gwd_link_is_up(const struct gwd_link *l)
{
	return l->state == GWD_LINK_UP;
}

uint64_t gwd_link_deadline(const struct gwd_link *l)
{
	if (l->state == GWD_LINK_DOWN)
		return l->retry_at;
	if (l->state == GWD_LINK_CONNECTING)
		return l->connect_deadline;
	return UINT64_MAX;
}

/* Registers exactly what we wait for: a level-triggered event we would not
 * consume (EPOLLOUT with nothing to write) would wake the loop forever. */
static void link_want(struct gwd_link *l)
{
	uint32_t events = l->state == GWD_LINK_CONNECTING ? EPOLLOUT
			  : EPOLLIN | (l->tx_len ? EPOLLOUT : 0);
	struct epoll_event ev = { .events = events, .data.u64 = l->tag };

	if (l->fd < 0 || events == l->watched)
		return;
	if (epoll_ctl(l->epfd, l->watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, l->fd, &ev))
		rt_err("epoll_ctl (%s link): %s", l->c.name, strerror(errno));
	l->watched = events;
}

static int link_up(struct gwd_link *l, uint64_t now_ms)
{
	char ep[80];

	l->state = GWD_LINK_UP;
	l->up_since = now_ms;
	l->failures = 0;
	l->rx_off = l->rx_len = l->tx_len = 0;
	link_want(l);
	rt_metric_set(&l->c.stats->up, 1);
	rt_metric_inc(&l->c.stats->connects);
	rt_info("%s link up (%s)", l->c.name, rt_endpoint_str(&l->c.ep, ep, sizeof(ep)));
	return 1;
}

/* Logs the first failure of a series at warn, the rest at debug. */
static void link_failed(struct gwd_link *l, const char *why)
{
	char ep[80];

	rt_endpoint_str(&l->c.ep, ep, sizeof(ep));
	if (l->failures++ == 0)
		rt_warn("%s link to %s: %s; retrying (back-off up to %llu ms)", l->c.name, ep, why,
			(unsigned long long)l->c.backoff_max_ms);
	else
		rt_dbg("%s link to %s: %s (attempt %u)", l->c.name, ep, why, l->failures);
}

int gwd_link_close(struct gwd_link *l, uint64_t now_ms, const char *why)
{
	int was_up = l->state == GWD_LINK_UP;

	if (l->fd >= 0)
		close(l->fd);	/* also leaves the epoll set */
	l->fd = -1;
	l->watched = 0;
	if (was_up && now_ms - l->up_since >= GWD_LINK_STABLE_MS)
		l->backoff_ms = GWD_LINK_BACKOFF_MIN_MS;
	l->state = GWD_LINK_DOWN;
	l->retry_at = now_ms + l->backoff_ms;
	l->backoff_ms = l->backoff_ms * 2 < l->c.backoff_max_ms ? l->backoff_ms * 2
								 : l->c.backoff_max_ms;
	l->rx_off = l->rx_len = l->tx_len = 0;
	rt_metric_set(&l->c.stats->up, 0);
	link_failed(l, why);
	return was_up;
}

static int link_connect(struct gwd_link *l, uint64_t now_ms)
{
	int one = 1;

	l->fd = socket(l->c.ep.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		gwd_link_close(l, now_ms, strerror(errno));
		return 0;
	}
	/* Frames are small and each one has someone waiting for its answer (a
	 * device for its M3, a sensor for its REC_ACK): do not hold segments back. */
	setsockopt(l->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(l->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	if (connect(l->fd, (const struct sockaddr *)&l->c.ep.addr, l->c.ep.len) == 0)
		return link_up(l, now_ms);
	if (errno != EINPROGRESS) {
		gwd_link_close(l, now_ms, strerror(errno));
		return 0;
	}
	l->state = GWD_LINK_CONNECTING;
	l->connect_deadline = now_ms + GWD_LINK_CONNECT_TIMEOUT_MS;
	link_want(l);
	return 0;
}

int gwd_link_tick(struct gwd_link *l, uint64_t now_ms)
{
	if (l->state == GWD_LINK_DOWN && now_ms >= l->retry_at)
		return link_connect(l, now_ms);
	if (l->state == GWD_LINK_CONNECTING && now_ms >= l->connect_deadline)
		gwd_link_close(l, now_ms, "connect timed out");
	return 0;
}

int gwd_link_on_connect(struct gwd_link *l, uint32_t events, uint64_t now_ms)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (l->state != GWD_LINK_CONNECTING || !(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		return 0;
	if (getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (err) {
		gwd_link_close(l, now_ms, strerror(err));
		return 0;
	}
	return link_up(l, now_ms);
}

int gwd_link_fill(struct gwd_link *l)
{
	ssize_t n;

	if (l->state != GWD_LINK_UP)
		return -ENOTCONN;
	if (l->rx_off) {
		memmove(l->rx, l->rx + l->rx_off, l->rx_len - l->rx_off);
		l->rx_len -= l->rx_off;
		l->rx_off = 0;
	}
	if (l->rx_len == GWD_LINK_RX_CAP)
		return -ENOBUFS;	/* cannot happen: a frame always fits */
	do
		n = read(l->fd, l->rx + l->rx_len, GWD_LINK_RX_CAP - l->rx_len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	if (n == 0)
		return -ECONNRESET;	/* the peer closed the connection */
	l->rx_len += (size_t)n;
	return (int)n;
}

size_t gwd_link_frames(struct gwd_link *l, struct gwd_frame *f, size_t max, int *bad)
{
	size_t n = 0, flen;
	int r;

	*bad = 0;
	while (n < max && l->state == GWD_LINK_UP) {
		/* A known fixed-size type of any other size, a bad version or an
		 * unknown type: the stream cannot be trusted to resynchronise. */
		r = iomt_wire_next(l->rx + l->rx_off, l->rx_len - l->rx_off, &f[n].type,
				   &f[n].payload, &f[n].len, &flen);
		if (r == IOMT_EPARTIAL)
			break;
		if (r) {
			*bad = r;
			break;
		}
		f[n++].from = NULL;
		l->rx_off += flen;
	}
	return n;
}

int gwd_link_queue(struct gwd_link *l, uint8_t type, const void *head, size_t hlen,
		   const void *tail, size_t tlen)
{
	uint8_t *p;

	if (l->state != GWD_LINK_UP)
		return -ENOTCONN;
	if (hlen + tlen > IOMT_WIRE_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (l->c.tx_cap - l->tx_len < IOMT_WIRE_HDR_LEN + hlen + tlen)
		return -ENOBUFS;
	p = l->tx + l->tx_len;
	iomt_wire_put_hdr(p, type, hlen + tlen);
	memcpy(p + IOMT_WIRE_HDR_LEN, head, hlen);
	if (tlen)
		memcpy(p + IOMT_WIRE_HDR_LEN + hlen, tail, tlen);
	l->tx_len += IOMT_WIRE_HDR_LEN + hlen + tlen;
	return 0;
}

int gwd_link_flush(struct gwd_link *l)
{
	size_t off = 0;
	ssize_t n;

	while (l->state == GWD_LINK_UP && off < l->tx_len) {
		n = send(l->fd, l->tx + off, l->tx_len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0)
			return -errno;
		off += (size_t)n;
	}
	memmove(l->tx, l->tx + off, l->tx_len - off);
	l->tx_len -= off;
	if (l->state == GWD_LINK_UP)
		link_want(l);
	return 0;
}
