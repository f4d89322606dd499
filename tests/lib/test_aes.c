/* SPDX-License-Identifier: MIT */
/* AES-128: published vectors (FIPS 197, SP 800-38A), batching, and a
 * differential test against OpenSSL, run once per implementation. */
#include <stdlib.h>
#include <openssl/evp.h>
#include "harness.h"
#include "testutil.h"
#include "aes.h"
#include "iomt_err.h"

/* Fixed-seed PRNG (splitmix64): reproducible inputs. */
/* Fixed-seed inputs and hex vectors: tests/common/testutil.h. */
static struct tu_rng prng;
#define unhex(s, out) tu_hex(s, out, sizeof(out))

static void openssl_ecb(const uint8_t key[16], const uint8_t *in, uint8_t *out, size_t nblocks)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len = 0;

	ASSERT_NONNULL(c);
	ASSERT_EQ(EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, key, NULL), 1);
	EVP_CIPHER_CTX_set_padding(c, 0);
	ASSERT_EQ(EVP_EncryptUpdate(c, out, &len, in, (int)(16 * nblocks)), 1);
	ASSERT_EQ((size_t)len, 16 * nblocks);
	EVP_CIPHER_CTX_free(c);
}

/* Every test runs on each implementation. */
FIXTURE(aes) {
	struct iomt_aes128 ctx;
};
FIXTURE_VARIANT(aes) {
	int hw;
};
FIXTURE_VARIANT_ADD(aes, portable) { .hw = 0 };
FIXTURE_VARIANT_ADD(aes, aesni) { .hw = 1 };
FIXTURE_SETUP(aes)
{
	if (iomt_aes_set_hw(variant->hw) == IOMT_EUNSUPP)
		SKIP(return, "this CPU has no AES-NI");
	ASSERT_EQ(iomt_aes_hw_active(), variant->hw);
	prng.s = 0x696f6d74u;  /* "iomt" */
}
FIXTURE_TEARDOWN(aes)
{
	iomt_aes128_wipe(&self->ctx);
}

static void check_vector(struct iomt_aes128 *ctx, const char *key_hex, const char *pt_hex,
			 const char *ct_hex)
{
	uint8_t key[16], pt[16], ct[16], out[16];

	ASSERT_EQ(unhex(key_hex, key), 16);
	ASSERT_EQ(unhex(pt_hex, pt), 16);
	ASSERT_EQ(unhex(ct_hex, ct), 16);
	ASSERT_EQ(iomt_aes128_init(ctx, key), IOMT_OK);
	iomt_aes128_encrypt(ctx, pt, out);
	ASSERT_MEMEQ(out, ct, 16);
}

TEST_F(aes, fips197_appendix_b)
{
	check_vector(&self->ctx, "2b7e151628aed2a6abf7158809cf4f3c",
		     "3243f6a8885a308d313198a2e0370734", "3925841d02dc09fbdc118597196a0b32");
}

TEST_F(aes, fips197_appendix_c1)
{
	check_vector(&self->ctx, "000102030405060708090a0b0c0d0e0f",
		     "00112233445566778899aabbccddeeff", "69c4e0d86a7b0430d8cdb78070b4c55a");
}

/* FIPS 197 Appendix A.1: the last word of the expansion, and w[4..7]. */
TEST_F(aes, fips197_key_expansion)
{
	uint8_t key[16], w4[16], w40[16];

	unhex("2b7e151628aed2a6abf7158809cf4f3c", key);
	unhex("a0fafe1788542cb123a339392a6c7605", w4);
	unhex("d014f9a8c9ee2589e13f0cc8b6630ca6", w40);
	ASSERT_EQ(iomt_aes128_init(&self->ctx, key), IOMT_OK);
	ASSERT_MEMEQ(self->ctx.rk[0], key, 16);
	ASSERT_MEMEQ(self->ctx.rk[1], w4, 16);
	ASSERT_MEMEQ(self->ctx.rk[10], w40, 16);
}

/* SP 800-38A F.1.1 ECB-AES128.Encrypt: four blocks in one call and one by one. */
TEST_F(aes, sp800_38a_f11_ecb)
{
	uint8_t key[16], pt[64], ct[64], out[64];

	unhex("2b7e151628aed2a6abf7158809cf4f3c", key);
	unhex("6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51"
	      "30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710", pt);
	unhex("3ad77bb40d7a3660a89ecaf32466ef97 f5d3d58503b9699de785895a96fdbaaf"
	      "43b1cd7f598ece23881b00e3ed030688 7b0c785e27e8ad3f8223207104725dd4", ct);
	ASSERT_EQ(iomt_aes128_init(&self->ctx, key), IOMT_OK);
	iomt_aes128_encrypt_blocks(&self->ctx, pt, out, 4);
	ASSERT_MEMEQ(out, ct, 64);
	memset(out, 0, sizeof(out));
	for (int i = 0; i < 4; i++)
		iomt_aes128_encrypt(&self->ctx, pt + 16 * i, out + 16 * i);
	ASSERT_MEMEQ(out, ct, 64);
	/* in == out */
	memcpy(out, pt, 64);
	iomt_aes128_encrypt_blocks(&self->ctx, out, out, 4);
	ASSERT_MEMEQ(out, ct, 64);
	memcpy(out, pt, 16);
	iomt_aes128_encrypt(&self->ctx, out, out);
	ASSERT_MEMEQ(out, ct, 16);
}

/* encrypt_blocks(n) equals n single calls, for every batch shape (8/4/2/1
 * groups, odd tails), and writes nothing past the n blocks. */
TEST_F(aes, blocks_equal_single_n0_to_40)
{
	enum { MAX = 40 };
	uint8_t key[16], in[16 * MAX], want[16 * MAX], out[16 * (MAX + 1)];

	tu_fill(&prng, key, sizeof(key));
	tu_fill(&prng, in, sizeof(in));
	ASSERT_EQ(iomt_aes128_init(&self->ctx, key), IOMT_OK);
	for (size_t i = 0; i < MAX; i++)
		iomt_aes128_encrypt(&self->ctx, in + 16 * i, want + 16 * i);
	for (size_t n = 0; n <= MAX; n++) {
		memset(out, 0xa5, sizeof(out));
		iomt_aes128_encrypt_blocks(&self->ctx, in, out, n);
		ASSERT_MEMEQ(out, want, 16 * n);
		for (size_t j = 16 * n; j < sizeof(out); j++)
			ASSERT_EQ(out[j], 0xa5);
		/* and in place */
		memcpy(out, in, 16 * n);
		iomt_aes128_encrypt_blocks(&self->ctx, out, out, n);
		ASSERT_MEMEQ(out, want, 16 * n);
	}
}

/* 4000 random keys, each on a random batch of 1..9 random blocks. */
TEST_F(aes, differential_openssl_random_keys)
{
	uint8_t key[16], in[16 * 9], out[16 * 9], ref[16 * 9];
	size_t total = 0;

	for (int i = 0; i < 4000; i++) {
		size_t n = 1 + tu_next(&prng) % 9;

		tu_fill(&prng, key, sizeof(key));
		tu_fill(&prng, in, 16 * n);
		ASSERT_EQ(iomt_aes128_init(&self->ctx, key), IOMT_OK);
		iomt_aes128_encrypt_blocks(&self->ctx, in, out, n);
		openssl_ecb(key, in, ref, n);
		ASSERT_MEMEQ(out, ref, 16 * n);
		total += n;
	}
	TH_LOG("%zu blocks under 4000 keys agree with OpenSSL", total);
}

/* Structured inputs random data rarely hits: all-zero and all-one keys and
 * blocks, single bits set. */
TEST_F(aes, differential_openssl_edge_inputs)
{
	uint8_t key[16], in[16 * 130], out[16 * 130], ref[16 * 130];
	const uint8_t fill[] = { 0x00, 0xff, 0x80, 0x01 };

	for (size_t f = 0; f < sizeof(fill); f++) {
		memset(key, fill[f], 16);
		memset(in, 0, 16);
		memset(in + 16, 0xff, 16);
		for (int b = 0; b < 128; b++) {
			memset(in + 32 + 16 * b, 0, 16);
			in[32 + 16 * b + b / 8] = (uint8_t)(1u << (b % 8));
		}
		ASSERT_EQ(iomt_aes128_init(&self->ctx, key), IOMT_OK);
		iomt_aes128_encrypt_blocks(&self->ctx, in, out, 130);
		openssl_ecb(key, in, ref, 130);
		ASSERT_MEMEQ(out, ref, sizeof(out));
	}
}

TEST_F(aes, context_reused_across_rekey)
{
	uint8_t k1[16], k2[16], in[16], a[16], b[16];
	struct iomt_aes128 fresh;

	tu_fill(&prng, k1, 16);
	tu_fill(&prng, k2, 16);
	tu_fill(&prng, in, 16);
	ASSERT_EQ(iomt_aes128_init(&self->ctx, k1), IOMT_OK);
	ASSERT_EQ(iomt_aes128_init(&self->ctx, k2), IOMT_OK);
	ASSERT_EQ(iomt_aes128_init(&fresh, k2), IOMT_OK);
	ASSERT_MEMEQ(&self->ctx, &fresh, sizeof(fresh));
	iomt_aes128_encrypt(&self->ctx, in, a);
	iomt_aes128_encrypt(&fresh, in, b);
	ASSERT_MEMEQ(a, b, 16);
	iomt_aes128_wipe(&fresh);
}

TEST(init_rejects_null)
{
	struct iomt_aes128 ctx;
	uint8_t key[16] = { 0 };

	ASSERT_EQ(iomt_aes128_init(NULL, key), IOMT_EINVAL);
	ASSERT_EQ(iomt_aes128_init(&ctx, NULL), IOMT_EINVAL);
}

TEST(wipe_zeroes_context)
{
	struct iomt_aes128 ctx;
	uint8_t key[16];

	memset(key, 0x5c, sizeof(key));
	ASSERT_EQ(iomt_aes128_init(&ctx, key), IOMT_OK);
	iomt_aes128_wipe(&ctx);
	for (size_t i = 0; i < sizeof(ctx); i++)
		ASSERT_EQ(((const uint8_t *)&ctx)[i], 0);
}

TEST(set_hw_rejects_bad_values)
{
	ASSERT_EQ(iomt_aes_set_hw(2), IOMT_EINVAL);
	ASSERT_EQ(iomt_aes_set_hw(-1), IOMT_EINVAL);
	ASSERT_EQ(iomt_aes_set_hw(0), IOMT_OK);
	ASSERT_EQ(iomt_aes_hw_active(), 0);
#ifndef IOMT_X86
	ASSERT_EQ(iomt_aes_set_hw(1), IOMT_EUNSUPP);
#endif
}

/* The AES-NI key expansion gives the FIPS 197 schedule, byte for byte. */
TEST(aesni_key_expansion_equals_portable)
{
	struct iomt_aes128 hw, sw;
	uint8_t key[16];

	if (iomt_aes_set_hw(1) != IOMT_OK)
		SKIP(return, "this CPU has no AES-NI");
	prng.s = 43;
	for (int i = 0; i < 500; i++) {
		tu_fill(&prng, key, 16);
		ASSERT_EQ(iomt_aes_set_hw(1), IOMT_OK);
		ASSERT_EQ(iomt_aes128_init(&hw, key), IOMT_OK);
		ASSERT_EQ(hw.sliced, 0);
		ASSERT_EQ(iomt_aes_set_hw(0), IOMT_OK);
		ASSERT_EQ(iomt_aes128_init(&sw, key), IOMT_OK);
		ASSERT_EQ(sw.sliced, 1);
		ASSERT_MEMEQ(hw.rk, sw.rk, sizeof(hw.rk));
	}
}

/* One context serves both implementations, switched between calls. */
TEST(portable_and_aesni_agree)
{
	struct iomt_aes128 ctx;
	uint8_t key[16], in[16 * 37], a[16 * 37], b[16 * 37];

	if (iomt_aes_set_hw(1) != IOMT_OK)
		SKIP(return, "this CPU has no AES-NI");
	prng.s = 42;
	for (int i = 0; i < 200; i++) {
		size_t n = 1 + tu_next(&prng) % 37;

		tu_fill(&prng, key, 16);
		tu_fill(&prng, in, 16 * n);
		ASSERT_EQ(iomt_aes128_init(&ctx, key), IOMT_OK);
		ASSERT_EQ(iomt_aes_set_hw(1), IOMT_OK);
		iomt_aes128_encrypt_blocks(&ctx, in, a, n);
		ASSERT_EQ(iomt_aes_set_hw(0), IOMT_OK);
		iomt_aes128_encrypt_blocks(&ctx, in, b, n);
		ASSERT_MEMEQ(a, b, 16 * n);
	}
	iomt_aes128_wipe(&ctx);
}

/* lib/aes.c compiled a second time as 32-bit CPUs build it (IOMT_AES_32):
 * the column-word AES with a computed S-box, no AES-NI; under
 * a32_* names. The context is the host's (its sk[] and sliced stay zero). */
#undef IOMT_AES_32
#define IOMT_AES_32 1
#define iomt_aes128_init(...) a32_init(__VA_ARGS__)
#define iomt_aes128_encrypt(...) a32_encrypt(__VA_ARGS__)
#define iomt_aes128_encrypt_blocks(...) a32_encrypt_blocks(__VA_ARGS__)
#define iomt_aes128_wipe(...) a32_wipe(__VA_ARGS__)
#define iomt_aes_set_hw(...) a32_set_hw(__VA_ARGS__)
#define iomt_aes_hw_active(...) a32_hw_active(__VA_ARGS__)
#include "aes.c"
#undef iomt_aes128_init
#undef iomt_aes128_encrypt
#undef iomt_aes128_encrypt_blocks
#undef iomt_aes128_wipe
#undef iomt_aes_set_hw
#undef iomt_aes_hw_active

static void a32_check_vector(const char *key_hex, const char *pt_hex, const char *ct_hex)
{
	struct iomt_aes128 ctx;
	uint8_t key[16], pt[16], ct[16], out[16];

	ASSERT_EQ(unhex(key_hex, key), 16);
	ASSERT_EQ(unhex(pt_hex, pt), 16);
	ASSERT_EQ(unhex(ct_hex, ct), 16);
	ASSERT_EQ(a32_init(&ctx, key), IOMT_OK);
	a32_encrypt(&ctx, pt, out);
	ASSERT_MEMEQ(out, ct, 16);
	/* in == out */
	a32_encrypt(&ctx, pt, pt);
	ASSERT_MEMEQ(pt, ct, 16);
	a32_wipe(&ctx);
}

TEST(aes32_fips197_and_sp800_38a)
{
	struct iomt_aes128 ctx;
	uint8_t key[16] = { 0 }, w4[16], w40[16], pt[64], ct[64], out[64];

	ASSERT_EQ(a32_init(NULL, key), IOMT_EINVAL);
	ASSERT_EQ(a32_set_hw(1), IOMT_EUNSUPP);
	ASSERT_EQ(a32_hw_active(), 0);
	a32_check_vector("2b7e151628aed2a6abf7158809cf4f3c", "3243f6a8885a308d313198a2e0370734",
			 "3925841d02dc09fbdc118597196a0b32");
	a32_check_vector("000102030405060708090a0b0c0d0e0f", "00112233445566778899aabbccddeeff",
			 "69c4e0d86a7b0430d8cdb78070b4c55a");
	unhex("2b7e151628aed2a6abf7158809cf4f3c", key);
	unhex("a0fafe1788542cb123a339392a6c7605", w4);
	unhex("d014f9a8c9ee2589e13f0cc8b6630ca6", w40);
	ASSERT_EQ(a32_init(&ctx, key), IOMT_OK);
	ASSERT_EQ(ctx.sliced, 0);
	ASSERT_MEMEQ(ctx.rk[0], key, 16);
	ASSERT_MEMEQ(ctx.rk[1], w4, 16);
	ASSERT_MEMEQ(ctx.rk[10], w40, 16);
	unhex("6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51"
	      "30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710", pt);
	unhex("3ad77bb40d7a3660a89ecaf32466ef97 f5d3d58503b9699de785895a96fdbaaf"
	      "43b1cd7f598ece23881b00e3ed030688 7b0c785e27e8ad3f8223207104725dd4", ct);
	a32_encrypt_blocks(&ctx, pt, out, 4);
	ASSERT_MEMEQ(out, ct, 64);
	memcpy(out, pt, 64);
	a32_encrypt_blocks(&ctx, out, out, 4);
	ASSERT_MEMEQ(out, ct, 64);
	a32_wipe(&ctx);
	for (size_t i = 0; i < sizeof(ctx); i++)
		ASSERT_EQ(((const uint8_t *)&ctx)[i], 0);
}

/* Every batch shape (pairs, an odd tail), in place or not, writing nothing
 * past the n blocks, equals the host build's single-block calls; and the
 * byte schedule equals the host's. */
TEST(aes32_blocks_equal_host_n0_to_40)
{
	enum { MAX = 40 };
	struct iomt_aes128 host, ctx;
	uint8_t key[16], in[16 * MAX], want[16 * MAX], out[16 * (MAX + 1)];
	struct tu_rng r = { 0x0a32 };

	ASSERT_EQ(iomt_aes_set_hw(0), IOMT_OK);
	for (int k = 0; k < 20; k++) {
		tu_fill(&r, key, sizeof(key));
		tu_fill(&r, in, sizeof(in));
		ASSERT_EQ(iomt_aes128_init(&host, key), IOMT_OK);
		ASSERT_EQ(a32_init(&ctx, key), IOMT_OK);
		ASSERT_MEMEQ(ctx.rk, host.rk, sizeof(host.rk));
		for (size_t i = 0; i < MAX; i++)
			iomt_aes128_encrypt(&host, in + 16 * i, want + 16 * i);
		for (size_t n = 0; n <= MAX; n++) {
			memset(out, 0xa5, sizeof(out));
			a32_encrypt_blocks(&ctx, in, out, n);
			ASSERT_MEMEQ(out, want, 16 * n);
			for (size_t j = 16 * n; j < sizeof(out); j++)
				ASSERT_EQ(out[j], 0xa5);
			memcpy(out, in, 16 * n);
			a32_encrypt_blocks(&ctx, out, out, n);
			ASSERT_MEMEQ(out, want, 16 * n);
		}
	}
	iomt_aes128_wipe(&host);
	a32_wipe(&ctx);
}

/* 4000 random keys, each on a random batch of 1..9 random blocks. */
TEST(aes32_differential_openssl_random_keys)
{
	struct iomt_aes128 ctx;
	uint8_t key[16], in[16 * 9], out[16 * 9], ref[16 * 9];
	struct tu_rng r = { 0x32a };
	size_t total = 0;

	for (int i = 0; i < 4000; i++) {
		size_t n = 1 + tu_next(&r) % 9;

		tu_fill(&r, key, sizeof(key));
		tu_fill(&r, in, 16 * n);
		ASSERT_EQ(a32_init(&ctx, key), IOMT_OK);
		a32_encrypt_blocks(&ctx, in, out, n);
		openssl_ecb(key, in, ref, n);
		ASSERT_MEMEQ(out, ref, 16 * n);
		total += n;
	}
	a32_wipe(&ctx);
	TH_LOG("%zu blocks under 4000 keys agree with OpenSSL", total);
}

/* The firmware's context (IOMT_AES_KEY_ONLY) holds the key alone, rk[0]:
 * the 32-bit path must expand every round key on the fly from it. The
 * host's context with everything but rk[0] zeroed stands in for it. */
TEST(aes32_key_only_context_rk0_alone)
{
	struct iomt_aes128 ctx;
	uint8_t key[16], in[16 * 5], out[16 * 5], ref[16 * 5];
	struct tu_rng r = { 0x0c0 };

	for (int i = 0; i < 200; i++) {
		size_t n = 1 + tu_next(&r) % 5;

		tu_fill(&r, key, sizeof(key));
		tu_fill(&r, in, 16 * n);
		ASSERT_EQ(a32_init(&ctx, key), IOMT_OK);
		ASSERT_MEMEQ(ctx.rk[0], key, 16);
		memset(ctx.rk[1], 0, sizeof(ctx.rk) - sizeof(ctx.rk[0]));
		a32_encrypt_blocks(&ctx, in, out, n);
		openssl_ecb(key, in, ref, n);
		ASSERT_MEMEQ(out, ref, 16 * n);
	}
	a32_wipe(&ctx);
}

/* Reference S-box from its definition, byte by byte: the inverse by search. */
static uint8_t ref_sbox(uint8_t x)
{
	uint8_t inv = 0, s;

	for (unsigned y = 1; y < 256 && x; y++) {
		unsigned a = x, b = y, p = 0;

		for (int i = 0; i < 8; i++, b >>= 1) {
			if (b & 1)
				p ^= a;
			a = (a << 1) ^ (a & 0x80 ? 0x11b : 0);
		}
		if (p == 1)
			inv = (uint8_t)y;
	}
	s = inv ^ 0x63;
	for (int k = 1; k <= 4; k++)
		s ^= (uint8_t)(inv << k | inv >> (8 - k));
	return s;
}

/* The computed S-box of the 32-bit path on all 256 bytes, in every lane of
 * the word (FIPS 197 figure 7: S(0x00) = 0x63, S(0x53) = 0xed). */
TEST(aes32_sbox_all_bytes)
{
	ASSERT_EQ(ref_sbox(0x00), 0x63);
	ASSERT_EQ(ref_sbox(0x53), 0xed);
	for (unsigned x = 0; x < 256; x++) {
		uint32_t w = x | (x ^ 0x5a) << 8 | (255 - x) << 16 | ((x * 7) & 0xff) << 24;
		uint32_t s = sub_word4(w);

		for (int i = 0; i < 4; i++)
			ASSERT_EQ((s >> 8 * i) & 0xff, ref_sbox((uint8_t)(w >> 8 * i)));
	}
}
