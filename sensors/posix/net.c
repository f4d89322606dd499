/* SPDX-License-Identifier: MIT */
/* UDP sockets of the POSIX port (see net.h). */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/rt_conf.h"
#include "lib/rt_log.h"
#include "net.h"

/* "host:port" with the host name looked up (numeric forms go through
 * rt_endpoint_parse, exactly as in config files). */
static int lookup(const char *hostport, struct sensor_addr *out)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM }, *ai;
	const char *colon = strrchr(hostport, ':');
	char host[256];
	int r;

	if (!colon || colon == hostport || !colon[1] ||
	    (size_t)(colon - hostport) >= sizeof(host)) {
		rt_err("--mec '%s': expected HOST:PORT", hostport);
		return -1;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - hostport), hostport);
	r = getaddrinfo(host, colon + 1, &hints, &ai);
	if (r) {
		rt_err("--mec '%s': %s", hostport, gai_strerror(r));
		return -1;
	}
	memcpy(&out->ss, ai->ai_addr, ai->ai_addrlen);
	out->len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

int sensor_net_resolve(const char *hostport, struct sensor_addr *out)
{
	struct rt_endpoint ep;

	if (rt_endpoint_parse(hostport, &ep) == 0) {
		if (!rt_endpoint_port(&ep)) {
			rt_err("--mec '%s': port 0 is not a MEC", hostport);
			return -1;
		}
		out->ss = ep.addr;
		out->len = ep.len;
		return 0;
	}
	return lookup(hostport, out);
}

int sensor_net_socket(const struct sensor_addr *mec)
{
	int fd = socket(mec->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)&mec->ss, mec->len) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int sensor_net_send(int fd, const void *buf, size_t len)
{
	ssize_t n;

	do
		n = send(fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

ssize_t sensor_net_recv(int fd, void *buf, size_t cap)
{
	ssize_t n;

	do
		n = recv(fd, buf, cap, MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	/* MSG_TRUNC returns the datagram's real size: more than cap was cut. */
	return (size_t)n > cap ? -EMSGSIZE : n;
}
