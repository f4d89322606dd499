/* SPDX-License-Identifier: MIT */
/* The store's database: schema, group-committed inserts, selection. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "db.h"
#include "iomt_err.h"
#include "lib/rt_log.h"
#include "lib/rt_store.h"
#include "record.h"

/* Portable SQL (rt_store.h): "?" parameters, INTEGER/BLOB. */
static const char *const migrations[STORE_DB_SCHEMA] = {
	"CREATE TABLE metas ("
	" key_id BLOB PRIMARY KEY,"
	" meta BLOB NOT NULL,"
	" ppd_id BLOB NOT NULL,"
	" sensor_id BLOB NOT NULL,"
	" first_seen INTEGER NOT NULL);"
	"CREATE INDEX metas_sensor ON metas (sensor_id);"
	"CREATE TABLE records ("
	" key_id BLOB NOT NULL REFERENCES metas (key_id),"
	" epoch INTEGER NOT NULL,"
	" leaf INTEGER NOT NULL,"
	" seq INTEGER NOT NULL,"
	" recv_ms INTEGER NOT NULL,"
	" record BLOB NOT NULL,"
	" PRIMARY KEY (key_id, epoch, leaf, seq));",
};

struct store_db {
	struct rt_store *st;
	struct rt_stmt *meta_get, *meta_put, *rec_put;   /* prepared once */
};

static int prepare(struct store_db *db)
{
	int r = rt_stmt_prepare(db->st, "SELECT meta FROM metas WHERE key_id = ?", &db->meta_get);

	if (!r)
		r = rt_stmt_prepare(db->st,
				    "INSERT INTO metas (key_id, meta, ppd_id, sensor_id, first_seen)"
				    " VALUES (?, ?, ?, ?, ?)", &db->meta_put);
	if (!r)
		r = rt_stmt_prepare(db->st,
				    "INSERT OR IGNORE INTO records"
				    " (key_id, epoch, leaf, seq, recv_ms, record)"
				    " VALUES (?, ?, ?, ?, ?, ?)", &db->rec_put);
	return r;
}

int store_db_open(const char *path, int create, struct store_db **out, char *err,
		  size_t errlen)
{
	struct store_db *db;
	struct stat sb;
	int r;

	*out = NULL;
	if (!create && stat(path, &sb) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	db = calloc(1, sizeof(*db));
	if (!db) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = rt_store_open(path, &db->st);
	if (!r)
		r = rt_store_migrate(db->st, migrations, STORE_DB_SCHEMA);
	if (!r)
		r = prepare(db);
	if (r) {
		snprintf(err, errlen, "%s: %s", path,
			 r == -EPROTO ? "schema newer than this program"
			 : db->st ? rt_store_errmsg(db->st) : strerror(-r));
		store_db_close(db);
		return r;
	}
	*out = db;
	return 0;
}

void store_db_close(struct store_db *db)
{
	if (!db)
		return;
	rt_stmt_free(db->meta_get);
	rt_stmt_free(db->meta_put);
	rt_stmt_free(db->rec_put);
	rt_store_close(db->st);
	free(db);
}

int store_db_begin(struct store_db *db)
{
	return rt_store_begin(db->st);
}

int store_db_commit(struct store_db *db)
{
	return rt_store_commit(db->st);
}

int store_db_rollback(struct store_db *db)
{
	return rt_store_rollback(db->st);
}

/* The meta of b: inserted the first time, compared byte for byte after. */
static int put_meta(struct store_db *db, const struct iomt_recbatch *b, int64_t now_ms)
{
	uint8_t enc[IOMT_KEYTREE_META_LEN];
	const void *held;
	size_t len;
	int r;

	if (iomt_keytree_meta_encode(&b->meta, enc))
		return -EINVAL;
	r = rt_stmt_bind_blob(db->meta_get, 1, b->meta.key_id, IOMT_KEYTREE_ID_LEN);
	if (!r)
		r = rt_stmt_step(db->meta_get);
	if (r == RT_STMT_ROW) {
		held = rt_stmt_blob(db->meta_get, 0, &len);
		r = len == sizeof(enc) && !memcmp(held, enc, len) ? 0 : -EEXIST;
		rt_stmt_reset(db->meta_get);
		return r;
	}
	rt_stmt_reset(db->meta_get);
	if (r < 0)
		return r;
	r = rt_stmt_bind_blob(db->meta_put, 1, b->meta.key_id, IOMT_KEYTREE_ID_LEN);
	if (!r)
		r = rt_stmt_bind_blob(db->meta_put, 2, enc, sizeof(enc));
	if (!r)
		r = rt_stmt_bind_blob(db->meta_put, 3, b->meta.ppd_id, IOMT_KEYTREE_ID_LEN);
	if (!r)
		r = rt_stmt_bind_blob(db->meta_put, 4, b->meta.sensor_id, IOMT_KEYTREE_ID_LEN);
	if (!r)
		r = rt_stmt_bind_int(db->meta_put, 5, now_ms);
	if (!r)
		r = rt_stmt_step(db->meta_put);
	rt_stmt_reset(db->meta_put);
	/* A constraint here would be a key id inserted meanwhile: not in one
	 * transaction. Anything else spoils the transaction. */
	return r < 0 ? (r == -EEXIST ? -EIO : r) : 0;
}

static int put_record(struct store_db *db, const uint8_t *rec, size_t len, int64_t now_ms,
		      int *added)
{
	struct iomt_record_hdr h;
	int r;

	if (iomt_record_parse(rec, len, &h))
		return -EINVAL;   /* the batch was decoded: cannot happen */
	r = rt_stmt_bind_blob(db->rec_put, 1, h.key_id, sizeof(h.key_id));
	if (!r)
		r = rt_stmt_bind_int(db->rec_put, 2, h.epoch);
	if (!r)
		r = rt_stmt_bind_int(db->rec_put, 3, (int64_t)h.leaf);
	if (!r)
		r = rt_stmt_bind_int(db->rec_put, 4, h.seq);
	if (!r)
		r = rt_stmt_bind_int(db->rec_put, 5, now_ms);
	if (!r)
		r = rt_stmt_bind_blob(db->rec_put, 6, rec, len);
	if (!r)
		r = rt_stmt_step(db->rec_put);
	if (r >= 0)
		*added = rt_store_changes(db->st) == 1;
	rt_stmt_reset(db->rec_put);
	/* OR IGNORE leaves no constraint to break: a violation here is the
	 * database refusing the write, not a duplicate (-EEXIST is the meta's). */
	return r < 0 ? (r == -EEXIST ? -EIO : r) : 0;
}

int store_db_put(struct store_db *db, const struct iomt_recbatch *b, int64_t now_ms,
		 uint16_t *stored, uint16_t *duplicates)
{
	int r = put_meta(db, b, now_ms), added = 0;

	*stored = *duplicates = 0;
	for (uint16_t i = 0; !r && i < b->count; i++) {
		r = put_record(db, b->rec[i], b->len[i], now_ms, &added);
		if (!r && added)
			++*stored;
		else if (!r)
			++*duplicates;
	}
	return r;
}

static const char select_sql[] =
	"SELECT r.epoch, r.leaf, r.seq, r.recv_ms, r.record, m.meta"
	" FROM records r JOIN metas m ON m.key_id = r.key_id";
static const char select_order[] = " ORDER BY r.key_id, r.epoch, r.leaf, r.seq";

static int row_of(struct rt_stmt *s, struct store_row *row)
{
	const void *meta;
	size_t mlen;

	row->epoch = (uint32_t)rt_stmt_int(s, 0);
	row->leaf = (uint64_t)rt_stmt_int(s, 1);
	row->seq = (uint32_t)rt_stmt_int(s, 2);
	row->recv_ms = rt_stmt_int(s, 3);
	row->rec = rt_stmt_blob(s, 4, &row->len);
	meta = rt_stmt_blob(s, 5, &mlen);
	if (iomt_keytree_meta_decode(&row->meta, meta, mlen) || !row->rec) {
		rt_err("a stored meta_Kdata or record does not parse: the database is damaged");
		return -EIO;
	}
	return 0;
}

int store_db_select(struct store_db *db, const struct store_filter *f,
		    int (*fn)(void *arg, const struct store_row *row), void *arg)
{
	char sql[512];
	struct rt_stmt *s = NULL;
	struct store_row row;
	int r, idx = 1;

	snprintf(sql, sizeof(sql), "%s WHERE 1 = 1%s%s%s", select_sql,
		 f->key_id ? " AND r.key_id = ?" : "", f->sensor_id ? " AND m.sensor_id = ?" : "",
		 select_order);
	r = rt_stmt_prepare(db->st, sql, &s);
	if (!r && f->key_id)
		r = rt_stmt_bind_blob(s, idx++, f->key_id, IOMT_KEYTREE_ID_LEN);
	if (!r && f->sensor_id)
		r = rt_stmt_bind_blob(s, idx++, f->sensor_id, IOMT_KEYTREE_ID_LEN);
	while (!r && (r = rt_stmt_step(s)) == RT_STMT_ROW) {
		r = row_of(s, &row);
		if (!r)
			r = fn(arg, &row);
	}
	rt_stmt_free(s);
	return r == RT_STMT_DONE ? 0 : r;
}

int64_t store_db_count(struct store_db *db)
{
	struct rt_stmt *s = NULL;
	int64_t n = -1;

	if (!rt_stmt_prepare(db->st, "SELECT COUNT(*) FROM records", &s) &&
	    rt_stmt_step(s) == RT_STMT_ROW)
		n = rt_stmt_int(s, 0);
	rt_stmt_free(s);
	return n;
}
