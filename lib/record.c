/* SPDX-License-Identifier: MIT */
/* Data records: fixed header as AAD, AES-128-CCM with a 16-byte tag. */
#include <string.h>
#include "record.h"
#include "keytree.h"
#include "ccm.h"
#include "bytes.h"
#include "ct.h"
#include "iomt_err.h"

enum { HDR = IOMT_RECORD_HDR_LEN, TAG = IOMT_RECORD_TAG_LEN, NONCE = IOMT_RECORD_NONCE_LEN };

int iomt_record_nonce(const struct iomt_record_hdr *h, uint8_t nonce[IOMT_RECORD_NONCE_LEN])
{
	uint8_t leaf[8];

	if (!h || !nonce || h->leaf >= IOMT_KEYTREE_MAX_LEAVES)
		return IOMT_EINVAL;
	/* Injective: every field whole (the leaf is < 2^40), at fixed offsets. */
	iomt_store_be32(nonce, h->epoch);
	iomt_store_be64(leaf, h->leaf);
	memcpy(nonce + 4, leaf + 3, 5);
	iomt_store_be32(nonce + 9, h->seq);
	return IOMT_OK;
}

/* The AES key schedule and nonce for a record; the caller wipes aes. */
static int setup(struct iomt_aes128 *aes, uint8_t nonce[NONCE], const uint8_t k_enc[16],
		 const struct iomt_record_hdr *h)
{
	int err = iomt_record_nonce(h, nonce);

	return err ? err : iomt_aes128_init(aes, k_enc);
}

int iomt_record_seal(const uint8_t k_enc[16], const struct iomt_record_hdr *h,
		     const uint8_t *data, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
	struct iomt_aes128 aes;
	uint8_t nonce[NONCE];
	int err;

	if (out_len)
		*out_len = 0;
	if (!k_enc || !h || !out || !out_len || (len && !data) ||
	    h->leaf >= IOMT_KEYTREE_MAX_LEAVES)
		return IOMT_EINVAL;
	if (len > IOMT_RECORD_MAX_DATA || cap < len + IOMT_RECORD_OVERHEAD)
		return IOMT_ESIZE;
	out[0] = IOMT_RECORD_VERSION;
	memcpy(out + 1, h->key_id, sizeof(h->key_id));
	iomt_store_be32(out + 17, h->epoch);
	iomt_store_be64(out + 21, h->leaf);
	iomt_store_be32(out + 29, h->seq);
	err = setup(&aes, nonce, k_enc, h);
	if (!err)
		err = iomt_ccm_encrypt(&aes, nonce, NONCE, out, HDR, data, len, out + HDR,
				       out + HDR + len, TAG);
	iomt_aes128_wipe(&aes);
	if (err)
		iomt_wipe(out, len + IOMT_RECORD_OVERHEAD);
	else
		*out_len = len + IOMT_RECORD_OVERHEAD;
	return err;
}

int iomt_record_open(const uint8_t k_enc[16], const uint8_t *rec, size_t len,
		     struct iomt_record_hdr *h, uint8_t *data, size_t cap, size_t *data_len)
{
	struct iomt_aes128 aes;
	uint8_t nonce[NONCE];
	size_t n;
	int err;

	if (data_len)
		*data_len = 0;
	if (!k_enc || !data_len || (!data && cap))
		return IOMT_EINVAL;
	err = iomt_record_parse(rec, len, h);
	if (err)
		return err;
	n = len - IOMT_RECORD_OVERHEAD;
	if (cap < n) {
		memset(h, 0, sizeof(*h));
		return IOMT_ESIZE;
	}
	err = setup(&aes, nonce, k_enc, h);
	/* On IOMT_EAUTH the CCM layer zeroes data[0..n). */
	if (!err)
		err = iomt_ccm_decrypt(&aes, nonce, NONCE, rec, HDR, rec + HDR, n, rec + HDR + n,
				       TAG, data);
	iomt_aes128_wipe(&aes);
	if (err) {
		memset(h, 0, sizeof(*h));
		return err;
	}
	*data_len = n;
	return IOMT_OK;
}
