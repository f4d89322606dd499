/* SPDX-License-Identifier: MIT */
/* `iomt-sensor stream`: samples to the MEC in S2_DATA frames (see stream.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "ct.h"
#include "iomt_err.h"
#include "lib/rt_daemon.h"
#include "lib/rt_log.h"
#include "net.h"
#include "stream.h"

/* ---- the samples ---- */

static int source_peek(struct streamer *s, struct iomt_s2_sample *out)
{
	if (!s->has_next) {
		if (s->o->samples[0]) {
			if (s->pos == s->list.n)
				return 0;
			s->next = s->list.s[s->pos++];
		} else if (!synth_next(&s->gen, &s->next)) {
			return 0;
		}
		s->has_next = 1;
	}
	*out = s->next;
	return 1;
}

/* The next frame's samples: up to --batch, within --span of device time
 * (and under 2^32 ms, the format's limit). 0 when none are left. */
static size_t take_frame(struct streamer *s, struct iomt_s2_sample *f)
{
	uint64_t span = s->o->span_ms ? s->o->span_ms : UINT32_MAX;
	size_t n = 0;

	if (span > UINT32_MAX)
		span = UINT32_MAX;
	while (n < (size_t)s->o->batch && source_peek(s, &f[n]) &&
	       (!n || f[n].t_ms - f[0].t_ms < span)) {
		s->has_next = 0;
		n++;
	}
	return n;
}

/* ---- frames ---- */

static int send_frame(struct streamer *s, const uint8_t *fr, size_t len)
{
	struct pollfd p = { .fd = s->fd, .events = POLLOUT };
	int err = sensor_net_send(s->fd, fr, len);

	if (err == -EAGAIN && poll(&p, 1, 1000) > 0)
		err = sensor_net_send(s->fd, fr, len);
	if (!err)
		return 0;
	if (!s->send_errors++)
		rt_err("device %d: frame %llu not sent: %s", s->o->device,
		       (unsigned long long)s->frames + 1, strerror(-err));
	return -1;
}

/* A session under a fresh SK (the previous one ended). */
static int new_session(struct streamer *s)
{
	uint8_t sk[IOMT_S2_KEY_LEN];
	int r;

	if (s->live) {
		sc_s2data_end(&s->data);
		s->live = 0;
	}
	if (stream_agree(s, sk))
		return -1;
	r = sc_s2data_start(&s->data, &s->core, sk);
	iomt_wipe(sk, sizeof(sk));
	if (r) {
		rt_err("device %d: data session: %s", s->o->device, iomt_strerror(r));
		return -1;
	}
	s->live = 1;
	s->session_frames = 0;
	return 0;
}

static void progress(struct streamer *s, uint64_t now)
{
	if (!s->o->progress_ms || now < s->next_progress_us)
		return;
	if (s->next_progress_us)
		rt_info("device %d: %llu frames, %llu samples, %u agreements so far", s->o->device,
			(unsigned long long)s->frames, (unsigned long long)s->samples,
			s->agreements);
	s->next_progress_us = now + s->o->progress_ms * 1000;
}

/* Seals and sends f[0..n), starting a session first when there is none
 * (or the core ended it, or --rekey-frames says so). */
static int stream_frame(struct streamer *s, const struct iomt_s2_sample *f, size_t n)
{
	uint8_t fr[SC_S2DATA_FRAME_MAX];
	size_t len = 0;
	int k, fresh = 0;

	for (;;) {
		if (s->o->rekey_frames && s->live && s->session_frames >= (uint64_t)s->o->rekey_frames) {
			rt_info("device %d: %llu frames under this key (--rekey-frames): new agreement",
				s->o->device, (unsigned long long)s->session_frames);
			sc_s2data_end(&s->data);
			s->live = 0;
		}
		if (!s->live) {
			if (fresh) {
				rt_err("device %d: a fresh data session refuses to seal (clock?)",
				       s->o->device);
				return -1;
			}
			if (new_session(s))
				return -1;
			fresh = 1;
		}
		k = sc_s2data_seal(&s->data, &s->core, f, n, fr, sizeof(fr), &len);
		if (k == SC_SEND)
			break;
		if (k != SC_EREKEY) {
			rt_err("device %d: cannot seal a frame: %s", s->o->device, iomt_strerror(k));
			return -1;
		}
		rt_info("device %d: the data session reached its limit: new agreement", s->o->device);
		s->live = 0;    /* the core wiped it */
	}
	if (s->o->rate_per_s > 0) {
		if (stream_wait(s, s->next_frame_us))
			return -1;
		s->next_frame_us = sensor_now_us() + (uint64_t)(1e6 / s->o->rate_per_s);
	} else if (stream_stopped(s)) {
		return -1;
	}
	if (send_frame(s, fr, len))
		return -1;
	s->frames++;
	s->session_frames++;
	s->samples += n;
	progress(s, sensor_now_us());
	return 0;
}

static int stream_all(struct streamer *s)
{
	static struct iomt_s2_sample f[IOMT_S2_DATA_SAMPLES_MAX];
	size_t n;

	progress(s, sensor_now_us());
	while ((n = take_frame(s, f)) > 0)
		if (stream_frame(s, f, n))
			return -1;
	return 0;
}

/* ---- the command ---- */

static int streamer_open(struct streamer *s, const struct stream_opts *o)
{
	const struct sc_conf conf = { (uint32_t)o->timeout_ms, (unsigned)o->retries };
	int k;

	if (o->samples[0] && samples_load(o->samples, &s->list))
		return -1;
	if (!o->samples[0])
		synth_init(&s->gen, o->profile, o->seed_v, o->t0_ms, o->duration_ms);
	if (sensor_store_open(&s->state, o->state))
		return -1;
	if ((size_t)o->device >= s->state.ndev) {
		rt_err("%s holds %zu devices; there is no device %d", o->state, s->state.ndev,
		       o->device);
		return -1;
	}
	k = sensor_store_load(&s->state, &s->drv, (size_t)o->device, &s->core, &conf);
	if (k || !s->core.has_id) {
		rt_err("%s: device %d: %s", o->state, o->device,
		       k ? "no good state slot (never provisioned, or damaged)"
			 : "holds no device identity (never provisioned)");
		return -1;
	}
	s->fd = sensor_net_socket(&o->mec_addr);
	if (s->fd < 0) {
		rt_err("device %d: no UDP socket: %s", o->device, strerror(-s->fd));
		return -1;
	}
	return 0;
}

static void streamer_close(struct streamer *s)
{
	if (s->live)
		sc_s2data_end(&s->data);
	sc_wipe(&s->core);
	if (s->fd >= 0)
		close(s->fd);
	sensor_store_close(&s->state);
	samples_free(&s->list);
}

static void summary(const struct streamer *s, int ok, FILE *out)
{
	double ms = (double)(sensor_now_us() - s->start_us) / 1000;
	double fps = ms > 0 ? (double)s->frames * 1000 / ms : 0;
	unsigned rekeys = s->agreements ? s->agreements - 1 : 0;

	if (s->o->json) {
		fprintf(out, "{\"ok\":%s,\"frames\":%llu,\"samples\":%llu,\"agreements\":%u,"
			     "\"rekeys\":%u,\"send_errors\":%llu,\"elapsed_ms\":%.1f,"
			     "\"frames_per_s\":%.1f}\n", ok ? "true" : "false",
			(unsigned long long)s->frames, (unsigned long long)s->samples,
			s->agreements, rekeys, (unsigned long long)s->send_errors, ms, fps);
		return;
	}
	fprintf(out, "frames %llu, samples %llu, agreements %u (rekeys %u), send errors %llu; "
		     "%.1f ms, %.0f frames/s%s\n", (unsigned long long)s->frames,
		(unsigned long long)s->samples, s->agreements, rekeys,
		(unsigned long long)s->send_errors, ms, fps, ok ? "" : "; FAILED");
}

int sensor_stream_main(int argc, char *const argv[])
{
	static struct stream_opts o;
	static struct streamer s;
	int rc;

	rc = stream_opts_parse(&o, argc, argv);
	if (rc)
		return rc > 0 ? 0 : 2;
	memset(&s, 0, sizeof(s));
	s.o = &o;
	s.fd = -1;
	s.state.fd = -1;
	s.sfd = rt_daemon_signals();
	if (s.sfd < 0) {
		rt_err("signalfd: %s", strerror(-s.sfd));
		return 1;
	}
	rc = streamer_open(&s, &o);
	if (!rc) {
		s.start_us = sensor_now_us();
		rc = stream_all(&s);
		if (s.stop)
			rt_warn("device %d: interrupted", o.device);
		summary(&s, !rc, stdout);
	}
	streamer_close(&s);
	close(s.sfd);
	return rc ? 1 : 0;
}
