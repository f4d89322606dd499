/* SPDX-License-Identifier: MIT */
/* Grouping, covering and cutting into requests (plan.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cover.h"
#include "ct.h"
#include "iomt_err.h"
#include "plan.h"
#include "select.h"

struct load {
	struct plan *p;
	uint64_t from, to;
	int err;
};

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	void *q;
	size_t c = *cap ? *cap * 2 : 64;

	if (n < *cap)
		return 0;
	q = realloc(*arr, c * size);
	if (!q)
		return -ENOMEM;
	*arr = q;
	*cap = c;
	return 0;
}

static int add_row(void *arg, const struct store_row *r)
{
	struct load *l = arg;
	struct plan *p = l->p;
	struct plan_tree *t = p->ntrees ? &p->trees[p->ntrees - 1] : NULL;
	struct plan_row *row;

	if (!store_leaf_selected(&r->meta.conf, r->leaf, l->from, l->to))
		return 0;
	if (!t || memcmp(t->meta.key_id, r->meta.key_id, IOMT_KEYTREE_ID_LEN)) {
		if (grow((void **)&p->trees, &p->trees_cap, p->ntrees, sizeof(*p->trees)))
			return -ENOMEM;
		t = &p->trees[p->ntrees++];
		t->meta = r->meta;
		t->first = p->nrows;
		t->nrows = 0;
	}
	if (grow((void **)&p->rows, &p->rows_cap, p->nrows, sizeof(*p->rows)))
		return -ENOMEM;
	row = &p->rows[p->nrows];
	row->rec = malloc(r->len);
	if (!row->rec)
		return -ENOMEM;
	memcpy(row->rec, r->rec, r->len);
	row->len = r->len;
	row->tree = p->ntrees - 1;
	row->epoch = r->epoch;
	row->leaf = r->leaf;
	row->seq = r->seq;
	p->nrows++;
	t->nrows++;
	return 0;
}

int plan_load(struct plan *p, struct store_db *db, const struct store_filter *f,
	      uint64_t from, uint64_t to, char *err, size_t errlen)
{
	struct load l = { .p = p, .from = from, .to = to };
	int r;

	memset(p, 0, sizeof(*p));
	r = store_db_select(db, f, add_row, &l);
	if (r)
		snprintf(err, errlen, "cannot read the records: %s", strerror(-r));
	return r;
}

static struct plan_req *new_req(struct plan *p, size_t tree)
{
	struct plan_req *q;

	if (grow((void **)&p->reqs, &p->reqs_cap, p->nreqs, sizeof(*p->reqs)))
		return NULL;
	q = &p->reqs[p->nreqs++];
	memset(q, 0, sizeof(*q));
	q->tree = tree;
	q->status = -1;
	q->from_s = UINT64_MAX;
	return q;
}

/* Adds one node of epoch to the tree's current request (a new one when
 * full); asked: the leaves asked for under it (all of them: UINT64_MAX). */
static int add_node(struct plan *p, size_t tree, uint32_t epoch, const struct iomt_keytree_node *n,
		    uint64_t asked)
{
	const struct iomt_keytree_conf *c = &p->trees[tree].meta.conf;
	struct plan_req *q = p->nreqs ? &p->reqs[p->nreqs - 1] : NULL;
	uint64_t first, count, start, end, s2, e2;

	if (!q || q->tree != tree || q->count == IOMT_CONSENT_MAX_NODES)
		q = new_req(p, tree);
	if (!q || iomt_keytree_node_range(c, n, &first, &count))
		return -ENOMEM;
	memset(&q->nodes[q->count], 0, sizeof(q->nodes[0]));
	q->nodes[q->count].epoch = epoch;
	q->nodes[q->count].node = *n;
	q->count++;
	if (asked == UINT64_MAX)
		asked = count;
	q->leaves += asked;
	q->overshare += count - asked;
	store_leaf_range(c, first, &start, &e2);
	store_leaf_range(c, first + count - 1, &s2, &end);
	if (start < q->from_s)
		q->from_s = start;
	if (end > q->to_s)
		q->to_s = end;
	return 0;
}

/* One epoch's leaves (strictly increasing) of one tree. */
static int cover_epoch(struct plan *p, size_t tree, uint32_t epoch, const uint64_t *leaves,
		       size_t n, enum store_cover how, char *err, size_t errlen)
{
	const struct iomt_keytree_conf *c = &p->trees[tree].meta.conf;
	struct iomt_keytree_node *nodes = NULL, one;
	uint64_t over = 0;
	size_t count = 0;
	int e, r = 0;

	if (how == STORE_COVER_SINGLE) {
		/* over = the node's leaves - n: add_node counts it the same way. */
		e = iomt_cover_lowest(c, leaves, n, &one, &over);
		nodes = &one;
		count = 1;
	} else {
		e = iomt_cover_exact(c, leaves, n, NULL, 0, &count);
		if (e == IOMT_ESIZE || (!e && count)) {
			nodes = calloc(count, sizeof(*nodes));
			e = nodes ? iomt_cover_exact(c, leaves, n, nodes, count, &count) : IOMT_OK;
			if (!nodes)
				r = -ENOMEM;
		}
	}
	if (!r && e) {
		snprintf(err, errlen, "epoch %u: the leaves cannot be covered: %s", epoch,
			 iomt_strerror(e));
		r = -EINVAL;
	}
	for (size_t i = 0; !r && i < count; i++)
		r = add_node(p, tree, epoch, &nodes[i], how == STORE_COVER_SINGLE ? n : UINT64_MAX);
	if (nodes != &one)
		free(nodes);
	return r;
}

int plan_cover(struct plan *p, enum store_cover how, char *err, size_t errlen)
{
	uint64_t *leaves = malloc((p->nrows ? p->nrows : 1) * sizeof(*leaves));
	int r = leaves ? 0 : -ENOMEM;

	for (size_t t = 0; !r && t < p->ntrees; t++) {
		const struct plan_tree *tr = &p->trees[t];
		size_t i = tr->first, end = tr->first + tr->nrows;

		while (!r && i < end) {
			uint32_t epoch = p->rows[i].epoch;
			size_t n = 0;

			/* Rows are ordered by epoch then leaf: distinct leaves. */
			for (; i < end && p->rows[i].epoch == epoch; i++)
				if (!n || leaves[n - 1] != p->rows[i].leaf)
					leaves[n++] = p->rows[i].leaf;
			r = cover_epoch(p, t, epoch, leaves, n, how, err, errlen);
		}
	}
	free(leaves);
	if (r == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	return r;
}

int plan_leaf_key(const struct plan *p, const struct plan_row *row,
		  uint8_t k_enc[IOMT_KEYTREE_KEY_LEN])
{
	const struct iomt_keytree_conf *c = &p->trees[row->tree].meta.conf;

	for (size_t i = 0; i < p->nreqs; i++) {
		const struct plan_req *q = &p->reqs[i];

		if (q->tree != row->tree || !q->released)
			continue;
		for (unsigned k = 0; k < q->count; k++)
			if (q->nodes[k].epoch == row->epoch &&
			    !iomt_keytree_leaf_key(c, &q->nodes[k].node, q->keys[k], row->epoch,
						   row->leaf, k_enc))
				return 0;
	}
	return -ENOKEY;
}

void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->nrows; i++)
		free(p->rows[i].rec);
	if (p->reqs)
		iomt_wipe(p->reqs, p->reqs_cap * sizeof(*p->reqs));
	free(p->rows);
	free(p->trees);
	free(p->reqs);
	memset(p, 0, sizeof(*p));
}
