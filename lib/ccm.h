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

/* A hardware CCM engine, chosen at build time: with -DIOMT_CONF_CCM_DRIVER=x
 * (x a const struct iomt_ccm_driver) iomt_ccm_* check their parameters and
 * then call x; without it they are the portable code alone. The engine gets
 * the raw key: round key 0 of the schedule, k->rk[0] (FIPS 197 w[0..3]).
 * Both hooks get only parameters iomt_ccm_* accepted, and return IOMT_OK;
 * IOMT_EUNSUPP, before writing anything, to have the portable code do the
 * call (an input the engine does not take, the engine busy); or another
 * error, which the caller gets. decrypt writes the tag it computes into mac[0..tag_len); ccm.c
 * compares it in constant time and wipes pt[0..len) if it does not match or
 * on any other error. */
struct iomt_ccm_driver {
	int (*encrypt)(const uint8_t key[16], const uint8_t *nonce, size_t nonce_len,
		       const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t len,
		       uint8_t *ct, uint8_t *tag, size_t tag_len);
	int (*decrypt)(const uint8_t key[16], const uint8_t *nonce, size_t nonce_len,
		       const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t len,
		       uint8_t *pt, uint8_t *mac, size_t tag_len);
};

#endif
