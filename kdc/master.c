/* SPDX-License-Identifier: MIT */
/* The master key file (see master.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ct.h"
#include "lib/rt_file.h"
#include "lib/rt_rng.h"
#include "master.h"
#include "sp800_185.h"

static const uint8_t magic[8] = { 'I', 'O', 'M', 'T', 'K', 'D', 'C', 'M' };
static const char check_custom[] = "iomt/kdc/master-check";

void kdc_master_check(const uint8_t key[IOMT_KDC_MASTER_LEN], uint8_t out[KDC_CHECK_LEN])
{
	iomt_kmac128(key, IOMT_KDC_MASTER_LEN, check_custom, sizeof(check_custom) - 1, NULL, 0,
		     out, KDC_CHECK_LEN);
}

int kdc_master_create(const char *path, uint8_t key[IOMT_KDC_MASTER_LEN], char *err,
		      size_t errlen)
{
	uint8_t b[KDC_MASTER_FILE_LEN] = { 0 };
	int r = rt_random(key, IOMT_KDC_MASTER_LEN);

	if (!r) {
		memcpy(b, magic, sizeof(magic));
		b[8] = 1;
		memcpy(b + 12, key, IOMT_KDC_MASTER_LEN);
		kdc_master_check(key, b + 44);
		r = rt_file_create(path, b, sizeof(b), 0600);
		iomt_wipe(b, sizeof(b));
		if (r == -EEXIST) {
			iomt_wipe(key, IOMT_KDC_MASTER_LEN);
			snprintf(err, errlen, "%s: exists: refusing to replace a master key", path);
			return r;
		}
	}
	if (!r && (r = rt_file_sync_dir(path)))
		unlink(path);
	if (r) {
		iomt_wipe(key, IOMT_KDC_MASTER_LEN);
		snprintf(err, errlen, "%s: cannot write the master key: %s", path, strerror(-r));
	}
	return r;
}

int kdc_master_read(const char *path, uint8_t key[IOMT_KDC_MASTER_LEN], char *err,
		    size_t errlen)
{
	uint8_t b[KDC_MASTER_FILE_LEN], check[KDC_CHECK_LEN];
	char why[PATH_MAX + 64];
	long n = rt_file_read(path, b, sizeof(b), RT_FILE_PRIVATE, why, sizeof(why));
	int r = 0;

	if (n < 0 && n != -EFBIG)
		r = (int)n, snprintf(err, errlen, "master key %s", why);
	else if (n != KDC_MASTER_FILE_LEN || memcmp(b, magic, sizeof(magic)) || b[8] != 1)
		r = -EBADMSG,
		snprintf(err, errlen, "master key %s: not a version-1 master key file", path);
	if (!r) {
		kdc_master_check(b + 12, check);
		if (!iomt_ct_eq(check, b + 44, KDC_CHECK_LEN))
			r = -EBADMSG, snprintf(err, errlen, "master key %s: corrupted (check value)",
					       path);
	}
	if (!r)
		memcpy(key, b + 12, IOMT_KDC_MASTER_LEN);
	iomt_wipe(b, sizeof(b));
	return r;
}

int kdc_master_load(const char *path, struct kdc_db *db, uint8_t key[IOMT_KDC_MASTER_LEN],
		    char *err, size_t errlen)
{
	uint8_t check[KDC_CHECK_LEN];
	struct kdc_meta m;
	int r = kdc_master_read(path, key, err, errlen);

	if (r)
		return r;
	r = kdc_db_meta(db, &m);
	if (r) {
		snprintf(err, errlen, "cannot read the database's meta row: %s", strerror(-r));
	} else {
		kdc_master_check(key, check);
		if (!iomt_ct_eq(check, m.master_check, KDC_CHECK_LEN))
			r = -EKEYREJECTED, snprintf(err, errlen, "master key %s does not belong to "
						    "this database", path);
	}
	if (r)
		iomt_wipe(key, IOMT_KDC_MASTER_LEN);
	return r;
}
