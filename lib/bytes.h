/* SPDX-License-Identifier: MIT */
/* Endian-explicit loads and stores on byte arrays (any alignment). */
#ifndef IOMT_BYTES_H
#define IOMT_BYTES_H
#include <stdint.h>
#include <string.h>

/* On little-endian hosts a memcpy is one unaligned load/store; the byte-wise
 * forms are for big-endian targets (GCC does not merge the store loop). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define IOMT_LITTLE_ENDIAN 1
#endif

static inline uint64_t iomt_load_le64(const uint8_t *p)
{
#ifdef IOMT_LITTLE_ENDIAN
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
#else
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
	       (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
#endif
}

static inline void iomt_store_le64(uint8_t *p, uint64_t v)
{
#ifdef IOMT_LITTLE_ENDIAN
	memcpy(p, &v, 8);
#else
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
#endif
}

static inline uint16_t iomt_load_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t iomt_load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t iomt_load_be64(const uint8_t *p)
{
	return (uint64_t)iomt_load_be32(p) << 32 | iomt_load_be32(p + 4);
}

static inline void iomt_store_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void iomt_store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void iomt_store_be64(uint8_t *p, uint64_t v)
{
	iomt_store_be32(p, (uint32_t)(v >> 32));
	iomt_store_be32(p + 4, (uint32_t)v);
}

#endif
