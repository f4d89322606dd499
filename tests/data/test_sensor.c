/* SPDX-License-Identifier: MIT */
/*
 * iomt-sensor data end to end: sensor -> iomt-gwd (relay role) -> fake
 * store (data_env.h). The data key is made here (the test plays the PPD,
 * --data-key); every record the store gets must open under the key tree,
 * and no (key id, epoch, leaf, seq) may ever name two different records:
 * across batches, epochs, a kill -9 and a restart. The state is written
 * before the key is used: a state write that fails stops the sensor before
 * it seals anything more.
 */
#include "harness.h"
#include "data/data_env.h"

/* Leaves of a minute, epochs of an hour (level 2: 60 leaves), 16 days. */
static const struct iomt_keytree_conf conf1 = {
	.version = 1, .epoch_start = 1700000000 - 1700000000 % 86400, .leaf_period_s = 60,
	.depth = 3, .arity = { 16, 24, 60 }, .refresh_period_s = 3600,
};

FIXTURE(e2e) {
	struct env e;
	struct fstore fs;
	struct data_key k;
	struct data_sensor s;
	char start[32];
};

FIXTURE_SETUP(e2e)
{
	int r = env_init(&self->e, "sdata");

	if (r == -1 || data_sensor_init(&self->s, &self->e))
		SKIP(return, "iomt-gwd or iomt-sensor not built");
	ASSERT_EQ(r, 0);
	ASSERT_EQ(data_key_make(&self->k, &conf1), 0);
	ASSERT_EQ(data_key_write(&self->k, self->s.key), 0);
	/* Day 1, 02:00: epoch 26. */
	snprintf(self->start, sizeof(self->start), "%llu",
		 (unsigned long long)conf1.epoch_start + 86400 + 7200);
}

FIXTURE_TEARDOWN(e2e)
{
	env_fini(&self->e);
	fs_stop(&self->fs);
	free(self->fs.rec);
}

static void up(FIXTURE_DATA(e2e) *self)
{
	ASSERT_EQ(fs_start(&self->fs, 0), 0);
	ASSERT_EQ(data_gwd_start(&self->e, self->fs.port, ""), 0);
	ASSERT_EQ(data_metric_wait(&self->e, "iomt_gwd_store_link_up", 1), 1);
}

/* Every stored record opens under the tree; the distinct epochs seen. */
static unsigned check_records(FIXTURE_DATA(e2e) *self)
{
	uint32_t seen[64];
	unsigned nseen = 0;

	pthread_mutex_lock(&self->fs.mu);
	for (size_t i = 0; i < self->fs.nrec; i++) {
		const struct fs_rec *r = &self->fs.rec[i];
		unsigned j;

		EXPECT_EQ(data_key_open(&self->k, r->bytes, r->len), 0);
		EXPECT_MEMEQ(r->h.key_id, self->k.meta.key_id, 16);
		for (j = 0; j < nseen && seen[j] != r->h.epoch; j++)
			;
		if (j == nseen && nseen < 64)
			seen[nseen++] = r->h.epoch;
	}
	EXPECT_EQ(self->fs.reuse, 0u);
	pthread_mutex_unlock(&self->fs.mu);
	return nseen;
}

static int out_has(FIXTURE_DATA(e2e) *self, const char *needle)
{
	return env_file_has(self->s.out, needle);
}

TEST_F(e2e, records_are_sealed_batched_relayed_and_acknowledged)
{
	struct stat st;

	up(self);
	ASSERT_EQ(data_sensor_run(&self->s, &self->e, "--data-key", self->s.key, "--records",
				  "40", "--batch", "8", "--clock-start", self->start, "--interval",
				  "1s"), 0);
	EXPECT_TRUE(out_has(self, "records: sealed 40, sent 40, acked 40 (stored 40, "
				  "duplicates 0), errors 0; batches 5"));
	EXPECT_EQ(FS_GET(&self->fs, stored), 40u);
	EXPECT_EQ(FS_GET(&self->fs, batches), 5u);
	EXPECT_EQ(check_records(self), 1u);
	/* The state holds a key: owner only. */
	ASSERT_EQ(stat(self->s.state, &st), 0);
	EXPECT_EQ(st.st_mode & 077, 0);
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_rec_acks_total{status=\"ok\"}"), 5);
}

TEST_F(e2e, records_across_epoch_changes_open_under_each_epochs_key)
{
	up(self);
	/* 200 minutes: four epochs, K_data refreshed three times. */
	ASSERT_EQ(data_sensor_run(&self->s, &self->e, "--data-key", self->s.key, "--records",
				  "200", "--batch", "16", "--clock-start", self->start,
				  "--interval", "60s"), 0);
	EXPECT_EQ(FS_GET(&self->fs, stored), 200u);
	EXPECT_EQ(check_records(self), 4u);
	EXPECT_TRUE(out_has(self, "epoch 27: K_data refreshed, the previous one wiped"));
	EXPECT_TRUE(out_has(self, "epoch 29: K_data refreshed"));
}

TEST_F(e2e, the_state_is_saved_first_and_a_restart_continues_from_it)
{
	char later[32];

	up(self);
	/* Provision only: the key goes to the state file, nothing is sent. */
	ASSERT_EQ(data_sensor_run(&self->s, &self->e, "--data-key", self->s.key, "--records",
				  "0", "--clock-start", self->start), 0);
	EXPECT_TRUE(out_has(self, "data key provisioned and saved"));
	EXPECT_EQ(FS_GET(&self->fs, batches), 0u);
	/* The key file can go: the state has it. */
	ASSERT_EQ(unlink(self->s.key), 0);
	snprintf(later, sizeof(later), "%llu", strtoull(self->start, NULL, 10) + 600);
	ASSERT_EQ(data_sensor_run(&self->s, &self->e, "--records", "10", "--clock-start",
				  later), 0);
	EXPECT_TRUE(out_has(self, "resuming at seq"));
	EXPECT_EQ(FS_GET(&self->fs, stored), 10u);
	check_records(self);
}

TEST_F(e2e, kill_9_and_restart_never_reuse_a_record_name)
{
	char later[32];
	pid_t pid;

	up(self);
	/* Three batches acknowledged, the fourth held: killed waiting for it. */
	self->fs.hold_after = 3;
	pid = data_sensor_spawn(&self->s, &self->e, 0, "--data-key", self->s.key, "--records",
				"30", "--batch", "4", "--clock-start", self->start, "--interval",
				"1s", "--retries", "100", NULL);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(FS_WAIT(&self->fs, batches, 4u) >= 4u, 1);
	EXPECT_EQ(env_reap(&pid, SIGKILL, 5000), 128 + SIGKILL);
	EXPECT_EQ(FS_GET(&self->fs, stored), 16u);	/* the held one is kept too */
	/* Restart in the same leaf (20 s later): seqs go on after the reserved
	 * block, never over the records the store already has. */
	fs_set_mode(&self->fs, FS_ACK);
	self->fs.hold_after = 0;
	snprintf(later, sizeof(later), "%llu", strtoull(self->start, NULL, 10) + 20);
	ASSERT_EQ(data_sensor_run(&self->s, &self->e, "--records", "30", "--batch", "4",
				  "--clock-start", later, "--interval", "1s"), 0);
	EXPECT_EQ(FS_GET(&self->fs, stored), 46u);
	EXPECT_EQ(FS_GET(&self->fs, reuse), 0u);
	check_records(self);
	EXPECT_TRUE(out_has(self, "resuming at seq 64"));
	/* A clock that went back a leaf is refused before anything is sealed. */
	snprintf(later, sizeof(later), "%llu", strtoull(self->start, NULL, 10) - 60);
	EXPECT_EQ(data_sensor_run(&self->s, &self->e, "--records", "3", "--clock-start", later),
		  1);
	EXPECT_TRUE(out_has(self, "the clock went back"));
	EXPECT_EQ(FS_GET(&self->fs, stored), 46u);
}

TEST_F(e2e, a_failed_state_write_stops_sealing)
{
	up(self);
	/* Writes: the key (1), a seq block (2); the next block cannot be saved.
	 * (100 records 100 ms apart: one leaf.) */
	EXPECT_EQ(data_sensor_run(&self->s, &self->e, "--data-key", self->s.key, "--records",
				  "100", "--batch", "16", "--clock-start", self->start,
				  "--interval", "100ms", "--fail-persist-after", "2"), 1);
	EXPECT_TRUE(out_has(self, "cannot persist the data-key state"));
	EXPECT_TRUE(out_has(self, "records: sealed 64, sent 64, acked 64"));
	EXPECT_EQ(FS_GET(&self->fs, stored), 64u);
	check_records(self);
}

TEST_F(e2e, a_state_file_over_the_size_limit_is_a_clear_error_and_nothing_is_sealed)
{
	pid_t pid;

	up(self);
	/* The state file is two slots of SC_STATE_LEN (over 150) bytes: it cannot be
	 * created under 300 bytes, while the log line still fits. */
	pid = data_sensor_spawn(&self->s, &self->e, 300, "--data-key", self->s.key, "--records",
				"10", "--clock-start", self->start, NULL);
	EXPECT_EQ(env_reap(&pid, 0, 10000), 1);
	EXPECT_TRUE(out_has(self, "sensor.state"));
	EXPECT_TRUE(out_has(self, "File too large"));
	EXPECT_FALSE(out_has(self, "records: sealed"));
	EXPECT_EQ(FS_GET(&self->fs, batches), 0u);
}

TEST_F(e2e, the_sensor_retries_until_the_store_is_back)
{
	uint16_t port = env_free_port();
	pid_t pid;

	ASSERT_NE(port, 0);
	ASSERT_EQ(data_gwd_start(&self->e, port, ""), 0);
	pid = data_sensor_spawn(&self->s, &self->e, 0, "--data-key", self->s.key, "--records",
				"12", "--batch", "4", "--clock-start", self->start, "--timeout",
				"100ms", NULL);
	ASSERT_GT(pid, 0);
	ASSERT_GE(data_metric_wait(&self->e, "iomt_gwd_rec_refused_total{reason=\"unreachable\"}",
				   2), 2);
	ASSERT_EQ(fs_start(&self->fs, port), 0);
	EXPECT_EQ(env_reap(&pid, 0, 20000), 0);
	EXPECT_EQ(FS_GET(&self->fs, stored), 12u);
	EXPECT_TRUE(out_has(self, "acked 12"));
	check_records(self);
}

TEST_F(e2e, usage_errors_say_what_is_missing)
{
	snprintf(self->e.svc_addr, sizeof(self->e.svc_addr), "127.0.0.1:9");
	EXPECT_EQ(data_sensor_run(&self->s, &self->e, "--records", "1"), 1);
	EXPECT_TRUE(out_has(self, "the first run needs --key, --kdc and --ppd"));
	EXPECT_EQ(data_sensor_run(&self->s, &self->e, "--conf", "leaf=60s"), 2);
	EXPECT_TRUE(out_has(self, "leaf and arity are required"));
	EXPECT_EQ(data_sensor_run(&self->s, &self->e, "--conf", "leaf=60s,arity=60x24,refresh=7m"),
		  2);
	EXPECT_TRUE(out_has(self, "not a valid key tree"));
	/* Nobody at the gateway's address: resends, then a clear give-up. */
	EXPECT_EQ(data_sensor_run(&self->s, &self->e, "--data-key", self->s.key, "--records", "3",
				  "--clock-start", self->start, "--retries", "2", "--timeout",
				  "50ms"), 1);
	EXPECT_TRUE(out_has(self, "got no ACK OK after 2 resends: giving up"));
	EXPECT_TRUE(out_has(self, "records: sealed 3, sent 3, acked 0 (stored 0, duplicates 0), "
				  "errors 3; batches 1, resends 2"));
	unlink(self->s.state);
	chmod(self->s.key, 0644);
	EXPECT_EQ(data_sensor_run(&self->s, &self->e, "--data-key", self->s.key), 1);
	EXPECT_TRUE(out_has(self, "chmod 600"));
}

/* The start (Unix s) of the leaf the state file is in, as the sensor's own
 * core reads it (iomt-sensor state); 0 when it holds no data key. */
static uint64_t state_leaf_start(FIXTURE_DATA(e2e) *self)
{
	char cmd[PATH_MAX + 400], line[512];
	unsigned long long leaf = 0;
	int have = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "'%s' state --state '%s' 2>/dev/null", self->s.bin,
		 self->s.state);
	p = popen(cmd, "r");
	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p)) {
		const char *l = strstr(line, " leaf=");

		if (l && sscanf(l, " leaf=%llu", &leaf) == 1)
			have = 1;
	}
	pclose(p);
	return have ? conf1.epoch_start + leaf * conf1.leaf_period_s : 0;
}

/* A power cut at every state write of the data path (the POSIX driver's
 * IOMT_SENSOR_TEST_WRITE hook: the process dies before the write, half-way
 * through it, or right after it), through the real iomt-gwd: each run
 * (140 records 500 ms apart from hh:59:00) writes a new leaf (1), the seq
 * block at 64 (2), and the next hour's leaf with its new K_data (3). After
 * each cut the sensor restarts in the leaf its state is in: it must succeed,
 * and no (key id, epoch, leaf, seq) may ever name two different records. */
TEST_F_TIMEOUT(e2e, a_power_cut_at_any_state_write_never_reuses_a_record_name, 300)
{
	static const char *const modes[] = { "exit", "torn", "after" };
	uint64_t day = strtoull(self->start, NULL, 10);
	char hook[32], at[32];
	unsigned resumed = 0;

	up(self);
	/* The key's own write, cut: nothing is stored, the next run provisions. */
	for (unsigned m = 0; m < 3; m++) {
		snprintf(hook, sizeof(hook), "%s:1", modes[m]);
		setenv("IOMT_SENSOR_TEST_WRITE", hook, 1);
		EXPECT_EQ(data_sensor_run(&self->s, &self->e, "--data-key", self->s.key,
					  "--records", "4", "--clock-start", self->start), 137);
		unsetenv("IOMT_SENSOR_TEST_WRITE");
		/* Cut before or during the write: no key. After it: the key, leaf 0. */
		EXPECT_EQ(state_leaf_start(self), m < 2 ? 0u : conf1.epoch_start);
		EXPECT_EQ(FS_GET(&self->fs, batches), 0u);
		if (m < 2)
			EXPECT_EQ(unlink(self->s.state), 0);
	}
	for (unsigned i = 0; i < 9; i++) {
		uint64_t t = day + 3600 * i + 3540, l;

		snprintf(hook, sizeof(hook), "%s:%u", modes[i / 3], i % 3 + 1);
		snprintf(at, sizeof(at), "%llu", (unsigned long long)t);
		setenv("IOMT_SENSOR_TEST_WRITE", hook, 1);
		EXPECT_EQ(data_sensor_run(&self->s, &self->e, "--data-key", self->s.key,
					  "--records", "140", "--batch", "2", "--clock-start", at,
					  "--interval", "500ms"), 137);
		unsetenv("IOMT_SENSOR_TEST_WRITE");
		l = state_leaf_start(self);
		ASSERT_NE(l, 0u);
		snprintf(at, sizeof(at), "%llu", (unsigned long long)l);
		ASSERT_EQ(data_sensor_run(&self->s, &self->e, "--records", "20", "--batch", "2",
					  "--clock-start", at, "--interval", "500ms"), 0);
		resumed++;
		TH_LOG("cut %s: resumed in leaf starting %llu, %u records stored so far", hook,
		       (unsigned long long)l, FS_GET(&self->fs, stored));
	}
	EXPECT_EQ(resumed, 9u);
	EXPECT_GT(FS_GET(&self->fs, stored), 9u * 20);
	EXPECT_EQ(FS_GET(&self->fs, reuse), 0u);
	EXPECT_GE(check_records(self), 9u);
}

/* The same path into the real store (iomt-store serve): it commits every
 * record, and a kill -9 of the store mid-run costs the sensor only retries. */
TEST_F(e2e, the_real_store_commits_everything_across_a_store_crash)
{
	char bin[PATH_MAX], db[160], *argv[6];
	pid_t store = 0, pid;
	uint16_t port;

	port = data_store_start(&self->e, 0, &store);
	if (!port)
		SKIP(return, "iomt-store not built (or did not start)");
	ASSERT_EQ(data_gwd_start(&self->e, port, ""), 0);
	ASSERT_EQ(data_metric_wait(&self->e, "iomt_gwd_store_link_up", 1), 1);
	pid = data_sensor_spawn(&self->s, &self->e, 0, "--data-key", self->s.key, "--records",
				"120", "--batch", "1", "--clock-start", self->start, "--interval",
				"60s", "--timeout", "100ms", "--retries", "40", NULL);
	ASSERT_GT(pid, 0);
	/* One record a batch, one commit each: the crash comes mid-run. */
	ASSERT_GE(data_metric_wait(&self->e, "iomt_gwd_rec_acks_total{status=\"ok\"}", 2), 2);
	EXPECT_EQ(env_reap(&store, SIGKILL, 5000), 128 + SIGKILL);
	ASSERT_EQ(data_store_start(&self->e, port, &store), port);
	EXPECT_EQ(env_reap(&pid, 0, 25000), 0);
	EXPECT_TRUE(out_has(self, "acked 120"));
	EXPECT_FALSE(out_has(self, "resends 0\n"));
	EXPECT_EQ(env_reap(&store, SIGTERM, 5000), 0);
	/* What the store holds, by its own query tool. */
	ASSERT_EQ(rt_test_bin("iomt-store", bin, sizeof(bin)), 0);
	snprintf(db, sizeof(db), "%s/store.db", self->e.dir);
	argv[0] = bin, argv[1] = env_arg("query"), argv[2] = env_arg("--db"), argv[3] = db;
	argv[4] = NULL;
	unlink(self->e.out);
	EXPECT_EQ(env_run(argv, self->e.out), 0);
	EXPECT_TRUE(env_file_has(self->e.out, "# 120 records"));
}
