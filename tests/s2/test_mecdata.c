/* SPDX-License-Identifier: MIT */
/*
 * Phase 4 pieces (docs/PROTOCOL.md §8): result signatures (s2_result.h)
 * and the MEC's key file, the MEC store (mecstore.c, built in here), and
 * the device and checker that tests/s2/test_mecdata_e2e.sh drives against
 * the real daemons:
 *
 *   IOMT_MECDATA_TOOL=device test_mecdata --mec HOST:PORT --prov FILE
 *       --line N --kind K --count C [--t0 MS] [--agreements A] [--replay]
 *       [--forge] [--then-wait FILE] [--ids FILE]
 *     a real seed-002 agreement (lib/seed002.h) per session, then C samples
 *     of kind K in S2_DATA frames of up to 200; --replay sends the last
 *     frame twice, --forge one frame with a flipped tag bit, --then-wait one
 *     more frame of the last session once FILE exists; every DID and
 *     DK the device held is appended (hex) to --ids for the identifier scan.
 *   IOMT_MECDATA_TOOL=verify test_mecdata --db FILE --cert KEYFILE --ca-pub PEM
 *     checks every stored result's signature under the MEC's certified
 *     public key; prints "results N verified V".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "harness.h"
#include "eckey.h"
#include "testutil.h"
#include "bytes.h"
#include "hex.h"
#include "iomt_err.h"
#include "lib/analysis.h"
#include "lib/ecies.h"
#include "lib/ecqv.h"
#include "lib/rt_store.h"
#include "lib/s2_p56.h"
#include "lib/s2_result.h"
#include "s2_data.h"
#include "seed002.h"
#include "wire.h"

#include "../../userspace/gwd/mecstore.c"
#include "../../userspace/gwd/sessidx.c"

/* ---- the device tool ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct dev_opts {
	const char *mec, *prov, *ids, *then_wait;
	unsigned line, count, agreements;
	uint8_t kind;
	uint64_t t0;
	int replay, forge;
};

static int udp_to(const char *hostport)
{
	char host[64];
	const char *c = strrchr(hostport, ':');
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd;

	if (!c || (size_t)(c - hostport) >= sizeof(host))
		return -1;
	memcpy(host, hostport, (size_t)(c - hostport));
	host[c - hostport] = 0;
	a.sin_port = htons((uint16_t)atoi(c + 1));
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return -1;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int prov_line(const char *path, unsigned want, uint8_t did[16], uint8_t dk[16])
{
	char l[256];
	unsigned n = 0;
	FILE *f = fopen(path, "r");
	size_t i;
	int r = -1;

	while (f && fgets(l, sizeof(l), f)) {
		if (l[0] == '#' || l[0] == '\n')
			continue;
		if (n++ != want)
			continue;
		if (!strncmp(l, "did=", 4) && !strncmp(l + 36, " dk=", 4) &&
		    !iomt_hex_decode(l + 4, 32, did, 16, &i) && !iomt_hex_decode(l + 40, 32, dk, 16, &i))
			r = 0;
		break;
	}
	if (f)
		fclose(f);
	return r;
}

static void ids_append(const char *path, const struct iomt_s2_device *d)
{
	char h1[33], h2[33];
	FILE *f;

	if (!path || !(f = fopen(path, "a")))
		return;
	iomt_hex_encode(d->did, 16, h1);
	iomt_hex_encode(d->dk, 16, h2);
	fprintf(f, "%s\n%s\n", h1, h2);
	fclose(f);
}

/* One agreement: 0 and sk, or -1. Retries BUSY and silence. */
static int agree(int fd, struct iomt_s2_device *d, uint8_t sk[16])
{
	for (int attempt = 0; attempt < 20; attempt++) {
		uint8_t fr[4 + 64], in[256], r1[16];
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t until = now_ms() + 2000;

		if (getrandom(r1, 16, 0) != 16 || iomt_s2_device_start(d, r1, fr + 4))
			return -1;
		iomt_wire_put_hdr(fr, IOMT_MSG_S2_M1, 64);
		if (send(fd, fr, sizeof(fr), 0) != (ssize_t)sizeof(fr))
			return -1;
		while (now_ms() < until && poll(&p, 1, 100) >= 0) {
			ssize_t n = p.revents ? recv(fd, in, sizeof(in), 0) : -1;

			if (n == 4 + IOMT_S2_M4_LEN && in[1] == IOMT_MSG_S2_M4 &&
			    iomt_s2_device_finish(d, in + 4, IOMT_S2_M4_LEN, sk) == IOMT_OK)
				return 0;
			if (n == 4 + IOMT_WIRE_S2_DEV_ERR_LEN && in[1] == IOMT_MSG_S2_DEV_ERR) {
				if (in[4] != IOMT_S2_ERR_BUSY && in[4] != IOMT_S2_ERR_INTERNAL)
					return -1;
				usleep(200000);
				break;
			}
		}
	}
	return -1;
}

/* The value of sample i of a profile: regular RR, fast irregular RR, SpO2
 * 97 % for 2 min then 80 %. */
static uint16_t value_of(uint8_t kind, unsigned i, struct tu_rng *rng)
{
	if (kind == AN_KIND_SPO2)
		return i < 120 ? 970 : 800;
	if (kind == 3)
		return (uint16_t)(i % 1000);
	if (kind == 0x81)	/* fast and irregular: 220..519 ms */
		return (uint16_t)(220 + tu_next(rng) % 300);
	return 800;
}

static int send_session(int fd, const struct dev_opts *o, const uint8_t sk[16], unsigned *done,
			uint64_t *t, struct tu_rng *rng)
{
	struct iomt_s2_data_tx tx;
	uint8_t fr[1500];
	size_t len = 0;
	unsigned per = o->count / o->agreements + 1;
	uint8_t kind = o->kind == 0x81 ? AN_KIND_RR : o->kind;

	if (iomt_s2_data_tx_init(&tx, sk, now_ms()))
		return -1;
	for (unsigned sent = 0; *done < o->count && sent < per;) {
		struct iomt_s2_sample s[IOMT_S2_DATA_SAMPLES_MAX];
		unsigned n = 0;

		for (; n < IOMT_S2_DATA_SAMPLES_MAX && *done < o->count && sent < per;
		     n++, (*done)++, sent++) {
			s[n] = (struct iomt_s2_sample){ .kind = kind, .t_ms = *t,
							.value = value_of(o->kind, *done, rng) };
			*t += kind == AN_KIND_SPO2 ? 1000 : s[n].value ? s[n].value : 1;
		}
		if (iomt_s2_data_seal(&tx, now_ms(), s, n, fr, sizeof(fr), &len) ||
		    send(fd, fr, len, 0) != (ssize_t)len)
			return -1;
		usleep(2000);	/* a device's pace: no burst beyond the socket buffer */
	}
	if (o->replay && send(fd, fr, len, 0) != (ssize_t)len)
		return -1;
	if (o->then_wait) {
		/* one more frame of this session once the test says so (after it
		 * restarted the MEC, say) */
		struct iomt_s2_sample one = { .kind = kind, .t_ms = *t, .value = 2 };

		for (int i = 0; i < 600 && access(o->then_wait, F_OK); i++)
			usleep(50000);
		if (iomt_s2_data_seal(&tx, now_ms(), &one, 1, fr, sizeof(fr), &len) ||
		    send(fd, fr, len, 0) != (ssize_t)len)
			return -1;
	}
	if (o->forge) {
		/* a fresh counter, so only the tag can refuse it */
		struct iomt_s2_sample one = { .kind = kind, .t_ms = *t, .value = 1 };

		if (iomt_s2_data_seal(&tx, now_ms(), &one, 1, fr, sizeof(fr), &len))
			return -1;
		fr[len - 1] ^= 1;
		if (send(fd, fr, len, 0) != (ssize_t)len)
			return -1;
	}
	iomt_s2_data_tx_wipe(&tx);
	return 0;
}

static int device_main(const struct dev_opts *o)
{
	struct iomt_s2_device d;
	uint8_t did[16], dk[16], sk[16];
	uint64_t t = o->t0;
	struct tu_rng rng = { 0x1234 + o->line };
	unsigned done = 0;
	int fd = udp_to(o->mec);

	if (fd < 0 || prov_line(o->prov, o->line, did, dk) || iomt_s2_device_init(&d, did, dk)) {
		fprintf(stderr, "device: bad --mec or --prov line %u\n", o->line);
		return 2;
	}
	ids_append(o->ids, &d);
	for (unsigned a = 0; a < o->agreements; a++) {
		uint8_t h[8];
		char hx[17];

		if (agree(fd, &d, sk)) {
			fprintf(stderr, "device %u: agreement %u failed\n", o->line, a);
			return 1;
		}
		ids_append(o->ids, &d);
		iomt_s2_data_handle(sk, h);
		iomt_hex_encode(h, 8, hx);
		printf("session %s\n", hx);
		if (send_session(fd, o, sk, &done, &t, &rng)) {
			fprintf(stderr, "device %u: sending failed\n", o->line);
			return 1;
		}
	}
	printf("samples %u\n", done);
	close(fd);
	return 0;
}

/* ---- the result checker ---- */

static int verify_main(const char *db, const char *key, const char *ca)
{
	struct ecqv_cert cert;
	struct rt_store *st = NULL;
	struct rt_stmt *q = NULL;
	EVP_PKEY *priv = NULL, *pub = NULL, *capub = NULL;
	FILE *f = fopen(ca, "r");
	char err[256] = "";
	long n = 0, ok = 0;

	if (f) {
		capub = PEM_read_PUBKEY(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (!capub || s2_result_key_load(key, &cert, &priv, err, sizeof(err)) ||
	    ecqv_public_from_cert(&cert, capub, (uint64_t)time(NULL), &pub) ||
	    rt_store_open(db, &st) ||
	    rt_stmt_prepare(st, "SELECT id_a, result, sig, win_start_ms, win_end_ms FROM results",
			    &q)) {
		fprintf(stderr, "verify: cannot set up: %s\n", err);
		return 2;
	}
	while (rt_stmt_step(q) == RT_STMT_ROW) {
		size_t il, rl, sl;
		const uint8_t *id_a = rt_stmt_blob(q, 0, &il), *res = rt_stmt_blob(q, 1, &rl);
		const uint8_t *sig = rt_stmt_blob(q, 2, &sl);
		struct an_result r;

		n++;
		if (il == 16 && rl == AN_RESULT_LEN && !an_result_decode(res, &r) &&
		    r.win_start_ms == (uint64_t)rt_stmt_int(q, 3) &&
		    r.win_end_ms == (uint64_t)rt_stmt_int(q, 4) &&
		    s2_result_verify(pub, id_a, res, sig, sl) == IOMT_OK)
			ok++;
	}
	printf("results %ld verified %ld\n", n, ok);
	rt_stmt_free(q);
	rt_store_close(st);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(capub);
	return n == ok ? 0 : 1;
}

static const char *arg(int argc, char **argv, const char *name)
{
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], name))
			return argv[i + 1];
	return NULL;
}

static int flag(int argc, char **argv, const char *name)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

/* Runs before the harness's main when asked to be a tool. */
__attribute__((constructor)) static void tool_main(int argc, char **argv)
{
	const char *tool = getenv("IOMT_MECDATA_TOOL"), *v;
	struct dev_opts o = { .agreements = 1, .kind = AN_KIND_RR, .t0 = 1000000 };

	if (!tool)
		return;
	if (!strcmp(tool, "verify"))
		exit(verify_main(arg(argc, argv, "--db"), arg(argc, argv, "--cert"),
				 arg(argc, argv, "--ca-pub")));
	o.mec = arg(argc, argv, "--mec");
	o.prov = arg(argc, argv, "--prov");
	o.ids = arg(argc, argv, "--ids");
	o.then_wait = arg(argc, argv, "--then-wait");
	o.line = (v = arg(argc, argv, "--line")) ? (unsigned)atoi(v) : 0;
	o.count = (v = arg(argc, argv, "--count")) ? (unsigned)atoi(v) : 1;
	o.kind = (v = arg(argc, argv, "--kind")) ? (uint8_t)strtoul(v, NULL, 0) : AN_KIND_RR;
	o.t0 = (v = arg(argc, argv, "--t0")) ? strtoull(v, NULL, 0) : o.t0;
	o.agreements = (v = arg(argc, argv, "--agreements")) ? (unsigned)atoi(v) : 1;
	o.replay = flag(argc, argv, "--replay");
	o.forge = flag(argc, argv, "--forge");
	if (!o.mec || !o.prov || !o.agreements) {
		fprintf(stderr, "device: --mec and --prov are needed\n");
		exit(2);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	exit(device_main(&o));
}

/* ---- the suite: result signatures and the key file ---- */

static EVP_PKEY *fixed_key(uint8_t d[32])
{
	EVP_PKEY *k = NULL;

	for (int i = 0; i < 32; i++)
		d[i] = (uint8_t)(i + 1);
	ASSERT_EQ(ecies_key_from_scalar(d, &k), 0);
	return k;
}

static void sample_result(uint8_t id_a[16], uint8_t enc[AN_RESULT_LEN])
{
	struct an_result r = { .analysis = AN_ID_AF, .verdict = AN_VERDICT_EMERGENCY,
			       .win_start_ms = 1000, .win_end_ms = 99000, .n_samples = 128,
			       .metric = { 350000, -2, 3, 4 } };

	memset(id_a, 0xa5, 16);
	ASSERT_EQ(an_result_encode(&r, enc), 0);
}

TEST(result_signature_verifies_and_binds_id_a_result_and_label)
{
	uint8_t d[32], id_a[16], enc[AN_RESULT_LEN], sig[S2_RESULT_SIG_MAX], other[16];
	EVP_PKEY *k = fixed_key(d), *pub = tu_pub_only(k);
	size_t len = 0;

	sample_result(id_a, enc);
	ASSERT_NONNULL(pub);
	ASSERT_EQ(s2_result_sign(k, id_a, enc, sig, &len), 0);
	ASSERT_GE(len, 8u);
	ASSERT_LE(len, (size_t)S2_RESULT_SIG_MAX);
	ASSERT_EQ(s2_result_verify(pub, id_a, enc, sig, len), 0);
	/* every byte of ID_a and of the result is covered */
	for (size_t i = 0; i < AN_RESULT_LEN; i++) {
		enc[i] ^= 0x10;
		ASSERT_EQ(s2_result_verify(pub, id_a, enc, sig, len), IOMT_EAUTH);
		enc[i] ^= 0x10;
	}
	memcpy(other, id_a, 16);
	other[15] ^= 1;
	ASSERT_EQ(s2_result_verify(pub, other, enc, sig, len), IOMT_EAUTH);
	sig[len - 1] ^= 1;
	ASSERT_EQ(s2_result_verify(pub, id_a, enc, sig, len), IOMT_EAUTH);
	sig[len - 1] ^= 1;
	ASSERT_EQ(s2_result_verify(pub, id_a, enc, sig, len - 1), IOMT_EAUTH);
	ASSERT_EQ(s2_result_verify(pub, id_a, enc, sig, 0), IOMT_EAUTH);
	ASSERT_EQ(s2_result_verify(pub, id_a, enc, sig, S2_RESULT_SIG_MAX + 1), IOMT_EAUTH);
	/* the label: the same body signed under phase 6's label does not pass */
	{
		uint8_t body[S2_RESULT_BODY_LEN], s2[80];
		size_t l2 = 0;

		memcpy(body, id_a, 16);
		memcpy(body + 16, enc, AN_RESULT_LEN);
		ASSERT_EQ(p56_sign(k, "iomt/s2/p6-emerg", body, sizeof(body), s2, &l2), 0);
		ASSERT_EQ(s2_result_verify(pub, id_a, enc, s2, l2), IOMT_EAUTH);
		ASSERT_EQ(p56_verify(pub, S2_RESULT_LABEL, body, sizeof(body), sig, len), 0);
	}
	ASSERT_EQ(s2_result_sign(NULL, id_a, enc, sig, &len), IOMT_EINVAL);
	EVP_PKEY_free(k);
	EVP_PKEY_free(pub);
}

/* A key file of fixed_key with a MEC certificate for its point. */
static void write_keyfile(const char *path, uint8_t role, uint8_t *buf, size_t *len)
{
	uint8_t d[32];
	EVP_PKEY *k = fixed_key(d);
	struct ecqv_cert c = { .version = ECQV_VERSION, .curve = ECQV_CURVE_P256, .serial = 77,
			       .role = role, .not_before = 1, .not_after = 4000000000ULL };
	FILE *f;

	memcpy(c.issuer, "iomt-ttp-0000001", 16);
	memcpy(c.subject, "mec-test-0000001", 16);
	ASSERT_EQ(ecies_point_of(k, c.pu), 0);
	memcpy(buf, "IUK\1", 4);
	ASSERT_EQ(ecqv_cert_encode(&c, buf + 4), 0);
	memcpy(buf + 4 + ECQV_CERT_LEN, d, 32);
	*len = S2_RESULT_KEYFILE_LEN;
	f = fopen(path, "w");
	ASSERT_NONNULL(f);
	ASSERT_EQ(fwrite(buf, 1, *len, f), *len);
	fclose(f);
	ASSERT_EQ(chmod(path, 0600), 0);
	EVP_PKEY_free(k);
}

TEST(key_file_loads_and_every_defect_is_named)
{
	char path[] = "/tmp/iomt-mecdata-key.XXXXXX", err[256];
	uint8_t buf[S2_RESULT_KEYFILE_LEN + 1], d[32], id_a[16], enc[AN_RESULT_LEN];
	uint8_t sig[S2_RESULT_SIG_MAX];
	struct ecqv_cert c;
	EVP_PKEY *k = NULL, *ref = fixed_key(d);
	size_t len, slen = 0;
	int fd = mkstemp(path);
	FILE *f;

	ASSERT_GE(fd, 0);
	close(fd);
	write_keyfile(path, ECQV_ROLE_MEC, buf, &len);
	ASSERT_EQ(s2_result_key_load(path, &c, &k, err, sizeof(err)), 0);
	ASSERT_EQ(c.serial, 77u);
	ASSERT_EQ(c.role, ECQV_ROLE_MEC);
	sample_result(id_a, enc);
	ASSERT_EQ(s2_result_sign(k, id_a, enc, sig, &slen), 0);
	ASSERT_EQ(s2_result_verify(ref, id_a, enc, sig, slen), 0);
	EVP_PKEY_free(k);
	/* too open */
	ASSERT_EQ(chmod(path, 0644), 0);
	ASSERT_EQ(s2_result_key_load(path, &c, &k, err, sizeof(err)), -EPERM);
	ASSERT_NULL(k);
	/* one byte short, one byte long, bad magic, bad version, bad scalar */
	for (int defect = 0; defect < 5; defect++) {
		uint8_t b[sizeof(buf)];
		size_t n = len;

		memcpy(b, buf, len);
		if (defect == 0)
			n--;
		if (defect == 1)
			b[n++] = 0;
		if (defect == 2)
			b[0] = 'X';
		if (defect == 3)
			b[3] = 2;
		if (defect == 4)
			memset(b + 4 + ECQV_CERT_LEN, 0, 32);
		f = fopen(path, "w");
		ASSERT_NONNULL(f);
		ASSERT_EQ(fwrite(b, 1, n, f), n);
		fclose(f);
		ASSERT_EQ(chmod(path, 0600), 0);
		err[0] = 0;
		ASSERT_NE(s2_result_key_load(path, &c, &k, err, sizeof(err)), 0);
		ASSERT_NULL(k);
		ASSERT_NONNULL(strstr(err, path));
	}
	unlink(path);
	ASSERT_EQ(s2_result_key_load(path, &c, &k, err, sizeof(err)), -ENOENT);
	EVP_PKEY_free(ref);
}

/* ---- the MEC store ---- */

static int count_result(void *ctx, int64_t id, const uint8_t enc[AN_RESULT_LEN],
			const uint8_t *sig, size_t sig_len)
{
	int64_t *last = ctx;

	(void)enc;
	if (sig_len != 3 || sig[0] != 's')
		return 1;
	*last = id;
	return 0;
}

TEST(store_bounds_samples_and_results_per_id_a_and_survives_reopen)
{
	char dir[] = "/tmp/iomt-mecstore.XXXXXX", path[64], err[256] = "";
	struct gwd_mecstore s;
	uint8_t a[16], b[16], st8[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, got[8], enc[AN_RESULT_LEN];
	struct iomt_s2_sample v[10];
	struct an_result r = { .analysis = 1, .win_start_ms = 1, .win_end_ms = 2 };
	uint64_t ev = 0, rev = 0;
	int64_t id = 0, last = 0;

	ASSERT_NONNULL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/mec.db", dir);
	memset(a, 1, 16);
	memset(b, 2, 16);
	for (int i = 0; i < 10; i++)
		v[i] = (struct iomt_s2_sample){ .kind = 1, .value = (uint16_t)i, .t_ms = (uint64_t)i };
	ASSERT_EQ(gwd_mecstore_open(&s, path, 25, 3, err, sizeof(err)), 0);
	ASSERT_EQ(gwd_mecstore_begin(&s), 0);
	for (int k = 0; k < 3; k++)
		ASSERT_EQ(gwd_mecstore_add_samples(&s, a, v, 10, &ev), 0);
	ASSERT_EQ(gwd_mecstore_add_samples(&s, b, v, 10, &ev), 0);
	ASSERT_EQ(ev, 5u);	/* a: 30 > 25; b: 10 */
	ASSERT_EQ(gwd_mecstore_state_get(&s, a, 1, got, 8), 0);
	ASSERT_EQ(gwd_mecstore_state_put(&s, a, 1, st8, 8), 0);
	ASSERT_EQ(gwd_mecstore_state_get(&s, a, 1, got, 8), 1);
	ASSERT_MEMEQ(got, st8, 8);
	ASSERT_EQ(gwd_mecstore_state_get(&s, a, 1, got, 7), -EPROTO);
	ASSERT_EQ(gwd_mecstore_state_get(&s, b, 1, got, 8), 0);
	ASSERT_EQ(an_result_encode(&r, enc), 0);
	for (int k = 0; k < 5; k++) {
		ASSERT_EQ(gwd_mecstore_result_add(&s, a, &r, enc, (const uint8_t *)"sig", 3, 1, &id,
						  &rev), 0);
		ASSERT_EQ(id, k + 1);
	}
	ASSERT_EQ(rev, 2u);
	ASSERT_EQ(gwd_mecstore_commit(&s), 0);
	/* a rolled-back transaction leaves nothing */
	ASSERT_EQ(gwd_mecstore_begin(&s), 0);
	ASSERT_EQ(gwd_mecstore_add_samples(&s, b, v, 10, &ev), 0);
	ASSERT_EQ(gwd_mecstore_state_put(&s, b, 1, st8, 8), 0);
	gwd_mecstore_rollback(&s);
	gwd_mecstore_close(&s);

	ASSERT_EQ(gwd_mecstore_open(&s, path, 25, 3, err, sizeof(err)), 0);
	ASSERT_EQ(gwd_mecstore_state_get(&s, a, 1, got, 8), 1);
	ASSERT_EQ(gwd_mecstore_state_get(&s, b, 1, got, 8), 0);
	ASSERT_EQ(gwd_mecstore_results(&s, a, 0, 10, count_result, &last), 3);
	ASSERT_EQ(last, 5);
	ASSERT_EQ(gwd_mecstore_results(&s, a, 4, 10, count_result, &last), 1);
	ASSERT_EQ(gwd_mecstore_results(&s, a, 0, 2, count_result, &last), 2);
	ASSERT_EQ(last, 4);
	ASSERT_EQ(gwd_mecstore_results(&s, b, 0, 10, count_result, &last), 0);
	{
		/* the samples kept are a's newest 25 and b's 10 */
		struct rt_stmt *q;
		int n = -1;

		ASSERT_EQ(rt_stmt_prepare(s.db, "SELECT count(*), min(value) FROM samples WHERE id_a = ?",
					  &q), 0);
		ASSERT_EQ(rt_stmt_bind_blob(q, 1, a, 16), 0);
		ASSERT_EQ(rt_stmt_step(q), RT_STMT_ROW);
		n = (int)rt_stmt_int(q, 0);
		ASSERT_EQ(n, 25);
		ASSERT_EQ(rt_stmt_int(q, 1), 0);	/* 5..9, then 0..9 twice */
		rt_stmt_reset(q);
		ASSERT_EQ(rt_stmt_bind_blob(q, 1, b, 16), 0);
		ASSERT_EQ(rt_stmt_step(q), RT_STMT_ROW);
		ASSERT_EQ(rt_stmt_int(q, 0), 10);
		rt_stmt_free(q);
	}
	gwd_mecstore_close(&s);
	snprintf(err, sizeof(err), "rm -rf '%s'", dir);
	ASSERT_EQ(system(err), 0);
}

TEST(store_open_names_a_bad_path)
{
	struct gwd_mecstore s;
	char err[256] = "";

	ASSERT_NE(gwd_mecstore_open(&s, "/nonexistent-dir/x/mec.db", 10, 10, err, sizeof(err)), 0);
	ASSERT_TRUE(err[0] != 0);
	ASSERT_NULL(s.db);
}

/* ---- the session index (sessidx.c) ---- */

TEST(session_index_finds_every_live_handle_under_churn_and_collisions)
{
	enum { CAP = 48 };
	static struct gwd_session ring[CAP];
	struct gwd_sessidx x;
	struct tu_rng rng = { 42 };
	size_t head = 0, count = 0;
	uint64_t all[4000];

	ASSERT_EQ(gwd_sessidx_init(&x, CAP), 0);
	ASSERT_EQ(x.mask + 1, 128u);
	for (size_t i = 0; i < 4000; i++) {
		size_t pos;

		/* few distinct low bits: long probe chains that wrap around */
		all[i] = (tu_next(&rng) & ~0x7fULL) | (0x78 + (tu_next(&rng) & 0xf));
		if (count == CAP) {	/* drop the oldest, as sessions.c does */
			gwd_sessidx_del(&x, ring, head);
			memset(&ring[head], 0, sizeof(ring[head]));
			head = (head + 1) % CAP;
			count--;
		}
		pos = (head + count) % CAP;
		ring[pos].handle = all[i];
		gwd_sessidx_put(&x, ring, pos);
		count++;
		for (size_t j = 0; j <= i; j++) {
			long want = j + count > i ? (long)((head + (j - (i + 1 - count))) % CAP) : -1;

			ASSERT_EQ(gwd_sessidx_get(&x, ring, all[j]), want);
		}
	}
	ASSERT_EQ(gwd_sessidx_get(&x, ring, 12345), -1);
	gwd_sessidx_free(&x);
}
