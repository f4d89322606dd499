/* SPDX-License-Identifier: MIT */
/*
 * Key files: how a principal's long-term KDC key (K_D, lib/kdc.h) travels
 * from 'iomt-kdc admin export-key' to the device that will use it. Two
 * forms, one fixed binary layout each (docs/PROTOCOL.md, "Key files"):
 *
 *   plain     for near-field installation (a cable, the programming jig):
 *             the key and its check value in the clear, 80 bytes;
 *   passcode  for the smartphone path: the key wrapped with AES-128-CCM
 *             under Argon2id(passcode) (t = 3, m = 64 MiB, p = 1, 16-byte
 *             random salt), 137 bytes.
 *
 * Both end in an 8-byte checksum of everything before it, so a damaged
 * file says "corrupted" rather than "wrong passcode". Files are written
 * 0600 to a temporary file beside the target, fsync'ed and renamed into
 * place (the directory is synced too); a reader refuses a file that group
 * or others may read.
 */
#ifndef IOMT_RT_KEYFILE_H
#define IOMT_RT_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "kdc.h"

enum {
	RT_KEYFILE_PLAIN_LEN = 80,
	RT_KEYFILE_PASSCODE_LEN = 137,
	RT_KEYFILE_ARGON2_T = 3,
	RT_KEYFILE_ARGON2_M_KIB = 64 * 1024,
	RT_KEYFILE_ARGON2_P = 1,
};

struct rt_keyfile {
	uint8_t name[IOMT_KDC_NAME_LEN];     /* principal, zero-padded */
	uint8_t patient[IOMT_KDC_NAME_LEN];  /* all zero for the cloud store */
	uint8_t kind;                        /* enum iomt_kdc_kind, 1..4 */
	uint32_t kvno;
	uint8_t key[IOMT_KDC_KEY_LEN];       /* K_D */
};

/* NULL passcode: the plain form; else the passcode form (an empty passcode
 * is -EINVAL). 0 or -errno; nothing is left at path or beside it on error. */
int rt_keyfile_write(const char *path, const struct rt_keyfile *kf, const char *passcode);

/*
 * Reads and checks a key file; on error kf is zeroed and err says why:
 *   -ENOENT (no such file), -EPERM (group/other may access it: chmod 600),
 *   -EINVAL (not a key file of a version we know), -EBADMSG (corrupted: a
 *   checksum, the key check value or a field is wrong), -ENOKEY (a passcode
 *   is needed), -EKEYREJECTED (wrong passcode), other -errno.
 * A passcode given for a plain file is ignored.
 */
int rt_keyfile_read(const char *path, const char *passcode, struct rt_keyfile *kf, char *err,
		    size_t errlen);

void rt_keyfile_wipe(struct rt_keyfile *kf);

/* The passcode KDF of the passcode form, for every passphrase-wrapped
 * secret (the PPD's master key too): out_len bytes of Argon2id(passcode,
 * salt, t, m_kib, p) (libargon2's argon2id_hash_raw, version 0x13). 0,
 * -ENOMEM, or -EINVAL (bad arguments or parameters); out is wiped on error. */
int rt_keyfile_kdf(const char *passcode, const uint8_t *salt, size_t salt_len, uint32_t t,
		   uint32_t m_kib, uint32_t p, uint8_t *out, size_t out_len);

#endif
