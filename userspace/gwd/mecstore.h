/* SPDX-License-Identifier: MIT */
/*
 * The MEC's phase-4 store (SQLite through rt_store, docs/PROTOCOL.md §8.5),
 * keyed by ID_a only: the MEC never learns which device or patient an
 * analysis belongs to, and nothing here names one.
 *
 *   samples   (seq, id_a, kind, t_ms, value): the latest samples_max per
 *             ID_a; older ones are deleted (counted by the caller)
 *   an_state  (id_a, analysis, state): each analysis's state blob
 *   results   (seq, id_a, analysis, verdict, win_start_ms, win_end_ms,
 *             result (54), sig, created): signed results, the latest
 *             results_max per ID_a
 *
 * The MEC role writes one transaction per receive batch (begin ... commit):
 * the batch's samples and results (insert), then once per ID_a of the batch
 * the evictions down to samples_max and results_max, and the analysis
 * states the batch changed (mecstate.h).
 */
#ifndef IOMT_GWD_MECSTORE_H
#define IOMT_GWD_MECSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/analysis.h"
#include "s2_data.h"
#include "wire.h"

struct rt_store;
struct rt_stmt;
struct mecstore_count;

struct gwd_mecstore {
	struct rt_store *db;
	struct rt_stmt *ins_sample, *evict_samples, *get_state, *put_state, *ins_result,
		*evict_results, *last_result, *list_results, *count_samples, *count_results,
		*trim_samples, *trim_results, *ins_samples;
	int64_t samples_max, results_max;
	/* Rows per ID_a, counted at an ID_a's first eviction and kept up to
	 * date, so an eviction deletes just the excess (walking only those
	 * rows of the index, not samples_max of them); a bounded table,
	 * cleared when full and on every rollback. */
	struct mecstore_count *counts;
	size_t ncounts;
	/* The benchmark baseline (mec_ingest_batch 1): the store as before
	 * batching: one insert per sample, and every eviction walks the newest
	 * samples_max (results_max) rows of the ID_a. */
	int baseline;
};

/* Opens (creating) the store: 0, or -errno with err set. */
int gwd_mecstore_open(struct gwd_mecstore *s, const char *path, int64_t samples_max,
		      int64_t results_max, char *err, size_t errlen);
void gwd_mecstore_close(struct gwd_mecstore *s);

int gwd_mecstore_begin(struct gwd_mecstore *s);
int gwd_mecstore_commit(struct gwd_mecstore *s);
void gwd_mecstore_rollback(struct gwd_mecstore *s);

/* Appends samples (no eviction): 0 or -errno. */
int gwd_mecstore_insert_samples(struct gwd_mecstore *s, const uint8_t id_a[IOMT_S2_IDA_LEN],
				const struct iomt_s2_sample *v, size_t n);
/* Deletes id_a's oldest samples beyond samples_max: 0 (+= *evicted) or -errno. */
int gwd_mecstore_evict_samples(struct gwd_mecstore *s, const uint8_t id_a[IOMT_S2_IDA_LEN],
			       uint64_t *evicted);
/* insert_samples, then evict_samples. */
int gwd_mecstore_add_samples(struct gwd_mecstore *s, const uint8_t id_a[IOMT_S2_IDA_LEN],
			     const struct iomt_s2_sample *v, size_t n, uint64_t *evicted);
/* An analysis's state: 1 (len bytes copied), 0 (none yet), -EPROTO (a blob
 * of another size), or -errno. */
int gwd_mecstore_state_get(struct gwd_mecstore *s, const uint8_t id_a[IOMT_S2_IDA_LEN],
			   uint8_t analysis, void *state, size_t len);
int gwd_mecstore_state_put(struct gwd_mecstore *s, const uint8_t id_a[IOMT_S2_IDA_LEN],
			   uint8_t analysis, const void *state, size_t len);
/* A signed result (no eviction); its row id in *id: 0 or -errno. */
int gwd_mecstore_result_insert(struct gwd_mecstore *s, const uint8_t id_a[IOMT_S2_IDA_LEN],
			       const struct an_result *r, const uint8_t enc[AN_RESULT_LEN],
			       const uint8_t *sig, size_t sig_len, int64_t created_s, int64_t *id);
/* Deletes id_a's oldest results beyond results_max: 0 (+= *evicted) or -errno. */
int gwd_mecstore_evict_results(struct gwd_mecstore *s, const uint8_t id_a[IOMT_S2_IDA_LEN],
			       uint64_t *evicted);
/* result_insert, then evict_results. */
int gwd_mecstore_result_add(struct gwd_mecstore *s, const uint8_t id_a[IOMT_S2_IDA_LEN],
			    const struct an_result *r, const uint8_t enc[AN_RESULT_LEN],
			    const uint8_t *sig, size_t sig_len, int64_t created_s, int64_t *id,
			    uint64_t *evicted);

/* For phase 5: the results of id_a with id > after, oldest first, at most
 * max; fn returns nonzero to stop. How many were passed, or -errno. */
typedef int gwd_mecstore_result_fn(void *ctx, int64_t id, const uint8_t enc[AN_RESULT_LEN],
				   const uint8_t *sig, size_t sig_len);
long gwd_mecstore_results(struct gwd_mecstore *s, const uint8_t id_a[IOMT_S2_IDA_LEN],
			  int64_t after, size_t max, gwd_mecstore_result_fn *fn, void *ctx);

#endif
