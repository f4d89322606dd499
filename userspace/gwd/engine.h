/* SPDX-License-Identifier: MIT */
/*
 * The event engine: one epoll loop over the devices' UDP socket, the TCP
 * links (link.h: the TTP's, the store's), the metrics listener and the
 * signal descriptor. Each pass drains the UDP socket with recvmmsg, checks
 * every frame's header and exact size, hands batches to the role (role.h),
 * and sends what the role queued in one batch. Every link is the engine's:
 * it connects, reads and writes each one alike and hands a link's frames and
 * up/down changes to whoever added it (the TTP link's to the roles, as
 * GWD_SRC_UPSTREAM; the store link's to the relay role). Timers (link
 * back-off, agreement timeouts, session expiry, the bounded wait of a
 * graceful stop) set the epoll timeout. Single-threaded, but for the extra
 * ingress workers below.
 *
 * Ingress: by default the devices' socket runs on io_uring (uring.h): the
 * loop waits in the ring, not in epoll; the epoll set (links, signals,
 * metrics) is watched by one POLL_ADD in the ring, and timers are the
 * ring wait's timeout. With 'baseline' (the benchmark's reference), or
 * when the kernel refuses io_uring (logged), the socket is on the epoll set
 * and drained with recvmmsg/sendmmsg (udp.h). Both paths share the frame
 * checks, the dispatch and everything else below. Before the frame checks,
 * every datagram is judged by the ingress filter (filter.h: XDP, or the
 * same checks in userspace); under load plain requests get COOKIE_REPLY
 * and COOKIE_WRAP is opened into its request (cookie_gate). BLE channels
 * (ble.h) ride worker 0's ring too: the L2CAP listener and each channel
 * are tagged ops on it (multishot accept and recv, answers as SEND SQEs,
 * uring.h's gwd_uring_fd_*), reaped in the datagrams' batches; on
 * the recvmmsg path they are on the epoll set and read with recv(2).
 *
 * Workers ('workers', default 1; 0 = one per online CPU, at most
 * GWD_WORKERS_MAX): a hybrid, and honest about it. Worker 0 is this
 * engine: it owns every role (the MEC pool and sessions, the TTP link, the
 * relay with its store link and spool, the gateway, mecdata, users), BLE,
 * the links, signals, metrics and control, all single-threaded as above.
 * Workers 1..N-1 (worker.h) are threads, each with its own io_uring (the
 * same set-up flags; SINGLE_ISSUER holds, each ring has one thread) and its
 * own UDP socket bound to worker 0's address with SO_REUSEPORT (worker 0's
 * socket sets it too), so the kernel spreads devices by 4-tuple hash (a
 * device's datagrams all meet the same worker). A worker takes its datagrams in
 * batches (multishot recvmsg, provided buffer ring) and runs the same
 * checks as worker 0 (gwd_ingress_check: the ingress filter, whose
 * userspace tables then take a lock; cookies, answered from the worker's
 * own socket; header and exact size), then hands the accepted frames
 * (bytes and sender) to worker 0 through its bounded lock-free ring
 * (handoff.h) and one eventfd on worker 0's epoll set (TAG_HANDOFF). Worker
 * 0 dispatches them exactly like its own and answers from its own socket:
 * the same address and port, so devices see one source. A full ring drops
 * the frame, counted and logged. What this buys: the receive syscalls'
 * work, the filter and the frame checks leave worker 0; the roles' work
 * (the crypto, the store and TTP links) stays on one core, which sharding
 * the pool, the sessions and the replay cache per worker would lift (not
 * done). 'baseline' (plain single-threaded recvmmsg) and a kernel refusing
 * io_uring run one worker, logged.
 *
 * Stop: SIGTERM stops the workers first (each cancels its receive, hands
 * off what its buffers and socket still hold, closes, and the kernel steers
 * their devices to worker 0's socket), then worker 0 drains as above once
 * every worker is done and its ring is empty; the threads are joined.
 */
#ifndef IOMT_GWD_ENGINE_H
#define IOMT_GWD_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "ble.h"
#include "config.h"
#include "filter.h"
#include "role.h"
#include "link.h"
#include "udp.h"
#include "uring.h"

enum {
	GWD_UDP_PASSES_MAX = 64,	/* recvmmsg batches per pass before other work */
	GWD_LINK_PASSES_MAX = 64,	/* link reads per pass */
	GWD_EVENTS_MAX = 16,
	GWD_ROLES_MAX = 4,
	GWD_LINKS_MAX = 4,
};

/* Who gets a link's frames and state changes; the engine sends what they
 * queued (datagrams, link frames) after each call. */
struct gwd_link_user {
	void *ctx;
	/* A batch of complete frames from the link (checked header, any type). */
	void (*frames)(void *ctx, const struct gwd_frame *f, size_t n, uint64_t now_ms);
	/* The link came up (1) or went down (0): requests in flight are lost. */
	void (*state)(void *ctx, int up, uint64_t now_ms);
};

struct gwd_engine {
	const struct gwd_cfg *cfg;
	int epfd, sigfd, metrics_fd;
	struct gwd_udp udp;
	struct gwd_uring uring;
	struct gwd_ble ble;		/* BLE channels (ble.h); off without ble_psm */
	int use_uring;			/* 0: recvmmsg (baseline or fallback) */
	struct gwd_filter filter;	/* every datagram's first check (filter.h) */
	unsigned nworkers;		/* ingress workers, this one (worker 0) included */
	struct gwd_worker *wk;		/* workers 1..nworkers-1 (worker.h) */
	int handoff_fd;			/* eventfd: a worker handed frames over */
	struct gwd_link link[GWD_LINKS_MAX];
	struct gwd_link_user link_user[GWD_LINKS_MAX];
	size_t nlinks;
	struct gwd_link *upstream;	/* the TTP link; NULL without the MEC role */
	struct rt_endpoint metrics_bound;
	const struct gwd_role_ops *role[GWD_ROLES_MAX];
	void *role_ctx[GWD_ROLES_MAX];
	size_t nroles;
	struct gwd_tx tx;
	struct gwd_frame *frames;
	struct gwd_frame *sorted;	/* one role's frames of a batch */
	uint8_t *owner;			/* role index of frames[i] */
	size_t batch;
	int stopping, failed;
	uint64_t stop_deadline;
};

uint64_t gwd_now_ms(void);

struct gwd_worker;

/* How a check answers a datagram itself (COOKIE_REPLY): 0 or -errno. */
typedef int (*gwd_reply_fn)(void *ctx, const struct gwd_addr *to, uint8_t type,
			    const void *payload, size_t len);
/* Every device datagram's checks, on any worker: not cut, the ingress
 * filter's verdict, one frame of exactly its type's size, cookies (a
 * COOKIE_WRAP opened into its request; under load a plain request answered
 * through reply). 0 with the frame in *f (payload within buf), or -1 when
 * dropped (counted by reason, logged at debug). */
int gwd_ingress_check(struct gwd_filter *filt, const struct gwd_addr *from, const uint8_t *buf,
		      size_t len, int cut, struct gwd_frame *f, gwd_reply_fn reply, void *ctx);

/* Binds the sockets: 0, or -errno with a message in err.
 * tx_cap bounds the link's send queue (bytes); 0: no TTP link (no role
 * talks upstream: never connect). */
int gwd_engine_open(struct gwd_engine *e, const struct gwd_cfg *cfg, int sigfd, size_t tx_cap,
		    char *err, size_t errlen);
/* Every role is set up: writes port_file (readers take it as "serving"):
 * 0, or -errno with a message in err. */
int gwd_engine_ready(struct gwd_engine *e, char *err, size_t errlen);
/* Adds a role (at most GWD_ROLES_MAX): 0, or -ENOSPC. */
int gwd_engine_add_role(struct gwd_engine *e, const struct gwd_role_ops *ops, void *ctx);
/* Adds a link the engine drives from now on (first attempt on the next
 * pass), its frames and state changes to *user; the link in *out, for
 * gwd_link_queue and gwd_link_is_up: 0, -ENOMEM, or -ENOSPC (at most
 * GWD_LINKS_MAX). */
int gwd_engine_add_link(struct gwd_engine *e, const struct gwd_link_cfg *c,
			const struct gwd_link_user *user, struct gwd_link **out);
/* Runs until a stop has completed: 0 after a stop signal, -EIO after the
 * role's fatal(), -errno if the loop itself failed. */
int gwd_engine_run(struct gwd_engine *e);
void gwd_engine_close(struct gwd_engine *e);

#endif
