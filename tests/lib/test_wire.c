/* SPDX-License-Identifier: MIT */
/* Wire framing (datagrams and streams) and the ID_a box. */
#include "harness.h"
#include "testutil.h"
#include "wire.h"
#include "s2_ida.h"
#include "iomt_err.h"
#include "ct.h"

static size_t frame(uint8_t *buf, uint8_t type, size_t plen, uint8_t fill)
{
	iomt_wire_put_hdr(buf, type, plen);
	memset(buf + IOMT_WIRE_HDR_LEN, fill, plen);
	return IOMT_WIRE_HDR_LEN + plen;
}

TEST(datagram_exact_sizes)
{
	static const uint8_t types[] = { IOMT_MSG_S2_M1, IOMT_MSG_S2_M4, IOMT_MSG_S2_DEV_ERR,
					 IOMT_MSG_S2_M2, IOMT_MSG_S2_M3, IOMT_MSG_S2_LINK_ERR };
	uint8_t buf[300], type;
	const uint8_t *p;
	size_t plen;

	for (size_t i = 0; i < sizeof(types); i++) {
		size_t want = iomt_wire_fixed_len(types[i]);
		size_t n = frame(buf, types[i], want, 0xab);

		ASSERT_EQ(iomt_wire_parse(buf, n, &type, &p, &plen), IOMT_OK);
		ASSERT_EQ(type, types[i]);
		ASSERT_EQ(plen, want);
		ASSERT_TRUE(p == buf + IOMT_WIRE_HDR_LEN);
		/* one byte short or long, in the header and in the datagram */
		n = frame(buf, types[i], want - 1, 0);
		ASSERT_EQ(iomt_wire_parse(buf, n, &type, &p, &plen), IOMT_ESIZE);
		n = frame(buf, types[i], want + 1, 0);
		ASSERT_EQ(iomt_wire_parse(buf, n, &type, &p, &plen), IOMT_ESIZE);
		n = frame(buf, types[i], want, 0);
		ASSERT_EQ(iomt_wire_parse(buf, n - 1, &type, &p, &plen), IOMT_ESIZE);
		ASSERT_EQ(iomt_wire_parse(buf, n + 1, &type, &p, &plen), IOMT_ESIZE);
	}
	ASSERT_EQ(iomt_wire_fixed_len(IOMT_MSG_S2_M1), 64);
	ASSERT_EQ(iomt_wire_fixed_len(IOMT_MSG_S2_M2), 132);
	ASSERT_EQ(iomt_wire_fixed_len(IOMT_MSG_S2_M3), 92);
	ASSERT_EQ(iomt_wire_fixed_len(IOMT_MSG_S2_M4), 48);
}

TEST(datagram_rejects_garbage)
{
	uint8_t buf[100], type;
	const uint8_t *p;
	size_t plen, n = frame(buf, IOMT_MSG_S2_M1, 64, 1);

	ASSERT_EQ(iomt_wire_parse(buf, 3, &type, &p, &plen), IOMT_ESIZE);
	buf[0] = 2;
	ASSERT_EQ(iomt_wire_parse(buf, n, &type, &p, &plen), IOMT_EMALFORMED);
	buf[0] = IOMT_WIRE_VERSION;
	buf[1] = 0x7f;
	ASSERT_EQ(iomt_wire_parse(buf, n, &type, &p, &plen), IOMT_EMALFORMED);
	ASSERT_EQ(iomt_wire_put_hdr(buf, IOMT_MSG_S2_ANALYSIS_REQ, 65536), IOMT_ESIZE);
}

TEST(stream_frames_partial_and_corrupt)
{
	uint8_t buf[400], type;
	const uint8_t *p;
	size_t plen, flen, n;

	n = frame(buf, IOMT_MSG_S2_M2, 132, 2);
	n += frame(buf + n, IOMT_MSG_S2_LINK_ERR, 5, 3);
	for (size_t cut = 0; cut < 136; cut++)
		ASSERT_EQ(iomt_wire_next(buf, cut, &type, &p, &plen, &flen), IOMT_EPARTIAL);
	ASSERT_EQ(iomt_wire_next(buf, n, &type, &p, &plen, &flen), IOMT_OK);
	ASSERT_EQ(flen, 136);
	ASSERT_EQ(iomt_wire_next(buf + flen, n - flen, &type, &p, &plen, &flen), IOMT_OK);
	ASSERT_EQ(type, IOMT_MSG_S2_LINK_ERR);
	ASSERT_EQ(p[0], 3);
	/* A header announcing the wrong size is refused before its payload. */
	iomt_wire_put_hdr(buf, IOMT_MSG_S2_M2, 9000);
	ASSERT_EQ(iomt_wire_next(buf, 4, &type, &p, &plen, &flen), IOMT_ESIZE);
	/* Variable-size types wait for the whole payload. */
	n = frame(buf, IOMT_MSG_S2_ANALYSIS_REQ, 300, 4);
	ASSERT_EQ(iomt_wire_next(buf, n - 1, &type, &p, &plen, &flen), IOMT_EPARTIAL);
	ASSERT_EQ(iomt_wire_next(buf, n, &type, &p, &plen, &flen), IOMT_OK);
	ASSERT_EQ(plen, 300);
}

TEST(ida_box_round_trip_and_binding)
{
	struct tu_rng r = { 0x1da };
	uint8_t dk[16], r2[16], did[16], m3[64], ida[16], box[24], out[16];

	tu_fill(&r, dk, 16);
	tu_fill(&r, r2, 16);
	tu_fill(&r, did, 16);
	tu_fill(&r, m3, 64);
	tu_fill(&r, ida, 16);
	ASSERT_EQ(iomt_s2_ida_seal(dk, r2, did, m3, ida, box), IOMT_OK);
	ASSERT_TRUE(memcmp(box, ida, 16) != 0);
	ASSERT_EQ(iomt_s2_ida_open(dk, r2, did, m3, box, out), IOMT_OK);
	ASSERT_MEMEQ(out, ida, 16);
	/* Any other key, R2, DID_i, M3 or box byte: refused, output zeroed. */
	for (int which = 0; which < 5; which++) {
		uint8_t *v[] = { dk, r2, did, m3, box };

		v[which][which] ^= 0x40;
		memset(out, 0x55, 16);
		ASSERT_EQ(iomt_s2_ida_open(dk, r2, did, m3, box, out), IOMT_EAUTH);
		ASSERT_TRUE(iomt_ct_is_zero(out, 16));
		v[which][which] ^= 0x40;
	}
}
