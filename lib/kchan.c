/* SPDX-License-Identifier: MIT */
/*
 * A request to a KDC-authenticated service and its reply (lib/kchan.h):
 * every request carries its own AP_REQ, the body and the answer travel in
 * AES-128-CCM boxes under the AP session key of that very AP_REQ.
 *
 *   KCHAN_REQ = AP_REQ (163) || op (1) || N (13) || CCM(session, N, 8 || op, body) || T (16)
 *   KCHAN_REP = status (1) || N (13) || CCM(session, N, 9 || status || N_auth, body) || T (16)
 */
#include <string.h>
#include "kchan.h"
#include "kdc_box.h"
#include "ccm.h"
#include "ct.h"

enum {
	OFF_OP = IOMT_KDC_AP_REQ_LEN,                 /* 163 */
	OFF_BOX = OFF_OP + 1,                         /* 164 */
	REQ_AAD_LEN = 2,                              /* usage || op */
	REP_AAD_LEN = 2 + IOMT_KDC_BOX_NONCE_LEN,     /* usage || status || N_auth */
};
_Static_assert(IOMT_KCHAN_REQ_OVERHEAD == OFF_BOX + IOMT_KDC_BOX_OVERHEAD, "KCHAN_REQ");

/* Box(session, aad, pt) at out: nonce || ct || tag; pt may be anywhere,
 * out + 13 included (it is moved in first, then sealed in place). */
static int box_seal(const uint8_t session[IOMT_KDC_KEY_LEN], const uint8_t *aad, size_t alen,
		    const uint8_t nonce[IOMT_KDC_BOX_NONCE_LEN], const uint8_t *pt, size_t len,
		    uint8_t *out)
{
	uint8_t *ct = out + IOMT_KDC_BOX_NONCE_LEN;
	struct iomt_aes128 k;
	int rc;

	if (len)
		memmove(ct, pt, len);
	memmove(out, nonce, IOMT_KDC_BOX_NONCE_LEN);
	iomt_aes128_init(&k, session);
	rc = iomt_ccm_encrypt(&k, out, IOMT_KDC_BOX_NONCE_LEN, aad, alen, ct, len, ct, ct + len,
			      IOMT_KDC_TAG_LEN);
	iomt_aes128_wipe(&k);
	return rc ? IOMT_KDC_ERR_INTERNAL : IOMT_KDC_OK;
}

/* Opens box (box_len >= 29) into pt: BAD_MAC with pt zeroed. */
static int box_open(const uint8_t session[IOMT_KDC_KEY_LEN], const uint8_t *aad, size_t alen,
		    const uint8_t *box, size_t box_len, uint8_t *pt)
{
	size_t len = box_len - IOMT_KDC_BOX_OVERHEAD;
	struct iomt_aes128 k;
	int rc;

	iomt_aes128_init(&k, session);
	rc = iomt_ccm_decrypt(&k, box, IOMT_KDC_BOX_NONCE_LEN, aad, alen,
			      box + IOMT_KDC_BOX_NONCE_LEN, len,
			      box + IOMT_KDC_BOX_NONCE_LEN + len, IOMT_KDC_TAG_LEN, pt);
	iomt_aes128_wipe(&k);
	if (rc) {
		iomt_wipe(pt, len);
		return IOMT_KDC_ERR_BAD_MAC;
	}
	return IOMT_KDC_OK;
}

/* The box of a request whose AP_REQ is in out: under the AP session key,
 * which goes to session and c->session. Apart from iomt_kchan_req_seal so
 * that its locals are off the stack under the AP_REQ's own box (a sensor's
 * deepest path, issue 8). */
static __attribute__((noinline)) int req_box(struct iomt_kdc_client *c, uint8_t op, size_t len,
					     const uint8_t nonce[IOMT_KDC_BOX_NONCE_LEN],
					     uint8_t *out, uint8_t session[IOMT_KDC_KEY_LEN])
{
	const uint8_t aad[REQ_AAD_LEN] = { IOMT_KCHAN_USE_REQ, op };
	int rc;

	/* The key of the request in flight, also for iomt_kchan_rep_open
	 * (iomt_kdc_client_ap_req zeroed it): the reply checks against it
	 * instead of deriving it again, one KMAC off the sensor's deepest
	 * stack (issue 8). */
	iomt_kdc_ap_session(c->sess_key, c->auth_nonce, c->auth_ms, c->session);
	out[OFF_OP] = op;
	rc = box_seal(c->session, aad, sizeof(aad), nonce,
		      out + OFF_BOX + IOMT_KDC_BOX_NONCE_LEN, len, out + OFF_BOX);
	if (!rc)
		memcpy(session, c->session, IOMT_KDC_KEY_LEN);
	else
		iomt_wipe(c->session, sizeof(c->session));
	return rc;
}

int iomt_kchan_req_seal(struct iomt_kdc_client *c, uint64_t now_ms, uint8_t op,
			const uint8_t *body, size_t len, const uint8_t rnd[IOMT_KCHAN_RAND],
			uint8_t *out, size_t cap, size_t *out_len,
			uint8_t session[IOMT_KDC_KEY_LEN])
{
	int rc;

	if (out_len)
		*out_len = 0;
	if (!c || !rnd || !out || !out_len || !session || (len && !body))
		return IOMT_KDC_ERR_MALFORMED;
	/* op 0 is no operation; the whole frame must fit lib/wire.h's 16 bits. */
	if (!op || len > IOMT_KCHAN_REQ_BODY_MAX || cap < IOMT_KCHAN_REQ_OVERHEAD + len)
		return IOMT_KDC_ERR_MALFORMED;
	/* The body may sit where the AP_REQ goes: move it to its place first. */
	if (len)
		memmove(out + OFF_BOX + IOMT_KDC_BOX_NONCE_LEN, body, len);
	rc = iomt_kdc_client_ap_req(c, now_ms, rnd, out);
	if (rc) {
		iomt_wipe(out, IOMT_KCHAN_REQ_OVERHEAD + len);
		return rc;
	}
	rc = req_box(c, op, len, rnd + IOMT_KDC_AP_REQ_RAND, out, session);
	if (!rc)
		*out_len = IOMT_KCHAN_REQ_OVERHEAD + len;
	else
		iomt_wipe(out, IOMT_KCHAN_REQ_OVERHEAD + len);
	return rc;
}

int iomt_kchan_req_split(const uint8_t *p, size_t len, const uint8_t **ap_req, uint8_t *op,
			 const uint8_t **box, size_t *box_len)
{
	if (!p || !ap_req || !op || !box || !box_len)
		return IOMT_KDC_ERR_MALFORMED;
	/* Shorter than an AP_REQ, an op and an empty box: not a request. */
	if (len < IOMT_KCHAN_REQ_OVERHEAD || !p[OFF_OP])
		return IOMT_KDC_ERR_MALFORMED;
	*ap_req = p;
	*op = p[OFF_OP];
	*box = p + OFF_BOX;
	*box_len = len - OFF_BOX;
	return IOMT_KDC_OK;
}

int iomt_kchan_req_open(const uint8_t session[IOMT_KDC_KEY_LEN], uint8_t op, const uint8_t *box,
			size_t box_len, uint8_t *body, size_t cap, size_t *body_len)
{
	const uint8_t aad[REQ_AAD_LEN] = { IOMT_KCHAN_USE_REQ, op };
	int rc;

	if (body_len)
		*body_len = 0;
	if (!session || !box || !body_len || (!body && cap))
		return IOMT_KDC_ERR_MALFORMED;
	if (box_len < IOMT_KDC_BOX_OVERHEAD || cap < box_len - IOMT_KDC_BOX_OVERHEAD ||
	    box_len - IOMT_KDC_BOX_OVERHEAD > IOMT_KCHAN_REQ_BODY_MAX)
		return IOMT_KDC_ERR_MALFORMED;
	rc = box_open(session, aad, sizeof(aad), box, box_len, body);
	if (!rc)
		*body_len = box_len - IOMT_KDC_BOX_OVERHEAD;
	return rc;
}

static void rep_aad(uint8_t aad[REP_AAD_LEN], uint8_t status,
		    const uint8_t auth_nonce[IOMT_KDC_BOX_NONCE_LEN])
{
	aad[0] = IOMT_KCHAN_USE_REP;
	aad[1] = status;
	memcpy(aad + 2, auth_nonce, IOMT_KDC_BOX_NONCE_LEN);
}

int iomt_kchan_rep_seal(const uint8_t session[IOMT_KDC_KEY_LEN],
			const uint8_t auth_nonce[IOMT_KDC_BOX_NONCE_LEN], uint8_t status,
			const uint8_t nonce[IOMT_KDC_BOX_NONCE_LEN], const uint8_t *body, size_t len,
			uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t aad[REP_AAD_LEN];
	int rc;

	if (out_len)
		*out_len = 0;
	if (!session || !auth_nonce || !nonce || !out || !out_len || (len && !body))
		return IOMT_KDC_ERR_MALFORMED;
	if (len > IOMT_KCHAN_REP_BODY_MAX || cap < IOMT_KCHAN_REP_OVERHEAD + len)
		return IOMT_KDC_ERR_MALFORMED;
	rep_aad(aad, status, auth_nonce);
	if (len)
		memmove(out + 1 + IOMT_KDC_BOX_NONCE_LEN, body, len);
	out[0] = status;
	rc = box_seal(session, aad, sizeof(aad), nonce, out + 1 + IOMT_KDC_BOX_NONCE_LEN, len,
		      out + 1);
	if (!rc)
		*out_len = IOMT_KCHAN_REP_OVERHEAD + len;
	else
		iomt_wipe(out, IOMT_KCHAN_REP_OVERHEAD + len);
	return rc;
}

int iomt_kchan_rep_open(struct iomt_kdc_client *c, const uint8_t session[IOMT_KDC_KEY_LEN],
			const uint8_t *p, size_t len, uint8_t *status, uint8_t *body, size_t cap,
			size_t *body_len)
{
	uint8_t aad[REP_AAD_LEN];
	int rc;

	if (body_len)
		*body_len = 0;
	if (!c || !session || !p || !status || !body_len || (!body && cap))
		return IOMT_KDC_ERR_MALFORMED;
	if (c->state != IOMT_KDC_C_AP_SENT)
		return IOMT_KDC_ERR_STATE;
	/* A status and a box, however empty. */
	if (len < IOMT_KCHAN_REP_OVERHEAD || cap < len - IOMT_KCHAN_REP_OVERHEAD)
		return IOMT_KDC_ERR_MALFORMED;
	/* The key must be the one of the request in flight, which
	 * iomt_kchan_req_seal left in c->session (an AP_REQ of
	 * iomt_kdc_client_ap_req alone leaves it zero: no KCHAN request). */
	if (iomt_ct_is_zero(c->session, sizeof(c->session)) ||
	    !iomt_ct_eq(c->session, session, sizeof(c->session)))
		return IOMT_KDC_ERR_STATE;
	rep_aad(aad, p[0], c->auth_nonce);
	rc = box_open(session, aad, sizeof(aad), p + 1, len - 1, body);
	if (!rc) {
		*status = p[0];
		*body_len = len - IOMT_KCHAN_REP_OVERHEAD;
		c->state = IOMT_KDC_C_ESTABLISHED;
	}
	return rc;
}

const char *iomt_kchan_strstatus(int status)
{
	switch (status) {
	case IOMT_KCHAN_OK: return "ok";
	case IOMT_KCHAN_DENIED: return "denied by the patient";
	case IOMT_KCHAN_REFUSED: return "refused";
	case IOMT_KCHAN_MALFORMED: return "malformed request";
	case IOMT_KCHAN_BUSY: return "busy, retry later";
	case IOMT_KCHAN_INTERNAL: return "internal error: nothing was released";
	}
	return "unknown status";
}
