/* SPDX-License-Identifier: MIT */
/*
 * The registration table in the keeper's memory: every principal of the
 * database, open addressing keyed by the 16-byte name with a per-process
 * random hash key (a client chooses the names it asks about). Built whole
 * at start and on every database change, then swapped in: a look-up never
 * touches SQLite and never allocates.
 */
#ifndef IOMT_KDC_TABLE_H
#define IOMT_KDC_TABLE_H
#include <stddef.h>
#include <stdint.h>

#include "db.h"

struct kdc_table {
	struct kdc_principal *slot;  /* a zero name[0] marks a free slot */
	size_t mask;                 /* slots - 1, a power of two minus one */
	size_t count, revoked;
	uint64_t k0, k1;             /* hash key */
};

/* Room for n principals at most half full: 0 or -ENOMEM. */
int kdc_table_init(struct kdc_table *t, size_t n);
/* 0, -EEXIST (name present), -ENOSPC (full: size it with init). */
int kdc_table_add(struct kdc_table *t, const struct kdc_principal *p);
const struct kdc_principal *kdc_table_find(const struct kdc_table *t,
					   const uint8_t name[IOMT_KDC_NAME_LEN]);
void kdc_table_free(struct kdc_table *t);

/* A fresh table from the database: 0 or negative (t untouched then). */
int kdc_table_load(struct kdc_table *t, struct kdc_db *db);

#endif
