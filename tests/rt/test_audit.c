/* SPDX-License-Identifier: MIT */
/* rt_audit: fsync'ed JSON-lines records, escaped and never cut. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "harness.h"
#include "lib/rt_audit.h"
#include "lib/rt_log.h"
#include "rt_test.h"

FIXTURE(audit) {
	char dir[64];
	char path[128];
	char log[128];
	char buf[1 << 18];
};

FIXTURE_SETUP(audit)
{
	ASSERT_EQ(rt_test_mkdtemp(self->dir, sizeof(self->dir), "audit"), 0);
	snprintf(self->path, sizeof(self->path), "%s/audit.jsonl", self->dir);
	snprintf(self->log, sizeof(self->log), "%s/daemon.log", self->dir);
	rt_log_init("iomt-kdc");
	ASSERT_EQ(rt_log_set_file(self->log), 0);
}

FIXTURE_TEARDOWN(audit)
{
	rt_audit_close();
	rt_log_set_file(NULL);
	rt_test_rmtree(self->dir);
}

/* The audit file with each record's timestamp replaced by "T". */
static const char *records(FIXTURE_DATA(audit) *self)
{
	static char out[1 << 18];
	const char *p = self->buf;
	char *o = out;

	ASSERT_GE(rt_test_read(self->path, self->buf, sizeof(self->buf)), 0);
	while (*p) {
		ASSERT_EQ(strncmp(p, "{\"ts\":\"", 7), 0);
		o += sprintf(o, "{\"ts\":\"T");
		p += 7 + 24;
		while (*p && *p != '\n')
			*o++ = *p++;
		if (*p)
			*o++ = *p++;
	}
	*o = 0;
	return out;
}

TEST_F(audit, record_format)
{
	struct stat st;

	ASSERT_EQ(rt_audit_open(self->path), 0);
	ASSERT_EQ(rt_audit_write("tgs_issue", "device", "17", "patient", "p-42", NULL), 0);
	ASSERT_EQ(rt_audit_write("startup", NULL), 0);
	ASSERT_STREQ(records(self),
		     "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"tgs_issue\",\"device\":\"17\","
		     "\"patient\":\"p-42\"}\n"
		     "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"startup\"}\n");
	/* Evidence is for the daemon's eyes only. */
	ASSERT_EQ(stat(self->path, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);
}

TEST_F(audit, every_value_and_key_is_escaped)
{
	ASSERT_EQ(rt_audit_open(self->path), 0);
	ASSERT_EQ(rt_audit_write("consent", "reason", "a\"b\\c\nd\x01\x7f",
				 "name", "Gr\xc3\xbc\xc3\x9f" "e\xff", "k\"", "v", NULL), 0);
	ASSERT_STREQ(records(self),
		     "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"consent\","
		     "\"reason\":\"a\\\"b\\\\c\\nd\\u0001\\u007f\","
		     "\"name\":\"Gr\\u00fc\\u00dfe\\ufffd\",\"k\\\"\":\"v\"}\n");
}

TEST_F(audit, large_records_are_never_cut)
{
	enum { BIG = 100000 };
	char *big = malloc(BIG + 1);
	const char *out;

	ASSERT_NONNULL(big);
	memset(big, '\n', BIG);
	big[BIG] = 0;
	ASSERT_EQ(rt_audit_open(self->path), 0);
	ASSERT_EQ(rt_audit_write("evidence", "blob", big, NULL), 0);
	out = records(self);
	ASSERT_EQ(strlen(out), strlen("{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"evidence\","
				      "\"blob\":\"\"}\n") + 2 * BIG);
	ASSERT_EQ(strcmp(out + strlen(out) - 5, "\\n\"}\n"), 0);
	free(big);
}

TEST_F(audit, errors_are_reported)
{
	char bad[160];

	ASSERT_EQ(rt_audit_write("early", NULL), -EBADF);
	snprintf(bad, sizeof(bad), "%s/missing/audit.jsonl", self->dir);
	ASSERT_EQ(rt_audit_open(bad), -ENOENT);
	ASSERT_EQ(rt_audit_open(self->path), 0);
	/* A key without its value is a bug in the caller, and writes nothing. */
	ASSERT_EQ(rt_audit_write("odd", "key", NULL), -EINVAL);
	ASSERT_EQ(rt_audit_write(NULL, NULL), -EINVAL);
	ASSERT_STREQ(records(self), "");
	ASSERT_GT(rt_test_read(self->log, self->buf, sizeof(self->buf)), 0);
	ASSERT_NONNULL(strstr(self->buf, "audit record 'early' not written: Bad file descriptor"));
	ASSERT_NONNULL(strstr(self->buf, "audit record 'odd' not written: Invalid argument"));
}

TEST_F(audit, reopen_appends)
{
	ASSERT_EQ(rt_audit_open(self->path), 0);
	ASSERT_EQ(rt_audit_write("one", NULL), 0);
	rt_audit_close();
	ASSERT_EQ(rt_audit_write("closed", NULL), -EBADF);
	ASSERT_EQ(rt_audit_open(self->path), 0);
	ASSERT_EQ(rt_audit_write("two", NULL), 0);
	ASSERT_STREQ(records(self), "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"one\"}\n"
				    "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"two\"}\n");
}

enum { THREADS = 4, RECORDS = 50 };

static void *auditor(void *arg)
{
	char n[16];
	int i;

	for (i = 0; i < RECORDS; i++) {
		snprintf(n, sizeof(n), "%d", i);
		if (rt_audit_write("tick", "thread", (const char *)arg, "n", n, NULL))
			return arg;
	}
	return NULL;
}

TEST_F(audit, threads_write_whole_records)
{
	static char names[THREADS][2] = { "0", "1", "2", "3" };
	const char *prefix = "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"tick\",\"thread\":\"";
	pthread_t th[THREADS];
	const char *p;
	void *res;
	int t, lines = 0;

	ASSERT_EQ(rt_audit_open(self->path), 0);
	for (t = 0; t < THREADS; t++)
		ASSERT_EQ(pthread_create(&th[t], NULL, auditor, (void *)names[t]), 0);
	for (t = 0; t < THREADS; t++) {
		pthread_join(th[t], &res);
		ASSERT_NULL(res);
	}
	for (p = records(self); *p; p = strchr(p, '\n') + 1, lines++)
		ASSERT_EQ(strncmp(p, prefix, strlen(prefix)), 0);
	ASSERT_EQ(lines, THREADS * RECORDS);
}
