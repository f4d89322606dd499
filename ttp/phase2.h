/* SPDX-License-Identifier: MIT */
/*
 * Phase 2 at the TTP (docs/PROTOCOL.md §4.2, §4.3): one S2_ANALYSIS_REQ in,
 * one S2_ANALYSIS_RESP or S2_USER_ERR out. Checks, in order: the request's
 * layout, certificate window and signature (s2_analysis_req_parse_verify);
 * that the certificate is the one on record for a registered, non-revoked
 * patient; the nonce not seen before (replay cache). Then it draws ID_a and
 * one (DID, DK) per device, seals the answer, commits analysis, devices and
 * nonce in one transaction, and only then answers. Every decision is
 * audit-logged; a refusal changes nothing.
 */
#ifndef IOMT_TTP_PHASE2_H
#define IOMT_TTP_PHASE2_H
#include <stddef.h>
#include <stdint.h>

#include "daemon.h"
#include "lib/s2_phase2.h"

struct ttp_phase2_reply {
	uint8_t type;           /* IOMT_MSG_S2_ANALYSIS_RESP or IOMT_MSG_S2_USER_ERR */
	size_t len;
	uint8_t payload[S2_ANALYSIS_RESP_MAX];
};

/* The issuer id of every certificate this TTP issues. */
#define TTP_ISSUER_ID "iomt-ttp-0000001"

/* A user name as a certificate subject (zero-padded) and back; the name must
 * satisfy ttp_name_valid(name, ECQV_ID_LEN). 0 or -EINVAL. */
int ttp_subject_of_name(const char *name, uint8_t subject[ECQV_ID_LEN]);
int ttp_name_of_subject(const uint8_t subject[ECQV_ID_LEN], char name[ECQV_ID_LEN + 1]);

void ttp_phase2_handle(struct ttp_daemon *d, const uint8_t *p, size_t len, const char *peer,
		       struct ttp_phase2_reply *out);

#endif
