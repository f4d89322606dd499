/* SPDX-License-Identifier: MIT */
/*
 * The authentication service. AS_REQ = cname (16) || kvno (4) || nonce (8)
 * || Box(K_C, PA_TS, cname || kvno || nonce, timestamp (8)); AS_REP = TGT
 * || Box(K_C, AS_PART, nonce || TGT, K_C,TGS || issue (8) || lifetime (4)).
 * The reply builder is shared with the TGS.
 */
#include <string.h>
#include "kdc_box.h"
#include "bytes.h"
#include "ct.h"

enum {
	OFF_KVNO = IOMT_KDC_NAME_LEN,
	OFF_NONCE = OFF_KVNO + 4,
	OFF_BOX = OFF_NONCE + IOMT_KDC_NONCE_LEN,  /* 28: the clear part is the aad */
	TS_LEN = 8,
	OFF_PART = IOMT_KDC_TICKET_LEN,            /* a reply's enc part */
};
_Static_assert(OFF_BOX + IOMT_KDC_BOX_OVERHEAD + TS_LEN == (int)IOMT_KDC_AS_REQ_LEN, "AS_REQ size");
_Static_assert(OFF_PART + IOMT_KDC_ENC_PART_LEN == (int)IOMT_KDC_AS_REP_LEN, "AS_REP size");
_Static_assert((int)IOMT_KDC_AS_REP_LEN == (int)IOMT_KDC_TGS_REP_LEN, "one reply layout");

int iomt_kdc_as_req_peek(const uint8_t *req, size_t len, uint8_t cname[IOMT_KDC_NAME_LEN],
			 uint32_t *kvno, uint8_t nonce[IOMT_KDC_NONCE_LEN])
{
	if (!cname || !kvno || !nonce)
		return IOMT_KDC_ERR_MALFORMED;
	memset(cname, 0, IOMT_KDC_NAME_LEN);
	memset(nonce, 0, IOMT_KDC_NONCE_LEN);
	*kvno = 0;
	/* Exact size; "krbtgt" is never a client. */
	if (!req || len != IOMT_KDC_AS_REQ_LEN || !iomt_kdc_client_name_ok(req))
		return IOMT_KDC_ERR_MALFORMED;
	memcpy(cname, req, IOMT_KDC_NAME_LEN);
	*kvno = iomt_load_be32(req + OFF_KVNO);
	memcpy(nonce, req + OFF_NONCE, IOMT_KDC_NONCE_LEN);
	return IOMT_KDC_OK;
}

int iomt_kdc_reply_build(const struct iomt_aes128 *kr, uint8_t usage,
			 const uint8_t nonce[IOMT_KDC_NONCE_LEN], const struct iomt_kdc_grant *g,
			 uint32_t lifetime_s, const uint8_t rnd[IOMT_KDC_REP_RAND],
			 uint8_t out[IOMT_KDC_AS_REP_LEN])
{
	const struct iomt_kdc_aad aad = { nonce, IOMT_KDC_NONCE_LEN, out, IOMT_KDC_TICKET_LEN };
	uint8_t *part = out + OFF_PART, *pt = part + IOMT_KDC_BOX_NONCE_LEN;
	struct iomt_kdc_ticket_info info;
	int rc;

	memcpy(info.key, rnd, IOMT_KDC_KEY_LEN);
	memcpy(info.cname, g->cname, IOMT_KDC_NAME_LEN);
	info.ckind = g->ckind;
	memcpy(info.patient, g->patient, IOMT_KDC_NAME_LEN);
	info.issue_ms = g->now_ms;
	info.lifetime_s = lifetime_s;
	rc = iomt_kdc_ticket_seal(g->skey, g->sname, g->skvno, &info,
				  rnd + IOMT_KDC_KEY_LEN, out);
	if (!rc) {
		iomt_kdc_part_put(pt, rnd, g->now_ms, lifetime_s);	/* sealed in place */
		rc = iomt_kdc_box_seal(kr, usage, &aad,
				       rnd + IOMT_KDC_KEY_LEN + IOMT_KDC_BOX_NONCE_LEN, pt,
				       IOMT_KDC_ENC_PART_PT_LEN, part);
	}
	iomt_wipe(&info, sizeof(info));
	if (rc)
		iomt_wipe(out, IOMT_KDC_AS_REP_LEN);
	return rc;
}

/* The pre-authentication: a timestamp under K_C, within skew of now. */
static int pa_check(const struct iomt_aes128 *kc, const uint8_t *req, uint64_t now_ms,
		    uint32_t skew_ms)
{
	const struct iomt_kdc_aad aad = { req, OFF_BOX, NULL, 0 };
	uint8_t ts[TS_LEN];
	int rc;

	rc = iomt_kdc_box_open(kc, IOMT_KDC_USE_PA_TS, &aad, req + OFF_BOX, TS_LEN, ts);
	if (!rc && !iomt_kdc_fresh(now_ms, iomt_load_be64(ts), skew_ms))
		rc = IOMT_KDC_ERR_SKEW;
	iomt_wipe(ts, sizeof(ts));
	return rc;
}

int iomt_kdc_as_reply(const uint8_t kc[IOMT_KDC_KEY_LEN], const uint8_t *req, size_t len,
		      uint32_t skew_ms, const struct iomt_kdc_grant *g,
		      const uint8_t rnd[IOMT_KDC_REP_RAND], uint8_t out[IOMT_KDC_AS_REP_LEN])
{
	struct iomt_aes128 k;
	int rc;

	if (!kc || !req || !g || !g->skey || !g->sname || !rnd || !out)
		return IOMT_KDC_ERR_MALFORMED;
	if (len != IOMT_KDC_AS_REQ_LEN || !iomt_kdc_client_name_ok(req))
		return IOMT_KDC_ERR_MALFORMED;
	/* The grant is for the client that asked, or the caller mixed them up. */
	if (!iomt_ct_eq(g->cname, req, IOMT_KDC_NAME_LEN))
		return IOMT_KDC_ERR_WRONG_PRINCIPAL;
	iomt_aes128_init(&k, kc);	/* one schedule: PA_TS and AS_PART */
	rc = pa_check(&k, req, g->now_ms, skew_ms);
	if (!rc)
		rc = iomt_kdc_reply_build(&k, IOMT_KDC_USE_AS_PART, req + OFF_NONCE, g,
					  g->lifetime_s, rnd, out);
	iomt_aes128_wipe(&k);
	return rc;
}
