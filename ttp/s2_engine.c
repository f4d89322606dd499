/* SPDX-License-Identifier: MIT */
/* Seed-002 phase 3 at the TTP: look-ups, batched checks, rotation, undo. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ct.h"
#include "iomt_err.h"
#include "s2_engine.h"
#include "s2_ida.h"

enum {
	GROUP = 64,                                  /* requests per lib batch call */
	REQ_ID_LEN = IOMT_WIRE_REQ_ID_LEN,
	M2_R2_OFF = IOMT_S2_M1_LEN + IOMT_S2_ID_LEN, /* R2 in M2 (PROTOCOL.md §2.2) */
	M3_BOX_OFF = REQ_ID_LEN + IOMT_S2_M3_LEN,    /* ID_a box in the M3 frame payload */
};

/* One request of the run being built. */
struct work {
	uint32_t in;                  /* index into req[] / res[] */
	uint32_t dev, mec;            /* parties */
	uint8_t dev_match, mec_match; /* enum ttp_match */
};

struct undo {
	uint32_t idx;
	struct ttp_party before;      /* holds keys: wiped when dropped */
};

struct ttp_engine {
	struct ttp_engine_ops ops;
	struct ttp_table *t;
	struct work *w;               /* the current run */
	size_t wcap;
	struct undo *undo;
	size_t nundo, undo_cap;
	uint32_t *dirty;
	size_t ndirty, dirty_cap;
	uint32_t *run_mark;           /* per party: run number it is in */
	uint32_t *dirty_mark;         /* per party: epoch it was listed dirty in */
	uint32_t mark_cap;
	uint32_t run, epoch;
};

int ttp_engine_new(const struct ttp_engine_ops *ops, struct ttp_engine **out)
{
	struct ttp_engine *e;
	int r;

	*out = NULL;
	if (!ops || !ops->random)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->ops = *ops;
	e->epoch = 1;
	r = ttp_table_new(&e->t);
	if (r) {
		free(e);
		return r;
	}
	*out = e;
	return 0;
}

void ttp_engine_free(struct ttp_engine *e)
{
	if (!e)
		return;
	ttp_table_free(e->t);
	if (e->undo)
		iomt_wipe(e->undo, e->undo_cap * sizeof(*e->undo));
	free(e->undo);
	free(e->w);
	free(e->dirty);
	free(e->run_mark);
	free(e->dirty_mark);
	free(e);
}

struct ttp_table *ttp_engine_table(struct ttp_engine *e)
{
	return e->t;
}

/* Grows *arr to hold at least want elements of size sz (contents kept). */
static int grow(void **arr, size_t *cap, size_t want, size_t sz)
{
	void *p;

	if (want <= *cap)
		return 0;
	p = calloc(want, sz);
	if (!p)
		return -ENOMEM;
	if (*arr)
		memcpy(p, *arr, *cap * sz);
	free(*arr);
	*arr = p;
	*cap = want;
	return 0;
}

/* The undo log holds keys: it moves with a wipe of the old copy. */
static int grow_undo(struct ttp_engine *e, size_t want)
{
	struct undo *u;

	if (want <= e->undo_cap)
		return 0;
	u = calloc(want, sizeof(*u));
	if (!u)
		return -ENOMEM;
	if (e->undo) {
		memcpy(u, e->undo, e->nundo * sizeof(*u));
		iomt_wipe(e->undo, e->undo_cap * sizeof(*u));
	}
	free(e->undo);
	e->undo = u;
	e->undo_cap = want;
	return 0;
}

/* Scratch for n requests: the run, and the undo and dirty lists (each
 * request rotates at most two parties), so a batch never fails half-way. */
static int reserve(struct ttp_engine *e, size_t n)
{
	int r = grow((void **)&e->w, &e->wcap, n, sizeof(*e->w));

	if (!r)
		r = grow_undo(e, e->nundo + 2 * n);
	if (!r)
		r = grow((void **)&e->dirty, &e->dirty_cap, e->ndirty + 2 * n, sizeof(*e->dirty));
	return r;
}

/* Per-party marks for every party of the table (the miss path adds some). */
static int marks_fit(struct ttp_engine *e)
{
	size_t n = ttp_table_size(e->t), cap = e->mark_cap, cap2 = e->mark_cap;
	int r;

	if (n <= e->mark_cap)
		return 0;
	n = n < 1024 ? 1024 : n * 2;
	r = grow((void **)&e->run_mark, &cap, n, sizeof(uint32_t));
	if (!r)
		r = grow((void **)&e->dirty_mark, &cap2, n, sizeof(uint32_t));
	if (r)
		return r;
	e->mark_cap = (uint32_t)n;
	return 0;
}

/* Counters that wrap restart at 1 with cleared marks (0 = never marked). */
static void next_run(struct ttp_engine *e)
{
	if (++e->run == 0) {
		if (e->run_mark)
			memset(e->run_mark, 0, e->mark_cap * sizeof(uint32_t));
		e->run = 1;
	}
}

static void next_epoch(struct ttp_engine *e)
{
	if (++e->epoch == 0) {
		if (e->dirty_mark)
			memset(e->dirty_mark, 0, e->mark_cap * sizeof(uint32_t));
		e->epoch = 1;
	}
}

static void result_err(struct ttp_m2_result *res, uint8_t code)
{
	res->type = IOMT_MSG_S2_LINK_ERR;
	res->code = code;
	res->len = IOMT_WIRE_S2_LINK_ERR_LEN;
	res->payload[REQ_ID_LEN] = code;
	memset(res->payload + REQ_ID_LEN + 1, 0, sizeof(res->payload) - REQ_ID_LEN - 1);
}

/* A party the table does not hold, from the miss callback. The table is
 * newer than the callback's source for every party it already holds. */
static int fetch(struct ttp_engine *e, const uint8_t *did, uint32_t *idx, enum ttp_match *m)
{
	struct ttp_party p;
	uint32_t known;
	int r;

	memset(&p, 0, sizeof(p));
	r = e->ops.miss(e->ops.arg, did, &p);
	if (!r && ttp_table_find_db(e->t, p.db_id, &known) == 0)
		r = -ENOENT;
	if (!r)
		r = ttp_table_add(e->t, &p, NULL);
	if (r == -EEXIST || r == -EINVAL)
		r = -ENOENT;
	if (!r)
		r = ttp_table_find(e->t, did, idx, m);
	iomt_wipe(&p, sizeof(p));
	return r;
}

/* 0, -ENOENT (no such party of this kind) or another negative error. */
static int lookup(struct ttp_engine *e, const uint8_t *did, uint8_t kind, uint32_t *idx,
		  uint8_t *match)
{
	enum ttp_match m;
	int r = ttp_table_find(e->t, did, idx, &m);

	if (r == -ENOENT && e->ops.miss)
		r = fetch(e, did, idx, &m);
	if (r)
		return r;
	if (ttp_table_get(e->t, *idx)->kind != kind)
		return -ENOENT;
	*match = (uint8_t)m;
	return 0;
}

/* Finds both parties of an M2: 0, or the enum iomt_s2_code to answer. */
static int resolve(struct ttp_engine *e, const uint8_t *m2, struct work *w)
{
	uint8_t did_i[IOMT_S2_ID_LEN], did_m[IOMT_S2_ID_LEN];
	int r;

	if (iomt_s2_m2_dids(m2, IOMT_S2_M2_LEN, did_i, did_m))
		return IOMT_S2_ERR_MALFORMED;
	r = lookup(e, did_m, TTP_PARTY_MEC, &w->mec, &w->mec_match);
	if (r)
		return r == -ENOENT ? IOMT_S2_ERR_UNKNOWN_MEC : IOMT_S2_ERR_INTERNAL;
	r = lookup(e, did_i, TTP_PARTY_DEVICE, &w->dev, &w->dev_match);
	if (r)
		return r == -ENOENT ? IOMT_S2_ERR_UNKNOWN_DEVICE : IOMT_S2_ERR_INTERNAL;
	return marks_fit(e) ? IOMT_S2_ERR_INTERNAL : 0;
}

static void mark_dirty(struct ttp_engine *e, uint32_t idx)
{
	if (e->dirty_mark[idx] == e->epoch)
		return;
	e->dirty_mark[idx] = e->epoch;
	e->dirty[e->ndirty++] = idx;
}

/* The rotation rule (PROTOCOL.md §3.4), with the party's old state logged. */
static int rotate(struct ttp_engine *e, uint32_t idx, uint8_t match, const uint8_t *did,
		  const uint8_t *dk)
{
	struct undo *u = &e->undo[e->nundo];
	struct ttp_party np = *ttp_table_get(e->t, idx);
	int r;

	u->idx = idx;
	u->before = np;
	if (match == TTP_MATCH_CUR) {
		memcpy(np.did_prev, np.did_cur, IOMT_S2_ID_LEN);
		memcpy(np.dk_prev, np.dk_cur, IOMT_S2_KEY_LEN);
		np.has_prev = 1;
	}
	memcpy(np.did_cur, did, IOMT_S2_ID_LEN);
	memcpy(np.dk_cur, dk, IOMT_S2_KEY_LEN);
	r = ttp_table_replace(e->t, idx, &np);
	iomt_wipe(&np, sizeof(np));
	if (r) {
		iomt_wipe(u, sizeof(*u));
		return r;
	}
	e->nundo++;
	mark_dirty(e, idx);
	return 0;
}

/* Restores the last logged state; the party stays listed dirty (harmless). */
static int undo_last(struct ttp_engine *e)
{
	struct undo *u = &e->undo[--e->nundo];
	int r = ttp_table_replace(e->t, u->idx, &u->before);

	iomt_wipe(u, sizeof(*u));
	return r;
}

/* Both parties or neither: a MEC that cannot rotate undoes the device. */
static int rotate_both(struct ttp_engine *e, const struct work *w,
		       const struct iomt_s2_ttp_out *o)
{
	int r = rotate(e, w->dev, w->dev_match, o->next_did_i, o->next_dk_i);

	if (r)
		return r;
	r = rotate(e, w->mec, w->mec_match, o->next_did_m, o->next_dk_m);
	if (r && undo_last(e))
		return -EIO;
	return r;
}

/* An agreement that verified, its ID_a box already sealed: rotate, answer M3. */
static void finish(struct ttp_engine *e, const struct work *w,
		   const struct iomt_s2_ttp_out *o, int sealed, struct ttp_m2_result *res)
{
	if (sealed || rotate_both(e, w, o)) {
		result_err(res, IOMT_S2_ERR_INTERNAL);
		return;
	}
	res->type = IOMT_MSG_S2_M3;
	res->code = 0;
	res->len = IOMT_WIRE_S2_M3_LEN;
}

/* Copies each verified M3 into its reply and seals the device's ID_a for
 * the MEC beside it, all in one batch (the K_a hashes share Keccak lanes). */
static void seal_group(struct ttp_engine *e, const struct work *w, size_t g,
		       const uint8_t *const m2[], const uint8_t *const dk_m[],
		       const struct iomt_s2_ttp_out out[], const int status[],
		       struct ttp_m2_result res[], int sealed[])
{
	const uint8_t *r2[GROUP], *did[GROUP], *m3[GROUP], *ida[GROUP], *key[GROUP];
	uint8_t *box[GROUP];
	int st[GROUP];
	size_t n = 0, slot[GROUP];

	for (size_t k = 0; k < g; k++) {
		struct ttp_m2_result *r = &res[w[k].in];

		if (status[k])
			continue;
		memcpy(r->payload + REQ_ID_LEN, out[k].m3, IOMT_S2_M3_LEN);
		key[n] = dk_m[k];
		r2[n] = m2[k] + M2_R2_OFF;
		did[n] = m2[k];
		m3[n] = out[k].m3;
		ida[n] = ttp_table_get(e->t, w[k].dev)->id_a;
		box[n] = r->payload + M3_BOX_OFF;
		slot[n++] = k;
	}
	if (iomt_s2_ida_seal_batch(n, key, r2, did, m3, ida, box, st))
		for (size_t i = 0; i < n; i++)
			st[i] = IOMT_EINVAL;
	for (size_t i = 0; i < n; i++)
		sealed[slot[i]] = st[i];
}

static uint8_t refusal(int status, unsigned bad)
{
	if (status == IOMT_EAUTH)
		return (bad & IOMT_S2_BAD_MEC) ? IOMT_S2_ERR_BAD_MEC : IOMT_S2_ERR_BAD_DEVICE;
	return status == IOMT_ESIZE ? IOMT_S2_ERR_MALFORMED : IOMT_S2_ERR_INTERNAL;
}

/* Up to GROUP requests of a run through one lib batch call. */
static void run_group(struct ttp_engine *e, const struct work *w, size_t g,
		      const struct ttp_m2_req req[], struct ttp_m2_result res[])
{
	const uint8_t *dk_i[GROUP], *dk_m[GROUP], *m2[GROUP], *r3p[GROUP];
	uint8_t r3[GROUP][IOMT_S2_RAND_LEN];
	struct iomt_s2_ttp_out out[GROUP];
	size_t m2_len[GROUP], k;
	int status[GROUP], sealed[GROUP];
	unsigned bad[GROUP];

	if (e->ops.random(r3, g * IOMT_S2_RAND_LEN)) {
		for (k = 0; k < g; k++)
			result_err(&res[w[k].in], IOMT_S2_ERR_INTERNAL);
		return;
	}
	for (k = 0; k < g; k++) {
		const struct ttp_party *d = ttp_table_get(e->t, w[k].dev);
		const struct ttp_party *m = ttp_table_get(e->t, w[k].mec);

		dk_i[k] = w[k].dev_match == TTP_MATCH_CUR ? d->dk_cur : d->dk_prev;
		dk_m[k] = w[k].mec_match == TTP_MATCH_CUR ? m->dk_cur : m->dk_prev;
		m2[k] = req[w[k].in].payload + REQ_ID_LEN;
		m2_len[k] = IOMT_S2_M2_LEN;
		r3p[k] = r3[k];
	}
	(void)iomt_s2_ttp_process_batch(g, dk_i, dk_m, m2, m2_len, r3p, out, status, bad);
	seal_group(e, w, g, m2, dk_m, out, status, res, sealed);
	for (k = 0; k < g; k++) {
		if (status[k])
			result_err(&res[w[k].in], refusal(status[k], bad[k]));
		else
			finish(e, &w[k], &out[k], sealed[k], &res[w[k].in]);
	}
	iomt_wipe(out, sizeof(out));
	iomt_wipe(r3, sizeof(r3));
}

static void run_flush(struct ttp_engine *e, size_t n, const struct ttp_m2_req req[],
		      struct ttp_m2_result res[])
{
	for (size_t i = 0; i < n; i += GROUP)
		run_group(e, e->w + i, n - i < GROUP ? n - i : GROUP, req, res);
	next_run(e);
}

static void result_init(struct ttp_m2_result *res, const struct ttp_m2_req *req)
{
	memset(res, 0, sizeof(*res));
	if (req->payload && req->len >= REQ_ID_LEN)
		memcpy(res->payload, req->payload, REQ_ID_LEN);
}

/* Finds the parties of request i and queues it on the run; a party that is
 * already in the run flushes the run first, so i sees its rotation. */
static void queue(struct ttp_engine *e, size_t *nrun, uint32_t i, const struct ttp_m2_req req[],
		  struct ttp_m2_result res[])
{
	struct work w = { .in = i };
	const uint8_t *m2 = req[i].payload + REQ_ID_LEN;
	int code = resolve(e, m2, &w);

	if (!code && (e->run_mark[w.dev] == e->run || e->run_mark[w.mec] == e->run)) {
		run_flush(e, *nrun, req, res);
		*nrun = 0;
		code = resolve(e, m2, &w);
	}
	res[i].device = code ? 0 : ttp_table_get(e->t, w.dev)->db_id;
	res[i].mec = code ? 0 : ttp_table_get(e->t, w.mec)->db_id;
	res[i].device_match = code ? 0 : w.dev_match;
	res[i].mec_match = code ? 0 : w.mec_match;
	if (code) {
		result_err(&res[i], (uint8_t)code);
		return;
	}
	e->run_mark[w.dev] = e->run_mark[w.mec] = e->run;
	e->w[(*nrun)++] = w;
}

int ttp_engine_process(struct ttp_engine *e, size_t n, const struct ttp_m2_req req[],
		       struct ttp_m2_result res[])
{
	size_t nrun = 0, i;

	if (n && (!req || !res))
		return -EINVAL;
	for (i = 0; i < n; i++)
		result_init(&res[i], &req[i]);
	if (n > UINT32_MAX || reserve(e, n) || marks_fit(e)) {
		for (i = 0; i < n; i++)
			result_err(&res[i], IOMT_S2_ERR_INTERNAL);
		return -ENOMEM;
	}
	next_run(e);
	for (i = 0; i < n; i++) {
		/* The frame layer checks this too; the engine trusts no caller. */
		if (!req[i].payload || req[i].len != IOMT_WIRE_S2_M2_LEN)
			result_err(&res[i], IOMT_S2_ERR_MALFORMED);
		else
			queue(e, &nrun, (uint32_t)i, req, res);
	}
	run_flush(e, nrun, req, res);
	return 0;
}

size_t ttp_engine_dirty(const struct ttp_engine *e, const uint32_t **idx)
{
	*idx = e->dirty;
	return e->ndirty;
}

void ttp_engine_commit(struct ttp_engine *e)
{
	if (e->nundo)
		iomt_wipe(e->undo, e->nundo * sizeof(*e->undo));
	e->nundo = 0;
	e->ndirty = 0;
	next_epoch(e);
}

int ttp_engine_rollback(struct ttp_engine *e)
{
	int failed = 0;

	/* Newest first: a party rotated twice ends at its oldest state. */
	while (e->nundo)
		if (undo_last(e))
			failed = 1;
	e->ndirty = 0;
	next_epoch(e);
	return failed ? -EIO : 0;
}
