/* SPDX-License-Identifier: MIT */
/*
 * iomt-gwd's relay role against a fake store (data_env.h): batches are
 * relayed byte for byte under the gateway's own batch id and the store's
 * ACK comes back under the sensor's; store down -> UNREACHABLE, up again
 * -> the retry goes through; a silent store -> UNREACHABLE after
 * relay_timeout; a full pending table -> BUSY; a store that hangs up ->
 * UNREACHABLE for what was in flight; malformed REC_PUT dropped and
 * counted; and the gateway binary links no key derivation or record
 * opening code at all.
 */
#include "harness.h"
#include "data/data_env.h"

static const struct iomt_keytree_conf conf1 = {
	.version = 1, .epoch_start = 1700000000, .leaf_period_s = 60, .depth = 3,
	.arity = { 16, 24, 60 }, .refresh_period_s = 3600,
};

FIXTURE(gw) {
	struct env e;
	struct fstore fs;
	struct data_key k;
	int fd;
	uint8_t frame[IOMT_WIRE_HDR_LEN + IOMT_WIRE_MAX_PAYLOAD];
};

FIXTURE_SETUP(gw)
{
	int r = env_init(&self->e, "relay");

	self->fd = -1;
	if (r == -1)
		SKIP(return, "iomt-gwd (or the KDC tools) not built");
	ASSERT_EQ(r, 0);
	ASSERT_EQ(data_key_make(&self->k, &conf1), 0);
}

FIXTURE_TEARDOWN(gw)
{
	if (self->fd >= 0)
		close(self->fd);
	env_fini(&self->e);
	fs_stop(&self->fs);
	free(self->fs.rec);
}

/* Store up, gateway up, a client socket. */
static void up(FIXTURE_DATA(gw) *self, const char *extra)
{
	ASSERT_EQ(fs_start(&self->fs, 0), 0);
	ASSERT_EQ(data_gwd_start(&self->e, self->fs.port, extra), 0);
	ASSERT_EQ(data_metric_wait(&self->e, "iomt_gwd_store_link_up", 1), 1);
	self->fd = data_udp(&self->e);
	ASSERT_GE(self->fd, 0);
}

static long batch(FIXTURE_DATA(gw) *self, uint8_t id0, uint32_t seq0, unsigned n)
{
	uint8_t id[8];

	memset(id, id0, sizeof(id));
	return data_batch(&self->k, id, conf1.epoch_start + 90, seq0, n, self->frame,
			  sizeof(self->frame));
}

TEST_F(gw, batches_go_through_unchanged_and_acks_come_back_with_the_sensor_id)
{
	uint8_t id[8], want[8], status;
	uint16_t stored, dups;
	int fd2;
	long n;

	up(self, "");
	/* Two sensors (sockets), three batches. */
	fd2 = data_udp(&self->e);
	ASSERT_GE(fd2, 0);
	for (int b = 0; b < 3; b++) {
		int fd = b == 1 ? fd2 : self->fd;

		n = batch(self, (uint8_t)(0xa0 + b), (uint32_t)b * 10, 10);
		ASSERT_GT(n, 0);
		ASSERT_EQ(rt_knet_send(fd, self->frame, (size_t)n), 0);
		ASSERT_EQ(data_ack(fd, ENV_WAIT_MS, id, &status, &stored, &dups), 0);
		memset(want, 0xa0 + b, sizeof(want));
		EXPECT_MEMEQ(id, want, 8);
		EXPECT_EQ(status, IOMT_REC_OK);
		EXPECT_EQ(stored, 10);
		EXPECT_EQ(dups, 0);
		/* The store got the sensor's bytes exactly, under another id. */
		ASSERT_EQ(FS_GET(&self->fs, last_len), (size_t)n - IOMT_WIRE_HDR_LEN);
		EXPECT_MEMEQ(self->fs.last + 8, self->frame + IOMT_WIRE_HDR_LEN + 8,
			     (size_t)n - IOMT_WIRE_HDR_LEN - 8);
		EXPECT_NE(memcmp(self->fs.last, want, 8), 0);
	}
	/* A resend: the store counts duplicates, the sensor hears it. */
	ASSERT_EQ(rt_knet_send(self->fd, self->frame, (size_t)n), 0);
	ASSERT_EQ(data_ack(self->fd, ENV_WAIT_MS, id, &status, &stored, &dups), 0);
	EXPECT_EQ(status, IOMT_REC_OK);
	EXPECT_EQ(stored, 0);
	EXPECT_EQ(dups, 10);
	close(fd2);
	EXPECT_EQ(FS_GET(&self->fs, stored), 30);
	EXPECT_EQ(FS_GET(&self->fs, reuse), 0);
	EXPECT_EQ(FS_GET(&self->fs, conns), 1);	/* one persistent link */
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_rec_batches_forwarded_total"), 4);
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_rec_records_forwarded_total"), 40);
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_rec_acks_total{status=\"ok\"}"), 4);
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_rec_pending"), 0);
	/* Every relayed record still opens under the tree (nothing was touched). */
	for (size_t i = 0; i < self->fs.nrec; i++)
		EXPECT_EQ(data_key_open(&self->k, self->fs.rec[i].bytes, self->fs.rec[i].len), 0);
}

TEST_F(gw, store_down_is_unreachable_then_a_retry_goes_through)
{
	uint16_t port = env_free_port(), stored, dups;
	uint8_t id[8], status;
	long n;

	ASSERT_NE(port, 0);
	ASSERT_EQ(data_gwd_start(&self->e, port, ""), 0);
	self->fd = data_udp(&self->e);
	ASSERT_GE(self->fd, 0);
	n = batch(self, 0x11, 0, 5);
	ASSERT_GT(n, 0);
	ASSERT_EQ(rt_knet_send(self->fd, self->frame, (size_t)n), 0);
	ASSERT_EQ(data_ack(self->fd, ENV_WAIT_MS, id, &status, &stored, &dups), 0);
	EXPECT_EQ(status, IOMT_REC_UNREACHABLE);
	EXPECT_EQ(id[0], 0x11);
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_rec_refused_total{reason=\"unreachable\"}"), 1);
	/* The store comes up: the gateway reconnects, the retry is stored. */
	ASSERT_EQ(fs_start(&self->fs, port), 0);
	ASSERT_EQ(data_metric_wait(&self->e, "iomt_gwd_store_link_up", 1), 1);
	ASSERT_EQ(rt_knet_send(self->fd, self->frame, (size_t)n), 0);
	ASSERT_EQ(data_ack(self->fd, ENV_WAIT_MS, id, &status, &stored, &dups), 0);
	EXPECT_EQ(status, IOMT_REC_OK);
	EXPECT_EQ(stored, 5);
	EXPECT_TRUE(env_file_has(self->e.svc_log, "store link up"));
}

TEST_F(gw, a_silent_store_times_out_and_a_full_table_is_busy)
{
	uint8_t id[8], status;
	uint16_t stored, dups;
	long n;

	up(self, "relay_pending_max 2\nrelay_timeout 400ms");
	fs_set_mode(&self->fs, FS_HOLD);
	for (uint8_t b = 1; b <= 3; b++) {
		n = batch(self, b, b * 4u, 4);
		ASSERT_GT(n, 0);
		ASSERT_EQ(rt_knet_send(self->fd, self->frame, (size_t)n), 0);
	}
	/* The third finds the table full: BUSY at once. */
	ASSERT_EQ(data_ack(self->fd, 300, id, &status, &stored, &dups), 0);
	EXPECT_EQ(id[0], 3);
	EXPECT_EQ(status, IOMT_REC_BUSY);
	EXPECT_EQ(FS_WAIT(&self->fs, held, 2u), 2u);
	/* The first two: no answer from the store, UNREACHABLE after the timeout. */
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(data_ack(self->fd, ENV_WAIT_MS, id, &status, &stored, &dups), 0);
		EXPECT_EQ(status, IOMT_REC_UNREACHABLE);
		EXPECT_TRUE(id[0] == 1 || id[0] == 2);
	}
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_rec_refused_total{reason=\"busy\"}"), 1);
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_rec_refused_total{reason=\"timeout\"}"), 2);
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_rec_pending"), 0);
}

TEST_F(gw, a_store_that_hangs_up_means_unreachable_for_what_was_in_flight)
{
	uint8_t id[8], status;
	uint16_t stored, dups;
	long n;

	up(self, "");
	fs_set_mode(&self->fs, FS_HANGUP);
	n = batch(self, 0x42, 0, 3);
	ASSERT_GT(n, 0);
	ASSERT_EQ(rt_knet_send(self->fd, self->frame, (size_t)n), 0);
	ASSERT_EQ(data_ack(self->fd, ENV_WAIT_MS, id, &status, &stored, &dups), 0);
	EXPECT_EQ(id[0], 0x42);
	EXPECT_EQ(status, IOMT_REC_UNREACHABLE);
	/* It reconnects by itself; the retry is stored. */
	fs_set_mode(&self->fs, FS_ACK);
	EXPECT_EQ(FS_WAIT(&self->fs, conns, 2u), 2u);
	ASSERT_EQ(data_metric_wait(&self->e, "iomt_gwd_store_link_up", 1), 1);
	ASSERT_EQ(rt_knet_send(self->fd, self->frame, (size_t)n), 0);
	ASSERT_EQ(data_ack(self->fd, ENV_WAIT_MS, id, &status, &stored, &dups), 0);
	EXPECT_EQ(status, IOMT_REC_OK);
	EXPECT_EQ(stored, 3);
}

TEST_F(gw, malformed_batches_are_dropped_and_counted)
{
	uint8_t id[8], status, bad[512];
	uint16_t stored, dups;
	long n;

	up(self, "");
	n = batch(self, 0x33, 0, 2);
	ASSERT_GT(n, 0);
	/* Truncated: the last record's length runs past the payload. */
	ASSERT_LE(n, (long)sizeof(bad));
	memcpy(bad, self->frame, (size_t)n - 1);
	iomt_wire_put_hdr(bad, IOMT_MSG_REC_PUT, (size_t)n - 1 - IOMT_WIRE_HDR_LEN);
	ASSERT_EQ(rt_knet_send(self->fd, bad, (size_t)n - 1), 0);
	/* A count of 0. */
	memcpy(bad, self->frame, IOMT_WIRE_HDR_LEN + IOMT_RECBATCH_HDR_LEN);
	bad[IOMT_WIRE_HDR_LEN + 86] = bad[IOMT_WIRE_HDR_LEN + 87] = 0;
	iomt_wire_put_hdr(bad, IOMT_MSG_REC_PUT, IOMT_RECBATCH_HDR_LEN);
	ASSERT_EQ(rt_knet_send(self->fd, bad, IOMT_WIRE_HDR_LEN + IOMT_RECBATCH_HDR_LEN), 0);
	/* A record under another key id than the batch's meta. */
	self->frame[IOMT_WIRE_HDR_LEN + IOMT_RECBATCH_HDR_LEN + 2 + 1] ^= 1;
	ASSERT_EQ(rt_knet_send(self->fd, self->frame, (size_t)n), 0);
	self->frame[IOMT_WIRE_HDR_LEN + IOMT_RECBATCH_HDR_LEN + 2 + 1] ^= 1;
	/* Shorter than the header. */
	iomt_wire_put_hdr(bad, IOMT_MSG_REC_PUT, 20);
	ASSERT_EQ(rt_knet_send(self->fd, bad, IOMT_WIRE_HDR_LEN + 20), 0);
	EXPECT_EQ(data_ack(self->fd, ENV_QUIET_MS, id, &status, &stored, &dups), -1);
	EXPECT_EQ(data_metric_wait(&self->e, "iomt_gwd_rec_dropped_total{reason=\"malformed\"}",
				   4), 4);
	EXPECT_EQ(FS_GET(&self->fs, batches), 0u);
	/* The genuine one still goes through. */
	ASSERT_EQ(rt_knet_send(self->fd, self->frame, (size_t)n), 0);
	ASSERT_EQ(data_ack(self->fd, ENV_WAIT_MS, id, &status, &stored, &dups), 0);
	EXPECT_EQ(status, IOMT_REC_OK);
	EXPECT_EQ(stored, 2);
	EXPECT_EQ(FS_GET(&self->fs, bad), 0u);
}

/* The gateway cannot open a record: the binary has no code that derives a
 * data-tree key or opens (or seals) a record. */
TEST(gateway_binary_links_no_data_key_code)
{
	static const char *const forbidden[] = {
		"iomt_keytree_data_key0", "iomt_keytree_data_key", "iomt_keytree_refresh",
		"iomt_keytree_node_key", "iomt_keytree_leaf_key", "iomt_keytree_sensor_",
		"iomt_record_open", "iomt_record_seal",
	};
	char gwd[PATH_MAX], cmd[PATH_MAX + 64], line[512];
	unsigned syms = 0, parse = 0;
	FILE *p;

	ASSERT_EQ(rt_test_bin("iomt-gwd", gwd, sizeof(gwd)), 0);
	if (access(gwd, X_OK))
		SKIP(return, "iomt-gwd not built");
	snprintf(cmd, sizeof(cmd), "nm '%s' 2>&1", gwd);
	p = popen(cmd, "r");
	ASSERT_NONNULL(p);
	while (fgets(line, sizeof(line), p)) {
		char *name = strrchr(line, ' ');

		name = name ? name + 1 : line;
		name[strcspn(name, "\n")] = '\0';
		syms++;
		parse += !strcmp(name, "iomt_recbatch_decode");
		for (size_t i = 0; i < sizeof(forbidden) / sizeof(*forbidden); i++)
			if (!strncmp(name, forbidden[i], strlen(forbidden[i]))) {
				TH_LOG("iomt-gwd links %s", name);
				EXPECT_TRUE(0);
			}
	}
	EXPECT_EQ(pclose(p), 0);
	/* nm worked (a stripped binary would prove nothing), and the relay's
	 * structural check is there. */
	EXPECT_GT(syms, 100u);
	EXPECT_EQ(parse, 1u);
}

/* A graceful stop waits (bounded) for the store, then says what it leaves. */
TEST_F(gw, a_stop_waits_for_the_store_then_names_what_is_left)
{
	long n;

	up(self, "agreement_timeout 300ms");
	fs_set_mode(&self->fs, FS_HOLD);
	n = batch(self, 0x51, 0, 2);
	ASSERT_GT(n, 0);
	ASSERT_EQ(rt_knet_send(self->fd, self->frame, (size_t)n), 0);
	ASSERT_EQ(FS_WAIT(&self->fs, held, 1u), 1u);
	EXPECT_EQ(env_metric(&self->e, "iomt_gwd_rec_pending"), 1);
	EXPECT_EQ(env_reap(&self->e.svc_pid, SIGTERM, ENV_WAIT_MS), 0);
	EXPECT_TRUE(env_file_has(self->e.svc_log,
				 "stopping with 1 batches unacknowledged by the store"));
}
