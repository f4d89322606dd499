/* SPDX-License-Identifier: MIT */
/* Gather, process, group commit, reply. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "hex.h"
#include "bytes.h"
#include "ct.h"
#include "lib/rt_log.h"
#include "link.h"
#include "metrics.h"
#include "sp800_185.h"

int ttp_batch_init(struct ttp_daemon *d)
{
	size_t n = (size_t)d->cfg.batch_max;

	d->req = calloc(n, sizeof(*d->req));
	d->res = calloc(n, sizeof(*d->res));
	d->owner = calloc(n, sizeof(*d->owner));
	d->miss_cache = calloc(TTP_MISS_CACHE, sizeof(*d->miss_cache));
	d->miss_used = calloc(TTP_MISS_CACHE, 1);
	if (!d->req || !d->res || !d->owner || !d->miss_cache || !d->miss_used)
		return -ENOMEM;
	return 0;
}

void ttp_batch_fini(struct ttp_daemon *d)
{
	if (d->res)
		iomt_wipe(d->res, (size_t)d->cfg.batch_max * sizeof(*d->res));
	free(d->req);
	free(d->res);
	free(d->owner);
	free(d->miss_cache);
	free(d->miss_used);
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static size_t miss_slot(const uint8_t *did)
{
	return (size_t)(iomt_load_le64(did) % TTP_MISS_CACHE);
}

int ttp_batch_miss(void *arg, const uint8_t did[IOMT_S2_ID_LEN], struct ttp_party *p)
{
	struct ttp_daemon *d = arg;
	size_t slot = miss_slot(did);
	int r;

	if (d->miss_used[slot] && !memcmp(d->miss_cache[slot], did, IOMT_S2_ID_LEN))
		return -ENOENT;
	r = ttp_db_find_party(d->db, did, p);
	if (r == -ENOENT) {
		memcpy(d->miss_cache[slot], did, IOMT_S2_ID_LEN);
		d->miss_used[slot] = 1;
	} else if (r == -EPROTO) {
		rt_err("a parties row holding a looked-up DID has a field of the wrong size");
	} else if (!r) {
		rt_info("party #%lld (%s) registered while running: loaded", (long long)p->db_id,
			p->kind == TTP_PARTY_MEC ? "MEC slot" : "device");
	}
	return r;
}

/* A fair share of each link first, then whatever room is left. */
static size_t gather(struct ttp_daemon *d)
{
	size_t n = 0, max = (size_t)d->cfg.batch_max;
	size_t share = max / (size_t)(d->nlinks > 0 ? d->nlinks : 1);
	struct link *l, *next;

	if (!share)
		share = 1;
	for (int pass = 0; pass < 2 && n < max; pass++) {
		for (l = d->links; l && n < max; l = next) {
			size_t taken = 0;

			next = l->next;   /* l may be closed (corrupt stream) below */
			while (n < max && (pass || taken < share) &&
			       ttp_link_next_m2(d, l, &d->req[n])) {
				d->owner[n++] = l;
				taken++;
			}
		}
	}
	return n;
}

static void update_all(struct ttp_daemon *d, const uint32_t *idx, size_t n, int *r)
{
	struct ttp_table *t = ttp_engine_table(d->engine);
	int64_t now = ttp_unix_now();

	for (size_t i = 0; !*r && i < n; i++)
		*r = ttp_db_update_party(d->db, ttp_table_get(t, idx[i]), now);
}

/* Every rotated party in one transaction: 0, or negative after rolling the
 * engine back (and stopping the daemon if even that failed). */
static int group_commit(struct ttp_daemon *d)
{
	const uint32_t *idx;
	size_t n = ttp_engine_dirty(d->engine, &idx);
	int64_t t0 = now_us(), us;
	int r;

	if (!n) {
		ttp_engine_commit(d->engine);
		return 0;
	}
	r = ttp_db_begin(d->db);
	update_all(d, idx, n, &r);
	if (!r)
		r = ttp_db_commit(d->db);
	else
		ttp_db_rollback(d->db);
	us = now_us() - t0;
	rt_metric_add(&ttp_metrics.commit_us, (uint64_t)(us > 0 ? us : 0));
	rt_metric_set(&ttp_metrics.commit_last_us, (uint64_t)(us > 0 ? us : 0));
	if (!r) {
		ttp_engine_commit(d->engine);
		rt_metric_inc(&ttp_metrics.commits_ok);
		return 0;
	}
	rt_metric_inc(&ttp_metrics.commits_failed);
	rt_err("group commit of %zu parties failed (%s): batch answered INTERNAL", n,
	       strerror(-r));
	if (ttp_engine_rollback(d->engine)) {
		rt_err("memory could not be rolled back to the database: stopping");
		d->fatal = d->stopping = 1;
	}
	return r;
}

static const char *match_name(uint8_t m)
{
	return m == TTP_MATCH_CUR ? "current" : m == TTP_MATCH_PREV ? "previous" : "-";
}

/* Never keys: which parties, which of their identities, and the verdict. */
static void log_result(const struct link *l, const struct ttp_m2_result *r)
{
	rt_dbg("link %llu req %08x: %s%u; device #%lld (%s), MEC slot #%lld (%s)",
	       (unsigned long long)l->id, iomt_load_be32(r->payload),
	       r->code ? "refused, code " : "M3", r->code, (long long)r->device,
	       match_name(r->device_match), (long long)r->mec, match_name(r->mec_match));
}

/*
 * Debug only, after the commit: the fingerprint of an M3's SK, in the gwd's
 * and the sensor's format, KMAC128(SK, "", 64, "iomt/s2/sk-fingerprint").
 * SK is recomputed as the MEC does, from the slot's pair that carries the
 * M2's DID_m (after the rotation, its previous one), and used only if the
 * M2's c1_m and the M3's d3 both verify; SK is wiped, never logged.
 */
static void log_sk_fp(struct ttp_daemon *d, const struct link *l, const struct ttp_m2_req *q,
		      const struct ttp_m2_result *r)
{
	static const char fp_custom[] = "iomt/s2/sk-fingerprint";
	const uint8_t *m2 = q->payload + IOMT_WIRE_REQ_ID_LEN, *did_m = m2 + IOMT_S2_M1_LEN;
	const struct ttp_party *p;
	struct iomt_s2_mec_pending pend;
	uint8_t m2x[IOMT_S2_M2_LEN], sk[IOMT_S2_KEY_LEN], m4[IOMT_S2_M4_LEN];
	uint8_t nd[IOMT_S2_ID_LEN], nk[IOMT_S2_KEY_LEN], fp[8];
	char hex[2 * sizeof(fp) + 1];
	uint32_t idx;
	int ok = 0;

	if (r->code || ttp_table_find_db(ttp_engine_table(d->engine), r->mec, &idx))
		return;
	p = ttp_table_get(ttp_engine_table(d->engine), idx);
	for (int k = 0; k < 2 && !ok; k++) {
		const uint8_t *did = k ? p->did_cur : p->did_prev, *dk = k ? p->dk_cur : p->dk_prev;

		ok = !memcmp(did, did_m, IOMT_S2_ID_LEN) &&
		     !iomt_s2_mec_m2(did, dk, did_m + IOMT_S2_ID_LEN, m2, IOMT_S2_M1_LEN, &pend, m2x) &&
		     iomt_ct_eq(m2x, m2, IOMT_S2_M2_LEN) &&
		     !iomt_s2_mec_finish(&pend, r->payload + IOMT_WIRE_REQ_ID_LEN, IOMT_S2_M3_LEN,
					 sk, m4, nd, nk);
		iomt_wipe(&pend, sizeof(pend));
	}
	if (ok) {
		iomt_kmac128(sk, sizeof(sk), fp_custom, sizeof(fp_custom) - 1, "", 0, fp, sizeof(fp));
		iomt_hex_encode(fp, sizeof(fp), hex);
		rt_dbg("agreement link=%llu req=%08x device=%lld mec=%lld sk_fp=%s",
		       (unsigned long long)l->id, iomt_load_be32(r->payload), (long long)r->device,
		       (long long)r->mec, hex);
	}
	iomt_wipe(sk, sizeof(sk));
	iomt_wipe(nk, sizeof(nk));
	iomt_wipe(m4, sizeof(m4));
}

static void internal(struct ttp_m2_result *r)
{
	r->type = IOMT_MSG_S2_LINK_ERR;
	r->code = IOMT_S2_ERR_INTERNAL;
	r->len = IOMT_WIRE_S2_LINK_ERR_LEN;
	iomt_wipe(r->payload + IOMT_WIRE_REQ_ID_LEN, sizeof(r->payload) - IOMT_WIRE_REQ_ID_LEN);
	r->payload[IOMT_WIRE_REQ_ID_LEN] = IOMT_S2_ERR_INTERNAL;
}

static void deliver(struct ttp_daemon *d, size_t n, int failed)
{
	for (size_t i = 0; i < n; i++) {
		struct ttp_m2_result *r = &d->res[i];

		if (failed)
			internal(r);
		ttp_link_reply(d->owner[i], r->type, r->payload, r->len);
		ttp_metrics_reply(r->code);
		if (rt_log_enabled(RT_LOG_DEBUG)) {
			log_result(d->owner[i], r);
			if (!failed)
				log_sk_fp(d, d->owner[i], &d->req[i], r);
		}
	}
	iomt_wipe(d->res, n * sizeof(*d->res));
	/* One write per link: flush clears touched. */
	for (size_t i = 0; i < n; i++)
		if (d->owner[i]->touched)
			ttp_link_flush(d, d->owner[i]);
}

static void flush_touched(struct ttp_daemon *d)
{
	for (struct link *l = d->links; l; l = l->next)
		if (l->touched)
			ttp_link_flush(d, l);
}

static int any_ready(struct ttp_daemon *d)
{
	for (struct link *l = d->links; l; l = l->next)
		if (ttp_link_ready(l))
			return 1;
	return 0;
}

void ttp_batch_run(struct ttp_daemon *d)
{
	struct ttp_table *t = ttp_engine_table(d->engine);
	size_t n = gather(d);
	int failed = 0;

	if (n) {
		if (ttp_engine_process(d->engine, n, d->req, d->res))
			rt_err("batch of %zu: out of memory: answered INTERNAL", n);
		failed = group_commit(d) != 0;
		deliver(d, n, failed);
		rt_metric_inc(&ttp_metrics.batches);
		rt_metric_add(&ttp_metrics.batch_requests, n);
		rt_metric_set(&ttp_metrics.devices, ttp_table_count(t, TTP_PARTY_DEVICE));
		rt_metric_set(&ttp_metrics.mecs, ttp_table_count(t, TTP_PARTY_MEC));
	}
	flush_touched(d);   /* MALFORMED replies to frames of the wrong type */
	d->more = any_ready(d);
}

void ttp_batch_refuse_rest(struct ttp_daemon *d)
{
	uint8_t busy[IOMT_WIRE_S2_LINK_ERR_LEN];
	struct ttp_m2_req req;

	for (struct link *l = d->links, *next; l; l = next) {
		next = l->next;
		while (ttp_link_next_m2(d, l, &req)) {
			memcpy(busy, req.payload, IOMT_WIRE_REQ_ID_LEN);
			busy[IOMT_WIRE_REQ_ID_LEN] = IOMT_S2_ERR_BUSY;
			ttp_link_reply(l, IOMT_MSG_S2_LINK_ERR, busy, sizeof(busy));
			ttp_metrics_reply(IOMT_S2_ERR_BUSY);
		}
	}
	flush_touched(d);
}
