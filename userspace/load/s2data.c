/* SPDX-License-Identifier: MIT */
/*
 * The s2data mode (seed 002 phase 4, PROTOCOL.md §8): every sensor is one
 * device of --prov. Its set-up is one seed-002 agreement with the MEC role
 * (the agree mode's steps: M1 -> M4, d3 checked, identity rotated); the
 * measured run then streams S2_DATA frames of --samples samples sealed under
 * that SK (lib/s2_data.h: handle, counter from 1, AES-128-CCM), fire and
 * forget: the MEC answers none, so "ok" counts frames sent and "rate" is
 * frames per second; the MEC's iomt_gwd_data_frames_total{result="ok"} says
 * how many verified. The samples are the synthetic sinus rhythm of
 * userspace/lib/synth.h (seed = the sensor's index, times from now), so the
 * MEC's AF analysis has real input. A session that reaches the sender's
 * limit (2^24 frames or 50 min: far beyond a load run) counts errors.
 * --prov-out saves the rotated identities, as for agree.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ct.h"
#include "iomt_err.h"
#include "lib/synth.h"
#include "modes.h"
#include "s2_data.h"

struct s2_slot {
	struct iomt_s2_data_tx tx;	/* secret */
	struct synth gen;
	int live;
};

static struct s2_slot *ss;

static uint64_t mono_ms(void)
{
	return load_now_us() / 1000;
}

static int s2_init(struct load_run *r, struct load_slot *s)
{
	struct timespec now;

	if (!ss && !(ss = calloc(r->o->sensors, sizeof(*ss))))
		return -1;
	if (load_agree_init(r, s))
		return -1;
	s->ready = 0;	/* the agreement is the set-up step */
	clock_gettime(CLOCK_REALTIME, &now);
	synth_init(&ss[s->idx].gen, SYNTH_SINUS, s->idx,
		   (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000, UINT64_MAX);
	return 0;
}

static long s2_next(struct load_run *r, struct load_slot *s, uint8_t *buf, size_t cap,
		    const struct sockaddr_storage **to, socklen_t *tolen)
{
	const struct load_args *a = r->mctx;
	struct iomt_s2_sample smp[IOMT_S2_DATA_SAMPLES_MAX];
	struct s2_slot *x = &ss[s->idx];
	size_t len = 0;
	int rc;

	(void)to, (void)tolen;
	if (!s->ready)
		return load_agree_m1(r, s, buf, cap);
	for (unsigned i = 0; i < a->samples; i++)
		synth_next(&x->gen, &smp[i]);
	rc = iomt_s2_data_seal(&x->tx, mono_ms(), smp, a->samples, buf, cap, &len);
	if (rc) {
		load_note(r, "s2data: sensor %u: cannot seal a frame (%d%s)", s->idx, rc,
			  rc == IOMT_ESTATE ? ": the session's limit, agree again" : "");
		return -1;
	}
	return (long)len;
}

static enum load_verdict s2_reply(struct load_run *r, struct load_slot *s, const uint8_t *buf,
				  size_t len)
{
	struct s2_slot *x = &ss[s->idx];
	uint8_t sk[IOMT_S2_KEY_LEN];
	enum load_verdict v = load_agree_reply(r, s, buf, len, sk);

	if (v == LOAD_DONE) {
		if (x->live)
			iomt_s2_data_tx_wipe(&x->tx);
		x->live = !iomt_s2_data_tx_init(&x->tx, sk, mono_ms());
		v = x->live ? LOAD_READY : LOAD_FAIL;
	}
	iomt_wipe(sk, sizeof(sk));
	return v;
}

const struct load_mode load_mode_s2data = {
	.name = "s2data", .fire_and_forget = 1, .init = s2_init, .next = s2_next,
	.reply = s2_reply,
};
