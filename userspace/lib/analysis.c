/* SPDX-License-Identifier: MIT */
/* The registry of analyses and the fixed 54-byte result encoding. */
#include <string.h>

#include "analysis.h"
#include "bytes.h"
#include "iomt_err.h"

static const struct analysis_ops *const analyses[] = { &an_af_ops, &an_odi_ops };
enum { N_ANALYSES = sizeof(analyses) / sizeof(analyses[0]) };

const struct analysis_ops *an_find(uint8_t id)
{
	for (size_t i = 0; i < N_ANALYSES; i++)
		if (analyses[i]->id == id)
			return analyses[i];
	return NULL;
}

const struct analysis_ops *an_find_kind(uint8_t kind)
{
	for (size_t i = 0; i < N_ANALYSES; i++)
		if (analyses[i]->kind == kind)
			return analyses[i];
	return NULL;
}

const struct analysis_ops *an_find_name(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < N_ANALYSES; i++)
		if (!strcmp(analyses[i]->name, name))
			return analyses[i];
	return NULL;
}

int an_batch_check(const struct an_sample *s, size_t n, uint64_t last_t, int have_last,
		   int32_t vmin, int32_t vmax, uint64_t t_max)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i].value < vmin || s[i].value > vmax || s[i].t_ms > t_max)
			return IOMT_EINVAL;
		if (have_last && s[i].t_ms < last_t)
			return IOMT_EINVAL;
		last_t = s[i].t_ms;
		have_last = 1;
	}
	return 0;
}

static int result_valid(const struct an_result *r)
{
	return an_find(r->analysis) && r->verdict <= AN_VERDICT_EMERGENCY &&
	       r->win_start_ms <= r->win_end_ms;
}

int an_result_encode(const struct an_result *r, uint8_t out[AN_RESULT_LEN])
{
	if (!r || !out || !result_valid(r))
		return IOMT_EINVAL;
	out[0] = r->analysis;
	out[1] = r->verdict;
	iomt_store_be64(out + 2, r->win_start_ms);
	iomt_store_be64(out + 10, r->win_end_ms);
	iomt_store_be32(out + 18, r->n_samples);
	for (int i = 0; i < 4; i++)
		iomt_store_be64(out + 22 + 8 * i, (uint64_t)r->metric[i]);
	return 0;
}

int an_result_decode(const uint8_t in[AN_RESULT_LEN], struct an_result *r)
{
	struct an_result t;

	if (!in || !r)
		return IOMT_EINVAL;
	memset(&t, 0, sizeof(t));
	t.analysis = in[0];
	t.verdict = in[1];
	t.win_start_ms = iomt_load_be64(in + 2);
	t.win_end_ms = iomt_load_be64(in + 10);
	t.n_samples = iomt_load_be32(in + 18);
	for (int i = 0; i < 4; i++)
		t.metric[i] = (int64_t)iomt_load_be64(in + 22 + 8 * i);
	if (!result_valid(&t))
		return IOMT_EMALFORMED;
	*r = t;
	return 0;
}
