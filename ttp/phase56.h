/* SPDX-License-Identifier: MIT */
/*
 * Seed 002 phases 5 and 6 at the TTP (docs/PROTOCOL.md §9): frames a MEC
 * sends on its link besides S2_M2.
 *
 *   P5_CHECK      a user's request for an analysis's results, its certificate
 *                 and signature sealed to the grant key: the box opens, the
 *                 certificate on record and not revoked, the signature, ts,
 *                 the nonce (replay cache, committed before the answer), the
 *                 analysis policy's read rules (or the owner) -> P5_GRANT
 *   P6_EMERG      a MEC-signed emergency notice: the MEC on record -> the
 *                 parties entitled to the alert (the owner, alert rules) as
 *                 P6_PARTIES, TTP-signed: Q_U and an opaque handle each
 *   P6_DELIVERED  a MEC-signed report that a party (its handle) acknowledged
 *                 -> P6_NOTED; the handle is resolved to the user here
 *
 * Refusals are S2_LINK_ERR (req_id, code). Every decision is audited before
 * the answer is queued. Grants and party lists are signed with grant_key
 * (else the CA key, when the daemon may read it).
 */
#ifndef IOMT_TTP_PHASE56_H
#define IOMT_TTP_PHASE56_H
#include <stddef.h>
#include <stdint.h>

#include "daemon.h"
#include "lib/s2_p56.h"

enum {
	/* The largest reply: P6_PARTIES with every party. */
	P56_LINK_REPLY_MAX = IOMT_WIRE_HDR_LEN + IOMT_WIRE_REQ_ID_LEN + P56_PARTIES_MAX_LEN,
	/* The largest request: P6_EMERG. */
	P56_LINK_FRAME_MAX = IOMT_WIRE_HDR_LEN + IOMT_WIRE_REQ_ID_LEN + P56_EMERG_MAX,
};

struct link;

/* Loads the signing key: 0, or -errno (logged). No key configured: 0 and
 * every phase-5/6 request is answered INTERNAL. */
int ttp_p56_init(struct ttp_daemon *d);
/* 1 for the frame types this file handles. */
int ttp_p56_claims(uint8_t type);
/* Handles one frame and appends its reply to l (room for
 * P56_LINK_REPLY_MAX checked by the caller). */
void ttp_p56_handle(struct ttp_daemon *d, struct link *l, uint8_t type, const uint8_t *p,
		    size_t len);

/* ---- queries (db_p56.c) ---- */
/* The analysis: owner's user id and policy. 0, -ENOENT. */
int ttp_db_find_analysis(struct ttp_db *db, const uint8_t id_a[16], int64_t *patient_id,
			 char *policy, size_t cap);
/* fn for every user not revoked, or every user (stops at fn's first
 * non-zero, returned). */
int ttp_db_each_user(struct ttp_db *db, int with_revoked,
		     int (*fn)(void *arg, const struct ttp_user *u), void *arg);

#endif
