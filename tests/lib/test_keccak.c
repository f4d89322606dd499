/* SPDX-License-Identifier: MIT */
/* Keccak-f[1600]: the Keccak team's published intermediate values for the
 * scalar permutation, batch (x4, x8) == scalar under every width limit, and
 * iomt_keccak_set_width()'s error codes and effect. */
#include "harness.h"
#include "testutil.h"
#include "keccak.h"
#include "keccak_impl.h"
#include "iomt_err.h"

enum { KAT_WORDS = IOMT_KECCAK_WORDS, RANDOM_BATCHES = 1000 };

/* Keccak-f[1600] of the all-zero state, applied once and twice: the Keccak
 * team's "KeccakF-1600-IntermediateValues.txt" (also in XKCP's
 * tests/TestVectors), lanes in order x + 5y. */
static const uint64_t kat_once[KAT_WORDS] = {
	0xF1258F7940E1DDE7ULL, 0x84D5CCF933C0478AULL, 0xD598261EA65AA9EEULL,
	0xBD1547306F80494DULL, 0x8B284E056253D057ULL, 0xFF97A42D7F8E6FD4ULL,
	0x90FEE5A0A44647C4ULL, 0x8C5BDA0CD6192E76ULL, 0xAD30A6F71B19059CULL,
	0x30935AB7D08FFC64ULL, 0xEB5AA93F2317D635ULL, 0xA9A6E6260D712103ULL,
	0x81A57C16DBCF555FULL, 0x43B831CD0347C826ULL, 0x01F22F1A11A5569FULL,
	0x05E5635A21D9AE61ULL, 0x64BEFEF28CC970F2ULL, 0x613670957BC46611ULL,
	0xB87C5A554FD00ECBULL, 0x8C3EE88A1CCF32C8ULL, 0x940C7922AE3A2614ULL,
	0x1841F924A2C509E4ULL, 0x16F53526E70465C2ULL, 0x75F644E97F30A13BULL,
	0xEAF1FF7B5CECA249ULL,
};

static const uint64_t kat_twice[KAT_WORDS] = {
	0x2D5C954DF96ECB3CULL, 0x6A332CD07057B56DULL, 0x093D8D1270D76B6CULL,
	0x8A20D9B25569D094ULL, 0x4F9C4F99E5E7F156ULL, 0xF957B9A2DA65FB38ULL,
	0x85773DAE1275AF0DULL, 0xFAF4F247C3D810F7ULL, 0x1F1B9EE6F79A8759ULL,
	0xE4FECC0FEE98B425ULL, 0x68CE61B6B9CE68A1ULL, 0xDEEA66C4BA8F974FULL,
	0x33C43D836EAFB1F5ULL, 0xE00654042719DBD9ULL, 0x7CF8A9F009831265ULL,
	0xFD5449A6BF174743ULL, 0x97DDAD33D8994B40ULL, 0x48EAD5FC5D0BE774ULL,
	0xE3B8C8EE55B7B03CULL, 0x91A0226E649E42E9ULL, 0x900E3129E7BADD7BULL,
	0x202A9EC5FAA3CCE8ULL, 0x5B3402464E1C3DB6ULL, 0x609F4E62A44C1059ULL,
	0x20D06CD26A8FBF5CULL,
};

/* The widest batch this CPU and build can run: what the library must pick
 * by default, and the largest width set_width may accept. */
static unsigned widest_supported(void)
{
#ifdef IOMT_X86
	if (iomt_cpu_has_avx512())
		return 8;
	if (iomt_cpu_has_avx2())
		return 4;
#endif
	return 1;
}

TEST(scalar_zero_state_once_and_twice)
{
	uint64_t st[KAT_WORDS] = { 0 };

	iomt_keccak_f1600(st);
	ASSERT_EQ(st[0], 0xF1258F7940E1DDE7ULL);
	ASSERT_MEMEQ(st, kat_once, sizeof(st));
	iomt_keccak_f1600(st);
	ASSERT_MEMEQ(st, kat_twice, sizeof(st));
}

#ifdef IOMT_X86
/* The dispatcher picks one scalar build; check both on every x86 machine. */
TEST(portable_and_bmi2_builds_known_answer)
{
	uint64_t st[KAT_WORDS] = { 0 };

	iomt_keccak_f1600_portable(st);
	ASSERT_MEMEQ(st, kat_once, sizeof(st));
	iomt_keccak_f1600_portable(st);
	ASSERT_MEMEQ(st, kat_twice, sizeof(st));
	if (!iomt_cpu_has_bmi2())
		SKIP(return, "this CPU has no BMI2");
	memset(st, 0, sizeof(st));
	iomt_keccak_f1600_bmi2(st);
	ASSERT_MEMEQ(st, kat_once, sizeof(st));
}
#endif

/* ---- batch == scalar, once per width limit ---- */

FIXTURE(width) {
	struct tu_rng rng;
};

FIXTURE_VARIANT(width) {
	unsigned width;
	const char *needs;  /* instruction set, for the skip reason */
};

FIXTURE_VARIANT_ADD(width, portable) { .width = 1, .needs = "nothing" };
FIXTURE_VARIANT_ADD(width, avx2) { .width = 4, .needs = "AVX2" };
FIXTURE_VARIANT_ADD(width, avx512) { .width = 8, .needs = "AVX-512 F+VL" };

FIXTURE_SETUP(width)
{
	int rc = iomt_keccak_set_width(variant->width);

	if (rc == IOMT_EUNSUPP)
		SKIP(return, "width %u needs %s, which this CPU/build lacks",
		     variant->width, variant->needs);
	ASSERT_EQ(rc, IOMT_OK);
	self->rng.s = 0x6b656363616bULL + variant->width;
}

FIXTURE_TEARDOWN(width)
{
}

/* n interleaved random states, each permuted by the batch call and, one
 * instance at a time, by the scalar code. Every other call uses an array
 * one word off its natural alignment, as callers' arrays may be. */
static void check_batch(struct tu_rng *rng, unsigned n,
			void (*batch)(uint64_t *), unsigned calls)
{
	uint64_t buf[IOMT_KECCAK_WORDS * IOMT_KECCAK_BATCH_MAX + 1];
	uint64_t one[IOMT_KECCAK_WORDS];

	for (unsigned c = 0; c < calls; c++) {
		uint64_t *st = buf + (c & 1);
		uint64_t want[IOMT_KECCAK_BATCH_MAX][IOMT_KECCAK_WORDS];

		for (unsigned i = 0; i < IOMT_KECCAK_WORDS * n; i++)
			st[i] = tu_next(rng);
		for (unsigned l = 0; l < n; l++) {
			for (unsigned w = 0; w < IOMT_KECCAK_WORDS; w++)
				one[w] = st[w * n + l];
			iomt_keccak_f1600(one);
			memcpy(want[l], one, sizeof(one));
		}
		batch(st);
		for (unsigned l = 0; l < n; l++)
			for (unsigned w = 0; w < IOMT_KECCAK_WORDS; w++)
				if (st[w * n + l] != want[l][w]) {
					TH_LOG("call %u, instance %u of %u, word %u", c, l, n, w);
					ASSERT_EQ(st[w * n + l], want[l][w]);
				}
	}
}

TEST_F(width, batch_width_reflects_limit)
{
	ASSERT_EQ(iomt_keccak_batch_width(), variant->width);
}

TEST_F(width, x4_matches_scalar)
{
	check_batch(&self->rng, 4, iomt_keccak_f1600_x4, RANDOM_BATCHES);
}

/* Under width 4 this runs the two-AVX2-halves path of keccak.c. */
TEST_F(width, x8_matches_scalar)
{
	check_batch(&self->rng, 8, iomt_keccak_f1600_x8, RANDOM_BATCHES);
}

/* The published values through each batch path: one instance from zero,
 * the others holding the first result, so every lane must come out right
 * on its own, not merely agree with the scalar code. */
TEST_F(width, batch_zero_state_known_answer)
{
	uint64_t st4[IOMT_KECCAK_WORDS * 4], st8[IOMT_KECCAK_WORDS * 8];

	for (unsigned w = 0; w < IOMT_KECCAK_WORDS; w++) {
		for (unsigned l = 0; l < 4; l++)
			st4[w * 4 + l] = l == 2 ? 0 : kat_once[w];
		for (unsigned l = 0; l < 8; l++)
			st8[w * 8 + l] = l == 5 ? 0 : kat_once[w];
	}
	iomt_keccak_f1600_x4(st4);
	iomt_keccak_f1600_x8(st8);
	for (unsigned w = 0; w < IOMT_KECCAK_WORDS; w++) {
		for (unsigned l = 0; l < 4; l++)
			ASSERT_EQ(st4[w * 4 + l], l == 2 ? kat_once[w] : kat_twice[w]);
		for (unsigned l = 0; l < 8; l++)
			ASSERT_EQ(st8[w * 8 + l], l == 5 ? kat_once[w] : kat_twice[w]);
	}
}

/* ---- the width limit itself ---- */

TEST(default_width_is_widest_supported)
{
	ASSERT_EQ(iomt_keccak_batch_width(), widest_supported());
}

TEST(set_width_rejects_other_values)
{
	unsigned before = iomt_keccak_batch_width();

	ASSERT_EQ(iomt_keccak_set_width(2), IOMT_EINVAL);
	ASSERT_EQ(iomt_keccak_set_width(0), IOMT_EINVAL);
	ASSERT_EQ(iomt_keccak_set_width(16), IOMT_EINVAL);
	ASSERT_EQ(iomt_keccak_set_width(3), IOMT_EINVAL);
	ASSERT_EQ(iomt_keccak_set_width(~0u), IOMT_EINVAL);
	/* A rejected call leaves the limit as it was. */
	ASSERT_EQ(iomt_keccak_batch_width(), before);
}

TEST(set_width_limits_batch_width)
{
	unsigned top = widest_supported();
	static const unsigned widths[] = { 8, 4, 1, 4, 8 };

	for (unsigned i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
		unsigned w = widths[i];

		if (w > top) {
			/* Unsupported: refused, and the previous limit stays. */
			unsigned before = iomt_keccak_batch_width();

			ASSERT_EQ(iomt_keccak_set_width(w), IOMT_EUNSUPP);
			ASSERT_EQ(iomt_keccak_batch_width(), before);
			continue;
		}
		ASSERT_EQ(iomt_keccak_set_width(w), IOMT_OK);
		ASSERT_EQ(iomt_keccak_batch_width(), w);
	}
}

/* ---- the bit-interleaved 32-bit permutation (lib/keccak32.c) ---- */

enum { RANDOM_32_STATES = 10000 };

TEST(keccak32_zero_state_known_answer)
{
	uint64_t st[KAT_WORDS] = { 0 };

	iomt_keccak_f1600_32(st);
	ASSERT_MEMEQ(st, kat_once, sizeof(st));
	iomt_keccak_f1600_32(st);
	ASSERT_MEMEQ(st, kat_twice, sizeof(st));
}

/* Random states, and states with a single bit set (every lane, every bit
 * position: each rotation's even/odd split is exercised on its own). */
TEST(keccak32_matches_64bit_code)
{
	struct tu_rng rng = { 0x3332424954ULL };
	uint64_t a[KAT_WORDS], b[KAT_WORDS];

	for (unsigned n = 0; n < RANDOM_32_STATES + 25 * 64; n++) {
		if (n < RANDOM_32_STATES) {
			for (unsigned w = 0; w < KAT_WORDS; w++)
				a[w] = tu_next(&rng);
		} else {
			unsigned bit = n - RANDOM_32_STATES;

			memset(a, 0, sizeof(a));
			a[bit / 64] = 1ULL << (bit % 64);
		}
		memcpy(b, a, sizeof(a));
#ifdef IOMT_X86
		iomt_keccak_f1600_portable(a);
#else
		iomt_keccak_f1600(a);
#endif
		iomt_keccak_f1600_32(b);
		if (memcmp(a, b, sizeof(a))) {
			TH_LOG("state %u", n);
			ASSERT_MEMEQ(b, a, sizeof(a));
		}
	}
}

#ifdef IOMT_X86
/* The switch the SHAKE/KMAC tests use to run everything on the 32-bit code. */
TEST(force_32_routes_scalar_calls)
{
	uint64_t st[KAT_WORDS] = { 0 };

	iomt_keccak_force_32(1);
	iomt_keccak_f1600(st);
	ASSERT_MEMEQ(st, kat_once, sizeof(st));
	iomt_keccak_force_32(0);
	iomt_keccak_f1600(st);
	ASSERT_MEMEQ(st, kat_twice, sizeof(st));
}
#endif
