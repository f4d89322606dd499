/* SPDX-License-Identifier: MIT */
/* rt_audit: fsync'ed JSON-lines records, escaped and never cut. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>

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

/* ---- group commit: rt_audit_append + rt_audit_flush ---- */

TEST_F(audit, appended_records_reach_the_file_only_on_flush)
{
	ASSERT_EQ(rt_audit_open(self->path), 0);
	ASSERT_EQ(rt_audit_flush(), 0);                 /* nothing pending: no-op */
	ASSERT_EQ(rt_audit_append("as_issue", "client", "s1", NULL), 0);
	ASSERT_EQ(rt_audit_append("as_deny", "code", "revoked", "peer", "[::1]:9", NULL), 0);
	ASSERT_GT(rt_audit_pending(), 0);
	ASSERT_STREQ(records(self), "");
	/* A direct record goes ahead of the buffered ones. */
	ASSERT_EQ(rt_audit_write("admin", NULL), 0);
	ASSERT_EQ(rt_audit_flush(), 0);
	ASSERT_EQ(rt_audit_pending(), 0);
	ASSERT_STREQ(records(self),
		     "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"admin\"}\n"
		     "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"as_issue\",\"client\":\"s1\"}\n"
		     "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"as_deny\",\"code\":\"revoked\","
		     "\"peer\":\"[::1]:9\"}\n");
}

TEST_F(audit, a_big_batch_and_big_records_are_whole)
{
	enum { N = 20000, BIG = 50000 };
	char *big = malloc(BIG + 1), n[16];
	const char *p;
	int lines = 0;

	ASSERT_NONNULL(big);
	memset(big, 'x', BIG);
	big[BIG] = 0;
	ASSERT_EQ(rt_audit_open(self->path), 0);
	for (int i = 0; i < N; i++) {
		snprintf(n, sizeof(n), "%d", i);
		ASSERT_EQ(rt_audit_append("tick", "n", n, NULL), 0);
	}
	ASSERT_EQ(rt_audit_append("evidence", "blob", big, NULL), 0);
	ASSERT_EQ(rt_audit_flush(), 0);
	free(big);
	{
		static char all[4 << 20];
		long len = rt_test_read(self->path, all, sizeof(all));

		ASSERT_GT(len, BIG);
		for (p = all; *p; p = strchr(p, '\n') + 1, lines++)
			ASSERT_NONNULL(strchr(p, '\n'));
		ASSERT_EQ(lines, N + 1);
		ASSERT_NONNULL(strstr(all, "\"n\":\"19999\"}\n{"));
		ASSERT_STREQ(all + len - 4, "x\"}\n");
	}
}

TEST_F(audit, append_errors_buffer_nothing)
{
	ASSERT_EQ(rt_audit_append("early", NULL), -EBADF);
	ASSERT_EQ(rt_audit_open(self->path), 0);
	ASSERT_EQ(rt_audit_append("odd", "key", NULL), -EINVAL);
	ASSERT_EQ(rt_audit_append(NULL, NULL), -EINVAL);
	ASSERT_EQ(rt_audit_pending(), 0);
	ASSERT_EQ(rt_audit_append("kept", NULL), 0);
	ASSERT_EQ(rt_audit_append("bad", "k", NULL), -EINVAL);
	ASSERT_EQ(rt_audit_flush(), 0);
	ASSERT_STREQ(records(self), "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"kept\"}\n");
	ASSERT_GT(rt_test_read(self->log, self->buf, sizeof(self->buf)), 0);
	ASSERT_NONNULL(strstr(self->buf, "audit record 'early' not buffered: Bad file descriptor"));
}

TEST_F(audit, discard_drops_the_batch)
{
	ASSERT_EQ(rt_audit_open(self->path), 0);
	ASSERT_EQ(rt_audit_append("lost", NULL), 0);
	rt_audit_discard();
	ASSERT_EQ(rt_audit_pending(), 0);
	ASSERT_EQ(rt_audit_append("kept", NULL), 0);
	ASSERT_EQ(rt_audit_flush(), 0);
	ASSERT_STREQ(records(self), "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"kept\"}\n");
	/* Close drops what was not flushed. */
	ASSERT_EQ(rt_audit_append("unflushed", NULL), 0);
	rt_audit_close();
	ASSERT_EQ(rt_audit_pending(), 0);
	ASSERT_EQ(rt_audit_flush(), 0);
}

TEST_F(audit, a_failed_flush_is_reported_and_drops_the_batch)
{
	/* /dev/full takes the open and refuses every write with ENOSPC. */
	ASSERT_EQ(rt_audit_open("/dev/full"), 0);
	ASSERT_EQ(rt_audit_append("as_issue", "client", "s1", NULL), 0);
	ASSERT_EQ(rt_audit_flush(), -ENOSPC);
	ASSERT_EQ(rt_audit_pending(), 0);
	ASSERT_GT(rt_test_read(self->log, self->buf, sizeof(self->buf)), 0);
	ASSERT_NONNULL(strstr(self->buf, "records not written: No space left on device"));
}

TEST_F(audit, a_failed_flush_leaves_no_half_record)
{
	struct stat st;
	char *big = malloc(1 << 20);

	ASSERT_NONNULL(big);
	memset(big, 'y', (1 << 20) - 1);
	big[(1 << 20) - 1] = 0;
	ASSERT_EQ(rt_audit_open(self->path), 0);
	ASSERT_EQ(rt_audit_write("before", NULL), 0);
	ASSERT_EQ(stat(self->path, &st), 0);
	/* A file size limit below the batch: write stops part-way (EFBIG). */
	{
		struct rlimit rl;

		signal(SIGXFSZ, SIG_IGN);
		ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &rl), 0);
		rl.rlim_cur = (rlim_t)st.st_size + 4096;
		ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &rl), 0);
	}
	ASSERT_EQ(rt_audit_append("huge", "blob", big, NULL), 0);
	ASSERT_EQ(rt_audit_flush(), -EFBIG);
	free(big);
	ASSERT_STREQ(records(self), "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"before\"}\n");
}

TEST_F(audit, detached_batches_commit_in_order_while_appends_go_on)
{
	struct rt_audit_batch *a, *b, *none;

	ASSERT_EQ(rt_audit_open(self->path), 0);
	ASSERT_EQ(rt_audit_detach(&none), 0);
	ASSERT_NULL(none);                              /* nothing pending */
	ASSERT_EQ(rt_audit_commit(none), 0);
	ASSERT_EQ(rt_audit_append("one", NULL), 0);
	ASSERT_EQ(rt_audit_detach(&a), 0);
	ASSERT_NONNULL(a);
	ASSERT_EQ(rt_audit_pending(), 0);
	ASSERT_EQ(rt_audit_append("two", NULL), 0);     /* a new batch at once */
	ASSERT_EQ(rt_audit_detach(&b), 0);
	ASSERT_EQ(rt_audit_append("three", NULL), 0);
	ASSERT_STREQ(records(self), "");
	ASSERT_EQ(rt_audit_commit(a), 0);
	ASSERT_STREQ(records(self), "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"one\"}\n");
	ASSERT_EQ(rt_audit_commit(b), 0);
	ASSERT_EQ(rt_audit_flush(), 0);
	ASSERT_STREQ(records(self), "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"one\"}\n"
				    "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"two\"}\n"
				    "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"three\"}\n");
}

static void *commit_later(void *arg)
{
	return (void *)(intptr_t)rt_audit_commit(arg);
}

TEST_F(audit, a_commit_waits_for_the_batches_before_it)
{
	struct rt_audit_batch *a, *b;
	pthread_t th;
	void *res;

	ASSERT_EQ(rt_audit_open(self->path), 0);
	ASSERT_EQ(rt_audit_append("first", NULL), 0);
	ASSERT_EQ(rt_audit_detach(&a), 0);
	ASSERT_EQ(rt_audit_append("second", NULL), 0);
	ASSERT_EQ(rt_audit_detach(&b), 0);
	/* b's commit starts first, in another thread, and must wait for a. */
	ASSERT_EQ(pthread_create(&th, NULL, commit_later, b), 0);
	usleep(50000);
	ASSERT_STREQ(records(self), "");
	ASSERT_EQ(rt_audit_commit(a), 0);
	pthread_join(th, &res);
	ASSERT_NULL(res);
	ASSERT_STREQ(records(self), "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"first\"}\n"
				    "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"second\"}\n");
}

TEST_F(audit, a_group_commit_writes_its_batches_in_order_or_none)
{
	struct rt_audit_batch *g[5] = { NULL };
	char big[64];

	ASSERT_EQ(rt_audit_open(self->path), 0);
	ASSERT_EQ(rt_audit_append("one", NULL), 0);
	ASSERT_EQ(rt_audit_detach(&g[0]), 0);
	ASSERT_EQ(rt_audit_detach(&g[1]), 0);            /* nothing pending: NULL */
	ASSERT_NULL(g[1]);
	ASSERT_EQ(rt_audit_append("two", NULL), 0);
	ASSERT_EQ(rt_audit_append("three", NULL), 0);
	ASSERT_EQ(rt_audit_detach(&g[2]), 0);
	ASSERT_EQ(rt_audit_append("four", NULL), 0);
	ASSERT_EQ(rt_audit_detach(&g[3]), 0);
	ASSERT_EQ(rt_audit_append("five", NULL), 0);     /* still pending: not in the group */
	ASSERT_EQ(rt_audit_commit_group(g, 4), 0);
	ASSERT_STREQ(records(self), "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"one\"}\n"
				    "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"two\"}\n"
				    "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"three\"}\n"
				    "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"four\"}\n");
	/* A failed group leaves none of its records, and the next one works. */
	ASSERT_EQ(rt_audit_detach(&g[0]), 0);
	ASSERT_EQ(rt_audit_append("six", NULL), 0);
	ASSERT_EQ(rt_audit_detach(&g[1]), 0);
	ASSERT_EQ(rt_audit_open("/dev/full"), 0);
	ASSERT_EQ(rt_audit_commit_group(g, 2), -ENOSPC);
	ASSERT_EQ(rt_audit_open(self->path), 0);
	snprintf(big, sizeof(big), "seven");
	ASSERT_EQ(rt_audit_append(big, NULL), 0);
	ASSERT_EQ(rt_audit_flush(), 0);
	ASSERT_STREQ(records(self), "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"one\"}\n"
				    "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"two\"}\n"
				    "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"three\"}\n"
				    "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"four\"}\n"
				    "{\"ts\":\"T\",\"prog\":\"iomt-kdc\",\"event\":\"seven\"}\n");
}
