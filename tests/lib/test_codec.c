/* SPDX-License-Identifier: MIT */
/* lib/codec: big-endian writer and reader with sticky errors. */
#include <stdint.h>
#include "harness.h"
#include "codec.h"
#include "iomt_err.h"

TEST(round_trip_every_width)
{
	static const uint8_t want[] = {
		0xa5,
		0x12, 0x34,
		0xde, 0xad, 0xbe, 0xef,
		0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
		'h', 'i', '!',
		0xff, 0xfe,
	};
	uint8_t buf[sizeof(want)], raw[3];
	struct iomt_wr w;
	struct iomt_rd r;
	const uint8_t *q;
	uint8_t *p;
	size_t len = 99;

	iomt_wr_init(&w, buf, sizeof(buf));
	iomt_wr_u8(&w, 0xa5);
	iomt_wr_u16(&w, 0x1234);
	iomt_wr_u32(&w, 0xdeadbeef);
	iomt_wr_u64(&w, 0x0123456789abcdefULL);
	iomt_wr_bytes(&w, "hi!", 3);
	p = iomt_wr_reserve(&w, 2);
	ASSERT_NONNULL(p);
	p[0] = 0xff;
	p[1] = 0xfe;
	ASSERT_EQ(iomt_wr_finish(&w, &len), IOMT_OK);
	ASSERT_EQ(len, sizeof(want));
	ASSERT_MEMEQ(buf, want, sizeof(want));

	iomt_rd_init(&r, buf, len);
	EXPECT_EQ(iomt_rd_u8(&r), 0xa5);
	EXPECT_EQ(iomt_rd_u16(&r), 0x1234);
	EXPECT_EQ(iomt_rd_u32(&r), 0xdeadbeef);
	EXPECT_EQ(iomt_rd_u64(&r), 0x0123456789abcdefULL);
	iomt_rd_bytes(&r, raw, 3);
	EXPECT_MEMEQ(raw, "hi!", 3);
	EXPECT_EQ(iomt_rd_left(&r), 2);
	q = iomt_rd_ptr(&r, 2);
	ASSERT_NONNULL(q);
	EXPECT_TRUE(q == buf + 18);
	EXPECT_EQ(iomt_rd_left(&r), 0);
	EXPECT_EQ(iomt_rd_finish(&r), IOMT_OK);
}

TEST(extreme_values)
{
	uint8_t buf[15];
	struct iomt_wr w;
	struct iomt_rd r;
	size_t len;

	iomt_wr_init(&w, buf, sizeof(buf));
	iomt_wr_u8(&w, UINT8_MAX);
	iomt_wr_u16(&w, UINT16_MAX);
	iomt_wr_u32(&w, 0);
	iomt_wr_u64(&w, UINT64_MAX);
	ASSERT_EQ(iomt_wr_finish(&w, &len), IOMT_OK);
	ASSERT_EQ(len, sizeof(buf));

	iomt_rd_init(&r, buf, len);
	EXPECT_EQ(iomt_rd_u8(&r), UINT8_MAX);
	EXPECT_EQ(iomt_rd_u16(&r), UINT16_MAX);
	EXPECT_EQ(iomt_rd_u32(&r), 0);
	EXPECT_EQ(iomt_rd_u64(&r), UINT64_MAX);
	EXPECT_EQ(iomt_rd_finish(&r), IOMT_OK);
}

TEST(finish_wants_exact_size)
{
	uint8_t buf[5] = { 0, 0, 0, 7, 9 };
	struct iomt_rd r;

	/* One byte left over: the message is longer than the format says. */
	iomt_rd_init(&r, buf, sizeof(buf));
	EXPECT_EQ(iomt_rd_u32(&r), 7);
	EXPECT_EQ(iomt_rd_left(&r), 1);
	EXPECT_EQ(iomt_rd_finish(&r), IOMT_ESIZE);
	EXPECT_EQ(iomt_rd_u8(&r), 9);
	EXPECT_EQ(iomt_rd_finish(&r), IOMT_OK);

	/* An empty input read as nothing is exact. */
	iomt_rd_init(&r, NULL, 0);
	EXPECT_EQ(iomt_rd_left(&r), 0);
	EXPECT_EQ(iomt_rd_finish(&r), IOMT_OK);
	iomt_rd_init(&r, buf, 0);
	EXPECT_EQ(iomt_rd_finish(&r), IOMT_OK);
}

TEST(short_reads_are_sticky_and_zero_fill)
{
	uint8_t buf[6] = { 1, 2, 3, 4, 5, 6 };
	uint8_t out[4];
	struct iomt_rd r;

	iomt_rd_init(&r, buf, sizeof(buf));
	EXPECT_EQ(iomt_rd_u32(&r), 0x01020304);
	/* Two bytes left: a u32 is short and sets the error... */
	EXPECT_EQ(iomt_rd_u32(&r), 0);
	EXPECT_EQ(iomt_rd_finish(&r), IOMT_ESIZE);
	/* ...after which even reads that would fit fail, and nothing is consumed. */
	EXPECT_EQ(iomt_rd_u8(&r), 0);
	EXPECT_EQ(iomt_rd_u16(&r), 0);
	EXPECT_EQ(iomt_rd_u64(&r), 0);
	EXPECT_NULL(iomt_rd_ptr(&r, 1));
	memset(out, 0xaa, sizeof(out));
	iomt_rd_bytes(&r, out, 2);
	EXPECT_TRUE(out[0] == 0 && out[1] == 0);
	EXPECT_TRUE(out[2] == 0xaa && out[3] == 0xaa);
	EXPECT_EQ(iomt_rd_left(&r), 0);
	EXPECT_EQ(r.off, 4);
	EXPECT_EQ(iomt_rd_finish(&r), IOMT_ESIZE);
}

TEST(short_read_of_every_width)
{
	static const size_t width[] = { 1, 2, 4, 8 };
	uint8_t buf[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t out[8];
	struct iomt_rd r;

	for (size_t wi = 0; wi < 4; wi++) {
		for (size_t have = 0; have < width[wi]; have++) {
			uint64_t v = 1;

			iomt_rd_init(&r, buf, have);
			switch (width[wi]) {
			case 1: v = iomt_rd_u8(&r); break;
			case 2: v = iomt_rd_u16(&r); break;
			case 4: v = iomt_rd_u32(&r); break;
			case 8: v = iomt_rd_u64(&r); break;
			}
			EXPECT_EQ(v, 0);
			EXPECT_EQ(iomt_rd_finish(&r), IOMT_ESIZE);

			iomt_rd_init(&r, buf, have);
			memset(out, 0xaa, sizeof(out));
			iomt_rd_bytes(&r, out, width[wi]);
			for (size_t i = 0; i < width[wi]; i++)
				EXPECT_EQ(out[i], 0);
			EXPECT_EQ(iomt_rd_finish(&r), IOMT_ESIZE);
		}
	}
}

TEST(writer_overflow_is_sticky)
{
	uint8_t buf[8];
	struct iomt_wr w;
	size_t len = 99;

	memset(buf, 0xaa, sizeof(buf));
	iomt_wr_init(&w, buf, 6);
	iomt_wr_u32(&w, 0x01020304);
	iomt_wr_u32(&w, 0x05060708);	/* 2 bytes of room: fails, writes nothing */
	EXPECT_EQ(buf[4], 0xaa);
	EXPECT_EQ(buf[5], 0xaa);
	iomt_wr_u8(&w, 9);		/* would fit, but the error is sticky */
	iomt_wr_u16(&w, 9);
	iomt_wr_bytes(&w, "x", 1);
	EXPECT_NULL(iomt_wr_reserve(&w, 0));
	EXPECT_EQ(buf[4], 0xaa);
	EXPECT_EQ(buf[5], 0xaa);
	EXPECT_EQ(iomt_wr_finish(&w, &len), IOMT_ESIZE);
	EXPECT_EQ(len, 0);
	EXPECT_EQ(w.len, 4);
}

TEST(writer_exact_fill)
{
	static const size_t width[] = { 1, 2, 4, 8 };
	uint8_t buf[9];
	struct iomt_wr w;
	size_t len;

	for (size_t wi = 0; wi < 4; wi++) {
		/* Exactly full is fine; one byte short is not. */
		iomt_wr_init(&w, buf, width[wi]);
		ASSERT_NONNULL(iomt_wr_reserve(&w, width[wi]));
		EXPECT_EQ(iomt_wr_finish(&w, &len), IOMT_OK);
		EXPECT_EQ(len, width[wi]);

		iomt_wr_init(&w, buf, width[wi] - 1);
		switch (width[wi]) {
		case 1: iomt_wr_u8(&w, 1); break;
		case 2: iomt_wr_u16(&w, 1); break;
		case 4: iomt_wr_u32(&w, 1); break;
		case 8: iomt_wr_u64(&w, 1); break;
		}
		EXPECT_EQ(iomt_wr_finish(&w, NULL), IOMT_ESIZE);
	}
	/* A zero-capacity writer accepts zero bytes. */
	iomt_wr_init(&w, buf, 0);
	iomt_wr_bytes(&w, NULL, 0);
	EXPECT_EQ(iomt_wr_finish(&w, &len), IOMT_OK);
	EXPECT_EQ(len, 0);
}

TEST(size_max_lengths_never_overflow)
{
	uint8_t buf[16], out[1] = { 0xaa };
	struct iomt_wr w;
	struct iomt_rd r;

	/* With len = 4, any n > SIZE_MAX - 4 makes len + n wrap below cap; a
	 * naive "len + n > cap" check would accept it. */
	for (size_t k = 0; k <= 32; k++) {
		size_t n = SIZE_MAX - k;

		iomt_wr_init(&w, buf, sizeof(buf));
		iomt_wr_u32(&w, 1);
		EXPECT_NULL(iomt_wr_reserve(&w, n));
		EXPECT_EQ(iomt_wr_finish(&w, NULL), IOMT_ESIZE);
		EXPECT_EQ(w.len, 4);

		iomt_rd_init(&r, buf, sizeof(buf));
		EXPECT_EQ(iomt_rd_u32(&r), 1);
		EXPECT_NULL(iomt_rd_ptr(&r, n));
		EXPECT_EQ(iomt_rd_finish(&r), IOMT_ESIZE);
		EXPECT_EQ(r.off, 4);
	}
	/* A sticky reader must not zero-fill, let alone copy, SIZE_MAX bytes
	 * into a one-byte buffer: the error is set by a length-checked read. */
	iomt_rd_init(&r, buf, sizeof(buf));
	EXPECT_NULL(iomt_rd_ptr(&r, SIZE_MAX));
	EXPECT_EQ(iomt_rd_u8(&r), 0);
	iomt_rd_bytes(&r, out, 1);
	EXPECT_EQ(out[0], 0);
	EXPECT_EQ(iomt_rd_finish(&r), IOMT_ESIZE);
}

TEST(null_buffers)
{
	struct iomt_wr w;
	struct iomt_rd r;
	uint8_t buf[4];
	size_t len = 99;

	iomt_wr_init(&w, NULL, 4);
	EXPECT_NULL(iomt_wr_reserve(&w, 1));
	EXPECT_EQ(iomt_wr_finish(&w, &len), IOMT_EINVAL);
	EXPECT_EQ(len, 0);

	iomt_rd_init(&r, NULL, 4);
	EXPECT_EQ(iomt_rd_u8(&r), 0);
	EXPECT_EQ(iomt_rd_finish(&r), IOMT_EINVAL);

	/* Writing n > 0 bytes from NULL is a caller bug, recorded not copied. */
	iomt_wr_init(&w, buf, sizeof(buf));
	iomt_wr_bytes(&w, NULL, 2);
	EXPECT_EQ(iomt_wr_finish(&w, NULL), IOMT_EINVAL);

	iomt_rd_init(&r, buf, sizeof(buf));
	iomt_rd_bytes(&r, NULL, 2);
	EXPECT_EQ(iomt_rd_finish(&r), IOMT_EINVAL);
}

TEST(first_error_is_kept)
{
	uint8_t buf[2];
	struct iomt_wr w;

	iomt_wr_init(&w, buf, sizeof(buf));
	iomt_wr_u32(&w, 1);		/* IOMT_ESIZE first */
	iomt_wr_bytes(&w, NULL, 1);	/* then an IOMT_EINVAL */
	EXPECT_EQ(iomt_wr_finish(&w, NULL), IOMT_ESIZE);
}
