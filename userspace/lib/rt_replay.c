/* SPDX-License-Identifier: MIT */
/* The replay cache's table and its batch API; the file is rt_replay_file.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bytes.h"
#include "ct.h"
#include "rt_log.h"
#include "rt_replay_int.h"
#include "rt_rng.h"

/* Keys are MAC tags, but a cache is generic: the probe sequence is keyed
 * with a per-open random seed so nobody can aim keys at one chain. */
static size_t slot_of(const struct rt_replay *rc, const uint8_t key[RT_REPLAY_KEY_LEN])
{
	uint64_t x = iomt_load_le64(key) ^ rc->seed[0];

	x ^= (iomt_load_le64(key + 8) ^ rc->seed[1]) * 0x9e3779b97f4a7c15ULL;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return (size_t)x & rc->mask;
}

/* The slot holding key, or the empty slot ending its chain. */
static struct rt_replay_ent *find(const struct rt_replay *rc, const uint8_t key[RT_REPLAY_KEY_LEN])
{
	size_t i = slot_of(rc, key);

	while (rc->tab[i].exp && !iomt_ct_eq(rc->tab[i].key, key, RT_REPLAY_KEY_LEN))
		i = (i + 1) & rc->mask;
	return &rc->tab[i];
}

int rt_replay_tab_put(struct rt_replay *rc, const uint8_t key[RT_REPLAY_KEY_LEN], uint64_t exp)
{
	struct rt_replay_ent *e = find(rc, key);
	int present = e->exp != 0;

	if (!present) {
		memcpy(e->key, key, RT_REPLAY_KEY_LEN);
		rc->used++;
	}
	if (exp > e->exp)
		e->exp = exp;
	if (exp < rc->min_exp)
		rc->min_exp = exp;
	return present;
}

int rt_replay_tab_sweep(struct rt_replay *rc, uint64_t now_ms)
{
	struct rt_replay_ent *old = rc->tab, *tab = calloc(rc->mask + 1, sizeof(*tab));
	size_t n = rc->mask + 1;

	if (!tab)
		return -ENOMEM;
	rc->tab = tab;
	rc->used = 0;
	rc->min_exp = UINT64_MAX;
	for (size_t i = 0; i < n; i++)
		if (old[i].exp > now_ms)
			rt_replay_tab_put(rc, old[i].key, old[i].exp);
	free(old);
	rc->st.live = rc->used;
	return 0;
}

/* Room for one more key: 0, or RT_REPLAY_FULL; -ENOMEM. A sweep is tried
 * only once something can have expired, so a cache full of live keys costs
 * no sweep per request. */
static int make_room(struct rt_replay *rc, uint64_t now_ms)
{
	int r;

	if (rc->used < rc->capacity)
		return 0;
	if (rc->min_exp > now_ms)
		return RT_REPLAY_FULL;
	r = rt_replay_tab_sweep(rc, now_ms);
	if (r)
		return r;
	return rc->used < rc->capacity ? 0 : RT_REPLAY_FULL;
}

/* The verdict for one key; a NEW key is put in the table and in wbuf. */
static int check_one(struct rt_replay *rc, const uint8_t key[RT_REPLAY_KEY_LEN], uint64_t exp,
		     uint64_t now_ms, size_t *nrec)
{
	struct rt_replay_ent *e;
	int r;

	/* An expiry in the past: the key is already unacceptable. */
	if (exp <= now_ms)
		return RT_REPLAY_SEEN;
	e = find(rc, key);
	if (e->exp > now_ms)
		return RT_REPLAY_SEEN;
	if (e->exp) {
		/* An expired entry for the same key: reuse its slot. */
		e->exp = exp;
		if (exp < rc->min_exp)
			rc->min_exp = exp;
	} else {
		r = make_room(rc, now_ms);
		if (r)
			return r;
		rt_replay_tab_put(rc, key, exp);
	}
	rt_replay_rec_encode(rc->wbuf + *nrec * RT_REPLAY_REC_LEN, key, exp);
	(*nrec)++;
	return RT_REPLAY_NEW;
}

static int grow_wbuf(struct rt_replay *rc, size_t n)
{
	uint8_t *p;

	if (n <= rc->wcap)
		return 0;
	p = realloc(rc->wbuf, n * RT_REPLAY_REC_LEN);
	if (!p)
		return -ENOMEM;
	rc->wbuf = p;
	rc->wcap = n;
	return 0;
}

int rt_replay_check_and_add_batch(struct rt_replay *rc, const uint8_t (*keys)[RT_REPLAY_KEY_LEN],
				  const uint64_t *expire_ms, size_t n, uint64_t now_ms,
				  int *verdict)
{
	size_t nrec = 0;
	int r = 0;

	if (rc->broken) {
		rt_err("%s: an earlier write failed: reopen the replay cache", rc->path);
		return -EIO;
	}
	if ((r = grow_wbuf(rc, n)))
		return r;
	for (size_t i = 0; i < n; i++) {
		verdict[i] = check_one(rc, keys[i], expire_ms[i], now_ms, &nrec);
		if (verdict[i] < 0)
			return verdict[i];
		rc->st.replays += verdict[i] == RT_REPLAY_SEEN;
		rc->st.full += verdict[i] == RT_REPLAY_FULL;
	}
	if (nrec)
		r = rt_replay_file_append(rc, rc->wbuf, nrec);
	rc->st.live = rc->used;
	if (r)
		return r;
	rc->st.accepted += nrec;
	if (rc->st.file_records >= rc->check_at)
		r = rt_replay_maintain(rc, now_ms);
	/* The batch itself is durable whatever maintenance says. */
	return 0;
}

int rt_replay_check_and_add(struct rt_replay *rc, const uint8_t key[RT_REPLAY_KEY_LEN],
			    uint64_t expire_ms, uint64_t now_ms)
{
	uint8_t k[1][RT_REPLAY_KEY_LEN];
	int verdict, r;

	memcpy(k[0], key, RT_REPLAY_KEY_LEN);
	r = rt_replay_check_and_add_batch(rc, (const uint8_t(*)[RT_REPLAY_KEY_LEN])k, &expire_ms, 1,
					  now_ms, &verdict);

	return r ? r : verdict;
}

int rt_replay_maintain(struct rt_replay *rc, uint64_t now_ms)
{
	int r = rt_replay_tab_sweep(rc, now_ms);

	if (r)
		return r;
	/* Mostly expired: more records on file than twice the live keys. */
	if (rc->st.file_records >= RT_REPLAY_COMPACT_MIN && rc->st.file_records > 2 * rc->used)
		r = rt_replay_compact(rc, now_ms);
	rc->check_at = 2 * rc->st.file_records > RT_REPLAY_COMPACT_MIN ? 2 * rc->st.file_records
									: RT_REPLAY_COMPACT_MIN;
	return r;
}

int rt_replay_compact(struct rt_replay *rc, uint64_t now_ms)
{
	int r = rt_replay_tab_sweep(rc, now_ms);

	if (!r)
		r = rt_replay_file_compact(rc, now_ms);
	return r;
}

void rt_replay_get_stats(const struct rt_replay *rc, struct rt_replay_stats *st)
{
	*st = rc->st;
}

static size_t table_size(size_t capacity)
{
	size_t n = 16;

	while (n < 2 * capacity)
		n <<= 1;
	return n;
}

int rt_replay_open(const char *path, size_t capacity, uint64_t now_ms, struct rt_replay **out)
{
	struct rt_replay *rc;
	int r;

	*out = NULL;
	if (!path || !path[0] || strlen(path) + 8 >= PATH_MAX || !capacity ||
	    capacity > RT_REPLAY_CAPACITY_MAX) {
		rt_err("replay cache %s: bad arguments (capacity %zu, 1..%d)",
		       path ? path : "(null)", capacity, RT_REPLAY_CAPACITY_MAX);
		return -EINVAL;
	}
	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return -ENOMEM;
	snprintf(rc->path, sizeof(rc->path), "%s", path);
	rc->fd = -1;
	rc->capacity = rc->st.capacity = capacity;
	rc->mask = table_size(capacity) - 1;
	rc->min_exp = UINT64_MAX;
	rc->tab = calloc(rc->mask + 1, sizeof(*rc->tab));
	r = rc->tab ? rt_random(rc->seed, sizeof(rc->seed)) : -ENOMEM;
	if (!r)
		r = rt_replay_file_open(rc, now_ms);
	if (r) {
		rt_replay_close(rc);
		return r;
	}
	rc->check_at = 2 * rc->st.file_records > RT_REPLAY_COMPACT_MIN ? 2 * rc->st.file_records
									: RT_REPLAY_COMPACT_MIN;
	*out = rc;
	return 0;
}

void rt_replay_close(struct rt_replay *rc)
{
	if (!rc)
		return;
	if (rc->fd >= 0)
		close(rc->fd);
	free(rc->tab);
	free(rc->wbuf);
	free(rc);
}
