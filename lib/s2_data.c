/* SPDX-License-Identifier: MIT */
/* Seed 002 phase 4: S2_DATA frames (docs/PROTOCOL.md §8). */
#include <string.h>

#include "bytes.h"
#include "ccm.h"
#include "ct.h"
#include "iomt_err.h"
#include "s2_data.h"
#include "sp800_185.h"

static const char handle_custom[] = "iomt/s2/handle";
static const char key_custom[] = "iomt/s2/data-key";

enum {
	CTR_OFF = IOMT_S2_DATA_HANDLE_LEN,
	CT_OFF = IOMT_S2_DATA_HDR_LEN,
	DERIVED_LEN = IOMT_AES128_KEY_LEN + IOMT_S2_DATA_SALT_LEN,
	DT_MAX = 0xffffffffu,
};

int iomt_s2_data_handle(const uint8_t sk[IOMT_S2_KEY_LEN],
			uint8_t handle[IOMT_S2_DATA_HANDLE_LEN])
{
	if (!sk || !handle)
		return IOMT_EINVAL;
	return iomt_kmac128(sk, IOMT_S2_KEY_LEN, handle_custom, sizeof(handle_custom) - 1, "", 0,
			    handle, IOMT_S2_DATA_HANDLE_LEN);
}

int iomt_s2_data_keys_init(struct iomt_s2_data_keys *k, const uint8_t sk[IOMT_S2_KEY_LEN])
{
	uint8_t d[DERIVED_LEN];
	int r;

	if (!k || !sk)
		return IOMT_EINVAL;
	r = iomt_s2_data_handle(sk, k->handle);
	if (!r)
		r = iomt_kmac128(sk, IOMT_S2_KEY_LEN, key_custom, sizeof(key_custom) - 1, "", 0,
				 d, sizeof(d));
	if (!r) {
		memcpy(k->key, d, IOMT_AES128_KEY_LEN);
		memcpy(k->salt, d + IOMT_AES128_KEY_LEN, IOMT_S2_DATA_SALT_LEN);
	}
	iomt_wipe(d, sizeof(d));
	if (r)
		iomt_wipe(k, sizeof(*k));
	return r;
}

int iomt_s2_data_kdf_init(struct iomt_s2_data_kdf *kdf)
{
	int r;

	if (!kdf)
		return IOMT_EINVAL;
	r = iomt_kmac128_pre_init(&kdf->handle, handle_custom, sizeof(handle_custom) - 1);
	return r ? r : iomt_kmac128_pre_init(&kdf->key, key_custom, sizeof(key_custom) - 1);
}

enum { KDF_CHUNK = 16 };

/* n <= KDF_CHUNK SKs: handles straight into k, data keys through d. */
static int keys_chunk(const struct iomt_s2_data_kdf *kdf, size_t n, const uint8_t *const sk[],
		      struct iomt_s2_data_keys k[])
{
	static const uint8_t none[1];
	uint8_t d[KDF_CHUNK][DERIVED_LEN];
	const uint8_t *msg[KDF_CHUNK];
	uint8_t *hp[KDF_CHUNK], *dp[KDF_CHUNK];
	size_t klen[KDF_CHUNK], mlen[KDF_CHUNK];
	int r;

	for (size_t i = 0; i < n; i++) {
		msg[i] = none;
		mlen[i] = 0;
		klen[i] = IOMT_S2_KEY_LEN;
		hp[i] = k[i].handle;
		dp[i] = d[i];
	}
	r = iomt_kmac128_batch(&kdf->handle, n, sk, klen, msg, mlen, hp, IOMT_S2_DATA_HANDLE_LEN);
	if (!r)
		r = iomt_kmac128_batch(&kdf->key, n, sk, klen, msg, mlen, dp, DERIVED_LEN);
	for (size_t i = 0; !r && i < n; i++) {
		memcpy(k[i].key, d[i], IOMT_AES128_KEY_LEN);
		memcpy(k[i].salt, d[i] + IOMT_AES128_KEY_LEN, IOMT_S2_DATA_SALT_LEN);
	}
	iomt_wipe(d, sizeof(d));
	return r;
}

int iomt_s2_data_keys_init_batch(const struct iomt_s2_data_kdf *kdf, size_t n,
				 const uint8_t *const sk[], struct iomt_s2_data_keys k[])
{
	int r = IOMT_OK;

	if (n && !k)
		return IOMT_EINVAL;
	if (!kdf || (n && !sk))
		r = IOMT_EINVAL;
	for (size_t i = 0; !r && i < n; i++)
		if (!sk[i])
			r = IOMT_EINVAL;
	for (size_t i = 0; !r && i < n; i += KDF_CHUNK)
		r = keys_chunk(kdf, n - i < KDF_CHUNK ? n - i : KDF_CHUNK, sk + i, k + i);
	if (r)
		iomt_wipe(k, n * sizeof(*k));
	return r;
}

/* ---- the replay window ---- */

void iomt_s2_replay_init(struct iomt_s2_replay *w)
{
	w->top = 0;
	w->bits = 0;
}

int iomt_s2_replay_check(const struct iomt_s2_replay *w, uint64_t counter)
{
	uint64_t d;

	if (counter == 0 || counter > IOMT_S2_DATA_COUNTER_MAX)
		return IOMT_EMALFORMED;
	if (counter > w->top)
		return IOMT_OK;
	d = w->top - counter;
	if (d >= IOMT_S2_DATA_WINDOW || (w->bits >> d & 1))
		return IOMT_ESTATE;
	return IOMT_OK;
}

void iomt_s2_replay_commit(struct iomt_s2_replay *w, uint64_t counter)
{
	uint64_t shift;

	if (counter > w->top) {
		shift = counter - w->top;
		w->bits = shift >= IOMT_S2_DATA_WINDOW ? 0 : w->bits << shift;
		w->bits |= 1;
		w->top = counter;
	} else if (w->top - counter < IOMT_S2_DATA_WINDOW) {
		w->bits |= 1ULL << (w->top - counter);
	}
}

/* ---- shared pieces ---- */

static void make_nonce(const struct iomt_s2_data_keys *k, uint64_t counter,
		       uint8_t nonce[IOMT_S2_DATA_NONCE_LEN])
{
	memcpy(nonce, k->salt, IOMT_S2_DATA_SALT_LEN);
	iomt_store_be64(nonce + IOMT_S2_DATA_SALT_LEN, counter);
}

/* aad = the frame header of a payload of plen bytes || handle || counter. */
static void make_aad(const uint8_t *payload, size_t plen, uint8_t aad[IOMT_S2_DATA_AAD_LEN])
{
	iomt_wire_put_hdr(aad, IOMT_MSG_S2_DATA, plen);
	memcpy(aad + IOMT_WIRE_HDR_LEN, payload, IOMT_S2_DATA_HDR_LEN);
}

/* The number of samples of a payload of len bytes, or 0 if it has no
 * valid size. */
static size_t samples_of(size_t len)
{
	if (len < IOMT_S2_DATA_MIN_LEN || len > IOMT_S2_DATA_MAX_LEN)
		return 0;
	len -= IOMT_S2_DATA_OVERHEAD;
	/* A datagram that is not whole samples is truncated or padded. */
	if (len % IOMT_S2_DATA_SAMPLE_LEN)
		return 0;
	return len / IOMT_S2_DATA_SAMPLE_LEN;
}

/* ---- device ---- */

int iomt_s2_data_tx_init(struct iomt_s2_data_tx *tx, const uint8_t sk[IOMT_S2_KEY_LEN],
			 uint64_t now_ms)
{
	int r;

	if (!tx)
		return IOMT_EINVAL;
	memset(tx, 0, sizeof(*tx));
	r = iomt_s2_data_keys_init(&tx->k, sk);
	if (r)
		return r;
	tx->created_ms = now_ms;
	tx->live = 1;
	return IOMT_OK;
}

int iomt_s2_data_tx_expired(const struct iomt_s2_data_tx *tx, uint64_t now_ms)
{
	return !tx->live || tx->counter >= IOMT_S2_DATA_COUNTER_MAX ||
	       now_ms < tx->created_ms || now_ms - tx->created_ms >= IOMT_S2_DATA_REKEY_AFTER_MS;
}

/* The plaintext of s[0..n) into pt: IOMT_EINVAL for a bad sample. */
static int encode_samples(const struct iomt_s2_sample *s, size_t n, uint8_t *pt)
{
	uint64_t t0 = s[0].t_ms;

	iomt_store_be64(pt, t0);
	pt += IOMT_S2_DATA_T0_LEN;
	for (size_t i = 0; i < n; i++, pt += IOMT_S2_DATA_SAMPLE_LEN) {
		if (!s[i].kind || s[i].t_ms < t0 || s[i].t_ms - t0 > DT_MAX)
			return IOMT_EINVAL;
		pt[0] = s[i].kind;
		iomt_store_be16(pt + 1, s[i].value);
		iomt_store_be32(pt + 3, (uint32_t)(s[i].t_ms - t0));
	}
	return IOMT_OK;
}

int iomt_s2_data_seal(struct iomt_s2_data_tx *tx, uint64_t now_ms,
		      const struct iomt_s2_sample *s, size_t n, uint8_t *out, size_t cap,
		      size_t *out_len)
{
	size_t plen = IOMT_S2_DATA_OVERHEAD + n * IOMT_S2_DATA_SAMPLE_LEN;
	size_t ptlen = plen - IOMT_S2_DATA_HDR_LEN - IOMT_S2_DATA_TAG_LEN;
	uint8_t nonce[IOMT_S2_DATA_NONCE_LEN], aad[IOMT_S2_DATA_AAD_LEN];
	uint8_t *p = out + IOMT_WIRE_HDR_LEN;
	struct iomt_aes128 aes;
	uint64_t ctr;
	int r;

	if (!tx || !s || !out || !out_len || n == 0 || n > IOMT_S2_DATA_SAMPLES_MAX)
		return IOMT_EINVAL;
	if (iomt_s2_data_tx_expired(tx, now_ms))
		return IOMT_ESTATE;
	if (cap < IOMT_WIRE_HDR_LEN + plen)
		return IOMT_ESIZE;
	ctr = tx->counter + 1;
	r = encode_samples(s, n, p + CT_OFF);
	if (r) {
		iomt_wipe(p + CT_OFF, ptlen);
		return r;
	}
	iomt_wire_put_hdr(out, IOMT_MSG_S2_DATA, plen);
	memcpy(p, tx->k.handle, IOMT_S2_DATA_HANDLE_LEN);
	iomt_store_be64(p + CTR_OFF, ctr);
	make_nonce(&tx->k, ctr, nonce);
	make_aad(p, plen, aad);
	r = iomt_aes128_init(&aes, tx->k.key);
	if (!r)
		r = iomt_ccm_encrypt(&aes, nonce, sizeof(nonce), aad, sizeof(aad), p + CT_OFF, ptlen,
				     p + CT_OFF, p + CT_OFF + ptlen, IOMT_S2_DATA_TAG_LEN);
	iomt_aes128_wipe(&aes);
	if (r) {
		iomt_wipe(out, IOMT_WIRE_HDR_LEN + plen);
		return r;
	}
	tx->counter = ctr;
	*out_len = IOMT_WIRE_HDR_LEN + plen;
	return IOMT_OK;
}

void iomt_s2_data_tx_wipe(struct iomt_s2_data_tx *tx)
{
	iomt_wipe(tx, sizeof(*tx));
}

/* ---- MEC ---- */

int iomt_s2_data_rx_init(struct iomt_s2_data_rx *rx, const uint8_t sk[IOMT_S2_KEY_LEN])
{
	if (!rx)
		return IOMT_EINVAL;
	iomt_s2_replay_init(&rx->w);
	return iomt_s2_data_keys_init(&rx->k, sk);
}

int iomt_s2_data_peek(const uint8_t *payload, size_t len,
		      uint8_t handle[IOMT_S2_DATA_HANDLE_LEN], uint64_t *counter)
{
	if (!payload)
		return IOMT_EINVAL;
	if (!samples_of(len))
		return IOMT_ESIZE;
	if (handle)
		memcpy(handle, payload, IOMT_S2_DATA_HANDLE_LEN);
	if (counter)
		*counter = iomt_load_be64(payload + CTR_OFF);
	return IOMT_OK;
}

/* The samples of an authenticated plaintext: IOMT_EMALFORMED for kind 0. */
static int decode_samples(const uint8_t *pt, size_t n, struct iomt_s2_sample *out)
{
	uint64_t t0 = iomt_load_be64(pt);

	pt += IOMT_S2_DATA_T0_LEN;
	for (size_t i = 0; i < n; i++, pt += IOMT_S2_DATA_SAMPLE_LEN) {
		if (!pt[0])
			return IOMT_EMALFORMED;
		out[i].kind = pt[0];
		out[i].value = iomt_load_be16(pt + 1);
		out[i].t_ms = t0 + iomt_load_be32(pt + 3);
	}
	return IOMT_OK;
}

int iomt_s2_data_open(struct iomt_s2_data_rx *rx, const uint8_t *payload, size_t len,
		      struct iomt_s2_sample *out, size_t cap, size_t *n)
{
	uint8_t nonce[IOMT_S2_DATA_NONCE_LEN], aad[IOMT_S2_DATA_AAD_LEN];
	uint8_t pt[IOMT_S2_DATA_PT_MAX];
	size_t k = samples_of(len), ptlen = len - IOMT_S2_DATA_HDR_LEN - IOMT_S2_DATA_TAG_LEN;
	struct iomt_aes128 aes;
	uint64_t ctr;
	int r;

	if (!rx || !payload || !out || !n)
		return IOMT_EINVAL;
	if (!k)
		return IOMT_ESIZE;
	if (k > cap)
		return IOMT_EINVAL;
	if (!iomt_ct_eq(payload, rx->k.handle, IOMT_S2_DATA_HANDLE_LEN))
		return IOMT_EINVAL;
	ctr = iomt_load_be64(payload + CTR_OFF);
	r = iomt_s2_replay_check(&rx->w, ctr);
	if (r)
		return r;
	make_nonce(&rx->k, ctr, nonce);
	make_aad(payload, len, aad);
	r = iomt_aes128_init(&aes, rx->k.key);
	if (!r)
		r = iomt_ccm_decrypt(&aes, nonce, sizeof(nonce), aad, sizeof(aad), payload + CT_OFF,
				     ptlen, payload + CT_OFF + ptlen, IOMT_S2_DATA_TAG_LEN, pt);
	iomt_aes128_wipe(&aes);
	if (!r)
		r = decode_samples(pt, k, out);
	if (!r) {
		iomt_s2_replay_commit(&rx->w, ctr);
		*n = k;
	}
	iomt_wipe(pt, ptlen);
	return r;
}

void iomt_s2_data_rx_wipe(struct iomt_s2_data_rx *rx)
{
	iomt_wipe(rx, sizeof(*rx));
}
