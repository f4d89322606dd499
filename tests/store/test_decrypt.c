/* SPDX-License-Identifier: MIT */
/*
 * iomt-store decrypt against a fake PPD: the real KDC (tests/kdc/flow_env.h)
 * with a cloud principal and a PPD principal, the real store daemon holding
 * records sealed as a sensor seals them (K_enc from K_master through the key
 * tree), the processing application's key from 'iomt-store keygen', and in a
 * child process a small KCHAN service standing in for the PPD: it verifies
 * the AP_REQ (lib/kdc.h), opens the body (lib/kchan.h), decodes and checks
 * the consent request and its signature (lib/consent.h, rt_consent), and
 * releases the node keys it derives from K_master (lib/keytree.h), or
 * refuses. Each request it sees is logged one line per request for the
 * tests to read.
 *
 * Approved exact covers (one request, records opened, plaintexts written),
 * a denial (exit 3, nothing decrypted, no output file), more than 64 nodes
 * (split into two requests), a single covering node with its over-share,
 * and a damaged record (exit 4, the others still opened).
 */
#include <sys/stat.h>
#include <openssl/evp.h>

#include "consent.h"
#include "ct.h"
#include "kchan.h"
#include "kdc/flow_env.h"
#include "lib/rt_consent.h"
#include "store_env.h"

enum { FAKE_DENY = 1 };

FIXTURE(dec) {
	struct env e;
	struct senv s;
	uint8_t km[IOMT_KEYTREE_MASTER_LEN];
	pid_t ppd_pid;
	char ppd_addr[64], ppd_log[160], app[160], app_pub[160], outf[160];
};

FIXTURE_SETUP(dec)
{
	int r = env_init(&self->e, "storedec");

	if (r == -1)
		SKIP(return, "iomt-kdc, iomt-kclient or iomt-gwd not built");
	ASSERT_EQ(r, 0);
	if (senv_init(&self->s, "storedec"))
		SKIP(return, "iomt-store is not built");
	ASSERT_EQ(env_admin(&self->e, "init", NULL), 0);
	ASSERT_EQ(env_add(&self->e, "cloud1", NULL, "cloud"), 0);
	ASSERT_EQ(env_add(&self->e, "ppd-alice", "alice", "ppd"), 0);
	ASSERT_EQ(env_kdc_start(&self->e, NULL), 0);
	snprintf(self->app, sizeof(self->app), "%s/app.pem", self->s.dir);
	snprintf(self->app_pub, sizeof(self->app_pub), "%s/app.pub.pem", self->s.dir);
	snprintf(self->ppd_log, sizeof(self->ppd_log), "%s/ppd.log", self->s.dir);
	snprintf(self->outf, sizeof(self->outf), "%s/plain.txt", self->s.dir);
	ASSERT_EQ(run(&self->s, "keygen", "--out", self->app, "--pub", self->app_pub, NULL), 0);
	ASSERT_EQ(rt_random(self->km, sizeof(self->km)), 0);
}

FIXTURE_TEARDOWN(dec)
{
	if (self->ppd_pid > 0) {
		kill(self->ppd_pid, SIGKILL);
		waitpid(self->ppd_pid, NULL, 0);
	}
	iomt_wipe(self->km, sizeof(self->km));
	senv_fini(&self->s);
	env_fini(&self->e);
}

/* ---- the sensor ---- */

static void leaf_key(FIXTURE_DATA(dec) *self, uint64_t leaf, uint8_t kenc[16])
{
	const struct iomt_keytree_conf *c = &self->s.meta.conf;
	struct iomt_keytree_node n;
	uint8_t k0[16], kd[16];
	uint32_t epoch = (uint32_t)(leaf / 288);

	ASSERT_EQ(iomt_keytree_data_key0(self->km, &self->s.meta, k0), 0);
	ASSERT_EQ(iomt_keytree_data_key(c, k0, epoch, kd), 0);
	ASSERT_EQ(iomt_keytree_node_of(c, leaf, c->depth, &n), 0);
	ASSERT_EQ(iomt_keytree_node_key(c, epoch, kd, &n, kenc), 0);
}

/* Two records per leaf, "bp=L/seq" as data, stored through the daemon. */
static void store_leaves(FIXTURE_DATA(dec) *self, const uint64_t *leaves, size_t n)
{
	static struct tbatch b;
	uint8_t id[8] = { 0 }, rec[128], k[16], data[32];
	size_t used = 0, len;
	struct ack a;
	int fd;

	start(&self->s, NULL);
	fd = conn(&self->s);
	for (size_t i = 0; i < n; i++) {
		if (i % 100 == 0) {
			if (i) {
				iomt_wire_put_hdr(b.frame, IOMT_MSG_REC_PUT, used);
				b.len = 4 + used;
				a = put(&self->s, fd, &b);
				ASSERT_EQ(a.status, IOMT_REC_OK);
			}
			id[7]++;
			ASSERT_EQ(iomt_recbatch_begin(b.frame + 4, FRAME_MAX - 4, id, &self->s.meta,
						      &used), 0);
		}
		leaf_key(self, leaves[i], k);
		for (uint32_t seq = 0; seq < 2; seq++) {
			struct iomt_record_hdr h = { .epoch = (uint32_t)(leaves[i] / 288),
						     .leaf = leaves[i], .seq = seq };
			int dl = snprintf((char *)data, sizeof(data), "bp=%llu/%u",
					  (unsigned long long)leaves[i], seq);

			memcpy(h.key_id, self->s.meta.key_id, 16);
			ASSERT_EQ(iomt_record_seal(k, &h, data, (size_t)dl, rec, sizeof(rec), &len), 0);
			ASSERT_EQ(iomt_recbatch_add(b.frame + 4, FRAME_MAX - 4, &used, rec, len), 0);
		}
	}
	iomt_wire_put_hdr(b.frame, IOMT_MSG_REC_PUT, used);
	b.len = 4 + used;
	a = put(&self->s, fd, &b);
	ASSERT_EQ(a.status, IOMT_REC_OK);
	close(fd);
	ASSERT_EQ(stop(&self->s), 0);
	ASSERT_EQ(db_count(&self->s, NULL), (long long)(2 * n));
}

/* ---- the fake PPD ---- */

struct fake {
	struct rt_keyfile kf;
	EVP_PKEY *app_pub;
	const uint8_t *km;
	const struct iomt_keytree_meta *meta;
	int deny;
	FILE *log;
};

/* Checks a consent request as a PPD would: 0 (approve) or a reason. */
static int fake_check(struct fake *f, const uint8_t *body, size_t len,
		      struct iomt_consent_req *r)
{
	uint8_t want[IOMT_KEYTREE_META_LEN], got[IOMT_KEYTREE_META_LEN], cloud[16];
	uint64_t now = (uint64_t)time(NULL) * 1000;

	iomt_kdc_name_from_text(cloud, "cloud1");
	if (iomt_consent_decode(r, body, len))
		return IOMT_RELEASE_R_MALFORMED;
	if (rt_consent_verify(f->app_pub, body, len) != 1)
		return IOMT_RELEASE_R_SIGNATURE;
	if (memcmp(r->requester, cloud, 16))
		return IOMT_RELEASE_R_REQUESTER;
	if (r->created_ms > now + 60000 || r->created_ms + 60000 < now ||
	    r->expires_ms != r->created_ms + 5 * 60 * 1000)
		return IOMT_RELEASE_R_EXPIRED;
	iomt_keytree_meta_encode(f->meta, want);
	iomt_keytree_meta_encode(&r->meta, got);
	if (memcmp(want, got, sizeof(want)))
		return IOMT_RELEASE_R_NOT_OURS;
	return f->deny ? IOMT_RELEASE_R_PATIENT : 0;
}

/* The release body: every node's key from K_master. */
static int fake_release(struct fake *f, const struct iomt_consent_req *r, uint8_t *out,
			size_t cap, size_t *len)
{
	static uint8_t keys[IOMT_CONSENT_MAX_NODES][16];
	const struct iomt_keytree_conf *c = &r->meta.conf;
	uint8_t k0[16], kd[16];
	int e = iomt_keytree_data_key0(f->km, &r->meta, k0);

	for (unsigned i = 0; !e && i < r->count; i++) {
		e = iomt_keytree_data_key(c, k0, r->nodes[i].epoch, kd);
		if (!e)
			e = iomt_keytree_node_key(c, r->nodes[i].epoch, kd, &r->nodes[i].node,
						  keys[i]);
	}
	if (!e)
		e = iomt_release_encode(r->request_id, r->nodes, (const uint8_t (*)[16])keys,
					r->count, out, cap, len);
	iomt_wipe(keys, sizeof(keys));
	iomt_wipe(k0, sizeof(k0));
	iomt_wipe(kd, sizeof(kd));
	return e;
}

/* One connection, one KCHAN_REQ, one KCHAN_REP. */
static void fake_serve_one(struct fake *f, int fd)
{
	static uint8_t in[FRAME_MAX], body[FRAME_MAX], rep[FRAME_MAX], out[FRAME_MAX];
	static struct iomt_consent_req r;
	struct iomt_kdc_ap_result res;
	const uint8_t *p, *ap, *box;
	uint8_t type, op, status, nonce[13], rid[16] = { 0 };
	size_t plen, box_len, blen = 0, olen = 0, rlen = 0;
	long n = rt_knet_recv_frame(fd, in, sizeof(in), rt_knet_mono_ms() + 5000);
	int reason;

	if (n < 0 || iomt_wire_parse(in, (size_t)n, &type, &p, &plen) ||
	    type != IOMT_MSG_KCHAN_REQ || iomt_kchan_req_split(p, plen, &ap, &op, &box, &box_len) ||
	    iomt_kdc_ap_verify(f->kf.key, f->kf.name, f->kf.kvno, ap, IOMT_KDC_AP_REQ_LEN,
			       (uint64_t)time(NULL) * 1000, 120000, &res) ||
	    iomt_kchan_req_open(res.session, op, box, box_len, body, sizeof(body), &blen)) {
		fprintf(f->log, "request: does not verify\n");
		return;
	}
	reason = op == IOMT_KCHAN_OP_RELEASE ? fake_check(f, body, blen, &r)
					     : IOMT_RELEASE_R_MALFORMED;
	if (!reason && fake_release(f, &r, out, sizeof(out), &olen))
		reason = IOMT_RELEASE_R_NODES;
	memcpy(rid, r.request_id, 16);
	if (reason) {
		iomt_release_refusal_encode(rid, (uint8_t)reason, out);
		olen = IOMT_RELEASE_REFUSAL_LEN;
	}
	status = !reason ? IOMT_KCHAN_OK
		 : reason == IOMT_RELEASE_R_PATIENT ? IOMT_KCHAN_DENIED : IOMT_KCHAN_REFUSED;
	fprintf(f->log, "request nodes=%u purpose=%u decrypt_for=%u status=%u reason=%d note=%s\n",
		r.count, r.purpose, r.decrypt_for_s, status, reason, r.note);
	rt_random(nonce, sizeof(nonce));
	if (iomt_kchan_rep_seal(res.session, res.auth_nonce, status, nonce, out, olen, rep + 4,
				sizeof(rep) - 4, &rlen))
		return;
	iomt_wire_put_hdr(rep, IOMT_MSG_KCHAN_REP, rlen);
	rt_knet_send(fd, rep, 4 + rlen);
	iomt_wipe(&res, sizeof(res));
}

static void fake_ppd(FIXTURE_DATA(dec) *self, int deny)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	char key[160], err[256];
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct fake f = { .km = self->km, .meta = &self->s.meta, .deny = deny };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_GE(lfd, 0);
	ASSERT_EQ(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	ASSERT_EQ(listen(lfd, 16), 0);
	ASSERT_EQ(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
	snprintf(self->ppd_addr, sizeof(self->ppd_addr), "ppd-alice=127.0.0.1:%u",
		 ntohs(a.sin_port));
	env_key_path(&self->e, "ppd-alice", key, sizeof(key));
	ASSERT_EQ(rt_keyfile_read(key, NULL, &f.kf, err, sizeof(err)), 0);
	ASSERT_EQ(rt_consent_pub_load(self->app_pub, &f.app_pub, err, sizeof(err)), 0);
	self->ppd_pid = fork();
	ASSERT_GE(self->ppd_pid, 0);
	if (self->ppd_pid == 0) {
		f.log = fopen(self->ppd_log, "a");
		if (!f.log)
			_exit(1);
		setvbuf(f.log, NULL, _IOLBF, 0);
		for (;;) {
			int fd = accept(lfd, NULL, NULL);

			if (fd < 0)
				_exit(1);
			fake_serve_one(&f, fd);
			close(fd);
		}
	}
	close(lfd);
	rt_keyfile_wipe(&f.kf);
	EVP_PKEY_free(f.app_pub);
}

/* 'iomt-store decrypt' for key id a1.., [from, to] and extra options. */
static int decrypt(FIXTURE_DATA(dec) *self, const char *from, const char *to, const char *x1,
		   const char *x2)
{
	char key[160];

	env_key_path(&self->e, "cloud1", key, sizeof(key));
	return run(&self->s, "decrypt", "--db", self->s.db, "--kdc", self->e.kdc_addr, "--key", key,
		   "--app-key", self->app, "--ppd", self->ppd_addr, "--key-id",
		   "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "--from", from, "--to", to, "--purpose",
		   "treatment", "--decrypt-for", "1h", "--note", "weekly review", "--timeout", "10s",
		   "--out", self->outf, x1, x2, NULL);
}

static int count_lines(const char *path, const char *needle)
{
	static char buf[1 << 18];
	int n = 0;

	if (rt_test_read(path, buf, sizeof(buf)) < 0)
		return -1;
	for (const char *p = buf; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* An hour and five minutes of epoch 1: one hour node and one leaf, one
 * request; every record opens; records outside the range are left alone. */
TEST_F_TIMEOUT(dec, approved_exact_cover, 60)
{
	uint64_t leaves[20];

	for (int i = 0; i < 20; i++)
		leaves[i] = 288 + (uint64_t)i;          /* 00:00 .. 01:40 of day 1 */
	store_leaves(self, leaves, 20);
	fake_ppd(self, 0);
	/* 00:00 .. 01:00 meets leaves 288 .. 300 (the end is inclusive). */
	ASSERT_EQ(decrypt(self, "2026-01-02T00:00:00Z", "2026-01-02T01:00:00Z", NULL, NULL), 0);
	ASSERT_TRUE(senv_file_has(self->s.out, "26 records of 1 key trees selected: 1 consent"));
	ASSERT_TRUE(senv_file_has(self->s.out, ": 2 nodes for 13 leaves"));
	ASSERT_TRUE(senv_file_has(self->s.out, "released"));
	ASSERT_TRUE(senv_file_has(self->s.out, "26 records decrypted, 0 failed"));
	ASSERT_EQ(count_lines(self->ppd_log, "request nodes=2 purpose=1 decrypt_for=3600 status=0"
				     " reason=0 note=weekly review"), 1);
	ASSERT_EQ(count_lines(self->outf, " text:bp="), 26);
	ASSERT_TRUE(senv_file_has(self->outf, "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1 1 300 1 text:bp=300/1\n"));
	ASSERT_FALSE(senv_file_has(self->outf, "bp=301/"));
	/* Plaintext health data: readable by us only. */
	{
		struct stat st;

		ASSERT_EQ(stat(self->outf, &st), 0);
		ASSERT_EQ(st.st_mode & 0777, 0600);
	}
}

/* The patient says no: exit 3, nothing decrypted, no plaintext file. */
TEST_F_TIMEOUT(dec, denied_decrypts_nothing, 60)
{
	uint64_t leaves[3] = { 288, 289, 290 };

	store_leaves(self, leaves, 3);
	fake_ppd(self, FAKE_DENY);
	ASSERT_EQ(decrypt(self, "2026-01-02T00:00:00Z", "2026-01-02T01:00:00Z", NULL, NULL), 3);
	ASSERT_TRUE(senv_file_has(self->s.out, "(reason: patient)"));
	ASSERT_TRUE(senv_file_has(self->s.out, "nothing was decrypted"));
	ASSERT_EQ(access(self->outf, F_OK), -1);
	ASSERT_EQ(count_lines(self->ppd_log, "status=1 reason=1"), 1);
}

/* 70 separate leaves need 70 nodes: two requests (64 + 6). One covering
 * node instead: one request, and the over-share is reported. */
TEST_F_TIMEOUT(dec, splits_and_single_cover, 60)
{
	uint64_t leaves[70];

	for (int i = 0; i < 70; i++)
		leaves[i] = 288 + 2 * (uint64_t)i;
	store_leaves(self, leaves, 70);
	fake_ppd(self, 0);
	ASSERT_EQ(decrypt(self, "2026-01-02T00:00:00Z", "2026-01-02T23:59:59Z", NULL, NULL), 0);
	ASSERT_TRUE(senv_file_has(self->s.out, "140 records of 1 key trees selected: 2 consent"));
	ASSERT_TRUE(senv_file_has(self->s.out, "140 records decrypted, 0 failed"));
	ASSERT_EQ(count_lines(self->ppd_log, "request nodes=64 "), 1);
	ASSERT_EQ(count_lines(self->ppd_log, "request nodes=6 "), 1);
	ASSERT_EQ(count_lines(self->outf, " text:bp="), 140);

	unlink(self->outf);
	ASSERT_EQ(decrypt(self, "2026-01-02T00:00:00Z", "2026-01-02T23:59:59Z", "--cover",
			  "single"), 0);
	/* The lowest node holding 288 .. 426 is the day: 288 leaves, 70 asked. */
	ASSERT_TRUE(senv_file_has(self->s.out, ": 1 nodes for 70 leaves"));
	ASSERT_TRUE(senv_file_has(self->s.out, "over-share 218 leaves"));
	ASSERT_TRUE(senv_file_has(self->s.out, "140 records decrypted, 0 failed"));
	ASSERT_EQ(count_lines(self->ppd_log, "request nodes=1 "), 1);
}

/* A record damaged in the database does not open; the others do (exit 4). */
TEST_F_TIMEOUT(dec, damaged_record_reported, 60)
{
	uint64_t leaves[4] = { 288, 289, 290, 291 };
	struct rt_store *st;

	store_leaves(self, leaves, 4);
	ASSERT_EQ(rt_store_open(self->s.db, &st), 0);
	ASSERT_EQ(rt_store_exec(st, "UPDATE records SET record = substr(record, 1, 40) ||"
				    " x'00' || substr(record, 42) WHERE leaf = 289 AND seq = 1"),
		  0);
	rt_store_close(st);
	fake_ppd(self, 0);
	ASSERT_EQ(decrypt(self, "2026-01-02T00:00:00Z", "2026-01-02T00:19:00Z", NULL, NULL), 4);
	ASSERT_TRUE(senv_file_has(self->s.out, "record epoch 1 leaf 289 seq 1 did not open"));
	ASSERT_TRUE(senv_file_has(self->s.out, "7 records decrypted, 1 failed"));
	ASSERT_EQ(count_lines(self->outf, " text:bp="), 7);
}

/* Usage errors and a PPD nobody gave an address for. */
TEST_F_TIMEOUT(dec, usage_errors, 60)
{
	uint64_t leaves[1] = { 288 };
	char key[160];

	store_leaves(self, leaves, 1);
	env_key_path(&self->e, "cloud1", key, sizeof(key));
	snprintf(self->ppd_addr, sizeof(self->ppd_addr), "ppd-bob=127.0.0.1:1");
	ASSERT_EQ(decrypt(self, "2026-01-02T00:00:00Z", "2026-01-02T01:00:00Z", NULL, NULL), 1);
	ASSERT_TRUE(senv_file_has(self->s.out, "names PPD 'ppd-alice', which no --ppd gives"));
	ASSERT_EQ(run(&self->s, "decrypt", "--db", self->s.db, NULL), 2);
	ASSERT_EQ(decrypt(self, "2026-01-02T00:00:00Z", "2026-01-02T01:00:00Z", "--purpose",
			  "marketing"), 2);
	ASSERT_EQ(decrypt(self, "2026-01-02T00:00:00Z", "2026-01-02T01:00:00Z", "--cover",
			  "most"), 2);
}
