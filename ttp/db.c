/* SPDX-License-Identifier: MIT */
/* The TTP database: schema, opening, and the parties table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ct.h"
#include "db.h"

/* Portable SQL (rt_store.h): "?" parameters, INTEGER/TEXT/BLOB, RETURNING.
 * An INTEGER PRIMARY KEY is SQLite's row id (a PostgreSQL backend maps it
 * to an identity column). */
static const char *const migrations[TTP_DB_SCHEMA] = {
	"CREATE TABLE users ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" role TEXT NOT NULL CHECK (role IN ('patient', 'doctor', 'mec')),"
	" attributes TEXT NOT NULL DEFAULT '',"
	" serial INTEGER NOT NULL,"
	" cert BLOB NOT NULL,"
	" not_after INTEGER NOT NULL,"
	" revoked INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL);"
	"CREATE TABLE analyses ("
	" id INTEGER PRIMARY KEY,"
	" id_a BLOB NOT NULL UNIQUE,"
	" patient_id INTEGER NOT NULL REFERENCES users (id),"
	" policy TEXT NOT NULL,"
	" created INTEGER NOT NULL);"
	"CREATE TABLE parties ("
	" id INTEGER PRIMARY KEY,"
	" kind INTEGER NOT NULL CHECK (kind IN (1, 2)),"
	" id_a BLOB REFERENCES analyses (id_a),"
	" mec_name TEXT,"
	" slot INTEGER,"
	" did_cur BLOB NOT NULL UNIQUE,"
	" dk_cur BLOB NOT NULL,"
	" did_prev BLOB UNIQUE,"
	" dk_prev BLOB,"
	" updated INTEGER NOT NULL,"
	" UNIQUE (mec_name, slot),"
	" CHECK ((kind = 1 AND id_a IS NOT NULL AND mec_name IS NULL)"
	"     OR (kind = 2 AND id_a IS NULL AND mec_name IS NOT NULL AND slot IS NOT NULL)));"
	"CREATE TABLE nonces ("
	" nonce BLOB PRIMARY KEY,"
	" user_id INTEGER NOT NULL REFERENCES users (id),"
	" expires INTEGER NOT NULL);"
	"CREATE INDEX nonces_expires ON nonces (expires);",
};

static const char party_cols[] =
	"SELECT id, kind, id_a, did_cur, dk_cur, did_prev, dk_prev FROM parties";

struct ttp_db {
	struct rt_store *st;
	struct rt_stmt *find, *update; /* the hot ones, prepared once */
};

int ttp_name_valid(const char *name, size_t max)
{
	size_t n = strlen(name);

	if (!n || n > max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '@' || c == '-'))
			return 0;
	}
	return 1;
}

static const struct rt_store_schema schema = {
	.version = TTP_DB_SCHEMA,
	.migrations = migrations,
	.init_cmd = "iomt-ttp admin init",
	.create_refuses_existing = 0,
};

int ttp_db_open(const char *path, int create, struct ttp_db **out, char *err, size_t errlen)
{
	struct ttp_db *db;
	int r;

	*out = NULL;
	db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	r = rt_store_open_schema(path, create, &schema, &db->st, err, errlen);
	if (!r)
		r = rt_stmt_prepare(db->st, "SELECT id, kind, id_a, did_cur, dk_cur, did_prev, dk_prev"
				    " FROM parties WHERE did_cur = ? OR did_prev = ?", &db->find);
	if (!r)
		r = rt_stmt_prepare(db->st, "UPDATE parties SET did_cur = ?, dk_cur = ?,"
				    " did_prev = ?, dk_prev = ?, updated = ? WHERE id = ?",
				    &db->update);
	if (r) {
		if (!err[0])
			snprintf(err, errlen, "%s: cannot prepare queries", path);
		ttp_db_close(db);
		return r;
	}
	*out = db;
	return 0;
}

void ttp_db_close(struct ttp_db *db)
{
	if (!db)
		return;
	rt_stmt_free(db->find);
	rt_stmt_free(db->update);
	rt_store_close(db->st);
	free(db);
}

struct rt_store *ttp_db_store(struct ttp_db *db)
{
	return db->st;
}

int ttp_db_begin(struct ttp_db *db)
{
	return rt_store_begin(db->st);
}

int ttp_db_commit(struct ttp_db *db)
{
	return rt_store_commit(db->st);
}

void ttp_db_rollback(struct ttp_db *db)
{
	rt_store_rollback(db->st);
}

/* Copies a blob column that must be exactly len bytes (0 if NULL and
 * nullable): 1 if present, 0 if NULL, -1 if the size is wrong. */
static int blob_exact(struct rt_stmt *s, int col, uint8_t *dst, size_t len)
{
	size_t n;
	const void *p = rt_stmt_blob(s, col, &n);

	if (!p)
		return 0;
	if (n != len)
		return -1;
	memcpy(dst, p, len);
	return 1;
}

/* The current row as a party; -EPROTO for a row this program never wrote. */
static int party_of_row(struct rt_stmt *s, struct ttp_party *p)
{
	int id_a, prev, dk_prev;

	memset(p, 0, sizeof(*p));
	p->db_id = rt_stmt_int(s, 0);
	p->kind = (uint8_t)rt_stmt_int(s, 1);
	id_a = blob_exact(s, 2, p->id_a, IOMT_S2_IDA_LEN);
	prev = blob_exact(s, 5, p->did_prev, IOMT_S2_ID_LEN);
	dk_prev = blob_exact(s, 6, p->dk_prev, IOMT_S2_KEY_LEN);
	p->has_prev = prev == 1;
	/* Every identity is a 16-byte DID with its 16-byte key, and only
	 * devices carry an ID_a. */
	if ((p->kind != TTP_PARTY_DEVICE && p->kind != TTP_PARTY_MEC) ||
	    blob_exact(s, 3, p->did_cur, IOMT_S2_ID_LEN) != 1 ||
	    blob_exact(s, 4, p->dk_cur, IOMT_S2_KEY_LEN) != 1 || prev < 0 || prev != dk_prev ||
	    id_a != (p->kind == TTP_PARTY_DEVICE))
		return -EPROTO;
	return 0;
}

int ttp_db_load_parties(struct ttp_db *db, int (*fn)(void *arg, const struct ttp_party *p),
			void *arg, char *err, size_t errlen)
{
	struct ttp_party p;
	struct rt_stmt *s;
	int r = rt_stmt_prepare(db->st, party_cols, &s);

	while (!r && (r = rt_stmt_step(s)) == RT_STMT_ROW) {
		r = party_of_row(s, &p);
		if (r)
			snprintf(err, errlen, "parties row %lld: a field has the wrong size",
				 (long long)p.db_id);
		if (!r)
			r = fn(arg, &p);
	}
	iomt_wipe(&p, sizeof(p));
	rt_stmt_free(s);
	return r == RT_STMT_DONE ? 0 : r;
}

int ttp_db_find_party(struct ttp_db *db, const uint8_t did[IOMT_S2_ID_LEN], struct ttp_party *p)
{
	int r = rt_stmt_bind_blob(db->find, 1, did, IOMT_S2_ID_LEN);

	if (!r)
		r = rt_stmt_bind_blob(db->find, 2, did, IOMT_S2_ID_LEN);
	if (!r)
		r = rt_stmt_step(db->find);
	if (r == RT_STMT_ROW)
		r = party_of_row(db->find, p);
	else if (r == RT_STMT_DONE)
		r = -ENOENT;
	rt_stmt_reset(db->find);
	return r;
}

int ttp_db_update_party(struct ttp_db *db, const struct ttp_party *p, int64_t now)
{
	struct rt_stmt *s = db->update;
	int r = rt_stmt_bind_blob(s, 1, p->did_cur, IOMT_S2_ID_LEN);

	if (!r)
		r = rt_stmt_bind_blob(s, 2, p->dk_cur, IOMT_S2_KEY_LEN);
	if (!r)
		r = p->has_prev ? rt_stmt_bind_blob(s, 3, p->did_prev, IOMT_S2_ID_LEN)
				: rt_stmt_bind_null(s, 3);
	if (!r)
		r = p->has_prev ? rt_stmt_bind_blob(s, 4, p->dk_prev, IOMT_S2_KEY_LEN)
				: rt_stmt_bind_null(s, 4);
	if (!r)
		r = rt_stmt_bind_int(s, 5, now);
	if (!r)
		r = rt_stmt_bind_int(s, 6, p->db_id);
	if (!r)
		r = rt_stmt_step(s);
	if (r == RT_STMT_DONE)
		r = rt_store_changes(db->st) == 1 ? 0 : -ENOENT;
	rt_stmt_reset(s);
	return r;
}

static int bind_insert(struct rt_stmt *s, const struct ttp_party *p, const char *mec_name,
		       int slot, int64_t now)
{
	int r = rt_stmt_bind_int(s, 1, p->kind);

	if (!r)
		r = mec_name ? rt_stmt_bind_null(s, 2) : rt_stmt_bind_blob(s, 2, p->id_a, 16);
	if (!r)
		r = mec_name ? rt_stmt_bind_text(s, 3, mec_name) : rt_stmt_bind_null(s, 3);
	if (!r)
		r = mec_name ? rt_stmt_bind_int(s, 4, slot) : rt_stmt_bind_null(s, 4);
	if (!r)
		r = rt_stmt_bind_blob(s, 5, p->did_cur, IOMT_S2_ID_LEN);
	if (!r)
		r = rt_stmt_bind_blob(s, 6, p->dk_cur, IOMT_S2_KEY_LEN);
	if (!r)
		r = rt_stmt_bind_int(s, 7, now);
	return r;
}

int ttp_db_insert_party(struct ttp_db *db, struct ttp_party *p, const char *mec_name, int slot,
			int64_t now)
{
	struct rt_stmt *s;
	int r = rt_stmt_prepare(db->st,
				"INSERT INTO parties (kind, id_a, mec_name, slot, did_cur, dk_cur,"
				" updated) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id", &s);

	if (!r)
		r = bind_insert(s, p, mec_name, slot, now);
	if (!r)
		r = rt_stmt_step(s);
	if (r == RT_STMT_ROW) {
		p->db_id = rt_stmt_int(s, 0);
		r = 0;
	} else if (r == RT_STMT_DONE) {
		r = -EIO;
	}
	rt_stmt_free(s);
	return r;
}

int64_t ttp_db_mec_slots(struct ttp_db *db, const char *name)
{
	struct rt_stmt *s;
	int64_t n;
	int r = rt_stmt_prepare(db->st, "SELECT count(*) FROM parties WHERE mec_name = ?", &s);

	if (!r)
		r = rt_stmt_bind_text(s, 1, name);
	if (!r)
		r = rt_stmt_step(s);
	n = r == RT_STMT_ROW ? rt_stmt_int(s, 0) : (r < 0 ? r : -EIO);
	rt_stmt_free(s);
	return n;
}
