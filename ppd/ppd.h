/* SPDX-License-Identifier: MIT */
/* The serving PPD: what 'iomt-ppd serve' holds while it runs. */
#ifndef IOMT_PPD_PPD_H
#define IOMT_PPD_PPD_H
#include <stddef.h>
#include <stdint.h>
#include <openssl/types.h>

#include "config.h"
#include "consent.h"
#include "hex.h"
#include "kchan.h"
#include "lib/rt_evlog.h"
#include "lib/rt_kservice.h"
#include "lib/rt_replay.h"
#include "policy.h"
#include "requesters.h"

enum {
	PPD_BODY_MAX = IOMT_KCHAN_REQ_BODY_MAX,
	PPD_REPLY_MAX = IOMT_CONSENT_ID_LEN + 2 + IOMT_CONSENT_MAX_NODES * IOMT_RELEASE_KEY_ENTRY_LEN,
	PPD_CONSENT_CAPACITY = 65536,	/* live consent request ids held */
};

struct ppd {
	const struct ppd_cfg *cfg;
	struct rt_kservice *ks;
	struct rt_replay *seen;		/* consent request ids, until they expire */
	struct rt_evlog *log;
	EVP_PKEY *evkey;
	uint8_t *kmaster;		/* IOMT_KEYTREE_MASTER_LEN, locked in memory */
	uint8_t id[IOMT_KDC_NAME_LEN];	/* I_PPD: our KDC name */
	uint8_t patient[IOMT_KDC_NAME_LEN];
	char id_text[IOMT_KDC_NAME_LEN + 1];
	struct ppd_requesters rq;
	struct ppd_policy policy;
	int tty;			/* prompt terminal, or -1 */
	int sfd;			/* rt_daemon_signals() */
	unsigned pending;		/* RT_SIG_* read while a prompt was open */
};

/* A request the AP_REQ of which verified: what the handlers see. */
struct ppd_req {
	const struct rt_kservice_peer *peer;
	char client[IOMT_KDC_NAME_LEN + 1];
	uint64_t now_ms;
	const uint8_t *body;
	size_t len;
	uint8_t *out;			/* PPD_REPLY_MAX bytes */
	size_t out_len;
};

/* Each returns the reply status (enum iomt_kchan_status), its body in
 * req->out[0..out_len). Every outcome is in the evidence log first. */
int ppd_provision(struct ppd *p, struct ppd_req *req);
int ppd_release(struct ppd *p, struct ppd_req *req);

/* The whole KCHAN_REQ payload -> the reply frame (KCHAN_REP or KDC_ERR)
 * in out (*out_len 0: send nothing). */
void ppd_handle(struct ppd *p, const uint8_t *payload, size_t len, uint8_t *out, size_t cap,
		size_t *out_len);

/* The wall clock, Unix ms. */
uint64_t ppd_now_ms(void);

/* Evidence (evidence.c): JSON object entries; 0 once on disk. */
int ppd_evidence(struct ppd *p, uint8_t type, const char *json);
/* Lowercase hex of n bytes into out (2n + 1). */
/* A name as text (17 bytes). */
void ppd_name(const uint8_t name[IOMT_KDC_NAME_LEN], char out[IOMT_KDC_NAME_LEN + 1]);

/* The patient's decision (decide.c). */
struct ppd_decision {
	int approve;
	uint8_t reason;			/* enum iomt_release_reason when not approved */
	const char *by;			/* "policy" or "prompt" */
	unsigned rule;			/* policy line, 0: the default */
};
void ppd_decide(struct ppd *p, const struct iomt_consent_req *q, struct ppd_decision *d);

int ppd_serve_main(const struct ppd_cfg *cfg);

#endif
