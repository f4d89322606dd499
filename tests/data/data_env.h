/* SPDX-License-Identifier: MIT */
/*
 * The world of the tests/data suites: iomt-gwd with the relay role (and
 * only it) on 127.0.0.1, a fake cloud store in a thread of the test (a TCP
 * listener that decodes every REC_PUT, keeps every record it was given and
 * acknowledges, or holds, or hangs up), data keys made here with lib/keytree
 * (the test plays the PPD), and iomt-sensor data as a child process.
 * Process and scratch-directory helpers come from tests/kdc/flow_env.h.
 */
#ifndef IOMT_TEST_DATA_ENV_H
#define IOMT_TEST_DATA_ENV_H

#include <poll.h>
#include <sys/resource.h>
#include <pthread.h>

#include "consent.h"
#include "kdc/flow_env.h"
#include "keytree.h"
#include "recbatch.h"
#include "record.h"

enum {
	FS_MAX_RECS = 8192,
	FS_REC_MAX = 128,
	FS_RX_CAP = IOMT_WIRE_HDR_LEN + IOMT_WIRE_MAX_PAYLOAD,
};

enum fs_mode {
	FS_ACK,		/* commit and acknowledge */
	FS_HOLD,	/* take the batch, never answer */
	FS_HANGUP,	/* close the connection on the next batch */
};

struct fs_rec {
	struct iomt_record_hdr h;
	uint16_t len;
	uint8_t bytes[FS_REC_MAX];
};

struct fstore {
	pthread_t th;
	int running, lfd, cfd, wake[2];
	uint16_t port;
	pthread_mutex_t mu;
	enum fs_mode mode;
	unsigned hold_after;		/* > 0: FS_HOLD from this many batches on */
	/* counts */
	unsigned conns, batches, bad, held, stored, dups, reuse;
	size_t nrec;
	struct fs_rec *rec;
	uint8_t last[IOMT_WIRE_MAX_PAYLOAD];	/* the last REC_PUT payload */
	size_t last_len;
	uint8_t rx[FS_RX_CAP];
	size_t rx_len;
};

/* One record: new, a retry's copy (same bytes), or a second record under
 * the same (key id, epoch, leaf, seq): a nonce used twice. */
static inline void fs_keep(struct fstore *fs, const uint8_t *rec, size_t len, unsigned *stored,
			   unsigned *dups)
{
	struct iomt_record_hdr h;

	if (iomt_record_parse(rec, len, &h) || len > FS_REC_MAX)
		return;
	for (size_t i = 0; i < fs->nrec; i++) {
		struct fs_rec *r = &fs->rec[i];

		if (r->h.epoch != h.epoch || r->h.leaf != h.leaf || r->h.seq != h.seq ||
		    memcmp(r->h.key_id, h.key_id, 16))
			continue;
		if (r->len == len && !memcmp(r->bytes, rec, len))
			(*dups)++;
		else
			fs->reuse++;
		return;
	}
	if (fs->nrec == FS_MAX_RECS)
		return;
	fs->rec[fs->nrec].h = h;
	fs->rec[fs->nrec].len = (uint16_t)len;
	memcpy(fs->rec[fs->nrec++].bytes, rec, len);
	(*stored)++;
}

/* A REC_PUT: 0 to go on, -1 to hang up. */
static inline int fs_put(struct fstore *fs, const uint8_t *p, size_t len)
{
	static struct iomt_recbatch b;
	uint8_t ack[IOMT_WIRE_HDR_LEN + IOMT_REC_ACK_LEN];
	unsigned stored = 0, dups = 0;
	int answer;

	pthread_mutex_lock(&fs->mu);
	fs->batches++;
	if (fs->hold_after && fs->batches > fs->hold_after)
		fs->mode = FS_HOLD;
	memcpy(fs->last, p, len);
	fs->last_len = len;
	if (fs->mode == FS_HANGUP) {
		pthread_mutex_unlock(&fs->mu);
		return -1;
	}
	if (iomt_recbatch_decode(&b, p, len)) {
		fs->bad++;
		iomt_rec_ack_encode(p, IOMT_REC_MALFORMED, 0, 0, ack + IOMT_WIRE_HDR_LEN);
	} else {
		for (unsigned i = 0; i < b.count; i++)
			fs_keep(fs, b.rec[i], b.len[i], &stored, &dups);
		fs->stored += stored;
		fs->dups += dups;
		iomt_rec_ack_encode(b.batch_id, IOMT_REC_OK, (uint16_t)stored, (uint16_t)dups,
				    ack + IOMT_WIRE_HDR_LEN);
	}
	answer = fs->mode == FS_ACK;
	if (!answer)
		fs->held++;
	pthread_mutex_unlock(&fs->mu);
	iomt_wire_put_hdr(ack, IOMT_MSG_REC_ACK, IOMT_REC_ACK_LEN);
	if (answer && send(fs->cfd, ack, sizeof(ack), MSG_NOSIGNAL) != (ssize_t)sizeof(ack))
		return -1;
	return 0;
}

/* A store that only acknowledges, for load generators (bench, BLE guest):
 * one pass over the connection fd waits up to 100 ms, reads, answers every
 * complete REC_PUT with REC_ACK OK (batch id echoed, 1 stored) and keeps
 * any partial frame in rx. Returns the REC_PUTs answered, -1 once the
 * connection closed or failed. */
static inline int ack_store_pass(int fd, uint8_t *rx, size_t rx_cap, size_t *have, uint8_t *tx,
			  size_t tx_cap)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t off = 0, out = 0, plen, flen;
	const uint8_t *pl;
	uint8_t type;
	ssize_t n;
	int puts = 0;

	if (poll(&p, 1, 100) <= 0)
		return 0;
	n = read(fd, rx + *have, rx_cap - *have);
	if (n <= 0)
		return -1;
	*have += (size_t)n;
	while (!iomt_wire_next(rx + off, *have - off, &type, &pl, &plen, &flen)) {
		if (type == IOMT_MSG_REC_PUT && plen >= 8 &&
		    out + IOMT_WIRE_HDR_LEN + IOMT_REC_ACK_LEN <= tx_cap) {
			puts++;
			iomt_wire_put_hdr(tx + out, IOMT_MSG_REC_ACK, IOMT_REC_ACK_LEN);
			iomt_rec_ack_encode(pl, IOMT_REC_OK, 1, 0, tx + out + IOMT_WIRE_HDR_LEN);
			out += IOMT_WIRE_HDR_LEN + IOMT_REC_ACK_LEN;
		}
		off += flen;
	}
	memmove(rx, rx + off, *have - off);
	*have -= off;
	for (size_t w = 0; w < out;) {
		n = send(fd, tx + w, out - w, MSG_NOSIGNAL);
		if (n <= 0)
			return -1;
		w += (size_t)n;
	}
	return puts;
}

static inline void fs_hangup(struct fstore *fs)
{
	close(fs->cfd);
	fs->cfd = -1;
	fs->rx_len = 0;
}

static inline void fs_input(struct fstore *fs)
{
	ssize_t n = read(fs->cfd, fs->rx + fs->rx_len, sizeof(fs->rx) - fs->rx_len);
	size_t off = 0, plen, flen;
	const uint8_t *p;
	uint8_t type;

	if (n <= 0) {
		fs_hangup(fs);
		return;
	}
	fs->rx_len += (size_t)n;
	while (!iomt_wire_next(fs->rx + off, fs->rx_len - off, &type, &p, &plen, &flen)) {
		if (type != IOMT_MSG_REC_PUT || fs_put(fs, p, plen)) {
			fs_hangup(fs);
			return;
		}
		off += flen;
	}
	memmove(fs->rx, fs->rx + off, fs->rx_len - off);
	fs->rx_len -= off;
}

static inline void *fs_main(void *arg)
{
	struct fstore *fs = arg;

	for (;;) {
		struct pollfd p[3] = { { fs->wake[0], POLLIN, 0 }, { fs->lfd, POLLIN, 0 },
				       { fs->cfd, POLLIN, 0 } };

		if (poll(p, fs->cfd >= 0 ? 3 : 2, -1) < 0)
			continue;
		if (p[0].revents)
			break;
		if (p[1].revents & POLLIN) {
			int c = accept4(fs->lfd, NULL, NULL, SOCK_CLOEXEC);

			if (c >= 0) {
				if (fs->cfd >= 0)
					fs_hangup(fs);
				fs->cfd = c;
				pthread_mutex_lock(&fs->mu);
				fs->conns++;
				pthread_mutex_unlock(&fs->mu);
			}
		}
		if (fs->cfd >= 0 && (p[2].revents & (POLLIN | POLLHUP | POLLERR)))
			fs_input(fs);
	}
	if (fs->cfd >= 0)
		fs_hangup(fs);
	return NULL;
}

/* Listens on 127.0.0.1:port (0: any; fs->port gets it): 0 or -1. */
static inline int fs_start(struct fstore *fs, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	socklen_t len = sizeof(a);
	int one = 1;

	if (!fs->rec && !(fs->rec = calloc(FS_MAX_RECS, sizeof(*fs->rec))))
		return -1;
	pthread_mutex_init(&fs->mu, NULL);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fs->cfd = -1;
	fs->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fs->lfd < 0)
		return -1;
	setsockopt(fs->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fs->lfd, (struct sockaddr *)&a, sizeof(a)) || listen(fs->lfd, 4) ||
	    getsockname(fs->lfd, (struct sockaddr *)&a, &len) || pipe2(fs->wake, O_CLOEXEC)) {
		close(fs->lfd);
		return -1;
	}
	fs->port = ntohs(a.sin_port);
	if (pthread_create(&fs->th, NULL, fs_main, fs)) {
		close(fs->lfd);
		return -1;
	}
	fs->running = 1;
	return 0;
}

/* Stops listening and hangs up (the records kept stay readable). */
static inline void fs_stop(struct fstore *fs)
{
	if (!fs->running)
		return;
	if (write(fs->wake[1], "x", 1) != 1)
		return;
	pthread_join(fs->th, NULL);
	close(fs->lfd);
	close(fs->wake[0]);
	close(fs->wake[1]);
	fs->running = 0;
}

static inline void fs_set_mode(struct fstore *fs, enum fs_mode m)
{
	pthread_mutex_lock(&fs->mu);
	fs->mode = m;
	pthread_mutex_unlock(&fs->mu);
}

/* A counter of fs (read under the lock). */
#define FS_GET(fs, field)                          \
	({                                         \
		pthread_mutex_lock(&(fs)->mu);     \
		__typeof__((fs)->field) v_ = (fs)->field; \
		pthread_mutex_unlock(&(fs)->mu);   \
		v_;                                \
	})

/* Waits until fs->field >= want: its value. */
#define FS_WAIT(fs, field, want)                                          \
	({                                                                \
		__typeof__((fs)->field) w_ = 0;                           \
		for (unsigned t_ = 0; t_ < ENV_WAIT_MS; t_ += 5, env_sleep_ms(5)) \
			if ((w_ = FS_GET(fs, field)) >= (want))           \
				break;                                    \
		w_;                                                       \
	})

/* ---- the gateway ---- */

/* iomt-gwd, relay role only, store at 127.0.0.1:store_port; extra: more
 * config lines ("" for none). 0 or -1. */
static inline int data_gwd_start(struct env *e, uint16_t store_port, const char *extra)
{
	static char co[] = "-c";
	char conf[160], ports[160], text[2048];
	char *argv[] = { e->gwd_bin, co, conf, NULL };
	int n;

	snprintf(conf, sizeof(conf), "%s/gwd.conf", e->dir);
	snprintf(ports, sizeof(ports), "%s/gwd.ports", e->dir);
	snprintf(e->svc_log, sizeof(e->svc_log), "%s/gwd.log", e->dir);
	n = snprintf(text, sizeof(text),
		     "mec no\nrelay yes\nstore 127.0.0.1:%u\nlisten 127.0.0.1:0\n"
		     "metrics_listen 127.0.0.1:0\nport_file %s\nlog_level debug\nlog_file %s\n"
		     "store_reconnect_max 100ms\n%s\n", store_port, ports, e->svc_log, extra);
	if (rt_test_write(conf, text, (size_t)n))
		return -1;
	unlink(ports);
	e->svc_gwd = 1;
	e->svc_pid = env_spawn(argv, e->svc_log);
	return env_svc_wait(e, ports);
}

/* Waits for a metric of the gateway to reach want: its value. */
static inline long long data_metric_wait(struct env *e, const char *series, long long want)
{
	long long v = -1;

	for (unsigned t = 0; t < ENV_WAIT_MS; t += 10, env_sleep_ms(10))
		if ((v = env_metric(e, series)) >= want)
			break;
	return v;
}

/* ---- data keys (the test plays the PPD) ---- */

struct data_key {
	uint8_t k_master[IOMT_KEYTREE_MASTER_LEN];
	struct iomt_keytree_meta meta;
	uint8_t k0[IOMT_KEYTREE_KEY_LEN];
};

/* A fresh K_master and meta for conf (sensor "sensor-1", PPD "ppd-alice"). */
static inline int data_key_make(struct data_key *k, const struct iomt_keytree_conf *conf)
{
	memset(k, 0, sizeof(*k));
	if (rt_random(k->k_master, sizeof(k->k_master)) ||
	    rt_random(k->meta.key_id, sizeof(k->meta.key_id)))
		return -1;
	k->meta.key_id[0] |= 1;
	k->meta.conf = *conf;
	memcpy(k->meta.sensor_id, "sensor-1", 8);
	memcpy(k->meta.ppd_id, "ppd-alice", 9);
	return iomt_keytree_data_key0(k->k_master, &k->meta, k->k0) ? -1 : 0;
}

/* The 94-byte --data-key file, 0600. */
static inline int data_key_write(const struct data_key *k, const char *path)
{
	uint8_t buf[IOMT_PROVISION_REP_LEN];
	int fd, ok;

	if (iomt_provision_rep_encode(&k->meta, k->k0, buf))
		return -1;
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	ok = write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf);
	close(fd);
	return ok ? 0 : -1;
}

/* 0 if the record opens under the tree of k (the cloud's view, with every
 * key derived from K_master here). */
static inline int data_key_open(const struct data_key *k, const uint8_t *rec, size_t len)
{
	struct iomt_record_hdr h;
	struct iomt_keytree_node leaf;
	uint8_t ke[16], kenc[16], out[FS_REC_MAX];
	size_t n;

	if (iomt_record_parse(rec, len, &h) ||
	    iomt_keytree_data_key(&k->meta.conf, k->k0, h.epoch, ke) ||
	    iomt_keytree_node_of(&k->meta.conf, h.leaf, k->meta.conf.depth, &leaf) ||
	    iomt_keytree_node_key(&k->meta.conf, h.epoch, ke, &leaf, kenc))
		return -1;
	return iomt_record_open(kenc, rec, len, &h, out, sizeof(out), &n) ? -1 : 0;
}

/* A batch of n records sealed here at (epoch of t, leaf of t, seq0..),
 * framed: its length, or -1. */
static inline long data_batch(const struct data_key *k, const uint8_t id[8], uint64_t t,
			      uint32_t seq0, unsigned n, uint8_t *out, size_t cap)
{
	struct iomt_keytree_sensor s;
	struct iomt_record_hdr h;
	uint8_t kenc[16], rec[128];
	size_t used, rlen;
	uint64_t leaf;
	uint32_t epoch;

	if (cap < IOMT_WIRE_HDR_LEN || iomt_keytree_locate(&k->meta.conf, t, &epoch, &leaf) ||
	    iomt_keytree_sensor_init(&s, &k->meta.conf, k->meta.key_id, k->k0, 0) ||
	    iomt_keytree_sensor_key(&s, t, &epoch, &leaf, kenc) ||
	    iomt_recbatch_begin(out + IOMT_WIRE_HDR_LEN, cap - IOMT_WIRE_HDR_LEN, id, &k->meta,
				&used))
		return -1;
	iomt_keytree_sensor_wipe(&s);
	memcpy(h.key_id, k->meta.key_id, 16);
	h.epoch = epoch;
	h.leaf = leaf;
	for (unsigned i = 0; i < n; i++) {
		h.seq = seq0 + i;
		if (iomt_record_seal(kenc, &h, (const uint8_t *)"hr=70", 5, rec, sizeof(rec),
				     &rlen) ||
		    iomt_recbatch_add(out + IOMT_WIRE_HDR_LEN, cap - IOMT_WIRE_HDR_LEN, &used, rec,
				      rlen))
			return -1;
	}
	iomt_wire_put_hdr(out, IOMT_MSG_REC_PUT, used);
	return (long)(IOMT_WIRE_HDR_LEN + used);
}

/* A UDP socket connected to the gateway: fd or -1. */
static inline int data_udp(struct env *e)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (rt_knet_resolve(e->svc_addr, &ss, &len))
		return -1;
	return rt_knet_udp_connect(&ss, len);
}

/* The next REC_ACK on fd within wait_ms: 0 with its fields, or -1. */
static inline int data_ack(int fd, unsigned wait_ms, uint8_t id[8], uint8_t *status,
			   uint16_t *stored, uint16_t *dups)
{
	uint8_t buf[256], type;
	const uint8_t *p;
	size_t plen;
	long n = rt_knet_recv_datagram(fd, buf, sizeof(buf), rt_knet_mono_ms() + wait_ms);

	if (n < 0 || iomt_wire_parse(buf, (size_t)n, &type, &p, &plen) ||
	    type != IOMT_MSG_REC_ACK)
		return -1;
	return iomt_rec_ack_decode(id, status, stored, dups, p, plen) ? -1 : 0;
}

/* ---- the real store ---- */

/* 'iomt-store serve' on 127.0.0.1:port (0: any) with DIR/store.db: its
 * port (read back from its port file), or 0 (not built, or it died). */
static inline uint16_t data_store_start(struct env *e, uint16_t port, pid_t *pid)
{
	char bin[PATH_MAX], db[160], ports[160], log[160], listen[32], text[128];
	char *argv[] = { bin, env_arg("serve"), env_arg("--db"), db, env_arg("--listen"), listen,
			 env_arg("--metrics-listen"), env_arg("127.0.0.1:0"),
			 env_arg("--port-file"), ports, env_arg("--log-level"), env_arg("debug"),
			 NULL };
	unsigned got;

	if (rt_test_bin("iomt-store", bin, sizeof(bin)) || access(bin, X_OK))
		return 0;
	snprintf(db, sizeof(db), "%s/store.db", e->dir);
	snprintf(ports, sizeof(ports), "%s/store.ports", e->dir);
	snprintf(log, sizeof(log), "%s/store.log", e->dir);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
	unlink(ports);
	*pid = env_spawn(argv, log);
	for (unsigned t = 0; t < ENV_WAIT_MS; t += 10, env_sleep_ms(10)) {
		int st;

		if (rt_test_read(ports, text, sizeof(text)) > 0 &&
		    sscanf(text, "listen=%u", &got) == 1 && got && got < 65536)
			return (uint16_t)got;
		if (waitpid(*pid, &st, WNOHANG) == *pid)
			break;
	}
	env_reap(pid, SIGKILL, 2000);
	return 0;
}

/* ---- the sensor ---- */

struct data_sensor {
	char bin[PATH_MAX];
	char state[160], key[160], out[160];
};

static inline int data_sensor_init(struct data_sensor *s, struct env *e)
{
	snprintf(s->state, sizeof(s->state), "%s/sensor.state", e->dir);
	snprintf(s->key, sizeof(s->key), "%s/data.key", e->dir);
	snprintf(s->out, sizeof(s->out), "%s/sensor.out", e->dir);
	return rt_test_bin("iomt-sensor", s->bin, sizeof(s->bin)) || access(s->bin, X_OK) ? -1 : 0;
}

/* 'iomt-sensor data --state S --gateway G [args...]' (NULL-terminated),
 * output appended to s->out; fsize: RLIMIT_FSIZE in bytes (0: none).
 * Started: its pid. */
static inline pid_t data_sensor_spawn(struct data_sensor *s, struct env *e, rlim_t fsize,
				      const char *arg, ...)
{
	static char data[] = "data", so[] = "--state", go[] = "--gateway";
	char *argv[ENV_ARGV_MAX] = { s->bin, data, so, s->state, go, e->svc_addr };
	int argc = 6;
	va_list ap;
	pid_t pid;

	va_start(ap, arg);
	for (const char *a = arg; a && argc < ENV_ARGV_MAX - 1; a = va_arg(ap, const char *))
		argv[argc++] = env_arg(a);
	va_end(ap);
	argv[argc] = NULL;
	pid = fork();
	if (pid == 0) {
		int fd = open(s->out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		struct rlimit rl = { fsize, fsize };

		dup2(fd, 1);
		dup2(fd, 2);
		if (fsize)
			setrlimit(RLIMIT_FSIZE, &rl);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

#define data_sensor_run(s, e, ...) \
	({ pid_t p_ = data_sensor_spawn(s, e, 0, __VA_ARGS__, NULL); \
	   env_reap(&p_, 0, 20000); })

#endif
