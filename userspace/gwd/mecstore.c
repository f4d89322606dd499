/* SPDX-License-Identifier: MIT */
/* The MEC's phase-4 store: samples, analysis states and signed results by ID_a. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/rt_store.h"
#include "mecstore.h"

static const char *const migrations[] = {
	"CREATE TABLE samples ("
	" seq INTEGER PRIMARY KEY,"
	" id_a BLOB NOT NULL,"
	" kind INTEGER NOT NULL,"
	" t_ms INTEGER NOT NULL,"
	" value INTEGER NOT NULL);"
	"CREATE INDEX samples_by_ida ON samples (id_a, seq);"
	"CREATE TABLE an_state ("
	" id_a BLOB NOT NULL,"
	" analysis INTEGER NOT NULL,"
	" state BLOB NOT NULL,"
	" PRIMARY KEY (id_a, analysis));"
	"CREATE TABLE results ("
	" seq INTEGER PRIMARY KEY,"
	" id_a BLOB NOT NULL,"
	" analysis INTEGER NOT NULL,"
	" verdict INTEGER NOT NULL,"
	" win_start_ms INTEGER NOT NULL,"
	" win_end_ms INTEGER NOT NULL,"
	" result BLOB NOT NULL,"
	" sig BLOB NOT NULL,"
	" created INTEGER NOT NULL);"
	"CREATE INDEX results_by_ida ON results (id_a, seq);",
};

static const struct rt_store_schema schema = {
	.version = 1,
	.migrations = migrations,
	.init_cmd = "iomt-gwd (created at start)",
	.create_refuses_existing = 0,
};

/* The rows of id_a older than the newest max: one statement, by the index,
 * but it walks max rows of it (the benchmark baseline's eviction). */
#define EVICT(t) "DELETE FROM " t " WHERE id_a = ? AND seq <= (SELECT seq FROM " t \
		 " WHERE id_a = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)"

/* Samples per multi-row insert: ?1 is the ID_a, then kind, t_ms, value
 * of each row (one statement step instead of INS_ROWS). */
enum { INS_ROWS = 20 };
#define ROW "(?1, ?, ?, ?)"
#define ROW5 ROW ", " ROW ", " ROW ", " ROW ", " ROW
#define INS_ROWS_SQL "INSERT INTO samples (id_a, kind, t_ms, value) VALUES " \
		     ROW5 ", " ROW5 ", " ROW5 ", " ROW5

/* The oldest n rows of id_a: walks those n only. */
#define TRIM(t) "DELETE FROM " t " WHERE seq IN (SELECT seq FROM " t \
		" WHERE id_a = ? ORDER BY seq LIMIT ?)"

static const struct {
	size_t off;
	const char *sql;
} queries[] = {
	{ offsetof(struct gwd_mecstore, ins_sample),
	  "INSERT INTO samples (id_a, kind, t_ms, value) VALUES (?, ?, ?, ?)" },
	{ offsetof(struct gwd_mecstore, evict_samples), EVICT("samples") },
	{ offsetof(struct gwd_mecstore, get_state),
	  "SELECT state FROM an_state WHERE id_a = ? AND analysis = ?" },
	{ offsetof(struct gwd_mecstore, put_state),
	  "INSERT INTO an_state (id_a, analysis, state) VALUES (?, ?, ?)"
	  " ON CONFLICT (id_a, analysis) DO UPDATE SET state = excluded.state" },
	{ offsetof(struct gwd_mecstore, ins_result),
	  "INSERT INTO results (id_a, analysis, verdict, win_start_ms, win_end_ms, result, sig,"
	  " created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)" },
	{ offsetof(struct gwd_mecstore, evict_results), EVICT("results") },
	{ offsetof(struct gwd_mecstore, last_result),
	  "SELECT seq FROM results WHERE id_a = ? ORDER BY seq DESC LIMIT 1" },
	{ offsetof(struct gwd_mecstore, list_results),
	  "SELECT seq, result, sig FROM results WHERE id_a = ? AND seq > ? ORDER BY seq LIMIT ?" },
	{ offsetof(struct gwd_mecstore, count_samples),
	  "SELECT count(*) FROM samples WHERE id_a = ?" },
	{ offsetof(struct gwd_mecstore, count_results),
	  "SELECT count(*) FROM results WHERE id_a = ?" },
	{ offsetof(struct gwd_mecstore, trim_samples), TRIM("samples") },
	{ offsetof(struct gwd_mecstore, trim_results), TRIM("results") },
	{ offsetof(struct gwd_mecstore, ins_samples), INS_ROWS_SQL },
};

/* Row counts per ID_a (mecstore.h): open addressing, cleared when full. */
enum {
	COUNT_SLOTS = 8192,
	COUNT_FILL = COUNT_SLOTS / 2,
};

struct mecstore_count {
	uint8_t id_a[IOMT_S2_IDA_LEN];
	int64_t n[2];			/* samples, results; -1: not counted yet */
	uint8_t used;
};

static struct rt_stmt **stmt_at(struct gwd_mecstore *s, size_t i)
{
	return (struct rt_stmt **)((char *)s + queries[i].off);
}

int gwd_mecstore_open(struct gwd_mecstore *s, const char *path, int64_t samples_max,
		      int64_t results_max, char *err, size_t errlen)
{
	int r;

	memset(s, 0, sizeof(*s));
	s->samples_max = samples_max;
	s->results_max = results_max;
	s->counts = calloc(COUNT_SLOTS, sizeof(*s->counts));
	if (!s->counts) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	r = rt_store_open_schema(path, 1, &schema, &s->db, err, errlen);
	for (size_t i = 0; !r && i < sizeof(queries) / sizeof(queries[0]); i++)
		r = rt_stmt_prepare(s->db, queries[i].sql, stmt_at(s, i));
	if (r) {
		if (!err[0] || s->db)
			snprintf(err, errlen, "%s: cannot prepare the MEC store's queries", path);
		gwd_mecstore_close(s);
	}
	return r;
}

void gwd_mecstore_close(struct gwd_mecstore *s)
{
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		rt_stmt_free(*stmt_at(s, i));
		*stmt_at(s, i) = NULL;
	}
	if (s->db)
		rt_store_close(s->db);
	s->db = NULL;
	free(s->counts);
	s->counts = NULL;
}

int gwd_mecstore_begin(struct gwd_mecstore *s)
{
	return rt_store_begin(s->db);
}

int gwd_mecstore_commit(struct gwd_mecstore *s)
{
	return rt_store_commit(s->db);
}

static void counts_clear(struct gwd_mecstore *s)
{
	memset(s->counts, 0, COUNT_SLOTS * sizeof(*s->counts));
	s->ncounts = 0;
}

void gwd_mecstore_rollback(struct gwd_mecstore *s)
{
	rt_store_rollback(s->db);
	/* the counts may include rows that are gone now */
	counts_clear(s);
}

/* id_a's counts; with add, a new slot (both unknown) if it has none. */
static struct mecstore_count *count_of(struct gwd_mecstore *s,
				       const uint8_t id_a[IOMT_S2_IDA_LEN], int add)
{
	uint64_t h;
	size_t i;

	memcpy(&h, id_a, sizeof(h));
	h = (h ^ (h >> 31)) * 0x9e3779b97f4a7c15ULL;
	for (i = (size_t)(h >> 51) % COUNT_SLOTS; s->counts[i].used; i = (i + 1) % COUNT_SLOTS)
		if (!memcmp(s->counts[i].id_a, id_a, IOMT_S2_IDA_LEN))
			return &s->counts[i];
	if (!add)
		return NULL;
	if (s->ncounts == COUNT_FILL) {
		counts_clear(s);
		return count_of(s, id_a, 1);
	}
	memcpy(s->counts[i].id_a, id_a, IOMT_S2_IDA_LEN);
	s->counts[i].n[0] = s->counts[i].n[1] = -1;
	s->counts[i].used = 1;
	s->ncounts++;
	return &s->counts[i];
}

/* k rows of table t (0 samples, 1 results) added for id_a. */
static void count_add(struct gwd_mecstore *s, const uint8_t id_a[IOMT_S2_IDA_LEN], int t,
		      int64_t k)
{
	struct mecstore_count *c = count_of(s, id_a, 0);

	if (c && c->n[t] >= 0)
		c->n[t] += k;
}

/* Steps a statement that returns no row, and resets it. */
static int run(struct rt_stmt *st, const struct rt_param *p, size_t n)
{
	int r = rt_stmt_bind_all(st, p, n);

	if (!r)
		r = rt_stmt_step(st);
	rt_stmt_reset(st);
	return r == RT_STMT_DONE ? 0 : r < 0 ? r : -EIO;
}

static int evict(struct gwd_mecstore *s, struct rt_stmt *st, const uint8_t *id_a, int64_t max,
		 uint64_t *evicted)
{
	struct rt_param p[] = { RT_PARAM_BLOB(id_a, IOMT_S2_IDA_LEN),
				RT_PARAM_BLOB(id_a, IOMT_S2_IDA_LEN), RT_PARAM_INT(max) };
	int r = run(st, p, 3);

	if (!r && evicted)
		*evicted += (uint64_t)rt_store_changes(s->db);
	return r;
}

int gwd_mecstore_insert_samples(struct gwd_mecstore *s, const uint8_t id_a[IOMT_S2_IDA_LEN],
				const struct iomt_s2_sample *v, size_t n)
{
	size_t i = 0;
	int r = 0;

	/* INS_ROWS at a time: one statement step instead of INS_ROWS */
	for (; !r && !s->baseline && n - i >= INS_ROWS; i += INS_ROWS) {
		struct rt_param p[1 + 3 * INS_ROWS];

		p[0] = RT_PARAM_BLOB(id_a, IOMT_S2_IDA_LEN);
		for (size_t j = 0; j < INS_ROWS; j++) {
			p[1 + 3 * j] = RT_PARAM_INT(v[i + j].kind);
			p[2 + 3 * j] = RT_PARAM_INT((int64_t)v[i + j].t_ms);
			p[3 + 3 * j] = RT_PARAM_INT(v[i + j].value);
		}
		r = run(s->ins_samples, p, 1 + 3 * INS_ROWS);
	}
	for (; !r && i < n; i++) {
		struct rt_param p[] = { RT_PARAM_BLOB(id_a, IOMT_S2_IDA_LEN),
					RT_PARAM_INT(v[i].kind), RT_PARAM_INT((int64_t)v[i].t_ms),
					RT_PARAM_INT(v[i].value) };

		r = run(s->ins_sample, p, 4);
	}
	if (!r)
		count_add(s, id_a, 0, (int64_t)n);
	return r;
}

/* id_a's rows of table t beyond max, oldest first: its count (once, by the
 * index), then only the excess is walked and deleted. */
static int trim(struct gwd_mecstore *s, int t, const uint8_t id_a[IOMT_S2_IDA_LEN], int64_t max,
		uint64_t *evicted)
{
	struct rt_stmt *q = t ? s->count_results : s->count_samples;
	struct mecstore_count *c;
	int r;

	if (s->baseline)
		return evict(s, t ? s->evict_results : s->evict_samples, id_a, max, evicted);
	c = count_of(s, id_a, 1);
	if (c->n[t] < 0) {
		struct rt_param p[] = { RT_PARAM_BLOB(id_a, IOMT_S2_IDA_LEN) };

		r = rt_stmt_bind_all(q, p, 1);
		if (!r && (r = rt_stmt_step(q)) == RT_STMT_ROW) {
			c->n[t] = rt_stmt_int(q, 0);
			r = 0;
		} else if (!r) {
			r = -EIO;
		}
		rt_stmt_reset(q);
		if (r)
			return r;
	}
	if (c->n[t] > max) {
		struct rt_param p[] = { RT_PARAM_BLOB(id_a, IOMT_S2_IDA_LEN),
					RT_PARAM_INT(c->n[t] - max) };
		int64_t gone;

		r = run(t ? s->trim_results : s->trim_samples, p, 2);
		if (r)
			return r;
		gone = rt_store_changes(s->db);
		c->n[t] -= gone;
		if (evicted)
			*evicted += (uint64_t)gone;
	}
	return 0;
}

int gwd_mecstore_evict_samples(struct gwd_mecstore *s, const uint8_t id_a[IOMT_S2_IDA_LEN],
			       uint64_t *evicted)
{
	return trim(s, 0, id_a, s->samples_max, evicted);
}

int gwd_mecstore_add_samples(struct gwd_mecstore *s, const uint8_t id_a[IOMT_S2_IDA_LEN],
			     const struct iomt_s2_sample *v, size_t n, uint64_t *evicted)
{
	int r = gwd_mecstore_insert_samples(s, id_a, v, n);

	return r ? r : gwd_mecstore_evict_samples(s, id_a, evicted);
}

int gwd_mecstore_state_get(struct gwd_mecstore *s, const uint8_t id_a[IOMT_S2_IDA_LEN],
			   uint8_t analysis, void *state, size_t len)
{
	struct rt_param p[] = { RT_PARAM_BLOB(id_a, IOMT_S2_IDA_LEN), RT_PARAM_INT(analysis) };
	const void *b;
	size_t blen = 0;
	int r = rt_stmt_bind_all(s->get_state, p, 2);

	if (!r)
		r = rt_stmt_step(s->get_state);
	if (r == RT_STMT_ROW) {
		b = rt_stmt_blob(s->get_state, 0, &blen);
		if (blen == len) {
			memcpy(state, b, len);
			r = 1;
		} else {
			r = -EPROTO;
		}
	}
	rt_stmt_reset(s->get_state);
	return r;
}

int gwd_mecstore_state_put(struct gwd_mecstore *s, const uint8_t id_a[IOMT_S2_IDA_LEN],
			   uint8_t analysis, const void *state, size_t len)
{
	struct rt_param p[] = { RT_PARAM_BLOB(id_a, IOMT_S2_IDA_LEN), RT_PARAM_INT(analysis),
				RT_PARAM_BLOB(state, len) };

	return run(s->put_state, p, 3);
}

int gwd_mecstore_result_insert(struct gwd_mecstore *s, const uint8_t id_a[IOMT_S2_IDA_LEN],
			       const struct an_result *res, const uint8_t enc[AN_RESULT_LEN],
			       const uint8_t *sig, size_t sig_len, int64_t created_s, int64_t *id)
{
	struct rt_param p[] = { RT_PARAM_BLOB(id_a, IOMT_S2_IDA_LEN),
				RT_PARAM_INT(res->analysis), RT_PARAM_INT(res->verdict),
				RT_PARAM_INT((int64_t)res->win_start_ms),
				RT_PARAM_INT((int64_t)res->win_end_ms),
				RT_PARAM_BLOB(enc, AN_RESULT_LEN), RT_PARAM_BLOB(sig, sig_len),
				RT_PARAM_INT(created_s) };
	int r = run(s->ins_result, p, 8);

	if (r)
		return r;
	/* The row just inserted is the newest of its ID_a. */
	r = rt_stmt_bind_all(s->last_result, p, 1);
	if (!r && (r = rt_stmt_step(s->last_result)) == RT_STMT_ROW) {
		*id = rt_stmt_int(s->last_result, 0);
		r = 0;
	} else if (!r) {
		r = -EIO;
	}
	rt_stmt_reset(s->last_result);
	if (!r)
		count_add(s, id_a, 1, 1);
	return r;
}

int gwd_mecstore_evict_results(struct gwd_mecstore *s, const uint8_t id_a[IOMT_S2_IDA_LEN],
			       uint64_t *evicted)
{
	return trim(s, 1, id_a, s->results_max, evicted);
}

int gwd_mecstore_result_add(struct gwd_mecstore *s, const uint8_t id_a[IOMT_S2_IDA_LEN],
			    const struct an_result *res, const uint8_t enc[AN_RESULT_LEN],
			    const uint8_t *sig, size_t sig_len, int64_t created_s, int64_t *id,
			    uint64_t *evicted)
{
	int r = gwd_mecstore_result_insert(s, id_a, res, enc, sig, sig_len, created_s, id);

	return r ? r : gwd_mecstore_evict_results(s, id_a, evicted);
}

long gwd_mecstore_results(struct gwd_mecstore *s, const uint8_t id_a[IOMT_S2_IDA_LEN],
			  int64_t after, size_t max, gwd_mecstore_result_fn *fn, void *ctx)
{
	struct rt_param p[] = { RT_PARAM_BLOB(id_a, IOMT_S2_IDA_LEN), RT_PARAM_INT(after),
				RT_PARAM_INT((int64_t)max) };
	long n = 0;
	int r = rt_stmt_bind_all(s->list_results, p, 3);

	while (!r && (r = rt_stmt_step(s->list_results)) == RT_STMT_ROW) {
		size_t elen = 0, slen = 0;
		const void *enc = rt_stmt_blob(s->list_results, 1, &elen);
		const void *sig;
		int64_t id = rt_stmt_int(s->list_results, 0);

		if (elen != AN_RESULT_LEN) {
			r = -EPROTO;
			break;
		}
		sig = rt_stmt_blob(s->list_results, 2, &slen);
		n++;
		if (fn(ctx, id, enc, sig, slen)) {
			r = RT_STMT_DONE;
			break;
		}
		r = 0;
	}
	rt_stmt_reset(s->list_results);
	return r < 0 ? r : n;
}
