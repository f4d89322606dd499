/* SPDX-License-Identifier: MIT */
/*
 * Junk dropped by the XDP filter vs junk dropped by the daemon in userspace
 * (the fallback when XDP cannot attach), same packet, same run:
 *
 *   xdp_junk_drop_pps        BPF_PROG_TEST_RUN, repeat 2^20, on one Ethernet
 *                            frame carrying an unknown type to the service
 *                            port: the filter's cost at the XDP hook
 *                            (wall time of the whole call, so the syscall is
 *                            in the figure too).
 *   userspace_junk_drop_pps  the same UDP payload sent to a socket on
 *                            loopback, then recvmmsg (64 per call) and
 *                            rt_filter_datagram on each: only the receive
 *                            and the check are timed, not the send nor the
 *                            stack's delivery, so the ratio understates
 *                            what XDP saves (the kernel's UDP input is not
 *                            counted against userspace).
 *
 * Median over rounds, rounds alternating. Needs root (BPF); without it no
 * row is printed and stderr says why.
 */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "bench.h"
#include "lib/rt_xdp.h"
#include "lib/rt_filter.h"
#include "bpf/pkt.h"

enum { PORT = 5683, BATCH = 64, ROUNDS = 9, XDP_REPEAT = 1 << 20, UDP_PACKETS = 1 << 16 };

static const uint16_t ports[] = { PORT };

static double xdp_round(struct rt_xdp *x, const uint8_t *pkt, size_t len)
{
	double t = bench_now_ns();
	uint32_t action;

	if (rt_xdp_test_run(x, pkt, len, XDP_REPEAT, &action, NULL) || action != 1) {
		fprintf(stderr, "bench_xdp: test run failed\n");
		exit(1);
	}
	return (bench_now_ns() - t) / XDP_REPEAT;
}

static double udp_round(struct rt_filter *f, int tx, int rx, const struct sockaddr_in *to,
			const uint8_t *junk, size_t n)
{
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in from[BATCH];
	uint8_t buf[BATCH][256];
	double busy = 0;
	size_t got = 0;

	while (got < UDP_PACKETS) {
		int s, r;
		double t;

		memset(m, 0, sizeof(m));
		for (int i = 0; i < BATCH; i++) {
			iov[i].iov_base = (void *)(uintptr_t)junk;
			iov[i].iov_len = n;
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
			m[i].msg_hdr.msg_name = (void *)(uintptr_t)to;
			m[i].msg_hdr.msg_namelen = sizeof(*to);
		}
		s = sendmmsg(tx, m, BATCH, 0);
		if (s <= 0) {
			perror("bench_xdp: sendmmsg");
			exit(1);
		}
		t = bench_now_ns();
		for (int i = 0; i < BATCH; i++) {
			iov[i].iov_base = buf[i];
			iov[i].iov_len = sizeof(buf[i]);
			m[i].msg_hdr.msg_name = &from[i];
			m[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		r = recvmmsg(rx, m, (unsigned)s, MSG_DONTWAIT, NULL);
		for (int i = 0; i < r; i++)
			if (rt_filter_datagram(f, (struct sockaddr *)&from[i], buf[i], m[i].msg_len) !=
			    IOMT_XF_DROP_MALFORMED) {
				fprintf(stderr, "bench_xdp: junk was not dropped\n");
				exit(1);
			}
		busy += bench_now_ns() - t;
		got += r > 0 ? (size_t)r : 0;
	}
	return busy / (double)got;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(void)
{
	struct pkt_src src = { 0, { 127, 0, 0, 1 }, 40000 };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct iomt_xf_conf c = { .ports = { PORT } };
	uint8_t junk[64], pkt[PKT_MAX];
	double xs[ROUNDS], us[ROUNDS];
	struct rt_filter *f;
	struct rt_xdp *x;
	char why[256];
	size_t n, len;
	int tx, rx, big = 1 << 22;

	if (rt_xdp_open(&x, ports, 1, why, sizeof(why))) {
		fprintf(stderr, "bench_xdp: no rows: %s\n", why);
		return 0;
	}
	n = pkt_frame(junk, 0xee, 16, 0xa5);   /* an unknown type: DROP_MALFORMED */
	len = pkt_build(pkt, &src, PORT, junk, n);
	f = rt_filter_new(0, 0);
	tx = socket(AF_INET, SOCK_DGRAM, 0);
	rx = socket(AF_INET, SOCK_DGRAM, 0);
	if (!f || tx < 0 || rx < 0 ||
	    setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big)) ||
	    bind(rx, (struct sockaddr *)&to, sizeof(to))) {
		perror("bench_xdp: set-up");
		return 1;
	}
	socklen_t sl = sizeof(to);
	getsockname(rx, (struct sockaddr *)&to, &sl);
	c.ports[0] = ntohs(to.sin_port);
	rt_filter_set_conf(f, &c);
	xdp_round(x, pkt, len);   /* warm-up */
	udp_round(f, tx, rx, &to, junk, n);
	for (int r = 0; r < ROUNDS; r++) {
		xs[r] = xdp_round(x, pkt, len);
		us[r] = udp_round(f, tx, rx, &to, junk, n);
	}
	qsort(xs, ROUNDS, sizeof(double), cmp);
	qsort(us, ROUNDS, sizeof(double), cmp);
	fprintf(stderr, "bench: xdp junk drop %.1f ns/packet, userspace %.1f ns/packet\n",
		xs[ROUNDS / 2], us[ROUNDS / 2]);
	bench_row_rate("xdp_junk_drop_pps", 1e9 / xs[ROUNDS / 2], "pps",
		       "userspace_junk_drop_pps", 1e9 / us[ROUNDS / 2]);
	rt_filter_free(f);
	rt_xdp_close(x);
	close(tx);
	close(rx);
	return 0;
}
