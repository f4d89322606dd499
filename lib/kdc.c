/* SPDX-License-Identifier: MIT */
/* Codes, principal names, key derivation and the same-patient policy of the
 * KDC (lib/kdc.h); the ERR message. */
#include <string.h>
#include "kdc.h"
#include "kdc_box.h"
#include "bytes.h"
#include "ct.h"
#include "sp800_185.h"

const uint8_t iomt_kdc_tgs_name[IOMT_KDC_NAME_LEN] = { 'k', 'r', 'b', 't', 'g', 't' };

static const char s_device[] = "iomt/kdc/device-key";
static const char s_tgs[] = "iomt/kdc/tgs-key";
static const char s_kcv[] = "iomt/kdc/kcv";

const char *iomt_kdc_strcode(int code)
{
	switch (code) {
	case IOMT_KDC_OK: return "success";
	case IOMT_KDC_ERR_UNKNOWN_PRINCIPAL: return "unknown principal";
	case IOMT_KDC_ERR_REVOKED: return "principal revoked";
	case IOMT_KDC_ERR_POLICY: return "not allowed by the same-patient policy";
	case IOMT_KDC_ERR_EXPIRED: return "ticket expired";
	case IOMT_KDC_ERR_SKEW: return "clock skew too great";
	case IOMT_KDC_ERR_REPLAY: return "replayed request";
	case IOMT_KDC_ERR_BAD_MAC: return "integrity check failed (wrong key or tampered)";
	case IOMT_KDC_ERR_MALFORMED: return "malformed message";
	case IOMT_KDC_ERR_WRONG_PRINCIPAL: return "ticket or reply for another principal";
	case IOMT_KDC_ERR_STALE_KEY: return "stale key version";
	case IOMT_KDC_ERR_BUSY: return "server busy, retry later";
	case IOMT_KDC_ERR_INTERNAL: return "server internal error, retry later";
	case IOMT_KDC_ERR_STATE: return "not allowed in this state";
	}
	return "unknown code";
}

/* ---- names ---- */

static int name_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == ':' || c == '-';
}

int iomt_kdc_name_from_text(uint8_t name[IOMT_KDC_NAME_LEN], const char *text)
{
	size_t n = 0;

	if (!name)
		return IOMT_KDC_ERR_MALFORMED;
	memset(name, 0, IOMT_KDC_NAME_LEN);
	if (!text)
		return IOMT_KDC_ERR_MALFORMED;
	for (; text[n]; n++) {
		if (n == IOMT_KDC_NAME_LEN || !name_char((uint8_t)text[n])) {
			memset(name, 0, IOMT_KDC_NAME_LEN);
			return IOMT_KDC_ERR_MALFORMED;
		}
		name[n] = (uint8_t)text[n];
	}
	return n ? IOMT_KDC_OK : IOMT_KDC_ERR_MALFORMED;
}

int iomt_kdc_name_valid(const uint8_t name[IOMT_KDC_NAME_LEN])
{
	size_t n = 0;

	while (n < IOMT_KDC_NAME_LEN && name[n] && name_char(name[n]))
		n++;
	if (n == 0)
		return 0;
	/* Text, then zeros only: one name has one encoding. */
	for (size_t i = n; i < IOMT_KDC_NAME_LEN; i++)
		if (name[i])
			return 0;
	return 1;
}

int iomt_kdc_name_is_empty(const uint8_t name[IOMT_KDC_NAME_LEN])
{
	return iomt_ct_is_zero(name, IOMT_KDC_NAME_LEN);
}

int iomt_kdc_client_name_ok(const uint8_t name[IOMT_KDC_NAME_LEN])
{
	return iomt_kdc_name_valid(name) &&
	       !iomt_ct_eq(name, iomt_kdc_tgs_name, IOMT_KDC_NAME_LEN);
}

/* ---- keys ---- */

/* A customisation string and its length, without strlen (lib/ calls no libc). */
#define CUSTOM(s) (s), (sizeof(s) - 1)

static void kmac(const uint8_t *key, size_t klen, const char *custom, size_t clen,
		 const uint8_t *m1, size_t n1, const uint8_t *m2, size_t n2, uint8_t *out, size_t outlen)
{
	struct iomt_shake128 s;

	iomt_kmac128_init(&s, key, klen, custom, clen);
	iomt_kmac128_update(&s, m1, n1);
	iomt_kmac128_update(&s, m2, n2);
	iomt_kmac128_final(&s, out, outlen);
	iomt_shake128_wipe(&s);
}

void iomt_kdc_device_key(const uint8_t kkdc[IOMT_KDC_MASTER_LEN],
			 const uint8_t name[IOMT_KDC_NAME_LEN],
			 const uint8_t salt[IOMT_KDC_SALT_LEN], uint8_t out[IOMT_KDC_KEY_LEN])
{
	kmac(kkdc, IOMT_KDC_MASTER_LEN, CUSTOM(s_device), name, IOMT_KDC_NAME_LEN, salt,
	     IOMT_KDC_SALT_LEN, out, IOMT_KDC_KEY_LEN);
}

void iomt_kdc_tgs_key(const uint8_t kkdc[IOMT_KDC_MASTER_LEN],
		      const uint8_t salt[IOMT_KDC_SALT_LEN], uint8_t out[IOMT_KDC_KEY_LEN])
{
	kmac(kkdc, IOMT_KDC_MASTER_LEN, CUSTOM(s_tgs), salt, IOMT_KDC_SALT_LEN, NULL, 0, out,
	     IOMT_KDC_KEY_LEN);
}

void iomt_kdc_key_check(const uint8_t key[IOMT_KDC_KEY_LEN], uint8_t kcv[8])
{
	kmac(key, IOMT_KDC_KEY_LEN, CUSTOM(s_kcv), NULL, 0, NULL, 0, kcv, 8);
}

/* ---- the same-patient policy ---- */

static int kind_ok(uint8_t kind)
{
	return kind >= IOMT_KDC_KIND_SENSOR && kind <= IOMT_KDC_KIND_CLOUD;
}

/* A patient field: a valid name, or empty (none). */
static int patient_ok(const uint8_t *p)
{
	return iomt_kdc_name_is_empty(p) || iomt_kdc_name_valid(p);
}

static int policy_check(const uint8_t *cname, uint8_t ckind, const uint8_t *cpatient,
			const uint8_t *sname, uint8_t skind, const uint8_t *spatient)
{
	int ccloud = ckind == IOMT_KDC_KIND_CLOUD, scloud = skind == IOMT_KDC_KIND_CLOUD;

	if (!kind_ok(ckind) || !kind_ok(skind) || !iomt_kdc_name_valid(cname) ||
	    !iomt_kdc_name_valid(sname) || !memcmp(cname, sname, IOMT_KDC_NAME_LEN) ||
	    !patient_ok(cpatient) || !patient_ok(spatient))
		return IOMT_KDC_ERR_POLICY;
	if (ccloud || scloud)
		return IOMT_KDC_OK;
	/* Two devices: the same, registered patient. */
	if (iomt_kdc_name_is_empty(cpatient) || !iomt_ct_eq(cpatient, spatient, IOMT_KDC_NAME_LEN))
		return IOMT_KDC_ERR_POLICY;
	return IOMT_KDC_OK;
}

int iomt_kdc_policy(const uint8_t cname[IOMT_KDC_NAME_LEN], uint8_t ckind,
		    const uint8_t cpatient[IOMT_KDC_NAME_LEN],
		    const uint8_t sname[IOMT_KDC_NAME_LEN], uint8_t skind,
		    const uint8_t spatient[IOMT_KDC_NAME_LEN],
		    uint8_t patient[IOMT_KDC_NAME_LEN])
{
	int rc;

	if (!patient)
		return IOMT_KDC_ERR_POLICY;
	memset(patient, 0, IOMT_KDC_NAME_LEN);
	if (!cname || !cpatient || !sname || !spatient)
		return IOMT_KDC_ERR_POLICY;
	rc = policy_check(cname, ckind, cpatient, sname, skind, spatient);
	if (rc)
		return rc;
	/* The pairing concerns the non-cloud side's patient (none for two clouds). */
	if (ckind != IOMT_KDC_KIND_CLOUD)
		memcpy(patient, cpatient, IOMT_KDC_NAME_LEN);
	else if (skind != IOMT_KDC_KIND_CLOUD)
		memcpy(patient, spatient, IOMT_KDC_NAME_LEN);
	return IOMT_KDC_OK;
}

/* ---- ERR = code (1) || ref (8) || server time (8) ---- */

void iomt_kdc_err_build(uint8_t code, const uint8_t ref[8], uint64_t now_ms,
			uint8_t out[IOMT_KDC_ERR_LEN])
{
	out[0] = code;
	memcpy(out + 1, ref, 8);
	iomt_store_be64(out + 9, now_ms);
}

int iomt_kdc_err_parse(const uint8_t *p, size_t len, uint8_t *code, uint8_t ref[8],
		       uint64_t *now_ms)
{
	/* Fixed size; a peer sends a refusal (1..INTERNAL), never OK or STATE. */
	if (!p || !code || !ref || !now_ms || len != IOMT_KDC_ERR_LEN ||
	    p[0] < IOMT_KDC_ERR_UNKNOWN_PRINCIPAL || p[0] > IOMT_KDC_ERR_INTERNAL)
		return IOMT_KDC_ERR_MALFORMED;
	*code = p[0];
	memcpy(ref, p + 1, 8);
	*now_ms = iomt_load_be64(p + 9);
	return IOMT_KDC_OK;
}
