/* SPDX-License-Identifier: MIT */
/* Keccak-f[1600] for 32-bit CPUs (the sensor firmware), in the
 * bit-interleaved representation of the Keccak team's implementation notes
 * (section 2.1): each 64-bit lane is held as two 32-bit words, its even bits
 * and its odd bits, so that every 64-bit rotation becomes two 32-bit
 * rotations (one instruction each, or none, on ARMv7-M). iomt_keccak_f1600_32
 * interleaves the lanes on entry and back on exit, so its interface and
 * results are those of the 64-bit code, bit for bit; a sponge keeps its
 * state interleaved (iomt_keccak_f1600_32i) and converts only the lanes its
 * bytes go through. Constant time: no branch or index depends on the state. */
#include "keccak_impl.h"
#include "ct.h"

#define ROL32(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

/* The state is permuted in place, its lanes' memory read as 32-bit words:
 * may_alias makes that defined whatever the build's aliasing rules (the
 * firmware is built without -fno-strict-aliasing). */
typedef uint32_t __attribute__((may_alias)) word32;

/* An interleaved lane: its first word in memory holds the even bits, its
 * second the odd bits, on either byte order. */
union lane {
	uint64_t u;
	uint32_t w[2];
};

/* The iota constants of lib/keccak_rc.c, interleaved: the odd words, and
 * the even words as bit r of RC_EVEN (a 64-bit constant has bits 0, 1, 3, 7,
 * 15, 31 and 63 only, so its even word is 0 or 1): half the flash of a
 * table of both words. */
#define RC_EVEN 0x50f4f1u
static const uint32_t rc_odd[24] = {
	0x00000000, 0x00000089, 0x8000008b, 0x80008080, 0x0000008b, 0x00008000,
	0x80008088, 0x80000082, 0x0000000b, 0x0000000a, 0x00008082, 0x00008003,
	0x0000808b, 0x8000000b, 0x8000008a, 0x80000081, 0x80000081, 0x80000008,
	0x00000083, 0x80008003, 0x80008088, 0x80000088, 0x00008000, 0x80008082,
};

/* Even bits of x to bits 0..15, odd bits to 16..31 (an unshuffle,
 * Hacker's Delight 7-2), and back. */
static inline __attribute__((always_inline)) uint32_t unzip(uint32_t x)
{
	uint32_t t;

	t = (x ^ (x >> 1)) & 0x22222222u; x ^= t ^ (t << 1);
	t = (x ^ (x >> 2)) & 0x0c0c0c0cu; x ^= t ^ (t << 2);
	t = (x ^ (x >> 4)) & 0x00f000f0u; x ^= t ^ (t << 4);
	t = (x ^ (x >> 8)) & 0x0000ff00u; x ^= t ^ (t << 8);
	return x;
}

static inline __attribute__((always_inline)) uint32_t zip(uint32_t x)
{
	uint32_t t;

	t = (x ^ (x >> 8)) & 0x0000ff00u; x ^= t ^ (t << 8);
	t = (x ^ (x >> 4)) & 0x00f000f0u; x ^= t ^ (t << 4);
	t = (x ^ (x >> 2)) & 0x0c0c0c0cu; x ^= t ^ (t << 2);
	t = (x ^ (x >> 1)) & 0x22222222u; x ^= t ^ (t << 1);
	return x;
}

/* One round from a to e; word 2i is the even half of lane i, 2i + 1 the odd
 * half. rce, rco: this round's iota constant, even and odd word. Generated from
 * the 64-bit round of keccak_perm.h: a rotation by 2k rotates both halves
 * by k; by 2k + 1 it rotates the odd half by k + 1 into the even one and
 * the even half by k into the odd one. */
static inline __attribute__((always_inline)) void
keccak32_round(word32 *e, const word32 *a, uint32_t rce, uint32_t rco)
{
	uint32_t c0e, c0o, c1e, c1o, c2e, c2o, c3e, c3o, c4e, c4o;
	uint32_t d0e, d0o, d1e, d1o, d2e, d2o, d3e, d3o, d4e, d4o;
	uint32_t b0, b1, b2, b3, b4;

	/* theta */
	c0e = a[0] ^ a[10] ^ a[20] ^ a[30] ^ a[40];
	c0o = a[1] ^ a[11] ^ a[21] ^ a[31] ^ a[41];
	c1e = a[2] ^ a[12] ^ a[22] ^ a[32] ^ a[42];
	c1o = a[3] ^ a[13] ^ a[23] ^ a[33] ^ a[43];
	c2e = a[4] ^ a[14] ^ a[24] ^ a[34] ^ a[44];
	c2o = a[5] ^ a[15] ^ a[25] ^ a[35] ^ a[45];
	c3e = a[6] ^ a[16] ^ a[26] ^ a[36] ^ a[46];
	c3o = a[7] ^ a[17] ^ a[27] ^ a[37] ^ a[47];
	c4e = a[8] ^ a[18] ^ a[28] ^ a[38] ^ a[48];
	c4o = a[9] ^ a[19] ^ a[29] ^ a[39] ^ a[49];
	d0e = c4e ^ ROL32(c1o, 1); d0o = c4o ^ c1e;
	d1e = c0e ^ ROL32(c2o, 1); d1o = c0o ^ c2e;
	d2e = c1e ^ ROL32(c3o, 1); d2o = c1o ^ c3e;
	d3e = c2e ^ ROL32(c4o, 1); d3o = c2o ^ c4e;
	d4e = c3e ^ ROL32(c0o, 1); d4o = c3o ^ c0e;
	/* Read the lanes again below rather than keep 50 words live across
	 * theta: on a 13-register CPU they would only be spilled to the stack. */
	__asm__ __volatile__("" : : : "memory");
	/* rho and pi into b, chi and iota into e, one plane half at a time */
	/* plane 0, even bits */
	b0 = a[0] ^ d0e;
	b1 = ROL32(a[12] ^ d1e, 22);
	b2 = ROL32(a[25] ^ d2o, 22);
	b3 = ROL32(a[37] ^ d3o, 11);
	b4 = ROL32(a[48] ^ d4e, 7);
	e[0] = b0 ^ (~b1 & b2) ^ rce;
	e[2] = b1 ^ (~b2 & b3);
	e[4] = b2 ^ (~b3 & b4);
	e[6] = b3 ^ (~b4 & b0);
	e[8] = b4 ^ (~b0 & b1);
	/* plane 0, odd bits */
	b0 = a[1] ^ d0o;
	b1 = ROL32(a[13] ^ d1o, 22);
	b2 = ROL32(a[24] ^ d2e, 21);
	b3 = ROL32(a[36] ^ d3e, 10);
	b4 = ROL32(a[49] ^ d4o, 7);
	e[1] = b0 ^ (~b1 & b2) ^ rco;
	e[3] = b1 ^ (~b2 & b3);
	e[5] = b2 ^ (~b3 & b4);
	e[7] = b3 ^ (~b4 & b0);
	e[9] = b4 ^ (~b0 & b1);
	/* plane 1, even bits */
	b0 = ROL32(a[6] ^ d3e, 14);
	b1 = ROL32(a[18] ^ d4e, 10);
	b2 = ROL32(a[21] ^ d0o, 2);
	b3 = ROL32(a[33] ^ d1o, 23);
	b4 = ROL32(a[45] ^ d2o, 31);
	e[10] = b0 ^ (~b1 & b2);
	e[12] = b1 ^ (~b2 & b3);
	e[14] = b2 ^ (~b3 & b4);
	e[16] = b3 ^ (~b4 & b0);
	e[18] = b4 ^ (~b0 & b1);
	/* plane 1, odd bits */
	b0 = ROL32(a[7] ^ d3o, 14);
	b1 = ROL32(a[19] ^ d4o, 10);
	b2 = ROL32(a[20] ^ d0e, 1);
	b3 = ROL32(a[32] ^ d1e, 22);
	b4 = ROL32(a[44] ^ d2e, 30);
	e[11] = b0 ^ (~b1 & b2);
	e[13] = b1 ^ (~b2 & b3);
	e[15] = b2 ^ (~b3 & b4);
	e[17] = b3 ^ (~b4 & b0);
	e[19] = b4 ^ (~b0 & b1);
	/* plane 2, even bits */
	b0 = ROL32(a[3] ^ d1o, 1);
	b1 = ROL32(a[14] ^ d2e, 3);
	b2 = ROL32(a[27] ^ d3o, 13);
	b3 = ROL32(a[38] ^ d4e, 4);
	b4 = ROL32(a[40] ^ d0e, 9);
	e[20] = b0 ^ (~b1 & b2);
	e[22] = b1 ^ (~b2 & b3);
	e[24] = b2 ^ (~b3 & b4);
	e[26] = b3 ^ (~b4 & b0);
	e[28] = b4 ^ (~b0 & b1);
	/* plane 2, odd bits */
	b0 = a[2] ^ d1e;
	b1 = ROL32(a[15] ^ d2o, 3);
	b2 = ROL32(a[26] ^ d3e, 12);
	b3 = ROL32(a[39] ^ d4o, 4);
	b4 = ROL32(a[41] ^ d0o, 9);
	e[21] = b0 ^ (~b1 & b2);
	e[23] = b1 ^ (~b2 & b3);
	e[25] = b2 ^ (~b3 & b4);
	e[27] = b3 ^ (~b4 & b0);
	e[29] = b4 ^ (~b0 & b1);
	/* plane 3, even bits */
	b0 = ROL32(a[9] ^ d4o, 14);
	b1 = ROL32(a[10] ^ d0e, 18);
	b2 = ROL32(a[22] ^ d1e, 5);
	b3 = ROL32(a[35] ^ d2o, 8);
	b4 = ROL32(a[46] ^ d3e, 28);
	e[30] = b0 ^ (~b1 & b2);
	e[32] = b1 ^ (~b2 & b3);
	e[34] = b2 ^ (~b3 & b4);
	e[36] = b3 ^ (~b4 & b0);
	e[38] = b4 ^ (~b0 & b1);
	/* plane 3, odd bits */
	b0 = ROL32(a[8] ^ d4e, 13);
	b1 = ROL32(a[11] ^ d0o, 18);
	b2 = ROL32(a[23] ^ d1o, 5);
	b3 = ROL32(a[34] ^ d2e, 7);
	b4 = ROL32(a[47] ^ d3o, 28);
	e[31] = b0 ^ (~b1 & b2);
	e[33] = b1 ^ (~b2 & b3);
	e[35] = b2 ^ (~b3 & b4);
	e[37] = b3 ^ (~b4 & b0);
	e[39] = b4 ^ (~b0 & b1);
	/* plane 4, even bits */
	b0 = ROL32(a[4] ^ d2e, 31);
	b1 = ROL32(a[17] ^ d3o, 28);
	b2 = ROL32(a[29] ^ d4o, 20);
	b3 = ROL32(a[31] ^ d0o, 21);
	b4 = ROL32(a[42] ^ d1e, 1);
	e[40] = b0 ^ (~b1 & b2);
	e[42] = b1 ^ (~b2 & b3);
	e[44] = b2 ^ (~b3 & b4);
	e[46] = b3 ^ (~b4 & b0);
	e[48] = b4 ^ (~b0 & b1);
	/* plane 4, odd bits */
	b0 = ROL32(a[5] ^ d2o, 31);
	b1 = ROL32(a[16] ^ d3e, 27);
	b2 = ROL32(a[28] ^ d4e, 19);
	b3 = ROL32(a[30] ^ d0e, 20);
	b4 = ROL32(a[43] ^ d1o, 1);
	e[41] = b0 ^ (~b1 & b2);
	e[43] = b1 ^ (~b2 & b3);
	e[45] = b2 ^ (~b3 & b4);
	e[47] = b3 ^ (~b4 & b0);
	e[49] = b4 ^ (~b0 & b1);
}

/* Lane conversions: a FIPS 202 lane to its even and odd words, and back. */
static inline __attribute__((always_inline)) void ilv(uint64_t x, uint32_t *ev, uint32_t *od)
{
	uint32_t lo = unzip((uint32_t)x), hi = unzip((uint32_t)(x >> 32));

	*ev = (lo & 0xffffu) | (hi << 16);
	*od = (lo >> 16) | (hi & 0xffff0000u);
}

static inline __attribute__((always_inline)) uint64_t deilv(uint32_t ev, uint32_t od)
{
	uint32_t lo = zip((ev & 0xffffu) | (od << 16));
	uint32_t hi = zip((ev >> 16) | (od & 0xffff0000u));

	return (uint64_t)hi << 32 | lo;
}

/* One function calling none, the rounds inlined:
 * tests/bench/bench_fw.sh counts permutations by entries into a function
 * of this name. st holds interleaved lanes and is permuted in place; e: 50
 * words for every other round's output. The lane conversions of
 * iomt_keccak_f1600_32 are outside it, so a firmware whose sponges keep
 * their state interleaved (all of lib/'s) links none of them. */
static void __attribute__((noinline)) keccak_perm(uint64_t st[25], word32 *e)
{
	word32 *from = (word32 *)st, *to = e, *t;

	for (unsigned r = 0; r < 24; r++) {
		keccak32_round(to, from, RC_EVEN >> r & 1, rc_odd[r]);
		t = from;
		from = to;
		to = t;
	}
	/* 24 rounds: the result is back in st. */
}

void iomt_keccak_f1600_32(uint64_t st[25])
{
	word32 *a = (word32 *)st;
	uint32_t e[50];

	for (unsigned i = 0; i < 25; i++) {
		uint32_t ev, od;

		ilv(st[i], &ev, &od);
		a[2 * i] = ev;
		a[2 * i + 1] = od;
	}
	keccak_perm(st, e);
	for (unsigned i = 0; i < 25; i++) {
		uint32_t ev = a[2 * i], od = a[2 * i + 1];

		st[i] = deilv(ev, od);
	}
	iomt_wipe(e, sizeof(e));
}

void iomt_keccak_f1600_32i(uint64_t st[25])
{
	uint32_t e[50];

	keccak_perm(st, e);
	iomt_wipe(e, sizeof(e));
}

uint64_t iomt_keccak_ilv(uint64_t lane)
{
	union lane l;

	ilv(lane, &l.w[0], &l.w[1]);
	return l.u;
}

uint64_t iomt_keccak_deilv(uint64_t lane)
{
	union lane l = { .u = lane };

	return deilv(l.w[0], l.w[1]);
}
