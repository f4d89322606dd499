/* SPDX-License-Identifier: MIT */
/*
 * The ticket-granting service. TGS_REQ = target (16) || nonce (8) || TGT ||
 * Box(K_C,TGS, TGS_AUTH, target || nonce || TGT, cname (16) || timestamp
 * (8)); TGS_REP = ticket || Box(K_C,TGS, TGS_PART, nonce || ticket, K_C,S ||
 * issue (8) || lifetime (4)).
 */
#include <string.h>
#include "kdc_box.h"
#include "ct.h"

enum {
	OFF_NONCE = IOMT_KDC_NAME_LEN,
	OFF_TGT = OFF_NONCE + IOMT_KDC_NONCE_LEN,
	OFF_AUTH = OFF_TGT + IOMT_KDC_TICKET_LEN,  /* 134: all before it is the aad */
};
_Static_assert(OFF_AUTH + IOMT_KDC_AUTH_LEN == (int)IOMT_KDC_TGS_REQ_LEN, "TGS_REQ size");

int iomt_kdc_tgs_req_open(const uint8_t ktgs[IOMT_KDC_KEY_LEN], uint32_t tgs_kvno,
			  const uint8_t *req, size_t len, uint64_t now_ms, uint32_t skew_ms,
			  struct iomt_kdc_tgs_req *out)
{
	const struct iomt_kdc_aad aad = { req, OFF_AUTH, NULL, 0 };
	uint64_t ts;
	int rc;

	if (!out)
		return IOMT_KDC_ERR_MALFORMED;
	memset(out, 0, sizeof(*out));
	/* Exact size and a valid target name before any key is used. */
	if (!ktgs || !req || len != IOMT_KDC_TGS_REQ_LEN || !iomt_kdc_name_valid(req))
		return IOMT_KDC_ERR_MALFORMED;
	rc = iomt_kdc_ticket_open(ktgs, iomt_kdc_tgs_name, tgs_kvno, req + OFF_TGT, now_ms,
				  skew_ms, &out->tgt);
	if (!rc)
		rc = iomt_kdc_auth_open(out->tgt.key, IOMT_KDC_USE_TGS_AUTH, &aad, req + OFF_AUTH,
					out->tgt.cname, now_ms, skew_ms, &ts);
	if (rc) {
		iomt_wipe(out, sizeof(*out));
		return rc;
	}
	memcpy(out->target, req, IOMT_KDC_NAME_LEN);
	memcpy(out->nonce, req + OFF_NONCE, IOMT_KDC_NONCE_LEN);
	return IOMT_KDC_OK;
}

/* No ticket outlives the TGT it was obtained with. */
static uint32_t clamp_life(const struct iomt_kdc_ticket_info *tgt, uint64_t now_ms,
			   uint32_t lifetime_s)
{
	uint64_t end = iomt_kdc_end_ms(tgt->issue_ms, tgt->lifetime_s);
	uint64_t left_s = now_ms >= end ? 0 : (end - now_ms) / 1000;

	return left_s < lifetime_s ? (uint32_t)left_s : lifetime_s;
}

int iomt_kdc_tgs_reply(const struct iomt_kdc_tgs_req *req, const struct iomt_kdc_grant *g,
		       const uint8_t rnd[IOMT_KDC_REP_RAND], uint8_t out[IOMT_KDC_TGS_REP_LEN])
{
	struct iomt_aes128 k;
	int rc;

	if (!req || !g || !g->skey || !g->sname || !rnd || !out)
		return IOMT_KDC_ERR_MALFORMED;
	/* The grant is for the TGT's client, or the caller mixed them up. */
	if (!iomt_ct_eq(g->cname, req->tgt.cname, IOMT_KDC_NAME_LEN))
		return IOMT_KDC_ERR_WRONG_PRINCIPAL;
	iomt_aes128_init(&k, req->tgt.key);
	rc = iomt_kdc_reply_build(&k, IOMT_KDC_USE_TGS_PART, req->nonce, g,
				  clamp_life(&req->tgt, g->now_ms, g->lifetime_s), rnd, out);
	iomt_aes128_wipe(&k);
	return rc;
}
