/* SPDX-License-Identifier: MIT */
/*
 * Bounds-checked big-endian writer and reader over a caller's buffer.
 *
 * The error is sticky: the first failure is kept, every later call does
 * nothing (reads return 0 or zero-fill), so a whole sequence of packing or
 * parsing calls is checked once, by iomt_wr_finish() / iomt_rd_finish().
 */
#ifndef IOMT_CODEC_H
#define IOMT_CODEC_H
#include <stddef.h>
#include <stdint.h>

struct iomt_wr {
	uint8_t *buf;
	size_t cap, len;   /* invariant: len <= cap */
	int err;           /* first error, IOMT_OK while none */
};

/* buf may be NULL only with cap 0 (else the writer starts with IOMT_EINVAL). */
void iomt_wr_init(struct iomt_wr *w, void *buf, size_t cap);
void iomt_wr_u8(struct iomt_wr *w, uint8_t v);
void iomt_wr_u16(struct iomt_wr *w, uint16_t v);
void iomt_wr_u32(struct iomt_wr *w, uint32_t v);
void iomt_wr_u64(struct iomt_wr *w, uint64_t v);
void iomt_wr_bytes(struct iomt_wr *w, const void *p, size_t n);
/* Claims n bytes for the caller to fill; NULL and a sticky IOMT_ESIZE if
 * there is no room (NULL also for n == 0 on a NULL buffer, without error). */
uint8_t *iomt_wr_reserve(struct iomt_wr *w, size_t n);
/* The first error (*len = 0), or IOMT_OK and the bytes written in *len. */
int iomt_wr_finish(const struct iomt_wr *w, size_t *len);

struct iomt_rd {
	const uint8_t *buf;
	size_t len, off;   /* invariant: off <= len */
	int err;
};

/* buf may be NULL only with len 0 (else the reader starts with IOMT_EINVAL). */
void iomt_rd_init(struct iomt_rd *r, const void *buf, size_t len);
/* 0 and a sticky IOMT_ESIZE when fewer bytes are left than asked for. */
uint8_t iomt_rd_u8(struct iomt_rd *r);
uint16_t iomt_rd_u16(struct iomt_rd *r);
uint32_t iomt_rd_u32(struct iomt_rd *r);
uint64_t iomt_rd_u64(struct iomt_rd *r);
/* Copies n bytes to out; zero-fills out on any error. */
void iomt_rd_bytes(struct iomt_rd *r, void *out, size_t n);
/* Points at the next n bytes and consumes them; NULL when short (NULL also
 * for n == 0 on a NULL buffer, without error). */
const uint8_t *iomt_rd_ptr(struct iomt_rd *r, size_t n);
/* Bytes not yet consumed; 0 once an error is set. */
size_t iomt_rd_left(const struct iomt_rd *r);
/* Exact-size parsing: the first error, or IOMT_ESIZE if bytes are left over. */
int iomt_rd_finish(const struct iomt_rd *r);

#endif
