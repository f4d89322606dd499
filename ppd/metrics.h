/* SPDX-License-Identifier: MIT */
/* iomt-ppd's Prometheus metrics: requests by operation and result. */
#ifndef IOMT_PPD_METRICS_H
#define IOMT_PPD_METRICS_H

#include <stdint.h>

#include "lib/rt_metrics.h"

enum ppd_op_idx { PPD_OP_PROVISION, PPD_OP_RELEASE, PPD_OP_OTHER, PPD_OPS };
enum ppd_result_idx {
	PPD_R_OK, PPD_R_DENIED, PPD_R_REFUSED, PPD_R_MALFORMED, PPD_R_BUSY, PPD_R_INTERNAL,
	PPD_R_UNAUTHENTICATED, PPD_RESULTS,
};

int ppd_metrics_register(void);
/* op: enum iomt_kchan_op (anything else is "other"); result: PPD_R_*. */
void ppd_metrics_count(unsigned op, unsigned result);
/* Every counter, op-major (the keeper's, sent to the network process),
 * and the network process's copy of them. */
void ppd_metrics_snapshot(uint64_t *v);
void ppd_metrics_apply(const uint64_t *v);
/* PPD_R_* of a KCHAN status. */
unsigned ppd_metrics_result(unsigned status);

#endif
