/* SPDX-License-Identifier: MIT */
/*
 * 'iomt-ttp admin' as a program: init, register-user (phase 1, the ISSUED
 * file checked with ecqv_reconstruct_private), revoke-user, register-mec
 * (plain and sealed to a MEC's certificate), list, the configuration file,
 * the audit log, and every refusal with its message and exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "harness.h"
#include "rt/rt_test.h"
#include "testutil.h"
#include "lib/ecies.h"
#include "lib/ecqv.h"

enum { ISSUED_LEN = ECQV_CERT_LEN + ECQV_SCALAR_LEN, OUT_MAX = 1 << 16 };

FIXTURE(admin) {
	char dir[64], db[128], key[128], pub[128], audit[128], out[128];
	char bin[PATH_MAX];
	char text[OUT_MAX];     /* the last command's stdout and stderr */
	EVP_PKEY *ca_pub;
};

static void bin_path(char *out, size_t cap)
{
	ASSERT_EQ(rt_test_bin("iomt-ttp", out, cap), 0);
}

/* Runs iomt-ttp with the arguments (NULL-terminated): its exit status, its
 * output in self->text. */
static int run(FIXTURE_DATA(admin) *self, ...)
{
	static char prog[] = "iomt-ttp";
	char *argv[40] = { prog };
	int n = 1, status;
	va_list ap;
	pid_t pid;

	va_start(ap, self);
	/* execv's argv is char *const[] for history's sake; it writes nothing. */
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
	self->text[0] = '\0';
	rt_test_read(self->out, self->text, sizeof(self->text));
	ASSERT_TRUE(WIFEXITED(status));
	return WEXITSTATUS(status);
}

#define EXPECT_MSG(self, s)                                                  \
	do {                                                                 \
		if (!strstr((self)->text, (s)))                              \
			TH_LOG("output: %s", (self)->text);                  \
		ASSERT_NONNULL(strstr((self)->text, (s)));                   \
	} while (0)

FIXTURE_SETUP(admin)
{
	FILE *f;

	ASSERT_EQ(rt_test_mkdtemp(self->dir, sizeof(self->dir), "ttp-admin"), 0);
	bin_path(self->bin, sizeof(self->bin));
	snprintf(self->db, sizeof(self->db), "%s/ttp.db", self->dir);
	snprintf(self->key, sizeof(self->key), "%s/ca.key", self->dir);
	snprintf(self->pub, sizeof(self->pub), "%s/ca.pem", self->dir);
	snprintf(self->audit, sizeof(self->audit), "%s/audit.log", self->dir);
	snprintf(self->out, sizeof(self->out), "%s/cmd.out", self->dir);
	ASSERT_EQ(run(self, "admin", "init", "--db", self->db, "--ca-key", self->key, "--ca-pub",
		      self->pub, "--audit-log", self->audit, NULL), 0);
	f = fopen(self->pub, "r");
	ASSERT_NONNULL(f);
	self->ca_pub = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	ASSERT_NONNULL(self->ca_pub);
}

FIXTURE_TEARDOWN(admin)
{
	EVP_PKEY_free(self->ca_pub);
	rt_test_rmtree(self->dir);
}

static char *path(FIXTURE_DATA(admin) *self, const char *name)
{
	static char p[4][160];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", self->dir, name);
	return p[i];
}

static mode_t mode_of(const char *p)
{
	struct stat st;

	ASSERT_EQ(stat(p, &st), 0);
	return st.st_mode & 07777;
}

/* ---- init, usage ---- */

TEST_F(admin, init_makes_schema_and_keys_once)
{
	ASSERT_EQ(mode_of(self->key), 0600);
	ASSERT_EQ(mode_of(self->pub), 0644);
	ASSERT_EQ(mode_of(self->db), 0600);
	ASSERT_EQ(run(self, "admin", "init", "--db", self->db, "--ca-key", self->key, "--ca-pub",
		      path(self, "other.pem"), "--audit-log", self->audit, NULL), 1);
	EXPECT_MSG(self, "ca.key exists: refusing to replace a CA key");
	ASSERT_EQ(access(path(self, "other.pem"), F_OK), -1);
	ASSERT_EQ(run(self, "admin", "list", "--db", self->db, NULL), 0);
	EXPECT_MSG(self, "parties: 0 devices, 0 MEC slots");
}

TEST_F(admin, usage_errors_exit_2)
{
	ASSERT_EQ(run(self, "admin", NULL), 2);
	EXPECT_MSG(self, "Usage: iomt-ttp admin COMMAND");
	ASSERT_EQ(run(self, "admin", "frobnicate", NULL), 2);
	EXPECT_MSG(self, "unknown command 'frobnicate'");
	ASSERT_EQ(run(self, "admin", "list", "--dbx", self->db, NULL), 2);
	EXPECT_MSG(self, "unknown option '--dbx'");
	ASSERT_EQ(run(self, "admin", "list", "--db", NULL), 2);
	EXPECT_MSG(self, "option '--db' needs a value");
	ASSERT_EQ(run(self, "admin", "register-mec", "--db", self->db, "--name", "m", "--out",
		      path(self, "m.prov"), NULL), 2);
	EXPECT_MSG(self, "missing --slots");
	ASSERT_EQ(run(self, "admin", "list", "stray", NULL), 2);
	EXPECT_MSG(self, "unexpected argument 'stray'");
	ASSERT_EQ(run(self, "admin", "help", NULL), 0);
	EXPECT_MSG(self, "register-mec --db DB --name NAME --slots K --out FILE");
}

TEST_F(admin, missing_or_uninitialised_database)
{
	ASSERT_EQ(run(self, "admin", "list", "--db", path(self, "nope.db"), NULL), 1);
	EXPECT_MSG(self, "nope.db: database missing (create it with 'iomt-ttp admin init')");
	ASSERT_EQ(access(path(self, "nope.db"), F_OK), -1);   /* not created by accident */
	ASSERT_EQ(rt_test_write(path(self, "empty.db"), "", 0), 0);
	ASSERT_EQ(run(self, "admin", "register-mec", "--db", path(self, "empty.db"), "--name", "m",
		      "--slots", "1", "--out", path(self, "m.prov"), NULL), 1);
	EXPECT_MSG(self, "empty.db: not initialised (run 'iomt-ttp admin init')");
	ASSERT_EQ(access(path(self, "m.prov"), F_OK), -1);
}

/* ---- register-mec ---- */

TEST_F(admin, register_mec_writes_its_pool_and_list_shows_counts)
{
	char text[4096], did[33], dk[33], *p = text;
	int slot;

	ASSERT_EQ(run(self, "admin", "register-mec", "--db", self->db, "--name", "mec-a.1",
		      "--slots", "4", "--out", path(self, "a.prov"), "--audit-log", self->audit,
		      NULL), 0);
	EXPECT_MSG(self, "registered MEC 'mec-a.1' with 4 slots");
	ASSERT_EQ(mode_of(path(self, "a.prov")), 0600);
	ASSERT_EQ(rt_test_read(path(self, "a.prov"), text, sizeof(text)), 4 * 80);
	for (int i = 0; i < 4; i++) {
		ASSERT_EQ(sscanf(p, "slot=%d did=%32[0-9a-f] dk=%32[0-9a-f]\n", &slot, did, dk), 3);
		ASSERT_EQ(slot, i);
		p += 80;
	}
	ASSERT_EQ(run(self, "admin", "list", "--db", self->db, NULL), 0);
	EXPECT_MSG(self, "mec-a.1                  4 slots");
	EXPECT_MSG(self, "parties: 0 devices, 4 MEC slots");
	ASSERT_NULL(strstr(self->text, dk));   /* never a key */
	ASSERT_NULL(strstr(self->text, did));  /* nor an identity */
	ASSERT_EQ(run(self, "admin", "register-mec", "--db", self->db, "--name", "mec-a.1",
		      "--slots", "2", "--out", path(self, "b.prov"), NULL), 1);
	EXPECT_MSG(self, "MEC 'mec-a.1' is already registered");
	ASSERT_EQ(access(path(self, "b.prov"), F_OK), -1);
}

TEST_F(admin, register_mec_refuses_bad_arguments)
{
	static const char *const slots[] = { "0", "4097", "x", "-1", "3x", "" };

	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		ASSERT_NE(run(self, "admin", "register-mec", "--db", self->db, "--name", "m",
			      "--slots", slots[i], "--out", path(self, "m.prov"), NULL), 0);
		EXPECT_MSG(self, "--slots");
	}
	ASSERT_EQ(run(self, "admin", "register-mec", "--db", self->db, "--name", "bad name",
		      "--slots", "1", "--out", path(self, "m.prov"), NULL), 1);
	EXPECT_MSG(self, "--name: 'bad name' is not 1..64 characters");
	ASSERT_EQ(run(self, "admin", "register-mec", "--db", self->db, "--name", "m", "--slots",
		      "1", "--out", path(self, "m.prov"), "--to-cert", self->pub, NULL), 1);
	EXPECT_MSG(self, "--to-cert needs --ca-pub");
	ASSERT_EQ(run(self, "admin", "register-mec", "--db", self->db, "--name", "m", "--slots",
		      "1", "--out", path(self, "no/such/dir.prov"), NULL), 1);
	EXPECT_MSG(self, "No such file or directory");
	ASSERT_EQ(run(self, "admin", "list", "--db", self->db, NULL), 0);
	EXPECT_MSG(self, "parties: 0 devices, 0 MEC slots");
}

/* ---- register-user ---- */

/* Phase 1 through the command: the key pair behind the ISSUED file. */
static EVP_PKEY *register_user(FIXTURE_DATA(admin) *self, const char *name, const char *role,
			       struct ecqv_cert *cert)
{
	struct ecqv_request rq;
	uint8_t issued[ISSUED_LEN + 1];
	char req[160], out[160];
	EVP_PKEY *key = NULL;

	snprintf(req, sizeof(req), "%s/%s.req", self->dir, name);
	snprintf(out, sizeof(out), "%s/%s.issued", self->dir, name);
	ASSERT_EQ(ecqv_request_new(&rq), 0);
	ASSERT_EQ(rt_test_write(req, (const char *)rq.ru, sizeof(rq.ru)), 0);
	ASSERT_EQ(run(self, "admin", "register-user", "--db", self->db, "--ca-key", self->key,
		      "--role", role, "--id", name, "--attr", "hospital=H0001", "--days", "30",
		      "--request", req, "--out", out, "--audit-log", self->audit, NULL), 0);
	ASSERT_EQ(rt_test_read(out, (char *)issued, sizeof(issued)), ISSUED_LEN);
	ASSERT_EQ(ecqv_cert_decode(cert, issued, ECQV_CERT_LEN), 0);
	ASSERT_EQ(ecqv_reconstruct_private(&rq, cert, issued + ECQV_CERT_LEN, self->ca_pub,
					   (uint64_t)time(NULL), &key), 0);
	ecqv_request_wipe(&rq);
	return key;
}

TEST_F(admin, register_user_issues_a_certificate_that_reconstructs)
{
	struct ecqv_cert c;
	EVP_PKEY *k = register_user(self, "patient-00000042", "patient", &c);
	uint64_t now = (uint64_t)time(NULL);

	ASSERT_MEMEQ(c.subject, "patient-00000042", 16);
	ASSERT_MEMEQ(c.issuer, "iomt-ttp-0000001", 16);
	ASSERT_EQ(c.role, ECQV_ROLE_PATIENT);
	ASSERT_EQ(c.attr_len, 14);
	ASSERT_MEMEQ(c.attr, "hospital=H0001", 14);
	ASSERT_LE(c.not_before, now);
	ASSERT_GE(c.not_before + 5, now);
	ASSERT_EQ(c.not_after - c.not_before, 30 * 86400);
	ASSERT_EQ(mode_of(path(self, "patient-00000042.issued")), 0600);
	ASSERT_EQ(run(self, "admin", "list", "--db", self->db, NULL), 0);
	EXPECT_MSG(self, "patient-00000042 patient");
	EXPECT_MSG(self, "attr hospital=H0001");
	EVP_PKEY_free(k);
}

TEST_F(admin, register_user_refusals_leave_nothing)
{
	uint8_t bytes[40];
	struct ecqv_request rq;
	struct ecqv_cert c;
	char *req = path(self, "x.req"), *out = path(self, "x.issued");
	EVP_PKEY *k;

#define REG(role, id, attr)                                                            \
	run(self, "admin", "register-user", "--db", self->db, "--ca-key", self->key,   \
	    "--role", role, "--id", id, "--attr", attr, "--request", req, "--out", out, \
	    "--audit-log", self->audit, NULL)
	ASSERT_EQ(ecqv_request_new(&rq), 0);
	memcpy(bytes, rq.ru, 33);
	ASSERT_EQ(rt_test_write(req, (const char *)bytes, 32), 0);
	ASSERT_EQ(REG("patient", "p1", ""), 1);
	EXPECT_MSG(self, "x.req: 32 bytes, expected 33 (R_U from 'iomt-user keygen')");
	ASSERT_EQ(rt_test_write(req, (const char *)bytes, 34), 0);
	ASSERT_EQ(REG("patient", "p1", ""), 1);
	EXPECT_MSG(self, "x.req: larger than the 33 bytes expected");
	bytes[0] = 0x05;      /* no compressed point starts with 05 */
	ASSERT_EQ(rt_test_write(req, (const char *)bytes, 33), 0);
	ASSERT_EQ(REG("patient", "p1", ""), 1);
	EXPECT_MSG(self, "x.req: not a P-256 point (R_U)");
	ASSERT_EQ(rt_test_write(req, (const char *)rq.ru, 33), 0);
	ASSERT_EQ(REG("nurse", "p1", ""), 1);
	EXPECT_MSG(self, "--role: 'nurse' is not patient, doctor or mec");
	ASSERT_EQ(REG("patient", "seventeen-chars-x", ""), 1);
	EXPECT_MSG(self, "--id: 'seventeen-chars-x' is not 1..16 characters");
	ASSERT_EQ(REG("patient", "p1", "0123456789abcdef0123456789abcdef!"), 1);
	EXPECT_MSG(self, "--attr: 33 bytes, at most 32");
	ASSERT_EQ(REG("patient", "p1", "tab\there"), 1);
	EXPECT_MSG(self, "--attr: printable ASCII only");
	ASSERT_EQ(access(out, F_OK), -1);
	ASSERT_EQ(run(self, "admin", "list", "--db", self->db, NULL), 0);
	ASSERT_NULL(strstr(self->text, "p1"));
	k = register_user(self, "p1", "patient", &c);
	ASSERT_EQ(REG("doctor", "p1", ""), 1);
	EXPECT_MSG(self, "user 'p1' is already registered");
	EVP_PKEY_free(k);
	ecqv_request_wipe(&rq);
#undef REG
}

TEST_F(admin, ca_key_readable_by_others_is_refused)
{
	struct ecqv_request rq;

	ASSERT_EQ(ecqv_request_new(&rq), 0);
	ASSERT_EQ(rt_test_write(path(self, "r.req"), (const char *)rq.ru, 33), 0);
	ASSERT_EQ(chmod(self->key, 0640), 0);
	ASSERT_EQ(run(self, "admin", "register-user", "--db", self->db, "--ca-key", self->key,
		      "--role", "patient", "--id", "p2", "--request", path(self, "r.req"), "--out",
		      path(self, "r.issued"), "--audit-log", self->audit, NULL), 1);
	EXPECT_MSG(self, "mode 0640 lets others read the CA key (chmod 600 it)");
	ASSERT_EQ(run(self, "admin", "register-user", "--db", self->db, "--ca-key",
		      path(self, "nokey"), "--role", "patient", "--id", "p2", "--request",
		      path(self, "r.req"), "--out", path(self, "r.issued"), NULL), 1);
	EXPECT_MSG(self, "nokey: No such file or directory");
	/* A public key where the private one belongs. */
	ASSERT_EQ(chmod(self->pub, 0600), 0);
	ASSERT_EQ(run(self, "admin", "register-user", "--db", self->db, "--ca-key", self->pub,
		      "--role", "patient", "--id", "p2", "--request", path(self, "r.req"), "--out",
		      path(self, "r.issued"), NULL), 1);
	EXPECT_MSG(self, "ca.pem: not a PEM P-256 private key");
	ecqv_request_wipe(&rq);
}

TEST_F(admin, revoke_user)
{
	struct ecqv_cert c;
	EVP_PKEY *k = register_user(self, "carol", "doctor", &c);

	ASSERT_EQ(run(self, "admin", "revoke-user", "--db", self->db, "--id", "dave",
		      "--audit-log", self->audit, NULL), 1);
	EXPECT_MSG(self, "unknown user 'dave'");
	ASSERT_EQ(run(self, "admin", "revoke-user", "--db", self->db, "--id", "carol",
		      "--audit-log", self->audit, NULL), 0);
	ASSERT_EQ(run(self, "admin", "revoke-user", "--db", self->db, "--id", "carol",
		      "--audit-log", self->audit, NULL), 1);
	EXPECT_MSG(self, "user 'carol' is already revoked");
	ASSERT_EQ(run(self, "admin", "list", "--db", self->db, NULL), 0);
	EXPECT_MSG(self, "REVOKED");
	EVP_PKEY_free(k);
}

/* ---- sealed provisioning ---- */

TEST_F(admin, register_mec_sealed_to_the_mec_certificate)
{
	static uint8_t box[8192], pt[8192];
	struct ecqv_cert mc, pc;
	EVP_PKEY *mec = register_user(self, "mec-op", "mec", &mc);
	EVP_PKEY *pat = register_user(self, "pat", "patient", &pc);
	long n;

	ASSERT_EQ(run(self, "admin", "register-mec", "--db", self->db, "--name", "edge-1",
		      "--slots", "3", "--out", path(self, "edge.sealed"), "--to-cert",
		      path(self, "mec-op.issued"), "--ca-pub", self->pub, "--audit-log",
		      self->audit, NULL), 0);
	EXPECT_MSG(self, "(sealed)");
	n = rt_test_read(path(self, "edge.sealed"), (char *)box, sizeof(box));
	ASSERT_EQ(n, 3 * 80 + ECIES_OVERHEAD);
	ASSERT_EQ(ecies_open(mec, NULL, 0, box, (size_t)n, pt), 0);
	ASSERT_EQ(memcmp(pt, "slot=0 did=", 11), 0);
	ASSERT_EQ(memcmp(pt + 160, "slot=2 did=", 11), 0);
	/* Nobody else opens it. */
	ASSERT_NE(ecies_open(pat, NULL, 0, box, (size_t)n, pt), 0);
	/* Not a MEC's certificate; not a certificate; a revoked MEC user. */
	ASSERT_EQ(run(self, "admin", "register-mec", "--db", self->db, "--name", "edge-2",
		      "--slots", "1", "--out", path(self, "e2"), "--to-cert",
		      path(self, "pat.issued"), "--ca-pub", self->pub, NULL), 1);
	EXPECT_MSG(self, "pat.issued: not a MEC's certificate");
	ASSERT_EQ(run(self, "admin", "register-mec", "--db", self->db, "--name", "edge-2",
		      "--slots", "1", "--out", path(self, "e2"), "--to-cert", self->pub,
		      "--ca-pub", self->pub, NULL), 1);
	EXPECT_MSG(self, "ca.pem: larger than the 157 bytes expected");
	ASSERT_EQ(rt_test_write(path(self, "short.cert"), (const char *)box, 124), 0);
	ASSERT_EQ(run(self, "admin", "register-mec", "--db", self->db, "--name", "edge-2",
		      "--slots", "1", "--out", path(self, "e2"), "--to-cert",
		      path(self, "short.cert"), "--ca-pub", self->pub, NULL), 1);
	EXPECT_MSG(self, "short.cert: 124 bytes, expected a certificate (125) or an ISSUED file (157)");
	ASSERT_EQ(run(self, "admin", "revoke-user", "--db", self->db, "--id", "mec-op",
		      "--audit-log", self->audit, NULL), 0);
	ASSERT_EQ(run(self, "admin", "register-mec", "--db", self->db, "--name", "edge-2",
		      "--slots", "1", "--out", path(self, "e2"), "--to-cert",
		      path(self, "mec-op.issued"), "--ca-pub", self->pub, NULL), 1);
	EXPECT_MSG(self, "not the certificate of a registered, non-revoked MEC user");
	ASSERT_EQ(access(path(self, "e2"), F_OK), -1);
	EVP_PKEY_free(mec);
	EVP_PKEY_free(pat);
}

/* ---- configuration and audit ---- */

TEST_F(admin, config_file_supplies_db_and_audit_log)
{
	char conf[1024], text[OUT_MAX];
	int n = snprintf(conf, sizeof(conf), "db %s\naudit_log %s\nca_key %s\n", self->db,
			 path(self, "conf-audit.log"), self->key);

	ASSERT_EQ(rt_test_write(path(self, "ttp.conf"), conf, (size_t)n), 0);
	ASSERT_EQ(run(self, "admin", "register-mec", "--config", path(self, "ttp.conf"), "--name",
		      "m", "--slots", "2", "--out", path(self, "m.prov"), NULL), 0);
	ASSERT_GT(rt_test_read(path(self, "conf-audit.log"), text, sizeof(text)), 0);
	ASSERT_NONNULL(strstr(text, "\"event\":\"admin_register_mec\",\"mec\":\"m\""));
	ASSERT_EQ(rt_test_write(path(self, "bad.conf"), "dbx /x\n", 7), 0);
	ASSERT_EQ(run(self, "admin", "list", "--config", path(self, "bad.conf"), NULL), 2);
	EXPECT_MSG(self, "bad.conf:1: unknown key 'dbx'");
}

TEST_F(admin, audit_log_records_every_change)
{
	char text[OUT_MAX];
	struct ecqv_cert c;
	EVP_PKEY *k = register_user(self, "erin", "patient", &c);

	ASSERT_EQ(run(self, "admin", "register-mec", "--db", self->db, "--name", "m", "--slots",
		      "2", "--out", path(self, "m.prov"), "--audit-log", self->audit, NULL), 0);
	ASSERT_EQ(run(self, "admin", "revoke-user", "--db", self->db, "--id", "erin",
		      "--audit-log", self->audit, NULL), 0);
	/* Without --audit-log: beside the database. */
	ASSERT_EQ(run(self, "admin", "register-mec", "--db", self->db, "--name", "m2", "--slots",
		      "1", "--out", path(self, "m2.prov"), NULL), 0);
	ASSERT_GT(rt_test_read(self->audit, text, sizeof(text)), 0);
	ASSERT_NONNULL(strstr(text, "\"event\":\"admin_init\""));
	ASSERT_NONNULL(strstr(text, "\"event\":\"admin_register_user\",\"user\":\"erin\""));
	ASSERT_NONNULL(strstr(text, "\"event\":\"admin_register_mec\",\"mec\":\"m\",\"slots\":\"2\""));
	ASSERT_NONNULL(strstr(text, "\"event\":\"admin_revoke_user\",\"user\":\"erin\""));
	ASSERT_GT(rt_test_read(path(self, "ttp-audit.log"), text, sizeof(text)), 0);
	ASSERT_NONNULL(strstr(text, "\"mec\":\"m2\""));
	EVP_PKEY_free(k);
}
