/* SPDX-License-Identifier: MIT */
/*
 * iomt-load's engine: N simulated sensors ("slots"), each with its own
 * non-blocking socket (a transport: a UDP socket, udp.c, or an L2CAP LE
 * CoC channel, ble.c), driven by one epoll loop. A mode (struct
 * load_mode) builds each sensor's next datagram and judges each reply with
 * the lib/ state machines; the engine paces new exchanges at --rate (a
 * token bucket over all sensors; 0 = as fast as replies come), keeps at
 * most --concurrency in flight, times them out, records latencies, prints
 * a progress line every second on stderr, and counts everything.
 *
 * Two phases: set-up (a mode's unmeasured steps, e.g. the AS and TGS
 * exchanges that get each sensor its ticket; closed loop, not paced), then
 * the measured run of --seconds. Fire-and-forget modes (junk, flood)
 * expect no reply: a sent datagram is a completed exchange; replies that
 * come anyway are counted as "answers".
 */
#ifndef IOMT_LOAD_RUN_H
#define IOMT_LOAD_RUN_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "lat.h"

enum load_verdict {
	LOAD_IGNORE,	/* not the answer (stale, another's): keep waiting */
	LOAD_DONE,	/* the exchange completed */
	LOAD_READY,	/* a set-up step completed, the sensor is ready to run */
	LOAD_MORE,	/* a set-up step completed, another one follows */
	LOAD_REFUSED,	/* the daemon said BUSY / UNREACHABLE: it is shedding load */
	LOAD_FAIL,	/* an error answer, or one that does not verify */
};

struct load_slot {
	int fd;
	int busy, ready, dead;
	unsigned idx;
	uint64_t sent_us;
	void *m;		/* the mode's per-sensor state */
	/* The exchange's request, resent in COOKIE_WRAP on COOKIE_REPLY (cookie.c). */
	uint8_t *req;
	size_t req_len;
	const struct sockaddr_storage *req_to;
	socklen_t req_tolen;
	unsigned wraps;		/* cookie round trips of this exchange */
};

struct load_run;

/* How a sensor's frames travel: one socket per sensor, one frame per
 * datagram (UDP) or SDU (L2CAP). The modes do not know which. */
struct load_transport {
	const char *name;
	/* A connected socket: reading 0 bytes, or a hang-up, is the peer's close. */
	int connected;
	/* Before any socket: the destination (--target, --ble): 0, -1 (set-up
	 * error), or -2 (unusable here: a usage error); message printed. */
	int (*prepare)(struct load_run *r);
	/* Slot s's socket, non-blocking: its fd, or -1 (message printed). */
	int (*open)(struct load_run *r, struct load_slot *s);
	/* One frame: the bytes sent, or -1 (errno). to: UDP's destination. */
	ssize_t (*send)(struct load_run *r, struct load_slot *s, const uint8_t *buf, size_t n,
			const struct sockaddr_storage *to, socklen_t tolen);
};
extern const struct load_transport load_udp, load_ble;

struct load_opts {
	const struct load_transport *tr;
	const char *target;	/* the daemon: HOST:PORT */
	const char *ble;	/* or over BLE: SRC,DST,PSM */
	unsigned sensors, concurrency;
	double rate, seconds, timeout_s;
	int quiet;
};

struct load_mode {
	const char *name;
	int fire_and_forget;
	/* Per-sensor state; 0 or -1 (message printed). */
	int (*init)(struct load_run *r, struct load_slot *s);
	/* The sensor's next datagram into buf (cap bytes), addressed to *to:
	 * its length, or -1 (an error, counted). Set-up steps while !s->ready. */
	long (*next)(struct load_run *r, struct load_slot *s, uint8_t *buf, size_t cap,
		     const struct sockaddr_storage **to, socklen_t *tolen);
	enum load_verdict (*reply)(struct load_run *r, struct load_slot *s, const uint8_t *buf,
				   size_t len);
};

struct load_counts {
	uint64_t sent, ok, refused, errors, timeouts, answers, send_errors;
	uint64_t cookies;	/* COOKIE_REPLY answered with COOKIE_WRAP */
	uint64_t closed;	/* connected sockets the peer closed */
};

struct load_run {
	const struct load_opts *o;
	const struct load_mode *mode;
	void *mctx;			/* the mode's global state */
	struct sockaddr_storage target;
	socklen_t target_len;
	struct load_slot *slot;
	struct load_counts c, setup;
	struct load_lat lat;
	double elapsed_s, cpu_s;
	unsigned errors_shown;
};

/* A note about a failed exchange on stderr (the first 10 only). */
void load_note(struct load_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t load_now_us(void);
/* HOST:PORT (IPv4 or [IPv6]) into ss: 0 or -1. */
int load_resolve(const char *text, struct sockaddr_storage *ss, socklen_t *len);

/* cookie.c: keeps the request just sent (buf[0..n), to) for a resend. */
void load_cookie_keep(struct load_slot *s, const uint8_t *buf, size_t n,
		      const struct sockaddr_storage *to, socklen_t tolen);
/* A COOKIE_REPLY to slot s's request (under load, docs/PROTOCOL.md §10):
 * the request goes again inside COOKIE_WRAP, the exchange goes on: 1, or 0
 * if buf is not one (a third reply in one exchange is not taken: 0). */
int load_cookie_reply(struct load_run *r, struct load_slot *s, const uint8_t *buf, size_t len,
		      struct load_counts *c);

/* Runs set-up and the measured phase: 0, -1 (set-up failed), or -2 (the
 * transport cannot run here: a usage error). */
int load_run(struct load_run *r, const struct load_mode *mode, const struct load_opts *o);
/* One key=value line on stdout. */
void load_report(struct load_run *r, FILE *f);

#endif
