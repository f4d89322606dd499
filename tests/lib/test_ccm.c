/* SPDX-License-Identifier: MIT */
/* AES-128-CCM: RFC 3610 packet vectors, SP 800-38C examples, a differential
 * test against OpenSSL over every length, tampering and bad parameters, run
 * once per AES implementation. */
#include <stdlib.h>
#include <openssl/evp.h>
#include "harness.h"
#include "testutil.h"
#include "ct.h"
#include "ccm.h"
#include "iomt_err.h"

/* Fixed-seed PRNG (splitmix64): reproducible inputs. */
/* Fixed-seed inputs and hex vectors: tests/common/testutil.h. */
static struct tu_rng prng;
#define unhex(s, out) tu_hex(s, out, sizeof(out))

/* ---- OpenSSL reference ---- */

static EVP_CIPHER_CTX *ossl_start(int enc, const uint8_t key[16], const uint8_t *nonce,
				  size_t nonce_len, const uint8_t *aad, size_t aad_len,
				  const uint8_t *tag, size_t tag_len, size_t len)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n;

	if (!c ||
	    EVP_CipherInit_ex(c, EVP_aes_128_ccm(), NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, (int)nonce_len, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, (int)tag_len, (void *)(uintptr_t)tag) != 1 ||
	    EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc) != 1 ||
	    EVP_CipherUpdate(c, NULL, &n, NULL, (int)len) != 1 ||
	    (aad_len && EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) != 1)) {
		EVP_CIPHER_CTX_free(c);
		return NULL;
	}
	return c;
}

static int ossl_encrypt(const uint8_t key[16], const uint8_t *nonce, size_t nonce_len,
			const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t len,
			uint8_t *ct, uint8_t *tag, size_t tag_len)
{
	static const uint8_t empty[1];
	EVP_CIPHER_CTX *c = ossl_start(1, key, nonce, nonce_len, aad, aad_len, NULL, tag_len, len);
	int n, ok;

	if (!c)
		return 0;
	ok = EVP_EncryptUpdate(c, ct, &n, len ? pt : empty, (int)len) == 1 &&
	     EVP_EncryptFinal_ex(c, ct, &n) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, (int)tag_len, tag) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok;
}

/* 1 if the tag verifies (pt filled), 0 if not. */
static int ossl_decrypt(const uint8_t key[16], const uint8_t *nonce, size_t nonce_len,
			const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t len,
			const uint8_t *tag, size_t tag_len, uint8_t *pt)
{
	static const uint8_t empty[1];
	EVP_CIPHER_CTX *c = ossl_start(0, key, nonce, nonce_len, aad, aad_len, tag, tag_len, len);
	int n, ok;

	if (!c)
		return -1;
	ok = EVP_DecryptUpdate(c, pt, &n, len ? ct : empty, (int)len) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok;
}

/* ---- fixture: every test on each AES implementation ---- */

FIXTURE(ccm) {
	struct iomt_aes128 k;
};
FIXTURE_VARIANT(ccm) {
	int hw;
};
FIXTURE_VARIANT_ADD(ccm, portable) { .hw = 0 };
FIXTURE_VARIANT_ADD(ccm, aesni) { .hw = 1 };
FIXTURE_SETUP(ccm)
{
	if (iomt_aes_set_hw(variant->hw) == IOMT_EUNSUPP)
		SKIP(return, "this CPU has no AES-NI");
	ASSERT_EQ(iomt_aes_hw_active(), variant->hw);
	prng.s = 0x63636d;  /* "ccm" */
}
FIXTURE_TEARDOWN(ccm)
{
	iomt_aes128_wipe(&self->k);
}

/* ---- published vectors ---- */

struct ccm_vector {
	const char *key, *nonce, *aad, *pt, *ct_tag;
	size_t tag_len;
};

/* Encrypts and decrypts one vector; ct_tag is ciphertext || tag. */
static void check_vector(struct iomt_aes128 *k, const struct ccm_vector *v, const char *name)
{
	uint8_t key[16], nonce[16], aad[64], pt[64], want[80], ct[64], tag[16], out[64];
	size_t nlen = unhex(v->nonce, nonce), alen = unhex(v->aad, aad);
	size_t len = unhex(v->pt, pt), wlen = unhex(v->ct_tag, want);

	ASSERT_EQ(unhex(v->key, key), 16);
	ASSERT_EQ(wlen, len + v->tag_len);
	ASSERT_EQ(iomt_aes128_init(k, key), IOMT_OK);
	ASSERT_EQ(iomt_ccm_encrypt(k, nonce, nlen, aad, alen, pt, len, ct, tag, v->tag_len),
		  IOMT_OK);
	if (memcmp(ct, want, len) || memcmp(tag, want + len, v->tag_len))
		TH_LOG("%s", name);
	ASSERT_MEMEQ(ct, want, len);
	ASSERT_MEMEQ(tag, want + len, v->tag_len);
	memset(out, 0xee, sizeof(out));
	ASSERT_EQ(iomt_ccm_decrypt(k, nonce, nlen, aad, alen, want, len, want + len, v->tag_len,
				   out), IOMT_OK);
	ASSERT_MEMEQ(out, pt, len);
}

/* RFC 3610 section 8, packet vectors #1-#24 (M = 8 and 10, AAD of 8 and 12
 * bytes, payload 19-25 bytes, 13-byte nonce: L = 2). */
static const struct ccm_vector rfc3610[24] = {
	{ "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", "00000003020100A0A1A2A3A4A5", "0001020304050607",
	  "08090A0B0C0D0E0F101112131415161718191A1B1C1D1E",
	  "588C979A61C663D2F066D0C2C0F989806D5F6B61DAC384 17E8D12CFDF926E0", 8 },
	{ "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", "00000004030201A0A1A2A3A4A5", "0001020304050607",
	  "08090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
	  "72C91A36E135F8CF291CA894085C87E3CC15C439C9E43A3B A091D56E10400916", 8 },
	{ "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", "00000005040302A0A1A2A3A4A5", "0001020304050607",
	  "08090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F20",
	  "51B1E5F44A197D1DA46B0F8E2D282AE871E838BB64DA859657 4ADAA76FBD9FB0C5", 8 },
	{ "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", "00000006050403A0A1A2A3A4A5",
	  "000102030405060708090A0B", "0C0D0E0F101112131415161718191A1B1C1D1E",
	  "A28C6865939A9A79FAAA5C4C2A9D4A91CDAC8C 96C861B9C9E61EF1", 8 },
	{ "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", "00000007060504A0A1A2A3A4A5",
	  "000102030405060708090A0B", "0C0D0E0F101112131415161718191A1B1C1D1E1F",
	  "DCF1FB7B5D9E23FB9D4E131253658AD86EBDCA3E 51E83F077D9C2D93", 8 },
	{ "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", "00000008070605A0A1A2A3A4A5",
	  "000102030405060708090A0B", "0C0D0E0F101112131415161718191A1B1C1D1E1F20",
	  "6FC1B011F006568B5171A42D953D469B2570A4BD87 405A0443AC91CB94", 8 },
	{ "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", "00000009080706A0A1A2A3A4A5", "0001020304050607",
	  "08090A0B0C0D0E0F101112131415161718191A1B1C1D1E",
	  "0135D1B2C95F41D5D1D4FEC185D166B8094E999DFED96C 048C56602C97ACBB7490", 10 },
	{ "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", "0000000A090807A0A1A2A3A4A5", "0001020304050607",
	  "08090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
	  "7B75399AC0831DD2F0BBD75879A2FD8F6CAE6B6CD9B7DB24 C17B4433F434963F34B4", 10 },
	{ "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", "0000000B0A0908A0A1A2A3A4A5", "0001020304050607",
	  "08090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F20",
	  "82531A60CC24945A4B8279181AB5C84DF21CE7F9B73F42E197 EA9C07E56B5EB17E5F4E", 10 },
	{ "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", "0000000C0B0A09A0A1A2A3A4A5",
	  "000102030405060708090A0B", "0C0D0E0F101112131415161718191A1B1C1D1E",
	  "07342594157785152B074098330ABB141B947B 566AA9406B4D999988DD", 10 },
	{ "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", "0000000D0C0B0AA0A1A2A3A4A5",
	  "000102030405060708090A0B", "0C0D0E0F101112131415161718191A1B1C1D1E1F",
	  "676BB20380B0E301E8AB79590A396DA78B834934 F53AA2E9107A8B6C022C", 10 },
	{ "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", "0000000E0D0C0BA0A1A2A3A4A5",
	  "000102030405060708090A0B", "0C0D0E0F101112131415161718191A1B1C1D1E1F20",
	  "C0FFA0D6F05BDB67F24D43A4338D2AA4BED7B20E43 CD1AA31662E7AD65D6DB", 10 },
	{ "D7828D13B2B0BDC325A76236DF93CC6B", "00412B4EA9CDBE3C9696766CFA", "0BE1A88BACE018B1",
	  "08E8CF97D820EA258460E96AD9CF5289054D895CEAC47C",
	  "4CB97F86A2A4689A877947AB8091EF5386A6FFBDD080F8 E78CF7CB0CDDD7B3", 8 },
	{ "D7828D13B2B0BDC325A76236DF93CC6B", "0033568EF7B2633C9696766CFA", "63018F76DC8A1BCB",
	  "9020EA6F91BDD85AFA0039BA4BAFF9BFB79C7028949CD0EC",
	  "4CCB1E7CA981BEFAA0726C55D378061298C85C92814ABC33 C52EE81D7D77C08A", 8 },
	{ "D7828D13B2B0BDC325A76236DF93CC6B", "00103FE41336713C9696766CFA", "AA6CFA36CAE86B40",
	  "B916E0EACC1C00D7DCEC68EC0B3BBB1A02DE8A2D1AA346132E",
	  "B1D23A2220DDC0AC900D9AA03C61FCF4A559A4417767089708 A776796EDB723506", 8 },
	{ "D7828D13B2B0BDC325A76236DF93CC6B", "00764C63B8058E3C9696766CFA",
	  "D0D0735C531E1BECF049C244", "12DAAC5630EFA5396F770CE1A66B21F7B2101C",
	  "14D253C3967B70609B7CBB7C499160283245269A6F49975BCADEAF", 8 },
	{ "D7828D13B2B0BDC325A76236DF93CC6B", "00F8B678094E3B3C9696766CFA",
	  "77B60F011C03E1525899BCAE", "E88B6A46C78D63E52EB8C546EFB5DE6F75E9CC0D",
	  "5545FF1A085EE2EFBF52B2E04BEE1E2336C73E3F 762C0C7744FE7E3C", 8 },
	{ "D7828D13B2B0BDC325A76236DF93CC6B", "00D560912D3F703C9696766CFA",
	  "CD9044D2B71FDB8120EA60C0", "6435ACBAFB11A82E2F071D7CA4A5EBD93A803BA87F",
	  "009769ECABDF48625594C59251E6035722675E04C8 47099E5AE0704551", 8 },
	{ "D7828D13B2B0BDC325A76236DF93CC6B", "0042FFF8F1951C3C9696766CFA", "D85BC7E69F944FB8",
	  "8A19B950BCF71A018E5E6701C91787659809D67DBEDD18",
	  "BC218DAA947427B6DB386A99AC1AEF23ADE0B52939CB6A 637CF9BEC2408897C6BA", 10 },
	{ "D7828D13B2B0BDC325A76236DF93CC6B", "00920F40E56CDC3C9696766CFA", "74A0EBC9069F5B37",
	  "1761433C37C5A35FC1F39F406302EB907C6163BE38C98437",
	  "5810E6FD25874022E80361A478E3E9CF484AB04F447EFFF6 F0A477CC2FC9BF548944", 10 },
	{ "D7828D13B2B0BDC325A76236DF93CC6B", "0027CA0C7120BC3C9696766CFA", "44A3AA3AAE6475CA",
	  "A434A8E58500C6E41530538862D686EA9E81301B5AE4226BFA",
	  "F2BEED7BC5098E83FEB5B31608F8E29C38819A89C8E776F154 4D4151A4ED3A8B87B9CE", 10 },
	{ "D7828D13B2B0BDC325A76236DF93CC6B", "005B8CCBCD9AF83C9696766CFA",
	  "EC46BB63B02520C33C49FD70", "B96B49E21D621741632875DB7F6C9243D2D7C2",
	  "31D750A09DA3ED7FDDD49A2032AABF17EC8EBF 7D22C8088C666BE5C197", 10 },
	{ "D7828D13B2B0BDC325A76236DF93CC6B", "003EBE94044B9A3C9696766CFA",
	  "47A65AC78B3D594227E85E71", "E2FCFBB880442C731BF95167C8FFD7895E337076",
	  "E882F1DBD38CE3EDA7C23F04DD65071EB41342AC DF7E00DCCEC7AE52987D", 10 },
	{ "D7828D13B2B0BDC325A76236DF93CC6B", "008D493B30AE8B3C9696766CFA",
	  "6E37A6EF546D955D34AB6059", "ABF21C0B02FEB88F856DF4A37381BCE3CC128517D4",
	  "F32905B88A641B04B9C9FFB58CC390900F3DA12AB1 6DCE9E82EFA16DA62059", 10 },
};

TEST_F(ccm, rfc3610_packet_vectors_1_to_24)
{
	char name[32];

	for (size_t i = 0; i < 24; i++) {
		snprintf(name, sizeof(name), "packet vector #%zu", i + 1);
		check_vector(&self->k, &rfc3610[i], name);
	}
}

/* SP 800-38C Appendix C, examples 1-3: nonce 7, 8, 12 bytes; tag 4, 6, 8. */
TEST_F(ccm, sp800_38c_examples_1_to_3)
{
	static const struct ccm_vector v[3] = {
		{ "404142434445464748494a4b4c4d4e4f", "10111213141516", "0001020304050607",
		  "20212223", "7162015b 4dac255d", 4 },
		{ "404142434445464748494a4b4c4d4e4f", "1011121314151617",
		  "000102030405060708090a0b0c0d0e0f", "202122232425262728292a2b2c2d2e2f",
		  "d2a1f0e051ea5f62081a7792073d593d 1fc64fbfaccd", 6 },
		{ "404142434445464748494a4b4c4d4e4f", "101112131415161718191a1b",
		  "000102030405060708090a0b0c0d0e0f10111213",
		  "202122232425262728292a2b2c2d2e2f3031323334353637",
		  "e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5 484392fbc1b09951", 8 },
	};

	check_vector(&self->k, &v[0], "example 1");
	check_vector(&self->k, &v[1], "example 2");
	check_vector(&self->k, &v[2], "example 3");
}

/* SP 800-38C Example 4: 65536 bytes of AAD, so the 0xfffe + 4-byte length
 * encoding; 13-byte nonce, 14-byte tag. */
TEST_F(ccm, sp800_38c_example_4_long_aad)
{
	uint8_t key[16], nonce[13], pt[32], want[46], ct[32], tag[14], out[32];
	static uint8_t aad[65536];

	unhex("404142434445464748494a4b4c4d4e4f", key);
	unhex("101112131415161718191a1b1c", nonce);
	unhex("202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f", pt);
	unhex("69915dad1e84c6376a68c2967e4dab615ae0fd1faec44cc484828529463ccf72"
	      "b4ac6bec93e8598e7f0dadbcea5b", want);
	for (size_t i = 0; i < sizeof(aad); i++)
		aad[i] = (uint8_t)i;
	ASSERT_EQ(iomt_aes128_init(&self->k, key), IOMT_OK);
	ASSERT_EQ(iomt_ccm_encrypt(&self->k, nonce, 13, aad, sizeof(aad), pt, 32, ct, tag, 14),
		  IOMT_OK);
	ASSERT_MEMEQ(ct, want, 32);
	ASSERT_MEMEQ(tag, want + 32, 14);
	ASSERT_EQ(iomt_ccm_decrypt(&self->k, nonce, 13, aad, sizeof(aad), ct, 32, tag, 14, out),
		  IOMT_OK);
	ASSERT_MEMEQ(out, pt, 32);
}

/* ---- differential against OpenSSL ---- */

enum { DIFF_MAX = 600 };

/* One random case: our encryption == OpenSSL's; each side opens the other's. */
static void diff_case(struct iomt_aes128 *k, const uint8_t key[16], size_t nonce_len,
		      size_t tag_len, size_t aad_len, size_t len)
{
	static uint8_t aad[DIFF_MAX], pt[DIFF_MAX], ct[DIFF_MAX], ref[DIFF_MAX], out[DIFF_MAX];
	uint8_t nonce[13], tag[16], reftag[16];

	tu_fill(&prng, nonce, nonce_len);
	tu_fill(&prng, aad, aad_len);
	tu_fill(&prng, pt, len);
	ASSERT_EQ(iomt_ccm_encrypt(k, nonce, nonce_len, aad, aad_len, pt, len, ct, tag, tag_len),
		  IOMT_OK);
	ASSERT_TRUE(ossl_encrypt(key, nonce, nonce_len, aad, aad_len, pt, len, ref, reftag,
				 tag_len));
	ASSERT_MEMEQ(ct, ref, len);
	ASSERT_MEMEQ(tag, reftag, tag_len);
	ASSERT_EQ(iomt_ccm_decrypt(k, nonce, nonce_len, aad, aad_len, ref, len, reftag, tag_len,
				   out), IOMT_OK);
	ASSERT_MEMEQ(out, pt, len);
	memset(out, 0, len);
	ASSERT_EQ(ossl_decrypt(key, nonce, nonce_len, aad, aad_len, ct, len, tag, tag_len, out), 1);
	ASSERT_MEMEQ(out, pt, len);
}

/* Every payload length 0..600 with every nonce length (7..13) and every tag
 * length, a random AAD length 0..600 and a fresh key per payload length.
 * Split in two so each half stays far from the timeout. */
static void diff_lengths(struct iomt_aes128 *k, size_t from, size_t to)
{
	uint8_t key[16];

	for (size_t len = from; len <= to; len++) {
		tu_fill(&prng, key, sizeof(key));
		ASSERT_EQ(iomt_aes128_init(k, key), IOMT_OK);
		for (size_t nl = IOMT_CCM_NONCE_MIN_LEN; nl <= IOMT_CCM_NONCE_MAX_LEN; nl++)
			for (size_t tl = IOMT_CCM_TAG_MIN_LEN; tl <= IOMT_CCM_TAG_MAX_LEN; tl += 2)
				diff_case(k, key, nl, tl, tu_next(&prng) % (DIFF_MAX + 1), len);
	}
}

TEST_F(ccm, differential_openssl_len_0_to_299)
{
	diff_lengths(&self->k, 0, 299);
}

TEST_F(ccm, differential_openssl_len_300_to_600)
{
	prng.s ^= 0x300;
	diff_lengths(&self->k, 300, DIFF_MAX);
}

/* Every AAD length 0..600 (so every padding shape of the AAD blocks) with a
 * random payload, nonce and tag length. */
TEST_F(ccm, differential_openssl_aad_0_to_600)
{
	uint8_t key[16];

	tu_fill(&prng, key, sizeof(key));
	ASSERT_EQ(iomt_aes128_init(&self->k, key), IOMT_OK);
	for (size_t alen = 0; alen <= DIFF_MAX; alen++)
		diff_case(&self->k, key, 7 + tu_next(&prng) % 7, 4 + 2 * (tu_next(&prng) % 7), alen,
			  tu_next(&prng) % (DIFF_MAX + 1));
}

/* AAD lengths around the switch from the 2-byte to the 6-byte encoding
 * (0xff00), and the longest payload a 13-byte nonce (L = 2) allows. */
TEST_F(ccm, differential_openssl_long_inputs)
{
	static const size_t aad_lens[] = { 0xfeff, 0xff00, 0xff01, 70001 };
	static uint8_t aad[70001], pt[65535], ct[65535], ref[65535];
	uint8_t key[16], nonce[13], tag[16], reftag[16];

	tu_fill(&prng, key, sizeof(key));
	tu_fill(&prng, nonce, sizeof(nonce));
	tu_fill(&prng, aad, sizeof(aad));
	tu_fill(&prng, pt, sizeof(pt));
	ASSERT_EQ(iomt_aes128_init(&self->k, key), IOMT_OK);
	for (size_t i = 0; i < sizeof(aad_lens) / sizeof(aad_lens[0]); i++) {
		ASSERT_EQ(iomt_ccm_encrypt(&self->k, nonce, 13, aad, aad_lens[i], pt, 33, ct, tag,
					   16), IOMT_OK);
		ASSERT_TRUE(ossl_encrypt(key, nonce, 13, aad, aad_lens[i], pt, 33, ref, reftag, 16));
		ASSERT_MEMEQ(ct, ref, 33);
		ASSERT_MEMEQ(tag, reftag, 16);
	}
	/* 13-byte nonce: L = 2, so 65535 is the longest payload. */
	ASSERT_EQ(iomt_ccm_encrypt(&self->k, nonce, 13, NULL, 0, pt, sizeof(pt), ct, tag, 8),
		  IOMT_OK);
	ASSERT_TRUE(ossl_encrypt(key, nonce, 13, NULL, 0, pt, sizeof(pt), ref, reftag, 8));
	ASSERT_MEMEQ(ct, ref, sizeof(pt));
	ASSERT_MEMEQ(tag, reftag, 8);
}

/* ---- tampering ---- */

enum { T_LEN = 37, T_AAD = 21, T_NONCE = 12, T_TAG = 16 };

struct tamper {
	uint8_t key[16], nonce[T_NONCE], aad[T_AAD], pt[T_LEN], ct[T_LEN], tag[T_TAG];
};

static void tamper_setup(struct iomt_aes128 *k, struct tamper *t)
{
	tu_fill(&prng, t->key, sizeof(t->key));
	tu_fill(&prng, t->nonce, sizeof(t->nonce));
	tu_fill(&prng, t->aad, sizeof(t->aad));
	tu_fill(&prng, t->pt, sizeof(t->pt));
	ASSERT_EQ(iomt_aes128_init(k, t->key), IOMT_OK);
	ASSERT_EQ(iomt_ccm_encrypt(k, t->nonce, T_NONCE, t->aad, T_AAD, t->pt, T_LEN, t->ct,
				   t->tag, T_TAG), IOMT_OK);
}

/* Decrypts t (possibly altered); expects IOMT_EAUTH and a zeroed output. */
static void expect_reject(struct iomt_aes128 *k, const struct tamper *t, size_t tag_len)
{
	uint8_t out[T_LEN];

	memset(out, 0xaa, sizeof(out));
	ASSERT_EQ(iomt_ccm_decrypt(k, t->nonce, T_NONCE, t->aad, T_AAD, t->ct, T_LEN, t->tag,
				   tag_len, out), IOMT_EAUTH);
	ASSERT_TRUE(iomt_ct_is_zero(out, sizeof(out)));
}

/* Flips each bit of ciphertext, tag, AAD and nonce in turn. */
TEST_F(ccm, tamper_every_bit_rejected_and_wiped)
{
	struct tamper t;
	uint8_t *fields[] = { t.ct, t.tag, t.aad, t.nonce };
	const size_t lens[] = { T_LEN, T_TAG, T_AAD, T_NONCE };
	uint8_t out[T_LEN];

	tamper_setup(&self->k, &t);
	for (size_t f = 0; f < 4; f++)
		for (size_t bit = 0; bit < 8 * lens[f]; bit++) {
			fields[f][bit / 8] ^= (uint8_t)(1u << (bit % 8));
			expect_reject(&self->k, &t, T_TAG);
			fields[f][bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
	/* Untouched, it still opens. */
	ASSERT_EQ(iomt_ccm_decrypt(&self->k, t.nonce, T_NONCE, t.aad, T_AAD, t.ct, T_LEN, t.tag,
				   T_TAG, out), IOMT_OK);
	ASSERT_MEMEQ(out, t.pt, T_LEN);
	/* The reference must reject too, or the differential tests prove less. */
	t.tag[3] ^= 4;
	ASSERT_EQ(ossl_decrypt(t.key, t.nonce, T_NONCE, t.aad, T_AAD, t.ct, T_LEN, t.tag, T_TAG,
			       out), 0);
}

/* A shorter tag that is a prefix of the right one, a shorter payload or AAD:
 * the lengths are bound into B0 and the AAD encoding. */
TEST_F(ccm, tamper_lengths_rejected)
{
	struct tamper t;
	uint8_t out[T_LEN];

	tamper_setup(&self->k, &t);
	for (size_t tl = IOMT_CCM_TAG_MIN_LEN; tl < T_TAG; tl += 2)
		expect_reject(&self->k, &t, tl);
	memset(out, 0xaa, sizeof(out));
	ASSERT_EQ(iomt_ccm_decrypt(&self->k, t.nonce, T_NONCE, t.aad, T_AAD, t.ct, T_LEN - 1,
				   t.tag, T_TAG, out), IOMT_EAUTH);
	ASSERT_TRUE(iomt_ct_is_zero(out, T_LEN - 1));
	ASSERT_EQ(out[T_LEN - 1], 0xaa);
	ASSERT_EQ(iomt_ccm_decrypt(&self->k, t.nonce, T_NONCE, t.aad, T_AAD - 1, t.ct, T_LEN,
				   t.tag, T_TAG, out), IOMT_EAUTH);
	ASSERT_EQ(iomt_ccm_decrypt(&self->k, t.nonce, T_NONCE, NULL, 0, t.ct, T_LEN,
				   t.tag, T_TAG, out), IOMT_EAUTH);
	ASSERT_EQ(iomt_ccm_decrypt(&self->k, t.nonce, T_NONCE - 1, t.aad, T_AAD, t.ct, T_LEN,
				   t.tag, T_TAG, out), IOMT_EAUTH);
}

TEST_F(ccm, wrong_key_rejected)
{
	struct tamper t;
	struct iomt_aes128 other;

	tamper_setup(&self->k, &t);
	t.key[0] ^= 1;
	ASSERT_EQ(iomt_aes128_init(&other, t.key), IOMT_OK);
	expect_reject(&other, &t, T_TAG);
	iomt_aes128_wipe(&other);
}

/* ---- parameters ---- */

TEST_F(ccm, invalid_parameters)
{
	uint8_t key[16] = { 0 }, nonce[16] = { 0 }, buf[32] = { 0 }, out[32], tag[16] = { 0 };
	static const size_t bad_nonce[] = { 0, 1, 6, 14, 15, 16, (size_t)-1 };
	static const size_t bad_tag[] = { 0, 1, 2, 3, 5, 7, 15, 17, 18, 32, (size_t)-1 };
	struct iomt_aes128 *k = &self->k;

	ASSERT_EQ(iomt_aes128_init(k, key), IOMT_OK);
	for (size_t i = 0; i < sizeof(bad_nonce) / sizeof(bad_nonce[0]); i++) {
		ASSERT_EQ(iomt_ccm_encrypt(k, nonce, bad_nonce[i], NULL, 0, buf, 32, out, tag, 8),
			  IOMT_EINVAL);
		memset(out, 0xaa, sizeof(out));
		ASSERT_EQ(iomt_ccm_decrypt(k, nonce, bad_nonce[i], NULL, 0, buf, 32, tag, 8, out),
			  IOMT_EINVAL);
		/* Parameter errors leave the output alone. */
		ASSERT_EQ(out[0], 0xaa);
	}
	for (size_t i = 0; i < sizeof(bad_tag) / sizeof(bad_tag[0]); i++) {
		ASSERT_EQ(iomt_ccm_encrypt(k, nonce, 12, NULL, 0, buf, 32, out, tag, bad_tag[i]),
			  IOMT_EINVAL);
		ASSERT_EQ(iomt_ccm_decrypt(k, nonce, 12, NULL, 0, buf, 32, tag, bad_tag[i], out),
			  IOMT_EINVAL);
	}
	/* NULL where a length says data is. */
	ASSERT_EQ(iomt_ccm_encrypt(NULL, nonce, 12, NULL, 0, buf, 32, out, tag, 8), IOMT_EINVAL);
	ASSERT_EQ(iomt_ccm_encrypt(k, NULL, 12, NULL, 0, buf, 32, out, tag, 8), IOMT_EINVAL);
	ASSERT_EQ(iomt_ccm_encrypt(k, nonce, 12, NULL, 1, buf, 32, out, tag, 8), IOMT_EINVAL);
	ASSERT_EQ(iomt_ccm_encrypt(k, nonce, 12, NULL, 0, NULL, 32, out, tag, 8), IOMT_EINVAL);
	ASSERT_EQ(iomt_ccm_encrypt(k, nonce, 12, NULL, 0, buf, 32, NULL, tag, 8), IOMT_EINVAL);
	ASSERT_EQ(iomt_ccm_encrypt(k, nonce, 12, NULL, 0, buf, 32, out, NULL, 8), IOMT_EINVAL);
	ASSERT_EQ(iomt_ccm_decrypt(NULL, nonce, 12, NULL, 0, buf, 32, tag, 8, out), IOMT_EINVAL);
	ASSERT_EQ(iomt_ccm_decrypt(k, NULL, 12, NULL, 0, buf, 32, tag, 8, out), IOMT_EINVAL);
	ASSERT_EQ(iomt_ccm_decrypt(k, nonce, 12, NULL, 1, buf, 32, tag, 8, out), IOMT_EINVAL);
	ASSERT_EQ(iomt_ccm_decrypt(k, nonce, 12, NULL, 0, NULL, 32, tag, 8, out), IOMT_EINVAL);
	ASSERT_EQ(iomt_ccm_decrypt(k, nonce, 12, NULL, 0, buf, 32, NULL, 8, out), IOMT_EINVAL);
	ASSERT_EQ(iomt_ccm_decrypt(k, nonce, 12, NULL, 0, buf, 32, tag, 8, NULL), IOMT_EINVAL);
	/* Empty payload and AAD need no buffers. */
	ASSERT_EQ(iomt_ccm_encrypt(k, nonce, 12, NULL, 0, NULL, 0, NULL, tag, 8), IOMT_OK);
	ASSERT_EQ(iomt_ccm_decrypt(k, nonce, 12, NULL, 0, NULL, 0, tag, 8, NULL), IOMT_OK);
}

/* The payload must fit the l = 15 - nonce_len byte length field. The length
 * is checked before any byte is touched, so a short buffer is enough. */
TEST_F(ccm, payload_too_long_for_l)
{
	static uint8_t big[65536];
	uint8_t key[16] = { 0 }, nonce[13] = { 0 }, tag[16];
	struct iomt_aes128 *k = &self->k;

	ASSERT_EQ(iomt_aes128_init(k, key), IOMT_OK);
	/* l = 2: 65535 fits, 65536 does not. */
	ASSERT_EQ(iomt_ccm_encrypt(k, nonce, 13, NULL, 0, big, 65535, big, tag, 8), IOMT_OK);
	ASSERT_EQ(iomt_ccm_encrypt(k, nonce, 13, NULL, 0, big, 65536, big, tag, 8), IOMT_ESIZE);
	ASSERT_EQ(iomt_ccm_decrypt(k, nonce, 13, NULL, 0, big, 65536, tag, 8, big), IOMT_ESIZE);
	/* l = 3..7 at 2^(8l); l = 8 takes any size_t. */
	for (size_t nl = 8; nl <= 12; nl++) {
		size_t l = 15 - nl;

		if (l * 8 >= 8 * sizeof(size_t))
			continue;
		ASSERT_EQ(iomt_ccm_encrypt(k, nonce, nl, NULL, 0, big, (size_t)1 << (8 * l), big,
					   tag, 8), IOMT_ESIZE);
		ASSERT_EQ(iomt_ccm_decrypt(k, nonce, nl, NULL, 0, big, (size_t)1 << (8 * l), tag,
					   8, big), IOMT_ESIZE);
	}
}

/* ---- in place ---- */

TEST_F(ccm, in_place_matches_out_of_place)
{
	uint8_t key[16], nonce[11], aad[40], pt[200], ct[200], buf[200], tag[12], tag2[12];

	tu_fill(&prng, key, sizeof(key));
	tu_fill(&prng, nonce, sizeof(nonce));
	tu_fill(&prng, aad, sizeof(aad));
	tu_fill(&prng, pt, sizeof(pt));
	ASSERT_EQ(iomt_aes128_init(&self->k, key), IOMT_OK);
	for (size_t len = 0; len <= sizeof(pt); len += 7) {
		ASSERT_EQ(iomt_ccm_encrypt(&self->k, nonce, 11, aad, sizeof(aad), pt, len, ct, tag,
					   12), IOMT_OK);
		memcpy(buf, pt, len);
		ASSERT_EQ(iomt_ccm_encrypt(&self->k, nonce, 11, aad, sizeof(aad), buf, len, buf,
					   tag2, 12), IOMT_OK);
		ASSERT_MEMEQ(buf, ct, len);
		ASSERT_MEMEQ(tag2, tag, 12);
		ASSERT_EQ(iomt_ccm_decrypt(&self->k, nonce, 11, aad, sizeof(aad), buf, len, tag, 12,
					   buf), IOMT_OK);
		ASSERT_MEMEQ(buf, pt, len);
	}
	/* A failed in-place decryption leaves zeros, not plaintext. */
	memcpy(buf, ct, sizeof(ct));
	tag[0] ^= 0x80;
	ASSERT_EQ(iomt_ccm_decrypt(&self->k, nonce, 11, aad, sizeof(aad), buf, 196, tag, 12, buf),
		  IOMT_EAUTH);
	ASSERT_TRUE(iomt_ct_is_zero(buf, 196));
}

/* The same payload under every tag length: the ciphertext does not depend on
 * it, the tag does (M is in B0). */
TEST_F(ccm, tag_length_changes_only_tag)
{
	uint8_t key[16], nonce[13], pt[50], ct0[50], ct[50], tag[16], tag16[16];

	tu_fill(&prng, key, sizeof(key));
	tu_fill(&prng, nonce, sizeof(nonce));
	tu_fill(&prng, pt, sizeof(pt));
	ASSERT_EQ(iomt_aes128_init(&self->k, key), IOMT_OK);
	ASSERT_EQ(iomt_ccm_encrypt(&self->k, nonce, 13, NULL, 0, pt, 50, ct0, tag16, 16), IOMT_OK);
	for (size_t tl = 4; tl < 16; tl += 2) {
		ASSERT_EQ(iomt_ccm_encrypt(&self->k, nonce, 13, NULL, 0, pt, 50, ct, tag, tl),
			  IOMT_OK);
		ASSERT_MEMEQ(ct, ct0, 50);
		ASSERT_NE(memcmp(tag, tag16, tl), 0);
	}
}

/* ---- the driver hook (IOMT_CONF_CCM_DRIVER) ---- */

/* lib/ccm.c compiled a second time with a driver, under hooked_* names. The
 * test driver is OpenSSL, so the hooked results are checked against the
 * portable code of the library and the driver sees the raw key. */
#define IOMT_CONF_CCM_DRIVER test_driver
#define iomt_ccm_encrypt(...) hooked_encrypt(__VA_ARGS__)
#define iomt_ccm_decrypt(...) hooked_decrypt(__VA_ARGS__)
int hooked_encrypt(const struct iomt_aes128 *k, const uint8_t *nonce, size_t nonce_len,
		   const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t len,
		   uint8_t *ct, uint8_t *tag, size_t tag_len);
int hooked_decrypt(const struct iomt_aes128 *k, const uint8_t *nonce, size_t nonce_len,
		   const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t len,
		   const uint8_t *tag, size_t tag_len, uint8_t *pt);
#include "ccm.c"
#undef iomt_ccm_encrypt
#undef iomt_ccm_decrypt

/* What the driver saw, and what it is told to answer instead of working. */
static struct {
	unsigned enc, dec;     /* calls */
	uint8_t key[16];       /* the last key */
	int answer;            /* IOMT_OK: work; else return it (after scribbling) */
} drv;

static int drv_encrypt(const uint8_t key[16], const uint8_t *nonce, size_t nonce_len,
		       const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t len,
		       uint8_t *ct, uint8_t *tag, size_t tag_len)
{
	drv.enc++;
	memcpy(drv.key, key, 16);
	if (drv.answer)
		return drv.answer;
	return ossl_encrypt(key, nonce, nonce_len, aad, aad_len, pt, len, ct, tag, tag_len) ?
		IOMT_OK : IOMT_EINVAL;
}

/* CTR is its own inverse: encrypting ct gives pt; encrypting pt then gives
 * the tag the sender computed (the ciphertext of that pass is dropped). */
static int drv_decrypt(const uint8_t key[16], const uint8_t *nonce, size_t nonce_len,
		       const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t len,
		       uint8_t *pt, uint8_t *mac, size_t tag_len)
{
	static uint8_t scratch[DIFF_MAX];
	uint8_t junk[16];

	drv.dec++;
	memcpy(drv.key, key, 16);
	if (drv.answer && drv.answer != IOMT_EUNSUPP)
		memset(pt, 0x5a, len);  /* a half-done operation */
	if (drv.answer)
		return drv.answer;
	if (len > sizeof(scratch) ||
	    !ossl_encrypt(key, nonce, nonce_len, aad, aad_len, ct, len, pt, junk, tag_len) ||
	    !ossl_encrypt(key, nonce, nonce_len, aad, aad_len, pt, len, scratch, mac, tag_len))
		return IOMT_EINVAL;
	return IOMT_OK;
}

const struct iomt_ccm_driver test_driver = { drv_encrypt, drv_decrypt };

/* Every nonce and tag length, payloads 0..DIFF_MAX, in place and not: each
 * call reaches the driver once with the raw key, the results equal the
 * portable code's, and each side opens the other's. */
TEST(ccm_driver_routes_every_call_results_identical)
{
	static uint8_t aad[DIFF_MAX], pt[DIFF_MAX], ct[DIFF_MAX], ref[DIFF_MAX], out[DIFF_MAX];
	uint8_t key[16], nonce[13], tag[16], reftag[16];
	struct iomt_aes128 k;
	unsigned calls = 0;

	prng.s = 0x647276;  /* "drv" */
	memset(&drv, 0, sizeof(drv));
	for (size_t len = 0; len <= DIFF_MAX; len += 1 + len / 8) {
		size_t nl = 7 + len % 7, tl = 4 + 2 * (len % 7), alen = tu_next(&prng) % 64;

		tu_fill(&prng, key, sizeof(key));
		tu_fill(&prng, nonce, nl);
		tu_fill(&prng, aad, alen);
		tu_fill(&prng, pt, len);
		ASSERT_EQ(iomt_aes128_init(&k, key), IOMT_OK);
		ASSERT_EQ(hooked_encrypt(&k, nonce, nl, aad, alen, pt, len, ct, tag, tl), IOMT_OK);
		ASSERT_EQ(drv.enc, ++calls);
		ASSERT_MEMEQ(drv.key, key, 16);
		ASSERT_EQ(iomt_ccm_encrypt(&k, nonce, nl, aad, alen, pt, len, ref, reftag, tl),
			  IOMT_OK);
		ASSERT_MEMEQ(ct, ref, len);
		ASSERT_MEMEQ(tag, reftag, tl);
		ASSERT_EQ(hooked_decrypt(&k, nonce, nl, aad, alen, ref, len, reftag, tl, out),
			  IOMT_OK);
		ASSERT_EQ(drv.dec, calls);
		ASSERT_MEMEQ(out, pt, len);
		/* In place. */
		memcpy(out, pt, len);
		ASSERT_EQ(hooked_encrypt(&k, nonce, nl, aad, alen, out, len, out, tag, tl), IOMT_OK);
		ASSERT_MEMEQ(out, ref, len);
		ASSERT_EQ(hooked_decrypt(&k, nonce, nl, aad, alen, out, len, tag, tl, out), IOMT_OK);
		ASSERT_MEMEQ(out, pt, len);
		ASSERT_EQ(iomt_ccm_decrypt(&k, nonce, nl, aad, alen, ct, len, tag, tl, out),
			  IOMT_OK);
		calls++;
		ASSERT_EQ(drv.enc, calls);
		ASSERT_EQ(drv.dec, calls);
	}
	iomt_aes128_wipe(&k);
}

/* ccm.c, not the driver, compares the tag: a bad one is IOMT_EAUTH and the
 * driver's plaintext is wiped, in place too. */
TEST(ccm_driver_tag_checked_and_wiped_by_ccm)
{
	struct tamper t;
	struct iomt_aes128 k;
	uint8_t out[T_LEN], buf[T_LEN];

	prng.s = 0x746167;
	memset(&drv, 0, sizeof(drv));
	tamper_setup(&k, &t);
	for (size_t bit = 0; bit < 8 * T_TAG; bit++) {
		t.tag[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		memset(out, 0xaa, sizeof(out));
		ASSERT_EQ(hooked_decrypt(&k, t.nonce, T_NONCE, t.aad, T_AAD, t.ct, T_LEN, t.tag,
					 T_TAG, out), IOMT_EAUTH);
		ASSERT_TRUE(iomt_ct_is_zero(out, sizeof(out)));
		t.tag[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	ASSERT_EQ(drv.dec, 8 * T_TAG);
	memcpy(buf, t.ct, T_LEN);
	buf[5] ^= 1;
	ASSERT_EQ(hooked_decrypt(&k, t.nonce, T_NONCE, t.aad, T_AAD, buf, T_LEN, t.tag, T_TAG,
				 buf), IOMT_EAUTH);
	ASSERT_TRUE(iomt_ct_is_zero(buf, T_LEN));
	ASSERT_EQ(hooked_decrypt(&k, t.nonce, T_NONCE, t.aad, T_AAD, t.ct, T_LEN, t.tag, T_TAG,
				 out), IOMT_OK);
	ASSERT_MEMEQ(out, t.pt, T_LEN);
	iomt_aes128_wipe(&k);
}

/* IOMT_EUNSUPP from the driver: the portable code does the work, the same
 * bytes come out. */
TEST(ccm_driver_unsupported_falls_back_to_portable)
{
	struct tamper t;
	struct iomt_aes128 k;
	uint8_t ct[T_LEN], tag[T_TAG], out[T_LEN];

	prng.s = 0x666262;
	memset(&drv, 0, sizeof(drv));
	tamper_setup(&k, &t);
	drv.answer = IOMT_EUNSUPP;
	ASSERT_EQ(hooked_encrypt(&k, t.nonce, T_NONCE, t.aad, T_AAD, t.pt, T_LEN, ct, tag, T_TAG),
		  IOMT_OK);
	ASSERT_MEMEQ(ct, t.ct, T_LEN);
	ASSERT_MEMEQ(tag, t.tag, T_TAG);
	ASSERT_EQ(hooked_decrypt(&k, t.nonce, T_NONCE, t.aad, T_AAD, ct, T_LEN, tag, T_TAG, out),
		  IOMT_OK);
	ASSERT_MEMEQ(out, t.pt, T_LEN);
	tag[0] ^= 1;
	ASSERT_EQ(hooked_decrypt(&k, t.nonce, T_NONCE, t.aad, T_AAD, ct, T_LEN, tag, T_TAG, out),
		  IOMT_EAUTH);
	ASSERT_TRUE(iomt_ct_is_zero(out, T_LEN));
	ASSERT_EQ(drv.enc, 1);
	ASSERT_EQ(drv.dec, 2);
	iomt_aes128_wipe(&k);
}

/* Any other driver error is returned as is; decryption wipes what the
 * driver left in pt. */
TEST(ccm_driver_error_returned_and_plaintext_wiped)
{
	struct tamper t;
	struct iomt_aes128 k;
	uint8_t ct[T_LEN], tag[T_TAG], out[T_LEN];

	prng.s = 0x657272;
	memset(&drv, 0, sizeof(drv));
	tamper_setup(&k, &t);
	drv.answer = IOMT_ESTATE;
	ASSERT_EQ(hooked_encrypt(&k, t.nonce, T_NONCE, t.aad, T_AAD, t.pt, T_LEN, ct, tag, T_TAG),
		  IOMT_ESTATE);
	memset(out, 0xaa, sizeof(out));
	ASSERT_EQ(hooked_decrypt(&k, t.nonce, T_NONCE, t.aad, T_AAD, t.ct, T_LEN, t.tag, T_TAG,
				 out), IOMT_ESTATE);
	ASSERT_TRUE(iomt_ct_is_zero(out, T_LEN));
	iomt_aes128_wipe(&k);
}

/* Parameters are checked before the driver: it never sees a bad call. */
TEST(ccm_driver_not_called_on_bad_parameters)
{
	static uint8_t big[65536];
	uint8_t key[16] = { 0 }, nonce[13] = { 0 }, tag[16] = { 0 }, out[32];
	struct iomt_aes128 k;

	memset(&drv, 0, sizeof(drv));
	ASSERT_EQ(iomt_aes128_init(&k, key), IOMT_OK);
	ASSERT_EQ(hooked_encrypt(&k, nonce, 6, NULL, 0, big, 32, out, tag, 8), IOMT_EINVAL);
	ASSERT_EQ(hooked_encrypt(&k, nonce, 13, NULL, 0, big, 32, out, tag, 5), IOMT_EINVAL);
	ASSERT_EQ(hooked_encrypt(NULL, nonce, 13, NULL, 0, big, 32, out, tag, 8), IOMT_EINVAL);
	ASSERT_EQ(hooked_encrypt(&k, nonce, 13, NULL, 1, big, 32, out, tag, 8), IOMT_EINVAL);
	ASSERT_EQ(hooked_encrypt(&k, nonce, 13, NULL, 0, big, 65536, big, tag, 8), IOMT_ESIZE);
	ASSERT_EQ(hooked_decrypt(&k, nonce, 14, NULL, 0, big, 32, tag, 8, out), IOMT_EINVAL);
	ASSERT_EQ(hooked_decrypt(&k, nonce, 13, NULL, 0, big, 32, tag, 18, out), IOMT_EINVAL);
	ASSERT_EQ(hooked_decrypt(&k, nonce, 13, NULL, 0, big, 32, tag, 8, NULL), IOMT_EINVAL);
	ASSERT_EQ(hooked_decrypt(&k, nonce, 13, NULL, 0, big, 65536, tag, 8, big), IOMT_ESIZE);
	ASSERT_EQ(drv.enc, 0);
	ASSERT_EQ(drv.dec, 0);
	iomt_aes128_wipe(&k);
}
