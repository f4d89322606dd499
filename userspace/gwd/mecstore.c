/* SPDX-License-Identifier: MIT */
/* The MEC's phase-4 store: samples, analysis states and signed results by ID_a. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
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

/* The rows of id_a older than the newest max: one statement, by the index. */
#define EVICT(t) "DELETE FROM " t " WHERE id_a = ? AND seq <= (SELECT seq FROM " t \
		 " WHERE id_a = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)"

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
}

int gwd_mecstore_begin(struct gwd_mecstore *s)
{
	return rt_store_begin(s->db);
}

int gwd_mecstore_commit(struct gwd_mecstore *s)
{
	return rt_store_commit(s->db);
}

void gwd_mecstore_rollback(struct gwd_mecstore *s)
{
	rt_store_rollback(s->db);
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

int gwd_mecstore_add_samples(struct gwd_mecstore *s, const uint8_t id_a[IOMT_S2_IDA_LEN],
			     const struct iomt_s2_sample *v, size_t n, uint64_t *evicted)
{
	int r = 0;

	for (size_t i = 0; !r && i < n; i++) {
		struct rt_param p[] = { RT_PARAM_BLOB(id_a, IOMT_S2_IDA_LEN),
					RT_PARAM_INT(v[i].kind), RT_PARAM_INT((int64_t)v[i].t_ms),
					RT_PARAM_INT(v[i].value) };

		r = run(s->ins_sample, p, 4);
	}
	return r ? r : evict(s, s->evict_samples, id_a, s->samples_max, evicted);
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

int gwd_mecstore_result_add(struct gwd_mecstore *s, const uint8_t id_a[IOMT_S2_IDA_LEN],
			    const struct an_result *res, const uint8_t enc[AN_RESULT_LEN],
			    const uint8_t *sig, size_t sig_len, int64_t created_s, int64_t *id,
			    uint64_t *evicted)
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
	return r ? r : evict(s, s->evict_results, id_a, s->results_max, evicted);
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
