/* SPDX-License-Identifier: MIT */
/*
 * lib/seed002: the published vectors through every party's API and against
 * OpenSSL's SHAKE128, payload sizes (Table 2), identity rotation over 1000
 * runs, every refusal (forged c1, wrong d3, wrong sizes, wrong state) with
 * no state change, retry and lost-M4 recovery, persistence, and every batch
 * API equal to its one-by-one form at each Keccak width.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "harness.h"
#include "testutil.h"
#include "seed002.h"
#include "keccak.h"
#include "ct.h"
#include "iomt_err.h"

/* ---- the vector file: a JSON array of flat objects of hex strings ---- */

struct vec {
	uint8_t did_i[16], dk_i[16], r1[16], did_m[16], dk_m[16], r2[16], r3[16];
	uint8_t c1_i[32], c1_m[32], sk[16], d1[16], d2[16], d3[32];
	uint8_t m1[64], m2[128], m3[64], m4[48];
	uint8_t next_did_i[16], next_dk_i[16], next_did_m[16], next_dk_m[16];
};

static const struct {
	const char *name;
	size_t off, len;
} fields[] = {
#define F(x) { #x, offsetof(struct vec, x), sizeof(((struct vec *)0)->x) }
	F(did_i), F(dk_i), F(r1), F(did_m), F(dk_m), F(r2), F(r3),
	F(c1_i), F(c1_m), F(sk), F(d1), F(d2), F(d3),
	F(m1), F(m2), F(m3), F(m4),
	F(next_did_i), F(next_dk_i), F(next_did_m), F(next_dk_m),
#undef F
};
enum { NFIELDS = sizeof(fields) / sizeof(fields[0]), MAX_VECS = 64 };

static const char vec_rel[] = "tests/vectors/seed002_agreement.json";

static int readable(char *out, size_t cap, const char *dir)
{
	int n = snprintf(out, cap, "%s/%s", dir, vec_rel);

	return n > 0 && (size_t)n < cap && access(out, R_OK) == 0;
}

/* Climbs from dir towards / looking for the source tree's vector file. */
static int climb(char *out, size_t cap, const char *start)
{
	char dir[PATH_MAX];

	if (snprintf(dir, sizeof(dir), "%s", start) >= (int)sizeof(dir))
		return 0;
	for (;;) {
		char *slash;

		if (readable(out, cap, dir))
			return 1;
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			return 0;
		*slash = '\0';
	}
}

/* $IOMT_SRCDIR, else up from the binary (build/tests/lib/...), else up from
 * the working directory (a build tree outside the source, e.g. BUILD=/tmp/x,
 * run from the repository as make does). */
static int find_vectors(char *out, size_t cap)
{
	char buf[PATH_MAX];
	const char *env = getenv("IOMT_SRCDIR");
	ssize_t n;

	if (env && *env)
		return readable(out, cap, env);
	n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		if (climb(out, cap, buf))
			return 1;
	}
	return getcwd(buf, sizeof(buf)) && climb(out, cap, buf);
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

/* A JSON string without escapes (the file has none); NULL if malformed. */
static const char *json_string(const char *p, char *out, size_t cap)
{
	size_t n = 0;

	if (*p != '"')
		return NULL;
	for (p++; *p != '"'; p++) {
		if (!*p || *p == '\\' || n + 1 >= cap)
			return NULL;
		out[n++] = *p;
	}
	out[n] = '\0';
	return p + 1;
}

/* One object; every field exactly once, with exactly its length. */
static const char *json_vec(const char *p, struct vec *v)
{
	static char key[32], val[600];
	uint8_t seen[NFIELDS] = { 0 };

	if (*(p = skip_ws(p)) != '{')
		return NULL;
	for (p++;;) {
		size_t f;

		p = json_string(skip_ws(p), key, sizeof(key));
		if (!p || *(p = skip_ws(p)) != ':')
			return NULL;
		p = json_string(skip_ws(p + 1), val, sizeof(val));
		if (!p)
			return NULL;
		for (f = 0; f < NFIELDS && strcmp(fields[f].name, key); f++)
			;
		if (f == NFIELDS || seen[f] ||
		    tu_hex(val, (uint8_t *)v + fields[f].off, fields[f].len) != fields[f].len ||
		    strlen(val) != 2 * fields[f].len)
			return NULL;
		seen[f] = 1;
		p = skip_ws(p);
		if (*p == '}')
			break;
		if (*p++ != ',')
			return NULL;
	}
	for (size_t f = 0; f < NFIELDS; f++)
		if (!seen[f])
			return NULL;
	return p + 1;
}

/* Loads the file into vs[]; returns the count, fails the test on any error. */
static size_t load_vectors(struct vec *vs)
{
	static char text[256 * 1024];
	char path[PATH_MAX];
	const char *p;
	size_t n = 0, len;
	FILE *f;

	if (!find_vectors(path, sizeof(path))) {
		TH_LOG("cannot find %s: set IOMT_SRCDIR to the source tree", vec_rel);
		ASSERT_TRUE(0);
	}
	f = fopen(path, "r");
	ASSERT_NONNULL(f);
	len = fread(text, 1, sizeof(text) - 1, f);
	ASSERT_FALSE(ferror(f));
	ASSERT_TRUE(feof(f));
	fclose(f);
	text[len] = '\0';

	p = skip_ws(text);
	ASSERT_EQ(*p, '[');
	for (p++;; n++) {
		ASSERT_LT(n, MAX_VECS);
		p = json_vec(p, &vs[n]);
		if (!p)
			TH_LOG("%s: object %zu is malformed", path, n);
		ASSERT_NONNULL(p);
		p = skip_ws(p);
		if (*p == ']')
			break;
		ASSERT_EQ(*p++, ',');
	}
	ASSERT_EQ(*skip_ws(p + 1), '\0');
	return n + 1;
}

static struct vec vs[MAX_VECS];

TEST(vectors_file_complete)
{
	size_t n = load_vectors(vs);

	TH_LOG("%zu vectors", n);
	ASSERT_GE(n, 8);
}

/* Each vector through the device, MEC and TTP APIs; every field compared. */
TEST(vectors_end_to_end)
{
	size_t n = load_vectors(vs);

	for (size_t k = 0; k < n; k++) {
		const struct vec *v = &vs[k];
		uint8_t m1[64], m2[128], m4[48], did_i[16], did_m[16];
		uint8_t sk_i[16], sk_m[16], nd[16], nk[16];
		struct iomt_s2_device dev;
		struct iomt_s2_mec_pending p;
		struct iomt_s2_ttp_out t;
		unsigned bad = 99;

		ASSERT_EQ(iomt_s2_device_init(&dev, v->did_i, v->dk_i), IOMT_OK);
		ASSERT_EQ(iomt_s2_device_start(&dev, v->r1, m1), IOMT_OK);
		ASSERT_MEMEQ(m1, v->m1, 64);
		ASSERT_MEMEQ(m1 + 32, v->c1_i, 32);

		ASSERT_EQ(iomt_s2_mec_m2(v->did_m, v->dk_m, v->r2, m1, 64, &p, m2), IOMT_OK);
		ASSERT_MEMEQ(m2, v->m2, 128);
		ASSERT_MEMEQ(m2 + 96, v->c1_m, 32);

		ASSERT_EQ(iomt_s2_m2_dids(m2, 128, did_i, did_m), IOMT_OK);
		ASSERT_MEMEQ(did_i, v->did_i, 16);
		ASSERT_MEMEQ(did_m, v->did_m, 16);
		ASSERT_EQ(iomt_s2_ttp_process(v->dk_i, v->dk_m, m2, 128, v->r3, &t, &bad), IOMT_OK);
		ASSERT_EQ(bad, IOMT_S2_BAD_NONE);
		ASSERT_MEMEQ(t.m3, v->m3, 64);
		ASSERT_MEMEQ(t.m3, v->d1, 16);
		ASSERT_MEMEQ(t.m3 + 16, v->d2, 16);
		ASSERT_MEMEQ(t.m3 + 32, v->d3, 32);
		ASSERT_MEMEQ(t.sk, v->sk, 16);
		ASSERT_MEMEQ(t.next_did_i, v->next_did_i, 16);
		ASSERT_MEMEQ(t.next_dk_i, v->next_dk_i, 16);
		ASSERT_MEMEQ(t.next_did_m, v->next_did_m, 16);
		ASSERT_MEMEQ(t.next_dk_m, v->next_dk_m, 16);

		ASSERT_EQ(iomt_s2_mec_finish(&p, t.m3, 64, sk_m, m4, nd, nk), IOMT_OK);
		ASSERT_MEMEQ(m4, v->m4, 48);
		ASSERT_MEMEQ(sk_m, v->sk, 16);
		ASSERT_MEMEQ(nd, v->next_did_m, 16);
		ASSERT_MEMEQ(nk, v->next_dk_m, 16);

		ASSERT_EQ(iomt_s2_device_finish(&dev, m4, 48, sk_i), IOMT_OK);
		ASSERT_MEMEQ(sk_i, v->sk, 16);
		ASSERT_EQ(iomt_s2_device_identity(&dev, nd, nk), IOMT_OK);
		ASSERT_MEMEQ(nd, v->next_did_i, 16);
		ASSERT_MEMEQ(nk, v->next_dk_i, 16);
	}
}

static void ossl_shake(const void *in, size_t len, uint8_t *out, size_t outlen)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (!c || !EVP_DigestInit_ex(c, EVP_shake128(), NULL) ||
	    !EVP_DigestUpdate(c, in, len) || !EVP_DigestFinalXOF(c, out, outlen)) {
		TH_LOG("OpenSSL SHAKE128 failed");
		ASSERT_TRUE(0);
	}
	EVP_MD_CTX_free(c);
}

static void xor3(uint8_t *s, const uint8_t *h)
{
	for (int j = 0; j < 16; j++)
		s[j] = h[32 + j] ^ h[48 + j] ^ h[64 + j];
}

/* The published formulas, recomputed with OpenSSL's SHAKE128 and plain
 * loops, without lib/seed002: the file is right, not merely consistent. */
TEST(vectors_match_openssl)
{
	size_t n = load_vectors(vs);

	for (size_t k = 0; k < n; k++) {
		const struct vec *v = &vs[k];
		uint8_t seed[112], in_i[48], in_m[112], h_i[80], h_m[80], in2[32], d3[32];
		uint8_t s_i[16], s_m[16], sk[16], d1[16], d2[16];
		char label[32];
		int len = snprintf(label, sizeof(label), "seed002 vector %zu", k);

		/* The inputs are the documented derivation. */
		ossl_shake(label, (size_t)len, seed, sizeof(seed));
		ASSERT_MEMEQ(seed, v->did_i, 16);
		ASSERT_MEMEQ(seed + 48, v->did_m, 16);
		ASSERT_MEMEQ(seed + 96, v->r3, 16);

		memcpy(in_i, v->did_i, 16);
		memcpy(in_i + 16, v->dk_i, 16);
		memcpy(in_i + 32, v->r1, 16);
		ossl_shake(in_i, 48, h_i, 80);
		memcpy(in_m, v->did_m, 16);
		memcpy(in_m + 16, v->dk_m, 16);
		memcpy(in_m + 32, v->r2, 16);
		memcpy(in_m + 48, v->did_i, 16);
		memcpy(in_m + 64, v->r1, 16);
		memcpy(in_m + 80, h_i, 32);
		ossl_shake(in_m, 112, h_m, 80);
		ASSERT_MEMEQ(h_i, v->c1_i, 32);
		ASSERT_MEMEQ(h_m, v->c1_m, 32);

		xor3(s_i, h_i);
		xor3(s_m, h_m);
		for (int j = 0; j < 16; j++) {
			sk[j] = s_i[j] ^ s_m[j] ^ v->r3[j];
			d1[j] = s_i[j] ^ v->r3[j];
			d2[j] = s_m[j] ^ v->r3[j];
		}
		memcpy(in2, sk, 16);
		memcpy(in2 + 16, v->r1, 16);
		ossl_shake(in2, 32, d3, 32);
		ASSERT_MEMEQ(sk, v->sk, 16);
		ASSERT_MEMEQ(d1, v->d1, 16);
		ASSERT_MEMEQ(d2, v->d2, 16);
		ASSERT_MEMEQ(d3, v->d3, 32);
		ASSERT_MEMEQ(h_i + 32, v->next_did_i, 16);
		ASSERT_MEMEQ(h_i + 48, v->next_dk_i, 16);
		ASSERT_MEMEQ(h_m + 32, v->next_did_m, 16);
		ASSERT_MEMEQ(h_m + 48, v->next_dk_m, 16);

		/* The messages are the concatenations the paper gives. */
		ASSERT_MEMEQ(v->m1, v->did_i, 16);
		ASSERT_MEMEQ(v->m1 + 16, v->r1, 16);
		ASSERT_MEMEQ(v->m1 + 32, v->c1_i, 32);
		ASSERT_MEMEQ(v->m2, v->m1, 64);
		ASSERT_MEMEQ(v->m2 + 64, v->did_m, 16);
		ASSERT_MEMEQ(v->m2 + 80, v->r2, 16);
		ASSERT_MEMEQ(v->m2 + 96, v->c1_m, 32);
		ASSERT_MEMEQ(v->m3, v->d1, 16);
		ASSERT_MEMEQ(v->m3 + 16, v->d2, 16);
		ASSERT_MEMEQ(v->m3 + 32, v->d3, 32);
		ASSERT_MEMEQ(v->m4, v->m3 + 16, 48);
	}
}

/* ---- a small world: devices, one MEC, the TTP's table ---- */

struct world {
	struct tu_rng rng;
	struct iomt_s2_device dev;
	uint8_t did_m[16], dk_m[16];        /* the MEC's current identity */
	uint8_t ttp_dk_i[16], ttp_dk_m[16]; /* the TTP's keys for them */
};

static void world_init(struct world *w, uint64_t seed)
{
	uint8_t did[16];

	memset(w, 0, sizeof(*w));
	w->rng.s = seed;
	tu_fill(&w->rng, did, 16);
	tu_fill(&w->rng, w->ttp_dk_i, 16);
	ASSERT_EQ(iomt_s2_device_init(&w->dev, did, w->ttp_dk_i), IOMT_OK);
	tu_fill(&w->rng, w->did_m, 16);
	tu_fill(&w->rng, w->dk_m, 16);
	memcpy(w->ttp_dk_m, w->dk_m, 16);
}

/* Messages and results of one run, stopped before the device's finish. */
struct run {
	uint8_t r1[16], r2[16], r3[16];
	uint8_t m1[64], m2[128], m4[48], sk_m[16], nd_m[16], nk_m[16];
	struct iomt_s2_mec_pending p;
	struct iomt_s2_ttp_out t;
};

static void run_to_m3(struct world *w, struct run *r)
{
	unsigned bad;

	tu_fill(&w->rng, r->r1, 16);
	tu_fill(&w->rng, r->r2, 16);
	tu_fill(&w->rng, r->r3, 16);
	ASSERT_EQ(iomt_s2_device_start(&w->dev, r->r1, r->m1), IOMT_OK);
	ASSERT_EQ(iomt_s2_mec_m2(w->did_m, w->dk_m, r->r2, r->m1, 64, &r->p, r->m2), IOMT_OK);
	ASSERT_EQ(iomt_s2_ttp_process(w->ttp_dk_i, w->ttp_dk_m, r->m2, 128, r->r3, &r->t, &bad),
		  IOMT_OK);
	ASSERT_EQ(bad, IOMT_S2_BAD_NONE);
}

static void run_to_m4(struct world *w, struct run *r)
{
	run_to_m3(w, r);
	ASSERT_EQ(iomt_s2_mec_finish(&r->p, r->t.m3, 64, r->sk_m, r->m4, r->nd_m, r->nk_m),
		  IOMT_OK);
}

/* A whole run; the MEC and TTP adopt their new values; SK returned. */
static void agree(struct world *w, uint8_t sk[16])
{
	struct run r;
	uint8_t sk_i[16], did[16], dk[16];

	run_to_m4(w, &r);
	ASSERT_EQ(iomt_s2_device_finish(&w->dev, r.m4, 48, sk_i), IOMT_OK);
	ASSERT_MEMEQ(sk_i, r.sk_m, 16);
	ASSERT_MEMEQ(sk_i, r.t.sk, 16);
	ASSERT_EQ(iomt_s2_device_identity(&w->dev, did, dk), IOMT_OK);
	ASSERT_MEMEQ(did, r.t.next_did_i, 16);
	ASSERT_MEMEQ(dk, r.t.next_dk_i, 16);
	ASSERT_MEMEQ(r.nd_m, r.t.next_did_m, 16);
	ASSERT_MEMEQ(r.nk_m, r.t.next_dk_m, 16);
	memcpy(w->did_m, r.nd_m, 16);
	memcpy(w->dk_m, r.nk_m, 16);
	memcpy(w->ttp_dk_i, r.t.next_dk_i, 16);
	memcpy(w->ttp_dk_m, r.t.next_dk_m, 16);
	memcpy(sk, sk_i, 16);
}

TEST(payload_sizes_are_table_2)
{
	struct world w;
	struct run r;

	world_init(&w, 1);
	run_to_m4(&w, &r);
	ASSERT_EQ(sizeof(r.m1), IOMT_S2_M1_LEN);
	ASSERT_EQ(sizeof(r.m2), IOMT_S2_M2_LEN);
	ASSERT_EQ(sizeof(r.t.m3), IOMT_S2_M3_LEN);
	ASSERT_EQ(sizeof(r.m4), IOMT_S2_M4_LEN);
	TH_LOG("M1 device->MEC  %3d bytes = %4d bits", IOMT_S2_M1_LEN, 8 * IOMT_S2_M1_LEN);
	TH_LOG("M2 MEC->TTP     %3d bytes = %4d bits", IOMT_S2_M2_LEN, 8 * IOMT_S2_M2_LEN);
	TH_LOG("M3 TTP->MEC     %3d bytes = %4d bits", IOMT_S2_M3_LEN, 8 * IOMT_S2_M3_LEN);
	TH_LOG("M4 MEC->device  %3d bytes = %4d bits", IOMT_S2_M4_LEN, 8 * IOMT_S2_M4_LEN);
	TH_LOG("total           %3d bytes = %4d bits (paper, Table 2: 2432)",
	       IOMT_S2_M1_LEN + IOMT_S2_M2_LEN + IOMT_S2_M3_LEN + IOMT_S2_M4_LEN,
	       8 * (IOMT_S2_M1_LEN + IOMT_S2_M2_LEN + IOMT_S2_M3_LEN + IOMT_S2_M4_LEN));
	ASSERT_EQ(8 * (64 + 128 + 64 + 48), 2432);
	ASSERT_EQ(8 * (IOMT_S2_M1_LEN + IOMT_S2_M2_LEN + IOMT_S2_M3_LEN + IOMT_S2_M4_LEN),
		  IOMT_S2_PAYLOAD_BITS);
}

TEST(three_session_keys_equal)
{
	struct world w;
	uint8_t sk[16], prev[16];

	world_init(&w, 2);
	agree(&w, prev);	/* agree() asserts device == MEC == TTP */
	agree(&w, sk);
	ASSERT_FALSE(!memcmp(sk, prev, 16));
}

static int cmp16(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/* Unlinkability needs fresh identities every run, for device and MEC. */
TEST(thousand_agreements_never_repeat_a_did)
{
	static uint8_t dids[2 * 1001][16];
	struct world w;
	uint8_t sk[16], dk[16];
	size_t n = 0;

	world_init(&w, 3);
	for (int i = 0; i <= 1000; i++) {
		ASSERT_EQ(iomt_s2_device_identity(&w.dev, dids[n++], dk), IOMT_OK);
		memcpy(dids[n++], w.did_m, 16);
		if (i < 1000)
			agree(&w, sk);
	}
	qsort(dids, n, 16, cmp16);
	for (size_t i = 1; i < n; i++)
		ASSERT_NE(memcmp(dids[i - 1], dids[i], 16), 0);
	TH_LOG("1000 agreements: %zu identities (device and MEC), all distinct", n);
}

/* ---- refusals leave every state as it was ---- */

static void forged_m2(unsigned which)
{
	struct world w;
	struct run r;
	struct iomt_s2_ttp_out t;
	struct iomt_s2_device before;
	uint8_t m1[64], m2[128];
	unsigned bad = 0;

	world_init(&w, 10 + which);
	tu_fill(&w.rng, r.r1, 16);
	tu_fill(&w.rng, r.r2, 16);
	tu_fill(&w.rng, r.r3, 16);
	ASSERT_EQ(iomt_s2_device_start(&w.dev, r.r1, m1), IOMT_OK);
	before = w.dev;
	if (which & IOMT_S2_BAD_DEVICE)
		m1[40] ^= 0x01;	/* c1_i, before the MEC hashes it in */
	ASSERT_EQ(iomt_s2_mec_m2(w.did_m, w.dk_m, r.r2, m1, 64, &r.p, m2), IOMT_OK);
	if (which & IOMT_S2_BAD_MEC)
		m2[127] ^= 0x80;	/* c1_m */
	memset(&t, 0xa5, sizeof(t));
	ASSERT_EQ(iomt_s2_ttp_process(w.ttp_dk_i, w.ttp_dk_m, m2, 128, r.r3, &t, &bad),
		  IOMT_EAUTH);
	ASSERT_EQ(bad, which);
	for (size_t i = 0; i < sizeof(t); i++)
		ASSERT_EQ(((uint8_t *)&t)[i], 0xa5);
	ASSERT_MEMEQ(&w.dev, &before, sizeof(before));
}

TEST(forged_c1_device_is_named)
{
	forged_m2(IOMT_S2_BAD_DEVICE);
}

TEST(forged_c1_mec_is_named)
{
	forged_m2(IOMT_S2_BAD_MEC);
}

TEST(forged_c1_both_are_named)
{
	forged_m2(IOMT_S2_BAD_DEVICE | IOMT_S2_BAD_MEC);
}

/* The TTP's look-up with the wrong key (e.g. a rotated one) names the party. */
TEST(wrong_key_at_ttp_is_named)
{
	struct world w;
	struct run r;
	uint8_t dk[16];
	unsigned bad = 0;

	world_init(&w, 20);
	run_to_m3(&w, &r);
	memcpy(dk, w.ttp_dk_i, 16);
	dk[0] ^= 1;
	ASSERT_EQ(iomt_s2_ttp_process(dk, w.ttp_dk_m, r.m2, 128, r.r3, &r.t, &bad), IOMT_EAUTH);
	ASSERT_EQ(bad, IOMT_S2_BAD_DEVICE);
	ASSERT_EQ(iomt_s2_ttp_process(w.ttp_dk_i, dk, r.m2, 128, r.r3, &r.t, &bad), IOMT_EAUTH);
	ASSERT_EQ(bad, IOMT_S2_BAD_MEC);
	ASSERT_EQ(iomt_s2_ttp_process(w.ttp_dk_i, w.ttp_dk_m, r.m2, 128, r.r3, &r.t, NULL),
		  IOMT_OK);
}

TEST(wrong_m3_refused_by_mec)
{
	struct world w;
	struct run r;
	struct iomt_s2_mec_pending before;
	uint8_t bad3[64], sk[16], m4[48], nd[16], nk[16];
	uint8_t o_sk[16], o_m4[48], o_nd[16], o_nk[16];

	world_init(&w, 30);
	run_to_m3(&w, &r);
	before = r.p;
	memset(o_sk, 0x5a, 16);
	memset(o_m4, 0x5a, 48);
	memset(o_nd, 0x5a, 16);
	memset(o_nk, 0x5a, 16);
	/* d3 itself, d1 (so SK is wrong), and d2 does not matter to the MEC */
	for (int pos = 0; pos < 64; pos += 7) {
		memcpy(sk, o_sk, 16);
		memcpy(m4, o_m4, 48);
		memcpy(nd, o_nd, 16);
		memcpy(nk, o_nk, 16);
		memcpy(bad3, r.t.m3, 64);
		bad3[pos] ^= 0x10;
		if (pos >= 16 && pos < 32)
			continue;
		ASSERT_EQ(iomt_s2_mec_finish(&r.p, bad3, 64, sk, m4, nd, nk), IOMT_EAUTH);
		ASSERT_MEMEQ(&r.p, &before, sizeof(before));
		ASSERT_MEMEQ(sk, o_sk, 16);
		ASSERT_MEMEQ(m4, o_m4, 48);
		ASSERT_MEMEQ(nd, o_nd, 16);
		ASSERT_MEMEQ(nk, o_nk, 16);
	}
	/* the genuine M3 still finishes the run */
	ASSERT_EQ(iomt_s2_mec_finish(&r.p, r.t.m3, 64, sk, m4, nd, nk), IOMT_OK);
	ASSERT_MEMEQ(sk, r.t.sk, 16);
}

TEST(wrong_m4_refused_by_device)
{
	struct world w;
	struct run r;
	struct iomt_s2_device before;
	uint8_t bad4[48], sk[16], osk[16];

	world_init(&w, 31);
	run_to_m4(&w, &r);
	before = w.dev;
	memset(osk, 0x3c, 16);
	for (int pos = 0; pos < 48; pos++) {
		memcpy(sk, osk, 16);
		memcpy(bad4, r.m4, 48);
		bad4[pos] ^= (uint8_t)(1u << (pos % 8));
		ASSERT_EQ(iomt_s2_device_finish(&w.dev, bad4, 48, sk), IOMT_EAUTH);
		ASSERT_MEMEQ(&w.dev, &before, sizeof(before));
		ASSERT_MEMEQ(sk, osk, 16);
	}
	ASSERT_EQ(iomt_s2_device_finish(&w.dev, r.m4, 48, sk), IOMT_OK);
	ASSERT_MEMEQ(sk, r.t.sk, 16);
}

TEST(wrong_sizes_refused_without_change)
{
	uint8_t big[256], sk[16], m2[128], m4[48], nd[16], nk[16], di[16], dm[16];
	struct iomt_s2_device dbefore;
	struct iomt_s2_mec_pending pbefore, fresh;
	struct iomt_s2_ttp_out t;
	struct world w;
	struct run r, r2;
	unsigned bad;

	world_init(&w, 40);
	run_to_m4(&w, &r);	/* device in AWAIT_M4 */
	run_to_m3(&w, &r2);	/* a second device run, and a pending MEC run */
	dbefore = w.dev;
	pbefore = r2.p;
	memset(&fresh, 0x77, sizeof(fresh));
	memset(m2, 0x77, sizeof(m2));
	memset(&t, 0x77, sizeof(t));
	memset(big, 0, sizeof(big));
	/* every length but the right one, up to well past the longest message */
	for (size_t n = 0; n <= 200; n++) {
		if (n != 64) {
			memcpy(big, r2.m1, 64);
			ASSERT_EQ(iomt_s2_mec_m2(w.did_m, w.dk_m, r2.r2, big, n, &fresh, m2),
				  IOMT_ESIZE);
			memcpy(big, r2.t.m3, 64);
			ASSERT_EQ(iomt_s2_mec_finish(&r2.p, big, n, sk, m4, nd, nk), IOMT_ESIZE);
			ASSERT_MEMEQ(&r2.p, &pbefore, sizeof(pbefore));
		}
		if (n != 128) {
			memcpy(big, r2.m2, 128);
			ASSERT_EQ(iomt_s2_m2_dids(big, n, di, dm), IOMT_ESIZE);
			ASSERT_EQ(iomt_s2_ttp_process(w.ttp_dk_i, w.ttp_dk_m, big, n, r2.r3, &t,
						      &bad), IOMT_ESIZE);
		}
		if (n != 48) {
			memcpy(big, r2.m4, 48);
			ASSERT_EQ(iomt_s2_device_finish(&w.dev, big, n, sk), IOMT_ESIZE);
			ASSERT_MEMEQ(&w.dev, &dbefore, sizeof(dbefore));
		}
	}
	for (size_t i = 0; i < sizeof(fresh); i++)
		ASSERT_EQ(((uint8_t *)&fresh)[i], 0x77);
	for (size_t i = 0; i < sizeof(t); i++)
		ASSERT_EQ(((uint8_t *)&t)[i], 0x77);
	ASSERT_EQ(m2[0], 0x77);
	/* the right sizes still work afterwards */
	ASSERT_EQ(iomt_s2_mec_finish(&r2.p, r2.t.m3, 64, sk, m4, nd, nk), IOMT_OK);
	ASSERT_EQ(iomt_s2_device_finish(&w.dev, m4, 48, sk), IOMT_OK);
	ASSERT_MEMEQ(sk, r2.t.sk, 16);
	/* the parsers alone, every length */
	for (size_t n = 0; n <= 200; n++) {
		struct iomt_s2_m1 a;
		struct iomt_s2_m2 b;
		struct iomt_s2_m3 c;
		struct iomt_s2_m4 e;

		EXPECT_EQ(iomt_s2_m1_parse(&a, big, n), n == 64 ? IOMT_OK : IOMT_ESIZE);
		EXPECT_EQ(iomt_s2_m2_parse(&b, big, n), n == 128 ? IOMT_OK : IOMT_ESIZE);
		EXPECT_EQ(iomt_s2_m3_parse(&c, big, n), n == 64 ? IOMT_OK : IOMT_ESIZE);
		EXPECT_EQ(iomt_s2_m4_parse(&e, big, n), n == 48 ? IOMT_OK : IOMT_ESIZE);
	}
}

TEST(state_machine_refuses_out_of_order)
{
	struct iomt_s2_device zero, dev;
	struct iomt_s2_mec_pending p;
	uint8_t m1[64], m4[48] = { 0 }, m3[64] = { 0 }, sk[16], nd[16], nk[16];
	uint8_t blob[IOMT_S2_DEVICE_BLOB_LEN];
	struct world w;
	struct run r;

	/* a zeroed (never initialised, or wiped) device does nothing */
	memset(&zero, 0, sizeof(zero));
	ASSERT_EQ(iomt_s2_device_start(&zero, m4, m1), IOMT_ESTATE);
	ASSERT_EQ(iomt_s2_device_finish(&zero, m4, 48, sk), IOMT_ESTATE);
	ASSERT_EQ(iomt_s2_device_identity(&zero, nd, nk), IOMT_ESTATE);
	ASSERT_EQ(iomt_s2_device_export(&zero, blob), IOMT_ESTATE);
	ASSERT_EQ(iomt_s2_device_abort(&zero), IOMT_ESTATE);

	/* an idle device has no M4 to wait for */
	world_init(&w, 50);
	dev = w.dev;
	ASSERT_EQ(iomt_s2_device_finish(&w.dev, m4, 48, sk), IOMT_ESTATE);
	ASSERT_EQ(iomt_s2_device_abort(&w.dev), IOMT_ESTATE);
	ASSERT_MEMEQ(&w.dev, &dev, sizeof(dev));

	/* a pending run finishes once; an empty one never */
	run_to_m4(&w, &r);
	ASSERT_EQ(r.p.state, IOMT_S2_MEC_EMPTY);
	ASSERT_EQ(iomt_s2_mec_finish(&r.p, r.t.m3, 64, sk, m4, nd, nk), IOMT_ESTATE);
	memset(&p, 0, sizeof(p));
	ASSERT_EQ(iomt_s2_mec_finish(&p, m3, 64, sk, m4, nd, nk), IOMT_ESTATE);

	/* a device whose run was dropped refuses its M4 */
	ASSERT_EQ(iomt_s2_device_abort(&w.dev), IOMT_OK);
	ASSERT_EQ(w.dev.state, IOMT_S2_DEV_IDLE);
	ASSERT_EQ(iomt_s2_device_finish(&w.dev, r.m4, 48, sk), IOMT_ESTATE);
	ASSERT_MEMEQ(&w.dev, &dev, sizeof(dev));	/* abort kept the identity */

	iomt_s2_device_wipe(&w.dev);
	ASSERT_TRUE(iomt_ct_is_zero(&w.dev, sizeof(w.dev)));
	ASSERT_EQ(iomt_s2_device_start(&w.dev, m4, m1), IOMT_ESTATE);
}

/* Only the latest start counts; the earlier run's M4 is refused. */
TEST(device_retry_uses_second_start)
{
	struct world w;
	struct run a, b;
	struct iomt_s2_device before;
	uint8_t sk[16], did0[16], did[16];

	world_init(&w, 60);
	ASSERT_EQ(iomt_s2_device_identity(&w.dev, did0, NULL), IOMT_OK);
	run_to_m4(&w, &a);	/* first attempt; the device never sees its M4 */
	/* The TTP answered run a and rotated; like the daemon, it keeps the
	 * previous keys, which are what the retry (unrotated) still uses. */
	run_to_m4(&w, &b);
	ASSERT_MEMEQ(a.m1, b.m1, 16);	/* same DID_i in both */
	ASSERT_NE(memcmp(a.m1 + 32, b.m1 + 32, 32), 0);
	before = w.dev;
	ASSERT_EQ(iomt_s2_device_finish(&w.dev, a.m4, 48, sk), IOMT_EAUTH);
	ASSERT_MEMEQ(&w.dev, &before, sizeof(before));
	ASSERT_EQ(iomt_s2_device_finish(&w.dev, b.m4, 48, sk), IOMT_OK);
	ASSERT_MEMEQ(sk, b.t.sk, 16);
	ASSERT_EQ(iomt_s2_device_identity(&w.dev, did, NULL), IOMT_OK);
	ASSERT_MEMEQ(did, b.t.next_did_i, 16);
	ASSERT_NE(memcmp(did, did0, 16), 0);
}

/* M4 lost: the TTP and MEC have rotated, the device has not. The device's
 * next M1 carries the old DID and is checked with the old DK (the TTP's
 * "previous" entry); the new DK would not verify it. */
TEST(lost_m4_recovers_with_previous_identity)
{
	struct world w;
	struct run lost, again;
	struct iomt_s2_ttp_out t;
	uint8_t did0[16], dk0[16], did[16], dk[16], sk[16], m1[64], m2[128], r[16];
	struct iomt_s2_mec_pending p;
	unsigned bad;

	world_init(&w, 70);
	ASSERT_EQ(iomt_s2_device_identity(&w.dev, did0, dk0), IOMT_OK);
	run_to_m4(&w, &lost);	/* M4 never arrives */
	ASSERT_EQ(iomt_s2_device_identity(&w.dev, did, dk), IOMT_OK);
	ASSERT_MEMEQ(did, did0, 16);
	ASSERT_MEMEQ(dk, dk0, 16);
	ASSERT_EQ(w.dev.state, IOMT_S2_DEV_AWAIT_M4);

	/* the MEC adopted its rotation; the TTP moved both to "previous" */
	memcpy(w.did_m, lost.nd_m, 16);
	memcpy(w.dk_m, lost.nk_m, 16);
	memcpy(w.ttp_dk_m, lost.t.next_dk_m, 16);

	tu_fill(&w.rng, r, 16);
	ASSERT_EQ(iomt_s2_device_start(&w.dev, r, m1), IOMT_OK);
	ASSERT_MEMEQ(m1, did0, 16);	/* old DID on the wire */
	ASSERT_EQ(iomt_s2_mec_m2(w.did_m, w.dk_m, lost.r2, m1, 64, &p, m2), IOMT_OK);
	ASSERT_EQ(iomt_s2_ttp_process(lost.t.next_dk_i, w.ttp_dk_m, m2, 128, lost.r3, &t, &bad),
		  IOMT_EAUTH);
	ASSERT_EQ(bad, IOMT_S2_BAD_DEVICE);
	ASSERT_EQ(iomt_s2_ttp_process(dk0, w.ttp_dk_m, m2, 128, lost.r3, &t, &bad), IOMT_OK);

	memcpy(again.m1, m1, 64);
	ASSERT_EQ(iomt_s2_mec_finish(&p, t.m3, 64, again.sk_m, again.m4, again.nd_m,
				     again.nk_m), IOMT_OK);
	ASSERT_EQ(iomt_s2_device_finish(&w.dev, again.m4, 48, sk), IOMT_OK);
	ASSERT_MEMEQ(sk, t.sk, 16);
	ASSERT_MEMEQ(sk, again.sk_m, 16);
	ASSERT_EQ(iomt_s2_device_identity(&w.dev, did, dk), IOMT_OK);
	ASSERT_MEMEQ(did, t.next_did_i, 16);
	ASSERT_MEMEQ(dk, t.next_dk_i, 16);
}

/* Write-ahead persistence: a device restored from its blob finishes the run. */
TEST(export_import_round_trip)
{
	struct world w;
	struct run r;
	struct iomt_s2_device back;
	uint8_t blob[IOMT_S2_DEVICE_BLOB_LEN], sk[16];

	world_init(&w, 80);
	ASSERT_EQ(iomt_s2_device_export(&w.dev, blob), IOMT_OK);
	ASSERT_EQ(blob[0], 1);
	ASSERT_EQ(blob[1], IOMT_S2_DEV_IDLE);
	ASSERT_EQ(iomt_s2_device_import(&back, blob, sizeof(blob)), IOMT_OK);
	ASSERT_MEMEQ(&back, &w.dev, sizeof(back));

	run_to_m4(&w, &r);
	ASSERT_EQ(iomt_s2_device_export(&w.dev, blob), IOMT_OK);
	ASSERT_EQ(blob[1], IOMT_S2_DEV_AWAIT_M4);
	iomt_s2_device_wipe(&w.dev);	/* "reboot" */
	memset(&back, 0, sizeof(back));
	ASSERT_EQ(iomt_s2_device_import(&back, blob, sizeof(blob)), IOMT_OK);
	ASSERT_EQ(iomt_s2_device_finish(&back, r.m4, 48, sk), IOMT_OK);
	ASSERT_MEMEQ(sk, r.t.sk, 16);
}

TEST(import_rejects_bad_blobs)
{
	struct world w;
	struct iomt_s2_device dev, before;
	uint8_t blob[IOMT_S2_DEVICE_BLOB_LEN + 1], bad[IOMT_S2_DEVICE_BLOB_LEN];

	world_init(&w, 81);
	ASSERT_EQ(iomt_s2_device_export(&w.dev, blob), IOMT_OK);
	world_init(&w, 82);
	dev = w.dev;
	before = dev;
	ASSERT_EQ(iomt_s2_device_import(&dev, blob, IOMT_S2_DEVICE_BLOB_LEN - 1), IOMT_ESIZE);
	ASSERT_EQ(iomt_s2_device_import(&dev, blob, IOMT_S2_DEVICE_BLOB_LEN + 1), IOMT_ESIZE);
	memcpy(bad, blob, sizeof(bad));
	bad[0] = 2;	/* unknown version */
	ASSERT_EQ(iomt_s2_device_import(&dev, bad, sizeof(bad)), IOMT_EMALFORMED);
	memcpy(bad, blob, sizeof(bad));
	bad[1] = IOMT_S2_DEV_EMPTY;
	ASSERT_EQ(iomt_s2_device_import(&dev, bad, sizeof(bad)), IOMT_EMALFORMED);
	bad[1] = 9;
	ASSERT_EQ(iomt_s2_device_import(&dev, bad, sizeof(bad)), IOMT_EMALFORMED);
	memcpy(bad, blob, sizeof(bad));
	bad[IOMT_S2_DEVICE_BLOB_LEN - 1] = 1;	/* idle, yet a pending value */
	ASSERT_EQ(iomt_s2_device_import(&dev, bad, sizeof(bad)), IOMT_EMALFORMED);
	ASSERT_MEMEQ(&dev, &before, sizeof(dev));
}

TEST(null_arguments)
{
	uint8_t b[128] = { 0 }, k[16] = { 0 }, m1[64] = { 0 };
	struct iomt_s2_device dev;
	struct iomt_s2_mec_pending p;
	struct iomt_s2_ttp_out t;
	struct iomt_s2_mec_out mo;
	int st;

	ASSERT_EQ(iomt_s2_device_init(NULL, k, k), IOMT_EINVAL);
	ASSERT_EQ(iomt_s2_device_init(&dev, NULL, k), IOMT_EINVAL);
	ASSERT_EQ(iomt_s2_device_init(&dev, k, k), IOMT_OK);
	ASSERT_EQ(iomt_s2_device_start(&dev, NULL, m1), IOMT_EINVAL);
	ASSERT_EQ(iomt_s2_device_start(&dev, k, NULL), IOMT_EINVAL);
	ASSERT_EQ(iomt_s2_device_finish(&dev, NULL, 48, k), IOMT_EINVAL);
	ASSERT_EQ(iomt_s2_device_identity(&dev, NULL, k), IOMT_EINVAL);
	ASSERT_EQ(iomt_s2_device_import(&dev, NULL, 98), IOMT_EINVAL);
	ASSERT_EQ(iomt_s2_mec_m2(k, k, k, NULL, 64, &p, b), IOMT_EINVAL);
	ASSERT_EQ(iomt_s2_mec_m2(k, k, k, m1, 64, NULL, b), IOMT_EINVAL);
	ASSERT_EQ(iomt_s2_mec_finish(NULL, b, 64, k, b, k, k), IOMT_EINVAL);
	ASSERT_EQ(iomt_s2_ttp_process(k, k, NULL, 128, k, &t, NULL), IOMT_EINVAL);
	ASSERT_EQ(iomt_s2_ttp_process(k, k, b, 128, k, NULL, NULL), IOMT_EINVAL);
	ASSERT_EQ(iomt_s2_m2_dids(NULL, 128, k, k), IOMT_EINVAL);
	ASSERT_EQ(iomt_s2_m1_parse(NULL, b, 64), IOMT_EINVAL);
	ASSERT_EQ(iomt_s2_mec_m2_batch(1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, &st),
		  IOMT_EINVAL);
	ASSERT_EQ(iomt_s2_mec_finish_batch(1, NULL, NULL, NULL, &mo, &st), IOMT_EINVAL);
	ASSERT_EQ(iomt_s2_ttp_process_batch(1, NULL, NULL, NULL, NULL, NULL, &t, &st, NULL),
		  IOMT_EINVAL);
	/* n == 0 needs no arrays */
	ASSERT_EQ(iomt_s2_mec_m2_batch(0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
		  IOMT_OK);
	ASSERT_EQ(iomt_s2_mec_finish_batch(0, NULL, NULL, NULL, NULL, NULL), IOMT_OK);
	ASSERT_EQ(iomt_s2_ttp_process_batch(0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
		  IOMT_OK);
}

TEST(codecs_round_trip)
{
	struct tu_rng r = { 90 };
	uint8_t a[128], b[128];
	struct iomt_s2_m1 m1;
	struct iomt_s2_m2 m2;
	struct iomt_s2_m3 m3;
	struct iomt_s2_m4 m4;

	tu_fill(&r, a, sizeof(a));
	ASSERT_EQ(iomt_s2_m1_parse(&m1, a, 64), IOMT_OK);
	iomt_s2_m1_build(&m1, b);
	ASSERT_MEMEQ(a, b, 64);
	ASSERT_MEMEQ(m1.r1, a + 16, 16);
	ASSERT_EQ(iomt_s2_m2_parse(&m2, a, 128), IOMT_OK);
	iomt_s2_m2_build(&m2, b);
	ASSERT_MEMEQ(a, b, 128);
	ASSERT_MEMEQ(m2.did_m, a + 64, 16);
	ASSERT_MEMEQ(m2.r2, a + 80, 16);
	ASSERT_EQ(iomt_s2_m3_parse(&m3, a, 64), IOMT_OK);
	iomt_s2_m3_build(&m3, b);
	ASSERT_MEMEQ(a, b, 64);
	ASSERT_MEMEQ(m3.d2, a + 16, 16);
	ASSERT_EQ(iomt_s2_m4_parse(&m4, a, 48), IOMT_OK);
	iomt_s2_m4_build(&m4, b);
	ASSERT_MEMEQ(a, b, 48);
	ASSERT_MEMEQ(m4.d3, a + 16, 32);
}

/* After a run neither the device nor the MEC keeps this run's secrets. */
TEST(run_secrets_wiped)
{
	struct world w;
	struct run r;
	uint8_t sk[16];

	world_init(&w, 95);
	run_to_m4(&w, &r);
	ASSERT_TRUE(iomt_ct_is_zero(&r.p, sizeof(r.p)));
	ASSERT_EQ(iomt_s2_device_finish(&w.dev, r.m4, 48, sk), IOMT_OK);
	ASSERT_TRUE(iomt_ct_is_zero(w.dev.r1, sizeof(w.dev.r1)));
	ASSERT_TRUE(iomt_ct_is_zero(w.dev.c2, 3 * sizeof(w.dev.c2)));
}

/* ---- batches == one by one, at every Keccak width ---- */

#include "width_fixture.h"

enum { NB = 20 };

/* n devices (a world each), the MEC using one of three identities per item. */
struct bworld {
	struct world w[NB];
	uint8_t did_m[3][16], dk_m[3][16];
	uint8_t r1[NB][16], r2[NB][16], r3[NB][16];
	uint8_t m1[NB][64], m2[NB][128];
	size_t m1_len[NB], m2_len[NB];
	struct iomt_s2_mec_pending p[NB];
};

static void bworld_m1(struct bworld *b, size_t n, uint64_t seed)
{
	struct tu_rng r = { seed };

	tu_fill(&r, b->did_m, sizeof(b->did_m));
	tu_fill(&r, b->dk_m, sizeof(b->dk_m));
	for (size_t i = 0; i < n; i++) {
		world_init(&b->w[i], seed * 100 + i);
		tu_fill(&r, b->r1[i], 16);
		tu_fill(&r, b->r2[i], 16);
		tu_fill(&r, b->r3[i], 16);
		ASSERT_EQ(iomt_s2_device_start(&b->w[i].dev, b->r1[i], b->m1[i]), IOMT_OK);
		b->m1_len[i] = 64;
	}
}

TEST_F(batch, mec_m2_equals_single)
{
	static struct bworld b;

	for (size_t n = 0; n <= NB; n++) {
		const uint8_t *did[NB], *dk[NB], *r2[NB], *m1[NB];
		struct iomt_s2_mec_pending *pp[NB], one;
		uint8_t *m2[NB], want[128];
		int st[NB];

		bworld_m1(&b, n, 1000 + n);
		for (size_t i = 0; i < n; i++) {
			did[i] = b.did_m[i % 3];
			dk[i] = b.dk_m[i % 3];
			r2[i] = b.r2[i];
			m1[i] = b.m1[i];
			if (i % 7 == 5)
				b.m1_len[i] = i % 2 ? 63 : 65;	/* refused items */
			pp[i] = &b.p[i];
			m2[i] = b.m2[i];
			memset(&b.p[i], 0xee, sizeof(b.p[i]));
			memset(b.m2[i], 0xee, 128);
		}
		ASSERT_EQ(iomt_s2_mec_m2_batch(n, did, dk, r2, m1, b.m1_len, pp, m2, st), IOMT_OK);
		for (size_t i = 0; i < n; i++) {
			int err = iomt_s2_mec_m2(did[i], dk[i], r2[i], m1[i], b.m1_len[i], &one,
						 want);

			ASSERT_EQ(st[i], err);
			if (err) {
				ASSERT_EQ(err, IOMT_ESIZE);
				ASSERT_EQ(b.m2[i][0], 0xee);
				ASSERT_EQ(b.p[i].state, 0xeeeeeeee);
				continue;
			}
			ASSERT_MEMEQ(b.m2[i], want, 128);
			ASSERT_MEMEQ(&b.p[i], &one, sizeof(one));
		}
	}
}

/* Per item: OK, wrong size, forged c1_i, forged c1_m, both forged. */
TEST_F(batch, ttp_equals_single)
{
	static struct bworld b;
	static struct iomt_s2_ttp_out out[NB];

	for (size_t n = 0; n <= NB; n++) {
		const uint8_t *dki[NB], *dkm[NB], *m2[NB], *r3[NB];
		struct iomt_s2_ttp_out one;
		unsigned bad[NB], bad1;
		int st[NB];

		bworld_m1(&b, n, 2000 + n);
		for (size_t i = 0; i < n; i++) {
			ASSERT_EQ(iomt_s2_mec_m2(b.did_m[i % 3], b.dk_m[i % 3], b.r2[i], b.m1[i], 64,
						 &b.p[i], b.m2[i]), IOMT_OK);
			b.m2_len[i] = 128;
			switch (i % 5) {
			case 1: b.m2_len[i] = i % 2 ? 127 : 129; break;
			case 2: b.m2[i][33] ^= 4; break;
			case 3: b.m2[i][100] ^= 4; break;
			case 4: if (i % 10 == 9) { b.m2[i][33] ^= 4; b.m2[i][100] ^= 4; } break;
			}
			dki[i] = b.w[i].ttp_dk_i;
			dkm[i] = b.dk_m[i % 3];
			m2[i] = b.m2[i];
			r3[i] = b.r3[i];
		}
		memset(out, 0xdd, sizeof(out));
		ASSERT_EQ(iomt_s2_ttp_process_batch(n, dki, dkm, m2, b.m2_len, r3, out, st, bad),
			  IOMT_OK);
		for (size_t i = 0; i < n; i++) {
			int err = iomt_s2_ttp_process(dki[i], dkm[i], m2[i], b.m2_len[i], r3[i],
						      &one, &bad1);

			ASSERT_EQ(st[i], err);
			ASSERT_EQ(bad[i], bad1);
			if (err) {
				ASSERT_EQ(out[i].m3[0], 0xdd);
				ASSERT_EQ(out[i].next_dk_m[15], 0xdd);
				continue;
			}
			ASSERT_MEMEQ(&out[i], &one, sizeof(one));
		}
	}
}

/* Per item: OK, wrong size, wrong d3, an empty pending, a pending listed
 * twice (in the same chunk of 8 for item 4, across chunks for 10 and 16). */
TEST_F(batch, mec_finish_equals_single)
{
	static struct bworld b, c;
	static struct iomt_s2_ttp_out t[NB];
	static struct iomt_s2_mec_out out[NB];

	for (size_t n = 0; n <= NB; n++) {
		struct iomt_s2_mec_pending *pp[NB];
		const uint8_t *m3[NB];
		size_t m3_len[NB];
		uint8_t m3buf[NB][64];
		int st[NB];

		bworld_m1(&b, n, 3000 + n);
		for (size_t i = 0; i < n; i++) {
			ASSERT_EQ(iomt_s2_mec_m2(b.did_m[i % 3], b.dk_m[i % 3], b.r2[i], b.m1[i], 64,
						 &b.p[i], b.m2[i]), IOMT_OK);
			ASSERT_EQ(iomt_s2_ttp_process(b.w[i].ttp_dk_i, b.dk_m[i % 3], b.m2[i], 128,
						      b.r3[i], &t[i], NULL), IOMT_OK);
			memcpy(m3buf[i], t[i].m3, 64);
			m3[i] = m3buf[i];
			m3_len[i] = 64;
			pp[i] = &b.p[i];
			switch (i % 6) {
			case 1: m3_len[i] = 65; break;
			case 2: m3buf[i][63] ^= 1; break;
			case 3: b.p[i].state = IOMT_S2_MEC_EMPTY; break;
			case 4: if (i >= 4) { pp[i] = pp[i - 4]; m3[i] = m3[i - 4]; } break;
			}
		}
		/* the same inputs, one by one, on a copy of the pendings */
		c = b;
		memset(out, 0xcc, sizeof(out));
		ASSERT_EQ(iomt_s2_mec_finish_batch(n, pp, m3, m3_len, out, st), IOMT_OK);
		for (size_t i = 0; i < n; i++) {
			struct iomt_s2_mec_pending *q = &c.p[pp[i] - b.p];
			struct iomt_s2_mec_out one;
			int err = iomt_s2_mec_finish(q, m3[i], m3_len[i], one.sk, one.m4,
						     one.next_did_m, one.next_dk_m);

			ASSERT_EQ(st[i], err);
			if (err) {
				ASSERT_EQ(out[i].sk[0], 0xcc);
				continue;
			}
			ASSERT_MEMEQ(&out[i], &one, sizeof(one));
			ASSERT_MEMEQ(out[i].sk, t[pp[i] - b.p].sk, 16);
		}
		ASSERT_MEMEQ(b.p, c.p, sizeof(b.p));
	}
}
