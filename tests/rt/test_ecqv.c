// SPDX-License-Identifier: MIT
/*
 * ECQV implicit certificates: round trip into ECDSA and ECDH, every byte of
 * a certificate tampered with, tampered r, bad request points, malformed
 * encodings, the validity window, and two known-answer sets: our own vector
 * (docs/ECQV.md) and the CAMP/SCMS SEC 4 vectors for the core arithmetic.
 *
 * The .c is included, not linked, to reach the static RNG hook (to inject
 * k_U and k) and the SEC 4 formulas that the CAMP vectors exercise alone.
 */
#include "lib/ecqv.c"

#include <openssl/x509.h>

#include "common/testutil.h"
#include "harness.h"
#include "eckey.h"

enum {
	NOT_BEFORE = 1767225600,	/* 2026-01-01T00:00:00Z */
	NOT_AFTER = 1798761600,		/* 2027-01-01T00:00:00Z */
	NOW = NOT_BEFORE + 1000,
};

static void unhex(uint8_t *out, size_t n, const char *hex)
{
	ASSERT_EQ(tu_hex(hex, out, n), n);
}

static void make_template(struct ecqv_cert *c, const char *subject, uint8_t role)
{
	static const char attr[] = "hospital=H0001";

	memset(c, 0, sizeof(*c));
	c->serial = 0x0123456789abcdefULL;
	memcpy(c->issuer, "iomt-ttp-0000001", ECQV_ID_LEN);
	memcpy(c->subject, subject, strnlen(subject, ECQV_ID_LEN));
	c->role = role;
	c->attr_len = sizeof(attr) - 1;
	memcpy(c->attr, attr, sizeof(attr) - 1);
	c->not_before = NOT_BEFORE;
	c->not_after = NOT_AFTER;
}

/* A P-256 key pair from a fixed scalar (the KAT's d_CA). */
static EVP_PKEY *key_from_hex(const char *hex)
{
	struct ecqv_ctx c;
	uint8_t d_buf[ECQV_SCALAR_LEN];
	BIGNUM *d;
	EC_POINT *q;
	EVP_PKEY *k = NULL;

	unhex(d_buf, sizeof(d_buf), hex);
	ASSERT_EQ(ctx_init(&c), 0);
	q = EC_POINT_new(c.grp);
	ASSERT_EQ(scalar_decode(&c, &d, d_buf), 0);
	ASSERT_TRUE(EC_POINT_mul(c.grp, q, d, NULL, NULL, c.bn));
	ASSERT_EQ(pkey_build(&c, q, d, &k), 0);
	BN_clear_free(d);
	EC_POINT_free(q);
	ctx_free(&c);
	return k;
}

static void pub33(const EVP_PKEY *k, uint8_t out[ECQV_POINT_LEN])
{
	struct ecqv_ctx c;
	EC_POINT *q;

	ASSERT_EQ(ctx_init(&c), 0);
	q = EC_POINT_new(c.grp);
	ASSERT_EQ(pkey_pub(&c, k, q), 0);
	ASSERT_EQ(point_encode(&c, out, q), 0);
	EC_POINT_free(q);
	ctx_free(&c);
}

static void priv32(const EVP_PKEY *k, uint8_t out[ECQV_SCALAR_LEN])
{
	BIGNUM *d = NULL;

	ASSERT_TRUE(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &d));
	ASSERT_EQ(BN_bn2binpad(d, out, ECQV_SCALAR_LEN), ECQV_SCALAR_LEN);
	BN_clear_free(d);
}

/* 1 if a signature by signer verifies under verifier, 0 if not. */
static int ecdsa_verifies(EVP_PKEY *signer, EVP_PKEY *verifier)
{
	static const uint8_t msg[] = "consent: release record 17 to store 3";
	uint8_t sig[80];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int rc;

	ASSERT_NONNULL(m);
	ASSERT_EQ(EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, signer), 1);
	ASSERT_EQ(EVP_DigestSign(m, sig, &siglen, msg, sizeof(msg)), 1);
	EVP_MD_CTX_reset(m);
	ASSERT_EQ(EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, verifier), 1);
	rc = EVP_DigestVerify(m, sig, siglen, msg, sizeof(msg));
	EVP_MD_CTX_free(m);
	ERR_clear_error();
	return rc == 1;
}

static void ecdh(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t out[32])
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(priv, NULL);
	size_t len = 32;

	ASSERT_NONNULL(c);
	ASSERT_EQ(EVP_PKEY_derive_init(c), 1);
	ASSERT_EQ(EVP_PKEY_derive_set_peer(c, peer), 1);
	ASSERT_EQ(EVP_PKEY_derive(c, out, &len), 1);
	ASSERT_EQ(len, 32);
	EVP_PKEY_CTX_free(c);
}

/* ---- one certificate issued by a fresh CA --------------------------------- */

FIXTURE(ecqv) {
	EVP_PKEY *ca, *ca_pub, *q_pub;
	struct ecqv_request req;
	struct ecqv_cert cert;
	uint8_t r[ECQV_SCALAR_LEN];
	uint8_t enc[ECQV_CERT_LEN];
};

FIXTURE_SETUP(ecqv)
{
	self->ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ASSERT_NONNULL(self->ca);
	self->ca_pub = tu_pub_only(self->ca);
	ASSERT_NONNULL(self->ca_pub);
	ASSERT_EQ(ecqv_request_new(&self->req), 0);
	make_template(&self->cert, "patient-00000042", ECQV_ROLE_PATIENT);
	ASSERT_EQ(ecqv_ca_issue(self->ca, self->req.ru, &self->cert, self->r), 0);
	ASSERT_EQ(ecqv_cert_encode(&self->cert, self->enc), 0);
	ASSERT_EQ(ecqv_public_from_cert(&self->cert, self->ca_pub, NOW, &self->q_pub), 0);
}

FIXTURE_TEARDOWN(ecqv)
{
	EVP_PKEY_free(self->q_pub);
	EVP_PKEY_free(self->ca_pub);
	EVP_PKEY_free(self->ca);
	ecqv_request_wipe(&self->req);
}

TEST_F(ecqv, round_trip_ecdsa_ecdh)
{
	struct ecqv_cert got;
	uint8_t enc2[ECQV_CERT_LEN], shared1[32], shared2[32];
	struct ecqv_request req2;
	struct ecqv_cert cert2;
	uint8_t r2[ECQV_SCALAR_LEN];
	EVP_PKEY *key = NULL, *key2 = NULL, *pub2 = NULL;

	/* What goes on the wire comes back identical. */
	ASSERT_EQ(ecqv_cert_decode(&got, self->enc, sizeof(self->enc)), 0);
	ASSERT_EQ(ecqv_cert_encode(&got, enc2), 0);
	ASSERT_MEMEQ(enc2, self->enc, ECQV_CERT_LEN);
	ASSERT_EQ(got.serial, self->cert.serial);
	ASSERT_EQ(got.role, ECQV_ROLE_PATIENT);
	ASSERT_MEMEQ(got.subject, "patient-00000042", ECQV_ID_LEN);

	/* U's reconstructed key pair is the key everybody derives. */
	ASSERT_EQ(ecqv_reconstruct_private(&self->req, &got, self->r, self->ca_pub,
					   NOW, &key), 0);
	ASSERT_NONNULL(key);
	ASSERT_EQ(EVP_PKEY_eq(key, self->q_pub), 1);
	ASSERT_TRUE(ecdsa_verifies(key, self->q_pub));

	/* The full CA key serves as Q_CA as well as the public-only copy. */
	ASSERT_EQ(ecqv_public_from_cert(&got, self->ca, NOW, &pub2), 0);
	ASSERT_EQ(EVP_PKEY_eq(pub2, self->q_pub), 1);
	EVP_PKEY_free(pub2);
	pub2 = NULL;

	/* A doctor from the same CA; ECDH both ways agrees (phases 5/6). */
	ASSERT_EQ(ecqv_request_new(&req2), 0);
	make_template(&cert2, "doctor-000000007", ECQV_ROLE_DOCTOR);
	ASSERT_EQ(ecqv_ca_issue(self->ca, req2.ru, &cert2, r2), 0);
	ASSERT_EQ(ecqv_reconstruct_private(&req2, &cert2, r2, self->ca_pub, NOW, &key2), 0);
	ASSERT_EQ(ecqv_public_from_cert(&cert2, self->ca_pub, NOW, &pub2), 0);
	ecdh(key, pub2, shared1);
	ecdh(key2, self->q_pub, shared2);
	ASSERT_MEMEQ(shared1, shared2, sizeof(shared1));

	ecqv_request_wipe(&req2);
	EVP_PKEY_free(pub2);
	EVP_PKEY_free(key2);
	EVP_PKEY_free(key);
}

TEST_F(ecqv, tampered_cert_every_byte)
{
	static const uint8_t masks[] = { 0x01, 0x80 };
	int malformed = 0, auth = 0, window = 0;

	for (size_t i = 0; i < ECQV_CERT_LEN; i++) {
		for (size_t m = 0; m < sizeof(masks); m++) {
			uint8_t bad[ECQV_CERT_LEN];
			struct ecqv_cert c;
			EVP_PKEY *key = NULL, *pub = NULL;
			int rc;

			memcpy(bad, self->enc, sizeof(bad));
			bad[i] ^= masks[m];
			rc = ecqv_cert_decode(&c, bad, sizeof(bad));
			if (rc) {
				EXPECT_EQ(rc, IOMT_EMALFORMED);
				malformed++;
				continue;
			}
			rc = ecqv_reconstruct_private(&self->req, &c, self->r,
						      self->ca_pub, NOW, &key);
			if (rc != IOMT_EAUTH && rc != IOMT_ESTATE)
				TH_LOG("byte %zu mask %02x: rc %d", i, masks[m], rc);
			ASSERT_TRUE(rc == IOMT_EAUTH || rc == IOMT_ESTATE);
			ASSERT_NULL(key);
			auth += rc == IOMT_EAUTH;
			window += rc == IOMT_ESTATE;
			/* A relying party cannot tell, but gets a key nobody holds. */
			if (ecqv_public_from_cert(&c, self->ca_pub, NOW, &pub) == 0)
				ASSERT_NE(EVP_PKEY_eq(pub, self->q_pub), 1);
			EVP_PKEY_free(pub);
		}
	}
	TH_LOG("%d flips: %d malformed, %d failed the key check, %d outside the window",
	       malformed + auth + window, malformed, auth, window);
	/* Every identity, serial and attribute byte reaches the key check. */
	ASSERT_GE(auth, 2 * (8 + 2 * ECQV_ID_LEN + 14));
}

TEST_F(ecqv, tampered_fields_in_struct)
{
	for (int f = 0; f < 8; f++) {
		struct ecqv_cert c = self->cert;
		EVP_PKEY *key = NULL, *pub = NULL;

		switch (f) {
		case 0: c.serial++; break;
		case 1: c.issuer[0] ^= 1; break;
		case 2: c.subject[15] ^= 1; break;
		case 3: c.role = ECQV_ROLE_DOCTOR; break;
		case 4: c.attr[0] ^= 1; break;
		case 5: c.attr_len--; break;
		case 6: c.not_before--; break;
		case 7: c.not_after++; break;
		}
		ASSERT_EQ(ecqv_reconstruct_private(&self->req, &c, self->r, self->ca_pub,
						   NOW, &key), IOMT_EAUTH);
		ASSERT_EQ(ecqv_public_from_cert(&c, self->ca_pub, NOW, &pub), 0);
		ASSERT_NE(EVP_PKEY_eq(pub, self->q_pub), 1);
		EVP_PKEY_free(pub);
	}
}

TEST_F(ecqv, tampered_r)
{
	static const char *const out_of_range[] = {
		"0000000000000000000000000000000000000000000000000000000000000000",
		/* n itself */
		"ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
		"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	};
	uint8_t r[ECQV_SCALAR_LEN];
	EVP_PKEY *key = NULL;

	for (size_t i = 0; i < ECQV_SCALAR_LEN; i++) {
		memcpy(r, self->r, sizeof(r));
		r[i] ^= 0x01;
		ASSERT_EQ(ecqv_reconstruct_private(&self->req, &self->cert, r,
						   self->ca_pub, NOW, &key), IOMT_EAUTH);
		ASSERT_NULL(key);
	}
	for (size_t i = 0; i < sizeof(out_of_range) / sizeof(out_of_range[0]); i++) {
		unhex(r, sizeof(r), out_of_range[i]);
		ASSERT_EQ(ecqv_reconstruct_private(&self->req, &self->cert, r,
						   self->ca_pub, NOW, &key), IOMT_EMALFORMED);
	}
}

TEST_F(ecqv, wrong_ca_or_request)
{
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	struct ecqv_request req2;
	EVP_PKEY *key = NULL, *pub = NULL;
	uint8_t r[ECQV_SCALAR_LEN];
	struct ecqv_cert c;

	memcpy(&c, &self->cert, sizeof(c));	/* padding included */
	ASSERT_NONNULL(other);
	ASSERT_NONNULL(p384);
	ASSERT_EQ(ecqv_reconstruct_private(&self->req, &self->cert, self->r, other,
					   NOW, &key), IOMT_EAUTH);
	ASSERT_EQ(ecqv_public_from_cert(&self->cert, other, NOW, &pub), 0);
	ASSERT_NE(EVP_PKEY_eq(pub, self->q_pub), 1);
	EVP_PKEY_free(pub);

	/* Somebody else's k_U: the check fails, no key comes out. */
	ASSERT_EQ(ecqv_request_new(&req2), 0);
	ASSERT_EQ(ecqv_reconstruct_private(&req2, &self->cert, self->r, self->ca_pub,
					   NOW, &key), IOMT_EAUTH);
	ASSERT_NULL(key);
	/* A k_U out of range is the caller's bug. */
	memset(req2.k, 0, sizeof(req2.k));
	ASSERT_EQ(ecqv_reconstruct_private(&req2, &self->cert, self->r, self->ca_pub,
					   NOW, &key), IOMT_EINVAL);

	/* Keys on another curve are refused, for the CA and for readers. */
	ASSERT_EQ(ecqv_public_from_cert(&self->cert, p384, NOW, &pub), IOMT_EINVAL);
	ASSERT_EQ(ecqv_ca_issue(p384, self->req.ru, &c, r), IOMT_EINVAL);
	ASSERT_EQ(ecqv_ca_issue(self->ca_pub, self->req.ru, &c, r), IOMT_EINVAL);
	ASSERT_MEMEQ(&c, &self->cert, sizeof(c));

	EVP_PKEY_free(p384);
	EVP_PKEY_free(other);
}

TEST_F(ecqv, validity_window)
{
	EVP_PKEY *key = NULL, *pub = NULL;
	static const uint64_t refused[] = { 0, NOT_BEFORE - 1, NOT_AFTER + 1, UINT64_MAX };
	static const uint64_t accepted[] = { NOT_BEFORE, NOT_AFTER };

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		ASSERT_EQ(ecqv_cert_check_time(&self->cert, refused[i]), IOMT_ESTATE);
		ASSERT_EQ(ecqv_public_from_cert(&self->cert, self->ca_pub, refused[i],
						&pub), IOMT_ESTATE);
		ASSERT_EQ(ecqv_reconstruct_private(&self->req, &self->cert, self->r,
						   self->ca_pub, refused[i], &key),
			  IOMT_ESTATE);
		ASSERT_NULL(pub);
		ASSERT_NULL(key);
	}
	/* Both bounds are inclusive. */
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		ASSERT_EQ(ecqv_reconstruct_private(&self->req, &self->cert, self->r,
						   self->ca_pub, accepted[i], &key), 0);
		EVP_PKEY_free(key);
		key = NULL;
	}
}

TEST_F(ecqv, subjects_get_independent_keys)
{
	struct ecqv_request req2;
	struct ecqv_cert c2;
	uint8_t r2[ECQV_SCALAR_LEN], d1[32], d2[32];
	EVP_PKEY *k1 = NULL, *k2 = NULL, *p2 = NULL;

	ASSERT_EQ(ecqv_request_new(&req2), 0);
	ASSERT_NE(memcmp(req2.k, self->req.k, sizeof(req2.k)), 0);
	make_template(&c2, "patient-00000043", ECQV_ROLE_PATIENT);
	ASSERT_EQ(ecqv_ca_issue(self->ca, req2.ru, &c2, r2), 0);
	ASSERT_EQ(ecqv_reconstruct_private(&self->req, &self->cert, self->r,
					   self->ca_pub, NOW, &k1), 0);
	ASSERT_EQ(ecqv_reconstruct_private(&req2, &c2, r2, self->ca_pub, NOW, &k2), 0);
	ASSERT_EQ(ecqv_public_from_cert(&c2, self->ca_pub, NOW, &p2), 0);

	ASSERT_NE(EVP_PKEY_eq(k1, k2), 1);
	priv32(k1, d1);
	priv32(k2, d2);
	ASSERT_NE(memcmp(d1, d2, sizeof(d1)), 0);
	ASSERT_TRUE(ecdsa_verifies(k2, p2));
	ASSERT_FALSE(ecdsa_verifies(k1, p2));
	ASSERT_FALSE(ecdsa_verifies(k2, self->q_pub));
	/* Cross-wiring the two issuances fails the key check. */
	ASSERT_EQ(ecqv_reconstruct_private(&self->req, &c2, r2, self->ca_pub, NOW, &k1),
		  IOMT_EAUTH);

	iomt_wipe(d1, sizeof(d1));
	iomt_wipe(d2, sizeof(d2));
	ecqv_request_wipe(&req2);
	EVP_PKEY_free(p2);
	EVP_PKEY_free(k2);
}

/* ---- the CA and the decoder refuse bad input ------------------------------ */

/* Compressed encodings that are no point of P-256 (x = 1 has no square root). */
static const char *const bad_points[] = {
	"020000000000000000000000000000000000000000000000000000000000000001",
	"000000000000000000000000000000000000000000000000000000000000000000",
	"046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
	"05ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
	/* x = p and x = p + 5 (which would be x = 5, on the curve, mod p) */
	"02ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
	"03ffffffff00000001000000000000000000000001000000000000000000000004",
};

TEST(ca_refuses_bad_request)
{
	EVP_PKEY *ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct ecqv_request req;
	struct ecqv_cert c, orig;
	uint8_t ru[ECQV_POINT_LEN], r[ECQV_SCALAR_LEN];

	ASSERT_NONNULL(ca);
	make_template(&c, "device-000000001", ECQV_ROLE_DEVICE);
	memcpy(&orig, &c, sizeof(c));	/* padding included */
	for (size_t i = 0; i < sizeof(bad_points) / sizeof(bad_points[0]); i++) {
		unhex(ru, sizeof(ru), bad_points[i]);
		ASSERT_EQ(ecqv_ca_issue(ca, ru, &c, r), IOMT_EMALFORMED);
		ASSERT_MEMEQ(&c, &orig, sizeof(c));
	}

	/* A template the CA must not sign. */
	ASSERT_EQ(ecqv_request_new(&req), 0);
	for (int f = 0; f < 4; f++) {
		c = orig;
		switch (f) {
		case 0: c.role = 0; break;
		case 1: c.role = ECQV_ROLE_OTHER + 1; break;
		case 2: c.attr_len = ECQV_ATTR_MAX + 1; break;
		case 3: c.not_before = c.not_after + 1; break;
		}
		ASSERT_EQ(ecqv_ca_issue(ca, req.ru, &c, r), IOMT_EINVAL);
	}
	c = orig;
	ASSERT_EQ(ecqv_ca_issue(ca, req.ru, &c, r), 0);
	ASSERT_EQ(c.version, ECQV_VERSION);
	ASSERT_EQ(c.curve, ECQV_CURVE_P256);
	ecqv_request_wipe(&req);
	EVP_PKEY_free(ca);
}

TEST_F(ecqv, decode_refuses_malformed)
{
	uint8_t bad[ECQV_CERT_LEN + 1];
	struct ecqv_cert c, orig;
	enum { OFF_ROLE = 42, OFF_ATTR_LEN = 43, OFF_ATTR = 44, OFF_NB = 76,
	       OFF_NA = 84, OFF_PU = 92 };

	memset(&c, 0xa5, sizeof(c));
	memcpy(&orig, &c, sizeof(c));	/* padding included */
	ASSERT_EQ(ecqv_cert_decode(&c, NULL, ECQV_CERT_LEN), IOMT_EMALFORMED);
	ASSERT_EQ(ecqv_cert_decode(&c, self->enc, 0), IOMT_EMALFORMED);
	ASSERT_EQ(ecqv_cert_decode(&c, self->enc, ECQV_CERT_LEN - 1), IOMT_EMALFORMED);
	memcpy(bad, self->enc, ECQV_CERT_LEN);
	bad[ECQV_CERT_LEN] = 0;
	ASSERT_EQ(ecqv_cert_decode(&c, bad, ECQV_CERT_LEN + 1), IOMT_EMALFORMED);

	for (int f = 0; f < 13; f++) {
		memcpy(bad, self->enc, ECQV_CERT_LEN);
		switch (f) {
		case 0: bad[0] = ECQV_VERSION + 1; break;
		case 1: bad[1] = ECQV_CURVE_P256 + 1; break;
		case 2: bad[OFF_ROLE] = 0; break;
		case 3: bad[OFF_ROLE] = ECQV_ROLE_OTHER + 1; break;
		case 4: bad[OFF_ATTR_LEN] = ECQV_ATTR_MAX + 1; break;
		case 5: bad[OFF_ATTR + ECQV_ATTR_MAX - 1] = 1; break;	/* padding */
		case 6: /* not_before after not_after */
			memcpy(bad + OFF_NB, self->enc + OFF_NA, 8);
			memcpy(bad + OFF_NA, self->enc + OFF_NB, 8);
			break;
		default:
			unhex(bad + OFF_PU, ECQV_POINT_LEN, bad_points[f - 7]);
			break;
		}
		ASSERT_EQ(ecqv_cert_decode(&c, bad, ECQV_CERT_LEN), IOMT_EMALFORMED);
		ASSERT_MEMEQ(&c, &orig, sizeof(c));
	}

	/* The encoder refuses what the decoder would. */
	c = self->cert;
	c.attr_len = ECQV_ATTR_MAX + 1;
	ASSERT_EQ(ecqv_cert_encode(&c, bad), IOMT_EMALFORMED);
	c = self->cert;
	c.pu[0] = 0x04;
	ASSERT_EQ(ecqv_cert_encode(&c, bad), IOMT_EMALFORMED);
	/* ...and ignores whatever lies past attr_len. */
	c = self->cert;
	memset(c.attr + c.attr_len, 0xee, ECQV_ATTR_MAX - c.attr_len);
	ASSERT_EQ(ecqv_cert_encode(&c, bad), 0);
	ASSERT_MEMEQ(bad, self->enc, ECQV_CERT_LEN);
}

/* ---- randomness ------------------------------------------------------------ */

static const uint8_t *hook_queue[4];
static size_t hook_next, hook_calls;

static int hook_from_queue(uint8_t *buf, size_t len)
{
	hook_calls++;
	if (len != ECQV_SCALAR_LEN || !hook_queue[hook_next])
		return IOMT_EUNSUPP;
	memcpy(buf, hook_queue[hook_next++], len);
	return IOMT_OK;
}

static int hook_constant(uint8_t *buf, size_t len)
{
	hook_calls++;
	memset(buf, hook_next ? 0xff : 0x00, len);
	return IOMT_OK;
}

TEST(rand_failure_and_rejection)
{
	struct ecqv_request a, b;

	ASSERT_EQ(ecqv_request_new(&a), 0);
	ASSERT_EQ(ecqv_request_new(&b), 0);
	ASSERT_NE(memcmp(a.k, b.k, sizeof(a.k)), 0);
	ASSERT_NE(memcmp(a.ru, b.ru, sizeof(a.ru)), 0);

	/* The RNG fails: the error comes back, nothing is half-written. */
	memset(&b, 0x5a, sizeof(b));
	memcpy(&a, &b, sizeof(a));
	hook_next = 0;
	hook_queue[0] = NULL;
	ecqv_rand_hook = hook_from_queue;
	ASSERT_EQ(ecqv_request_new(&b), IOMT_EUNSUPP);
	ASSERT_MEMEQ(&a, &b, sizeof(a));

	/* Zero and all-ones are outside [1, n-1]: redrawn, then given up on. */
	for (hook_next = 0; hook_next < 2; hook_next++) {
		hook_calls = 0;
		ecqv_rand_hook = hook_constant;
		ASSERT_EQ(ecqv_request_new(&b), IOMT_EUNSUPP);
		ASSERT_EQ(hook_calls, ECQV_DRAWS_MAX);
	}
	ecqv_rand_hook = NULL;
}

/* ---- known answers ----------------------------------------------------------- */

/* docs/ECQV.md, "Test vector"; computed independently of OpenSSL. */
static const char kat_d_ca[] =
	"b5d945f365351192047dc6a88014a4bb2e4f72c4aa4ff63e7fb4704053623607";
static const char kat_q_ca[] =
	"0236c437b67f694c86be630720ed1ab472563efb8eb99558ac99cd191d4865b8fa";
static const char kat_k_u[] =
	"7bc23410f9f4f12167623556420105fec6f587a3b6e7e1494c0cf8f38581a8f3";
static const char kat_r_u[] =
	"027d9c450cf5944d22b1655976a081067109311a1f0d8dc7c2c38dcde16ca91b40";
static const char kat_k[] =
	"1646fc2d5fa74d187f019a169b6cdabbacfc0cf33de1b94834dce8f9bee03dd9";
static const char kat_cert[] =
	"0101" "0123456789abcdef"
	"696f6d742d7474702d30303030303031" "70617469656e742d3030303030303432"
	"01" "0e" "686f73706974616c3d4830303031" "000000000000000000000000000000000000"
	"000000006955b900" "000000006b36ec80"
	"0227e33a36e874b9e8fa011c4dbcc765ff8fe54610bc75f2d939cd0921d911feeb";
static const char kat_e[] =
	"06fe342b4b5c64b1233198a927e0654a6529a991d8b7bab70e688dda0ccf9f6b";
static const char kat_r[] =
	"2efce4667e52f21d2c518ad945db12066548ea37a972c8bfbd7cb9dd58454db1";
static const char kat_d_u[] =
	"39d4b2688f043dbbfc16f8533669fd58508f6641c4c9077cae581a70dcd3a594";
static const char kat_q_u[] =
	"02a7837a0ff3e721200449679e961099080e293573431314e623f7109978097b7b";

TEST(known_answer)
{
	uint8_t k_u[32], k[32], want_cert[ECQV_CERT_LEN], want[ECQV_POINT_LEN];
	uint8_t got[ECQV_POINT_LEN], r[32], want_r[32], d[32], e_buf[32];
	struct ecqv_request req;
	struct ecqv_cert cert, dec;
	uint8_t enc[ECQV_CERT_LEN];
	struct ecqv_ctx c;
	BIGNUM *e;
	EVP_PKEY *ca = key_from_hex(kat_d_ca), *key = NULL, *pub = NULL;

	unhex(k_u, sizeof(k_u), kat_k_u);
	unhex(k, sizeof(k), kat_k);
	unhex(want_cert, sizeof(want_cert), kat_cert);
	hook_queue[0] = k_u;
	hook_queue[1] = k;
	hook_queue[2] = NULL;
	hook_next = 0;
	ecqv_rand_hook = hook_from_queue;

	pub33(ca, got);
	unhex(want, sizeof(want), kat_q_ca);
	ASSERT_MEMEQ(got, want, ECQV_POINT_LEN);

	ASSERT_EQ(ecqv_request_new(&req), 0);
	ASSERT_MEMEQ(req.k, k_u, 32);
	unhex(want, sizeof(want), kat_r_u);
	ASSERT_MEMEQ(req.ru, want, ECQV_POINT_LEN);

	make_template(&cert, "patient-00000042", ECQV_ROLE_PATIENT);
	ASSERT_EQ(ecqv_ca_issue(ca, req.ru, &cert, r), 0);
	ASSERT_EQ(hook_next, 2);
	ecqv_rand_hook = NULL;
	ASSERT_EQ(ecqv_cert_encode(&cert, enc), 0);
	ASSERT_MEMEQ(enc, want_cert, ECQV_CERT_LEN);
	unhex(want_r, sizeof(want_r), kat_r);
	ASSERT_MEMEQ(r, want_r, 32);

	ASSERT_EQ(ctx_init(&c), 0);
	e = BN_new();
	ASSERT_EQ(hash_to_e(&c, e, enc, sizeof(enc)), 0);
	ASSERT_EQ(BN_bn2binpad(e, e_buf, 32), 32);
	unhex(d, sizeof(d), kat_e);
	ASSERT_MEMEQ(e_buf, d, 32);
	BN_free(e);
	ctx_free(&c);

	/* U decodes what arrived and reconstructs. */
	ASSERT_EQ(ecqv_cert_decode(&dec, want_cert, sizeof(want_cert)), 0);
	ASSERT_EQ(ecqv_reconstruct_private(&req, &dec, want_r, ca, NOW, &key), 0);
	priv32(key, got);
	unhex(d, sizeof(d), kat_d_u);
	ASSERT_MEMEQ(got, d, 32);
	pub33(key, got);
	unhex(want, sizeof(want), kat_q_u);
	ASSERT_MEMEQ(got, want, ECQV_POINT_LEN);
	ASSERT_EQ(ecqv_public_from_cert(&dec, ca, NOW, &pub), 0);
	pub33(pub, got);
	ASSERT_MEMEQ(got, want, ECQV_POINT_LEN);

	EVP_PKEY_free(pub);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ca);
}

/*
 * CAMP LLC / SCMS "implicit.txt" vectors (SEC 4 on P-256 with SHA-256,
 * Cert_U = tbsCert || P_U): they pin Hn as the leftmost 255 bits and the
 * three formulas independently of our certificate encoding.
 */
struct camp {
	const char *k, *p_u, *cert, *r, *d_u, *q_u;
};

static const char camp_k_u[] =
	"1384c31d6982d52bca3bed8a7e60f52fecdab44e5c0ea166815a8159e09ffb42";
static const char camp_r_u[] =
	"03f45a99137b1bb2c150d6d8cf7292ca07da68c003daa766a9af7f67f5ee916828";
static const char camp_d_ca[] =
	"97d1368e8c07a54f66c9dce284ba76caf4178206614f809a4eb43cb3106aa60e";
static const char camp_q_ca[] =
	"023bb8ffd19b25ee1bb939cd4935fbfa8fbaadba64843338a95595a70ed7479b70";

static const struct camp camp_vectors[] = {
	{
		"e2f9cbcec3f28f7dfbef044732c41119816c62909fb720b091fb8f380f1b70dc",
		"024a1890e30a584208dad3838d0c5cecb1ed6b01d48893c684c59908f5b38e3d82",
		"54686973206973206120746573742100"
		"024a1890e30a584208dad3838d0c5cecb1ed6b01d48893c684c59908f5b38e3d82",
		"1fa86893a1aabe8a79f63360f4b6d5617380b4d84b8c260dd8d3d64163c874fd",
		"c8599eca52b58d691b2bb609cdb53ddd9f49c0d635ab652ec79c546914590274",
		"026e89d7c0f910aaa4ad3137ebe01ef781c0bab6748318d66fe714471f7f860eb2",
	}, {
		"3396da2ecbfc6e5f231e2c80eb27ab84f09dd5e724f8652ade86e60bc800ead7",
		"036694d1f99a18cbe8035e053b2e56c12eecb94e9d5dba88e07e5b50cbe309103e",
		"54686973206973206120746573742100"
		"036694d1f99a18cbe8035e053b2e56c12eecb94e9d5dba88e07e5b50cbe309103e",
		"001cf7456a157a90fcea0634699e7a3644febfb86c119e6a9686928b8e3f7ef0",
		"c9ccc8e83ab985c436a8bc09c0caa8a5ac627dd7bc9336a5e8ab81b77d3a031d",
		"038ed40e9601beeb146a4a0ab96d20ee0fe4ca1e389397f2b1cc67ad9f5b0f579e",
	},
};

static BIGNUM *scalar_hex(const struct ecqv_ctx *c, const char *hex)
{
	uint8_t buf[ECQV_SCALAR_LEN];
	BIGNUM *x = NULL;

	unhex(buf, sizeof(buf), hex);
	ASSERT_EQ(scalar_decode(c, &x, buf), 0);
	return x;
}

static EC_POINT *point_hex(const struct ecqv_ctx *c, const char *hex)
{
	uint8_t buf[ECQV_POINT_LEN];
	EC_POINT *p = EC_POINT_new(c->grp);

	unhex(buf, sizeof(buf), hex);
	ASSERT_NONNULL(p);
	ASSERT_EQ(point_decode(c, p, buf), 0);
	return p;
}

static void expect_scalar(const BIGNUM *x, const char *hex)
{
	uint8_t got[ECQV_SCALAR_LEN], want[ECQV_SCALAR_LEN];

	unhex(want, sizeof(want), hex);
	ASSERT_EQ(BN_bn2binpad(x, got, sizeof(got)), ECQV_SCALAR_LEN);
	ASSERT_MEMEQ(got, want, sizeof(got));
}

static void expect_point(const struct ecqv_ctx *c, const EC_POINT *p, const char *hex)
{
	uint8_t got[ECQV_POINT_LEN], want[ECQV_POINT_LEN];

	unhex(want, sizeof(want), hex);
	ASSERT_EQ(point_encode(c, got, p), 0);
	ASSERT_MEMEQ(got, want, sizeof(got));
}

TEST(camp_scms_vectors)
{
	struct ecqv_ctx c;

	ASSERT_EQ(ctx_init(&c), 0);
	for (size_t i = 0; i < sizeof(camp_vectors) / sizeof(camp_vectors[0]); i++) {
		const struct camp *v = &camp_vectors[i];
		uint8_t cert[16 + ECQV_POINT_LEN];
		BIGNUM *k_u = scalar_hex(&c, camp_k_u), *d_ca = scalar_hex(&c, camp_d_ca);
		BIGNUM *k = scalar_hex(&c, v->k), *e = BN_new(), *r = BN_new(), *d_u = BN_new();
		EC_POINT *r_u = point_hex(&c, camp_r_u), *q_ca = point_hex(&c, camp_q_ca);
		EC_POINT *p_u = EC_POINT_new(c.grp), *q_u = EC_POINT_new(c.grp);

		ASSERT_TRUE(e && r && d_u && p_u && q_u);
		/* CA */
		ASSERT_EQ(formula_pu(&c, p_u, r_u, k), 0);
		expect_point(&c, p_u, v->p_u);
		unhex(cert, sizeof(cert), v->cert);
		ASSERT_EQ(hash_to_e(&c, e, cert, sizeof(cert)), 0);
		ASSERT_EQ(scalar_mul_add(&c, r, e, k, d_ca), 0);
		expect_scalar(r, v->r);
		/* U */
		ASSERT_EQ(scalar_mul_add(&c, d_u, e, k_u, r), 0);
		expect_scalar(d_u, v->d_u);
		/* anyone */
		ASSERT_EQ(formula_qu(&c, q_u, e, p_u, q_ca), 0);
		expect_point(&c, q_u, v->q_u);

		EC_POINT_free(q_u);
		EC_POINT_free(p_u);
		EC_POINT_free(q_ca);
		EC_POINT_free(r_u);
		BN_free(d_u);
		BN_free(r);
		BN_free(e);
		BN_free(k);
		BN_free(d_ca);
		BN_free(k_u);
	}
	ctx_free(&c);
}
