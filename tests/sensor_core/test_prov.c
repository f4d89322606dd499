/* SPDX-License-Identifier: MIT */
/*
 * sensors/core's first data key (sc_prov.c) against an in-test KDC (AS and
 * TGS) and PPD (AP verify, KCHAN PROVISION) made of lib/kdc.h, lib/kchan.h
 * and lib/consent.h: the whole exchange, the key stored before use and the
 * records opening under PRF(K_master, meta); power lost at every step and at
 * the storing write; lost replies, BUSY, a refusal, and a reply for another
 * schedule (never stored).
 */
#include "harness.h"
#include "../../sensors/core/sc_store.c"
#include "../../sensors/core/sc_agree.c"
#include "../../sensors/core/sc_data.c"
#include "../../sensors/core/sc_prov.c"

/* ---- the fake driver (as in test_core.c) ---- */

struct fake {
	uint8_t slot[2][SC_STATE_LEN];
	int has[2];
	unsigned writes;
	int fail_next;          /* 1: the next write fails, 2: torn half-way */
	uint64_t rng_ctr, now;
};

static int f_rng(void *ctx, uint8_t *out, size_t n)
{
	struct fake *f = ctx;
	uint8_t in[16] = "sc-prov-rng";

	memcpy(in + 8, &f->rng_ctr, sizeof(f->rng_ctr));
	f->rng_ctr++;
	iomt_shake128(in, sizeof(in), out, n);
	return 0;
}

static int f_read(void *ctx, unsigned slot, uint8_t *buf, size_t len)
{
	struct fake *f = ctx;

	if (slot > 1 || len != SC_STATE_LEN || !f->has[slot])
		return -1;
	memcpy(buf, f->slot[slot], len);
	return 0;
}

static int f_write(void *ctx, unsigned slot, const uint8_t *buf, size_t len)
{
	struct fake *f = ctx;
	int fail = f->fail_next;

	f->writes++;
	f->fail_next = 0;
	if (slot > 1 || len != SC_STATE_LEN)
		return -1;
	if (fail) {
		if (fail == 2) {
			memcpy(f->slot[slot], buf, len / 2);
			f->has[slot] = 1;
		}
		return -1;
	}
	memcpy(f->slot[slot], buf, len);
	f->has[slot] = 1;
	return 0;
}

static uint64_t f_now(void *ctx)
{
	return ((struct fake *)ctx)->now;
}

static const struct sc_driver fake_driver = { f_rng, f_read, f_write, f_now };
static const struct sc_conf conf = { .timeout_ms = 300, .retries = 2 };

/* ---- the KDC and the PPD ---- */

enum { UNIX_MS = 1700000000, SKEW_MS = 300000 };

struct world {
	struct fake f;
	struct sc c;
	struct sc_prov p;
	uint8_t sname[16], ppd[16], patient[16];
	uint8_t k_c[16], k_tgs[16], k_ppd[16], k_master[32];
	struct iomt_keytree_conf want, give;  /* asked for; what the PPD provisions */
	uint8_t ppd_status;
	struct iomt_keytree_meta last;        /* the PPD's last meta */
	uint64_t ctr;
};

static void rnd(struct world *w, uint8_t *out, size_t n)
{
	uint8_t in[16] = "prov-world";

	memcpy(in + 8, &w->ctr, 8);
	w->ctr++;
	iomt_shake128(in, sizeof(in), out, n);
}

static uint64_t unix_ms(struct world *w)
{
	return (uint64_t)UNIX_MS * 1000 + w->f.now;
}

static void world_init(struct world *w)
{
	memset(w, 0, sizeof(*w));
	ASSERT_EQ(iomt_kdc_name_from_text(w->sname, "sensor-1"), 0);
	ASSERT_EQ(iomt_kdc_name_from_text(w->ppd, "ppd-alice"), 0);
	ASSERT_EQ(iomt_kdc_name_from_text(w->patient, "alice"), 0);
	rnd(w, w->k_c, 16);
	rnd(w, w->k_tgs, 16);
	rnd(w, w->k_ppd, 16);
	rnd(w, w->k_master, 32);
	w->want.version = IOMT_KEYTREE_CONF_VERSION;
	w->want.epoch_start = UNIX_MS;
	w->want.leaf_period_s = 60;
	w->want.depth = 2;
	w->want.arity[0] = 24;
	w->want.arity[1] = 60;
	w->want.refresh_period_s = 3600;
	w->give = w->want;
	ASSERT_EQ(sc_init(&w->c, &fake_driver, &w->f, &conf), SC_ENOSTATE);
}

/* One request frame -> its answer frame (0 = no answer). */
static size_t serve(struct world *w, const uint8_t *req, size_t len, uint8_t *out, size_t cap)
{
	struct iomt_kdc_grant g;
	struct iomt_kdc_tgs_req tr;
	struct iomt_kdc_ap_result res;
	uint8_t r[IOMT_KDC_REP_RAND], type, op, cname[16], nonce[8], body[128], sid[16];
	uint8_t rep[IOMT_PROVISION_REP_LEN], k0[16], bn[13];
	const uint8_t *pl, *ap, *box;
	size_t n, bl, bodyl;
	uint32_t kvno;

	ASSERT_EQ(iomt_wire_parse(req, len, &type, &pl, &n), 0);
	memset(&g, 0, sizeof(g));
	g.ckind = IOMT_KDC_KIND_SENSOR;
	memcpy(g.patient, w->patient, 16);
	g.now_ms = unix_ms(w);
	g.lifetime_s = 3600;
	rnd(w, r, sizeof(r));
	if (type == IOMT_MSG_KDC_AS_REQ) {
		ASSERT_EQ(iomt_kdc_as_req_peek(pl, n, cname, &kvno, nonce), 0);
		ASSERT_MEMEQ(cname, w->sname, 16);
		g.skey = w->k_tgs;
		g.sname = iomt_kdc_tgs_name;
		g.skvno = 1;
		memcpy(g.cname, cname, 16);
		ASSERT_EQ(iomt_kdc_as_reply(w->k_c, pl, n, SKEW_MS, &g, r, out + 4), 0);
		iomt_wire_put_hdr(out, IOMT_MSG_KDC_AS_REP, IOMT_KDC_AS_REP_LEN);
		return 4 + IOMT_KDC_AS_REP_LEN;
	}
	if (type == IOMT_MSG_KDC_TGS_REQ) {
		ASSERT_EQ(iomt_kdc_tgs_req_open(w->k_tgs, 1, pl, n, unix_ms(w), SKEW_MS, &tr), 0);
		ASSERT_MEMEQ(tr.target, w->ppd, 16);
		g.skey = w->k_ppd;
		g.sname = w->ppd;
		g.skvno = 1;
		memcpy(g.cname, tr.tgt.cname, 16);
		ASSERT_EQ(iomt_kdc_tgs_reply(&tr, &g, r, out + 4), 0);
		iomt_wire_put_hdr(out, IOMT_MSG_KDC_TGS_REP, IOMT_KDC_TGS_REP_LEN);
		return 4 + IOMT_KDC_TGS_REP_LEN;
	}
	ASSERT_EQ(type, IOMT_MSG_KCHAN_REQ);
	ASSERT_EQ(iomt_kchan_req_split(pl, n, &ap, &op, &box, &bl), 0);
	ASSERT_EQ(op, IOMT_KCHAN_OP_PROVISION);
	ASSERT_EQ(iomt_kdc_ap_verify(w->k_ppd, w->ppd, 1, ap, IOMT_KDC_AP_REQ_LEN, unix_ms(w),
				     SKEW_MS, &res), 0);
	ASSERT_EQ(iomt_kchan_req_open(res.session, op, box, bl, body, sizeof(body), &bodyl), 0);
	ASSERT_EQ(iomt_provision_req_decode(sid, &w->last.conf, body, bodyl), 0);
	ASSERT_MEMEQ(sid, w->sname, 16);
	rnd(w, w->last.key_id, 16);
	w->last.conf = w->give;
	memcpy(w->last.sensor_id, sid, 16);
	memcpy(w->last.ppd_id, w->ppd, 16);
	ASSERT_EQ(iomt_keytree_data_key0(w->k_master, &w->last, k0), 0);
	ASSERT_EQ(iomt_provision_rep_encode(&w->last, k0, rep), 0);
	rnd(w, bn, sizeof(bn));
	ASSERT_EQ(iomt_kchan_rep_seal(res.session, res.auth_nonce, w->ppd_status, bn, rep,
				      w->ppd_status ? 0 : sizeof(rep), out + 4, cap - 4, &n), 0);
	iomt_wire_put_hdr(out, IOMT_MSG_KCHAN_REP, n);
	return 4 + n;
}

/* Drives the exchange; drop_at / cut_at: which answer (0 AS, 1 TGS, 2 PPD)
 * is lost, or after which the device reboots. */
static int run(struct world *w, int drop_at, int reboot_at)
{
	uint8_t req[512], rep[512];
	size_t n, m;
	int r, i, step = 0, guard = 0;

	r = sc_prov_start(&w->c, &w->p, w->sname, 1, w->k_c, w->ppd, &w->want, unix_ms(w), req,
			  sizeof(req), &n);
	while (r == SC_SEND || r == SC_OK) {
		ASSERT_LT(guard++, 30);
		if (r == SC_OK) {	/* backing off: the timer */
			w->f.now = w->p.deadline_ms;
			r = sc_prov_poll(&w->c, &w->p, unix_ms(w), req, sizeof(req), &n);
			continue;
		}
		ASSERT_EQ(w->p.dest, step < 2 ? SC_TO_KDC : SC_TO_PPD);
		m = serve(w, req, n, rep, sizeof(rep));
		if (step == reboot_at) {
			sc_prov_wipe(&w->p);
			return -1;
		}
		if (step == drop_at) {
			drop_at = -1;
			r = SC_OK;	/* no answer: time out, back off, resend */
			for (i = 0; i < 2 && r != SC_SEND; i++) {
				w->f.now = w->p.deadline_ms;
				r = sc_prov_poll(&w->c, &w->p, unix_ms(w), req, sizeof(req), &n);
				ASSERT_TRUE(r == SC_OK || r == SC_SEND);
			}
			/* the late answer to the old request is ignored */
			ASSERT_EQ(sc_prov_input(&w->c, &w->p, unix_ms(w), rep, m, req,
						sizeof(req), &n), SC_IGNORED);
			ASSERT_EQ(r, SC_SEND);
			continue;
		}
		r = sc_prov_input(&w->c, &w->p, unix_ms(w), rep, m, req, sizeof(req), &n);
		if (r == SC_SEND)
			step++;
	}
	return r;
}

/* A record sealed now opens under the key the PPD derives from K_master. */
static void check_key(struct world *w)
{
	struct iomt_keytree_node node;
	struct iomt_record_hdr h;
	uint8_t rec[128], out[16], kd[16], ke[16];
	size_t n, dn;
	uint64_t t = UNIX_MS + 7200 + 30;

	ASSERT_EQ(sc_data_seal(&w->c, t, (const uint8_t *)"hr=72", 5, rec, sizeof(rec), &n, &h),
		  SC_OK);
	ASSERT_EQ(h.epoch, 2);
	ASSERT_EQ(iomt_keytree_data_key0(w->k_master, &w->last, kd), 0);
	ASSERT_EQ(iomt_keytree_data_key(&w->last.conf, kd, h.epoch, kd), 0);
	ASSERT_EQ(iomt_keytree_node_of(&w->last.conf, h.leaf, 2, &node), 0);
	ASSERT_EQ(iomt_keytree_node_key(&w->last.conf, h.epoch, kd, &node, ke), 0);
	ASSERT_EQ(iomt_record_open(ke, rec, n, &h, out, sizeof(out), &dn), 0);
	ASSERT_MEMEQ(out, "hr=72", 5);
}

static void reboot(struct world *w, int want)
{
	sc_wipe(&w->c);
	ASSERT_EQ(sc_init(&w->c, &fake_driver, &w->f, &conf), want);
}

TEST(provision_then_seal_after_reboot)
{
	static struct world w;

	world_init(&w);
	ASSERT_EQ(run(&w, -1, -1), SC_DONE);
	ASSERT_EQ(w.f.writes, 1);
	ASSERT_EQ(w.p.step, SC_PROV_DONE);
	ASSERT_TRUE(iomt_ct_is_zero(w.p.kc.key, 16));	/* K_C wiped from the run */
	reboot(&w, SC_OK);
	ASSERT_MEMEQ(w.c.meta.key_id, w.last.key_id, 16);
	check_key(&w);
}

/* Power lost after each answer, and at the storing write (clean or torn):
 * no key until stored, then a fresh run succeeds. */
TEST(provision_power_cut_every_step_and_write)
{
	static struct world w;
	int at, mode;
	uint8_t rec[128];
	size_t n;
	struct iomt_record_hdr h;

	for (at = 0; at < 3; at++) {
		world_init(&w);
		ASSERT_EQ(run(&w, -1, at), -1);
		reboot(&w, SC_ENOSTATE);
		ASSERT_EQ(sc_data_seal(&w.c, UNIX_MS, (const uint8_t *)"x", 1, rec, sizeof(rec),
				       &n, &h), SC_ENOSTATE);
		ASSERT_EQ(run(&w, -1, -1), SC_DONE);
		reboot(&w, SC_OK);
		check_key(&w);
	}
	for (mode = 1; mode <= 2; mode++) {
		world_init(&w);
		w.f.fail_next = mode;
		ASSERT_EQ(run(&w, -1, -1), SC_ESTORE);
		ASSERT_FALSE(w.c.has_data);
		ASSERT_EQ(sc_data_seal(&w.c, UNIX_MS, (const uint8_t *)"x", 1, rec, sizeof(rec),
				       &n, &h), SC_EFAILED);
		reboot(&w, SC_ENOSTATE);
		ASSERT_EQ(run(&w, -1, -1), SC_DONE);
		reboot(&w, SC_OK);
		check_key(&w);
	}
}

TEST(provision_lost_answers_retried)
{
	static struct world w;
	int at;

	for (at = 0; at < 3; at++) {
		world_init(&w);
		TH_LOG("answer %d lost", at);
		ASSERT_EQ(run(&w, at, -1), SC_DONE);
		reboot(&w, SC_OK);
		check_key(&w);
	}
}

TEST(provision_refused_or_wrong_schedule_not_stored)
{
	static struct world w;

	world_init(&w);
	w.ppd_status = IOMT_KCHAN_DENIED;
	ASSERT_EQ(run(&w, -1, -1), SC_EREFUSED);
	ASSERT_EQ(w.p.code, IOMT_KCHAN_DENIED);
	ASSERT_EQ(w.f.writes, 0);
	world_init(&w);
	w.give.leaf_period_s = 30;
	w.give.refresh_period_s = 1800;
	ASSERT_EQ(run(&w, -1, -1), IOMT_EMALFORMED);
	ASSERT_EQ(w.f.writes, 0);
	ASSERT_FALSE(w.c.has_data);
}

/* KDC_ERR BUSY for our request backs off; one for another nonce is ignored;
 * no answer at all ends in SC_ENOANSWER. */
TEST(provision_kdc_busy_and_no_answer)
{
	static struct world w;
	uint8_t req[512], ef[4 + IOMT_KDC_ERR_LEN], other[8] = { 9 };
	size_t n;
	int r, sent = 1;

	world_init(&w);
	ASSERT_EQ(sc_prov_start(&w.c, &w.p, w.sname, 1, w.k_c, w.ppd, &w.want, unix_ms(&w), req,
				sizeof(req), &n), SC_SEND);
	iomt_wire_put_hdr(ef, IOMT_MSG_KDC_ERR, IOMT_KDC_ERR_LEN);
	iomt_kdc_err_build(IOMT_KDC_ERR_REVOKED, other, unix_ms(&w), ef + 4);
	ASSERT_EQ(sc_prov_input(&w.c, &w.p, unix_ms(&w), ef, sizeof(ef), req, sizeof(req), &n),
		  SC_IGNORED);
	iomt_kdc_err_build(IOMT_KDC_ERR_BUSY, w.p.kc.nonce, unix_ms(&w), ef + 4);
	ASSERT_EQ(sc_prov_input(&w.c, &w.p, unix_ms(&w), ef, sizeof(ef), req, sizeof(req), &n),
		  SC_OK);
	for (;;) {
		w.f.now = w.p.deadline_ms;
		r = sc_prov_poll(&w.c, &w.p, unix_ms(&w), req, sizeof(req), &n);
		if (r == SC_SEND)
			sent++;
		else if (r != SC_OK)
			break;
	}
	ASSERT_EQ(r, SC_ENOANSWER);
	ASSERT_EQ(sent, (int)conf.retries + 1);
	/* a refusal with our nonce ends the run */
	ASSERT_EQ(sc_prov_start(&w.c, &w.p, w.sname, 1, w.k_c, w.ppd, &w.want, unix_ms(&w), req,
				sizeof(req), &n), SC_SEND);
	iomt_kdc_err_build(IOMT_KDC_ERR_REVOKED, w.p.kc.nonce, unix_ms(&w), ef + 4);
	ASSERT_EQ(sc_prov_input(&w.c, &w.p, unix_ms(&w), ef, sizeof(ef), req, sizeof(req), &n),
		  SC_EREFUSED);
	ASSERT_EQ(w.p.code, IOMT_KDC_ERR_REVOKED);
}
