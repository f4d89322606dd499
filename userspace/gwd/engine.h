/* SPDX-License-Identifier: MIT */
/*
 * The event engine: one epoll loop over the devices' UDP socket, the TTP
 * link, the metrics listener and the signal descriptor. Each pass drains
 * the UDP socket with recvmmsg, checks every frame's header and exact size,
 * hands batches to the role (role.h), and sends what the role queued in one
 * batch. Timers (link back-off, agreement timeouts, session expiry, the
 * bounded wait of a graceful stop) set the epoll timeout. Single-threaded.
 */
#ifndef IOMT_GWD_ENGINE_H
#define IOMT_GWD_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "role.h"
#include "ttp_link.h"
#include "udp.h"

enum {
	GWD_UDP_PASSES_MAX = 64,	/* recvmmsg batches per pass before other work */
	GWD_LINK_PASSES_MAX = 64,	/* link reads per pass */
	GWD_EVENTS_MAX = 16,
	GWD_ROLES_MAX = 4,
};

struct gwd_engine {
	const struct gwd_cfg *cfg;
	int epfd, sigfd, metrics_fd;
	struct gwd_udp udp;
	struct gwd_link link;
	struct rt_endpoint metrics_bound;
	const struct gwd_role_ops *role[GWD_ROLES_MAX];
	void *role_ctx[GWD_ROLES_MAX];
	size_t nroles;
	int link_on;			/* the TTP link is used (the MEC role is on) */
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
/* Runs until a stop has completed: 0 after a stop signal, -EIO after the
 * role's fatal(), -errno if the loop itself failed. */
int gwd_engine_run(struct gwd_engine *e);
void gwd_engine_close(struct gwd_engine *e);

#endif
