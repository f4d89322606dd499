/* SPDX-License-Identifier: MIT */
#include <stddef.h>

#include "metrics.h"

#define AGREE(label) RT_COUNTER("iomt_ttp_agreements_total", "result=\"" label "\"", \
				"Phase-3 requests answered, by result (ok = M3 sent)")
#define CLOSED(reason) RT_COUNTER("iomt_ttp_link_closed_total", "reason=\"" reason "\"", \
				  "MEC connections closed, by reason")
#define COMMITS(result) RT_COUNTER("iomt_ttp_commits_total", "result=\"" result "\"", \
				   "Group commits of rotated parties, by result")
#define USERS(result) RT_COUNTER("iomt_ttp_user_requests_total", "result=\"" result "\"", \
				 "Phase-2 analysis requests, by result")

struct ttp_metrics ttp_metrics = {
	.agreements = {
		[0] = AGREE("ok"),
		[IOMT_S2_ERR_UNKNOWN_DEVICE] = AGREE("unknown_device"),
		[IOMT_S2_ERR_UNKNOWN_MEC] = AGREE("unknown_mec"),
		[IOMT_S2_ERR_BAD_DEVICE] = AGREE("bad_device"),
		[IOMT_S2_ERR_BAD_MEC] = AGREE("bad_mec"),
		[IOMT_S2_ERR_MALFORMED] = AGREE("malformed"),
		[IOMT_S2_ERR_BUSY] = AGREE("busy"),
		[IOMT_S2_ERR_INTERNAL] = AGREE("internal"),
		[IOMT_S2_ERR_DENIED] = AGREE("denied"),
	},
	.batches = RT_COUNTER("iomt_ttp_batches_total", NULL, "Batches of M2s processed"),
	.batch_requests = RT_COUNTER("iomt_ttp_batch_requests_total", NULL,
				     "M2s in all batches (sum of batch sizes)"),
	.commits_ok = COMMITS("ok"),
	.commits_failed = COMMITS("failed"),
	.commit_us = RT_COUNTER("iomt_ttp_commit_microseconds_total", NULL,
				"Time spent in group commits"),
	.commit_last_us = RT_GAUGE("iomt_ttp_commit_last_microseconds", NULL,
				   "Duration of the last group commit"),
	.links = RT_GAUGE("iomt_ttp_link_connections", NULL, "MEC connections open"),
	.links_accepted = RT_COUNTER("iomt_ttp_link_accepted_total", NULL,
				     "MEC connections accepted"),
	.links_refused = RT_COUNTER("iomt_ttp_link_refused_total", NULL,
				    "MEC connections refused (max_links reached)"),
	.links_closed_peer = CLOSED("peer"),
	.links_closed_corrupt = CLOSED("corrupt"),
	.links_closed_error = CLOSED("error"),
	.users_ok = USERS("ok"),
	.users_denied = USERS("denied"),
	.users_malformed = USERS("malformed"),
	.users_internal = USERS("internal"),
	.devices = RT_GAUGE("iomt_ttp_parties", "kind=\"device\"", "Parties in memory, by kind"),
	.mecs = RT_GAUGE("iomt_ttp_parties", "kind=\"mec\"", "Parties in memory, by kind"),
};

int ttp_metrics_register(void)
{
	struct rt_metric *all[] = {
		&ttp_metrics.batches, &ttp_metrics.batch_requests, &ttp_metrics.commits_ok,
		&ttp_metrics.commits_failed, &ttp_metrics.commit_us, &ttp_metrics.commit_last_us,
		&ttp_metrics.links, &ttp_metrics.links_accepted, &ttp_metrics.links_refused,
		&ttp_metrics.links_closed_peer, &ttp_metrics.links_closed_corrupt,
		&ttp_metrics.links_closed_error, &ttp_metrics.users_ok, &ttp_metrics.users_denied,
		&ttp_metrics.users_malformed, &ttp_metrics.users_internal, &ttp_metrics.devices,
		&ttp_metrics.mecs,
	};
	int r = rt_metrics_register_array(ttp_metrics.agreements, TTP_RESULT_CODES);

	return r ? r : rt_metrics_register_list(all, RT_METRICS_LEN(all));
}

void ttp_metrics_reply(uint8_t code)
{
	if (code < TTP_RESULT_CODES)
		rt_metric_inc(&ttp_metrics.agreements[code]);
}
