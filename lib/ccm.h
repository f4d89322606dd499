/* SPDX-License-Identifier: MIT */
/* AES-128-CCM (RFC 3610, NIST SP 800-38C): CBC-MAC over B0, the encoded AAD
 * and the payload, then CTR encryption; the tag is the MAC masked with the
 * first key-stream block. */
#ifndef IOMT_CCM_H
#define IOMT_CCM_H
#include <stddef.h>
#include <stdint.h>
#include "aes.h"

enum {
	IOMT_CCM_NONCE_MIN_LEN = 7,   /* L = 15 - nonce_len length bytes: 8 .. 2 */
	IOMT_CCM_NONCE_MAX_LEN = 13,
	IOMT_CCM_TAG_MIN_LEN = 4,     /* even lengths only */
	IOMT_CCM_TAG_MAX_LEN = 16,
};

/* Encrypts pt[0..len) into ct and writes tag_len bytes of tag. ct == pt is
 * allowed (in place); other overlaps are not. Returns IOMT_EINVAL for a NULL
 * pointer a non-zero length needs, nonce_len outside 7..13 or tag_len not one
 * of 4, 6, ..., 16; IOMT_ESIZE if len does not fit in 15 - nonce_len bytes. */
int iomt_ccm_encrypt(const struct iomt_aes128 *k, const uint8_t *nonce, size_t nonce_len,
		     const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t len,
		     uint8_t *ct, uint8_t *tag, size_t tag_len);

/* Decrypts ct[0..len) into pt (pt == ct allowed) and checks the tag in
 * constant time. On IOMT_EAUTH pt[0..len) is zeroed: with pt == ct the
 * ciphertext is gone too. Other errors as for iomt_ccm_encrypt. */
int iomt_ccm_decrypt(const struct iomt_aes128 *k, const uint8_t *nonce, size_t nonce_len,
		     const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t len,
		     const uint8_t *tag, size_t tag_len, uint8_t *pt);

#endif
