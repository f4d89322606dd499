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
#include "recbatch.h"
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

/* Why the relay answered a REC_PUT itself
 * (iomt_gwd_rec_refused_total{reason}). */
enum gwd_rec_refusal {
	GWD_REC_REFUSED_UNREACHABLE,	/* store link down, or lost with the batch */
	GWD_REC_REFUSED_TIMEOUT,	/* no REC_ACK within relay_timeout */
	GWD_REC_REFUSED_BUSY,		/* pending table or link queue full */
	GWD_REC_REFUSED_STOPPING,	/* the daemon is stopping */
	GWD_REC_REFUSED_SPOOL_FULL,	/* the store cannot take it and the spool is full */
	GWD_REC_REFUSED_N,
};

/* Frames of the relay dropped without an answer (iomt_gwd_rec_dropped_total{reason}). */
enum gwd_rec_drop {
	GWD_REC_DROP_MALFORMED,		/* a REC_PUT that does not decode */
	GWD_REC_DROP_UNKNOWN_ACK,	/* a REC_ACK for no batch in flight */
	GWD_REC_DROP_STORE_FRAME,	/* the store sent something else */
	GWD_REC_DROP_N,
};

/* One TCP link's (link.h): iomt_gwd_<peer>_link_up, _connects_total,
 * _stream_errors_total. */
struct gwd_link_stats {
	struct rt_metric up, connects, stream_errors;
};

struct gwd_stats {
	struct rt_metric m1_received, m2_sent, m3_ok, m4_sent, busy;
	struct rt_metric drop[GWD_DROP_N];
	struct rt_metric fail[GWD_FAIL_N];
	struct rt_metric ttp_error[IOMT_S2_ERR_DENIED + 1];	/* [0]: unknown code */
	struct rt_metric slots_free, slots_busy;
	struct gwd_link_stats ttp_link;
	struct rt_metric sessions, sessions_expired, sessions_evicted;
	struct rt_metric udp_send_errors;
	struct rt_metric udp_kernel_drops;
	/* relay role */
	struct rt_metric rec_forwarded, rec_records_forwarded, rec_pending;
	struct rt_metric rec_acked[IOMT_REC_UNREACHABLE + 1];	/* by the store's status */
	struct rt_metric rec_refused[GWD_REC_REFUSED_N];
	struct rt_metric rec_dropped[GWD_REC_DROP_N];
	struct gwd_link_stats store_link;
	/* the relay's spool (spool.h) */
	struct rt_metric rec_spooled, rec_spool_forwarded, rec_spool_resent;
	struct rt_metric rec_spool_batches, rec_spool_bytes;
};

extern struct gwd_stats gwd_stats;

extern const char *const gwd_drop_name[GWD_DROP_N];
extern const char *const gwd_fail_name[GWD_FAIL_N];
extern const char *const gwd_rec_refusal_name[GWD_REC_REFUSED_N];
/* "unknown_device" ... "denied", or "other". */
const char *gwd_code_name(unsigned code);

/* Registers every metric once: 0 or -errno. */
int gwd_metrics_register(void);

/* A non-blocking TCP listener on ep; the bound address in *bound: fd or -errno. */
int gwd_metrics_listen(const struct rt_endpoint *ep, struct rt_endpoint *bound);
/* Answers every pending connection on the listener. */
void gwd_metrics_accept(int lfd);

#endif
