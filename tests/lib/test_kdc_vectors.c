/* SPDX-License-Identifier: MIT */
/*
 * lib/kdc against its files: tests/vectors/kdc.json re-derived with the
 * library and rebuilt from its inputs with OpenSSL (AES-128-CCM, KMAC-128),
 * and docs/PROTOCOL.md §5 (message table, layouts, worked vector) against the
 * constants and the file.
 */
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include "harness.h"
#include "testutil.h"
#include "ref.h"
#include "kdc.h"
#include "wire.h"
#include "bytes.h"
#include "ct.h"
#include "aes.h"

enum { SKEW = 300000 };

/* ---- files: the vectors and docs/PROTOCOL.md ---- */

/* $IOMT_SRCDIR, else up from the binary, else up from the working directory. */
static int readable(char *out, size_t cap, const char *dir, const char *rel)
{
	int n = snprintf(out, cap, "%s/%s", dir, rel);

	return n > 0 && (size_t)n < cap && access(out, R_OK) == 0;
}

static int climb(char *out, size_t cap, const char *start, const char *rel)
{
	char dir[PATH_MAX];

	if (snprintf(dir, sizeof(dir), "%s", start) >= (int)sizeof(dir))
		return 0;
	for (;;) {
		char *slash;

		if (readable(out, cap, dir, rel))
			return 1;
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			return 0;
		*slash = '\0';
	}
}

/* Reads a source-tree file into a static buffer (NUL-terminated). */
static const char *slurp(const char *rel)
{
	static char text[512 * 1024];
	char path[PATH_MAX], buf[PATH_MAX];
	const char *env = getenv("IOMT_SRCDIR");
	ssize_t n;
	size_t len;
	int found = 0;
	FILE *f;

	if (env && *env) {
		found = readable(path, sizeof(path), env, rel);
	} else {
		n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = '\0';
			found = climb(path, sizeof(path), buf, rel);
		}
		if (!found && getcwd(buf, sizeof(buf)))
			found = climb(path, sizeof(path), buf, rel);
	}
	if (!found)
		TH_LOG("cannot find %s: set IOMT_SRCDIR to the source tree", rel);
	ASSERT_TRUE(found);
	f = fopen(path, "r");
	ASSERT_NONNULL(f);
	len = fread(text, 1, sizeof(text) - 1, f);
	ASSERT_FALSE(ferror(f));
	ASSERT_TRUE(feof(f));
	fclose(f);
	text[len] = '\0';
	return text;
}

struct vec {
	uint8_t kkdc[32], salt_c[16], salt_s[16], salt_tgs[16];
	uint8_t cname[16], ckind[1], cpatient[16], sname[16], skind[1], spatient[16];
	uint8_t kvno_c[4], kvno_s[4], kvno_tgs[4], t_as[8], t_tgs[8], t_ap[8];
	uint8_t life_tgt[4], life_tkt[4];
	uint8_t rnd_as_req[21], rnd_as_rep[42], rnd_tgs_req[21], rnd_tgs_rep[42];
	uint8_t rnd_ap_req[13], rnd_ap_rep[13];
	uint8_t k_c[16], k_s[16], k_tgs[16], kcv_c[8], kcv_s[8], kcv_tgs[8], patient[16];
	uint8_t as_req[65], as_rep[167], tgs_req[187], tgs_rep[167], ap_req[163], ap_rep[37];
	uint8_t session[16], err[17];
};

static const struct {
	const char *name;
	size_t off, len;
} fields[] = {
#define F(x) { #x, offsetof(struct vec, x), sizeof(((struct vec *)0)->x) }
	F(kkdc), F(salt_c), F(salt_s), F(salt_tgs), F(cname), F(ckind), F(cpatient),
	F(sname), F(skind), F(spatient), F(kvno_c), F(kvno_s), F(kvno_tgs), F(t_as),
	F(t_tgs), F(t_ap), F(life_tgt), F(life_tkt), F(rnd_as_req), F(rnd_as_rep),
	F(rnd_tgs_req), F(rnd_tgs_rep), F(rnd_ap_req), F(rnd_ap_rep), F(k_c), F(k_s),
	F(k_tgs), F(kcv_c), F(kcv_s), F(kcv_tgs), F(patient), F(as_req), F(as_rep),
	F(tgs_req), F(tgs_rep), F(ap_req), F(ap_rep), F(session), F(err),
#undef F
};
enum { NFIELDS = sizeof(fields) / sizeof(fields[0]), MAX_VECS = 16 };

static int field_index(const char *key)
{
	for (int f = 0; f < NFIELDS; f++)
		if (!strcmp(fields[f].name, key))
			return f;
	return -1;
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
		int f;

		p = json_string(skip_ws(p), key, sizeof(key));
		if (!p || *(p = skip_ws(p)) != ':')
			return NULL;
		p = json_string(skip_ws(p + 1), val, sizeof(val));
		if (!p)
			return NULL;
		f = field_index(key);
		if (f < 0 || seen[f] || strlen(val) != 2 * fields[f].len ||
		    tu_hex(val, (uint8_t *)v + fields[f].off, fields[f].len) != fields[f].len)
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

static size_t load_vectors(struct vec *vs)
{
	const char *p = skip_ws(slurp("tests/vectors/kdc.json"));
	size_t n = 0;

	ASSERT_EQ(*p, '[');
	for (p++;; n++) {
		ASSERT_LT(n, MAX_VECS);
		p = json_vec(p, &vs[n]);
		if (!p)
			TH_LOG("kdc.json: object %zu is malformed", n);
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

/* Every message of every vector through the library's APIs, on the
 * portable AES and on AES-NI when the CPU has it. */
TEST(vectors_rederived_by_library)
{
	size_t n = load_vectors(vs);

	TH_LOG("%zu vectors", n);
	ASSERT_GE(n, 4);
	for (size_t i = 0; i < 2 * n; i++) {
		if (i % n == 0 && iomt_aes_set_hw(i != 0) != 0) {
			TH_LOG("no AES-NI: portable AES only");
			break;
		}
		const struct vec *v = &vs[i % n];
		uint32_t kc = iomt_load_be32(v->kvno_c), ks = iomt_load_be32(v->kvno_s),
			 kt = iomt_load_be32(v->kvno_tgs);
		uint64_t t_as = iomt_load_be64(v->t_as), t_tgs = iomt_load_be64(v->t_tgs),
			 t_ap = iomt_load_be64(v->t_ap);
		uint8_t k[16], kcv[8], pat[16], m[200];
		struct iomt_kdc_grant g = { v->k_tgs, iomt_kdc_tgs_name, kt, { 0 }, v->ckind[0],
					    { 0 }, t_as, iomt_load_be32(v->life_tgt) };
		struct iomt_kdc_client c;
		struct iomt_kdc_tgs_req tr;
		struct iomt_kdc_ap_result ar;

		iomt_kdc_device_key(v->kkdc, v->cname, v->salt_c, k);
		ASSERT_MEMEQ(k, v->k_c, 16);
		iomt_kdc_device_key(v->kkdc, v->sname, v->salt_s, k);
		ASSERT_MEMEQ(k, v->k_s, 16);
		iomt_kdc_tgs_key(v->kkdc, v->salt_tgs, k);
		ASSERT_MEMEQ(k, v->k_tgs, 16);
		iomt_kdc_key_check(v->k_c, kcv);
		ASSERT_MEMEQ(kcv, v->kcv_c, 8);
		iomt_kdc_key_check(v->k_s, kcv);
		ASSERT_MEMEQ(kcv, v->kcv_s, 8);
		iomt_kdc_key_check(v->k_tgs, kcv);
		ASSERT_MEMEQ(kcv, v->kcv_tgs, 8);

		ASSERT_EQ(iomt_kdc_client_init(&c, v->cname, kc, v->k_c), IOMT_KDC_OK);
		ASSERT_EQ(iomt_kdc_client_as_req(&c, t_as, v->rnd_as_req, m), IOMT_KDC_OK);
		ASSERT_MEMEQ(m, v->as_req, 65);
		memcpy(g.cname, v->cname, 16);
		memcpy(g.patient, v->cpatient, 16);
		ASSERT_EQ(iomt_kdc_as_reply(v->k_c, v->as_req, 65, SKEW, &g, v->rnd_as_rep, m),
			  IOMT_KDC_OK);
		ASSERT_MEMEQ(m, v->as_rep, 167);
		ASSERT_EQ(iomt_kdc_client_recv(&c, IOMT_MSG_KDC_AS_REP, v->as_rep, 167), IOMT_KDC_OK);

		ASSERT_EQ(iomt_kdc_client_tgs_req(&c, v->sname, t_tgs, v->rnd_tgs_req, m),
			  IOMT_KDC_OK);
		ASSERT_MEMEQ(m, v->tgs_req, 187);
		ASSERT_EQ(iomt_kdc_tgs_req_open(v->k_tgs, kt, v->tgs_req, 187, t_tgs, SKEW, &tr),
			  IOMT_KDC_OK);
		ASSERT_EQ(iomt_kdc_policy(tr.tgt.cname, tr.tgt.ckind, tr.tgt.patient, tr.target,
					  v->skind[0], v->spatient, pat), IOMT_KDC_OK);
		ASSERT_MEMEQ(pat, v->patient, 16);
		g.skey = v->k_s;
		g.sname = v->sname;
		g.skvno = ks;
		memcpy(g.patient, pat, 16);
		g.now_ms = t_tgs;
		g.lifetime_s = iomt_load_be32(v->life_tkt);
		ASSERT_EQ(iomt_kdc_tgs_reply(&tr, &g, v->rnd_tgs_rep, m), IOMT_KDC_OK);
		ASSERT_MEMEQ(m, v->tgs_rep, 167);
		ASSERT_EQ(iomt_kdc_client_recv(&c, IOMT_MSG_KDC_TGS_REP, v->tgs_rep, 167),
			  IOMT_KDC_OK);

		ASSERT_EQ(iomt_kdc_client_ap_req(&c, t_ap, v->rnd_ap_req, m), IOMT_KDC_OK);
		ASSERT_MEMEQ(m, v->ap_req, 163);
		ASSERT_EQ(iomt_kdc_ap_verify(v->k_s, v->sname, ks, v->ap_req, 163, t_ap, SKEW, &ar),
			  IOMT_KDC_OK);
		ASSERT_MEMEQ(ar.session, v->session, 16);
		ASSERT_EQ(iomt_kdc_ap_reply(&ar, v->rnd_ap_rep, m), IOMT_KDC_OK);
		ASSERT_MEMEQ(m, v->ap_rep, 37);
		ASSERT_EQ(iomt_kdc_client_recv(&c, IOMT_MSG_KDC_AP_REP, v->ap_rep, 37), IOMT_KDC_OK);
		ASSERT_MEMEQ(c.session, v->session, 16);
		iomt_kdc_err_build(IOMT_KDC_ERR_POLICY, v->rnd_tgs_req, t_tgs, m);
		ASSERT_MEMEQ(m, v->err, 17);
	}
}

/* Every message rebuilt from the inputs with OpenSSL only, per the
 * documented layouts: the file is right, not merely self-consistent. */
TEST(vectors_rebuilt_with_openssl)
{
	size_t n = load_vectors(vs);

	for (size_t i = 0; i < n; i++) {
		const struct vec *v = &vs[i];
		const uint8_t *kctgs = v->rnd_as_rep, *kab = v->rnd_tgs_rep;
		struct cat in = { .n = 0 }, pt, m, tgt, tkt;
		uint8_t k[16], pat[16];

		cat_put(cat_put(&in, v->cname, 16), v->salt_c, 16);
		ossl_kmac(v->kkdc, 32, "iomt/kdc/device-key", in.b, in.n, k, 16);
		ASSERT_MEMEQ(k, v->k_c, 16);
		in.n = 0;
		cat_put(cat_put(&in, v->sname, 16), v->salt_s, 16);
		ossl_kmac(v->kkdc, 32, "iomt/kdc/device-key", in.b, in.n, k, 16);
		ASSERT_MEMEQ(k, v->k_s, 16);
		ossl_kmac(v->kkdc, 32, "iomt/kdc/tgs-key", v->salt_tgs, 16, k, 16);
		ASSERT_MEMEQ(k, v->k_tgs, 16);
		ossl_kmac(v->k_c, 16, "iomt/kdc/kcv", NULL, 0, k, 8);
		ASSERT_MEMEQ(k, v->kcv_c, 8);
		ossl_kmac(v->k_s, 16, "iomt/kdc/kcv", NULL, 0, k, 8);
		ASSERT_MEMEQ(k, v->kcv_s, 8);
		ossl_kmac(v->k_tgs, 16, "iomt/kdc/kcv", NULL, 0, k, 8);
		ASSERT_MEMEQ(k, v->kcv_tgs, 8);
		/* the policy's patient: the non-cloud side's */
		memcpy(pat, v->ckind[0] != IOMT_KDC_KIND_CLOUD ? v->cpatient : v->spatient, 16);
		ASSERT_MEMEQ(pat, v->patient, 16);

		/* AS_REQ = cname || kvno || nonce || Box(K_C, 1, first 28, t_as) */
		m.n = 0;
		cat_put(cat_put(cat_put(&m, v->cname, 16), v->kvno_c, 4), v->rnd_as_req, 8);
		pt.n = 0;
		cat_put(&pt, v->t_as, 8);
		ossl_box(v->k_c, v->rnd_as_req + 8, IOMT_KDC_USE_PA_TS, m.b, 28, pt.b, pt.n,
			 m.b + 28);
		ASSERT_MEMEQ(m.b, v->as_req, 65);

		/* TGT = "krbtgt" || kvno_tgs || Box(K_TGS, 2, first 20, K_C,TGS || cname ||
		 * ckind || cpatient || t_as || life_tgt) */
		tgt.n = 0;
		cat_put(cat_put(&tgt, iomt_kdc_tgs_name, 16), v->kvno_tgs, 4);
		pt.n = 0;
		cat_put(cat_put(cat_put(cat_put(&pt, kctgs, 16), v->cname, 16), v->ckind, 1),
			v->cpatient, 16);
		cat_put(cat_put(&pt, v->t_as, 8), v->life_tgt, 4);
		ossl_box(v->k_tgs, v->rnd_as_rep + 16, IOMT_KDC_USE_TICKET, tgt.b, 20, pt.b, pt.n,
			 tgt.b + 20);
		tgt.n = IOMT_KDC_TICKET_LEN;
		/* AS_REP = TGT || Box(K_C, 3, nonce || TGT, K_C,TGS || t_as || life_tgt) */
		m.n = 0;
		cat_put(cat_put(&m, v->rnd_as_req, 8), tgt.b, tgt.n);
		pt.n = 0;
		cat_put(cat_put(cat_put(&pt, kctgs, 16), v->t_as, 8), v->life_tgt, 4);
		ASSERT_MEMEQ(v->as_rep, tgt.b, 110);
		ossl_box(v->k_c, v->rnd_as_rep + 29, IOMT_KDC_USE_AS_PART, m.b, m.n, pt.b, pt.n,
			 m.b);
		ASSERT_MEMEQ(v->as_rep + 110, m.b, 57);

		/* TGS_REQ = sname || nonce || TGT || Box(K_C,TGS, 4, first 134, cname || t_tgs) */
		m.n = 0;
		cat_put(cat_put(cat_put(&m, v->sname, 16), v->rnd_tgs_req, 8), tgt.b, 110);
		pt.n = 0;
		cat_put(cat_put(&pt, v->cname, 16), v->t_tgs, 8);
		ossl_box(kctgs, v->rnd_tgs_req + 8, IOMT_KDC_USE_TGS_AUTH, m.b, 134, pt.b, pt.n,
			 m.b + 134);
		ASSERT_MEMEQ(m.b, v->tgs_req, 187);

		/* ticket = sname || kvno_s || Box(K_S, 2, first 20, K_AB || cname || ckind ||
		 * patient || t_tgs || life_tkt) */
		tkt.n = 0;
		cat_put(cat_put(&tkt, v->sname, 16), v->kvno_s, 4);
		pt.n = 0;
		cat_put(cat_put(cat_put(cat_put(&pt, kab, 16), v->cname, 16), v->ckind, 1), pat, 16);
		cat_put(cat_put(&pt, v->t_tgs, 8), v->life_tkt, 4);
		ossl_box(v->k_s, v->rnd_tgs_rep + 16, IOMT_KDC_USE_TICKET, tkt.b, 20, pt.b, pt.n,
			 tkt.b + 20);
		ASSERT_MEMEQ(v->tgs_rep, tkt.b, 110);
		/* TGS_REP = ticket || Box(K_C,TGS, 5, nonce || ticket, K_AB || t_tgs || life) */
		m.n = 0;
		cat_put(cat_put(&m, v->rnd_tgs_req, 8), tkt.b, 110);
		pt.n = 0;
		cat_put(cat_put(cat_put(&pt, kab, 16), v->t_tgs, 8), v->life_tkt, 4);
		ossl_box(kctgs, v->rnd_tgs_rep + 29, IOMT_KDC_USE_TGS_PART, m.b, m.n, pt.b, pt.n,
			 m.b);
		ASSERT_MEMEQ(v->tgs_rep + 110, m.b, 57);

		/* AP_REQ = ticket || Box(K_AB, 6, ticket, cname || t_ap) */
		m.n = 0;
		cat_put(&m, tkt.b, 110);
		pt.n = 0;
		cat_put(cat_put(&pt, v->cname, 16), v->t_ap, 8);
		ossl_box(kab, v->rnd_ap_req, IOMT_KDC_USE_AP_AUTH, m.b, 110, pt.b, pt.n, m.b + 110);
		ASSERT_MEMEQ(m.b, v->ap_req, 163);
		/* AP_REP = Box(K_AB, 7, the authenticator's box nonce, t_ap) */
		ossl_box(kab, v->rnd_ap_rep, IOMT_KDC_USE_AP_REP, v->rnd_ap_req, 13, v->t_ap, 8,
			 m.b);
		ASSERT_MEMEQ(m.b, v->ap_rep, 37);
		/* session = KMAC128(K_AB, box nonce || t_ap, 128, "iomt/kdc/ap-session") */
		in.n = 0;
		cat_put(cat_put(&in, v->rnd_ap_req, 13), v->t_ap, 8);
		ossl_kmac(kab, 16, "iomt/kdc/ap-session", in.b, in.n, k, 16);
		ASSERT_MEMEQ(k, v->session, 16);
		/* ERR = POLICY || the TGS_REQ's nonce || t_tgs */
		ASSERT_EQ(v->err[0], IOMT_KDC_ERR_POLICY);
		ASSERT_MEMEQ(v->err + 1, v->rnd_tgs_req, 8);
		ASSERT_MEMEQ(v->err + 9, v->t_tgs, 8);
	}
}

/* The section of docs/PROTOCOL.md about the KDC: from "## 5." to the next
 * "## " heading. */
static const char *doc_section(const char **end)
{
	const char *doc = slurp("docs/PROTOCOL.md"), *s = strstr(doc, "\n## 5. "), *e;

	ASSERT_NONNULL(s);
	e = strstr(s + 1, "\n## ");
	*end = e ? e : s + strlen(s);
	return s;
}

static const struct {
	const char *name;
	uint8_t type;
	size_t len;
} msgs[] = {
	{ "KDC_AS_REQ", IOMT_MSG_KDC_AS_REQ, IOMT_KDC_AS_REQ_LEN },
	{ "KDC_AS_REP", IOMT_MSG_KDC_AS_REP, IOMT_KDC_AS_REP_LEN },
	{ "KDC_TGS_REQ", IOMT_MSG_KDC_TGS_REQ, IOMT_KDC_TGS_REQ_LEN },
	{ "KDC_TGS_REP", IOMT_MSG_KDC_TGS_REP, IOMT_KDC_TGS_REP_LEN },
	{ "KDC_AP_REQ", IOMT_MSG_KDC_AP_REQ, IOMT_KDC_AP_REQ_LEN },
	{ "KDC_AP_REP", IOMT_MSG_KDC_AP_REP, IOMT_KDC_AP_REP_LEN },
	{ "KDC_ERR", IOMT_MSG_KDC_ERR, IOMT_KDC_ERR_LEN },
};

/* The message table's rows "| 0x20 | KDC_AS_REQ | ... | 65 |": the type,
 * the name and the size must be the constants, each message once. */
TEST(doc_message_table_matches_constants)
{
	const char *end, *s = doc_section(&end);

	for (size_t m = 0; m < sizeof(msgs) / sizeof(msgs[0]); m++) {
		char row[64];
		const char *p, *q;
		int cells = 0, found = 0;
		unsigned long size = 0;

		snprintf(row, sizeof(row), "| 0x%02x | %s |", msgs[m].type, msgs[m].name);
		for (p = s; (p = strstr(p, row)) && p < end; p++) {
			found++;
			/* the size is the fourth cell */
			for (q = p + 1; *q && *q != '\n' && cells < 4; q++)
				if (*q == '|' && ++cells == 3)
					size = strtoul(q + 1, NULL, 10);
		}
		if (found != 1)
			TH_LOG("%s: %d rows in the message table", row, found);
		ASSERT_EQ(found, 1);
		ASSERT_EQ(size, msgs[m].len);
		ASSERT_EQ(iomt_wire_fixed_len(msgs[m].type), msgs[m].len);
	}
}

/* Each message's layout table (after "#### KDC_X"): offsets contiguous from
 * 0, lengths adding up to the constant. */
TEST(doc_layout_tables_add_up)
{
	const char *end, *s = doc_section(&end);

	for (size_t m = 0; m < sizeof(msgs) / sizeof(msgs[0]); m++) {
		char head[64];
		const char *p;
		unsigned long off = 0;
		int rows = 0;

		snprintf(head, sizeof(head), "\n#### %s ", msgs[m].name);
		p = strstr(s, head);
		if (!p || p > end)
			TH_LOG("no '%s' heading in §5", head + 1);
		ASSERT_TRUE(p && p < end);
		p = strstr(p, "\n| offset |");
		ASSERT_NONNULL(p);
		p = strchr(p + 1, '\n');	/* header */
		p = strchr(p + 1, '\n');	/* separator */
		ASSERT_NONNULL(p);
		for (p++; *p == '|'; p = strchr(p, '\n') + 1) {
			char *q;
			unsigned long o = strtoul(p + 1, &q, 10), l;

			ASSERT_EQ(*skip_ws(q), '|');
			l = strtoul(skip_ws(q) + 1, NULL, 10);
			if (o != off)
				TH_LOG("%s: row at %lu, expected %lu", msgs[m].name, o, off);
			ASSERT_EQ(o, off);
			ASSERT_GT(l, 0);
			off += l;
			rows++;
		}
		ASSERT_GE(rows, 2);
		ASSERT_EQ(off, msgs[m].len);
	}
}

static int hex_token(const char *t, size_t n)
{
	if (n == 0 || n % 2)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
			return 0;
	return 1;
}

/* The worked vector of §5: its first ``` block after "Worked test vector"
 * holds lines "field hex..." and continuation lines of hex; every field
 * named must equal vector 0 of tests/vectors/kdc.json. */
TEST(doc_worked_vector_is_vector_0)
{
	static char doc[64 * 1024];
	static uint8_t val[400];
	const char *end, *s = doc_section(&end), *p, *blk;
	size_t vlen = 0, nfields = 0;
	int cur = -1;

	ASSERT_LT((size_t)(end - s), sizeof(doc));
	memcpy(doc, s, (size_t)(end - s));
	doc[end - s] = '\0';
	load_vectors(vs);
	p = strstr(doc, "Worked test vector");
	ASSERT_NONNULL(p);
	blk = strstr(p, "```\n");
	ASSERT_NONNULL(blk);
	blk += 4;
	end = strstr(blk, "```");
	ASSERT_NONNULL(end);
	for (p = blk; p <= end; p = strchr(p, '\n') + 1) {
		const char *t = skip_ws(p), *eol = strchr(p, '\n');
		int cont;

		if (p == end || t >= eol || !hex_token(t, strcspn(t, " \n"))) {
			/* a field ends here */
			if (cur >= 0) {
				ASSERT_EQ(vlen, fields[cur].len);
				ASSERT_MEMEQ(val, (uint8_t *)&vs[0] + fields[cur].off, vlen);
				nfields++;
			}
			cur = -1;
			vlen = 0;
			if (p == end || t >= eol)
				continue;
			cont = 0;
		} else {
			cont = 1;
		}
		while (t < eol) {
			size_t n = strcspn(t, " \n");
			char tok[80];

			ASSERT_LT(n, sizeof(tok));
			memcpy(tok, t, n);
			tok[n] = '\0';
			if (!cont) {
				cur = field_index(tok);
				if (cur < 0)
					TH_LOG("worked vector: unknown field '%s'", tok);
				ASSERT_GE(cur, 0);
				cont = 1;
			} else if (hex_token(tok, n)) {
				ASSERT_LE(vlen + n / 2, sizeof(val));
				ASSERT_EQ(tu_hex(tok, val + vlen, n / 2), n / 2);
				vlen += n / 2;
			}
			t = skip_ws(t + n);
			if (t > eol)
				t = eol;
		}
	}
	TH_LOG("%zu fields of vector 0 quoted in docs/PROTOCOL.md", nfields);
	ASSERT_GE(nfields, 12);
}
