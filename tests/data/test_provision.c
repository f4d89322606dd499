/* SPDX-License-Identifier: MIT */
/*
 * The sensor's first run against the real KDC and iomt-ppd serve
 * (tests/ppd/ppd_env.h): a ticket for the PPD, KCHAN PROVISION, the key
 * saved before use, records relayed by iomt-gwd to the fake store, and each
 * record opens under K_data_0 = PRF(K_master, meta_Kdata) of the PPD's own
 * master key; a later run needs no PPD; a sensor of another patient gets a
 * clear refusal and seals nothing.
 */
#include "harness.h"
#include "data/data_env.h"
#include "ppd/ppd_env.h"

/* ppd_day: 5-minute leaves, hourly epochs, 2025-01-01. */
#define DAY_CONF "leaf=300s,arity=24x12,refresh=1h,start=1735689600"
#define DAY_3H "1735700400"

FIXTURE(prov) {
	struct ppd_env p;
	struct env g;		/* the gateway's (a copy of p.e: same directory) */
	struct fstore fs;
	struct data_sensor s;
	char key[160], ppd[200];
	int ready;
};

FIXTURE_SETUP(prov)
{
	int r = ppd_env_init(&self->p);

	if (r == -1 || data_sensor_init(&self->s, &self->p.e))
		SKIP(return, "iomt-kdc, iomt-ppd, iomt-gwd or iomt-sensor not built");
	ASSERT_EQ(r, 0);
	ASSERT_EQ(ppd_start(&self->p, NULL, NULL), 0);
	snprintf(self->ppd, sizeof(self->ppd), "ppd-alice=%s", self->p.e.svc_addr);
	self->g = self->p.e;
	self->g.svc_pid = 0;
	ASSERT_EQ(fs_start(&self->fs, 0), 0);
	ASSERT_EQ(data_gwd_start(&self->g, self->fs.port, ""), 0);
	ASSERT_EQ(data_metric_wait(&self->g, "iomt_gwd_store_link_up", 1), 1);
	self->ready = 1;
}

FIXTURE_TEARDOWN(prov)
{
	env_reap(&self->g.svc_pid, SIGKILL, 2000);
	fs_stop(&self->fs);
	free(self->fs.rec);
	ppd_env_fini(&self->p);
}

static int sensor(FIXTURE_DATA(prov) *self, const char *name, const char *records,
		  const char *start)
{
	env_key_path(&self->p.e, name, self->key, sizeof(self->key));
	return data_sensor_run(&self->s, &self->g, "--key", self->key, "--kdc",
			       self->p.e.kdc_addr, "--ppd", self->ppd, "--conf", DAY_CONF,
			       "--records", records, "--interval", "10m", "--clock-start", start);
}

TEST_F(prov, the_ppd_provisions_the_key_and_the_cloud_could_open_every_record)
{
	struct iomt_keytree_meta m;
	struct data_key k;

	ASSERT_EQ(sensor(self, "sensor-1", "24", DAY_3H), 0);
	EXPECT_TRUE(env_file_has(self->s.out, "data key provisioned and saved"));
	EXPECT_TRUE(env_file_has(self->s.out, "acked 24"));
	ASSERT_EQ(FS_GET(&self->fs, stored), 24u);
	/* The batch names the tree: ours, the PPD's, our schedule. */
	ASSERT_EQ(iomt_keytree_meta_decode(&m, self->fs.last + 8, IOMT_KEYTREE_META_LEN), 0);
	EXPECT_MEMEQ(m.sensor_id, "sensor-1\0\0\0\0\0\0\0\0", 16);
	EXPECT_MEMEQ(m.ppd_id, "ppd-alice\0\0\0\0\0\0\0", 16);
	EXPECT_EQ(m.conf.leaf_period_s, 300);
	EXPECT_EQ(m.conf.epoch_start, 1735689600);
	/* K_data_0 from the PPD's K_master: every record opens (4 hours: 4 epochs). */
	memset(&k, 0, sizeof(k));
	k.meta = m;
	ASSERT_EQ(iomt_keytree_data_key0(self->p.kmaster, &m, k.k0), 0);
	for (size_t i = 0; i < self->fs.nrec; i++)
		EXPECT_EQ(data_key_open(&k, self->fs.rec[i].bytes, self->fs.rec[i].len), 0);
	EXPECT_EQ(self->fs.rec[self->fs.nrec - 1].h.epoch, 6u);
	/* Later runs need no PPD: the key is in the state file. */
	EXPECT_EQ(ppd_stop(&self->p), 0);
	ASSERT_EQ(sensor(self, "sensor-1", "6", "1735718400"), 0);
	EXPECT_EQ(FS_GET(&self->fs, stored), 30u);
	EXPECT_EQ(FS_GET(&self->fs, reuse), 0u);
}

TEST_F(prov, another_patients_sensor_is_refused_and_seals_nothing)
{
	EXPECT_EQ(sensor(self, "sensor-b", "5", DAY_3H), 1);
	EXPECT_TRUE(env_file_has(self->s.out, "ticket for PPD ppd-alice"));
	EXPECT_TRUE(env_file_has(self->s.out, "same-patient policy"));
	EXPECT_FALSE(env_file_has(self->s.out, "records: sealed"));
	EXPECT_EQ(FS_GET(&self->fs, batches), 0u);
	/* A PPD that does not answer: a clear error too. */
	env_key_path(&self->p.e, "sensor-1", self->key, sizeof(self->key));
	EXPECT_EQ(data_sensor_run(&self->s, &self->g, "--key", self->key, "--kdc",
				  self->p.e.kdc_addr, "--ppd", "ppd-alice=127.0.0.1:9", "--conf",
				  DAY_CONF, "--ppd-timeout", "500ms", "--records", "1",
				  "--clock-start", DAY_3H), 1);
	EXPECT_TRUE(env_file_has(self->s.out, "PPD ppd-alice at 127.0.0.1:9"));
	EXPECT_EQ(FS_GET(&self->fs, batches), 0u);
	/* Provisioned, but the key cannot be saved: it is never used. */
	EXPECT_EQ(data_sensor_run(&self->s, &self->g, "--key", self->key, "--kdc",
				  self->p.e.kdc_addr, "--ppd", self->ppd, "--conf", DAY_CONF,
				  "--records", "5", "--clock-start", DAY_3H,
				  "--fail-persist-after", "0"), 1);
	EXPECT_TRUE(env_file_has(self->s.out, "cannot persist the data-key state"));
	EXPECT_FALSE(env_file_has(self->s.out, "records: sealed"));
	EXPECT_EQ(FS_GET(&self->fs, batches), 0u);
}

/* A power cut at the data key's write (the POSIX driver's test hook: the
 * process dies before, half-way through, or right after the write): cut
 * before it is whole, the key was never used and the next run asks the PPD
 * again; cut after, the next run resumes with it. Either way the next run
 * succeeds and its records open under PRF(K_master, meta) of the PPD. */
TEST_F(prov, a_power_cut_at_the_key_write_then_the_next_run_succeeds)
{
	static const char *const modes[] = { "exit", "torn", "after" };
	char hook[32];

	for (unsigned m = 0; m < 3; m++) {
		unsigned before = FS_GET(&self->fs, stored);
		struct data_key k;

		unlink(self->s.state);
		ASSERT_EQ(truncate(self->s.out, 0) == 0 || errno == ENOENT, 1);
		snprintf(hook, sizeof(hook), "%s:1", modes[m]);
		setenv("IOMT_SENSOR_TEST_WRITE", hook, 1);
		EXPECT_EQ(sensor(self, "sensor-1", "5", DAY_3H), 137);
		unsetenv("IOMT_SENSOR_TEST_WRITE");
		EXPECT_FALSE(env_file_has(self->s.out, "records: sealed"));
		EXPECT_EQ(FS_GET(&self->fs, stored), before);
		ASSERT_EQ(sensor(self, "sensor-1", "5", DAY_3H), 0);
		EXPECT_EQ(env_file_has(self->s.out, "resuming at seq"), m == 2);
		EXPECT_EQ(env_file_has(self->s.out, "data key provisioned and saved"), m < 2);
		ASSERT_EQ(FS_GET(&self->fs, stored), before + 5);
		/* One batch: its meta names the key; every record opens under it. */
		memset(&k, 0, sizeof(k));
		ASSERT_EQ(iomt_keytree_meta_decode(&k.meta, self->fs.last + 8,
						   IOMT_KEYTREE_META_LEN), 0);
		ASSERT_EQ(iomt_keytree_data_key0(self->p.kmaster, &k.meta, k.k0), 0);
		for (size_t i = before; i < self->fs.nrec; i++)
			EXPECT_EQ(data_key_open(&k, self->fs.rec[i].bytes, self->fs.rec[i].len), 0);
	}
	EXPECT_EQ(FS_GET(&self->fs, reuse), 0u);
}
