/* SPDX-License-Identifier: MIT */
/*
 * The MEC identity pool (docs/PROTOCOL.md §3.5): N independent slots, each
 * one published identity chain (DID_m, DK_m), used by one agreement at a
 * time. Slot state machine:
 *
 *   FREE --take--> AWAIT_M3 --commit (new pair persisted)--> FREE
 *                           --release (refused, timeout, link lost)--> FREE, pair unchanged
 *
 * The pairs live in a crash-safe record file (rt_recfile): record 0 is a
 * header (magic "IOMTGWD1", version, slot count), record 1 + i is slot i's
 * DID (16) || DK (16). gwd_pool_commit() writes a whole batch with one
 * fdatasync, before any M4 of the batch leaves, so after a crash each slot
 * holds its old or its new pair and the TTP accepts both (current/previous).
 */
#ifndef IOMT_GWD_POOL_H
#define IOMT_GWD_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "seed002.h"

enum {
	GWD_POOL_SLOT_BITS = 12,			/* the slot's bits in a req_id */
	GWD_POOL_MAX = 1 << GWD_POOL_SLOT_BITS,		/* slots per pool */
	GWD_PAIR_LEN = IOMT_S2_ID_LEN + IOMT_S2_KEY_LEN,	/* one record */
	GWD_POOL_VERSION = 1,
};

enum gwd_slot_state {
	GWD_SLOT_FREE = 0,
	GWD_SLOT_AWAIT_M3,	/* M2 sent with this slot's pair, waiting for M3 */
};

struct gwd_slot {
	uint8_t did[IOMT_S2_ID_LEN];	/* current pair, as on disk */
	uint8_t dk[IOMT_S2_KEY_LEN];	/* secret */
	uint32_t state;			/* enum gwd_slot_state */
	uint32_t seq;			/* runs started: the req_id's upper bits */
};

struct rt_recfile;

struct gwd_pool {
	struct rt_recfile *rf;
	struct gwd_slot *slot;		/* secret memory */
	size_t n;
	uint16_t *fifo;			/* free slots, oldest first */
	size_t head, nfree;
	size_t *wr_idx;			/* commit scratch: record numbers */
	const void **wr_rec;		/* and the records */
};

/* Opens an existing state file (never creates one); errors in err. */
int gwd_pool_open(struct gwd_pool *p, const char *path, char *err, size_t errlen);
void gwd_pool_close(struct gwd_pool *p);

/* FREE -> AWAIT_M3 for the longest-free slot: 0, or -EBUSY if none is free. */
int gwd_pool_take(struct gwd_pool *p, size_t *idx);
/* AWAIT_M3 -> FREE, pair unchanged. */
void gwd_pool_release(struct gwd_pool *p, size_t idx);
/* AWAIT_M3 -> FREE with new pairs, durable before it returns: 0, or -errno
 * and nothing changed in memory (the caller releases those slots). */
int gwd_pool_commit(struct gwd_pool *p, const size_t *idx, const uint8_t (*pair)[GWD_PAIR_LEN],
		    size_t n);
size_t gwd_pool_nfree(const struct gwd_pool *p);

/* A new state file at path (which must not exist) holding n pairs. */
int gwd_pool_create(const char *path, const uint8_t (*pair)[GWD_PAIR_LEN], size_t n, char *err,
		    size_t errlen);

#endif
