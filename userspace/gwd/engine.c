/* SPDX-License-Identifier: MIT */
/* The epoll loop: receive, check, dispatch to the role, flush, timers. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>

#include "baseline.h"
#include "engine.h"
#include "iomt_err.h"
#include "lib/rt_daemon.h"
#include "lib/rt_log.h"
#include "metrics.h"
#include "worker.h"

enum tag {
	TAG_SIGNAL = 1,
	TAG_UDP,
	TAG_METRICS,
	TAG_FILTER,	/* the XDP interface's link state */
	TAG_HANDOFF,	/* a worker handed frames over (worker.h) */
	TAG_LINK,	/* + the link's index: the last tag */
};

uint64_t gwd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- what the role may send ---- */

static int tx_device(void *ctx, const struct gwd_addr *to, uint8_t type, const void *payload,
		     size_t len)
{
	struct gwd_engine *e = ctx;

	if (gwd_ble_is_peer(to))	/* a BLE sensor: its own channel, now */
		return gwd_ble_send(&e->ble, to, type, payload, len);
	if (e->use_uring)
		return gwd_uring_queue(&e->uring, to, type, payload, len);
	return gwd_udp_queue(&e->udp, to, type, payload, len);
}

/* Datagrams queued leave now: one sendmmsg. On io_uring their SQEs wait
 * for the loop's next io_uring_enter (every path ends in gwd_uring_wait,
 * and uring_input submits between passes of a burst): one syscall per
 * pass instead of two. */
static void udp_flush(struct gwd_engine *e)
{
	if (!e->use_uring)
		gwd_udp_flush(&e->udp);
}

static void uring_submit(struct gwd_engine *e)
{
	int r = gwd_uring_flush(&e->uring);

	if (r)
		rt_warn("io_uring submit: %s", strerror(-r));
}

static int tx_upstream(void *ctx, uint8_t type, const void *payload, size_t len)
{
	struct gwd_engine *e = ctx;

	if (!e->upstream)
		return -ENOTCONN;
	return gwd_link_queue(e->upstream, type, payload, len, NULL, 0);
}

static int tx_upstream_up(void *ctx)
{
	struct gwd_engine *e = ctx;

	return e->upstream && gwd_link_is_up(e->upstream);
}

static void engine_stop(struct gwd_engine *e, uint64_t now);

static void tx_fatal(void *ctx, const char *why)
{
	struct gwd_engine *e = ctx;

	rt_err("%s: stopping (a restart reopens the state)", why);
	e->failed = 1;
	if (!e->stopping)
		engine_stop(e, gwd_now_ms());
}

/* ---- link state changes reach the roles ---- */

static void roles_link(struct gwd_engine *e, int up, uint64_t now)
{
	for (size_t r = 0; r < e->nroles; r++)
		e->role[r]->link(e->role_ctx[r], up, now);
}

static size_t roles_outstanding(struct gwd_engine *e)
{
	size_t n = 0;

	for (size_t r = 0; r < e->nroles; r++)
		n += e->role[r]->outstanding(e->role_ctx[r]);
	return n;
}

/* The role that takes this type from this source, or -1. */
static int role_for(const struct gwd_engine *e, enum gwd_src src, uint8_t type)
{
	for (size_t r = 0; r < e->nroles; r++)
		if (e->role[r]->claims(src, type))
			return (int)r;
	return -1;
}

static const struct gwd_link_user *link_user(const struct gwd_engine *e,
					     const struct gwd_link *l)
{
	return &e->link_user[l - e->link];
}

static void engine_link_down(struct gwd_engine *e, struct gwd_link *l, uint64_t now,
			     const char *why)
{
	const struct gwd_link_user *u = link_user(e, l);

	if (gwd_link_close(l, now, why)) {
		u->state(u->ctx, 0, now);
		udp_flush(e);
	}
}

static void engine_link_up(struct gwd_engine *e, struct gwd_link *l, uint64_t now)
{
	const struct gwd_link_user *u = link_user(e, l);

	u->state(u->ctx, 1, now);
}

/* Sends what was queued: datagrams in one sendmmsg, each link's frames in
 * one write. */
static void engine_flush(struct gwd_engine *e, uint64_t now)
{
	udp_flush(e);
	for (size_t i = 0; i < e->nlinks; i++) {
		struct gwd_link *l = &e->link[i];
		int r;

		if (!gwd_link_is_up(l) || !l->tx_len)
			continue;
		r = gwd_link_flush(l);
		if (r)
			engine_link_down(e, l, now, strerror(-r));
	}
}

/* Each role gets its frames of the batch (owner[i]), in arrival order;
 * the caller flushes what they queued. */
static void engine_dispatch(struct gwd_engine *e, enum gwd_src src, size_t n)
{
	uint64_t now = gwd_now_ms();

	for (size_t r = 0; n && r < e->nroles; r++) {
		size_t k = 0;

		if (e->nroles == 1) {
			e->role[0]->handle(e->role_ctx[0], src, e->frames, n, now);
			break;
		}
		for (size_t i = 0; i < n; i++)
			if (e->owner[i] == r)
				e->sorted[k++] = e->frames[i];
		if (k)
			e->role[r]->handle(e->role_ctx[r], src, e->sorted, k, now);
	}
}

/* ---- device datagrams ---- */

static void engine_drop(enum gwd_drop why, const struct gwd_addr *from, size_t len)
{
	char a[80];

	rt_metric_inc(&gwd_stats.drop[why]);
	if (rt_log_enabled(RT_LOG_DEBUG))
		rt_dbg("dropped %zu-byte datagram from %s: %s", len,
		       from ? gwd_addr_str(from, a, sizeof(a)) : "?", gwd_drop_name[why]);
}

/* A datagram the ingress filter dropped (counted there by verdict): a
 * malformed or mis-sized one is counted by reason here too, as the frame
 * checks below would have. */
static void filter_drop(int v, const struct gwd_addr *from, const uint8_t *buf, size_t len)
{
	uint8_t t;
	const uint8_t *p;
	size_t n;
	char a[80];
	int r;

	if (v == IOMT_XF_DROP_MALFORMED || v == IOMT_XF_DROP_SIZE) {
		r = iomt_wire_parse(buf, len, &t, &p, &n);
		engine_drop(r == IOMT_EMALFORMED || (!r && v == IOMT_XF_DROP_MALFORMED) ?
			    GWD_DROP_MALFORMED : GWD_DROP_SIZE, from, len);
		return;
	}
	if (rt_log_enabled(RT_LOG_DEBUG))
		rt_dbg("dropped %zu-byte datagram from %s: ingress filter: %s", len,
		       gwd_addr_str(from, a, sizeof(a)), gwd_filter_verdict_name(v));
}

/* Cookies (filter.h): a COOKIE_WRAP becomes its inner request; under load
 * a plain request gets COOKIE_REPLY (through reply) and goes no further.
 * 0: go on with *f. */
static int cookie_gate(struct gwd_filter *filt, struct gwd_frame *f, const struct gwd_addr *from,
		       gwd_reply_fn reply, void *ctx)
{
	uint8_t c[IOMT_COOKIE_LEN];

	if (f->type == IOMT_MSG_COOKIE_WRAP) {
		if (!gwd_filter_unwrap(filt, from, f->payload, f->len, &f->type, &f->payload,
				       &f->len))
			return 0;
		engine_drop(GWD_DROP_MALFORMED, from, f->len);
		return -1;
	}
	if (!gwd_filter_under_load(filt) || !gwd_filter_is_request(f->type))
		return 0;
	if (gwd_filter_cookie(filt, from, c) == 0)
		reply(ctx, from, IOMT_MSG_COOKIE_REPLY, c, sizeof(c));
	return -1;
}

int gwd_ingress_check(struct gwd_filter *filt, const struct gwd_addr *from, const uint8_t *buf,
		      size_t len, int cut, struct gwd_frame *f, gwd_reply_fn reply, void *ctx)
{
	int r;

	if (cut) {
		engine_drop(GWD_DROP_OVERSIZED, from, len);
		return -1;
	}
	/* The ingress filter first (counted by verdict; PASS at once when XDP
	 * judged the datagram already). */
	r = gwd_filter_judge(filt, from, buf, len);
	if (r != IOMT_XF_PASS) {
		filter_drop(r, from, buf, len);
		return -1;
	}
	/* A datagram is exactly one frame of exactly its type's size: anything
	 * else is truncated, padded or forged, and refused before any work. */
	r = iomt_wire_parse(buf, len, &f->type, &f->payload, &f->len);
	if (r) {
		engine_drop(r == IOMT_EMALFORMED ? GWD_DROP_MALFORMED : GWD_DROP_SIZE, from, len);
		return -1;
	}
	if (cookie_gate(filt, f, from, reply, ctx))
		return -1;
	f->from = from;
	return 0;
}

/* Datagram i as a frame in *f for role *owner: 0, or -1 when dropped
 * (counted, logged). */
static int udp_frame(struct gwd_engine *e, unsigned i, struct gwd_frame *f, uint8_t *owner)
{
	const struct gwd_addr *from;
	const uint8_t *buf;
	size_t len;
	int cut, r;

	if (e->use_uring) {
		from = gwd_uring_from(&e->uring, i);
		buf = gwd_uring_datagram(&e->uring, i, &len, &cut);
	} else {
		from = gwd_udp_from(&e->udp, i);
		buf = gwd_udp_datagram(&e->udp, i, &len, &cut);
	}
	if (gwd_ingress_check(&e->filter, from, buf, len, cut, f, tx_device, e))
		return -1;
	if ((r = role_for(e, GWD_SRC_DEVICE, f->type)) < 0) {
		engine_drop(GWD_DROP_TYPE, from, len);
		return -1;
	}
	*owner = (uint8_t)r;
	return 0;
}

/* Checks n datagrams of the last receive, dispatches them, sends. */
static void udp_batch(struct gwd_engine *e, unsigned n)
{
	size_t k = 0;

	gwd_worker_count_rx(0, n);
	for (unsigned i = 0; i < n; i++)
		if (udp_frame(e, i, &e->frames[k], &e->owner[k]) == 0)
			k++;
	engine_dispatch(e, GWD_SRC_DEVICE, k);
	engine_flush(e, gwd_now_ms());
}

/* Frames the other workers checked and handed over (worker.h): dispatched
 * like worker 0's own, a batch at a time, answered from worker 0's socket
 * (the same address and port); their slots go back after each batch. */
static void engine_handoff_input(struct gwd_engine *e)
{
	uint64_t v;
	int more = 0;

	if (read(e->handoff_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		rt_warn("hand-off eventfd: %s", strerror(errno));
	for (unsigned w = 1; e->wk && w < e->nworkers; w++) {
		struct gwd_handoff *q = &e->wk[w - 1].q;
		int pass;

		for (pass = 0; pass < GWD_UDP_PASSES_MAX; pass++) {
			unsigned first, n = gwd_handoff_peek(q, (unsigned)e->batch, &first);
			size_t k = 0;

			if (!n)
				break;
			for (unsigned i = 0; i < n; i++) {
				const struct gwd_handoff_slot *sl = gwd_handoff_at(q, first + i);
				int r = role_for(e, GWD_SRC_DEVICE, sl->type);

				if (r < 0) {
					engine_drop(GWD_DROP_TYPE, &sl->from, sl->len);
					continue;
				}
				e->frames[k] = (struct gwd_frame){ sl->type, sl->payload, sl->len,
								   &sl->from };
				e->owner[k++] = (uint8_t)r;
			}
			engine_dispatch(e, GWD_SRC_DEVICE, k);
			engine_flush(e, gwd_now_ms());
			gwd_handoff_release(q, n);
		}
		if (pass == GWD_UDP_PASSES_MAX && gwd_handoff_pending(q))
			more = 1;
	}
	/* Not all taken (other work waits too): come back on the next pass. */
	v = 1;
	if (more && write(e->handoff_fd, &v, sizeof(v)) < 0)
		rt_warn("hand-off eventfd: %s", strerror(errno));
}

/* SDU i of a BLE channel as a frame: the checks of a datagram, but not the
 * UDP ingress filter (keyed by IP source; a channel has its own socket
 * filter, ble.h) nor cookies (a connected channel's sender is not forged).
 * 0, or -1 when dropped (counted, logged). */
static int ble_frame(struct gwd_engine *e, unsigned i, struct gwd_frame *f, uint8_t *owner)
{
	const struct gwd_addr *from = gwd_ble_from(&e->ble, i);
	size_t len;
	int cut, r;
	const uint8_t *buf = gwd_ble_datagram(&e->ble, i, &len, &cut);

	if (cut) {
		engine_drop(GWD_DROP_OVERSIZED, from, len);
		return -1;
	}
	r = iomt_wire_parse(buf, len, &f->type, &f->payload, &f->len);
	if (r) {
		engine_drop(r == IOMT_EMALFORMED ? GWD_DROP_MALFORMED : GWD_DROP_SIZE, from, len);
		return -1;
	}
	if ((r = role_for(e, GWD_SRC_DEVICE, f->type)) < 0) {
		engine_drop(GWD_DROP_TYPE, from, len);
		return -1;
	}
	*owner = (uint8_t)r;
	f->from = from;
	return 0;
}

/* n SDUs of BLE channels checked and dispatched to the roles like
 * datagrams (GWD_SRC_DEVICE), their answers sent. */
static void ble_batch(struct gwd_engine *e, unsigned n)
{
	size_t k = 0;

	if (!n)
		return;
	for (unsigned i = 0; i < n; i++)
		if (ble_frame(e, i, &e->frames[k], &e->owner[k]) == 0)
			k++;
	engine_dispatch(e, GWD_SRC_DEVICE, k);
	engine_flush(e, gwd_now_ms());
}

/* A BLE epoll event (the recvmmsg path): accepts, or a channel's SDUs. */
static void engine_ble_event(struct gwd_engine *e, uint64_t tag, uint32_t events)
{
	ble_batch(e, gwd_ble_event(&e->ble, tag, events));
}

/* The io_uring path: the BLE completions of this reap (accepts, SDUs,
 * closes, send results), in the UDP datagrams' batch. */
static void engine_ble_ring(struct gwd_engine *e)
{
	ble_batch(e, gwd_ble_ring(&e->ble, e->uring.ev, e->uring.nev));
	gwd_ble_recycle(&e->ble);
}

static void engine_udp_input(struct gwd_engine *e)
{
	for (int pass = 0; pass < GWD_UDP_PASSES_MAX; pass++) {
		int n = gwd_udp_recv(&e->udp);

		if (n < 0)
			rt_warn("UDP receive: %s", strerror(-n));
		if (n <= 0)
			return;
		udp_batch(e, (unsigned)n);
		if ((size_t)n < e->batch)
			return;	/* the socket is drained */
	}
}

/* ---- TTP frames: the link user of the upstream link ---- */

/* Keeps the frames a role takes from the TTP (in e->frames, their role in
 * e->owner); counts the others. */
static size_t upstream_filter(struct gwd_engine *e, const struct gwd_frame *f, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		int r = role_for(e, GWD_SRC_UPSTREAM, f[i].type);

		if (r >= 0) {
			e->owner[k] = (uint8_t)r;
			e->frames[k++] = f[i];
			continue;
		}
		rt_dbg("dropped frame of type 0x%02x from the TTP", f[i].type);
		rt_metric_inc(&gwd_stats.drop[GWD_DROP_TYPE]);
	}
	return k;
}

static void upstream_frames(void *ctx, const struct gwd_frame *f, size_t n, uint64_t now_ms)
{
	struct gwd_engine *e = ctx;

	(void)now_ms;
	engine_dispatch(e, GWD_SRC_UPSTREAM, upstream_filter(e, f, n));
}

static void upstream_state(void *ctx, int up, uint64_t now_ms)
{
	roles_link(ctx, up, now_ms);
}

/* ---- link events ---- */

static void engine_link_input(struct gwd_engine *e, struct gwd_link *l, uint64_t now)
{
	const struct gwd_link_user *u = link_user(e, l);
	char why[80];
	int bad, r;

	for (int pass = 0; pass < GWD_LINK_PASSES_MAX && gwd_link_is_up(l); pass++) {
		size_t n = gwd_link_frames(l, e->frames, e->batch, &bad);

		if (n) {
			u->frames(u->ctx, e->frames, n, now);
			engine_flush(e, now);
			continue;
		}
		if (bad) {
			rt_metric_inc(&l->c.stats->stream_errors);
			snprintf(why, sizeof(why), "corrupt stream (%s)", iomt_strerror(bad));
			engine_link_down(e, l, now, why);
			return;
		}
		r = gwd_link_fill(l);
		if (r == -ECONNRESET)
			snprintf(why, sizeof(why), "closed by the %s", l->c.name);
		if (r < 0)
			engine_link_down(e, l, now, r == -ECONNRESET ? why : strerror(-r));
		if (r <= 0)
			return;
	}
}

static void engine_on_link(struct gwd_engine *e, struct gwd_link *l, uint32_t events,
			   uint64_t now)
{
	if (l->state == GWD_LINK_CONNECTING) {
		if (gwd_link_on_connect(l, events, now))
			engine_link_up(e, l, now);
		return;
	}
	if (events & EPOLLOUT)
		engine_flush(e, now);
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		engine_link_input(e, l, now);
}

/* ---- signals, timers, the loop ---- */

static void engine_stop(struct gwd_engine *e, uint64_t now)
{
	if (e->stopping) {
		rt_info("second stop signal: not waiting any longer");
		e->stop_deadline = now;
		return;
	}
	e->stopping = 1;
	e->stop_deadline = now + e->cfg->agreement_timeout_ms;
	/* The other workers first: they stop receiving and hand off what they
	 * hold; the kernel then steers their devices to worker 0's socket. */
	gwd_workers_stop(e);
	for (size_t r = 0; r < e->nroles; r++)
		e->role[r]->drain(e->role_ctx[r]);
	rt_info("stopping: new M1s get BUSY (AP requests too); waiting up to %llu ms for %zu "
		"agreements in flight", (unsigned long long)e->cfg->agreement_timeout_ms,
		roles_outstanding(e));
}

static void engine_on_signal(struct gwd_engine *e, uint64_t now)
{
	unsigned ev = rt_daemon_signal_read(e->sigfd);

	if (ev & RT_SIG_STOP)
		engine_stop(e, now);
	if ((ev & RT_SIG_RELOAD) && rt_log_reopen())
		rt_warn("reopening the log file failed");
	if (ev & RT_SIG_RELOAD)
		rt_info("SIGHUP: log file reopened (other settings take a restart)");
}

static void engine_event(struct gwd_engine *e, const struct epoll_event *ev)
{
	uint64_t now = gwd_now_ms();

	switch (ev->data.u64) {
	case TAG_SIGNAL:
		engine_on_signal(e, now);
		break;
	case TAG_UDP:
		engine_udp_input(e);
		break;
	case TAG_METRICS:
		gwd_metrics_accept(e->metrics_fd);
		break;
	case TAG_FILTER:
		gwd_filter_link_event(&e->filter);
		break;
	case TAG_HANDOFF:
		engine_handoff_input(e);
		break;
	default:
		if (gwd_ble_is_tag(ev->data.u64))
			engine_ble_event(e, ev->data.u64, ev->events);
		else if (ev->data.u64 - TAG_LINK < e->nlinks)
			engine_on_link(e, &e->link[ev->data.u64 - TAG_LINK], ev->events, now);
		break;
	}
}

/* Under load while the roles' requests in flight reach
 * under_load_threshold (0: always), until they fall below half of it. */
static void engine_load(struct gwd_engine *e)
{
	uint64_t out = roles_outstanding(e), thr = (uint64_t)e->cfg->under_load_threshold;

	if (!gwd_filter_under_load(&e->filter))
		gwd_filter_load(&e->filter, out >= thr);
	else if (thr && out * 2 < thr)
		gwd_filter_load(&e->filter, 0);
}

/* Runs what is due: the next deadline (ms), or UINT64_MAX. */
static uint64_t engine_timers(struct gwd_engine *e, uint64_t now)
{
	uint64_t next = gwd_filter_tick(&e->filter, now);

	engine_load(e);

	for (size_t i = 0; i < e->nlinks; i++)
		if (gwd_link_tick(&e->link[i], now))
			engine_link_up(e, &e->link[i], now);
	for (size_t r = 0; r < e->nroles; r++) {
		uint64_t t = e->role[r]->tick(e->role_ctx[r], now);

		next = t < next ? t : next;
	}
	engine_flush(e, now);
	for (size_t i = 0; i < e->nlinks; i++) {
		uint64_t t = gwd_link_deadline(&e->link[i]);

		next = t < next ? t : next;
	}
	if (e->ble.on) {
		uint64_t t = gwd_ble_tick(&e->ble, now, 0);

		next = t < next ? t : next;
	}
	if (e->stopping && e->stop_deadline < next)
		next = e->stop_deadline;
	return next;
}

static int wait_ms(uint64_t next, uint64_t now)
{
	if (next == UINT64_MAX)
		return -1;
	if (next <= now)
		return 0;
	return next - now > INT_MAX ? INT_MAX : (int)(next - now);
}

/* Handles what the epoll set holds (links, signals, metrics; the UDP
 * socket too on the recvmmsg path): the number of events, or -errno. */
static int epoll_pass(struct gwd_engine *e, int timeout_ms)
{
	struct epoll_event ev[GWD_EVENTS_MAX];
	int n = epoll_wait(e->epfd, ev, GWD_EVENTS_MAX, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++)
		engine_event(e, &ev[i]);
	return n;
}

static int run_epoll(struct gwd_engine *e)
{
	for (;;) {
		uint64_t now = gwd_now_ms(), next = engine_timers(e, now);
		int n;

		if (e->stopping && (!roles_outstanding(e) || now >= e->stop_deadline))
			return e->failed ? -EIO : 0;
		n = epoll_pass(e, wait_ms(next, now));
		if (n < 0) {
			rt_err("epoll_wait: %s", strerror(-n));
			return n;
		}
	}
}

/* The ring's completions: datagrams in batches of at most batch_max, each
 * handled and answered before the next is taken (its buffers then go back
 * to the kernel); then the epoll set if its poll fired. */
static int uring_input(struct gwd_engine *e)
{
	e->uring.last_n = 0;
	for (int pass = 0; pass < GWD_UDP_PASSES_MAX; pass++) {
		unsigned n = gwd_uring_reap(&e->uring);

		e->uring.last_n += n;
		if (n)
			udp_batch(e, n);
		if (e->uring.nev)	/* BLE's, on worker 0's ring */
			engine_ble_ring(e);
		gwd_uring_recycle(&e->uring);
		if (n < e->batch && !e->uring.ev_full)
			break;
		uring_submit(e);	/* a burst: this batch's answers go now */
	}
	if (e->uring.epoll_ready) {
		int n = epoll_pass(e, 0);

		if (n < 0)
			return n;
		e->uring.epoll_ready = 0;
	}
	/* Armed again at once (a no-op while armed; retried on every pass
	 * should the SQ have been full): arming polls the epoll fd, which is
	 * readable while any event is ready, so one left ready (level-
	 * triggered, or beyond GWD_EVENTS_MAX) completes the poll at once. */
	gwd_uring_poll_epoll(&e->uring);
	return 0;
}

static int run_uring(struct gwd_engine *e)
{
	for (;;) {
		uint64_t now = gwd_now_ms(), next = engine_timers(e, now);
		int r;

		if (e->stopping && gwd_workers_done(e) &&
		    (!roles_outstanding(e) || now >= e->stop_deadline)) {
			/* What the stopped workers handed over last is answered. */
			gwd_workers_join(e);
			if (e->nworkers > 1)
				engine_handoff_input(e);
			/* The last answers (BUSY, M4s, ACKs) are SQEs: send them. */
			gwd_uring_drain(&e->uring, 1000);
			return e->failed ? -EIO : 0;
		}
		/* One io_uring_enter: the pass's sends and re-arms go in, and we
		 * sleep until a completion or the next timer. */
		r = gwd_uring_wait(&e->uring, wait_ms(next, now));
		if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
			rt_err("io_uring wait: %s", strerror(-r));
			return r;
		}
		r = uring_input(e);
		if (r < 0) {
			rt_err("epoll_wait: %s", strerror(-r));
			return r;
		}
		if (e->uring.broken) {
			rt_err("io_uring receive keeps failing: stopping (set 'baseline yes' to run "
			       "on recvmmsg)");
			return -EIO;
		}
	}
}

int gwd_engine_run(struct gwd_engine *e)
{
	char err[256];

	if (e->nworkers > 1) {
		if (gwd_workers_start(e, err, sizeof(err))) {
			rt_err("%s: stopping", err);
			return -EIO;
		}
		rt_info("ingress: io_uring, %u workers (SO_REUSEPORT)", e->nworkers);
	}
	return e->use_uring ? run_uring(e) : run_epoll(e);
}

/* ---- set-up ---- */

static int watch(struct gwd_engine *e, int fd, enum tag tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* The bound ports, for port 0 (tests, several daemons on one host);
 * written whole and renamed, so a reader never sees half a file. */
static int write_port_file(struct gwd_engine *e, char *err, size_t errlen)
{
	const char *path = e->cfg->port_file;
	char tmp[PATH_MAX + 8], udp[80], met[80];
	FILE *f;

	if (!path[0])
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (f) {
		fprintf(f, "listen %s\nmetrics_listen %s\n",
			rt_endpoint_str(&e->udp.bound, udp, sizeof(udp)),
			rt_endpoint_str(&e->metrics_bound, met, sizeof(met)));
		if (fclose(f) == 0 && rename(tmp, path) == 0)
			return 0;
	}
	snprintf(err, errlen, "port_file %s: %s", path, strerror(errno));
	unlink(tmp);
	return -errno;
}

static int open_sockets(struct gwd_engine *e, char *err, size_t errlen)
{
	char ep[80];
	int r = gwd_udp_open(&e->udp, &e->cfg->listen, (unsigned)e->batch, e->cfg->udp_rcvbuf,
			     e->nworkers > 1);

	if (r) {
		snprintf(err, errlen, "listen %s: %s",
			 rt_endpoint_str(&e->cfg->listen, ep, sizeof(ep)), strerror(-r));
		return r;
	}
	e->metrics_fd = gwd_metrics_listen(&e->cfg->metrics_listen, &e->metrics_bound);
	if (e->metrics_fd < 0) {
		snprintf(err, errlen, "metrics_listen %s: %s",
			 rt_endpoint_str(&e->cfg->metrics_listen, ep, sizeof(ep)),
			 strerror(-e->metrics_fd));
		return e->metrics_fd;
	}
	return 0;
}

/* The MEC role's link: its frames go to the roles as GWD_SRC_UPSTREAM. */
static int open_upstream(struct gwd_engine *e, size_t tx_cap, char *err, size_t errlen)
{
	const struct gwd_link_cfg c = {
		.name = "TTP", .ep = e->cfg->ttp, .tx_cap = tx_cap,
		.backoff_max_ms = e->cfg->ttp_reconnect_max_ms, .stats = &gwd_stats.ttp_link,
	};
	const struct gwd_link_user u = { e, upstream_frames, upstream_state };
	int r = gwd_engine_add_link(e, &c, &u, &e->upstream);

	if (r)
		snprintf(err, errlen, "TTP link: %s", strerror(-r));
	return r;
}

/* The ingress filter on the bound port; its interface's link state on
 * the epoll set. */
static int open_filter(struct gwd_engine *e, char *err, size_t errlen)
{
	const struct sockaddr_storage *ss = &e->udp.bound.addr;
	uint16_t port = ss->ss_family == AF_INET6 ?
		ntohs(((const struct sockaddr_in6 *)(const void *)ss)->sin6_port) :
		ntohs(((const struct sockaddr_in *)(const void *)ss)->sin_port);
	int r = gwd_filter_open(&e->filter, e->cfg, port, err, errlen);

	if (!r && gwd_filter_fd(&e->filter) >= 0 &&
	    (r = watch(e, gwd_filter_fd(&e->filter), TAG_FILTER)))
		snprintf(err, errlen, "epoll: %s", strerror(-r));
	return r;
}

/* Workers 1..N-1 (worker.h): their sockets and hand-off rings; the
 * eventfd they wake worker 0 with is on the epoll set. */
static int open_workers(struct gwd_engine *e, char *err, size_t errlen)
{
	int r;

	e->handoff_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->handoff_fd < 0 || (r = watch(e, e->handoff_fd, TAG_HANDOFF))) {
		r = -errno;
		snprintf(err, errlen, "workers: eventfd: %s", strerror(-r));
		return r;
	}
	if ((r = gwd_workers_open(e, e->nworkers, err, errlen)))
		return r;
	/* The workers judge datagrams too: the filter's tables take a lock. */
	gwd_filter_share(&e->filter);
	return 0;
}

/* io_uring, unless 'baseline' or the kernel refuses it (then recvmmsg,
 * logged): the UDP socket joins the epoll set only on the recvmmsg path. */
static int open_ingress(struct gwd_engine *e, char *err, size_t errlen)
{
	char why[160], fl[64];
	int r;

	if ((r = gwd_uring_metrics())) {
		snprintf(err, errlen, "metrics registration: %s", strerror(-r));
		return r;
	}
	if (e->cfg->baseline) {
		if (e->nworkers > 1)
			rt_info("baseline mode: one worker (plain single-threaded recvmmsg), not "
				"%u", e->nworkers);
		e->nworkers = 1;
		gwd_baseline_hash();
		rt_info("baseline mode: recvmmsg ingress, per-call OpenSSL SHAKE128 and KMAC128 "
			"(benchmark reference only)");
	} else if (gwd_uring_open(&e->uring, &e->udp, e->epfd, (unsigned)e->cfg->uring_buffers,
				  (unsigned)e->batch, why, sizeof(why)) == 0) {
		e->use_uring = 1;
		rt_info("ingress: io_uring (setup flags %s, %d provided buffers, multishot recvmsg)",
			gwd_uring_flags_str(&e->uring, fl, sizeof(fl)), e->cfg->uring_buffers);
		return e->nworkers > 1 ? open_workers(e, err, errlen) : 0;
	} else if (!strncmp(why, "uring_buffers", 13)) {
		snprintf(err, errlen, "%s", why);
		gwd_uring_close(&e->uring);
		return -EINVAL;
	} else {
		rt_warn("%s: falling back to recvmmsg%s", why,
			e->nworkers > 1 ? " with one worker" : "");
		gwd_uring_close(&e->uring);
		e->nworkers = 1;
	}
	r = watch(e, e->udp.fd, TAG_UDP);
	if (r)
		snprintf(err, errlen, "epoll: %s", strerror(-r));
	return r;
}

/* 'workers': 0 is one per online CPU; at most GWD_WORKERS_MAX. */
static unsigned workers_wanted(const struct gwd_cfg *cfg)
{
	long n = cfg->workers > 0 ? cfg->workers : sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > GWD_WORKERS_MAX ? GWD_WORKERS_MAX : (unsigned)n;
}

int gwd_engine_open(struct gwd_engine *e, const struct gwd_cfg *cfg, int sigfd, size_t tx_cap,
		    char *err, size_t errlen)
{
	int r;

	memset(e, 0, sizeof(*e));
	e->cfg = cfg;
	e->sigfd = sigfd;
	e->epfd = e->metrics_fd = e->udp.fd = e->handoff_fd = -1;
	e->batch = (size_t)cfg->batch_max;
	e->nworkers = workers_wanted(cfg);
	e->tx = (struct gwd_tx){ e, tx_device, tx_upstream, tx_upstream_up, tx_fatal };
	e->frames = calloc(e->batch, sizeof(*e->frames));
	e->sorted = calloc(e->batch, sizeof(*e->sorted));
	e->owner = calloc(e->batch, sizeof(*e->owner));
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!e->frames || !e->sorted || !e->owner || e->epfd < 0) {
		snprintf(err, errlen, "event loop: %s", strerror(errno));
		return -errno;
	}
	r = open_sockets(e, err, errlen);
	if (!r)
		r = open_filter(e, err, errlen);
	if (!r && tx_cap)
		r = open_upstream(e, tx_cap, err, errlen);
	if (!r && ((r = watch(e, sigfd, TAG_SIGNAL)) || (r = watch(e, e->metrics_fd, TAG_METRICS))))
		snprintf(err, errlen, "epoll: %s", strerror(-r));
	if (!r)
		r = open_ingress(e, err, errlen);
	if (!r && (r = gwd_workers_metrics(e->nworkers)))
		snprintf(err, errlen, "metrics registration: %s", strerror(-r));
	if (!r)	/* BLE channels: ops on worker 0's ring, or on the epoll set */
		r = gwd_ble_open(&e->ble, cfg, e->epfd, e->use_uring ? &e->uring : NULL, e->batch,
				 err, errlen);
	return r;
}

int gwd_engine_ready(struct gwd_engine *e, char *err, size_t errlen)
{
	return write_port_file(e, err, errlen);
}

int gwd_engine_add_role(struct gwd_engine *e, const struct gwd_role_ops *ops, void *ctx)
{
	if (e->nroles == GWD_ROLES_MAX)
		return -ENOSPC;
	e->role[e->nroles] = ops;
	e->role_ctx[e->nroles++] = ctx;
	return 0;
}

int gwd_engine_add_link(struct gwd_engine *e, const struct gwd_link_cfg *c,
			const struct gwd_link_user *user, struct gwd_link **out)
{
	struct gwd_link *l;

	if (e->nlinks == GWD_LINKS_MAX)
		return -ENOSPC;
	l = &e->link[e->nlinks];
	if (gwd_link_init(l, c, e->epfd, TAG_LINK + e->nlinks)) {
		gwd_link_fini(l);
		return -ENOMEM;
	}
	e->link_user[e->nlinks++] = *user;
	*out = l;
	return 0;
}

void gwd_engine_close(struct gwd_engine *e)
{
	gwd_workers_close(e);	/* stopped and joined first: they use the filter */
	if (e->handoff_fd >= 0)
		close(e->handoff_fd);
	e->handoff_fd = -1;
	for (size_t i = 0; i < e->nlinks; i++)
		gwd_link_fini(&e->link[i]);
	e->nlinks = 0;
	if (e->use_uring)
		gwd_uring_close(&e->uring);
	e->use_uring = 0;
	gwd_filter_close(&e->filter);
	gwd_ble_close(&e->ble);
	gwd_udp_close(&e->udp);
	if (e->metrics_fd >= 0)
		close(e->metrics_fd);
	if (e->epfd >= 0)
		close(e->epfd);
	free(e->frames);
	free(e->sorted);
	free(e->owner);
	e->frames = e->sorted = NULL;
	e->owner = NULL;
}
