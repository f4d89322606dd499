/* SPDX-License-Identifier: MIT */
/*
 * Screening analyses the MEC runs on a device's samples (phase 4).
 *
 * An analysis consumes one kind of sample (RR intervals, SpO2) and emits a
 * result per closed window: a verdict (normal, suspect, emergency), the
 * window it covers and four fixed-point metrics. Its state is a fixed-size
 * block of plain bytes (no pointers): the MEC keeps it as a blob, may copy
 * it anywhere, and feeds samples in chunks of any size with identical
 * results. Everything is integer arithmetic: the same samples give the same
 * results, byte for byte, on every machine.
 *
 *   const struct analysis_ops *a = an_find_kind(AN_KIND_SPO2);
 *   void *st = malloc(a->state_size);
 *   a->init(st);
 *   if (a->feed(st, samples, n, on_result, ctx) < 0) ... refuse the batch
 *
 * feed() checks the whole batch first: a NULL argument, a time going back
 * (also against the last sample already fed) or a value out of range gives
 * IOMT_EINVAL with no result emitted and the state untouched; a state that
 * init() did not make (another layout version, damage) gives IOMT_ESTATE.
 * It returns 0 otherwise. The state is in host byte order: a blob moves
 * between builds of the same version on the same architecture only. The methods, thresholds, windows and metrics are documented in
 * docs/ANALYSES.md. These are screening aids, not diagnoses.
 */
#ifndef IOMT_ANALYSIS_H
#define IOMT_ANALYSIS_H
#include <stddef.h>
#include <stdint.h>

enum { AN_KIND_RR = 1,      /* value = RR interval in milliseconds */
       AN_KIND_SPO2 = 2 };  /* value = SpO2 in tenths of a percent (975 = 97.5 %) */
enum { AN_ID_AF = 1, AN_ID_ODI = 2 };
enum { AN_VERDICT_NORMAL = 0, AN_VERDICT_SUSPECT = 1, AN_VERDICT_EMERGENCY = 2 };

struct an_sample { uint64_t t_ms; int32_t value; };  /* device time, ms; non-decreasing per stream */

struct an_result {
	uint8_t analysis;                  /* AN_ID_* */
	uint8_t verdict;                   /* AN_VERDICT_* */
	uint64_t win_start_ms, win_end_ms; /* the window the result covers (both inclusive) */
	uint32_t n_samples;                /* samples in the window */
	int64_t metric[4];                 /* meaning and fixed-point scale documented per analysis */
};

struct analysis_ops {
	const char *name;                  /* "af", "odi" */
	uint8_t id;                        /* AN_ID_* */
	uint8_t kind;                      /* the AN_KIND_* it consumes */
	size_t state_size;                 /* plain bytes, no pointers: the MEC persists it as a blob */
	void (*init)(void *state);
	/* samples in time order; calls emit once per closed window (0..n times); <0 on bad input
	 * (e.g. time going back, value out of range: IOMT_EINVAL), no state change then */
	int (*feed)(void *state, const struct an_sample *s, size_t n,
		    void (*emit)(void *ctx, const struct an_result *r), void *ctx);
};

/* The registry; NULL when nothing matches. */
const struct analysis_ops *an_find(uint8_t id);
const struct analysis_ops *an_find_kind(uint8_t kind);   /* the analysis consuming this kind */
const struct analysis_ops *an_find_name(const char *name);

/* Result encoding, integers big-endian, metrics two's complement:
 * analysis (1) | verdict (1) | win_start_ms (8) | win_end_ms (8) |
 * n_samples (4) | metric[0..3] (4 x 8). encode: IOMT_EINVAL for NULL or an
 * invalid result; decode: IOMT_EINVAL for NULL, IOMT_EMALFORMED for an
 * unknown analysis, a verdict > 2 or win_start_ms > win_end_ms. */
#define AN_RESULT_LEN 54   /* an_result_encode: fixed big-endian encoding, documented */
int an_result_encode(const struct an_result *r, uint8_t out[AN_RESULT_LEN]);
int an_result_decode(const uint8_t in[AN_RESULT_LEN], struct an_result *r);

/* Shared by the analyses (documented in docs/ANALYSES.md). */
enum { AN_GAP_MS = 60000 };   /* more than this between two samples: a gap */
/* an_batch_check: a feed's batch, checked before anything changes: every
 * value in [vmin, vmax], every t_ms <= t_max and none before the one before
 * it (nor before last_t when have_last). 0, or IOMT_EINVAL. */
int an_batch_check(const struct an_sample *s, size_t n, uint64_t last_t, int have_last,
		   int32_t vmin, int32_t vmax, uint64_t t_max);

extern const struct analysis_ops an_af_ops, an_odi_ops;

#endif
