/* SPDX-License-Identifier: MIT */
/*
 * The client: one explicit state machine for sensors, gateways, PPDs and the
 * cloud store (lib/kdc.h). Every step checks the state first, works on stack
 * locals and commits only after its last check; a refusal changes nothing.
 */
#include <stddef.h>
#include <string.h>
#include "kdc_box.h"
#include "bytes.h"
#include "ct.h"
#include "wire.h"

enum {
	TS_LEN = 8,
	AS_AAD_LEN = IOMT_KDC_NAME_LEN + 4 + IOMT_KDC_NONCE_LEN,         /* 28 */
	TGS_AAD_LEN = IOMT_KDC_NAME_LEN + IOMT_KDC_NONCE_LEN + IOMT_KDC_TICKET_LEN, /* 134 */
	REP_PART = IOMT_KDC_TICKET_LEN,
};

#define KC_OFF(f) offsetof(struct iomt_kdc_client, f)
_Static_assert(KC_OFF(state) < KC_OFF(tgt) && KC_OFF(cname) < KC_OFF(tgt) &&
	       KC_OFF(kvno) < KC_OFF(tgt) && KC_OFF(key) < KC_OFF(tgt) &&
	       KC_OFF(nonce) < KC_OFF(tgt) && KC_OFF(sent_ms) < KC_OFF(tgt) &&
	       KC_OFF(tgs_key) < KC_OFF(target) && KC_OFF(tgt_issue_ms) < KC_OFF(target) &&
	       KC_OFF(tgt_life_s) < KC_OFF(target) &&
	       KC_OFF(session) + IOMT_KDC_KEY_LEN + 8 > sizeof(struct iomt_kdc_client),
	       "drop_tgt keeps the request's fields, drop_ticket the TGT's, session is last");

/* The fields from offset off to the end of the client, in one call: the
 * TGT's follow the request's, and the ticket's the TGT's (asserted above). */
static void wipe_from(struct iomt_kdc_client *c, size_t off)
{
	iomt_wipe((uint8_t *)c + off, sizeof(*c) - off);
}

/* Forgets the ticket, its keys and the AP exchange. */
static void drop_ticket(struct iomt_kdc_client *c)
{
	wipe_from(c, KC_OFF(target));
}

/* The TGT and its key too. */
static void drop_tgt(struct iomt_kdc_client *c)
{
	wipe_from(c, KC_OFF(tgt));
}

int iomt_kdc_client_init(struct iomt_kdc_client *c, const uint8_t cname[IOMT_KDC_NAME_LEN],
			 uint32_t kvno, const uint8_t key[IOMT_KDC_KEY_LEN])
{
	if (!c || !cname || !key || !iomt_kdc_client_name_ok(cname))
		return IOMT_KDC_ERR_MALFORMED;
	iomt_wipe(c, sizeof(*c));
	memcpy(c->cname, cname, IOMT_KDC_NAME_LEN);
	c->kvno = kvno;
	memcpy(c->key, key, IOMT_KDC_KEY_LEN);
	c->state = IOMT_KDC_C_IDLE;
	return IOMT_KDC_OK;
}

void iomt_kdc_client_wipe(struct iomt_kdc_client *c)
{
	if (c)
		iomt_wipe(c, sizeof(*c));
}

/* Box(key, usage, aad, cname || ts) at out, the plaintext sealed in place.
 * Inlined: one frame less on a sensor's deepest path (issue 8). */
static inline __attribute__((always_inline)) int
seal_ts(const uint8_t *key, uint8_t usage, const struct iomt_kdc_aad *aad, const uint8_t *cname,
	uint64_t ts, const uint8_t *box_nonce, uint8_t *out)
{
	uint8_t *pt = out + IOMT_KDC_BOX_NONCE_LEN;
	size_t len = cname ? IOMT_KDC_AUTH_PT_LEN : TS_LEN;
	struct iomt_aes128 k;
	int rc;

	if (cname)
		memcpy(pt, cname, IOMT_KDC_NAME_LEN);
	iomt_store_be64(pt + len - TS_LEN, ts);
	iomt_aes128_init(&k, key);
	rc = iomt_kdc_box_seal(&k, usage, aad, box_nonce, pt, len, out);
	iomt_aes128_wipe(&k);
	return rc;
}

int iomt_kdc_client_as_req(struct iomt_kdc_client *c, uint64_t now_ms,
			   const uint8_t rnd[IOMT_KDC_AS_REQ_RAND], uint8_t out[IOMT_KDC_AS_REQ_LEN])
{
	const struct iomt_kdc_aad aad = { out, AS_AAD_LEN, NULL, 0 };
	int rc;

	if (!c || !rnd || !out)
		return IOMT_KDC_ERR_MALFORMED;
	/* A wiped or never initialised client has no name (and no key). */
	if (!iomt_kdc_client_name_ok(c->cname))
		return IOMT_KDC_ERR_STATE;
	memcpy(out, c->cname, IOMT_KDC_NAME_LEN);
	iomt_store_be32(out + IOMT_KDC_NAME_LEN, c->kvno);
	memcpy(out + IOMT_KDC_NAME_LEN + 4, rnd, IOMT_KDC_NONCE_LEN);
	rc = seal_ts(c->key, IOMT_KDC_USE_PA_TS, &aad, NULL, now_ms, rnd + IOMT_KDC_NONCE_LEN,
		     out + AS_AAD_LEN);
	if (rc)
		return rc;
	drop_tgt(c);
	memcpy(c->nonce, rnd, IOMT_KDC_NONCE_LEN);
	c->sent_ms = now_ms;
	c->state = IOMT_KDC_C_AS_SENT;
	return IOMT_KDC_OK;
}

int iomt_kdc_client_tgs_req(struct iomt_kdc_client *c, const uint8_t target[IOMT_KDC_NAME_LEN],
			    uint64_t now_ms, const uint8_t rnd[IOMT_KDC_TGS_REQ_RAND],
			    uint8_t out[IOMT_KDC_TGS_REQ_LEN])
{
	const struct iomt_kdc_aad aad = { out, TGS_AAD_LEN, NULL, 0 };
	int rc;

	if (!c || !target || !rnd || !out)
		return IOMT_KDC_ERR_MALFORMED;
	if (c->state < IOMT_KDC_C_HAVE_TGT || c->state > IOMT_KDC_C_ESTABLISHED)
		return IOMT_KDC_ERR_STATE;
	if (!iomt_kdc_name_valid(target))
		return IOMT_KDC_ERR_MALFORMED;
	if (now_ms > iomt_kdc_end_ms(c->tgt_issue_ms, c->tgt_life_s))
		return IOMT_KDC_ERR_EXPIRED;
	memcpy(out, target, IOMT_KDC_NAME_LEN);
	memcpy(out + IOMT_KDC_NAME_LEN, rnd, IOMT_KDC_NONCE_LEN);
	memcpy(out + IOMT_KDC_NAME_LEN + IOMT_KDC_NONCE_LEN, c->tgt, IOMT_KDC_TICKET_LEN);
	rc = seal_ts(c->tgs_key, IOMT_KDC_USE_TGS_AUTH, &aad, c->cname, now_ms,
		     rnd + IOMT_KDC_NONCE_LEN, out + TGS_AAD_LEN);
	if (rc)
		return rc;
	drop_ticket(c);
	memcpy(c->target, target, IOMT_KDC_NAME_LEN);
	memcpy(c->nonce, rnd, IOMT_KDC_NONCE_LEN);
	c->sent_ms = now_ms;
	c->state = IOMT_KDC_C_TGS_SENT;
	return IOMT_KDC_OK;
}

int iomt_kdc_client_ap_req(struct iomt_kdc_client *c, uint64_t now_ms,
			   const uint8_t rnd[IOMT_KDC_AP_REQ_RAND], uint8_t out[IOMT_KDC_AP_REQ_LEN])
{
	const struct iomt_kdc_aad aad = { out, IOMT_KDC_TICKET_LEN, NULL, 0 };
	int rc;

	if (!c || !rnd || !out)
		return IOMT_KDC_ERR_MALFORMED;
	if (c->state != IOMT_KDC_C_HAVE_TICKET && c->state != IOMT_KDC_C_AP_SENT &&
	    c->state != IOMT_KDC_C_ESTABLISHED)
		return IOMT_KDC_ERR_STATE;
	if (now_ms > iomt_kdc_end_ms(c->tkt_issue_ms, c->tkt_life_s))
		return IOMT_KDC_ERR_EXPIRED;
	memcpy(out, c->ticket, IOMT_KDC_TICKET_LEN);
	rc = seal_ts(c->sess_key, IOMT_KDC_USE_AP_AUTH, &aad, c->cname, now_ms, rnd,
		     out + IOMT_KDC_TICKET_LEN);
	if (rc)
		return rc;
	iomt_wipe(c->session, sizeof(c->session));
	memcpy(c->auth_nonce, rnd, IOMT_KDC_BOX_NONCE_LEN);
	c->auth_ms = now_ms;
	c->sent_ms = now_ms;
	c->state = IOMT_KDC_C_AP_SENT;
	return IOMT_KDC_OK;
}

/* ---- replies ---- */

/* An AS_REP or TGS_REP: the ticket must be for the service asked for, the
 * enc part must open under key with our nonce. Commits the ticket, its key
 * and times to the given places only on success. */
static int open_rep(const struct iomt_kdc_client *c, const uint8_t *key, uint8_t usage,
		    const uint8_t *sname, const uint8_t *p, size_t len, uint8_t *ticket,
		    uint8_t *tkey, uint64_t *issue_ms, uint32_t *life_s)
{
	const struct iomt_kdc_aad aad = { c->nonce, IOMT_KDC_NONCE_LEN, p, IOMT_KDC_TICKET_LEN };
	uint8_t pt[IOMT_KDC_ENC_PART_PT_LEN];
	struct iomt_aes128 k;
	int rc;

	/* Both replies have one size: 167. */
	if (len != IOMT_KDC_AS_REP_LEN)
		return IOMT_KDC_ERR_MALFORMED;
	if (!iomt_ct_eq(p, sname, IOMT_KDC_NAME_LEN))
		return IOMT_KDC_ERR_WRONG_PRINCIPAL;
	iomt_aes128_init(&k, key);
	rc = iomt_kdc_box_open(&k, usage, &aad, p + REP_PART, sizeof(pt), pt);
	iomt_aes128_wipe(&k);
	if (!rc) {
		memcpy(ticket, p, IOMT_KDC_TICKET_LEN);
		iomt_kdc_part_get(pt, tkey, issue_ms, life_s);
	}
	iomt_wipe(pt, sizeof(pt));
	return rc;
}

/* Not inlined into iomt_kdc_client_recv: its key schedule would sit on the
 * stack under open_rep's (the sensor firmware's stack budget, issue 8). */
static __attribute__((noinline)) int recv_ap_rep(struct iomt_kdc_client *c, const uint8_t *p,
						 size_t len)
{
	const struct iomt_kdc_aad aad = { c->auth_nonce, IOMT_KDC_BOX_NONCE_LEN, NULL, 0 };
	uint8_t ts[TS_LEN];
	struct iomt_aes128 k;
	int rc;

	if (len != IOMT_KDC_AP_REP_LEN)
		return IOMT_KDC_ERR_MALFORMED;
	iomt_aes128_init(&k, c->sess_key);
	rc = iomt_kdc_box_open(&k, IOMT_KDC_USE_AP_REP, &aad, p, TS_LEN, ts);
	iomt_aes128_wipe(&k);
	/* The service echoes our timestamp; anything else is not its answer. */
	if (!rc && iomt_load_be64(ts) != c->auth_ms)
		rc = IOMT_KDC_ERR_BAD_MAC;
	iomt_wipe(ts, sizeof(ts));
	if (rc)
		return rc;
	iomt_kdc_ap_session(c->sess_key, c->auth_nonce, c->auth_ms, c->session);
	c->state = IOMT_KDC_C_ESTABLISHED;
	return IOMT_KDC_OK;
}

/* An ERR for the request in flight: its code, the state unchanged. */
static int recv_err(const struct iomt_kdc_client *c, const uint8_t *p, size_t len)
{
	const uint8_t *want = c->state == IOMT_KDC_C_AP_SENT ? c->auth_nonce : c->nonce;
	uint8_t code, ref[8];
	uint64_t t;

	if (iomt_kdc_err_parse(p, len, &code, ref, &t) || !iomt_ct_eq(ref, want, sizeof(ref)))
		return IOMT_KDC_ERR_MALFORMED;
	return code;
}

int iomt_kdc_client_recv(struct iomt_kdc_client *c, uint8_t type, const uint8_t *p,
			 size_t len)
{
	int rc;

	if (!c)
		return IOMT_KDC_ERR_MALFORMED;
	if (c->state != IOMT_KDC_C_AS_SENT && c->state != IOMT_KDC_C_TGS_SENT &&
	    c->state != IOMT_KDC_C_AP_SENT)
		return IOMT_KDC_ERR_STATE;
	if (!p)
		return IOMT_KDC_ERR_MALFORMED;
	if (type == IOMT_MSG_KDC_ERR)
		return recv_err(c, p, len);
	switch (c->state) {
	case IOMT_KDC_C_AS_SENT:
		if (type != IOMT_MSG_KDC_AS_REP)
			return IOMT_KDC_ERR_MALFORMED;
		rc = open_rep(c, c->key, IOMT_KDC_USE_AS_PART, iomt_kdc_tgs_name, p, len, c->tgt,
			      c->tgs_key, &c->tgt_issue_ms, &c->tgt_life_s);
		if (!rc)
			c->state = IOMT_KDC_C_HAVE_TGT;
		return rc;
	case IOMT_KDC_C_TGS_SENT:
		if (type != IOMT_MSG_KDC_TGS_REP)
			return IOMT_KDC_ERR_MALFORMED;
		rc = open_rep(c, c->tgs_key, IOMT_KDC_USE_TGS_PART, c->target, p, len, c->ticket,
			      c->sess_key, &c->tkt_issue_ms, &c->tkt_life_s);
		if (!rc)
			c->state = IOMT_KDC_C_HAVE_TICKET;
		return rc;
	default:
		if (type != IOMT_MSG_KDC_AP_REP)
			return IOMT_KDC_ERR_MALFORMED;
		return recv_ap_rep(c, p, len);
	}
}
