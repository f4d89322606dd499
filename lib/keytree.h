/* SPDX-License-Identifier: MIT */
/*
 * The data-key tree (paper 1, section IV): end-to-end data encryption keys.
 *
 *   K_data_0   = KMAC128(K_master, meta_Kdata, 128, "iomt/keytree/data-key")
 *   K_data_e+1 = KMAC128(K_data_e, "", 128, "iomt/keytree/refresh")
 *   child      = KMAC128(parent, level || label, 128, "iomt/keytree/node")
 *
 * Time from epoch_start is cut into leaves of leaf_period_s seconds; leaf L's
 * path from the root is L written in the mixed radix arity[0..depth). The
 * refresh epochs are the subtrees of one level (epoch_level), so an epoch
 * never splits a node below that level. The tree of epoch e hangs from
 * K_data_e; its leaf keys are the record keys K_enc. Byte layouts, the
 * reasons for each rule and a worked vector: docs/PROTOCOL.md section 6.
 *
 * Node keys flow down only: a key opens its own subtree and nothing else,
 * and K_data_e opens neither K_data_e-1 nor another epoch's subtree.
 */
#ifndef IOMT_KEYTREE_H
#define IOMT_KEYTREE_H
#include <stddef.h>
#include <stdint.h>

enum {
	IOMT_KEYTREE_KEY_LEN = 16,      /* K_data_e, node keys, K_enc */
	IOMT_KEYTREE_MASTER_LEN = 32,   /* K_master */
	IOMT_KEYTREE_ID_LEN = 16,       /* key id, I_sensor, I_PPD */
	IOMT_KEYTREE_MAX_DEPTH = 6,
	IOMT_KEYTREE_CONF_VERSION = 1,
	IOMT_KEYTREE_CONF_LEN = 30,     /* version 1 || start 8 || leaf 4 || d 1 || arity 12 || refresh 4 */
	IOMT_KEYTREE_META_LEN = 78,     /* key id 16 || Conf 30 || I_sensor 16 || I_PPD 16 */
	IOMT_KEYTREE_NODE_LEN = 13,     /* level 1 || label[6] 2 each */
};

/* At most 2^40 leaves: a record nonce carries the leaf index in 5 bytes. */
#define IOMT_KEYTREE_MAX_LEAVES ((uint64_t)1 << 40)

/* Conf: the schedule, as the PPD provisions it (all public). */
struct iomt_keytree_conf {
	uint8_t version;                         /* IOMT_KEYTREE_CONF_VERSION */
	uint64_t epoch_start;                    /* Unix seconds: start of leaf 0 */
	uint32_t leaf_period_s;                  /* >= 1 */
	uint8_t depth;                           /* 1 .. IOMT_KEYTREE_MAX_DEPTH */
	uint16_t arity[IOMT_KEYTREE_MAX_DEPTH];  /* 2 .. 65535 below depth, 0 after */
	uint32_t refresh_period_s;               /* 0 (never) or leaf_period_s * span[k] */
};

/* What a valid Conf implies. span[i] is the number of leaves under a node of
 * level i: span[depth] = 1, span[0] = every leaf. The epochs are the nodes of
 * epoch_level (0 when refresh_period_s is 0: one epoch, the whole tree). */
struct iomt_keytree_shape {
	uint64_t span[IOMT_KEYTREE_MAX_DEPTH + 1];
	uint64_t epoch_leaves;   /* span[epoch_level] */
	uint64_t epochs;         /* span[0] / epoch_leaves, at most 2^32 */
	unsigned epoch_level;
};

/* A node: level 0 is the root (K_data_e), level depth a leaf (K_enc); its
 * path from the root is label[0..level), label[i] < arity[i], the rest 0. */
struct iomt_keytree_node {
	uint8_t level;
	uint16_t label[IOMT_KEYTREE_MAX_DEPTH];
};

/* meta_Kdata: what K_data_0 is bound to. A zero I_sensor / I_PPD is "absent". */
struct iomt_keytree_meta {
	uint8_t key_id[IOMT_KEYTREE_ID_LEN];     /* random, unique, never all zero */
	struct iomt_keytree_conf conf;
	uint8_t sensor_id[IOMT_KEYTREE_ID_LEN];
	uint8_t ppd_id[IOMT_KEYTREE_ID_LEN];
};

/* Validates c and fills sh (zeroed on error). IOMT_EMALFORMED if c breaks a
 * rule of PROTOCOL.md 6.1 (every function taking a Conf checks it this way),
 * IOMT_EINVAL for NULL. */
int iomt_keytree_shape(const struct iomt_keytree_conf *c, struct iomt_keytree_shape *sh);

/* Exact-size codecs; invalid contents are IOMT_EMALFORMED, a wrong length
 * IOMT_ESIZE. Decoding a meta also rejects an all-zero key id. */
int iomt_keytree_conf_encode(const struct iomt_keytree_conf *c, uint8_t out[IOMT_KEYTREE_CONF_LEN]);
int iomt_keytree_conf_decode(struct iomt_keytree_conf *c, const uint8_t *in, size_t len);
int iomt_keytree_meta_encode(const struct iomt_keytree_meta *m, uint8_t out[IOMT_KEYTREE_META_LEN]);
int iomt_keytree_meta_decode(struct iomt_keytree_meta *m, const uint8_t *in, size_t len);

/* Node ids on the wire (meta_Kenc is the id of a leaf). IOMT_EMALFORMED for a
 * node that is not in c's tree. */
int iomt_keytree_node_encode(const struct iomt_keytree_conf *c, const struct iomt_keytree_node *n,
			     uint8_t out[IOMT_KEYTREE_NODE_LEN]);
int iomt_keytree_node_decode(const struct iomt_keytree_conf *c, struct iomt_keytree_node *n,
			     const uint8_t *in, size_t len);

/* Record time t -> (epoch, leaf). IOMT_EINVAL if t is before epoch_start or
 * after the last leaf. */
int iomt_keytree_locate(const struct iomt_keytree_conf *c, uint64_t t, uint32_t *epoch,
			uint64_t *leaf);

/* The ancestor of leaf at level (level = depth: the leaf itself). */
int iomt_keytree_node_of(const struct iomt_keytree_conf *c, uint64_t leaf, unsigned level,
			 struct iomt_keytree_node *n);

/* The leaves under n: first .. first + count - 1. */
int iomt_keytree_node_range(const struct iomt_keytree_conf *c, const struct iomt_keytree_node *n,
			    uint64_t *first, uint64_t *count);

/* PPD: K_data_0 from K_master and meta_Kdata (the meta is validated). */
int iomt_keytree_data_key0(const uint8_t k_master[IOMT_KEYTREE_MASTER_LEN],
			   const struct iomt_keytree_meta *m, uint8_t out[IOMT_KEYTREE_KEY_LEN]);

/* One refresh step, K_data_e -> K_data_e+1 (out == in allowed). There is no
 * inverse: the schedule only runs forward. */
int iomt_keytree_refresh(const uint8_t in[IOMT_KEYTREE_KEY_LEN], uint8_t out[IOMT_KEYTREE_KEY_LEN]);

/* PPD: K_data_e from K_data_0 by e refresh steps (IOMT_EINVAL if e is not an
 * epoch of c). Costs e KMACs: callers keep a later K_data_e to start from. */
int iomt_keytree_data_key(const struct iomt_keytree_conf *c, const uint8_t k_data0[IOMT_KEYTREE_KEY_LEN],
			  uint32_t epoch, uint8_t out[IOMT_KEYTREE_KEY_LEN]);

/* PPD: the key of node n from K_data_epoch. n must lie inside epoch (at or
 * below epoch_level, in that epoch's subtree), else IOMT_EINVAL: the PPD never
 * hands out a key that spans epochs. */
int iomt_keytree_node_key(const struct iomt_keytree_conf *c, uint32_t epoch,
			  const uint8_t k_data[IOMT_KEYTREE_KEY_LEN], const struct iomt_keytree_node *n,
			  uint8_t out[IOMT_KEYTREE_KEY_LEN]);

/* Cloud: K_enc of (epoch, leaf) from the key of node n. IOMT_EINVAL unless
 * the leaf is in the tree, belongs to epoch and lies inside n. */
int iomt_keytree_leaf_key(const struct iomt_keytree_conf *c, const struct iomt_keytree_node *n,
			  const uint8_t node_key[IOMT_KEYTREE_KEY_LEN], uint32_t epoch, uint64_t leaf,
			  uint8_t out[IOMT_KEYTREE_KEY_LEN]);

/*
 * Sensor state (keytree_sensor.c): the only secret held is K_data of the
 * current epoch, which moves forward only; each step wipes the previous key,
 * so a sensor captured in epoch e gives away nothing recorded before e.
 */
struct iomt_keytree_sensor {
	struct iomt_keytree_conf conf;
	uint8_t key_id[IOMT_KEYTREE_ID_LEN];
	uint8_t k_data[IOMT_KEYTREE_KEY_LEN];    /* K_data_epoch */
	uint32_t epoch;
	uint8_t live;                            /* 1 between init and wipe */
};

/* Takes a copy of c, key_id and K_data_epoch (the caller wipes its key);
 * none may point into *s, which is wiped first. IOMT_EMALFORMED for a bad
 * Conf or a zero key id, IOMT_EINVAL for an epoch c does not have. */
int iomt_keytree_sensor_init(struct iomt_keytree_sensor *s, const struct iomt_keytree_conf *c,
			     const uint8_t key_id[IOMT_KEYTREE_ID_LEN],
			     const uint8_t k_data[IOMT_KEYTREE_KEY_LEN], uint32_t epoch);

/* Moves to epoch (a no-op for the current one), wiping every key passed.
 * IOMT_ESTATE for an earlier epoch or a wiped state, IOMT_EINVAL past the
 * last epoch; the state is unchanged on error. Call it on the refresh timer
 * so old keys go even when nothing is recorded. */
int iomt_keytree_sensor_advance(struct iomt_keytree_sensor *s, uint32_t epoch);

/* K_enc for a record taken at time t, advancing first if t is in a later
 * epoch. IOMT_ESTATE if t is in an earlier epoch, IOMT_EINVAL outside the
 * tree (the state is then unchanged). */
int iomt_keytree_sensor_key(struct iomt_keytree_sensor *s, uint64_t t, uint32_t *epoch,
			    uint64_t *leaf, uint8_t k_enc[IOMT_KEYTREE_KEY_LEN]);

void iomt_keytree_sensor_wipe(struct iomt_keytree_sensor *s);

#endif
