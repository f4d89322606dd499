/* SPDX-License-Identifier: MIT */
/*
 * Seed 000 end to end with the real programs on 127.0.0.1: iomt-kdc (admin
 * CLI and daemon), services (iomt-kclient serve; iomt-gwd with only the
 * gateway role) and clients (the iomt-kclient tool; rt_kclient in this
 * process when a test needs raw frames).
 *
 *   pair.*    A <-> KDC <-> B for every pair of kinds (FIXTURE_VARIANT):
 *             the client's and the service's session fingerprints agree
 *   flow.*    cross-patient denied, cloud pairing allowed, expired ticket,
 *             skewed authenticator, replays refused (also after restarting
 *             B, for kclient serve and for the gateway), revoked device,
 *             rotation invalidating the old key, tampered ticket, wrong
 *             principal, malformed/truncated/oversized frames, a passcode
 *             key file (right and wrong passcode), TCP, exit codes, a batch
 *             of AP requests from many sensors at once to the gateway, the
 *             gateway and MEC roles in one iomt-gwd, gwd start-up errors
 */
#include "harness.h"
#include "flow_env.h"

enum {
	NSENSORS = 48,
	FRAME_LEN = IOMT_WIRE_HDR_LEN + IOMT_KDC_AP_REQ_LEN,
};

/* ================= every pair of kinds ================= */

FIXTURE(pair) {
	struct env e;
};

FIXTURE_VARIANT(pair) {
	const char *client, *ckind, *service, *skind;
};

#define PAIR(c, ck, s, sk) { .client = c, .ckind = ck, .service = s, .skind = sk }
/* Alice's principals, and the cloud store (no patient). */
FIXTURE_VARIANT_ADD(pair, sensor_to_sensor) PAIR("a-sensor", "sensor", "a-sensor2", "sensor");
FIXTURE_VARIANT_ADD(pair, sensor_to_gateway) PAIR("a-sensor", "sensor", "a-gw", "gateway");
FIXTURE_VARIANT_ADD(pair, sensor_to_ppd) PAIR("a-sensor", "sensor", "a-ppd", "ppd");
FIXTURE_VARIANT_ADD(pair, sensor_to_cloud) PAIR("a-sensor", "sensor", "cloud", "cloud");
FIXTURE_VARIANT_ADD(pair, gateway_to_sensor) PAIR("a-gw", "gateway", "a-sensor", "sensor");
FIXTURE_VARIANT_ADD(pair, gateway_to_gateway) PAIR("a-gw", "gateway", "a-gw2", "gateway");
FIXTURE_VARIANT_ADD(pair, gateway_to_ppd) PAIR("a-gw", "gateway", "a-ppd", "ppd");
FIXTURE_VARIANT_ADD(pair, gateway_to_cloud) PAIR("a-gw", "gateway", "cloud", "cloud");
FIXTURE_VARIANT_ADD(pair, ppd_to_sensor) PAIR("a-ppd", "ppd", "a-sensor", "sensor");
FIXTURE_VARIANT_ADD(pair, ppd_to_gateway) PAIR("a-ppd", "ppd", "a-gw", "gateway");
FIXTURE_VARIANT_ADD(pair, ppd_to_ppd) PAIR("a-ppd", "ppd", "a-ppd2", "ppd");
FIXTURE_VARIANT_ADD(pair, ppd_to_cloud) PAIR("a-ppd", "ppd", "cloud", "cloud");
FIXTURE_VARIANT_ADD(pair, cloud_to_sensor) PAIR("cloud", "cloud", "a-sensor", "sensor");
FIXTURE_VARIANT_ADD(pair, cloud_to_gateway) PAIR("cloud", "cloud", "a-gw", "gateway");
FIXTURE_VARIANT_ADD(pair, cloud_to_ppd) PAIR("cloud", "cloud", "a-ppd", "ppd");
FIXTURE_VARIANT_ADD(pair, cloud_to_cloud) PAIR("cloud", "cloud", "cloud2", "cloud");

static const char *patient_of(const char *kind)
{
	return strcmp(kind, "cloud") ? "alice" : NULL;
}

FIXTURE_SETUP(pair)
{
	int r = env_init(&self->e, "kdcpair");

	ASSERT_NE(r, -2);
	if (r)
		SKIP(return, "iomt-kdc, iomt-kclient or iomt-gwd not built");
	ASSERT_EQ(env_admin(&self->e, "init", NULL), 0);
	ASSERT_EQ(env_add(&self->e, variant->client, patient_of(variant->ckind), variant->ckind),
		  0);
	ASSERT_EQ(env_add(&self->e, variant->service, patient_of(variant->skind), variant->skind),
		  0);
	ASSERT_EQ(env_kdc_start(&self->e, NULL), 0);
	ASSERT_EQ(env_service(&self->e, variant->service, variant->skind), 0);
}

FIXTURE_TEARDOWN(pair)
{
	env_fini(&self->e);
}

TEST_F(pair, full_flow_both_ends_hold_the_same_session)
{
	char fp[17], needle[80];

	ASSERT_EQ(env_tool(&self->e, "ap", variant->client, variant->service, self->e.svc_addr,
			   NULL), 0);
	ASSERT_EQ(env_tool_fp(&self->e, fp), 0);
	snprintf(needle, sizeof(needle), "client=%s kind=%s", variant->client, variant->ckind);
	for (unsigned t = 0; t < ENV_WAIT_MS && !env_file_has(self->e.svc_log, fp); t += 10)
		env_sleep_ms(10);
	EXPECT_TRUE(env_file_has(self->e.svc_log, fp));
	EXPECT_TRUE(env_file_has(self->e.svc_log, needle));
	/* The tool's output names the session by fingerprint, never a key. */
	EXPECT_TRUE(env_file_has(self->e.out, "session client="));
	EXPECT_FALSE(env_file_has(self->e.out, "key="));
}

/* ================= the other flows ================= */

FIXTURE(flow) {
	struct env e;
	struct rt_kclient k;
};

FIXTURE_SETUP(flow)
{
	int r = env_init(&self->e, "kdcflow");

	ASSERT_NE(r, -2);
	if (r)
		SKIP(return, "iomt-kdc, iomt-kclient or iomt-gwd not built");
	ASSERT_EQ(env_admin(&self->e, "init", NULL), 0);
	ASSERT_EQ(env_add(&self->e, "a-sensor", "alice", "sensor"), 0);
	ASSERT_EQ(env_add(&self->e, "a-ppd", "alice", "ppd"), 0);
	ASSERT_EQ(env_add(&self->e, "a-gw", "alice", "gateway"), 0);
	ASSERT_EQ(env_add(&self->e, "b-sensor", "bob", "sensor"), 0);
	ASSERT_EQ(env_add(&self->e, "b-ppd", "bob", "ppd"), 0);
	ASSERT_EQ(env_add(&self->e, "cloud", NULL, "cloud"), 0);
}

FIXTURE_TEARDOWN(flow)
{
	rt_kclient_wipe(&self->k);
	env_fini(&self->e);
}

/* An in-process client with a ticket for target: 0 or the failure. */
static int ticket_for(FIXTURE_DATA(flow) *self, const char *client, const char *target)
{
	int r = env_client(&self->e, client, NULL, &self->k);

	if (r)
		return r;
	r = rt_kclient_ticket(&self->k, target);
	if (r)
		TH_LOG("ticket %s -> %s: %s", client, target, rt_kclient_error(&self->k));
	return r;
}

/* One raw AP_REQ from the current ticket (built at now + offset_ms): the
 * code of the answer (0 AP_REP), or -1 without an answer. */
static int send_ap(FIXTURE_DATA(flow) *self, uint8_t frame[FRAME_LEN], int64_t offset_ms)
{
	uint8_t reply[256];

	if (env_ap_frame(&self->k, rt_kclient_now(&self->k) + (uint64_t)offset_ms, frame))
		return -2;
	return env_reply_code(reply, env_udp(&self->e, frame, FRAME_LEN, reply, sizeof(reply),
					     ENV_WAIT_MS));
}

static int resend(FIXTURE_DATA(flow) *self, const uint8_t *frame, size_t len, unsigned wait)
{
	uint8_t reply[256];

	return env_reply_code(reply, env_udp(&self->e, frame, len, reply, sizeof(reply), wait));
}

TEST_F(flow, cross_patient_ticket_is_denied)
{
	ASSERT_EQ(env_kdc_start(&self->e, NULL), 0);
	EXPECT_EQ(ticket_for(self, "b-sensor", "a-ppd"), IOMT_KDC_ERR_POLICY);
	EXPECT_EQ(self->k.last_code, IOMT_KDC_ERR_POLICY);
	EXPECT_TRUE(strstr(rt_kclient_error(&self->k), "refused the TGS request") != NULL);
	rt_kclient_wipe(&self->k);
	/* The tool: exit 1, the code named. */
	EXPECT_EQ(env_tool(&self->e, "ticket", "a-gw", "b-ppd", NULL, NULL), 1);
	EXPECT_TRUE(env_file_has(self->e.out, "3 ("));
}

TEST_F(flow, cloud_pairing_is_allowed_both_ways)
{
	ASSERT_EQ(env_kdc_start(&self->e, NULL), 0);
	EXPECT_EQ(env_tool(&self->e, "ticket", "b-sensor", "cloud", NULL, NULL), 0);
	EXPECT_TRUE(env_file_has(self->e.out, "target=cloud"));
	EXPECT_TRUE(env_file_has(self->e.out, "patient=bob"));
	EXPECT_EQ(env_tool(&self->e, "ticket", "cloud", "b-ppd", NULL, NULL), 0);
	EXPECT_EQ(env_tool(&self->e, "ticket", "cloud", "a-ppd", NULL, NULL), 0);
}

TEST_F_TIMEOUT(flow, an_expired_ticket_is_refused, 60)
{
	uint8_t frame[FRAME_LEN];
	int short_life = env_kdc_start(&self->e, "2s") == 0;

	/* A KDC that will not issue 2 s tickets (its minimum is 1 min): 1 min
	 * tickets, and a service whose clock runs 70 s ahead (inside its 120 s
	 * skew window, so only the ticket's end can refuse). */
	if (!short_life) {
		TH_LOG("iomt-kdc refuses a 2 s ticket_lifetime: 60 s and a service 70 s ahead");
		ASSERT_EQ(env_kdc_start(&self->e, "60s"), 0);
	}
	ASSERT_EQ(env_serve_at(&self->e, "a-ppd", 0, short_life ? NULL : "70000"), 0);
	ASSERT_EQ(ticket_for(self, "a-sensor", "a-ppd"), 0);
	EXPECT_LE(self->k.c.tkt_life_s, short_life ? 2 : 60);
	/* An authenticator made while the ticket was valid, presented after
	 * the ticket's end (but well inside the skew window). */
	ASSERT_EQ(env_ap_frame(&self->k, rt_kclient_now(&self->k), frame), 0);
	if (short_life)
		env_sleep_ms(3100);
	EXPECT_EQ(resend(self, frame, sizeof(frame), ENV_WAIT_MS), IOMT_KDC_ERR_EXPIRED);
	if (!short_life)
		return;
	/* The client itself refuses to use it now. */
	self->k.c.state = IOMT_KDC_C_HAVE_TICKET;
	EXPECT_EQ(rt_kclient_ap(&self->k, self->e.svc_addr), IOMT_KDC_ERR_EXPIRED);
	EXPECT_EQ(self->k.last_code, 0);
	/* A new ticket works. */
	EXPECT_EQ(rt_kclient_ticket(&self->k, "a-ppd"), 0);
	EXPECT_EQ(rt_kclient_ap(&self->k, self->e.svc_addr), 0);
}

TEST_F(flow, the_client_refuses_to_use_an_expired_ticket)
{
	ASSERT_EQ(env_kdc_start(&self->e, NULL), 0);
	ASSERT_EQ(env_serve(&self->e, "a-ppd", 0), 0);
	ASSERT_EQ(ticket_for(self, "a-sensor", "a-ppd"), 0);
	/* Our clock past the ticket's end: not even sent (a local check). */
	self->k.clock_offset_ms = (int64_t)self->k.c.tkt_life_s * 1000 + 1000;
	EXPECT_EQ(rt_kclient_ap(&self->k, self->e.svc_addr), IOMT_KDC_ERR_EXPIRED);
	EXPECT_EQ(self->k.last_code, 0);
	EXPECT_TRUE(strstr(rt_kclient_error(&self->k), "local check") != NULL);
	self->k.clock_offset_ms = 0;
	EXPECT_EQ(rt_kclient_ap(&self->k, self->e.svc_addr), 0);
}

TEST_F(flow, a_skewed_authenticator_is_refused)
{
	uint8_t frame[FRAME_LEN];

	ASSERT_EQ(env_kdc_start(&self->e, NULL), 0);
	ASSERT_EQ(env_serve(&self->e, "a-ppd", 0), 0);
	ASSERT_EQ(ticket_for(self, "a-sensor", "a-ppd"), 0);
	self->k.clock_offset_ms = 10 * 60 * 1000;
	EXPECT_EQ(rt_kclient_ap(&self->k, self->e.svc_addr), IOMT_KDC_ERR_SKEW);
	EXPECT_TRUE(strstr(rt_kclient_error(&self->k), "clock") != NULL);
	self->k.clock_offset_ms = 0;
	EXPECT_EQ(send_ap(self, frame, -10 * 60 * 1000), IOMT_KDC_ERR_SKEW);
	self->k.c.state = IOMT_KDC_C_HAVE_TICKET;
	EXPECT_EQ(rt_kclient_ap(&self->k, self->e.svc_addr), 0);
	/* The KDC refuses a skewed client at AS already. */
	EXPECT_EQ(env_tool(&self->e, "ticket", "a-sensor", "a-ppd", NULL, "--clock-offset",
			   "-900000", NULL), 1);
	EXPECT_TRUE(env_file_has(self->e.out, "5 ("));
}

/* The same AP_REQ twice, then again after restarting the service. */
static void replay_case(FIXTURE_DATA(flow) *self, int gateway)
{
	uint8_t frame[FRAME_LEN];
	const char *svc = gateway ? "a-gw" : "a-ppd";

	ASSERT_EQ(env_kdc_start(&self->e, NULL), 0);
	ASSERT_EQ(gateway ? env_gwd(&self->e, svc) : env_serve(&self->e, svc, 0), 0);
	ASSERT_EQ(ticket_for(self, "a-sensor", svc), 0);
	ASSERT_EQ(send_ap(self, frame, 0), 0);
	EXPECT_EQ(resend(self, frame, sizeof(frame), ENV_WAIT_MS), IOMT_KDC_ERR_REPLAY);
	EXPECT_EQ(env_reap(&self->e.svc_pid, SIGTERM, ENV_WAIT_MS), 0);
	ASSERT_EQ(gateway ? env_gwd(&self->e, svc) : env_serve(&self->e, svc, 0), 0);
	EXPECT_EQ(resend(self, frame, sizeof(frame), ENV_WAIT_MS), IOMT_KDC_ERR_REPLAY);
	/* A fresh authenticator on the same ticket is fine. */
	self->k.c.state = IOMT_KDC_C_HAVE_TICKET;
	EXPECT_EQ(rt_kclient_ap(&self->k, self->e.svc_addr), 0);
}

TEST_F(flow, a_replayed_authenticator_is_refused_also_after_a_restart)
{
	replay_case(self, 0);
}

TEST_F(flow, the_gateway_refuses_replays_also_after_a_restart)
{
	replay_case(self, 1);
}

TEST_F(flow, a_revoked_device_gets_nothing)
{
	ASSERT_EQ(env_kdc_start(&self->e, NULL), 0);
	ASSERT_EQ(env_tool(&self->e, "ticket", "a-sensor", "a-ppd", NULL, NULL), 0);
	ASSERT_EQ(env_admin(&self->e, "revoke", "a-sensor", NULL), 0);
	/* The daemon picks admin changes up within its reload_interval. */
	for (int i = 0; i < 50 && ticket_for(self, "a-sensor", "a-ppd") != IOMT_KDC_ERR_REVOKED;
	     i++) {
		rt_kclient_wipe(&self->k);
		env_sleep_ms(50);
	}
	EXPECT_EQ(self->k.last_code, IOMT_KDC_ERR_REVOKED);
	rt_kclient_wipe(&self->k);
	/* Nor does anyone get a ticket for it. */
	EXPECT_EQ(ticket_for(self, "a-ppd", "a-sensor"), IOMT_KDC_ERR_REVOKED);
	EXPECT_EQ(env_tool(&self->e, "ticket", "a-sensor", "a-ppd", NULL, NULL), 1);
}

TEST_F(flow, a_rotated_salt_invalidates_the_old_key)
{
	int r;

	ASSERT_EQ(env_kdc_start(&self->e, NULL), 0);
	ASSERT_EQ(env_tool(&self->e, "ticket", "a-sensor", "a-ppd", NULL, NULL), 0);
	ASSERT_EQ(env_admin(&self->e, "rotate", "a-sensor", NULL), 0);
	for (int i = 0; i < 50 && (r = ticket_for(self, "a-sensor", "a-ppd")) == 0; i++) {
		rt_kclient_wipe(&self->k);
		env_sleep_ms(50);
	}
	EXPECT_TRUE(r == IOMT_KDC_ERR_STALE_KEY || r == IOMT_KDC_ERR_BAD_MAC);
	rt_kclient_wipe(&self->k);
	ASSERT_EQ(env_export(&self->e, "a-sensor", NULL), 0);
	EXPECT_EQ(ticket_for(self, "a-sensor", "a-ppd"), 0);
}

TEST_F(flow, a_tampered_ticket_is_refused)
{
	uint8_t frame[FRAME_LEN], t[FRAME_LEN];

	ASSERT_EQ(env_kdc_start(&self->e, NULL), 0);
	ASSERT_EQ(env_serve(&self->e, "a-ppd", 0), 0);
	ASSERT_EQ(ticket_for(self, "a-sensor", "a-ppd"), 0);
	ASSERT_EQ(env_ap_frame(&self->k, rt_kclient_now(&self->k), frame), 0);
	/* A bit inside the ticket's box: it no longer opens. */
	memcpy(t, frame, sizeof(t));
	t[IOMT_WIRE_HDR_LEN + 16 + 4 + 13 + 5] ^= 1;
	EXPECT_EQ(resend(self, t, sizeof(t), ENV_WAIT_MS), IOMT_KDC_ERR_BAD_MAC);
	/* The clear key version: not ours. */
	memcpy(t, frame, sizeof(t));
	t[IOMT_WIRE_HDR_LEN + 16 + 3] ^= 1;
	EXPECT_EQ(resend(self, t, sizeof(t), ENV_WAIT_MS), IOMT_KDC_ERR_STALE_KEY);
	/* The authenticator's tag. */
	memcpy(t, frame, sizeof(t));
	t[FRAME_LEN - 1] ^= 1;
	EXPECT_EQ(resend(self, t, sizeof(t), ENV_WAIT_MS), IOMT_KDC_ERR_BAD_MAC);
	/* None of that consumed the genuine request. */
	EXPECT_EQ(resend(self, frame, sizeof(frame), ENV_WAIT_MS), 0);
}

TEST_F(flow, a_ticket_for_b_is_refused_by_c)
{
	uint8_t frame[FRAME_LEN];

	ASSERT_EQ(env_kdc_start(&self->e, NULL), 0);
	ASSERT_EQ(env_serve(&self->e, "cloud", 0), 0);
	ASSERT_EQ(ticket_for(self, "a-sensor", "a-ppd"), 0);
	EXPECT_EQ(send_ap(self, frame, 0), IOMT_KDC_ERR_WRONG_PRINCIPAL);
	self->k.c.state = IOMT_KDC_C_HAVE_TICKET;
	EXPECT_EQ(rt_kclient_ap(&self->k, self->e.svc_addr), IOMT_KDC_ERR_WRONG_PRINCIPAL);
	EXPECT_TRUE(strstr(rt_kclient_error(&self->k), "service") != NULL);
}

/* Garbage of every shape: no answer, and the service still works. */
static void malformed_case(FIXTURE_DATA(flow) *self, int gateway)
{
	uint8_t frame[FRAME_LEN], big[1600], t[FRAME_LEN + 1];
	const char *svc = gateway ? "a-gw" : "a-ppd";

	ASSERT_EQ(env_kdc_start(&self->e, NULL), 0);
	ASSERT_EQ(gateway ? env_gwd(&self->e, svc) : env_serve(&self->e, svc, 0), 0);
	ASSERT_EQ(ticket_for(self, "a-sensor", svc), 0);
	ASSERT_EQ(env_ap_frame(&self->k, rt_kclient_now(&self->k), frame), 0);
	/* Truncated: one byte short, header honest. */
	memcpy(t, frame, FRAME_LEN - 1);
	iomt_wire_put_hdr(t, IOMT_MSG_KDC_AP_REQ, IOMT_KDC_AP_REQ_LEN - 1);
	EXPECT_EQ(resend(self, t, FRAME_LEN - 1, ENV_QUIET_MS), -1);
	/* Truncated datagram, header claiming the full size. */
	EXPECT_EQ(resend(self, frame, FRAME_LEN - 1, ENV_QUIET_MS), -1);
	/* One byte too many. */
	memcpy(t, frame, FRAME_LEN);
	t[FRAME_LEN] = 0;
	iomt_wire_put_hdr(t, IOMT_MSG_KDC_AP_REQ, IOMT_KDC_AP_REQ_LEN + 1);
	EXPECT_EQ(resend(self, t, FRAME_LEN + 1, ENV_QUIET_MS), -1);
	/* Oversized datagram, and another type with the AP_REQ's bytes. */
	memset(big, 0x41, sizeof(big));
	EXPECT_EQ(resend(self, big, sizeof(big), ENV_QUIET_MS), -1);
	memcpy(t, frame, FRAME_LEN);
	t[1] = IOMT_MSG_KDC_TGS_REP;
	EXPECT_EQ(resend(self, t, FRAME_LEN, ENV_QUIET_MS), -1);
	/* A well-formed frame of a type services do not take (an AS_REQ). */
	iomt_wire_put_hdr(t, IOMT_MSG_KDC_AS_REQ, IOMT_KDC_AS_REQ_LEN);
	EXPECT_EQ(resend(self, t, IOMT_WIRE_HDR_LEN + IOMT_KDC_AS_REQ_LEN, ENV_QUIET_MS), -1);
	/* A bad version byte. */
	memcpy(t, frame, FRAME_LEN);
	t[0] = 9;
	EXPECT_EQ(resend(self, t, FRAME_LEN, ENV_QUIET_MS), -1);
	/* The genuine one still works. */
	EXPECT_EQ(resend(self, frame, FRAME_LEN, ENV_WAIT_MS), 0);
	if (gateway) {
		/* Dropped before any work, counted by reason. */
		EXPECT_EQ(env_metric(&self->e, "iomt_gwd_dropped_total{reason=\"size\"}"), 4);
		EXPECT_EQ(env_metric(&self->e, "iomt_gwd_dropped_total{reason=\"oversized\"}"), 1);
		EXPECT_EQ(env_metric(&self->e, "iomt_gwd_dropped_total{reason=\"type\"}"), 1);
		EXPECT_EQ(env_metric(&self->e, "iomt_gwd_dropped_total{reason=\"malformed\"}"), 1);
		EXPECT_EQ(env_metric(&self->e,
				     "iomt_gwd_ap_requests_total{result=\"established\"}"), 1);
	}
}

TEST_F(flow, malformed_truncated_and_oversized_frames_get_no_answer)
{
	malformed_case(self, 0);
}

TEST_F(flow, the_gateway_drops_malformed_frames)
{
	malformed_case(self, 1);
}

TEST_F_TIMEOUT(flow, a_passcode_wrapped_ppd_key_needs_the_right_passcode, 90)
{
	char key[160], pass[160];
	char fp[17];

	ASSERT_EQ(env_add(&self->e, "p-ppd", "alice", "ppd"), 0);
	ASSERT_EQ(env_export(&self->e, "p-ppd", "correct horse battery"), 0);
	ASSERT_EQ(env_kdc_start(&self->e, NULL), 0);
	/* The service with the right passcode works... */
	ASSERT_EQ(env_serve(&self->e, "p-ppd", 1), 0);
	ASSERT_EQ(env_tool(&self->e, "ap", "a-sensor", "p-ppd", self->e.svc_addr, NULL), 0);
	ASSERT_EQ(env_tool_fp(&self->e, fp), 0);
	EXPECT_TRUE(env_file_has(self->e.svc_log, fp));
	/* ...so does the PPD as a client, */
	env_key_path(&self->e, "p-ppd", key, sizeof(key));
	env_pass_path(&self->e, "p-ppd", pass, sizeof(pass));
	EXPECT_EQ(env_tool(&self->e, "ticket", "p-ppd", "a-sensor", NULL, "--passcode-file", pass,
			   NULL), 0);
	/* without a passcode it cannot, */
	EXPECT_EQ(env_tool(&self->e, "ticket", "p-ppd", "a-sensor", NULL, NULL), 3);
	/* nor with a wrong one, as client or as service. */
	ASSERT_EQ(rt_test_write(pass, "wrong horse", 11), 0);
	EXPECT_EQ(env_tool(&self->e, "ticket", "p-ppd", "a-sensor", NULL, "--passcode-file", pass,
			   NULL), 3);
	EXPECT_EQ(env_reap(&self->e.svc_pid, SIGTERM, ENV_WAIT_MS), 0);
	EXPECT_NE(env_serve(&self->e, "p-ppd", 1), 0);
	EXPECT_TRUE(env_file_has(self->e.svc_log, "passcode"));
}

TEST_F(flow, tcp_transport_and_exit_codes)
{
	char bogus[64];

	ASSERT_EQ(env_kdc_start(&self->e, NULL), 0);
	EXPECT_EQ(env_tool(&self->e, "ticket", "a-sensor", "a-ppd", NULL, "--transport", "tcp",
			   NULL), 0);
	EXPECT_EQ(env_tool(&self->e, "ticket", "a-sensor", "a-ppd", NULL, "--transport", "carrier",
			   NULL), 2);
	EXPECT_EQ(env_tool(&self->e, "ticket", "a-sensor", "not a name!", NULL, NULL), 2);
	EXPECT_EQ(env_tool(&self->e, "ticket", "no-such-key", "a-ppd", NULL, NULL), 3);
	EXPECT_EQ(env_tool(&self->e, "ticket", "a-sensor", "nobody", NULL, NULL), 1);
	/* Nobody listening: no answer (4), quickly with a short timeout. */
	snprintf(bogus, sizeof(bogus), "%s", self->e.kdc_addr);
	snprintf(self->e.kdc_addr, sizeof(self->e.kdc_addr), "127.0.0.1:%u", env_free_port());
	EXPECT_EQ(env_tool(&self->e, "ticket", "a-sensor", "a-ppd", NULL, "--transport", "udp",
			   "--timeout", "50", "--retries", "1", NULL), 4);
	snprintf(self->e.kdc_addr, sizeof(self->e.kdc_addr), "%s", bogus);
	EXPECT_EQ(env_tool(&self->e, "ap", "a-sensor", "a-ppd", "127.0.0.1:1", "--timeout", "50",
			   "--retries", "0", NULL), 4);
}

TEST_F_TIMEOUT(flow, a_batch_of_ap_requests_from_many_sensors_at_once, 120)
{
	static struct rt_kclient k[NSENSORS];
	static uint8_t frame[NSENSORS][FRAME_LEN];
	struct sockaddr_storage ss;
	socklen_t slen;
	int fd[NSENSORS], ok = 0;
	char name[32];

	for (int i = 0; i < NSENSORS; i++) {
		snprintf(name, sizeof(name), "s%02d", i);
		ASSERT_EQ(env_add(&self->e, name, "alice", "sensor"), 0);
	}
	ASSERT_EQ(env_kdc_start(&self->e, NULL), 0);
	ASSERT_EQ(env_gwd(&self->e, "a-gw"), 0);
	ASSERT_EQ(rt_knet_resolve(self->e.svc_addr, &ss, &slen), 0);
	for (int i = 0; i < NSENSORS; i++) {
		snprintf(name, sizeof(name), "s%02d", i);
		ASSERT_EQ(env_client(&self->e, name, NULL, &k[i]), 0);
		ASSERT_EQ(rt_kclient_ticket(&k[i], "a-gw"), 0);
		ASSERT_EQ(env_ap_frame(&k[i], rt_kclient_now(&k[i]), frame[i]), 0);
		ASSERT_GE(fd[i] = rt_knet_udp_connect(&ss, slen), 0);
	}
	/* All at once: the gateway takes them in one or a few batches. */
	for (int i = 0; i < NSENSORS; i++)
		ASSERT_EQ(rt_knet_send(fd[i], frame[i], FRAME_LEN), 0);
	for (int i = 0; i < NSENSORS; i++) {
		uint8_t reply[256];
		const uint8_t *p;
		uint8_t type;
		size_t plen;
		long n = rt_knet_recv_datagram(fd[i], reply, sizeof(reply),
					       rt_knet_mono_ms() + ENV_WAIT_MS);

		if (n > 0 && !iomt_wire_parse(reply, (size_t)n, &type, &p, &plen) &&
		    iomt_kdc_client_recv(&k[i].c, type, p, plen) == IOMT_KDC_OK &&
		    k[i].c.state == IOMT_KDC_C_ESTABLISHED)
			ok++;
		close(fd[i]);
		rt_kclient_wipe(&k[i]);
	}
	EXPECT_EQ(ok, NSENSORS);
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_ap_requests_total{result=\"established\"}"),
		  NSENSORS);
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_replay_keys"), NSENSORS);
	EXPECT_TRUE(env_file_has(self->e.svc_log, "client=s47 kind=sensor patient=alice"));
}

/* One daemon, both roles: AP_REQ goes to the gateway role, S2_M1 to the
 * MEC role (whose TTP is down: it answers BUSY), on the same socket. */
TEST_F(flow, gateway_and_mec_roles_share_one_socket)
{
	static char prov[] = "provision", po[] = "--pool", so[] = "--state";
	char pool[160], state[160], mec[512], line[128];
	char *argv[] = { self->e.gwd_bin, prov, po, pool, so, state, NULL };
	uint8_t frame[FRAME_LEN], m1[IOMT_WIRE_HDR_LEN + IOMT_WIRE_S2_M1_LEN], reply[256];
	const uint8_t *p;
	uint8_t type;
	size_t plen;
	long n;

	snprintf(pool, sizeof(pool), "%s/pool.txt", self->e.dir);
	snprintf(state, sizeof(state), "%s/gwd.state", self->e.dir);
	snprintf(line, sizeof(line), "slot=0 did=%032x dk=%032x\n", 1, 2);
	ASSERT_EQ(rt_test_write(pool, line, strlen(line)), 0);
	ASSERT_EQ(env_run(argv, self->e.out), 0);
	snprintf(mec, sizeof(mec), "mec yes\nstate %s\nttp 127.0.0.1:%u\nttp_reconnect_max 100ms",
		 state, env_free_port());
	ASSERT_EQ(env_kdc_start(&self->e, NULL), 0);
	ASSERT_EQ(env_gwd_roles(&self->e, "a-gw", mec), 0);
	EXPECT_TRUE(env_file_has(self->e.svc_log, "MEC role up"));
	EXPECT_TRUE(env_file_has(self->e.svc_log, "gateway role up as a-gw"));
	ASSERT_EQ(ticket_for(self, "a-sensor", "a-gw"), 0);
	EXPECT_EQ(send_ap(self, frame, 0), 0);
	iomt_wire_put_hdr(m1, IOMT_MSG_S2_M1, IOMT_WIRE_S2_M1_LEN);
	ASSERT_EQ(rt_random(m1 + IOMT_WIRE_HDR_LEN, IOMT_WIRE_S2_M1_LEN), 0);
	n = env_udp(&self->e, m1, sizeof(m1), reply, sizeof(reply), ENV_WAIT_MS);
	ASSERT_GT(n, 0);
	ASSERT_EQ(iomt_wire_parse(reply, (size_t)n, &type, &p, &plen), 0);
	EXPECT_EQ(type, IOMT_MSG_S2_DEV_ERR);
	EXPECT_EQ(p[0], IOMT_S2_ERR_BUSY);
	EXPECT_EQ(env_reap(&self->e.svc_pid, SIGTERM, ENV_WAIT_MS), 0);
}

TEST_F(flow, gwd_without_a_role_or_with_a_bad_key_says_why)
{
	static char co[] = "-c";
	char conf[160];
	char *argv[] = { self->e.gwd_bin, co, conf, NULL };
	static const char text[] = "mec no\nlisten 127.0.0.1:0\nmetrics_listen 127.0.0.1:0\n";

	snprintf(conf, sizeof(conf), "%s/none.conf", self->e.dir);
	ASSERT_EQ(rt_test_write(conf, text, sizeof(text) - 1), 0);
	EXPECT_EQ(env_run(argv, self->e.out), 1);
	EXPECT_TRUE(env_file_has(self->e.out, "no role configured"));
	/* A key file that does not exist: the gateway role cannot start. */
	EXPECT_NE(env_gwd(&self->e, "no-such-principal"), 0);
	EXPECT_TRUE(env_file_has(self->e.svc_log, "no-such-principal.key"));
}
