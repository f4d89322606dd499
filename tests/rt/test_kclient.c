/* SPDX-License-Identifier: MIT */
/* rt_kclient against a fake KDC (a thread here, lib's AS/TGS code on UDP and
 * TCP): a ticket, retries after lost datagrams, the TCP fallback when UDP is
 * silent, forged answers ignored, an ERR naming our request, answers that
 * never verify (-EPROTO), no answer at all (-ETIMEDOUT), bad arguments. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "harness.h"
#include "lib/rt_kclient.h"
#include "lib/rt_knet.h"
#include "lib/rt_log.h"
#include "lib/rt_rng.h"
#include "rt_test.h"
#include "wire.h"

struct fake {
	pthread_t th;
	atomic_int run;
	int ufd, lfd;
	uint16_t port;
	uint8_t kc[16], ktgs[16], ks[16];
	atomic_int udp_drop;	/* UDP requests to swallow */
	atomic_int udp_silent;	/* swallow every UDP request */
	atomic_int forge;	/* send junk and a foreign ERR before each answer */
	atomic_int only_forge;	/* ...and no real answer */
	atomic_int err_code;	/* answer ERR(code) naming the request */
	atomic_int udp_seen, tcp_seen;
};

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The answer to one request frame into out: its length, or 0. */
static size_t fake_answer(struct fake *f, const uint8_t *buf, size_t n, uint8_t *out)
{
	const uint8_t *p;
	uint8_t type, rnd[IOMT_KDC_REP_RAND], nonce[8], cname[16];
	size_t plen;
	uint32_t kvno;
	struct iomt_kdc_grant g = { .skvno = 1, .ckind = IOMT_KDC_KIND_SENSOR,
				    .now_ms = wall_ms(), .lifetime_s = 3600 };
	struct iomt_kdc_tgs_req t;
	int r;

	if (iomt_wire_parse(buf, n, &type, &p, &plen) || rt_random(rnd, sizeof(rnd)))
		return 0;
	if (type == IOMT_MSG_KDC_AS_REQ) {
		if (iomt_kdc_as_req_peek(p, plen, cname, &kvno, nonce))
			return 0;
		g.skey = f->ktgs;
		g.sname = iomt_kdc_tgs_name;
		memcpy(g.cname, cname, 16);
		if (!atomic_load(&f->err_code) &&
		    !iomt_kdc_as_reply(f->kc, p, plen, 60000, &g, rnd, out + 4)) {
			iomt_wire_put_hdr(out, IOMT_MSG_KDC_AS_REP, IOMT_KDC_AS_REP_LEN);
			return 4 + IOMT_KDC_AS_REP_LEN;
		}
	} else if (type == IOMT_MSG_KDC_TGS_REQ) {
		memcpy(nonce, p + 16, 8);
		r = iomt_kdc_tgs_req_open(f->ktgs, 1, p, plen, g.now_ms, 60000, &t);
		g.skey = f->ks;
		g.sname = t.target;
		memcpy(g.cname, t.tgt.cname, 16);
		if (!r && !atomic_load(&f->err_code) && !iomt_kdc_tgs_reply(&t, &g, rnd, out + 4)) {
			iomt_wire_put_hdr(out, IOMT_MSG_KDC_TGS_REP, IOMT_KDC_TGS_REP_LEN);
			return 4 + IOMT_KDC_TGS_REP_LEN;
		}
	} else {
		return 0;
	}
	iomt_wire_put_hdr(out, IOMT_MSG_KDC_ERR, IOMT_KDC_ERR_LEN);
	iomt_kdc_err_build((uint8_t)(atomic_load(&f->err_code) ? atomic_load(&f->err_code)
							      : IOMT_KDC_ERR_INTERNAL),
			   nonce, wall_ms(), out + 4);
	return 4 + IOMT_KDC_ERR_LEN;
}

/* Junk: an AS_REP-sized frame of zeros, and an ERR naming nobody. */
static void fake_forge(int fd, const struct sockaddr_storage *to, socklen_t tolen)
{
	uint8_t junk[4 + IOMT_KDC_AS_REP_LEN] = { 0 }, err[4 + IOMT_KDC_ERR_LEN];
	static const uint8_t nobody[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	iomt_wire_put_hdr(junk, IOMT_MSG_KDC_AS_REP, IOMT_KDC_AS_REP_LEN);
	iomt_wire_put_hdr(err, IOMT_MSG_KDC_ERR, IOMT_KDC_ERR_LEN);
	iomt_kdc_err_build(IOMT_KDC_ERR_REVOKED, nobody, wall_ms(), err + 4);
	sendto(fd, junk, sizeof(junk), 0, (const struct sockaddr *)to, tolen);
	sendto(fd, err, sizeof(err), 0, (const struct sockaddr *)to, tolen);
}

static void fake_udp(struct fake *f)
{
	uint8_t buf[512], out[512];
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	ssize_t n = recvfrom(f->ufd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
	size_t m;

	if (n <= 0)
		return;
	atomic_fetch_add(&f->udp_seen, 1);
	if (atomic_load(&f->udp_silent))
		return;
	if (atomic_load(&f->udp_drop) > 0) {
		atomic_fetch_sub(&f->udp_drop, 1);
		return;
	}
	if (atomic_load(&f->forge))
		fake_forge(f->ufd, &from, flen);
	if (!atomic_load(&f->only_forge) && (m = fake_answer(f, buf, (size_t)n, out)))
		sendto(f->ufd, out, m, 0, (struct sockaddr *)&from, flen);
}

static void fake_tcp(struct fake *f)
{
	uint8_t buf[512], out[512];
	int fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
	long n;
	size_t m;

	if (fd < 0)
		return;
	n = rt_knet_recv_frame(fd, buf, sizeof(buf), rt_knet_mono_ms() + 2000);
	atomic_fetch_add(&f->tcp_seen, 1);
	if (n > 0 && (m = fake_answer(f, buf, (size_t)n, out)))
		rt_knet_send(fd, out, m);
	close(fd);
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;

	while (atomic_load(&f->run)) {
		struct pollfd p[2] = { { .fd = f->ufd, .events = POLLIN },
				       { .fd = f->lfd, .events = POLLIN } };

		if (poll(p, 2, 50) <= 0)
			continue;
		if (p[0].revents & POLLIN)
			fake_udp(f);
		if (p[1].revents & POLLIN)
			fake_tcp(f);
	}
	return NULL;
}

/* UDP and TCP on one loopback port. */
static int fake_start(struct fake *f)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);

	/* UDP on any free port, then TCP on the same one: another socket may
	 * hold that TCP port, so try a few UDP ports (as rt_sock does). */
	for (int tries = 0;; tries++) {
		a.sin_port = 0;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(a);
		f->ufd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (f->ufd < 0 || f->lfd < 0 || bind(f->ufd, (struct sockaddr *)&a, sizeof(a)) ||
		    getsockname(f->ufd, (struct sockaddr *)&a, &len))
			return -1;
		if (!bind(f->lfd, (struct sockaddr *)&a, sizeof(a)))
			break;
		if (errno != EADDRINUSE || tries == 20)
			return -1;
		close(f->ufd);
		close(f->lfd);
	}
	if (listen(f->lfd, 8))
		return -1;
	f->port = ntohs(a.sin_port);
	if (rt_random(f->kc, 16) || rt_random(f->ktgs, 16) || rt_random(f->ks, 16))
		return -1;
	atomic_store(&f->run, 1);
	return pthread_create(&f->th, NULL, fake_main, f) ? -1 : 0;
}

FIXTURE(kc) {
	char dir[64], log[128], kdc[32];
	struct fake f;
	struct rt_keyfile kf;
	struct rt_kclient k;
	int started;
};

FIXTURE_SETUP(kc)
{
	ASSERT_EQ(rt_test_mkdtemp(self->dir, sizeof(self->dir), "kclient"), 0);
	snprintf(self->log, sizeof(self->log), "%s/test.log", self->dir);
	rt_log_init("test-kclient");
	ASSERT_EQ(rt_log_set_file(self->log), 0);
	ASSERT_EQ(fake_start(&self->f), 0);
	self->started = 1;
	snprintf(self->kdc, sizeof(self->kdc), "127.0.0.1:%u", self->f.port);
	ASSERT_EQ(iomt_kdc_name_from_text(self->kf.name, "sensor1"), 0);
	ASSERT_EQ(iomt_kdc_name_from_text(self->kf.patient, "alice"), 0);
	self->kf.kind = IOMT_KDC_KIND_SENSOR;
	self->kf.kvno = 1;
	memcpy(self->kf.key, self->f.kc, 16);
}

FIXTURE_TEARDOWN(kc)
{
	if (self->started) {
		atomic_store(&self->f.run, 0);
		pthread_join(self->f.th, NULL);
	}
	rt_kclient_wipe(&self->k);
	rt_test_rmtree(self->dir);
}

static int client(FIXTURE_DATA(kc) *self, enum rt_kclient_transport t, unsigned timeout,
		  int retries)
{
	struct rt_kclient_opts o = { .kdc = self->kdc, .transport = t, .timeout_ms = timeout,
				     .retries = retries };

	return rt_kclient_init(&self->k, &self->kf, &o);
}

TEST_F(kc, a_ticket_over_udp)
{
	ASSERT_EQ(client(self, RT_KCLIENT_AUTO, 0, -1), 0);
	ASSERT_EQ(rt_kclient_ticket(&self->k, "ppd-alice"), 0);
	EXPECT_EQ(self->k.c.state, IOMT_KDC_C_HAVE_TICKET);
	EXPECT_EQ(atomic_load(&self->f.udp_seen), 2);
	EXPECT_EQ(atomic_load(&self->f.tcp_seen), 0);
	/* A second target reuses the TGT: one more exchange. */
	ASSERT_EQ(rt_kclient_ticket(&self->k, "cloud"), 0);
	EXPECT_EQ(atomic_load(&self->f.udp_seen), 3);
}

TEST_F(kc, lost_datagrams_are_retried_with_fresh_requests)
{
	atomic_store(&self->f.udp_drop, 2);
	ASSERT_EQ(client(self, RT_KCLIENT_UDP, 50, 3), 0);
	ASSERT_EQ(rt_kclient_ticket(&self->k, "ppd-alice"), 0);
	EXPECT_EQ(atomic_load(&self->f.udp_seen), 4);
}

TEST_F(kc, silent_udp_falls_back_to_tcp)
{
	atomic_store(&self->f.udp_silent, 1);
	ASSERT_EQ(client(self, RT_KCLIENT_AUTO, 30, 1), 0);
	ASSERT_EQ(rt_kclient_ticket(&self->k, "ppd-alice"), 0);
	EXPECT_EQ(atomic_load(&self->f.tcp_seen), 2);
	rt_kclient_wipe(&self->k);
	/* UDP only: no answer. */
	ASSERT_EQ(client(self, RT_KCLIENT_UDP, 30, 1), 0);
	EXPECT_EQ(rt_kclient_ticket(&self->k, "ppd-alice"), -ETIMEDOUT);
	EXPECT_TRUE(strstr(rt_kclient_error(&self->k), "no answer") != NULL);
	EXPECT_EQ(self->k.c.state, IOMT_KDC_C_IDLE);
}

TEST_F(kc, tcp_only)
{
	ASSERT_EQ(client(self, RT_KCLIENT_TCP, 0, -1), 0);
	ASSERT_EQ(rt_kclient_ticket(&self->k, "ppd-alice"), 0);
	EXPECT_EQ(atomic_load(&self->f.udp_seen), 0);
	EXPECT_EQ(atomic_load(&self->f.tcp_seen), 2);
}

TEST_F(kc, forged_answers_are_ignored)
{
	atomic_store(&self->f.forge, 1);
	ASSERT_EQ(client(self, RT_KCLIENT_UDP, 200, 0), 0);
	ASSERT_EQ(rt_kclient_ticket(&self->k, "ppd-alice"), 0);
	EXPECT_EQ(self->k.last_code, 0);
	rt_kclient_wipe(&self->k);
	/* Nothing but forgeries: the client says so. */
	atomic_store(&self->f.only_forge, 1);
	ASSERT_EQ(client(self, RT_KCLIENT_UDP, 50, 1), 0);
	EXPECT_EQ(rt_kclient_ticket(&self->k, "ppd-alice"), -EPROTO);
	EXPECT_TRUE(strstr(rt_kclient_error(&self->k), "did not verify") != NULL);
}

TEST_F(kc, an_err_naming_our_request_is_the_answer)
{
	atomic_store(&self->f.err_code, IOMT_KDC_ERR_POLICY);
	ASSERT_EQ(client(self, RT_KCLIENT_UDP, 200, 3), 0);
	EXPECT_EQ(rt_kclient_ticket(&self->k, "ppd-bob"), IOMT_KDC_ERR_POLICY);
	EXPECT_EQ(self->k.last_code, IOMT_KDC_ERR_POLICY);
	EXPECT_EQ(atomic_load(&self->f.udp_seen), 1);
	EXPECT_TRUE(strstr(rt_kclient_error(&self->k), "refused the AS request: 3") != NULL);
}

TEST_F(kc, a_wrong_key_never_verifies)
{
	self->kf.key[0] ^= 1;
	ASSERT_EQ(client(self, RT_KCLIENT_UDP, 50, 1), 0);
	/* The fake answers INTERNAL when the pre-authentication fails. */
	EXPECT_EQ(rt_kclient_ticket(&self->k, "ppd-alice"), IOMT_KDC_ERR_INTERNAL);
}

TEST_F(kc, bad_arguments)
{
	struct rt_kclient_opts o = { .kdc = "localhost" };
	char fp[RT_KCLIENT_FP_HEX];
	uint8_t key[16] = { 0 };

	EXPECT_EQ(rt_kclient_init(&self->k, &self->kf, &o), -EINVAL);
	o.kdc = "[::1:7480";
	EXPECT_EQ(rt_kclient_init(&self->k, &self->kf, &o), -EINVAL);
	o.kdc = "127.0.0.1:70000";
	EXPECT_EQ(rt_kclient_init(&self->k, &self->kf, &o), -EINVAL);
	ASSERT_EQ(client(self, RT_KCLIENT_AUTO, 0, -1), 0);
	EXPECT_EQ(rt_kclient_ticket(&self->k, "no spaces"), -EINVAL);
	EXPECT_EQ(rt_kclient_ap(&self->k, "127.0.0.1:1"), -EINVAL);
	EXPECT_TRUE(strstr(rt_kclient_error(&self->k), "no service ticket") != NULL);
	memset(self->kf.name, 0, sizeof(self->kf.name));
	rt_kclient_wipe(&self->k);
	EXPECT_EQ(client(self, RT_KCLIENT_AUTO, 0, -1), -EINVAL);
	rt_kclient_fingerprint(key, fp);
	EXPECT_EQ(strlen(fp), 16);
}
