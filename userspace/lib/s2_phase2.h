/* SPDX-License-Identifier: MIT */
/*
 * Seed 002 phase 2 (monitoring initialisation): a patient or doctor asks the
 * TTP for an analysis profile; the TTP answers with the analysis id ID_a and
 * one (DID, DK) pair per device, sealed to the requester.
 *
 *   user --S2_ANALYSIS_REQ (signed with the ECQV key)--> TTP
 *   user <--S2_ANALYSIS_RESP (ecies to Q_U, aad = request nonce)-- TTP
 *
 * Request payload (variable, 162..738 bytes):
 *   cert (125) || ts (8) || nonce (16) || ndevices (2) || policy_len (2) ||
 *   policy (0..512, printable ASCII) || sig_len (1) || sig (8..72, DER ECDSA)
 * sig = ECDSA-SHA256 over "iomt/s2/analysis-req" || every byte before sig_len.
 *
 * Response payload: ecies box of  id_a (16) || ndevices (2) || ndevices x
 * (did (16) || dk (16)). Byte layouts and errors: docs/PROTOCOL.md §4.
 * The int functions return 0 or a negative IOMT_E* code (iomt_err.h).
 */
#ifndef IOMT_S2_PHASE2_H
#define IOMT_S2_PHASE2_H
#include <stddef.h>
#include <stdint.h>
#include <openssl/types.h>
#include "ecies.h"
#include "ecqv.h"

enum {
	S2_NONCE_LEN = 16,
	S2_ID_LEN = 16,			/* ID_a, DID */
	S2_KEY_LEN = 16,		/* DK */
	S2_NDEVICES_MAX = 64,
	S2_POLICY_MAX = 512,
	S2_SIG_MIN = 8,			/* DER: 30 06 02 01 r 02 01 s */
	S2_SIG_MAX = 72,		/* DER of two 33-byte INTEGERs */
	S2_TS_SKEW_S = 300,		/* accepted |ts - now|, seconds */
	S2_REQ_FIXED_LEN = ECQV_CERT_LEN + 8 + S2_NONCE_LEN + 2 + 2,	/* before policy */
	S2_ANALYSIS_REQ_MIN = S2_REQ_FIXED_LEN + 1 + S2_SIG_MIN,
	S2_ANALYSIS_REQ_MAX = S2_REQ_FIXED_LEN + S2_POLICY_MAX + 1 + S2_SIG_MAX,
	S2_RESP_ENTRY_LEN = S2_ID_LEN + S2_KEY_LEN,
	S2_RESP_PT_MAX = S2_ID_LEN + 2 + S2_NDEVICES_MAX * S2_RESP_ENTRY_LEN,
	S2_ANALYSIS_RESP_MAX = ECIES_OVERHEAD + S2_RESP_PT_MAX,
};

/* The signature's domain string, prefixed to the signed bytes. */
#define S2_ANALYSIS_REQ_LABEL "iomt/s2/analysis-req"

/* Size of a response box for n devices (n in 1..S2_NDEVICES_MAX). */
#define S2_ANALYSIS_RESP_LEN(n) \
	((size_t)ECIES_OVERHEAD + S2_ID_LEN + 2 + (size_t)(n) * S2_RESP_ENTRY_LEN)

struct s2_analysis_req {
	struct ecqv_cert cert;		/* the requester's; role is for the caller */
	uint64_t ts;			/* Unix seconds */
	uint8_t nonce[S2_NONCE_LEN];
	uint16_t ndevices;		/* 1..S2_NDEVICES_MAX */
	char policy[S2_POLICY_MAX + 1];	/* NUL-terminated, printable ASCII */
};

/*
 * Encodes and signs a request. policy may be NULL (empty). IOMT_EINVAL for
 * ndevices outside 1..64, a policy over 512 bytes or with a byte outside
 * 0x20..0x7e, a bad certificate or a key that cannot sign; IOMT_ESIZE when
 * cap is short (S2_ANALYSIS_REQ_MAX always suffices).
 */
int s2_analysis_req_build(EVP_PKEY *patient_priv, const struct ecqv_cert *cert,
			  uint64_t ts, const uint8_t nonce[S2_NONCE_LEN],
			  uint16_t ndevices, const char *policy,
			  uint8_t *out, size_t cap, size_t *out_len);

/*
 * Exact-size parse, then the checks, in this order:
 *   IOMT_EMALFORMED  any layout error: length, certificate encoding, ndevices,
 *                    policy length or charset, sig_len
 *   IOMT_ESTATE      now outside the certificate's validity window
 *   IOMT_EAUTH       the signature does not verify under Q_U
 *                    (ecqv_public_from_cert(cert, ca_pub, now))
 *   IOMT_ESTATE      ts more than S2_TS_SKEW_S from now (authentic but stale)
 *   IOMT_EINVAL      ca_pub is not a P-256 key
 * Replay (a nonce seen before) and the role/policy decision are the TTP's.
 * out is written only on success.
 */
int s2_analysis_req_parse_verify(const uint8_t *p, size_t len, const EVP_PKEY *ca_pub,
				 uint64_t now, struct s2_analysis_req *out);

/*
 * Seals the response to to_pub (the requester's Q_U), aad = the request's
 * nonce. n in 1..64, else IOMT_EINVAL. out must hold S2_ANALYSIS_RESP_LEN(n)
 * bytes (S2_ANALYSIS_RESP_MAX always does); *out_len receives that length.
 */
int s2_analysis_resp_seal(EVP_PKEY *to_pub, const uint8_t nonce[S2_NONCE_LEN],
			  const uint8_t id_a[S2_ID_LEN], uint16_t n,
			  const uint8_t (*did)[S2_ID_LEN], const uint8_t (*dk)[S2_KEY_LEN],
			  uint8_t *out, size_t *out_len);

/*
 * Opens a response. IOMT_ESIZE for a box length that fits no n in 1..64;
 * ecies_open's errors (IOMT_EAUTH for a wrong key, a wrong nonce or a
 * tampered box); IOMT_EMALFORMED if the plaintext's n does not match its
 * length; IOMT_ESIZE if n > max. did/dk (max entries each) receive n
 * entries; on any error every output is zeroed.
 */
int s2_analysis_resp_open(EVP_PKEY *priv, const uint8_t nonce[S2_NONCE_LEN],
			  const uint8_t *box, size_t len, uint8_t id_a[S2_ID_LEN],
			  uint16_t *n, uint8_t (*did)[S2_ID_LEN], uint8_t (*dk)[S2_KEY_LEN],
			  uint16_t max);

#endif
