/* SPDX-License-Identifier: MIT */
/* x86-64 CPU feature probe (CPUID + XGETBV): an instruction set is usable
 * only if the CPU has it and the OS saves its registers (XCR0). */
#include <stdint.h>
#include "cpu.h"

#ifdef IOMT_X86

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ __volatile__("cpuid"
			     : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			     : "a"(leaf), "c"(sub));
}

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	__asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

enum {
	CPUID1_ECX_AESNI = 1u << 25,
	CPUID1_ECX_SSE41 = 1u << 19,
	CPUID1_ECX_OSXSAVE = 1u << 27,
	CPUID1_ECX_AVX = 1u << 28,
	CPUID7_EBX_BMI1 = 1u << 3,
	CPUID7_EBX_AVX2 = 1u << 5,
	CPUID7_EBX_BMI2 = 1u << 8,
	CPUID7_EBX_AVX512F = 1u << 16,
	CPUID7_EBX_AVX512VL = 1u << 31,
	XCR0_SSE_AVX = 0x6,          /* XMM and YMM state */
	XCR0_AVX512 = 0xe0,          /* opmask, ZMM_Hi256, Hi16_ZMM */
};

/* Returns the XCR0 bits the OS enables, 0 if AVX/XSAVE are absent. */
static uint64_t os_xcr0(void)
{
	uint32_t r[4];

	cpuid(0, 0, r);
	if (r[0] < 7)
		return 0;
	cpuid(1, 0, r);
	if ((r[2] & (CPUID1_ECX_OSXSAVE | CPUID1_ECX_AVX)) !=
	    (CPUID1_ECX_OSXSAVE | CPUID1_ECX_AVX))
		return 0;
	return xgetbv0();
}

int iomt_cpu_has_bmi2(void)
{
	uint32_t r[4];

	cpuid(0, 0, r);
	if (r[0] < 7)
		return 0;
	cpuid(7, 0, r);
	return (r[1] & (CPUID7_EBX_BMI1 | CPUID7_EBX_BMI2)) ==
	       (CPUID7_EBX_BMI1 | CPUID7_EBX_BMI2);
}

int iomt_cpu_has_avx2(void)
{
	uint32_t r[4];

	if ((os_xcr0() & XCR0_SSE_AVX) != XCR0_SSE_AVX)
		return 0;
	cpuid(7, 0, r);
	return !!(r[1] & CPUID7_EBX_AVX2);
}

int iomt_cpu_has_avx512(void)
{
	uint32_t r[4];
	uint64_t x = os_xcr0();

	if ((x & (XCR0_SSE_AVX | XCR0_AVX512)) != (XCR0_SSE_AVX | XCR0_AVX512))
		return 0;
	cpuid(7, 0, r);
	return (r[1] & (CPUID7_EBX_AVX512F | CPUID7_EBX_AVX512VL)) ==
	       (CPUID7_EBX_AVX512F | CPUID7_EBX_AVX512VL);
}

int iomt_cpu_has_aesni(void)
{
	uint32_t r[4];

	cpuid(1, 0, r);
	return (r[2] & (CPUID1_ECX_AESNI | CPUID1_ECX_SSE41)) ==
	       (CPUID1_ECX_AESNI | CPUID1_ECX_SSE41);
}

#endif
