/* SPDX-License-Identifier: MIT */
/*
 * The MEC role of seed 002 (docs/PROTOCOL.md §2, §3), behind struct
 * gwd_role_ops:
 *
 *   S2_M1 batch (devices)  -> a free slot each (else DEV_ERR BUSY), fresh R2,
 *                             iomt_s2_mec_m2_batch, S2_M2 frames to the TTP
 *   S2_M3 batch (TTP)      -> req_id -> slot, iomt_s2_mec_finish_batch (d3),
 *                             ID_a box, the batch's new slot pairs persisted
 *                             (one write), then S2_M4 frames to the devices
 *   S2_LINK_ERR (TTP)      -> slot freed unchanged; codes 1-4 relayed as
 *                             S2_DEV_ERR (code || R1), 6-7 as BUSY
 *   timeout / link down    -> slot freed unchanged
 *
 * req_id = run counter of the slot (upper 20 bits) || slot (lower 12), so
 * a reply finds its slot at once and a stale reply never matches.
 */
#ifndef IOMT_GWD_MEC_H
#define IOMT_GWD_MEC_H

#include <stddef.h>
#include <stdint.h>

#include "pool.h"
#include "role.h"
#include "sessions.h"

enum {
	GWD_BATCH_MAX = 1024,	/* the 'batch_max' key's upper bound */
};

struct mec_run;
struct mec_scratch;

struct gwd_mec {
	struct gwd_pool *pool;
	struct gwd_sessions *sessions;
	const struct gwd_tx *tx;
	struct mec_run *run;		/* one per slot; secret memory */
	struct mec_scratch *s;		/* one batch's arrays; secret memory */
	uint64_t timeout_ms;
	uint64_t next_timeout;		/* no run ends before this */
	size_t batch_max;
	uint32_t batch_gen;		/* upstream batches handled */
	int draining;
};

extern const struct gwd_role_ops gwd_mec_ops;

int gwd_mec_init(struct gwd_mec *m, struct gwd_pool *pool, struct gwd_sessions *sessions,
		 const struct gwd_tx *tx, uint64_t timeout_ms, size_t batch_max);
/* Ends (wipes, frees unchanged) every run still waiting. */
void gwd_mec_fini(struct gwd_mec *m);

#endif
