/* SPDX-License-Identifier: MIT */
/*
 * sensors/core's REC_ACK rule (sc_ack.c): which answer settles the batch
 * in flight and how; every status, another batch's answer, other frames.
 * The core's .c file is included here, as in test_core.c.
 */
#include "harness.h"
#include "../../sensors/core/sc_ack.c"

static size_t ack(uint8_t *f, const uint8_t id[8], uint8_t status, uint16_t st, uint16_t dup)
{
	iomt_wire_put_hdr(f, IOMT_MSG_REC_ACK, IOMT_REC_ACK_LEN);
	iomt_rec_ack_encode(id, status, st, dup, f + IOMT_WIRE_HDR_LEN);
	return IOMT_WIRE_HDR_LEN + IOMT_REC_ACK_LEN;
}

TEST(every_status_and_other_batches)
{
	static const uint8_t id[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, other[8] = { 9 };
	uint8_t f[64], status = 0xff;
	uint16_t st = 0, dup = 0;
	size_t n = ack(f, id, IOMT_REC_OK, 7, 2);

	ASSERT_EQ(sc_batch_ack(f, n, id, &status, &st, &dup), SC_DONE);
	ASSERT_EQ(status, IOMT_REC_OK);
	ASSERT_EQ(st, 7);
	ASSERT_EQ(dup, 2);
	n = ack(f, id, IOMT_REC_MALFORMED, 0, 0);
	ASSERT_EQ(sc_batch_ack(f, n, id, &status, &st, &dup), SC_EREFUSED);
	for (uint8_t s = IOMT_REC_BUSY; s <= IOMT_REC_UNREACHABLE; s++) {
		n = ack(f, id, s, 0, 0);
		ASSERT_EQ(sc_batch_ack(f, n, id, &status, &st, &dup), SC_OK);
		ASSERT_EQ(status, s);
	}
	/* Another batch's answer (a late one), a cut frame, another type. */
	n = ack(f, other, IOMT_REC_OK, 1, 0);
	ASSERT_EQ(sc_batch_ack(f, n, id, &status, &st, &dup), SC_IGNORED);
	n = ack(f, id, IOMT_REC_OK, 1, 0);
	ASSERT_EQ(sc_batch_ack(f, n - 1, id, &status, &st, &dup), SC_IGNORED);
	f[1] = IOMT_MSG_REC_PUT;
	ASSERT_EQ(sc_batch_ack(f, n, id, &status, &st, &dup), SC_IGNORED);
	ASSERT_EQ(sc_batch_ack(NULL, n, id, &status, &st, &dup), IOMT_EINVAL);
}
