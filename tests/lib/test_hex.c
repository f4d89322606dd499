/* SPDX-License-Identifier: MIT */
/* iomt_hex_decode: exact length, both cases, the first bad position, and
 * nothing written on failure. */
#include "harness.h"
#include "hex.h"
#include "iomt_err.h"

TEST(decodes_both_cases)
{
	static const uint8_t want[4] = { 0x00, 0x9f, 0xab, 0xCD };
	uint8_t out[4];

	ASSERT_EQ(iomt_hex_decode("009fAbcD", 8, out, 4, NULL), IOMT_OK);
	ASSERT_MEMEQ(out, want, 4);
	ASSERT_EQ(iomt_hex_decode("", 0, out, 0, NULL), IOMT_OK);
}

TEST(exact_length_only)
{
	uint8_t out[4];

	ASSERT_EQ(iomt_hex_decode("009fab", 6, out, 4, NULL), IOMT_ESIZE);
	ASSERT_EQ(iomt_hex_decode("009fabcd0", 9, out, 4, NULL), IOMT_ESIZE);
	ASSERT_EQ(iomt_hex_decode("009fabcd00", 10, out, 4, NULL), IOMT_ESIZE);
}

TEST(bad_digit_position_and_nothing_written)
{
	uint8_t out[4] = { 1, 2, 3, 4 };
	size_t bad = 0;
	static const char *cases[] = { "g09fabcd", "009fabcz", "00 fabcd", "00-fabcd" };
	static const size_t pos[] = { 1, 8, 3, 3 };

	for (int i = 0; i < 4; i++) {
		ASSERT_EQ(iomt_hex_decode(cases[i], 8, out, 4, &bad), IOMT_EMALFORMED);
		ASSERT_EQ(bad, pos[i]);
		ASSERT_EQ(out[0], 1);
		ASSERT_EQ(out[3], 4);
	}
}

TEST(encode_lowercase_and_round_trip)
{
	uint8_t in[256], back[256];
	char text[2 * 256 + 1];

	for (int i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	iomt_hex_encode(in, 0, text);
	ASSERT_STREQ(text, "");
	iomt_hex_encode(in + 0xa0, 4, text);
	ASSERT_STREQ(text, "a0a1a2a3");
	iomt_hex_encode(in, sizeof(in), text);
	ASSERT_EQ(strlen(text), 512);
	ASSERT_EQ(iomt_hex_decode(text, 512, back, sizeof(back), NULL), IOMT_OK);
	ASSERT_MEMEQ(back, in, sizeof(in));
}
