/* SPDX-License-Identifier: MIT */
/*
 * Phase 4's batched ingest (userspace/gwd/mecdata.c, mecstate.c,
 * mecstore.c): one store transaction per batch with the analysis states
 * cached in memory gives exactly what one transaction per frame with every
 * state read from and written to the store gives; a failed commit refuses
 * the whole batch with the replay windows unchanged (the frames are taken
 * when they come again); a restart reloads the states; a small cache evicts
 * and reloads without changing a result; the bounds (mec_samples_max,
 * mec_results_max), applied once per ID_a and batch from the store's row
 * counts, keep exactly the rows one transaction per frame keeps.
 * Devices and frames: tests/s2/mecdata_rig.h (shared with
 * tests/bench/bench_mecdata.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#include "../../userspace/gwd/hook.c"
#include "../../userspace/gwd/mecstate.c"
#include "../../userspace/gwd/mecstore.c"
#include "../../userspace/gwd/metrics.c"
#include "../../userspace/gwd/secmem.c"
#include "../../userspace/gwd/sessidx.c"
#include "../../userspace/gwd/sessions.c"
/* last: its metrics are a static named st */
#include "../../userspace/gwd/mecdata.c"
#include "mecdata_rig.h"

/* EMERGENCY lines by the hundred: only errors, unless IOMT_TEST_VERBOSE */
__attribute__((constructor)) static void quiet(void)
{
	if (!getenv("IOMT_TEST_VERBOSE"))
		rt_log_set_level(RT_LOG_ERR);
}

/* ---- what the store holds, as one byte string ---- */

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static void buf_put(struct buf *b, const void *v, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = 2 * (b->n + n + 1) + 4096;
		uint8_t *p = realloc(b->p, cap);

		ASSERT_NONNULL(p);
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->n, v, n);
	b->n += n;
}

/* Every row of sql (blobs and integers, by column type guessed from cols). */
static size_t dump_query(struct rt_store *db, const char *sql, const char *cols, struct buf *b)
{
	struct rt_stmt *q = NULL;
	size_t rows = 0;

	ASSERT_EQ(rt_stmt_prepare(db, sql, &q), 0);
	while (rt_stmt_step(q) == RT_STMT_ROW) {
		for (int c = 0; cols[c]; c++) {
			if (cols[c] == 'b') {
				size_t len = 0;
				const void *v = rt_stmt_blob(q, c, &len);

				buf_put(b, &len, sizeof(len));
				buf_put(b, v, len);
			} else {
				int64_t v = rt_stmt_int(q, c);

				buf_put(b, &v, sizeof(v));
			}
		}
		rows++;
	}
	rt_stmt_free(q);
	return rows;
}

struct dump {
	struct buf results, states, samples, emerg;
	size_t nresults, nstates, nsamples;
};

/* Results in order, states, samples in order, and the hook's calls. */
static void dump(struct rig *g, struct dump *d)
{
	struct rt_store *db = g->m.store.db;

	memset(d, 0, sizeof(*d));
	d->nresults = dump_query(db, "SELECT id_a, analysis, verdict, win_start_ms, win_end_ms, "
				 "result FROM results ORDER BY seq", "biiiib", &d->results);
	d->nstates = dump_query(db, "SELECT id_a, analysis, state FROM an_state "
				"ORDER BY id_a, analysis", "bib", &d->states);
	d->nsamples = dump_query(db, "SELECT id_a, kind, t_ms, value FROM samples ORDER BY seq",
				 "biii", &d->samples);
	buf_put(&d->emerg, g->emerg, g->nemerg * (16 + AN_RESULT_LEN));
}

static void dump_free(struct dump *d)
{
	free(d->results.p);
	free(d->states.p);
	free(d->samples.p);
	free(d->emerg.p);
}

static void same(const struct dump *a, const struct dump *b)
{
	ASSERT_EQ(a->nresults, b->nresults);
	ASSERT_EQ(a->nstates, b->nstates);
	ASSERT_EQ(a->nsamples, b->nsamples);
	ASSERT_EQ(a->results.n, b->results.n);
	ASSERT_MEMEQ(a->results.p, b->results.p, a->results.n);
	ASSERT_EQ(a->states.n, b->states.n);
	ASSERT_MEMEQ(a->states.p, b->states.p, a->states.n);
	ASSERT_EQ(a->samples.n, b->samples.n);
	ASSERT_MEMEQ(a->samples.p, b->samples.p, a->samples.n);
	ASSERT_EQ(a->emerg.n, b->emerg.n);
	ASSERT_MEMEQ(a->emerg.p, b->emerg.p, a->emerg.n);
}

static int64_t count(struct rig *g, const char *sql)
{
	struct rt_stmt *q = NULL;
	int64_t n = -1;

	ASSERT_EQ(rt_stmt_prepare(g->m.store.db, sql, &q), 0);
	if (rt_stmt_step(q) == RT_STMT_ROW)
		n = rt_stmt_int(q, 0);
	rt_stmt_free(q);
	return n;
}

enum { DEVS = 6, FRAMES = 60, SAMPLES = 20 };

/* A rig with its frames, a fresh store and fresh sessions. */
static void rig_new(struct rig *g, int per_frame, int cache, int samples_max, int results_max)
{
	/* tmpfs when there is one: the per-frame references sync a lot */
	ASSERT_EQ(rig_init(g, access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm", DEVS, SAMPLES), 0);
	ASSERT_EQ(rig_frames(g, FRAMES), 0);
	g->cfg.mec_ingest_batch = per_frame;
	g->cfg.mec_state_cache = cache;
	g->cfg.mec_samples_max = samples_max;
	g->cfg.mec_results_max = results_max;
	ASSERT_EQ(rig_sessions(g), 0);
	ASSERT_EQ(rig_open(g), 0);
}

/* The reference: one transaction per frame, states in the store only. */
static void reference(struct dump *d, int samples_max, int results_max)
{
	struct rig g;
	uint64_t b0 = st.batches.value;

	rig_new(&g, 1, 4096, samples_max, results_max);
	rig_feed(&g, 0, g.nf, 64);
	ASSERT_EQ(st.batches.value - b0, (uint64_t)g.nf);
	ASSERT_EQ(g.m.cache.n, 0u);
	dump(&g, d);
	rig_free(&g);
}

static void windows_of(struct rig *g, struct iomt_s2_replay *w)
{
	for (unsigned d = 0; d < g->ndev; d++)
		w[d] = gwd_sessions_find(&g->sess, g->handle[d])->rx.w;
}

TEST(a_batch_of_several_devices_is_one_transaction_with_per_frame_results)
{
	struct dump ref, got;
	struct rig g;
	uint64_t b0, ok0 = st.frames[DATA_OK].value;

	reference(&ref, 100000, 10000);
	/* the profiles give every verdict and both analyses */
	ASSERT_GE(ref.nresults, 20u);
	ASSERT_GE(ref.emerg.n / (16 + AN_RESULT_LEN), 4u);
	ASSERT_EQ(ref.nstates, 6u);		/* 4 AF + 2 ODI */
	ASSERT_EQ(ref.nsamples, (size_t)DEVS * FRAMES * SAMPLES);

	rig_new(&g, 0, 4096, 100000, 10000);
	b0 = st.batches.value;
	rig_feed(&g, 0, g.nf, 1024);	/* batch_max 64 per transaction */
	ASSERT_EQ(st.batches.value - b0, (uint64_t)(g.nf + 63) / 64);
	ASSERT_EQ(st.frames[DATA_OK].value - ok0, 2 * (uint64_t)g.nf);
	ASSERT_EQ(g.m.cache.n, 6u);
	ASSERT_EQ(g.m.cache.ndirty, 0u);
	dump(&g, &got);
	same(&ref, &got);
	/* every window moved to the device's last counter, as committed */
	for (unsigned d = 0; d < DEVS; d++)
		ASSERT_EQ(gwd_sessions_find(&g.sess, g.handle[d])->rx.w.top, (uint64_t)FRAMES);
	dump_free(&got);
	rig_free(&g);

	/* odd batch boundaries: still the same */
	rig_new(&g, 0, 4096, 100000, 10000);
	for (size_t i = 0, step = 1; i < g.nf; i += step, step = step % 37 + 5)
		rig_feed(&g, i, i + step < g.nf ? i + step : g.nf, step);
	dump(&g, &got);
	same(&ref, &got);
	dump_free(&got);
	rig_free(&g);
	dump_free(&ref);
}

TEST(bounds_hold_per_batch_as_per_frame)
{
	struct dump ref, got;
	struct rig g;

	reference(&ref, 150, 3);
	ASSERT_EQ(ref.nsamples, (size_t)DEVS * 150);
	rig_new(&g, 0, 4096, 150, 3);
	rig_feed(&g, 0, g.nf, 64);
	dump(&g, &got);
	same(&ref, &got);
	for (unsigned d = 0; d < DEVS; d++) {
		char sql[160];
		char hx[33];

		for (int i = 0; i < 16; i++)
			snprintf(hx + 2 * i, 3, "%02x", g.id_a[d][i]);
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM results WHERE id_a = x'%s'", hx);
		ASSERT_LE(count(&g, sql), 3);
	}
	dump_free(&got);
	dump_free(&ref);
	rig_free(&g);
}

TEST(replays_inside_one_batch_and_across_batches_are_refused)
{
	struct rig g;
	struct gwd_frame f[4];
	uint64_t rep0 = st.frames[DATA_REPLAYED].value, ok0 = st.frames[DATA_OK].value;

	rig_new(&g, 0, 4096, 100000, 10000);
	f[0] = g.gf[0];
	f[1] = g.gf[DEVS];	/* device 0's second frame */
	f[2] = g.gf[0];		/* its first again, in the same batch */
	f[3] = g.gf[1];
	gwd_mecdata_ops.handle(&g.m, GWD_SRC_DEVICE, f, 4, 0);
	ASSERT_EQ(st.frames[DATA_OK].value - ok0, 3u);
	ASSERT_EQ(st.frames[DATA_REPLAYED].value - rep0, 1u);
	ASSERT_EQ(count(&g, "SELECT count(*) FROM samples"), 3 * SAMPLES);
	gwd_mecdata_ops.handle(&g.m, GWD_SRC_DEVICE, f + 1, 1, 0);
	ASSERT_EQ(st.frames[DATA_REPLAYED].value - rep0, 2u);
	ASSERT_EQ(count(&g, "SELECT count(*) FROM samples"), 3 * SAMPLES);
	rig_free(&g);
}

static int fail_left;

static int fail_some(void *ctx)
{
	(void)ctx;
	return fail_left > 0 ? fail_left-- : 0;
}

/* Batches [0, 64) commit, then [64, 128) fails (fault before the commit,
 * after every write), then everything from 64 on again. */
static void failed_batch_then_retransmit(int cache, int samples_max, int results_max)
{
	struct iomt_s2_replay before[DEVS], after[DEVS];
	struct dump ref, got;
	struct rig g;
	uint64_t err0 = st.store_errors.value, fe0 = st.frames[DATA_STORE].value;
	int64_t samples, results;
	size_t emerg;

	reference(&ref, samples_max, results_max);
	rig_new(&g, 0, cache, samples_max, results_max);
	g.m.fail_commit = fail_some;
	rig_feed(&g, 0, 64, 64);
	samples = count(&g, "SELECT count(*) FROM samples");
	results = count(&g, "SELECT count(*) FROM results");
	emerg = g.nemerg;
	windows_of(&g, before);
	fail_left = 1;
	rig_feed(&g, 64, 128, 64);
	ASSERT_EQ(fail_left, 0);
	ASSERT_EQ(st.store_errors.value - err0, 1u);
	ASSERT_EQ(st.frames[DATA_STORE].value - fe0, 64u);
	/* nothing of the batch stored, no window moved, no emergency hooked */
	ASSERT_EQ(count(&g, "SELECT count(*) FROM samples"), samples);
	ASSERT_EQ(count(&g, "SELECT count(*) FROM results"), results);
	ASSERT_EQ(g.nemerg, emerg);
	ASSERT_EQ(g.m.cache.ndirty, 0u);
	windows_of(&g, after);
	ASSERT_MEMEQ(before, after, sizeof(before));
	/* the devices' retransmissions are taken, and the analyses go on as if
	 * the failure had not been */
	rig_feed(&g, 64, g.nf, 64);
	ASSERT_EQ(st.store_errors.value - err0, 1u);
	dump(&g, &got);
	same(&ref, &got);
	dump_free(&got);
	dump_free(&ref);
	rig_free(&g);
}

TEST(a_failed_commit_refuses_the_batch_and_leaves_the_windows)
{
	failed_batch_then_retransmit(4096, 100000, 10000);
}

TEST(a_failed_commit_with_dirty_states_pushed_out_mid_batch)
{
	/* cache of 1: states go back to the store inside the failing
	 * transaction, and must come back as they were before it; the bounds
	 * evict in it too, and the row counts must forget those evictions */
	failed_batch_then_retransmit(1, 150, 3);
}

TEST_TIMEOUT(a_store_locked_by_another_writer_refuses_the_batch, 30)
{
	struct iomt_s2_replay before[DEVS], after[DEVS];
	struct dump ref, got;
	struct rig g;
	struct rt_store *other = NULL;
	uint64_t err0 = st.store_errors.value;

	reference(&ref, 100000, 10000);
	rig_new(&g, 0, 4096, 100000, 10000);
	rig_feed(&g, 0, 64, 64);
	windows_of(&g, before);
	/* a real SQLite failure: the begin waits RT_STORE_BUSY_MS, then fails */
	ASSERT_EQ(rt_store_open(g.db, &other), 0);
	ASSERT_EQ(rt_store_begin(other), 0);
	rig_feed(&g, 64, 70, 64);
	ASSERT_EQ(st.store_errors.value - err0, 1u);
	windows_of(&g, after);
	ASSERT_MEMEQ(before, after, sizeof(before));
	ASSERT_EQ(rt_store_rollback(other), 0);
	rt_store_close(other);
	rig_feed(&g, 64, g.nf, 64);
	dump(&g, &got);
	same(&ref, &got);
	dump_free(&got);
	dump_free(&ref);
	rig_free(&g);
}

TEST(a_restart_reloads_the_states_and_goes_on_with_the_same_results)
{
	struct dump ref, got;
	struct rig g;
	uint64_t loads;

	reference(&ref, 100000, 10000);
	rig_new(&g, 0, 4096, 100000, 10000);
	rig_feed(&g, 0, 150, 64);
	/* the role stops (its cache goes); the sessions outlive it here, as the
	 * replay windows are not what this test is about */
	rig_close(&g);
	ASSERT_EQ(rig_open(&g), 0);
	ASSERT_EQ(g.m.cache.n, 0u);
	rig_feed(&g, 150, g.nf, 64);
	loads = g.m.cache.loads;
	ASSERT_EQ(loads, 6u);	/* each state read back once */
	dump(&g, &got);
	same(&ref, &got);
	dump_free(&got);
	dump_free(&ref);
	rig_free(&g);
}

TEST(a_small_cache_evicts_and_reloads_without_changing_a_result)
{
	struct dump ref, got;
	struct rig g;

	reference(&ref, 100000, 10000);
	for (int cap = 1; cap <= 5; cap += 2) {
		rig_new(&g, 0, cap, 100000, 10000);
		rig_feed(&g, 0, g.nf, 64);
		ASSERT_LE(g.m.cache.n, (size_t)cap);
		ASSERT_GT(g.m.cache.evictions, 0u);
		ASSERT_EQ(g.m.cache.loads, g.m.cache.evictions + g.m.cache.n);
		dump(&g, &got);
		same(&ref, &got);
		dump_free(&got);
		rig_free(&g);
	}
	dump_free(&ref);
}

/* ---- the cache alone ---- */

TEST(cache_drops_the_least_recently_used_and_abort_forgets_changes)
{
	char dir[] = "/tmp/iomt-mecstate.XXXXXX", path[64], err[256] = "";
	const struct analysis_ops *a = &an_odi_ops;
	struct gwd_mecstore s;
	struct gwd_mecstate c;
	uint8_t id[4][16];
	void *p[4], *q;

	ASSERT_NONNULL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/mec.db", dir);
	ASSERT_EQ(gwd_mecstore_open(&s, path, 10, 10, err, sizeof(err)), 0);
	ASSERT_EQ(gwd_mecstate_init(&c, 0, 8), -EINVAL);
	ASSERT_EQ(gwd_mecstate_init(&c, 2, a->state_size), 0);
	for (int i = 0; i < 4; i++)
		memset(id[i], 0x10 + i, 16);
	ASSERT_EQ(gwd_mecstore_begin(&s), 0);
	ASSERT_EQ(gwd_mecstate_get(&c, &s, id[0], a, &p[0]), 0);	/* fresh */
	ASSERT_EQ(gwd_mecstate_get(&c, &s, id[1], a, &p[1]), 0);
	ASSERT_EQ(gwd_mecstate_get(&c, &s, id[0], a, &q), 1);	/* a hit: 0 is the newest */
	ASSERT_TRUE(q == p[0]);
	memset(p[0], 0xee, a->state_size);	/* "fed": a state only this cache holds */
	gwd_mecstate_dirty(&c, p[0]);
	ASSERT_EQ(gwd_mecstate_get(&c, &s, id[2], a, &p[2]), 0);	/* 1 goes, not 0 */
	ASSERT_EQ(c.evictions, 1u);
	ASSERT_EQ(gwd_mecstate_get(&c, &s, id[0], a, &q), 1);
	ASSERT_EQ(c.hits, 2u);
	/* 2 goes now, then 0 must be written out before it goes */
	ASSERT_EQ(gwd_mecstate_get(&c, &s, id[3], a, &p[3]), 0);
	ASSERT_EQ(gwd_mecstate_get(&c, &s, id[1], a, &q), 0);
	ASSERT_EQ(c.evictions, 3u);
	ASSERT_EQ(c.ndirty, 0u);
	ASSERT_EQ(gwd_mecstate_get(&c, &s, id[0], a, &q), 1);	/* back from the store */
	ASSERT_EQ(((uint8_t *)q)[0], 0xee);
	gwd_mecstate_dirty(&c, q);
	ASSERT_EQ(gwd_mecstate_flush(&c, &s), 0);
	gwd_mecstore_rollback(&s);
	gwd_mecstate_abort(&c);
	ASSERT_EQ(c.n, 1u);	/* id[1]'s clean entry stays */
	ASSERT_EQ(gwd_mecstate_get(&c, &s, id[0], a, &q), 0);	/* the store has none */
	ASSERT_NE(((uint8_t *)q)[0], 0xee);
	/* committed: flushed states are in the store, nothing dirty */
	ASSERT_EQ(gwd_mecstore_begin(&s), 0);
	memset(q, 0xab, a->state_size);
	gwd_mecstate_dirty(&c, q);
	ASSERT_EQ(gwd_mecstate_flush(&c, &s), 0);
	ASSERT_EQ(gwd_mecstore_commit(&s), 0);
	gwd_mecstate_committed(&c);
	gwd_mecstate_clear(&c);
	ASSERT_EQ(c.n, 0u);
	ASSERT_EQ(gwd_mecstate_get(&c, &s, id[0], a, &q), 1);
	ASSERT_EQ(((uint8_t *)q)[0], 0xab);
	/* a state larger than the cache's slots is refused */
	ASSERT_EQ(gwd_mecstate_get(&c, &s, id[0], &an_af_ops, &q),
		  an_af_ops.state_size > a->state_size ? -EINVAL : 0);
	gwd_mecstate_free(&c);
	gwd_mecstore_close(&s);
	snprintf(err, sizeof(err), "rm -rf '%s'", dir);
	ASSERT_EQ(system(err), 0);
}

/* ---- the store's row counts ---- */

TEST(row_counts_survive_their_table_filling_up)
{
	char dir[] = "/tmp/iomt-mecstore-n.XXXXXX", path[64], err[256] = "";
	struct gwd_mecstore s;
	struct iomt_s2_sample v[3] = { { .t_ms = 1, .value = 1, .kind = 1 },
				       { .t_ms = 2, .value = 2, .kind = 1 },
				       { .t_ms = 3, .value = 3, .kind = 1 } };
	uint8_t id[16] = { 0 };
	uint64_t ev = 0;

	ASSERT_NONNULL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/mec.db", dir);
	ASSERT_EQ(gwd_mecstore_open(&s, path, 2, 2, err, sizeof(err)), 0);
	ASSERT_EQ(gwd_mecstore_begin(&s), 0);
	/* more ID_a than the table holds: it is cleared and refilled */
	for (uint32_t i = 0; i < COUNT_FILL + 100; i++) {
		memcpy(id, &i, sizeof(i));
		ASSERT_EQ(gwd_mecstore_add_samples(&s, id, v, 3, &ev), 0);
	}
	ASSERT_EQ(ev, (uint64_t)COUNT_FILL + 100);
	ASSERT_LE(s.ncounts, (size_t)COUNT_FILL);
	/* the first ID_a again (recounted after the clearing), then the last
	 * (still counted): one eviction each, the newest two kept */
	for (uint32_t i = 0; i < 2; i++) {
		uint32_t k = i ? COUNT_FILL + 99 : 0;

		memcpy(id, &k, sizeof(k));
		ASSERT_EQ(gwd_mecstore_add_samples(&s, id, v, 1, &ev), 0);
		ASSERT_EQ(ev, (uint64_t)COUNT_FILL + 101 + i);
	}
	ASSERT_EQ(gwd_mecstore_commit(&s), 0);
	{
		struct rt_stmt *q = NULL;

		ASSERT_EQ(rt_stmt_prepare(s.db, "SELECT id_a FROM samples GROUP BY id_a "
					  "HAVING count(*) != 2", &q), 0);
		ASSERT_EQ(rt_stmt_step(q), RT_STMT_DONE);
		rt_stmt_free(q);
	}
	gwd_mecstore_close(&s);
	snprintf(err, sizeof(err), "rm -rf '%s'", dir);
	ASSERT_EQ(system(err), 0);
}
