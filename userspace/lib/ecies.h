/* SPDX-License-Identifier: MIT */
/*
 * ECIES on P-256: a box only the holder of the recipient's private key opens
 * (phase 2 responses to a patient or doctor, sealed MEC provisioning files).
 *
 *   E        = e*G, e a fresh ephemeral scalar per box
 *   z        = x-coordinate of e*Q_R (ECDH, 32 bytes)
 *   K || N   = KMAC128(key = z, msg = E || Q_R, 232 bits, S = "iomt/ecies")
 *              (K: AES-128 key, 16 bytes; N: CCM nonce, 13 bytes)
 *   box      = E (33, compressed) || N (13) || AES-128-CCM(K, N, aad, pt) || tag (16)
 *
 * e is drawn with getrandom (rt_random). E and Q_R are compressed SEC 1
 * points. The nonce is derived, not drawn:
 * a fresh E gives a fresh K, so (K, N) never repeats; the opener recomputes
 * N and refuses a box whose nonce field differs. docs/PROTOCOL.md §4.4.
 *
 * Return 0 or a negative IOMT_E* code (iomt_err.h): IOMT_EAUTH for a box that
 * does not verify (tampered, wrong key, wrong aad), IOMT_EMALFORMED for an E
 * that is not a point of the curve, IOMT_ESIZE for a box shorter than
 * ECIES_OVERHEAD or a plaintext over ECIES_PT_MAX, IOMT_EINVAL for a NULL
 * pointer or a key that is not P-256 (or has no private part, for open),
 * IOMT_EUNSUPP when libcrypto or the RNG fails (no verdict on the input).
 */
#ifndef IOMT_ECIES_H
#define IOMT_ECIES_H
#include <stddef.h>
#include <stdint.h>
#include <openssl/types.h>

enum {
	ECIES_POINT_LEN = 33,	/* compressed SEC 1 point */
	ECIES_SCALAR_LEN = 32,
	ECIES_NONCE_LEN = 13,	/* CCM with L = 2 */
	ECIES_TAG_LEN = 16,
	ECIES_OVERHEAD = ECIES_POINT_LEN + ECIES_NONCE_LEN + ECIES_TAG_LEN,
	ECIES_PT_MAX = 65535,	/* CCM with a 13-byte nonce counts length in 2 bytes */
};

/* out receives len + ECIES_OVERHEAD bytes. aad may be NULL with aad_len 0,
 * pt NULL with len 0. */
int ecies_seal(EVP_PKEY *to_pub, const uint8_t *aad, size_t aad_len,
	       const uint8_t *pt, size_t len, uint8_t *out);

/* pt receives box_len - ECIES_OVERHEAD bytes; on any error they are zeroed. */
int ecies_open(EVP_PKEY *priv, const uint8_t *aad, size_t aad_len,
	       const uint8_t *box, size_t box_len, uint8_t *pt);

/*
 * A P-256 key pair from a big-endian private scalar d (Q = d*G computed
 * here): for key files that store d, and for the ephemeral key. IOMT_EINVAL
 * unless d is in [1, n-1]; IOMT_EUNSUPP if libcrypto fails.
 */
int ecies_key_from_scalar(const uint8_t d[ECIES_SCALAR_LEN], EVP_PKEY **key);

/* The building blocks, for the phase-5 key agreement (s2_p56.c):
 * the compressed public point of a P-256 key (IOMT_EINVAL for another key);
 * a public key from a compressed point (IOMT_EMALFORMED unless 02/03 and on
 * the curve); x(d*Q) with OpenSSL's peer check; a fresh uniform key pair. */
int ecies_point_of(const EVP_PKEY *key, uint8_t out[ECIES_POINT_LEN]);
int ecies_key_from_point(const uint8_t in[ECIES_POINT_LEN], EVP_PKEY **key);
int ecies_ecdh(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t z[ECIES_SCALAR_LEN]);
EVP_PKEY *ecies_ephemeral(void);

#endif
