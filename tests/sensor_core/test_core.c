/* SPDX-License-Identifier: MIT */
/*
 * sensors/core against a fake driver whose storage can lose power at any
 * write (cleanly, or with the slot torn half-way) and an in-test MEC + TTP
 * made of lib/seed002's functions, the TTP keeping each party's current and
 * previous identity (PROTOCOL.md §3.4). For every k, power is cut at write k
 * of agreements, key refreshes and record sealing, the core is rebooted from
 * storage, and then: the next agreement succeeds with device, MEC and TTP on
 * one SK, and no (epoch, leaf, seq) nor R1 ever repeats. A write that fails
 * gives a clear error and no key use. The core's .c files are included here,
 * as WireGuard's fuzzers include the parser they test.
 */
#include <stdlib.h>
#include "harness.h"
#include "../../sensors/core/sc_store.c"
#include "../../sensors/core/sc_agree.c"
#include "../../sensors/core/sc_data.c"
#include "recbatch.h"

/* ---- the fake driver ---- */

enum { CUT_NONE = 0, CUT_FAIL, CUT_TORN };

struct fake {
	uint8_t slot[2][SC_STATE_LEN];
	int has[2];
	unsigned writes;        /* writes attempted so far */
	unsigned cut_at;        /* the write that loses power ... */
	int cut_mode;           /* ... and how (CUT_NONE: never) */
	int dead;               /* power lost: every write fails until reboot */
	uint64_t rng_ctr, now;
};

static int f_rng(void *ctx, uint8_t *out, size_t n)
{
	struct fake *f = ctx;
	uint8_t in[16] = "sc-test-rng";

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
	unsigned k = f->writes++;

	if (slot > 1 || len != SC_STATE_LEN || f->dead)
		return -1;
	if (f->cut_mode != CUT_NONE && k == f->cut_at) {
		f->dead = 1;
		if (f->cut_mode == CUT_TORN) {	/* half the new bytes, then nothing */
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
static const struct sc_conf conf = { .timeout_ms = 500, .retries = 3 };

/* Power back: writes work again; the core starts from storage. */
static void reboot(struct fake *f, struct sc *c)
{
	sc_wipe(c);
	f->dead = 0;
	f->cut_mode = CUT_NONE;
	ASSERT_EQ(sc_init(c, &fake_driver, f, &conf), SC_OK);
}

/* ---- the MEC and the TTP ---- */

struct pair {
	uint8_t did[16], dk[16];
};

struct entity {                 /* the TTP's entry for one party */
	struct pair cur, prev;
	int has_prev;
};

struct world {
	struct fake f;
	struct sc c;
	struct pair mec;             /* the MEC's own identity */
	struct entity dev, mec_t;    /* the TTP's table */
	uint64_t ctr;
	uint8_t r1s[4096][16];       /* every R1 the device sent */
	size_t n_r1;
};

static void rnd(struct world *w, uint8_t out[16])
{
	uint8_t in[16] = "world-rng";

	memcpy(in + 8, &w->ctr, 8);
	w->ctr++;
	iomt_shake128(in, sizeof(in), out, 16);
}

static const uint8_t *lookup(struct entity *e, const uint8_t did[16])
{
	if (!memcmp(did, e->cur.did, 16))
		return e->cur.dk;
	if (e->has_prev && !memcmp(did, e->prev.did, 16))
		return e->prev.dk;
	return NULL;
}

/* §3.4: the current pair matched: previous <- current; a previous pair
 * matched (the party missed M3/M4): previous kept. Current <- next. */
static void rotate(struct entity *e, const uint8_t did[16], const uint8_t nd[16],
		   const uint8_t nk[16])
{
	if (!memcmp(did, e->cur.did, 16)) {
		e->prev = e->cur;
		e->has_prev = 1;
	}
	memcpy(e->cur.did, nd, 16);
	memcpy(e->cur.dk, nk, 16);
}

static void world_init(struct world *w, int cut_mode, unsigned cut_at)
{
	memset(w, 0, sizeof(*w));
	w->f.cut_mode = cut_mode;
	w->f.cut_at = cut_at;
	rnd(w, w->dev.cur.did);
	rnd(w, w->dev.cur.dk);
	rnd(w, w->mec.did);
	rnd(w, w->mec.dk);
	w->mec_t.cur = w->mec;
	ASSERT_EQ(sc_init(&w->c, &fake_driver, &w->f, &conf), SC_ENOSTATE);
}

static void note_r1(struct world *w, const uint8_t *frame)
{
	size_t i;

	for (i = 0; i < w->n_r1; i++)
		ASSERT_FALSE(!memcmp(w->r1s[i], frame + IOMT_WIRE_HDR_LEN + 16, 16));
	ASSERT_LT(w->n_r1, sizeof(w->r1s) / 16);
	memcpy(w->r1s[w->n_r1++], frame + IOMT_WIRE_HDR_LEN + 16, 16);
}

/* Where a run may lose power without a write (the device simply reboots). */
enum step { STEP_NONE, STEP_AFTER_M1, STEP_AFTER_M2, STEP_AFTER_M3, STEP_LOST_M4, STEP_N };

/*
 * The MEC and TTP answer one M1: M4 framed into m4f. Returns 0, or the
 * DEV_ERR code the TTP would answer. stop_at ends the exchange early.
 */
static int serve(struct world *w, const uint8_t *m1f, uint8_t m4f[IOMT_WIRE_HDR_LEN + 48],
		 uint8_t sk_mec[16], enum step stop_at)
{
	struct iomt_s2_mec_pending p;
	struct iomt_s2_ttp_out t;
	uint8_t m2[128], r2[16], r3[16], did_i[16], did_m[16], nd[16], nk[16];
	const uint8_t *dk_i, *dk_m;
	unsigned bad;

	rnd(w, r2);
	rnd(w, r3);
	ASSERT_EQ(iomt_s2_mec_m2(w->mec.did, w->mec.dk, r2, m1f + IOMT_WIRE_HDR_LEN, 64, &p, m2), 0);
	if (stop_at == STEP_AFTER_M2)
		return -1;
	ASSERT_EQ(iomt_s2_m2_dids(m2, 128, did_i, did_m), 0);
	dk_i = lookup(&w->dev, did_i);
	dk_m = lookup(&w->mec_t, did_m);
	if (!dk_i)
		return IOMT_S2_ERR_UNKNOWN_DEVICE;
	ASSERT_NONNULL(dk_m);
	if (iomt_s2_ttp_process(dk_i, dk_m, m2, 128, r3, &t, &bad))
		return IOMT_S2_ERR_BAD_DEVICE;
	rotate(&w->dev, did_i, t.next_did_i, t.next_dk_i);
	rotate(&w->mec_t, did_m, t.next_did_m, t.next_dk_m);
	if (stop_at == STEP_AFTER_M3)
		return -1;	/* M3 lost: the MEC never rotates */
	ASSERT_EQ(iomt_s2_mec_finish(&p, t.m3, 64, sk_mec, m4f + IOMT_WIRE_HDR_LEN, nd, nk), 0);
	ASSERT_MEMEQ(sk_mec, t.sk, 16);
	memcpy(w->mec.did, nd, 16);
	memcpy(w->mec.dk, nk, 16);
	iomt_wire_put_hdr(m4f, IOMT_MSG_S2_M4, 48);
	return stop_at == STEP_LOST_M4 ? -1 : 0;
}

/* One agreement. SC_DONE with SK checked equal at the MEC and TTP, or the
 * core's error (SC_ESTORE: power lost), or -1 for a run cut at stop_at. */
static int agree(struct world *w, enum step stop_at)
{
	uint8_t m1f[SC_M1_FRAME_LEN], m4f[IOMT_WIRE_HDR_LEN + 48], sk[16], sk_mec[16];
	size_t n = 0;
	int r;

	r = sc_s2_start(&w->c, m1f, sizeof(m1f), &n);
	if (r != SC_SEND)
		return r;
	ASSERT_EQ(n, sizeof(m1f));
	note_r1(w, m1f);
	if (stop_at == STEP_AFTER_M1)
		return -1;
	r = serve(w, m1f, m4f, sk_mec, stop_at);
	if (r)
		return -1;
	memset(sk, 0, sizeof(sk));
	r = sc_s2_input(&w->c, m4f, sizeof(m4f), sk);
	if (r == SC_DONE) {
		static struct sc stored;
		uint8_t did[16];

		ASSERT_MEMEQ(sk, sk_mec, 16);
		/* write-ahead: storage already holds the TTP's current identity */
		ASSERT_EQ(sc_init(&stored, &fake_driver, &w->f, &conf), SC_OK);
		ASSERT_EQ(iomt_s2_device_identity(&stored.id, did, NULL), 0);
		ASSERT_MEMEQ(did, w->dev.cur.did, 16);
		sc_wipe(&stored);
	} else
		ASSERT_TRUE(iomt_ct_is_zero(sk, 16));	/* no key released */
	return r;
}

/* The device's stored identity is one the TTP accepts. */
static void check_sync(struct world *w)
{
	uint8_t did[16];

	ASSERT_EQ(iomt_s2_device_identity(&w->c.id, did, NULL), 0);
	ASSERT_NONNULL(lookup(&w->dev, did));
}

/* Provisioning, then three agreements each cut at `step`, then a clean one;
 * power lost at write k (none when k is past the last write). Returns the
 * number of writes made. */
static unsigned agree_with_cut(int mode, unsigned k, enum step step)
{
	static struct world w;
	int done = 0, r, guard = 0;

	world_init(&w, mode, k);
	r = sc_provision_s2(&w.c, w.dev.cur.did, w.dev.cur.dk);
	if (r == SC_ESTORE) {
		sc_wipe(&w.c);
		w.f.dead = 0;
		ASSERT_EQ(sc_init(&w.c, &fake_driver, &w.f, &conf), SC_ENOSTATE);
		ASSERT_EQ(sc_provision_s2(&w.c, w.dev.cur.did, w.dev.cur.dk), SC_OK);
	} else {
		ASSERT_EQ(r, SC_OK);
	}
	while (done < 4) {
		ASSERT_LT(guard++, 20);
		r = agree(&w, done < 3 ? step : STEP_NONE);
		if (r == SC_ESTORE) {
			EXPECT_EQ(sc_s2_start(&w.c, (uint8_t[SC_M1_FRAME_LEN]){ 0 },
					      SC_M1_FRAME_LEN, &(size_t){ 0 }), SC_EFAILED);
			reboot(&w.f, &w.c);
		} else if (r == -1) {
			reboot(&w.f, &w.c);	/* power lost mid-run, no write involved */
			done++;
		} else {
			ASSERT_EQ(r, SC_DONE);
			done++;
		}
		check_sync(&w);
	}
	/* After everything, one more clean agreement from a fresh boot. */
	reboot(&w.f, &w.c);
	ASSERT_EQ(agree(&w, STEP_NONE), SC_DONE);
	check_sync(&w);
	sc_wipe(&w.c);
	return w.f.writes;
}

TEST(agreement_power_cut_at_every_write_and_step)
{
	int mode;
	unsigned k, step, runs = 0;

	for (mode = CUT_FAIL; mode <= CUT_TORN; mode++)
		for (step = STEP_NONE; step < STEP_N; step++)
			for (k = 0;; k++) {
				unsigned writes = agree_with_cut(mode, k, step);

				runs++;
				if (k >= writes)
					break;	/* no write was cut this time: all covered */
			}
	TH_LOG("%u runs: cut at every write x {fail, torn} x 5 run steps", runs);
}

/* A storage write that fails after M4: SK wiped, no M1 afterwards, and after
 * a reboot the stored (previous) identity still agrees. */
TEST(agreement_store_failure_no_key_use)
{
	static struct world w;
	uint8_t frame[SC_M1_FRAME_LEN];
	size_t n;

	world_init(&w, CUT_NONE, 0);
	ASSERT_EQ(sc_provision_s2(&w.c, w.dev.cur.did, w.dev.cur.dk), SC_OK);
	w.f.cut_mode = CUT_FAIL;
	w.f.cut_at = w.f.writes;
	ASSERT_EQ(agree(&w, STEP_NONE), SC_ESTORE);	/* agree() checks sk is zero */
	ASSERT_EQ(sc_s2_start(&w.c, frame, sizeof(frame), &n), SC_EFAILED);
	ASSERT_EQ(sc_s2_poll(&w.c, frame, sizeof(frame), &n), SC_EFAILED);
	ASSERT_FALSE(w.c.has_id);	/* keys wiped in memory */
	reboot(&w.f, &w.c);
	check_sync(&w);
	ASSERT_EQ(agree(&w, STEP_NONE), SC_DONE);
	ASSERT_EQ(agree(&w, STEP_NONE), SC_DONE);
	check_sync(&w);
}

/* Timeouts: retries with a fresh R1 after a back-off, then SC_ENOANSWER. */
TEST(agreement_timeouts_backoff_and_give_up)
{
	static struct world w;
	uint8_t frame[SC_M1_FRAME_LEN], sk[16];
	size_t n;
	unsigned sent = 1;
	int r;

	world_init(&w, CUT_NONE, 0);
	ASSERT_EQ(sc_provision_s2(&w.c, w.dev.cur.did, w.dev.cur.dk), SC_OK);
	ASSERT_EQ(sc_s2_start(&w.c, frame, sizeof(frame), &n), SC_SEND);
	ASSERT_EQ(sc_s2_start(&w.c, frame, sizeof(frame), &n), SC_EBUSY);
	for (;;) {
		ASSERT_NE(sc_s2_deadline(&w.c), 0);
		w.f.now = sc_s2_deadline(&w.c) - 1;
		ASSERT_EQ(sc_s2_poll(&w.c, frame, sizeof(frame), &n), SC_OK);
		w.f.now++;
		r = sc_s2_poll(&w.c, frame, sizeof(frame), &n);
		if (r == SC_SEND)
			sent++;
		else if (r != SC_OK)
			break;
	}
	ASSERT_EQ(r, SC_ENOANSWER);
	ASSERT_EQ(sent, conf.retries + 1);
	ASSERT_EQ(sc_s2_deadline(&w.c), 0);
	ASSERT_EQ(sc_s2_input(&w.c, frame, sizeof(frame), sk), SC_IGNORED);
	ASSERT_EQ(agree(&w, STEP_NONE), SC_DONE);
}

/* A late M4 during the back-off completes the run; so does a retry after a
 * lost M4 (the TTP's previous identity). */
TEST(agreement_late_m4_and_lost_m4)
{
	static struct world w;
	uint8_t m1f[SC_M1_FRAME_LEN], m4f[52], sk[16], sk_mec[16];
	size_t n;

	world_init(&w, CUT_NONE, 0);
	ASSERT_EQ(sc_provision_s2(&w.c, w.dev.cur.did, w.dev.cur.dk), SC_OK);
	ASSERT_EQ(sc_s2_start(&w.c, m1f, sizeof(m1f), &n), SC_SEND);
	ASSERT_EQ(serve(&w, m1f, m4f, sk_mec, STEP_NONE), 0);
	w.f.now = sc_s2_deadline(&w.c);
	ASSERT_EQ(sc_s2_poll(&w.c, m1f, sizeof(m1f), &n), SC_OK);
	ASSERT_EQ(w.c.phase, SC_S2_BACKOFF);
	ASSERT_EQ(sc_s2_input(&w.c, m4f, sizeof(m4f), sk), SC_DONE);
	ASSERT_MEMEQ(sk, sk_mec, 16);
	/* lost M4, retry */
	ASSERT_EQ(sc_s2_start(&w.c, m1f, sizeof(m1f), &n), SC_SEND);
	ASSERT_EQ(serve(&w, m1f, m4f, sk_mec, STEP_LOST_M4), -1);
	w.f.now = sc_s2_deadline(&w.c);
	ASSERT_EQ(sc_s2_poll(&w.c, m1f, sizeof(m1f), &n), SC_OK);
	w.f.now = sc_s2_deadline(&w.c);
	ASSERT_EQ(sc_s2_poll(&w.c, m1f, sizeof(m1f), &n), SC_SEND);
	/* the old M4 no longer verifies for the new run */
	ASSERT_EQ(sc_s2_input(&w.c, m4f, sizeof(m4f), sk), SC_IGNORED);
	ASSERT_EQ(serve(&w, m1f, m4f, sk_mec, STEP_NONE), 0);
	ASSERT_EQ(sc_s2_input(&w.c, m4f, sizeof(m4f), sk), SC_DONE);
	ASSERT_MEMEQ(sk, sk_mec, 16);
	check_sync(&w);
}

static void dev_err(uint8_t f[IOMT_WIRE_HDR_LEN + 17], uint8_t code, const uint8_t r1[16])
{
	iomt_wire_put_hdr(f, IOMT_MSG_S2_DEV_ERR, 17);
	f[IOMT_WIRE_HDR_LEN] = code;
	memcpy(f + IOMT_WIRE_HDR_LEN + 1, r1, 16);
}

/* DEV_ERR: another run's ignored, BUSY backs off, BAD_DEVICE stops. */
TEST(agreement_dev_err)
{
	static struct world w;
	uint8_t m1f[SC_M1_FRAME_LEN], ef[21], other[16] = { 1 }, sk[16];
	size_t n;

	world_init(&w, CUT_NONE, 0);
	ASSERT_EQ(sc_provision_s2(&w.c, w.dev.cur.did, w.dev.cur.dk), SC_OK);
	ASSERT_EQ(sc_s2_start(&w.c, m1f, sizeof(m1f), &n), SC_SEND);
	dev_err(ef, IOMT_S2_ERR_BAD_DEVICE, other);
	ASSERT_EQ(sc_s2_input(&w.c, ef, sizeof(ef), sk), SC_IGNORED);
	dev_err(ef, IOMT_S2_ERR_BUSY, m1f + IOMT_WIRE_HDR_LEN + 16);
	ASSERT_EQ(sc_s2_input(&w.c, ef, sizeof(ef), sk), SC_OK);
	ASSERT_EQ(w.c.phase, SC_S2_BACKOFF);
	ASSERT_GE(sc_s2_deadline(&w.c), w.f.now + conf.timeout_ms / 2);
	w.f.now = sc_s2_deadline(&w.c);
	ASSERT_EQ(sc_s2_poll(&w.c, m1f, sizeof(m1f), &n), SC_SEND);
	dev_err(ef, IOMT_S2_ERR_BAD_DEVICE, m1f + IOMT_WIRE_HDR_LEN + 16);
	ASSERT_EQ(sc_s2_input(&w.c, ef, sizeof(ef), sk), SC_EREFUSED);
	ASSERT_EQ(w.c.s2_code, IOMT_S2_ERR_BAD_DEVICE);
	ASSERT_EQ(w.c.phase, SC_S2_IDLE);
	ASSERT_EQ(agree(&w, STEP_NONE), SC_DONE);
}

/* ---- under load: COOKIE_REPLY, then the same M1 in COOKIE_WRAP (PROTOCOL.md §10.6) ---- */

static const uint8_t gw_key[16] = "gateway-cookie-k";
static const uint8_t dev_addr[16] = { [10] = 0xff, [11] = 0xff, 198, 18, 0, 2 };
enum { DEV_PORT = 40000 };

/* The gateway's COOKIE_REPLY to our address (lib/cookie.h). */
static void cookie_reply(uint8_t f[IOMT_COOKIE_REPLY_FRAME_LEN])
{
	ASSERT_EQ(iomt_cookie_reply(gw_key, dev_addr, DEV_PORT, f), 0);
}

/* The gateway's side of a COOKIE_WRAP: 1 and the inner frame in *req if the
 * cookie is ours under gw_key (userspace/gwd/filter.c's check), else 0. */
static int gw_unwrap(const uint8_t *f, size_t n, const uint8_t **req, size_t *reqlen)
{
	uint8_t type, c[IOMT_COOKIE_LEN], want[IOMT_COOKIE_LEN];
	const uint8_t *p;
	size_t plen;

	ASSERT_EQ(iomt_wire_parse(f, n, &type, &p, &plen), 0);
	ASSERT_EQ(type, IOMT_MSG_COOKIE_WRAP);
	ASSERT_EQ(iomt_cookie_unwrap(p, plen, c, req, reqlen), 0);
	ASSERT_EQ(iomt_cookie_make(gw_key, dev_addr, DEV_PORT, want), 0);
	return iomt_ct_eq(c, want, sizeof(c));
}

/* The plain M1 gets COOKIE_REPLY; the wrapped resend is the same M1 byte for
 * byte with a valid cookie, the gateway serves it, and M4 completes the run. */
TEST(agreement_cookie_reply_then_wrapped_m1)
{
	static struct world w;
	uint8_t m1f[SC_M1_FRAME_LEN], cr[IOMT_COOKIE_REPLY_FRAME_LEN], wf[SC_WRAP_FRAME_LEN];
	uint8_t small[SC_WRAP_FRAME_LEN - 1], m4f[52], sk[16], sk_mec[16];
	const uint8_t *req;
	size_t n, reqlen;

	world_init(&w, CUT_NONE, 0);
	ASSERT_EQ(sc_provision_s2(&w.c, w.dev.cur.did, w.dev.cur.dk), SC_OK);
	w.f.now = 1000;
	ASSERT_EQ(sc_s2_start(&w.c, m1f, sizeof(m1f), &n), SC_SEND);
	w.f.now = 1010;
	cookie_reply(cr);
	ASSERT_EQ(sc_s2_input(&w.c, cr, sizeof(cr), sk), SC_OK);
	ASSERT_EQ(w.c.phase, SC_S2_COOKIE);
	ASSERT_EQ(w.c.cookies, 1);
	ASSERT_EQ(sc_s2_deadline(&w.c), 1010);	/* due at once */
	/* a buffer too small for the wrap: refused, the resend still due */
	ASSERT_EQ(sc_s2_poll(&w.c, small, sizeof(small), &n), IOMT_ESIZE);
	ASSERT_EQ(w.c.phase, SC_S2_COOKIE);
	ASSERT_EQ(sc_s2_poll(&w.c, wf, sizeof(wf), &n), SC_SEND);
	ASSERT_EQ(n, SC_WRAP_FRAME_LEN);
	ASSERT_TRUE(gw_unwrap(wf, n, &req, &reqlen));
	ASSERT_EQ(reqlen, sizeof(m1f));
	ASSERT_MEMEQ(req, m1f, sizeof(m1f));	/* the same request: same R1 */
	ASSERT_TRUE(iomt_ct_is_zero(w.c.cookie, sizeof(w.c.cookie)));	/* used once */
	ASSERT_EQ(w.c.phase, SC_S2_AWAIT_M4);
	ASSERT_EQ(sc_s2_deadline(&w.c), 1010 + conf.timeout_ms);
	ASSERT_EQ(w.c.attempt, 1);	/* no retry spent */
	ASSERT_EQ(serve(&w, req, m4f, sk_mec, STEP_NONE), 0);
	ASSERT_EQ(sc_s2_input(&w.c, m4f, sizeof(m4f), sk), SC_DONE);
	ASSERT_MEMEQ(sk, sk_mec, 16);
	check_sync(&w);
	/* the next run starts with no cookie and a fresh round count */
	ASSERT_EQ(agree(&w, STEP_NONE), SC_DONE);
	ASSERT_EQ(w.c.cookies, 0);
}

/* What the device can check of a COOKIE_REPLY, it does: a request of ours in
 * flight awaiting M4, exactly 16 bytes, one at a time. Anything else is
 * ignored, changing nothing; a forged cookie (which only the gateway can
 * tell) costs one wrapped resend, and the plain M1's M4 still completes. */
TEST(agreement_cookie_reply_mismatched_ignored)
{
	static struct world w;
	uint8_t m1f[SC_M1_FRAME_LEN], cr[IOMT_COOKIE_REPLY_FRAME_LEN], wf[SC_WRAP_FRAME_LEN];
	uint8_t bad[IOMT_COOKIE_REPLY_FRAME_LEN + 1] = { 0 }, m4f[52], sk[16], sk_mec[16];
	const uint8_t *req;
	size_t n, reqlen;

	world_init(&w, CUT_NONE, 0);
	ASSERT_EQ(sc_provision_s2(&w.c, w.dev.cur.did, w.dev.cur.dk), SC_OK);
	cookie_reply(cr);
	/* no request in flight */
	ASSERT_EQ(sc_s2_input(&w.c, cr, sizeof(cr), sk), SC_IGNORED);
	ASSERT_EQ(w.c.phase, SC_S2_IDLE);
	ASSERT_EQ(sc_s2_start(&w.c, m1f, sizeof(m1f), &n), SC_SEND);
	/* sizes: 15 or 17 bytes of cookie, a length field that lies, a trailing
	 * byte, another wire version */
	memcpy(bad, cr, sizeof(cr));
	iomt_wire_put_hdr(bad, IOMT_MSG_COOKIE_REPLY, 15);
	ASSERT_EQ(sc_s2_input(&w.c, bad, sizeof(cr) - 1, sk), SC_IGNORED);
	iomt_wire_put_hdr(bad, IOMT_MSG_COOKIE_REPLY, 17);
	ASSERT_EQ(sc_s2_input(&w.c, bad, sizeof(bad), sk), SC_IGNORED);
	iomt_wire_put_hdr(bad, IOMT_MSG_COOKIE_REPLY, 16);
	ASSERT_EQ(sc_s2_input(&w.c, bad, sizeof(bad), sk), SC_IGNORED);
	ASSERT_EQ(sc_s2_input(&w.c, bad, sizeof(cr) - 1, sk), SC_IGNORED);
	bad[0] ^= 0x80;
	ASSERT_EQ(sc_s2_input(&w.c, bad, sizeof(cr), sk), SC_IGNORED);
	ASSERT_EQ(w.c.phase, SC_S2_AWAIT_M4);
	ASSERT_EQ(w.c.cookies, 0);
	/* a forged cookie: taken (only the gateway can check it) ... */
	memset(bad + IOMT_WIRE_HDR_LEN, 0x5c, IOMT_COOKIE_LEN);
	bad[0] ^= 0x80;
	ASSERT_EQ(sc_s2_input(&w.c, bad, sizeof(cr), sk), SC_OK);
	/* ... one at a time: a second reply before the resend is ignored */
	ASSERT_EQ(sc_s2_input(&w.c, cr, sizeof(cr), sk), SC_IGNORED);
	ASSERT_EQ(sc_s2_poll(&w.c, wf, sizeof(wf), &n), SC_SEND);
	ASSERT_FALSE(gw_unwrap(wf, n, &req, &reqlen));	/* the gateway drops it */
	ASSERT_MEMEQ(req, m1f, sizeof(m1f));
	/* the plain M1 was served after all: its M4 completes the run */
	ASSERT_EQ(serve(&w, m1f, m4f, sk_mec, STEP_NONE), 0);
	ASSERT_EQ(sc_s2_input(&w.c, m4f, sizeof(m4f), sk), SC_DONE);
	ASSERT_MEMEQ(sk, sk_mec, 16);
	/* after the run, and during a back-off: ignored */
	ASSERT_EQ(sc_s2_input(&w.c, cr, sizeof(cr), sk), SC_IGNORED);
	ASSERT_EQ(sc_s2_start(&w.c, m1f, sizeof(m1f), &n), SC_SEND);
	w.f.now = sc_s2_deadline(&w.c);
	ASSERT_EQ(sc_s2_poll(&w.c, m1f, sizeof(m1f), &n), SC_OK);
	ASSERT_EQ(w.c.phase, SC_S2_BACKOFF);
	ASSERT_EQ(sc_s2_input(&w.c, cr, sizeof(cr), sk), SC_IGNORED);
	ASSERT_EQ(w.c.phase, SC_S2_BACKOFF);
	/* a DEV_ERR BUSY while a cookie waits: back-off, the cookie wiped, and
	 * the next M1 is a plain fresh run */
	w.f.now = sc_s2_deadline(&w.c);
	ASSERT_EQ(sc_s2_poll(&w.c, m1f, sizeof(m1f), &n), SC_SEND);
	ASSERT_EQ(sc_s2_input(&w.c, cr, sizeof(cr), sk), SC_OK);
	dev_err(bad, IOMT_S2_ERR_BUSY, m1f + IOMT_WIRE_HDR_LEN + 16);
	ASSERT_EQ(sc_s2_input(&w.c, bad, IOMT_WIRE_HDR_LEN + 17, sk), SC_OK);
	ASSERT_EQ(w.c.phase, SC_S2_BACKOFF);
	w.f.now = sc_s2_deadline(&w.c);
	ASSERT_EQ(sc_s2_poll(&w.c, wf, sizeof(wf), &n), SC_SEND);
	ASSERT_EQ(n, SC_M1_FRAME_LEN);
	ASSERT_EQ(wf[1], IOMT_MSG_S2_M1);
	ASSERT_EQ(w.c.cookies, 0);
	ASSERT_TRUE(iomt_ct_is_zero(w.c.cookie, sizeof(w.c.cookie)));
	ASSERT_EQ(serve(&w, wf, m4f, sk_mec, STEP_NONE), 0);
	ASSERT_EQ(sc_s2_input(&w.c, m4f, sizeof(m4f), sk), SC_DONE);
	check_sync(&w);
}

/* A gateway that answers every M1, wrapped or not, with COOKIE_REPLY: at
 * most SC_COOKIE_ROUNDS wrapped resends per run, then the timeout decides;
 * the retry budget is the same; SC_ENOANSWER in the end, the cookie wiped. */
TEST(agreement_cookie_rounds_bounded)
{
	static struct world w;
	uint8_t f[SC_WRAP_FRAME_LEN], cr[IOMT_COOKIE_REPLY_FRAME_LEN], sk[16];
	unsigned plain = 0, wrapped = 0, guard = 0;
	size_t n;
	int r;

	world_init(&w, CUT_NONE, 0);
	ASSERT_EQ(sc_provision_s2(&w.c, w.dev.cur.did, w.dev.cur.dk), SC_OK);
	cookie_reply(cr);
	r = sc_s2_start(&w.c, f, sizeof(f), &n);
	for (;;) {
		ASSERT_LT(guard++, 100);
		if (r == SC_SEND) {
			if (f[1] == IOMT_MSG_S2_M1)
				plain++;
			else
				wrapped++;
			r = sc_s2_input(&w.c, cr, sizeof(cr), sk);
			if (r == SC_OK) {
				ASSERT_EQ(w.c.phase, SC_S2_COOKIE);
				ASSERT_LE(w.c.cookies, SC_COOKIE_ROUNDS);
				r = sc_s2_poll(&w.c, f, sizeof(f), &n);
				continue;
			}
			ASSERT_EQ(r, SC_IGNORED);	/* the run's rounds are spent */
			ASSERT_EQ(w.c.cookies, SC_COOKIE_ROUNDS);
		}
		if (r != SC_SEND && r != SC_OK && r != SC_IGNORED)
			break;
		w.f.now = sc_s2_deadline(&w.c);
		r = sc_s2_poll(&w.c, f, sizeof(f), &n);
	}
	ASSERT_EQ(r, SC_ENOANSWER);
	ASSERT_EQ(plain, conf.retries + 1);
	ASSERT_EQ(wrapped, (conf.retries + 1) * 2);	/* §10.6: two rounds per run */
	ASSERT_EQ(w.c.phase, SC_S2_IDLE);
	ASSERT_EQ(sc_s2_deadline(&w.c), 0);
	ASSERT_TRUE(iomt_ct_is_zero(w.c.cookie, sizeof(w.c.cookie)));
	ASSERT_EQ(sc_s2_input(&w.c, cr, sizeof(cr), sk), SC_IGNORED);
	ASSERT_EQ(agree(&w, STEP_NONE), SC_DONE);
}

TEST(backoff_bounds)
{
	unsigned a;
	uint32_t lo, hi;

	for (a = 1; a < 40; a++) {
		uint64_t d = 500;
		unsigned i;

		for (i = 1; i < a && d < SC_BACKOFF_MAX_MS; i++)
			d *= 2;
		if (d > SC_BACKOFF_MAX_MS)
			d = SC_BACKOFF_MAX_MS;
		lo = sc_backoff_ms(500, a, 0);
		hi = sc_backoff_ms(500, a, (uint32_t)(d / 2));
		ASSERT_EQ(lo, d - d / 2);
		ASSERT_EQ(hi, d);
		ASSERT_LE(sc_backoff_ms(500, a, UINT32_MAX), d);
	}
	ASSERT_EQ(sc_backoff_ms(0, 1, 0), 1);
}

/* ---- the data path ---- */

static const uint8_t k_data0[16] = "K_data_0-test!!";

static void test_meta(struct iomt_keytree_meta *m)
{
	memset(m, 0, sizeof(*m));
	memcpy(m->key_id, "key-id-0123456789", 16);
	m->conf.version = IOMT_KEYTREE_CONF_VERSION;
	m->conf.epoch_start = 1000;
	m->conf.leaf_period_s = 10;
	m->conf.depth = 2;
	m->conf.arity[0] = 16;
	m->conf.arity[1] = 4;
	m->conf.refresh_period_s = 40;	/* an epoch = one level-1 node = 4 leaves */
}

struct rec_name {
	uint32_t epoch;
	uint64_t leaf;
	uint32_t seq;
};

/* 8 records a second: 80 a leaf (more than one seq block), 320 an epoch. */
enum { N_RECORDS = 720, REC_PER_S = 8 };

/* The record opens under the key the PPD derives from K_data_0. */
static void check_opens(const struct iomt_keytree_meta *m, const uint8_t *rec, size_t len,
			const char *want)
{
	struct iomt_keytree_node node;
	struct iomt_record_hdr h;
	uint8_t kd[16], ke[16], out[64];
	size_t n;

	ASSERT_EQ(iomt_record_parse(rec, len, &h), 0);
	ASSERT_EQ(iomt_keytree_data_key(&m->conf, k_data0, h.epoch, kd), 0);
	ASSERT_EQ(iomt_keytree_node_of(&m->conf, h.leaf, m->conf.depth, &node), 0);
	ASSERT_EQ(iomt_keytree_node_key(&m->conf, h.epoch, kd, &node, ke), 0);
	ASSERT_EQ(iomt_record_open(ke, rec, len, &h, out, sizeof(out), &n), 0);
	ASSERT_EQ(n, strlen(want));
	ASSERT_MEMEQ(out, want, n);
}

/* Seals N_RECORDS, power cut at write k, rebooting on SC_ESTORE and going
 * on; every name distinct, every record opens. Returns the writes made. */
static unsigned data_with_cut(int mode, unsigned k, unsigned *names)
{
	static struct world w;
	static struct rec_name seen[N_RECORDS];
	struct iomt_keytree_meta m;
	struct iomt_record_hdr h;
	uint8_t rec[128], before[128];
	size_t n, i, j, ns = 0;
	int r;

	world_init(&w, mode, k);
	test_meta(&m);
	r = sc_data_provision(&w.c, &m, k_data0);
	if (r == SC_ESTORE) {
		sc_wipe(&w.c);
		w.f.dead = 0;
		ASSERT_EQ(sc_init(&w.c, &fake_driver, &w.f, &conf), SC_ENOSTATE);
		ASSERT_EQ(sc_data_provision(&w.c, &m, k_data0), SC_OK);
	} else {
		ASSERT_EQ(r, SC_OK);
	}
	for (i = 0; i < N_RECORDS;) {
		char txt[32];
		uint64_t t = 1000 + i / REC_PER_S;

		snprintf(txt, sizeof(txt), "hr=%u t=%u", 60 + (unsigned)(i % 40), (unsigned)t);
		memset(rec, 0xa5, sizeof(rec));
		memcpy(before, rec, sizeof(rec));
		if (i % 37 == 36)	/* the refresh timer, now and then */
			r = sc_data_tick(&w.c, t);
		else
			r = sc_data_seal(&w.c, t, (const uint8_t *)txt, strlen(txt), rec,
					 sizeof(rec), &n, &h);
		if (r == SC_ESTORE) {
			ASSERT_MEMEQ(rec, before, sizeof(rec));	/* nothing sealed */
			ASSERT_EQ(sc_data_seal(&w.c, t, (const uint8_t *)txt, strlen(txt), rec,
					       sizeof(rec), &n, &h), SC_EFAILED);
			reboot(&w.f, &w.c);
			continue;	/* the same measurement again */
		}
		ASSERT_EQ(r, SC_OK);
		if (i % 37 != 36) {
			check_opens(&m, rec, n, txt);
			for (j = 0; j < ns; j++)
				ASSERT_FALSE(seen[j].epoch == h.epoch && seen[j].leaf == h.leaf &&
					     seen[j].seq == h.seq);
			seen[ns].epoch = h.epoch;
			seen[ns].leaf = h.leaf;
			seen[ns++].seq = h.seq;
		}
		/* a clean reboot now and then, too */
		if (i % 53 == 52)
			reboot(&w.f, &w.c);
		i++;
	}
	/* the key schedule only moves forward: the epoch of the last record */
	ASSERT_EQ(w.c.ks.epoch, (uint32_t)((N_RECORDS - 1) / REC_PER_S / 40));
	*names += (unsigned)ns;
	sc_wipe(&w.c);
	return w.f.writes;
}

TEST_TIMEOUT(data_power_cut_at_every_write, 120)
{
	unsigned k, names = 0, runs = 0;
	int mode;

	for (mode = CUT_FAIL; mode <= CUT_TORN; mode++)
		for (k = 0;; k++) {
			unsigned writes = data_with_cut(mode, k, &names);

			runs++;
			if (k >= writes)
				break;
		}
	TH_LOG("%u runs, %u records sealed, no (epoch, leaf, seq) twice in a run", runs, names);
}

/* A failed seq reservation: a clear error, nothing sealed, the core stops;
 * after a reboot the sequence resumes past everything reserved. */
TEST(data_store_failure_no_key_use)
{
	static struct world w;
	struct iomt_keytree_meta m;
	struct iomt_record_hdr h;
	uint8_t rec[128], zero[128] = { 0 };
	size_t n = 0;
	unsigned i;

	world_init(&w, CUT_NONE, 0);
	test_meta(&m);
	ASSERT_EQ(sc_data_seal(&w.c, 1000, (const uint8_t *)"x", 1, rec, sizeof(rec), &n, &h),
		  SC_ENOSTATE);
	ASSERT_EQ(sc_data_provision(&w.c, &m, k_data0), SC_OK);
	for (i = 0; i < SC_SEQ_BLOCK; i++)
		ASSERT_EQ(sc_data_seal(&w.c, 1000, (const uint8_t *)"x", 1, rec, sizeof(rec), &n,
				       &h), SC_OK);
	ASSERT_EQ(h.seq, SC_SEQ_BLOCK - 1);
	w.f.cut_mode = CUT_FAIL;
	w.f.cut_at = w.f.writes;
	memset(rec, 0, sizeof(rec));
	ASSERT_EQ(sc_data_seal(&w.c, 1000, (const uint8_t *)"x", 1, rec, sizeof(rec), &n, &h),
		  SC_ESTORE);
	ASSERT_MEMEQ(rec, zero, sizeof(rec));
	ASSERT_FALSE(w.c.ks.live);	/* K_data wiped */
	ASSERT_EQ(sc_data_tick(&w.c, 2000), SC_EFAILED);
	reboot(&w.f, &w.c);
	ASSERT_EQ(sc_data_seal(&w.c, 1000, (const uint8_t *)"x", 1, rec, sizeof(rec), &n, &h),
		  SC_OK);
	ASSERT_EQ(h.seq, SC_SEQ_BLOCK);
	/* the clock went back a leaf: refused, nothing sealed */
	ASSERT_EQ(sc_data_seal(&w.c, 1015, (const uint8_t *)"x", 1, rec, sizeof(rec), &n, &h),
		  SC_OK);
	ASSERT_EQ(sc_data_seal(&w.c, 1005, (const uint8_t *)"x", 1, rec, sizeof(rec), &n, &h),
		  SC_ECLOCK);
}

/* Both protocols' state in one blob: an agreement does not lose the data
 * state, nor a seal the identity; a damaged newest slot falls back. */
TEST(state_shared_and_slots)
{
	static struct world w;
	struct iomt_keytree_meta m;
	struct iomt_record_hdr h;
	uint8_t rec[128];
	size_t n;
	unsigned newest;

	world_init(&w, CUT_NONE, 0);
	test_meta(&m);
	ASSERT_EQ(sc_provision_s2(&w.c, w.dev.cur.did, w.dev.cur.dk), SC_OK);
	ASSERT_EQ(sc_data_provision(&w.c, &m, k_data0), SC_OK);
	ASSERT_EQ(sc_data_seal(&w.c, 1000, (const uint8_t *)"a", 1, rec, sizeof(rec), &n, &h),
		  SC_OK);
	ASSERT_EQ(agree(&w, STEP_NONE), SC_DONE);
	reboot(&w.f, &w.c);
	ASSERT_TRUE(w.c.has_data);
	check_sync(&w);
	ASSERT_EQ(sc_data_seal(&w.c, 1000, (const uint8_t *)"b", 1, rec, sizeof(rec), &n, &h),
		  SC_OK);
	ASSERT_EQ(h.seq, SC_SEQ_BLOCK);
	/* damage the newest slot: the previous good one is used */
	newest = w.c.gen & 1;
	w.f.slot[newest][40] ^= 1;
	reboot(&w.f, &w.c);
	ASSERT_EQ(w.c.gen & 1, newest ^ 1);
	/* both gone: no state */
	w.f.slot[newest ^ 1][SC_STATE_LEN - 1] ^= 1;
	sc_wipe(&w.c);
	ASSERT_EQ(sc_init(&w.c, &fake_driver, &w.f, &conf), SC_ENOSTATE);
}

/* A REC_PUT frame that the relay's decoder accepts. */
TEST(batch_frame)
{
	static struct world w;
	struct iomt_keytree_meta m;
	struct iomt_record_hdr h;
	static struct iomt_recbatch b;
	uint8_t frame[1472], rec[128], id[8], type;
	const uint8_t *p;
	size_t used, n, plen;
	int i;

	world_init(&w, CUT_NONE, 0);
	test_meta(&m);
	ASSERT_EQ(sc_data_provision(&w.c, &m, k_data0), SC_OK);
	ASSERT_EQ(sc_batch_open(&w.c, frame, sizeof(frame), id, &used), SC_OK);
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(sc_data_seal(&w.c, 1000 + (uint64_t)i, (const uint8_t *)"hr=70", 5, rec,
				       sizeof(rec), &n, &h), SC_OK);
		ASSERT_EQ(iomt_recbatch_add(frame + IOMT_WIRE_HDR_LEN,
					    sizeof(frame) - IOMT_WIRE_HDR_LEN, &used, rec, n), 0);
	}
	ASSERT_EQ(sc_batch_close(frame, used), 0);
	ASSERT_EQ(iomt_wire_parse(frame, IOMT_WIRE_HDR_LEN + used, &type, &p, &plen), 0);
	ASSERT_EQ(type, IOMT_MSG_REC_PUT);
	ASSERT_EQ(iomt_recbatch_decode(&b, p, plen), 0);
	ASSERT_EQ(b.count, 5);
	ASSERT_MEMEQ(b.batch_id, id, 8);
}
