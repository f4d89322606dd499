/* SPDX-License-Identifier: MIT */
/*
 * iomt-kdc's Prometheus metrics, served by the network process. Its own
 * counters (requests, batches, connections) are counted where they happen;
 * the keeper's (issues, denials, audit flushes, table size) arrive with
 * every batch reply (struct kdc_ipc_stats) and are copied in.
 */
#ifndef IOMT_KDC_METRICS_H
#define IOMT_KDC_METRICS_H
#include <stdint.h>

#include "ipc.h"
#include "lib/rt_metrics.h"

struct kdc_metrics {
	struct rt_metric req_as, req_tgs, req_other, req_malformed;
	struct rt_metric as_issued, tgs_issued;
	struct rt_metric as_denied[KDC_CODES], tgs_denied[KDC_CODES];
	struct rt_metric net_denied_malformed, net_denied_busy;
	struct rt_metric batches, batch_requests, batch_last, heartbeats;
	struct rt_metric flushes, flush_failures, flush_us, flush_last_us;
	struct rt_metric principals, revoked, reloads, reload_failures, tgs_kvno;
	struct rt_metric conns, conns_accepted, conns_refused;
	struct rt_metric closed_peer, closed_corrupt, closed_idle, closed_error;
	struct rt_metric udp_send_dropped;
};

extern struct kdc_metrics kdc_metrics;

/* "ok", "unknown_principal", ... "state"; "?" beyond. */
const char *kdc_code_name(uint8_t code);

int kdc_metrics_register(void);
void kdc_metrics_keeper(const struct kdc_ipc_stats *st);

#endif
