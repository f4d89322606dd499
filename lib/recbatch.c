/* SPDX-License-Identifier: MIT */
/*
 * REC_PUT and REC_ACK payloads (recbatch.h). The writer keeps the record
 * count in the header it wrote, so a batch under construction is always a
 * well-formed prefix: begin, add, add, ..., and out[0..used) is the payload.
 */
#include <string.h>

#include "recbatch.h"
#include "bytes.h"
#include "codec.h"
#include "iomt_err.h"
#include "record.h"
#include "wire.h"

enum {
	OFF_META = 8,
	OFF_COUNT = 8 + IOMT_KEYTREE_META_LEN,
	/* The key id is the first field of meta_Kdata and of a record header. */
	OFF_META_KEY_ID = OFF_META,
	OFF_REC_KEY_ID = 1,
};

_Static_assert(IOMT_RECBATCH_HDR_LEN == 88, "REC_PUT header");
_Static_assert((int)IOMT_REC_ACK_LEN == (int)IOMT_WIRE_REC_ACK_LEN, "REC_ACK size");

int iomt_recbatch_begin(uint8_t *out, size_t cap, const uint8_t batch_id[8],
			const struct iomt_keytree_meta *m, size_t *used)
{
	int err;

	if (used)
		*used = 0;
	if (!out || !batch_id || !m || !used)
		return IOMT_EINVAL;
	if (cap < IOMT_RECBATCH_HDR_LEN)
		return IOMT_ESIZE;
	err = iomt_keytree_meta_encode(m, out + OFF_META);
	if (err)
		return err;
	memcpy(out, batch_id, 8);
	iomt_store_be16(out + OFF_COUNT, 0);
	*used = IOMT_RECBATCH_HDR_LEN;
	return IOMT_OK;
}

int iomt_recbatch_add(uint8_t *out, size_t cap, size_t *used, const uint8_t *rec, size_t len)
{
	struct iomt_record_hdr h;
	uint16_t count;
	int err;

	if (!out || !used || !rec || *used < IOMT_RECBATCH_HDR_LEN || *used > cap)
		return IOMT_EINVAL;
	err = iomt_record_parse(rec, len, &h);
	if (err)
		return err;
	/* Every record of a batch is under the batch's key tree. */
	if (memcmp(h.key_id, out + OFF_META_KEY_ID, IOMT_KEYTREE_ID_LEN))
		return IOMT_EINVAL;
	count = iomt_load_be16(out + OFF_COUNT);
	/* The record, its length, the cap, the count and the frame's 16-bit length. */
	if (count >= IOMT_RECBATCH_MAX || 2 + len > cap - *used ||
	    *used + 2 + len > IOMT_WIRE_MAX_PAYLOAD)
		return IOMT_ESIZE;
	iomt_store_be16(out + *used, (uint16_t)len);
	memcpy(out + *used + 2, rec, len);
	*used += 2 + len;
	iomt_store_be16(out + OFF_COUNT, (uint16_t)(count + 1));
	return IOMT_OK;
}

int iomt_recbatch_decode(struct iomt_recbatch *b, const uint8_t *in, size_t len)
{
	struct iomt_record_hdr h;
	struct iomt_rd r;
	uint16_t count;
	int err;

	if (!b)
		return IOMT_EINVAL;
	b->count = 0;
	if (!in)
		return IOMT_EINVAL;
	/* Shorter than the header, or longer than any frame can carry. */
	if (len < IOMT_RECBATCH_HDR_LEN || len > IOMT_WIRE_MAX_PAYLOAD)
		return IOMT_ESIZE;
	iomt_rd_init(&r, in, len);
	iomt_rd_bytes(&r, b->batch_id, sizeof(b->batch_id));
	err = iomt_keytree_meta_decode(&b->meta, iomt_rd_ptr(&r, IOMT_KEYTREE_META_LEN),
				       IOMT_KEYTREE_META_LEN);
	if (err)
		return err;
	count = iomt_rd_u16(&r);
	if (count < 1 || count > IOMT_RECBATCH_MAX)
		return IOMT_EMALFORMED;
	for (uint16_t i = 0; i < count; i++) {
		uint16_t n = iomt_rd_u16(&r);
		const uint8_t *p = iomt_rd_ptr(&r, n);

		/* A length that runs past the payload: truncated. */
		if (!p)
			return IOMT_ESIZE;
		err = iomt_record_parse(p, n, &h);
		if (err)
			return err;
		if (memcmp(h.key_id, b->meta.key_id, IOMT_KEYTREE_ID_LEN))
			return IOMT_EMALFORMED;
		b->rec[i] = p;
		b->len[i] = n;
	}
	/* Bytes after the last record: the count or a length lies. */
	err = iomt_rd_finish(&r);
	if (err)
		return err;
	b->count = count;
	return IOMT_OK;
}

void iomt_rec_ack_encode(const uint8_t batch_id[8], uint8_t status, uint16_t stored,
			 uint16_t duplicates, uint8_t out[IOMT_REC_ACK_LEN])
{
	memcpy(out, batch_id, 8);
	out[8] = status;
	iomt_store_be16(out + 9, stored);
	iomt_store_be16(out + 11, duplicates);
}

int iomt_rec_ack_decode(uint8_t batch_id[8], uint8_t *status, uint16_t *stored,
			uint16_t *duplicates, const uint8_t *in, size_t len)
{
	if (!batch_id || !status || !stored || !duplicates || !in)
		return IOMT_EINVAL;
	if (len != IOMT_REC_ACK_LEN)
		return IOMT_ESIZE;
	if (in[8] > IOMT_REC_UNREACHABLE)
		return IOMT_EMALFORMED;
	memcpy(batch_id, in, 8);
	*status = in[8];
	*stored = iomt_load_be16(in + 9);
	*duplicates = iomt_load_be16(in + 11);
	return IOMT_OK;
}
