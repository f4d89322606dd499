/* SPDX-License-Identifier: MIT */
/* The relay role: REC_PUT from sensors -> the store link -> REC_ACK back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "iomt_err.h"
#include "lib/rt_log.h"
#include "lib/rt_rng.h"
#include "metrics.h"
#include "relay.h"
#include "udp.h"

enum {
	RELAY_BATCH_ID = 8,
	SPOOL_RETRY_MS = 200,		/* after the store answered BUSY/INTERNAL */
};

/* Our ids: direct batches (seq << 32 | slot) keep the top bit clear; spooled
 * ones are SPOOL_ID | their spool sequence number. */
#define SPOOL_ID (1ULL << 63)

/* ---- answers to the sensor ---- */

static void ack_sensor(struct gwd_relay *r, const struct gwd_addr *to, const uint8_t id[8],
		       uint8_t status, uint16_t stored, uint16_t dups)
{
	uint8_t ack[IOMT_REC_ACK_LEN];
	int e;

	iomt_rec_ack_encode(id, status, stored, dups, ack);
	e = r->tx->to_device(r->tx->ctx, to, IOMT_MSG_REC_ACK, ack, sizeof(ack));
	if (e)
		rt_warn("REC_ACK to a sensor not queued: %s", strerror(-e));
}

/* We answer for the store: UNREACHABLE or BUSY, counted by reason. */
static void refuse(struct gwd_relay *r, const struct gwd_addr *to, const uint8_t id[8],
		   enum gwd_rec_refusal why)
{
	static const uint8_t status[GWD_REC_REFUSED_N] = {
		[GWD_REC_REFUSED_UNREACHABLE] = IOMT_REC_UNREACHABLE,
		[GWD_REC_REFUSED_TIMEOUT] = IOMT_REC_UNREACHABLE,
		[GWD_REC_REFUSED_BUSY] = IOMT_REC_BUSY,
		[GWD_REC_REFUSED_STOPPING] = IOMT_REC_BUSY,
		[GWD_REC_REFUSED_SPOOL_FULL] = IOMT_REC_BUSY,
	};
	char a[80];

	uint8_t st = status[why];

	if (why == GWD_REC_REFUSED_SPOOL_FULL && !gwd_link_is_up(r->link))
		st = IOMT_REC_UNREACHABLE;	/* the store is down and the spool full */
	ack_sensor(r, to, id, st, 0, 0);
	rt_metric_inc(&gwd_stats.rec_refused[why]);
	if (rt_log_enabled(RT_LOG_DEBUG))
		rt_dbg("REC_PUT from %s refused: %s", gwd_addr_str(to, a, sizeof(a)),
		       gwd_rec_refusal_name[why]);
}

/* ---- the pending table ---- */

static void entry_free(struct gwd_relay *r, struct gwd_relay_entry *p)
{
	p->id = 0;
	r->free_slots[r->cap - r->used] = (uint32_t)(p - r->pend);
	r->used--;
	rt_metric_set(&gwd_stats.rec_pending, r->used);
}

/* A free entry with a fresh id (high half: a sequence number, low half: the
 * slot, so an ACK finds its entry in O(1)); NULL when the table is full. */
static struct gwd_relay_entry *entry_take(struct gwd_relay *r, uint64_t now)
{
	struct gwd_relay_entry *p;
	uint32_t slot;

	if (r->used == r->cap)
		return NULL;
	slot = r->free_slots[r->cap - r->used - 1];
	r->used++;
	if (!(++r->seq & 0x7fffffffu))
		r->seq = 1;
	p = &r->pend[slot];
	p->id = (uint64_t)(r->seq & 0x7fffffffu) << 32 | slot;
	p->deadline = now + r->timeout_ms;
	if (r->used == 1 || p->deadline < r->next_deadline)
		r->next_deadline = p->deadline;
	rt_metric_set(&gwd_stats.rec_pending, r->used);
	return p;
}

static struct gwd_relay_entry *entry_find(struct gwd_relay *r, uint64_t id)
{
	uint64_t slot = id & 0xffffffffu;

	if (!id || slot >= r->cap || r->pend[slot].id != id)
		return NULL;
	return &r->pend[slot];
}

/* Every batch in flight is lost with the connection: UNREACHABLE. */
static void fail_all(struct gwd_relay *r, enum gwd_rec_refusal why)
{
	for (size_t i = 0; i < r->cap && r->used; i++)
		if (r->pend[i].id) {
			refuse(r, &r->pend[i].to, r->pend[i].sensor_id, why);
			entry_free(r, &r->pend[i]);
		}
}

/* ---- the spool ---- */

static void spool_gauges(struct gwd_relay *r)
{
	rt_metric_set(&gwd_stats.rec_spool_batches, r->spool.live);
	rt_metric_set(&gwd_stats.rec_spool_bytes, r->spool.size);
}

/* Appends a parsed batch to the spool; a full spool refuses it. */
static void spool_put(struct gwd_relay *r, const struct gwd_frame *f)
{
	int e = gwd_spool_append(&r->spool, f->from, f->payload, f->len);

	if (e == -ENOSPC) {
		refuse(r, f->from, f->payload, GWD_REC_REFUSED_SPOOL_FULL);
		return;
	}
	if (e) {
		refuse(r, f->from, f->payload, GWD_REC_REFUSED_BUSY);
		r->tx->fatal(r->tx->ctx, "relay spool write failed");
		return;
	}
	rt_metric_inc(&gwd_stats.rec_spooled);
	spool_gauges(r);
}

/* Sends spooled batches, oldest first, while the link and the window allow. */
static void spool_pump(struct gwd_relay *r, uint64_t now)
{
	uint8_t buf[GWD_UDP_RX_BUF], id[RELAY_BATCH_ID];
	struct gwd_spool_entry *en;
	int sent = 0, e;

	if (!r->spool_on || r->draining || !gwd_link_is_up(r->link) || now < r->spool_retry_at)
		return;
	while (r->spool.inflight < r->cap && (en = gwd_spool_next(&r->spool))) {
		e = gwd_spool_read(&r->spool, en, buf);
		if (e) {
			gwd_spool_requeue(&r->spool, en);
			r->tx->fatal(r->tx->ctx, "relay spool read failed");
			return;
		}
		iomt_store_be64(id, SPOOL_ID | en->seq);
		e = gwd_link_queue(r->link, IOMT_MSG_REC_PUT, id, sizeof(id), buf + RELAY_BATCH_ID,
				   en->len - RELAY_BATCH_ID);
		if (e) {
			gwd_spool_requeue(&r->spool, en);
			break;
		}
		sent = 1;
	}
	if (sent)
		r->spool_deadline = now + r->timeout_ms;
}

/* The store answered a spooled batch. */
static void spool_ack(struct gwd_relay *r, uint64_t seq, uint8_t status, uint16_t stored,
		      uint16_t dups, uint64_t now)
{
	struct gwd_spool_entry *en = gwd_spool_find(&r->spool, seq);
	struct gwd_addr to;
	uint8_t sid[RELAY_BATCH_ID];

	if (!en) {
		rt_metric_inc(&gwd_stats.rec_dropped[GWD_REC_DROP_UNKNOWN_ACK]);
		rt_dbg("REC_ACK from the store for no spooled batch in flight");
		return;
	}
	r->spool_deadline = now + r->timeout_ms;
	if (status != IOMT_REC_OK && status != IOMT_REC_MALFORMED) {
		/* BUSY, INTERNAL: nothing stored; again a little later. */
		gwd_spool_requeue(&r->spool, en);
		rt_metric_inc(&gwd_stats.rec_spool_resent);
		r->spool_retry_at = now + SPOOL_RETRY_MS;
		return;
	}
	to = en->from;
	memcpy(sid, en->sensor_id, sizeof(sid));
	if (gwd_spool_done(&r->spool, en))
		rt_warn("spool: recording a delivered batch failed (it may be sent again)");
	if (to.len)
		ack_sensor(r, &to, sid, status, stored, dups);
	rt_metric_inc(&gwd_stats.rec_acked[status]);
	rt_metric_inc(&gwd_stats.rec_spool_forwarded);
	spool_gauges(r);
}

/* ---- sensor -> store ---- */

static void forward(struct gwd_relay *r, const struct gwd_frame *f, uint64_t now)
{
	struct gwd_relay_entry *p;
	uint8_t id[RELAY_BATCH_ID];
	char a[80];
	int e;

	/* The exact structure (lengths, record headers, key ids) before any
	 * work; the records stay sealed: we have no key to open them. */
	e = iomt_recbatch_decode(&r->scratch, f->payload, f->len);
	if (e) {
		rt_metric_inc(&gwd_stats.rec_dropped[GWD_REC_DROP_MALFORMED]);
		if (rt_log_enabled(RT_LOG_DEBUG))
			rt_dbg("dropped %zu-byte REC_PUT from %s: %s", f->len,
			       gwd_addr_str(f->from, a, sizeof(a)), iomt_strerror(e));
		return;
	}
	if (r->draining) {
		refuse(r, f->from, f->payload, GWD_REC_REFUSED_STOPPING);
		return;
	}
	/* Behind batches still in the spool, or the store cannot take it now. */
	if (r->spool_on && (r->spool.live || !gwd_link_is_up(r->link) || r->used == r->cap)) {
		spool_put(r, f);
		return;
	}
	if (!gwd_link_is_up(r->link)) {
		refuse(r, f->from, f->payload, GWD_REC_REFUSED_UNREACHABLE);
		return;
	}
	p = entry_take(r, now);
	if (!p) {
		refuse(r, f->from, f->payload, GWD_REC_REFUSED_BUSY);
		return;
	}
	iomt_store_be64(id, p->id);
	e = gwd_link_queue(r->link, IOMT_MSG_REC_PUT, id, sizeof(id), f->payload + RELAY_BATCH_ID,
			   f->len - RELAY_BATCH_ID);
	if (e) {
		entry_free(r, p);
		if (r->spool_on && e == -ENOBUFS)
			spool_put(r, f);
		else
			refuse(r, f->from, f->payload, e == -ENOBUFS ? GWD_REC_REFUSED_BUSY
								 : GWD_REC_REFUSED_UNREACHABLE);
		return;
	}
	memcpy(p->sensor_id, f->payload, sizeof(p->sensor_id));
	p->to = *f->from;
	p->records = r->scratch.count;
	rt_metric_inc(&gwd_stats.rec_forwarded);
	rt_metric_add(&gwd_stats.rec_records_forwarded, r->scratch.count);
}

/* The engine writes the queued batches to the store once we return. */
static void relay_handle(void *role, enum gwd_src src, const struct gwd_frame *f, size_t n,
			 uint64_t now_ms)
{
	struct gwd_relay *r = role;

	(void)src;
	for (size_t i = 0; i < n; i++)
		forward(r, &f[i], now_ms);
	/* One fdatasync for the pass's spooled batches, before anything of
	 * theirs leaves. */
	if (r->spool_on && gwd_spool_sync(&r->spool))
		r->tx->fatal(r->tx->ctx, "relay spool fdatasync failed");
	spool_pump(r, now_ms);
}

/* ---- store -> sensor ---- */

static void store_ack(struct gwd_relay *r, const struct gwd_frame *f, uint64_t now)
{
	struct gwd_relay_entry *p;
	uint8_t id[RELAY_BATCH_ID], status;
	uint16_t stored, dups;

	if (f->type != IOMT_MSG_REC_ACK ||
	    iomt_rec_ack_decode(id, &status, &stored, &dups, f->payload, f->len)) {
		rt_metric_inc(&gwd_stats.rec_dropped[GWD_REC_DROP_STORE_FRAME]);
		rt_dbg("dropped a frame of type 0x%02x from the store", f->type);
		return;
	}
	if (iomt_load_be64(id) & SPOOL_ID) {
		if (r->spool_on) {
			spool_ack(r, iomt_load_be64(id) & ~SPOOL_ID, status, stored, dups, now);
			return;
		}
	}
	p = entry_find(r, iomt_load_be64(id));
	if (!p) {
		/* Late (we already answered UNREACHABLE) or not ours. */
		rt_metric_inc(&gwd_stats.rec_dropped[GWD_REC_DROP_UNKNOWN_ACK]);
		rt_dbg("REC_ACK from the store for no batch in flight");
		return;
	}
	ack_sensor(r, &p->to, p->sensor_id, status, stored, dups);
	rt_metric_inc(&gwd_stats.rec_acked[status]);
	entry_free(r, p);
}

/* The store link's user (engine.h): its frames, its state changes. */
static void store_frames(void *ctx, const struct gwd_frame *f, size_t n, uint64_t now_ms)
{
	for (size_t i = 0; i < n; i++)
		store_ack(ctx, &f[i], now_ms);
	spool_pump(ctx, now_ms);
}

static void store_state(void *ctx, int up, uint64_t now_ms)
{
	struct gwd_relay *r = ctx;

	if (up) {
		if (r->spool_on && r->spool.live)
			rt_info("store link up: forwarding %zu spooled batches", r->spool.live);
		r->spool_retry_at = 0;
		spool_pump(r, now_ms);
		return;
	}
	if (r->spool_on && r->spool.inflight) {
		rt_metric_add(&gwd_stats.rec_spool_resent, r->spool.inflight);
		gwd_spool_requeue_all(&r->spool);	/* sent again on the next link */
	}
	if (r->used)
		rt_warn("store link lost with %zu batches in flight: UNREACHABLE to their "
			"sensors (they retry)", r->used);
	fail_all(r, GWD_REC_REFUSED_UNREACHABLE);
}

/* ---- timers ---- */

static void expire(struct gwd_relay *r, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	if (!r->used || now < r->next_deadline)
		return;
	for (size_t i = 0; i < r->cap; i++) {
		struct gwd_relay_entry *p = &r->pend[i];

		if (!p->id)
			continue;
		if (p->deadline <= now) {
			refuse(r, &p->to, p->sensor_id, GWD_REC_REFUSED_TIMEOUT);
			entry_free(r, p);
		} else if (p->deadline < next) {
			next = p->deadline;
		}
	}
	r->next_deadline = next;
}

static uint64_t relay_tick(void *role, uint64_t now_ms)
{
	struct gwd_relay *r = role;
	uint64_t next;

	expire(r, now_ms);
	next = r->used ? r->next_deadline : UINT64_MAX;
	if (!r->spool_on)
		return next;
	if (r->spool.inflight && now_ms >= r->spool_deadline) {
		rt_warn("store: no answer for %zu spooled batches: sending them again",
			r->spool.inflight);
		rt_metric_add(&gwd_stats.rec_spool_resent, r->spool.inflight);
		gwd_spool_requeue_all(&r->spool);
	}
	spool_pump(r, now_ms);
	if (r->spool.inflight && r->spool_deadline < next)
		next = r->spool_deadline;
	if (r->spool.live > r->spool.inflight && !r->draining && gwd_link_is_up(r->link) &&
	    r->spool_retry_at > now_ms && r->spool_retry_at < next)
		next = r->spool_retry_at;
	return next;
}

/* ---- role operations ---- */

static int relay_claims(enum gwd_src src, uint8_t type)
{
	return src == GWD_SRC_DEVICE && type == IOMT_MSG_REC_PUT;
}

static void relay_link(void *role, int up, uint64_t now_ms)
{
	(void)role;	/* the TTP link: not ours */
	(void)up;
	(void)now_ms;
}

static void relay_drain(void *role)
{
	struct gwd_relay *r = role;

	r->draining = 1;
}

static size_t relay_outstanding(void *role)
{
	const struct gwd_relay *r = role;

	/* Spooled batches not yet sent wait on disk for the next start. */
	return r->used + (r->spool_on ? r->spool.inflight : 0);
}

const struct gwd_role_ops gwd_relay_ops = {
	.name = "relay",
	.claims = relay_claims,
	.handle = relay_handle,
	.link = relay_link,
	.tick = relay_tick,
	.drain = relay_drain,
	.outstanding = relay_outstanding,
};

/* ---- set-up ---- */

static int relay_alloc(struct gwd_relay *r, size_t cap)
{
	r->cap = cap;
	r->pend = calloc(cap, sizeof(*r->pend));
	r->free_slots = calloc(cap, sizeof(*r->free_slots));
	if (!r->pend || !r->free_slots)
		return -ENOMEM;
	for (size_t i = 0; i < cap; i++)
		r->free_slots[i] = (uint32_t)(cap - 1 - i);
	return 0;
}

int gwd_relay_init(struct gwd_relay *r, const struct gwd_cfg *cfg, struct gwd_engine *en,
		   char *err, size_t errlen)
{
	const struct gwd_link_cfg lc = {
		.name = "store", .ep = cfg->store,
		/* Every pending batch can sit in the queue at once: one datagram each. */
		.tx_cap = (size_t)cfg->relay_pending_max * GWD_UDP_RX_BUF,
		.backoff_max_ms = cfg->store_reconnect_max_ms, .stats = &gwd_stats.store_link,
	};
	const struct gwd_link_user u = { r, store_frames, store_state };
	int e;

	memset(r, 0, sizeof(*r));
	r->tx = &en->tx;
	r->timeout_ms = cfg->relay_timeout_ms;
	if (rt_random(&r->seq, sizeof(r->seq))) {
		snprintf(err, errlen, "relay: no randomness for batch ids");
		return -EIO;
	}
	e = relay_alloc(r, (size_t)cfg->relay_pending_max);
	if (!e && cfg->spool_dir[0]) {
		e = gwd_spool_open(&r->spool, cfg->spool_dir, cfg->spool_max, err, errlen);
		if (e)
			return e;
		r->spool_on = 1;
		spool_gauges(r);
	}
	if (!e)
		e = gwd_engine_add_link(en, &lc, &u, &r->link);
	if (e == -ENOMEM)
		snprintf(err, errlen, "out of memory for the relay role");
	else if (e)
		snprintf(err, errlen, "store link: %s", strerror(-e));
	return e;
}

void gwd_relay_fini(struct gwd_relay *r)
{
	/* The stop's wait is over: these sensors hear nothing, time out and
	 * resend (they still hold their batches; the store dedups). The engine
	 * closes the link. */
	if (r->used)
		rt_warn("stopping with %zu batches unacknowledged by the store: their sensors "
			"will resend", r->used);
	if (r->spool_on) {
		if (r->spool.live)
			rt_info("spool keeps %zu batches for the next start", r->spool.live);
		gwd_spool_close(&r->spool);
	}
	free(r->pend);
	free(r->free_slots);
	memset(r, 0, sizeof(*r));
}

void gwd_relay_describe(const struct gwd_relay *r, char *buf, size_t len)
{
	char ep[80];

	snprintf(buf, len, "relay role up: records to the store at %s (TCP), %zu batches in "
		 "flight at most%s%s", rt_endpoint_str(&r->link->c.ep, ep, sizeof(ep)), r->cap,
		 r->spool_on ? ", spool " : "", r->spool_on ? r->spool.path : "");
}
