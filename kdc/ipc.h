/* SPDX-License-Identifier: MIT */
/*
 * The privilege-separation channel: one SOCK_SEQPACKET socketpair between
 * the network process (no key) and the keeper (K_KDC, table, database,
 * audit log). Each batch is one message each way:
 *
 *   net -> keeper:  kdc_ipc_hdr (n) | n x kdc_ipc_req
 *   keeper -> net:  kdc_ipc_hdr (n, same seq) | kdc_ipc_stats | n x kdc_ipc_rep
 *
 * Fixed-size slots: the keeper checks the message length against n exactly
 * and every slot's fields before use (a compromised network process is
 * exactly what it defends against). n = 0 is a heartbeat: it fetches fresh
 * statistics for the metrics endpoint. Up to KDC_PIPELINE batches may be at
 * the keeper; replies come back in order. Both processes are the same binary,
 * so the structs are passed as they are.
 */
#ifndef IOMT_KDC_IPC_H
#define IOMT_KDC_IPC_H
#include <stdint.h>

#include "config.h"
#include "kdc.h"

enum {
	KDC_IPC_MAGIC = 0x4b444331,             /* "KDC1" */
	KDC_REQ_MAX = IOMT_KDC_TGS_REQ_LEN,     /* largest request payload */
	KDC_REP_MAX = IOMT_KDC_AS_REP_LEN,      /* largest reply payload */
	KDC_CODES = IOMT_KDC_ERR_STATE + 1,     /* 0 (issued) and enum iomt_kdc_code */
	/* Batches at the keeper at once: decided while the ones before them
	 * are synced to the audit log, all waiting ones in one group commit. */
	KDC_PIPELINE = 8,
};

enum kdc_transport {
	KDC_UDP = 1,
	KDC_TCP = 2,
};

/* Where a request came from, for the audit log. */
struct kdc_ipc_peer {
	uint8_t family;         /* AF_INET or AF_INET6 */
	uint8_t transport;      /* enum kdc_transport */
	uint16_t port;          /* host order */
	uint8_t addr[16];       /* IPv4 in the first 4 bytes */
};

struct kdc_ipc_hdr {
	uint32_t magic;
	uint32_t seq;
	uint32_t n;
	uint32_t zero;
};

struct kdc_ipc_req {
	uint8_t type;           /* IOMT_MSG_KDC_AS_REQ or _TGS_REQ */
	uint8_t zero;
	uint16_t len;           /* payload bytes, exactly the type's size */
	struct kdc_ipc_peer peer;
	uint8_t payload[KDC_REQ_MAX];
};

struct kdc_ipc_rep {
	uint8_t type;           /* IOMT_MSG_KDC_AS_REP, _TGS_REP or _ERR */
	uint8_t code;           /* 0 or the ERR's code (for metrics) */
	uint16_t len;
	uint8_t payload[KDC_REP_MAX];
};

/* The keeper's counters (totals since start), mirrored into the network
 * process's metrics. */
struct kdc_ipc_stats {
	uint64_t as_issued, tgs_issued;
	uint64_t as_denied[KDC_CODES], tgs_denied[KDC_CODES];
	uint64_t flushes, flush_failures, flush_us, flush_last_us;
	uint64_t reloads, reload_failures;
	uint64_t principals, revoked;
	uint64_t tgs_kvno;
};

enum {
	KDC_IPC_REQ_MSG_MAX = sizeof(struct kdc_ipc_hdr) + KDC_BATCH_MAX * sizeof(struct kdc_ipc_req),
	KDC_IPC_REP_MSG_MAX = sizeof(struct kdc_ipc_hdr) + sizeof(struct kdc_ipc_stats) +
			      KDC_BATCH_MAX * sizeof(struct kdc_ipc_rep),
	KDC_IPC_SOCKBUF = 4 << 20,
};

#endif
