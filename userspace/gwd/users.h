/* SPDX-License-Identifier: MIT */
/*
 * Seed 002 phases 5 and 6 at the MEC (docs/PROTOCOL.md §9): a TCP listener
 * for patients and doctors ('users yes', 'user_listen'), served by its own
 * thread so the engine's loop never waits on a user or on the TTP.
 *
 *   P5_REQ  -> checked here (certificate window, signature, ts), forwarded
 *              to the TTP as P5_CHECK on a connection of its own (the TTP's
 *              MEC link port) -> P5_GRANT checked (TTP signature, Q_U, ID_a,
 *              nonce, SHA-256(E_U), expiry) -> P5_ACCEPT -> P5_CONFIRM ->
 *              P5_RESULTS (the analysis's signed results, sealed)
 *   P6_FETCH -> the pending alerts of this user, one P6_ALERT at a time,
 *              each waiting for its P6_ACK -> P6_END
 *
 * Emergencies (alerts.c): gwd_alerts_raise (any thread, never blocks)
 * queues one; the thread sends P6_EMERG to the TTP, seals one alert per
 * party of the P6_PARTIES answer, commits them to alerts_file, and keeps
 * each until acknowledged (then P6_DELIVERED to the TTP) or expired.
 * One user connection is served at a time, each step within user_timeout.
 */
#ifndef IOMT_GWD_USERS_H
#define IOMT_GWD_USERS_H

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/types.h>

#include "lib/ecqv.h"
#include "lib/analysis.h"
#include "lib/rt_conf.h"
#include "lib/s2_p56.h"
#include "mecstore.h"

struct gwd_cfg;
struct gwd_alert;

enum {
	GWD_RAISED_MAX = 256,		/* emergencies waiting for the TTP */
	GWD_ALERTS_MAX = 1024,		/* alerts kept until acked or expired */
	GWD_SEEN_MAX = 4096,		/* fetch nonces remembered */
};

struct gwd_raised {
	uint8_t alert_id[P56_ID_LEN];
	uint8_t id_a[P56_ID_LEN];
	uint16_t len;
	uint8_t result[P56_RESULT_MAX];
};

struct gwd_users {
	int lfd, wake;			/* listener; eventfd: raise or stop */
	pthread_t th;
	int started, stop;
	struct rt_endpoint ttp, bound;
	uint64_t timeout_ms;
	uint64_t alert_life_s;
	char alerts_file[PATH_MAX];
	char hook_dir[PATH_MAX];
	EVP_PKEY *key, *ca_pub, *ttp_pub;
	struct ecqv_cert cert;
	uint8_t cert_enc[ECQV_CERT_LEN];
	struct gwd_mecstore store;
	int store_open;
	/* guarded by mu: the queue gwd_alerts_raise fills */
	pthread_mutex_t mu;
	struct gwd_raised *raised;
	size_t nraised;
	/* the thread's own */
	struct gwd_alert *alerts;
	size_t nalerts;
	int alerts_convert;		/* loaded from an IAL1 file: rewrite on the first tick */
	uint8_t (*seen)[P56_NONCE_LEN];
	uint64_t *seen_exp;
	size_t seen_next;
	uint64_t next_tick_ms;
};

/* Loads keys, opens the listener, loads alerts_file: 0, or -1 with err. */
int gwd_users_open(struct gwd_users *u, const struct gwd_cfg *cfg, char *err, size_t errlen);
/* Starts the thread (after privileges are dropped): 0 or -errno. */
int gwd_users_start(struct gwd_users *u);
/* Stops the thread, closes everything. */
void gwd_users_close(struct gwd_users *u);
void gwd_users_describe(const struct gwd_users *u, char *buf, size_t len);

/* Metrics (users.c): iomt_gwd_user_requests_total{result},
 * iomt_gwd_alerts_total{event}, iomt_gwd_alerts_pending. */
enum gwd_users_metric {
	UM_REQ_SERVED, UM_REQ_REFUSED_HERE, UM_REQ_REFUSED_TTP, UM_REQ_TTP_DOWN,
	UM_REQ_CONFIRM_FAILED, UM_ALERT_RAISED, UM_ALERT_RESOLVED, UM_ALERT_DELIVERED,
	UM_ALERT_EXPIRED, UM_ALERT_DROPPED, UM_N,
};
void gwd_users_count(enum gwd_users_metric m);
void gwd_users_pending(size_t n);

/* ---- alerts.c ---- */
/* Queues an emergency for phase 6 (result: the signed result record,
 * 1..P56_RESULT_MAX bytes). Thread-safe, never blocks: 0, -ENOBUFS when
 * the queue is full, -EINVAL. */
int gwd_alerts_raise(struct gwd_users *u, const uint8_t id_a[P56_ID_LEN], const uint8_t *result,
		     size_t len);
/* gwd_mecdata_emergency_fn for gwd_mecdata_on_emergency (ctx = the users):
 * raises result encoding || MEC signature. */
void gwd_users_on_emergency(void *ctx, const uint8_t id_a[16], const struct an_result *r,
			    const uint8_t enc[AN_RESULT_LEN], const uint8_t *sig, size_t sig_len,
			    int64_t id);
int gwd_alerts_load(struct gwd_users *u, char *err, size_t errlen);
/* The thread's periodic work: queued emergencies to the TTP, unreported
 * deliveries, expiry, the test hook. */
void gwd_alerts_tick(struct gwd_users *u, uint64_t now_ms);
/* Serves one P6_FETCH on fd. */
void gwd_alerts_serve(struct gwd_users *u, int fd, const uint8_t *p, size_t len,
		      const char *peer);
/* One request/answer exchange with the TTP on a fresh link connection:
 * the answer's type and payload (after req_id) in buf, or -errno. */
long gwd_users_ttp(struct gwd_users *u, uint8_t type, const uint8_t *p, size_t len,
		   uint8_t *buf, size_t cap, uint8_t *rtype, const uint8_t **payload);
/* Sends one frame on fd: 0 or -errno. */
int gwd_users_send(int fd, uint8_t type, const uint8_t *p, size_t len);

#endif
