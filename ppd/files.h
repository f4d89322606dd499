/* SPDX-License-Identifier: MIT */
/* The PPD's small secret files: written new (never over an existing file),
 * synced, read with a mode check, and an unkeyed check value that tells
 * damage from a wrong passphrase. */
#ifndef IOMT_PPD_FILES_H
#define IOMT_PPD_FILES_H
#include <stddef.h>
#include <stdint.h>

enum { PPD_CHECK_LEN = 8 };

/* cSHAKE128(p, 64, "", custom): the last 8 bytes of every PPD file. */
void ppd_check(const char *custom, const uint8_t *p, size_t len, uint8_t out[PPD_CHECK_LEN]);

/* Writes buf to a new file at path (mode 0600): a temporary beside it,
 * fsync, link into place (-EEXIST if path exists: never overwritten),
 * directory synced. 0 or -errno; nothing is left behind on error. */
int ppd_write_new(const char *path, const void *buf, size_t len);

/* The whole file (at most cap bytes; one more is -EFBIG) into buf, refused
 * (-EPERM) if group or others may read it: its length or -errno, err says why. */
long ppd_read_private(const char *path, uint8_t *buf, size_t cap, char *err, size_t errlen);

/* A passphrase file: its first line, 1..cap-1 bytes, mode 0600. */
int ppd_passphrase_read(const char *path, char *buf, size_t cap, char *err, size_t errlen);

#endif
