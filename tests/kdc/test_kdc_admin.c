/* SPDX-License-Identifier: MIT */
/*
 * 'iomt-kdc admin' as a program: every subcommand, its output, its audit
 * record, and every refusal with its message and exit status (1 for a
 * refused action, 2 for a usage error).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "harness.h"
#include "kdc.h"
#include "lib/rt_keyfile.h"
#include "rt/rt_test.h"

enum { OUT_MAX = 1 << 16 };

FIXTURE(admin) {
	char dir[64], db[128], master[128], out[128], audit[128], key[128], pass[128];
	char bin[PATH_MAX];
	char text[OUT_MAX];     /* the last command's stdout and stderr */
};

/* iomt-kdc with the arguments (NULL-terminated): exit status; output in text. */
static int run(FIXTURE_DATA(admin) *self, ...)
{
	static char prog[] = "iomt-kdc";
	char *argv[40] = { prog };
	int n = 1, status;
	va_list ap;
	pid_t pid;

	va_start(ap, self);
	while (n < 39 && (argv[n] = (char *)(uintptr_t)va_arg(ap, const char *)))
		n++;
	va_end(ap);
	unlink(self->out);
	pid = fork();
	if (pid == 0) {
		int fd = open(self->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		execv(self->bin, argv);
		_exit(127);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_GE(rt_test_read(self->out, self->text, sizeof(self->text)), 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#define HAS(s) ASSERT_NONNULL(strstr(self->text, (s)))

FIXTURE_SETUP(admin)
{
	ASSERT_EQ(rt_test_mkdtemp(self->dir, sizeof(self->dir), "kdca"), 0);
	ASSERT_EQ(rt_test_bin("iomt-kdc", self->bin, sizeof(self->bin)), 0);
	if (access(self->bin, X_OK))
		SKIP(return, "iomt-kdc not built");
	snprintf(self->db, sizeof(self->db), "%s/kdc.db", self->dir);
	snprintf(self->master, sizeof(self->master), "%s/master.key", self->dir);
	snprintf(self->out, sizeof(self->out), "%s/out", self->dir);
	snprintf(self->audit, sizeof(self->audit), "%s/kdc-audit.log", self->dir);
	snprintf(self->key, sizeof(self->key), "%s/dev.key", self->dir);
	snprintf(self->pass, sizeof(self->pass), "%s/pass", self->dir);
	ASSERT_EQ(run(self, "admin", "init", "--db", self->db, "--master", self->master, NULL), 0);
	HAS("initialised");
}

FIXTURE_TEARDOWN(admin)
{
	rt_test_rmtree(self->dir);
}

TEST_F(admin, init_makes_a_private_key_and_refuses_to_overwrite)
{
	struct stat st;
	char other[160];
	uint8_t before[64], after[64];

	ASSERT_EQ(stat(self->master, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);
	ASSERT_EQ(st.st_size, 52);
	ASSERT_EQ(stat(self->db, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);
	ASSERT_EQ(rt_test_read(self->master, (char *)before, sizeof(before)), 52);
	ASSERT_EQ(run(self, "admin", "init", "--db", self->db, "--master", self->master, NULL), 1);
	HAS("refusing to replace a master key");
	snprintf(other, sizeof(other), "%s/other.key", self->dir);
	ASSERT_EQ(run(self, "admin", "init", "--db", self->db, "--master", other, NULL), 1);
	HAS("refusing to overwrite a database");
	ASSERT_NE(access(other, F_OK), 0);
	ASSERT_EQ(rt_test_read(self->master, (char *)after, sizeof(after)), 52);
	ASSERT_MEMEQ(before, after, 52);
	ASSERT_EQ(run(self, "admin", "init", "--db", self->db, NULL), 2);
	HAS("missing --master");
	ASSERT_GT(rt_test_read(self->audit, self->text, sizeof(self->text)), 0);
	HAS("\"event\":\"admin_init\"");
}

TEST_F(admin, register_checks_names_kinds_and_patients)
{
	ASSERT_EQ(run(self, "admin", "register", "s1", "--kind", "sensor", "--patient", "alice",
		      "--db", self->db, NULL), 0);
	HAS("registered s1 (sensor, patient alice), key version 1");
	ASSERT_EQ(run(self, "admin", "register", "c1", "--kind", "cloud", "--db", self->db, NULL),
		  0);
	ASSERT_EQ(run(self, "admin", "register", "s1", "--kind", "sensor", "--patient", "alice",
		      "--db", self->db, NULL), 1);
	HAS("'s1' is already registered");
	ASSERT_EQ(run(self, "admin", "register", "c2", "--kind", "cloud", "--patient", "bob",
		      "--db", self->db, NULL), 1);
	HAS("the cloud store belongs to no patient");
	ASSERT_EQ(run(self, "admin", "register", "g1", "--kind", "gateway", "--db", self->db,
		      NULL), 1);
	HAS("a gateway belongs to a patient: --patient P is needed");
	ASSERT_EQ(run(self, "admin", "register", "x", "--kind", "toaster", "--patient", "a",
		      "--db", self->db, NULL), 1);
	HAS("sensor, gateway, ppd or cloud expected");
	ASSERT_EQ(run(self, "admin", "register", "bad/name", "--kind", "sensor", "--patient", "a",
		      "--db", self->db, NULL), 1);
	HAS("1..16 of");
	ASSERT_EQ(run(self, "admin", "register", "seventeen-chars-x", "--kind", "sensor",
		      "--patient", "a", "--db", self->db, NULL), 1);
	ASSERT_EQ(run(self, "admin", "register", "krbtgt", "--kind", "sensor", "--patient", "a",
		      "--db", self->db, NULL), 1);
	HAS("reserved for the TGS");
	ASSERT_EQ(run(self, "admin", "register", "p1", "--kind", "ppd", "--patient", "b@d",
		      "--db", self->db, NULL), 1);
	ASSERT_EQ(run(self, "admin", "register", "--kind", "ppd", "--patient", "b",
		      "--db", self->db, NULL), 2);
	HAS("missing NAME");
	ASSERT_EQ(run(self, "admin", "register", "a", "b", "--kind", "ppd", "--db", self->db,
		      NULL), 2);
	HAS("unexpected argument 'b'");
	ASSERT_EQ(run(self, "admin", "register", "a", "--kind", "ppd", "--patient", "b", NULL), 2);
	ASSERT_EQ(run(self, "admin", "register", "a", "--kind", "ppd", "--patient", "b", "--db",
		      "/nonexistent/kdc.db", NULL), 1);
	HAS("database missing");
	ASSERT_GT(rt_test_read(self->audit, self->text, sizeof(self->text)), 0);
	HAS("\"event\":\"admin_register\",\"name\":\"s1\",\"kind\":\"sensor\",\"patient\":\"alice\"");
	HAS("\"event\":\"admin_register\",\"name\":\"c1\",\"kind\":\"cloud\",\"patient\":\"\"");
}

TEST_F(admin, list_shows_everything_but_secrets)
{
	ASSERT_EQ(run(self, "admin", "register", "s1", "--kind", "sensor", "--patient", "alice",
		      "--db", self->db, NULL), 0);
	ASSERT_EQ(run(self, "admin", "register", "c1", "--kind", "cloud", "--db", self->db, NULL),
		  0);
	ASSERT_EQ(run(self, "admin", "revoke", "c1", "--db", self->db, NULL), 0);
	ASSERT_EQ(run(self, "admin", "list", "--db", self->db, NULL), 0);
	HAS("NAME");
	HAS("s1               sensor   alice                1 active");
	HAS("c1               cloud    -                    1 revoked");
	HAS("2 principals; TGS key version 1");
	ASSERT_EQ(run(self, "admin", "list", "--json", "--db", self->db, NULL), 0);
	HAS("{\"tgs_kvno\":1,\"principals\":[");
	HAS("{\"name\":\"c1\",\"kind\":\"cloud\",\"patient\":\"\",\"kvno\":1,\"status\":\"revoked\"");
	HAS("{\"name\":\"s1\",\"kind\":\"sensor\",\"patient\":\"alice\",\"kvno\":1,\"status\":\"active\"");
	ASSERT_NULL(strstr(self->text, "salt"));
	ASSERT_EQ(run(self, "admin", "list", "extra", "--db", self->db, NULL), 2);
}

TEST_F(admin, rotate_and_revoke)
{
	struct rt_keyfile a, b;
	char err[256];

	ASSERT_EQ(run(self, "admin", "register", "s1", "--kind", "sensor", "--patient", "alice",
		      "--db", self->db, NULL), 0);
	ASSERT_EQ(run(self, "admin", "export-key", "s1", "--db", self->db, "--master",
		      self->master, "--out", self->key, NULL), 0);
	ASSERT_EQ(rt_keyfile_read(self->key, NULL, &a, err, sizeof(err)), 0);
	ASSERT_EQ(run(self, "admin", "rotate", "s1", "--db", self->db, NULL), 0);
	HAS("rotated s1: key version 2");
	ASSERT_EQ(run(self, "admin", "export-key", "s1", "--db", self->db, "--master",
		      self->master, "--out", self->key, NULL), 0);
	ASSERT_EQ(rt_keyfile_read(self->key, NULL, &b, err, sizeof(err)), 0);
	ASSERT_EQ(b.kvno, 2);
	ASSERT_NE(memcmp(a.key, b.key, sizeof(a.key)), 0);
	ASSERT_EQ(run(self, "admin", "rotate", "--tgs", "--db", self->db, NULL), 0);
	HAS("rotated the TGS key: key version 2");
	ASSERT_EQ(run(self, "admin", "rotate", "s1", "--tgs", "--db", self->db, NULL), 2);
	HAS("give NAME or --tgs, not both");
	ASSERT_EQ(run(self, "admin", "rotate", "ghost", "--db", self->db, NULL), 1);
	HAS("'ghost' is not registered");
	ASSERT_EQ(run(self, "admin", "revoke", "ghost", "--db", self->db, NULL), 1);
	HAS("'ghost' is not registered");
	ASSERT_EQ(run(self, "admin", "revoke", "s1", "--db", self->db, NULL), 0);
	HAS("revoked s1");
	ASSERT_EQ(run(self, "admin", "revoke", "s1", "--db", self->db, NULL), 1);
	HAS("'s1' is already revoked");
	ASSERT_EQ(run(self, "admin", "rotate", "s1", "--db", self->db, NULL), 1);
	HAS("'s1' is revoked");
	ASSERT_EQ(run(self, "admin", "export-key", "s1", "--db", self->db, "--master",
		      self->master, "--out", self->key, NULL), 1);
	HAS("no key to export");
	ASSERT_EQ(run(self, "admin", "list", "--db", self->db, NULL), 0);
	HAS("TGS key version 2");
	ASSERT_GT(rt_test_read(self->audit, self->text, sizeof(self->text)), 0);
	HAS("\"event\":\"admin_rotate\",\"name\":\"s1\",\"kvno\":\"2\"");
	HAS("\"event\":\"admin_rotate_tgs\",\"kvno\":\"2\"");
	HAS("\"event\":\"admin_revoke\",\"name\":\"s1\"");
	rt_keyfile_wipe(&a);
	rt_keyfile_wipe(&b);
}

TEST_F(admin, export_key_plain_and_with_passcode)
{
	struct rt_keyfile kf;
	char err[256], hex[80], other[160];
	uint8_t kcv[8];

	ASSERT_EQ(run(self, "admin", "register", "g1", "--kind", "gateway", "--patient", "alice",
		      "--db", self->db, NULL), 0);
	ASSERT_EQ(run(self, "admin", "export-key", "g1", "--db", self->db, "--master",
		      self->master, "--out", self->key, NULL), 0);
	HAS("(plain: install near-field)");
	ASSERT_EQ(rt_keyfile_read(self->key, NULL, &kf, err, sizeof(err)), 0);
	ASSERT_EQ(kf.kind, IOMT_KDC_KIND_GATEWAY);
	ASSERT_EQ(kf.kvno, 1);
	ASSERT_STREQ((const char *)kf.name, "g1");
	ASSERT_STREQ((const char *)kf.patient, "alice");
	/* The check value printed is the key's. */
	iomt_kdc_key_check(kf.key, kcv);
	for (int i = 0; i < 8; i++)
		sprintf(hex + 2 * i, "%02x", kcv[i]);
	HAS(hex);
	rt_keyfile_wipe(&kf);

	ASSERT_EQ(rt_test_write(self->pass, "s3cret pin\n", 11), 0);
	ASSERT_EQ(run(self, "admin", "export-key", "g1", "--db", self->db, "--master",
		      self->master, "--out", self->key, "--passcode-file", self->pass, NULL), 0);
	HAS("passcode-protected");
	ASSERT_EQ(rt_keyfile_read(self->key, NULL, &kf, err, sizeof(err)), -ENOKEY);
	ASSERT_EQ(rt_keyfile_read(self->key, "s3cret pin", &kf, err, sizeof(err)), 0);
	rt_keyfile_wipe(&kf);

	ASSERT_EQ(rt_test_write(self->pass, "\n", 1), 0);
	ASSERT_EQ(run(self, "admin", "export-key", "g1", "--db", self->db, "--master",
		      self->master, "--out", self->key, "--passcode-file", self->pass, NULL), 1);
	HAS("empty passcode");
	ASSERT_EQ(run(self, "admin", "export-key", "g1", "--db", self->db, "--out", self->key,
		      NULL), 2);
	HAS("missing --master");
	ASSERT_EQ(run(self, "admin", "export-key", "zz", "--db", self->db, "--master",
		      self->master, "--out", self->key, NULL), 1);
	HAS("'zz' is not registered");
	/* Another installation's master key is refused. */
	snprintf(other, sizeof(other), "%s/other", self->dir);
	ASSERT_EQ(mkdir(other, 0700), 0);
	{
		char db2[200], m2[200];

		snprintf(db2, sizeof(db2), "%s/kdc.db", other);
		snprintf(m2, sizeof(m2), "%s/master.key", other);
		ASSERT_EQ(run(self, "admin", "init", "--db", db2, "--master", m2, NULL), 0);
		ASSERT_EQ(run(self, "admin", "export-key", "g1", "--db", self->db, "--master", m2,
			      "--out", self->key, NULL), 1);
		HAS("does not belong to this database");
		ASSERT_EQ(chmod(self->master, 0644), 0);
		ASSERT_EQ(run(self, "admin", "export-key", "g1", "--db", self->db, "--master",
			      self->master, "--out", self->key, NULL), 1);
		HAS("too open");
	}
	ASSERT_GT(rt_test_read(self->audit, self->text, sizeof(self->text)), 0);
	HAS("\"event\":\"admin_export_key\",\"name\":\"g1\",\"kvno\":\"1\",\"form\":\"plain\"");
	HAS("\"form\":\"passcode\"");
}

TEST_F(admin, help_and_usage_errors)
{
	ASSERT_EQ(run(self, "admin", "--help", NULL), 0);
	HAS("Usage: iomt-kdc admin COMMAND");
	HAS("export-key NAME");
	ASSERT_EQ(run(self, "admin", "help", NULL), 0);
	ASSERT_EQ(run(self, "admin", NULL), 2);
	ASSERT_EQ(run(self, "admin", "frobnicate", NULL), 2);
	HAS("unknown command 'frobnicate'");
	ASSERT_EQ(run(self, "admin", "register", "--help", NULL), 0);
	HAS("Usage: iomt-kdc admin register NAME");
	ASSERT_EQ(run(self, "admin", "list", "--bogus", "x", "--db", self->db, NULL), 2);
	HAS("unknown option '--bogus'");
	ASSERT_EQ(run(self, "admin", "list", "--db", NULL), 2);
	HAS("needs a value");
	ASSERT_EQ(run(self, "--help", NULL), 0);
	HAS("tgt_lifetime");
	HAS("SIGTERM");
	HAS("iomt-kdc admin export-key");
}

TEST_F(admin, config_file_supplies_db_and_master)
{
	char conf[160], text[512];
	int n;

	snprintf(conf, sizeof(conf), "%s/kdc.conf", self->dir);
	n = snprintf(text, sizeof(text), "db %s\nmaster %s\naudit_log %s\n", self->db,
		     self->master, self->audit);
	ASSERT_EQ(rt_test_write(conf, text, (size_t)n), 0);
	ASSERT_EQ(run(self, "admin", "register", "p1", "--kind", "ppd", "--patient", "alice",
		      "--config", conf, NULL), 0);
	ASSERT_EQ(run(self, "admin", "export-key", "p1", "--config", conf, "--out", self->key,
		      NULL), 0);
	ASSERT_EQ(run(self, "-c", conf, "-t", NULL), 0);
	HAS("configuration OK");
	n = snprintf(text, sizeof(text), "db %s\nprot 1\n", self->db);
	ASSERT_EQ(rt_test_write(conf, text, (size_t)n), 0);
	ASSERT_EQ(run(self, "admin", "list", "--config", conf, NULL), 2);
	HAS("kdc.conf:2: unknown key 'prot'");
}
