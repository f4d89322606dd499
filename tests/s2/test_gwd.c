/* SPDX-License-Identifier: MIT */
/*
 * iomt-gwd, the MEC role, end to end on loopback: the real daemon binary
 * against a fake TTP (a thread here speaking the link protocol, computing
 * real M3s with iomt_s2_ttp_process, sealing real ID_a boxes, keeping
 * current and previous identities as docs/PROTOCOL.md §3.4 says) and fake
 * devices (lib's device state machine over UDP).
 *
 * Covered: a full agreement (the device's SK fingerprint equals the one in
 * the MEC's debug log; no key in the log), many agreements in one batch,
 * garbage datagrams (dropped by reason, daemon unaffected), wrong d3 and a
 * wrong ID_a box (refused, slot unchanged, next agreement on the slot
 * works), S2_LINK_ERR relayed as S2_DEV_ERR, TTP down (BUSY) and back,
 * link lost in flight, a corrupt TTP stream, agreement timeout and a late
 * M3, all slots busy, restart keeping slot identities, kill -9 just before
 * and just after the state write (old or new pair, both accepted), a
 * failed state write, SIGTERM graceful (in-flight M3 completes, new M1s
 * BUSY, bounded wait), session expiry and eviction, IPv6, /metrics.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "testutil.h"
#include "rt/rt_test.h"
#include "bytes.h"
#include "ct.h"
#include "lib/rt_conf.h"
#include "lib/rt_recfile.h"
#include "lib/rt_rng.h"
#include "s2_ida.h"
#include "seed002.h"
#include "sp800_185.h"
#include "wire.h"

enum {
	NSLOT_MAX = 64,
	NDEV_MAX = 64,
	WAIT_MS = 5000,		/* for anything that should happen soon */
	QUIET_MS = 400,		/* for "no answer comes" */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void random_bytes(void *p, size_t n)
{
	if (rt_random(p, n))
		abort();
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* build/tests/s2/test_gwd -> build/bin/iomt-gwd */
static void gwd_binary(char *out, size_t len)
{
	if (rt_test_bin("iomt-gwd", out, len))
		out[0] = '\0';
}

/* ================= the fake TTP ================= */

enum ttp_mode {
	TTP_OK,
	TTP_SILENT,	/* swallow the M2 */
	TTP_BAD_D3,	/* rotate, then send an M3 whose d3 is wrong (box sealed over it) */
	TTP_BAD_BOX,	/* rotate, then send a good M3 with a damaged ID_a box */
	TTP_LINK_ERR,	/* answer S2_LINK_ERR with err_code, change nothing */
	TTP_DELAY,	/* rotate, send the M3 delay_ms later */
	TTP_GARBAGE,	/* answer with bytes that are not a frame */
};

/* One party's entry: current and previous identity (§3.4). */
struct ident {
	uint8_t did[16], dk[16], pdid[16], pdk[16];
	int has_prev;
	int last_match;		/* 1 current, 2 previous, 0 never */
};

struct held {
	uint64_t due;
	uint8_t frame[IOMT_WIRE_HDR_LEN + IOMT_WIRE_S2_M3_LEN];
};

struct fake_ttp {
	pthread_t th;
	pthread_mutex_t mu;
	atomic_int run, want_listen, drop_conn;
	int lfd, cfd;
	uint16_t port;
	struct ident dev[NDEV_MAX], mec[NSLOT_MAX];
	uint8_t id_a[NDEV_MAX][IOMT_S2_IDA_LEN];
	size_t ndev, nmec;
	enum ttp_mode mode;
	int mode_left;		/* requests still treated with mode (-1: all) */
	uint8_t err_code;
	unsigned delay_ms;
	int m2_seen, m3_sent, conns;
	struct held held[NSLOT_MAX];
	size_t nheld;
	uint8_t rx[16384];
	size_t rx_len;
};

static int ttp_listen(struct fake_ttp *t)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(t->port) };
	socklen_t alen = sizeof(a);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 4) ||
	    getsockname(fd, (struct sockaddr *)&a, &alen)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	t->port = ntohs(a.sin_port);
	t->lfd = fd;
	return 0;
}

static void ttp_send(struct fake_ttp *t, const void *buf, size_t len)
{
	if (t->cfd >= 0 && send(t->cfd, buf, len, MSG_NOSIGNAL) != (ssize_t)len) {
		close(t->cfd);
		t->cfd = -1;
	}
}

static void ttp_link_err(struct fake_ttp *t, const uint8_t *req_id, uint8_t code)
{
	uint8_t f[IOMT_WIRE_HDR_LEN + IOMT_WIRE_S2_LINK_ERR_LEN];

	iomt_wire_put_hdr(f, IOMT_MSG_S2_LINK_ERR, IOMT_WIRE_S2_LINK_ERR_LEN);
	memcpy(f + 4, req_id, 4);
	f[8] = code;
	ttp_send(t, f, sizeof(f));
}

/* The entry holding did as current (*match 1) or previous (*match 2). */
static struct ident *ttp_find(struct ident *tab, size_t n, const uint8_t did[16], int *match)
{
	for (size_t i = 0; i < n; i++) {
		*match = !memcmp(tab[i].did, did, 16) ? 1
			 : tab[i].has_prev && !memcmp(tab[i].pdid, did, 16) ? 2 : 0;
		if (*match)
			return &tab[i];
	}
	return NULL;
}

/* §3.4: current match -> previous <- current; either way current <- next. */
static void ttp_rotate(struct ident *e, int match, const uint8_t did[16], const uint8_t dk[16])
{
	if (match == 1) {
		memcpy(e->pdid, e->did, 16);
		memcpy(e->pdk, e->dk, 16);
		e->has_prev = 1;
	}
	memcpy(e->did, did, 16);
	memcpy(e->dk, dk, 16);
	e->last_match = match;
}

static enum ttp_mode ttp_take_mode(struct fake_ttp *t)
{
	enum ttp_mode m = t->mode;

	if (t->mode_left > 0 && --t->mode_left == 0)
		t->mode = TTP_OK;
	return m;
}

/* Computes M3 and the box for one M2; 0, or the LINK_ERR code to send. */
static uint8_t ttp_compute(struct fake_ttp *t, const uint8_t *m2, enum ttp_mode mode,
			   uint8_t m3[IOMT_S2_M3_LEN], uint8_t box[IOMT_S2_IDA_BOX_LEN])
{
	uint8_t did_i[16], did_m[16], r3[16], dk_m[16];
	struct iomt_s2_ttp_out out;
	struct ident *d, *m;
	int dm, mm;
	unsigned bad = 0;

	iomt_s2_m2_dids(m2, IOMT_S2_M2_LEN, did_i, did_m);
	if (!(d = ttp_find(t->dev, t->ndev, did_i, &dm)))
		return IOMT_S2_ERR_UNKNOWN_DEVICE;
	if (!(m = ttp_find(t->mec, t->nmec, did_m, &mm)))
		return IOMT_S2_ERR_UNKNOWN_MEC;
	memcpy(dk_m, mm == 1 ? m->dk : m->pdk, 16);
	random_bytes(r3, sizeof(r3));
	if (iomt_s2_ttp_process(dm == 1 ? d->dk : d->pdk, dk_m, m2, IOMT_S2_M2_LEN, r3, &out,
				&bad))
		return bad & IOMT_S2_BAD_DEVICE ? IOMT_S2_ERR_BAD_DEVICE : IOMT_S2_ERR_BAD_MEC;
	memcpy(m3, out.m3, IOMT_S2_M3_LEN);
	if (mode == TTP_BAD_D3)
		m3[40] ^= 0x01;
	iomt_s2_ida_seal(dk_m, m2 + 80, did_i, m3, t->id_a[d - t->dev], box);
	if (mode == TTP_BAD_BOX)
		box[3] ^= 0x01;
	ttp_rotate(d, dm, out.next_did_i, out.next_dk_i);
	ttp_rotate(m, mm, out.next_did_m, out.next_dk_m);
	return 0;
}

static void ttp_on_m2(struct fake_ttp *t, const uint8_t *payload)
{
	uint8_t f[IOMT_WIRE_HDR_LEN + IOMT_WIRE_S2_M3_LEN];
	enum ttp_mode mode = ttp_take_mode(t);
	uint8_t code;

	t->m2_seen++;
	if (mode == TTP_SILENT)
		return;
	if (mode == TTP_GARBAGE) {
		ttp_send(t, "\x09\x03\x00\x5cgarbage", 11);
		return;
	}
	code = mode == TTP_LINK_ERR ? t->err_code
		: ttp_compute(t, payload + 4, mode, f + 8, f + 8 + IOMT_S2_M3_LEN);
	if (code) {
		ttp_link_err(t, payload, code);
		return;
	}
	iomt_wire_put_hdr(f, IOMT_MSG_S2_M3, IOMT_WIRE_S2_M3_LEN);
	memcpy(f + 4, payload, 4);
	t->m3_sent++;
	if (mode == TTP_DELAY && t->nheld < NSLOT_MAX) {
		t->held[t->nheld].due = now_ms() + t->delay_ms;
		memcpy(t->held[t->nheld++].frame, f, sizeof(f));
		return;
	}
	ttp_send(t, f, sizeof(f));
}

static void ttp_send_due(struct fake_ttp *t)
{
	uint64_t now = now_ms();
	size_t k = 0;

	for (size_t i = 0; i < t->nheld; i++) {
		if (t->held[i].due <= now)
			ttp_send(t, t->held[i].frame, sizeof(t->held[i].frame));
		else
			t->held[k++] = t->held[i];
	}
	t->nheld = k;
}

static void ttp_input(struct fake_ttp *t)
{
	ssize_t n = read(t->cfd, t->rx + t->rx_len, sizeof(t->rx) - t->rx_len);
	const uint8_t *p;
	size_t plen, flen, off = 0;
	uint8_t type;

	if (n <= 0) {
		close(t->cfd);
		t->cfd = -1;
		t->rx_len = 0;
		return;
	}
	t->rx_len += (size_t)n;
	pthread_mutex_lock(&t->mu);
	while (iomt_wire_next(t->rx + off, t->rx_len - off, &type, &p, &plen, &flen) == 0) {
		if (type == IOMT_MSG_S2_M2)
			ttp_on_m2(t, p);
		off += flen;
	}
	pthread_mutex_unlock(&t->mu);
	memmove(t->rx, t->rx + off, t->rx_len - off);
	t->rx_len -= off;
}

/* Listener up or down, connection dropped: as the test asked. */
static void ttp_commands(struct fake_ttp *t)
{
	int want = atomic_load(&t->want_listen);

	if (want && t->lfd < 0)
		ttp_listen(t);
	if ((!want && t->lfd >= 0) || atomic_exchange(&t->drop_conn, 0)) {
		if (!want) {
			close(t->lfd);
			t->lfd = -1;
		}
		if (t->cfd >= 0)
			close(t->cfd);
		t->cfd = -1;
		t->rx_len = 0;
	}
}

static void *ttp_main(void *arg)
{
	struct fake_ttp *t = arg;

	while (atomic_load(&t->run)) {
		struct pollfd p[2] = { { .fd = t->lfd, .events = POLLIN },
				       { .fd = t->cfd, .events = POLLIN } };

		ttp_commands(t);
		p[0].fd = t->lfd;
		p[1].fd = t->cfd;
		poll(p, 2, 5);
		if (t->lfd >= 0 && (p[0].revents & POLLIN)) {
			int fd = accept4(t->lfd, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0 && t->cfd >= 0)
				close(t->cfd);
			if (fd >= 0) {
				t->cfd = fd;
				t->rx_len = 0;
				pthread_mutex_lock(&t->mu);
				t->conns++;
				pthread_mutex_unlock(&t->mu);
			}
		}
		if (t->cfd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
			ttp_input(t);
		pthread_mutex_lock(&t->mu);
		ttp_send_due(t);
		pthread_mutex_unlock(&t->mu);
	}
	return NULL;
}

static int ttp_start(struct fake_ttp *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->mu, NULL);
	t->lfd = t->cfd = -1;
	if (ttp_listen(t))
		return -1;
	atomic_store(&t->want_listen, 1);
	atomic_store(&t->run, 1);
	return pthread_create(&t->th, NULL, ttp_main, t) ? -1 : 0;
}

static void ttp_stop(struct fake_ttp *t)
{
	if (!atomic_exchange(&t->run, 0))
		return;
	pthread_join(t->th, NULL);
	if (t->lfd >= 0)
		close(t->lfd);
	if (t->cfd >= 0)
		close(t->cfd);
}

static void ttp_set_mode(struct fake_ttp *t, enum ttp_mode mode, int count, uint8_t code,
			 unsigned delay_ms)
{
	pthread_mutex_lock(&t->mu);
	t->mode = mode;
	t->mode_left = count;
	t->err_code = code;
	t->delay_ms = delay_ms;
	pthread_mutex_unlock(&t->mu);
}

static struct ident ttp_mec(struct fake_ttp *t, size_t slot)
{
	struct ident e;

	pthread_mutex_lock(&t->mu);
	e = t->mec[slot];
	pthread_mutex_unlock(&t->mu);
	return e;
}

static int ttp_m2_seen(struct fake_ttp *t)
{
	int n;

	pthread_mutex_lock(&t->mu);
	n = t->m2_seen;
	pthread_mutex_unlock(&t->mu);
	return n;
}

/* ================= fake devices ================= */

struct fdev {
	struct iomt_s2_device st;
	int fd;
	size_t idx;			/* in the fake TTP's table */
	uint8_t r1[16];			/* of the last M1 */
	uint8_t sk[16];			/* of the last agreement */
	uint8_t err_r1[16];		/* R1 carried by the last DEV_ERR */
};

/* A device registered with the fake TTP, on a UDP socket of family af. */
static int dev_new(struct fake_ttp *t, struct fdev *d, int af)
{
	uint8_t did[16], dk[16];

	random_bytes(did, 16);
	random_bytes(dk, 16);
	iomt_s2_device_init(&d->st, did, dk);
	pthread_mutex_lock(&t->mu);
	d->idx = t->ndev++;
	memset(&t->dev[d->idx], 0, sizeof(t->dev[0]));
	memcpy(t->dev[d->idx].did, did, 16);
	memcpy(t->dev[d->idx].dk, dk, 16);
	random_bytes(t->id_a[d->idx], IOMT_S2_IDA_LEN);
	pthread_mutex_unlock(&t->mu);
	d->fd = socket(af, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return d->fd < 0 ? -1 : 0;
}

static void dev_close(struct fdev *d)
{
	if (d->fd > 0)
		close(d->fd);
	d->fd = -1;
}

static int dev_send_raw(struct fdev *d, const struct sockaddr_storage *to, socklen_t tolen,
			const void *buf, size_t len)
{
	return sendto(d->fd, buf, len, 0, (const struct sockaddr *)to, tolen) == (ssize_t)len
		       ? 0 : -1;
}

static int dev_send_m1(struct fdev *d, const struct sockaddr_storage *to, socklen_t tolen)
{
	uint8_t f[IOMT_WIRE_HDR_LEN + IOMT_S2_M1_LEN];

	random_bytes(d->r1, 16);
	if (iomt_s2_device_start(&d->st, d->r1, f + IOMT_WIRE_HDR_LEN))
		return -1;
	iomt_wire_put_hdr(f, IOMT_MSG_S2_M1, IOMT_S2_M1_LEN);
	return dev_send_raw(d, to, tolen, f, sizeof(f));
}

enum {
	DEV_OK = 0,		/* M4 verified: d->sk set */
	DEV_TIMEOUT = -1,
	DEV_BAD = -2,		/* a reply that is not M4/DEV_ERR or does not verify */
};

/* The reply to the last M1: DEV_OK, a DEV_ERR code (> 0), or DEV_*. */
static int dev_wait(struct fdev *d, unsigned timeout_ms)
{
	struct pollfd p = { .fd = d->fd, .events = POLLIN };
	uint8_t buf[128], type;
	const uint8_t *pl;
	size_t plen;
	ssize_t n;

	if (poll(&p, 1, (int)timeout_ms) <= 0)
		return DEV_TIMEOUT;
	n = recv(d->fd, buf, sizeof(buf), 0);
	if (n < 0 || iomt_wire_parse(buf, (size_t)n, &type, &pl, &plen))
		return DEV_BAD;
	if (type == IOMT_MSG_S2_DEV_ERR) {
		memcpy(d->err_r1, pl + 1, 16);
		return pl[0];
	}
	if (type != IOMT_MSG_S2_M4)
		return DEV_BAD;
	return iomt_s2_device_finish(&d->st, pl, plen, d->sk) ? DEV_BAD : DEV_OK;
}

static void dev_fingerprint(const struct fdev *d, char out[17])
{
	uint8_t fp[8];
	static const char s[] = "iomt/s2/sk-fingerprint";

	iomt_kmac128(d->sk, 16, s, sizeof(s) - 1, "", 0, fp, sizeof(fp));
	hex(fp, sizeof(fp), out);
}

/* ================= the daemon under test ================= */

FIXTURE(gwd) {
	char dir[64], bin[PATH_MAX];
	char conf[128], state[128], pool[128], ports[128], log[128], out[128];
	struct fake_ttp ttp;
	int ttp_running;
	pid_t pid;
	size_t nslot;
	uint8_t slot_pair[NSLOT_MAX][32];	/* as provisioned */
	struct sockaddr_storage udp;
	socklen_t udp_len;
	uint16_t metrics_port;
	struct fdev dev[NDEV_MAX];
	size_t ndev;
};

#define PATH_IN(member, name) \
	snprintf(self->member, sizeof(self->member), "%s/" name, self->dir)

FIXTURE_SETUP(gwd)
{
	ASSERT_EQ(rt_test_mkdtemp(self->dir, sizeof(self->dir), "gwd"), 0);
	PATH_IN(conf, "gwd.conf");
	PATH_IN(state, "gwd.state");
	PATH_IN(pool, "pool.txt");
	PATH_IN(ports, "ports");
	PATH_IN(log, "gwd.log");
	PATH_IN(out, "gwd.out");
	gwd_binary(self->bin, sizeof(self->bin));
	ASSERT_EQ(access(self->bin, X_OK), 0);
	ASSERT_EQ(ttp_start(&self->ttp), 0);
	self->ttp_running = 1;
}

FIXTURE_TEARDOWN(gwd)
{
	if (self->pid > 0) {
		kill(self->pid, SIGKILL);
		waitpid(self->pid, NULL, 0);
	}
	if (self->ttp_running)
		ttp_stop(&self->ttp);
	for (size_t i = 0; i < self->ndev; i++)
		dev_close(&self->dev[i]);
	rt_test_rmtree(self->dir);
}

/* Runs argv to completion: its exit status (128 + signal if killed). */
static int run_cmd(char *const argv[], const char *out_path)
{
	pid_t pid = fork();
	int st, fd;

	if (pid == 0) {
		fd = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* n random slots: pool file, 'iomt-gwd provision', and the fake TTP's table. */
static int provision(FIXTURE_DATA(gwd) *self, size_t n)
{
	static char cmd[] = "provision", pool_opt[] = "--pool", state_opt[] = "--state";
	char line[128], d[33], k[33];
	char *argv[] = { self->bin, cmd, pool_opt, self->pool, state_opt, self->state, NULL };
	FILE *f = fopen(self->pool, "w");

	if (!f || n > NSLOT_MAX)
		return -1;
	random_bytes(self->slot_pair, n * 32);
	pthread_mutex_lock(&self->ttp.mu);
	for (size_t i = 0; i < n; i++) {
		hex(self->slot_pair[i], 16, d);
		hex(self->slot_pair[i] + 16, 16, k);
		snprintf(line, sizeof(line), "slot=%zu did=%s dk=%s\n", i, d, k);
		fputs(line, f);
		memset(&self->ttp.mec[i], 0, sizeof(self->ttp.mec[i]));
		memcpy(self->ttp.mec[i].did, self->slot_pair[i], 16);
		memcpy(self->ttp.mec[i].dk, self->slot_pair[i] + 16, 16);
	}
	self->ttp.nmec = n;
	pthread_mutex_unlock(&self->ttp.mu);
	fclose(f);
	self->nslot = n;
	return run_cmd(argv, self->out);
}

static int write_conf(FIXTURE_DATA(gwd) *self)
{
	char text[2048];
	int n = snprintf(text, sizeof(text),
			 "listen 127.0.0.1:0\n"
			 "ttp 127.0.0.1:%u\n"
			 "state %s\n"
			 "metrics_listen 127.0.0.1:0\n"
			 "port_file %s\n"
			 "log_level debug\n"
			 "log_file %s\n"
			 "agreement_timeout 3s\n"
			 "ttp_reconnect_max 100ms\n",
			 self->ttp.port, self->state, self->ports, self->log);

	return rt_test_write(self->conf, text, (size_t)n);
}

/* "listen ADDR\nmetrics_listen ADDR\n" from the port file. */
static int read_ports(FIXTURE_DATA(gwd) *self)
{
	char text[256], a[128], m[128];
	struct rt_endpoint ep;

	if (rt_test_read(self->ports, text, sizeof(text)) <= 0 ||
	    sscanf(text, "listen %127s metrics_listen %127s", a, m) != 2 ||
	    rt_endpoint_parse(a, &ep))
		return -1;
	self->udp = ep.addr;
	self->udp_len = ep.len;
	if (rt_endpoint_parse(m, &ep))
		return -1;
	self->metrics_port = rt_endpoint_port(&ep);
	return 0;
}

/* Starts iomt-gwd (hook: IOMT_GWD_TEST_HOOK or NULL; then extra flags,
 * NULL-terminated) and waits for its port file: 0, or -1. */
static int daemon_start(FIXTURE_DATA(gwd) *self, const char *hook, ...)
{
	static char c_opt[] = "-c";
	char *argv[24] = { self->bin, c_opt, self->conf };
	int argc = 3, st;
	va_list ap;

	va_start(ap, hook);
	while (argc < 23 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	if (write_conf(self))
		return -1;
	unlink(self->ports);
	self->pid = fork();
	if (self->pid == 0) {
		int fd = open(self->out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		if (hook)
			setenv("IOMT_GWD_TEST_HOOK", hook, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	for (uint64_t end = now_ms() + WAIT_MS; now_ms() < end; sleep_ms(5)) {
		if (read_ports(self) == 0)
			return 0;
		if (waitpid(self->pid, &st, WNOHANG) == self->pid) {
			self->pid = 0;
			return -1;
		}
	}
	return -1;
}

/* Waits for the daemon to exit (sending sig first if nonzero): its exit
 * status, 128 + signal, or -1 if it is still running after timeout_ms. */
static int daemon_wait(FIXTURE_DATA(gwd) *self, int sig, unsigned timeout_ms)
{
	int st;

	if (self->pid <= 0)
		return -1;
	if (sig)
		kill(self->pid, sig);
	for (uint64_t end = now_ms() + timeout_ms; now_ms() < end; sleep_ms(5)) {
		if (waitpid(self->pid, &st, WNOHANG) == self->pid) {
			self->pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
	}
	return -1;
}

/* One HTTP/1.0 GET on loopback: the status code (body in buf), or -1. */
static int http_get(uint16_t port, const char *path, char *buf, size_t len)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	char req[128];
	size_t got = 0;
	ssize_t n;
	int code = -1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (got + 1 < len && (n = recv(fd, buf + got, len - 1 - got, 0)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	if (sscanf(buf, "HTTP/1.%*d %d", &code) != 1)
		return -1;
	return code;
}

/* The value of one series ('name' or 'name{labels}'), or -1 if absent. */
static long long metric(FIXTURE_DATA(gwd) *self, const char *series)
{
	static char body[65536];
	size_t n = strlen(series);
	const char *p = body;

	if (http_get(self->metrics_port, "/metrics", body, sizeof(body)) != 200)
		return -1;
	while ((p = strstr(p, series))) {
		if ((p == body || p[-1] == '\n') && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
		p += n;
	}
	return -1;
}

/* Polls until the series has the value: the last value seen. */
static long long wait_metric(FIXTURE_DATA(gwd) *self, const char *series, long long want)
{
	long long v = -1;

	for (uint64_t end = now_ms() + WAIT_MS; now_ms() < end; sleep_ms(10)) {
		v = metric(self, series);
		if (v == want)
			break;
	}
	return v;
}

static int daemon_up(FIXTURE_DATA(gwd) *self, const char *hook)
{
	if (daemon_start(self, hook, NULL))
		return -1;
	return wait_metric(self, "iomt_gwd_ttp_link_up", 1) == 1 ? 0 : -1;
}

static struct fdev *new_dev(FIXTURE_DATA(gwd) *self)
{
	struct fdev *d = &self->dev[self->ndev++];

	return dev_new(&self->ttp, d, self->udp.ss_family) ? NULL : d;
}

/* M1 to the daemon, then the reply: DEV_OK, a DEV_ERR code, DEV_TIMEOUT. */
static int agree(FIXTURE_DATA(gwd) *self, struct fdev *d, unsigned timeout_ms)
{
	if (dev_send_m1(d, &self->udp, self->udp_len))
		return DEV_BAD;
	return dev_wait(d, timeout_ms);
}

/* The whole log (malloc'ed, NUL-terminated). */
static char *read_log(FIXTURE_DATA(gwd) *self)
{
	size_t cap = 1 << 20;
	char *buf = malloc(cap);

	if (buf && rt_test_read(self->log, buf, cap) < 0)
		buf[0] = '\0';
	return buf;
}

static int log_has(FIXTURE_DATA(gwd) *self, const char *needle)
{
	char *log = read_log(self);
	int r = log && strstr(log, needle);

	free(log);
	return r;
}

/* The pair in the state file for slot (the daemon must not be running). */
static int state_pair(FIXTURE_DATA(gwd) *self, size_t slot, uint8_t pair[32])
{
	struct rt_recfile *f;
	size_t len, nrec;
	int r = rt_recfile_stat(self->state, &len, &nrec);

	if (!r)
		r = rt_recfile_open(self->state, len, nrec, &f);
	if (!r) {
		r = rt_recfile_read(f, 1 + slot, pair);
		rt_recfile_close(f);
	}
	return r;
}

static int ident_is(const struct ident *e, const uint8_t pair[32], int previous)
{
	const uint8_t *did = previous ? e->pdid : e->did, *dk = previous ? e->pdk : e->dk;

	return !memcmp(did, pair, 16) && !memcmp(dk, pair + 16, 16);
}

/* ================= tests ================= */

TEST_F(gwd, full_agreement_fingerprints_match_and_no_key_is_logged)
{
	char fp[17], needle[64], sk_hex[33], dk_hex[33];
	struct fdev *d;
	struct ident m;
	char *log;

	ASSERT_EQ(provision(self, 2), 0);
	ASSERT_EQ(daemon_up(self, NULL), 0);
	ASSERT_NONNULL(d = new_dev(self));
	ASSERT_EQ(agree(self, d, WAIT_MS), DEV_OK);
	dev_fingerprint(d, fp);
	snprintf(needle, sizeof(needle), "sk_fp=%s", fp);
	ASSERT_TRUE(log_has(self, needle));
	/* The fake TTP rotated the device and the slot the daemon used (slot 0). */
	m = ttp_mec(&self->ttp, 0);
	EXPECT_EQ(m.last_match, 1);
	EXPECT_TRUE(ident_is(&m, self->slot_pair[0], 1));
	EXPECT_EQ(metric(self, "iomt_gwd_m1_received_total"), 1);
	EXPECT_EQ(metric(self, "iomt_gwd_m2_sent_total"), 1);
	EXPECT_EQ(metric(self, "iomt_gwd_m3_ok_total"), 1);
	EXPECT_EQ(metric(self, "iomt_gwd_m4_sent_total"), 1);
	EXPECT_EQ(metric(self, "iomt_gwd_sessions"), 1);
	EXPECT_EQ(metric(self, "iomt_gwd_slots{state=\"free\"}"), 2);
	/* Neither the session key nor a slot key (old or new) appears in the log. */
	hex(d->sk, 16, sk_hex);
	log = read_log(self);
	ASSERT_NONNULL(log);
	EXPECT_NULL(strstr(log, sk_hex));
	hex(self->slot_pair[0] + 16, 16, dk_hex);
	EXPECT_NULL(strstr(log, dk_hex));
	hex(m.dk, 16, dk_hex);
	EXPECT_NULL(strstr(log, dk_hex));
	free(log);
}

TEST_F(gwd, many_devices_in_one_batch)
{
	enum { N = 40 };
	struct fdev *d[N];

	ASSERT_EQ(provision(self, 48), 0);
	ASSERT_EQ(daemon_up(self, NULL), 0);
	for (int i = 0; i < N; i++) {
		ASSERT_NONNULL(d[i] = new_dev(self));
		ASSERT_EQ(dev_send_m1(d[i], &self->udp, self->udp_len), 0);
	}
	for (int i = 0; i < N; i++)
		ASSERT_EQ(dev_wait(d[i], WAIT_MS), DEV_OK);
	EXPECT_EQ(metric(self, "iomt_gwd_m3_ok_total"), N);
	EXPECT_EQ(metric(self, "iomt_gwd_sessions"), N);
	EXPECT_EQ(metric(self, "iomt_gwd_slots{state=\"free\"}"), 48);
}

TEST_F(gwd, garbage_datagrams_are_dropped_by_reason_and_counted)
{
	static const uint8_t m1_hdr[4] = { 1, IOMT_MSG_S2_M1, 0, 64 };
	uint8_t buf[2000] = { 0 };
	struct fdev *d;

	ASSERT_EQ(provision(self, 1), 0);
	ASSERT_EQ(daemon_up(self, NULL), 0);
	ASSERT_NONNULL(d = new_dev(self));
	/* size: empty, 3 bytes, header alone, one byte short, one byte long */
	ASSERT_EQ(dev_send_raw(d, &self->udp, self->udp_len, buf, 0), 0);
	ASSERT_EQ(dev_send_raw(d, &self->udp, self->udp_len, m1_hdr, 3), 0);
	ASSERT_EQ(dev_send_raw(d, &self->udp, self->udp_len, m1_hdr, 4), 0);
	memcpy(buf, m1_hdr, 4);
	ASSERT_EQ(dev_send_raw(d, &self->udp, self->udp_len, buf, 4 + 63), 0);
	ASSERT_EQ(dev_send_raw(d, &self->udp, self->udp_len, buf, 4 + 65), 0);
	buf[3] = 63;	/* length field agrees, but M1 is 64 bytes */
	ASSERT_EQ(dev_send_raw(d, &self->udp, self->udp_len, buf, 4 + 63), 0);
	/* malformed: version 2, unknown type */
	buf[0] = 2, buf[3] = 64;
	ASSERT_EQ(dev_send_raw(d, &self->udp, self->udp_len, buf, 4 + 64), 0);
	buf[0] = 1, buf[1] = 0x7f;
	ASSERT_EQ(dev_send_raw(d, &self->udp, self->udp_len, buf, 4 + 64), 0);
	/* type: a well-formed M4 is not for the MEC to receive */
	buf[1] = IOMT_MSG_S2_M4, buf[3] = 48;
	ASSERT_EQ(dev_send_raw(d, &self->udp, self->udp_len, buf, 4 + 48), 0);
	/* oversized */
	ASSERT_EQ(dev_send_raw(d, &self->udp, self->udp_len, buf, sizeof(buf)), 0);
	EXPECT_EQ(wait_metric(self, "iomt_gwd_dropped_total{reason=\"size\"}", 6), 6);
	EXPECT_EQ(metric(self, "iomt_gwd_dropped_total{reason=\"malformed\"}"), 2);
	EXPECT_EQ(metric(self, "iomt_gwd_dropped_total{reason=\"type\"}"), 1);
	EXPECT_EQ(metric(self, "iomt_gwd_dropped_total{reason=\"oversized\"}"), 1);
	EXPECT_EQ(metric(self, "iomt_gwd_m1_received_total"), 0);
	EXPECT_EQ(dev_wait(d, 100), DEV_TIMEOUT);	/* no answer to garbage */
	EXPECT_TRUE(log_has(self, "dropped 2000-byte datagram from 127.0.0.1:"));
	EXPECT_TRUE(log_has(self, ": oversized"));
	/* The daemon is unaffected. */
	ASSERT_EQ(agree(self, d, WAIT_MS), DEV_OK);
}

/* While the daemon is stopped, a flood overflows its (small) receive buffer:
 * the kernel's drops are counted and logged once it reads again, never
 * silent, and the daemon serves on. */
TEST_F(gwd, kernel_drops_on_a_full_socket_are_counted)
{
	static char rcvbuf_opt[] = "--udp-rcvbuf", small[] = "64k";
	uint8_t buf[4 + 64] = { 1, IOMT_MSG_S2_M4, 0, 64 };  /* M4 of 64 bytes: "size" */
	struct fdev *d;

	ASSERT_EQ(provision(self, 1), 0);
	ASSERT_EQ(daemon_start(self, NULL, rcvbuf_opt, small, NULL), 0);
	ASSERT_NONNULL(d = new_dev(self));
	ASSERT_EQ(kill(self->pid, SIGSTOP), 0);
	for (int i = 0; i < 4000; i++)
		ASSERT_EQ(dev_send_raw(d, &self->udp, self->udp_len, buf, sizeof(buf)), 0);
	ASSERT_EQ(kill(self->pid, SIGCONT), 0);
	/* Let it drain what was queued (its "size" drops stop growing)... */
	for (long long was = -1, v, tries = 0; tries < 100; was = v, tries++) {
		v = metric(self, "iomt_gwd_dropped_total{reason=\"size\"}");
		if (v > 0 && v == was)
			break;
		sleep_ms(50);
	}
	/* ...then the kernel stamps its running drop count on the next datagram
	 * queued: the agreement's M1 brings it. */
	ASSERT_EQ(agree(self, d, WAIT_MS), DEV_OK);
	EXPECT_GT(metric(self, "iomt_gwd_udp_kernel_drops_total"), 0);
	EXPECT_TRUE(log_has(self, "the kernel dropped"));
}

TEST_F(gwd, wrong_d3_is_refused_slot_unchanged_next_agreement_works)
{
	struct fdev *d;
	struct ident m;

	ASSERT_EQ(provision(self, 1), 0);
	ASSERT_EQ(daemon_up(self, NULL), 0);
	ASSERT_NONNULL(d = new_dev(self));
	ttp_set_mode(&self->ttp, TTP_BAD_D3, 1, 0, 0);
	EXPECT_EQ(agree(self, d, QUIET_MS), DEV_TIMEOUT);
	EXPECT_EQ(wait_metric(self, "iomt_gwd_agreements_failed_total{reason=\"d3\"}", 1), 1);
	EXPECT_EQ(metric(self, "iomt_gwd_slots{state=\"free\"}"), 1);
	EXPECT_EQ(metric(self, "iomt_gwd_m4_sent_total"), 0);
	EXPECT_TRUE(log_has(self, "slot 0: M3 refused (d3 does not verify)"));
	/* The TTP rotated; the MEC kept the old pair, now the TTP's previous. */
	m = ttp_mec(&self->ttp, 0);
	ASSERT_TRUE(ident_is(&m, self->slot_pair[0], 1));
	ASSERT_EQ(agree(self, d, WAIT_MS), DEV_OK);
	m = ttp_mec(&self->ttp, 0);
	EXPECT_EQ(m.last_match, 2);
	EXPECT_EQ(metric(self, "iomt_gwd_m3_ok_total"), 1);
}

TEST_F(gwd, wrong_ida_box_is_refused_slot_unchanged)
{
	struct fdev *d;

	ASSERT_EQ(provision(self, 1), 0);
	ASSERT_EQ(daemon_up(self, NULL), 0);
	ASSERT_NONNULL(d = new_dev(self));
	ttp_set_mode(&self->ttp, TTP_BAD_BOX, 1, 0, 0);
	EXPECT_EQ(agree(self, d, QUIET_MS), DEV_TIMEOUT);
	EXPECT_EQ(wait_metric(self, "iomt_gwd_agreements_failed_total{reason=\"ida_box\"}", 1), 1);
	EXPECT_TRUE(log_has(self, "slot 0: M3 refused: the ID_a box does not verify"));
	ASSERT_EQ(agree(self, d, WAIT_MS), DEV_OK);
	EXPECT_EQ(ttp_mec(&self->ttp, 0).last_match, 2);
}

TEST_F(gwd, link_err_codes_1_to_4_are_relayed_busy_internal_as_busy)
{
	static const struct {
		uint8_t code;
		int reply;
		const char *series;
	} cases[] = {
		{ 1, 1, "iomt_gwd_ttp_errors_total{code=\"unknown_device\"}" },
		{ 2, 2, "iomt_gwd_ttp_errors_total{code=\"unknown_mec\"}" },
		{ 3, 3, "iomt_gwd_ttp_errors_total{code=\"bad_device\"}" },
		{ 4, 4, "iomt_gwd_ttp_errors_total{code=\"bad_mec\"}" },
		{ 6, IOMT_S2_ERR_BUSY, "iomt_gwd_ttp_errors_total{code=\"busy\"}" },
		{ 7, IOMT_S2_ERR_BUSY, "iomt_gwd_ttp_errors_total{code=\"internal\"}" },
		{ 5, DEV_TIMEOUT, "iomt_gwd_ttp_errors_total{code=\"malformed\"}" },
		{ 8, DEV_TIMEOUT, "iomt_gwd_ttp_errors_total{code=\"denied\"}" },
		{ 99, DEV_TIMEOUT, "iomt_gwd_ttp_errors_total{code=\"other\"}" },
	};
	struct fdev *d;

	ASSERT_EQ(provision(self, 1), 0);
	ASSERT_EQ(daemon_up(self, NULL), 0);
	ASSERT_NONNULL(d = new_dev(self));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TH_LOG("LINK_ERR code %u", cases[i].code);
		ttp_set_mode(&self->ttp, TTP_LINK_ERR, 1, cases[i].code, 0);
		ASSERT_EQ(agree(self, d, cases[i].reply == DEV_TIMEOUT ? QUIET_MS : WAIT_MS),
			  cases[i].reply);
		if (cases[i].reply > 0)
			ASSERT_MEMEQ(d->err_r1, d->r1, 16);	/* bound to this run */
		ASSERT_EQ(wait_metric(self, cases[i].series, 1), 1);
		ASSERT_EQ(wait_metric(self, "iomt_gwd_slots{state=\"free\"}", 1), 1);
	}
	EXPECT_EQ(metric(self, "iomt_gwd_agreements_failed_total{reason=\"ttp_error\"}"), 9);
	EXPECT_TRUE(log_has(self, "the TTP refused this slot's MEC identity (unknown_mec)"));
	/* Nothing changed anywhere: the next run uses the provisioned pair. */
	ASSERT_EQ(agree(self, d, WAIT_MS), DEV_OK);
	EXPECT_EQ(ttp_mec(&self->ttp, 0).last_match, 1);
}

TEST_F(gwd, ttp_down_means_busy_then_agreements_resume)
{
	struct fdev *d;

	ASSERT_EQ(provision(self, 2), 0);
	atomic_store(&self->ttp.want_listen, 0);	/* the TTP is down, its port known */
	sleep_ms(50);
	ASSERT_EQ(daemon_start(self, NULL, NULL), 0);
	ASSERT_NONNULL(d = new_dev(self));
	ASSERT_EQ(agree(self, d, WAIT_MS), IOMT_S2_ERR_BUSY);
	ASSERT_MEMEQ(d->err_r1, d->r1, 16);
	EXPECT_EQ(metric(self, "iomt_gwd_ttp_link_up"), 0);
	EXPECT_EQ(metric(self, "iomt_gwd_busy_total"), 1);
	EXPECT_EQ(metric(self, "iomt_gwd_m2_sent_total"), 0);
	atomic_store(&self->ttp.want_listen, 1);
	ASSERT_EQ(wait_metric(self, "iomt_gwd_ttp_link_up", 1), 1);
	ASSERT_EQ(agree(self, d, WAIT_MS), DEV_OK);
	EXPECT_TRUE(log_has(self, "TTP link up"));
}

TEST_F(gwd, link_lost_in_flight_frees_the_slot_and_says_busy)
{
	struct fdev *d;

	ASSERT_EQ(provision(self, 1), 0);
	ASSERT_EQ(daemon_up(self, NULL), 0);
	ASSERT_NONNULL(d = new_dev(self));
	ttp_set_mode(&self->ttp, TTP_SILENT, 1, 0, 0);
	ASSERT_EQ(dev_send_m1(d, &self->udp, self->udp_len), 0);
	for (uint64_t end = now_ms() + WAIT_MS; ttp_m2_seen(&self->ttp) < 1 && now_ms() < end;)
		sleep_ms(5);
	atomic_store(&self->ttp.drop_conn, 1);
	ASSERT_EQ(dev_wait(d, WAIT_MS), IOMT_S2_ERR_BUSY);
	EXPECT_EQ(metric(self, "iomt_gwd_agreements_failed_total{reason=\"link_down\"}"), 1);
	EXPECT_EQ(metric(self, "iomt_gwd_slots{state=\"free\"}"), 1);
	ASSERT_EQ(wait_metric(self, "iomt_gwd_ttp_link_up", 1), 1);
	ASSERT_EQ(agree(self, d, WAIT_MS), DEV_OK);
	EXPECT_GE(metric(self, "iomt_gwd_ttp_connects_total"), 2);
}

TEST_F(gwd, corrupt_ttp_stream_closes_the_link_and_it_reconnects)
{
	struct fdev *d;

	ASSERT_EQ(provision(self, 1), 0);
	ASSERT_EQ(daemon_up(self, NULL), 0);
	ASSERT_NONNULL(d = new_dev(self));
	ttp_set_mode(&self->ttp, TTP_GARBAGE, 1, 0, 0);
	ASSERT_EQ(agree(self, d, WAIT_MS), IOMT_S2_ERR_BUSY);
	EXPECT_EQ(metric(self, "iomt_gwd_ttp_stream_errors_total"), 1);
	EXPECT_TRUE(log_has(self, "corrupt stream"));
	ASSERT_EQ(wait_metric(self, "iomt_gwd_ttp_link_up", 1), 1);
	ASSERT_EQ(agree(self, d, WAIT_MS), DEV_OK);
}

TEST_F(gwd, agreement_timeout_frees_the_slot_and_a_late_m3_is_dropped)
{
	struct fdev *d;

	ASSERT_EQ(provision(self, 1), 0);
	ASSERT_EQ(daemon_start(self, NULL, "--agreement-timeout=300ms", NULL), 0);
	ASSERT_EQ(wait_metric(self, "iomt_gwd_ttp_link_up", 1), 1);
	ASSERT_NONNULL(d = new_dev(self));
	/* Silent TTP: the slot waits, then is freed with its pair. */
	ttp_set_mode(&self->ttp, TTP_SILENT, 1, 0, 0);
	EXPECT_EQ(agree(self, d, 100), DEV_TIMEOUT);
	EXPECT_EQ(metric(self, "iomt_gwd_slots{state=\"await_m3\"}"), 1);
	EXPECT_EQ(wait_metric(self, "iomt_gwd_agreements_failed_total{reason=\"timeout\"}", 1), 1);
	EXPECT_EQ(metric(self, "iomt_gwd_slots{state=\"free\"}"), 1);
	EXPECT_TRUE(log_has(self, "slot 0: no M3 within 300 ms: freed, pair kept"));
	/* The M3 comes after the timeout: dropped, the slot keeps its pair. */
	ttp_set_mode(&self->ttp, TTP_DELAY, 1, 0, 600);
	EXPECT_EQ(agree(self, d, 400), DEV_TIMEOUT);
	EXPECT_EQ(wait_metric(self, "iomt_gwd_dropped_total{reason=\"unknown_request\"}", 1), 1);
	EXPECT_EQ(dev_wait(d, 100), DEV_TIMEOUT);
	/* The TTP rotated on the late run; the daemon's pair is its previous. */
	ASSERT_EQ(agree(self, d, WAIT_MS), DEV_OK);
	EXPECT_EQ(ttp_mec(&self->ttp, 0).last_match, 2);
}

TEST_F(gwd, all_slots_busy_means_busy)
{
	struct fdev *a, *b, *c;

	ASSERT_EQ(provision(self, 2), 0);
	ASSERT_EQ(daemon_up(self, NULL), 0);
	ttp_set_mode(&self->ttp, TTP_SILENT, -1, 0, 0);
	ASSERT_NONNULL(a = new_dev(self));
	ASSERT_NONNULL(b = new_dev(self));
	ASSERT_NONNULL(c = new_dev(self));
	EXPECT_EQ(agree(self, a, 100), DEV_TIMEOUT);
	EXPECT_EQ(agree(self, b, 100), DEV_TIMEOUT);
	ASSERT_EQ(agree(self, c, WAIT_MS), IOMT_S2_ERR_BUSY);
	ASSERT_MEMEQ(c->err_r1, c->r1, 16);
	EXPECT_EQ(metric(self, "iomt_gwd_busy_total"), 1);
	EXPECT_EQ(metric(self, "iomt_gwd_slots{state=\"await_m3\"}"), 2);
	EXPECT_EQ(metric(self, "iomt_gwd_slots{state=\"free\"}"), 0);
	EXPECT_TRUE(log_has(self, "BUSY (no free slot)"));
}

TEST_F(gwd, restart_keeps_the_rotated_slot_identities)
{
	uint8_t pair[32];
	struct ident m;
	struct fdev *d;

	ASSERT_EQ(provision(self, 1), 0);
	ASSERT_EQ(daemon_up(self, NULL), 0);
	ASSERT_NONNULL(d = new_dev(self));
	ASSERT_EQ(agree(self, d, WAIT_MS), DEV_OK);
	ASSERT_EQ(daemon_wait(self, SIGTERM, WAIT_MS), 0);
	m = ttp_mec(&self->ttp, 0);
	ASSERT_EQ(state_pair(self, 0, pair), 0);
	ASSERT_TRUE(ident_is(&m, pair, 0));	/* the TTP's current pair is on disk */
	ASSERT_EQ(daemon_up(self, NULL), 0);
	ASSERT_EQ(agree(self, d, WAIT_MS), DEV_OK);
	EXPECT_EQ(ttp_mec(&self->ttp, 0).last_match, 1);	/* current, not previous */
}

/* kill -9 at a hook after M3 arrived; on restart the slot holds want_new ?
 * the new pair : the old one, and the TTP (current/previous) still agrees. */
static void crash_after_m3(FIXTURE_DATA(gwd) *self, const char *hook, int want_new)
{
	uint8_t pair[32];
	struct ident m;
	struct fdev *d;

	ASSERT_EQ(provision(self, 1), 0);
	ASSERT_EQ(daemon_up(self, hook), 0);
	ASSERT_NONNULL(d = new_dev(self));
	EXPECT_EQ(agree(self, d, QUIET_MS), DEV_TIMEOUT);	/* no M4 left */
	ASSERT_EQ(daemon_wait(self, 0, WAIT_MS), 128 + SIGKILL);
	m = ttp_mec(&self->ttp, 0);
	ASSERT_EQ(m.last_match, 1);
	ASSERT_EQ(state_pair(self, 0, pair), 0);
	ASSERT_TRUE(ident_is(&m, pair, !want_new));
	ASSERT_EQ(daemon_up(self, NULL), 0);
	ASSERT_EQ(agree(self, d, WAIT_MS), DEV_OK);	/* the device retries */
	m = ttp_mec(&self->ttp, 0);
	EXPECT_EQ(m.last_match, want_new ? 1 : 2);
}

TEST_F(gwd, kill9_after_m3_before_the_state_write_keeps_the_old_pair)
{
	crash_after_m3(self, "kill_before_persist", 0);
}

TEST_F(gwd, kill9_after_the_state_write_before_m4_keeps_the_new_pair)
{
	crash_after_m3(self, "kill_after_persist", 1);
}

TEST_F(gwd, failed_state_write_refuses_the_batch_and_stops)
{
	uint8_t pair[32];
	struct fdev *d;

	ASSERT_EQ(provision(self, 1), 0);
	ASSERT_EQ(daemon_up(self, "fail_persist"), 0);
	ASSERT_NONNULL(d = new_dev(self));
	ASSERT_EQ(agree(self, d, WAIT_MS), IOMT_S2_ERR_BUSY);	/* retry later */
	ASSERT_EQ(daemon_wait(self, 0, WAIT_MS), 1);
	EXPECT_TRUE(log_has(self, "state file write failed (Input/output error)"));
	EXPECT_TRUE(log_has(self, "identity pool cannot be persisted: stopping"));
	ASSERT_EQ(state_pair(self, 0, pair), 0);
	ASSERT_MEMEQ(pair, self->slot_pair[0], 32);
	ASSERT_EQ(daemon_up(self, NULL), 0);
	ASSERT_EQ(agree(self, d, WAIT_MS), DEV_OK);
	EXPECT_EQ(ttp_mec(&self->ttp, 0).last_match, 2);
}

TEST_F(gwd, sigterm_completes_agreements_in_flight_and_refuses_new_ones)
{
	uint8_t pair[32];
	struct fdev *a, *b;

	ASSERT_EQ(provision(self, 2), 0);
	ASSERT_EQ(daemon_up(self, NULL), 0);
	ASSERT_NONNULL(a = new_dev(self));
	ASSERT_NONNULL(b = new_dev(self));
	ttp_set_mode(&self->ttp, TTP_DELAY, 1, 0, 500);
	ASSERT_EQ(dev_send_m1(a, &self->udp, self->udp_len), 0);
	for (uint64_t end = now_ms() + WAIT_MS; ttp_m2_seen(&self->ttp) < 1 && now_ms() < end;)
		sleep_ms(5);
	kill(self->pid, SIGTERM);
	sleep_ms(50);
	ASSERT_EQ(agree(self, b, WAIT_MS), IOMT_S2_ERR_BUSY);	/* stopping */
	ASSERT_EQ(dev_wait(a, WAIT_MS), DEV_OK);		/* in flight: completed */
	ASSERT_EQ(daemon_wait(self, 0, WAIT_MS), 0);
	EXPECT_TRUE(log_has(self, "stopping: new M1s get BUSY"));
	EXPECT_TRUE(log_has(self, "stopped"));
	ASSERT_EQ(state_pair(self, 0, pair), 0);
	EXPECT_TRUE(ident_is(&self->ttp.mec[0], pair, 0));
}

TEST_F(gwd, sigterm_waits_for_the_ttp_at_most_agreement_timeout)
{
	struct fdev *d;
	uint64_t t0;
	int st;

	ASSERT_EQ(provision(self, 1), 0);
	ASSERT_EQ(daemon_start(self, NULL, "--agreement-timeout", "700ms", NULL), 0);
	ASSERT_EQ(wait_metric(self, "iomt_gwd_ttp_link_up", 1), 1);
	ASSERT_NONNULL(d = new_dev(self));
	ttp_set_mode(&self->ttp, TTP_SILENT, -1, 0, 0);
	EXPECT_EQ(agree(self, d, 100), DEV_TIMEOUT);
	t0 = now_ms();
	st = daemon_wait(self, SIGTERM, WAIT_MS);
	EXPECT_EQ(st, 0);
	EXPECT_GE(now_ms() - t0, 500);
	EXPECT_LT(now_ms() - t0, 3000);
	/* Idle, it stops at once. */
	ASSERT_EQ(daemon_up(self, NULL), 0);
	t0 = now_ms();
	EXPECT_EQ(daemon_wait(self, SIGTERM, WAIT_MS), 0);
	EXPECT_LT(now_ms() - t0, 500);
}

TEST_F(gwd, sessions_expire_and_the_oldest_is_evicted)
{
	struct fdev *a, *b;

	ASSERT_EQ(provision(self, 1), 0);
	ASSERT_EQ(daemon_start(self, NULL, "--session-lifetime=300ms", "--sessions-max=1", NULL), 0);
	ASSERT_EQ(wait_metric(self, "iomt_gwd_ttp_link_up", 1), 1);
	ASSERT_NONNULL(a = new_dev(self));
	ASSERT_NONNULL(b = new_dev(self));
	ASSERT_EQ(agree(self, a, WAIT_MS), DEV_OK);
	ASSERT_EQ(agree(self, b, WAIT_MS), DEV_OK);
	EXPECT_EQ(metric(self, "iomt_gwd_sessions_ended_total{reason=\"evicted\"}"), 1);
	EXPECT_EQ(wait_metric(self, "iomt_gwd_sessions", 0), 0);
	EXPECT_EQ(metric(self, "iomt_gwd_sessions_ended_total{reason=\"expired\"}"), 1);
}

TEST_F(gwd, ipv6_devices)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct fdev *d;
	char fp[17], needle[64];

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		if (fd >= 0)
			close(fd);
		SKIP(return, "no IPv6 loopback");
	}
	close(fd);
	ASSERT_EQ(provision(self, 1), 0);
	ASSERT_EQ(daemon_start(self, NULL, "--listen", "[::1]:0", NULL), 0);
	ASSERT_EQ(self->udp.ss_family, AF_INET6);
	ASSERT_EQ(wait_metric(self, "iomt_gwd_ttp_link_up", 1), 1);
	ASSERT_NONNULL(d = new_dev(self));
	ASSERT_EQ(agree(self, d, WAIT_MS), DEV_OK);
	dev_fingerprint(d, fp);
	snprintf(needle, sizeof(needle), "sk_fp=%s", fp);
	EXPECT_TRUE(log_has(self, needle));
}

TEST_F(gwd, sighup_reopens_the_log_file)
{
	char moved[160];

	ASSERT_EQ(provision(self, 1), 0);
	ASSERT_EQ(daemon_up(self, NULL), 0);
	snprintf(moved, sizeof(moved), "%s.1", self->log);
	ASSERT_EQ(rename(self->log, moved), 0);	/* as logrotate does */
	kill(self->pid, SIGHUP);
	for (uint64_t end = now_ms() + WAIT_MS; access(self->log, F_OK) && now_ms() < end;)
		sleep_ms(5);
	sleep_ms(50);
	EXPECT_TRUE(log_has(self, "SIGHUP: log file reopened"));
	EXPECT_EQ(daemon_wait(self, SIGTERM, WAIT_MS), 0);
}

TEST_F(gwd, pidfile_is_written_locked_and_removed)
{
	char pidfile[160], opt[200], text[32];

	snprintf(pidfile, sizeof(pidfile), "%s/gwd.pid", self->dir);
	snprintf(opt, sizeof(opt), "--pidfile=%s", pidfile);
	ASSERT_EQ(provision(self, 1), 0);
	ASSERT_EQ(daemon_start(self, NULL, opt, NULL), 0);
	ASSERT_GT(rt_test_read(pidfile, text, sizeof(text)), 0);
	EXPECT_EQ(atoi(text), self->pid);
	EXPECT_EQ(daemon_wait(self, SIGTERM, WAIT_MS), 0);
	EXPECT_NE(access(pidfile, F_OK), 0);
}

TEST_F(gwd, metrics_endpoint)
{
	static char body[65536];

	ASSERT_EQ(provision(self, 3), 0);
	ASSERT_EQ(daemon_up(self, NULL), 0);
	ASSERT_EQ(http_get(self->metrics_port, "/metrics", body, sizeof(body)), 200);
	EXPECT_NONNULL(strstr(body, "# TYPE iomt_gwd_m1_received_total counter"));
	EXPECT_NONNULL(strstr(body, "# TYPE iomt_gwd_slots gauge"));
	EXPECT_NONNULL(strstr(body, "\niomt_gwd_slots{state=\"free\"} 3\n"));
	EXPECT_NONNULL(strstr(body, "\niomt_gwd_slots{state=\"await_m3\"} 0\n"));
	EXPECT_NONNULL(strstr(body, "\niomt_gwd_ttp_link_up 1\n"));
	EXPECT_NONNULL(strstr(body, "iomt_gwd_dropped_total{reason=\"oversized\"} 0"));
	EXPECT_NONNULL(strstr(body, "iomt_gwd_agreements_failed_total{reason=\"timeout\"} 0"));
	EXPECT_NONNULL(strstr(body, "iomt_gwd_ttp_errors_total{code=\"bad_mec\"} 0"));
	EXPECT_EQ(http_get(self->metrics_port, "/other", body, sizeof(body)), 404);
}
