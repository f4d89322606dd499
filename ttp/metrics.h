/* SPDX-License-Identifier: MIT */
/* iomt-ttp's Prometheus metrics (rt_metrics), registered once at start. */
#ifndef IOMT_TTP_METRICS_H
#define IOMT_TTP_METRICS_H
#include <stdint.h>

#include "lib/rt_metrics.h"
#include "wire.h"

enum { TTP_RESULT_CODES = IOMT_S2_ERR_DENIED + 1 };  /* 0 = ok, then enum iomt_s2_code */

struct ttp_metrics {
	struct rt_metric agreements[TTP_RESULT_CODES]; /* phase-3 replies by result */
	struct rt_metric batches, batch_requests;
	struct rt_metric commits_ok, commits_failed, commit_us, commit_last_us;
	struct rt_metric links, links_accepted, links_refused;
	struct rt_metric links_closed_peer, links_closed_corrupt, links_closed_error;
	struct rt_metric users_ok, users_denied, users_malformed, users_internal;
	struct rt_metric devices, mecs;
};

extern struct ttp_metrics ttp_metrics;

/* 0 or the first rt_metrics_register error. */
int ttp_metrics_register(void);
/* One phase-3 reply: code 0 (M3) or an enum iomt_s2_code. */
void ttp_metrics_reply(uint8_t code);

#endif
