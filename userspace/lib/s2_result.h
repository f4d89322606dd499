/* SPDX-License-Identifier: MIT */
/*
 * A phase-4 result as the MEC signs, stores and hands out (docs/PROTOCOL.md
 * §8.6): ECDSA P-256 / SHA-256 (p56_sign, DER, at most 72 bytes) with the
 * MEC's phase-1 key over
 *
 *   "iomt/s2/result" (14, ASCII, no terminator) || ID_a (16) || result (54)
 *
 * where result is an_result_encode's fixed encoding (analysis.h), window
 * included. A verifier needs the MEC's public key: ecqv_public_from_cert on
 * the MEC's certificate (the user gets it in P5_ACCEPT).
 */
#ifndef IOMT_S2_RESULT_H
#define IOMT_S2_RESULT_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/types.h>

#include "analysis.h"
#include "ecqv.h"
#include "wire.h"

#define S2_RESULT_LABEL "iomt/s2/result"

enum {
	S2_RESULT_BODY_LEN = IOMT_S2_IDA_LEN + AN_RESULT_LEN,	/* 70 */
	S2_RESULT_SIG_MAX = 72,
	/* a key file (§4.1): "IUK" || version 1 || certificate || d_U */
	S2_RESULT_KEYFILE_LEN = 4 + ECQV_CERT_LEN + ECQV_SCALAR_LEN,	/* 161 */
};

/* Signs: 0, or IOMT_EINVAL (not a private P-256 key) / IOMT_EUNSUPP. */
int s2_result_sign(EVP_PKEY *key, const uint8_t id_a[IOMT_S2_IDA_LEN],
		   const uint8_t result[AN_RESULT_LEN], uint8_t sig[S2_RESULT_SIG_MAX],
		   size_t *sig_len);
/* 0 if sig is the MEC's signature of (ID_a, result); IOMT_EAUTH if not. */
int s2_result_verify(EVP_PKEY *pub, const uint8_t id_a[IOMT_S2_IDA_LEN],
		     const uint8_t result[AN_RESULT_LEN], const uint8_t *sig, size_t sig_len);

/* The MEC's key file: its certificate and key pair (Q = d*G recomputed).
 * 0, or -errno with err saying why ("PATH: ..."); the file must be 0600. */
int s2_result_key_load(const char *path, struct ecqv_cert *cert, EVP_PKEY **key, char *err,
		       size_t errlen);

#endif
