/* SPDX-License-Identifier: MIT */
/*
 * What the lib suites compare the library with: KMAC128 and a KDC box
 * (lib/kdc_box.h's layout) computed by OpenSSL, and a byte string built
 * piece by piece. A header of static functions, included by the suites
 * that need them (tests/common/eckey.h's habit).
 */
#ifndef IOMT_TESTS_REF_H
#define IOMT_TESTS_REF_H

#include <stdint.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include "harness.h"

static inline void ossl_kmac(const uint8_t *key, size_t klen, const char *custom, const uint8_t *msg,
		      size_t mlen, uint8_t *out, size_t outlen)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "KMAC-128", NULL);
	EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM p[3];
	size_t olen = outlen;
	int ok;

	p[0] = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &olen);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_CUSTOM, (void *)(uintptr_t)custom,
						 strlen(custom));
	p[2] = OSSL_PARAM_construct_end();
	ok = c && EVP_MAC_init(c, key, klen, p) && EVP_MAC_update(c, msg, mlen) &&
	     EVP_MAC_final(c, out, &olen, outlen);
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(mac);
	if (!ok)
		TH_LOG("OpenSSL KMAC-128 failed");
	ASSERT_TRUE(ok);
}

/* out = nonce (13) || CCM ct || tag (16), with aad = usage || aad. */
static inline void ossl_box(const uint8_t key[16], const uint8_t nonce[13], uint8_t usage,
		     const uint8_t *aad, size_t alen, const uint8_t *pt, size_t len, uint8_t *out)
{
	static const uint8_t empty[1];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t a[300];
	int n, ok;

	ASSERT_LT(alen, sizeof(a));
	a[0] = usage;
	memcpy(a + 1, aad, alen);
	memcpy(out, nonce, 13);
	ok = c && EVP_EncryptInit_ex(c, EVP_aes_128_ccm(), NULL, NULL, NULL) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, 13, NULL) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16, NULL) == 1 &&
	     EVP_EncryptInit_ex(c, NULL, NULL, key, nonce) == 1 &&
	     EVP_EncryptUpdate(c, NULL, &n, NULL, (int)len) == 1 &&
	     EVP_EncryptUpdate(c, NULL, &n, a, (int)alen + 1) == 1 &&
	     EVP_EncryptUpdate(c, out + 13, &n, len ? pt : empty, (int)len) == 1 &&
	     EVP_EncryptFinal_ex(c, out + 13, &n) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, out + 13 + len) == 1;
	EVP_CIPHER_CTX_free(c);
	ASSERT_TRUE(ok);
}

/* A byte string built piece by piece. */
struct cat {
	uint8_t b[400];
	size_t n;
};

static inline struct cat *cat_put(struct cat *c, const void *p, size_t n)
{
	ASSERT_LE(c->n + n, sizeof(c->b));
	memcpy(c->b + c->n, p, n);
	c->n += n;
	return c;
}

#endif
