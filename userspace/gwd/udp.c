/* SPDX-License-Identifier: MIT */
/* Batched UDP: recvmmsg in, sendmmsg out. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ble.h"
#include "lib/rt_log.h"
#include "metrics.h"
#include "udp.h"

/* Control data per datagram: the SO_RXQ_OVFL counter. */
#define RX_CTL_LEN CMSG_SPACE(sizeof(uint32_t))

static int udp_alloc(struct gwd_udp *u, unsigned batch)
{
	u->batch = batch;
	u->rx_ctl = calloc(batch, RX_CTL_LEN);
	u->rx_msg = calloc(batch, sizeof(*u->rx_msg));
	u->tx_msg = calloc(batch, sizeof(*u->tx_msg));
	u->rx_iov = calloc(batch, sizeof(*u->rx_iov));
	u->tx_iov = calloc(batch, sizeof(*u->tx_iov));
	u->rx_buf = calloc(batch, GWD_UDP_RX_BUF);
	u->tx_buf = calloc(batch, GWD_UDP_TX_MAX);
	u->rx_from = calloc(batch, sizeof(*u->rx_from));
	u->tx_to = calloc(batch, sizeof(*u->tx_to));
	if (!u->rx_msg || !u->tx_msg || !u->rx_iov || !u->tx_iov || !u->rx_buf || !u->tx_buf ||
	    !u->rx_from || !u->tx_to || !u->rx_ctl)
		return -ENOMEM;
	return 0;
}

/* reuseport: SO_REUSEPORT before bind, so the ingress workers' sockets
 * share the address (the kernel spreads datagrams by 4-tuple hash). [::]
 * is dual-stack whatever net.ipv6.bindv6only says: IPv4 devices too. */
static int udp_bind(struct gwd_udp *u, const struct rt_endpoint *ep, int reuseport)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)&ep->addr;
	int on = 1, off = 0;

	u->fd = socket(ep->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0)
		return -errno;
	u->bound = *ep;
	if (reuseport && setsockopt(u->fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)))
		return -errno;
	if (ep->addr.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr) &&
	    setsockopt(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)))
		return -errno;
	if (bind(u->fd, (const struct sockaddr *)&ep->addr, ep->len) ||
	    getsockname(u->fd, (struct sockaddr *)&u->bound.addr, &u->bound.len))
		return -errno;
	return 0;
}

/* A burst of devices must wait in the socket, not vanish: ask for rcvbuf
 * (SO_RCVBUFFORCE passes net.core.rmem_max as root), say what we got, and
 * have the kernel report what it still drops (SO_RXQ_OVFL). */
static int udp_tune(struct gwd_udp *u, uint64_t rcvbuf)
{
	int want = rcvbuf > INT32_MAX / 2 ? INT32_MAX / 2 : (int)rcvbuf, got = 0, on = 1;
	socklen_t len = sizeof(got);

	if (setsockopt(u->fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof(want)) &&
	    setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want)))
		return -errno;
	if (setsockopt(u->fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on)) ||
	    getsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &got, &len))
		return -errno;
	/* The kernel reports twice the payload room it grants. */
	if (got / 2 < want)
		rt_warn("udp_rcvbuf: asked %d bytes, the kernel granted %d (raise "
			"net.core.rmem_max or run as root)", want, got / 2);
	return 0;
}

int gwd_udp_open(struct gwd_udp *u, const struct rt_endpoint *ep, unsigned batch,
		 uint64_t rcvbuf, int reuseport)
{
	int r;

	memset(u, 0, sizeof(*u));
	u->fd = -1;
	r = udp_alloc(u, batch);
	if (!r)
		r = udp_bind(u, ep, reuseport);
	if (!r)
		r = udp_tune(u, rcvbuf);
	if (r)
		gwd_udp_close(u);
	return r;
}

void gwd_udp_close(struct gwd_udp *u)
{
	if (u->fd >= 0)
		close(u->fd);
	free(u->rx_msg);
	free(u->tx_msg);
	free(u->rx_iov);
	free(u->tx_iov);
	free(u->rx_buf);
	free(u->tx_buf);
	free(u->rx_from);
	free(u->tx_to);
	free(u->rx_ctl);
	memset(u, 0, sizeof(*u));
	u->fd = -1;
}

/* The counter in a datagram's control data is the socket's running total;
 * whatever it gained since the last datagram was lost in the kernel. */
void gwd_udp_kernel_drops(struct gwd_udp *u, uint32_t total)
{
	if (total != u->kernel_drops) {
		rt_warn("devices' socket: the kernel dropped %u datagram(s): receive "
			"buffer full (udp_rcvbuf)", total - u->kernel_drops);
		rt_metric_add(&gwd_stats.udp_kernel_drops, total - u->kernel_drops);
		u->kernel_drops = total;
	}
}

static void count_kernel_drops(struct gwd_udp *u, struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		uint32_t total;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL)
			continue;
		memcpy(&total, CMSG_DATA(c), sizeof(total));
		gwd_udp_kernel_drops(u, total);
	}
}

int gwd_udp_recv(struct gwd_udp *u)
{
	int n;

	for (unsigned i = 0; i < u->batch; i++) {
		u->rx_iov[i] = (struct iovec){ u->rx_buf + (size_t)i * GWD_UDP_RX_BUF, GWD_UDP_RX_BUF };
		u->rx_msg[i].msg_hdr = (struct msghdr){
			.msg_name = &u->rx_from[i].ss, .msg_namelen = sizeof(u->rx_from[i].ss),
			.msg_iov = &u->rx_iov[i], .msg_iovlen = 1,
			.msg_control = u->rx_ctl + (size_t)i * RX_CTL_LEN,
			.msg_controllen = RX_CTL_LEN,
		};
	}
	/* MSG_TRUNC: msg_len is a datagram's real length even when it did not fit. */
	do
		n = recvmmsg(u->fd, u->rx_msg, u->batch, MSG_DONTWAIT | MSG_TRUNC, NULL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		u->rx_from[i].len = u->rx_msg[i].msg_hdr.msg_namelen;
		count_kernel_drops(u, &u->rx_msg[i].msg_hdr);
	}
	return n;
}

const uint8_t *gwd_udp_datagram(const struct gwd_udp *u, unsigned i, size_t *len, int *cut)
{
	*len = u->rx_msg[i].msg_len;
	*cut = !!(u->rx_msg[i].msg_hdr.msg_flags & MSG_TRUNC);
	return u->rx_buf + (size_t)i * GWD_UDP_RX_BUF;
}

const struct gwd_addr *gwd_udp_from(const struct gwd_udp *u, unsigned i)
{
	return &u->rx_from[i];
}

int gwd_udp_queue(struct gwd_udp *u, const struct gwd_addr *to, uint8_t type, const void *payload,
		  size_t len)
{
	uint8_t *buf;

	if (IOMT_WIRE_HDR_LEN + len > GWD_UDP_TX_MAX)
		return -EMSGSIZE;
	if (u->tx_n == u->batch)
		gwd_udp_flush(u);
	buf = u->tx_buf + (size_t)u->tx_n * GWD_UDP_TX_MAX;
	iomt_wire_put_hdr(buf, type, len);
	memcpy(buf + IOMT_WIRE_HDR_LEN, payload, len);
	u->tx_to[u->tx_n] = *to;
	u->tx_iov[u->tx_n] = (struct iovec){ buf, IOMT_WIRE_HDR_LEN + len };
	u->tx_msg[u->tx_n].msg_hdr = (struct msghdr){
		.msg_name = &u->tx_to[u->tx_n].ss, .msg_namelen = to->len,
		.msg_iov = &u->tx_iov[u->tx_n], .msg_iovlen = 1,
	};
	u->tx_n++;
	return 0;
}

unsigned gwd_udp_flush(struct gwd_udp *u)
{
	unsigned off = 0, refused = 0;

	while (off < u->tx_n) {
		int n = sendmmsg(u->fd, u->tx_msg + off, u->tx_n - off, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* Skip the datagram the kernel refused; the device will retry. */
			rt_dbg("send to device: %s", n < 0 ? strerror(errno) : "nothing sent");
			rt_metric_inc(&gwd_stats.udp_send_errors);
			refused++;
			n = 1;
		}
		off += (unsigned)n;
	}
	u->tx_n = 0;
	return refused;
}

const char *gwd_addr_str(const struct gwd_addr *a, char *buf, size_t len)
{
	struct rt_endpoint ep = { .addr = a->ss, .len = a->len };

	if (gwd_ble_is_peer(a))		/* a BLE sensor's channel, not an IP endpoint */
		return gwd_ble_peer_str(a, buf, len);
	return rt_endpoint_str(&ep, buf, len);
}
