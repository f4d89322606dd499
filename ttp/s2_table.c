/* SPDX-License-Identifier: MIT */
/* The party table: parties in an array, two open-addressing indexes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "ct.h"
#include "s2_table.h"

enum {
	INDEX_MIN = 64,       /* slots in a new index (a power of two) */
	PARTIES_MIN = 32,
};

/* A DID index slot; tag is 0 (empty) or the enum ttp_match it stands for. */
struct did_slot {
	uint8_t did[IOMT_S2_ID_LEN];
	uint32_t party;
	uint32_t tag;
};

/* A db_id index slot; db_id 0 marks it empty (row ids start at 1). */
struct db_slot {
	int64_t db_id;
	uint32_t party;
};

struct ttp_table {
	struct ttp_party *party;
	uint32_t n, cap;
	uint32_t nkind[3];
	struct did_slot *dids;   /* load kept at or below 1/2 */
	size_t dmask, dused;
	struct db_slot *dbs;     /* load kept at or below 1/2 (n entries) */
	size_t bmask;
};

/*
 * Stored DIDs are SHAKE128 outputs or getrandom values, never chosen by a
 * peer, so probe lengths stay those of random keys whatever DIDs a peer
 * looks up. The mixing only spreads test patterns (sequential DIDs).
 */
static size_t did_hash(const uint8_t *did)
{
	uint64_t x = iomt_load_le64(did) ^ iomt_load_le64(did + 8);

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 29;
	return (size_t)x;
}

static size_t db_hash(int64_t id)
{
	return (size_t)((uint64_t)id * 0x9e3779b97f4a7c15ULL >> 17);
}

/* Slot holding did, or the empty slot that ends its probe sequence. */
static size_t did_probe(const struct ttp_table *t, const uint8_t *did)
{
	size_t i = did_hash(did) & t->dmask;

	while (t->dids[i].tag && memcmp(t->dids[i].did, did, IOMT_S2_ID_LEN))
		i = (i + 1) & t->dmask;
	return i;
}

static void did_put(struct ttp_table *t, const uint8_t *did, uint32_t party, uint32_t tag)
{
	size_t i = did_probe(t, did);

	memcpy(t->dids[i].did, did, IOMT_S2_ID_LEN);
	t->dids[i].party = party;
	t->dids[i].tag = tag;
	t->dused++;
}

/* Is h cyclically in (i, j]? */
static int in_run(size_t h, size_t i, size_t j)
{
	return i < j ? (h > i && h <= j) : (h > i || h <= j);
}

/* Backward-shift deletion: no tombstones, so rotations never slow lookups. */
static void did_remove(struct ttp_table *t, const uint8_t *did)
{
	size_t i = did_probe(t, did), j = i;

	if (!t->dids[i].tag)
		return;
	for (;;) {
		j = (j + 1) & t->dmask;
		if (!t->dids[j].tag)
			break;
		if (!in_run(did_hash(t->dids[j].did) & t->dmask, i, j)) {
			t->dids[i] = t->dids[j];
			i = j;
		}
	}
	memset(&t->dids[i], 0, sizeof(t->dids[i]));
	t->dused--;
}

/* Room for `extra` more DIDs at load <= 1/2: rebuilds into a larger array. */
static int did_reserve(struct ttp_table *t, size_t extra)
{
	size_t cap = t->dmask + 1, ncap = cap, i;
	struct did_slot *old = t->dids;

	while ((t->dused + extra) * 2 > ncap)
		ncap *= 2;
	if (ncap == cap)
		return 0;
	t->dids = calloc(ncap, sizeof(*t->dids));
	if (!t->dids) {
		t->dids = old;
		return -ENOMEM;
	}
	t->dmask = ncap - 1;
	t->dused = 0;
	for (i = 0; i < cap; i++)
		if (old[i].tag)
			did_put(t, old[i].did, old[i].party, old[i].tag);
	free(old);
	return 0;
}

static size_t db_probe(const struct ttp_table *t, int64_t id)
{
	size_t i = db_hash(id) & t->bmask;

	while (t->dbs[i].db_id && t->dbs[i].db_id != id)
		i = (i + 1) & t->bmask;
	return i;
}

static int db_reserve(struct ttp_table *t)
{
	size_t cap = t->bmask + 1, i;
	struct db_slot *old = t->dbs;

	if (((size_t)t->n + 1) * 2 <= cap)
		return 0;
	t->dbs = calloc(cap * 2, sizeof(*t->dbs));
	if (!t->dbs) {
		t->dbs = old;
		return -ENOMEM;
	}
	t->bmask = cap * 2 - 1;
	for (i = 0; i < cap; i++)
		if (old[i].db_id)
			t->dbs[db_probe(t, old[i].db_id)] = old[i];
	free(old);
	return 0;
}

/* Party storage holds keys: a move wipes the old copy before freeing it. */
static int party_reserve(struct ttp_table *t)
{
	struct ttp_party *np;
	uint32_t ncap;

	if (t->n < t->cap)
		return 0;
	if (t->cap >= UINT32_MAX / 2)
		return -ENOMEM;
	ncap = t->cap ? t->cap * 2 : PARTIES_MIN;
	np = calloc(ncap, sizeof(*np));
	if (!np)
		return -ENOMEM;
	if (t->party) {
		memcpy(np, t->party, (size_t)t->n * sizeof(*np));
		iomt_wipe(t->party, (size_t)t->cap * sizeof(*np));
		free(t->party);
	}
	t->party = np;
	t->cap = ncap;
	return 0;
}

int ttp_table_new(struct ttp_table **out)
{
	struct ttp_table *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return -ENOMEM;
	t->dids = calloc(INDEX_MIN, sizeof(*t->dids));
	t->dbs = calloc(INDEX_MIN, sizeof(*t->dbs));
	if (!t->dids || !t->dbs) {
		ttp_table_free(t);
		return -ENOMEM;
	}
	t->dmask = t->bmask = INDEX_MIN - 1;
	*out = t;
	return 0;
}

void ttp_table_free(struct ttp_table *t)
{
	if (!t)
		return;
	if (t->party)
		iomt_wipe(t->party, (size_t)t->cap * sizeof(*t->party));
	free(t->party);
	free(t->dids);
	free(t->dbs);
	free(t);
}

/* The party owning did, or UINT32_MAX. */
static uint32_t did_owner(const struct ttp_table *t, const uint8_t *did)
{
	size_t i = did_probe(t, did);

	return t->dids[i].tag ? t->dids[i].party : UINT32_MAX;
}

static int ids_valid(const struct ttp_party *p)
{
	return !(p->has_prev && !memcmp(p->did_cur, p->did_prev, IOMT_S2_ID_LEN));
}

int ttp_table_add(struct ttp_table *t, const struct ttp_party *p, uint32_t *idx)
{
	uint32_t i;
	int r;

	if ((p->kind != TTP_PARTY_DEVICE && p->kind != TTP_PARTY_MEC) || p->db_id <= 0 ||
	    !ids_valid(p))
		return -EINVAL;
	if (did_owner(t, p->did_cur) != UINT32_MAX ||
	    (p->has_prev && did_owner(t, p->did_prev) != UINT32_MAX) ||
	    t->dbs[db_probe(t, p->db_id)].db_id)
		return -EEXIST;
	r = party_reserve(t);
	if (!r)
		r = did_reserve(t, 2);
	if (!r)
		r = db_reserve(t);
	if (r)
		return r;
	i = t->n++;
	t->party[i] = *p;
	t->party[i].has_prev = p->has_prev ? 1 : 0;
	t->nkind[p->kind]++;
	did_put(t, p->did_cur, i, TTP_MATCH_CUR);
	if (p->has_prev)
		did_put(t, p->did_prev, i, TTP_MATCH_PREV);
	t->dbs[db_probe(t, p->db_id)] = (struct db_slot){ p->db_id, i };
	if (idx)
		*idx = i;
	return 0;
}

int ttp_table_find(const struct ttp_table *t, const uint8_t did[IOMT_S2_ID_LEN],
		   uint32_t *idx, enum ttp_match *match)
{
	size_t i = did_probe(t, did);

	if (!t->dids[i].tag)
		return -ENOENT;
	*idx = t->dids[i].party;
	*match = (enum ttp_match)t->dids[i].tag;
	return 0;
}

int ttp_table_find_db(const struct ttp_table *t, int64_t db_id, uint32_t *idx)
{
	size_t i;

	if (db_id <= 0)
		return -ENOENT;
	i = db_probe(t, db_id);
	if (!t->dbs[i].db_id)
		return -ENOENT;
	*idx = t->dbs[i].party;
	return 0;
}

const struct ttp_party *ttp_table_get(const struct ttp_table *t, uint32_t idx)
{
	return idx < t->n ? &t->party[idx] : NULL;
}

int ttp_table_replace(struct ttp_table *t, uint32_t idx, const struct ttp_party *np)
{
	struct ttp_party *p;
	uint32_t o;
	int r;

	if (idx >= t->n || !ids_valid(np))
		return -EINVAL;
	p = &t->party[idx];
	o = did_owner(t, np->did_cur);
	if (o != UINT32_MAX && o != idx)
		return -EEXIST;
	o = np->has_prev ? did_owner(t, np->did_prev) : UINT32_MAX;
	if (o != UINT32_MAX && o != idx)
		return -EEXIST;
	r = did_reserve(t, 2);
	if (r)
		return r;
	did_remove(t, p->did_cur);
	if (p->has_prev)
		did_remove(t, p->did_prev);
	memcpy(p->did_cur, np->did_cur, IOMT_S2_ID_LEN);
	memcpy(p->dk_cur, np->dk_cur, IOMT_S2_KEY_LEN);
	memcpy(p->did_prev, np->did_prev, IOMT_S2_ID_LEN);
	memcpy(p->dk_prev, np->dk_prev, IOMT_S2_KEY_LEN);
	p->has_prev = np->has_prev ? 1 : 0;
	did_put(t, p->did_cur, idx, TTP_MATCH_CUR);
	if (p->has_prev)
		did_put(t, p->did_prev, idx, TTP_MATCH_PREV);
	return 0;
}

uint32_t ttp_table_size(const struct ttp_table *t)
{
	return t->n;
}

uint32_t ttp_table_count(const struct ttp_table *t, enum ttp_party_kind kind)
{
	return (kind == TTP_PARTY_DEVICE || kind == TTP_PARTY_MEC) ? t->nkind[kind] : 0;
}
