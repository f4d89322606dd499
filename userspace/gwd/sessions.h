/* SPDX-License-Identifier: MIT */
/*
 * Established sessions: (handle, ID_a, SK, created), kept in creation order
 * in a bounded ring for phase 4 (data submission). A full table drops its
 * oldest session; a session older than its lifetime is dropped; a dropped
 * session's key is wiped at once. Only counts leave this file (metrics);
 * the SK itself is never logged, only its fingerprint (gwd_sk_fingerprint).
 */
#ifndef IOMT_GWD_SESSIONS_H
#define IOMT_GWD_SESSIONS_H

#include <stddef.h>
#include <stdint.h>

#include "seed002.h"
#include "wire.h"

enum {
	GWD_FP_LEN = 8,				/* fingerprint bytes */
	GWD_FP_HEX_LEN = 2 * GWD_FP_LEN + 1,	/* with the NUL */
};

struct gwd_session {
	uint64_t handle;			/* never reused; 0 = none */
	uint64_t created_ms;
	uint8_t id_a[IOMT_S2_IDA_LEN];		/* the device's analysis identifier */
	uint8_t sk[IOMT_S2_KEY_LEN];		/* secret */
};

struct gwd_sessions {
	struct gwd_session *ring;		/* secret memory */
	size_t cap, head, count;
	uint64_t lifetime_ms;
	uint64_t next_handle;
};

int gwd_sessions_init(struct gwd_sessions *t, size_t cap, uint64_t lifetime_ms);
void gwd_sessions_free(struct gwd_sessions *t);
/* A new session (the oldest is wiped if the table is full): its handle. */
uint64_t gwd_sessions_add(struct gwd_sessions *t, const uint8_t id_a[IOMT_S2_IDA_LEN],
			  const uint8_t sk[IOMT_S2_KEY_LEN], uint64_t now_ms);
/* Wipes the sessions whose lifetime is over; the next expiry or UINT64_MAX. */
uint64_t gwd_sessions_expire(struct gwd_sessions *t, uint64_t now_ms);

/* First 8 bytes of KMAC128(SK, "", 64, "iomt/s2/sk-fingerprint"), in hex:
 * lets two parties (or a test) compare keys without showing them. */
void gwd_sk_fingerprint(const uint8_t sk[IOMT_S2_KEY_LEN], char hex[GWD_FP_HEX_LEN]);

#endif
