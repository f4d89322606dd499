/* SPDX-License-Identifier: MIT */
/*
 * The session table's index by handle (phase 4: an S2_DATA frame names its
 * session by the 8-byte handle both ends derive from SK, lib/s2_data.h).
 * Open addressing with linear probing over at least twice the table's
 * capacity, deletion by backward shift: a look-up touches a few slots
 * whatever the load. Handles are KMAC outputs, so their low bits are the
 * hash. A second session with the same handle (a 2^-64 event) replaces the
 * first in the index.
 */
#ifndef IOMT_GWD_SESSIDX_H
#define IOMT_GWD_SESSIDX_H

#include <stddef.h>
#include <stdint.h>

struct gwd_session;

struct gwd_sessidx {
	uint32_t *slot;		/* ring position + 1; 0 = empty */
	size_t mask;
};

int gwd_sessidx_init(struct gwd_sessidx *x, size_t cap);
void gwd_sessidx_free(struct gwd_sessidx *x);
/* ring[pos] now holds a session with this handle. */
void gwd_sessidx_put(struct gwd_sessidx *x, const struct gwd_session *ring, size_t pos);
/* ring[pos] is about to be wiped. */
void gwd_sessidx_del(struct gwd_sessidx *x, const struct gwd_session *ring, size_t pos);
/* The ring position of handle, or -1. */
long gwd_sessidx_get(const struct gwd_sessidx *x, const struct gwd_session *ring,
		     uint64_t handle);

#endif
