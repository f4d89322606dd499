/* SPDX-License-Identifier: MIT */
/*
 * The data path of the first paper end to end, with the real programs: a
 * sensor (this suite) gets its data key from the real iomt-ppd (PROVISION
 * over KCHAN), seals readings, the real iomt-store daemon stores them
 * (REC_PUT), and 'iomt-store decrypt' asks the PPD for node keys with a
 * signed consent request, which the patient's policy (or the patient at
 * the prompt) approves or refuses; the evidence log verifies afterwards.
 * The world is tests/ppd/ppd_env.h's (KDC, principals, PPD directory).
 */
#include "ct.h"
#include "ppd/ppd_env.h"
#include "store_env.h"

FIXTURE(e2e) {
	struct ppd_env p;
	struct senv s;
	uint64_t t0;            /* 03:00 of the PPD's day tree */
	char outf[200];
};

FIXTURE_SETUP(e2e)
{
	int r = ppd_env_init(&self->p);

	if (r == -1)
		SKIP(return, "iomt-ppd, iomt-kdc, iomt-kclient or iomt-gwd not built");
	ASSERT_EQ(r, 0);
	if (senv_init(&self->s, "storeppd"))
		SKIP(return, "iomt-store is not built");
	self->t0 = ppd_day.epoch_start + 3 * 3600;
	snprintf(self->outf, sizeof(self->outf), "%s/plain.txt", self->s.dir);
}

FIXTURE_TEARDOWN(e2e)
{
	senv_fini(&self->s);
	ppd_env_fini(&self->p);
}

/* sensor-1 provisions a tree and seals 3 readings a leaf for hours 3 and 4
 * (24 leaves, two epochs); the store holds them. */
static void record_two_hours(FIXTURE_DATA(e2e) *self)
{
	static struct tbatch b;
	struct iomt_keytree_sensor sn;
	uint8_t sid[16] = { 0 }, k0[16], kenc[16], rec[128], data[32], id[8] = { 1 };
	size_t used, len;
	uint8_t status = 0xff;
	struct ack a;
	int fd;

	iomt_kdc_name_from_text(sid, "sensor-1");
	ASSERT_EQ(ppd_provision(&self->p, "sensor-1", sid, &self->s.meta, k0, &status), 0);
	ASSERT_EQ(status, IOMT_KCHAN_OK);
	ASSERT_EQ(iomt_keytree_sensor_init(&sn, &self->s.meta.conf, self->s.meta.key_id, k0, 0), 0);
	iomt_wipe(k0, sizeof(k0));
	start(&self->s, NULL);
	fd = conn(&self->s);
	ASSERT_EQ(iomt_recbatch_begin(b.frame + 4, FRAME_MAX - 4, id, &self->s.meta, &used), 0);
	for (uint64_t t = self->t0; t < self->t0 + 2 * 3600; t += 100) {
		struct iomt_record_hdr h = { .seq = (uint32_t)(t - self->t0) };
		int dl = snprintf((char *)data, sizeof(data), "spo2=%u t=%llu",
				  (unsigned)(90 + t % 9), (unsigned long long)t);

		ASSERT_EQ(iomt_keytree_sensor_key(&sn, t, &h.epoch, &h.leaf, kenc), 0);
		memcpy(h.key_id, self->s.meta.key_id, 16);
		ASSERT_EQ(iomt_record_seal(kenc, &h, data, (size_t)dl, rec, sizeof(rec), &len), 0);
		ASSERT_EQ(iomt_recbatch_add(b.frame + 4, FRAME_MAX - 4, &used, rec, len), 0);
	}
	iomt_wipe(kenc, sizeof(kenc));
	iomt_keytree_sensor_wipe(&sn);
	iomt_wire_put_hdr(b.frame, IOMT_MSG_REC_PUT, used);
	b.len = 4 + used;
	a = put(&self->s, fd, &b);
	ASSERT_EQ(a.status, IOMT_REC_OK);
	ASSERT_EQ(a.stored, 72);
	close(fd);
}

static int decrypt(FIXTURE_DATA(e2e) *self, const char *purpose, const char *from,
		   const char *to)
{
	char key[160], ppd[200];

	env_key_path(&self->p.e, "cloud-app", key, sizeof(key));
	snprintf(ppd, sizeof(ppd), "ppd-alice=%s", self->p.e.svc_addr);
	unlink(self->outf);
	return run(&self->s, "decrypt", "--db", self->s.db, "--kdc", self->p.e.kdc_addr, "--key",
		   key, "--app-key", self->p.app_key, "--ppd", ppd, "--sensor",
		   "73656e736f722d310000000000000000", "--from", from, "--to", to, "--purpose",
		   purpose, "--decrypt-for", "2h", "--note", "Cardiology follow-up", "--timeout",
		   "20s", "--out", self->outf, NULL);
}

static int lines_with(const char *path, const char *needle)
{
	static char buf[1 << 16];
	int n = 0;

	if (rt_test_read(path, buf, sizeof(buf)) < 0)
		return -1;
	for (const char *q = buf; (q = strstr(q, needle)); q++)
		n++;
	return n;
}

/* The patient's policy allows treatment: 03:30..04:29:59 is two epochs
 * (the last six leaves of hour 3, the first six of hour 4: 12 leaf nodes),
 * every record opens. */
TEST_F_TIMEOUT(e2e, policy_allows_treatment, 90)
{
	static char report[8192];
	char want[160];
	const char *id;

	ASSERT_EQ(ppd_start(&self->p, "allow requester=cloud-app purpose=treatment\n"
				      "deny requester=* purpose=*\n", "consent policy"), 0);
	record_two_hours(self);
	ASSERT_EQ(decrypt(self, "treatment", "2025-01-01T03:30:00Z", "2025-01-01T04:29:59Z"), 0);
	ASSERT_TRUE(senv_file_has(self->s.out, "36 records of 1 key trees selected: 1 consent"));
	ASSERT_TRUE(senv_file_has(self->s.out, "released"));
	ASSERT_TRUE(senv_file_has(self->s.out, "36 records decrypted, 0 failed"));
	ASSERT_EQ(lines_with(self->outf, " text:spo2="), 36);
	ASSERT_EQ(lines_with(self->outf, " t=1735702200\n"), 1);   /* 03:30:00 */
	ASSERT_EQ(lines_with(self->outf, " t=1735702100\n"), 0);   /* 03:28:20: not asked */
	/* The evidence log holds the release and verifies. */
	/* The evidence log holds the release of our request id, and verifies. */
	ASSERT_GT(rt_test_read(self->s.out, report, sizeof(report)), 0);
	ASSERT_NONNULL(id = strstr(report, "request "));
	snprintf(want, sizeof(want), "\"request_id\":\"%.32s\",\"requester\":\"cloud-app\","
		 "\"count\":12", id + 8);
	ASSERT_EQ(ppd_log_show(&self->p), 0);
	ASSERT_TRUE(env_file_has(self->p.e.out, want));
	ASSERT_TRUE(env_file_has(self->p.e.out, "key_release"));
	ASSERT_EQ(ppd_stop(&self->p), 0);
}

/* The policy refuses research: exit 3, nothing decrypted. */
TEST_F_TIMEOUT(e2e, policy_refuses_research, 90)
{
	ASSERT_EQ(ppd_start(&self->p, "allow requester=cloud-app purpose=treatment\n"
				      "deny requester=* purpose=research\n", "consent policy"), 0);
	record_two_hours(self);
	ASSERT_EQ(decrypt(self, "research", "2025-01-01T03:00:00Z", "2025-01-01T04:59:59Z"), 3);
	ASSERT_TRUE(senv_file_has(self->s.out, "nothing was decrypted"));
	ASSERT_TRUE(senv_file_has(self->s.out, "(reason: policy)"));
	ASSERT_EQ(access(self->outf, F_OK), -1);
	ASSERT_EQ(ppd_stop(&self->p), 0);
}

/* Nothing in the policy: the patient answers yes at the prompt. */
TEST_F_TIMEOUT(e2e, patient_approves_at_prompt, 90)
{
	pid_t answer;

	ASSERT_EQ(ppd_pty(&self->p), 0);
	ASSERT_EQ(ppd_start(&self->p, "", "consent prompt"), 0);
	record_two_hours(self);
	answer = ppd_answer(&self->p, "y\n");
	ASSERT_GT(answer, 0);
	ASSERT_EQ(decrypt(self, "emergency", "2025-01-01T04:00:00Z", "2025-01-01T04:59:59Z"), 0);
	ASSERT_TRUE(senv_file_has(self->s.out, "36 records decrypted, 0 failed"));
	ASSERT_EQ(de_wait_for(answer, 5000), 0);
	ASSERT_EQ(ppd_stop(&self->p), 0);
}
