/* SPDX-License-Identifier: MIT */
/*
 * Durable state (KDC registrations, TTP identity tables, PPD consent log,
 * stored records) behind a deliberately narrow interface: open, migrate,
 * transactions, and prepared statements with positional parameters. Only
 * SQLite is built today; the interface names no SQLite type so that a
 * PostgreSQL backend (several TTP/KDC front-ends sharing one cluster) can sit
 * behind it later. To keep that possible, callers write SQL both dialects
 * accept: "?" placeholders (a PostgreSQL backend rewrites them to $1..$n),
 * INTEGER/TEXT/BLOB columns, no SQLite-only pragmas or functions.
 *
 * Every SQLite database is opened with journal_mode=WAL (readers never block
 * the writer), synchronous=FULL (a commit is on disk before the reply that
 * depends on it is sent), foreign_keys=ON, secure_delete=ON (deleted key
 * material is overwritten, not left in free pages), a busy timeout of
 * RT_STORE_BUSY_MS and file mode 0600. One rt_store per thread.
 *
 * Errors are logged through rt_log with the database's own message and
 * returned as negative errno values: -EEXIST for a constraint violation
 * (duplicate registration, foreign key), -EBUSY when the lock could not be
 * had within the timeout, -ENOMEM, -EINVAL for bad SQL or arguments,
 * -EPROTO for a schema newer than this program, -EIO for anything else.
 */
#ifndef IOMT_RT_STORE_H
#define IOMT_RT_STORE_H

#include <stddef.h>
#include <stdint.h>

enum { RT_STORE_BUSY_MS = 5000 };

struct rt_store;
struct rt_stmt;

/* rt_stmt_step() results besides errors. */
enum rt_stmt_result {
	RT_STMT_DONE = 0,
	RT_STMT_ROW = 1,
};

int rt_store_open(const char *path, struct rt_store **out);
void rt_store_close(struct rt_store *st);
/* The last error message from the database, for the caller's own reports. */
const char *rt_store_errmsg(struct rt_store *st);

/*
 * Brings the schema to version n: migrations[i] (one or more statements)
 * takes it from version i to i + 1. All pending steps run in one
 * transaction, so a failure leaves the previous version intact; a database
 * already at n is left alone; one beyond n is -EPROTO (never downgrade).
 */
int rt_store_migrate(struct rt_store *st, const char *const *migrations, unsigned n);
/* Schema version, or a negative error. */
int rt_store_version(struct rt_store *st);

/* A component's database: its schema version, migrations and the command
 * that creates it. */
struct rt_store_schema {
	unsigned version;
	const char *const *migrations;  /* version entries (rt_store_migrate) */
	const char *init_cmd;           /* "iomt-kdc admin init", for the messages */
	int create_refuses_existing;    /* create on an initialised database: -EEXIST */
};

/*
 * Opens path and brings its schema to s->version, err saying why not
 * ("PATH: ..."): -ENOENT when the file is missing or not initialised and
 * create is 0, -EEXIST (see above), -EPROTO for a newer schema, -EIO when
 * a migration fails, or rt_store_open's error. 0 and *out, or -errno.
 */
int rt_store_open_schema(const char *path, int create, const struct rt_store_schema *s,
			 struct rt_store **out, char *err, size_t errlen);

/* BEGIN IMMEDIATE: the write lock is taken now, not at the first write. */
int rt_store_begin(struct rt_store *st);
int rt_store_commit(struct rt_store *st);
int rt_store_rollback(struct rt_store *st);

/* Statements without parameters or results (DDL, simple updates). */
int rt_store_exec(struct rt_store *st, const char *sql);

int rt_stmt_prepare(struct rt_store *st, const char *sql, struct rt_stmt **out);
/* Parameters are numbered from 1; values are copied. */
int rt_stmt_bind_int(struct rt_stmt *s, int idx, int64_t v);
int rt_stmt_bind_text(struct rt_stmt *s, int idx, const char *v);
int rt_stmt_bind_blob(struct rt_stmt *s, int idx, const void *v, size_t len);
int rt_stmt_bind_null(struct rt_stmt *s, int idx);
/* A parameter of rt_stmt_bind_all / rt_store_run: RT_PARAM_INT(v),
 * RT_PARAM_TEXT(s), RT_PARAM_BLOB(p, len). */
struct rt_param {
	enum { RT_PARAM_I64, RT_PARAM_STR, RT_PARAM_BYTES } type;
	int64_t i;
	const void *p;
	size_t len;
};
#define RT_PARAM_INT(v) ((struct rt_param){ .type = RT_PARAM_I64, .i = (v) })
#define RT_PARAM_TEXT(v) ((struct rt_param){ .type = RT_PARAM_STR, .p = (v) })
#define RT_PARAM_BLOB(v, n) ((struct rt_param){ .type = RT_PARAM_BYTES, .p = (v), .len = (n) })
/* Binds parameters 1..n: 0 or the first error. */
int rt_stmt_bind_all(struct rt_stmt *s, const struct rt_param *params, size_t n);
/* RT_STMT_ROW, RT_STMT_DONE or a negative error. */
int rt_stmt_step(struct rt_stmt *s);
/* Columns of the current row, numbered from 0; pointers last until the next
 * step, reset or free. A NULL column reads as 0, "" or (NULL, 0). */
int64_t rt_stmt_int(struct rt_stmt *s, int col);
const char *rt_stmt_text(struct rt_stmt *s, int col);
const void *rt_stmt_blob(struct rt_stmt *s, int col, size_t *len);
/* Ready to bind and step again; bindings are cleared. */
int rt_stmt_reset(struct rt_stmt *s);
void rt_stmt_free(struct rt_stmt *s);

/* A one-shot statement without results: prepared, bound, run to its end and
 * freed: 0 or a negative error (-EIO if it returns a row). */
int rt_store_run(struct rt_store *st, const char *sql, const struct rt_param *params, size_t n);

/* Rows changed by the last INSERT/UPDATE/DELETE on this store. */
int64_t rt_store_changes(struct rt_store *st);

#endif
