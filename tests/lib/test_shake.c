/* SPDX-License-Identifier: MIT */
/* SHAKE128: FIPS 202 examples, differential against OpenSSL over every
 * length 0..600, incremental == one-shot, batch == scalar at every width. */
#include <openssl/evp.h>
#include "harness.h"
#include "testutil.h"
#include "shake.h"
#include "iomt_err.h"

static void openssl_shake128(const uint8_t *in, size_t len, uint8_t *out, size_t outlen)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (!c || !EVP_DigestInit_ex(c, EVP_shake128(), NULL) ||
	    !EVP_DigestUpdate(c, in, len) || !EVP_DigestFinalXOF(c, out, outlen)) {
		TH_LOG("OpenSSL SHAKE128 failed");
		ASSERT_TRUE(0);
	}
	EVP_MD_CTX_free(c);
}

/* FIPS 202 example values (NIST CSRC "SHAKE128_Msg0" and "_Msg1600"). */
TEST(fips202_empty_message)
{
	uint8_t want[32], got[32];

	ASSERT_EQ(tu_hex("7F9C2BA4E88F827D616045507605853ED73B8093F6EFBC88EB1A6EACFA66EF26",
			 want, sizeof(want)), 32);
	iomt_shake128("", 0, got, sizeof(got));
	ASSERT_MEMEQ(got, want, 32);
}

TEST(fips202_1600_bits_of_a3)
{
	uint8_t msg[200], want[32], got[32];

	memset(msg, 0xa3, sizeof(msg));
	ASSERT_EQ(tu_hex("131AB8D2B594946B9C81333F9BB6E0CE75C3B93104FA3469D3917457385DA037",
			 want, sizeof(want)), 32);
	iomt_shake128(msg, sizeof(msg), got, sizeof(got));
	ASSERT_MEMEQ(got, want, 32);
}

TEST(matches_openssl_every_length)
{
	struct tu_rng r = { 0x5a4e1 };
	uint8_t in[601], want[512], got[512];

	for (size_t len = 0; len <= 600; len++) {
		size_t outlen = 1 + tu_next(&r) % 511;

		tu_fill(&r, in, len);
		openssl_shake128(in, len, want, outlen);
		iomt_shake128(in, len, got, outlen);
		ASSERT_MEMEQ(got, want, outlen);
	}
}

TEST(incremental_equals_one_shot)
{
	struct tu_rng r = { 77 };
	uint8_t in[700], want[400], got[400];

	for (int round = 0; round < 2000; round++) {
		size_t len = tu_next(&r) % sizeof(in), outlen = 1 + tu_next(&r) % sizeof(want);
		struct iomt_shake128 s;
		size_t off = 0;

		tu_fill(&r, in, len);
		iomt_shake128(in, len, want, outlen);
		iomt_shake128_init(&s);
		while (off < len) {
			size_t step = 1 + tu_next(&r) % 200;

			step = step > len - off ? len - off : step;
			ASSERT_EQ(iomt_shake128_absorb(&s, in + off, step), IOMT_OK);
			off += step;
		}
		for (off = 0; off < outlen;) {
			size_t step = 1 + tu_next(&r) % 200;

			step = step > outlen - off ? outlen - off : step;
			iomt_shake128_squeeze(&s, got + off, step);
			off += step;
		}
		ASSERT_MEMEQ(got, want, outlen);
	}
}

TEST(absorb_after_squeeze_is_refused)
{
	struct iomt_shake128 s;
	uint8_t out[4];

	iomt_shake128_init(&s);
	iomt_shake128_squeeze(&s, out, sizeof(out));
	ASSERT_EQ(iomt_shake128_absorb(&s, "x", 1), IOMT_ESTATE);
	iomt_shake128_wipe(&s);
	ASSERT_EQ(s.pos, 0);
	ASSERT_EQ(s.st[0], 0);
}

#include "width_fixture.h"

/* Every lane count 0..20 with equal, then mixed, lengths; outputs > 1 block. */
TEST_F(batch, equals_scalar)
{
	struct tu_rng r = { 0xb47c + self->width };
	static uint8_t msgs[20][400], outs[20][300], want[300];
	const uint8_t *in[20];
	uint8_t *out[20];
	size_t len[20];

	for (int mixed = 0; mixed < 2; mixed++)
		for (size_t n = 0; n <= 20; n++) {
			size_t outlen = mixed ? 1 + tu_next(&r) % 300 : 80;
			size_t base = tu_next(&r) % 400;

			for (size_t i = 0; i < n; i++) {
				len[i] = mixed ? tu_next(&r) % 400 : base;
				tu_fill(&r, msgs[i], len[i]);
				in[i] = msgs[i];
				out[i] = outs[i];
			}
			ASSERT_EQ(iomt_shake128_batch(in, len, out, outlen, n), IOMT_OK);
			for (size_t i = 0; i < n; i++) {
				iomt_shake128(in[i], len[i], want, outlen);
				ASSERT_MEMEQ(outs[i], want, outlen);
			}
		}
}

TEST_F(batch, block_boundary_lengths)
{
	static const size_t lens[] = { 0, 1, 167, 168, 169, 335, 336, 337 };
	static uint8_t msgs[8][400], outs[8][200], want[200];
	const uint8_t *in[8];
	uint8_t *out[8];
	size_t len[8];

	for (size_t i = 0; i < 8; i++) {
		memset(msgs[i], (int)i + 1, lens[i]);
		len[i] = lens[i];
		in[i] = msgs[i];
		out[i] = outs[i];
	}
	ASSERT_EQ(iomt_shake128_batch(in, len, out, 169, 8), IOMT_OK);
	for (size_t i = 0; i < 8; i++) {
		openssl_shake128(in[i], len[i], want, 169);
		ASSERT_MEMEQ(outs[i], want, 169);
	}
}

/* iomt-gwd --baseline's hook: every message of a batch goes through the
 * one-shot given, once; NULL restores the lanes. Same outputs either way. */
static unsigned override_calls;

static void counting_oneshot(const void *in, size_t inlen, void *out, size_t outlen)
{
	override_calls++;
	iomt_shake128(in, inlen, out, outlen);
}

TEST(batch_override_hashes_each_message_once_then_restores)
{
	uint8_t msg[5][200], got[5][32], want[5][32];
	const uint8_t *in[5];
	uint8_t *out[5];
	size_t len[5];

	for (int i = 0; i < 5; i++) {
		memset(msg[i], 0x30 + i, sizeof(msg[i]));
		in[i] = msg[i];
		out[i] = got[i];
		len[i] = (size_t)(i * 40);
		iomt_shake128(msg[i], len[i], want[i], 32);
	}
	iomt_shake128_batch_override(counting_oneshot);
	ASSERT_EQ(iomt_shake128_batch(in, len, out, 32, 5), IOMT_OK);
	iomt_shake128_batch_override(NULL);
	EXPECT_EQ(override_calls, 5u);
	ASSERT_MEMEQ(got, want, sizeof(got));
	/* Checks still come first; restored, the hook is not called again. */
	iomt_shake128_batch_override(counting_oneshot);
	EXPECT_EQ(iomt_shake128_batch(NULL, len, out, 32, 1), IOMT_EINVAL);
	iomt_shake128_batch_override(NULL);
	memset(got, 0, sizeof(got));
	ASSERT_EQ(iomt_shake128_batch(in, len, out, 32, 5), IOMT_OK);
	EXPECT_EQ(override_calls, 5u);
	ASSERT_MEMEQ(got, want, sizeof(got));
}

TEST(batch_rejects_null)
{
	uint8_t buf[8];
	const uint8_t *in[1] = { NULL };
	uint8_t *out[1] = { buf };
	size_t len[1] = { 3 };

	ASSERT_EQ(iomt_shake128_batch(in, len, out, 8, 1), IOMT_EINVAL);
	ASSERT_EQ(iomt_shake128_batch(NULL, len, out, 8, 1), IOMT_EINVAL);
	ASSERT_EQ(iomt_shake128_batch(NULL, NULL, NULL, 8, 0), IOMT_OK);
}

/* ---- the 32-bit CPUs' path, run on this host ---- */

#include "keccak_impl.h"

#ifdef IOMT_X86

/* Every SHAKE128 call of this process on lib/keccak32.c's permutation. */
TEST(keccak32_forced_fips202_and_openssl)
{
	struct tu_rng r = { 0x3332 };
	uint8_t in[601], want[512], got[512];

	iomt_keccak_force_32(1);
	ASSERT_EQ(tu_hex("7F9C2BA4E88F827D616045507605853ED73B8093F6EFBC88EB1A6EACFA66EF26",
			 want, 32), 32);
	iomt_shake128("", 0, got, 32);
	ASSERT_MEMEQ(got, want, 32);
	for (size_t len = 0; len <= 600; len++) {
		size_t outlen = 1 + tu_next(&r) % 511;

		tu_fill(&r, in, len);
		openssl_shake128(in, len, want, outlen);
		iomt_shake128(in, len, got, outlen);
		ASSERT_MEMEQ(got, want, outlen);
	}
	iomt_keccak_force_32(0);
}
#endif

/* lib/shake.c compiled a second time as 32-bit CPUs build it: the context
 * holds its lanes bit-interleaved (IOMT_KECCAK_32), under s32_* names. */
#undef IOMT_KECCAK_32
#define IOMT_KECCAK_32 1
#define iomt_shake128_init(...) s32_init(__VA_ARGS__)
#define iomt_shake128_absorb(...) s32_absorb(__VA_ARGS__)
#define iomt_shake128_squeeze(...) s32_squeeze(__VA_ARGS__)
#define iomt_shake128_pad_block(...) s32_pad_block(__VA_ARGS__)
#define iomt_shake128_wipe(...) s32_wipe(__VA_ARGS__)
#define iomt_shake128(...) s32_shake128(__VA_ARGS__)
#define iomt_shake128_batch(...) s32_batch(__VA_ARGS__)
#define iomt_shake128_batch_override(...) s32_batch_override(__VA_ARGS__)
#include "shake.c"
#undef iomt_shake128_init
#undef iomt_shake128_absorb
#undef iomt_shake128_squeeze
#undef iomt_shake128_pad_block
#undef iomt_shake128_wipe
#undef iomt_shake128
#undef iomt_shake128_batch
#undef iomt_shake128_batch_override

/* The one-shot of 32-bit builds: the incremental context. */
static void s32_oneshot(const uint8_t *in, size_t len, uint8_t *out, size_t outlen)
{
	struct iomt_shake128 s;

	s32_init(&s);
	ASSERT_EQ(s32_absorb(&s, in, len), IOMT_OK);
	s32_squeeze(&s, out, outlen);
	s32_wipe(&s);
}

TEST(interleaved_context_fips202_and_openssl)
{
	struct tu_rng r = { 0x69c };
	uint8_t in[601], want[512], got[512];

	ASSERT_EQ(tu_hex("131AB8D2B594946B9C81333F9BB6E0CE75C3B93104FA3469D3917457385DA037",
			 want, 32), 32);
	memset(in, 0xa3, 200);
	s32_oneshot(in, 200, got, 32);
	ASSERT_MEMEQ(got, want, 32);
	for (size_t len = 0; len <= 600; len++) {
		size_t outlen = 1 + tu_next(&r) % 511;

		tu_fill(&r, in, len);
		openssl_shake128(in, len, want, outlen);
		s32_oneshot(in, len, got, outlen);
		ASSERT_MEMEQ(got, want, outlen);
	}
}

/* Random absorb/squeeze splits (every byte offset inside a lane), with a
 * bytepad (pad_block) in the middle, against the host's context. */
TEST(interleaved_context_equals_host_context)
{
	struct tu_rng r = { 0x1e4 };
	uint8_t in[700], want[400], got[400];

	for (int round = 0; round < 2000; round++) {
		size_t len = tu_next(&r) % sizeof(in), outlen = 1 + tu_next(&r) % sizeof(want);
		size_t pad_at = tu_next(&r) % (len + 1);
		struct iomt_shake128 h, s;
		size_t off = 0;

		tu_fill(&r, in, len);
		iomt_shake128_init(&h);
		s32_init(&s);
		while (off < len) {
			size_t step = 1 + tu_next(&r) % 30;

			step = step > len - off ? len - off : step;
			ASSERT_EQ(iomt_shake128_absorb(&h, in + off, step), IOMT_OK);
			ASSERT_EQ(s32_absorb(&s, in + off, step), IOMT_OK);
			off += step;
			if (off >= pad_at && pad_at != SIZE_MAX) {
				iomt_shake128_pad_block(&h);
				s32_pad_block(&s);
				pad_at = SIZE_MAX;
			}
		}
		iomt_shake128_squeeze(&h, want, outlen);
		for (off = 0; off < outlen;) {
			size_t step = 1 + tu_next(&r) % 30;

			step = step > outlen - off ? outlen - off : step;
			s32_squeeze(&s, got + off, step);
			off += step;
		}
		ASSERT_MEMEQ(got, want, outlen);
	}
}
