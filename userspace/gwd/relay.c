/* SPDX-License-Identifier: MIT */
/* The relay role: REC_PUT from sensors -> the store link -> REC_ACK back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bytes.h"
#include "iomt_err.h"
#include "lib/rt_log.h"
#include "lib/rt_rng.h"
#include "metrics.h"
#include "relay.h"
#include "udp.h"

enum {
	RELAY_EVENTS = 4,
	RELAY_READS_MAX = 64,		/* link reads per tick */
	RELAY_BATCH_ID = 8,
};

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
	};
	char a[80];

	ack_sensor(r, to, id, status[why], 0, 0);
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
	if (++r->seq == 0)
		r->seq = 1;
	p = &r->pend[slot];
	p->id = (uint64_t)r->seq << 32 | slot;
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

static void link_lost(struct gwd_relay *r, uint64_t now, const char *why)
{
	if (gwd_store_link_close(&r->link, now, why) && r->used)
		rt_warn("store link lost with %zu batches in flight: UNREACHABLE to their "
			"sensors (they retry)", r->used);
	fail_all(r, GWD_REC_REFUSED_UNREACHABLE);
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
	if (!gwd_store_link_is_up(&r->link)) {
		refuse(r, f->from, f->payload, GWD_REC_REFUSED_UNREACHABLE);
		return;
	}
	p = entry_take(r, now);
	if (!p) {
		refuse(r, f->from, f->payload, GWD_REC_REFUSED_BUSY);
		return;
	}
	iomt_store_be64(id, p->id);
	e = gwd_store_link_queue(&r->link, IOMT_MSG_REC_PUT, id, sizeof(id),
				 f->payload + RELAY_BATCH_ID, f->len - RELAY_BATCH_ID);
	if (e) {
		entry_free(r, p);
		refuse(r, f->from, f->payload,
		       e == -ENOBUFS ? GWD_REC_REFUSED_BUSY : GWD_REC_REFUSED_UNREACHABLE);
		return;
	}
	memcpy(p->sensor_id, f->payload, sizeof(p->sensor_id));
	p->to = *f->from;
	p->records = r->scratch.count;
	rt_metric_inc(&gwd_stats.rec_forwarded);
	rt_metric_add(&gwd_stats.rec_records_forwarded, r->scratch.count);
}

static void relay_handle(void *role, enum gwd_src src, const struct gwd_frame *f, size_t n,
			 uint64_t now_ms)
{
	struct gwd_relay *r = role;
	int e;

	(void)src;
	for (size_t i = 0; i < n; i++)
		forward(r, &f[i], now_ms);
	e = gwd_store_link_flush(&r->link);
	if (e)
		link_lost(r, now_ms, strerror(-e));
}

/* ---- store -> sensor ---- */

static void store_ack(struct gwd_relay *r, const struct gwd_frame *f)
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

static void link_input(struct gwd_relay *r, uint64_t now)
{
	char why[80];
	int bad, e;

	for (int pass = 0; pass < RELAY_READS_MAX && gwd_store_link_is_up(&r->link); pass++) {
		size_t n = gwd_store_link_frames(&r->link, r->frames, r->batch, &bad);

		for (size_t i = 0; i < n; i++)
			store_ack(r, &r->frames[i]);
		if (n)
			continue;
		if (bad) {
			rt_metric_inc(&gwd_stats.store_stream_errors);
			snprintf(why, sizeof(why), "corrupt stream (%s)", iomt_strerror(bad));
			link_lost(r, now, why);
			return;
		}
		e = gwd_store_link_fill(&r->link);
		if (e < 0)
			link_lost(r, now, e == -ECONNRESET ? "closed by the store" : strerror(-e));
		if (e <= 0)
			return;
	}
}

static void link_events(struct gwd_relay *r, uint32_t events, uint64_t now)
{
	int e;

	if (r->link.state == GWD_LINK_CONNECTING) {
		gwd_store_link_on_connect(&r->link, events, now);
		return;
	}
	if (r->link.state != GWD_LINK_UP)
		return;
	if (events & EPOLLOUT) {
		e = gwd_store_link_flush(&r->link);
		if (e) {
			link_lost(r, now, strerror(-e));
			return;
		}
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		link_input(r, now);
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
	struct epoll_event ev[RELAY_EVENTS];
	uint64_t next, link;
	int n;

	/* The engine woke for our epoll set (or a timer): drain it. */
	n = epoll_wait(r->epfd, ev, RELAY_EVENTS, 0);
	for (int i = 0; i < n; i++)
		link_events(r, ev[i].events, now_ms);
	gwd_store_link_tick(&r->link, now_ms);
	expire(r, now_ms);
	next = r->used ? r->next_deadline : UINT64_MAX;
	link = gwd_store_link_deadline(&r->link);
	return link < next ? link : next;
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

	return r->used;
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

static int relay_alloc(struct gwd_relay *r, size_t cap, size_t batch)
{
	r->cap = cap;
	r->batch = batch;
	r->pend = calloc(cap, sizeof(*r->pend));
	r->free_slots = calloc(cap, sizeof(*r->free_slots));
	r->frames = calloc(batch, sizeof(*r->frames));
	if (!r->pend || !r->free_slots || !r->frames)
		return -ENOMEM;
	for (size_t i = 0; i < cap; i++)
		r->free_slots[i] = (uint32_t)(cap - 1 - i);
	return 0;
}

int gwd_relay_init(struct gwd_relay *r, const struct gwd_cfg *cfg, const struct gwd_tx *tx,
		   int outer_epfd, char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = GWD_RELAY_EPOLL_TAG };
	/* Every pending batch can sit in the queue at once: one datagram each. */
	size_t tx_cap = (size_t)cfg->relay_pending_max * GWD_UDP_RX_BUF;
	int e;

	memset(r, 0, sizeof(*r));
	r->tx = tx;
	r->epfd = r->outer_epfd = -1;
	r->link.fd = -1;
	r->timeout_ms = cfg->relay_timeout_ms;
	if (rt_random(&r->seq, sizeof(r->seq))) {
		snprintf(err, errlen, "relay: no randomness for batch ids");
		return -EIO;
	}
	e = relay_alloc(r, (size_t)cfg->relay_pending_max, (size_t)cfg->batch_max);
	if (!e)
		e = gwd_store_link_init(&r->link, &cfg->store, -1, tx_cap,
					cfg->store_reconnect_max_ms);
	if (e) {
		snprintf(err, errlen, "out of memory for the relay role");
		return e;
	}
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	r->link.epfd = r->epfd;
	if (r->epfd < 0 || epoll_ctl(outer_epfd, EPOLL_CTL_ADD, r->epfd, &ev)) {
		e = -errno;
		snprintf(err, errlen, "relay: epoll: %s", strerror(errno));
		return e;
	}
	r->outer_epfd = outer_epfd;
	return 0;
}

void gwd_relay_fini(struct gwd_relay *r)
{
	/* The stop's wait is over: these sensors hear nothing, time out and
	 * resend (they still hold their batches; the store dedups). */
	if (r->used)
		rt_warn("stopping with %zu batches unacknowledged by the store: their sensors "
			"will resend", r->used);
	gwd_store_link_fini(&r->link);
	if (r->epfd >= 0) {
		if (r->outer_epfd >= 0)
			epoll_ctl(r->outer_epfd, EPOLL_CTL_DEL, r->epfd, NULL);
		close(r->epfd);
	}
	free(r->pend);
	free(r->free_slots);
	free(r->frames);
	memset(r, 0, sizeof(*r));
	r->epfd = r->outer_epfd = -1;
}

void gwd_relay_describe(const struct gwd_relay *r, char *buf, size_t len)
{
	char ep[80];

	snprintf(buf, len, "relay role up: records to the store at %s (TCP), %zu batches in "
		 "flight at most", rt_endpoint_str(&r->link.ep, ep, sizeof(ep)), r->cap);
}
