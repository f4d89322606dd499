/* SPDX-License-Identifier: MIT */
/* rt_replay: replays detected (also within a batch and after a restart),
 * expiry, a torn tail and damaged records ignored, a full cache refusing
 * (never accepting silently), compaction, a failed append, bad files. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "harness.h"
#include "lib/rt_log.h"
#include "lib/rt_replay.h"
#include "rt_test.h"

static const uint64_t now0 = 1700000000000ULL;	/* a fixed "now" (Unix ms) */

FIXTURE(replay) {
	char dir[64];
	char path[128];
	char log[128];
	struct rt_replay *rc;
};

FIXTURE_SETUP(replay)
{
	ASSERT_EQ(rt_test_mkdtemp(self->dir, sizeof(self->dir), "replay"), 0);
	snprintf(self->path, sizeof(self->path), "%s/replay.cache", self->dir);
	snprintf(self->log, sizeof(self->log), "%s/test.log", self->dir);
	rt_log_init("test-replay");
	ASSERT_EQ(rt_log_set_file(self->log), 0);
}

FIXTURE_TEARDOWN(replay)
{
	rt_replay_close(self->rc);
	rt_test_rmtree(self->dir);
}

/* Key i: distinct, deterministic. */
static void key(uint8_t k[RT_REPLAY_KEY_LEN], unsigned i)
{
	memset(k, 0xa5, RT_REPLAY_KEY_LEN);
	memcpy(k, &i, sizeof(i));
}

static int add(struct rt_replay *rc, unsigned i, uint64_t exp, uint64_t now)
{
	uint8_t k[RT_REPLAY_KEY_LEN];

	key(k, i);
	return rt_replay_check_and_add(rc, k, exp, now);
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (long)st.st_size;
}

static int reopen(FIXTURE_DATA(replay) *self, size_t cap, uint64_t now)
{
	rt_replay_close(self->rc);
	self->rc = NULL;
	return rt_replay_open(self->path, cap, now, &self->rc);
}

TEST_F(replay, new_key_then_replay_is_detected)
{
	struct rt_replay_stats st;

	ASSERT_EQ(rt_replay_open(self->path, 16, now0, &self->rc), 0);
	EXPECT_EQ(add(self->rc, 1, now0 + 1000, now0), RT_REPLAY_NEW);
	EXPECT_EQ(add(self->rc, 1, now0 + 1000, now0 + 10), RT_REPLAY_SEEN);
	EXPECT_EQ(add(self->rc, 2, now0 + 1000, now0 + 10), RT_REPLAY_NEW);
	rt_replay_get_stats(self->rc, &st);
	EXPECT_EQ(st.accepted, 2);
	EXPECT_EQ(st.replays, 1);
	EXPECT_EQ(st.live, 2);
	EXPECT_EQ(st.file_records, 2);
	EXPECT_EQ(file_size(self->path), RT_REPLAY_HDR_LEN + 2 * RT_REPLAY_REC_LEN);
}

TEST_F(replay, a_batch_is_one_sync_and_catches_its_own_duplicates)
{
	uint8_t k[5][RT_REPLAY_KEY_LEN];
	uint64_t exp[5];
	int v[5];
	struct rt_replay_stats st;

	ASSERT_EQ(rt_replay_open(self->path, 16, now0, &self->rc), 0);
	for (unsigned i = 0; i < 5; i++) {
		key(k[i], i == 3 ? 1 : i);	/* key 1 twice */
		exp[i] = now0 + 1000;
	}
	exp[4] = now0;				/* already expired: refused */
	ASSERT_EQ(rt_replay_check_and_add_batch(self->rc, (const uint8_t(*)[16])k, exp, 5, now0, v),
		  0);
	EXPECT_EQ(v[0], RT_REPLAY_NEW);
	EXPECT_EQ(v[1], RT_REPLAY_NEW);
	EXPECT_EQ(v[2], RT_REPLAY_NEW);
	EXPECT_EQ(v[3], RT_REPLAY_SEEN);
	EXPECT_EQ(v[4], RT_REPLAY_SEEN);
	rt_replay_get_stats(self->rc, &st);
	EXPECT_EQ(st.syncs, 1);
	EXPECT_EQ(st.file_records, 3);
}

TEST_F(replay, an_expired_key_is_new_again)
{
	ASSERT_EQ(rt_replay_open(self->path, 16, now0, &self->rc), 0);
	EXPECT_EQ(add(self->rc, 7, now0 + 100, now0), RT_REPLAY_NEW);
	EXPECT_EQ(add(self->rc, 7, now0 + 300, now0 + 99), RT_REPLAY_SEEN);
	EXPECT_EQ(add(self->rc, 7, now0 + 300, now0 + 100), RT_REPLAY_NEW);
	EXPECT_EQ(add(self->rc, 7, now0 + 300, now0 + 200), RT_REPLAY_SEEN);
}

TEST_F(replay, a_restart_keeps_live_keys_and_drops_expired_ones)
{
	struct rt_replay_stats st;

	ASSERT_EQ(rt_replay_open(self->path, 16, now0, &self->rc), 0);
	EXPECT_EQ(add(self->rc, 1, now0 + 10000, now0), RT_REPLAY_NEW);
	EXPECT_EQ(add(self->rc, 2, now0 + 50, now0), RT_REPLAY_NEW);
	ASSERT_EQ(reopen(self, 16, now0 + 100), 0);
	rt_replay_get_stats(self->rc, &st);
	EXPECT_EQ(st.loaded, 1);
	EXPECT_EQ(st.expired_on_load, 1);
	EXPECT_EQ(add(self->rc, 1, now0 + 10000, now0 + 100), RT_REPLAY_SEEN);
	EXPECT_EQ(add(self->rc, 2, now0 + 10000, now0 + 100), RT_REPLAY_NEW);
}

TEST_F(replay, a_torn_tail_is_ignored_and_the_file_rewritten)
{
	struct rt_replay_stats st;
	FILE *f;

	ASSERT_EQ(rt_replay_open(self->path, 16, now0, &self->rc), 0);
	for (unsigned i = 0; i < 3; i++)
		ASSERT_EQ(add(self->rc, i, now0 + 10000, now0), RT_REPLAY_NEW);
	rt_replay_close(self->rc);
	self->rc = NULL;
	/* Half a record, as a crash in the middle of an append leaves it. */
	ASSERT_NONNULL(f = fopen(self->path, "a"));
	fwrite("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a", 1, 10, f);
	fclose(f);
	ASSERT_EQ(reopen(self, 16, now0), 0);
	rt_replay_get_stats(self->rc, &st);
	EXPECT_EQ(st.loaded, 3);
	EXPECT_EQ(st.torn_bytes, 10);
	EXPECT_EQ(file_size(self->path), RT_REPLAY_HDR_LEN + 3 * RT_REPLAY_REC_LEN);
	EXPECT_EQ(add(self->rc, 2, now0 + 10000, now0), RT_REPLAY_SEEN);
	EXPECT_EQ(add(self->rc, 3, now0 + 10000, now0), RT_REPLAY_NEW);
	ASSERT_EQ(reopen(self, 16, now0), 0);
	rt_replay_get_stats(self->rc, &st);
	EXPECT_EQ(st.loaded, 4);
	EXPECT_EQ(st.torn_bytes, 0);
}

TEST_F(replay, a_damaged_record_is_skipped_and_counted)
{
	struct rt_replay_stats st;
	int fd;

	ASSERT_EQ(rt_replay_open(self->path, 16, now0, &self->rc), 0);
	for (unsigned i = 0; i < 3; i++)
		ASSERT_EQ(add(self->rc, i, now0 + 10000, now0), RT_REPLAY_NEW);
	rt_replay_close(self->rc);
	self->rc = NULL;
	ASSERT_GE(fd = open(self->path, O_WRONLY), 0);
	ASSERT_EQ(pwrite(fd, "X", 1, RT_REPLAY_HDR_LEN + RT_REPLAY_REC_LEN + 20), 1);
	close(fd);
	ASSERT_EQ(reopen(self, 16, now0), 0);
	rt_replay_get_stats(self->rc, &st);
	EXPECT_EQ(st.loaded, 2);
	EXPECT_EQ(st.damaged_on_load, 1);
	EXPECT_EQ(st.file_records, 2);
}

TEST_F(replay, a_full_cache_refuses_and_counts_never_accepts)
{
	struct rt_replay_stats st;

	ASSERT_EQ(rt_replay_open(self->path, 4, now0, &self->rc), 0);
	for (unsigned i = 0; i < 3; i++)
		ASSERT_EQ(add(self->rc, i, now0 + 10000, now0), RT_REPLAY_NEW);
	ASSERT_EQ(add(self->rc, 3, now0 + 500, now0), RT_REPLAY_NEW);
	EXPECT_EQ(add(self->rc, 4, now0 + 10000, now0), RT_REPLAY_FULL);
	EXPECT_EQ(add(self->rc, 4, now0 + 10000, now0 + 1), RT_REPLAY_FULL);
	/* A refused key was not remembered: it is not a replay later. */
	rt_replay_get_stats(self->rc, &st);
	EXPECT_EQ(st.full, 2);
	EXPECT_EQ(st.live, 4);
	/* Key 3 expires: its room is reused. */
	EXPECT_EQ(add(self->rc, 4, now0 + 10000, now0 + 600), RT_REPLAY_NEW);
	EXPECT_EQ(add(self->rc, 5, now0 + 10000, now0 + 600), RT_REPLAY_FULL);
	EXPECT_EQ(add(self->rc, 0, now0 + 10000, now0 + 600), RT_REPLAY_SEEN);
}

TEST_F(replay, more_live_keys_on_file_than_capacity_is_refused)
{
	ASSERT_EQ(rt_replay_open(self->path, 4, now0, &self->rc), 0);
	for (unsigned i = 0; i < 4; i++)
		ASSERT_EQ(add(self->rc, i, now0 + 10000, now0), RT_REPLAY_NEW);
	EXPECT_EQ(reopen(self, 3, now0), -EINVAL);
	EXPECT_EQ(reopen(self, 4, now0), 0);
}

TEST_F(replay, compaction_when_mostly_expired_keeps_live_keys)
{
	struct rt_replay_stats st;
	/* Checks happen at 256, 512, 1024 records: 768 keys, 758 expiring, then
	 * 256 more after the expiry reach the third check mostly expired. */
	unsigned n = 3 * RT_REPLAY_COMPACT_MIN;

	ASSERT_EQ(rt_replay_open(self->path, 4 * n, now0, &self->rc), 0);
	for (unsigned i = 0; i < n; i++)
		ASSERT_EQ(add(self->rc, i, i < 10 ? now0 + 100000 : now0 + 100, now0),
			  RT_REPLAY_NEW);
	rt_replay_get_stats(self->rc, &st);
	EXPECT_EQ(st.compactions, 0);
	/* The next batch after the expiry crosses the check point: compacted. */
	for (unsigned i = n; st.compactions == 0 && i < 2 * n; i++) {
		ASSERT_EQ(add(self->rc, i, now0 + 100000, now0 + 200), RT_REPLAY_NEW);
		rt_replay_get_stats(self->rc, &st);
	}
	EXPECT_EQ(st.compactions, 1);
	EXPECT_LT(st.file_records, n / 2);
	EXPECT_EQ(file_size(self->path),
		  (long)(RT_REPLAY_HDR_LEN + st.file_records * RT_REPLAY_REC_LEN));
	/* The lock moved to the new file; a restart has the live keys. */
	EXPECT_EQ(rt_replay_open(self->path, 16, now0, &(struct rt_replay *){ NULL }), -EBUSY);
	ASSERT_EQ(reopen(self, 4 * n, now0 + 200), 0);
	for (unsigned i = 0; i < 10; i++)
		EXPECT_EQ(add(self->rc, i, now0 + 100000, now0 + 200), RT_REPLAY_SEEN);
	EXPECT_EQ(add(self->rc, 20, now0 + 100000, now0 + 200), RT_REPLAY_NEW);
}

TEST_F(replay, explicit_maintain_compacts)
{
	struct rt_replay_stats st;

	ASSERT_EQ(rt_replay_open(self->path, 1024, now0, &self->rc), 0);
	for (unsigned i = 0; i < RT_REPLAY_COMPACT_MIN; i++)
		ASSERT_EQ(add(self->rc, i, now0 + (i ? 10 : 100000), now0), RT_REPLAY_NEW);
	ASSERT_EQ(rt_replay_maintain(self->rc, now0 + 20), 0);
	rt_replay_get_stats(self->rc, &st);
	EXPECT_EQ(st.file_records, 1);
	EXPECT_EQ(st.live, 1);
	EXPECT_EQ(add(self->rc, 0, now0 + 100000, now0 + 20), RT_REPLAY_SEEN);
}

TEST_F(replay, a_second_open_is_busy)
{
	struct rt_replay *other = NULL;

	ASSERT_EQ(rt_replay_open(self->path, 16, now0, &self->rc), 0);
	EXPECT_EQ(rt_replay_open(self->path, 16, now0, &other), -EBUSY);
	EXPECT_NULL(other);
}

TEST_F(replay, bad_arguments_and_foreign_files_are_refused)
{
	char junk[128];

	EXPECT_EQ(rt_replay_open(self->path, 0, now0, &self->rc), -EINVAL);
	EXPECT_EQ(rt_replay_open(self->path, RT_REPLAY_CAPACITY_MAX + 1, now0, &self->rc), -EINVAL);
	EXPECT_EQ(rt_replay_open("", 16, now0, &self->rc), -EINVAL);
	snprintf(junk, sizeof(junk), "%s/junk", self->dir);
	ASSERT_EQ(rt_test_write(junk, "this is not a replay cache file", 31), 0);
	EXPECT_EQ(rt_replay_open(junk, 16, now0, &self->rc), -EINVAL);
	ASSERT_EQ(rt_test_write(junk, "IOMTRPLY\0\0\0\x09\0\0\0\0", 16), 0);
	EXPECT_EQ(rt_replay_open(junk, 16, now0, &self->rc), -EINVAL);
	snprintf(junk, sizeof(junk), "%s/no/such/dir/cache", self->dir);
	EXPECT_EQ(rt_replay_open(junk, 16, now0, &self->rc), -ENOENT);
	EXPECT_NULL(self->rc);
}

TEST_F(replay, a_header_torn_at_creation_starts_empty)
{
	ASSERT_EQ(rt_test_write(self->path, "IOMT", 4), 0);
	ASSERT_EQ(rt_replay_open(self->path, 16, now0, &self->rc), 0);
	EXPECT_EQ(file_size(self->path), RT_REPLAY_HDR_LEN);
	EXPECT_EQ(add(self->rc, 1, now0 + 1000, now0), RT_REPLAY_NEW);
}

TEST_F(replay, a_failed_append_refuses_the_batch_and_every_later_one)
{
	struct rlimit rl;
	uint8_t k[RT_REPLAY_KEY_LEN];

	signal(SIGXFSZ, SIG_IGN);
	ASSERT_EQ(rt_replay_open(self->path, 16, now0, &self->rc), 0);
	ASSERT_EQ(add(self->rc, 1, now0 + 1000, now0), RT_REPLAY_NEW);
	/* The file may not grow any more: the next append fails (EFBIG). */
	rl.rlim_cur = rl.rlim_max = (rlim_t)file_size(self->path);
	ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &rl), 0);
	EXPECT_EQ(add(self->rc, 2, now0 + 1000, now0), -EFBIG);
	key(k, 3);
	EXPECT_EQ(rt_replay_check_and_add(self->rc, k, now0 + 1000, now0), -EIO);
}
