// SPDX-License-Identifier: MIT
/*
 * Seed 002 phase 2 messages (s2_phase2.h): the signed analysis request and
 * the sealed response. Layouts: docs/PROTOCOL.md §4.2, §4.3.
 */

/* The 3.0 API without deprecated declarations, as in ecqv.c. */
#define OPENSSL_API_COMPAT 0x30000000L
#define OPENSSL_NO_DEPRECATED

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "codec.h"
#include "ct.h"
#include "ecies.h"
#include "ecqv.h"
#include "iomt_err.h"
#include "s2_phase2.h"

static const char req_label[] = S2_ANALYSIS_REQ_LABEL;

/* Printable ASCII only: the policy ends up in logs and audit records. */
static int policy_ok(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e)
			return 0;
	return 1;
}

/* ECDSA-SHA256 over label || body; verify when sig_len is given. */
static int sig_init(EVP_MD_CTX **m, EVP_PKEY *key, int verify,
		    const uint8_t *body, size_t len)
{
	int ok;

	*m = EVP_MD_CTX_new();
	if (!*m)
		return IOMT_EUNSUPP;
	ok = verify ? EVP_DigestVerifyInit(*m, NULL, EVP_sha256(), NULL, key) > 0
		    : EVP_DigestSignInit(*m, NULL, EVP_sha256(), NULL, key) > 0;
	if (!ok)
		return IOMT_EINVAL;
	if (EVP_DigestUpdate(*m, req_label, sizeof(req_label) - 1) <= 0 ||
	    EVP_DigestUpdate(*m, body, len) <= 0)
		return IOMT_EUNSUPP;
	return IOMT_OK;
}

/* A public-only key would fail only at the last step, as if libcrypto broke. */
static int has_private(const EVP_PKEY *key)
{
	BIGNUM *d = NULL;
	int ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &d);

	BN_clear_free(d);
	return ok;
}

static int req_sign(EVP_PKEY *key, const uint8_t *body, size_t len,
		    uint8_t sig[S2_SIG_MAX], size_t *sig_len)
{
	EVP_MD_CTX *m = NULL;
	size_t max = 0;
	int err = has_private(key) ? sig_init(&m, key, 0, body, len) : IOMT_EINVAL;

	/* A P-256 key promises at most 72 bytes; a bigger promise is another key. */
	if (!err && (EVP_DigestSignFinal(m, NULL, &max) <= 0 || max > S2_SIG_MAX))
		err = IOMT_EINVAL;
	*sig_len = max;
	if (!err && EVP_DigestSignFinal(m, sig, sig_len) <= 0)
		err = IOMT_EUNSUPP;
	if (!err && *sig_len < S2_SIG_MIN)
		err = IOMT_EUNSUPP;
	EVP_MD_CTX_free(m);
	return err;
}

static int req_verify(EVP_PKEY *key, const uint8_t *body, size_t len,
		      const uint8_t *sig, size_t sig_len)
{
	EVP_MD_CTX *m;
	int err = sig_init(&m, key, 1, body, len);

	/* OpenSSL refuses non-DER and trailing bytes: one encoding per signature. */
	if (!err && EVP_DigestVerifyFinal(m, sig, sig_len) != 1)
		err = IOMT_EAUTH;
	EVP_MD_CTX_free(m);
	return err;
}

/* Everything before sig_len. */
static void req_body_write(struct iomt_wr *w, const uint8_t cert[ECQV_CERT_LEN],
			   uint64_t ts, const uint8_t nonce[S2_NONCE_LEN],
			   uint16_t ndevices, const char *policy, size_t plen)
{
	iomt_wr_bytes(w, cert, ECQV_CERT_LEN);
	iomt_wr_u64(w, ts);
	iomt_wr_bytes(w, nonce, S2_NONCE_LEN);
	iomt_wr_u16(w, ndevices);
	iomt_wr_u16(w, (uint16_t)plen);
	iomt_wr_bytes(w, policy, plen);
}

int s2_analysis_req_build(EVP_PKEY *patient_priv, const struct ecqv_cert *cert,
			  uint64_t ts, const uint8_t nonce[S2_NONCE_LEN],
			  uint16_t ndevices, const char *policy,
			  uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t enc[ECQV_CERT_LEN], sig[S2_SIG_MAX];
	size_t plen, body_len, sig_len;
	struct iomt_wr w;
	int err;

	if (!patient_priv || !cert || !nonce || !out_len)
		return IOMT_EINVAL;
	*out_len = 0;
	policy = policy ? policy : "";
	plen = strnlen(policy, S2_POLICY_MAX + 1);
	if (ndevices < 1 || ndevices > S2_NDEVICES_MAX || plen > S2_POLICY_MAX ||
	    !policy_ok(policy, plen) || ecqv_cert_encode(cert, enc))
		return IOMT_EINVAL;
	iomt_wr_init(&w, out, cap);
	req_body_write(&w, enc, ts, nonce, ndevices, policy, plen);
	err = iomt_wr_finish(&w, &body_len);
	if (err)
		return err;
	ERR_set_mark();
	err = req_sign(patient_priv, out, body_len, sig, &sig_len);
	ERR_pop_to_mark();
	if (err)
		return err;
	iomt_wr_u8(&w, (uint8_t)sig_len);
	iomt_wr_bytes(&w, sig, sig_len);
	return iomt_wr_finish(&w, out_len);
}

/* Where the parts of a request are; filled by req_split. */
struct req_parts {
	const uint8_t *cert, *policy, *sig;
	size_t body_len, sig_len;
};

/* Layout only: exact size, field ranges, charset. */
static int req_split(const uint8_t *p, size_t len, struct s2_analysis_req *q,
		     struct req_parts *parts)
{
	struct iomt_rd r;
	uint16_t plen;

	iomt_rd_init(&r, p, len);
	parts->cert = iomt_rd_ptr(&r, ECQV_CERT_LEN);
	q->ts = iomt_rd_u64(&r);
	iomt_rd_bytes(&r, q->nonce, S2_NONCE_LEN);
	q->ndevices = iomt_rd_u16(&r);
	plen = iomt_rd_u16(&r);
	if (plen > S2_POLICY_MAX)
		return IOMT_EMALFORMED;
	parts->policy = iomt_rd_ptr(&r, plen);
	parts->body_len = r.off;
	parts->sig_len = iomt_rd_u8(&r);
	parts->sig = iomt_rd_ptr(&r, parts->sig_len);
	/* Bytes after the signature would be signed by nobody. */
	if (iomt_rd_finish(&r) || parts->sig_len < S2_SIG_MIN ||
	    parts->sig_len > S2_SIG_MAX || q->ndevices < 1 ||
	    q->ndevices > S2_NDEVICES_MAX || !policy_ok((const char *)parts->policy, plen))
		return IOMT_EMALFORMED;
	memcpy(q->policy, parts->policy, plen);
	q->policy[plen] = '\0';
	return ecqv_cert_decode(&q->cert, parts->cert, ECQV_CERT_LEN) ? IOMT_EMALFORMED
								      : IOMT_OK;
}

static int ts_fresh(uint64_t ts, uint64_t now)
{
	uint64_t d = ts > now ? ts - now : now - ts;

	return d <= S2_TS_SKEW_S;
}

int s2_analysis_req_parse_verify(const uint8_t *p, size_t len, const EVP_PKEY *ca_pub,
				 uint64_t now, struct s2_analysis_req *out)
{
	struct s2_analysis_req q;
	struct req_parts parts;
	EVP_PKEY *pub = NULL;
	int err;

	if (!p || !ca_pub || !out)
		return IOMT_EINVAL;
	/* Outside these bounds no policy and signature length can make it fit. */
	if (len < S2_ANALYSIS_REQ_MIN || len > S2_ANALYSIS_REQ_MAX)
		return IOMT_EMALFORMED;
	memset(&q, 0, sizeof(q));
	err = req_split(p, len, &q, &parts);
	if (!err)
		err = ecqv_public_from_cert(&q.cert, ca_pub, now, &pub);
	ERR_set_mark();
	if (!err)
		err = req_verify(pub, p, parts.body_len, parts.sig, parts.sig_len);
	ERR_pop_to_mark();
	if (!err && !ts_fresh(q.ts, now))
		err = IOMT_ESTATE;
	if (!err)
		*out = q;
	EVP_PKEY_free(pub);
	return err;
}

int s2_analysis_resp_seal(EVP_PKEY *to_pub, const uint8_t nonce[S2_NONCE_LEN],
			  const uint8_t id_a[S2_ID_LEN], uint16_t n,
			  const uint8_t (*did)[S2_ID_LEN], const uint8_t (*dk)[S2_KEY_LEN],
			  uint8_t *out, size_t *out_len)
{
	uint8_t pt[S2_RESP_PT_MAX];
	struct iomt_wr w;
	size_t len;
	int err;

	if (!to_pub || !nonce || !id_a || !did || !dk || !out || !out_len)
		return IOMT_EINVAL;
	*out_len = 0;
	if (n < 1 || n > S2_NDEVICES_MAX)
		return IOMT_EINVAL;
	iomt_wr_init(&w, pt, sizeof(pt));
	iomt_wr_bytes(&w, id_a, S2_ID_LEN);
	iomt_wr_u16(&w, n);
	for (uint16_t i = 0; i < n; i++) {
		iomt_wr_bytes(&w, did[i], S2_ID_LEN);
		iomt_wr_bytes(&w, dk[i], S2_KEY_LEN);
	}
	err = iomt_wr_finish(&w, &len);
	if (!err)
		err = ecies_seal(to_pub, nonce, S2_NONCE_LEN, pt, len, out);
	if (!err)
		*out_len = len + ECIES_OVERHEAD;
	iomt_wipe(pt, sizeof(pt));
	return err;
}

/* The plaintext, already of the length its box promised for k devices. */
static int resp_split(const uint8_t *pt, size_t len, uint8_t id_a[S2_ID_LEN], uint16_t *n,
		      uint8_t (*did)[S2_ID_LEN], uint8_t (*dk)[S2_KEY_LEN], uint16_t max)
{
	struct iomt_rd r;
	uint16_t k;

	iomt_rd_init(&r, pt, len);
	iomt_rd_bytes(&r, id_a, S2_ID_LEN);
	k = iomt_rd_u16(&r);
	/* The count must say what the length says: one reading per box. */
	if (k < 1 || k > S2_NDEVICES_MAX || len != S2_ANALYSIS_RESP_LEN(k) - ECIES_OVERHEAD)
		return IOMT_EMALFORMED;
	if (k > max)
		return IOMT_ESIZE;
	for (uint16_t i = 0; i < k; i++) {
		iomt_rd_bytes(&r, did[i], S2_ID_LEN);
		iomt_rd_bytes(&r, dk[i], S2_KEY_LEN);
	}
	if (iomt_rd_finish(&r))
		return IOMT_EMALFORMED;
	*n = k;
	return IOMT_OK;
}

int s2_analysis_resp_open(EVP_PKEY *priv, const uint8_t nonce[S2_NONCE_LEN],
			  const uint8_t *box, size_t len, uint8_t id_a[S2_ID_LEN],
			  uint16_t *n, uint8_t (*did)[S2_ID_LEN], uint8_t (*dk)[S2_KEY_LEN],
			  uint16_t max)
{
	uint8_t pt[S2_RESP_PT_MAX];
	size_t plen;
	int err;

	if (!priv || !nonce || !box || !id_a || !n || (max && (!did || !dk)))
		return IOMT_EINVAL;
	*n = 0;
	memset(id_a, 0, S2_ID_LEN);
	/* A box for 1..64 devices has one of 64 sizes; anything else is cut or padded. */
	if (len < S2_ANALYSIS_RESP_LEN(1) || len > S2_ANALYSIS_RESP_MAX ||
	    (len - S2_ANALYSIS_RESP_LEN(0)) % S2_RESP_ENTRY_LEN)
		return IOMT_ESIZE;
	plen = len - ECIES_OVERHEAD;
	err = ecies_open(priv, nonce, S2_NONCE_LEN, box, len, pt);
	if (!err)
		err = resp_split(pt, plen, id_a, n, did, dk, max);
	if (err) {
		*n = 0;
		memset(id_a, 0, S2_ID_LEN);
		if (max) {
			memset(did, 0, (size_t)max * S2_ID_LEN);
			memset(dk, 0, (size_t)max * S2_KEY_LEN);
		}
	}
	iomt_wipe(pt, sizeof(pt));
	return err;
}
