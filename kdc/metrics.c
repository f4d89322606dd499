/* SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdio.h>

#include "metrics.h"

static const char *const code_names[KDC_CODES] = {
	"ok", "unknown_principal", "revoked", "policy", "expired", "skew", "replay", "bad_mac",
	"malformed", "wrong_principal", "stale_key", "busy", "internal", "state",
};

const char *kdc_code_name(uint8_t code)
{
	return code < KDC_CODES ? code_names[code] : "?";
}

#define REQ(t) RT_COUNTER("iomt_kdc_requests_total", "type=\"" t "\"", \
			  "Frames received, by type (malformed: failed the size/type checks)")
#define ISSUED(t) RT_COUNTER("iomt_kdc_issued_total", "type=\"" t "\"", \
			     "Tickets issued (audited and synced), by exchange")
#define CLOSED(r) RT_COUNTER("iomt_kdc_tcp_closed_total", "reason=\"" r "\"", \
			     "TCP connections closed, by reason")
#define DENIED_HELP "Requests refused, by exchange and code (net: refused before the keeper)"

struct kdc_metrics kdc_metrics = {
	.req_as = REQ("as"), .req_tgs = REQ("tgs"), .req_other = REQ("other"),
	.req_malformed = REQ("malformed"),
	.as_issued = ISSUED("as"), .tgs_issued = ISSUED("tgs"),
	.net_denied_malformed = RT_COUNTER("iomt_kdc_denied_total",
					   "type=\"net\",code=\"malformed\"", DENIED_HELP),
	.net_denied_busy = RT_COUNTER("iomt_kdc_denied_total", "type=\"net\",code=\"busy\"",
				      DENIED_HELP),
	.batches = RT_COUNTER("iomt_kdc_batches_total", NULL, "Batches handed to the keeper"),
	.batch_requests = RT_COUNTER("iomt_kdc_batch_requests_total", NULL,
				     "Requests in all batches (sum of batch sizes)"),
	.batch_last = RT_GAUGE("iomt_kdc_batch_last_size", NULL, "Size of the last batch"),
	.heartbeats = RT_COUNTER("iomt_kdc_heartbeats_total", NULL,
				 "Empty batches sent while idle (keeper liveness, fresh stats)"),
	.flushes = RT_COUNTER("iomt_kdc_audit_flushes_total", NULL,
			      "Audit group commits (one write + fdatasync per batch)"),
	.flush_failures = RT_COUNTER("iomt_kdc_audit_flush_failures_total", NULL,
				     "Audit group commits that failed (batch answered INTERNAL)"),
	.flush_us = RT_COUNTER("iomt_kdc_audit_flush_microseconds_total", NULL,
			       "Time spent in audit group commits"),
	.flush_last_us = RT_GAUGE("iomt_kdc_audit_flush_last_microseconds", NULL,
				  "Duration of the last audit group commit"),
	.principals = RT_GAUGE("iomt_kdc_principals", "status=\"all\"",
			       "Principals in the keeper's table"),
	.revoked = RT_GAUGE("iomt_kdc_principals", "status=\"revoked\"",
			    "Principals in the keeper's table"),
	.reloads = RT_COUNTER("iomt_kdc_table_reloads_total", NULL,
			      "Registration table (re)loads from the database"),
	.reload_failures = RT_COUNTER("iomt_kdc_table_reload_failures_total", NULL,
				      "Table reloads that failed (previous table kept)"),
	.tgs_kvno = RT_GAUGE("iomt_kdc_tgs_kvno", NULL, "Current TGS key version"),
	.conns = RT_GAUGE("iomt_kdc_tcp_connections", NULL, "TCP connections open"),
	.conns_accepted = RT_COUNTER("iomt_kdc_tcp_accepted_total", NULL,
				     "TCP connections accepted"),
	.conns_refused = RT_COUNTER("iomt_kdc_tcp_refused_total", NULL,
				    "TCP connections refused (max_conns reached)"),
	.closed_peer = CLOSED("peer"), .closed_corrupt = CLOSED("corrupt"),
	.closed_idle = CLOSED("idle"), .closed_error = CLOSED("error"),
	.udp_send_dropped = RT_COUNTER("iomt_kdc_udp_send_dropped_total", NULL,
				       "UDP replies the kernel would not take (socket buffer full)"),
};

/* Label strings for the per-code families: static, built once. */
static char labels[2][KDC_CODES][64];

int kdc_metrics_register(void)
{
	struct rt_metric *all[] = {
		&kdc_metrics.req_as, &kdc_metrics.req_tgs, &kdc_metrics.req_other,
		&kdc_metrics.req_malformed, &kdc_metrics.as_issued, &kdc_metrics.tgs_issued,
		&kdc_metrics.net_denied_malformed, &kdc_metrics.net_denied_busy,
		&kdc_metrics.batches, &kdc_metrics.batch_requests, &kdc_metrics.batch_last,
		&kdc_metrics.heartbeats, &kdc_metrics.flushes, &kdc_metrics.flush_failures,
		&kdc_metrics.flush_us, &kdc_metrics.flush_last_us, &kdc_metrics.principals,
		&kdc_metrics.revoked, &kdc_metrics.reloads, &kdc_metrics.reload_failures,
		&kdc_metrics.tgs_kvno, &kdc_metrics.conns, &kdc_metrics.conns_accepted,
		&kdc_metrics.conns_refused, &kdc_metrics.closed_peer, &kdc_metrics.closed_corrupt,
		&kdc_metrics.closed_idle, &kdc_metrics.closed_error, &kdc_metrics.udp_send_dropped,
	};
	int r = 0;

	for (int t = 0; t < 2; t++) {
		struct rt_metric *m = t ? kdc_metrics.tgs_denied : kdc_metrics.as_denied;

		for (int c = 1; !r && c < KDC_CODES; c++) {
			snprintf(labels[t][c], sizeof(labels[t][c]), "type=\"%s\",code=\"%s\"",
				 t ? "tgs" : "as", code_names[c]);
			m[c] = (struct rt_metric)RT_COUNTER("iomt_kdc_denied_total", labels[t][c],
							    DENIED_HELP);
			r = rt_metrics_register(&m[c]);
		}
	}
	return r ? r : rt_metrics_register_list(all, RT_METRICS_LEN(all));
}

void kdc_metrics_keeper(const struct kdc_ipc_stats *st)
{
	rt_metric_set(&kdc_metrics.as_issued, st->as_issued);
	rt_metric_set(&kdc_metrics.tgs_issued, st->tgs_issued);
	for (int c = 1; c < KDC_CODES; c++) {
		rt_metric_set(&kdc_metrics.as_denied[c], st->as_denied[c]);
		rt_metric_set(&kdc_metrics.tgs_denied[c], st->tgs_denied[c]);
	}
	rt_metric_set(&kdc_metrics.flushes, st->flushes);
	rt_metric_set(&kdc_metrics.flush_failures, st->flush_failures);
	rt_metric_set(&kdc_metrics.flush_us, st->flush_us);
	rt_metric_set(&kdc_metrics.flush_last_us, st->flush_last_us);
	rt_metric_set(&kdc_metrics.principals, st->principals);
	rt_metric_set(&kdc_metrics.revoked, st->revoked);
	rt_metric_set(&kdc_metrics.reloads, st->reloads);
	rt_metric_set(&kdc_metrics.reload_failures, st->reload_failures);
	rt_metric_set(&kdc_metrics.tgs_kvno, st->tgs_kvno);
}
