// SPDX-License-Identifier: MIT
/* Seed 002 phases 5 and 6: messages, key agreement, alerts (s2_p56.h). */
#define OPENSSL_API_COMPAT 0x30000000L
#define OPENSSL_NO_DEPRECATED

#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "aes.h"
#include "bytes.h"
#include "ccm.h"
#include "codec.h"
#include "ct.h"
#include "iomt_err.h"
#include "s2_p56.h"
#include "sp800_185.h"

static const char kdf_custom[] = "iomt/s2/p5-key";
static const char ack_custom[] = "iomt/s2/p6-ack";
static const char results_aad[] = "iomt/s2/p5-results";

int p56_sign(EVP_PKEY *key, const char *label, const uint8_t *body, size_t len,
	     uint8_t *sig, size_t *sig_len)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	size_t max = 0;
	int err = IOMT_EUNSUPP;

	*sig_len = 0;
	if (!m)
		return IOMT_EUNSUPP;
	ERR_set_mark();
	if (EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, key) <= 0)
		err = IOMT_EINVAL;
	else if (EVP_DigestSignUpdate(m, label, strlen(label)) > 0 &&
		 EVP_DigestSignUpdate(m, body, len) > 0 &&
		 EVP_DigestSignFinal(m, NULL, &max) > 0 && max <= P56_SIG_MAX) {
		*sig_len = max;
		if (EVP_DigestSignFinal(m, sig, sig_len) > 0 && *sig_len >= P56_SIG_MIN)
			err = IOMT_OK;
	}
	ERR_pop_to_mark();
	EVP_MD_CTX_free(m);
	if (err)
		*sig_len = 0;
	return err;
}

int p56_verify(EVP_PKEY *pub, const char *label, const uint8_t *body, size_t len,
	       const uint8_t *sig, size_t sig_len)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int err = IOMT_EAUTH;

	if (!m)
		return IOMT_EUNSUPP;
	ERR_set_mark();
	if (EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, pub) <= 0)
		err = IOMT_EINVAL;
	else if (EVP_DigestVerifyUpdate(m, label, strlen(label)) > 0 &&
		 EVP_DigestVerifyUpdate(m, body, len) > 0 &&
		 EVP_DigestVerifyFinal(m, sig, sig_len) == 1)
		err = IOMT_OK;
	ERR_pop_to_mark();
	EVP_MD_CTX_free(m);
	return err;
}

int p56_sha256(const uint8_t *p, size_t len, uint8_t out[P56_HASH_LEN])
{
	unsigned int n = 0;

	return EVP_Digest(p, len, out, &n, EVP_sha256(), NULL) > 0 && n == P56_HASH_LEN
		       ? IOMT_OK
		       : IOMT_EUNSUPP;
}

/* body (w's bytes so far) signed, then sig_len || sig appended. */
static int finish_signed(struct iomt_wr *w, uint8_t *out, EVP_PKEY *key, const char *label,
			 size_t *len)
{
	uint8_t sig[P56_SIG_MAX];
	size_t body, slen;
	int err = iomt_wr_finish(w, &body);

	if (!err)
		err = p56_sign(key, label, out, body, sig, &slen);
	if (err)
		return err;
	iomt_wr_u8(w, (uint8_t)slen);
	iomt_wr_bytes(w, sig, slen);
	return iomt_wr_finish(w, len);
}

/* After the body: sig_len || sig, nothing after. */
static int read_sig(struct iomt_rd *r, const uint8_t **sig, uint8_t *slen)
{
	*slen = iomt_rd_u8(r);
	*sig = iomt_rd_ptr(r, *slen);
	if (iomt_rd_finish(r) || *slen < P56_SIG_MIN || *slen > P56_SIG_MAX)
		return IOMT_EMALFORMED;
	return IOMT_OK;
}

/* Q of a certificate at now: IOMT_ESTATE outside the window. */
static int cert_key(const struct ecqv_cert *c, const EVP_PKEY *ca_pub, uint64_t now,
		    EVP_PKEY **q)
{
	int err = ecqv_cert_check_time(c, now);

	if (!err)
		err = ecqv_public_from_cert(c, ca_pub, now, q);
	return err;
}

static int fresh(uint64_t ts, uint64_t now)
{
	return ts <= now + P56_TS_SKEW_S && ts + P56_TS_SKEW_S >= now;
}

/* A message signed by a certificate's owner: Q of c at now (cert_key), its
 * signature sig over body[0..blen) under label, then ts fresh (else
 * IOMT_ESTATE). *q is set once the key is known: the caller frees it. */
static int cert_signed(const struct ecqv_cert *c, const EVP_PKEY *ca_pub, uint64_t now,
		       uint64_t ts, const char *label, const uint8_t *body, size_t blen,
		       const uint8_t *sig, size_t slen, EVP_PKEY **q)
{
	int err = cert_key(c, ca_pub, now, q);

	if (!err)
		err = p56_verify(*q, label, body, blen, sig, slen);
	if (!err && !fresh(ts, now))
		err = IOMT_ESTATE;
	return err;
}

/* ---- user messages ---- */

/* The clear part of a P5_REQ: ID_a || E_U || nonce. */
static void req_open_part(struct iomt_wr *w, const uint8_t id_a[P56_ID_LEN],
			  const uint8_t eph[P56_PT_LEN], const uint8_t nonce[P56_NONCE_LEN])
{
	iomt_wr_bytes(w, id_a, P56_ID_LEN);
	iomt_wr_bytes(w, eph, P56_PT_LEN);
	iomt_wr_bytes(w, nonce, P56_NONCE_LEN);
}

/* What the user signs: ID_a || E_U || nonce || cert || ts (after the label). */
static size_t req_signed(uint8_t *buf, const uint8_t *open, const uint8_t cert[ECQV_CERT_LEN],
			 uint64_t ts)
{
	memcpy(buf, open, P56_REQ_OPEN);
	memcpy(buf + P56_REQ_OPEN, cert, ECQV_CERT_LEN);
	iomt_store_be64(buf + P56_REQ_OPEN + ECQV_CERT_LEN, ts);
	return P56_REQ_OPEN + P56_REQ_INNER_FIXED;
}

int p56_req_build(EVP_PKEY *priv, const struct ecqv_cert *cert, EVP_PKEY *ttp_pub, uint64_t ts,
		  const uint8_t nonce[P56_NONCE_LEN], const uint8_t id_a[P56_ID_LEN],
		  const uint8_t eph[P56_PT_LEN], uint8_t *out, size_t cap, size_t *len)
{
	uint8_t enc[ECQV_CERT_LEN], body[P56_REQ_OPEN + P56_REQ_INNER_FIXED];
	uint8_t inner[P56_REQ_INNER_MAX], sig[P56_SIG_MAX];
	size_t slen, ilen;
	struct iomt_wr w;
	int err;

	if (!priv || !cert || !ttp_pub || !nonce || !id_a || !eph || !out || !len ||
	    ecqv_cert_encode(cert, enc))
		return IOMT_EINVAL;
	iomt_wr_init(&w, out, cap);
	req_open_part(&w, id_a, eph, nonce);
	err = iomt_wr_finish(&w, &ilen);
	if (err)
		return err;
	err = p56_sign(priv, P56_LABEL_REQ, body, req_signed(body, out, enc, ts), sig, &slen);
	if (err)
		return err;
	memcpy(inner, enc, ECQV_CERT_LEN);
	iomt_store_be64(inner + ECQV_CERT_LEN, ts);
	inner[P56_REQ_INNER_FIXED] = (uint8_t)slen;
	memcpy(inner + P56_REQ_INNER_FIXED + 1, sig, slen);
	ilen = P56_REQ_INNER_FIXED + 1 + slen;
	if (cap < P56_REQ_OPEN + ECIES_OVERHEAD + ilen)
		return IOMT_ESIZE;
	err = ecies_seal(ttp_pub, out, P56_REQ_OPEN, inner, ilen, out + P56_REQ_OPEN);
	if (!err)
		*len = P56_REQ_OPEN + ECIES_OVERHEAD + ilen;
	return err;
}

int p56_req_parse(const uint8_t *p, size_t len, struct p56_user_msg *m)
{
	if (!p || !m)
		return IOMT_EINVAL;
	memset(m, 0, sizeof(*m));
	if (len < P56_REQ_MIN || len > P56_REQ_MAX)
		return IOMT_EMALFORMED;
	memcpy(m->id_a, p, P56_ID_LEN);
	memcpy(m->eph, p + P56_ID_LEN, P56_PT_LEN);
	memcpy(m->nonce, p + P56_ID_LEN + P56_PT_LEN, P56_NONCE_LEN);
	if (m->eph[0] != 0x02 && m->eph[0] != 0x03)
		return IOMT_EMALFORMED;
	return IOMT_OK;
}

int p56_req_open(const uint8_t *p, size_t len, EVP_PKEY *ttp_priv, const EVP_PKEY *ca_pub,
		 uint64_t now, struct p56_user_msg *m, EVP_PKEY **q_out)
{
	uint8_t inner[P56_REQ_INNER_MAX], body[P56_REQ_OPEN + P56_REQ_INNER_FIXED];
	struct p56_user_msg t;
	size_t ilen;
	EVP_PKEY *q = NULL;
	uint8_t slen;
	int err;

	if (!ttp_priv || !ca_pub || !m)
		return IOMT_EINVAL;
	err = p56_req_parse(p, len, &t);
	if (err)
		return err;
	ilen = len - P56_REQ_OPEN - ECIES_OVERHEAD;
	err = ecies_open(ttp_priv, p, P56_REQ_OPEN, p + P56_REQ_OPEN, len - P56_REQ_OPEN, inner);
	if (err)
		return err == IOMT_EMALFORMED || err == IOMT_ESIZE ? IOMT_EMALFORMED : err;
	slen = inner[P56_REQ_INNER_FIXED];
	memcpy(t.cert_enc, inner, ECQV_CERT_LEN);
	t.ts = iomt_load_be64(inner + ECQV_CERT_LEN);
	if (slen < P56_SIG_MIN || slen > P56_SIG_MAX || ilen != P56_REQ_INNER_FIXED + 1u + slen ||
	    ecqv_cert_decode(&t.cert, t.cert_enc, ECQV_CERT_LEN))
		err = IOMT_EMALFORMED;
	if (!err)
		err = cert_signed(&t.cert, ca_pub, now, t.ts, P56_LABEL_REQ, body,
				  req_signed(body, p, t.cert_enc, t.ts),
				  inner + P56_REQ_INNER_FIXED + 1, slen, &q);
	if (!err) {
		*m = t;
		if (q_out) {
			*q_out = q;
			q = NULL;
		}
	}
	iomt_wipe(inner, sizeof(inner));
	EVP_PKEY_free(q);
	return err;
}

int p56_fetch_build(EVP_PKEY *priv, uint64_t ts, const uint8_t nonce[P56_NONCE_LEN],
		    uint8_t *out, size_t cap, size_t *len)
{
	uint8_t q_u[P56_PT_LEN];
	struct iomt_wr w;

	if (!priv || !nonce || !len || ecies_point_of(priv, q_u))
		return IOMT_EINVAL;
	iomt_wr_init(&w, out, cap);
	iomt_wr_bytes(&w, q_u, sizeof(q_u));
	iomt_wr_u64(&w, ts);
	iomt_wr_bytes(&w, nonce, P56_NONCE_LEN);
	return finish_signed(&w, out, priv, P56_LABEL_FETCH, len);
}

int p56_fetch_verify(const uint8_t *p, size_t len, uint64_t now, struct p56_user_msg *m)
{
	struct p56_user_msg t;
	struct iomt_rd r;
	const uint8_t *sig;
	EVP_PKEY *q = NULL;
	uint8_t slen;
	int err;

	if (!p || !m)
		return IOMT_EINVAL;
	memset(&t, 0, sizeof(t));
	iomt_rd_init(&r, p, len);
	iomt_rd_bytes(&r, t.q_u, P56_PT_LEN);
	t.ts = iomt_rd_u64(&r);
	iomt_rd_bytes(&r, t.nonce, P56_NONCE_LEN);
	if (read_sig(&r, &sig, &slen))
		return IOMT_EMALFORMED;
	err = ecies_key_from_point(t.q_u, &q);
	if (!err)
		err = p56_verify(q, P56_LABEL_FETCH, p, P56_FETCH_FIXED, sig, slen);
	if (!err && !fresh(t.ts, now))
		err = IOMT_ESTATE;
	if (!err)
		*m = t;
	EVP_PKEY_free(q);
	return err;
}

/* ---- grant ---- */

int p56_grant_build(EVP_PKEY *ttp_priv, const struct p56_grant *g, uint8_t *out, size_t cap,
		    size_t *len)
{
	struct iomt_wr w;

	if (!ttp_priv || !g || !len)
		return IOMT_EINVAL;
	iomt_wr_init(&w, out, cap);
	iomt_wr_bytes(&w, g->q_u, P56_PT_LEN);
	iomt_wr_bytes(&w, g->id_a, P56_ID_LEN);
	iomt_wr_bytes(&w, g->nonce, P56_NONCE_LEN);
	iomt_wr_bytes(&w, g->h_eph, P56_HASH_LEN);
	iomt_wr_u64(&w, g->expires);
	return finish_signed(&w, out, ttp_priv, P56_LABEL_GRANT, len);
}

int p56_grant_verify(const uint8_t *p, size_t len, EVP_PKEY *ttp_pub, uint64_t now,
		     struct p56_grant *g)
{
	struct p56_grant t;
	struct iomt_rd r;
	const uint8_t *sig;
	uint8_t slen;
	int err;

	iomt_rd_init(&r, p, len);
	iomt_rd_bytes(&r, t.q_u, P56_PT_LEN);
	iomt_rd_bytes(&r, t.id_a, P56_ID_LEN);
	iomt_rd_bytes(&r, t.nonce, P56_NONCE_LEN);
	iomt_rd_bytes(&r, t.h_eph, P56_HASH_LEN);
	t.expires = iomt_rd_u64(&r);
	if (read_sig(&r, &sig, &slen))
		return IOMT_EMALFORMED;
	err = p56_verify(ttp_pub, P56_LABEL_GRANT, p, P56_GRANT_BODY, sig, slen);
	if (!err && t.expires < now)
		err = IOMT_ESTATE;
	if (!err)
		*g = t;
	return err;
}

/* ---- key agreement ---- */

int p56_transcript(const uint8_t *req, size_t req_len, const uint8_t e_m[P56_PT_LEN],
		   const uint8_t mec_cert[ECQV_CERT_LEN], uint8_t th[P56_HASH_LEN])
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ok;

	if (!m)
		return IOMT_EUNSUPP;
	ok = EVP_DigestInit_ex(m, EVP_sha256(), NULL) > 0 && EVP_DigestUpdate(m, req, req_len) > 0 &&
	     EVP_DigestUpdate(m, e_m, P56_PT_LEN) > 0 &&
	     EVP_DigestUpdate(m, mec_cert, ECQV_CERT_LEN) > 0 &&
	     EVP_DigestFinal_ex(m, th, &n) > 0 && n == P56_HASH_LEN;
	EVP_MD_CTX_free(m);
	return ok ? IOMT_OK : IOMT_EUNSUPP;
}

int p56_kdf(const uint8_t z[3][32], const uint8_t q_u[P56_PT_LEN], const uint8_t q_m[P56_PT_LEN],
	    const uint8_t e_u[P56_PT_LEN], const uint8_t e_m[P56_PT_LEN],
	    const uint8_t th[P56_HASH_LEN], struct p56_keys *k)
{
	uint8_t msg[4 * P56_PT_LEN + P56_HASH_LEN], okm[P56_OKM_LEN];
	int err;

	memcpy(msg, q_u, P56_PT_LEN);
	memcpy(msg + P56_PT_LEN, q_m, P56_PT_LEN);
	memcpy(msg + 2 * P56_PT_LEN, e_u, P56_PT_LEN);
	memcpy(msg + 3 * P56_PT_LEN, e_m, P56_PT_LEN);
	memcpy(msg + 4 * P56_PT_LEN, th, P56_HASH_LEN);
	err = iomt_kmac128(z, 3 * 32, kdf_custom, sizeof(kdf_custom) - 1, msg, sizeof(msg), okm,
			   sizeof(okm));
	if (!err) {
		memcpy(k->conf_m, okm, 16);
		memcpy(k->conf_u, okm + 16, 16);
		memcpy(k->k_enc, okm + 32, 16);
		memcpy(k->n_res, okm + 48, 13);
	}
	iomt_wipe(okm, sizeof(okm));
	return err;
}

/* z[0..2] from three ECDHs; the point encodings for the KDF. */
static int keys3(EVP_PKEY *a0, EVP_PKEY *b0, EVP_PKEY *a1, EVP_PKEY *b1, EVP_PKEY *a2,
		 EVP_PKEY *b2, EVP_PKEY *qu, EVP_PKEY *qm, EVP_PKEY *eu, EVP_PKEY *em,
		 const uint8_t th[P56_HASH_LEN], struct p56_keys *k)
{
	uint8_t z[3][32], pq_u[P56_PT_LEN], pq_m[P56_PT_LEN], pe_u[P56_PT_LEN], pe_m[P56_PT_LEN];
	int err = ecies_ecdh(a0, b0, z[0]);

	if (!err)
		err = ecies_ecdh(a1, b1, z[1]);
	if (!err)
		err = ecies_ecdh(a2, b2, z[2]);
	if (!err)
		err = ecies_point_of(qu, pq_u);
	if (!err)
		err = ecies_point_of(qm, pq_m);
	if (!err)
		err = ecies_point_of(eu, pe_u);
	if (!err)
		err = ecies_point_of(em, pe_m);
	if (!err)
		err = p56_kdf((const uint8_t(*)[32])z, pq_u, pq_m, pe_u, pe_m, th, k);
	iomt_wipe(z, sizeof(z));
	if (err)
		iomt_wipe(k, sizeof(*k));
	return err;
}

int p56_keys_user(EVP_PKEY *d_u, EVP_PKEY *e_u, EVP_PKEY *q_m, EVP_PKEY *e_m,
		  const uint8_t th[P56_HASH_LEN], struct p56_keys *k)
{
	return keys3(e_u, e_m, e_u, q_m, d_u, e_m, d_u, q_m, e_u, e_m, th, k);
}

int p56_keys_mec(EVP_PKEY *d_m, EVP_PKEY *e_m, EVP_PKEY *q_u, EVP_PKEY *e_u,
		 const uint8_t th[P56_HASH_LEN], struct p56_keys *k)
{
	return keys3(e_m, e_u, d_m, e_u, e_m, q_u, q_u, d_m, e_u, e_m, th, k);
}

int p56_results_seal(const struct p56_keys *k, const uint8_t *pt, size_t len, uint8_t *out)
{
	struct iomt_aes128 aes;
	int err = iomt_aes128_init(&aes, k->k_enc);

	if (!err)
		err = iomt_ccm_encrypt(&aes, k->n_res, sizeof(k->n_res),
				       (const uint8_t *)results_aad, sizeof(results_aad) - 1, pt,
				       len, out, out + len, P56_TAG_LEN);
	iomt_aes128_wipe(&aes);
	return err;
}

int p56_results_open(const struct p56_keys *k, const uint8_t *box, size_t len, uint8_t *pt)
{
	struct iomt_aes128 aes;
	int err;

	if (len < P56_TAG_LEN)
		return IOMT_ESIZE;
	err = iomt_aes128_init(&aes, k->k_enc);
	if (!err)
		err = iomt_ccm_decrypt(&aes, k->n_res, sizeof(k->n_res),
				       (const uint8_t *)results_aad, sizeof(results_aad) - 1, box,
				       len - P56_TAG_LEN, box + len - P56_TAG_LEN, P56_TAG_LEN, pt);
	iomt_aes128_wipe(&aes);
	return err;
}

/* ---- emergency ---- */

int p56_emerg_build(EVP_PKEY *mec_priv, const struct p56_emerg *e, uint8_t *out, size_t cap,
		    size_t *len)
{
	uint8_t enc[ECQV_CERT_LEN];
	struct iomt_wr w;

	if (!mec_priv || !e || !len || e->res_len < 1 || e->res_len > P56_RESULT_MAX ||
	    ecqv_cert_encode(&e->cert, enc))
		return IOMT_EINVAL;
	iomt_wr_init(&w, out, cap);
	iomt_wr_bytes(&w, enc, sizeof(enc));
	iomt_wr_u64(&w, e->ts);
	iomt_wr_bytes(&w, e->alert_id, P56_ID_LEN);
	iomt_wr_bytes(&w, e->id_a, P56_ID_LEN);
	iomt_wr_u16(&w, e->res_len);
	iomt_wr_bytes(&w, e->result, e->res_len);
	return finish_signed(&w, out, mec_priv, P56_LABEL_EMERG, len);
}

int p56_emerg_verify(const uint8_t *p, size_t len, const EVP_PKEY *ca_pub, uint64_t now,
		     struct p56_emerg *e, EVP_PKEY **q_out)
{
	static __thread struct p56_emerg t;	/* 1.2 KB, off the stack */
	struct iomt_rd r;
	const uint8_t *sig;
	EVP_PKEY *q = NULL;
	uint8_t slen;
	int err;

	memset(&t, 0, sizeof(t));
	iomt_rd_init(&r, p, len);
	iomt_rd_bytes(&r, t.cert_enc, ECQV_CERT_LEN);
	t.ts = iomt_rd_u64(&r);
	iomt_rd_bytes(&r, t.alert_id, P56_ID_LEN);
	iomt_rd_bytes(&r, t.id_a, P56_ID_LEN);
	t.res_len = iomt_rd_u16(&r);
	if (t.res_len < 1 || t.res_len > P56_RESULT_MAX)
		return IOMT_EMALFORMED;
	iomt_rd_bytes(&r, t.result, t.res_len);
	if (read_sig(&r, &sig, &slen) || ecqv_cert_decode(&t.cert, t.cert_enc, ECQV_CERT_LEN))
		return IOMT_EMALFORMED;
	err = cert_signed(&t.cert, ca_pub, now, t.ts, P56_LABEL_EMERG, p, (size_t)(sig - 1 - p),
			  sig, slen, &q);
	if (!err) {
		*e = t;
		if (q_out) {
			*q_out = q;
			q = NULL;
		}
	}
	EVP_PKEY_free(q);
	return err;
}

int p56_parties_build(EVP_PKEY *ttp_priv, const struct p56_parties *pa, uint8_t *out,
		      size_t cap, size_t *len)
{
	struct iomt_wr w;

	if (!ttp_priv || !pa || !len || pa->n < 1 || pa->n > P56_PARTIES_MAX)
		return IOMT_EINVAL;
	iomt_wr_init(&w, out, cap);
	iomt_wr_bytes(&w, pa->alert_id, P56_ID_LEN);
	iomt_wr_u64(&w, pa->expires);
	iomt_wr_u8(&w, pa->n);
	for (uint8_t i = 0; i < pa->n; i++) {
		iomt_wr_bytes(&w, pa->q_u[i], P56_PT_LEN);
		iomt_wr_bytes(&w, pa->handle[i], P56_HANDLE_LEN);
	}
	return finish_signed(&w, out, ttp_priv, P56_LABEL_PARTIES, len);
}

int p56_parties_verify(const uint8_t *p, size_t len, EVP_PKEY *ttp_pub, struct p56_parties *pa)
{
	struct iomt_rd r;
	const uint8_t *sig;
	uint8_t slen;
	int err;

	memset(pa, 0, sizeof(*pa));
	iomt_rd_init(&r, p, len);
	iomt_rd_bytes(&r, pa->alert_id, P56_ID_LEN);
	pa->expires = iomt_rd_u64(&r);
	pa->n = iomt_rd_u8(&r);
	if (pa->n < 1 || pa->n > P56_PARTIES_MAX)
		return IOMT_EMALFORMED;
	for (uint8_t i = 0; i < pa->n; i++) {
		iomt_rd_bytes(&r, pa->q_u[i], P56_PT_LEN);
		iomt_rd_bytes(&r, pa->handle[i], P56_HANDLE_LEN);
	}
	if (read_sig(&r, &sig, &slen))
		return IOMT_EMALFORMED;
	err = p56_verify(ttp_pub, P56_LABEL_PARTIES, p, (size_t)(sig - 1 - p), sig, slen);
	for (uint8_t i = 0; !err && i < pa->n; i++)
		if (pa->q_u[i][0] != 0x02 && pa->q_u[i][0] != 0x03)
			err = IOMT_EMALFORMED;
	if (err)
		memset(pa, 0, sizeof(*pa));
	return err;
}

int p56_party_handle(const uint8_t alert_id[P56_ID_LEN], const uint8_t cert[ECQV_CERT_LEN],
		     uint8_t handle[P56_HANDLE_LEN])
{
	uint8_t buf[sizeof(P56_LABEL_HANDLE) - 1 + P56_ID_LEN + ECQV_CERT_LEN], h[P56_HASH_LEN];
	int err;

	memcpy(buf, P56_LABEL_HANDLE, sizeof(P56_LABEL_HANDLE) - 1);
	memcpy(buf + sizeof(P56_LABEL_HANDLE) - 1, alert_id, P56_ID_LEN);
	memcpy(buf + sizeof(P56_LABEL_HANDLE) - 1 + P56_ID_LEN, cert, ECQV_CERT_LEN);
	err = p56_sha256(buf, sizeof(buf), h);
	if (!err)
		memcpy(handle, h, P56_HANDLE_LEN);
	return err;
}

/* ---- alerts ---- */

/* label || alert_id || Q_U || plaintext before sig_len */
static int alert_sig(EVP_PKEY *key, int verify, const uint8_t alert_id[P56_ID_LEN],
		     const uint8_t q_u[P56_PT_LEN], const uint8_t *body, size_t len,
		     uint8_t *sig, size_t *slen)
{
	static __thread uint8_t buf[P56_ID_LEN + P56_PT_LEN + P56_ALERT_PT_MAX];

	if (len > P56_ALERT_PT_MAX)
		return IOMT_EINVAL;
	memcpy(buf, alert_id, P56_ID_LEN);
	memcpy(buf + P56_ID_LEN, q_u, P56_PT_LEN);
	memcpy(buf + P56_ID_LEN + P56_PT_LEN, body, len);
	len += P56_ID_LEN + P56_PT_LEN;
	return verify ? p56_verify(key, P56_LABEL_ALERT, buf, len, sig, *slen)
		      : p56_sign(key, P56_LABEL_ALERT, buf, len, sig, slen);
}

int p56_alert_seal(EVP_PKEY *mec_priv, const uint8_t mec_cert[ECQV_CERT_LEN], EVP_PKEY *to_pub,
		   const struct p56_alert *a, uint8_t *out, size_t cap, size_t *len)
{
	uint8_t pt[P56_ALERT_PT_MAX], q_u[P56_PT_LEN], sig[P56_SIG_MAX];
	size_t body, slen, ptlen;
	struct iomt_wr w;
	int err;

	if (!mec_priv || !to_pub || !a || !len || a->res_len < 1 || a->res_len > P56_RESULT_MAX)
		return IOMT_EINVAL;
	err = ecies_point_of(to_pub, q_u);
	if (err)
		return err;
	iomt_wr_init(&w, pt, sizeof(pt));
	iomt_wr_bytes(&w, mec_cert, ECQV_CERT_LEN);
	iomt_wr_bytes(&w, a->id_a, P56_ID_LEN);
	iomt_wr_u64(&w, a->ts);
	iomt_wr_bytes(&w, a->ack_secret, 16);
	iomt_wr_u16(&w, a->res_len);
	iomt_wr_bytes(&w, a->result, a->res_len);
	err = iomt_wr_finish(&w, &body);
	if (!err)
		err = alert_sig(mec_priv, 0, a->alert_id, q_u, pt, body, sig, &slen);
	if (!err) {
		iomt_wr_u8(&w, (uint8_t)slen);
		iomt_wr_bytes(&w, sig, slen);
		err = iomt_wr_finish(&w, &ptlen);
	}
	if (!err && cap < P56_ID_LEN + ECIES_OVERHEAD + ptlen)
		err = IOMT_ESIZE;
	if (!err) {
		memcpy(out, a->alert_id, P56_ID_LEN);
		err = ecies_seal(to_pub, a->alert_id, P56_ID_LEN, pt, ptlen, out + P56_ID_LEN);
	}
	if (!err)
		*len = P56_ID_LEN + ECIES_OVERHEAD + ptlen;
	iomt_wipe(pt, sizeof(pt));
	return err;
}

int p56_alert_open(EVP_PKEY *priv, const EVP_PKEY *ca_pub, uint64_t now, const uint8_t *p,
		   size_t len, struct p56_alert *a)
{
	uint8_t pt[P56_ALERT_PT_MAX], enc[ECQV_CERT_LEN], q_u[P56_PT_LEN], sigc[P56_SIG_MAX];
	size_t ptlen, slen;
	const uint8_t *sig;
	struct iomt_rd r;
	EVP_PKEY *q_m = NULL;
	uint8_t sl;
	int err;

	memset(a, 0, sizeof(*a));
	if (len < P56_ID_LEN + ECIES_OVERHEAD + P56_ALERT_PT_FIXED + 1 + 1 + P56_SIG_MIN ||
	    len > P56_ALERT_MAX)
		return IOMT_ESIZE;
	ptlen = len - P56_ID_LEN - ECIES_OVERHEAD;
	memcpy(a->alert_id, p, P56_ID_LEN);
	err = ecies_open(priv, p, P56_ID_LEN, p + P56_ID_LEN, len - P56_ID_LEN, pt);
	if (!err)
		err = ecies_point_of(priv, q_u);
	if (err)
		goto out;
	iomt_rd_init(&r, pt, ptlen);
	iomt_rd_bytes(&r, enc, ECQV_CERT_LEN);
	iomt_rd_bytes(&r, a->id_a, P56_ID_LEN);
	a->ts = iomt_rd_u64(&r);
	iomt_rd_bytes(&r, a->ack_secret, 16);
	a->res_len = iomt_rd_u16(&r);
	err = IOMT_EMALFORMED;
	if (a->res_len < 1 || a->res_len > P56_RESULT_MAX)
		goto out;
	iomt_rd_bytes(&r, a->result, a->res_len);
	if (read_sig(&r, &sig, &sl) || ecqv_cert_decode(&a->mec_cert, enc, ECQV_CERT_LEN) ||
	    a->mec_cert.role != ECQV_ROLE_MEC)
		goto out;
	err = cert_key(&a->mec_cert, ca_pub, now, &q_m);
	slen = sl;
	memcpy(sigc, sig, sl);
	if (!err)
		err = alert_sig(q_m, 1, a->alert_id, q_u, pt, (size_t)(sig - 1 - pt), sigc, &slen);
out:
	EVP_PKEY_free(q_m);
	iomt_wipe(pt, sizeof(pt));
	if (err)
		memset(a, 0, sizeof(*a));
	return err;
}

int p56_ack_tag(const uint8_t ack_secret[16], const uint8_t alert_id[P56_ID_LEN],
		uint8_t tag[P56_TAG_LEN])
{
	return iomt_kmac128(ack_secret, 16, ack_custom, sizeof(ack_custom) - 1, alert_id,
			    P56_ID_LEN, tag, P56_TAG_LEN);
}

/* ---- delivered ---- */

int p56_delivered_build(EVP_PKEY *mec_priv, const struct p56_delivered *d, uint8_t *out,
			size_t cap, size_t *len)
{
	uint8_t enc[ECQV_CERT_LEN];
	struct iomt_wr w;

	if (!mec_priv || !d || !len || ecqv_cert_encode(&d->cert, enc))
		return IOMT_EINVAL;
	iomt_wr_init(&w, out, cap);
	iomt_wr_bytes(&w, enc, sizeof(enc));
	iomt_wr_u64(&w, d->ts);
	iomt_wr_bytes(&w, d->alert_id, P56_ID_LEN);
	iomt_wr_bytes(&w, d->handle, P56_HANDLE_LEN);
	return finish_signed(&w, out, mec_priv, P56_LABEL_DELIVERED, len);
}

int p56_delivered_verify(const uint8_t *p, size_t len, const EVP_PKEY *ca_pub, uint64_t now,
			 struct p56_delivered *d)
{
	struct p56_delivered t;
	struct iomt_rd r;
	const uint8_t *sig;
	EVP_PKEY *q = NULL;
	uint8_t slen;
	int err;

	memset(&t, 0, sizeof(t));
	iomt_rd_init(&r, p, len);
	iomt_rd_bytes(&r, t.cert_enc, ECQV_CERT_LEN);
	t.ts = iomt_rd_u64(&r);
	iomt_rd_bytes(&r, t.alert_id, P56_ID_LEN);
	iomt_rd_bytes(&r, t.handle, P56_HANDLE_LEN);
	if (read_sig(&r, &sig, &slen) || ecqv_cert_decode(&t.cert, t.cert_enc, ECQV_CERT_LEN))
		return IOMT_EMALFORMED;
	err = cert_signed(&t.cert, ca_pub, now, t.ts, P56_LABEL_DELIVERED, p, P56_DELIVERED_FIXED,
			  sig, slen, &q);
	if (!err)
		*d = t;
	EVP_PKEY_free(q);
	return err;
}
