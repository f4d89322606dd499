/* SPDX-License-Identifier: MIT */
/*
 * Sleep-apnoea screening from SpO2: the 3 % oxygen desaturation index (ODI)
 * per hour of valid recording, and sustained hypoxaemia as an emergency.
 *
 * Samples are averaged per second of device time. A second's value is
 * compared with the baseline, the mean of the seconds with data among the
 * preceding 120 s (at least 60 of them). A desaturation starts at a second
 * at least 3 points (30 tenths) below the baseline, which is then frozen,
 * and counts as an event once it has lasted 10 s; it ends at the first
 * second back above baseline - 3 points. Seconds below 85 % for 30 s form
 * an emergency, reported at once. Windows are hours from the first sample.
 * Method, thresholds and metrics: docs/ANALYSES.md.
 */
#include <string.h>

#include "analysis.h"
#include "iomt_err.h"

enum {
	ODI_WIN_MS = 3600000,      /* one-hour windows, back to back */
	ODI_BASE_S = 120,          /* baseline: the preceding 120 s */
	ODI_BASE_MIN_S = 60,       /* ... of which at least 60 s with data */
	ODI_DROP = 30,             /* 3 percentage points, in tenths */
	ODI_EVENT_S = 10,          /* a desaturation counts after 10 s */
	ODI_MIN_VALID_S = 1800,    /* ODI needs half an hour of data in the window */
	ODI_SUSPECT_MILLI = 15000, /* ODI >= 15 per hour: moderate apnoea suspected */
	ODI_LOW = 850,             /* emergency: SpO2 < 85 % ... */
	ODI_LOW_S = 30,            /* ... for 30 s */
	ODI_VALUE_MAX = 1000,
	ODI_MAGIC = 0x494f4431,    /* "IOD1": this layout */
};

/* Plain bytes, no padding: every field is written on its own. */
struct odi_state {
	uint64_t w0_ms;            /* the first window's start (whole second) */
	uint64_t win_idx;          /* the window in progress */
	uint64_t last_t;           /* the last sample fed */
	uint64_t cur_sec;          /* the open second */
	uint64_t prev_sec;         /* the last closed second (when have_prev) */
	uint64_t dip_start;        /* desaturation: its first second */
	uint64_t dip_bsum;         /* ... its frozen baseline, sum / count */
	uint64_t low_start;        /* below 85 %: the first second */
	uint64_t bin_sum;          /* the open second: sum and count */
	uint32_t bin_cnt;
	uint32_t dip_bcnt;
	uint32_t started, have_prev, in_dip, dip_counted, in_low, low_fired;
	/* the window in progress */
	uint32_t n_samples, valid_s, events, emergencies;
	int32_t nadir;
	uint32_t magic;            /* ODI_MAGIC */
	int16_t ring[ODI_BASE_S];  /* second s at s % 120, -1 without data */
};

static void ring_clear(struct odi_state *st)
{
	for (int i = 0; i < ODI_BASE_S; i++)
		st->ring[i] = -1;
}

static void odi_init(void *state)
{
	struct odi_state *st = state;

	memset(st, 0, sizeof(*st));
	st->magic = ODI_MAGIC;
	ring_clear(st);
}

/* A blob from elsewhere (another version, damage): an open second always
 * holds a sample (it is divided by its count). */
static int odi_state_ok(const struct odi_state *st)
{
	return st->magic == ODI_MAGIC && st->started <= 1 && (!st->started || st->bin_cnt) &&
	       st->have_prev <= 1 && st->in_dip <= 1 && st->dip_counted <= 1 &&
	       st->in_low <= 1 && st->low_fired <= 1 && (!st->in_dip || st->dip_bcnt);
}

static void window_reset(struct odi_state *st)
{
	st->n_samples = 0;
	st->valid_s = 0;
	st->events = 0;
	st->emergencies = 0;
	st->nadir = ODI_VALUE_MAX;
}

/* The window in progress, from its start to end_ms. */
static void odi_result(const struct odi_state *st, uint64_t end_ms, uint8_t verdict,
		       struct an_result *r)
{
	memset(r, 0, sizeof(*r));
	r->analysis = AN_ID_ODI;
	r->win_start_ms = st->w0_ms + st->win_idx * ODI_WIN_MS;
	r->win_end_ms = end_ms;
	r->n_samples = st->n_samples;
	r->metric[0] = st->valid_s >= ODI_MIN_VALID_S
		? (int64_t)(((uint64_t)st->events * 3600000 + st->valid_s / 2) / st->valid_s)
		: -1;
	r->metric[1] = st->events;
	r->metric[2] = st->valid_s;
	r->metric[3] = st->valid_s ? st->nadir : -1;
	r->verdict = verdict;
}

static void baseline(const struct odi_state *st, uint64_t *sum, uint32_t *cnt)
{
	*sum = 0;
	*cnt = 0;
	for (int i = 0; i < ODI_BASE_S; i++)
		if (st->ring[i] >= 0) {
			*sum += (uint64_t)st->ring[i];
			(*cnt)++;
		}
}

/* v at least 3 points below the baseline sum / cnt (exact, no division). */
static int below(int32_t v, uint64_t sum, uint32_t cnt)
{
	return (uint64_t)(v + ODI_DROP) * cnt <= sum;
}

static void close_second(struct odi_state *st,
			 void (*emit)(void *ctx, const struct an_result *r), void *ctx)
{
	uint64_t sec = st->cur_sec, bsum;
	uint32_t bcnt;
	int32_t v = (int32_t)((st->bin_sum + st->bin_cnt / 2) / st->bin_cnt);

	/* the ring holds exactly the seconds sec-120 .. sec-1 */
	if (st->have_prev) {
		if (sec - st->prev_sec > ODI_BASE_S)
			ring_clear(st);
		else
			for (uint64_t s = st->prev_sec + 1; s < sec; s++)
				st->ring[s % ODI_BASE_S] = -1;
	}
	baseline(st, &bsum, &bcnt);

	if (st->in_dip && !below(v, st->dip_bsum, st->dip_bcnt))
		st->in_dip = 0;
	if (!st->in_dip && bcnt >= ODI_BASE_MIN_S && below(v, bsum, bcnt)) {
		st->in_dip = 1;
		st->dip_counted = 0;
		st->dip_start = sec;
		st->dip_bsum = bsum;
		st->dip_bcnt = bcnt;
	}
	if (st->in_dip && !st->dip_counted && sec - st->dip_start + 1 >= ODI_EVENT_S) {
		st->dip_counted = 1;
		st->events++;
	}

	st->valid_s++;
	if (v < st->nadir)
		st->nadir = v;
	st->ring[sec % ODI_BASE_S] = (int16_t)v;
	st->prev_sec = sec;
	st->have_prev = 1;

	if (v >= ODI_LOW) {
		st->in_low = 0;
	} else if (!st->in_low) {
		st->in_low = 1;
		st->low_fired = 0;
		st->low_start = sec;
	}
	if (st->in_low && !st->low_fired && sec - st->low_start + 1 >= ODI_LOW_S) {
		struct an_result r;

		st->low_fired = 1;
		st->emergencies++;
		odi_result(st, st->last_t, AN_VERDICT_EMERGENCY, &r);
		emit(ctx, &r);
	}
}

static void odi_add(struct odi_state *st, const struct an_sample *s,
		    void (*emit)(void *ctx, const struct an_result *r), void *ctx)
{
	uint64_t sec = s->t_ms / 1000, idx;

	if (!st->started) {
		st->started = 1;
		st->w0_ms = sec * 1000;
		st->win_idx = 0;
		window_reset(st);
	} else if (sec > st->cur_sec) {
		close_second(st, emit, ctx);
		if (s->t_ms - st->last_t > AN_GAP_MS) {
			/* a gap: no baseline, desaturation or low spell spans it */
			ring_clear(st);
			st->have_prev = 0;
			st->in_dip = 0;
			st->in_low = 0;
		}
	}
	idx = (s->t_ms - st->w0_ms) / ODI_WIN_MS;
	if (idx > st->win_idx) {
		struct an_result r;
		uint8_t verdict = AN_VERDICT_NORMAL;

		odi_result(st, st->w0_ms + (st->win_idx + 1) * ODI_WIN_MS - 1, 0, &r);
		if (st->emergencies)
			verdict = AN_VERDICT_EMERGENCY;
		else if (r.metric[0] >= ODI_SUSPECT_MILLI)
			verdict = AN_VERDICT_SUSPECT;
		r.verdict = verdict;
		st->win_idx = idx;
		window_reset(st);
		emit(ctx, &r);
	}
	if (sec != st->cur_sec || !st->bin_cnt) {
		st->cur_sec = sec;
		st->bin_sum = 0;
		st->bin_cnt = 0;
	}
	st->bin_sum += (uint64_t)s->value;
	st->bin_cnt++;
	st->n_samples++;
	st->last_t = s->t_ms;
}

static int odi_feed(void *state, const struct an_sample *s, size_t n,
		    void (*emit)(void *ctx, const struct an_result *r), void *ctx)
{
	struct odi_state *st = state;
	int rc;

	if (!st || !emit || (n && !s))
		return IOMT_EINVAL;
	if (!odi_state_ok(st))
		return IOMT_ESTATE;
	/* the whole batch is checked before anything changes (a window's end
	 * must not wrap) */
	rc = an_batch_check(s, n, st->last_t, st->started != 0, 0, ODI_VALUE_MAX,
			    UINT64_MAX - ODI_WIN_MS);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++)
		odi_add(st, &s[i], emit, ctx);
	return 0;
}

const struct analysis_ops an_odi_ops = {
	.name = "odi",
	.id = AN_ID_ODI,
	.kind = AN_KIND_SPO2,
	.state_size = sizeof(struct odi_state),
	.init = odi_init,
	.feed = odi_feed,
};
