/* SPDX-License-Identifier: MIT */
/*
 * The bodies the PPD exchanges over lib/kchan.h (first paper, §IV):
 * data-key provisioning for sensors, and the signed consent request of a
 * cloud processing application with the PPD's key release. Codecs only:
 * exact sizes, every field checked; the ECDSA P-256 signature is made and
 * checked by the caller (OpenSSL in userspace/lib/rt_consent.c) over
 * iomt_consent_signed_part(). Byte layouts and vectors: docs/PROTOCOL.md §7.
 *
 * PROVISION request  = I_sensor (16, zero: absent) || Conf (30)            46
 * PROVISION reply    = meta_Kdata (78) || K_data_0 (16)                    94
 *
 * consent request    = version 1 (1) || request id (16) || created (8, Unix ms)
 *                      || expires (8, Unix ms) || requester (16, KDC name of
 *                      the cloud principal; also names its signing key)
 *                      || purpose (1) || decrypt_for (4, seconds)
 *                      || from (8) || to (8) (Unix ms: the data's time range)
 *                      || meta_Kdata (78) || count (2, 1..64)
 *                      || count x (epoch (4) || node id (13))
 *                      || note length (1) || note (0..255, UTF-8, shown to
 *                      the patient) || signature (64, ECDSA P-256 r || s over
 *                      SHA-256 of every byte before it)
 * RELEASE reply      = request id (16) || count (2) || count x (epoch (4) ||
 *                      node id (13) || node key (16))        on IOMT_KCHAN_OK
 *                    = request id (16) || reason (1)         otherwise
 */
#ifndef IOMT_CONSENT_H
#define IOMT_CONSENT_H

#include <stddef.h>
#include <stdint.h>
#include "keytree.h"

enum {
	IOMT_CONSENT_VERSION = 1,
	IOMT_CONSENT_ID_LEN = 16,
	IOMT_CONSENT_NAME_LEN = 16,           /* = IOMT_KDC_NAME_LEN */
	IOMT_CONSENT_MAX_NODES = 64,
	IOMT_CONSENT_NOTE_MAX = 255,
	IOMT_CONSENT_SIG_LEN = 64,
	IOMT_CONSENT_NODE_ENTRY_LEN = 4 + IOMT_KEYTREE_NODE_LEN,            /* 17 */
	IOMT_CONSENT_FIXED_LEN = 1 + 16 + 8 + 8 + 16 + 1 + 4 + 8 + 8 + IOMT_KEYTREE_META_LEN + 2,
	IOMT_CONSENT_MIN_LEN = IOMT_CONSENT_FIXED_LEN + IOMT_CONSENT_NODE_ENTRY_LEN + 1 +
			       IOMT_CONSENT_SIG_LEN,
	IOMT_CONSENT_MAX_LEN = IOMT_CONSENT_FIXED_LEN +
			       IOMT_CONSENT_MAX_NODES * IOMT_CONSENT_NODE_ENTRY_LEN + 1 +
			       IOMT_CONSENT_NOTE_MAX + IOMT_CONSENT_SIG_LEN,
	IOMT_PROVISION_REQ_LEN = IOMT_KEYTREE_ID_LEN + IOMT_KEYTREE_CONF_LEN,     /* 46 */
	IOMT_PROVISION_REP_LEN = IOMT_KEYTREE_META_LEN + IOMT_KEYTREE_KEY_LEN,    /* 94 */
	IOMT_RELEASE_KEY_ENTRY_LEN = IOMT_CONSENT_NODE_ENTRY_LEN + IOMT_KEYTREE_KEY_LEN, /* 33 */
	IOMT_RELEASE_REFUSAL_LEN = IOMT_CONSENT_ID_LEN + 1,
};

enum iomt_consent_purpose {
	IOMT_PURPOSE_TREATMENT = 1,
	IOMT_PURPOSE_EMERGENCY = 2,
	IOMT_PURPOSE_RESEARCH = 3,
	IOMT_PURPOSE_QUALITY = 4,     /* quality assurance, audit */
	IOMT_PURPOSE_MAX = 4,
};

/* Why a release was not made (the reason byte). */
enum iomt_release_reason {
	IOMT_RELEASE_R_PATIENT = 1,      /* the patient said no */
	IOMT_RELEASE_R_POLICY = 2,       /* the patient's policy file said no */
	IOMT_RELEASE_R_TIMEOUT = 3,      /* nobody answered the prompt in time */
	IOMT_RELEASE_R_SIGNATURE = 4,    /* signature does not verify, or unknown requester */
	IOMT_RELEASE_R_REPLAY = 5,       /* this request id was seen before */
	IOMT_RELEASE_R_EXPIRED = 6,      /* past expires, or created in the future */
	IOMT_RELEASE_R_NOT_OURS = 7,     /* meta_Kdata names another PPD */
	IOMT_RELEASE_R_REQUESTER = 8,    /* requester is not the authenticated client */
	IOMT_RELEASE_R_NODES = 9,        /* a node is outside its epoch or the range */
	IOMT_RELEASE_R_MALFORMED = 10,
	IOMT_RELEASE_R_INTERNAL = 11,    /* the evidence log could not be written */
};

struct iomt_consent_node {
	uint32_t epoch;
	struct iomt_keytree_node node;
};

struct iomt_consent_req {
	uint8_t request_id[IOMT_CONSENT_ID_LEN];
	uint64_t created_ms, expires_ms;
	uint8_t requester[IOMT_CONSENT_NAME_LEN];
	uint8_t purpose;                        /* enum iomt_consent_purpose */
	uint32_t decrypt_for_s;
	uint64_t from_ms, to_ms;
	struct iomt_keytree_meta meta;          /* meta_Kdata */
	uint16_t count;
	struct iomt_consent_node nodes[IOMT_CONSENT_MAX_NODES];
	uint8_t note_len;
	char note[IOMT_CONSENT_NOTE_MAX + 1];   /* NUL-terminated copy */
	uint8_t sig[IOMT_CONSENT_SIG_LEN];
};

/* Encodes r (signature included, as it stands) into out; *out_len is the
 * whole length. IOMT_EMALFORMED for an invalid field (purpose, count, a
 * node not in meta's tree, from > to, note with a NUL), IOMT_ESIZE for a
 * short cap. */
int iomt_consent_encode(const struct iomt_consent_req *r, uint8_t *out, size_t cap,
			size_t *out_len);
/* Decodes and checks every field; the length must be exact (IOMT_ESIZE). */
int iomt_consent_decode(struct iomt_consent_req *r, const uint8_t *in, size_t len);
/* The bytes the signature covers: in[0..len - 64). */
size_t iomt_consent_signed_len(size_t encoded_len);

/* PROVISION bodies. */
int iomt_provision_req_encode(const uint8_t sensor_id[IOMT_KEYTREE_ID_LEN],
			      const struct iomt_keytree_conf *c,
			      uint8_t out[IOMT_PROVISION_REQ_LEN]);
int iomt_provision_req_decode(uint8_t sensor_id[IOMT_KEYTREE_ID_LEN],
			      struct iomt_keytree_conf *c, const uint8_t *in, size_t len);
int iomt_provision_rep_encode(const struct iomt_keytree_meta *m,
			      const uint8_t k_data0[IOMT_KEYTREE_KEY_LEN],
			      uint8_t out[IOMT_PROVISION_REP_LEN]);
int iomt_provision_rep_decode(struct iomt_keytree_meta *m, uint8_t k_data0[IOMT_KEYTREE_KEY_LEN],
			      const uint8_t *in, size_t len);

/* RELEASE reply bodies: keys[i] goes with nodes[i]. */
int iomt_release_encode(const uint8_t request_id[IOMT_CONSENT_ID_LEN],
			const struct iomt_consent_node *nodes,
			const uint8_t (*keys)[IOMT_KEYTREE_KEY_LEN], uint16_t count,
			uint8_t *out, size_t cap, size_t *out_len);
int iomt_release_decode(const struct iomt_keytree_conf *c,
			uint8_t request_id[IOMT_CONSENT_ID_LEN], struct iomt_consent_node *nodes,
			uint8_t (*keys)[IOMT_KEYTREE_KEY_LEN], size_t cap, uint16_t *count,
			const uint8_t *in, size_t len);
void iomt_release_refusal_encode(const uint8_t request_id[IOMT_CONSENT_ID_LEN], uint8_t reason,
				 uint8_t out[IOMT_RELEASE_REFUSAL_LEN]);
int iomt_release_refusal_decode(uint8_t request_id[IOMT_CONSENT_ID_LEN], uint8_t *reason,
				const uint8_t *in, size_t len);

const char *iomt_consent_purpose_name(unsigned purpose);
const char *iomt_release_reason_name(unsigned reason);

#endif
