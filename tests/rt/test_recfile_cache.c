/* SPDX-License-Identifier: MIT */
/* rt_recfile's memory of each record's newest copy (rt_recfile.h): learnt
 * from disk by the first read or write after open, torn copies included;
 * later writes read nothing; refused write_many calls leave no state; and
 * long random runs of writes, batches and reopens keep the on-disk copies
 * alternating with consecutive sequence numbers. */
#include <errno.h>

#include "harness.h"
#include "lib/rt_log.h"
#include "lib/rt_recfile.h"
#include "recfile_raw.h"
#include "rt_test.h"
#include "shake.h"
#include "testutil.h"

enum {
	REC_LEN = 32,
	NREC = 6,
	BLOCK = RT_RECFILE_BLOCK,
};

FIXTURE(rc) {
	char dir[64];
	char path[128];
	char log[128];
	struct rt_recfile *f;
};

FIXTURE_SETUP(rc)
{
	ASSERT_EQ(rt_test_mkdtemp(self->dir, sizeof(self->dir), "recfile-cache"), 0);
	snprintf(self->path, sizeof(self->path), "%s/state.rec", self->dir);
	snprintf(self->log, sizeof(self->log), "%s/test.log", self->dir);
	rt_log_init("test-recfile-cache");
	ASSERT_EQ(rt_log_set_file(self->log), 0);
	ASSERT_EQ(rt_recfile_open(self->path, REC_LEN, NREC, &self->f), 0);
}

FIXTURE_TEARDOWN(rc)
{
	rt_recfile_close(self->f);
	rt_log_set_file(NULL);
	rt_test_rmtree(self->dir);
}

static void reopen(FIXTURE_DATA(rc) *self)
{
	rt_recfile_close(self->f);
	self->f = NULL;
	ASSERT_EQ(rt_recfile_open(self->path, REC_LEN, NREC, &self->f), 0);
}

static void put(struct rt_recfile *f, size_t idx, uint8_t v)
{
	uint8_t rec[REC_LEN];

	memset(rec, v, sizeof(rec));
	ASSERT_EQ(rt_recfile_write(f, idx, rec), 0);
}

static int get(struct rt_recfile *f, size_t idx)
{
	uint8_t rec[REC_LEN], want[REC_LEN];
	int r = rt_recfile_read(f, idx, rec);

	if (r)
		return r;
	memset(want, rec[0], sizeof(want));
	ASSERT_MEMEQ(rec, want, sizeof(rec));
	return rec[0];
}

/* The check value's first byte of a copy: flipping it makes the copy bad. */
static void damage(const char *path, size_t idx, int copy)
{
	uint8_t b;
	off_t off = copy_off(idx, copy) + 8 + REC_LEN;

	raw_io(path, off, &b, 1, 0);
	b ^= 0x01;
	raw_io(path, off, &b, 1, 1);
}

/* A fresh handle's first write (no read before it) goes to the copy that
 * is not the newest valid one on disk. */
TEST_F(rc, first_write_after_open_learns_from_disk)
{
	put(self->f, 1, 1);
	put(self->f, 1, 2);
	put(self->f, 1, 3);			/* A seq 3, B seq 2 */
	reopen(self);
	put(self->f, 1, 4);
	ASSERT_EQ(raw_seq(self->path, 1, 1), 4);
	ASSERT_EQ(raw_seq(self->path, 1, 0), 3);
	ASSERT_EQ(get(self->f, 1), 4);
	/* The newest copy torn while closed: the next write replaces it,
	 * with its seq again, and the good older copy stays. */
	rt_recfile_close(self->f);
	self->f = NULL;
	damage(self->path, 1, 1);
	reopen(self);
	put(self->f, 1, 5);
	ASSERT_EQ(raw_seq(self->path, 1, 1), 4);
	ASSERT_EQ(raw_seq(self->path, 1, 0), 3);
	ASSERT_EQ(get(self->f, 1), 5);
	/* Both copies bad: the first write goes to A with seq 1. */
	rt_recfile_close(self->f);
	self->f = NULL;
	damage(self->path, 1, 0);
	damage(self->path, 1, 1);
	reopen(self);
	ASSERT_EQ(get(self->f, 1), -EIO);
	put(self->f, 1, 6);
	ASSERT_EQ(raw_seq(self->path, 1, 0), 1);
	ASSERT_EQ(get(self->f, 1), 6);
}

/* Once a record is known, a write reads neither copy: a copy damaged
 * behind the handle's back (outside the contract: the file is locked) does
 * not change where the next write goes. Re-reading would have picked the
 * damaged copy B as the target, with seq 2. */
TEST_F(rc, known_record_writes_read_nothing)
{
	put(self->f, 4, 1);			/* A seq 1 */
	put(self->f, 4, 2);			/* B seq 2 */
	damage(self->path, 4, 1);
	put(self->f, 4, 3);
	ASSERT_EQ(raw_seq(self->path, 4, 0), 3);
	ASSERT_EQ(get(self->f, 4), 3);
	/* The same after a read taught it the state. */
	ASSERT_EQ(get(self->f, 2), -ENOENT);
	damage(self->path, 2, 0);
	put(self->f, 2, 7);			/* known "no copy": A, seq 1 */
	ASSERT_EQ(raw_seq(self->path, 2, 0), 1);
	ASSERT_EQ(get(self->f, 2), 7);
}

/* A refused batch leaves nothing behind: not its duplicate detection, not
 * a sequence number. */
TEST_F(rc, refused_write_many_leaves_no_state)
{
	uint8_t a[REC_LEN], b[REC_LEN];
	const void *recs[3] = { a, b, a };
	size_t dup[3] = { 2, 5, 2 }, out[2] = { 3, NREC }, two[1] = { 2 }, five[1] = { 5 };
	size_t three[1] = { 3 };

	memset(a, 0x11, sizeof(a));
	memset(b, 0x22, sizeof(b));
	ASSERT_EQ(rt_recfile_write_many(self->f, dup, recs, 3), -EINVAL);
	ASSERT_EQ(rt_recfile_write_many(self->f, out, recs, 2), -EINVAL);
	ASSERT_EQ(get(self->f, 2), -ENOENT);
	ASSERT_EQ(rt_recfile_write_many(self->f, two, recs, 1), 0);
	ASSERT_EQ(rt_recfile_write_many(self->f, five, recs + 1, 1), 0);
	ASSERT_EQ(rt_recfile_write_many(self->f, three, recs + 1, 1), 0);
	ASSERT_EQ(rt_recfile_write_many(self->f, dup, recs, 2), 0);
	ASSERT_EQ(get(self->f, 2), 0x11);
	ASSERT_EQ(get(self->f, 5), 0x22);
	ASSERT_EQ(get(self->f, 3), 0x22);
	ASSERT_EQ(raw_seq(self->path, 2, 1), 2);
	ASSERT_EQ(raw_seq(self->path, 5, 1), 2);
	ASSERT_EQ(raw_seq(self->path, 3, 0), 1);
}

/* Random single writes, batches, reads and reopens against a model: after
 * k writes a record's newest copy is (k - 1) % 2 with seq k, the other
 * one holds seq k - 1. */
TEST_F(rc, random_runs_keep_copies_alternating)
{
	struct tu_rng r = { 0x7265636e };
	uint64_t count[NREC] = { 0 };
	uint8_t last[NREC] = { 0 }, recs[NREC][REC_LEN];
	const void *ptrs[NREC];
	size_t idx[NREC];

	for (int step = 0; step < 600; step++) {
		unsigned op = (unsigned)(tu_next(&r) % 10);

		if (op == 0) {
			reopen(self);
		} else if (op < 3) {
			size_t i = tu_next(&r) % NREC;

			ASSERT_EQ(get(self->f, i), count[i] ? last[i] : -ENOENT);
		} else if (op < 7) {
			size_t i = tu_next(&r) % NREC;

			last[i] = (uint8_t)(step + 1);
			put(self->f, i, last[i]);
			count[i]++;
		} else {
			size_t n = 0, start = tu_next(&r) % NREC, k = 1 + tu_next(&r) % NREC;

			for (size_t j = 0; j < k; j++) {
				size_t i = (start + j) % NREC;

				last[i] = (uint8_t)(step + 1 + j);
				memset(recs[n], last[i], REC_LEN);
				ptrs[n] = recs[n];
				idx[n++] = i;
				count[i]++;
			}
			ASSERT_EQ(rt_recfile_write_many(self->f, idx, ptrs, n), 0);
		}
		for (size_t i = 0; i < NREC; i++) {
			if (!count[i])
				continue;
			ASSERT_EQ(raw_seq(self->path, i, (int)((count[i] - 1) % 2)), count[i]);
			ASSERT_EQ(raw_seq(self->path, i, (int)(count[i] % 2)), count[i] - 1);
		}
	}
	reopen(self);
	for (size_t i = 0; i < NREC; i++)
		ASSERT_EQ(get(self->f, i), count[i] ? last[i] : -ENOENT);
}

/* A valid copy whose seq is past what the handle counts (2^63 - 1: only a
 * crafted file has it) still reads, but takes no write: -EOVERFLOW, logged,
 * and the file is unchanged. */
TEST_F(rc, exhausted_sequence_is_refused)
{
	uint8_t copy[8 + REC_LEN + 16], in[8 + 8 + REC_LEN], rec[REC_LEN], back[8 + REC_LEN + 16];
	uint64_t seq = UINT64_MAX >> 1;
	char buf[4096];

	memset(rec, 0x5a, sizeof(rec));
	for (int i = 0; i < 8; i++) {
		in[i] = (uint8_t)(i == 7 ? 3 : 0);		/* record 3, big-endian */
		in[8 + i] = (uint8_t)(seq >> (56 - 8 * i));
	}
	memcpy(in + 16, rec, REC_LEN);
	memcpy(copy, in + 8, 8 + REC_LEN);
	iomt_shake128(in, sizeof(in), copy + 8 + REC_LEN, 16);
	rt_recfile_close(self->f);
	self->f = NULL;
	raw_io(self->path, copy_off(3, 1), copy, sizeof(copy), 1);
	reopen(self);
	ASSERT_EQ(get(self->f, 3), 0x5a);
	memset(rec, 0x11, sizeof(rec));
	ASSERT_EQ(rt_recfile_write(self->f, 3, rec), -EOVERFLOW);
	raw_io(self->path, copy_off(3, 1), back, sizeof(back), 0);
	ASSERT_MEMEQ(back, copy, sizeof(copy));
	ASSERT_EQ(raw_seq(self->path, 3, 0), 0);
	ASSERT_EQ(get(self->f, 3), 0x5a);
	ASSERT_GE(rt_test_read(self->log, buf, sizeof(buf)), 0);
	ASSERT_NONNULL(strstr(buf, "record 3: sequence number exhausted"));
	/* Other records are unaffected. */
	put(self->f, 2, 9);
	ASSERT_EQ(get(self->f, 2), 9);
}
