/* SPDX-License-Identifier: MIT */
#include <stddef.h>

#include "metrics.h"

#define ACKS(s) RT_COUNTER("iomt_store_batches_total", "status=\"" s "\"", \
			   "Batches answered, by REC_ACK status")
#define RECORDS(r) RT_COUNTER("iomt_store_records_total", "result=\"" r "\"", \
			      "Records received, by outcome")
#define COMMITS(r) RT_COUNTER("iomt_store_commits_total", "result=\"" r "\"", \
			      "Group commits, by result")
#define CLOSED(r) RT_COUNTER("iomt_store_conn_closed_total", "reason=\"" r "\"", \
			     "Gateway connections closed, by reason")

struct store_metrics store_metrics = {
	.batches = {
		[IOMT_REC_OK] = ACKS("ok"),
		[IOMT_REC_MALFORMED] = ACKS("malformed"),
		[IOMT_REC_BUSY] = ACKS("busy"),
		[IOMT_REC_INTERNAL] = ACKS("internal"),
	},
	.records_stored = RECORDS("stored"),
	.records_duplicate = RECORDS("duplicate"),
	.records_refused = RECORDS("refused"),
	.meta_conflicts = RT_COUNTER("iomt_store_meta_conflicts_total", NULL,
				     "Batches refused: their key id is stored with another meta_Kdata"),
	.wrong_type = RT_COUNTER("iomt_store_wrong_type_total", NULL,
				 "Frames of a type other than REC_PUT (answered MALFORMED)"),
	.commits_ok = COMMITS("ok"),
	.commits_failed = COMMITS("failed"),
	.commit_batches = RT_COUNTER("iomt_store_commit_batches_total", NULL,
				     "Batches in all group commits (sum of group sizes)"),
	.commit_us = RT_COUNTER("iomt_store_commit_microseconds_total", NULL,
				"Time spent in group commits"),
	.commit_last_us = RT_GAUGE("iomt_store_commit_last_microseconds", NULL,
				   "Duration of the last group commit"),
	.conns = RT_GAUGE("iomt_store_connections", NULL, "Gateway connections open"),
	.conns_accepted = RT_COUNTER("iomt_store_conn_accepted_total", NULL,
				     "Gateway connections accepted"),
	.conns_refused = RT_COUNTER("iomt_store_conn_refused_total", NULL,
				    "Gateway connections refused (max_conns reached)"),
	.closed_peer = CLOSED("peer"),
	.closed_corrupt = CLOSED("corrupt"),
	.closed_error = CLOSED("error"),
	.closed_idle = CLOSED("idle"),
	.closed_stop = CLOSED("shutdown"),
};

int store_metrics_register(void)
{
	struct rt_metric *all[] = {
		&store_metrics.records_stored, &store_metrics.records_duplicate,
		&store_metrics.records_refused, &store_metrics.meta_conflicts,
		&store_metrics.wrong_type, &store_metrics.commits_ok,
		&store_metrics.commits_failed, &store_metrics.commit_batches,
		&store_metrics.commit_us, &store_metrics.commit_last_us, &store_metrics.conns,
		&store_metrics.conns_accepted, &store_metrics.conns_refused,
		&store_metrics.closed_peer, &store_metrics.closed_corrupt,
		&store_metrics.closed_error, &store_metrics.closed_idle, &store_metrics.closed_stop,
	};
	int r = rt_metrics_register_array(store_metrics.batches, STORE_STATUSES);

	return r ? r : rt_metrics_register_list(all, RT_METRICS_LEN(all));
}

void store_metrics_ack(uint8_t status)
{
	if (status < STORE_STATUSES)
		rt_metric_inc(&store_metrics.batches[status]);
}
