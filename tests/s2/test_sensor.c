/* SPDX-License-Identifier: MIT */
/*
 * iomt-sensor against a fake MEC + TTP living in the test: a UDP listener
 * that computes real M2/M3/M4 with lib/'s MEC and TTP functions and keeps
 * the TTP's current and previous identity per device (PROTOCOL.md §3.4), so
 * lost-M4 recovery and crash recovery are the real thing. Provisioning-file
 * errors, one agreement with its fingerprint, 100 devices x 5 agreements,
 * lost M4, refusals, BUSY, SIGKILL mid-run, and an unwritable state file.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "harness.h"
#include "iomt_err.h"
#include "rt/rt_test.h"
#include "seed002.h"
#include "sp800_185.h"
#include "testutil.h"
/* The state file is sensors/core's storage image: read it with the core. */
#include "../../sensors/core/sc_store.c"
#include "wire.h"

enum {
	FAKE_MAX_DEV = 256,
	FAKE_MAX_M1 = 16384,     /* DIDs recorded, one per M1 */
	ID = IOMT_S2_ID_LEN,
	FP_HEX = 17,
};

/* ---- the fake MEC + TTP ---- */

struct fake_dev {
	uint8_t did[ID], dk[ID];            /* TTP: current */
	uint8_t prev_did[ID], prev_dk[ID];  /* TTP: previous */
	int has_prev;
	char fp[FP_HEX];                    /* fingerprint of the last SK */
};

struct fake {
	int fd;
	uint16_t port;
	pthread_t thread;
	atomic_int stop;
	pthread_mutex_t lock;
	struct fake_dev dev[FAKE_MAX_DEV];
	size_t ndev;
	uint8_t did_m[ID], dk_m[ID];        /* the MEC's one identity chain */
	/* behaviour, consumed as used */
	int drop_m4, busy, stray_err, silent;
	/* what happened */
	unsigned m1s, agreements, from_prev, dropped, refused;
	uint8_t m1_did[FAKE_MAX_M1][ID];
};

static void fingerprint(const uint8_t sk[IOMT_S2_KEY_LEN], char hex[FP_HEX])
{
	static const char custom[] = "iomt/s2/sk-fingerprint";
	uint8_t fp[8];

	iomt_kmac128(sk, IOMT_S2_KEY_LEN, custom, sizeof(custom) - 1, "", 0, fp, sizeof(fp));
	for (int i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", fp[i]);
}

static void fake_send(struct fake *f, const struct sockaddr_in *to, uint8_t type,
		      const uint8_t *payload, size_t len)
{
	uint8_t frame[IOMT_WIRE_HDR_LEN + 64];

	iomt_wire_put_hdr(frame, type, len);
	memcpy(frame + IOMT_WIRE_HDR_LEN, payload, len);
	sendto(f->fd, frame, IOMT_WIRE_HDR_LEN + len, 0, (const struct sockaddr *)to,
	       sizeof(*to));
}

static void fake_dev_err(struct fake *f, const struct sockaddr_in *to, uint8_t code,
			 const uint8_t r1[IOMT_S2_RAND_LEN])
{
	uint8_t p[1 + IOMT_S2_RAND_LEN];

	p[0] = code;
	memcpy(p + 1, r1, IOMT_S2_RAND_LEN);
	fake_send(f, to, IOMT_MSG_S2_DEV_ERR, p, sizeof(p));
}

/* The TTP's table: a device by its current or previous DID. */
static struct fake_dev *fake_find(struct fake *f, const uint8_t did[ID], int *prev)
{
	for (size_t i = 0; i < f->ndev; i++) {
		*prev = 0;
		if (!memcmp(f->dev[i].did, did, ID))
			return &f->dev[i];
		*prev = 1;
		if (f->dev[i].has_prev && !memcmp(f->dev[i].prev_did, did, ID))
			return &f->dev[i];
	}
	return NULL;
}

/* TTP commit, PROTOCOL.md §3.4: from the current pair, previous <- current;
 * from the previous pair, previous is kept. Then current <- next. */
static void fake_rotate(struct fake_dev *d, int from_prev, const struct iomt_s2_ttp_out *out)
{
	if (!from_prev) {
		memcpy(d->prev_did, d->did, ID);
		memcpy(d->prev_dk, d->dk, ID);
		d->has_prev = 1;
	}
	memcpy(d->did, out->next_did_i, ID);
	memcpy(d->dk, out->next_dk_i, ID);
}

/* MEC and TTP for one M1: 0 with m4, or the DEV_ERR code. */
static int fake_agree(struct fake *f, const uint8_t *m1, uint8_t m4[IOMT_S2_M4_LEN])
{
	uint8_t r2[16], r3[16], m2[IOMT_S2_M2_LEN], did_i[ID], did_m[ID], sk[16], ndid[ID], ndk[ID];
	struct iomt_s2_mec_pending pend;
	struct iomt_s2_ttp_out out;
	struct fake_dev *d;
	unsigned bad = 0;
	int prev;

	getrandom(r2, sizeof(r2), 0);
	getrandom(r3, sizeof(r3), 0);
	if (iomt_s2_mec_m2(f->did_m, f->dk_m, r2, m1, IOMT_S2_M1_LEN, &pend, m2) ||
	    iomt_s2_m2_dids(m2, sizeof(m2), did_i, did_m))
		return IOMT_S2_ERR_MALFORMED;
	d = fake_find(f, did_i, &prev);
	if (!d)
		return IOMT_S2_ERR_UNKNOWN_DEVICE;
	if (iomt_s2_ttp_process(prev ? d->prev_dk : d->dk, f->dk_m, m2, sizeof(m2), r3, &out, &bad))
		return bad & IOMT_S2_BAD_DEVICE ? IOMT_S2_ERR_BAD_DEVICE : IOMT_S2_ERR_BAD_MEC;
	fake_rotate(d, prev, &out);
	f->from_prev += prev;
	if (iomt_s2_mec_finish(&pend, out.m3, sizeof(out.m3), sk, m4, ndid, ndk))
		return IOMT_S2_ERR_INTERNAL;
	memcpy(f->did_m, ndid, ID);
	memcpy(f->dk_m, ndk, ID);
	fingerprint(sk, d->fp);
	f->agreements++;
	return 0;
}

static void fake_m1(struct fake *f, const uint8_t *m1, const struct sockaddr_in *from)
{
	uint8_t m4[IOMT_S2_M4_LEN], other[IOMT_S2_RAND_LEN];
	const uint8_t *r1 = m1 + ID;
	int code;

	if (f->m1s < FAKE_MAX_M1)
		memcpy(f->m1_did[f->m1s], m1, ID);
	f->m1s++;
	if (f->silent)
		return;
	if (f->busy > 0) {
		f->busy--;
		fake_dev_err(f, from, IOMT_S2_ERR_BUSY, r1);
		return;
	}
	if (f->stray_err > 0) { /* an error for some other run: must be ignored */
		f->stray_err--;
		getrandom(other, sizeof(other), 0);
		fake_dev_err(f, from, IOMT_S2_ERR_BAD_DEVICE, other);
	}
	code = fake_agree(f, m1, m4);
	if (code) {
		f->refused++;
		fake_dev_err(f, from, (uint8_t)code, r1);
	} else if (f->drop_m4 > 0) {
		f->drop_m4--;
		f->dropped++;
	} else {
		fake_send(f, from, IOMT_MSG_S2_M4, m4, sizeof(m4));
	}
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	uint8_t buf[512];

	while (!atomic_load(&f->stop)) {
		struct pollfd p = { .fd = f->fd, .events = POLLIN };
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		const uint8_t *payload;
		size_t plen;
		uint8_t type;
		ssize_t n;

		if (poll(&p, 1, 20) <= 0)
			continue;
		n = recvfrom(f->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n <= 0 || iomt_wire_parse(buf, (size_t)n, &type, &payload, &plen) ||
		    type != IOMT_MSG_S2_M1)
			continue;
		pthread_mutex_lock(&f->lock);
		fake_m1(f, payload, &from);
		pthread_mutex_unlock(&f->lock);
	}
	return NULL;
}

static void fake_start(struct fake *f)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int rcvbuf = 1 << 21;

	f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_GE(f->fd, 0);
	setsockopt(f->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	ASSERT_EQ(bind(f->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ASSERT_EQ(getsockname(f->fd, (struct sockaddr *)&a, &len), 0);
	f->port = ntohs(a.sin_port);
	getrandom(f->did_m, ID, 0);
	getrandom(f->dk_m, ID, 0);
	pthread_mutex_init(&f->lock, NULL);
	ASSERT_EQ(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
	atomic_store(&f->stop, 1);
	pthread_join(f->thread, NULL);
	close(f->fd);
}

/* ---- fixture: scratch dir, the fake, the sensor process ---- */

FIXTURE(sensor) {
	char dir[64], prov[128], state[128], out[128], err[128], mec[32];
	char text[1 << 17];
	int fake_on;
	pid_t pid;
	struct fake fake;
};

FIXTURE_SETUP(sensor)
{
	ASSERT_EQ(rt_test_mkdtemp(self->dir, sizeof(self->dir), "sensor"), 0);
	snprintf(self->prov, sizeof(self->prov), "%s/devices.prov", self->dir);
	snprintf(self->state, sizeof(self->state), "%s/sensor.state", self->dir);
	snprintf(self->out, sizeof(self->out), "%s/stdout", self->dir);
	snprintf(self->err, sizeof(self->err), "%s/stderr", self->dir);
	fake_start(&self->fake);
	self->fake_on = 1;
	snprintf(self->mec, sizeof(self->mec), "127.0.0.1:%u", self->fake.port);
}

FIXTURE_TEARDOWN(sensor)
{
	if (self->pid > 0) {
		kill(self->pid, SIGKILL);
		waitpid(self->pid, NULL, 0);
	}
	if (self->fake_on)
		fake_stop(&self->fake);
	rt_test_rmtree(self->dir);
}

/* build/tests/s2/test_sensor -> build/bin/iomt-sensor */
static const char *sensor_bin(void)
{
	static char path[PATH_MAX];

	ASSERT_EQ(rt_test_bin("iomt-sensor", path, sizeof(path)), 0);
	return path;
}

/* Starts iomt-sensor with argv (NULL-terminated; argv[0] is the command),
 * stdout and stderr into files; fsize > 0 limits the size of files it writes. */
static void spawn(FIXTURE_DATA(sensor) *self, const char *const *argv, long fsize)
{
	const char *bin = sensor_bin();
	char *args[32] = { strdup("iomt-sensor") };

	for (int i = 0; argv[i] && i < 30; i++)
		args[i + 1] = strdup(argv[i]);
	self->pid = fork();
	ASSERT_GE(self->pid, 0);
	if (self->pid == 0) {
		int o = open(self->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(self->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		struct rlimit rl = { (rlim_t)fsize, (rlim_t)fsize };

		dup2(o, 1);
		dup2(e, 2);
		if (fsize > 0)
			setrlimit(RLIMIT_FSIZE, &rl);
		execv(bin, args);
		_exit(127);
	}
	for (int i = 0; args[i]; i++)
		free(args[i]);
}

/* Exit status of the spawned sensor (-1 if killed by a signal). */
static int wait_sensor(FIXTURE_DATA(sensor) *self)
{
	int st;

	ASSERT_EQ(waitpid(self->pid, &st, 0), self->pid);
	self->pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int sensor(FIXTURE_DATA(sensor) *self, const char *const *argv)
{
	spawn(self, argv, 0);
	return wait_sensor(self);
}

#define SENSOR(self, ...) sensor(self, (const char *const[]){ __VA_ARGS__, NULL })

static const char *out_text(FIXTURE_DATA(sensor) *self)
{
	ASSERT_GE(rt_test_read(self->out, self->text, sizeof(self->text)), 0);
	return self->text;
}

static const char *err_text(FIXTURE_DATA(sensor) *self)
{
	ASSERT_GE(rt_test_read(self->err, self->text, sizeof(self->text)), 0);
	return self->text;
}

/* An integer field of the --json summary. */
static long long json_num(FIXTURE_DATA(sensor) *self, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(out_text(self), pat);
	if (!p)
		TH_LOG("no %s in: %s", key, self->text);
	ASSERT_NONNULL(p);
	return atoll(p + strlen(pat));
}

static void expect_in(const char *text, const char *what)
{
	if (!strstr(text, what))
		TH_LOG("expected '%s' in:\n%s", what, text);
	ASSERT_NONNULL(strstr(text, what));
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* n devices with random identities: the provisioning file, the fake TTP's
 * table (the first `known` of them), and the state file. */
static void provision_known(FIXTURE_DATA(sensor) *self, size_t n, size_t known)
{
	FILE *p = fopen(self->prov, "w");
	char h1[33], h2[33];

	ASSERT_NONNULL(p);
	ASSERT_LE(n, FAKE_MAX_DEV);
	fprintf(p, "# devices for the sensor suite\n");
	for (size_t i = 0; i < n; i++) {
		struct fake_dev *d = &self->fake.dev[i];

		getrandom(d->did, ID, 0);
		getrandom(d->dk, ID, 0);
		hex(d->did, ID, h1);
		hex(d->dk, ID, h2);
		fprintf(p, "did=%s dk=%s\n", h1, h2);
	}
	ASSERT_EQ(fclose(p), 0);
	pthread_mutex_lock(&self->fake.lock);
	self->fake.ndev = known;
	pthread_mutex_unlock(&self->fake.lock);
	ASSERT_EQ(SENSOR(self, "provision", "--prov", self->prov, "--state", self->state), 0);
}

static void provision(FIXTURE_DATA(sensor) *self, size_t n)
{
	provision_known(self, n, n);
}

/* The state file as the core's storage: device idx's two slots. */
struct file_dev {
	int fd;
	size_t idx;
};

static int fd_read(void *ctx, unsigned slot, uint8_t *buf, size_t len)
{
	struct file_dev *d = ctx;
	off_t off = (off_t)((2 * d->idx + slot) * SC_STATE_LEN);

	return pread(d->fd, buf, len, off) == (ssize_t)len ? 0 : -1;
}

static int fd_write(void *ctx, unsigned slot, const uint8_t *buf, size_t len)
{
	(void)ctx, (void)slot, (void)buf, (void)len;
	return -1;	/* read only */
}

static int fd_rng(void *ctx, uint8_t *out, size_t n)
{
	(void)ctx;
	return getrandom(out, n, 0) == (ssize_t)n ? 0 : -1;
}

static uint64_t fd_now(void *ctx)
{
	(void)ctx;
	return 0;
}

static const struct sc_driver file_driver = { fd_rng, fd_read, fd_write, fd_now };

/* Device idx as stored in the state file (its newest good slot). */
static void stored(FIXTURE_DATA(sensor) *self, size_t idx, struct iomt_s2_device *dev)
{
	static const struct sc_conf conf = { 500, 0 };
	struct file_dev d = { open(self->state, O_RDONLY | O_CLOEXEC), idx };
	struct sc c;

	ASSERT_GE(d.fd, 0);
	ASSERT_EQ(sc_init(&c, &file_driver, &d, &conf), SC_OK);
	close(d.fd);
	ASSERT_EQ(c.has_id, 1);
	*dev = c.id;
	sc_wipe(&c);
}

/* Every device's stored identity is the TTP's current one: none desynchronised. */
static void expect_all_in_sync(FIXTURE_DATA(sensor) *self, size_t n)
{
	struct iomt_s2_device dev;
	size_t behind = 0;

	for (size_t i = 0; i < n; i++) {
		stored(self, i, &dev);
		pthread_mutex_lock(&self->fake.lock);
		behind += memcmp(dev.did, self->fake.dev[i].did, ID) != 0 ||
			  memcmp(dev.dk, self->fake.dev[i].dk, ID) != 0;
		pthread_mutex_unlock(&self->fake.lock);
	}
	ASSERT_EQ(behind, 0);
}

static unsigned fake_count(FIXTURE_DATA(sensor) *self, const unsigned *field)
{
	unsigned v;

	pthread_mutex_lock(&self->fake.lock);
	v = *field;
	pthread_mutex_unlock(&self->fake.lock);
	return v;
}

/* ---- provisioning ---- */

static void expect_prov_error(FIXTURE_DATA(sensor) *self, const char *text, const char *msg)
{
	char want[256];

	ASSERT_EQ(rt_test_write(self->prov, text, strlen(text)), 0);
	ASSERT_EQ(SENSOR(self, "provision", "--prov", self->prov, "--state", self->state), 1);
	snprintf(want, sizeof(want), "%s%s", self->prov, msg);
	expect_in(err_text(self), want);
	ASSERT_EQ(access(self->state, F_OK), -1); /* all or nothing */
}

#define DID_A "did=000102030405060708090a0b0c0d0e0f"
#define DID_B "did=101112131415161718191a1b1c1d1e1f"
#define DK_A "dk=f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
#define DK_B "dk=e0e1e2e3e4e5e6e7e8e9eaebecedeeef"

TEST_F(sensor, provision_rejects_bad_files_with_file_and_line)
{
	expect_prov_error(self, DID_A " " DK_A "\n" "did=0g0102030405060708090a0b0c0d0e0f " DK_B "\n",
			  ":2: did: not a hex digit at position 2");
	expect_prov_error(self, "did=000102030405060708090a0b0c0d0e " DK_A "\n",
			  ":1: did: 30 hex digits, need 32");
	expect_prov_error(self, DID_A " dk=f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff00\n",
			  ":1: dk: 34 hex digits, need 32");
	expect_prov_error(self, DID_A " " DK_A "\n# comment\n\n" DID_A " " DK_B "\n",
			  ":4: duplicate did (same as device 0)");
	expect_prov_error(self, DID_A " " DK_A "\n" DID_B " " DK_A "\n",
			  ":2: duplicate dk (same as device 0)");
	expect_prov_error(self, "", ": no devices");
	expect_prov_error(self, "# nothing but comments\n\n", ": no devices");
	expect_prov_error(self, DID_A "\n", ":1: expected 'dk=<32 hex digits>'");
	expect_prov_error(self, DK_A " " DID_A "\n", ":1: expected 'did=<32 hex digits>'");
	expect_prov_error(self, DID_A " " DK_A " extra\n", ":1: unexpected text after dk");
	expect_prov_error(self, DID_A " " DK_A "\r\n", ":1: NUL or carriage return");
	/* A bad key is reported without echoing the key. */
	expect_prov_error(self, DID_A " dk=f0f1f2f3f4f5f6f7f8f9fafbfcfdfeXY\n",
			  ":1: dk: not a hex digit at position 31");
	ASSERT_NULL(strstr(err_text(self), "f0f1f2f3"));
}

TEST_F(sensor, provision_usage_and_existing_state)
{
	ASSERT_EQ(SENSOR(self, "provision", "--state", self->state), 2);
	expect_in(err_text(self), "missing --prov FILE");
	ASSERT_EQ(SENSOR(self, "provision", "--prov", "/nonexistent/x.prov", "--state",
			 self->state), 1);
	expect_in(err_text(self), "/nonexistent/x.prov: cannot open the provisioning file");
	provision(self, 2);
	ASSERT_EQ(SENSOR(self, "provision", "--prov", self->prov, "--state", self->state), 1);
	expect_in(err_text(self), "state file exists: refusing to overwrite");
	ASSERT_EQ(SENSOR(self, "frobnicate"), 2);
	expect_in(err_text(self), "unknown command 'frobnicate'");
}

TEST_F(sensor, provision_stores_idle_devices_in_file_order)
{
	struct iomt_s2_device dev;
	struct stat st;

	provision(self, 3);
	expect_in(out_text(self), "provisioned 3 devices into");
	ASSERT_EQ(stat(self->state, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600); /* device keys */
	for (size_t i = 0; i < 3; i++) {
		stored(self, i, &dev);
		ASSERT_EQ(dev.state, IOMT_S2_DEV_IDLE);
		ASSERT_MEMEQ(dev.did, self->fake.dev[i].did, ID);
		ASSERT_MEMEQ(dev.dk, self->fake.dev[i].dk, ID);
	}
}

/* ---- agreements ---- */

TEST_F(sensor, one_agreement_and_its_fingerprint)
{
	char want[128], dk[33];

	provision(self, 1);
	hex(self->fake.dev[0].dk, ID, dk);
	ASSERT_EQ(SENSOR(self, "run", "--state", self->state, "--mec", self->mec, "--json",
			 "--log-level", "debug"), 0);
	ASSERT_EQ(json_num(self, "agreements_ok"), 1);
	ASSERT_EQ(json_num(self, "agreements_failed"), 0);
	ASSERT_EQ(json_num(self, "retries"), 0);
	ASSERT_EQ(fake_count(self, &self->fake.agreements), 1);
	snprintf(want, sizeof(want), "device 0: agreement 1 done, sk fingerprint %s",
		 self->fake.dev[0].fp);
	expect_in(err_text(self), want);
	ASSERT_NULL(strstr(self->text, dk)); /* never a key */
	expect_all_in_sync(self, 1);
	/* The text summary. */
	ASSERT_EQ(SENSOR(self, "run", "--state", self->state, "--mec", self->mec), 0);
	expect_in(out_text(self), "agreements ok 1, failed 0, retries 0, p50 ");
	expect_all_in_sync(self, 1);
}

static int cmp_did(const void *a, const void *b)
{
	return memcmp(a, b, ID);
}

TEST_F(sensor, hundred_devices_five_agreements_never_repeat_a_did)
{
	unsigned m1s;

	provision(self, 100);
	ASSERT_EQ(SENSOR(self, "run", "--state", self->state, "--mec", self->mec, "--json",
			 "--agreements", "5", "--concurrency", "100", "--timeout", "5s"), 0);
	ASSERT_EQ(json_num(self, "agreements_ok"), 500);
	ASSERT_EQ(json_num(self, "retries"), 0);
	m1s = fake_count(self, &self->fake.m1s);
	ASSERT_EQ(m1s, 500);
	qsort(self->fake.m1_did, m1s, ID, cmp_did);
	for (unsigned i = 1; i < m1s; i++)
		ASSERT_NE(memcmp(self->fake.m1_did[i - 1], self->fake.m1_did[i], ID), 0);
	expect_all_in_sync(self, 100);
}

TEST_F(sensor, lost_m4_recovers_through_the_previous_identity)
{
	uint8_t first[ID];

	provision(self, 1);
	memcpy(first, self->fake.dev[0].did, ID);
	self->fake.drop_m4 = 1;
	ASSERT_EQ(SENSOR(self, "run", "--state", self->state, "--mec", self->mec, "--json",
			 "--agreements", "2", "--timeout", "300ms"), 0);
	ASSERT_EQ(json_num(self, "agreements_ok"), 2);
	ASSERT_EQ(json_num(self, "retries"), 1);
	pthread_mutex_lock(&self->fake.lock);
	ASSERT_EQ(self->fake.dropped, 1);
	ASSERT_EQ(self->fake.m1s, 3);
	/* The retry came from the old identity, found as the TTP's previous. */
	ASSERT_MEMEQ(self->fake.m1_did[1], first, ID);
	ASSERT_EQ(self->fake.from_prev, 1);
	pthread_mutex_unlock(&self->fake.lock);
	expect_all_in_sync(self, 1);
}

TEST_F(sensor, drop_m4_flag_loses_m4s_and_every_device_recovers)
{
	provision(self, 20);
	ASSERT_EQ(SENSOR(self, "run", "--state", self->state, "--mec", self->mec, "--json",
			 "--agreements", "3", "--timeout", "200ms", "--retries", "30",
			 "--drop-m4", "0.4"), 0);
	ASSERT_EQ(json_num(self, "agreements_ok"), 60);
	ASSERT_GT(json_num(self, "retries"), 0);
	ASSERT_GT(fake_count(self, &self->fake.from_prev), 0);
	expect_all_in_sync(self, 20);
}

TEST_F(sensor, bad_device_stops_the_device_with_a_clear_error)
{
	uint8_t first[ID];

	provision(self, 1);
	memcpy(first, self->fake.dev[0].did, ID);
	ASSERT_EQ(SENSOR(self, "run", "--state", self->state, "--mec", self->mec, "--json",
			 "--corrupt-m1", "--timeout", "100ms"), 1);
	expect_in(err_text(self), "device 0: agreement refused: BAD_DEVICE (c1_i does not verify");
	expect_in(out_text(self), "{\"device\":0,\"error\":\"bad_device\",\"code\":3}");
	ASSERT_EQ(json_num(self, "agreements_failed"), 1);
	ASSERT_EQ(fake_count(self, &self->fake.m1s), 1); /* hopeless: no retry */
	ASSERT_EQ(fake_count(self, &self->fake.agreements), 0);
	expect_all_in_sync(self, 1); /* nobody rotated */
	ASSERT_MEMEQ(self->fake.dev[0].did, first, ID);
}

TEST_F(sensor, unknown_device_fails_alone)
{
	provision_known(self, 2, 1);
	ASSERT_EQ(SENSOR(self, "run", "--state", self->state, "--mec", self->mec, "--json"), 1);
	expect_in(err_text(self), "device 1: agreement refused: UNKNOWN_DEVICE");
	ASSERT_EQ(json_num(self, "agreements_ok"), 1);
	ASSERT_EQ(json_num(self, "agreements_failed"), 1);
	ASSERT_EQ(json_num(self, "devices_failed"), 1);
	expect_in(out_text(self), "\"error\":\"unknown_device\"");
}

TEST_F(sensor, busy_is_retried_then_given_up)
{
	provision(self, 1);
	self->fake.busy = 2;
	ASSERT_EQ(SENSOR(self, "run", "--state", self->state, "--mec", self->mec, "--json",
			 "--timeout", "300ms"), 0);
	ASSERT_EQ(json_num(self, "agreements_ok"), 1);
	ASSERT_EQ(json_num(self, "retries"), 2);
	expect_in(err_text(self), "device 0: MEC answered BUSY");
	expect_all_in_sync(self, 1);
	/* Busy for ever: the retry budget runs out. */
	self->fake.busy = 1000;
	ASSERT_EQ(SENSOR(self, "run", "--state", self->state, "--mec", self->mec, "--json",
			 "--timeout", "20ms", "--retries", "2"), 1);
	expect_in(err_text(self), "device 0: MEC still answering BUSY");
	ASSERT_EQ(json_num(self, "retries"), 2);
}

TEST_F(sensor, an_error_for_another_run_is_ignored)
{
	provision(self, 1);
	self->fake.stray_err = 1;
	ASSERT_EQ(SENSOR(self, "run", "--state", self->state, "--mec", self->mec, "--json"), 0);
	ASSERT_EQ(json_num(self, "agreements_ok"), 1);
	ASSERT_EQ(json_num(self, "ignored"), 1);
	expect_all_in_sync(self, 1);
}

TEST_F(sensor, no_answer_gives_up_after_the_retries)
{
	provision(self, 2);
	self->fake.silent = 1;
	ASSERT_EQ(SENSOR(self, "run", "--state", self->state, "--mec", self->mec, "--json",
			 "--timeout", "30ms", "--retries", "2"), 1);
	expect_in(err_text(self), "no answer from the MEC after 3 attempts");
	ASSERT_EQ(json_num(self, "devices_failed"), 2);
	ASSERT_EQ(json_num(self, "retries"), 4);
	ASSERT_EQ(fake_count(self, &self->fake.m1s), 6);
	expect_in(out_text(self), "\"error\":\"no_answer\"");
}

TEST_F(sensor, run_usage_errors)
{
	provision(self, 2);
	ASSERT_EQ(SENSOR(self, "run", "--state", self->state), 2);
	expect_in(err_text(self), "missing --mec HOST:PORT");
	ASSERT_EQ(SENSOR(self, "run", "--state", self->state, "--mec", self->mec, "--rate", "fast"),
		  2);
	expect_in(err_text(self), "--rate 'fast': expected agreements per second");
	ASSERT_EQ(SENSOR(self, "run", "--state", self->state, "--mec", "nocolon"), 2);
	expect_in(err_text(self), "--mec 'nocolon': expected HOST:PORT");
	ASSERT_EQ(SENSOR(self, "run", "--state", self->state, "--mec", self->mec, "--devices", "3"),
		  1);
	expect_in(err_text(self), "holds 2 devices; --devices 3 asks for more");
	ASSERT_EQ(SENSOR(self, "run", "--state", self->prov, "--mec", self->mec), 1);
	expect_in(err_text(self), "not a sensor state file");
	/* Another process holds the file: refused, nothing sent. */
	{
		int fd = open(self->state, O_RDONLY | O_CLOEXEC);

		ASSERT_GE(fd, 0);
		ASSERT_EQ(flock(fd, LOCK_EX), 0);
		ASSERT_EQ(SENSOR(self, "run", "--state", self->state, "--mec", self->mec), 1);
		close(fd);
	}
	expect_in(err_text(self), "in use by another iomt-sensor");
	/* Of the right size, but no slot checks (damaged, or not ours): refused. */
	{
		static char junk[2 * 2 * SC_STATE_LEN];

		memset(junk, 0xa5, sizeof(junk));
		ASSERT_EQ(rt_test_write(self->state, junk, sizeof(junk)), 0);
	}
	ASSERT_EQ(SENSOR(self, "run", "--state", self->state, "--mec", self->mec), 1);
	expect_in(err_text(self), "device 0: no good state slot");
	ASSERT_EQ(fake_count(self, &self->fake.m1s), 0);
}

TEST_F(sensor, rate_limits_new_agreements)
{
	provision(self, 10);
	ASSERT_EQ(SENSOR(self, "run", "--state", self->state, "--mec", self->mec, "--json",
			 "--rate", "50/s"), 0);
	ASSERT_EQ(json_num(self, "agreements_ok"), 10);
	/* 10 starts at 50/s: at least 9 gaps of 20 ms. */
	ASSERT_GE(json_num(self, "elapsed_ms"), 170);
}

/* ---- crashes and storage failures ---- */

static void wait_agreements(FIXTURE_DATA(sensor) *self, unsigned n)
{
	for (int i = 0; i < 2000 && fake_count(self, &self->fake.agreements) < n; i++)
		usleep(10000);
	ASSERT_GE(fake_count(self, &self->fake.agreements), n);
}

TEST_F_TIMEOUT(sensor, sigkill_mid_run_leaves_nobody_desynchronised, 120)
{
	const char *argv[] = { "run", "--state", self->state, "--mec", self->mec, "--agreements",
			       "100", "--concurrency", "100", NULL };
	unsigned before;

	provision(self, 200);
	for (int round = 1; round <= 3; round++) {
		before = fake_count(self, &self->fake.agreements);
		spawn(self, argv, 0);
		wait_agreements(self, before + 150);
		kill(self->pid, SIGKILL);
		ASSERT_EQ(wait_sensor(self), -1);
	}
	TH_LOG("%u agreements before the kills; %u came from a previous identity",
	       fake_count(self, &self->fake.agreements), fake_count(self, &self->fake.from_prev));
	/* Everyone comes back with a pair the TTP knows, and agrees twice more. */
	ASSERT_EQ(SENSOR(self, "run", "--state", self->state, "--mec", self->mec, "--json",
			 "--agreements", "2", "--concurrency", "200"), 0);
	ASSERT_EQ(json_num(self, "agreements_ok"), 400);
	ASSERT_EQ(json_num(self, "devices_failed"), 0);
	ASSERT_EQ(fake_count(self, &self->fake.refused), 0);
	expect_all_in_sync(self, 200);
}

/* The state file cannot take the new identity (the POSIX driver's test
 * hook fails the first slot write with EIO): the agreement fails, the key is never used, and the old
 * identity, still on disk, agrees next time through the TTP's previous. */
TEST_F(sensor, state_write_failure_discards_the_new_key)
{
	const char *argv[] = { "run", "--state", self->state, "--mec", self->mec, "--json",
			       "--log-level", "debug", NULL };
	struct iomt_s2_device dev;
	uint8_t first[ID];
	char fp[FP_HEX];

	provision(self, 1);
	memcpy(first, self->fake.dev[0].did, ID);
	setenv("IOMT_SENSOR_TEST_WRITE", "fail:1", 1);
	spawn(self, argv, 0);
	unsetenv("IOMT_SENSOR_TEST_WRITE");
	ASSERT_EQ(wait_sensor(self), 1);
	ASSERT_EQ(fake_count(self, &self->fake.agreements), 1); /* the TTP rotated */
	memcpy(fp, self->fake.dev[0].fp, sizeof(fp));
	expect_in(err_text(self), "device 0: cannot persist the new identity: Input/output error");
	expect_in(self->text, "device 0: session key discarded unused");
	ASSERT_NULL(strstr(self->text, fp));
	ASSERT_NULL(strstr(self->text, "agreement 1 done"));
	expect_in(out_text(self), "\"error\":\"state_write\"");
	ASSERT_EQ(json_num(self, "agreements_ok"), 0);
	stored(self, 0, &dev);
	ASSERT_MEMEQ(dev.did, first, ID);
	/* Storage back: the stored identity is the TTP's previous one. */
	ASSERT_EQ(SENSOR(self, "run", "--state", self->state, "--mec", self->mec, "--json"), 0);
	ASSERT_EQ(json_num(self, "agreements_ok"), 1);
	ASSERT_EQ(fake_count(self, &self->fake.from_prev), 1);
	expect_all_in_sync(self, 1);
}
