/* SPDX-License-Identifier: MIT */
/*
 * iomt-ttp's phases 5 and 6 (ttp/phase56.c) on loopback: the real daemon
 * (its grant key is the CA key: ca_pub unset), users registered with
 * 'iomt-ttp admin', an analysis created through phase 2 with the policy
 * "read: role=doctor hospital=H0001" (no alert rule: the owner alone is
 * alerted), and this suite acting as the MEC on a link connection with
 * frames built by userspace/lib/s2_p56.c. Every refusal the TTP can give:
 * MALFORMED (no req_id, bad layout), DENIED (stale ts, a box sealed to
 * another key or changed, a tampered certificate inside the box, emergency
 * or delivery report not from a MEC), REVOKED, NO_ANALYSIS, NOT_ENTITLED
 * (policy; nobody left to alert), REPLAY; and the answers: a grant and a
 * party list (Q_U and handle, no certificate) that verify under the CA key,
 * P6_NOTED naming the party its handle stands for, each audited.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "harness.h"
#include "daemon_env.h"
#include "rt/rt_test.h"
#include "testutil.h"
#include "bytes.h"
#include "ct.h"
#include "hex.h"
#include "iomt_err.h"
#include "lib/ecies.h"
#include "lib/ecqv.h"
#include "lib/rt_knet.h"
#include "lib/rt_rng.h"
#include "lib/s2_p56.h"
#include "lib/s2_phase2.h"
#include "wire.h"

enum { FRAME_CAP = 8192, NUSERS = 4 };
enum { PAT, DOC, DOC2, MEC };

FIXTURE(p56ttp) {
	char dir[64], db[128], key[128], pub[128], audit[128], conf[128], ports[128], log[128];
	char bin[PATH_MAX];
	pid_t pid;
	uint16_t link_port, user_port;
	EVP_PKEY *ca_pub, *k[NUSERS];
	struct ecqv_cert c[NUSERS];
	uint8_t id_a[16];
};

static pid_t spawn(const char *bin, const char *const *args, const char *out_path)
{
	return de_spawn_args(bin, "iomt-ttp", args, out_path);
}

static int admin(FIXTURE_DATA(p56ttp) *self, ...)
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

static void user(FIXTURE_DATA(p56ttp) *self, int i, const char *name, const char *role,
		 const char *attr)
{
	char req[160], issued[160];
	uint8_t buf[ECQV_CERT_LEN + ECQV_SCALAR_LEN + 1];
	struct ecqv_request rq;

	snprintf(req, sizeof(req), "%s/%s.req", self->dir, name);
	snprintf(issued, sizeof(issued), "%s/%s.issued", self->dir, name);
	ASSERT_EQ(ecqv_request_new(&rq), 0);
	ASSERT_EQ(rt_test_write(req, (const char *)rq.ru, sizeof(rq.ru)), 0);
	ASSERT_EQ(admin(self, "register-user", "--db", self->db, "--ca-key", self->key, "--role",
			role, "--id", name, "--attr", attr, "--request", req, "--out", issued,
			"--audit-log", self->audit, NULL), 0);
	ASSERT_EQ(rt_test_read(issued, (char *)buf, sizeof(buf)), ECQV_CERT_LEN + ECQV_SCALAR_LEN);
	ASSERT_EQ(ecqv_cert_decode(&self->c[i], buf, ECQV_CERT_LEN), 0);
	ASSERT_EQ(ecqv_reconstruct_private(&rq, &self->c[i], buf + ECQV_CERT_LEN, self->ca_pub,
					   (uint64_t)time(NULL), &self->k[i]), 0);
	ecqv_request_wipe(&rq);
}

/* One frame to port, one back: its type; payload (after the header) in out. */
static uint8_t exchange(uint16_t port, uint8_t type, const uint8_t *p, size_t len,
			uint8_t *out, size_t *olen)
{
	static uint8_t f[FRAME_CAP];
	struct sockaddr_storage ss;
	socklen_t sl;
	char addr[32];
	uint64_t deadline = rt_knet_mono_ms() + 15000;
	long n;
	int fd;

	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	ASSERT_EQ(rt_knet_resolve(addr, &ss, &sl), 0);
	fd = rt_knet_tcp_connect(&ss, sl, deadline);
	ASSERT_GE(fd, 0);
	ASSERT_LE(len + IOMT_WIRE_HDR_LEN, sizeof(f));
	iomt_wire_put_hdr(f, type, len);
	memcpy(f + IOMT_WIRE_HDR_LEN, p, len);
	ASSERT_EQ(rt_knet_send(fd, f, IOMT_WIRE_HDR_LEN + len), 0);
	n = rt_knet_recv_frame(fd, f, sizeof(f), deadline);
	close(fd);
	ASSERT_GE(n, IOMT_WIRE_HDR_LEN);
	*olen = (size_t)n - IOMT_WIRE_HDR_LEN;
	memcpy(out, f + IOMT_WIRE_HDR_LEN, *olen);
	return f[1];
}

/* A link frame (req_id 7 || body): the reply type; payload after req_id. */
static uint8_t link_x(FIXTURE_DATA(p56ttp) *self, uint8_t type, const uint8_t *body, size_t len,
		      uint8_t *out, size_t *olen)
{
	static uint8_t p[FRAME_CAP], r[FRAME_CAP];
	uint8_t t;

	iomt_store_be32(p, 7);
	memcpy(p + 4, body, len);
	t = exchange(self->link_port, type, p, len + 4, r, olen);
	ASSERT_GE(*olen, 4);
	EXPECT_EQ(iomt_load_be32(r), 7);
	*olen -= 4;
	memcpy(out, r + 4, *olen);
	return t;
}

/* The LINK_ERR code of a reply, or 0 for another type. */
static int code_of(uint8_t type, const uint8_t *p, size_t len)
{
	return type == IOMT_MSG_S2_LINK_ERR && len == 1 ? p[0] : 0;
}

static size_t p5_req(FIXTURE_DATA(p56ttp) *self, int who, uint64_t ts, const uint8_t *id_a,
		     uint8_t *out, uint8_t nonce[16])
{
	uint8_t eph[33];
	size_t len;

	memset(eph, 0, sizeof(eph));
	ASSERT_EQ(ecies_point_of(self->k[DOC], eph), 0);	/* any point will do */
	ASSERT_EQ(rt_random(nonce, 16), 0);
	ASSERT_EQ(p56_req_build(self->k[who], &self->c[who], self->ca_pub, ts, nonce, id_a, eph,
				out, P56_REQ_MAX, &len), 0);
	return len;
}

static size_t emerg(FIXTURE_DATA(p56ttp) *self, int who, const uint8_t *id_a, uint8_t *out)
{
	static struct p56_emerg e;
	size_t len;

	memset(&e, 0, sizeof(e));
	e.cert = self->c[who];
	e.ts = (uint64_t)time(NULL);
	ASSERT_EQ(rt_random(e.alert_id, 16), 0);
	memcpy(e.id_a, id_a, 16);
	e.res_len = 54;
	ASSERT_EQ(p56_emerg_build(self->k[who], &e, out, P56_EMERG_MAX, &len), 0);
	return len;
}

static int audited(FIXTURE_DATA(p56ttp) *self, const char *what)
{
	static char text[65536];

	return rt_test_read(self->audit, text, sizeof(text)) > 0 && strstr(text, what) != NULL;
}

FIXTURE_SETUP(p56ttp)
{
	static uint8_t req[S2_ANALYSIS_REQ_MAX], reply[FRAME_CAP];
	const char *args[] = { "-c", self->conf, NULL };
	char text[1024], buf[256];
	uint8_t nonce[16], did[1][16], dk[1][16];
	unsigned l = 0, u = 0, m = 0;
	uint16_t got = 0;
	size_t len, rlen;
	FILE *f;
	int n;

	ASSERT_EQ(rt_test_mkdtemp(self->dir, sizeof(self->dir), "p56ttp"), 0);
	ASSERT_EQ(rt_test_bin("iomt-ttp", self->bin, sizeof(self->bin)), 0);
	snprintf(self->db, sizeof(self->db), "%s/ttp.db", self->dir);
	snprintf(self->key, sizeof(self->key), "%s/ca.key", self->dir);
	snprintf(self->pub, sizeof(self->pub), "%s/ca.pem", self->dir);
	snprintf(self->audit, sizeof(self->audit), "%s/audit.log", self->dir);
	snprintf(self->conf, sizeof(self->conf), "%s/ttp.conf", self->dir);
	snprintf(self->ports, sizeof(self->ports), "%s/ports", self->dir);
	snprintf(self->log, sizeof(self->log), "%s/ttp.log", self->dir);
	ASSERT_EQ(admin(self, "init", "--db", self->db, "--ca-key", self->key, "--ca-pub",
			self->pub, "--audit-log", self->audit, NULL), 0);
	f = fopen(self->pub, "r");
	ASSERT_NONNULL(f);
	self->ca_pub = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	ASSERT_NONNULL(self->ca_pub);
	user(self, PAT, "pat", "patient", "hospital=H0001");
	user(self, DOC, "doc", "doctor", "hospital=H0001");
	user(self, DOC2, "doc2", "doctor", "hospital=H0002");
	user(self, MEC, "mec", "mec", "site=1");
	n = snprintf(text, sizeof(text),
		     "db %s\nlisten 127.0.0.1:0\nuser_listen 127.0.0.1:0\n"
		     "metrics_listen 127.0.0.1:0\nca_key %s\naudit_log %s\nport_file %s\n"
		     "log_level debug\nstop_timeout 2s\n",
		     self->db, self->key, self->audit, self->ports);
	ASSERT_EQ(rt_test_write(self->conf, text, (size_t)n), 0);
	self->pid = spawn(self->bin, args, self->log);
	ASSERT_GT(self->pid, 0);
	for (int i = 0; i < 500; i++) {
		if (rt_test_read(self->ports, buf, sizeof(buf)) > 0 &&
		    sscanf(buf, "link=%u\nuser=%u\nmetrics=%u", &l, &u, &m) == 3)
			break;
		ASSERT_EQ(waitpid(self->pid, NULL, WNOHANG), 0);
		usleep(10000);
	}
	ASSERT_GT(l, 0);
	self->link_port = (uint16_t)l;
	self->user_port = (uint16_t)u;
	/* phase 2: pat's analysis */
	ASSERT_EQ(rt_random(nonce, 16), 0);
	ASSERT_EQ(s2_analysis_req_build(self->k[PAT], &self->c[PAT], (uint64_t)time(NULL), nonce, 1,
					"read: role=doctor hospital=H0001", req, sizeof(req), &len),
		  0);
	ASSERT_EQ(exchange(self->user_port, IOMT_MSG_S2_ANALYSIS_REQ, req, len, reply, &rlen),
		  IOMT_MSG_S2_ANALYSIS_RESP);
	ASSERT_EQ(s2_analysis_resp_open(self->k[PAT], nonce, reply, rlen, self->id_a, &got, did, dk,
					1), 0);
}

FIXTURE_TEARDOWN(p56ttp)
{
	if (self->pid > 0) {
		kill(self->pid, SIGKILL);
		waitpid(self->pid, NULL, 0);
	}
	EVP_PKEY_free(self->ca_pub);
	for (int i = 0; i < NUSERS; i++)
		EVP_PKEY_free(self->k[i]);
	rt_test_rmtree(self->dir);
}

TEST_F(p56ttp, grant_and_p5_refusals)
{
	static uint8_t req[P56_REQ_MAX], out[FRAME_CAP];
	struct p56_grant g;
	uint8_t nonce[16], q[33], other[16];
	uint64_t now = (uint64_t)time(NULL);
	size_t len, olen;
	uint8_t t;

	/* the doctor of H0001: a grant under the CA key, for this request */
	len = p5_req(self, DOC, now, self->id_a, req, nonce);
	t = link_x(self, IOMT_MSG_P5_CHECK, req, len, out, &olen);
	ASSERT_EQ(t, IOMT_MSG_P5_GRANT);
	ASSERT_EQ(p56_grant_verify(out, olen, self->ca_pub, now, &g), 0);
	ASSERT_EQ(ecies_point_of(self->k[DOC], q), 0);
	EXPECT_MEMEQ(g.q_u, q, 33);
	EXPECT_MEMEQ(g.nonce, nonce, 16);
	EXPECT_MEMEQ(g.id_a, self->id_a, 16);
	EXPECT_LE(g.expires, now + P56_GRANT_LIFE_S + 2);
	/* the same request again: REPLAY */
	t = link_x(self, IOMT_MSG_P5_CHECK, req, len, out, &olen);
	EXPECT_EQ(code_of(t, out, olen), IOMT_S2_ERR_REPLAY);
	/* the owner: granted; the other hospital's doctor: NOT_ENTITLED */
	len = p5_req(self, PAT, now, self->id_a, req, nonce);
	EXPECT_EQ(link_x(self, IOMT_MSG_P5_CHECK, req, len, out, &olen), IOMT_MSG_P5_GRANT);
	len = p5_req(self, DOC2, now, self->id_a, req, nonce);
	t = link_x(self, IOMT_MSG_P5_CHECK, req, len, out, &olen);
	EXPECT_EQ(code_of(t, out, olen), IOMT_S2_ERR_NOT_ENTITLED);
	/* no such analysis */
	memset(other, 0x33, 16);
	len = p5_req(self, DOC, now, other, req, nonce);
	t = link_x(self, IOMT_MSG_P5_CHECK, req, len, out, &olen);
	EXPECT_EQ(code_of(t, out, olen), IOMT_S2_ERR_NO_ANALYSIS);
	/* stale */
	len = p5_req(self, DOC, now - 1000, self->id_a, req, nonce);
	t = link_x(self, IOMT_MSG_P5_CHECK, req, len, out, &olen);
	EXPECT_EQ(code_of(t, out, olen), IOMT_S2_ERR_DENIED);
	/* a changed signature byte: DENIED; a cut request: MALFORMED */
	len = p5_req(self, DOC, now, self->id_a, req, nonce);
	req[len - 3] ^= 1;
	t = link_x(self, IOMT_MSG_P5_CHECK, req, len, out, &olen);
	EXPECT_EQ(code_of(t, out, olen), IOMT_S2_ERR_DENIED);
	t = link_x(self, IOMT_MSG_P5_CHECK, req, 100, out, &olen);
	EXPECT_EQ(code_of(t, out, olen), IOMT_S2_ERR_MALFORMED);
	/* sealed to another key than the grant key: DENIED */
	{
		struct ecqv_cert forged = self->c[DOC];
		uint8_t eph[33];

		ASSERT_EQ(ecies_point_of(self->k[PAT], eph), 0);
		ASSERT_EQ(rt_random(nonce, 16), 0);
		ASSERT_EQ(p56_req_build(self->k[DOC], &self->c[DOC], self->k[MEC], now, nonce,
					self->id_a, eph, req, P56_REQ_MAX, &len), 0);
		t = link_x(self, IOMT_MSG_P5_CHECK, req, len, out, &olen);
		EXPECT_EQ(code_of(t, out, olen), IOMT_S2_ERR_DENIED);
		/* a tampered certificate inside the box (the other hospital's
		 * doctor claiming H0001): its Q_U is not DOC2's, the signature
		 * does not verify: DENIED */
		forged = self->c[DOC2];
		memcpy(forged.attr, "hospital=H0001", 14);
		ASSERT_EQ(p56_req_build(self->k[DOC2], &forged, self->ca_pub, now, nonce,
					self->id_a, eph, req, P56_REQ_MAX, &len), 0);
		t = link_x(self, IOMT_MSG_P5_CHECK, req, len, out, &olen);
		EXPECT_EQ(code_of(t, out, olen), IOMT_S2_ERR_DENIED);
		/* a byte of the clear part changed (ID_a, E_U or nonce): the box's
		 * aad no longer matches: DENIED */
		len = p5_req(self, DOC, now, self->id_a, req, nonce);
		req[20] ^= 1;
		t = link_x(self, IOMT_MSG_P5_CHECK, req, len, out, &olen);
		EXPECT_EQ(code_of(t, out, olen), IOMT_S2_ERR_DENIED);
	}
	/* revoked */
	ASSERT_EQ(admin(self, "revoke-user", "--db", self->db, "--id", "doc", "--audit-log",
			self->audit, NULL), 0);
	len = p5_req(self, DOC, now, self->id_a, req, nonce);
	t = link_x(self, IOMT_MSG_P5_CHECK, req, len, out, &olen);
	EXPECT_EQ(code_of(t, out, olen), IOMT_S2_ERR_REVOKED);
	EXPECT_TRUE(audited(self, "\"event\":\"p5_granted\",\"peer\""));
	EXPECT_TRUE(audited(self, "\"reason\":\"user revoked\""));
	EXPECT_TRUE(audited(self, "\"reason\":\"nonce seen before (replay)\""));
}

TEST_F(p56ttp, no_req_id)
{
	uint8_t out[64];
	size_t olen;
	uint8_t t = exchange(self->link_port, IOMT_MSG_P5_CHECK, (const uint8_t *)"ab", 2, out,
			     &olen);

	ASSERT_EQ(t, IOMT_MSG_S2_LINK_ERR);
	ASSERT_EQ(olen, 5);
	EXPECT_EQ(iomt_load_be32(out), 0);
	EXPECT_EQ(out[4], IOMT_S2_ERR_MALFORMED);
}

TEST_F(p56ttp, emergency_parties_and_deliveries)
{
	static uint8_t msg[P56_EMERG_MAX], out[FRAME_CAP];
	static struct p56_parties pa;
	struct p56_delivered d;
	uint8_t other[16], enc[ECQV_CERT_LEN], q[33], h[16];
	size_t len, olen;
	uint8_t t;

	/* from the MEC: the owner alone (no alert rule), signed by the TTP */
	len = emerg(self, MEC, self->id_a, msg);
	t = link_x(self, IOMT_MSG_P6_EMERG, msg, len, out, &olen);
	ASSERT_EQ(t, IOMT_MSG_P6_PARTIES);
	ASSERT_EQ(p56_parties_verify(out, olen, self->ca_pub, &pa), 0);
	ASSERT_EQ(pa.n, 1);
	ASSERT_EQ(ecqv_cert_encode(&self->c[PAT], enc), 0);
	ASSERT_EQ(ecies_point_of(self->k[PAT], q), 0);
	ASSERT_EQ(p56_party_handle(pa.alert_id, enc, h), 0);
	EXPECT_MEMEQ(pa.q_u[0], q, 33);
	EXPECT_MEMEQ(pa.handle[0], h, 16);
	EXPECT_TRUE(memmem(out, olen, enc, ECQV_CERT_LEN) == NULL);
	EXPECT_TRUE(memmem(out, olen, self->c[PAT].subject, 3) == NULL);
	EXPECT_TRUE(audited(self, "\"event\":\"p6_party\""));
	/* from a doctor: DENIED; for no analysis: NO_ANALYSIS */
	len = emerg(self, DOC, self->id_a, msg);
	t = link_x(self, IOMT_MSG_P6_EMERG, msg, len, out, &olen);
	EXPECT_EQ(code_of(t, out, olen), IOMT_S2_ERR_DENIED);
	memset(other, 0x44, 16);
	len = emerg(self, MEC, other, msg);
	t = link_x(self, IOMT_MSG_P6_EMERG, msg, len, out, &olen);
	EXPECT_EQ(code_of(t, out, olen), IOMT_S2_ERR_NO_ANALYSIS);
	/* a delivery report: noted from the MEC, DENIED from a doctor */
	memset(&d, 0, sizeof(d));
	d.cert = self->c[MEC];
	d.ts = (uint64_t)time(NULL);
	memcpy(d.alert_id, pa.alert_id, 16);
	memcpy(d.handle, pa.handle[0], 16);
	ASSERT_EQ(p56_delivered_build(self->k[MEC], &d, msg, sizeof(msg), &len), 0);
	t = link_x(self, IOMT_MSG_P6_DELIVERED, msg, len, out, &olen);
	EXPECT_EQ(t, IOMT_MSG_P6_NOTED);
	EXPECT_EQ(olen, 0);
	/* the TTP resolves the handle to the user */
	EXPECT_TRUE(audited(self, "\"event\":\"p6_delivered\",\"mec\":\"mec\""));
	{
		char want[160], ahex[33];

		iomt_hex_encode(pa.alert_id, 16, ahex);
		snprintf(want, sizeof(want),
			 "\"event\":\"p6_delivered\",\"mec\":\"mec\",\"alert\":\"%s\","
			 "\"user\":\"pat\"", ahex);
		EXPECT_TRUE(audited(self, want));
		/* a handle that is no party's: noted, audited as user "?" */
		memset(d.handle, 0x5c, 16);
		ASSERT_EQ(p56_delivered_build(self->k[MEC], &d, msg, sizeof(msg), &len), 0);
		t = link_x(self, IOMT_MSG_P6_DELIVERED, msg, len, out, &olen);
		EXPECT_EQ(t, IOMT_MSG_P6_NOTED);
		snprintf(want, sizeof(want), "\"user\":\"?\",\"handle\":\"%s\"",
			 "5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c");
		EXPECT_TRUE(audited(self, want));
	}
	d.cert = self->c[DOC];
	ASSERT_EQ(p56_delivered_build(self->k[DOC], &d, msg, sizeof(msg), &len), 0);
	t = link_x(self, IOMT_MSG_P6_DELIVERED, msg, len, out, &olen);
	EXPECT_EQ(code_of(t, out, olen), IOMT_S2_ERR_DENIED);
	/* the owner revoked: nobody left to alert; the MEC revoked: REVOKED */
	ASSERT_EQ(admin(self, "revoke-user", "--db", self->db, "--id", "pat", "--audit-log",
			self->audit, NULL), 0);
	len = emerg(self, MEC, self->id_a, msg);
	t = link_x(self, IOMT_MSG_P6_EMERG, msg, len, out, &olen);
	EXPECT_EQ(code_of(t, out, olen), IOMT_S2_ERR_NOT_ENTITLED);
	ASSERT_EQ(admin(self, "revoke-user", "--db", self->db, "--id", "mec", "--audit-log",
			self->audit, NULL), 0);
	len = emerg(self, MEC, self->id_a, msg);
	t = link_x(self, IOMT_MSG_P6_EMERG, msg, len, out, &olen);
	EXPECT_EQ(code_of(t, out, olen), IOMT_S2_ERR_REVOKED);
	EXPECT_TRUE(audited(self, "\"event\":\"p6_emergency_denied\""));
}
