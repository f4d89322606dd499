/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/rt_log.h"
#include "sockets.h"

enum {
	BACKLOG = 64,
	PORT_TRIES = 20,	/* port 0: find one free for both TCP and UDP */
	UDP_RCVBUF = 1 << 20,
};

static uint16_t bound_port(int fd)
{
	struct rt_endpoint ep = { .len = sizeof(ep.addr) };

	if (getsockname(fd, (struct sockaddr *)&ep.addr, &ep.len) < 0)
		return 0;
	return rt_endpoint_port(&ep);
}

static void set_port(struct rt_endpoint *ep, uint16_t port)
{
	if (ep->addr.ss_family == AF_INET)
		((struct sockaddr_in *)&ep->addr)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&ep->addr)->sin6_port = htons(port);
}

static int bound(int type, const struct rt_endpoint *ep, int *out)
{
	int one = 1, fd = socket(ep->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if ((type == SOCK_STREAM &&
	     setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
	    bind(fd, (const struct sockaddr *)&ep->addr, ep->len) < 0 ||
	    (type == SOCK_STREAM && listen(fd, BACKLOG) < 0)) {
		int r = -errno;

		close(fd);
		return r;
	}
	*out = fd;
	return 0;
}

/* TCP and UDP on one port (the one asked for, or one the OS picks for
 * both); name gets the address. */
static int bind_both(const struct rt_endpoint *want, int *tcp, int *udp, char *name, size_t len)
{
	struct rt_endpoint ep = *want;
	int r = -EADDRINUSE;

	for (int i = 0; i < PORT_TRIES && r == -EADDRINUSE; i++) {
		r = bound(SOCK_STREAM, want, tcp);
		if (r)
			break;
		set_port(&ep, bound_port(*tcp));
		r = bound(SOCK_DGRAM, &ep, udp);
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

int ppd_sockets_write_ports(const struct ppd_cfg *cfg, const struct ppd_sockets *s)
{
	char text[256], tmp[PPD_PATH_MAX + 8];
	int n, fd, r = 0;

	if (!cfg->port_file[0])
		return 0;
	n = snprintf(text, sizeof(text), "listen %s\nmetrics_listen %s\n", s->at,
		     s->metrics_at[0] ? s->metrics_at : "-");
	snprintf(tmp, sizeof(tmp), "%s.tmp", cfg->port_file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, (size_t)n) != n || rename(tmp, cfg->port_file) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	if (r)
		rt_err("port_file %s: %s", cfg->port_file, strerror(-r));
	return r;
}

int ppd_sockets_open(const struct ppd_cfg *cfg, struct ppd_sockets *s)
{
	int r, size = UDP_RCVBUF;

	s->tcp = s->udp = s->metrics = -1;
	s->at[0] = s->metrics_at[0] = '\0';
	r = bind_both(&cfg->listen, &s->tcp, &s->udp, s->at, sizeof(s->at));
	if (r)
		return r;
	/* Datagrams wait in the kernel while the patient answers a question. */
	if (setsockopt(s->udp, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(s->udp, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (!cfg->metrics)
		return 0;
	r = bound(SOCK_STREAM, &cfg->metrics_listen, &s->metrics);
	if (r) {
		rt_endpoint_str(&cfg->metrics_listen, s->metrics_at, sizeof(s->metrics_at));
		rt_err("metrics: cannot listen on %s: %s", s->metrics_at, strerror(-r));
		ppd_sockets_close(s);
		return r;
	}
	{
		struct rt_endpoint ep = cfg->metrics_listen;

		set_port(&ep, bound_port(s->metrics));
		rt_endpoint_str(&ep, s->metrics_at, sizeof(s->metrics_at));
	}
	return 0;
}

void ppd_sockets_close(struct ppd_sockets *s)
{
	if (s->tcp >= 0)
		close(s->tcp);
	if (s->udp >= 0)
		close(s->udp);
	if (s->metrics >= 0)
		close(s->metrics);
	s->tcp = s->udp = s->metrics = -1;
}
