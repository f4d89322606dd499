/* SPDX-License-Identifier: MIT */
/* The TTP's CA key pair (P-256) as PEM files: the private key 0600 and
 * refused when others may read it; the public key 0644. */
#ifndef IOMT_TTP_KEYS_H
#define IOMT_TTP_KEYS_H
#include <stddef.h>
#include <openssl/types.h>

/* A fresh P-256 key pair: 0 or -ENOMEM/-EIO. */
int ttp_key_generate(EVP_PKEY **out);

/* Writes a new file (never over an existing one: -EEXIST): 0 or -errno,
 * with a message in err. */
int ttp_key_write_private(const char *path, EVP_PKEY *key, char *err, size_t errlen);
int ttp_key_write_public(const char *path, EVP_PKEY *key, char *err, size_t errlen);

/* Reads and checks a P-256 key: 0 or -errno with a message in err. */
int ttp_key_read_private(const char *path, EVP_PKEY **out, char *err, size_t errlen);
int ttp_key_read_public(const char *path, EVP_PKEY **out, char *err, size_t errlen);

/* The public half of a key pair, as a public-only key: 0 or -ENOMEM. */
int ttp_key_public_of(EVP_PKEY *key, EVP_PKEY **out);

#endif
