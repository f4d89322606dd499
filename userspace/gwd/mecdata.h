/* SPDX-License-Identifier: MIT */
/*
 * Seed 002 phase 4 at the MEC (docs/PROTOCOL.md §8), behind struct
 * gwd_role_ops: devices' S2_DATA frames.
 *
 *   S2_DATA batch (devices) -> handle -> session (sessions.h), counter in the
 *       session's 64-counter window, AES-128-CCM tag (lib/s2_data.h), checked
 *       against the batch's own copy of the window (an earlier frame of the
 *       batch counts); the session's window moves only after the commit
 *   then, in one store transaction for the batch (mecstore.h): the samples
 *       under the session's ID_a, each kind's analysis (analysis.h:
 *       an_find_kind) fed from its state (mecstate.h: a bounded memory cache
 *       in front of the store), every result signed with the MEC's key
 *       (s2_result.h) and stored with its window; once per ID_a the bounds
 *       (the latest mec_samples_max samples and mec_results_max results
 *       kept); the states the batch changed; commit
 *   after the commit: the sessions' windows move, then each EMERGENCY
 *       result goes to the emergency hook (phase 6), in arrival order, and
 *       is logged without any identifier. A failed transaction refuses the
 *       whole batch: nothing stored, no window moved (the frames may come
 *       again), the cache's changes dropped; counted and logged.
 *
 * There is no answer to the device (no S2_DATA_ACK): a frame that does not
 * verify, is replayed or names no live session is counted and dropped.
 * Nothing here learns or logs a device's or patient's identity: only ID_a
 * (in the store, never in the log) and the session handle.
 */
#ifndef IOMT_GWD_MECDATA_H
#define IOMT_GWD_MECDATA_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/types.h>

#include "lib/analysis.h"
#include "lib/ecqv.h"
#include "mecstate.h"
#include "mecstore.h"
#include "role.h"
#include "sessions.h"

struct gwd_cfg;
struct mecdata_scratch;

/* Phase 6's entry: a stored, signed EMERGENCY result (id = its row in the
 * results table). Called after the commit, from the event loop; must not
 * block. */
typedef void gwd_mecdata_emergency_fn(void *ctx, const uint8_t id_a[IOMT_S2_IDA_LEN],
				      const struct an_result *r,
				      const uint8_t enc[AN_RESULT_LEN], const uint8_t *sig,
				      size_t sig_len, int64_t id);

struct gwd_mecdata {
	struct gwd_sessions *sessions;
	struct gwd_mecstore store;
	EVP_PKEY *key;			/* the MEC's phase-1 key: signs results */
	struct ecqv_cert cert;		/* its certificate */
	struct mecdata_scratch *s;
	struct gwd_mecstate cache;	/* analysis states by (ID_a, analysis) */
	size_t batch_max;
	size_t state_max;		/* the largest analysis state */
	/* mec_ingest_batch 1, the benchmark baseline only: one transaction
	 * per frame, every state read from and written to the store */
	int per_frame;
	/* Tests only: nonzero fails the batch's transaction before the commit. */
	int (*fail_commit)(void *ctx);
	void *fail_ctx;
	gwd_mecdata_emergency_fn *on_emergency;
	void *emergency_ctx;
};

extern const struct gwd_role_ops gwd_mecdata_ops;

/* Loads cfg->mec_key, opens cfg->mec_store: 0, or -1 with err set. */
int gwd_mecdata_init(struct gwd_mecdata *m, const struct gwd_cfg *cfg,
		     struct gwd_sessions *sessions, char *err, size_t errlen);
void gwd_mecdata_fini(struct gwd_mecdata *m);
/* Connects phase 6 (NULL disconnects). */
void gwd_mecdata_on_emergency(struct gwd_mecdata *m, gwd_mecdata_emergency_fn *fn, void *ctx);
/* "phase 4 (data): store FILE, results signed by SUBJECT-HEX" for the start-up log. */
void gwd_mecdata_describe(const struct gwd_mecdata *m, char *buf, size_t len);

#endif
