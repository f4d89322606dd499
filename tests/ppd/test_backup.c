/* SPDX-License-Identifier: MIT */
/*
 * 'iomt-ppd init', 'backup' and 'restore': K_master as 3-of-5 Shamir
 * shares; every 3-subset rebuilds it, 2 shares do not, a corrupted share
 * (damaged file, or a changed share with its file checksum redone) is
 * detected, and nothing is ever overwritten.
 */
#include "harness.h"
#include "ppd_env.h"
#include "sp800_185.h"

FIXTURE(backup) {
	struct ppd_env p;
	char shares[160];
};

FIXTURE_SETUP(backup)
{
	struct ppd_env *p = &self->p;

	memset(p, 0, sizeof(*p));
	p->pty = -1;
	if (rt_test_bin("iomt-ppd", p->ppd_bin, sizeof(p->ppd_bin)) || access(p->ppd_bin, X_OK))
		SKIP(return, "iomt-ppd not built");
	ASSERT_EQ(rt_test_mkdtemp(p->e.dir, sizeof(p->e.dir), "ppdbak"), 0);
	snprintf(p->e.out, sizeof(p->e.out), "%s/cmd.out", p->e.dir);
	snprintf(p->dir, sizeof(p->dir), "%s/ppd", p->e.dir);
	snprintf(p->pass, sizeof(p->pass), "%s/pass", p->e.dir);
	snprintf(self->shares, sizeof(self->shares), "%s/shares", p->e.dir);
	ASSERT_EQ(rt_test_write(p->pass, "patient passphrase\n", 19), 0);
	ASSERT_EQ(chmod(p->pass, 0600), 0);
	ASSERT_EQ(ppd_run(p, "init", "--dir", p->dir, "--passphrase-file", p->pass, NULL), 0);
	ASSERT_EQ(ppd_read_master(p, p->dir, p->kmaster), 0);
	ASSERT_EQ(ppd_run(p, "backup", "--dir", p->dir, "--threshold", "3", "--shares", "5",
			  "--out-dir", self->shares, "--passphrase-file", p->pass, NULL), 0);
}

FIXTURE_TEARDOWN(backup)
{
	rt_test_rmtree(self->p.e.dir);
}

static void share_path(const char *dir, unsigned i, char *out, size_t len)
{
	snprintf(out, len, "%s/share-%u-of-5", dir, i);
}

/* restore --dir DIR from the shares listed (1-based): exit status. */
static int restore(struct ppd_env *p, const char *shares, const char *dir, const unsigned *idx,
		   unsigned n)
{
	static char paths[5][200];
	char *argv[ENV_ARGV_MAX] = { p->ppd_bin, env_arg("restore"), env_arg("--dir"),
				     env_arg(dir), env_arg("--passphrase-file"), p->pass };
	int argc = 6;

	for (unsigned i = 0; i < n; i++) {
		share_path(shares, idx[i], paths[i], sizeof(paths[i]));
		argv[argc++] = env_arg("--share");
		argv[argc++] = paths[i];
	}
	argv[argc] = NULL;
	unlink(p->e.out);
	return env_run(argv, p->e.out);
}

TEST_F_TIMEOUT(backup, every_3_of_5_rebuilds_k_master, 40)
{
	unsigned tried = 0;

	for (unsigned a = 1; a <= 5; a++)
		for (unsigned b = a + 1; b <= 5; b++)
			for (unsigned c = b + 1; c <= 5; c++) {
				const unsigned idx[3] = { c, a, b };   /* any order */
				uint8_t k[32];
				char dir[200];

				snprintf(dir, sizeof(dir), "%s/r%u%u%u", self->p.e.dir, a, b, c);
				ASSERT_EQ(restore(&self->p, self->shares, dir, idx, 3), 0);
				ASSERT_EQ(ppd_read_master(&self->p, dir, k), 0);
				ASSERT_MEMEQ(k, self->p.kmaster, 32);
				tried++;
			}
	ASSERT_EQ(tried, 10);
	/* All five work too (the extra shares must agree). */
	{
		const unsigned idx[5] = { 1, 2, 3, 4, 5 };
		char dir[200];

		snprintf(dir, sizeof(dir), "%s/all", self->p.e.dir);
		ASSERT_EQ(restore(&self->p, self->shares, dir, idx, 5), 0);
	}
}

TEST_F(backup, two_shares_are_not_enough)
{
	char dir[200];

	snprintf(dir, sizeof(dir), "%s/r", self->p.e.dir);
	for (unsigned a = 1; a <= 5; a++)
		for (unsigned b = a + 1; b <= 5; b++) {
			const unsigned idx[2] = { a, b };

			ASSERT_EQ(restore(&self->p, self->shares, dir, idx, 2), 1);
			ASSERT_TRUE(env_file_has(self->p.e.out, "2 shares given, this backup needs 3"));
			ASSERT_NE(access(dir, F_OK), 0);
		}
	{
		const unsigned twice[3] = { 1, 2, 2 };

		ASSERT_EQ(restore(&self->p, self->shares, dir, twice, 3), 1);
		ASSERT_TRUE(env_file_has(self->p.e.out, "given twice"));
	}
}

TEST_F(backup, corrupted_or_foreign_shares_are_detected)
{
	const unsigned idx[3] = { 1, 3, 5 };
	char bad[160], path[200], other[200], buf[128], dir[200];
	long n;

	snprintf(bad, sizeof(bad), "%s/bad", self->p.e.dir);
	snprintf(dir, sizeof(dir), "%s/r", self->p.e.dir);
	ASSERT_EQ(mkdir(bad, 0700), 0);
	for (unsigned i = 1; i <= 5; i++) {
		share_path(self->shares, i, path, sizeof(path));
		share_path(bad, i, other, sizeof(other));
		n = rt_test_read(path, buf, sizeof(buf));
		ASSERT_EQ(n, 61);
		ASSERT_EQ(rt_test_write(other, buf, 61), 0);
		ASSERT_EQ(chmod(other, 0600), 0);
	}
	/* One byte of share 3 damaged: its checksum says so. */
	share_path(bad, 3, other, sizeof(other));
	n = rt_test_read(other, buf, sizeof(buf));
	buf[30] ^= 0x04;
	ASSERT_EQ(rt_test_write(other, buf, 61), 0);
	ASSERT_EQ(restore(&self->p, bad, dir, idx, 3), 1);
	ASSERT_TRUE(env_file_has(self->p.e.out, "share-3-of-5: corrupted share file (checksum mismatch)"));
	/* Changed on purpose, checksum redone: Shamir's check value catches it. */
	{
		struct iomt_shake128 sh;

		buf[30] ^= 0x04;
		buf[40] ^= 0x10;                      /* a different y, same x */
		iomt_cshake128_init(&sh, NULL, 0, "iomt/ppd/share-check", 20);
		iomt_shake128_absorb(&sh, buf, 53);
		iomt_shake128_squeeze(&sh, (uint8_t *)buf + 53, 8);
	}
	ASSERT_EQ(rt_test_write(other, buf, 61), 0);
	ASSERT_EQ(restore(&self->p, bad, dir, idx, 3), 1);
	ASSERT_TRUE(env_file_has(self->p.e.out, "do not rebuild K_master"));
	ASSERT_NE(access(dir, F_OK), 0);
	/* Shares of another backup of the same key do not mix with these. */
	{
		char other_dir[160];
		const unsigned mix[3] = { 1, 2, 3 };

		snprintf(other_dir, sizeof(other_dir), "%s/shares2", self->p.e.dir);
		ASSERT_EQ(ppd_run(&self->p, "backup", "--dir", self->p.dir, "--threshold", "3",
				  "--shares", "5", "--out-dir", other_dir, "--passphrase-file",
				  self->p.pass, NULL), 0);
		share_path(other_dir, 2, path, sizeof(path));
		share_path(bad, 2, other, sizeof(other));
		n = rt_test_read(path, buf, sizeof(buf));
		ASSERT_EQ(rt_test_write(other, buf, 61), 0);
		share_path(self->shares, 3, path, sizeof(path));
		share_path(bad, 3, other, sizeof(other));
		n = rt_test_read(path, buf, sizeof(buf));
		ASSERT_EQ(rt_test_write(other, buf, 61), 0);
		ASSERT_EQ(restore(&self->p, bad, dir, mix, 3), 1);
		ASSERT_TRUE(env_file_has(self->p.e.out, "do not rebuild K_master"));
	}
	/* A world-readable share is refused before it is read. */
	share_path(self->shares, 4, path, sizeof(path));
	ASSERT_EQ(chmod(path, 0644), 0);
	{
		const unsigned four[3] = { 1, 2, 4 };

		ASSERT_EQ(restore(&self->p, self->shares, dir, four, 3), 1);
		ASSERT_TRUE(env_file_has(self->p.e.out, "too open"));
	}
}

TEST_F(backup, nothing_is_overwritten)
{
	const unsigned idx[3] = { 1, 2, 3 };

	ASSERT_EQ(ppd_run(&self->p, "init", "--dir", self->p.dir, "--passphrase-file", self->p.pass,
			  NULL), 1);
	ASSERT_TRUE(env_file_has(self->p.e.out, "refusing to overwrite"));
	ASSERT_EQ(restore(&self->p, self->shares, self->p.dir, idx, 3), 1);
	ASSERT_TRUE(env_file_has(self->p.e.out, "refusing to overwrite"));
	ASSERT_EQ(ppd_run(&self->p, "backup", "--dir", self->p.dir, "--threshold", "3", "--shares",
			  "5", "--out-dir", self->shares, "--passphrase-file", self->p.pass, NULL), 1);
	/* Wrong passphrase: refused with the reason. */
	ASSERT_EQ(rt_test_write(self->p.pass, "not it\n", 7), 0);
	ASSERT_EQ(ppd_run(&self->p, "backup", "--dir", self->p.dir, "--threshold", "2", "--shares",
			  "3", "--out-dir", self->shares, "--passphrase-file", self->p.pass, NULL), 1);
	ASSERT_TRUE(env_file_has(self->p.e.out, "wrong passphrase"));
	ASSERT_EQ(ppd_run(&self->p, "backup", "--dir", self->p.dir, "--threshold", "4", "--shares",
			  "3", "--out-dir", self->shares, "--passphrase-file", self->p.pass, NULL), 1);
	ASSERT_TRUE(env_file_has(self->p.e.out, "--threshold 4 is more than --shares 3"));
}
