/* SPDX-License-Identifier: MIT */
/* Deterministic synthetic measurements (see synth.h). */
#include <string.h>

#include "analysis.h"
#include "synth.h"

static const char *const names[] = {
	[SYNTH_SINUS] = "sinus", [SYNTH_AF] = "af", [SYNTH_AF_FAST] = "af-fast",
	[SYNTH_APNOEA] = "apnoea", [SYNTH_DESAT] = "desat",
};

int synth_profile_parse(const char *name, enum synth_profile *p)
{
	unsigned i;

	for (i = 0; name && i < sizeof(names) / sizeof(*names); i++)
		if (!strcmp(name, names[i])) {
			*p = (enum synth_profile)i;
			return 0;
		}
	return -1;
}

const char *synth_profile_name(enum synth_profile p)
{
	return (unsigned)p < sizeof(names) / sizeof(*names) ? names[p] : "?";
}

/* splitmix64 (Steele, Lea, Flood 2014) */
static uint64_t next_u64(struct synth *g)
{
	uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* lo..hi inclusive (the modulo bias of a 64-bit draw is negligible here). */
static unsigned uniform(struct synth *g, unsigned lo, unsigned hi)
{
	return lo + (unsigned)(next_u64(g) % (hi - lo + 1));
}

void synth_init(struct synth *g, enum synth_profile p, uint64_t seed, uint64_t t0_ms,
		uint64_t duration_ms)
{
	memset(g, 0, sizeof(*g));
	g->p = p;
	g->rng = seed;
	g->t = t0_ms;
	g->end = duration_ms > UINT64_MAX - t0_ms ? UINT64_MAX : t0_ms + duration_ms;
}

static unsigned apnoea(struct synth *g)
{
	unsigned sec = (unsigned)(g->i % 90);

	return (sec >= 60 && sec < 80 ? 915 : 965) + uniform(g, 0, 6) - 3;
}

int synth_next(struct synth *g, struct iomt_s2_sample *s)
{
	if (g->t >= g->end)
		return 0;
	s->t_ms = g->t;
	switch (g->p) {
	case SYNTH_SINUS:
		s->value = (uint16_t)uniform(g, 780, 820);
		break;
	case SYNTH_AF:
		s->value = (uint16_t)uniform(g, 500, 1100);
		break;
	case SYNTH_AF_FAST:
		s->value = (uint16_t)uniform(g, 220, 519);
		break;
	case SYNTH_APNOEA:
		s->value = (uint16_t)apnoea(g);
		break;
	default:
		s->value = (uint16_t)(g->i < 120 ? uniform(g, 967, 973) : uniform(g, 795, 805));
		break;
	}
	s->kind = g->p <= SYNTH_AF_FAST ? AN_KIND_RR : AN_KIND_SPO2;
	g->t += s->kind == AN_KIND_RR ? s->value : 1000;
	g->i++;
	return 1;
}
