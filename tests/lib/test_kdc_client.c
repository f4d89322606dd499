/* SPDX-License-Identifier: MIT */
/*
 * lib/kdc's client state machine: every call in every state, every frame type
 * in every waiting state, ERR frames (ours, others', malformed), retries,
 * expiry, and what each transition forgets. A refused call leaves the
 * client byte for byte as it was.
 */
#include "harness.h"
#include "testutil.h"
#include "kdc.h"
#include "wire.h"
#include "ct.h"

enum { SKEW = 300000, LIFE_TGT = 36000, LIFE_TKT = 3600, N = IOMT_KDC_NAME_LEN };
static const uint64_t T0 = 1767225600000ULL;

struct world {
	struct tu_rng rng;
	uint8_t cname[N], sname[N], patient[N], kc[16], ks[16], ktgs[16];
	struct iomt_kdc_client c;
	uint8_t as_req[IOMT_KDC_AS_REQ_LEN], as_rep[IOMT_KDC_AS_REP_LEN];
	uint8_t tgs_req[IOMT_KDC_TGS_REQ_LEN], tgs_rep[IOMT_KDC_TGS_REP_LEN];
	uint8_t ap_req[IOMT_KDC_AP_REQ_LEN], ap_rep[IOMT_KDC_AP_REP_LEN];
};

static void world_init(struct world *w, uint64_t seed)
{
	memset(w, 0, sizeof(*w));
	w->rng.s = seed;
	tu_fill(&w->rng, w->kc, 16);
	tu_fill(&w->rng, w->ks, 16);
	tu_fill(&w->rng, w->ktgs, 16);
	ASSERT_EQ(iomt_kdc_name_from_text(w->cname, "ppd-3"), IOMT_KDC_OK);
	ASSERT_EQ(iomt_kdc_name_from_text(w->sname, "sensor-9"), IOMT_KDC_OK);
	ASSERT_EQ(iomt_kdc_name_from_text(w->patient, "p-1"), IOMT_KDC_OK);
	ASSERT_EQ(iomt_kdc_client_init(&w->c, w->cname, 4, w->kc), IOMT_KDC_OK);
	ASSERT_EQ(w->c.state, IOMT_KDC_C_IDLE);
}

static struct iomt_kdc_grant grant(const struct world *w, int tgt, uint64_t now)
{
	struct iomt_kdc_grant g = { tgt ? w->ktgs : w->ks, tgt ? iomt_kdc_tgs_name : w->sname,
				    tgt ? 1 : 2, { 0 }, IOMT_KDC_KIND_PPD, { 0 }, now,
				    tgt ? LIFE_TGT : LIFE_TKT };

	memcpy(g.cname, w->cname, N);
	memcpy(g.patient, w->patient, N);
	return g;
}

/* Requests (client) and replies (KDC, service) at time t. */
static void as_req(struct world *w, uint64_t t)
{
	uint8_t rnd[IOMT_KDC_AS_REQ_RAND];

	tu_fill(&w->rng, rnd, sizeof(rnd));
	ASSERT_EQ(iomt_kdc_client_as_req(&w->c, t, rnd, w->as_req), IOMT_KDC_OK);
	ASSERT_EQ(w->c.state, IOMT_KDC_C_AS_SENT);
}

static void as_rep(struct world *w, uint64_t t)
{
	uint8_t rnd[IOMT_KDC_REP_RAND];
	struct iomt_kdc_grant g = grant(w, 1, t);

	tu_fill(&w->rng, rnd, sizeof(rnd));
	ASSERT_EQ(iomt_kdc_as_reply(w->kc, w->as_req, sizeof(w->as_req), SKEW, &g, rnd, w->as_rep),
		  IOMT_KDC_OK);
}

static void tgs_req(struct world *w, uint64_t t)
{
	uint8_t rnd[IOMT_KDC_TGS_REQ_RAND];

	tu_fill(&w->rng, rnd, sizeof(rnd));
	ASSERT_EQ(iomt_kdc_client_tgs_req(&w->c, w->sname, t, rnd, w->tgs_req), IOMT_KDC_OK);
	ASSERT_EQ(w->c.state, IOMT_KDC_C_TGS_SENT);
}

static void tgs_rep(struct world *w, uint64_t t)
{
	uint8_t rnd[IOMT_KDC_REP_RAND];
	struct iomt_kdc_tgs_req r;
	struct iomt_kdc_grant g = grant(w, 0, t);

	ASSERT_EQ(iomt_kdc_tgs_req_open(w->ktgs, 1, w->tgs_req, sizeof(w->tgs_req), t, SKEW, &r),
		  IOMT_KDC_OK);
	tu_fill(&w->rng, rnd, sizeof(rnd));
	ASSERT_EQ(iomt_kdc_tgs_reply(&r, &g, rnd, w->tgs_rep), IOMT_KDC_OK);
}

static void ap_req(struct world *w, uint64_t t)
{
	uint8_t rnd[IOMT_KDC_AP_REQ_RAND];

	tu_fill(&w->rng, rnd, sizeof(rnd));
	ASSERT_EQ(iomt_kdc_client_ap_req(&w->c, t, rnd, w->ap_req), IOMT_KDC_OK);
	ASSERT_EQ(w->c.state, IOMT_KDC_C_AP_SENT);
}

static void ap_rep(struct world *w, uint64_t t)
{
	uint8_t rnd[IOMT_KDC_AP_REP_RAND];
	struct iomt_kdc_ap_result r;

	ASSERT_EQ(iomt_kdc_ap_verify(w->ks, w->sname, 2, w->ap_req, sizeof(w->ap_req), t, SKEW,
				     &r), IOMT_KDC_OK);
	tu_fill(&w->rng, rnd, sizeof(rnd));
	ASSERT_EQ(iomt_kdc_ap_reply(&r, rnd, w->ap_rep), IOMT_KDC_OK);
}

static void recv_ok(struct world *w, uint8_t type, const uint8_t *p, size_t len, uint8_t want)
{
	ASSERT_EQ(iomt_kdc_client_recv(&w->c, type, p, len), IOMT_KDC_OK);
	ASSERT_EQ(w->c.state, want);
}

/* Drives a fresh client to state s (every state is reachable). */
static void reach(struct world *w, uint8_t s, uint64_t seed)
{
	world_init(w, seed);
	if (s == IOMT_KDC_C_IDLE)
		return;
	as_req(w, T0);
	if (s == IOMT_KDC_C_AS_SENT)
		return;
	as_rep(w, T0);
	recv_ok(w, IOMT_MSG_KDC_AS_REP, w->as_rep, sizeof(w->as_rep), IOMT_KDC_C_HAVE_TGT);
	if (s == IOMT_KDC_C_HAVE_TGT)
		return;
	tgs_req(w, T0 + 100);
	if (s == IOMT_KDC_C_TGS_SENT)
		return;
	tgs_rep(w, T0 + 100);
	recv_ok(w, IOMT_MSG_KDC_TGS_REP, w->tgs_rep, sizeof(w->tgs_rep), IOMT_KDC_C_HAVE_TICKET);
	if (s == IOMT_KDC_C_HAVE_TICKET)
		return;
	ap_req(w, T0 + 200);
	if (s == IOMT_KDC_C_AP_SENT)
		return;
	ap_rep(w, T0 + 200);
	recv_ok(w, IOMT_MSG_KDC_AP_REP, w->ap_rep, sizeof(w->ap_rep), IOMT_KDC_C_ESTABLISHED);
}

enum { NSTATES = IOMT_KDC_C_ESTABLISHED + 1 };

/* The reply each state waits for, or 0. */
static uint8_t awaited(uint8_t s)
{
	switch (s) {
	case IOMT_KDC_C_AS_SENT: return IOMT_MSG_KDC_AS_REP;
	case IOMT_KDC_C_TGS_SENT: return IOMT_MSG_KDC_TGS_REP;
	case IOMT_KDC_C_AP_SENT: return IOMT_MSG_KDC_AP_REP;
	}
	return 0;
}

TEST(init_validates_and_wiped_client_is_idle_without_name)
{
	struct iomt_kdc_client c;
	uint8_t nm[N] = { 0 }, key[16] = { 1 }, out[IOMT_KDC_AS_REQ_LEN], rnd[21] = { 0 };

	memset(&c, 0x77, sizeof(c));
	ASSERT_EQ(iomt_kdc_client_init(&c, nm, 1, key), IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(iomt_kdc_client_init(&c, iomt_kdc_tgs_name, 1, key), IOMT_KDC_ERR_MALFORMED);
	nm[0] = 'a';
	nm[5] = 'b';
	ASSERT_EQ(iomt_kdc_client_init(&c, nm, 1, key), IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(iomt_kdc_client_init(NULL, nm, 1, key), IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(iomt_kdc_client_init(&c, nm, 1, NULL), IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(((uint8_t *)&c)[0], 0x77);	/* refused: untouched */
	nm[5] = 0;
	ASSERT_EQ(iomt_kdc_client_init(&c, nm, 1, key), IOMT_KDC_OK);
	ASSERT_EQ(c.state, IOMT_KDC_C_IDLE);
	ASSERT_TRUE(iomt_ct_is_zero(c.tgt, sizeof(c.tgt)));
	iomt_kdc_client_wipe(&c);
	ASSERT_TRUE(iomt_ct_is_zero(&c, sizeof(c)));
	ASSERT_EQ(iomt_kdc_client_as_req(&c, T0, rnd, out), IOMT_KDC_ERR_STATE);
	iomt_kdc_client_wipe(NULL);
}

/* recv only in AS_SENT, TGS_SENT, AP_SENT; STATE elsewhere, nothing changed. */
TEST(recv_outside_waiting_states_is_state)
{
	static struct world w;
	struct iomt_kdc_client before;
	uint8_t junk[200] = { 0 };

	for (uint8_t s = 0; s < NSTATES; s++) {
		if (awaited(s))
			continue;
		reach(&w, s, 10 + s);
		before = w.c;
		for (unsigned type = 0; type < 256; type++) {
			size_t len = iomt_wire_fixed_len((uint8_t)type);

			len = len == (size_t)-1 || len > sizeof(junk) ? 17 : len;
			ASSERT_EQ(iomt_kdc_client_recv(&w.c, (uint8_t)type, junk, len),
				  IOMT_KDC_ERR_STATE);
		}
		ASSERT_MEMEQ(&w.c, &before, sizeof(before));
	}
}

/* In a waiting state every type but the awaited reply and ERR is MALFORMED,
 * and so is the awaited reply with any other size. */
TEST(unexpected_types_and_sizes_are_malformed)
{
	static struct world w;
	struct iomt_kdc_client before;
	static uint8_t buf[400];

	for (uint8_t s = 0; s < NSTATES; s++) {
		uint8_t want = awaited(s);
		const uint8_t *rep;
		size_t rlen;

		if (!want)
			continue;
		reach(&w, s, 20 + s);
		before = w.c;
		for (unsigned type = 0; type < 256; type++) {
			if (type == want || type == IOMT_MSG_KDC_ERR)
				continue;
			ASSERT_EQ(iomt_kdc_client_recv(&w.c, (uint8_t)type, buf, 167),
				  IOMT_KDC_ERR_MALFORMED);
		}
		/* the real reply, one byte short and one long */
		if (s == IOMT_KDC_C_AS_SENT) {
			as_rep(&w, T0);
			rep = w.as_rep;
			rlen = sizeof(w.as_rep);
		} else if (s == IOMT_KDC_C_TGS_SENT) {
			tgs_rep(&w, T0 + 100);
			rep = w.tgs_rep;
			rlen = sizeof(w.tgs_rep);
		} else {
			ap_rep(&w, T0 + 200);
			rep = w.ap_rep;
			rlen = sizeof(w.ap_rep);
		}
		memcpy(buf, rep, rlen);
		ASSERT_EQ(iomt_kdc_client_recv(&w.c, want, buf, rlen - 1), IOMT_KDC_ERR_MALFORMED);
		ASSERT_EQ(iomt_kdc_client_recv(&w.c, want, buf, rlen + 1), IOMT_KDC_ERR_MALFORMED);
		ASSERT_EQ(iomt_kdc_client_recv(&w.c, want, NULL, rlen), IOMT_KDC_ERR_MALFORMED);
		ASSERT_MEMEQ(&w.c, &before, sizeof(before));
		ASSERT_EQ(iomt_kdc_client_recv(&w.c, want, buf, rlen), IOMT_KDC_OK);
	}
}

/* ERR: ours returns its code (state unchanged: retry or give up); another
 * request's, a wrong size or a code a peer never sends is MALFORMED. */
TEST(err_frames_in_every_waiting_state)
{
	static struct world w;
	struct iomt_kdc_client before;
	uint8_t e[IOMT_KDC_ERR_LEN + 1], ref[8];

	for (uint8_t s = 0; s < NSTATES; s++) {
		if (!awaited(s))
			continue;
		reach(&w, s, 30 + s);
		memcpy(ref, s == IOMT_KDC_C_AP_SENT ? w.c.auth_nonce : w.c.nonce, 8);
		before = w.c;
		for (uint8_t code = IOMT_KDC_ERR_UNKNOWN_PRINCIPAL; code <= IOMT_KDC_ERR_INTERNAL;
		     code++) {
			iomt_kdc_err_build(code, ref, T0 + 5, e);
			ASSERT_EQ(iomt_kdc_client_recv(&w.c, IOMT_MSG_KDC_ERR, e, 17), code);
		}
		iomt_kdc_err_build(IOMT_KDC_ERR_BUSY, ref, T0, e);
		for (size_t i = 1; i < 9; i++) {	/* another request's ref */
			e[i] ^= 1;
			ASSERT_EQ(iomt_kdc_client_recv(&w.c, IOMT_MSG_KDC_ERR, e, 17),
				  IOMT_KDC_ERR_MALFORMED);
			e[i] ^= 1;
		}
		ASSERT_EQ(iomt_kdc_client_recv(&w.c, IOMT_MSG_KDC_ERR, e, 16), IOMT_KDC_ERR_MALFORMED);
		ASSERT_EQ(iomt_kdc_client_recv(&w.c, IOMT_MSG_KDC_ERR, e, 18), IOMT_KDC_ERR_MALFORMED);
		e[0] = IOMT_KDC_OK;
		ASSERT_EQ(iomt_kdc_client_recv(&w.c, IOMT_MSG_KDC_ERR, e, 17), IOMT_KDC_ERR_MALFORMED);
		e[0] = IOMT_KDC_ERR_STATE;
		ASSERT_EQ(iomt_kdc_client_recv(&w.c, IOMT_MSG_KDC_ERR, e, 17), IOMT_KDC_ERR_MALFORMED);
		ASSERT_MEMEQ(&w.c, &before, sizeof(before));
	}
	/* in AP_SENT the ref is the authenticator's box nonce, not the TGS nonce */
	reach(&w, IOMT_KDC_C_AP_SENT, 39);
	iomt_kdc_err_build(IOMT_KDC_ERR_REPLAY, w.c.nonce, T0, e);
	ASSERT_EQ(iomt_kdc_client_recv(&w.c, IOMT_MSG_KDC_ERR, e, 17), IOMT_KDC_ERR_MALFORMED);
}

/* tgs_req from any state holding a TGT; ap_req from any holding a ticket. */
TEST(request_calls_in_every_state)
{
	static struct world w;
	struct iomt_kdc_client before;
	uint8_t rnd[21] = { 3 }, out[IOMT_KDC_TGS_REQ_LEN];

	for (uint8_t s = 0; s < NSTATES; s++) {
		int tgs_ok = s >= IOMT_KDC_C_HAVE_TGT, ap_ok = s >= IOMT_KDC_C_HAVE_TICKET &&
							    s != IOMT_KDC_C_TGS_SENT;

		reach(&w, s, 40 + s);
		before = w.c;
		if (!tgs_ok) {
			ASSERT_EQ(iomt_kdc_client_tgs_req(&w.c, w.sname, T0 + 300, rnd, out),
				  IOMT_KDC_ERR_STATE);
			ASSERT_MEMEQ(&w.c, &before, sizeof(before));
		}
		if (!ap_ok) {
			ASSERT_EQ(iomt_kdc_client_ap_req(&w.c, T0 + 300, rnd, out),
				  IOMT_KDC_ERR_STATE);
			ASSERT_MEMEQ(&w.c, &before, sizeof(before));
		}
		if (ap_ok) {
			ASSERT_EQ(iomt_kdc_client_ap_req(&w.c, T0 + 300, rnd, out), IOMT_KDC_OK);
			ASSERT_EQ(w.c.state, IOMT_KDC_C_AP_SENT);
			ASSERT_TRUE(iomt_ct_is_zero(w.c.session, sizeof(w.c.session)));
		}
		if (tgs_ok) {
			ASSERT_EQ(iomt_kdc_client_tgs_req(&w.c, w.sname, T0 + 300, rnd, out),
				  IOMT_KDC_OK);
			ASSERT_EQ(w.c.state, IOMT_KDC_C_TGS_SENT);
			/* the old ticket and session are forgotten */
			ASSERT_TRUE(iomt_ct_is_zero(w.c.ticket, sizeof(w.c.ticket)));
			ASSERT_TRUE(iomt_ct_is_zero(w.c.sess_key, sizeof(w.c.sess_key)));
			ASSERT_TRUE(iomt_ct_is_zero(w.c.session, sizeof(w.c.session)));
			ASSERT_FALSE(iomt_ct_is_zero(w.c.tgs_key, sizeof(w.c.tgs_key)));
		}
		/* as_req from anywhere: a new TGT, everything else forgotten */
		ASSERT_EQ(iomt_kdc_client_as_req(&w.c, T0 + 400, rnd, out), IOMT_KDC_OK);
		ASSERT_EQ(w.c.state, IOMT_KDC_C_AS_SENT);
		ASSERT_TRUE(iomt_ct_is_zero(w.c.tgt, sizeof(w.c.tgt)));
		ASSERT_TRUE(iomt_ct_is_zero(w.c.tgs_key, sizeof(w.c.tgs_key)));
		ASSERT_TRUE(iomt_ct_is_zero(w.c.sess_key, sizeof(w.c.sess_key)));
		ASSERT_MEMEQ(w.c.key, w.kc, 16);
	}
}

TEST(invalid_target_is_malformed)
{
	static struct world w;
	struct iomt_kdc_client before;
	uint8_t rnd[21] = { 0 }, out[IOMT_KDC_TGS_REQ_LEN], bad[N] = { 0 };

	reach(&w, IOMT_KDC_C_HAVE_TGT, 50);
	before = w.c;
	ASSERT_EQ(iomt_kdc_client_tgs_req(&w.c, bad, T0, rnd, out), IOMT_KDC_ERR_MALFORMED);
	bad[0] = ' ';
	ASSERT_EQ(iomt_kdc_client_tgs_req(&w.c, bad, T0, rnd, out), IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(iomt_kdc_client_tgs_req(&w.c, NULL, T0, rnd, out), IOMT_KDC_ERR_MALFORMED);
	ASSERT_MEMEQ(&w.c, &before, sizeof(before));
}

/* The client knows its TGT's and ticket's ends (from the enc parts). */
TEST(expired_tgt_and_ticket)
{
	static struct world w;
	struct iomt_kdc_client before;
	uint8_t rnd[21] = { 0 }, out[IOMT_KDC_TGS_REQ_LEN];
	uint64_t tgt_end = T0 + (uint64_t)LIFE_TGT * 1000, tkt_end = T0 + 100 +
								     (uint64_t)LIFE_TKT * 1000;

	reach(&w, IOMT_KDC_C_HAVE_TICKET, 60);
	before = w.c;
	ASSERT_EQ(iomt_kdc_client_ap_req(&w.c, tkt_end + 1, rnd, out), IOMT_KDC_ERR_EXPIRED);
	ASSERT_EQ(iomt_kdc_client_tgs_req(&w.c, w.sname, tgt_end + 1, rnd, out),
		  IOMT_KDC_ERR_EXPIRED);
	ASSERT_MEMEQ(&w.c, &before, sizeof(before));
	ASSERT_EQ(iomt_kdc_client_ap_req(&w.c, tkt_end, rnd, out), IOMT_KDC_OK);
	ASSERT_EQ(iomt_kdc_client_tgs_req(&w.c, w.sname, tgt_end, rnd, out), IOMT_KDC_OK);
}

/* A retry (new nonce) makes the first request's reply useless; the retry's
 * reply is accepted. The same for AS, TGS and AP. */
TEST(retries_bind_to_the_latest_request)
{
	static struct world w;
	uint8_t old[IOMT_KDC_AS_REP_LEN];

	reach(&w, IOMT_KDC_C_AS_SENT, 70);
	as_rep(&w, T0);
	memcpy(old, w.as_rep, sizeof(w.as_rep));
	as_req(&w, T0 + 50);
	ASSERT_EQ(iomt_kdc_client_recv(&w.c, IOMT_MSG_KDC_AS_REP, old, 167), IOMT_KDC_ERR_BAD_MAC);
	as_rep(&w, T0 + 50);
	recv_ok(&w, IOMT_MSG_KDC_AS_REP, w.as_rep, 167, IOMT_KDC_C_HAVE_TGT);

	tgs_req(&w, T0 + 100);
	tgs_rep(&w, T0 + 100);
	memcpy(old, w.tgs_rep, sizeof(w.tgs_rep));
	tgs_req(&w, T0 + 150);	/* retry from TGS_SENT */
	ASSERT_EQ(iomt_kdc_client_recv(&w.c, IOMT_MSG_KDC_TGS_REP, old, 167), IOMT_KDC_ERR_BAD_MAC);
	tgs_rep(&w, T0 + 150);
	recv_ok(&w, IOMT_MSG_KDC_TGS_REP, w.tgs_rep, 167, IOMT_KDC_C_HAVE_TICKET);

	ap_req(&w, T0 + 200);
	ap_rep(&w, T0 + 200);
	memcpy(old, w.ap_rep, sizeof(w.ap_rep));
	ap_req(&w, T0 + 250);	/* retry from AP_SENT */
	ASSERT_EQ(iomt_kdc_client_recv(&w.c, IOMT_MSG_KDC_AP_REP, old, 37), IOMT_KDC_ERR_BAD_MAC);
	ap_rep(&w, T0 + 250);
	recv_ok(&w, IOMT_MSG_KDC_AP_REP, w.ap_rep, 37, IOMT_KDC_C_ESTABLISHED);
}

/* A TGS_REP for another target (a ticket naming another service). */
TEST(tgs_rep_for_other_target_is_wrong_principal)
{
	static struct world w;
	struct iomt_kdc_client before;

	reach(&w, IOMT_KDC_C_TGS_SENT, 80);
	tgs_rep(&w, T0 + 100);
	ASSERT_EQ(iomt_kdc_name_from_text(w.c.target, "sensor-8"), IOMT_KDC_OK);
	before = w.c;
	ASSERT_EQ(iomt_kdc_client_recv(&w.c, IOMT_MSG_KDC_TGS_REP, w.tgs_rep, 167),
		  IOMT_KDC_ERR_WRONG_PRINCIPAL);
	ASSERT_MEMEQ(&w.c, &before, sizeof(before));
}

/* Replies after the state moved on: an AS_REP once we have the TGT, a
 * duplicated AP_REP once established. */
TEST(late_and_duplicate_replies)
{
	static struct world w;
	struct iomt_kdc_client before;

	reach(&w, IOMT_KDC_C_ESTABLISHED, 90);
	before = w.c;
	ASSERT_EQ(iomt_kdc_client_recv(&w.c, IOMT_MSG_KDC_AP_REP, w.ap_rep, 37),
		  IOMT_KDC_ERR_STATE);
	ASSERT_EQ(iomt_kdc_client_recv(&w.c, IOMT_MSG_KDC_AS_REP, w.as_rep, 167),
		  IOMT_KDC_ERR_STATE);
	ASSERT_MEMEQ(&w.c, &before, sizeof(before));
	tgs_req(&w, T0 + 300);
	ASSERT_EQ(iomt_kdc_client_recv(&w.c, IOMT_MSG_KDC_AS_REP, w.as_rep, 167),
		  IOMT_KDC_ERR_MALFORMED);
	ASSERT_EQ(iomt_kdc_client_recv(&w.c, IOMT_MSG_KDC_TGS_REP, w.tgs_rep, 167),
		  IOMT_KDC_ERR_BAD_MAC);	/* the earlier request's reply */
}
