/* SPDX-License-Identifier: MIT */
/*
 * lib/kdc: names, key derivation against OpenSSL's KMAC-128, the
 * same-patient policy for every pair of kinds, tickets, the AS, TGS and AP
 * exchanges with every refusal (one bit flipped in every byte of every
 * message, wrong key, stale kvno, wrong principal, skew both ways, the
 * expiry boundary), ERR, batch == single.
 * The client's state machine: tests/lib/test_kdc_client.c; the vector file
 * and docs/PROTOCOL.md §5: tests/lib/test_kdc_vectors.c.
 */
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include "harness.h"
#include "testutil.h"
#include "ref.h"
#include "kdc.h"
#include "wire.h"
#include "bytes.h"
#include "ct.h"

enum {
	SKEW = 300000,          /* 5 min */
	LIFE_TGT = 36000,       /* 10 h */
	LIFE_TKT = 3600,
	K = IOMT_KDC_KEY_LEN,
	N = IOMT_KDC_NAME_LEN,
};
static const uint64_t T0 = 1767225600000ULL;    /* 2026-01-01T00:00:00Z */

/* ---- byte strings (cat_put: tests/common/ref.h) ---- */

static struct cat *cat_u64(struct cat *c, uint64_t v)
{
	uint8_t b[8];

	iomt_store_be64(b, v);
	return cat_put(c, b, 8);
}

static struct cat *cat_u32(struct cat *c, uint32_t v)
{
	uint8_t b[4];

	iomt_store_be32(b, v);
	return cat_put(c, b, 4);
}

static void name(uint8_t out[N], const char *text)
{
	memset(out, 0, N);
	if (*text)
		ASSERT_EQ(iomt_kdc_name_from_text(out, text), IOMT_KDC_OK);
}

/* ---- codes, names, keys ---- */

TEST(strcode_names_every_code)
{
	for (int c = IOMT_KDC_OK; c <= IOMT_KDC_ERR_STATE; c++) {
		ASSERT_NONNULL(iomt_kdc_strcode(c));
		ASSERT_TRUE(strcmp(iomt_kdc_strcode(c), "unknown code") != 0);
		for (int d = 0; d < c; d++)
			ASSERT_TRUE(strcmp(iomt_kdc_strcode(c), iomt_kdc_strcode(d)) != 0);
	}
	ASSERT_STREQ(iomt_kdc_strcode(14), "unknown code");
	ASSERT_STREQ(iomt_kdc_strcode(-1), "unknown code");
}

TEST(name_from_text_validation)
{
	static const char *good[] = { "a", "Z", "0", "sensor-0001", "a.b_c:d-e",
				      "0123456789abcdef", "krbtgt", "ABCDEFGHIJKLMNOP" };
	static const char *bad[] = { "", "0123456789abcdefg", "a b", "a/b", "a@b", "é",
				     "tab\there", "x\x7f", "semi;colon", "quote\"" };
	uint8_t n[N];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		size_t len = strlen(good[i]);

		memset(n, 0xaa, N);
		ASSERT_EQ(iomt_kdc_name_from_text(n, good[i]), IOMT_KDC_OK);
		ASSERT_MEMEQ(n, good[i], len);
		ASSERT_TRUE(iomt_ct_is_zero(n + len, N - len));
		ASSERT_TRUE(iomt_kdc_name_valid(n));
		ASSERT_FALSE(iomt_kdc_name_is_empty(n));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(n, 0xaa, N);
		ASSERT_EQ(iomt_kdc_name_from_text(n, bad[i]), IOMT_KDC_ERR_MALFORMED);
		ASSERT_TRUE(iomt_ct_is_zero(n, N));
	}
	ASSERT_EQ(iomt_kdc_name_from_text(n, NULL), IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(iomt_kdc_name_from_text(NULL, "a"), IOMT_KDC_ERR_MALFORMED);
	name(n, "krbtgt");
	ASSERT_MEMEQ(n, iomt_kdc_tgs_name, N);
}

TEST(name_valid_one_encoding_per_name)
{
	uint8_t n[N];

	memset(n, 0, N);
	ASSERT_FALSE(iomt_kdc_name_valid(n));	/* empty: "no patient", not a name */
	ASSERT_TRUE(iomt_kdc_name_is_empty(n));
	name(n, "ab");
	n[5] = 'c';				/* text after the padding */
	ASSERT_FALSE(iomt_kdc_name_valid(n));
	name(n, "ab");
	n[15] = 1;
	ASSERT_FALSE(iomt_kdc_name_valid(n));
	ASSERT_FALSE(iomt_kdc_name_is_empty(n));
	memset(n, 0, N);
	n[1] = 'a';				/* padding first */
	ASSERT_FALSE(iomt_kdc_name_valid(n));
	for (int c = 1; c < 256; c++) {
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' || c == '-';

		memset(n, 0, N);
		n[0] = 'x';
		n[1] = (uint8_t)c;
		ASSERT_EQ(iomt_kdc_name_valid(n), ok);
	}
}

TEST(key_derivations_match_openssl_kmac)
{
	struct tu_rng r = { 0x6b6463 };
	uint8_t kkdc[32], salt[16], nm[N], in[32], want[16], got[16], kcv[8];

	for (int i = 0; i < 20; i++) {
		tu_fill(&r, kkdc, 32);
		tu_fill(&r, salt, 16);
		name(nm, i & 1 ? "sensor-1" : "0123456789abcdef");
		memcpy(in, nm, N);
		memcpy(in + N, salt, 16);
		iomt_kdc_device_key(kkdc, nm, salt, got);
		ossl_kmac(kkdc, 32, "iomt/kdc/device-key", in, 32, want, 16);
		ASSERT_MEMEQ(got, want, 16);
		iomt_kdc_tgs_key(kkdc, salt, got);
		ossl_kmac(kkdc, 32, "iomt/kdc/tgs-key", salt, 16, want, 16);
		ASSERT_MEMEQ(got, want, 16);
		iomt_kdc_key_check(got, kcv);
		ossl_kmac(got, 16, "iomt/kdc/kcv", NULL, 0, want, 8);
		ASSERT_MEMEQ(kcv, want, 8);
	}
	/* Different names or salts, different keys. */
	name(nm, "a");
	iomt_kdc_device_key(kkdc, nm, salt, want);
	name(nm, "b");
	iomt_kdc_device_key(kkdc, nm, salt, got);
	ASSERT_TRUE(memcmp(got, want, 16) != 0);
}

/* ---- the policy ---- */

static int policy_rule(uint8_t ck, const uint8_t *cp, uint8_t sk, const uint8_t *sp,
		       uint8_t *patient)
{
	memset(patient, 0, N);
	if (ck == IOMT_KDC_KIND_CLOUD || sk == IOMT_KDC_KIND_CLOUD) {
		if (ck != IOMT_KDC_KIND_CLOUD)
			memcpy(patient, cp, N);
		else if (sk != IOMT_KDC_KIND_CLOUD)
			memcpy(patient, sp, N);
		return IOMT_KDC_OK;
	}
	if (iomt_kdc_name_is_empty(cp) || memcmp(cp, sp, N))
		return IOMT_KDC_ERR_POLICY;
	memcpy(patient, cp, N);
	return IOMT_KDC_OK;
}

/* Every pair of kinds x {same, different, one or both without} patient. */
TEST(policy_table_every_pair_of_kinds)
{
	static const char *pats[][2] = { { "p-1", "p-1" }, { "p-1", "p-2" }, { "", "p-1" },
					 { "p-1", "" }, { "", "" } };
	uint8_t cn[N], sn[N], cp[N], sp[N], got[N], want[N];
	int allowed = 0, total = 0;

	name(cn, "c");
	name(sn, "s");
	for (uint8_t ck = IOMT_KDC_KIND_SENSOR; ck <= IOMT_KDC_KIND_CLOUD; ck++)
		for (uint8_t sk = IOMT_KDC_KIND_SENSOR; sk <= IOMT_KDC_KIND_CLOUD; sk++)
			for (size_t p = 0; p < sizeof(pats) / sizeof(pats[0]); p++) {
				int rc, exp;

				name(cp, pats[p][0]);
				name(sp, pats[p][1]);
				memset(got, 0xaa, N);
				rc = iomt_kdc_policy(cn, ck, cp, sn, sk, sp, got);
				exp = policy_rule(ck, cp, sk, sp, want);
				if (rc != exp)
					TH_LOG("kinds %u -> %u, patients '%s' '%s'", ck, sk,
					       pats[p][0], pats[p][1]);
				ASSERT_EQ(rc, exp);
				ASSERT_MEMEQ(got, want, N);
				allowed += rc == IOMT_KDC_OK;
				total++;
			}
	TH_LOG("%d of %d pairings allowed", allowed, total);
	ASSERT_EQ(total, 80);
	/* 7 (the kind pairs with a cloud) x 5 + 9 device pairs x 1 (same patient) */
	ASSERT_EQ(allowed, 7 * 5 + 9);
}

TEST(policy_named_cases)
{
	uint8_t s1[N], g1[N], c1[N], c2[N], p42[N], p7[N], none[N], out[N];

	name(s1, "sensor-1");
	name(g1, "gw-1");
	name(c1, "cloud-1");
	name(c2, "cloud-2");
	name(p42, "patient-42");
	name(p7, "patient-7");
	memset(none, 0, N);
	ASSERT_EQ(iomt_kdc_policy(s1, IOMT_KDC_KIND_SENSOR, p42, g1, IOMT_KDC_KIND_GATEWAY, p42,
				  out), IOMT_KDC_OK);
	ASSERT_MEMEQ(out, p42, N);
	ASSERT_EQ(iomt_kdc_policy(s1, IOMT_KDC_KIND_SENSOR, p42, g1, IOMT_KDC_KIND_GATEWAY, p7,
				  out), IOMT_KDC_ERR_POLICY);
	ASSERT_TRUE(iomt_ct_is_zero(out, N));
	ASSERT_EQ(iomt_kdc_policy(s1, IOMT_KDC_KIND_SENSOR, none, g1, IOMT_KDC_KIND_GATEWAY, none,
				  out), IOMT_KDC_ERR_POLICY);
	ASSERT_EQ(iomt_kdc_policy(c1, IOMT_KDC_KIND_CLOUD, none, s1, IOMT_KDC_KIND_SENSOR, p7,
				  out), IOMT_KDC_OK);
	ASSERT_MEMEQ(out, p7, N);
	ASSERT_EQ(iomt_kdc_policy(g1, IOMT_KDC_KIND_PPD, p42, c1, IOMT_KDC_KIND_CLOUD, none,
				  out), IOMT_KDC_OK);
	ASSERT_MEMEQ(out, p42, N);
	ASSERT_EQ(iomt_kdc_policy(c1, IOMT_KDC_KIND_CLOUD, none, c2, IOMT_KDC_KIND_CLOUD, none,
				  out), IOMT_KDC_OK);
	ASSERT_TRUE(iomt_ct_is_zero(out, N));
	/* Never a principal with itself, not even the cloud. */
	ASSERT_EQ(iomt_kdc_policy(s1, IOMT_KDC_KIND_SENSOR, p42, s1, IOMT_KDC_KIND_GATEWAY, p42,
				  out), IOMT_KDC_ERR_POLICY);
	ASSERT_EQ(iomt_kdc_policy(c1, IOMT_KDC_KIND_CLOUD, none, c1, IOMT_KDC_KIND_CLOUD, none,
				  out), IOMT_KDC_ERR_POLICY);
	/* Kind TGS (0) and unknown kinds are never a side of a pairing. */
	for (unsigned k = 0; k < 256; k++) {
		if (k >= IOMT_KDC_KIND_SENSOR && k <= IOMT_KDC_KIND_CLOUD)
			continue;
		ASSERT_EQ(iomt_kdc_policy(s1, (uint8_t)k, p42, c1, IOMT_KDC_KIND_CLOUD, none, out),
			  IOMT_KDC_ERR_POLICY);
		ASSERT_EQ(iomt_kdc_policy(c1, IOMT_KDC_KIND_CLOUD, none, s1, (uint8_t)k, p42, out),
			  IOMT_KDC_ERR_POLICY);
	}
	/* Invalid names or patient fields. */
	memset(out, 0, N);
	out[3] = 'x';
	ASSERT_EQ(iomt_kdc_policy(s1, IOMT_KDC_KIND_SENSOR, out, g1, IOMT_KDC_KIND_GATEWAY, out,
				  out), IOMT_KDC_ERR_POLICY);
	ASSERT_EQ(iomt_kdc_policy(none, IOMT_KDC_KIND_CLOUD, none, g1, IOMT_KDC_KIND_GATEWAY, p7,
				  out), IOMT_KDC_ERR_POLICY);
	ASSERT_EQ(iomt_kdc_policy(s1, IOMT_KDC_KIND_SENSOR, p42, g1, IOMT_KDC_KIND_GATEWAY, p42,
				  NULL), IOMT_KDC_ERR_POLICY);
}

/* ---- a small world: one client, one service, the KDC ---- */

struct world {
	struct tu_rng rng;
	uint8_t kkdc[32], salt_c[16], salt_s[16], salt_tgs[16];
	uint8_t cname[N], sname[N], patient[N];
	uint8_t kc[K], ks[K], ktgs[K];
	uint32_t kvno_c, kvno_s, kvno_tgs;
	struct iomt_kdc_client cl;
	uint8_t as_req[IOMT_KDC_AS_REQ_LEN], as_rep[IOMT_KDC_AS_REP_LEN];
	uint8_t tgs_req[IOMT_KDC_TGS_REQ_LEN], tgs_rep[IOMT_KDC_TGS_REP_LEN];
	uint8_t ap_req[IOMT_KDC_AP_REQ_LEN], ap_rep[IOMT_KDC_AP_REP_LEN];
	struct iomt_kdc_tgs_req tr;
	struct iomt_kdc_ap_result ar;
};

static void world_init(struct world *w, uint64_t seed)
{
	memset(w, 0, sizeof(*w));
	w->rng.s = seed;
	tu_fill(&w->rng, w->kkdc, sizeof(w->kkdc));
	tu_fill(&w->rng, w->salt_c, 16);
	tu_fill(&w->rng, w->salt_s, 16);
	tu_fill(&w->rng, w->salt_tgs, 16);
	name(w->cname, "sensor-1");
	name(w->sname, "gw-1");
	name(w->patient, "patient-42");
	iomt_kdc_device_key(w->kkdc, w->cname, w->salt_c, w->kc);
	iomt_kdc_device_key(w->kkdc, w->sname, w->salt_s, w->ks);
	iomt_kdc_tgs_key(w->kkdc, w->salt_tgs, w->ktgs);
	w->kvno_c = 1;
	w->kvno_s = 5;
	w->kvno_tgs = 2;
	ASSERT_EQ(iomt_kdc_client_init(&w->cl, w->cname, w->kvno_c, w->kc), IOMT_KDC_OK);
}

static struct iomt_kdc_grant tgt_grant(const struct world *w, uint64_t now)
{
	struct iomt_kdc_grant g = { w->ktgs, iomt_kdc_tgs_name, w->kvno_tgs, { 0 },
				    IOMT_KDC_KIND_SENSOR, { 0 }, now, LIFE_TGT };

	memcpy(g.cname, w->cname, N);
	memcpy(g.patient, w->patient, N);
	return g;
}

static struct iomt_kdc_grant tkt_grant(const struct world *w, uint64_t now, uint32_t life)
{
	struct iomt_kdc_grant g = { w->ks, w->sname, w->kvno_s, { 0 }, IOMT_KDC_KIND_SENSOR,
				    { 0 }, now, life };

	memcpy(g.cname, w->cname, N);
	memcpy(g.patient, w->patient, N);
	return g;
}

/* AS_REQ at t, the KDC answers at t + 10. */
static void do_as_req(struct world *w, uint64_t t)
{
	uint8_t rnd[IOMT_KDC_AS_REQ_RAND];

	tu_fill(&w->rng, rnd, sizeof(rnd));
	ASSERT_EQ(iomt_kdc_client_as_req(&w->cl, t, rnd, w->as_req), IOMT_KDC_OK);
}

static void do_as_rep(struct world *w, uint64_t t)
{
	uint8_t rnd[IOMT_KDC_REP_RAND];
	struct iomt_kdc_grant g = tgt_grant(w, t);

	tu_fill(&w->rng, rnd, sizeof(rnd));
	ASSERT_EQ(iomt_kdc_as_reply(w->kc, w->as_req, sizeof(w->as_req), SKEW, &g, rnd, w->as_rep),
		  IOMT_KDC_OK);
}

static void do_as(struct world *w, uint64_t t)
{
	do_as_req(w, t);
	do_as_rep(w, t + 10);
	ASSERT_EQ(iomt_kdc_client_recv(&w->cl, IOMT_MSG_KDC_AS_REP, w->as_rep, sizeof(w->as_rep)),
		  IOMT_KDC_OK);
	ASSERT_EQ(w->cl.state, IOMT_KDC_C_HAVE_TGT);
}

static void do_tgs_req(struct world *w, uint64_t t)
{
	uint8_t rnd[IOMT_KDC_TGS_REQ_RAND];

	tu_fill(&w->rng, rnd, sizeof(rnd));
	ASSERT_EQ(iomt_kdc_client_tgs_req(&w->cl, w->sname, t, rnd, w->tgs_req), IOMT_KDC_OK);
}

static void do_tgs_rep(struct world *w, uint64_t t)
{
	uint8_t rnd[IOMT_KDC_REP_RAND];
	struct iomt_kdc_grant g = tkt_grant(w, t, LIFE_TKT);

	ASSERT_EQ(iomt_kdc_tgs_req_open(w->ktgs, w->kvno_tgs, w->tgs_req, sizeof(w->tgs_req), t,
					SKEW, &w->tr), IOMT_KDC_OK);
	tu_fill(&w->rng, rnd, sizeof(rnd));
	ASSERT_EQ(iomt_kdc_tgs_reply(&w->tr, &g, rnd, w->tgs_rep), IOMT_KDC_OK);
}

static void do_tgs(struct world *w, uint64_t t)
{
	do_tgs_req(w, t);
	do_tgs_rep(w, t + 10);
	ASSERT_EQ(iomt_kdc_client_recv(&w->cl, IOMT_MSG_KDC_TGS_REP, w->tgs_rep,
				       sizeof(w->tgs_rep)), IOMT_KDC_OK);
	ASSERT_EQ(w->cl.state, IOMT_KDC_C_HAVE_TICKET);
}

static void do_ap_req(struct world *w, uint64_t t)
{
	uint8_t rnd[IOMT_KDC_AP_REQ_RAND];

	tu_fill(&w->rng, rnd, sizeof(rnd));
	ASSERT_EQ(iomt_kdc_client_ap_req(&w->cl, t, rnd, w->ap_req), IOMT_KDC_OK);
}

static void do_ap(struct world *w, uint64_t t)
{
	uint8_t rnd[IOMT_KDC_AP_REP_RAND];

	do_ap_req(w, t);
	ASSERT_EQ(iomt_kdc_ap_verify(w->ks, w->sname, w->kvno_s, w->ap_req, sizeof(w->ap_req),
				     t + 10, SKEW, &w->ar), IOMT_KDC_OK);
	tu_fill(&w->rng, rnd, sizeof(rnd));
	ASSERT_EQ(iomt_kdc_ap_reply(&w->ar, rnd, w->ap_rep), IOMT_KDC_OK);
	ASSERT_EQ(iomt_kdc_client_recv(&w->cl, IOMT_MSG_KDC_AP_REP, w->ap_rep, sizeof(w->ap_rep)),
		  IOMT_KDC_OK);
	ASSERT_EQ(w->cl.state, IOMT_KDC_C_ESTABLISHED);
}

TEST(full_exchange_agrees_on_session)
{
	struct world w;
	uint8_t k2[K];

	world_init(&w, 1);
	do_as(&w, T0);
	do_tgs(&w, T0 + 1000);
	ASSERT_MEMEQ(w.tr.tgt.cname, w.cname, N);
	ASSERT_MEMEQ(w.tr.target, w.sname, N);
	do_ap(&w, T0 + 2000);
	ASSERT_MEMEQ(w.cl.session, w.ar.session, K);
	ASSERT_MEMEQ(w.ar.tkt.cname, w.cname, N);
	ASSERT_MEMEQ(w.ar.tkt.patient, w.patient, N);
	ASSERT_MEMEQ(w.ar.tkt.key, w.cl.sess_key, K);
	ASSERT_EQ(w.ar.tkt.ckind, IOMT_KDC_KIND_SENSOR);
	ASSERT_EQ(w.ar.auth_ms, T0 + 2000);
	ASSERT_MEMEQ(w.ar.replay_key, w.ap_req + IOMT_KDC_AP_REQ_LEN - 16, 16);
	ASSERT_MEMEQ(w.ar.ref, w.ap_req + IOMT_KDC_TICKET_LEN, 8);
	ASSERT_FALSE(iomt_ct_is_zero(w.cl.session, K));
	/* A second AP exchange with the same ticket: a new session key. */
	memcpy(k2, w.cl.session, K);
	do_ap(&w, T0 + 3000);
	ASSERT_TRUE(memcmp(k2, w.cl.session, K) != 0);
	ASSERT_MEMEQ(w.cl.session, w.ar.session, K);
}

/* ---- tickets ---- */

static void info_fill(const struct world *w, struct iomt_kdc_ticket_info *i, uint64_t issue,
		      uint32_t life)
{
	memset(i, 0, sizeof(*i));
	memset(i->key, 0x5a, K);
	memcpy(i->cname, w->cname, N);
	i->ckind = IOMT_KDC_KIND_SENSOR;
	memcpy(i->patient, w->patient, N);
	i->issue_ms = issue;
	i->lifetime_s = life;
}

TEST(ticket_round_trip_and_layout)
{
	struct world w;
	struct iomt_kdc_ticket_info in, out;
	uint8_t t[IOMT_KDC_TICKET_LEN], nonce[13], sn[N];
	uint32_t kvno = 0;

	world_init(&w, 2);
	info_fill(&w, &in, T0, LIFE_TKT);
	tu_fill(&w.rng, nonce, 13);
	ASSERT_EQ(iomt_kdc_ticket_seal(w.ks, w.sname, 7, &in, nonce, t), IOMT_KDC_OK);
	iomt_kdc_ticket_peek(t, sn, &kvno);
	ASSERT_MEMEQ(sn, w.sname, N);
	ASSERT_EQ(kvno, 7);
	ASSERT_MEMEQ(t + 20, nonce, 13);
	ASSERT_EQ(iomt_kdc_ticket_open(w.ks, w.sname, 7, t, T0, SKEW, &out), IOMT_KDC_OK);
	ASSERT_MEMEQ(&out, &in, sizeof(in));
}

TEST(ticket_open_every_refusal)
{
	struct world w;
	struct iomt_kdc_ticket_info in, out;
	uint8_t t[IOMT_KDC_TICKET_LEN], nonce[13], other[N], key[K];
	uint64_t end = T0 + (uint64_t)LIFE_TKT * 1000;

	world_init(&w, 3);
	info_fill(&w, &in, T0, LIFE_TKT);
	tu_fill(&w.rng, nonce, 13);
	ASSERT_EQ(iomt_kdc_ticket_seal(w.ks, w.sname, 7, &in, nonce, t), IOMT_KDC_OK);
	name(other, "gw-2");
	memset(&out, 0xee, sizeof(out));
	ASSERT_EQ(iomt_kdc_ticket_open(w.ks, other, 7, t, T0, SKEW, &out),
		  IOMT_KDC_ERR_WRONG_PRINCIPAL);
	ASSERT_TRUE(iomt_ct_is_zero(&out, sizeof(out)));
	ASSERT_EQ(iomt_kdc_ticket_open(w.ks, w.sname, 6, t, T0, SKEW, &out),
		  IOMT_KDC_ERR_STALE_KEY);
	ASSERT_EQ(iomt_kdc_ticket_open(w.ks, w.sname, 8, t, T0, SKEW, &out),
		  IOMT_KDC_ERR_STALE_KEY);
	memcpy(key, w.ks, K);
	key[K - 1] ^= 1;
	memset(&out, 0xee, sizeof(out));
	ASSERT_EQ(iomt_kdc_ticket_open(key, w.sname, 7, t, T0, SKEW, &out), IOMT_KDC_ERR_BAD_MAC);
	ASSERT_TRUE(iomt_ct_is_zero(&out, sizeof(out)));
	/* one bit of every byte: header -> principal / kvno, the box -> BAD_MAC */
	for (size_t i = 0; i < sizeof(t); i++) {
		int want = i < 16 ? IOMT_KDC_ERR_WRONG_PRINCIPAL :
			   i < 20 ? IOMT_KDC_ERR_STALE_KEY : IOMT_KDC_ERR_BAD_MAC;

		t[i] ^= 0x10;
		ASSERT_EQ(iomt_kdc_ticket_open(w.ks, w.sname, 7, t, T0, SKEW, &out), want);
		ASSERT_TRUE(iomt_ct_is_zero(&out, sizeof(out)));
		t[i] ^= 0x10;
	}
	/* the expiry boundary: valid through issue + lifetime, not a ms later */
	ASSERT_EQ(iomt_kdc_ticket_open(w.ks, w.sname, 7, t, end, SKEW, &out), IOMT_KDC_OK);
	ASSERT_EQ(iomt_kdc_ticket_open(w.ks, w.sname, 7, t, end + 1, SKEW, &out),
		  IOMT_KDC_ERR_EXPIRED);
	ASSERT_TRUE(iomt_ct_is_zero(&out, sizeof(out)));
	/* issued in the future: up to the skew */
	ASSERT_EQ(iomt_kdc_ticket_open(w.ks, w.sname, 7, t, T0 - SKEW, SKEW, &out), IOMT_KDC_OK);
	ASSERT_EQ(iomt_kdc_ticket_open(w.ks, w.sname, 7, t, T0 - SKEW - 1, SKEW, &out),
		  IOMT_KDC_ERR_SKEW);
	ASSERT_EQ(iomt_kdc_ticket_open(w.ks, w.sname, 7, t, T0 - 1, 0, &out), IOMT_KDC_ERR_SKEW);
	/* a lifetime that would overflow the clock never wraps to "expired" */
	in.issue_ms = UINT64_MAX - 5;
	in.lifetime_s = UINT32_MAX;
	ASSERT_EQ(iomt_kdc_ticket_seal(w.ks, w.sname, 7, &in, nonce, t), IOMT_KDC_OK);
	ASSERT_EQ(iomt_kdc_ticket_open(w.ks, w.sname, 7, t, UINT64_MAX, SKEW, &out), IOMT_KDC_OK);
}

/* Boxes sealed with OpenSSL around invalid contents: MALFORMED, not accepted. */
TEST(ticket_open_malformed_inside)
{
	struct world w;
	struct iomt_kdc_ticket_info out;
	uint8_t nonce[13], t[IOMT_KDC_TICKET_LEN];

	world_init(&w, 4);
	tu_fill(&w.rng, nonce, 13);
	for (int bad = 0; bad < 6; bad++) {
		struct cat pt = { .n = 0 }, hdr = { .n = 0 };
		uint8_t key[K], cn[N], pat[N], kind = IOMT_KDC_KIND_SENSOR;

		memset(key, 0x11, K);
		memcpy(cn, w.cname, N);
		memcpy(pat, w.patient, N);
		switch (bad) {
		case 0: kind = IOMT_KDC_KIND_TGS; break;
		case 1: kind = 5; break;
		case 2: memset(cn, 0, N); break;
		case 3: memcpy(cn, iomt_kdc_tgs_name, N); break;
		case 4: cn[15] = 'x'; break;
		case 5: pat[12] = 1; break;
		}
		cat_put(&pt, key, K);
		cat_put(&pt, cn, N);
		cat_put(&pt, &kind, 1);
		cat_put(&pt, pat, N);
		cat_u32(cat_u64(&pt, T0), LIFE_TKT);
		ASSERT_EQ(pt.n, IOMT_KDC_TICKET_PT_LEN);
		cat_u32(cat_put(&hdr, w.sname, N), 9);
		memcpy(t, hdr.b, 20);
		ossl_box(w.ks, nonce, IOMT_KDC_USE_TICKET, hdr.b, 20, pt.b, pt.n, t + 20);
		ASSERT_EQ(iomt_kdc_ticket_open(w.ks, w.sname, 9, t, T0, SKEW, &out),
			  IOMT_KDC_ERR_MALFORMED);
		ASSERT_TRUE(iomt_ct_is_zero(&out, sizeof(out)));
	}
}

TEST(ticket_seal_refuses_invalid_info)
{
	struct world w;
	struct iomt_kdc_ticket_info in;
	uint8_t t[IOMT_KDC_TICKET_LEN], nonce[13] = { 0 }, bad[N] = { 0 };

	world_init(&w, 5);
	info_fill(&w, &in, T0, 1);
	ASSERT_EQ(iomt_kdc_ticket_seal(w.ks, bad, 1, &in, nonce, t), IOMT_KDC_ERR_MALFORMED);
	in.ckind = IOMT_KDC_KIND_TGS;
	ASSERT_EQ(iomt_kdc_ticket_seal(w.ks, w.sname, 1, &in, nonce, t), IOMT_KDC_ERR_MALFORMED);
	info_fill(&w, &in, T0, 1);
	memcpy(in.cname, iomt_kdc_tgs_name, N);
	ASSERT_EQ(iomt_kdc_ticket_seal(w.ks, w.sname, 1, &in, nonce, t), IOMT_KDC_ERR_MALFORMED);
	info_fill(&w, &in, T0, 1);
	in.patient[15] = '-';
	ASSERT_EQ(iomt_kdc_ticket_seal(w.ks, w.sname, 1, &in, nonce, t), IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(iomt_kdc_ticket_seal(NULL, w.sname, 1, &in, nonce, t), IOMT_KDC_ERR_MALFORMED);
}

/* ---- AS ---- */

TEST(as_req_peek_and_sizes)
{
	struct world w;
	uint8_t cn[N], nonce[8];
	uint32_t kvno;

	world_init(&w, 10);
	do_as_req(&w, T0);
	ASSERT_EQ(iomt_kdc_as_req_peek(w.as_req, sizeof(w.as_req), cn, &kvno, nonce), IOMT_KDC_OK);
	ASSERT_MEMEQ(cn, w.cname, N);
	ASSERT_EQ(kvno, w.kvno_c);
	ASSERT_MEMEQ(nonce, w.cl.nonce, 8);
	ASSERT_EQ(iomt_kdc_as_req_peek(w.as_req, 64, cn, &kvno, nonce), IOMT_KDC_ERR_MALFORMED);
	ASSERT_TRUE(iomt_ct_is_zero(cn, N));
	ASSERT_EQ(iomt_kdc_as_req_peek(w.as_req, 66, cn, &kvno, nonce), IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(iomt_kdc_as_req_peek(NULL, 65, cn, &kvno, nonce), IOMT_KDC_ERR_MALFORMED);
	w.as_req[3] = '/';
	ASSERT_EQ(iomt_kdc_as_req_peek(w.as_req, 65, cn, &kvno, nonce), IOMT_KDC_ERR_MALFORMED);
	memcpy(w.as_req, iomt_kdc_tgs_name, N);	/* "krbtgt" is never a client */
	ASSERT_EQ(iomt_kdc_as_req_peek(w.as_req, 65, cn, &kvno, nonce), IOMT_KDC_ERR_MALFORMED);
}

TEST(as_reply_every_refusal)
{
	struct world w;
	struct iomt_kdc_grant g;
	uint8_t rnd[IOMT_KDC_REP_RAND] = { 0 }, key[K], out[IOMT_KDC_AS_REP_LEN];

	world_init(&w, 11);
	do_as_req(&w, T0);
	g = tgt_grant(&w, T0);
	ASSERT_EQ(iomt_kdc_as_reply(w.kc, w.as_req, 64, SKEW, &g, rnd, out),
		  IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(iomt_kdc_as_reply(w.kc, w.as_req, 66, SKEW, &g, rnd, out),
		  IOMT_KDC_ERR_MALFORMED);
	memcpy(key, w.kc, K);
	key[0] ^= 0x80;
	ASSERT_EQ(iomt_kdc_as_reply(key, w.as_req, 65, SKEW, &g, rnd, out), IOMT_KDC_ERR_BAD_MAC);
	/* a grant for someone else */
	name(g.cname, "sensor-2");
	ASSERT_EQ(iomt_kdc_as_reply(w.kc, w.as_req, 65, SKEW, &g, rnd, out),
		  IOMT_KDC_ERR_WRONG_PRINCIPAL);
	/* the pre-authentication timestamp, both ways */
	g = tgt_grant(&w, T0 + SKEW);
	ASSERT_EQ(iomt_kdc_as_reply(w.kc, w.as_req, 65, SKEW, &g, rnd, out), IOMT_KDC_OK);
	g.now_ms = T0 + SKEW + 1;
	ASSERT_EQ(iomt_kdc_as_reply(w.kc, w.as_req, 65, SKEW, &g, rnd, out), IOMT_KDC_ERR_SKEW);
	g.now_ms = T0 - SKEW;
	ASSERT_EQ(iomt_kdc_as_reply(w.kc, w.as_req, 65, SKEW, &g, rnd, out), IOMT_KDC_OK);
	g.now_ms = T0 - SKEW - 1;
	ASSERT_EQ(iomt_kdc_as_reply(w.kc, w.as_req, 65, SKEW, &g, rnd, out), IOMT_KDC_ERR_SKEW);
	/* an invalid grant is the caller's bug, refused */
	g = tgt_grant(&w, T0);
	g.ckind = IOMT_KDC_KIND_TGS;
	ASSERT_EQ(iomt_kdc_as_reply(w.kc, w.as_req, 65, SKEW, &g, rnd, out),
		  IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(iomt_kdc_as_reply(w.kc, w.as_req, 65, SKEW, NULL, rnd, out),
		  IOMT_KDC_ERR_MALFORMED);
}

/* One bit of every byte of the AS_REQ: the KDC looks the (changed) name up,
 * as a daemon would, and the pre-authentication fails. */
TEST(as_req_tamper_every_byte)
{
	struct world w;
	uint8_t rnd[IOMT_KDC_REP_RAND] = { 0 }, out[IOMT_KDC_AS_REP_LEN], cn[N], nonce[8];
	uint32_t kvno;

	world_init(&w, 12);
	do_as_req(&w, T0);
	for (size_t i = 0; i < sizeof(w.as_req); i++) {
		struct iomt_kdc_grant g = tgt_grant(&w, T0);
		int valid, want;

		w.as_req[i] ^= 0x01;
		valid = iomt_kdc_as_req_peek(w.as_req, 65, cn, &kvno, nonce) == IOMT_KDC_OK;
		want = valid ? IOMT_KDC_ERR_BAD_MAC : IOMT_KDC_ERR_MALFORMED;
		if (valid)
			memcpy(g.cname, cn, N);
		ASSERT_EQ(iomt_kdc_as_reply(w.kc, w.as_req, 65, SKEW, &g, rnd, out), want);
		w.as_req[i] ^= 0x01;
	}
}

/* The client refuses any changed AS_REP byte and stays in AS_SENT. */
TEST(as_rep_tamper_every_byte)
{
	struct world w;

	world_init(&w, 13);
	do_as_req(&w, T0);
	do_as_rep(&w, T0);
	for (size_t i = 0; i < sizeof(w.as_rep); i++) {
		int want = i < 16 ? IOMT_KDC_ERR_WRONG_PRINCIPAL : IOMT_KDC_ERR_BAD_MAC;

		w.as_rep[i] ^= 0x04;
		ASSERT_EQ(iomt_kdc_client_recv(&w.cl, IOMT_MSG_KDC_AS_REP, w.as_rep, 167), want);
		ASSERT_EQ(w.cl.state, IOMT_KDC_C_AS_SENT);
		ASSERT_TRUE(iomt_ct_is_zero(w.cl.tgs_key, K));
		w.as_rep[i] ^= 0x04;
	}
	ASSERT_EQ(iomt_kdc_client_recv(&w.cl, IOMT_MSG_KDC_AS_REP, w.as_rep, 167), IOMT_KDC_OK);
}

/* An AS_REP for another request (another nonce) does not open. */
TEST(as_rep_for_other_request_refused)
{
	struct world w;
	uint8_t old[IOMT_KDC_AS_REP_LEN];

	world_init(&w, 14);
	do_as_req(&w, T0);
	do_as_rep(&w, T0);
	memcpy(old, w.as_rep, sizeof(old));
	do_as_req(&w, T0 + 1000);	/* a retry: new nonce */
	ASSERT_EQ(iomt_kdc_client_recv(&w.cl, IOMT_MSG_KDC_AS_REP, old, 167),
		  IOMT_KDC_ERR_BAD_MAC);
	ASSERT_EQ(w.cl.state, IOMT_KDC_C_AS_SENT);
}

/* ---- TGS ---- */

TEST(tgs_req_open_every_refusal)
{
	struct world w;
	struct iomt_kdc_tgs_req r;
	uint8_t key[K];

	world_init(&w, 20);
	do_as(&w, T0);
	do_tgs_req(&w, T0 + 3600000);
	ASSERT_EQ(iomt_kdc_tgs_req_open(w.ktgs, w.kvno_tgs, w.tgs_req, 186, T0 + 3600000, SKEW, &r),
		  IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(iomt_kdc_tgs_req_open(w.ktgs, w.kvno_tgs, w.tgs_req, 188, T0 + 3600000, SKEW, &r),
		  IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(iomt_kdc_tgs_req_open(w.ktgs, w.kvno_tgs + 1, w.tgs_req, 187, T0 + 3600000, SKEW,
					&r), IOMT_KDC_ERR_STALE_KEY);
	memcpy(key, w.ktgs, K);
	key[7] ^= 2;
	memset(&r, 0xee, sizeof(r));
	ASSERT_EQ(iomt_kdc_tgs_req_open(key, w.kvno_tgs, w.tgs_req, 187, T0 + 3600000, SKEW, &r),
		  IOMT_KDC_ERR_BAD_MAC);
	ASSERT_TRUE(iomt_ct_is_zero(&r, sizeof(r)));
	/* the authenticator's timestamp, both ways */
	ASSERT_EQ(iomt_kdc_tgs_req_open(w.ktgs, w.kvno_tgs, w.tgs_req, 187, T0 + 3600000 + SKEW,
					SKEW, &r), IOMT_KDC_OK);
	ASSERT_EQ(iomt_kdc_tgs_req_open(w.ktgs, w.kvno_tgs, w.tgs_req, 187,
					T0 + 3600000 + SKEW + 1, SKEW, &r), IOMT_KDC_ERR_SKEW);
	ASSERT_TRUE(iomt_ct_is_zero(&r, sizeof(r)));
	ASSERT_EQ(iomt_kdc_tgs_req_open(w.ktgs, w.kvno_tgs, w.tgs_req, 187, T0 + 3600000 - SKEW,
					SKEW, &r), IOMT_KDC_OK);
	ASSERT_EQ(iomt_kdc_tgs_req_open(w.ktgs, w.kvno_tgs, w.tgs_req, 187,
					T0 + 3600000 - SKEW - 1, SKEW, &r), IOMT_KDC_ERR_SKEW);
	/* the TGT's end (issued at T0 + 10) */
	do_tgs_req(&w, T0 + 10 + (uint64_t)LIFE_TGT * 1000);
	ASSERT_EQ(iomt_kdc_tgs_req_open(w.ktgs, w.kvno_tgs, w.tgs_req, 187,
					T0 + 10 + (uint64_t)LIFE_TGT * 1000, SKEW, &r),
		  IOMT_KDC_OK);
	ASSERT_EQ(iomt_kdc_tgs_req_open(w.ktgs, w.kvno_tgs, w.tgs_req, 187,
					T0 + 11 + (uint64_t)LIFE_TGT * 1000, SKEW, &r),
		  IOMT_KDC_ERR_EXPIRED);
}

TEST(tgs_req_tamper_every_byte)
{
	struct world w;
	struct iomt_kdc_tgs_req r;
	uint64_t t = T0 + 5000;

	world_init(&w, 21);
	do_as(&w, T0);
	do_tgs_req(&w, t);
	for (size_t i = 0; i < sizeof(w.tgs_req); i++) {
		int want;

		w.tgs_req[i] ^= 0x20;
		if (i < 16)
			want = iomt_kdc_name_valid(w.tgs_req) ? IOMT_KDC_ERR_BAD_MAC :
								IOMT_KDC_ERR_MALFORMED;
		else if (i < 24)
			want = IOMT_KDC_ERR_BAD_MAC;        /* nonce: in the aad */
		else if (i < 40)
			want = IOMT_KDC_ERR_WRONG_PRINCIPAL; /* the TGT's sname */
		else if (i < 44)
			want = IOMT_KDC_ERR_STALE_KEY;
		else
			want = IOMT_KDC_ERR_BAD_MAC;        /* TGT box, authenticator */
		memset(&r, 0xee, sizeof(r));
		ASSERT_EQ(iomt_kdc_tgs_req_open(w.ktgs, w.kvno_tgs, w.tgs_req, 187, t, SKEW, &r),
			  want);
		ASSERT_TRUE(iomt_ct_is_zero(&r, sizeof(r)));
		w.tgs_req[i] ^= 0x20;
	}
	ASSERT_EQ(iomt_kdc_tgs_req_open(w.ktgs, w.kvno_tgs, w.tgs_req, 187, t, SKEW, &r),
		  IOMT_KDC_OK);
}

/* An authenticator (sealed with OpenSSL under the right K_C,TGS) that names
 * another client than its TGT: WRONG_PRINCIPAL. */
TEST(tgs_authenticator_for_other_client)
{
	struct world w;
	struct iomt_kdc_tgs_req r;
	struct cat pt = { .n = 0 };
	uint8_t other[N], nonce[13] = { 1, 2, 3 };
	uint64_t t = T0 + 5000;

	world_init(&w, 22);
	do_as(&w, T0);
	do_tgs_req(&w, t);
	name(other, "sensor-2");
	cat_u64(cat_put(&pt, other, N), t);
	ossl_box(w.cl.tgs_key, nonce, IOMT_KDC_USE_TGS_AUTH, w.tgs_req, 134, pt.b, pt.n,
		 w.tgs_req + 134);
	ASSERT_EQ(iomt_kdc_tgs_req_open(w.ktgs, w.kvno_tgs, w.tgs_req, 187, t, SKEW, &r),
		  IOMT_KDC_ERR_WRONG_PRINCIPAL);
	/* the same with our name: accepted (the OpenSSL box is the library's box) */
	pt.n = 0;
	cat_u64(cat_put(&pt, w.cname, N), t);
	ossl_box(w.cl.tgs_key, nonce, IOMT_KDC_USE_TGS_AUTH, w.tgs_req, 134, pt.b, pt.n,
		 w.tgs_req + 134);
	ASSERT_EQ(iomt_kdc_tgs_req_open(w.ktgs, w.kvno_tgs, w.tgs_req, 187, t, SKEW, &r),
		  IOMT_KDC_OK);
	/* and one under another usage byte does not open */
	ossl_box(w.cl.tgs_key, nonce, IOMT_KDC_USE_AP_AUTH, w.tgs_req, 134, pt.b, pt.n,
		 w.tgs_req + 134);
	ASSERT_EQ(iomt_kdc_tgs_req_open(w.ktgs, w.kvno_tgs, w.tgs_req, 187, t, SKEW, &r),
		  IOMT_KDC_ERR_BAD_MAC);
}

/* A service ticket presented as a TGT, and a TGT to a service. */
TEST(tickets_do_not_cross_services)
{
	struct world w;
	struct iomt_kdc_tgs_req r;
	struct iomt_kdc_ap_result ar;
	uint8_t req[IOMT_KDC_AP_REQ_LEN];

	world_init(&w, 23);
	do_as(&w, T0);
	do_tgs(&w, T0 + 100);
	do_ap_req(&w, T0 + 200);
	/* the TGT in an AP_REQ to the service */
	memcpy(req, w.ap_req, sizeof(req));
	memcpy(req, w.cl.tgt, IOMT_KDC_TICKET_LEN);
	ASSERT_EQ(iomt_kdc_ap_verify(w.ks, w.sname, w.kvno_s, req, sizeof(req), T0 + 200, SKEW,
				     &ar), IOMT_KDC_ERR_WRONG_PRINCIPAL);
	/* the service ticket in a TGS_REQ */
	memcpy(w.tgs_req + 24, w.cl.ticket, IOMT_KDC_TICKET_LEN);
	ASSERT_EQ(iomt_kdc_tgs_req_open(w.ktgs, w.kvno_tgs, w.tgs_req, 187, T0 + 200, SKEW, &r),
		  IOMT_KDC_ERR_WRONG_PRINCIPAL);
}

TEST(tgs_reply_never_outlives_tgt)
{
	struct world w;
	struct iomt_kdc_grant g;
	struct iomt_kdc_ticket_info info;
	uint8_t rnd[IOMT_KDC_REP_RAND] = { 7 }, out[IOMT_KDC_TGS_REP_LEN];
	uint64_t tgt_end = T0 + 10 + (uint64_t)LIFE_TGT * 1000, t = tgt_end - 1500;

	world_init(&w, 24);
	do_as(&w, T0);
	do_tgs_req(&w, t);
	ASSERT_EQ(iomt_kdc_tgs_req_open(w.ktgs, w.kvno_tgs, w.tgs_req, 187, t, SKEW, &w.tr),
		  IOMT_KDC_OK);
	g = tkt_grant(&w, t, LIFE_TKT);
	ASSERT_EQ(iomt_kdc_tgs_reply(&w.tr, &g, rnd, out), IOMT_KDC_OK);
	ASSERT_EQ(iomt_kdc_ticket_open(w.ks, w.sname, w.kvno_s, out, t, SKEW, &info), IOMT_KDC_OK);
	ASSERT_EQ(info.lifetime_s, 1);	/* 1.5 s left, whole seconds */
	ASSERT_EQ(iomt_kdc_client_recv(&w.cl, IOMT_MSG_KDC_TGS_REP, out, 167), IOMT_KDC_OK);
	ASSERT_EQ(w.cl.tkt_life_s, 1);
	/* a grant for someone else is the caller's bug */
	name(g.cname, "sensor-2");
	ASSERT_EQ(iomt_kdc_tgs_reply(&w.tr, &g, rnd, out), IOMT_KDC_ERR_WRONG_PRINCIPAL);
}

TEST(tgs_rep_tamper_every_byte)
{
	struct world w;

	world_init(&w, 25);
	do_as(&w, T0);
	do_tgs_req(&w, T0 + 100);
	do_tgs_rep(&w, T0 + 100);
	for (size_t i = 0; i < sizeof(w.tgs_rep); i++) {
		int want = i < 16 ? IOMT_KDC_ERR_WRONG_PRINCIPAL : IOMT_KDC_ERR_BAD_MAC;

		w.tgs_rep[i] ^= 0x80;
		ASSERT_EQ(iomt_kdc_client_recv(&w.cl, IOMT_MSG_KDC_TGS_REP, w.tgs_rep, 167), want);
		ASSERT_EQ(w.cl.state, IOMT_KDC_C_TGS_SENT);
		ASSERT_TRUE(iomt_ct_is_zero(w.cl.sess_key, K));
		w.tgs_rep[i] ^= 0x80;
	}
	/* an AS_REP-shaped reply (AS_PART usage) in the TGS_REP's place */
	ASSERT_EQ(iomt_kdc_client_recv(&w.cl, IOMT_MSG_KDC_AS_REP, w.tgs_rep, 167),
		  IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(iomt_kdc_client_recv(&w.cl, IOMT_MSG_KDC_TGS_REP, w.tgs_rep, 167), IOMT_KDC_OK);
}

/* ---- AP ---- */

TEST(ap_verify_every_refusal)
{
	struct world w;
	struct iomt_kdc_ap_result r;
	uint8_t key[K], other[N];
	uint64_t t = T0 + 60000, end = T0 + 100 + 10 + (uint64_t)LIFE_TKT * 1000;

	world_init(&w, 30);
	do_as(&w, T0);
	do_tgs(&w, T0 + 100);
	do_ap_req(&w, t);
	memset(&r, 0xee, sizeof(r));
	ASSERT_EQ(iomt_kdc_ap_verify(w.ks, w.sname, w.kvno_s, w.ap_req, 162, t, SKEW, &r),
		  IOMT_KDC_ERR_MALFORMED);
	ASSERT_TRUE(iomt_ct_is_zero(&r, sizeof(r)));	/* no ref for a wrong size */
	ASSERT_EQ(iomt_kdc_ap_verify(w.ks, w.sname, w.kvno_s, w.ap_req, 164, t, SKEW, &r),
		  IOMT_KDC_ERR_MALFORMED);
	name(other, "gw-2");
	ASSERT_EQ(iomt_kdc_ap_verify(w.ks, other, w.kvno_s, w.ap_req, 163, t, SKEW, &r),
		  IOMT_KDC_ERR_WRONG_PRINCIPAL);
	ASSERT_MEMEQ(r.ref, w.ap_req + 110, 8);
	ASSERT_EQ(iomt_kdc_ap_verify(w.ks, w.sname, w.kvno_s + 1, w.ap_req, 163, t, SKEW, &r),
		  IOMT_KDC_ERR_STALE_KEY);
	memcpy(key, w.ks, K);
	key[3] ^= 8;
	ASSERT_EQ(iomt_kdc_ap_verify(key, w.sname, w.kvno_s, w.ap_req, 163, t, SKEW, &r),
		  IOMT_KDC_ERR_BAD_MAC);
	ASSERT_TRUE(iomt_ct_is_zero(&r.tkt, sizeof(r.tkt)));
	ASSERT_TRUE(iomt_ct_is_zero(r.session, K));
	ASSERT_MEMEQ(r.ref, w.ap_req + 110, 8);
	/* skew both ways */
	ASSERT_EQ(iomt_kdc_ap_verify(w.ks, w.sname, w.kvno_s, w.ap_req, 163, t + SKEW, SKEW, &r),
		  IOMT_KDC_OK);
	ASSERT_EQ(iomt_kdc_ap_verify(w.ks, w.sname, w.kvno_s, w.ap_req, 163, t + SKEW + 1, SKEW,
				     &r), IOMT_KDC_ERR_SKEW);
	ASSERT_TRUE(iomt_ct_is_zero(r.session, K));
	ASSERT_EQ(iomt_kdc_ap_verify(w.ks, w.sname, w.kvno_s, w.ap_req, 163, t - SKEW, SKEW, &r),
		  IOMT_KDC_OK);
	ASSERT_EQ(iomt_kdc_ap_verify(w.ks, w.sname, w.kvno_s, w.ap_req, 163, t - SKEW - 1, SKEW,
				     &r), IOMT_KDC_ERR_SKEW);
	/* the ticket's end (issued at T0 + 110) */
	do_ap_req(&w, end);
	ASSERT_EQ(iomt_kdc_ap_verify(w.ks, w.sname, w.kvno_s, w.ap_req, 163, end, SKEW, &r),
		  IOMT_KDC_OK);
	ASSERT_EQ(iomt_kdc_ap_verify(w.ks, w.sname, w.kvno_s, w.ap_req, 163, end + 1, SKEW, &r),
		  IOMT_KDC_ERR_EXPIRED);
}

TEST(ap_req_tamper_every_byte)
{
	struct world w;
	struct iomt_kdc_ap_result r;
	uint64_t t = T0 + 500;

	world_init(&w, 31);
	do_as(&w, T0);
	do_tgs(&w, T0 + 100);
	do_ap_req(&w, t);
	for (size_t i = 0; i < sizeof(w.ap_req); i++) {
		int want = i < 16 ? IOMT_KDC_ERR_WRONG_PRINCIPAL :
			   i < 20 ? IOMT_KDC_ERR_STALE_KEY : IOMT_KDC_ERR_BAD_MAC;

		w.ap_req[i] ^= 0x02;
		ASSERT_EQ(iomt_kdc_ap_verify(w.ks, w.sname, w.kvno_s, w.ap_req, 163, t, SKEW, &r),
			  want);
		ASSERT_MEMEQ(r.ref, w.ap_req + 110, 8);	/* answerable even now */
		ASSERT_TRUE(iomt_ct_is_zero(&r.tkt, sizeof(r.tkt)));
		ASSERT_TRUE(iomt_ct_is_zero(r.session, K));
		w.ap_req[i] ^= 0x02;
	}
}

TEST(ap_authenticator_for_other_client)
{
	struct world w;
	struct iomt_kdc_ap_result r;
	struct cat pt = { .n = 0 };
	uint8_t other[N], nonce[13] = { 9 };
	uint64_t t = T0 + 500;

	world_init(&w, 32);
	do_as(&w, T0);
	do_tgs(&w, T0 + 100);
	do_ap_req(&w, t);
	name(other, "sensor-9");
	cat_u64(cat_put(&pt, other, N), t);
	ossl_box(w.cl.sess_key, nonce, IOMT_KDC_USE_AP_AUTH, w.ap_req, 110, pt.b, pt.n,
		 w.ap_req + 110);
	ASSERT_EQ(iomt_kdc_ap_verify(w.ks, w.sname, w.kvno_s, w.ap_req, 163, t, SKEW, &r),
		  IOMT_KDC_ERR_WRONG_PRINCIPAL);
	pt.n = 0;
	cat_u64(cat_put(&pt, w.cname, N), t);
	ossl_box(w.cl.sess_key, nonce, IOMT_KDC_USE_AP_AUTH, w.ap_req, 110, pt.b, pt.n,
		 w.ap_req + 110);
	ASSERT_EQ(iomt_kdc_ap_verify(w.ks, w.sname, w.kvno_s, w.ap_req, 163, t, SKEW, &r),
		  IOMT_KDC_OK);
	ASSERT_MEMEQ(r.auth_nonce, nonce, 13);
}

TEST(ap_rep_tamper_every_byte_and_reply_needs_verify)
{
	struct world w;
	struct iomt_kdc_ap_result bad;
	uint8_t rnd[13] = { 0 }, rep[IOMT_KDC_AP_REP_LEN];

	world_init(&w, 33);
	do_as(&w, T0);
	do_tgs(&w, T0 + 100);
	do_ap_req(&w, T0 + 200);
	ASSERT_EQ(iomt_kdc_ap_verify(w.ks, w.sname, w.kvno_s, w.ap_req, 163, T0 + 200, SKEW,
				     &w.ar), IOMT_KDC_OK);
	ASSERT_EQ(iomt_kdc_ap_reply(&w.ar, rnd, rep), IOMT_KDC_OK);
	for (size_t i = 0; i < sizeof(rep); i++) {
		rep[i] ^= 0x40;
		ASSERT_EQ(iomt_kdc_client_recv(&w.cl, IOMT_MSG_KDC_AP_REP, rep, 37),
			  IOMT_KDC_ERR_BAD_MAC);
		ASSERT_EQ(w.cl.state, IOMT_KDC_C_AP_SENT);
		ASSERT_TRUE(iomt_ct_is_zero(w.cl.session, K));
		rep[i] ^= 0x40;
	}
	ASSERT_EQ(iomt_kdc_client_recv(&w.cl, IOMT_MSG_KDC_AP_REP, rep, 36),
		  IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(iomt_kdc_client_recv(&w.cl, IOMT_MSG_KDC_AP_REP, rep, 37), IOMT_KDC_OK);
	/* a result of a failed verification is never answered */
	ASSERT_EQ(iomt_kdc_ap_verify(w.ks, w.sname, w.kvno_s, w.ap_req, 163, T0 + 200 + SKEW + 1,
				     SKEW, &bad), IOMT_KDC_ERR_SKEW);
	ASSERT_EQ(iomt_kdc_ap_reply(&bad, rnd, rep), IOMT_KDC_ERR_STATE);
}

/* An AP_REP whose box is right but echoes another timestamp. */
TEST(ap_rep_must_echo_our_timestamp)
{
	struct world w;
	struct cat ts = { .n = 0 };
	uint8_t rep[IOMT_KDC_AP_REP_LEN], nonce[13] = { 4 };

	world_init(&w, 34);
	do_as(&w, T0);
	do_tgs(&w, T0 + 100);
	do_ap_req(&w, T0 + 200);
	cat_u64(&ts, T0 + 201);
	ossl_box(w.cl.sess_key, nonce, IOMT_KDC_USE_AP_REP, w.cl.auth_nonce, 13, ts.b, 8, rep);
	ASSERT_EQ(iomt_kdc_client_recv(&w.cl, IOMT_MSG_KDC_AP_REP, rep, 37), IOMT_KDC_ERR_BAD_MAC);
	ts.n = 0;
	cat_u64(&ts, T0 + 200);
	ossl_box(w.cl.sess_key, nonce, IOMT_KDC_USE_AP_REP, w.cl.auth_nonce, 13, ts.b, 8, rep);
	ASSERT_EQ(iomt_kdc_client_recv(&w.cl, IOMT_MSG_KDC_AP_REP, rep, 37), IOMT_KDC_OK);
}

/* Per item: good, wrong size, tampered ticket, tampered authenticator,
 * stale kvno, a NULL request, skewed; the batch gives the single results. */
TEST(ap_verify_batch_equals_single)
{
	enum { NB = 23 };
	static struct world w;
	static uint8_t reqs[NB][IOMT_KDC_AP_REQ_LEN];
	static struct iomt_kdc_ap_result res[NB], one;
	const uint8_t *rp[NB];
	size_t len[NB];
	int codes[NB], ok = 0;
	uint64_t now = T0 + 10000;

	world_init(&w, 35);
	do_as(&w, T0);
	do_tgs(&w, T0 + 100);
	for (size_t i = 0; i < NB; i++) {
		do_ap_req(&w, i % 7 == 6 ? now + SKEW + 1 : now);
		memcpy(reqs[i], w.ap_req, sizeof(w.ap_req));
		rp[i] = reqs[i];
		len[i] = IOMT_KDC_AP_REQ_LEN;
		switch (i % 7) {
		case 1: len[i] = i & 1 ? 162 : 164; break;
		case 2: reqs[i][40] ^= 1; break;
		case 3: reqs[i][150] ^= 1; break;
		case 4: reqs[i][19] ^= 1; break;
		case 5: rp[i] = NULL; break;
		}
	}
	memset(res, 0xdd, sizeof(res));
	iomt_kdc_ap_verify_batch(w.ks, w.sname, w.kvno_s, rp, len, NB, now, SKEW, res, codes);
	for (size_t i = 0; i < NB; i++) {
		int rc = iomt_kdc_ap_verify(w.ks, w.sname, w.kvno_s, rp[i], len[i], now, SKEW, &one);

		ASSERT_EQ(codes[i], rc);
		ASSERT_MEMEQ(&res[i], &one, sizeof(one));
		ok += rc == IOMT_KDC_OK;
	}
	ASSERT_EQ(ok, 4);	/* items 0, 7, 14, 21 */
	ASSERT_EQ(codes[1], IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(codes[2], IOMT_KDC_ERR_BAD_MAC);
	ASSERT_EQ(codes[3], IOMT_KDC_ERR_BAD_MAC);
	ASSERT_EQ(codes[4], IOMT_KDC_ERR_STALE_KEY);
	ASSERT_EQ(codes[5], IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(codes[6], IOMT_KDC_ERR_SKEW);
	/* no arrays: every item refused; n == 0 touches nothing */
	iomt_kdc_ap_verify_batch(w.ks, w.sname, w.kvno_s, NULL, len, 3, now, SKEW, res, codes);
	ASSERT_EQ(codes[2], IOMT_KDC_ERR_MALFORMED);
	iomt_kdc_ap_verify_batch(w.ks, w.sname, w.kvno_s, NULL, NULL, 0, now, SKEW, NULL, codes);
}

/* ---- ERR ---- */

TEST(err_build_parse_and_sizes)
{
	uint8_t ref[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, e[IOMT_KDC_ERR_LEN + 1], code, r2[8];
	uint64_t t;

	iomt_kdc_err_build(IOMT_KDC_ERR_REPLAY, ref, 0x0102030405060708ULL, e);
	ASSERT_EQ(e[0], IOMT_KDC_ERR_REPLAY);
	ASSERT_MEMEQ(e + 1, ref, 8);
	ASSERT_EQ(e[9], 1);
	ASSERT_EQ(e[16], 8);
	ASSERT_EQ(iomt_kdc_err_parse(e, 17, &code, r2, &t), IOMT_KDC_OK);
	ASSERT_EQ(code, IOMT_KDC_ERR_REPLAY);
	ASSERT_MEMEQ(r2, ref, 8);
	ASSERT_EQ(t, 0x0102030405060708ULL);
	ASSERT_EQ(iomt_kdc_err_parse(e, 16, &code, r2, &t), IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(iomt_kdc_err_parse(e, 18, &code, r2, &t), IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(iomt_kdc_err_parse(NULL, 17, &code, r2, &t), IOMT_KDC_ERR_MALFORMED);
	/* a peer refuses with 1..INTERNAL; never OK, never the local STATE */
	for (int c = 0; c < 256; c++) {
		int want = c >= IOMT_KDC_ERR_UNKNOWN_PRINCIPAL && c <= IOMT_KDC_ERR_INTERNAL ?
			   IOMT_KDC_OK : IOMT_KDC_ERR_MALFORMED;

		e[0] = (uint8_t)c;
		ASSERT_EQ(iomt_kdc_err_parse(e, 17, &code, r2, &t), want);
	}
}

/* ---- wire sizes ---- */

TEST(wire_types_carry_kdc_sizes)
{
	ASSERT_EQ(iomt_wire_fixed_len(IOMT_MSG_KDC_AS_REQ), IOMT_KDC_AS_REQ_LEN);
	ASSERT_EQ(iomt_wire_fixed_len(IOMT_MSG_KDC_AS_REP), IOMT_KDC_AS_REP_LEN);
	ASSERT_EQ(iomt_wire_fixed_len(IOMT_MSG_KDC_TGS_REQ), IOMT_KDC_TGS_REQ_LEN);
	ASSERT_EQ(iomt_wire_fixed_len(IOMT_MSG_KDC_TGS_REP), IOMT_KDC_TGS_REP_LEN);
	ASSERT_EQ(iomt_wire_fixed_len(IOMT_MSG_KDC_AP_REQ), IOMT_KDC_AP_REQ_LEN);
	ASSERT_EQ(iomt_wire_fixed_len(IOMT_MSG_KDC_AP_REP), IOMT_KDC_AP_REP_LEN);
	ASSERT_EQ(iomt_wire_fixed_len(IOMT_MSG_KDC_ERR), IOMT_KDC_ERR_LEN);
	ASSERT_EQ(IOMT_KDC_TICKET_LEN, 110);
	ASSERT_EQ(IOMT_KDC_ENC_PART_LEN, 57);
	ASSERT_EQ(IOMT_KDC_AUTH_LEN, 53);
}

/* ---- hygiene ---- */

TEST(null_arguments_refused)
{
	uint8_t b[200] = { 0 }, nm[N];
	struct iomt_kdc_grant g = { b, b, 0, { 0 }, 1, { 0 }, 0, 0 };
	struct iomt_kdc_tgs_req tr;
	struct iomt_kdc_ap_result ar;
	struct iomt_kdc_ticket_info ti;
	uint32_t kv;

	name(nm, "x");
	ASSERT_EQ(iomt_kdc_ticket_open(NULL, nm, 0, b, 0, 0, &ti), IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(iomt_kdc_ticket_open(b, nm, 0, b, 0, 0, NULL), IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(iomt_kdc_as_req_peek(b, 65, NULL, &kv, b), IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(iomt_kdc_as_reply(NULL, b, 65, 0, &g, b, b), IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(iomt_kdc_tgs_req_open(b, 0, NULL, 187, 0, 0, &tr), IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(iomt_kdc_tgs_req_open(b, 0, b, 187, 0, 0, NULL), IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(iomt_kdc_tgs_reply(NULL, &g, b, b), IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(iomt_kdc_ap_verify(b, nm, 0, NULL, 163, 0, 0, &ar), IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(iomt_kdc_ap_verify(NULL, nm, 0, b, 163, 0, 0, &ar), IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(iomt_kdc_ap_verify(b, nm, 0, b, 163, 0, 0, NULL), IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(iomt_kdc_ap_reply(NULL, b, b), IOMT_KDC_ERR_MALFORMED);
}
