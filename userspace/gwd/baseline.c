/* SPDX-License-Identifier: MIT */
/* --baseline: SHAKE128 per call through OpenSSL EVP. */
#include <openssl/evp.h>
#include <stdlib.h>

#include "baseline.h"
#include "lib/rt_log.h"
#include "shake.h"

/* One EVP call sequence per message, as a straightforward server would. */
static void openssl_shake128(const void *in, size_t inlen, void *out, size_t outlen)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (!c || !EVP_DigestInit_ex(c, EVP_shake128(), NULL) ||
	    !EVP_DigestUpdate(c, in, inlen) || !EVP_DigestFinalXOF(c, out, outlen)) {
		/* Out of memory inside OpenSSL: nothing sane to answer with. */
		rt_err("OpenSSL SHAKE128 failed (baseline mode)");
		abort();
	}
	EVP_MD_CTX_free(c);
}

void gwd_baseline_hash(void)
{
	iomt_shake128_batch_override(openssl_shake128);
}
