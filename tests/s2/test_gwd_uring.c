/* SPDX-License-Identifier: MIT */
/*
 * iomt-gwd's ingress (userspace/gwd/uring.c; the recvmmsg baseline for
 * comparison), driven through the relay role and the fake store of
 * tests/data (every REC_PUT that parses gets exactly one REC_ACK, so every
 * datagram can be accounted for): many frames in flight on several
 * sockets, all answered; an exhausted provided-buffer ring is counted and
 * loses nothing; an overflowing socket buffer loses datagrams, each one
 * counted; IPv6; SIGTERM answers what is in flight before exit 0; the
 * ingress in use is visible (iomt_gwd_ingress_uring), --baseline works, and
 * a kernel refusing io_uring (seccomp here) means the recvmmsg path.
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "harness.h"
#include "data/data_env.h"

static const struct iomt_keytree_conf conf1 = {
	.version = 1, .epoch_start = 1700000000, .leaf_period_s = 60, .depth = 3,
	.arity = { 16, 24, 60 }, .refresh_period_s = 3600,
};

enum {
	NSOCK = 8,
	QUIET_MS = 1500,	/* no answer for this long: all answers are in */
};

FIXTURE(ing) {
	struct env e;
	struct fstore fs;
	struct data_key k;
	int fd[NSOCK];
	uint8_t frame[IOMT_WIRE_HDR_LEN + IOMT_WIRE_MAX_PAYLOAD];
};

FIXTURE_SETUP(ing)
{
	int r = env_init(&self->e, "uring");

	for (int i = 0; i < NSOCK; i++)
		self->fd[i] = -1;
	if (r == -1)
		SKIP(return, "iomt-gwd (or the KDC tools) not built");
	ASSERT_EQ(r, 0);
	ASSERT_EQ(data_key_make(&self->k, &conf1), 0);
}

FIXTURE_TEARDOWN(ing)
{
	for (int i = 0; i < NSOCK; i++)
		if (self->fd[i] >= 0)
			close(self->fd[i]);
	env_fini(&self->e);
	fs_stop(&self->fs);
	free(self->fs.rec);
}

/* In the child, before exec: io_uring_setup fails with ENOSYS, as on a
 * kernel without io_uring or one where a sandbox forbids it. */
static int deny_io_uring(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

static int no_uring;	/* the next gwd_start runs the daemon under deny_io_uring */

/* iomt-gwd, relay role, store at 127.0.0.1:store_port, devices on listen,
 * more config lines in extra: 0 or -1. */
static int gwd_start(struct env *e, uint16_t store_port, const char *listen, const char *extra)
{
	static char co[] = "-c";
	char conf[160], ports[160], text[2048];
	char *argv[] = { e->gwd_bin, co, conf, NULL };
	int n;

	snprintf(conf, sizeof(conf), "%s/gwd.conf", e->dir);
	snprintf(ports, sizeof(ports), "%s/gwd.ports", e->dir);
	snprintf(e->svc_log, sizeof(e->svc_log), "%s/gwd.log", e->dir);
	n = snprintf(text, sizeof(text),
		     "mec no\nrelay yes\nstore 127.0.0.1:%u\nlisten %s\n"
		     "metrics_listen 127.0.0.1:0\nport_file %s\nlog_level debug\nlog_file %s\n"
		     "store_reconnect_max 100ms\n%s\n", store_port, listen, ports, e->svc_log,
		     extra);
	if (rt_test_write(conf, text, (size_t)n))
		return -1;
	unlink(ports);
	e->svc_gwd = 1;
	if (!no_uring) {
		e->svc_pid = env_spawn(argv, e->svc_log);
		return env_svc_wait(e, ports);
	}
	e->svc_pid = fork();
	if (e->svc_pid == 0) {
		int fd = open(e->svc_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		if (deny_io_uring() == 0)
			execv(argv[0], argv);
		_exit(127);
	}
	return env_svc_wait(e, ports);
}

/* NSOCK sensors' sockets, each able to queue thousands of answers. */
static int sockets(FIXTURE_DATA(ing) *self)
{
	int big = 8 << 20;

	for (int i = 0; i < NSOCK; i++) {
		self->fd[i] = data_udp(&self->e);
		if (self->fd[i] < 0)
			return -1;
		if (setsockopt(self->fd[i], SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)))
			setsockopt(self->fd[i], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	}
	return 0;
}

/* REC_PUT number b (one record, sequence b: distinct records), id = b. */
static long put(FIXTURE_DATA(ing) *self, uint32_t b)
{
	uint8_t id[8] = { 0 };

	memcpy(id, &b, sizeof(b));
	return data_batch(&self->k, id, conf1.epoch_start + 90, b, 1, self->frame,
			  sizeof(self->frame));
}

/* Sends REC_PUTs first..first+n-1 round-robin over the sockets, without
 * waiting for any answer. */
static int send_puts(FIXTURE_DATA(ing) *self, uint32_t first, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		long len = put(self, first + i);

		if (len <= 0 || rt_knet_send(self->fd[i % NSOCK], self->frame, (size_t)len))
			return -1;
	}
	return 0;
}

/* The next REC_ACK already waiting on fd: 0 with its id and status, or -1. */
static int ack_now(int fd, uint32_t *b, uint8_t *status)
{
	uint8_t buf[256], type, id[8];
	uint16_t stored, dups;
	const uint8_t *p;
	size_t plen;
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 || iomt_wire_parse(buf, (size_t)n, &type, &p, &plen) ||
	    type != IOMT_MSG_REC_ACK || iomt_rec_ack_decode(id, status, &stored, &dups, p, plen))
		return -1;
	memcpy(b, id, sizeof(*b));
	return 0;
}

/* Collects answers on every socket until none came for QUIET_MS; counts
 * them by status in got[] and marks seen[id] (ids < nseen). */
static unsigned collect(FIXTURE_DATA(ing) *self, unsigned got[IOMT_REC_UNREACHABLE + 1],
			uint8_t *seen, unsigned nseen)
{
	unsigned total = 0;
	uint64_t quiet = rt_knet_mono_ms() + QUIET_MS;

	memset(got, 0, sizeof(unsigned) * (IOMT_REC_UNREACHABLE + 1));
	while (rt_knet_mono_ms() < quiet) {
		int any = 0;

		for (int i = 0; i < NSOCK; i++) {
			uint8_t status;
			uint32_t b;

			while (ack_now(self->fd[i], &b, &status) == 0) {
				if (status <= IOMT_REC_UNREACHABLE)
					got[status]++;
				if (b < nseen)
					seen[b]++;
				total++;
				any = 1;
			}
		}
		if (any)
			quiet = rt_knet_mono_ms() + QUIET_MS;
		else
			env_sleep_ms(5);
	}
	return total;
}

/* n frames in flight at once over NSOCK sockets: every one answered OK,
 * exactly once, and forwarded once. */
static void many_in_flight(FIXTURE_DATA(ing) *self, const char *extra, int uring)
{
	enum { N = 2048 };
	static uint8_t seen[N];
	unsigned got[IOMT_REC_UNREACHABLE + 1];

	ASSERT_EQ(fs_start(&self->fs, 0), 0);
	ASSERT_EQ(gwd_start(&self->e, self->fs.port, "127.0.0.1:0", extra), 0);
	ASSERT_EQ(data_metric_wait(&self->e, "iomt_gwd_store_link_up", 1), 1);
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_ingress_uring"), uring);
	ASSERT_EQ(sockets(self), 0);
	memset(seen, 0, sizeof(seen));
	ASSERT_EQ(send_puts(self, 0, N), 0);
	EXPECT_EQ(collect(self, got, seen, N), (unsigned)N);
	EXPECT_EQ(got[IOMT_REC_OK], (unsigned)N);
	for (unsigned b = 0; b < N; b++)
		if (seen[b] != 1) {
			TH_LOG("REC_PUT %u answered %u times", b, seen[b]);
			ASSERT_EQ(seen[b], 1);
		}
	EXPECT_EQ(FS_GET(&self->fs, stored), (unsigned)N);
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_rec_batches_forwarded_total"), N);
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_udp_kernel_drops_total"), 0);
	EXPECT_EQ(env_reap(&self->e.svc_pid, SIGTERM, ENV_WAIT_MS), 0);
}

TEST_F(ing, many_frames_in_flight_all_answered_once_on_io_uring)
{
	many_in_flight(self, "", 1);
}

TEST_F(ing, many_frames_in_flight_all_answered_once_on_the_baseline)
{
	many_in_flight(self, "baseline yes", 0);
	EXPECT_TRUE(env_file_has(self->e.svc_log, "baseline mode: recvmmsg ingress"));
}

/* The daemon is stopped while a burst arrives: on waking, the 4 provided
 * buffers run out at once. The kernel keeps the rest in the socket; every
 * datagram is answered, the exhaustions are counted. */
TEST_F(ing, buffer_ring_exhaustion_is_counted_and_loses_nothing)
{
	enum { N = 600 };
	static uint8_t seen[N];
	unsigned got[IOMT_REC_UNREACHABLE + 1];
	uint16_t port = env_free_port();

	ASSERT_NE(port, 0);
	/* No store: each REC_PUT gets UNREACHABLE at once. */
	ASSERT_EQ(gwd_start(&self->e, port, "127.0.0.1:0", "uring_buffers 4\nbatch_max 16"), 0);
	ASSERT_EQ(env_metric(&self->e, "iomt_gwd_ingress_uring"), 1);
	ASSERT_EQ(sockets(self), 0);
	ASSERT_EQ(kill(self->e.svc_pid, SIGSTOP), 0);
	ASSERT_EQ(send_puts(self, 0, N), 0);
	ASSERT_EQ(kill(self->e.svc_pid, SIGCONT), 0);
	memset(seen, 0, sizeof(seen));
	EXPECT_EQ(collect(self, got, seen, N), (unsigned)N);
	EXPECT_EQ(got[IOMT_REC_UNREACHABLE], (unsigned)N);
	EXPECT_GE(env_metric(&self->e, "iomt_gwd_uring_rx_nobufs_total"), 1);
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_udp_kernel_drops_total"), 0);
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_uring_rx_errors_total"), 0);
	EXPECT_EQ(env_reap(&self->e.svc_pid, SIGTERM, ENV_WAIT_MS), 0);
}

/* A burst larger than the socket's buffer: what the kernel drops is
 * counted, so answers + counted drops = datagrams sent. */
static void overflow(FIXTURE_DATA(ing) *self, const char *extra)
{
	enum { N = 3000 };
	static uint8_t seen[N + 1];
	unsigned got[IOMT_REC_UNREACHABLE + 1], answered, late;
	uint16_t port = env_free_port();
	long long drops;

	ASSERT_NE(port, 0);
	ASSERT_EQ(gwd_start(&self->e, port, "127.0.0.1:0", extra), 0);
	ASSERT_EQ(sockets(self), 0);
	ASSERT_EQ(kill(self->e.svc_pid, SIGSTOP), 0);
	ASSERT_EQ(send_puts(self, 0, N), 0);
	ASSERT_EQ(kill(self->e.svc_pid, SIGCONT), 0);
	memset(seen, 0, sizeof(seen));
	answered = collect(self, got, seen, N + 1);
	/* The drop counter travels with the next datagram received. */
	ASSERT_EQ(send_puts(self, N, 1), 0);
	late = collect(self, got, seen, N + 1);
	ASSERT_EQ(late, 1);
	drops = env_metric(&self->e, "iomt_gwd_udp_kernel_drops_total");
	EXPECT_GT(drops, 0);
	EXPECT_GT(answered, 0);
	EXPECT_EQ((long long)answered + drops, N);
	EXPECT_TRUE(env_file_has(self->e.svc_log, "the kernel dropped"));
	EXPECT_EQ(env_reap(&self->e.svc_pid, SIGTERM, ENV_WAIT_MS), 0);
}

TEST_F(ing, socket_overflow_drops_are_all_counted_on_io_uring)
{
	overflow(self, "udp_rcvbuf 64K\nuring_buffers 64");
}

TEST_F(ing, socket_overflow_drops_are_all_counted_on_the_baseline)
{
	overflow(self, "udp_rcvbuf 64K\nbaseline yes");
}

/* The kernel refuses io_uring: a warning, and the recvmmsg path serves. */
TEST_F(ing, io_uring_refused_falls_back_to_recvmmsg)
{
	unsigned got[IOMT_REC_UNREACHABLE + 1];
	uint8_t seen[32];
	uint16_t port = env_free_port();

	ASSERT_NE(port, 0);
	no_uring = 1;
	ASSERT_EQ(gwd_start(&self->e, port, "127.0.0.1:0", ""), 0);
	no_uring = 0;
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_ingress_uring"), 0);
	EXPECT_TRUE(env_file_has(self->e.svc_log, "falling back to recvmmsg"));
	EXPECT_TRUE(env_file_has(self->e.svc_log, "Function not implemented"));
	ASSERT_EQ(sockets(self), 0);
	memset(seen, 0, sizeof(seen));
	ASSERT_EQ(send_puts(self, 0, 32), 0);
	EXPECT_EQ(collect(self, got, seen, 32), 32u);
	EXPECT_EQ(got[IOMT_REC_UNREACHABLE], 32u);
	EXPECT_EQ(env_reap(&self->e.svc_pid, SIGTERM, ENV_WAIT_MS), 0);
}

TEST_F(ing, ipv6_devices)
{
	unsigned got[IOMT_REC_UNREACHABLE + 1];
	uint8_t seen[64];
	uint16_t port = env_free_port();
	int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in6 lo = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };

	/* No IPv6 loopback here (a container without it): say so. */
	if (s < 0 || bind(s, (struct sockaddr *)&lo, sizeof(lo))) {
		if (s >= 0)
			close(s);
		SKIP(return, "no IPv6 loopback (::1) on this host");
	}
	close(s);
	ASSERT_NE(port, 0);
	ASSERT_EQ(gwd_start(&self->e, port, "[::1]:0", ""), 0);
	ASSERT_EQ(strncmp(self->e.svc_addr, "[::1]:", 6), 0);
	ASSERT_EQ(sockets(self), 0);
	memset(seen, 0, sizeof(seen));
	ASSERT_EQ(send_puts(self, 0, 64), 0);
	EXPECT_EQ(collect(self, got, seen, 64), 64u);
	EXPECT_EQ(got[IOMT_REC_UNREACHABLE], 64u);
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_ingress_uring"), 1);
	EXPECT_EQ(env_reap(&self->e.svc_pid, SIGTERM, ENV_WAIT_MS), 0);
}

/* SIGTERM with batches waiting for the store: new ones get BUSY, those in
 * flight are answered (here: the store never acknowledges, so UNREACHABLE
 * at relay_timeout), and only then does the daemon exit 0. */
TEST_F(ing, sigterm_answers_what_is_in_flight_then_exits)
{
	enum { N = 40 };
	unsigned got[IOMT_REC_UNREACHABLE + 1];
	uint8_t seen[N + 1];
	int st = -1;

	ASSERT_EQ(fs_start(&self->fs, 0), 0);
	ASSERT_EQ(gwd_start(&self->e, self->fs.port, "127.0.0.1:0",
			    "relay_timeout 1s\nagreement_timeout 5s"), 0);
	ASSERT_EQ(data_metric_wait(&self->e, "iomt_gwd_store_link_up", 1), 1);
	fs_set_mode(&self->fs, FS_HOLD);
	ASSERT_EQ(sockets(self), 0);
	ASSERT_EQ(send_puts(self, 0, N), 0);
	EXPECT_EQ(FS_WAIT(&self->fs, held, (unsigned)N), (unsigned)N);
	ASSERT_EQ(kill(self->e.svc_pid, SIGTERM), 0);
	env_sleep_ms(100);
	ASSERT_EQ(send_puts(self, N, 1), 0);
	memset(seen, 0, sizeof(seen));
	EXPECT_EQ(collect(self, got, seen, N + 1), (unsigned)N + 1);
	EXPECT_EQ(got[IOMT_REC_BUSY], 1u);
	EXPECT_EQ(seen[N], 1);
	EXPECT_EQ(got[IOMT_REC_UNREACHABLE], (unsigned)N);
	st = env_reap(&self->e.svc_pid, 0, ENV_WAIT_MS);
	EXPECT_EQ(st, 0);
	EXPECT_TRUE(env_file_has(self->e.svc_log, "stopped"));
}
