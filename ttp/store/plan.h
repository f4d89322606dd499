/* SPDX-License-Identifier: MIT */
/*
 * What decrypt asks for: the selected records grouped by key tree and
 * epoch, each epoch's leaves covered with tree nodes (lib/cover.h: exact =
 * the fewest nodes holding exactly those leaves; single = the one lowest
 * node, whose leaves beyond them are the over-share), and the nodes of a
 * tree cut into consent requests of at most IOMT_CONSENT_MAX_NODES.
 */
#ifndef IOMT_STORE_PLAN_H
#define IOMT_STORE_PLAN_H
#include <stddef.h>
#include <stdint.h>

#include "consent.h"
#include "db.h"
#include "keytree.h"

enum store_cover { STORE_COVER_EXACT = 0, STORE_COVER_SINGLE = 1 };

struct plan_row {
	size_t tree;
	uint32_t epoch;
	uint64_t leaf;
	uint32_t seq;
	uint8_t *rec;           /* a copy of the sealed record */
	size_t len;
};

struct plan_tree {
	struct iomt_keytree_meta meta;
	size_t first, nrows;    /* its rows */
};

struct plan_req {
	size_t tree;
	uint16_t count;
	struct iomt_consent_node nodes[IOMT_CONSENT_MAX_NODES];
	uint8_t keys[IOMT_CONSENT_MAX_NODES][IOMT_KEYTREE_KEY_LEN];   /* once released */
	int released;
	uint64_t from_s, to_s;  /* what its nodes span: [from, to) */
	uint64_t leaves;        /* leaves asked for */
	uint64_t overshare;     /* leaves of its nodes not asked for */
	uint8_t request_id[IOMT_CONSENT_ID_LEN];
	int status;             /* enum iomt_kchan_status, -1 before the call */
	uint8_t reason;         /* enum iomt_release_reason when refused */
};

struct plan {
	struct plan_row *rows;
	size_t nrows, rows_cap;
	struct plan_tree *trees;
	size_t ntrees, trees_cap;
	struct plan_req *reqs;
	size_t nreqs, reqs_cap;
};

/* The records f and [from, to] select, in key id, epoch, leaf, seq order.
 * 0 or -errno (message in err). */
int plan_load(struct plan *p, struct store_db *db, const struct store_filter *f,
	      uint64_t from, uint64_t to, char *err, size_t errlen);
/* The covers and requests: 0 or -errno (message in err). */
int plan_cover(struct plan *p, enum store_cover how, char *err, size_t errlen);
/* Wipes the released keys and frees everything. */
void plan_free(struct plan *p);

/* The released node key under which row's leaf opens: 0 with k_enc, or
 * -ENOKEY when no released node of its request holds it. */
int plan_leaf_key(const struct plan *p, const struct plan_row *row,
		  uint8_t k_enc[IOMT_KEYTREE_KEY_LEN]);

#endif
