/* SPDX-License-Identifier: MIT */
/* Phase 4 at the MEC: S2_DATA -> sessions -> store, analyses, signed results. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "bytes.h"
#include "config.h"
#include "ct.h"
#include "hook.h"
#include "iomt_err.h"
#include "lib/rt_log.h"
#include "lib/rt_metrics.h"
#include "lib/s2_result.h"
#include "mecdata.h"
#include "mec.h"
#include "wire.h"

enum {
	EMERG_MAX = 256,	/* EMERGENCY results hooked per batch */
};

/* Why a frame was not taken (iomt_gwd_data_frames_total{result}). */
enum data_result {
	DATA_OK,
	DATA_SIZE,		/* not a whole number of samples, or out of range */
	DATA_UNKNOWN_SESSION,	/* no live session has this handle */
	DATA_REPLAYED,		/* counter seen, or older than the window */
	DATA_COUNTER,		/* counter 0 or above the limit */
	DATA_BAD,		/* tag does not verify, or sample kind 0 */
	DATA_STORE,		/* verified, but the store transaction failed */
	DATA_N,
};

#define C(n, l, h) RT_COUNTER("iomt_gwd_" n, l, h)
#define FR(r) C("data_frames_total", "result=\"" r "\"", "S2_DATA frames, by result")
#define SM(r) C("data_samples_total", "result=\"" r "\"", "Samples of verified S2_DATA, by fate")
#define RS(v) C("results_total", "verdict=\"" v "\"", "Signed analysis results stored, by verdict")

static struct {
	struct rt_metric frames[DATA_N];
	struct rt_metric stored, evicted, refused, unanalysed;
	struct rt_metric results[AN_VERDICT_EMERGENCY + 1], results_evicted;
	struct rt_metric store_errors, emergencies_unhooked;
	struct rt_metric state_loads, state_evictions, batches;
} st = {
	.frames = { FR("ok"), FR("size"), FR("unknown_session"), FR("replayed"), FR("counter"),
		    FR("bad"), FR("store_error") },
	.stored = SM("stored"),
	.evicted = SM("evicted"),
	.refused = SM("refused"),
	.unanalysed = SM("no_analysis"),
	.results = { RS("normal"), RS("suspect"), RS("emergency") },
	.results_evicted = C("results_evicted_total", NULL,
			     "Stored results deleted: more than mec_results_max for one ID_a"),
	.store_errors = C("data_store_errors_total", NULL,
			  "Phase-4 store transactions that failed (their frames are lost)"),
	.emergencies_unhooked = C("emergencies_unhooked_total", NULL,
				  "EMERGENCY results stored but not passed to phase 6"),
	.state_loads = C("data_state_loads_total", NULL,
			 "Analysis states not in the memory cache: read from the store or new"),
	.state_evictions = C("data_state_evictions_total", NULL,
			     "Analysis states pushed out of the memory cache (mec_state_cache)"),
	.batches = C("data_batches_total", NULL,
		     "Phase-4 store transactions committed (one per batch of verified frames)"),
};

static const char *const verdict_name[] = { "normal", "suspect", "EMERGENCY" };
static const char *const result_name[DATA_N] = {
	"ok", "not a whole number of samples", "no live session has its handle",
	"replayed or older than the window", "counter 0 or above the limit",
	"tag does not verify (or sample kind 0)", "store error",
};

/* One verified frame. */
struct vframe {
	uint8_t id_a[IOMT_S2_IDA_LEN];
	uint64_t handle;
	size_t n;
	struct iomt_s2_sample smp[IOMT_S2_DATA_SAMPLES_MAX];
};

/* A session's replay window as this batch moved it: written to the session
 * only after the batch's commit. */
struct pend {
	struct gwd_session *s;
	struct iomt_s2_replay w;
	int moved;
};

/* An ID_a of the batch: its evictions run once, before the commit. */
struct ida {
	uint8_t id_a[IOMT_S2_IDA_LEN];
	int results;			/* results added in this batch */
};

struct emerg {
	uint8_t id_a[IOMT_S2_IDA_LEN];
	struct an_result r;
	uint8_t enc[AN_RESULT_LEN];
	uint8_t sig[S2_RESULT_SIG_MAX];
	size_t sig_len;
	int64_t id;
	uint64_t handle;
};

struct mecdata_scratch {
	struct an_sample as[IOMT_S2_DATA_SAMPLES_MAX];
	size_t nemerg;
	struct emerg emerg[EMERG_MAX];
	uint64_t results[AN_VERDICT_EMERGENCY + 1];	/* counted after the commit */
	size_t npend, nida;
	struct pend *pend;				/* batch_max */
	struct ida *ida;				/* batch_max */
	struct vframe v[];				/* batch_max */
};

/* ---- authentication ---- */

/* The batch's pending window of session x (a new entry from the session's
 * committed one at its first frame). */
static struct pend *pend_of(struct mecdata_scratch *s, struct gwd_session *x)
{
	for (size_t i = 0; i < s->npend; i++)
		if (s->pend[i].s == x)
			return &s->pend[i];
	s->pend[s->npend] = (struct pend){ .s = x, .w = x->rx.w };
	return &s->pend[s->npend++];
}

/* Frame f into v: DATA_OK or why not. The counter is checked against, and
 * moves, the batch's pending window of the session only: an earlier frame
 * of the batch counts, the session's own window waits for the commit. */
static enum data_result verify(struct gwd_mecdata *m, const struct gwd_frame *f,
			       struct vframe *v)
{
	uint8_t h[IOMT_S2_DATA_HANDLE_LEN];
	struct iomt_s2_data_rx rx;
	struct gwd_session *x;
	struct pend *p;
	int r;

	if (iomt_s2_data_peek(f->payload, f->len, h, NULL))
		return DATA_SIZE;
	v->handle = iomt_load_be64(h);
	x = gwd_sessions_find(m->sessions, v->handle);
	if (!x)
		return DATA_UNKNOWN_SESSION;
	p = pend_of(m->s, x);
	rx.k = x->rx.k;
	rx.w = p->w;
	r = iomt_s2_data_open(&rx, f->payload, f->len, v->smp, IOMT_S2_DATA_SAMPLES_MAX, &v->n);
	iomt_wipe(&rx.k, sizeof(rx.k));
	switch (r) {
	case IOMT_OK:
		memcpy(v->id_a, x->id_a, IOMT_S2_IDA_LEN);
		p->w = rx.w;
		p->moved = 1;
		return DATA_OK;
	case IOMT_ESTATE:
		return DATA_REPLAYED;
	case IOMT_EMALFORMED:
		/* counter 0 or too high before the tag; kind 0 after it */
		return iomt_s2_replay_check(&p->w, iomt_load_be64(f->payload + 8)) ==
			       IOMT_EMALFORMED ? DATA_COUNTER : DATA_BAD;
	default:
		return DATA_BAD;
	}
}

/* After the commit: the sessions' windows move (the ingress filter learns
 * them through gwd_sessions_committed). */
static void windows_commit(struct gwd_mecdata *m)
{
	struct mecdata_scratch *s = m->s;

	for (size_t i = 0; i < s->npend; i++)
		if (s->pend[i].moved) {
			s->pend[i].s->rx.w = s->pend[i].w;
			gwd_sessions_committed(m->sessions, s->pend[i].s);
		}
	s->npend = 0;
}

/* The batch's entry for id_a. */
static struct ida *ida_of(struct mecdata_scratch *s, const uint8_t id_a[IOMT_S2_IDA_LEN])
{
	for (size_t i = s->nida; i-- > 0;)
		if (!memcmp(s->ida[i].id_a, id_a, IOMT_S2_IDA_LEN))
			return &s->ida[i];
	memcpy(s->ida[s->nida].id_a, id_a, IOMT_S2_IDA_LEN);
	s->ida[s->nida].results = 0;
	return &s->ida[s->nida++];
}

/* ---- analyses and results ---- */

struct emit_ctx {
	struct gwd_mecdata *m;
	const struct vframe *v;
	struct ida *ida;
	int err;
};

/* A closed window: encode, sign, store; an EMERGENCY is kept for the hook. */
static void emit(void *ctx, const struct an_result *r)
{
	struct emit_ctx *e = ctx;
	struct gwd_mecdata *m = e->m;
	struct mecdata_scratch *s = m->s;
	struct emerg x = { .r = *r, .handle = e->v->handle };
	int err;

	if (e->err)
		return;
	err = an_result_encode(r, x.enc);
	if (!err)
		err = s2_result_sign(m->key, e->v->id_a, x.enc, x.sig, &x.sig_len);
	if (err) {
		rt_err("session %016llx: cannot %s a result of analysis %u: %s",
		       (unsigned long long)x.handle, r->verdict > 2 ? "encode" : "sign",
		       r->analysis, iomt_strerror(err));
		e->err = -EINVAL;
		return;
	}
	e->err = gwd_mecstore_result_insert(&m->store, e->v->id_a, r, x.enc, x.sig, x.sig_len,
					    (int64_t)time(NULL), &x.id);
	if (e->err)
		return;
	e->ida->results = 1;
	s->results[r->verdict]++;
	rt_dbg("session %016llx: analysis %u result %lld: %s, window %llu..%llu ms, %u samples",
	       (unsigned long long)x.handle, r->analysis, (long long)x.id,
	       verdict_name[r->verdict], (unsigned long long)r->win_start_ms,
	       (unsigned long long)r->win_end_ms, r->n_samples);
	if (r->verdict != AN_VERDICT_EMERGENCY)
		return;
	if (s->nemerg == EMERG_MAX) {
		rt_err("result %lld: more than %d EMERGENCY results in one batch: stored, not "
		       "passed to phase 6", (long long)x.id, EMERG_MAX);
		rt_metric_inc(&st.emergencies_unhooked);
		return;
	}
	memcpy(x.id_a, e->v->id_a, IOMT_S2_IDA_LEN);
	s->emerg[s->nemerg++] = x;
}

/* The samples of one kind through its analysis: 0 or -errno (store). */
static int analyse_kind(struct gwd_mecdata *m, const struct vframe *v, struct ida *ida,
			uint8_t kind)
{
	struct mecdata_scratch *s = m->s;
	const struct analysis_ops *a = an_find_kind(kind);
	struct emit_ctx e = { .m = m, .v = v, .ida = ida };
	void *state;
	size_t k = 0;
	int r;

	for (size_t i = 0; i < v->n; i++)
		if (v->smp[i].kind == kind)
			s->as[k++] = (struct an_sample){ .t_ms = v->smp[i].t_ms,
							 .value = v->smp[i].value };
	if (!a) {
		rt_metric_add(&st.unanalysed, k);
		rt_dbg("session %016llx: %zu samples of kind %u: no analysis takes this kind "
		       "(stored only)", (unsigned long long)v->handle, k, kind);
		return 0;
	}
	r = gwd_mecstate_get(&m->cache, &m->store, v->id_a, a, &state);
	if (r == -EPROTO)
		rt_warn("session %016llx: stored state of analysis %s has another size: restarted",
			(unsigned long long)v->handle, a->name);
	else if (r < 0)
		return r;
	if (a->feed(state, s->as, k, emit, &e) < 0) {
		rt_metric_add(&st.refused, k);
		rt_info("session %016llx: analysis %s refused %zu samples (time going back or a "
			"value out of range)", (unsigned long long)v->handle, a->name, k);
		return 0;
	}
	gwd_mecstate_dirty(&m->cache, state);
	return e.err;
}

/* One verified frame into the open transaction: 0 or -errno. */
static int store_frame(struct gwd_mecdata *m, const struct vframe *v)
{
	uint8_t seen[32] = { 0 };	/* kinds done, a bit each */
	struct ida *ida = ida_of(m->s, v->id_a);
	int r = gwd_mecstore_insert_samples(&m->store, v->id_a, v->smp, v->n);

	for (size_t i = 0; !r && i < v->n; i++) {
		uint8_t k = v->smp[i].kind;

		if (seen[k / 8] & (1u << (k % 8)))
			continue;
		seen[k / 8] |= (uint8_t)(1u << (k % 8));
		r = analyse_kind(m, v, ida, k);
	}
	return r;
}

/* The bounds, once per ID_a of the batch. */
static int evict_batch(struct gwd_mecdata *m, uint64_t *evicted, uint64_t *revicted)
{
	struct mecdata_scratch *s = m->s;
	int r = 0;

	for (size_t i = 0; !r && i < s->nida; i++) {
		r = gwd_mecstore_evict_samples(&m->store, s->ida[i].id_a, evicted);
		if (!r && s->ida[i].results)
			r = gwd_mecstore_evict_results(&m->store, s->ida[i].id_a, revicted);
	}
	return r;
}

/* The batch's verified frames, their analyses' states and the bounds in one
 * transaction: 0, or -errno (all rolled back, the cache's changes dropped). */
static int store_batch(struct gwd_mecdata *m, size_t k, uint64_t *evicted, uint64_t *revicted)
{
	int r = gwd_mecstore_begin(&m->store);

	m->s->nida = 0;
	for (size_t j = 0; !r && j < k; j++)
		r = store_frame(m, &m->s->v[j]);
	if (!r)
		r = evict_batch(m, evicted, revicted);
	if (!r)
		r = gwd_mecstate_flush(&m->cache, &m->store);
	if (!r && gwd_hook_at(GWD_HOOK_FAIL_DATA_STORE))
		r = -EIO;
	if (!r && m->fail_commit && m->fail_commit(m->fail_ctx))
		r = -EIO;
	if (!r)
		r = gwd_mecstore_commit(&m->store);
	if (r) {
		gwd_mecstore_rollback(&m->store);
		gwd_mecstate_abort(&m->cache);
	} else {
		gwd_mecstate_committed(&m->cache);
	}
	if (m->per_frame)
		gwd_mecstate_clear(&m->cache);
	return r;
}

static void hook_emergencies(struct gwd_mecdata *m)
{
	struct mecdata_scratch *s = m->s;

	for (size_t i = 0; i < s->nemerg; i++) {
		struct emerg *x = &s->emerg[i];

		rt_warn("EMERGENCY: session %016llx, analysis %u, window %llu..%llu ms, result "
			"%lld%s", (unsigned long long)x->handle, x->r.analysis,
			(unsigned long long)x->r.win_start_ms, (unsigned long long)x->r.win_end_ms,
			(long long)x->id, m->on_emergency ? "" : " (phase 6 not connected)");
		if (m->on_emergency)
			m->on_emergency(m->emergency_ctx, x->id_a, &x->r, x->enc, x->sig,
					x->sig_len, x->id);
		else
			rt_metric_inc(&st.emergencies_unhooked);
	}
	iomt_wipe(s->emerg, s->nemerg * sizeof(s->emerg[0]));
	s->nemerg = 0;
}

static void data_batch(struct gwd_mecdata *m, const struct gwd_frame *f, size_t n)
{
	struct mecdata_scratch *s = m->s;
	uint64_t evicted = 0, revicted = 0, samples = 0;
	uint64_t loads = m->cache.loads, gone = m->cache.evictions;
	size_t k = 0;
	int r;

	s->npend = 0;
	for (size_t i = 0; i < n; i++) {
		enum data_result why = verify(m, &f[i], &s->v[k]);

		if (why == DATA_OK) {
			samples += s->v[k++].n;
			continue;
		}
		rt_metric_inc(&st.frames[why]);
		rt_dbg("S2_DATA of %zu bytes dropped: %s", f[i].len, result_name[why]);
	}
	if (!k) {
		s->npend = 0;
		return;
	}
	memset(s->results, 0, sizeof(s->results));
	s->nemerg = 0;
	r = store_batch(m, k, &evicted, &revicted);
	rt_metric_add(&st.state_loads, m->cache.loads - loads);
	rt_metric_add(&st.state_evictions, m->cache.evictions - gone);
	if (r) {
		/* nothing stored, no window moved: the device's frames may come again */
		rt_err("phase-4 store: %s: %zu verified frames (%llu samples) refused, replay "
		       "windows unchanged", strerror(-r), k, (unsigned long long)samples);
		rt_metric_inc(&st.store_errors);
		rt_metric_add(&st.frames[DATA_STORE], k);
		iomt_wipe(s->emerg, s->nemerg * sizeof(s->emerg[0]));
		s->nemerg = 0;
		s->npend = 0;
	} else {
		windows_commit(m);
		rt_metric_inc(&st.batches);
		rt_metric_add(&st.frames[DATA_OK], k);
		rt_metric_add(&st.stored, samples);
		rt_metric_add(&st.evicted, evicted);
		rt_metric_add(&st.results_evicted, revicted);
		for (int v = 0; v <= AN_VERDICT_EMERGENCY; v++)
			rt_metric_add(&st.results[v], s->results[v]);
		hook_emergencies(m);
	}
	iomt_wipe(s->v, k * sizeof(s->v[0]));
}

/* ---- role operations ---- */

static int md_claims(enum gwd_src src, uint8_t type)
{
	return src == GWD_SRC_DEVICE && type == IOMT_MSG_S2_DATA;
}

static void md_handle(void *role, enum gwd_src src, const struct gwd_frame *f, size_t n,
		      uint64_t now_ms)
{
	struct gwd_mecdata *m = role;
	size_t per = m->per_frame ? 1 : m->batch_max;

	(void)src;
	(void)now_ms;

	for (size_t i = 0; i < n; i += per)
		data_batch(m, f + i, n - i < per ? n - i : per);
}

static void md_link(void *role, int up, uint64_t now_ms)
{
	(void)role;
	(void)up;
	(void)now_ms;
}

static uint64_t md_tick(void *role, uint64_t now_ms)
{
	(void)role;
	(void)now_ms;
	return UINT64_MAX;
}

/* Nothing waits for the upstream: a stop may complete at once. */
static void md_drain(void *role)
{
	(void)role;
}

static size_t md_outstanding(void *role)
{
	(void)role;
	return 0;
}

const struct gwd_role_ops gwd_mecdata_ops = {
	.name = "mecdata",
	.claims = md_claims,
	.handle = md_handle,
	.link = md_link,
	.tick = md_tick,
	.drain = md_drain,
	.outstanding = md_outstanding,
};

static int register_metrics(void)
{
	static int done;
	struct rt_metric *list[] = { &st.stored, &st.evicted, &st.refused, &st.unanalysed,
				     &st.results_evicted, &st.store_errors,
				     &st.emergencies_unhooked, &st.state_loads,
				     &st.state_evictions, &st.batches };
	int r;

	if (done)
		return 0;
	r = rt_metrics_register_array(st.frames, DATA_N);
	if (!r)
		r = rt_metrics_register_array(st.results, AN_VERDICT_EMERGENCY + 1);
	if (!r)
		r = rt_metrics_register_list(list, RT_METRICS_LEN(list));
	done = !r;
	return r;
}

int gwd_mecdata_init(struct gwd_mecdata *m, const struct gwd_cfg *cfg,
		     struct gwd_sessions *sessions, char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	m->sessions = sessions;
	m->batch_max = cfg->batch_max > 0 && cfg->batch_max < GWD_BATCH_MAX ? (size_t)cfg->batch_max
									     : GWD_BATCH_MAX;
	for (unsigned k = 1; k < 256; k++) {
		const struct analysis_ops *a = an_find_kind((uint8_t)k);

		if (a && a->state_size > m->state_max)
			m->state_max = a->state_size;
	}
	if (s2_result_key_load(cfg->mec_key, &m->cert, &m->key, err, errlen))
		goto fail;
	if (m->cert.role != ECQV_ROLE_MEC) {
		snprintf(err, errlen, "mec_key %s: the certificate is not a MEC's (role %u)",
			 cfg->mec_key, m->cert.role);
		goto fail;
	}
	m->per_frame = cfg->mec_ingest_batch == 1;
	m->s = calloc(1, sizeof(*m->s) + m->batch_max * sizeof(m->s->v[0]));
	if (m->s) {
		m->s->pend = calloc(m->batch_max, sizeof(*m->s->pend));
		m->s->ida = calloc(m->batch_max, sizeof(*m->s->ida));
	}
	if (!m->s || !m->s->pend || !m->s->ida ||
	    gwd_mecstate_init(&m->cache, cfg->mec_state_cache > 0 ? (size_t)cfg->mec_state_cache
								   : 1,
			      m->state_max ? m->state_max : 1)) {
		snprintf(err, errlen, "out of memory for the phase-4 role");
		goto fail;
	}
	if (register_metrics()) {
		snprintf(err, errlen, "phase-4 metrics registration failed (internal error)");
		goto fail;
	}
	if (gwd_mecstore_open(&m->store, cfg->mec_store, cfg->mec_samples_max,
			      cfg->mec_results_max, err, errlen))
		goto fail;
	m->store.baseline = m->per_frame;
	return 0;
fail:
	gwd_mecdata_fini(m);
	return -1;
}

void gwd_mecdata_fini(struct gwd_mecdata *m)
{
	gwd_mecstore_close(&m->store);
	gwd_mecstate_free(&m->cache);
	if (m->s) {
		free(m->s->pend);
		free(m->s->ida);
		iomt_wipe(m->s, sizeof(*m->s) + m->batch_max * sizeof(m->s->v[0]));
		free(m->s);
	}
	EVP_PKEY_free(m->key);
	m->s = NULL;
	m->key = NULL;
}

void gwd_mecdata_on_emergency(struct gwd_mecdata *m, gwd_mecdata_emergency_fn *fn, void *ctx)
{
	m->on_emergency = fn;
	m->emergency_ctx = ctx;
}

void gwd_mecdata_describe(const struct gwd_mecdata *m, char *buf, size_t len)
{
	snprintf(buf, len, "phase 4 (S2_DATA): %d-byte analysis states (%zu cached), %s, results "
		 "signed with the key of certificate serial %llu", (int)m->state_max, m->cache.cap,
		 m->per_frame ? "one store transaction per frame (benchmark baseline)"
			      : "one store transaction per batch",
		 (unsigned long long)m->cert.serial);
}
