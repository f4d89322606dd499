/* SPDX-License-Identifier: MIT */
/*
 * Between the network process and the keeper of 'iomt-ppd serve'
 * (SOCK_SEQPACKET, one message each way per request):
 *   net -> keeper: the frame as received (a TCP frame, a UDP datagram)
 *   keeper -> net: the request counters (PPD_IPC_COUNTERS x u64, host
 *                  order, for /metrics) || the reply frame (may be empty:
 *                  send nothing)
 */
#ifndef IOMT_PPD_IPC_H
#define IOMT_PPD_IPC_H
#include <stdint.h>

#include "metrics.h"
#include "wire.h"

enum {
	PPD_IPC_COUNTERS = PPD_OPS * PPD_RESULTS,
	PPD_IPC_STATS_LEN = PPD_IPC_COUNTERS * 8,
	PPD_IPC_FRAME_MAX = IOMT_WIRE_HDR_LEN + IOMT_WIRE_MAX_PAYLOAD,
	PPD_IPC_MSG_MAX = PPD_IPC_STATS_LEN + PPD_IPC_FRAME_MAX,
	PPD_IPC_SOCKBUF = 4 * PPD_IPC_MSG_MAX,
};

#endif
