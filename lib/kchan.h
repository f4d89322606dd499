/* SPDX-License-Identifier: MIT */
/*
 * A request to a KDC-authenticated service, and its reply (first paper:
 * "all transfers ride on the KDC-established pairwise channels").
 *
 * Every request carries its own AP_REQ, so the service keeps no per-client
 * state (the PPD keeps none at all): it verifies the AP_REQ (ticket,
 * authenticator, replay cache), derives the AP session key from it, opens
 * the body, and seals its answer under the same key.
 *
 *   KCHAN_REQ = AP_REQ (163) || op (1) || Box(session, USE_CHAN_REQ, op, body)
 *   KCHAN_REP = status (1) || Box(session, USE_CHAN_REP, status || auth nonce (13), body)
 *
 * session is the AP session key (lib/kdc.h: KMAC128(K_AB, box nonce || ts,
 * 128, "iomt/kdc/ap-session")), unique per AP_REQ, so a body cannot be moved
 * to another request and a reply answers exactly one request (its aad names
 * the authenticator's box nonce). A request the service cannot authenticate
 * gets a KDC_ERR frame instead (lib/kdc.h codes), never a KCHAN_REP.
 * Box = nonce (13) || AES-128-CCM ciphertext || tag (16), as lib/kdc.h's.
 * Byte layouts and a vector: docs/PROTOCOL.md §7.
 */
#ifndef IOMT_KCHAN_H
#define IOMT_KCHAN_H

#include <stddef.h>
#include <stdint.h>
#include "kdc.h"

enum {
	IOMT_KCHAN_USE_REQ = 8,      /* box usages, after lib/kdc.h's 1..7 */
	IOMT_KCHAN_USE_REP = 9,
	IOMT_KCHAN_REQ_OVERHEAD = IOMT_KDC_AP_REQ_LEN + 1 + IOMT_KDC_BOX_OVERHEAD, /* 193 */
	IOMT_KCHAN_REP_OVERHEAD = 1 + IOMT_KDC_BOX_OVERHEAD,                      /* 30 */
	/* bodies so that a whole frame fits lib/wire.h's 65535-byte payload */
	IOMT_KCHAN_REQ_BODY_MAX = 65535 - IOMT_KCHAN_REQ_OVERHEAD,
	IOMT_KCHAN_REP_BODY_MAX = 65535 - IOMT_KCHAN_REP_OVERHEAD,
	IOMT_KCHAN_RAND = IOMT_KDC_AP_REQ_RAND + IOMT_KDC_BOX_NONCE_LEN, /* request builder */
};

/* Operations (the op byte). */
enum iomt_kchan_op {
	IOMT_KCHAN_OP_PROVISION = 1,  /* sensor -> PPD: a data key (lib/consent.h) */
	IOMT_KCHAN_OP_RELEASE = 2,    /* cloud -> PPD: a signed consent request */
};

/* Reply status (the status byte). */
enum iomt_kchan_status {
	IOMT_KCHAN_OK = 0,            /* approved / done: the body is the answer */
	IOMT_KCHAN_DENIED = 1,        /* the patient (or the patient's policy) said no */
	IOMT_KCHAN_REFUSED = 2,       /* forged, replayed, expired, not ours, not allowed */
	IOMT_KCHAN_MALFORMED = 3,     /* the body does not parse */
	IOMT_KCHAN_BUSY = 4,          /* retry later */
	IOMT_KCHAN_INTERNAL = 5,      /* could not log or commit: nothing was released */
};

/*
 * Client: from a client holding a ticket for the service (HAVE_TICKET or
 * ESTABLISHED), builds a KCHAN_REQ payload into out (IOMT_KCHAN_REQ_OVERHEAD
 * + len bytes) and returns the session key the reply will be sealed under
 * (the caller wipes it; the client keeps a copy in c->session for
 * iomt_kchan_rep_open). The body may sit inside out (e.g. where the AP_REQ
 * or the box go): it is moved to its place before anything is written. The
 * client goes to AP_SENT. rnd: IOMT_KCHAN_RAND
 * fresh bytes. Codes: lib/kdc.h (EXPIRED, STATE, MALFORMED for an op of 0,
 * a body over IOMT_KCHAN_REQ_BODY_MAX or a short cap).
 */
int iomt_kchan_req_seal(struct iomt_kdc_client *c, uint64_t now_ms, uint8_t op,
			const uint8_t *body, size_t len, const uint8_t rnd[IOMT_KCHAN_RAND],
			uint8_t *out, size_t cap, size_t *out_len,
			uint8_t session[IOMT_KDC_KEY_LEN]);

/* Service: where the AP_REQ, op and box are (no cryptography). MALFORMED
 * for a payload shorter than IOMT_KCHAN_REQ_OVERHEAD or an op of 0. */
int iomt_kchan_req_split(const uint8_t *p, size_t len, const uint8_t **ap_req, uint8_t *op,
			 const uint8_t **box, size_t *box_len);

/* Service, after the AP_REQ verified (iomt_kdc_ap_verify or rt_kservice):
 * opens the box into body (box_len - 29 bytes). BAD_MAC (body zeroed),
 * MALFORMED for a short box or cap. */
int iomt_kchan_req_open(const uint8_t session[IOMT_KDC_KEY_LEN], uint8_t op, const uint8_t *box,
			size_t box_len, uint8_t *body, size_t cap, size_t *body_len);

/* Service: the reply to the request whose authenticator box nonce is
 * auth_nonce (struct iomt_kdc_ap_result.auth_nonce). out gets
 * IOMT_KCHAN_REP_OVERHEAD + len bytes; nonce: 13 fresh bytes. */
int iomt_kchan_rep_seal(const uint8_t session[IOMT_KDC_KEY_LEN],
			const uint8_t auth_nonce[IOMT_KDC_BOX_NONCE_LEN], uint8_t status,
			const uint8_t nonce[IOMT_KDC_BOX_NONCE_LEN], const uint8_t *body, size_t len,
			uint8_t *out, size_t cap, size_t *out_len);

/* Client: opens a KCHAN_REP payload for the request c last sent (its
 * auth_nonce) under session; *status and body[0..*body_len). BAD_MAC if it
 * does not open (an attacker's or another request's reply: ignore it),
 * MALFORMED for a short payload or cap, STATE when c is not in AP_SENT or
 * session is not the key of the request in flight (a caller's mistake).
 * Moves c to ESTABLISHED on success. */
int iomt_kchan_rep_open(struct iomt_kdc_client *c, const uint8_t session[IOMT_KDC_KEY_LEN],
			const uint8_t *p, size_t len, uint8_t *status, uint8_t *body, size_t cap,
			size_t *body_len);

const char *iomt_kchan_strstatus(int status);

#endif
