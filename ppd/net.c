/* SPDX-License-Identifier: MIT */
/*
 * The network process: reads one frame per TCP connection or datagram,
 * hands it to the keeper, sends back what the keeper answers, and serves
 * /metrics from the counters the keeper sends with every answer. It holds
 * no key and runs as an unprivileged user; it was forked before the keeper
 * read anything secret.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ct.h"
#include "ipc.h"
#include "lib/rt_knet.h"
#include "lib/rt_log.h"
#include "metrics.h"
#include "net.h"

static uint8_t in[PPD_IPC_FRAME_MAX], msg[PPD_IPC_MSG_MAX];

/* The keeper's answer to in[0..len): the reply frame's length (0: none),
 * or -1 when the keeper is gone. */
static long ask_keeper(int ipc, size_t len, const uint8_t **frame)
{
	uint64_t counters[PPD_IPC_COUNTERS];
	ssize_t n;

	if (send(ipc, in, len, MSG_NOSIGNAL) != (ssize_t)len)
		return -1;
	do
		n = recv(ipc, msg, sizeof(msg), 0);
	while (n < 0 && errno == EINTR);
	if (n < PPD_IPC_STATS_LEN)
		return -1;
	memcpy(counters, msg, sizeof(counters));
	ppd_metrics_apply(counters);
	*frame = msg + PPD_IPC_STATS_LEN;
	return n - PPD_IPC_STATS_LEN;
}

static int serve_conn(const struct ppd_cfg *cfg, int fd, int ipc)
{
	const uint8_t *frame;
	long n = rt_knet_recv_frame(fd, in, sizeof(in), rt_knet_mono_ms() + cfg->io_timeout);
	long m;

	if (n < 0) {
		rt_dbg("connection closed without a request: %s", strerror((int)-n));
		return 0;
	}
	m = ask_keeper(ipc, (size_t)n, &frame);
	if (m < 0)
		return -1;
	if (m && rt_knet_send(fd, frame, (size_t)m))
		rt_info("reply not delivered: the client went away");
	iomt_wipe(in, (size_t)n);
	iomt_wipe(msg, PPD_IPC_STATS_LEN + (size_t)m);
	return 0;
}

static int serve_datagram(int udp, int ipc)
{
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	const uint8_t *frame;
	ssize_t n = recvfrom(udp, in, sizeof(in), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
	long m;

	if (n <= 0)
		return 0;
	m = ask_keeper(ipc, (size_t)n, &frame);
	if (m < 0)
		return -1;
	if (m && sendto(udp, frame, (size_t)m, MSG_DONTWAIT, (struct sockaddr *)&from, flen) < 0)
		rt_info("UDP reply not sent: %m");
	iomt_wipe(in, (size_t)n);
	iomt_wipe(msg, PPD_IPC_STATS_LEN + (size_t)m);
	return 0;
}

int ppd_net_run(const struct ppd_cfg *cfg, struct ppd_sockets *s, int ipc)
{
	struct pollfd fds[4] = {
		{ .fd = ipc, .events = POLLIN }, { .fd = s->tcp, .events = POLLIN },
		{ .fd = s->udp, .events = POLLIN }, { .fd = s->metrics, .events = POLLIN },
	};

	if (ppd_metrics_register())
		return 1;
	for (;;) {
		int r = poll(fds, s->metrics >= 0 ? 4 : 3, -1), c;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rt_err("poll: %m");
			return 1;
		}
		/* The keeper never writes first: readable or hung up means it is gone. */
		if (fds[0].revents)
			return 0;
		if (fds[1].revents & POLLIN) {
			c = accept4(s->tcp, NULL, NULL, SOCK_CLOEXEC);
			if (c >= 0) {
				r = serve_conn(cfg, c, ipc);
				close(c);
				if (r)
					return 0;
			}
		}
		if ((fds[2].revents & POLLIN) && serve_datagram(s->udp, ipc))
			return 0;
		if (s->metrics >= 0 && (fds[3].revents & POLLIN)) {
			c = accept4(s->metrics, NULL, NULL, SOCK_CLOEXEC);
			if (c >= 0) {
				rt_metrics_serve(c);
				close(c);
			}
		}
	}
}
