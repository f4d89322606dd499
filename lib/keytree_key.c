/* SPDX-License-Identifier: MIT */
/*
 * The data-key tree's secret half: the three KMAC128 steps (data key,
 * refresh, child). Public inputs only decide loop bounds here; keys are
 * only ever fed to KMAC, copied and wiped.
 */
#include <string.h>
#include "keytree.h"
#include "keytree_int.h"
#include "sp800_185.h"
#include "bytes.h"
#include "ct.h"
#include "iomt_err.h"

enum {
	KEY_LEN = IOMT_KEYTREE_KEY_LEN,
};

static const char custom_data[] = "iomt/keytree/data-key";
static const char custom_node[] = "iomt/keytree/node";
static const char custom_refresh[] = "iomt/keytree/refresh";

/* out = KMAC128(key, msg, 128, custom); custom is a string literal array. */
#define KT_KMAC(key, klen, custom, msg, mlen, out) \
	iomt_kmac128(key, klen, custom, sizeof(custom) - 1, msg, mlen, out, KEY_LEN)

int iomt_keytree_data_key0(const uint8_t k_master[IOMT_KEYTREE_MASTER_LEN],
			   const struct iomt_keytree_meta *m, uint8_t out[IOMT_KEYTREE_KEY_LEN])
{
	uint8_t meta[IOMT_KEYTREE_META_LEN];
	int err;

	if (!k_master || !out)
		return IOMT_EINVAL;
	err = iomt_keytree_meta_encode(m, meta);
	if (err)
		return err;
	return KT_KMAC(k_master, IOMT_KEYTREE_MASTER_LEN, custom_data, meta, sizeof(meta), out);
}

int iomt_keytree_refresh(const uint8_t in[IOMT_KEYTREE_KEY_LEN], uint8_t out[IOMT_KEYTREE_KEY_LEN])
{
	uint8_t next[KEY_LEN];
	int err;

	if (!in || !out)
		return IOMT_EINVAL;
	/* An empty message, but a real pointer: nothing to absorb from NULL. */
	err = KT_KMAC(in, KEY_LEN, custom_refresh, "", 0, next);
	if (!err)
		memcpy(out, next, KEY_LEN);
	iomt_wipe(next, sizeof(next));
	return err;
}

int iomt_keytree_data_key(const struct iomt_keytree_conf *c, const uint8_t k_data0[IOMT_KEYTREE_KEY_LEN],
			  uint32_t epoch, uint8_t out[IOMT_KEYTREE_KEY_LEN])
{
	struct iomt_keytree_shape sh;
	int err = iomt_keytree_shape(c, &sh);

	if (err)
		return err;
	if (!k_data0 || !out || epoch >= sh.epochs)
		return IOMT_EINVAL;
	memmove(out, k_data0, KEY_LEN);
	for (uint32_t e = 0; e < epoch && !err; e++)
		err = iomt_keytree_refresh(out, out);
	if (err)
		iomt_wipe(out, KEY_LEN);
	return err;
}

/* key := the key of the node at level `to` on path label[], from the key of
 * its ancestor at level `from`: one KMAC per level, child level || label. */
static int descend(uint8_t key[KEY_LEN], const uint16_t *label, unsigned from, unsigned to)
{
	uint8_t msg[3], next[KEY_LEN];
	int err = IOMT_OK;

	for (unsigned lvl = from + 1; lvl <= to && !err; lvl++) {
		msg[0] = (uint8_t)lvl;
		iomt_store_be16(msg + 1, label[lvl - 1]);
		err = KT_KMAC(key, KEY_LEN, custom_node, msg, sizeof(msg), next);
		memcpy(key, next, KEY_LEN);
	}
	iomt_wipe(next, sizeof(next));
	if (err)
		iomt_wipe(key, KEY_LEN);
	return err;
}

/* iomt_keytree_node_key's checks: IOMT_OK or the error. Not inlined, so
 * the shape is off the stack under the KMACs (a sensor's stack, issue 8). */
static __attribute__((noinline)) int node_key_check(const struct iomt_keytree_conf *c,
						    uint32_t epoch,
						    const struct iomt_keytree_node *n)
{
	struct iomt_keytree_shape sh;
	int err = iomt_keytree_shape(c, &sh);

	if (!err)
		err = iomt_keytree_node_check(c, n);
	if (err)
		return err;
	/* Above epoch_level a node spans epochs; below it, it must be one of
	 * this epoch's nodes (K_data_e's tree has them all, used or not). */
	if (n->level < sh.epoch_level || !iomt_keytree_in_epoch(&sh, epoch, iomt_keytree_node_first(&sh, n)))
		return IOMT_EINVAL;
	return IOMT_OK;
}

int iomt_keytree_node_key(const struct iomt_keytree_conf *c, uint32_t epoch,
			  const uint8_t k_data[IOMT_KEYTREE_KEY_LEN], const struct iomt_keytree_node *n,
			  uint8_t out[IOMT_KEYTREE_KEY_LEN])
{
	int err = node_key_check(c, epoch, n);

	if (err)
		return err;
	if (!k_data || !out)
		return IOMT_EINVAL;
	memmove(out, k_data, KEY_LEN);
	return descend(out, n->label, 0, n->level);
}

int iomt_keytree_leaf_key(const struct iomt_keytree_conf *c, const struct iomt_keytree_node *n,
			  const uint8_t node_key[IOMT_KEYTREE_KEY_LEN], uint32_t epoch, uint64_t leaf,
			  uint8_t out[IOMT_KEYTREE_KEY_LEN])
{
	struct iomt_keytree_node path;
	struct iomt_keytree_shape sh;
	int err = iomt_keytree_shape(c, &sh);

	if (!err)
		err = iomt_keytree_node_check(c, n);
	if (err)
		return err;
	if (!node_key || !out || n->level < sh.epoch_level || leaf >= sh.span[0] ||
	    !iomt_keytree_in_epoch(&sh, epoch, leaf))
		return IOMT_EINVAL;
	/* The leaf is inside n iff its path starts with n's labels. */
	iomt_keytree_node_of(c, leaf, c->depth, &path);
	if (memcmp(path.label, n->label, n->level * sizeof(n->label[0])))
		return IOMT_EINVAL;
	memmove(out, node_key, KEY_LEN);
	return descend(out, path.label, n->level, c->depth);
}
