/* SPDX-License-Identifier: MIT */
/* rt_store: durability settings, migrations, transactions, statements. */
#include <errno.h>

#include "harness.h"
#include "lib/rt_log.h"
#include "lib/rt_store.h"
#include "rt_test.h"

static const char *const schema[] = {
	/* 0 -> 1 */
	"CREATE TABLE patient (id TEXT PRIMARY KEY);"
	"CREATE TABLE device (id INTEGER PRIMARY KEY, patient TEXT NOT NULL"
	" REFERENCES patient(id), salt BLOB NOT NULL);",
	/* 1 -> 2 */
	"CREATE INDEX device_patient ON device(patient);",
	/* 2 -> 3 */
	"ALTER TABLE device ADD COLUMN note TEXT;",
};

FIXTURE(store) {
	char dir[64];
	char path[128];
	char log[128];
	char buf[8192];
	struct rt_store *st;
};

FIXTURE_SETUP(store)
{
	ASSERT_EQ(rt_test_mkdtemp(self->dir, sizeof(self->dir), "store"), 0);
	snprintf(self->path, sizeof(self->path), "%s/kdc.db", self->dir);
	snprintf(self->log, sizeof(self->log), "%s/kdc.log", self->dir);
	ASSERT_EQ(rt_log_set_file(self->log), 0);
	ASSERT_EQ(rt_store_open(self->path, &self->st), 0);
}

FIXTURE_TEARDOWN(store)
{
	rt_store_close(self->st);
	rt_log_set_file(NULL);
	rt_test_rmtree(self->dir);
}

static void reopen(FIXTURE_DATA(store) *self)
{
	rt_store_close(self->st);
	self->st = NULL;
	ASSERT_EQ(rt_store_open(self->path, &self->st), 0);
}

/* One-row, one-column query as text. */
static const char *ask(struct rt_store *st, const char *sql)
{
	static char out[256];
	struct rt_stmt *s;

	ASSERT_EQ(rt_stmt_prepare(st, sql, &s), 0);
	ASSERT_EQ(rt_stmt_step(s), RT_STMT_ROW);
	snprintf(out, sizeof(out), "%s", rt_stmt_text(s, 0));
	rt_stmt_free(s);
	return out;
}

static int log_has(FIXTURE_DATA(store) *self, const char *what)
{
	rt_test_read(self->log, self->buf, sizeof(self->buf));
	return strstr(self->buf, what) != NULL;
}

/* Inserts a patient and a device in one statement each. */
static int add_device(struct rt_store *st, int64_t id, const char *patient)
{
	struct rt_stmt *s;
	int r;

	ASSERT_EQ(rt_stmt_prepare(st, "INSERT OR IGNORE INTO patient VALUES (?)", &s), 0);
	ASSERT_EQ(rt_stmt_bind_text(s, 1, patient), 0);
	ASSERT_EQ(rt_stmt_step(s), RT_STMT_DONE);
	rt_stmt_free(s);
	ASSERT_EQ(rt_stmt_prepare(st, "INSERT INTO device (id, patient, salt) VALUES (?, ?, ?)",
				  &s), 0);
	rt_stmt_bind_int(s, 1, id);
	rt_stmt_bind_text(s, 2, patient);
	rt_stmt_bind_blob(s, 3, "\x00\x01\x02", 3);
	r = rt_stmt_step(s);
	rt_stmt_free(s);
	return r;
}

TEST_F(store, durability_settings_are_in_force)
{
	struct stat st;
	char wal[160];

	ASSERT_STREQ(ask(self->st, "PRAGMA journal_mode"), "wal");
	ASSERT_STREQ(ask(self->st, "PRAGMA synchronous"), "2");	/* FULL */
	ASSERT_STREQ(ask(self->st, "PRAGMA foreign_keys"), "1");
	ASSERT_STREQ(ask(self->st, "PRAGMA secure_delete"), "1");
	ASSERT_EQ(atoi(ask(self->st, "PRAGMA busy_timeout")), RT_STORE_BUSY_MS);
	ASSERT_EQ(rt_store_migrate(self->st, schema, 1), 0);
	ASSERT_EQ(stat(self->path, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);
	snprintf(wal, sizeof(wal), "%s-wal", self->path);
	ASSERT_EQ(stat(wal, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);
	reopen(self);
	ASSERT_STREQ(ask(self->st, "PRAGMA journal_mode"), "wal");
	ASSERT_STREQ(ask(self->st, "PRAGMA synchronous"), "2");
}

TEST_F(store, migrations_apply_once)
{
	ASSERT_EQ(rt_store_version(self->st), 0);
	ASSERT_EQ(rt_store_migrate(self->st, schema, 2), 0);
	ASSERT_EQ(rt_store_version(self->st), 2);
	ASSERT_EQ(add_device(self->st, 17, "p-42"), RT_STMT_DONE);
	/* Running them again would fail on CREATE TABLE: they must not run. */
	ASSERT_EQ(rt_store_migrate(self->st, schema, 2), 0);
	reopen(self);
	ASSERT_EQ(rt_store_migrate(self->st, schema, 2), 0);
	ASSERT_EQ(rt_store_version(self->st), 2);
	ASSERT_STREQ(ask(self->st, "SELECT count(*) FROM device"), "1");
	/* A newer program adds only its new step. */
	ASSERT_EQ(rt_store_migrate(self->st, schema, 3), 0);
	ASSERT_EQ(rt_store_version(self->st), 3);
	ASSERT_STREQ(ask(self->st, "SELECT count(note) + count(*) FROM device"), "1");
	ASSERT_TRUE(log_has(self, "schema version 0 -> 2"));
	ASSERT_TRUE(log_has(self, "schema version 2 -> 3"));
}

TEST_F(store, failed_migration_changes_nothing)
{
	static const char *const broken[] = { schema[0], "CREATE TABLE oops (;" };

	ASSERT_EQ(rt_store_migrate(self->st, broken, 2), -EINVAL);
	ASSERT_EQ(rt_store_version(self->st), 0);
	/* Step 1 ran in the same transaction: it is gone too. */
	ASSERT_STREQ(ask(self->st, "SELECT count(*) FROM sqlite_master"), "0");
	ASSERT_TRUE(log_has(self, "schema migration 1 -> 2 failed"));
	ASSERT_TRUE(log_has(self, "syntax error"));
}

TEST_F(store, newer_schema_is_refused)
{
	ASSERT_EQ(rt_store_migrate(self->st, schema, 3), 0);
	ASSERT_EQ(rt_store_migrate(self->st, schema, 2), -EPROTO);
	ASSERT_EQ(rt_store_version(self->st), 3);
	ASSERT_TRUE(log_has(self, "schema version 3 is newer than this program's 2"));
}

TEST_F(store, rollback_leaves_nothing)
{
	ASSERT_EQ(rt_store_migrate(self->st, schema, 3), 0);
	ASSERT_EQ(rt_store_begin(self->st), 0);
	ASSERT_EQ(add_device(self->st, 1, "p-1"), RT_STMT_DONE);
	ASSERT_EQ(add_device(self->st, 2, "p-1"), RT_STMT_DONE);
	ASSERT_STREQ(ask(self->st, "SELECT count(*) FROM device"), "2");
	ASSERT_EQ(rt_store_rollback(self->st), 0);
	ASSERT_STREQ(ask(self->st, "SELECT count(*) FROM device"), "0");
	ASSERT_STREQ(ask(self->st, "SELECT count(*) FROM patient"), "0");
	reopen(self);
	ASSERT_STREQ(ask(self->st, "SELECT count(*) FROM device"), "0");
	/* Harmless on an error path that never began. */
	ASSERT_EQ(rt_store_rollback(self->st), 0);
}

TEST_F(store, commit_persists)
{
	ASSERT_EQ(rt_store_migrate(self->st, schema, 3), 0);
	ASSERT_EQ(rt_store_begin(self->st), 0);
	ASSERT_EQ(add_device(self->st, 1, "p-1"), RT_STMT_DONE);
	ASSERT_EQ(rt_store_commit(self->st), 0);
	reopen(self);
	ASSERT_STREQ(ask(self->st, "SELECT patient FROM device WHERE id = 1"), "p-1");
}

TEST_F(store, constraint_violations_are_eexist)
{
	struct rt_stmt *s;

	ASSERT_EQ(rt_store_migrate(self->st, schema, 3), 0);
	ASSERT_EQ(add_device(self->st, 1, "p-1"), RT_STMT_DONE);
	ASSERT_EQ(add_device(self->st, 1, "p-1"), -EEXIST);
	ASSERT_TRUE(log_has(self, "UNIQUE constraint failed: device.id"));
	/* Foreign keys are enforced. */
	ASSERT_EQ(rt_stmt_prepare(self->st, "INSERT INTO device VALUES (5, 'nobody', x'00', NULL)",
				  &s), 0);
	ASSERT_EQ(rt_stmt_step(s), -EEXIST);
	rt_stmt_free(s);
	ASSERT_TRUE(log_has(self, "FOREIGN KEY constraint failed"));
}

TEST_F(store, failed_commit_rolls_back)
{
	ASSERT_EQ(rt_store_exec(self->st,
				"CREATE TABLE a (id INTEGER PRIMARY KEY);"
				"CREATE TABLE b (a INTEGER REFERENCES a(id) DEFERRABLE INITIALLY DEFERRED);"),
		  0);
	ASSERT_EQ(rt_store_begin(self->st), 0);
	ASSERT_EQ(rt_store_exec(self->st, "INSERT INTO b VALUES (9)"), 0);
	ASSERT_EQ(rt_store_commit(self->st), -EEXIST);
	ASSERT_STREQ(ask(self->st, "SELECT count(*) FROM b"), "0");
	/* And the connection is usable again. */
	ASSERT_EQ(rt_store_begin(self->st), 0);
	ASSERT_EQ(rt_store_commit(self->st), 0);
}

TEST_F(store, statements_bind_and_read)
{
	static const uint8_t salt[] = { 0, 1, 0, 0xff };
	struct rt_stmt *s;
	const void *p;
	size_t len;

	ASSERT_EQ(rt_store_exec(self->st, "CREATE TABLE t (i INTEGER, s TEXT, b BLOB)"), 0);
	ASSERT_EQ(rt_stmt_prepare(self->st, "INSERT INTO t VALUES (?, ?, ?)", &s), 0);
	ASSERT_EQ(rt_stmt_bind_int(s, 1, INT64_MIN), 0);
	ASSERT_EQ(rt_stmt_bind_text(s, 2, "caf\xc3\xa9"), 0);
	ASSERT_EQ(rt_stmt_bind_blob(s, 3, salt, sizeof(salt)), 0);
	ASSERT_EQ(rt_stmt_step(s), RT_STMT_DONE);
	ASSERT_EQ(rt_store_changes(self->st), 1);
	ASSERT_EQ(rt_stmt_reset(s), 0);
	ASSERT_EQ(rt_stmt_bind_null(s, 1), 0);
	ASSERT_EQ(rt_stmt_bind_blob(s, 3, NULL, 0), 0);
	ASSERT_EQ(rt_stmt_step(s), RT_STMT_DONE);
	ASSERT_EQ(rt_stmt_bind_int(s, 9, 1), -EINVAL);
	rt_stmt_free(s);

	ASSERT_EQ(rt_stmt_prepare(self->st, "SELECT i, s, b, typeof(b) FROM t ORDER BY rowid", &s),
		  0);
	ASSERT_EQ(rt_stmt_step(s), RT_STMT_ROW);
	ASSERT_EQ(rt_stmt_int(s, 0), INT64_MIN);
	ASSERT_STREQ(rt_stmt_text(s, 1), "caf\xc3\xa9");
	p = rt_stmt_blob(s, 2, &len);
	ASSERT_EQ(len, sizeof(salt));
	ASSERT_MEMEQ(p, salt, sizeof(salt));
	ASSERT_EQ(rt_stmt_step(s), RT_STMT_ROW);
	ASSERT_EQ(rt_stmt_int(s, 0), 0);
	ASSERT_STREQ(rt_stmt_text(s, 1), "");
	ASSERT_NULL(rt_stmt_blob(s, 2, &len));
	ASSERT_EQ(len, 0);
	ASSERT_STREQ(rt_stmt_text(s, 3), "blob");	/* empty, not NULL */
	ASSERT_EQ(rt_stmt_step(s), RT_STMT_DONE);
	rt_stmt_free(s);
}

TEST_F(store, bad_sql_is_reported)
{
	struct rt_stmt *s = (struct rt_stmt *)1;

	ASSERT_EQ(rt_stmt_prepare(self->st, "SELECT * FROM nowhere", &s), -EINVAL);
	ASSERT_NULL(s);
	ASSERT_TRUE(log_has(self, "kdc.db: SELECT * FROM nowhere: no such table: nowhere"));
	ASSERT_EQ(rt_stmt_prepare(self->st, "SELECT 1; SELECT 2", &s), -EINVAL);
	ASSERT_TRUE(log_has(self, "expected exactly one SQL statement"));
	ASSERT_EQ(rt_stmt_prepare(self->st, "SELECT 1;  \n", &s), 0);
	rt_stmt_free(s);
	ASSERT_EQ(rt_store_exec(self->st, "DROP TABLE nowhere"), -EINVAL);
}

TEST_F(store, open_errors)
{
	struct rt_store *st = (struct rt_store *)1;
	char path[160];

	snprintf(path, sizeof(path), "%s/missing/x.db", self->dir);
	ASSERT_EQ(rt_store_open(path, &st), -ENOENT);
	ASSERT_NULL(st);
	snprintf(path, sizeof(path), "%s/garbage.db", self->dir);
	ASSERT_EQ(rt_test_write(path, "this is not a database, not at all........................"
				"...................................................", 110), 0);
	ASSERT_LT(rt_store_open(path, &st), 0);
	ASSERT_NULL(st);
	ASSERT_TRUE(log_has(self, "file is not a database"));
}
