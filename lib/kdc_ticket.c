/* SPDX-License-Identifier: MIT */
/*
 * Tickets: sname (16) || kvno (4) || Box(K_S, TICKET, sname || kvno, info).
 * info = K_C,S (16) || cname (16) || ckind (1) || patient (16) || issue (8)
 * || lifetime (4), 61 bytes.
 */
#include <string.h>
#include "kdc_box.h"
#include "bytes.h"
#include "ct.h"

enum {
	HDR_LEN = IOMT_KDC_NAME_LEN + 4,
	OFF_KEY = 0,
	OFF_CNAME = OFF_KEY + IOMT_KDC_KEY_LEN,
	OFF_KIND = OFF_CNAME + IOMT_KDC_NAME_LEN,
	OFF_PATIENT = OFF_KIND + 1,
	OFF_ISSUE = OFF_PATIENT + IOMT_KDC_NAME_LEN,
	OFF_LIFE = OFF_ISSUE + 8,
	PT_LEN = OFF_LIFE + 4,
};
_Static_assert((int)PT_LEN == (int)IOMT_KDC_TICKET_PT_LEN, "ticket plaintext layout");
_Static_assert(HDR_LEN + IOMT_KDC_BOX_OVERHEAD + PT_LEN == (int)IOMT_KDC_TICKET_LEN, "ticket size");

/* A client inside a ticket: a valid non-TGS name, a device or cloud kind,
 * a patient or none. */
static int info_ok(const struct iomt_kdc_ticket_info *i)
{
	return iomt_kdc_client_name_ok(i->cname) && i->ckind >= IOMT_KDC_KIND_SENSOR &&
	       i->ckind <= IOMT_KDC_KIND_CLOUD &&
	       (iomt_kdc_name_is_empty(i->patient) || iomt_kdc_name_valid(i->patient));
}

static void info_put(uint8_t pt[PT_LEN], const struct iomt_kdc_ticket_info *i)
{
	memcpy(pt + OFF_KEY, i->key, IOMT_KDC_KEY_LEN);
	memcpy(pt + OFF_CNAME, i->cname, IOMT_KDC_NAME_LEN);
	pt[OFF_KIND] = i->ckind;
	memcpy(pt + OFF_PATIENT, i->patient, IOMT_KDC_NAME_LEN);
	iomt_store_be64(pt + OFF_ISSUE, i->issue_ms);
	iomt_store_be32(pt + OFF_LIFE, i->lifetime_s);
}

static void info_get(const uint8_t pt[PT_LEN], struct iomt_kdc_ticket_info *i)
{
	memcpy(i->key, pt + OFF_KEY, IOMT_KDC_KEY_LEN);
	memcpy(i->cname, pt + OFF_CNAME, IOMT_KDC_NAME_LEN);
	i->ckind = pt[OFF_KIND];
	memcpy(i->patient, pt + OFF_PATIENT, IOMT_KDC_NAME_LEN);
	i->issue_ms = iomt_load_be64(pt + OFF_ISSUE);
	i->lifetime_s = iomt_load_be32(pt + OFF_LIFE);
}

int iomt_kdc_ticket_seal(const uint8_t ks[IOMT_KDC_KEY_LEN],
			 const uint8_t sname[IOMT_KDC_NAME_LEN], uint32_t kvno,
			 const struct iomt_kdc_ticket_info *info,
			 const uint8_t box_nonce[IOMT_KDC_BOX_NONCE_LEN],
			 uint8_t out[IOMT_KDC_TICKET_LEN])
{
	const struct iomt_kdc_aad aad = { out, HDR_LEN, NULL, 0 };
	uint8_t *box = out + HDR_LEN, *pt = box + IOMT_KDC_BOX_NONCE_LEN;
	struct iomt_aes128 k;
	int rc;

	if (!ks || !sname || !info || !box_nonce || !out)
		return IOMT_KDC_ERR_MALFORMED;
	if (!iomt_kdc_name_valid(sname) || !info_ok(info))
		return IOMT_KDC_ERR_MALFORMED;
	memcpy(out, sname, IOMT_KDC_NAME_LEN);
	iomt_store_be32(out + IOMT_KDC_NAME_LEN, kvno);
	info_put(pt, info);	/* sealed in place */
	iomt_aes128_init(&k, ks);
	rc = iomt_kdc_box_seal(&k, IOMT_KDC_USE_TICKET, &aad, box_nonce, pt, PT_LEN, box);
	iomt_aes128_wipe(&k);
	if (rc)
		iomt_wipe(out, IOMT_KDC_TICKET_LEN);
	return rc;
}

void iomt_kdc_ticket_peek(const uint8_t t[IOMT_KDC_TICKET_LEN],
			  uint8_t sname[IOMT_KDC_NAME_LEN], uint32_t *kvno)
{
	memcpy(sname, t, IOMT_KDC_NAME_LEN);
	*kvno = iomt_load_be32(t + IOMT_KDC_NAME_LEN);
}

/* The clear header, before any key is scheduled. */
static int header_check(const uint8_t *t, const uint8_t *sname, uint32_t kvno)
{
	if (!iomt_ct_eq(t, sname, IOMT_KDC_NAME_LEN))
		return IOMT_KDC_ERR_WRONG_PRINCIPAL;
	if (iomt_load_be32(t + IOMT_KDC_NAME_LEN) != kvno)
		return IOMT_KDC_ERR_STALE_KEY;
	return IOMT_KDC_OK;
}

/* Time: not issued more than skew in the future, not past its end. */
static int time_check(const struct iomt_kdc_ticket_info *i, uint64_t now_ms, uint32_t skew_ms)
{
	if (i->issue_ms > now_ms && i->issue_ms - now_ms > skew_ms)
		return IOMT_KDC_ERR_SKEW;
	if (now_ms > iomt_kdc_end_ms(i->issue_ms, i->lifetime_s))
		return IOMT_KDC_ERR_EXPIRED;
	return IOMT_KDC_OK;
}

int iomt_kdc_ticket_open_with(const struct iomt_aes128 *ks, const uint8_t sname[IOMT_KDC_NAME_LEN],
			      uint32_t kvno, const uint8_t t[IOMT_KDC_TICKET_LEN],
			      uint64_t now_ms, uint32_t skew_ms, struct iomt_kdc_ticket_info *info)
{
	const struct iomt_kdc_aad aad = { t, HDR_LEN, NULL, 0 };
	uint8_t pt[PT_LEN];
	int rc;

	memset(info, 0, sizeof(*info));
	rc = header_check(t, sname, kvno);
	if (rc)
		return rc;
	rc = iomt_kdc_box_open(ks, IOMT_KDC_USE_TICKET, &aad, t + HDR_LEN, PT_LEN, pt);
	if (!rc) {
		info_get(pt, info);
		rc = info_ok(info) ? time_check(info, now_ms, skew_ms) : IOMT_KDC_ERR_MALFORMED;
	}
	iomt_wipe(pt, sizeof(pt));
	if (rc)
		iomt_wipe(info, sizeof(*info));
	return rc;
}

int iomt_kdc_ticket_open(const uint8_t ks[IOMT_KDC_KEY_LEN],
			 const uint8_t sname[IOMT_KDC_NAME_LEN], uint32_t kvno,
			 const uint8_t t[IOMT_KDC_TICKET_LEN], uint64_t now_ms,
			 uint32_t skew_ms, struct iomt_kdc_ticket_info *info)
{
	struct iomt_aes128 k;
	int rc;

	if (!info)
		return IOMT_KDC_ERR_MALFORMED;
	memset(info, 0, sizeof(*info));
	if (!ks || !sname || !t)
		return IOMT_KDC_ERR_MALFORMED;
	rc = header_check(t, sname, kvno);
	if (rc)
		return rc;
	iomt_aes128_init(&k, ks);
	rc = iomt_kdc_ticket_open_with(&k, sname, kvno, t, now_ms, skew_ms, info);
	iomt_aes128_wipe(&k);
	return rc;
}
