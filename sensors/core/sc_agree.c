/* SPDX-License-Identifier: MIT */
/* Seed 002, the device side: M1 out, M4 / DEV_ERR / COOKIE_REPLY in,
 * retries (see sc.h). */
#include <string.h>
#include "bytes.h"
#include "ct.h"
#include "iomt_err.h"
#include "sc.h"

uint32_t sc_backoff_ms(uint32_t timeout_ms, unsigned attempt, uint32_t rnd)
{
	uint64_t d = timeout_ms ? timeout_ms : 1;
	unsigned i;

	for (i = 1; i < attempt && d < SC_BACKOFF_MAX_MS; i++)
		d *= 2;
	if (d > SC_BACKOFF_MAX_MS)
		d = SC_BACKOFF_MAX_MS;
	/* Equal jitter: the upper half random, so devices that failed together
	 * spread out. d fits 32 bits now (no 64-bit division on the M3). */
	return (uint32_t)d - (uint32_t)d / 2 + rnd % ((uint32_t)d / 2 + 1);
}

static void end_run(struct sc *c)
{
	iomt_s2_device_abort(&c->id);
	iomt_wipe(c->cookie, sizeof(c->cookie));
	c->phase = SC_S2_IDLE;
}

int sc_retry_at(struct sc *c, unsigned attempt, uint64_t *deadline)
{
	uint8_t rnd[4];

	if (attempt > c->conf.retries)
		return SC_ENOANSWER;
	if (c->drv->rng(c->ctx, rnd, sizeof(rnd)))
		return SC_ERNG;
	*deadline = c->drv->now_ms(c->ctx) +
		    sc_backoff_ms(c->conf.timeout_ms, attempt, iomt_load_be32(rnd));
	return SC_OK;
}

/* M1 framed into out: a fresh run (new R1), or in SC_S2_COOKIE the run's
 * M1 again, byte for byte, inside COOKIE_WRAP with the cookie taken (M1 is a
 * function of the identity and R1, both unchanged while the run is pending,
 * so it is rebuilt rather than kept). Either way the cookie is then wiped:
 * it serves this one resend. */
static int send_m1(struct sc *c, uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t r1[IOMT_S2_RAND_LEN], *m1 = out;
	int wrap = c->phase == SC_S2_COOKIE, r;

	if (cap < (wrap ? SC_WRAP_FRAME_LEN : SC_M1_FRAME_LEN))
		return IOMT_ESIZE;
	if (wrap) {
		m1 += IOMT_WIRE_HDR_LEN + IOMT_COOKIE_LEN;
		memcpy(r1, c->id.r1, sizeof(r1));
	} else if (c->drv->rng(c->ctx, r1, sizeof(r1))) {
		end_run(c);
		return SC_ERNG;
	} else {
		c->cookies = 0;
	}
	/* r1 needs no wiping: it goes out in M1. */
	r = iomt_s2_device_start(&c->id, r1, m1 + IOMT_WIRE_HDR_LEN);
	if (r)
		return r;
	iomt_wire_put_hdr(m1, IOMT_MSG_S2_M1, IOMT_S2_M1_LEN);
	*out_len = SC_M1_FRAME_LEN;
	if (wrap)	/* cannot fail: cap checked, M1's size fixed */
		iomt_cookie_wrap(c->cookie, m1, SC_M1_FRAME_LEN, out, cap, out_len);
	iomt_wipe(c->cookie, sizeof(c->cookie));
	c->phase = SC_S2_AWAIT_M4;
	c->deadline_ms = c->drv->now_ms(c->ctx) + c->conf.timeout_ms;
	return SC_SEND;
}

int sc_s2_start(struct sc *c, uint8_t *out, size_t cap, size_t *out_len)
{
	if (!c || !out || !out_len)
		return IOMT_EINVAL;
	if (c->failed)
		return SC_EFAILED;
	if (!c->has_id)
		return SC_ENOSTATE;
	if (c->phase != SC_S2_IDLE)
		return SC_EBUSY;
	c->attempt = 1;
	c->s2_code = 0;
	return send_m1(c, out, cap, out_len);
}

/* Run number attempt failed: wait before the next, or SC_ENOANSWER once
 * the retry budget is spent. */
static int back_off(struct sc *c)
{
	int r = sc_retry_at(c, c->attempt, &c->deadline_ms);

	if (r) {
		end_run(c);
		return r;
	}
	c->attempt++;
	c->phase = SC_S2_BACKOFF;
	return SC_OK;
}

/* The M4 verifies: the rotated identity is stored before SK leaves. A
 * refused M4 leaves the run pending (iomt_s2_device_finish changes nothing). */
static int input_m4(struct sc *c, const uint8_t *p, size_t n, uint8_t sk[IOMT_S2_KEY_LEN])
{
	int r;

	if (iomt_s2_device_finish(&c->id, p, n, sk))
		return SC_IGNORED;	/* stale or forged: the run stays pending */
	end_run(c);		/* the run is over (abort: nothing left to drop) */
	r = sc_persist(c);
	if (r) {
		/* Storage keeps the previous identity, which the TTP accepts;
		 * the failed write wiped the core. */
		iomt_wipe(sk, IOMT_S2_KEY_LEN);
		return r;
	}
	return SC_DONE;
}

static int input_err(struct sc *c, const uint8_t *p, size_t n)
{
	/* code (1) || R1 (16): it counts only for the run with that R1 */
	if (n != IOMT_WIRE_S2_DEV_ERR_LEN || !iomt_ct_eq(p + 1, c->id.r1, IOMT_S2_RAND_LEN))
		return SC_IGNORED;
	c->s2_code = p[0];
	if (p[0] == IOMT_S2_ERR_BUSY || p[0] == IOMT_S2_ERR_INTERNAL) {
		return back_off(c);
	}
	end_run(c);
	return SC_EREFUSED;
}

/* A COOKIE_REPLY (PROTOCOL.md §10.6): the gateway, under load, did not take
 * our M1. It carries nothing bound to the request (the gateway's cookie is
 * a MAC of our address and port under its key, which only the gateway can
 * check), so what the device checks is what it has: its M1 awaits M4 (not a
 * back-off, whose fresh M1 is due anyway), the payload is exactly 16 bytes
 * (iomt_wire_parse), and the run has taken fewer than SC_COOKIE_ROUNDS. A
 * forged one costs one wrapped resend, which the gateway refuses; the plain
 * M1's run stays valid (same R1), so its M4 still completes it. */
static int input_cookie(struct sc *c, const uint8_t *p)
{
	if (c->phase != SC_S2_AWAIT_M4 || c->cookies >= SC_COOKIE_ROUNDS)
		return SC_IGNORED;
	memcpy(c->cookie, p, IOMT_COOKIE_LEN);
	c->cookies++;
	c->phase = SC_S2_COOKIE;
	c->deadline_ms = c->drv->now_ms(c->ctx);
	return SC_OK;
}

int sc_s2_input(struct sc *c, const uint8_t *frame, size_t len, uint8_t sk[IOMT_S2_KEY_LEN])
{
	const uint8_t *p;
	size_t n;
	uint8_t type;

	if (!c || !frame || !sk)
		return IOMT_EINVAL;
	if (c->failed)
		return SC_EFAILED;
	/* A late M4 may still complete the run during the back-off. */
	if (c->phase == SC_S2_IDLE || c->id.state != IOMT_S2_DEV_AWAIT_M4)
		return SC_IGNORED;
	if (iomt_wire_parse(frame, len, &type, &p, &n))
		return SC_IGNORED;
	if (type == IOMT_MSG_S2_M4)
		return input_m4(c, p, n, sk);
	if (type == IOMT_MSG_S2_DEV_ERR)
		return input_err(c, p, n);
	if (type == IOMT_MSG_COOKIE_REPLY)
		return input_cookie(c, p);
	return SC_IGNORED;
}

int sc_s2_poll(struct sc *c, uint8_t *out, size_t cap, size_t *out_len)
{
	if (!c || !out || !out_len)
		return IOMT_EINVAL;
	if (c->failed)
		return SC_EFAILED;
	if (c->phase == SC_S2_IDLE || c->drv->now_ms(c->ctx) < c->deadline_ms)
		return SC_OK;
	if (c->phase == SC_S2_AWAIT_M4) {
		return back_off(c);
	}
	return send_m1(c, out, cap, out_len);
}

uint64_t sc_s2_deadline(const struct sc *c)
{
	return c->phase == SC_S2_IDLE ? 0 : c->deadline_ms;
}
