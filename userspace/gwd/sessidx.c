/* SPDX-License-Identifier: MIT */
/* The session table's index by handle. */
#include <errno.h>
#include <stdlib.h>

#include "sessidx.h"
#include "sessions.h"

int gwd_sessidx_init(struct gwd_sessidx *x, size_t cap)
{
	size_t n = 16;

	while (n < 2 * cap)
		n <<= 1;
	x->slot = calloc(n, sizeof(*x->slot));
	x->mask = n - 1;
	return x->slot ? 0 : -ENOMEM;
}

void gwd_sessidx_free(struct gwd_sessidx *x)
{
	free(x->slot);
	x->slot = NULL;
	x->mask = 0;
}

static uint64_t handle_at(const struct gwd_session *ring, uint32_t v)
{
	return ring[v - 1].handle;
}

void gwd_sessidx_put(struct gwd_sessidx *x, const struct gwd_session *ring, size_t pos)
{
	uint64_t h = ring[pos].handle;
	size_t i = h & x->mask;

	while (x->slot[i] && handle_at(ring, x->slot[i]) != h)
		i = (i + 1) & x->mask;
	x->slot[i] = (uint32_t)(pos + 1);
}

long gwd_sessidx_get(const struct gwd_sessidx *x, const struct gwd_session *ring,
		     uint64_t handle)
{
	size_t i = handle & x->mask;

	for (; x->slot[i]; i = (i + 1) & x->mask)
		if (handle_at(ring, x->slot[i]) == handle)
			return (long)x->slot[i] - 1;
	return -1;
}

/* Is home h outside the cyclic range (i, j]? Then the entry at j may move to i. */
static int movable(size_t h, size_t i, size_t j)
{
	return i <= j ? (h <= i || h > j) : (h <= i && h > j);
}

void gwd_sessidx_del(struct gwd_sessidx *x, const struct gwd_session *ring, size_t pos)
{
	uint64_t h = ring[pos].handle;
	size_t i = h & x->mask, j;

	while (x->slot[i] && x->slot[i] != pos + 1)
		i = (i + 1) & x->mask;
	if (!x->slot[i])
		return;	/* replaced by a newer session with this handle */
	x->slot[i] = 0;
	for (j = (i + 1) & x->mask; x->slot[j]; j = (j + 1) & x->mask) {
		if (!movable(handle_at(ring, x->slot[j]) & x->mask, i, j))
			continue;
		x->slot[i] = x->slot[j];
		x->slot[j] = 0;
		i = j;
	}
}
