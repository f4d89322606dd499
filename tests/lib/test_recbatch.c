/* SPDX-License-Identifier: MIT */
/* REC_PUT / REC_ACK codecs: round trips, the byte layout, every truncation
 * and extension of a batch, records of another tree, counts (0, 1, the
 * maximum and one more), the 65535-byte payload limit, and the ACK. */
#include <stdlib.h>
#include "harness.h"
#include "testutil.h"
#include "recbatch.h"
#include "record.h"
#include "keytree.h"
#include "wire.h"
#include "bytes.h"
#include "iomt_err.h"

enum { PAYLOAD_MAX = 65535 };

static const struct iomt_keytree_conf conf = {
	.version = 1, .epoch_start = 1735689600, .leaf_period_s = 300, .depth = 3,
	.arity = { 366, 24, 12 }, .refresh_period_s = 86400,
};

static void make_meta(struct iomt_keytree_meta *m, uint8_t id_byte)
{
	memset(m, 0, sizeof(*m));
	memset(m->key_id, id_byte, 16);
	memset(m->sensor_id, 0x22, 16);
	memset(m->ppd_id, 0x33, 16);
	m->conf = conf;
}

/* A sealed record of key id (id_byte) for (1, leaf, seq) with dlen bytes. */
static size_t make_rec(uint8_t *out, size_t cap, uint8_t id_byte, uint64_t leaf, uint32_t seq,
		       size_t dlen)
{
	static uint8_t data[IOMT_RECORD_MAX_DATA];
	struct iomt_record_hdr h = { .epoch = 1, .leaf = leaf, .seq = seq };
	uint8_t k[16];
	size_t len = 0;

	memset(k, 0x5a, 16);
	memset(h.key_id, id_byte, 16);
	memset(data, (int)(seq & 0xff), dlen);
	ASSERT_EQ(iomt_record_seal(k, &h, data, dlen, out, cap, &len), IOMT_OK);
	return len;
}

/* A batch of n records of dlen bytes each: its length. */
static size_t make_batch(uint8_t *buf, size_t cap, unsigned n, size_t dlen)
{
	static uint8_t rec[IOMT_RECORD_MAX_DATA + IOMT_RECORD_OVERHEAD];
	const uint8_t id[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct iomt_keytree_meta m;
	size_t used;

	make_meta(&m, 0x11);
	ASSERT_EQ(iomt_recbatch_begin(buf, cap, id, &m, &used), IOMT_OK);
	for (unsigned i = 0; i < n; i++) {
		size_t len = make_rec(rec, sizeof(rec), 0x11, 288 + i, i, dlen);

		ASSERT_EQ(iomt_recbatch_add(buf, cap, &used, rec, len), IOMT_OK);
	}
	return used;
}

TEST(round_trip_and_layout)
{
	static uint8_t buf[PAYLOAD_MAX], rec[3][64];
	static struct iomt_recbatch b;
	const uint8_t id[8] = { 9, 8, 7, 6, 5, 4, 3, 2 };
	struct iomt_keytree_meta m;
	uint8_t meta[IOMT_KEYTREE_META_LEN];
	size_t used, len[3], off;

	make_meta(&m, 0x11);
	ASSERT_EQ(iomt_keytree_meta_encode(&m, meta), IOMT_OK);
	ASSERT_EQ(iomt_recbatch_begin(buf, sizeof(buf), id, &m, &used), IOMT_OK);
	ASSERT_EQ(used, IOMT_RECBATCH_HDR_LEN);
	for (int i = 0; i < 3; i++) {
		len[i] = make_rec(rec[i], sizeof(rec[i]), 0x11, 300 + i, 7 + i, 5 + i);
		ASSERT_EQ(iomt_recbatch_add(buf, sizeof(buf), &used, rec[i], len[i]), IOMT_OK);
	}
	/* batch id || meta || count || (len || record)* */
	ASSERT_MEMEQ(buf, id, 8);
	ASSERT_MEMEQ(buf + 8, meta, sizeof(meta));
	ASSERT_EQ(iomt_load_be16(buf + 86), 3);
	off = 88;
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(iomt_load_be16(buf + off), len[i]);
		ASSERT_MEMEQ(buf + off + 2, rec[i], len[i]);
		off += 2 + len[i];
	}
	ASSERT_EQ(off, used);

	ASSERT_EQ(iomt_recbatch_decode(&b, buf, used), IOMT_OK);
	ASSERT_MEMEQ(b.batch_id, id, 8);
	ASSERT_MEMEQ(b.meta.key_id, m.key_id, 16);
	ASSERT_MEMEQ(b.meta.ppd_id, m.ppd_id, 16);
	ASSERT_EQ(b.meta.conf.leaf_period_s, 300);
	ASSERT_EQ(b.count, 3);
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(b.len[i], len[i]);
		ASSERT_MEMEQ(b.rec[i], rec[i], len[i]);
		/* Pointers into the decoded buffer, not copies. */
		ASSERT_TRUE(b.rec[i] > buf && b.rec[i] < buf + used);
	}
}

/* Every prefix of a batch is refused, and so is every extension. */
TEST(every_truncation_and_extension)
{
	static uint8_t buf[PAYLOAD_MAX + 8];
	static struct iomt_recbatch b;
	size_t used = make_batch(buf, sizeof(buf), 4, 20);

	for (size_t n = 0; n < used; n++) {
		int err = iomt_recbatch_decode(&b, buf, n);

		ASSERT_NE(err, IOMT_OK);
		ASSERT_EQ(b.count, 0);
	}
	for (size_t extra = 1; extra <= 8; extra++) {
		memset(buf + used, 0, extra);
		ASSERT_EQ(iomt_recbatch_decode(&b, buf, used + extra), IOMT_ESIZE);
	}
	ASSERT_EQ(iomt_recbatch_decode(&b, buf, used), IOMT_OK);
	ASSERT_EQ(b.count, 4);
}

/* Counts and lengths that lie, one field at a time. */
TEST(lying_fields)
{
	static uint8_t buf[PAYLOAD_MAX], copy[PAYLOAD_MAX];
	static struct iomt_recbatch b;
	size_t used = make_batch(buf, sizeof(buf), 2, 10), l0 = iomt_load_be16(buf + 88);

	/* count 0, one too few, one too many, above the maximum */
	const uint16_t counts[] = { 0, 1, 3, IOMT_RECBATCH_MAX + 1, 0xffff };
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		memcpy(copy, buf, used);
		iomt_store_be16(copy + 86, counts[i]);
		ASSERT_NE(iomt_recbatch_decode(&b, copy, used), IOMT_OK);
	}
	/* first record's length one short, one long, zero, huge */
	const uint16_t lens[] = { (uint16_t)(l0 - 1), (uint16_t)(l0 + 1), 0, 0xffff };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memcpy(copy, buf, used);
		iomt_store_be16(copy + 88, lens[i]);
		ASSERT_NE(iomt_recbatch_decode(&b, copy, used), IOMT_OK);
	}
	/* a record of another version, and meta with a zero key id */
	memcpy(copy, buf, used);
	copy[90] = 2;
	ASSERT_EQ(iomt_recbatch_decode(&b, copy, used), IOMT_EMALFORMED);
	memcpy(copy, buf, used);
	memset(copy + 8, 0, 16);
	ASSERT_EQ(iomt_recbatch_decode(&b, copy, used), IOMT_EMALFORMED);
	ASSERT_EQ(iomt_recbatch_decode(&b, buf, used), IOMT_OK);
}

/* Every record is under the batch's key tree. */
TEST(wrong_key_id)
{
	static uint8_t buf[4096], rec[128];
	static struct iomt_recbatch b;
	const uint8_t id[8] = { 0 };
	struct iomt_keytree_meta m;
	size_t used, len, before;

	make_meta(&m, 0x11);
	ASSERT_EQ(iomt_recbatch_begin(buf, sizeof(buf), id, &m, &used), IOMT_OK);
	len = make_rec(rec, sizeof(rec), 0x12, 300, 1, 4);
	before = used;
	ASSERT_EQ(iomt_recbatch_add(buf, sizeof(buf), &used, rec, len), IOMT_EINVAL);
	ASSERT_EQ(used, before);
	ASSERT_EQ(iomt_load_be16(buf + 86), 0);
	/* Written by hand past the encoder: the decoder refuses it too. */
	len = make_rec(rec, sizeof(rec), 0x11, 300, 1, 4);
	ASSERT_EQ(iomt_recbatch_add(buf, sizeof(buf), &used, rec, len), IOMT_OK);
	ASSERT_EQ(iomt_recbatch_decode(&b, buf, used), IOMT_OK);
	buf[88 + 2 + 1 + 15] ^= 1;   /* last byte of the record's key id */
	ASSERT_EQ(iomt_recbatch_decode(&b, buf, used), IOMT_EMALFORMED);
	ASSERT_EQ(b.count, 0);
	/* Not a record at all. */
	ASSERT_EQ(iomt_recbatch_add(buf, sizeof(buf), &used, rec, IOMT_RECORD_OVERHEAD - 1),
		  IOMT_ESIZE);
}

TEST(count_limits)
{
	static uint8_t buf[PAYLOAD_MAX], rec[64];
	static struct iomt_recbatch b;
	size_t used = make_batch(buf, sizeof(buf), IOMT_RECBATCH_MAX, 0), len, before;

	ASSERT_EQ(iomt_recbatch_decode(&b, buf, used), IOMT_OK);
	ASSERT_EQ(b.count, IOMT_RECBATCH_MAX);
	ASSERT_EQ(b.len[IOMT_RECBATCH_MAX - 1], IOMT_RECORD_OVERHEAD);
	len = make_rec(rec, sizeof(rec), 0x11, 1, 1, 0);
	before = used;
	ASSERT_EQ(iomt_recbatch_add(buf, sizeof(buf), &used, rec, len), IOMT_ESIZE);
	ASSERT_EQ(used, before);
	ASSERT_EQ(iomt_load_be16(buf + 86), IOMT_RECBATCH_MAX);
	/* One record is a batch; none is not. */
	used = make_batch(buf, sizeof(buf), 1, 3);
	ASSERT_EQ(iomt_recbatch_decode(&b, buf, used), IOMT_OK);
	ASSERT_EQ(b.count, 1);
	used = make_batch(buf, sizeof(buf), 0, 3);
	ASSERT_EQ(used, IOMT_RECBATCH_HDR_LEN);
	ASSERT_EQ(iomt_recbatch_decode(&b, buf, used), IOMT_EMALFORMED);
}

/* The payload never exceeds what a frame's 16-bit length can carry, and the
 * caller's cap is honoured to the byte. */
TEST(max_sizes)
{
	static uint8_t buf[2 * PAYLOAD_MAX], rec[IOMT_RECORD_MAX_DATA + IOMT_RECORD_OVERHEAD];
	static struct iomt_recbatch b;
	const uint8_t id[8] = { 0 };
	struct iomt_keytree_meta m;
	size_t used, len, big;

	make_meta(&m, 0x11);
	ASSERT_EQ(iomt_recbatch_begin(buf, IOMT_RECBATCH_HDR_LEN - 1, id, &m, &used), IOMT_ESIZE);
	/* The largest single record that fits one frame. */
	big = PAYLOAD_MAX - IOMT_RECBATCH_HDR_LEN - 2 - IOMT_RECORD_OVERHEAD;
	ASSERT_EQ(iomt_recbatch_begin(buf, sizeof(buf), id, &m, &used), IOMT_OK);
	len = make_rec(rec, sizeof(rec), 0x11, 5, 1, big + 1);
	ASSERT_EQ(iomt_recbatch_add(buf, sizeof(buf), &used, rec, len), IOMT_ESIZE);
	len = make_rec(rec, sizeof(rec), 0x11, 5, 1, big);
	ASSERT_EQ(iomt_recbatch_add(buf, sizeof(buf), &used, rec, len), IOMT_OK);
	ASSERT_EQ(used, PAYLOAD_MAX);
	ASSERT_EQ(iomt_recbatch_decode(&b, buf, used), IOMT_OK);
	ASSERT_EQ(b.len[0], len);
	/* Past the frame limit the decoder refuses before reading. */
	ASSERT_EQ(iomt_recbatch_decode(&b, buf, PAYLOAD_MAX + 1), IOMT_ESIZE);
	/* cap: exactly enough, then one byte short. */
	len = make_rec(rec, sizeof(rec), 0x11, 5, 2, 10);
	ASSERT_EQ(iomt_recbatch_begin(buf, IOMT_RECBATCH_HDR_LEN + 2 + len - 1, id, &m, &used),
		  IOMT_OK);
	ASSERT_EQ(iomt_recbatch_add(buf, IOMT_RECBATCH_HDR_LEN + 2 + len - 1, &used, rec, len),
		  IOMT_ESIZE);
	ASSERT_EQ(iomt_recbatch_add(buf, IOMT_RECBATCH_HDR_LEN + 2 + len, &used, rec, len),
		  IOMT_OK);
	ASSERT_EQ(used, IOMT_RECBATCH_HDR_LEN + 2 + len);
}

TEST(bad_arguments)
{
	static uint8_t buf[256], rec[64];
	static struct iomt_recbatch b;
	const uint8_t id[8] = { 0 };
	struct iomt_keytree_meta m;
	size_t used = 0, len = make_rec(rec, sizeof(rec), 0x11, 5, 1, 1);

	make_meta(&m, 0x11);
	ASSERT_EQ(iomt_recbatch_begin(NULL, sizeof(buf), id, &m, &used), IOMT_EINVAL);
	ASSERT_EQ(iomt_recbatch_begin(buf, sizeof(buf), NULL, &m, &used), IOMT_EINVAL);
	ASSERT_EQ(iomt_recbatch_begin(buf, sizeof(buf), id, NULL, &used), IOMT_EINVAL);
	m.conf.depth = 0;
	ASSERT_EQ(iomt_recbatch_begin(buf, sizeof(buf), id, &m, &used), IOMT_EMALFORMED);
	make_meta(&m, 0x11);
	ASSERT_EQ(iomt_recbatch_begin(buf, sizeof(buf), id, &m, &used), IOMT_OK);
	ASSERT_EQ(iomt_recbatch_add(buf, sizeof(buf), NULL, rec, len), IOMT_EINVAL);
	ASSERT_EQ(iomt_recbatch_add(buf, sizeof(buf), &used, NULL, len), IOMT_EINVAL);
	used = 3;   /* not after begin */
	ASSERT_EQ(iomt_recbatch_add(buf, sizeof(buf), &used, rec, len), IOMT_EINVAL);
	ASSERT_EQ(iomt_recbatch_decode(NULL, buf, 100), IOMT_EINVAL);
	ASSERT_EQ(iomt_recbatch_decode(&b, NULL, 100), IOMT_EINVAL);
}

TEST(ack_round_trip)
{
	const uint8_t id[8] = { 1, 1, 2, 3, 5, 8, 13, 21 };
	uint8_t out[IOMT_REC_ACK_LEN + 1], got[8], status;
	uint16_t stored, dup;

	ASSERT_EQ(IOMT_REC_ACK_LEN, IOMT_WIRE_REC_ACK_LEN);
	ASSERT_EQ(iomt_wire_fixed_len(IOMT_MSG_REC_ACK), IOMT_REC_ACK_LEN);
	ASSERT_EQ(iomt_wire_fixed_len(IOMT_MSG_REC_PUT), 0);
	iomt_rec_ack_encode(id, IOMT_REC_OK, 250, 6, out);
	ASSERT_MEMEQ(out, id, 8);
	ASSERT_EQ(out[8], 0);
	ASSERT_EQ(iomt_load_be16(out + 9), 250);
	ASSERT_EQ(iomt_load_be16(out + 11), 6);
	ASSERT_EQ(iomt_rec_ack_decode(got, &status, &stored, &dup, out, IOMT_REC_ACK_LEN),
		  IOMT_OK);
	ASSERT_MEMEQ(got, id, 8);
	ASSERT_EQ(status, IOMT_REC_OK);
	ASSERT_EQ(stored, 250);
	ASSERT_EQ(dup, 6);
	for (size_t n = 0; n <= IOMT_REC_ACK_LEN + 1; n++)
		if (n != IOMT_REC_ACK_LEN)
			ASSERT_EQ(iomt_rec_ack_decode(got, &status, &stored, &dup, out, n),
				  IOMT_ESIZE);
	for (unsigned s = IOMT_REC_OK; s <= IOMT_REC_UNREACHABLE; s++) {
		iomt_rec_ack_encode(id, (uint8_t)s, 0, 0, out);
		ASSERT_EQ(iomt_rec_ack_decode(got, &status, &stored, &dup, out, IOMT_REC_ACK_LEN),
			  IOMT_OK);
		ASSERT_EQ(status, s);
	}
	iomt_rec_ack_encode(id, IOMT_REC_UNREACHABLE + 1, 0, 0, out);
	ASSERT_EQ(iomt_rec_ack_decode(got, &status, &stored, &dup, out, IOMT_REC_ACK_LEN),
		  IOMT_EMALFORMED);
}

/* Random garbage never decodes into records that break the invariants. */
TEST(random_bytes)
{
	static uint8_t buf[4096];
	static struct iomt_recbatch b;
	struct tu_rng rng = { 42 };
	size_t used = make_batch(buf, sizeof(buf), 5, 30);

	for (int i = 0; i < 20000; i++) {
		static uint8_t copy[4096];
		size_t pos = IOMT_RECBATCH_HDR_LEN + tu_next(&rng) % (used - IOMT_RECBATCH_HDR_LEN);

		memcpy(copy, buf, used);
		copy[pos] ^= (uint8_t)(1 + tu_next(&rng) % 255);
		if (iomt_recbatch_decode(&b, copy, used) == IOMT_OK) {
			size_t total = IOMT_RECBATCH_HDR_LEN;

			for (unsigned k = 0; k < b.count; k++)
				total += 2 + b.len[k];
			ASSERT_EQ(total, used);
		} else {
			ASSERT_EQ(b.count, 0);
		}
	}
}
