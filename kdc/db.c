/* SPDX-License-Identifier: MIT */
/* The KDC database: schema, opening, and every query. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"

/* Portable SQL (rt_store.h): "?" parameters, INTEGER/TEXT/BLOB. */
static const char *const migrations[KDC_DB_SCHEMA] = {
	"CREATE TABLE principals ("
	" name TEXT PRIMARY KEY,"
	" patient TEXT NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind IN ('sensor', 'gateway', 'ppd', 'cloud')),"
	" salt BLOB NOT NULL,"
	" kvno INTEGER NOT NULL CHECK (kvno >= 1),"
	" status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),"
	" created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL,"
	" key_ms INTEGER NOT NULL,"
	" CHECK ((kind = 'cloud') = (patient = '')));"
	"CREATE TABLE meta ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" tgs_salt BLOB NOT NULL,"
	" tgs_kvno INTEGER NOT NULL,"
	" tgs_key_ms INTEGER NOT NULL,"
	" master_check BLOB NOT NULL);",
};

static const char *const kinds[] = {
	[IOMT_KDC_KIND_SENSOR] = "sensor",
	[IOMT_KDC_KIND_GATEWAY] = "gateway",
	[IOMT_KDC_KIND_PPD] = "ppd",
	[IOMT_KDC_KIND_CLOUD] = "cloud",
};

struct kdc_db {
	struct rt_store *st;
	struct rt_stmt *version;
};

const char *kdc_kind_name(uint8_t kind)
{
	return kind >= IOMT_KDC_KIND_SENSOR && kind <= IOMT_KDC_KIND_CLOUD ? kinds[kind] : "?";
}

uint8_t kdc_kind_parse(const char *text)
{
	for (uint8_t k = IOMT_KDC_KIND_SENSOR; k <= IOMT_KDC_KIND_CLOUD; k++)
		if (text && !strcmp(text, kinds[k]))
			return k;
	return 0;
}

void kdc_name_text(const uint8_t name[IOMT_KDC_NAME_LEN], char out[KDC_NAME_TEXT])
{
	size_t n = strnlen((const char *)name, IOMT_KDC_NAME_LEN);

	memcpy(out, name, n);
	out[n] = '\0';
}

static const struct rt_store_schema schema = {
	.version = KDC_DB_SCHEMA,
	.migrations = migrations,
	.init_cmd = "iomt-kdc admin init",
	.create_refuses_existing = 1,
};

int kdc_db_open(const char *path, int create, struct kdc_db **out, char *err, size_t errlen)
{
	struct kdc_db *db;
	int r;

	*out = NULL;
	db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	r = rt_store_open_schema(path, create, &schema, &db->st, err, errlen);
	/* SQLite's own change counter; a PostgreSQL backend would LISTEN instead. */
	if (!r && rt_stmt_prepare(db->st, "PRAGMA data_version", &db->version)) {
		snprintf(err, errlen, "%s: cannot prepare queries", path);
		r = -EIO;
	}
	if (r) {
		kdc_db_close(db);
		return r;
	}
	*out = db;
	return 0;
}

void kdc_db_close(struct kdc_db *db)
{
	if (!db)
		return;
	rt_stmt_free(db->version);
	rt_store_close(db->st);
	free(db);
}

struct rt_store *kdc_db_store(struct kdc_db *db)
{
	return db->st;
}

int kdc_db_data_version(struct kdc_db *db, int64_t *v)
{
	int r = rt_stmt_step(db->version);

	if (r == RT_STMT_ROW) {
		*v = rt_stmt_int(db->version, 0);
		r = 0;
	} else if (r == RT_STMT_DONE) {
		r = -EIO;
	}
	rt_stmt_reset(db->version);
	return r;
}

int kdc_db_init_meta(struct kdc_db *db, const struct kdc_meta *m)
{
	const struct rt_param v[] = {
		RT_PARAM_BLOB(m->tgs_salt, IOMT_KDC_SALT_LEN), RT_PARAM_INT(m->tgs_kvno),
		RT_PARAM_INT(m->tgs_key_ms), RT_PARAM_BLOB(m->master_check, KDC_CHECK_LEN),
	};

	return rt_store_run(db->st, "INSERT INTO meta (id, tgs_salt, tgs_kvno, tgs_key_ms,"
			    " master_check) VALUES (1, ?, ?, ?, ?)", v,
			    sizeof(v) / sizeof(v[0]));
}

static int blob_into(struct rt_stmt *s, int col, uint8_t *out, size_t len)
{
	size_t n = 0;
	const void *p = rt_stmt_blob(s, col, &n);

	if (!p || n != len)
		return -EPROTO;
	memcpy(out, p, len);
	return 0;
}

int kdc_db_meta(struct kdc_db *db, struct kdc_meta *m)
{
	struct rt_stmt *s;
	int r = rt_stmt_prepare(db->st, "SELECT tgs_salt, tgs_kvno, tgs_key_ms, master_check"
				" FROM meta WHERE id = 1", &s);

	if (r)
		return r;
	r = rt_stmt_step(s);
	if (r == RT_STMT_ROW) {
		r = blob_into(s, 0, m->tgs_salt, IOMT_KDC_SALT_LEN);
		m->tgs_kvno = (uint32_t)rt_stmt_int(s, 1);
		m->tgs_key_ms = rt_stmt_int(s, 2);
		if (!r)
			r = blob_into(s, 3, m->master_check, KDC_CHECK_LEN);
	} else if (r == RT_STMT_DONE) {
		r = -ENOENT;
	}
	rt_stmt_free(s);
	return r;
}

int kdc_db_rotate_tgs(struct kdc_db *db, const struct kdc_meta *m)
{
	const struct rt_param v[] = {
		RT_PARAM_BLOB(m->tgs_salt, IOMT_KDC_SALT_LEN), RT_PARAM_INT(m->tgs_kvno),
		RT_PARAM_INT(m->tgs_key_ms),
	};
	int r = rt_store_run(db->st, "UPDATE meta SET tgs_salt = ?, tgs_kvno = ?,"
			     " tgs_key_ms = ? WHERE id = 1", v,
			     sizeof(v) / sizeof(v[0]));

	if (!r && rt_store_changes(db->st) != 1)
		r = -ENOENT;
	return r;
}

static const char cols[] = "SELECT name, patient, kind, salt, kvno, status, created, updated,"
			   " key_ms FROM principals";

static int text_name(const char *text, uint8_t out[IOMT_KDC_NAME_LEN], int may_be_empty)
{
	if (may_be_empty && !text[0]) {
		memset(out, 0, IOMT_KDC_NAME_LEN);
		return 0;
	}
	return iomt_kdc_name_from_text(out, text) ? -EPROTO : 0;
}

static int row(struct rt_stmt *s, struct kdc_principal *p)
{
	const char *status = rt_stmt_text(s, 5);
	int64_t kvno = rt_stmt_int(s, 4);
	int r;

	memset(p, 0, sizeof(*p));
	r = text_name(rt_stmt_text(s, 0), p->name, 0);
	if (!r)
		r = text_name(rt_stmt_text(s, 1), p->patient, 1);
	if (!r)
		r = blob_into(s, 3, p->salt, IOMT_KDC_SALT_LEN);
	p->kind = kdc_kind_parse(rt_stmt_text(s, 2));
	p->kvno = (uint32_t)kvno;
	p->revoked = !strcmp(status, "revoked");
	p->created = rt_stmt_int(s, 6);
	p->updated = rt_stmt_int(s, 7);
	p->key_ms = rt_stmt_int(s, 8);
	if (!r && (!p->kind || kvno < 1 || kvno > UINT32_MAX ||
		   (!p->revoked && strcmp(status, "active"))))
		r = -EPROTO;
	return r;
}

int kdc_db_load(struct kdc_db *db, int (*fn)(void *arg, const struct kdc_principal *p),
		void *arg)
{
	char sql[sizeof(cols) + 32];
	struct kdc_principal p;
	struct rt_stmt *s;
	int r;

	snprintf(sql, sizeof(sql), "%s ORDER BY name", cols);
	r = rt_stmt_prepare(db->st, sql, &s);

	/* One statement is one read transaction: a consistent snapshot. */
	while (!r && (r = rt_stmt_step(s)) == RT_STMT_ROW) {
		r = row(s, &p);
		if (!r)
			r = fn(arg, &p);
	}
	if (r == RT_STMT_DONE)
		r = 0;
	rt_stmt_free(s);
	return r;
}

int kdc_db_find(struct kdc_db *db, const uint8_t name[IOMT_KDC_NAME_LEN],
		struct kdc_principal *p)
{
	char sql[sizeof(cols) + 32], text[KDC_NAME_TEXT];
	struct rt_stmt *s;
	int r;

	snprintf(sql, sizeof(sql), "%s WHERE name = ?", cols);
	kdc_name_text(name, text);
	r = rt_stmt_prepare(db->st, sql, &s);
	if (!r)
		r = rt_stmt_bind_text(s, 1, text);
	if (!r)
		r = rt_stmt_step(s);
	if (r == RT_STMT_ROW)
		r = row(s, p);
	else if (r == RT_STMT_DONE)
		r = -ENOENT;
	rt_stmt_free(s);
	return r;
}

int kdc_db_insert(struct kdc_db *db, const struct kdc_principal *p)
{
	char name[KDC_NAME_TEXT], patient[KDC_NAME_TEXT];
	const struct rt_param v[] = {
		RT_PARAM_TEXT(name), RT_PARAM_TEXT(patient), RT_PARAM_TEXT(kdc_kind_name(p->kind)),
		RT_PARAM_BLOB(p->salt, IOMT_KDC_SALT_LEN), RT_PARAM_INT(p->kvno),
		RT_PARAM_INT(p->created), RT_PARAM_INT(p->updated), RT_PARAM_INT(p->key_ms),
	};

	kdc_name_text(p->name, name);
	kdc_name_text(p->patient, patient);
	return rt_store_run(db->st, "INSERT INTO principals (name, patient, kind, salt, kvno,"
			    " status, created, updated, key_ms)"
			    " VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?)", v,
			    sizeof(v) / sizeof(v[0]));
}

/* An UPDATE of one active principal by name: -ENOENT / -EALREADY when no
 * row changed, telling which from a look-up. */
static int changed_one(struct kdc_db *db, const uint8_t name[IOMT_KDC_NAME_LEN], int r)
{
	struct kdc_principal p;

	if (r || rt_store_changes(db->st) == 1)
		return r;
	r = kdc_db_find(db, name, &p);
	return r ? r : -EALREADY;
}

int kdc_db_rotate(struct kdc_db *db, const struct kdc_principal *p)
{
	char name[KDC_NAME_TEXT];
	const struct rt_param v[] = {
		RT_PARAM_BLOB(p->salt, IOMT_KDC_SALT_LEN), RT_PARAM_INT(p->kvno),
		RT_PARAM_INT(p->updated), RT_PARAM_INT(p->key_ms), RT_PARAM_TEXT(name),
	};

	kdc_name_text(p->name, name);
	return changed_one(db, p->name,
			   rt_store_run(db->st, "UPDATE principals SET salt = ?, kvno = ?,"
					" updated = ?, key_ms = ? WHERE name = ?"
					" AND status = 'active'", v,
					sizeof(v) / sizeof(v[0])));
}

int kdc_db_revoke(struct kdc_db *db, const uint8_t name[IOMT_KDC_NAME_LEN], int64_t now)
{
	char text[KDC_NAME_TEXT];
	const struct rt_param v[] = { RT_PARAM_INT(now), RT_PARAM_TEXT(text) };

	kdc_name_text(name, text);
	return changed_one(db, name,
			   rt_store_run(db->st, "UPDATE principals SET status = 'revoked',"
					" updated = ? WHERE name = ? AND status = 'active'",
					v, sizeof(v) / sizeof(v[0])));
}
