/* SPDX-License-Identifier: MIT */
/*
 * Load generator for tests/bench/bench_gwd.sh: data frames (REC_PUT)
 * relayed per second by iomt-gwd's relay role.
 *
 *   gwd_load GWD_BIN SECONDS WINDOW [more iomt-gwd flags, e.g. --baseline]
 *
 * Plays the store (a TCP listener that answers every REC_PUT with REC_ACK OK
 * at once, one write per read), starts the gateway against it in a scratch
 * directory, then keeps WINDOW frames in flight over NSOCK UDP sockets:
 * every REC_ACK that comes back sends the next frame on its socket. Frames
 * are real batches (one sealed record, lib/recbatch) made once up front.
 * After a half-second warm-up it counts the acknowledgements for SECONDS
 * and prints "FRAMES_PER_S GATEWAY_CPU_US_PER_FRAME" on stdout (the
 * gateway's user + system time from /proc); diagnostics on stderr. A window
 * slot whose answer is lost (a drop the gateway counted) is refilled after
 * 200 ms of silence and reported.
 */
#include <poll.h>
#include <signal.h>

#include "data/data_env.h"

enum {
	NSOCK = 16,
	BURST = 64,
	NFRAMES = 64,
};

static const struct iomt_keytree_conf conf1 = {
	.version = 1, .epoch_start = 1700000000, .leaf_period_s = 60, .depth = 3,
	.arity = { 16, 24, 60 }, .refresh_period_s = 3600,
};

static uint8_t frame[NFRAMES][256];
static size_t frame_len[NFRAMES];
static volatile int store_stop;

/* The store: REC_ACK OK for each REC_PUT, answers of a read in one write. */
static void *store_main(void *arg)
{
	static uint8_t rx[1 << 20], tx[1 << 20];
	int fd = *(int *)arg;
	size_t have = 0;

	while (!store_stop) {
		int n = ack_store_pass(fd, rx, sizeof(rx), &have, tx, sizeof(tx));

		if (n < 0)
			break;
	}
	return NULL;
}

/* The gateway's CPU time so far (user + system), in seconds. */
static double cpu_s(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
			 &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int make_frames(void)
{
	struct data_key k;

	if (data_key_make(&k, &conf1))
		return -1;
	for (unsigned i = 0; i < NFRAMES; i++) {
		uint8_t id[8] = { (uint8_t)i };
		long n = data_batch(&k, id, conf1.epoch_start + 90, i, 1, frame[i],
				    sizeof(frame[i]));

		if (n <= 0)
			return -1;
		frame_len[i] = (size_t)n;
	}
	return 0;
}

/* Sends n frames on fd in one sendmmsg (from frame index *next): sent. */
static unsigned send_n(int fd, unsigned n, unsigned *next)
{
	struct mmsghdr m[BURST];
	struct iovec iov[BURST];
	int r;

	if (n > BURST)
		n = BURST;
	for (unsigned i = 0; i < n; i++) {
		unsigned f = (*next)++ % NFRAMES;

		iov[i] = (struct iovec){ frame[f], frame_len[f] };
		m[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	r = sendmmsg(fd, m, n, 0);
	return r > 0 ? (unsigned)r : 0;
}

static unsigned recv_n(int fd)
{
	static uint8_t buf[BURST][64];
	struct mmsghdr m[BURST];
	struct iovec iov[BURST];
	int r;

	for (unsigned i = 0; i < BURST; i++) {
		iov[i] = (struct iovec){ buf[i], sizeof(buf[i]) };
		m[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	r = recvmmsg(fd, m, BURST, MSG_DONTWAIT, NULL);
	return r > 0 ? (unsigned)r : 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	char dir[] = "/tmp/gwd_load.XXXXXX", ports[64], logf[64], store[32], text[256], udp[128];
	char *gargv[40];
	struct env e = { 0 };
	struct pollfd pf[NSOCK];
	unsigned inflight[NSOCK] = { 0 }, next = 0, window, refills = 0;
	uint64_t t0, count = 0, start, end;
	double cpu0 = 0, cpu1;
	int lfd, sfd = -1, gargc = 0, secs;
	pthread_t th;
	pid_t pid;

	if (argc < 4 || (secs = atoi(argv[2])) <= 0 || (window = (unsigned)atoi(argv[3])) < NSOCK) {
		fprintf(stderr, "usage: gwd_load GWD_BIN SECONDS WINDOW [gwd flags]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (make_frames() || !mkdtemp(dir))
		return 1;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 4) ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen))
		return 1;
	snprintf(store, sizeof(store), "127.0.0.1:%u", ntohs(a.sin_port));
	snprintf(ports, sizeof(ports), "%s/ports", dir);
	snprintf(logf, sizeof(logf), "%s/gwd.log", dir);
	{
		const char *fixed[] = { argv[1], "--mec=no", "--relay", "--store", store,
					"--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
					"--port-file", ports, "--log-file", logf,
					"--relay-pending-max", "8192", "--batch-max", "64" };

		for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
			gargv[gargc++] = env_arg(fixed[i]);
		for (int i = 4; i < argc && gargc < 38; i++)
			gargv[gargc++] = argv[i];
		gargv[gargc] = NULL;
	}
	pid = env_spawn(gargv, logf);
	for (int t = 0; t < 1000 && sfd < 0; t++) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };

		if (poll(&p, 1, 10) > 0)
			sfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	}
	if (sfd < 0 || rt_test_read(ports, text, sizeof(text)) <= 0 ||
	    sscanf(text, "listen %127s", udp) != 1) {
		fprintf(stderr, "gwd_load: the gateway did not start (see %s)\n", logf);
		env_reap(&pid, SIGKILL, 2000);
		return 1;
	}
	pthread_create(&th, NULL, store_main, &sfd);
	snprintf(e.svc_addr, sizeof(e.svc_addr), "%s", udp);
	for (int i = 0; i < NSOCK; i++) {
		int big = 4 << 20;

		pf[i] = (struct pollfd){ .fd = data_udp(&e), .events = POLLIN };
		if (pf[i].fd < 0)
			return 1;
		setsockopt(pf[i].fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	}
	t0 = rt_knet_mono_ms();
	start = t0 + 500;
	end = start + (uint64_t)secs * 1000;
	for (uint64_t now = t0; now < end; now = rt_knet_mono_ms()) {
		int n = poll(pf, NSOCK, 200);

		if (!cpu0 && now >= start)
			cpu0 = cpu_s(pid) + 1e-9;

		for (int i = 0; i < NSOCK; i++) {
			unsigned want = window / NSOCK, got = 0;

			if (n > 0 && (pf[i].revents & POLLIN))
				while ((got = recv_n(pf[i].fd)) > 0) {
					inflight[i] -= got < inflight[i] ? got : inflight[i];
					if (now >= start)
						count += got;
				}
			if (n == 0 && inflight[i])
				refills += inflight[i], inflight[i] = 0;
			while (inflight[i] < want) {
				unsigned s = send_n(pf[i].fd, want - inflight[i], &next);

				if (!s)
					break;
				inflight[i] += s;
			}
		}
	}
	cpu1 = cpu_s(pid);
	/* Under a loaded machine the rate varies with the share of the cores the
	 * gateway gets; its CPU time per frame does much less. */
	printf("%.0f %.2f\n", (double)count * 1000.0 / (double)(end - start),
	       count ? (cpu1 - cpu0) * 1e6 / (double)count : 0.0);
	if (refills)
		fprintf(stderr, "gwd_load: %u frames lost and resent\n", refills);
	if (env_reap(&pid, SIGTERM, 10000) != 0)
		fprintf(stderr, "gwd_load: the gateway did not exit cleanly (see %s)\n", logf);
	store_stop = 1;
	pthread_join(th, NULL);
	rt_test_rmtree(dir);
	return 0;
}
