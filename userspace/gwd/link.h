/* SPDX-License-Identifier: MIT */
/*
 * One persistent TCP link to a peer daemon: the MEC role's to the TTP, the
 * relay role's to the cloud store (iomt-store serve). The engine owns every
 * link (engine.h: gwd_engine_add_link) and drives it. State machine:
 *
 *   DOWN --retry time reached--> CONNECTING --connected--> UP
 *     ^                              |                      |
 *     +------ failed / timed out ----+---- closed, error ---+
 *
 * Reconnects back off from GWD_LINK_BACKOFF_MIN_MS, doubling up to the
 * configured maximum (afresh once a link stayed up GWD_LINK_STABLE_MS).
 * Outgoing frames are queued in a bounded buffer and written when the
 * socket takes them; incoming bytes are split into frames with
 * iomt_wire_next. Request ids only mean something on the connection they
 * were sent on: when the link goes down, every request in flight is lost.
 * Log lines name the link ("TTP link up", "store link to ...") and each
 * link counts in its own metrics (struct gwd_link_stats).
 */
#ifndef IOMT_GWD_LINK_H
#define IOMT_GWD_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "lib/rt_conf.h"
#include "metrics.h"
#include "role.h"
#include "wire.h"

enum gwd_link_state {
	GWD_LINK_DOWN,
	GWD_LINK_CONNECTING,
	GWD_LINK_UP,
};

enum {
	GWD_LINK_BACKOFF_MIN_MS = 50,
	GWD_LINK_CONNECT_TIMEOUT_MS = 5000,
	GWD_LINK_STABLE_MS = 1000,
	/* Room for the largest frame the stream format allows. */
	GWD_LINK_RX_CAP = IOMT_WIRE_HDR_LEN + IOMT_WIRE_MAX_PAYLOAD,
};

/* What a link is: whom it reaches and how it is named and counted. */
struct gwd_link_cfg {
	const char *name;		/* the peer in log lines: "TTP", "store" */
	struct rt_endpoint ep;
	size_t tx_cap;			/* send queue, bytes */
	uint64_t backoff_max_ms;
	struct gwd_link_stats *stats;
};

struct gwd_link {
	struct gwd_link_cfg c;
	int epfd, fd;
	uint64_t tag;			/* epoll data for this link's events */
	uint32_t watched;		/* epoll events registered */
	enum gwd_link_state state;
	uint64_t retry_at, connect_deadline, up_since;
	uint64_t backoff_ms;
	unsigned failures;		/* attempts failed since the last success */
	uint8_t *rx, *tx;
	size_t rx_off, rx_len, tx_len;
};

/* Down, first attempt due at once; events go to epfd under tag: 0 or -ENOMEM. */
int gwd_link_init(struct gwd_link *l, const struct gwd_link_cfg *c, int epfd, uint64_t tag);
void gwd_link_fini(struct gwd_link *l);

int gwd_link_is_up(const struct gwd_link *l);
/* When gwd_link_tick() has something to do next (UINT64_MAX: nothing). */
uint64_t gwd_link_deadline(const struct gwd_link *l);

/* Starts a due attempt, gives up a slow one: 1 if the link just came up. */
int gwd_link_tick(struct gwd_link *l, uint64_t now_ms);
/* epoll events while CONNECTING: 1 if the link just came up. */
int gwd_link_on_connect(struct gwd_link *l, uint32_t events, uint64_t now_ms);
/* Closes the connection and schedules the next attempt: 1 if it was UP. */
int gwd_link_close(struct gwd_link *l, uint64_t now_ms, const char *why);

/* Reads what the socket holds: bytes read, 0 for none yet, -errno, or
 * -ECONNRESET when the peer closed the connection. */
int gwd_link_fill(struct gwd_link *l);
/* Complete frames from the buffer (valid until the next fill); *bad is set to
 * an IOMT_E* code when the stream is corrupt and must be closed. */
size_t gwd_link_frames(struct gwd_link *l, struct gwd_frame *f, size_t max, int *bad);

/* Appends one frame whose payload is head[0..hlen) || tail[0..tlen) (tail
 * may be NULL with tlen 0): 0, -ENOTCONN (not UP), -ENOBUFS (queue full),
 * -EMSGSIZE (larger than a frame). */
int gwd_link_queue(struct gwd_link *l, uint8_t type, const void *head, size_t hlen,
		   const void *tail, size_t tlen);
/* Writes what the socket takes now: 0 or -errno (then close the link). */
int gwd_link_flush(struct gwd_link *l);

#endif
