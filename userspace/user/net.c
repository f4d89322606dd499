// SPDX-License-Identifier: MIT
/*
 * The TTP connection for iomt-user: one TCP connection, one request frame,
 * one reply frame, each step (connect, send, receive) within a deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"
#include "iomt_err.h"
#include "wire.h"
#include "user.h"

enum { HOST_MAX = 256, PORT_MAX = 16 };

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events until the deadline: 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		int64_t left = deadline - now_ms();
		int n;

		if (left <= 0)
			return 0;
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 ? -1 : n;
	}
}

/* "host:port" or "[v6]:port" into its parts. */
static int split_hostport(const char *s, char host[HOST_MAX], char port[PORT_MAX])
{
	const char *colon = strrchr(s, ':'), *h = s;
	size_t hlen;

	if (!colon || !colon[1] || strlen(colon + 1) >= PORT_MAX)
		return -1;
	hlen = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hlen < 2 || s[hlen - 1] != ']')
			return -1;
		h = s + 1;
		hlen -= 2;
	} else if (memchr(s, ':', hlen)) {
		return -1;	/* a bare IPv6 address: ambiguous without brackets */
	}
	if (!hlen || hlen >= HOST_MAX)
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

/* One address: non-blocking connect, then wait for it. fd, or -1 with errno. */
static int connect_one(const struct addrinfo *ai, int64_t deadline)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			ai->ai_protocol);
	int soerr = 0, w;
	socklen_t len = sizeof(soerr);

	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS)
		goto fail;
	w = wait_fd(fd, POLLOUT, deadline);
	if (w <= 0) {
		errno = w ? errno : ETIMEDOUT;
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) || soerr) {
		errno = soerr ? soerr : errno;
		goto fail;
	}
	return fd;
fail:
	w = errno;
	close(fd);
	errno = w;
	return -1;
}

int net_connect(const char *hostport, int timeout_ms)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	char host[HOST_MAX], port[PORT_MAX];
	int64_t deadline = now_ms() + timeout_ms;
	int fd = -1, gai;

	if (split_hostport(hostport, host, port)) {
		user_fail("--ttp %s: expected HOST:PORT (or [IPv6]:PORT)", hostport);
		return -1;
	}
	gai = getaddrinfo(host, port, &hints, &res);
	if (gai) {
		user_fail("TTP %s: %s", hostport, gai_strerror(gai));
		return -1;
	}
	errno = ETIMEDOUT;
	for (ai = res; ai && fd < 0 && now_ms() < deadline; ai = ai->ai_next)
		fd = connect_one(ai, deadline);
	freeaddrinfo(res);
	if (fd < 0 && errno == ETIMEDOUT)
		user_fail("TTP %s unreachable: no connection within %g s", hostport,
			  timeout_ms / 1000.0);
	else if (fd < 0)
		user_fail("TTP %s unreachable: %m", hostport);
	return fd;
}

int net_send_frame(int fd, uint8_t type, const uint8_t *payload, size_t len, int timeout_ms)
{
	uint8_t frame[IOMT_WIRE_HDR_LEN + IOMT_WIRE_MAX_PAYLOAD];
	int64_t deadline = now_ms() + timeout_ms;
	size_t off = 0, total = IOMT_WIRE_HDR_LEN + len;

	if (iomt_wire_put_hdr(frame, type, len)) {
		user_fail("request of %zu bytes does not fit a frame", len);
		return -1;
	}
	memcpy(frame + IOMT_WIRE_HDR_LEN, payload, len);
	while (off < total) {
		/* MSG_NOSIGNAL: a TTP that hangs up is an error message, not SIGPIPE. */
		ssize_t n = send(fd, frame + off, total - off, MSG_NOSIGNAL);
		int w;

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN) {
			user_fail("sending to the TTP: %m");
			return -1;
		}
		w = wait_fd(fd, POLLOUT, deadline);
		if (w <= 0) {
			user_fail("sending to the TTP: %s", w ? strerror(errno) : "timed out");
			return -1;
		}
	}
	return 0;
}

/* One read into buf[*have..cap): 1 got bytes, 0 closed, -1 error (printed). */
static int recv_some(int fd, uint8_t *buf, size_t cap, size_t *have, int64_t deadline,
		     int timeout_ms)
{
	for (;;) {
		ssize_t n = recv(fd, buf + *have, cap - *have, 0);
		int w;

		if (n > 0) {
			*have += (size_t)n;
			return 1;
		}
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			user_fail("reading the TTP's reply: %m");
			return -1;
		}
		w = wait_fd(fd, POLLIN, deadline);
		if (w == 0)
			user_fail("no reply from the TTP within %g s", timeout_ms / 1000.0);
		else if (w < 0)
			user_fail("reading the TTP's reply: %m");
		if (w <= 0)
			return -1;
	}
}

int net_recv_frame(int fd, uint8_t *buf, size_t cap, uint8_t *type, const uint8_t **payload,
		   size_t *plen, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	size_t have = 0, frame_len;

	for (;;) {
		int err = have ? iomt_wire_next(buf, have, type, payload, plen, &frame_len)
			       : IOMT_EPARTIAL;
		int got;

		if (!err)
			return 0;
		if (err != IOMT_EPARTIAL) {
			user_fail("the TTP sent a corrupt frame (%s)", iomt_strerror(err));
			return -1;
		}
		/* A reply bigger than the biggest we expect is not one of ours. */
		if (have >= IOMT_WIRE_HDR_LEN &&
		    IOMT_WIRE_HDR_LEN + (size_t)iomt_load_be16(buf + 2) > cap) {
			user_fail("the TTP's reply (%u bytes) is larger than any answer",
				  iomt_load_be16(buf + 2));
			return -1;
		}
		got = recv_some(fd, buf, cap, &have, deadline, timeout_ms);
		if (got < 0)
			return -1;
		if (!got) {
			user_fail("the TTP closed the connection %s", have ? "in mid-reply"
									   : "without replying");
			return -1;
		}
	}
}
