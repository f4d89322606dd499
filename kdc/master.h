/* SPDX-License-Identifier: MIT */
/*
 * The master key file: K_KDC, 32 random bytes, the one secret of a KDC.
 *
 *   magic "IOMTKDCM" (8) | version 1 (1) | zero (3) | K_KDC (32)
 *   | check (8) = KMAC128(K_KDC, "", 64, "iomt/kdc/master-check")   = 52 bytes
 *
 * Created with O_EXCL (never replaced), mode 0600, fsync'ed with its
 * directory; read only if group and others have no access. The same check
 * value is kept in the database, so a daemon or an admin command started
 * with another database's master key refuses to run instead of handing out
 * keys nobody holds.
 */
#ifndef IOMT_KDC_MASTER_H
#define IOMT_KDC_MASTER_H
#include <stddef.h>
#include <stdint.h>

#include "db.h"

enum { KDC_MASTER_FILE_LEN = 52 };

/* A new random key into key and a new file at path: 0 or -errno (err). */
int kdc_master_create(const char *path, uint8_t key[IOMT_KDC_MASTER_LEN], char *err,
		      size_t errlen);
/* 0, or -errno with err: -ENOENT, -EPERM (mode), -EBADMSG (corrupt). */
int kdc_master_read(const char *path, uint8_t key[IOMT_KDC_MASTER_LEN], char *err,
		    size_t errlen);
void kdc_master_check(const uint8_t key[IOMT_KDC_MASTER_LEN], uint8_t out[KDC_CHECK_LEN]);
/* Reads the key and checks it against the database's check value. */
int kdc_master_load(const char *path, struct kdc_db *db, uint8_t key[IOMT_KDC_MASTER_LEN],
		    char *err, size_t errlen);

#endif
