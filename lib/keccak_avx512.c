/* SPDX-License-Identifier: MIT */
/* Keccak-f[1600] over 8 independent states with AVX-512 F: lane l of zmm
 * register w holds word w of instance l, which is exactly the interleaved
 * layout of iomt_keccak_f1600_x8(), so each word is one load and one store.
 * All 25 words stay in registers for the 24 rounds (there are 32), so no
 * copy of the state is spilled to the stack and there is nothing to wipe. */
#include "keccak_impl.h"

#ifdef IOMT_X86
#include <immintrin.h>

/* vpternlogq's immediate is a truth table: bit (a << 2 | b << 1 | c) is the
 * result for input bits a, b, c. 0x96 = a ^ b ^ c; 0xD2 = a ^ (~b & c). */
#define XOR3(a, b, c) _mm512_ternarylogic_epi64((a), (b), (c), 0x96)
#define CHI(a, b, c) _mm512_ternarylogic_epi64((a), (b), (c), 0xD2)
#define ROL(x, n) _mm512_rol_epi64((x), (n))
#define XOR(a, b) _mm512_xor_si512((a), (b))

/* The state needs 25 of the 32 registers and a round never needs more than
 * 31 at once, but only if each phase finishes before the next begins. Left
 * alone, GCC 12 starts the next round's column sums while the last chi row
 * is still live (or hoists rotations) and spills a few words to the stack,
 * where nothing would wipe them. An empty asm that "modifies" all 25 words
 * is a fence the compiler cannot move work across. It emits no instruction.
 * (An asm takes at most 30 operands, and "+v" counts twice: two halves.) */
#define FENCE(s)                                                         \
	do {                                                             \
		__asm__("" : "+v"(s##0), "+v"(s##1), "+v"(s##2), "+v"(s##3), \
			"+v"(s##4), "+v"(s##5), "+v"(s##6), "+v"(s##7),  \
			"+v"(s##8), "+v"(s##9), "+v"(s##10), "+v"(s##11), \
			"+v"(s##12));                                    \
		__asm__("" : "+v"(s##13), "+v"(s##14), "+v"(s##15),      \
			"+v"(s##16), "+v"(s##17), "+v"(s##18), "+v"(s##19), \
			"+v"(s##20), "+v"(s##21), "+v"(s##22), "+v"(s##23), \
			"+v"(s##24));                                    \
	} while (0)

/* Theta for one column of state s: d = c[x-1] ^ rol(c[x+1], 1) is folded
 * into the column's five words right away, so no d stays live. */
#define THETA_COL(s, x0, x1, x2, x3, x4, cm, cp)                         \
	do {                                                             \
		__m512i d_ = XOR(cm, ROL(cp, 1));                        \
		s##x0 = XOR(s##x0, d_);                                  \
		s##x1 = XOR(s##x1, d_);                                  \
		s##x2 = XOR(s##x2, d_);                                  \
		s##x3 = XOR(s##x3, d_);                                  \
		s##x4 = XOR(s##x4, d_);                                  \
	} while (0)

/* One output row of rho, pi and chi: the five words that pi moves into the
 * row, each rotated by its rho offset (word 0's offset is 0: no rotate),
 * then chi across them. Each input word is read once, so at most 25 words +
 * 2 chi copies are live. */
#define ROW(o0, o1, o2, o3, o4, i0, r0, i1, r1, i2, r2, i3, r3, i4, r4)  \
	do {                                                             \
		__m512i b0_ = (r0) ? ROL(i0, r0) : (i0);                 \
		__m512i b1_ = ROL(i1, r1), b2_ = ROL(i2, r2);            \
		__m512i b3_ = ROL(i3, r3), b4_ = ROL(i4, r4);            \
		o0 = CHI(b0_, b1_, b2_);                                 \
		o1 = CHI(b1_, b2_, b3_);                                 \
		o2 = CHI(b2_, b3_, b4_);                                 \
		o3 = CHI(b3_, b4_, b0_);                                 \
		o4 = CHI(b4_, b0_, b1_);                                 \
	} while (0)

/* One round from state s to state t (s##w is word w = x + 5y); rho offsets
 * and pi positions as in the scalar code of keccak.c. The column sums peak
 * at 25 words + 5 c + d = 31 registers. */
#define ROUND(s, t, rc)                                                  \
	do {                                                             \
		FENCE(s);                                                \
		__m512i c0_ = XOR3(XOR3(s##0, s##5, s##10), s##15, s##20); \
		__m512i c1_ = XOR3(XOR3(s##1, s##6, s##11), s##16, s##21); \
		__m512i c2_ = XOR3(XOR3(s##2, s##7, s##12), s##17, s##22); \
		__m512i c3_ = XOR3(XOR3(s##3, s##8, s##13), s##18, s##23); \
		__m512i c4_ = XOR3(XOR3(s##4, s##9, s##14), s##19, s##24); \
		THETA_COL(s, 0, 5, 10, 15, 20, c4_, c1_);                \
		THETA_COL(s, 1, 6, 11, 16, 21, c0_, c2_);                \
		THETA_COL(s, 2, 7, 12, 17, 22, c1_, c3_);                \
		THETA_COL(s, 3, 8, 13, 18, 23, c2_, c4_);                \
		THETA_COL(s, 4, 9, 14, 19, 24, c3_, c0_);                \
		FENCE(s);                                                \
		ROW(t##0, t##1, t##2, t##3, t##4,                        \
		    s##0, 0, s##6, 44, s##12, 43, s##18, 21, s##24, 14); \
		ROW(t##5, t##6, t##7, t##8, t##9,                        \
		    s##3, 28, s##9, 20, s##10, 3, s##16, 45, s##22, 61); \
		ROW(t##10, t##11, t##12, t##13, t##14,                   \
		    s##1, 1, s##7, 6, s##13, 25, s##19, 8, s##20, 18);   \
		ROW(t##15, t##16, t##17, t##18, t##19,                   \
		    s##4, 27, s##5, 36, s##11, 10, s##17, 15, s##23, 56); \
		ROW(t##20, t##21, t##22, t##23, t##24,                   \
		    s##2, 62, s##8, 55, s##14, 39, s##15, 41, s##21, 2); \
		t##0 = XOR(t##0, _mm512_set1_epi64((long long)(rc)));    \
	} while (0)

void iomt_keccak_f1600_x8_avx512(uint64_t st[25 * 8])
{
	__m512i a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12;
	__m512i a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24;
	__m512i e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11, e12;
	__m512i e13, e14, e15, e16, e17, e18, e19, e20, e21, e22, e23, e24;

#define LD(w) a##w = _mm512_loadu_si512((const void *)(st + 8 * (w)))
	LD(0); LD(1); LD(2); LD(3); LD(4); LD(5); LD(6); LD(7); LD(8); LD(9);
	LD(10); LD(11); LD(12); LD(13); LD(14); LD(15); LD(16); LD(17);
	LD(18); LD(19); LD(20); LD(21); LD(22); LD(23); LD(24);
#undef LD

	/* Two rounds per pass, a -> e -> a, so no copying between rounds.
	 * Unrolling further or fully was no faster and spilled. */
	for (int i = 0; i < 24; i += 2) {
		ROUND(a, e, iomt_keccak_rc[i]);
		ROUND(e, a, iomt_keccak_rc[i + 1]);
	}

#define ST(w) _mm512_storeu_si512((void *)(st + 8 * (w)), a##w)
	ST(0); ST(1); ST(2); ST(3); ST(4); ST(5); ST(6); ST(7); ST(8); ST(9);
	ST(10); ST(11); ST(12); ST(13); ST(14); ST(15); ST(16); ST(17);
	ST(18); ST(19); ST(20); ST(21); ST(22); ST(23); ST(24);
#undef ST
}

#endif
