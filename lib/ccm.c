/* SPDX-License-Identifier: MIT */
/* AES-128-CCM. The CBC-MAC is a chain, one block at a time; the CTR blocks
 * are independent. So every AES call pairs the next MAC block with the next
 * counter block: on the bitsliced path a pass holds two blocks anyway, on
 * AES-NI the second block fills the pipeline while the chain waits. The
 * counter runs one block ahead of the MAC, so decryption has the plaintext
 * ready before it is MACed, and encryption MACs a plaintext block before
 * writing its ciphertext (which allows ct == pt). */
#include <string.h>
#include "ccm.h"
#include "bytes.h"
#include "ct.h"
#include "iomt_err.h"

enum { BLOCK = IOMT_AES_BLOCK_LEN };

/* The build's engine (ccm.h), else a constant IOMT_EUNSUPP that the compiler
 * folds away with the branch on it: the default build is the portable code. */
#ifdef IOMT_CONF_CCM_DRIVER
extern const struct iomt_ccm_driver IOMT_CONF_CCM_DRIVER;
#define CCM_DRIVER(op, ...) IOMT_CONF_CCM_DRIVER.op(__VA_ARGS__)
#else
#define CCM_DRIVER(op, ...) IOMT_EUNSUPP
#endif

struct ccm {
	const struct iomt_aes128 *k;
	/* [0, 16): the MAC block X, pending encryption once data is XORed in;
	 * [16, 32): a counter block A_i, after encryption its key stream. */
	uint8_t buf[2 * BLOCK];
	uint8_t a0[BLOCK];  /* A_0: flags and nonce, counter field zero */
	unsigned l;         /* bytes of the length and counter fields, 2..8 */
	unsigned pos;       /* bytes of the pending MAC block already used */
};

static int ccm_check(const struct iomt_aes128 *k, const uint8_t *nonce, size_t nonce_len,
		     const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
		     const uint8_t *out, const uint8_t *tag, size_t tag_len)
{
	size_t l = 15 - nonce_len;

	if (!k || !nonce || !tag || (aad_len && !aad) || (len && (!in || !out)))
		return IOMT_EINVAL;
	if (nonce_len < IOMT_CCM_NONCE_MIN_LEN || nonce_len > IOMT_CCM_NONCE_MAX_LEN)
		return IOMT_EINVAL;
	if (tag_len < IOMT_CCM_TAG_MIN_LEN || tag_len > IOMT_CCM_TAG_MAX_LEN || (tag_len & 1))
		return IOMT_EINVAL;
	/* The length field of B0 (and so the counter) is l bytes wide. */
	if (l < 8 && ((uint64_t)len >> (8 * l)) != 0)
		return IOMT_ESIZE;
	return IOMT_OK;
}

/* A_0 with v in its last l bytes into dst: A_v, or B0 less its flags.
 * v < 2^(8l): ccm_check bounds len. */
static void ccm_block(const struct ccm *s, uint8_t *dst, size_t v)
{
	memcpy(dst, s->a0, BLOCK);
	for (unsigned j = 0; j < s->l; j++, v >>= 8)
		dst[BLOCK - 1 - j] = (uint8_t)v;
}

/* Puts A_i in the counter half of buf. */
static void ccm_counter(struct ccm *s, size_t i)
{
	ccm_block(s, s->buf + BLOCK, i);
}

/* B0 (the first, pending MAC block) and A_0 (SP 800-38C A.2). */
static void ccm_start(struct ccm *s, const struct iomt_aes128 *k, const uint8_t *nonce,
		      size_t nonce_len, size_t aad_len, size_t len, size_t tag_len)
{
	s->k = k;
	s->l = (unsigned)(15 - nonce_len);
	s->a0[0] = (uint8_t)(s->l - 1);
	memcpy(s->a0 + 1, nonce, nonce_len);
	memset(s->a0 + 1 + nonce_len, 0, s->l);
	ccm_block(s, s->buf, len);
	s->buf[0] |= (uint8_t)((aad_len ? 0x40 : 0) | ((tag_len - 2) / 2) << 3);
	s->pos = BLOCK;
}

/* XORs p into the MAC chain; a full pending block is encrypted (alone) only
 * when more data arrives, so the last one can go with a counter block. */
static void ccm_mac(struct ccm *s, const uint8_t *p, size_t n)
{
	while (n) {
		size_t take;

		if (s->pos == BLOCK) {
			iomt_aes128_encrypt_blocks(s->k, s->buf, s->buf, 1);
			s->pos = 0;
		}
		take = BLOCK - s->pos < n ? BLOCK - s->pos : n;
		iomt_xor(s->buf + s->pos, p, take);
		s->pos += (unsigned)take;
		p += take;
		n -= take;
	}
}

/* The AAD with its length prefix: 2 bytes below 2^16 - 2^8, else 0xfffe and
 * 4 bytes, else 0xffff and 8 bytes (RFC 3610 2.2). */
static void ccm_aad(struct ccm *s, const uint8_t *aad, size_t aad_len)
{
	uint8_t hdr[10];
	size_t hlen;

	if (!aad_len)
		return;
	if (aad_len < 0xff00) {
		iomt_store_be16(hdr, (uint16_t)aad_len);
		hlen = 2;
	} else if (((uint64_t)aad_len >> 32) == 0) {
		hdr[0] = 0xff;
		hdr[1] = 0xfe;
		iomt_store_be32(hdr + 2, (uint32_t)aad_len);
		hlen = 6;
	} else {
		hdr[0] = 0xff;
		hdr[1] = 0xff;
		iomt_store_be64(hdr + 2, (uint64_t)aad_len);
		hlen = 10;
	}
	ccm_mac(s, hdr, hlen);
	ccm_mac(s, aad, aad_len);
}

/* CTR over the payload, MACing the plaintext side (out when decrypting), and
 * finally the unmasked tag into mac[0..tag_len). */
static void ccm_crypt(struct ccm *s, const uint8_t *in, uint8_t *out, size_t len,
		      int decrypt, uint8_t mac[BLOCK], size_t tag_len)
{
	uint8_t *x = s->buf, *ks = s->buf + BLOCK;
	size_t i = 1;

	/* The pending MAC block goes with A_1, or with A_0 if there is no payload. */
	ccm_counter(s, len ? 1 : 0);
	iomt_aes128_encrypt_blocks(s->k, s->buf, s->buf, 2);
	for (size_t off = 0; off < len; i++) {
		size_t n = len - off < BLOCK ? len - off : BLOCK;

		if (!decrypt)
			iomt_xor(x, in + off, n);
		for (size_t j = 0; j < n; j++)
			out[off + j] = in[off + j] ^ ks[j];
		if (decrypt)
			iomt_xor(x, out + off, n);
		off += n;
		/* After the last block the counter wraps to A_0, the tag mask. */
		ccm_counter(s, off < len ? i + 1 : 0);
		iomt_aes128_encrypt_blocks(s->k, s->buf, s->buf, 2);
	}
	for (size_t j = 0; j < tag_len; j++)
		mac[j] = x[j] ^ ks[j];
}

int iomt_ccm_encrypt(const struct iomt_aes128 *k, const uint8_t *nonce, size_t nonce_len,
		     const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t len,
		     uint8_t *ct, uint8_t *tag, size_t tag_len)
{
	struct ccm s;
	int ret = ccm_check(k, nonce, nonce_len, aad, aad_len, pt, len, ct, tag, tag_len);

	if (ret)
		return ret;
	ret = CCM_DRIVER(encrypt, k->rk[0], nonce, nonce_len, aad, aad_len, pt, len, ct, tag,
			 tag_len);
	if (ret != IOMT_EUNSUPP)
		return ret;
	ccm_start(&s, k, nonce, nonce_len, aad_len, len, tag_len);
	ccm_aad(&s, aad, aad_len);
	ccm_crypt(&s, pt, ct, len, 0, tag, tag_len);
	iomt_wipe(&s, sizeof(s));
	return IOMT_OK;
}

int iomt_ccm_decrypt(const struct iomt_aes128 *k, const uint8_t *nonce, size_t nonce_len,
		     const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t len,
		     const uint8_t *tag, size_t tag_len, uint8_t *pt)
{
	struct ccm s;
	uint8_t mac[BLOCK];
	int ret = ccm_check(k, nonce, nonce_len, aad, aad_len, ct, len, pt, tag, tag_len);

	if (ret)
		return ret;
	ret = CCM_DRIVER(decrypt, k->rk[0], nonce, nonce_len, aad, aad_len, ct, len, pt, mac,
			 tag_len);
	if (ret == IOMT_EUNSUPP) {
		ccm_start(&s, k, nonce, nonce_len, aad_len, len, tag_len);
		ccm_aad(&s, aad, aad_len);
		ccm_crypt(&s, ct, pt, len, 1, mac, tag_len);
		ret = IOMT_OK;
	}
	if (!ret && !iomt_ct_eq(mac, tag, tag_len))
		ret = IOMT_EAUTH;
	/* Never hand out plaintext that did not authenticate. */
	if (ret)
		iomt_wipe(pt, len);
	iomt_wipe(&s, sizeof(s));
	iomt_wipe(mac, sizeof(mac));
	return ret;
}
