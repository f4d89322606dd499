/* SPDX-License-Identifier: MIT */
/*
 * The data-key tree's public half: Conf rules, the meta_Kdata and node-id
 * layouts, and where a time, leaf or node lies. No key is handled here (the
 * three KMAC128 steps are in keytree_key.c), so a program that only checks
 * and relays records (the gateway) links no key derivation at all.
 */
#include <string.h>
#include "keytree.h"
#include "keytree_int.h"
#include "bytes.h"
#include "ct.h"
#include "iomt_err.h"

enum {
	KEY_LEN = IOMT_KEYTREE_KEY_LEN,
	ID_LEN = IOMT_KEYTREE_ID_LEN,
	MAX_DEPTH = IOMT_KEYTREE_MAX_DEPTH,
};

/* n / d, and n % d in *rem, for d < 2^63, by shift and subtract: the
 * Cortex-M3 has no 64-bit divide and libgcc's costs ~750 bytes of flash for
 * the two or three divisions a record needs. All operands are public. */
static __attribute__((noinline)) uint64_t div64(uint64_t n, uint64_t d, uint64_t *rem)
{
	uint64_t q = 0, r = 0;

	for (int i = 63; i >= 0; i--) {
		r = r << 1 | (n >> i & 1);
		if (r >= d) {
			r -= d;
			q |= (uint64_t)1 << i;
		}
	}
	*rem = r;
	return q;
}

static int shape(const struct iomt_keytree_conf *c, struct iomt_keytree_shape *sh)
{
	uint64_t end;
	unsigned d = c->depth, i, k;

	if (c->version != IOMT_KEYTREE_CONF_VERSION || d < 1 || d > MAX_DEPTH ||
	    !c->leaf_period_s)
		return IOMT_EMALFORMED;
	for (i = d; i < MAX_DEPTH; i++)
		if (c->arity[i])  /* one encoding per tree: unused levels are 0 */
			return IOMT_EMALFORMED;
	sh->span[d] = 1;
	for (i = d; i-- > 0;) {
		/* Arity 1 would give a level of nodes equal to their child. */
		if (c->arity[i] < 2)
			return IOMT_EMALFORMED;
		/* span < 2^40 and arity < 2^16: the product cannot wrap. */
		sh->span[i] = sh->span[i + 1] * c->arity[i];
		if (sh->span[i] > IOMT_KEYTREE_MAX_LEAVES)
			return IOMT_EMALFORMED;
	}
	/* The end of the last leaf must be a representable time. */
	if (__builtin_mul_overflow(sh->span[0], (uint64_t)c->leaf_period_s, &end) ||
	    end > UINT64_MAX - c->epoch_start)
		return IOMT_EMALFORMED;
	/* Epochs are the subtrees of one level: refresh_period_s must be the
	 * duration of such a subtree (0: one epoch, the whole tree). */
	k = 0;
	if (c->refresh_period_s) {
		while (k <= d && sh->span[k] * c->leaf_period_s != c->refresh_period_s)
			k++;
		if (k > d)
			return IOMT_EMALFORMED;
	}
	sh->epoch_level = k;
	sh->epoch_leaves = sh->span[k];
	sh->epochs = 1;
	for (i = 0; i < k; i++)
		sh->epochs *= c->arity[i];
	if (sh->epochs > (uint64_t)UINT32_MAX + 1)  /* the epoch is 4 bytes */
		return IOMT_EMALFORMED;
	return IOMT_OK;
}

int iomt_keytree_shape(const struct iomt_keytree_conf *c, struct iomt_keytree_shape *sh)
{
	int err;

	if (!c || !sh)
		return IOMT_EINVAL;
	memset(sh, 0, sizeof(*sh));
	err = shape(c, sh);
	if (err)
		memset(sh, 0, sizeof(*sh));
	return err;
}

int iomt_keytree_conf_encode(const struct iomt_keytree_conf *c, uint8_t out[IOMT_KEYTREE_CONF_LEN])
{
	struct iomt_keytree_shape sh;
	int err = iomt_keytree_shape(c, &sh);

	if (err || !out)
		return err ? err : IOMT_EINVAL;
	out[0] = c->version;
	iomt_store_be64(out + 1, c->epoch_start);
	iomt_store_be32(out + 9, c->leaf_period_s);
	out[13] = c->depth;
	for (unsigned i = 0; i < MAX_DEPTH; i++)
		iomt_store_be16(out + 14 + 2 * i, c->arity[i]);
	iomt_store_be32(out + 26, c->refresh_period_s);
	return IOMT_OK;
}

int iomt_keytree_conf_decode(struct iomt_keytree_conf *c, const uint8_t *in, size_t len)
{
	struct iomt_keytree_shape sh;
	int err;

	if (!c || !in)
		return IOMT_EINVAL;
	memset(c, 0, sizeof(*c));
	/* Fixed size: anything else is not a Conf of this version. */
	if (len != IOMT_KEYTREE_CONF_LEN)
		return IOMT_ESIZE;
	c->version = in[0];
	c->epoch_start = iomt_load_be64(in + 1);
	c->leaf_period_s = iomt_load_be32(in + 9);
	c->depth = in[13];
	for (unsigned i = 0; i < MAX_DEPTH; i++)
		c->arity[i] = iomt_load_be16(in + 14 + 2 * i);
	c->refresh_period_s = iomt_load_be32(in + 26);
	err = iomt_keytree_shape(c, &sh);
	if (err)
		memset(c, 0, sizeof(*c));
	return err;
}

int iomt_keytree_meta_encode(const struct iomt_keytree_meta *m, uint8_t out[IOMT_KEYTREE_META_LEN])
{
	int err;

	if (!m || !out)
		return IOMT_EINVAL;
	if (iomt_ct_is_zero(m->key_id, ID_LEN))
		return IOMT_EMALFORMED;
	err = iomt_keytree_conf_encode(&m->conf, out + ID_LEN);
	if (err)
		return err;
	memcpy(out, m->key_id, ID_LEN);
	memcpy(out + ID_LEN + IOMT_KEYTREE_CONF_LEN, m->sensor_id, ID_LEN);
	memcpy(out + 2 * ID_LEN + IOMT_KEYTREE_CONF_LEN, m->ppd_id, ID_LEN);
	return IOMT_OK;
}

int iomt_keytree_meta_decode(struct iomt_keytree_meta *m, const uint8_t *in, size_t len)
{
	int err;

	if (!m || !in)
		return IOMT_EINVAL;
	memset(m, 0, sizeof(*m));
	if (len != IOMT_KEYTREE_META_LEN)
		return IOMT_ESIZE;
	err = iomt_keytree_conf_decode(&m->conf, in + ID_LEN, IOMT_KEYTREE_CONF_LEN);
	/* A zero key id is an unset one: it would not keep trees apart. */
	if (!err && iomt_ct_is_zero(in, ID_LEN))
		err = IOMT_EMALFORMED;
	if (err) {
		memset(m, 0, sizeof(*m));
		return err;
	}
	memcpy(m->key_id, in, ID_LEN);
	memcpy(m->sensor_id, in + ID_LEN + IOMT_KEYTREE_CONF_LEN, ID_LEN);
	memcpy(m->ppd_id, in + 2 * ID_LEN + IOMT_KEYTREE_CONF_LEN, ID_LEN);
	return IOMT_OK;
}

/* n is a node of c's tree: level <= depth, labels in range, unused ones 0. */
int iomt_keytree_node_check(const struct iomt_keytree_conf *c, const struct iomt_keytree_node *n)
{
	if (!n)
		return IOMT_EINVAL;
	if (n->level > c->depth)
		return IOMT_EMALFORMED;
	for (unsigned i = 0; i < MAX_DEPTH; i++)
		if (i < n->level ? n->label[i] >= c->arity[i] : n->label[i] != 0)
			return IOMT_EMALFORMED;
	return IOMT_OK;
}

int iomt_keytree_node_encode(const struct iomt_keytree_conf *c, const struct iomt_keytree_node *n,
			     uint8_t out[IOMT_KEYTREE_NODE_LEN])
{
	struct iomt_keytree_shape sh;
	int err = iomt_keytree_shape(c, &sh);

	if (!err)
		err = iomt_keytree_node_check(c, n);
	if (!err && !out)
		err = IOMT_EINVAL;
	if (err)
		return err;
	out[0] = n->level;
	for (unsigned i = 0; i < MAX_DEPTH; i++)
		iomt_store_be16(out + 1 + 2 * i, n->label[i]);
	return IOMT_OK;
}

int iomt_keytree_node_decode(const struct iomt_keytree_conf *c, struct iomt_keytree_node *n,
			     const uint8_t *in, size_t len)
{
	struct iomt_keytree_shape sh;
	int err;

	if (!n || !in)
		return IOMT_EINVAL;
	memset(n, 0, sizeof(*n));
	err = iomt_keytree_shape(c, &sh);
	if (err)
		return err;
	if (len != IOMT_KEYTREE_NODE_LEN)
		return IOMT_ESIZE;
	n->level = in[0];
	for (unsigned i = 0; i < MAX_DEPTH; i++)
		n->label[i] = iomt_load_be16(in + 1 + 2 * i);
	err = iomt_keytree_node_check(c, n);
	if (err)
		memset(n, 0, sizeof(*n));
	return err;
}

int iomt_keytree_locate(const struct iomt_keytree_conf *c, uint64_t t, uint32_t *epoch,
			uint64_t *leaf)
{
	struct iomt_keytree_shape sh;
	uint64_t l, rem;
	int err = iomt_keytree_shape(c, &sh);

	if (err)
		return err;
	if (!epoch || !leaf)
		return IOMT_EINVAL;
	if (t < c->epoch_start)
		return IOMT_EINVAL;
	l = div64(t - c->epoch_start, c->leaf_period_s, &rem);
	if (l >= sh.span[0])
		return IOMT_EINVAL;
	*leaf = l;
	*epoch = (uint32_t)div64(l, sh.epoch_leaves, &rem);
	return IOMT_OK;
}

int iomt_keytree_node_of(const struct iomt_keytree_conf *c, uint64_t leaf, unsigned level,
			 struct iomt_keytree_node *n)
{
	struct iomt_keytree_shape sh;
	int err = iomt_keytree_shape(c, &sh);

	if (err)
		return err;
	if (!n || level > c->depth || leaf >= sh.span[0])
		return IOMT_EINVAL;
	memset(n, 0, sizeof(*n));
	n->level = (uint8_t)level;
	/* The mixed-radix digits of leaf, least significant (level depth) first;
	 * the path to the ancestor at level keeps the first `level` of them. */
	for (unsigned i = c->depth; i-- > 0;) {
		uint64_t digit;

		leaf = div64(leaf, c->arity[i], &digit);
		if (i < level)
			n->label[i] = (uint16_t)digit;
	}
	return IOMT_OK;
}

int iomt_keytree_node_range(const struct iomt_keytree_conf *c, const struct iomt_keytree_node *n,
			    uint64_t *first, uint64_t *count)
{
	struct iomt_keytree_shape sh;
	int err = iomt_keytree_shape(c, &sh);

	if (!err)
		err = iomt_keytree_node_check(c, n);
	if (!err && (!first || !count))
		err = IOMT_EINVAL;
	if (err)
		return err;
	*first = iomt_keytree_node_first(&sh, n);
	*count = sh.span[n->level];
	return IOMT_OK;
}
