/* SPDX-License-Identifier: MIT */
/*
 * Counters and gauges for Prometheus. Metrics are caller-owned structs
 * (usually static), registered once at start-up and then updated lock-free
 * from any thread:
 *
 *   static struct rt_metric rx_drop = RT_COUNTER("iomt_gw_rx_packets_total",
 *	 "verdict=\"drop\"", "Packets received, by filter verdict");
 *   rt_metrics_register(&rx_drop);
 *   rt_metric_inc(&rx_drop);
 *
 * Metrics sharing a name form one family (one # HELP and # TYPE, listed
 * together); they must share type, and differ in labels. Labels are a fixed
 * string of name="value" pairs, checked at registration.
 *
 * rt_metrics_serve() answers one HTTP/1.0 request on an accepted socket:
 * GET /metrics -> 200 with the text exposition format 0.0.4; any other
 * well-formed request -> 404; garbage -> 400; a request head over
 * RT_METRICS_REQ_MAX bytes -> 431. It waits for the peer at most
 * RT_METRICS_TIMEOUT_MS in total, so an event loop may call it on a freshly
 * accepted connection. Bind the listener to loopback only: there is no
 * authentication.
 */
#ifndef IOMT_RT_METRICS_H
#define IOMT_RT_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum rt_metric_type {
	RT_METRIC_COUNTER,
	RT_METRIC_GAUGE,
};

enum {
	RT_METRICS_REQ_MAX = 2048,
	RT_METRICS_TIMEOUT_MS = 200,
	RT_METRICS_BODY_MAX = 16 << 20,
};

struct rt_metric {
	const char *name;
	const char *labels;	/* NULL or 'a="x",b="y"' */
	const char *help;
	enum rt_metric_type type;
	_Atomic uint64_t value;
	struct rt_metric *next;	/* registry list; owned by rt_metrics.c */
};

#define RT_COUNTER(n, l, h) { .name = (n), .labels = (l), .help = (h), .type = RT_METRIC_COUNTER }
#define RT_GAUGE(n, l, h) { .name = (n), .labels = (l), .help = (h), .type = RT_METRIC_GAUGE }

/* 0, -EINVAL (bad name or labels, type differs from its family's, same
 * name and labels twice) or -EALREADY (this struct is registered). */
int rt_metrics_register(struct rt_metric *m);
/* Registers n metrics, an array or a list of pointers, in order: 0 or the
 * first failure. */
int rt_metrics_register_array(struct rt_metric *m, size_t n);
int rt_metrics_register_list(struct rt_metric *const *list, size_t n);
#define RT_METRICS_LEN(a) (sizeof(a) / sizeof((a)[0]))
/* Forgets every metric (tests, and daemons that rebuild on reload). */
void rt_metrics_reset(void);

static inline void rt_metric_add(struct rt_metric *m, uint64_t n)
{
	atomic_fetch_add_explicit(&m->value, n, memory_order_relaxed);
}

static inline void rt_metric_inc(struct rt_metric *m)
{
	rt_metric_add(m, 1);
}

/* Gauges only: counters never go down. */
static inline void rt_metric_sub(struct rt_metric *m, uint64_t n)
{
	atomic_fetch_sub_explicit(&m->value, n, memory_order_relaxed);
}

static inline void rt_metric_set(struct rt_metric *m, uint64_t v)
{
	atomic_store_explicit(&m->value, v, memory_order_relaxed);
}

static inline uint64_t rt_metric_get(struct rt_metric *m)
{
	return atomic_load_explicit(&m->value, memory_order_relaxed);
}

/* The exposition text into buf, like snprintf: returns the full length; the
 * text is complete only if that is below len (NUL-terminated if len > 0). */
size_t rt_metrics_render(char *buf, size_t len);

/* Answers one request on fd (not closed); the HTTP status sent, or -errno. */
int rt_metrics_serve(int fd);

/* Accepts and answers every connection waiting on a non-blocking listener,
 * one at a time (each bounded by RT_METRICS_TIMEOUT_MS; loopback only). */
void rt_metrics_accept_all(int listen_fd);

#endif
