/* SPDX-License-Identifier: MIT */
/* AS and TGS decisions (see issue.h). */
#include <string.h>

#include "ct.h"
#include "issue.h"

enum {
	AS_NONCE_AT = IOMT_KDC_NAME_LEN + 4,    /* cname || kvno || nonce */
	TGS_NONCE_AT = IOMT_KDC_NAME_LEN,       /* target || nonce */
};

/* A registered, active principal, or the code saying why not. */
static uint8_t lookup(const struct kdc_table *t, const uint8_t name[IOMT_KDC_NAME_LEN],
		      const struct kdc_principal **p)
{
	*p = kdc_table_find(t, name);
	if (!*p)
		return IOMT_KDC_ERR_UNKNOWN_PRINCIPAL;
	return (*p)->revoked ? IOMT_KDC_ERR_REVOKED : IOMT_KDC_OK;
}

void kdc_issue_as(const struct kdc_issuer *x, const uint8_t *req, size_t len, uint64_t now_ms,
		  const uint8_t rnd[IOMT_KDC_REP_RAND], uint8_t *out, struct kdc_outcome *o)
{
	const struct kdc_principal *c;
	struct iomt_kdc_grant g;
	uint8_t kc[IOMT_KDC_KEY_LEN];
	int r;

	memset(o, 0, sizeof(*o));
	if (len == IOMT_KDC_AS_REQ_LEN)
		memcpy(o->ref, req + AS_NONCE_AT, sizeof(o->ref));
	r = iomt_kdc_as_req_peek(req, len, o->cname, &o->kvno, o->ref);
	if (r) {
		o->code = IOMT_KDC_ERR_MALFORMED;
		return;
	}
	o->code = lookup(x->table, o->cname, &c);
	if (o->code)
		return;
	o->ckind = c->kind;
	memcpy(o->patient, c->patient, sizeof(o->patient));
	/* An old key (rotated since) is refused before any cryptography. */
	if (o->kvno != c->kvno) {
		o->code = IOMT_KDC_ERR_STALE_KEY;
		return;
	}
	memset(&g, 0, sizeof(g));
	g.skey = x->ktgs;
	g.sname = iomt_kdc_tgs_name;
	g.skvno = x->tgs_kvno;
	memcpy(g.cname, c->name, IOMT_KDC_NAME_LEN);
	g.ckind = c->kind;
	memcpy(g.patient, c->patient, IOMT_KDC_NAME_LEN);
	g.now_ms = now_ms;
	g.lifetime_s = x->tgt_life_s;
	iomt_kdc_device_key(x->kkdc, c->name, c->salt, kc);
	o->code = (uint8_t)iomt_kdc_as_reply(kc, req, len, x->skew_ms, &g, rnd, out);
	o->lifetime_s = g.lifetime_s;
	iomt_wipe(kc, sizeof(kc));
}

/* min(ticket_lifetime, what is left of the TGT), in whole seconds. */
static uint32_t ticket_life(const struct kdc_issuer *x, const struct iomt_kdc_ticket_info *tgt,
			    uint64_t now_ms)
{
	uint64_t end = tgt->issue_ms + (uint64_t)tgt->lifetime_s * 1000, left;

	left = end > now_ms ? (end - now_ms) / 1000 : 0;
	return left < x->ticket_life_s ? (uint32_t)left : x->ticket_life_s;
}

static uint8_t tgs_decide(const struct kdc_issuer *x, const struct iomt_kdc_tgs_req *rq,
			  uint64_t now_ms, struct iomt_kdc_grant *g, struct kdc_outcome *o,
			  const struct kdc_principal **sp)
{
	const struct kdc_principal *c, *s;
	uint8_t code = lookup(x->table, rq->tgt.cname, &c);

	/* The TGT proves who asks; the table says whether they still may. */
	if (code)
		return code;
	o->ckind = c->kind;
	/* A TGT from before the client's last key update dies with the old key. */
	if ((int64_t)rq->tgt.issue_ms < c->key_ms)
		return IOMT_KDC_ERR_STALE_KEY;
	code = lookup(x->table, rq->target, &s);
	if (code)
		return code;
	o->skind = s->kind;
	if (iomt_kdc_policy(c->name, c->kind, c->patient, s->name, s->kind, s->patient,
			    o->patient))
		return IOMT_KDC_ERR_POLICY;
	memset(g, 0, sizeof(*g));
	g->sname = s->name;
	g->skvno = s->kvno;
	memcpy(g->cname, c->name, IOMT_KDC_NAME_LEN);
	g->ckind = c->kind;
	memcpy(g->patient, o->patient, IOMT_KDC_NAME_LEN);
	g->now_ms = now_ms;
	g->lifetime_s = ticket_life(x, &rq->tgt, now_ms);
	if (!g->lifetime_s)
		return IOMT_KDC_ERR_EXPIRED;
	*sp = s;
	return IOMT_KDC_OK;
}

void kdc_issue_tgs(const struct kdc_issuer *x, const uint8_t *req, size_t len, uint64_t now_ms,
		   const uint8_t rnd[IOMT_KDC_REP_RAND], uint8_t *out, struct kdc_outcome *o)
{
	const struct kdc_principal *s = NULL;
	struct iomt_kdc_tgs_req rq;
	struct iomt_kdc_grant g;
	uint8_t ks[IOMT_KDC_KEY_LEN];

	memset(o, 0, sizeof(*o));
	if (len != IOMT_KDC_TGS_REQ_LEN) {
		o->code = IOMT_KDC_ERR_MALFORMED;
		return;
	}
	memcpy(o->ref, req + TGS_NONCE_AT, sizeof(o->ref));
	memcpy(o->target, req, IOMT_KDC_NAME_LEN);
	o->code = (uint8_t)iomt_kdc_tgs_req_open(x->ktgs, x->tgs_kvno, req, len, now_ms,
						 x->skew_ms, &rq);
	if (o->code)
		return;
	memcpy(o->cname, rq.tgt.cname, IOMT_KDC_NAME_LEN);
	o->code = tgs_decide(x, &rq, now_ms, &g, o, &s);
	if (!o->code) {
		iomt_kdc_device_key(x->kkdc, s->name, s->salt, ks);
		g.skey = ks;
		o->kvno = s->kvno;
		o->lifetime_s = g.lifetime_s;
		o->code = (uint8_t)iomt_kdc_tgs_reply(&rq, &g, rnd, out);
		iomt_wipe(ks, sizeof(ks));
	}
	iomt_wipe(&rq, sizeof(rq));
}
