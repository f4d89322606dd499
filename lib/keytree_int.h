/* SPDX-License-Identifier: MIT */
/* Shared by keytree.c (public geometry) and keytree_key.c (key derivation);
 * internal, not part of the API. */
#ifndef IOMT_KEYTREE_INT_H
#define IOMT_KEYTREE_INT_H

#include <stdint.h>
#include "keytree.h"

/* n is a node of c's tree: level <= depth, labels in range, unused ones 0.
 * IOMT_EINVAL for NULL, IOMT_EMALFORMED otherwise. */
int iomt_keytree_node_check(const struct iomt_keytree_conf *c, const struct iomt_keytree_node *n);

/* The first leaf under n (n checked). */
static inline uint64_t iomt_keytree_node_first(const struct iomt_keytree_shape *sh,
					       const struct iomt_keytree_node *n)
{
	uint64_t first = 0;

	for (unsigned i = 0; i < n->level; i++)
		first += n->label[i] * sh->span[i + 1];
	return first;
}

/* 1 if leaf belongs to epoch (multiplications only: the Cortex-M3 has no
 * 64-bit divide). */
static inline int iomt_keytree_in_epoch(const struct iomt_keytree_shape *sh, uint32_t epoch,
					uint64_t leaf)
{
	uint64_t lo = epoch * sh->epoch_leaves;

	return epoch < sh->epochs && leaf >= lo && leaf - lo < sh->epoch_leaves;
}

#endif
