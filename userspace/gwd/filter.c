/* SPDX-License-Identifier: MIT */
/* The daemon's side of the ingress filter: verdicts, cookies, load, metrics. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "ct.h"
#include "engine.h"
#include "filter.h"
#include "lib/rt_ingress.h"
#include "lib/rt_log.h"
#include "lib/rt_metrics.h"
#include "lib/rt_nl.h"
#include "lib/rt_rng.h"
#include "wire.h"

#define V(v) RT_COUNTER("iomt_gwd_filter_total", "verdict=\"" v "\"", \
			"Datagrams judged by the ingress filter (XDP or userspace), by verdict")

static struct {
	struct rt_metric verdict[IOMT_XF_NVERDICTS];
	struct rt_metric xdp, link_up, under_load, load_on, load_off;
	struct rt_metric cookie_replies, wrap_ok, wrap_bad, epoch;
} fst = {
	.verdict = { V("pass"), V("pass_not_ours"), V("drop_malformed"), V("drop_size"),
		     V("drop_rate"), V("drop_no_session"), V("drop_replay"), V("drop_no_cookie"),
		     V("drop_bad_cookie") },
	.xdp = RT_GAUGE("iomt_gwd_xdp_attached", NULL,
			"1 while the XDP filter is attached to xdp_interface (0: userspace checks)"),
	.link_up = RT_GAUGE("iomt_gwd_xdp_link_up", NULL, "1 while xdp_interface is up"),
	.under_load = RT_GAUGE("iomt_gwd_under_load", NULL,
			       "1 while plain requests are answered with COOKIE_REPLY"),
	.load_on = RT_COUNTER("iomt_gwd_under_load_changes_total", "to=\"on\"",
			      "Under-load mode changes, by new state"),
	.load_off = RT_COUNTER("iomt_gwd_under_load_changes_total", "to=\"off\"",
			       "Under-load mode changes, by new state"),
	.cookie_replies = RT_COUNTER("iomt_gwd_cookie_replies_total", NULL,
				     "COOKIE_REPLY sent to plain requests under load"),
	.wrap_ok = RT_COUNTER("iomt_gwd_cookie_wrapped_total", "result=\"ok\"",
			      "COOKIE_WRAP received, by result"),
	.wrap_bad = RT_COUNTER("iomt_gwd_cookie_wrapped_total", "result=\"bad\"",
			       "COOKIE_WRAP received, by result"),
	.epoch = RT_GAUGE("iomt_gwd_cookie_epoch", NULL, "Cookie keys made since start"),
};

_Static_assert(sizeof(fst) % sizeof(struct rt_metric) == 0, "fst layout");

static int register_metrics(void)
{
	struct rt_metric *all = (struct rt_metric *)&fst;
	size_t n = sizeof(fst) / sizeof(struct rt_metric);

	for (size_t i = 0; i < n; i++) {
		int r = rt_metrics_register(&all[i]);

		if (r && r != -EALREADY)
			return r;
	}
	return 0;
}

/* ---- sharing with the ingress workers ---- */

static void lock(struct gwd_filter *f)
{
	if (f->shared)
		pthread_mutex_lock(&f->mu);
}

static void unlock(struct gwd_filter *f)
{
	if (f->shared)
		pthread_mutex_unlock(&f->mu);
}

void gwd_filter_share(struct gwd_filter *f)
{
	f->shared = 1;
}

/* ---- cookies ---- */

static int addr16_of(const struct gwd_addr *a, uint8_t addr16[16], uint16_t *port)
{
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)&a->ss;

		iomt_cookie_addr_v4(addr16, (const uint8_t *)&s4->sin_addr);
		*port = ntohs(s4->sin_port);
		return 0;
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)&a->ss;

		memcpy(addr16, &s6->sin6_addr, 16);
		*port = ntohs(s6->sin6_port);
		return 0;
	}
	return -1;
}

int gwd_filter_is_request(uint8_t type)
{
	return type == IOMT_MSG_S2_M1 || type == IOMT_MSG_KDC_AS_REQ ||
	       type == IOMT_MSG_KDC_TGS_REQ || type == IOMT_MSG_KDC_AP_REQ;
}

int gwd_filter_cookie(struct gwd_filter *f, const struct gwd_addr *src,
		      uint8_t cookie[IOMT_COOKIE_LEN])
{
	uint8_t a[16];
	uint16_t port;
	int r;

	if (addr16_of(src, a, &port))
		return -1;
	lock(f);
	r = iomt_cookie_make(f->key, a, port, cookie);
	unlock(f);
	if (r)
		return -1;
	rt_metric_inc(&fst.cookie_replies);
	return 0;
}

/* 1 if c is src's cookie under key. */
static int cookie_ok(const uint8_t key[16], const uint8_t a[16], uint16_t port,
		     const uint8_t c[IOMT_COOKIE_LEN])
{
	uint8_t want[IOMT_COOKIE_LEN];
	int ok = iomt_cookie_make(key, a, port, want) == 0 && iomt_ct_eq(want, c, sizeof(want));

	iomt_wipe(want, sizeof(want));
	return ok;
}

int gwd_filter_unwrap(struct gwd_filter *f, const struct gwd_addr *src, const uint8_t *p,
		      size_t len, uint8_t *type, const uint8_t **inner, size_t *ilen)
{
	uint8_t c[IOMT_COOKIE_LEN], a[16];
	const uint8_t *req;
	size_t reqlen;
	uint16_t port;
	int ok;

	if (addr16_of(src, a, &port) || iomt_cookie_unwrap(p, len, c, &req, &reqlen) ||
	    iomt_wire_parse(req, reqlen, type, inner, ilen) || !gwd_filter_is_request(*type)) {
		rt_metric_inc(&fst.wrap_bad);
		return -1;
	}
	lock(f);
	ok = cookie_ok(f->key, a, port, c) || (f->have_prev && cookie_ok(f->prev, a, port, c));
	unlock(f);
	if (!ok) {
		rt_metric_inc(&fst.wrap_bad);
		return -1;
	}
	rt_metric_inc(&fst.wrap_ok);
	return 0;
}

/* A new key for this epoch; the last one stays valid one more epoch. */
static void rotate(struct gwd_filter *f, uint64_t now)
{
	uint8_t k[IOMT_COOKIE_KEY_LEN];
	int r;

	if (rt_random(k, sizeof(k))) {
		rt_err("cookie key: no random bytes: keeping the current key");
		f->next_epoch_ms = now + 1000;
		return;
	}
	lock(f);
	if (atomic_load(&f->epoch)) {
		memcpy(f->prev, f->key, sizeof(f->prev));
		f->have_prev = 1;
	}
	memcpy(f->key, k, sizeof(k));
	iomt_wipe(k, sizeof(k));
	r = rt_ingress_set_cookie_keys(f->in, f->key, f->have_prev ? f->prev : NULL);
	unlock(f);
	if (r)
		rt_warn("cookie keys: the filter refused them: %s", strerror(-r));
	atomic_fetch_add(&f->epoch, 1);
	rt_metric_set(&fst.epoch, atomic_load(&f->epoch));
	f->next_epoch_ms = now + f->epoch_ms;
}

/* ---- verdicts, load, sessions ---- */

int gwd_filter_judge(struct gwd_filter *f, const struct gwd_addr *src, const uint8_t *p,
		     size_t len)
{
	int v;

	if (!f->shared || f->xdp)	/* XDP: PASS without a look at the tables */
		return rt_ingress_check(f->in, (const struct sockaddr *)&src->ss, p, len);
	pthread_mutex_lock(&f->mu);
	v = rt_ingress_check(f->in, (const struct sockaddr *)&src->ss, p, len);
	pthread_mutex_unlock(&f->mu);
	return v;
}

const char *gwd_filter_verdict_name(int v)
{
	static const char *const names[IOMT_XF_NVERDICTS] = {
		"pass", "pass_not_ours", "drop_malformed", "drop_size", "drop_rate",
		"drop_no_session", "drop_replay", "drop_no_cookie", "drop_bad_cookie",
	};

	return v >= 0 && v < IOMT_XF_NVERDICTS ? names[v] : "?";
}

void gwd_filter_load(struct gwd_filter *f, int on)
{
	int r;

	on = !!on;
	if (atomic_load(&f->under_load) == on)
		return;
	lock(f);
	r = rt_ingress_set_under_load(f->in, on);
	unlock(f);
	if (r) {
		rt_warn("under-load flag: the filter refused it: %s", strerror(-r));
		return;
	}
	atomic_store(&f->under_load, on);
	rt_metric_set(&fst.under_load, (uint64_t)on);
	rt_metric_inc(on ? &fst.load_on : &fst.load_off);
	if (on)
		rt_warn("under load: plain requests get COOKIE_REPLY, cookie-wrapped ones are "
			"served");
	else
		rt_info("load drained: plain requests are served again");
}

int gwd_filter_under_load(const struct gwd_filter *f)
{
	return atomic_load(&f->under_load);
}

int gwd_filter_loaded(void *f)
{
	return gwd_filter_under_load(f);
}

void gwd_filter_session_set(void *ctx, const uint8_t handle[8], uint64_t top, uint64_t bits)
{
	struct gwd_filter *f = ctx;
	int r;

	lock(f);
	r = rt_ingress_session_set(f->in, handle, top, bits);
	unlock(f);
	if (r)
		rt_warn("session %llu: the filter cannot hold it (%s): its S2_DATA is dropped",
			(unsigned long long)iomt_load_be64(handle), strerror(-r));
}

void gwd_filter_session_del(void *ctx, const uint8_t handle[8])
{
	struct gwd_filter *f = ctx;

	lock(f);
	rt_ingress_session_del(f->in, handle);
	unlock(f);
}

/* The filter's counts into the metrics. */
static void sync_counters(struct gwd_filter *f)
{
	uint64_t c[IOMT_XF_NVERDICTS];
	int r;

	lock(f);
	r = rt_ingress_counters(f->in, c);
	unlock(f);
	if (r)
		return;
	for (int v = 0; v < IOMT_XF_NVERDICTS; v++)
		rt_metric_set(&fst.verdict[v], c[v]);
}

uint64_t gwd_filter_tick(struct gwd_filter *f, uint64_t now)
{
	uint64_t next;

	if (now >= f->next_epoch_ms)
		rotate(f, now);
	/* The fallback's counts are ours to copy; XDP's cost a lookup. */
	if (!f->xdp || now >= f->next_sync_ms) {
		sync_counters(f);
		f->next_sync_ms = now + GWD_FILTER_SYNC_MS;
	}
	next = f->next_epoch_ms;
	if (f->xdp && f->next_sync_ms < next)
		next = f->next_sync_ms;
	return next;
}

/* ---- the interface ---- */

static void on_link(void *ctx, int ifindex, int up)
{
	struct gwd_filter *f = ctx;

	rt_metric_set(&fst.link_up, (uint64_t)!!up);
	if (up)
		rt_info("%s (ifindex %d): link up", f->ifname, ifindex);
	else
		rt_warn("%s (ifindex %d): link down", f->ifname, ifindex);
}

int gwd_filter_fd(const struct gwd_filter *f)
{
	return f->watch ? rt_nl_watch_fd(f->watch) : -1;
}

void gwd_filter_link_event(struct gwd_filter *f)
{
	int r;

	if (f->watch && (r = rt_nl_watch_dispatch(f->watch)))
		rt_warn("%s: rtnetlink: %s", f->ifname, strerror(-r));
}

static void watch_link(struct gwd_filter *f)
{
	int ifindex = rt_nl_ifindex(f->ifname), r, up;

	if (ifindex < 0)
		return;
	up = rt_nl_link_up(ifindex);
	rt_metric_set(&fst.link_up, up > 0);
	r = rt_nl_watch_open(&f->watch, ifindex, on_link, f);
	if (r) {
		f->watch = NULL;
		rt_warn("%s: cannot watch its link state: %s", f->ifname, strerror(-r));
	}
}

/* ---- life ---- */

static uint64_t clamp_u64(int v)
{
	return v > 0 ? (uint64_t)v : 0;
}

int gwd_filter_open(struct gwd_filter *f, const struct gwd_cfg *cfg, uint16_t port, char *err,
		    size_t errlen)
{
	struct rt_ingress_conf c = {
		.ifname = cfg->xdp_interface,
		.ports = { port },
		.rate_pps = clamp_u64(cfg->filter_rate), .burst = clamp_u64(cfg->filter_burst),
		.cookie_rate_pps = clamp_u64(cfg->cookie_rate),
		.cookie_burst = clamp_u64(cfg->cookie_burst),
	};
	int r;

	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->mu, NULL);
	snprintf(f->ifname, sizeof(f->ifname), "%s", cfg->xdp_interface);
	f->epoch_ms = cfg->cookie_epoch_ms;
	if ((r = register_metrics())) {
		snprintf(err, errlen, "filter metrics: %s", strerror(-r));
		return r;
	}
	r = rt_ingress_open(&f->in, &c);
	if (r) {
		snprintf(err, errlen, "ingress filter: %s", strerror(-r));
		return r;
	}
	f->open = 1;
	f->xdp = rt_ingress_xdp(f->in);
	f->mode = rt_ingress_mode_name(f->in);
	rt_metric_set(&fst.xdp, (uint64_t)f->xdp);
	if (f->ifname[0])
		watch_link(f);
	/* A bpf_link goes without privileges (and with the process); only a
	 * netlink attach (tc before kernel 6.6) needs CAP_NET_ADMIN to go. */
	if (f->xdp && cfg->user[0] && !rt_ingress_linked(f->in))
		rt_warn("%s on %s: once running as '%s' the daemon cannot detach it at stop "
			"(%s %s)", f->mode, f->ifname, cfg->user,
			strcmp(f->mode, "tc") ? "ip link set xdp off dev" :
			"tc filter del ingress dev", f->ifname);
	rotate(f, gwd_now_ms());
	rt_info("ingress filter: %s%s%s on UDP port %u, per-source %d/s (burst %d), cookie "
		"replies %d/s, epoch %llu ms", f->mode, f->ifname[0] ? " on " : "",
		f->ifname, port, cfg->filter_rate, cfg->filter_burst, cfg->cookie_rate,
		(unsigned long long)f->epoch_ms);
	return 0;
}

void gwd_filter_close(struct gwd_filter *f)
{
	if (!f->open)
		return;
	rt_nl_watch_close(f->watch);
	rt_ingress_close(f->in);	/* detaches XDP */
	iomt_wipe(f->key, sizeof(f->key));
	iomt_wipe(f->prev, sizeof(f->prev));
	pthread_mutex_destroy(&f->mu);
	f->shared = 0;
	rt_metric_set(&fst.xdp, 0);
	if (f->xdp)
		rt_info("XDP filter detached from %s", f->ifname);
	f->open = 0;
}

void gwd_filter_describe(void *ctx, char *buf, size_t len)
{
	const struct gwd_filter *f = ctx;
	size_t used;
	int n;

	n = snprintf(buf, len, "mode: %s\ninterface: %s\nunder_load: %s\ncookie_epoch: %llu\n",
		     f->mode, f->ifname[0] ? f->ifname : "(none)",
		     atomic_load(&f->under_load) ? "yes" : "no",
		     (unsigned long long)atomic_load(&f->epoch));
	used = n < 0 ? 0 : (size_t)n < len ? (size_t)n : len;
	for (int v = 0; v < IOMT_XF_NVERDICTS && used < len; v++) {
		const char *l = fst.verdict[v].labels + strlen("verdict=\"");

		n = snprintf(buf + used, len - used, "%.*s: %llu\n", (int)(strlen(l) - 1), l,
			     (unsigned long long)rt_metric_get(&fst.verdict[v]));
		used += n < 0 ? 0 : (size_t)n < len - used ? (size_t)n : len - used;
	}
}
