/* SPDX-License-Identifier: MIT */
/* Covering leaf sets with tree nodes: the exact cover against a brute-force
 * minimum over every subset of nodes (every leaf set of small trees), against
 * the maximal complete subtrees on random sets of larger ones; the lowest
 * covering node and its over-share; capacities and every error. */
#include <stdlib.h>
#include "harness.h"
#include "testutil.h"
#include "cover.h"
#include "keytree.h"
#include "ct.h"
#include "iomt_err.h"

enum { MAX_NODES = 128 };

/* Every node of a tree (at most 64 leaves) with its leaf mask. */
struct tree {
	struct iomt_keytree_conf c;
	struct iomt_keytree_shape sh;
	struct iomt_keytree_node n[MAX_NODES];
	uint64_t mask[MAX_NODES];
	size_t count;
};

static uint64_t range_mask(uint64_t first, uint64_t count)
{
	return (count == 64 ? ~0ull : ((1ull << count) - 1)) << first;
}

static void tree_init(struct tree *t, const struct iomt_keytree_conf *c)
{
	t->c = *c;
	ASSERT_EQ(iomt_keytree_shape(c, &t->sh), IOMT_OK);
	ASSERT_LE(t->sh.span[0], 64);
	t->count = 0;
	for (unsigned lvl = 0; lvl <= c->depth; lvl++)
		for (uint64_t f = 0; f < t->sh.span[0]; f += t->sh.span[lvl]) {
			ASSERT_LT(t->count, MAX_NODES);
			ASSERT_EQ(iomt_keytree_node_of(c, f, lvl, &t->n[t->count]), IOMT_OK);
			t->mask[t->count] = range_mask(f, t->sh.span[lvl]);
			t->count++;
		}
}

static uint64_t node_mask(const struct tree *t, const struct iomt_keytree_node *n)
{
	uint64_t first, count;

	ASSERT_EQ(iomt_keytree_node_range(&t->c, n, &first, &count), IOMT_OK);
	return range_mask(first, count);
}

/* The leaves of a mask, increasing. */
static size_t mask_leaves(uint64_t m, uint64_t *leaves)
{
	size_t n = 0;

	for (unsigned i = 0; i < 64; i++)
		if (m >> i & 1)
			leaves[n++] = i;
	return n;
}

/* The exact cover of S: checks it is exact and disjoint, returns its size. */
static size_t exact_cover(const struct tree *t, uint64_t s)
{
	struct iomt_keytree_node out[64];
	uint64_t leaves[64], seen = 0;
	size_t n = mask_leaves(s, leaves), count = 99;

	ASSERT_EQ(iomt_cover_exact(&t->c, leaves, n, out, 64, &count), IOMT_OK);
	for (size_t i = 0; i < count; i++) {
		uint64_t m = node_mask(t, &out[i]);

		ASSERT_EQ(m & seen, 0);          /* disjoint */
		ASSERT_EQ(m & ~s, 0);            /* inside S */
		if (i)                           /* in leaf order */
			ASSERT_GT(m, seen);
		seen |= m;
	}
	ASSERT_EQ(seen, s);                      /* all of S */
	return count;
}

/* For every leaf set of a small tree, the least number of nodes whose union
 * is exactly that set: a pass over all 2^nodes subsets of nodes. */
static void brute_force_minimum(const struct tree *t, uint8_t *best /* [2^leaves] */)
{
	size_t nsub = (size_t)1 << t->count;
	uint16_t *uni = calloc(nsub, sizeof(*uni));  /* 12-leaf masks */

	ASSERT_NONNULL(uni);
	memset(best, 0xff, (size_t)1 << t->sh.span[0]);
	best[0] = 0;
	for (size_t sub = 1; sub < nsub; sub++) {
		uni[sub] = (uint16_t)(uni[sub & (sub - 1)] | t->mask[__builtin_ctzll(sub)]);
		if (best[uni[sub]] > __builtin_popcountll(sub))
			best[uni[sub]] = (uint8_t)__builtin_popcountll(sub);
	}
	free(uni);
}

FIXTURE(exhaustive) {
	struct tree t;
	uint8_t best[1 << 12];
};
FIXTURE_VARIANT(exhaustive) {
	struct iomt_keytree_conf c;
};
/* 12 leaves, 19 nodes, one epoch */
FIXTURE_VARIANT_ADD(exhaustive, a2_2_3) { .c = { 1, 0, 1, 3, { 2, 2, 3 }, 0 } };
/* 12 leaves, 22 nodes, epochs of 4 leaves (level 1) */
FIXTURE_VARIANT_ADD(exhaustive, a3_2_2_epochs) { .c = { 1, 0, 1, 3, { 3, 2, 2 }, 4 } };
/* 12 leaves, 17 nodes */
FIXTURE_VARIANT_ADD(exhaustive, a4_3) { .c = { 1, 0, 1, 2, { 4, 3 }, 0 } };
FIXTURE_SETUP(exhaustive)
{
	tree_init(&self->t, &variant->c);
	brute_force_minimum(&self->t, self->best);
}
FIXTURE_TEARDOWN(exhaustive)
{
}

/* Every leaf set of one epoch: the cover is exact and as small as any. */
TEST_F_TIMEOUT(exhaustive, exact_cover_is_minimal, 120)
{
	uint64_t all = range_mask(0, self->t.sh.span[0]);
	size_t checked = 0;

	for (uint64_t s = 1; s <= all; s++) {
		uint64_t leaves[64];
		size_t n = mask_leaves(s, leaves), count;

		if (leaves[0] / self->t.sh.epoch_leaves != leaves[n - 1] / self->t.sh.epoch_leaves) {
			ASSERT_EQ(iomt_cover_exact(&self->t.c, leaves, n, NULL, 0, &count),
				  IOMT_EINVAL);
			continue;
		}
		ASSERT_NE(self->best[s], 0xff);
		if (exact_cover(&self->t, s) != self->best[s])
			TH_LOG("set %#llx", (unsigned long long)s);
		ASSERT_EQ(exact_cover(&self->t, s), self->best[s]);
		checked++;
	}
	TH_LOG("%zu leaf sets checked", checked);
}

/* The deepest node holding S, by scanning every node. */
static size_t ref_lowest(const struct tree *t, uint64_t s)
{
	size_t best = 0;

	for (size_t i = 0; i < t->count; i++)
		if ((s & ~t->mask[i]) == 0 && t->n[i].level >= t->n[best].level)
			best = i;
	return best;
}

static void check_lowest(const struct tree *t, uint64_t s)
{
	struct iomt_keytree_node got;
	uint64_t leaves[64], over = 99;
	size_t n = mask_leaves(s, leaves), want = ref_lowest(t, s);

	ASSERT_EQ(iomt_cover_lowest(&t->c, leaves, n, &got, &over), IOMT_OK);
	ASSERT_MEMEQ(&got, &t->n[want], sizeof(got));
	ASSERT_EQ(over, (uint64_t)__builtin_popcountll(t->mask[want]) - n);
}

TEST_F(exhaustive, lowest_cover_and_overshare)
{
	uint64_t all = range_mask(0, self->t.sh.span[0]);

	for (uint64_t s = 1; s <= all; s++) {
		uint64_t leaves[64];
		size_t n = mask_leaves(s, leaves);

		if (leaves[0] / self->t.sh.epoch_leaves == leaves[n - 1] / self->t.sh.epoch_leaves)
			check_lowest(&self->t, s);
	}
}

/* ---- larger trees, random sets ---- */

/* The maximal complete subtrees of S, in leaf order, as masks. */
static size_t ref_maximal(const struct tree *t, uint64_t s, uint64_t *out)
{
	size_t n = 0;

	/* Nodes are listed by level, so a parent comes before its children:
	 * keep a complete node unless it lies inside one already kept. */
	for (size_t i = 0; i < t->count; i++) {
		uint64_t m = t->mask[i], kept = 0;

		for (size_t j = 0; j < n; j++)
			kept |= out[j];
		if ((m & ~s) == 0 && (m & kept) == 0)
			out[n++] = m;
	}
	/* leaf order */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && out[j] < out[j - 1]; j--) {
			uint64_t x = out[j];

			out[j] = out[j - 1];
			out[j - 1] = x;
		}
	return n;
}

FIXTURE(random) {
	struct tree t;
	struct tu_rng r;
};
FIXTURE_VARIANT(random) {
	struct iomt_keytree_conf c;
};
FIXTURE_VARIANT_ADD(random, a4_5_3) { .c = { 1, 0, 1, 3, { 4, 5, 3 }, 0 } };
FIXTURE_VARIANT_ADD(random, a3_3_3_2_epochs) { .c = { 1, 0, 10, 4, { 3, 3, 3, 2 }, 180 } };
FIXTURE_VARIANT_ADD(random, binary_6_epochs) { .c = { 1, 0, 1, 6, { 2, 2, 2, 2, 2, 2 }, 16 } };
FIXTURE_VARIANT_ADD(random, a64) { .c = { 1, 0, 1, 1, { 64 }, 0 } };
FIXTURE_SETUP(random)
{
	tree_init(&self->t, &variant->c);
	self->r.s = 0x636f766572;  /* "cover" */
}
FIXTURE_TEARDOWN(random)
{
}

/* A random non-empty set inside a random epoch; dense, sparse or runs. */
static uint64_t random_set(struct tree *t, struct tu_rng *r)
{
	uint64_t el = t->sh.epoch_leaves, e = tu_next(r) % t->sh.epochs;
	uint64_t epoch = range_mask(e * el, el), s;

	do {
		switch (tu_next(r) % 3) {
		case 0:  /* about 7/8 full: big subtrees */
			s = ~(tu_next(r) & tu_next(r) & tu_next(r));
			break;
		case 1:  /* sparse */
			s = tu_next(r) & tu_next(r);
			break;
		default: {  /* one run of leaves */
			uint64_t a = tu_next(r) % el, b = tu_next(r) % el;

			if (a > b) {
				uint64_t x = a;

				a = b;
				b = x;
			}
			s = range_mask(e * el + a, b - a + 1);
		}
		}
		s &= epoch;
	} while (!s);
	return s;
}

TEST_F(random, exact_cover_is_the_maximal_subtrees)
{
	for (int iter = 0; iter < 4000; iter++) {
		uint64_t s = random_set(&self->t, &self->r), want[64], leaves[64];
		struct iomt_keytree_node out[64];
		size_t n = mask_leaves(s, leaves), nwant = ref_maximal(&self->t, s, want), count;

		ASSERT_EQ(iomt_cover_exact(&self->t.c, leaves, n, out, 64, &count), IOMT_OK);
		ASSERT_EQ(count, nwant);
		for (size_t i = 0; i < count; i++)
			ASSERT_EQ(node_mask(&self->t, &out[i]), want[i]);
		/* every node of the cover lies inside the set's epoch */
		for (size_t i = 0; i < count; i++)
			ASSERT_GE(out[i].level, self->t.sh.epoch_level);
		check_lowest(&self->t, s);
	}
}

/* ---- the calendar tree ---- */

static const struct iomt_keytree_conf year = {
	.version = 1, .epoch_start = 1735689600, .leaf_period_s = 300, .depth = 3,
	.arity = { 366, 24, 12 }, .refresh_period_s = 86400,
};

TEST(calendar_covers)
{
	static uint64_t leaves[288];
	struct iomt_keytree_node out[32], one;
	uint64_t over;
	size_t count;

	/* All of day 10: the day node. */
	for (size_t i = 0; i < 288; i++)
		leaves[i] = 10 * 288 + i;
	ASSERT_EQ(iomt_cover_exact(&year, leaves, 288, out, 32, &count), IOMT_OK);
	ASSERT_EQ(count, 1);
	ASSERT_EQ(out[0].level, 1);
	ASSERT_EQ(out[0].label[0], 10);
	ASSERT_EQ(iomt_cover_lowest(&year, leaves, 288, &one, &over), IOMT_OK);
	ASSERT_MEMEQ(&one, &out[0], sizeof(one));
	ASSERT_EQ(over, 0);
	/* 08:00 to 12:05 of day 10: four hours and one leaf. */
	ASSERT_EQ(iomt_cover_exact(&year, leaves + 8 * 12, 4 * 12 + 1, out, 32, &count), IOMT_OK);
	ASSERT_EQ(count, 5);
	for (int h = 0; h < 4; h++) {
		ASSERT_EQ(out[h].level, 2);
		ASSERT_EQ(out[h].label[1], 8 + h);
	}
	ASSERT_EQ(out[4].level, 3);
	ASSERT_EQ(out[4].label[1], 12);
	ASSERT_EQ(out[4].label[2], 0);
	ASSERT_EQ(iomt_cover_lowest(&year, leaves + 8 * 12, 4 * 12 + 1, &one, &over), IOMT_OK);
	ASSERT_EQ(one.level, 1);
	ASSERT_EQ(over, 288 - 49);
	/* 13:55 and 14:00: two leaves, two hours apart in the tree. */
	ASSERT_EQ(iomt_cover_lowest(&year, leaves + 13 * 12 + 11, 2, &one, &over), IOMT_OK);
	ASSERT_EQ(one.level, 1);
	ASSERT_EQ(over, 286);
	/* One leaf: itself, nothing over. */
	ASSERT_EQ(iomt_cover_lowest(&year, leaves + 5, 1, &one, &over), IOMT_OK);
	ASSERT_EQ(one.level, 3);
	ASSERT_EQ(over, 0);
	/* Every other leaf of a day: 144 single leaves. */
	for (size_t i = 0; i < 144; i++)
		leaves[i] = 10 * 288 + 2 * i;
	ASSERT_EQ(iomt_cover_exact(&year, leaves, 144, NULL, 0, &count), IOMT_ESIZE);
	ASSERT_EQ(count, 144);
}

/* The keys released for a cover open exactly the leaves asked for. */
TEST(cover_keys_open_exactly_the_set)
{
	struct iomt_keytree_node out[16];
	uint8_t kd[16], nk[16][16], got[16], want[16];
	uint64_t leaves[40];
	size_t n = 0, count;
	uint32_t e = 10;

	for (size_t i = 0; i < 16; i++)
		kd[i] = (uint8_t)(0x90 + i);
	/* day 10: 07:00-08:59 and 09:05, 09:10 */
	for (uint64_t l = 7 * 12; l < 9 * 12; l++)
		leaves[n++] = 10 * 288 + l;
	leaves[n++] = 10 * 288 + 9 * 12 + 1;
	leaves[n++] = 10 * 288 + 9 * 12 + 2;
	ASSERT_EQ(iomt_cover_exact(&year, leaves, n, out, 16, &count), IOMT_OK);
	ASSERT_EQ(count, 4);
	for (size_t i = 0; i < count; i++)
		ASSERT_EQ(iomt_keytree_node_key(&year, e, kd, &out[i], nk[i]), IOMT_OK);
	for (uint64_t l = 10 * 288; l < 11 * 288; l++) {
		struct iomt_keytree_node leaf;
		int in_set = 0, opened = 0;

		for (size_t i = 0; i < n; i++)
			in_set |= leaves[i] == l;
		ASSERT_EQ(iomt_keytree_node_of(&year, l, 3, &leaf), IOMT_OK);
		ASSERT_EQ(iomt_keytree_node_key(&year, e, kd, &leaf, want), IOMT_OK);
		for (size_t i = 0; i < count; i++) {
			int err = iomt_keytree_leaf_key(&year, &out[i], nk[i], e, l, got);

			if (err == IOMT_OK) {
				ASSERT_MEMEQ(got, want, 16);
				opened++;
			} else {
				ASSERT_EQ(err, IOMT_EINVAL);
			}
		}
		ASSERT_EQ(opened, in_set);
	}
}

TEST(cover_errors)
{
	struct iomt_keytree_conf bad = year;
	struct iomt_keytree_node out[4], one;
	uint64_t leaves[8] = { 5, 6, 7, 8, 9, 10, 11, 12 }, over;
	size_t count;

	/* Capacity: the count needed is reported, the first cap nodes written. */
	ASSERT_EQ(iomt_cover_exact(&year, leaves, 8, out, 1, &count), IOMT_ESIZE);
	ASSERT_EQ(count, 8);  /* no hour is complete: eight single leaves */
	ASSERT_EQ(out[0].level, 3);
	ASSERT_EQ(out[0].label[2], 5);
	leaves[0] = 0;
	leaves[1] = 2;
	leaves[2] = 4;
	ASSERT_EQ(iomt_cover_exact(&year, leaves, 3, out, 2, &count), IOMT_ESIZE);
	ASSERT_EQ(count, 3);
	ASSERT_EQ(out[0].label[2], 0);
	ASSERT_EQ(out[1].label[2], 2);
	ASSERT_EQ(iomt_cover_exact(&year, leaves, 3, out, 3, &count), IOMT_OK);
	ASSERT_EQ(count, 3);
	ASSERT_EQ(iomt_cover_exact(&year, leaves, 3, NULL, 0, &count), IOMT_ESIZE);
	ASSERT_EQ(count, 3);
	ASSERT_EQ(iomt_cover_exact(&year, leaves, 3, NULL, 1, &count), IOMT_EINVAL);
	ASSERT_EQ(iomt_cover_exact(&year, leaves, 3, out, 3, NULL), IOMT_EINVAL);
	/* Empty, unsorted, duplicate, outside the tree, two epochs. */
	ASSERT_EQ(iomt_cover_exact(&year, leaves, 0, out, 4, &count), IOMT_EINVAL);
	ASSERT_EQ(count, 0);
	ASSERT_EQ(iomt_cover_exact(&year, NULL, 3, out, 4, &count), IOMT_EINVAL);
	leaves[1] = 0;
	ASSERT_EQ(iomt_cover_exact(&year, leaves, 3, out, 4, &count), IOMT_EINVAL);
	ASSERT_EQ(iomt_cover_lowest(&year, leaves, 3, &one, &over), IOMT_EINVAL);
	leaves[1] = 5;
	ASSERT_EQ(iomt_cover_exact(&year, leaves, 3, out, 4, &count), IOMT_EINVAL);
	ASSERT_EQ(iomt_cover_lowest(&year, leaves, 3, &one, &over), IOMT_EINVAL);
	leaves[1] = 2;
	leaves[2] = 366 * 288;
	ASSERT_EQ(iomt_cover_exact(&year, leaves, 3, out, 4, &count), IOMT_EINVAL);
	ASSERT_EQ(iomt_cover_lowest(&year, leaves, 3, &one, &over), IOMT_EINVAL);
	leaves[2] = 288;
	ASSERT_EQ(iomt_cover_exact(&year, leaves, 3, out, 4, &count), IOMT_EINVAL);
	ASSERT_EQ(iomt_cover_lowest(&year, leaves, 3, &one, &over), IOMT_EINVAL);
	leaves[2] = 287;
	ASSERT_EQ(iomt_cover_lowest(&year, leaves, 3, &one, &over), IOMT_OK);
	ASSERT_EQ(iomt_cover_lowest(&year, leaves, 0, &one, &over), IOMT_EINVAL);
	ASSERT_EQ(iomt_cover_lowest(&year, leaves, 3, NULL, &over), IOMT_EINVAL);
	ASSERT_EQ(iomt_cover_lowest(&year, leaves, 3, &one, NULL), IOMT_EINVAL);
	bad.arity[3] = 2;
	ASSERT_EQ(iomt_cover_exact(&bad, leaves, 3, out, 4, &count), IOMT_EMALFORMED);
	ASSERT_EQ(iomt_cover_lowest(&bad, leaves, 3, &one, &over), IOMT_EMALFORMED);
}
