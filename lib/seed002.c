/* SPDX-License-Identifier: MIT */
/*
 * Seed 002 key agreement (see seed002.h): message codecs, the device state
 * machine, the MEC and TTP steps, one at a time and batched.
 *
 * Every step checks its state, then the exact message size, computes in
 * stack locals, checks the value that authenticates the message, and only
 * then writes its outputs and commits the new state; every exit wipes the
 * locals that held keys or hash outputs.
 */
#include <string.h>
#include "seed002.h"
#include "codec.h"
#include "shake.h"
#include "ct.h"
#include "iomt_err.h"

enum {
	/* H1 output: c1 || c2 || c3 || c4 */
	OFF_C1 = 0,
	OFF_C2 = OFF_C1 + IOMT_S2_C1_LEN,
	OFF_C3 = OFF_C2 + IOMT_S2_C_LEN,
	OFF_C4 = OFF_C3 + IOMT_S2_C_LEN,
	/* H1 inputs and the H2 input */
	DEV_IN_LEN = IOMT_S2_ID_LEN + IOMT_S2_KEY_LEN + IOMT_S2_RAND_LEN,
	MEC_IN_LEN = IOMT_S2_ID_LEN + IOMT_S2_KEY_LEN + IOMT_S2_RAND_LEN + IOMT_S2_M1_LEN,
	H2_IN_LEN = IOMT_S2_KEY_LEN + IOMT_S2_RAND_LEN,
	/* Batches run in chunks of this many items: bounded stack, and enough
	 * hashes per chunk to fill the widest Keccak lanes (2 H1 per TTP item). */
	CHUNK = 8,
	/* device blob: version || state || DID || DK || R1 || c2 || c3 || c4 */
	BLOB_VERSION = 1,
	BLOB_OFF_PENDING = 2 + IOMT_S2_ID_LEN + IOMT_S2_KEY_LEN,
	BLOB_PENDING_LEN = IOMT_S2_RAND_LEN + 3 * IOMT_S2_C_LEN,
};

/* ---- message codecs: one chained reader/writer per message ---- */

static void rd_m1(struct iomt_rd *r, struct iomt_s2_m1 *m)
{
	iomt_rd_bytes(r, m->did_i, sizeof(m->did_i));
	iomt_rd_bytes(r, m->r1, sizeof(m->r1));
	iomt_rd_bytes(r, m->c1_i, sizeof(m->c1_i));
}

static void wr_m1(struct iomt_wr *w, const struct iomt_s2_m1 *m)
{
	iomt_wr_bytes(w, m->did_i, sizeof(m->did_i));
	iomt_wr_bytes(w, m->r1, sizeof(m->r1));
	iomt_wr_bytes(w, m->c1_i, sizeof(m->c1_i));
}

static void rd_m2(struct iomt_rd *r, struct iomt_s2_m2 *m)
{
	rd_m1(r, &m->m1);
	iomt_rd_bytes(r, m->did_m, sizeof(m->did_m));
	iomt_rd_bytes(r, m->r2, sizeof(m->r2));
	iomt_rd_bytes(r, m->c1_m, sizeof(m->c1_m));
}

static void rd_m3(struct iomt_rd *r, struct iomt_s2_m3 *m)
{
	iomt_rd_bytes(r, m->d1, sizeof(m->d1));
	iomt_rd_bytes(r, m->d2, sizeof(m->d2));
	iomt_rd_bytes(r, m->d3, sizeof(m->d3));
}

static void rd_m4(struct iomt_rd *r, struct iomt_s2_m4 *m)
{
	iomt_rd_bytes(r, m->d2, sizeof(m->d2));
	iomt_rd_bytes(r, m->d3, sizeof(m->d3));
}

/* Parsed into a local first, so a refused message writes nothing. */
static int rd_commit(const struct iomt_rd *r, void *m, const void *t, size_t n)
{
	int err = iomt_rd_finish(r);

	if (err == IOMT_OK)
		memcpy(m, t, n);
	return err;
}

/* Each message has one size; anything shorter or longer is not that message. */
int iomt_s2_m1_parse(struct iomt_s2_m1 *m, const uint8_t *buf, size_t len)
{
	struct iomt_s2_m1 t;
	struct iomt_rd r;

	if (!m || !buf)
		return IOMT_EINVAL;
	iomt_rd_init(&r, buf, len);
	rd_m1(&r, &t);
	return rd_commit(&r, m, &t, sizeof(t));
}

int iomt_s2_m2_parse(struct iomt_s2_m2 *m, const uint8_t *buf, size_t len)
{
	struct iomt_s2_m2 t;
	struct iomt_rd r;

	if (!m || !buf)
		return IOMT_EINVAL;
	iomt_rd_init(&r, buf, len);
	rd_m2(&r, &t);
	return rd_commit(&r, m, &t, sizeof(t));
}

int iomt_s2_m3_parse(struct iomt_s2_m3 *m, const uint8_t *buf, size_t len)
{
	struct iomt_s2_m3 t;
	struct iomt_rd r;

	if (!m || !buf)
		return IOMT_EINVAL;
	iomt_rd_init(&r, buf, len);
	rd_m3(&r, &t);
	return rd_commit(&r, m, &t, sizeof(t));
}

int iomt_s2_m4_parse(struct iomt_s2_m4 *m, const uint8_t *buf, size_t len)
{
	struct iomt_s2_m4 t;
	struct iomt_rd r;

	if (!m || !buf)
		return IOMT_EINVAL;
	iomt_rd_init(&r, buf, len);
	rd_m4(&r, &t);
	return rd_commit(&r, m, &t, sizeof(t));
}

/* The buffers have the messages' exact sizes, so the writers cannot fail. */
void iomt_s2_m1_build(const struct iomt_s2_m1 *m, uint8_t buf[IOMT_S2_M1_LEN])
{
	struct iomt_wr w;

	iomt_wr_init(&w, buf, IOMT_S2_M1_LEN);
	wr_m1(&w, m);
}

void iomt_s2_m2_build(const struct iomt_s2_m2 *m, uint8_t buf[IOMT_S2_M2_LEN])
{
	struct iomt_wr w;

	iomt_wr_init(&w, buf, IOMT_S2_M2_LEN);
	wr_m1(&w, &m->m1);
	iomt_wr_bytes(&w, m->did_m, sizeof(m->did_m));
	iomt_wr_bytes(&w, m->r2, sizeof(m->r2));
	iomt_wr_bytes(&w, m->c1_m, sizeof(m->c1_m));
}

void iomt_s2_m3_build(const struct iomt_s2_m3 *m, uint8_t buf[IOMT_S2_M3_LEN])
{
	struct iomt_wr w;

	iomt_wr_init(&w, buf, IOMT_S2_M3_LEN);
	iomt_wr_bytes(&w, m->d1, sizeof(m->d1));
	iomt_wr_bytes(&w, m->d2, sizeof(m->d2));
	iomt_wr_bytes(&w, m->d3, sizeof(m->d3));
}

void iomt_s2_m4_build(const struct iomt_s2_m4 *m, uint8_t buf[IOMT_S2_M4_LEN])
{
	struct iomt_wr w;

	iomt_wr_init(&w, buf, IOMT_S2_M4_LEN);
	iomt_wr_bytes(&w, m->d2, sizeof(m->d2));
	iomt_wr_bytes(&w, m->d3, sizeof(m->d3));
}

int iomt_s2_m2_dids(const uint8_t *m2, size_t m2_len, uint8_t did_i[IOMT_S2_ID_LEN],
		    uint8_t did_m[IOMT_S2_ID_LEN])
{
	struct iomt_s2_m2 m;
	int err;

	if (!did_i || !did_m)
		return IOMT_EINVAL;
	err = iomt_s2_m2_parse(&m, m2, m2_len);
	if (err)
		return err;
	memcpy(did_i, m.m1.did_i, IOMT_S2_ID_LEN);
	memcpy(did_m, m.did_m, IOMT_S2_ID_LEN);
	return IOMT_OK;
}

/* ---- shared arithmetic ---- */

/* s = c2 ^ c3 ^ c4: a party's contribution to SK. */
static void share(uint8_t s[IOMT_S2_KEY_LEN], const uint8_t *c2, const uint8_t *c3,
		  const uint8_t *c4)
{
	memcpy(s, c2, IOMT_S2_KEY_LEN);
	iomt_xor(s, c3, IOMT_S2_KEY_LEN);
	iomt_xor(s, c4, IOMT_S2_KEY_LEN);
}

/* DID || DK || R: the device's H1 input. */
static void dev_input(uint8_t in[DEV_IN_LEN], const uint8_t *did, const uint8_t *dk,
		      const uint8_t *r1)
{
	memcpy(in, did, IOMT_S2_ID_LEN);
	memcpy(in + IOMT_S2_ID_LEN, dk, IOMT_S2_KEY_LEN);
	memcpy(in + IOMT_S2_ID_LEN + IOMT_S2_KEY_LEN, r1, IOMT_S2_RAND_LEN);
}

/* DID_m || DK_m || R2 || DID_i || R1 || c1_i, the last three being M1 as sent. */
static void mec_input(uint8_t in[MEC_IN_LEN], const uint8_t *did_m, const uint8_t *dk_m,
		      const uint8_t *r2, const uint8_t m1[IOMT_S2_M1_LEN])
{
	dev_input(in, did_m, dk_m, r2);
	memcpy(in + DEV_IN_LEN, m1, IOMT_S2_M1_LEN);
}

/* SK || R1: the H2 input whose hash, d3, authenticates M3 and M4. */
static void h2_input(uint8_t in[H2_IN_LEN], const uint8_t *sk, const uint8_t *r1)
{
	memcpy(in, sk, IOMT_S2_KEY_LEN);
	memcpy(in + IOMT_S2_KEY_LEN, r1, IOMT_S2_RAND_LEN);
}

/* ---- device ---- */

int iomt_s2_device_init(struct iomt_s2_device *dev, const uint8_t did[IOMT_S2_ID_LEN],
			const uint8_t dk[IOMT_S2_KEY_LEN])
{
	if (!dev || !did || !dk)
		return IOMT_EINVAL;
	iomt_wipe(dev, sizeof(*dev));
	memcpy(dev->did, did, IOMT_S2_ID_LEN);
	memcpy(dev->dk, dk, IOMT_S2_KEY_LEN);
	dev->state = IOMT_S2_DEV_IDLE;
	return IOMT_OK;
}

/* Forgets a pending run; idle fields are kept zero (the blob relies on it). */
static void dev_clear_pending(struct iomt_s2_device *dev)
{
	iomt_wipe(dev->r1, sizeof(dev->r1));
	iomt_wipe(dev->c2, sizeof(dev->c2));
	iomt_wipe(dev->c3, sizeof(dev->c3));
	iomt_wipe(dev->c4, sizeof(dev->c4));
	dev->state = IOMT_S2_DEV_IDLE;
}

int iomt_s2_device_start(struct iomt_s2_device *dev, const uint8_t r1[IOMT_S2_RAND_LEN],
			 uint8_t m1[IOMT_S2_M1_LEN])
{
	uint8_t in[DEV_IN_LEN], h[IOMT_S2_H1_LEN];
	struct iomt_s2_m1 msg;

	if (!dev || !r1 || !m1)
		return IOMT_EINVAL;
	/* From AWAIT_M4 too: M1, M2, M3 or M4 may be lost, and the device's
	 * only recourse is to start again (with the same, unrotated keys). */
	if (dev->state != IOMT_S2_DEV_IDLE && dev->state != IOMT_S2_DEV_AWAIT_M4)
		return IOMT_ESTATE;

	dev_input(in, dev->did, dev->dk, r1);
	iomt_shake128(in, sizeof(in), h, sizeof(h));
	memcpy(msg.did_i, dev->did, IOMT_S2_ID_LEN);
	memcpy(msg.r1, r1, IOMT_S2_RAND_LEN);
	memcpy(msg.c1_i, h + OFF_C1, IOMT_S2_C1_LEN);
	iomt_s2_m1_build(&msg, m1);

	memcpy(dev->r1, r1, IOMT_S2_RAND_LEN);
	memcpy(dev->c2, h + OFF_C2, IOMT_S2_C_LEN);
	memcpy(dev->c3, h + OFF_C3, IOMT_S2_C_LEN);
	memcpy(dev->c4, h + OFF_C4, IOMT_S2_C_LEN);
	dev->state = IOMT_S2_DEV_AWAIT_M4;

	iomt_wipe(in, sizeof(in));
	iomt_wipe(h, sizeof(h));
	return IOMT_OK;
}

int iomt_s2_device_finish(struct iomt_s2_device *dev, const uint8_t *m4, size_t m4_len,
			  uint8_t sk[IOMT_S2_KEY_LEN])
{
	uint8_t k[IOMT_S2_KEY_LEN], in[H2_IN_LEN], d3[IOMT_S2_D3_LEN];
	struct iomt_s2_m4 msg;
	int err;

	if (!dev || !m4 || !sk)
		return IOMT_EINVAL;
	if (dev->state != IOMT_S2_DEV_AWAIT_M4)
		return IOMT_ESTATE;
	/* M4 is d2 || d3 and nothing else. */
	err = iomt_s2_m4_parse(&msg, m4, m4_len);
	if (err)
		return err;

	share(k, dev->c2, dev->c3, dev->c4);
	iomt_xor(k, msg.d2, IOMT_S2_KEY_LEN);
	h2_input(in, k, dev->r1);
	iomt_shake128(in, sizeof(in), d3, sizeof(d3));
	/* d3 is the only thing binding d2 to this run: a wrong one (forged, or
	 * an M4 for an earlier start) must leave the run pending. */
	if (!iomt_ct_eq(d3, msg.d3, IOMT_S2_D3_LEN)) {
		err = IOMT_EAUTH;
		goto out;
	}
	memcpy(sk, k, IOMT_S2_KEY_LEN);
	memcpy(dev->did, dev->c2, IOMT_S2_ID_LEN);
	memcpy(dev->dk, dev->c3, IOMT_S2_KEY_LEN);
	dev_clear_pending(dev);
out:
	iomt_wipe(k, sizeof(k));
	iomt_wipe(in, sizeof(in));
	iomt_wipe(d3, sizeof(d3));
	return err;
}

int iomt_s2_device_abort(struct iomt_s2_device *dev)
{
	if (!dev)
		return IOMT_EINVAL;
	if (dev->state != IOMT_S2_DEV_AWAIT_M4)
		return IOMT_ESTATE;
	dev_clear_pending(dev);
	return IOMT_OK;
}

int iomt_s2_device_identity(const struct iomt_s2_device *dev, uint8_t did[IOMT_S2_ID_LEN],
			    uint8_t dk[IOMT_S2_KEY_LEN])
{
	if (!dev || !did)
		return IOMT_EINVAL;
	if (dev->state != IOMT_S2_DEV_IDLE && dev->state != IOMT_S2_DEV_AWAIT_M4)
		return IOMT_ESTATE;
	memcpy(did, dev->did, IOMT_S2_ID_LEN);
	if (dk)
		memcpy(dk, dev->dk, IOMT_S2_KEY_LEN);
	return IOMT_OK;
}

/* version || state || DID || DK || R1 || c2 || c3 || c4 */
int iomt_s2_device_export(const struct iomt_s2_device *dev,
			  uint8_t blob[IOMT_S2_DEVICE_BLOB_LEN])
{
	struct iomt_wr w;

	if (!dev || !blob)
		return IOMT_EINVAL;
	if (dev->state != IOMT_S2_DEV_IDLE && dev->state != IOMT_S2_DEV_AWAIT_M4)
		return IOMT_ESTATE;
	iomt_wr_init(&w, blob, IOMT_S2_DEVICE_BLOB_LEN);
	iomt_wr_u8(&w, BLOB_VERSION);
	iomt_wr_u8(&w, (uint8_t)dev->state);
	iomt_wr_bytes(&w, dev->did, sizeof(dev->did));
	iomt_wr_bytes(&w, dev->dk, sizeof(dev->dk));
	iomt_wr_bytes(&w, dev->r1, sizeof(dev->r1));
	iomt_wr_bytes(&w, dev->c2, sizeof(dev->c2));
	iomt_wr_bytes(&w, dev->c3, sizeof(dev->c3));
	iomt_wr_bytes(&w, dev->c4, sizeof(dev->c4));
	return IOMT_OK;
}

int iomt_s2_device_import(struct iomt_s2_device *dev, const uint8_t *blob, size_t len)
{
	struct iomt_s2_device t;
	struct iomt_rd r;
	uint8_t version, state;
	int err;

	if (!dev || !blob)
		return IOMT_EINVAL;
	iomt_rd_init(&r, blob, len);
	version = iomt_rd_u8(&r);
	state = iomt_rd_u8(&r);
	iomt_rd_bytes(&r, t.did, sizeof(t.did));
	iomt_rd_bytes(&r, t.dk, sizeof(t.dk));
	iomt_rd_bytes(&r, t.r1, sizeof(t.r1));
	iomt_rd_bytes(&r, t.c2, sizeof(t.c2));
	iomt_rd_bytes(&r, t.c3, sizeof(t.c3));
	iomt_rd_bytes(&r, t.c4, sizeof(t.c4));
	err = iomt_rd_finish(&r);
	if (err)
		goto out;
	/* A blob from another version, a torn write or a bit flip must not
	 * become a device that agrees keys with garbage. */
	if (version != BLOB_VERSION ||
	    (state != IOMT_S2_DEV_IDLE && state != IOMT_S2_DEV_AWAIT_M4) ||
	    (state == IOMT_S2_DEV_IDLE && !iomt_ct_is_zero(blob + BLOB_OFF_PENDING,
							   BLOB_PENDING_LEN))) {
		err = IOMT_EMALFORMED;
		goto out;
	}
	t.state = state;
	*dev = t;
out:
	iomt_wipe(&t, sizeof(t));
	return err;
}

void iomt_s2_device_wipe(struct iomt_s2_device *dev)
{
	if (dev)
		iomt_wipe(dev, sizeof(*dev));
}

/* ---- MEC: M1 -> M2 ---- */

/* Writes M2 = M1 || DID_m || R2 || c1_m and the pending run from H1 = h. */
static void mec_m2_commit(const uint8_t *did_m, const uint8_t *dk_m, const uint8_t *r2,
			  const uint8_t *m1, const uint8_t h[IOMT_S2_H1_LEN],
			  struct iomt_s2_mec_pending *p, uint8_t *m2)
{
	struct iomt_s2_m2 msg;

	/* m1 has exactly IOMT_S2_M1_LEN bytes here: this cannot fail. */
	(void)iomt_s2_m1_parse(&msg.m1, m1, IOMT_S2_M1_LEN);
	memcpy(msg.did_m, did_m, IOMT_S2_ID_LEN);
	memcpy(msg.r2, r2, IOMT_S2_RAND_LEN);
	memcpy(msg.c1_m, h + OFF_C1, IOMT_S2_C1_LEN);
	iomt_s2_m2_build(&msg, m2);

	memcpy(p->did_i, msg.m1.did_i, IOMT_S2_ID_LEN);
	memcpy(p->r1, msg.m1.r1, IOMT_S2_RAND_LEN);
	memcpy(p->did_m, did_m, IOMT_S2_ID_LEN);
	memcpy(p->dk_m, dk_m, IOMT_S2_KEY_LEN);
	memcpy(p->c2, h + OFF_C2, IOMT_S2_C_LEN);
	memcpy(p->c3, h + OFF_C3, IOMT_S2_C_LEN);
	memcpy(p->c4, h + OFF_C4, IOMT_S2_C_LEN);
	p->state = IOMT_S2_MEC_AWAIT_M3;
}

int iomt_s2_mec_m2(const uint8_t did_m[IOMT_S2_ID_LEN], const uint8_t dk_m[IOMT_S2_KEY_LEN],
		   const uint8_t r2[IOMT_S2_RAND_LEN], const uint8_t *m1, size_t m1_len,
		   struct iomt_s2_mec_pending *pending, uint8_t m2[IOMT_S2_M2_LEN])
{
	uint8_t in[MEC_IN_LEN], h[IOMT_S2_H1_LEN];

	if (!did_m || !dk_m || !r2 || !m1 || !pending || !m2)
		return IOMT_EINVAL;
	/* M1 is DID_i || R1 || c1_i and nothing else. */
	if (m1_len != IOMT_S2_M1_LEN)
		return IOMT_ESIZE;
	mec_input(in, did_m, dk_m, r2, m1);
	iomt_shake128(in, sizeof(in), h, sizeof(h));
	mec_m2_commit(did_m, dk_m, r2, m1, h, pending, m2);
	iomt_wipe(in, sizeof(in));
	iomt_wipe(h, sizeof(h));
	return IOMT_OK;
}

static void mec_m2_chunk(size_t g, const uint8_t *const did_m[], const uint8_t *const dk_m[],
			 const uint8_t *const r2[], const uint8_t *const m1[],
			 const size_t m1_len[], struct iomt_s2_mec_pending *const pending[],
			 uint8_t *const m2[], int status[])
{
	uint8_t in[CHUNK][MEC_IN_LEN], h[CHUNK][IOMT_S2_H1_LEN];
	/* Zeroed: only the first nh entries are filled, and the compiler cannot
	 * see that the batch call reads no more. */
	const uint8_t *hin[CHUNK] = { 0 };
	uint8_t *hout[CHUNK] = { 0 };
	size_t hlen[CHUNK] = { 0 }, nh = 0;

	for (size_t i = 0; i < g; i++) {
		status[i] = m1_len[i] == IOMT_S2_M1_LEN ? IOMT_OK : IOMT_ESIZE;
		if (status[i])
			continue;
		mec_input(in[i], did_m[i], dk_m[i], r2[i], m1[i]);
		hin[nh] = in[i];
		hlen[nh] = MEC_IN_LEN;
		hout[nh++] = h[i];
	}
	(void)iomt_shake128_batch(hin, hlen, hout, IOMT_S2_H1_LEN, nh);
	for (size_t i = 0; i < g; i++)
		if (status[i] == IOMT_OK)
			mec_m2_commit(did_m[i], dk_m[i], r2[i], m1[i], h[i], pending[i], m2[i]);
	iomt_wipe(in, sizeof(in));
	iomt_wipe(h, sizeof(h));
}

int iomt_s2_mec_m2_batch(size_t n, const uint8_t *const did_m[], const uint8_t *const dk_m[],
			 const uint8_t *const r2[], const uint8_t *const m1[],
			 const size_t m1_len[], struct iomt_s2_mec_pending *const pending[],
			 uint8_t *const m2[], int status[])
{
	if (n && (!did_m || !dk_m || !r2 || !m1 || !m1_len || !pending || !m2 || !status))
		return IOMT_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!did_m[i] || !dk_m[i] || !r2[i] || !m1[i] || !pending[i] || !m2[i])
			return IOMT_EINVAL;
	for (size_t i = 0; i < n; i += CHUNK) {
		size_t g = n - i < CHUNK ? n - i : CHUNK;

		mec_m2_chunk(g, did_m + i, dk_m + i, r2 + i, m1 + i, m1_len + i, pending + i,
			     m2 + i, status + i);
	}
	return IOMT_OK;
}

/* ---- MEC: M3 -> SK, M4 ---- */

/* State, size, then SK = s_m ^ d1 and the H2 input that d3 must match. */
static int mec_fin_prepare(const struct iomt_s2_mec_pending *p, const uint8_t *m3,
			   size_t m3_len, struct iomt_s2_m3 *msg, uint8_t sk[IOMT_S2_KEY_LEN],
			   uint8_t in[H2_IN_LEN])
{
	int err;

	if (p->state != IOMT_S2_MEC_AWAIT_M3)
		return IOMT_ESTATE;
	/* M3 is d1 || d2 || d3 and nothing else. */
	err = iomt_s2_m3_parse(msg, m3, m3_len);
	if (err)
		return err;
	share(sk, p->c2, p->c3, p->c4);
	iomt_xor(sk, msg->d1, IOMT_S2_KEY_LEN);
	h2_input(in, sk, p->r1);
	return IOMT_OK;
}

/* d3 check, then SK, M4 = d2 || d3, the next identity; the run is over. */
static int mec_fin_commit(struct iomt_s2_mec_pending *p, const struct iomt_s2_m3 *msg,
			  const uint8_t *k, const uint8_t *d3, uint8_t *sk, uint8_t *m4,
			  uint8_t *next_did_m, uint8_t *next_dk_m)
{
	struct iomt_s2_m4 fwd;

	/* Checked again: a batch may list one pending twice. */
	if (p->state != IOMT_S2_MEC_AWAIT_M3)
		return IOMT_ESTATE;
	/* d3 binds d1 (through SK) and R1 to this run. */
	if (!iomt_ct_eq(d3, msg->d3, IOMT_S2_D3_LEN))
		return IOMT_EAUTH;
	memcpy(fwd.d2, msg->d2, IOMT_S2_D_LEN);
	memcpy(fwd.d3, msg->d3, IOMT_S2_D3_LEN);
	memcpy(sk, k, IOMT_S2_KEY_LEN);
	iomt_s2_m4_build(&fwd, m4);
	memcpy(next_did_m, p->c2, IOMT_S2_ID_LEN);
	memcpy(next_dk_m, p->c3, IOMT_S2_KEY_LEN);
	iomt_wipe(p, sizeof(*p));	/* state EMPTY: it cannot finish twice */
	return IOMT_OK;
}

int iomt_s2_mec_finish(struct iomt_s2_mec_pending *pending, const uint8_t *m3, size_t m3_len,
		       uint8_t sk[IOMT_S2_KEY_LEN], uint8_t m4[IOMT_S2_M4_LEN],
		       uint8_t next_did_m[IOMT_S2_ID_LEN], uint8_t next_dk_m[IOMT_S2_KEY_LEN])
{
	uint8_t k[IOMT_S2_KEY_LEN], in[H2_IN_LEN], d3[IOMT_S2_D3_LEN];
	struct iomt_s2_m3 msg;
	int err;

	if (!pending || !m3 || !sk || !m4 || !next_did_m || !next_dk_m)
		return IOMT_EINVAL;
	err = mec_fin_prepare(pending, m3, m3_len, &msg, k, in);
	if (err)
		goto out;
	iomt_shake128(in, sizeof(in), d3, sizeof(d3));
	err = mec_fin_commit(pending, &msg, k, d3, sk, m4, next_did_m, next_dk_m);
out:
	iomt_wipe(k, sizeof(k));
	iomt_wipe(in, sizeof(in));
	iomt_wipe(d3, sizeof(d3));
	return err;
}

static void mec_fin_chunk(size_t g, struct iomt_s2_mec_pending *const pending[],
			  const uint8_t *const m3[], const size_t m3_len[],
			  struct iomt_s2_mec_out out[], int status[])
{
	uint8_t k[CHUNK][IOMT_S2_KEY_LEN], in[CHUNK][H2_IN_LEN], d3[CHUNK][IOMT_S2_D3_LEN];
	struct iomt_s2_m3 msg[CHUNK];
	/* Zeroed: only the first nh entries are filled, and the compiler cannot
	 * see that the batch call reads no more. */
	const uint8_t *hin[CHUNK] = { 0 };
	uint8_t *hout[CHUNK] = { 0 };
	size_t hlen[CHUNK] = { 0 }, nh = 0;

	for (size_t i = 0; i < g; i++) {
		status[i] = mec_fin_prepare(pending[i], m3[i], m3_len[i], &msg[i], k[i], in[i]);
		if (status[i])
			continue;
		hin[nh] = in[i];
		hlen[nh] = H2_IN_LEN;
		hout[nh++] = d3[i];
	}
	(void)iomt_shake128_batch(hin, hlen, hout, IOMT_S2_D3_LEN, nh);
	for (size_t i = 0; i < g; i++)
		if (status[i] == IOMT_OK)
			status[i] = mec_fin_commit(pending[i], &msg[i], k[i], d3[i], out[i].sk,
						   out[i].m4, out[i].next_did_m,
						   out[i].next_dk_m);
	iomt_wipe(k, sizeof(k));
	iomt_wipe(in, sizeof(in));
	iomt_wipe(d3, sizeof(d3));
}

int iomt_s2_mec_finish_batch(size_t n, struct iomt_s2_mec_pending *const pending[],
			     const uint8_t *const m3[], const size_t m3_len[],
			     struct iomt_s2_mec_out out[], int status[])
{
	if (n && (!pending || !m3 || !m3_len || !out || !status))
		return IOMT_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!pending[i] || !m3[i])
			return IOMT_EINVAL;
	for (size_t i = 0; i < n; i += CHUNK) {
		size_t g = n - i < CHUNK ? n - i : CHUNK;

		mec_fin_chunk(g, pending + i, m3 + i, m3_len + i, out + i, status + i);
	}
	return IOMT_OK;
}

/* ---- TTP ---- */

/* Working set of one TTP item; wiped as a whole. */
struct ttp_work {
	struct iomt_s2_m2 msg;
	uint8_t in_i[DEV_IN_LEN], in_m[MEC_IN_LEN];
	uint8_t h_i[IOMT_S2_H1_LEN], h_m[IOMT_S2_H1_LEN];
	uint8_t sk[IOMT_S2_KEY_LEN], d1[IOMT_S2_D_LEN], d2[IOMT_S2_D_LEN];
	uint8_t in2[H2_IN_LEN], d3[IOMT_S2_D3_LEN];
};

/* Size check, then both H1 inputs, rebuilt from the DKs the TTP holds. */
static int ttp_prepare(struct ttp_work *w, const uint8_t *dk_i, const uint8_t *dk_m,
		       const uint8_t *m2, size_t m2_len)
{
	/* M2 is M1 || DID_m || R2 || c1_m and nothing else. */
	int err = iomt_s2_m2_parse(&w->msg, m2, m2_len);

	if (err)
		return err;
	dev_input(w->in_i, w->msg.m1.did_i, dk_i, w->msg.m1.r1);
	mec_input(w->in_m, w->msg.did_m, dk_m, w->msg.r2, m2);
	return IOMT_OK;
}

/* Both c1 checks (both always evaluated), then SK, d1, d2 and H2's input. */
static int ttp_derive(struct ttp_work *w, const uint8_t *r3, unsigned *bad)
{
	uint8_t s_m[IOMT_S2_KEY_LEN];
	unsigned b = IOMT_S2_BAD_NONE;

	if (!iomt_ct_eq(w->h_i + OFF_C1, w->msg.m1.c1_i, IOMT_S2_C1_LEN))
		b |= IOMT_S2_BAD_DEVICE;
	if (!iomt_ct_eq(w->h_m + OFF_C1, w->msg.c1_m, IOMT_S2_C1_LEN))
		b |= IOMT_S2_BAD_MEC;
	if (bad)
		*bad = b;
	if (b)
		return IOMT_EAUTH;
	share(w->d1, w->h_i + OFF_C2, w->h_i + OFF_C3, w->h_i + OFF_C4);
	share(s_m, w->h_m + OFF_C2, w->h_m + OFF_C3, w->h_m + OFF_C4);
	memcpy(w->sk, w->d1, IOMT_S2_KEY_LEN);
	iomt_xor(w->sk, s_m, IOMT_S2_KEY_LEN);
	iomt_xor(w->sk, r3, IOMT_S2_RAND_LEN);
	iomt_xor(w->d1, r3, IOMT_S2_RAND_LEN);
	memcpy(w->d2, s_m, IOMT_S2_KEY_LEN);
	iomt_xor(w->d2, r3, IOMT_S2_RAND_LEN);
	h2_input(w->in2, w->sk, w->msg.m1.r1);
	iomt_wipe(s_m, sizeof(s_m));
	return IOMT_OK;
}

static void ttp_commit(const struct ttp_work *w, struct iomt_s2_ttp_out *out)
{
	struct iomt_s2_m3 m3;

	memcpy(m3.d1, w->d1, IOMT_S2_D_LEN);
	memcpy(m3.d2, w->d2, IOMT_S2_D_LEN);
	memcpy(m3.d3, w->d3, IOMT_S2_D3_LEN);
	iomt_s2_m3_build(&m3, out->m3);
	memcpy(out->sk, w->sk, IOMT_S2_KEY_LEN);
	memcpy(out->next_did_i, w->h_i + OFF_C2, IOMT_S2_ID_LEN);
	memcpy(out->next_dk_i, w->h_i + OFF_C3, IOMT_S2_KEY_LEN);
	memcpy(out->next_did_m, w->h_m + OFF_C2, IOMT_S2_ID_LEN);
	memcpy(out->next_dk_m, w->h_m + OFF_C3, IOMT_S2_KEY_LEN);
}

int iomt_s2_ttp_process(const uint8_t dk_i[IOMT_S2_KEY_LEN], const uint8_t dk_m[IOMT_S2_KEY_LEN],
			const uint8_t *m2, size_t m2_len, const uint8_t r3[IOMT_S2_RAND_LEN],
			struct iomt_s2_ttp_out *out, unsigned *bad)
{
	struct ttp_work w;
	int err;

	if (!dk_i || !dk_m || !m2 || !r3 || !out)
		return IOMT_EINVAL;
	if (bad)
		*bad = IOMT_S2_BAD_NONE;
	err = ttp_prepare(&w, dk_i, dk_m, m2, m2_len);
	if (err)
		goto out;
	iomt_shake128(w.in_i, sizeof(w.in_i), w.h_i, sizeof(w.h_i));
	iomt_shake128(w.in_m, sizeof(w.in_m), w.h_m, sizeof(w.h_m));
	err = ttp_derive(&w, r3, bad);
	if (err)
		goto out;
	iomt_shake128(w.in2, sizeof(w.in2), w.d3, sizeof(w.d3));
	ttp_commit(&w, out);
out:
	iomt_wipe(&w, sizeof(w));
	return err;
}

static void ttp_chunk(size_t g, const uint8_t *const dk_i[], const uint8_t *const dk_m[],
		      const uint8_t *const m2[], const size_t m2_len[], const uint8_t *const r3[],
		      struct iomt_s2_ttp_out out[], int status[], unsigned bad[])
{
	struct ttp_work w[CHUNK];
	/* Zeroed: only the first nh entries are filled, and the compiler cannot
	 * see that the batch call reads no more. */
	const uint8_t *hin[2 * CHUNK] = { 0 };
	uint8_t *hout[2 * CHUNK] = { 0 };
	size_t hlen[2 * CHUNK] = { 0 }, nh = 0;
	unsigned b;

	for (size_t i = 0; i < g; i++) {
		if (bad)
			bad[i] = IOMT_S2_BAD_NONE;
		status[i] = ttp_prepare(&w[i], dk_i[i], dk_m[i], m2[i], m2_len[i]);
		if (status[i])
			continue;
		/* Device and MEC inputs are both one Keccak block: one group. */
		hin[nh] = w[i].in_i;
		hlen[nh] = DEV_IN_LEN;
		hout[nh++] = w[i].h_i;
		hin[nh] = w[i].in_m;
		hlen[nh] = MEC_IN_LEN;
		hout[nh++] = w[i].h_m;
	}
	(void)iomt_shake128_batch(hin, hlen, hout, IOMT_S2_H1_LEN, nh);

	nh = 0;
	for (size_t i = 0; i < g; i++) {
		if (status[i])
			continue;
		status[i] = ttp_derive(&w[i], r3[i], &b);
		if (bad)
			bad[i] = b;
		if (status[i])
			continue;
		hin[nh] = w[i].in2;
		hlen[nh] = H2_IN_LEN;
		hout[nh++] = w[i].d3;
	}
	(void)iomt_shake128_batch(hin, hlen, hout, IOMT_S2_D3_LEN, nh);

	for (size_t i = 0; i < g; i++)
		if (status[i] == IOMT_OK)
			ttp_commit(&w[i], &out[i]);
	iomt_wipe(w, sizeof(w));
}

int iomt_s2_ttp_process_batch(size_t n, const uint8_t *const dk_i[], const uint8_t *const dk_m[],
			      const uint8_t *const m2[], const size_t m2_len[],
			      const uint8_t *const r3[], struct iomt_s2_ttp_out out[],
			      int status[], unsigned bad[])
{
	if (n && (!dk_i || !dk_m || !m2 || !m2_len || !r3 || !out || !status))
		return IOMT_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!dk_i[i] || !dk_m[i] || !m2[i] || !r3[i])
			return IOMT_EINVAL;
	for (size_t i = 0; i < n; i += CHUNK) {
		size_t g = n - i < CHUNK ? n - i : CHUNK;

		ttp_chunk(g, dk_i + i, dk_m + i, m2 + i, m2_len + i, r3 + i, out + i,
			  status + i, bad ? bad + i : NULL);
	}
	return IOMT_OK;
}
