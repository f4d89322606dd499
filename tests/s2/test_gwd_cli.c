/* SPDX-License-Identifier: MIT */
/*
 * iomt-gwd's command line: 'provision' (strict parsing of the TTP admin's
 * pool file, every error with file:line and no key material, the state
 * file written atomically, never overwritten without --force) and every
 * reason the daemon refuses to start (no state file, a damaged, foreign,
 * headerless or locked one, a bad configuration, an address it cannot
 * bind, a log or port file it cannot write, an unknown test hook).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "rt/rt_test.h"
#include "lib/rt_recfile.h"
#include "testutil.h"

#define D0 "00112233445566778899aabbccddeeff"
#define D1 "10112233445566778899aabbccddeeff"
#define D2 "20112233445566778899aabbccddeeff"
/* Key digits, never to be echoed in any message. */
#define K0 "f0e1d2c3b4a5968778695a4b3c2d1e0f"
#define K1 "f1e1d2c3b4a5968778695a4b3c2d1e0f"
#define K_SECRET_PART "b4a5968778695a4b"
#define LINE0 "slot=0 did=" D0 " dk=" K0 "\n"

static void gwd_binary(char *out, size_t len)
{
	if (rt_test_bin("iomt-gwd", out, len))
		out[0] = '\0';
}

struct cli {
	char dir[64], bin[PATH_MAX];
	char pool[128], state[128], conf[128], outpath[128];
	char out[8192];		/* what the last command printed */
};

static void cli_setup(struct cli *c)
{
	ASSERT_EQ(rt_test_mkdtemp(c->dir, sizeof(c->dir), "gwdcli"), 0);
	snprintf(c->pool, sizeof(c->pool), "%s/pool.txt", c->dir);
	snprintf(c->state, sizeof(c->state), "%s/gwd.state", c->dir);
	snprintf(c->conf, sizeof(c->conf), "%s/gwd.conf", c->dir);
	snprintf(c->outpath, sizeof(c->outpath), "%s/out", c->dir);
	gwd_binary(c->bin, sizeof(c->bin));
	ASSERT_EQ(access(c->bin, X_OK), 0);
}

/* Runs iomt-gwd with the NULL-terminated arguments (env: hook or NULL):
 * its exit status (128 + signal if killed); output in c->out. */
static int gwd_run(struct cli *c, const char *hook, ...)
{
	char *argv[24] = { c->bin };
	int argc = 1, st;
	va_list ap;
	pid_t pid;

	va_start(ap, hook);
	while (argc < 23 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	unlink(c->outpath);
	pid = fork();
	if (pid == 0) {
		int fd = open(c->outpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		if (hook)
			setenv("IOMT_GWD_TEST_HOOK", hook, 1);
		alarm(10);	/* a daemon that should have refused to start */
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	if (rt_test_read(c->outpath, c->out, sizeof(c->out)) < 0)
		c->out[0] = '\0';
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int write_pool(struct cli *c, const char *text, size_t len)
{
	return rt_test_write(c->pool, text, len);
}

static int provision(struct cli *c, const char *text)
{
	if (write_pool(c, text, strlen(text)))
		return -1;
	return gwd_run(c, NULL, "provision", "--pool", c->pool, "--state", c->state, NULL);
}

/* Slot i's pair from the state file. */
static int state_pair(const char *path, size_t slot, uint8_t pair[32])
{
	struct rt_recfile *f;
	size_t len, nrec;
	int r = rt_recfile_stat(path, &len, &nrec);

	if (!r)
		r = rt_recfile_open(path, len, nrec, &f);
	if (!r) {
		r = rt_recfile_read(f, 1 + slot, pair);
		rt_recfile_close(f);
	}
	return r;
}

static int slots_in(const char *path)
{
	size_t len, nrec;

	return rt_recfile_stat(path, &len, &nrec) ? -1 : (int)nrec - 1;
}

/* ================= provisioning: accepted files ================= */

FIXTURE(provision) {
	struct cli c;
};

FIXTURE_SETUP(provision)
{
	cli_setup(&self->c);
}

FIXTURE_TEARDOWN(provision)
{
	rt_test_rmtree(self->c.dir);
}

TEST_F(provision, imports_a_pool_file_into_a_private_state_file)
{
	static const char text[] =
		"# MEC pool for mec-7, from the TTP admin\n"
		"\n"
		"slot=0 did=" D0 " dk=" K0 "\n"
		"   # indented comment\n"
		"slot=2\tdid=" D2 "  dk=" K1 "\r\n"
		"slot=1 did=" "10112233445566778899AABBCCDDEEFF" " dk=" K1 "   \n"
		"slot=3 did=" "30112233445566778899aabbccddeeff" " dk=" K0;	/* no final newline */
	uint8_t pair[32], want[32];
	struct stat st;
	char tmp[160];

	ASSERT_EQ(provision(&self->c, text), 0);
	ASSERT_NONNULL(strstr(self->c.out, "iomt-gwd: provisioned 4 slots into "));
	ASSERT_EQ(stat(self->c.state, &st), 0);
	EXPECT_EQ(st.st_mode & 0777, 0600);
	snprintf(tmp, sizeof(tmp), "%s.tmp", self->c.state);
	EXPECT_NE(access(tmp, F_OK), 0);
	ASSERT_EQ(slots_in(self->c.state), 4);
	ASSERT_EQ(state_pair(self->c.state, 1, pair), 0);
	ASSERT_EQ(tu_hex(D1 K1, want, sizeof(want)), 32);
	EXPECT_MEMEQ(pair, want, 32);
	ASSERT_EQ(state_pair(self->c.state, 2, pair), 0);
	ASSERT_EQ(tu_hex(D2 K1, want, sizeof(want)), 32);
	EXPECT_MEMEQ(pair, want, 32);
	/* The pool file was world-readable: a warning, not a failure. */
	EXPECT_NONNULL(strstr(self->c.out, "is open to group or others"));
}

TEST_F(provision, never_overwrites_a_state_file_without_force)
{
	static const char one[] = "slot=0 did=" D0 " dk=" K0 "\n";
	static const char two[] = "slot=0 did=" D1 " dk=" K1 "\nslot=1 did=" D2 " dk=" K0 "\n";
	uint8_t pair[32], want[32];

	ASSERT_EQ(provision(&self->c, one), 0);
	ASSERT_EQ(provision(&self->c, two), 1);
	ASSERT_NONNULL(strstr(self->c.out, "exists: it holds the slots' current identities; "
				      "refusing to overwrite (--force replaces it)"));
	ASSERT_EQ(slots_in(self->c.state), 1);
	ASSERT_EQ(gwd_run(&self->c, NULL, "provision", "--pool", self->c.pool, "--state",
			  self->c.state, "--force", NULL), 0);
	ASSERT_EQ(slots_in(self->c.state), 2);
	ASSERT_EQ(state_pair(self->c.state, 0, pair), 0);
	ASSERT_EQ(tu_hex(D1 K1, want, sizeof(want)), 32);
	EXPECT_MEMEQ(pair, want, 32);
}

TEST_F(provision, refuses_to_replace_the_state_of_a_running_daemon)
{
	struct rt_recfile *f;
	size_t len, nrec;

	ASSERT_EQ(provision(&self->c, LINE0), 0);
	ASSERT_EQ(rt_recfile_stat(self->c.state, &len, &nrec), 0);
	ASSERT_EQ(rt_recfile_open(self->c.state, len, nrec, &f), 0);	/* as iomt-gwd does */
	EXPECT_EQ(gwd_run(&self->c, NULL, "provision", "--pool", self->c.pool, "--state",
			  self->c.state, "--force", NULL), 1);
	rt_recfile_close(f);
	EXPECT_NONNULL(strstr(self->c.out, "is in use by a running iomt-gwd: stop it first"));
}

TEST_F(provision, usage_errors)
{
	struct cli *c = &self->c;

	EXPECT_EQ(gwd_run(c, NULL, "provision", NULL), 2);
	EXPECT_NONNULL(strstr(c->out, "--pool FILE and --state STATEFILE are both required"));
	EXPECT_EQ(gwd_run(c, NULL, "provision", "--pool", c->pool, NULL), 2);
	EXPECT_EQ(gwd_run(c, NULL, "provision", "--pool", c->pool, "--state", NULL), 2);
	EXPECT_NONNULL(strstr(c->out, "missing value for '--state'"));
	EXPECT_EQ(gwd_run(c, NULL, "provision", "--pool", c->pool, "--stat", c->state, NULL), 2);
	EXPECT_NONNULL(strstr(c->out, "unknown argument '--stat'"));
	EXPECT_EQ(gwd_run(c, NULL, "provision", "--help", NULL), 0);
	EXPECT_NONNULL(strstr(c->out, "Usage: iomt-gwd provision --pool FILE --state STATEFILE"));
	EXPECT_NONNULL(strstr(c->out, "slot=<n> did=<32 hex digits> dk=<32 hex digits>"));
}

TEST_F(provision, missing_pool_file_and_unwritable_state)
{
	struct cli *c = &self->c;

	EXPECT_EQ(gwd_run(c, NULL, "provision", "--pool", c->pool, "--state", c->state, NULL), 1);
	EXPECT_NONNULL(strstr(c->out, "pool.txt: No such file or directory"));
	ASSERT_EQ(write_pool(c, LINE0, strlen(LINE0)), 0);
	EXPECT_EQ(gwd_run(c, NULL, "provision", "--pool", c->pool, "--state",
			  "/nonexistent-dir/gwd.state", NULL), 1);
	EXPECT_NONNULL(strstr(c->out, "/nonexistent-dir/gwd.state.tmp: cannot create"));
}

/* ================= provisioning: refused files ================= */

FIXTURE(bad_pool) {
	struct cli c;
};

FIXTURE_VARIANT(bad_pool) {
	const char *text;
	size_t len;		/* 0: strlen(text) */
	const char *msg;
};

FIXTURE_SETUP(bad_pool)
{
	cli_setup(&self->c);
}

FIXTURE_TEARDOWN(bad_pool)
{
	rt_test_rmtree(self->c.dir);
}

FIXTURE_VARIANT_ADD(bad_pool, empty) {
	.text = "", .msg = "pool.txt: no slots (expected lines 'slot=N did=HEX dk=HEX')",
};
FIXTURE_VARIANT_ADD(bad_pool, comments_only) {
	.text = "# nothing\n\n   \n", .msg = "pool.txt: no slots",
};
FIXTURE_VARIANT_ADD(bad_pool, fields_out_of_order) {
	.text = "did=" D0 " slot=0 dk=" K0 "\n",
	.msg = "pool.txt:1: expected 'slot=' here, got 'did=00112233'",
};
FIXTURE_VARIANT_ADD(bad_pool, key_without_equals) {
	.text = "slot 0 did=" D0 " dk=" K0 "\n", .msg = "pool.txt:1: expected 'slot=' here, got 'slot'",
};
FIXTURE_VARIANT_ADD(bad_pool, short_did) {
	.text = LINE0 "slot=1 did=" "001122334455667788" "9aabbccddeeff dk=" K1 "\n",
	.msg = "pool.txt:2: did: expected 32 hex digits, got 31 characters",
};
FIXTURE_VARIANT_ADD(bad_pool, long_dk) {
	.text = "slot=0 did=" D0 " dk=" K0 "0\n",
	.msg = "pool.txt:1: dk: expected 32 hex digits, got 33 characters",
};
FIXTURE_VARIANT_ADD(bad_pool, non_hex_dk) {
	.text = "slot=0 did=" D0 " dk=f0e1g2c3b4a5968778695a4b3c2d1e0f\n",
	.msg = "pool.txt:1: dk: character 5 is not a hex digit",
};
FIXTURE_VARIANT_ADD(bad_pool, slot_with_leading_zero) {
	.text = "slot=00 did=" D0 " dk=" K0 "\n",
	.msg = "pool.txt:1: slot: '00' is not a slot number 0..4095",
};
FIXTURE_VARIANT_ADD(bad_pool, slot_too_large) {
	.text = "slot=4096 did=" D0 " dk=" K0 "\n",
	.msg = "pool.txt:1: slot: '4096' is not a slot number 0..4095",
};
FIXTURE_VARIANT_ADD(bad_pool, slot_negative) {
	.text = "slot=-1 did=" D0 " dk=" K0 "\n", .msg = "pool.txt:1: slot: '-1' is not a slot",
};
FIXTURE_VARIANT_ADD(bad_pool, missing_dk) {
	.text = "slot=0 did=" D0 "\n",
	.msg = "pool.txt:1: missing 'dk=' (expected 'slot=N did=HEX dk=HEX')",
};
FIXTURE_VARIANT_ADD(bad_pool, empty_dk) {
	.text = "slot=0 did=" D0 " dk=\n",
	.msg = "pool.txt:1: dk: expected 32 hex digits, got 0 characters",
};
FIXTURE_VARIANT_ADD(bad_pool, trailing_text) {
	.text = "slot=0 did=" D0 " dk=" K0 " # comment\n",
	.msg = "pool.txt:1: unexpected text after dk",
};
FIXTURE_VARIANT_ADD(bad_pool, slot_listed_twice) {
	.text = LINE0 "slot=1 did=" D1 " dk=" K1 "\n" "slot=0 did=" D2 " dk=" K1 "\n",
	.msg = "pool.txt:3: slot 0 listed twice (first on line 1)",
};
FIXTURE_VARIANT_ADD(bad_pool, did_shared_by_two_slots) {
	.text = LINE0 "slot=1 did=" D0 " dk=" K1 "\n",
	.msg = "pool.txt:2: slot 1: did is the same as slot 0's (line 1)",
};
FIXTURE_VARIANT_ADD(bad_pool, gap_in_slots) {
	.text = LINE0 "slot=2 did=" D2 " dk=" K1 "\n",
	.msg = "pool.txt: slot 1 is missing (slots must be numbered 0..2 without gaps)",
};
FIXTURE_VARIANT_ADD(bad_pool, nul_byte) {
	.text = "slot=0 did=" D0 "\0dk=" K0 "\n", .len = 80,
	.msg = "pool.txt:1: NUL byte: not a text file",
};
FIXTURE_VARIANT_ADD(bad_pool, line_too_long) {
	.text = LINE0 "#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
	.msg = "pool.txt:2: line longer than 511 bytes",
};

TEST_F(bad_pool, is_refused_with_file_line_and_no_state)
{
	size_t len = variant->len ? variant->len : strlen(variant->text);

	ASSERT_EQ(write_pool(&self->c, variant->text, len), 0);
	ASSERT_EQ(gwd_run(&self->c, NULL, "provision", "--pool", self->c.pool, "--state",
			  self->c.state, NULL), 1);
	EXPECT_NONNULL(strstr(self->c.out, variant->msg));
	if (!strstr(self->c.out, variant->msg))
		TH_LOG("output: %s", self->c.out);
	EXPECT_NULL(strstr(self->c.out, K_SECRET_PART));
	EXPECT_NE(access(self->c.state, F_OK), 0);
}

/* ================= the daemon refuses to start ================= */

FIXTURE(start) {
	struct cli c;
	char ports[128], log[128];
};

FIXTURE_SETUP(start)
{
	cli_setup(&self->c);
	snprintf(self->ports, sizeof(self->ports), "%s/ports", self->c.dir);
	snprintf(self->log, sizeof(self->log), "%s/gwd.log", self->c.dir);
}

FIXTURE_TEARDOWN(start)
{
	rt_test_rmtree(self->c.dir);
}

/* A valid configuration (plus extra lines) for a daemon that must not get far. */
static int write_conf(FIXTURE_DATA(start) *self, const char *extra)
{
	char text[2048];
	int n = snprintf(text, sizeof(text),
			 "# iomt-gwd under test\n"
			 "listen 127.0.0.1:0\nttp 127.0.0.1:1\nmetrics_listen 127.0.0.1:0\n"
			 "state %s\nport_file %s\n%s",
			 self->c.state, self->ports, extra);

	return rt_test_write(self->c.conf, text, (size_t)n);
}

static int start(FIXTURE_DATA(start) *self, const char *hook, const char *extra)
{
	if (write_conf(self, extra))
		return -1;
	return gwd_run(&self->c, hook, "-c", self->c.conf, NULL);
}

TEST_F(start, without_a_state_file)
{
	ASSERT_EQ(start(self, NULL, ""), 1);
	EXPECT_NONNULL(strstr(self->c.out, "gwd.state: No such file or directory (create it with "
				      "'iomt-gwd provision --pool FILE --state "));
	EXPECT_NE(access(self->c.state, F_OK), 0);	/* and it did not create one */
}

TEST_F(start, with_a_state_file_that_is_not_one)
{
	ASSERT_EQ(rt_test_write(self->c.state, "slot=0 did=...\n", 15), 0);
	ASSERT_EQ(start(self, NULL, ""), 1);
	EXPECT_NONNULL(strstr(self->c.out, "gwd.state: not a record file, or damaged"));
}

TEST_F(start, with_a_record_file_of_another_shape)
{
	struct rt_recfile *f;

	ASSERT_EQ(rt_recfile_open(self->c.state, 98, 4, &f), 0);
	rt_recfile_close(f);
	ASSERT_EQ(start(self, NULL, ""), 1);
	EXPECT_NONNULL(strstr(self->c.out, "4 records of 98 bytes: not an iomt-gwd state file"));
}

TEST_F(start, with_a_state_file_without_header)
{
	static const uint8_t pair[32] = { 1 };
	struct rt_recfile *f;

	ASSERT_EQ(rt_recfile_open(self->c.state, 32, 2, &f), 0);
	ASSERT_EQ(rt_recfile_write(f, 1, pair), 0);
	rt_recfile_close(f);
	ASSERT_EQ(start(self, NULL, ""), 1);
	EXPECT_NONNULL(strstr(self->c.out, "no header: not written by 'iomt-gwd provision'"));
}

TEST_F(start, with_a_state_file_in_use)
{
	struct rt_recfile *f;
	size_t len, nrec;

	ASSERT_EQ(provision(&self->c, LINE0), 0);
	ASSERT_EQ(rt_recfile_stat(self->c.state, &len, &nrec), 0);
	ASSERT_EQ(rt_recfile_open(self->c.state, len, nrec, &f), 0);
	EXPECT_EQ(start(self, NULL, ""), 1);
	rt_recfile_close(f);
	EXPECT_NONNULL(strstr(self->c.out, "is in use by another process (a second iomt-gwd?)"));
}

TEST_F(start, configuration_errors_name_file_and_line)
{
	ASSERT_EQ(provision(&self->c, LINE0), 0);
	EXPECT_EQ(start(self, NULL, "prot 7\n"), 2);
	EXPECT_NONNULL(strstr(self->c.out, "gwd.conf:7: unknown key 'prot'"));
	EXPECT_EQ(start(self, NULL, "batch_max 0\n"), 2);
	EXPECT_NONNULL(strstr(self->c.out, "gwd.conf:7: batch_max:"));
	EXPECT_EQ(start(self, NULL, "agreement_timeout 1ms\n"), 2);
	EXPECT_NONNULL(strstr(self->c.out, "gwd.conf:7: agreement_timeout:"));
	EXPECT_EQ(start(self, NULL, "log_file gwd.log\n"), 2);
	EXPECT_NONNULL(strstr(self->c.out, "gwd.conf:7: log_file: 'gwd.log' is not an absolute path"));
	EXPECT_EQ(start(self, NULL, "listen 127.0.0.1\n"), 2);
	EXPECT_NONNULL(strstr(self->c.out, "gwd.conf:7: duplicate key 'listen'"));
	EXPECT_EQ(gwd_run(&self->c, NULL, "--batch-max", "5000", NULL), 2);
	EXPECT_NONNULL(strstr(self->c.out, "command line: batch_max:"));
	EXPECT_EQ(gwd_run(&self->c, NULL, "stray", NULL), 2);
	EXPECT_NONNULL(strstr(self->c.out, "unexpected argument 'stray'"));
}

TEST_F(start, help_and_check)
{
	ASSERT_EQ(gwd_run(&self->c, NULL, "--help", NULL), 0);
	EXPECT_NONNULL(strstr(self->c.out, "iomt-gwd provision --pool FILE --state FILE"));
	EXPECT_NONNULL(strstr(self->c.out, "agreement_timeout"));
	EXPECT_NONNULL(strstr(self->c.out, "port_file"));
	ASSERT_EQ(write_conf(self, "batch_max 32\n"), 0);
	ASSERT_EQ(gwd_run(&self->c, NULL, "-c", self->c.conf, "--check", NULL), 0);
	EXPECT_NONNULL(strstr(self->c.out, "# iomt-gwd: configuration OK"));
	EXPECT_NONNULL(strstr(self->c.out, "batch_max 32"));
}

TEST_F(start, an_address_it_cannot_bind)
{
	ASSERT_EQ(provision(&self->c, LINE0), 0);
	ASSERT_EQ(write_conf(self, ""), 0);
	/* 192.0.2.1 (TEST-NET-1) is on no interface here. */
	EXPECT_EQ(gwd_run(&self->c, NULL, "-c", self->c.conf, "--listen", "192.0.2.1:7401", NULL),
		  1);
	EXPECT_NONNULL(strstr(self->c.out, "listen 192.0.2.1:7401: Cannot assign requested address"));
	EXPECT_EQ(gwd_run(&self->c, NULL, "-c", self->c.conf, "--metrics-listen", "192.0.2.1:9401",
			  NULL), 1);
	EXPECT_NONNULL(strstr(self->c.out, "metrics_listen 192.0.2.1:9401: Cannot assign"));
}

TEST_F(start, a_log_or_port_file_it_cannot_write)
{
	ASSERT_EQ(provision(&self->c, LINE0), 0);
	EXPECT_EQ(start(self, NULL, "log_file /nonexistent-dir/gwd.log\n"), 1);
	EXPECT_NONNULL(strstr(self->c.out, "log_file /nonexistent-dir/gwd.log: No such file"));
	ASSERT_EQ(write_conf(self, ""), 0);
	EXPECT_EQ(gwd_run(&self->c, NULL, "-c", self->c.conf, "--port-file",
			  "/nonexistent-dir/ports", NULL), 1);
	EXPECT_NONNULL(strstr(self->c.out, "port_file /nonexistent-dir/ports: No such file"));
}

TEST_F(start, an_unknown_test_hook)
{
	ASSERT_EQ(provision(&self->c, LINE0), 0);
	EXPECT_EQ(start(self, "crash_sometime", ""), 1);
	EXPECT_NONNULL(strstr(self->c.out, "IOMT_GWD_TEST_HOOK: unknown hook 'crash_sometime'"));
}
