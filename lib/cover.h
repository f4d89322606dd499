/* SPDX-License-Identifier: MIT */
/*
 * Which node keys of the data-key tree (keytree.h) to release for a set of
 * leaves of one epoch. Both functions take the leaves strictly increasing
 * (sorted, no duplicates; userspace sorts with qsort) and use no memory but
 * the caller's.
 */
#ifndef IOMT_COVER_H
#define IOMT_COVER_H
#include <stddef.h>
#include <stdint.h>
#include "keytree.h"

/*
 * Exact cover: the fewest nodes whose subtrees hold exactly leaves[0..n) (the
 * maximal complete subtrees of the set), in leaf order. *count is the number
 * of nodes the cover has; out[0..cap) receives the first of them (out may be
 * NULL with cap 0 to ask for the count). IOMT_ESIZE if *count > cap.
 * IOMT_EINVAL for no leaves, leaves not strictly increasing, a leaf outside
 * the tree or leaves of two epochs; IOMT_EMALFORMED for a bad Conf.
 */
int iomt_cover_exact(const struct iomt_keytree_conf *c, const uint64_t *leaves, size_t n,
		     struct iomt_keytree_node *out, size_t cap, size_t *count);

/*
 * One node: the lowest whose subtree holds every leaf; *overshare is the
 * number of its leaves that were not asked for. Errors as iomt_cover_exact.
 */
int iomt_cover_lowest(const struct iomt_keytree_conf *c, const uint64_t *leaves, size_t n,
		      struct iomt_keytree_node *out, uint64_t *overshare);

#endif
