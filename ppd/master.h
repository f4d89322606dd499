/* SPDX-License-Identifier: MIT */
/*
 * The master key file: K_master (32 bytes) wrapped with AES-128-CCM under
 * Argon2id(passphrase) (rt_keyfile_kdf, the key files' parameters), 109
 * bytes; layout in ppd/README.md.
 */
#ifndef IOMT_PPD_MASTER_H
#define IOMT_PPD_MASTER_H
#include <stddef.h>
#include <stdint.h>

#include "keytree.h"

enum { PPD_MASTER_FILE_LEN = 109 };

/* A new file (never over an existing one): 0 or -errno. */
int ppd_master_write(const char *path, const uint8_t k[IOMT_KEYTREE_MASTER_LEN],
		     const char *passphrase);
/* 0, or -errno with err saying why: -EBADMSG corrupted, -EKEYREJECTED
 * wrong passphrase, -EPERM mode too open, -EINVAL not a master key file. */
int ppd_master_read(const char *path, const char *passphrase,
		    uint8_t k[IOMT_KEYTREE_MASTER_LEN], char *err, size_t errlen);

#endif
