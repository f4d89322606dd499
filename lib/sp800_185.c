/* SPDX-License-Identifier: MIT */
/* cSHAKE128 and KMAC128 (NIST SP 800-185 sections 3 and 4). */
#include <string.h>
#include "sp800_185.h"
#include "bytes.h"
#include "ct.h"
#include "iomt_err.h"
#include "sp800_185_enc.h"

enum { RATE = IOMT_SHAKE128_RATE };

/* The encodings (sp800_185_enc.h) behind one out-of-line function here:
 * three call sites share it, as the firmware's flash figure assumes. */
static unsigned encode_int(uint8_t out[IOMT_SP800_185_ENC_MAX], uint64_t x, int right)
{
	return iomt_sp800_185_encode(out, x, right);
}

/* encode_string(S) = left_encode(8 * len(S)) || S. Inlined, as is the
 * cSHAKE prefix into KMAC's: each call level is a frame under the
 * permutation on a sensor's deepest stack (issue 8). */
static inline __attribute__((always_inline)) int
absorb_string(struct iomt_shake128 *s, const void *p, size_t len)
{
	uint8_t enc[9];

	if (iomt_sp800_185_bits_overflow(len))
		return IOMT_ESIZE;
	iomt_shake128_absorb(s, enc, encode_int(enc, (uint64_t)len * 8, 0));
	return iomt_shake128_absorb(s, p, len);
}

/* bytepad(..., 168): zero-fill to the block boundary; zeros XOR to nothing,
 * so only the pending permutation is left to do. */
static void pad_to_block(struct iomt_shake128 *s)
{
	iomt_shake128_pad_block(s);
}

static inline __attribute__((always_inline)) void absorb_bytepad_header(struct iomt_shake128 *s)
{
	uint8_t enc[9];

	iomt_shake128_absorb(s, enc, encode_int(enc, RATE, 0));
}

static inline __attribute__((always_inline)) int
cshake_init(struct iomt_shake128 *s, const void *n, size_t nlen, const void *custom,
	    size_t customlen)
{
	int err;

	iomt_shake128_init(s);
	if (!nlen && !customlen)
		return IOMT_OK;
	if ((nlen && !n) || (customlen && !custom))
		return IOMT_EINVAL;
	s->dsbyte = 0x04;
	absorb_bytepad_header(s);
	err = absorb_string(s, n, nlen);
	if (!err)
		err = absorb_string(s, custom, customlen);
	pad_to_block(s);
	return err;
}

int iomt_cshake128_init(struct iomt_shake128 *s, const void *n, size_t nlen,
			const void *custom, size_t customlen)
{
	return cshake_init(s, n, nlen, custom, customlen);
}

int iomt_kmac128_init(struct iomt_shake128 *s, const void *key, size_t keylen,
		      const void *custom, size_t customlen)
{
	int err;

	if (keylen && !key)
		return IOMT_EINVAL;
	err = cshake_init(s, "KMAC", 4, custom, customlen);
	if (err)
		return err;
	absorb_bytepad_header(s);
	err = absorb_string(s, key, keylen);
	pad_to_block(s);
	return err;
}

int iomt_kmac128_update(struct iomt_shake128 *s, const void *msg, size_t len)
{
	if (len && !msg)
		return IOMT_EINVAL;
	return iomt_shake128_absorb(s, msg, len);
}

static inline __attribute__((always_inline)) int
kmac_finish(struct iomt_shake128 *s, void *out, size_t outlen, uint64_t lbits)
{
	uint8_t enc[9];
	int err;

	if (outlen && !out)
		return IOMT_EINVAL;
	err = iomt_shake128_absorb(s, enc, encode_int(enc, lbits, 1));
	if (err)
		return err;
	iomt_shake128_squeeze(s, out, outlen);
	return IOMT_OK;
}

int iomt_kmac128_final(struct iomt_shake128 *s, void *out, size_t outlen)
{
	if (iomt_sp800_185_bits_overflow(outlen))
		return IOMT_ESIZE;
	return kmac_finish(s, out, outlen, (uint64_t)outlen * 8);
}

int iomt_kmac128_final_xof(struct iomt_shake128 *s, void *out, size_t outlen)
{
	return kmac_finish(s, out, outlen, 0);
}

int iomt_kmac128(const void *key, size_t keylen, const void *custom, size_t customlen,
		 const void *msg, size_t msglen, void *out, size_t outlen)
{
	struct iomt_shake128 s;
	int err;

	err = iomt_kmac128_init(&s, key, keylen, custom, customlen);
	if (!err)
		err = iomt_kmac128_update(&s, msg, msglen);
	if (!err)
		err = iomt_kmac128_final(&s, out, outlen);
	iomt_shake128_wipe(&s);
	return err;
}
