/* SPDX-License-Identifier: MIT */
/* AES-128 encryption with AES-NI. The byte round keys from aes.c are exactly
 * what AESENC wants, so there is no separate key expansion here. Blocks go
 * through in groups of 8, 4, 2, 1: AESENC has a latency of several cycles but
 * issues every cycle, so independent blocks hide it. */
#include "cpu.h"

#ifdef IOMT_X86
#include <wmmintrin.h>
#include "aes.h"

static inline __attribute__((always_inline)) void
encrypt_n(const uint8_t rk[IOMT_AES128_ROUNDS + 1][16], const uint8_t *in, uint8_t *out,
	  unsigned n)
{
	__m128i b[8], k;

	k = _mm_loadu_si128((const __m128i *)rk[0]);
	for (unsigned i = 0; i < n; i++)
		b[i] = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(in + 16 * i)), k);
	for (unsigned r = 1; r < IOMT_AES128_ROUNDS; r++) {
		k = _mm_loadu_si128((const __m128i *)rk[r]);
		for (unsigned i = 0; i < n; i++)
			b[i] = _mm_aesenc_si128(b[i], k);
	}
	k = _mm_loadu_si128((const __m128i *)rk[IOMT_AES128_ROUNDS]);
	for (unsigned i = 0; i < n; i++)
		_mm_storeu_si128((__m128i *)(out + 16 * i), _mm_aesenclast_si128(b[i], k));
}

void iomt_aes128_encrypt_blocks_aesni(const uint8_t rk[IOMT_AES128_ROUNDS + 1][16],
				      const uint8_t *in, uint8_t *out, size_t nblocks)
{
	for (; nblocks >= 8; nblocks -= 8, in += 128, out += 128)
		encrypt_n(rk, in, out, 8);
	if (nblocks >= 4) {
		encrypt_n(rk, in, out, 4);
		nblocks -= 4, in += 64, out += 64;
	}
	if (nblocks >= 2) {
		encrypt_n(rk, in, out, 2);
		nblocks -= 2, in += 32, out += 32;
	}
	if (nblocks)
		encrypt_n(rk, in, out, 1);
}

#endif
