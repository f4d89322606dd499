/* SPDX-License-Identifier: MIT */
/*
 * Internal: SP 800-185's integer encodings, shared by the scalar cSHAKE /
 * KMAC (sp800_185.c) and the batched KMAC (kmac_batch.c). static inline so
 * each user keeps its own inlining (the firmware's stack and flash are
 * counted with sp800_185.c's).
 */
#ifndef IOMT_SP800_185_ENC_H
#define IOMT_SP800_185_ENC_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "bytes.h"

enum { IOMT_SP800_185_ENC_MAX = 9 };	/* left/right_encode of a 64-bit value */

/* 1 if 8 * n bits does not fit the 64-bit length encodings. Only a 64-bit
 * size_t can get there; on 32-bit targets the test would be always false. */
static inline int iomt_sp800_185_bits_overflow(size_t n)
{
#if SIZE_MAX > (UINT64_MAX >> 3)
	return n > (UINT64_MAX >> 3);
#else
	(void)n;
	return 0;
#endif
}

/* SP 800-185 2.3.1: left_encode(x) = n || x (big-endian, n bytes, n >= 1);
 * right_encode(x) = x || n. Returns the encoding's length (at most 9). */
static inline unsigned iomt_sp800_185_encode(uint8_t out[IOMT_SP800_185_ENC_MAX], uint64_t x,
					     int right)
{
	uint8_t be[8];
	unsigned z = 0, n;

	iomt_store_be64(be, x);
	while (z < 7 && !be[z])
		z++;
	n = 8 - z;
	memcpy(out + !right, be + z, n);
	out[right ? n : 0] = (uint8_t)n;
	return n + 1;
}

#endif
