/* SPDX-License-Identifier: MIT */
/* Batched KMAC128 (lib/kmac_batch.h) at every Keccak width: the NIST
 * SP 800-185 KMAC samples, scalar iomt_kmac128 and OpenSSL's EVP_MAC
 * KMAC-128 over many key/message/output lengths and batch sizes, argument
 * errors, and the baseline override. */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include "harness.h"
#include "iomt_err.h"
#include "kmac_batch.h"
#include "sp800_185.h"
#include "testutil.h"
#include "width_fixture.h"

enum { NMAX = 37, KMAX = 400, MMAX = 700, OMAX = 340 };

static void seq(uint8_t *p, size_t n, uint8_t start)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(start + i);
}

static int openssl_kmac128(const void *key, size_t klen, const void *cust, size_t clen,
			   const void *msg, size_t mlen, void *out, size_t outlen)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "KMAC-128", NULL);
	EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM p[3];
	size_t n = 0, olen = outlen;
	int ok;

	p[n++] = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &olen);
	if (clen)
		p[n++] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_CUSTOM, (void *)(uintptr_t)cust,
							   clen);
	p[n] = OSSL_PARAM_construct_end();
	ok = c && EVP_MAC_init(c, key, klen, p) && EVP_MAC_update(c, msg, mlen) &&
	     EVP_MAC_final(c, out, &olen, outlen);
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(mac);
	return ok ? IOMT_OK : IOMT_EINVAL;
}

/* KMAC samples #1..#3 (NIST "KMAC_samples.pdf"), KMAC128, L = 256, each
 * item of one batch of 3 x the same sample. */
TEST_F(batch, nist_samples)
{
	static const char *want_hex[3] = {
		"E5780B0D3EA6F7D3A429C5706AA43A00FADBD7D49628839E3187243F456EE14E",
		"3B1FBA963CD8B0B59E8C1A6D71888B7143651AF8BA0A7070C0979E2811324AA5",
		"1F5B4E6CCA02209E0DCB5CA635B89A15E271ECC760071DFD805FAA38F9729230",
	};
	static const char tagged[] = "My Tagged Application";
	uint8_t key[32], data[200], want[32], got[3][32];
	const uint8_t *kp[3] = { key, key, key }, *mp[3] = { data, data, data };
	uint8_t *op[3] = { got[0], got[1], got[2] };
	size_t kl[3] = { 32, 32, 32 }, ml[3];
	struct iomt_kmac128_pre pre;

	seq(key, 32, 0x40);
	seq(data, 200, 0);
	for (int i = 0; i < 3; i++) {
		const char *c = i ? tagged : "";

		ml[0] = ml[1] = ml[2] = i < 2 ? 4 : 200;
		ASSERT_EQ(iomt_kmac128_pre_init(&pre, c, strlen(c)), IOMT_OK);
		ASSERT_EQ(iomt_kmac128_batch(&pre, 3, kp, kl, mp, ml, op, 32), IOMT_OK);
		tu_hex(want_hex[i], want, 32);
		for (int j = 0; j < 3; j++)
			ASSERT_MEMEQ(got[j], want, 32);
	}
}

/* Random batches: every size 1..NMAX, lengths around block boundaries
 * mixed with random ones, so groups of equal block counts split anywhere;
 * each item against scalar KMAC128 and (key of 4+ bytes) OpenSSL. */
TEST_F(batch, matches_scalar_and_openssl)
{
	static uint8_t key[NMAX][KMAX], msg[NMAX][MMAX], got[NMAX][OMAX], want[OMAX];
	static const size_t edge[] = { 0, 1, 7, 8, 9, 150, 151, 152, 153, 157, 158, 159, 160,
				       166, 167, 168, 169, 335, 336, 337 };
	struct tu_rng r = { 0x6b6d6163 + self->width };
	const uint8_t *kp[NMAX], *mp[NMAX];
	uint8_t *op[NMAX], cust[300];
	size_t kl[NMAX], ml[NMAX];
	struct iomt_kmac128_pre pre;

	for (size_t n = 1; n <= NMAX; n++) {
		size_t clen = tu_next(&r) % 5 ? tu_next(&r) % 40 : tu_next(&r) % 300;
		size_t outlen = tu_next(&r) % 3 ? 4 + tu_next(&r) % 40 : tu_next(&r) % OMAX;
		/* Runs of one shape (shared lanes) or random shapes. */
		int same = tu_next(&r) % 2;

		tu_fill(&r, cust, clen);
		ASSERT_EQ(iomt_kmac128_pre_init(&pre, cust, clen), IOMT_OK);
		for (size_t i = 0; i < n; i++) {
			kl[i] = same && i ? kl[0] : tu_next(&r) % 3 ? edge[tu_next(&r) % 20] % KMAX
								  : tu_next(&r) % KMAX;
			ml[i] = same && i ? ml[0] : tu_next(&r) % 3 ? edge[tu_next(&r) % 20]
								  : tu_next(&r) % MMAX;
			tu_fill(&r, key[i], kl[i]);
			tu_fill(&r, msg[i], ml[i]);
			kp[i] = key[i];
			mp[i] = msg[i];
			op[i] = got[i];
		}
		ASSERT_EQ(iomt_kmac128_batch(&pre, n, kp, kl, mp, ml, op, outlen), IOMT_OK);
		for (size_t i = 0; i < n; i++) {
			ASSERT_EQ(iomt_kmac128(key[i], kl[i], cust, clen, msg[i], ml[i], want,
					       outlen), IOMT_OK);
			ASSERT_MEMEQ(got[i], want, outlen);
			/* OpenSSL takes 4..512-byte keys and 4+ byte outputs. */
			if (kl[i] < 4 || outlen < 4)
				continue;
			ASSERT_EQ(openssl_kmac128(key[i], kl[i], cust, clen, msg[i], ml[i], want,
						  outlen), IOMT_OK);
			ASSERT_MEMEQ(got[i], want, outlen);
		}
	}
}

TEST_F(batch, every_length_to_two_blocks)
{
	uint8_t key[340 + 4], msg[340 + 4], got[4][48], want[48];
	const uint8_t *kp[4], *mp[4];
	uint8_t *op[4] = { got[0], got[1], got[2], got[3] };
	size_t kl[4], ml[4];
	struct iomt_kmac128_pre pre;

	seq(key, sizeof(key), 3);
	seq(msg, sizeof(msg), 7);
	ASSERT_EQ(iomt_kmac128_pre_init(&pre, "iomt/s2/data-key", 16), IOMT_OK);
	for (size_t len = 0; len < 340; len++) {
		for (int i = 0; i < 4; i++) {
			/* Key lengths walk the key block, message lengths the last. */
			kl[i] = i < 2 ? len : 16;
			ml[i] = i < 2 ? (size_t)i : len;
			kp[i] = key + i;
			mp[i] = msg + i;
		}
		ASSERT_EQ(iomt_kmac128_batch(&pre, 4, kp, kl, mp, ml, op, sizeof(want)), IOMT_OK);
		for (int i = 0; i < 4; i++) {
			ASSERT_EQ(iomt_kmac128(kp[i], kl[i], "iomt/s2/data-key", 16, mp[i], ml[i],
					       want, sizeof(want)), IOMT_OK);
			ASSERT_MEMEQ(got[i], want, sizeof(want));
		}
	}
}

TEST(empty_batch_and_argument_errors)
{
	struct iomt_kmac128_pre pre;
	uint8_t out[16] = { 0 }, zero[16] = { 0 };
	const uint8_t *k[1] = { (const uint8_t *)"k" }, *nul[1] = { NULL };
	const uint8_t *m[1] = { (const uint8_t *)"" };
	uint8_t *o[1] = { out }, *onul[1] = { NULL };
	size_t one[1] = { 1 }, zl[1] = { 0 };

	ASSERT_EQ(iomt_kmac128_pre_init(NULL, "", 0), IOMT_EINVAL);
	ASSERT_EQ(iomt_kmac128_pre_init(&pre, NULL, 3), IOMT_EINVAL);
	ASSERT_EQ(iomt_kmac128_pre_init(&pre, NULL, 0), IOMT_OK);
	ASSERT_EQ(iomt_kmac128_batch(&pre, 0, NULL, NULL, NULL, NULL, NULL, 16), IOMT_OK);
	ASSERT_EQ(iomt_kmac128_batch(NULL, 1, k, one, m, zl, o, 16), IOMT_EINVAL);
	ASSERT_EQ(iomt_kmac128_batch(&pre, 1, NULL, one, m, zl, o, 16), IOMT_EINVAL);
	ASSERT_EQ(iomt_kmac128_batch(&pre, 1, k, one, m, zl, NULL, 16), IOMT_EINVAL);
	ASSERT_EQ(iomt_kmac128_batch(&pre, 1, nul, one, m, zl, o, 16), IOMT_EINVAL);
	ASSERT_EQ(iomt_kmac128_batch(&pre, 1, k, one, nul, one, o, 16), IOMT_EINVAL);
	ASSERT_EQ(iomt_kmac128_batch(&pre, 1, k, one, m, zl, onul, 16), IOMT_EINVAL);
	ASSERT_MEMEQ(out, zero, sizeof(out));
#if SIZE_MAX > (UINT64_MAX >> 3)
	{
		size_t huge[1] = { SIZE_MAX };

		ASSERT_EQ(iomt_kmac128_batch(&pre, 1, k, huge, m, zl, o, 16), IOMT_ESIZE);
		ASSERT_EQ(iomt_kmac128_batch(&pre, 1, k, one, m, huge, o, 16), IOMT_ESIZE);
		ASSERT_EQ(iomt_kmac128_pre_init(&pre, "", SIZE_MAX), IOMT_ESIZE);
	}
#endif
	/* Empty key, message and output are fine. */
	ASSERT_EQ(iomt_kmac128_pre_init(&pre, "", 0), IOMT_OK);
	ASSERT_EQ(iomt_kmac128_batch(&pre, 1, nul, zl, nul, zl, onul, 0), IOMT_OK);
}

static int override_calls;

static int counting_openssl(const void *key, size_t klen, const void *cust, size_t clen,
			    const void *msg, size_t mlen, void *out, size_t outlen)
{
	override_calls++;
	return openssl_kmac128(key, klen, cust, clen, msg, mlen, out, outlen);
}

static int failing(const void *key, size_t klen, const void *cust, size_t clen,
		   const void *msg, size_t mlen, void *out, size_t outlen)
{
	(void)key, (void)klen, (void)cust, (void)clen, (void)msg, (void)mlen, (void)out;
	(void)outlen;
	return IOMT_EINVAL;
}

/* The override gets every item with the prefix's customisation; its
 * errors come back; NULL restores the lanes. */
TEST(override_per_item)
{
	uint8_t key[5][16], got[5][24], want[24];
	const uint8_t *kp[5], *mp[5];
	uint8_t *op[5];
	size_t kl[5], ml[5];
	struct iomt_kmac128_pre pre;

	for (int i = 0; i < 5; i++) {
		seq(key[i], 16, (uint8_t)(i * 16));
		kp[i] = key[i];
		kl[i] = 16;
		mp[i] = (const uint8_t *)"msg";
		ml[i] = 3;
		op[i] = got[i];
	}
	ASSERT_EQ(iomt_kmac128_pre_init(&pre, "iomt/s2/handle", 14), IOMT_OK);
	iomt_kmac128_batch_override(counting_openssl);
	ASSERT_EQ(iomt_kmac128_batch(&pre, 5, kp, kl, mp, ml, op, 24), IOMT_OK);
	ASSERT_EQ(override_calls, 5);
	for (int i = 0; i < 5; i++) {
		ASSERT_EQ(iomt_kmac128(key[i], 16, "iomt/s2/handle", 14, "msg", 3, want, 24),
			  IOMT_OK);
		ASSERT_MEMEQ(got[i], want, 24);
	}
	iomt_kmac128_batch_override(failing);
	ASSERT_EQ(iomt_kmac128_batch(&pre, 5, kp, kl, mp, ml, op, 24), IOMT_EINVAL);
	iomt_kmac128_batch_override(NULL);
	ASSERT_EQ(iomt_kmac128_batch(&pre, 5, kp, kl, mp, ml, op, 24), IOMT_OK);
	ASSERT_EQ(override_calls, 5);
	ASSERT_MEMEQ(got[4], want, 24);
}
