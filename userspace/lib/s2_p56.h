/* SPDX-License-Identifier: MIT */
/*
 * Seed 002 phases 5 (user requests) and 6 (emergencies): the messages
 * between users, the MEC and the TTP, the phase-5 key agreement and the
 * sealed alerts. Byte layouts, test vector and the security argument:
 * docs/PROTOCOL.md §9 and docs/PHASE56.md.
 *
 *   user --P5_REQ (ID_a, E_U, nonce in clear; sealed to the TTP: the user's
 *         certificate, ts and signature)--> MEC --P5_CHECK (unchanged)--> TTP
 *   TTP: opens the box; certificate on record and not revoked, signature,
 *        ts, nonce, policy
 *   TTP --P5_GRANT (TTP-signed: Q_U, ID_a, nonce, SHA-256(E_U), expiry)--> MEC
 *   MEC --P5_ACCEPT (E_M, MEC cert, conf_M)--> user --P5_CONFIRM (conf_U)--> MEC
 *   MEC --P5_RESULTS (AES-128-CCM under k_enc)--> user
 *
 *   MEC --P6_EMERG (MEC-signed)--> TTP --P6_PARTIES (TTP-signed Q_U, handle)--> MEC
 *   user --P6_FETCH (Q_U, ts, nonce, signed with d_U)--> MEC --P6_ALERT (ECIES
 *        to Q_U, MEC-signed inside)
 *   user --P6_ACK (KMAC tag under the alert's ack secret)--> MEC ... P6_END
 *   MEC --P6_DELIVERED (MEC-signed: alert_id, handle)--> TTP --P6_NOTED--> MEC
 *
 * The MEC never sees a user's certificate: it learns Q_U (a pseudonym) from
 * the grant and the party list, never a subject or attributes.
 *
 * Every signature is ECDSA-SHA256 over a domain label (ASCII, no
 * terminator) and the bytes before sig_len. Functions return 0 or a
 * negative IOMT_E* code: IOMT_EMALFORMED for a layout error, IOMT_ESTATE
 * for a certificate outside its window or a stale ts, IOMT_EAUTH for a
 * signature, tag or box that does not verify, IOMT_EINVAL for bad
 * arguments, IOMT_EUNSUPP when libcrypto fails.
 */
#ifndef IOMT_S2_P56_H
#define IOMT_S2_P56_H
#include <stddef.h>
#include <stdint.h>
#include <openssl/types.h>

#include "ecies.h"
#include "ecqv.h"

enum {
	P56_ID_LEN = 16,
	P56_NONCE_LEN = 16,
	P56_PT_LEN = ECQV_POINT_LEN,		/* 33 */
	P56_HASH_LEN = 32,
	P56_TAG_LEN = 16,
	P56_SIG_MIN = 8,
	P56_SIG_MAX = 72,
	P56_TS_SKEW_S = 300,
	P56_NONCE_KEEP_S = 2 * P56_TS_SKEW_S,
	P56_GRANT_LIFE_S = 60,
	P56_RESULT_MAX = 1024,			/* one result record */
	P56_PARTIES_MAX = 16,
	/* P5_REQ: ID_a || E_U || nonce || ECIES(ttp, aad = those 65 bytes,
	 * cert || ts || sig_len || sig) */
	P56_REQ_OPEN = P56_ID_LEN + P56_PT_LEN + P56_NONCE_LEN,		/* 65 */
	P56_REQ_INNER_FIXED = ECQV_CERT_LEN + 8,				/* 133 */
	P56_REQ_INNER_MAX = P56_REQ_INNER_FIXED + 1 + P56_SIG_MAX,		/* 206 */
	P56_REQ_MIN = P56_REQ_OPEN + ECIES_OVERHEAD + P56_REQ_INNER_FIXED + 1 + P56_SIG_MIN, /* 269 */
	P56_REQ_MAX = P56_REQ_OPEN + ECIES_OVERHEAD + P56_REQ_INNER_MAX,	/* 333 */
	/* P6_FETCH: Q_U || ts || nonce || sig_len || sig */
	P56_FETCH_FIXED = P56_PT_LEN + 8 + P56_NONCE_LEN,			/* 57 */
	P56_FETCH_MIN = P56_FETCH_FIXED + 1 + P56_SIG_MIN,			/* 66 */
	P56_FETCH_MAX = P56_FETCH_FIXED + 1 + P56_SIG_MAX,			/* 130 */
	P56_HANDLE_LEN = 16,
	P56_GRANT_BODY = P56_PT_LEN + P56_ID_LEN + P56_NONCE_LEN + P56_HASH_LEN + 8,	/* 105 */
	P56_GRANT_MAX = P56_GRANT_BODY + 1 + P56_SIG_MAX,		/* 178 */
	P56_ACCEPT_LEN = P56_PT_LEN + ECQV_CERT_LEN + P56_TAG_LEN,	/* 174 */
	P56_CONFIRM_LEN = P56_TAG_LEN,
	P56_OKM_LEN = 16 + 16 + 16 + 13,				/* 61 */
	P56_RESULTS_PT_MAX = 60000,
	P56_EMERG_FIXED = ECQV_CERT_LEN + 8 + 2 * P56_ID_LEN + 2,	/* 167 */
	P56_EMERG_MAX = P56_EMERG_FIXED + P56_RESULT_MAX + 1 + P56_SIG_MAX,
	P56_PARTIES_FIXED = P56_ID_LEN + 8 + 1,				/* 25 */
	P56_PARTY_LEN = P56_PT_LEN + P56_HANDLE_LEN,			/* 49 */
	P56_PARTIES_MAX_LEN = P56_PARTIES_FIXED + P56_PARTIES_MAX * P56_PARTY_LEN + 1 +
			      P56_SIG_MAX,
	P56_ALERT_PT_FIXED = ECQV_CERT_LEN + P56_ID_LEN + 8 + 16 + 2,	/* 167 */
	P56_ALERT_PT_MAX = P56_ALERT_PT_FIXED + P56_RESULT_MAX + 1 + P56_SIG_MAX,
	P56_ALERT_MAX = P56_ID_LEN + ECIES_OVERHEAD + P56_ALERT_PT_MAX,	/* frame payload */
	P56_ACK_LEN = P56_ID_LEN + P56_TAG_LEN,				/* 32 */
	P56_END_LEN = 2,
	P56_DELIVERED_FIXED = ECQV_CERT_LEN + 8 + P56_ID_LEN + P56_HANDLE_LEN,	/* 165 */
	P56_DELIVERED_MAX = P56_DELIVERED_FIXED + 1 + P56_SIG_MAX,
};

#define P56_LABEL_REQ "iomt/s2/p5-req"
#define P56_LABEL_GRANT "iomt/s2/p5-grant"
#define P56_LABEL_FETCH "iomt/s2/p6-fetch"
#define P56_LABEL_EMERG "iomt/s2/p6-emerg"
#define P56_LABEL_PARTIES "iomt/s2/p6-parties"
#define P56_LABEL_ALERT "iomt/s2/p6-alert"
#define P56_LABEL_DELIVERED "iomt/s2/p6-delivered"
#define P56_LABEL_HANDLE "iomt/s2/p6-handle"

/* ECDSA-SHA256 over label || body. sig holds P56_SIG_MAX. */
int p56_sign(EVP_PKEY *key, const char *label, const uint8_t *body, size_t len,
	     uint8_t *sig, size_t *sig_len);
int p56_verify(EVP_PKEY *pub, const char *label, const uint8_t *body, size_t len,
	       const uint8_t *sig, size_t sig_len);

/* ---- user messages: P5_REQ and P6_FETCH ---- */
struct p56_user_msg {
	/* P5_REQ, the part in clear (all the MEC reads) */
	uint8_t id_a[P56_ID_LEN];
	uint8_t eph[P56_PT_LEN];	/* E_U */
	uint8_t nonce[P56_NONCE_LEN];
	/* P5_REQ, sealed to the TTP (p56_req_open only) */
	struct ecqv_cert cert;
	uint8_t cert_enc[ECQV_CERT_LEN];
	uint64_t ts;
	/* P6_FETCH: Q_U (and ts, nonce above) */
	uint8_t q_u[P56_PT_LEN];
};

/* P5_REQ: signs label || ID_a || E_U || nonce || cert || ts with priv and
 * seals cert || ts || sig_len || sig to ttp_pub (the TTP's grant key). */
int p56_req_build(EVP_PKEY *priv, const struct ecqv_cert *cert, EVP_PKEY *ttp_pub, uint64_t ts,
		  const uint8_t nonce[P56_NONCE_LEN], const uint8_t id_a[P56_ID_LEN],
		  const uint8_t eph[P56_PT_LEN], uint8_t *out, size_t cap, size_t *len);
/* The MEC's view: the layout and E_U a point; fills id_a, eph, nonce. */
int p56_req_parse(const uint8_t *p, size_t len, struct p56_user_msg *m);
/* The TTP's: p56_req_parse, opens the box with ttp_priv (IOMT_EAUTH when it
 * does not open), certificate window, signature under Q_U, then ts within
 * P56_TS_SKEW_S of now. *q_u (may be NULL) receives Q_U on success. */
int p56_req_open(const uint8_t *p, size_t len, EVP_PKEY *ttp_priv, const EVP_PKEY *ca_pub,
		 uint64_t now, struct p56_user_msg *m, EVP_PKEY **q_u);
/* P6_FETCH: Q_U of priv, ts, nonce, signed with priv. */
int p56_fetch_build(EVP_PKEY *priv, uint64_t ts, const uint8_t nonce[P56_NONCE_LEN],
		    uint8_t *out, size_t cap, size_t *len);
/* Layout, Q_U a point, signature under Q_U, ts within skew: fills q_u, ts,
 * nonce. Proves possession of d_U for Q_U, nothing about who holds it. */
int p56_fetch_verify(const uint8_t *p, size_t len, uint64_t now, struct p56_user_msg *m);

/* ---- P5_GRANT body (after req_id) ---- */
struct p56_grant {
	uint8_t q_u[P56_PT_LEN];
	uint8_t id_a[P56_ID_LEN];
	uint8_t nonce[P56_NONCE_LEN];
	uint8_t h_eph[P56_HASH_LEN];	/* SHA-256(E_U) */
	uint64_t expires;		/* Unix seconds */
};
int p56_grant_build(EVP_PKEY *ttp_priv, const struct p56_grant *g, uint8_t *out, size_t cap,
		    size_t *len);
/* Signature under ttp_pub, then expires >= now (else IOMT_ESTATE). */
int p56_grant_verify(const uint8_t *p, size_t len, EVP_PKEY *ttp_pub, uint64_t now,
		     struct p56_grant *g);

/* SHA-256 of bytes. */
int p56_sha256(const uint8_t *p, size_t len, uint8_t out[P56_HASH_LEN]);

/* ---- the phase-5 key agreement ---- */
struct p56_keys {
	uint8_t conf_m[P56_TAG_LEN];	/* MEC -> user key confirmation */
	uint8_t conf_u[P56_TAG_LEN];	/* user -> MEC */
	uint8_t k_enc[16];		/* AES-128-CCM key for P5_RESULTS */
	uint8_t n_res[13];		/* its nonce (one message per session) */
};
/* th = SHA-256(P5_REQ payload (box included) || E_M || MEC cert). */
int p56_transcript(const uint8_t *req, size_t req_len, const uint8_t e_m[P56_PT_LEN],
		   const uint8_t mec_cert[ECQV_CERT_LEN], uint8_t th[P56_HASH_LEN]);
/* okm = KMAC128(Z1 || Z2 || Z3, Q_U || Q_M || E_U || E_M || th, 488, "iomt/s2/p5-key"). */
int p56_kdf(const uint8_t z[3][32], const uint8_t q_u[P56_PT_LEN], const uint8_t q_m[P56_PT_LEN],
	    const uint8_t e_u[P56_PT_LEN], const uint8_t e_m[P56_PT_LEN],
	    const uint8_t th[P56_HASH_LEN], struct p56_keys *k);
/* The user's side: Z1 = e_U*E_M, Z2 = e_U*Q_M, Z3 = d_U*E_M. */
int p56_keys_user(EVP_PKEY *d_u, EVP_PKEY *e_u, EVP_PKEY *q_m, EVP_PKEY *e_m,
		  const uint8_t th[P56_HASH_LEN], struct p56_keys *k);
/* The MEC's side: Z1 = e_M*E_U, Z2 = d_M*E_U, Z3 = e_M*Q_U. */
int p56_keys_mec(EVP_PKEY *d_m, EVP_PKEY *e_m, EVP_PKEY *q_u, EVP_PKEY *e_u,
		 const uint8_t th[P56_HASH_LEN], struct p56_keys *k);
/* P5_RESULTS: out = CCM(k_enc, n_res, aad = "iomt/s2/p5-results", pt) || tag (len + 16). */
int p56_results_seal(const struct p56_keys *k, const uint8_t *pt, size_t len, uint8_t *out);
int p56_results_open(const struct p56_keys *k, const uint8_t *box, size_t len, uint8_t *pt);

/* ---- P6_EMERG body (after req_id) ---- */
struct p56_emerg {
	struct ecqv_cert cert;		/* the MEC's */
	uint8_t cert_enc[ECQV_CERT_LEN];
	uint64_t ts;
	uint8_t alert_id[P56_ID_LEN];
	uint8_t id_a[P56_ID_LEN];
	uint16_t res_len;		/* 1..P56_RESULT_MAX */
	uint8_t result[P56_RESULT_MAX];
};
int p56_emerg_build(EVP_PKEY *mec_priv, const struct p56_emerg *e, uint8_t *out, size_t cap,
		    size_t *len);
/* Layout, window, MEC signature; ts within skew. *q_m (may be NULL) gets Q_M. */
int p56_emerg_verify(const uint8_t *p, size_t len, const EVP_PKEY *ca_pub, uint64_t now,
		     struct p56_emerg *e, EVP_PKEY **q_m);

/* ---- P6_PARTIES body (after req_id): per party Q_U || handle ---- */
struct p56_parties {
	uint8_t alert_id[P56_ID_LEN];
	uint64_t expires;
	uint8_t n;			/* 1..P56_PARTIES_MAX */
	uint8_t q_u[P56_PARTIES_MAX][P56_PT_LEN];
	uint8_t handle[P56_PARTIES_MAX][P56_HANDLE_LEN];
};
int p56_parties_build(EVP_PKEY *ttp_priv, const struct p56_parties *pa, uint8_t *out,
		      size_t cap, size_t *len);
/* Signature, layout, every Q_U a point. */
int p56_parties_verify(const uint8_t *p, size_t len, EVP_PKEY *ttp_pub, struct p56_parties *pa);
/* handle = SHA-256("iomt/s2/p6-handle" || alert_id || cert)[0..16): the
 * TTP's name for a party of one alert, opaque to the MEC. */
int p56_party_handle(const uint8_t alert_id[P56_ID_LEN], const uint8_t cert[ECQV_CERT_LEN],
		     uint8_t handle[P56_HANDLE_LEN]);

/* ---- P6_ALERT: alert_id || ECIES(Q_U, aad = alert_id, alert plaintext) ---- */
struct p56_alert {
	uint8_t alert_id[P56_ID_LEN];
	struct ecqv_cert mec_cert;
	uint8_t id_a[P56_ID_LEN];
	uint64_t ts;
	uint8_t ack_secret[16];
	uint16_t res_len;
	uint8_t result[P56_RESULT_MAX];
};
int p56_alert_seal(EVP_PKEY *mec_priv, const uint8_t mec_cert[ECQV_CERT_LEN], EVP_PKEY *to_pub,
		   const struct p56_alert *a, uint8_t *out, size_t cap, size_t *len);
/* Opens with the user's key, checks the MEC certificate (window, role MEC)
 * and the MEC's signature (bound to the user's Q_U). */
int p56_alert_open(EVP_PKEY *priv, const EVP_PKEY *ca_pub, uint64_t now, const uint8_t *p,
		   size_t len, struct p56_alert *a);
/* tag = KMAC128(ack_secret, alert_id, 128, "iomt/s2/p6-ack"). */
int p56_ack_tag(const uint8_t ack_secret[16], const uint8_t alert_id[P56_ID_LEN],
		uint8_t tag[P56_TAG_LEN]);

/* ---- P6_DELIVERED body (after req_id) ---- */
struct p56_delivered {
	struct ecqv_cert cert;		/* the MEC's */
	uint8_t cert_enc[ECQV_CERT_LEN];
	uint64_t ts;
	uint8_t alert_id[P56_ID_LEN];
	uint8_t handle[P56_HANDLE_LEN];	/* the party that acknowledged (P6_PARTIES) */
};
int p56_delivered_build(EVP_PKEY *mec_priv, const struct p56_delivered *d, uint8_t *out,
			size_t cap, size_t *len);
int p56_delivered_verify(const uint8_t *p, size_t len, const EVP_PKEY *ca_pub, uint64_t now,
			 struct p56_delivered *d);

#endif
