/* SPDX-License-Identifier: MIT */
/* Listening sockets, bound names, the port file (see rt_sock.h). */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rt_file.h"
#include "rt_log.h"
#include "rt_sock.h"

enum { PORT_TRIES = 20 };       /* port 0: find one free for both TCP and UDP */

int rt_sock_bind(int type, const struct rt_endpoint *ep, int backlog, int *out)
{
	int one = 1, fd = socket(ep->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if ((type == SOCK_STREAM &&
	     setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
	    bind(fd, (const struct sockaddr *)&ep->addr, ep->len) < 0 ||
	    (type == SOCK_STREAM && listen(fd, backlog) < 0)) {
		int r = -errno;

		close(fd);
		return r;
	}
	*out = fd;
	return 0;
}

int rt_sock_open(int type, const struct rt_endpoint *ep, int backlog, const char *what,
		 int *out)
{
	char name[80];
	int r = rt_sock_bind(type, ep, backlog, out);

	if (r) {
		rt_endpoint_str(ep, name, sizeof(name));
		rt_err("%s: cannot listen on %s: %s", what, name, strerror(-r));
	}
	return r;
}

int rt_sock_listen(const struct rt_endpoint *ep, int backlog, const char *what)
{
	char name[80];
	int fd, r = rt_sock_open(SOCK_STREAM, ep, backlog, what, &fd);

	if (r)
		return r;
	rt_sock_name(fd, name, sizeof(name));
	rt_info("%s: listening on %s", what, name);
	return fd;
}

int rt_sock_bind_pair(const struct rt_endpoint *want, int backlog, int *tcp, int *udp,
		      char *name, size_t len)
{
	struct rt_endpoint ep = *want;
	int r = -EADDRINUSE;

	for (int i = 0; i < PORT_TRIES && r == -EADDRINUSE; i++) {
		r = rt_sock_bind(SOCK_STREAM, want, backlog, tcp);
		if (r)
			break;
		rt_endpoint_set_port(&ep, rt_sock_port(*tcp));
		r = rt_sock_bind(SOCK_DGRAM, &ep, 0, udp);
		if (r) {
			close(*tcp);
			*tcp = -1;
			if (rt_endpoint_port(want))
				break;
		}
	}
	rt_endpoint_str(r ? want : &ep, name, len);
	if (r)
		rt_err("cannot listen on %s: %s", name, strerror(-r));
	return r;
}

void rt_sock_rcvbuf(int fd, int size)
{
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

void rt_sock_sndbuf(int fd, int size)
{
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

uint16_t rt_sock_port(int fd)
{
	struct rt_endpoint ep = { .len = sizeof(ep.addr) };

	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ep.addr, &ep.len) < 0)
		return 0;
	return rt_endpoint_port(&ep);
}

void rt_sock_name(int fd, char *buf, size_t len)
{
	struct rt_endpoint ep = { .len = sizeof(ep.addr) };

	if (getsockname(fd, (struct sockaddr *)&ep.addr, &ep.len) < 0)
		snprintf(buf, len, "?");
	else
		rt_endpoint_str(&ep, buf, len);
}

void rt_sock_peer(int fd, char *buf, size_t len)
{
	struct rt_endpoint ep = { .len = sizeof(ep.addr) };

	if (getpeername(fd, (struct sockaddr *)&ep.addr, &ep.len) < 0)
		snprintf(buf, len, "?");
	else
		rt_endpoint_str(&ep, buf, len);
}

void rt_endpoint_set_port(struct rt_endpoint *ep, uint16_t port)
{
	if (ep->addr.ss_family == AF_INET)
		((struct sockaddr_in *)&ep->addr)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&ep->addr)->sin6_port = htons(port);
}

int rt_sock_write_ports(const char *path, const char *text)
{
	int r = rt_file_publish(path, text, strlen(text), 0644, 0);

	if (r)
		rt_err("port_file %s: %s", path, strerror(-r));
	return r;
}
