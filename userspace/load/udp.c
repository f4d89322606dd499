/* SPDX-License-Identifier: MIT */
/* iomt-load's UDP transport (run.h): one unconnected socket per sensor,
 * each frame one datagram to --target (or where the mode says). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "run.h"

static int udp_prepare(struct load_run *r)
{
	if (!r->o->target || load_resolve(r->o->target, &r->target, &r->target_len)) {
		fprintf(stderr, "iomt-load: --target %s: not HOST:PORT\n",
			r->o->target ? r->o->target : "(none)");
		return -1;
	}
	return 0;
}

static int udp_open(struct load_run *r, struct load_slot *s)
{
	int fd = socket(r->target.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		fprintf(stderr, "iomt-load: socket %u: %s (raise the open-files limit?)\n", s->idx,
			strerror(errno));
	return fd;
}

static ssize_t udp_send(struct load_run *r, struct load_slot *s, const uint8_t *buf, size_t n,
			const struct sockaddr_storage *to, socklen_t tolen)
{
	(void)r;
	return sendto(s->fd, buf, n, 0, (const struct sockaddr *)to, tolen);
}

const struct load_transport load_udp = {
	.name = "udp", .prepare = udp_prepare, .open = udp_open, .send = udp_send,
};
