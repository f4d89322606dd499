/* SPDX-License-Identifier: MIT */
/* SQLite behind the rt_store interface (see rt_store.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt_log.h"
#include "rt_store.h"

struct rt_store {
	sqlite3 *db;
	char *path;
};

struct rt_stmt {
	sqlite3_stmt *stmt;
	struct rt_store *st;
};

static int errno_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
		return 0;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_ERROR:
	case SQLITE_RANGE:
	case SQLITE_MISUSE:
	case SQLITE_TOOBIG:
		return -EINVAL;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	default:
		return -EIO;
	}
}

/* Logs what failed with the database's own words; returns the errno value. */
static int fail(struct rt_store *st, int rc, const char *what)
{
	rt_err("%s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
	return errno_of(rc);
}

int rt_store_exec(struct rt_store *st, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		rt_err("%s: %s: %s", st->path, sql, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return errno_of(rc);
	}
	return 0;
}

/* First column of the one-row result of sql, as text into buf. */
static int query_text(struct rt_store *st, const char *sql, char *buf, size_t len)
{
	struct rt_stmt *s;
	int r = rt_stmt_prepare(st, sql, &s);

	if (r)
		return r;
	r = rt_stmt_step(s);
	if (r == RT_STMT_ROW) {
		snprintf(buf, len, "%s", rt_stmt_text(s, 0));
		r = 0;
	} else if (r == RT_STMT_DONE) {
		r = -EIO;
	}
	rt_stmt_free(s);
	return r;
}

/* Settings the durability promises of rt_store.h rest on, each read back:
 * SQLite ignores some pragmas silently (WAL on :memory:, foreign keys inside
 * a transaction), and a silent downgrade is what this must not allow. */
static int set_pragmas(struct rt_store *st)
{
	static const char *const checks[][2] = {
		{ "PRAGMA synchronous=FULL", "PRAGMA synchronous" },
		{ "PRAGMA foreign_keys=ON", "PRAGMA foreign_keys" },
		{ "PRAGMA secure_delete=ON", "PRAGMA secure_delete" },
	};
	char val[32];
	size_t i;
	int r = query_text(st, "PRAGMA journal_mode=WAL", val, sizeof(val));

	if (!r && strcmp(val, "wal")) {
		rt_err("%s: cannot use WAL (journal mode stays '%s')", st->path, val);
		return -EIO;
	}
	for (i = 0; !r && i < sizeof(checks) / sizeof(checks[0]); i++) {
		r = rt_store_exec(st, checks[i][0]);
		if (!r)
			r = query_text(st, checks[i][1], val, sizeof(val));
		/* FULL reads back as 2, ON as 1. */
		if (!r && strcmp(val, i == 0 ? "2" : "1")) {
			rt_err("%s: '%s' did not take effect", st->path, checks[i][0]);
			r = -EIO;
		}
	}
	return r;
}

/* Creating the file ourselves is the only way to get 0600 from the start;
 * SQLite gives its -wal and -shm files the same mode. */
static int create_private(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);

	if (fd < 0) {
		rt_err("%s: %s", path, strerror(errno));
		return -errno;
	}
	close(fd);
	return 0;
}

int rt_store_open(const char *path, struct rt_store **out)
{
	struct rt_store *st = calloc(1, sizeof(*st));
	int r, rc;

	*out = NULL;
	if (!st || !(st->path = strdup(path))) {
		free(st);
		return -ENOMEM;
	}
	r = create_private(path);
	if (r)
		goto fail;
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK) {
		r = st->db ? fail(st, rc, "open") : -ENOMEM;
		goto fail;
	}
	/* No writes to sqlite_schema and friends, whatever SQL gets through. */
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_busy_timeout(st->db, RT_STORE_BUSY_MS);
	r = set_pragmas(st);
	if (r)
		goto fail;
	*out = st;
	return 0;
fail:
	rt_store_close(st);
	return r;
}

void rt_store_close(struct rt_store *st)
{
	if (!st)
		return;
	/* v2 defers the close until statements are freed, instead of failing. */
	sqlite3_close_v2(st->db);
	free(st->path);
	free(st);
}

const char *rt_store_errmsg(struct rt_store *st)
{
	return sqlite3_errmsg(st->db);
}

int rt_store_begin(struct rt_store *st)
{
	return rt_store_exec(st, "BEGIN IMMEDIATE");
}

/* A failed COMMIT may leave the transaction open; close it, so that failure
 * always means "nothing was stored". */
int rt_store_commit(struct rt_store *st)
{
	int r = rt_store_exec(st, "COMMIT");

	if (r && !sqlite3_get_autocommit(st->db))
		rt_store_rollback(st);
	return r;
}

/* Safe on error paths: without an open transaction it does nothing. */
int rt_store_rollback(struct rt_store *st)
{
	if (sqlite3_get_autocommit(st->db))
		return 0;
	return rt_store_exec(st, "ROLLBACK");
}

int rt_store_version(struct rt_store *st)
{
	char val[32];
	int r = query_text(st, "PRAGMA user_version", val, sizeof(val));

	return r ? r : atoi(val);
}

/* Runs migrations[from..n) and records n; inside the caller's transaction. */
static int migrate_steps(struct rt_store *st, const char *const *migrations, int from,
			 unsigned n)
{
	char sql[48];
	unsigned i;
	int r;

	for (i = (unsigned)from; i < n; i++) {
		r = rt_store_exec(st, migrations[i]);
		if (r) {
			rt_err("%s: schema migration %u -> %u failed", st->path, i, i + 1);
			return r;
		}
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%u", n);
	return rt_store_exec(st, sql);
}

int rt_store_migrate(struct rt_store *st, const char *const *migrations, unsigned n)
{
	int v, r = rt_store_begin(st);

	if (r)
		return r;
	/* Read inside the write lock, so two processes cannot both migrate. */
	v = rt_store_version(st);
	if (v >= 0 && (unsigned)v > n) {
		rt_err("%s: schema version %d is newer than this program's %u", st->path, v, n);
		v = -EPROTO;
	}
	if (v < 0 || (unsigned)v == n) {
		rt_store_rollback(st);
		return v < 0 ? v : 0;
	}
	r = migrate_steps(st, migrations, v, n);
	if (!r)
		r = rt_store_commit(st);
	else
		rt_store_rollback(st);
	if (!r)
		rt_info("%s: schema version %d -> %u", st->path, v, n);
	return r;
}

int64_t rt_store_changes(struct rt_store *st)
{
	return sqlite3_changes64(st->db);
}

int rt_stmt_prepare(struct rt_store *st, const char *sql, struct rt_stmt **out)
{
	struct rt_stmt *s = calloc(1, sizeof(*s));
	const char *tail = NULL;
	int rc;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->st = st;
	rc = sqlite3_prepare_v2(st->db, sql, -1, &s->stmt, &tail);
	if (rc != SQLITE_OK) {
		free(s);
		return fail(st, rc, sql);
	}
	/* A second statement would be silently ignored: refuse it instead. */
	while (tail && (*tail == ' ' || *tail == '\t' || *tail == '\n' || *tail == ';'))
		tail++;
	if (!s->stmt || (tail && *tail)) {
		rt_err("%s: expected exactly one SQL statement: %s", st->path, sql);
		rt_stmt_free(s);
		return -EINVAL;
	}
	*out = s;
	return 0;
}

static int bound(struct rt_stmt *s, int rc)
{
	return rc == SQLITE_OK ? 0 : fail(s->st, rc, "bind");
}

int rt_stmt_bind_int(struct rt_stmt *s, int idx, int64_t v)
{
	return bound(s, sqlite3_bind_int64(s->stmt, idx, v));
}

int rt_stmt_bind_text(struct rt_stmt *s, int idx, const char *v)
{
	return bound(s, sqlite3_bind_text(s->stmt, idx, v, -1, SQLITE_TRANSIENT));
}

int rt_stmt_bind_blob(struct rt_stmt *s, int idx, const void *v, size_t len)
{
	/* An empty blob is a value, not NULL. */
	if (!len)
		return bound(s, sqlite3_bind_zeroblob(s->stmt, idx, 0));
	return bound(s, sqlite3_bind_blob64(s->stmt, idx, v, len, SQLITE_TRANSIENT));
}

int rt_stmt_bind_null(struct rt_stmt *s, int idx)
{
	return bound(s, sqlite3_bind_null(s->stmt, idx));
}

int rt_stmt_bind_all(struct rt_stmt *s, const struct rt_param *params, size_t n)
{
	int r = 0;

	for (size_t i = 0; !r && i < n; i++) {
		const struct rt_param *v = &params[i];
		int idx = (int)i + 1;

		if (v->type == RT_PARAM_I64)
			r = rt_stmt_bind_int(s, idx, v->i);
		else if (v->type == RT_PARAM_STR)
			r = rt_stmt_bind_text(s, idx, v->p);
		else
			r = rt_stmt_bind_blob(s, idx, v->p, v->len);
	}
	return r;
}

int rt_store_run(struct rt_store *st, const char *sql, const struct rt_param *params, size_t n)
{
	struct rt_stmt *s;
	int r = rt_stmt_prepare(st, sql, &s);

	if (r)
		return r;
	r = rt_stmt_bind_all(s, params, n);
	if (!r) {
		r = rt_stmt_step(s);
		r = r == RT_STMT_DONE ? 0 : r == RT_STMT_ROW ? -EIO : r;
	}
	rt_stmt_free(s);
	return r;
}

int rt_stmt_step(struct rt_stmt *s)
{
	int rc = sqlite3_step(s->stmt);

	if (rc == SQLITE_ROW)
		return RT_STMT_ROW;
	if (rc == SQLITE_DONE)
		return RT_STMT_DONE;
	return fail(s->st, rc, sqlite3_sql(s->stmt));
}

int64_t rt_stmt_int(struct rt_stmt *s, int col)
{
	return sqlite3_column_int64(s->stmt, col);
}

const char *rt_stmt_text(struct rt_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s->stmt, col);

	return t ? (const char *)t : "";
}

const void *rt_stmt_blob(struct rt_stmt *s, int col, size_t *len)
{
	const void *p = sqlite3_column_blob(s->stmt, col);

	/* Length after the pointer: SQLite's documented order. */
	*len = p ? (size_t)sqlite3_column_bytes(s->stmt, col) : 0;
	return p;
}

int rt_stmt_reset(struct rt_stmt *s)
{
	/* The last step's error, if any, was already reported by rt_stmt_step. */
	sqlite3_reset(s->stmt);
	sqlite3_clear_bindings(s->stmt);
	return 0;
}

void rt_stmt_free(struct rt_stmt *s)
{
	if (!s)
		return;
	sqlite3_finalize(s->stmt);
	free(s);
}

/* ---- a component's database: opened with its schema checked ---- */

static int check_schema(struct rt_store *st, const char *path, int create,
			const struct rt_store_schema *s, char *err, size_t errlen)
{
	int v = rt_store_version(st);

	if (v < 0) {
		snprintf(err, errlen, "%s: cannot read the schema version", path);
		return v;
	}
	if (v == 0 && !create) {
		snprintf(err, errlen, "%s: not initialised (run '%s')", path, s->init_cmd);
		return -ENOENT;
	}
	if (v > 0 && create && s->create_refuses_existing) {
		snprintf(err, errlen, "%s: already initialised: refusing to overwrite it", path);
		return -EEXIST;
	}
	if ((unsigned)v > s->version) {
		snprintf(err, errlen, "%s: schema version %d is newer than this program's %u",
			 path, v, s->version);
		return -EPROTO;
	}
	if ((unsigned)v < s->version && rt_store_migrate(st, s->migrations, s->version)) {
		snprintf(err, errlen, "%s: schema migration failed", path);
		return -EIO;
	}
	return 0;
}

int rt_store_open_schema(const char *path, int create, const struct rt_store_schema *s,
			 struct rt_store **out, char *err, size_t errlen)
{
	int r;

	*out = NULL;
	if (!create && access(path, F_OK) != 0) {
		snprintf(err, errlen, "%s: database missing (create it with '%s')", path,
			 s->init_cmd);
		return -ENOENT;
	}
	r = rt_store_open(path, out);
	if (r) {
		snprintf(err, errlen, "%s: cannot open the database: %s", path, strerror(-r));
		return r;
	}
	r = check_schema(*out, path, create, s, err, errlen);
	if (r) {
		rt_store_close(*out);
		*out = NULL;
	}
	return r;
}
