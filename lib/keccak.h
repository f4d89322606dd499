/* SPDX-License-Identifier: MIT */
/* Keccak-f[1600] permutation: portable scalar, and batched over 4 or 8
 * independent states (AVX2 / AVX-512 on x86-64, portable loop elsewhere). */
#ifndef IOMT_KECCAK_H
#define IOMT_KECCAK_H
#include <stdint.h>

enum { IOMT_KECCAK_WORDS = 25, IOMT_KECCAK_BATCH_MAX = 8 };

/* One permutation; st[x + 5*y] is lane (x, y). */
void iomt_keccak_f1600(uint64_t st[IOMT_KECCAK_WORDS]);

/* Batched permutations of independent states, lane-interleaved:
 * st[w * N + l] is word w of instance l (N = 4 or 8). Each call uses the
 * fastest implementation allowed (see iomt_keccak_set_width). */
void iomt_keccak_f1600_x4(uint64_t st[IOMT_KECCAK_WORDS * 4]);
void iomt_keccak_f1600_x8(uint64_t st[IOMT_KECCAK_WORDS * 8]);

/* Width (1, 4 or 8) of the widest SIMD implementation this CPU runs and the
 * current limit allows; batch users group this many messages per call. */
unsigned iomt_keccak_batch_width(void);

/* Limit the implementations used from now on (tests, benchmarks):
 * 1 = portable scalar only, 4 = up to AVX2, 8 = up to AVX-512.
 * Returns IOMT_EUNSUPP if that width has no SIMD code on this CPU/build
 * (1 is always supported), IOMT_EINVAL for other values. Not thread-safe:
 * call it before starting threads. */
int iomt_keccak_set_width(unsigned width);

#endif
