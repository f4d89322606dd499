/* SPDX-License-Identifier: MIT */
/* rt_evlog: chain and heads, offline verification with precise diagnostics
 * (every flipped bit, removed, reordered, rewritten, unsigned, foreign-key
 * records), torn tails repaired on open but tampering never, exports, the
 * docs/EVLOG.md test vector, and error paths. The file format is re-derived
 * here from docs/EVLOG.md, independently of the library. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <openssl/ec.h>
#include <openssl/pem.h>

#include "eckey.h"
#include "harness.h"
#include "lib/rt_evlog.h"
#include "lib/rt_log.h"
#include "rt_test.h"

enum {
	HDR = 132,		/* header */
	HEAD = 125,		/* head frame */
	ENTRY = 66,		/* entry frame without payload */
};

static const uint64_t vec_t0 = 1700000000000ULL;

FIXTURE(evlog) {
	char dir[64];
	char path[128];
	char other[128];
	char log[128];
	EVP_PKEY *key, *key_b, *pub, *pub_b;
	struct rt_evlog *ev;
	struct rt_evlog_report rep;
	uint64_t clock;
	char err[256];
};

FIXTURE_SETUP(evlog)
{
	ASSERT_EQ(rt_test_mkdtemp(self->dir, sizeof(self->dir), "evlog"), 0);
	snprintf(self->path, sizeof(self->path), "%s/evidence.log", self->dir);
	snprintf(self->other, sizeof(self->other), "%s/export.log", self->dir);
	snprintf(self->log, sizeof(self->log), "%s/test.log", self->dir);
	rt_log_init("test-evlog");
	ASSERT_EQ(rt_log_set_file(self->log), 0);
	self->key = EVP_EC_gen("P-256");
	self->key_b = EVP_EC_gen("P-256");
	ASSERT_TRUE(self->key && self->key_b);
	self->pub = tu_pub_only(self->key);
	self->pub_b = tu_pub_only(self->key_b);
	ASSERT_TRUE(self->pub && self->pub_b);
	self->clock = vec_t0;
}

FIXTURE_TEARDOWN(evlog)
{
	rt_evlog_close(self->ev);
	EVP_PKEY_free(self->key);
	EVP_PKEY_free(self->key_b);
	EVP_PKEY_free(self->pub);
	EVP_PKEY_free(self->pub_b);
	rt_log_set_file(NULL);
	rt_test_rmtree(self->dir);
}

/* ---- helpers ---- */

static uint64_t fixed_clock(void *arg)
{
	uint64_t *t = arg;

	return (*t)++;
}

static void open_opts(FIXTURE_DATA(evlog) *self, const struct rt_evlog_opts *o)
{
	struct rt_evlog_opts def = { .now_ms = fixed_clock, .now_arg = &self->clock };

	if (!o)
		o = &def;
	ASSERT_EQ(rt_evlog_open(self->path, self->key, o, &self->ev, self->err,
				sizeof(self->err)), 0);
}

static void reopen(FIXTURE_DATA(evlog) *self)
{
	ASSERT_EQ(rt_evlog_close(self->ev), 0);
	self->ev = NULL;
	open_opts(self, NULL);
}

static void close_log(FIXTURE_DATA(evlog) *self)
{
	ASSERT_EQ(rt_evlog_close(self->ev), 0);
	self->ev = NULL;
}

static uint64_t add(FIXTURE_DATA(evlog) *self, uint8_t type, const char *s)
{
	uint64_t seq = 0;

	ASSERT_EQ(rt_evlog_append(self->ev, type, s, strlen(s), &seq), 0);
	return seq;
}

/* A closed log of n entries "entry-<i>", each signed. */
static void make_log(FIXTURE_DATA(evlog) *self, int n)
{
	char p[32];

	open_opts(self, NULL);
	for (int i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "entry-%d", i);
		ASSERT_EQ(add(self, RT_EVLOG_NOTE, p), (uint64_t)i);
	}
	close_log(self);
}

static enum rt_evlog_status verify_with(FIXTURE_DATA(evlog) *self, const char *path,
					EVP_PKEY *pub)
{
	int r = rt_evlog_verify_file(path, pub, &self->rep);

	EXPECT_EQ(r == 0, self->rep.status == RT_EVLOG_OK);
	return self->rep.status;
}

static enum rt_evlog_status verify(FIXTURE_DATA(evlog) *self)
{
	return verify_with(self, self->path, self->pub);
}

/* Whole files, behind the library's back. */
static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	long n;

	ASSERT_NONNULL(f);
	ASSERT_EQ(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	b = malloc((size_t)n + 1);
	ASSERT_NONNULL(b);
	ASSERT_EQ(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

static void spill(const char *path, const uint8_t *b, size_t len)
{
	FILE *f = fopen(path, "wb");

	ASSERT_NONNULL(f);
	ASSERT_EQ(fwrite(b, 1, len, f), len);
	ASSERT_EQ(fclose(f), 0);
}

static void append_raw(const char *path, const uint8_t *b, size_t len)
{
	FILE *f = fopen(path, "ab");

	ASSERT_NONNULL(f);
	ASSERT_EQ(fwrite(b, 1, len, f), len);
	ASSERT_EQ(fclose(f), 0);
}

static int log_has(FIXTURE_DATA(evlog) *self, const char *what)
{
	static char buf[1 << 16];

	ASSERT_GE(rt_test_read(self->log, buf, sizeof(buf)), 0);
	return strstr(buf, what) != NULL;
}

static int count_cut_files(FIXTURE_DATA(evlog) *self)
{
	char cmd[256], out[64];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls %s | grep -c '\\.cut-'", self->dir);
	p = popen(cmd, "r");
	ASSERT_NONNULL(p);
	if (fgets(out, sizeof(out), p))
		n = atoi(out);
	pclose(p);
	return n;
}

/* ---- the format, as docs/EVLOG.md gives it ---- */

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void sha256_2(const void *a, size_t an, const void *b, size_t bn, uint8_t out[32])
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();

	ASSERT_NONNULL(m);
	ASSERT_EQ(EVP_DigestInit_ex(m, EVP_sha256(), NULL), 1);
	ASSERT_EQ(EVP_DigestUpdate(m, a, an), 1);
	if (bn)
		ASSERT_EQ(EVP_DigestUpdate(m, b, bn), 1);
	ASSERT_EQ(EVP_DigestFinal_ex(m, out, NULL), 1);
	EVP_MD_CTX_free(m);
}

/* check = SHA-256("iomt/evlog/v1/frame" | kind | body_len | body)[0..8),
 * written behind the body of the frame at f. */
static void seal(uint8_t *f)
{
	static const char label[] = "iomt/evlog/v1/frame";
	uint32_t blen = get32(f + 1);
	uint8_t *msg = malloc(sizeof(label) - 1 + 5 + blen), h[32];

	ASSERT_NONNULL(msg);
	memcpy(msg, label, sizeof(label) - 1);
	memcpy(msg + sizeof(label) - 1, f, 5 + blen);
	sha256_2(msg, sizeof(label) - 1 + 5 + blen, NULL, 0, h);
	free(msg);
	memcpy(f + 5 + blen, h, 8);
}

/* An entry frame (ENTRY + len bytes into f); its h into h. */
static void entry_frame(uint8_t *f, const uint8_t prev[32], uint64_t seq, uint64_t t,
			uint8_t type, const void *p, uint32_t len, uint8_t h[32])
{
	uint8_t *b = f + 5;
	uint8_t *msg = malloc(13 + 32 + 21 + len);

	ASSERT_NONNULL(msg);
	f[0] = 'E';
	put32(f + 1, 53 + len);
	put64(b, seq);
	put64(b + 8, t);
	b[16] = type;
	put32(b + 17, len);
	memcpy(b + 21, p, len);
	memcpy(msg, "iomt/evlog/v1", 13);
	memcpy(msg + 13, prev, 32);
	memcpy(msg + 45, b, 21 + len);
	sha256_2(msg, 13 + 32 + 21 + len, NULL, 0, h);
	free(msg);
	memcpy(b + 21 + len, h, 32);
	seal(f);
}

/* ECDSA P-256 SHA-256 over label | a | b, as r | s. */
static void sign_rs(EVP_PKEY *k, const char *label, const uint8_t *a, size_t an,
		    const uint8_t *b, size_t bn, uint8_t sig[64])
{
	uint8_t msg[256], der[80];
	size_t n = strlen(label), dlen = sizeof(der);
	const unsigned char *p = der;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	ECDSA_SIG *s;

	ASSERT_LE(n + an + bn, sizeof(msg));
	memcpy(msg, label, n);
	memcpy(msg + n, a, an);
	if (bn)
		memcpy(msg + n + an, b, bn);
	ASSERT_EQ(EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, k), 1);
	ASSERT_EQ(EVP_DigestSign(m, der, &dlen, msg, n + an + bn), 1);
	EVP_MD_CTX_free(m);
	s = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
	ASSERT_NONNULL(s);
	ASSERT_EQ(BN_bn2binpad(ECDSA_SIG_get0_r(s), sig, 32), 32);
	ASSERT_EQ(BN_bn2binpad(ECDSA_SIG_get0_s(s), sig + 32, 32), 32);
	ECDSA_SIG_free(s);
}

static int verify_rs(EVP_PKEY *k, const char *label, const uint8_t *a, size_t an,
		     const uint8_t *b, size_t bn, const uint8_t sig[64])
{
	uint8_t msg[256];
	size_t n = strlen(label);
	unsigned char *der = NULL;
	ECDSA_SIG *s = ECDSA_SIG_new();
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int dlen, ok;

	ASSERT_LE(n + an + bn, sizeof(msg));
	memcpy(msg, label, n);
	memcpy(msg + n, a, an);
	if (bn)
		memcpy(msg + n + an, b, bn);
	ASSERT_EQ(ECDSA_SIG_set0(s, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL)), 1);
	dlen = i2d_ECDSA_SIG(s, &der);
	ASSERT_GT(dlen, 0);
	ASSERT_EQ(EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, k), 1);
	ok = EVP_DigestVerify(m, der, (size_t)dlen, msg, n + an + bn) == 1;
	OPENSSL_free(der);
	ECDSA_SIG_free(s);
	EVP_MD_CTX_free(m);
	return ok;
}

/* A head frame (HEAD bytes into f) over (seq, t, h), signed by k. */
static void head_frame(uint8_t *f, EVP_PKEY *k, const uint8_t log_id[16], uint64_t seq,
		       uint64_t t, const uint8_t h[32])
{
	uint8_t *b = f + 5;

	f[0] = 'H';
	put32(f + 1, 112);
	put64(b, seq);
	put64(b + 8, t);
	memcpy(b + 16, h, 32);
	sign_rs(k, "iomt/evlog/v1/head", log_id, 16, b, 48, b + 48);
	seal(f);
}

/* Offsets of every frame of a file: start[i], for i < *n. */
static void frames(const uint8_t *b, size_t len, size_t *start, int *n)
{
	size_t off = HDR;

	*n = 0;
	while (off < len) {
		start[(*n)++] = off;
		off += 13 + get32(b + off + 1);
	}
	ASSERT_EQ(off, len);
}

/* ---- the log works ---- */

TEST_F(evlog, append_verify_and_layout)
{
	struct rt_evlog_stats st;
	struct stat sb;

	open_opts(self, NULL);
	ASSERT_EQ(add(self, RT_EVLOG_CONSENT_REQUEST, "req"), 0);
	ASSERT_EQ(add(self, RT_EVLOG_DECISION, "{\"approve\":true}"), 1);
	ASSERT_EQ(add(self, RT_EVLOG_KEY_RELEASE, ""), 2);
	rt_evlog_stats(self->ev, &st);
	EXPECT_EQ(st.next_seq, 3);
	EXPECT_EQ(st.heads, 3);
	EXPECT_EQ(st.unsigned_entries, 0);
	EXPECT_EQ(st.cut_bytes, 0);
	EXPECT_NULL(st.cut_path);
	/* Every append is on disk, signed, before it returns: verify the live file. */
	ASSERT_EQ(verify(self), RT_EVLOG_OK);
	EXPECT_EQ(self->rep.entries, 3);
	EXPECT_EQ(self->rep.heads, 3);
	EXPECT_EQ(self->rep.signed_seq, 2);
	EXPECT_MEMEQ(self->rep.last_hash, st.last_hash, 32);
	EXPECT_MEMEQ(self->rep.log_id, st.log_id, 16);
	ASSERT_EQ(stat(self->path, &sb), 0);
	EXPECT_EQ(sb.st_mode & 0777, 0600);
	EXPECT_EQ(sb.st_size, HDR + 3 * (ENTRY + HEAD) + 3 + 16);
	EXPECT_EQ(self->rep.file_len, (uint64_t)sb.st_size);
}

TEST_F(evlog, reopen_continues_the_chain)
{
	struct rt_evlog_stats st;

	make_log(self, 3);
	open_opts(self, NULL);
	rt_evlog_stats(self->ev, &st);
	EXPECT_EQ(st.next_seq, 3);
	EXPECT_EQ(st.heads, 3);
	ASSERT_EQ(add(self, RT_EVLOG_NOTE, "entry-3"), 3);
	reopen(self);
	ASSERT_EQ(add(self, RT_EVLOG_NOTE, "entry-4"), 4);
	close_log(self);
	ASSERT_EQ(verify(self), RT_EVLOG_OK);
	EXPECT_EQ(self->rep.entries, 5);
	EXPECT_EQ(self->rep.heads, 5);
	/* Nothing was repaired on the way. */
	EXPECT_EQ(count_cut_files(self), 0);
}

struct seen {
	int entries, heads;
	uint64_t last_seq;
	char text[256];
	int stop_after;
};

static int collect(const struct rt_evlog_item *it, void *arg)
{
	struct seen *s = arg;

	if (it->kind == RT_EVLOG_HEAD) {
		s->heads++;
		return 0;
	}
	if (it->seq != (uint64_t)s->entries)
		return -1000;
	s->entries++;
	s->last_seq = it->seq;
	strncat(s->text, (const char *)it->payload, it->len);
	strcat(s->text, ";");
	return s->stop_after && s->entries == s->stop_after ? 7 : 0;
}

TEST_F(evlog, walk_shows_entries_in_order)
{
	struct seen s = { 0 };

	make_log(self, 4);
	ASSERT_EQ(rt_evlog_walk_file(self->path, self->pub, collect, &s, &self->rep), 0);
	EXPECT_EQ(s.entries, 4);
	EXPECT_EQ(s.heads, 4);
	EXPECT_STREQ(s.text, "entry-0;entry-1;entry-2;entry-3;");
	/* The callback's non-zero stops the walk and comes back. */
	memset(&s, 0, sizeof(s));
	s.stop_after = 2;
	EXPECT_EQ(rt_evlog_walk_file(self->path, self->pub, collect, &s, &self->rep), 7);
	EXPECT_EQ(s.entries, 2);
}

/* docs/EVLOG.md "Test vector": three entries at fixed times. */
TEST_F(evlog, test_vector)
{
	static const char *const want_h[] = {
		"8b1828c58c89f1efd5f72c571340a657dbcb86e86d4b5a4ca95c990551e345c4",
		"dec35052f89727b163dfc8eb7a8d8d259c75d0648e5f939ee78d8b8794c2266c",
		"e4601621041ee4391b18d8e0a1568a5a85808cbfb688a9391b615d664b9ce32d",
	};
	static const char frame0[] =
		"450000004400000000000000000000018bcfe56800010000000f636f6e73656e742d7265"
		"7175657374" "8b1828c58c89f1efd5f72c571340a657dbcb86e86d4b5a4ca95c990551e3"
		"45c4" "c5747637a7d32644";
	static const char *const payload[] = { "consent-request",
					       "{\"approve\":true,\"by\":\"prompt\"}", "" };
	struct rt_evlog_opts o = { .sign_every = RT_EVLOG_SIGN_ON_DEMAND,
				   .now_ms = fixed_clock, .now_arg = &self->clock };
	uint8_t h[32] = { 0 }, want[32], f0[81], *b;
	size_t len, off = HDR;

	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(rt_evlog_chain_hash(h, (uint64_t)i, vec_t0 + (uint64_t)i,
					      (uint8_t)(i + 1), payload[i], strlen(payload[i]), h),
			  0);
		ASSERT_EQ(tu_hex(want_h[i], want, sizeof(want)), 32);
		EXPECT_MEMEQ(h, want, 32);
	}
	/* The same through a real file: the clock ticks once at creation, then
	 * once per entry (no heads until close), so entry i is at vec_t0 + i. */
	self->clock = vec_t0 - 1;
	ASSERT_EQ(rt_evlog_open(self->path, self->key, &o, &self->ev, NULL, 0), 0);
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(rt_evlog_append(self->ev, (uint8_t)(i + 1), payload[i],
					  strlen(payload[i]), NULL), 0);
	close_log(self);
	b = slurp(self->path, &len);
	ASSERT_EQ(tu_hex(frame0, f0, sizeof(f0)), sizeof(f0));
	ASSERT_MEMEQ(b + HDR, f0, sizeof(f0));
	for (int i = 0; i < 3; i++) {
		size_t plen = strlen(payload[i]);

		ASSERT_EQ(tu_hex(want_h[i], want, sizeof(want)), 32);
		EXPECT_MEMEQ(b + off + 5 + 21 + plen, want, 32);
		off += ENTRY + plen;
	}
	/* One head, at close, over entry 2. */
	ASSERT_EQ(len, off + HEAD);
	EXPECT_EQ(b[off], 'H');
	EXPECT_EQ(get64(b + off + 5), 2);
	EXPECT_MEMEQ(b + off + 5 + 16, want, 32);
	free(b);
	ASSERT_EQ(verify(self), RT_EVLOG_OK);
}

/* Header fields, key id and both kinds of signature, checked by this file's
 * own reading of docs/EVLOG.md. */
TEST_F(evlog, file_matches_the_documented_format)
{
	uint8_t *b, pt[65], id[32], h[32] = { 0 };
	size_t len, start[16], plen;
	int n;

	make_log(self, 2);
	b = slurp(self->path, &len);
	ASSERT_MEMEQ(b, "IOMTEVLG\0\0\0\1", 12);
	ASSERT_EQ(EVP_PKEY_get_octet_string_param(self->pub, "pub", pt, sizeof(pt), &plen), 1);
	ASSERT_EQ(plen, 65);
	sha256_2(pt, 65, NULL, 0, id);
	EXPECT_MEMEQ(b + 36, id, 32);
	EXPECT_EQ(get64(b + 28), vec_t0);
	EXPECT_TRUE(verify_rs(self->pub, "iomt/evlog/v1/file", b, 68, NULL, 0, b + 68));
	EXPECT_FALSE(verify_rs(self->pub_b, "iomt/evlog/v1/file", b, 68, NULL, 0, b + 68));
	frames(b, len, start, &n);
	ASSERT_EQ(n, 4);
	for (int i = 0; i < n; i++) {
		uint8_t *f = b + start[i], copy[256];

		memcpy(copy, f, 13 + get32(f + 1));
		seal(copy);
		EXPECT_MEMEQ(copy, f, 13 + get32(f + 1));
		if (i % 2 == 0) {
			uint8_t e[128], h2[32];

			EXPECT_EQ(f[0], 'E');
			entry_frame(e, h, get64(f + 5), get64(f + 13), f[21], f + 26,
				    get32(f + 22), h2);
			EXPECT_MEMEQ(e, f, ENTRY + get32(f + 22));
			memcpy(h, h2, 32);
		} else {
			EXPECT_EQ(f[0], 'H');
			EXPECT_EQ(get64(f + 5), (uint64_t)i / 2);
			EXPECT_MEMEQ(f + 21, h, 32);
			EXPECT_TRUE(verify_rs(self->pub, "iomt/evlog/v1/head", b + 12, 16, f + 5,
					      48, f + 53));
		}
	}
	free(b);
}

/* ---- tampering is found, and named ---- */

TEST_F_TIMEOUT(evlog, every_flipped_bit_fails_verification, 300)
{
	uint8_t *b;
	size_t len;
	int tried = 0;

	make_log(self, 2);
	b = slurp(self->path, &len);
	ASSERT_EQ(len, HDR + 2 * (ENTRY + 7 + HEAD));
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			b[i] ^= (uint8_t)(1u << bit);
			spill(self->path, b, len);
			if (rt_evlog_verify_file(self->path, self->pub, &self->rep) == 0 ||
			    self->rep.status == RT_EVLOG_OK) {
				TH_LOG("byte %zu bit %d flipped: still verifies", i, bit);
				ASSERT_TRUE(0);
			}
			b[i] ^= (uint8_t)(1u << bit);
			tried++;
		}
	}
	EXPECT_EQ(tried, (int)len * 8);
	spill(self->path, b, len);
	ASSERT_EQ(verify(self), RT_EVLOG_OK);
	free(b);
}

/* Where the flips land decides what is reported. */
TEST_F(evlog, flipped_bytes_are_named)
{
	uint8_t *b;
	size_t len, e1 = HDR + ENTRY + 7 + HEAD;

	make_log(self, 3);
	b = slurp(self->path, &len);
	struct { size_t off; enum rt_evlog_status st; uint64_t seq; } cases[] = {
		{ 0, RT_EVLOG_E_HEADER, RT_EVLOG_NO_SEQ },	/* magic */
		{ 11, RT_EVLOG_E_HEADER, RT_EVLOG_NO_SEQ },	/* version */
		{ 12, RT_EVLOG_E_BAD_SIGNATURE, RT_EVLOG_NO_SEQ }, /* log id */
		{ 40, RT_EVLOG_E_WRONG_KEY, RT_EVLOG_NO_SEQ },	/* key id */
		{ 100, RT_EVLOG_E_BAD_SIGNATURE, RT_EVLOG_NO_SEQ }, /* header sig */
		{ e1 + 30, RT_EVLOG_E_BAD_FRAME, 1 },		/* payload of entry 1 */
		{ e1 + 6, RT_EVLOG_E_BAD_FRAME, 1 },		/* seq of entry 1 */
		{ e1 + ENTRY + 7 + 60, RT_EVLOG_E_BAD_FRAME, 2 }, /* sig of head 1 */
		{ len - 1, RT_EVLOG_E_TORN_TAIL, 3 },		/* check of the last head */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		b[cases[i].off] ^= 0x40;
		spill(self->path, b, len);
		EXPECT_EQ(verify(self), cases[i].st);
		EXPECT_EQ(self->rep.seq, cases[i].seq);
		b[cases[i].off] ^= 0x40;
	}
	free(b);
}

TEST_F(evlog, removed_entry_is_a_gap)
{
	uint8_t *b, *c;
	size_t len, start[16];
	int n;

	make_log(self, 4);
	b = slurp(self->path, &len);
	c = malloc(len);
	frames(b, len, start, &n);
	ASSERT_EQ(n, 8);
	/* Entry 1 and its head taken out. */
	memcpy(c, b, start[2]);
	memcpy(c + start[2], b + start[4], len - start[4]);
	spill(self->path, c, len - (start[4] - start[2]));
	EXPECT_EQ(verify(self), RT_EVLOG_E_GAP);
	EXPECT_EQ(self->rep.seq, 1);
	EXPECT_EQ(self->rep.entries, 1);
	EXPECT_EQ(self->rep.offset, start[2]);
	/* Entry 1 alone taken out: its head now signs a missing entry. */
	memcpy(c, b, start[2]);
	memcpy(c + start[2], b + start[3], len - start[3]);
	spill(self->path, c, len - (start[3] - start[2]));
	EXPECT_EQ(verify(self), RT_EVLOG_E_GAP);
	EXPECT_EQ(self->rep.seq, 1);
	/* The last entry and head taken out leaves a shorter, sound log: only
	 * heads kept elsewhere show it (docs/EVLOG.md, "What it does not prove"). */
	spill(self->path, b, start[6]);
	EXPECT_EQ(verify(self), RT_EVLOG_OK);
	free(b);
	free(c);
}

TEST_F(evlog, swapped_or_duplicated_entries_are_reordered)
{
	uint8_t *b, *c;
	size_t len, start[16], pair;
	int n;

	make_log(self, 4);
	b = slurp(self->path, &len);
	c = malloc(len + 256);
	frames(b, len, start, &n);
	pair = start[4] - start[2]; /* all pairs are the same size */
	memcpy(c, b, len);
	memcpy(c + start[2], b + start[4], pair);
	memcpy(c + start[4], b + start[2], pair);
	spill(self->path, c, len);
	EXPECT_EQ(verify(self), RT_EVLOG_E_REORDER);
	EXPECT_EQ(self->rep.seq, 1);
	/* Entry 0 and its head replayed after themselves. */
	memcpy(c, b, start[2]);
	memcpy(c + start[2], b + start[0], pair);
	memcpy(c + start[2] + pair, b + start[2], len - start[2]);
	spill(self->path, c, len + pair);
	EXPECT_EQ(verify(self), RT_EVLOG_E_REORDER);
	EXPECT_EQ(self->rep.seq, 0);
	/* A head replayed right after itself. */
	memcpy(c, b, start[2]);
	memcpy(c + start[2], b + start[1], HEAD);
	memcpy(c + start[2] + HEAD, b + start[2], len - start[2]);
	spill(self->path, c, len + HEAD);
	EXPECT_EQ(verify(self), RT_EVLOG_E_HEAD_MISMATCH);
	EXPECT_EQ(self->rep.seq, 0);
	free(b);
	free(c);
}

/* Someone without the key rewrites an entry with good check values: the
 * chain, then the head, give it away. */
TEST_F(evlog, rewritten_entry_is_caught_by_chain_and_head)
{
	uint8_t *b, h0[32], h1[32], p[7];
	size_t len, start[16];
	int n;

	make_log(self, 3);
	b = slurp(self->path, &len);
	frames(b, len, start, &n);
	/* Payload changed, check value recomputed, stored hash kept. */
	b[start[2] + 26] = 'X';
	seal(b + start[2]);
	spill(self->path, b, len);
	EXPECT_EQ(verify(self), RT_EVLOG_E_HASH_MISMATCH);
	EXPECT_EQ(self->rep.seq, 1);
	/* Stored hash recomputed too: the head over entry 1 no longer matches. */
	memcpy(h0, b + start[0] + 5 + 21 + 7, 32);
	memcpy(p, b + start[2] + 26, sizeof(p));
	entry_frame(b + start[2], h0, 1, get64(b + start[2] + 13), RT_EVLOG_NOTE, p, 7, h1);
	spill(self->path, b, len);
	EXPECT_EQ(verify(self), RT_EVLOG_E_HEAD_MISMATCH);
	EXPECT_EQ(self->rep.seq, 1);
	EXPECT_EQ(self->rep.entries, 2);
	/* And open refuses it, leaving the file as it is. */
	EXPECT_EQ(rt_evlog_open(self->path, self->key, NULL, &self->ev, self->err,
				sizeof(self->err)), -EBADMSG);
	EXPECT_NULL(self->ev);
	EXPECT_TRUE(strstr(self->err, "head mismatch") != NULL);
	free(b);
	b = slurp(self->path, &len);
	EXPECT_EQ(b[start[2] + 26], 'X');
	free(b);
}

/* Bytes cut out of the middle are tampering, never a torn tail. */
TEST_F(evlog, bytes_removed_in_the_middle_are_tampering)
{
	uint8_t *b, *c, *after;
	size_t len, alen, start[16];
	int n;

	make_log(self, 4);
	b = slurp(self->path, &len);
	c = malloc(len);
	frames(b, len, start, &n);
	memcpy(c, b, start[2] + 20);
	memcpy(c + start[2] + 20, b + start[2] + 30, len - start[2] - 30);
	spill(self->path, c, len - 10);
	EXPECT_EQ(verify(self), RT_EVLOG_E_TRUNCATED);
	EXPECT_EQ(self->rep.seq, 1);
	EXPECT_EQ(self->rep.offset, start[2]);
	EXPECT_EQ(rt_evlog_open(self->path, self->key, NULL, &self->ev, self->err,
				sizeof(self->err)), -EBADMSG);
	after = slurp(self->path, &alen);
	ASSERT_EQ(alen, len - 10);
	EXPECT_MEMEQ(after, c, alen);
	EXPECT_EQ(count_cut_files(self), 0);
	/* The file cut in the middle of a record, with the rest kept after a
	 * gap of lost bytes, is the same. */
	memcpy(c, b, start[3] + 50);
	memcpy(c + start[3] + 50, b + start[5], len - start[5]);
	spill(self->path, c, start[3] + 50 + len - start[5]);
	EXPECT_EQ(verify(self), RT_EVLOG_E_TRUNCATED);
	free(after);
	free(b);
	free(c);
}

/* A crash during the last append leaves any prefix of its entry and head:
 * verify says torn tail; open saves the bytes, cuts them, and goes on. */
TEST_F_TIMEOUT(evlog, torn_tail_is_repaired_on_open, 120)
{
	uint8_t *full, *cut;
	size_t len, end2, clen;
	struct rt_evlog_stats st;
	struct stat sb;

	make_log(self, 2);
	full = slurp(self->path, &end2);
	free(full);
	open_opts(self, NULL);
	ASSERT_EQ(add(self, RT_EVLOG_NOTE, "the last one"), 2);
	close_log(self);
	full = slurp(self->path, &len);
	for (size_t at = end2 + 1; at < len; at++) {
		enum rt_evlog_status want = at == len - HEAD ? RT_EVLOG_E_UNSIGNED_TAIL
							      : RT_EVLOG_E_TORN_TAIL;

		spill(self->path, full, at);
		ASSERT_EQ(verify(self), want);
		EXPECT_EQ(self->rep.signed_len, end2);
		open_opts(self, NULL);
		rt_evlog_stats(self->ev, &st);
		ASSERT_EQ(st.next_seq, 2);
		ASSERT_EQ(st.cut_bytes, at - end2);
		ASSERT_NONNULL(st.cut_path);
		cut = slurp(st.cut_path, &clen);
		ASSERT_EQ(clen, at - end2);
		ASSERT_MEMEQ(cut, full + end2, clen);
		free(cut);
		ASSERT_EQ(stat(st.cut_path, &sb), 0);
		ASSERT_EQ(sb.st_mode & 0777, 0600);
		ASSERT_EQ(unlink(st.cut_path), 0);
		close_log(self);
		ASSERT_EQ(verify(self), RT_EVLOG_OK);
		ASSERT_EQ(self->rep.file_len, end2);
	}
	EXPECT_TRUE(log_has(self, "torn tail"));
	/* After a repair the chain goes on from entry 1. */
	open_opts(self, NULL);
	ASSERT_EQ(add(self, RT_EVLOG_NOTE, "again"), 2);
	close_log(self);
	ASSERT_EQ(verify(self), RT_EVLOG_OK);
	free(full);
}

/* The file grew but its blocks never reached the disk: zeros at the end. */
TEST_F(evlog, zero_filled_tail_is_repaired)
{
	static uint8_t zeros[4096];
	struct rt_evlog_stats st;

	make_log(self, 2);
	append_raw(self->path, zeros, sizeof(zeros));
	EXPECT_EQ(verify(self), RT_EVLOG_E_TORN_TAIL);
	EXPECT_EQ(self->rep.seq, 2);
	open_opts(self, NULL);
	rt_evlog_stats(self->ev, &st);
	EXPECT_EQ(st.cut_bytes, sizeof(zeros));
	EXPECT_EQ(count_cut_files(self), 1);
	close_log(self);
	EXPECT_EQ(verify(self), RT_EVLOG_OK);
}

/* The pages of one append reached the disk out of order: the head is
 * there, part of its entry is not. Still a torn tail, as only this log's
 * key makes a head for the very entry being appended. */
TEST_F(evlog, head_kept_entry_lost_is_a_torn_tail)
{
	uint8_t *b;
	size_t len, end2;
	struct rt_evlog_stats st;

	make_log(self, 2);
	b = slurp(self->path, &end2);
	free(b);
	open_opts(self, NULL);
	add(self, RT_EVLOG_NOTE, "lost in a crash");
	close_log(self);
	b = slurp(self->path, &len);
	memset(b + end2 + 20, 0, 20);
	spill(self->path, b, len);
	EXPECT_EQ(verify(self), RT_EVLOG_E_TORN_TAIL);
	EXPECT_EQ(self->rep.seq, 2);
	open_opts(self, NULL);
	rt_evlog_stats(self->ev, &st);
	EXPECT_EQ(st.cut_bytes, len - end2);
	EXPECT_EQ(st.next_seq, 2);
	close_log(self);
	EXPECT_EQ(verify(self), RT_EVLOG_OK);
	/* A head for another seq there is damage, not a crash. */
	b[len - HEAD + 12] ^= 1; /* its seq: 2 -> 3, check value redone */
	seal(b + len - HEAD);
	spill(self->path, b, len);
	EXPECT_EQ(verify(self), RT_EVLOG_E_BAD_FRAME);
	EXPECT_EQ(self->rep.offset, end2);
	free(b);
}

/* Appended without the key: an entry no head covers. */
TEST_F(evlog, entry_without_a_head_is_an_unsigned_tail)
{
	struct rt_evlog_opts adopt = { .sign_every = 4, .adopt_unsigned = 1 };
	uint8_t *b, f[ENTRY + 16], h[32];
	struct rt_evlog_stats st;
	size_t len;

	make_log(self, 3);
	b = slurp(self->path, &len);
	entry_frame(f, b + len - HEAD + 21, 3, vec_t0 + 99, RT_EVLOG_DECISION, "approve:yes",
		    11, h);
	append_raw(self->path, f, ENTRY + 11);
	EXPECT_EQ(verify(self), RT_EVLOG_E_UNSIGNED_TAIL);
	EXPECT_EQ(self->rep.seq, 3);
	EXPECT_EQ(self->rep.entries, 4); /* the chain itself is sound */
	EXPECT_EQ(self->rep.signed_seq, 2);
	/* The default open does not sign what it did not write: cut, kept aside. */
	open_opts(self, NULL);
	rt_evlog_stats(self->ev, &st);
	EXPECT_EQ(st.next_seq, 3);
	EXPECT_EQ(st.cut_bytes, ENTRY + 11);
	close_log(self);
	EXPECT_EQ(verify(self), RT_EVLOG_OK);
	EXPECT_EQ(self->rep.entries, 3);
	/* adopt_unsigned (for sign_every > 1 after a crash) signs it instead. */
	append_raw(self->path, f, ENTRY + 11);
	ASSERT_EQ(rt_evlog_open(self->path, self->key, &adopt, &self->ev, self->err,
				sizeof(self->err)), 0);
	rt_evlog_stats(self->ev, &st);
	EXPECT_EQ(st.next_seq, 4);
	EXPECT_EQ(st.unsigned_entries, 0);
	EXPECT_EQ(st.cut_bytes, 0);
	close_log(self);
	EXPECT_EQ(verify(self), RT_EVLOG_OK);
	EXPECT_EQ(self->rep.entries, 4);
	free(b);
}

TEST_F(evlog, head_signed_by_another_key_is_a_bad_signature)
{
	uint8_t *b, f[ENTRY + 16 + HEAD], h[32];
	size_t len;

	make_log(self, 3);
	b = slurp(self->path, &len);
	entry_frame(f, b + len - HEAD + 21, 3, vec_t0 + 99, RT_EVLOG_KEY_RELEASE, "k", 1, h);
	head_frame(f + ENTRY + 1, self->key_b, b + 12, 3, vec_t0 + 99, h);
	append_raw(self->path, f, ENTRY + 1 + HEAD);
	EXPECT_EQ(verify(self), RT_EVLOG_E_BAD_SIGNATURE);
	EXPECT_EQ(self->rep.seq, 3);
	EXPECT_EQ(self->rep.entries, 4);
	EXPECT_EQ(rt_evlog_open(self->path, self->key, NULL, &self->ev, self->err,
				sizeof(self->err)), -EBADMSG);
	/* The same head signed by the right key passes: the test built it right. */
	head_frame(f + ENTRY + 1, self->key, b + 12, 3, vec_t0 + 99, h);
	spill(self->path, b, len);
	append_raw(self->path, f, ENTRY + 1 + HEAD);
	EXPECT_EQ(verify(self), RT_EVLOG_OK);
	/* A head from another log (its log id) over the same chain does not. */
	b[12] ^= 1;
	head_frame(f + ENTRY + 1, self->key, b + 12, 3, vec_t0 + 99, h);
	b[12] ^= 1;
	spill(self->path, b, len);
	append_raw(self->path, f, ENTRY + 1 + HEAD);
	EXPECT_EQ(verify(self), RT_EVLOG_E_BAD_SIGNATURE);
	free(b);
}

TEST_F(evlog, wrong_public_key_is_named)
{
	make_log(self, 2);
	EXPECT_EQ(rt_evlog_verify_file(self->path, self->pub_b, &self->rep), -EKEYREJECTED);
	EXPECT_EQ(self->rep.status, RT_EVLOG_E_WRONG_KEY);
	EXPECT_EQ(rt_evlog_open(self->path, self->key_b, NULL, &self->ev, self->err,
				sizeof(self->err)), -EKEYREJECTED);
	EXPECT_TRUE(strstr(self->err, "wrong key") != NULL);
	EXPECT_EQ(verify(self), RT_EVLOG_OK);
}

/* ---- exports ---- */

TEST_F(evlog, export_then_verify_offline)
{
	uint8_t *a, *b;
	size_t alen, blen;
	struct stat sb;

	make_log(self, 3);
	ASSERT_EQ(rt_evlog_export(self->path, self->pub, self->other, &self->rep), 0);
	ASSERT_EQ(verify_with(self, self->other, self->pub), RT_EVLOG_OK);
	a = slurp(self->path, &alen);
	b = slurp(self->other, &blen);
	ASSERT_EQ(alen, blen);
	EXPECT_MEMEQ(a, b, alen);
	ASSERT_EQ(stat(self->other, &sb), 0);
	EXPECT_EQ(sb.st_mode & 0777, 0600);
	/* Never over an existing file. */
	EXPECT_EQ(rt_evlog_export(self->path, self->pub, self->other, &self->rep), -EEXIST);
	ASSERT_EQ(unlink(self->other), 0);
	/* From the open log, under its lock. */
	open_opts(self, NULL);
	add(self, RT_EVLOG_NOTE, "more");
	ASSERT_EQ(rt_evlog_export_log(self->ev, self->other), 0);
	EXPECT_EQ(verify_with(self, self->other, self->pub), RT_EVLOG_OK);
	EXPECT_EQ(self->rep.entries, 4);
	close_log(self);
	ASSERT_EQ(unlink(self->other), 0);
	/* A log that does not verify is not exported at all. */
	a[alen - 30] ^= 1;
	spill(self->path, a, alen);
	EXPECT_EQ(rt_evlog_export(self->path, self->pub, self->other, &self->rep), -EBADMSG);
	EXPECT_EQ(access(self->other, F_OK), -1);
	free(a);
	free(b);
}

TEST_F(evlog, export_json_lines)
{
	char *text = malloc(1 << 20), *line;
	FILE *f;
	int lines = 0;
	size_t len;

	open_opts(self, NULL);
	add(self, RT_EVLOG_CONSENT_REQUEST, "AB");
	add(self, RT_EVLOG_TYPE_USER + 1, "");
	close_log(self);
	f = fopen(self->other, "w");
	ASSERT_NONNULL(f);
	ASSERT_EQ(rt_evlog_export_json(self->path, self->pub, f, &self->rep), 0);
	fclose(f);
	ASSERT_GE(rt_test_read(self->other, text, 1 << 20), 0);
	len = strlen(text);
	ASSERT_GT(len, 0);
	for (line = text; (line = strchr(line, '\n')); line++)
		lines++;
	EXPECT_EQ(lines, 1 + 2 + 2);
	EXPECT_EQ(strncmp(text, "{\"evlog\":1,\"created_ms\":1700000000000,\"log_id\":\"", 48), 0);
	EXPECT_TRUE(strstr(text, "{\"rec\":\"entry\",\"seq\":0,\"time_ms\":1700000000001,"
				 "\"type\":1,\"type_name\":\"consent_request\",\"len\":2,"
				 "\"payload\":\"4142\",\"hash\":\"") != NULL);
	EXPECT_TRUE(strstr(text, "\"type\":65,\"type_name\":null,\"len\":0,\"payload\":\"\"")
		    != NULL);
	EXPECT_TRUE(strstr(text, "{\"rec\":\"head\",\"seq\":1,") != NULL);
	/* Not for a log that does not verify: nothing is written. */
	f = fopen(self->other, "w");
	ASSERT_EQ(rt_evlog_export_json(self->path, self->pub_b, f, &self->rep), -EKEYREJECTED);
	fclose(f);
	ASSERT_EQ(rt_test_read(self->other, text, 1 << 20), 0);
	free(text);
}

/* ---- sizes, signing schedule, keys ---- */

static int check_big(const struct rt_evlog_item *it, void *arg)
{
	size_t *n = arg;
	struct tu_rng r = { it->seq };
	uint8_t *want;
	int bad;

	if (it->kind != RT_EVLOG_ENTRY)
		return 0;
	want = malloc(it->len + 1);
	tu_fill(&r, want, it->len);
	bad = memcmp(want, it->payload, it->len);
	free(want);
	(*n)++;
	return bad ? -1000 : 0;
}

TEST_F(evlog, large_payloads_are_whole)
{
	static const size_t sizes[] = { 65536, 65537, 1 << 20, 3 };
	uint8_t *p = malloc(1 << 20);
	size_t n = 0;

	open_opts(self, NULL);
	for (size_t i = 0; i < 4; i++) {
		struct tu_rng r = { i };

		tu_fill(&r, p, sizes[i]);
		ASSERT_EQ(rt_evlog_append(self->ev, RT_EVLOG_CONSENT_REQUEST, p, sizes[i], NULL), 0);
	}
	EXPECT_EQ(rt_evlog_append(self->ev, RT_EVLOG_NOTE, p, (size_t)RT_EVLOG_PAYLOAD_MAX + 1,
				  NULL), -EINVAL);
	reopen(self);
	close_log(self);
	ASSERT_EQ(rt_evlog_walk_file(self->path, self->pub, check_big, &n, &self->rep), 0);
	EXPECT_EQ(n, 4);
	EXPECT_EQ(self->rep.file_len, HDR + 4 * (ENTRY + HEAD) + 65536 + 65537 + (1 << 20) + 3);
	free(p);
}

TEST_F(evlog, heads_every_n_and_on_demand)
{
	struct rt_evlog_opts every3 = { .sign_every = 3 };
	struct rt_evlog_opts demand = { .sign_every = RT_EVLOG_SIGN_ON_DEMAND };
	struct rt_evlog_stats st;

	ASSERT_EQ(rt_evlog_open(self->path, self->key, &every3, &self->ev, NULL, 0), 0);
	add(self, RT_EVLOG_NOTE, "a");
	add(self, RT_EVLOG_NOTE, "b");
	rt_evlog_stats(self->ev, &st);
	EXPECT_EQ(st.heads, 0);
	EXPECT_EQ(st.unsigned_entries, 2);
	EXPECT_EQ(verify(self), RT_EVLOG_E_UNSIGNED_TAIL);
	EXPECT_EQ(self->rep.seq, 0);
	add(self, RT_EVLOG_NOTE, "c");
	rt_evlog_stats(self->ev, &st);
	EXPECT_EQ(st.heads, 1);
	EXPECT_EQ(st.unsigned_entries, 0);
	EXPECT_EQ(verify(self), RT_EVLOG_OK);
	close_log(self);

	ASSERT_EQ(rt_evlog_open(self->path, self->key, &demand, &self->ev, NULL, 0), 0);
	ASSERT_EQ(rt_evlog_sign(self->ev), 0); /* nothing to sign: no head */
	for (int i = 0; i < 5; i++)
		add(self, RT_EVLOG_NOTE, "d");
	EXPECT_EQ(verify(self), RT_EVLOG_E_UNSIGNED_TAIL);
	EXPECT_EQ(self->rep.seq, 3);
	ASSERT_EQ(rt_evlog_sign(self->ev), 0);
	ASSERT_EQ(rt_evlog_sign(self->ev), 0);
	rt_evlog_stats(self->ev, &st);
	EXPECT_EQ(st.heads, 2);
	EXPECT_EQ(verify(self), RT_EVLOG_OK);
	add(self, RT_EVLOG_NOTE, "e");
	close_log(self); /* signs it */
	EXPECT_EQ(verify(self), RT_EVLOG_OK);
	EXPECT_EQ(self->rep.heads, 3);
	EXPECT_EQ(self->rep.entries, 9);
}

TEST_F(evlog, public_key_from_pem_raw_and_hex)
{
	char pem[128], raw[128], hex[128], bad[128], txt[140];
	uint8_t pt[65], id_a[32], id_b[32];
	size_t plen;
	EVP_PKEY *k = NULL;
	FILE *f;

	make_log(self, 1);
	snprintf(pem, sizeof(pem), "%s/pub.pem", self->dir);
	snprintf(raw, sizeof(raw), "%s/pub.raw", self->dir);
	snprintf(hex, sizeof(hex), "%s/pub.hex", self->dir);
	snprintf(bad, sizeof(bad), "%s/pub.bad", self->dir);
	f = fopen(pem, "w");
	ASSERT_EQ(PEM_write_PUBKEY(f, self->pub), 1);
	fclose(f);
	ASSERT_EQ(EVP_PKEY_get_octet_string_param(self->pub, "pub", pt, sizeof(pt), &plen), 1);
	spill(raw, pt, sizeof(pt));
	for (int i = 0; i < 65; i++)
		sprintf(txt + 2 * i, "%02X", pt[i]);
	strcat(txt, "\n");
	spill(hex, (const uint8_t *)txt, strlen(txt));
	spill(bad, (const uint8_t *)"not a key\n", 10);
	ASSERT_EQ(rt_evlog_key_id(self->pub, id_a), 0);
	const char *const files[] = { pem, raw, hex };
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(rt_evlog_pub_load(files[i], &k), 0);
		ASSERT_EQ(rt_evlog_key_id(k, id_b), 0);
		EXPECT_MEMEQ(id_a, id_b, 32);
		EXPECT_EQ(verify_with(self, self->path, k), RT_EVLOG_OK);
		EVP_PKEY_free(k);
		k = NULL;
	}
	EXPECT_EQ(rt_evlog_pub_load(bad, &k), -EINVAL);
	EXPECT_NULL(k);
	EXPECT_EQ(rt_evlog_pub_load(self->other, &k), -ENOENT);
	/* A point off the curve is no key. */
	pt[64] ^= 1;
	EXPECT_EQ(rt_evlog_pub_from_point(pt, sizeof(pt), &k), -EINVAL);
	/* A compressed point names the same key. */
	pt[64] ^= 1;
	pt[0] = (uint8_t)(2 | (pt[64] & 1));
	ASSERT_EQ(rt_evlog_pub_from_point(pt, 33, &k), 0);
	ASSERT_EQ(rt_evlog_key_id(k, id_b), 0);
	EXPECT_MEMEQ(id_a, id_b, 32);
	EVP_PKEY_free(k);
}

/* ---- errors ---- */

TEST_F(evlog, error_paths)
{
	struct rt_evlog *other = NULL;

	EXPECT_EQ(rt_evlog_verify_file(self->path, self->pub, &self->rep), -ENOENT);
	EXPECT_EQ(self->rep.status, RT_EVLOG_E_IO);
	EXPECT_EQ(rt_evlog_verify_file(self->path, NULL, &self->rep), -EINVAL);
	/* Not an evidence log: refused, untouched. */
	spill(self->other, (const uint8_t *)"hello\n", 6);
	EXPECT_EQ(rt_evlog_verify_file(self->other, self->pub, &self->rep), -EINVAL);
	EXPECT_EQ(self->rep.status, RT_EVLOG_E_HEADER);
	EXPECT_EQ(rt_evlog_open(self->other, self->key, NULL, &other, self->err,
				sizeof(self->err)), -EINVAL);
	EXPECT_NULL(other);
	/* A public key cannot sign; nor can a non-P-256 key. */
	EXPECT_EQ(rt_evlog_open(self->path, self->pub, NULL, &other, NULL, 0), -EINVAL);
	EXPECT_EQ(access(self->path, F_OK), -1);
	/* A directory for a log. */
	EXPECT_EQ(rt_evlog_open(self->dir, self->key, NULL, &other, NULL, 0), -EISDIR);
	/* Open elsewhere. */
	open_opts(self, NULL);
	EXPECT_EQ(rt_evlog_open(self->path, self->key, NULL, &other, self->err,
				sizeof(self->err)), -EBUSY);
	EXPECT_TRUE(strstr(self->err, "in use") != NULL);
	/* Arguments. */
	EXPECT_EQ(rt_evlog_append(self->ev, 0, "x", 1, NULL), -EINVAL);
	EXPECT_EQ(rt_evlog_append(self->ev, RT_EVLOG_NOTE, NULL, 1, NULL), -EINVAL);
	EXPECT_EQ(rt_evlog_append(self->ev, RT_EVLOG_NOTE, NULL, 0, NULL), 0);
	EXPECT_EQ(rt_evlog_close(NULL), 0);
	EXPECT_STREQ(rt_evlog_type_name(RT_EVLOG_REFUSED), "refused");
	EXPECT_NULL(rt_evlog_type_name(RT_EVLOG_TYPE_USER));
	EXPECT_STREQ(rt_evlog_status_name(RT_EVLOG_E_UNSIGNED_TAIL), "unsigned tail");
}

/* As root the directory's mode binds nobody: try as nobody, in a child. */
TEST_F(evlog, unwritable_directory)
{
	char sub[100];
	struct rt_evlog *l = NULL;
	pid_t pid;
	int status;

	snprintf(sub, sizeof(sub), "%s/ro", self->dir);
	ASSERT_EQ(mkdir(sub, 0555), 0);
	ASSERT_EQ(chmod(self->dir, 0755), 0);
	snprintf(self->path, sizeof(self->path), "%s/evidence.log", sub);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) || setuid(65534)))
			_exit(2);
		_exit(rt_evlog_open(self->path, self->key, NULL, &l, NULL, 0) == -EACCES ? 0 : 1);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0);
	EXPECT_EQ(access(self->path, F_OK), -1);
}

/* A write the disk refuses (RLIMIT_FSIZE stands in for a full disk) is
 * taken back whole; the log goes on once there is room. */
TEST_F(evlog, failed_write_is_taken_back)
{
	struct rlimit rl;
	struct stat sb;
	uint8_t *big = calloc(1, 65536);
	off_t before;

	open_opts(self, NULL);
	add(self, RT_EVLOG_NOTE, "first");
	ASSERT_EQ(stat(self->path, &sb), 0);
	before = sb.st_size;
	signal(SIGXFSZ, SIG_IGN);
	ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = (rlim_t)before + 1000;
	ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &rl), 0);
	EXPECT_EQ(rt_evlog_append(self->ev, RT_EVLOG_NOTE, big, 65536, NULL), -EFBIG);
	ASSERT_EQ(stat(self->path, &sb), 0);
	EXPECT_EQ(sb.st_size, before);
	EXPECT_EQ(add(self, RT_EVLOG_NOTE, "fits"), 1);
	rl.rlim_cur = rl.rlim_max;
	ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &rl), 0);
	ASSERT_EQ(rt_evlog_append(self->ev, RT_EVLOG_NOTE, big, 65536, NULL), 0);
	close_log(self);
	EXPECT_EQ(verify(self), RT_EVLOG_OK);
	EXPECT_EQ(self->rep.entries, 3);
	free(big);
}

/* Bytes written by someone else while the log is open: the handle stops,
 * and reopening treats them as the torn tail they look like. */
TEST_F(evlog, writes_behind_the_handle_stop_it)
{
	uint64_t seq;

	open_opts(self, NULL);
	add(self, RT_EVLOG_NOTE, "ours");
	append_raw(self->path, (const uint8_t *)"E\0\0\0", 4);
	EXPECT_EQ(rt_evlog_append(self->ev, RT_EVLOG_NOTE, "x", 1, &seq), -EBADMSG);
	EXPECT_EQ(rt_evlog_append(self->ev, RT_EVLOG_NOTE, "x", 1, &seq), -EIO);
	EXPECT_TRUE(log_has(self, "behind its back"));
	EXPECT_EQ(rt_evlog_close(self->ev), 0);
	self->ev = NULL;
	EXPECT_EQ(verify(self), RT_EVLOG_E_TORN_TAIL);
	open_opts(self, NULL);
	EXPECT_EQ(add(self, RT_EVLOG_NOTE, "next"), 1);
	close_log(self);
	EXPECT_EQ(verify(self), RT_EVLOG_OK);
}
