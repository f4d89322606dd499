/* SPDX-License-Identifier: MIT */
/* Key files, plain and passcode-wrapped (see rt_keyfile.h). */
#include <argon2.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "ccm.h"
#include "ct.h"
#include "rt_file.h"
#include "rt_keyfile.h"
#include "rt_rng.h"
#include "sp800_185.h"

/*
 * Layout (docs/PROTOCOL.md, "Key files"); integers big-endian.
 *
 *   0  magic "IOMT-KEY" | 8 version 1 | 9 form | 10 kind | 11 zero
 *   12 kvno (4) | 16 name (16) | 32 patient (16)
 *   plain:    48 key (16) | 64 kcv (8) | 72 check (8)                 = 80
 *   passcode: 48 t (4) | 52 m KiB (4) | 56 p (4) | 60 salt (16)
 *             | 76 nonce (13) | 89 CCM(key || kcv) (24) | 113 tag (16)
 *             | 129 check (8)                                         = 137
 *
 * kcv = iomt_kdc_key_check(key); check = cSHAKE128(every byte before it,
 * 64, "", "iomt/keyfile/check"); the CCM associated data is bytes 0..76.
 */
enum {
	KF_VERSION = 1,
	KF_PLAIN = 1,
	KF_PASSCODE = 2,
	KF_HDR = 48,
	KF_CHECK_LEN = 8,
	KF_KCV_LEN = 8,
	KF_PARAMS = 48,
	KF_SALT = 60,
	KF_NONCE = 76,
	KF_CT = 89,
	KF_TAG = 113,
	KF_AAD_LEN = 76,
	KF_SALT_LEN = 16,
	KF_WRAP_PT = IOMT_KDC_KEY_LEN + KF_KCV_LEN,
	KF_T_MAX = 16,                      /* a file may not ask for more work */
	KF_M_MIN_KIB = 8 * 1024,
	KF_M_MAX_KIB = 1024 * 1024,
};

static const uint8_t kf_magic[8] = { 'I', 'O', 'M', 'T', '-', 'K', 'E', 'Y' };
static const char check_custom[] = "iomt/keyfile/check";

static void file_check(const uint8_t *p, size_t len, uint8_t out[KF_CHECK_LEN])
{
	struct iomt_shake128 s;

	iomt_cshake128_init(&s, NULL, 0, check_custom, sizeof(check_custom) - 1);
	iomt_shake128_absorb(&s, p, len);
	iomt_shake128_squeeze(&s, out, KF_CHECK_LEN);
	iomt_shake128_wipe(&s);
}

static int fields_valid(const struct rt_keyfile *kf)
{
	if (kf->kind < IOMT_KDC_KIND_SENSOR || kf->kind > IOMT_KDC_KIND_CLOUD)
		return 0;
	if (!iomt_kdc_name_valid(kf->name) || iomt_kdc_name_is_empty(kf->name))
		return 0;
	/* The cloud store belongs to no patient; everything else to one. */
	if (kf->kind == IOMT_KDC_KIND_CLOUD)
		return iomt_kdc_name_is_empty(kf->patient);
	return iomt_kdc_name_valid(kf->patient) && !iomt_kdc_name_is_empty(kf->patient);
}

static void put_header(uint8_t *b, const struct rt_keyfile *kf, uint8_t form)
{
	memcpy(b, kf_magic, sizeof(kf_magic));
	b[8] = KF_VERSION;
	b[9] = form;
	b[10] = kf->kind;
	b[11] = 0;
	iomt_store_be32(b + 12, kf->kvno);
	memcpy(b + 16, kf->name, IOMT_KDC_NAME_LEN);
	memcpy(b + 32, kf->patient, IOMT_KDC_NAME_LEN);
}

int rt_keyfile_kdf(const char *passcode, const uint8_t *salt, size_t salt_len, uint32_t t,
		   uint32_t m_kib, uint32_t p, uint8_t *out, size_t out_len)
{
	int r;

	if (!passcode || !salt || !out || !out_len)
		return -EINVAL;
	r = argon2id_hash_raw(t, m_kib, p, passcode, strlen(passcode), salt, salt_len, out,
			      out_len);
	if (r == ARGON2_OK)
		return 0;
	iomt_wipe(out, out_len);
	return r == ARGON2_MEMORY_ALLOCATION_ERROR ? -ENOMEM : -EINVAL;
}

static int wrap_key(const char *passcode, const uint8_t *salt, uint32_t t, uint32_t m,
		    uint32_t p, uint8_t key[IOMT_KDC_KEY_LEN])
{
	return rt_keyfile_kdf(passcode, salt, KF_SALT_LEN, t, m, p, key, IOMT_KDC_KEY_LEN);
}

/* The passcode form's body after the header: params, salt, nonce, box. */
static int seal(uint8_t *b, const struct rt_keyfile *kf, const char *passcode)
{
	uint8_t wk[IOMT_KDC_KEY_LEN], pt[KF_WRAP_PT];
	struct iomt_aes128 aes;
	int r;

	iomt_store_be32(b + KF_PARAMS, RT_KEYFILE_ARGON2_T);
	iomt_store_be32(b + KF_PARAMS + 4, RT_KEYFILE_ARGON2_M_KIB);
	iomt_store_be32(b + KF_PARAMS + 8, RT_KEYFILE_ARGON2_P);
	r = rt_random(b + KF_SALT, KF_SALT_LEN + IOMT_CCM_NONCE_MAX_LEN);
	if (!r)
		r = wrap_key(passcode, b + KF_SALT, RT_KEYFILE_ARGON2_T, RT_KEYFILE_ARGON2_M_KIB,
			     RT_KEYFILE_ARGON2_P, wk);
	if (r)
		return r;
	memcpy(pt, kf->key, IOMT_KDC_KEY_LEN);
	iomt_kdc_key_check(kf->key, pt + IOMT_KDC_KEY_LEN);
	iomt_aes128_init(&aes, wk);
	r = iomt_ccm_encrypt(&aes, b + KF_NONCE, IOMT_CCM_NONCE_MAX_LEN, b, KF_AAD_LEN, pt,
			     sizeof(pt), b + KF_CT, b + KF_TAG, IOMT_CCM_TAG_MAX_LEN) ? -EINVAL : 0;
	iomt_aes128_wipe(&aes);
	iomt_wipe(wk, sizeof(wk));
	iomt_wipe(pt, sizeof(pt));
	return r;
}

int rt_keyfile_write(const char *path, const struct rt_keyfile *kf, const char *passcode)
{
	uint8_t b[RT_KEYFILE_PASSCODE_LEN];
	size_t len;
	int r = 0;

	if (!path || !kf || !fields_valid(kf) || (passcode && !passcode[0]))
		return -EINVAL;
	put_header(b, kf, passcode ? KF_PASSCODE : KF_PLAIN);
	if (passcode) {
		r = seal(b, kf, passcode);
		len = RT_KEYFILE_PASSCODE_LEN;
	} else {
		memcpy(b + KF_HDR, kf->key, IOMT_KDC_KEY_LEN);
		iomt_kdc_key_check(kf->key, b + KF_HDR + IOMT_KDC_KEY_LEN);
		len = RT_KEYFILE_PLAIN_LEN;
	}
	if (!r) {
		file_check(b, len - KF_CHECK_LEN, b + len - KF_CHECK_LEN);
		r = rt_file_publish(path, b, len, 0600, 0);
	}
	iomt_wipe(b, sizeof(b));
	return r;
}

/* ---- reading ---- */

/* The whole file (at most cap bytes, one more tells it is longer): its
 * length, or -errno. The mode is checked on the open file. */
static long slurp(const char *path, uint8_t *b, size_t cap, char *err, size_t errlen)
{
	long n = rt_file_read(path, b, cap, RT_FILE_PRIVATE, err, errlen);

	if (n == -EFBIG)
		return (long)cap; /* parse() names the length */
	if (n == -ENOENT)
		return rt_file_err(err, errlen, -ENOENT, "%s: no such file", path);
	return n;
}

static int open_passcode(const char *path, const uint8_t *b, const char *passcode,
			 uint8_t pt[KF_WRAP_PT], char *err, size_t errlen)
{
	uint32_t t = iomt_load_be32(b + KF_PARAMS), m = iomt_load_be32(b + KF_PARAMS + 4),
		 p = iomt_load_be32(b + KF_PARAMS + 8);
	uint8_t wk[IOMT_KDC_KEY_LEN];
	struct iomt_aes128 aes;
	int r;

	if (!passcode)
		return rt_file_err(err, errlen, -ENOKEY,
				   "%s: the key is protected: a passcode is needed", path);
	if (t < 1 || t > KF_T_MAX || m < KF_M_MIN_KIB || m > KF_M_MAX_KIB || p != 1)
		return rt_file_err(err, errlen, -EBADMSG, "%s: corrupted (Argon2 parameters)",
				   path);
	r = wrap_key(passcode, b + KF_SALT, t, m, p, wk);
	if (r)
		return rt_file_err(err, errlen, r, "%s: Argon2id: %s", path, strerror(-r));
	iomt_aes128_init(&aes, wk);
	r = iomt_ccm_decrypt(&aes, b + KF_NONCE, IOMT_CCM_NONCE_MAX_LEN, b, KF_AAD_LEN, b + KF_CT,
			     KF_WRAP_PT, b + KF_TAG, IOMT_CCM_TAG_MAX_LEN, pt);
	iomt_aes128_wipe(&aes);
	iomt_wipe(wk, sizeof(wk));
	/* The checksum held, so a tag that fails means the passcode is wrong. */
	if (r)
		return rt_file_err(err, errlen, -EKEYREJECTED, "%s: wrong passcode", path);
	return 0;
}

static int parse(const char *path, const uint8_t *b, long len, const char *passcode,
		 struct rt_keyfile *kf, char *err, size_t errlen)
{
	uint8_t sum[KF_CHECK_LEN], kcv[KF_KCV_LEN], pt[KF_WRAP_PT];
	long want;
	int r;

	if (len < KF_HDR || memcmp(b, kf_magic, sizeof(kf_magic)))
		return rt_file_err(err, errlen, -EINVAL, "%s: not an iomt key file", path);
	if (b[8] != KF_VERSION)
		return rt_file_err(err, errlen, -EINVAL, "%s: key file version %u is not supported",
				   path, b[8]);
	if (b[9] != KF_PLAIN && b[9] != KF_PASSCODE)
		return rt_file_err(err, errlen, -EINVAL, "%s: unknown key file form %u", path,
				   b[9]);
	want = b[9] == KF_PLAIN ? RT_KEYFILE_PLAIN_LEN : RT_KEYFILE_PASSCODE_LEN;
	if (len != want)
		return rt_file_err(err, errlen, -EBADMSG, "%s: corrupted (%s: %ld bytes, not %ld)",
				   path, len < want ? "truncated" : "too long", len, want);
	file_check(b, (size_t)want - KF_CHECK_LEN, sum);
	if (!iomt_ct_eq(sum, b + want - KF_CHECK_LEN, KF_CHECK_LEN))
		return rt_file_err(err, errlen, -EBADMSG, "%s: corrupted (checksum mismatch)",
				   path);
	kf->kind = b[10];
	kf->kvno = iomt_load_be32(b + 12);
	memcpy(kf->name, b + 16, IOMT_KDC_NAME_LEN);
	memcpy(kf->patient, b + 32, IOMT_KDC_NAME_LEN);
	if (b[11] || !fields_valid(kf))
		return rt_file_err(err, errlen, -EBADMSG,
				   "%s: corrupted (invalid name, patient or kind)", path);
	if (b[9] == KF_PLAIN) {
		memcpy(pt, b + KF_HDR, KF_WRAP_PT);
	} else {
		r = open_passcode(path, b, passcode, pt, err, errlen);
		if (r)
			return r;
	}
	iomt_kdc_key_check(pt, kcv);
	r = iomt_ct_eq(kcv, pt + IOMT_KDC_KEY_LEN, KF_KCV_LEN);
	if (r)
		memcpy(kf->key, pt, IOMT_KDC_KEY_LEN);
	iomt_wipe(pt, sizeof(pt));
	return r ? 0 : rt_file_err(err, errlen, -EBADMSG,
				   "%s: corrupted (key check value mismatch)", path);
}

int rt_keyfile_read(const char *path, const char *passcode, struct rt_keyfile *kf, char *err,
		    size_t errlen)
{
	uint8_t b[RT_KEYFILE_PASSCODE_LEN + 1];
	long len;
	int r;

	if (err && errlen)
		err[0] = '\0';
	if (!path || !kf)
		return rt_file_err(err, errlen, -EINVAL, "no key file given");
	memset(kf, 0, sizeof(*kf));
	len = slurp(path, b, sizeof(b), err, errlen);
	r = len < 0 ? (int)len : parse(path, b, len, passcode, kf, err, errlen);
	iomt_wipe(b, sizeof(b));
	if (r)
		rt_keyfile_wipe(kf);
	return r;
}

void rt_keyfile_wipe(struct rt_keyfile *kf)
{
	if (kf)
		iomt_wipe(kf, sizeof(*kf));
}
