/* SPDX-License-Identifier: MIT */
/*
 * MEC links: TCP connections carrying S2_M2 in and S2_M3 / S2_LINK_ERR out
 * (docs/PROTOCOL.md §3.1). Each has a bounded input and output buffer. A
 * request is taken into a batch only when its reply is sure to fit the
 * output buffer, so a MEC that stops reading only stops its own requests:
 * it never blocks the loop and never grows memory.
 */
#ifndef IOMT_TTP_LINK_H
#define IOMT_TTP_LINK_H
#include <stddef.h>
#include <stdint.h>

#include "daemon.h"
#include "lib/rt_metrics.h"

enum {
	LINK_IN_CAP = 16384,
	LINK_OUT_CAP = 32768,
	/* The largest frame a MEC may send (an M2 frame is 136 bytes, a
	 * phase-6 P6_EMERG at most 1272, phase56.h); a larger announced length
	 * is a corrupt stream. */
	LINK_FRAME_MAX = 2048,
	/* The most a reply takes: an M3 frame. */
	LINK_REPLY_MAX = IOMT_WIRE_HDR_LEN + IOMT_WIRE_S2_M3_LEN,
};

enum link_state {
	LINK_OPEN = 1,
	LINK_DEAD,              /* closed; freed at the end of the loop pass */
};

struct link {
	struct ttp_watch w;     /* first: epoll's data.ptr */
	uint64_t id;
	char peer[64];
	int state;              /* enum link_state */
	int touched;            /* replies appended since the last flush */
	size_t in_off, in_len;  /* unparsed input: in[in_off..in_len) */
	size_t out_off, out_len;/* unsent output: out[out_off..out_len) */
	size_t reserved;        /* output promised to requests of the batch */
	struct link *next, *prev;
	uint8_t in[LINK_IN_CAP];
	uint8_t out[LINK_OUT_CAP];
};

/* Accepts every pending connection (refusing those over max_links). */
void ttp_link_accept(struct ttp_daemon *d);
/* Readiness on a link: reads, writes, or closes it. */
void ttp_link_event(struct ttp_daemon *d, struct link *l, uint32_t events);

/*
 * The next S2_M2 of l for the batch: 1 with *req pointing into l's input
 * (valid until the next read), 0 when there is none now (partial frame, no
 * room for the reply, or the link was closed for a corrupt stream). Frames
 * of another known type are answered LINK_ERR MALFORMED on the way.
 */
int ttp_link_next_m2(struct ttp_daemon *d, struct link *l, struct ttp_m2_req *req);
/* A complete frame is buffered and could be taken. */
int ttp_link_ready(const struct link *l);
/* Appends one reply frame, releasing the room reserved for it. */
void ttp_link_reply(struct link *l, uint8_t type, const uint8_t *payload, size_t len);
/* One write of everything pending; keeps the rest for EPOLLOUT. */
void ttp_link_flush(struct ttp_daemon *d, struct link *l);
/* Epoll interest from the link's state. */
void ttp_link_update(struct ttp_daemon *d, struct link *l);
/* Closes (logging why, counting under reason); freed by ttp_link_reap. */
void ttp_link_close(struct ttp_daemon *d, struct link *l, struct rt_metric *reason,
		    const char *why);
void ttp_link_reap(struct ttp_daemon *d);
/* Output still pending. */
static inline int ttp_link_pending(const struct link *l)
{
	return l->out_len > l->out_off;
}

#endif
