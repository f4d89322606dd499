// SPDX-License-Identifier: MIT
/*
 * ECQV implicit certificates (SEC 4 v1.0, sections 2.3 and 3.3-3.6) on
 * P-256 with SHA-256, over OpenSSL's EC_GROUP / EC_POINT / BIGNUM.
 *
 * Everything from the wire (R_U, P_U, r, Q_CA) is validated before use:
 * points are compressed, on the curve and not the point at infinity (P-256
 * has cofactor 1, so that is also subgroup membership), scalars are in
 * [1, n-1]. Secret scalars live in secure BIGNUMs with BN_FLG_CONSTTIME and
 * are freed with BN_clear_free; byte copies are wiped.
 */

/*
 * Pin the API at 3.0 with the deprecated declarations removed, instead of
 * silencing -Wdeprecated-declarations with a pragma or asking for 1.1 API:
 * what this file needs (EC_GROUP, EC_POINT, BIGNUM arithmetic and
 * EVP_PKEY_fromdata) is current 3.0 API; only EC_KEY is deprecated and keys
 * cross our boundary as EVP_PKEY. A later EC_KEY call then fails to compile
 * here rather than hiding behind a silenced warning.
 */
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

#include "codec.h"
#include "ct.h"
#include "iomt_err.h"
#include "ecqv.h"
#include "rt_rng.h"

enum {
	ECQV_UNCOMPRESSED_LEN = 65,
	/* Scalar draws before we call the RNG broken: one draw of 32 bytes
	 * is refused (zero or >= n) with probability about 2^-32. */
	ECQV_DRAWS_MAX = 16,
	/* Fresh CA nonces before giving up on a degenerate P_U, e or r, each
	 * of which an honest draw hits with probability about 2^-255. */
	ECQV_ISSUE_TRIES = 4,
};

/*
 * libcrypto failures (allocation, no P-256 in the loaded provider) and a
 * failing getrandom have no code of their own in iomt_err.h; they come back
 * as IOMT_EUNSUPP, never as a verdict on the input.
 */
#define ECQV_ECRYPTO IOMT_EUNSUPP

/*
 * Test hook for known-answer tests: when set, scalars (k_U, the CA nonce k)
 * come from it instead of rt_random(). Static on purpose, reachable only by
 * tests/rt/test_ecqv.c, which includes this file: a CA nonce that repeats
 * over two certificates gives k = (r1 - r2) / (e1 - e2), and then d_CA.
 */
static int (*ecqv_rand_hook)(uint8_t *buf, size_t len);

/* Per-call arithmetic context; BN_CTX is not thread-safe, so never shared. */
struct ecqv_ctx {
	EC_GROUP *grp;
	BN_CTX *bn;
	const BIGNUM *n;
};

/* A refused input leaves libcrypto errors behind (oct2point on a bad
 * point); drop ours, and only ours, from the thread's error queue. */
static void ctx_free(struct ecqv_ctx *c)
{
	BN_CTX_free(c->bn);
	EC_GROUP_free(c->grp);
	ERR_pop_to_mark();
}

static int ctx_init(struct ecqv_ctx *c)
{
	ERR_set_mark();
	c->grp = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	c->bn = BN_CTX_secure_new();
	if (!c->grp || !c->bn) {
		ctx_free(c);
		return ECQV_ECRYPTO;
	}
	c->n = EC_GROUP_get0_order(c->grp);
	return IOMT_OK;
}

static int rand_bytes(uint8_t *buf, size_t len)
{
	if (ecqv_rand_hook)
		return ecqv_rand_hook(buf, len);
	/* rt_random gives -errno, which could alias an IOMT_E* code. */
	return rt_random(buf, len) ? ECQV_ECRYPTO : IOMT_OK;
}

static BIGNUM *scalar_new(void)
{
	BIGNUM *x = BN_secure_new();

	if (x)
		BN_set_flags(x, BN_FLG_CONSTTIME);
	return x;
}

/* 32 big-endian bytes in [1, n-1], else IOMT_EMALFORMED. */
static int scalar_decode(const struct ecqv_ctx *c, BIGNUM **out,
			 const uint8_t in[ECQV_SCALAR_LEN])
{
	BIGNUM *x = scalar_new();

	*out = NULL;
	if (!x || !BN_bin2bn(in, ECQV_SCALAR_LEN, x)) {
		BN_clear_free(x);
		return ECQV_ECRYPTO;
	}
	if (BN_is_zero(x) || BN_cmp(x, c->n) >= 0) {
		BN_clear_free(x);
		return IOMT_EMALFORMED;
	}
	*out = x;
	return IOMT_OK;
}

/* Rejection sampling, so the scalar is uniform in [1, n-1]. */
static int scalar_random(const struct ecqv_ctx *c, BIGNUM **out)
{
	uint8_t buf[ECQV_SCALAR_LEN];
	int err = ECQV_ECRYPTO;

	*out = NULL;
	for (int i = 0; i < ECQV_DRAWS_MAX; i++) {
		err = rand_bytes(buf, sizeof(buf));
		if (err)
			break;
		err = scalar_decode(c, out, buf);
		if (err != IOMT_EMALFORMED)
			break;
	}
	iomt_wipe(buf, sizeof(buf));
	return err == IOMT_EMALFORMED ? ECQV_ECRYPTO : err;
}

/* s = e*a + b mod n: r = e*k + d_CA at the CA, d_U = e*k_U + r at U. */
static int scalar_mul_add(const struct ecqv_ctx *c, BIGNUM *s, const BIGNUM *e,
			  const BIGNUM *a, const BIGNUM *b)
{
	if (!BN_mod_mul(s, e, a, c->n, c->bn) || !BN_mod_add(s, s, b, c->n, c->bn))
		return ECQV_ECRYPTO;
	return IOMT_OK;
}

/*
 * Points from the wire: exactly 33 bytes with prefix 02/03 (one encoding per
 * point, and the point at infinity has none), x < p and a square root that
 * exists (both checked by oct2point), then on-curve and not infinity again
 * as a guard against a library that decodes more loosely.
 */
static int point_decode(const struct ecqv_ctx *c, EC_POINT *p,
			const uint8_t in[ECQV_POINT_LEN])
{
	if (in[0] != 0x02 && in[0] != 0x03)
		return IOMT_EMALFORMED;
	if (!EC_POINT_oct2point(c->grp, p, in, ECQV_POINT_LEN, c->bn) ||
	    EC_POINT_is_at_infinity(c->grp, p) ||
	    EC_POINT_is_on_curve(c->grp, p, c->bn) != 1)
		return IOMT_EMALFORMED;
	return IOMT_OK;
}

static int point_encode(const struct ecqv_ctx *c, uint8_t out[ECQV_POINT_LEN],
			const EC_POINT *p)
{
	if (EC_POINT_point2oct(c->grp, p, POINT_CONVERSION_COMPRESSED, out,
			       ECQV_POINT_LEN, c->bn) != ECQV_POINT_LEN)
		return ECQV_ECRYPTO;
	return IOMT_OK;
}

/*
 * Hn (SEC 4 section 2.3): the leftmost floor(log2 n) bits of SHA-256. n is
 * not a power of two, so that is bits(n) - 1 = 255 for P-256: the digest is
 * shifted right by one, never reduced mod n, so e < 2^255 < n without bias.
 */
static int hash_to_e(const struct ecqv_ctx *c, BIGNUM *e, const uint8_t *msg,
		     size_t len)
{
	uint8_t h[EVP_MAX_MD_SIZE];
	unsigned int hlen;
	int keep = BN_num_bits(c->n) - 1;

	if (!EVP_Digest(msg, len, h, &hlen, EVP_sha256(), NULL) ||
	    !BN_bin2bn(h, (int)hlen, e))
		return ECQV_ECRYPTO;
	if ((int)hlen * 8 > keep && !BN_rshift(e, e, (int)hlen * 8 - keep))
		return ECQV_ECRYPTO;
	return IOMT_OK;
}

/* P_U = R_U + k*G (CA, SEC 4 section 3.4). */
static int formula_pu(const struct ecqv_ctx *c, EC_POINT *pu, const EC_POINT *ru,
		      const BIGNUM *k)
{
	EC_POINT *kg = EC_POINT_new(c->grp);
	int ok = kg && EC_POINT_mul(c->grp, kg, k, NULL, NULL, c->bn) &&
		 EC_POINT_add(c->grp, pu, ru, kg, c->bn);

	EC_POINT_clear_free(kg);
	return ok ? IOMT_OK : ECQV_ECRYPTO;
}

/* Q_U = e*P_U + Q_CA (anyone, SEC 4 section 3.5). */
static int formula_qu(const struct ecqv_ctx *c, EC_POINT *qu, const BIGNUM *e,
		      const EC_POINT *pu, const EC_POINT *qca)
{
	EC_POINT *epu = EC_POINT_new(c->grp);
	int ok = epu && EC_POINT_mul(c->grp, epu, NULL, pu, e, c->bn) &&
		 EC_POINT_add(c->grp, qu, epu, qca, c->bn);

	EC_POINT_free(epu);
	return ok ? IOMT_OK : ECQV_ECRYPTO;
}

/* ---- EVP_PKEY at the boundary ------------------------------------------- */

int ecqv_pkey_is_p256(const EVP_PKEY *k)
{
	char name[64];
	size_t len;

	return k && EVP_PKEY_is_a(k, "EC") &&
	       EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, name,
					      sizeof(name), &len) &&
	       OBJ_sn2nid(name) == NID_X9_62_prime256v1;
}

/* Q_CA from a caller's key: validated like any point (it may come from a file). */
static int pkey_pub(const struct ecqv_ctx *c, const EVP_PKEY *k, EC_POINT *q)
{
	uint8_t buf[ECQV_UNCOMPRESSED_LEN];
	size_t len;

	if (!ecqv_pkey_is_p256(k) ||
	    !EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, buf,
					     sizeof(buf), &len) ||
	    !EC_POINT_oct2point(c->grp, q, buf, len, c->bn) ||
	    EC_POINT_is_at_infinity(c->grp, q) ||
	    EC_POINT_is_on_curve(c->grp, q, c->bn) != 1)
		return IOMT_EINVAL;
	return IOMT_OK;
}

static int pkey_priv(const struct ecqv_ctx *c, const EVP_PKEY *k, BIGNUM **d)
{
	*d = NULL;
	if (!ecqv_pkey_is_p256(k) ||
	    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, d))
		return IOMT_EINVAL;
	if (BN_is_zero(*d) || BN_cmp(*d, c->n) >= 0) {
		BN_clear_free(*d);
		*d = NULL;
		return IOMT_EINVAL;
	}
	BN_set_flags(*d, BN_FLG_CONSTTIME);
	return IOMT_OK;
}

/* A P-256 EVP_PKEY from Q (and d, for a key pair). The private scalar goes
 * through a stack buffer that is wiped, not through an OSSL_PARAM_BLD. */
static int pkey_build(const struct ecqv_ctx *c, const EC_POINT *q,
		      const BIGNUM *d, EVP_PKEY **out)
{
	char group[] = SN_X9_62_prime256v1;
	uint8_t pub[ECQV_UNCOMPRESSED_LEN], priv[ECQV_SCALAR_LEN];
	OSSL_PARAM params[4], *p = params;
	EVP_PKEY_CTX *pctx = NULL;
	int err = ECQV_ECRYPTO;

	if (EC_POINT_point2oct(c->grp, q, POINT_CONVERSION_UNCOMPRESSED, pub,
			       sizeof(pub), c->bn) != sizeof(pub))
		goto out;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub));
	if (d) {
		if (BN_bn2nativepad(d, priv, sizeof(priv)) != sizeof(priv))
			goto out;
		*p++ = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, priv, sizeof(priv));
	}
	*p = OSSL_PARAM_construct_end();

	pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (pctx && EVP_PKEY_fromdata_init(pctx) > 0 &&
	    EVP_PKEY_fromdata(pctx, out, d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
			      params) > 0)
		err = IOMT_OK;
out:
	iomt_wipe(priv, sizeof(priv));
	EVP_PKEY_CTX_free(pctx);
	return err;
}

/* ---- certificate encoding ------------------------------------------------ */

static int cert_fields_ok(const struct ecqv_cert *c)
{
	return c->version == ECQV_VERSION && c->curve == ECQV_CURVE_P256 &&
	       c->role >= ECQV_ROLE_PATIENT && c->role <= ECQV_ROLE_OTHER &&
	       c->attr_len <= ECQV_ATTR_MAX && c->not_before <= c->not_after &&
	       (c->pu[0] == 0x02 || c->pu[0] == 0x03);
}

int ecqv_cert_encode(const struct ecqv_cert *cert, uint8_t out[ECQV_CERT_LEN])
{
	static const uint8_t zero[ECQV_ATTR_MAX];
	struct iomt_wr w;
	size_t len;

	if (!cert_fields_ok(cert))
		return IOMT_EMALFORMED;
	iomt_wr_init(&w, out, ECQV_CERT_LEN);
	iomt_wr_u8(&w, cert->version);
	iomt_wr_u8(&w, cert->curve);
	iomt_wr_u64(&w, cert->serial);
	iomt_wr_bytes(&w, cert->issuer, ECQV_ID_LEN);
	iomt_wr_bytes(&w, cert->subject, ECQV_ID_LEN);
	iomt_wr_u8(&w, cert->role);
	iomt_wr_u8(&w, cert->attr_len);
	iomt_wr_bytes(&w, cert->attr, cert->attr_len);
	/* Zero padding whatever the struct holds past attr_len: one
	 * certificate, one encoding, one e. */
	iomt_wr_bytes(&w, zero, ECQV_ATTR_MAX - cert->attr_len);
	iomt_wr_u64(&w, cert->not_before);
	iomt_wr_u64(&w, cert->not_after);
	iomt_wr_bytes(&w, cert->pu, ECQV_POINT_LEN);
	if (iomt_wr_finish(&w, &len) || len != ECQV_CERT_LEN)
		return IOMT_EINVAL;
	return IOMT_OK;
}

int ecqv_cert_decode(struct ecqv_cert *cert, const uint8_t *buf, size_t len)
{
	struct ecqv_cert c;
	struct ecqv_ctx ctx;
	struct iomt_rd r;
	const uint8_t *pad;
	EC_POINT *pu;
	int err;

	/* One size only: shorter is truncated, longer carries bytes that Hn
	 * would not cover. Either way, not a certificate. */
	if (!buf || len != ECQV_CERT_LEN)
		return IOMT_EMALFORMED;
	memset(&c, 0, sizeof(c));
	iomt_rd_init(&r, buf, len);
	c.version = iomt_rd_u8(&r);
	c.curve = iomt_rd_u8(&r);
	c.serial = iomt_rd_u64(&r);
	iomt_rd_bytes(&r, c.issuer, ECQV_ID_LEN);
	iomt_rd_bytes(&r, c.subject, ECQV_ID_LEN);
	c.role = iomt_rd_u8(&r);
	c.attr_len = iomt_rd_u8(&r);
	if (c.attr_len > ECQV_ATTR_MAX)
		return IOMT_EMALFORMED;
	iomt_rd_bytes(&r, c.attr, c.attr_len);
	pad = iomt_rd_ptr(&r, ECQV_ATTR_MAX - c.attr_len);
	c.not_before = iomt_rd_u64(&r);
	c.not_after = iomt_rd_u64(&r);
	iomt_rd_bytes(&r, c.pu, ECQV_POINT_LEN);
	if (iomt_rd_finish(&r) || !cert_fields_ok(&c))
		return IOMT_EMALFORMED;
	/* Non-zero padding would give a second encoding of the same fields. */
	for (size_t i = 0; i < (size_t)(ECQV_ATTR_MAX - c.attr_len); i++)
		if (pad[i])
			return IOMT_EMALFORMED;

	err = ctx_init(&ctx);
	if (err)
		return err;
	pu = EC_POINT_new(ctx.grp);
	err = pu ? point_decode(&ctx, pu, c.pu) : ECQV_ECRYPTO;
	EC_POINT_free(pu);
	ctx_free(&ctx);
	if (!err)
		*cert = c;
	return err;
}

int ecqv_cert_check_time(const struct ecqv_cert *cert, uint64_t now)
{
	return now >= cert->not_before && now <= cert->not_after ? IOMT_OK : IOMT_ESTATE;
}

/* ---- the three roles ----------------------------------------------------- */

int ecqv_request_new(struct ecqv_request *req)
{
	struct ecqv_ctx c;
	struct ecqv_request out;
	BIGNUM *k = NULL;
	EC_POINT *ru = NULL;
	int err;

	err = ctx_init(&c);
	if (err)
		return err;
	err = scalar_random(&c, &k);
	if (err)
		goto out;
	err = ECQV_ECRYPTO;
	ru = EC_POINT_new(c.grp);
	if (!ru || !EC_POINT_mul(c.grp, ru, k, NULL, NULL, c.bn) ||
	    BN_bn2binpad(k, out.k, ECQV_SCALAR_LEN) != ECQV_SCALAR_LEN)
		goto out;
	err = point_encode(&c, out.ru, ru);
	if (!err)
		*req = out;
out:
	iomt_wipe(&out, sizeof(out));
	EC_POINT_clear_free(ru);
	BN_clear_free(k);
	ctx_free(&c);
	return err;
}

void ecqv_request_wipe(struct ecqv_request *req)
{
	iomt_wipe(req, sizeof(*req));
}

int ecqv_ca_issue(const EVP_PKEY *ca, const uint8_t ru_buf[ECQV_POINT_LEN],
		  struct ecqv_cert *cert, uint8_t r_out[ECQV_SCALAR_LEN])
{
	struct ecqv_cert out = *cert;
	struct ecqv_ctx c;
	uint8_t enc[ECQV_CERT_LEN];
	BIGNUM *d_ca = NULL, *k = NULL, *e = NULL, *r = NULL;
	EC_POINT *ru = NULL, *pu = NULL;
	int err, i;

	out.version = ECQV_VERSION;
	out.curve = ECQV_CURVE_P256;
	out.pu[0] = 0x02;	/* placeholder until P_U exists */
	if (!cert_fields_ok(&out))
		return IOMT_EINVAL;
	err = ctx_init(&c);
	if (err)
		return err;
	err = pkey_priv(&c, ca, &d_ca);
	if (err)
		goto out;
	err = ECQV_ECRYPTO;
	ru = EC_POINT_new(c.grp);
	pu = EC_POINT_new(c.grp);
	e = BN_new();
	r = scalar_new();
	if (!ru || !pu || !e || !r)
		goto out;
	/* SEC 4 3.4 step 1: R_U is validated as a public key. */
	err = point_decode(&c, ru, ru_buf);
	if (err)
		goto out;

	/* A fresh k whenever P_U is infinity (SEC 4), or e or r is zero (U's
	 * key would not depend on the certificate, or r would be no value). */
	for (i = 0; i < ECQV_ISSUE_TRIES; i++) {
		BN_clear_free(k);
		err = scalar_random(&c, &k);	/* k is NULL on failure */
		if (!err)
			err = formula_pu(&c, pu, ru, k);
		if (err)
			goto out;
		if (EC_POINT_is_at_infinity(c.grp, pu))
			continue;
		err = point_encode(&c, out.pu, pu);
		if (!err)
			err = ecqv_cert_encode(&out, enc);
		if (!err)
			err = hash_to_e(&c, e, enc, sizeof(enc));
		if (err)
			goto out;
		if (BN_is_zero(e))
			continue;
		err = scalar_mul_add(&c, r, e, k, d_ca);
		if (err)
			goto out;
		if (!BN_is_zero(r))
			break;
	}
	err = ECQV_ECRYPTO;	/* only a broken RNG runs out of tries */
	if (i == ECQV_ISSUE_TRIES || BN_bn2binpad(r, r_out, ECQV_SCALAR_LEN) != ECQV_SCALAR_LEN)
		goto out;
	*cert = out;
	err = IOMT_OK;
out:
	BN_clear_free(r);
	BN_free(e);
	BN_clear_free(k);
	BN_clear_free(d_ca);
	EC_POINT_free(pu);
	EC_POINT_free(ru);
	ctx_free(&c);
	return err;
}

/* The part both U and relying parties do: e and Q_U = e*P_U + Q_CA. */
static int cert_public(const struct ecqv_ctx *c, const struct ecqv_cert *cert,
		       const EVP_PKEY *ca_pub, uint64_t now, BIGNUM *e, EC_POINT *qu)
{
	uint8_t enc[ECQV_CERT_LEN];
	EC_POINT *pu = EC_POINT_new(c->grp), *qca = EC_POINT_new(c->grp);
	int err;

	err = ecqv_cert_encode(cert, enc);
	if (!err)
		err = ecqv_cert_check_time(cert, now);
	if (!err)
		err = (pu && qca) ? point_decode(c, pu, cert->pu) : ECQV_ECRYPTO;
	if (!err)
		err = pkey_pub(c, ca_pub, qca);
	if (!err)
		err = hash_to_e(c, e, enc, sizeof(enc));
	/* e == 0 only for a certificate the CA would not have issued. */
	if (!err && BN_is_zero(e))
		err = IOMT_EMALFORMED;
	if (!err)
		err = formula_qu(c, qu, e, pu, qca);
	if (!err && EC_POINT_is_at_infinity(c->grp, qu))
		err = IOMT_EMALFORMED;
	EC_POINT_free(qca);
	EC_POINT_free(pu);
	return err;
}

int ecqv_reconstruct_private(const struct ecqv_request *req,
			     const struct ecqv_cert *cert,
			     const uint8_t r_buf[ECQV_SCALAR_LEN],
			     const EVP_PKEY *ca_pub, uint64_t now,
			     EVP_PKEY **key)
{
	struct ecqv_ctx c;
	BIGNUM *k_u = NULL, *r = NULL, *e = NULL, *d_u = NULL;
	EC_POINT *qu = NULL, *dg = NULL;
	int err;

	*key = NULL;
	err = ctx_init(&c);
	if (err)
		return err;
	err = ECQV_ECRYPTO;
	e = BN_new();
	d_u = scalar_new();
	qu = EC_POINT_new(c.grp);
	dg = EC_POINT_new(c.grp);
	if (!e || !d_u || !qu || !dg)
		goto out;
	err = cert_public(&c, cert, ca_pub, now, e, qu);
	if (err)
		goto out;
	/* k_U is our own state: out of range means the caller's bug. */
	err = scalar_decode(&c, &k_u, req->k);
	if (err) {
		err = err == IOMT_EMALFORMED ? IOMT_EINVAL : err;
		goto out;
	}
	err = scalar_decode(&c, &r, r_buf);
	if (err)
		goto out;
	err = scalar_mul_add(&c, d_u, e, k_u, r);
	if (err)
		goto out;

	/*
	 * SEC 4 3.6: keep the pair only if d_U*G == Q_U. This is the one place
	 * a changed Cert_U, a changed r, the wrong CA key or the wrong k_U
	 * shows; without it U would sign with a key nobody can verify.
	 * Q_U and d_U*G are public once equal, so a variable-time compare is
	 * fine.
	 */
	err = IOMT_EAUTH;
	if (BN_is_zero(d_u))
		goto out;
	if (!EC_POINT_mul(c.grp, dg, d_u, NULL, NULL, c.bn)) {
		err = ECQV_ECRYPTO;
		goto out;
	}
	if (EC_POINT_cmp(c.grp, qu, dg, c.bn) != 0)
		goto out;
	err = pkey_build(&c, qu, d_u, key);
out:
	EC_POINT_clear_free(dg);
	EC_POINT_free(qu);
	BN_clear_free(d_u);
	BN_clear_free(r);
	BN_clear_free(k_u);
	BN_free(e);
	ctx_free(&c);
	return err;
}

int ecqv_public_from_cert(const struct ecqv_cert *cert, const EVP_PKEY *ca_pub,
			  uint64_t now, EVP_PKEY **pub)
{
	struct ecqv_ctx c;
	BIGNUM *e = NULL;
	EC_POINT *qu = NULL;
	int err;

	*pub = NULL;
	err = ctx_init(&c);
	if (err)
		return err;
	err = ECQV_ECRYPTO;
	e = BN_new();
	qu = EC_POINT_new(c.grp);
	if (e && qu)
		err = cert_public(&c, cert, ca_pub, now, e, qu);
	if (!err)
		err = pkey_build(&c, qu, NULL, pub);
	EC_POINT_free(qu);
	BN_free(e);
	ctx_free(&c);
	return err;
}
