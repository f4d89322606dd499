/* SPDX-License-Identifier: MIT */
/* Data records: the layout against OpenSSL's AES-128-CCM with the header and
 * nonce built here byte by byte, nonce uniqueness, tampering with every byte,
 * records of other trees, and every error. */
#include <stdlib.h>
#include <openssl/evp.h>
#include "harness.h"
#include "testutil.h"
#include "record.h"
#include "keytree.h"
#include "ct.h"
#include "iomt_err.h"

/* ---- OpenSSL reference: ciphertext || tag ---- */

static int ossl_ccm(const uint8_t key[16], const uint8_t nonce[13], const uint8_t *aad,
		    size_t aad_len, const uint8_t *pt, size_t len, uint8_t *ct, uint8_t tag[16])
{
	static const uint8_t empty[1];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n, ok;

	ok = c && EVP_EncryptInit_ex(c, EVP_aes_128_ccm(), NULL, NULL, NULL) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, 13, NULL) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16, NULL) == 1 &&
	     EVP_EncryptInit_ex(c, NULL, NULL, key, nonce) == 1 &&
	     EVP_EncryptUpdate(c, NULL, &n, NULL, (int)len) == 1 &&
	     EVP_EncryptUpdate(c, NULL, &n, aad, (int)aad_len) == 1 &&
	     EVP_EncryptUpdate(c, ct, &n, len ? pt : empty, (int)len) == 1 &&
	     EVP_EncryptFinal_ex(c, ct, &n) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, tag) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* The header and nonce of PROTOCOL.md 6.5, written out independently. */
static void ref_header(const struct iomt_record_hdr *h, uint8_t hdr[33], uint8_t nonce[13])
{
	hdr[0] = 1;
	memcpy(hdr + 1, h->key_id, 16);
	put_be(hdr + 17, h->epoch, 4);
	put_be(hdr + 21, h->leaf, 8);
	put_be(hdr + 29, h->seq, 4);
	put_be(nonce, h->epoch, 4);
	put_be(nonce + 4, h->leaf, 5);
	put_be(nonce + 9, h->seq, 4);
}

static struct tu_rng prng;

static void random_hdr(struct iomt_record_hdr *h)
{
	memset(h, 0, sizeof(*h)); /* compared whole: no stray padding */
	tu_fill(&prng, h->key_id, 16);
	h->epoch = (uint32_t)tu_next(&prng);
	h->leaf = tu_next(&prng) % IOMT_KEYTREE_MAX_LEAVES;
	h->seq = (uint32_t)tu_next(&prng);
}

TEST_TIMEOUT(seal_matches_openssl_and_opens, 60)
{
	static uint8_t data[IOMT_RECORD_MAX_DATA], rec[IOMT_RECORD_MAX_DATA + 49];
	static uint8_t want[IOMT_RECORD_MAX_DATA + 49], out[IOMT_RECORD_MAX_DATA];
	static const size_t lens[] = { 0, 1, 15, 16, 17, 63, 200, 1000, 4096,
				       IOMT_RECORD_MAX_DATA - 1, IOMT_RECORD_MAX_DATA };
	struct iomt_record_hdr h, back;
	uint8_t key[16], nonce[13];
	size_t len;

	prng.s = 0x7265636f7264;  /* "record" */
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]) + 40; i++) {
		size_t n = i < sizeof(lens) / sizeof(lens[0]) ? lens[i] : tu_next(&prng) % 300;

		tu_fill(&prng, key, 16);
		tu_fill(&prng, data, n);
		random_hdr(&h);
		ref_header(&h, want, nonce);
		ASSERT_TRUE(ossl_ccm(key, nonce, want, 33, data, n, want + 33, want + 33 + n));
		ASSERT_EQ(iomt_record_seal(key, &h, data, n, rec, sizeof(rec), &len), IOMT_OK);
		ASSERT_EQ(len, n + 49);
		ASSERT_MEMEQ(rec, want, len);
		ASSERT_EQ(iomt_record_parse(rec, len, &back), IOMT_OK);
		ASSERT_MEMEQ(&back, &h, sizeof(h));
		memset(&back, 0, sizeof(back));
		ASSERT_EQ(iomt_record_open(key, rec, len, &back, out, sizeof(out), &len), IOMT_OK);
		ASSERT_EQ(len, n);
		ASSERT_MEMEQ(out, data, n);
		ASSERT_MEMEQ(&back, &h, sizeof(h));
	}
}

TEST(in_place)
{
	uint8_t key[16], buf[49 + 100], data[100];
	struct iomt_record_hdr h;
	size_t len;

	prng.s = 1;
	tu_fill(&prng, key, 16);
	tu_fill(&prng, data, sizeof(data));
	random_hdr(&h);
	memcpy(buf + 33, data, sizeof(data));
	ASSERT_EQ(iomt_record_seal(key, &h, buf + 33, 100, buf, sizeof(buf), &len), IOMT_OK);
	ASSERT_EQ(len, sizeof(buf));
	ASSERT_EQ(iomt_record_open(key, buf, len, &h, buf + 33, 100, &len), IOMT_OK);
	ASSERT_EQ(len, 100);
	ASSERT_MEMEQ(buf + 33, data, 100);
}

/* ---- the nonce ---- */

static int cmp13(const void *a, const void *b)
{
	return memcmp(a, b, 13);
}

TEST(nonce_layout_and_uniqueness)
{
	static const uint32_t epochs[] = { 0, 1, 2, 255, 256, 65535, 0x01000000, UINT32_MAX };
	static const uint64_t leaves[] = { 0, 1, 255, 256, 65536, 0xffffffff, 0x100000000ull,
					   IOMT_KEYTREE_MAX_LEAVES - 1 };
	static const uint32_t seqs[] = { 0, 1, 2, 255, 256, 0x10000, 0x7fffffff, UINT32_MAX };
	static uint8_t all[8 * 8 * 8][13];
	struct iomt_record_hdr h;
	uint8_t want[13], hdr[33];
	size_t n = 0;

	memset(&h, 0, sizeof(h));
	/* Field boundaries: every combination of edge values. */
	for (size_t a = 0; a < 8; a++)
		for (size_t b = 0; b < 8; b++)
			for (size_t c = 0; c < 8; c++) {
				h.epoch = epochs[a];
				h.leaf = leaves[b];
				h.seq = seqs[c];
				ASSERT_EQ(iomt_record_nonce(&h, all[n]), IOMT_OK);
				ref_header(&h, hdr, want);
				ASSERT_MEMEQ(all[n], want, 13);
				n++;
			}
	qsort(all, n, 13, cmp13);
	for (size_t i = 1; i < n; i++)
		ASSERT_NE(memcmp(all[i - 1], all[i], 13), 0);
	/* The key id is not in the nonce (K_enc already is per tree). */
	memset(h.key_id, 0xff, 16);
	ASSERT_EQ(iomt_record_nonce(&h, want), IOMT_OK);
	memset(h.key_id, 0, 16);
	ASSERT_EQ(iomt_record_nonce(&h, hdr), IOMT_OK);
	ASSERT_MEMEQ(want, hdr, 13);
	/* A leaf the 40-bit field cannot hold. */
	h.leaf = IOMT_KEYTREE_MAX_LEAVES;
	ASSERT_EQ(iomt_record_nonce(&h, want), IOMT_EINVAL);
	ASSERT_EQ(iomt_record_nonce(NULL, want), IOMT_EINVAL);
}

/* A sensor's whole output for some leaves: every (epoch, leaf, seq) gets its
 * own nonce, and each K_enc is used with distinct nonces only. */
TEST(sensor_nonces_never_repeat)
{
	static const struct iomt_keytree_conf c = {
		.version = 1, .epoch_start = 0, .leaf_period_s = 1, .depth = 2,
		.arity = { 4, 8 }, .refresh_period_s = 8,
	};
	static uint8_t all[32 * 64][13];
	struct iomt_keytree_sensor s;
	struct iomt_record_hdr h;
	uint8_t id[16], k0[16], kenc[16];
	size_t n = 0;

	memset(id, 1, 16);
	memset(k0, 2, 16);
	ASSERT_EQ(iomt_keytree_sensor_init(&s, &c, id, k0, 0), IOMT_OK);
	memcpy(h.key_id, id, 16);
	for (uint64_t t = 0; t < 32; t++) {
		ASSERT_EQ(iomt_keytree_sensor_key(&s, t, &h.epoch, &h.leaf, kenc), IOMT_OK);
		for (h.seq = 0; h.seq < 64; h.seq++)
			ASSERT_EQ(iomt_record_nonce(&h, all[n++]), IOMT_OK);
	}
	qsort(all, n, 13, cmp13);
	for (size_t i = 1; i < n; i++)
		ASSERT_NE(memcmp(all[i - 1], all[i], 13), 0);
	iomt_keytree_sensor_wipe(&s);
}

/* ---- tampering ---- */

TEST(every_changed_byte_is_refused)
{
	uint8_t key[16], data[40], rec[49 + 40], bad[49 + 41], out[41];
	struct iomt_record_hdr h;
	size_t len, got;

	prng.s = 2;
	tu_fill(&prng, key, 16);
	tu_fill(&prng, data, sizeof(data));
	random_hdr(&h);
	h.leaf &= 0xffffffff;
	ASSERT_EQ(iomt_record_seal(key, &h, data, sizeof(data), rec, sizeof(rec), &len), IOMT_OK);
	for (size_t i = 0; i < len; i++)
		for (int bit = 0; bit < 8; bit++) {
			int err, want = IOMT_EAUTH;

			memcpy(bad, rec, len);
			bad[i] ^= (uint8_t)(1 << bit);
			/* version, and the leaf's top 3 bytes, are refused unread */
			if (i == 0 || (i >= 21 && i < 24))
				want = IOMT_EMALFORMED;
			memset(out, 0x5a, sizeof(out));
			memset(&h, 0x5a, sizeof(h));
			got = 99;
			err = iomt_record_open(key, bad, len, &h, out, sizeof(out), &got);
			ASSERT_EQ(err, want);
			ASSERT_EQ(got, 0);
			ASSERT_TRUE(iomt_ct_is_zero(&h, sizeof(h)));
			if (want == IOMT_EAUTH)  /* no plaintext left behind */
				ASSERT_TRUE(iomt_ct_is_zero(out, sizeof(data)));
		}
	/* one byte cut off, one byte appended */
	ASSERT_EQ(iomt_record_open(key, rec, len - 1, &h, out, sizeof(out), &got), IOMT_EAUTH);
	memcpy(bad, rec, len);
	bad[len] = 0;
	ASSERT_EQ(iomt_record_open(key, bad, len + 1, &h, out, sizeof(out), &got), IOMT_EAUTH);
	ASSERT_EQ(iomt_record_open(key, bad, len, &h, out, sizeof(out), &got), IOMT_OK);
	ASSERT_MEMEQ(out, data, sizeof(data));
}

/* The same (epoch, leaf, seq) under another tree's K_enc: other key id,
 * other K_master, other patient (I_PPD), other sensor; and another leaf. */
TEST(records_of_other_trees_do_not_open)
{
	static const struct iomt_keytree_conf c = {
		.version = 1, .epoch_start = 1735689600, .leaf_period_s = 300, .depth = 3,
		.arity = { 366, 24, 12 }, .refresh_period_s = 86400,
	};
	struct iomt_keytree_meta m, other;
	struct iomt_keytree_node leaf;
	struct iomt_record_hdr h, got;
	uint8_t km[32], km2[32], k0[16], kd[16], kenc[16], k[16], rec[49 + 8], out[8];
	const uint8_t data[8] = "bp120/80";
	size_t len;

	memset(&m, 0, sizeof(m));
	memset(m.key_id, 0x11, 16);
	memset(m.sensor_id, 0x22, 16);
	memset(m.ppd_id, 0x33, 16);
	m.conf = c;
	memset(km, 0x44, 32);
	memset(km2, 0x45, 32);
	ASSERT_EQ(iomt_keytree_data_key0(km, &m, k0), IOMT_OK);
	ASSERT_EQ(iomt_keytree_data_key(&c, k0, 3, kd), IOMT_OK);
	ASSERT_EQ(iomt_keytree_node_of(&c, 3 * 288 + 100, 3, &leaf), IOMT_OK);
	ASSERT_EQ(iomt_keytree_node_key(&c, 3, kd, &leaf, kenc), IOMT_OK);
	memset(&h, 0, sizeof(h)); /* compared whole below: no stray padding */
	memcpy(h.key_id, m.key_id, 16);
	h.epoch = 3;
	h.leaf = 3 * 288 + 100;
	h.seq = 9;
	ASSERT_EQ(iomt_record_seal(kenc, &h, data, 8, rec, sizeof(rec), &len), IOMT_OK);
	ASSERT_EQ(iomt_record_open(kenc, rec, len, &got, out, 8, &len), IOMT_OK);
	ASSERT_MEMEQ(&got, &h, sizeof(h));
	len = sizeof(rec);

	for (int which = 0; which < 5; which++) {
		const uint8_t *master = km;

		other = m;
		switch (which) {
		case 0: other.key_id[0] ^= 1; break;
		case 1: master = km2; break;
		case 2: other.ppd_id[0] ^= 1; break;
		case 3: other.sensor_id[0] ^= 1; break;
		case 4: break;  /* same tree, neighbouring leaf */
		}
		ASSERT_EQ(iomt_keytree_data_key0(master, &other, k0), IOMT_OK);
		ASSERT_EQ(iomt_keytree_data_key(&c, k0, 3, kd), IOMT_OK);
		ASSERT_EQ(iomt_keytree_node_of(&c, h.leaf + (which == 4), 3, &leaf), IOMT_OK);
		ASSERT_EQ(iomt_keytree_node_key(&c, 3, kd, &leaf, k), IOMT_OK);
		ASSERT_FALSE(iomt_ct_eq(k, kenc, 16));
		ASSERT_EQ(iomt_record_open(k, rec, len, &got, out, 8, &len), IOMT_EAUTH);
		len = sizeof(rec);
	}
	/* The header names the tree: the right key with another key id fails. */
	rec[1] ^= 1;
	ASSERT_EQ(iomt_record_open(kenc, rec, len, &got, out, 8, &len), IOMT_EAUTH);
}

TEST(record_errors)
{
	static uint8_t big[IOMT_RECORD_MAX_DATA + 50];
	uint8_t key[16] = { 1 }, data[16] = { 2 }, rec[65], out[16];
	struct iomt_record_hdr h;
	size_t len;

	memset(&h, 0, sizeof(h));
	/* seal */
	ASSERT_EQ(iomt_record_seal(key, &h, data, 16, rec, 64, &len), IOMT_ESIZE);
	ASSERT_EQ(len, 0);
	ASSERT_EQ(iomt_record_seal(key, &h, big, IOMT_RECORD_MAX_DATA + 1, big, sizeof(big), &len),
		  IOMT_ESIZE);
	ASSERT_EQ(iomt_record_seal(NULL, &h, data, 16, rec, 65, &len), IOMT_EINVAL);
	ASSERT_EQ(iomt_record_seal(key, NULL, data, 16, rec, 65, &len), IOMT_EINVAL);
	ASSERT_EQ(iomt_record_seal(key, &h, NULL, 16, rec, 65, &len), IOMT_EINVAL);
	ASSERT_EQ(iomt_record_seal(key, &h, data, 16, NULL, 65, &len), IOMT_EINVAL);
	ASSERT_EQ(iomt_record_seal(key, &h, data, 16, rec, 65, NULL), IOMT_EINVAL);
	h.leaf = IOMT_KEYTREE_MAX_LEAVES;
	ASSERT_EQ(iomt_record_seal(key, &h, data, 16, rec, 65, &len), IOMT_EINVAL);
	h.leaf = IOMT_KEYTREE_MAX_LEAVES - 1;
	ASSERT_EQ(iomt_record_seal(key, &h, data, 16, rec, 65, &len), IOMT_OK);
	ASSERT_EQ(iomt_record_seal(key, &h, NULL, 0, rec, 49, &len), IOMT_OK);
	ASSERT_EQ(len, 49);
	/* parse / open */
	ASSERT_EQ(iomt_record_parse(rec, 48, &h), IOMT_ESIZE);
	ASSERT_EQ(iomt_record_parse(big, sizeof(big), &h), IOMT_ESIZE);
	ASSERT_EQ(iomt_record_parse(NULL, 49, &h), IOMT_EINVAL);
	ASSERT_EQ(iomt_record_parse(rec, 49, NULL), IOMT_EINVAL);
	ASSERT_EQ(iomt_record_open(key, rec, 49, &h, NULL, 0, &len), IOMT_OK);
	ASSERT_EQ(len, 0);
	ASSERT_EQ(iomt_record_seal(key, &h, data, 16, rec, 65, &len), IOMT_OK);
	ASSERT_EQ(iomt_record_open(key, rec, 65, &h, out, 15, &len), IOMT_ESIZE);
	ASSERT_EQ(len, 0);
	ASSERT_EQ(iomt_record_open(key, rec, 65, &h, NULL, 16, &len), IOMT_EINVAL);
	ASSERT_EQ(iomt_record_open(NULL, rec, 65, &h, out, 16, &len), IOMT_EINVAL);
	ASSERT_EQ(iomt_record_open(key, rec, 65, &h, out, 16, NULL), IOMT_EINVAL);
	ASSERT_EQ(iomt_record_open(key, rec, 65, NULL, out, 16, &len), IOMT_EINVAL);
	rec[0] = 2;
	ASSERT_EQ(iomt_record_open(key, rec, 65, &h, out, 16, &len), IOMT_EMALFORMED);
	rec[0] = 1;
	ASSERT_EQ(iomt_record_open(key, rec, 65, &h, out, 16, &len), IOMT_OK);
	ASSERT_MEMEQ(out, data, 16);
}
