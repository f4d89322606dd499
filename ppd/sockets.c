/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/rt_log.h"
#include "lib/rt_sock.h"
#include "sockets.h"

enum {
	BACKLOG = 64,
	UDP_RCVBUF = 1 << 20,
};

int ppd_sockets_write_ports(const struct ppd_cfg *cfg, const struct ppd_sockets *s)
{
	char text[256];

	if (!cfg->port_file[0])
		return 0;
	snprintf(text, sizeof(text), "listen %s\nmetrics_listen %s\n", s->at,
		 s->metrics_at[0] ? s->metrics_at : "-");
	return rt_sock_write_ports(cfg->port_file, text);
}

int ppd_sockets_open(const struct ppd_cfg *cfg, struct ppd_sockets *s)
{
	struct rt_endpoint ep = cfg->metrics_listen;
	int r;

	s->tcp = s->udp = s->metrics = -1;
	s->at[0] = s->metrics_at[0] = '\0';
	r = rt_sock_bind_pair(&cfg->listen, BACKLOG, &s->tcp, &s->udp, s->at, sizeof(s->at));
	if (r)
		return r;
	/* Datagrams wait in the kernel while the patient answers a question. */
	rt_sock_rcvbuf(s->udp, UDP_RCVBUF);
	if (!cfg->metrics)
		return 0;
	r = rt_sock_open(SOCK_STREAM, &cfg->metrics_listen, BACKLOG, "metrics", &s->metrics);
	if (r) {
		ppd_sockets_close(s);
		return r;
	}
	rt_endpoint_set_port(&ep, rt_sock_port(s->metrics));
	rt_endpoint_str(&ep, s->metrics_at, sizeof(s->metrics_at));
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
