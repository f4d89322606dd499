/* SPDX-License-Identifier: MIT */
/*
 * The TTP's party table for seed 002 (docs/PROTOCOL.md §3.4): every device
 * and every MEC identity slot with its current and previous (DID, DK), in
 * memory, with a hash index on DID (current and previous both indexed) and
 * one on the database row id.
 *
 * Parties are never removed; an index (uint32_t) stays valid for the life
 * of the table. Storage holding keys is wiped before it is freed or moved.
 * No I/O, no runtime: the benchmark links it with libiomt alone.
 */
#ifndef IOMT_TTP_S2_TABLE_H
#define IOMT_TTP_S2_TABLE_H
#include <stddef.h>
#include <stdint.h>

#include "seed002.h"
#include "wire.h"

enum ttp_party_kind {
	TTP_PARTY_DEVICE = 1,
	TTP_PARTY_MEC = 2,
};

/* Which of a party's two identities a DID matched. */
enum ttp_match {
	TTP_MATCH_CUR = 1,
	TTP_MATCH_PREV = 2,
};

struct ttp_party {
	int64_t db_id;                      /* row of the parties table (> 0) */
	uint8_t kind;                       /* enum ttp_party_kind */
	uint8_t has_prev;                   /* 0 until the first rotation */
	uint8_t id_a[IOMT_S2_IDA_LEN];      /* devices: their analysis */
	uint8_t did_cur[IOMT_S2_ID_LEN];
	uint8_t dk_cur[IOMT_S2_KEY_LEN];    /* secret */
	uint8_t did_prev[IOMT_S2_ID_LEN];
	uint8_t dk_prev[IOMT_S2_KEY_LEN];   /* secret */
};

struct ttp_table;

/* Functions return 0 or a negative errno. */
int ttp_table_new(struct ttp_table **out);
/* Wipes every key, then frees. NULL is a no-op. */
void ttp_table_free(struct ttp_table *t);

/* Appends a copy of p. -EEXIST if one of its DIDs, or its db_id, is already
 * in the table; -EINVAL for a bad kind, db_id or a party whose two DIDs are
 * equal; -ENOMEM. On failure the table is unchanged. */
int ttp_table_add(struct ttp_table *t, const struct ttp_party *p, uint32_t *idx);

/* The party holding did as its current or previous identity: 0, or -ENOENT. */
int ttp_table_find(const struct ttp_table *t, const uint8_t did[IOMT_S2_ID_LEN],
		   uint32_t *idx, enum ttp_match *match);
/* The party of database row db_id: 0, or -ENOENT. */
int ttp_table_find_db(const struct ttp_table *t, int64_t db_id, uint32_t *idx);

/* Read-only view; idx must come from this table. */
const struct ttp_party *ttp_table_get(const struct ttp_table *t, uint32_t idx);

/* Replaces the identities of party idx with np's (kind, db_id and id_a are
 * kept) and re-indexes them. -EEXIST if a new DID belongs to another party,
 * -EINVAL if np's two DIDs are equal, -ENOMEM; the party is then unchanged. */
int ttp_table_replace(struct ttp_table *t, uint32_t idx, const struct ttp_party *np);

/* Number of parties, and of each kind. */
uint32_t ttp_table_size(const struct ttp_table *t);
uint32_t ttp_table_count(const struct ttp_table *t, enum ttp_party_kind kind);

#endif
