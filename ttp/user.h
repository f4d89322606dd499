/* SPDX-License-Identifier: MIT */
/*
 * Phase-2 user connections: one S2_ANALYSIS_REQ frame in, one reply frame
 * out, then close. A user has user_timeout to send its request; a frame
 * longer than the largest request, of another type, or corrupt is answered
 * USER_ERR MALFORMED.
 */
#ifndef IOMT_TTP_USER_H
#define IOMT_TTP_USER_H
#include <stddef.h>
#include <stdint.h>

#include "daemon.h"
#include "phase2.h"

enum user_state {
	USER_READING = 1,
	USER_WRITING,           /* reply queued; close once sent */
};

struct user_conn {
	struct ttp_watch w;     /* first: epoll's data.ptr */
	uint64_t id;
	char peer[64];
	int state;
	int64_t deadline_ms;
	size_t in_len, out_off, out_len;
	struct user_conn *next, *prev;
	uint8_t in[IOMT_WIRE_HDR_LEN + S2_ANALYSIS_REQ_MAX];
	uint8_t out[IOMT_WIRE_HDR_LEN + S2_ANALYSIS_RESP_MAX];
};

void ttp_user_accept(struct ttp_daemon *d);
void ttp_user_event(struct ttp_daemon *d, struct user_conn *u, uint32_t events);
/* Closes connections past their deadline; the earliest deadline left, or
 * -1 when there is none. */
int64_t ttp_user_expire(struct ttp_daemon *d, int64_t now_ms);
void ttp_user_close(struct ttp_daemon *d, struct user_conn *u, const char *why);
void ttp_user_close_all(struct ttp_daemon *d);

#endif
