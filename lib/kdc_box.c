/* SPDX-License-Identifier: MIT */
/* The KDC's box: AES-128-CCM with a 13-byte random nonce, a 16-byte tag and
 * the usage byte in front of the associated data (lib/kdc_box.h). */
#include <string.h>
#include "kdc_box.h"
#include "bytes.h"
#include "ccm.h"
#include "ct.h"

/* usage || a1 || a2 into buf; 0 if it would not fit (never for our messages). */
static size_t aad_join(uint8_t buf[IOMT_KDC_BOX_AAD_MAX], uint8_t usage,
		       const struct iomt_kdc_aad *aad)
{
	if (aad->n1 > IOMT_KDC_BOX_AAD_MAX - 1 || aad->n2 > IOMT_KDC_BOX_AAD_MAX - 1 - aad->n1)
		return 0;
	buf[0] = usage;
	if (aad->n1)
		memcpy(buf + 1, aad->a1, aad->n1);
	if (aad->n2)
		memcpy(buf + 1 + aad->n1, aad->a2, aad->n2);
	return 1 + aad->n1 + aad->n2;
}

int iomt_kdc_box_seal(const struct iomt_aes128 *k, uint8_t usage, const struct iomt_kdc_aad *aad,
		      const uint8_t nonce[IOMT_KDC_BOX_NONCE_LEN], const uint8_t *pt, size_t len,
		      uint8_t *out)
{
	uint8_t a[IOMT_KDC_BOX_AAD_MAX];
	size_t alen = aad_join(a, usage, aad);

	if (!alen || len > IOMT_KDC_BOX_PT_MAX)
		return IOMT_KDC_ERR_INTERNAL;
	memcpy(out, nonce, IOMT_KDC_BOX_NONCE_LEN);
	if (iomt_ccm_encrypt(k, out, IOMT_KDC_BOX_NONCE_LEN, a, alen, pt, len,
			     out + IOMT_KDC_BOX_NONCE_LEN, out + IOMT_KDC_BOX_NONCE_LEN + len,
			     IOMT_KDC_TAG_LEN))
		return IOMT_KDC_ERR_INTERNAL;
	return IOMT_KDC_OK;
}

int iomt_kdc_box_open(const struct iomt_aes128 *k, uint8_t usage, const struct iomt_kdc_aad *aad,
		      const uint8_t *box, size_t len, uint8_t *pt)
{
	uint8_t a[IOMT_KDC_BOX_AAD_MAX];
	size_t alen = aad_join(a, usage, aad);

	if (!alen || len > IOMT_KDC_BOX_PT_MAX)
		return IOMT_KDC_ERR_INTERNAL;
	if (iomt_ccm_decrypt(k, box, IOMT_KDC_BOX_NONCE_LEN, a, alen,
			     box + IOMT_KDC_BOX_NONCE_LEN, len,
			     box + IOMT_KDC_BOX_NONCE_LEN + len, IOMT_KDC_TAG_LEN, pt)) {
		iomt_wipe(pt, len);
		return IOMT_KDC_ERR_BAD_MAC;
	}
	return IOMT_KDC_OK;
}

void iomt_kdc_part_put(uint8_t pt[IOMT_KDC_ENC_PART_PT_LEN], const uint8_t key[IOMT_KDC_KEY_LEN],
		       uint64_t issue_ms, uint32_t lifetime_s)
{
	memcpy(pt, key, IOMT_KDC_KEY_LEN);
	iomt_store_be64(pt + IOMT_KDC_KEY_LEN, issue_ms);
	iomt_store_be32(pt + IOMT_KDC_KEY_LEN + 8, lifetime_s);
}

void iomt_kdc_part_get(const uint8_t pt[IOMT_KDC_ENC_PART_PT_LEN], uint8_t key[IOMT_KDC_KEY_LEN],
		       uint64_t *issue_ms, uint32_t *lifetime_s)
{
	memcpy(key, pt, IOMT_KDC_KEY_LEN);
	*issue_ms = iomt_load_be64(pt + IOMT_KDC_KEY_LEN);
	*lifetime_s = iomt_load_be32(pt + IOMT_KDC_KEY_LEN + 8);
}
