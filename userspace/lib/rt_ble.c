/* SPDX-License-Identifier: MIT */
/* The L2CAP LE CoC listener and its table of channels (rt_ble.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "rt_ble.h"
#include "wire.h"

static int srv_fail(struct rt_ble_server *s, int e, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "BLE PSM 0x%02x: %s: %s", s->psm, what, strerror(e));
	rt_ble_server_close(s);
	return -e;
}

int rt_ble_server_init(struct rt_ble_server *s, unsigned max_conns, char *err, size_t errlen)
{
	int r;

	memset(s, 0, sizeof(*s));
	s->lfd = -1;
	s->filter.prog_fd = s->filter.sizes_fd = s->filter.counts_fd = -1;
	if (!max_conns) {
		snprintf(err, errlen, "BLE: no room for a channel");
		return -EINVAL;
	}
	s->conn = calloc(max_conns, sizeof(*s->conn));
	if (!s->conn)
		return srv_fail(s, ENOMEM, "channel table", err, errlen);
	s->cap = max_conns;
	for (unsigned i = 0; i < max_conns; i++)
		s->conn[i].fd = -1;
	r = rt_ble_filter_open(&s->filter, err, errlen);
	if (r)
		rt_ble_server_close(s);
	return r;
}

int rt_ble_server_open(struct rt_ble_server *s, unsigned psm, unsigned max_conns, char *err,
		       size_t errlen)
{
	struct sockaddr_l2 a;
	uint16_t mtu = RT_BLE_MTU;
	int r;

	if (psm < 1 || psm > RT_BLE_PSM_MAX) {
		memset(s, 0, sizeof(*s));
		s->lfd = -1;
		snprintf(err, errlen, "BLE PSM 0x%x: LE PSMs are 0x01..0xff", psm);
		return -EINVAL;
	}
	r = rt_ble_server_init(s, max_conns, err, errlen);
	if (r)
		return r;
	s->psm = (uint16_t)psm;
	s->lfd = socket(AF_BLUETOOTH, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, BTPROTO_L2CAP);
	if (s->lfd < 0)
		return srv_fail(s, errno, "socket (no Bluetooth in this kernel?)", err, errlen);
	memset(&a, 0, sizeof(a));
	a.l2_family = AF_BLUETOOTH;
	a.l2_psm = htobs(s->psm);
	a.l2_bdaddr_type = BDADDR_LE_PUBLIC;	/* BDADDR_ANY: every adapter */
	if (bind(s->lfd, (struct sockaddr *)&a, sizeof(a)))
		return srv_fail(s, errno, "bind", err, errlen);
	if (setsockopt(s->lfd, SOL_BLUETOOTH, BT_RCVMTU, &mtu, sizeof(mtu)))
		return srv_fail(s, errno, "BT_RCVMTU", err, errlen);
	if (listen(s->lfd, RT_BLE_BACKLOG))
		return srv_fail(s, errno, "listen", err, errlen);
	return 0;
}

void rt_ble_server_close(struct rt_ble_server *s)
{
	for (unsigned i = 0; s->conn && i < s->cap; i++)
		if (s->conn[i].fd >= 0)
			rt_ble_server_drop(s, i);
	free(s->conn);
	s->conn = NULL;
	s->cap = 0;
	if (s->lfd >= 0)
		close(s->lfd);
	s->lfd = -1;
	rt_ble_filter_close(&s->filter);
}

int rt_ble_server_accept(struct rt_ble_server *s)
{
	struct sockaddr_l2 peer;
	socklen_t plen = sizeof(peer);
	int fd;

	memset(&peer, 0, sizeof(peer));
	fd = accept4(s->lfd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return rt_ble_server_adopt(s, fd, &peer);
}

int rt_ble_server_adopt(struct rt_ble_server *s, int fd, const struct sockaddr_l2 *peer)
{
	struct rt_ble_conn *c;
	unsigned i;
	int r;

	for (i = 0; i < s->cap && s->conn[i].fd >= 0; i++)
		;
	if (i == s->cap) {
		close(fd);
		return -ENOSPC;
	}
	/* Frames the kernel queued before this are not filtered: the daemon's
	 * own checks catch them (rt_ble.h). */
	r = rt_ble_filter_attach(&s->filter, fd);
	if (r) {
		close(fd);
		return r;
	}
	c = &s->conn[i];
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->gen = ++s->next_gen;
	c->peer = *peer;
	s->nopen++;
	return (int)i;
}

struct rt_ble_conn *rt_ble_server_conn(struct rt_ble_server *s, unsigned slot, uint32_t gen)
{
	if (slot >= s->cap || s->conn[slot].fd < 0 || s->conn[slot].gen != gen)
		return NULL;
	return &s->conn[slot];
}

void rt_ble_server_drop(struct rt_ble_server *s, unsigned slot)
{
	if (slot >= s->cap || s->conn[slot].fd < 0)
		return;
	close(s->conn[slot].fd);
	s->conn[slot].fd = -1;
	s->nopen--;
}

int rt_ble_recv(int fd, uint8_t *buf, size_t cap)
{
	ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT | MSG_TRUNC);

	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : errno == ENOTCONN ? -ECONNRESET : -errno;
	if (n == 0 && cap)
		return -ECONNRESET;	/* SEQPACKET: 0 is the peer's close */
	if ((size_t)n > cap)
		return -EMSGSIZE;
	return (int)n;
}

int rt_ble_send_frame(int fd, uint8_t type, const void *payload, size_t len)
{
	uint8_t hdr[IOMT_WIRE_HDR_LEN];
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)(uintptr_t)payload, len } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };

	if (iomt_wire_put_hdr(hdr, type, len))
		return -EMSGSIZE;
	if (sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return 0;
}

static int chan_fail(int fd, const char *what, const char **step)
{
	int e = errno;

	*step = what;
	if (fd >= 0)
		close(fd);
	return -e;
}

int rt_ble_channel_open(const bdaddr_t *src, const bdaddr_t *dst, unsigned psm,
			const char **step)
{
	struct sockaddr_l2 a;
	int fd;

	if (psm < 1 || psm > RT_BLE_PSM_MAX) {
		*step = "PSM";
		return -EINVAL;
	}
	fd = socket(AF_BLUETOOTH, SOCK_SEQPACKET | SOCK_CLOEXEC, BTPROTO_L2CAP);
	if (fd < 0)
		return chan_fail(fd, "socket", step);
	memset(&a, 0, sizeof(a));
	a.l2_family = AF_BLUETOOTH;
	a.l2_bdaddr = *src;
	a.l2_bdaddr_type = BDADDR_LE_PUBLIC;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
		return chan_fail(fd, "bind", step);
	memset(&a, 0, sizeof(a));
	a.l2_family = AF_BLUETOOTH;
	a.l2_bdaddr = *dst;
	a.l2_bdaddr_type = BDADDR_LE_PUBLIC;
	a.l2_psm = htobs((uint16_t)psm);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return chan_fail(fd, "connect", step);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK))
		return chan_fail(fd, "fcntl", step);
	return fd;
}

const char *rt_ble_addr_str(const bdaddr_t *a, char buf[18])
{
	snprintf(buf, 18, "%02X:%02X:%02X:%02X:%02X:%02X", a->b[5], a->b[4], a->b[3], a->b[2],
		 a->b[1], a->b[0]);
	return buf;
}

int rt_ble_addr_parse(const char *s, bdaddr_t *a)
{
	unsigned v[6];
	char end;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &end) != 6 || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		a->b[5 - i] = (uint8_t)v[i];
	return 0;
}
