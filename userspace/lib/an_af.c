/* SPDX-License-Identifier: MIT */
/*
 * Atrial-fibrillation screening from RR intervals, after Dash et al. (2009):
 * windows of 128 RR intervals every 64; the 8 shortest and 8 longest are set
 * aside; irregular when the normalised RMSSD, the Shannon entropy of the RR
 * histogram and the turning-point count all say "random". Integer arithmetic
 * throughout. Method, thresholds and metrics: docs/ANALYSES.md.
 */
#include <string.h>

#include "analysis.h"
#include "iomt_err.h"

enum {
	AF_WIN = 128,             /* RR intervals per window */
	AF_STEP = 64,             /* a window every 64 intervals */
	AF_TRIM = 8,              /* shortest and longest set aside, each */
	AF_KEPT = AF_WIN - 2 * AF_TRIM,
	AF_BINS = 16,             /* histogram bins for the entropy */
	AF_RR_MIN_MS = 200,       /* valid RR: 20..300 beats per minute */
	AF_RR_MAX_MS = 3000,
	AF_NRMSSD_MIN_PPM = 100000,   /* nRMSSD > 0.1 */
	AF_SHE_MIN_PPM = 700000,      /* ShE > 0.7 */
	/* turning points of a random sequence of 128: mean (2N-4)/3 = 84,
	 * sd sqrt((16N-29)/90) = 4.74; accepted within 3 sd */
	AF_TP_MIN = 70,
	AF_TP_MAX = 98,
	AF_FAST_MEAN_US = 400000,     /* mean RR < 400 ms: rate > 150 per minute */
	AF_MAGIC = 0x49414631,        /* "IAF1": this layout */
};

/* Plain bytes, no padding: every field is written on its own. */
struct af_state {
	uint32_t magic;           /* AF_MAGIC */
	uint32_t zero;            /* keeps the layout free of padding */
	uint64_t t[AF_WIN];       /* ring: time of each interval */
	uint64_t last_t;          /* the last sample fed (valid when have_last) */
	uint32_t head;            /* next slot of the ring */
	uint32_t filled;          /* intervals in the ring, up to AF_WIN */
	uint32_t since_emit;      /* intervals since the last window */
	uint32_t have_last;
	uint16_t rr[AF_WIN];      /* ring: the intervals, ms */
};

static void af_init(void *state)
{
	struct af_state *st = state;

	memset(st, 0, sizeof(*st));
	st->magic = AF_MAGIC;
}

/* A blob from elsewhere (another version, damage) must not index out of the ring. */
static int af_state_ok(const struct af_state *st)
{
	return st->magic == AF_MAGIC && st->head < AF_WIN && st->filled <= AF_WIN &&
	       st->have_last <= 1;
}

static uint64_t isqrt64(uint64_t x)
{
	uint64_t r = 0, bit = 1ULL << 62;

	while (bit > x)
		bit >>= 2;
	while (bit) {
		if (x >= r + bit) {
			x -= r + bit;
			r = (r >> 1) + bit;
		} else {
			r >>= 1;
		}
		bit >>= 2;
	}
	return r;
}

/* log2(x) in Q32 for 1 <= x < 2^31, bit by bit (exact, deterministic). */
static uint64_t log2_q32(uint32_t x)
{
	int n = 31 - __builtin_clz(x);
	uint64_t y = (uint64_t)x << (31 - n);   /* Q31 in [1, 2) */
	uint64_t r = (uint64_t)n << 32;

	for (int i = 31; i >= 0; i--) {
		y = (y * y) >> 31;
		if (y >= 1ULL << 32) {
			y >>= 1;
			r |= 1ULL << i;
		}
	}
	return r;
}

/* The window's intervals, oldest first, and which of them are set aside. */
static void af_window(const struct af_state *st, uint16_t x[AF_WIN], uint8_t trim[AF_WIN])
{
	uint8_t idx[AF_WIN];

	for (int i = 0; i < AF_WIN; i++) {
		x[i] = st->rr[(st->head + i) % AF_WIN];
		trim[i] = 0;
	}
	/* insertion sort of the positions by (value, position) */
	for (int i = 0; i < AF_WIN; i++) {
		int j = i;

		while (j > 0 && x[idx[j - 1]] > x[i])
			j--;
		memmove(idx + j + 1, idx + j, (size_t)(i - j));
		idx[j] = (uint8_t)i;
	}
	for (int i = 0; i < AF_TRIM; i++) {
		trim[idx[i]] = 1;
		trim[idx[AF_WIN - 1 - i]] = 1;
	}
}

static int64_t af_entropy_ppm(const uint16_t x[AF_WIN], const uint8_t trim[AF_WIN])
{
	uint32_t lo = UINT32_MAX, hi = 0, count[AF_BINS] = { 0 };
	uint64_t acc = 0;

	for (int i = 0; i < AF_WIN; i++) {
		if (trim[i])
			continue;
		lo = x[i] < lo ? x[i] : lo;
		hi = x[i] > hi ? x[i] : hi;
	}
	if (hi == lo)
		return 0;
	for (int i = 0; i < AF_WIN; i++)
		if (!trim[i])
			count[(x[i] - lo) * AF_BINS / (hi - lo + 1)]++;
	/* H = sum c/n log2(n/c), normalised by log2(16) = 4 */
	for (int b = 0; b < AF_BINS; b++)
		if (count[b])
			acc += count[b] * (log2_q32(AF_KEPT) - log2_q32(count[b]));
	return (int64_t)(((acc / (AF_KEPT * 4)) * 1000000) >> 32);
}

static void af_result(const struct af_state *st, struct an_result *r)
{
	uint16_t x[AF_WIN];
	uint8_t trim[AF_WIN];
	uint64_t sum = 0, sumsq = 0, pairs = 0, mean_us, rmssd_us;
	int tp = 0;

	af_window(st, x, trim);
	for (int i = 0; i < AF_WIN; i++)
		if (!trim[i])
			sum += x[i];
	for (int i = 1; i < AF_WIN; i++) {
		int64_t d = (int64_t)x[i] - x[i - 1];

		if (!trim[i] && !trim[i - 1]) {
			sumsq += (uint64_t)(d * d);
			pairs++;
		}
	}
	for (int i = 1; i < AF_WIN - 1; i++)
		if ((x[i] > x[i - 1] && x[i] > x[i + 1]) || (x[i] < x[i - 1] && x[i] < x[i + 1]))
			tp++;
	mean_us = (sum * 1000 + AF_KEPT / 2) / AF_KEPT;
	rmssd_us = pairs ? isqrt64(sumsq * 1000000 / pairs) : 0;

	memset(r, 0, sizeof(*r));
	r->analysis = AN_ID_AF;
	r->win_start_ms = st->t[st->head % AF_WIN];
	r->win_end_ms = st->t[(st->head + AF_WIN - 1) % AF_WIN];
	r->n_samples = AF_WIN;
	r->metric[0] = (int64_t)mean_us;
	r->metric[1] = (int64_t)(rmssd_us * 1000000 / mean_us);
	r->metric[2] = af_entropy_ppm(x, trim);
	r->metric[3] = (int64_t)tp * 1000000 / (AF_WIN - 2);
	r->verdict = AN_VERDICT_NORMAL;
	if (r->metric[1] > AF_NRMSSD_MIN_PPM && r->metric[2] > AF_SHE_MIN_PPM &&
	    tp >= AF_TP_MIN && tp <= AF_TP_MAX)
		r->verdict = r->metric[0] < AF_FAST_MEAN_US ? AN_VERDICT_EMERGENCY
							    : AN_VERDICT_SUSPECT;
}

static void af_add(struct af_state *st, const struct an_sample *s,
		   void (*emit)(void *ctx, const struct an_result *r), void *ctx)
{
	if (st->have_last && s->t_ms - st->last_t > AN_GAP_MS) {
		/* a gap: the window in progress is abandoned */
		st->filled = 0;
		st->since_emit = 0;
	}
	st->rr[st->head] = (uint16_t)s->value;
	st->t[st->head] = s->t_ms;
	st->head = (st->head + 1) % AF_WIN;
	if (st->filled < AF_WIN)
		st->filled++;
	st->since_emit++;
	st->last_t = s->t_ms;
	st->have_last = 1;
	if (st->filled == AF_WIN && st->since_emit >= AF_STEP) {
		struct an_result r;

		af_result(st, &r);
		st->since_emit = 0;
		emit(ctx, &r);
	}
}

static int af_feed(void *state, const struct an_sample *s, size_t n,
		   void (*emit)(void *ctx, const struct an_result *r), void *ctx)
{
	struct af_state *st = state;
	int rc;

	if (!st || !emit || (n && !s))
		return IOMT_EINVAL;
	if (!af_state_ok(st))
		return IOMT_ESTATE;
	/* the whole batch is checked before anything changes */
	rc = an_batch_check(s, n, st->last_t, st->have_last != 0, AF_RR_MIN_MS, AF_RR_MAX_MS,
			    UINT64_MAX);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++)
		af_add(st, &s[i], emit, ctx);
	return 0;
}

const struct analysis_ops an_af_ops = {
	.name = "af",
	.id = AN_ID_AF,
	.kind = AN_KIND_RR,
	.state_size = sizeof(struct af_state),
	.init = af_init,
	.feed = af_feed,
};
