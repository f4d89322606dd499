// SPDX-License-Identifier: MIT
/*
 * Seed 002 phase 2 messages (userspace/lib/s2_phase2.c): the request's byte
 * layout against a fixed vector, a request signed by another implementation,
 * round trips, every byte of a request and of a response changed, cut and
 * padded messages, expired certificates, clock skew, wrong keys and nonces,
 * and the builder's refusals.
 */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "lib/ecies.h"
#include "lib/ecqv.h"
#include "lib/s2_phase2.h"
#include "common/testutil.h"
#include "ct.h"
#include "harness.h"
#include "eckey.h"
#include "iomt_err.h"

enum {
	NOT_BEFORE = 1767225600,	/* 2026-01-01T00:00:00Z */
	NOT_AFTER = 1798761600,		/* 2027-01-01T00:00:00Z */
	NOW = NOT_BEFORE + 1000,
};

/*
 * The request vector (docs/PROTOCOL.md §4.2) uses the ECQV known answer of
 * docs/ECQV.md: its certificate, Q_CA, d_U and Q_U. ts = NOW, nonce 00..0f,
 * 3 devices, policy "study=cardio-7; retain=30d". kat_req was signed by
 * Python's `cryptography` with d_U, so the verifier is checked against an
 * implementation other than ours.
 */
static const char kat_q_ca[] = "0236c437b67f694c86be630720ed1ab472563efb8eb99558ac99cd191d4865b8fa";
static const char kat_d_u[] = "39d4b2688f043dbbfc16f8533669fd58508f6641c4c9077cae581a70dcd3a594";
static const char kat_q_u[] = "02a7837a0ff3e721200449679e961099080e293573431314e623f7109978097b7b";
static const char kat_policy[] = "study=cardio-7; retain=30d";
static const char kat_body[] =
	"01010123456789abcdef696f6d742d7474702d3030303030303170617469656e"
	"742d3030303030303432010e686f73706974616c3d4830303031000000000000"
	"000000000000000000000000000000006955b900000000006b36ec800227e33a"
	"36e874b9e8fa011c4dbcc765ff8fe54610bc75f2d939cd0921d911feeb000000"
	"006955bce8000102030405060708090a0b0c0d0e0f0003001a73747564793d63"
	"617264696f2d373b2072657461696e3d333064";
static const char kat_sig[] =
	"46"
	"30440220198c29cc9eed4375608e12c5a9fdaf2975075c9e195696a5a797177c"
	"cbfa8cdf02206f9bbea249632d1daa319e194403fb76259971d8f3e0e4748cec"
	"1631578b7943";

enum { KAT_BODY_LEN = 179, KAT_REQ_LEN = 250 };

static void kat_cert(struct ecqv_cert *cert)
{
	uint8_t body[KAT_BODY_LEN];

	ASSERT_EQ(tu_hex(kat_body, body, sizeof(body)), sizeof(body));
	ASSERT_EQ(ecqv_cert_decode(cert, body, ECQV_CERT_LEN), 0);
}

static void kat_nonce(uint8_t nonce[S2_NONCE_LEN])
{
	for (int i = 0; i < S2_NONCE_LEN; i++)
		nonce[i] = (uint8_t)i;
}

/* ---- a user registered at a fresh CA -------------------------------------- */

FIXTURE(user) {
	EVP_PKEY *ca, *ca_pub, *key, *pub;
	struct ecqv_cert cert;
	uint8_t nonce[S2_NONCE_LEN];
	uint8_t req[S2_ANALYSIS_REQ_MAX];
	size_t req_len;
};

static void register_user(EVP_PKEY *ca, EVP_PKEY *ca_pub, struct ecqv_cert *cert,
			  EVP_PKEY **key)
{
	struct ecqv_request rq;
	uint8_t r[ECQV_SCALAR_LEN];

	memset(cert, 0, sizeof(*cert));
	memcpy(cert->issuer, "iomt-ttp-0000001", ECQV_ID_LEN);
	memcpy(cert->subject, "patient-00000042", ECQV_ID_LEN);
	cert->role = ECQV_ROLE_PATIENT;
	cert->not_before = NOT_BEFORE;
	cert->not_after = NOT_AFTER;
	ASSERT_EQ(ecqv_request_new(&rq), 0);
	ASSERT_EQ(ecqv_ca_issue(ca, rq.ru, cert, r), 0);
	ASSERT_EQ(ecqv_reconstruct_private(&rq, cert, r, ca_pub, NOW, key), 0);
	ecqv_request_wipe(&rq);
}

FIXTURE_SETUP(user)
{
	self->ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ASSERT_NONNULL(self->ca);
	self->ca_pub = tu_pub_only(self->ca);
	ASSERT_NONNULL(self->ca_pub);
	register_user(self->ca, self->ca_pub, &self->cert, &self->key);
	ASSERT_EQ(ecqv_public_from_cert(&self->cert, self->ca_pub, NOW, &self->pub), 0);
	memset(self->nonce, 0xa5, sizeof(self->nonce));
	ASSERT_EQ(s2_analysis_req_build(self->key, &self->cert, NOW, self->nonce, 4,
					"cardiology", self->req, sizeof(self->req),
					&self->req_len), 0);
}

FIXTURE_TEARDOWN(user)
{
	EVP_PKEY_free(self->pub);
	EVP_PKEY_free(self->key);
	EVP_PKEY_free(self->ca_pub);
	EVP_PKEY_free(self->ca);
}

/* ---- the request ------------------------------------------------------------ */

TEST(request_encoding_vector)
{
	EVP_PKEY *key = tu_ec_key(kat_d_u, kat_q_u), *q_u = tu_ec_key(NULL, kat_q_u);
	EVP_PKEY *ca_pub = tu_ec_key(NULL, kat_q_ca);
	uint8_t want[KAT_BODY_LEN], nonce[S2_NONCE_LEN], out[S2_ANALYSIS_REQ_MAX];
	struct ecqv_cert cert;
	struct s2_analysis_req q;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	size_t len;

	kat_cert(&cert);
	kat_nonce(nonce);
	ASSERT_EQ(tu_hex(kat_body, want, sizeof(want)), sizeof(want));
	ASSERT_EQ(s2_analysis_req_build(key, &cert, NOW, nonce, 3, kat_policy, out,
					sizeof(out), &len), 0);
	ASSERT_MEMEQ(out, want, sizeof(want));
	ASSERT_EQ(len, KAT_BODY_LEN + 1 + out[KAT_BODY_LEN]);
	/* The signature, checked by OpenSSL alone over label || body. */
	ASSERT_EQ(EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, q_u), 1);
	ASSERT_EQ(EVP_DigestVerifyUpdate(m, S2_ANALYSIS_REQ_LABEL,
					 strlen(S2_ANALYSIS_REQ_LABEL)), 1);
	ASSERT_EQ(EVP_DigestVerifyUpdate(m, out, KAT_BODY_LEN), 1);
	ASSERT_EQ(EVP_DigestVerifyFinal(m, out + KAT_BODY_LEN + 1, out[KAT_BODY_LEN]), 1);
	ASSERT_EQ(s2_analysis_req_parse_verify(out, len, ca_pub, NOW, &q), 0);
	EVP_MD_CTX_free(m);
	EVP_PKEY_free(key);
	EVP_PKEY_free(q_u);
	EVP_PKEY_free(ca_pub);
}

TEST(request_signed_elsewhere_verifies)
{
	EVP_PKEY *ca_pub = tu_ec_key(NULL, kat_q_ca);
	uint8_t req[KAT_REQ_LEN], nonce[S2_NONCE_LEN];
	struct ecqv_cert cert;
	struct s2_analysis_req q;

	ASSERT_EQ(tu_hex(kat_body, req, sizeof(req)), KAT_BODY_LEN);
	ASSERT_EQ(tu_hex(kat_sig, req + KAT_BODY_LEN, sizeof(req) - KAT_BODY_LEN),
		  KAT_REQ_LEN - KAT_BODY_LEN);
	ASSERT_EQ(s2_analysis_req_parse_verify(req, sizeof(req), ca_pub, NOW, &q), 0);
	kat_cert(&cert);
	kat_nonce(nonce);
	EXPECT_MEMEQ(&q.cert.subject, cert.subject, ECQV_ID_LEN);
	EXPECT_EQ(q.ts, NOW);
	EXPECT_MEMEQ(q.nonce, nonce, S2_NONCE_LEN);
	EXPECT_EQ(q.ndevices, 3);
	EXPECT_STREQ(q.policy, kat_policy);
	EVP_PKEY_free(ca_pub);
}

TEST_F(user, request_round_trip)
{
	struct s2_analysis_req q;

	ASSERT_EQ(s2_analysis_req_parse_verify(self->req, self->req_len, self->ca_pub, NOW, &q), 0);
	EXPECT_MEMEQ(q.cert.subject, self->cert.subject, ECQV_ID_LEN);
	EXPECT_EQ(q.cert.role, ECQV_ROLE_PATIENT);
	EXPECT_EQ(q.ts, NOW);
	EXPECT_MEMEQ(q.nonce, self->nonce, S2_NONCE_LEN);
	EXPECT_EQ(q.ndevices, 4);
	EXPECT_STREQ(q.policy, "cardiology");
	EXPECT_EQ(ERR_peek_error(), 0);
}

TEST_F(user, request_limits)
{
	char policy[S2_POLICY_MAX + 2];
	uint8_t out[S2_ANALYSIS_REQ_MAX];
	struct s2_analysis_req q;
	size_t len;

	memset(policy, 'p', S2_POLICY_MAX);
	policy[S2_POLICY_MAX] = '\0';
	ASSERT_EQ(s2_analysis_req_build(self->key, &self->cert, NOW, self->nonce,
					S2_NDEVICES_MAX, policy, out, sizeof(out), &len), 0);
	ASSERT_EQ(s2_analysis_req_parse_verify(out, len, self->ca_pub, NOW, &q), 0);
	EXPECT_EQ(q.ndevices, S2_NDEVICES_MAX);
	EXPECT_EQ(strlen(q.policy), S2_POLICY_MAX);
	/* No policy at all. */
	ASSERT_EQ(s2_analysis_req_build(self->key, &self->cert, NOW, self->nonce, 1, NULL,
					out, sizeof(out), &len), 0);
	ASSERT_EQ(s2_analysis_req_parse_verify(out, len, self->ca_pub, NOW, &q), 0);
	EXPECT_STREQ(q.policy, "");
}

TEST_F(user, build_refuses)
{
	char policy[S2_POLICY_MAX + 2];
	uint8_t out[S2_ANALYSIS_REQ_MAX];
	size_t len = 99;

	memset(policy, 'p', S2_POLICY_MAX + 1);
	policy[S2_POLICY_MAX + 1] = '\0';
	EXPECT_EQ(s2_analysis_req_build(self->key, &self->cert, NOW, self->nonce, 1, policy,
					out, sizeof(out), &len), IOMT_EINVAL);
	EXPECT_EQ(len, 0);
	EXPECT_EQ(s2_analysis_req_build(self->key, &self->cert, NOW, self->nonce, 1, "a\nb",
					out, sizeof(out), &len), IOMT_EINVAL);
	EXPECT_EQ(s2_analysis_req_build(self->key, &self->cert, NOW, self->nonce, 1, "caf\xc3\xa9",
					out, sizeof(out), &len), IOMT_EINVAL);
	EXPECT_EQ(s2_analysis_req_build(self->key, &self->cert, NOW, self->nonce, 0, "",
					out, sizeof(out), &len), IOMT_EINVAL);
	EXPECT_EQ(s2_analysis_req_build(self->key, &self->cert, NOW, self->nonce, 65, "",
					out, sizeof(out), &len), IOMT_EINVAL);
	EXPECT_EQ(s2_analysis_req_build(self->pub, &self->cert, NOW, self->nonce, 1, "",
					out, sizeof(out), &len), IOMT_EINVAL);
	EXPECT_EQ(s2_analysis_req_build(self->key, &self->cert, NOW, self->nonce, 1, "",
					out, S2_ANALYSIS_REQ_MIN - 10, &len), IOMT_ESIZE);
	EXPECT_EQ(s2_analysis_req_build(self->key, &self->cert, NOW, self->nonce, 1, "",
					out, S2_REQ_FIXED_LEN + 2, &len), IOMT_ESIZE);
	EXPECT_EQ(ERR_peek_error(), 0);
}

/* Every byte, two bit positions each: refused, never accepted as another request. */
TEST_F(user, request_every_byte_flipped)
{
	struct s2_analysis_req q;

	for (size_t i = 0; i < self->req_len; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			int err;

			self->req[i] ^= (uint8_t)(1 << bit);
			err = s2_analysis_req_parse_verify(self->req, self->req_len,
							   self->ca_pub, NOW, &q);
			self->req[i] ^= (uint8_t)(1 << bit);
			if (err == 0)
				TH_LOG("byte %zu bit %d accepted", i, bit);
			ASSERT_TRUE(err == IOMT_EMALFORMED || err == IOMT_EAUTH ||
				    err == IOMT_ESTATE);
		}
	}
	ASSERT_EQ(s2_analysis_req_parse_verify(self->req, self->req_len, self->ca_pub, NOW, &q), 0);
	EXPECT_EQ(ERR_peek_error(), 0);
}

TEST_F(user, request_cut_and_padded)
{
	struct s2_analysis_req q;
	uint8_t big[S2_ANALYSIS_REQ_MAX + 2];

	memcpy(big, self->req, self->req_len);
	big[self->req_len] = 0;
	for (size_t len = 0; len < self->req_len; len++)
		ASSERT_EQ(s2_analysis_req_parse_verify(self->req, len, self->ca_pub, NOW, &q),
			  IOMT_EMALFORMED);
	EXPECT_EQ(s2_analysis_req_parse_verify(big, self->req_len + 1, self->ca_pub, NOW, &q),
		  IOMT_EMALFORMED);
	EXPECT_EQ(s2_analysis_req_parse_verify(big, sizeof(big), self->ca_pub, NOW, &q),
		  IOMT_EMALFORMED);
}

/* Layout errors are named before any signature work. */
TEST_F(user, request_fields_out_of_range)
{
	struct s2_analysis_req q;
	size_t nd = ECQV_CERT_LEN + 8 + S2_NONCE_LEN, pol = S2_REQ_FIXED_LEN;

	self->req[nd + 1] = 0;		/* ndevices 0 */
	EXPECT_EQ(s2_analysis_req_parse_verify(self->req, self->req_len, self->ca_pub, NOW, &q),
		  IOMT_EMALFORMED);
	self->req[nd + 1] = 65;
	EXPECT_EQ(s2_analysis_req_parse_verify(self->req, self->req_len, self->ca_pub, NOW, &q),
		  IOMT_EMALFORMED);
	self->req[nd + 1] = 4;
	self->req[pol + 3] = '\n';	/* a control character in the policy */
	EXPECT_EQ(s2_analysis_req_parse_verify(self->req, self->req_len, self->ca_pub, NOW, &q),
		  IOMT_EMALFORMED);
	self->req[pol + 3] = 0x80;
	EXPECT_EQ(s2_analysis_req_parse_verify(self->req, self->req_len, self->ca_pub, NOW, &q),
		  IOMT_EMALFORMED);
}

TEST_F(user, request_certificate_window)
{
	struct s2_analysis_req q;
	uint8_t out[S2_ANALYSIS_REQ_MAX];
	size_t len;

	/* A request made (and dated) when the certificate has expired. */
	ASSERT_EQ(s2_analysis_req_build(self->key, &self->cert, NOT_AFTER + 1, self->nonce, 1,
					"", out, sizeof(out), &len), 0);
	EXPECT_EQ(s2_analysis_req_parse_verify(out, len, self->ca_pub, NOT_AFTER + 1, &q),
		  IOMT_ESTATE);
	ASSERT_EQ(s2_analysis_req_build(self->key, &self->cert, NOT_BEFORE - 1, self->nonce, 1,
					"", out, sizeof(out), &len), 0);
	EXPECT_EQ(s2_analysis_req_parse_verify(out, len, self->ca_pub, NOT_BEFORE - 1, &q),
		  IOMT_ESTATE);
	/* Both bounds are inclusive. */
	ASSERT_EQ(s2_analysis_req_build(self->key, &self->cert, NOT_AFTER, self->nonce, 1,
					"", out, sizeof(out), &len), 0);
	EXPECT_EQ(s2_analysis_req_parse_verify(out, len, self->ca_pub, NOT_AFTER, &q), 0);
}

TEST_F(user, request_clock_skew)
{
	struct s2_analysis_req q;

	EXPECT_EQ(s2_analysis_req_parse_verify(self->req, self->req_len, self->ca_pub,
					       NOW + S2_TS_SKEW_S, &q), 0);
	EXPECT_EQ(s2_analysis_req_parse_verify(self->req, self->req_len, self->ca_pub,
					       NOW - S2_TS_SKEW_S, &q), 0);
	EXPECT_EQ(s2_analysis_req_parse_verify(self->req, self->req_len, self->ca_pub,
					       NOW + S2_TS_SKEW_S + 1, &q), IOMT_ESTATE);
	EXPECT_EQ(s2_analysis_req_parse_verify(self->req, self->req_len, self->ca_pub,
					       NOW - S2_TS_SKEW_S - 1, &q), IOMT_ESTATE);
}

TEST_F(user, request_wrong_keys)
{
	EVP_PKEY *other_ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *stranger = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	uint8_t out[S2_ANALYSIS_REQ_MAX];
	struct s2_analysis_req q;
	size_t len;

	ASSERT_TRUE(other_ca && stranger && p384);
	/* Another CA's key yields another Q_U: the signature does not hold. */
	EXPECT_EQ(s2_analysis_req_parse_verify(self->req, self->req_len, other_ca, NOW, &q),
		  IOMT_EAUTH);
	EXPECT_EQ(s2_analysis_req_parse_verify(self->req, self->req_len, p384, NOW, &q),
		  IOMT_EINVAL);
	/* Somebody else's key with this certificate. */
	ASSERT_EQ(s2_analysis_req_build(stranger, &self->cert, NOW, self->nonce, 1, "", out,
					sizeof(out), &len), 0);
	EXPECT_EQ(s2_analysis_req_parse_verify(out, len, self->ca_pub, NOW, &q), IOMT_EAUTH);
	EXPECT_EQ(ERR_peek_error(), 0);
	EVP_PKEY_free(other_ca);
	EVP_PKEY_free(stranger);
	EVP_PKEY_free(p384);
}

/* ---- the response ----------------------------------------------------------- */

struct resp_set {
	uint8_t id_a[S2_ID_LEN];
	uint8_t did[S2_NDEVICES_MAX][S2_ID_LEN], dk[S2_NDEVICES_MAX][S2_KEY_LEN];
};

static void resp_fill(struct resp_set *s, uint64_t seed)
{
	struct tu_rng r = { seed };

	tu_fill(&r, s, sizeof(*s));
}

TEST_F(user, response_round_trip)
{
	static const uint16_t counts[] = { 1, 3, 17, S2_NDEVICES_MAX };
	static struct resp_set in, out;
	uint8_t box[S2_ANALYSIS_RESP_MAX];
	size_t len;
	uint16_t n;

	resp_fill(&in, 77);
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		ASSERT_EQ(s2_analysis_resp_seal(self->pub, self->nonce, in.id_a, counts[c],
						(const uint8_t(*)[S2_ID_LEN])in.did,
						(const uint8_t(*)[S2_KEY_LEN])in.dk, box, &len), 0);
		ASSERT_EQ(len, S2_ANALYSIS_RESP_LEN(counts[c]));
		ASSERT_EQ(s2_analysis_resp_open(self->key, self->nonce, box, len, out.id_a, &n,
						out.did, out.dk, S2_NDEVICES_MAX), 0);
		ASSERT_EQ(n, counts[c]);
		ASSERT_MEMEQ(out.id_a, in.id_a, S2_ID_LEN);
		ASSERT_MEMEQ(out.did, in.did, (size_t)n * S2_ID_LEN);
		ASSERT_MEMEQ(out.dk, in.dk, (size_t)n * S2_KEY_LEN);
	}
}

static void seal3(FIXTURE_DATA(user) *self, struct resp_set *in, uint8_t *box, size_t *len)
{
	resp_fill(in, 3);
	ASSERT_EQ(s2_analysis_resp_seal(self->pub, self->nonce, in->id_a, 3,
					(const uint8_t(*)[S2_ID_LEN])in->did,
					(const uint8_t(*)[S2_KEY_LEN])in->dk, box, len), 0);
}

TEST_F(user, response_every_byte_flipped)
{
	static struct resp_set in, out;
	uint8_t box[S2_ANALYSIS_RESP_MAX];
	size_t len;
	uint16_t n = 9;

	seal3(self, &in, box, &len);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			int err;

			box[i] ^= (uint8_t)(1 << bit);
			err = s2_analysis_resp_open(self->key, self->nonce, box, len, out.id_a,
						    &n, out.did, out.dk, S2_NDEVICES_MAX);
			box[i] ^= (uint8_t)(1 << bit);
			ASSERT_TRUE(err == IOMT_EAUTH || err == IOMT_EMALFORMED);
			ASSERT_EQ(n, 0);
			ASSERT_TRUE(iomt_ct_is_zero(out.dk, sizeof(out.dk)));
		}
	}
}

TEST_F(user, response_wrong_nonce_key_size)
{
	static struct resp_set in, out;
	uint8_t box[S2_ANALYSIS_RESP_MAX + 1], nonce[S2_NONCE_LEN];
	size_t len;
	uint16_t n;

	seal3(self, &in, box, &len);
	memcpy(nonce, self->nonce, sizeof(nonce));
	nonce[15] ^= 1;
	EXPECT_EQ(s2_analysis_resp_open(self->key, nonce, box, len, out.id_a, &n, out.did,
					out.dk, S2_NDEVICES_MAX), IOMT_EAUTH);
	EXPECT_EQ(s2_analysis_resp_open(self->ca, self->nonce, box, len, out.id_a, &n,
					out.did, out.dk, S2_NDEVICES_MAX), IOMT_EAUTH);
	/* Room for two devices, three sent. */
	EXPECT_EQ(s2_analysis_resp_open(self->key, self->nonce, box, len, out.id_a, &n,
					out.did, out.dk, 2), IOMT_ESIZE);
	/* Lengths that fit no device count. */
	EXPECT_EQ(s2_analysis_resp_open(self->key, self->nonce, box, len - 1, out.id_a, &n,
					out.did, out.dk, S2_NDEVICES_MAX), IOMT_ESIZE);
	EXPECT_EQ(s2_analysis_resp_open(self->key, self->nonce, box, len + 1, out.id_a, &n,
					out.did, out.dk, S2_NDEVICES_MAX), IOMT_ESIZE);
	EXPECT_EQ(s2_analysis_resp_open(self->key, self->nonce, box, S2_ANALYSIS_RESP_LEN(0),
					out.id_a, &n, out.did, out.dk, S2_NDEVICES_MAX),
		  IOMT_ESIZE);
	EXPECT_EQ(s2_analysis_resp_open(self->key, self->nonce, box, S2_ANALYSIS_RESP_MAX + 1,
					out.id_a, &n, out.did, out.dk, S2_NDEVICES_MAX),
		  IOMT_ESIZE);
	/* A whole entry less: the tag moves, nothing opens. */
	EXPECT_EQ(s2_analysis_resp_open(self->key, self->nonce, box, len - S2_RESP_ENTRY_LEN,
					out.id_a, &n, out.did, out.dk, S2_NDEVICES_MAX),
		  IOMT_EAUTH);
	EXPECT_EQ(s2_analysis_resp_open(self->key, self->nonce, box, len, out.id_a, &n, out.did,
					out.dk, S2_NDEVICES_MAX), 0);
}

/* A correctly sealed plaintext whose count disagrees with its length. */
TEST_F(user, response_count_mismatch)
{
	static struct resp_set out;
	uint8_t pt[S2_ID_LEN + 2 + 2 * S2_RESP_ENTRY_LEN], box[sizeof(pt) + ECIES_OVERHEAD];
	uint16_t n;

	memset(pt, 0x11, sizeof(pt));
	pt[S2_ID_LEN] = 0;
	pt[S2_ID_LEN + 1] = 3;	/* says 3, carries 2 */
	ASSERT_EQ(ecies_seal(self->pub, self->nonce, S2_NONCE_LEN, pt, sizeof(pt), box), 0);
	EXPECT_EQ(s2_analysis_resp_open(self->key, self->nonce, box, sizeof(box), out.id_a, &n,
					out.did, out.dk, S2_NDEVICES_MAX), IOMT_EMALFORMED);
	pt[S2_ID_LEN + 1] = 0;	/* says 0 */
	ASSERT_EQ(ecies_seal(self->pub, self->nonce, S2_NONCE_LEN, pt, sizeof(pt), box), 0);
	EXPECT_EQ(s2_analysis_resp_open(self->key, self->nonce, box, sizeof(box), out.id_a, &n,
					out.did, out.dk, S2_NDEVICES_MAX), IOMT_EMALFORMED);
	pt[S2_ID_LEN + 1] = 2;
	ASSERT_EQ(ecies_seal(self->pub, self->nonce, S2_NONCE_LEN, pt, sizeof(pt), box), 0);
	EXPECT_EQ(s2_analysis_resp_open(self->key, self->nonce, box, sizeof(box), out.id_a, &n,
					out.did, out.dk, S2_NDEVICES_MAX), 0);
	EXPECT_EQ(n, 2);
}

TEST_F(user, response_seal_refuses)
{
	static struct resp_set in;
	uint8_t box[S2_ANALYSIS_RESP_MAX];
	size_t len = 5;

	EXPECT_EQ(s2_analysis_resp_seal(self->pub, self->nonce, in.id_a, 0,
					(const uint8_t(*)[S2_ID_LEN])in.did,
					(const uint8_t(*)[S2_KEY_LEN])in.dk, box, &len),
		  IOMT_EINVAL);
	EXPECT_EQ(len, 0);
	EXPECT_EQ(s2_analysis_resp_seal(self->pub, self->nonce, in.id_a, S2_NDEVICES_MAX + 1,
					(const uint8_t(*)[S2_ID_LEN])in.did,
					(const uint8_t(*)[S2_KEY_LEN])in.dk, box, &len),
		  IOMT_EINVAL);
	EXPECT_EQ(s2_analysis_resp_seal(NULL, self->nonce, in.id_a, 1,
					(const uint8_t(*)[S2_ID_LEN])in.did,
					(const uint8_t(*)[S2_KEY_LEN])in.dk, box, &len),
		  IOMT_EINVAL);
}
