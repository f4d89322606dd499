/* SPDX-License-Identifier: MIT */
/* Constant-time comparison and secret wiping. */
#ifndef IOMT_CT_H
#define IOMT_CT_H
#include <stddef.h>
#include <stdint.h>

/* 1 if a[0..n) == b[0..n), else 0; time depends only on n. */
int iomt_ct_eq(const void *a, const void *b, size_t n);

/* 1 if every byte of a[0..n) is zero, else 0; time depends only on n. */
int iomt_ct_is_zero(const void *a, size_t n);

/* Overwrite n bytes with zeros; the compiler cannot elide it. */
void iomt_wipe(void *p, size_t n);

/* dst ^= src over n bytes. */
void iomt_xor(uint8_t *dst, const uint8_t *src, size_t n);

/* Constant-time select: mask is 0 or 0xff..; returns mask ? a : b. */
static inline uint32_t iomt_ct_select_u32(uint32_t mask, uint32_t a, uint32_t b)
{
	return (a & mask) | (b & ~mask);
}

#endif
