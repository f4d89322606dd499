/* SPDX-License-Identifier: MIT */
/*
 * Deterministic synthetic measurements for phase 4 (seed 002, PROTOCOL.md
 * §8): the samples `iomt-sensor stream --synthetic` sends and the suites
 * feed the analyses (docs/ANALYSES.md). The same (profile, seed, t0,
 * duration) gives the same samples on every machine (integer arithmetic, a
 * splitmix64 generator; never key material).
 *
 *   profile  kind  samples                                  AF / ODI verdict
 *   sinus    rr    800 +- 20 ms                             NORMAL
 *   af       rr    uniform 500..1100 ms (irregular)         SUSPECT
 *   af-fast  rr    uniform 220..519 ms (irregular, fast)    EMERGENCY
 *   apnoea   spo2  1/s, 96.5 % +- 0.3, a 5-point dip of 20 s
 *                  every 90 s (40 desaturations an hour)    SUSPECT (hour windows)
 *   desat    spo2  1/s, 97 % +- 0.3 for 120 s, then 80 % +- 0.5   EMERGENCY (30 s low)
 *
 * RR samples follow each other by their own value (beat after beat); SpO2
 * samples are one a second. A sample's time is t0 + its offset; the stream
 * ends before t0 + duration.
 */
#ifndef IOMT_SYNTH_H
#define IOMT_SYNTH_H
#include <stdint.h>

#include "s2_data.h"

enum synth_profile {
	SYNTH_SINUS,
	SYNTH_AF,
	SYNTH_AF_FAST,
	SYNTH_APNOEA,
	SYNTH_DESAT,
};

struct synth {
	enum synth_profile p;
	uint64_t rng;           /* splitmix64 state */
	uint64_t t, end;        /* next sample's time; the first time not reached */
	uint64_t i;             /* samples produced */
};

/* "sinus", "af", "af-fast", "apnoea", "desat": 0, or -1 for anything else. */
int synth_profile_parse(const char *name, enum synth_profile *p);
const char *synth_profile_name(enum synth_profile p);
/* The names, comma separated (for messages and --help). */
#define SYNTH_PROFILES "sinus, af, af-fast, apnoea, desat"

void synth_init(struct synth *g, enum synth_profile p, uint64_t seed, uint64_t t0_ms,
		uint64_t duration_ms);
/* The next sample into *s: 1, or 0 when the duration is reached. */
int synth_next(struct synth *g, struct iomt_s2_sample *s);

#endif
