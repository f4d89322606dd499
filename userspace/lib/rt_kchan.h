/* SPDX-License-Identifier: MIT */
/*
 * The POSIX side of lib/kchan.h: a client call to a KDC-authenticated
 * service (sensor -> PPD provisioning, cloud store -> PPD key release), and
 * the service's handling of a batch of requests.
 *
 * Client:
 *   struct rt_kclient k;  rt_kclient_init(&k, &keyfile, &(struct rt_kclient_opts){ .kdc = ... });
 *   rt_kclient_ticket(&k, "ppd-alice");                      ticket for the service
 *   r = rt_kchan_call(&k, "127.0.0.1:7490", IOMT_KCHAN_OP_RELEASE, body, len,
 *                     &status, out, cap, &out_len, timeout_ms);
 *   r == 0: the service answered; status (enum iomt_kchan_status) and out
 *   r  > 0: a KDC_ERR code (lib/kdc.h) from the service (REPLAY, EXPIRED ...)
 *   r  < 0: -errno (-ETIMEDOUT, -ECONNREFUSED, -EPROTO: answers that do not verify)
 *
 * The call goes over TCP (one connection per call: a consent request may be
 * large, and the patient may take a while to answer). Each call is a fresh
 * AP_REQ, so a retry is never refused as a replay.
 */
#ifndef IOMT_RT_KCHAN_H
#define IOMT_RT_KCHAN_H

#include <stddef.h>
#include <stdint.h>
#include "kchan.h"
#include "rt_kclient.h"

int rt_kchan_call(struct rt_kclient *k, const char *service, uint8_t op, const uint8_t *body,
		  size_t len, uint8_t *status, uint8_t *out, size_t cap, size_t *out_len,
		  unsigned timeout_ms);

#endif
