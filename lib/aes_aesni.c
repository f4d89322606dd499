/* SPDX-License-Identifier: MIT */
/* AES-128 encryption with AES-NI, and its key expansion (AESKEYGENASSIST)
 * into the byte round keys of struct iomt_aes128, which AESENC takes as they
 * are. Blocks go
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

/* One FIPS 197 key-expansion step: kg holds SubWord(RotWord(w3)) ^ Rcon in
 * its top word; w0..w3 each take the XOR of all the words before them. */
static inline __m128i expand_step(__m128i k, __m128i kg)
{
	kg = _mm_shuffle_epi32(kg, 0xff);
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	return _mm_xor_si128(k, kg);
}

/* The round constant is an immediate operand, hence a macro per round. */
#define EXPAND(r, rcon)                                                     \
	do {                                                                \
		k = expand_step(k, _mm_aeskeygenassist_si128(k, rcon));     \
		_mm_storeu_si128((__m128i *)rk[r], k);                      \
	} while (0)

/* rk: IOMT_AES128_ROUNDS + 1 round keys (a pointer, not an array parameter:
 * GCC 12 misreads 2-D array parameters under -Wstringop-overflow). */
void iomt_aes128_expand_aesni(const uint8_t *key, uint8_t (*rk)[IOMT_AES_BLOCK_LEN])
{
	__m128i k = _mm_loadu_si128((const __m128i *)key);

	_mm_storeu_si128((__m128i *)rk[0], k);
	EXPAND(1, 0x01);
	EXPAND(2, 0x02);
	EXPAND(3, 0x04);
	EXPAND(4, 0x08);
	EXPAND(5, 0x10);
	EXPAND(6, 0x20);
	EXPAND(7, 0x40);
	EXPAND(8, 0x80);
	EXPAND(9, 0x1b);
	EXPAND(10, 0x36);
	k = _mm_setzero_si128();
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
