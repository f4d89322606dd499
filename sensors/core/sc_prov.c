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
	uint8_t rnd[RAND_MAX_LEN], *body = out + IOMT_WIRE_HDR_LEN, type = 0;
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
		/* The body is encoded where the request goes: iomt_kchan_req_seal
		 * moves it to its place first (kchan.c), and the stack under it,
		 * the firmware's deepest (issue 8), holds no copy. */
		type = IOMT_MSG_KCHAN_REQ;
		r = cap - IOMT_WIRE_HDR_LEN < IOMT_KCHAN_REQ_OVERHEAD + IOMT_PROVISION_REQ_LEN
			    ? IOMT_KDC_ERR_MALFORMED
			    : iomt_provision_req_encode(p->kc.cname, &p->want, body);
		if (!r)
			r = iomt_kchan_req_seal(&p->kc, unix_ms, IOMT_KCHAN_OP_PROVISION, body,
						IOMT_PROVISION_REQ_LEN, rnd, body,
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

/* 0 for a schedule PROTOCOL.md 6.1 allows; its shape off the request's stack. */
static __attribute__((noinline)) int want_ok(const struct iomt_keytree_conf *want)
{
	struct iomt_keytree_shape sh;

	return iomt_keytree_shape(want, &sh);
}

/* sc_prov_start's setup of p. Not inlined: its frame is then off the stack
 * under the first request (issue 8). */
static __attribute__((noinline)) int prov_setup(struct sc_prov *p,
						const uint8_t cname[IOMT_KDC_NAME_LEN],
						uint32_t kvno, const uint8_t key[IOMT_KDC_KEY_LEN],
						const uint8_t ppd[IOMT_KDC_NAME_LEN],
						const struct iomt_keytree_conf *want)
{
	int r;

	memset(p, 0, sizeof(*p));
	r = want_ok(want);
	if (r)
		return r;
	if (iomt_kdc_client_init(&p->kc, cname, kvno, key))
		return IOMT_EINVAL;
	memcpy(p->ppd, ppd, sizeof(p->ppd));
	p->want = *want;
	p->step = SC_PROV_AS;
	p->attempt = 1;
	return IOMT_OK;
}

int sc_prov_start(struct sc *c, struct sc_prov *p, const uint8_t cname[IOMT_KDC_NAME_LEN],
		  uint32_t kvno, const uint8_t key[IOMT_KDC_KEY_LEN],
		  const uint8_t ppd[IOMT_KDC_NAME_LEN], const struct iomt_keytree_conf *want,
		  uint64_t unix_ms, uint8_t *out, size_t cap, size_t *out_len)
{
	int r;

	if (!c || !p || !cname || !key || !ppd || !want || !out || !out_len)
		return IOMT_EINVAL;
	if (c->failed)
		return SC_EFAILED;
	r = prov_setup(p, cname, kvno, key, ppd, want);
	return r ? r : send_step(c, p, unix_ms, out, cap, out_len);
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
	int r = sc_retry_at(c, p->attempt, &p->deadline_ms);

	if (r) {
		prov_stop(p);
		return r;
	}
	p->attempt++;
	p->backoff = 1;
	return SC_OK;
}

/* A KDC_ERR for the request in flight: retry the transient, refuse the rest.
 * Not inlined, nor are the functions below: their locals would sit on
 * sc_prov_input's stack under every request it sends (issue 8). */
static __attribute__((noinline)) int prov_err(struct sc *c, struct sc_prov *p,
					      const uint8_t *pl, size_t n)
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

/* 0 if m is for our schedule and bound to us. */
static __attribute__((noinline)) int prov_ours(const struct sc_prov *p,
					       const struct iomt_keytree_meta *m)
{
	uint8_t got[IOMT_KEYTREE_CONF_LEN], want[IOMT_KEYTREE_CONF_LEN];

	return iomt_keytree_conf_encode(&m->conf, got) ||
	       iomt_keytree_conf_encode(&p->want, want) || !iomt_ct_eq(got, want, sizeof(got)) ||
	       !iomt_ct_eq(m->sensor_id, p->kc.cname, IOMT_KEYTREE_ID_LEN);
}

enum { PROV_RETRY = 100 };	/* prov_take: BUSY or INTERNAL, back off */

/* An OK answer's body: decoded, ours and for our schedule, then the data
 * key set in c (sc_data_set; prov_rep stores it). IOMT_OK or an error.
 * Apart from prov_take so that m and k0 are not on the stack under the
 * decryption, nor the body under the key's setup (issue 8). */
static __attribute__((noinline)) int prov_set(struct sc *c, const struct sc_prov *p,
					      const uint8_t *body, size_t blen)
{
	uint8_t k0[IOMT_KEYTREE_KEY_LEN];
	struct iomt_keytree_meta m;
	int r = IOMT_EMALFORMED;

	/* Not decoding, another schedule, or bound to another sensor:
	 * malformed. */
	if (!iomt_provision_rep_decode(&m, k0, body, blen) && !prov_ours(p, &m))
		r = sc_data_set(c, &m, k0);
	iomt_wipe(k0, sizeof(k0));
	iomt_wipe(&m, sizeof(m));
	return r;
}

/* The PPD's answer opened (its status into p->code) and, for OK, set in c
 * but not stored: prov_rep stores it with this frame off the stack under
 * the write, the firmware's deepest path (issue 8). SC_IGNORED (not ours:
 * an attacker's, or another request's), PROV_RETRY, an error, or IOMT_OK. */
static __attribute__((noinline)) int prov_take(struct sc *c, struct sc_prov *p,
					       const uint8_t *pl, size_t n)
{
	uint8_t st = 0, body[IOMT_PROVISION_REP_LEN + 16];
	size_t blen = 0;
	int r;

	if (iomt_kchan_rep_open(&p->kc, p->session, pl, n, &st, body, sizeof(body), &blen))
		return SC_IGNORED;
	p->code = st;
	if (st == IOMT_KCHAN_BUSY || st == IOMT_KCHAN_INTERNAL)
		r = PROV_RETRY;
	else if (st != IOMT_KCHAN_OK)
		r = SC_EREFUSED;
	else
		r = prov_set(c, p, body, blen);
	iomt_wipe(body, sizeof(body));
	return r;
}

/* The PPD's answer: ours, for our schedule, then stored before any use. */
static __attribute__((noinline)) int prov_rep(struct sc *c, struct sc_prov *p,
					      const uint8_t *pl, size_t n)
{
	int r = prov_take(c, p, pl, n);

	if (r == SC_IGNORED)
		return r;
	if (r == PROV_RETRY)
		return prov_backoff(c, p);
	if (!r)
		r = sc_persist(c);
	prov_stop(p);
	if (!r)
		p->step = SC_PROV_DONE;
	return r ? r : SC_DONE;
}

enum { PROV_NEXT = 101 };	/* prov_recv: the next step's request is due */

/* A frame for the step in flight: PROV_NEXT when it moved the client on,
 * else sc_prov_input's answer. Not inlined: the parsed frame is then off
 * the stack under the next request (issue 8). */
static __attribute__((noinline)) int prov_recv(struct sc *c, struct sc_prov *p,
					       const uint8_t *frame, size_t len)
{
	const uint8_t *pl;
	size_t n;
	uint8_t type;

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
	return PROV_NEXT;
}

int sc_prov_input(struct sc *c, struct sc_prov *p, uint64_t unix_ms, const uint8_t *frame,
		  size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
	int r;

	if (!c || !p || !frame || !out || !out_len)
		return IOMT_EINVAL;
	if (c->failed)
		return SC_EFAILED;
	r = prov_recv(c, p, frame, len);
	return r == PROV_NEXT ? send_step(c, p, unix_ms, out, cap, out_len) : r;
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
