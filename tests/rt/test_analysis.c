/* SPDX-License-Identifier: MIT */
/* analysis: the registry, the 54-byte result encoding (round trip and a
 * fixed vector), and known answers of the AF and ODI analyses on synthetic
 * signals from a seeded generator: verdicts, metrics, windows, chunked
 * feeding with the state copied between chunks, gaps and bad input. */
#include <stdlib.h>

#include "harness.h"
#include "iomt_err.h"
#include "lib/analysis.h"

enum { MAX_RES = 512 };
static const uint64_t T0 = 1700000000000ULL;   /* device time of the first sample */

struct results {
	size_t n;
	struct an_result r[MAX_RES];
};

static void collect(void *ctx, const struct an_result *r)
{
	struct results *res = ctx;

	if (res->n < MAX_RES)
		res->r[res->n] = *r;
	res->n++;
}

/* splitmix64: deterministic, seeded */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int32_t uniform(uint64_t *s, int32_t lo, int32_t hi)
{
	return lo + (int32_t)(rng_next(s) % (uint64_t)(hi - lo + 1));
}

/* n RR intervals uniform in [lo, hi] ms, each stamped with its beat's time. */
static struct an_sample *rr_stream(uint64_t seed, size_t n, int32_t lo, int32_t hi)
{
	struct an_sample *s = calloc(n, sizeof(*s));
	uint64_t t = T0;

	for (size_t i = 0; s && i < n; i++) {
		s[i].value = uniform(&seed, lo, hi);
		t += (uint64_t)s[i].value;
		s[i].t_ms = t;
	}
	return s;
}

/* Feeds in chunks of `chunk` (0: one call); between chunks the state is
 * copied into a fresh buffer and the old one poisoned. */
static int feed_chunks(const struct analysis_ops *a, void **state, const struct an_sample *s,
		       size_t n, size_t chunk, struct results *res)
{
	size_t off = 0;

	if (!chunk)
		return a->feed(*state, s, n, collect, res);
	while (off < n) {
		size_t k = n - off < chunk ? n - off : chunk;
		void *copy = malloc(a->state_size);
		int rc;

		if (!copy)
			return -100;
		rc = a->feed(*state, s + off, k, collect, res);
		memcpy(copy, *state, a->state_size);
		memset(*state, 0xa5, a->state_size);
		free(*state);
		*state = copy;
		if (rc)
			return rc;
		off += k;
	}
	return 0;
}

static void *new_state(const struct analysis_ops *a)
{
	void *st = malloc(a->state_size);

	if (st)
		a->init(st);
	return st;
}

/* ---- registry -------------------------------------------------------- */

TEST(registry_finds_by_id_kind_and_name)
{
	const struct analysis_ops *af = an_find(AN_ID_AF), *odi = an_find(AN_ID_ODI);

	ASSERT_NONNULL(af);
	ASSERT_NONNULL(odi);
	EXPECT_STREQ(af->name, "af");
	EXPECT_STREQ(odi->name, "odi");
	EXPECT_EQ(af->kind, AN_KIND_RR);
	EXPECT_EQ(odi->kind, AN_KIND_SPO2);
	EXPECT_TRUE(an_find_kind(AN_KIND_RR) == af);
	EXPECT_TRUE(an_find_kind(AN_KIND_SPO2) == odi);
	EXPECT_TRUE(an_find_name("af") == af);
	EXPECT_TRUE(an_find_name("odi") == odi);
	EXPECT_NULL(an_find(0));
	EXPECT_NULL(an_find(3));
	EXPECT_NULL(an_find_kind(0));
	EXPECT_NULL(an_find_kind(3));
	EXPECT_NULL(an_find_name("AF"));
	EXPECT_NULL(an_find_name(""));
	EXPECT_NULL(an_find_name(NULL));
	EXPECT_GT(af->state_size, 0);
	EXPECT_GT(odi->state_size, 0);
}

/* ---- encoding -------------------------------------------------------- */

static const uint8_t vector_bytes[AN_RESULT_LEN] = {
	0x01, 0x01,
	0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,     /* 1700000000000 */
	0x00, 0x00, 0x01, 0x8b, 0xd0, 0x1c, 0x56, 0x7f,     /* 1700003599999 */
	0x00, 0x00, 0x00, 0x80,                             /* 128 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0xae, 0x60,     /* 700000 */
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,     /* -1 */
	0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,     /* INT64_MAX */
	0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,     /* INT64_MIN */
};

static struct an_result vector_result(void)
{
	struct an_result r;

	memset(&r, 0, sizeof(r));
	r.analysis = AN_ID_AF;
	r.verdict = AN_VERDICT_SUSPECT;
	r.win_start_ms = 1700000000000ULL;
	r.win_end_ms = 1700003599999ULL;
	r.n_samples = 128;
	r.metric[0] = 700000;
	r.metric[1] = -1;
	r.metric[2] = INT64_MAX;
	r.metric[3] = INT64_MIN;
	return r;
}

TEST(encode_matches_fixed_vector_and_round_trips)
{
	struct an_result r = vector_result(), d;
	uint8_t out[AN_RESULT_LEN];

	ASSERT_EQ(an_result_encode(&r, out), 0);
	ASSERT_MEMEQ(out, vector_bytes, AN_RESULT_LEN);
	memset(&d, 0x55, sizeof(d));
	ASSERT_EQ(an_result_decode(vector_bytes, &d), 0);
	EXPECT_EQ(d.analysis, r.analysis);
	EXPECT_EQ(d.verdict, r.verdict);
	EXPECT_EQ(d.win_start_ms, r.win_start_ms);
	EXPECT_EQ(d.win_end_ms, r.win_end_ms);
	EXPECT_EQ(d.n_samples, r.n_samples);
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(d.metric[i], r.metric[i]);
	/* every field lands where documented: flip each byte, decode, re-encode */
	for (int i = 2; i < AN_RESULT_LEN; i++) {
		uint8_t b[AN_RESULT_LEN], e[AN_RESULT_LEN];

		memcpy(b, vector_bytes, sizeof(b));
		b[i] ^= 0x01;
		if (an_result_decode(b, &d))
			continue;       /* start > end: checked below */
		ASSERT_EQ(an_result_encode(&d, e), 0);
		ASSERT_MEMEQ(e, b, AN_RESULT_LEN);
	}
}

TEST(encode_decode_reject_bad_results)
{
	struct an_result r = vector_result(), d = vector_result(), keep = vector_result();
	uint8_t out[AN_RESULT_LEN], b[AN_RESULT_LEN];

	EXPECT_EQ(an_result_encode(NULL, out), IOMT_EINVAL);
	EXPECT_EQ(an_result_encode(&r, NULL), IOMT_EINVAL);
	EXPECT_EQ(an_result_decode(NULL, &d), IOMT_EINVAL);
	EXPECT_EQ(an_result_decode(vector_bytes, NULL), IOMT_EINVAL);
	r.analysis = 3;
	EXPECT_EQ(an_result_encode(&r, out), IOMT_EINVAL);
	r = vector_result();
	r.verdict = 3;
	EXPECT_EQ(an_result_encode(&r, out), IOMT_EINVAL);
	r = vector_result();
	r.win_start_ms = r.win_end_ms + 1;
	EXPECT_EQ(an_result_encode(&r, out), IOMT_EINVAL);

	memcpy(b, vector_bytes, sizeof(b));
	b[0] = 0;
	EXPECT_EQ(an_result_decode(b, &d), IOMT_EMALFORMED);
	b[0] = 3;
	EXPECT_EQ(an_result_decode(b, &d), IOMT_EMALFORMED);
	memcpy(b, vector_bytes, sizeof(b));
	b[1] = 3;
	EXPECT_EQ(an_result_decode(b, &d), IOMT_EMALFORMED);
	memcpy(b, vector_bytes, sizeof(b));
	b[2] = 0xff;    /* start after end */
	EXPECT_EQ(an_result_decode(b, &d), IOMT_EMALFORMED);
	/* a failed decode leaves the output alone */
	EXPECT_MEMEQ(&d, &keep, sizeof(d));
	/* start == end is a valid one-instant window */
	memcpy(b, vector_bytes, sizeof(b));
	memcpy(b + 10, b + 2, 8);
	EXPECT_EQ(an_result_decode(b, &d), 0);
}

/* ---- AF --------------------------------------------------------------- */

/* Runs AF over a stream; checks the window layout of every result. */
static size_t af_run(const struct an_sample *s, size_t n, struct results *res)
{
	const struct analysis_ops *a = an_find(AN_ID_AF);
	void *st = new_state(a);
	size_t want = n < 128 ? 0 : 1 + (n - 128) / 64;

	res->n = 0;
	if (!st || a->feed(st, s, n, collect, res)) {
		free(st);
		return (size_t)-1;
	}
	free(st);
	for (size_t i = 0; i < res->n && i < MAX_RES; i++) {
		const struct an_result *r = &res->r[i];

		if (r->analysis != AN_ID_AF || r->n_samples != 128 ||
		    r->win_start_ms != s[64 * i].t_ms || r->win_end_ms != s[64 * i + 127].t_ms)
			return (size_t)-2;
	}
	return res->n == want ? res->n : (size_t)-3;
}

TEST(af_sinus_rhythm_is_normal)
{
	struct results *res = calloc(1, sizeof(*res));
	struct an_sample *s = rr_stream(1, 1024, 780, 820);

	ASSERT_NONNULL(res);
	ASSERT_NONNULL(s);
	ASSERT_EQ(af_run(s, 1024, res), 15);
	for (size_t i = 0; i < res->n; i++) {
		const struct an_result *r = &res->r[i];

		EXPECT_EQ(r->verdict, AN_VERDICT_NORMAL);
		EXPECT_GE(r->metric[0], 790000);      /* mean RR, us */
		EXPECT_LE(r->metric[0], 810000);
		EXPECT_LT(r->metric[1], 40000);       /* nRMSSD < 0.04 */
		EXPECT_GE(r->metric[2], 0);
		EXPECT_LE(r->metric[2], 1000000);
		EXPECT_GE(r->metric[3], 500000);      /* iid jitter: TPR near 2/3 */
		EXPECT_LE(r->metric[3], 800000);
	}
	free(s);
	free(res);
}

TEST(af_perfectly_regular_rhythm_has_zero_irregularity)
{
	struct results *res = calloc(1, sizeof(*res));
	struct an_sample *s = rr_stream(1, 128, 1000, 1000);

	ASSERT_NONNULL(res);
	ASSERT_NONNULL(s);
	ASSERT_EQ(af_run(s, 128, res), 1);
	EXPECT_EQ(res->r[0].verdict, AN_VERDICT_NORMAL);
	EXPECT_EQ(res->r[0].metric[0], 1000000);
	EXPECT_EQ(res->r[0].metric[1], 0);
	EXPECT_EQ(res->r[0].metric[2], 0);
	EXPECT_EQ(res->r[0].metric[3], 0);
	EXPECT_EQ(res->r[0].win_start_ms, T0 + 1000);
	EXPECT_EQ(res->r[0].win_end_ms, T0 + 128000);
	free(s);
	free(res);
}

TEST(af_irregular_rhythm_is_suspect)
{
	struct results *res = calloc(1, sizeof(*res));
	struct an_sample *s = rr_stream(2, 1024, 400, 1200);

	ASSERT_NONNULL(res);
	ASSERT_NONNULL(s);
	ASSERT_EQ(af_run(s, 1024, res), 15);
	for (size_t i = 0; i < res->n; i++) {
		const struct an_result *r = &res->r[i];

		EXPECT_EQ(r->verdict, AN_VERDICT_SUSPECT);
		EXPECT_GE(r->metric[0], 700000);
		EXPECT_LE(r->metric[0], 900000);
		EXPECT_GT(r->metric[1], 250000);      /* nRMSSD ~ 0.41 */
		EXPECT_GT(r->metric[2], 850000);      /* ShE of a flat histogram */
		EXPECT_GE(r->metric[3], 555555);
		EXPECT_LE(r->metric[3], 777778);
	}
	free(s);
	free(res);
}

TEST(af_fast_irregular_rhythm_is_emergency)
{
	struct results *res = calloc(1, sizeof(*res));
	struct an_sample *s = rr_stream(3, 1024, 250, 450);

	ASSERT_NONNULL(res);
	ASSERT_NONNULL(s);
	ASSERT_EQ(af_run(s, 1024, res), 15);
	for (size_t i = 0; i < res->n; i++) {
		EXPECT_EQ(res->r[i].verdict, AN_VERDICT_EMERGENCY);
		EXPECT_LT(res->r[i].metric[0], 400000);
		EXPECT_GT(res->r[i].metric[1], 100000);
	}
	free(s);
	free(res);
}

TEST(af_fast_regular_rhythm_is_not_flagged)
{
	struct results *res = calloc(1, sizeof(*res));
	struct an_sample *s = rr_stream(4, 256, 340, 360);

	ASSERT_NONNULL(res);
	ASSERT_NONNULL(s);
	ASSERT_EQ(af_run(s, 256, res), 3);
	for (size_t i = 0; i < res->n; i++)
		EXPECT_EQ(res->r[i].verdict, AN_VERDICT_NORMAL);
	free(s);
	free(res);
}

/* Sinus, then AF, then fast AF: one call and chunks of 1, 7, 100 (state
 * copied between chunks) give the same results and the same final state. */
static struct an_sample *af_mixed(size_t *n)
{
	struct an_sample *a = rr_stream(5, 300, 780, 820), *b = rr_stream(6, 400, 400, 1200),
			 *c = rr_stream(7, 300, 250, 450), *s = calloc(1000, sizeof(*s));
	uint64_t t = T0;

	if (a && b && c && s)
		for (size_t i = 0; i < 1000; i++) {
			s[i].value = i < 300 ? a[i].value : i < 700 ? b[i - 300].value
								    : c[i - 700].value;
			t += (uint64_t)s[i].value;
			s[i].t_ms = t;
		}
	free(a);
	free(b);
	free(c);
	*n = 1000;
	return s;
}

static void same_in_chunks(const struct analysis_ops *a, const struct an_sample *s, size_t n,
			   size_t min_results)
{
	static const size_t chunks[] = { 1, 7, 100 };
	struct results *ref = calloc(1, sizeof(*ref)), *got = calloc(1, sizeof(*got));
	void *st_ref = new_state(a);

	ASSERT_NONNULL(ref);
	ASSERT_NONNULL(got);
	ASSERT_NONNULL(st_ref);
	ASSERT_EQ(feed_chunks(a, &st_ref, s, n, 0, ref), 0);
	ASSERT_GE(ref->n, min_results);
	ASSERT_LE(ref->n, MAX_RES);
	for (size_t c = 0; c < 3; c++) {
		void *st = new_state(a);

		ASSERT_NONNULL(st);
		got->n = 0;
		ASSERT_EQ(feed_chunks(a, &st, s, n, chunks[c], got), 0);
		ASSERT_EQ(got->n, ref->n);
		for (size_t i = 0; i < ref->n; i++) {
			uint8_t e1[AN_RESULT_LEN], e2[AN_RESULT_LEN];

			ASSERT_EQ(an_result_encode(&ref->r[i], e1), 0);
			ASSERT_EQ(an_result_encode(&got->r[i], e2), 0);
			ASSERT_MEMEQ(e1, e2, AN_RESULT_LEN);
		}
		ASSERT_MEMEQ(st, st_ref, a->state_size);
		free(st);
	}
	free(st_ref);
	free(ref);
	free(got);
}

TEST(af_chunks_and_copied_state_give_identical_results)
{
	size_t n;
	struct an_sample *s = af_mixed(&n);
	struct results *res = calloc(1, sizeof(*res));
	int seen[3] = { 0 };

	ASSERT_NONNULL(s);
	ASSERT_NONNULL(res);
	same_in_chunks(an_find(AN_ID_AF), s, n, 14);
	/* the stream does hold all three verdicts */
	ASSERT_EQ(af_run(s, n, res), 14);
	for (size_t i = 0; i < res->n; i++)
		seen[res->r[i].verdict]++;
	EXPECT_GT(seen[0], 0);
	EXPECT_GT(seen[1], 0);
	EXPECT_GT(seen[2], 0);
	free(res);
	free(s);
}

static void rejects_unchanged(const struct analysis_ops *a, void *st,
			      const struct an_sample *s, size_t n)
{
	uint8_t *before = malloc(a->state_size);
	struct results *res = calloc(1, sizeof(*res));

	ASSERT_NONNULL(before);
	ASSERT_NONNULL(res);
	memcpy(before, st, a->state_size);
	EXPECT_EQ(a->feed(st, s, n, collect, res), IOMT_EINVAL);
	EXPECT_EQ(res->n, 0);
	EXPECT_MEMEQ(st, before, a->state_size);
	free(before);
	free(res);
}

static void bad_input(const struct analysis_ops *a, int32_t good, int32_t lo_bad, int32_t hi_bad,
		      size_t prime)
{
	struct an_sample *s = calloc(prime + 200, sizeof(*s));
	struct results *res = calloc(1, sizeof(*res));
	void *st = new_state(a);
	uint8_t *before;

	ASSERT_NONNULL(s);
	ASSERT_NONNULL(res);
	ASSERT_NONNULL(st);
	for (size_t i = 0; i < prime + 200; i++) {
		s[i].t_ms = T0 + 1000 * i;
		s[i].value = good;
	}
	/* prime: the state holds samples (and a window nearly due) */
	ASSERT_EQ(a->feed(st, s, prime, collect, res), 0);
	before = malloc(a->state_size);
	ASSERT_NONNULL(before);
	memcpy(before, st, a->state_size);

	EXPECT_EQ(a->feed(NULL, s, 1, collect, res), IOMT_EINVAL);
	EXPECT_EQ(a->feed(st, NULL, 1, collect, res), IOMT_EINVAL);
	EXPECT_EQ(a->feed(st, s + prime, 1, NULL, res), IOMT_EINVAL);
	EXPECT_MEMEQ(st, before, a->state_size);
	/* n == 0 with NULL samples is a no-op */
	EXPECT_EQ(a->feed(st, NULL, 0, collect, res), 0);
	EXPECT_MEMEQ(st, before, a->state_size);

	/* a batch that would close windows, with one bad sample at its end */
	s[prime + 199].value = lo_bad;
	rejects_unchanged(a, st, s + prime, 200);
	s[prime + 199].value = hi_bad;
	rejects_unchanged(a, st, s + prime, 200);
	s[prime + 199].value = good;
	/* time going back within the batch */
	s[prime + 150].t_ms = s[prime + 149].t_ms - 1;
	rejects_unchanged(a, st, s + prime, 200);
	s[prime + 150].t_ms = T0 + 1000 * (prime + 150);
	/* time going back against the state */
	s[prime].t_ms = s[prime - 1].t_ms - 1;
	rejects_unchanged(a, st, s + prime, 200);
	/* equal times are allowed */
	s[prime].t_ms = s[prime - 1].t_ms;
	EXPECT_EQ(a->feed(st, s + prime, 200, collect, res), 0);
	EXPECT_GT(res->n, 0);
	free(before);
	free(st);
	free(res);
	free(s);
}

TEST(af_bad_input_is_refused_and_changes_nothing)
{
	bad_input(an_find(AN_ID_AF), 800, 199, 3001, 100);
}

/* A blob init() did not make is refused, unchanged: wrong magic, indices
 * out of range, an open second without samples. The offsets follow the
 * struct layouts in an_af.c and an_odi.c. */
static void bad_state(const struct analysis_ops *a, size_t off, uint32_t val)
{
	struct an_sample s = { T0, a->id == AN_ID_AF ? 800 : 970 };
	struct results res = { 0 };
	uint8_t *st = new_state(a), *before = malloc(a->state_size);

	ASSERT_NONNULL(st);
	ASSERT_NONNULL(before);
	ASSERT_EQ(a->feed(st, &s, 1, collect, &res), 0);
	memcpy(st + off, &val, sizeof(val));
	memcpy(before, st, a->state_size);
	EXPECT_EQ(a->feed(st, &s, 1, collect, &res), IOMT_ESTATE);
	EXPECT_MEMEQ(st, before, a->state_size);
	free(before);
	free(st);
}

TEST(foreign_or_damaged_state_is_refused)
{
	const struct analysis_ops *af = an_find(AN_ID_AF), *odi = an_find(AN_ID_ODI);

	bad_state(af, 0, 0);                     /* magic */
	bad_state(af, 0, 0x49414632);            /* "IAF2": another layout */
	bad_state(af, 8 + 8 * 129, 128);         /* head outside the ring */
	bad_state(af, 8 + 8 * 129 + 4, 129);     /* filled > 128 */
	bad_state(odi, 8 * 9 + 4 * 13, 0);       /* magic */
	bad_state(odi, 8 * 9, 0);                /* the open second without a sample */
	bad_state(odi, 8 * 9 + 4 * 2, 2);        /* started = 2 */
}

TEST(af_gap_restarts_the_window)
{
	struct results *res = calloc(1, sizeof(*res));
	struct an_sample *s = rr_stream(8, 228, 780, 820);
	const struct analysis_ops *a = an_find(AN_ID_AF);
	void *st = new_state(a);

	ASSERT_NONNULL(res);
	ASSERT_NONNULL(s);
	ASSERT_NONNULL(st);
	/* 100 beats, 60.001 s without a beat, 128 beats: one window, after the gap */
	for (size_t i = 100; i < 228; i++)
		s[i].t_ms += AN_GAP_MS + 1;
	ASSERT_EQ(a->feed(st, s, 228, collect, res), 0);
	ASSERT_EQ(res->n, 1);
	EXPECT_EQ(res->r[0].win_start_ms, s[100].t_ms);
	EXPECT_EQ(res->r[0].win_end_ms, s[227].t_ms);
	EXPECT_EQ(res->r[0].n_samples, 128);

	/* exactly 60 s is not a gap: the window spans it */
	free(st);
	st = new_state(a);
	ASSERT_NONNULL(st);
	res->n = 0;
	for (size_t i = 100; i < 228; i++)
		s[i].t_ms -= 1;
	s[99].t_ms = s[100].t_ms - AN_GAP_MS;
	ASSERT_EQ(a->feed(st, s, 228, collect, res), 0);
	ASSERT_EQ(res->n, 2);
	EXPECT_EQ(res->r[0].win_start_ms, s[0].t_ms);
	EXPECT_EQ(res->r[1].win_start_ms, s[64].t_ms);
	free(st);
	free(res);
	free(s);
}

/* ---- ODI -------------------------------------------------------------- */

/* One sample a second for `secs` seconds at `level`, then one sample at
 * T0 + secs s to close the last hour. */
static struct an_sample *spo2_flat(size_t secs, int32_t level)
{
	struct an_sample *s = calloc(secs + 1, sizeof(*s));

	for (size_t i = 0; s && i <= secs; i++) {
		s[i].t_ms = T0 + 1000 * i;
		s[i].value = level;
	}
	return s;
}

static void dip(struct an_sample *s, size_t at_s, size_t len_s, int32_t level)
{
	for (size_t i = at_s; i < at_s + len_s; i++)
		s[i].value = level;
}

static int odi_run(const struct an_sample *s, size_t n, struct results *res)
{
	const struct analysis_ops *a = an_find(AN_ID_ODI);
	void *st = new_state(a);
	int rc;

	res->n = 0;
	if (!st)
		return -100;
	rc = a->feed(st, s, n, collect, res);
	free(st);
	return rc;
}

static void expect_hour(const struct an_result *r, uint64_t start, uint32_t n, uint8_t verdict,
			int64_t odi_milli, int64_t events, int64_t valid_s, int64_t nadir)
{
	EXPECT_EQ(r->analysis, AN_ID_ODI);
	EXPECT_EQ(r->win_start_ms, start);
	EXPECT_EQ(r->win_end_ms, start + 3600000 - 1);
	EXPECT_EQ(r->n_samples, n);
	EXPECT_EQ(r->verdict, verdict);
	EXPECT_EQ(r->metric[0], odi_milli);
	EXPECT_EQ(r->metric[1], events);
	EXPECT_EQ(r->metric[2], valid_s);
	EXPECT_EQ(r->metric[3], nadir);
}

TEST(odi_flat_hour_is_zero)
{
	struct results *res = calloc(1, sizeof(*res));
	struct an_sample *s = spo2_flat(3600, 970);

	ASSERT_NONNULL(res);
	ASSERT_NONNULL(s);
	/* no window before the hour has ended */
	ASSERT_EQ(odi_run(s, 3600, res), 0);
	ASSERT_EQ(res->n, 0);
	ASSERT_EQ(odi_run(s, 3601, res), 0);
	ASSERT_EQ(res->n, 1);
	expect_hour(&res->r[0], T0, 3600, AN_VERDICT_NORMAL, 0, 0, 3600, 970);
	free(s);
	free(res);
}

TEST(odi_counts_exactly_k_dips)
{
	static const size_t ks[] = { 1, 7, 14, 15 };
	struct results *res = calloc(1, sizeof(*res));

	ASSERT_NONNULL(res);
	for (size_t j = 0; j < 4; j++) {
		size_t k = ks[j];
		struct an_sample *s = spo2_flat(3600, 970);
		uint64_t seed = 10 + k;

		ASSERT_NONNULL(s);
		/* a little noise (+-0.3 %) on the baseline */
		for (size_t i = 0; i < 3600; i++)
			s[i].value += uniform(&seed, -3, 3);
		for (size_t d = 0; d < k; d++)
			dip(s, 200 + 220 * d, 20, 930);
		ASSERT_EQ(odi_run(s, 3601, res), 0);
		ASSERT_EQ(res->n, 1);
		EXPECT_EQ(res->r[0].metric[1], (int64_t)k);
		EXPECT_EQ(res->r[0].metric[0], (int64_t)k * 1000);
		EXPECT_EQ(res->r[0].metric[3], 930);
		EXPECT_EQ(res->r[0].verdict, k >= 15 ? AN_VERDICT_SUSPECT : AN_VERDICT_NORMAL);
		free(s);
	}
	free(res);
}

TEST(odi_threshold_depth_and_duration)
{
	struct results *res = calloc(1, sizeof(*res));
	struct an_sample *s = spo2_flat(3600, 970);

	ASSERT_NONNULL(res);
	ASSERT_NONNULL(s);
	dip(s, 200, 20, 950);          /* 2 points: no */
	dip(s, 500, 20, 941);          /* 2.9 points: no */
	dip(s, 800, 20, 940);          /* 3.0 points: yes */
	dip(s, 1100, 9, 900);          /* 9 s: no */
	dip(s, 1400, 10, 900);         /* 10 s: yes */
	dip(s, 1700, 30, 930);         /* one long dip: one event */
	dip(s, 2000, 30, 930);         /* two dips, 1 s apart above threshold: two */
	s[2015].value = 950;
	dip(s, 2300, 60, 960);         /* 1 point, long: no */
	ASSERT_EQ(odi_run(s, 3601, res), 0);
	ASSERT_EQ(res->n, 1);
	expect_hour(&res->r[0], T0, 3600, AN_VERDICT_NORMAL, 5000, 5, 3600, 900);
	free(s);
	free(res);
}

TEST(odi_needs_a_baseline_first)
{
	struct results *res = calloc(1, sizeof(*res));
	struct an_sample *s = spo2_flat(3600, 970);

	ASSERT_NONNULL(res);
	ASSERT_NONNULL(s);
	dip(s, 30, 20, 900);           /* under 60 s of baseline: not scored */
	dip(s, 70, 20, 900);           /* 70 s of data before: scored */
	ASSERT_EQ(odi_run(s, 3601, res), 0);
	ASSERT_EQ(res->n, 1);
	EXPECT_EQ(res->r[0].metric[1], 1);
	free(s);
	free(res);
}

TEST(odi_sustained_low_is_emergency_at_once)
{
	struct results *res = calloc(1, sizeof(*res));
	struct an_sample *s = spo2_flat(3600, 970);

	ASSERT_NONNULL(res);
	ASSERT_NONNULL(s);
	dip(s, 300, 60, 820);
	ASSERT_EQ(odi_run(s, 3601, res), 0);
	ASSERT_EQ(res->n, 2);
	/* reported when the 30th second below 85 % closes */
	EXPECT_EQ(res->r[0].verdict, AN_VERDICT_EMERGENCY);
	EXPECT_EQ(res->r[0].win_start_ms, T0);
	EXPECT_EQ(res->r[0].win_end_ms, T0 + 329000);
	EXPECT_EQ(res->r[0].n_samples, 330);
	EXPECT_EQ(res->r[0].metric[0], -1);     /* under 30 min of data */
	EXPECT_EQ(res->r[0].metric[1], 1);      /* the drop is also a desaturation */
	EXPECT_EQ(res->r[0].metric[2], 330);
	EXPECT_EQ(res->r[0].metric[3], 820);
	expect_hour(&res->r[1], T0, 3600, AN_VERDICT_EMERGENCY, 1000, 1, 3600, 820);

	/* 29 s below 85 %, or 84.9..85.0 for long: no emergency */
	free(s);
	s = spo2_flat(3600, 970);
	ASSERT_NONNULL(s);
	dip(s, 300, 29, 820);
	dip(s, 1000, 120, 850);
	ASSERT_EQ(odi_run(s, 3601, res), 0);
	ASSERT_EQ(res->n, 1);
	expect_hour(&res->r[0], T0, 3600, AN_VERDICT_NORMAL, 2000, 2, 3600, 820);
	free(s);
	free(res);
}

TEST(odi_whole_hour_low_is_one_emergency)
{
	struct results *res = calloc(1, sizeof(*res));
	struct an_sample *s = spo2_flat(3600, 820);

	ASSERT_NONNULL(res);
	ASSERT_NONNULL(s);
	ASSERT_EQ(odi_run(s, 3601, res), 0);
	ASSERT_EQ(res->n, 2);
	EXPECT_EQ(res->r[0].verdict, AN_VERDICT_EMERGENCY);
	EXPECT_EQ(res->r[0].win_end_ms, T0 + 29000);
	expect_hour(&res->r[1], T0, 3600, AN_VERDICT_EMERGENCY, 0, 0, 3600, 820);
	free(s);
	free(res);
}

TEST(odi_windows_are_hours_from_the_first_second)
{
	struct results *res = calloc(1, sizeof(*res));
	struct an_sample *s = calloc(18001, sizeof(*s));
	uint64_t seed = 42, start = T0 + 1234;   /* windows start at T0 + 1 s */

	ASSERT_NONNULL(res);
	ASSERT_NONNULL(s);
	/* 2 samples a second, jittered within their half second, 2.5 hours */
	for (size_t i = 0; i < 18000; i++) {
		s[i].t_ms = start + 500 * i + (uint64_t)uniform(&seed, 0, 400);
		s[i].value = 960 + uniform(&seed, 0, 10);
	}
	ASSERT_EQ(odi_run(s, 18000, res), 0);
	ASSERT_EQ(res->n, 2);
	for (size_t w = 0; w < 2; w++) {
		uint32_t n = 0;

		for (size_t i = 0; i < 18000; i++)
			if (s[i].t_ms >= T0 + 1000 + 3600000 * w &&
			    s[i].t_ms < T0 + 1000 + 3600000 * (w + 1))
				n++;
		EXPECT_EQ(res->r[w].win_start_ms, T0 + 1000 + 3600000 * w);
		EXPECT_EQ(res->r[w].win_end_ms, T0 + 1000 + 3600000 * (w + 1) - 1);
		EXPECT_EQ(res->r[w].n_samples, n);
		EXPECT_EQ(res->r[w].metric[2], 3600);
		EXPECT_EQ(res->r[w].metric[1], 0);
		EXPECT_EQ(res->r[w].verdict, AN_VERDICT_NORMAL);
	}
	free(s);
	free(res);
}

TEST(odi_gaps_are_not_recording_time)
{
	struct results *res = calloc(1, sizeof(*res));
	struct an_sample *s = spo2_flat(7200, 970);
	size_t n = 0;

	ASSERT_NONNULL(res);
	ASSERT_NONNULL(s);
	dip(s, 1100, 20, 900);         /* 40 s after the gap: no baseline yet */
	dip(s, 1300, 20, 900);         /* scored */
	dip(s, 1995, 20, 900);         /* runs into a 61 s gap: cut, not scored */
	dip(s, 3000, 20, 900);         /* scored */
	/* drop the seconds 1001..1060 (a 61 s gap) and 2001..2061 (62 s) */
	for (size_t i = 0; i <= 7200; i++)
		if (!((i > 1000 && i <= 1060) || (i > 2000 && i <= 2061) ||
		      (i >= 2000 && i < 2005)))
			s[n++] = s[i];
	/* 1995..1999 is 5 s of dip before the gap: too short */
	ASSERT_EQ(odi_run(s, n, res), 0);
	ASSERT_EQ(res->n, 2);
	/* valid seconds: 3600 - 60 - 62 */
	expect_hour(&res->r[0], T0, 3478, AN_VERDICT_NORMAL,
		    (2 * 3600000 + 3478 / 2) / 3478, 2, 3478, 900);
	expect_hour(&res->r[1], T0 + 3600000, 3600, AN_VERDICT_NORMAL, 0, 0, 3600, 970);

	/* a window with under 30 minutes of data has no ODI */
	for (size_t i = 0; i < n; i++)
		if (s[i].t_ms >= T0 + 1800000 && s[i].t_ms < T0 + 3600000)
			s[i].t_ms = T0 + 3600000;
	ASSERT_EQ(odi_run(s, n, res), 0);
	ASSERT_EQ(res->n, 2);
	EXPECT_EQ(res->r[0].metric[0], -1);
	EXPECT_EQ(res->r[0].verdict, AN_VERDICT_NORMAL);
	free(s);
	free(res);
}

TEST(odi_chunks_and_copied_state_give_identical_results)
{
	struct an_sample *s = spo2_flat(7200, 970);
	uint64_t seed = 99;

	ASSERT_NONNULL(s);
	for (size_t i = 0; i < 7200; i++)
		s[i].value += uniform(&seed, -5, 5);
	for (size_t d = 0; d < 20; d++)
		dip(s, 200 + 350 * d, 15 + d, 925);
	dip(s, 6000, 45, 800);
	same_in_chunks(an_find(AN_ID_ODI), s, 7201, 3);
	free(s);
}

TEST(odi_bad_input_is_refused_and_changes_nothing)
{
	bad_input(an_find(AN_ID_ODI), 970, -1, 1001, 3590);
}
