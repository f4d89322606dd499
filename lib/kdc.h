/* SPDX-License-Identifier: MIT */
/*
 * Kerberos-like platform key management (first paper, section III): device
 * keys derived from the KDC master key, the AS, TGS and AP exchanges, and the
 * same-patient policy. Compact fixed-size binary messages, AES-128-CCM boxes;
 * byte layouts and test vectors: docs/PROTOCOL.md §5.
 *
 * Everything here is pure: no clock, no randomness, no I/O. The caller passes
 * the time (Unix milliseconds) and fresh random bytes (getrandom on Linux,
 * the hardware RNG on a sensor), so the KDC, the gateway, the PPD, the cloud
 * store and the firmware share one implementation and tests can run it at
 * any time they like.
 *
 * Box(K, usage, aad, pt) = nonce (13, random) || CCM(K, nonce, usage||aad, pt)
 * || tag (16). The usage byte (IOMT_KDC_USE_*) is the first byte of the CCM
 * associated data, so a box made for one purpose never opens as another.
 *
 * Results are enum iomt_kdc_code: 0 for success, else the code an error
 * reply (IOMT_MSG_KDC_ERR) carries. A code says what was refused, never how
 * close a guess was; secrets are wiped on every path.
 */
#ifndef IOMT_KDC_H
#define IOMT_KDC_H
#include <stddef.h>
#include <stdint.h>

enum {
	IOMT_KDC_NAME_LEN = 16,       /* principal / patient name, zero-padded */
	IOMT_KDC_MASTER_LEN = 32,     /* K_KDC */
	IOMT_KDC_KEY_LEN = 16,        /* K_D, K_TGS, session keys */
	IOMT_KDC_SALT_LEN = 16,
	IOMT_KDC_NONCE_LEN = 8,       /* request nonce (AS, TGS) */
	IOMT_KDC_BOX_NONCE_LEN = 13,  /* CCM nonce of a box */
	IOMT_KDC_TAG_LEN = 16,
	IOMT_KDC_BOX_OVERHEAD = 13 + 16,
	IOMT_KDC_TICKET_PT_LEN = 16 + 16 + 1 + 16 + 8 + 4,
	IOMT_KDC_TICKET_LEN = 16 + 4 + 29 + 61,        /* 110 */
	IOMT_KDC_ENC_PART_PT_LEN = 16 + 8 + 4,
	IOMT_KDC_ENC_PART_LEN = 29 + 28,               /* 57 */
	IOMT_KDC_AUTH_PT_LEN = 16 + 8,
	IOMT_KDC_AUTH_LEN = 29 + 24,                   /* 53 */
	/* Payload sizes (lib/wire.h frames them). */
	IOMT_KDC_AS_REQ_LEN = 16 + 4 + 8 + 29 + 8,     /* 65 */
	IOMT_KDC_AS_REP_LEN = 110 + 57,                /* 167 */
	IOMT_KDC_TGS_REQ_LEN = 16 + 8 + 110 + 53,      /* 187 */
	IOMT_KDC_TGS_REP_LEN = 110 + 57,               /* 167 */
	IOMT_KDC_AP_REQ_LEN = 110 + 53,                /* 163 */
	IOMT_KDC_AP_REP_LEN = 29 + 8,                  /* 37 */
	IOMT_KDC_ERR_LEN = 1 + 8 + 8,                  /* 17 */
	/* Random bytes each builder consumes. */
	IOMT_KDC_AS_REQ_RAND = 8 + 13,                 /* nonce, box nonce */
	IOMT_KDC_REP_RAND = 16 + 13 + 13,              /* session key, ticket box, enc-part box */
	IOMT_KDC_TGS_REQ_RAND = 8 + 13,
	IOMT_KDC_AP_REQ_RAND = 13,
	IOMT_KDC_AP_REP_RAND = 13,
};

/* Box usages: the first byte of each box's associated data. */
enum iomt_kdc_usage {
	IOMT_KDC_USE_PA_TS = 1,       /* AS_REQ pre-authentication, under K_C */
	IOMT_KDC_USE_TICKET = 2,      /* a ticket, under the service's key */
	IOMT_KDC_USE_AS_PART = 3,     /* AS_REP enc part, under K_C */
	IOMT_KDC_USE_TGS_AUTH = 4,    /* TGS_REQ authenticator, under K_C,TGS */
	IOMT_KDC_USE_TGS_PART = 5,    /* TGS_REP enc part, under K_C,TGS */
	IOMT_KDC_USE_AP_AUTH = 6,     /* AP_REQ authenticator, under K_AB */
	IOMT_KDC_USE_AP_REP = 7,      /* AP_REP, under K_AB */
};

enum iomt_kdc_kind {
	IOMT_KDC_KIND_TGS = 0,        /* the ticket-granting service itself */
	IOMT_KDC_KIND_SENSOR = 1,
	IOMT_KDC_KIND_GATEWAY = 2,
	IOMT_KDC_KIND_PPD = 3,
	IOMT_KDC_KIND_CLOUD = 4,
};

/* Carried by IOMT_MSG_KDC_ERR; also every function's result. */
enum iomt_kdc_code {
	IOMT_KDC_OK = 0,
	IOMT_KDC_ERR_UNKNOWN_PRINCIPAL = 1, /* client or target not registered */
	IOMT_KDC_ERR_REVOKED = 2,           /* client or target revoked */
	IOMT_KDC_ERR_POLICY = 3,            /* pairing not allowed (same-patient policy) */
	IOMT_KDC_ERR_EXPIRED = 4,           /* ticket past its lifetime */
	IOMT_KDC_ERR_SKEW = 5,              /* timestamp outside the clock-skew window */
	IOMT_KDC_ERR_REPLAY = 6,            /* authenticator seen before */
	IOMT_KDC_ERR_BAD_MAC = 7,           /* a box did not open: wrong key or tampered */
	IOMT_KDC_ERR_MALFORMED = 8,         /* wrong size, unknown type, invalid field */
	IOMT_KDC_ERR_WRONG_PRINCIPAL = 9,   /* ticket or reply for someone else */
	IOMT_KDC_ERR_STALE_KEY = 10,        /* key version is not the current one */
	IOMT_KDC_ERR_BUSY = 11,             /* overloaded or stopping: retry later */
	IOMT_KDC_ERR_INTERNAL = 12,         /* could not log or commit: retry later */
	IOMT_KDC_ERR_STATE = 13,            /* local only: call not allowed now */
};

/* Short English description of a code; never NULL. */
const char *iomt_kdc_strcode(int code);

/* ---- names, keys, policy ------------------------------------------------ */

/* Text to a zero-padded name: 1..16 of [A-Za-z0-9._:-]. IOMT_KDC_ERR_MALFORMED
 * otherwise. A name is valid iff it is such text padded with zeros. */
int iomt_kdc_name_from_text(uint8_t name[IOMT_KDC_NAME_LEN], const char *text);
int iomt_kdc_name_valid(const uint8_t name[IOMT_KDC_NAME_LEN]);
/* The all-zero name: "no patient" (the cloud store). */
int iomt_kdc_name_is_empty(const uint8_t name[IOMT_KDC_NAME_LEN]);
/* The TGS principal's name: "krbtgt", reserved. */
extern const uint8_t iomt_kdc_tgs_name[IOMT_KDC_NAME_LEN];

/* K_D = KMAC128(K_KDC, name || salt, 128, "iomt/kdc/device-key");
 * K_TGS = KMAC128(K_KDC, salt, 128, "iomt/kdc/tgs-key"). */
void iomt_kdc_device_key(const uint8_t kkdc[IOMT_KDC_MASTER_LEN],
			 const uint8_t name[IOMT_KDC_NAME_LEN],
			 const uint8_t salt[IOMT_KDC_SALT_LEN], uint8_t out[IOMT_KDC_KEY_LEN]);
void iomt_kdc_tgs_key(const uint8_t kkdc[IOMT_KDC_MASTER_LEN],
		      const uint8_t salt[IOMT_KDC_SALT_LEN], uint8_t out[IOMT_KDC_KEY_LEN]);
/* 8-byte key check value: KMAC128(K, "", 64, "iomt/kdc/kcv"). */
void iomt_kdc_key_check(const uint8_t key[IOMT_KDC_KEY_LEN], uint8_t kcv[8]);

/* The same-patient policy: a ticket between c and s is allowed iff one of
 * them is the cloud store, or neither is and both are registered to the same
 * (non-empty) patient; never between a principal and itself. On success
 * *patient gets the patient the pairing concerns (the non-cloud side's, or
 * empty for two cloud stores). IOMT_KDC_OK or IOMT_KDC_ERR_POLICY. */
int iomt_kdc_policy(const uint8_t cname[IOMT_KDC_NAME_LEN], uint8_t ckind,
		    const uint8_t cpatient[IOMT_KDC_NAME_LEN],
		    const uint8_t sname[IOMT_KDC_NAME_LEN], uint8_t skind,
		    const uint8_t spatient[IOMT_KDC_NAME_LEN],
		    uint8_t patient[IOMT_KDC_NAME_LEN]);

/* ---- tickets ------------------------------------------------------------ */

/* What a ticket carries for its service (inside the box). */
struct iomt_kdc_ticket_info {
	uint8_t key[IOMT_KDC_KEY_LEN];          /* K_C,S */
	uint8_t cname[IOMT_KDC_NAME_LEN];
	uint8_t ckind;
	uint8_t patient[IOMT_KDC_NAME_LEN];
	uint64_t issue_ms;
	uint32_t lifetime_s;
};

/* Ticket = sname (16) || kvno (4) || Box(K_S, TICKET, sname || kvno, info). */
int iomt_kdc_ticket_seal(const uint8_t ks[IOMT_KDC_KEY_LEN],
			 const uint8_t sname[IOMT_KDC_NAME_LEN], uint32_t kvno,
			 const struct iomt_kdc_ticket_info *info,
			 const uint8_t box_nonce[IOMT_KDC_BOX_NONCE_LEN],
			 uint8_t out[IOMT_KDC_TICKET_LEN]);
/* The clear header. */
void iomt_kdc_ticket_peek(const uint8_t t[IOMT_KDC_TICKET_LEN],
			  uint8_t sname[IOMT_KDC_NAME_LEN], uint32_t *kvno);
/* Opens a ticket for service sname at key version kvno and checks it at
 * now_ms: WRONG_PRINCIPAL, STALE_KEY, BAD_MAC, MALFORMED (invalid names or
 * kind inside), SKEW (issued more than skew_ms in the future), EXPIRED (now
 * past issue + lifetime). info is zeroed on every error. */
int iomt_kdc_ticket_open(const uint8_t ks[IOMT_KDC_KEY_LEN],
			 const uint8_t sname[IOMT_KDC_NAME_LEN], uint32_t kvno,
			 const uint8_t t[IOMT_KDC_TICKET_LEN], uint64_t now_ms,
			 uint32_t skew_ms, struct iomt_kdc_ticket_info *info);

/* ---- the KDC side (AS and TGS) ------------------------------------------ */

/* AS_REQ = cname (16) || kvno (4) || nonce (8) || Box(K_C, PA_TS, cname ||
 * kvno || nonce, timestamp (8)). The clear part, for the principal lookup:
 * MALFORMED for a wrong size or an invalid name. */
int iomt_kdc_as_req_peek(const uint8_t *req, size_t len, uint8_t cname[IOMT_KDC_NAME_LEN],
			 uint32_t *kvno, uint8_t nonce[IOMT_KDC_NONCE_LEN]);

/* What the KDC decided to issue, from its registration table. */
struct iomt_kdc_grant {
	const uint8_t *skey;            /* service key: K_TGS for a TGT, else K_S */
	const uint8_t *sname;           /* service name (iomt_kdc_tgs_name for a TGT) */
	uint32_t skvno;
	uint8_t cname[IOMT_KDC_NAME_LEN];
	uint8_t ckind;
	uint8_t patient[IOMT_KDC_NAME_LEN];
	uint64_t now_ms;                /* becomes the ticket's issue time */
	uint32_t lifetime_s;
};

/* Checks the pre-authentication of an AS_REQ under kc (the client's current
 * key, whose kvno the caller compared: STALE_KEY is the caller's to send)
 * -- BAD_MAC, SKEW -- and on success writes AS_REP = TGT || Box(K_C,
 * AS_PART, nonce || TGT, K_C,TGS || issue (8) || lifetime (4)). rnd is
 * IOMT_KDC_REP_RAND fresh bytes; the session key is taken from it. */
int iomt_kdc_as_reply(const uint8_t kc[IOMT_KDC_KEY_LEN], const uint8_t *req, size_t len,
		      uint32_t skew_ms, const struct iomt_kdc_grant *g,
		      const uint8_t rnd[IOMT_KDC_REP_RAND], uint8_t out[IOMT_KDC_AS_REP_LEN]);

/* TGS_REQ = target (16) || nonce (8) || TGT || Box(K_C,TGS, TGS_AUTH,
 * target || nonce || TGT, cname (16) || timestamp (8)). */
struct iomt_kdc_tgs_req {
	uint8_t target[IOMT_KDC_NAME_LEN];
	uint8_t nonce[IOMT_KDC_NONCE_LEN];
	struct iomt_kdc_ticket_info tgt; /* tgt.key is K_C,TGS */
};
/* Opens a TGS_REQ with K_TGS (version tgs_kvno): the TGT as
 * iomt_kdc_ticket_open does, then the authenticator (BAD_MAC, SKEW, and
 * WRONG_PRINCIPAL when its cname is not the TGT's), MALFORMED for a bad size
 * or target name. out is wiped on error. */
int iomt_kdc_tgs_req_open(const uint8_t ktgs[IOMT_KDC_KEY_LEN], uint32_t tgs_kvno,
			  const uint8_t *req, size_t len, uint64_t now_ms, uint32_t skew_ms,
			  struct iomt_kdc_tgs_req *out);
/* TGS_REP = ticket || Box(K_C,TGS, TGS_PART, nonce || ticket, K_C,S ||
 * issue (8) || lifetime (4)). The caller sets g (cname, ckind, patient from
 * its policy decision; lifetime never beyond the TGT's end). */
int iomt_kdc_tgs_reply(const struct iomt_kdc_tgs_req *req, const struct iomt_kdc_grant *g,
		       const uint8_t rnd[IOMT_KDC_REP_RAND], uint8_t out[IOMT_KDC_TGS_REP_LEN]);

/* ERR = code (1) || ref (8) || server time (8, Unix ms). ref: the request's
 * nonce (AS, TGS), or the first 8 bytes of the authenticator's box nonce
 * (AP). Unauthenticated, as in Kerberos: a client treats it as a hint only. */
void iomt_kdc_err_build(uint8_t code, const uint8_t ref[8], uint64_t now_ms,
			uint8_t out[IOMT_KDC_ERR_LEN]);
int iomt_kdc_err_parse(const uint8_t *p, size_t len, uint8_t *code, uint8_t ref[8],
		       uint64_t *now_ms);

/* ---- the service side (AP) ---------------------------------------------- */

/* AP_REQ = ticket || Box(K_AB, AP_AUTH, ticket, cname (16) || timestamp (8)).
 * AP_REP = Box(K_AB, AP_REP, authenticator's box nonce, timestamp (8)). */
struct iomt_kdc_ap_result {
	struct iomt_kdc_ticket_info tkt;   /* tkt.key is K_AB */
	uint64_t auth_ms;                  /* the authenticator's timestamp */
	uint8_t replay_key[16];            /* the authenticator's tag: unique */
	uint8_t ref[8];                    /* for an ERR reply */
	uint8_t auth_nonce[IOMT_KDC_BOX_NONCE_LEN]; /* the authenticator's box
	                                      nonce: AP_REP's associated data */
	uint8_t session[IOMT_KDC_KEY_LEN]; /* KMAC128(K_AB, box nonce || ts, 128,
	                                      "iomt/kdc/ap-session") */
};
/* Verifies an AP_REQ for this service (ticket as iomt_kdc_ticket_open, then
 * the authenticator: BAD_MAC, SKEW, WRONG_PRINCIPAL if its cname is not the
 * ticket's). The replay check is the caller's: look up res->replay_key,
 * remember it until auth_ms + skew, then reply. res->ref is set whenever the
 * request had the right size, so even errors can be answered. */
int iomt_kdc_ap_verify(const uint8_t ks[IOMT_KDC_KEY_LEN], const uint8_t sname[IOMT_KDC_NAME_LEN],
		       uint32_t kvno, const uint8_t *req, size_t len, uint64_t now_ms,
		       uint32_t skew_ms, struct iomt_kdc_ap_result *res);
/* n requests at once (the gateway's batches): codes[i] per request. */
void iomt_kdc_ap_verify_batch(const uint8_t ks[IOMT_KDC_KEY_LEN],
			      const uint8_t sname[IOMT_KDC_NAME_LEN], uint32_t kvno,
			      const uint8_t *const *req, const size_t *len, size_t n,
			      uint64_t now_ms, uint32_t skew_ms, struct iomt_kdc_ap_result *res,
			      int *codes);
int iomt_kdc_ap_reply(const struct iomt_kdc_ap_result *res,
		      const uint8_t rnd[IOMT_KDC_AP_REP_RAND], uint8_t out[IOMT_KDC_AP_REP_LEN]);

/* ---- the client side: one state machine for every kind ------------------ */

enum iomt_kdc_client_state {
	IOMT_KDC_C_IDLE = 0,        /* has its long-term key only */
	IOMT_KDC_C_AS_SENT,
	IOMT_KDC_C_HAVE_TGT,
	IOMT_KDC_C_TGS_SENT,
	IOMT_KDC_C_HAVE_TICKET,
	IOMT_KDC_C_AP_SENT,
	IOMT_KDC_C_ESTABLISHED,     /* AP_REP verified: session key ready */
};

struct iomt_kdc_client {
	uint8_t state;
	uint8_t cname[IOMT_KDC_NAME_LEN];
	uint32_t kvno;
	uint8_t key[IOMT_KDC_KEY_LEN];          /* K_C */
	uint8_t nonce[IOMT_KDC_NONCE_LEN];      /* of the request in flight */
	uint64_t sent_ms;
	uint8_t tgt[IOMT_KDC_TICKET_LEN];
	uint8_t tgs_key[IOMT_KDC_KEY_LEN];
	uint64_t tgt_issue_ms;
	uint32_t tgt_life_s;
	uint8_t target[IOMT_KDC_NAME_LEN];
	uint8_t ticket[IOMT_KDC_TICKET_LEN];
	uint8_t sess_key[IOMT_KDC_KEY_LEN];     /* K_AB */
	uint64_t tkt_issue_ms;
	uint32_t tkt_life_s;
	uint8_t auth_nonce[IOMT_KDC_BOX_NONCE_LEN];
	uint64_t auth_ms;
	uint8_t session[IOMT_KDC_KEY_LEN];      /* after ESTABLISHED */
};

/* IDLE with key K_C (version kvno). */
int iomt_kdc_client_init(struct iomt_kdc_client *c, const uint8_t cname[IOMT_KDC_NAME_LEN],
			 uint32_t kvno, const uint8_t key[IOMT_KDC_KEY_LEN]);
/* Any state -> AS_SENT (a new TGT; a retry just calls it again). */
int iomt_kdc_client_as_req(struct iomt_kdc_client *c, uint64_t now_ms,
			   const uint8_t rnd[IOMT_KDC_AS_REQ_RAND], uint8_t out[IOMT_KDC_AS_REQ_LEN]);
/*
 * Feeds a reply frame's type and payload. AS_SENT -> HAVE_TGT on a valid
 * AS_REP (WRONG_PRINCIPAL if its ticket names another service, BAD_MAC if
 * its enc part does not open under our key and nonce); an ERR with our
 * nonce returns its code and leaves the state unchanged (retry or give up);
 * anything else is MALFORMED (state unchanged). The same for TGS (TGS_SENT ->
 * HAVE_TICKET) and AP (AP_SENT -> ESTABLISHED).
 */
int iomt_kdc_client_recv(struct iomt_kdc_client *c, uint8_t type, const uint8_t *p,
			 size_t len);
/* Any state holding a TGT (HAVE_TGT and later: a new target, or a retry
 * from TGS_SENT) -> TGS_SENT; EXPIRED when the TGT is past its lifetime
 * (start again with an AS_REQ). */
int iomt_kdc_client_tgs_req(struct iomt_kdc_client *c, const uint8_t target[IOMT_KDC_NAME_LEN],
			    uint64_t now_ms, const uint8_t rnd[IOMT_KDC_TGS_REQ_RAND],
			    uint8_t out[IOMT_KDC_TGS_REQ_LEN]);
/* HAVE_TICKET, AP_SENT (a retry) or ESTABLISHED -> AP_SENT (EXPIRED past
 * the ticket's life). */
int iomt_kdc_client_ap_req(struct iomt_kdc_client *c, uint64_t now_ms,
			   const uint8_t rnd[IOMT_KDC_AP_REQ_RAND], uint8_t out[IOMT_KDC_AP_REQ_LEN]);
/* Wipes everything. */
void iomt_kdc_client_wipe(struct iomt_kdc_client *c);

#endif
