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
 * graceful stop) set the epoll timeout. Single-threaded.
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
 * and COOKIE_WRAP is opened into its request (cookie_gate).
 *
 * N workers (not yet): roles keep single-threaded state (the MEC pool and
 * sessions, the relay's pending table, the replay cache), so one ring
 * serves all. The way to N: one thread per core, each with its own ring
 * and its own SO_REUSEPORT socket on the same port (the kernel spreads
 * devices by 4-tuple hash, so a device's M1 and M3 meet the same worker),
 * each owning a shard of the identity pool and of the session table; the
 * TTP/store links and the replay cache stay on worker 0, the others hand
 * it their upstream frames through an eventfd-signalled queue.
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
