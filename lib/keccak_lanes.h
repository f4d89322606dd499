/* SPDX-License-Identifier: MIT */
/*
 * Internal: the multi-lane sponge's two steps shared by the batched SHAKE128
 * (shake.c) and the batched KMAC128 (kmac_batch.c). A state of width w
 * (1, 4 or 8) holds w Keccak states interleaved word by word: word i of
 * lane l is st[i * w + l] (keccak.h's x4/x8 layout).
 */
#ifndef IOMT_KECCAK_LANES_H
#define IOMT_KECCAK_LANES_H
#include <stddef.h>
#include <stdint.h>
#include "bytes.h"
#include "keccak.h"
#include "shake.h"

/* One permutation of every lane. */
static inline void iomt_keccak_permute_n(uint64_t *st, unsigned width)
{
	if (width == 8)
		iomt_keccak_f1600_x8(st);
	else if (width == 4)
		iomt_keccak_f1600_x4(st);
	else
		iomt_keccak_f1600(st);
}

/* The first chunk (<= the rate) bytes of lane l's state, little-endian. */
static inline void iomt_keccak_squeeze_lane(const uint64_t *st, unsigned width, unsigned l,
					    uint8_t *o, size_t chunk)
{
	size_t i = 0;

	for (; i + 8 <= chunk; i += 8)
		iomt_store_le64(o + i, st[(i / 8) * width + l]);
	for (uint64_t v = st[(i / 8) * width + l]; i < chunk; i++, v >>= 8)
		o[i] = (uint8_t)v;
}

/* SHAKE128's output for lanes 0..g-1 after the last absorbed block's
 * permutation: outlen bytes each, permuting between rate-sized chunks. */
static inline void iomt_keccak_squeeze_lanes(uint64_t *st, unsigned width, unsigned g,
					     uint8_t *const out[], size_t outlen)
{
	const size_t rate = IOMT_SHAKE128_RATE;

	for (size_t done = 0; done < outlen; done += rate) {
		size_t chunk = outlen - done < rate ? outlen - done : rate;

		if (done)
			iomt_keccak_permute_n(st, width);
		for (unsigned l = 0; l < g; l++)
			iomt_keccak_squeeze_lane(st, width, l, out[l] + done, chunk);
	}
}

#endif
