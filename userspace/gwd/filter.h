/* SPDX-License-Identifier: MIT */
/*
 * The daemon's side of the ingress filter (userspace/lib/rt_ingress.h,
 * docs/PROTOCOL.md §10): the XDP program on 'xdp_interface' when it can be
 * attached, else the same checks (bpf/xf_judge.h) in userspace on every
 * received datagram; the checks are always on.
 *
 *  - verdicts: every datagram of both ingress paths (engine.c udp_frame) is
 *    judged first; what is not PASS is dropped and counted by verdict
 *    (iomt_gwd_filter_total{verdict}; under XDP the program's per-CPU
 *    counters, copied into the metrics at most every GWD_FILTER_SYNC_MS);
 *  - cookies: a fresh 16-byte key every 'cookie_epoch' (the previous one
 *    still accepted); under load plain requests (S2_M1, KDC AS/TGS/AP_REQ)
 *    are answered with COOKIE_REPLY and nothing else, COOKIE_WRAP is opened
 *    (its cookie checked here too, whoever judged it) and its inner request
 *    handled normally;
 *  - under load: set and cleared by the engine (gwd_filter_load) with a log
 *    line and a metric on each change;
 *  - sessions: S2_DATA passes only for handles the daemon holds, within the
 *    replay window it last committed (sessions.h calls the set/del hooks);
 *  - the interface's link state (rtnetlink): logged on each change.
 *
 * Event-loop thread only, except gwd_filter_describe and
 * gwd_filter_under_load (the control thread: atomics and fixed fields),
 * and, once gwd_filter_share has been called, gwd_filter_judge,
 * gwd_filter_cookie and gwd_filter_unwrap (the ingress workers, worker.h):
 * the userspace checks' tables (token buckets, sessions, counters) and the
 * cookie keys are then taken under one mutex by every caller that touches
 * them (under XDP the judge takes none: the program judged already).
 */
#ifndef IOMT_GWD_FILTER_H
#define IOMT_GWD_FILTER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "cookie.h"
#include "lib/rt_ingress.h"	/* enum iomt_xf_verdict */
#include "role.h"

enum {
	GWD_FILTER_SYNC_MS = 250,	/* XDP counters into the metrics */
};

struct rt_ingress;
struct rt_nl_watch;

struct gwd_filter {
	struct rt_ingress *in;
	struct rt_nl_watch *watch;	/* NULL without an interface */
	char ifname[32];
	int xdp;			/* the XDP program is attached */
	const char *mode;		/* "xdp native", "xdp generic", "userspace" */
	uint64_t epoch_ms, next_epoch_ms, next_sync_ms;
	uint8_t key[IOMT_COOKIE_KEY_LEN], prev[IOMT_COOKIE_KEY_LEN];	/* secret */
	int have_prev;
	atomic_int under_load;
	atomic_ullong epoch;		/* keys made so far */
	int open;
	int shared;			/* gwd_filter_share: take mu */
	pthread_mutex_t mu;
};

/* Opens the filter for UDP port (host order) with cfg's rates: 0, or -errno
 * with a message in err. An unavailable XDP is not an error (logged). */
int gwd_filter_open(struct gwd_filter *f, const struct gwd_cfg *cfg, uint16_t port, char *err,
		    size_t errlen);
void gwd_filter_close(struct gwd_filter *f);
/* Other threads (the ingress workers) judge too from now on: lock. */
void gwd_filter_share(struct gwd_filter *f);

/* Datagram p[0..len) from src: its verdict (enum iomt_xf_verdict; only
 * IOMT_XF_PASS goes on), counted. */
int gwd_filter_judge(struct gwd_filter *f, const struct gwd_addr *src, const uint8_t *p,
		     size_t len);
/* "drop_rate", ... */
const char *gwd_filter_verdict_name(int v);
/* 1 for the plain requests the cookie guards (S2_M1, KDC AS/TGS/AP_REQ). */
int gwd_filter_is_request(uint8_t type);
/* The cookie of src under the current key, for COOKIE_REPLY: 0 or -1. */
int gwd_filter_cookie(struct gwd_filter *f, const struct gwd_addr *src,
		      uint8_t cookie[IOMT_COOKIE_LEN]);
/* A COOKIE_WRAP payload from src: its inner request (type, payload, len)
 * if the cookie is src's under the current or previous key and the inner
 * frame is a whole request: 0, or -1 (counted). */
int gwd_filter_unwrap(struct gwd_filter *f, const struct gwd_addr *src, const uint8_t *p,
		      size_t len, uint8_t *type, const uint8_t **inner, size_t *ilen);

/* The engine's load signal: sets or clears under-load (logged, counted). */
void gwd_filter_load(struct gwd_filter *f, int on);
int gwd_filter_under_load(const struct gwd_filter *f);

/* Key rotation and the counters: the next deadline (ms). */
uint64_t gwd_filter_tick(struct gwd_filter *f, uint64_t now_ms);
/* The rtnetlink watch's fd (-1: none), and its events. */
int gwd_filter_fd(const struct gwd_filter *f);
void gwd_filter_link_event(struct gwd_filter *f);

/* A session's window as committed (handle: its 8 bytes), or its end. */
void gwd_filter_session_set(void *f, const uint8_t handle[8], uint64_t top, uint64_t bits);
void gwd_filter_session_del(void *f, const uint8_t handle[8]);

/* iomtctl filter: mode, interface, counters, under-load, epoch. */
void gwd_filter_describe(void *f, char *buf, size_t len);
/* For control.h (a void * context). */
int gwd_filter_loaded(void *f);

#endif
