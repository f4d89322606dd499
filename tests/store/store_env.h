/* SPDX-License-Identifier: MIT */
/*
 * The world of the store suites: a scratch directory, the real iomt-store
 * daemon on 127.0.0.1 (ports from its port_file), batches built with
 * lib/recbatch, gateways as plain TCP connections, and the database read
 * back with rt_store beside the running daemon.
 */
#ifndef IOMT_TEST_STORE_ENV_H
#define IOMT_TEST_STORE_ENV_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "harness.h"
#include "daemon_env.h"
#include "bytes.h"
#include "iomt_err.h"
#include "keytree.h"
#include "recbatch.h"
#include "record.h"
#include "lib/rt_knet.h"
#include "lib/rt_store.h"
#include "rt/rt_test.h"
#include "wire.h"

enum {
	IO_MS = 5000,
	FRAME_MAX = IOMT_WIRE_HDR_LEN + IOMT_WIRE_MAX_PAYLOAD,
	PER_BATCH = 10,
};

/* One day per epoch, 5-minute leaves: leaf 288 is the start of epoch 1. */
static const struct iomt_keytree_conf tconf = {
	.version = 1, .epoch_start = 1767225600, .leaf_period_s = 300, .depth = 3,
	.arity = { 366, 24, 12 }, .refresh_period_s = 86400,
};

struct senv {
	char dir[64], db[128], ports[128], log[128], out[128];
	char bin[PATH_MAX];
	pid_t pid;
	uint16_t port, metrics_port;
	struct iomt_keytree_meta meta;
};

struct tbatch {
	uint8_t frame[FRAME_MAX];
	size_t len;
};

/* ---- processes ---- */

static inline void start(struct senv *self, const char *extra)
{
	static char serve[] = "serve", dbo[] = "--db", lo[] = "--listen", la[] = "127.0.0.1:0",
		    mlo[] = "--metrics-listen", pfo[] = "--port-file", llo[] = "--log-level",
		    dbg[] = "debug";
	char *argv[16] = { self->bin, serve, dbo, self->db, lo, la, mlo, la, pfo, self->ports,
			   llo, dbg, NULL };
	char buf[256], extra_copy[64];
	unsigned l = 0, m = 0;

	if (extra) {
		snprintf(extra_copy, sizeof(extra_copy), "%s", extra);
		argv[12] = extra_copy;
		argv[13] = NULL;
	}
	unlink(self->ports);
	self->pid = de_spawn(self->bin, argv, self->log);
	ASSERT_GT(self->pid, 0);
	for (int i = 0; i < 1000; i++) {
		if (rt_test_read(self->ports, buf, sizeof(buf)) > 0 &&
		    sscanf(buf, "listen=%u\nmetrics=%u", &l, &m) == 2)
			break;
		ASSERT_EQ(waitpid(self->pid, NULL, WNOHANG), 0);
		usleep(10000);
	}
	ASSERT_GT(l, 0);
	self->port = (uint16_t)l;
	self->metrics_port = (uint16_t)m;
}

static inline int stop(struct senv *self)
{
	int st;

	if (self->pid <= 0)
		return -1;
	kill(self->pid, SIGTERM);
	st = de_wait_for(self->pid, 10000);
	self->pid = 0;
	return st;
}

/* 'iomt-store ARGS...' (NULL-terminated): exit status; output in self->out. */
static inline int run(struct senv *self, const char *cmd, ...)
{
	char *argv[40] = { self->bin, (char *)(uintptr_t)cmd };
	int n = 2;
	va_list ap;

	va_start(ap, cmd);
	while (n < 38 && (argv[n] = (char *)(uintptr_t)va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	unlink(self->out);
	return de_wait_for(de_spawn(self->bin, argv, self->out), 30000);
}

/* ---- batches ---- */

/* Record (epoch 1, leaf, seq) of m's tree, sealed under any key: the store
 * never opens it. */
static inline size_t seal(const struct iomt_keytree_meta *m, uint64_t leaf, uint32_t seq, uint8_t *out,
		   size_t cap)
{
	struct iomt_record_hdr h = { .epoch = (uint32_t)(leaf / 288), .leaf = leaf, .seq = seq };
	uint8_t k[16], data[24];
	size_t len = 0;

	memset(k, 0x77, sizeof(k));
	snprintf((char *)data, sizeof(data), "hr=%03u seq=%08u", (unsigned)(seq % 200), seq);
	memcpy(h.key_id, m->key_id, 16);
	ASSERT_EQ(iomt_record_seal(k, &h, data, 20, out, cap, &len), IOMT_OK);
	return len;
}

/* Batch number i of m: PER_BATCH records, seq i * PER_BATCH + k, in leaf
 * 288 + (i % 200). */
static inline void batch_of(struct tbatch *b, const struct iomt_keytree_meta *m, unsigned i, unsigned n)
{
	uint8_t id[8] = { 0 }, rec[128];
	size_t used;

	iomt_store_be32(id + 4, i);
	ASSERT_EQ(iomt_recbatch_begin(b->frame + 4, FRAME_MAX - 4, id, m, &used), IOMT_OK);
	for (unsigned k = 0; k < n; k++) {
		size_t len = seal(m, 288 + i % 200, i * PER_BATCH + k, rec, sizeof(rec));

		ASSERT_EQ(iomt_recbatch_add(b->frame + 4, FRAME_MAX - 4, &used, rec, len), IOMT_OK);
	}
	ASSERT_EQ(iomt_wire_put_hdr(b->frame, IOMT_MSG_REC_PUT, used), IOMT_OK);
	b->len = 4 + used;
}

/* ---- the network ---- */

static inline int conn(struct senv *self)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(self->port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static inline void send_all(int fd, const void *p, size_t len)
{
	ASSERT_EQ(rt_knet_send(fd, p, len), 0);
}

struct ack {
	uint8_t id[8];
	uint8_t status;
	uint16_t stored, dup;
};

/* Exactly n bytes before the deadline: 0, -ETIMEDOUT, -ECONNRESET. */
static inline int recv_exact(int fd, uint8_t *p, size_t n, uint64_t deadline)
{
	size_t have = 0;

	while (have < n) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t now = rt_knet_mono_ms();
		ssize_t r;

		if (now >= deadline || poll(&pfd, 1, (int)(deadline - now)) <= 0)
			return -ETIMEDOUT;
		r = recv(fd, p + have, n - have, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return -ECONNRESET;
		if (r < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (r > 0)
			have += (size_t)r;
	}
	return 0;
}

/* One REC_ACK, read frame by frame (ACKs may be pipelined): 0, or the
 * negative error (-ECONNRESET once closed). */
static inline int recv_ack(int fd, struct ack *a, unsigned ms)
{
	uint64_t deadline = rt_knet_mono_ms() + ms;
	uint8_t buf[4 + IOMT_REC_ACK_LEN];
	int r = recv_exact(fd, buf, 4, deadline);

	if (r)
		return r;
	ASSERT_EQ(buf[0], IOMT_WIRE_VERSION);
	ASSERT_EQ(buf[1], IOMT_MSG_REC_ACK);
	ASSERT_EQ(iomt_load_be16(buf + 2), IOMT_REC_ACK_LEN);
	r = recv_exact(fd, buf + 4, IOMT_REC_ACK_LEN, deadline);
	if (r)
		return r;
	ASSERT_EQ(iomt_rec_ack_decode(a->id, &a->status, &a->stored, &a->dup, buf + 4,
				      IOMT_REC_ACK_LEN), IOMT_OK);
	return 0;
}

static inline struct ack put(struct senv *self, int fd, const struct tbatch *b)
{
	struct ack a;

	(void)self;
	send_all(fd, b->frame, b->len);
	ASSERT_EQ(recv_ack(fd, &a, IO_MS), 0);
	ASSERT_MEMEQ(a.id, b->frame + 4, 8);
	return a;
}

/* The daemon closed fd (possibly with a reset). */
static inline void expect_closed(int fd)
{
	uint8_t buf[1];

	ASSERT_EQ(recv_exact(fd, buf, 1, rt_knet_mono_ms() + IO_MS), -ECONNRESET);
}

/* ---- the database, read beside the daemon ---- */

static inline long long db_count(struct senv *self, const char *where)
{
	struct rt_store *st;
	struct rt_stmt *s = NULL;
	char sql[256];
	long long n = -1;

	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM records%s%s", where ? " WHERE " : "",
		 where ? where : "");
	ASSERT_EQ(rt_store_open(self->db, &st), 0);
	if (!rt_stmt_prepare(st, sql, &s) && rt_stmt_step(s) == RT_STMT_ROW)
		n = rt_stmt_int(s, 0);
	rt_stmt_free(s);
	rt_store_close(st);
	return n;
}

/* Records of batch i (its seq range) in the database. */
static inline long long batch_rows(struct senv *self, unsigned i)
{
	char where[96];

	snprintf(where, sizeof(where), "seq >= %u AND seq < %u", i * PER_BATCH,
		 (i + 1) * PER_BATCH);
	return db_count(self, where);
}

static inline long long metric(struct senv *self, const char *series)
{
	static char body[1 << 16];
	static const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(self->metrics_port) };
	size_t got = 0, n = strlen(series);
	const char *p = body;
	ssize_t r;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ASSERT_GT(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL), 0);
	while (got + 1 < sizeof(body) && (r = recv(fd, body + got, sizeof(body) - 1 - got, 0)) > 0)
		got += (size_t)r;
	body[got] = '\0';
	close(fd);
	while ((p = strstr(p, series))) {
		if (p > body && p[-1] == '\n' && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
		p += n;
	}
	return -1;
}


static inline int senv_init(struct senv *self, const char *tag)
{
	if (rt_test_mkdtemp(self->dir, sizeof(self->dir), tag))
		return -1;
	snprintf(self->db, sizeof(self->db), "%s/store.db", self->dir);
	snprintf(self->ports, sizeof(self->ports), "%s/ports", self->dir);
	snprintf(self->log, sizeof(self->log), "%s/store.log", self->dir);
	snprintf(self->out, sizeof(self->out), "%s/cmd.out", self->dir);
	if (rt_test_bin("iomt-store", self->bin, sizeof(self->bin)) || access(self->bin, X_OK))
		return -1;
	memset(&self->meta, 0, sizeof(self->meta));
	memset(self->meta.key_id, 0xa1, 16);
	memset(self->meta.sensor_id, 0x5e, 16);
	memcpy(self->meta.ppd_id, "ppd-alice", 9);
	self->meta.conf = tconf;
	return 0;
}

static inline void senv_fini(struct senv *self)
{
	if (self->pid > 0) {
		kill(self->pid, SIGKILL);
		waitpid(self->pid, NULL, 0);
		self->pid = 0;
	}
	if (getenv("IOMT_TEST_KEEP"))
		fprintf(stderr, "# kept %s\n", self->dir);
	else
		rt_test_rmtree(self->dir);
}

/* path holds needle. */
static inline int senv_file_has(const char *path, const char *needle)
{
	static char buf[1 << 18];

	return rt_test_read(path, buf, sizeof(buf)) >= 0 && strstr(buf, needle) != NULL;
}

#endif
