/* SPDX-License-Identifier: MIT */
/*
 * Internal to lib/kdc_*.c: the box and what the message files share.
 *
 * Box(K, usage, aad, pt) = nonce (13) || AES-128-CCM(K, nonce, usage || aad,
 * pt) || tag (16). The caller keys K once (iomt_aes128_init) and may use the
 * schedule for several boxes; aad may come in two pieces, so no message has
 * to be copied together first.
 */
#ifndef IOMT_KDC_BOX_H
#define IOMT_KDC_BOX_H
#include <stddef.h>
#include <stdint.h>
#include "aes.h"
#include "kdc.h"

enum {
	/* The longest aad: TGS_AUTH's target || nonce || TGT, after the usage. */
	IOMT_KDC_BOX_AAD_MAX = 1 + IOMT_KDC_NAME_LEN + IOMT_KDC_NONCE_LEN + IOMT_KDC_TICKET_LEN,
	IOMT_KDC_BOX_PT_MAX = IOMT_KDC_TICKET_PT_LEN,
};

/* The aad of a box: a1 (n1 bytes) || a2 (n2 bytes); either may be empty. */
struct iomt_kdc_aad {
	const uint8_t *a1;
	size_t n1;
	const uint8_t *a2;
	size_t n2;
};

/* Writes the box of pt[0..len) to out (13 + len + 16 bytes). pt may be
 * out + 13 (sealed in place). IOMT_KDC_OK, or IOMT_KDC_ERR_INTERNAL for an
 * aad or plaintext longer than any message has (a bug). */
int iomt_kdc_box_seal(const struct iomt_aes128 *k, uint8_t usage, const struct iomt_kdc_aad *aad,
		      const uint8_t nonce[IOMT_KDC_BOX_NONCE_LEN], const uint8_t *pt, size_t len,
		      uint8_t *out);
/* Opens the box at box (13 + len + 16 bytes) into pt[0..len): IOMT_KDC_OK,
 * IOMT_KDC_ERR_BAD_MAC (pt zeroed), or INTERNAL as for the seal. */
int iomt_kdc_box_open(const struct iomt_aes128 *k, uint8_t usage, const struct iomt_kdc_aad *aad,
		      const uint8_t *box, size_t len, uint8_t *pt);

/* iomt_kdc_ticket_open with the service key already scheduled (batches). */
int iomt_kdc_ticket_open_with(const struct iomt_aes128 *ks, const uint8_t sname[IOMT_KDC_NAME_LEN],
			      uint32_t kvno, const uint8_t t[IOMT_KDC_TICKET_LEN],
			      uint64_t now_ms, uint32_t skew_ms, struct iomt_kdc_ticket_info *info);

/* 1 if ts lies within skew_ms of now_ms, either way. */
static inline int iomt_kdc_fresh(uint64_t now_ms, uint64_t ts, uint32_t skew_ms)
{
	return (now_ms >= ts ? now_ms - ts : ts - now_ms) <= skew_ms;
}

/* The last millisecond a ticket issued at issue_ms is valid (saturating). */
static inline uint64_t iomt_kdc_end_ms(uint64_t issue_ms, uint32_t lifetime_s)
{
	uint64_t life = (uint64_t)lifetime_s * 1000;

	return issue_ms > UINT64_MAX - life ? UINT64_MAX : issue_ms + life;
}

/* 1 if a is a valid client name: valid, and not the TGS's. */
int iomt_kdc_client_name_ok(const uint8_t name[IOMT_KDC_NAME_LEN]);

/* A reply (AS_REP, TGS_REP): ticket for g under g->skey || Box(kr, usage,
 * nonce || ticket, K_C,S || issue || lifetime), with lifetime_s (not
 * g->lifetime_s: the TGS shortens it) and rnd as iomt_kdc_as_reply's. */
int iomt_kdc_reply_build(const struct iomt_aes128 *kr, uint8_t usage,
			 const uint8_t nonce[IOMT_KDC_NONCE_LEN], const struct iomt_kdc_grant *g,
			 uint32_t lifetime_s, const uint8_t rnd[IOMT_KDC_REP_RAND],
			 uint8_t out[IOMT_KDC_AS_REP_LEN]);

/* Opens an authenticator box (cname (16) || ts (8)) under key: BAD_MAC,
 * WRONG_PRINCIPAL if its cname is not cname, SKEW; *ts on success. */
int iomt_kdc_auth_open(const uint8_t key[IOMT_KDC_KEY_LEN], uint8_t usage,
		       const struct iomt_kdc_aad *aad, const uint8_t *box,
		       const uint8_t cname[IOMT_KDC_NAME_LEN], uint64_t now_ms, uint32_t skew_ms,
		       uint64_t *ts);

/* session = KMAC128(K_AB, box nonce || ts (8, BE), 128, "iomt/kdc/ap-session"). */
void iomt_kdc_ap_session(const uint8_t kab[IOMT_KDC_KEY_LEN],
			 const uint8_t box_nonce[IOMT_KDC_BOX_NONCE_LEN], uint64_t ts,
			 uint8_t out[IOMT_KDC_KEY_LEN]);

/* A reply's enc part: key || issue (8) || lifetime (4), and its parse. */
void iomt_kdc_part_put(uint8_t pt[IOMT_KDC_ENC_PART_PT_LEN], const uint8_t key[IOMT_KDC_KEY_LEN],
		       uint64_t issue_ms, uint32_t lifetime_s);
void iomt_kdc_part_get(const uint8_t pt[IOMT_KDC_ENC_PART_PT_LEN], uint8_t key[IOMT_KDC_KEY_LEN],
		       uint64_t *issue_ms, uint32_t *lifetime_s);

#endif
