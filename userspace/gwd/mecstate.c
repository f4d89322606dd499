/* SPDX-License-Identifier: MIT */
/* Phase 4's analysis states: a bounded LRU cache in front of the store. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ct.h"
#include "mecstate.h"

#define NIL UINT32_MAX

struct mecstate_ent {
	uint8_t id_a[IOMT_S2_IDA_LEN];
	uint8_t analysis;
	uint8_t is_dirty;
	uint32_t len;			/* state bytes */
	uint32_t hnext;			/* hash chain */
	uint32_t prev, next;		/* LRU list (prev: more recent); next: free list too */
	uint32_t dpos;			/* index in c->dirty while dirty */
};

static uint32_t hash(const struct gwd_mecstate *c, const uint8_t id_a[IOMT_S2_IDA_LEN],
		     uint8_t analysis)
{
	uint64_t a, b;

	memcpy(&a, id_a, 8);
	memcpy(&b, id_a + 8, 8);
	a ^= (b << 29 | b >> 35) ^ analysis;
	a *= 0x9e3779b97f4a7c15ULL;
	return (uint32_t)(a >> 32) & c->mask;
}

static uint8_t *blob_of(struct gwd_mecstate *c, uint32_t i)
{
	return c->blob + (size_t)i * c->state_max;
}

/* Everything free (at init: the blobs are calloc's zeros). */
static void cache_reset(struct gwd_mecstate *c)
{
	for (uint32_t b = 0; b <= c->mask; b++)
		c->bucket[b] = NIL;
	for (uint32_t i = 0; i < c->cap; i++)
		c->e[i].next = i + 1 < c->cap ? i + 1 : NIL;
	c->free = 0;
	c->mru = c->lru = NIL;
	c->n = c->ndirty = 0;
}

int gwd_mecstate_init(struct gwd_mecstate *c, size_t cap, size_t state_max)
{
	size_t nb = 2;

	memset(c, 0, sizeof(*c));
	if (!cap || cap >= NIL / 4 || !state_max)
		return -EINVAL;
	while (nb < 2 * cap)
		nb *= 2;
	c->e = calloc(cap, sizeof(*c->e));
	c->blob = calloc(cap, state_max);
	c->bucket = malloc(nb * sizeof(*c->bucket));
	c->dirty = calloc(cap, sizeof(*c->dirty));
	if (!c->e || !c->blob || !c->bucket || !c->dirty) {
		gwd_mecstate_free(c);
		return -ENOMEM;
	}
	c->cap = cap;
	c->state_max = state_max;
	c->mask = (uint32_t)(nb - 1);
	cache_reset(c);
	return 0;
}

void gwd_mecstate_free(struct gwd_mecstate *c)
{
	/* an entry's blob is wiped when it leaves: only those in use hold data */
	if (c->cap)
		gwd_mecstate_clear(c);
	free(c->e);
	free(c->blob);
	free(c->bucket);
	free(c->dirty);
	memset(c, 0, sizeof(*c));
}

static void lru_unlink(struct gwd_mecstate *c, uint32_t i)
{
	struct mecstate_ent *x = &c->e[i];

	if (x->prev != NIL)
		c->e[x->prev].next = x->next;
	else
		c->mru = x->next;
	if (x->next != NIL)
		c->e[x->next].prev = x->prev;
	else
		c->lru = x->prev;
}

static void lru_front(struct gwd_mecstate *c, uint32_t i)
{
	struct mecstate_ent *x = &c->e[i];

	x->prev = NIL;
	x->next = c->mru;
	if (c->mru != NIL)
		c->e[c->mru].prev = i;
	c->mru = i;
	if (c->lru == NIL)
		c->lru = i;
}

static void undirty(struct gwd_mecstate *c, uint32_t i)
{
	struct mecstate_ent *x = &c->e[i];
	uint32_t last;

	if (!x->is_dirty)
		return;
	last = c->dirty[--c->ndirty];
	c->dirty[x->dpos] = last;
	c->e[last].dpos = x->dpos;
	x->is_dirty = 0;
}

/* Takes entry i out of the cache, onto the free list. */
static void drop(struct gwd_mecstate *c, uint32_t i)
{
	struct mecstate_ent *x = &c->e[i];
	uint32_t *p = &c->bucket[hash(c, x->id_a, x->analysis)];

	while (*p != i)
		p = &c->e[*p].hnext;
	*p = x->hnext;
	undirty(c, i);
	lru_unlink(c, i);
	iomt_wipe(blob_of(c, i), c->state_max);
	memset(x, 0, sizeof(*x));
	x->next = c->free;
	c->free = i;
	c->n--;
}

static int put(struct gwd_mecstore *st, struct gwd_mecstate *c, uint32_t i)
{
	return gwd_mecstore_state_put(st, c->e[i].id_a, c->e[i].analysis, blob_of(c, i),
				      c->e[i].len);
}

int gwd_mecstate_get(struct gwd_mecstate *c, struct gwd_mecstore *st,
		     const uint8_t id_a[IOMT_S2_IDA_LEN], const struct analysis_ops *a,
		     void **state)
{
	uint32_t h = hash(c, id_a, a->id), i;
	struct mecstate_ent *x;
	int r;

	if (a->state_size > c->state_max)
		return -EINVAL;
	for (i = c->bucket[h]; i != NIL; i = c->e[i].hnext) {
		x = &c->e[i];
		if (x->analysis == a->id && !memcmp(x->id_a, id_a, IOMT_S2_IDA_LEN)) {
			lru_unlink(c, i);
			lru_front(c, i);
			c->hits++;
			*state = blob_of(c, i);
			return 1;
		}
	}
	if (c->free == NIL) {
		/* full: the least recently used goes, written out first if dirty */
		i = c->lru;
		if (c->e[i].is_dirty && (r = put(st, c, i)) < 0)
			return r;
		drop(c, i);
		c->evictions++;
	}
	i = c->free;
	x = &c->e[i];
	r = gwd_mecstore_state_get(st, id_a, a->id, blob_of(c, i), a->state_size);
	if (r < 0 && r != -EPROTO)
		return r;
	if (r != 1)
		a->init(blob_of(c, i));
	c->free = x->next;
	memcpy(x->id_a, id_a, IOMT_S2_IDA_LEN);
	x->analysis = a->id;
	x->len = (uint32_t)a->state_size;
	x->hnext = c->bucket[h];
	c->bucket[h] = i;
	lru_front(c, i);
	c->n++;
	c->loads++;
	*state = blob_of(c, i);
	return r;
}

void gwd_mecstate_dirty(struct gwd_mecstate *c, const void *state)
{
	uint32_t i = (uint32_t)(((const uint8_t *)state - c->blob) / c->state_max);
	struct mecstate_ent *x = &c->e[i];

	if (x->is_dirty)
		return;
	x->is_dirty = 1;
	x->dpos = (uint32_t)c->ndirty;
	c->dirty[c->ndirty++] = i;
}

int gwd_mecstate_flush(struct gwd_mecstate *c, struct gwd_mecstore *st)
{
	int r = 0;

	for (size_t j = 0; !r && j < c->ndirty; j++)
		r = put(st, c, c->dirty[j]);
	return r;
}

void gwd_mecstate_committed(struct gwd_mecstate *c)
{
	for (size_t j = 0; j < c->ndirty; j++)
		c->e[c->dirty[j]].is_dirty = 0;
	c->ndirty = 0;
}

void gwd_mecstate_clear(struct gwd_mecstate *c)
{
	/* the entries in use only: the per-frame baseline clears after each frame */
	while (c->mru != NIL)
		drop(c, c->mru);
}

void gwd_mecstate_abort(struct gwd_mecstate *c)
{
	while (c->ndirty)
		drop(c, c->dirty[c->ndirty - 1]);
}
