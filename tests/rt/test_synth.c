/* SPDX-License-Identifier: MIT */
/* synth: the synthetic measurement profiles (userspace/lib/synth.h) are
 * deterministic, stay in the analyses' input ranges, end at the duration,
 * and give the verdicts synth.h promises when fed to the real analyses. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lib/analysis.h"
#include "lib/synth.h"

static const uint64_t T0 = 1700000000000ULL;

struct verdicts {
	size_t n, count[3];
};

static void count(void *ctx, const struct an_result *r)
{
	struct verdicts *v = ctx;

	v->n++;
	if (r->verdict <= AN_VERDICT_EMERGENCY)
		v->count[r->verdict]++;
}

/* Feeds a whole profile to the analysis of its kind. */
static int run_profile(enum synth_profile p, uint64_t duration_ms, struct verdicts *v)
{
	struct synth g;
	struct iomt_s2_sample s;
	const struct analysis_ops *a = NULL;
	void *st = NULL;
	int r = 0;

	memset(v, 0, sizeof(*v));
	synth_init(&g, p, 7, T0, duration_ms);
	while (!r && synth_next(&g, &s)) {
		struct an_sample as = { s.t_ms, s.value };

		if (!a) {
			a = an_find_kind(s.kind);
			st = a ? malloc(a->state_size) : NULL;
			if (!st)
				return -1;
			a->init(st);
		}
		r = a->feed(st, &as, 1, count, v);
	}
	free(st);
	return r;
}

TEST(profiles_parse_and_name)
{
	enum synth_profile p;

	ASSERT_EQ(synth_profile_parse("af-fast", &p), 0);
	EXPECT_EQ(p, SYNTH_AF_FAST);
	EXPECT_STREQ(synth_profile_name(p), "af-fast");
	ASSERT_EQ(synth_profile_parse("apnoea", &p), 0);
	EXPECT_EQ(p, SYNTH_APNOEA);
	EXPECT_EQ(synth_profile_parse("AF", &p), -1);
	EXPECT_EQ(synth_profile_parse("", &p), -1);
	EXPECT_EQ(synth_profile_parse(NULL, &p), -1);
	EXPECT_STREQ(synth_profile_name((enum synth_profile)99), "?");
}

TEST(same_seed_same_samples_other_seed_others)
{
	struct synth a, b, c;
	struct iomt_s2_sample x, y, z;
	size_t n = 0, differ = 0;

	synth_init(&a, SYNTH_AF, 42, T0, 600000);
	synth_init(&b, SYNTH_AF, 42, T0, 600000);
	synth_init(&c, SYNTH_AF, 43, T0, 600000);
	while (synth_next(&a, &x)) {
		ASSERT_EQ(synth_next(&b, &y), 1);
		ASSERT_EQ(synth_next(&c, &z), 1);
		EXPECT_EQ(x.t_ms, y.t_ms);
		EXPECT_EQ(x.value, y.value);
		differ += x.value != z.value;
		n++;
	}
	EXPECT_EQ(synth_next(&b, &y), 0);
	EXPECT_GT(n, 500);
	EXPECT_GT(differ, n / 2);
}

TEST(times_ranges_and_duration)
{
	for (int p = SYNTH_SINUS; p <= SYNTH_DESAT; p++) {
		struct synth g;
		struct iomt_s2_sample s;
		uint64_t prev = T0, n = 0;

		synth_init(&g, (enum synth_profile)p, 1, T0, 300000);
		while (synth_next(&g, &s)) {
			EXPECT_GE(s.t_ms, prev);
			EXPECT_LT(s.t_ms, T0 + 300000);
			if (s.kind == AN_KIND_RR) {
				EXPECT_GE(s.value, 200);
				EXPECT_LE(s.value, 3000);
				EXPECT_LE(p, SYNTH_AF_FAST);
			} else {
				EXPECT_EQ(s.kind, AN_KIND_SPO2);
				EXPECT_LE(s.value, 1000);
				EXPECT_EQ(s.t_ms, T0 + 1000 * n);
			}
			prev = s.t_ms;
			n++;
		}
		EXPECT_EQ(n == 0, 0);
		EXPECT_EQ(synth_next(&g, &s), 0);
	}
}

TEST(first_sample_at_t0_and_zero_duration_is_empty)
{
	struct synth g;
	struct iomt_s2_sample s;

	synth_init(&g, SYNTH_SINUS, 1, T0, 1);
	ASSERT_EQ(synth_next(&g, &s), 1);
	EXPECT_EQ(s.t_ms, T0);
	EXPECT_EQ(synth_next(&g, &s), 0);
	synth_init(&g, SYNTH_DESAT, 1, T0, 0);
	EXPECT_EQ(synth_next(&g, &s), 0);
	synth_init(&g, SYNTH_SINUS, 1, UINT64_MAX - 10, UINT64_MAX);   /* no wrap */
	EXPECT_EQ(synth_next(&g, &s), 1);
}

TEST(verdicts_are_the_ones_documented)
{
	struct verdicts v;

	ASSERT_EQ(run_profile(SYNTH_SINUS, 600000, &v), 0);
	EXPECT_GT(v.n, 5);
	EXPECT_EQ(v.count[AN_VERDICT_NORMAL], v.n);

	ASSERT_EQ(run_profile(SYNTH_AF, 600000, &v), 0);
	EXPECT_GT(v.n, 5);
	EXPECT_EQ(v.count[AN_VERDICT_SUSPECT], v.n);

	ASSERT_EQ(run_profile(SYNTH_AF_FAST, 120000, &v), 0);
	EXPECT_GE(v.n, 3);
	EXPECT_EQ(v.count[AN_VERDICT_EMERGENCY], v.n);

	/* the hour window closes with the first sample after it */
	ASSERT_EQ(run_profile(SYNTH_APNOEA, 3601000, &v), 0);
	EXPECT_EQ(v.n, 1);
	EXPECT_EQ(v.count[AN_VERDICT_SUSPECT], 1);

	/* 30 s below 85 % after 2 min: the immediate EMERGENCY */
	ASSERT_EQ(run_profile(SYNTH_DESAT, 200000, &v), 0);
	EXPECT_EQ(v.n, 1);
	EXPECT_EQ(v.count[AN_VERDICT_EMERGENCY], 1);
}
