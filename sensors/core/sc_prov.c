/* SPDX-License-Identifier: MIT */
/* The first data key from the PPD over the KDC channel (see sc_prov.h). */
#include <string.h>
#include "consent.h"
#include "ct.h"
#include "iomt_err.h"
#include "kchan.h"
#include "sc_prov.h"

enum { RAND_MAX_LEN = IOMT_KCHAN_RAND };

_Static_assert((int)IOMT_KDC_AS_REQ_RAND <= (int)RAND_MAX_LEN &&
	       (int)IOMT_KDC_TGS_REQ_RAND <= (int)RAND_MAX_LEN,
	       "one random buffer for every request");

/* The request of the current step, framed; a resend is a fresh request. */
static int send_step(struct sc *c, struct sc_prov *p, uint64_t unix_ms, uint8_t *out,
		     size_t cap, size_t *out_len)
{
	uint8_t rnd[RAND_MAX_LEN], body[IOMT_PROVISION_REQ_LEN], type = 0;
	size_t n = 0;
	int r;

	if (cap < IOMT_WIRE_HDR_LEN)
		return IOMT_ESIZE;
	if (c->drv->rng(c->ctx, rnd, sizeof(rnd)))
		return SC_ERNG;
	r = IOMT_ESIZE;
	if (p->step == SC_PROV_AS && cap >= IOMT_WIRE_HDR_LEN + IOMT_KDC_AS_REQ_LEN) {
		type = IOMT_MSG_KDC_AS_REQ;
		n = IOMT_KDC_AS_REQ_LEN;
		r = iomt_kdc_client_as_req(&p->kc, unix_ms, rnd, out + IOMT_WIRE_HDR_LEN);
	} else if (p->step == SC_PROV_TGS && cap >= IOMT_WIRE_HDR_LEN + IOMT_KDC_TGS_REQ_LEN) {
		type = IOMT_MSG_KDC_TGS_REQ;
		n = IOMT_KDC_TGS_REQ_LEN;
		r = iomt_kdc_client_tgs_req(&p->kc, p->ppd, unix_ms, rnd, out + IOMT_WIRE_HDR_LEN);
	} else if (p->step == SC_PROV_PPD) {
		type = IOMT_MSG_KCHAN_REQ;
		r = iomt_provision_req_encode(p->kc.cname, &p->want, body);
		if (!r)
			r = iomt_kchan_req_seal(&p->kc, unix_ms, IOMT_KCHAN_OP_PROVISION, body,
						sizeof(body), rnd, out + IOMT_WIRE_HDR_LEN,
						cap - IOMT_WIRE_HDR_LEN, &n, p->session);
	}
	iomt_wipe(rnd, sizeof(rnd));
	if (r)
		return r > 0 ? IOMT_EINVAL : r;	/* a KDC code here is our mistake */
	iomt_wire_put_hdr(out, type, n);
	*out_len = IOMT_WIRE_HDR_LEN + n;
	p->dest = p->step == SC_PROV_PPD ? SC_TO_PPD : SC_TO_KDC;
	p->backoff = 0;
	p->deadline_ms = c->drv->now_ms(c->ctx) + c->conf.timeout_ms;
	return SC_SEND;
}

int sc_prov_start(struct sc *c, struct sc_prov *p, const uint8_t cname[IOMT_KDC_NAME_LEN],
		  uint32_t kvno, const uint8_t key[IOMT_KDC_KEY_LEN],
		  const uint8_t ppd[IOMT_KDC_NAME_LEN], const struct iomt_keytree_conf *want,
		  uint64_t unix_ms, uint8_t *out, size_t cap, size_t *out_len)
{
	struct iomt_keytree_shape sh;
	int r;

	if (!c || !p || !cname || !key || !ppd || !want || !out || !out_len)
		return IOMT_EINVAL;
	if (c->failed)
		return SC_EFAILED;
	memset(p, 0, sizeof(*p));
	r = iomt_keytree_shape(want, &sh);
	if (r)
		return r;
	if (iomt_kdc_client_init(&p->kc, cname, kvno, key))
		return IOMT_EINVAL;
	memcpy(p->ppd, ppd, sizeof(p->ppd));
	p->want = *want;
	p->step = SC_PROV_AS;
	p->attempt = 1;
	return send_step(c, p, unix_ms, out, cap, out_len);
}

static void prov_stop(struct sc_prov *p)
{
	iomt_kdc_client_wipe(&p->kc);
	iomt_wipe(p->session, sizeof(p->session));
	p->step = SC_PROV_IDLE;
}

/* Run number attempt of this step failed: wait, or give up. */
static int prov_backoff(struct sc *c, struct sc_prov *p)
{
	uint8_t rnd[4];

	if (p->attempt > c->conf.retries || c->drv->rng(c->ctx, rnd, sizeof(rnd))) {
		prov_stop(p);
		return p->attempt > c->conf.retries ? SC_ENOANSWER : SC_ERNG;
	}
	p->deadline_ms = c->drv->now_ms(c->ctx) +
			 sc_backoff_ms(c->conf.timeout_ms, p->attempt,
				       (uint32_t)rnd[0] << 24 | (uint32_t)rnd[1] << 16 |
				       (uint32_t)rnd[2] << 8 | rnd[3]);
	p->attempt++;
	p->backoff = 1;
	return SC_OK;
}

/* A KDC_ERR for the request in flight: retry the transient, refuse the rest. */
static int prov_err(struct sc *c, struct sc_prov *p, const uint8_t *pl, size_t n)
{
	uint8_t code, ref[8];
	uint64_t t;
	const uint8_t *want = p->step == SC_PROV_PPD ? p->kc.auth_nonce : p->kc.nonce;

	if (iomt_kdc_err_parse(pl, n, &code, ref, &t) || !iomt_ct_eq(ref, want, sizeof(ref)))
		return SC_IGNORED;
	p->code = code;
	if (code == IOMT_KDC_ERR_BUSY || code == IOMT_KDC_ERR_INTERNAL)
		return prov_backoff(c, p);
	prov_stop(p);
	return SC_EREFUSED;
}

/* The PPD's answer: ours, for our schedule, then stored before any use. */
static int prov_rep(struct sc *c, struct sc_prov *p, const uint8_t *pl, size_t n)
{
	uint8_t st = 0, body[IOMT_PROVISION_REP_LEN + 16], k0[IOMT_KEYTREE_KEY_LEN];
	uint8_t got[IOMT_KEYTREE_CONF_LEN], want[IOMT_KEYTREE_CONF_LEN];
	struct iomt_keytree_meta m;
	size_t blen = 0;
	int r;

	if (iomt_kchan_rep_open(&p->kc, p->session, pl, n, &st, body, sizeof(body), &blen))
		return SC_IGNORED;	/* an attacker's, or another request's */
	p->code = st;
	if (st == IOMT_KCHAN_BUSY || st == IOMT_KCHAN_INTERNAL) {
		iomt_wipe(body, sizeof(body));
		return prov_backoff(c, p);
	}
	r = SC_EREFUSED;
	if (st == IOMT_KCHAN_OK) {
		r = iomt_provision_rep_decode(&m, k0, body, blen) ? IOMT_EMALFORMED : SC_OK;
		if (!r && (iomt_keytree_conf_encode(&m.conf, got) ||
			   iomt_keytree_conf_encode(&p->want, want) ||
			   memcmp(got, want, sizeof(got)) ||
			   memcmp(m.sensor_id, p->kc.cname, IOMT_KEYTREE_ID_LEN)))
			r = IOMT_EMALFORMED;	/* another schedule, or bound to another sensor */
		if (!r)
			r = sc_data_provision(c, &m, k0);
		iomt_wipe(k0, sizeof(k0));
	}
	iomt_wipe(body, sizeof(body));
	prov_stop(p);
	if (!r)
		p->step = SC_PROV_DONE;
	return r ? r : SC_DONE;
}

int sc_prov_input(struct sc *c, struct sc_prov *p, uint64_t unix_ms, const uint8_t *frame,
		  size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
	const uint8_t *pl;
	size_t n;
	uint8_t type;

	if (!c || !p || !frame || !out || !out_len)
		return IOMT_EINVAL;
	if (c->failed)
		return SC_EFAILED;
	if (p->step == SC_PROV_IDLE || p->step == SC_PROV_DONE ||
	    iomt_wire_parse(frame, len, &type, &pl, &n))
		return SC_IGNORED;
	if (type == IOMT_MSG_KDC_ERR)
		return prov_err(c, p, pl, n);
	if (p->step == SC_PROV_PPD)
		return type == IOMT_MSG_KCHAN_REP ? prov_rep(c, p, pl, n) : SC_IGNORED;
	/* AS_REP / TGS_REP: the client's state machine checks type and nonce. */
	if (iomt_kdc_client_recv(&p->kc, type, pl, n))
		return SC_IGNORED;
	p->step = p->step == SC_PROV_AS ? SC_PROV_TGS : SC_PROV_PPD;
	p->attempt = 1;
	return send_step(c, p, unix_ms, out, cap, out_len);
}

int sc_prov_poll(struct sc *c, struct sc_prov *p, uint64_t unix_ms, uint8_t *out, size_t cap,
		 size_t *out_len)
{
	if (!c || !p || !out || !out_len)
		return IOMT_EINVAL;
	if (c->failed)
		return SC_EFAILED;
	if (p->step == SC_PROV_IDLE || p->step == SC_PROV_DONE ||
	    c->drv->now_ms(c->ctx) < p->deadline_ms)
		return SC_OK;
	if (!p->backoff)
		return prov_backoff(c, p);
	return send_step(c, p, unix_ms, out, cap, out_len);
}

void sc_prov_wipe(struct sc_prov *p)
{
	prov_stop(p);
	memset(p, 0, sizeof(*p));
}
