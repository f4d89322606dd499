/* SPDX-License-Identifier: MIT */
/*
 * The service side of the AP exchange (lib/kdc.h), for any kind of
 * principal that accepts clients: a PPD, the cloud store, a sensor as B,
 * the gateway. It holds the service's key file and a durable replay cache
 * (rt_replay.h), and turns a batch of AP_REQ payloads into replies:
 *
 *   struct rt_kservice *s;
 *   struct rt_kservice_opts o = { .key_path = "/etc/iomt/ppd.key",
 *                                 .replay_path = "/var/lib/iomt/ppd.replay" };
 *   rt_kservice_open(&o, now_ms, &s, err, sizeof(err));
 *   ... a batch of AP_REQ payloads arrives:
 *   rt_kservice_batch(s, req, len, n, now_ms, rep, peer);
 *   ... send rep[i].frame (rep[i].len bytes; 0 = send nothing) to sender i;
 *   rep[i].code == 0: peer[i] is established (wipe peer[i].session after use).
 *
 * Per batch: iomt_kdc_ap_verify_batch, then the replay keys of the good ones
 * go to the replay cache, durable with one fdatasync, and only then are the
 * replies built: AP_REP for the new ones, KDC_ERR (code, the request's ref,
 * our time) for the others: REPLAY (seen before), BUSY (replay cache full:
 * never accepted unrecorded), INTERNAL (the cache could not be written: no
 * request of the batch is accepted). A request of the wrong size gets no
 * reply (there is nothing to name it by); it is counted as MALFORMED.
 * Outcomes are counted by code. Not thread-safe: one owner.
 */
#ifndef IOMT_RT_KSERVICE_H
#define IOMT_RT_KSERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "kdc.h"
#include "rt_keyfile.h"
#include "rt_replay.h"
#include "wire.h"

enum {
	RT_KSERVICE_SKEW_MS = 120000,		/* default clock-skew window */
	RT_KSERVICE_REPLAY_CAPACITY = 65536,	/* default live authenticators held */
	RT_KSERVICE_BATCH = 64,			/* default requests per verification */
	RT_KSERVICE_BATCH_MAX = 1024,
	RT_KSERVICE_REPLY_MAX = IOMT_WIRE_HDR_LEN + IOMT_KDC_AP_REP_LEN,
	RT_KSERVICE_NCODES = IOMT_KDC_ERR_STATE + 1,
};

struct rt_kservice_opts {
	const char *key_path;
	const char *passcode;		/* NULL: a plain key file */
	const char *replay_path;
	size_t replay_capacity;		/* 0: RT_KSERVICE_REPLAY_CAPACITY */
	uint32_t max_skew_ms;		/* 0: RT_KSERVICE_SKEW_MS */
	size_t batch_max;		/* 0: RT_KSERVICE_BATCH */
};

/* A client that proved itself (a request whose reply code is 0). */
struct rt_kservice_peer {
	uint8_t cname[IOMT_KDC_NAME_LEN];
	uint8_t ckind;
	uint8_t patient[IOMT_KDC_NAME_LEN];
	uint8_t session[IOMT_KDC_KEY_LEN];	/* secret: the AP session key */
	uint64_t ticket_end_ms;
	uint64_t auth_ms;
};

struct rt_kservice_reply {
	uint8_t frame[RT_KSERVICE_REPLY_MAX];	/* AP_REP or KDC_ERR, framed */
	size_t len;				/* 0: no reply */
	int code;				/* enum iomt_kdc_code */
};

struct rt_kservice;

/* Reads the key file, opens the replay cache: 0 or -errno, err says why. */
int rt_kservice_open(const struct rt_kservice_opts *o, uint64_t now_ms, struct rt_kservice **out,
		     char *err, size_t errlen);
void rt_kservice_close(struct rt_kservice *s);

/* n AP_REQ payloads: rep[i] and (when rep[i].code is 0) peer[i] for each.
 * Returns how many were established. */
size_t rt_kservice_batch(struct rt_kservice *s, const uint8_t *const *req, const size_t *len,
			 size_t n, uint64_t now_ms, struct rt_kservice_reply *rep,
			 struct rt_kservice_peer *peer);

/* Nonzero once the replay cache failed a write: every later request gets
 * INTERNAL until the service is restarted (reopening the cache). */
int rt_kservice_failed(const struct rt_kservice *s);

/* Our principal (for logs) and the count of outcomes per code. */
const uint8_t *rt_kservice_name(const struct rt_kservice *s);
uint64_t rt_kservice_count(const struct rt_kservice *s, int code);
void rt_kservice_replay_stats(const struct rt_kservice *s, struct rt_replay_stats *st);

/* A name as text ("" for the empty name), for logs: buf of 17+ bytes. */
const char *rt_kservice_name_str(const uint8_t name[IOMT_KDC_NAME_LEN], char *buf, size_t len);
const char *rt_kservice_kind_str(uint8_t kind);

#endif
