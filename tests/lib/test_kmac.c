/* SPDX-License-Identifier: MIT */
/* cSHAKE128 and KMAC128: NIST SP 800-185 samples, and KMAC128 against
 * OpenSSL's EVP_MAC over random keys, messages, customisations and lengths. */
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include "harness.h"
#include "testutil.h"
#include "sp800_185.h"
#include "iomt_err.h"

static const char *tagged = "My Tagged Application";

static void seq(uint8_t *p, size_t n, uint8_t start)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(start + i);
}

/* cSHAKE samples #1 and #2 (NIST "cSHAKE_samples.pdf"). */
TEST(cshake128_samples)
{
	uint8_t data[200], want[32], got[32];
	struct iomt_shake128 s;

	seq(data, 4, 0);
	ASSERT_EQ(iomt_cshake128_init(&s, "", 0, "Email Signature", 15), IOMT_OK);
	iomt_shake128_absorb(&s, data, 4);
	iomt_shake128_squeeze(&s, got, 32);
	tu_hex("C1C36925B6409A04F1B504FCBCA9D82B4017277CB5ED2B2065FC1D3814D5AAF5", want, 32);
	ASSERT_MEMEQ(got, want, 32);

	seq(data, 200, 0);
	ASSERT_EQ(iomt_cshake128_init(&s, "", 0, "Email Signature", 15), IOMT_OK);
	iomt_shake128_absorb(&s, data, 200);
	iomt_shake128_squeeze(&s, got, 32);
	tu_hex("C5221D50E4F822D96A2E8881A961420F294B7B24FE3D2094BAED2C6524CC166B", want, 32);
	ASSERT_MEMEQ(got, want, 32);
}

TEST(cshake128_empty_names_is_shake128)
{
	uint8_t a[40], b[40];
	struct iomt_shake128 s;

	ASSERT_EQ(iomt_cshake128_init(&s, NULL, 0, NULL, 0), IOMT_OK);
	iomt_shake128_absorb(&s, "abc", 3);
	iomt_shake128_squeeze(&s, a, sizeof(a));
	iomt_shake128("abc", 3, b, sizeof(b));
	ASSERT_MEMEQ(a, b, sizeof(a));
}

/* KMAC samples #1..#3 (NIST "KMAC_samples.pdf"), KMAC128, L = 256. */
TEST(kmac128_samples)
{
	static const char *want_hex[3] = {
		"E5780B0D3EA6F7D3A429C5706AA43A00FADBD7D49628839E3187243F456EE14E",
		"3B1FBA963CD8B0B59E8C1A6D71888B7143651AF8BA0A7070C0979E2811324AA5",
		"1F5B4E6CCA02209E0DCB5CA635B89A15E271ECC760071DFD805FAA38F9729230",
	};
	uint8_t key[32], data[200], want[32], got[32];

	seq(key, 32, 0x40);
	seq(data, 200, 0);
	for (int i = 0; i < 3; i++) {
		size_t dlen = i < 2 ? 4 : 200;
		const char *c = i ? tagged : "";

		ASSERT_EQ(iomt_kmac128(key, 32, c, strlen(c), data, dlen, got, 32), IOMT_OK);
		tu_hex(want_hex[i], want, 32);
		ASSERT_MEMEQ(got, want, 32);
	}
}

static void openssl_kmac128(const uint8_t *key, size_t klen, uint8_t *cust, size_t clen,
			    const uint8_t *msg, size_t mlen, uint8_t *out, size_t outlen, int xof)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "KMAC-128", NULL);
	EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM p[4];
	size_t n = 0, olen = outlen;

	p[n++] = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &olen);
	p[n++] = OSSL_PARAM_construct_int(OSSL_MAC_PARAM_XOF, &xof);
	if (clen)
		p[n++] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_CUSTOM, cust, clen);
	p[n] = OSSL_PARAM_construct_end();
	if (!c || !EVP_MAC_init(c, key, klen, p) || !EVP_MAC_update(c, msg, mlen) ||
	    !EVP_MAC_final(c, out, &olen, outlen)) {
		TH_LOG("OpenSSL KMAC-128 failed");
		ASSERT_TRUE(0);
	}
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(mac);
}

TEST(kmac128_matches_openssl)
{
	struct tu_rng r = { 0x4b4d4143 };
	uint8_t key[200], cust[300], msg[601], want[300], got[300];

	for (size_t mlen = 0; mlen <= 600; mlen++) {
		/* OpenSSL requires 4..512-byte keys and outputs of at least 4 bytes. */
		size_t klen = 4 + tu_next(&r) % 197, clen = tu_next(&r) % 300;
		size_t outlen = 4 + tu_next(&r) % 296;
		int xof = (int)(mlen % 5 == 0);
		struct iomt_shake128 s;

		tu_fill(&r, key, klen);
		tu_fill(&r, cust, clen);
		tu_fill(&r, msg, mlen);
		openssl_kmac128(key, klen, cust, clen, msg, mlen, want, outlen, xof);
		ASSERT_EQ(iomt_kmac128_init(&s, key, klen, cust, clen), IOMT_OK);
		ASSERT_EQ(iomt_kmac128_update(&s, msg, mlen / 2), IOMT_OK);
		ASSERT_EQ(iomt_kmac128_update(&s, msg + mlen / 2, mlen - mlen / 2), IOMT_OK);
		if (xof)
			ASSERT_EQ(iomt_kmac128_final_xof(&s, got, outlen), IOMT_OK);
		else
			ASSERT_EQ(iomt_kmac128_final(&s, got, outlen), IOMT_OK);
		ASSERT_MEMEQ(got, want, outlen);
	}
}

TEST(kmac128_length_and_customisation_bind)
{
	uint8_t a[64], b[64];

	ASSERT_EQ(iomt_kmac128("k", 1, "A", 1, "m", 1, a, 32), IOMT_OK);
	ASSERT_EQ(iomt_kmac128("k", 1, "A", 1, "m", 1, b, 64), IOMT_OK);
	ASSERT_TRUE(memcmp(a, b, 32) != 0);
	ASSERT_EQ(iomt_kmac128("k", 1, "B", 1, "m", 1, b, 32), IOMT_OK);
	ASSERT_TRUE(memcmp(a, b, 32) != 0);
}

TEST(kmac128_rejects_null_with_length)
{
	uint8_t out[16];
	struct iomt_shake128 s;

	ASSERT_EQ(iomt_kmac128(NULL, 4, "", 0, "", 0, out, 16), IOMT_EINVAL);
	ASSERT_EQ(iomt_kmac128("k", 1, NULL, 3, "", 0, out, 16), IOMT_EINVAL);
	ASSERT_EQ(iomt_kmac128("k", 1, "", 0, NULL, 2, out, 16), IOMT_EINVAL);
	ASSERT_EQ(iomt_kmac128_init(&s, "k", 1, "", 0), IOMT_OK);
	ASSERT_EQ(iomt_kmac128_final(&s, NULL, 16), IOMT_EINVAL);
}
