/* SPDX-License-Identifier: MIT */
/*
 * Phase 4's ingest at the MEC (userspace/gwd/mecdata.c): S2_DATA frames
 * per second through the role's handle(), verified, stored, analysed and
 * their results signed, into a fresh SQLite store (WAL, synchronous=FULL).
 *
 *   ours      one store transaction per batch of 64 frames (the engine's
 *             batch_max), analysis states cached in memory
 *   baseline  mec_ingest_batch 1 (benchmark only): one transaction per
 *             frame, every state read from and written to the store, as
 *             before batching
 *
 * A backlog of frames from several devices (tests/s2/mecdata_rig.h: two
 * RR profiles and one SpO2, 20 samples a frame) is handed over in arrays
 * of 64, as a catching-up receive loop does. Rounds alternate the two
 * modes; each figure is the median. Rows: on tmpfs (/dev/shm) and on the
 * disk holding $TMPDIR (default /var/tmp; not with
 * IOMT_BENCH_MECDATA_DISK=0), into an empty store, and (_full) with every
 * ID_a already at mec_samples_max (HIST) samples, so every batch also
 * evicts, as on a MEC that has run for a while.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"

#include "../../userspace/gwd/hook.c"
#include "../../userspace/gwd/mecstate.c"
#include "../../userspace/gwd/mecstore.c"
#include "../../userspace/gwd/metrics.c"
#include "../../userspace/gwd/secmem.c"
#include "../../userspace/gwd/sessidx.c"
#include "../../userspace/gwd/sessions.c"
/* last: its metrics are a static named st */
#include "../../userspace/gwd/mecdata.c"
#include "s2/mecdata_rig.h"

enum {
	ROUNDS = 3,
	DEVS = 12,
	HIST = 20000,	/* samples per ID_a already stored (the _full rows) */
};

/* hist samples under every device's ID_a, as a MEC that has run for a
 * while holds (mec_samples_max of them): 0 or -1. */
static int prefill(struct rig *g, int64_t hist)
{
	int r = rt_store_begin(g->m.store.db);

	for (unsigned d = 0; !r && d < g->ndev; d++) {
		struct rt_param p[] = { RT_PARAM_BLOB(g->id_a[d], 16), RT_PARAM_INT(hist) };

		r = rt_store_run(g->m.store.db,
				 "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
				 "WHERE x < ?2) INSERT INTO samples (id_a, kind, t_ms, value) "
				 "SELECT ?1, 1, x, 800 FROM c", p, 2);
	}
	if (!r)
		r = rt_store_commit(g->m.store.db);
	return r ? -1 : 0;
}

/* One run into a fresh store: frames per second, or -1. */
static double run_once(struct rig *g, int per_frame, size_t nf, int64_t hist)
{
	double t;

	unlink(g->db);
	{
		char p[128];

		snprintf(p, sizeof(p), "%s-wal", g->db);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", g->db);
		unlink(p);
	}
	g->cfg.mec_ingest_batch = per_frame;
	if (hist)
		g->cfg.mec_samples_max = (int)hist;
	if (rig_sessions(g) || rig_open(g) || (hist && prefill(g, hist)))
		return -1;
	t = bench_now_ns();
	rig_feed(g, 0, nf, 64);
	t = bench_now_ns() - t;
	if (st.store_errors.value) {
		fprintf(stderr, "bench_mecdata: store errors\n");
		return -1;
	}
	rig_close(g);
	return (double)nf * 1e9 / t;
}

static int bench_on(const char *base, const char *name, unsigned frames_per_dev, int64_t hist)
{
	double ours[ROUNDS], base_fps[ROUNDS];
	struct rig g;
	uint64_t ok0 = st.frames[DATA_OK].value;

	if (rig_init(&g, base, DEVS, 20) || rig_frames(&g, frames_per_dev)) {
		fprintf(stderr, "bench_mecdata: cannot set up under %s\n", base);
		rig_free(&g);
		return -1;
	}
	for (int r = 0; r < ROUNDS; r++) {
		base_fps[r] = run_once(&g, 1, g.nf, hist);
		ours[r] = run_once(&g, 0, g.nf, hist);
		if (base_fps[r] < 0 || ours[r] < 0) {
			rig_free(&g);
			return -1;
		}
		fprintf(stderr, "bench: %s round %d: per-batch %.0f, per-frame %.0f frames/s\n",
			name, r, ours[r], base_fps[r]);
	}
	if (st.frames[DATA_OK].value - ok0 != 2 * ROUNDS * (uint64_t)g.nf) {
		fprintf(stderr, "bench_mecdata: frames were refused\n");
		rig_free(&g);
		return -1;
	}
	qsort(ours, ROUNDS, sizeof(double), bench_cmp_double);
	qsort(base_fps, ROUNDS, sizeof(double), bench_cmp_double);
	bench_row_rate(name, ours[ROUNDS / 2], "frames/s", "per_frame_txn", base_fps[ROUNDS / 2]);
	rig_free(&g);
	return 0;
}

int main(void)
{
	const char *tmp = getenv("TMPDIR"), *disk = getenv("IOMT_BENCH_MECDATA_DISK");
	int r;

	rt_log_set_level(RT_LOG_ERR);
	/* 12 devices x 100 frames of 20 samples: a backlog of 1200 frames,
	 * into an empty store, then with each ID_a at mec_samples_max */
	if (access("/dev/shm", W_OK)) {
		fprintf(stderr, "bench_mecdata: no writable /dev/shm: tmpfs rows skipped\n");
		r = 0;
	} else {
		r = bench_on("/dev/shm", "mec_ingest_frames_per_s", 100, 0);
		if (!r)
			r = bench_on("/dev/shm", "mec_ingest_frames_per_s_full", 50, HIST);
	}
	if (!r && !(disk && !strcmp(disk, "0")))
		r = bench_on(tmp && *tmp ? tmp : "/var/tmp", "mec_ingest_frames_per_s_disk", 25, 0);
	if (!r && !(disk && !strcmp(disk, "0")))
		r = bench_on(tmp && *tmp ? tmp : "/var/tmp", "mec_ingest_frames_per_s_disk_full",
			     25, HIST);
	return r ? 1 : 0;
}
