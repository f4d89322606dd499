/* SPDX-License-Identifier: MIT */
/*
 * iomt-gwd's Prometheus metrics (all named iomt_gwd_*, listed in
 * docs/OPERATIONS.md) and the /metrics listener. Counts only: no metric
 * carries an identity or a key.
 */
#ifndef IOMT_GWD_METRICS_H
#define IOMT_GWD_METRICS_H

#include "lib/rt_conf.h"
#include "lib/rt_metrics.h"
#include "wire.h"

/* Why a frame was dropped (iomt_gwd_dropped_total{reason}). */
enum gwd_drop {
	GWD_DROP_SIZE,		/* header or length not exactly the type's size */
	GWD_DROP_MALFORMED,	/* bad version or unknown type */
	GWD_DROP_OVERSIZED,	/* datagram larger than any device frame */
	GWD_DROP_TYPE,		/* a valid type that this source may not send */
	GWD_DROP_UNKNOWN_REQ,	/* M3/LINK_ERR for no request in flight (late, forged) */
	GWD_DROP_DUPLICATE,	/* a second reply to one request in one batch */
	GWD_DROP_N,
};

/* Why an agreement ended without M4 (iomt_gwd_agreements_failed_total{reason}). */
enum gwd_fail {
	GWD_FAIL_TIMEOUT,	/* no M3 within agreement_timeout */
	GWD_FAIL_LINK_DOWN,	/* the TTP link dropped while waiting */
	GWD_FAIL_D3,		/* M3's d3 did not verify */
	GWD_FAIL_IDA,		/* the ID_a box did not verify */
	GWD_FAIL_TTP_ERROR,	/* the TTP answered S2_LINK_ERR */
	GWD_FAIL_PERSIST,	/* the new slot pair could not be written */
	GWD_FAIL_N,
};

struct gwd_stats {
	struct rt_metric m1_received, m2_sent, m3_ok, m4_sent, busy;
	struct rt_metric drop[GWD_DROP_N];
	struct rt_metric fail[GWD_FAIL_N];
	struct rt_metric ttp_error[IOMT_S2_ERR_DENIED + 1];	/* [0]: unknown code */
	struct rt_metric slots_free, slots_busy;
	struct rt_metric link_up, link_connects, link_stream_errors;
	struct rt_metric sessions, sessions_expired, sessions_evicted;
	struct rt_metric udp_send_errors;
	struct rt_metric udp_kernel_drops;
};

extern struct gwd_stats gwd_stats;

extern const char *const gwd_drop_name[GWD_DROP_N];
extern const char *const gwd_fail_name[GWD_FAIL_N];
/* "unknown_device" ... "denied", or "other". */
const char *gwd_code_name(unsigned code);

/* Registers every metric once: 0 or -errno. */
int gwd_metrics_register(void);

/* A non-blocking TCP listener on ep; the bound address in *bound: fd or -errno. */
int gwd_metrics_listen(const struct rt_endpoint *ep, struct rt_endpoint *bound);
/* Answers every pending connection on the listener. */
void gwd_metrics_accept(int lfd);

#endif
