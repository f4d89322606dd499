/* SPDX-License-Identifier: MIT */
/*
 * The service side. AP_REQ = ticket || Box(K_AB, AP_AUTH, ticket, cname (16)
 * || timestamp (8)); AP_REP = Box(K_AB, AP_REP, the authenticator's box
 * nonce, the authenticator's timestamp (8)). Authenticators (TGS and AP)
 * are opened here.
 */
#include <string.h>
#include "kdc_box.h"
#include "bytes.h"
#include "ct.h"
#include "sp800_185.h"

enum {
	OFF_AUTH = IOMT_KDC_TICKET_LEN,                                 /* 110 */
	OFF_TAG = OFF_AUTH + IOMT_KDC_BOX_NONCE_LEN + IOMT_KDC_AUTH_PT_LEN, /* 147 */
	TS_LEN = 8,
};
_Static_assert(OFF_AUTH + IOMT_KDC_AUTH_LEN == (int)IOMT_KDC_AP_REQ_LEN, "AP_REQ size");
_Static_assert(IOMT_KDC_BOX_OVERHEAD + TS_LEN == (int)IOMT_KDC_AP_REP_LEN, "AP_REP size");
_Static_assert((int)IOMT_KDC_AUTH_PT_LEN == IOMT_KDC_NAME_LEN + TS_LEN, "authenticator");

static const char s_session[] = "iomt/kdc/ap-session";

void iomt_kdc_ap_session(const uint8_t kab[IOMT_KDC_KEY_LEN],
			 const uint8_t box_nonce[IOMT_KDC_BOX_NONCE_LEN], uint64_t ts,
			 uint8_t out[IOMT_KDC_KEY_LEN])
{
	uint8_t in[IOMT_KDC_BOX_NONCE_LEN + TS_LEN];

	memcpy(in, box_nonce, IOMT_KDC_BOX_NONCE_LEN);
	iomt_store_be64(in + IOMT_KDC_BOX_NONCE_LEN, ts);
	iomt_kmac128(kab, IOMT_KDC_KEY_LEN, s_session, sizeof(s_session) - 1, in, sizeof(in),
		     out, IOMT_KDC_KEY_LEN);
}

int iomt_kdc_auth_open(const uint8_t key[IOMT_KDC_KEY_LEN], uint8_t usage,
		       const struct iomt_kdc_aad *aad, const uint8_t *box,
		       const uint8_t cname[IOMT_KDC_NAME_LEN], uint64_t now_ms, uint32_t skew_ms,
		       uint64_t *ts)
{
	uint8_t pt[IOMT_KDC_AUTH_PT_LEN];
	struct iomt_aes128 k;
	int rc;

	iomt_aes128_init(&k, key);
	rc = iomt_kdc_box_open(&k, usage, aad, box, sizeof(pt), pt);
	iomt_aes128_wipe(&k);
	if (!rc && !iomt_ct_eq(pt, cname, IOMT_KDC_NAME_LEN))
		rc = IOMT_KDC_ERR_WRONG_PRINCIPAL;
	*ts = iomt_load_be64(pt + IOMT_KDC_NAME_LEN);
	if (!rc && !iomt_kdc_fresh(now_ms, *ts, skew_ms))
		rc = IOMT_KDC_ERR_SKEW;
	iomt_wipe(pt, sizeof(pt));
	return rc;
}

/* One AP_REQ with the service key scheduled. */
static int verify_with(const struct iomt_aes128 *ks, const uint8_t *sname, uint32_t kvno,
		       const uint8_t *req, size_t len, uint64_t now_ms, uint32_t skew_ms,
		       struct iomt_kdc_ap_result *res)
{
	const struct iomt_kdc_aad aad = { req, OFF_AUTH, NULL, 0 };
	int rc;

	memset(res, 0, sizeof(*res));
	/* An AP_REQ has one size; anything else is not worth an answer. */
	if (!req || len != IOMT_KDC_AP_REQ_LEN)
		return IOMT_KDC_ERR_MALFORMED;
	memcpy(res->ref, req + OFF_AUTH, sizeof(res->ref));
	memcpy(res->auth_nonce, req + OFF_AUTH, IOMT_KDC_BOX_NONCE_LEN);
	rc = iomt_kdc_ticket_open_with(ks, sname, kvno, req, now_ms, skew_ms, &res->tkt);
	if (!rc)
		rc = iomt_kdc_auth_open(res->tkt.key, IOMT_KDC_USE_AP_AUTH, &aad, req + OFF_AUTH,
					res->tkt.cname, now_ms, skew_ms, &res->auth_ms);
	if (rc) {
		/* Keep only what an ERR reply needs. */
		iomt_wipe(&res->tkt, sizeof(res->tkt));
		res->auth_ms = 0;
		return rc;
	}
	memcpy(res->replay_key, req + OFF_TAG, sizeof(res->replay_key));
	iomt_kdc_ap_session(res->tkt.key, res->auth_nonce, res->auth_ms, res->session);
	return IOMT_KDC_OK;
}

int iomt_kdc_ap_verify(const uint8_t ks[IOMT_KDC_KEY_LEN], const uint8_t sname[IOMT_KDC_NAME_LEN],
		       uint32_t kvno, const uint8_t *req, size_t len, uint64_t now_ms,
		       uint32_t skew_ms, struct iomt_kdc_ap_result *res)
{
	struct iomt_aes128 k;
	int rc;

	if (!res)
		return IOMT_KDC_ERR_MALFORMED;
	if (!ks || !sname) {
		memset(res, 0, sizeof(*res));
		return IOMT_KDC_ERR_MALFORMED;
	}
	iomt_aes128_init(&k, ks);
	rc = verify_with(&k, sname, kvno, req, len, now_ms, skew_ms, res);
	iomt_aes128_wipe(&k);
	return rc;
}

void iomt_kdc_ap_verify_batch(const uint8_t ks[IOMT_KDC_KEY_LEN],
			      const uint8_t sname[IOMT_KDC_NAME_LEN], uint32_t kvno,
			      const uint8_t *const *req, const size_t *len, size_t n,
			      uint64_t now_ms, uint32_t skew_ms, struct iomt_kdc_ap_result *res,
			      int *codes)
{
	struct iomt_aes128 k;

	if (!codes)
		return;
	if (!ks || !sname || (n && (!req || !len || !res))) {
		for (size_t i = 0; i < n; i++)
			codes[i] = IOMT_KDC_ERR_MALFORMED;
		return;
	}
	iomt_aes128_init(&k, ks);	/* one schedule of K_S for the whole batch */
	for (size_t i = 0; i < n; i++)
		codes[i] = verify_with(&k, sname, kvno, req[i], len[i], now_ms, skew_ms, &res[i]);
	iomt_aes128_wipe(&k);
}

int iomt_kdc_ap_reply(const struct iomt_kdc_ap_result *res,
		      const uint8_t rnd[IOMT_KDC_AP_REP_RAND], uint8_t out[IOMT_KDC_AP_REP_LEN])
{
	struct iomt_kdc_aad aad = { NULL, IOMT_KDC_BOX_NONCE_LEN, NULL, 0 };
	struct iomt_aes128 k;
	int rc;

	if (!res || !rnd || !out)
		return IOMT_KDC_ERR_MALFORMED;
	/* Only a verified request (a failed one leaves no client kind) is answered. */
	if (res->tkt.ckind < IOMT_KDC_KIND_SENSOR || res->tkt.ckind > IOMT_KDC_KIND_CLOUD)
		return IOMT_KDC_ERR_STATE;
	aad.a1 = res->auth_nonce;
	iomt_store_be64(out + IOMT_KDC_BOX_NONCE_LEN, res->auth_ms);	/* sealed in place */
	iomt_aes128_init(&k, res->tkt.key);
	rc = iomt_kdc_box_seal(&k, IOMT_KDC_USE_AP_REP, &aad, rnd, out + IOMT_KDC_BOX_NONCE_LEN,
			       TS_LEN, out);
	iomt_aes128_wipe(&k);
	return rc;
}
