/* SPDX-License-Identifier: MIT */
/* lib/shamir: t-of-n sharing over GF(2^8) with a KMAC128 check value. */
#include <stdint.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include "harness.h"
#include "testutil.h"
#include "shamir.h"
#include "iomt_err.h"

enum {
	SECRET_MAX = IOMT_SHAMIR_MAX_SECRET,
	SHARE_MAX = 1 + IOMT_SHAMIR_MAX_SECRET + IOMT_SHAMIR_CHECK_LEN,
	N_MAX = 255,
};

static uint8_t shares[N_MAX * SHARE_MAX], shares2[N_MAX * SHARE_MAX];
static uint8_t pick[N_MAX * SHARE_MAX];
static uint8_t rnd[(N_MAX - 1) * (SHARE_MAX - 1)];

/* Fixed-seed test inputs: tests/common/testutil.h. */
static struct tu_rng prng;

/* Splits with fresh test randomness from seed. */
static int split(const uint8_t *secret, size_t len, unsigned t, unsigned n,
		 uint64_t seed, uint8_t *out)
{
	size_t rlen = iomt_shamir_rand_len(len, t);

	prng.s = seed;
	tu_fill(&prng, rnd, rlen);
	return iomt_shamir_split(secret, len, t, n, rnd, rlen, out);
}

/* Copies the shares whose indices are listed into pick[], in that order. */
static void gather(const uint8_t *from, size_t share_len, const unsigned *idx, size_t k)
{
	for (size_t i = 0; i < k; i++)
		memcpy(pick + i * share_len, from + idx[i] * share_len, share_len);
}

/* Combines pick[0..k); on failure the output must be wiped. */
static int combine_pick(size_t k, size_t share_len, uint8_t *out)
{
	int err;

	memset(out, 0xa5, share_len - 1 - IOMT_SHAMIR_CHECK_LEN);
	err = iomt_shamir_combine(pick, k, share_len, out);
	if (err) {
		for (size_t i = 0; i < share_len - 1 - IOMT_SHAMIR_CHECK_LEN; i++) {
			if (out[i]) {
				TH_LOG("secret not wiped after error %d", err);
				return 1;
			}
		}
	}
	return err;
}

/* Every k-subset of {0..n-1} in lexicographic order; idx[] holds the current one. */
static int next_subset(unsigned *idx, size_t k, unsigned n)
{
	size_t i = k;

	while (i > 0 && idx[i - 1] == n - k + i - 1)
		i--;
	if (i == 0)
		return 0;
	idx[i - 1]++;
	for (size_t j = i; j < k; j++)
		idx[j] = idx[j - 1] + 1;
	return 1;
}

/* ---- GF(2^8) against a slow reference ---- */

static uint8_t ref_mul(uint8_t a, uint8_t b)
{
	unsigned p = 0;

	/* Carry-less product, then reduce modulo 0x11b from the top bit down. */
	for (unsigned i = 0; i < 8; i++)
		if (b & (1u << i))
			p ^= (unsigned)a << i;
	for (int i = 14; i >= 8; i--)
		if (p & (1u << i))
			p ^= 0x11bu << (i - 8);
	return (uint8_t)p;
}

TEST(gf256_every_product)
{
	unsigned bad = 0;

	for (unsigned a = 0; a < 256; a++)
		for (unsigned b = 0; b < 256; b++)
			if (iomt_gf256_mul((uint8_t)a, (uint8_t)b) != ref_mul((uint8_t)a, (uint8_t)b))
				bad++;
	EXPECT_EQ(bad, 0);
	/* The textbook example (FIPS 197 section 4.2): {57} * {83} = {c1}. */
	EXPECT_EQ(iomt_gf256_mul(0x57, 0x83), 0xc1);
}

TEST(gf256_every_inverse)
{
	EXPECT_EQ(iomt_gf256_inv(0), 0);
	for (unsigned a = 1; a < 256; a++) {
		unsigned want = 0;

		for (unsigned b = 1; b < 256; b++)
			if (ref_mul((uint8_t)a, (uint8_t)b) == 1)
				want = b;
		ASSERT_NE(want, 0);
		EXPECT_EQ(iomt_gf256_inv((uint8_t)a), want);
	}
}

/* ---- lengths ---- */

TEST(lengths)
{
	EXPECT_EQ(iomt_shamir_share_len(1), 1 + 1 + IOMT_SHAMIR_CHECK_LEN);
	EXPECT_EQ(iomt_shamir_share_len(32), 1 + 32 + IOMT_SHAMIR_CHECK_LEN);
	EXPECT_EQ(iomt_shamir_share_len(64), SHARE_MAX);
	EXPECT_EQ(iomt_shamir_share_len(0), 0);
	EXPECT_EQ(iomt_shamir_share_len(65), 0);
	EXPECT_EQ(iomt_shamir_share_len(SIZE_MAX), 0);
	EXPECT_EQ(iomt_shamir_rand_len(32, 1), 0);
	EXPECT_EQ(iomt_shamir_rand_len(32, 3), 2 * (32 + IOMT_SHAMIR_CHECK_LEN));
	EXPECT_EQ(iomt_shamir_rand_len(64, 255), sizeof(rnd));
	EXPECT_EQ(iomt_shamir_rand_len(32, 0), 0);
	EXPECT_EQ(iomt_shamir_rand_len(32, 256), 0);
	EXPECT_EQ(iomt_shamir_rand_len(0, 3), 0);
}

/* ---- reconstruction ---- */

TEST(every_subset_of_3_of_5)
{
	uint8_t secret[32], out[32];
	size_t sl = iomt_shamir_share_len(sizeof(secret));
	unsigned idx[5];
	unsigned ok = 0;

	prng.s = 1;
	tu_fill(&prng, secret, sizeof(secret));
	ASSERT_EQ(split(secret, sizeof(secret), 3, 5, 2, shares), IOMT_OK);
	for (unsigned i = 0; i < 5; i++)
		EXPECT_EQ(shares[i * sl], i + 1);

	/* Any 3, 4 or 5 consistent shares reconstruct, in either order. */
	for (size_t k = 3; k <= 5; k++) {
		for (size_t i = 0; i < k; i++)
			idx[i] = (unsigned)i;
		do {
			unsigned rev[5];

			gather(shares, sl, idx, k);
			ASSERT_EQ(combine_pick(k, sl, out), IOMT_OK);
			ASSERT_MEMEQ(out, secret, sizeof(secret));
			for (size_t i = 0; i < k; i++)
				rev[i] = idx[k - 1 - i];
			gather(shares, sl, rev, k);
			ASSERT_EQ(combine_pick(k, sl, out), IOMT_OK);
			ASSERT_MEMEQ(out, secret, sizeof(secret));
			ok++;
		} while (next_subset(idx, k, 5));
	}
	EXPECT_EQ(ok, 10 + 5 + 1);
}

TEST(fewer_than_t_fail)
{
	uint8_t secret[32], out[32];
	size_t sl = iomt_shamir_share_len(sizeof(secret));
	unsigned idx[2];
	unsigned tried = 0;

	prng.s = 3;
	tu_fill(&prng, secret, sizeof(secret));
	ASSERT_EQ(split(secret, sizeof(secret), 3, 5, 4, shares), IOMT_OK);
	for (size_t k = 1; k <= 2; k++) {
		for (size_t i = 0; i < k; i++)
			idx[i] = (unsigned)i;
		do {
			gather(shares, sl, idx, k);
			EXPECT_EQ(combine_pick(k, sl, out), IOMT_ESHARES);
			tried++;
		} while (next_subset(idx, k, 5));
	}
	EXPECT_EQ(tried, 5 + 10);
	EXPECT_EQ(combine_pick(0, sl, out), IOMT_ESHARES);
}

/* Each byte of each share flipped, several ways: never accepted. */
TEST(corrupted_share_detected)
{
	static const uint8_t flips[] = { 0x01, 0x80, 0xff, 0x5a };
	static const unsigned idx[4] = { 4, 0, 2, 3 };
	uint8_t secret[16], out[16];
	size_t sl = iomt_shamir_share_len(sizeof(secret));
	unsigned accepted = 0, wrong_code = 0;

	prng.s = 5;
	tu_fill(&prng, secret, sizeof(secret));
	ASSERT_EQ(split(secret, sizeof(secret), 3, 5, 6, shares), IOMT_OK);

	/* k = 3: the corrupt share is one of exactly t; k = 4: three good shares
	 * already determine the secret and the corrupt one is an extra. */
	for (size_t k = 3; k <= 4; k++) {
		for (size_t s = 0; s < k; s++) {
			for (size_t b = 0; b < sl; b++) {
				for (size_t f = 0; f < sizeof(flips); f++) {
					int err;

					gather(shares, sl, idx, k);
					pick[s * sl + b] ^= flips[f];
					err = combine_pick(k, sl, out);
					if (err == IOMT_OK)
						accepted++;
					/* A flipped x may collide or become 0 (malformed);
					 * a flipped y always fails the check. */
					else if (err != IOMT_ESHARES &&
						 !(b == 0 && err == IOMT_EMALFORMED))
						wrong_code++;
				}
			}
		}
	}
	EXPECT_EQ(accepted, 0);
	EXPECT_EQ(wrong_code, 0);

	/* The extra corrupt share last, as a caller appending one would. */
	{
		static const unsigned good[4] = { 0, 1, 2, 3 };

		for (size_t b = 1; b < sl; b++) {
			gather(shares, sl, good, 4);
			pick[3 * sl + b] ^= 0x10;
			EXPECT_EQ(combine_pick(4, sl, out), IOMT_ESHARES);
		}
		gather(shares, sl, good, 4);
		EXPECT_EQ(combine_pick(4, sl, out), IOMT_OK);
		EXPECT_MEMEQ(out, secret, sizeof(secret));
	}
}

TEST(mixed_splits_detected)
{
	static const unsigned idx[3] = { 0, 1, 2 };
	uint8_t secret[32], other[32], out[32];
	size_t sl = iomt_shamir_share_len(sizeof(secret));

	prng.s = 7;
	tu_fill(&prng, secret, sizeof(secret));
	tu_fill(&prng, other, sizeof(other));

	/* Same secret, different randomness: each split alone works... */
	ASSERT_EQ(split(secret, sizeof(secret), 3, 5, 8, shares), IOMT_OK);
	ASSERT_EQ(split(secret, sizeof(secret), 3, 5, 9, shares2), IOMT_OK);
	gather(shares2, sl, idx, 3);
	ASSERT_EQ(combine_pick(3, sl, out), IOMT_OK);
	ASSERT_MEMEQ(out, secret, sizeof(secret));
	/* ...but shares 1, 2 of one with share 3 of the other do not. */
	gather(shares, sl, idx, 2);
	memcpy(pick + 2 * sl, shares2 + 2 * sl, sl);
	EXPECT_EQ(combine_pick(3, sl, out), IOMT_ESHARES);
	/* Nor does a valid 3-set with an extra share from the other split. */
	gather(shares, sl, idx, 3);
	memcpy(pick + 3 * sl, shares2 + 3 * sl, sl);
	EXPECT_EQ(combine_pick(4, sl, out), IOMT_ESHARES);

	/* Different secrets. */
	ASSERT_EQ(split(other, sizeof(other), 3, 5, 8, shares2), IOMT_OK);
	gather(shares, sl, idx, 2);
	memcpy(pick + 2 * sl, shares2 + 4 * sl, sl);
	EXPECT_EQ(combine_pick(3, sl, out), IOMT_ESHARES);
}

TEST(split_is_deterministic_and_uses_rnd)
{
	uint8_t secret[20];
	size_t sl = iomt_shamir_share_len(sizeof(secret));

	prng.s = 10;
	tu_fill(&prng, secret, sizeof(secret));
	ASSERT_EQ(split(secret, sizeof(secret), 2, 3, 11, shares), IOMT_OK);
	ASSERT_EQ(split(secret, sizeof(secret), 2, 3, 11, shares2), IOMT_OK);
	EXPECT_MEMEQ(shares, shares2, 3 * sl);
	ASSERT_EQ(split(secret, sizeof(secret), 2, 3, 12, shares2), IOMT_OK);
	EXPECT_NE(memcmp(shares + 1, shares2 + 1, sl - 1), 0);
	/* With t >= 2 no share is the secret in the clear. */
	for (unsigned i = 0; i < 3; i++)
		EXPECT_NE(memcmp(shares + i * sl + 1, secret, sizeof(secret)), 0);
}

/* ---- limits ---- */

/* KMAC128(key, "", L = 64, S = "iomt/shamir/check") from OpenSSL, as an
 * independent reference (OpenSSL wants keys of at least 4 bytes). */
static int ref_check(const uint8_t *key, size_t keylen, uint8_t out[IOMT_SHAMIR_CHECK_LEN])
{
	static char custom[] = "iomt/shamir/check";
	EVP_MAC *mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_KMAC128, NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	int size = IOMT_SHAMIR_CHECK_LEN, ok = 0;
	size_t outl = 0;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_CUSTOM, custom,
						  sizeof(custom) - 1),
		OSSL_PARAM_construct_int(OSSL_MAC_PARAM_SIZE, &size),
		OSSL_PARAM_construct_end(),
	};

	if (ctx && EVP_MAC_init(ctx, key, keylen, params) &&
	    EVP_MAC_final(ctx, out, &outl, IOMT_SHAMIR_CHECK_LEN) &&
	    outl == IOMT_SHAMIR_CHECK_LEN)
		ok = 1;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok;
}

TEST(t_is_1)
{
	uint8_t secret[32], out[32], check[IOMT_SHAMIR_CHECK_LEN];
	size_t sl = iomt_shamir_share_len(sizeof(secret));

	prng.s = 13;
	tu_fill(&prng, secret, sizeof(secret));
	ASSERT_EQ(iomt_shamir_split(secret, sizeof(secret), 1, 4, NULL, 0, shares), IOMT_OK);
	/* A constant polynomial: every share is secret || check in the clear. */
	ASSERT_TRUE(ref_check(secret, sizeof(secret), check));
	for (unsigned i = 0; i < 4; i++) {
		const unsigned one[1] = { i };

		EXPECT_EQ(shares[i * sl], i + 1);
		EXPECT_MEMEQ(shares + i * sl + 1, secret, sizeof(secret));
		EXPECT_MEMEQ(shares + i * sl + 1 + sizeof(secret), check, sizeof(check));
		gather(shares, sl, one, 1);
		ASSERT_EQ(combine_pick(1, sl, out), IOMT_OK);
		EXPECT_MEMEQ(out, secret, sizeof(secret));
	}
	EXPECT_EQ(iomt_shamir_split(secret, sizeof(secret), 1, 1, NULL, 0, shares), IOMT_OK);
}

TEST(t_is_n)
{
	static const unsigned idx[5] = { 0, 1, 2, 3, 4 };
	uint8_t secret[24], out[24];
	size_t sl = iomt_shamir_share_len(sizeof(secret));

	prng.s = 14;
	tu_fill(&prng, secret, sizeof(secret));
	ASSERT_EQ(split(secret, sizeof(secret), 5, 5, 15, shares), IOMT_OK);
	gather(shares, sl, idx, 5);
	ASSERT_EQ(combine_pick(5, sl, out), IOMT_OK);
	EXPECT_MEMEQ(out, secret, sizeof(secret));
	for (unsigned skip = 0; skip < 5; skip++) {
		unsigned four[4], k = 0;

		for (unsigned i = 0; i < 5; i++)
			if (i != skip)
				four[k++] = i;
		gather(shares, sl, four, 4);
		EXPECT_EQ(combine_pick(4, sl, out), IOMT_ESHARES);
	}
}

TEST_TIMEOUT(n_is_255, 120)
{
	uint8_t secret[SECRET_MAX], out[SECRET_MAX];
	size_t sl = iomt_shamir_share_len(sizeof(secret));
	unsigned idx[N_MAX];

	prng.s = 16;
	tu_fill(&prng, secret, sizeof(secret));
	for (unsigned i = 0; i < N_MAX; i++)
		idx[i] = i;

	/* 255-of-255: all of them, and not one fewer. */
	ASSERT_EQ(split(secret, sizeof(secret), 255, 255, 17, shares), IOMT_OK);
	EXPECT_EQ(shares[254 * sl], 255);
	gather(shares, sl, idx, 255);
	ASSERT_EQ(combine_pick(255, sl, out), IOMT_OK);
	EXPECT_MEMEQ(out, secret, sizeof(secret));
	gather(shares, sl, idx + 1, 254);
	EXPECT_EQ(combine_pick(254, sl, out), IOMT_ESHARES);

	/* 2-of-255: the extreme x values pair up, and all 255 agree. */
	ASSERT_EQ(split(secret, sizeof(secret), 2, 255, 18, shares), IOMT_OK);
	{
		static const unsigned ends[3][2] = { { 253, 254 }, { 0, 254 }, { 127, 128 } };

		for (unsigned i = 0; i < 3; i++) {
			gather(shares, sl, ends[i], 2);
			ASSERT_EQ(combine_pick(2, sl, out), IOMT_OK);
			EXPECT_MEMEQ(out, secret, sizeof(secret));
		}
	}
	gather(shares, sl, idx, 255);
	ASSERT_EQ(combine_pick(255, sl, out), IOMT_OK);
	EXPECT_MEMEQ(out, secret, sizeof(secret));
	pick[200 * sl + 7] ^= 1;
	EXPECT_EQ(combine_pick(255, sl, out), IOMT_ESHARES);
}

TEST(secret_of_1_and_64_bytes)
{
	static const size_t lens[] = { 1, 2, 4, 63, 64 };
	static const unsigned idx[3] = { 1, 3, 4 };
	uint8_t secret[SECRET_MAX], out[SECRET_MAX], check[IOMT_SHAMIR_CHECK_LEN];

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t len = lens[i], sl = iomt_shamir_share_len(len);

		prng.s = 20 + i;
		tu_fill(&prng, secret, len);
		ASSERT_EQ(split(secret, len, 3, 5, 30 + i, shares), IOMT_OK);
		gather(shares, sl, idx, 3);
		ASSERT_EQ(combine_pick(3, sl, out), IOMT_OK);
		EXPECT_MEMEQ(out, secret, len);
		gather(shares, sl, idx, 2);
		EXPECT_EQ(combine_pick(2, sl, out), IOMT_ESHARES);

		/* The check value matches an independent KMAC128 (t = 1 shows it). */
		ASSERT_EQ(iomt_shamir_split(secret, len, 1, 1, NULL, 0, shares), IOMT_OK);
		if (len >= 4) {
			ASSERT_TRUE(ref_check(secret, len, check));
			EXPECT_MEMEQ(shares + 1 + len, check, sizeof(check));
		}
	}
}

/* ---- invalid input ---- */

TEST(split_rejects_bad_parameters)
{
	uint8_t secret[16] = { 1 };
	size_t rl = iomt_shamir_rand_len(sizeof(secret), 3);

	EXPECT_EQ(iomt_shamir_split(secret, 16, 0, 5, rnd, 0, shares), IOMT_EINVAL);
	EXPECT_EQ(iomt_shamir_split(secret, 16, 6, 5, rnd, 5 * 24, shares), IOMT_EINVAL);
	EXPECT_EQ(iomt_shamir_split(secret, 16, 3, 256, rnd, rl, shares), IOMT_EINVAL);
	EXPECT_EQ(iomt_shamir_split(secret, 16, 256, 256, rnd, 255 * 24, shares), IOMT_EINVAL);
	EXPECT_EQ(iomt_shamir_split(secret, 16, 1, 0, rnd, 0, shares), IOMT_EINVAL);
	EXPECT_EQ(iomt_shamir_split(secret, 0, 3, 5, rnd, 2 * 8, shares), IOMT_ESIZE);
	EXPECT_EQ(iomt_shamir_split(secret, 65, 3, 5, rnd, 2 * 73, shares), IOMT_ESIZE);
	EXPECT_EQ(iomt_shamir_split(secret, 16, 3, 5, rnd, rl - 1, shares), IOMT_ESIZE);
	EXPECT_EQ(iomt_shamir_split(secret, 16, 3, 5, rnd, rl + 1, shares), IOMT_ESIZE);
	EXPECT_EQ(iomt_shamir_split(secret, 16, 3, 5, rnd, 0, shares), IOMT_ESIZE);
	EXPECT_EQ(iomt_shamir_split(secret, 16, 1, 5, rnd, 1, shares), IOMT_ESIZE);
	EXPECT_EQ(iomt_shamir_split(NULL, 16, 3, 5, rnd, rl, shares), IOMT_EINVAL);
	EXPECT_EQ(iomt_shamir_split(secret, 16, 3, 5, NULL, rl, shares), IOMT_EINVAL);
	EXPECT_EQ(iomt_shamir_split(secret, 16, 3, 5, rnd, rl, NULL), IOMT_EINVAL);
	EXPECT_EQ(iomt_shamir_split(secret, 16, 3, 5, rnd, rl, shares), IOMT_OK);
}

TEST(combine_rejects_bad_input)
{
	static const unsigned idx[3] = { 0, 1, 2 };
	uint8_t secret[16], out[SECRET_MAX];
	size_t sl = iomt_shamir_share_len(sizeof(secret));

	prng.s = 40;
	tu_fill(&prng, secret, sizeof(secret));
	ASSERT_EQ(split(secret, sizeof(secret), 3, 5, 41, shares), IOMT_OK);
	gather(shares, sl, idx, 3);

	/* share_len that fits no secret: too short for one byte plus check, or too long. */
	EXPECT_EQ(iomt_shamir_combine(pick, 3, 0, out), IOMT_ESIZE);
	EXPECT_EQ(iomt_shamir_combine(pick, 3, 1 + IOMT_SHAMIR_CHECK_LEN, out), IOMT_ESIZE);
	EXPECT_EQ(iomt_shamir_combine(pick, 3, SHARE_MAX + 1, out), IOMT_ESIZE);
	EXPECT_EQ(iomt_shamir_combine(pick, 3, SIZE_MAX, out), IOMT_ESIZE);
	/* The right share_len matters: reading the set with another one fails. */
	EXPECT_NE(combine_pick(3, sl - 1, out), IOMT_OK);

	EXPECT_EQ(iomt_shamir_combine(NULL, 3, sl, out), IOMT_EINVAL);
	EXPECT_EQ(iomt_shamir_combine(pick, 3, sl, NULL), IOMT_EINVAL);
	EXPECT_EQ(iomt_shamir_combine(pick, 256, sl, out), IOMT_EINVAL);
	EXPECT_EQ(combine_pick(0, sl, out), IOMT_ESHARES);

	/* Duplicate x: the same share twice, and two shares claiming one x. */
	memcpy(pick + 3 * sl, pick, sl);
	EXPECT_EQ(combine_pick(4, sl, out), IOMT_EMALFORMED);
	gather(shares, sl, idx, 3);
	pick[2 * sl] = pick[1 * sl];
	EXPECT_EQ(combine_pick(3, sl, out), IOMT_EMALFORMED);
	/* x = 0. */
	gather(shares, sl, idx, 3);
	pick[1 * sl] = 0;
	EXPECT_EQ(combine_pick(3, sl, out), IOMT_EMALFORMED);

	gather(shares, sl, idx, 3);
	EXPECT_EQ(combine_pick(3, sl, out), IOMT_OK);
	EXPECT_MEMEQ(out, secret, sizeof(secret));
}
