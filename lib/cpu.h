/* SPDX-License-Identifier: MIT */
/* Run-time CPU feature probe for the SIMD/AES-NI kernels (x86-64 only).
 * IOMT_X86 is defined where those kernels are built; elsewhere (firmware,
 * kernel module with IOMT_NO_SIMD, other architectures) only portable code runs. */
#ifndef IOMT_CPU_H
#define IOMT_CPU_H

#if defined(__x86_64__) && !defined(IOMT_NO_SIMD)
#define IOMT_X86 1
/* Each returns 1 if the CPU has the instruction set and the OS enables its
 * registers, else 0. */
int iomt_cpu_has_bmi2(void);   /* BMI1 + BMI2 */
int iomt_cpu_has_avx2(void);
int iomt_cpu_has_avx512(void);  /* AVX-512 F + VL */
int iomt_cpu_has_aesni(void);   /* AES-NI + SSE4.1 */
#endif

#endif
