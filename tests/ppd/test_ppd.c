/* SPDX-License-Identifier: MIT */
/*
 * iomt-ppd serve, end to end on loopback with the real KDC: provisioning
 * (the key the sensor gets is K_data_0 recomputed from K_master), releases
 * approved and denied by policy and by the patient on a pty, every refusal
 * of the consent checks (and its evidence entry), the wrong kinds of
 * client, and a restart that loses nothing (keys, replayed request ids,
 * the evidence log).
 */
#include "harness.h"
#include "ppd_env.h"

FIXTURE(serve) {
	struct ppd_env p;
};

FIXTURE_SETUP(serve)
{
	int r = ppd_env_init(&self->p);

	if (r == -1)
		SKIP(return, "iomt-ppd, iomt-kdc, iomt-kclient or iomt-gwd not built");
	ASSERT_EQ(r, 0);
}

FIXTURE_TEARDOWN(serve)
{
	ppd_env_fini(&self->p);
}

static const char allow_app[] = "allow requester=cloud-app purpose=treatment max_range=24h\n"
				"deny requester=* purpose=*\n";

/* A provisioned meta for sensor-1 (asserting the key is K_data_0). */
static void provision(struct ppd_env *p, struct iomt_keytree_meta *m)
{
	uint8_t k0[16], want[16], st = 0xff;

	ASSERT_EQ(ppd_provision(p, "sensor-1", (const uint8_t *)"sensor-1\0\0\0\0\0\0\0", m, k0,
				&st), 0);
	ASSERT_EQ(st, IOMT_KCHAN_OK);
	ASSERT_EQ(iomt_keytree_data_key0(p->kmaster, m, want), 0);
	ASSERT_MEMEQ(k0, want, 16);
}

TEST_F(serve, provision_gives_k_data0_of_master_and_meta)
{
	struct iomt_keytree_meta m, m2;
	uint8_t k0[16], st;

	ASSERT_EQ(ppd_start(&self->p, allow_app, NULL), 0);
	provision(&self->p, &m);
	ASSERT_MEMEQ(m.ppd_id, "ppd-alice\0\0\0\0\0\0\0", 16);
	ASSERT_MEMEQ(m.sensor_id, "sensor-1\0\0\0\0\0\0\0\0", 16);
	ASSERT_EQ(m.conf.refresh_period_s, 3600);
	/* No state: each provisioning is a new key id, hence a new tree. */
	provision(&self->p, &m2);
	ASSERT_NE(memcmp(m.key_id, m2.key_id, 16), 0);
	/* Without I_sensor: absent in the meta. */
	ASSERT_EQ(ppd_provision(&self->p, "sensor-2", NULL, &m2, k0, &st), 0);
	ASSERT_EQ(st, IOMT_KCHAN_OK);
	for (int i = 0; i < 16; i++)
		ASSERT_EQ(m2.sensor_id[i], 0);
	/* Claiming another sensor's identity: refused. */
	ASSERT_EQ(ppd_provision(&self->p, "sensor-2", (const uint8_t *)"sensor-1\0\0\0\0\0\0\0",
				&m2, k0, &st), 0);
	ASSERT_EQ(st, IOMT_KCHAN_REFUSED);
	ASSERT_EQ(ppd_log_show(&self->p), 0);
	ASSERT_TRUE(env_file_has(self->p.e.out, "\"op\":\"provision\",\"sensor\":\"sensor-1\""));
	ASSERT_TRUE(env_file_has(self->p.e.out, "I_sensor is not the authenticated sensor"));
	ASSERT_EQ(env_metric(&self->p.e, "iomt_ppd_requests_total{op=\"provision\",result=\"ok\"}"),
		  3);
}

TEST_F(serve, release_approved_by_policy_gives_the_node_keys)
{
	static uint8_t req[IOMT_CONSENT_MAX_LEN], out[4096];
	static struct iomt_consent_req q;
	struct iomt_consent_node nodes[4];
	uint8_t keys[4][16], id[16], k0[16], ke[16], want[16], st = 0xff;
	struct iomt_keytree_meta m;
	uint16_t count;
	size_t n, olen;

	ASSERT_EQ(ppd_start(&self->p, allow_app, "consent policy"), 0);
	provision(&self->p, &m);
	ppd_request(&q, &m, "cloud-app", ppd_now());
	n = ppd_sign(&self->p, &q, NULL, req);
	ASSERT_GT(n, 0);
	ASSERT_EQ(ppd_release(&self->p, "cloud-app", req, n, &st, out, &olen), 0);
	ASSERT_EQ(st, IOMT_KCHAN_OK);
	ASSERT_EQ(iomt_release_decode(&ppd_day, id, nodes, keys, 4, &count, out, olen), 0);
	ASSERT_EQ(count, 2);
	ASSERT_MEMEQ(id, q.request_id, 16);
	ASSERT_EQ(iomt_keytree_data_key0(self->p.kmaster, &m, k0), 0);
	for (unsigned i = 0; i < count; i++) {
		ASSERT_EQ(iomt_keytree_data_key(&ppd_day, k0, nodes[i].epoch, ke), 0);
		ASSERT_EQ(iomt_keytree_node_key(&ppd_day, nodes[i].epoch, ke, &nodes[i].node, want),
			  0);
		ASSERT_MEMEQ(keys[i], want, 16);
	}
	/* The evidence: the request, the decision, the release (never a key). */
	ASSERT_EQ(ppd_log_show(&self->p), 0);
	ASSERT_TRUE(env_file_has(self->p.e.out, "consent_request  {\"request_id\""));
	ASSERT_TRUE(env_file_has(self->p.e.out, "\"requester\":\"cloud-app\",\"purpose\":\"treatment\","
				 "\"from\":\"2025-01-01T03:00:00.000Z\""));
	ASSERT_TRUE(env_file_has(self->p.e.out, "\"decision\":\"approve\",\"by\":\"policy\",\"rule\":1"));
	ASSERT_TRUE(env_file_has(self->p.e.out, "\"nodes\":\"3:1/3,4:2/4.7\""));
	ASSERT_EQ(env_metric(&self->p.e, "iomt_ppd_requests_total{op=\"release\",result=\"ok\"}"), 1);
}

TEST_F(serve, release_denied_by_policy_gives_no_key)
{
	static uint8_t req[IOMT_CONSENT_MAX_LEN], out[4096];
	static struct iomt_consent_req q;
	struct iomt_keytree_meta m;
	uint8_t st = 0xff;
	size_t n, olen;

	ASSERT_EQ(ppd_start(&self->p, allow_app, "consent policy"), 0);
	provision(&self->p, &m);
	ppd_request(&q, &m, "cloud-app", ppd_now());
	q.purpose = IOMT_PURPOSE_RESEARCH;          /* only treatment is allowed */
	n = ppd_sign(&self->p, &q, NULL, req);
	ASSERT_EQ(ppd_release(&self->p, "cloud-app", req, n, &st, out, &olen), 0);
	ASSERT_EQ(st, IOMT_KCHAN_DENIED);
	ASSERT_EQ(olen, IOMT_RELEASE_REFUSAL_LEN);
	ASSERT_EQ(ppd_reason(out, olen, q.request_id), IOMT_RELEASE_R_POLICY);
	/* max_range: a longer range than the rule allows falls to the deny. */
	ppd_request(&q, &m, "cloud-app", ppd_now());
	q.from_ms -= 86400000ULL * 2;
	n = ppd_sign(&self->p, &q, NULL, req);
	ASSERT_EQ(ppd_release(&self->p, "cloud-app", req, n, &st, out, &olen), 0);
	ASSERT_EQ(st, IOMT_KCHAN_DENIED);
	ASSERT_EQ(ppd_log_show(&self->p), 0);
	ASSERT_TRUE(env_file_has(self->p.e.out, "\"decision\":\"deny\",\"reason\":\"policy\",\"by\":\"policy\",\"rule\":2"));
	ASSERT_FALSE(env_file_has(self->p.e.out, "key_release"));
}

/* Prompt on a pty: the answer, and what the patient was shown. */
static void prompted(struct ppd_env *p, const char *answer, uint8_t want_status, int want_reason)
{
	static uint8_t req[IOMT_CONSENT_MAX_LEN], out[4096];
	static struct iomt_consent_req q;
	struct iomt_keytree_meta m;
	uint8_t st = 0xff;
	size_t n, olen;
	char path[200];
	pid_t child;
	int r;

	ASSERT_EQ(ppd_pty(p), 0);
	ASSERT_EQ(ppd_start(p, "", "consent prompt\nprompt_timeout 1s"), 0);
	provision(p, &m);
	ppd_request(&q, &m, "cloud-app", ppd_now());
	n = ppd_sign(p, &q, NULL, req);
	child = ppd_answer(p, answer);
	r = ppd_release(p, "cloud-app", req, n, &st, out, &olen);
	env_reap(&child, SIGKILL, 2000);
	ASSERT_EQ(r, 0);
	ASSERT_EQ(st, want_status);
	if (want_reason)
		ASSERT_EQ(ppd_reason(out, olen, q.request_id), want_reason);
	snprintf(path, sizeof(path), "%s/prompt.txt", p->e.dir);
	ASSERT_TRUE(env_file_has(path, "Who:        cloud-app"));
	ASSERT_TRUE(env_file_has(path, "Why:        treatment"));
	ASSERT_TRUE(env_file_has(path, "Sensor:     sensor-1"));
	ASSERT_TRUE(env_file_has(path, "Data from:  2025-01-01 03:00:00 UTC"));
	ASSERT_TRUE(env_file_has(path, "Decrypted:  for 2 h 00 min"));
	ASSERT_TRUE(env_file_has(path, "Keys:       2, opening data from 2025-01-01 03:00:00 UTC "
				       "to 2025-01-01 04:39:59 UTC"));
	ASSERT_TRUE(env_file_has(path, "Cardiology follow-up, Dr. Rossi"));
}

TEST_F(serve, prompt_answered_yes_releases)
{
	prompted(&self->p, "y\n", IOMT_KCHAN_OK, 0);
	ASSERT_EQ(ppd_log_show(&self->p), 0);
	ASSERT_TRUE(env_file_has(self->p.e.out, "\"decision\":\"approve\",\"by\":\"prompt\""));
	ASSERT_TRUE(env_file_has(self->p.e.out, "key_release"));
}

TEST_F(serve, prompt_answered_no_denies)
{
	prompted(&self->p, "n\n", IOMT_KCHAN_DENIED, IOMT_RELEASE_R_PATIENT);
	ASSERT_EQ(ppd_log_show(&self->p), 0);
	ASSERT_TRUE(env_file_has(self->p.e.out, "\"reason\":\"patient\",\"by\":\"prompt\""));
}

TEST_F(serve, prompt_unanswered_times_out)
{
	prompted(&self->p, NULL, IOMT_KCHAN_DENIED, IOMT_RELEASE_R_TIMEOUT);
	ASSERT_EQ(ppd_log_show(&self->p), 0);
	ASSERT_TRUE(env_file_has(self->p.e.out, "\"reason\":\"timeout\""));
}

/* A request refused with reason, and its REFUSED entry. */
static void refused(struct ppd_env *p, const char *client, const uint8_t *req, size_t n,
		    int reason, const uint8_t *id)
{
	static uint8_t out[4096];
	uint8_t st = 0xff;
	char want[96];
	size_t olen;

	ASSERT_EQ(ppd_release(p, client, req, n, &st, out, &olen), 0);
	ASSERT_EQ(st, IOMT_KCHAN_REFUSED);
	ASSERT_EQ(ppd_reason(out, olen, id), reason);
	ASSERT_EQ(ppd_log_show(p), 0);
	snprintf(want, sizeof(want), "\"op\":\"release\",\"reason\":\"%s\"",
		 iomt_release_reason_name((unsigned)reason));
	ASSERT_TRUE(env_file_has(p->e.out, want));
}

TEST_F(serve, consent_checks_refuse_and_log)
{
	static uint8_t req[IOMT_CONSENT_MAX_LEN];
	static struct iomt_consent_req q;
	struct iomt_keytree_meta m, other;
	EVP_PKEY *evil = NULL;
	size_t n;

	ASSERT_EQ(ppd_start(&self->p, allow_app, "consent policy"), 0);
	provision(&self->p, &m);
	/* Forged: one bit of the signature. */
	ppd_request(&q, &m, "cloud-app", ppd_now());
	n = ppd_sign(&self->p, &q, NULL, req);
	req[n - 1] ^= 1;
	refused(&self->p, "cloud-app", req, n, IOMT_RELEASE_R_SIGNATURE, q.request_id);
	/* Signed by a key that is not the requester's. */
	ASSERT_EQ(rt_consent_keygen(&evil), 0);
	ppd_request(&q, &m, "cloud-app", ppd_now());
	n = ppd_sign(&self->p, &q, evil, req);
	refused(&self->p, "cloud-app", req, n, IOMT_RELEASE_R_SIGNATURE, q.request_id);
	/* Unknown requester (a real cloud principal, not trusted by the patient). */
	ppd_request(&q, &m, "cloud-evil", ppd_now());
	n = ppd_sign(&self->p, &q, evil, req);
	refused(&self->p, "cloud-evil", req, n, IOMT_RELEASE_R_SIGNATURE, q.request_id);
	EVP_PKEY_free(evil);
	/* Requester is not the authenticated client (a stolen signed request). */
	ppd_request(&q, &m, "cloud-app", ppd_now());
	n = ppd_sign(&self->p, &q, NULL, req);
	refused(&self->p, "cloud-evil", req, n, IOMT_RELEASE_R_REQUESTER, q.request_id);
	/* Expired, and created in the future. */
	ppd_request(&q, &m, "cloud-app", ppd_now() - 3600000);
	n = ppd_sign(&self->p, &q, NULL, req);
	refused(&self->p, "cloud-app", req, n, IOMT_RELEASE_R_EXPIRED, q.request_id);
	ppd_request(&q, &m, "cloud-app", ppd_now() + 3600000);
	n = ppd_sign(&self->p, &q, NULL, req);
	refused(&self->p, "cloud-app", req, n, IOMT_RELEASE_R_EXPIRED, q.request_id);
	/* Another PPD's meta. */
	other = m;
	memcpy(other.ppd_id, "ppd-bob\0\0\0\0\0\0\0\0\0", 16);
	ppd_request(&q, &other, "cloud-app", ppd_now());
	n = ppd_sign(&self->p, &q, NULL, req);
	refused(&self->p, "cloud-app", req, n, IOMT_RELEASE_R_NOT_OURS, q.request_id);
	/* A node outside the time range asked about. */
	ppd_request(&q, &m, "cloud-app", ppd_now());
	q.nodes[1].epoch = 9;
	q.nodes[1].node.label[0] = 9;
	n = ppd_sign(&self->p, &q, NULL, req);
	refused(&self->p, "cloud-app", req, n, IOMT_RELEASE_R_NODES, q.request_id);
	ASSERT_EQ(env_metric(&self->p.e, "iomt_ppd_requests_total{op=\"release\",result=\"refused\"}"),
		  8);
	ASSERT_FALSE(env_file_has(self->p.e.out, "key_release"));
}

TEST_F_TIMEOUT(serve, replay_refused_also_after_restart, 40)
{
	static uint8_t req[IOMT_CONSENT_MAX_LEN], out[4096];
	static struct iomt_consent_req q;
	struct iomt_keytree_meta m;
	uint8_t st = 0xff;
	size_t n, olen;

	ASSERT_EQ(ppd_start(&self->p, allow_app, "consent policy"), 0);
	provision(&self->p, &m);
	ppd_request(&q, &m, "cloud-app", ppd_now());
	n = ppd_sign(&self->p, &q, NULL, req);
	ASSERT_EQ(ppd_release(&self->p, "cloud-app", req, n, &st, out, &olen), 0);
	ASSERT_EQ(st, IOMT_KCHAN_OK);
	refused(&self->p, "cloud-app", req, n, IOMT_RELEASE_R_REPLAY, q.request_id);
	ASSERT_EQ(ppd_stop(&self->p), 0);
	ASSERT_EQ(ppd_start(&self->p, allow_app, "consent policy"), 0);
	refused(&self->p, "cloud-app", req, n, IOMT_RELEASE_R_REPLAY, q.request_id);
}

TEST_F(serve, wrong_kind_of_client_is_refused)
{
	static uint8_t req[IOMT_CONSENT_MAX_LEN], out[4096];
	static struct iomt_consent_req q;
	struct iomt_keytree_meta m;
	uint8_t body[IOMT_PROVISION_REQ_LEN], st = 0xff;
	size_t n, olen;

	ASSERT_EQ(ppd_start(&self->p, allow_app, "consent policy"), 0);
	provision(&self->p, &m);
	/* A sensor asking for keys. */
	ppd_request(&q, &m, "sensor-1", ppd_now());
	n = ppd_sign(&self->p, &q, NULL, req);
	ASSERT_EQ(ppd_release(&self->p, "sensor-1", req, n, &st, out, &olen), 0);
	ASSERT_EQ(st, IOMT_KCHAN_REFUSED);
	ASSERT_EQ(ppd_reason(out, olen, q.request_id), IOMT_RELEASE_R_REQUESTER);
	/* The cloud asking for a data key. */
	ASSERT_EQ(iomt_provision_req_encode(NULL, &ppd_day, body), 0);
	ASSERT_EQ(ppd_call(&self->p, "cloud-app", IOMT_KCHAN_OP_PROVISION, body, sizeof(body), &st,
			   out, sizeof(out), &olen), 0);
	ASSERT_EQ(st, IOMT_KCHAN_REFUSED);
	ASSERT_EQ(olen, 0);
	/* Another patient's sensor never gets a ticket for this PPD. */
	ASSERT_GT(ppd_call(&self->p, "sensor-b", IOMT_KCHAN_OP_PROVISION, body, sizeof(body), &st,
			   out, sizeof(out), &olen), 0);
	/* A body that is not a consent request. */
	ASSERT_EQ(ppd_release(&self->p, "cloud-app", body, sizeof(body), &st, out, &olen), 0);
	ASSERT_EQ(st, IOMT_KCHAN_MALFORMED);
	ASSERT_EQ(ppd_log_show(&self->p), 0);
	ASSERT_TRUE(env_file_has(self->p.e.out, "client is not a sensor"));
	ASSERT_TRUE(env_file_has(self->p.e.out, "client is not a cloud application"));
}

TEST_F_TIMEOUT(serve, restart_loses_nothing_and_log_verifies, 40)
{
	static uint8_t req[IOMT_CONSENT_MAX_LEN], out[4096];
	static struct iomt_consent_req q;
	struct iomt_consent_node nodes[4];
	uint8_t keys[4][16], keys2[4][16], id[16], st = 0xff;
	struct iomt_keytree_meta m;
	char copy[200], buf[1 << 16];
	uint16_t count;
	size_t n, olen;
	long len;

	ASSERT_EQ(ppd_start(&self->p, allow_app, "consent policy"), 0);
	provision(&self->p, &m);
	ppd_request(&q, &m, "cloud-app", ppd_now());
	n = ppd_sign(&self->p, &q, NULL, req);
	ASSERT_EQ(ppd_release(&self->p, "cloud-app", req, n, &st, out, &olen), 0);
	ASSERT_EQ(st, IOMT_KCHAN_OK);
	ASSERT_EQ(iomt_release_decode(&ppd_day, id, nodes, keys, 4, &count, out, olen), 0);
	ASSERT_EQ(ppd_stop(&self->p), 0);
	/* Stopped: the log verifies offline... */
	ASSERT_EQ(ppd_run(&self->p, "log", "verify", "--log", self->p.evlog, "--pub",
			  self->p.evpub, NULL), 0);
	ASSERT_TRUE(env_file_has(self->p.e.out, "sound"));
	/* ...and a copy with one byte changed does not. */
	snprintf(copy, sizeof(copy), "%s/copy.log", self->p.e.dir);
	len = rt_test_read(self->p.evlog, buf, sizeof(buf));
	ASSERT_GT(len, 400);
	buf[len / 2] ^= 0x20;
	ASSERT_EQ(rt_test_write(copy, buf, (size_t)len), 0);
	ASSERT_EQ(ppd_run(&self->p, "log", "verify", "--log", copy, "--pub", self->p.evpub, NULL),
		  1);
	ASSERT_TRUE(env_file_has(self->p.e.out, "TAMPERED"));
	/* Restarted: the same meta gives the same keys (no state was lost,
	 * none was kept), the log goes on from where it was. */
	ASSERT_EQ(ppd_start(&self->p, allow_app, "consent policy"), 0);
	ppd_request(&q, &m, "cloud-app", ppd_now());
	n = ppd_sign(&self->p, &q, NULL, req);
	ASSERT_EQ(ppd_release(&self->p, "cloud-app", req, n, &st, out, &olen), 0);
	ASSERT_EQ(st, IOMT_KCHAN_OK);
	ASSERT_EQ(iomt_release_decode(&ppd_day, id, nodes, keys2, 4, &count, out, olen), 0);
	ASSERT_MEMEQ(keys2, keys, sizeof(keys[0]) * count);
	ASSERT_EQ(ppd_stop(&self->p), 0);
	ASSERT_EQ(ppd_run(&self->p, "log", "verify", "--log", self->p.evlog, "--pub",
			  self->p.evpub, NULL), 0);
	ASSERT_EQ(ppd_log_show(&self->p), 0);
	ASSERT_TRUE(env_file_has(self->p.e.out, "\"op\":\"start\""));
	ASSERT_EQ(ppd_run(&self->p, "log", "export", "--log", self->p.evlog, "--pub", self->p.evpub,
			  "--out", copy, NULL), 2);          /* copy exists: refused */
	ASSERT_TRUE(env_file_has(self->p.e.out, "File exists"));
	unlink(copy);
	ASSERT_EQ(ppd_run(&self->p, "log", "export", "--log", self->p.evlog, "--pub", self->p.evpub,
			  "--out", copy, NULL), 0);
}

TEST_F(serve, provision_over_udp_and_a_replayed_datagram)
{
	uint8_t frame[IOMT_WIRE_HDR_LEN + IOMT_KCHAN_REQ_OVERHEAD + IOMT_PROVISION_REQ_LEN];
	uint8_t body[IOMT_PROVISION_REQ_LEN], rnd[IOMT_KCHAN_RAND], session[16], reply[512];
	uint8_t out[IOMT_PROVISION_REP_LEN], k0[16], want[16], st = 0xff, type;
	struct iomt_keytree_meta m;
	const uint8_t *pl;
	struct rt_kclient k;
	size_t n, plen, olen;
	long got;

	ASSERT_EQ(ppd_start(&self->p, allow_app, NULL), 0);
	ASSERT_EQ(env_client(&self->p.e, "sensor-1", NULL, &k), 0);
	ASSERT_EQ(rt_kclient_ticket(&k, "ppd-alice"), 0);
	ASSERT_EQ(iomt_provision_req_encode(NULL, &ppd_day, body), 0);
	ASSERT_EQ(rt_random(rnd, sizeof(rnd)), 0);
	ASSERT_EQ(iomt_kchan_req_seal(&k.c, ppd_now(), IOMT_KCHAN_OP_PROVISION, body, sizeof(body),
				      rnd, frame + IOMT_WIRE_HDR_LEN, sizeof(frame) - IOMT_WIRE_HDR_LEN,
				      &n, session), 0);
	iomt_wire_put_hdr(frame, IOMT_MSG_KCHAN_REQ, n);
	got = env_udp(&self->p.e, frame, IOMT_WIRE_HDR_LEN + n, reply, sizeof(reply), ENV_WAIT_MS);
	ASSERT_GT(got, 0);
	ASSERT_EQ(iomt_wire_parse(reply, (size_t)got, &type, &pl, &plen), 0);
	ASSERT_EQ(type, IOMT_MSG_KCHAN_REP);
	ASSERT_EQ(iomt_kchan_rep_open(&k.c, session, pl, plen, &st, out, sizeof(out), &olen), 0);
	ASSERT_EQ(st, IOMT_KCHAN_OK);
	ASSERT_EQ(iomt_provision_rep_decode(&m, k0, out, olen), 0);
	ASSERT_EQ(iomt_keytree_data_key0(self->p.kmaster, &m, want), 0);
	ASSERT_MEMEQ(k0, want, 16);
	/* The same datagram again: its authenticator was seen. */
	got = env_udp(&self->p.e, frame, IOMT_WIRE_HDR_LEN + n, reply, sizeof(reply), ENV_WAIT_MS);
	ASSERT_EQ(env_reply_code(reply, got), IOMT_KDC_ERR_REPLAY);
	rt_kclient_wipe(&k);
}

TEST_F(serve, sighup_reloads_the_policy)
{
	static uint8_t req[IOMT_CONSENT_MAX_LEN], out[4096];
	static struct iomt_consent_req q;
	struct iomt_keytree_meta m;
	uint8_t st = 0xff;
	size_t n, olen;

	ASSERT_EQ(ppd_start(&self->p, "deny requester=* purpose=*\n", "consent policy"), 0);
	provision(&self->p, &m);
	ppd_request(&q, &m, "cloud-app", ppd_now());
	n = ppd_sign(&self->p, &q, NULL, req);
	ASSERT_EQ(ppd_release(&self->p, "cloud-app", req, n, &st, out, &olen), 0);
	ASSERT_EQ(st, IOMT_KCHAN_DENIED);
	ASSERT_EQ(rt_test_write(self->p.policy, allow_app, strlen(allow_app)), 0);
	ASSERT_EQ(kill(self->p.e.svc_pid, SIGHUP), 0);
	for (int i = 0; i < 200 && !env_file_has(self->p.log, "reloaded"); i++)
		env_sleep_ms(10);
	ASSERT_TRUE(env_file_has(self->p.log, "reloaded: 1 trusted requesters, 2 policy rules"));
	ppd_request(&q, &m, "cloud-app", ppd_now());
	n = ppd_sign(&self->p, &q, NULL, req);
	ASSERT_EQ(ppd_release(&self->p, "cloud-app", req, n, &st, out, &olen), 0);
	ASSERT_EQ(st, IOMT_KCHAN_OK);
	/* A broken policy file keeps the one in force. */
	ASSERT_EQ(rt_test_write(self->p.policy, "allow everyone\n", 15), 0);
	ASSERT_EQ(kill(self->p.e.svc_pid, SIGHUP), 0);
	for (int i = 0; i < 200 && !env_file_has(self->p.log, "previous policy stays"); i++)
		env_sleep_ms(10);
	ASSERT_TRUE(env_file_has(self->p.log, "policy:1: 'everyone' is not KEY=VALUE"));
	ASSERT_EQ(ppd_stop(&self->p), 0);
}

/* The network process of the daemon (its only child), or 0. */
static pid_t net_child(pid_t keeper)
{
	char path[64], text[64];
	long pid = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)keeper, (int)keeper);
	if (rt_test_read(path, text, sizeof(text)) > 0)
		pid = strtol(text, NULL, 10);
	return (pid_t)pid;
}

TEST_F(serve, two_processes_each_ends_with_the_other)
{
	struct iomt_keytree_meta m;
	pid_t net;
	int st;

	ASSERT_EQ(ppd_start(&self->p, allow_app, NULL), 0);
	provision(&self->p, &m);
	net = net_child(self->p.e.svc_pid);
	ASSERT_GT(net, 0);
	/* The network process dies: the keeper stops (closing the log signed). */
	ASSERT_EQ(kill(net, SIGKILL), 0);
	ASSERT_EQ(env_reap(&self->p.e.svc_pid, 0, ENV_WAIT_MS), 1);
	ASSERT_TRUE(env_file_has(self->p.log, "the network process is gone"));
	ASSERT_EQ(ppd_run(&self->p, "log", "verify", "--log", self->p.evlog, "--pub",
			  self->p.evpub, NULL), 0);
	/* The keeper dies: the network process follows (PR_SET_PDEATHSIG). */
	ASSERT_EQ(ppd_start(&self->p, allow_app, NULL), 0);
	net = net_child(self->p.e.svc_pid);
	ASSERT_GT(net, 0);
	ASSERT_EQ(env_reap(&self->p.e.svc_pid, SIGKILL, ENV_WAIT_MS), 128 + SIGKILL);
	for (int i = 0; i < 200 && kill(net, 0) == 0; i++) {
		waitpid(net, &st, WNOHANG);
		env_sleep_ms(10);
	}
	ASSERT_NE(kill(net, 0), 0);
	/* And it starts again on the same directory: nothing was damaged. */
	ASSERT_EQ(ppd_start(&self->p, allow_app, NULL), 0);
	provision(&self->p, &m);
	ASSERT_EQ(ppd_stop(&self->p), 0);
}
