/* SPDX-License-Identifier: MIT */
/*
 * Covering a set S of leaves (one epoch) with tree nodes.
 *
 * Exact cover. Call a node complete if all its leaves are in S, and maximal
 * if it is complete and its parent is not (or it is the root). The maximal
 * nodes are the unique smallest exact cover:
 *  - They cover S: each leaf of S is complete; its highest complete ancestor
 *    is maximal (ancestors of a leaf form a chain, and completeness is
 *    inherited downwards, so the complete ones are a bottom segment of it).
 *  - They are disjoint: two subtrees are nested or disjoint, and a maximal
 *    node cannot lie strictly inside another complete node (its parent would
 *    be complete too).
 *  - Any exact cover C uses only complete nodes, each inside exactly one
 *    maximal M. Every M needs a node of C inside it; a node strictly inside M
 *    has fewer leaves than M (every arity is >= 2), so M is covered by one
 *    node of C only if that node is M itself, and otherwise by at least two.
 *    Hence |C| >= number of maximal nodes, with equality only for C = them.
 * The scan finds them in leaf order: at the first leaf L not yet covered,
 * the maximal node M holding L starts at L (an earlier first leaf of M would
 * be in S and already covered, by M), and M is the highest node starting at L
 * whose span of consecutive leaves is all in S. As S is strictly increasing,
 * "leaves L .. L+s-1 all in S" is "leaves[i + s - 1] == L + s - 1". O(n depth).
 *
 * Lowest node: the deepest common ancestor of the smallest and largest leaf,
 * i.e. the first level whose node index (leaf / span) differs for them, minus
 * one; it holds every leaf in between.
 */
#include "cover.h"
#include "iomt_err.h"

/* Shape of c and the checks both covers share. */
static int check_set(const struct iomt_keytree_conf *c, struct iomt_keytree_shape *sh,
		     const uint64_t *leaves, size_t n)
{
	int err = iomt_keytree_shape(c, sh);

	if (err)
		return err;
	if (!leaves || !n)
		return IOMT_EINVAL;
	for (size_t i = 1; i < n; i++)
		if (leaves[i] <= leaves[i - 1])
			return IOMT_EINVAL;
	/* Sorted: the last leaf bounds them all. One epoch: keys of other
	 * epochs hang from another K_data. */
	if (leaves[n - 1] >= sh->span[0] ||
	    leaves[0] / sh->epoch_leaves != leaves[n - 1] / sh->epoch_leaves)
		return IOMT_EINVAL;
	return IOMT_OK;
}

int iomt_cover_exact(const struct iomt_keytree_conf *c, const uint64_t *leaves, size_t n,
		     struct iomt_keytree_node *out, size_t cap, size_t *count)
{
	struct iomt_keytree_shape sh;
	size_t i = 0, k = 0;
	int err;

	if (!count)
		return IOMT_EINVAL;
	*count = 0;
	if (!out && cap)
		return IOMT_EINVAL;
	err = check_set(c, &sh, leaves, n);
	if (err)
		return err;
	while (i < n) {
		uint64_t l = leaves[i], s;
		unsigned lvl = sh.epoch_level;  /* nothing higher is in one epoch */

		/* The leaf level always qualifies, so the loop ends by depth. */
		for (;; lvl++) {
			s = sh.span[lvl];
			if (l % s == 0 && n - i >= s && leaves[i + s - 1] == l + s - 1)
				break;
		}
		if (k < cap)
			iomt_keytree_node_of(c, l, lvl, &out[k]);
		k++;
		i += (size_t)s;
	}
	*count = k;
	return k > cap ? IOMT_ESIZE : IOMT_OK;
}

int iomt_cover_lowest(const struct iomt_keytree_conf *c, const uint64_t *leaves, size_t n,
		      struct iomt_keytree_node *out, uint64_t *overshare)
{
	struct iomt_keytree_shape sh;
	unsigned lvl;
	int err;

	if (!out || !overshare)
		return IOMT_EINVAL;
	*overshare = 0;
	err = check_set(c, &sh, leaves, n);
	if (err)
		return err;
	/* span[0] holds every leaf, so the loop stops at the root at worst. */
	for (lvl = c->depth; leaves[0] / sh.span[lvl] != leaves[n - 1] / sh.span[lvl]; lvl--)
		;
	/* n distinct leaves inside a node of span[lvl] leaves: n <= span. */
	*overshare = sh.span[lvl] - n;
	return iomt_keytree_node_of(c, leaves[0], lvl, out);
}
