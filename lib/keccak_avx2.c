/* SPDX-License-Identifier: MIT */
/* Keccak-f[1600] over 4 independent states with AVX2: lane l of ymm word w
 * holds word w of instance l, the interleaved layout of iomt_keccak_f1600_x4().
 *
 * 25 words do not fit in 16 ymm registers, so the state stays in memory and
 * each round streams it from one array to the other: the caller's array and
 * a stack buffer, alternately, so 24 rounds end in the caller's array. A
 * round holds at most 5 d + 5 b + a few temporaries in registers, so the
 * compiler has no cause to spill, and the only stack copy of the state is
 * the buffer, which is wiped. (Keeping the words in registers and letting the
 * compiler spill was only 3% faster, and its spill slots cannot be wiped.) */
#include "keccak_impl.h"

#ifdef IOMT_X86
#include <immintrin.h>
#include "ct.h"

#define LD(p, w) _mm256_loadu_si256((const __m256i *)((p) + 4 * (w)))
#define ST(p, w, v) _mm256_storeu_si256((__m256i *)((p) + 4 * (w)), (v))
#define XOR(a, b) _mm256_xor_si256((a), (b))
/* a ^ (~b & c) */
#define CHI(a, b, c) XOR((a), _mm256_andnot_si256((b), (c)))

/* AVX2 has no 64-bit rotate: shift both ways and OR. A rotate by a whole
 * byte is a single byte shuffle (masks rot8, rot56 in keccak_round4). n is
 * always a constant, so only one branch is compiled in. */
#define ROL(x, n)                                                        \
	((n) == 0 ? (x) :                                                \
	 (n) == 8 ? _mm256_shuffle_epi8((x), rot8) :                     \
	 (n) == 56 ? _mm256_shuffle_epi8((x), rot56) :                   \
	 _mm256_or_si256(_mm256_slli_epi64((x), (n)),                    \
			 _mm256_srli_epi64((x), 64 - (n))))

/* rol(v, 1) with an add for the left shift: adds run on more ports than
 * shifts, which the rho step already keeps busy. */
#define ROL1(v) _mm256_or_si256(_mm256_add_epi64((v), (v)), _mm256_srli_epi64((v), 63))

/* One output row (words o..o+4 of t): the five words of s that pi moves
 * into the row, each with its column's d (theta) and rotated by its rho
 * offset, then chi across them, stored at once so only five b are live.
 * k is XORed into the row's first word: iota's constant for row 0. */
#define ROW(o, k, w0, r0, w1, r1, w2, r2, w3, r3, w4, r4)                \
	do {                                                             \
		__m256i b0_ = ROL(XOR(LD(s, w0), d[(w0) % 5]), r0);      \
		__m256i b1_ = ROL(XOR(LD(s, w1), d[(w1) % 5]), r1);      \
		__m256i b2_ = ROL(XOR(LD(s, w2), d[(w2) % 5]), r2);      \
		__m256i b3_ = ROL(XOR(LD(s, w3), d[(w3) % 5]), r3);      \
		__m256i b4_ = ROL(XOR(LD(s, w4), d[(w4) % 5]), r4);      \
		ST(t, (o) + 0, XOR(CHI(b0_, b1_, b2_), (k)));            \
		ST(t, (o) + 1, CHI(b1_, b2_, b3_));                      \
		ST(t, (o) + 2, CHI(b2_, b3_, b4_));                      \
		ST(t, (o) + 3, CHI(b3_, b4_, b0_));                      \
		ST(t, (o) + 4, CHI(b4_, b0_, b1_));                      \
	} while (0)

#define COLUMN(x)                                                        \
	XOR(XOR(XOR(LD(s, x), LD(s, (x) + 5)), XOR(LD(s, (x) + 10), LD(s, (x) + 15))), \
	    LD(s, (x) + 20))

/* One round from s to t (never the same array); rho offsets and pi
 * positions as in the scalar code of keccak.c. */
static inline __attribute__((always_inline)) void
keccak_round4(const uint64_t *s, uint64_t *t, uint64_t rc)
{
	const __m256i rot8 = _mm256_setr_epi8(
		7, 0, 1, 2, 3, 4, 5, 6, 15, 8, 9, 10, 11, 12, 13, 14,
		7, 0, 1, 2, 3, 4, 5, 6, 15, 8, 9, 10, 11, 12, 13, 14);
	const __m256i rot56 = _mm256_setr_epi8(
		1, 2, 3, 4, 5, 6, 7, 0, 9, 10, 11, 12, 13, 14, 15, 8,
		1, 2, 3, 4, 5, 6, 7, 0, 9, 10, 11, 12, 13, 14, 15, 8);
	const __m256i zero = _mm256_setzero_si256();
	__m256i c0, c1, c2, c3, c4, d[5];

	/* Compiler-only fences: without them GCC keeps the previous round's
	 * stores, or theta's loads for use in ROW, in registers, runs out of
	 * the 16 and spills state words to stack slots nobody wipes. */
	__asm__ __volatile__("" ::: "memory");
	c0 = COLUMN(0);
	c1 = COLUMN(1);
	c2 = COLUMN(2);
	c3 = COLUMN(3);
	c4 = COLUMN(4);
	d[0] = XOR(c4, ROL1(c1));
	d[1] = XOR(c0, ROL1(c2));
	d[2] = XOR(c1, ROL1(c3));
	d[3] = XOR(c2, ROL1(c4));
	d[4] = XOR(c3, ROL1(c0));
	__asm__ __volatile__("" ::: "memory");
	ROW(0, _mm256_set1_epi64x((long long)rc), 0, 0, 6, 44, 12, 43, 18, 21, 24, 14);
	ROW(5, zero, 3, 28, 9, 20, 10, 3, 16, 45, 22, 61);
	ROW(10, zero, 1, 1, 7, 6, 13, 25, 19, 8, 20, 18);
	ROW(15, zero, 4, 27, 5, 36, 11, 10, 17, 15, 23, 56);
	ROW(20, zero, 2, 62, 8, 55, 14, 39, 15, 41, 21, 2);
}

void iomt_keccak_f1600_x4_avx2(uint64_t st[25 * 4])
{
	uint64_t buf[25 * 4] __attribute__((aligned(32)));
	uint64_t *tmp = buf;

	/* Hide that tmp is this local array, or the compiler may forward its
	 * stores across rounds in registers (and spill) instead of reloading. */
	__asm__("" : "+r"(tmp));
	/* Two rounds per pass, st -> buf -> st. */
	for (int i = 0; i < 24; i += 2) {
		keccak_round4(st, tmp, iomt_keccak_rc[i]);
		keccak_round4(tmp, st, iomt_keccak_rc[i + 1]);
	}
	iomt_wipe(buf, sizeof(buf));
}

#endif
