/* SPDX-License-Identifier: MIT */
/*
 * The relay role's one persistent TCP link to the cloud store (iomt-store
 * serve): REC_PUT frames out, REC_ACK frames in. Same state machine as the
 * TTP link (ttp_link.h): DOWN -> CONNECTING -> UP, reconnects backing off
 * from GWD_LINK_BACKOFF_MIN_MS, doubling up to the configured maximum.
 * It lives in the relay's own epoll set (the engine knows only the TTP
 * link), with its own log lines and metrics (iomt_gwd_store_*).
 */
#ifndef IOMT_GWD_STORE_LINK_H
#define IOMT_GWD_STORE_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "lib/rt_conf.h"
#include "role.h"
#include "ttp_link.h"

struct gwd_store_link {
	struct rt_endpoint ep;
	int epfd, fd;			/* epfd: the relay's epoll set */
	uint32_t watched;		/* epoll events registered */
	enum gwd_link_state state;
	uint64_t retry_at, connect_deadline, up_since;
	uint64_t backoff_ms, backoff_max_ms;
	unsigned failures;
	uint8_t *rx, *tx;
	size_t rx_off, rx_len, tx_len, tx_cap;
};

int gwd_store_link_init(struct gwd_store_link *l, const struct rt_endpoint *ep, int epfd,
			size_t tx_cap, uint64_t backoff_max_ms);
void gwd_store_link_fini(struct gwd_store_link *l);

int gwd_store_link_is_up(const struct gwd_store_link *l);
/* When gwd_store_link_tick() has something to do (UINT64_MAX: nothing). */
uint64_t gwd_store_link_deadline(const struct gwd_store_link *l);
/* Starts a due attempt, gives up a slow one: 1 if the link just came up. */
int gwd_store_link_tick(struct gwd_store_link *l, uint64_t now_ms);
/* epoll events on the link's socket: 1 if a connect just completed. */
int gwd_store_link_on_connect(struct gwd_store_link *l, uint32_t events, uint64_t now_ms);
/* Closes and schedules the next attempt: 1 if it was UP. */
int gwd_store_link_close(struct gwd_store_link *l, uint64_t now_ms, const char *why);

/* Bytes read (0: none yet), -ECONNRESET when the store closed, -errno. */
int gwd_store_link_fill(struct gwd_store_link *l);
/* Complete frames (valid until the next fill); *bad: an IOMT_E* code for a
 * corrupt stream (close it). */
size_t gwd_store_link_frames(struct gwd_store_link *l, struct gwd_frame *f, size_t max, int *bad);

/* Queues one frame whose payload is head[0..hlen) || tail[0..tlen):
 * 0, -ENOTCONN (not UP), -ENOBUFS (queue full), -EMSGSIZE (over a frame). */
int gwd_store_link_queue(struct gwd_store_link *l, uint8_t type, const void *head, size_t hlen,
			 const void *tail, size_t tlen);
/* Writes what the socket takes now: 0 or -errno (then close the link). */
int gwd_store_link_flush(struct gwd_store_link *l);

#endif
