// SPDX-License-Identifier: MIT
/*
 * iomt-user end to end: registration (keygen, finish) against a CA made in
 * the test, every byte of ISSUED tampered with, show, create-analysis
 * against a small fake TTP on loopback (a response, a refusal, silence, no
 * listener, a response sealed to someone else), unseal, and bad inputs.
 * The tool is run as a program: build/bin/iomt-user next to this suite.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "lib/ecies.h"
#include "lib/ecqv.h"
#include "lib/s2_phase2.h"
#include "common/testutil.h"
#include "rt/rt_test.h"
#include "bytes.h"
#include "harness.h"
#include "iomt_err.h"
#include "wire.h"

enum { OUT_MAX = 16384, ISSUED_LEN = ECQV_CERT_LEN + ECQV_SCALAR_LEN, KEYFILE_LEN = 161 };

FIXTURE(tool) {
	char dir[64], ca_pem[128], req[128], secret[128], issued[128], key[128];
	char out[OUT_MAX], err[OUT_MAX];
	EVP_PKEY *ca;
	struct ecqv_cert cert;		/* as issued */
};

/* ---- running the tool ------------------------------------------------------- */

static void tool_path(char *out, size_t cap)
{
	ASSERT_EQ(rt_test_bin("iomt-user", out, cap), 0);
}

/* Runs iomt-user with args (NULL-terminated); stdout/stderr into self. */
static int run(FIXTURE_DATA(tool) *self, const char *const *args)
{
	char bin[PATH_MAX], outp[160], errp[160];
	const char *argv[32];
	int status, n = 0;
	pid_t pid;

	tool_path(bin, sizeof(bin));
	argv[n++] = "iomt-user";
	while (*args && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	snprintf(outp, sizeof(outp), "%s/stdout", self->dir);
	snprintf(errp, sizeof(errp), "%s/stderr", self->dir);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (!freopen(outp, "w", stdout) || !freopen(errp, "w", stderr))
			_exit(126);
		execv(bin, (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	rt_test_read(outp, self->out, sizeof(self->out));
	rt_test_read(errp, self->err, sizeof(self->err));
	ASSERT_TRUE(WIFEXITED(status));
	if (WEXITSTATUS(status) && getenv("IOMT_TEST_VERBOSE"))
		TH_LOG("%s %s: exit %d: %s", argv[1], argv[2] ? argv[2] : "", WEXITSTATUS(status),
		       self->err);
	return WEXITSTATUS(status);
}

#define RUN(...) run(self, (const char *const[]){ __VA_ARGS__, NULL })

static void expect_err(FIXTURE_DATA(tool) *self, const char *needle)
{
	if (!strstr(self->err, needle))
		TH_LOG("stderr lacks \"%s\":\n%s", needle, self->err);
	ASSERT_NONNULL(strstr(self->err, needle));
}

static void path_in(FIXTURE_DATA(tool) *self, char *out, size_t cap, const char *name)
{
	ASSERT_LT((size_t)snprintf(out, cap, "%s/%s", self->dir, name), cap);
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (long)st.st_size;
}

static unsigned file_mode(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (unsigned)(st.st_mode & 07777);
}

static void read_exact(const char *path, uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "rb");

	ASSERT_NONNULL(f);
	ASSERT_EQ(fread(buf, 1, len, f), len);
	fclose(f);
}

static void write_bytes(const char *path, const void *buf, size_t len)
{
	unlink(path);
	ASSERT_EQ(rt_test_write(path, buf, len), 0);
}

/* ---- the CA ----------------------------------------------------------------- */

static void write_pub_pem(const char *path, EVP_PKEY *k)
{
	FILE *f = fopen(path, "w");

	ASSERT_NONNULL(f);
	ASSERT_EQ(PEM_write_PUBKEY(f, k), 1);
	ASSERT_EQ(fclose(f), 0);
}

/* What iomt-ttp admin register-user does: REQ in, cert || r out. */
static void issue(FIXTURE_DATA(tool) *self, EVP_PKEY *ca, uint64_t nb, uint64_t na,
		  const char *issued_path)
{
	uint8_t ru[ECQV_POINT_LEN], out[ISSUED_LEN];
	struct ecqv_cert *c = &self->cert;

	read_exact(self->req, ru, sizeof(ru));
	memset(c, 0, sizeof(*c));
	c->serial = 42;
	memcpy(c->issuer, "iomt-ttp-0000001", ECQV_ID_LEN);
	memcpy(c->subject, "patient-00000042", ECQV_ID_LEN);
	c->role = ECQV_ROLE_PATIENT;
	c->attr_len = 14;
	memcpy(c->attr, "hospital=H0001", 14);
	c->not_before = nb;
	c->not_after = na;
	ASSERT_EQ(ecqv_ca_issue(ca, ru, c, out + ECQV_CERT_LEN), 0);
	ASSERT_EQ(ecqv_cert_encode(c, out), 0);
	write_bytes(issued_path, out, sizeof(out));
}

static uint64_t now_s(void)
{
	return (uint64_t)time(NULL);
}

FIXTURE_SETUP(tool)
{
	ASSERT_EQ(rt_test_mkdtemp(self->dir, sizeof(self->dir), "user"), 0);
	path_in(self, self->ca_pem, sizeof(self->ca_pem), "ca.pem");
	path_in(self, self->req, sizeof(self->req), "patient.req");
	path_in(self, self->secret, sizeof(self->secret), "patient.req.secret");
	path_in(self, self->issued, sizeof(self->issued), "patient.issued");
	path_in(self, self->key, sizeof(self->key), "patient.key");
	self->ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ASSERT_NONNULL(self->ca);
	write_pub_pem(self->ca_pem, self->ca);
}

FIXTURE_TEARDOWN(tool)
{
	EVP_PKEY_free(self->ca);
	rt_test_rmtree(self->dir);
}

/* keygen, issue, finish: a registered patient. */
static void register_patient(FIXTURE_DATA(tool) *self)
{
	ASSERT_EQ(RUN("keygen", "--out", self->req), 0);
	issue(self, self->ca, now_s() - 3600, now_s() + 86400, self->issued);
	ASSERT_EQ(RUN("finish", "--request", self->req, "--issued", self->issued, "--ca-pub",
		      self->ca_pem, "--out", self->key), 0);
}

/* The public key of the registered patient, as a relying party gets it. */
static EVP_PKEY *patient_pub(FIXTURE_DATA(tool) *self)
{
	EVP_PKEY *pub = NULL;

	ASSERT_EQ(ecqv_public_from_cert(&self->cert, self->ca, now_s(), &pub), 0);
	return pub;
}

/* ---- phase 1 ---------------------------------------------------------------- */

TEST_F(tool, keygen_writes_request)
{
	ASSERT_EQ(RUN("keygen", "--out", self->req), 0);
	EXPECT_EQ(file_size(self->req), ECQV_POINT_LEN);
	EXPECT_EQ(file_size(self->secret), ECQV_SCALAR_LEN);
	EXPECT_EQ(file_mode(self->secret), 0600);
	/* A pending request is never replaced. */
	EXPECT_EQ(RUN("keygen", "--out", self->req), 1);
	expect_err(self, "exists");
}

TEST_F(tool, finish_round_trip)
{
	uint8_t kf[KEYFILE_LEN], enc[ECQV_CERT_LEN];

	register_patient(self);
	EXPECT_NONNULL(strstr(self->out, "registered patient-00000042 (patient)"));
	EXPECT_EQ(file_size(self->key), KEYFILE_LEN);
	EXPECT_EQ(file_mode(self->key), 0600);
	EXPECT_EQ(access(self->secret, F_OK), -1);	/* k_U is gone */
	read_exact(self->key, kf, sizeof(kf));
	ASSERT_EQ(ecqv_cert_encode(&self->cert, enc), 0);
	EXPECT_MEMEQ(kf, "IUK\x01", 4);
	EXPECT_MEMEQ(kf + 4, enc, ECQV_CERT_LEN);
	/* finish never replaces a key file. */
	unlink(self->req);
	ASSERT_EQ(RUN("keygen", "--out", self->req), 0);
	issue(self, self->ca, now_s() - 10, now_s() + 10, self->issued);
	EXPECT_EQ(RUN("finish", "--request", self->req, "--issued", self->issued, "--ca-pub",
		      self->ca_pem, "--out", self->key), 1);
	expect_err(self, "exists");
}

/* Every byte of ISSUED, one bit each: finish refuses and keeps REQ.secret. */
TEST_F_TIMEOUT(tool, finish_refuses_tampered_issued, 120)
{
	uint8_t good[ISSUED_LEN], bad[ISSUED_LEN];
	int explained;

	ASSERT_EQ(RUN("keygen", "--out", self->req), 0);
	issue(self, self->ca, now_s() - 3600, now_s() + 86400, self->issued);
	read_exact(self->issued, good, sizeof(good));
	for (size_t i = 0; i < sizeof(good); i++) {
		memcpy(bad, good, sizeof(bad));
		bad[i] ^= (uint8_t)(1 << (i % 8));
		write_bytes(self->issued, bad, sizeof(bad));
		ASSERT_EQ(RUN("finish", "--request", self->req, "--issued", self->issued,
			      "--ca-pub", self->ca_pem, "--out", self->key), 1);
		/* Malformed, outside its window, or caught by the key check. */
		explained = strstr(self->err, "SEC 4 key check failed") ||
			    strstr(self->err, "is malformed") || strstr(self->err, "is not valid") ||
			    strstr(self->err, "certificate expired") ||
			    strstr(self->err, "certificate not yet valid");
		if (!explained)
			TH_LOG("byte %zu: %s", i, self->err);
		ASSERT_TRUE(explained);
		ASSERT_EQ(access(self->key, F_OK), -1);
		ASSERT_EQ(file_size(self->secret), ECQV_SCALAR_LEN);
	}
	write_bytes(self->issued, good, sizeof(good));
	ASSERT_EQ(RUN("finish", "--request", self->req, "--issued", self->issued, "--ca-pub",
		      self->ca_pem, "--out", self->key), 0);
}

TEST_F(tool, finish_refuses_bad_inputs)
{
	char other_pem[128], other_req[128], bad[128];
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	uint8_t issued[ISSUED_LEN];

	ASSERT_NONNULL(other);
	path_in(self, other_pem, sizeof(other_pem), "other-ca.pem");
	path_in(self, other_req, sizeof(other_req), "other.req");
	path_in(self, bad, sizeof(bad), "garbage");
	write_pub_pem(other_pem, other);
	ASSERT_EQ(RUN("keygen", "--out", self->req), 0);
	ASSERT_EQ(RUN("keygen", "--out", other_req), 0);
	issue(self, self->ca, now_s() - 3600, now_s() + 86400, self->issued);

#define FINISH(req, iss, ca) RUN("finish", "--request", req, "--issued", iss, "--ca-pub", ca, \
				 "--out", self->key)
	EXPECT_EQ(FINISH(self->req, self->issued, other_pem), 1);
	expect_err(self, "SEC 4 key check failed");
	/* The answer to one request with the secret of another. */
	EXPECT_EQ(FINISH(other_req, self->issued, self->ca_pem), 1);
	expect_err(self, "SEC 4 key check failed");
	EXPECT_EQ(FINISH(self->req, bad, self->ca_pem), 1);
	expect_err(self, "No such file");
	read_exact(self->issued, issued, sizeof(issued));
	write_bytes(bad, issued, sizeof(issued) - 1);
	EXPECT_EQ(FINISH(self->req, bad, self->ca_pem), 1);
	expect_err(self, "156 bytes, expected exactly 157");
	write_bytes(bad, "not a key\n", 10);
	EXPECT_EQ(FINISH(self->req, self->issued, bad), 1);
	expect_err(self, "not a PEM public key");
	EXPECT_EQ(FINISH(self->req, self->issued, "/nonexistent/ca.pem"), 1);
	expect_err(self, "CA public key /nonexistent/ca.pem: No such file");
	EXPECT_EQ(access(self->key, F_OK), -1);
#undef FINISH
	EVP_PKEY_free(other);
}

TEST_F(tool, finish_refuses_mismatched_secret_and_expired)
{
	char other_req[128], other_secret[160];

	path_in(self, other_req, sizeof(other_req), "other.req");
	ASSERT_EQ(RUN("keygen", "--out", self->req), 0);
	ASSERT_EQ(RUN("keygen", "--out", other_req), 0);
	snprintf(other_secret, sizeof(other_secret), "%s.secret", other_req);
	ASSERT_EQ(rename(other_secret, self->secret), 0);
	issue(self, self->ca, now_s() - 3600, now_s() + 86400, self->issued);
	EXPECT_EQ(RUN("finish", "--request", self->req, "--issued", self->issued, "--ca-pub",
		      self->ca_pem, "--out", self->key), 1);
	expect_err(self, "does not hold the secret of this request");

	unlink(self->req);
	unlink(self->secret);
	ASSERT_EQ(RUN("keygen", "--out", self->req), 0);
	issue(self, self->ca, now_s() - 7200, now_s() - 3600, self->issued);
	EXPECT_EQ(RUN("finish", "--request", self->req, "--issued", self->issued, "--ca-pub",
		      self->ca_pem, "--out", self->key), 1);
	expect_err(self, "certificate expired");
	EXPECT_EQ(access(self->key, F_OK), -1);
}

TEST_F(tool, show_never_prints_the_private_key)
{
	uint8_t kf[KEYFILE_LEN];
	char dhex[65];

	register_patient(self);
	ASSERT_EQ(RUN("show", "--key", self->key, "--ca-pub", self->ca_pem), 0);
	EXPECT_NONNULL(strstr(self->out, "subject     patient-00000042"));
	EXPECT_NONNULL(strstr(self->out, "role        patient"));
	EXPECT_NONNULL(strstr(self->out, "attributes  hospital=H0001"));
	EXPECT_NONNULL(strstr(self->out, "(valid now)"));
	EXPECT_NONNULL(strstr(self->out, "fingerprint SHA256:"));
	EXPECT_NONNULL(strstr(self->out, "check       the key belongs"));
	read_exact(self->key, kf, sizeof(kf));
	for (int i = 0; i < 32; i++)
		snprintf(dhex + 2 * i, 3, "%02x", kf[4 + ECQV_CERT_LEN + i]);
	EXPECT_NULL(strstr(self->out, dhex));
	EXPECT_NULL(strstr(self->err, dhex));
	/* A key file that is not one. */
	write_bytes(self->issued, kf, sizeof(kf) - 1);
	EXPECT_EQ(RUN("show", "--key", self->issued), 1);
	expect_err(self, "160 bytes, expected exactly 161");
	kf[0] = 'X';
	unlink(self->issued);
	write_bytes(self->issued, kf, sizeof(kf));
	EXPECT_EQ(RUN("show", "--key", self->issued), 1);
	expect_err(self, "bad magic");
	kf[0] = 'I';
	memset(kf + 4 + ECQV_CERT_LEN, 0, ECQV_SCALAR_LEN);
	unlink(self->issued);
	write_bytes(self->issued, kf, sizeof(kf));
	EXPECT_EQ(RUN("show", "--key", self->issued), 1);
	expect_err(self, "not a P-256 scalar");
}

/* ---- phase 2 against a fake TTP --------------------------------------------- */

enum fake_mode { FAKE_RESPOND, FAKE_DENY, FAKE_SILENT, FAKE_WRONG_KEY };

struct fake_ttp {
	int lfd;
	uint16_t port;
	enum fake_mode mode;
	EVP_PKEY *ca_pub;
	pthread_t thread;
	/* results, read after join */
	int verify_err;
	struct s2_analysis_req req;
	uint8_t id_a[S2_ID_LEN], did[S2_NDEVICES_MAX][S2_ID_LEN], dk[S2_NDEVICES_MAX][S2_KEY_LEN];
};

static int read_full(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static void fake_reply(struct fake_ttp *f, int fd)
{
	static uint8_t frame[IOMT_WIRE_HDR_LEN + S2_ANALYSIS_RESP_MAX];
	struct tu_rng r = { 0xfeed };
	EVP_PKEY *to = NULL;
	size_t len = 0;

	if (f->verify_err || f->mode == FAKE_DENY) {
		iomt_wire_put_hdr(frame, IOMT_MSG_S2_USER_ERR, 1);
		frame[IOMT_WIRE_HDR_LEN] = f->verify_err ? IOMT_S2_ERR_MALFORMED : IOMT_S2_ERR_DENIED;
		len = 1;
	} else {
		tu_fill(&r, f->id_a, sizeof(f->id_a));
		tu_fill(&r, f->did, sizeof(f->did));
		tu_fill(&r, f->dk, sizeof(f->dk));
		if (f->mode == FAKE_WRONG_KEY)
			to = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		else
			ecqv_public_from_cert(&f->req.cert, f->ca_pub, now_s(), &to);
		s2_analysis_resp_seal(to, f->req.nonce, f->id_a, f->req.ndevices,
				      (const uint8_t(*)[S2_ID_LEN])f->did,
				      (const uint8_t(*)[S2_KEY_LEN])f->dk,
				      frame + IOMT_WIRE_HDR_LEN, &len);
		iomt_wire_put_hdr(frame, IOMT_MSG_S2_ANALYSIS_RESP, len);
		EVP_PKEY_free(to);
	}
	if (write(fd, frame, IOMT_WIRE_HDR_LEN + len) < 0)
		f->verify_err = -100;
}

/* One connection, one frame in, one frame out (no assertions off the test thread). */
static void *fake_main(void *arg)
{
	struct fake_ttp *f = arg;
	uint8_t hdr[IOMT_WIRE_HDR_LEN], body[S2_ANALYSIS_REQ_MAX + 1];
	int fd = accept(f->lfd, NULL, NULL);
	size_t len;

	f->verify_err = -99;
	if (fd < 0)
		return NULL;
	if (!read_full(fd, hdr, sizeof(hdr)) && hdr[1] == IOMT_MSG_S2_ANALYSIS_REQ &&
	    (len = iomt_load_be16(hdr + 2)) <= sizeof(body) && !read_full(fd, body, len)) {
		f->verify_err = s2_analysis_req_parse_verify(body, len, f->ca_pub, now_s(),
							     &f->req);
		if (f->mode == FAKE_SILENT)
			sleep(2);
		else
			fake_reply(f, fd);
	}
	close(fd);
	return NULL;
}

static void fake_start(struct fake_ttp *f, enum fake_mode mode, EVP_PKEY *ca_pub)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);

	memset(f, 0, sizeof(*f));
	f->mode = mode;
	f->ca_pub = ca_pub;
	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_GE(f->lfd, 0);
	ASSERT_EQ(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	ASSERT_EQ(listen(f->lfd, 4), 0);
	ASSERT_EQ(getsockname(f->lfd, (struct sockaddr *)&a, &alen), 0);
	f->port = ntohs(a.sin_port);
	ASSERT_EQ(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_join(struct fake_ttp *f)
{
	pthread_join(f->thread, NULL);
	close(f->lfd);
}

static void hostport(char *out, size_t cap, uint16_t port)
{
	snprintf(out, cap, "127.0.0.1:%u", port);
}

/* Checks devices.prov line by line against what the fake TTP sealed. */
static void check_prov(FIXTURE_DATA(tool) *self, const char *dir, const struct fake_ttp *f,
		       unsigned n)
{
	char path[256], text[8192], want[80], idhex[40];
	const char *line;
	unsigned i;

	snprintf(path, sizeof(path), "%s/devices.prov", dir);
	EXPECT_EQ(file_mode(path), 0600);
	ASSERT_GT(rt_test_read(path, text, sizeof(text)), 0);
	EXPECT_EQ(strlen(text), (size_t)n * 73);
	for (i = 0, line = text; i < n; i++, line += 73) {
		char *p = want;

		p += sprintf(p, "did=");
		for (int j = 0; j < S2_ID_LEN; j++)
			p += sprintf(p, "%02x", f->did[i][j]);
		p += sprintf(p, " dk=");
		for (int j = 0; j < S2_KEY_LEN; j++)
			p += sprintf(p, "%02x", f->dk[i][j]);
		sprintf(p, "\n");
		ASSERT_EQ(strncmp(line, want, 73), 0);
	}
	snprintf(path, sizeof(path), "%s/analysis.id", dir);
	ASSERT_EQ(rt_test_read(path, text, sizeof(text)), 33);
	for (int j = 0; j < S2_ID_LEN; j++)
		sprintf(idhex + 2 * j, "%02x", f->id_a[j]);
	EXPECT_EQ(strncmp(text, idhex, 32), 0);
	(void)self;
}

TEST_F(tool, create_analysis_round_trip)
{
	static struct fake_ttp f;
	char ttp[32], out_dir[128];

	register_patient(self);
	path_in(self, out_dir, sizeof(out_dir), "analysis-1");
	fake_start(&f, FAKE_RESPOND, self->ca);
	hostport(ttp, sizeof(ttp), f.port);
	ASSERT_EQ(RUN("create-analysis", "--key", self->key, "--ca-pub", self->ca_pem, "--ttp",
		      ttp, "--devices", "5", "--policy", "study=cardio-7", "--out-dir", out_dir),
		  0);
	fake_join(&f);
	ASSERT_EQ(f.verify_err, 0);
	EXPECT_EQ(f.req.ndevices, 5);
	EXPECT_STREQ(f.req.policy, "study=cardio-7");
	EXPECT_MEMEQ(f.req.cert.subject, "patient-00000042", ECQV_ID_LEN);
	check_prov(self, out_dir, &f, 5);
	EXPECT_NONNULL(strstr(self->out, "5 devices provisioned"));

	/* A second run into the same directory is refused before the TTP hears of it. */
	EXPECT_EQ(RUN("create-analysis", "--key", self->key, "--ca-pub", self->ca_pem, "--ttp",
		      ttp, "--devices", "5", "--out-dir", out_dir), 1);
	expect_err(self, "already holds an analysis");
}

TEST_F(tool, create_analysis_max_devices)
{
	static struct fake_ttp f;
	char ttp[32], out_dir[128];

	register_patient(self);
	path_in(self, out_dir, sizeof(out_dir), "analysis-64");
	fake_start(&f, FAKE_RESPOND, self->ca);
	hostport(ttp, sizeof(ttp), f.port);
	ASSERT_EQ(RUN("create-analysis", "--key", self->key, "--ca-pub", self->ca_pem, "--ttp",
		      ttp, "--devices", "64", "--out-dir", out_dir), 0);
	fake_join(&f);
	ASSERT_EQ(f.verify_err, 0);
	check_prov(self, out_dir, &f, 64);
}

TEST_F(tool, create_analysis_user_err)
{
	static struct fake_ttp f;
	char ttp[32], out_dir[128], prov[160];

	register_patient(self);
	path_in(self, out_dir, sizeof(out_dir), "denied");
	fake_start(&f, FAKE_DENY, self->ca);
	hostport(ttp, sizeof(ttp), f.port);
	EXPECT_EQ(RUN("create-analysis", "--key", self->key, "--ca-pub", self->ca_pem, "--ttp",
		      ttp, "--devices", "2", "--out-dir", out_dir), 1);
	fake_join(&f);
	expect_err(self, "the TTP refused the request: DENIED");
	snprintf(prov, sizeof(prov), "%s/devices.prov", out_dir);
	EXPECT_EQ(access(prov, F_OK), -1);
}

TEST_F(tool, create_analysis_response_for_someone_else)
{
	static struct fake_ttp f;
	char ttp[32], out_dir[128];

	register_patient(self);
	path_in(self, out_dir, sizeof(out_dir), "wrong");
	fake_start(&f, FAKE_WRONG_KEY, self->ca);
	hostport(ttp, sizeof(ttp), f.port);
	EXPECT_EQ(RUN("create-analysis", "--key", self->key, "--ca-pub", self->ca_pem, "--ttp",
		      ttp, "--devices", "2", "--out-dir", out_dir), 1);
	fake_join(&f);
	expect_err(self, "does not open with this key");
}

TEST_F(tool, create_analysis_timeout)
{
	static struct fake_ttp f;
	char ttp[32], out_dir[128];
	time_t t0 = time(NULL);

	register_patient(self);
	path_in(self, out_dir, sizeof(out_dir), "silent");
	fake_start(&f, FAKE_SILENT, self->ca);
	hostport(ttp, sizeof(ttp), f.port);
	EXPECT_EQ(RUN("create-analysis", "--key", self->key, "--ca-pub", self->ca_pem, "--ttp",
		      ttp, "--devices", "2", "--out-dir", out_dir, "--timeout", "1"), 1);
	expect_err(self, "no reply from the TTP within 1 s");
	EXPECT_LE(time(NULL) - t0, 4);
	fake_join(&f);
}

TEST_F(tool, create_analysis_unreachable)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	char ttp[32], out_dir[128];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	register_patient(self);
	path_in(self, out_dir, sizeof(out_dir), "nobody");
	/* A port that was free a moment ago and has no listener. */
	ASSERT_EQ(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ASSERT_EQ(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	close(fd);
	hostport(ttp, sizeof(ttp), ntohs(a.sin_port));
	EXPECT_EQ(RUN("create-analysis", "--key", self->key, "--ca-pub", self->ca_pem, "--ttp",
		      ttp, "--devices", "2", "--out-dir", out_dir), 1);
	expect_err(self, "unreachable: Connection refused");
	EXPECT_EQ(RUN("create-analysis", "--key", self->key, "--ca-pub", self->ca_pem, "--ttp",
		      "localhost", "--devices", "2", "--out-dir", out_dir), 1);
	expect_err(self, "expected HOST:PORT");
}

TEST_F(tool, create_analysis_bad_inputs)
{
	char out_dir[128], other_pem[128];
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	register_patient(self);
	path_in(self, out_dir, sizeof(out_dir), "bad");
	path_in(self, other_pem, sizeof(other_pem), "other.pem");
	write_pub_pem(other_pem, other);
#define CREATE(devices, ...) RUN("create-analysis", "--key", self->key, "--ttp", "127.0.0.1:1", \
				 "--out-dir", out_dir, "--devices", devices, __VA_ARGS__)
	EXPECT_EQ(CREATE("0", "--ca-pub", self->ca_pem), 1);
	expect_err(self, "--devices 0: expected a number of devices, 1..64");
	EXPECT_EQ(CREATE("65", "--ca-pub", self->ca_pem), 1);
	EXPECT_EQ(CREATE("-1", "--ca-pub", self->ca_pem), 1);
	EXPECT_EQ(CREATE("3x", "--ca-pub", self->ca_pem), 1);
	EXPECT_EQ(CREATE("3", "--ca-pub", self->ca_pem, "--policy", "two\nlines"), 1);
	expect_err(self, "--policy: at most 512 printable ASCII characters");
	EXPECT_EQ(CREATE("3", "--ca-pub", other_pem), 1);
	expect_err(self, "does not belong to its certificate");
	EXPECT_EQ(CREATE("3", "--ca-pub", self->ca_pem, "--timeout", "0"), 1);
	EXPECT_EQ(RUN("create-analysis", "--key", self->key, "--ca-pub", self->ca_pem), 2);
	expect_err(self, "missing option '--ttp'");
#undef CREATE
	EVP_PKEY_free(other);
}

TEST_F(tool, create_analysis_expired_certificate)
{
	char out_dir[128];

	ASSERT_EQ(RUN("keygen", "--out", self->req), 0);
	issue(self, self->ca, now_s() - 3600, now_s() + 2, self->issued);
	ASSERT_EQ(RUN("finish", "--request", self->req, "--issued", self->issued, "--ca-pub",
		      self->ca_pem, "--out", self->key), 0);
	sleep(4);
	path_in(self, out_dir, sizeof(out_dir), "late");
	EXPECT_EQ(RUN("create-analysis", "--key", self->key, "--ca-pub", self->ca_pem, "--ttp",
		      "127.0.0.1:1", "--devices", "1", "--out-dir", out_dir), 1);
	expect_err(self, "certificate expired");
	EXPECT_EQ(RUN("show", "--key", self->key), 0);
	EXPECT_NONNULL(strstr(self->out, "(expired)"));
}

/* ---- unseal ----------------------------------------------------------------- */

TEST_F(tool, unseal_round_trip_and_refusals)
{
	static const char prov[] = "slot=0 did=00112233445566778899aabbccddeeff\n";
	uint8_t box[sizeof(prov) - 1 + ECIES_OVERHEAD];
	char sealed[128], opened[128], text[256];
	EVP_PKEY *pub, *stranger = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	register_patient(self);
	pub = patient_pub(self);
	path_in(self, sealed, sizeof(sealed), "mec.sealed");
	path_in(self, opened, sizeof(opened), "mec.prov");
	ASSERT_EQ(ecies_seal(pub, NULL, 0, (const uint8_t *)prov, sizeof(prov) - 1, box), 0);
	write_bytes(sealed, box, sizeof(box));
	ASSERT_EQ(RUN("unseal", "--key", self->key, "--in", sealed, "--out", opened), 0);
	ASSERT_EQ(rt_test_read(opened, text, sizeof(text)), (long)sizeof(prov) - 1);
	EXPECT_STREQ(text, prov);
	EXPECT_EQ(file_mode(opened), 0600);
	EXPECT_EQ(RUN("unseal", "--key", self->key, "--in", sealed, "--out", opened), 1);
	expect_err(self, "exists");
	unlink(opened);
	/* With an aad, only that aad opens it. */
	ASSERT_EQ(ecies_seal(pub, (const uint8_t *)"mec-7", 5, (const uint8_t *)prov,
			     sizeof(prov) - 1, box), 0);
	write_bytes(sealed, box, sizeof(box));
	EXPECT_EQ(RUN("unseal", "--key", self->key, "--in", sealed, "--out", opened), 1);
	expect_err(self, "does not open with this key");
	EXPECT_EQ(RUN("unseal", "--key", self->key, "--in", sealed, "--out", opened, "--aad",
		      "mec-7"), 0);
	unlink(opened);
	/* Sealed to somebody else; cut short. */
	ASSERT_EQ(ecies_seal(stranger, NULL, 0, (const uint8_t *)prov, sizeof(prov) - 1, box), 0);
	write_bytes(sealed, box, sizeof(box));
	EXPECT_EQ(RUN("unseal", "--key", self->key, "--in", sealed, "--out", opened), 1);
	expect_err(self, "does not open with this key");
	write_bytes(sealed, box, 20);
	EXPECT_EQ(RUN("unseal", "--key", self->key, "--in", sealed, "--out", opened), 1);
	expect_err(self, "shorter than any sealed file");
	EXPECT_EQ(access(opened, F_OK), -1);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(stranger);
}

/* ---- usage ------------------------------------------------------------------ */

TEST_F(tool, help_and_usage_errors)
{
	static const char *const cmds[] = { "keygen", "finish", "show", "create-analysis",
					     "unseal" };

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		EXPECT_EQ(RUN(cmds[i], "--help"), 0);
		EXPECT_EQ(strncmp(self->out, "Usage: iomt-user ", 17), 0);
	}
	EXPECT_EQ(RUN("--help"), 0);
	EXPECT_NONNULL(strstr(self->out, "create-analysis"));
	EXPECT_EQ(RUN("frobnicate"), 2);
	expect_err(self, "unknown command 'frobnicate'");
	EXPECT_EQ(RUN("keygen"), 2);
	expect_err(self, "missing option '--out'");
	EXPECT_EQ(RUN("keygen", "--out"), 2);
	expect_err(self, "needs a value");
	EXPECT_EQ(RUN("keygen", "--out", "a", "--out", "b"), 2);
	expect_err(self, "given twice");
	EXPECT_EQ(RUN("keygen", "--bogus", "x"), 2);
	expect_err(self, "unknown option '--bogus'");
	EXPECT_EQ(RUN("show", "--key", "/nonexistent/key"), 1);
	expect_err(self, "No such file or directory");
}
