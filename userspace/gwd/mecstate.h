/* SPDX-License-Identifier: MIT */
/*
 * Phase 4's analysis states in memory: a bounded cache of (ID_a, analysis)
 * -> state blob in front of the store's an_state table (mecstore.h), least
 * recently used out first.
 *
 *   get      the state: from the cache, else loaded from the store, else
 *            made by the analysis's init(); the caller feeds it, then
 *   dirty    marks it changed in the open store transaction
 *   flush    writes every dirty state into the open transaction
 *   committed  after the commit: nothing is dirty any more
 *   abort    after a rollback: the dirty entries are dropped, so the next
 *            get reloads what the store holds (the state before the batch)
 *
 * An entry pushed out while dirty is written into the open transaction
 * first, so the cache never holds the only copy of a state that a commit
 * needs, and a crash never leaves samples without their state or the
 * other way round: both go in the same transaction. Event loop only.
 */
#ifndef IOMT_GWD_MECSTATE_H
#define IOMT_GWD_MECSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/analysis.h"
#include "mecstore.h"

struct mecstate_ent;

struct gwd_mecstate {
	struct mecstate_ent *e;		/* cap entries */
	uint8_t *blob;			/* cap x state_max bytes */
	uint32_t *bucket;		/* hash heads */
	uint32_t *dirty;		/* entries changed in the open transaction */
	size_t cap, n, ndirty, state_max;
	uint32_t mask;			/* buckets - 1 */
	uint32_t mru, lru, free;	/* LRU list ends, free list */
	uint64_t hits, loads, evictions;	/* for the metrics and the tests */
};

/* cap >= 1 entries of states up to state_max bytes: 0 or -ENOMEM. */
int gwd_mecstate_init(struct gwd_mecstate *c, size_t cap, size_t state_max);
void gwd_mecstate_free(struct gwd_mecstate *c);

/* The state of (id_a, a) in *state (state_size bytes, valid until the next
 * get): 1 from the cache or the store, 0 fresh (init), -EPROTO fresh
 * because the stored blob has another size, or -errno (the store failed:
 * reading it, or writing out the dirty entry that had to make room). */
int gwd_mecstate_get(struct gwd_mecstate *c, struct gwd_mecstore *st,
		     const uint8_t id_a[IOMT_S2_IDA_LEN], const struct analysis_ops *a,
		     void **state);
/* The state last returned by get was changed. */
void gwd_mecstate_dirty(struct gwd_mecstate *c, const void *state);
/* Writes the dirty states into the open transaction: 0 or -errno. */
int gwd_mecstate_flush(struct gwd_mecstate *c, struct gwd_mecstore *st);
void gwd_mecstate_committed(struct gwd_mecstate *c);
void gwd_mecstate_abort(struct gwd_mecstate *c);
/* Drops every entry (the per-frame benchmark baseline: the store only). */
void gwd_mecstate_clear(struct gwd_mecstate *c);

#endif
