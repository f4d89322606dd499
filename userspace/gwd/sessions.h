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

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "s2_data.h"
#include "seed002.h"
#include "sessidx.h"
#include "wire.h"

enum {
	GWD_FP_LEN = 8,				/* fingerprint bytes */
	GWD_FP_HEX_LEN = 2 * GWD_FP_LEN + 1,	/* with the NUL */
};

struct gwd_session {
	/* KMAC128(SK, "", 64, "iomt/s2/handle") read big-endian: what the
	 * device's S2_DATA frames carry (lib/s2_data.h); 0 = none */
	uint64_t handle;
	uint64_t created_ms;
	uint8_t id_a[IOMT_S2_IDA_LEN];		/* the device's analysis identifier */
	uint8_t sk[IOMT_S2_KEY_LEN];		/* secret */
	struct iomt_s2_data_rx rx;		/* phase 4: data key, replay window (secret) */
};

struct gwd_sessions {
	/* Taken by every function here: the control thread (control.h)
	 * reads a snapshot while the event loop adds and expires. */
	pthread_mutex_t lock;
	struct gwd_session *ring;		/* secret memory */
	size_t cap, head, count;
	uint64_t lifetime_ms;
	struct gwd_sessidx idx;			/* by handle (phase 4) */
	struct iomt_s2_data_kdf kdf;		/* the data key derivations' prefixes */
	/* The ingress filter's session table (filter.h): a session's replay
	 * window as committed, and its end; NULL: none. Event loop only. */
	void (*on_set)(void *ctx, const uint8_t handle[8], uint64_t top, uint64_t bits);
	void (*on_del)(void *ctx, const uint8_t handle[8]);
	void *hook_ctx;
};

int gwd_sessions_init(struct gwd_sessions *t, size_t cap, uint64_t lifetime_ms);
void gwd_sessions_free(struct gwd_sessions *t);
/* A new session (the oldest is wiped if the table is full): its handle. */
uint64_t gwd_sessions_add(struct gwd_sessions *t, const uint8_t id_a[IOMT_S2_IDA_LEN],
			  const uint8_t sk[IOMT_S2_KEY_LEN], uint64_t now_ms);
/* n new sessions in this order, as n gwd_sessions_add, their data keys
 * derived in one batch (lib/s2_data.h): the handles into handle[]. */
void gwd_sessions_add_batch(struct gwd_sessions *t, size_t n, const uint8_t *const id_a[],
			    const uint8_t *const sk[], uint64_t now_ms, uint64_t handle[]);
/* The live session with this handle, or NULL. Event loop only: it is the
 * one thread that adds and drops sessions. */
struct gwd_session *gwd_sessions_find(struct gwd_sessions *t, uint64_t handle);
/* Tells on_set/on_del (filter.h) of every session from now on. */
void gwd_sessions_watch(struct gwd_sessions *t,
			void (*on_set)(void *ctx, const uint8_t handle[8], uint64_t top,
				       uint64_t bits),
			void (*on_del)(void *ctx, const uint8_t handle[8]), void *ctx);
/* s's replay window moved (phase 4, after iomt_s2_data_open): on_set. */
void gwd_sessions_committed(struct gwd_sessions *t, const struct gwd_session *s);
/* Wipes the sessions whose lifetime is over; the next expiry or UINT64_MAX. */
uint64_t gwd_sessions_expire(struct gwd_sessions *t, uint64_t now_ms);

/* What the control socket shows of a session: no secret. */
struct gwd_session_info {
	uint64_t handle;
	uint64_t age_ms;
	char ida_fp[GWD_FP_HEX_LEN];	/* KMAC128(ID_a, "", 64, "iomt/s2/ida-fingerprint") */
};

/* Up to max sessions, oldest first, into out: how many; *count gets the
 * number held. Thread-safe against add and expire. */
size_t gwd_sessions_snapshot(struct gwd_sessions *t, struct gwd_session_info *out, size_t max,
			     uint64_t now_ms, size_t *count);

/* First 8 bytes of KMAC128(SK, "", 64, "iomt/s2/sk-fingerprint"), in hex:
 * lets two parties (or a test) compare keys without showing them. */
void gwd_sk_fingerprint(const uint8_t sk[IOMT_S2_KEY_LEN], char hex[GWD_FP_HEX_LEN]);

#endif
