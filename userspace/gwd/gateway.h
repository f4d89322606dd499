/* SPDX-License-Identifier: MIT */
/*
 * The gateway role (seed 000, the AP exchange; lib/kdc.h), behind struct
 * gwd_role_ops: sensors (or any client holding a ticket for the gateway)
 * send KDC_AP_REQ over the devices' UDP socket; each batch the engine hands
 * over goes to rt_kservice_batch (iomt_kdc_ap_verify_batch, then the
 * replay cache, durable with one fdatasync), and only then are the
 * answers queued: KDC_AP_REP, or KDC_ERR with the request's ref. While
 * stopping, requests get KDC_ERR BUSY. A replay cache that cannot be
 * written stops the daemon (exit 1): a restart reopens it.
 *
 * Established peers are counted and logged at debug level with their
 * session fingerprint (rt_kclient_fingerprint), never a key; the session
 * keys themselves are wiped (phase 4 data submission will keep them).
 */
#ifndef IOMT_GWD_GATEWAY_H
#define IOMT_GWD_GATEWAY_H

#include <stddef.h>

#include "config.h"
#include "lib/rt_kservice.h"
#include "role.h"

struct gwd_gateway {
	struct rt_kservice *svc;
	const struct gwd_tx *tx;
	size_t batch_max;
	int draining;
	const uint8_t **req;
	size_t *len;
	struct rt_kservice_reply *rep;
	struct rt_kservice_peer *peer;		/* secret memory */
};

extern const struct gwd_role_ops gwd_gateway_ops;

/* The key file and replay cache from cfg, metrics registered: 0, or -errno
 * with a message in err. */
int gwd_gateway_init(struct gwd_gateway *g, const struct gwd_cfg *cfg, const struct gwd_tx *tx,
		     char *err, size_t errlen);
void gwd_gateway_fini(struct gwd_gateway *g);
/* "gateway NAME (replay cache PATH, N keys)" for the start-up line. */
void gwd_gateway_describe(const struct gwd_gateway *g, char *buf, size_t len);

#endif
