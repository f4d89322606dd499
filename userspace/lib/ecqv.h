/* SPDX-License-Identifier: MIT */
/*
 * ECQV implicit certificates on P-256 (SEC 4 v1.0), as the TTP issues them to
 * patients, doctors, MEC nodes and devices in phase 1 of the 5G MEC scheme.
 *
 *   requester U                     CA (TTP)                    anyone
 *   ecqv_request_new() ---R_U--->  ecqv_ca_issue()
 *                      <--Cert_U, r--
 *   ecqv_reconstruct_private()                                  ecqv_public_from_cert()
 *     d_U = e*k_U + r, checks d_U*G == Q_U                       Q_U = e*P_U + Q_CA
 *
 * with e = Hn(encoded Cert_U). The certificate is a fixed 125-byte record,
 * not ASN.1; docs/ECQV.md has its layout, the checks and a test vector.
 * Keys come out as EVP_PKEY so ECDSA and ECDH callers use them directly.
 * The int functions return 0 or a negative IOMT_E* code (iomt_err.h);
 * IOMT_EUNSUPP means libcrypto or getrandom failed, not that the input is bad.
 */
#ifndef IOMT_ECQV_H
#define IOMT_ECQV_H
#include <stddef.h>
#include <stdint.h>
#include <openssl/types.h>

enum {
	ECQV_VERSION = 1,
	ECQV_CURVE_P256 = 1,	/* P-256 with SHA-256 for Hn */
	ECQV_ID_LEN = 16,
	ECQV_ATTR_MAX = 32,
	ECQV_POINT_LEN = 33,	/* compressed SEC 1 point */
	ECQV_SCALAR_LEN = 32,
	ECQV_CERT_LEN = 125,
};

enum ecqv_role {
	ECQV_ROLE_PATIENT = 1,
	ECQV_ROLE_DOCTOR = 2,
	ECQV_ROLE_MEC = 3,
	ECQV_ROLE_DEVICE = 4,
	ECQV_ROLE_OTHER = 5,
};

/* The decoded certificate. Validity bounds are inclusive Unix seconds. */
struct ecqv_cert {
	uint8_t version;		/* ECQV_VERSION */
	uint8_t curve;			/* ECQV_CURVE_P256 */
	uint64_t serial;
	uint8_t issuer[ECQV_ID_LEN];
	uint8_t subject[ECQV_ID_LEN];
	uint8_t role;			/* enum ecqv_role */
	uint8_t attr_len;		/* 0..ECQV_ATTR_MAX */
	uint8_t attr[ECQV_ATTR_MAX];	/* opaque (hospital id, expertise...);
					 * bytes past attr_len encode as zero */
	uint64_t not_before, not_after;
	uint8_t pu[ECQV_POINT_LEN];	/* P_U, public-key reconstruction point */
};

/* Requester state between request and reception: k_U is secret. */
struct ecqv_request {
	uint8_t k[ECQV_SCALAR_LEN];	/* k_U, big-endian, in [1, n-1] */
	uint8_t ru[ECQV_POINT_LEN];	/* R_U = k_U*G, sent to the CA */
};

/* IOMT_EMALFORMED for a field out of range (version, curve, role,
 * attr_len, an empty window, a P_U prefix other than 02/03). */
/* 1 if k is an EC key on P-256 (the only curve of the scheme), else 0. */
int ecqv_pkey_is_p256(const EVP_PKEY *k);

int ecqv_cert_encode(const struct ecqv_cert *cert, uint8_t out[ECQV_CERT_LEN]);

/* Strict and canonical: len must be ECQV_CERT_LEN, every field valid, the
 * attribute padding zero and P_U a point of the curve; else IOMT_EMALFORMED. */
int ecqv_cert_decode(struct ecqv_cert *cert, const uint8_t *buf, size_t len);

/* IOMT_ESTATE unless not_before <= now <= not_after. */
int ecqv_cert_check_time(const struct ecqv_cert *cert, uint64_t now);

/* Draws k_U (getrandom) and computes R_U. */
int ecqv_request_new(struct ecqv_request *req);
void ecqv_request_wipe(struct ecqv_request *req);

/*
 * CA side. cert holds the caller's template (serial, issuer, subject, role,
 * attributes, validity); on success version, curve and pu are set and r is
 * the private-key reconstruction value for U. R_U that is not a point of the
 * curve: IOMT_EMALFORMED; a bad template or a CA key that is not P-256:
 * IOMT_EINVAL. On failure cert is unchanged.
 */
int ecqv_ca_issue(const EVP_PKEY *ca, const uint8_t ru[ECQV_POINT_LEN],
		  struct ecqv_cert *cert, uint8_t r[ECQV_SCALAR_LEN]);

/*
 * Requester side: d_U = e*k_U + r and the SEC 4 check d_U*G == e*P_U + Q_CA.
 * IOMT_EAUTH when the check fails (tampered certificate or r, wrong CA key,
 * wrong request), IOMT_ESTATE outside the validity window, IOMT_EMALFORMED
 * for an invalid r or P_U. Checking that subject and role are the ones
 * asked for is the caller's business. *key is a P-256 key pair.
 */
int ecqv_reconstruct_private(const struct ecqv_request *req,
			     const struct ecqv_cert *cert,
			     const uint8_t r[ECQV_SCALAR_LEN],
			     const EVP_PKEY *ca_pub, uint64_t now,
			     EVP_PKEY **key);

/* Any relying party: Q_U = e*P_U + Q_CA, as a public-only EVP_PKEY. A forged
 * certificate is not detected here; it yields a key nobody holds. */
int ecqv_public_from_cert(const struct ecqv_cert *cert,
			  const EVP_PKEY *ca_pub, uint64_t now,
			  EVP_PKEY **pub);

#endif
