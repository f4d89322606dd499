/* SPDX-License-Identifier: MIT */
/*
 * Gateway connections: TCP streams of REC_PUT frames in and REC_ACK frames
 * out (lib/wire.h framing). The input buffer holds one whole frame of the
 * largest size; a frame is taken into a group only when its ACK is sure to
 * fit the output buffer, so a gateway that stops reading only stops its own
 * batches and never grows memory.
 */
#ifndef IOMT_STORE_CONN_H
#define IOMT_STORE_CONN_H
#include <stddef.h>
#include <stdint.h>

#include "daemon.h"
#include "lib/rt_metrics.h"
#include "wire.h"

enum {
	CONN_IN_CAP = 2 * (IOMT_WIRE_HDR_LEN + IOMT_WIRE_MAX_PAYLOAD),
	CONN_ACK_FRAME = IOMT_WIRE_HDR_LEN + IOMT_REC_ACK_LEN,
	CONN_OUT_CAP = 256 * CONN_ACK_FRAME,
};

enum conn_state {
	CONN_OPEN = 1,
	CONN_DEAD,              /* closed; freed at the end of the loop pass */
};

struct conn {
	struct store_watch w;   /* first: epoll's data.ptr */
	uint64_t id;
	char peer[64];
	int state;              /* enum conn_state */
	int touched;            /* ACKs appended since the last flush */
	int eof;                /* the peer half-closed: answer what is in, then close */
	int64_t last_ms;        /* last byte received (idle_timeout) */
	size_t in_off, in_len;  /* unparsed input: in[in_off..in_len) */
	size_t out_off, out_len;
	size_t reserved;        /* output promised to batches of the group */
	struct conn *next, *prev;
	uint8_t out[CONN_OUT_CAP];
	uint8_t in[CONN_IN_CAP];
};

void store_conn_accept(struct store_daemon *d);
void store_conn_event(struct store_daemon *d, struct conn *c, uint32_t events);
/*
 * The next REC_PUT payload of c for the group: 1 with *p, *len pointing into
 * c's input (valid until its next read), 0 when there is none now (partial
 * frame, no room for the ACK, or the connection was closed for a corrupt
 * stream). Frames of another type are answered MALFORMED on the way.
 */
int store_conn_next(struct store_daemon *d, struct conn *c, const uint8_t **p, size_t *len);
/* Appends an ACK, releasing the room reserved for it. */
void store_conn_ack(struct conn *c, const uint8_t batch_id[8], uint8_t status, uint16_t stored,
		    uint16_t duplicates);
void store_conn_flush(struct store_daemon *d, struct conn *c);
void store_conn_update(struct store_daemon *d, struct conn *c);
void store_conn_close(struct store_daemon *d, struct conn *c, struct rt_metric *reason,
		      const char *why);
void store_conn_reap(struct store_daemon *d);
/* After a half-close: closes c once every whole frame is answered and
 * sent; 1 if it did. */
int store_conn_finished(struct store_daemon *d, struct conn *c);
/* Closes connections silent for idle_timeout: ms until the next may be due. */
int64_t store_conn_expire(struct store_daemon *d, int64_t now);

static inline int store_conn_pending(const struct conn *c)
{
	return c->out_len > c->out_off;
}

#endif
