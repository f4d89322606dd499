/* SPDX-License-Identifier: MIT */
/*
 * The AS and TGS decisions, one request at a time, in the keeper: look-ups
 * in the in-memory table, keys derived from K_KDC for the moment they are
 * needed and wiped, lib/kdc.h for every byte of the protocol. Pure apart
 * from the table: the caller gives the time and the random bytes, and
 * records the outcome (audit, metrics).
 */
#ifndef IOMT_KDC_ISSUE_H
#define IOMT_KDC_ISSUE_H
#include <stddef.h>
#include <stdint.h>

#include "kdc.h"
#include "table.h"

struct kdc_issuer {
	const uint8_t *kkdc;                    /* K_KDC (keeper's locked page) */
	const uint8_t *ktgs;                    /* K_TGS of tgs_kvno */
	uint32_t tgs_kvno;
	const struct kdc_table *table;
	uint32_t tgt_life_s, ticket_life_s, skew_ms;
};

/* What happened, for the audit record. Names are zero-padded (cname and
 * target may be zero when the request did not say). */
struct kdc_outcome {
	uint8_t code;                           /* IOMT_KDC_OK or the error */
	uint8_t ref[8];                         /* for an ERR reply */
	uint8_t cname[IOMT_KDC_NAME_LEN];
	uint8_t target[IOMT_KDC_NAME_LEN];
	uint8_t patient[IOMT_KDC_NAME_LEN];
	uint8_t ckind, skind;
	uint32_t kvno;                          /* the key version asked for / used */
	uint32_t lifetime_s;
};

/* AS_REQ -> AS_REP in out (IOMT_KDC_AS_REP_LEN) or an error in o->code. */
void kdc_issue_as(const struct kdc_issuer *x, const uint8_t *req, size_t len, uint64_t now_ms,
		  const uint8_t rnd[IOMT_KDC_REP_RAND], uint8_t *out, struct kdc_outcome *o);
/* TGS_REQ -> TGS_REP in out (IOMT_KDC_TGS_REP_LEN) or an error. */
void kdc_issue_tgs(const struct kdc_issuer *x, const uint8_t *req, size_t len, uint64_t now_ms,
		   const uint8_t rnd[IOMT_KDC_REP_RAND], uint8_t *out, struct kdc_outcome *o);

#endif
