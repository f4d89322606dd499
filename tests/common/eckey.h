/* SPDX-License-Identifier: MIT */
/* P-256 keys for suites that test the OpenSSL-facing code: a key from fixed
 * hex values (known-answer vectors), and the public half of a key, as a
 * relying party would load it from a file. */
#ifndef IOMT_ECKEY_TEST_H
#define IOMT_ECKEY_TEST_H
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include "harness.h"
#include "testutil.h"

/* From the 33-byte compressed public point q_hex and, unless NULL, the
 * 32-byte private scalar d_hex. */
static inline EVP_PKEY *tu_ec_key(const char *d_hex, const char *q_hex)
{
	uint8_t d[32], q[33];
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *k = NULL;
	BIGNUM *bn = NULL;

	ASSERT_EQ(tu_hex(q_hex, q, sizeof(q)), sizeof(q));
	ASSERT_TRUE(b && c);
	ASSERT_TRUE(OSSL_PARAM_BLD_push_utf8_string(b, "group", "prime256v1", 0));
	ASSERT_TRUE(OSSL_PARAM_BLD_push_octet_string(b, "pub", q, sizeof(q)));
	if (d_hex) {
		ASSERT_EQ(tu_hex(d_hex, d, sizeof(d)), sizeof(d));
		bn = BN_bin2bn(d, sizeof(d), NULL);
		ASSERT_TRUE(OSSL_PARAM_BLD_push_BN(b, "priv", bn));
	}
	params = OSSL_PARAM_BLD_to_param(b);
	ASSERT_NONNULL(params);
	ASSERT_EQ(EVP_PKEY_fromdata_init(c), 1);
	ASSERT_EQ(EVP_PKEY_fromdata(c, &k, d_hex ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
				    params), 1);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	EVP_PKEY_CTX_free(c);
	BN_free(bn);
	return k;
}

/* The public half of k, through DER as a relying party reads it. */
static inline EVP_PKEY *tu_pub_only(const EVP_PKEY *k)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pub = NULL;
	int len = i2d_PUBKEY(k, &der);

	p = der;
	if (len > 0)
		pub = d2i_PUBKEY(NULL, &p, len);
	OPENSSL_free(der);
	return pub;
}

#endif
