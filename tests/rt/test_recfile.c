/* SPDX-License-Identifier: MIT */
/* rt_recfile: A/B copies, torn and damaged copies, header checks, and
 * SIGKILL at random points never leaving anything but an old or new record. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "harness.h"
#include "lib/rt_log.h"
#include "lib/rt_recfile.h"
#include "recfile_raw.h"
#include "rt_test.h"
#include "shake.h"
#include "testutil.h"

enum {
	REC_LEN = 98,
	NREC = 8,
	BLOCK = RT_RECFILE_BLOCK,
};

FIXTURE(recfile) {
	char dir[64];
	char path[128];
	char log[128];
	char buf[8192];
	struct rt_recfile *f;
};

FIXTURE_SETUP(recfile)
{
	ASSERT_EQ(rt_test_mkdtemp(self->dir, sizeof(self->dir), "recfile"), 0);
	snprintf(self->path, sizeof(self->path), "%s/state.rec", self->dir);
	snprintf(self->log, sizeof(self->log), "%s/test.log", self->dir);
	rt_log_init("test-recfile");
	ASSERT_EQ(rt_log_set_file(self->log), 0);
}

FIXTURE_TEARDOWN(recfile)
{
	rt_recfile_close(self->f);
	rt_log_set_file(NULL);
	rt_test_rmtree(self->dir);
}

/* A record whose every byte depends on (tag, v): garbage cannot pass for one. */
static void make_rec(uint8_t rec[REC_LEN], uint64_t v)
{
	uint8_t in[8];

	for (int i = 0; i < 8; i++)
		in[i] = (uint8_t)(v >> (8 * i));
	memcpy(rec, in, 8);
	iomt_shake128(in, sizeof(in), rec + 8, REC_LEN - 8);
}

/* The value v of a well-formed record, or UINT64_MAX. */
static uint64_t rec_value(const uint8_t rec[REC_LEN])
{
	uint8_t want[REC_LEN];
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)rec[i] << (8 * i);
	make_rec(want, v);
	return memcmp(want, rec, REC_LEN) ? UINT64_MAX : v;
}

static void reopen(FIXTURE_DATA(recfile) *self)
{
	rt_recfile_close(self->f);
	self->f = NULL;
	ASSERT_EQ(rt_recfile_open(self->path, REC_LEN, NREC, &self->f), 0);
}

static uint64_t read_value(struct rt_recfile *f, size_t idx)
{
	uint8_t rec[REC_LEN];

	ASSERT_EQ(rt_recfile_read(f, idx, rec), 0);
	return rec_value(rec);
}

static void write_value(struct rt_recfile *f, size_t idx, uint64_t v)
{
	uint8_t rec[REC_LEN];

	make_rec(rec, v);
	ASSERT_EQ(rt_recfile_write(f, idx, rec), 0);
}

static void flip_byte(const char *path, off_t off)
{
	uint8_t b;

	raw_io(path, off, &b, 1, 0);
	b ^= 0x20;
	raw_io(path, off, &b, 1, 1);
}

static int log_has(FIXTURE_DATA(recfile) *self, const char *what)
{
	ASSERT_GE(rt_test_read(self->log, self->buf, sizeof(self->buf)), 0);
	return strstr(self->buf, what) != NULL;
}

TEST_F(recfile, round_trip)
{
	struct stat st;

	ASSERT_EQ(rt_recfile_open(self->path, REC_LEN, NREC, &self->f), 0);
	write_value(self->f, 0, 11);
	write_value(self->f, NREC - 1, 77);
	ASSERT_EQ(read_value(self->f, 0), 11);
	ASSERT_EQ(read_value(self->f, NREC - 1), 77);
	/* Secrets: owner only; the whole file, sparse, exists from the start. */
	ASSERT_EQ(stat(self->path, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);
	ASSERT_EQ(st.st_size, (off_t)BLOCK * (1 + 2 * NREC));
}

TEST_F(recfile, persists_across_reopen)
{
	ASSERT_EQ(rt_recfile_open(self->path, REC_LEN, NREC, &self->f), 0);
	for (size_t i = 0; i < NREC; i++)
		write_value(self->f, i, 100 + i);
	write_value(self->f, 3, 1003);
	reopen(self);
	for (size_t i = 0; i < NREC; i++)
		ASSERT_EQ(read_value(self->f, i), i == 3 ? 1003 : 100 + i);
}

TEST_F(recfile, writes_alternate_between_copies)
{
	ASSERT_EQ(rt_recfile_open(self->path, REC_LEN, NREC, &self->f), 0);
	write_value(self->f, 2, 1);
	ASSERT_EQ(raw_seq(self->path, 2, 0), 1);
	ASSERT_EQ(raw_seq(self->path, 2, 1), 0);
	write_value(self->f, 2, 2);
	ASSERT_EQ(raw_seq(self->path, 2, 0), 1);
	ASSERT_EQ(raw_seq(self->path, 2, 1), 2);
	write_value(self->f, 2, 3);
	ASSERT_EQ(raw_seq(self->path, 2, 0), 3);
	ASSERT_EQ(raw_seq(self->path, 2, 1), 2);
	ASSERT_EQ(read_value(self->f, 2), 3);
	/* Neighbours untouched. */
	ASSERT_EQ(raw_seq(self->path, 1, 1), 0);
	ASSERT_EQ(raw_seq(self->path, 3, 0), 0);
}

/* The newest copy damaged (a torn write): the older copy is returned, and the
 * next write goes over the damaged one, keeping the good one. */
TEST_F(recfile, damaged_newest_falls_back_to_older)
{
	ASSERT_EQ(rt_recfile_open(self->path, REC_LEN, NREC, &self->f), 0);
	write_value(self->f, 5, 50);
	write_value(self->f, 5, 51); /* copy B, seq 2 */
	rt_recfile_close(self->f);
	self->f = NULL;
	flip_byte(self->path, copy_off(5, 1) + 8 + 40); /* payload */
	reopen(self);
	ASSERT_EQ(read_value(self->f, 5), 50);
	write_value(self->f, 5, 52);
	ASSERT_EQ(raw_seq(self->path, 5, 1), 2); /* B rewritten with seq 2 again */
	ASSERT_EQ(read_value(self->f, 5), 52);
	write_value(self->f, 5, 53);
	ASSERT_EQ(read_value(self->f, 5), 53);
	ASSERT_EQ(raw_seq(self->path, 5, 0), 3);
}

/* A write cut off halfway: the copy's tail still holds the older bytes. */
TEST_F(recfile, torn_write_of_newest_copy_is_ignored)
{
	uint8_t zero[64] = { 0 };

	ASSERT_EQ(rt_recfile_open(self->path, REC_LEN, NREC, &self->f), 0);
	write_value(self->f, 0, 1);
	write_value(self->f, 0, 2);
	write_value(self->f, 0, 3); /* copy A, seq 3 */
	rt_recfile_close(self->f);
	self->f = NULL;
	raw_io(self->path, copy_off(0, 0) + 64, zero, sizeof(zero), 1);
	reopen(self);
	ASSERT_EQ(read_value(self->f, 0), 2);
	/* Damaged sequence number or check value: the same. */
	write_value(self->f, 0, 4);
	rt_recfile_close(self->f);
	self->f = NULL;
	flip_byte(self->path, copy_off(0, 0) + 7);
	reopen(self);
	ASSERT_EQ(read_value(self->f, 0), 2);
	write_value(self->f, 0, 5);
	rt_recfile_close(self->f);
	self->f = NULL;
	flip_byte(self->path, copy_off(0, 0) + 8 + REC_LEN + 15);
	reopen(self);
	ASSERT_EQ(read_value(self->f, 0), 2);
}

/* A copy moved to another record's place does not verify there. */
TEST_F(recfile, copy_moved_to_another_record_is_refused)
{
	uint8_t copy[8 + REC_LEN + 16], rec[REC_LEN];

	ASSERT_EQ(rt_recfile_open(self->path, REC_LEN, NREC, &self->f), 0);
	write_value(self->f, 1, 10);
	write_value(self->f, 1, 11);
	write_value(self->f, 1, 12); /* copy A, seq 3 */
	write_value(self->f, 2, 20);
	write_value(self->f, 2, 21); /* copy B, seq 2 */
	/* Record 1's newer copy over record 2's A: its seq 3 would win, were the
	 * check not bound to index 1. */
	raw_io(self->path, copy_off(1, 0), copy, sizeof(copy), 0);
	raw_io(self->path, copy_off(2, 0), copy, sizeof(copy), 1);
	ASSERT_EQ(read_value(self->f, 2), 21);
	ASSERT_EQ(rt_recfile_read(self->f, 1, rec), 0);
	ASSERT_EQ(rec_value(rec), 12);
}

TEST_F(recfile, both_copies_damaged_is_eio)
{
	uint8_t rec[REC_LEN];

	ASSERT_EQ(rt_recfile_open(self->path, REC_LEN, NREC, &self->f), 0);
	write_value(self->f, 4, 40);
	write_value(self->f, 4, 41);
	flip_byte(self->path, copy_off(4, 0) + 20);
	flip_byte(self->path, copy_off(4, 1) + 30);
	ASSERT_EQ(rt_recfile_read(self->f, 4, rec), -EIO);
	ASSERT_TRUE(log_has(self, "record 4: both copies are damaged"));
	ASSERT_TRUE(log_has(self, self->path));
	/* Other records are fine, and a new write recovers the record. */
	ASSERT_EQ(rt_recfile_read(self->f, 3, rec), -ENOENT);
	write_value(self->f, 4, 42);
	ASSERT_EQ(read_value(self->f, 4), 42);
}

TEST_F(recfile, never_written_is_enoent)
{
	uint8_t rec[REC_LEN], junk[REC_LEN];

	ASSERT_EQ(rt_recfile_open(self->path, REC_LEN, NREC, &self->f), 0);
	memset(rec, 0xa5, sizeof(rec));
	memcpy(junk, rec, sizeof(junk));
	for (size_t i = 0; i < NREC; i++)
		ASSERT_EQ(rt_recfile_read(self->f, i, rec), -ENOENT);
	ASSERT_MEMEQ(rec, junk, sizeof(rec)); /* nothing written on failure */
	/* A first write torn by a crash: still never written, with a warning. */
	raw_io(self->path, copy_off(6, 0), junk, 50, 1);
	ASSERT_EQ(rt_recfile_read(self->f, 6, rec), -ENOENT);
	ASSERT_TRUE(log_has(self, "record 6: its only copy is damaged"));
	ASSERT_EQ(rt_recfile_read(self->f, NREC, rec), -EINVAL);
	ASSERT_EQ(rt_recfile_write(self->f, NREC, rec), -EINVAL);
}

TEST_F(recfile, header_mismatch_is_einval)
{
	struct rt_recfile *g = NULL;
	size_t len = 0, n = 0;

	ASSERT_EQ(rt_recfile_open(self->path, REC_LEN, NREC, &self->f), 0);
	write_value(self->f, 0, 1);
	rt_recfile_close(self->f);
	self->f = NULL;
	ASSERT_EQ(rt_recfile_stat(self->path, &len, &n), 0);
	ASSERT_EQ(len, REC_LEN);
	ASSERT_EQ(n, NREC);
	ASSERT_EQ(rt_recfile_open(self->path, REC_LEN + 1, NREC, &g), -EINVAL);
	ASSERT_NULL(g);
	ASSERT_TRUE(log_has(self, "holds 8 records of 98 bytes, expected 8 records of 99 bytes"));
	ASSERT_EQ(rt_recfile_open(self->path, REC_LEN, NREC + 1, &g), -EINVAL);
	ASSERT_TRUE(log_has(self, "expected 9 records of 98 bytes"));
	ASSERT_TRUE(log_has(self, self->path));
	/* Damaged header byte (nrec), then bad magic. */
	flip_byte(self->path, 23);
	ASSERT_EQ(rt_recfile_open(self->path, REC_LEN, NREC, &g), -EINVAL);
	ASSERT_TRUE(log_has(self, "header is damaged"));
	flip_byte(self->path, 23);
	ASSERT_EQ(truncate(self->path, BLOCK * 5), 0);
	ASSERT_EQ(rt_recfile_open(self->path, REC_LEN, NREC, &g), -EINVAL);
	ASSERT_TRUE(log_has(self, "(truncated?)"));
	flip_byte(self->path, 0);
	ASSERT_EQ(rt_recfile_open(self->path, REC_LEN, NREC, &g), -EINVAL);
	ASSERT_TRUE(log_has(self, "not a record file (bad magic)"));
	ASSERT_EQ(rt_recfile_stat(self->path, &len, &n), -EINVAL);
}

TEST_F(recfile, bad_arguments_and_foreign_files)
{
	struct rt_recfile *g = NULL;
	size_t len, n;
	char other[160];

	ASSERT_EQ(rt_recfile_open(self->path, 0, NREC, &g), -EINVAL);
	ASSERT_EQ(rt_recfile_open(self->path, RT_RECFILE_MAX_REC_LEN + 1, NREC, &g), -EINVAL);
	ASSERT_EQ(rt_recfile_open(self->path, REC_LEN, 0, &g), -EINVAL);
	ASSERT_EQ(rt_recfile_open(NULL, REC_LEN, NREC, &g), -EINVAL);
	ASSERT_EQ(access(self->path, F_OK), -1); /* nothing created */
	snprintf(other, sizeof(other), "%s/short", self->dir);
	ASSERT_EQ(rt_test_write(other, "hello", 5), 0);
	ASSERT_EQ(rt_recfile_open(other, REC_LEN, NREC, &g), -EINVAL);
	ASSERT_TRUE(log_has(self, "too short for a record file header"));
	snprintf(other, sizeof(other), "%s/nodir/x.rec", self->dir);
	ASSERT_EQ(rt_recfile_open(other, REC_LEN, NREC, &g), -ENOENT);
	ASSERT_TRUE(log_has(self, "nodir/x.rec: cannot open record file"));
	ASSERT_EQ(rt_recfile_stat(other, &len, &n), -ENOENT);
}

TEST_F(recfile, second_open_is_busy)
{
	struct rt_recfile *g = NULL;

	ASSERT_EQ(rt_recfile_open(self->path, REC_LEN, NREC, &self->f), 0);
	ASSERT_EQ(rt_recfile_open(self->path, REC_LEN, NREC, &g), -EBUSY);
	ASSERT_TRUE(log_has(self, "in use"));
	reopen(self); /* closing released it */
}

TEST_F(recfile, write_many_is_durable_and_checked)
{
	uint8_t recs[NREC][REC_LEN];
	const void *ptrs[NREC];
	size_t idx[NREC], dup[2] = { 1, 1 }, out[1] = { NREC };
	pid_t pid;
	int st;

	for (size_t i = 0; i < NREC; i++) {
		make_rec(recs[i], 500 + i);
		ptrs[i] = recs[i];
		idx[i] = NREC - 1 - i;
	}
	ASSERT_EQ(rt_recfile_open(self->path, REC_LEN, NREC, &self->f), 0);
	ASSERT_EQ(rt_recfile_write_many(self->f, dup, ptrs, 2), -EINVAL);
	ASSERT_EQ(rt_recfile_write_many(self->f, out, ptrs, 1), -EINVAL);
	ASSERT_EQ(rt_recfile_write_many(self->f, idx, ptrs, 0), 0);
	ASSERT_EQ(rt_recfile_read(self->f, 1, recs[0]), -ENOENT); /* nothing written */
	make_rec(recs[0], 500);
	rt_recfile_close(self->f);
	self->f = NULL;
	/* A process that dies right after the call returns, without closing. */
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct rt_recfile *g;

		if (rt_recfile_open(self->path, REC_LEN, NREC, &g) ||
		    rt_recfile_write_many(g, idx, ptrs, NREC))
			_exit(1);
		kill(getpid(), SIGKILL);
	}
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFSIGNALED(st));
	reopen(self);
	for (size_t i = 0; i < NREC; i++)
		ASSERT_EQ(read_value(self->f, NREC - 1 - i), 500 + i);
	/* Every record went to its older copy, synced together. */
	for (size_t i = 0; i < NREC; i++)
		write_value(self->f, i, 900 + i);
	ASSERT_EQ(rt_recfile_write_many(self->f, idx, ptrs, NREC), 0);
	for (size_t i = 0; i < NREC; i++) {
		ASSERT_EQ(raw_seq(self->path, i, 0), 3);
		ASSERT_EQ(read_value(self->f, NREC - 1 - i), 500 + i);
	}
}

/* ---- SIGKILL at random points ---- */

enum { KILL_ROUNDS = 200, KILL_RECS = 4 };

/* The child: writes value base, base+1, ... round-robin over the records
 * (every fourth call all of them at once), reporting each finished value on
 * the pipe, until it is killed. */
static void writer_child(const char *path, uint64_t base, int report)
{
	struct rt_recfile *f;
	uint8_t recs[KILL_RECS][REC_LEN];
	const void *ptrs[KILL_RECS] = { recs[0], recs[1], recs[2], recs[3] };
	size_t idx[KILL_RECS] = { 0, 1, 2, 3 };
	uint64_t v = base;

	if (rt_recfile_open(path, REC_LEN, KILL_RECS, &f))
		_exit(1);
	for (;; v += KILL_RECS) {
		int many = (v / KILL_RECS) % 4 == 3, r;

		for (int i = 0; i < KILL_RECS; i++)
			make_rec(recs[i], v + (uint64_t)i);
		r = many ? rt_recfile_write_many(f, idx, ptrs, KILL_RECS)
			 : rt_recfile_write(f, v / KILL_RECS % KILL_RECS, recs[v / KILL_RECS % KILL_RECS]);
		if (r || write(report, &v, sizeof(v)) != sizeof(v))
			_exit(1);
	}
}

/* After a kill: each record holds a value the child wrote, no older than
 * the last one it reported durable for that record. */
static void check_after_kill(const char *path, uint64_t durable[KILL_RECS], uint64_t top)
{
	struct rt_recfile *f;
	uint8_t rec[REC_LEN];

	ASSERT_EQ(rt_recfile_open(path, REC_LEN, KILL_RECS, &f), 0);
	for (size_t i = 0; i < KILL_RECS; i++) {
		int r = rt_recfile_read(f, i, rec);
		uint64_t v = r ? 0 : rec_value(rec);

		if (r == -ENOENT && !durable[i])
			continue;
		ASSERT_EQ(r, 0);
		ASSERT_NE(v, UINT64_MAX);
		ASSERT_EQ(v % KILL_RECS, i);
		ASSERT_GE(v, durable[i]);
		ASSERT_LT(v, top);
		durable[i] = v;
	}
	rt_recfile_close(f);
}

/* The child's reports: the highest call base seen (each call's values are
 * base..base+3), and per record the last value known durable. */
static uint64_t drain_reports(int fd, uint64_t durable[KILL_RECS])
{
	uint64_t v, top = 0;

	while (read(fd, &v, sizeof(v)) == sizeof(v)) {
		int many = (v / KILL_RECS) % 4 == 3;

		for (int i = 0; i < KILL_RECS; i++)
			if (many || (size_t)i == v / KILL_RECS % KILL_RECS)
				durable[i] = v + (uint64_t)i;
		top = v;
	}
	return top;
}

TEST_F_TIMEOUT(recfile, sigkill_at_random_points_leaves_old_or_new, 120)
{
	uint64_t durable[KILL_RECS] = { 0 }, base = KILL_RECS * 4;
	struct tu_rng rng = { 0x5eed2024 };
	int writes = 0;

	for (int round = 0; round < KILL_ROUNDS; round++) {
		uint64_t last;
		int p[2], st;
		pid_t pid;

		ASSERT_EQ(pipe(p), 0);
		pid = fork();
		ASSERT_GE(pid, 0);
		if (pid == 0) {
			close(p[0]);
			writer_child(self->path, base, p[1]);
		}
		close(p[1]);
		/* Most rounds let the child reach its loop first (it may be slow to
		 * be scheduled on a loaded machine); every tenth kills it anywhere,
		 * even while it opens the file. */
		if (round % 10) {
			struct pollfd pfd = { .fd = p[0], .events = POLLIN };

			ASSERT_EQ(poll(&pfd, 1, 10000), 1);
		}
		usleep((useconds_t)(tu_next(&rng) % 3000));
		kill(pid, SIGKILL);
		ASSERT_EQ(waitpid(pid, &st, 0), pid);
		ASSERT_TRUE(WIFSIGNALED(st));
		last = drain_reports(p[0], durable);
		close(p[0]);
		writes += last != 0;
		if (!last)
			last = base - KILL_RECS;
		/* Nothing beyond the call in flight (base last + KILL_RECS) is on disk. */
		check_after_kill(self->path, durable, last + 2 * KILL_RECS);
		for (size_t i = 0; i < KILL_RECS; i++)
			if (durable[i] >= base)
				base = durable[i] + 1;
		base = (base + 4 * KILL_RECS) / (4 * KILL_RECS) * (4 * KILL_RECS);
	}
	TH_LOG("%d of %d rounds completed at least one write before the kill", writes,
	       KILL_ROUNDS);
	ASSERT_GE(writes, KILL_ROUNDS * 9 / 10);
}
