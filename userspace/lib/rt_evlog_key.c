/* SPDX-License-Identifier: MIT */
/* Evidence log: P-256 keys, key ids, and fixed-size r | s signatures. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>

#include "ecqv.h"
#include "hex.h"
#include "rt_evlog_fmt.h"

enum {
	KEYFILE_MAX = 8192,	/* a PEM public key is ~180 bytes */
	DER_SIG_MAX = 80,	/* DER ECDSA-Sig-Value for P-256: at most 72 */
	SCALAR_LEN = 32,
	COMPRESSED_LEN = 33,
};

int evlog_key_point(const EVP_PKEY *key, uint8_t pt[RT_EVLOG_POINT_LEN])
{
	uint8_t buf[RT_EVLOG_POINT_LEN];
	EC_GROUP *g = NULL;
	EC_POINT *p = NULL;
	size_t len = 0;
	int r = -EINVAL;

	if (!ecqv_pkey_is_p256(key) ||
	    !EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof(buf), &len))
		goto out;
	if (len == RT_EVLOG_POINT_LEN && buf[0] == 0x04) {
		memcpy(pt, buf, RT_EVLOG_POINT_LEN);
		r = 0;
		goto out;
	}
	/* A key built from a compressed point reports it compressed. */
	g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	p = g ? EC_POINT_new(g) : NULL;
	if (p && EC_POINT_oct2point(g, p, buf, len, NULL) &&
	    EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, pt, RT_EVLOG_POINT_LEN,
			       NULL) == RT_EVLOG_POINT_LEN)
		r = 0;
out:
	EC_POINT_free(p);
	EC_GROUP_free(g);
	ERR_clear_error();
	return r;
}

int rt_evlog_key_id(const EVP_PKEY *key, uint8_t id[RT_EVLOG_HASH_LEN])
{
	uint8_t pt[RT_EVLOG_POINT_LEN];
	int r = id ? evlog_key_point(key, pt) : -EINVAL;

	if (!r && !EVP_Digest(pt, sizeof(pt), id, NULL, EVP_sha256(), NULL))
		r = -EIO;
	return r;
}

/* A public-only key would fail only at the last step, as if libcrypto broke. */
int evlog_has_private(const EVP_PKEY *key)
{
	BIGNUM *d = NULL;
	int ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &d);

	BN_clear_free(d);
	ERR_clear_error();
	return ok;
}

static int digest_init(EVP_MD_CTX *m, EVP_PKEY *key, int verify, const char *label,
		       const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int ok = verify ? EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, key) > 0
			: EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, key) > 0;

	ok = ok && EVP_DigestUpdate(m, label, strlen(label)) > 0;
	ok = ok && (!alen || EVP_DigestUpdate(m, a, alen) > 0);
	return ok && (!blen || EVP_DigestUpdate(m, b, blen) > 0);
}

int evlog_sign(EVP_PKEY *key, const char *label, const uint8_t *a, size_t alen,
	       const uint8_t *b, size_t blen, uint8_t sig[RT_EVLOG_SIG_LEN])
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	uint8_t der[DER_SIG_MAX];
	const unsigned char *p = der;
	size_t dlen = sizeof(der);
	ECDSA_SIG *s = NULL;
	int r = -EIO;

	/* OpenSSL gives DER; the file holds r | s, one size for every head. */
	if (m && digest_init(m, key, 0, label, a, alen, b, blen) &&
	    EVP_DigestSignFinal(m, der, &dlen) > 0 &&
	    (s = d2i_ECDSA_SIG(NULL, &p, (long)dlen)) &&
	    BN_bn2binpad(ECDSA_SIG_get0_r(s), sig, SCALAR_LEN) == SCALAR_LEN &&
	    BN_bn2binpad(ECDSA_SIG_get0_s(s), sig + SCALAR_LEN, SCALAR_LEN) == SCALAR_LEN)
		r = 0;
	ECDSA_SIG_free(s);
	EVP_MD_CTX_free(m);
	ERR_clear_error();
	return r;
}

int evlog_verify(EVP_PKEY *pub, const char *label, const uint8_t *a, size_t alen,
		 const uint8_t *b, size_t blen, const uint8_t sig[RT_EVLOG_SIG_LEN])
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, SCALAR_LEN, NULL);
	BIGNUM *sv = BN_bin2bn(sig + SCALAR_LEN, SCALAR_LEN, NULL);
	unsigned char *der = NULL;
	int dlen = -1, ok = 0;

	if (s && r && sv && ECDSA_SIG_set0(s, r, sv)) {
		r = sv = NULL; /* owned by s now */
		dlen = i2d_ECDSA_SIG(s, &der);
	}
	/* Verify checks 0 < r, s < n itself. */
	if (m && dlen > 0 && digest_init(m, pub, 1, label, a, alen, b, blen))
		ok = EVP_DigestVerifyFinal(m, der, (size_t)dlen) == 1;
	OPENSSL_free(der);
	BN_free(r);
	BN_free(sv);
	ECDSA_SIG_free(s);
	EVP_MD_CTX_free(m);
	ERR_clear_error();
	return ok;
}

/* ---- loading public keys ---- */

int rt_evlog_pub_from_point(const uint8_t *pt, size_t len, EVP_PKEY **out)
{
	char group[] = SN_X9_62_prime256v1;
	uint8_t buf[RT_EVLOG_POINT_LEN];
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *c = NULL, *chk = NULL;
	EVP_PKEY *k = NULL;
	int r = -EINVAL;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!pt || (len != RT_EVLOG_POINT_LEN && len != COMPRESSED_LEN))
		return -EINVAL;
	memcpy(buf, pt, len);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, buf, len);
	params[2] = OSSL_PARAM_construct_end();
	c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (c && EVP_PKEY_fromdata_init(c) > 0 &&
	    EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, params) > 0 &&
	    (chk = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL)) &&
	    EVP_PKEY_public_check(chk) == 1) {
		*out = k;
		k = NULL;
		r = 0;
	}
	EVP_PKEY_free(k);
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(c);
	ERR_clear_error();
	return r;
}

static int pub_from_pem(const char *text, size_t len, EVP_PKEY **out)
{
	BIO *b = BIO_new_mem_buf(text, (int)len);
	EVP_PKEY *k = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	ERR_clear_error();
	if (!k || !ecqv_pkey_is_p256(k)) {
		EVP_PKEY_free(k);
		return -EINVAL;
	}
	*out = k;
	return 0;
}

/* 130 hex digits, whitespace around them ignored. */
static int pub_from_hex(const char *text, size_t len, EVP_PKEY **out)
{
	uint8_t pt[RT_EVLOG_POINT_LEN];
	size_t bad;

	while (len && isspace((unsigned char)*text)) {
		text++;
		len--;
	}
	while (len && isspace((unsigned char)text[len - 1]))
		len--;
	if (iomt_hex_decode(text, len, pt, sizeof(pt), &bad))
		return -EINVAL;
	return rt_evlog_pub_from_point(pt, sizeof(pt), out);
}

int rt_evlog_pub_load(const char *path, EVP_PKEY **out)
{
	char text[KEYFILE_MAX + 1];
	FILE *f;
	size_t n;

	if (!path || !out)
		return -EINVAL;
	*out = NULL;
	f = fopen(path, "rbe");
	if (!f)
		return -errno;
	n = fread(text, 1, sizeof(text), f);
	fclose(f);
	if (n > KEYFILE_MAX)
		return -EFBIG;
	text[n] = '\0';
	if (memmem(text, n, "-----BEGIN", 10))
		return pub_from_pem(text, n, out);
	if (n == RT_EVLOG_POINT_LEN && (uint8_t)text[0] == 0x04)
		return rt_evlog_pub_from_point((const uint8_t *)text, n, out);
	return pub_from_hex(text, n, out);
}
