/* SPDX-License-Identifier: MIT */
/* The extra ingress workers: one thread, ring and SO_REUSEPORT socket each. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "engine.h"
#include "lib/rt_log.h"
#include "metrics.h"
#include "worker.h"

enum {
	STOP_WAIT_MS = 1000,	/* a worker's own stop: receive cancelled, sends out */
	DROP_LOG_MS = 1000,	/* a full hand-off ring is logged at most this often */
};

/* ---- metrics ---- */

static struct wstat {
	struct rt_metric rx, handed, drops;
	char lrx[48], lhanded[48], ldrops[24];
} wst[GWD_WORKERS_MAX];

static struct rt_metric workers_gauge = RT_GAUGE("iomt_gwd_ingress_workers", NULL,
	"Ingress workers (threads with their own io_uring and SO_REUSEPORT socket)");

int gwd_workers_metrics(unsigned n)
{
	int r = rt_metrics_register(&workers_gauge);

	if (r && r != -EALREADY)
		return r;
	rt_metric_set(&workers_gauge, n);
	for (unsigned i = 0; i < n && i < GWD_WORKERS_MAX; i++) {
		struct wstat *s = &wst[i];

		if (s->rx.name)
			continue;	/* registered already (its list link is live) */
		snprintf(s->lrx, sizeof(s->lrx), "worker=\"%u\",stage=\"received\"", i);
		snprintf(s->lhanded, sizeof(s->lhanded), "worker=\"%u\",stage=\"handed_off\"", i);
		snprintf(s->ldrops, sizeof(s->ldrops), "worker=\"%u\"", i);
		s->rx = (struct rt_metric)RT_COUNTER("iomt_gwd_worker_frames_total", s->lrx,
			"Datagrams an ingress worker received, and frames it handed to worker 0");
		s->handed = (struct rt_metric)RT_COUNTER("iomt_gwd_worker_frames_total", s->lhanded,
			"Datagrams an ingress worker received, and frames it handed to worker 0");
		s->drops = (struct rt_metric)RT_COUNTER("iomt_gwd_handoff_drops_total", s->ldrops,
			"Checked frames a worker dropped because its hand-off ring to worker 0 "
			"was full");
		/* Worker 0 dispatches its own: nothing to hand off. */
		if (((r = rt_metrics_register(&s->rx)) && r != -EALREADY) ||
		    (i && (r = rt_metrics_register(&s->handed)) && r != -EALREADY) ||
		    (i && (r = rt_metrics_register(&s->drops)) && r != -EALREADY))
			return r;
	}
	return 0;
}

void gwd_worker_count_rx(unsigned id, unsigned n)
{
	rt_metric_add(&wst[id].rx, n);
}

/* ---- one worker's datagrams ---- */

/* Cookie replies: from the worker's ring, or its socket once the ring is
 * closed (the last reads of a stop). */
static int worker_reply(void *ctx, const struct gwd_addr *to, uint8_t type, const void *payload,
			size_t len)
{
	struct gwd_worker *w = ctx;

	if (w->ring_open)
		return gwd_uring_queue(&w->uring, to, type, payload, len);
	return gwd_udp_queue(&w->udp, to, type, payload, len);
}

static void handoff_full(struct gwd_worker *w)
{
	uint64_t now = gwd_now_ms();

	rt_metric_inc(&wst[w->id].drops);
	w->drops_unlogged++;
	if (now < w->drop_log_ms)
		return;
	rt_warn("worker %u: hand-off ring to worker 0 full (%u slots): %llu frame(s) dropped "
		"(iomt_gwd_handoff_drops_total)", w->id, w->q.cap,
		(unsigned long long)w->drops_unlogged);
	w->drops_unlogged = 0;
	w->drop_log_ms = now + DROP_LOG_MS;
}

/* One datagram: checked, then into the hand-off ring (or dropped, counted). */
static void worker_datagram(struct gwd_worker *w, const struct gwd_addr *from,
			    const uint8_t *buf, size_t len, int cut)
{
	struct gwd_frame f;
	struct gwd_handoff_slot *s;

	if (gwd_ingress_check(&w->e->filter, from, buf, len, cut, &f, worker_reply, w))
		return;
	s = gwd_handoff_reserve(&w->q);
	if (!s) {
		handoff_full(w);
		return;
	}
	s->from = *from;
	s->type = f.type;
	s->len = (uint16_t)f.len;
	memcpy(s->payload, f.payload, f.len);
}

/* Publishes what was reserved and wakes worker 0. */
static void worker_publish(struct gwd_worker *w)
{
	int wake;
	unsigned n = gwd_handoff_publish(&w->q, &wake);
	uint64_t one = 1;

	if (!n)
		return;
	rt_metric_add(&wst[w->id].handed, n);
	/* Worker 0 still busy with earlier frames sees these too: no wake-up. */
	if (wake && write(w->e->handoff_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		rt_warn("worker %u: waking worker 0: %s", w->id, strerror(errno));
}

/* The ring's completions, a batch at a time, like worker 0's. */
static void worker_input(struct gwd_worker *w)
{
	struct gwd_uring *r = &w->uring;

	r->last_n = 0;
	for (int pass = 0; pass < GWD_UDP_PASSES_MAX; pass++) {
		unsigned n = gwd_uring_reap(r);

		r->last_n += n;
		rt_metric_add(&wst[w->id].rx, n);
		for (unsigned i = 0; i < n; i++) {
			size_t len;
			int cut;
			const uint8_t *buf = gwd_uring_datagram(r, i, &len, &cut);

			worker_datagram(w, gwd_uring_from(r, i), buf, len, cut);
		}
		gwd_uring_recycle(r);
		worker_publish(w);
		if (n < r->batch)
			break;
	}
}

/* What is still in the socket once the ring is gone (recvmmsg). */
static void worker_drain_socket(struct gwd_worker *w)
{
	for (int pass = 0; pass < GWD_UDP_PASSES_MAX; pass++) {
		int n = gwd_udp_recv(&w->udp);

		if (n <= 0)
			break;
		rt_metric_add(&wst[w->id].rx, (unsigned)n);
		for (int i = 0; i < n; i++) {
			size_t len;
			int cut;
			const uint8_t *buf = gwd_udp_datagram(&w->udp, (unsigned)i, &len, &cut);

			worker_datagram(w, gwd_udp_from(&w->udp, (unsigned)i), buf, len, cut);
		}
		gwd_udp_flush(&w->udp);
		worker_publish(w);
	}
}

/* Stop: no more receives; what the buffers and the socket hold is handed
 * off; the ring and the socket close (the kernel then steers the port's
 * datagrams to the sockets left). */
static void worker_finish(struct gwd_worker *w)
{
	uint64_t t0 = gwd_now_ms();

	gwd_uring_stop_recv(&w->uring);
	while (w->uring.rx_armed && gwd_now_ms() - t0 < STOP_WAIT_MS) {
		gwd_uring_wait(&w->uring, 50);
		worker_input(w);
	}
	gwd_uring_drain(&w->uring, STOP_WAIT_MS);
	gwd_uring_close(&w->uring);
	w->ring_open = 0;
	worker_drain_socket(w);
	gwd_udp_close(&w->udp);
	/* stopfd stays open until gwd_workers_close: worker 0 may still write
	 * to it. */
}

static void set_state(struct gwd_worker *w, enum gwd_worker_state s)
{
	uint64_t one = 1;

	pthread_mutex_lock(&w->mu);
	atomic_store(&w->state, s);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (s == GWD_WORKER_DONE && write(w->e->handoff_fd, &one, sizeof(one)) < 0)
		rt_warn("worker %u: waking worker 0: %s", w->id, strerror(errno));
}

static void *worker_main(void *arg)
{
	struct gwd_worker *w = arg;
	const struct gwd_cfg *cfg = w->e->cfg;
	int r;

	/* The ring is made here: SINGLE_ISSUER binds it to the thread that
	 * creates it (and a registered ring fd is per thread). The stop
	 * eventfd stands where worker 0 has its epoll set. */
	if (gwd_uring_open(&w->uring, &w->udp, w->stopfd, (unsigned)cfg->uring_buffers,
			   (unsigned)w->e->batch, w->err, sizeof(w->err))) {
		gwd_uring_close(&w->uring);
		set_state(w, GWD_WORKER_FAILED);
		return NULL;
	}
	w->ring_open = 1;
	set_state(w, GWD_WORKER_RUNNING);
	for (;;) {
		r = gwd_uring_wait(&w->uring, -1);
		if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
			rt_err("worker %u: io_uring wait: %s: the worker stops", w->id,
			       strerror(-r));
			break;
		}
		worker_input(w);
		if (w->uring.epoll_ready)	/* the stop eventfd */
			break;
		if (w->uring.broken) {
			rt_err("worker %u: io_uring receive keeps failing: the worker stops",
			       w->id);
			break;
		}
	}
	worker_finish(w);
	set_state(w, GWD_WORKER_DONE);
	return NULL;
}

/* ---- the set ---- */

int gwd_workers_open(struct gwd_engine *e, unsigned n, char *err, size_t errlen)
{
	char ep[80];
	int r;

	e->wk = calloc(n - 1, sizeof(*e->wk));
	if (!e->wk) {
		snprintf(err, errlen, "workers: out of memory");
		return -ENOMEM;
	}
	e->nworkers = n;
	for (unsigned i = 1; i < n; i++) {	/* all closable before any opens */
		struct gwd_worker *w = &e->wk[i - 1];

		w->id = i;
		w->e = e;
		w->stopfd = -1;
		w->udp.fd = -1;
		pthread_mutex_init(&w->mu, NULL);
		pthread_cond_init(&w->cv, NULL);
		atomic_init(&w->state, GWD_WORKER_STARTING);
	}
	for (unsigned i = 1; i < n; i++) {
		struct gwd_worker *w = &e->wk[i - 1];

		r = gwd_udp_open(&w->udp, &e->udp.bound, (unsigned)e->batch, e->cfg->udp_rcvbuf, 1);
		if (r) {
			snprintf(err, errlen, "worker %u: listen %s (SO_REUSEPORT): %s", i,
				 rt_endpoint_str(&e->udp.bound, ep, sizeof(ep)), strerror(-r));
			return r;
		}
		w->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (w->stopfd < 0 || gwd_handoff_init(&w->q, (unsigned)e->cfg->handoff_slots)) {
			snprintf(err, errlen, "worker %u: %s", i, strerror(errno));
			return -ENOMEM;
		}
	}
	return 0;
}

int gwd_workers_start(struct gwd_engine *e, char *err, size_t errlen)
{
	int r = 0;

	for (unsigned i = 1; i < e->nworkers && !r; i++) {
		struct gwd_worker *w = &e->wk[i - 1];

		r = -pthread_create(&w->th, NULL, worker_main, w);
		if (r) {
			snprintf(err, errlen, "worker %u: thread: %s", i, strerror(-r));
			break;
		}
		w->thread_on = 1;
		pthread_mutex_lock(&w->mu);
		while (atomic_load(&w->state) == GWD_WORKER_STARTING)
			pthread_cond_wait(&w->cv, &w->mu);
		pthread_mutex_unlock(&w->mu);
		if (atomic_load(&w->state) == GWD_WORKER_FAILED) {
			snprintf(err, errlen, "worker %u: %s", i, w->err);
			r = -EIO;
		}
	}
	if (r)
		gwd_workers_close(e);
	return r;
}

void gwd_workers_stop(struct gwd_engine *e)
{
	uint64_t one = 1;

	for (unsigned i = 1; e->wk && i < e->nworkers; i++) {
		struct gwd_worker *w = &e->wk[i - 1];

		if (w->thread_on && w->stopfd >= 0 && atomic_load(&w->state) == GWD_WORKER_RUNNING &&
		    write(w->stopfd, &one, sizeof(one)) < 0)
			rt_warn("worker %u: stop: %s", i, strerror(errno));
	}
}

int gwd_workers_done(struct gwd_engine *e)
{
	for (unsigned i = 1; e->wk && i < e->nworkers; i++) {
		int s = atomic_load(&e->wk[i - 1].state);

		if (e->wk[i - 1].thread_on && s != GWD_WORKER_DONE && s != GWD_WORKER_FAILED)
			return 0;
	}
	return 1;
}

void gwd_workers_join(struct gwd_engine *e)
{
	gwd_workers_stop(e);
	for (unsigned i = 1; e->wk && i < e->nworkers; i++) {
		struct gwd_worker *w = &e->wk[i - 1];

		if (w->thread_on)
			pthread_join(w->th, NULL);
		w->thread_on = 0;
	}
}

void gwd_workers_close(struct gwd_engine *e)
{
	if (!e->wk)
		return;
	gwd_workers_join(e);
	for (unsigned i = 1; i < e->nworkers; i++) {
		struct gwd_worker *w = &e->wk[i - 1];

		gwd_udp_close(&w->udp);		/* a no-op once the worker closed it */
		if (w->stopfd >= 0)
			close(w->stopfd);
		w->stopfd = -1;
		gwd_handoff_fini(&w->q);
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
	}
	free(e->wk);
	e->wk = NULL;
}
