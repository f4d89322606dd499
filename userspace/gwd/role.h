/* SPDX-License-Identifier: MIT */
/*
 * The narrow interface between the engine (sockets, epoll, timers, framing)
 * and a protocol role (today the seed-002 MEC role, mec.c). The engine
 * receives datagrams from devices and frames from the upstream link, checks
 * each frame's header and exact size (iomt_wire_parse / iomt_wire_next),
 * and hands a role arrays of frames of the types the role claims. The role
 * answers through struct gwd_tx; the engine sends what was queued in one
 * batch (sendmmsg, one write) after each call. So a later io_uring/XDP
 * engine can dispatch by frame type without knowing which protocol a frame
 * belongs to, and a role never touches a socket.
 */
#ifndef IOMT_GWD_ROLE_H
#define IOMT_GWD_ROLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum gwd_src {
	GWD_SRC_DEVICE,		/* a UDP datagram from a device */
	GWD_SRC_UPSTREAM,	/* a frame on the TCP link to the TTP */
};

struct gwd_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* One checked frame: payload is exactly len bytes (the type's fixed size). */
struct gwd_frame {
	uint8_t type;
	const uint8_t *payload;
	size_t len;
	const struct gwd_addr *from;	/* the device; NULL for upstream frames */
};

/* How a role sends (frames are queued and leave after the role returns),
 * and how it asks the engine to stop. */
struct gwd_tx {
	void *ctx;
	/* 0, or -errno (the datagram was not queued). */
	int (*to_device)(void *ctx, const struct gwd_addr *to, uint8_t type, const void *payload,
			 size_t len);
	/* 0; -ENOTCONN while the link is down; -ENOBUFS when its queue is full. */
	int (*upstream)(void *ctx, uint8_t type, const void *payload, size_t len);
	int (*upstream_up)(void *ctx);
	/* The role cannot go on safely: stop gracefully, then exit with status 1. */
	void (*fatal)(void *ctx, const char *why);
};

struct gwd_role_ops {
	const char *name;
	/* Nonzero if the role takes frames of this type from this source. */
	int (*claims)(enum gwd_src src, uint8_t type);
	/* A batch of claimed frames, all from one source. */
	void (*handle)(void *role, enum gwd_src src, const struct gwd_frame *f, size_t n,
		       uint64_t now_ms);
	/* The upstream link went up (1) or down (0): requests in flight are lost. */
	void (*link)(void *role, int up, uint64_t now_ms);
	/* Expires what is due; the next deadline (ms), or UINT64_MAX. */
	uint64_t (*tick)(void *role, uint64_t now_ms);
	/* Graceful stop: refuse new work from now on. */
	void (*drain)(void *role);
	/* Work still waiting for the upstream (0 when a stop may complete). */
	size_t (*outstanding)(void *role);
};

#endif
