/* SPDX-License-Identifier: MIT */
/*
 * iomt-kdc end to end: the real daemon on 127.0.0.1 (ports chosen by the
 * OS, read from its port_file), its database made with 'iomt-kdc admin',
 * keys exported to key files and read back with rt_keyfile, and this suite
 * as the clients, with lib's client state machine (iomt_kdc_client_*) over
 * raw UDP and TCP.
 *
 * AS + TGS for kind pairs on both transports (each ticket opened with the
 * service's own key), the same-patient policy, the cloud store, revoked
 * clients and targets, key rotation (STALE_KEY, a forged kvno is BAD_MAC,
 * old TGTs refused), TGS key rotation, unknown principals, skew, malformed /
 * truncated / oversized / unknown frames on both transports, pipelining and
 * half-close on TCP, the audit log (issues, denials, no key anywhere on
 * disk), metrics, SIGHUP, SIGTERM, the loss of either process, and kill -9
 * under load with the admin CLI registering meanwhile.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "harness.h"
#include "daemon_env.h"
#include "bytes.h"
#include "kdc.h"
#include "lib/rt_keyfile.h"
#include "lib/rt_rng.h"
#include "rt/rt_test.h"
#include "wire.h"

enum {
	IO_MS = 5000,
	FRAME_MAX = IOMT_WIRE_HDR_LEN + 512,
	MAX_KEYS = 64,
};

struct principal {
	char name[20];
	struct rt_keyfile kf;
};

FIXTURE(kdc) {
	char dir[64], db[128], master[128], audit[128], conf[128], ports[128], log[128];
	char out[128];
	char bin[PATH_MAX];
	pid_t pid;
	uint16_t port, metrics_port;
	struct principal keys[MAX_KEYS];
	int nkeys;
	char text[1 << 16];
};

FIXTURE_VARIANT(kdc) {
	int tcp;
};
FIXTURE_VARIANT_ADD(kdc, udp) { .tcp = 0 };
FIXTURE_VARIANT_ADD(kdc, tcp) { .tcp = 1 };

/* ---- processes ---- */

/* iomt-kdc admin CMD ... --db DB (NULL-terminated): its exit status. */
static int admin(FIXTURE_DATA(kdc) *self, const char *cmd, ...)
{
	static char prog[] = "iomt-kdc", adm[] = "admin", dbo[] = "--db";
	char *argv[32] = { prog, adm, (char *)(uintptr_t)cmd };
	int n = 3;
	va_list ap;

	va_start(ap, cmd);
	while (n < 28 && (argv[n] = (char *)(uintptr_t)va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n++] = dbo;
	argv[n++] = self->db;
	argv[n] = NULL;
	unlink(self->out);
	return de_wait_for(de_spawn(self->bin, argv, self->out), 30000);
}

static void add_principal(FIXTURE_DATA(kdc) *self, const char *name, const char *kind,
			  const char *patient)
{
	struct principal *p = &self->keys[self->nkeys++];
	char path[160], err[256];

	if (patient)
		ASSERT_EQ(admin(self, "register", name, "--kind", kind, "--patient", patient, NULL),
			  0);
	else
		ASSERT_EQ(admin(self, "register", name, "--kind", kind, NULL), 0);
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(path, sizeof(path), "%s/%s.key", self->dir, name);
	ASSERT_EQ(admin(self, "export-key", name, "--master", self->master, "--out", path, NULL), 0);
	ASSERT_EQ(rt_keyfile_read(path, NULL, &p->kf, err, sizeof(err)), 0);
}

/* The key file of name, exported again (after a rotation). */
static void reexport(FIXTURE_DATA(kdc) *self, const char *name, struct rt_keyfile *kf)
{
	char path[160], err[256];

	snprintf(path, sizeof(path), "%s/%s.key", self->dir, name);
	ASSERT_EQ(admin(self, "export-key", name, "--master", self->master, "--out", path, NULL), 0);
	ASSERT_EQ(rt_keyfile_read(path, NULL, kf, err, sizeof(err)), 0);
}

static struct rt_keyfile *key_of(FIXTURE_DATA(kdc) *self, const char *name)
{
	for (int i = 0; i < self->nkeys; i++)
		if (!strcmp(self->keys[i].name, name))
			return &self->keys[i].kf;
	ASSERT_TRUE(0);
	return NULL;
}

static void read_ports(FIXTURE_DATA(kdc) *self)
{
	char buf[256];
	unsigned u = 0, t = 0, m = 0;

	for (int i = 0; i < 1000; i++) {
		if (rt_test_read(self->ports, buf, sizeof(buf)) > 0 &&
		    sscanf(buf, "udp=%u\ntcp=%u\nmetrics=%u", &u, &t, &m) == 3)
			break;
		ASSERT_EQ(waitpid(self->pid, NULL, WNOHANG), 0);
		usleep(10000);
	}
	ASSERT_GT(u, 0);
	ASSERT_EQ(u, t);
	self->port = (uint16_t)u;
	self->metrics_port = (uint16_t)m;
}

static void start(FIXTURE_DATA(kdc) *self)
{
	static char prog[] = "iomt-kdc", co[] = "-c";
	char *argv[] = { prog, co, self->conf, NULL };

	unlink(self->ports);
	self->pid = de_spawn(self->bin, argv, self->log);
	ASSERT_GT(self->pid, 0);
	read_ports(self);
}

static int stop(FIXTURE_DATA(kdc) *self)
{
	int st;

	ASSERT_EQ(kill(self->pid, SIGTERM), 0);
	st = de_wait_for(self->pid, 10000);
	self->pid = 0;
	return st;
}

/* The network process: the keeper's only child. */
static pid_t net_pid(pid_t keeper)
{
	char path[64], buf[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", keeper, keeper);
	if (rt_test_read(path, buf, sizeof(buf)) <= 0)
		return 0;
	return (pid_t)atoi(buf);
}

static int alive(pid_t pid)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (rt_test_read(path, buf, sizeof(buf)) <= 0)
		return 0;
	p = strrchr(buf, ')');
	return p && p[2] != 'Z' && p[2] != 'X';
}

static void write_conf(FIXTURE_DATA(kdc) *self, const char *extra)
{
	char text[2048];
	int n = snprintf(text, sizeof(text),
			 "db %s\nmaster %s\nlisten 127.0.0.1:0\nmetrics_listen 127.0.0.1:0\n"
			 "audit_log %s\nport_file %s\nlog_level debug\nlog_file %s\n"
			 "reload_interval 20ms\nstop_timeout 2s\n%s",
			 self->db, self->master, self->audit, self->ports, self->log, extra);

	ASSERT_EQ(rt_test_write(self->conf, text, (size_t)n), 0);
}

FIXTURE_SETUP(kdc)
{
	ASSERT_EQ(rt_test_mkdtemp(self->dir, sizeof(self->dir), "kdcd"), 0);
	ASSERT_EQ(rt_test_bin("iomt-kdc", self->bin, sizeof(self->bin)), 0);
	if (access(self->bin, X_OK))
		SKIP(return, "iomt-kdc not built");
	snprintf(self->db, sizeof(self->db), "%s/kdc.db", self->dir);
	snprintf(self->master, sizeof(self->master), "%s/master.key", self->dir);
	snprintf(self->audit, sizeof(self->audit), "%s/kdc-audit.log", self->dir);
	snprintf(self->conf, sizeof(self->conf), "%s/kdc.conf", self->dir);
	snprintf(self->ports, sizeof(self->ports), "%s/ports", self->dir);
	snprintf(self->log, sizeof(self->log), "%s/kdc.log", self->dir);
	snprintf(self->out, sizeof(self->out), "%s/admin.out", self->dir);
	ASSERT_EQ(admin(self, "init", "--master", self->master, NULL), 0);
	add_principal(self, "s1", "sensor", "alice");
	add_principal(self, "s2", "sensor", "alice");
	add_principal(self, "g1", "gateway", "alice");
	add_principal(self, "p1", "ppd", "alice");
	add_principal(self, "s3", "sensor", "bob");
	add_principal(self, "c1", "cloud", NULL);
	add_principal(self, "c2", "cloud", NULL);
	write_conf(self, "");
	start(self);
}

FIXTURE_TEARDOWN(kdc)
{
	if (self->pid > 0) {
		pid_t net = net_pid(self->pid);

		kill(self->pid, SIGKILL);
		de_wait_for(self->pid, 5000);
		if (net > 0)
			kill(net, SIGKILL);
	}
	for (int i = 0; i < self->nkeys; i++)
		rt_keyfile_wipe(&self->keys[i].kf);
	rt_test_rmtree(self->dir);
}

/* ---- the wire ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct sockaddr_in addr_of(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int udp_socket(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ASSERT_GE(fd, 0);
	return fd;
}

static int tcp_connect(uint16_t port)
{
	struct sockaddr_in a = addr_of(port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static int wait_in(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* Exactly n bytes from a stream: n, 0 at EOF before any, -1 on timeout. */
static long read_n(int fd, uint8_t *buf, size_t n, int ms)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r;

		if (!wait_in(fd, ms))
			return -1;
		r = recv(fd, buf + got, n - got, 0);
		if (r <= 0)
			return got ? -1 : 0;
		got += (size_t)r;
	}
	return (long)got;
}

/* One frame from a stream into buf: its type and payload length, or -1. */
static int tcp_frame(int fd, uint8_t *buf, uint8_t *type, size_t *plen)
{
	if (read_n(fd, buf, IOMT_WIRE_HDR_LEN, IO_MS) != IOMT_WIRE_HDR_LEN)
		return -1;
	*type = buf[1];
	*plen = iomt_load_be16(buf + 2);
	if (*plen > FRAME_MAX - IOMT_WIRE_HDR_LEN ||
	    read_n(fd, buf + IOMT_WIRE_HDR_LEN, *plen, IO_MS) != (long)*plen)
		return -1;
	return 0;
}

/* Sends one frame and returns the reply's type and payload (in rep). */
static int exchange(FIXTURE_DATA(kdc) *self, int tcp, uint8_t type, const uint8_t *p,
		    size_t len, uint8_t *rep, size_t *rlen)
{
	uint8_t frame[FRAME_MAX], in[FRAME_MAX], rtype;
	struct sockaddr_in a = addr_of(self->port);
	int fd;

	ASSERT_EQ(iomt_wire_put_hdr(frame, type, len), 0);
	memcpy(frame + IOMT_WIRE_HDR_LEN, p, len);
	if (tcp) {
		fd = tcp_connect(self->port);
		ASSERT_EQ(send(fd, frame, IOMT_WIRE_HDR_LEN + len, 0),
			  (ssize_t)(IOMT_WIRE_HDR_LEN + len));
		ASSERT_EQ(tcp_frame(fd, in, &rtype, rlen), 0);
	} else {
		ssize_t n;

		fd = udp_socket();
		ASSERT_EQ(sendto(fd, frame, IOMT_WIRE_HDR_LEN + len, 0, (struct sockaddr *)&a,
				 sizeof(a)), (ssize_t)(IOMT_WIRE_HDR_LEN + len));
		ASSERT_TRUE(wait_in(fd, IO_MS));
		n = recv(fd, in, sizeof(in), 0);
		ASSERT_GE(n, IOMT_WIRE_HDR_LEN);
		ASSERT_EQ(iomt_load_be16(in + 2), (size_t)n - IOMT_WIRE_HDR_LEN);
		rtype = in[1];
		*rlen = (size_t)n - IOMT_WIRE_HDR_LEN;
	}
	close(fd);
	memcpy(rep, in + IOMT_WIRE_HDR_LEN, *rlen);
	return rtype;
}

/* ---- the client side ---- */

static void client_init(struct iomt_kdc_client *c, const struct rt_keyfile *kf)
{
	ASSERT_EQ(iomt_kdc_client_init(c, kf->name, kf->kvno, kf->key), 0);
}

/* AS exchange at time t: the client's result code. */
static int as_at(FIXTURE_DATA(kdc) *self, int tcp, struct iomt_kdc_client *c, uint64_t t)
{
	uint8_t rnd[IOMT_KDC_AS_REQ_RAND], req[IOMT_KDC_AS_REQ_LEN], rep[FRAME_MAX];
	size_t rlen;
	int type;

	ASSERT_EQ(rt_random(rnd, sizeof(rnd)), 0);
	ASSERT_EQ(iomt_kdc_client_as_req(c, t, rnd, req), 0);
	type = exchange(self, tcp, IOMT_MSG_KDC_AS_REQ, req, sizeof(req), rep, &rlen);
	return iomt_kdc_client_recv(c, (uint8_t)type, rep, rlen);
}

static int as(FIXTURE_DATA(kdc) *self, int tcp, struct iomt_kdc_client *c)
{
	return as_at(self, tcp, c, now_ms());
}

static int tgs(FIXTURE_DATA(kdc) *self, int tcp, struct iomt_kdc_client *c, const char *target)
{
	uint8_t rnd[IOMT_KDC_TGS_REQ_RAND], req[IOMT_KDC_TGS_REQ_LEN], rep[FRAME_MAX];
	uint8_t t[IOMT_KDC_NAME_LEN];
	size_t rlen;
	int type;

	ASSERT_EQ(iomt_kdc_name_from_text(t, target), 0);
	ASSERT_EQ(rt_random(rnd, sizeof(rnd)), 0);
	ASSERT_EQ(iomt_kdc_client_tgs_req(c, t, now_ms(), rnd, req), 0);
	type = exchange(self, tcp, IOMT_MSG_KDC_TGS_REQ, req, sizeof(req), rep, &rlen);
	return iomt_kdc_client_recv(c, (uint8_t)type, rep, rlen);
}

/* The service opens the ticket with its own key: what the KDC promised. */
static void service_opens(FIXTURE_DATA(kdc) *self, const struct iomt_kdc_client *c,
			  const char *service, const char *patient)
{
	const struct rt_keyfile *s = key_of(self, service);
	struct iomt_kdc_ticket_info info;
	uint8_t p[IOMT_KDC_NAME_LEN] = { 0 };

	ASSERT_EQ(c->state, IOMT_KDC_C_HAVE_TICKET);
	ASSERT_EQ(iomt_kdc_ticket_open(s->key, s->name, s->kvno, c->ticket, now_ms(), 300000,
				       &info), 0);
	ASSERT_MEMEQ(info.key, c->sess_key, IOMT_KDC_KEY_LEN);
	ASSERT_MEMEQ(info.cname, c->cname, IOMT_KDC_NAME_LEN);
	if (patient)
		ASSERT_EQ(iomt_kdc_name_from_text(p, patient), 0);
	ASSERT_MEMEQ(info.patient, p, IOMT_KDC_NAME_LEN);
	ASSERT_LE(info.lifetime_s, 8 * 3600);
	ASSERT_GT(info.lifetime_s, 8 * 3600 - 60);
}

static void pair_ok(FIXTURE_DATA(kdc) *self, int tcp, const char *client, const char *service,
		    const char *patient)
{
	struct iomt_kdc_client c;

	client_init(&c, key_of(self, client));
	ASSERT_EQ(as(self, tcp, &c), IOMT_KDC_OK);
	ASSERT_EQ(c.state, IOMT_KDC_C_HAVE_TGT);
	ASSERT_EQ(tgs(self, tcp, &c, service), IOMT_KDC_OK);
	service_opens(self, &c, service, patient);
	iomt_kdc_client_wipe(&c);
}

/* Retries op (an admin change takes up to reload_interval to be seen). */
#define EVENTUALLY(expr, want)                                                    \
	do {                                                                      \
		int got_ = -1;                                                    \
		for (int try_ = 0; try_ < 100 && (got_ = (expr)) != (want); try_++) \
			usleep(20000);                                            \
		ASSERT_EQ(got_, (want));                                          \
	} while (0)

/* ---- tests ---- */

TEST_F(kdc, as_and_tgs_for_kind_pairs)
{
	pair_ok(self, variant->tcp, "s1", "g1", "alice");
	pair_ok(self, variant->tcp, "s1", "p1", "alice");
	pair_ok(self, variant->tcp, "g1", "s2", "alice");
	pair_ok(self, variant->tcp, "p1", "c1", "alice");
	pair_ok(self, variant->tcp, "s1", "c1", "alice");
	/* The cloud store pairs with anyone, another cloud store included. */
	pair_ok(self, variant->tcp, "c1", "s3", "bob");
	pair_ok(self, variant->tcp, "c1", "c2", NULL);
}

TEST_F(kdc, one_tgt_serves_many_targets)
{
	struct iomt_kdc_client c;

	client_init(&c, key_of(self, "s1"));
	ASSERT_EQ(as(self, variant->tcp, &c), IOMT_KDC_OK);
	for (int i = 0; i < 20; i++) {
		ASSERT_EQ(tgs(self, variant->tcp, &c, i % 2 ? "g1" : "p1"), IOMT_KDC_OK);
		service_opens(self, &c, i % 2 ? "g1" : "p1", "alice");
	}
}

TEST_F(kdc, other_patients_and_oneself_are_refused)
{
	struct iomt_kdc_client c;

	client_init(&c, key_of(self, "s1"));
	ASSERT_EQ(as(self, variant->tcp, &c), IOMT_KDC_OK);
	ASSERT_EQ(tgs(self, variant->tcp, &c, "s3"), IOMT_KDC_ERR_POLICY);
	ASSERT_EQ(tgs(self, variant->tcp, &c, "s1"), IOMT_KDC_ERR_POLICY);
	/* Still usable after a refusal. */
	ASSERT_EQ(tgs(self, variant->tcp, &c, "g1"), IOMT_KDC_OK);
}

TEST_F(kdc, unknown_principals)
{
	struct rt_keyfile ghost = *key_of(self, "s1");
	struct iomt_kdc_client c;

	memset(ghost.name, 0, sizeof(ghost.name));
	memcpy(ghost.name, "ghost", 5);
	client_init(&c, &ghost);
	ASSERT_EQ(as(self, variant->tcp, &c), IOMT_KDC_ERR_UNKNOWN_PRINCIPAL);
	client_init(&c, key_of(self, "s1"));
	ASSERT_EQ(as(self, variant->tcp, &c), IOMT_KDC_OK);
	ASSERT_EQ(tgs(self, variant->tcp, &c, "nobody"), IOMT_KDC_ERR_UNKNOWN_PRINCIPAL);
	ASSERT_EQ(tgs(self, variant->tcp, &c, "krbtgt"), IOMT_KDC_ERR_UNKNOWN_PRINCIPAL);
}

TEST_F(kdc, skewed_preauth_and_wrong_key)
{
	struct rt_keyfile bad = *key_of(self, "s1");
	struct iomt_kdc_client c;

	client_init(&c, key_of(self, "s1"));
	ASSERT_EQ(as_at(self, variant->tcp, &c, now_ms() - 600000), IOMT_KDC_ERR_SKEW);
	ASSERT_EQ(as_at(self, variant->tcp, &c, now_ms() + 600000), IOMT_KDC_ERR_SKEW);
	ASSERT_EQ(as_at(self, variant->tcp, &c, now_ms() - 200000), IOMT_KDC_OK);
	bad.key[0] ^= 1;
	client_init(&c, &bad);
	ASSERT_EQ(as(self, variant->tcp, &c), IOMT_KDC_ERR_BAD_MAC);
}

TEST_F(kdc, revoked_clients_and_targets)
{
	struct iomt_kdc_client c, early;

	client_init(&early, key_of(self, "s2"));
	ASSERT_EQ(as(self, variant->tcp, &early), IOMT_KDC_OK);
	client_init(&c, key_of(self, "s1"));
	ASSERT_EQ(as(self, variant->tcp, &c), IOMT_KDC_OK);
	ASSERT_EQ(admin(self, "revoke", "s2", NULL), 0);
	/* Its AS, its TGS with a TGT from before, and tickets for it. */
	client_init(&early, key_of(self, "s2"));
	EVENTUALLY(as(self, variant->tcp, &early), IOMT_KDC_ERR_REVOKED);
	client_init(&early, key_of(self, "s2"));
	ASSERT_EQ(tgs(self, variant->tcp, &c, "s2"), IOMT_KDC_ERR_REVOKED);
	ASSERT_EQ(tgs(self, variant->tcp, &c, "g1"), IOMT_KDC_OK);
}

TEST_F(kdc, a_tgt_from_before_revocation_is_refused)
{
	struct iomt_kdc_client c;

	client_init(&c, key_of(self, "s2"));
	ASSERT_EQ(as(self, variant->tcp, &c), IOMT_KDC_OK);
	ASSERT_EQ(admin(self, "revoke", "s2", NULL), 0);
	EVENTUALLY(tgs(self, variant->tcp, &c, "g1"), IOMT_KDC_ERR_REVOKED);
}

TEST_F(kdc, key_rotation)
{
	struct rt_keyfile old = *key_of(self, "s1"), now_kf, forged;
	struct iomt_kdc_client c, early;

	client_init(&early, &old);
	ASSERT_EQ(as(self, variant->tcp, &early), IOMT_KDC_OK);
	usleep(5000);
	ASSERT_EQ(admin(self, "rotate", "s1", NULL), 0);
	reexport(self, "s1", &now_kf);
	ASSERT_EQ(now_kf.kvno, old.kvno + 1);
	ASSERT_NE(memcmp(now_kf.key, old.key, IOMT_KDC_KEY_LEN), 0);
	/* The old key at its own version: stale; claiming the new version: a bad MAC. */
	client_init(&c, &old);
	EVENTUALLY(as(self, variant->tcp, &c), IOMT_KDC_ERR_STALE_KEY);
	forged = old;
	forged.kvno = now_kf.kvno;
	client_init(&c, &forged);
	ASSERT_EQ(as(self, variant->tcp, &c), IOMT_KDC_ERR_BAD_MAC);
	/* A TGT got with the old key dies with it. */
	ASSERT_EQ(tgs(self, variant->tcp, &early, "g1"), IOMT_KDC_ERR_STALE_KEY);
	client_init(&c, &now_kf);
	ASSERT_EQ(as(self, variant->tcp, &c), IOMT_KDC_OK);
	ASSERT_EQ(tgs(self, variant->tcp, &c, "g1"), IOMT_KDC_OK);
	/* Tickets for the rotated principal are under its new key. */
	*key_of(self, "s1") = now_kf;
	pair_ok(self, variant->tcp, "g1", "s1", "alice");
}

TEST_F(kdc, tgs_key_rotation_retires_every_tgt)
{
	struct iomt_kdc_client c;

	client_init(&c, key_of(self, "s1"));
	ASSERT_EQ(as(self, variant->tcp, &c), IOMT_KDC_OK);
	ASSERT_EQ(admin(self, "rotate", "--tgs", NULL), 0);
	EVENTUALLY(tgs(self, variant->tcp, &c, "g1"), IOMT_KDC_ERR_STALE_KEY);
	ASSERT_EQ(as(self, variant->tcp, &c), IOMT_KDC_OK);
	ASSERT_EQ(tgs(self, variant->tcp, &c, "g1"), IOMT_KDC_OK);
}

TEST_F(kdc, registered_while_running)
{
	add_principal(self, "late", "gateway", "alice");
	EVENTUALLY(({ struct iomt_kdc_client c_; client_init(&c_, key_of(self, "late"));
		      as(self, variant->tcp, &c_); }), IOMT_KDC_OK);
	pair_ok(self, variant->tcp, "s1", "late", "alice");
}

/* ---- frames ---- */

/* A raw datagram; the reply's type and ERR code, or -1 if none came. */
static int udp_raw(FIXTURE_DATA(kdc) *self, const uint8_t *d, size_t len, uint8_t *code,
		   int wait)
{
	struct sockaddr_in a = addr_of(self->port);
	uint8_t in[FRAME_MAX];
	int fd = udp_socket(), type = -1;
	ssize_t n;

	ASSERT_EQ(sendto(fd, d, len, 0, (struct sockaddr *)&a, sizeof(a)), (ssize_t)len);
	if (wait_in(fd, wait)) {
		n = recv(fd, in, sizeof(in), 0);
		ASSERT_EQ(n, IOMT_WIRE_HDR_LEN + IOMT_KDC_ERR_LEN);
		type = in[1];
		*code = in[IOMT_WIRE_HDR_LEN];
	}
	close(fd);
	return type;
}

static void malformed_udp(FIXTURE_DATA(kdc) *self, const uint8_t *d, size_t len)
{
	uint8_t code = 0;

	ASSERT_EQ(udp_raw(self, d, len, &code, IO_MS), IOMT_MSG_KDC_ERR);
	ASSERT_EQ(code, IOMT_KDC_ERR_MALFORMED);
}

static size_t frame(uint8_t *f, uint8_t version, uint8_t type, size_t len)
{
	f[0] = version;
	f[1] = type;
	iomt_store_be16(f + 2, (uint16_t)len);
	memset(f + IOMT_WIRE_HDR_LEN, 0x5a, len);
	return IOMT_WIRE_HDR_LEN + len;
}


TEST_F_VARIANT(kdc, udp, malformed_frames)
{
	uint8_t f[600], code;
	struct iomt_kdc_client c;

	malformed_udp(self, f, frame(f, 2, IOMT_MSG_KDC_AS_REQ, IOMT_KDC_AS_REQ_LEN));
	malformed_udp(self, f, frame(f, 1, 0x7f, IOMT_KDC_AS_REQ_LEN));
	malformed_udp(self, f, frame(f, 1, IOMT_MSG_KDC_AS_REQ, IOMT_KDC_AS_REQ_LEN - 1));
	malformed_udp(self, f, frame(f, 1, IOMT_MSG_KDC_TGS_REQ, IOMT_KDC_TGS_REQ_LEN + 1));
	malformed_udp(self, f, frame(f, 1, IOMT_MSG_KDC_AP_REQ, IOMT_KDC_AP_REQ_LEN));
	malformed_udp(self, f, frame(f, 1, IOMT_MSG_KDC_AS_REP, IOMT_KDC_AS_REP_LEN));
	/* Oversized: more than any request, beyond the receive buffer. */
	malformed_udp(self, f, frame(f, 1, IOMT_MSG_KDC_AS_REQ, 500));
	/* The length field lies about the datagram. */
	frame(f, 1, IOMT_MSG_KDC_AS_REQ, IOMT_KDC_AS_REQ_LEN);
	malformed_udp(self, f, IOMT_WIRE_HDR_LEN + IOMT_KDC_AS_REQ_LEN - 10);
	/* A well-framed AS_REQ with an invalid name inside: the keeper says so. */
	frame(f, 1, IOMT_MSG_KDC_AS_REQ, IOMT_KDC_AS_REQ_LEN);
	f[IOMT_WIRE_HDR_LEN + 3] = '/';
	malformed_udp(self, f, IOMT_WIRE_HDR_LEN + IOMT_KDC_AS_REQ_LEN);
	/* Too short to be answered without amplifying. */
	ASSERT_EQ(udp_raw(self, f, 3, &code, 300), -1);
	ASSERT_EQ(udp_raw(self, f, 0, &code, 300), -1);
	client_init(&c, key_of(self, "s1"));
	ASSERT_EQ(as(self, 0, &c), IOMT_KDC_OK);
}

/* Sends bytes on a fresh connection; reads frames until EOF or timeout. */
TEST_F_VARIANT(kdc, tcp, tcp_streams)
{
	uint8_t f[2048], in[FRAME_MAX], type, req[IOMT_KDC_AS_REQ_LEN], rnd[IOMT_KDC_AS_REQ_RAND];
	struct iomt_kdc_client c[50];
	size_t n, plen;
	int fd;

	/* A well-framed message of another type: answered, the stream stays. */
	fd = tcp_connect(self->port);
	n = frame(f, 1, IOMT_MSG_KDC_AP_REQ, IOMT_KDC_AP_REQ_LEN);
	client_init(&c[0], key_of(self, "s1"));
	ASSERT_EQ(rt_random(rnd, sizeof(rnd)), 0);
	ASSERT_EQ(iomt_kdc_client_as_req(&c[0], now_ms(), rnd, req), 0);
	iomt_wire_put_hdr(f + n, IOMT_MSG_KDC_AS_REQ, sizeof(req));
	memcpy(f + n + IOMT_WIRE_HDR_LEN, req, sizeof(req));
	n += IOMT_WIRE_HDR_LEN + sizeof(req);
	ASSERT_EQ(send(fd, f, n, 0), (ssize_t)n);
	ASSERT_EQ(tcp_frame(fd, in, &type, &plen), 0);
	ASSERT_EQ(type, IOMT_MSG_KDC_ERR);
	ASSERT_EQ(in[IOMT_WIRE_HDR_LEN], IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(tcp_frame(fd, in, &type, &plen), 0);
	ASSERT_EQ(iomt_kdc_client_recv(&c[0], type, in + IOMT_WIRE_HDR_LEN, plen), IOMT_KDC_OK);
	close(fd);

	/* Corrupt streams are answered, then closed: a bad version, an unknown
	 * type, a fixed-size type of another size, a header announcing more
	 * than any request. */
	{
		static const uint8_t bad[][4] = {
			{ 2, IOMT_MSG_KDC_AS_REQ, 0, IOMT_KDC_AS_REQ_LEN },
			{ 1, 0x7f, 0, 10 },
			{ 1, IOMT_MSG_KDC_AS_REQ, 0, IOMT_KDC_AS_REQ_LEN - 1 },
			{ 1, IOMT_MSG_KDC_TGS_REQ, 0x10, 0x00 },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			fd = tcp_connect(self->port);
			memset(f, 0, 300);
			memcpy(f, bad[i], 4);
			ASSERT_EQ(send(fd, f, 200, 0), 200);
			ASSERT_EQ(tcp_frame(fd, in, &type, &plen), 0);
			ASSERT_EQ(type, IOMT_MSG_KDC_ERR);
			ASSERT_EQ(in[IOMT_WIRE_HDR_LEN], IOMT_KDC_ERR_MALFORMED);
			ASSERT_EQ(read_n(fd, in, 1, IO_MS), 0);   /* closed */
			close(fd);
		}
	}

	/* A truncated frame, then the client goes: no answer, nothing stuck. */
	fd = tcp_connect(self->port);
	frame(f, 1, IOMT_MSG_KDC_AS_REQ, IOMT_KDC_AS_REQ_LEN);
	ASSERT_EQ(send(fd, f, 30, 0), 30);
	shutdown(fd, SHUT_WR);
	ASSERT_EQ(read_n(fd, in, 1, IO_MS), 0);
	close(fd);

	/* 50 pipelined requests in one write, then a half-close: 50 answers,
	 * in order, then EOF. */
	n = 0;
	for (int i = 0; i < 50; i++) {
		client_init(&c[i], key_of(self, i % 2 ? "s1" : "c1"));
		ASSERT_EQ(rt_random(rnd, sizeof(rnd)), 0);
		ASSERT_EQ(iomt_kdc_client_as_req(&c[i], now_ms(), rnd, req), 0);
		ASSERT_LT(n + IOMT_WIRE_HDR_LEN + sizeof(req), 50 * 69 + 1);
		{
			static uint8_t big[50 * 69];

			iomt_wire_put_hdr(big + n, IOMT_MSG_KDC_AS_REQ, sizeof(req));
			memcpy(big + n + IOMT_WIRE_HDR_LEN, req, sizeof(req));
			n += IOMT_WIRE_HDR_LEN + sizeof(req);
			if (i == 49) {
				fd = tcp_connect(self->port);
				ASSERT_EQ(send(fd, big, n, 0), (ssize_t)n);
				shutdown(fd, SHUT_WR);
			}
		}
	}
	for (int i = 0; i < 50; i++) {
		ASSERT_EQ(tcp_frame(fd, in, &type, &plen), 0);
		ASSERT_EQ(iomt_kdc_client_recv(&c[i], type, in + IOMT_WIRE_HDR_LEN, plen),
			  IOMT_KDC_OK);
	}
	ASSERT_EQ(read_n(fd, in, 1, IO_MS), 0);
	close(fd);
	/* Still serving. */
	pair_ok(self, 1, "s1", "g1", "alice");
}

/* ---- evidence ---- */

static long metric(FIXTURE_DATA(kdc) *self, const char *name);

static long slurp(const char *path, char *buf, size_t cap)
{
	return rt_test_read(path, buf, cap);
}

static void hexs(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

/* Neither the bytes nor the hex (either case) of secret in the file. */
static void no_secret_in(const char *path, const uint8_t *secret, size_t n)
{
	static char buf[8 << 20];
	char hex[2 * 64 + 1], upper[2 * 64 + 1];
	long len = slurp(path, buf, sizeof(buf));

	if (len <= 0)
		return;
	hexs(secret, n, hex);
	for (size_t i = 0; i <= 2 * n; i++)
		upper[i] = (char)(hex[i] >= 'a' && hex[i] <= 'f' ? hex[i] - 32 : hex[i]);
	ASSERT_NULL(memmem(buf, (size_t)len, secret, n));
	ASSERT_NULL(memmem(buf, (size_t)len, hex, 2 * n));
	ASSERT_NULL(memmem(buf, (size_t)len, upper, 2 * n));
	/* Half of a key is a leak too. */
	ASSERT_NULL(memmem(buf, (size_t)len, hex, n));
}

TEST_F(kdc, audit_records_issues_and_denials_and_no_key)
{
	static char text[1 << 20];
	uint8_t m[64];
	struct iomt_kdc_client c;
	char path[200];

	pair_ok(self, variant->tcp, "s1", "g1", "alice");
	client_init(&c, key_of(self, "s1"));
	ASSERT_EQ(as(self, variant->tcp, &c), IOMT_KDC_OK);
	ASSERT_EQ(tgs(self, variant->tcp, &c, "s3"), IOMT_KDC_ERR_POLICY);
	c.kvno = 77;
	ASSERT_EQ(as(self, variant->tcp, &c), IOMT_KDC_ERR_STALE_KEY);
	ASSERT_GT(slurp(self->audit, text, sizeof(text)), 0);
	ASSERT_NONNULL(strstr(text, "\"event\":\"kdc_start\""));
	ASSERT_NONNULL(strstr(text, "\"event\":\"as_issue\",\"client\":\"s1\",\"kind\":\"sensor\","
				    "\"patient\":\"alice\",\"kvno\":\"1\",\"lifetime\":\"28800\","
				    "\"peer\":\"127.0.0.1:"));
	ASSERT_NONNULL(strstr(text, "\"event\":\"tgs_issue\",\"client\":\"s1\",\"target\":\"g1\","
				    "\"patient\":\"alice\",\"ckind\":\"sensor\",\"skind\":\"gateway\""));
	ASSERT_NONNULL(strstr(text, "\"event\":\"tgs_deny\",\"code\":\"policy\",\"client\":\"s1\","
				    "\"target\":\"s3\",\"peer\":\"127.0.0.1:"));
	ASSERT_NONNULL(strstr(text, "\"event\":\"as_deny\",\"code\":\"stale_key\",\"client\":\"s1\""));
	ASSERT_NONNULL(strstr(text, variant->tcp ? "/tcp\"" : "/udp\""));
	/* No key in the audit log, the daemon's log, the database, its WAL. */
	ASSERT_EQ(rt_test_read(self->master, (char *)m, sizeof(m)), 52);
	for (int f = 0; f < 5; f++) {
		const char *files[] = { self->audit, self->log, self->db, path, self->out };

		snprintf(path, sizeof(path), "%s-wal", self->db);
		no_secret_in(files[f], m + 12, IOMT_KDC_MASTER_LEN);
		for (int i = 0; i < self->nkeys; i++)
			no_secret_in(files[f], self->keys[i].kf.key, IOMT_KDC_KEY_LEN);
	}
}

TEST_F_VARIANT(kdc, udp, no_reply_without_its_audit_record)
{
	struct rlimit rl = { 0, RLIM_INFINITY };
	struct iomt_kdc_client c, d;
	struct stat st;

	client_init(&c, key_of(self, "s1"));
	ASSERT_EQ(as(self, 0, &c), IOMT_KDC_OK);
	/* The keeper may not grow the audit log: every answer is INTERNAL. */
	ASSERT_EQ(stat(self->audit, &st), 0);
	rl.rlim_cur = (rlim_t)st.st_size;
	ASSERT_EQ(prlimit(self->pid, RLIMIT_FSIZE, &rl, NULL), 0);
	client_init(&d, key_of(self, "g1"));
	ASSERT_EQ(as(self, 0, &d), IOMT_KDC_ERR_INTERNAL);
	ASSERT_EQ(tgs(self, 0, &c, "s3"), IOMT_KDC_ERR_INTERNAL);
	ASSERT_EQ(metric(self, "iomt_kdc_audit_flush_failures_total "), 2);
	rl.rlim_cur = RLIM_INFINITY;
	ASSERT_EQ(prlimit(self->pid, RLIMIT_FSIZE, &rl, NULL), 0);
	ASSERT_EQ(as(self, 0, &d), IOMT_KDC_OK);
	/* Nothing half-written stayed behind. */
	{
		static char text[1 << 16];

		ASSERT_GT(rt_test_read(self->audit, text, sizeof(text)), 0);
		ASSERT_EQ(text[strlen(text) - 1], '\n');
	}
}

static long metric(FIXTURE_DATA(kdc) *self, const char *name)
{
	static char buf[1 << 16];
	const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
	int fd = tcp_connect(self->metrics_port);
	long n = 0, got;
	const char *p;

	ASSERT_EQ(send(fd, req, sizeof(req) - 1, 0), (ssize_t)(sizeof(req) - 1));
	while (wait_in(fd, IO_MS) && (got = recv(fd, buf + n, sizeof(buf) - 1 - (size_t)n, 0)) > 0)
		n += got;
	close(fd);
	buf[n] = 0;
	/* A sample line, not the family's # HELP line. */
	for (p = buf; (p = strstr(p, name)); p++)
		if (p > buf && p[-1] == '\n')
			return atol(p + strlen(name));
	return -1;
}

TEST_F(kdc, metrics)
{
	uint8_t f[100], code;
	struct iomt_kdc_client c;

	pair_ok(self, variant->tcp, "s1", "g1", "alice");
	client_init(&c, key_of(self, "s1"));
	c.kvno = 9;
	ASSERT_EQ(as(self, variant->tcp, &c), IOMT_KDC_ERR_STALE_KEY);
	ASSERT_EQ(udp_raw(self, f, frame(f, 1, 0x7f, 40), &code, IO_MS), IOMT_MSG_KDC_ERR);
	ASSERT_EQ(metric(self, "iomt_kdc_issued_total{type=\"as\"} "), 1);
	ASSERT_EQ(metric(self, "iomt_kdc_issued_total{type=\"tgs\"} "), 1);
	ASSERT_EQ(metric(self, "iomt_kdc_denied_total{type=\"as\",code=\"stale_key\"} "), 1);
	ASSERT_EQ(metric(self, "iomt_kdc_denied_total{type=\"net\",code=\"malformed\"} "), 1);
	ASSERT_EQ(metric(self, "iomt_kdc_requests_total{type=\"as\"} "), 2);
	ASSERT_EQ(metric(self, "iomt_kdc_principals{status=\"all\"} "), 7);
	ASSERT_GE(metric(self, "iomt_kdc_audit_flushes_total "), 3);
	ASSERT_GE(metric(self, "iomt_kdc_batches_total "), 3);
}

/* ---- life cycle ---- */

TEST_F_VARIANT(kdc, udp, sighup_reopens_the_logs)
{
	char moved[200], text[4096];
	struct iomt_kdc_client c;

	snprintf(moved, sizeof(moved), "%s.1", self->audit);
	ASSERT_EQ(rename(self->audit, moved), 0);
	ASSERT_EQ(kill(self->pid, SIGHUP), 0);
	client_init(&c, key_of(self, "s1"));
	EVENTUALLY((as(self, 0, &c), access(self->audit, F_OK) == 0 &&
		    rt_test_read(self->audit, text, sizeof(text)) > 0 &&
		    strstr(text, "as_issue") != NULL), 1);
}

TEST_F_VARIANT(kdc, udp, sigterm_stops_gracefully)
{
	static char text[1 << 16];
	pid_t net = net_pid(self->pid);

	ASSERT_GT(net, 0);
	pair_ok(self, 0, "s1", "g1", "alice");
	ASSERT_EQ(stop(self), 0);
	ASSERT_FALSE(alive(net));
	ASSERT_GT(rt_test_read(self->audit, text, sizeof(text)), 0);
	ASSERT_NONNULL(strstr(text, "\"event\":\"kdc_stop\",\"reason\":\"signal\""));
}

TEST_F(kdc, either_process_dying_ends_the_other)
{
	pid_t net = net_pid(self->pid);

	if (variant->tcp) {
		/* The network process dies: the keeper stops too, status 1. */
		ASSERT_GT(net, 0);
		ASSERT_EQ(kill(net, SIGKILL), 0);
		ASSERT_EQ(de_wait_for(self->pid, 10000), 1);
		self->pid = 0;
	} else {
		/* The keeper dies: the network process follows. */
		ASSERT_GT(net, 0);
		ASSERT_EQ(kill(self->pid, SIGKILL), 0);
		ASSERT_EQ(de_wait_for(self->pid, 5000), 128 + SIGKILL);
		self->pid = 0;
		for (int i = 0; i < 500 && alive(net); i++)
			usleep(10000);
		ASSERT_FALSE(alive(net));
	}
	/* And it starts again on the same database. */
	start(self);
	pair_ok(self, variant->tcp, "s1", "g1", "alice");
}

/* Requests as fast as one client can, re-reading the port file as the
 * daemon restarts: until killed. */
static void load_loop(FIXTURE_DATA(kdc) *self)
{
	struct iomt_kdc_client c;
	uint8_t rnd[IOMT_KDC_AS_REQ_RAND], req[IOMT_KDC_AS_REQ_LEN], f[FRAME_MAX], in[FRAME_MAX];
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	client_init(&c, key_of(self, "s1"));
	for (unsigned i = 0;; i++) {
		struct sockaddr_in a;
		char buf[128];
		unsigned u;

		if (i % 64 == 0 && rt_test_read(self->ports, buf, sizeof(buf)) > 0 &&
		    sscanf(buf, "udp=%u", &u) == 1)
			self->port = (uint16_t)u;
		a = addr_of(self->port);
		rt_random(rnd, sizeof(rnd));
		iomt_kdc_client_as_req(&c, now_ms(), rnd, req);
		iomt_wire_put_hdr(f, IOMT_MSG_KDC_AS_REQ, sizeof(req));
		memcpy(f + IOMT_WIRE_HDR_LEN, req, sizeof(req));
		for (int k = 0; k < 8; k++)
			sendto(fd, f, IOMT_WIRE_HDR_LEN + sizeof(req), 0, (struct sockaddr *)&a,
			       sizeof(a));
		while (wait_in(fd, 2))
			recv(fd, in, sizeof(in), 0);
	}
}

TEST_F_VARIANT_TIMEOUT(kdc, "udp", kill_9_under_load_loses_nothing, 120)
{
	enum { N = 24 };
	static char text[1 << 20];
	int done[N] = { 0 };
	pid_t load;
	char name[16];

	load = fork();
	ASSERT_GE(load, 0);
	if (load == 0) {
		load_loop(self);
		_exit(0);
	}
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "dev%02d", i);
		if (i == N / 3 || i == 2 * N / 3) {
			/* A crash in the middle of the load, then a restart. */
			pid_t net = net_pid(self->pid);

			ASSERT_EQ(kill(self->pid, SIGKILL), 0);
			ASSERT_EQ(de_wait_for(self->pid, 5000), 128 + SIGKILL);
			for (int k = 0; k < 500 && net > 0 && alive(net); k++)
				usleep(10000);
			self->pid = 0;
			start(self);
		}
		done[i] = admin(self, "register", name, "--kind", "sensor", "--patient", "alice",
				NULL) == 0;
		ASSERT_TRUE(done[i]);
	}
	kill(load, SIGKILL);
	waitpid(load, NULL, 0);
	/* Every registration the CLI reported is there, and a client of it works. */
	ASSERT_EQ(admin(self, "list", "--json", NULL), 0);
	ASSERT_GT(rt_test_read(self->out, text, sizeof(text)), 0);
	for (int i = 0; i < N; i++) {
		char want[64];

		snprintf(want, sizeof(want), "{\"name\":\"dev%02d\",\"kind\":\"sensor\"", i);
		ASSERT_NONNULL(strstr(text, want));
	}
	add_principal(self, "after", "sensor", "alice");
	EVENTUALLY(({ struct iomt_kdc_client c_; client_init(&c_, key_of(self, "after"));
		      as(self, 0, &c_); }), IOMT_KDC_OK);
	pair_ok(self, 0, "after", "g1", "alice");
	pair_ok(self, 1, "s1", "g1", "alice");
	/* The audit log is whole lines only, whatever the kills cut short. */
	ASSERT_GT(rt_test_read(self->audit, text, sizeof(text)), 0);
	for (const char *p = text; *p; p = strchr(p, '\n') + 1) {
		ASSERT_EQ(strncmp(p, "{\"ts\":\"", 7), 0);
		ASSERT_NONNULL(strchr(p, '\n'));
		ASSERT_EQ(strchr(p, '\n')[-1], '}');
	}
}
