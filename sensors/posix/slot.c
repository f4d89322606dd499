/* SPDX-License-Identifier: MIT */
/* One device in flight: sensors/core driven by `iomt-sensor run` (see runner.h). */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "ct.h"
#include "iomt_err.h"
#include "lib/rt_log.h"
#include "lib/rt_rng.h"
#include "net.h"
#include "runner.h"
#include "show.h"

enum {
	SLOT_DGRAMS_PER_WAKEUP = 16,    /* then let the other slots run */
	SLOT_MAX_DGRAM = 512,           /* larger than any frame we accept */
};

/* The --drop-m4 coin: never key material. */
static uint32_t random_u32(void)
{
	uint32_t v;

	return rt_random(&v, sizeof(v)) ? 0 : v;
}

static void fail_device(struct runner *r, struct slot *s, enum sensor_fail why, uint8_t code)
{
	stats_fail(&r->st, s->dev_idx, why, code);
	slot_release(r, s);
}

void slot_release(struct runner *r, struct slot *s)
{
	if (s->phase == SLOT_FREE)
		return;
	close(s->fd); /* also leaves the epoll set */
	sc_wipe(&s->core);
	s->fd = -1;
	s->phase = SLOT_FREE;
	r->active--;
}

static int open_socket(struct runner *r, struct slot *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };
	int fd = sensor_net_socket(&r->o->mec_addr), err;

	if (fd < 0) {
		rt_err("device %zu: no UDP socket: %s", s->dev_idx, strerror(-fd));
		return -1;
	}
	if (epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		err = errno;
		rt_err("device %zu: epoll_ctl: %s", s->dev_idx, strerror(err));
		close(fd);
		return -1;
	}
	s->fd = fd;
	return 0;
}

int slot_acquire(struct runner *r, struct slot *s, uint64_t now)
{
	const struct sc_conf conf = { (uint32_t)r->o->timeout_ms, (unsigned)r->o->retries };
	int k;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->dev_idx = r->next_dev++;
	k = sensor_store_load(&r->state, &s->drv, s->dev_idx, &s->core, &conf);
	if (k || !s->core.has_id) {
		rt_err("%s: device %zu: %s", r->o->state, s->dev_idx,
		       k ? "no good state slot (never provisioned, or damaged)"
			 : "holds no device identity (never provisioned)");
		sc_wipe(&s->core);
		stats_fail(&r->st, s->dev_idx, FAIL_STATE_READ, 0);
		return -1;
	}
	if (open_socket(r, s)) {
		sc_wipe(&s->core);
		stats_fail(&r->st, s->dev_idx, FAIL_SOCKET, 0);
		return -1;
	}
	s->phase = SLOT_READY;
	s->deadline_us = now;
	r->active++;
	return 0;
}

/* The core's M1 (first, retry, or again in COOKIE_WRAP) out; a send error
 * is a lost M1. */
static void send_m1(struct runner *r, struct slot *s, uint8_t *frame, size_t len)
{
	size_t c1 = IOMT_WIRE_HDR_LEN + 2 * IOMT_S2_ID_LEN;	/* first byte of c1_i */
	int err;

	if (frame[1] == IOMT_MSG_COOKIE_WRAP)
		c1 += IOMT_WIRE_HDR_LEN + IOMT_COOKIE_LEN;
	if (r->o->corrupt_m1)
		frame[c1] ^= 0x01;
	err = sensor_net_send(s->fd, frame, len);
	if (err)
		rt_dbg("device %zu: M1 not sent (%s): as if lost", s->dev_idx, strerror(-err));
	s->busy_code = 0;
}

/* Rate limit without bursts: one new agreement per 1/rate seconds. */
static int take_token(struct runner *r, uint64_t now)
{
	if (r->o->rate_per_s <= 0)
		return 1;
	if (now < r->next_token_us)
		return 0;
	r->next_token_us = now + (uint64_t)(1e6 / r->o->rate_per_s);
	return 1;
}

static void give_up(struct runner *r, struct slot *s)
{
	unsigned n = s->core.attempt;

	if (s->busy_code) {
		rt_err("device %zu: MEC still answering %s after %u attempts: giving up",
		       s->dev_idx, sensor_code_str(s->busy_code), n);
		fail_device(r, s, FAIL_REFUSED, s->busy_code);
		return;
	}
	rt_err("device %zu: no answer from the MEC after %u attempt%s (timeout %llu ms%s): "
	       "giving up", s->dev_idx, n, n > 1 ? "s" : "", (unsigned long long)r->o->timeout_ms,
	       s->core.cookies ? "; under load: COOKIE_REPLY, and the wrapped M1 unanswered" : "");
	fail_device(r, s, FAIL_NO_ANSWER, 0);
}

/* The outcome of a core call other than SC_DONE / SC_IGNORED. */
static void on_result(struct runner *r, struct slot *s, int k, uint8_t *frame, size_t len,
		      uint8_t phase_before)
{
	switch (k) {
	case SC_SEND:
		send_m1(r, s, frame, len);
		break;
	case SC_OK:
		/* A back-off began (a timeout, or BUSY / INTERNAL): one retry. */
		if (phase_before == SC_S2_AWAIT_M4 && s->core.phase == SC_S2_BACKOFF)
			r->st.retries++;
		break;
	case SC_ENOANSWER:
		give_up(r, s);
		return;
	case SC_EREFUSED:
		rt_err("device %zu: agreement refused: %s: device stopped", s->dev_idx,
		       sensor_code_str(s->core.s2_code));
		fail_device(r, s, FAIL_REFUSED, s->core.s2_code);
		return;
	default:
		rt_err("device %zu: the agreement failed: %s", s->dev_idx,
		       k == SC_ERNG ? "no randomness" : iomt_strerror(k));
		fail_device(r, s, FAIL_INTERNAL, 0);
		return;
	}
	s->deadline_us = sc_s2_deadline(&s->core) * 1000;
}

void slot_due(struct runner *r, struct slot *s, uint64_t now)
{
	uint8_t frame[SC_WRAP_FRAME_LEN], before = s->core.phase;
	size_t len = 0;
	int k;

	switch (s->phase) {
	case SLOT_READY:
		if (!take_token(r, now)) {
			s->deadline_us = r->next_token_us;
			return;
		}
		s->started_us = now;
		s->phase = SLOT_RUNNING;
		k = sc_s2_start(&s->core, frame, sizeof(frame), &len);
		break;
	case SLOT_RUNNING:
		if (before == SC_S2_AWAIT_M4)
			rt_dbg("device %zu: no M4 within %llu ms", s->dev_idx,
			       (unsigned long long)r->o->timeout_ms);
		k = sc_s2_poll(&s->core, frame, sizeof(frame), &len);
		break;
	default:
		return;
	}
	on_result(r, s, k, frame, len, before);
}

/* SC_DONE: the core stored the rotated identity before handing SK over. */
static void on_done(struct runner *r, struct slot *s, const uint8_t sk[IOMT_S2_KEY_LEN],
		    uint64_t now)
{
	char fp[SENSOR_FP_HEX_LEN];

	s->done++;
	r->st.ok++;
	stats_latency(&r->st, now - s->started_us);
	if (rt_log_enabled(RT_LOG_DEBUG)) {
		sensor_sk_fingerprint(sk, fp);
		rt_dbg("device %zu: agreement %u done, sk fingerprint %s", s->dev_idx, s->done, fp);
	}
	if (s->done == (unsigned)r->o->agreements) {
		slot_release(r, s);
		return;
	}
	s->phase = SLOT_READY;
	s->deadline_us = now;
}

/* --drop-m4: a lost M4, decided before looking at it. */
static int drop_m4(struct runner *r, struct slot *s, const uint8_t *buf, size_t len)
{
	if (!r->o->drop_m4_ppm || len < IOMT_WIRE_HDR_LEN || buf[1] != IOMT_MSG_S2_M4)
		return 0;
	if (random_u32() % 1000000u >= r->o->drop_m4_ppm)
		return 0;
	rt_dbg("device %zu: M4 dropped (--drop-m4)", s->dev_idx);
	return 1;
}

static void on_datagram(struct runner *r, struct slot *s, const uint8_t *buf, size_t len,
			uint64_t now)
{
	uint8_t sk[IOMT_S2_KEY_LEN], before = s->core.phase;
	int k;

	if (drop_m4(r, s, buf, len))
		return;
	k = sc_s2_input(&s->core, buf, len, sk);
	switch (k) {
	case SC_IGNORED:
		r->st.ignored++;
		rt_dbg("device %zu: ignored a %zu-byte datagram (not for this run)", s->dev_idx, len);
		return;
	case SC_DONE:
		on_done(r, s, sk, now);
		iomt_wipe(sk, sizeof(sk));
		return;
	case SC_ESTORE:
		rt_err("%s: device %zu: cannot persist the new identity: %s", r->o->state,
		       s->dev_idx, strerror(s->drv.err));
		rt_err("device %zu: session key discarded unused; the state file keeps the previous "
		       "identity, which the TTP still accepts: device stopped", s->dev_idx);
		fail_device(r, s, FAIL_STATE_WRITE, 0);
		return;
	case SC_OK:
		if (s->core.phase == SC_S2_COOKIE) {
			/* the MEC under load: the M1 goes again, wrapped, at once */
			r->st.cookies++;
			rt_dbg("device %zu: COOKIE_REPLY (round %u): M1 again in COOKIE_WRAP",
			       s->dev_idx, s->core.cookies);
			break;
		}
		/* fall through */
	case SC_ENOANSWER:
		s->busy_code = s->core.s2_code;
		rt_info("device %zu: MEC answered %s", s->dev_idx, sensor_code_str(s->busy_code));
		break;
	default:
		break;
	}
	on_result(r, s, k, NULL, 0, before);
}

void slot_readable(struct runner *r, struct slot *s, uint64_t now)
{
	uint8_t buf[SLOT_MAX_DGRAM];
	int i;

	/* The core decides what a datagram is for (a late M4 still counts). */
	for (i = 0; i < SLOT_DGRAMS_PER_WAKEUP && s->phase != SLOT_FREE; i++) {
		ssize_t n = sensor_net_recv(s->fd, buf, sizeof(buf));

		if (n == -EAGAIN)
			break;
		if (n == -EMSGSIZE) {
			r->st.ignored++;
			continue;
		}
		if (n < 0) {
			/* ICMP for an earlier M1 (MEC not listening): the timeout handles it. */
			rt_dbg("device %zu: recv: %s", s->dev_idx, strerror((int)-n));
			continue;
		}
		on_datagram(r, s, buf, (size_t)n, now);
	}
}
