/* SPDX-License-Identifier: MIT */
/* AES-128 encryption (FIPS 197), bitsliced over 32-bit words, two blocks per
 * pass, plus the dispatch to AES-NI; and, for 32-bit CPUs (IOMT_AES_32), a
 * small column-word AES with a computed S-box.
 *
 * A table-driven AES leaks its key through the cache; on Cortex-M3 parts with
 * flash wait states or a cache the same holds. Bitslicing turns SubBytes into
 * a fixed Boolean circuit, so time and memory accesses never depend on data.
 *
 * Layout: a pass holds blocks b = 0, 1 in eight words q[0..7]; q[j] holds bit
 * j of every state byte, the byte in row r, column c of block b at bit
 * 8r + 4b + c. So each row is one byte of the word: ShiftRows rotates
 * nibbles, and MixColumns combines rows by rotating whole words by 8.
 *
 * 64-bit hosts keep the sliced schedule in the context (sk[]). IOMT_AES_32
 * builds (aes.h: 32-bit CPUs, the sensor firmware) have the code at the end:
 * there flash is the budget (issue 8) and AES is off the agreement's
 * instruction count. */
#include <string.h>
#include "aes.h"
#include "bytes.h"
#include "ct.h"
#include "iomt_err.h"

#if defined(IOMT_X86) && !defined(IOMT_AES_32)
#define AES_NI 1
#endif

#ifndef IOMT_AES_32
static inline uint32_t rotr32(uint32_t x, unsigned n)
{
	return x >> n | x << (32 - n);
}

/* Exchanges the bits of b at mask with the bits of a at mask << n: with a
 * and b differing in one bit of the word index, that swaps that index bit
 * with bit log2(n) of the bit position. */
static inline __attribute__((always_inline)) void swapmove(uint32_t *a, uint32_t *b,
								  uint32_t mask, unsigned n)
{
	uint32_t t = ((*a >> n) ^ *b) & mask;

	*b ^= t;
	*a ^= t << n;
}

/* Loaded little-endian, word 4b + c holds column c of block b with bit j of
 * row r at bit 8r + j. Swapping the three word-index bits with the three low
 * bit-position bits gives the bitsliced layout above; it is an involution. */
static void transpose(uint32_t q[8])
{
	/* In locals (and swapmove inlined, which -Os would not do): a
	 * 13-register CPU then transposes without memory traffic or calls. */
	uint32_t q0 = q[0], q1 = q[1], q2 = q[2], q3 = q[3];
	uint32_t q4 = q[4], q5 = q[5], q6 = q[6], q7 = q[7];

	swapmove(&q0, &q1, 0x55555555, 1);
	swapmove(&q2, &q3, 0x55555555, 1);
	swapmove(&q4, &q5, 0x55555555, 1);
	swapmove(&q6, &q7, 0x55555555, 1);
	swapmove(&q0, &q2, 0x33333333, 2);
	swapmove(&q1, &q3, 0x33333333, 2);
	swapmove(&q4, &q6, 0x33333333, 2);
	swapmove(&q5, &q7, 0x33333333, 2);
	swapmove(&q0, &q4, 0x0f0f0f0f, 4);
	swapmove(&q1, &q5, 0x0f0f0f0f, 4);
	swapmove(&q2, &q6, 0x0f0f0f0f, 4);
	swapmove(&q3, &q7, 0x0f0f0f0f, 4);
	q[0] = q0, q[1] = q1, q[2] = q2, q[3] = q3;
	q[4] = q4, q[5] = q5, q[6] = q6, q[7] = q7;
}

static uint32_t load_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Words 0..n-1 of q from in, little-endian (4 words a block); the rest zero.
 * Transposed, q then holds n / 4 blocks sliced. */
static void load_words(uint32_t q[8], const uint8_t *in, unsigned n)
{
	for (unsigned i = 0; i < 8; i++)
		q[i] = i < n ? load_le32(in + 4 * i) : 0;
}

static void store_words(uint8_t *out, const uint32_t q[8], unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		out[4 * i] = (uint8_t)q[i];
		out[4 * i + 1] = (uint8_t)(q[i] >> 8);
		out[4 * i + 2] = (uint8_t)(q[i] >> 16);
		out[4 * i + 3] = (uint8_t)(q[i] >> 24);
	}
}

/* SubBytes on all 32 bytes: the AES S-box as the straight-line program of
 * Boyar and Peralta, "A small depth-16 circuit for the AES S-box" (SEC 2012):
 * 128 gates, 34 of them AND; U0 and S0 are the most significant bits. */
static void sub_bytes(uint32_t q[8])
{
	uint32_t u0 = q[7], u1 = q[6], u2 = q[5], u3 = q[4];
	uint32_t u4 = q[3], u5 = q[2], u6 = q[1], u7 = q[0];
	uint32_t t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14;
	uint32_t t15, t16, t17, t18, t19, t20, t21, t22, t23, t24, t25, t26, t27;
	uint32_t m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14;
	uint32_t m15, m16, m17, m18, m19, m20, m21, m22, m23, m24, m25, m26, m27;
	uint32_t m28, m29, m30, m31, m32, m33, m34, m35, m36, m37, m38, m39, m40;
	uint32_t m41, m42, m43, m44, m45, m46, m47, m48, m49, m50, m51, m52, m53;
	uint32_t m54, m55, m56, m57, m58, m59, m60, m61, m62, m63;
	uint32_t l0, l1, l2, l3, l4, l5, l6, l7, l8, l9, l10, l11, l12, l13, l14;
	uint32_t l15, l16, l17, l18, l19, l20, l21, l22, l23, l24, l25, l26, l27;
	uint32_t l28, l29;

	/* Top linear layer. */
	t1 = u0 ^ u3;
	t2 = u0 ^ u5;
	t3 = u0 ^ u6;
	t4 = u3 ^ u5;
	t5 = u4 ^ u6;
	t6 = t1 ^ t5;
	t7 = u1 ^ u2;
	t8 = u7 ^ t6;
	t9 = u7 ^ t7;
	t10 = t6 ^ t7;
	t11 = u1 ^ u5;
	t12 = u2 ^ u5;
	t13 = t3 ^ t4;
	t14 = t6 ^ t11;
	t15 = t5 ^ t11;
	t16 = t5 ^ t12;
	t17 = t9 ^ t16;
	t18 = u3 ^ u7;
	t19 = t7 ^ t18;
	t20 = t1 ^ t19;
	t21 = u6 ^ u7;
	t22 = t7 ^ t21;
	t23 = t2 ^ t22;
	t24 = t2 ^ t10;
	t25 = t20 ^ t17;
	t26 = t3 ^ t16;
	t27 = t1 ^ t12;

	/* Shared non-linear middle: inversion in GF(2^8) via GF(2^4). */
	m1 = t13 & t6;
	m2 = t23 & t8;
	m3 = t14 ^ m1;
	m4 = t19 & u7;
	m5 = m4 ^ m1;
	m6 = t3 & t16;
	m7 = t22 & t9;
	m8 = t26 ^ m6;
	m9 = t20 & t17;
	m10 = m9 ^ m6;
	m11 = t1 & t15;
	m12 = t4 & t27;
	m13 = m12 ^ m11;
	m14 = t2 & t10;
	m15 = m14 ^ m11;
	m16 = m3 ^ m2;
	m17 = m5 ^ t24;
	m18 = m8 ^ m7;
	m19 = m10 ^ m15;
	m20 = m16 ^ m13;
	m21 = m17 ^ m15;
	m22 = m18 ^ m13;
	m23 = m19 ^ t25;
	m24 = m22 ^ m23;
	m25 = m22 & m20;
	m26 = m21 ^ m25;
	m27 = m20 ^ m21;
	m28 = m23 ^ m25;
	m29 = m28 & m27;
	m30 = m26 & m24;
	m31 = m20 & m23;
	m32 = m27 & m31;
	m33 = m27 ^ m25;
	m34 = m21 & m22;
	m35 = m24 & m34;
	m36 = m24 ^ m25;
	m37 = m21 ^ m29;
	m38 = m32 ^ m33;
	m39 = m23 ^ m30;
	m40 = m35 ^ m36;
	m41 = m38 ^ m40;
	m42 = m37 ^ m39;
	m43 = m37 ^ m38;
	m44 = m39 ^ m40;
	m45 = m42 ^ m41;
	m46 = m44 & t6;
	m47 = m40 & t8;
	m48 = m39 & u7;
	m49 = m43 & t16;
	m50 = m38 & t9;
	m51 = m37 & t17;
	m52 = m42 & t15;
	m53 = m45 & t27;
	m54 = m41 & t10;
	m55 = m44 & t13;
	m56 = m40 & t23;
	m57 = m39 & t19;
	m58 = m43 & t3;
	m59 = m38 & t22;
	m60 = m37 & t20;
	m61 = m42 & t1;
	m62 = m45 & t4;
	m63 = m41 & t2;

	/* Bottom linear layer, with the affine constant 0x63 as XNORs. */
	l0 = m61 ^ m62;
	l1 = m50 ^ m56;
	l2 = m46 ^ m48;
	l3 = m47 ^ m55;
	l4 = m54 ^ m58;
	l5 = m49 ^ m61;
	l6 = m62 ^ l5;
	l7 = m46 ^ l3;
	l8 = m51 ^ m59;
	l9 = m52 ^ m53;
	l10 = m53 ^ l4;
	l11 = m60 ^ l2;
	l12 = m48 ^ m51;
	l13 = m50 ^ l0;
	l14 = m52 ^ m61;
	l15 = m55 ^ l1;
	l16 = m56 ^ l0;
	l17 = m57 ^ l1;
	l18 = m58 ^ l8;
	l19 = m63 ^ l4;
	l20 = l0 ^ l1;
	l21 = l1 ^ l7;
	l22 = l3 ^ l12;
	l23 = l18 ^ l2;
	l24 = l15 ^ l9;
	l25 = l6 ^ l10;
	l26 = l7 ^ l9;
	l27 = l8 ^ l10;
	l28 = l11 ^ l14;
	l29 = l11 ^ l17;
	q[7] = l6 ^ l24;
	q[6] = ~(l16 ^ l26);
	q[5] = ~(l19 ^ l28);
	q[4] = l6 ^ l21;
	q[3] = l20 ^ l22;
	q[2] = l25 ^ l29;
	q[1] = ~(l13 ^ l27);
	q[0] = ~(l6 ^ l23);
}

/* Row r (byte r of each word) rotates its two nibbles right by r: the new
 * column c takes the old column c + r mod 4. */
static void shift_rows(uint32_t q[8])
{
	for (unsigned j = 0; j < 8; j++) {
		uint32_t x = q[j];

		q[j] = (x & 0x000000ff) |
		       ((x >> 1) & 0x00007700) | ((x << 3) & 0x00008800) |
		       ((x >> 2) & 0x00330000) | ((x << 2) & 0x00cc0000) |
		       ((x >> 3) & 0x11000000) | ((x << 1) & 0xee000000);
	}
}

/* out_r = 2 a_r + 3 a_{r+1} + a_{r+2} + a_{r+3}
 *       = 2 (a_r + a_{r+1}) + a_{r+1} + (a_{r+2} + a_{r+3}).
 * rotr32(., 8) brings row r + 1 to row r; doubling is the xtime shift with
 * the reduction by x^8 = x^4 + x^3 + x + 1 folded into bits 1, 3, 4. */
static void mix_columns(uint32_t q[8])
{
	uint32_t a0 = rotr32(q[0], 8), a1 = rotr32(q[1], 8), a2 = rotr32(q[2], 8);
	uint32_t a3 = rotr32(q[3], 8), a4 = rotr32(q[4], 8), a5 = rotr32(q[5], 8);
	uint32_t a6 = rotr32(q[6], 8), a7 = rotr32(q[7], 8);
	uint32_t t0 = q[0] ^ a0, t1 = q[1] ^ a1, t2 = q[2] ^ a2, t3 = q[3] ^ a3;
	uint32_t t4 = q[4] ^ a4, t5 = q[5] ^ a5, t6 = q[6] ^ a6, t7 = q[7] ^ a7;

	q[0] = t7 ^ a0 ^ rotr32(t0, 16);
	q[1] = t0 ^ t7 ^ a1 ^ rotr32(t1, 16);
	q[2] = t1 ^ a2 ^ rotr32(t2, 16);
	q[3] = t2 ^ t7 ^ a3 ^ rotr32(t3, 16);
	q[4] = t3 ^ t7 ^ a4 ^ rotr32(t4, 16);
	q[5] = t4 ^ a5 ^ rotr32(t5, 16);
	q[6] = t5 ^ a6 ^ rotr32(t6, 16);
	q[7] = t6 ^ a7 ^ rotr32(t7, 16);
}

static void add_round_key(uint32_t q[8], const uint32_t sk[8])
{
	for (unsigned j = 0; j < 8; j++)
		q[j] ^= sk[j];
}

static void pack(uint32_t q[8], const uint8_t in[32])
{
	for (unsigned i = 0; i < 4; i++) {
		uint64_t v = iomt_load_le64(in + 8 * i);

		q[2 * i] = (uint32_t)v;
		q[2 * i + 1] = (uint32_t)(v >> 32);
	}
	transpose(q);
}

static void unpack(uint8_t out[32], uint32_t q[8])
{
	transpose(q);
	for (unsigned i = 0; i < 4; i++)
		iomt_store_le64(out + 8 * i, (uint64_t)q[2 * i + 1] << 32 | q[2 * i]);
}

/* Encrypts the two blocks held in q (bitsliced). */
static void encrypt2(const uint32_t sk[IOMT_AES128_ROUNDS + 1][8], uint32_t q[8])
{
	add_round_key(q, sk[0]);
	for (unsigned r = 1; r < IOMT_AES128_ROUNDS; r++) {
		sub_bytes(q);
		shift_rows(q);
		mix_columns(q);
		add_round_key(q, sk[r]);
	}
	sub_bytes(q);
	shift_rows(q);
	add_round_key(q, sk[IOMT_AES128_ROUNDS]);
}

/* Round key rk, sliced and repeated for both blocks of a pass. */
static void slice_key(const uint8_t rk[16], uint32_t k[8])
{
	load_words(k, rk, 4);
	transpose(k);
	/* Block 1 was zero: its bits (the high nibble of each byte) are a copy
	 * of block 0's. */
	for (unsigned j = 0; j < 8; j++)
		k[j] |= (k[j] & 0x0f0f0f0f) << 4;
}

/* Byte round keys -> bitsliced round keys. */
static void slice_keys(const uint8_t (*rk)[16], uint32_t (*sk)[8])
{
	for (unsigned r = 0; r <= IOMT_AES128_ROUNDS; r++)
		slice_key(rk[r], sk[r]);
}

static void encrypt_blocks_bitsliced(const struct iomt_aes128 *ctx, const uint8_t *in,
				     uint8_t *out, size_t nblocks)
{
	uint32_t local[IOMT_AES128_ROUNDS + 1][8];
	const uint32_t (*sk)[8] = (const uint32_t (*)[8])ctx->sk;
	uint32_t q[8];
	uint8_t pair[32];

	if (!ctx->sliced) {
		slice_keys(ctx->rk, local);
		sk = (const uint32_t (*)[8])local;
	}

	for (; nblocks >= 2; nblocks -= 2, in += 32, out += 32) {
		pack(q, in);
		encrypt2(sk, q);
		unpack(out, q);
	}
	if (nblocks) {
		/* An odd block rides with a zero block: a pass costs the same. */
		memcpy(pair, in, 16);
		memset(pair + 16, 0, 16);
		pack(q, pair);
		encrypt2(sk, q);
		unpack(pair, q);
		memcpy(out, pair, 16);
		iomt_wipe(pair, sizeof(pair));
	}
	/* In CTR mode the output is key stream. */
	iomt_wipe(q, sizeof(q));
	if (!ctx->sliced)
		iomt_wipe(local, sizeof(local));
}


/* S-box on 4 bytes for the key schedule, through the same circuit: w is
 * column 0 of block 0 of a pass whose other bytes are zero. */
static void sub_word(uint8_t w[4])
{
	uint32_t q[8];

	load_words(q, w, 1);
	transpose(q);
	sub_bytes(q);
	transpose(q);
	store_words(w, q, 1);
	iomt_wipe(q, sizeof(q));
}

static const uint8_t rcon[IOMT_AES128_ROUNDS] = {
	0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36,
};

/* Round key r + 1 from round key r (FIPS 197 5.2), in place:
 * temp = SubWord(RotWord(w[i-1])) ^ Rcon, then each word XORs the one before. */
static void key_step(uint8_t *next, const uint8_t *prev, unsigned r)
{
	uint8_t t[4];

	t[0] = prev[13];
	t[1] = prev[14];
	t[2] = prev[15];
	t[3] = prev[12];
	sub_word(t);
	t[0] ^= rcon[r];
	for (unsigned i = 0; i < 16; i++)
		next[i] = prev[i] ^ (i < 4 ? t[i] : next[i - 4]);
	iomt_wipe(t, sizeof(t));
}

int iomt_aes128_init(struct iomt_aes128 *ctx, const uint8_t key[16])
{
	if (!ctx || !key)
		return IOMT_EINVAL;
	/* A reused context keeps nothing of its previous key, whichever
	 * implementation (sliced, bytes or AES-NI) filled it last. */
	iomt_wipe(ctx, sizeof(*ctx));
#ifdef AES_NI
	if (iomt_aes_hw_active()) {
		iomt_aes128_expand_aesni(key, ctx->rk);
		return IOMT_OK;
	}
#endif
	memcpy(ctx->rk[0], key, 16);
	for (unsigned r = 1; r <= IOMT_AES128_ROUNDS; r++)
		key_step(ctx->rk[r], ctx->rk[r - 1], r - 1);
	slice_keys((const uint8_t (*)[16])ctx->rk, ctx->sk);
	ctx->sliced = 1;
	return IOMT_OK;
}
#else
/* 32-bit CPUs. The state is four column words, byte r of word c the byte in
 * row r, column c (loaded little-endian), and each step works on the four
 * bytes of a word at once. No tables: the S-box is computed by its
 * definition (FIPS 197 5.1.1), the inverse in GF(2^8) as x^254 = (x^127)^2,
 * x^127 by Itoh-Tsujii (x^(2^(k+1) - 1) = (x^(2^k - 1))^2 x), then the affine
 * map; products by shifts, masks and multiplications by constants (one cycle
 * whatever the operands on Cortex-M3). No branch or address depends on data.
 * About 42 000 instructions a block on Cortex-M3 (several times the bitsliced
 * circuit's; off the agreement's count) in a third of its flash (~470 bytes
 * against ~1 430). The round keys are expanded on the fly from the key
 * (rk[0]), one round at a time, in both context layouts. */
#define LSB 0x01010101u

static uint32_t load_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Each byte of a times x (xtime), and each byte of a times the same byte of
 * b, in GF(2^8) mod x^8 + x^4 + x^3 + x + 1. */
static uint32_t xtime4(uint32_t a)
{
	return ((a & 0x7f7f7f7fu) << 1) ^ ((a >> 7 & LSB) * 0x1b);
}

static uint32_t gf_mul4(uint32_t a, uint32_t b)
{
	uint32_t r = 0;

	for (unsigned i = 0; i < 8; i++) {
		r ^= a & ((b >> i & LSB) * 0xff);
		a = xtime4(a);
	}
	return r;
}

/* SubBytes on the four bytes of x. */
static uint32_t sub_word4(uint32_t x)
{
	uint32_t b = x, s;

	for (unsigned k = 0; k < 6; k++)
		b = gf_mul4(gf_mul4(b, b), x);
	b = gf_mul4(b, b);
	/* s = b + (b <<< 1) + (b <<< 2) + (b <<< 3) + (b <<< 4) + 0x63, bytewise. */
	s = b ^ 0x63636363u;
	for (unsigned k = 0; k < 4; k++) {
		b = ((b << 1) & 0xfefefefeu) | (b >> 7 & LSB);
		s ^= b;
	}
	return s;
}

static inline uint32_t rotr32(uint32_t x, unsigned n)
{
	return x >> n | x << (32 - n);
}

/* Round key r + 1 from round key r in k (FIPS 197 5.2): temp =
 * SubWord(RotWord(w[i-1])) ^ Rcon, then each word XORs the one before;
 * rc is Rcon's first byte. */
static void key_next(uint32_t k[4], uint32_t rc)
{
	k[0] ^= sub_word4(rotr32(k[3], 8)) ^ rc;
	for (unsigned c = 1; c < 4; c++)
		k[c] ^= k[c - 1];
}

static void encrypt_block(const uint8_t key[16], const uint8_t in[16], uint8_t out[16])
{
	/* s: the state, t: ShiftRows' output, k: the round key; one wipe. */
	uint32_t w[12], *s = w, *t = w + 4, *k = w + 8, rc = 1;

	for (unsigned c = 0; c < 4; c++) {
		k[c] = load_le32(key + 4 * c);
		s[c] = load_le32(in + 4 * c) ^ k[c];
	}
	for (unsigned r = 1; r <= IOMT_AES128_ROUNDS; r++) {
		key_next(k, rc);
		rc = xtime4(rc);
		/* ShiftRows (row i of column c from column c + i), then SubBytes:
		 * they commute. */
		for (unsigned c = 0; c < 4; c++) {
			uint32_t v = 0;

			for (unsigned i = 0; i < 4; i++)
				v |= s[(c + i) & 3] & 0xffu << 8 * i;
			t[c] = sub_word4(v);
		}
		/* MixColumns: 2 a_i + 3 a_{i+1} + a_{i+2} + a_{i+3}, row i + 1
		 * brought to row i by rotr32(., 8); then AddRoundKey. */
		for (unsigned c = 0; c < 4; c++) {
			uint32_t a = t[c], a1 = rotr32(a, 8);

			if (r < IOMT_AES128_ROUNDS)
				a = xtime4(a ^ a1) ^ a1 ^ rotr32(a, 16) ^ rotr32(a, 24);
			s[c] = a ^ k[c];
		}
	}
	for (unsigned c = 0; c < 4; c++)
		for (unsigned i = 0; i < 4; i++)
			out[4 * c + i] = (uint8_t)(s[c] >> 8 * i);
	/* In CTR mode the output is key stream. */
	iomt_wipe(w, sizeof(w));
}

static void encrypt_blocks_bitsliced(const struct iomt_aes128 *ctx, const uint8_t *in,
				     uint8_t *out, size_t nblocks)
{
	for (; nblocks; nblocks--, in += 16, out += 16)
		encrypt_block(ctx->rk[0], in, out);
}

int iomt_aes128_init(struct iomt_aes128 *ctx, const uint8_t key[16])
{
	if (!ctx || !key)
		return IOMT_EINVAL;
#ifndef IOMT_AES_KEY_ONLY
	iomt_wipe(ctx, sizeof(*ctx));
#endif
	memcpy(ctx->rk[0], key, 16);
#ifndef IOMT_AES_KEY_ONLY
	/* The host's context (tests): its byte round keys filled too. */
	{
		uint32_t k[4], rc = 1;

		for (unsigned c = 0; c < 4; c++)
			k[c] = load_le32(key + 4 * c);
		for (unsigned r = 1; r <= IOMT_AES128_ROUNDS; r++, rc = xtime4(rc)) {
			key_next(k, rc);
			for (unsigned c = 0; c < 4; c++)
				for (unsigned i = 0; i < 4; i++)
					ctx->rk[r][4 * c + i] = (uint8_t)(k[c] >> 8 * i);
		}
		iomt_wipe(k, sizeof(k));
	}
#endif
	return IOMT_OK;
}
#endif

void iomt_aes128_wipe(struct iomt_aes128 *ctx)
{
	iomt_wipe(ctx, sizeof(*ctx));
}

/* Which implementation runs; zero (in .bss) until the first use probes. */
enum { AES_UNPROBED, AES_PORTABLE, AES_AESNI };
static int aes_impl;

static int aes_hw_probe(void)
{
#ifdef AES_NI
	return iomt_cpu_has_aesni();
#else
	return 0;
#endif
}

int iomt_aes_hw_active(void)
{
	if (aes_impl == AES_UNPROBED)
		aes_impl = aes_hw_probe() ? AES_AESNI : AES_PORTABLE;
	return aes_impl == AES_AESNI;
}

int iomt_aes_set_hw(int allow)
{
	if (allow != 0 && allow != 1)
		return IOMT_EINVAL;
	if (allow && !aes_hw_probe())
		return IOMT_EUNSUPP;
	aes_impl = allow ? AES_AESNI : AES_PORTABLE;
	return IOMT_OK;
}

void iomt_aes128_encrypt_blocks(const struct iomt_aes128 *ctx, const uint8_t *in, uint8_t *out,
				size_t nblocks)
{
#ifdef AES_NI
	if (iomt_aes_hw_active()) {
		iomt_aes128_encrypt_blocks_aesni(ctx->rk, in, out, nblocks);
		return;
	}
#endif
	encrypt_blocks_bitsliced(ctx, in, out, nblocks);
}

void iomt_aes128_encrypt(const struct iomt_aes128 *ctx, const uint8_t in[16], uint8_t out[16])
{
	iomt_aes128_encrypt_blocks(ctx, in, out, 1);
}
