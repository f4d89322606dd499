/* SPDX-License-Identifier: MIT */
/* SHAKE128 (FIPS 202): incremental, one-shot, and batched over many
 * independent messages using the widest Keccak lanes available. */
#ifndef IOMT_SHAKE_H
#define IOMT_SHAKE_H
#include <stddef.h>
#include <stdint.h>
#include "keccak.h"

enum { IOMT_SHAKE128_RATE = 168 };

struct iomt_shake128 {
	/* The Keccak state: FIPS 202 lanes, or on 32-bit CPUs bit-interleaved
	 * ones (lib/keccak32.c); only the functions below read or write it. */
	uint64_t st[IOMT_KECCAK_WORDS];
	uint8_t pos;        /* bytes absorbed into, or squeezed from, this block */
	uint8_t squeezing;  /* 1 once output has been read */
	uint8_t dsbyte;     /* domain bits + first padding bit: 0x1f SHAKE, 0x04 cSHAKE */
};

void iomt_shake128_init(struct iomt_shake128 *s);
/* IOMT_ESTATE once squeezing has begun. */
int iomt_shake128_absorb(struct iomt_shake128 *s, const void *in, size_t len);
/* Any number of calls, any lengths: the output stream is the same. */
void iomt_shake128_squeeze(struct iomt_shake128 *s, void *out, size_t len);
/* Zero-fill the block being absorbed and permute, so that the next byte
 * starts a block (SP 800-185 bytepad); nothing at a block boundary or once
 * squeezing. */
void iomt_shake128_pad_block(struct iomt_shake128 *s);
void iomt_shake128_wipe(struct iomt_shake128 *s);

/* out = SHAKE128(in, 8 * outlen). */
void iomt_shake128(const void *in, size_t inlen, void *out, size_t outlen);

/* n independent hashes: out[i] = SHAKE128(in[i], 8 * outlen). Messages are
 * processed in groups of the batch width (8 with AVX-512, 4 with AVX2, else
 * one by one); lengths may differ. IOMT_EINVAL if a pointer is NULL. */
int iomt_shake128_batch(const uint8_t *const in[], const size_t inlen[],
			uint8_t *const out[], size_t outlen, size_t n);

/* Benchmark baselines only (iomt-gwd --baseline): from now on
 * iomt_shake128_batch hashes message by message with fn (same arguments as
 * iomt_shake128, e.g. OpenSSL's SHAKE128); NULL restores the batched lanes.
 * So a baseline runs the very protocol code, only its hashing swapped. Set
 * it before any thread hashes. */
typedef void (*iomt_shake128_fn)(const void *in, size_t inlen, void *out, size_t outlen);
void iomt_shake128_batch_override(iomt_shake128_fn fn);

#endif
