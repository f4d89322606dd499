/* SPDX-License-Identifier: MIT */
/* rt_kservice without a KDC: tickets sealed here under the service's key,
 * clients are lib's state machine. Established peers (same session key at
 * both ends), replays (in one batch, across batches, after a restart),
 * wrong sizes (no answer), tampering, a full replay cache (BUSY), a replay
 * cache that cannot be written (INTERNAL, then failed), open errors. */
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <time.h>

#include "harness.h"
#include "ct.h"
#include "lib/rt_kservice.h"
#include "lib/rt_log.h"
#include "lib/rt_rng.h"
#include "rt_test.h"

enum { REQ = IOMT_KDC_AP_REQ_LEN };

FIXTURE(ksvc) {
	char dir[64], key[128], replay[128], log[128];
	struct rt_keyfile kf;
	struct rt_kservice *s;
	struct iomt_kdc_client c[4];
	uint8_t req[4][REQ];
	struct rt_kservice_reply rep[8];
	struct rt_kservice_peer peer[8];
	uint64_t now;
};

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

FIXTURE_SETUP(ksvc)
{
	ASSERT_EQ(rt_test_mkdtemp(self->dir, sizeof(self->dir), "ksvc"), 0);
	snprintf(self->key, sizeof(self->key), "%s/ppd.key", self->dir);
	snprintf(self->replay, sizeof(self->replay), "%s/ppd.replay", self->dir);
	snprintf(self->log, sizeof(self->log), "%s/test.log", self->dir);
	rt_log_init("test-kservice");
	ASSERT_EQ(rt_log_set_file(self->log), 0);
	ASSERT_EQ(iomt_kdc_name_from_text(self->kf.name, "ppd-alice"), 0);
	ASSERT_EQ(iomt_kdc_name_from_text(self->kf.patient, "alice"), 0);
	self->kf.kind = IOMT_KDC_KIND_PPD;
	self->kf.kvno = 3;
	ASSERT_EQ(rt_random(self->kf.key, sizeof(self->kf.key)), 0);
	ASSERT_EQ(rt_keyfile_write(self->key, &self->kf, NULL), 0);
	self->now = wall_ms();
}

FIXTURE_TEARDOWN(ksvc)
{
	rt_kservice_close(self->s);
	rt_test_rmtree(self->dir);
}

static int open_svc(FIXTURE_DATA(ksvc) *self, size_t capacity)
{
	struct rt_kservice_opts o = { .key_path = self->key, .replay_path = self->replay,
				      .replay_capacity = capacity };
	char err[256];

	rt_kservice_close(self->s);
	self->s = NULL;
	return rt_kservice_open(&o, self->now, &self->s, err, sizeof(err));
}

/* Client i holds a ticket for sname (sealed under key ks) and makes req[i]. */
static int client_for(FIXTURE_DATA(ksvc) *self, int i, const char *sname, const uint8_t *ks)
{
	struct iomt_kdc_client *c = &self->c[i];
	struct iomt_kdc_ticket_info info = { .ckind = IOMT_KDC_KIND_SENSOR,
					     .issue_ms = self->now, .lifetime_s = 3600 };
	uint8_t cname[16], sn[16], kc[16], nonce[13], rnd[IOMT_KDC_AP_REQ_RAND];
	char text[16];

	snprintf(text, sizeof(text), "sensor%d", i);
	if (iomt_kdc_name_from_text(cname, text) || iomt_kdc_name_from_text(sn, sname) ||
	    rt_random(kc, 16) || rt_random(info.key, 16) || rt_random(nonce, 13) ||
	    rt_random(rnd, sizeof(rnd)) || iomt_kdc_client_init(c, cname, 1, kc))
		return -1;
	memcpy(info.cname, cname, 16);
	memcpy(info.patient, self->kf.patient, 16);
	if (iomt_kdc_ticket_seal(ks, sn, self->kf.kvno, &info, nonce, c->ticket))
		return -1;
	memcpy(c->target, sn, 16);
	memcpy(c->sess_key, info.key, 16);
	c->tkt_issue_ms = info.issue_ms;
	c->tkt_life_s = info.lifetime_s;
	c->state = IOMT_KDC_C_HAVE_TICKET;
	return iomt_kdc_client_ap_req(c, self->now, rnd, self->req[i]) ? -1 : 0;
}

static size_t batch(FIXTURE_DATA(ksvc) *self, const uint8_t *const *req, const size_t *len,
		    size_t n)
{
	return rt_kservice_batch(self->s, req, len, n, self->now, self->rep, self->peer);
}

/* The reply's frame fed to client i: its result. */
static int client_recv(FIXTURE_DATA(ksvc) *self, int i, const struct rt_kservice_reply *rep)
{
	return iomt_kdc_client_recv(&self->c[i], rep->frame[1], rep->frame + IOMT_WIRE_HDR_LEN,
				    rep->len - IOMT_WIRE_HDR_LEN);
}

TEST_F(ksvc, established_peer_shares_the_session_and_a_replay_is_refused)
{
	const uint8_t *req[1] = { NULL };
	size_t len[1] = { REQ };
	uint8_t code, ref[8];
	uint64_t t;
	char name[17];

	ASSERT_EQ(open_svc(self, 0), 0);
	ASSERT_EQ(client_for(self, 0, "ppd-alice", self->kf.key), 0);
	req[0] = self->req[0];
	ASSERT_EQ(batch(self, req, len, 1), 1);
	ASSERT_EQ(self->rep[0].code, 0);
	ASSERT_EQ(self->rep[0].len, IOMT_WIRE_HDR_LEN + IOMT_KDC_AP_REP_LEN);
	EXPECT_STREQ(rt_kservice_name_str(self->peer[0].cname, name, sizeof(name)), "sensor0");
	EXPECT_EQ(self->peer[0].ckind, IOMT_KDC_KIND_SENSOR);
	EXPECT_EQ(self->peer[0].ticket_end_ms, self->now + 3600 * 1000);
	ASSERT_EQ(client_recv(self, 0, &self->rep[0]), 0);
	EXPECT_EQ(self->c[0].state, IOMT_KDC_C_ESTABLISHED);
	EXPECT_TRUE(iomt_ct_eq(self->c[0].session, self->peer[0].session, 16));
	/* The same request again: REPLAY, naming the request. */
	ASSERT_EQ(batch(self, req, len, 1), 0);
	EXPECT_EQ(self->rep[0].code, IOMT_KDC_ERR_REPLAY);
	ASSERT_EQ(self->rep[0].frame[1], IOMT_MSG_KDC_ERR);
	ASSERT_EQ(iomt_kdc_err_parse(self->rep[0].frame + 4, self->rep[0].len - 4, &code, ref, &t),
		  0);
	EXPECT_EQ(code, IOMT_KDC_ERR_REPLAY);
	EXPECT_MEMEQ(ref, self->c[0].auth_nonce, 8);
	EXPECT_EQ(rt_kservice_count(self->s, 0), 1);
	EXPECT_EQ(rt_kservice_count(self->s, IOMT_KDC_ERR_REPLAY), 1);
}

TEST_F(ksvc, a_mixed_batch_gets_one_answer_each)
{
	uint8_t bad[REQ];
	const uint8_t *req[5];
	size_t len[5] = { REQ, REQ, REQ - 1, REQ, REQ };

	ASSERT_EQ(open_svc(self, 0), 0);
	ASSERT_EQ(client_for(self, 0, "ppd-alice", self->kf.key), 0);
	ASSERT_EQ(client_for(self, 1, "ppd-alice", self->kf.key), 0);
	ASSERT_EQ(client_for(self, 2, "ppd-bob", self->kf.key), 0);
	memcpy(bad, self->req[1], REQ);
	bad[REQ - 1] ^= 1;
	req[0] = self->req[0];	/* good */
	req[1] = self->req[0];	/* the same, in the same batch: a replay */
	req[2] = self->req[1];	/* one byte short */
	req[3] = bad;		/* tampered tag */
	req[4] = self->req[2];	/* a ticket for someone else */
	EXPECT_EQ(batch(self, req, len, 5), 1);
	EXPECT_EQ(self->rep[0].code, 0);
	EXPECT_EQ(self->rep[1].code, IOMT_KDC_ERR_REPLAY);
	EXPECT_EQ(self->rep[2].code, IOMT_KDC_ERR_MALFORMED);
	EXPECT_EQ(self->rep[2].len, 0);
	EXPECT_EQ(self->rep[3].code, IOMT_KDC_ERR_BAD_MAC);
	EXPECT_EQ(self->rep[4].code, IOMT_KDC_ERR_WRONG_PRINCIPAL);
	EXPECT_EQ(rt_kservice_count(self->s, IOMT_KDC_ERR_MALFORMED), 1);
	/* The genuine second request was not consumed by its tampered copy. */
	req[0] = self->req[1];
	EXPECT_EQ(batch(self, req, len, 1), 1);
}

TEST_F(ksvc, a_replay_is_refused_after_a_restart)
{
	const uint8_t *req[1];
	size_t len[1] = { REQ };

	ASSERT_EQ(open_svc(self, 0), 0);
	ASSERT_EQ(client_for(self, 0, "ppd-alice", self->kf.key), 0);
	req[0] = self->req[0];
	ASSERT_EQ(batch(self, req, len, 1), 1);
	ASSERT_EQ(open_svc(self, 0), 0);
	EXPECT_EQ(batch(self, req, len, 1), 0);
	EXPECT_EQ(self->rep[0].code, IOMT_KDC_ERR_REPLAY);
}

TEST_F(ksvc, a_full_replay_cache_answers_busy)
{
	const uint8_t *req[3];
	size_t len[3] = { REQ, REQ, REQ };

	ASSERT_EQ(open_svc(self, 2), 0);
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(client_for(self, i, "ppd-alice", self->kf.key), 0);
		req[i] = self->req[i];
	}
	EXPECT_EQ(batch(self, req, len, 3), 2);
	EXPECT_EQ(self->rep[2].code, IOMT_KDC_ERR_BUSY);
	EXPECT_EQ(self->rep[2].frame[1], IOMT_MSG_KDC_ERR);
	EXPECT_FALSE(rt_kservice_failed(self->s));
}

TEST_F(ksvc, an_unwritable_replay_cache_accepts_nothing)
{
	const uint8_t *req[2];
	size_t len[2] = { REQ, REQ };
	struct rlimit rl;
	struct stat st;

	signal(SIGXFSZ, SIG_IGN);
	ASSERT_EQ(open_svc(self, 0), 0);
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(client_for(self, i, "ppd-alice", self->kf.key), 0);
		req[i] = self->req[i];
	}
	ASSERT_EQ(stat(self->replay, &st), 0);
	rl.rlim_cur = rl.rlim_max = (rlim_t)st.st_size;
	ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &rl), 0);
	EXPECT_EQ(batch(self, req, len, 2), 0);
	EXPECT_EQ(self->rep[0].code, IOMT_KDC_ERR_INTERNAL);
	EXPECT_EQ(self->rep[1].code, IOMT_KDC_ERR_INTERNAL);
	EXPECT_TRUE(rt_kservice_failed(self->s));
}

TEST_F(ksvc, open_errors_say_what_is_wrong)
{
	struct rt_kservice_opts o = { .key_path = self->key, .replay_path = self->replay };
	struct rt_kservice *other = NULL;
	char err[256], missing[160];

	snprintf(missing, sizeof(missing), "%s/none.key", self->dir);
	o.key_path = missing;
	EXPECT_EQ(rt_kservice_open(&o, self->now, &other, err, sizeof(err)), -ENOENT);
	EXPECT_TRUE(strstr(err, "none.key") != NULL);
	o.key_path = self->key;
	ASSERT_EQ(open_svc(self, 0), 0);
	EXPECT_EQ(rt_kservice_open(&o, self->now, &other, err, sizeof(err)), -EBUSY);
	EXPECT_TRUE(strstr(err, "in use") != NULL);
	o.replay_path = "";
	EXPECT_EQ(rt_kservice_open(&o, self->now, &other, err, sizeof(err)), -EINVAL);
	EXPECT_NULL(other);
}
