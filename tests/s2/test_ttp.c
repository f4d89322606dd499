/* SPDX-License-Identifier: MIT */
/*
 * iomt-ttp end to end: the real daemon on loopback (ports chosen by the OS,
 * read from its port_file), its database made with 'iomt-ttp admin', a
 * patient registered through phase 1, devices created through phase 2, and
 * this suite acting as the MEC and the devices with lib's seed-002 code.
 *
 * Phase 3: full agreements (the device's and the MEC's SK equal, both having
 * checked the TTP's d3), the rotation rule (current, previous, replayed M2),
 * forged c1 of either party with no state change, unknown DIDs, corrupt and
 * wrong frames, 200 pipelined M2s, one party twice in a batch, a restart, a
 * kill -9 in the middle of 1000 agreements, SIGTERM, a failed group commit,
 * a MEC that stops reading, parties registered while running. Phase 2: the
 * grant and every refusal. Metrics, the audit log, and no key in any log.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "harness.h"
#include "daemon_env.h"
#include "rt/rt_test.h"
#include "testutil.h"
#include "bytes.h"
#include "ct.h"
#include "iomt_err.h"
#include "lib/ecqv.h"
#include "lib/rt_rng.h"
#include "lib/rt_store.h"
#include "lib/s2_phase2.h"
#include "s2_ida.h"
#include "seed002.h"
#include "wire.h"

enum {
	NSLOTS = 210,          /* MEC "mec1" */
	MAX_DEV = 256,
	FRAME_MAX = IOMT_WIRE_HDR_LEN + S2_ANALYSIS_RESP_MAX,
	M2_FRAME = IOMT_WIRE_HDR_LEN + IOMT_WIRE_S2_M2_LEN,
	IO_TIMEOUT_S = 15,
};

struct slot {
	uint8_t did[16], dk[16];
};

/* One agreement in flight, as the MEC holds it. */
struct run {
	struct iomt_s2_mec_pending pend;
	uint8_t r2[16], dk_m[16];
	int dev, slot;
	uint32_t req_id;
	int live;
};

FIXTURE(ttp) {
	char dir[64], db[128], key[128], pub[128], audit[128], conf[128], ports[128];
	char log[128], prov[128];
	char bin[PATH_MAX];
	pid_t pid;
	uint16_t link_port, user_port, metrics_port;
	EVP_PKEY *ca_pub, *patient;
	struct ecqv_cert pcert;
	struct slot slot[NSLOTS];
	struct iomt_s2_device dev[MAX_DEV];
	uint8_t dev_ida[MAX_DEV][16];
	int ndev;
	struct run runs[MAX_DEV];
};

/* ---- processes ---- */

static void bin_path(char *out, size_t cap)
{
	ASSERT_EQ(rt_test_bin("iomt-ttp", out, cap), 0);
}

static pid_t spawn(const char *bin, const char *const *args, const char *out_path)
{
	return de_spawn_args(bin, "iomt-ttp", args, out_path);
}

/* iomt-ttp admin ... (NULL-terminated): exit status; output in dir/admin.out. */
static int admin(FIXTURE_DATA(ttp) *self, ...)
{
	char out[160];
	va_list ap;
	int st;

	snprintf(out, sizeof(out), "%s/admin.out", self->dir);
	va_start(ap, self);
	st = de_run_v(self->bin, "iomt-ttp", "admin", ap, out, 20000);
	va_end(ap);
	return st;
}

static void read_ports(FIXTURE_DATA(ttp) *self)
{
	char buf[256];
	unsigned l = 0, u = 0, m = 0;

	for (int i = 0; i < 500; i++) {
		if (rt_test_read(self->ports, buf, sizeof(buf)) > 0 &&
		    sscanf(buf, "link=%u\nuser=%u\nmetrics=%u", &l, &u, &m) == 3)
			break;
		ASSERT_EQ(waitpid(self->pid, NULL, WNOHANG), 0);   /* still running */
		usleep(10000);
	}
	ASSERT_GT(l, 0);
	self->link_port = (uint16_t)l;
	self->user_port = (uint16_t)u;
	self->metrics_port = (uint16_t)m;
}

static void start(FIXTURE_DATA(ttp) *self)
{
	const char *args[] = { "-c", self->conf, NULL };

	unlink(self->ports);
	self->pid = spawn(self->bin, args, self->log);
	ASSERT_GT(self->pid, 0);
	read_ports(self);
}

/* SIGTERM, and the exit status. */
static int stop(FIXTURE_DATA(ttp) *self)
{
	int st;

	ASSERT_EQ(kill(self->pid, SIGTERM), 0);
	st = de_wait_for(self->pid, 10000);
	self->pid = 0;
	return st;
}

static void crash(FIXTURE_DATA(ttp) *self)
{
	ASSERT_EQ(kill(self->pid, SIGKILL), 0);
	ASSERT_EQ(de_wait_for(self->pid, 5000), 128 + SIGKILL);
	self->pid = 0;
}

/* ---- files ---- */

static void write_conf(FIXTURE_DATA(ttp) *self)
{
	char text[1024];
	int n = snprintf(text, sizeof(text),
			 "db %s\nlisten 127.0.0.1:0\nuser_listen 127.0.0.1:0\n"
			 "metrics_listen 127.0.0.1:0\nca_key %s\naudit_log %s\nport_file %s\n"
			 "log_level debug\nbatch_max 256\nstop_timeout 2s\n",
			 self->db, self->key, self->audit, self->ports);

	ASSERT_EQ(rt_test_write(self->conf, text, (size_t)n), 0);
}

static void parse_slots(FIXTURE_DATA(ttp) *self, const char *path, struct slot *s, int n)
{
	static char text[NSLOTS * 96];
	const char *p = text;
	char did[33], dk[33];
	int k;

	ASSERT_GT(rt_test_read(path, text, sizeof(text)), 0);
	for (int i = 0; i < n; i++) {
		ASSERT_EQ(sscanf(p, "slot=%d did=%32s dk=%32s", &k, did, dk), 3);
		ASSERT_EQ(k, i);
		ASSERT_EQ(tu_hex(did, s[i].did, 16), 16);
		ASSERT_EQ(tu_hex(dk, s[i].dk, 16), 16);
		p = strchr(p, '\n') + 1;
	}
	ASSERT_EQ(*p, '\0');
	(void)self;
}

static EVP_PKEY *read_pub(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	ASSERT_NONNULL(f);
	k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	ASSERT_NONNULL(k);
	return k;
}

/* Phase 1 for a user of this role: the key pair and the certificate. */
static void register_user(FIXTURE_DATA(ttp) *self, const char *name, const char *role,
			  EVP_PKEY **key, struct ecqv_cert *cert)
{
	char req[160], issued[160];
	uint8_t buf[ECQV_CERT_LEN + ECQV_SCALAR_LEN + 1];
	struct ecqv_request rq;

	snprintf(req, sizeof(req), "%s/%s.req", self->dir, name);
	snprintf(issued, sizeof(issued), "%s/%s.issued", self->dir, name);
	ASSERT_EQ(ecqv_request_new(&rq), 0);
	ASSERT_EQ(rt_test_write(req, (const char *)rq.ru, sizeof(rq.ru)), 0);
	ASSERT_EQ(admin(self, "register-user", "--db", self->db, "--ca-key", self->key, "--role",
			role, "--id", name, "--request", req, "--out", issued, "--audit-log",
			self->audit, NULL), 0);
	ASSERT_EQ(rt_test_read(issued, (char *)buf, sizeof(buf)), ECQV_CERT_LEN + ECQV_SCALAR_LEN);
	ASSERT_EQ(ecqv_cert_decode(cert, buf, ECQV_CERT_LEN), 0);
	ASSERT_EQ(ecqv_reconstruct_private(&rq, cert, buf + ECQV_CERT_LEN, self->ca_pub,
					   (uint64_t)time(NULL), key), 0);
	ecqv_request_wipe(&rq);
}

/* ---- sockets ---- */

static int connect_to(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	ASSERT_GE(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ASSERT_EQ(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		ASSERT_GT(n, 0);
		p += n;
		len -= (size_t)n;
	}
}

/* 0 with the bytes, or -1 at EOF, timeout or error. */
static int recv_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);

		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One frame: 0 with type, payload and length; -1 if the stream ended. */
static int read_frame(int fd, uint8_t *type, uint8_t *payload, size_t *len)
{
	uint8_t h[IOMT_WIRE_HDR_LEN];

	if (recv_all(fd, h, sizeof(h)))
		return -1;
	*type = h[1];
	*len = iomt_load_be16(h + 2);
	ASSERT_EQ(h[0], IOMT_WIRE_VERSION);
	ASSERT_LE(*len, (size_t)S2_ANALYSIS_RESP_MAX);
	return recv_all(fd, payload, *len);
}

/* The peer closed the connection (EOF or reset) within the timeout. */
static int closed_by_peer(int fd)
{
	uint8_t b[256];
	ssize_t n;

	while ((n = recv(fd, b, sizeof(b), 0)) > 0)
		;
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

static void frame(uint8_t *out, uint8_t type, const void *payload, size_t len)
{
	iomt_wire_put_hdr(out, type, len);
	memcpy(out + IOMT_WIRE_HDR_LEN, payload, len);
}

/* ---- phase 2 ---- */

/* One exchange on the user port: the reply's type; payload into reply. */
static uint8_t user_exchange(FIXTURE_DATA(ttp) *self, uint8_t type, const uint8_t *p,
			     size_t len, uint8_t *reply, size_t *rlen)
{
	static uint8_t f[FRAME_MAX];
	int fd = connect_to(self->user_port);
	uint8_t rtype = 0;

	frame(f, type, p, len);
	send_all(fd, f, IOMT_WIRE_HDR_LEN + len);
	ASSERT_EQ(read_frame(fd, &rtype, reply, rlen), 0);
	close(fd);
	return rtype;
}

static size_t build_req(EVP_PKEY *key, const struct ecqv_cert *cert, uint64_t ts,
			const uint8_t nonce[16], int n, uint8_t *out)
{
	size_t len = 0;

	ASSERT_EQ(s2_analysis_req_build(key, cert, ts, nonce, (uint16_t)n, "study=ttp-test", out,
					S2_ANALYSIS_REQ_MAX, &len), 0);
	return len;
}

/* A granted analysis of n devices: they join self->dev. */
static void new_analysis(FIXTURE_DATA(ttp) *self, int n)
{
	static uint8_t req[S2_ANALYSIS_REQ_MAX], reply[S2_ANALYSIS_RESP_MAX];
	uint8_t nonce[16], id_a[16], did[S2_NDEVICES_MAX][16], dk[S2_NDEVICES_MAX][16];
	uint16_t got = 0;
	size_t len, rlen = 0;

	ASSERT_EQ(rt_random(nonce, sizeof(nonce)), 0);
	len = build_req(self->patient, &self->pcert, (uint64_t)time(NULL), nonce, n, req);
	ASSERT_EQ(user_exchange(self, IOMT_MSG_S2_ANALYSIS_REQ, req, len, reply, &rlen),
		  IOMT_MSG_S2_ANALYSIS_RESP);
	ASSERT_EQ(s2_analysis_resp_open(self->patient, nonce, reply, rlen, id_a, &got, did, dk,
					S2_NDEVICES_MAX), 0);
	ASSERT_EQ(got, n);
	ASSERT_LE(self->ndev + n, MAX_DEV);
	for (int i = 0; i < n; i++, self->ndev++) {
		ASSERT_EQ(iomt_s2_device_init(&self->dev[self->ndev], did[i], dk[i]), IOMT_OK);
		memcpy(self->dev_ida[self->ndev], id_a, 16);
	}
}

/* ---- fixture ---- */

static void paths(FIXTURE_DATA(ttp) *self)
{
	snprintf(self->db, sizeof(self->db), "%s/ttp.db", self->dir);
	snprintf(self->key, sizeof(self->key), "%s/ca.key", self->dir);
	snprintf(self->pub, sizeof(self->pub), "%s/ca.pem", self->dir);
	snprintf(self->audit, sizeof(self->audit), "%s/audit.log", self->dir);
	snprintf(self->conf, sizeof(self->conf), "%s/ttp.conf", self->dir);
	snprintf(self->ports, sizeof(self->ports), "%s/ports", self->dir);
	snprintf(self->log, sizeof(self->log), "%s/ttp.log", self->dir);
	snprintf(self->prov, sizeof(self->prov), "%s/mec1.prov", self->dir);
}

FIXTURE_SETUP(ttp)
{
	ASSERT_EQ(rt_test_mkdtemp(self->dir, sizeof(self->dir), "ttp"), 0);
	bin_path(self->bin, sizeof(self->bin));
	paths(self);
	ASSERT_EQ(admin(self, "init", "--db", self->db, "--ca-key", self->key, "--ca-pub",
			self->pub, "--audit-log", self->audit, NULL), 0);
	ASSERT_EQ(admin(self, "register-mec", "--db", self->db, "--name", "mec1", "--slots", "210",
			"--out", self->prov, "--audit-log", self->audit, NULL), 0);
	parse_slots(self, self->prov, self->slot, NSLOTS);
	self->ca_pub = read_pub(self->pub);
	register_user(self, "alice", "patient", &self->patient, &self->pcert);
	write_conf(self);
	start(self);
	new_analysis(self, 50);
}

FIXTURE_TEARDOWN(ttp)
{
	if (self->pid > 0) {
		kill(self->pid, SIGKILL);
		waitpid(self->pid, NULL, 0);
	}
	EVP_PKEY_free(self->ca_pub);
	EVP_PKEY_free(self->patient);
	rt_test_rmtree(self->dir);
}

/* ---- the MEC and the devices ---- */

/* Device dev starts (or retries) and the MEC makes its M2 with slot s. */
static void run_start(FIXTURE_DATA(ttp) *self, int dev, int s, uint32_t req_id, uint8_t *out)
{
	struct run *r = &self->runs[dev];
	uint8_t r1[16], m1[64];

	ASSERT_EQ(rt_random(r1, 16), 0);
	ASSERT_EQ(rt_random(r->r2, 16), 0);
	ASSERT_EQ(iomt_s2_device_start(&self->dev[dev], r1, m1), IOMT_OK);
	memcpy(r->dk_m, self->slot[s].dk, 16);
	r->dev = dev;
	r->slot = s;
	r->req_id = req_id;
	r->live = 1;
	iomt_wire_put_hdr(out, IOMT_MSG_S2_M2, IOMT_WIRE_S2_M2_LEN);
	iomt_store_be32(out + IOMT_WIRE_HDR_LEN, req_id);
	ASSERT_EQ(iomt_s2_mec_m2(self->slot[s].did, self->slot[s].dk, r->r2, m1, 64, &r->pend,
				 out + IOMT_WIRE_HDR_LEN + 4), IOMT_OK);
}

/* The MEC opens ID_a, finishes, adopts its slot's next pair; the device
 * finishes: both SKs must be equal (each side checked the TTP's d3). */
static void run_finish(FIXTURE_DATA(ttp) *self, struct run *r, const uint8_t *payload, size_t len)
{
	uint8_t sk_m[16], sk_d[16], m4[48], id_a[16];
	struct slot *s = &self->slot[r->slot];

	ASSERT_EQ(len, IOMT_WIRE_S2_M3_LEN);
	ASSERT_EQ(iomt_load_be32(payload), r->req_id);
	ASSERT_EQ(iomt_s2_ida_open(r->dk_m, r->r2, r->pend.did_i, payload + 4, payload + 68, id_a),
		  IOMT_OK);
	ASSERT_MEMEQ(id_a, self->dev_ida[r->dev], 16);
	ASSERT_EQ(iomt_s2_mec_finish(&r->pend, payload + 4, 64, sk_m, m4, s->did, s->dk), IOMT_OK);
	ASSERT_EQ(iomt_s2_device_finish(&self->dev[r->dev], m4, 48, sk_d), IOMT_OK);
	ASSERT_MEMEQ(sk_m, sk_d, 16);
	r->live = 0;
}

/* The answer to one M2: type and payload. */
static uint8_t exchange(int fd, const uint8_t *m2frame, uint8_t *payload, size_t *len)
{
	uint8_t type = 0;

	send_all(fd, m2frame, M2_FRAME);
	ASSERT_EQ(read_frame(fd, &type, payload, len), 0);
	return type;
}

static void agree(FIXTURE_DATA(ttp) *self, int fd, int dev, int s)
{
	uint8_t f[M2_FRAME], p[FRAME_MAX];
	size_t len = 0;

	run_start(self, dev, s, (uint32_t)(0x10000 + dev), f);
	ASSERT_EQ(exchange(fd, f, p, &len), IOMT_MSG_S2_M3);
	run_finish(self, &self->runs[dev], p, len);
}

/* A refusal: LINK_ERR with req_id and this code. */
static void expect_err(int fd, const uint8_t *f, uint8_t code)
{
	uint8_t p[FRAME_MAX];
	size_t len = 0;

	ASSERT_EQ(exchange(fd, f, p, &len), IOMT_MSG_S2_LINK_ERR);
	ASSERT_EQ(len, IOMT_WIRE_S2_LINK_ERR_LEN);
	ASSERT_MEMEQ(p, f + IOMT_WIRE_HDR_LEN, 4);
	ASSERT_EQ(p[4], code);
}

/* ---- phase 3 ---- */

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

TEST_F(ttp, full_agreement_and_no_key_in_the_logs)
{
	static char log[1 << 20];
	char dk[33], dk_m[33];
	uint8_t k[16];
	int fd = connect_to(self->link_port);

	/* The keys this run uses, to look for them in the logs afterwards. */
	ASSERT_EQ(iomt_s2_device_identity(&self->dev[0], k, k), IOMT_OK);
	hex(k, 16, dk);
	hex(self->slot[0].dk, 16, dk_m);
	agree(self, fd, 0, 0);
	agree(self, fd, 0, 0);
	close(fd);
	ASSERT_EQ(stop(self), 0);
	ASSERT_GT(rt_test_read(self->log, log, sizeof(log)), 0);
	ASSERT_NONNULL(strstr(log, "M3"));          /* the debug line per agreement */
	ASSERT_NULL(strstr(log, dk));
	ASSERT_NULL(strstr(log, dk_m));
	ASSERT_GT(rt_test_read(self->audit, log, sizeof(log)), 0);
	ASSERT_NULL(strstr(log, dk));
}

TEST_F(ttp, rotation_current_previous_and_replay)
{
	uint8_t f[M2_FRAME], p[FRAME_MAX];
	int fd = connect_to(self->link_port);
	size_t len = 0;

	agree(self, fd, 1, 1);
	/* Lost M3: the TTP rotated both; both come back with their old pairs. */
	run_start(self, 1, 1, 7, f);
	ASSERT_EQ(exchange(fd, f, p, &len), IOMT_MSG_S2_M3);
	run_start(self, 1, 1, 8, f);
	ASSERT_EQ(exchange(fd, f, p, &len), IOMT_MSG_S2_M3);
	/* The same M2 replayed: the same next pairs again, nobody desynchronised. */
	ASSERT_EQ(exchange(fd, f, p, &len), IOMT_MSG_S2_M3);
	ASSERT_EQ(exchange(fd, f, p, &len), IOMT_MSG_S2_M3);
	run_finish(self, &self->runs[1], p, len);
	/* And the runs after that use the current pairs. */
	agree(self, fd, 1, 1);
	agree(self, fd, 1, 1);
	close(fd);
}

/* A replayed M1, after the device finished with it, reaching the TTP through
 * a genuine MEC run: the device's DID matches its previous pair, the TTP
 * reinstalls the same next pair, and the device's next runs still agree. */
TEST_F(ttp, replayed_m1_does_not_desynchronise)
{
	uint8_t f[M2_FRAME], p[FRAME_MAX], m1[64], r2[16], sk_m[16], m4[48];
	struct iomt_s2_mec_pending pend;
	int fd = connect_to(self->link_port);
	size_t len = 0;

	run_start(self, 2, 2, 20, f);
	memcpy(m1, f + IOMT_WIRE_HDR_LEN + 4, 64);  /* M2 begins with M1 */
	ASSERT_EQ(exchange(fd, f, p, &len), IOMT_MSG_S2_M3);
	run_finish(self, &self->runs[2], p, len);
	/* The attacker replays M1; the MEC runs it with slot 3 as a new request. */
	ASSERT_EQ(rt_random(r2, 16), 0);
	iomt_wire_put_hdr(f, IOMT_MSG_S2_M2, IOMT_WIRE_S2_M2_LEN);
	iomt_store_be32(f + IOMT_WIRE_HDR_LEN, 21);
	ASSERT_EQ(iomt_s2_mec_m2(self->slot[3].did, self->slot[3].dk, r2, m1, 64, &pend,
				 f + IOMT_WIRE_HDR_LEN + 4), IOMT_OK);
	ASSERT_EQ(exchange(fd, f, p, &len), IOMT_MSG_S2_M3);
	ASSERT_EQ(iomt_s2_mec_finish(&pend, p + 4, 64, sk_m, m4, self->slot[3].did,
				     self->slot[3].dk), IOMT_OK);
	/* Nobody can use that run (the attacker has no c-values); the device
	 * never answers it, and its own next runs agree, on both slots. */
	agree(self, fd, 2, 2);
	agree(self, fd, 2, 3);
	close(fd);
}

TEST_F(ttp, forged_c1_refused_and_nothing_changes)
{
	uint8_t f[M2_FRAME], g[M2_FRAME], m1[64];
	int fd = connect_to(self->link_port);
	struct run *r = &self->runs[2];

	agree(self, fd, 2, 2);
	run_start(self, 2, 2, 42, f);
	/* A forged c1_i (the MEC's c1_m recomputed over the forged M1). */
	memcpy(g, f, sizeof(g));
	memcpy(m1, f + 8, 64);
	m1[40] ^= 1;
	ASSERT_EQ(iomt_s2_mec_m2(self->slot[2].did, self->slot[2].dk, r->r2, m1, 64, &r->pend,
				 g + 8), IOMT_OK);
	expect_err(fd, g, IOMT_S2_ERR_BAD_DEVICE);
	/* A forged c1_m. */
	memcpy(g, f, sizeof(g));
	g[8 + 100] ^= 0x20;
	expect_err(fd, g, IOMT_S2_ERR_BAD_MEC);
	/* A wrong DK_m for the right DID_m is a forged c1_m as well. */
	ASSERT_EQ(iomt_s2_mec_m2(self->slot[2].did, self->slot[3].dk, r->r2, f + 8, 64, &r->pend,
				 g + 8), IOMT_OK);
	expect_err(fd, g, IOMT_S2_ERR_BAD_MEC);
	/* Nothing moved: the genuine M2 still completes, and the next run too. */
	memcpy(m1, f + 8, 64);
	ASSERT_EQ(iomt_s2_mec_m2(self->slot[2].did, self->slot[2].dk, r->r2, m1, 64, &r->pend,
				 f + 8), IOMT_OK);
	{
		uint8_t p[FRAME_MAX];
		size_t len = 0;

		ASSERT_EQ(exchange(fd, f, p, &len), IOMT_MSG_S2_M3);
		run_finish(self, r, p, len);
	}
	agree(self, fd, 2, 2);
	close(fd);
}

TEST_F(ttp, unknown_identities)
{
	uint8_t f[M2_FRAME], g[M2_FRAME];
	int fd = connect_to(self->link_port);

	run_start(self, 3, 3, 0xabcdef01, f);
	memcpy(g, f, sizeof(g));
	g[8] ^= 0xff;                               /* DID_i */
	expect_err(fd, g, IOMT_S2_ERR_UNKNOWN_DEVICE);
	memcpy(g, f, sizeof(g));
	g[8 + 64] ^= 0xff;                          /* DID_m */
	expect_err(fd, g, IOMT_S2_ERR_UNKNOWN_MEC);
	expect_err(fd, g, IOMT_S2_ERR_UNKNOWN_MEC); /* once in the database, then cached */
	{
		uint8_t p[FRAME_MAX];
		size_t len = 0;

		ASSERT_EQ(exchange(fd, f, p, &len), IOMT_MSG_S2_M3);
		run_finish(self, &self->runs[3], p, len);
	}
	close(fd);
}

/* Each corrupt stream closes its own connection only. */
static void corrupt_closes(FIXTURE_DATA(ttp) *self, const uint8_t *bytes, size_t len)
{
	int fd = connect_to(self->link_port);

	send_all(fd, bytes, len);
	ASSERT_TRUE(closed_by_peer(fd));
	close(fd);
}

TEST_F(ttp, corrupt_and_wrong_frames)
{
	static const uint8_t bad_version[8] = { 7, IOMT_MSG_S2_M2, 0, 132 };
	static const uint8_t bad_type[8] = { 1, 0x7f, 0, 4 };
	static const uint8_t short_m2[4 + 131] = { 1, IOMT_MSG_S2_M2, 0, 131 };
	static const uint8_t huge[4] = { 1, IOMT_MSG_S2_ANALYSIS_REQ, 0xff, 0xff };
	uint8_t m1frame[4 + 64] = { 1, IOMT_MSG_S2_M1, 0, 64, 0xaa, 0xbb, 0xcc, 0xdd };
	uint8_t f[M2_FRAME], p[FRAME_MAX];
	size_t len = 0;
	int keep = connect_to(self->link_port), fd;

	corrupt_closes(self, bad_version, sizeof(bad_version));
	corrupt_closes(self, bad_type, sizeof(bad_type));
	corrupt_closes(self, short_m2, sizeof(short_m2));
	corrupt_closes(self, huge, sizeof(huge));
	/* A truncated M2, then the MEC goes away. */
	run_start(self, 4, 4, 1, f);
	fd = connect_to(self->link_port);
	send_all(fd, f, 70);
	close(fd);
	/* A frame of a type that is not for the TTP: MALFORMED, stream kept. */
	fd = connect_to(self->link_port);
	send_all(fd, m1frame, sizeof(m1frame));
	ASSERT_EQ(read_frame(fd, &(uint8_t){ 0 }, p, &len), 0);
	ASSERT_EQ(len, 5);
	ASSERT_EQ(iomt_load_be32(p), 0xaabbccddu);
	ASSERT_EQ(p[4], IOMT_S2_ERR_MALFORMED);
	agree(self, fd, 5, 5);
	close(fd);
	/* The connection opened first was never disturbed. */
	agree(self, keep, 4, 4);
	close(keep);
}

static __attribute__((noinline)) void pipeline(FIXTURE_DATA(ttp) *self, int n)
{
	static uint8_t all[256 * M2_FRAME], p[FRAME_MAX];
	int fd = connect_to(self->link_port), seen[256] = { 0 };
	uint8_t type = 0;
	size_t len = 0;

	for (int i = 0; i < n; i++)
		run_start(self, i, i, (uint32_t)(0x500 + i), all + (size_t)i * M2_FRAME);
	send_all(fd, all, (size_t)n * M2_FRAME);
	/* Replies come in any order: match them by req_id. */
	for (int k = 0; k < n; k++) {
		uint32_t id;

		ASSERT_EQ(read_frame(fd, &type, p, &len), 0);
		ASSERT_EQ(type, IOMT_MSG_S2_M3);
		id = iomt_load_be32(p) - 0x500;
		ASSERT_LT(id, (uint32_t)n);
		ASSERT_EQ(seen[id]++, 0);
		run_finish(self, &self->runs[id], p, len);
	}
	close(fd);
}

TEST_F(ttp, two_hundred_pipelined_m2s_all_answered)
{
	for (int i = 0; i < 3; i++)
		new_analysis(self, 50);
	pipeline(self, 200);
	pipeline(self, 200);
}

TEST_F(ttp, same_device_twice_in_one_write)
{
	uint8_t f[2 * M2_FRAME], p[FRAME_MAX];
	struct run first;
	size_t len = 0;
	uint8_t type = 0;
	int fd = connect_to(self->link_port);

	/* The device retries through another slot before any answer; both M2s
	 * land in one batch: the second sees the first's rotation. */
	run_start(self, 6, 6, 1, f);
	first = self->runs[6];
	run_start(self, 6, 7, 2, f + M2_FRAME);
	send_all(fd, f, sizeof(f));
	for (int k = 0; k < 2; k++) {
		ASSERT_EQ(read_frame(fd, &type, p, &len), 0);
		ASSERT_EQ(type, IOMT_MSG_S2_M3);
		if (iomt_load_be32(p) == 2)
			run_finish(self, &self->runs[6], p, len);
	}
	(void)first;
	/* Slot 6 never finished: it retries with its old pair, accepted. */
	agree(self, fd, 6, 6);
	agree(self, fd, 6, 7);
	close(fd);
}

TEST_F(ttp, restart_keeps_state)
{
	int fd = connect_to(self->link_port);

	for (int i = 0; i < 3; i++)
		agree(self, fd, 8, 8);
	close(fd);
	ASSERT_EQ(stop(self), 0);
	start(self);
	fd = connect_to(self->link_port);
	agree(self, fd, 8, 8);
	agree(self, fd, 9, 8);
	close(fd);
}

/* ---- crash in the middle of a stream ---- */

/* Sends an M2 for every idle device (device i with slot i). */
static void stream_send(FIXTURE_DATA(ttp) *self, int fd, int ndev, int *gen, int *inflight,
			int budget)
{
	static uint8_t buf[64 * M2_FRAME];
	size_t off = 0;

	for (int i = 0; i < ndev && *inflight < budget; i++) {
		if (self->runs[i].live)
			continue;
		run_start(self, i, i, (uint32_t)((++*gen) << 8 | i), buf + off);
		off += M2_FRAME;
		(*inflight)++;
	}
	if (off)
		send_all(fd, buf, off);
}

/* The stream: 'total' agreements of ndev devices, with a kill -9 each time
 * another 'kill_every' are done (runs in flight), then a restart. */
static __attribute__((noinline)) void stream(FIXTURE_DATA(ttp) *self, int ndev, int total,
					     int kill_every)
{
	static uint8_t p[FRAME_MAX];
	int fd = connect_to(self->link_port), gen = 0, done = 0, inflight = 0, killed = 0;
	uint8_t type = 0;
	size_t len = 0;

	while (done < total) {
		stream_send(self, fd, ndev, &gen, &inflight, total - done);
		if (done >= (killed + 1) * kill_every) {
			crash(self);
			/* Replies sent before the crash still arrive, and count. */
			while (read_frame(fd, &type, p, &len) == 0) {
				ASSERT_EQ(type, IOMT_MSG_S2_M3);
				run_finish(self, &self->runs[iomt_load_be32(p) & 0xff], p, len);
				done++;
			}
			close(fd);
			/* In-flight runs are lost: the devices stay in AWAIT_M4 and the
			 * slots keep their pairs; their next start is a retry. */
			for (int i = 0; i < ndev; i++)
				self->runs[i].live = 0;
			inflight = 0;
			killed++;
			start(self);
			fd = connect_to(self->link_port);
			continue;
		}
		ASSERT_EQ(read_frame(fd, &type, p, &len), 0);
		ASSERT_EQ(type, IOMT_MSG_S2_M3);
		ASSERT_LT(iomt_load_be32(p) & 0xff, (uint32_t)ndev);
		run_finish(self, &self->runs[iomt_load_be32(p) & 0xff], p, len);
		inflight--;
		done++;
	}
	close(fd);
	TH_LOG("%d agreements, %d kill -9 with runs in flight", done, killed);
}

TEST_F_TIMEOUT(ttp, kill9_during_1000_agreements_nobody_desynchronised, 120)
{
	int fd, failed = 0;
	uint8_t f[M2_FRAME], p[FRAME_MAX];
	size_t len = 0;

	stream(self, 50, 1000, 40);
	/* Every device and every slot used, once more, with the pairs it holds. */
	fd = connect_to(self->link_port);
	for (int i = 0; i < 50; i++) {
		run_start(self, i, i, (uint32_t)i, f);
		if (exchange(fd, f, p, &len) != IOMT_MSG_S2_M3)
			failed++;
		else
			run_finish(self, &self->runs[i], p, len);
	}
	ASSERT_EQ(failed, 0);
	/* Slots crossed over to other devices agree too. */
	for (int i = 0; i < 50; i++)
		agree(self, fd, i, (i + 1) % 50);
	close(fd);
}

static void start_with(FIXTURE_DATA(ttp) *self, const char *key, const char *value)
{
	const char *args[] = { "-c", self->conf, key, value, NULL };

	unlink(self->ports);
	self->pid = spawn(self->bin, args, self->log);
	ASSERT_GT(self->pid, 0);
	read_ports(self);
}

/* SIGTERM finishes the batch already received (batch_max 10 of the 50
 * M2s), answers the rest BUSY, delivers, exits 0. The daemon is stopped
 * while the M2s and the signal arrive, so both are there when it wakes. */
TEST_F(ttp, sigterm_finishes_the_batch_and_refuses_the_rest)
{
	static uint8_t all[50 * M2_FRAME], p[FRAME_MAX], log[1 << 16];
	int fd, m3 = 0, busy = 0, st;
	uint8_t type = 0;
	size_t len = 0;

	ASSERT_EQ(stop(self), 0);
	start_with(self, "--batch-max", "10");
	fd = connect_to(self->link_port);
	/* One exchange first, so the link is surely accepted before the stop. */
	run_start(self, 0, 0, 1, all);
	all[IOMT_WIRE_HDR_LEN + 4] ^= 1;
	expect_err(fd, all, IOMT_S2_ERR_UNKNOWN_DEVICE);
	for (int i = 0; i < 50; i++)
		run_start(self, i, i, (uint32_t)(0x700 + i), all + (size_t)i * M2_FRAME);
	ASSERT_EQ(kill(self->pid, SIGSTOP), 0);
	ASSERT_EQ(waitpid(self->pid, &st, WUNTRACED), self->pid);
	ASSERT_TRUE(WIFSTOPPED(st));
	send_all(fd, all, sizeof(all));
	usleep(100000);
	ASSERT_EQ(kill(self->pid, SIGTERM), 0);
	ASSERT_EQ(kill(self->pid, SIGCONT), 0);
	while (read_frame(fd, &type, p, &len) == 0) {
		if (type == IOMT_MSG_S2_M3) {
			run_finish(self, &self->runs[iomt_load_be32(p) - 0x700], p, len);
			m3++;
		} else {
			ASSERT_EQ(type, IOMT_MSG_S2_LINK_ERR);
			ASSERT_EQ(p[4], IOMT_S2_ERR_BUSY);
			busy++;
		}
	}
	close(fd);
	ASSERT_EQ(m3, 10);
	ASSERT_EQ(busy, 40);
	ASSERT_EQ(de_wait_for(self->pid, 10000), 0);
	self->pid = 0;
	ASSERT_GT(rt_test_read(self->audit, (char *)log, sizeof(log)), 0);
	ASSERT_NONNULL(strstr((char *)log, "\"event\":\"ttp_stop\""));
	/* Answered or refused, every device still agrees. */
	start(self);
	fd = connect_to(self->link_port);
	for (int i = 0; i < 50; i++)
		agree(self, fd, i, i);
	close(fd);
}

/* ---- the database ---- */

TEST_F(ttp, failed_commit_answers_internal_and_changes_nothing)
{
	struct iomt_s2_device before;
	struct rt_store *st;
	uint8_t f[M2_FRAME], p[FRAME_MAX];
	size_t len = 0;
	int fd = connect_to(self->link_port);

	/* The device's pair before this run: the TTP keeps it as previous. */
	before = self->dev[10];
	agree(self, fd, 10, 10);
	/* Another writer holds the lock past the daemon's busy timeout. */
	ASSERT_EQ(rt_store_open(self->db, &st), 0);
	ASSERT_EQ(rt_store_begin(st), 0);
	run_start(self, 10, 10, 99, f);
	ASSERT_EQ(exchange(fd, f, p, &len), IOMT_MSG_S2_LINK_ERR);
	ASSERT_EQ(p[4], IOMT_S2_ERR_INTERNAL);
	ASSERT_EQ(rt_store_rollback(st), 0);
	rt_store_close(st);
	/* Memory was rolled back: the pair before the last agreement is still
	 * the previous one (had the failed run stayed in memory, it would have
	 * been dropped). The device comes back with it, as after a lost M4. */
	self->dev[10] = before;
	agree(self, fd, 10, 10);
	agree(self, fd, 10, 10);
	close(fd);
	/* And the database agrees with memory after a restart. */
	ASSERT_EQ(stop(self), 0);
	start(self);
	fd = connect_to(self->link_port);
	agree(self, fd, 10, 10);
	close(fd);
}

TEST_F(ttp, mec_registered_while_running_is_picked_up)
{
	struct slot s2[3];
	char prov[160];
	int fd;

	snprintf(prov, sizeof(prov), "%s/mec2.prov", self->dir);
	ASSERT_EQ(admin(self, "register-mec", "--db", self->db, "--name", "mec2", "--slots", "3",
			"--out", prov, "--audit-log", self->audit, NULL), 0);
	parse_slots(self, prov, s2, 3);
	self->slot[200] = s2[2];
	fd = connect_to(self->link_port);
	agree(self, fd, 11, 200);
	agree(self, fd, 11, 200);
	close(fd);
}

/* Sends f again and again until the socket stays full for a second: the
 * number of whole frames that went in. */
static int fill_until_blocked(int fd, const uint8_t *f, size_t len)
{
	size_t off = 0;
	int sent = 0, stalls = 0;

	while (stalls < 50 && sent < 400000) {
		ssize_t n = send(fd, f + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			off = (off + (size_t)n) % len;
			sent += off == 0;
			stalls = 0;
			continue;
		}
		ASSERT_TRUE(n < 0 && errno == EAGAIN);
		stalls++;
		usleep(20000);
	}
	ASSERT_EQ(stalls, 50);
	return sent;
}

/* A MEC that sends and never reads fills only its own buffers: the TTP
 * stops taking its M2s (and the kernel stops its sends), others go on. */
TEST_F_TIMEOUT(ttp, mec_that_stops_reading_blocks_nobody, 60)
{
	uint8_t f[M2_FRAME];
	int slow = connect_to(self->link_port), rcv = 2048, fd;
	struct timespec t0, t1;

	setsockopt(slow, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	run_start(self, 12, 12, 5, f);
	/* The same M2 over and over: each is answered, nobody reads them. */
	TH_LOG("the slow MEC got %d M2s in before its socket filled",
	       fill_until_blocked(slow, f, sizeof(f)));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fd = connect_to(self->link_port);
	for (int i = 0; i < 5; i++)
		agree(self, fd, 13, 13);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ASSERT_LT(t1.tv_sec - t0.tv_sec, 5);
	close(fd);
	close(slow);
	/* The slow MEC's slot still agrees (its replays matched the previous pair). */
	fd = connect_to(self->link_port);
	agree(self, fd, 12, 12);
	close(fd);
}

/* ---- phase 2 ---- */

static uint8_t analysis_code(FIXTURE_DATA(ttp) *self, EVP_PKEY *key, const struct ecqv_cert *c,
			     uint64_t ts, const uint8_t nonce[16])
{
	static uint8_t req[S2_ANALYSIS_REQ_MAX], reply[S2_ANALYSIS_RESP_MAX];
	size_t len = build_req(key, c, ts, nonce, 2, req), rlen = 0;
	uint8_t type = user_exchange(self, IOMT_MSG_S2_ANALYSIS_REQ, req, len, reply, &rlen);

	if (type == IOMT_MSG_S2_ANALYSIS_RESP)
		return 0;
	ASSERT_EQ(type, IOMT_MSG_S2_USER_ERR);
	ASSERT_EQ(rlen, 1);
	return reply[0];
}

static int analyses_in_db(FIXTURE_DATA(ttp) *self)
{
	struct rt_store *st;
	struct rt_stmt *s;
	int n;

	ASSERT_EQ(rt_store_open(self->db, &st), 0);
	ASSERT_EQ(rt_stmt_prepare(st, "SELECT count(*) FROM analyses", &s), 0);
	ASSERT_EQ(rt_stmt_step(s), RT_STMT_ROW);
	n = (int)rt_stmt_int(s, 0);
	rt_stmt_free(s);
	rt_store_close(st);
	return n;
}

TEST_F(ttp, phase2_refusals_change_nothing)
{
	static uint8_t req[S2_ANALYSIS_REQ_MAX], reply[S2_ANALYSIS_RESP_MAX];
	uint8_t nonce[16] = { 1 }, type;
	struct ecqv_cert dcert;
	EVP_PKEY *doctor;
	size_t len, rlen = 0;
	int before = analyses_in_db(self);

	register_user(self, "bob", "doctor", &doctor, &dcert);
	/* Replay: the same signed request twice. */
	len = build_req(self->patient, &self->pcert, (uint64_t)time(NULL), nonce, 2, req);
	ASSERT_EQ(user_exchange(self, IOMT_MSG_S2_ANALYSIS_REQ, req, len, reply, &rlen),
		  IOMT_MSG_S2_ANALYSIS_RESP);
	ASSERT_EQ(user_exchange(self, IOMT_MSG_S2_ANALYSIS_REQ, req, len, reply, &rlen),
		  IOMT_MSG_S2_USER_ERR);
	ASSERT_EQ(reply[0], IOMT_S2_ERR_DENIED);
	before++;
	/* Signature by another key, stale ts, not a patient. */
	nonce[0] = 2;
	ASSERT_EQ(analysis_code(self, doctor, &self->pcert, (uint64_t)time(NULL), nonce),
		  IOMT_S2_ERR_DENIED);
	ASSERT_EQ(analysis_code(self, self->patient, &self->pcert, (uint64_t)time(NULL) - 3600,
				nonce), IOMT_S2_ERR_DENIED);
	ASSERT_EQ(analysis_code(self, doctor, &dcert, (uint64_t)time(NULL), nonce),
		  IOMT_S2_ERR_DENIED);
	/* Revoked. */
	ASSERT_EQ(admin(self, "revoke-user", "--db", self->db, "--id", "alice", "--audit-log",
			self->audit, NULL), 0);
	nonce[0] = 3;
	ASSERT_EQ(analysis_code(self, self->patient, &self->pcert, (uint64_t)time(NULL), nonce),
		  IOMT_S2_ERR_DENIED);
	/* Garbage, and a frame of another type. */
	memset(req, 0x41, 200);
	type = user_exchange(self, IOMT_MSG_S2_ANALYSIS_REQ, req, 200, reply, &rlen);
	ASSERT_EQ(type, IOMT_MSG_S2_USER_ERR);
	ASSERT_EQ(reply[0], IOMT_S2_ERR_MALFORMED);
	type = user_exchange(self, IOMT_MSG_S2_ANALYSIS_RESP, req, 200, reply, &rlen);
	ASSERT_EQ(reply[0], IOMT_S2_ERR_MALFORMED);
	ASSERT_EQ(analyses_in_db(self), before);
	EVP_PKEY_free(doctor);
}

/* A certificate from our CA for a subject nobody registered. */
TEST_F(ttp, phase2_certificate_not_on_record_is_denied)
{
	struct ecqv_request rq;
	struct ecqv_cert c = { .role = ECQV_ROLE_PATIENT };
	uint8_t r[32], nonce[16] = { 9 };
	EVP_PKEY *ca = NULL, *key = NULL;
	FILE *f = fopen(self->key, "r");

	ASSERT_NONNULL(f);
	ca = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	ASSERT_NONNULL(ca);
	ASSERT_EQ(ecqv_request_new(&rq), 0);
	memcpy(c.subject, "mallory", 7);
	c.not_before = (uint64_t)time(NULL) - 10;
	c.not_after = c.not_before + 1000;
	ASSERT_EQ(ecqv_ca_issue(ca, rq.ru, &c, r), 0);
	ASSERT_EQ(ecqv_reconstruct_private(&rq, &c, r, self->ca_pub, (uint64_t)time(NULL), &key),
		  0);
	ASSERT_EQ(analysis_code(self, key, &c, (uint64_t)time(NULL), nonce), IOMT_S2_ERR_DENIED);
	/* alice's name on a certificate that is not hers. */
	memcpy(c.subject, "alice\0\0", 7);
	ASSERT_EQ(ecqv_ca_issue(ca, rq.ru, &c, r), 0);
	EVP_PKEY_free(key);
	ASSERT_EQ(ecqv_reconstruct_private(&rq, &c, r, self->ca_pub, (uint64_t)time(NULL), &key),
		  0);
	nonce[0] = 10;
	ASSERT_EQ(analysis_code(self, key, &c, (uint64_t)time(NULL), nonce), IOMT_S2_ERR_DENIED);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ca);
	ecqv_request_wipe(&rq);
}

TEST_F(ttp, phase2_corrupt_and_oversized_frames)
{
	static const uint8_t bad[8] = { 9, 9, 9, 9 };
	static const uint8_t big[4] = { 1, IOMT_MSG_S2_ANALYSIS_REQ, 0xff, 0xf0 };
	uint8_t p[16], type = 0;
	size_t len = 0;
	int fd = connect_to(self->user_port);

	send_all(fd, bad, sizeof(bad));
	ASSERT_EQ(read_frame(fd, &type, p, &len), 0);
	ASSERT_EQ(type, IOMT_MSG_S2_USER_ERR);
	ASSERT_EQ(p[0], IOMT_S2_ERR_MALFORMED);
	close(fd);
	fd = connect_to(self->user_port);
	send_all(fd, big, sizeof(big));
	ASSERT_EQ(read_frame(fd, &type, p, &len), 0);
	ASSERT_EQ(p[0], IOMT_S2_ERR_MALFORMED);
	close(fd);
	new_analysis(self, 1);
}

/* ---- metrics and audit ---- */

static void http_get(uint16_t port, char *out, size_t cap)
{
	static const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
	int fd = connect_to(port);
	size_t got = 0;
	ssize_t n;

	send_all(fd, req, sizeof(req) - 1);
	while (got + 1 < cap && (n = recv(fd, out + got, cap - 1 - got, 0)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(fd);
}

TEST_F(ttp, metrics_serve_the_counters)
{
	static char text[1 << 16];
	uint8_t f[M2_FRAME];
	int fd = connect_to(self->link_port);

	agree(self, fd, 14, 14);
	run_start(self, 14, 14, 1, f);
	f[8] ^= 1;
	expect_err(fd, f, IOMT_S2_ERR_UNKNOWN_DEVICE);
	http_get(self->metrics_port, text, sizeof(text));
	close(fd);
	ASSERT_NONNULL(strstr(text, "HTTP/1.0 200"));
	ASSERT_NONNULL(strstr(text, "iomt_ttp_agreements_total{result=\"ok\"} 1\n"));
	ASSERT_NONNULL(strstr(text, "iomt_ttp_agreements_total{result=\"unknown_device\"} 1\n"));
	ASSERT_NONNULL(strstr(text, "iomt_ttp_batches_total 2\n"));
	ASSERT_NONNULL(strstr(text, "iomt_ttp_batch_requests_total 2\n"));
	ASSERT_NONNULL(strstr(text, "iomt_ttp_commits_total{result=\"ok\"} 1\n"));
	ASSERT_NONNULL(strstr(text, "iomt_ttp_commit_microseconds_total"));
	ASSERT_NONNULL(strstr(text, "iomt_ttp_link_connections 1\n"));
	ASSERT_NONNULL(strstr(text, "iomt_ttp_user_requests_total{result=\"ok\"} 1\n"));
	ASSERT_NONNULL(strstr(text, "iomt_ttp_parties{kind=\"device\"} 50\n"));
	ASSERT_NONNULL(strstr(text, "iomt_ttp_parties{kind=\"mec\"} 210\n"));
}

TEST_F(ttp, audit_log_has_admin_actions_and_phase2_decisions)
{
	static char text[1 << 16];
	uint8_t nonce[16] = { 7 };

	ASSERT_EQ(analysis_code(self, self->patient, &self->pcert, (uint64_t)time(NULL) - 7200,
				nonce), IOMT_S2_ERR_DENIED);
	ASSERT_EQ(stop(self), 0);
	ASSERT_GT(rt_test_read(self->audit, text, sizeof(text)), 0);
	ASSERT_NONNULL(strstr(text, "\"event\":\"admin_init\""));
	ASSERT_NONNULL(strstr(text, "\"event\":\"admin_register_mec\",\"mec\":\"mec1\",\"slots\":\"210\""));
	ASSERT_NONNULL(strstr(text, "\"event\":\"admin_register_user\",\"user\":\"alice\",\"role\":\"patient\""));
	ASSERT_NONNULL(strstr(text, "\"event\":\"ttp_start\""));
	ASSERT_NONNULL(strstr(text, "\"event\":\"analysis_created\""));
	ASSERT_NONNULL(strstr(text, "\"devices\":\"50\""));
	ASSERT_NONNULL(strstr(text, "\"event\":\"analysis_denied\""));
	ASSERT_NONNULL(strstr(text, "\"event\":\"ttp_stop\""));
}

TEST_F(ttp, sighup_reopens_logs)
{
	char moved[160], text[4096];

	snprintf(moved, sizeof(moved), "%s.1", self->audit);
	ASSERT_EQ(rename(self->audit, moved), 0);
	ASSERT_EQ(kill(self->pid, SIGHUP), 0);
	for (int i = 0; i < 200 && access(self->audit, F_OK); i++)
		usleep(10000);
	new_analysis(self, 1);
	ASSERT_GT(rt_test_read(self->audit, text, sizeof(text)), 0);
	ASSERT_NONNULL(strstr(text, "analysis_created"));
}

/* ---- the command line ---- */

TEST_F(ttp, help_and_bad_configuration)
{
	char out[160], text[8192];
	const char *help[] = { "--help", NULL };
	const char *bad[] = { "--batch-max", "0", NULL };
	const char *nodb[] = { "--db", "/nonexistent/ttp.db", "--ca-key", self->key,
			       "--audit-log", self->audit, "--listen", "127.0.0.1:0",
			       "--user-listen", "127.0.0.1:0", "--metrics=no", NULL };

	snprintf(out, sizeof(out), "%s/cli.out", self->dir);
	ASSERT_EQ(de_wait_for(spawn(self->bin, help, out), 5000), 0);
	ASSERT_GT(rt_test_read(out, text, sizeof(text)), 0);
	ASSERT_NONNULL(strstr(text, "batch_max"));
	ASSERT_NONNULL(strstr(text, "SIGHUP"));
	ASSERT_NONNULL(strstr(text, "iomt-ttp admin register-mec"));
	unlink(out);
	ASSERT_EQ(de_wait_for(spawn(self->bin, bad, out), 5000), 2);
	ASSERT_GT(rt_test_read(out, text, sizeof(text)), 0);
	ASSERT_NONNULL(strstr(text, "batch_max"));
	unlink(out);
	ASSERT_EQ(de_wait_for(spawn(self->bin, nodb, out), 5000), 1);
	ASSERT_GT(rt_test_read(out, text, sizeof(text)), 0);
	ASSERT_NONNULL(strstr(text, "database missing"));
}
