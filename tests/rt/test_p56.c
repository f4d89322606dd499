// SPDX-License-Identifier: MIT
/*
 * Seed 002 phases 5 and 6 (userspace/lib/s2_p56.c, s2_policy.c): the policy
 * grammar (accepted and refused texts, evaluation against certificates), the
 * KDF and ack tag against OpenSSL's KMAC-128 and fixed vectors
 * (docs/PROTOCOL.md §9.6), the key agreement from both sides, every
 * signed message's round trip and refusals (tampered bytes, wrong keys,
 * stale ts, expired grants), and sealed alerts.
 */
#include <string.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/ref.h"
#include "common/testutil.h"
#include "ct.h"
#include "harness.h"
#include "hex.h"
#include "iomt_err.h"
#include "lib/ecies.h"
#include "lib/ecqv.h"
#include "lib/s2_p56.h"
#include "lib/s2_policy.h"

enum { NB = 1767225600, NA = 1798761600, NOW = NB + 1000 };

/* ---- policy ---- */

TEST(policy_accepts)
{
	static const char *const ok[] = {
		"",
		"study=cardio-7; retain=30d",
		"read: role=doctor hospital=H0001",
		"read: role=doctor hospital=H0001; alert: role=doctor hospital=H0001 duty=yes",
		"  read:   role=doctor,nurse   ;alert: role=doctor  ",
		"study=x;read: expertise=cardio;alert: hospital=H1,H2",
	};
	struct s2_policy p;
	char err[128];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		EXPECT_EQ(s2_policy_parse(ok[i], &p, err, sizeof(err)), 0);
		if (s2_policy_parse(ok[i], &p, err, sizeof(err)))
			TH_LOG("'%s': %s", ok[i], err);
	}
	ASSERT_EQ(s2_policy_parse(ok[3], &p, NULL, 0), 0);
	ASSERT_EQ(p.n, 2);
	EXPECT_EQ(p.rule[1].verb, S2_POLICY_ALERT);
	EXPECT_EQ(p.rule[1].n, 3);
	EXPECT_STREQ(p.rule[1].cond[2].key, "duty");
	EXPECT_STREQ(p.rule[1].cond[2].values, "yes");
}

TEST(policy_refuses)
{
	static const char *const bad[] = {
		"cardiology",			/* no '=' */
		"read role=doctor",		/* no ':' */
		"read:",			/* no condition */
		"read: role=",			/* empty value */
		"read: =doctor",		/* empty key */
		"write: role=doctor",		/* unknown verb */
		"read: role=doctor;",		/* empty item */
		";read: role=doctor",
		"read: role=doctor;; alert: role=doctor",
		"read: Role=doctor",		/* key charset */
		"read: role=doc tor",		/* "tor" is no condition */
		"read: role=doctor,",		/* empty alternative */
		"read: role=doctor!",
		"study=a b",
		"read: k=0123456789012345678901234567890123",	/* value > 32 */
		"read: a=1 b=1 c=1 d=1 e=1 f=1 g=1 h=1 i=1",	/* 9 conditions */
		"read: a=1;read: a=1;read: a=1;read: a=1;read: a=1;read: a=1;read: a=1;"
		"read: a=1;read: a=1",				/* 9 rules */
	};
	struct s2_policy p;
	char err[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(s2_policy_parse(bad[i], &p, err, sizeof(err)), IOMT_EMALFORMED);
		EXPECT_NE(err[0], 0);
	}
}

static void cert_with(struct ecqv_cert *c, uint8_t role, const char *attr)
{
	memset(c, 0, sizeof(*c));
	c->role = role;
	c->attr_len = (uint8_t)strlen(attr);
	memcpy(c->attr, attr, c->attr_len);
}

TEST(policy_evaluates)
{
	struct s2_policy p;
	struct ecqv_cert c;

	ASSERT_EQ(s2_policy_parse("read: role=doctor hospital=H0001,H0003; alert: role=doctor "
				  "hospital=H0001 duty=yes; study=x", &p, NULL, 0), 0);
	cert_with(&c, ECQV_ROLE_DOCTOR, "hospital=H0001,duty=yes");
	EXPECT_TRUE(s2_policy_allows(&p, S2_POLICY_READ, &c));
	EXPECT_TRUE(s2_policy_allows(&p, S2_POLICY_ALERT, &c));
	cert_with(&c, ECQV_ROLE_DOCTOR, "hospital=H0001 duty=no");
	EXPECT_TRUE(s2_policy_allows(&p, S2_POLICY_READ, &c));
	EXPECT_FALSE(s2_policy_allows(&p, S2_POLICY_ALERT, &c));
	cert_with(&c, ECQV_ROLE_DOCTOR, "hospital=H0003");
	EXPECT_TRUE(s2_policy_allows(&p, S2_POLICY_READ, &c));
	cert_with(&c, ECQV_ROLE_DOCTOR, "hospital=H0002;duty=yes");
	EXPECT_FALSE(s2_policy_allows(&p, S2_POLICY_READ, &c));
	EXPECT_FALSE(s2_policy_allows(&p, S2_POLICY_ALERT, &c));
	cert_with(&c, ECQV_ROLE_PATIENT, "hospital=H0001,duty=yes");	/* role */
	EXPECT_FALSE(s2_policy_allows(&p, S2_POLICY_READ, &c));
	cert_with(&c, ECQV_ROLE_DOCTOR, "hospital=H00011");		/* whole values */
	EXPECT_FALSE(s2_policy_allows(&p, S2_POLICY_READ, &c));
	cert_with(&c, ECQV_ROLE_DOCTOR, "xhospital=H0001");		/* whole keys */
	EXPECT_FALSE(s2_policy_allows(&p, S2_POLICY_READ, &c));
	ASSERT_EQ(s2_policy_parse("study=x", &p, NULL, 0), 0);	/* no rule: nobody */
	cert_with(&c, ECQV_ROLE_DOCTOR, "hospital=H0001");
	EXPECT_FALSE(s2_policy_allows(&p, S2_POLICY_READ, &c));
}

/* ---- vectors ---- */

/* handle = SHA-256("iomt/s2/p6-handle" || alert_id || cert)[0..16) */
static const char handle_hex[] = "c4b394dde3ee4f5c98f591b0d88a4baf";

TEST(handle_vector)
{
	uint8_t id[16], cert[ECQV_CERT_LEN], h[16], want[16], ref[32];
	uint8_t msg[17 + 16 + ECQV_CERT_LEN];
	unsigned int n = 0;
	char hex[33];

	for (int i = 0; i < 16; i++)
		id[i] = (uint8_t)(0x10 + i);
	for (int i = 0; i < ECQV_CERT_LEN; i++)
		cert[i] = (uint8_t)i;
	ASSERT_EQ(p56_party_handle(id, cert, h), 0);
	memcpy(msg, "iomt/s2/p6-handle", 17);
	memcpy(msg + 17, id, 16);
	memcpy(msg + 33, cert, ECQV_CERT_LEN);
	ASSERT_EQ(EVP_Digest(msg, sizeof(msg), ref, &n, EVP_sha256(), NULL), 1);
	EXPECT_MEMEQ(h, ref, 16);
	iomt_hex_encode(h, 16, hex);
	TH_LOG("handle %s", hex);
	ASSERT_EQ(tu_hex(handle_hex, want, sizeof(want)), sizeof(want));
	EXPECT_MEMEQ(h, want, 16);
}

static const char kdf_okm_hex[] =
	"13ad1fc99b803622ec0de524f78b88258f6035b67ac348e6602e72014ca5b44a"
	"cbcddfc9ac33b476a36a2eb8890099b5c4089847bbfa921c93e3d165f0";
static const char ack_tag_hex[] = "4c79618a0cd49fa3e4773c2dc4dc9d39";

static void kdf_inputs(uint8_t z[3][32], uint8_t pts[4][33], uint8_t th[32])
{
	for (int i = 0; i < 96; i++)
		z[i / 32][i % 32] = (uint8_t)i;
	for (int i = 0; i < 4; i++) {
		pts[i][0] = (uint8_t)(2 + (i & 1));
		memset(pts[i] + 1, 0x11 * (i + 1), 32);
	}
	memset(th, 0x55, 32);
}

TEST(kdf_vector)
{
	uint8_t z[3][32], pts[4][33], th[32], msg[164], ref[P56_OKM_LEN], want[P56_OKM_LEN];
	struct p56_keys k;
	char hex[2 * P56_OKM_LEN + 1];

	kdf_inputs(z, pts, th);
	ASSERT_EQ(p56_kdf((const uint8_t(*)[32])z, pts[0], pts[1], pts[2], pts[3], th, &k), 0);
	for (int i = 0; i < 4; i++)
		memcpy(msg + 33 * i, pts[i], 33);
	memcpy(msg + 132, th, 32);
	ossl_kmac((const uint8_t *)z, 96, "iomt/s2/p5-key", msg, sizeof(msg), ref, sizeof(ref));
	EXPECT_MEMEQ(k.conf_m, ref, 16);
	EXPECT_MEMEQ(k.conf_u, ref + 16, 16);
	EXPECT_MEMEQ(k.k_enc, ref + 32, 16);
	EXPECT_MEMEQ(k.n_res, ref + 48, 13);
	iomt_hex_encode(ref, sizeof(ref), hex);
	TH_LOG("okm %s", hex);
	ASSERT_EQ(tu_hex(kdf_okm_hex, want, sizeof(want)), sizeof(want));
	EXPECT_MEMEQ(ref, want, sizeof(want));
}

TEST(ack_tag_vector)
{
	uint8_t secret[16], id[16], tag[16], ref[16], want[16];
	char hex[33];

	for (int i = 0; i < 16; i++) {
		secret[i] = (uint8_t)i;
		id[i] = (uint8_t)(0x10 + i);
	}
	ASSERT_EQ(p56_ack_tag(secret, id, tag), 0);
	ossl_kmac(secret, 16, "iomt/s2/p6-ack", id, 16, ref, 16);
	EXPECT_MEMEQ(tag, ref, 16);
	iomt_hex_encode(tag, 16, hex);
	TH_LOG("tag %s", hex);
	ASSERT_EQ(tu_hex(ack_tag_hex, want, sizeof(want)), sizeof(want));
	EXPECT_MEMEQ(tag, want, 16);
}

/* ---- parties: a CA, a doctor, a MEC ---- */

FIXTURE(p56)
{
	EVP_PKEY *ca, *ca_pub, *user, *mec, *other;
	struct ecqv_cert user_cert, mec_cert, other_cert;
	uint8_t id_a[16], nonce[16];
};

static void issue(EVP_PKEY *ca, EVP_PKEY *ca_pub, uint8_t role, const char *subject,
		  const char *attr, struct ecqv_cert *cert, EVP_PKEY **key)
{
	struct ecqv_request rq;
	uint8_t r[32];

	ASSERT_EQ(ecqv_request_new(&rq), 0);
	memset(cert, 0, sizeof(*cert));
	cert->serial = 7;
	memcpy(cert->issuer, "iomt-ttp-0000001", 16);
	memcpy(cert->subject, subject, strlen(subject));
	cert->role = role;
	cert->attr_len = (uint8_t)strlen(attr);
	memcpy(cert->attr, attr, cert->attr_len);
	cert->not_before = NB;
	cert->not_after = NA;
	ASSERT_EQ(ecqv_ca_issue(ca, rq.ru, cert, r), 0);
	ASSERT_EQ(ecqv_reconstruct_private(&rq, cert, r, ca_pub, NOW, key), 0);
	ecqv_request_wipe(&rq);
}

FIXTURE_SETUP(p56)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	int len;

	self->ca = EVP_EC_gen("P-256");
	ASSERT_NONNULL(self->ca);
	len = i2d_PUBKEY(self->ca, &der);
	p = der;
	self->ca_pub = d2i_PUBKEY(NULL, &p, len);
	OPENSSL_free(der);
	ASSERT_NONNULL(self->ca_pub);
	issue(self->ca, self->ca_pub, ECQV_ROLE_DOCTOR, "dora", "hospital=H0001", &self->user_cert,
	      &self->user);
	issue(self->ca, self->ca_pub, ECQV_ROLE_MEC, "mecop", "site=1", &self->mec_cert, &self->mec);
	issue(self->ca, self->ca_pub, ECQV_ROLE_DOCTOR, "otto", "hospital=H0001", &self->other_cert,
	      &self->other);
	memset(self->id_a, 0xa5, 16);
	memset(self->nonce, 0x5a, 16);
}

FIXTURE_TEARDOWN(p56)
{
	EVP_PKEY_free(self->ca);
	EVP_PKEY_free(self->ca_pub);
	EVP_PKEY_free(self->user);
	EVP_PKEY_free(self->mec);
	EVP_PKEY_free(self->other);
}

/* The TTP's grant key is the CA key here (its default). */
static size_t build_req(FIXTURE_DATA(p56) *self, EVP_PKEY *eph, uint64_t ts, uint8_t *out)
{
	uint8_t e[33];
	size_t len = 0;

	ASSERT_EQ(ecies_point_of(eph, e), 0);
	ASSERT_EQ(p56_req_build(self->user, &self->user_cert, self->ca_pub, ts, self->nonce,
				self->id_a, e, out, P56_REQ_MAX, &len), 0);
	return len;
}

/* 0 if none of the certificate's bytes, nor its subject, is in p. */
static int holds_cert(const uint8_t *p, size_t len, const struct ecqv_cert *c)
{
	uint8_t enc[ECQV_CERT_LEN];

	if (ecqv_cert_encode(c, enc))
		return 1;
	return memmem(p, len, enc, sizeof(enc)) || memmem(p, len, c->subject, 4) ||
	       memmem(p, len, c->attr, c->attr_len);
}

TEST_F(p56, request_round_trip_and_refusals)
{
	EVP_PKEY *eph = ecies_ephemeral(), *q = NULL;
	uint8_t req[P56_REQ_MAX], bad[P56_REQ_MAX + 1], q33[33], u33[33], e33[33];
	struct p56_user_msg m;
	struct ecqv_cert forged;
	size_t len;

	ASSERT_NONNULL(eph);
	len = build_req(self, eph, NOW, req);
	ASSERT_GE(len, P56_REQ_MIN);
	ASSERT_LE(len, P56_REQ_MAX);
	/* the MEC's view: ID_a, E_U, nonce; nothing of the certificate in clear */
	EXPECT_FALSE(holds_cert(req, len, &self->user_cert));
	ASSERT_EQ(p56_req_parse(req, len, &m), 0);
	ASSERT_EQ(ecies_point_of(eph, e33), 0);
	EXPECT_MEMEQ(m.id_a, self->id_a, 16);
	EXPECT_MEMEQ(m.nonce, self->nonce, 16);
	EXPECT_MEMEQ(m.eph, e33, 33);
	/* the TTP's view */
	ASSERT_EQ(p56_req_open(req, len, self->ca, self->ca_pub, NOW, &m, &q), 0);
	ASSERT_EQ(ecies_point_of(q, q33), 0);
	ASSERT_EQ(ecies_point_of(self->user, u33), 0);
	EXPECT_MEMEQ(q33, u33, 33);
	EXPECT_MEMEQ(m.id_a, self->id_a, 16);
	EXPECT_MEMEQ(m.nonce, self->nonce, 16);
	EXPECT_MEMEQ(m.cert.subject, "dora", 4);
	EXPECT_EQ(m.ts, (uint64_t)NOW);
	EVP_PKEY_free(q);
	/* every byte changed: refused (the clear part is the box's aad) */
	for (size_t i = 0; i < len; i++) {
		memcpy(bad, req, len);
		bad[i] ^= 0x01;
		EXPECT_NE(p56_req_open(bad, len, self->ca, self->ca_pub, NOW, &m, NULL), 0);
	}
	/* cut, padded, not for this TTP */
	EXPECT_EQ(p56_req_parse(req, P56_REQ_MIN - 1, &m), IOMT_EMALFORMED);
	EXPECT_NE(p56_req_open(req, len - 1, self->ca, self->ca_pub, NOW, &m, NULL), 0);
	memcpy(bad, req, len);
	bad[len] = 0;
	EXPECT_NE(p56_req_open(bad, len + 1, self->ca, self->ca_pub, NOW, &m, NULL), 0);
	EXPECT_EQ(p56_req_open(req, len, self->mec, self->ca_pub, NOW, &m, NULL), IOMT_EAUTH);
	/* E_U not a point: refused at the MEC already */
	memcpy(bad, req, len);
	bad[16] = 0x04;
	EXPECT_EQ(p56_req_parse(bad, len, &m), IOMT_EMALFORMED);
	/* stale and future ts; certificate window */
	EXPECT_EQ(p56_req_open(req, len, self->ca, self->ca_pub, NOW + P56_TS_SKEW_S + 1, &m, NULL),
		  IOMT_ESTATE);
	EXPECT_EQ(p56_req_open(req, len, self->ca, self->ca_pub, NOW - P56_TS_SKEW_S - 1, &m, NULL),
		  IOMT_ESTATE);
	EXPECT_EQ(p56_req_open(req, len, self->ca, self->ca_pub, NA + 1, &m, NULL), IOMT_ESTATE);
	/* another CA: Q_U is another key */
	EXPECT_EQ(p56_req_open(req, len, self->ca, self->mec, NOW, &m, NULL), IOMT_EAUTH);
	/* a tampered certificate (attributes) inside the box: another Q_U, the
	 * signature does not verify at the TTP */
	forged = self->user_cert;
	memcpy(forged.attr, "hospital=H0002", 14);
	ASSERT_EQ(p56_req_build(self->user, &forged, self->ca_pub, NOW, self->nonce, self->id_a,
				e33, req, sizeof(req), &len), 0);
	EXPECT_EQ(p56_req_open(req, len, self->ca, self->ca_pub, NOW, &m, NULL), IOMT_EAUTH);
	EVP_PKEY_free(eph);
}

TEST_F(p56, fetch_round_trip_and_refusals)
{
	uint8_t msg[P56_FETCH_MAX + 1], u33[33];
	struct p56_user_msg m;
	size_t len;

	ASSERT_EQ(p56_fetch_build(self->user, NOW, self->nonce, msg, P56_FETCH_MAX, &len), 0);
	ASSERT_GE(len, P56_FETCH_MIN);
	ASSERT_LE(len, P56_FETCH_MAX);
	EXPECT_FALSE(holds_cert(msg, len, &self->user_cert));
	ASSERT_EQ(p56_fetch_verify(msg, len, NOW, &m), 0);
	ASSERT_EQ(ecies_point_of(self->user, u33), 0);
	EXPECT_MEMEQ(m.q_u, u33, 33);
	EXPECT_MEMEQ(msg, u33, 33);
	EXPECT_MEMEQ(m.nonce, self->nonce, 16);
	for (size_t i = 0; i < len; i++) {
		msg[i] ^= 0x01;
		EXPECT_NE(p56_fetch_verify(msg, len, NOW, &m), 0);
		msg[i] ^= 0x01;
	}
	EXPECT_EQ(p56_fetch_verify(msg, len - 1, NOW, &m), IOMT_EMALFORMED);
	msg[len] = 0;
	EXPECT_EQ(p56_fetch_verify(msg, len + 1, NOW, &m), IOMT_EMALFORMED);
	EXPECT_EQ(p56_fetch_verify(msg, len, NOW + P56_TS_SKEW_S + 1, &m), IOMT_ESTATE);
	/* another user's key named, this one's signature: refused */
	ASSERT_EQ(ecies_point_of(self->other, msg), 0);
	EXPECT_EQ(p56_fetch_verify(msg, len, NOW, &m), IOMT_EAUTH);
}

TEST_F(p56, grant_round_trip_and_refusals)
{
	struct p56_grant g, out;
	uint8_t buf[P56_GRANT_MAX];
	size_t len;

	memset(&g, 0, sizeof(g));
	memset(g.q_u, 2, 33);
	memcpy(g.id_a, self->id_a, 16);
	g.expires = NOW + 60;
	ASSERT_EQ(p56_grant_build(self->ca, &g, buf, sizeof(buf), &len), 0);
	ASSERT_EQ(p56_grant_verify(buf, len, self->ca_pub, NOW, &out), 0);
	EXPECT_MEMEQ(out.q_u, g.q_u, 33);
	EXPECT_MEMEQ(out.id_a, g.id_a, 16);
	EXPECT_EQ(out.expires, g.expires);
	EXPECT_EQ(p56_grant_verify(buf, len, self->ca_pub, NOW + 61, &out), IOMT_ESTATE);
	EXPECT_EQ(p56_grant_verify(buf, len, self->mec, NOW, &out), IOMT_EAUTH);
	for (size_t i = 0; i < P56_GRANT_BODY; i++) {
		buf[i] ^= 0x80;
		EXPECT_EQ(p56_grant_verify(buf, len, self->ca_pub, NOW, &out), IOMT_EAUTH);
		buf[i] ^= 0x80;
	}
	EXPECT_EQ(p56_grant_verify(buf, len - 1, self->ca_pub, NOW, &out), IOMT_EMALFORMED);
}

/* Both sides from their own secrets; a MEC without d_M cannot confirm. */
TEST_F(p56, key_agreement)
{
	EVP_PKEY *e_u = ecies_ephemeral(), *e_m = ecies_ephemeral(), *q_m = NULL, *q_u = NULL;
	uint8_t req[P56_REQ_MAX], em[33], mc[ECQV_CERT_LEN], th[32], pt[100], box[116];
	struct p56_keys ku, km, kx;
	size_t len;

	ASSERT_TRUE(e_u && e_m);
	len = build_req(self, e_u, NOW, req);
	ASSERT_EQ(ecies_point_of(e_m, em), 0);
	ASSERT_EQ(ecqv_cert_encode(&self->mec_cert, mc), 0);
	ASSERT_EQ(p56_transcript(req, len, em, mc, th), 0);
	ASSERT_EQ(ecqv_public_from_cert(&self->mec_cert, self->ca_pub, NOW, &q_m), 0);
	ASSERT_EQ(ecqv_public_from_cert(&self->user_cert, self->ca_pub, NOW, &q_u), 0);
	ASSERT_EQ(p56_keys_user(self->user, e_u, q_m, e_m, th, &ku), 0);
	ASSERT_EQ(p56_keys_mec(self->mec, e_m, q_u, e_u, th, &km), 0);
	EXPECT_MEMEQ(&ku, &km, sizeof(ku));
	/* an impostor MEC (other static key) and an impostor user (other d_U) */
	ASSERT_EQ(p56_keys_mec(self->other, e_m, q_u, e_u, th, &kx), 0);
	EXPECT_FALSE(iomt_ct_eq(kx.conf_m, ku.conf_m, 16));
	ASSERT_EQ(p56_keys_user(self->other, e_u, q_m, e_m, th, &kx), 0);
	EXPECT_FALSE(iomt_ct_eq(kx.conf_u, km.conf_u, 16));
	/* another transcript, other keys */
	th[0] ^= 1;
	ASSERT_EQ(p56_keys_mec(self->mec, e_m, q_u, e_u, th, &kx), 0);
	EXPECT_FALSE(iomt_ct_eq(kx.k_enc, km.k_enc, 16));
	/* results sealed by one side open at the other, and nowhere else */
	memset(pt, 0x42, sizeof(pt));
	ASSERT_EQ(p56_results_seal(&km, pt, sizeof(pt), box), 0);
	ASSERT_EQ(p56_results_open(&ku, box, sizeof(box), pt), 0);
	EXPECT_EQ(pt[99], 0x42);
	EXPECT_EQ(p56_results_open(&kx, box, sizeof(box), pt), IOMT_EAUTH);
	box[3] ^= 1;
	EXPECT_EQ(p56_results_open(&ku, box, sizeof(box), pt), IOMT_EAUTH);
	EVP_PKEY_free(e_u);
	EVP_PKEY_free(e_m);
	EVP_PKEY_free(q_m);
	EVP_PKEY_free(q_u);
}

TEST_F(p56, emergency_parties_delivered)
{
	static struct p56_emerg e, eo;
	static struct p56_parties pa, po;
	static uint8_t buf[P56_PARTIES_MAX_LEN];
	uint8_t enc[ECQV_CERT_LEN];
	struct p56_delivered d = { 0 }, dout;
	size_t len;

	e.cert = self->mec_cert;
	e.ts = NOW;
	memset(e.alert_id, 1, 16);
	memcpy(e.id_a, self->id_a, 16);
	e.res_len = 54;
	memset(e.result, 7, 54);
	ASSERT_EQ(p56_emerg_build(self->mec, &e, buf, sizeof(buf), &len), 0);
	ASSERT_EQ(p56_emerg_verify(buf, len, self->ca_pub, NOW, &eo, NULL), 0);
	EXPECT_MEMEQ(eo.result, e.result, 54);
	EXPECT_EQ(eo.res_len, 54);
	buf[130] ^= 1;	/* ts */
	EXPECT_EQ(p56_emerg_verify(buf, len, self->ca_pub, NOW, &eo, NULL), IOMT_EAUTH);
	buf[130] ^= 1;
	e.cert = self->user_cert;	/* signed by another key than the certificate's */
	ASSERT_EQ(p56_emerg_build(self->mec, &e, buf, sizeof(buf), &len), 0);
	EXPECT_EQ(p56_emerg_verify(buf, len, self->ca_pub, NOW, &eo, NULL), IOMT_EAUTH);

	memset(pa.alert_id, 1, 16);
	pa.expires = NOW + 100;
	pa.n = 2;
	ASSERT_EQ(ecies_point_of(self->user, pa.q_u[0]), 0);
	ASSERT_EQ(ecies_point_of(self->other, pa.q_u[1]), 0);
	ASSERT_EQ(ecqv_cert_encode(&self->user_cert, enc), 0);
	ASSERT_EQ(p56_party_handle(pa.alert_id, enc, pa.handle[0]), 0);
	ASSERT_EQ(ecqv_cert_encode(&self->other_cert, enc), 0);
	ASSERT_EQ(p56_party_handle(pa.alert_id, enc, pa.handle[1]), 0);
	EXPECT_FALSE(iomt_ct_eq(pa.handle[0], pa.handle[1], 16));
	ASSERT_EQ(p56_parties_build(self->ca, &pa, buf, sizeof(buf), &len), 0);
	EXPECT_EQ(len, (size_t)P56_PARTIES_FIXED + 2 * P56_PARTY_LEN + 1 +
			       buf[P56_PARTIES_FIXED + 2 * P56_PARTY_LEN]);
	EXPECT_FALSE(holds_cert(buf, len, &self->user_cert));
	EXPECT_FALSE(holds_cert(buf, len, &self->other_cert));
	ASSERT_EQ(p56_parties_verify(buf, len, self->ca_pub, &po), 0);
	EXPECT_EQ(po.n, 2);
	EXPECT_MEMEQ(po.q_u[1], pa.q_u[1], 33);
	EXPECT_MEMEQ(po.handle[1], pa.handle[1], 16);
	buf[40] ^= 1;
	EXPECT_EQ(p56_parties_verify(buf, len, self->ca_pub, &po), IOMT_EAUTH);
	buf[40] ^= 1;
	buf[24] = 0;	/* n = 0 */
	EXPECT_EQ(p56_parties_verify(buf, len, self->ca_pub, &po), IOMT_EMALFORMED);
	buf[24] = 2;
	EXPECT_EQ(p56_parties_verify(buf, len - 1, self->ca_pub, &po), IOMT_EMALFORMED);
	/* a signed list whose Q_U is no point: refused */
	pa.q_u[1][0] = 0x04;
	ASSERT_EQ(p56_parties_build(self->ca, &pa, buf, sizeof(buf), &len), 0);
	EXPECT_EQ(p56_parties_verify(buf, len, self->ca_pub, &po), IOMT_EMALFORMED);

	d.cert = self->mec_cert;
	d.ts = NOW;
	memcpy(d.handle, pa.handle[0], 16);
	ASSERT_EQ(p56_delivered_build(self->mec, &d, buf, sizeof(buf), &len), 0);
	ASSERT_EQ(p56_delivered_verify(buf, len, self->ca_pub, NOW, &dout), 0);
	EXPECT_MEMEQ(dout.handle, d.handle, 16);
	EXPECT_EQ(p56_delivered_verify(buf, len, self->ca_pub, NOW + 1000, &dout), IOMT_ESTATE);
}

TEST_F(p56, alert_seal_open)
{
	static struct p56_alert a, out;
	static uint8_t box[P56_ALERT_MAX];
	uint8_t mc[ECQV_CERT_LEN], tag[16], tag2[16];
	EVP_PKEY *q_u = NULL;
	size_t len;

	ASSERT_EQ(ecqv_cert_encode(&self->mec_cert, mc), 0);
	ASSERT_EQ(ecqv_public_from_cert(&self->user_cert, self->ca_pub, NOW, &q_u), 0);
	memset(a.alert_id, 3, 16);
	memcpy(a.id_a, self->id_a, 16);
	a.ts = NOW;
	memset(a.ack_secret, 9, 16);
	a.res_len = 60;
	memset(a.result, 0x77, 60);
	ASSERT_EQ(p56_alert_seal(self->mec, mc, q_u, &a, box, sizeof(box), &len), 0);
	ASSERT_EQ(p56_alert_open(self->user, self->ca_pub, NOW, box, len, &out), 0);
	EXPECT_MEMEQ(out.ack_secret, a.ack_secret, 16);
	EXPECT_MEMEQ(out.result, a.result, 60);
	EXPECT_EQ(out.ts, a.ts);
	ASSERT_EQ(p56_ack_tag(out.ack_secret, out.alert_id, tag), 0);
	ASSERT_EQ(p56_ack_tag(a.ack_secret, a.alert_id, tag2), 0);
	EXPECT_MEMEQ(tag, tag2, 16);
	/* another recipient cannot open it; any changed byte is refused */
	EXPECT_NE(p56_alert_open(self->other, self->ca_pub, NOW, box, len, &out), 0);
	for (size_t i = 0; i < len; i += 7) {
		box[i] ^= 0x10;
		EXPECT_NE(p56_alert_open(self->user, self->ca_pub, NOW, box, len, &out), 0);
		box[i] ^= 0x10;
	}
	/* signed by a key that is not the MEC certificate's: refused after opening */
	ASSERT_EQ(p56_alert_seal(self->other, mc, q_u, &a, box, sizeof(box), &len), 0);
	EXPECT_EQ(p56_alert_open(self->user, self->ca_pub, NOW, box, len, &out), IOMT_EAUTH);
	/* a non-MEC certificate inside: malformed */
	ASSERT_EQ(ecqv_cert_encode(&self->other_cert, mc), 0);
	ASSERT_EQ(p56_alert_seal(self->other, mc, q_u, &a, box, sizeof(box), &len), 0);
	EXPECT_EQ(p56_alert_open(self->user, self->ca_pub, NOW, box, len, &out), IOMT_EMALFORMED);
	EVP_PKEY_free(q_u);
}

