/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "kchan.h"
#include "metrics.h"

static const char *const op_names[PPD_OPS] = { "provision", "release", "other" };
static const char *const result_names[PPD_RESULTS] = {
	"ok", "denied", "refused", "malformed", "busy", "internal", "unauthenticated",
};

static struct rt_metric requests[PPD_OPS][PPD_RESULTS];
static char labels[PPD_OPS][PPD_RESULTS][64];

int ppd_metrics_register(void)
{
	int r = 0;

	for (int o = 0; o < PPD_OPS; o++)
		for (int s = 0; !r && s < PPD_RESULTS; s++) {
			snprintf(labels[o][s], sizeof(labels[o][s]), "op=\"%s\",result=\"%s\"",
				 op_names[o], result_names[s]);
			requests[o][s] = (struct rt_metric)RT_COUNTER(
				"iomt_ppd_requests_total", labels[o][s],
				"KCHAN requests, by operation and result (unauthenticated: the "
				"AP_REQ failed)");
			r = rt_metrics_register(&requests[o][s]);
		}
	return r;
}

void ppd_metrics_count(unsigned op, unsigned result)
{
	unsigned o = op == IOMT_KCHAN_OP_PROVISION ? PPD_OP_PROVISION
		     : op == IOMT_KCHAN_OP_RELEASE ? PPD_OP_RELEASE : PPD_OP_OTHER;

	if (result < PPD_RESULTS)
		rt_metric_inc(&requests[o][result]);
}

void ppd_metrics_snapshot(uint64_t *v)
{
	for (int o = 0; o < PPD_OPS; o++)
		for (int s = 0; s < PPD_RESULTS; s++)
			v[o * PPD_RESULTS + s] = rt_metric_get(&requests[o][s]);
}

void ppd_metrics_apply(const uint64_t *v)
{
	for (int o = 0; o < PPD_OPS; o++)
		for (int s = 0; s < PPD_RESULTS; s++)
			rt_metric_set(&requests[o][s], v[o * PPD_RESULTS + s]);
}

unsigned ppd_metrics_result(unsigned status)
{
	switch (status) {
	case IOMT_KCHAN_OK: return PPD_R_OK;
	case IOMT_KCHAN_DENIED: return PPD_R_DENIED;
	case IOMT_KCHAN_REFUSED: return PPD_R_REFUSED;
	case IOMT_KCHAN_MALFORMED: return PPD_R_MALFORMED;
	case IOMT_KCHAN_BUSY: return PPD_R_BUSY;
	default: return PPD_R_INTERNAL;
	}
}
