/* SPDX-License-Identifier: MIT */
#include <string.h>
#include "ct.h"

int iomt_ct_eq(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	/* (d - 1) >> 8 is 1 only when d == 0, without a data-dependent branch. */
	return (int)(((uint32_t)d - 1) >> 8) & 1;
}

int iomt_ct_is_zero(const void *a, size_t n)
{
	const volatile uint8_t *x = a;
	uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= x[i];
	return (int)(((uint32_t)d - 1) >> 8) & 1;
}

void iomt_wipe(void *p, size_t n)
{
	memset(p, 0, n);
	/* The barrier claims to read *p, so the memset cannot be elided as a
	 * dead store (the memzero_explicit / explicit_bzero technique). */
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

void iomt_xor(uint8_t *dst, const uint8_t *src, size_t n)
{
	size_t i = 0;

	/* Eight bytes at a time through memcpy: no alignment assumed. */
	for (; i + 8 <= n; i += 8) {
		uint64_t a, b;

		memcpy(&a, dst + i, 8);
		memcpy(&b, src + i, 8);
		a ^= b;
		memcpy(dst + i, &a, 8);
	}
	for (; i < n; i++)
		dst[i] ^= src[i];
}
