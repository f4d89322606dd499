/* SPDX-License-Identifier: MIT */
/* `iomt-sensor stream`: one seed-002 agreement of the streaming device (see stream.h). */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "clock.h"
#include "hex.h"
#include "iomt_err.h"
#include "lib/rt_daemon.h"
#include "lib/rt_log.h"
#include "net.h"
#include "show.h"
#include "stream.h"

enum { AGREE_MAX_DGRAM = 512 };

int stream_wait(struct streamer *s, uint64_t until_us)
{
	struct pollfd p = { .fd = s->sfd, .events = POLLIN };
	uint64_t now;

	while (!s->stop && (now = sensor_now_us()) < until_us) {
		uint64_t ms = (until_us - now + 999) / 1000;

		if (poll(&p, 1, ms > 3600000 ? 3600000 : (int)ms) > 0 &&
		    (rt_daemon_signal_read(s->sfd) & RT_SIG_STOP))
			s->stop = 1;
	}
	return s->stop ? -1 : 0;
}

int stream_stopped(struct streamer *s)
{
	struct pollfd p = { .fd = s->sfd, .events = POLLIN };

	if (!s->stop && poll(&p, 1, 0) > 0 && (rt_daemon_signal_read(s->sfd) & RT_SIG_STOP))
		s->stop = 1;
	return s->stop;
}

/* A core result other than SC_DONE / SC_IGNORED: 0 to go on waiting, -1. */
static int on_result(struct streamer *s, int k, const uint8_t *frame, size_t len)
{
	int err;

	switch (k) {
	case SC_SEND:
		err = sensor_net_send(s->fd, frame, len);
		if (err)
			rt_dbg("M1 not sent (%s): as if lost", strerror(-err));
		return 0;
	case SC_OK:
		return 0;       /* backing off, or a wrapped M1 due: at the core's deadline */
	case SC_ENOANSWER:
		rt_err("device %d: no answer from the MEC after %u attempts (timeout %llu ms%s): "
		       "giving up", s->o->device, s->core.attempt,
		       (unsigned long long)s->o->timeout_ms,
		       s->core.cookies ? "; under load: COOKIE_REPLY, and the wrapped M1 unanswered"
				       : "");
		return -1;
	case SC_EREFUSED:
		rt_err("device %d: agreement refused: %s: device stopped", s->o->device,
		       sensor_code_str(s->core.s2_code));
		return -1;
	default:
		rt_err("device %d: the agreement failed: %s", s->o->device,
		       k == SC_ERNG ? "no randomness" : iomt_strerror(k));
		return -1;
	}
}

/* Every queued datagram: 1 when SK is in sk, 0 to go on, -1 failed. */
static int on_readable(struct streamer *s, uint8_t sk[IOMT_S2_KEY_LEN])
{
	uint8_t buf[AGREE_MAX_DGRAM];
	ssize_t n;
	int k;

	while ((n = sensor_net_recv(s->fd, buf, sizeof(buf))) != -EAGAIN) {
		if (n < 0)
			continue;       /* too large, or ICMP for an earlier M1: the timeout decides */
		k = sc_s2_input(&s->core, buf, (size_t)n, sk);
		if (k == SC_DONE)
			return 1;
		if (k == SC_IGNORED) {
			rt_dbg("ignored a %zd-byte datagram (not for this run)", n);
			continue;
		}
		if (k == SC_ESTORE) {
			rt_err("%s: device %d: cannot persist the new identity: %s", s->o->state,
			       s->o->device, strerror(s->drv.err));
			rt_err("device %d: session key discarded unused; the state file keeps the "
			       "previous identity, which the TTP still accepts: device stopped",
			       s->o->device);
			return -1;
		}
		if (k == SC_OK && s->core.phase == SC_S2_COOKIE)
			rt_dbg("device %d: COOKIE_REPLY (round %u): M1 again in COOKIE_WRAP",
			       s->o->device, s->core.cookies);
		else if (k == SC_OK || k == SC_ENOANSWER)
			rt_info("device %d: MEC answered %s", s->o->device,
				sensor_code_str(s->core.s2_code));
		if (on_result(s, k, NULL, 0))
			return -1;
	}
	return 0;
}

static void log_done(struct streamer *s, const uint8_t sk[IOMT_S2_KEY_LEN], uint64_t t0)
{
	uint8_t h[IOMT_S2_DATA_HANDLE_LEN];
	char hx[2 * IOMT_S2_DATA_HANDLE_LEN + 1] = "?", fp[SENSOR_FP_HEX_LEN];

	if (!iomt_s2_data_handle(sk, h))
		iomt_hex_encode(h, sizeof(h), hx);
	rt_info("device %d: agreement %u done in %.1f ms: data session %s", s->o->device,
		s->agreements, (double)(sensor_now_us() - t0) / 1000, hx);
	if (rt_log_enabled(RT_LOG_DEBUG)) {
		sensor_sk_fingerprint(sk, fp);
		rt_dbg("device %d: agreement %u, sk fingerprint %s", s->o->device, s->agreements, fp);
	}
}

int stream_agree(struct streamer *s, uint8_t sk[IOMT_S2_KEY_LEN])
{
	struct pollfd p[2] = { { .fd = s->fd, .events = POLLIN }, { .fd = s->sfd, .events = POLLIN } };
	uint8_t frame[SC_WRAP_FRAME_LEN];
	uint64_t t0 = sensor_now_us(), now, due;
	size_t len = 0;
	int k, r;

	k = sc_s2_start(&s->core, frame, sizeof(frame), &len);
	for (;;) {
		if (on_result(s, k, frame, len))
			return -1;
		now = sensor_now_us() / 1000;
		due = sc_s2_deadline(&s->core);
		r = poll(p, 2, due <= now ? 0 : due - now > 3600000 ? 3600000 : (int)(due - now));
		if (r < 0 && errno != EINTR) {
			rt_err("poll: %s", strerror(errno));
			return -1;
		}
		if (r > 0 && p[1].revents && (rt_daemon_signal_read(s->sfd) & RT_SIG_STOP)) {
			s->stop = 1;
			rt_warn("device %d: interrupted during an agreement", s->o->device);
			return -1;
		}
		if (r > 0 && p[0].revents) {
			r = on_readable(s, sk);
			if (r)
				break;
			k = SC_OK;
			continue;
		}
		if (sensor_now_us() / 1000 < sc_s2_deadline(&s->core)) {
			k = SC_OK;
			continue;
		}
		if (s->core.phase == SC_S2_AWAIT_M4)
			rt_dbg("device %d: no M4 within %llu ms", s->o->device,
			       (unsigned long long)s->o->timeout_ms);
		k = sc_s2_poll(&s->core, frame, sizeof(frame), &len);
	}
	if (r < 0)
		return -1;
	s->agreements++;
	log_done(s, sk, t0);
	return 0;
}
