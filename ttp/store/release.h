/* SPDX-License-Identifier: MIT */
/*
 * One consent request to the patient's PPD (lib/consent.h over
 * lib/kchan.h): built with a fresh random request id, created now, expiring
 * in IOMT_STORE_CONSENT_TTL_MS, signed with the application's P-256 key
 * (rt_consent), sent with a ticket for the PPD that meta_Kdata names
 * (rt_kclient, rt_kchan), and its reply checked: on OK the released nodes
 * must be exactly the ones asked for, under our request id.
 */
#ifndef IOMT_STORE_RELEASE_H
#define IOMT_STORE_RELEASE_H
#include <stddef.h>
#include <stdint.h>
#include <openssl/types.h>

#include "lib/rt_kclient.h"
#include "plan.h"

enum { STORE_CONSENT_TTL_MS = 5 * 60 * 1000 };

struct release_opts {
	uint8_t purpose;               /* enum iomt_consent_purpose */
	uint32_t decrypt_for_s;
	const char *note;              /* NULL: none */
	unsigned timeout_ms;           /* for the PPD's answer (the patient decides) */
};

/* Sends q to the PPD at addr: 0 once answered (q->status, and q->keys with
 * q->released on OK, q->reason otherwise), else -errno with err saying why. */
int release_call(struct plan *p, struct plan_req *q, struct rt_kclient *k, EVP_PKEY *app_key,
		 const char *ppd_name, const char *addr, const struct release_opts *o, char *err,
		 size_t errlen);

#endif
