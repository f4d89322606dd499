/* SPDX-License-Identifier: MIT */
/* Request/response sockets with deadlines: resolve, connect, send, receive. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "iomt_err.h"
#include "rt_knet.h"
#include "wire.h"

uint64_t rt_knet_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int rt_knet_resolve(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM,
				  .ai_flags = AI_NUMERICSERV }, *res = NULL;
	char host[256];
	const char *port;
	char *end;
	size_t hlen;
	long p;

	if (!text)
		return -EINVAL;
	if (text[0] == '[') {
		const char *rb = strchr(text, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		hlen = (size_t)(rb - text - 1);
		text++;
		port = rb + 2;
	} else {
		port = strrchr(text, ':');
		if (!port)
			return -EINVAL;
		hlen = (size_t)(port - text);
		port++;
	}
	errno = 0;
	p = strtol(port, &end, 10);
	if (!hlen || hlen >= sizeof(host) || *end || end == port || p < 1 || p > 65535 || errno)
		return -EINVAL;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	if (getaddrinfo(host, port, &hints, &res) || !res)
		return -EINVAL;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int rt_knet_udp_connect(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)ss, len)) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/* Waits for events on fd until deadline: 0, or -ETIMEDOUT / -errno. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		uint64_t now = rt_knet_mono_ms();
		int r;

		if (now >= deadline)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)(deadline - now > 60000 ? 60000 : deadline - now));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

int rt_knet_tcp_connect(const struct sockaddr_storage *ss, socklen_t len, uint64_t deadline)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), err = 0, r;
	socklen_t elen = sizeof(err);

	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)ss, len) ? -errno : 0;
	if (r == -EINPROGRESS) {
		r = wait_fd(fd, POLLOUT, deadline);
		if (!r && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen))
			r = -errno;
		if (!r && err)
			r = -err;
	}
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

int rt_knet_send(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
			if (errno == EAGAIN)
				wait_fd(fd, POLLOUT, rt_knet_mono_ms() + 1000);
			continue;
		}
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

long rt_knet_recv_datagram(int fd, void *buf, size_t cap, uint64_t deadline)
{
	for (;;) {
		int r = wait_fd(fd, POLLIN, deadline);
		ssize_t n;

		if (r)
			return r;
		n = recv(fd, buf, cap, MSG_DONTWAIT);
		if (n >= 0)
			return (long)n;
		/* ECONNREFUSED: an ICMP port unreachable from an earlier send;
		 * keep waiting, a retry will say more. */
		if (errno != EAGAIN && errno != EINTR && errno != ECONNREFUSED)
			return -errno;
	}
}

long rt_knet_recv_frame(int fd, void *buf, size_t cap, uint64_t deadline)
{
	uint8_t *b = buf, type;
	const uint8_t *payload;
	size_t have = 0, want = IOMT_WIRE_HDR_LEN, plen, flen;

	/* Reads the header, then exactly the frame it announces: never a byte of
	 * the next frame, which stays in the socket for the next call. */
	for (;;) {
		int r = IOMT_EPARTIAL;
		ssize_t n;

		if (have >= IOMT_WIRE_HDR_LEN) {
			r = iomt_wire_next(b, have, &type, &payload, &plen, &flen);
			if (r == IOMT_EPARTIAL)
				want = IOMT_WIRE_HDR_LEN + ((size_t)b[2] << 8 | b[3]);
		}
		if (r == IOMT_OK)
			return (long)flen;
		if (r != IOMT_EPARTIAL)
			return -EPROTO;
		if (want > cap)
			return -EMSGSIZE;
		if ((r = wait_fd(fd, POLLIN, deadline)))
			return r;
		n = recv(fd, b + have, want - have, MSG_DONTWAIT);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (n > 0)
			have += (size_t)n;
	}
}
