/* SPDX-License-Identifier: MIT */
/* One device in flight: the slot state machine of `iomt-sensor run` (see runner.h). */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "agree.h"
#include "ct.h"
#include "iomt_err.h"
#include "lib/rt_log.h"
#include "lib/rt_rng.h"
#include "net.h"
#include "runner.h"
#include "state.h"

enum { SLOT_DGRAMS_PER_WAKEUP = 16 };   /* then let the other slots run */

/* Jitter and the --drop-m4 coin: never key material. */
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
	iomt_s2_device_wipe(&s->dev);
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
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->dev_idx = r->next_dev++;
	if (sensor_state_load(r->state, r->o->state, s->dev_idx, &s->dev)) {
		stats_fail(&r->st, s->dev_idx, FAIL_STATE_READ, 0);
		return -1;
	}
	if (open_socket(r, s)) {
		iomt_s2_device_wipe(&s->dev);
		stats_fail(&r->st, s->dev_idx, FAIL_SOCKET, 0);
		return -1;
	}
	s->phase = SLOT_READY;
	s->deadline_us = now;
	r->active++;
	return 0;
}

/* A fresh run: new R1, M1 out, wait for M4. A send error is a lost M1. */
static void send_m1(struct runner *r, struct slot *s, uint64_t now)
{
	uint8_t r1[IOMT_S2_RAND_LEN], frame[SENSOR_M1_FRAME_LEN];
	int err = rt_random(r1, sizeof(r1));

	if (err) {
		rt_err("device %zu: no randomness for R1: %s", s->dev_idx, strerror(-err));
		fail_device(r, s, FAIL_INTERNAL, 0);
		return;
	}
	err = sensor_agree_m1(&s->dev, r1, frame);
	if (err) {
		rt_err("device %zu: cannot start a run: %s", s->dev_idx, iomt_strerror(err));
		fail_device(r, s, FAIL_INTERNAL, 0);
		return;
	}
	if (r->o->corrupt_m1)
		frame[IOMT_WIRE_HDR_LEN + 2 * IOMT_S2_ID_LEN] ^= 0x01; /* first byte of c1_i */
	err = sensor_net_send(s->fd, frame, sizeof(frame));
	if (err)
		rt_dbg("device %zu: M1 not sent (%s): as if lost", s->dev_idx, strerror(-err));
	s->phase = SLOT_AWAIT_M4;
	s->deadline_us = now + r->o->timeout_ms * 1000;
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

/* Timeout or BUSY: back off and start afresh, within the retry budget. */
static void retry_later(struct runner *r, struct slot *s, uint64_t now, uint8_t busy_code)
{
	if (s->attempt >= (unsigned)r->o->retries) {
		if (busy_code) {
			rt_err("device %zu: MEC still answering %s after %u attempts: giving up",
			       s->dev_idx, sensor_code_str(busy_code), s->attempt + 1);
			fail_device(r, s, FAIL_REFUSED, busy_code);
		} else {
			rt_err("device %zu: no answer from the MEC after %u attempt%s (timeout %llu ms): "
			       "giving up", s->dev_idx, s->attempt + 1, s->attempt ? "s" : "",
			       (unsigned long long)r->o->timeout_ms);
			fail_device(r, s, FAIL_NO_ANSWER, 0);
		}
		return;
	}
	s->attempt++;
	r->st.retries++;
	s->phase = SLOT_BACKOFF;
	s->deadline_us = now + 1000ull * sensor_backoff_ms((uint32_t)r->o->timeout_ms, s->attempt,
							   random_u32());
}

void slot_due(struct runner *r, struct slot *s, uint64_t now)
{
	switch (s->phase) {
	case SLOT_READY:
		if (!take_token(r, now)) {
			s->deadline_us = r->next_token_us;
			return;
		}
		s->attempt = 0;
		s->started_us = now;
		send_m1(r, s, now);
		return;
	case SLOT_AWAIT_M4:
		rt_dbg("device %zu: no M4 within %llu ms", s->dev_idx,
		       (unsigned long long)r->o->timeout_ms);
		retry_later(r, s, now, 0);
		return;
	case SLOT_BACKOFF:
		send_m1(r, s, now);
		return;
	case SLOT_FREE:
		return;
	}
}

/* M4 verified: persist first, then adopt the new identity and use SK. */
static void on_done(struct runner *r, struct slot *s, const struct iomt_s2_device *next,
		    const uint8_t sk[IOMT_S2_KEY_LEN], uint64_t now)
{
	char fp[SENSOR_FP_HEX_LEN];

	if (sensor_state_save(r->state, r->o->state, s->dev_idx, next)) {
		rt_err("device %zu: session key discarded unused; the state file keeps the previous "
		       "identity, which the TTP still accepts: device stopped", s->dev_idx);
		fail_device(r, s, FAIL_STATE_WRITE, 0);
		return;
	}
	s->dev = *next;
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
	struct iomt_s2_device next;
	uint8_t sk[IOMT_S2_KEY_LEN], code = 0;

	if (drop_m4(r, s, buf, len))
		return;
	switch (sensor_agree_input(&s->dev, buf, len, &next, sk, &code)) {
	case SENSOR_IN_IGNORED:
		r->st.ignored++;
		rt_dbg("device %zu: ignored a %zu-byte datagram (not for this run)", s->dev_idx, len);
		return;
	case SENSOR_IN_DONE:
		on_done(r, s, &next, sk, now);
		break;
	case SENSOR_IN_RETRY:
		rt_info("device %zu: MEC answered %s", s->dev_idx, sensor_code_str(code));
		retry_later(r, s, now, code);
		return;
	case SENSOR_IN_REFUSED:
		rt_err("device %zu: agreement refused: %s: device stopped", s->dev_idx,
		       sensor_code_str(code));
		fail_device(r, s, FAIL_REFUSED, code);
		return;
	}
	iomt_wipe(sk, sizeof(sk));
	iomt_s2_device_wipe(&next);
}

void slot_readable(struct runner *r, struct slot *s, uint64_t now)
{
	uint8_t buf[SENSOR_MAX_DGRAM];
	int i;

	/* Only AWAIT_M4 and BACKOFF have a run pending (a late M4 still counts). */
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
