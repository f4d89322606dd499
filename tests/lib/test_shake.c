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
