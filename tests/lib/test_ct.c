/* SPDX-License-Identifier: MIT */
/* lib/ct and lib/err: constant-time helpers and error strings. */
#include <stdint.h>
#include "harness.h"
#include "ct.h"
#include "iomt_err.h"

enum { MAXLEN = 64 };

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + 37 * i + 1);
}

TEST(eq_every_length_and_position)
{
	uint8_t a[MAXLEN], b[MAXLEN];

	for (size_t n = 0; n <= MAXLEN; n++) {
		fill(a, n, (uint8_t)n);
		memcpy(b, a, n);
		EXPECT_EQ(iomt_ct_eq(a, b, n), 1);
		for (size_t i = 0; i < n; i++) {
			/* Every single-bit difference, at every position, is seen. */
			for (unsigned bit = 0; bit < 8; bit++) {
				b[i] ^= (uint8_t)(1u << bit);
				EXPECT_EQ(iomt_ct_eq(a, b, n), 0);
				b[i] ^= (uint8_t)(1u << bit);
			}
			/* and a whole-byte one (0xff: all bits of d at once). */
			b[i] ^= 0xff;
			EXPECT_EQ(iomt_ct_eq(a, b, n), 0);
			b[i] ^= 0xff;
		}
		EXPECT_EQ(iomt_ct_eq(a, b, n), 1);
	}
}

TEST(eq_ignores_bytes_past_n)
{
	uint8_t a[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t b[8] = { 1, 2, 3, 4, 0, 0, 0, 0 };

	EXPECT_EQ(iomt_ct_eq(a, b, 4), 1);
	EXPECT_EQ(iomt_ct_eq(a, b, 5), 0);
	EXPECT_EQ(iomt_ct_eq(a, a, 8), 1);
	EXPECT_EQ(iomt_ct_eq(NULL, NULL, 0), 1);
}

TEST(is_zero_every_length_and_position)
{
	uint8_t a[MAXLEN];

	for (size_t n = 0; n <= MAXLEN; n++) {
		memset(a, 0, sizeof(a));
		EXPECT_EQ(iomt_ct_is_zero(a, n), 1);
		for (size_t i = 0; i < n; i++) {
			for (unsigned bit = 0; bit < 8; bit++) {
				a[i] = (uint8_t)(1u << bit);
				EXPECT_EQ(iomt_ct_is_zero(a, n), 0);
			}
			a[i] = 0xff;
			EXPECT_EQ(iomt_ct_is_zero(a, n), 0);
			a[i] = 0;
		}
		/* A nonzero byte just past n does not count. */
		if (n < MAXLEN) {
			a[n] = 1;
			EXPECT_EQ(iomt_ct_is_zero(a, n), 1);
		}
	}
}

TEST(xor_every_length)
{
	uint8_t a[MAXLEN + 1], b[MAXLEN + 1], want[MAXLEN + 1];

	for (size_t n = 0; n <= MAXLEN; n++) {
		fill(a, sizeof(a), 3);
		fill(b, sizeof(b), (uint8_t)(n * 11));
		for (size_t i = 0; i < n; i++)
			want[i] = a[i] ^ b[i];
		want[n] = a[n];		/* untouched past n */
		iomt_xor(a, b, n);
		EXPECT_MEMEQ(a, want, n + 1);
		/* Applying it again restores a; xor with itself clears it. */
		iomt_xor(a, b, n);
		fill(want, n + 1, 3);
		EXPECT_MEMEQ(a, want, n + 1);
		iomt_xor(a, a, n);
		EXPECT_EQ(iomt_ct_is_zero(a, n), 1);
	}
}

TEST(wipe_every_length_and_offset)
{
	uint8_t a[MAXLEN + 2];

	for (size_t n = 0; n <= MAXLEN; n++) {
		memset(a, 0xa5, sizeof(a));
		iomt_wipe(a + 1, n);
		EXPECT_EQ(a[0], 0xa5);
		EXPECT_EQ(iomt_ct_is_zero(a + 1, n), 1);
		for (size_t i = n + 1; i < sizeof(a); i++)
			EXPECT_EQ(a[i], 0xa5);
	}
}

TEST(select_u32)
{
	EXPECT_EQ(iomt_ct_select_u32(0xffffffffu, 0x12345678u, 0x9abcdef0u), 0x12345678u);
	EXPECT_EQ(iomt_ct_select_u32(0, 0x12345678u, 0x9abcdef0u), 0x9abcdef0u);
}

TEST(strerror_every_code)
{
	static const int codes[] = {
		IOMT_OK, IOMT_EINVAL, IOMT_ESIZE, IOMT_EAUTH, IOMT_ESHARES,
		IOMT_EUNSUPP, IOMT_EMALFORMED, IOMT_ESTATE,
	};
	enum { NCODES = sizeof(codes) / sizeof(codes[0]) };
	const char *unknown = iomt_strerror(-1000);

	ASSERT_NONNULL(unknown);
	EXPECT_GT(strlen(unknown), 0);
	for (size_t i = 0; i < NCODES; i++) {
		const char *s = iomt_strerror(codes[i]);

		ASSERT_NONNULL(s);
		EXPECT_GT(strlen(s), 0);
		/* A known code with the fallback text was forgotten in err.c. */
		if (!strcmp(s, unknown))
			TH_LOG("code %d has the unknown-error text", codes[i]);
		EXPECT_NE(strcmp(s, unknown), 0);
		for (size_t j = 0; j < i; j++)
			EXPECT_NE(strcmp(s, iomt_strerror(codes[j])), 0);
	}
	/* Codes outside the enum, either side, still get a string. */
	EXPECT_GT(strlen(iomt_strerror(1)), 0);
	EXPECT_GT(strlen(iomt_strerror(IOMT_ESTATE - 1)), 0);
	EXPECT_GT(strlen(iomt_strerror(INT32_MIN)), 0);
}
