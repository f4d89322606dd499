/* SPDX-License-Identifier: MIT */
/* The seed-002 MEC role: M1 -> M2, M3 -> persist -> M4, errors and timers. */
#include <errno.h>
#include <string.h>

#include "bytes.h"
#include "ct.h"
#include "iomt_err.h"
#include "lib/rt_log.h"
#include "lib/rt_rng.h"
#include "mec.h"
#include "metrics.h"
#include "s2_ida.h"
#include "secmem.h"
#include "udp.h"
#include "wire.h"

enum {
	REQ_ID_LEN = IOMT_WIRE_REQ_ID_LEN,
	M1_R1_OFF = IOMT_S2_ID_LEN,			/* M1 = DID_i || R1 || c1_i */
	M3_BOX_OFF = REQ_ID_LEN + IOMT_S2_M3_LEN,	/* req_id || M3 || box */
	M2_FRAME_LEN = IOMT_WIRE_S2_M2_LEN,
};

/* One agreement in flight, kept by its slot. */
struct mec_run {
	struct iomt_s2_mec_pending p;		/* secret */
	uint8_t r2[IOMT_S2_RAND_LEN];
	uint8_t did_i[IOMT_S2_ID_LEN];		/* for the ID_a box (p is wiped by finish) */
	uint8_t r1[IOMT_S2_RAND_LEN];		/* binds DEV_ERR to the device's run */
	struct gwd_addr dev;
	uint32_t req_id;
	uint32_t batch_gen;			/* upstream batch that claimed it */
	uint64_t deadline_ms;
};

/* The arrays of one batch (M1 side or M3 side). */
struct mec_scratch {
	size_t slot[GWD_BATCH_MAX];
	const struct gwd_frame *frame[GWD_BATCH_MAX];
	const uint8_t *in[GWD_BATCH_MAX], *did_m[GWD_BATCH_MAX], *dk_m[GWD_BATCH_MAX];
	const uint8_t *r2[GWD_BATCH_MAX];
	size_t in_len[GWD_BATCH_MAX];
	struct iomt_s2_mec_pending *pending[GWD_BATCH_MAX];
	uint8_t *m2[GWD_BATCH_MAX];
	int status[GWD_BATCH_MAX];
	uint8_t r2buf[GWD_BATCH_MAX][IOMT_S2_RAND_LEN];
	uint8_t m2buf[GWD_BATCH_MAX][M2_FRAME_LEN];
	struct iomt_s2_mec_out out[GWD_BATCH_MAX];	/* secret */
	uint8_t pair[GWD_BATCH_MAX][GWD_PAIR_LEN];	/* secret */
	uint8_t id_a[GWD_BATCH_MAX][IOMT_S2_IDA_LEN];
	/* M3 side: the ID_a boxes' and the new sessions' arguments */
	const uint8_t *box[GWD_BATCH_MAX], *did_i[GWD_BATCH_MAX], *sk[GWD_BATCH_MAX];
	const uint8_t *ida[GWD_BATCH_MAX];
	uint8_t *ida_out[GWD_BATCH_MAX];
	uint64_t handle[GWD_BATCH_MAX];
};

/* ---- answers to devices ---- */

static void dev_err(struct gwd_mec *m, const struct gwd_addr *to, uint8_t code,
		    const uint8_t r1[IOMT_S2_RAND_LEN])
{
	uint8_t e[IOMT_WIRE_S2_DEV_ERR_LEN];

	e[0] = code;
	memcpy(e + 1, r1, IOMT_S2_RAND_LEN);
	if (m->tx->to_device(m->tx->ctx, to, IOMT_MSG_S2_DEV_ERR, e, sizeof(e)) == 0 &&
	    code == IOMT_S2_ERR_BUSY)
		rt_metric_inc(&gwd_stats.busy);
}

/* Wipes a finished run; the caller has released or committed its slot. */
static void run_end(struct gwd_mec *m, size_t slot)
{
	iomt_wipe(&m->run[slot], sizeof(m->run[slot]));
}

/* Ends a run without M4: the slot keeps its pair. */
static void run_fail(struct gwd_mec *m, size_t slot, enum gwd_fail why, int busy)
{
	if (busy)
		dev_err(m, &m->run[slot].dev, IOMT_S2_ERR_BUSY, m->run[slot].r1);
	rt_metric_inc(&gwd_stats.fail[why]);
	run_end(m, slot);
	gwd_pool_release(m->pool, slot);
}

/* ---- M1 -> M2 ---- */

/* A slot for each M1 we can take; BUSY for the others. */
static size_t m1_take(struct gwd_mec *m, const struct gwd_frame *f, size_t n)
{
	struct mec_scratch *s = m->s;
	int up = m->tx->upstream_up(m->tx->ctx);
	size_t k = 0;
	char a[80];

	/* Counters move once per batch: each is an atomic add. */
	rt_metric_add(&gwd_stats.m1_received, n);
	for (size_t i = 0; i < n; i++) {
		if (!m->draining && up && gwd_pool_take(m->pool, &s->slot[k]) == 0) {
			s->frame[k++] = &f[i];
			continue;
		}
		rt_dbg("M1 from %s: BUSY (%s)", gwd_addr_str(f[i].from, a, sizeof(a)),
		       m->draining ? "stopping" : !up ? "TTP link down" : "no free slot");
		dev_err(m, f[i].from, IOMT_S2_ERR_BUSY, f[i].payload + M1_R1_OFF);
	}
	return k;
}

/* Fresh R2s and the batched H1: 0, or -errno after answering BUSY. */
static int m1_compute(struct gwd_mec *m, size_t k)
{
	struct mec_scratch *s = m->s;
	int r = rt_random(s->r2buf, k * IOMT_S2_RAND_LEN);

	if (r) {
		rt_err("no randomness for R2 (%s): %zu M1 answered BUSY", strerror(-r), k);
		for (size_t j = 0; j < k; j++) {
			dev_err(m, s->frame[j]->from, IOMT_S2_ERR_BUSY,
				s->frame[j]->payload + M1_R1_OFF);
			gwd_pool_release(m->pool, s->slot[j]);
		}
		return r;
	}
	for (size_t j = 0; j < k; j++) {
		const struct gwd_slot *sl = &m->pool->slot[s->slot[j]];

		s->did_m[j] = sl->did;
		s->dk_m[j] = sl->dk;
		s->r2[j] = s->r2buf[j];
		s->in[j] = s->frame[j]->payload;
		s->in_len[j] = s->frame[j]->len;
		s->pending[j] = &m->run[s->slot[j]].p;
		s->m2[j] = s->m2buf[j] + REQ_ID_LEN;
	}
	return iomt_s2_mec_m2_batch(k, s->did_m, s->dk_m, s->r2, s->in, s->in_len, s->pending,
				    s->m2, s->status) == IOMT_OK ? 0 : -EINVAL;
}

/* Records the run and queues its M2: 0, or -errno (the run is ended). */
static int m1_send_one(struct gwd_mec *m, size_t j, uint64_t now_ms)
{
	struct mec_scratch *s = m->s;
	size_t slot = s->slot[j];
	struct mec_run *run = &m->run[slot];
	const uint8_t *m1 = s->frame[j]->payload;
	int r;

	run->dev = *s->frame[j]->from;
	memcpy(run->did_i, m1, IOMT_S2_ID_LEN);
	memcpy(run->r1, m1 + M1_R1_OFF, IOMT_S2_RAND_LEN);
	memcpy(run->r2, s->r2buf[j], IOMT_S2_RAND_LEN);
	run->req_id = m->pool->slot[slot].seq << GWD_POOL_SLOT_BITS | (uint32_t)slot;
	run->batch_gen = m->batch_gen;
	run->deadline_ms = now_ms + m->timeout_ms;
	iomt_store_be32(s->m2buf[j], run->req_id);
	r = m->tx->upstream(m->tx->ctx, IOMT_MSG_S2_M2, s->m2buf[j], M2_FRAME_LEN);
	if (r) {
		rt_warn("slot %zu: M2 not queued to the TTP (%s): BUSY", slot, strerror(-r));
		dev_err(m, &run->dev, IOMT_S2_ERR_BUSY, run->r1);
		run_end(m, slot);
		gwd_pool_release(m->pool, slot);
		return r;
	}
	if (run->deadline_ms < m->next_timeout)
		m->next_timeout = run->deadline_ms;
	return 0;
}

static void m1_batch(struct gwd_mec *m, const struct gwd_frame *f, size_t n, uint64_t now_ms)
{
	struct mec_scratch *s = m->s;
	size_t k = m1_take(m, f, n), sent = 0;

	if (!k || m1_compute(m, k))
		return;
	for (size_t j = 0; j < k; j++) {
		if (s->status[j] == IOMT_OK) {
			sent += m1_send_one(m, j, now_ms) == 0;
			continue;
		}
		/* Cannot happen: the engine checked M1's exact size. */
		rt_err("slot %zu: mec_m2: %s", s->slot[j], iomt_strerror(s->status[j]));
		run_end(m, s->slot[j]);
		gwd_pool_release(m->pool, s->slot[j]);
	}
	rt_metric_add(&gwd_stats.m2_sent, sent);
}

/* ---- replies from the TTP ---- */

/* The slot a reply (req_id first) is for, or -1: late, forged or repeated. */
static long reply_slot(struct gwd_mec *m, const uint8_t *payload)
{
	uint32_t req = iomt_load_be32(payload);
	size_t slot = req & (GWD_POOL_MAX - 1);

	if (slot >= m->pool->n || m->pool->slot[slot].state != GWD_SLOT_AWAIT_M3 ||
	    m->run[slot].req_id != req) {
		rt_dbg("reply for request %08x, which is not in flight (late or forged): dropped",
		       req);
		rt_metric_inc(&gwd_stats.drop[GWD_DROP_UNKNOWN_REQ]);
		return -1;
	}
	if (m->run[slot].batch_gen == m->batch_gen) {
		rt_dbg("second reply for request %08x in one batch: dropped", req);
		rt_metric_inc(&gwd_stats.drop[GWD_DROP_DUPLICATE]);
		return -1;
	}
	m->run[slot].batch_gen = m->batch_gen;
	return (long)slot;
}

/* The engine passed only S2_LINK_ERR of exactly req_id (4) || code (1). */
static void link_err(struct gwd_mec *m, const struct gwd_frame *f)
{
	long slot = reply_slot(m, f->payload);
	uint8_t code = f->payload[REQ_ID_LEN];
	struct mec_run *run;

	if (slot < 0)
		return;
	run = &m->run[slot];
	rt_metric_inc(&gwd_stats.ttp_error[code <= IOMT_S2_ERR_DENIED ? code : 0]);
	if (code == IOMT_S2_ERR_UNKNOWN_MEC || code == IOMT_S2_ERR_BAD_MEC)
		rt_warn("slot %ld: the TTP refused this slot's MEC identity (%s): is the state "
			"file the one provisioned for this MEC?", slot, gwd_code_name(code));
	else
		rt_info("slot %ld: the TTP refused the agreement (%s)", slot, gwd_code_name(code));
	/* Codes 1-4 end the device's run; BUSY/INTERNAL mean "retry later". */
	if (code >= IOMT_S2_ERR_UNKNOWN_DEVICE && code <= IOMT_S2_ERR_BAD_MEC)
		dev_err(m, &run->dev, code, run->r1);
	run_fail(m, (size_t)slot, GWD_FAIL_TTP_ERROR,
		 code == IOMT_S2_ERR_BUSY || code == IOMT_S2_ERR_INTERNAL);
}

/* Matches M3 frames to runs, then checks d3 in one batch: the count. The
 * engine passed only S2_M3 of exactly req_id (4) || M3 (64) || box (24). */
static size_t m3_finish(struct gwd_mec *m, const struct gwd_frame *f, size_t n)
{
	struct mec_scratch *s = m->s;
	size_t k = 0;
	long slot;

	for (size_t i = 0; i < n; i++) {
		if ((slot = reply_slot(m, f[i].payload)) < 0)
			continue;
		s->slot[k] = (size_t)slot;
		s->frame[k] = &f[i];
		s->pending[k] = &m->run[slot].p;
		s->in[k] = f[i].payload + REQ_ID_LEN;
		s->in_len[k] = IOMT_S2_M3_LEN;
		k++;
	}
	if (k && iomt_s2_mec_finish_batch(k, s->pending, s->in, s->in_len, s->out, s->status))
		for (size_t j = 0; j < k; j++)
			s->status[j] = IOMT_EINVAL;
	return k;
}

/* d3: the good ones move to the front; the count. */
static size_t m3_check_d3(struct gwd_mec *m, size_t k)
{
	struct mec_scratch *s = m->s;
	size_t c = 0;

	for (size_t j = 0; j < k; j++) {
		size_t slot = s->slot[j];

		if (s->status[j] != IOMT_OK) {
			rt_warn("slot %zu: M3 refused (%s): slot keeps its pair", slot,
				s->status[j] == IOMT_EAUTH ? "d3 does not verify"
							   : iomt_strerror(s->status[j]));
			run_fail(m, slot, GWD_FAIL_D3, 0);
			continue;
		}
		s->slot[c] = slot;
		s->frame[c] = s->frame[j];
		s->in[c] = s->in[j];
		s->out[c] = s->out[j];
		c++;
	}
	return c;
}

/* d3, then the ID_a boxes in one batch: the good ones move to the front
 * with their new pairs; the count. */
static size_t m3_check(struct gwd_mec *m, size_t k)
{
	struct mec_scratch *s = m->s;
	size_t d = m3_check_d3(m, k), c = 0;

	for (size_t j = 0; j < d; j++) {
		const struct mec_run *run = &m->run[s->slot[j]];

		s->dk_m[j] = m->pool->slot[s->slot[j]].dk;
		s->r2[j] = run->r2;
		s->did_i[j] = run->did_i;
		s->box[j] = s->frame[j]->payload + M3_BOX_OFF;
		s->ida_out[j] = s->id_a[j];
	}
	if (d && iomt_s2_ida_open_batch(d, s->dk_m, s->r2, s->did_i, s->in, s->box, s->ida_out,
					s->status))
		for (size_t j = 0; j < d; j++)
			s->status[j] = IOMT_EINVAL;
	for (size_t j = 0; j < d; j++) {
		size_t slot = s->slot[j];

		if (s->status[j] != IOMT_OK) {
			rt_warn("slot %zu: M3 refused: the ID_a box does not verify", slot);
			run_fail(m, slot, GWD_FAIL_IDA, 0);
			continue;
		}
		s->slot[c] = slot;
		if (c != j) {
			s->out[c] = s->out[j];
			memcpy(s->id_a[c], s->id_a[j], IOMT_S2_IDA_LEN);
		}
		memcpy(s->pair[c], s->out[c].next_did_m, IOMT_S2_ID_LEN);
		memcpy(s->pair[c] + IOMT_S2_ID_LEN, s->out[c].next_dk_m, IOMT_S2_KEY_LEN);
		c++;
	}
	return c;
}

/* The new pairs on disk before any M4 leaves: 0, or -errno (all refused). */
static int m3_persist(struct gwd_mec *m, size_t c)
{
	struct mec_scratch *s = m->s;
	int r = gwd_pool_commit(m->pool, s->slot, (const uint8_t (*)[GWD_PAIR_LEN])s->pair, c);

	if (!r)
		return 0;
	rt_err("state file write failed (%s): %zu agreements refused, slots keep their pairs",
	       strerror(-r), c);
	for (size_t j = 0; j < c; j++)
		run_fail(m, s->slot[j], GWD_FAIL_PERSIST, 1);
	/* rt_recfile takes no more writes after a failed sync until reopened. */
	m->tx->fatal(m->tx->ctx, "identity pool cannot be persisted");
	return r;
}

static void m3_deliver(struct gwd_mec *m, size_t c, uint64_t now_ms)
{
	struct mec_scratch *s = m->s;
	char fp[GWD_FP_HEX_LEN];
	size_t sent = 0;

	for (size_t j = 0; j < c; j++) {
		s->ida[j] = s->id_a[j];
		s->sk[j] = s->out[j].sk;
	}
	gwd_sessions_add_batch(m->sessions, c, s->ida, s->sk, now_ms, s->handle);
	rt_metric_add(&gwd_stats.m3_ok, c);
	for (size_t j = 0; j < c; j++) {
		size_t slot = s->slot[j];

		if (rt_log_enabled(RT_LOG_DEBUG)) {
			gwd_sk_fingerprint(s->out[j].sk, fp);
			rt_dbg("agreement slot=%zu session=%llu sk_fp=%s", slot,
			       (unsigned long long)s->handle[j], fp);
		}
		sent += m->tx->to_device(m->tx->ctx, &m->run[slot].dev, IOMT_MSG_S2_M4,
					 s->out[j].m4, IOMT_S2_M4_LEN) == 0;
		run_end(m, slot);
	}
	rt_metric_add(&gwd_stats.m4_sent, sent);
}

static void m3_batch(struct gwd_mec *m, const struct gwd_frame *f, size_t n, uint64_t now_ms)
{
	struct mec_scratch *s = m->s;
	size_t k = m3_finish(m, f, n), c = k ? m3_check(m, k) : 0;

	if (c && m3_persist(m, c) == 0)
		m3_deliver(m, c, now_ms);
	iomt_wipe(s->out, k * sizeof(s->out[0]));
	iomt_wipe(s->pair, k * sizeof(s->pair[0]));
	iomt_wipe(s->id_a, k * sizeof(s->id_a[0]));
}

/* Runs of consecutive M3 frames go through the batched path, in order. */
static void upstream_batch(struct gwd_mec *m, const struct gwd_frame *f, size_t n, uint64_t now_ms)
{
	size_t i = 0, j;

	m->batch_gen++;
	while (i < n) {
		for (j = i; j < n && f[j].type == IOMT_MSG_S2_M3; j++)
			;
		if (j > i) {
			m3_batch(m, f + i, j - i, now_ms);
			i = j;
		} else {
			link_err(m, &f[i++]);
		}
	}
}

/* ---- role operations ---- */

static int mec_claims(enum gwd_src src, uint8_t type)
{
	if (src == GWD_SRC_DEVICE)
		return type == IOMT_MSG_S2_M1;
	return type == IOMT_MSG_S2_M3 || type == IOMT_MSG_S2_LINK_ERR;
}

static void mec_handle(void *role, enum gwd_src src, const struct gwd_frame *f, size_t n,
		       uint64_t now_ms)
{
	struct gwd_mec *m = role;

	for (size_t i = 0; i < n; i += m->batch_max) {
		size_t c = n - i < m->batch_max ? n - i : m->batch_max;

		if (src == GWD_SRC_DEVICE)
			m1_batch(m, f + i, c, now_ms);
		else
			upstream_batch(m, f + i, c, now_ms);
	}
}

/* Every run in flight ends, unchanged; busy: tell the devices to retry. */
static size_t end_all(struct gwd_mec *m, enum gwd_fail why, int busy)
{
	size_t ended = 0;

	for (size_t i = 0; i < m->pool->n; i++) {
		if (m->pool->slot[i].state != GWD_SLOT_AWAIT_M3)
			continue;
		run_fail(m, i, why, busy);
		ended++;
	}
	return ended;
}

static void mec_link(void *role, int up, uint64_t now_ms)
{
	struct gwd_mec *m = role;
	size_t n;

	(void)now_ms;
	if (up)
		return;
	n = end_all(m, GWD_FAIL_LINK_DOWN, 1);
	if (n)
		rt_warn("TTP link lost with %zu agreements in flight: devices told BUSY, slots "
			"keep their pairs", n);
}

static uint64_t expire_runs(struct gwd_mec *m, uint64_t now_ms)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < m->pool->n; i++) {
		if (m->pool->slot[i].state != GWD_SLOT_AWAIT_M3)
			continue;
		if (m->run[i].deadline_ms > now_ms) {
			next = m->run[i].deadline_ms < next ? m->run[i].deadline_ms : next;
			continue;
		}
		rt_info("slot %zu: no M3 within %llu ms: freed, pair kept", i,
			(unsigned long long)m->timeout_ms);
		run_fail(m, i, GWD_FAIL_TIMEOUT, 0);
	}
	return next;
}

static uint64_t mec_tick(void *role, uint64_t now_ms)
{
	struct gwd_mec *m = role;
	uint64_t sessions;

	if (now_ms >= m->next_timeout)
		m->next_timeout = expire_runs(m, now_ms);
	sessions = gwd_sessions_expire(m->sessions, now_ms);
	return sessions < m->next_timeout ? sessions : m->next_timeout;
}

static void mec_drain(void *role)
{
	struct gwd_mec *m = role;

	m->draining = 1;
}

static size_t mec_outstanding(void *role)
{
	struct gwd_mec *m = role;

	return m->pool->n - gwd_pool_nfree(m->pool);
}

const struct gwd_role_ops gwd_mec_ops = {
	.name = "mec",
	.claims = mec_claims,
	.handle = mec_handle,
	.link = mec_link,
	.tick = mec_tick,
	.drain = mec_drain,
	.outstanding = mec_outstanding,
};

int gwd_mec_init(struct gwd_mec *m, struct gwd_pool *pool, struct gwd_sessions *sessions,
		 const struct gwd_tx *tx, uint64_t timeout_ms, size_t batch_max)
{
	memset(m, 0, sizeof(*m));
	m->pool = pool;
	m->sessions = sessions;
	m->tx = tx;
	m->timeout_ms = timeout_ms;
	m->batch_max = batch_max < GWD_BATCH_MAX ? batch_max : GWD_BATCH_MAX;
	m->next_timeout = UINT64_MAX;
	m->run = gwd_secmem_alloc(pool->n * sizeof(*m->run));
	m->s = gwd_secmem_alloc(sizeof(*m->s));
	if (!m->run || !m->s) {
		gwd_mec_fini(m);
		return -ENOMEM;
	}
	return 0;
}

void gwd_mec_fini(struct gwd_mec *m)
{
	if (m->run) {
		size_t n = end_all(m, GWD_FAIL_TIMEOUT, 0);

		if (n)
			rt_warn("stopping with %zu agreements in flight: slots keep their pairs", n);
	}
	gwd_secmem_free(m->run, m->pool ? m->pool->n * sizeof(*m->run) : 0);
	gwd_secmem_free(m->s, sizeof(*m->s));
	m->run = NULL;
	m->s = NULL;
}
