/* SPDX-License-Identifier: MIT */
/* Internal: SIMD kernels behind keccak.c's dispatch. */
#ifndef IOMT_KECCAK_IMPL_H
#define IOMT_KECCAK_IMPL_H
#include <stdint.h>
#include "cpu.h"

/* FIPS 202 iota constants, lib/keccak_rc.c. */
extern const uint64_t iomt_keccak_rc[24];

#ifdef IOMT_X86
/* The portable permutation and its BMI2 build, both callable so tests can
 * check each one whatever this CPU selects. */
void iomt_keccak_f1600_portable(uint64_t st[25]);
void iomt_keccak_f1600_bmi2(uint64_t st[25]);
void iomt_keccak_f1600_x4_avx2(uint64_t st[25 * 4]);
void iomt_keccak_f1600_x8_avx512(uint64_t st[25 * 8]);
#endif

#endif
