// SPDX-License-Identifier: MIT
/*
 * ECIES (userspace/lib/ecies.c): a known-answer vector computed by an
 * independent implementation, round trips over many lengths, every byte of
 * a box changed, wrong key, wrong aad, cut and padded boxes, bad points,
 * keys of the wrong kind.
 *
 * The .c is included, not linked, to reach the static hook that fixes the
 * ephemeral key for the known answer.
 */
#include "lib/ecies.c"

#include <openssl/param_build.h>

#include "common/testutil.h"
#include "harness.h"
#include "eckey.h"

/*
 * Vector (docs/PROTOCOL.md §4.4): computed with Python's `cryptography`
 * (P-256 ECDH, AES-CCM) and a from-scratch Python Keccak/cSHAKE/KMAC128
 * checked against SP 800-185 sample 1; d_R = SHA-256("iomt ecies kat d_R")
 * mod n, e = SHA-256("iomt ecies kat e") mod n.
 */
static const char kat_d_r[] = "2702d04d9bf65c9f41a60e351b2b9b23eee9d1f402a76421ab539f634b771815";
static const char kat_q_r[] = "03b0af601af1822c3b4eb091ab01a871f1189967c2214d7cd7d8de34869262ca5a";
static const char kat_e[] = "5d2f0499d1fc1395f18595d5c20f911122d07752d38718effcdf752268080370";
static const char kat_E[] = "03a6ea0f93f7bf54d7f7ee0e2a5a24e130793f0437c0ed834dbdded3af3e2680ca";
static const char kat_aad[] = "iomt ecies kat";
static const char kat_pt[] = "ID_a and the device keys, sealed";
static const char kat_box[] =
	"03a6ea0f93f7bf54d7f7ee0e2a5a24e130793f0437c0ed834dbdded3af3e2680ca"
	"ae9f4c365fe19822e5d63680c1"
	"822897de16786d09c83c8d28f96ba44369d3f82462904e33ca710e14b3b7b6f6"
	"431059a2963649f3b89bd5d903770517";

static EVP_PKEY *kat_eph(void)
{
	return tu_ec_key(kat_e, kat_E);
}

static EVP_PKEY *p256_new(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	ASSERT_NONNULL(k);
	return k;
}

TEST(known_answer)
{
	EVP_PKEY *priv = tu_ec_key(kat_d_r, kat_q_r), *pub = tu_ec_key(NULL, kat_q_r);
	size_t ptlen = sizeof(kat_pt) - 1;
	uint8_t want[sizeof(kat_pt) - 1 + ECIES_OVERHEAD], box[sizeof(want)], pt[sizeof(kat_pt)];

	ASSERT_EQ(tu_hex(kat_box, want, sizeof(want)), sizeof(want));
	ecies_eph_hook = kat_eph;
	ASSERT_EQ(ecies_seal(pub, (const uint8_t *)kat_aad, sizeof(kat_aad) - 1,
			     (const uint8_t *)kat_pt, ptlen, box), 0);
	ecies_eph_hook = NULL;
	ASSERT_MEMEQ(box, want, sizeof(want));
	ASSERT_EQ(ecies_open(priv, (const uint8_t *)kat_aad, sizeof(kat_aad) - 1, want,
			     sizeof(want), pt), 0);
	ASSERT_MEMEQ(pt, kat_pt, ptlen);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
}

TEST(round_trip_lengths)
{
	static uint8_t pt[600], out[600], box[600 + ECIES_OVERHEAD];
	EVP_PKEY *k = p256_new();
	struct tu_rng r = { 0x5eed0ec1e5ULL };
	uint8_t aad[40];

	for (size_t len = 0; len <= sizeof(pt); len += len < 40 ? 1 : 37) {
		size_t alen = len % sizeof(aad);

		tu_fill(&r, pt, len);
		tu_fill(&r, aad, alen);
		ASSERT_EQ(ecies_seal(k, aad, alen, pt, len, box), 0);
		ASSERT_EQ(ecies_open(k, aad, alen, box, len + ECIES_OVERHEAD, out), 0);
		ASSERT_MEMEQ(out, pt, len);
	}
	/* NULL plaintext and aad with zero lengths. */
	ASSERT_EQ(ecies_seal(k, NULL, 0, NULL, 0, box), 0);
	ASSERT_EQ(ecies_open(k, NULL, 0, box, ECIES_OVERHEAD, NULL), 0);
	EVP_PKEY_free(k);
}

TEST(seal_is_fresh_each_time)
{
	EVP_PKEY *k = p256_new();
	uint8_t a[8 + ECIES_OVERHEAD], b[sizeof(a)];
	static const uint8_t pt[8] = "same pt";

	ASSERT_EQ(ecies_seal(k, NULL, 0, pt, sizeof(pt), a), 0);
	ASSERT_EQ(ecies_seal(k, NULL, 0, pt, sizeof(pt), b), 0);
	/* A new ephemeral key: new E, new K and N. */
	ASSERT_NE(memcmp(a, b, ECIES_POINT_LEN), 0);
	ASSERT_NE(memcmp(a + ECIES_POINT_LEN, b + ECIES_POINT_LEN, ECIES_NONCE_LEN), 0);
	EVP_PKEY_free(k);
}

/* Every byte of the box, two bit positions each: never opens, pt zeroed. */
TEST(every_byte_flipped)
{
	EVP_PKEY *k = p256_new();
	static const uint8_t aad[] = "nonce of the request";
	uint8_t pt[20], box[sizeof(pt) + ECIES_OVERHEAD], out[sizeof(pt)];

	memset(pt, 0x5a, sizeof(pt));
	ASSERT_EQ(ecies_seal(k, aad, sizeof(aad), pt, sizeof(pt), box), 0);
	for (size_t i = 0; i < sizeof(box); i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			int err;

			box[i] ^= (uint8_t)(1 << bit);
			memset(out, 0xee, sizeof(out));
			err = ecies_open(k, aad, sizeof(aad), box, sizeof(box), out);
			box[i] ^= (uint8_t)(1 << bit);
			if (err != IOMT_EAUTH && err != IOMT_EMALFORMED)
				TH_LOG("byte %zu bit %d: %d", i, bit, err);
			ASSERT_TRUE(err == IOMT_EAUTH || err == IOMT_EMALFORMED);
			ASSERT_TRUE(iomt_ct_is_zero(out, sizeof(out)));
		}
	}
	ASSERT_EQ(ecies_open(k, aad, sizeof(aad), box, sizeof(box), out), 0);
	EVP_PKEY_free(k);
}

TEST(wrong_key_and_wrong_aad)
{
	EVP_PKEY *k = p256_new(), *other = p256_new();
	static const uint8_t aad[4] = { 1, 2, 3, 4 };
	uint8_t pt[16] = "0123456789abcde", box[sizeof(pt) + ECIES_OVERHEAD], out[16];

	ASSERT_EQ(ecies_seal(k, aad, sizeof(aad), pt, sizeof(pt), box), 0);
	EXPECT_EQ(ecies_open(other, aad, sizeof(aad), box, sizeof(box), out), IOMT_EAUTH);
	EXPECT_EQ(ecies_open(k, aad, 3, box, sizeof(box), out), IOMT_EAUTH);
	EXPECT_EQ(ecies_open(k, NULL, 0, box, sizeof(box), out), IOMT_EAUTH);
	EXPECT_EQ(ecies_open(k, aad, sizeof(aad), box, sizeof(box), out), 0);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

TEST(cut_and_padded)
{
	EVP_PKEY *k = p256_new();
	uint8_t pt[10] = "ten bytes", box[sizeof(pt) + ECIES_OVERHEAD + 1], out[sizeof(pt) + 1];

	ASSERT_EQ(ecies_seal(k, NULL, 0, pt, sizeof(pt), box), 0);
	box[sizeof(box) - 1] = 0;
	/* One byte more or less moves the tag: authentication fails. */
	EXPECT_EQ(ecies_open(k, NULL, 0, box, sizeof(box), out), IOMT_EAUTH);
	EXPECT_EQ(ecies_open(k, NULL, 0, box, sizeof(box) - 2, out), IOMT_EAUTH);
	/* Shorter than E || N || tag: not a box at all. */
	EXPECT_EQ(ecies_open(k, NULL, 0, box, ECIES_OVERHEAD - 1, out), IOMT_ESIZE);
	EXPECT_EQ(ecies_open(k, NULL, 0, box, 0, out), IOMT_ESIZE);
	EXPECT_EQ(ecies_open(k, NULL, 0, box, (size_t)ECIES_PT_MAX + ECIES_OVERHEAD + 1, out),
		  IOMT_ESIZE);
	EXPECT_EQ(ecies_seal(k, NULL, 0, pt, (size_t)ECIES_PT_MAX + 1, box), IOMT_ESIZE);
	EVP_PKEY_free(k);
}

TEST(bad_ephemeral_points)
{
	EVP_PKEY *k = p256_new();
	uint8_t pt[4] = "abc", box[sizeof(pt) + ECIES_OVERHEAD], out[4];

	ASSERT_EQ(ecies_seal(k, NULL, 0, pt, sizeof(pt), box), 0);
	box[0] = 0x04;	/* not a compressed prefix */
	EXPECT_EQ(ecies_open(k, NULL, 0, box, sizeof(box), out), IOMT_EMALFORMED);
	box[0] = 0x00;
	EXPECT_EQ(ecies_open(k, NULL, 0, box, sizeof(box), out), IOMT_EMALFORMED);
	box[0] = 0x02;	/* x = p: not a field element */
	ASSERT_EQ(tu_hex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
			 box + 1, 32), 32);
	EXPECT_EQ(ecies_open(k, NULL, 0, box, sizeof(box), out), IOMT_EMALFORMED);
	/* x = 1: x^3 - 3x + b is not a square mod p, so no point has it. */
	memset(box + 1, 0, 32);
	box[32] = 1;
	EXPECT_EQ(ecies_open(k, NULL, 0, box, sizeof(box), out), IOMT_EMALFORMED);
	EVP_PKEY_free(k);
}

TEST(keys_of_the_wrong_kind)
{
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	EVP_PKEY *pub = tu_ec_key(NULL, kat_q_r);
	uint8_t pt[4] = "abc", box[sizeof(pt) + ECIES_OVERHEAD], out[4];

	ASSERT_TRUE(p384 && x25519);
	EXPECT_EQ(ecies_seal(p384, NULL, 0, pt, sizeof(pt), box), IOMT_EINVAL);
	EXPECT_EQ(ecies_seal(x25519, NULL, 0, pt, sizeof(pt), box), IOMT_EINVAL);
	EXPECT_EQ(ecies_seal(NULL, NULL, 0, pt, sizeof(pt), box), IOMT_EINVAL);
	ASSERT_EQ(ecies_seal(pub, NULL, 0, pt, sizeof(pt), box), 0);
	/* Opening needs the private part. */
	EXPECT_EQ(ecies_open(pub, NULL, 0, box, sizeof(box), out), IOMT_EINVAL);
	EXPECT_EQ(ecies_open(p384, NULL, 0, box, sizeof(box), out), IOMT_EINVAL);
	EXPECT_EQ(ecies_open(NULL, NULL, 0, box, sizeof(box), out), IOMT_EINVAL);
	EXPECT_EQ(ecies_open(pub, NULL, 1, box, sizeof(box), out), IOMT_EINVAL);
	/* Nothing of ours left on the thread's error queue. */
	EXPECT_EQ(ERR_peek_error(), 0);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(x25519);
	EVP_PKEY_free(pub);
}

TEST(key_from_scalar)
{
	static const char n_hex[] =
		"ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
	uint8_t d[ECIES_SCALAR_LEN], q[ECIES_POINT_LEN], want[ECIES_POINT_LEN];
	EVP_PKEY *k = NULL;

	ASSERT_EQ(tu_hex(kat_d_r, d, sizeof(d)), sizeof(d));
	ASSERT_EQ(tu_hex(kat_q_r, want, sizeof(want)), sizeof(want));
	ASSERT_EQ(ecies_key_from_scalar(d, &k), 0);
	ASSERT_EQ(pub33(k, q), 0);
	EXPECT_MEMEQ(q, want, sizeof(q));
	EVP_PKEY_free(k);
	/* Outside [1, n-1]: 0, n and all ones. */
	memset(d, 0, sizeof(d));
	EXPECT_EQ(ecies_key_from_scalar(d, &k), IOMT_EINVAL);
	EXPECT_NULL(k);
	ASSERT_EQ(tu_hex(n_hex, d, sizeof(d)), sizeof(d));
	EXPECT_EQ(ecies_key_from_scalar(d, &k), IOMT_EINVAL);
	memset(d, 0xff, sizeof(d));
	EXPECT_EQ(ecies_key_from_scalar(d, &k), IOMT_EINVAL);
	/* n - 1 is the largest scalar there is. */
	ASSERT_EQ(tu_hex(n_hex, d, sizeof(d)), sizeof(d));
	d[31]--;
	EXPECT_EQ(ecies_key_from_scalar(d, &k), 0);
	EVP_PKEY_free(k);
}
