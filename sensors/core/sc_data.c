/* SPDX-License-Identifier: MIT */
/* The data path: the write-ahead key schedule and record sealing (see sc.h). */
#include <string.h>
#include "ct.h"
#include "iomt_err.h"
#include "recbatch.h"
#include "sc.h"

int sc_data_provision(struct sc *c, const struct iomt_keytree_meta *m,
		      const uint8_t k_data0[IOMT_KEYTREE_KEY_LEN])
{
	int r;

	if (!c || !m || !k_data0)
		return IOMT_EINVAL;
	if (c->failed)
		return SC_EFAILED;
	r = sc_data_set(c, m, k_data0);
	return r ? r : sc_persist(c);
}

int sc_data_set(struct sc *c, const struct iomt_keytree_meta *m,
		const uint8_t k_data0[IOMT_KEYTREE_KEY_LEN])
{
	int r = iomt_keytree_sensor_init(&c->ks, &m->conf, m->key_id, k_data0, 0);

	if (r)
		return r;
	c->meta = *m;
	c->has_data = 1;
	c->leaf = 0;
	c->seq = c->seq_hi = 0;
	return IOMT_OK;
}

/* Moves to (epoch, leaf) and reserves a block of seqs; stored before use. */
static int advance(struct sc *c, uint32_t epoch, uint64_t leaf)
{
	int dirty = 0, r;

	if (epoch < c->ks.epoch || (epoch == c->ks.epoch && leaf < c->leaf))
		return SC_ECLOCK;	/* would reuse a leaf's sequence numbers */
	if (epoch > c->ks.epoch) {
		r = iomt_keytree_sensor_advance(&c->ks, epoch);
		if (r)
			return r;
		dirty = 1;
	}
	if (leaf > c->leaf) {
		c->leaf = leaf;
		c->seq = c->seq_hi = 0;
		dirty = 1;
	}
	if (c->seq == c->seq_hi) {
		if (c->seq_hi > UINT32_MAX - SC_SEQ_BLOCK)
			return IOMT_ESIZE;	/* a leaf's seqs exhausted */
		c->seq_hi += SC_SEQ_BLOCK;
		dirty = 1;
	}
	return dirty ? sc_persist(c) : SC_OK;
}

int sc_data_tick(struct sc *c, uint64_t t)
{
	uint32_t epoch;
	uint64_t leaf;
	int r;

	if (!c)
		return IOMT_EINVAL;
	if (c->failed)
		return SC_EFAILED;
	if (!c->has_data)
		return SC_ENOSTATE;
	r = iomt_keytree_locate(&c->meta.conf, t, &epoch, &leaf);
	if (r)
		return r;
	if (epoch <= c->ks.epoch)
		return SC_OK;
	r = iomt_keytree_sensor_advance(&c->ks, epoch);
	return r ? r : sc_persist(c);
}

int sc_data_seal(struct sc *c, uint64_t t, const uint8_t *data, size_t len, uint8_t *out,
		 size_t cap, size_t *out_len, struct iomt_record_hdr *h)
{
	uint8_t k_enc[IOMT_KEYTREE_KEY_LEN];
	uint32_t epoch;
	uint64_t leaf;
	int r;

	if (!c || !out || !out_len || !h || (!data && len))
		return IOMT_EINVAL;
	if (c->failed)
		return SC_EFAILED;
	if (!c->has_data)
		return SC_ENOSTATE;
	if (len > IOMT_RECORD_MAX_DATA || cap < len + IOMT_RECORD_OVERHEAD)
		return IOMT_ESIZE;	/* checked first: a refusal must not spend a seq */
	r = iomt_keytree_locate(&c->meta.conf, t, &epoch, &leaf);
	if (!r)
		r = advance(c, epoch, leaf);
	if (!r)
		r = iomt_keytree_sensor_key(&c->ks, t, &epoch, &leaf, k_enc);
	if (r)
		return r;
	memcpy(h->key_id, c->meta.key_id, sizeof(h->key_id));
	h->epoch = epoch;
	h->leaf = leaf;
	h->seq = c->seq++;
	r = iomt_record_seal(k_enc, h, data, len, out, cap, out_len);
	iomt_wipe(k_enc, sizeof(k_enc));
	return r;
}

int sc_batch_open(struct sc *c, uint8_t *out, size_t cap, uint8_t batch_id[8], size_t *used)
{
	int r;

	if (!c || !out || !batch_id || !used)
		return IOMT_EINVAL;
	if (!c->has_data)
		return SC_ENOSTATE;
	if (cap < IOMT_WIRE_HDR_LEN)
		return IOMT_ESIZE;
	if (c->drv->rng(c->ctx, batch_id, 8))
		return SC_ERNG;
	r = iomt_recbatch_begin(out + IOMT_WIRE_HDR_LEN, cap - IOMT_WIRE_HDR_LEN, batch_id,
				&c->meta, used);
	return r;
}

int sc_batch_close(uint8_t *out, size_t used)
{
	return iomt_wire_put_hdr(out, IOMT_MSG_REC_PUT, used);
}
