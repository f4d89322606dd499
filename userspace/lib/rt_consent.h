/* SPDX-License-Identifier: MIT */
/*
 * ECDSA P-256 over a consent request (lib/consent.h), with OpenSSL: the
 * cloud application signs the encoded request, the PPD verifies it with
 * the requester's public key. The signature is the request's last 64
 * bytes, r || s (32 bytes each, big-endian), over SHA-256 of every byte
 * before it (iomt_consent_signed_len). Also the P-256 key files the PPD and
 * the requesters use: private keys PEM (PKCS#8, 0600), public keys PEM.
 *
 *   EVP_PKEY *k;  rt_consent_key_load("app.key.pem", &k, err, sizeof(err));
 *   iomt_consent_encode(&req, buf, sizeof(buf), &len);   (sig zero)
 *   rt_consent_sign(k, buf, len);                        fills the last 64 bytes
 *   ...
 *   rt_consent_verify(pub, buf, len) == 1                at the PPD
 */
#ifndef IOMT_RT_CONSENT_H
#define IOMT_RT_CONSENT_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/types.h>

/* A fresh P-256 key pair: 0 or -ENOMEM. */
int rt_consent_keygen(EVP_PKEY **out);
/* Writes the private key (PEM, created 0600, never over an existing file:
 * -EEXIST) and, if pub_path is not NULL, its public half (PEM, 0644).
 * Both are fsync'ed. 0 or -errno; nothing is left behind on error. */
int rt_consent_key_write(EVP_PKEY *key, const char *priv_path, const char *pub_path);
/* A P-256 private key from PEM (refused if group/other may read it:
 * -EPERM); a public key (PEM, or what rt_evlog_pub_load takes). 0 or
 * -errno with a one-line reason in err. */
int rt_consent_key_load(const char *path, EVP_PKEY **out, char *err, size_t errlen);
int rt_consent_pub_load(const char *path, EVP_PKEY **out, char *err, size_t errlen);

/* Signs enc[0 .. len - 64) into enc[len - 64 .. len): 0, -EINVAL (len too
 * short, not a P-256 private key) or -EIO. */
int rt_consent_sign(EVP_PKEY *key, uint8_t *enc, size_t len);
/* 1 if enc's last 64 bytes are pub's signature of the rest, else 0. */
int rt_consent_verify(EVP_PKEY *pub, const uint8_t *enc, size_t len);

#endif
