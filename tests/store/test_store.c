/* SPDX-License-Identifier: MIT */
/*
 * iomt-store end to end: the real daemon on 127.0.0.1 (ports chosen by the
 * OS, read from its port_file), this suite as the gateways (REC_PUT frames
 * over TCP built with lib/recbatch), and the database read back with
 * rt_store beside the running daemon.
 *
 * Batches stored and acknowledged only once committed (an ACK is never
 * ahead of the database), duplicates counted (a retried batch, and a record
 * twice in one batch), malformed / truncated / oversized / wrong-type /
 * corrupt frames (MALFORMED or the connection closed, nothing stored), a
 * key id seen with another meta, records outside their tree, many
 * connections at once, half-close, kill -9 under load (every acknowledged
 * batch is there after a restart, and every batch is all or nothing),
 * SIGTERM (exit 0, the ACKs received all committed), metrics, the query
 * command. decrypt is in test_decrypt.c.
 */
#include "store_env.h"
#include "testutil.h"
#include <pwd.h>

FIXTURE(store) {
	struct senv s;
};

FIXTURE_SETUP(store)
{
	if (senv_init(&self->s, "store"))
		SKIP(return, "iomt-store is not built");
}

FIXTURE_TEARDOWN(store)
{
	senv_fini(&self->s);
}

/* ---- tests ---- */

/* An ACK comes only after the commit: a second reader sees every record of
 * an acknowledged batch, on a second connection too. */
TEST_F(store, stores_and_acks_after_commit)
{
	static struct tbatch b;
	struct ack a;
	int fd;

	start(&self->s, NULL);
	fd = conn(&self->s);
	for (unsigned i = 0; i < 20; i++) {
		batch_of(&b, &self->s.meta, i, PER_BATCH);
		a = put(&self->s, fd, &b);
		ASSERT_EQ(a.status, IOMT_REC_OK);
		ASSERT_EQ(a.stored, PER_BATCH);
		ASSERT_EQ(a.dup, 0);
		ASSERT_EQ(batch_rows(&self->s, i), PER_BATCH);
	}
	close(fd);
	ASSERT_EQ(db_count(&self->s, NULL), 20 * PER_BATCH);
	ASSERT_EQ(metric(&self->s, "iomt_store_records_total{result=\"stored\"}"), 20 * PER_BATCH);
	ASSERT_EQ(metric(&self->s, "iomt_store_batches_total{status=\"ok\"}"), 20);
	ASSERT_EQ(stop(&self->s), 0);
	/* The sealed bytes are stored as sent, and the meta once. */
	ASSERT_EQ(db_count(&self->s, "length(record) = 33 + 20 + 16"), 20 * PER_BATCH);
}

/* A retried batch is harmless: every record is a duplicate. A record twice
 * in one batch counts once stored, once duplicate. */
TEST_F(store, duplicates_counted)
{
	static struct tbatch b;
	uint8_t rec[128], id[8] = { 9 };
	size_t used, len;
	struct ack a;
	int fd;

	start(&self->s, NULL);
	fd = conn(&self->s);
	batch_of(&b, &self->s.meta, 3, PER_BATCH);
	a = put(&self->s, fd, &b);
	ASSERT_EQ(a.status, IOMT_REC_OK);
	ASSERT_EQ(a.stored, PER_BATCH);
	a = put(&self->s, fd, &b);
	ASSERT_EQ(a.status, IOMT_REC_OK);
	ASSERT_EQ(a.stored, 0);
	ASSERT_EQ(a.dup, PER_BATCH);

	ASSERT_EQ(iomt_recbatch_begin(b.frame + 4, FRAME_MAX - 4, id, &self->s.meta, &used), 0);
	len = seal(&self->s.meta, 300, 5000, rec, sizeof(rec));
	ASSERT_EQ(iomt_recbatch_add(b.frame + 4, FRAME_MAX - 4, &used, rec, len), 0);
	ASSERT_EQ(iomt_recbatch_add(b.frame + 4, FRAME_MAX - 4, &used, rec, len), 0);
	iomt_wire_put_hdr(b.frame, IOMT_MSG_REC_PUT, used);
	b.len = 4 + used;
	a = put(&self->s, fd, &b);
	ASSERT_EQ(a.status, IOMT_REC_OK);
	ASSERT_EQ(a.stored, 1);
	ASSERT_EQ(a.dup, 1);
	close(fd);
	ASSERT_EQ(db_count(&self->s, NULL), PER_BATCH + 1);
	ASSERT_EQ(metric(&self->s, "iomt_store_records_total{result=\"duplicate\"}"), PER_BATCH + 1);
}

/* Batches that do not parse or check: MALFORMED, nothing stored, and the
 * connection goes on. */
TEST_F(store, malformed_batches_store_nothing)
{
	static struct tbatch b, bad;
	struct iomt_keytree_meta other = self->s.meta;
	uint8_t rec[128], id[8] = { 7 };
	size_t used, len;
	struct ack a;
	int fd;

	start(&self->s, NULL);
	fd = conn(&self->s);
	batch_of(&b, &self->s.meta, 1, PER_BATCH);

	/* Truncated by one byte, with a header that says so. */
	memcpy(&bad, &b, sizeof(b));
	iomt_wire_put_hdr(bad.frame, IOMT_MSG_REC_PUT, b.len - 5);
	bad.len = b.len - 1;
	a = put(&self->s, fd, &bad);
	ASSERT_EQ(a.status, IOMT_REC_MALFORMED);
	/* One byte too many. */
	memcpy(&bad, &b, sizeof(b));
	bad.frame[b.len] = 0;
	iomt_wire_put_hdr(bad.frame, IOMT_MSG_REC_PUT, b.len - 3);
	bad.len = b.len + 1;
	a = put(&self->s, fd, &bad);
	ASSERT_EQ(a.status, IOMT_REC_MALFORMED);
	/* A count that lies. */
	memcpy(&bad, &b, sizeof(b));
	bad.frame[4 + 87]++;
	a = put(&self->s, fd, &bad);
	ASSERT_EQ(a.status, IOMT_REC_MALFORMED);
	/* The last record of another tree: the whole batch goes. */
	memcpy(&bad, &b, sizeof(b));
	bad.frame[b.len - 16 - 20 - 33 + 1] ^= 1;
	a = put(&self->s, fd, &bad);
	ASSERT_EQ(a.status, IOMT_REC_MALFORMED);
	/* A record filed under the wrong epoch (leaf 300 is in epoch 1). */
	ASSERT_EQ(iomt_recbatch_begin(bad.frame + 4, FRAME_MAX - 4, id, &self->s.meta, &used), 0);
	{
		struct iomt_record_hdr h = { .epoch = 2, .leaf = 300, .seq = 1 };
		uint8_t k[16] = { 0 }, data[4] = { 0 };

		memcpy(h.key_id, self->s.meta.key_id, 16);
		ASSERT_EQ(iomt_record_seal(k, &h, data, 4, rec, sizeof(rec), &len), 0);
	}
	ASSERT_EQ(iomt_recbatch_add(bad.frame + 4, FRAME_MAX - 4, &used, rec, len), 0);
	iomt_wire_put_hdr(bad.frame, IOMT_MSG_REC_PUT, used);
	bad.len = 4 + used;
	a = put(&self->s, fd, &bad);
	ASSERT_EQ(a.status, IOMT_REC_MALFORMED);
	/* Oversized: the largest payload a frame carries, all garbage. */
	memset(bad.frame, 0xee, sizeof(bad.frame));
	iomt_wire_put_hdr(bad.frame, IOMT_MSG_REC_PUT, IOMT_WIRE_MAX_PAYLOAD);
	bad.len = FRAME_MAX;
	a = put(&self->s, fd, &bad);
	ASSERT_EQ(a.status, IOMT_REC_MALFORMED);
	/* A payload shorter than a batch id. */
	iomt_wire_put_hdr(bad.frame, IOMT_MSG_REC_PUT, 3);
	bad.len = 7;
	send_all(fd, bad.frame, bad.len);
	ASSERT_EQ(recv_ack(fd, &a, IO_MS), 0);
	ASSERT_EQ(a.status, IOMT_REC_MALFORMED);
	/* A well-framed message that is not for the store. */
	iomt_wire_put_hdr(bad.frame, IOMT_MSG_KDC_ERR, IOMT_WIRE_KDC_ERR_LEN);
	bad.len = 4 + IOMT_WIRE_KDC_ERR_LEN;
	send_all(fd, bad.frame, bad.len);
	ASSERT_EQ(recv_ack(fd, &a, IO_MS), 0);
	ASSERT_EQ(a.status, IOMT_REC_MALFORMED);
	ASSERT_EQ(db_count(&self->s, NULL), 0);

	/* The same key id with another meta_Kdata: refused, first one kept. */
	a = put(&self->s, fd, &b);
	ASSERT_EQ(a.status, IOMT_REC_OK);
	other.conf.leaf_period_s = 600;
	other.conf.refresh_period_s = 172800;
	batch_of(&bad, &other, 50, PER_BATCH);
	a = put(&self->s, fd, &bad);
	ASSERT_EQ(a.status, IOMT_REC_MALFORMED);
	ASSERT_EQ(db_count(&self->s, NULL), PER_BATCH);
	ASSERT_EQ(metric(&self->s, "iomt_store_meta_conflicts_total"), 1);
	ASSERT_EQ(metric(&self->s, "iomt_store_batches_total{status=\"malformed\"}"), 9);
	close(fd);
}

/* Streams that cannot be parsed: the connection is closed, nothing stored,
 * other connections unaffected. */
TEST_F(store, corrupt_streams_close)
{
	static struct tbatch b;
	uint8_t f[64] = { 0 };
	struct ack a;
	int fd, good;

	start(&self->s, NULL);
	good = conn(&self->s);
	batch_of(&b, &self->s.meta, 1, PER_BATCH);
	/* Another wire version. */
	fd = conn(&self->s);
	memcpy(f, b.frame, 16);
	f[0] = 2;
	send_all(fd, f, 16);
	expect_closed(fd);
	close(fd);
	/* A fixed-size type (REC_ACK) of the wrong size. */
	fd = conn(&self->s);
	iomt_wire_put_hdr(f, IOMT_MSG_REC_ACK, IOMT_REC_ACK_LEN + 1);
	send_all(fd, f, 4 + IOMT_REC_ACK_LEN + 1);
	expect_closed(fd);
	close(fd);
	/* An unknown type. */
	fd = conn(&self->s);
	iomt_wire_put_hdr(f, 0x7f, 8);
	send_all(fd, f, 12);
	expect_closed(fd);
	close(fd);
	/* Half a frame, then the peer goes: nothing stored. */
	fd = conn(&self->s);
	send_all(fd, b.frame, b.len / 2);
	close(fd);
	a = put(&self->s, good, &b);
	ASSERT_EQ(a.status, IOMT_REC_OK);
	ASSERT_EQ(db_count(&self->s, NULL), PER_BATCH);
	ASSERT_EQ(metric(&self->s, "iomt_store_conn_closed_total{reason=\"corrupt\"}"), 3);
	close(good);
	ASSERT_EQ(stop(&self->s), 0);
}

/* Many gateways at once, each with batches in flight: every batch is
 * answered on its own connection, stored once. */
TEST_F(store, many_connections_group_commit)
{
	enum { CONNS = 16, EACH = 25, DEPTH = 5 };
	static struct tbatch b;
	int fd[CONNS], sent[CONNS] = { 0 }, got[CONNS] = { 0 };
	struct ack a;

	start(&self->s, NULL);
	for (int c = 0; c < CONNS; c++)
		fd[c] = conn(&self->s);
	for (int round = 0; round < EACH + DEPTH; round++) {
		for (int c = 0; c < CONNS; c++)
			if (sent[c] < EACH && sent[c] - got[c] < DEPTH) {
				batch_of(&b, &self->s.meta, (unsigned)(c * EACH + sent[c]), PER_BATCH);
				send_all(fd[c], b.frame, b.len);
				sent[c]++;
			}
		for (int c = 0; c < CONNS; c++)
			if (sent[c] - got[c] >= DEPTH || (sent[c] == EACH && got[c] < EACH)) {
				ASSERT_EQ(recv_ack(fd[c], &a, IO_MS), 0);
				ASSERT_EQ(a.status, IOMT_REC_OK);
				ASSERT_EQ(a.stored, PER_BATCH);
				/* In order, on its own connection. */
				ASSERT_EQ(iomt_load_be32(a.id + 4), (uint32_t)(c * EACH + got[c]));
				got[c]++;
			}
	}
	for (int c = 0; c < CONNS; c++) {
		ASSERT_EQ(got[c], EACH);
		close(fd[c]);
	}
	ASSERT_EQ(db_count(&self->s, NULL), CONNS * EACH * PER_BATCH);
	ASSERT_EQ(metric(&self->s, "iomt_store_commit_batches_total"), CONNS * EACH);
	/* Group commit: fewer transactions than batches. */
	TH_LOG("%lld commits for %d batches", metric(&self->s, "iomt_store_commits_total{result=\"ok\"}"),
	       CONNS * EACH);
	ASSERT_LT(metric(&self->s, "iomt_store_commits_total{result=\"ok\"}"), CONNS * EACH);
	ASSERT_EQ(stop(&self->s), 0);
}

/* A gateway that sends its batches and half-closes still gets every ACK. */
TEST_F(store, half_close_answers_all)
{
	static struct tbatch b[3];
	struct ack a;
	int fd;

	start(&self->s, NULL);
	fd = conn(&self->s);
	for (unsigned i = 0; i < 3; i++) {
		batch_of(&b[i], &self->s.meta, i, PER_BATCH);
		send_all(fd, b[i].frame, b[i].len);
	}
	ASSERT_EQ(shutdown(fd, SHUT_WR), 0);
	for (unsigned i = 0; i < 3; i++) {
		ASSERT_EQ(recv_ack(fd, &a, IO_MS), 0);
		ASSERT_EQ(a.status, IOMT_REC_OK);
	}
	expect_closed(fd);
	close(fd);
	ASSERT_EQ(db_count(&self->s, NULL), 3 * PER_BATCH);
}

/* The load generator: a child sending batches first..first+n on one
 * connection DEPTH deep, writing each acknowledged batch number to out. */
static void loader(struct senv *self, unsigned first, unsigned n, int out)
{
	static struct tbatch b;
	unsigned sent = 0, got = 0;
	struct ack a;
	int fd = conn(self);

	while (got < n) {
		while (sent < n && sent - got < 4) {
			batch_of(&b, &self->meta, first + sent, PER_BATCH);
			if (rt_knet_send(fd, b.frame, b.len))
				_exit(0);
			sent++;
		}
		if (recv_ack(fd, &a, IO_MS))
			_exit(0);
		if (a.status == IOMT_REC_OK) {
			uint32_t i = iomt_load_be32(a.id + 4);

			if (write(out, &i, sizeof(i)) != sizeof(i))
				_exit(1);
		}
		got++;
	}
	_exit(0);
}

/* kill -9 under load, then a restart: every acknowledged batch is there,
 * and every batch is there whole or not at all. */
TEST_F_TIMEOUT(store, kill9_keeps_every_acked_batch, 60)
{
	enum { LOADERS = 4, EACH = 150 };
	static uint8_t acked[LOADERS * EACH];
	pid_t kids[LOADERS];
	int p[2], n_acked = 0;
	uint32_t i;

	start(&self->s, NULL);
	ASSERT_EQ(pipe(p), 0);
	for (int k = 0; k < LOADERS; k++) {
		kids[k] = fork();
		ASSERT_GE(kids[k], 0);
		if (kids[k] == 0) {
			close(p[0]);
			loader(&self->s, (unsigned)k * EACH, EACH, p[1]);
		}
	}
	close(p[1]);
	while (read(p[0], &i, sizeof(i)) == sizeof(i)) {
		ASSERT_LT(i, LOADERS * EACH);
		acked[i] = 1;
		if (++n_acked == 60)
			ASSERT_EQ(kill(self->s.pid, SIGKILL), 0);
	}
	close(p[0]);
	for (int k = 0; k < LOADERS; k++)
		waitpid(kids[k], NULL, 0);
	ASSERT_EQ(de_wait_for(self->s.pid, 5000), 128 + SIGKILL);
	self->s.pid = 0;
	TH_LOG("%d batches acknowledged before the kill", n_acked);
	ASSERT_GE(n_acked, 60);
	ASSERT_LT(n_acked, LOADERS * EACH);

	start(&self->s, NULL);
	for (unsigned b = 0; b < LOADERS * EACH; b++) {
		long long rows = batch_rows(&self->s, b);

		if (acked[b])
			ASSERT_EQ(rows, PER_BATCH);
		else
			ASSERT_TRUE(rows == 0 || rows == PER_BATCH);
	}
	/* And it takes batches again. */
	{
		static struct tbatch b;
		int fd = conn(&self->s);
		struct ack a;

		batch_of(&b, &self->s.meta, 0, PER_BATCH);
		a = put(&self->s, fd, &b);
		ASSERT_EQ(a.status, IOMT_REC_OK);
		ASSERT_EQ(a.dup, PER_BATCH);
		close(fd);
	}
	ASSERT_EQ(stop(&self->s), 0);
}

/* SIGTERM with batches in flight: exit 0 within stop_timeout, and every
 * ACK received names a committed batch. */
TEST_F(store, sigterm_graceful)
{
	static struct tbatch b;
	struct ack a;
	int fd, acks = 0, st;

	start(&self->s, NULL);
	fd = conn(&self->s);
	batch_of(&b, &self->s.meta, 0, PER_BATCH);
	a = put(&self->s, fd, &b);
	ASSERT_EQ(a.status, IOMT_REC_OK);
	for (unsigned i = 1; i < 40; i++) {
		batch_of(&b, &self->s.meta, i, PER_BATCH);
		send_all(fd, b.frame, b.len);
	}
	ASSERT_EQ(kill(self->s.pid, SIGTERM), 0);
	while (recv_ack(fd, &a, IO_MS) == 0) {
		ASSERT_EQ(a.status, IOMT_REC_OK);
		ASSERT_EQ(batch_rows(&self->s, iomt_load_be32(a.id + 4)), PER_BATCH);
		acks++;
	}
	close(fd);
	st = de_wait_for(self->s.pid, 10000);
	self->s.pid = 0;
	ASSERT_EQ(st, 0);
	TH_LOG("%d of 39 batches in flight answered before the stop", acks);
	ASSERT_TRUE(senv_file_has(self->s.log, "stopped:"));
}

/* query: metadata of the records a key id / sensor and a time range select. */
TEST_F(store, query_lists_records)
{
	static struct tbatch b;
	struct iomt_keytree_meta other = self->s.meta;
	char buf[1 << 14], line[256];
	int fd;

	start(&self->s, NULL);
	fd = conn(&self->s);
	for (unsigned i = 0; i < 4; i++) {   /* leaves 288..291, 10 records each */
		batch_of(&b, &self->s.meta, i, PER_BATCH);
		ASSERT_EQ(put(&self->s, fd, &b).status, IOMT_REC_OK);
	}
	memset(other.key_id, 0xb2, 16);
	memset(other.sensor_id, 0x6f, 16);
	batch_of(&b, &other, 7, PER_BATCH);
	ASSERT_EQ(put(&self->s, fd, &b).status, IOMT_REC_OK);
	close(fd);
	ASSERT_EQ(stop(&self->s), 0);

	ASSERT_EQ(run(&self->s, "query", "--db", self->s.db, NULL), 0);
	ASSERT_GT(rt_test_read(self->s.out, buf, sizeof(buf)), 0);
	ASSERT_NONNULL(strstr(buf, "# 50 records"));
	/* key id, epoch, leaf, seq, the leaf's time range, size */
	snprintf(line, sizeof(line), "%s 1 289 19 2026-01-02T00:05:00Z 2026-01-02T00:10:00Z %d\n",
		 "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", 33 + 20 + 16);
	ASSERT_NONNULL(strstr(buf, line));

	ASSERT_EQ(run(&self->s, "query", "--db", self->s.db, "--sensor",
		      "6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f", NULL), 0);
	ASSERT_GT(rt_test_read(self->s.out, buf, sizeof(buf)), 0);
	ASSERT_NONNULL(strstr(buf, "# 10 records"));
	ASSERT_NULL(strstr(buf, "a1a1a1a1"));
	/* 00:05 to 00:10 meets leaves 289 and 290 (the end is inclusive). */
	ASSERT_EQ(run(&self->s, "query", "--db", self->s.db, "--key-id",
		      "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "--from", "2026-01-02T00:05:00Z",
		      "--to", "1767312600", NULL), 0);
	ASSERT_GT(rt_test_read(self->s.out, buf, sizeof(buf)), 0);
	ASSERT_NONNULL(strstr(buf, "# 20 records"));
	ASSERT_NULL(strstr(buf, " 288 "));
	ASSERT_NULL(strstr(buf, " 291 "));
	/* Errors say what is wrong. */
	ASSERT_EQ(run(&self->s, "query", "--db", self->s.db, "--key-id", "a1", NULL), 2);
	ASSERT_EQ(run(&self->s, "query", "--db", "/nonexistent/store.db", NULL), 1);
	ASSERT_TRUE(senv_file_has(self->s.out, "No such file"));
}

/* ACKs wait for room: a gateway that never reads does not grow memory or
 * block the others. */
TEST_F(store, slow_reader_does_not_block_others)
{
	static struct tbatch b;
	struct ack a;
	int lazy, fd, sndbuf = 4096;

	start(&self->s, NULL);
	lazy = conn(&self->s);
	setsockopt(lazy, SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof(sndbuf));
	batch_of(&b, &self->s.meta, 0, 1);
	/* Until the kernel buffers are full: the store stopped reading it. */
	for (int i = 0; i < 20000; i++)
		if (send(lazy, b.frame, b.len, MSG_DONTWAIT | MSG_NOSIGNAL) <= 0)
			break;
	fd = conn(&self->s);
	batch_of(&b, &self->s.meta, 1, PER_BATCH);
	a = put(&self->s, fd, &b);
	ASSERT_EQ(a.status, IOMT_REC_OK);
	close(fd);
	close(lazy);
	ASSERT_EQ(stop(&self->s), 0);
}


/* The database refuses a write (here a trigger): the whole group is
 * answered INTERNAL and nothing of it is stored; once the database takes
 * writes again, the retried batch is stored. */
TEST_F(store, commit_failure_internal)
{
	static struct tbatch two[2];
	static uint8_t both[2 * FRAME_MAX];
	struct rt_store *st;
	struct ack a;
	int fd, internal = 0;

	start(&self->s, NULL);
	ASSERT_EQ(rt_store_open(self->s.db, &st), 0);
	ASSERT_EQ(rt_store_exec(st, "CREATE TRIGGER poison BEFORE INSERT ON records"
				    " WHEN NEW.seq = 15 BEGIN SELECT RAISE(ABORT, 'poison'); END"), 0);
	fd = conn(&self->s);
	batch_of(&two[0], &self->s.meta, 0, PER_BATCH);   /* seq 0..9 */
	batch_of(&two[1], &self->s.meta, 1, PER_BATCH);   /* seq 10..19: poisoned */
	memcpy(both, two[0].frame, two[0].len);
	memcpy(both + two[0].len, two[1].frame, two[1].len);
	send_all(fd, both, two[0].len + two[1].len);
	for (unsigned i = 0; i < 2; i++) {
		ASSERT_EQ(recv_ack(fd, &a, IO_MS), 0);
		ASSERT_EQ(iomt_load_be32(a.id + 4), i);
		if (a.status == IOMT_REC_INTERNAL) {
			ASSERT_EQ(a.stored, 0);
			ASSERT_EQ(batch_rows(&self->s, i), 0);
			internal++;
		} else {
			ASSERT_EQ(a.status, IOMT_REC_OK);
			ASSERT_EQ(batch_rows(&self->s, i), PER_BATCH);
		}
	}
	ASSERT_EQ(internal >= 1, 1);
	ASSERT_EQ(batch_rows(&self->s, 1), 0);
	ASSERT_GE(metric(&self->s, "iomt_store_commits_total{result=\"failed\"}"), 1);
	ASSERT_EQ(rt_store_exec(st, "DROP TRIGGER poison"), 0);
	rt_store_close(st);
	a = put(&self->s, fd, &two[1]);
	ASSERT_EQ(a.status, IOMT_REC_OK);
	ASSERT_EQ(a.stored, PER_BATCH);
	close(fd);
	ASSERT_EQ(stop(&self->s), 0);
}

/* Another writer holds the database past the busy timeout: BUSY, nothing
 * stored; the retry after it lets go is stored. */
TEST_F(store, locked_database_busy)
{
	static struct tbatch b;
	struct rt_store *st;
	struct ack a;
	int fd;

	start(&self->s, NULL);
	ASSERT_EQ(rt_store_open(self->s.db, &st), 0);
	ASSERT_EQ(rt_store_begin(st), 0);
	fd = conn(&self->s);
	batch_of(&b, &self->s.meta, 0, PER_BATCH);
	send_all(fd, b.frame, b.len);
	ASSERT_EQ(recv_ack(fd, &a, 2 * RT_STORE_BUSY_MS + IO_MS), 0);
	ASSERT_EQ(a.status, IOMT_REC_BUSY);
	ASSERT_EQ(rt_store_rollback(st), 0);
	rt_store_close(st);
	ASSERT_EQ(batch_rows(&self->s, 0), 0);
	a = put(&self->s, fd, &b);
	ASSERT_EQ(a.status, IOMT_REC_OK);
	ASSERT_EQ(a.stored, PER_BATCH);
	close(fd);
	ASSERT_EQ(metric(&self->s, "iomt_store_batches_total{status=\"busy\"}"), 1);
}

/* A config file, --check, and idle connections closed after idle_timeout. */
TEST_F(store, config_file_and_idle_timeout)
{
	char conf[200], text[600], buf[4096];
	int fd, n;

	snprintf(conf, sizeof(conf), "%s/store.conf", self->s.dir);
	n = snprintf(text, sizeof(text), "# test\nidle_timeout 300ms\ngroup_max 8\n");
	ASSERT_EQ(rt_test_write(conf, text, (size_t)n), 0);
	ASSERT_EQ(run(&self->s, "serve", "-c", conf, "--check", NULL), 0);
	ASSERT_GT(rt_test_read(self->s.out, buf, sizeof(buf)), 0);
	ASSERT_NONNULL(strstr(buf, "group_max 8"));
	ASSERT_EQ(rt_test_write(conf, "group_max 0\n", 12), 0);
	ASSERT_EQ(run(&self->s, "serve", "-c", conf, "--check", NULL), 2);
	ASSERT_TRUE(senv_file_has(self->s.out, "store.conf:1: group_max"));
	ASSERT_EQ(rt_test_write(conf, text, (size_t)n), 0);
	{
		char copt[220];

		snprintf(copt, sizeof(copt), "--config=%s", conf);
		start(&self->s, copt);
	}
	fd = conn(&self->s);
	expect_closed(fd);
	close(fd);
	ASSERT_EQ(metric(&self->s, "iomt_store_conn_closed_total{reason=\"idle\"}"), 1);
	ASSERT_EQ(stop(&self->s), 0);
}

/* Garbage from many connections at once: every stream is answered or
 * closed, nothing is stored, and the daemon serves the next gateway. */
TEST_F(store, garbage_streams)
{
	enum { CONNS = 40 };
	static uint8_t junk[8192];
	static struct tbatch b;
	struct tu_rng rng = { 7 };
	struct ack a;
	int fd[CONNS];

	start(&self->s, NULL);
	for (int c = 0; c < CONNS; c++) {
		size_t n = 1 + tu_next(&rng) % sizeof(junk);

		tu_fill(&rng, junk, n);
		if (c % 2) {   /* a plausible header, then noise */
			junk[0] = IOMT_WIRE_VERSION;
			junk[1] = IOMT_MSG_REC_PUT;
		}
		fd[c] = conn(&self->s);
		send(fd[c], junk, n, MSG_NOSIGNAL);
		shutdown(fd[c], SHUT_WR);
	}
	for (int c = 0; c < CONNS; c++) {
		int r;

		/* ACKs (MALFORMED: nothing parses) until the daemon closes it. */
		while ((r = recv_ack(fd[c], &a, IO_MS)) == 0)
			ASSERT_EQ(a.status, IOMT_REC_MALFORMED);
		ASSERT_EQ(r, -ECONNRESET);
		close(fd[c]);
	}
	ASSERT_EQ(db_count(&self->s, NULL), 0);
	fd[0] = conn(&self->s);
	batch_of(&b, &self->s.meta, 0, PER_BATCH);
	a = put(&self->s, fd[0], &b);
	ASSERT_EQ(a.status, IOMT_REC_OK);
	close(fd[0]);
	ASSERT_EQ(stop(&self->s), 0);
}

/* Started as root with 'user': set-up as root, then the daemon runs as that
 * user and still commits (the database was opened before the drop). */
TEST_F(store, privilege_drop)
{
	static struct tbatch b;
	char path[64], status[4096], *uid;
	struct ack a;
	int fd;

	if (geteuid() != 0 || !getpwnam("nobody"))
		SKIP(return, "needs root and a user 'nobody'");
	start(&self->s, "--user=nobody");
	snprintf(path, sizeof(path), "/proc/%d/status", self->s.pid);
	/* The port file is written just before the drop. */
	for (int i = 0; i < 200; i++, usleep(10000)) {
		ASSERT_GT(rt_test_read(path, status, sizeof(status)), 0);
		ASSERT_NONNULL(uid = strstr(status, "\nUid:"));
		if (strtoul(uid + 5, NULL, 10) == getpwnam("nobody")->pw_uid)
			break;
	}
	ASSERT_EQ(strtoul(uid + 5, NULL, 10), getpwnam("nobody")->pw_uid);
	fd = conn(&self->s);
	batch_of(&b, &self->s.meta, 0, PER_BATCH);
	a = put(&self->s, fd, &b);
	ASSERT_EQ(a.status, IOMT_REC_OK);
	ASSERT_EQ(a.stored, PER_BATCH);
	close(fd);
	ASSERT_EQ(stop(&self->s), 0);
	ASSERT_EQ(db_count(&self->s, NULL), PER_BATCH);
}
