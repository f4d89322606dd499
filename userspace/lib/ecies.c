// SPDX-License-Identifier: MIT
/*
 * ECIES on P-256 (ecies.h): ephemeral ECDH, KMAC128 for key and nonce,
 * AES-128-CCM with a 16-byte tag from lib/. OpenSSL libcrypto does the EC
 * arithmetic, through EVP_PKEY only.
 */

/* The 3.0 API without deprecated declarations, as in ecqv.c. */
#define OPENSSL_API_COMPAT 0x30000000L
#define OPENSSL_NO_DEPRECATED

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/params.h>

#include "aes.h"
#include "ccm.h"
#include "ct.h"
#include "ecies.h"
#include "iomt_err.h"
#include "ecqv.h"
#include "rt_rng.h"
#include "sp800_185.h"

enum {
	ECIES_Z_LEN = 32,		/* shared x-coordinate */
	ECIES_UNCOMPRESSED_LEN = 65,
	ECIES_KDF_LEN = IOMT_AES128_KEY_LEN + ECIES_NONCE_LEN,	/* 29 = 232 bits */
	/* Draws before we call the RNG broken: one 32-byte draw falls
	 * outside [1, n-1] with probability about 2^-32. */
	ECIES_DRAWS_MAX = 16,
};

static const char ecies_custom[] = "iomt/ecies";

/*
 * Test hook for the known-answer test: when set, it supplies the ephemeral
 * key instead of a fresh one. Static, so only tests/rt/test_ecies.c (which
 * includes this file) reaches it: an ephemeral key used twice would give
 * two boxes the same K and N.
 */
static EVP_PKEY *(*ecies_eph_hook)(void);

/* The key's public point, compressed, whatever form the key keeps it in. */
static int pub33(const EVP_PKEY *k, uint8_t out[ECIES_POINT_LEN])
{
	uint8_t buf[ECIES_UNCOMPRESSED_LEN];
	size_t len;

	if (!ecqv_pkey_is_p256(k) ||
	    !EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, buf,
					     sizeof(buf), &len))
		return IOMT_EINVAL;
	if (len == ECIES_POINT_LEN && (buf[0] == 0x02 || buf[0] == 0x03)) {
		memcpy(out, buf, ECIES_POINT_LEN);
		return IOMT_OK;
	}
	if (len != ECIES_UNCOMPRESSED_LEN || buf[0] != 0x04)
		return IOMT_EINVAL;
	out[0] = (uint8_t)(0x02 | (buf[ECIES_UNCOMPRESSED_LEN - 1] & 1));
	memcpy(out + 1, buf + 1, ECIES_POINT_LEN - 1);
	return IOMT_OK;
}

/*
 * E from the box: exactly 33 bytes with prefix 02/03 (one encoding per
 * point, and infinity has none); decompression refuses x >= p and an x
 * with no point, so a key comes out only for a point of the curve.
 */
static int pkey_from_point(const uint8_t in[ECIES_POINT_LEN], EVP_PKEY **out)
{
	char group[] = SN_X9_62_prime256v1;
	uint8_t pt[ECIES_POINT_LEN];
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *pctx;
	int err = IOMT_EMALFORMED;

	*out = NULL;
	if (in[0] != 0x02 && in[0] != 0x03)
		return IOMT_EMALFORMED;
	memcpy(pt, in, sizeof(pt));
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt));
	params[2] = OSSL_PARAM_construct_end();
	pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!pctx)
		return IOMT_EUNSUPP;
	if (EVP_PKEY_fromdata_init(pctx) > 0 &&
	    EVP_PKEY_fromdata(pctx, out, EVP_PKEY_PUBLIC_KEY, params) > 0)
		err = IOMT_OK;
	EVP_PKEY_CTX_free(pctx);
	return err;
}

/* z = x(d*Q): ECDH with OpenSSL's peer-key validation. */
static int ecdh_x(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t z[ECIES_Z_LEN])
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(priv, NULL);
	size_t len = ECIES_Z_LEN;
	int err = IOMT_EINVAL;

	if (!c)
		return IOMT_EUNSUPP;
	if (EVP_PKEY_derive_init(c) > 0 && EVP_PKEY_derive_set_peer(c, peer) > 0 &&
	    EVP_PKEY_derive(c, z, &len) > 0 && len == ECIES_Z_LEN)
		err = IOMT_OK;
	EVP_PKEY_CTX_free(c);
	if (err)
		iomt_wipe(z, ECIES_Z_LEN);
	return err;
}

/* K || N = KMAC128(z, E || Q_R, 232, "iomt/ecies"); K goes into aes. */
static int kdf(const uint8_t z[ECIES_Z_LEN], const uint8_t e[ECIES_POINT_LEN],
	       const uint8_t q[ECIES_POINT_LEN], struct iomt_aes128 *aes,
	       uint8_t nonce[ECIES_NONCE_LEN])
{
	uint8_t msg[2 * ECIES_POINT_LEN], okm[ECIES_KDF_LEN];
	int err;

	memcpy(msg, e, ECIES_POINT_LEN);
	memcpy(msg + ECIES_POINT_LEN, q, ECIES_POINT_LEN);
	err = iomt_kmac128(z, ECIES_Z_LEN, ecies_custom, sizeof(ecies_custom) - 1,
			   msg, sizeof(msg), okm, sizeof(okm));
	if (!err)
		err = iomt_aes128_init(aes, okm);
	if (!err)
		memcpy(nonce, okm + IOMT_AES128_KEY_LEN, ECIES_NONCE_LEN);
	iomt_wipe(okm, sizeof(okm));
	return err;
}

/* Q = d*G, uncompressed; IOMT_EINVAL unless d is in [1, n-1]. */
static int scalar_to_point(const BIGNUM *d, uint8_t pub[ECIES_UNCOMPRESSED_LEN])
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	EC_POINT *q = g ? EC_POINT_new(g) : NULL;
	int err = IOMT_EUNSUPP;

	if (q && (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(g)) >= 0))
		err = IOMT_EINVAL;
	else if (q && EC_POINT_mul(g, q, d, NULL, NULL, NULL) &&
		 EC_POINT_point2oct(g, q, POINT_CONVERSION_UNCOMPRESSED, pub,
				    ECIES_UNCOMPRESSED_LEN, NULL) == ECIES_UNCOMPRESSED_LEN)
		err = IOMT_OK;
	EC_POINT_clear_free(q);
	EC_GROUP_free(g);
	return err;
}

int ecies_key_from_scalar(const uint8_t d_be[ECIES_SCALAR_LEN], EVP_PKEY **out)
{
	char group[] = SN_X9_62_prime256v1;
	uint8_t pub[ECIES_UNCOMPRESSED_LEN], d_native[ECIES_SCALAR_LEN];
	BIGNUM *d = BN_secure_new();
	OSSL_PARAM params[4];
	EVP_PKEY_CTX *c = NULL;
	int err = IOMT_EUNSUPP;

	*out = NULL;
	if (!d || !BN_bin2bn(d_be, ECIES_SCALAR_LEN, d))
		goto out;
	BN_set_flags(d, BN_FLG_CONSTTIME);
	err = scalar_to_point(d, pub);
	if (err)
		goto out;
	err = IOMT_EUNSUPP;
	/* OSSL_PARAM BIGNUMs are native-endian; this copy is wiped below. */
	if (BN_bn2nativepad(d, d_native, sizeof(d_native)) != sizeof(d_native))
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub));
	params[2] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, d_native, sizeof(d_native));
	params[3] = OSSL_PARAM_construct_end();
	c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (c && EVP_PKEY_fromdata_init(c) > 0 &&
	    EVP_PKEY_fromdata(c, out, EVP_PKEY_KEYPAIR, params) > 0)
		err = IOMT_OK;
out:
	iomt_wipe(d_native, sizeof(d_native));
	EVP_PKEY_CTX_free(c);
	BN_clear_free(d);
	return err;
}

/* A fresh ephemeral key: e from getrandom (rt_random), by rejection
 * sampling, so it is uniform in [1, n-1]. */
static EVP_PKEY *ephemeral_new(void)
{
	uint8_t e[ECIES_SCALAR_LEN];
	EVP_PKEY *k = NULL;
	int err = IOMT_EINVAL;

	if (ecies_eph_hook)
		return ecies_eph_hook();
	for (int i = 0; i < ECIES_DRAWS_MAX && err == IOMT_EINVAL; i++) {
		if (rt_random(e, sizeof(e)))
			break;
		err = ecies_key_from_scalar(e, &k);
	}
	iomt_wipe(e, sizeof(e));
	return k;
}

/* ECDH and KDF for the sender: E into out[0..33), nonce after it. */
static int seal_keys(EVP_PKEY *to_pub, uint8_t *out, struct iomt_aes128 *aes)
{
	uint8_t q[ECIES_POINT_LEN], z[ECIES_Z_LEN];
	EVP_PKEY *eph;
	int err = pub33(to_pub, q);

	if (err)
		return err;
	eph = ephemeral_new();
	if (!eph)
		return IOMT_EUNSUPP;
	err = pub33(eph, out);
	if (!err)
		err = ecdh_x(eph, to_pub, z);
	if (!err)
		err = kdf(z, out, q, aes, out + ECIES_POINT_LEN);
	iomt_wipe(z, sizeof(z));
	EVP_PKEY_free(eph);
	return err;
}

int ecies_seal(EVP_PKEY *to_pub, const uint8_t *aad, size_t aad_len,
	       const uint8_t *pt, size_t len, uint8_t *out)
{
	struct iomt_aes128 aes;
	uint8_t *ct;
	int err;

	if (!to_pub || !out || (aad_len && !aad) || (len && !pt))
		return IOMT_EINVAL;
	if (len > ECIES_PT_MAX)
		return IOMT_ESIZE;
	ERR_set_mark();
	memset(&aes, 0, sizeof(aes));
	err = seal_keys(to_pub, out, &aes);
	ct = out + ECIES_POINT_LEN + ECIES_NONCE_LEN;
	if (!err)
		err = iomt_ccm_encrypt(&aes, out + ECIES_POINT_LEN, ECIES_NONCE_LEN, aad,
				       aad_len, pt, len, ct, ct + len, ECIES_TAG_LEN);
	if (err)
		memset(out, 0, len + ECIES_OVERHEAD);
	iomt_aes128_wipe(&aes);
	ERR_pop_to_mark();
	return err;
}

/* ECDH and KDF for the recipient; the nonce comes out for comparison. */
static int open_keys(EVP_PKEY *priv, const uint8_t *box, struct iomt_aes128 *aes,
		     uint8_t nonce[ECIES_NONCE_LEN])
{
	uint8_t q[ECIES_POINT_LEN], z[ECIES_Z_LEN];
	EVP_PKEY *eph = NULL;
	int err = pub33(priv, q);

	if (!err)
		err = pkey_from_point(box, &eph);
	if (!err)
		err = ecdh_x(priv, eph, z);
	if (!err)
		err = kdf(z, box, q, aes, nonce);
	iomt_wipe(z, sizeof(z));
	EVP_PKEY_free(eph);
	return err;
}

int ecies_open(EVP_PKEY *priv, const uint8_t *aad, size_t aad_len,
	       const uint8_t *box, size_t box_len, uint8_t *pt)
{
	struct iomt_aes128 aes;
	uint8_t nonce[ECIES_NONCE_LEN];
	const uint8_t *ct;
	size_t len;
	int err;

	if (!priv || !box || (aad_len && !aad))
		return IOMT_EINVAL;
	/* Shorter than E, nonce and tag is not a box; longer than CCM with a
	 * 13-byte nonce can count is not one of ours. */
	if (box_len < ECIES_OVERHEAD || box_len - ECIES_OVERHEAD > ECIES_PT_MAX)
		return IOMT_ESIZE;
	len = box_len - ECIES_OVERHEAD;
	ct = box + ECIES_POINT_LEN + ECIES_NONCE_LEN;
	if (len && !pt)
		return IOMT_EINVAL;
	ERR_set_mark();
	memset(&aes, 0, sizeof(aes));
	err = open_keys(priv, box, &aes, nonce);
	/* The nonce is a function of E and Q_R: any other value is tampering. */
	if (!err && !iomt_ct_eq(nonce, box + ECIES_POINT_LEN, ECIES_NONCE_LEN))
		err = IOMT_EAUTH;
	if (!err)
		err = iomt_ccm_decrypt(&aes, nonce, ECIES_NONCE_LEN, aad, aad_len, ct, len,
				       ct + len, ECIES_TAG_LEN, pt);
	if (err && len)
		memset(pt, 0, len);
	iomt_aes128_wipe(&aes);
	iomt_wipe(nonce, sizeof(nonce));
	ERR_pop_to_mark();
	return err;
}

int ecies_point_of(const EVP_PKEY *key, uint8_t out[ECIES_POINT_LEN])
{
	return key ? pub33(key, out) : IOMT_EINVAL;
}

int ecies_key_from_point(const uint8_t in[ECIES_POINT_LEN], EVP_PKEY **key)
{
	return pkey_from_point(in, key);
}

int ecies_ecdh(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t z[ECIES_SCALAR_LEN])
{
	return ecdh_x(priv, peer, z);
}

EVP_PKEY *ecies_ephemeral(void)
{
	return ephemeral_new();
}
