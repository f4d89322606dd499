/* SPDX-License-Identifier: MIT */
/*
 * Group commit: every complete REC_PUT of every connection (at most
 * group_max, taken round-robin so no gateway starves the others) is decoded
 * and checked, the good ones are written in ONE transaction, and only after
 * its COMMIT are the ACKs queued: OK with stored and duplicate counts,
 * MALFORMED for a batch that does not parse or check (nothing of it
 * stored), INTERNAL for every batch of a group whose commit failed (BUSY
 * when the database stayed locked by another writer past the busy
 * timeout): nothing of that group is stored.
 */
#ifndef IOMT_STORE_GROUP_H
#define IOMT_STORE_GROUP_H

#include "daemon.h"

int store_group_init(struct store_daemon *d);
void store_group_fini(struct store_daemon *d);
/* One group; sets d->more when complete frames are left for another. */
void store_group_run(struct store_daemon *d);

/* Checks beyond the codec, with no key: every record's (epoch, leaf) is a
 * leaf of meta's tree in that epoch. 0 or an IOMT_E* code. */
int store_group_check(const struct iomt_recbatch *b);

#endif
