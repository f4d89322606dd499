/* SPDX-License-Identifier: MIT */
/* Internal: SIMD kernels behind keccak.c's dispatch. */
#ifndef IOMT_KECCAK_IMPL_H
#define IOMT_KECCAK_IMPL_H
#include <stdint.h>
#include "cpu.h"

/* FIPS 202 iota constants, lib/keccak_rc.c. */
extern const uint64_t iomt_keccak_rc[24];

/* The bit-interleaved permutation for 32-bit CPUs, lib/keccak32.c: built on
 * every target so the host tests can compare it with the 64-bit code, and
 * the scalar permutation wherever pointers are 32 bits (or when built with
 * -DIOMT_KECCAK_32). */
void iomt_keccak_f1600_32(uint64_t st[25]);
/* The same on interleaved lanes (a lane's first 32-bit word in memory its
 * even bits, the second its odd bits), the form in which 32-bit targets
 * keep a sponge's state (lib/shake.c), and the lane conversions. */
void iomt_keccak_f1600_32i(uint64_t st[25]);
uint64_t iomt_keccak_ilv(uint64_t lane);
uint64_t iomt_keccak_deilv(uint64_t lane);
#if UINTPTR_MAX <= 0xffffffffu && !defined(IOMT_KECCAK_32)
#define IOMT_KECCAK_32 1
#endif

#ifdef IOMT_X86
/* The portable permutation and its BMI2 build, both callable so tests can
 * check each one whatever this CPU selects. */
void iomt_keccak_f1600_portable(uint64_t st[25]);
void iomt_keccak_f1600_bmi2(uint64_t st[25]);
void iomt_keccak_f1600_x4_avx2(uint64_t st[25 * 4]);
void iomt_keccak_f1600_x8_avx512(uint64_t st[25 * 8]);
/* Tests: 1 makes iomt_keccak_f1600 (and all that uses it) run the 32-bit
 * code; 0 goes back to the CPU's choice. Not thread-safe. */
void iomt_keccak_force_32(int on);
#endif

#endif
