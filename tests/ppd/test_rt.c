/* SPDX-License-Identifier: MIT */
/*
 * The runtime pieces the PPD and its clients share: rt_consent (ECDSA
 * P-256 over a consent request, key files) and rt_kchan_call against
 * services that misbehave (nobody listening, silence, an ERR for another
 * request, a forged reply, garbage).
 */
#include <pthread.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "harness.h"
#include "../kdc/flow_env.h"
#include "consent.h"
#include "kchan.h"
#include "lib/rt_consent.h"
#include "lib/rt_kchan.h"
#include "lib/rt_knet.h"
#include "lib/rt_rng.h"
#include "wire.h"

/* ---- rt_consent ---- */

TEST(consent_sign_verify_and_every_byte)
{
	static uint8_t msg[400];
	EVP_PKEY *k = NULL, *other = NULL;

	ASSERT_EQ(rt_consent_keygen(&k), 0);
	ASSERT_EQ(rt_consent_keygen(&other), 0);
	ASSERT_EQ(rt_random(msg, sizeof(msg)), 0);
	ASSERT_EQ(rt_consent_sign(k, msg, sizeof(msg)), 0);
	ASSERT_EQ(rt_consent_verify(k, msg, sizeof(msg)), 1);
	ASSERT_EQ(rt_consent_verify(other, msg, sizeof(msg)), 0);
	/* Every byte, signed part and signature alike. */
	for (size_t i = 0; i < sizeof(msg); i++) {
		msg[i] ^= 0x80;
		EXPECT_EQ(rt_consent_verify(k, msg, sizeof(msg)), 0);
		msg[i] ^= 0x80;
	}
	/* Cut or extended: the signature is no longer the last 64 bytes' job. */
	EXPECT_EQ(rt_consent_verify(k, msg, sizeof(msg) - 1), 0);
	EXPECT_EQ(rt_consent_verify(k, msg, 64), 0);
	EXPECT_EQ(rt_consent_sign(k, msg, 64), -EINVAL);
	/* r = 0 or s = 0 never verifies. */
	memset(msg + sizeof(msg) - 64, 0, 32);
	EXPECT_EQ(rt_consent_verify(k, msg, sizeof(msg)), 0);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

TEST(consent_key_files)
{
	char dir[64], priv[128], pub[128], err[512];
	EVP_PKEY *k = NULL, *back = NULL, *p = NULL, *ed = NULL;
	uint8_t msg[100] = { 1, 2, 3 };
	FILE *f;

	ASSERT_EQ(rt_test_mkdtemp(dir, sizeof(dir), "rtconsent"), 0);
	snprintf(priv, sizeof(priv), "%s/app.key", dir);
	snprintf(pub, sizeof(pub), "%s/app.pub", dir);
	ASSERT_EQ(rt_consent_keygen(&k), 0);
	ASSERT_EQ(rt_consent_key_write(k, priv, pub), 0);
	ASSERT_EQ(rt_consent_key_write(k, priv, pub), -EEXIST);      /* never overwritten */
	ASSERT_EQ(rt_consent_key_load(priv, &back, err, sizeof(err)), 0);
	ASSERT_EQ(rt_consent_pub_load(pub, &p, err, sizeof(err)), 0);
	ASSERT_EQ(rt_consent_sign(back, msg, sizeof(msg)), 0);
	ASSERT_EQ(rt_consent_verify(p, msg, sizeof(msg)), 1);
	ASSERT_EQ(rt_consent_verify(k, msg, sizeof(msg)), 1);
	/* A public key cannot sign. */
	EXPECT_NE(rt_consent_sign(p, msg, sizeof(msg)), 0);
	EVP_PKEY_free(back);
	back = NULL;
	/* A private key others may read is refused. */
	ASSERT_EQ(chmod(priv, 0640), 0);
	ASSERT_EQ(rt_consent_key_load(priv, &back, err, sizeof(err)), -EPERM);
	ASSERT_NONNULL(strstr(err, "too open"));
	/* Not P-256: refused as such. */
	unlink(priv);
	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	ASSERT_NONNULL(ed);
	f = fopen(priv, "w");
	ASSERT_NONNULL(f);
	ASSERT_EQ(PEM_write_PrivateKey(f, ed, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	chmod(priv, 0600);
	ASSERT_EQ(rt_consent_key_load(priv, &back, err, sizeof(err)), -EINVAL);
	ASSERT_NONNULL(strstr(err, "not a P-256 private key"));
	EXPECT_EQ(rt_consent_verify(ed, msg, sizeof(msg)), 0);
	ASSERT_EQ(rt_consent_key_load("/nonexistent/k", &back, err, sizeof(err)), -ENOENT);
	ASSERT_NE(rt_consent_pub_load(priv, &back, err, sizeof(err)), 0);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(p);
	EVP_PKEY_free(k);
	rt_test_rmtree(dir);
}

/* ---- rt_kchan_call against bad services ---- */

enum srv_mode { SRV_SILENT, SRV_OTHER_ERR, SRV_OUR_ERR, SRV_FORGED, SRV_GARBAGE, SRV_WRONG_TYPE };

struct srv {
	int fd;
	uint16_t port;
	enum srv_mode mode;
	pthread_t th;
};

static void *serve_one(void *arg)
{
	struct srv *s = arg;
	static uint8_t in[70000];
	uint8_t out[256], nonce[13] = { 0 }, key[16] = { 0 };
	size_t n = 0;
	long got;
	int c = accept(s->fd, NULL, NULL);

	if (c < 0)
		return NULL;
	got = rt_knet_recv_frame(c, in, sizeof(in), rt_knet_mono_ms() + 5000);
	if (got > 0) {
		const uint8_t *auth_nonce = in + IOMT_WIRE_HDR_LEN + IOMT_KDC_TICKET_LEN;

		switch (s->mode) {
		case SRV_SILENT:
			env_sleep_ms(1500);
			break;
		case SRV_OTHER_ERR:
		case SRV_OUR_ERR: {
			uint8_t ref[8] = { 9, 9, 9, 9, 9, 9, 9, 9 };

			if (s->mode == SRV_OUR_ERR)
				memcpy(ref, auth_nonce, 8);
			iomt_wire_put_hdr(out, IOMT_MSG_KDC_ERR, IOMT_KDC_ERR_LEN);
			iomt_kdc_err_build(IOMT_KDC_ERR_REPLAY, ref, 1, out + IOMT_WIRE_HDR_LEN);
			n = IOMT_WIRE_HDR_LEN + IOMT_KDC_ERR_LEN;
			break;
		}
		case SRV_FORGED:
			/* The right shape, a key the service does not have. */
			iomt_kchan_rep_seal(key, auth_nonce, IOMT_KCHAN_OK, nonce,
					    (const uint8_t *)"keys", 4, out + IOMT_WIRE_HDR_LEN,
					    sizeof(out) - IOMT_WIRE_HDR_LEN, &n);
			iomt_wire_put_hdr(out, IOMT_MSG_KCHAN_REP, n);
			n += IOMT_WIRE_HDR_LEN;
			break;
		case SRV_GARBAGE:
			memset(out, 0xee, 40);
			n = 40;
			break;
		case SRV_WRONG_TYPE:
			iomt_wire_put_hdr(out, IOMT_MSG_KDC_AP_REP, IOMT_KDC_AP_REP_LEN);
			memset(out + IOMT_WIRE_HDR_LEN, 0, IOMT_KDC_AP_REP_LEN);
			n = IOMT_WIRE_HDR_LEN + IOMT_KDC_AP_REP_LEN;
			break;
		}
		if (n)
			rt_knet_send(c, out, n);
	}
	env_sleep_ms(50);
	close(c);
	return NULL;
}

static void srv_start(struct srv *s, enum srv_mode mode)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->mode = mode;
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_GE(s->fd, 0);
	ASSERT_EQ(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ASSERT_EQ(listen(s->fd, 4), 0);
	ASSERT_EQ(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
	s->port = ntohs(a.sin_port);
	ASSERT_EQ(pthread_create(&s->th, NULL, serve_one, s), 0);
}

/* A client with a (made-up) ticket for the service. */
static void client(struct rt_kclient *k)
{
	struct rt_keyfile kf = { .kind = IOMT_KDC_KIND_CLOUD, .kvno = 1 };
	struct rt_kclient_opts o = { .kdc = NULL };

	memcpy(kf.name, "cloud-app", 9);
	ASSERT_EQ(rt_kclient_init(k, &kf, &o), 0);
	memset(k->c.ticket, 0x54, sizeof(k->c.ticket));
	memset(k->c.sess_key, 0x11, sizeof(k->c.sess_key));
	k->c.tkt_issue_ms = rt_kclient_now(k);
	k->c.tkt_life_s = 3600;
	k->c.state = IOMT_KDC_C_HAVE_TICKET;
}

static int call(enum srv_mode mode, struct rt_kclient *k, unsigned timeout_ms)
{
	struct srv s;
	char addr[32];
	uint8_t st, out[64];
	size_t olen = 99;
	int r;

	client(k);
	srv_start(&s, mode);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", s.port);
	r = rt_kchan_call(k, addr, IOMT_KCHAN_OP_RELEASE, (const uint8_t *)"body", 4, &st, out,
			  sizeof(out), &olen, timeout_ms);
	pthread_join(s.th, NULL);
	close(s.fd);
	if (r)
		EXPECT_EQ(olen, 0);
	return r;
}

TEST(kchan_call_against_bad_services)
{
	struct rt_kclient k;
	uint8_t st, out[8];
	size_t olen;
	char addr[32];

	EXPECT_EQ(call(SRV_SILENT, &k, 300), -ETIMEDOUT);
	EXPECT_NONNULL(strstr(rt_kclient_error(&k), "no answer in time"));
	/* An ERR that names another request: not our answer. */
	EXPECT_EQ(call(SRV_OTHER_ERR, &k, 3000), -EPROTO);
	/* An ERR naming ours: the service's code (a hint, as in Kerberos). */
	EXPECT_EQ(call(SRV_OUR_ERR, &k, 3000), IOMT_KDC_ERR_REPLAY);
	EXPECT_NONNULL(strstr(rt_kclient_error(&k), "replayed request"));
	EXPECT_EQ(call(SRV_FORGED, &k, 3000), -EPROTO);
	EXPECT_NONNULL(strstr(rt_kclient_error(&k), "does not verify"));
	EXPECT_EQ(k.c.state, IOMT_KDC_C_AP_SENT);
	EXPECT_EQ(call(SRV_GARBAGE, &k, 3000), -EPROTO);
	EXPECT_EQ(call(SRV_WRONG_TYPE, &k, 3000), -EPROTO);
	/* Nobody listening. */
	client(&k);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", env_free_port());
	EXPECT_EQ(rt_kchan_call(&k, addr, 2, (const uint8_t *)"x", 1, &st, out, sizeof(out), &olen,
				1000), -ECONNREFUSED);
	/* A ticket past its life: refused before anything is sent. */
	client(&k);
	k.c.tkt_issue_ms -= 7200 * 1000;
	EXPECT_EQ(rt_kchan_call(&k, addr, 2, (const uint8_t *)"x", 1, &st, out, sizeof(out), &olen,
				1000), IOMT_KDC_ERR_EXPIRED);
	EXPECT_NONNULL(strstr(rt_kclient_error(&k), "local check"));
	rt_kclient_wipe(&k);
}
