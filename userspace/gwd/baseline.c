/* SPDX-License-Identifier: MIT */
/* --baseline: SHAKE128 and KMAC128 per call through OpenSSL. */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>

#include "baseline.h"
#include "iomt_err.h"
#include "kmac_batch.h"
#include "lib/rt_log.h"
#include "shake.h"

/* Fetched once, as a server would; freed by the process's exit. */
static EVP_MAC *kmac128;

/* Out of memory inside OpenSSL: nothing sane to answer with. */
static void openssl_failed(const char *what)
{
	rt_err("OpenSSL %s failed (baseline mode)", what);
	abort();
}

/* One EVP call sequence per message, as a straightforward server would. */
static void openssl_shake128(const void *in, size_t inlen, void *out, size_t outlen)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (!c || !EVP_DigestInit_ex(c, EVP_shake128(), NULL) ||
	    !EVP_DigestUpdate(c, in, inlen) || !EVP_DigestFinalXOF(c, out, outlen))
		openssl_failed("SHAKE128");
	EVP_MD_CTX_free(c);
}

/* One EVP_MAC_CTX per KMAC: init (key, customisation, length), update,
 * final. OpenSSL takes 4..512-byte keys and outputs of 1 byte or more:
 * anything else is IOMT_EINVAL (the gateway's keys are 32 or 16 bytes). */
static int openssl_kmac128(const void *key, size_t keylen, const void *custom,
			   size_t customlen, const void *msg, size_t msglen, void *out,
			   size_t outlen)
{
	EVP_MAC_CTX *c;
	OSSL_PARAM p[3];
	size_t n = 0, olen = outlen;
	int ok;

	if (keylen < 4 || keylen > 512 || !outlen)
		return IOMT_EINVAL;
	c = EVP_MAC_CTX_new(kmac128);
	if (!c)
		openssl_failed("EVP_MAC_CTX_new");
	p[n++] = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &olen);
	if (customlen)
		p[n++] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_CUSTOM,
							   (void *)(uintptr_t)custom, customlen);
	p[n] = OSSL_PARAM_construct_end();
	ok = EVP_MAC_init(c, key, keylen, p) && EVP_MAC_update(c, msg, msglen) &&
	     EVP_MAC_final(c, out, &olen, outlen) && olen == outlen;
	EVP_MAC_CTX_free(c);
	if (!ok)
		openssl_failed("KMAC-128");
	return IOMT_OK;
}

void gwd_baseline_hash(void)
{
	kmac128 = EVP_MAC_fetch(NULL, "KMAC-128", NULL);
	if (!kmac128)
		openssl_failed("EVP_MAC_fetch(KMAC-128)");
	iomt_shake128_batch_override(openssl_shake128);
	iomt_kmac128_batch_override(openssl_kmac128);
}
