/* SPDX-License-Identifier: MIT */
/* iomt-store serve's Prometheus metrics (rt_metrics): every batch, record,
 * commit and connection is counted by outcome, so nothing is dropped unseen. */
#ifndef IOMT_STORE_METRICS_H
#define IOMT_STORE_METRICS_H
#include <stdint.h>

#include "lib/rt_metrics.h"
#include "recbatch.h"

enum { STORE_STATUSES = IOMT_REC_INTERNAL + 1 };  /* enum iomt_rec_status sent */

struct store_metrics {
	struct rt_metric batches[STORE_STATUSES];     /* REC_ACKs sent, by status */
	struct rt_metric records_stored, records_duplicate, records_refused;
	struct rt_metric meta_conflicts, wrong_type;
	struct rt_metric commits_ok, commits_failed, commit_batches, commit_us, commit_last_us;
	struct rt_metric conns, conns_accepted, conns_refused;
	struct rt_metric closed_peer, closed_corrupt, closed_error, closed_idle, closed_stop;
};

extern struct store_metrics store_metrics;

/* 0 or the first rt_metrics_register error. */
int store_metrics_register(void);
/* One REC_ACK sent with status. */
void store_metrics_ack(uint8_t status);

#endif
