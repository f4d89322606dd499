/* SPDX-License-Identifier: MIT */
/*
 *   0 magic "IOMT-PPD" | 8 version 1 | 9 zero (3) | 12 t | 16 m KiB | 20 p
 *   | 24 salt (16) | 40 nonce (13) | 53 CCM(W, nonce, bytes 0..40, K_master) (32)
 *   | 85 tag (16) | 101 check (8)                                     = 109
 * W = Argon2id(passphrase, salt, t, m, p, 16); check = ppd_check over 0..101.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "ccm.h"
#include "ct.h"
#include "files.h"
#include "lib/rt_keyfile.h"
#include "lib/rt_rng.h"
#include "master.h"

enum {
	M_VERSION = 1,
	M_PARAMS = 12,
	M_SALT = 24,
	M_NONCE = 40,
	M_CT = 53,
	M_TAG = 85,
	M_CHECK = 101,
	M_SALT_LEN = 16,
	M_T_MAX = 16,
	M_M_MIN = 8 * 1024,
	M_M_MAX = 1024 * 1024,
};
_Static_assert(M_CHECK + PPD_CHECK_LEN == PPD_MASTER_FILE_LEN, "master file");

static const uint8_t magic[8] = { 'I', 'O', 'M', 'T', '-', 'P', 'P', 'D' };
static const char check_custom[] = "iomt/ppd/master-check";

int ppd_master_write(const char *path, const uint8_t k[IOMT_KEYTREE_MASTER_LEN],
		     const char *passphrase)
{
	uint8_t b[PPD_MASTER_FILE_LEN] = { 0 }, w[16];
	struct iomt_aes128 aes;
	int r;

	if (!path || !k || !passphrase || !passphrase[0])
		return -EINVAL;
	memcpy(b, magic, sizeof(magic));
	b[8] = M_VERSION;
	iomt_store_be32(b + M_PARAMS, RT_KEYFILE_ARGON2_T);
	iomt_store_be32(b + M_PARAMS + 4, RT_KEYFILE_ARGON2_M_KIB);
	iomt_store_be32(b + M_PARAMS + 8, RT_KEYFILE_ARGON2_P);
	r = rt_random(b + M_SALT, M_SALT_LEN + IOMT_CCM_NONCE_MAX_LEN);
	if (!r)
		r = rt_keyfile_kdf(passphrase, b + M_SALT, M_SALT_LEN, RT_KEYFILE_ARGON2_T,
				   RT_KEYFILE_ARGON2_M_KIB, RT_KEYFILE_ARGON2_P, w, sizeof(w));
	if (r)
		return r;
	iomt_aes128_init(&aes, w);
	r = iomt_ccm_encrypt(&aes, b + M_NONCE, IOMT_CCM_NONCE_MAX_LEN, b, M_SALT + M_SALT_LEN, k,
			     IOMT_KEYTREE_MASTER_LEN, b + M_CT, b + M_TAG, 16) ? -EINVAL : 0;
	iomt_aes128_wipe(&aes);
	iomt_wipe(w, sizeof(w));
	if (!r) {
		ppd_check(check_custom, b, M_CHECK, b + M_CHECK);
		r = ppd_write_new(path, b, sizeof(b));
	}
	iomt_wipe(b, sizeof(b));
	return r;
}

static int unwrap(const char *path, const uint8_t *b, const char *passphrase,
		  uint8_t k[IOMT_KEYTREE_MASTER_LEN], char *err, size_t errlen)
{
	uint32_t t = iomt_load_be32(b + M_PARAMS), m = iomt_load_be32(b + M_PARAMS + 4),
		 p = iomt_load_be32(b + M_PARAMS + 8);
	struct iomt_aes128 aes;
	uint8_t w[16];
	int r;

	if (t < 1 || t > M_T_MAX || m < M_M_MIN || m > M_M_MAX || p != 1) {
		snprintf(err, errlen, "%s: corrupted (Argon2 parameters)", path);
		return -EBADMSG;
	}
	r = rt_keyfile_kdf(passphrase, b + M_SALT, M_SALT_LEN, t, m, p, w, sizeof(w));
	if (r) {
		snprintf(err, errlen, "%s: Argon2id: %s", path, strerror(-r));
		return r;
	}
	iomt_aes128_init(&aes, w);
	r = iomt_ccm_decrypt(&aes, b + M_NONCE, IOMT_CCM_NONCE_MAX_LEN, b, M_SALT + M_SALT_LEN,
			     b + M_CT, IOMT_KEYTREE_MASTER_LEN, b + M_TAG, 16, k);
	iomt_aes128_wipe(&aes);
	iomt_wipe(w, sizeof(w));
	/* The check held, so a tag that fails means the passphrase is wrong. */
	if (r) {
		snprintf(err, errlen, "%s: wrong passphrase", path);
		return -EKEYREJECTED;
	}
	return 0;
}

int ppd_master_read(const char *path, const char *passphrase,
		    uint8_t k[IOMT_KEYTREE_MASTER_LEN], char *err, size_t errlen)
{
	uint8_t b[PPD_MASTER_FILE_LEN], sum[PPD_CHECK_LEN];
	long n;
	int r;

	if (!path || !passphrase || !k)
		return -EINVAL;
	n = ppd_read_private(path, b, sizeof(b), err, errlen);
	if (n < 0)
		return (int)n;
	if (n < (long)sizeof(magic) || memcmp(b, magic, sizeof(magic))) {
		snprintf(err, errlen, "%s: not an iomt-ppd master key file", path);
		r = -EINVAL;
	} else if (n != PPD_MASTER_FILE_LEN || b[8] != M_VERSION || b[9] || b[10] || b[11]) {
		snprintf(err, errlen, "%s: corrupted (%ld bytes, version %u)", path, n, b[8]);
		r = -EBADMSG;
	} else {
		ppd_check(check_custom, b, M_CHECK, sum);
		if (!iomt_ct_eq(sum, b + M_CHECK, PPD_CHECK_LEN)) {
			snprintf(err, errlen, "%s: corrupted (checksum mismatch)", path);
			r = -EBADMSG;
		} else {
			r = unwrap(path, b, passphrase, k, err, errlen);
		}
	}
	iomt_wipe(b, sizeof(b));
	return r;
}
