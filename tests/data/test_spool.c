/* SPDX-License-Identifier: MIT */
/*
 * The relay's spool (userspace/gwd/spool.h): with the store away, batches
 * are spooled (durably, no answer yet), forwarded in order once the store
 * is back, each record stored exactly once, and the sensor gets the
 * store's REC_ACK; a gateway killed with -9 while batches are spooled
 * delivers them after its restart (a torn tail is cut); a graceful stop
 * waits for the spooled batches in flight and keeps the rest for the next
 * start; a spool that cannot be opened, or is another daemon's, stops the
 * start; beyond spool_max batches are refused explicitly and counted; with the store up and the
 * spool empty batches go straight through; the real iomt-store pulled
 * away and back gets every record exactly once.
 */
#include "harness.h"
#include "data/data_env.h"

static const struct iomt_keytree_conf conf1 = {
	.version = 1, .epoch_start = 1700000000, .leaf_period_s = 60, .depth = 3,
	.arity = { 16, 24, 60 }, .refresh_period_s = 3600,
};

FIXTURE(sp) {
	struct env e;
	struct fstore fs;
	struct data_key k;
	int fd;
	uint16_t port;
	char conf[256];
	uint8_t frame[IOMT_WIRE_HDR_LEN + IOMT_WIRE_MAX_PAYLOAD];
};

FIXTURE_SETUP(sp)
{
	int r = env_init(&self->e, "spool");

	self->fd = -1;
	if (r == -1)
		SKIP(return, "iomt-gwd (or the KDC tools) not built");
	ASSERT_EQ(r, 0);
	ASSERT_EQ(data_key_make(&self->k, &conf1), 0);
	self->port = env_free_port();
	ASSERT_NE(self->port, 0);
}

FIXTURE_TEARDOWN(sp)
{
	if (self->fd >= 0)
		close(self->fd);
	env_fini(&self->e);
	fs_stop(&self->fs);
	free(self->fs.rec);
}

/* The gateway with a spool, its store (not started) on self->port. */
static void gwd_up(FIXTURE_DATA(sp) *self, const char *extra)
{
	snprintf(self->conf, sizeof(self->conf), "spool_dir %s/spool\nrelay_timeout 2s\n%s",
		 self->e.dir, extra);
	ASSERT_EQ(data_gwd_start(&self->e, self->port, self->conf), 0);
	if (self->fd >= 0)
		close(self->fd);
	self->fd = data_udp(&self->e);
	ASSERT_GE(self->fd, 0);
}

/* Batch b: n records with seq b*n .. b*n+n-1, sensor id b+1 (all bytes). */
static long send_batch(FIXTURE_DATA(sp) *self, unsigned b, unsigned n)
{
	uint8_t id[8];
	long len;

	memset(id, (int)(b + 1), sizeof(id));
	len = data_batch(&self->k, id, conf1.epoch_start + 90, b * n, n, self->frame,
			 sizeof(self->frame));
	if (len > 0 && rt_knet_send(self->fd, self->frame, (size_t)len))
		return -1;
	return len;
}

/* The fake store holds exactly records 0..n-1, in that order. */
static int in_order(struct fstore *fs, unsigned n)
{
	if (FS_GET(fs, stored) != n || fs->nrec != n)
		return 0;
	for (unsigned i = 0; i < n; i++)
		if (fs->rec[i].h.seq != i)
			return 0;
	return 1;
}

TEST_F(sp, store_away_batches_wait_in_the_spool_and_arrive_in_order_once)
{
	uint8_t id[8], status;
	uint16_t stored, dups;
	unsigned acks = 0, sum = 0;

	gwd_up(self, "");
	for (unsigned b = 0; b < 20; b++)
		ASSERT_GT(send_batch(self, b, 5), 0);
	EXPECT_EQ(data_metric_wait(&self->e, "iomt_gwd_rec_spooled_total", 20), 20);
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_rec_spool_batches"), 20);
	EXPECT_GT(env_metric(&self->e, "iomt_gwd_rec_spool_bytes"), 20 * 5 * 40);
	/* Nothing is acknowledged while the store has nothing. */
	EXPECT_EQ(data_ack(self->fd, ENV_QUIET_MS, id, &status, &stored, &dups), -1);
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_rec_refused_total{reason=\"unreachable\"}"), 0);
	/* The store comes: everything, once, in order, and each sensor hears it. */
	ASSERT_EQ(fs_start(&self->fs, self->port), 0);
	EXPECT_EQ(FS_WAIT(&self->fs, stored, 100u), 100u);
	EXPECT_TRUE(in_order(&self->fs, 100));
	while (acks < 20 && !data_ack(self->fd, ENV_WAIT_MS, id, &status, &stored, &dups)) {
		EXPECT_EQ(id[0], acks + 1);	/* in order too */
		EXPECT_EQ(status, IOMT_REC_OK);
		sum += stored;
		acks++;
	}
	EXPECT_EQ(acks, 20u);
	EXPECT_EQ(sum, 100u);
	EXPECT_EQ(FS_GET(&self->fs, dups), 0u);
	EXPECT_EQ(data_metric_wait(&self->e, "iomt_gwd_rec_spool_forwarded_total", 20), 20);
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_rec_spool_batches"), 0);
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_rec_spool_bytes"), 0);	/* emptied */
	/* Now the spool is empty: a new batch goes straight through. */
	ASSERT_GT(send_batch(self, 20, 5), 0);
	ASSERT_EQ(data_ack(self->fd, ENV_WAIT_MS, id, &status, &stored, &dups), 0);
	EXPECT_EQ(status, IOMT_REC_OK);
	EXPECT_EQ(stored, 5);
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_rec_spooled_total"), 20);
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_rec_batches_forwarded_total"), 1);
	EXPECT_TRUE(in_order(&self->fs, 105));
}

TEST_F(sp, a_gateway_killed_while_spooling_delivers_after_its_restart)
{
	char path[160];
	int fd;

	gwd_up(self, "");
	for (unsigned b = 0; b < 10; b++)
		ASSERT_GT(send_batch(self, b, 4), 0);
	ASSERT_EQ(data_metric_wait(&self->e, "iomt_gwd_rec_spooled_total", 10), 10);
	env_reap(&self->e.svc_pid, SIGKILL, 2000);
	/* A torn frame at the end, as a crash in mid-write leaves it. */
	snprintf(path, sizeof(path), "%s/spool/relay.spool", self->e.dir);
	fd = open(path, O_WRONLY | O_APPEND);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(write(fd, "ISP1\0\0\0\x40junk", 12), 12);
	close(fd);
	ASSERT_EQ(fs_start(&self->fs, self->port), 0);
	gwd_up(self, "");
	EXPECT_EQ(FS_WAIT(&self->fs, stored, 40u), 40u);
	EXPECT_TRUE(in_order(&self->fs, 40));
	EXPECT_EQ(data_metric_wait(&self->e, "iomt_gwd_rec_spool_forwarded_total", 10), 10);
	EXPECT_TRUE(env_file_has(self->e.svc_log, "torn frame"));
	EXPECT_TRUE(env_file_has(self->e.svc_log, "10 batches still to deliver"));
}

TEST_F(sp, beyond_spool_max_batches_are_refused_and_counted)
{
	uint8_t id[8], status;
	uint16_t stored, dups;
	long long spooled, full;
	unsigned refusals = 0;

	gwd_up(self, "spool_max 64k\n");
	for (unsigned b = 0; b < 150; b++) {
		ASSERT_GT(send_batch(self, b, 8), 500);	/* > 75k in all */
		if (b % 16 == 15)
			env_sleep_ms(20);		/* leave the socket buffer room */
	}
	for (unsigned t = 0; t < ENV_WAIT_MS; t += 20, env_sleep_ms(20)) {
		spooled = env_metric(&self->e, "iomt_gwd_rec_spooled_total");
		full = env_metric(&self->e, "iomt_gwd_rec_refused_total{reason=\"spool_full\"}");
		if (spooled + full == 150)
			break;
	}
	EXPECT_EQ(spooled + full, 150);
	EXPECT_GT(full, 0);
	EXPECT_LE(env_metric(&self->e, "iomt_gwd_rec_spool_bytes"), 65536);
	/* Each refusal was said: UNREACHABLE (the store is down, the spool full). */
	while (!data_ack(self->fd, 300, id, &status, &stored, &dups)) {
		EXPECT_EQ(status, IOMT_REC_UNREACHABLE);
		refusals++;
	}
	EXPECT_EQ(refusals, (unsigned)full);
	/* What was spooled is delivered once the store is back. */
	ASSERT_EQ(fs_start(&self->fs, self->port), 0);
	EXPECT_EQ(FS_WAIT(&self->fs, stored, (unsigned)spooled * 8), (unsigned)spooled * 8);
	EXPECT_TRUE(in_order(&self->fs, (unsigned)spooled * 8));
}

TEST_F(sp, a_graceful_stop_waits_for_batches_in_flight_and_keeps_the_rest)
{
	gwd_up(self, "agreement_timeout 600ms\n");
	for (unsigned b = 0; b < 5; b++)
		ASSERT_GT(send_batch(self, b, 4), 0);
	ASSERT_EQ(data_metric_wait(&self->e, "iomt_gwd_rec_spooled_total", 5), 5);
	/* A store that commits and never answers: the batches stay in flight. */
	self->fs.mode = FS_HOLD;
	ASSERT_EQ(fs_start(&self->fs, self->port), 0);
	EXPECT_EQ(FS_WAIT(&self->fs, held, 5u), 5u);
	/* SIGTERM: it waits (agreement_timeout) for them, then stops cleanly
	 * with the batches still in its spool. */
	EXPECT_EQ(env_reap(&self->e.svc_pid, SIGTERM, 5000), 0);
	EXPECT_TRUE(env_file_has(self->e.svc_log, "spool keeps 5 batches"));
	fs_stop(&self->fs);
	fs_set_mode(&self->fs, FS_ACK);
	ASSERT_EQ(fs_start(&self->fs, self->port), 0);
	gwd_up(self, "");
	/* Sent again after the restart: the store already holds them (duplicates),
	 * every record is stored once. */
	EXPECT_EQ(data_metric_wait(&self->e, "iomt_gwd_rec_spool_forwarded_total", 5), 5);
	EXPECT_EQ(FS_GET(&self->fs, stored), 20u);
	EXPECT_EQ(FS_GET(&self->fs, dups), 20u);
	EXPECT_TRUE(in_order(&self->fs, 20));
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_rec_spool_batches"), 0);
}

TEST_F(sp, an_unusable_or_busy_spool_refuses_the_start)
{
	char path[160], cfg[256];
	pid_t first;
	int fd;

	/* spool_dir names a file. */
	snprintf(path, sizeof(path), "%s/notadir", self->e.dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ASSERT_GE(fd, 0);
	close(fd);
	snprintf(cfg, sizeof(cfg), "spool_dir %s\n", path);
	EXPECT_EQ(data_gwd_start(&self->e, self->port, cfg), -1);
	EXPECT_TRUE(env_file_has(self->e.svc_log, "notadir/relay.spool"));
	/* A second daemon on the same spool. */
	gwd_up(self, "");
	first = self->e.svc_pid;
	EXPECT_EQ(data_gwd_start(&self->e, self->port, self->conf), -1);
	EXPECT_TRUE(env_file_has(self->e.svc_log, "in use by another daemon"));
	self->e.svc_pid = first;
	EXPECT_EQ(kill(first, 0), 0);	/* the first one runs on */
}

TEST_F(sp, the_real_store_pulled_away_and_back_gets_every_record_once)
{
	uint8_t id[8], status;
	uint16_t stored, dups;
	unsigned sum = 0, dsum = 0, acks = 0;
	pid_t store = -1;
	uint16_t port;

	port = data_store_start(&self->e, self->port, &store);
	if (!port)
		SKIP(return, "iomt-store not built");
	gwd_up(self, "");
	ASSERT_EQ(data_metric_wait(&self->e, "iomt_gwd_store_link_up", 1), 1);
	ASSERT_GT(send_batch(self, 0, 6), 0);
	ASSERT_EQ(data_ack(self->fd, ENV_WAIT_MS, id, &status, &stored, &dups), 0);
	EXPECT_EQ(stored, 6);
	/* Away: SIGTERM, the gateway sees the link go. */
	EXPECT_EQ(env_reap(&store, SIGTERM, 5000), 0);
	ASSERT_EQ(data_metric_wait(&self->e, "iomt_gwd_store_connects_total", 1), 1);
	for (unsigned t = 0; t < ENV_WAIT_MS && env_metric(&self->e, "iomt_gwd_store_link_up");
	     t += 10)
		env_sleep_ms(10);
	for (unsigned b = 1; b < 13; b++)
		ASSERT_GT(send_batch(self, b, 6), 0);
	EXPECT_EQ(data_metric_wait(&self->e, "iomt_gwd_rec_spooled_total", 12), 12);
	/* Back, same database. */
	ASSERT_EQ(data_store_start(&self->e, self->port, &store), self->port);
	while (acks < 12 && !data_ack(self->fd, ENV_WAIT_MS, id, &status, &stored, &dups)) {
		EXPECT_EQ(status, IOMT_REC_OK);
		EXPECT_EQ(id[0], acks + 2);
		sum += stored;
		dsum += dups;
		acks++;
	}
	EXPECT_EQ(acks, 12u);
	EXPECT_EQ(sum, 72u);
	EXPECT_EQ(dsum, 0u);
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_rec_spool_batches"), 0);
	env_reap(&store, SIGTERM, 5000);
}

